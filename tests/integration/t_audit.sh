#!/usr/bin/env bash
# Issue 4: the audit trail (docs/storage.md#audit-log) through the real kehu and kehu-admin:
# logins, failed logins, logout, create/update/delete/restore/merge/purge,
# permission denials and user changes are logged with who, what and the
# changed fields (never a sensitive value); `kehu audit` is for admins only;
# `kehu-admin audit export` (JSON, CSV) and `audit verify` agree; verify
# fails after one byte of one entry (an older one, or the newest) is changed
# in a copy of the LMDB file.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

export LC_ALL=C
kehu_start_server
kehu_add_user s1 sales east
kehu_add_user s2 sales west

# --- the actions ----------------------------------------------------------------
expect_exit 0 kehu_as admin --json customer add --name 审计管理员客户
c0=$(out_jq .id)
expect_exit 0 kehu_as s1 login
expect_exit 0 kehu_as s1 --json customer add --name AuditCustomerA
ca=$(out_jq .id)
expect_exit 0 kehu_as s1 --json customer update "$ca" --region 华北 --industry 物流
expect_exit 0 kehu_as s1 --json contact add "$ca" --name 审计联系人 --phone 13900001234 \
  --email audit.secret@example.com
ct=$(out_jq .id)
expect_exit 0 kehu_as s1 --json contact update "$ct" --phone 13900005678 --email new.secret@example.com
expect_exit 0 kehu_as s1 --json contract add "$ca" --number AUD-1 --amount 76543.21 \
  --signed 2024-01-01 --start 2024-01-01 --end 2025-01-01
expect_exit 0 kehu_as s1 customer delete "$ca"
expect_exit 0 kehu_as s1 customer restore "$ca"
expect_exit 4 kehu_as s1 customer get "$c0"
expect_exit 4 kehu_as s1 audit
KEHU_PASSWORD=wrong-password expect_exit 3 kehu --user s1 login
expect_exit 0 kehu_as s1 logout
expect_exit 0 kehu_as admin --json customer add --name 审计合并对象
cm=$(out_jq .id)
expect_exit 0 kehu_as admin customer merge "$c0" "$cm"
expect_exit 0 kehu_as admin --json customer add --name 审计清除对象
cp_=$(out_jq .id)
expect_exit 0 kehu_as admin customer purge "$cp_"
expect_exit 0 kehu_admin user role "$KEHU_DATA" s2 manager --team west

# --- kehu audit (admin) -----------------------------------------------------------
expect_exit 0 kehu_as admin --json audit --limit 500
actions=$(out_jq '[.items[].action] | unique | join(" ")')
for action in login login_failed logout create update delete restore merge purge \
              permission_denied user_change; do
  [[ " $actions " == *" $action "* ]] || fail "kehu audit --json lists no '$action' entry (it has: $actions)"
