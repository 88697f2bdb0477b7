#!/usr/bin/env bash
# Sorted lists and what their index costs the writes (BENCH-RESULTS.md has
# the figures): `kehu-admin seed --customers N` owned by 10 reps (team
# east) and a manager, kehud started, then
#   - unless SKIP_WRITES=1: `kehu-bench --op add` and `--op followup`, 32
#     connections x 8 in flight, DURATION s each (as the admin);
#   - unless SKIP_LIST=1: `kehu customer list --sort S` (50 a page) timed
#     from the start of the kehu process to its exit, RUNS times, median
#     printed: the first page and one deep in the list (reached by its
#     cursor, fetched beforehand, about half way; DEEP=0 leaves it out), as
#     the admin and as rep01, for name and for -last_contact with --stage
#     intent; and a filter nothing matches (--region nowhere), whose page
#     looks at the most entries one request may look at.
#   BUILD=build N=200000 tools/kehu-bench/sort.sh
# BUILD is the directory with kehud, kehu, kehu-admin and kehu-bench.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${N:=200000}" "${BUILD:=build}" "${DURATION:=15}" "${RUNS:=5}"
BUILD=$(cd "$BUILD" && pwd)
# KEEP=DIR: the data in DIR, seeded by an earlier run with KEEP=DIR, is
# used again (and kept).
if [[ -n "${KEEP:-}" ]]; then
  data=$KEEP
  mkdir -p "$data"
else
  data=$(mktemp -d "${TMPDIR:-/tmp}/kehu-sort-bench.XXXXXX")
fi
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; [[ -n "${KEEP:-}" ]] || rm -rf "$data"' EXIT
if [[ -d "$data/d" ]]; then
  echo "data: $data/d again"
else
  printf 'benchpass\n' | "$BUILD/kehu-admin" init "$data/d" >/dev/null
  for i in 01 02 03 04 05 06 07 08 09 10; do
    printf 'benchpass\n' | "$BUILD/kehu-admin" user add "$data/d" "rep$i" --role sales --team east >/dev/null
  done
  printf 'benchpass\n' | "$BUILD/kehu-admin" user add "$data/d" mgr01 --role manager --team east >/dev/null
  /usr/bin/time -f "seed: %e s" "$BUILD/kehu-admin" seed "$data/d" --customers "$N" >/dev/null
fi
"$BUILD/kehud" --data "$data/d" --listen 127.0.0.1:0 >"$data/out" 2>"$data/kehud.log" &
pid=$!
for _ in $(seq 600); do grep -q listening "$data/out" && break; sleep 0.1; done
server=$(sed -n 's/^kehud listening on //p' "$data/out")
[[ -n "$server" ]] || { echo "kehud did not start" >&2; exit 1; }
echo "kehud ready: $(grep -c . "$data/kehud.log") log lines; data $(du -sh "$data/d" | cut -f1)"
export KEHU_SERVER=$server KEHU_CA=$data/d/tls/ca.crt KEHU_PASSWORD=benchpass

if [[ "${SKIP_WRITES:-0}" != 1 ]]; then
  for op in add followup; do
    "$BUILD/kehu-bench" --server "$server" --ca "$KEHU_CA" --user admin --connections 32 \
      --depth 8 --duration "$DURATION" --op "$op" --json --server-pid "$pid"
  done
fi

[[ "${SKIP_LIST:-0}" == 1 ]] && exit 0
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# as USER [kehu args]: kehu as USER with its own saved session
as() {
  local user=$1
  shift
  XDG_CONFIG_HOME=$data/config-$user KEHU_USER=$user "$BUILD/kehu" --user "$user" "$@"
}
# deep USER PAGES ARGS: the cursor after PAGES pages of 500
deep() {
  local user=$1 pages=$2 cursor="" i
  shift 2
  for ((i = 0; i < pages; i++)); do
    cursor=$(as "$user" --json customer list --limit 500 "$@" ${cursor:+--cursor "$cursor"} |
      jq -r '.next_cursor // empty')
    [[ -n "$cursor" ]] || break
  done
  echo "$cursor"
}
timed() {
  local what=$1 times=() start
  shift
  for ((r = 0; r < RUNS; r++)); do
    start=$(date +%s%N)
    as "$@" >/dev/null || { echo "$what: failed" >&2; return 1; }
    times+=("$(ms "$start")")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
  printf '%-46s %s ms (runs: %s)\n' "$what" "$median" "${times[*]}"
}
for user in admin rep01; do
  as "$user" whoami >/dev/null
  timed "$user --version (process floor)" "$user" --version
  timed "$user list (no sort), first page" "$user" customer list
  for spec in "name" "-last_contact --stage intent" "name --region nowhere"; do
    # shellcheck disable=SC2086
    timed "$user --sort $spec, first page" "$user" customer list --sort $spec
    [[ "${DEEP:-1}" == 0 || "$spec" == *nowhere ]] && continue
    # about half way: of all (admin) or one rep's, of every stage or intent's
    pages=$((N / 1000))
    [[ $user == admin ]] || pages=$((pages / 11))
    [[ "$spec" == *intent* ]] && pages=$((pages / 4))
    # shellcheck disable=SC2086
    cursor=$(deep "$user" "$((pages > 0 ? pages : 1))" --sort $spec)
    if [[ -n "$cursor" ]]; then
      # shellcheck disable=SC2086
      timed "$user --sort $spec, page $((pages * 500 + 1))-" "$user" customer list --sort $spec \
        --cursor "$cursor"
    fi
  done
done
