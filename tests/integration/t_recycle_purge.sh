#!/usr/bin/env bash
# The recycle bin empties itself ([recycle_bin] days, default 30;
# docs/architecture.md#reminders): a customer deleted more than 30 days ago
# is purged by kehud with its contacts, found by nothing, and the purge is
# in the audit log as done by kehud; one restored in time, one deleted
# later and a live one stay. A merged-away customer is binned the same way.
# A days value outside 1-3650 refuses the config.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"

kehu_expect_config_refused recycle_bin days 0
kehu_conf_set recycle_bin days 30

kehu_start_server
kehu_add_user s1 sales east

add() {
  expect_exit 0 kehu_as s1 --json customer add --name "$1"
  out_jq -r .id
}
gone=$(add 回收站到期测试甲有限公司)
expect_exit 0 kehu_as s1 contact add "$gone" --name 王五 --phone 13911112222
restored=$(add 回收站到期测试乙有限公司)
live=$(add 回收站到期测试丙有限公司)
merged=$(add 回收站到期测试丁有限公司)
expect_exit 0 kehu_as s1 customer delete "$gone"
expect_exit 0 kehu_as s1 customer delete "$restored"
expect_exit 0 kehu_as s1 customer restore "$restored"
expect_exit 0 kehu_as admin customer merge "$live" "$merged"

# 31 days later
kehu_stop_server
shift_server_clock '+31 days'
kehu_start_server
late=$(add 回收站到期测试戊有限公司)
expect_exit 0 kehu_as s1 customer delete "$late"

# the scheduler purges what is due at start-up: wait (bounded) for it
limit=$(kehu_scaled 20)
for ((i = 0; i < limit * 10; i++)); do
  kehu_as admin customer get "$gone" >/dev/null 2>&1 || break
  sleep 0.1
done
expect_exit 5 kehu_as admin customer get "$gone"
expect_exit 5 kehu_as admin customer get "$merged"
expect_exit 0 kehu_as admin --json customer list --deleted
expect_eq "$late" "$(out_jq -r '[.items[].id] | join(" ")')" "the recycle bin after 31 days"
expect_exit 0 kehu_as admin --json customer search 13911112222
expect_eq 0 "$(out_jq '.items | length')" "the purged customer's contact by phone"
expect_exit 0 kehu_as admin --json customer search 回收站到期测试
expect_eq "$restored $live" "$(out_jq -r '[.items[].id] | sort | join(" ")')" "customers left"

expect_exit 0 kehu_as admin --json audit --limit 100
expect_eq 2 "$(out_jq '[.items[] | select(.action == "purge" and .user == "kehud")] | length')" \
  "purges by kehud in the audit log"
expect_match '^in the recycle bin since [0-9-]+, kept 30 days$' \
  "$(out_jq -r --arg id "$gone" '.items[] | select(.action == "purge" and .entity_id == $id) | .details')" \
  "the purge's audit entry"

kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
