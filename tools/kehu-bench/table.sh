#!/usr/bin/env bash
# BENCH.md's whole target table in one run (docs/architecture.md#measuring-the-targets):
# the PostgreSQL peer (../shared/peers) first, then kehu on the same machine, ROUNDS
# rounds each, and $OUT/table.md with a row per target (R1 ... T1) to paste into
# BENCH-RESULTS.md. Every step's raw output stays in $OUT.
#   N=1000000 ROUNDS=2 DURATION=10 tools/kehu-bench/table.sh       # the real run
#   N=5000 ROUNDS=1 DURATION=2 WATCHERS=500 tools/kehu-bench/table.sh   # a trial
#   OUT=DIR STEPS="l1 q1" N=... tools/kehu-bench/table.sh   # rerun steps into DIR
# Steps (STEPS, default all, always run in this order):
#   peer  pg_setup at N, pg_bench ROUNDS rounds (PEER_OPS), the peer's table sizes,
#         its L1 and Q1 queries timed with psql's \timing, `psql -c` as a new process
#         (C1), pg_stop
#   kehu  seed N (timed), T1 (kehud start to its listening line and to a first
#         answer), D1 (du and mdb_stat per table), ROUNDS rounds of kehu-bench (R1 R2
#         W1 W2 W3 S1 S2 M1 C1, server CPU per op), C1's new-process figures
#   l1    `kehu customer list --sort ...` pages, median of 5 new processes
#   q1    every `kehu report` kind, median of 3
#   p1    watch.sh with WATCHERS watchers          i1  import.sh at N rows
#   b1    backup.sh on the seeded store (mdb_copy -c, backup stopped and under mix)
# Env: N (1000000), ROUNDS (2), DURATION (10 s per operation), WATCHERS (10000),
#      C1_RUNS (50), PEER_PG_PORT (25432), PEER_OPS ("a b c d e e3 mix f"), STEPS, OUT, PEERS (the peer
#      harness, default ../shared/peers beside the repo), STORE (a seeded data
#      directory to use instead of seeding one; admin password benchpass; kept).
# Needs a normal build in build/, python3, jq, mdb_stat and mdb_copy (lmdb-utils).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
. tools/kehu-bench/lib.sh
peers=$(realpath "${PEERS:-$root/../shared/peers}")
: "${N:=1000000}" "${ROUNDS:=2}" "${DURATION:=10}" "${WATCHERS:=10000}" "${C1_RUNS:=50}"
: "${PEER_OPS:=a b c d e e3 mix f}"
# The peer's port, below Linux's ephemeral range (32768-60999): its harness's
# default, 55432, can be taken as a client port by many connections.
: "${PEER_PG_PORT:=25432}"
export PEER_PG_PORT
: "${STEPS:=peer kehu l1 q1 p1 i1 b1}"
all_steps="peer kehu l1 q1 p1 i1 b1"
for s in $STEPS; do
  [[ " $all_steps " == *" $s "* ]] || { echo "table.sh: unknown step '$s' (steps: $all_steps)" >&2; exit 2; }
done
for tool in python3 jq mdb_stat mdb_copy; do
  command -v "$tool" >/dev/null || { echo "table.sh: $tool is missing" >&2; exit 1; }
done
[[ -x build/kehud && -x build/kehu && -x build/kehu-bench && -x build/kehu-admin ]] ||
  { echo "table.sh: build first (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)" >&2; exit 1; }
out=$(realpath -m "${OUT:-${TMPDIR:-/tmp}/kehu-table.$(date +%Y%m%d-%H%M%S)}")
mkdir -p "$out"

