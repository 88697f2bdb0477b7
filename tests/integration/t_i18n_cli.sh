#!/usr/bin/env bash
# The client's human messages in the user's language
# (docs/architecture.md#the-clients-language): under LANG=zh_CN.UTF-8 the
# help and its footer, an error naming a field (the server's, about an
# invalid phone) and the client's own errors are in Chinese, with the same
# exit codes as in English; --json output (errors included) is byte for
# byte the same in both; under LANG=C.UTF-8 the same commands print
# English. The catalogue is the one the build made beside build/kehu.
# shellcheck source=tests/integration/lib.sh disable=SC2016
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A missing locale is a broken test machine, not a reason to skip.
locales=$(locale -a 2>/dev/null) || true
grep -qix 'zh_CN\.utf-\?8' <<<"$locales" ||
  fail "the zh_CN.UTF-8 locale is not installed (locale -a): run scripts/deps.sh"
[[ -f "$KEHU_BUILD/locale/zh_CN/LC_MESSAGES/kehu.mo" ]] ||
  fail "$KEHU_BUILD/locale/zh_CN/LC_MESSAGES/kehu.mo is missing: the build makes it with kehu"
unset KEHU_LOCALEDIR   # the build tree's catalogue, found beside the program

# zh CMD... / en CMD...: CMD with only LANG saying the language (lib.sh
# sets LC_MESSAGES=C for the other tests).
zh() (
  unset LC_ALL LC_MESSAGES LANGUAGE
  export LANG=zh_CN.UTF-8
  "$@"
)
en() (
  unset LC_ALL LC_MESSAGES LANGUAGE
  export LANG=C.UTF-8
  "$@"
)

# both CODE ARGS...: `kehu_as admin ARGS...` exits CODE in both languages;
# the Chinese stdout and stderr in ZH_OUT, ZH_ERR, the English in OUT, ERR.
both() {
  local code=$1
  shift
  expect_exit "$code" zh kehu_as admin "$@"
  ZH_OUT=$OUT
  ZH_ERR=$ERR
  expect_exit "$code" en kehu_as admin "$@"
}

# same_json CODE ARGS...: with --json, the same exit code and the same bytes
# on stdout and stderr in both languages.
same_json() {
  local code=$1
  shift
  expect_exit "$code" zh kehu_as admin --json "$@"
  cp "$KEHU_TMP/cmd.out" "$KEHU_TMP/zh.out"
  cp "$KEHU_TMP/cmd.err" "$KEHU_TMP/zh.err"
  expect_exit "$code" en kehu_as admin --json "$@"
  cmp -s "$KEHU_TMP/zh.out" "$KEHU_TMP/cmd.out" ||
    fail "--json $* : stdout differs between zh_CN and C: $(cat "$KEHU_TMP/zh.out") / $OUT"
  cmp -s "$KEHU_TMP/zh.err" "$KEHU_TMP/cmd.err" ||
    fail "--json $* : stderr differs between zh_CN and C: $(cat "$KEHU_TMP/zh.err") / $ERR"
}

# No Chinese in English output: no byte outside ASCII (the commands below
# print no Chinese data).
ascii_only() { ! LC_ALL=C grep -q $'[\x80-\xff]' <<<"$1"; }

# --- help, without a server ---------------------------------------------------
expect_exit 0 zh "$KEHU_BUILD/kehu" --help
expect_match '^用法：kehu' "$OUT" "zh: kehu --help"
expect_match $'\n命令：\n' "$OUT" "zh: the command list's header"
expect_match '运行 `kehu 命令 --help` 查看各命令的参数。' "$OUT" "zh: the help footer"
expect_exit 0 en "$KEHU_BUILD/kehu" --help
expect_match '^usage: kehu \[GLOBAL OPTIONS\] COMMAND' "$OUT" "C: kehu --help"
expect_match $'\nCommands:\n' "$OUT" "C: the command list's header"
expect_match 'Run `kehu COMMAND --help` for the arguments of a command\.' "$OUT" "C: the help footer"
ascii_only "$OUT" || fail "C: kehu --help is not all ASCII: $OUT"

# a command's --help
expect_exit 0 zh "$KEHU_BUILD/kehu" contact --help
expect_match '（可重复）' "$OUT" "zh: kehu contact --help"
expect_exit 0 en "$KEHU_BUILD/kehu" contact --help
expect_match 'P \(repeatable\)' "$OUT" "C: kehu contact --help"

# a usage error: exit 2 in both, the usage after it in the language
expect_exit 2 zh "$KEHU_BUILD/kehu" customer frobnicate
expect_match '^kehu: 没有命令 `customer frobnicate`' "$ERR" "zh: an unknown command"
expect_match '运行 `kehu customer 命令 --help`' "$ERR" "zh: the usage after a usage error"
expect_exit 2 en "$KEHU_BUILD/kehu" customer frobnicate
expect_match '^kehu: unknown command `customer frobnicate`' "$ERR" "C: an unknown command"

# --- against a server -----------------------------------------------------------
kehu_start_server
expect_exit 0 zh kehu_as admin --json customer add --name 深圳市华南电子有限公司 --stage intent \
  --industry 电子
id=$(out_jq .id)

# The server's error about a field: its English message, the field named in
# Chinese (电话 is the phone field's label) around it; exit 7 in both.
both 7 contact add "$id" --name 王五 --phone not-a-phone
expect_match "^kehu: 字段「电话」（phone）有误：phone: 'not-a-phone' is not a phone number" "$ZH_ERR" \
  "zh: the invalid phone"
expect_match "^kehu: phone: 'not-a-phone' is not a phone number" "$ERR" "C: the invalid phone"
ascii_only "$ERR" || fail "C: the invalid phone's error is not all ASCII: $ERR"
same_json 7 contact add "$id" --name 王五 --phone not-a-phone
expect_eq INVALID_ARGUMENT "$(err_jq .error.code)" "--json: the invalid phone's code"
expect_eq phone "$(err_jq .error.field)" "--json: the invalid phone's field"
expect_match "^phone: 'not-a-phone' is not a phone number" "$(err_jq .error.message)" \
  "--json: the invalid phone's message (English)"

# The client's own error about a value, in the user's language.
both 7 customer list --limit 0
expect_match '^kehu: limit 须为 1 到 500 之间的整数' "$ZH_ERR" "zh: --limit 0"
expect_match '^kehu: limit must be a whole number from 1 to 500, not `0`' "$ERR" "C: --limit 0"
same_json 7 customer list --limit 0

# A system error's reason (strerror) is in the user's language for people
# and in English for scripts.
both 8 --server 127.0.0.1:1 customer list
expect_match '^kehu: 无法连接到 127\.0\.0\.1:1：' "$ZH_ERR" "zh: cannot connect"
expect_match '^kehu: cannot connect to 127\.0\.0\.1:1: Connection refused' "$ERR" "C: cannot connect"
same_json 8 --server 127.0.0.1:1 customer list
expect_eq "cannot connect to 127.0.0.1:1: Connection refused" "$(err_jq .error.message)" \
  "--json: cannot connect (English)"

# A record shown to people: labels and the stage in Chinese; in JSON as ever.
both 0 customer get "$id"
expect_match $'客户状态: +意向' "$ZH_OUT" "zh: customer get's stage"
expect_match $'stage: +intent' "$OUT" "C: customer get's stage"
same_json 0 customer get "$id"
expect_eq intent "$(out_jq -r .stage)" "--json: customer get's stage"
same_json 0 customer list

kehu_stop_server
