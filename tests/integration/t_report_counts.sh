#!/usr/bin/env bash
# The report counts (docs/storage.md#report-counts): summary, funnel, tiers,
# churn and kpi over all time are answered from counts kept in the writing
# transaction. After a seeded store and thousands of mixed writes — adds,
# updates changing the stage (kehu-bench), follow-ups, reassignments,
# deletes to the bin, restores, purges, orders (tiers moving to high,
# potential and churn_risk; one dated ahead), tickets (answered, overdue,
# not yet due), an import — each kind's JSON equals the same report read
# from every record (a --since before all data takes that path, and covers
# the same customers and events), as the admin, a manager and a rep; the
# summary's stage and customer figures also equal a count of `customer
# list --all`; `kehu-admin verify` passes, and names the count when one is
# changed behind the store's back; `kehu-admin reindex` puts it right.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

[[ -x "$KEHU_BUILD/kehu-bench" ]] || fail "$KEHU_BUILD/kehu-bench not found (build first)"
command -v python3 >/dev/null || fail "python3 is required for this test"

kehu_init_data "$KEHU_DATA"
kehu_add_user rep.east sales east
kehu_add_user rep.west sales west
kehu_add_user mgr.east manager east
expect_exit 0 kehu_admin seed "$KEHU_DATA" --customers 1000
kehu_start_server

# --- thousands of writes -----------------------------------------------------------
bench() {   # USER OP SECONDS: kehu-bench on 2 connections; fails on errors
  KEHU_PASSWORD=$(kehu_password_of "$1") timeout "$(kehu_scaled 60)" "$KEHU_BUILD/kehu-bench" \
    --server "$KEHU_SERVER" --ca "$KEHU_CA" --user "$1" --connections 2 --depth 4 \
    --duration "$3" --op "$2" --json >"$KEHU_TMP/bench.json" 2>"$KEHU_TMP/bench.err" ||
    { cat "$KEHU_TMP/bench.err" >&2; fail "kehu-bench --op $2 as $1 failed"; }
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        r = json.loads(line)
        if r.get("errors"):
            sys.exit("kehu-bench: %d errors" % r["errors"])
' "$KEHU_TMP/bench.json" || fail "kehu-bench --op $2 as $1 reported errors"
}
bench rep.east add 1
bench rep.west update 2
bench mgr.east followup 1
bench admin update 2

