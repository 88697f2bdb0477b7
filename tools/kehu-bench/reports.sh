#!/usr/bin/env bash
# Report latency (BENCH-RESULTS.md has the figures): `kehu-admin seed
# --customers N` (2 contacts and 3 follow-ups each), then every kind of
# `kehu report` three times as the admin, timed from the start of the kehu
# process to its exit (a new process each time: its start and the TLS
# session resumption, about 10-20 ms here, are in the figure); the median
# is printed.
#   tools/kehu-bench/reports.sh              # N=1000000
#   N=100000 tools/kehu-bench/reports.sh
#   STORE=DATADIR tools/kehu-bench/reports.sh   # an existing store (admin
#                                               # password benchpass), no seed
# Needs a normal build in build/ (scripts/run.sh or cmake).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. tools/kehu-bench/lib.sh
: "${N:=1000000}"
data=$(mktemp -d "${TMPDIR:-/tmp}/kehu-report-bench.XXXXXX")
trap 'kehud_stop; rm -rf "$data"' EXIT
if [[ -n "${STORE:-}" ]]; then
  store=$STORE
else
  store=$data/d
  printf 'benchpass\n' | build/kehu-admin init "$store" >/dev/null
  /usr/bin/time -f "seed: %e s" build/kehu-admin seed "$store" --customers "$N" >/dev/null
fi
kehud_start "$store" "$data/kehud.log"
export KEHU_SERVER=$KEHUD_SERVER KEHU_CA=$store/tls/ca.crt KEHU_USER=admin KEHU_PASSWORD=benchpass
export XDG_CONFIG_HOME=$data/config
build/kehu whoami >/dev/null
printf '%-9s %8s %8s %8s %8s\n' kind run1 run2 run3 median
RUNS=3 bench_report_times | while read -r kind t1 t2 t3 median; do
  printf '%-9s %6.0f ms %5.0f ms %5.0f ms %5.0f ms\n' "$kind" "$t1" "$t2" "$t3" "$median"
done
