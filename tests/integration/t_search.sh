#!/usr/bin/env bash
# docs/architecture.md#search, search as a rep types it: part of a name that runs into the legal
# form ("信息技术有限"), the legal form alone, a Latin name with "Co", a
# phone written with spaces or dashes, an email in capitals, several terms;
# results ranked exact > prefix > contains, newest first within a rank, and
# new customers found at once (before the index folds them in). And
# customer list / search --sort.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user rep1 sales east
kehu_add_user rep2 sales west
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
lisa=$(add "Lisa Trading Limited")
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
# the legal form alone: every customer whose name has it, newest first --
# of those the rep may see (a rep's query reads the rep's own customers)
expect_exit 0 kehu_as rep2 --json customer add --name 成都西区贸易有限公司
west=$(out_jq .id)
expect_found "有限公司" "$hongda $xinghe" 有限公司
expect_exit 0 kehu_as rep2 --json customer search 有限公司
expect_eq "$west" "$(out_jq '[.items[].id] | join(" ")')" "customer search 有限公司 as rep2"
expect_exit 0 kehu_as admin --json customer search 有限公司
expect_eq "$west $hongda $xinghe" "$(out_jq '[.items[].id] | join(" ")')" "customer search 有限公司 as admin"
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
# "Li" starts "Limited" (left out of the index) but is looked up as itself
# when nothing else is asked
expect_found "Li" "$lisa" Li
expect_found "Lisa Limited" "$lisa" Lisa Limited
expect_exit 0 kehu_as rep1 customer delete "$lisa"   # out of the lists below
expect_found "Li, once Lisa is in the recycle bin" "" Li
# a term that is empty, or not UTF-8, is refused
expect_exit 7 kehu_as rep1 customer search ""
expect_match 'empty' "$ERR" "customer search '': the error"
expect_exit 7 kehu_as rep1 customer search "$(printf '\xff\xfe')"
expect_match 'UTF-8' "$ERR" "customer search of invalid UTF-8: the error"
# a one-character term must be there too when another term finds candidates
expect_found "星 贸易 (no 星 in 宏达贸易)" "$prefix" 星 贸易
# what is not there is not found
expect_found "星河信息 宏达 (terms of two customers)" "" 星河信息 宏达
expect_found "13900000000" "" 13900000000

# --- customer list / search --sort (README.md) -------------------------------
list_ids() { # ARGS...: the ids of one page of `customer list ARGS`
  expect_exit 0 kehu_as rep1 --json customer list "$@"
  out_jq '[.items[].id] | join(" ")'
}
# by name, folded, in code point order: Latin first, then 广 (U+5E7F),
# 星 (U+661F), 深 (U+6DF1); a name before the longer names it starts
expect_eq "$pacific $hongda $exact $prefix $xinghe" "$(list_ids --sort name)" "customer list --sort name"
expect_eq "$xinghe $prefix $exact $hongda $pacific" "$(list_ids --sort -name)" "customer list --sort -name"
# newest first, two at a time, following the cursor to the end
page_ids() { out_jq '[.items[].id] | join(" ")'; }
expect_exit 0 kehu_as rep1 --json customer list --sort -created --limit 2
expect_eq "$prefix $exact" "$(page_ids)" "customer list --sort -created --limit 2"
cursor=$(out_jq .next_cursor)
expect_exit 0 kehu_as rep1 --json customer list --sort -created --limit 2 --cursor "$cursor"
expect_eq "$hongda $pacific" "$(page_ids)" "the page after $cursor"
cursor=$(out_jq .next_cursor)
expect_exit 0 kehu_as rep1 --json customer list --sort -created --limit 2 --cursor "$cursor"
expect_eq "$xinghe" "$(page_ids)" "the last page ($cursor)"
expect_eq null "$(out_jq .next_cursor)" "next_cursor after the last page"
# the funnel's order, not the alphabet's: potential, intent, closed, lost
expect_exit 0 kehu_as rep1 customer stage "$hongda" closed
expect_exit 0 kehu_as rep1 customer stage "$pacific" intent
expect_eq "$hongda $pacific" "$(list_ids --sort -stage --limit 2)" "customer list --sort -stage (closed, then intent)"
# last contact: a follow-up makes a customer the most recently contacted
expect_exit 0 kehu_as rep1 followup add "$exact" --method phone --summary 电话沟通
expect_eq "$exact" "$(list_ids --sort -last_contact --limit 1)" "customer list --sort -last_contact"
# a search sorted by a field instead of its ranking
expect_found "星河 --sort -name" "$xinghe $prefix $exact" 星河 --sort -name
# an export in a sorted order: every customer once, in that order, as the
# export pages through its position cursors
expect_exit 0 kehu_as rep1 export customers --format json --sort name -o "$KEHU_TMP/sorted.json"
expect_eq "$pacific $hongda $exact $prefix $xinghe" "$(jq -r '[.[].id] | join(" ")' "$KEHU_TMP/sorted.json")" \
  "export customers --sort name"
expect_exit 0 kehu_as rep1 export customers --format json --tier high -o "$KEHU_TMP/tier.json"
expect_eq 0 "$(jq length "$KEHU_TMP/tier.json")" "export customers --tier high"
# what cannot be sorted or filtered is refused, naming the flag
expect_exit 7 kehu_as rep1 customer list --sort revenue
expect_match 'sort' "$ERR" "customer list --sort revenue: the error"
# tiers (docs/architecture.md#value-tiers): none of these customers has
# an order, so all are normal and none high (t_tiers.sh moves them); a tier
# that does not exist is refused
expect_eq "" "$(list_ids --tier high)" "customer list --tier high"
expect_eq "" "$(list_ids --tier 高价值 --sort name)" "customer list --tier 高价值 --sort name"
expect_found "星河 --tier normal" "$exact $prefix $xinghe" 星河 --tier normal
expect_exit 7 kehu_as rep1 customer list --tier gold
expect_match 'tier' "$ERR" "customer list --tier gold: the error"
expect_exit 7 kehu_as rep1 customer list --sort name --cursor C20261123001

# 24 searches and sorted lists at once: they queue for the thread pool
# (max_read_work at a time) and every one is answered, right
pids=()
for i in $(seq 1 24); do
  if ((i % 2)); then
    kehu_as rep1 --json customer search 星河 >"$KEHU_TMP/par-$i.out" 2>&1 &
  else
    kehu_as rep1 --json customer list --sort name >"$KEHU_TMP/par-$i.out" 2>&1 &
  fi
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || fail "parallel request $((i + 1)) exited $?: $(head -c 300 "$KEHU_TMP/par-$((i + 1)).out")"
done
for i in $(seq 1 24); do
  n=$(jq '.items | length' "$KEHU_TMP/par-$i.out")
  if ((i % 2)); then want=3; else want=5; fi
  expect_eq "$want" "$n" "items of parallel request $i"
done

# every index entry still matches its record
expect_exit 0 kehu_admin verify "$KEHU_DATA"
expect_match 'ok' "$OUT" "kehu-admin verify output"
expect_server_alive
kehu_stop_server
