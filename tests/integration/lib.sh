# Shared helpers for the integration tests (sourced, not run).
#
# Each test starts its own kehud on 127.0.0.1:0 with a fresh data directory
# under ${TMPDIR:-/tmp}, drives it with the real kehu binary, and removes
# everything on exit. Set KEHU_KEEP=1 to keep the temporary directory.
#
# Environment: KEHU_BUILD (build directory with kehud, kehu, kehu-admin;
# defaults to <repo>/build), KEHU_SRC (source directory), KEHU_TIME_FACTOR
# and KEHU_SANITIZE (below).
# shellcheck shell=bash

set -euo pipefail

KEHU_SRC=${KEHU_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KEHU_BUILD=${KEHU_BUILD:-$KEHU_SRC/build}
KEHU_BUILD=$(cd "$KEHU_BUILD" && pwd)
export KEHU_SRC KEHU_BUILD

KEHU_TEST_NAME=$(basename "$0" .sh)

# --- time -------------------------------------------------------------------
# Every deadline in these tests (a command's time limit, the waits for the
# server, for a push, for all of a test's clients) is a hang guard, not a
# claim about speed, and is multiplied by one whole number, KEHU_TIME_FACTOR:
# 3 when the build is sanitized (ASan and UBSan make kehud and kehu several
# times slower), else 1; set it in the environment for a slower or busier
# machine. tests/CMakeLists.txt scales CTest's TIMEOUT of each test by the
# same default (and by KEHU_TIME_FACTOR when it is set at configure time).
# What users notice ("a reminder is pushed within 1 s") is not scaled.
#
# The build is sanitized when CTest says so (KEHU_SANITIZE in the test's
# environment, from tests/CMakeLists.txt) or, for a test run by hand, when
# the build directory's CMake cache does.
kehu_build_sanitized() {
  local v=${KEHU_SANITIZE:-}
  if [[ -z "$v" && -f "$KEHU_BUILD/CMakeCache.txt" ]]; then
    v=$(sed -n 's/^KEHU_SANITIZE:BOOL=//p' "$KEHU_BUILD/CMakeCache.txt")
  fi
  [[ "${v^^}" =~ ^(ON|1|TRUE|YES|Y)$ ]]
}
KEHU_SANITIZED=0
kehu_build_sanitized && KEHU_SANITIZED=1
if [[ -z "${KEHU_TIME_FACTOR:-}" ]]; then
  KEHU_TIME_FACTOR=$((KEHU_SANITIZED ? 3 : 1))
fi
if [[ ! "$KEHU_TIME_FACTOR" =~ ^[1-9][0-9]*$ ]]; then
  echo "$KEHU_TEST_NAME: KEHU_TIME_FACTOR must be a whole number >= 1, not '$KEHU_TIME_FACTOR'" >&2
  exit 1
fi
export KEHU_TIME_FACTOR KEHU_SANITIZED

# kehu_scaled SECONDS: a deadline of SECONDS on a fast machine, scaled.
kehu_scaled() { echo $(($1 * KEHU_TIME_FACTOR)); }

# The wall clock as a whole number of microseconds, for deadlines and
# intervals finer than $SECONDS (no fork).
wall_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }

# Any single client or admin command that takes longer than this is a hang.
KEHU_CMD_TIMEOUT=${KEHU_CMD_TIMEOUT:-$(kehu_scaled 60)}

for prog in kehud kehu kehu-admin; do
  if [[ ! -x "$KEHU_BUILD/$prog" ]]; then
    echo "$KEHU_TEST_NAME: $KEHU_BUILD/$prog not found (build first, or set KEHU_BUILD)" >&2
    exit 1
  fi
done
for tool in jq openssl timeout; do
  if ! command -v "$tool" >/dev/null; then
    echo "$KEHU_TEST_NAME: $tool is required (scripts/deps.sh installs it)" >&2
    exit 1
  fi