work=$(mktemp -d "${TMPDIR:-/tmp}/kehu-table.XXXXXX")
peer_base="" child=""
cleanup() {
  set +e
  if [[ -n "$child" ]]; then kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi
  kehud_stop
  if [[ -n "$peer_base" ]]; then
    PEER_PG_BASE=$peer_base "$peers/pg_stop.sh" >/dev/null 2>&1
    rm -rf "$peer_base"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A long child runs in the background and is waited for, so that a signal
# reaches the traps above at once and they can stop it.
run_bg() {
  local rc=0
  "$@" &
  child=$!
  wait "$child" || rc=$?
  child=""
  return "$rc"
}
say() { printf '== %s  %s\n' "$(date +%T)" "$*"; }
# fig KEY VALUE: one figure of the current step, for table_md.py
fig() { printf '%s\t%s\n' "$1" "$2" >>"$figs"; }
step_dir() { rm -rf "${out:?}/$1"; mkdir -p "$out/$1"; figs=$out/$1/figures.tsv; : >"$figs"; }

cmdline="N=$N ROUNDS=$ROUNDS DURATION=$DURATION"
[[ "$WATCHERS" == 10000 ]] || cmdline+=" WATCHERS=$WATCHERS"
[[ "$C1_RUNS" == 50 ]] || cmdline+=" C1_RUNS=$C1_RUNS"
[[ "$PEER_OPS" == "a b c d e e3 mix f" ]] || cmdline+=" PEER_OPS=\"$PEER_OPS\""
[[ "$STEPS" == "$all_steps" ]] || cmdline+=" STEPS=\"$STEPS\""
[[ -z "${STORE:-}" ]] || cmdline+=" STORE=..."
cmdline+=" tools/kehu-bench/table.sh"
printf '%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$(git log -1 --format=%h 2>/dev/null || echo '?')" "$cmdline" >>"$out/runs.tsv"
bench_machine >"$out/machine.txt"
say "results in $out ($cmdline; $(nproc) cores shared by the bench clients and the servers)"

# ---------------------------------------------------------------- the peer
# psql over TLS with the benchmark's password, as pgbench connects
peer_psql() {
  (export PEER_PG_BASE=$peer_base && . "$peers/pg_env.sh" && bench_client_env &&
    "$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$@")
}
# peer_timed FILE SQL: runs SQL (psql's \timing on) and prints each statement's time in ms
peer_timed() {
  { printf '%s\n' '\timing on' '\o /dev/null'; cat; } | peer_psql -f - 2>&1 |
    sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
repeat() { local i; for ((i = 0; i < $1; i++)); do printf '%s\n' "$2"; done; }

step_peer() {
  step_dir peer
  local dir=$out/peer r
  peer_base=$(mktemp -d "${TMPDIR:-/tmp}/kehu-table-pg.XXXXXX")
  say "peer: pg_setup N=$N (cluster in $peer_base)"
  PEER_PG_BASE=$peer_base N=$N run_bg "$peers/pg_setup.sh" >"$dir/pg_setup.log" 2>&1 ||
    { tail -n 20 "$dir/pg_setup.log" >&2; return 1; }
  fig load_s "$(sed -n 's/.*load total \([0-9.]*\) s.*/\1/p' "$dir/pg_setup.log")"
  # D1: the three tables (with their TOAST), and with their indexes
  peer_psql -c "SELECT relname, pg_table_size(oid), pg_total_relation_size(oid) FROM pg_class
                 WHERE relname IN ('customers', 'contacts', 'followups') ORDER BY relname" \
    -F $'\t' >"$dir/sizes.tsv"
  fig d1.tables_bytes "$(awk -F'\t' '{ s += $2 } END { print s }' "$dir/sizes.tsv")"
  fig d1.total_bytes "$(awk -F'\t' '{ s += $3 } END { print s }' "$dir/sizes.tsv")"
  for r in $(seq 1 "$ROUNDS"); do
    say "peer: pg_bench round $r ($PEER_OPS, ${DURATION} s each)"
    PEER_PG_BASE=$peer_base RUNS_DIR="$dir/round$r" ROUND=$r DURATION=$DURATION OPS="$PEER_OPS" \
      run_bg "$peers/pg_bench.sh" >"$dir/round$r.log" 2>&1 || echo "pg_bench round $r failed: see $dir/round$r.log" >&2
    peer_queries "$r"
  done
  # L1 again with the index a list sorted by name would have (the schema has none)
  say "peer: L1 with an index on (name, id)"
  local t
  t=$(echo 'CREATE INDEX customers_name_id_idx ON customers (name, id);' | peer_timed)
  fig l1.index_build_ms "$t"
  peer_l1 indexed "first next"
  say "peer: pg_stop"
  PEER_PG_BASE=$peer_base "$peers/pg_stop.sh" >>"$dir/pg_setup.log" 2>&1 || true
  rm -rf "$peer_base"
  peer_base=""
}

# L1's queries: the first page by name, a later page by keyset from the middle
# of the table, and stage intent (2 in the peer's generator) by last contact,
# which the peer has as its follow-ups' latest time. Median of 5 each.
peer_l1() { # SUFFIX [QUERIES: default "first next stage"]
  local deep
  deep=$(peer_psql -F $'\t' -c "SELECT quote_literal(name), id FROM customers ORDER BY name, id OFFSET $((N / 2)) LIMIT 1")
  local q1='SELECT id, code, name FROM customers ORDER BY name, id LIMIT 50;'
  local q2="SELECT id, code, name FROM customers WHERE (name, id) > (${deep%%$'\t'*}, ${deep##*$'\t'}) ORDER BY name, id LIMIT 50;"
  local q3='SELECT c.id, c.code, c.name FROM customers c WHERE c.stage = 2
            ORDER BY (SELECT max(f.at) FROM followups f WHERE f.customer_id = c.id) DESC NULLS LAST, c.id LIMIT 50;'
  local name q
  for name in ${2:-first next stage}; do
    case $name in first) q=$q1 ;; next) q=$q2 ;; stage) q=$q3 ;; esac
    repeat 5 "$q" | peer_timed >"$out/peer/l1-$name.$1.ms"
    fig "l1.${name}_ms.$1" "$(bench_median <"$out/peer/l1-$name.$1.ms")"
  done
  printf '%s\n' "$q1" "$q2" "$q3" >"$out/peer/l1-queries.sql"
}

