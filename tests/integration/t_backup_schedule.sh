#!/usr/bin/env bash
# Scheduled backups ([backup] in kehud.conf; docs/operations.md#backup-and-restore):
# kehud runs a backup every day at [backup] time (the server's clock set a
# few seconds before it): full on the [backup] full weekday, incremental on
# the others; it keeps the newest [backup] keep full backups with the
# incrementals on them, the pair restores whole, and a backup
# that fails (a destination that cannot be written) is logged, audited and
# given to every admin as a reminder. A bad time or weekday refuses the
# config.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_expect_config_refused backup time 25:00
kehu_conf_set backup time 03:00
kehu_expect_config_refused backup full someday
kehu_conf_set backup full daily
kehu_conf_set backup dir "$KEHU_TMP/scheduled"

# The server's clock a little before the next 03:00: 6 s, scaled, so that
# kehud is listening before it on a slow machine too.
before_three() {
  KEHU_CLOCK_OFFSET=$(($(date -d 'tomorrow 03:00' +%s) - $(kehu_scaled 6) - $(date +%s)))
  export KEHU_CLOCK_OFFSET
}

# waits (bounded) until the server log says the backup ran (done or failed)
wait_backup() {
  local i limit
  limit=$(kehu_scaled 30)
  for ((i = 0; i < limit * 10; i++)); do
    grep -qE 'scheduled backup (done|failed)' "$KEHU_LOG" && return 0
    sleep 0.1
  done
  fail "no scheduled backup within $limit s of 03:00 (server time)"
}

# The weekday of tomorrow's 03:00 gets the full backup; any other, an
# incremental one. Four runs with keep = 1: full, incremental, full (the
# first full and its incremental removed), incremental; customers are added
# between them, so the last pair holds all 35.
days=(sun mon tue wed thu fri sat)
full_day=${days[$(date -d 'tomorrow 03:00' +%w)]}
other_day=${days[$((($(date -d 'tomorrow 03:00' +%w) + 3) % 7))]}
kehu_conf_set backup keep 1
expect_exit 0 kehu_admin seed "$KEHU_DATA" --customers 20
run=0
for day in "$full_day" "$other_day" "$full_day" "$other_day"; do
  run=$((run + 1))
  kehu_conf_set backup full "$day"
  ((run == 1)) || expect_exit 0 kehu_admin seed "$KEHU_DATA" --customers 5
  before_three
  kehu_start_server
  wait_backup
  grep -q 'scheduled backup done' "$KEHU_LOG" || fail "backup $run failed: $(cat "$KEHU_LOG")"
  if [[ $day == "$full_day" ]]; then kind=full; else kind=incremental; fi
  grep -q "scheduled backup started ($kind)" "$KEHU_LOG" || fail "backup $run was not $kind: $(cat "$KEHU_LOG")"
  kehu_stop_server
  sleep 1   # the next backup's name is a second later
done
mapfile -t kept < <(ls "$KEHU_TMP/scheduled")
expect_eq 2 "${#kept[@]}" "backups kept with keep = 1 (a full and its incremental): ${kept[*]}"
[[ "${kept[0]}" =~ ^[0-9]{8}T[0-9]{6}Z-full$ && "${kept[1]}" =~ ^[0-9]{8}T[0-9]{6}Z-incr$ ]] ||
  fail "the backups kept: ${kept[*]}"
grep -q 'removed (keep = 1)' "$KEHU_TMP/kehud.old.log" "$KEHU_LOG" ||
  fail "kehud did not say it removed the older backups"
expect_exit 0 kehu_admin restore "$KEHU_TMP/scheduled/${kept[0]}" "$KEHU_TMP/scheduled/${kept[1]}" \
  "$KEHU_TMP/restored"
expect_exit 0 kehu_admin stats "$KEHU_TMP/restored" --json
expect_eq 35 "$(out_jq .records.customer)" "customers in the scheduled full and incremental backups"

# a destination that cannot be written: logged, audited, every admin told
printf 'not a directory\n' >"$KEHU_TMP/afile"
kehu_conf_set backup dir "$KEHU_TMP/afile/backups"
before_three
kehu_start_server
wait_backup
grep -q 'scheduled backup failed: .*afile' "$KEHU_LOG" || fail "the failure in the log: $(cat "$KEHU_LOG")"
limit=$(kehu_scaled 20)
for ((i = 0; i < limit * 10; i++)); do
  kehu_as admin --json reminder list >"$KEHU_TMP/rem.json" 2>/dev/null &&
    jq -e '.items[] | select(.kind == "backup_failed")' "$KEHU_TMP/rem.json" >/dev/null && break
  sleep 0.1
done
expect_exit 0 kehu_as admin --json reminder list
expect_match 'scheduled backup failed: .*afile' \
  "$(out_jq -r '.items[] | select(.kind == "backup_failed") | .message')" "the admin's reminder"
expect_exit 0 kehu_as admin --json audit --limit 50
expect_eq 1 "$(out_jq '[.items[] | select(.action == "backup_failed" and .user == "kehud")] | length')" \
  "the failure in the audit log"
expect_server_alive
