#!/usr/bin/env bash
# docs/architecture.md#search: the ranked search (exact, then prefix, then
# contains, each newest first, a page at a time from the posting lists) gives
# exactly what a scan of every customer gives, page after page to the end:
# on a seeded store, for Chinese terms of two to four characters, names'
# starts, Latin words and their starts, a Chinese city with a Latin brand,
# two terms; as the admin, as a rep (their own customers only) and with a
# stage filter. The scan is tests/integration/search_brute.py.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_init_data "$KEHU_DATA"
kehu_add_user rep1 sales east
kehu_add_user mgr1 manager east
kehu_admin seed "$KEHU_DATA" --customers 1500 >/dev/null
kehu_start_server
expect_exit 0 kehu_as rep1 login
expect_exit 0 kehu_as admin login
# an exact name and names that start with it, older and newer than the rest
for name in 星河贸易 星河 星河科技发展 星河; do
  expect_exit 0 kehu_as rep1 --json customer add --name "$name" --force
done
# binned customers are not found
expect_exit 0 kehu_as rep1 --json customer add --name 星河物流 --force
expect_exit 0 kehu_as rep1 customer delete "$(out_jq .id)"

KEHU_BIN=$KEHU_BUILD/kehu KEHU_CMD_TIMEOUT=$KEHU_CMD_TIMEOUT \
  timeout "$(kehu_scaled 240)" python3 "$KEHU_SRC/tests/integration/search_brute.py" \
  >"$KEHU_TMP/brute.out" 2>&1 || fail "search differs from the scan: $(cat "$KEHU_TMP/brute.out")"
cat "$KEHU_TMP/brute.out"
kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_match 'every index entry matches' "$OUT" "verify after the searches"
