#!/usr/bin/env bash
# Issue 2: the server stays up and keeps serving others when a client sends
# plain text instead of TLS, never finishes the TLS handshake, announces a
# 4 GiB frame, sends a truncated frame, or sends random bytes (before and
# after logging in). After each, a normal client still works.
# shellcheck source=tests/integration/lib.sh disable=SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Writing to a peer that already hung up must not kill this script.
trap '' PIPE

# Hang guards (scaled, lib.sh): how long a hostile connection or an openssl
# client may take before the test calls it hung. The server's own limits
# (handshake_timeout 10 s) are what the checks are about and are not scaled.
T3=$(kehu_scaled 3) T10=$(kehu_scaled 10) T20=$(kehu_scaled 20) T25=$(kehu_scaled 25)
T30=$(kehu_scaled 30)

kehu_start_server
kehu_as admin login >/dev/null 2>&1 || true

n_checks=0
# A normal client still reads and writes.
normal_client_works() {
  local what=$1
  n_checks=$((n_checks + 1))
  expect_server_alive
  expect_exit 0 kehu_as admin --json customer add --name "正常客户 第${n_checks}位"
  local id
  id=$(out_jq .id)
  expect_exit 0 kehu_as admin --json customer get "$id"
  expect_exit 0 kehu_as admin customer list
  expect_match "$id" "$OUT" "customer list after: $what"
}
normal_client_works "start"

# --- frames, written as bytes ----------------------------------------------
# Envelope{id: 0, hello{protocol_version: 1}}
HELLO='\x00\x00\x00\x06\x08\x00\x12\x02\x08\x01'
# Envelope{id: 1, request{login{username: "admin", password: "adminpass"}}}
LOGIN='\x00\x00\x00\x18\x08\x01\x1a\x14\x0a\x12\x0a\x05admin\x12\x09adminpass'

# A TLS 1.2 client that sends the bytes of FILE once the handshake is done.
#   tls_send FILE OUTFILE [openssl options]; returns openssl's exit code.
# -quiet implies -ign_eof (wait for the server to close after our input
# ends); pass -no_ign_eof to hang up as soon as the input ends.
tls_send() {
  local in=$1 out=$2
  shift 2
  local rc=0
  timeout "$T20" openssl s_client -connect "127.0.0.1:$KEHU_PORT" -CAfile "$KEHU_CA" \
    -verify_return_error -tls1_2 -quiet -nocommands "$@" \
    <"$in" >"$out" 2>"$out.err" || rc=$?
  return "$rc"
}

# Hex dump of a file as one string.
hex_of() { od -An -tx1 -v "$1" | tr -d ' \n'; }

# --- (a) plain text instead of TLS -----------------------------------------
exec {raw}<>"/dev/tcp/127.0.0.1/$KEHU_PORT"
printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' 1>&"$raw" 2>/dev/null || true
rc=0
timeout "$T10" cat <&"$raw" >"$KEHU_TMP/plain.out" 2>/dev/null || rc=$?
exec {raw}>&-
((rc != 124)) || fail "(a) the server kept a plain-text (non-TLS) connection open for $T10 s"
normal_client_works "(a) plain text"

# A plain-text client that sends a lot and hangs up.
rc=0
head -c 65536 /dev/zero | tr '\0' 'A' | timeout "$T10" bash -c "cat >/dev/tcp/127.0.0.1/$KEHU_PORT" 2>/dev/null || rc=$?
((rc != 124)) || fail "(a) writing 64 KiB of plain text to the server hung"
normal_client_works "(a) 64 KiB of plain text"

# --- (b) TLS clients that never finish the handshake -----------------------
# One sends the start of a ClientHello (the record says 200 bytes, 6 come),
# others connect and say nothing; all hold their connections open while a
# normal client works.
exec {partial}<>"/dev/tcp/127.0.0.1/$KEHU_PORT"
printf '\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03' >&"$partial"
silent=()
for ((i = 0; i < 20; i++)); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$KEHU_PORT"
  silent+=("$fd")
