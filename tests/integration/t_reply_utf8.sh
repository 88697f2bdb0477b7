#!/usr/bin/env bash
# Issue 11: replies carry valid UTF-8 only. A customer get whose id is not
# UTF-8 (and one that is just malformed) and searches with a term that is
# not UTF-8 are refused with INVALID_ARGUMENT whose message decodes as
# strict UTF-8, the bad bytes shown as \xNN, and whose field names what was
# wrong (id, terms). A request with id 0, which is reserved for Hello and
# events, is a protocol error: a final error frame, then the close.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kehu_start_server
expect_exit 0 kehu_as admin login

# wire.py fails itself when a message or field is not strict UTF-8.
out=$(kehu_wire utf8 127.0.0.1 "$KEHU_PORT" "$KEHU_CA" admin adminpass 2>"$KEHU_TMP/utf8.err") ||
  fail "wire.py utf8: $(cat "$KEHU_TMP/utf8.err")"
note "replies:
$out"

line() { grep -m1 "^$1 " <<<"$out" || fail "no reply for $1 in: $out"; }

l=$(line get_bad_utf8)
expect_match '^get_bad_utf8 INVALID_ARGUMENT id ' "$l" "get with id bytes ff fe"
[[ "$l" == *"'\\xff\\xfe'"* ]] || fail "the bad id is not quoted as \\xff\\xfe: $l"
l=$(line get_bad_utf8_long)
expect_match '^get_bad_utf8_long INVALID_ARGUMENT id ' "$l" "get with an id cut inside a character"
[[ "$l" == *'C2024\xc3('* ]] || fail "the valid part of the id is not kept: $l"
l=$(line get_malformed)
expect_match "^get_malformed INVALID_ARGUMENT id id: 'no-such-id' is not a customer id" "$l" \
  "get with a malformed id"
l=$(line search_bad_utf8)
expect_match '^search_bad_utf8 INVALID_ARGUMENT terms .*term 2 is not valid UTF-8' "$l" \
  "search with a second term that is not UTF-8"
l=$(line search_bad_utf8_only)
expect_match '^search_bad_utf8_only INVALID_ARGUMENT terms ' "$l" \
  "search with an overlong '/'"

l=$(line id0)
expect_match '^id0 INVALID_ARGUMENT id=0 protocol error: request id 0 is reserved' "$l" \
  "a request with id 0"
expect_eq "id0-then closed" "$(line id0-then)" "after the error frame for id 0"

# The real client sees the field too.
expect_exit 7 kehu_as admin --json customer get no-such-id
expect_eq INVALID_ARGUMENT "$(err_jq .error.code)" "JSON error code for a malformed id"

expect_server_alive
expect_exit 0 kehu_as admin customer list
kehu_stop_server
