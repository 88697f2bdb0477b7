#!/usr/bin/env bash
# Dormant reminders come from the dormancy index (docs/architecture.md#reminders,
# docs/storage.md#dormancy): a customer contacted today has no reminder
# waiting; when its [reminders] dormant_days have passed the sweep raises
# one (to owner and manager), once per dormancy period, for every customer
# however many (here more than one sweep round), and a changed dormant_days
# takes effect. The clock moves with KEHU_CLOCK_OFFSET (lib_reminders.sh).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

DAY=86400
kehu_init_data
kehu_add_user rep1 sales east
kehu_add_user mgr1 manager east
kehu_start_server
expect_exit 0 kehu_as rep1 --json customer add --name 休眠测试甲有限公司
A=$(out_jq -r .id)
expect_exit 0 kehu_as rep1 --json customer add --name 休眠测试乙有限公司
B=$(out_jq -r .id)
# B was contacted 100 days ago: its period ends 80 days from now
at_b=$(date -d '-100 days' '+%F %H:%M')
expect_exit 0 kehu_as rep1 followup add "$B" --method phone --summary 电话 --at "$at_b"

# dormant(USER CUSTOMER): how many dormant reminders USER has about CUSTOMER
dormant() {
  expect_exit 0 kehu_as "$1" --json reminder list --all --limit 500
  out_jq --arg c "$2" '[.items[] | select(.customer_id == $c and .kind == "dormant")] | length'
}
# wait_dormant USER CUSTOMER: until USER has one about CUSTOMER (bounded)
wait_dormant() {
  for ((i = 0; i < $(kehu_scaled 10) * 10; i++)); do
    [[ "$(dormant "$1" "$2")" == 1 ]] && return 0
    sleep 0.1
  done
}
expect_eq 0 "$(dormant rep1 "$A")" "a customer contacted today has no dormant reminder waiting"
expect_eq 0 "$(dormant rep1 "$B")" "nor one contacted 100 days ago"

# --- 90 days on: B's period (100 + 90 > 180) is over, A's is not ----------
kehu_stop_server
export KEHU_CLOCK_OFFSET=$((90 * DAY))
kehu_start_server
wait_dormant rep1 "$B"
expect_eq 1 "$(dormant rep1 "$B")" "B's dormant reminder, 190 days after its last contact"
expect_eq 1 "$(dormant mgr1 "$B")" "and its manager's"
expect_eq 0 "$(dormant rep1 "$A")" "A, 90 days old, is not dormant"
expect_exit 0 kehu_as rep1 --json reminder list --all --limit 500
due=$(out_jq -r --arg c "$B" '.items[] | select(.customer_id == $c and .kind == "dormant") | .due_at')
expect_eq "$(date -u -d "@$(($(epoch_of "$at_b") + 180 * DAY))" +%FT%H:%M)" "${due:0:16}" \
  "B's reminder falls due 180 days after its last contact"

# --- a restart sweeps nothing twice -----------------------------------------
kehu_stop_server
kehu_start_server
sleep 0.5
expect_eq 1 "$(dormant rep1 "$B")" "B's reminder after a restart (once per dormancy period)"

# --- dormant_days: 60 makes A (90 days) dormant; the marker starts over -----
kehu_stop_server
kehu_conf_set reminders dormant_days 60
kehu_start_server
wait_dormant rep1 "$A"
expect_eq 1 "$(dormant rep1 "$A")" "A dormant once dormant_days is 60"
expect_eq 1 "$(dormant rep1 "$B")" "B still has one reminder for its period"
kehu_stop_server
kehu_conf_set reminders dormant_days 180

# --- many customers: more than one sweep round (512 a round) ----------------
export KEHU_CLOCK_OFFSET=0
kehu_admin seed "$KEHU_DATA" --customers 1200 >/dev/null
expect_exit 0 kehu_admin verify "$KEHU_DATA"
export KEHU_CLOCK_OFFSET=$((400 * DAY))
kehu_start_server
# every seeded customer (owned round-robin by rep1 and mgr1) falls dormant:
# count the distinct customers with a dormant reminder, for both owners
count_all() {
  local user=$1 cursor="" n=0 page
  : >"$KEHU_TMP/dormant-$user.txt"
  for ((p = 0; p < 20; p++)); do
    if [[ -n "$cursor" ]]; then
      expect_exit 0 kehu_as "$user" --json reminder list --all --limit 500 --cursor "$cursor"
    else
      expect_exit 0 kehu_as "$user" --json reminder list --all --limit 500
    fi
    out_jq -r '.items[] | select(.kind == "dormant") | .customer_id' >>"$KEHU_TMP/dormant-$user.txt"
    cursor=$(out_jq -r '.next_cursor // empty')
    [[ -z "$cursor" ]] && break
  done
  sort -u "$KEHU_TMP/dormant-$user.txt" | wc -l
}
for ((i = 0; i < $(kehu_scaled 20) * 4; i++)); do
  n=$(count_all mgr1)
  ((n >= 1202)) && break
  sleep 0.25
done
# the manager reads the team's customers: the 2 above and the 1200 seeded
expect_eq 1202 "$n" "customers with a dormant reminder for their manager, 400 days on"
kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_match 'every index entry matches' "$OUT" "verify with the dormancy index"
