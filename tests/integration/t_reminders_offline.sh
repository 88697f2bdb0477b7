#!/usr/bin/env bash
# Issue 5: a reminder that falls due while its recipient is not watching is
# delivered when they start `kehu watch`; `reminder list` shows it; once
# acknowledged it is never delivered again; snoozed, it stays away until
# the time given and then comes back. The server's clock runs two days
# ahead of ours (KEHU_CLOCK_OFFSET), so every time here is the server's.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"

export KEHU_CLOCK_OFFSET=$((2 * 86400 + 3600))
kehu_init_data
kehu_add_user rep1 sales
kehu_start_server
expect_exit 0 kehu_as rep1 login

# list_state ID: the reminder's state in `reminder list` (due ones), or
# "absent"; list_all_state: the same from `reminder list --all`.
list_state() {
  expect_exit 0 kehu_as rep1 --json reminder list
  out_jq --arg id "$1" '[.items[] | select(.id == $id) | .state] | first // "absent"'
}
list_all_state() {
  expect_exit 0 kehu_as rep1 --json reminder list --all
  out_jq --arg id "$1" '[.items[] | select(.id == $id) | .state] | first // "absent"'
}

# --- raised while nobody watches ------------------------------------------
# Due 3 s ahead (scaled: lead_time) of a whole second, so that the "not yet
# due" checks below have seconds to spare even on a slow, sanitized build.
align_to_second
due=$(server_iso "$(lead_time 3)")
expect_exit 0 kehu_as rep1 --json reminder add --at "$due" --message "离线时到期的提醒"
r1=$(out_jq .id)
expect_match '^RM[0-9]+$' "$r1" "reminder add .id"
expect_eq manual "$(out_jq .kind)" "reminder add .kind"
expect_eq "$(epoch_of "$due")" "$(epoch_of "$(out_jq .due_at)")" "reminder add .due_at"
# Not due yet: only `--all` shows it.
expect_eq absent "$(list_state "$r1")" "$r1 in reminder list before it is due"
expect_eq pending "$(list_all_state "$r1")" "$r1 in reminder list --all before it is due"
# Wait (polling) until it is due by the server's clock.
until (($(server_now) > $(epoch_of "$due"))); do sleep 0.1; done
# Due now, nobody was watching: listed, still pending (never pushed).
expect_eq pending "$(list_state "$r1")" "state of $r1 in reminder list once due, nobody watching"

# --- delivered at the next watch ------------------------------------------
t_watch=$(wall_now)
watch_start rep1 first
watch_wait first ".reminder.id == \"$r1\"" 5 ||
  fail "$r1, due while nobody watched, was not delivered within $(kehu_scaled 5) s of starting kehu watch
  the watch printed: $(cut -f2 "$KEHU_TMP/watch-first.tsv")
  stderr: $(head -c 600 "$KEHU_TMP/watch-first.err")"
expect_event_kind manual
expect_eq "离线时到期的提醒" "$(ev_jq .reminder.message)" "delivered .reminder.message"
note "$r1 delivered $(calc "$EV_TS - $t_watch") s after kehu watch started"
watch_stop first
expect_eq 1 "$(watch_count first ".reminder.id == \"$r1\"")" "deliveries of $r1 to the first watch"
expect_eq delivered "$(list_state "$r1")" "state of $r1 in reminder list after a watch got it"

# --- acknowledged: never again ---------------------------------------------
expect_exit 0 kehu_as rep1 --json reminder ack "$r1"
expect_eq acknowledged "$(out_jq .state)" "reminder ack .state"
expect_eq absent "$(list_state "$r1")" "$r1 in reminder list after ack"
expect_eq acknowledged "$(list_all_state "$r1")" "$r1 in reminder list --all after ack"
watch_start rep1 after_ack
sleep 1
sleep 1
watch_expect_alive after_ack
watch_stop after_ack
expect_eq 0 "$(watch_count after_ack ".reminder.id == \"$r1\"")" \
  "deliveries of the acknowledged $r1 to a watch started after the ack (2 s)"
# Acknowledging someone else's reminder or a made-up one: not found.
expect_exit 5 kehu_as rep1 reminder ack RM999999
expect_exit 7 kehu_as rep1 reminder ack not-an-id