done

KEHU_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kehu-$KEHU_TEST_NAME.XXXXXX")
KEHU_DATA=$KEHU_TMP/data           # the server's data directory
KEHU_LOG=$KEHU_TMP/kehud.log       # the current server's stdout and stderr
KEHU_PID=""
KEHU_PORT=""
OUT=""
ERR=""
# The default client configuration: tests never touch the user's own.
export XDG_CONFIG_HOME=$KEHU_TMP/client-config
mkdir -p "$XDG_CONFIG_HOME"
unset KEHU_USER KEHU_PASSWORD KEHU_SERVER KEHU_CA
export KEHU_DATA KEHU_TMP
# kehu's human messages follow the locale (docs/architecture.md#the-clients-language):
# the tests read them in English whatever the machine's language, keeping
# its character set (LC_ALL's moves to LANG). t_i18n_cli.sh sets its own.
if [[ -n "${LC_ALL:-}" ]]; then
  export LANG=$LC_ALL
  unset LC_ALL
fi
export LC_MESSAGES=C
unset LANGUAGE KEHU_LOCALEDIR

note() { printf '%s: %s\n' "$KEHU_TEST_NAME" "$*" >&2; }

# Shows the end of the server log, for failure messages.
kehu_server_log_tail() {
  if [[ -s "$KEHU_LOG" ]]; then
    echo "--- last lines of the server log ($KEHU_LOG):"
    tail -n 30 "$KEHU_LOG"
    echo "---"
  fi
}

fail() {
  {
    printf '%s: FAIL: %s\n' "$KEHU_TEST_NAME" "$*"
    kehu_server_log_tail
  } >&2
  exit 1
}

# --- the data directory and users -----------------------------------------

kehu_init_data() {
  local dir=${1:-$KEHU_DATA}
  if ! printf 'adminpass\n' | timeout "$KEHU_CMD_TIMEOUT" \
       "$KEHU_BUILD/kehu-admin" init "$dir" --admin admin >"$KEHU_TMP/init.out" 2>&1; then
    cat "$KEHU_TMP/init.out" >&2
    fail "kehu-admin init $dir --admin admin failed"
  fi
  [[ -f "$dir/tls/ca.crt" ]] || fail "kehu-admin init did not create $dir/tls/ca.crt"
}

# kehu_conf_set SECTION KEY VALUE: sets KEY in [SECTION] of
# $KEHU_DATA/kehud.conf (initialising the data directory first if needed).
kehu_conf_set() {
  local section=$1 key=$2 value=$3 conf=$KEHU_DATA/kehud.conf
  [[ -f "$conf" ]] || kehu_init_data "$KEHU_DATA"
  awk -v sec="[$section]" -v key="$key" -v value="$value" '
    $0 == sec { print; print key " = " value; inside = 1; done = 1; next }
    /^\[/ { inside = 0 }
    inside && $1 == key && ($2 == "=" || $2 ~ /^=/) { next }
    { print }
    END { if (!done) { print sec; print key " = " value } }' "$conf" >"$conf.new"
  mv "$conf.new" "$conf"
}

# kehu_expect_config_refused SECTION KEY VALUE: with KEY = VALUE in
# [SECTION] of kehud.conf, kehud does not start and says which key.
kehu_expect_config_refused() {
  kehu_conf_set "$1" "$2" "$3"
  if timeout "$(kehu_scaled 20)" "$KEHU_BUILD/kehud" --data "$KEHU_DATA" --listen 127.0.0.1:0 \
       >"$KEHU_TMP/refused.out" 2>&1; then
    fail "kehud started with [$1] $2 = $3"
  fi
  expect_match "$2" "$(cat "$KEHU_TMP/refused.out")" "the refusal of [$1] $2 = $3"
}

# kehu_add_user NAME ROLE [TEAM]: password NAME-pass.
kehu_add_user() {
  local name=$1 role=$2 team=${3:-}
  local args=(user add "$KEHU_DATA" "$name" --role "$role")
  [[ -n "$team" ]] && args+=(--team "$team")
  if ! printf '%s-pass\n' "$name" | timeout "$KEHU_CMD_TIMEOUT" \
       "$KEHU_BUILD/kehu-admin" "${args[@]}" >"$KEHU_TMP/useradd.out" 2>&1; then
    cat "$KEHU_TMP/useradd.out" >&2
    fail "kehu-admin ${args[*]} failed"
  fi
}

# --- the server -----------------------------------------------------------

# True while pid is a live process (a zombie, exited but not yet reaped,
# counts as gone).
kehu_alive() {
  local pid=$1 stat
  [[ -n "$pid" ]] || return 1
  # Builtins only: this runs in polling loops.
  { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]]
}

