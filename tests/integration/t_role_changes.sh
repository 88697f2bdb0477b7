#!/usr/bin/env bash
# What changes who may see what: reassigning a customer moves its reminders
# to the new owner (and the new team's manager) and away from the old one,
# also across a restart; a reminder on a customer the caller may not read
# is refused as `customer get` refuses it; a ticket's assignee must be a
# user who may work the ticket; a new password, a role change or disabling
# ends a user's sessions, and enabling a user clears a login lock;
# `kehu-admin user list` lines up Chinese team names.
# shellcheck source=tests/integration/lib.sh disable=SC2016
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user li.lei sales east
kehu_add_user zhao.qiang sales west
kehu_add_user wang.jl manager east
kehu_add_user zhou.xi manager west
kehu_add_user wang.fang service
kehu_add_user qian.cw finance

# token-only: the saved session, never a password
kehu_token() {
  local user=$1
  shift
  XDG_CONFIG_HOME=$KEHU_TMP/users/$user timeout "$KEHU_CMD_TIMEOUT" \
    "$KEHU_BUILD/kehu" --user "$user" "$@"
}

# kinds USER CUSTOMER: sorted kinds of USER's reminders (all) about CUSTOMER
kinds() {
  expect_exit 0 kehu_as "$1" --json reminder list --all --limit 500
  out_jq --arg c "$2" '[.items[] | select(.customer_id == $c) | .kind] | unique | join(" ")'
}

