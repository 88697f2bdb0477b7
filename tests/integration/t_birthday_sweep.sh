#!/usr/bin/env bash
# Birthday reminders come from the birthday index (docs/architecture.md#reminders,
# docs/storage.md#birthdays): a contact whose birthday is 100 days away has
# no reminder waiting; the sweep raises it ahead of the day and it falls
# due at remind_hour on the day, pushed to the customer's owner, once (a
# restart raises no second), and again the next year. A deleted contact
# and a binned customer's contact get none (restored, it gets its own), and
# verify passes. The clock
# moves with KEHU_CLOCK_OFFSET (lib_reminders.sh).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_init_data
kehu_conf_set recycle_bin days 1000   # the binned customer outlives the test's clock
kehu_add_user rep1 sales east
kehu_start_server

day=$(date -d '+100 days' +%F)                 # the birthday, 100 days on
next_day=$(date -d "$day +1 year" +%F)         # and the year after
born=1985-${day#*-}
[[ "$born" == 1985-02-29 ]] && born=1984-02-29 # (a leap year's 29th)
expect_exit 0 kehu_as rep1 --json customer add --name 生日测试甲有限公司
A=$(out_jq -r .id)
expect_exit 0 kehu_as rep1 --json contact add "$A" --name 周生日 --birthday "$born"
P=$(out_jq -r .id)
expect_exit 0 kehu_as rep1 --json contact add "$A" --name 吴已删 --birthday "$born"
GONE=$(out_jq -r .id)
expect_exit 0 kehu_as rep1 --json customer add --name 生日测试乙有限公司
B=$(out_jq -r .id)
expect_exit 0 kehu_as rep1 --json contact add "$B" --name 郑回收 --birthday "$born"
BINNED=$(out_jq -r .id)

# birthdays RECORD: rep1's birthday reminders about RECORD (all states)
birthdays() {
  expect_exit 0 kehu_as rep1 --json reminder list --all --limit 500
  out_jq --arg r "$1" '[.items[] | select(.record_id == $r and .kind == "birthday")] | length'
}
expect_eq 0 "$(birthdays "$P")" "a birthday 100 days away has no reminder waiting"
expect_exit 0 kehu_as rep1 contact delete "$GONE"
expect_exit 0 kehu_as rep1 customer delete "$B"
expect_exit 0 kehu_admin verify "$KEHU_DATA"
kehu_stop_server

# --- on the day, just after remind_hour (9:00) ------------------------------
shift_server_clock "$day 09:00:30"
kehu_start_server
expect_exit 0 kehu_as rep1 login
watch_start_unchecked rep1 rep
watch_wait rep "(.reminder.kind == \"birthday\") and .reminder.record_id == \"$P\"" 10 ||
  fail "no birthday reminder pushed for $P on $day within $(kehu_scaled 10) s"
expect_eq "$(date -u -d "$day 09:00" +%FT%H:%M)" "$(ev_jq .reminder.due_at | cut -c1-16)" \
  "the birthday reminder falls due at remind_hour on the day"
expect_eq "$A" "$(ev_jq .reminder.customer_id)" "the birthday reminder's customer"
expect_match '周生日' "$(ev_jq .reminder.message)" "the birthday reminder's message"
watch_stop rep
expect_eq 1 "$(birthdays "$P")" "one birthday reminder on the day"
expect_eq 0 "$(birthdays "$GONE")" "none for a deleted contact"
expect_eq 0 "$(birthdays "$BINNED")" "none for a binned customer's contact"
# restored on the day, its contact's birthday (passed by the sweep) comes
expect_exit 0 kehu_as rep1 customer restore "$B"
expect_eq 1 "$(birthdays "$BINNED")" "a restored customer's contact gets today's birthday"
expect_exit 0 kehu_admin verify "$KEHU_DATA"

# --- a restart raises no second ---------------------------------------------
kehu_stop_server
kehu_start_server
sleep 0.5
expect_eq 1 "$(birthdays "$P")" "still one birthday reminder after a restart"

# --- the next year it comes again -------------------------------------------
kehu_stop_server
shift_server_clock "$next_day 09:00:30"
kehu_start_server
for ((i = 0; i < $(kehu_scaled 10) * 10; i++)); do
  [[ "$(birthdays "$P")" == 2 ]] && break
  sleep 0.1
done
expect_eq 2 "$(birthdays "$P")" "the next year's birthday reminder, beside last year's"
expect_exit 0 kehu_as rep1 --json reminder list
expect_eq "$(date -u -d "$next_day 09:00" +%FT%H:%M)" \
  "$(out_jq -r --arg r "$P" '[.items[] | select(.record_id == $r and .kind == "birthday") | .due_at] | max | .[0:16]')" \
  "the next year's reminder is due at remind_hour on that day"
expect_eq 2 "$(birthdays "$BINNED")" "the restored customer's contact's next birthday"
expect_eq 0 "$(birthdays "$GONE")" "still none for the deleted contact"
kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_match 'every index entry matches' "$OUT" "verify with the birthday index"
