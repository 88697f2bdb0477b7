#!/usr/bin/env bash
# Issue 2: the client verifies the server's certificate against the CA file it
# was given, and every way of not reaching a verified server exits 8.
# shellcheck source=tests/integration/lib.sh disable=SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kehu_start_server
export KEHU_USER=admin KEHU_PASSWORD=adminpass

# A second, unrelated installation: its CA did not sign our server.
other=$KEHU_TMP/other-data
kehu_init_data "$other"
other_ca=$other/tls/ca.crt
cmp -s "$other_ca" "$KEHU_CA" && fail "two kehu-admin init runs produced the same CA"

# The wrong CA, with no session stored yet.
expect_exit 8 kehu --ca "$other_ca" customer list
expect_match '[Cc]ertificate|CA|[Vv]erif' "$ERR" "stderr for the wrong CA"
expect_eq "" "$OUT" "stdout for the wrong CA"
[[ ! -s "$XDG_CONFIG_HOME/kehu/session" ]] || fail "a refused TLS handshake left a session file"

# The right CA works; now a session (token + TLS session) is stored.
expect_exit 0 kehu customer list
expect_exit 0 kehu customer add --name "TLS Check Ltd"

# The stored TLS session is bound to the CA: the wrong CA still fails.
expect_exit 8 kehu --ca "$other_ca" customer list
expect_match '[Cc]ertificate|CA|[Vv]erif' "$ERR" "stderr for the wrong CA after a session was stored"
expect_exit 8 kehu --json --ca "$other_ca" customer list
expect_eq "" "$OUT" "stdout of a failed --json command"
expect_eq UNAVAILABLE "$(err_jq .error.code)" "--json error code for the wrong CA"

# The certificate names localhost as well as 127.0.0.1.
expect_exit 0 kehu --server "localhost:$KEHU_PORT" customer list
expect_match 'TLS Check Ltd' "$OUT" "list through localhost"

# The CA also from the environment and from the config file.
KEHU_CA=$other_ca expect_exit 8 kehu customer list
mkdir -p "$KEHU_TMP/cfg/kehu"
printf 'server = %s\nca = %s\nuser = admin\n' "$KEHU_SERVER" "$KEHU_CA" >"$KEHU_TMP/cfg/kehu/config"
(
  unset KEHU_SERVER KEHU_CA KEHU_USER
  XDG_CONFIG_HOME=$KEHU_TMP/cfg expect_exit 0 kehu customer list
  sed -i "s|^ca = .*|ca = $other_ca|" "$KEHU_TMP/cfg/kehu/config"
  XDG_CONFIG_HOME=$KEHU_TMP/cfg expect_exit 8 kehu customer list
)

# A CA file that does not exist.
expect_exit 8 kehu --ca "$KEHU_TMP/no-such-ca.crt" customer list
expect_match 'no-such-ca\.crt|CA|[Cc]ertificate' "$ERR" "stderr for a missing CA file"

# OpenSSL agrees: the chain verifies, the IP and the DNS name are in the
# certificate, and only TLS 1.2 is offered.
ossl() {
  timeout "$(kehu_scaled 10)" openssl s_client -connect "127.0.0.1:$KEHU_PORT" -CAfile "$1" \
    -verify_return_error "${@:2}" </dev/null
}
expect_exit 0 ossl "$KEHU_CA" -tls1_2 -verify_ip 127.0.0.1
expect_match 'Verify return code: 0' "$OUT" "openssl s_client verification"
expect_exit 0 ossl "$KEHU_CA" -tls1_2 -verify_hostname localhost
expect_exit 1 ossl "$other_ca" -tls1_2
expect_exit 1 ossl "$KEHU_CA" -tls1_3

expect_server_alive
port=$KEHU_PORT
kehu_stop_server

# Nothing listens there any more.
expect_exit 8 kehu --server "127.0.0.1:$port" customer list
expect_exit 8 kehu --json --server "127.0.0.1:$port" customer list
expect_eq UNAVAILABLE "$(err_jq .error.code)" "--json error code for a closed port"
