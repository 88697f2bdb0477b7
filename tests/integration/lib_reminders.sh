# Helpers for the reminder tests (issue 5; sourced after lib.sh, not run).
#
# The server's clock: KEHU_CLOCK_OFFSET (seconds, exported, so the kehud
# that kehu_start_server starts inherits it) is added to every server-side
# "now". server_now and friends compute times on that shifted clock.
#
# Watching: watch_start runs `kehu --json watch` in the background and
# waits until it is subscribed; every line it prints is stored as
# "RECEIPT_TIME<TAB>JSON" in $KEHU_TMP/watch-NAME.tsv, RECEIPT_TIME being
# our wall clock (Unix seconds with microseconds) when the line arrived.
# watch_wait polls that file (bounded) for an event matching a jq filter.
# shellcheck shell=bash disable=SC2016

export KEHU_CLOCK_OFFSET=${KEHU_CLOCK_OFFSET:-0}
# A watch process never outlives this (a hang is a failure, not a stall).
KEHU_WATCH_TIMEOUT=${KEHU_WATCH_TIMEOUT:-$(kehu_scaled 300)}

# shift_server_clock WHEN: the offset that makes the server's clock read
# WHEN (a `date -d` string such as 'today 12:00', in local time) now.
shift_server_clock() {
  local target
  target=$(date -d "$1" +%s) || fail "date -d '$1' failed"
  KEHU_CLOCK_OFFSET=$((target - $(date +%s)))
  export KEHU_CLOCK_OFFSET
}

# Our wall clock with microseconds (no fork).
wall_now() { local t=${EPOCHREALTIME/,/.}; echo "$t"; }

# lead_time SECONDS: how far ahead (whole seconds) to set a reminder that
# must still be in the future when the commands that follow have run: the
# time is a margin for those commands, so it grows with KEHU_TIME_FACTOR.
# The checks of when it arrives (within 1 s of its due time) do not.
lead_time() { kehu_scaled "$1"; }