peer_queries() { # ROUND
  local r=$1 id=$(((N + 1) / 2)) q name
  say "peer: L1, Q1 and C1 queries, round $r"
  peer_l1 "r$r"
  # Q1: counts by stage and by owner over every customer; follow-up activity
  # per owner over the last 30 days (the activity report)
  for name in stage owner activity; do
    case $name in
      stage) q='SELECT stage, count(*) FROM customers GROUP BY stage;' ;;
      owner) q='SELECT owner, count(*) FROM customers GROUP BY owner;' ;;
      activity) q="SELECT c.owner, count(*) FROM followups f JOIN customers c ON c.id = f.customer_id
                   WHERE f.at >= now() - interval '30 days' GROUP BY c.owner;" ;;
    esac
    echo "$q" >>"$out/peer/q1-queries.sql"
    repeat 3 "$q" | peer_timed >"$out/peer/q1-$name.r$r.ms"
    fig "q1.${name}_ms.r$r" "$(bench_median <"$out/peer/q1-$name.r$r.ms")"
  done
  # C1: pg_bench.sh's a (a customer with its contacts) by `psql -c`, a new process each time
  q=$(grep -v '^\\\|^--' "$peers/pgbench/a_read.sql" | sed "s/:id/$id/")
  (export PEER_PG_BASE=$peer_base && . "$peers/pg_env.sh" && bench_client_env && for ((i = 0; i < C1_RUNS; i++)); do
     start=$(bench_now_us)
     "$PG_BINDIR/psql" -X -q -At -c "$q" >/dev/null
     bench_ms_since "$start"; echo
   done) >"$out/peer/c1-psql.r$r.ms"
  fig "c1.psql_ms.r$r" "$(bench_median <"$out/peer/c1-psql.r$r.ms")"
  fig c1.runs "$C1_RUNS"
}

# ---------------------------------------------------------------- kehu
store=""
# The seeded store the kehu, l1, q1 and b1 steps share: STORE, or N customers
# seeded once per run into a temp directory.
ensure_store() {
  [[ -z "$store" ]] || return 0
  if [[ -n "${STORE:-}" ]]; then
    store=$(realpath "$STORE")
    return 0
  fi
  store=$work/d
  printf 'benchpass\n' | build/kehu-admin init "$store" >/dev/null
  say "kehu: seed N=$N"
  local start
  start=$(bench_now_us)
  run_bg build/kehu-admin seed "$store" --customers "$N" >"$work/seed.log"
  printf 'seed_s\t%s\n' "$(awk -v ms="$(bench_ms_since "$start")" 'BEGIN { printf "%.1f", ms / 1000 }')" >"$out/seed.tsv"
}
# kehud on the store, and the kehu client's environment (a config directory of its own)
ensure_kehud() {
  ensure_store
  [[ -z "$KEHUD_PID" ]] || return 0
  kehud_start "$store" "$out/kehud.log"
  export KEHU_SERVER=$KEHUD_SERVER KEHU_CA=$store/tls/ca.crt KEHU_USER=admin KEHU_PASSWORD=benchpass
  export XDG_CONFIG_HOME=$work/config
}