# --- snoozed: away until the time given, then back --------------------------
expect_exit 0 kehu_as rep1 --json reminder add --at "$(server_iso 0)" --message "稍后再提醒我"
r2=$(out_jq .id)
watch_start rep1 before_snooze
watch_wait before_snooze ".reminder.id == \"$r2\"" 5 ||
  fail "$r2 (due now) was not delivered to kehu watch within $(kehu_scaled 5) s"
watch_stop before_snooze

# Just after a second boundary, so that "2 s ahead" is 2 s, not 1.x. The
# watch below must be running, and its first second over, before then: 2 s
# is a margin for the commands that start it, scaled (lead_time).
align_to_second
until=$(server_iso "$(lead_time 2)")
expect_exit 0 kehu_as rep1 --json reminder snooze "$r2" --until "$until"
t_snoozed=$(wall_now)
until_wall=$(wall_of "$(epoch_of "$until")")
expect_eq snoozed "$(out_jq .state)" "reminder snooze .state"
expect_eq "$(epoch_of "$until")" "$(epoch_of "$(out_jq .snoozed_until)")" "reminder snooze .snoozed_until"
watch_start rep1 snoozed
expect_eq absent "$(list_state "$r2")" "$r2 in reminder list while snoozed"
expect_eq snoozed "$(list_all_state "$r2")" "$r2 in reminder list --all while snoozed"
# The watch's first second: the snoozed reminder is not sent (not even as
# "due and unacknowledged" when the watch began).
first_second_end=$(calc "$t_snoozed + 1")
while ! float_le "$first_second_end" "$(wall_now)"; do sleep 0.05; done
expect_eq 0 "$(watch_count snoozed ".reminder.id == \"$r2\"")" \
  "deliveries of $r2 in the first second after snoozing it until $until"
float_le "$(wall_now)" "$until_wall" ||
  fail "this machine is too slow: the first second after the snooze ran past the snooze time"
# ... and then it is back, in the same watch, on time.
watch_wait snoozed ".reminder.id == \"$r2\"" 5 ||
  fail "$r2, snoozed until $until, was not delivered again within $(kehu_scaled 5) s
  the watch printed: $(cut -f2 "$KEHU_TMP/watch-snoozed.tsv")"
expect_event_kind manual
expect_on_time "$r2 after its snooze" "$until_wall"
sleep 1
expect_eq 1 "$(watch_count snoozed ".reminder.id == \"$r2\"")" "deliveries of $r2 after the snooze"
expect_eq 0 "$(watch_count snoozed ".reminder.id == \"$r1\"")" "deliveries of the acknowledged $r1"
expect_match '^(pending|delivered)$' "$(list_state "$r2")" "state of $r2 in reminder list after the snooze"
watch_stop snoozed

# A snooze into the past is refused.
expect_exit 7 kehu_as rep1 reminder snooze "$r2" --until "$(server_iso -60)"

# --- a session that has been idle for over a minute -----------------------
# kehud records a session's last use at most once a minute, in a write of
# its own when the token logs in; a reminder added by the command that
# triggers it must fall due like any other. The server starts again on the
# same port (the client keeps using its token: it is bound to the address)
# with its clock two minutes further on, so the stored session is that idle.
port=$KEHU_PORT
kehu_stop_server
export KEHU_CLOCK_OFFSET=$((KEHU_CLOCK_OFFSET + 120))
kehu_start_server --listen "127.0.0.1:$port"
expect_eq "$port" "$KEHU_PORT" "port of the restarted server"
due=$(server_iso 1)
# The stored token, no password: this command's login is the session's
# first use in two minutes.
XDG_CONFIG_HOME=$KEHU_TMP/users/rep1 expect_exit 0 kehu --user rep1 --json reminder add \
  --at "$due" --message "会话空闲两分钟后设的提醒"
r3=$(out_jq .id)
sleep 1
sleep 1
for ((i = 0; i < 10; i++)); do               # at most 1 s more
  [[ $(list_state "$r3") == pending ]] && break
  sleep 0.1
done
if [[ $(list_state "$r3") != pending ]]; then
  expect_exit 0 kehu_as rep1 --json reminder list --all
  fail "$r3 (due $due, added by the first command after the session had been idle 2 minutes) is not in reminder list 3 s later: it never fell due
  in reminder list --all: $(out_jq -c --arg id "$r3" '.items[] | select(.id == $id)')"
fi
watch_start rep1 idle
watch_wait idle ".reminder.id == \"$r3\"" 5 || fail "$r3 was not delivered when kehu watch started"
watch_stop idle

expect_server_alive
kehu_stop_server
