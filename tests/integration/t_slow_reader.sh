#!/usr/bin/env bash
# Issue 8: a client that never reads cannot drive kehud out of memory.
# With max_write_queue = 4 MiB, a client pipelines 400 CustomerList{limit
# 500} requests (about 45 MB of replies) and reads nothing. kehud stops
# reading from it once its replies queued or being built fill the limit
# (back-pressure, not a late cut-off): its resident memory grows by at most
# max_write_queue + a few MiB, another client is served meanwhile, the
# hog gets every reply once it reads, and after it hangs up kehud's memory
# is back near where it was.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QUEUE_MIB=4
REQUESTS=400
kehu_init_data
kehu_conf_set server max_write_queue $((QUEUE_MIB * 1024 * 1024))
# A page may take a whole frame: at 1 MiB, 3 MiB of replies can queue
# before a list waits (the default 4 MiB would let one through at a time).
kehu_conf_set server max_frame $((1024 * 1024))
timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu-admin" seed "$KEHU_DATA" --customers 1000 \
  >"$KEHU_TMP/seed.out" 2>&1 || fail "kehu-admin seed failed: $(cat "$KEHU_TMP/seed.out")"
kehu_start_server

# Warm up: the pages the hog asks for have been read once.
for ((i = 0; i < 3; i++)); do
  expect_exit 0 kehu_as admin --json customer list --limit 500
done
expect_eq 500 "$(out_jq '.items | length')" "customers in a page of 500"

# The hog logs in first (a password check briefly takes megabytes of its
# own), then the baseline is taken.
state=$KEHU_TMP/hog.state
KEHU_WIRE_TIMEOUT=600 kehu_wire_bg "$KEHU_TMP/hog.out" "$KEHU_TMP/hog.err" hog 127.0.0.1 \
  "$KEHU_PORT" "$KEHU_CA" admin adminpass "$REQUESTS" 500 "$state" "$KEHU_TMP/hog.pipe" \
  "$KEHU_TMP/hog.go"
hog=$WIRE_PID
kehu_wait_file 60 "$state" '^ready'
sleep 1
base=$(kehu_rss_kb)
touch "$KEHU_TMP/hog.pipe"
kehu_wait_file 60 "$state" '^sent'
note "hog: $(cat "$state") (frames, bytes); kehud VmRSS before: $base KiB"

# While the hog holds its connection and reads nothing: sample kehud's
# memory for 8 s (the replies it may build are built in far less).
peak=$base
for ((i = 0; i < 40; i++)); do
  expect_server_alive
  rss=$(kehu_rss_kb)
  ((rss > peak)) && peak=$rss
  sleep 0.2
done
note "kehud VmRSS with the hog connected: peak $peak KiB (+$(((peak - base) / 1024)) MiB)"

# Another client is served meanwhile.
expect_exit 0 kehu_as admin --json customer list --limit 20
expect_eq 20 "$(out_jq '.items | length')" "customers listed while the hog is connected"
kill -0 "$hog" 2>/dev/null || fail "the hog exited early: $(cat "$KEHU_TMP/hog.err")"
if grep -q 'reads too slowly' "$KEHU_LOG"; then
  fail "kehud cut the hog off instead of pushing back: $(grep 'reads too slowly' "$KEHU_LOG")"
fi

# The hog reads now: every request it sent is answered.
touch "$KEHU_TMP/hog.go"
kehu_wait_all "$(kehu_scaled 300)" "$hog"
((STILL_RUNNING == 0)) || fail "the hog did not get its replies within $(kehu_scaled 300) s"
expect_eq "replies $REQUESTS ok $REQUESTS" "$(cat "$KEHU_TMP/hog.out")" \
  "replies the hog read ($(cat "$KEHU_TMP/hog.err"))"

# Memory goes back after the hog leaves (bounded wait).
after=0
for ((i = 0; i < $(kehu_scaled 50); i++)); do
  after=$(kehu_rss_kb)
  ((after <= base + 2048)) && break
  sleep 0.2
done
note "kehud VmRSS after the hog left: $after KiB (before: $base KiB)"

if kehu_is_asan; then
  # AddressSanitizer keeps freed blocks in quarantine and maps shadow
  # memory: its resident size says nothing about what kehud holds. The
  # checks above (alive, others served, no cut-off, every reply) stand.
  note "AddressSanitizer build: memory figures reported, not checked"
else
  limit=$((base + QUEUE_MIB * 1024 + 4096))
  ((peak <= limit)) ||
    fail "kehud grew from $base to $peak KiB with a client that does not read (allowed: max_write_queue $QUEUE_MIB MiB + 4 MiB)"
  ((after <= base + 2048)) ||
    fail "kehud kept $after KiB after the hog left (before: $base KiB; allowed: +2 MiB)"
fi

expect_exit 0 kehu_as admin customer list --limit 5
kehu_stop_server
