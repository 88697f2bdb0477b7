#!/usr/bin/env bash
# An import written in several transactions (docs/architecture.md#import):
# with [import] batch_ms = 0 every batch stops after 256 rows, so 700 rows
# take three. Every row is written once, a duplicate inside the file (its
# second row) is found in an earlier batch, the import has one audit entry
# with the counts of all three, every customer is found by search (new
# customers are indexed at the end of each batch) and the indexes match
# their records. A batch_ms outside 0-60000 refuses the config.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kehu_expect_config_refused import batch_ms 60001

kehu_conf_set import batch_ms 0
kehu_start_server

{
  echo '客户编号,客户名称,联系人,联系方式'
  for i in $(seq 1 700); do
    printf 'P%04d,分批导入客户%04d号,联系人%d,137%08d\n' "$i" "$i" "$i" "$i"
  done
  # row 700 of the file again, with another code: a duplicate by name
  printf 'Q0700,分批导入客户0700号,联系人700,13700000700\n'
  # the first row again, as written: a duplicate by its code
  printf 'P0001,分批导入客户0001号,联系人1,13700000001\n'
} >"$KEHU_TMP/rows.csv"

expect_exit 7 kehu_as admin --json import customers "$KEHU_TMP/rows.csv"
expect_eq 700 "$(out_jq .accepted)" "rows accepted over three batches"
expect_eq 1 "$(out_jq .duplicates)" "the row whose code an earlier batch wrote"
expect_eq 1 "$(out_jq .rejected)" "the new code whose name an earlier batch wrote"
expect_eq '702 客户名称' "$(out_jq '.errors[0] | "\(.line) \(.column)"')" "the name duplicate"

expect_exit 0 kehu_as admin --json customer list --limit 500
expect_eq 500 "$(out_jq '.items | length')" "the first page"
cursor=$(out_jq -r .next_cursor)
expect_exit 0 kehu_as admin --json customer list --limit 500 --cursor "$cursor"
expect_eq 200 "$(out_jq '.items | length')" "the second page"

# a customer from each batch, by name and by its contact's phone
for i in 0001 0256 0257 0512 0513 0700; do
  expect_exit 0 kehu_as admin --json customer search "分批导入客户${i}号"
  expect_eq "P$i" "$(out_jq -r '.items[0].external_code')" "customer $i found by name"
  expect_exit 0 kehu_as admin --json customer search "1370000$i"
  expect_eq "P$i" "$(out_jq -r '.items[0].external_code')" "customer $i found by phone"
done

expect_exit 0 kehu_as admin --json audit --limit 500
expect_eq 1 "$(out_jq '[.items[] | select(.action == "import")] | length')" \
  "one audit entry for the import"
expect_match '700 accepted, 0 updated, 1 duplicates, 0 incomplete, 1 rejected' \
  "$(out_jq -r '.items[] | select(.action == "import") | .details')" "the import's counts"

kehu_stop_server
expect_exit 0 "$KEHU_BUILD/kehu-admin" verify "$KEHU_DATA"
expect_match 'every index entry matches its record' "$OUT" "verify after the import"
