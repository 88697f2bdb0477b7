#!/usr/bin/env bash
# kehu-admin's command line (the contract: --help on every program and
# subcommand; exit 2 on a usage error) and README.md's administration
# examples:
# - every command and subcommand answers --help and -h with exit 0 and its
#   usage on stdout (naming its arguments and flags), nothing on stderr, with
#   no data directory: the DATADIR it is given is not created and the working
#   directory stays empty;
# - an unknown command or subcommand, an unknown flag, a flag without its
#   value and a missing argument exit 2 with nothing on stdout and the problem
#   and the usage on stderr, creating nothing;
# - the kehu-admin lines of README.md's administration block, read from
#   README.md itself (build/ becomes the build directory, /srv/kehu a
#   temporary data directory, the comments go), each exit 0 in order; then
#   kehud serves that directory (on 127.0.0.1:0, not the README's default
#   address) and the admin logs in with the password the README's init line
#   gives, while li.lei, disabled there, cannot.
# shellcheck source=tests/integration/lib.sh disable=SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export LC_ALL=C
kehu_admin() { timeout "$KEHU_CMD_TIMEOUT" "$KEHU_BUILD/kehu-admin" "$@"; }

nodata=$KEHU_TMP/no-such-data     # given as DATADIR; must never appear
work=$KEHU_TMP/cwd                # the working directory: must stay empty
mkdir "$work"
cd "$work"

nothing_created() {
  [[ ! -e "$nodata" ]] || fail "$1 created $nodata"
  [[ -z "$(ls -A "$work")" ]] || fail "$1 created files in the working directory: $(ls -A "$work")"
}

# --- --help and -h -----------------------------------------------------------------
# command | what its usage must name (its synopsis in the command-line contract)
help_cases=(
  "|init user seed verify audit backup restore stats reindex cert compact rotate-key"
  "init|DATADIR --admin --listen --host"
  "user|add list disable enable passwd role"
  "user add|DATADIR USER --role --team --name"
  "user list|DATADIR --json"
  "user disable|DATADIR USER"
  "user enable|DATADIR USER"
  "user passwd|DATADIR USER"
  "user role|DATADIR USER ROLE --team"
  "seed|DATADIR --customers"
  "verify|DATADIR"
  "audit|export verify"
  "audit export|DATADIR --since --user --format"
  "audit verify|DATADIR"
  "backup|DATADIR OUT --incremental"
  "restore|BACKUP DATADIR --force"
  "stats|DATADIR --json --prometheus"
  "reindex|DATADIR"
  "cert|DATADIR --host"
  "compact|DATADIR"
  "rotate-key|DATADIR"
)
for case in "${help_cases[@]}"; do
  cmd=${case%%|*}
  read -ra words <<<"$cmd"
  read -ra names <<<"${case#*|}"
  for flag in --help -h; do
    expect_exit 0 kehu_admin "${words[@]}" "$flag" </dev/null
    what="kehu-admin $cmd $flag"
    [[ -z "$ERR" ]] || fail "$what wrote to stderr: $ERR"
    expect_match "^usage: kehu-admin ${cmd:+$cmd }" "$OUT" "the first line of $what"
    for name in "${names[@]}"; do
      [[ "$OUT" == *"$name"* ]] || fail "the usage $what prints does not name $name: $OUT"
    done
    nothing_created "$what"
  done
done
# --help wins over whatever else is on the line, DATADIR included: nothing
# is opened, no password read.
for args in "init $nodata --admin root --help" "user add $nodata li.lei --role sales -h" \
            "user list $nodata --help" "user passwd $nodata li.lei --help" \
            "user role $nodata li.lei manager --team east --help" \
            "seed $nodata --customers 10 --help" "verify $nodata -h" \
            "audit export $nodata --format json --help" "audit verify $nodata --help" \
            "rotate-key $nodata --help"; do
  read -ra words <<<"$args"
  expect_exit 0 kehu_admin "${words[@]}" <<<"password-on-stdin"
  expect_match "^usage: kehu-admin ${words[0]}" "$OUT" "kehu-admin $args"
  nothing_created "kehu-admin $args"
done

