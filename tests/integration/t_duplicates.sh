#!/usr/bin/env bash
# Issue 3: duplicates (docs/architecture.md#duplicates) and merge through the real kehu: a
# customer whose normalised name matches an existing one is refused with the
# existing id unless --force; `customer dupes` lists name and mobile pairs;
# `customer merge KEEP OTHER` moves OTHER's follow-ups, contacts, contracts,
# orders and tickets to KEEP and bins OTHER.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
export KEHU_USER=admin
expect_exit 0 kehu_as admin login

customer_count() {
  expect_exit 0 kehu_as admin --json customer list --limit 500
  out_jq '.items | length'
}

# --- name duplicates ----------------------------------------------------------
expect_exit 0 kehu_as admin --json customer add --name 北京星河科技
first=$(out_jq .id)
before=$(customer_count)

expect_exit 6 kehu_as admin customer add --name 北京星河科技有限公司
expect_match "$first" "$ERR" "stderr of a duplicate name names the existing id"
expect_exit 6 kehu_as admin --json customer add --name 北京星河科技有限公司
expect_eq "" "$OUT" "stdout of a refused --json add"
expect_eq CONFLICT "$(err_jq .error.code)" "error code of a duplicate name"
expect_eq "$first" "$(err_jq .error.existing_id)" "error.existing_id of a duplicate name"
expect_match "$first" "$(err_jq .error.message)" "error.message of a duplicate name"
# Other spellings that normalise to the same name (NFKC, case, spaces,
# punctuation, legal-form suffixes).
expect_exit 6 kehu_as admin --json customer add --name '北京星河科技有限责任公司'
expect_eq "$first" "$(err_jq .error.existing_id)" "existing_id for 有限责任公司"
expect_exit 6 kehu_as admin --json customer add --name ' 北京 星河·科技 '
expect_eq "$first" "$(err_jq .error.existing_id)" "existing_id for a spaced and dotted name"
expect_eq "$before" "$(customer_count)" "customers after refused duplicates"

expect_exit 0 kehu_as admin --json customer add --name "Acme Trading Co., Ltd."
acme=$(out_jq .id)
expect_exit 6 kehu_as admin --json customer add --name "ACME trading"
expect_eq "$acme" "$(err_jq .error.existing_id)" "existing_id for 'ACME trading'"
expect_exit 6 kehu_as admin --json customer add --name "ＡＣＭＥ Ｔｒａｄｉｎｇ Co., Ltd"
expect_eq "$acme" "$(err_jq .error.existing_id)" "existing_id for a full-width name (NFKC)"
# A different name is not a duplicate.
expect_exit 0 kehu_as admin --json customer add --name "Acme Logistics"
acme_logistics=$(out_jq .id)
# Legal forms count the same written whole or in part, whichever name came
# first: 集团 alone meets 集团有限公司 (it used to get through), and the
# other way round.
expect_exit 0 kehu_as admin --json customer add --name 上海华东制造集团有限公司
group=$(out_jq .id)
expect_exit 6 kehu_as admin --json customer add --name 上海华东制造集团
expect_eq "$group" "$(err_jq .error.existing_id)" "existing_id for 上海华东制造集团 (集团有限公司 taken)"
expect_exit 0 kehu_as admin --json customer add --name 深圳南山控股
holding=$(out_jq .id)
expect_exit 6 kehu_as admin --json customer add --name 深圳南山控股有限公司
expect_eq "$holding" "$(err_jq .error.existing_id)" "existing_id for 深圳南山控股有限公司 (控股 taken)"
expect_exit 6 kehu_as admin --json customer add --name 深圳南山控股集团股份有限公司
expect_eq "$holding" "$(err_jq .error.existing_id)" "existing_id for 深圳南山控股集团股份有限公司"

