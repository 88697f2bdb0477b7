#!/usr/bin/env bash
# Issue 3: the records under a customer through the real kehu: contacts
# (phones stored normalised, phone and email validation), follow-ups
# (author, last_contact_at), stage history, contracts (dates, unique number,
# amounts in yuan), needs, orders, tickets (response_due, update), and
# custom fields defined by an admin and enforced on customer writes.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user rep1 sales east

# rep1 owns the customer, so every record below is written by a sales rep.
expect_exit 0 kehu_as rep1 --json customer add --name "杭州记录测试有限公司" --stage potential
cid=$(out_jq .id)
expect_match '^C[0-9]{8}[0-9]{3,}$' "$cid" "customer id"
expect_eq rep1 "$(out_jq .owner)" "owner of a customer a sales rep added"
expect_eq null "$(out_jq .last_contact_at)" "last_contact_at of a new customer"

# --- contacts: phones are stored normalised --------------------------------
expect_exit 0 kehu_as rep1 --json contact add "$cid" --name 王一 --phone 13856781234
ct1=$(out_jq .id)
expect_eq '["13856781234"]' "$(out_jq -c .phones)" "phones of --phone 13856781234"
expect_eq "$cid" "$(out_jq .customer_id)" "contact .customer_id"

expect_exit 0 kehu_as rep1 --json contact add "$cid" --name 王二 --phone '+86 138 5678 1234' \
  --title 采购经理 --decision-maker --email wang.er@example.com --birthday 1985-02-28
ct2=$(out_jq .id)
expect_eq '["13856781234"]' "$(out_jq -c .phones)" "phones of --phone '+86 138 5678 1234'"
expect_eq wang.er@example.com "$(out_jq .email)" "contact .email"
expect_eq 采购经理 "$(out_jq .title)" "contact .title"
expect_eq true "$(out_jq .is_decision_maker)" "contact .is_decision_maker"
expect_eq 1985-02-28 "$(out_jq .birthday)" "contact .birthday"

expect_exit 0 kehu_as rep1 --json contact add "$cid" --name 王三 --phone 010-12345678
ct3=$(out_jq .id)
expect_eq '["010-12345678"]' "$(out_jq -c .phones)" "phones of --phone 010-12345678"

# Two phones on one contact, both kept, in order.
expect_exit 0 kehu_as rep1 --json contact add "$cid" --name 王四 --phone '138-5678-4321' \
  --phone 010-12345678
ct4=$(out_jq .id)
expect_eq '["13856784321","010-12345678"]' "$(out_jq -c .phones)" "phones of a contact with two"

# Read back: the list holds the normalised values too.
expect_exit 0 kehu_as rep1 --json contact list "$cid"
expect_eq 4 "$(out_jq '.items | length')" "contacts listed"
expect_eq '["13856781234"]' "$(out_jq -c --arg id "$ct2" '.items[] | select(.id == $id) | .phones')" \
  "phones of $ct2 read back"
expect_eq '["010-12345678"]' "$(out_jq -c --arg id "$ct3" '.items[] | select(.id == $id) | .phones')" \
  "phones of $ct3 read back"
for id in "$ct1" "$ct2" "$ct3" "$ct4"; do
  expect_eq true "$(out_has_id "$id")" "contact list contains $id"
done

# Bad phones and emails: exit 7, the message names the field, nothing stored.
expect_exit 7 kehu_as rep1 contact add "$cid" --name 错号 --phone 1385678
expect_match 'phone' "$ERR" "stderr of --phone 1385678"
expect_exit 7 kehu_as rep1 --json contact add "$cid" --name 错号 --phone 1385678
expect_eq "" "$OUT" "stdout of a refused --json contact add"
expect_eq INVALID_ARGUMENT "$(err_jq .error.code)" "error code of --phone 1385678"
expect_match 'phone' "$(err_jq .error.message)" "--json error message of --phone 1385678"
expect_exit 7 kehu_as rep1 contact add "$cid" --name 错号 --phone 12856781234
expect_match 'phone' "$ERR" "stderr of --phone 12856781234 (no mobile starts 12)"
expect_exit 7 kehu_as rep1 contact add "$cid" --name 错号 --phone 138567812345
expect_match 'phone' "$ERR" "stderr of a 12-digit mobile"
expect_exit 7 kehu_as rep1 contact add "$cid" --name 错号 --phone 'call me'
expect_match 'phone' "$ERR" "stderr of --phone 'call me'"
for email in 'wang@@example.com' 'wang@example' 'wang @example.com' '@example.com' 'wang.example.com'; do
  expect_exit 7 kehu_as rep1 contact add "$cid" --name 错邮 --email "$email"
  expect_match 'email' "$ERR" "stderr of --email '$email'"
