#!/usr/bin/env bash
# SPEC §4, search as a rep types it: part of a name that runs into the legal
# form ("信息技术有限"), the legal form alone, a Latin name with "Co", a
# phone written with spaces or dashes, an email in capitals, several terms;
# results ranked exact > prefix > contains, newest first within a rank, and
# new customers found at once (before the index folds them in).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user rep1 sales east
expect_exit 0 kehu_as rep1 login

add() { # name -> id
  expect_exit 0 kehu_as rep1 --json customer add --name "$1" --force
  out_jq .id
}
xinghe=$(add 深圳市星河信息技术有限公司)
pacific=$(add "Pacific Robotics Co., Ltd.")
hongda=$(add 广州宏达贸易有限公司)
exact=$(add 星河)
prefix=$(add 星河贸易)
expect_exit 0 kehu_as rep1 --json contact add "$xinghe" --name 张伟 --phone 13856781234 \
  --email Zhang.Wei@Xinghe.cn

# found_ids TERM...: the ids `customer search` returns, in order, one line
found_ids() {
  expect_exit 0 kehu_as rep1 --json customer search "$@"
  out_jq '[.items[].id] | join(" ")'
}
expect_found() { # "what" "expected ids in order" TERM...
  local what=$1 want=$2
  shift 2
  expect_eq "$want" "$(found_ids "$@")" "customer search $what"
}

expect_found "信息技术有限 (runs into 有限公司)" "$xinghe" 信息技术有限
expect_found "星河信息" "$xinghe" 星河信息
expect_found "Pacific Co (two terms)" "$pacific" Pacific Co
expect_found "pacific ro (case, prefix)" "$pacific" "pacific ro"
expect_found "宏达 有限公司 (two terms, one a legal form)" "$hongda" 宏达 有限公司
# the legal form alone: every customer whose name has it, newest first
expect_found "有限公司" "$hongda $xinghe" 有限公司
expect_found "Ltd" "$pacific" Ltd
# ranked: the exact name, then names starting with it, then the rest
expect_found "星河 (ranked)" "$exact $prefix $xinghe" 星河
# phones however written, the last 4 or 8 digits, an email in any case
expect_found "+86 138 5678 1234" "$xinghe" "+86 138 5678 1234"
expect_found "138-5678-1234" "$xinghe" 138-5678-1234
expect_found "1234 (last 4 digits)" "$xinghe" 1234
expect_found "5678 1234 (last 8 digits)" "$xinghe" "5678 1234"
expect_found "an email in capitals" "$xinghe" ZHANG.WEI@xinghe.cn
expect_found "a contact's name" "$xinghe" 张伟
# what is not there is not found
expect_found "星河信息 宏达 (terms of two customers)" "" 星河信息 宏达
expect_found "13900000000" "" 13900000000

# every index entry still matches its record
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_match 'ok' "$OUT" "kehu-admin verify output"
expect_server_alive
kehu_stop_server