done
t0=$SECONDS
normal_client_works "(b) 21 stalled handshakes held open"
# The handshake limit (10 s by default) closes them: the server hangs up.
rc=0
timeout "$T25" cat <&"$partial" >/dev/null 2>&1 || rc=$?
((rc != 124)) || fail "(b) a half-sent ClientHello was still open after $((SECONDS - t0)) s (handshake limit is 10 s)"
for fd in "${silent[@]}"; do
  rc=0
  timeout "$T10" cat <&"$fd" >/dev/null 2>&1 || rc=$?
  ((rc != 124)) || fail "(b) a silent connection was still open after $((SECONDS - t0)) s (handshake limit is 10 s)"
  exec {fd}>&-
done
exec {partial}>&-
normal_client_works "(b) stalled handshakes closed by the server"

# --- (c) a frame whose length prefix says 4 GiB ----------------------------
# First frame of the connection.
printf '\xff\xff\xff\xff' >"$KEHU_TMP/huge.in"
rc=0
tls_send "$KEHU_TMP/huge.in" "$KEHU_TMP/huge.out" || rc=$?
((rc != 124)) || fail "(c) the server did not close the connection after a 4 GiB length prefix"
hex=$(hex_of "$KEHU_TMP/huge.out")
# The server's Hello, then a final error frame: a Response (field 4) with
# status RESOURCE_EXHAUSTED (9).
[[ "$hex" == 00000006* || "$hex" =~ ^000000[0-9a-f]{2}0800 ]] ||
  fail "(c) the server did not start with its Hello frame; got: ${hex:0:80}"
[[ "$hex" =~ 22[0-9a-f]{2}0809 ]] ||
  fail "(c) no error frame with status RESOURCE_EXHAUSTED before the close; got: ${hex:0:400}"
grep -aqi 'frame' "$KEHU_TMP/huge.out" ||
  fail "(c) the error frame for a 4 GiB length prefix does not name the frame limit"
normal_client_works "(c) 4 GiB length prefix as the first frame"

# After a valid Hello and login.
printf '%b' "$HELLO$LOGIN"'\xff\xff\xff\xff' >"$KEHU_TMP/huge2.in"
rc=0
tls_send "$KEHU_TMP/huge2.in" "$KEHU_TMP/huge2.out" || rc=$?
((rc != 124)) || fail "(c) the server did not close a logged-in connection after a 4 GiB length prefix"
[[ "$(hex_of "$KEHU_TMP/huge2.out")" =~ 22[0-9a-f]{2}0809 ]] ||
  fail "(c) no RESOURCE_EXHAUSTED error frame after Hello + login + 4 GiB prefix"
# 4 MiB + 1: just over the default limit.
printf '%b' "$HELLO"'\x00\x40\x00\x01' >"$KEHU_TMP/over.in"
rc=0
tls_send "$KEHU_TMP/over.in" "$KEHU_TMP/over.out" || rc=$?
((rc != 124)) || fail "(c) the server did not close the connection after a 4 MiB + 1 length prefix"
[[ "$(hex_of "$KEHU_TMP/over.out")" =~ 22[0-9a-f]{2}0809 ]] ||
  fail "(c) no RESOURCE_EXHAUSTED error frame after a 4 MiB + 1 length prefix"
normal_client_works "(c) 4 GiB length prefix after login"

# --- (d) a truncated frame -------------------------------------------------
# The prefix says 100 bytes, 10 come, and the client hangs up.
printf '%b' "$HELLO"'\x00\x00\x00\x64\x08\x01\x1a\x14\x0a\x12\x0a\x05adm' >"$KEHU_TMP/trunc.in"
rc=0
tls_send "$KEHU_TMP/trunc.in" "$KEHU_TMP/trunc.out" -no_ign_eof || rc=$?
((rc != 124)) || fail "(d) openssl s_client hung sending a truncated frame"
normal_client_works "(d) truncated frame, then close"
# The same, but the TCP connection is cut without a TLS close_notify.
rc=0
printf '%b' "$HELLO"'\x00\x00\x00\x64\x08\x01' | timeout "$T3" openssl s_client \
  -connect "127.0.0.1:$KEHU_PORT" -CAfile "$KEHU_CA" -quiet -nocommands \
  >/dev/null 2>&1 || rc=$?