done
# Newest first, sequence numbers without gaps.
expect_eq true "$(out_jq '[.items[].seq] as $s | $s == ($s | sort | reverse)')" "audit entries newest first"
n=$(out_jq '.items | length')
expect_eq "$n" "$(out_jq '.items[0].seq - .items[-1].seq + 1')" "audit sequence numbers without gaps"
expect_eq 1 "$(out_jq '.items[-1].seq')" "the oldest audit sequence number"
# Who did what to which record.
entry() { out_jq -c --arg a "$1" --arg id "$2" '[.items[] | select(.action == $a and .entity_id == $id)][0]'; }
expect_eq s1 "$(entry create "$ca" | jq -r .user)" "user of the create entry of $ca"
expect_eq 127.0.0.1 "$(entry create "$ca" | jq -r .address)" "address of the create entry of $ca"
update_details=$(entry update "$ca" | jq -r .details)
expect_match 'region' "$update_details" "details of the update of $ca name the changed field"
expect_match '华北' "$update_details" "details of the update of $ca carry the new value"
expect_match 'industry' "$update_details" "details of the update of $ca name every changed field"
expect_eq s1 "$(entry delete "$ca" | jq -r .user)" "user of the delete entry of $ca"
expect_eq true "$(out_jq --arg c0 "$c0" 'any(.items[]; .action == "permission_denied" and .user == "s1" and
  ((.entity_id // "") == $c0 or ((.details // "") | contains($c0))))')" \
  "a permission_denied entry by s1 naming $c0"
expect_eq admin "$(entry purge "$cp_" | jq -r .user)" "user of the purge entry of $cp_"
expect_match "$cm|$c0" "$(out_jq -c '[.items[] | select(.action == "merge")][0]')" "the merge entry names the customers"
expect_eq true "$(out_jq 'any(.items[]; .action == "login_failed" and (.user == "s1" or .entity_id == "s1"))')" \
  "a login_failed entry for s1"
expect_eq true "$(out_jq --arg c0 "$c0" 'any(.items[]; .action == "permission_denied" and .user == "s1" and .entity_id != $c0)')" \
  "a permission_denied entry for s1's kehu audit"
# The contact update names its fields but never the values of phones and emails.
ct_entries=$(out_jq -c --arg id "$ct" '[.items[] | select(.entity_id == $id)]')
expect_match 'phone' "$(jq -r '[.[] | select(.action == "update")][0].details' <<<"$ct_entries")" \
  "details of the contact update name the phone field"
[[ "$OUT" != *13900001234* && "$OUT" != *13900005678* && "$OUT" != *secret@example.com* &&
   "$OUT" != *76543.21* && "$OUT" != *7654321* ]] ||
  fail "kehu audit shows a sensitive value (phone, email or amount)"

# Filters and paging.
expect_exit 0 kehu_as admin --json audit --entity "$ca" --limit 500
expect_eq true "$(out_jq --arg id "$ca" 'all(.items[]; .entity_id == $id)')" "audit --entity $ca"
expect_eq true "$(out_jq '.items | length >= 4')" "audit --entity $ca has create, update, delete, restore"
expect_exit 0 kehu_as admin --json audit --user s1 --limit 500
expect_eq true "$(out_jq 'all(.items[]; .user == "s1")')" "audit --user s1 lists only s1's entries"
expect_exit 0 kehu_as admin --json audit --limit 3
expect_eq 3 "$(out_jq '.items | length')" "audit --limit 3"
cursor=$(out_jq '.next_cursor')
[[ -n "$cursor" && "$cursor" != null ]] || fail "audit --limit 3 has no next_cursor"
last=$(out_jq '.items[-1].seq')
expect_exit 0 kehu_as admin --json audit --limit 3 --cursor "$cursor"
expect_eq $((last - 1)) "$(out_jq '.items[0].seq')" "first entry of the next audit page"
expect_exit 0 kehu_as admin audit --limit 5
expect_match 'login|create|purge|user_change' "$OUT" "human kehu audit output"

# --- kehu-admin audit export and verify ----------------------------------------
expect_exit 0 kehu_admin audit export "$KEHU_DATA" --format json
total=$(out_jq 'length')
((total >= n)) || fail "audit export has $total entries, kehu audit listed $n"
for action in login login_failed logout create update delete restore merge purge \
              permission_denied user_change; do
  expect_eq true "$(out_jq --arg a "$action" 'any(.[]; .action == $a)')" "audit export has a '$action' entry"
done
expect_match '^[0-9a-f]{64}$' "$(out_jq '.[0].prev_hash')" "prev_hash of an exported entry"
[[ "$OUT" != *13900001234* && "$OUT" != *13900005678* && "$OUT" != *secret@example.com* ]] ||
  fail "audit export shows a phone or an email"
expect_exit 0 kehu_admin audit export "$KEHU_DATA" --user s1 --format json
expect_eq true "$(out_jq 'length > 0 and all(.[]; .user == "s1")')" "audit export --user s1"
expect_exit 0 kehu_admin audit export "$KEHU_DATA" --format csv
expect_match '^seq,at,user' "$(head -n 1 <<<"$OUT")" "CSV header of audit export"
expect_eq "$total" "$(grep -c '^[0-9]' <<<"$OUT")" "CSV rows of audit export"
expect_exit 0 kehu_admin audit verify "$KEHU_DATA"

# The newest entry: a failed login under a name that appears nowhere else.
KEHU_PASSWORD=whatever expect_exit 3 kehu --user AuditProbeXYZ login
expect_exit 0 kehu_admin audit verify "$KEHU_DATA"
kehu_stop_server
expect_exit 0 kehu_admin audit export "$KEHU_DATA" --format json
expect_eq AuditProbeXYZ "$(out_jq 'max_by(.seq) | .entity_id')" "entity_id of the newest audit entry"
expect_exit 0 kehu_admin audit verify "$KEHU_DATA"

# --- tampering (on copies, with the server stopped) --------------------------------
db=$KEHU_DATA/db/data.mdb
# tamper NAME FROM TO: a copy of the data directory with FROM replaced by TO
# (same length) everywhere in data.mdb.
tamper() {
  local dir=$KEHU_TMP/$1 from=$2 to=$3
  ((${#from} == ${#to})) || fail "tamper: '$from' and '$to' differ in length"
  cp -a "$KEHU_DATA" "$dir"
  (($(grep -a -c -F "$from" "$dir/db/data.mdb" || true) > 0)) || fail "'$from' is not in data.mdb"
  FROM=$from TO=$to perl -0777 -pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/g' "$dir/db/data.mdb" ||
    fail "perl could not edit $dir/db/data.mdb"
  (($(grep -a -c -F "$from" "$dir/db/data.mdb" || true) == 0)) || fail "'$from' is still in the copy"
  cmp -s "$db" "$dir/db/data.mdb" && fail "the tampered copy equals the original"
  return 0
}
# An older entry: the update of AuditCustomerA (its details carry the new
# region; a name is never in the log, docs/storage.md#audit-log).
tamper older 华北 华东
rc=0
kehu_admin audit verify "$KEHU_TMP/older" >"$KEHU_TMP/verify.out" 2>&1 || rc=$?
((rc != 0)) || fail "kehu-admin audit verify exited 0 after an older entry was altered: $(cat "$KEHU_TMP/verify.out")"
# The newest entry: one byte of the failed login's user name.
tamper newest AuditProbeXYZ AuditProbeXYQ
rc=0
kehu_admin audit verify "$KEHU_TMP/newest" >"$KEHU_TMP/verify.out" 2>&1 || rc=$?
((rc != 0)) || fail "kehu-admin audit verify exited 0 after the newest entry was altered: $(cat "$KEHU_TMP/verify.out")"
# The original is intact.
expect_exit 0 kehu_admin audit verify "$KEHU_DATA"

# After a restart the log is still there and still verifies.
kehu_start_server
expect_exit 0 kehu_as admin --json audit --limit 500
expect_eq true "$(out_jq 'any(.items[]; .entity_id == "AuditProbeXYZ")')" "audit after a restart has the newest entry"
expect_exit 0 kehu_admin audit verify "$KEHU_DATA"
# (Last, as the product may still miss it.) A denial about a record names
# the record in the entry's entity and id, so that `kehu audit --entity ID`
# shows who tried to reach it.
expect_exit 0 kehu_as admin --json audit --entity "$c0" --limit 500
expect_eq true "$(out_jq 'any(.items[]; .action == "permission_denied" and .user == "s1")')" \
  "kehu audit --entity $c0 lists s1's denied customer get"
expect_server_alive
kehu_stop_server