step_kehu() {
  step_dir kehu
  local dir=$out/kehu r start i id
  ensure_store
  # T1: kehud from exec to its listening line, and to the exit of a first
  # `kehu customer list --limit 1` started at once (a new process: TLS and login)
  kehud_stop
  for r in $(seq 1 "$ROUNDS"); do
    kehud_stop
    start=$(bench_now_us)
    ensure_kehud
    build/kehu customer list --limit 1 >/dev/null
    fig "t1.listen_ms.r$r" "$KEHUD_LISTEN_MS"
    fig "t1.answer_ms.r$r" "$(bench_ms_since "$start")"
    say "kehu: T1 round $r: listening after $KEHUD_LISTEN_MS ms"
  done
  # D1: the data directory, and LMDB's pages per table
  fig d1.du_bytes "$(du -sb "$store" | cut -f1)"
  fig d1.file_bytes "$(stat -c %s "$store/db/data.mdb")"
  local psize
  psize=$(mdb_stat -e "$store/db" | awk '/Page size:/ { print $3 }')
  mdb_stat -a "$store/db" | awk -v ps="$psize" -v OFS='\t' '
    /^Status of / { name = substr($0, 11); next }
    /Branch pages:|Leaf pages:|Overflow pages:/ { pages[name] += $3 }
    /Entries:/ { entries[name] = $2 }
    END { for (n in pages) if (pages[n]) print n, pages[n], pages[n] * ps, entries[n] }' |
    sort -t$'\t' -k2,2nr >"$dir/d1-tables.tsv"
  fig d1.used_bytes "$(awk -F'\t' '{ s += $3 } END { print s }' "$dir/d1-tables.tsv")"
  fig d1.free_pages "$(mdb_stat -ef "$store/db" | awk '/Free pages:/ { print $3; exit }')"
  fig d1.page_size "$psize"
  mdb_stat -ae "$store/db" >"$dir/mdb_stat.txt"

  bench_e3_terms "$peers" "$dir/terms3.txt"
  # after a seed kehud raises the due and dormant reminders of every customer
  # by itself: the rounds measure the server serving, not that
  ensure_kehud
  local settled
  settled=$(kehud_settle)
  fig kehu.settle_s "$settled"
  say "kehu: kehud settled after $settled s"
  for r in $(seq 1 "$ROUNDS"); do
    say "kehu: round $r (kehu-bench, ${DURATION} s per operation)"
    DATADIR=$store TERMS3=$dir/terms3.txt run_bg kehu_bench_round >"$dir/round$r.jsonl" 2>"$dir/round$r.err" ||
      echo "kehu-bench round $r: an operation failed, see $dir/round$r.err" >&2
  done

  # C1: `kehu customer get ID` as a new process against `kehu --version`, alternately
  fig c1.runs "$C1_RUNS"
  id=$(build/kehu --json customer list --limit 1 | jq -r '.items[0].id')
  build/kehu customer get "$id" >/dev/null
  for r in $(seq 1 "$ROUNDS"); do
    : >"$dir/c1-get.r$r.ms"
    : >"$dir/c1-version.r$r.ms"
    for ((i = 0; i < C1_RUNS; i++)); do
      start=$(bench_now_us)
      build/kehu customer get "$id" >/dev/null
      bench_ms_since "$start" >>"$dir/c1-get.r$r.ms"; echo >>"$dir/c1-get.r$r.ms"
      start=$(bench_now_us)
      build/kehu --version >/dev/null
      bench_ms_since "$start" >>"$dir/c1-version.r$r.ms"; echo >>"$dir/c1-version.r$r.ms"
    done
    fig "c1.get_ms.r$r" "$(bench_median <"$dir/c1-get.r$r.ms")"
    fig "c1.version_ms.r$r" "$(bench_median <"$dir/c1-version.r$r.ms")"
  done
}

# L1: a list sorted by name (first page, then the page its cursor names) and by
# last contact within a stage; median of 5 new kehu processes as the admin. A
# refusal is recorded with its exit code.
step_l1() {
  step_dir l1
  ensure_kehud
  local dir=$out/l1 r i name rc start cursor args
  for r in $(seq 1 "$ROUNDS"); do
    for name in first next stage; do
      case $name in
        first) args=(--sort name --limit 50) ;;
        next)
          cursor=$(jq -r '.next_cursor // empty' "$dir/first.json" 2>/dev/null || true)
          if [[ -z "$cursor" ]]; then fig "l1.next_ms.r$r" "— (no cursor)"; continue; fi
          args=(--sort name --limit 50 --cursor "$cursor") ;;
        stage) args=(--sort -last_contact --stage intent --limit 50) ;;
      esac
      : >"$dir/$name.r$r.ms"
      rc=0
      for ((i = 0; i < 5; i++)); do
        start=$(bench_now_us)
        build/kehu --json customer list "${args[@]}" >"$dir/$name.json" 2>"$dir/$name.err" || rc=$?
        [[ $rc == 0 ]] || break
        bench_ms_since "$start" >>"$dir/$name.r$r.ms"; echo >>"$dir/$name.r$r.ms"
      done
      if [[ $rc != 0 ]]; then
        fig "l1.${name}_ms.r$r" "refused (exit $rc)"
      else
        fig "l1.${name}_ms.r$r" "$(bench_median <"$dir/$name.r$r.ms")"
        fig "l1.${name}_rows.r$r" "$(jq '.items | length' "$dir/$name.json")"
      fi
    done
  done
}