# kehu_wait_all SECONDS PID...: waits (polling, bounded) until every PID
# has ended or the server died, SIGKILLs what is still running after
# SECONDS (a deadline the caller scaled with kehu_scaled, as it names it in
# its messages) and reaps them all. Sets STILL_RUNNING to how many had to
# be killed.
kehu_wait_all() {
  local limit=$1 pid end
  shift
  end=$((SECONDS + limit))
  STILL_RUNNING=0
  while :; do
    STILL_RUNNING=0
    for pid in "$@"; do
      if kehu_alive "$pid"; then STILL_RUNNING=$((STILL_RUNNING + 1)); fi
    done
    ((STILL_RUNNING == 0)) && break
    kehu_alive "$KEHU_PID" || break
    ((SECONDS < end)) || break
    sleep 0.25
  done
  if ((STILL_RUNNING > 0)); then
    for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# Starts kehud on 127.0.0.1:0 (initialising $KEHU_DATA first if needed) and
# waits until it prints its address. Exports KEHU_SERVER, KEHU_CA, KEHU_PID,
# KEHU_PORT. Extra arguments go to kehud.
kehu_start_server() {
  [[ -z "$KEHU_PID" ]] || fail "kehu_start_server: a server is already running (pid $KEHU_PID)"
  [[ -f "$KEHU_DATA/kehud.conf" ]] || kehu_init_data "$KEHU_DATA"
  # Keep the logs of earlier runs of this test's server.
  if [[ -e "$KEHU_LOG" ]]; then
    cat "$KEHU_LOG" >>"$KEHU_TMP/kehud.old.log"
    : >"$KEHU_LOG"
  fi
  "$KEHU_BUILD/kehud" --data "$KEHU_DATA" --listen 127.0.0.1:0 "$@" \
    >"$KEHU_LOG" 2>&1 </dev/null &
  KEHU_PID=$!
  local line="" i limit
  limit=$(kehu_scaled 10)
  for ((i = 0; i < limit * 20; i++)); do     # 0.05 s each
    line=$(grep -m1 -E '^kehud listening on 127\.0\.0\.1:[0-9]+$' "$KEHU_LOG" 2>/dev/null || true)
    [[ -n "$line" ]] && break
    if ! kehu_alive "$KEHU_PID"; then
      wait "$KEHU_PID" 2>/dev/null || true
      KEHU_PID=""
      fail "kehud exited during start-up without printing 'kehud listening on 127.0.0.1:PORT'"
    fi
    sleep 0.05
  done
  [[ -n "$line" ]] || fail "kehud did not print 'kehud listening on 127.0.0.1:PORT' within $limit s"
  KEHU_PORT=${line##*:}
  ((KEHU_PORT > 0)) || fail "kehud printed port $KEHU_PORT: '$line'"
  KEHU_SERVER=127.0.0.1:$KEHU_PORT
  KEHU_CA=$KEHU_DATA/tls/ca.crt
  export KEHU_SERVER KEHU_CA KEHU_PID KEHU_PORT
}

# SIGTERM, wait at most 10 s (scaled), then SIGKILL. Fails the test when
# kehud does not exit 0 on SIGTERM (docs/operations.md#install-and-start) or the sanitizers reported
# something.
kehu_stop_server() {
  local pid=$KEHU_PID i status=0 limit
  [[ -n "$pid" ]] || return 0
  limit=$(kehu_scaled 10)
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 20; i++)); do
    kehu_alive "$pid" || break
    sleep 0.05
  done
  if kehu_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    KEHU_PID=""
    fail "kehud (pid $pid) did not exit within $limit s of SIGTERM"
  fi
  wait "$pid" 2>/dev/null || status=$?
  KEHU_PID=""
  ((status == 0)) || fail "kehud exited with status $status after SIGTERM (expected 0)"
  kehu_check_server_log
}

