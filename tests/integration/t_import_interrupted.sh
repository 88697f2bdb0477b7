#!/usr/bin/env bash
# Imports from a pipe (docs/architecture.md#import). The bytes go out as
# they come: a header without a name column is refused while the FIFO is
# still open. An import cut short and done again: a CSV
# of 42,000 customers (each with a 客户编号, a unique name and phone) fed to
# `kehu import customers -` through a FIFO. The first 40,700 rows are
# written and the FIFO left open: the client sends what the pipe gave
# without waiting for its end, and the server writes a first batch (today
# one starts when 40,000 rows wait; it stops after [import] batch_ms of
# writer time) while the client still waits for input. kehud is then
# killed with SIGKILL: the client notices at once and exits non-zero
# saying the connection is gone. kehud restarts on the same data directory
# with what it had stored, at least what was there before the kill; the
# whole file imported again adds exactly the others (the stored rows are
# duplicates), every customer is there once, and `kehu-admin verify`
# finds the indexes clean.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

ROWS=42000
FIRST=40700         # rows written before the kill: enough for a batch to start

kehu_start_server

customer_count() {
  expect_exit 0 kehu_as admin --json report summary
  out_jq '[.rows[] | select(.key == "customers") | .count][0] // 0'
}

# --- a pipe's bytes go out as they come -------------------------------------------------
# A few bytes, the FIFO left open: the client sends them without waiting for
# the end or for 1 MiB, so the server's refusal of a header without a name
# column comes back while the writer still holds the FIFO (--encoding
# utf-8: the server reads the line at once instead of gathering 4 KiB to
# tell the encoding by).
mkfifo "$KEHU_TMP/early.fifo"
(
  rc=0
  kehu_as admin import customers - --encoding utf-8 <"$KEHU_TMP/early.fifo" >"$KEHU_TMP/early.out" \
    2>"$KEHU_TMP/early.err" || rc=$?
  echo "$rc" >"$KEHU_TMP/early.rc"
) &
early=$!
exec 4>"$KEHU_TMP/early.fifo"
printf '公司,电话\r\n甲,13800000000\r\n' >&4
limit=$(kehu_scaled 10)
for ((i = 0; i < limit * 20; i++)); do   # 0.05 s each
  kehu_alive "$early" || break
  sleep 0.05
done
kehu_alive "$early" && still=1 || still=0
exec 4>&-      # the end of the input, in any case
wait "$early" || true
((still == 0)) ||
  fail "the client still held the first bytes of an open pipe after $limit s (sent only at the end?)"
expect_eq 7 "$(cat "$KEHU_TMP/early.rc")" "the exit code of a header without a name, from an open pipe"
expect_match "no column for the customer's name" "$(cat "$KEHU_TMP/early.err")" "the refusal"

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
# (far more than a pipe holds: bounded, in case the client stops reading)
timeout "$(kehu_scaled 60)" cat "$KEHU_TMP/part1.csv" >&3 ||
  fail "the client did not read the first $FIRST rows: $(cat "$KEHU_TMP/first.err" 2>/dev/null)"

# The client sends what the pipe gave without waiting for its end (or for
# 1 MiB): customers are stored while the FIFO is still open. Then the
# count settles: the client has sent what it had and waits for more.
limit=$(kehu_scaled 60)
count=0 settled=""
for ((i = 0; i < limit * 2; i++)); do   # 0.5 s each
  kehu_alive "$client" || break
  before=$count
  count=$(customer_count)
  if ((count > 0 && count == before)); then
    settled=1
    break
  fi
  sleep 0.5
done
kehu_alive "$client" || fail "the client ended before its input did: $(cat "$KEHU_TMP/first.err")"
[[ -n "$settled" ]] ||
  fail "with $FIRST rows written and the FIFO open, the customers did not appear and settle within $limit s ($count)"
((count <= FIRST)) || fail "$count customers from $FIRST rows"

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
stored=$(customer_count)
((stored >= count && stored <= FIRST)) ||
  fail "$stored customers after the restart ($count before the kill, $FIRST rows sent)"
note "$stored of the $FIRST rows sent were stored before the kill"
expect_exit 0 kehu_as admin --json import customers - <"$csv"
expect_eq "$((ROWS - stored)) $stored 0 0" \
  "$(out_jq '"\(.accepted) \(.duplicates) \(.updated) \(.rejected)"')" \
  "accepted, duplicates, updated, rejected of the whole file again ($stored stored before)"
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