done
expect_exit 7 kehu_as rep1 contact add "$cid" --name 错日 --birthday 1990-02-30
expect_match 'birthday' "$ERR" "stderr of --birthday 1990-02-30"
expect_exit 0 kehu_as rep1 --json contact list "$cid"
expect_eq 4 "$(out_jq '.items | length')" "contacts after the refused adds"

# Update and delete.
expect_exit 0 kehu_as rep1 --json contact update "$ct1" --title 总经理 --phone '0755 1234567'
expect_eq 总经理 "$(out_jq .title)" "contact .title after update"
expect_eq 2 "$(out_jq .version)" "contact .version after update"
expect_match '^0755-?1234567$' "$(out_jq '.phones[0]')" "landline 0755 1234567 stored normalised"
expect_exit 7 kehu_as rep1 contact update "$ct1" --email 'not an email'
expect_match 'email' "$ERR" "stderr of contact update --email 'not an email'"
expect_exit 6 kehu_as rep1 contact update "$ct1" --version 1 --title 过期
expect_exit 0 kehu_as rep1 contact delete "$ct4"
expect_exit 0 kehu_as rep1 --json contact list "$cid"
expect_eq 3 "$(out_jq '.items | length')" "contacts after a delete"
expect_eq false "$(out_has_id "$ct4")" "contact list contains the deleted $ct4"
expect_eq 总经理 "$(out_jq --arg id "$ct1" '.items[] | select(.id == $id) | .title')" "title read back"
expect_exit 5 kehu_as rep1 contact update "$ct4" --title 已删除

# --- follow-ups: author is the caller, last_contact_at follows --------------
expect_exit 0 kehu_as rep1 --json followup add "$cid" --method phone --summary "电话沟通报价" \
  --feedback "价格偏高" --next "发送修改后的报价" --contact "$ct2"
fu1=$(out_jq .id)
fu1_at=$(out_jq .at)
expect_eq rep1 "$(out_jq .author)" "follow-up .author"
expect_eq phone "$(out_jq .method)" "follow-up .method"
expect_eq "$ct2" "$(out_jq .contact_id)" "follow-up .contact_id"
expect_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$fu1_at" "follow-up .at"
expect_exit 0 kehu_as rep1 --json customer get "$cid"
expect_eq "$fu1_at" "$(out_jq .last_contact_at)" "last_contact_at after a follow-up"

expect_exit 0 kehu_as rep1 --json followup list "$cid"
expect_eq true "$(out_has_id "$fu1")" "followup list contains $fu1"
expect_eq rep1 "$(out_jq --arg id "$fu1" '.items[] | select(.id == $id) | .author')" \
  "author in followup list"
expect_eq "电话沟通报价" "$(out_jq --arg id "$fu1" '.items[] | select(.id == $id) | .summary')" \
  "summary in followup list"
expect_exit 0 kehu_as rep1 followup list "$cid"
expect_match 'rep1' "$OUT" "human followup list shows the author"

# A follow-up recorded for an earlier time does not move last_contact_at back.
expect_exit 0 kehu_as rep1 --json followup add "$cid" --method visit --summary "上门拜访" \
  --at 2020-01-15
expect_match '^2020-01-1[45]T' "$(out_jq .at)" "follow-up --at 2020-01-15"
expect_exit 0 kehu_as rep1 --json customer get "$cid"
expect_eq "$fu1_at" "$(out_jq .last_contact_at)" "last_contact_at after an older follow-up"
expect_exit 7 kehu_as rep1 followup add "$cid" --method pigeon --summary x
expect_match 'method' "$ERR" "stderr of --method pigeon"
expect_exit 7 kehu_as rep1 followup add "$cid" --method phone --summary x --at 2024-13-01
expect_match 'at' "$ERR" "stderr of --at 2024-13-01"
expect_exit 5 kehu_as rep1 followup add C20990101001 --method phone --summary x
expect_exit 5 kehu_as rep1 followup list C20990101001

