#!/usr/bin/env bash
# Incremental backups (docs/operations.md#backups): a full backup, writes,
# an incremental, more writes of every kind (updates, deletes, a purge, an
# attachment, a user), a second incremental; full + both restored into an
# empty directory equal the source record by record (every record table,
# dumped raw) and verify clean. The same with backups taken during a 30 s
# write load. A tampered, missing or misordered incremental is refused
# before anything is written; an incremental with nothing to build on is a
# full backup, saying why.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

command -v mdb_dump >/dev/null || fail "mdb_dump (Debian package lmdb-utils) is needed"

kehu_start_server
kehu_add_user rep1 sales east
backups=$KEHU_TMP/backups

add_customers() {   # PREFIX COUNT: customers with a contact and a follow-up each
  local i id
  for ((i = 1; i <= $2; i++)); do
    expect_exit 0 kehu_as rep1 --json customer add --name "$1客户$i号有限公司" --region 上海
    id=$(out_jq -r .id)
    expect_exit 0 kehu_as rep1 contact add "$id" --name "$1联系人$i" --phone "13$((RANDOM % 9 + 1))0000$(printf %04d "$i")"
    expect_exit 0 kehu_as rep1 followup add "$id" --method phone --summary "$1第${i}次电话"
  done
  LAST_ID=$id
}

# The record tables of a stopped data directory, dumped raw, one file each:
# every key and value. The change log itself is not compared (a restore
# starts its own), nor the search tables (the source may not have folded
# its pending list yet; verify checks them against the records).
dump_tables() {   # DATADIR OUTDIR
  local t
  mkdir -p "$2"
  for t in meta users sessions customers field_defs attachment_data audit reminders \
           contact followup need contract order ticket attachment \
           cust_owner cust_stage cust_extcode cust_name child_parent contract_number \
           contact_phone rem_due rem_user rem_cust rem_source; do
    mdb_dump -s "$t" "$1/db" | sed '1,/^HEADER=END$/d' >"$2/$t" ||
      fail "mdb_dump of $t in $1 failed"
  done
  # meta's scrub:* keys say how far this store's own zeroing of free pages
  # got (docs/storage.md#erasure): a purge's count comes along, but the
  # source may zero after the backup's snapshot, and a restore that is
  # behind only zeroes once more at its start. Key and value lines alternate.
  awk '/^DATA=END/ { print; next } NR % 2 { k = $0; next }
       k !~ /^ 73637275623a/ { print k; print }' "$2/meta" >"$2/meta.kept" &&
    mv "$2/meta.kept" "$2/meta"
}

expect_same_tables() {   # SOURCE RESTORED WHAT
  dump_tables "$1" "$KEHU_TMP/dump.a"
  dump_tables "$2" "$KEHU_TMP/dump.b"
  local t differ=""
  for t in "$KEHU_TMP"/dump.a/*; do
    t=${t##*/}
    cmp -s "$KEHU_TMP/dump.a/$t" "$KEHU_TMP/dump.b/$t" || differ+=" $t"
  done
  [[ -z "$differ" ]] || {
    diff "$KEHU_TMP/dump.a/${differ# }" "$KEHU_TMP/dump.b/${differ# }" | head -n 10 >&2
    fail "$3: tables that differ from the source's:$differ"
  }
  [[ -s "$KEHU_TMP/dump.a/customers" ]] || fail "$3: the source dump is empty"
  rm -rf "$KEHU_TMP/dump.a" "$KEHU_TMP/dump.b"
}

# --- a new store notes no change until its first backup (docs/storage.md#change-log)
add_customers 零 2
expect_exit 0 kehu_admin stats "$KEHU_DATA" --json
expect_eq 0 "$(out_jq .change_log.entries)" "change-log entries before the first backup"

# --- nothing to build on: a full backup, saying why -------------------------------
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$backups" --incremental
full=${OUT%/}
[[ "$full" =~ /backups/[0-9]{8}T[0-9]{6}Z-full$ ]] || fail "the first --incremental: '$OUT'"
expect_match 'a full backup instead of an incremental one: .* holds no backup' "$ERR" \
  "why the first --incremental was a full backup"

