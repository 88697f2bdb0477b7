#!/usr/bin/env bash
# Issue 4: the permission matrix of docs/architecture.md#roles-and-permissions through the real kehu, one line
# per case (user, expected exit, command). Users: admin; manager m1 (team
# east); sales s1 and s3 (east) and s2 (west); service sv1; finance f1.
# Then what the lists show each role, amounts hidden from service, and every
# denial in the audit log.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user m1 manager east
kehu_add_user s1 sales east
kehu_add_user s3 sales east
kehu_add_user s2 sales west
kehu_add_user sv1 service
kehu_add_user f1 finance

# --- the records --------------------------------------------------------------
id_of() { out_jq .id; }
expect_exit 0 kehu_as admin --json customer add --name 管理员自己的客户
C0=$(id_of)
# s1's customers (team east): C1 with one of everything, and spares.
expect_exit 0 kehu_as s1 --json customer add --name 东区销售一号客户
C1=$(id_of)
expect_exit 0 kehu_as s1 --json customer add --name 东区待转交客户
C1b=$(id_of)
expect_exit 0 kehu_as s1 --json customer add --name 东区不可转出客户
C1c=$(id_of)
expect_exit 0 kehu_as s1 --json customer add --name 东区自删客户
C1d=$(id_of)
expect_exit 0 kehu_as s1 --json customer add --name 东区经理删除客户
C1e=$(id_of)
expect_exit 0 kehu_as s1 --json contact add "$C1" --name 一号联系人 --phone 13811110001 --email one@east.example.com
CT1=$(id_of)
expect_exit 0 kehu_as s1 --json followup add "$C1" --method phone --summary 一号跟进
expect_exit 0 kehu_as s1 --json need add "$C1" --kind product --description 一号需求 --budget 7777.77
expect_exit 0 kehu_as s1 --json contract add "$C1" --number EAST-1 --amount 11111.11 \
  --signed 2024-01-01 --start 2024-01-01 --end 2025-01-01
HT1=$(id_of)
expect_exit 0 kehu_as s1 --json order add "$C1" --amount 222.22
expect_exit 0 kehu_as admin --json ticket add "$C1" --subject 一号工单
TK1=$(id_of)
# s2's customer (team west).
expect_exit 0 kehu_as s2 --json customer add --name 西区销售二号客户
C2=$(id_of)
expect_exit 0 kehu_as s2 --json contact add "$C2" --name 二号联系人 --phone 13822220002
CT2=$(id_of)
expect_exit 0 kehu_as s2 --json followup add "$C2" --method visit --summary 二号跟进
expect_exit 0 kehu_as s2 --json need add "$C2" --kind service --description 二号需求 --budget 8888
expect_exit 0 kehu_as s2 --json contract add "$C2" --number WEST-1 --amount 33333.33 \
  --signed 2024-01-01 --start 2024-01-01 --end 2025-01-01
HT2=$(id_of)
expect_exit 0 kehu_as s2 --json order add "$C2" --amount 444.44
expect_exit 0 kehu_as admin --json ticket add "$C2" --subject 二号工单
TK2=$(id_of)
printf 'attachment\n' >"$KEHU_TMP/file.txt"
expect_exit 0 kehu_as s2 --json attach add "$C2" "$KEHU_TMP/file.txt"
AT2=$(id_of)
expect_exit 0 kehu_as admin --json customer add --name 管理员待清除客户
CP=$(id_of)

F=$KEHU_TMP/file.txt
D="--signed 2024-01-01 --start 2024-01-01 --end 2025-01-01"

