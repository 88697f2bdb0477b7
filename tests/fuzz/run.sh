#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for SECONDS each, two at a
# time (the machine has two cores), starting from its corpus in
# tests/fuzz/corpus/TARGET. A crash fails the run and leaves the input in
# the target's work directory: add it to the corpus once fixed, as a
# regression input.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=$1
seconds=${2:-60}
work=$(mktemp -d "${TMPDIR:-/tmp}/kehu-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

run_one() {
  local target=$1 dir="$work/$1"
  mkdir -p "$dir/corpus"
  cp tests/fuzz/corpus/"$target"/* "$dir/corpus/"
  (cd "$dir" && timeout $((seconds + 60)) "$OLDPWD/$build/$target" -max_total_time="$seconds" \
      -rss_limit_mb=2048 -print_final_stats=1 corpus >"$dir/log" 2>&1)
}

status=0
pids=()
names=()
for target in fuzz_frame fuzz_validate fuzz_request; do
  run_one "$target" &
  pids+=($!)
  names+=("$target")
  if ((${#pids[@]} == 2)); then
    for i in 0 1; do
      if ! wait "${pids[$i]}"; then status=1; echo "FUZZ CRASH: ${names[$i]}"; tail -40 "$work/${names[$i]}/log"; fi
    done
    pids=()
    names=()
  fi
done
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then status=1; echo "FUZZ CRASH: ${names[$i]}"; tail -40 "$work/${names[$i]}/log"; fi
done
for target in fuzz_frame fuzz_validate fuzz_request; do
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target/log" | tail -1)
  echo "fuzz $target: ${runs:-?} inputs in ${seconds} s"
done
exit "$status"