# Waits (at most 1 s) until just after a whole second of our clock, so
# that "N s ahead" in whole seconds leaves nearly N s.
align_to_second() {
  local i t
  for ((i = 0; i < 60; i++)); do
    t=${EPOCHREALTIME/,/.}
    ((10#${t#*.} < 100000)) && return 0     # within 0.1 s after the second
    sleep 0.02
  done
}

# The server's clock, whole seconds.
server_now() { echo $(($(date +%s) + KEHU_CLOCK_OFFSET)); }

# server_iso SECONDS: the server's now + SECONDS as ISO 8601 UTC
# (YYYY-MM-DDTHH:MM:SSZ); SECONDS may be negative.
server_iso() { date -u -d "@$(($(server_now) + $1))" +%Y-%m-%dT%H:%M:%SZ; }

# server_date [DAYS]: the server's local date plus DAYS days (YYYY-MM-DD).
server_date() {
  local today
  today=$(date -d "@$(server_now)" +%F)
  date -d "$today ${1:-0} days" +%F
}

# epoch_of ISO: Unix seconds of an ISO 8601 time (as printed by kehu).
epoch_of() { date -d "$1" +%s; }

# wall_of SERVER_EPOCH: the wall-clock time at which the server's clock
# reads SERVER_EPOCH.
wall_of() { echo $(($1 - KEHU_CLOCK_OFFSET)); }

# calc EXPR: floating-point arithmetic (awk), three decimals.
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# float_le A B: A <= B for decimal numbers.
float_le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# --- watching ---------------------------------------------------------------

# Stamps each input line with its receipt time.
stamp_lines() {
  local line
  while IFS= read -r line; do
    printf '%s\t%s\n' "${EPOCHREALTIME/,/.}" "$line"
  done
}

# The pid of each watch is that of `timeout --foreground`, which passes a
# SIGTERM on to kehu alone (plain timeout would also signal its process
# group, where a sanitizer build's exit-time leak checker, a forked helper,
# can catch it and hang).
declare -A WATCH_PIDS=()
PROBE_IDS=()

# watch_start USER NAME: `kehu --json watch` as USER (its stored session;
# run `kehu_as USER login` first) in the background, and waits until it is
# subscribed: a probe reminder due at once is added first (nothing else
# runs meanwhile), and the watch must print it, as everything due and not
# acknowledged is sent when a watch begins; the probe is then acknowledged
# so that it does not come again.
watch_start() {
  local user=$1 name=$2 id limit end
  expect_exit 0 kehu_as "$user" --json reminder add --at "$(server_iso -1)" \
    --message "probe: is watch $name live?"
  id=$(out_jq .id)
  PROBE_IDS+=("$id")
  limit=$(kehu_scaled 5)
  end=$((SECONDS + limit))
  while :; do                              # until it is due (fired)
    expect_exit 0 kehu_as "$user" --json reminder list
    [[ $(out_jq --arg id "$id" 'any(.items[]; .id == $id)') == true ]] && break
    ((SECONDS < end)) || break
    sleep 0.1
  done
  if [[ $(out_jq --arg id "$id" 'any(.items[]; .id == $id)') != true ]]; then
    expect_exit 0 kehu_as "$user" --json reminder list --all
    fail "the probe reminder $id, due at once when added, is not in reminder list $limit s later
  in reminder list --all: $(out_jq -c --arg id "$id" '.items[] | select(.id == $id)')"
  fi
  watch_start_unchecked "$user" "$name"
  if ! watch_wait "$name" ".reminder.id == \"$id\"" 10; then
    fail "kehu watch ($name) did not print the due probe reminder $id within $(kehu_scaled 10) s of starting
  stderr of the watch: $(head -c 600 "$KEHU_TMP/watch-$name.err")
  what it printed: $(cut -c1-300 "$KEHU_TMP/watch-$name.tsv")"
  fi
  expect_exit 0 kehu_as "$user" reminder ack "$id"
}

# watch_start_unchecked USER NAME: the same without waiting for it.
watch_start_unchecked() {
  local user=$1 name=$2
  local config=$KEHU_TMP/users/$user out=$KEHU_TMP/watch-$name.tsv
  [[ -z "${WATCH_PIDS[$name]:-}" ]] || fail "watch_start: watch $name is already running"
  mkdir -p "$config"
  : >"$out"
  XDG_CONFIG_HOME=$config KEHU_PASSWORD=$(kehu_password_of "$user") \
    timeout --foreground "$KEHU_WATCH_TIMEOUT" "$KEHU_BUILD/kehu" --user "$user" --json watch \
    > >(stamp_lines >"$out") 2>"$KEHU_TMP/watch-$name.err" </dev/null &
  WATCH_PIDS[$name]=$!
}

# watch_stop NAME: SIGTERM; `kehu watch` must exit 0 within 5 s (scaled).
watch_stop() {
  local name=$1 pid=${WATCH_PIDS[$1]:-} i status=0
  [[ -n "$pid" ]] || return 0
  unset "WATCH_PIDS[$name]"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100 * KEHU_TIME_FACTOR; i++)); do
    kehu_alive "$pid" || break
    sleep 0.05
  done
  if kehu_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    fail "kehu watch ($name) did not exit within $(kehu_scaled 5) s of SIGTERM"
  fi
  wait "$pid" 2>/dev/null || status=$?
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$KEHU_TMP/watch-$name.err"; then
    fail "the sanitizers reported an error in kehu watch ($name):
$(cat "$KEHU_TMP/watch-$name.err")"
  fi
  ((status == 0)) || fail "kehu watch ($name) exited with $status after SIGTERM (expected 0);
stderr: $(head -c 600 "$KEHU_TMP/watch-$name.err")"
}

# The watch must still be running (it did not give up).
watch_expect_alive() {
  local name=$1 pid=${WATCH_PIDS[$1]:-}
  kehu_alive "$pid" || fail "kehu watch ($name) is no longer running; stderr:
$(head -c 600 "$KEHU_TMP/watch-$name.err")"
}

