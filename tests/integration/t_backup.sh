#!/usr/bin/env bash
# kehu-admin backup and restore (docs/operations.md#backups): a full backup
# taken while clients keep adding customers, restored into an empty
# directory, gives a kehud whose every record equals the source's as it
# was (customers, contacts, follow-ups, an attachment's bytes, users and
# their passwords), with every customer added before the backup there and
# `verify` clean. The backup's layout and manifest; names never reused; a
# changed or missing file refused before anything is written; a data
# directory a running kehud holds refused even with --force, a stopped one
# replaced with --force and kept aside; one kehud per data directory.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user s1 sales east

# --- before the backup ----------------------------------------------------------
for i in 1 2 3; do
  expect_exit 0 kehu_as s1 --json customer add --name "备份测试客户$i号有限公司" --region 上海
  id=$(out_jq -r .id)
  expect_exit 0 kehu_as s1 contact add "$id" --name "联系人$i" --phone "1390000000$i"
  expect_exit 0 kehu_as s1 followup add "$id" --method phone --summary "第${i}次电话"
done
first=$id
head -c 300000 /dev/urandom >"$KEHU_TMP/file.bin"
expect_exit 0 kehu_as s1 --json attach add "$first" "$KEHU_TMP/file.bin"
attachment=$(out_jq -r .id)

# --- a backup while a client keeps adding customers ------------------------------
load() {
  local i
  for ((i = 1; i <= 40; i++)); do
    kehu_as s1 customer add --name "负载客户$i号" >/dev/null 2>&1 || return 1
  done
}
load &
load_pid=$!
# wait (bounded) until the load has begun writing
limit=$(kehu_scaled 30)
for ((i = 0; i < limit * 10; i++)); do
  kehu_as admin --json customer search 负载客户 >/dev/null 2>&1 &&
    [[ "$(jq '.items | length' <<<"$(kehu_as admin --json customer search 负载客户)")" -ge 3 ]] && break
  sleep 0.1
done
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$KEHU_TMP/backups"
backup=${OUT%/}
[[ "$backup" =~ /backups/[0-9]{8}T[0-9]{6}Z-full$ ]] || fail "the backup's path: '$OUT'"
kehu_wait_all "$(kehu_scaled 120)" "$load_pid"
((STILL_RUNNING == 0)) || fail "the write load did not finish within $(kehu_scaled 120) s"

# the backup's files and manifest
for f in manifest.json data.mdb data.key kehud.conf tls/ca.crt tls/server.crt tls/server.key; do
  [[ -f "$backup/$f" ]] || fail "the backup lacks $f"
done
expect_eq 700 "$(stat -c %a "$backup")" "the backup directory's mode"
expect_eq full "$(jq -r .kind "$backup/manifest.json")" "the manifest's kind"
expect_eq "$(sha256sum <"$backup/data.mdb" | cut -d' ' -f1)" \
  "$(jq -r '.files[] | select(.path == "data.mdb") | .sha256' "$backup/manifest.json")" \
  "the manifest's checksum of data.mdb"
[[ "$(jq -r .audit_head.seq "$backup/manifest.json")" -gt 0 ]] || fail "no audit head in the manifest"
ls -a "$KEHU_TMP/backups" | grep -q partial && fail "a partial backup was left behind"
# two backups in the same second get two names
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$KEHU_TMP/backups"
second=${OUT%/}
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$KEHU_TMP/backups"
[[ "${OUT%/}" != "$second" ]] || fail "two backups share the name $second"

# the source as it is now: every customer, contact and follow-up
source_json() {
  local kind
  for kind in customers contacts followups; do
    expect_exit 0 kehu_as admin --json export "$kind"
    printf '%s\n' "$OUT" >"$1.$kind"
  done
}
source_json "$KEHU_TMP/source"

# --- a running kehud's data directory is refused, even with --force ---------------
expect_exit 6 kehu_admin restore "$backup" "$KEHU_DATA" --force
expect_match 'is running on' "$ERR" "restoring over a running kehud"
# and a second kehud on the same data directory does not start
if timeout "$(kehu_scaled 20)" "$KEHU_BUILD/kehud" --data "$KEHU_DATA" --listen 127.0.0.1:0 \
     >"$KEHU_TMP/second.out" 2>&1; then
  fail "a second kehud started on $KEHU_DATA"
