# Shared by the kehu-bench scripts (sourced, not run): starting and stopping
# kehud, the round of kehu-bench operations that faces the peer's letters,
# timing and medians. docs/architecture.md#measuring-the-targets
# shellcheck shell=bash

KEHU_BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck disable=SC2034  # set here, read by the scripts that source this
KEHUD_PID="" KEHUD_SERVER="" KEHUD_OUT_FD="" KEHUD_LISTEN_MS=""

# Wall clock in microseconds, without starting a process (a `date` costs
# about a millisecond, as much as some of what is measured).
bench_now_us() { local t=${EPOCHREALTIME//[!0-9]/}; echo "$((10#$t))"; }

# Milliseconds (one decimal) since a bench_now_us value.
bench_ms_since() {
  local now; now=$(bench_now_us)
  awk -v a="$1" -v b="$now" 'BEGIN { printf "%.1f", (b - a) / 1000 }'
}

# The median of the numbers on stdin, one a line (the lower middle one of an
# even count); nothing when there are none.
bench_median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# kehud_start DATADIR LOGFILE: starts build/kehud on 127.0.0.1:0 and returns
# once it has printed its listening line. Sets KEHUD_PID, KEHUD_SERVER and
# KEHUD_LISTEN_MS (from the exec to that line, read through a FIFO so no
# polling interval is in the figure). kehud_stop undoes it.
kehud_start() {
  local data=$1 log=$2 fifo line start
  fifo=$(mktemp -u "${TMPDIR:-/tmp}/kehud-out.XXXXXX")
  mkfifo -m 600 "$fifo"
  start=$(bench_now_us)
  "$KEHU_BENCH_ROOT/build/kehud" --data "$data" --listen 127.0.0.1:0 >"$fifo" 2>"$log" &
  KEHUD_PID=$!
  exec {KEHUD_OUT_FD}<"$fifo"
  rm -f "$fifo"
  # a hang guard, not a claim: kehud prints its line in well under a second
  if ! read -r -t 120 -u "$KEHUD_OUT_FD" line || [[ $line != "kehud listening on "* ]]; then
    echo "kehud did not start: $(tail -n 5 "$log")" >&2
    kehud_stop
    return 1
  fi
  # shellcheck disable=SC2034  # read by the caller
  KEHUD_LISTEN_MS=$(bench_ms_since "$start")
  KEHUD_SERVER=${line#kehud listening on }
}

# Stops the kehud kehud_start started (SIGTERM: it finishes and flushes) and
# waits for it, at most a minute, then SIGKILL.
kehud_stop() {
  if [[ -n "$KEHUD_PID" ]]; then
    kill -TERM "$KEHUD_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 600; i++)); do
      kill -0 "$KEHUD_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$KEHUD_PID" 2>/dev/null || true
    wait "$KEHUD_PID" 2>/dev/null || true
  fi
  if [[ -n "$KEHUD_OUT_FD" ]]; then exec {KEHUD_OUT_FD}<&-; fi
  KEHUD_PID="" KEHUD_SERVER="" KEHUD_OUT_FD=""
}

# kehud_settle: waits until the kehud kehud_start started has stopped writing
# on its own (after a seed, it raises the reminders of every customer due
# or dormant, a sweep at a time): less than 1 MiB written in 2 s, at most
# SETTLE_MAX seconds (600). Prints the seconds it waited.
kehud_settle() {
  local start w0 w1 i
  start=$(bench_now_us)
  w0=$(awk '/^wchar:/ { print $2 }' "/proc/$KEHUD_PID/io" 2>/dev/null || echo 0)
  for ((i = 0; i < ${SETTLE_MAX:-600} / 2; i++)); do
    sleep 2
    w1=$(awk '/^wchar:/ { print $2 }' "/proc/$KEHUD_PID/io" 2>/dev/null || echo 0)
    ((w1 - w0 < 1048576)) && break
    w0=$w1
  done
  awk -v ms="$(bench_ms_since "$start")" 'BEGIN { printf "%.0f\n", ms / 1000 }'
}

# The peer's e3 terms (pg_bench.sh's SEARCH_TERMS_3), one a line, into FILE.
bench_e3_terms() { # PEERS_DIR FILE
  local terms3
  terms3=$(sed -n 's/^: "${SEARCH_TERMS_3:=\(.*\)}"$/\1/p' "$1/pg_bench.sh" 2>/dev/null || true)
  [[ -n "$terms3" ]] || terms3='星河信息|深圳市宏达|华东医疗|杭州Nova|Pacific Ro|robot|nova|生物科技|信息技术有限|有限公司'
  tr '|' '\n' <<<"$terms3" >"$2"
}

# One round of kehu-bench against the running kehud as the admin (password
# benchpass), one JSON line per operation on stdout: the peer's letters
# a (1x1), a (32x8), b, c, d (32x8), e (1x1), e3 (32x1), mix (32x8), f.
# DATADIR names the store (for its CA), DURATION the seconds per operation,
# TERMS3 the e3 terms file.
kehu_bench_round() {
  _kehu_bench() {
    KEHU_PASSWORD=benchpass "$KEHU_BENCH_ROOT/build/kehu-bench" --server "$KEHUD_SERVER" \
      --ca "$DATADIR/tls/ca.crt" --user admin --json --server-pid "$KEHUD_PID" \
      --duration "$DURATION" "$@"
  }
  _kehu_bench --op get --connections 1 --depth 1
  _kehu_bench --op get --connections 32 --depth 8
  _kehu_bench --op add --connections 32 --depth 8
  _kehu_bench --op update --connections 32 --depth 8
  _kehu_bench --op followup --connections 32 --depth 8
  _kehu_bench --op search --connections 1 --depth 1
  _kehu_bench --op search --connections 32 --depth 1 --terms "$TERMS3"
  _kehu_bench --op mix --connections 32 --depth 8
  _kehu_bench --op connect --connections 1 --depth 1
}

# Every `kehu report` kind, each run RUNS times (default 3) as a new kehu
# process, timed from its start to its exit; prints "kind run1 ... median"
# lines (milliseconds). The kehu environment (KEHU_SERVER, KEHU_CA,
# KEHU_USER, KEHU_PASSWORD, XDG_CONFIG_HOME) is the caller's.
BENCH_REPORT_KINDS="summary stage industry region size source owner funnel tiers churn activity top kpi"
bench_report_times() {
  local kind start i times median
  for kind in $BENCH_REPORT_KINDS; do
    times=()
    for ((i = 0; i < ${RUNS:-3}; i++)); do
      start=$(bench_now_us)
      "$KEHU_BENCH_ROOT/build/kehu" --json report "$kind" >/dev/null
      times+=("$(bench_ms_since "$start")")
    done
    median=$(printf '%s\n' "${times[@]}" | bench_median)
    echo "$kind ${times[*]} $median"
  done
}

# The machine, for the record next to the figures.
bench_machine() {
  echo "nproc: $(nproc)"
  echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')$(grep -qw hypervisor /proc/cpuinfo && echo ' (virtualised)')"
  echo "kernel: $(uname -sr)"
}