# watch_events NAME [JQ_FILTER]: the stored lines whose event matches the
# filter (default: all), as RECEIPT_TIME<TAB>JSON.
watch_events() {
  local name=$1 filter=${2:-true} file=$KEHU_TMP/watch-$1.tsv
  jq -rR "split(\"\t\") as [\$ts, \$j] | (\$j | fromjson? // null) as \$ev
          | select(\$ev != null and (\$ev | $filter)) | \"\(\$ts)\t\(\$j)\"" "$file" ||
    fail "jq failed on the output of kehu watch ($name): $(head -c 600 "$file")"
}

# watch_count NAME JQ_FILTER: how many events match.
watch_count() { watch_events "$1" "$2" | wc -l; }

# watch_wait NAME JQ_FILTER [SECONDS]: waits (at most SECONDS, default 5,
# scaled: a hang guard; when an event came is checked from its receipt
# time) for the first event matching the filter; sets EV_TS (its receipt
# time) and EV (its JSON). Returns 1 when none came. SECONDS 0 looks once.
watch_wait() {
  local name=$1 filter=$2 max=${3:-5} first end
  end=$(($(wall_us) + max * KEHU_TIME_FACTOR * 1000000))
  EV_TS="" EV=""
  while :; do
    first=$(watch_events "$name" "$filter" | head -n 1)
    if [[ -n "$first" ]]; then
      EV_TS=${first%%$'\t'*}
      EV=${first#*$'\t'}
      return 0
    fi
    (($(wall_us) < end)) || return 1
    watch_expect_alive "$name"
    sleep 0.05
  done
}

# ev_jq FILTER: jq -r on $EV.
ev_jq() { jq -r "$@" <<<"$EV" || fail "jq $* failed on the event: $EV"; }

# expect_event_kind KIND: $EV is a reminder event of that kind.
expect_event_kind() {
  expect_eq reminder "$(ev_jq .kind)" "event .kind"
  expect_eq "$1" "$(ev_jq .reminder.kind)" "event .reminder.kind"
}

# expect_on_time WHAT DUE_WALL [T_END]: $EV_TS is within 1 s after DUE_WALL
# (the wall-clock time at which the reminder falls due), and not before it.
# T_END, when the command that set the reminder returned, guards the
# measure: a command that ran past the due time (a loaded machine, not the
# server's timer) made the reminder late itself, so the 1 s then counts from
# T_END (expect_soon_after) and the note says so.
expect_on_time() {
  local what=$1 due=$2 t_end=${3:-} delay
  delay=$(calc "$EV_TS - $due")
  float_le -0.05 "$delay" || fail "$what arrived ${delay#-} s BEFORE it fell due"
  if [[ -n "$t_end" ]] && ! float_le "$t_end" "$due"; then
    note "$what: the command that set it returned $(calc "$t_end - $due") s after its due time; timing it from the command"
    expect_soon_after "$what" "$t_end"
    return
  fi
  float_le "$delay" 1.0 || fail "$what arrived $delay s after it fell due (expected within 1 s)"
  note "$what: arrived $delay s after its due time"
}

# expect_soon_after WHAT T_END: $EV_TS is at most 1 s after T_END (when the
# command that made the reminder due returned).
expect_soon_after() {
  local what=$1 t_end=$2 delay
  delay=$(calc "$EV_TS - $t_end")
  float_le "$delay" 1.0 || fail "$what arrived $delay s after the command that raised it (expected within 1 s)"
  note "$what: arrived $delay s after the command returned"
}

# On exit: every watch goes first (SIGTERM; lib.sh's cleanup would only
# SIGKILL the timeout wrapper), then lib.sh's cleanup, with the test's exit
# status.
watch_stop_all() {
  local name
  for name in "${!WATCH_PIDS[@]}"; do
    kill -TERM "${WATCH_PIDS[$name]}" 2>/dev/null || true
  done
}
reminders_cleanup() {
  local rc=$?
  set +e                 # (exit "$rc") below must not end the shell here
  watch_stop_all
  (exit "$rc")
  kehu_cleanup
}
trap reminders_cleanup EXIT
