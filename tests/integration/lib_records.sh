# Helpers for the archive, permission, session, encryption and audit tests
# (sourced after lib.sh, not run).
# shellcheck shell=bash disable=SC2016

# Passwords need at least 8 characters, so short user names (m1, s1, f1)
# get "NAME-password"; names whose "NAME-pass" is long enough keep it, as
# lib.sh has it.
kehu_password_of() {
  if [[ "$1" == admin ]]; then
    echo adminpass
  elif ((${#1} >= 3)); then
    echo "$1-pass"
  else
    echo "$1-password"
  fi
}

# kehu_add_user NAME ROLE [TEAM]: as lib.sh's, with kehu_password_of above.
kehu_add_user() {
  local name=$1 role=$2 team=${3:-}
  local args=(user add "$KEHU_DATA" "$name" --role "$role")
  [[ -n "$team" ]] && args+=(--team "$team")
  if ! kehu_password_of "$name" | timeout "$KEHU_CMD_TIMEOUT" \
       "$KEHU_BUILD/kehu-admin" "${args[@]}" >"$KEHU_TMP/useradd.out" 2>&1; then
    cat "$KEHU_TMP/useradd.out" >&2
    fail "kehu-admin ${args[*]} failed"
  fi
}

# kehu_conf_set SECTION KEY VALUE: sets KEY in [SECTION] of
# $KEHU_DATA/kehud.conf (initialising the data directory first if needed),
# replacing the line kehu-admin init wrote or adding one. Takes effect at
# the next start of kehud.
kehu_conf_set() {
  local section=$1 key=$2 value=$3 conf=$KEHU_DATA/kehud.conf
  [[ -f "$conf" ]] || kehu_init_data "$KEHU_DATA"
  awk -v sec="[$section]" -v key="$key" -v val="$value" '
    function flush() { if (insec && !done) { print key " = " val; done = 1 } }
    /^\[/ { flush(); insec = ($0 == sec); seen = seen || insec }
    insec && $0 ~ "^[ \t]*" key "[ \t]*=" { if (!done) print key " = " val; done = 1; next }
    { print }
    END { if (!seen) print sec; if (!done) print key " = " val }
  ' "$conf" >"$conf.new" || fail "cannot rewrite $conf"
  mv "$conf.new" "$conf"
  grep -qE "^$key = $value\$" "$conf" || fail "kehu_conf_set: $key = $value not in $conf"
}

# kehu_wait_for_command [--max SECONDS] [--every SECONDS] CMD...: waits
# until `build/kehu CMD... --help` exits 0 (a command another developer is
# still adding), rebuilding nothing: it only polls the binary. Fails after
# the deadline (default 40 min, a poll a minute). KEHU_WAIT_MAX and
# KEHU_WAIT_EVERY override the defaults.
kehu_wait_for_command() {
  local max=${KEHU_WAIT_MAX:-2400} every=${KEHU_WAIT_EVERY:-60}
  while [[ $# -gt 0 && $1 == --* ]]; do
    case $1 in
      --max) max=$2; shift 2 ;;
      --every) every=$2; shift 2 ;;
      *) break ;;
    esac
  done
  local start=$SECONDS polls=0
  while ((polls < 1000)); do
    if timeout "$(kehu_scaled 10)" "$KEHU_BUILD/kehu" "$@" --help >/dev/null 2>&1; then
      return 0
    fi
    polls=$((polls + 1))
    ((SECONDS - start + every <= max)) || break
    note "waiting for \`kehu $* --help\` to work (poll $polls, $((SECONDS - start))s so far)"
    sleep "$every"
  done
  fail "\`kehu $* --help\` still fails after $((SECONDS - start))s: the command does not exist yet"
}

# kehu_admin ARGS...: kehu-admin with the command time limit.
kehu_admin() {
  timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu-admin" "$@"
}

# out_has_id ID: "true" when $OUT is a list whose items include ID.
out_has_id() {
  out_jq --arg id "$1" 'any(.items[]?; .id == $id)'
}
