#!/usr/bin/env bash
# B1, the hot backup (BENCH-RESULTS.md has the figures): a hot full backup of
# N customers (`kehu-admin seed`: 2 contacts and 3 follow-ups each) taken
# while `kehu-bench --op mix` (32 connections x 8 in flight) runs, against
# `mdb_copy -c` of the same store; and the mix's throughput meanwhile
# against the same mix alone.
#   tools/kehu-bench/backup.sh              # N=1000000 DURATION=60
#   N=100000 DURATION=10 tools/kehu-bench/backup.sh
#   STORE=DATADIR tools/kehu-bench/backup.sh   # an existing store (admin
#                                              # password benchpass), no seed
# Needs a normal build in build/ and mdb_copy (Debian: lmdb-utils).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${N:=1000000}" "${DURATION:=60}"
data=$(mktemp -d "${TMPDIR:-/tmp}/kehu-backup-bench.XXXXXX")
pid=""
trap '[[ -n "$pid" ]] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; rm -rf "$data"' EXIT
if [[ -n "${STORE:-}" ]]; then
  store=$STORE
else
  store=$data/d
  printf 'benchpass\n' | build/kehu-admin init "$store" >/dev/null
  /usr/bin/time -f "seed: %e s" build/kehu-admin seed "$store" --customers "$N" >/dev/null
fi
echo "store: $(du -sh "$store/db/data.mdb" | cut -f1)"

# mdb_copy -c of the same store, the server stopped (twice: the second is the
# one with a warm page cache, as the backup under load will have)
for i in 1 2; do
  rm -f "$data/copy.mdb"
  start=$(date +%s.%N)
  mdb_copy -c -n "$store/db/data.mdb" "$data/copy.mdb"
  end=$(date +%s.%N)
done
copy=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
sync -f "$data/copy.mdb"
end=$(date +%s.%N)
synced=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
echo "mdb_copy -c: $copy s ($(du -sh "$data/copy.mdb" | cut -f1)); $synced s with the copy synced to disk"
rm -f "$data/copy.mdb"

# the backup in the same conditions as mdb_copy -c: kehud stopped
start=$(date +%s.%N)
build/kehu-admin backup "$store" "$data/backups" >/dev/null
end=$(date +%s.%N)
stopped=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
echo "backup, kehud stopped: $stopped s, \
$(awk -v b="$stopped" -v c="$copy" 'BEGIN { printf "%.2f", b / c }')x mdb_copy -c, \
$(awk -v b="$stopped" -v c="$synced" 'BEGIN { printf "%.2f", b / c }')x mdb_copy -c synced"
rm -rf "$data/backups"

build/kehud --data "$store" --listen 127.0.0.1:0 >"$data/out" 2>"$data/kehud.log" &
pid=$!
for _ in $(seq 100); do grep -q listening "$data/out" && break; sleep 0.1; done
server=$(sed -n 's/^kehud listening on //p' "$data/out")
mix() {
  KEHU_PASSWORD=benchpass build/kehu-bench --server "$server" --ca "$store/tls/ca.crt" \
    --user admin --op mix --connections 32 --depth 8 --duration "${DURATION}" --json \
    --server-pid "$pid" | jq -r 'select(.op == "mix") | .ops_per_s' | head -n 1
}
DURATION=10 mix >/dev/null   # warm-up: the page cache and the server's

# the backup with kehud running but serving nobody (after a seed it works
# through the due reminders meanwhile)
start=$(date +%s.%N)
build/kehu-admin backup "$store" "$data/backups" >/dev/null
end=$(date +%s.%N)
idle=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
echo "backup, kehud serving nobody: $idle s, \
$(awk -v b="$idle" -v c="$copy" 'BEGIN { printf "%.2f", b / c }')x mdb_copy -c, \
$(awk -v b="$idle" -v c="$synced" 'BEGIN { printf "%.2f", b / c }')x mdb_copy -c synced"
rm -rf "$data/backups"

# mix alone, mix while backups run back to back for the whole measurement,
# mix alone again: the drop is against the mean of the two alone
before=$(mix)
mix >"$data/mix.rate" &
mix_pid=$!
backups=0 total=0
end_at=$((SECONDS + DURATION))
while ((SECONDS < end_at)) && kill -0 "$mix_pid" 2>/dev/null; do
  start=$(date +%s.%N)
  build/kehu-admin backup "$store" "$data/backups" >/dev/null
  end=$(date +%s.%N)
  total=$(awk -v t="$total" -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", t + b - a }')
  backups=$((backups + 1))
  rm -rf "$data/backups"
done
wait "$mix_pid"
during=$(cat "$data/mix.rate")
after=$(mix)
each=$(awk -v t="$total" -v n="$backups" 'BEGIN { printf "%.2f", t / n }')
echo "backup under mix: $each s each ($backups back to back), \
$(awk -v b="$each" -v c="$copy" 'BEGIN { printf "%.2f", b / c }')x mdb_copy -c"
echo "mix: $before ops/s alone before, $during during the backups, $after alone after \
($(awk -v a="$before" -v c="$after" -v d="$during" 'BEGIN { printf "%+.1f", (d - (a + c) / 2) / ((a + c) / 2) * 100 }') %)"
kill -TERM "$pid"; wait "$pid" || true; pid=""
build/kehu-admin verify "$store" | tail -1
