#!/usr/bin/env bash
# Crash safety, many times over: kehud is killed with SIGKILL at random
# moments while several real `kehu` clients write, and restarted on the same
# data directory, KEHU_CRASH_KILLS times (default 60). Every write a client
# saw acknowledged (its command exited 0) must be there afterwards, whole and
# once; `kehu-admin verify` must pass after every kill and at the end.
#
# - Writers: KEHU_CRASH_WRITERS (default 4) background loops, each running
#   the real kehu once per write: `customer add` with a unique name (and an
#   industry and a tag), or, once it has an acknowledged customer of its
#   own, `contact add` (a unique name and mobile) or `followup add` (a unique
#   summary) to one of them. Each writer logs every attempt (what it sent)
#   before running it and every acknowledged write (the id the server gave)
#   after; a command that failed is not acknowledged. A write whose commit
#   happened but whose reply was lost to the kill is allowed, so the checks
#   go one way: acknowledged => stored with that id and those values,
#   stored => attempted (nothing invented, nothing half-written), and no
#   id, customer name, contact name or follow-up summary twice.
# - The address: kehud restarts on one fixed loopback port, chosen free at
#   the start below the kernel's ephemeral range, so that no outgoing
#   connection (of this test or any other) can take it while kehud is down.
#   The writers keep one address, and with it their session tokens (kehu
#   keeps a token per server address): each writer logs in once, before the
#   first kill, and then runs without a password, so a session that did not
#   survive a kill would show up as exit 3.
# - The killer: each round lets the writers run for a random 50-400 ms
#   ($RANDOM) after kehud listens, SIGKILLs it, waits until it is gone, runs
#   `kehu-admin verify` on the data directory, and restarts kehud. The only
#   exit codes a writer may see are 0 and 8 (connection refused or lost).
#
# Cost: a kehu process per write is cheap even under the sanitizers here
# (about 15 ms for `customer add`; kehud starts in about 20 ms), so the
# sanitized build runs the same rounds as the plain one, only fewer writes
# fit in them: 20-25 s either way on 2 cores (also with `stress-ng --cpu 1`
# beside it), most of it the rounds' 60 x 225 ms on average. It keeps both
# cores busy, so it takes CTest's `timing` lock (tests/CMakeLists.txt).
# shellcheck source=tests/integration/lib.sh disable=SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KILLS=${KEHU_CRASH_KILLS:-60}
WRITERS=${KEHU_CRASH_WRITERS:-4}
[[ "$KILLS" =~ ^[1-9][0-9]*$ ]] || fail "KEHU_CRASH_KILLS must be a whole number >= 1"
[[ "$WRITERS" =~ ^[1-9]$ ]] || fail "KEHU_CRASH_WRITERS must be 1 to 9"
# Hang guards (scaled): one client command, one start or kill of kehud, the
# whole killer loop, the writers' end after they are told to stop.
CMD_LIMIT=$(kehu_scaled 20)
STEP_LIMIT=$(kehu_scaled 10)
LOOP_LIMIT=$(kehu_scaled 60)
STOP_LIMIT=$(kehu_scaled 30)

STOP=$KEHU_TMP/writers.stop
W=$KEHU_TMP/writers
export KEHU_CA=$KEHU_DATA/tls/ca.crt

# --- kehud on a fixed port ------------------------------------------------

