#!/usr/bin/env bash
# Issue 4: sensitive values are encrypted at rest. Phones, emails, contract
# and order amounts, budgets and attachment bytes written through the real
# kehu must not appear in the raw LMDB file, in text or as the protobuf
# varint of the amount in fen; the customer's name (stored in clear) must,
# which shows the check can see plaintext at all.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

export LC_ALL=C
kehu_start_server

NAME=PlaintextVisibleCustomerQX7
expect_exit 0 kehu_as admin --json customer add --name "$NAME"
cid=$(out_jq .id)
expect_exit 0 kehu_as admin --json contact add "$cid" --name 保密联系人 --phone 13912345678 \
  --email secret.mail@example.com --wechat wx_secret_id
ct=$(out_jq .id)
# An update: neither the old nor the new phone may reach the file (the
# audit log records changed fields, never sensitive values).
expect_exit 0 kehu_as admin --json contact update "$ct" --phone 13987654321 \
  --email other.secret@example.com
expect_exit 0 kehu_as admin --json contract add "$cid" --number ENC-HT-1 --amount 98765.43 \
  --signed 2024-01-01 --start 2024-01-01 --end 2025-01-01
expect_eq 98765.43 "$(out_jq .amount)" "contract amount"
expect_exit 0 kehu_as admin --json order add "$cid" --amount 45678.91 --product 加密产品
expect_eq 45678.91 "$(out_jq .amount)" "order amount"
expect_exit 0 kehu_as admin --json need add "$cid" --kind product --description 预算 --budget 31415.92
expect_eq 31415.92 "$(out_jq .budget)" "need budget"
marker=ATTACHMENT-PLAINTEXT-MARKER-5f3a9c
for ((i = 0; i < 2000; i++)); do echo "$marker line $i"; done >"$KEHU_TMP/marker.txt"
expect_exit 0 kehu_as admin --json attach add "$cid" "$KEHU_TMP/marker.txt"
at=$(out_jq .id)

# Everything reads back in clear through the API.
expect_exit 0 kehu_as admin --json contact list "$cid"
expect_eq '["13987654321"]' "$(out_jq -c '.items[0].phones')" "phones read back"
expect_eq other.secret@example.com "$(out_jq '.items[0].email')" "email read back"
expect_exit 0 kehu_as admin --json contract list "$cid"
expect_eq 98765.43 "$(out_jq '.items[0].amount')" "contract amount read back"
expect_exit 0 kehu_as admin attach get "$at" -o "$KEHU_TMP/marker.out"
cmp "$KEHU_TMP/marker.txt" "$KEHU_TMP/marker.out" || fail "the attachment did not round-trip"

kehu_stop_server
db=$KEHU_DATA/db/data.mdb
[[ -s "$db" ]] || fail "$db not found"

count() { grep -a -c -F -e "$1" "$db" || true; }
# The check can see plaintext: the customer's name is stored in clear.
(($(count "$NAME") > 0)) || fail "the customer name $NAME is not in $db: the check cannot see plaintext"

for secret in 13912345678 13987654321 12345678 secret.mail other.secret "$marker" \
              98765.43 9876543 45678.91 4567891 31415.92 3141592; do
  n=$(count "$secret")
  ((n == 0)) || fail "'$secret' appears in clear in $db ($n lines)"
done

# The amounts in fen as protobuf varints (4 bytes each, so a match by chance
# in a few MB of ciphertext is very unlikely): none may appear either.
varint() { perl -e 'my $n = shift; my $s = ""; while ($n >= 0x80) { $s .= chr(($n & 0x7f) | 0x80); $n >>= 7 } print $s . chr($n)' "$1"; }
for fen in 9876543 4567891 3141592; do
  v=$(varint "$fen" | od -An -tx1 | tr -d ' \n')
  ((${#v} >= 8)) || fail "varint of $fen is only ${#v} hex digits"
  perl -0777 -ne "exit(index(\$_, pack('H*', '$v')) >= 0 ? 1 : 0)" "$db" ||
    fail "the varint of $fen fen ($v) appears in $db: an amount stored in clear"
done

# The data key sits beside the database, readable by its owner only.
key=$(find "$KEHU_DATA" -maxdepth 1 -name '*key*' -type f | head -n 1)
[[ -n "$key" ]] || fail "no data key file in $KEHU_DATA"
expect_eq 600 "$(stat -c %a "$key")" "mode of the data key $key"

expect_exit 0 kehu_admin verify "$KEHU_DATA"
