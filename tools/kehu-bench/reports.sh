#!/usr/bin/env bash
# Report latency (BENCH-RESULTS.md has the figures): `kehu-admin seed
# --customers N` (2 contacts and 3 follow-ups each), then every kind of
# `kehu report` three times as the admin, timed from the start of the kehu
# process to its exit (a new process each time: its start and the TLS
# session resumption, about 10-20 ms here, are in the figure); the median
# is printed.
#   tools/kehu-bench/reports.sh              # N=1000000
#   N=100000 tools/kehu-bench/reports.sh
# Needs a normal build in build/ (scripts/run.sh or cmake).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${N:=1000000}"
data=$(mktemp -d "${TMPDIR:-/tmp}/kehu-report-bench.XXXXXX")
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$data"' EXIT
printf 'benchpass\n' | build/kehu-admin init "$data/d" >/dev/null
/usr/bin/time -f "seed: %e s" build/kehu-admin seed "$data/d" --customers "$N" >/dev/null
build/kehud --data "$data/d" --listen 127.0.0.1:0 >"$data/out" 2>"$data/kehud.log" &
pid=$!
for _ in $(seq 100); do grep -q listening "$data/out" && break; sleep 0.1; done
server=$(sed -n 's/^kehud listening on //p' "$data/out")
[[ -n "$server" ]] || { echo "kehud did not start" >&2; exit 1; }
export KEHU_SERVER=$server KEHU_CA=$data/d/tls/ca.crt KEHU_USER=admin KEHU_PASSWORD=benchpass
export XDG_CONFIG_HOME=$data/config
build/kehu whoami >/dev/null
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
printf '%-9s %8s %8s %8s %8s\n' kind run1 run2 run3 median
for kind in summary stage industry region size source owner funnel tiers churn activity top kpi; do
  times=()
  for _ in 1 2 3; do
    start=$(date +%s%N)
    build/kehu --json report "$kind" >/dev/null
    times+=("$(ms "$start")")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  printf '%-9s %6s ms %5s ms %5s ms %5s ms\n' "$kind" "${times[@]}" "$median"
done