# --- external codes ---------------------------------------------------------
# Unique: a taken code is a conflict naming the holder, --force or not, and
# the message offers no --force (it would not help).
expect_exit 0 kehu_as admin --json customer add --name 外部编码客户甲 --external-code KH-0001
coded=$(out_jq .id)
expect_exit 6 kehu_as admin customer add --name 外部编码客户乙 --external-code KH-0001
expect_match "$coded" "$ERR" "stderr of a taken external code names its holder"
expect_match 'unique' "$ERR" "stderr of a taken external code says codes are unique"
[[ "$ERR" != *--force* ]] || fail "a taken external code suggests --force, which cannot help: $ERR"
expect_exit 6 kehu_as admin customer add --name 外部编码客户乙 --external-code KH-0001 --force
[[ "$ERR" != *--force* ]] || fail "a taken external code with --force suggests --force: $ERR"
expect_exit 6 kehu_as admin --json customer add --name 外部编码客户乙 --external-code KH-0001 --force
expect_eq CONFLICT "$(err_jq .error.code)" "error code of a taken external code with --force"
expect_eq "$coded" "$(err_jq .error.existing_id)" "existing_id of a taken external code"
[[ "$(err_jq .error.message)" != *--force* ]] || fail "--json message of a taken external code suggests --force"
expect_exit 0 kehu_as admin --json customer add --name 外部编码客户乙
expect_exit 6 kehu_as admin customer update "$(out_jq .id)" --external-code KH-0001
[[ "$ERR" != *--force* ]] || fail "update to a taken external code suggests --force: $ERR"
# A duplicate name still offers it.
expect_exit 6 kehu_as admin customer add --name 外部编码客户甲
expect_match '[-]-force' "$ERR" "stderr of a duplicate name offers --force"

# --force adds it anyway, and dupes lists the pair.
expect_exit 0 kehu_as admin --json customer add --name 北京星河科技有限公司 --force
second=$(out_jq .id)
[[ "$second" != "$first" ]] || fail "--force returned the existing id $first"
expect_exit 0 kehu_as admin --json customer dupes
pair_of() { # the pairs as "a b" lines, each sorted
  out_jq '.items[] | [.a.id, .b.id] | sort | join(" ")'
}
pairs=$(pair_of)
grep -qx "$(printf '%s\n' "$first" "$second" | sort | tr '\n' ' ' | sed 's/ $//')" <<<"$pairs" ||
  fail "customer dupes --json does not list the pair $first $second: $OUT"
grep -q "$acme_logistics" <<<"$pairs" && fail "dupes lists $acme_logistics, which has no duplicate"
expect_exit 0 kehu_as admin customer dupes
expect_match "$first" "$OUT" "human customer dupes shows $first"
expect_match "$second" "$OUT" "human customer dupes shows $second"

# --- mobile duplicates ------------------------------------------------------
expect_exit 0 kehu_as admin --json customer add --name 深圳蓝海电子
blue=$(out_jq .id)
expect_exit 0 kehu_as admin --json customer add --name 广州青山贸易
green=$(out_jq .id)
expect_exit 0 kehu_as admin contact add "$blue" --name 陈先生 --phone 13712345678
expect_exit 0 kehu_as admin contact add "$green" --name 陈经理 --phone '+86 137-1234-5678'
expect_exit 0 kehu_as admin --json customer dupes
pairs=$(pair_of)
grep -qx "$(printf '%s\n' "$blue" "$green" | sort | tr '\n' ' ' | sed 's/ $//')" <<<"$pairs" ||
  fail "customer dupes --json does not list the customers sharing a mobile ($blue, $green): $OUT"

# --- merge ------------------------------------------------------------------
expect_exit 0 kehu_as admin --json customer add --name 合并保留客户
keep=$(out_jq .id)
expect_exit 0 kehu_as admin --json customer add --name 合并被并客户
other=$(out_jq .id)

