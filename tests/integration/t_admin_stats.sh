#!/usr/bin/env bash
# kehu-admin stats (docs/operations.md#monitoring): records per kind and
# tables as the store holds them, the last backup, kehud's connections and
# requests while it runs (and "not running" when it does not); --json as
# documented; --prometheus valid text exposition format (parsed by the
# Prometheus Python client's own parser) with the same figures.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

py=$(kehu_python_with prometheus_client python3-prometheus-client)
kehu_start_server
kehu_add_user s1 sales east
for i in 1 2 3 4 5; do
  expect_exit 0 kehu_as s1 --json customer add --name "统计测试客户$i号有限公司"
done
expect_exit 0 kehu_as s1 contact add "$(out_jq -r .id)" --name 赵敏 --phone 13922223333
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$KEHU_TMP/backups"
backup=${OUT%/}

# kehud rewrites its figures every second: wait (bounded) until they count our
# requests and their writes (a request is counted when it arrives, its write
# when it commits)
limit=$(kehu_scaled 30)
for ((i = 0; i < limit * 4; i++)); do
  kehu_admin stats "$KEHU_DATA" --json >"$KEHU_TMP/stats.json" 2>/dev/null &&
    [[ "$(jq '.kehud.requests // 0' "$KEHU_TMP/stats.json")" -ge 7 &&
       "$(jq '.kehud.writes // 0' "$KEHU_TMP/stats.json")" -ge 6 ]] && break
  sleep 0.25
done
expect_exit 0 kehu_admin stats "$KEHU_DATA" --json
expect_eq 5 "$(out_jq .records.customer)" "customers"
expect_eq 1 "$(out_jq .records.contact)" "contacts"
expect_eq 2 "$(out_jq .records.user)" "users"
expect_eq "$backup" "$(out_jq -r .last_backup.path)" "the last backup"
expect_eq "$KEHU_PID" "$(out_jq .kehud.pid)" "kehud's pid"
[[ "$(out_jq .kehud.requests)" -ge 7 ]] || fail "kehud's requests: $(out_jq .kehud)"
[[ "$(out_jq .kehud.writes)" -ge 6 ]] || fail "kehud's writes: $(out_jq .kehud)"
# the time its commits took (pages written and synced): some, for 6 writes
out_jq -e '.kehud.commit_ms > 0' >/dev/null || fail "kehud's commit time: $(out_jq .kehud)"
[[ "$(out_jq .audit_entries)" -ge 6 ]] || fail "audit entries: $(out_jq .audit_entries)"
expect_eq 5 "$(out_jq '.tables[] | select(.name == "customers") | .entries')" "the customers table"
[[ "$(out_jq .store.used)" -gt 0 && "$(out_jq .store.used)" -le "$(out_jq .store.map_size)" ]] ||
  fail "map use: $(out_jq .store)"
requests=$(out_jq .kehud.requests)

expect_exit 0 kehu_admin stats "$KEHU_DATA" --prometheus
printf '%s\n' "$OUT" >"$KEHU_TMP/metrics.prom"
"$py" - "$KEHU_TMP/metrics.prom" "$requests" <<'PY' || fail "the Prometheus text is not as expected"
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
values = {}
for family in text_string_to_metric_families(text):   # raises on invalid text
    for s in family.samples:
        values[(s.name, tuple(sorted(s.labels.items())))] = s.value
def get(name, **labels):
    return values[(name, tuple(sorted(labels.items())))]
assert get("kehu_customers_total") == 5, values
assert get("kehu_records", kind="contact") == 1
assert get("kehu_table_entries", table="customers") == 5
assert get("kehu_up") == 1
assert get("kehu_requests_total") >= int(sys.argv[2])
assert get("kehu_last_backup_timestamp_seconds") > 1.7e9
assert get("kehu_map_used_bytes") <= get("kehu_map_size_bytes")
PY

# human output
expect_exit 0 kehu_admin stats "$KEHU_DATA"
expect_match "kehud +running \\(pid $KEHU_PID\\)" "$OUT" "kehud in the human output"
expect_match 'customer 5, contact 1' "$OUT" "records in the human output"

# kehud stopped: its figures go, the store's stay
kehu_stop_server
expect_exit 0 kehu_admin stats "$KEHU_DATA" --json
expect_eq null "$(out_jq .kehud)" "kehud when stopped"
expect_eq 5 "$(out_jq .records.customer)" "customers with kehud stopped"
expect_exit 0 kehu_admin stats "$KEHU_DATA" --prometheus
expect_match 'kehu_up 0' "$OUT" "kehu_up when stopped"
[[ "$OUT" == *kehu_requests_total* ]] && fail "request counts of a stopped kehud"

expect_exit 2 kehu_admin stats "$KEHU_DATA" --json --prometheus
expect_exit 2 kehu_admin stats
expect_exit 5 kehu_admin stats "$KEHU_TMP/nowhere"