# --- stage history -----------------------------------------------------------
expect_exit 0 kehu_as rep1 --json customer stage "$cid" intent --reason "客户回电，有意向"
expect_exit 0 kehu_as rep1 --json customer get "$cid"
expect_eq intent "$(out_jq .stage)" "stage after customer stage intent"
expect_eq 1 "$(out_jq '.stage_history | length')" "stage_history entries"
expect_eq potential "$(out_jq '.stage_history[0].from')" "stage_history[0].from"
expect_eq intent "$(out_jq '.stage_history[0].to')" "stage_history[0].to"
expect_eq rep1 "$(out_jq '.stage_history[0].by')" "stage_history[0].by"
expect_eq "客户回电，有意向" "$(out_jq '.stage_history[0].reason')" "stage_history[0].reason"
expect_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$(out_jq '.stage_history[0].at')" "stage_history[0].at"
expect_exit 0 kehu_as rep1 customer stage "$cid" 成交
expect_exit 0 kehu_as rep1 --json customer get "$cid"
expect_eq closed "$(out_jq .stage)" "stage after customer stage 成交"
expect_eq "potential>intent intent>closed" \
  "$(out_jq '[.stage_history[] | "\(.from)>\(.to)"] | join(" ")')" "stage_history after two changes"
expect_exit 0 kehu_as rep1 customer get "$cid"
expect_match '客户回电，有意向' "$OUT" "human customer get shows the stage history"
expect_exit 7 kehu_as rep1 customer stage "$cid" bogus
expect_match 'stage' "$ERR" "stderr of customer stage bogus"

# --- contracts ------------------------------------------------------------
expect_exit 0 kehu_as rep1 --json contract add "$cid" --number HT-2024-001 --amount 12345.67 \
  --signed 2024-03-01 --start 2024-03-01 --end 2025-02-28
ht1=$(out_jq .id)
expect_eq 12345.67 "$(out_jq .amount)" "contract .amount"
expect_eq HT-2024-001 "$(out_jq .number)" "contract .number"
expect_eq 2024-03-01 "$(out_jq .starts_on)" "contract .starts_on"
expect_eq 2025-02-28 "$(out_jq .ends_on)" "contract .ends_on"
expect_exit 0 kehu_as rep1 --json contract add "$cid" --number HT-2024-002 --amount 100 \
  --signed 2024-03-01 --start 2024-03-01 --end 2024-03-01
expect_eq 100.00 "$(out_jq .amount)" "amount of --amount 100"
expect_exit 0 kehu_as rep1 --json contract add "$cid" --number HT-2024-003 --amount 0.5 \
  --signed 2024-03-01 --start 2024-03-01 --end 2024-06-01
expect_eq 0.50 "$(out_jq .amount)" "amount of --amount 0.5"

expect_exit 7 kehu_as rep1 contract add "$cid" --number HT-BAD-1 --amount 10 \
  --signed 2024-03-01 --start 2024-03-02 --end 2024-03-01
expect_match 'end|start' "$ERR" "stderr of --end before --start"
expect_exit 7 kehu_as rep1 contract add "$cid" --number HT-BAD-2 --amount 1.234 \
  --signed 2024-03-01 --start 2024-03-01 --end 2024-04-01
expect_match 'amount' "$ERR" "stderr of --amount 1.234"
expect_exit 7 kehu_as rep1 contract add "$cid" --number HT-BAD-3 --amount -5 \
  --signed 2024-03-01 --start 2024-03-01 --end 2024-04-01
expect_match 'amount' "$ERR" "stderr of --amount -5"
expect_exit 7 kehu_as rep1 contract add "$cid" --number HT-BAD-4 --amount 5 \
  --signed 2024-03-01 --start 2023-02-29 --end 2024-04-01
expect_match 'start' "$ERR" "stderr of --start 2023-02-29"
expect_exit 6 kehu_as rep1 contract add "$cid" --number HT-2024-001 --amount 1 \
  --signed 2024-03-01 --start 2024-03-01 --end 2024-04-01
expect_match 'HT-2024-001|number' "$ERR" "stderr of a taken contract number"
expect_exit 6 kehu_as rep1 --json contract add "$cid" --number HT-2024-001 --amount 1 \
  --signed 2024-03-01 --start 2024-03-01 --end 2024-04-01