# --- the matrix -----------------------------------------------------------------
# user  expected-exit  command (no quoting: arguments split on spaces; "!0"
# means any failure except a hang)
matrix=$(cat <<EOF
admin 0 customer get $C1
admin 0 customer get $C2
admin 0 customer update $C2 --region 华南
admin 0 customer stage $C2 intent
admin 0 contact list $C2
admin 0 followup list $C2
admin 0 contract list $C2
admin 0 order list $C2
admin 0 contract add $C2 --number ADM-1 --amount 1 $D
admin 0 ticket update $TK2 --status in_progress
admin 0 attach list $C2
admin 0 attach get $AT2 -o $KEHU_TMP/admin.out
admin 0 customer list --deleted
admin 0 field define customer grade --type text
admin 0 audit --limit 5
admin 0 customer purge $CP

m1 0 customer get $C1
m1 4 customer get $C2
m1 4 customer get $C0
m1 0 customer update $C1 --industry 制造业
m1 4 customer update $C2 --industry 制造业
m1 0 customer stage $C1 intent --reason 经理推进
m1 4 customer stage $C2 intent
m1 0 customer update $C1b --owner s3
m1 4 customer update $C1c --owner s2
m1 4 customer add --name 经理跨组新建 --owner s2
m1 0 customer delete $C1e
m1 4 customer delete $C2
m1 0 contact list $C1
m1 4 contact list $C2
m1 0 contact add $C1 --name 经理加的联系人
m1 0 followup list $C1
m1 0 followup add $C1 --method meeting --summary 经理会谈
m1 4 followup add $C2 --method meeting --summary 经理会谈
m1 0 contract list $C1
m1 4 contract list $C2
m1 0 order list $C1
m1 4 order list $C2
m1 4 contract add $C1 --number MGR-1 --amount 1 $D
m1 4 contract update $HT1 --status fulfilled
m1 4 order add $C1 --amount 1
m1 0 ticket list $C1
m1 4 ticket list $C2
m1 4 attach list $C2
m1 4 field define customer mgr_field --type text
m1 4 customer purge $C1
m1 4 audit

s1 0 customer get $C1
s1 4 customer get $C2
s1 4 customer get $C0
s1 0 customer update $C1 --address 杭州市西湖区
s1 4 customer update $C1c --owner s3
s1 4 customer add --name 替人新建客户 --owner s2
s1 4 customer update $C2 --address 杭州市西湖区
s1 4 customer stage $C2 intent
s1 0 customer delete $C1d
s1 4 customer delete $C2

s1 0 contact list $C1
s1 4 contact list $C2
s1 4 contact add $C2 --name 越权联系人
s1 4 contact update $CT2 --title 越权
s1 4 followup list $C2
s1 4 followup add $C2 --method phone --summary 越权跟进
s1 4 need list $C2
s1 0 contract list $C1
s1 4 contract list $C2
s1 0 contract add $C1 --number EAST-2 --amount 5 $D
s1 4 contract add $C2 --number EAST-3 --amount 5 $D
s1 4 contract update $HT2 --status fulfilled
s1 0 order list $C1
s1 4 order list $C2
s1 0 order add $C1 --amount 5
s1 4 order add $C2 --amount 5
s1 0 ticket list $C1
s1 4 ticket list $C2
s1 4 ticket add $C1 --subject 销售开工单
s1 4 ticket update $TK1 --status closed
s1 4 attach list $C2
s1 4 attach get $AT2 -o $KEHU_TMP/s1.out
s1 4 customer merge $C1 $C2
s1 4 field define customer s1_field --type text
s1 4 customer purge $C1
s1 4 audit

s2 0 customer get $C2
s2 4 customer get $C1
s2 4 contract list $C1
s2 !0 customer restore $C1e

s3 0 customer get $C1b
s1 4 customer get $C1b

sv1 0 customer get $C1
sv1 0 customer get $C2
sv1 0 customer get $C0
sv1 0 contact list $C1
sv1 0 contact list $C2
sv1 0 followup list $C2
sv1 0 followup add $C2 --method phone --summary 售后回访
sv1 0 ticket add $C2 --subject 售后工单
sv1 0 ticket list $C1
sv1 0 ticket update $TK1 --status in_progress
sv1 4 contract list $C1
sv1 4 contract list $C2
sv1 4 order list $C1
sv1 4 contract add $C1 --number SVC-1 --amount 1 $D
sv1 4 order add $C1 --amount 1
sv1 4 customer add --name 客服新建客户
sv1 4 customer update $C1 --region 客服改
sv1 4 customer stage $C1 lost
sv1 4 customer delete $C1
sv1 4 contact add $C1 --name 客服加联系人
sv1 4 contact update $CT1 --title 客服改
sv1 4 field define customer sv_field --type text
sv1 4 customer purge $C1
sv1 4 audit

f1 0 customer get $C1
f1 0 customer get $C2
f1 0 contact list $C1
f1 0 followup list $C1
f1 0 contract list $C1
f1 0 contract list $C2
f1 0 contract list
f1 0 order list $C1
f1 0 order list $C2
f1 0 ticket list $C1
f1 4 customer add --name 财务新建客户
f1 4 customer update $C1 --region 财务改
f1 4 customer stage $C1 lost
f1 4 customer delete $C1
f1 4 contact add $C1 --name 财务加联系人
f1 4 contact update $CT1 --title 财务改
f1 4 followup add $C1 --method phone --summary 财务跟进
f1 4 need add $C1 --kind product --description 财务需求
f1 4 contract add $C1 --number FIN-1 --amount 1 $D
f1 4 contract update $HT1 --status fulfilled
f1 4 order add $C1 --amount 1
f1 4 ticket add $C1 --subject 财务工单
f1 4 ticket update $TK1 --status closed
f1 4 attach add $C1 $F
f1 4 field define customer fin_field --type text
f1 4 customer purge $C1
f1 4 audit
EOF
)