normal_client_works "(d) truncated frame, then the connection cut"

# --- (e) random bytes ------------------------------------------------------
# Straight after the handshake.
head -c 4096 /dev/urandom >"$KEHU_TMP/random.in"
rc=0
tls_send "$KEHU_TMP/random.in" "$KEHU_TMP/random.out" -no_ign_eof || rc=$?
((rc != 124)) || fail "(e) openssl s_client hung sending random bytes"
normal_client_works "(e) random bytes after the handshake"

# Frames of valid length holding random protobuf bytes, after the Hello.
: >"$KEHU_TMP/garbage.in"
printf '%b' "$HELLO" >>"$KEHU_TMP/garbage.in"
for ((i = 0; i < 50; i++)); do
  len=$((1 + RANDOM % 300))
  printf '%b' "\\x00\\x00\\x$(printf %02x $((len >> 8)))\\x$(printf %02x $((len & 255)))" >>"$KEHU_TMP/garbage.in"
  head -c "$len" /dev/urandom >>"$KEHU_TMP/garbage.in"
done
rc=0
tls_send "$KEHU_TMP/garbage.in" "$KEHU_TMP/garbage.out" || rc=$?
((rc != 124)) || fail "(e) the server did not close a connection sending undecodable frames"
normal_client_works "(e) frames of random protobuf bytes"

# After a real login: wait for the login result, then send random bytes.
fifo=$KEHU_TMP/login.fifo
mkfifo "$fifo"
timeout "$T30" openssl s_client -connect "127.0.0.1:$KEHU_PORT" -CAfile "$KEHU_CA" \
  -verify_return_error -tls1_2 -quiet -nocommands -no_ign_eof \
  <"$fifo" >"$KEHU_TMP/login.out" 2>"$KEHU_TMP/login.err" &
ssl_pid=$!
exec {w}>"$fifo"
printf '%b' "$HELLO$LOGIN" 1>&"$w" || true
logged_in=0
for ((i = 0; i < T10 * 20; i++)); do     # 0.05 s each
  # The LoginResult carries the role "admin".
  if grep -aq 'admin' "$KEHU_TMP/login.out" 2>/dev/null; then logged_in=1; break; fi
  kill -0 "$ssl_pid" 2>/dev/null || break
  sleep 0.05
done
((logged_in)) || fail "(e) a hand-made Hello + login got no login result; got: $(hex_of "$KEHU_TMP/login.out" | head -c 400)"
head -c 4096 /dev/urandom 1>&"$w" 2>/dev/null || true
exec {w}>&-
rc=0
wait "$ssl_pid" || rc=$?
((rc != 124)) || fail "(e) openssl s_client hung sending random bytes after login"
normal_client_works "(e) random bytes after login"

# --- many at once ----------------------------------------------------------
pids=()
for ((i = 0; i < 10; i++)); do
  head -c 4096 /dev/urandom >"$KEHU_TMP/random.$i.in"
  tls_send "$KEHU_TMP/random.$i.in" "$KEHU_TMP/random.$i.out" -no_ign_eof &
  pids+=($!)
  timeout "$T10" bash -c "printf 'HELO\r\n' >/dev/tcp/127.0.0.1/$KEHU_PORT" 2>/dev/null &
  pids+=($!)
done
normal_client_works "(all) 20 hostile clients at once"
for pid in "${pids[@]}"; do wait "$pid" || true; done
normal_client_works "(all) after 20 hostile clients"

expect_server_alive
kehu_stop_server
