#!/usr/bin/env bash
# Issue 3: attachments through the real kehu: a 5 MiB file (several 1 MiB
# chunks) round-trips byte for byte with its SHA-256; with max_attachment =
# 1 MiB in kehud.conf a 2 MiB file is refused with exit 9, the message names
# the limit, and nothing is stored.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

# The client commands may still be arriving (KEHU_WAIT_MAX seconds to wait;
# by default one look).
KEHU_WAIT_MAX=${KEHU_WAIT_MAX:-0} kehu_wait_for_command attach

kehu_start_server
kehu_add_user s1 sales east
kehu_add_user s2 sales west

expect_exit 0 kehu_as s1 --json customer add --name 附件测试客户
cid=$(out_jq .id)

# --- 5 MiB round trip -------------------------------------------------------
big=$KEHU_TMP/big.bin
head -c $((5 * 1024 * 1024)) /dev/urandom >"$big"
big_sha=$(sha256sum "$big" | cut -d' ' -f1)
expect_exit 0 kehu_as s1 --json attach add "$cid" "$big"
at_big=$(out_jq .id)
[[ -n "$at_big" && "$at_big" != null ]] || fail "attach add --json returned no id: $OUT"
expect_eq $((5 * 1024 * 1024)) "$(out_jq .size)" "attachment .size"
expect_eq "$big_sha" "$(out_jq .sha256)" "attachment .sha256"
expect_eq big.bin "$(out_jq .file_name)" "attachment .file_name"
expect_eq "$cid" "$(out_jq .customer_id)" "attachment .customer_id"

expect_exit 0 kehu_as s1 attach get "$at_big" -o "$KEHU_TMP/big.out"
cmp "$big" "$KEHU_TMP/big.out" || fail "the 5 MiB attachment did not round-trip byte for byte"

# A size just past a 1 MiB chunk, an empty-ish one, and a Chinese file name
# with a media type.
odd=$KEHU_TMP/odd.bin
head -c $((1024 * 1024 + 1)) /dev/urandom >"$odd"
expect_exit 0 kehu_as s1 --json attach add "$cid" "$odd"
at_odd=$(out_jq .id)
expect_exit 0 kehu_as s1 attach get "$at_odd" -o "$KEHU_TMP/odd.out"
cmp "$odd" "$KEHU_TMP/odd.out" || fail "a 1 MiB + 1 byte attachment did not round-trip"
printf 'x' >"$KEHU_TMP/one.bin"
expect_exit 0 kehu_as s1 --json attach add "$cid" "$KEHU_TMP/one.bin"
at_one=$(out_jq .id)
expect_exit 0 kehu_as s1 attach get "$at_one" -o "$KEHU_TMP/one.out"
cmp "$KEHU_TMP/one.bin" "$KEHU_TMP/one.out" || fail "a 1-byte attachment did not round-trip"
quote="$KEHU_TMP/报价单 2024.pdf"
printf '%%PDF-1.4 not really a pdf\n' >"$quote"
expect_exit 0 kehu_as s1 --json attach add "$cid" "$quote" --type application/pdf
at_quote=$(out_jq .id)
expect_eq "报价单 2024.pdf" "$(out_jq .file_name)" "file_name of a Chinese file name"
expect_eq application/pdf "$(out_jq .media_type)" "media_type given with --type"

expect_exit 0 kehu_as s1 --json attach list "$cid"
expect_eq 4 "$(out_jq '.items | length')" "attachments listed"
for id in "$at_big" "$at_odd" "$at_one" "$at_quote"; do
  expect_eq true "$(out_has_id "$id")" "attach list contains $id"
done
expect_eq "$big_sha" "$(out_jq --arg id "$at_big" '.items[] | select(.id == $id) | .sha256')" \
  "sha256 in attach list"
expect_exit 0 kehu_as s1 attach list "$cid"
expect_match '报价单 2024.pdf' "$OUT" "human attach list shows the file name"

# Not found, and another rep's customer.
expect_exit 5 kehu_as s1 attach list C20990101001
expect_exit 5 kehu_as s1 attach add C20990101001 "$quote"
expect_exit 5 kehu_as admin attach get AT999999 -o "$KEHU_TMP/none.out"
expect_exit 4 kehu_as s2 attach list "$cid"
expect_exit 4 kehu_as s2 attach get "$at_quote" -o "$KEHU_TMP/s2.out"
[[ ! -s "$KEHU_TMP/s2.out" ]] || fail "a refused attach get wrote $KEHU_TMP/s2.out"
expect_exit 4 kehu_as s2 attach add "$cid" "$quote"
# A file that does not exist is not uploaded.
rc=0
kehu_as s1 attach add "$cid" "$KEHU_TMP/no-such-file" >/dev/null 2>&1 || rc=$?
((rc != 0)) || fail "attach add of a missing file exited 0"

# --- the size limit ---------------------------------------------------------
kehu_stop_server
kehu_conf_set storage max_attachment 1048576
kehu_start_server

# What was stored before survives the restart.
expect_exit 0 kehu_as s1 attach get "$at_big" -o "$KEHU_TMP/big2.out"
cmp "$big" "$KEHU_TMP/big2.out" || fail "the 5 MiB attachment changed across a restart"

two=$KEHU_TMP/two-mib.bin
head -c $((2 * 1024 * 1024)) /dev/urandom >"$two"
expect_exit 9 kehu_as s1 attach add "$cid" "$two"
expect_match 'max_attachment|1048576|1 ?MiB' "$ERR" "stderr of an attachment over the limit names the limit"
expect_exit 9 kehu_as s1 --json attach add "$cid" "$two"
expect_eq "" "$OUT" "stdout of a refused --json attach add"
expect_eq RESOURCE_EXHAUSTED "$(err_jq .error.code)" "error code of an attachment over the limit"
expect_match 'max_attachment|1048576|1 ?MiB' "$(err_jq .error.message)" "--json message names the limit"
expect_server_alive
expect_exit 0 kehu_as s1 --json attach list "$cid"
expect_eq 4 "$(out_jq '.items | length')" "attachments after the refused upload"
expect_eq false "$(out_jq 'any(.items[]; .file_name == "two-mib.bin")')" \
  "attach list shows the refused two-mib.bin"
# Exactly the limit is allowed.
limit=$KEHU_TMP/limit.bin
head -c 1048576 /dev/urandom >"$limit"
expect_exit 0 kehu_as s1 --json attach add "$cid" "$limit"
at_limit=$(out_jq .id)
expect_exit 0 kehu_as s1 attach get "$at_limit" -o "$KEHU_TMP/limit.out"
cmp "$limit" "$KEHU_TMP/limit.out" || fail "an attachment of exactly max_attachment did not round-trip"

expect_server_alive
kehu_stop_server
expect_exit 0 kehu_admin verify "$KEHU_DATA"
