#!/usr/bin/env bash
# An import cut short and done again (docs/architecture.md#import): a CSV of
# 3,000 customers fed to `kehu import customers -` through a FIFO. The
# first 1,200 rows are written and the FIFO left open: the client sends
# what the pipe gave without waiting for more, the server stores two
# batches of 500 (a chunk's reply comes after its full batches are
# written; the other 200 wait for the next batch). kehud is killed with
# SIGKILL while the client waits for more input: the client notices at
# once and exits non-zero saying the connection is gone. kehud restarts on
# the same data directory with the customers stored before; the whole file
# imported again adds exactly the others (the stored ones are duplicates),
# every customer once, and `kehu-admin verify` finds the indexes clean.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

ROWS=3000
FIRST=1200          # rows written before the kill: 2 batches of 500 and 200 more
BATCH=500           # server/handlers/import.c, BATCH_ROWS

kehu_start_server

customer_count() {
  expect_exit 0 kehu_as admin --json report summary
  out_jq '[.rows[] | select(.key == "customers") | .count][0] // 0'
}

csv=$KEHU_TMP/customers.csv
python3 - "$csv" "$ROWS" <<'PY' || fail "could not write the CSV"
import sys
with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
    f.write("客户编号,客户名称(*),联系人(*),联系方式(虚拟),所属行业\r\n")
    for i in range(1, int(sys.argv[2]) + 1):
        f.write(f"ZD{i:05d},中断导入测试客户{i:05d}号,联系人{i:05d},139{i:08d},制造\r\n")
PY
expect_eq $((ROWS + 1)) "$(wc -l <"$csv")" "lines of the CSV"
head -n $((FIRST + 1)) "$csv" >"$KEHU_TMP/part1.csv"

# --- the first part through a FIFO, which stays open -----------------------------
fifo=$KEHU_TMP/import.fifo
mkfifo "$fifo"
(
  rc=0
  kehu_as admin import customers - <"$fifo" >"$KEHU_TMP/first.out" 2>"$KEHU_TMP/first.err" || rc=$?
  echo "$rc" >"$KEHU_TMP/first.rc"
) &
client=$!
exec 3>"$fifo"      # the writer's end: open until the test closes it
# (more than the pipe holds: bounded, in case the client stops reading)
timeout "$(kehu_scaled 30)" cat "$KEHU_TMP/part1.csv" >&3 ||
  fail "the client did not read the first $FIRST rows: $(cat "$KEHU_TMP/first.err" 2>/dev/null)"

# The client sends what the pipe gave without waiting for its end (or for
# 1 MiB): the first two batches are stored while the FIFO is still open.
limit=$(kehu_scaled 30)
count=0
for ((i = 0; i < limit * 4; i++)); do   # 0.25 s each
  count=$(customer_count)
  ((count >= 2 * BATCH)) && break
  kehu_alive "$client" || break
  sleep 0.25
done
((count >= 2 * BATCH)) ||
  fail "with $FIRST rows written and the FIFO open, $count customers after $limit s (expected two batches of $BATCH); client: $(cat "$KEHU_TMP/first.err" 2>/dev/null)"
kehu_alive "$client" || fail "the client ended before its input did: $(cat "$KEHU_TMP/first.err")"
# The reply to the chunk that filled the second batch reaches the client,
# which waits for more input again. The rows after the last full batch
# wait in the server for the next one (today: 1,000 stored, 200 waiting).
sleep 0.5
stored=$(customer_count)
((stored >= 2 * BATCH && stored <= FIRST)) ||
  fail "$stored customers stored while the client waits for input (expected $((2 * BATCH)) to $FIRST)"

# --- kill -9 while the client waits for input ------------------------------------------
kehu_kill_server
limit=$(kehu_scaled 10)
for ((i = 0; i < limit * 20; i++)); do   # 0.05 s each
  kehu_alive "$client" || break
  sleep 0.05
done
if kehu_alive "$client"; then
  exec 3>&-
  fail "the client still waited for input $limit s after kehud was killed (it should notice the connection is gone)"
fi
wait "$client" || true
exec 3>&-
rc=$(cat "$KEHU_TMP/first.rc")
err=$(cat "$KEHU_TMP/first.err")
expect_eq 8 "$rc" "the exit code of the client whose server was killed (stderr: $err)"
expect_match "^kehu: connection to 127\.0\.0\.1:$KEHU_PORT (failed|was lost).*(closed|lost|reset)" \
  "$err" "the client's error"
[[ -z "$(cat "$KEHU_TMP/first.out")" ]] || fail "the client printed a report: $(cat "$KEHU_TMP/first.out")"

# --- restart on the same data, import the whole file again -----------------------------
kehu_start_server
expect_eq "$stored" "$(customer_count)" "customers after the restart (those stored before the kill)"
expect_exit 0 kehu_as admin --json import customers - <"$csv"
expect_eq "$((ROWS - stored)) $stored 0 0" \
  "$(out_jq '"\(.accepted) \(.duplicates) \(.updated) \(.rejected)"')" \
  "accepted, duplicates, updated, rejected of the whole file again"
expect_eq "$ROWS" "$(out_jq '.accepted + .duplicates')" "accepted + duplicates"
expect_eq "$ROWS" "$(customer_count)" "customers after the second import"

# every row exactly once: codes, names and phones
expect_exit 0 kehu_as admin --json export customers
expect_eq "$ROWS $ROWS $ROWS" \
  "$(out_jq '"\(length) \([.[].external_code] | unique | length) \([.[].name] | unique | length)"')" \
  "customers, distinct codes, distinct names"
expect_eq "ZD00001 ZD$(printf %05d "$ROWS")" "$(out_jq '[.[].external_code] | sort | "\(.[0]) \(.[-1])"')" \
  "the first and last code"
expect_exit 0 kehu_as admin --json export contacts
expect_eq "$ROWS $ROWS" "$(out_jq '"\(length) \([.[].phones[0]] | unique | length)"')" \
  "contacts, distinct phones"

expect_server_alive
kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
