#!/usr/bin/env bash
# Issue 2: the customer round trip with the real kehu against a real kehud:
# login, add, get, list, update, stale version, validation, not found,
# delete, wrong password, JSON errors, whoami, logout.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kehu_start_server
export KEHU_USER=admin

# --- authentication -------------------------------------------------------
KEHU_PASSWORD=wrong expect_exit 3 kehu login
[[ ! -s "$XDG_CONFIG_HOME/kehu/session" ]] || fail "a failed login left a session file"

KEHU_PASSWORD=adminpass expect_exit 0 kehu login
session=$XDG_CONFIG_HOME/kehu/session
[[ -f "$session" ]] || fail "kehu login did not write $session"
mode=$(stat -c %a "$session")
expect_eq 600 "$mode" "mode of $session"
grep -q adminpass "$session" && fail "the session file contains the password"

# From here on no password: the stored token must do.
expect_exit 0 kehu whoami
expect_match 'admin' "$OUT" "whoami output"
expect_exit 0 kehu --json whoami
expect_eq admin "$(out_jq .username)" "whoami --json .username"
expect_eq admin "$(out_jq .role)" "whoami --json .role"

# --- add ------------------------------------------------------------------
expect_exit 0 kehu --json customer add --name "上海星河贸易有限公司" --short 星河 \
  --kind company --stage potential --industry 制造业 --region "上海市 浦东新区" \
  --source exhibition --tag vip --tag 华东
id=$(out_jq .id)
expect_match '^C[0-9]{8}[0-9]{3,}$' "$id" "customer id"
expect_eq "上海星河贸易有限公司" "$(out_jq .name)" "added .name"
expect_eq potential "$(out_jq .stage)" "added .stage"
expect_eq 1 "$(out_jq .version)" "added .version"
expect_eq "vip,华东" "$(out_jq '.tags | sort | join(",")')" "added .tags"
expect_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$(out_jq .created_at)" "added .created_at (ISO 8601)"
# The id's date is today's (UTC or local, allow both).
day=${id:1:8}
[[ "$day" == "$(date -u +%Y%m%d)" || "$day" == "$(date +%Y%m%d)" ]] ||
  fail "id $id does not carry today's date"

# A second customer gets a different id, same day, next sequence.
expect_exit 0 kehu --json customer add --name "Beijing Lanshan Technology Co., Ltd." --stage 意向
id2=$(out_jq .id)
expect_match '^C[0-9]{8}[0-9]{3,}$' "$id2" "second customer id"
[[ "$id2" != "$id" ]] || fail "two customers got the same id $id"
expect_eq intent "$(out_jq .stage)" "stage given in Chinese (意向) is stored as"

# --- get ------------------------------------------------------------------
expect_exit 0 kehu --json customer get "$id"
expect_eq "$id" "$(out_jq .id)" "get .id"
expect_eq "上海星河贸易有限公司" "$(out_jq .name)" "get .name"
expect_eq "星河" "$(out_jq .short_name)" "get .short_name"
expect_eq company "$(out_jq .kind)" "get .kind"
expect_eq "制造业" "$(out_jq .industry)" "get .industry"
expect_eq "上海市 浦东新区" "$(out_jq .region)" "get .region"
expect_exit 0 kehu customer get "$id"
expect_match "上海星河贸易有限公司" "$OUT" "human get output"

# --- list -----------------------------------------------------------------
expect_exit 0 kehu --json customer list
expect_eq true "$(out_jq --arg id "$id" 'any(.items[]; .id == $id)')" "list --json contains $id"
expect_eq true "$(out_jq --arg id "$id2" 'any(.items[]; .id == $id)')" "list --json contains $id2"
expect_eq true "$(out_jq 'has("next_cursor")')" "list --json has next_cursor"
expect_exit 0 kehu customer list
expect_match "$id" "$OUT" "human list output"
expect_exit 0 kehu --json customer list --stage intent
expect_eq "$id2" "$(out_jq '[.items[].id] | join(" ")')" "list --stage intent"

