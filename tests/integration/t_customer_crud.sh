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
