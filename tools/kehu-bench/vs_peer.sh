#!/usr/bin/env bash
# docs/architecture.md#performance-design, one run: the PostgreSQL peer (../shared/peers) and kehu one after the other
# on the same machine, ROUNDS rounds each, same data size. Prints both sets of figures;
# BENCH-RESULTS.md is written from them, with this command line.
#   tools/kehu-bench/vs_peer.sh                 # N=200000 ROUNDS=2 DURATION=10
#   N=50000 ROUNDS=1 DURATION=5 tools/kehu-bench/vs_peer.sh
# Needs a normal build in build/ (scripts/run.sh or cmake) and ../shared/peers beside the repo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
peers=${PEERS:-$root/../shared/peers}
: "${N:=200000}" "${ROUNDS:=2}" "${DURATION:=10}"
out=${OUT:-${TMPDIR:-/tmp}/kehu-vs-peer.$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
echo "results in $out (N=$N ROUNDS=$ROUNDS DURATION=$DURATION, $(nproc) cores shared by client and server)"

if [[ -z "${SKIP_PEER:-}" ]]; then   # SKIP_PEER=1: kehu only (the peer ran earlier)
  echo "== peer: PostgreSQL (pg_setup, pg_bench)"
  N=$N "$peers/pg_setup.sh" >"$out/pg_setup.log" 2>&1
  for r in $(seq 1 "$ROUNDS"); do
    RUNS_DIR="$out/pg-round$r" ROUND=$r DURATION=$DURATION OPS="a b c d e e3 f" \
      "$peers/pg_bench.sh" >"$out/pg-round$r.log" 2>&1 || true
    cat "$out/pg-round$r/pg_summary.md" 2>/dev/null || tail -20 "$out/pg-round$r.log"
  done
  "$peers/pg_stop.sh" >/dev/null 2>&1 || true
fi

echo "== kehu: kehud + kehu-bench"
. tools/kehu-bench/lib.sh
data=$(mktemp -d "${TMPDIR:-/tmp}/kehu-bench-data.XXXXXX")
trap 'kehud_stop; rm -rf "$data"' EXIT
printf 'benchpass\n' | build/kehu-admin init "$data/d" >/dev/null
/usr/bin/time -f "seed: %e s" build/kehu-admin seed "$data/d" --customers "$N"
kehud_start "$data/d" "$out/kehud.log"
# e3: the peer's own terms of 3+ characters (pg_bench.sh's SEARCH_TERMS_3)
bench_e3_terms "$peers" "$out/terms3.txt"
DATADIR=$data/d TERMS3=$out/terms3.txt
for r in $(seq 1 "$ROUNDS"); do
  echo "-- round $r"
  # the peer's letters (docs/architecture.md#performance-design): a, a, b, c, d, e, e3, mix, f
  kehu_bench_round 2>&1 | tee "$out/kehu-round$r.jsonl"
done
