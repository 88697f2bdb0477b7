#!/usr/bin/env bash
# I1, the import (BENCH-RESULTS.md has the figures): a CSV of N
# customers in UTF-8, one contact each, imported by a new kehu process into
# a fresh kehud, timed from the start of `kehu import customers` to its exit
# (its last reply comes after the last durable commit). Then checks that
# every customer is there and every index matches its record.
#   tools/kehu-bench/import.sh              # N=1000000
#   N=100000 tools/kehu-bench/import.sh
# Needs a normal build in build/ (scripts/run.sh or cmake).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${N:=1000000}"
data=$(mktemp -d "${TMPDIR:-/tmp}/kehu-import-bench.XXXXXX")
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$data"' EXIT
printf 'benchpass\n' | build/kehu-admin init "$data/d" >/dev/null
build/kehud --data "$data/d" --listen 127.0.0.1:0 >"$data/out" 2>"$data/kehud.log" &
pid=$!
for _ in $(seq 100); do grep -q listening "$data/out" && break; sleep 0.1; done
server=$(sed -n 's/^kehud listening on //p' "$data/out")
[[ -n "$server" ]] || { echo "kehud did not start" >&2; exit 1; }

# Unique names and mobiles, so no row is a duplicate of another.
awk -v n="$N" 'BEGIN {
  print "客户编号,客户名称(*),所属行业,企业规模(员工数),联系人(*),联系方式(虚拟),首次接触时间,客户状态(潜在/成交/流失)"
  split("软件,制造,零售,物流,金融,医疗,教育,能源", ind, ",")
  split("潜在,意向,成交,流失", st, ",")
  for (i = 1; i <= n; i++)
    printf "KH%07d,导入压测第%07d号科技有限公司,%s,100-500人,联系人%d,1%02d%08d,2024/%d/%d,%s\n",
      i, i, ind[i % 8 + 1], i, 30 + i % 70, i, i % 12 + 1, i % 28 + 1, st[i % 4 + 1]
}' >"$data/import.csv"
echo "file: $N rows, $(du -h "$data/import.csv" | cut -f1)"

export XDG_CONFIG_HOME=$data/config KEHU_PASSWORD=benchpass
start=$(date +%s.%N)
build/kehu --server "$server" --ca "$data/d/tls/ca.crt" --user admin --json \
  import customers "$data/import.csv" >"$data/report.json"
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
echo "import: $(jq -c '{accepted, duplicates, rejected}' "$data/report.json") in ${secs} s" \
     "($(awk -v n="$N" -v s="$secs" 'BEGIN { printf "%d", n / s }') rows/s)"
# the server's CPU time for the import (user + system, all its threads)
ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
echo "kehud CPU: $(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }') s"
echo "kehud wrote: $(awk '/^write_bytes/ { printf "%.0f MiB", $2 / 1048576 }' "/proc/$pid/io")"
kill -TERM "$pid"; wait "$pid" || true; pid=""
echo "data directory: $(du -sh "$data/d/db" | cut -f1)"
build/kehu-admin verify "$data/d" | tail -1