# --- usage errors: exit 2, the problem and the usage on stderr ----------------------
# arguments | what the message must name
error_cases=(
  "|COMMAND"
  "frobnicate|frobnicate"
  "--frobnicate|--frobnicate"
  "user|user"
  "user frobnicate $nodata|frobnicate"
  "audit|audit"
  "audit frobnicate $nodata|frobnicate"
  "init|DATADIR"
  "init $nodata --frobnicate|--frobnicate"
  "init $nodata --listen|--listen"
  "user add|DATADIR"
  "user add $nodata|USER"
  "user add $nodata li.lei|--role"
  "user add $nodata li.lei --role|--role"
  "user add $nodata li.lei --role sales --frobnicate|--frobnicate"
  "user list|DATADIR"
  "user list $nodata --frobnicate|--frobnicate"
  "user list $nodata extra|extra"
  "user disable $nodata|USER"
  "user enable $nodata li.lei --team east|--team"
  "user passwd $nodata li.lei extra|extra"
  "user role $nodata li.lei|ROLE"
  "user role $nodata li.lei manager --team|--team"
  "seed $nodata|--customers"
  "seed $nodata --customers|--customers"
  "seed $nodata --customers 5 --frobnicate|--frobnicate"
  "verify|DATADIR"
  "verify $nodata --frobnicate|--frobnicate"
  "audit export|DATADIR"
  "audit export $nodata --format|--format"
  "audit export $nodata --frobnicate|--frobnicate"
  "audit verify $nodata --user admin|--user"
  "rotate-key|DATADIR"
  "rotate-key $nodata --frobnicate|--frobnicate"
)
for case in "${error_cases[@]}"; do
  args=${case%%|*}
  named=${case#*|}
  read -ra words <<<"$args"
  expect_exit 2 kehu_admin "${words[@]}" <<<"password-on-stdin"
  what="kehu-admin $args"
  [[ -z "$OUT" ]] || fail "$what (a usage error) wrote to stdout: $OUT"
  [[ "$ERR" == *"$named"* ]] || fail "$what: stderr does not name $named: $ERR"
  [[ "$ERR" == *"usage: kehu-admin"* ]] || fail "$what: stderr holds no usage: $ERR"
  nothing_created "$what"
done

# --- README.md's administration examples ---------------------------------------------
# The fenced block after "Administration works on the data directory directly".
readme=$KEHU_SRC/README.md
mapfile -t lines < <(awk '
  /^Administration works on the data directory directly/ { found = 1; next }
  found && /^```sh$/ { inside = 1; next }
  inside && /^```$/ { exit }
  inside { print }' "$readme")
((${#lines[@]} > 0)) || fail "README.md has no administration block (after 'Administration works on the data directory directly')"
data=$KEHU_TMP/readme-data
export data
ran=()
kehud_line=""
for line in "${lines[@]}"; do
  # A comment starts at a '#' after two spaces (none of the commands holds one).
  command=$(sed -E 's/[[:space:]]{2,}#.*$//; s/[[:space:]]+$//' <<<"$line")
  [[ -n "$command" ]] || continue
  if [[ "$command" == "build/kehud "* ]]; then
    kehud_line=$command
    continue
  fi
  [[ "$command" == *"build/kehu-admin "* ]] || fail "README.md's administration block has a line this test does not know: $line"
  command=${command//build\//\"\$KEHU_BUILD\"/}
  command=${command//\/srv\/kehu/\"\$data\"}
  expect_exit 0 timeout "$KEHU_CMD_TIMEOUT" bash -c "$command"
  sub=$(sed -E 's/.*build\/kehu-admin ([a-z]+)( ([a-z]+))?.*/\1 \3/' <<<"$line")
  ran+=("${sub% }")
  case "$line" in
    *"kehu-admin user list"*) user_list=$OUT ;;
    *"kehu-admin verify"*) verify_out=$OUT ;;
    *"kehu-admin audit verify"*) audit_verify_out=$OUT ;;
    *"kehu-admin audit export"*) audit_export_out=$OUT ;;
  esac
done
# The block shows (and this test ran) at least these.
for want in init "user add" "user disable" "user list" seed verify "audit verify" "audit export"; do
  printf '%s\n' "${ran[@]}" | grep -qxF -- "$want" ||
    fail "README.md's administration block has no 'kehu-admin $want' line (ran: ${ran[*]})"
done
[[ -f "$data/tls/ca.crt" && -f "$data/kehud.conf" ]] || fail "README's init did not make $data"
expect_match 'li\.lei +sales +east .* disabled' "$user_list" "README's user list (li.lei added and disabled)"
expect_match 'ok: every index entry matches its record' "$verify_out" "README's verify"
expect_match '^ok: [0-9]+ audit entries, hash chain intact' "$audit_verify_out" "README's audit verify"
expect_match '^seq,at,user,address,action,entity,entity_id,details,prev_hash' "$audit_export_out" \
  "README's audit export --format csv"

# The README's kehud line, on a free port of 127.0.0.1, serves what the block made.
expect_eq "build/kehud --data /srv/kehu" "$kehud_line" "README.md's kehud line"
KEHU_DATA=$data
kehu_start_server
init_line=$(printf '%s\n' "${lines[@]}" | grep -m1 'kehu-admin init')
password=$(sed -nE "s/^printf '([^'\\]*)\\\\n' \\|.*/\\1/p" <<<"$init_line")
[[ -n "$password" ]] || fail "no password in README.md's init line: $init_line"
KEHU_PASSWORD=$password expect_exit 0 kehu --user admin whoami
expect_match 'role: +admin' "$OUT" "whoami as the README's admin"
KEHU_PASSWORD=password expect_exit 3 kehu --user li.lei whoami
KEHU_PASSWORD=$password expect_exit 0 kehu --user admin --json customer list --limit 500
expect_eq 200 "$(out_jq '.items | length')" "customers the README's seed line added"
kehu_stop_server

# A listen address kehud could not take is refused by init (nothing created)
# and by kehud reading kehud.conf, naming it.
printf 'adminpass1\n' | kehu_admin init "$nodata" --listen localhost:7443 >"$KEHU_TMP/o" 2>"$KEHU_TMP/e" &&
  fail "init took --listen localhost:7443"
grep -q "'localhost' in 'localhost:7443' is not an IP address" "$KEHU_TMP/e" ||
  fail "init's refusal of --listen: $(cat "$KEHU_TMP/e")"
[[ ! -e "$nodata" ]] || fail "a refused init created $nodata"
KEHU_DATA=$KEHU_TMP/listen-data
export KEHU_DATA
kehu_expect_config_refused server listen 127.0.0.1:99999