# kill -9: no chance to flush anything.
kehu_kill_server() {
  local pid=$KEHU_PID
  [[ -n "$pid" ]] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  KEHU_PID=""
}

kehu_check_server_log() {
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$KEHU_LOG" 2>/dev/null; then
    fail "the sanitizers reported an error in kehud"
  fi
}

kehu_cleanup() {
  local rc=$?
  if [[ -n "$KEHU_PID" ]]; then
    kill -TERM "$KEHU_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 100 * KEHU_TIME_FACTOR; i++)); do
      kehu_alive "$KEHU_PID" || break
      sleep 0.05
    done
    kill -KILL "$KEHU_PID" 2>/dev/null || true
    wait "$KEHU_PID" 2>/dev/null || true
  fi
  # Stray background jobs of the test (clients, openssl) go too.
  local job
  for job in $(jobs -p); do kill -KILL "$job" 2>/dev/null || true; done
  if [[ "${KEHU_KEEP:-0}" == 1 ]]; then
    echo "$KEHU_TEST_NAME: kept $KEHU_TMP" >&2
  else
    rm -rf "$KEHU_TMP"
  fi
  if ((rc == 0)); then
    echo "$KEHU_TEST_NAME: PASS" >&2
  fi
  exit "$rc"
}
trap kehu_cleanup EXIT

# --- clients --------------------------------------------------------------

# kehu ARGS...: the real client with the default (test-local) configuration,
# no password unless the caller sets KEHU_PASSWORD.
kehu() {
  timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu" "$@"
}

kehu_password_of() {
  if [[ "$1" == admin ]]; then echo adminpass; else echo "$1-pass"; fi
}

# kehu_as USER ARGS...: runs kehu as USER, logging in with that user's
# password when needed; each user has its own configuration directory so
# that session tokens never mix.
kehu_as() {
  local user=$1
  shift
  local config=$KEHU_TMP/users/$user
  mkdir -p "$config"
  XDG_CONFIG_HOME=$config KEHU_PASSWORD=$(kehu_password_of "$user") \
    timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu" --user "$user" "$@"
}

# kehu_wire ARGS...: the raw protocol client (wire.py, Python 3 stdlib) for
# what the real client never does: pipelining without reading, stopping
# before Hello or login, bytes that are not UTF-8. Bounded like a command.
kehu_wire() {
  command -v python3 >/dev/null || fail "python3 is required for this test"
  timeout "${KEHU_WIRE_TIMEOUT:-$KEHU_CMD_TIMEOUT}" python3 "$KEHU_SRC/tests/integration/wire.py" "$@"
}

# kehu_wire_bg OUT ERR ARGS...: the same in the background, stdout to OUT
# and stderr to ERR; WIRE_PID is its process (timeout(1), which passes a
# kill on to the client).
kehu_wire_bg() {
  local out=$1 err=$2
  shift 2
  command -v python3 >/dev/null || fail "python3 is required for this test"
  (exec timeout "${KEHU_WIRE_TIMEOUT:-$KEHU_CMD_TIMEOUT}" python3 \
    "$KEHU_SRC/tests/integration/wire.py" "$@") >"$out" 2>"$err" &
  WIRE_PID=$!
}

