#!/usr/bin/env bash
# `kehu tui` (docs/architecture.md#the-tui) inside tmux against a real kehud:
# keys sent with send-keys, the screen read with capture-pane.
#  - a Chinese name typed into the search finds its customers, the columns
#    line up (East-Asian widths), Enter opens the customer;
#  - a follow-up added through the form shows in the tab and in
#    `kehu followup list`;
#  - an invalid phone in the contact form is shown next to the field and
#    nothing is saved;
#  - a reminder raised by another client is on the screen within 2 s;
#  - kehud stopped: "offline", and keys still work; kehud back on the same
#    port: "online" again, and the screen loads from it;
#  - under LANG=zh_CN.UTF-8 the status line, footer, headers, forms and a
#    field's error are in Chinese (English under C.UTF-8, above).
# The 2 s is what a user notices and is not scaled; the waits for the rest
# are hang guards (kehu_scaled). Holds CTest's `timing` lock.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v tmux >/dev/null || fail "tmux is required (scripts/deps.sh installs it)"

TMUX_SOCK=$KEHU_TMP/tmux.sock
tui_stop() { tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true; }
# set +e: the test's status is handed to kehu_cleanup, not taken as a failure of the trap
trap 'rc=$?; set +e; tui_stop; (exit $rc); kehu_cleanup' EXIT

kehu_init_data
kehu_add_user rep1 sales
kehu_start_server
expect_exit 0 kehu_as rep1 login
for name in 华为技术有限公司 华为云计算技术有限公司 华夏银行股份有限公司; do
  expect_exit 0 kehu_as rep1 --json customer add --name "$name" --industry 通信
done

# tui_start LANG: kehu tui as rep1 in a 100x30 tmux window.
tui_start() {
  tmux -S "$TMUX_SOCK" new-session -d -s tui -x 100 -y 30 \
    "env -u LC_ALL -u LANGUAGE -u LC_MESSAGES -u LC_CTYPE LANG=$1 TERM=screen XDG_CONFIG_HOME=$KEHU_TMP/users/rep1 \
     KEHU_SERVER=$KEHU_SERVER KEHU_CA=$KEHU_CA KEHU_USER=rep1 \
     $KEHU_BUILD/kehu tui 2>>$KEHU_TMP/tui.err; echo \$? >$KEHU_TMP/tui.exit; sleep 600"
}
screen() { tmux -S "$TMUX_SOCK" capture-pane -p -t tui; }
keys() { tmux -S "$TMUX_SOCK" send-keys -t tui "$@"; }
text() { tmux -S "$TMUX_SOCK" send-keys -t tui -l "$1"; }
# wait_for PATTERN SECONDS WHAT: until the screen matches (grep -E).
wait_for() {
  local i limit=$(($2 * 10))
  for ((i = 0; i < limit; i++)); do
    screen | grep -qE -- "$1" && return 0
    sleep 0.1
  done
  fail "$3: '$1' not on the screen within $2 s:
$(screen)
tui stderr: $(cat "$KEHU_TMP/tui.err" 2>/dev/null)"
}

tui_start C.UTF-8
wait_for ' online *$' "$(kehu_scaled 10)" "the TUI connects"
wait_for '华夏银行' "$(kehu_scaled 10)" "the customer list"

# --- search as you type, aligned columns, open ------------------------------
keys /
text 华为
wait_for 'Search: 华为' "$(kehu_scaled 5)" "the typed search"
for ((i = 0; i < $(kehu_scaled 5) * 10; i++)); do
  screen | grep -q 华夏银行 || break
  sleep 0.1