declare -a keep_children=() other_children=()
add_children() { # CUSTOMER TAG -> ids on stdout, one a line
  local c=$1 tag=$2
  expect_exit 0 kehu_as admin --json contact add "$c" --name "联系人$tag" --phone "1390000000${tag: -1}"
  out_jq .id
  expect_exit 0 kehu_as admin --json followup add "$c" --method visit --summary "拜访$tag" \
    --next 回访 --due 2099-01-01
  out_jq .id
  expect_exit 0 kehu_as admin --json followup add "$c" --method phone --summary "电话$tag"
  out_jq .id
  expect_exit 0 kehu_as admin --json contract add "$c" --number "MERGE-$tag" --amount 1000 \
    --signed 2024-01-01 --start 2024-01-01 --end 2024-12-31
  out_jq .id
  expect_exit 0 kehu_as admin --json order add "$c" --amount 10 --product "P$tag"
  out_jq .id
  expect_exit 0 kehu_as admin --json ticket add "$c" --subject "工单$tag"
  out_jq .id
  printf 'file of %s\n' "$tag" >"$KEHU_TMP/file-$tag.txt"
  expect_exit 0 kehu_as admin --json attach add "$c" "$KEHU_TMP/file-$tag.txt"
  out_jq .id
}
add_children "$keep" K1 >"$KEHU_TMP/keep.ids"
add_children "$other" O2 >"$KEHU_TMP/other.ids"
mapfile -t keep_children <"$KEHU_TMP/keep.ids"
mapfile -t other_children <"$KEHU_TMP/other.ids"
((${#keep_children[@]} == 7 && ${#other_children[@]} == 7)) ||
  fail "could not create the children to merge: ${keep_children[*]} / ${other_children[*]}"

# What moves: OTHER's 7 records and the reminders about it (the follow-up
# due, the ticket's response due), counted as such.
expect_exit 0 kehu_as admin --json reminder list --all
other_reminders=$(out_jq --arg o "$other" '[.items[] | select(.customer_id == $o and .kind != "dormant")] | length')
((other_reminders >= 2)) || fail "only $other_reminders reminders about $other before the merge: $OUT"
expect_exit 0 kehu_as admin --json customer merge "$keep" "$other"
expect_eq $((7 + other_reminders)) "$(out_jq .moved)" "merge .moved (7 records + $other_reminders reminders)"
expect_eq "$other_reminders" "$(out_jq .reminders_moved)" "merge .reminders_moved"
expect_exit 0 kehu_as admin --json audit --entity "$keep" --limit 500
expect_match "$((7 + other_reminders)) records moved" \
  "$(out_jq '.items[] | select(.action == "merge") | .details')" "audit details of the merge"
expect_exit 0 kehu_as admin --json reminder list --all
# both were contacted today: no dormant reminder exists for either (one is
# raised when a customer falls dormant), and the merge makes none
expect_eq 0 "$(out_jq --arg k "$keep" '[.items[] | select(.customer_id == $k and .kind == "dormant")] | length')" \
  "dormant reminders about $keep after the merge"
expect_exit 0 kehu_as admin --json customer get "$keep"
expect_exit 5 kehu_as admin customer get "$other"
expect_exit 5 kehu_as admin --json customer get "$other"
expect_eq NOT_FOUND "$(err_jq .error.code)" "error code of get of a merged customer"
expect_exit 5 kehu_as admin followup list "$other"

list_ids() { # KIND CUSTOMER -> ids of that list, sorted, space separated
  expect_exit 0 kehu_as admin --json "$1" list "$2" --limit 500
  out_jq '[.items[].id] | sort | join(" ")'
}
contacts=$(list_ids contact "$keep")
followups=$(list_ids followup "$keep")
contracts=$(list_ids contract "$keep")
orders=$(list_ids order "$keep")
tickets=$(list_ids ticket "$keep")
attachments=$(list_ids attach "$keep")
for id in "${keep_children[@]}" "${other_children[@]}"; do
  case $id in
    CT*) [[ " $contacts " == *" $id "* ]] || fail "contact $id is not listed under $keep after the merge: $contacts" ;;
    FU*) [[ " $followups " == *" $id "* ]] || fail "follow-up $id is not listed under $keep after the merge: $followups" ;;
    HT*) [[ " $contracts " == *" $id "* ]] || fail "contract $id is not listed under $keep after the merge: $contracts" ;;
    OR*) [[ " $orders " == *" $id "* ]] || fail "order $id is not listed under $keep after the merge: $orders" ;;
    TK*) [[ " $tickets " == *" $id "* ]] || fail "ticket $id is not listed under $keep after the merge: $tickets" ;;
    AT*) [[ " $attachments " == *" $id "* ]] || fail "attachment $id is not listed under $keep after the merge: $attachments" ;;
    *) fail "unexpected child id '$id'" ;;
  esac
