#!/usr/bin/env bash
# kehu-admin cert and SIGHUP (docs/operations.md#tls-certificates): a renewed
# server certificate under the same CA (its names kept, or those given)
# is taken by kehud on SIGHUP for new connections, while a `kehu watch`
# connected before stays connected and keeps receiving pushed reminders;
# kehud.conf's limits are read again; a certificate that does not load
# changes nothing and kehud goes on.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"

kehu_init_data "$KEHU_DATA"
expect_exit 0 kehu_admin cert "$KEHU_DATA" --host crm.example.com
expect_match 'renewed .*server.crt for localhost 127.0.0.1 ::1 crm.example.com' "$OUT" "cert's report"
kehu_start_server
kehu_add_user s1 sales east
expect_exit 0 kehu_as s1 login
watch_start s1 w

served_sans() { # the subjectAltName of the certificate a new connection gets
  openssl s_client -connect "$KEHU_SERVER" -servername localhost </dev/null 2>/dev/null |
    openssl x509 -noout -ext subjectAltName 2>/dev/null | tail -n 1
}
expect_match 'DNS:crm.example.com' "$(served_sans)" "the certificate served at first"

# renewed without --host: the names are kept; with --host: the new ones
expect_exit 0 kehu_admin cert "$KEHU_DATA"
expect_match 'for localhost 127.0.0.1 ::1 crm.example.com$' "$(head -n 1 <<<"$OUT")" \
  "the names kept by a renewal"
expect_exit 0 kehu_admin cert "$KEHU_DATA" --host kehu.example.org
openssl verify -CAfile "$KEHU_DATA/tls/ca.crt" "$KEHU_DATA/tls/server.crt" >/dev/null ||
  fail "the renewed certificate is not signed by the data directory's CA"
expect_match 'DNS:crm.example.com' "$(served_sans)" "the certificate served before SIGHUP"
kehu_conf_set server idle_timeout 1234
kill -HUP "$KEHU_PID"
limit=$(kehu_scaled 10)
for ((i = 0; i < limit * 20; i++)); do
  grep -q 'reload: kehud.conf read' "$KEHU_LOG" && break
  sleep 0.05
done
grep -q 'reload: certificate .* for new connections' "$KEHU_LOG" || fail "no reload in the log"
grep -q 'reload: kehud.conf read (max_connections [0-9]*, idle_timeout 1234 s)' "$KEHU_LOG" ||
  fail "the limits were not read again: $(grep reload "$KEHU_LOG")"
sans=$(served_sans)
expect_match 'DNS:kehu.example.org' "$sans" "the certificate served after SIGHUP"
[[ "$sans" == *crm.example.com* ]] && fail "the old certificate is still served: $sans"
# clients that trust the CA connect as before
expect_exit 0 kehu_as admin --json customer add --name 证书续期测试有限公司

# the watch connected before the reload is still there and still told
watch_expect_alive w
expect_exit 0 kehu_as s1 --json reminder add --at "$(server_iso -1)" --message 续期后的提醒
watch_wait w '.reminder.message == "续期后的提醒"' 10 ||
  fail "the watch connected before SIGHUP did not get the reminder"

# a certificate that does not load: nothing changes, kehud goes on
cp "$KEHU_DATA/tls/server.crt" "$KEHU_TMP/good.crt"
printf 'not a certificate\n' >"$KEHU_DATA/tls/server.crt"
kill -HUP "$KEHU_PID"
for ((i = 0; i < limit * 20; i++)); do
  grep -q 'the certificate in use stays' "$KEHU_LOG" && break
  sleep 0.05
done
grep -q 'the certificate in use stays' "$KEHU_LOG" || fail "a bad certificate was not refused"
expect_match 'DNS:kehu.example.org' "$(served_sans)" "the certificate served after a bad reload"
cp "$KEHU_TMP/good.crt" "$KEHU_DATA/tls/server.crt"
expect_server_alive
watch_stop w