# --- 4. reminders follow a reassigned customer ----------------------------------
long_ago=$(date -d '-200 days' '+%Y-%m-%d %H:%M')
birthday=$(date -d '+40 days' +%F)
birthday=1980-${birthday#*-}
expect_exit 0 kehu_as zhao.qiang --json customer add --name 易主测试西部机械有限公司
C=$(out_jq .id)
expect_exit 0 kehu_as zhao.qiang --json followup add "$C" --method visit --summary 拜访 --at "$long_ago"
expect_exit 0 kehu_as zhao.qiang --json contact add "$C" --name 周总 --birthday "$birthday"
expect_exit 0 kehu_as admin --json contract add "$C" --number HT-MOVE-1 --amount 1000 \
  --signed "$(date -d '-300 days' +%F)" --start "$(date -d '-300 days' +%F)" --end "$(date -d '+20 days' +%F)"
expect_eq "birthday contract_expiry dormant" "$(kinds zhao.qiang "$C")" "zhao.qiang's reminders before"
expect_eq "dormant" "$(kinds zhou.xi "$C")" "west manager's reminders before"
expect_eq "" "$(kinds li.lei "$C")" "li.lei's reminders before"

expect_exit 0 kehu_as admin --json customer update "$C" --owner li.lei
expect_eq "birthday contract_expiry dormant" "$(kinds li.lei "$C")" "li.lei's reminders after reassignment"
expect_eq "dormant" "$(kinds wang.jl "$C")" "east manager's reminders after reassignment"
expect_eq "" "$(kinds zhao.qiang "$C")" "zhao.qiang's reminders after reassignment"
expect_eq "" "$(kinds zhou.xi "$C")" "west manager's reminders after reassignment"
expect_eq "contract_expiry" "$(kinds qian.cw "$C")" "finance keeps the contract reminders"
# the old owner's due reminder reaches the new owner's watch at once
kehu_as li.lei --json watch >"$KEHU_TMP/watch.li" 2>/dev/null &
watch_pid=$!
for ((i = 0; i < $(kehu_scaled 40); i++)); do
  grep -q '"dormant"' "$KEHU_TMP/watch.li" 2>/dev/null && break
  sleep 0.25
done
kill -TERM "$watch_pid" 2>/dev/null || true
kehu_wait_all "$(kehu_scaled 10)" "$watch_pid"
grep -q "$C" "$KEHU_TMP/watch.li" || fail "li.lei's watch did not get the moved dormant reminder"

kehu_stop_server
kehu_start_server
expect_eq "birthday contract_expiry dormant" "$(kinds li.lei "$C")" "li.lei's reminders after a restart"
expect_eq "" "$(kinds zhao.qiang "$C")" "zhao.qiang's reminders after a restart"
expect_exit 0 kehu_admin verify "$KEHU_DATA"

# --- 5. a reminder on someone else's customer -----------------------------------
expect_exit 0 kehu_as zhao.qiang --json customer add --name 提醒权限测试西区公司
CZ=$(out_jq .id)
at=$(date -d '+2 days' '+%Y-%m-%d %H:%M')
expect_exit 4 kehu_as li.lei --json reminder add --customer "$CZ" --at "$at" --message 偷看
expect_eq PERMISSION_DENIED "$(err_jq .error.code)" "error of a reminder on another rep's customer"
expect_exit 4 kehu_as li.lei customer get "$CZ"
expect_exit 5 kehu_as li.lei reminder add --customer C20990101001 --at "$at" --message 不存在
expect_exit 0 kehu_as li.lei --json reminder add --customer "$C" --at "$at" --message 回访
expect_exit 0 kehu_as admin --json audit --limit 20
expect_eq true "$(out_jq --arg c "$CZ" 'any(.items[]; .action == "permission_denied" and .user == "li.lei")')" \
  "the refused reminder is audited"

# --- 6. a ticket's assignee -------------------------------------------------------
expect_exit 7 kehu_as admin --json ticket add "$CZ" --subject 无法开机 --assignee nobody.here
expect_eq assignee "$(err_jq .error.field)" "field of an unknown assignee"
expect_exit 7 kehu_as admin --json ticket add "$CZ" --subject 无法开机 --assignee li.lei
expect_eq assignee "$(err_jq .error.field)" "field of a sales assignee"
expect_exit 7 kehu_as admin --json ticket add "$CZ" --subject 无法开机 --assignee wang.jl
expect_eq assignee "$(err_jq .error.field)" "field of another team's manager"
kehu_add_user sv.off service
expect_exit 0 kehu_admin user disable "$KEHU_DATA" sv.off
expect_exit 7 kehu_as admin --json ticket add "$CZ" --subject 无法开机 --assignee sv.off
expect_exit 0 kehu_as admin --json ticket list "$CZ"
expect_eq 0 "$(out_jq '.items | length')" "tickets stored by refused adds"
expect_exit 0 kehu_as admin --json ticket add "$CZ" --subject 无法开机 --assignee wang.fang
TK=$(out_jq .id)
expect_exit 0 kehu_as admin --json ticket add "$CZ" --subject 西区经理跟进 --assignee zhou.xi
expect_exit 0 kehu_as wang.fang --json reminder list --all
expect_eq true "$(out_jq --arg t "$TK" 'any(.items[]; .record_id == $t and .kind == "ticket_sla")')" \
  "the assignee's ticket reminder"

# --- 7. passwords, roles, disabling end sessions; enable clears a lock ------------
expect_exit 0 kehu_as li.lei login
expect_exit 0 kehu_token li.lei whoami
printf 'a-new-password\n' | kehu_admin user passwd "$KEHU_DATA" li.lei >/dev/null ||
  fail "kehu-admin user passwd failed"
expect_exit 3 kehu_token li.lei whoami
XDG_CONFIG_HOME=$KEHU_TMP/users/li.lei KEHU_PASSWORD=a-new-password \
  expect_exit 0 timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu" --user li.lei login
expect_exit 0 kehu_token li.lei whoami

expect_exit 0 kehu_as zhao.qiang login
expect_exit 0 kehu_admin user role "$KEHU_DATA" zhao.qiang sales --team east
expect_exit 3 kehu_token zhao.qiang whoami

# 5 wrong passwords lock qian.cw; disable + enable clears the lock
login_qian() { # PASSWORD -> rc, ERR; retried while the address must wait
  local tries
  for ((tries = 0; tries < 10; tries++)); do
    rc=0
    XDG_CONFIG_HOME=$KEHU_TMP/users/qian-lock KEHU_PASSWORD=$1 timeout "$KEHU_CMD_TIMEOUT" \
      "$KEHU_BUILD/kehu" --user qian.cw login >/dev/null 2>"$KEHU_TMP/lock.err" || rc=$?
    ERR=$(cat "$KEHU_TMP/lock.err")
    [[ $rc == 3 && "$ERR" == *"failed logins from"* ]] || return 0
    sleep 0.5
  done
}
mkdir -p "$KEHU_TMP/users/qian-lock"
for ((i = 1; i <= 5; i++)); do
  login_qian "wrong-$i"
  expect_eq 3 "$rc" "exit of wrong password $i"
done
login_qian "$(kehu_password_of qian.cw)"
expect_eq 3 "$rc" "qian.cw locked after 5 wrong passwords"
expect_match locked "$ERR" "stderr while locked"
expect_exit 0 kehu_admin user disable "$KEHU_DATA" qian.cw
expect_exit 0 kehu_admin user enable "$KEHU_DATA" qian.cw
login_qian "$(kehu_password_of qian.cw)"
expect_eq 0 "$rc" "qian.cw's login after enable (stderr: $ERR)"

# --- kehu-admin user list pads by display width ------------------------------------
printf 'password-1\n' | kehu_admin user add "$KEHU_DATA" chen.wu --role sales --team 华东大区 \
  --name 陈武 >/dev/null || fail "user add chen.wu"
expect_exit 0 kehu_admin user list "$KEHU_DATA"
header_col=$(printf '%s\n' "$OUT" | head -1 | awk '{print index($0, "NAME")}')
line=$(printf '%s\n' "$OUT" | grep '^chen.wu ')
prefix=${line%%陈武*}
cols=$(printf '%s' "$prefix" | wc -m)
# 华东大区 is 4 characters but 8 columns: the NAME column starts where the header's does
cjk=$(printf '%s' "$prefix" | grep -o '[^ -~]' | wc -l)
expect_eq "$header_col" "$((cols + cjk + 1))" "column where chen.wu's name starts"
expect_server_alive
