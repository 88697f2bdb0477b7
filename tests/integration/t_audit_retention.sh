#!/usr/bin/env bash
# Audit retention (docs/operations.md#audit-log): entries older than
# [audit] retention_days (730 at least) move to DATADIR/audit-archive/ when
# kehud starts (and daily), byte for byte, and the move is audited; entries
# younger than two years stay. `kehu-admin audit verify` proves the chain
# across the archive and the store, and `audit export` lists both; a
# changed or missing archive file breaks the chain. A backup carries the archive and its restore verifies.
# retention_days below 730 refuses the config.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"

kehu_expect_config_refused audit retention_days 729
kehu_conf_set audit retention_days 730
# (no kehu-admin user change here: kehu-admin audits with the real time,
# and archiving stops at the first entry young enough to keep)

# three years ago: customer 甲 (its create, and a login, audited)
shift_server_clock '-3 years'
kehu_start_server
expect_exit 0 kehu_as admin --json customer add --name 审计保留测试甲有限公司
old_id=$(out_jq -r .id)
kehu_stop_server
rm -rf "$KEHU_TMP/users"   # a fresh login in each period

# 13 months ago (the 3-year-old entries are not yet 730 days old): customer 乙
shift_server_clock '-13 months'
kehu_start_server
expect_exit 0 kehu_as admin --json customer add --name 审计保留测试乙有限公司
young_id=$(out_jq -r .id)
kehu_stop_server
rm -rf "$KEHU_TMP/users"
expect_exit 0 kehu_admin audit verify "$KEHU_DATA"
total=$(sed -n 's/^ok: \([0-9]*\) audit entries.*/\1/p' <<<"$OUT")
((total >= 4)) || fail "audit entries before archiving: $OUT"

# now: kehud archives what is older than 730 days at start
shift_server_clock 'now'
kehu_start_server
limit=$(kehu_scaled 20)
for ((i = 0; i < limit * 10; i++)); do
  grep -q "audit archive: " "$KEHU_LOG" && break   # logged once the entries left the store
  sleep 0.1
done
archive=$(compgen -G "$KEHU_DATA/audit-archive/audit-*.log" | head -n 1 || true)
[[ -n "$archive" ]] || fail "no archive file within $limit s"
expect_match 'audit-archive/audit-000000000001-[0-9]{12}\.log$' "$archive" "the archive's name"
grep -q "audit archive: [0-9]* entries moved to audit-archive/audit-" "$KEHU_LOG" ||
  fail "kehud did not log the archiving"

expect_exit 0 kehu_as admin --json audit --limit 500
out_jq -c '.items[]' >"$KEHU_TMP/kept"
grep -q "\"entity_id\":\"$old_id\"" "$KEHU_TMP/kept" && fail "the 3-year-old entry is still in the store"
grep -q "\"entity_id\":\"$young_id\"" "$KEHU_TMP/kept" || fail "the 13-month-old entry left the store"
expect_eq 1 "$(out_jq '[.items[] | select(.action == "archive" and .user == "kehud")] | length')" \
  "the archiving's own audit entry"
expect_match '^entries 1-[0-9]+ \(before [0-9-]+\) moved to audit-archive/audit-' \
  "$(out_jq -r '.items[] | select(.action == "archive") | .details')" "what the entry says"
# the archive holds the old entries byte for byte: the first is entry 1
expect_eq 1 "$(head -n 1 "$archive" | cut -d' ' -f1)" "the archive's first entry"

# a second start archives nothing more
kehu_stop_server
kehu_start_server
sleep "$(kehu_scaled 1)"
expect_eq 1 "$(compgen -G "$KEHU_DATA/audit-archive/audit-*.log" | wc -l)" "archive files after a restart"
kehu_stop_server

expect_exit 0 kehu_admin audit verify "$KEHU_DATA"
expect_match '^ok: [0-9]+ audit entries, hash chain intact \([0-9]+ of them in audit-archive/\)' \
  "$OUT" "verify across the archive"
after=$(sed -n 's/^ok: \([0-9]*\) audit entries.*/\1/p' <<<"$OUT")
((after > total)) || fail "entries after archiving ($after) not above before ($total)"
# the export holds every entry, the archived ones too, newest first
expect_exit 0 kehu_admin audit export "$KEHU_DATA" --format json
expect_eq "$after" "$(out_jq length)" "entries exported, the archived ones included"
expect_eq true "$(out_jq '[.[].seq] as $s | $s == ($s | sort | reverse)')" "the export newest first"
expect_eq 1 "$(out_jq '.[-1].seq')" "the oldest entry exported"
expect_eq true "$(out_jq --arg id "$old_id" 'any(.[]; .entity_id == $id and .action == "create")')" \
  "the archived create of the 3-year-old customer in the export"
expect_exit 0 kehu_admin audit export "$KEHU_DATA" --since "$(date -d '-2 years' +%F)" --format json
expect_eq false "$(out_jq --arg id "$old_id" 'any(.[]; .entity_id == $id)')" "--since leaves it out"

# a backup carries the archive; its restore verifies
expect_exit 0 kehu_admin backup "$KEHU_DATA" "$KEHU_TMP/backups"
backup=${OUT%/}
[[ -f "$backup/audit-archive/$(basename "$archive")" ]] || fail "the backup lacks the archive"
expect_exit 0 kehu_admin restore "$backup" "$KEHU_TMP/restored"
expect_exit 0 kehu_admin audit verify "$KEHU_TMP/restored"

# a changed archive entry breaks the chain; a missing archive is noticed
cp "$archive" "$KEHU_TMP/archive.bak"
python3 - "$archive" <<'PY'
import base64, sys
path = sys.argv[1]
lines = open(path).read().splitlines()
seq, b64 = lines[0].split(" ")
raw = bytearray(base64.b64decode(b64))
raw[-1] ^= 1
lines[0] = seq + " " + base64.b64encode(bytes(raw)).decode()
open(path, "w").write("\n".join(lines) + "\n")
PY
expect_exit 1 kehu_admin audit verify "$KEHU_DATA"
expect_match 'audit log damaged' "$OUT" "a changed archive entry"
rm "$archive"
expect_exit 1 kehu_admin audit verify "$KEHU_DATA"
expect_match 'archive .* ends at entry 0: archive files are missing' "$OUT" "a missing archive"
cp "$KEHU_TMP/archive.bak" "$archive"
expect_exit 0 kehu_admin audit verify "$KEHU_DATA"
