#!/usr/bin/env bash
# kehu import customers --incomplete (docs/architecture.md#import): with
# [import] complete_fields = contact_name, contact_phone, a row without a
# phone is rejected naming its column by default; with --incomplete accept
# it is added, counted as incomplete, tagged 待补充, and its owner gets an
# `incomplete` reminder due two working days later at remind_hour (a
# Friday import: the Tuesday); a contact with a name and a phone takes the
# tag and the reminder away. An unknown field in complete_fields refuses
# the config.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"

# the server's clock on a Friday afternoon
friday=$(date -d 'next friday' +%F)
shift_server_clock "$friday 15:00"

# an unknown field name refuses the config, naming it
kehu_conf_set import complete_fields "contact_name, fax"
if timeout "$(kehu_scaled 20)" "$KEHU_BUILD/kehud" --data "$KEHU_DATA" --listen 127.0.0.1:0 >"$KEHU_TMP/bad.out" 2>&1; then
  fail "kehud started with complete_fields naming fax"
fi
expect_match "fax" "$(cat "$KEHU_TMP/bad.out")" "the refusal of complete_fields = contact_name, fax"

kehu_conf_set import complete_fields "contact_name, contact_phone"
kehu_start_server
kehu_add_user s1 sales east

printf '%s\n' '客户名称(*),联系人(*),联系方式(虚拟),跟进人(*)' \
  '待补充测试甲,王五,,s1' \
  '待补充测试乙,赵六,13800002222,s1' >"$KEHU_TMP/rows.csv"

# by default (reject) the row without a phone is rejected naming the column
expect_exit 7 kehu_as admin --json import customers "$KEHU_TMP/rows.csv"
expect_eq 1 "$(out_jq .accepted)" "accepted (reject)"
expect_eq 0 "$(out_jq .incomplete)" "incomplete (reject)"
expect_eq 1 "$(out_jq .rejected)" "rejected (reject)"
expect_eq '2 联系方式(虚拟)' "$(out_jq '.errors[0] | "\(.line) \(.column)"')" "the row rejected"
expect_match 'needed for a complete record' "$(out_jq '.errors[0].reason')" "the reason"

# the client knows the value; an unknown one is a usage error
expect_exit 2 kehu_as admin import customers "$KEHU_TMP/rows.csv" --incomplete maybe

# with accept: added, counted in incomplete only, tagged, reminded
expect_exit 0 kehu_as admin --json import customers "$KEHU_TMP/rows.csv" --incomplete accept
expect_eq 0 "$(out_jq .accepted)" "accepted (accept: the complete row is a duplicate now)"
expect_eq 1 "$(out_jq .duplicates)" "duplicates (accept)"
expect_eq 1 "$(out_jq .incomplete)" "incomplete (accept)"
expect_eq 0 "$(out_jq .rejected)" "rejected (accept)"

expect_exit 0 kehu_as admin --json customer search 待补充测试甲
id=$(out_jq '.items[0].id')
expect_exit 0 kehu_as admin --json customer get "$id"
expect_eq '待补充' "$(out_jq '.tags | join(",")')" "the tags of the incomplete customer"
expect_exit 0 kehu_as admin --json customer search 待补充测试乙
id2=$(out_jq '.items[0].id')
expect_exit 0 kehu_as admin --json customer get "$id2"
expect_eq '' "$(out_jq '(.tags // []) | join(",")')" "the tags of the complete customer"

expect_exit 0 kehu_as s1 --json reminder list --all
rem=$(out_jq -c --arg id "$id" '[.items[] | select(.kind == "incomplete" and .customer_id == $id)]')
expect_eq 1 "$(jq length <<<"$rem")" "incomplete reminders of s1 about $id: $OUT"
tuesday_nine=$(date -d "$friday +4 days 09:00" +%s)
expect_eq "$tuesday_nine" "$(epoch_of "$(jq -r '.[0].due_at' <<<"$rem")")" \
  "the reminder's due_at ($(jq -r '.[0].due_at' <<<"$rem")) as Tuesday 09:00 local"
expect_match 'contact_phone' "$(jq -r '.[0].message' <<<"$rem")" "the reminder names the field"
expect_match '待补充测试甲' "$(jq -r '.[0].message' <<<"$rem")" "the reminder names the customer"
expect_exit 0 kehu_as s1 --json reminder list --all
expect_eq 0 "$(out_jq --arg id "$id2" '[.items[] | select(.kind == "incomplete" and .customer_id == $id)] | length')" \
  "incomplete reminders about the complete customer"

# a contact with a name and a phone completes it: tag and reminder go
expect_exit 0 kehu_as s1 --json contact add "$id" --name 孙七 --phone 13800001111
expect_exit 0 kehu_as admin --json customer get "$id"
expect_eq '' "$(out_jq '(.tags // []) | join(",")')" "the tags after the contact add"
expect_exit 0 kehu_as s1 --json reminder list --all
expect_eq 0 "$(out_jq --arg id "$id" '[.items[] | select(.kind == "incomplete" and .customer_id == $id)] | length')" \
  "incomplete reminders about $id after the contact add"

# an update that completes it does the same (the missing field: industry)
kehu_stop_server
kehu_conf_set import complete_fields "industry"
kehu_start_server
printf '%s\n' '客户名称(*),所属行业,跟进人(*)' '待补充测试丙,,s1' >"$KEHU_TMP/rows2.csv"
expect_exit 0 kehu_as admin --json import customers "$KEHU_TMP/rows2.csv" --incomplete accept
expect_eq 1 "$(out_jq .incomplete)" "incomplete (industry)"
expect_exit 0 kehu_as admin --json customer search 待补充测试丙
id3=$(out_jq '.items[0].id')
expect_exit 0 kehu_as s1 --json reminder list --all
expect_eq 1 "$(out_jq --arg id "$id3" '[.items[] | select(.kind == "incomplete" and .customer_id == $id)] | length')" \
  "the incomplete reminder about $id3"
expect_exit 0 kehu_as s1 --json customer update "$id3" --industry 制造
expect_eq '' "$(out_jq '(.tags // []) | join(",")')" "the tags after the update"
expect_exit 0 kehu_as s1 --json reminder list --all
expect_eq 0 "$(out_jq --arg id "$id3" '[.items[] | select(.kind == "incomplete" and .customer_id == $id)] | length')" \
  "incomplete reminders about $id3 after the update"