fi
expect_match "another kehud \\(pid $KEHU_PID\\) is running" "$(cat "$KEHU_TMP/second.out")" \
  "the second kehud's refusal"

# --- damaged backups are refused before anything is written -----------------------
cp -a "$backup" "$KEHU_TMP/damaged"
printf 'X' | dd of="$KEHU_TMP/damaged/data.mdb" bs=1 seek=5000 conv=notrunc status=none
expect_exit 7 kehu_admin restore "$KEHU_TMP/damaged" "$KEHU_TMP/never"
expect_match 'data.mdb does not match its checksum' "$ERR" "a changed data.mdb"
[[ ! -e "$KEHU_TMP/never" ]] || fail "a refused restore created its data directory"
rm "$KEHU_TMP/damaged/data.mdb"
cp "$backup/data.mdb" "$KEHU_TMP/damaged/data.mdb"
rm "$KEHU_TMP/damaged/tls/server.key"
expect_exit 5 kehu_admin restore "$KEHU_TMP/damaged" "$KEHU_TMP/never"
expect_match 'tls/server.key is missing' "$ERR" "a missing file"
expect_exit 5 kehu_admin restore "$KEHU_TMP" "$KEHU_TMP/never"
expect_match 'not a kehu backup' "$ERR" "a directory without a manifest"

# --- restore into an empty directory and serve from it ------------------------------
restored=$KEHU_TMP/restored
expect_exit 0 kehu_admin restore "$backup" "$restored"
expect_exit 0 kehu_admin verify "$restored"
kehu_stop_server
KEHU_DATA=$restored
export KEHU_DATA
kehu_start_server
source_json "$KEHU_TMP/restored"

# every record of the restore is the source's, unchanged; every record
# written before the backup began is there; some of the load may be
compare() {
  local kind=$1
  jq -n --slurpfile a "$KEHU_TMP/source.$kind" --slurpfile b "$KEHU_TMP/restored.$kind" \
    '($a[0] | map({(.id): .}) | add) as $src | [$b[0][] | select($src[.id] != .)] | length'
}
for kind in customers contacts followups; do
  expect_eq 0 "$(compare "$kind")" "$kind of the restore that differ from the source's"
done
expect_eq 3 "$(jq '[.[] | select(.name | startswith("备份测试客户"))] | length' "$KEHU_TMP/restored.customers")" \
  "customers added before the backup"
expect_eq 3 "$(jq 'length' "$KEHU_TMP/restored.contacts")" "contacts added before the backup"
expect_eq 3 "$(jq 'length' "$KEHU_TMP/restored.followups")" "follow-ups added before the backup"
loaded=$(jq '[.[] | select(.name | startswith("负载客户"))] | length' "$KEHU_TMP/restored.customers")
((loaded >= 3 && loaded <= 40)) || fail "customers of the load in the backup: $loaded"
expect_exit 0 kehu_as s1 attach get "$attachment" -o "$KEHU_TMP/file.back"
cmp -s "$KEHU_TMP/file.bin" "$KEHU_TMP/file.back" || fail "the attachment's bytes differ"
# the users and their passwords came along (a new login, not a saved session)
rm -rf "$KEHU_TMP/users"
expect_exit 0 kehu_as s1 --json customer search 备份测试客户1号
expect_eq 1 "$(out_jq '.items | length')" "s1 logged in to the restore"
kehu_stop_server

# --- --force replaces a stopped data directory and keeps the old one -------------------
expect_exit 6 kehu_admin restore "$second" "$restored"
expect_match 'is not empty: --force replaces it' "$ERR" "restore over a data directory"
expect_exit 0 kehu_admin restore "$second" "$restored" --force
expect_match "kept as $restored.replaced-" "$OUT" "where the replaced directory went"
kept=$(ls -d "$restored".replaced-* | head -n 1)
[[ -f "$kept/db/data.mdb" ]] || fail "the replaced data directory was not kept"
expect_exit 0 kehu_admin verify "$restored"

# --- usage --------------------------------------------------------------------------------
expect_exit 2 kehu_admin backup "$restored"
expect_exit 2 kehu_admin restore "$backup"
expect_exit 2 kehu_admin backup "$restored" "$KEHU_TMP/x" --bogus
