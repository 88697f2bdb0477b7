#!/usr/bin/env bash
# P1 (BENCH-RESULTS.md has the figures): N connections watching as one user
# (kehu-bench --op watch: the first logs in with the password, the others
# with its session token, over resumed TLS), then one reminder for that
# user, due 2 s after all are subscribed. Prints how long the subscriptions
# took, the fan-out (first to last arrival), the last arrival after the due
# time, and kehud's resident memory per idle TLS connection (VmRSS with the
# N connections up, less VmRSS before, over N).
#   tools/kehu-bench/watch.sh            # N=10000
#   N=2000 tools/kehu-bench/watch.sh
# RESTART=1 adds the reconnect storm: once every watcher has the reminder,
# kehud is stopped (SIGTERM; KILL=1: SIGKILL) and started again on the same
# port and data directory, and the watchers come back as kehu does
# (kehu-bench --reconnect: saved TLS session, session token, 0-500 ms of
# jitter), while one more connection does a get every 10 ms. Prints how
# long until all were subscribed again, the handshakes resumed and full, the
# restarted kehud's CPU time, and the gets' latency before and meanwhile.
# HANDSHAKE_BUDGET_US sets kehud's [server] handshake_budget_us (0: every
# handshake runs the moment its data arrives).
# FRESH_TICKET_KEY=1 deletes tls/ticket.key before the restart: every
# ticket is then refused and every watcher does a full handshake (how
# kehud behaved when its ticket key lived in memory only).
#   RESTART=1 N=10000 tools/kehu-bench/watch.sh
# Needs a normal build in build/ (scripts/run.sh or cmake).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${N:=10000}" "${RESTART:=0}" "${KILL:=0}" "${FRESH_TICKET_KEY:=0}" "${HANDSHAKE_BUDGET_US:=}"
ulimit -n "$((N + 1024))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
data=$(mktemp -d "${TMPDIR:-/tmp}/kehu-watch-bench.XXXXXX")
pid="" bench=""
trap '[[ -n "$bench" ]] && kill "$bench" 2>/dev/null; [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$data"' EXIT
printf 'benchpass\n' | build/kehu-admin init "$data/d" >/dev/null
printf 'rep1-pass\n' | build/kehu-admin user add "$data/d" rep1 --role sales >/dev/null
# room for the N watchers and the connection that adds the reminder
sed -i "s/^max_connections = .*/max_connections = $((N + 16))/" "$data/d/kehud.conf"
grep -q "^max_connections = $((N + 16))$" "$data/d/kehud.conf" || {
  echo "cannot set [server] max_connections in kehud.conf" >&2
  exit 1
}
if [[ -n "$HANDSHAKE_BUDGET_US" ]]; then
  sed -i "s/^\[server\]$/[server]\nhandshake_budget_us = $HANDSHAKE_BUDGET_US/" "$data/d/kehud.conf"
  grep -q "^handshake_budget_us = $HANDSHAKE_BUDGET_US$" "$data/d/kehud.conf" || {
    echo "cannot set [server] handshake_budget_us in kehud.conf" >&2
    exit 1
  }
fi
start_kehud() {   # $1: HOST:PORT
  : >"$data/out"
  build/kehud --data "$data/d" --listen "$1" >"$data/out" 2>>"$data/kehud.log" &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$data/out" && break; sleep 0.1; done
  server=$(sed -n 's/^kehud listening on //p' "$data/out")
  [[ -n "$server" ]] || { echo "kehud did not start: $(tail -n 3 "$data/kehud.log")" >&2; exit 1; }
}
start_kehud 127.0.0.1:0
grep -i 'open files\|file limit' "$data/kehud.log" || true
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
export XDG_CONFIG_HOME=$data/config KEHU_PASSWORD=rep1-pass
kehu() { build/kehu --server "$server" --ca "$data/d/tls/ca.crt" --user rep1 "$@"; }
kehu whoami >/dev/null
sleep 0.5
before=$(rss)

start=$(date +%s.%N)
storm=()
[[ "$RESTART" == 1 ]] && storm=(--reconnect --duration 600)
build/kehu-bench --server "$server" --ca "$data/d/tls/ca.crt" --user rep1 --op watch \
  --connections "$N" --duration 120 "${storm[@]}" --json >"$data/bench.out" 2>"$data/bench.err" \
  </dev/null &
bench=$!
for _ in $(seq 1200); do
  grep -q '^watching ' "$data/bench.out" && break
  kill -0 "$bench" 2>/dev/null || break
  sleep 0.1
done
grep -q '^watching ' "$data/bench.out" || {
  echo "not every connection subscribed: $(head -c 400 "$data/bench.err")" >&2
  exit 1
}
subscribed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
sleep 1
with=$(rss)
echo "subscribed: $(grep '^watching ' "$data/bench.out") in ${subscribed} s"
echo "kehud RSS: ${before} KiB before, ${with} KiB with $N watchers:" \
  "$(awk -v a="$before" -v b="$with" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / n }') KiB per connection"

due=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
kehu reminder add --at "$due" --message "P1 fan-out" >/dev/null
if [[ "$RESTART" == 1 ]]; then
  for _ in $(seq 1200); do
    grep -q '^received ' "$data/bench.out" && break
    kill -0 "$bench" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^received ' "$data/bench.out" || {
    echo "the reminder did not reach every watcher: $(head -c 400 "$data/bench.err")" >&2
    exit 1
  }
  sleep 1   # the probe's gets before the drop
  old=$pid
  kill "-$([[ "$KILL" == 1 ]] && echo KILL || echo TERM)" "$old"
  for _ in $(seq 600); do kill -0 "$old" 2>/dev/null || break; sleep 0.05; done
  wait "$old" 2>/dev/null || true
  [[ "$FRESH_TICKET_KEY" == 1 ]] && rm -f "$data/d/tls/ticket.key"
  start_kehud "$server"
  echo "kehud restarted ($([[ "$KILL" == 1 ]] && echo SIGKILL || echo SIGTERM)$(
    [[ "$FRESH_TICKET_KEY" == 1 ]] && echo ', ticket key deleted')) as pid $pid on $server"
fi
wait "$bench" || true
bench=""
report=$(grep '^{"op": "watch"' "$data/bench.out" | tail -n 1)
echo "reminder due $due: $(jq -c '{received, fanout_ms, from_due_ms, errors}' <<<"$report")"
if [[ "$RESTART" == 1 ]]; then
  storm=$(grep '^{"op": "reconnect"' "$data/bench.out" | tail -n 1)
  [[ -n "$storm" ]] || { echo "no reconnect report: $(head -c 400 "$data/bench.err")" >&2; exit 1; }
  echo "reconnect storm: $(jq -c 'del(.op)' <<<"$storm")"
  grep -q 'kehu-bench: error' "$data/bench.err" && head -n 5 "$data/bench.err" >&2
fi
