#!/usr/bin/env bash
# Issue 5: a rep running `kehu watch` receives, within 1 s, each kind of
# reminder (docs/architecture.md#reminders): contract_expiry for a contract created ending in 7
# days, followup_due for a follow-up due 2 s ahead, dormant for a customer
# whose last follow-up was 181 days ago, birthday for a contact born on
# this day, ticket_sla for a ticket whose response is due 2 s ahead, and a
# manual one. The server runs with its clock at 12:00 today (local time),
# so that reminders of dated rules (09:00 local) are already due.
#
# The 1 s is what users notice and is never scaled. It is timed from when
# `kehu watch` printed the event (lib_reminders.sh) to the due time, or to
# when the command that raised it returned. "2 s ahead" is a margin for that
# command, not a claim, so it grows with KEHU_TIME_FACTOR (lead_time); and
# a command that still ran past the due time is timed from its return
# (expect_on_time), as a loaded machine, not the timer, made it late. This
# test holds CTest's `timing` lock (tests/CMakeLists.txt): no heavy test
# runs beside it.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_reminders.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_reminders.sh"

shift_server_clock 'today 12:00'
note "server clock offset: $KEHU_CLOCK_OFFSET s (server time $(date -d "@$(server_now)" '+%F %T %Z'))"
kehu_init_data
kehu_add_user rep1 sales
kehu_add_user svc1 service      # sales may not write tickets: service opens them
kehu_start_server
expect_exit 0 kehu_as rep1 login
expect_exit 0 kehu_as svc1 login

# The server really runs on the shifted clock: a record it stamps says so.
expect_exit 0 kehu_as rep1 --json customer add --name "时钟检查有限公司"
clock_customer=$(out_jq .id)
stamped=$(epoch_of "$(out_jq .created_at)")
skew=$((stamped - $(server_now)))
skew_limit=$(kehu_scaled 5)   # the command's run time, mostly
((skew >= -skew_limit && skew <= skew_limit)) ||
  fail "created_at $(out_jq .created_at) is not the server's shifted time $(server_iso 0) (KEHU_CLOCK_OFFSET=$KEHU_CLOCK_OFFSET)"
expect_eq rep1 "$(out_jq .owner)" "owner of a customer rep1 added"

watch_start rep1 rep

# add_customer NAME: sets CID.
add_customer() {
  expect_exit 0 kehu_as rep1 --json customer add --name "$1"
  CID=$(out_jq .id)
  expect_eq rep1 "$(out_jq .owner)" "owner of $CID"
}

# timed ARGS...: expect_exit 0 ARGS..., T_END when it returned.
timed() {
  expect_exit 0 "$@"
  T_END=$(wall_now)
}

nine_today=$(date -d "$(server_date) 09:00" +%s)   # remind_hour, server local time

# --- (a) contract_expiry: a contract created ending in 7 days --------------
add_customer "合同到期测试有限公司"
contract_customer=$CID
ends=$(server_date 7)
timed kehu_as rep1 --json contract add "$contract_customer" --number "HT-$(server_date | tr -d -)-7" \
  --amount 120000.00 --signed "$(server_date -358)" --start "$(server_date -358)" --end "$ends" \
  --status active
contract=$(out_jq .id)
[[ -n "$contract" && "$contract" != null ]] || fail "contract add --json printed no id: $OUT"
watch_wait rep "(.reminder.kind == \"contract_expiry\") and .reminder.record_id == \"$contract\"" 5 ||
  fail "no contract_expiry reminder for contract $contract (ends $ends, server date $(server_date)) within $(kehu_scaled 5) s
  the watch printed: $(cut -f2 "$KEHU_TMP/watch-rep.tsv")"
expect_event_kind contract_expiry
expect_eq "$contract_customer" "$(ev_jq .reminder.customer_id)" "contract_expiry .reminder.customer_id"
expect_eq rep1 "$(ev_jq .reminder.user)" "contract_expiry .reminder.user"
# The 7-day reminder: 09:00 server local time, 7 days before the end (today).
expect_eq "$nine_today" "$(epoch_of "$(ev_jq .reminder.due_at)")" \
  "contract_expiry due_at ($(ev_jq .reminder.due_at)) as 09:00 local on $(server_date)"
expect_soon_after "contract_expiry" "$T_END"

# --- (b) followup_due: a follow-up due 2 s ahead --------------------------
add_customer "跟进到期测试有限公司"
due=$(server_iso "$(lead_time 2)")
timed kehu_as rep1 --json followup add "$CID" --method phone --summary "电话沟通报价" \
  --next "发送正式报价单" --due "$due"
followup=$(out_jq .id)
watch_wait rep "(.reminder.kind == \"followup_due\") and .reminder.record_id == \"$followup\"" 5 ||
  fail "no followup_due reminder for follow-up $followup (due $due server time) within $(kehu_scaled 5) s
  the watch printed: $(cut -f2 "$KEHU_TMP/watch-rep.tsv")"
expect_event_kind followup_due
expect_eq "$CID" "$(ev_jq .reminder.customer_id)" "followup_due .reminder.customer_id"
expect_eq "$(epoch_of "$due")" "$(epoch_of "$(ev_jq .reminder.due_at)")" "followup_due due_at"
expect_on_time "followup_due" "$(wall_of "$(epoch_of "$due")")" "$T_END"

# --- (c) dormant: the last follow-up was 181 days ago ---------------------
add_customer "沉睡客户测试有限公司"
dormant_customer=$CID
timed kehu_as rep1 --json followup add "$dormant_customer" --method visit \
  --summary "上门拜访，客户暂无采购计划" --at "$(server_iso $((-181 * 86400)))"
