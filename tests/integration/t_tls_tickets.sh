#!/usr/bin/env bash
# TLS session tickets outlive a restart (docs/protocol.md#transport-and-tls,
# docs/operations.md#tls-certificates): kehud keeps their keys in
# tls/ticket.key (mode 0600, never in a backup), so a kehu whose TLS session
# was saved before the restart resumes it afterwards, as kehu-admin stats
# counts (full and resumed handshakes, refused tickets). A ticket altered on
# the client's disk, or expired (the server's clock 13 h on), is refused and
# the client gets a full handshake that works.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_init_data
kehu_add_user rep1 sales
kehu_start_server
port=$KEHU_PORT
key=$KEHU_DATA/tls/ticket.key
session=$KEHU_TMP/users/rep1/kehu/session.tls

[[ -f "$key" ]] || fail "kehud did not make $key"
expect_eq 600 "$(stat -c %a "$key")" "the mode of tls/ticket.key"

expect_exit 0 kehu_as rep1 login   # a full handshake; kehu saves the session
[[ -s "$session" ]] || fail "kehu saved no TLS session in $session"
expect_exit 0 kehu_as rep1 whoami

# wait_handshakes N: until kehud.stats (rewritten every second) counts N
# handshakes of this kehud; then FULL, RESUMED and REFUSED hold its figures.
wait_handshakes() {
  local want=$1 i limit total=0
  limit=$(kehu_scaled 20)
  for ((i = 0; i < limit * 4; i++)); do
    OUT=$(kehu_admin stats "$KEHU_DATA" --json 2>/dev/null) || OUT='{}'
    total=$(jq '(.kehud.tls_full_handshakes // 0) + (.kehud.tls_resumed_handshakes // 0)' \
            <<<"$OUT" 2>/dev/null) || total=0
    ((total >= want)) && break
    sleep 0.25
  done
  ((total >= want)) || fail "kehud counted $total TLS handshakes within $limit s, not $want"
  FULL=$(out_jq .kehud.tls_full_handshakes)
  RESUMED=$(out_jq .kehud.tls_resumed_handshakes)
  REFUSED=$(out_jq .kehud.tls_tickets_refused)
}

wait_handshakes 2
expect_eq "1 1 0" "$FULL $RESUMED $REFUSED" "full, resumed, refused before the restart"

# restart on the same address: the session kehu saved is offered again
restart() {
  kehu_stop_server
  kehu_start_server --listen "127.0.0.1:$port"
  expect_eq "$port" "$KEHU_PORT" "the port after the restart"
}
restart
expect_exit 0 kehu_as rep1 whoami
wait_handshakes 1
expect_eq "0 1 0" "$FULL $RESUMED $REFUSED" "full, resumed, refused after the restart"

# a ticket altered on the client's disk: refused, and a full handshake works
python3 - "$key" "$session" <<'PY' || fail "could not alter the saved ticket"
import sys
key = open(sys.argv[1], "rb").read()
data = bytearray(open(sys.argv[2], "rb").read())
ids = [key[5 + 44 * i:9 + 44 * i] for i in range(key[4])]
# the ticket: version 1, key id, IV, sealed session, tag
at = next(data.find(b"\x01" + i) for i in ids if data.find(b"\x01" + i) >= 0)
data[at + 40] ^= 0x55   # inside the sealed session
open(sys.argv[2], "wb").write(bytes(data))
PY
expect_exit 0 kehu_as rep1 whoami
expect_match 'rep1' "$OUT" "whoami after the altered ticket"
wait_handshakes 2
expect_eq "1 1 1" "$FULL $RESUMED $REFUSED" "full, resumed, refused after an altered ticket"
expect_exit 0 kehu_as rep1 whoami   # the new session resumes
wait_handshakes 3
expect_eq "1 2 1" "$FULL $RESUMED $REFUSED" "after the session saved from the full handshake"

# expired: the server's clock 13 h on (tickets last 12 h); the ticket key
# has issued for its 12 h, so a new one issues and the old one is kept
export KEHU_CLOCK_OFFSET=$((13 * 3600))
restart
expect_eq 93 "$(stat -c %s "$key")" "the size of tls/ticket.key with two keys"
expect_exit 0 kehu_as rep1 whoami   # the 12 h session token expired too: logs in again
wait_handshakes 1
expect_eq "1 0 1" "$FULL $RESUMED $REFUSED" "full, resumed, refused with the ticket expired"
expect_exit 0 kehu_as rep1 whoami
wait_handshakes 2
expect_eq "1 1 1" "$FULL $RESUMED $REFUSED" "after the session saved from the full handshake"

# the key file stays private, and no backup holds it
chmod 0644 "$key"
restart
expect_eq 600 "$(stat -c %a "$key")" "the mode of tls/ticket.key after kehud started"
expect_exit 0 kehu_as rep1 whoami
wait_handshakes 1
expect_eq "0 1 0" "$FULL $RESUMED $REFUSED" "resumed after a restart that fixed the mode"
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$KEHU_TMP/backups"
backup=${OUT%/}
[[ -f "$backup/tls/server.key" && -f "$backup/tls/ca.crt" ]] || fail "the backup lacks tls/"
[[ -e "$backup/tls/ticket.key" ]] && fail "the backup holds tls/ticket.key"
grep -q 'ticket' "$backup/manifest.json" && fail "the backup's manifest names the ticket key"
kehu_stop_server