# kehu_python_with MODULE DEB: prints the path of a python3 that can import
# MODULE (Debian's python3-* packages live under /usr/bin/python3; a python3
# earlier on PATH, a virtualenv or pyenv, may lack them), or fails naming
# the package DEB that scripts/deps.sh installs. Use as py=$(kehu_python_with
# openpyxl python3-openpyxl) — a failure inside $( ) ends the test too.
kehu_python_with() {
  local module=$1 deb=$2 candidate
  for candidate in /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c "import $module" 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  fail "no python3 with the $module module (scripts/deps.sh installs $deb)"
}

# kehu_wait_file SECONDS FILE REGEX: waits (bounded by SECONDS scaled by
# KEHU_TIME_FACTOR) until FILE holds a line matching REGEX; fails the test
# otherwise.
kehu_wait_file() {
  local limit=$(($1 * KEHU_TIME_FACTOR)) file=$2 regex=$3 i
  for ((i = 0; i < limit * 10; i++)); do
    grep -qE "$regex" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "$file did not show /$regex/ within $limit s; it holds: $(cat "$file" 2>/dev/null || echo '(nothing)')"
}

# kehud's resident memory in KiB (VmRSS).
kehu_rss_kb() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$KEHU_PID/status"
}

# True when kehud was built with the sanitizers (its memory figures then
# include ASan's shadow memory and its quarantine of freed blocks). Read
# from the build, as the time factor is: not from `ldd | grep -q`, which
# under pipefail fails whenever grep's early exit cuts ldd off (SIGPIPE).
kehu_is_asan() {
  ((KEHU_SANITIZED))
}

# --- assertions -----------------------------------------------------------

# expect_exit CODE CMD...: runs CMD, keeps its stdout in $OUT and stderr in
# $ERR, and fails showing both when its exit code is not CODE.
expect_exit() {
  local want=$1
  shift
  local got=0
  "$@" >"$KEHU_TMP/cmd.out" 2>"$KEHU_TMP/cmd.err" || got=$?
  OUT=$(tr -d '\0' <"$KEHU_TMP/cmd.out")
  ERR=$(tr -d '\0' <"$KEHU_TMP/cmd.err")
  if [[ "$got" != "$want" ]]; then
    local hint=""
    ((got == 124)) && hint=" (timed out after ${KEHU_CMD_TIMEOUT}s)"
    fail "$(printf '%q ' "$@")
  expected exit $want, got $got$hint
  stdout: ${OUT:-(empty)}
  stderr: ${ERR:-(empty)}"
  fi
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$KEHU_TMP/cmd.err"; then
    fail "$(printf '%q ' "$@")
  the sanitizers reported an error:
$ERR"
  fi
}

# expect_match REGEX STRING [WHAT]: extended regex.
expect_match() {
  local regex=$1 string=$2 what=${3:-value}
  [[ "$string" =~ $regex ]] || fail "$what does not match /$regex/: '$string'"
}

expect_eq() {
  local want=$1 got=$2 what=${3:-value}
  [[ "$want" == "$got" ]] || fail "$what: expected '$want', got '$got'"
}

# jq -r on $OUT (use as x=$(out_jq FILTER)), failing clearly when $OUT is
# not JSON.
out_jq() {
  jq -r "$@" <<<"$OUT" 2>/dev/null || fail "jq $* failed on stdout: ${OUT:-(empty)}"
}

# The same on $ERR (JSON errors go to stderr).
err_jq() {
  jq -r "$@" <<<"$ERR" 2>/dev/null || fail "jq $* failed on stderr: ${ERR:-(empty)}"
}

# The server must still be running (it was not killed by a client).
expect_server_alive() {
  kehu_alive "$KEHU_PID" || fail "kehud (pid $KEHU_PID) is no longer running"
}