list_all() {   # USER: every live customer USER sees, as JSON lines, page by page
  local cursor="" page
  for page in $(seq 1 40); do
    if [[ -n "$cursor" ]]; then
      expect_exit 0 kehu_as "$1" --json customer list --limit 500 --cursor "$cursor"
    else
      expect_exit 0 kehu_as "$1" --json customer list --limit 500
    fi
    out_jq -c '.items[]'
    cursor=$(out_jq -r '.next_cursor // empty')
    [[ -n "$cursor" ]] || return 0
  done
  fail "customer list as $1: more than 40 pages"
}
ids_of() {   # USER: the ids of the live customers USER sees, one per line
  list_all "$1" | jq -r .id
}
mapfile -t east < <(ids_of rep.east)
mapfile -t west < <(ids_of rep.west)
((${#east[@]} > 60 && ${#west[@]} > 60)) || fail "the seed gave rep.east ${#east[@]} and rep.west ${#west[@]} customers"

day() { date -u -d "@$(($(date +%s) + $1 * 86400))" +%Y-%m-%dT%H:%M:%SZ; }
# stages by hand, with a reason, and to lost
for i in $(seq 0 9); do
  expect_exit 0 kehu_as rep.east customer stage "${east[$i]}" lost --reason 预算取消
  expect_exit 0 kehu_as rep.west customer stage "${west[$i]}" closed
done
# orders: two large recent ones (high), one recent (potential), one long ago
# (churn_risk), one dated ahead; as the reps
for i in $(seq 10 19); do
  expect_exit 0 kehu_as rep.east order add "${east[$i]}" --amount 80000 --product 设备
  expect_exit 0 kehu_as rep.east order add "${east[$i]}" --amount 40000 --product 服务
  expect_exit 0 kehu_as rep.west order add "${west[$i]}" --amount 500 --product 配件
  expect_exit 0 kehu_as rep.west order add "${west[$((i + 10))]}" --amount 900 --at "$(day -200)"
  expect_exit 0 kehu_as rep.east order add "${east[$((i + 10))]}" --amount 700 --at "$(day -150)"
done
expect_exit 0 kehu_as rep.east order add "${east[40]}" --amount 1000 --at "$(day 30)"
expect_exit 0 kehu_as rep.east order add "${east[41]}" --amount 1000 --at "$(day -20)"
expect_exit 0 kehu_as rep.east order add "${east[41]}" --amount 1000 --at "$(day 40)"
# tickets: answered, left open and overdue, left open and not yet due
for i in $(seq 42 49); do
  expect_exit 0 kehu_as admin --json ticket add "${east[$i]}" --subject 无法登录
  ticket=$(out_jq -r .id)
  expect_exit 0 kehu_as admin ticket update "$ticket" --status in_progress
  expect_exit 0 kehu_as admin ticket add "${west[$i]}" --subject 过期 --due "$(day -2)"
  expect_exit 0 kehu_as admin ticket add "${west[$((i + 8))]}" --subject 未到期
done
# reassignments within the team and across (admin), to the bin, restores, a purge
for i in $(seq 60 64); do
  expect_exit 0 kehu_as admin customer update "${east[$i]}" --owner rep.west
  expect_exit 0 kehu_as mgr.east customer update "${east[$((i + 5))]}" --owner mgr.east
done
# the reassigned ones carry their orders and tickets with them
expect_exit 0 kehu_as admin customer update "${east[10]}" --owner rep.west
expect_exit 0 kehu_as admin customer update "${east[42]}" --owner mgr.east
expect_exit 0 kehu_as rep.east customer delete "${east[11]}"
expect_exit 0 kehu_as rep.east customer delete "${east[12]}"
expect_exit 0 kehu_as rep.east customer delete "${east[43]}"
expect_exit 0 kehu_as rep.west customer delete "${west[11]}"
expect_exit 0 kehu_as rep.west customer delete "${west[21]}"
expect_exit 0 kehu_as rep.east customer restore "${east[12]}"
expect_exit 0 kehu_as admin customer purge "${west[11]}"
expect_exit 0 kehu_as admin customer purge "${east[13]}"
# an import: new customers, and updates of existing ones by external code
{
  echo "external_code,name,stage,owner,industry"
  for i in $(seq 1 120); do echo "RC$i,计数导入公司$i,intent,rep.west,制造"; done
} >"$KEHU_TMP/import1.csv"
expect_exit 0 kehu_as admin import customers "$KEHU_TMP/import1.csv"
{
  echo "external_code,name,stage,owner,industry"
  for i in $(seq 1 60); do echo "RC$i,计数导入公司$i,closed,rep.east,贸易"; done
} >"$KEHU_TMP/import2.csv"
expect_exit 0 kehu_as admin import customers "$KEHU_TMP/import2.csv" --on-duplicate update
bench rep.west followup 1

# --- each kind from the counts equals the same kind from the records ----------------
same_report() {   # USER KIND: the all-time report equals the one read from every record
  local user=$1 kind=$2 fast slow
  expect_exit 0 kehu_as "$user" --json report "$kind"
  fast=$(out_jq -S 'del(.since, .until)')
  expect_exit 0 kehu_as "$user" --json report "$kind" --since 1970-01-01
  slow=$(out_jq -S 'del(.since, .until)')
  [[ "$fast" == "$slow" ]] ||
    fail "$user: report $kind from the counts differs from the records:
counts:  $fast
records: $slow"
  [[ "$(jq '.rows | length' <<<"$fast")" -gt 0 ]] || fail "$user: report $kind has no rows"
}
for user in admin mgr.east rep.east rep.west; do
  for kind in summary funnel tiers churn kpi stage owner; do
    same_report "$user" "$kind"
  done
done

# what the writes made is in the counts: churn_risk and high customers, lost
# ones, buyers, answered and overdue tickets
expect_exit 0 kehu_as admin --json report tiers
for tier in high potential churn_risk; do
  [[ "$(out_jq --arg t "$tier" '[.rows[] | select(.key == $t) | .count] | add')" -gt 0 ]] ||
    fail "no $tier customers in the tiers report: $OUT"
done
expect_exit 0 kehu_as admin --json report kpi
[[ "$(out_jq '[.rows[] | select(.key == "within_sla") | .count] | add')" -ge 15 ]] ||
  fail "kpi: the answered and overdue tickets are not all counted: $OUT"
expect_exit 0 kehu_as admin --json report churn
[[ "$(out_jq '.rows | length')" -ge 10 ]] || fail "churn: the churn_risk customers are missing: $OUT"

# the summary against a count of the customers themselves
for user in admin mgr.east rep.east; do
  expect_exit 0 kehu_as "$user" --json report summary
  summary=$OUT
  list_all "$user" >"$KEHU_TMP/listed"
  python3 - "$summary" "$KEHU_TMP/listed" "$user" <<'EOF' || fail "$user: summary differs from the customer list"
import collections, json, sys
report, user = json.loads(sys.argv[1]), sys.argv[3]
listed = [json.loads(line) for line in open(sys.argv[2])]
rows = {r["key"]: r["count"] for r in report["rows"]}
stages = collections.Counter(c.get("stage") or "(none)" for c in listed)
want = dict(stages, customers=len(listed))
got = {k: v for k, v in rows.items() if k != "dormant"}
if got != want:
    sys.exit("%s: summary %s, the customer list %s" % (user, got, want))
EOF
done

# --- verify passes; reindex rebuilds the same counts --------------------------------
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_exit 0 kehu_as admin --json report kpi
before=$(out_jq -S 'del(.since, .until)')
kehu_stop_server
expect_exit 0 kehu_admin reindex "$KEHU_DATA"
expect_exit 0 kehu_admin verify "$KEHU_DATA"
kehu_start_server
expect_exit 0 kehu_as admin --json report kpi
expect_eq "$before" "$(out_jq -S 'del(.since, .until)')" "kpi after reindex"