step_q1() {
  step_dir q1
  ensure_kehud
  local r kind times median
  for r in $(seq 1 "$ROUNDS"); do
    say "kehu: Q1 round $r"
    RUNS=3 bench_report_times >"$out/q1/round$r.txt"
    while read -r kind times; do
      fig "q1.${kind}_ms.r$r" "${times##* }"
    done <"$out/q1/round$r.txt"
  done
}

step_p1() {
  step_dir p1
  local r log
  for r in $(seq 1 "$ROUNDS"); do
    say "kehu: P1 round $r ($WATCHERS watchers)"
    log=$out/p1/round$r.log
    N=$WATCHERS run_bg tools/kehu-bench/watch.sh >"$log" 2>&1 || echo "watch.sh round $r failed: see $log" >&2
    fig "p1.subscribed_s.r$r" "$(sed -n 's/^subscribed: .* in \([0-9.]*\) s$/\1/p' "$log")"
    fig "p1.kib_per_conn.r$r" "$(sed -n 's/.*: \([0-9.]*\) KiB per connection$/\1/p' "$log")"
    local json
    json=$(sed -n 's/^reminder due [^ ]*: //p' "$log")
    if [[ -n "$json" ]]; then
      fig "p1.received.r$r" "$(jq -r .received <<<"$json")"
      fig "p1.fanout_ms.r$r" "$(jq -r .fanout_ms <<<"$json")"
      fig "p1.from_due_ms.r$r" "$(jq -r .from_due_ms <<<"$json")"
    fi
  done
  fig p1.watchers "$WATCHERS"
}

step_i1() {
  step_dir i1
  local r log
  for r in $(seq 1 "$ROUNDS"); do
    say "kehu: I1 round $r ($N rows)"
    log=$out/i1/round$r.log
    N=$N run_bg tools/kehu-bench/import.sh >"$log" 2>&1 || echo "import.sh round $r failed: see $log" >&2
    fig "i1.s.r$r" "$(sed -n 's/^import: .* in \([0-9.]*\) s .*/\1/p' "$log")"
    fig "i1.accepted.r$r" "$(sed -n 's/^import: \({.*}\) in .*/\1/p' "$log" | jq -r '.accepted // empty' 2>/dev/null)"
    fig "i1.verify.r$r" "$(tail -n 1 "$log")"
  done
}

step_b1() {
  step_dir b1
  ensure_store
  kehud_stop   # backup.sh runs its own kehud on the store
  local r log
  for r in $(seq 1 "$ROUNDS"); do
    say "kehu: B1 round $r (mdb_copy -c, kehu-admin backup stopped and under mix)"
    log=$out/b1/round$r.log
    STORE=$store N=$N DURATION=$DURATION run_bg tools/kehu-bench/backup.sh >"$log" 2>&1 ||
      echo "backup.sh round $r failed: see $log" >&2
    fig "b1.copy_s.r$r" "$(sed -n 's/^mdb_copy -c: \([0-9.]*\) s.*/\1/p' "$log")"
    fig "b1.stopped_s.r$r" "$(sed -n 's/^backup, kehud stopped: \([0-9.]*\) s.*/\1/p' "$log")"
    fig "b1.mix_each_s.r$r" "$(sed -n 's/^backup under mix: \([0-9.]*\) s each.*/\1/p' "$log")"
    fig "b1.drop_pct.r$r" "$(sed -n 's/^mix: .*(\([-+0-9.]*\) %)$/\1/p' "$log")"
  done
}

for s in $all_steps; do
  if [[ " $STEPS " == *" $s "* ]]; then "step_$s"; fi
done
kehud_stop

python3 tools/kehu-bench/table_md.py "$out" >"$out/table.md"
say "wrote $out/table.md"
cat "$out/table.md"