# --- update ---------------------------------------------------------------
expect_exit 0 kehu --json customer update "$id" --version 1 --stage intent --region 北京市
expect_eq 2 "$(out_jq .version)" "updated .version"
expect_eq intent "$(out_jq .stage)" "updated .stage"
expect_eq "北京市" "$(out_jq .region)" "updated .region"
expect_eq "上海星河贸易有限公司" "$(out_jq .name)" "name after an update that did not touch it"
expect_exit 0 kehu --json customer get "$id"
expect_eq 2 "$(out_jq .version)" "version read back after update"
expect_eq "北京市" "$(out_jq .region)" "region read back after update"
expect_eq "制造业" "$(out_jq .industry)" "industry read back after update"

# A stale version is a conflict, and nothing changes.
expect_exit 6 kehu customer update "$id" --version 1 --name "过期的名字"
expect_exit 6 kehu --json customer update "$id" --version 1 --name "过期的名字"
expect_eq "" "$OUT" "stdout of a failed --json command"
expect_eq CONFLICT "$(err_jq .error.code)" "--json error code for a stale version"
expect_exit 0 kehu --json customer get "$id"
expect_eq "上海星河贸易有限公司" "$(out_jq .name)" "name after a refused update"
expect_eq 2 "$(out_jq .version)" "version after a refused update"

# A stage change to the stage it is in changes nothing: exit 0 with the
# record as it is (version not moved) and no audit entry; a real change
# moves the version and writes one.
audit_entries() {
  expect_exit 0 kehu --json audit --entity "$id" --limit 500
  out_jq '.items | length'
}
entries=$(audit_entries)
expect_exit 0 kehu --json customer stage "$id" intent --reason "还是意向"
expect_eq 2 "$(out_jq .version)" ".version after customer stage to the same stage"
expect_eq intent "$(out_jq .stage)" ".stage after customer stage to the same stage"
expect_exit 0 kehu customer stage "$id" 意向
expect_eq "$entries" "$(audit_entries)" "audit entries of $id after two stage changes to its own stage"
expect_exit 0 kehu --json customer get "$id"
expect_eq 2 "$(out_jq .version)" "version read back after stage changes to its own stage"
expect_eq 1 "$(out_jq '.stage_history | length')" "stage history after stage changes to its own stage"
expect_exit 0 kehu --json customer update "$id" --region 北京市 --stage intent
expect_eq 2 "$(out_jq .version)" ".version after an update repeating the values"
expect_eq "$entries" "$(audit_entries)" "audit entries of $id after an update repeating the values"
expect_exit 0 kehu --json customer stage "$id" closed
expect_eq 3 "$(out_jq .version)" ".version after a real stage change"
expect_eq $((entries + 1)) "$(audit_entries)" "audit entries of $id after a real stage change"
expect_exit 0 kehu --json audit --entity "$id" --limit 1
expect_match "stage: 'intent' -> 'closed'" "$(out_jq '.items[0].details')" "audit details of the stage change"
expect_exit 0 kehu customer stage "$id" intent
expect_eq $((entries + 2)) "$(audit_entries)" "audit entries of $id after changing the stage back"

# --- validation: exit 7, the message names the field ----------------------
expect_exit 7 kehu customer add --name ''
expect_match 'name' "$ERR" "stderr of add --name ''"
expect_exit 7 kehu customer add --name '   '
expect_match 'name' "$ERR" "stderr of add --name '   '"
expect_exit 7 kehu --json customer add --name ''
expect_eq "" "$OUT" "stdout of a failed --json command"
expect_eq INVALID_ARGUMENT "$(err_jq .error.code)" "--json error code for an empty name"
expect_exit 7 kehu customer add --name "Bogus Stage Ltd" --stage bogus
expect_match 'stage' "$ERR" "stderr of add --stage bogus"
expect_exit 7 kehu customer add --name "Bogus Kind Ltd" --kind robot
expect_match 'kind' "$ERR" "stderr of add --kind robot"
expect_exit 7 kehu customer update "$id" --stage bogus
expect_match 'stage' "$ERR" "stderr of update --stage bogus"
expect_exit 7 kehu customer add --name "$(printf 'Line one\nLine two')"
expect_match 'name' "$ERR" "stderr of a name with a newline"
expect_exit 7 kehu customer add --name "$(printf '%0201d' 0)"
expect_match 'name' "$ERR" "stderr of a 201-character name"
# None of the refused adds was stored.
expect_exit 0 kehu --json customer list
expect_eq 2 "$(out_jq '.items | length')" "customers after refused adds"