# --- full, writes, incremental, writes of every kind, incremental --------------------
add_customers 甲 5
first=$LAST_ID
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$backups" --incremental
inc1=${OUT%/}
[[ "$inc1" =~ /backups/[0-9]{8}T[0-9]{6}Z-incr$ ]] || fail "the first incremental: '$OUT'"
expect_eq incr "$(jq -r .kind "$inc1/manifest.json")" "the incremental's kind"
expect_eq "${full##*/}" "$(jq -r .previous "$inc1/manifest.json")" "what the incremental builds on"
expect_eq "$(jq .changes.to "$full/manifest.json")" "$(jq .changes.from "$inc1/manifest.json")" \
  "the incremental starts where the full backup ends"
[[ -f "$inc1/changes" && ! -e "$inc1/data.mdb" ]] || fail "the incremental holds a store copy"
# the incremental holds no plain text of sealed records
if grep -a -q '甲联系人1' "$inc1/changes"; then fail "a contact's name in plain text in the changes"; fi

add_customers 乙 4
expect_exit 0 kehu_as rep1 customer update "$first" --stage intent
expect_exit 0 kehu_as rep1 --json customer add --name "丙要删除的客户"
gone=$(out_jq -r .id)
expect_exit 0 kehu_as rep1 customer delete "$gone"
expect_exit 0 kehu_as admin customer purge "$gone"
head -c 200000 /dev/urandom >"$KEHU_TMP/file.bin"
expect_exit 0 kehu_as rep1 --json attach add "$first" "$KEHU_TMP/file.bin"
attachment=$(out_jq -r .id)
kehu_add_user rep2 sales west
expect_exit 0 kehu_as rep1 --json reminder add --customer "$first" --at 2030-01-01T09:00:00Z --message "回访"
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$backups" --incremental
inc2=${OUT%/}
[[ "$inc2" =~ -incr$ ]] || fail "the second incremental: '$OUT'"
expect_eq "${inc1##*/}" "$(jq -r .previous "$inc2/manifest.json")" "what the second builds on"

kehu_stop_server   # the source stands still: compared table by table below

# the backup trimmed the change log to what the next incremental needs
expect_exit 0 kehu_admin stats "$KEHU_DATA" --json
to=$(jq .changes.to "$inc2/manifest.json")
head=$(out_jq .change_log.head)
((head >= to)) || fail "the change log's head $head is behind the backup's $to"
expect_eq $((head - to + 1)) "$(out_jq .change_log.entries)" "change-log entries after the backup"

# --- refused: tampered, missing, misordered; nothing written ---------------------------
cp -r "$inc1" "$KEHU_TMP/tampered"
printf 'x' | dd of="$KEHU_TMP/tampered/changes" bs=1 seek=40 conv=notrunc status=none
expect_exit 7 kehu_admin restore "$full" "$KEHU_TMP/tampered" "$inc2" "$KEHU_TMP/never"
expect_match 'changes does not match its checksum' "$ERR" "a tampered incremental"
expect_exit 7 kehu_admin restore "$full" "$inc2" "$KEHU_TMP/never"
expect_match "the backup between them \\(${inc1##*/}\\) is missing" "$ERR" "a missing incremental"
expect_exit 7 kehu_admin restore "$full" "$inc2" "$inc1" "$KEHU_TMP/never"
expect_match 'missing|order they were taken' "$ERR" "incrementals out of order"
expect_exit 7 kehu_admin restore "$inc1" "$KEHU_TMP/never"
expect_match 'starts from a full one' "$ERR" "an incremental alone"
rm "$KEHU_TMP/tampered/changes"
expect_exit 5 kehu_admin restore "$full" "$KEHU_TMP/tampered" "$KEHU_TMP/never"
expect_match 'changes is missing' "$ERR" "an incremental without its changes"
[[ ! -e "$KEHU_TMP/never" ]] || fail "a refused restore created its data directory"

# --- full + both: the source, record by record ---------------------------------------------
restored=$KEHU_TMP/restored
expect_exit 0 kehu_admin restore "$full" "$inc1" "$inc2" "$restored"
expect_match 'and 2 incremental backups' "$OUT" "what restore says"
expect_exit 0 kehu_admin verify "$restored"
expect_same_tables "$KEHU_DATA" "$restored" "full + 2 incrementals"

