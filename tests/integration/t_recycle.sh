#!/usr/bin/env bash
# Issue 3: the recycle bin through the real kehu: delete hides a customer
# (get and its children are NOT_FOUND), `customer list --deleted` shows it to
# admins and its owner, restore brings it back; purge (admin only) erases a
# customer and everything attached to it (contacts, follow-ups, contracts,
# attachments), its phone is no longer a duplicate, and kehu-admin verify
# still finds every index entry matching its record.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user s1 sales east
kehu_add_user s2 sales east
kehu_add_user m1 manager east

# --- delete, the bin, restore ---------------------------------------------
expect_exit 0 kehu_as s1 --json customer add --name 回收站测试客户 --tag 回收
bin=$(out_jq .id)
expect_exit 0 kehu_as s1 --json contact add "$bin" --name 赵先生 --phone 13600001111
bin_ct=$(out_jq .id)
expect_exit 0 kehu_as s1 --json followup add "$bin" --method phone --summary 首次联系

expect_exit 0 kehu_as s1 customer delete "$bin"
expect_exit 5 kehu_as s1 customer get "$bin"
expect_exit 5 kehu_as admin --json customer get "$bin"
expect_eq NOT_FOUND "$(err_jq .error.code)" "error code of get of a binned customer"
expect_exit 5 kehu_as s1 contact list "$bin"
expect_exit 5 kehu_as s1 followup list "$bin"
expect_exit 5 kehu_as s1 customer update "$bin" --region 上海
expect_exit 0 kehu_as admin --json customer list --limit 500
expect_eq false "$(out_has_id "$bin")" "customer list (admin) contains the binned $bin"
expect_exit 0 kehu_as admin --json customer list --tag 回收
expect_eq false "$(out_has_id "$bin")" "customer list --tag (admin) contains the binned $bin"

expect_exit 0 kehu_as admin --json customer list --deleted
expect_eq true "$(out_has_id "$bin")" "customer list --deleted (admin) contains $bin"
expect_eq true "$(out_jq --arg id "$bin" '.items[] | select(.id == $id) | .deleted')" \
  "deleted flag of $bin in the bin"
expect_match '^[0-9]{4}-' "$(out_jq --arg id "$bin" '.items[] | select(.id == $id) | .deleted_at')" \
  "deleted_at of $bin in the bin"
# Its owner sees it in the bin too; another rep does not.
expect_exit 0 kehu_as s1 --json customer list --deleted
expect_eq true "$(out_has_id "$bin")" "customer list --deleted (owner s1) contains $bin"
expect_exit 0 kehu_as s2 --json customer list --deleted
expect_eq false "$(out_has_id "$bin")" "customer list --deleted (s2, not the owner) contains $bin"

expect_exit 0 kehu_as s1 customer restore "$bin"
expect_exit 0 kehu_as s1 --json customer get "$bin"
expect_eq "回收站测试客户" "$(out_jq .name)" "name after restore"
expect_eq false "$(out_jq .deleted)" "deleted flag after restore"
expect_exit 0 kehu_as s1 --json contact list "$bin"
expect_eq true "$(out_has_id "$bin_ct")" "contact list after restore contains $bin_ct"
expect_exit 0 kehu_as admin --json customer list --deleted
expect_eq false "$(out_has_id "$bin")" "customer list --deleted after restore contains $bin"
expect_exit 0 kehu_as admin --json customer list --limit 500
expect_eq true "$(out_has_id "$bin")" "customer list after restore contains $bin"
expect_exit 5 kehu_as admin customer restore C20990101001

# --- purge ------------------------------------------------------------------
expect_exit 0 kehu_as s1 --json customer add --name 待彻底删除客户 --external-code KH-PURGE-1
victim=$(out_jq .id)
expect_exit 0 kehu_as s1 --json contact add "$victim" --name 钱女士 --phone 13655556666 \
  --email qian@purge.example.com
victim_ct=$(out_jq .id)
expect_exit 0 kehu_as s1 --json followup add "$victim" --method visit --summary 上门 --due 2099-01-01
victim_fu=$(out_jq .id)
expect_exit 0 kehu_as s1 --json contract add "$victim" --number PURGE-HT-1 --amount 5000 \
  --signed 2024-01-01 --start 2024-01-01 --end 2030-12-31
victim_ht=$(out_jq .id)
expect_exit 0 kehu_as s1 --json order add "$victim" --amount 300
expect_exit 0 kehu_as admin --json ticket add "$victim" --subject 待删工单
head -c 200000 /dev/urandom >"$KEHU_TMP/purge.bin"
expect_exit 0 kehu_as s1 --json attach add "$victim" "$KEHU_TMP/purge.bin"
victim_at=$(out_jq .id)
[[ -n "$victim_at" && "$victim_at" != null ]] || fail "attach add --json returned no id: $OUT"

