#!/usr/bin/env bash
# Erasure (docs/storage.md#erasure): after `customer purge` none of the
# customer's values (name, address, external code, its contact's name and
# phone, a follow-up's summary) is in the audit log, and kehud zeroes the
# store's free pages so that no free page of data.mdb holds any of them;
# the same after the recycle bin purges a customer by itself, and at the
# next start when kehud was killed before zeroing (and only then). Live pages
# may still hold them in their unused space: `kehu-admin compact` (kehud
# stopped) rewrites the store entry by entry, after which none is anywhere
# in data.mdb nor in a backup taken afterwards, and everything else is
# intact. compact refuses while kehud runs.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"

db=$KEHU_DATA/db
# free_hits VALUE...: how many free pages of data.mdb hold one of the values
# (the free list as `mdb_stat -fff` prints it: page numbers, N[count] runs)
free_hits() {
  mdb_stat -fff "$db" 2>/dev/null | python3 -c '
import re, sys
values = [v.encode() for v in sys.argv[2:]]
pages = set()
for line in sys.stdin:
    m = re.fullmatch(r"\s+(\d+)(?:\[(\d+)\])?\s*", line)
    if m:
        first, n = int(m.group(1)), int(m.group(2) or 1)
        pages.update(range(first, first + n))
data = open(sys.argv[1], "rb").read()
size = 4096
print(sum(1 for p in pages if any(v in data[p * size:(p + 1) * size] for v in values)))
' "$db/data.mdb" "$@"
}
# in_file VALUE: how many times VALUE is anywhere in data.mdb
in_file() { grep -a -o -F "$1" "$db/data.mdb" | wc -l; }
# waits (bounded: kehud zeroes free pages a second after a purge) until no
# free page holds any of the values
wait_free_pages_clean() {
  local i limit
  limit=$(kehu_scaled 20)
  for ((i = 0; i < limit * 10; i++)); do
    (($(free_hits "$@") == 0)) && return 0
    sleep 0.1
  done
  fail "free pages still hold purged values $limit s after the purge: $(free_hits "$@")"
}

kehu_start_server
add_customer() { # NAME ADDRESS CODE CONTACT PHONE SUMMARY -> $ID
  expect_exit 0 kehu_as admin --json customer add --name "$1" --address "$2" --external-code "$3"
  ID=$(out_jq -r .id)
  expect_exit 0 kehu_as admin contact add "$ID" --name "$4" --phone "$5"
  expect_exit 0 kehu_as admin followup add "$ID" --method visit --summary "$6"
  expect_exit 0 kehu_as admin customer update "$ID" --version 1 --region 抹除测试区域 \
    --name "$1" --address "$2"
}
values=(抹除测试唯一名称甲乙丙有限公司 抹除路一二三号唯一地址 ERASE-CODE-7731 抹除联系人丁戊 13912398765 抹除纪要唯一摘要)
add_customer "${values[@]}"
victim=$ID
expect_exit 0 kehu_as admin customer add --name 保留客户有限公司 --address 保留地址
(($(in_file "${values[0]}") > 0)) || fail "the name is not in data.mdb before the purge: the check would prove nothing"

expect_exit 0 kehu_as admin customer purge "$victim"
wait_free_pages_clean "${values[@]}"
grep -q 'free pages zeroed' "$KEHU_LOG" || fail "kehud did not say it zeroed free pages"
expect_exit 0 kehu_as admin --json audit --limit 500
for v in "${values[@]}"; do
  [[ "$OUT" != *"$v"* ]] || fail "'$v' is in the audit log"
done
expect_exit 0 kehu_as admin --json customer search 保留客户
expect_eq 1 "$(out_jq '.items | length')" "the customer that stays"

# the recycle bin's own purge, 31 days later
values2=(回收站抹除测试名称有限公司 回收站抹除地址九号 ERASE-BIN-4410 回收站联系人 13812398764 回收站纪要)
add_customer "${values2[@]}"
expect_exit 0 kehu_as admin customer delete "$ID"
binned=$ID
kehu_stop_server
shift_server_clock '+31 days'
kehu_start_server
limit=$(kehu_scaled 20)
for ((i = 0; i < limit * 10; i++)); do
  kehu_as admin customer list --deleted --json 2>/dev/null | jq -e '.items | length == 0' >/dev/null && break
  sleep 0.1
done
expect_exit 5 kehu_as admin customer get "$binned"
wait_free_pages_clean "${values2[@]}"

# a purge, then kehud killed before its zeroing (a second later): the
# purge counted itself in the store, so the next start zeroes what it freed
values3=(断电抹除测试名称有限公司 断电抹除地址七号 ERASE-KILL-5521 断电联系人 13712398763 断电纪要)
add_customer "${values3[@]}"
expect_exit 0 kehu_as admin customer purge "$ID"
kill -KILL "$KEHU_PID"
wait "$KEHU_PID" 2>/dev/null || true
KEHU_PID=""
(($(free_hits "${values3[@]}") > 0)) ||
  fail "no purged value in a free page after the kill: the check would prove nothing"
kehu_start_server
wait_free_pages_clean "${values3[@]}"
expect_exit 6 kehu_admin compact "$KEHU_DATA"
expect_match 'stop it first' "$ERR" "compact while kehud runs"
kehu_stop_server

# compacted: no purged value anywhere in the file, nor in a backup after it
expect_exit 0 kehu_admin compact "$KEHU_DATA"
expect_match 'ok: every index entry matches its record' "$OUT" "the check of the rewritten store"
expect_match '^compacted .*: [0-9]+ -> [0-9]+ bytes' "$(tail -n 1 <<<"$OUT")" "what compact says"
for v in "${values[@]}" "${values2[@]}" "${values3[@]}"; do
  expect_eq 0 "$(in_file "$v")" "'$v' anywhere in data.mdb after compact"
done
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$KEHU_TMP/backups"
for v in "${values[@]}" "${values2[@]}"; do
  expect_eq 0 "$(grep -a -o -F "$v" "${OUT%/}/data.mdb" | wc -l)" "'$v' in a backup after compact"
done
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_exit 0 kehu_admin audit verify "$KEHU_DATA"
kehu_start_server
expect_exit 0 kehu_as admin --json customer search 保留客户
expect_eq 1 "$(out_jq '.items | length')" "the customer that stays, after compact"
expect_exit 0 kehu_as admin --json customer add --name 压缩后新增客户有限公司
# every purge is zeroed already: this start writes no free page (on a large
# store it rewrote gigabytes at every start); kehud would zero a second in
sleep "$(kehu_scaled 2)"
! grep -q 'free pages zeroed' "$KEHU_LOG" || fail "kehud zeroed free pages at a start with no purge to cover"
kehu_stop_server