expect_eq CONFLICT "$(err_jq .error.code)" "error code of a taken contract number"

expect_exit 0 kehu_as rep1 --json contract list "$cid"
expect_eq 3 "$(out_jq '.items | length')" "contracts after the refused adds"
expect_eq 12345.67 "$(out_jq --arg id "$ht1" '.items[] | select(.id == $id) | .amount')" \
  "amount in contract list --json"
expect_exit 0 kehu_as rep1 contract list "$cid"
expect_match '12345\.67' "$OUT" "human contract list shows the amount as yuan"
expect_match 'HT-2024-001' "$OUT" "human contract list shows the number"
# --expiring-within: a contract ending in 10 days, not one ending in a year.
soon=$(date -d '+10 days' +%F)
later=$(date -d '+400 days' +%F)
expect_exit 0 kehu_as rep1 --json contract add "$cid" --number HT-SOON --amount 1 \
  --signed "$(date +%F)" --start "$(date +%F)" --end "$soon"
ht_soon=$(out_jq .id)
expect_exit 0 kehu_as rep1 --json contract add "$cid" --number HT-LATER --amount 1 \
  --signed "$(date +%F)" --start "$(date +%F)" --end "$later"
ht_later=$(out_jq .id)
expect_exit 0 kehu_as rep1 --json contract list --expiring-within 30
expect_eq true "$(out_has_id "$ht_soon")" "contract list --expiring-within 30 contains $ht_soon (ends $soon)"
expect_eq false "$(out_has_id "$ht_later")" "contract list --expiring-within 30 contains $ht_later (ends $later)"
expect_exit 0 kehu_as rep1 --json contract list --expiring-within 5
expect_eq false "$(out_has_id "$ht_soon")" "contract list --expiring-within 5 contains $ht_soon (ends $soon)"
expect_exit 0 kehu_as rep1 --json contract update "$ht_soon" --status fulfilled --amount 2.5
expect_eq fulfilled "$(out_jq .status)" "contract .status after update"
expect_eq 2.50 "$(out_jq .amount)" "contract .amount after update"

# --- needs ----------------------------------------------------------------
expect_exit 0 kehu_as rep1 --json need add "$cid" --kind product --description "需要 200 台工控机" \
  --budget 50000 --priority high
nd1=$(out_jq .id)
expect_eq product "$(out_jq .kind)" "need .kind"
expect_eq 50000.00 "$(out_jq .budget)" "need .budget"
expect_eq high "$(out_jq .priority)" "need .priority"
expect_eq open "$(out_jq .status)" "need .status"
expect_exit 7 kehu_as rep1 need add "$cid" --kind wishes --description x
expect_match 'kind' "$ERR" "stderr of need --kind wishes"
expect_exit 0 kehu_as rep1 --json need list "$cid"
expect_eq true "$(out_has_id "$nd1")" "need list contains $nd1"
expect_exit 0 kehu_as rep1 --json need update "$nd1" --status won
expect_eq won "$(out_jq .status)" "need .status after update"
expect_eq 50000.00 "$(out_jq .budget)" "need .budget after an update that did not touch it"

# --- orders ---------------------------------------------------------------
expect_exit 0 kehu_as rep1 --json order add "$cid" --amount 8800.5 --product 工控机 --quantity 4 \
  --at 2024-05-20
or1=$(out_jq .id)
expect_eq 8800.50 "$(out_jq .amount)" "order .amount"
expect_eq 4 "$(out_jq .quantity)" "order .quantity"
expect_eq 工控机 "$(out_jq .product)" "order .product"
expect_exit 7 kehu_as rep1 order add "$cid" --amount abc
expect_match 'amount' "$ERR" "stderr of order --amount abc"
expect_exit 0 kehu_as rep1 --json order list "$cid"
expect_eq true "$(out_has_id "$or1")" "order list contains $or1"
expect_eq 8800.50 "$(out_jq --arg id "$or1" '.items[] | select(.id == $id) | .amount')" \
  "order amount read back"

# --- tickets (the admin writes them: sales only reads tickets) --------------
expect_exit 0 kehu_as admin --json ticket add "$cid" --subject "设备无法开机" \
  --description "第三台工控机通电无反应" --priority high