# A port below the ephemeral range (ports the kernel hands to outgoing
# connections and to `--listen 127.0.0.1:0`), at random so that two runs at
# once do not meet.
pick_port() {
  local low=32768 _high
  read -r low _high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  ((low > 12000)) || low=32768
  echo $((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
}

# crash_start PORT: starts kehud on 127.0.0.1:PORT and waits (bounded) until
# it says it listens: 0. Returns 1 when it could not listen there (the port
# is taken); fails the test on any other start-up failure. The logs of
# earlier runs go to kehud.old.log, as with kehu_start_server.
crash_start() {
  local port=$1 line end status=0 listening=""
  [[ -z "$KEHU_PID" ]] || fail "crash_start: kehud (pid $KEHU_PID) is still running"
  if [[ -s "$KEHU_LOG" ]]; then
    cat "$KEHU_LOG" >>"$KEHU_TMP/kehud.old.log"
    : >"$KEHU_LOG"
  fi
  "$KEHU_BUILD/kehud" --data "$KEHU_DATA" --listen "127.0.0.1:$port" \
    >"$KEHU_LOG" 2>&1 </dev/null &
  KEHU_PID=$!
  end=$(($(wall_us) + STEP_LIMIT * 1000000))
  while :; do
    # builtins only: this runs 60 times and more
    while IFS= read -r line; do
      [[ "$line" == "kehud listening on 127.0.0.1:$port" ]] && listening=1
    done <"$KEHU_LOG"
    [[ -n "$listening" ]] && break
    if ! kehu_alive "$KEHU_PID"; then
      wait "$KEHU_PID" || status=$?
      KEHU_PID=""
      if grep -q "cannot listen on 127.0.0.1:$port" "$KEHU_LOG"; then
        return 1
      fi
      fail "kehud exited with status $status during start-up on 127.0.0.1:$port"
    fi
    (($(wall_us) < end)) || fail "kehud did not listen on 127.0.0.1:$port within $STEP_LIMIT s"
    sleep 0.01
  done
  KEHU_PORT=$port
  KEHU_SERVER=127.0.0.1:$port
  export KEHU_SERVER KEHU_PORT KEHU_PID
}

# The first start: on a free port below the ephemeral range.
PORT=""
start_first() {
  local tries
  for ((tries = 0; tries < 20; tries++)); do
    PORT=$(pick_port)
    crash_start "$PORT" && return 0
  done
  fail "kehud found no free port below the ephemeral range in 20 tries"
}

# A restart: on the same port (taken meanwhile only by a process that binds
# that very port; a few tries, in case it lets go).
restart() {
  local tries
  for ((tries = 0; tries < 5; tries++)); do
    crash_start "$PORT" && return 0
    sleep 0.2
  done
  fail "port $PORT, kehud's until its last kill, was taken by another process: $(ss -ltnp "sport = :$PORT" 2>&1 | tail -n +2)"
}

# SIGKILL, then wait (bounded) until the process is gone and reaped (the
# shell reaps it; disowned, it does not report "Killed" 60 times).
crash_kill() {
  local pid=$KEHU_PID end
  kill -KILL "$pid" 2>/dev/null || true
  disown "$pid" 2>/dev/null || true
  end=$(($(wall_us) + STEP_LIMIT * 1000000))
  while kehu_alive "$pid"; do
    (($(wall_us) < end)) || fail "kehud (pid $pid) was still there $STEP_LIMIT s after SIGKILL"
    sleep 0.01
  done
  KEHU_PID=""
}

# --- the writers ----------------------------------------------------------

# writer N: writes until STOP appears (bounded in count and time). Logs:
#   attempts.tsv  kind, then what was sent: customer NAME INDUSTRY TAGS OWNER,
#                 contact CUSTOMER NAME PHONE, followup CUSTOMER SUMMARY METHOD
#   acks.tsv      kind, the id the server gave, then the same fields
#   codes         the exit code of every command that failed
#   stderr.log    their stderr; problems: anything unexpected
writer() {
  local w=$1 dir=$W/$1
  local n=0 rc seq r kind cust phone reply id hint
  local custs=() args=() fields=()
  local end=$((SECONDS + LOOP_LIMIT + STOP_LIMIT))
  export XDG_CONFIG_HOME=$dir/config
  unset KEHU_PASSWORD
  while [[ ! -e "$STOP" ]] && ((n < 100000 && SECONDS < end)); do
    n=$((n + 1))
    printf -v seq '%05d' "$n"
    r=$((RANDOM % 10))
    if ((${#custs[@]} == 0 || r < 6)); then
      kind=customer
      fields=("崩溃测试客户 w$w n$seq" 制造 崩溃测试 admin)
      args=(customer add --name "${fields[0]}" --industry 制造 --tag 崩溃测试)
    elif ((r < 8)); then
      kind=contact
      cust=${custs[RANDOM % ${#custs[@]}]}
      phone=139${w}00$seq
      fields=("$cust" "崩溃测试联系人 w$w n$seq" "$phone")
      args=(contact add "$cust" --name "${fields[1]}" --phone "$phone")
    else
      kind=followup
      cust=${custs[RANDOM % ${#custs[@]}]}
      fields=("$cust" "崩溃测试跟进 w$w n$seq" phone)
      args=(followup add "$cust" --method phone --summary "${fields[1]}")
    fi
    { printf '%s' "$kind"; printf '\t%s' "${fields[@]}"; echo; } >>"$dir/attempts.tsv"
    rc=0
    timeout "$CMD_LIMIT" "$KEHU_BUILD/kehu" --server "$KEHU_SERVER" --user admin --json "${args[@]}" \
      >"$dir/out" 2>"$dir/err" || rc=$?
    if ((rc == 0)); then
      reply=""
      IFS= read -r -d '' reply <"$dir/out" || true
      if [[ "$reply" =~ ^[[:space:]]*\{[[:space:]]*\"id\":[[:space:]]*\"([A-Z]+[0-9]+)\" ]]; then
        id=${BASH_REMATCH[1]}
        { printf '%s\t%s' "$kind" "$id"; printf '\t%s' "${fields[@]}"; echo; } >>"$dir/acks.tsv"
        [[ "$kind" == customer ]] && custs+=("$id")
      else
        echo "writer $w: kehu ${args[*]} exited 0 without a record: ${reply:0:300}" >>"$dir/problems"
      fi
      continue
    fi
    echo "$rc" >>"$dir/codes"
    cat "$dir/err" >>"$dir/stderr.log"
    if ((rc != 8)); then
      hint=""
      if ((rc == 3)); then
        hint=" (the session of its login before the first kill was refused: it did not survive a kill)"
      fi
      echo "writer $w: kehu ${args[*]} exited $rc$hint: $(head -c 300 "$dir/err")" >>"$dir/problems"
    fi
    sleep 0.02   # kehud is down or going: do not spin
  done
}

# --- start: one login per writer, before the first kill --------------------

kehu_init_data
start_first
note "kehud on $KEHU_SERVER; $KILLS kills, $WRITERS writers"
pids=()
for ((w = 1; w <= WRITERS; w++)); do
  mkdir -p "$W/$w/config"
  : >"$W/$w/attempts.tsv"
  : >"$W/$w/acks.tsv"
  XDG_CONFIG_HOME=$W/$w/config expect_exit 0 env KEHU_PASSWORD=adminpass \
    timeout "$CMD_LIMIT" "$KEHU_BUILD/kehu" --server "$KEHU_SERVER" --user admin login
done
for ((w = 1; w <= WRITERS; w++)); do
  writer "$w" &
  pids+=($!)
done

# --- the killer -----------------------------------------------------------
acks_total() {
  local f n total=0
  for f in "$W"/*/acks.tsv; do
    n=$(wc -l <"$f")
    total=$((total + n))
  done
  echo "$total"
}
start=$(wall_us)
loop_end=$((SECONDS + LOOP_LIMIT))
busy_rounds=0      # rounds in which some write was acknowledged
acks_before=0
for ((k = 1; k <= KILLS; k++)); do
  ms=$((50 + RANDOM % 351))
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  kehu_alive "$KEHU_PID" || fail "kehud died by itself in round $k (before its kill)"
  crash_kill
  acks_now=$(acks_total)
  ((acks_now > acks_before)) && busy_rounds=$((busy_rounds + 1))
  acks_before=$acks_now
  kehu_check_server_log
  if ! timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu-admin" verify "$KEHU_DATA" \
       >"$KEHU_TMP/verify.out" 2>&1; then
    fail "kehu-admin verify failed after kill $k (after ${ms} ms of writes):
$(head -n 30 "$KEHU_TMP/verify.out")"
  fi
  ((k == KILLS)) && break      # the checks below read the state the last kill left
  restart
  ((SECONDS < loop_end)) || fail "$k of $KILLS kills took more than $LOOP_LIMIT s"
done
loop_s=$((($(wall_us) - start) / 1000000))

# --- stop the writers (kehud is down: they fail at once), restart ----------
touch "$STOP"
end=$((SECONDS + STOP_LIMIT))
for pid in "${pids[@]}"; do
  while kehu_alive "$pid" && ((SECONDS < end)); do sleep 0.05; done
  kehu_alive "$pid" && fail "writer (pid $pid) still ran $STOP_LIMIT s after being told to stop"
  wait "$pid" || fail "a writer exited non-zero"
done
restart
expect_server_alive

# --- what the writers saw ---------------------------------------------------
export LC_ALL=C
for f in attempts.tsv acks.tsv codes problems stderr.log; do
  : >"$KEHU_TMP/$f"
  for ((w = 1; w <= WRITERS; w++)); do
    [[ -f "$W/$w/$f" ]] && cat "$W/$w/$f" >>"$KEHU_TMP/$f"
  done
done
if [[ -s "$KEHU_TMP/problems" ]]; then
  fail "unexpected client results ($(wc -l <"$KEHU_TMP/problems")); the first ones:
$(head -n 10 "$KEHU_TMP/problems")"
fi
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$KEHU_TMP/stderr.log"; then
  fail "the sanitizers reported an error in kehu:
$(grep -m5 -E 'ERROR: |runtime error:' "$KEHU_TMP/stderr.log")"
fi
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$KEHU_TMP/kehud.old.log"; then
  fail "the sanitizers reported an error in one of the killed kehud: $(grep -m5 -E 'ERROR: |runtime error:' "$KEHU_TMP/kehud.old.log")"
fi
failed=$(wc -l <"$KEHU_TMP/codes")
codes=$(sort -n "$KEHU_TMP/codes" | uniq -c | awk '{ printf "%s exit %s, ", $1, $2 }')

# kind_rows FILE KIND: FILE's rows of KIND without the kind column.
kind_rows() { awk -F'\t' -v k="$2" 'BEGIN { OFS = FS } $1 == k { $1 = ""; print substr($0, 2) }' "$1"; }

# --- what the server has ----------------------------------------------------
# Each kind as rows of "id, then the fields the writers sent", for the
# set comparisons below (read as admin, logged in on its own first).
expect_exit 0 kehu_as admin login
expect_exit 0 kehu_as admin --json export customers
out_jq -r '.[] | [.id, .name, (.industry // ""), ((.tags // []) | join(";")), (.owner // "")] | @tsv' \
  | sort >"$KEHU_TMP/stored.customer"
expect_exit 0 kehu_as admin --json export contacts
out_jq -r '.[] | [.id, .customer_id, .name, ((.phones // []) | join(";"))] | @tsv' \
  | sort >"$KEHU_TMP/stored.contact"
expect_exit 0 kehu_as admin --json export followups
out_jq -r '.[] | [.id, .customer_id, (.summary // ""), (.method // "")] | @tsv' \
  | sort >"$KEHU_TMP/stored.followup"
# follow-ups against their customer's last contact time
out_jq -r '.[] | [.customer_id, .at] | @tsv' | sort >"$KEHU_TMP/followup.at"

summary=""
for kind in customer contact followup; do
  stored=$KEHU_TMP/stored.$kind
  kind_rows "$KEHU_TMP/acks.tsv" "$kind" | sort >"$KEHU_TMP/acked.$kind"
  kind_rows "$KEHU_TMP/attempts.tsv" "$kind" | sort >"$KEHU_TMP/attempted.$kind"
  n_acked=$(wc -l <"$KEHU_TMP/acked.$kind")
  n_stored=$(wc -l <"$stored")
  n_attempted=$(wc -l <"$KEHU_TMP/attempted.$kind")

  # acknowledged => there, with that id and those values
  missing=$(comm -23 "$KEHU_TMP/acked.$kind" "$stored")
  [[ -z "$missing" ]] || fail "$(wc -l <<<"$missing") acknowledged ${kind}s are missing or changed after $KILLS kills; the first ones (id, fields as acknowledged):
$(head -n 10 <<<"$missing")
  stored with those ids:
$(head -n 10 <<<"$missing" | cut -f1 | grep -F -f - "$stored" | head -n 10 || true)"
  # no id twice among the acknowledged (an id given out again after a kill)
  dup=$(cut -f1 "$KEHU_TMP/acked.$kind" | uniq -d | head -n 5)
  [[ -z "$dup" ]] || fail "the server acknowledged two ${kind}s with the same id: $dup"
  # stored => attempted, whole: nothing invented or half-written
  invented=$(cut -f2- "$stored" | sort | comm -23 - "$KEHU_TMP/attempted.$kind")
  [[ -z "$invented" ]] || fail "$(wc -l <<<"$invented") stored ${kind}s match no write that was sent (partial or altered); the first ones:
$(head -n 10 <<<"$invented")"
  # once: no id and no name (or summary) twice
  dup=$(cut -f1 "$stored" | uniq -d | head -n 5)
  [[ -z "$dup" ]] || fail "${kind} ids stored twice: $dup"
  col=2
  [[ "$kind" == customer ]] || col=3
  dup=$(cut -f"$col" "$stored" | sort | uniq -d | head -n 5)
  [[ -z "$dup" ]] || fail "the same $kind stored twice (a write applied twice): $dup"
  ((n_acked <= n_stored && n_stored <= n_attempted)) ||
    fail "${kind}s: $n_acked acknowledged, $n_stored stored, $n_attempted attempted"
  summary+="$kind: $n_acked acknowledged, $n_stored stored, $n_attempted attempted; "
done

# every stored contact and follow-up belongs to a stored customer
orphans=$(cat <(cut -f2 "$KEHU_TMP/stored.contact") <(cut -f2 "$KEHU_TMP/stored.followup") | sort -u |
  comm -23 - <(cut -f1 "$KEHU_TMP/stored.customer"))
[[ -z "$orphans" ]] || fail "records under customers that are not stored: $(head -n 5 <<<"$orphans")"
# a follow-up moves its customer's last contact time in the same write
expect_exit 0 kehu_as admin --json export customers
out_jq -r '.[] | [.id, (.last_contact_at // "")] | @tsv' | sort >"$KEHU_TMP/last_contact"
behind=$(join -t $'\t' "$KEHU_TMP/followup.at" "$KEHU_TMP/last_contact" | awk -F'\t' '$3 < $2' | head -n 5)
[[ -z "$behind" ]] || fail "customers whose last contact time is before a stored follow-up's (id, follow-up at, last contact):
$behind"

acked_total=$(wc -l <"$KEHU_TMP/acks.tsv")
stored_total=$(cat "$KEHU_TMP"/stored.{customer,contact,followup} | wc -l)
attempts_total=$(wc -l <"$KEHU_TMP/attempts.tsv")
# Not vacuous: writes were acknowledged in many rounds (all of them here,
# but a short round on a slow machine may see none), and some failed.
((acked_total >= KILLS)) || fail "only $acked_total writes were acknowledged in $KILLS rounds"
((busy_rounds * 4 >= KILLS)) ||
  fail "writes were acknowledged in only $busy_rounds of $KILLS rounds"
((failed > 0)) || fail "no write failed in $KILLS kills: were the writers connected to this kehud?"

expect_server_alive
kehu_stop_server
expect_exit 0 timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu-admin" verify "$KEHU_DATA"
expect_match 'every index entry matches its record' "$OUT" "kehu-admin verify"
expect_exit 0 timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu-admin" audit verify "$KEHU_DATA"

note "$KILLS kills in ${loop_s}s (writes acknowledged in $busy_rounds of them); $acked_total of $attempts_total writes acknowledged, $failed failed (${codes%, }), $((stored_total - acked_total)) of those committed all the same; ${summary%; }"
