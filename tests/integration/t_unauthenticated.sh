#!/usr/bin/env bash
# Issue 10: connections that never log in cannot hold slots. A connection
# must send its Hello within handshake_timeout of connecting and log in
# within login_timeout of the Hello; connections not logged in have their
# own cap, max_unauthenticated, below max_connections, and one over it gets
# a final RESOURCE_EXHAUSTED frame naming it. Logged-in connections (a held
# one asking whoami every second, and `kehu watch`) are never touched.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kehu_init_data
kehu_conf_set server max_connections 6
kehu_conf_set server max_unauthenticated 3

# holder N STAGE [USER PASSWORD]: a connection that stops at STAGE (tcp,
# tls, hello, login), its state in $KEHU_TMP/STAGE.N.state; sets WIRE_PID.
holder() {
  local n=$1 stage=$2
  shift 2
  rm -f "$KEHU_TMP/$stage.$n.state"
  KEHU_WIRE_TIMEOUT=300 kehu_wire_bg /dev/null "$KEHU_TMP/$stage.$n.err" hold 127.0.0.1 \
    "$KEHU_PORT" "$KEHU_CA" "$stage" "$KEHU_TMP/$stage.$n.state" "$@"
  kehu_wait_file 60 "$KEHU_TMP/$stage.$n.state" '^open'
}

# The whoami count of a logged-in holder goes up: it is still served.
expect_served() {
  local file=$1 n0 n t
  n0=$(awk '{print $2}' "$file")
  for ((t = 0; t < $(kehu_scaled 150); t++)); do
    n=$(awk '{print $2}' "$file")
    [[ "$n" =~ ^[0-9]+$ ]] && ((n > n0)) && return 0
    sleep 0.1
  done
  fail "a logged-in connection stopped being served: $(cat "$file")"
}

# --- the cap on connections not logged in ------------------------------------
# Long timeouts here: the idle connections stay while the cap is checked.
kehu_conf_set server handshake_timeout 60
kehu_conf_set server login_timeout 60
kehu_start_server
expect_exit 0 kehu_as admin login
holder 1 login admin adminpass
login1=$WIRE_PID
idle=()
holder 1 tcp
idle+=("$WIRE_PID")
holder 1 tls
idle+=("$WIRE_PID")
holder 1 hello
idle+=("$WIRE_PID")

# Three not logged in: a fourth is told which cap it hit.
got=$(kehu_wire capped 127.0.0.1 "$KEHU_PORT" "$KEHU_CA") || fail "wire.py capped failed"
expect_match '^RESOURCE_EXHAUSTED 0 .*max_unauthenticated = 3' "$got" \
  "the frame a fourth connection not logged in gets"
# The real client too: it connects before it logs in (exit 9, the cap named).
expect_exit 9 kehu_as admin customer list
expect_match 'max_unauthenticated' "$ERR" "kehu's message over the unauthenticated cap"
# The logged-in connection is not affected.
expect_served "$KEHU_TMP/login.1.state"

# They leave: clients get in again.
for pid in "${idle[@]}"; do kill "$pid" 2>/dev/null || true; done
kehu_wait_all "$(kehu_scaled 20)" "${idle[@]}"
ok=0
for ((t = 0; t < $(kehu_scaled 40); t++)); do
  if kehu_as admin customer list >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.25
done
((ok)) || fail "no client got in after the idle connections left"
kill "$login1" 2>/dev/null || true
kehu_wait_all "$(kehu_scaled 20)" "$login1"
kehu_stop_server

# --- the timeouts ------------------------------------------------------------
kehu_conf_set server handshake_timeout 2
kehu_conf_set server login_timeout 2
kehu_start_server
holder 2 login admin adminpass
login2=$WIRE_PID
# kehu watch: logged in, silent by design.
kehu_as admin watch >"$KEHU_TMP/watch.out" 2>"$KEHU_TMP/watch.err" &
watch=$!
t0=$SECONDS
holder 2 tcp
holder 2 tls
holder 2 hello
# Each is closed by the server on time: within 2 s (+ generous slack, a
# hang guard), and not at once.
for stage in tcp tls hello; do
  kehu_wait_file 60 "$KEHU_TMP/$stage.2.state" 'closed [0-9.]+$'
done
for stage in tcp hello; do
  secs=$(grep -oE '[0-9.]+$' "$KEHU_TMP/$stage.2.state")
  awk -v s="$secs" 'BEGIN { exit !(s >= 1.0) }' ||
    fail "the $stage connection was closed after $secs s, before its 2 s limit"
done
note "closed after (s): tcp $(grep -oE '[0-9.]+$' "$KEHU_TMP/tcp.2.state"), TLS without Hello $(grep -oE '[0-9.]+$' "$KEHU_TMP/tls.2.state"), Hello without login $(grep -oE '[0-9.]+$' "$KEHU_TMP/hello.2.state"); all within $((SECONDS - t0)) s"
# The TLS ones were told why.
expect_match '^error RESOURCE_EXHAUSTED .*handshake_timeout' "$(cat "$KEHU_TMP/tls.2.state")" \
  "what a TLS connection without Hello is told"
expect_match '^error UNAUTHENTICATED .*login_timeout' "$(cat "$KEHU_TMP/hello.2.state")" \
  "what a connection without login is told"

# Long after both limits, the logged-in ones are still there.
expect_served "$KEHU_TMP/login.2.state"
kehu_alive "$watch" || fail "kehu watch ended: $(cat "$KEHU_TMP/watch.err")"
expect_exit 0 kehu_as admin customer list

kill "$watch" "$login2" 2>/dev/null || true
kehu_wait_all "$(kehu_scaled 20)" "$watch" "$login2"
expect_server_alive
kehu_stop_server