tk1=$(out_jq .id)
expect_eq open "$(out_jq .status)" "ticket .status"
created=$(out_jq '.created_at | fromdateiso8601')
due=$(out_jq '.response_due | fromdateiso8601')
diff=$((due - created))
((diff >= 86400 - 60 && diff <= 86400 + 60)) ||
  fail "ticket response_due is ${diff}s after created_at, expected about 24 h (86400 s)"
expect_exit 0 kehu_as admin --json ticket update "$tk1" --status resolved --satisfaction 5 \
  --resolution "更换电源"
expect_eq resolved "$(out_jq .status)" "ticket .status after update"
expect_eq 5 "$(out_jq .satisfaction)" "ticket .satisfaction after update"
expect_eq 2 "$(out_jq .version)" "ticket .version after update"
expect_exit 7 kehu_as admin ticket update "$tk1" --satisfaction 6
expect_match 'satisfaction' "$ERR" "stderr of --satisfaction 6"
expect_exit 7 kehu_as admin ticket update "$tk1" --status sleeping
expect_match 'status' "$ERR" "stderr of ticket --status sleeping"
expect_exit 0 kehu_as admin --json ticket list "$cid"
expect_eq resolved "$(out_jq --arg id "$tk1" '.items[] | select(.id == $id) | .status')" \
  "ticket status read back"
expect_exit 0 kehu_as rep1 --json ticket list "$cid"
expect_eq true "$(out_has_id "$tk1")" "the owner reads the tickets of a customer"
expect_exit 0 kehu_as admin --json ticket add "$cid" --subject "第二张工单"
tk2=$(out_jq .id)
expect_exit 0 kehu_as admin --json ticket list --status resolved --limit 500
expect_eq true "$(out_has_id "$tk1")" "ticket list --status resolved contains $tk1"
expect_eq false "$(out_has_id "$tk2")" "ticket list --status resolved contains the open $tk2"
expect_exit 0 kehu_as admin --json ticket list "$cid" --status open
expect_eq "$tk2" "$(out_jq '[.items[].id] | join(" ")')" "ticket list ID --status open"

# --- custom fields (admin defines, every customer write is validated) --------
expect_exit 0 kehu_as admin field define customer level --type enum --option A --option B --required
expect_exit 7 kehu_as rep1 customer add --name "缺少等级的客户"
expect_match 'level' "$ERR" "stderr of add without the required field level"
expect_exit 7 kehu_as rep1 customer add --name "等级错误的客户" --field level=C
expect_match 'level' "$ERR" "stderr of --field level=C (not an option)"
expect_exit 7 kehu_as rep1 customer add --name "未定义字段的客户" --field level=A --field colour=red
expect_match 'colour' "$ERR" "stderr of an undefined --field colour=red"
expect_exit 0 kehu_as rep1 --json customer add --name "等级正确的客户" --field level=A
cf=$(out_jq .id)
expect_eq A "$(out_jq .fields.level)" "fields.level of the added customer"
expect_exit 0 kehu_as rep1 --json customer get "$cf"
expect_eq A "$(out_jq .fields.level)" "fields.level read back"
expect_exit 7 kehu_as rep1 customer update "$cf" --field level=Z
expect_match 'level' "$ERR" "stderr of update --field level=Z"
expect_exit 0 kehu_as rep1 --json customer update "$cf" --field level=B
expect_eq B "$(out_jq .fields.level)" "fields.level after update"
# Nothing of the refused adds was stored.
expect_exit 0 kehu_as rep1 --json customer list
names=$(out_jq '[.items[].name] | join(",")')
[[ "$names" != *缺少等级* && "$names" != *等级错误* && "$names" != *未定义字段* ]] ||
  fail "a customer refused for its custom fields was stored: $names"

# A number field rejects text.
expect_exit 0 kehu_as admin field define customer headcount --type number
expect_exit 7 kehu_as rep1 customer add --name "人数错误的客户" --field level=A --field headcount=many
expect_match 'headcount' "$ERR" "stderr of --field headcount=many"
expect_exit 0 kehu_as rep1 --json customer add --name "人数正确的客户" --field level=B --field headcount=120
expect_eq 120 "$(out_jq .fields.headcount)" "fields.headcount"

expect_server_alive
kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