done
expect_eq 2 "$(wc -w <<<"$contacts")" "contacts under $keep after the merge"
expect_eq 4 "$(wc -w <<<"$followups")" "follow-ups under $keep after the merge"
expect_eq 2 "$(wc -w <<<"$contracts")" "contracts under $keep after the merge"
# The reminders (follow-up due) moved too.
expect_exit 0 kehu_as admin --json reminder list --all
expect_eq 0 "$(out_jq --arg o "$other" '[.items[] | select(.customer_id == $o)] | length')" \
  "reminders still pointing at the merged $other"
expect_eq true "$(out_jq --arg k "$keep" '[.items[] | select(.customer_id == $k)] | length >= 2')" \
  "reminders of $keep after the merge (its own and the moved one)"
# A moved attachment still downloads intact.
expect_exit 0 kehu_as admin attach get "${other_children[6]}" -o "$KEHU_TMP/moved.txt"
cmp "$KEHU_TMP/file-O2.txt" "$KEHU_TMP/moved.txt" || fail "attachment ${other_children[6]} changed in the merge"
# The moved records say so.
expect_exit 0 kehu_as admin --json contact list "$keep"
expect_eq "" "$(out_jq --arg k "$keep" '[.items[] | select(.customer_id != $k) | .id] | join(" ")')" \
  "contacts under $keep whose customer_id is not $keep"
# The merged customer is in the bin, marked as merged into KEEP, and not listed.
expect_exit 0 kehu_as admin --json customer list --limit 500
expect_eq false "$(out_has_id "$other")" "customer list contains the merged $other"
expect_exit 0 kehu_as admin --json customer list --deleted
expect_eq "$keep" "$(out_jq --arg id "$other" '.items[] | select(.id == $id) | .merged_into')" \
  "merged_into of $other in the recycle bin"
# Merging into itself or with a missing customer is refused.
expect_exit 5 kehu_as admin customer merge "$keep" C20990101001
[[ $(kehu_as admin customer merge "$keep" "$keep" >/dev/null 2>&1; echo $?) != 0 ]] ||
  fail "customer merge $keep $keep (a customer with itself) succeeded"

# --- two contacts of one customer with the same mobile -----------------------
# Deleting one of them, or changing its phone, must leave the other's mobile
# indexed: the customer is still a duplicate of another with that mobile.
shared_mobile_case() { # VERB MOBILE
  local verb=$1 mobile=$2 one c1 c2 other
  expect_exit 0 kehu_as admin --json customer add --name "共享手机号客户$verb"
  one=$(out_jq .id)
  expect_exit 0 kehu_as admin --json contact add "$one" --name 甲 --phone "$mobile"
  c1=$(out_jq .id)
  expect_exit 0 kehu_as admin --json contact add "$one" --name 乙 --phone "$mobile"
  c2=$(out_jq .id)
  if [[ $verb == delete ]]; then
    expect_exit 0 kehu_as admin contact delete "$c1"
  else
    expect_exit 0 kehu_as admin contact update "$c1" --phone 13511112222
  fi
  expect_exit 0 kehu_as admin --json customer add --name "同号另一客户$verb"
  other=$(out_jq .id)
  expect_exit 0 kehu_as admin contact add "$other" --name 丙 --phone "$mobile"
  expect_exit 0 kehu_as admin --json customer dupes --limit 500
  expect_eq true "$(out_jq --arg a "$one" --arg b "$other" \
    'any(.items[]; ([.a.id, .b.id] | sort) == ([$a, $b] | sort))')" \
    "dupes lists $one (contact $c2 still has $mobile after contact $verb of $c1) and $other"
}
expect_server_alive
kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
kehu_start_server
shared_mobile_case delete 13766660001
shared_mobile_case update 13766660002
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_server_alive
kehu_stop_server
