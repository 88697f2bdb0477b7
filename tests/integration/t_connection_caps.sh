#!/usr/bin/env bash
# Issue 9: a client beyond max_connections is told why. With
# max_connections = 2 and two logged-in connections held open, a third
# connection completes its TLS handshake and gets the server's Hello and
# then a final RESOURCE_EXHAUSTED frame naming max_connections, and `kehu`
# turns that into exit 9 with a message naming the limit (not exit 8, "TLS
# handshake failed"). The two held connections keep working, and once one
# leaves a new client gets in.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kehu_init_data
kehu_conf_set server max_connections 2
kehu_conf_set server max_unauthenticated 2
kehu_start_server
expect_exit 0 kehu_as admin login

# Two logged-in connections, each asking whoami every second.
holders=()
for i in 1 2; do
  KEHU_WIRE_TIMEOUT=300 kehu_wire_bg /dev/null "$KEHU_TMP/hold$i.err" hold 127.0.0.1 \
    "$KEHU_PORT" "$KEHU_CA" login "$KEHU_TMP/hold$i.state" admin adminpass
  holders+=("$WIRE_PID")
  kehu_wait_file 60 "$KEHU_TMP/hold$i.state" '^open'
done

# The real client: exit 9, the limit named, in text and in JSON.
expect_exit 9 kehu_as admin customer list
expect_match 'max_connections' "$ERR" "kehu's message over the connection cap"
expect_exit 9 kehu_as admin --json customer list
expect_eq RESOURCE_EXHAUSTED "$(err_jq .error.code)" "JSON error code over the connection cap"
expect_match 'max_connections' "$(err_jq .error.message)" "JSON error message over the connection cap"

# On the wire: Hello first, then a final error frame with id 0.
got=$(kehu_wire capped 127.0.0.1 "$KEHU_PORT" "$KEHU_CA") || fail "wire.py capped failed"
expect_match '^RESOURCE_EXHAUSTED 0 .*max_connections = 2' "$got" "the frame a third connection gets"

# The held connections were not disturbed.
for i in 1 2; do
  n0=$(awk '{print $2}' "$KEHU_TMP/hold$i.state")
  kehu_wait_file 30 "$KEHU_TMP/hold$i.state" "^open ([0-9]+)$"
  for ((t = 0; t < $(kehu_scaled 100); t++)); do
    n=$(awk '{print $2}' "$KEHU_TMP/hold$i.state")
    [[ "$n" =~ ^[0-9]+$ ]] && ((n > n0)) && break
    sleep 0.1
  done
  [[ "$n" =~ ^[0-9]+$ ]] && ((n > n0)) ||
    fail "held connection $i stopped being answered: $(cat "$KEHU_TMP/hold$i.state")"
done

# One leaves: a new client gets in (the slot frees when kehud sees the close).
kill "${holders[0]}" 2>/dev/null || true
wait "${holders[0]}" 2>/dev/null || true
ok=0
for ((t = 0; t < $(kehu_scaled 40); t++)); do
  if kehu_as admin customer list >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.25
done
((ok)) || fail "no client got in after a held connection closed"
expect_exit 0 kehu_as admin customer list

kill "${holders[1]}" 2>/dev/null || true
wait "${holders[1]}" 2>/dev/null || true
expect_server_alive
kehu_stop_server