done
screen >"$KEHU_TMP/search.txt"
grep -q 华夏银行 "$KEHU_TMP/search.txt" && fail "华夏银行 still listed for 华为: $(cat "$KEHU_TMP/search.txt")"
grep -q 华为技术有限公司 "$KEHU_TMP/search.txt" || fail "华为技术有限公司 not found: $(cat "$KEHU_TMP/search.txt")"
grep -q 华为云计算技术有限公司 "$KEHU_TMP/search.txt" || fail "华为云计算 not found"
# every row's owner column starts at the header's Owner column, in terminal
# cells (a Chinese character is two)
python3 - "$KEHU_TMP/search.txt" <<'PY' || fail "columns are not aligned: $(cat "$KEHU_TMP/search.txt")"
import sys, unicodedata
def cells(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
header = next(l for l in lines if "Owner" in l)
want = cells(header[:header.index("Owner")])
rows = [l for l in lines if l.lstrip().startswith("C2") and "rep1" in l]
assert len(rows) == 2, rows
for r in rows:
    got = cells(r[:r.index("rep1")])
    assert got == want, (r, got, want)
PY
# Enter ends the typing, Enter again opens the first row (the server's ranking)
first=$(grep -m1 -oE '^ C2[0-9]+ +华为[^ ]+' "$KEHU_TMP/search.txt")
CID=$(awk '{ print $1 }' <<<"$first")
keys Enter
keys Enter
wait_for "$CID  $(awk '{ print $2 }' <<<"$first")" "$(kehu_scaled 5)" "the customer opened from the search"
wait_for 'Follow-ups' "$(kehu_scaled 5)" "the customer's tabs"

# --- a follow-up through the form --------------------------------------------
keys Right Right
keys a
wait_for 'New follow-up' "$(kehu_scaled 5)" "the follow-up form"
text visit
keys Tab
text 季度回访，确认续约意向
keys C-s
wait_for 'FU[0-9]+ .*visit .*rep1 .*季度回访' "$(kehu_scaled 5)" "the new follow-up in its tab"
expect_exit 0 kehu_as rep1 --json followup list "$CID"
expect_eq 季度回访，确认续约意向 "$(out_jq -r '.items[0].summary')" "the follow-up saved by the TUI"

# --- an invalid phone: shown beside the field, nothing saved -----------------
keys Left
keys a
wait_for 'New contact' "$(kehu_scaled 5)" "the contact form"
text 王经理
keys Tab Tab
text 1234567
keys C-s
wait_for '\^ phone: .1234567. is not a phone number' "$(kehu_scaled 5)" \
  "the phone error next to the Phones field"
# the reason is on the line right under the Phones field
screen | grep -A1 -E '^ +Phones +1234567' | tail -1 | grep -q 'is not a phone number' ||
  fail "the phone error is not under the Phones field: $(screen)"
wait_for 'not saved' "$(kehu_scaled 2)" "the form's not-saved line"
expect_exit 0 kehu_as rep1 --json contact list "$CID"
expect_eq 0 "$(out_jq '.items | length')" "contacts after the refused form"
keys Escape
wait_for 'cancelled: nothing saved' "$(kehu_scaled 5)" "the form closed"

# --- a reminder from another client, on the screen within 2 s ----------------
expect_exit 0 kehu_as rep1 reminder add --at "$(date '+%F %H:%M')" --message 提醒来自另一个客户端
start=$(wall_us)
wait_for '提醒来自另一个客户端' 3 "the pushed reminder"
elapsed_ms=$((($(wall_us) - start) / 1000))
((elapsed_ms <= 2000)) || fail "the reminder took ${elapsed_ms} ms to show (at most 2000)"
note "reminder on the screen ${elapsed_ms} ms after the other client's add returned"
wait_for 'reminders: 1 new' "$(kehu_scaled 2)" "the status line's count"

# --- a terminal too small: said plainly; larger again: the screen is back -----
tmux -S "$TMUX_SOCK" resize-window -t tui -x 60 -y 20
wait_for 'The terminal is 60x20; kehu tui needs at least 80x24' "$(kehu_scaled 5)" "a 60x20 terminal"
tmux -S "$TMUX_SOCK" resize-window -t tui -x 100 -y 30
wait_for 'Follow-ups' "$(kehu_scaled 5)" "the customer after the terminal grew again"

# --- kehud stopped mid-form: not saved, input kept; offline, keys answered ----
keys Right
keys a
wait_for 'New follow-up' "$(kehu_scaled 5)" "the follow-up form"
text phone
keys Tab
text 服务器停了也不丢
port=$KEHU_PORT
kehu_stop_server
wait_for 'offline' "$(kehu_scaled 5)" "the status line after kehud stopped"
keys C-s
wait_for 'not saved \(.*\): your input is kept' "$(kehu_scaled 5)" "saving while offline"
wait_for '服务器停了也不丢' "$(kehu_scaled 2)" "the input kept in the form"
keys Escape
keys '?'
wait_for 'Keys everywhere' "$(kehu_scaled 2)" "the help screen while offline"
keys q
wait_for 'Follow-ups' "$(kehu_scaled 2)" "back to the customer while offline"
"$KEHU_BUILD/kehud" --data "$KEHU_DATA" --listen "127.0.0.1:$port" >"$KEHU_LOG" 2>&1 </dev/null &
KEHU_PID=$!
for ((i = 0; i < $(kehu_scaled 10) * 20; i++)); do
  grep -q '^kehud listening on' "$KEHU_LOG" && break
  sleep 0.05
done
grep -q '^kehud listening on' "$KEHU_LOG" || fail "kehud did not start again on port $port"
wait_for ' online *$' "$(kehu_scaled 15)" "the TUI reconnects (backoff at most 8 s)"
# the reconnected TUI writes: the reminder acknowledged from its pane
keys r
wait_for 'manual .*提醒来自另一个客户端' "$(kehu_scaled 5)" "the reminders pane"
keys a
wait_for ' done' "$(kehu_scaled 5)" "the acknowledgement"
expect_exit 0 kehu_as rep1 --json reminder list --all
expect_eq acknowledged \
  "$(out_jq -r '.items[] | select(.message == "提醒来自另一个客户端") | .state')" \
  "the reminder acknowledged in the TUI after the reconnect"
keys q

# --- English footer under C.UTF-8 (the Chinese session is below) -------------
wait_for '\?:help  q:back' "$(kehu_scaled 2)" "the English footer"

# --- quit, then a user without a session: told how to log in ------------------
keys q
keys q
kehu_wait_file 5 "$KEHU_TMP/tui.exit" '^[0-9]+$'
expect_eq 0 "$(cat "$KEHU_TMP/tui.exit" 2>/dev/null)" "kehu tui's exit status after q"
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$KEHU_TMP/tui.err"; then
  fail "the sanitizers reported an error in kehu tui: $(cat "$KEHU_TMP/tui.err")"
fi
# --- the same desk in Chinese (LANG=zh_CN.UTF-8): footer, a field's error ----
rm -f "$KEHU_TMP/tui.exit"
tui_stop
locale -a 2>/dev/null | grep -qi '^zh_CN\.utf-\?8$' ||
  fail "the zh_CN.UTF-8 locale is missing: run scripts/deps.sh"
tui_start zh_CN.UTF-8
wait_for ' 在线 *$' "$(kehu_scaled 10)" "the status line in Chinese"
wait_for '\?:帮助  q:返回' "$(kehu_scaled 2)" "the footer in Chinese"
wait_for '名称' "$(kehu_scaled 2)" "the list's headers in Chinese"
keys /
text 华为
wait_for '华为云计算' "$(kehu_scaled 5)" "the search in the Chinese desk"
keys Enter
keys Enter
wait_for '联系人' "$(kehu_scaled 5)" "the customer's tabs in Chinese"
keys Right
keys a
wait_for '新建联系人' "$(kehu_scaled 5)" "the contact form in Chinese"
text 李经理
keys Tab Tab
text 12345
keys C-s
wait_for '字段「电话」（phone）有误' "$(kehu_scaled 5)" "the phone error naming its field in Chinese"
# an empty hint is no msgid: gettext("") would show the catalogue's header
screen | grep -q 'Project-Id-Version' && fail "the catalogue's header on the form: $(screen)"
keys Escape
keys q
keys q
kehu_wait_file 5 "$KEHU_TMP/tui.exit" '^0$'

rm -f "$KEHU_TMP/tui.exit"
tui_stop
rm -rf "$KEHU_TMP/users/rep1"
tui_start C.UTF-8
wait_for 'not logged in: q, then `kehu login`' "$(kehu_scaled 10)" "a TUI without a session"
keys q
kehu_wait_file 5 "$KEHU_TMP/tui.exit" '^0$'
kehu_stop_server