# Another customer whose contact shares the mobile: a suspected duplicate.
expect_exit 0 kehu_as s1 --json customer add --name 另一家无关公司
witness=$(out_jq .id)
expect_exit 0 kehu_as s1 contact add "$witness" --name 钱女士 --phone 13655556666
expect_exit 0 kehu_as admin --json customer dupes --limit 500
expect_eq true "$(out_jq --arg v "$victim" --arg w "$witness" \
  'any(.items[]; ([.a.id, .b.id] | sort) == ([$v, $w] | sort))')" \
  "customer dupes lists $victim and $witness (same mobile) before the purge"

# Only an admin may purge.
expect_exit 4 kehu_as s1 customer purge "$victim"
expect_exit 4 kehu_as m1 customer purge "$victim"
expect_exit 0 kehu_as s1 --json customer get "$victim"

expect_exit 0 kehu_as admin customer delete "$victim"
expect_exit 0 kehu_as admin customer purge "$victim"
expect_exit 5 kehu_as admin customer get "$victim"
expect_exit 5 kehu_as s1 customer get "$victim"
expect_exit 5 kehu_as admin contact list "$victim"
expect_exit 5 kehu_as admin followup list "$victim"
expect_exit 5 kehu_as admin contract list "$victim"
expect_exit 5 kehu_as admin order list "$victim"
expect_exit 5 kehu_as admin ticket list "$victim"
expect_exit 5 kehu_as admin attach list "$victim"
expect_exit 5 kehu_as admin attach get "$victim_at" -o "$KEHU_TMP/purged.out"
expect_exit 5 kehu_as admin customer restore "$victim"
expect_exit 5 kehu_as admin customer purge "$victim"
expect_exit 0 kehu_as admin --json customer list --deleted
expect_eq false "$(out_has_id "$victim")" "customer list --deleted after purge contains $victim"
expect_exit 0 kehu_as admin --json customer list --limit 500
expect_eq false "$(out_has_id "$victim")" "customer list after purge contains $victim"
# Its records are gone from every list that is not per customer.
expect_exit 0 kehu_as admin --json contract list --limit 500
expect_eq false "$(out_has_id "$victim_ht")" "contract list after purge contains $victim_ht"
expect_exit 0 kehu_as admin --json ticket list --limit 500
expect_eq "" "$(out_jq --arg v "$victim" '[.items[] | select(.customer_id == $v) | .id] | join(" ")')" \
  "tickets of $victim after purge"
# Its children cannot be addressed either.
expect_exit 5 kehu_as admin contact update "$victim_ct" --name 改名
expect_exit 5 kehu_as admin followup update "$victim_fu" --summary 改
# The phone no longer makes a duplicate.
expect_exit 0 kehu_as admin --json customer dupes --limit 500
expect_eq false "$(out_jq --arg v "$victim" 'any(.items[]; .a.id == $v or .b.id == $v)')" \
  "customer dupes mentions the purged $victim"
expect_exit 0 kehu_as s1 --json customer add --name 第三家无关公司
third=$(out_jq .id)
expect_exit 0 kehu_as s1 contact add "$third" --name 钱女士 --phone 13655556666
expect_exit 0 kehu_as admin --json customer dupes --limit 500
expect_eq false "$(out_jq --arg v "$victim" 'any(.items[]; .a.id == $v or .b.id == $v)')" \
  "customer dupes mentions the purged $victim after another contact with its phone"
expect_eq true "$(out_jq --arg a "$witness" --arg b "$third" \
  'any(.items[]; ([.a.id, .b.id] | sort) == ([$a, $b] | sort))')" \
  "customer dupes lists the two remaining customers with the mobile"
# Its external code and contract number are free again.
expect_exit 0 kehu_as s1 customer add --name 新客户复用编号 --external-code KH-PURGE-1
expect_exit 0 kehu_as s1 contract add "$witness" --number PURGE-HT-1 --amount 1 \
  --signed 2024-01-01 --start 2024-01-01 --end 2024-02-01

# A live customer (not binned first) can be purged too.
expect_exit 0 kehu_as admin --json customer add --name 直接清除的客户
live=$(out_jq .id)
expect_exit 0 kehu_as admin contact add "$live" --name 孙先生 --phone 13677778888
expect_exit 0 kehu_as admin customer purge "$live"
expect_exit 5 kehu_as admin customer get "$live"
expect_exit 5 kehu_as admin contact list "$live"

# kehu-admin verify while the server runs, and again after it stopped.
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_server_alive
kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_match 'ok' "$OUT" "kehu-admin verify output"