# --- not found ------------------------------------------------------------
expect_exit 5 kehu customer get C20990101001
expect_exit 5 kehu --json customer get C20990101001
expect_eq "" "$OUT" "stdout of a failed --json command"
expect_eq NOT_FOUND "$(err_jq .error.code)" "--json error code for an unknown id"
expect_match '.' "$(err_jq .error.message)" "--json error message"
expect_exit 5 kehu customer update C20990101001 --name "Nobody"

# --- usage errors ---------------------------------------------------------
expect_exit 2 kehu customer frobnicate
expect_exit 2 kehu customer get
# A required flag left out is a usage error (2, not 7), the message names
# the flag, and the client finds it before sending anything: with no server
# to reach it still answers 2, not 8.
required_flag_case() { # FLAG ARGS...
  local flag=$1
  shift
  expect_exit 2 kehu "$@"
  expect_match "missing --$flag" "$ERR" "stderr of kehu $* (no --$flag)"
  KEHU_SERVER=127.0.0.1:1 expect_exit 2 kehu "$@"
  expect_exit 2 kehu --json "$@"
  expect_match "--$flag" "$(err_jq .error.message)" "--json message of kehu $* (no --$flag)"
}
required_flag_case name customer add --stage potential
required_flag_case name contact add "$id" --title 经理
required_flag_case method followup add "$id" --summary 电话沟通
required_flag_case summary followup add "$id" --method phone
required_flag_case kind need add "$id" --description 需求
required_flag_case description need add "$id" --kind service
required_flag_case number contract add "$id" --amount 10 --signed 2024-01-01 --start 2024-01-01 --end 2024-12-31
required_flag_case amount contract add "$id" --number HT-X --signed 2024-01-01 --start 2024-01-01 --end 2024-12-31
required_flag_case signed contract add "$id" --number HT-X --amount 10 --start 2024-01-01 --end 2024-12-31
required_flag_case start contract add "$id" --number HT-X --amount 10 --signed 2024-01-01 --end 2024-12-31
required_flag_case end contract add "$id" --number HT-X --amount 10 --signed 2024-01-01 --start 2024-01-01
required_flag_case amount order add "$id" --product 服务器
required_flag_case subject ticket add "$id" --description 无法登录
required_flag_case at reminder add --message 回电话
required_flag_case message reminder add --at "2099-01-01 09:00"
# Given but empty is a value that fails validation: 7.
expect_exit 7 kehu contact add "$id" --name ''
expect_exit 7 kehu ticket add "$id" --subject ''
# None of them was stored.
for kind in contact followup need contract order ticket; do
  [[ $kind == need ]] && continue   # `need list` is not built
  expect_exit 0 kehu --json "$kind" list "$id"
  expect_eq 0 "$(out_jq '.items | length')" "${kind}s of $id after refused adds"
done

# --- delete ---------------------------------------------------------------
expect_exit 0 kehu customer delete "$id2"
expect_exit 5 kehu customer get "$id2"
expect_exit 0 kehu --json customer list
expect_eq "$id" "$(out_jq '[.items[].id] | join(" ")')" "list after deleting $id2"
expect_exit 0 kehu customer get "$id"

# --- logout ---------------------------------------------------------------
expect_exit 0 kehu logout
expect_exit 3 kehu customer list
expect_exit 3 kehu whoami
# With a password in the environment a command logs in by itself.
KEHU_PASSWORD=adminpass expect_exit 0 kehu customer list
expect_match "$id" "$OUT" "list after logging in again"
expect_exit 0 kehu whoami

# Another user with a wrong password, then the right one.
kehu_add_user rep1 sales
expect_exit 0 kehu_as rep1 whoami
expect_match 'rep1' "$OUT" "whoami as rep1"
KEHU_PASSWORD=rep1-wrong expect_exit 3 kehu --user rep1 login

expect_server_alive
kehu_stop_server