# the restore serves: the attachment's bytes, the purged customer gone, rep2 logs in
source_data=$KEHU_DATA
KEHU_DATA=$restored
export KEHU_DATA
kehu_start_server
rm -rf "$KEHU_TMP/users"
expect_exit 0 kehu_as rep1 attach get "$attachment" -o "$KEHU_TMP/file.back"
cmp -s "$KEHU_TMP/file.bin" "$KEHU_TMP/file.back" || fail "the attachment's bytes differ"
expect_exit 5 kehu_as admin customer get "$gone"
expect_exit 0 kehu_as rep2 --json customer list
expect_exit 0 kehu_as rep1 --json customer search 乙客户3号
expect_eq 1 "$(out_jq '.items | length')" "search in the restore"
# the restored store goes on from where the chain ended: an incremental of
# it builds on the chain's last backup
add_customers 丁 1
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$backups" --incremental
[[ "${OUT%/}" =~ -incr$ ]] || fail "an incremental of the restored store: '$OUT'"
expect_eq "${inc2##*/}" "$(jq -r .previous "${OUT%/}/manifest.json")" \
  "the restored store's incremental builds on the chain"
kehu_stop_server
KEHU_DATA=$source_data
export KEHU_DATA

# --- backups during a 30 s write load -------------------------------------------------------
rm -rf "$backups"
kehu_start_server
load() {   # N: customers with a contact, and updates, until the deadline
  local i id end=$((SECONDS + 30))
  for ((i = 1; i <= 2000 && SECONDS < end; i++)); do
    id=$(kehu_as rep1 --json customer add --name "负载$1-$i" 2>/dev/null | jq -r .id) || return 1
    kehu_as rep1 contact add "$id" --name "负载联系人$1-$i" --phone "139$1$(printf %07d "$i")" >/dev/null 2>&1 || return 1
    kehu_as rep1 customer update "$id" --stage intent >/dev/null 2>&1 || return 1
  done
}
load 1 &
p1=$!
load 2 &
p2=$!
sleep 3
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$backups"
lfull=${OUT%/}
sleep 8
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$backups" --incremental
linc1=${OUT%/}
sleep 8
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$backups" --incremental
linc2=${OUT%/}
kehu_wait_all "$(kehu_scaled 120)" "$p1" "$p2"
((STILL_RUNNING == 0)) || fail "the write load did not finish within $(kehu_scaled 120) s"
[[ "$linc1" =~ -incr$ && "$linc2" =~ -incr$ ]] || fail "incrementals under load: $linc1 $linc2"
# a backup taken mid-load is a consistent store
expect_exit 0 kehu_admin restore "$lfull" "$linc1" "$KEHU_TMP/midway"
expect_exit 0 kehu_admin verify "$KEHU_TMP/midway"
kehu_stop_server
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$backups" --incremental
linc3=${OUT%/}
expect_exit 0 kehu_admin restore "$lfull" "$linc1" "$linc2" "$linc3" "$KEHU_TMP/loaded"
expect_exit 0 kehu_admin verify "$KEHU_TMP/loaded"
expect_same_tables "$KEHU_DATA" "$KEHU_TMP/loaded" "full + 3 incrementals under load"
count=$(mdb_stat -s customers "$KEHU_DATA/db" | awk '/Entries:/ {print $2}')
((count > 20)) || fail "the load wrote only $count customers"

# --- a key rotation between backups: the incremental carries the re-sealed values ---------
expect_exit 0 kehu_admin rotate-key "$KEHU_DATA"
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$backups" --incremental
linc4=${OUT%/}
[[ -f "$linc4/keys/seal-2.key" ]] || fail "the incremental lacks the new key generation"
expect_exit 0 kehu_admin restore "$lfull" "$linc1" "$linc2" "$linc3" "$linc4" "$KEHU_TMP/rotated"
expect_exit 0 kehu_admin verify "$KEHU_TMP/rotated"
expect_same_tables "$KEHU_DATA" "$KEHU_TMP/rotated" "a chain across a key rotation"