watch_wait rep "(.reminder.kind == \"dormant\") and .reminder.customer_id == \"$dormant_customer\"" 5 ||
  fail "no dormant reminder for customer $dormant_customer (last follow-up 181 days ago) within $(kehu_scaled 5) s
  the watch printed: $(cut -f2 "$KEHU_TMP/watch-rep.tsv")"
expect_event_kind dormant
expect_eq rep1 "$(ev_jq .reminder.user)" "dormant .reminder.user"
expect_soon_after "dormant" "$T_END"

# --- (d) birthday: a contact born on this day in 1990 ---------------------
add_customer "生日提醒测试有限公司"
birthday=1990-$(server_date | cut -c6-)
timed kehu_as rep1 --json contact add "$CID" --name "王丽华" --title 采购经理 --birthday "$birthday"
contact=$(out_jq .id)
watch_wait rep "(.reminder.kind == \"birthday\") and .reminder.record_id == \"$contact\"" 5 ||
  fail "no birthday reminder for contact $contact (born $birthday, server date $(server_date)) within $(kehu_scaled 5) s
  the watch printed: $(cut -f2 "$KEHU_TMP/watch-rep.tsv")"
expect_event_kind birthday
expect_eq "$CID" "$(ev_jq .reminder.customer_id)" "birthday .reminder.customer_id"
expect_eq "$nine_today" "$(epoch_of "$(ev_jq .reminder.due_at)")" \
  "birthday due_at ($(ev_jq .reminder.due_at)) as 09:00 local on $(server_date)"
expect_soon_after "birthday" "$T_END"

# --- (e) ticket_sla: a ticket whose response is due 2 s ahead --------------
# Opened by service and assigned to a service user (a sales rep may not work
# tickets): the assignee gets the reminder.
add_customer "工单响应测试有限公司"
watch_start svc1 svc
due=$(server_iso "$(lead_time 2)")
timed kehu_as svc1 --json ticket add "$CID" --subject "设备无法开机" --priority high \
  --assignee svc1 --due "$due"
ticket=$(out_jq .id)
expect_eq svc1 "$(out_jq .assignee)" "ticket .assignee"
watch_wait svc "(.reminder.kind == \"ticket_sla\") and .reminder.record_id == \"$ticket\"" 5 ||
  fail "no ticket_sla reminder for ticket $ticket (response due $due server time) within $(kehu_scaled 5) s
  the watch printed: $(cut -f2 "$KEHU_TMP/watch-svc.tsv")"
expect_event_kind ticket_sla
expect_eq "$(epoch_of "$due")" "$(epoch_of "$(ev_jq .reminder.due_at)")" "ticket_sla due_at"
expect_on_time "ticket_sla" "$(wall_of "$(epoch_of "$due")")" "$T_END"

# --- (f) manual: `reminder add --at` 2 s ahead -----------------------------
due=$(server_iso "$(lead_time 2)")
timed kehu_as rep1 --json reminder add --at "$due" --message "给张总回电话" --customer "$CID"
manual=$(out_jq .id)
expect_eq manual "$(out_jq .kind)" "reminder add .kind"
watch_wait rep ".reminder.id == \"$manual\"" 5 ||
  fail "no manual reminder $manual (due $due server time) within $(kehu_scaled 5) s
  the watch printed: $(cut -f2 "$KEHU_TMP/watch-rep.tsv")"
expect_event_kind manual
expect_eq "给张总回电话" "$(ev_jq .reminder.message)" "manual .reminder.message"
expect_on_time "manual" "$(wall_of "$(epoch_of "$due")")" "$T_END"

# --- nothing twice --------------------------------------------------------
# Of a contract's past reminder times only the latest (7 days) is raised;
# each reminder reached this one watch once.
sleep 1
expect_eq 1 "$(watch_count rep ".reminder.record_id == \"$contract\"")" \
  "contract_expiry events for $contract (the 30-day one is past: only the 7-day one)"
dups=$(watch_events rep 'true' | cut -f2 | jq -r '.reminder.id // empty' | sort | uniq -d)
[[ -z "$dups" ]] || fail "reminders delivered twice to one watch: $dups"
# Nothing for the customer that only checked the clock (dormant in 180 days).
expect_eq 0 "$(watch_count rep ".reminder.customer_id == \"$clock_customer\"")" \
  "events about $clock_customer, which has no due reminder"

# --- (g) a manual reminder from a command that logs in by itself ----------
# No stored token: `kehu` logs in with KEHU_PASSWORD in the same connection
# as the request (README.md). The reminder must fall due all the same.
due=$(server_iso "$(lead_time 2)")
mkdir -p "$KEHU_TMP/rep1-elsewhere"
XDG_CONFIG_HOME=$KEHU_TMP/rep1-elsewhere KEHU_PASSWORD=rep1-pass \
  expect_exit 0 kehu --user rep1 --json reminder add --at "$due" --message "另一台电脑上设的提醒"
T_END=$(wall_now)
manual2=$(out_jq .id)
if ! watch_wait rep ".reminder.id == \"$manual2\"" 5; then
  expect_exit 0 kehu_as rep1 --json reminder list --all
  fail "no event for manual reminder $manual2 (due $due server time, added by a command that logged in with the password) within $(kehu_scaled 5) s of adding it
  reminder list --all: $(out_jq -c --arg id "$manual2" '.items[] | select(.id == $id)')"
fi
expect_event_kind manual
expect_on_time "manual (added with a password login)" "$(wall_of "$(epoch_of "$due")")" "$T_END"

watch_expect_alive rep
watch_stop rep
watch_stop svc
expect_server_alive
kehu_stop_server