cases=0 failures=0 denials=0
declare -A per_user=()
report=$KEHU_TMP/matrix.failures
: >"$report"
while read -r user want rest; do
  [[ -n "$user" && "$user" != \#* ]] || continue
  read -ra args <<<"$rest"
  cases=$((cases + 1))
  [[ "$want" == 4 ]] && denials=$((denials + 1))
  rc=0
  kehu_as "$user" --json "${args[@]}" >"$KEHU_TMP/case.out" 2>"$KEHU_TMP/case.err" || rc=$?
  good=0
  if [[ "$want" == '!0' ]]; then
    ((rc != 0 && rc != 124)) && good=1
  elif [[ "$rc" == "$want" ]]; then
    good=1
  fi
  per_user[$user]="${per_user[$user]:-} $((1 - good))"
  if ((good == 0)); then
    failures=$((failures + 1))
    printf '  %-5s kehu %s: expected exit %s, got %s: %s\n' "$user" "${args[*]}" "$want" "$rc" \
      "$(tr -d '\0' <"$KEHU_TMP/case.err" | head -c 240)" >>"$report"
  elif [[ "$want" == 4 ]] && ! grep -q PERMISSION_DENIED "$KEHU_TMP/case.err"; then
    failures=$((failures + 1))
    printf '  %-5s kehu %s: exit 4 without PERMISSION_DENIED on stderr: %s\n' "$user" "${args[*]}" \
      "$(head -c 240 "$KEHU_TMP/case.err")" >>"$report"
  fi
done <<<"$matrix"
summary=""
for user in admin m1 s1 s2 s3 sv1 f1; do
  [[ -n "${per_user[$user]:-}" ]] || continue
  n=0 bad=0
  for x in ${per_user[$user]}; do n=$((n + 1)) bad=$((bad + x)); done
  summary+=" $user $((n - bad))/$n"
done
note "permission matrix: $cases cases, $failures failed;$summary (passed/cases per user)"
((failures == 0)) || fail "$failures of $cases permission cases failed:
$(cat "$report")"

# --- what the lists show ------------------------------------------------------------
ids_of() { out_jq '[.items[].id] | join(" ")'; }
expect_exit 0 kehu_as s1 --json customer list --limit 500
s1_list=$(ids_of)
[[ " $s1_list " == *" $C1 "* ]] || fail "s1's customer list lacks s1's $C1: $s1_list"
[[ " $s1_list " != *" $C2 "* ]] || fail "s1's customer list shows s2's $C2"
[[ " $s1_list " != *" $C0 "* ]] || fail "s1's customer list shows the admin's $C0"
[[ " $s1_list " != *" $C1b "* ]] || fail "s1's customer list shows $C1b, reassigned to s3"
expect_exit 0 kehu_as s1 --json customer list --owner s2
expect_eq "" "$(ids_of)" "s1's customer list --owner s2"
expect_exit 0 kehu_as s1 --json customer list --deleted
# The owner sees its binned customers, whoever binned them.
[[ " $(ids_of) " == *" $C1d "* ]] || fail "s1's customer list --deleted lacks $C1d (binned by s1)"
[[ " $(ids_of) " == *" $C1e "* ]] || fail "s1's customer list --deleted lacks $C1e (s1's, binned by m1)"
expect_exit 0 kehu_as s2 --json customer list --deleted
[[ " $(ids_of) " != *" $C1d "* ]] || fail "s2's customer list --deleted shows s1's $C1d"
expect_exit 0 kehu_as s1 --json contract list --limit 500
[[ " $(ids_of) " == *" $HT1 "* ]] || fail "s1's contract list lacks $HT1"
[[ " $(ids_of) " != *" $HT2 "* ]] || fail "s1's contract list shows s2's contract $HT2"
expect_exit 0 kehu_as s1 --json ticket list --limit 500
expect_eq "" "$(out_jq --arg c "$C2" '[.items[] | select(.customer_id == $c) | .id] | join(" ")')" \
  "s2's tickets in s1's ticket list"

expect_exit 0 kehu_as s2 --json customer list --limit 500
[[ " $(ids_of) " == *" $C2 "* ]] || fail "s2's customer list lacks $C2"
[[ " $(ids_of) " != *" $C1 "* ]] || fail "s2's customer list shows s1's $C1"

expect_exit 0 kehu_as m1 --json customer list --limit 500
m1_list=$(ids_of)
[[ " $m1_list " == *" $C1 "* ]] || fail "m1 (east) does not see s1's (east) $C1: $m1_list"
[[ " $m1_list " == *" $C1b "* ]] || fail "m1 (east) does not see s3's (east) $C1b: $m1_list"
[[ " $m1_list " != *" $C2 "* ]] || fail "m1 (east) sees s2's (west) $C2"
expect_exit 0 kehu_as m1 --json contract list --limit 500
[[ " $(ids_of) " != *" $HT2 "* ]] || fail "m1 (east) sees the west contract $HT2"

expect_exit 0 kehu_as sv1 --json customer list --limit 500
[[ " $(ids_of) " == *" $C1 "* && " $(ids_of) " == *" $C2 "* ]] ||
  fail "service does not see every customer: $(ids_of)"
expect_exit 0 kehu_as f1 --json contract list --limit 500
[[ " $(ids_of) " == *" $HT1 "* && " $(ids_of) " == *" $HT2 "* ]] ||
  fail "finance does not see every contract: $(ids_of)"
expect_exit 0 kehu_as f1 --json contract list "$C1"
expect_eq 11111.11 "$(out_jq --arg id "$HT1" '.items[] | select(.id == $id) | .amount')" \
  "finance reads the contract amount"

# The reassignment took: s3 owns C1b now.
expect_exit 0 kehu_as admin --json customer get "$C1b"
expect_eq s3 "$(out_jq .owner)" "owner of $C1b after the manager reassigned it"
expect_exit 0 kehu_as admin --json customer get "$C1c"
expect_eq s1 "$(out_jq .owner)" "owner of $C1c after a refused reassignment to another team"

# Nothing the refused commands tried was stored.
expect_exit 0 kehu_as admin --json customer get "$C2"
expect_eq 华南 "$(out_jq .region)" "region of $C2 (only the admin changed it)"
expect_exit 0 kehu_as admin --json customer get "$C1"
expect_eq 杭州市西湖区 "$(out_jq .address)" "address of $C1"
expect_eq 制造业 "$(out_jq .industry)" "industry of $C1"
expect_exit 0 kehu_as admin --json contact list "$C2"
expect_eq 1 "$(out_jq '.items | length')" "contacts of $C2 after refused adds"
expect_exit 0 kehu_as admin --json customer list --limit 500
[[ "$(out_jq '[.items[].name] | join(",")')" != *新建客户* ]] || fail "a refused customer add was stored"
expect_exit 0 kehu_as admin --json ticket list "$C1"
expect_eq in_progress "$(out_jq --arg id "$TK1" '.items[] | select(.id == $id) | .status')" \
  "status of $TK1 (only service changed it)"

# Every denial is audited.
expect_exit 0 kehu_admin audit export "$KEHU_DATA" --format json
logged=$(out_jq '[.[] | select(.action == "permission_denied")] | length')
((logged >= denials)) || fail "$logged permission_denied audit entries for $denials denied commands"
for user in m1 s1 sv1 f1; do
  expect_eq true "$(out_jq --arg u "$user" 'any(.[]; .action == "permission_denied" and .user == $u)')" \
    "a permission_denied audit entry for $user"
done

# Last, since it checks a rule the product may still be missing.
# Amounts are never sent to service: budgets of needs are absent (or the
# list is refused altogether).
rc=0
kehu_as sv1 --json need list "$C1" >"$KEHU_TMP/need.out" 2>"$KEHU_TMP/need.err" || rc=$?
if ((rc == 0)); then
  OUT=$(cat "$KEHU_TMP/need.out")
  expect_eq 1 "$(out_jq '.items | length')" "needs service sees"
  expect_eq "" "$(out_jq '[.items[] | .budget // empty] | join(" ")')" "need budgets service receives"
  grep -q '7777' "$KEHU_TMP/need.out" && fail "service received the budget 7777.77: $OUT"
else
  expect_eq 4 "$rc" "exit of service's need list (0 with budgets hidden, or 4)"
fi
expect_exit 0 kehu_as sv1 --json customer get "$C1"
grep -qE '11111|222\.22|7777' <<<"$OUT" && fail "service's customer get carries an amount: $OUT"

expect_server_alive
kehu_stop_server
