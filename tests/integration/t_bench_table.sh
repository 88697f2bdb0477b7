#!/usr/bin/env bash
# The target table that tools/kehu-bench/table.sh writes (table_md.py, from
# the raw outputs of a run; docs/architecture.md#measuring-the-targets),
# on a made-up run whose verdicts are known:
# - a rate row divides kehu's rate by the peer's of the same round and is met
#   only when the ratio and the p99 bound both hold in every round (R1 yes;
#   W1's ratio holds but its p99 does not; R2 met in round 2 only);
# - a refused sorted list is shown with its exit code and fails L1, and the
#   page after it says there was no cursor;
# - C1 compares medians of new processes: 10x faster than psql and within
#   2x `kehu --version` is met;
# - a row with no peer figure has "—" for the ratio, and an unmeasured row
#   "—" for met (P1 was not run);
# - D1 compares the data directory with the peer's tables alone;
# - the page names the machine, says the bench client shares the server's
#   cores, quotes the command line and warns that N is not 1M.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=$KEHU_TMP/out
mkdir -p "$out"/{peer/round1,peer/round2,kehu,l1,q1,i1}
printf '2026-12-05T01:00:00Z\tabc1234\tN=5000 ROUNDS=2 DURATION=2 tools/kehu-bench/table.sh\n' >"$out/runs.tsv"
printf 'nproc: 2\nmemory: 23.5 GiB\ncpu: Test CPU\nkernel: Linux 6\n' >"$out/machine.txt"
# pg_bench.sh's summary: | round | op | clients | tps | avg | p50 | p99 | max | failed | conn |
for r in 1 2; do
  {
    echo "| round | op | clients | tps | lat avg ms | p50 ms | p99 ms | max ms | failed | conn avg ms |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    echo "| $r | a | 1 | 10000.0 | 0.1 | 0.09 | 0.2 | 1 | 0 | - |"
    echo "| $r | a | 32 | 20000.0 | 1.6 | 1.0 | 5.0 | 9 | 0 | - |"
    echo "| $r | b | 32 | 4000.0 | 8 | 7 | 15 | 30 | 0 | - |"
    echo "| $r | f | 1 | 50.0 | 20 | 0.1 | 0.2 | 1 | 0 | 19.5 |"
  } >"$out/peer/round$r/pg_summary.md"
done
printf 'd1.tables_bytes\t1000000000\nd1.total_bytes\t1500000000\nc1.psql_ms.r1\t20\nc1.psql_ms.r2\t20\n' \
  >"$out/peer/figures.tsv"
json() { printf '{"op": "%s", "connections": %s, "depth": %s, "ops_per_s": %s, "p99_ms": %s, "errors": 0}\n' "$@"; }
{
  json get 1 1 20000 0.1     # R1: 2x the peer, p99 0.1 ms
  json get 32 8 100000 2     # R2: 5x (target 6x)
  json add 32 8 16000 25     # W1: 4x, p99 25 ms (bound 20 ms)
} >"$out/kehu/round1.jsonl"
{
  json get 1 1 20000 0.1
  json get 32 8 140000 2     # R2: 7x
  json add 32 8 16000 25
} >"$out/kehu/round2.jsonl"
printf 'c1.get_ms.r1\t2.0\nc1.version_ms.r1\t1.5\nc1.get_ms.r2\t2.0\nc1.version_ms.r2\t1.5\nd1.du_bytes\t800000000\nd1.used_bytes\t700000000\nd1.file_bytes\t790000000\n' \
  >"$out/kehu/figures.tsv"
printf 'l1.first_ms.r1\trefused (exit 9)\nl1.next_ms.r1\t— (no cursor)\nl1.first_ms.r2\t12.5\nl1.next_ms.r2\t13\n' \
  >"$out/l1/figures.tsv"
printf 'i1.s.r1\t25.5\ni1.accepted.r1\t5000\ni1.verify.r1\tok: every index entry matches its record\n' >"$out/i1/figures.tsv"

python3 "$KEHU_SRC/tools/kehu-bench/table_md.py" "$out" >"$KEHU_TMP/table.md" ||
  fail "table_md.py failed on the made-up run"
table=$KEHU_TMP/table.md
row() { grep "^| $1 |" "$table" || fail "no $1 row in: $(cat "$table")"; }
cell() { row "$1" | awk -F' \\| ' -v n="$2" '{ print $n }'; }   # 1 = the tag

[[ $(grep -c '^| [A-Z][0-9] |' "$table") == 16 ]] || fail "not one row per target: $(cat "$table")"
[[ $(cell R1 5) == "2.00x / 2.00x" ]] || fail "R1 ratio: $(row R1)"
[[ $(cell R1 7) == "yes |" ]] || fail "R1 is met in both rounds: $(row R1)"
[[ $(cell R2 5) == "5.00x / 7.00x" ]] || fail "R2 ratio: $(row R2)"
[[ $(cell R2 7) == "round 2 only |" ]] || fail "R2 is met in round 2 only: $(row R2)"
[[ $(cell W1 5) == "4.00x / 4.00x" ]] || fail "W1 ratio: $(row W1)"
[[ $(cell W1 7) == "**no** |" ]] || fail "W1's p99 of 25 ms is over its 20 ms bound: $(row W1)"
cell W1 4 | grep -q '16,000/s (p99 25.0 ms' || fail "W1 shows kehu's rate and p99: $(row W1)"
cell L1 4 | grep -q 'first page refused (exit 9), next page by cursor — (no cursor) / first page 12.5 ms' ||
  fail "L1 shows the refusal and round 2's times: $(row L1)"
[[ $(cell L1 7) == "round 2 only |" ]] || fail "L1 is not met where the list was refused: $(row L1)"
cell C1 5 | grep -q '(10.0x faster)' || fail "C1 compares with psql -c: $(row C1)"
[[ $(cell C1 7) == "yes |" ]] || fail "C1 is met: $(row C1)"
[[ $(cell I1 3) == "—" && $(cell I1 7) == "yes |" ]] || fail "I1 has no peer and is met: $(row I1)"
[[ $(cell P1 4) == "—" && $(cell P1 7) == "— |" ]] || fail "P1 was not measured: $(row P1)"
cell D1 5 | grep -q '^0.80 (of tables alone)' || fail "D1 compares with the peer's tables: $(row D1)"
[[ $(cell D1 7) == "yes |" ]] || fail "D1 is smaller than the peer's tables: $(row D1)"
grep -q 'The bench client runs on the same 2 cores as the' "$table" || fail "the shared cores are not said"
grep -q '2 cores, 23.5 GiB, Test CPU' "$table" || fail "the machine is not named"
grep -qF 'N=5000 ROUNDS=2 DURATION=2 tools/kehu-bench/table.sh   # 2026-12-05T01:00:00Z, commit abc1234' "$table" ||
  fail "the command line is not quoted"
grep -q 'The targets are for N = 1,000,000; at N = 5,000' "$table" || fail "N below 1M is not said"
note "ok"
