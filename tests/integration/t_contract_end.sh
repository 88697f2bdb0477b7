#!/usr/bin/env bash
# A contract whose ends_on has passed becomes `expired` by itself — at local
# midnight after its last day, whether or not anyone touches it, across a
# restart — and the change is in the audit log as done by kehud. A contract
# still running stays active.
# shellcheck source=tests/integration/lib.sh disable=SC2016
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user li.lei sales east

expect_exit 0 kehu_as li.lei --json customer add --name 合同到期测试有限公司
C=$(out_jq .id)
start=$(date -d '-400 days' +%F)
# ended yesterday: expired at once
expect_exit 0 kehu_as li.lei --json contract add "$C" --number HT-END-1 --amount 5000 \
  --signed "$start" --start "$start" --end "$(date -d '-1 day' +%F)"
ended=$(out_jq .id)
# ends today: still active until midnight; in 30 days: active
expect_exit 0 kehu_as li.lei --json contract add "$C" --number HT-END-2 --amount 5000 \
  --signed "$start" --start "$start" --end "$(date +%F)"
today=$(out_jq .id)
expect_exit 0 kehu_as li.lei --json contract add "$C" --number HT-END-3 --amount 5000 \
  --signed "$start" --start "$start" --end "$(date -d '+30 days' +%F)"
running=$(out_jq .id)

status_of() { # contract id -> status
  expect_exit 0 kehu_as li.lei --json contract list "$C"
  out_jq --arg id "$1" '.items[] | select(.id == $id) | .status'
}
for ((i = 0; i < $(kehu_scaled 40); i++)); do
  [[ $(status_of "$ended") == expired ]] && break
  sleep 0.25
done
expect_eq expired "$(status_of "$ended")" "status of a contract that ended yesterday"
expect_eq active "$(status_of "$today")" "status of a contract that ends today"
expect_eq active "$(status_of "$running")" "status of a contract that ends in 30 days"
expect_exit 0 kehu_as li.lei --json contract list "$C"
expect_eq 2 "$(out_jq --arg id "$ended" '.items[] | select(.id == $id) | .version')" \
  "version of the expired contract"
expect_exit 0 kehu_as admin --json audit --entity "$ended"
expect_eq kehud "$(out_jq '[.items[] | select(.action == "update")][0].user')" "who expired it"
expect_match 'active -> expired' "$(out_jq '[.items[] | select(.action == "update")][0].details')" \
  "audit details of the expiry"

# Two days later (the server's clock moved on, nobody touched anything):
# the one that ended today has expired too; the running one has not.
kehu_stop_server
KEHU_CLOCK_OFFSET=$((2 * 86400)) kehu_start_server
for ((i = 0; i < $(kehu_scaled 40); i++)); do
  [[ $(status_of "$today") == expired ]] && break
  sleep 0.25
done
expect_eq expired "$(status_of "$today")" "status two days after its last day"
expect_eq active "$(status_of "$running")" "status of the running contract two days on"
kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"

# remind_hour is a local hour: 0 (midnight) is one, 24 is not.
kehu_conf_set reminders remind_hour 24
code=0
timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehud" --data "$KEHU_DATA" --listen 127.0.0.1:0 \
  >"$KEHU_TMP/bad.out" 2>&1 || code=$?
expect_eq 7 "$code" "kehud's exit with remind_hour = 24"
grep -q 'remind_hour' "$KEHU_TMP/bad.out" || fail "the refusal does not name remind_hour: $(cat "$KEHU_TMP/bad.out")"
kehu_conf_set reminders remind_hour 0
kehu_start_server
expect_server_alive
