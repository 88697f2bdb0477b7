#!/usr/bin/env bash
# Issue 5: restarting the server neither loses nor duplicates pending
# reminders, and acknowledged ones never return. Reminders due 3 s ahead
# survive a restart (SIGTERM, start again on a new port with the same data
# directory and the same clock offset) made before they fall due, and a
# watch then gets each exactly once; one that falls due while the server is
# down comes at the next start; after an ack and another restart the
# acknowledged one stays away while the others are sent again (delivered,
# not acknowledged: at least once).
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"

shift_server_clock 'today 12:00'
kehu_init_data
kehu_add_user rep1 sales
kehu_start_server
first_port=$KEHU_PORT
expect_exit 0 kehu_as rep1 login

# restart: SIGTERM (must exit 0), then start on a new port, same data, same
# KEHU_CLOCK_OFFSET (exported: kehud inherits it). kehu binds its stored
# token to the server's address: log in again, as a user would.
restart() {
  local old=$KEHU_PORT
  kehu_stop_server
  kehu_start_server
  note "restarted: port $old -> $KEHU_PORT, clock offset $KEHU_CLOCK_OFFSET s"
  expect_exit 0 kehu_as rep1 login
}

# count_of NAME ID: events about reminder ID in watch NAME.
count_of() { watch_count "$1" ".reminder.id == \"$2\""; }

# --- three reminders due 3 s ahead; restart before they fall due ----------
# 3 s is a margin for the adds and the restart, scaled (lead_time).
due=$(server_iso "$(lead_time 3)")
due_wall=$(wall_of "$(epoch_of "$due")")
ids=()
for i in 1 2 3; do
  expect_exit 0 kehu_as rep1 --json reminder add --at "$due" --message "重启前设的提醒 $i"
  ids+=("$(out_jq .id)")
done
[[ "${ids[0]}" != "${ids[1]}" && "${ids[1]}" != "${ids[2]}" && "${ids[0]}" != "${ids[2]}" ]] ||
  fail "three reminder adds gave ids ${ids[*]}"
restart
[[ "$KEHU_PORT" != "$first_port" ]] || note "the new server happens to have the same port $KEHU_PORT"
float_le "$(wall_now)" "$due_wall" ||
  fail "the restart took until after the reminders fell due ($due): cannot test a restart before they fall due"

watch_start rep1 w1
# Until 5 s after they fell due.
while ! float_le "$(calc "$due_wall + 5")" "$(wall_now)"; do
  watch_expect_alive w1
  sleep 0.2
done
for id in "${ids[@]}"; do
  n=$(count_of w1 "$id")
  ((n == 1)) || fail "reminder $id (due $due, server restarted before) reached the watch $n times (expected exactly 1)
  the watch printed: $(cut -f2 "$KEHU_TMP/watch-w1.tsv")"
  watch_wait w1 ".reminder.id == \"$id\"" 0 || fail "lost $id"
  expect_on_time "$id (after a restart)" "$due_wall"
done
watch_stop w1

# --- one falls due while the server is down -------------------------------
due2=$(server_iso "$(lead_time 2)")   # still ahead when the server stops
due2_wall=$(wall_of "$(epoch_of "$due2")")
expect_exit 0 kehu_as rep1 --json reminder add --at "$due2" --message "停机期间到期的提醒"
down_id=$(out_jq .id)
kehu_stop_server
while ! float_le "$(calc "$due2_wall + 1")" "$(wall_now)"; do sleep 0.2; done
kehu_start_server
note "restarted after $down_id fell due: port $KEHU_PORT"
expect_exit 0 kehu_as rep1 login
watch_start rep1 w2
watch_wait w2 ".reminder.id == \"$down_id\"" 5 ||
  fail "$down_id, due while the server was down, was not delivered within $(kehu_scaled 5) s of watching the restarted server
  the watch printed: $(cut -f2 "$KEHU_TMP/watch-w2.tsv")"
sleep 1
expect_eq 1 "$(count_of w2 "$down_id")" "deliveries of $down_id after the restart"
watch_stop w2

# --- acknowledged: never back, across another restart ---------------------
acked=${ids[0]}
expect_exit 0 kehu_as rep1 --json reminder ack "$acked"
expect_eq acknowledged "$(out_jq .state)" "reminder ack .state"
restart
watch_start rep1 w3
sleep 1
sleep 1
watch_expect_alive w3
watch_stop w3
expect_eq 0 "$(count_of w3 "$acked")" "deliveries of the acknowledged $acked after a restart"
# The others were delivered, never acknowledged: sent again, once each.
for id in "${ids[1]}" "${ids[2]}" "$down_id"; do
  expect_eq 1 "$(count_of w3 "$id")" "deliveries of the unacknowledged $id to a watch after a restart"
done
# Probes were acknowledged too: none came back.
for id in "${PROBE_IDS[@]}"; do
  [[ "$id" == "${PROBE_IDS[-1]}" ]] && continue   # this watch's own probe (due when it began)
  expect_eq 0 "$(count_of w3 "$id")" "deliveries of the acknowledged probe $id after a restart"
done

expect_exit 0 kehu_as rep1 --json reminder list --all
expect_eq acknowledged "$(out_jq --arg id "$acked" '.items[] | select(.id == $id) | .state')" \
  "state of $acked after restarts"
expect_exit 0 kehu_as rep1 --json reminder list
expect_eq false "$(out_jq --arg id "$acked" 'any(.items[]; .id == $id)')" \
  "the acknowledged $acked in reminder list"

expect_server_alive
kehu_stop_server
