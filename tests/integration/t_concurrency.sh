#!/usr/bin/env bash
# Issue 2: 200 concurrent clients each adding 20 customers all succeed, and
# the 4,000 ids are distinct.
# shellcheck source=tests/integration/lib.sh disable=SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLIENTS=${KEHU_CONCURRENCY_CLIENTS:-200}
PER_CLIENT=${KEHU_CONCURRENCY_PER_CLIENT:-20}
DEADLINE=${KEHU_CONCURRENCY_DEADLINE:-240}   # seconds, for all of them
total=$((CLIENTS * PER_CLIENT))

kehu_start_server

# One login; every client starts from a copy of that session (token and TLS
# session), so the run measures adds, not 200 password hashes.
base=$KEHU_TMP/users/admin
expect_exit 0 kehu_as admin login
[[ -f "$base/kehu/session" ]] || fail "kehu login did not write $base/kehu/session"

results=$KEHU_TMP/results
mkdir -p "$results"
start=$SECONDS
pids=()
for ((j = 1; j <= CLIENTS; j++)); do
  config=$KEHU_TMP/clients/$j
  mkdir -p "$config"
  cp -a "$base/kehu" "$config/"
  (
    # No password here: the copied token must be accepted. Nothing but kehu
    # runs per add, so the clients' own cost stays small.
    unset KEHU_PASSWORD
    export XDG_CONFIG_HOME=$config
    for ((k = 1; k <= PER_CLIENT; k++)); do
      # Names differ after normalisation (punctuation and spaces are removed
      # when checking duplicates, so "1-11" and "11-1" would collide).
      rc=0
      timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu" --user admin --json customer add \
        --name "并发客户 ${j}号 第${k}位" >>"$results/$j.json" 2>"$results/$j.err" || rc=$?
      if ((rc != 0)); then
        echo "client $j add $k: exit $rc: $(head -c 300 "$results/$j.err")" >>"$results/$j.failed"
      fi
    done
  ) &
  pids+=($!)
done

# Wait for all of them, bounded.
kehu_wait_all "$DEADLINE" "${pids[@]}"
running=$STILL_RUNNING
elapsed=$((SECONDS - start))
note "$total adds from $CLIENTS concurrent clients took ${elapsed}s"

expect_server_alive
((running == 0)) || fail "$running of $CLIENTS clients were still running after ${DEADLINE}s"

shopt -s nullglob
failed_files=("$results"/*.failed)
json_files=("$results"/*.json)
shopt -u nullglob
if ((${#failed_files[@]} > 0)); then
  failed=$(cat "${failed_files[@]}" | wc -l)
  fail "$failed of $total adds failed; the first ones:
$(cat "${failed_files[@]}" | head -n 10)"
fi
((${#json_files[@]} > 0)) || fail "no client wrote any output"
cat "${json_files[@]}" | jq -r .id >"$KEHU_TMP/ids" 2>"$KEHU_TMP/ids.err" ||
  fail "the --json output of customer add is not a stream of JSON records: $(head -c 300 "$KEHU_TMP/ids.err")"
ids=$(wc -l <"$KEHU_TMP/ids")
expect_eq "$total" "$ids" "number of ids returned"
bad=$(grep -cvE '^C[0-9]{8}[0-9]{3,}$' "$KEHU_TMP/ids" || true)
expect_eq 0 "$bad" "ids not matching ^C[0-9]{8}[0-9]{3,}$"
distinct=$(sort -u "$KEHU_TMP/ids" | wc -l)
expect_eq "$total" "$distinct" "distinct ids among $total"

# The server agrees: every id reads back, and a full listing holds them all.
listed=$KEHU_TMP/listed
: >"$listed"
cursor=""
for ((page = 0; page < 100; page++)); do
  args=(--json customer list --limit 500)
  [[ -n "$cursor" ]] && args+=(--cursor "$cursor")
  expect_exit 0 kehu_as admin "${args[@]}"
  out_jq '.items[].id' >>"$listed"
  cursor=$(out_jq '.next_cursor // empty')
  [[ -n "$cursor" ]] || break
done
missing=$(sort -u "$KEHU_TMP/ids" | comm -23 - <(sort -u "$listed") | wc -l)
expect_eq 0 "$missing" "added ids missing from customer list"

kehu_stop_server
