#!/usr/bin/env bash
# kehu-admin reindex while kehud runs (docs/operations.md#consistency-check):
# every derived index is rebuilt from the records in one transaction, the
# check after it is clean, and the running server finds customers by name,
# phone and code as before and takes writes during and after it.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_init_data "$KEHU_DATA"
expect_exit 0 kehu_admin seed "$KEHU_DATA" --customers 300
kehu_start_server
expect_exit 0 kehu_as admin --json customer add --name 重建索引测试有限公司 --external-code RI-1
id=$(out_jq -r .id)
expect_exit 0 kehu_as admin contact add "$id" --name 李娜 --phone 13766667777

# writes go on while the reindex runs
writer() {
  local i
  for ((i = 1; i <= 20; i++)); do
    kehu_as admin customer add --name "重建期间写入$i号" >/dev/null 2>&1 || return 1
  done
}
writer &
writer_pid=$!
expect_exit 0 kehu_admin reindex "$KEHU_DATA"
expect_match '^rebuilt 20 indexes from [0-9]+ customers' "$OUT" "what reindex says"
expect_match 'ok: every index entry matches its record' "$OUT" "the check after it"
kehu_wait_all "$(kehu_scaled 60)" "$writer_pid"
((STILL_RUNNING == 0)) || fail "the writes during the reindex did not finish"

expect_exit 0 kehu_as admin --json customer search 重建索引测试
expect_eq "$id" "$(out_jq -r '.items[0].id')" "found by name after the reindex"
expect_exit 0 kehu_as admin --json customer search 13766667777
expect_eq "$id" "$(out_jq -r '.items[0].id')" "found by phone after the reindex"
expect_exit 6 kehu_as admin customer add --name 另一家 --external-code RI-1
expect_exit 0 kehu_as admin --json customer search 重建期间写入
expect_eq 20 "$(out_jq '.items | length')" "customers written during the reindex"
kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
