#!/usr/bin/env bash
# Issue 5: 1,000 connections watching as one user (kehu-bench --op watch,
# one process) all receive a reminder raised for that user; the fan-out
# time (first to last arrival) is measured and printed.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"

WATCHERS=${KEHU_FANOUT_WATCHERS:-1000}
# Hang guards, scaled (lib.sh); the 1 s from the due time to the last
# arrival is what users notice and is not.
SETUP_LIMIT=${KEHU_FANOUT_SETUP_LIMIT:-$(kehu_scaled 120)}   # seconds for all of them to be watching
WAIT=${KEHU_FANOUT_WAIT:-$(kehu_scaled 30)}                  # seconds the bench waits for the reminder

[[ -x "$KEHU_BUILD/kehu-bench" ]] || fail "$KEHU_BUILD/kehu-bench not found (build first)"
kehu_init_data
kehu_add_user rep1 sales
kehu_start_server
expect_exit 0 kehu_as rep1 login

bench_out=$KEHU_TMP/bench.out
bench_err=$KEHU_TMP/bench.err
KEHU_PASSWORD=$(kehu_password_of rep1) timeout --foreground $((SETUP_LIMIT + WAIT + 60)) \
  "$KEHU_BUILD/kehu-bench" --server "$KEHU_SERVER" --ca "$KEHU_CA" --user rep1 --op watch \
  --connections "$WATCHERS" --duration "$((SETUP_LIMIT + WAIT))" --json \
  >"$bench_out" 2>"$bench_err" </dev/null &
bench_pid=$!
WATCH_PIDS[bench]=$bench_pid   # SIGTERM on exit, whatever happens

# Wait for "watching N" (every connection subscribed).
start=$SECONDS
line=""
for ((i = 0; i < SETUP_LIMIT * 5; i++)); do
  line=$(grep -m1 '^watching ' "$bench_out" 2>/dev/null || true)
  [[ -n "$line" ]] && break
  kehu_alive "$bench_pid" || break
  sleep 0.2
done
if [[ -z "$line" ]]; then
  kill -TERM "$bench_pid" 2>/dev/null || true
  wait "$bench_pid" 2>/dev/null || true
  fail "kehu-bench did not print 'watching $WATCHERS' within ${SETUP_LIMIT}s
  stdout: $(head -c 600 "$bench_out")
  stderr: $(head -c 1200 "$bench_err")"
fi
note "$line after $((SECONDS - start))s"
expect_eq "watching $WATCHERS" "$line" "kehu-bench's line once every connection is subscribed"
expect_server_alive

# One reminder for that user, due 1 s ahead (from a connection that does not
# watch; the margin for that command is scaled: lead_time).
due=$(server_iso "$(lead_time 1)")
expect_exit 0 kehu_as rep1 --json reminder add --at "$due" --message "一千个连接同时提醒"
t_end=$(wall_now)
reminder=$(out_jq .id)

# The bench ends when every connection has it (or after --duration).
for ((i = 0; i < (WAIT + 10) * 5; i++)); do
  kehu_alive "$bench_pid" || break
  sleep 0.2
done
if kehu_alive "$bench_pid"; then
  kill -TERM "$bench_pid" 2>/dev/null || true
  wait "$bench_pid" 2>/dev/null || true
  fail "kehu-bench --op watch still running $((WAIT + 10))s after the reminder was raised"
fi
status=0
wait "$bench_pid" || status=$?
unset "WATCH_PIDS[bench]"
OUT=$(grep '^{' "$bench_out" | tail -n 1)
[[ -n "$OUT" ]] || fail "kehu-bench printed no JSON report (exit $status)
  stdout: $(head -c 600 "$bench_out")
  stderr: $(head -c 1200 "$bench_err")"
received=$(out_jq .received)
fanout=$(out_jq .fanout_ms)
from_due=$(out_jq .from_due_ms)
echo "fan-out to $received of $WATCHERS watchers: $fanout ms from the first to the last arrival; last arrival $from_due ms after the reminder's due time"
expect_eq watch "$(out_jq .op)" "report .op"
expect_eq "$WATCHERS" "$(out_jq .connections)" "report .connections"
expect_eq "$WATCHERS" "$received" "watchers that received reminder $reminder"
expect_eq "$reminder" "$(out_jq .reminder_id)" "the reminder the watchers received"
expect_eq 0 "$(out_jq .errors)" "kehu-bench errors (stderr: $(head -c 600 "$bench_err"))"
expect_eq 0 "$status" "kehu-bench exit status"
# A command that returned after the due time (a loaded machine) made the
# reminder late itself: the 1 s then counts from its return.
late_ms=$(calc "($t_end - $(wall_of "$(epoch_of "$due")")) * 1000")
if float_le "$late_ms" 0; then
  float_le "$from_due" 1000 ||
    fail "the last of $WATCHERS watchers got the reminder $from_due ms after it fell due (expected within 1 s)"
else
  note "reminder add returned $late_ms ms after the due time: the 1 s counts from then"
  float_le "$from_due" "$(calc "$late_ms + 1000")" ||
    fail "the last of $WATCHERS watchers got the reminder $from_due ms after it fell due, $late_ms ms after reminder add returned (expected within 1 s of that)"
fi

expect_server_alive
kehu_stop_server
