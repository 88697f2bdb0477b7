#!/usr/bin/env bash
# Issue 2: data survives a clean restart (SIGTERM) and a kill -9 of the
# server right after `customer add` returned.
# shellcheck source=tests/integration/lib.sh disable=SC2016,SC2119
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The fields compared before and after a restart.
FIELDS='{id, name, short_name, kind, stage, industry, region, address, source,
         owner, tags: ((.tags // []) | sort), version, created_at}'

kehu_start_server

# Records as the server returned them, one JSON object per line.
added=$KEHU_TMP/added.jsonl
: >"$added"
add() {
  expect_exit 0 kehu_as admin --json customer add "$@"
  expect_match '^C[0-9]{8}[0-9]{3,}$' "$(out_jq .id)" "customer id"
  out_jq -c "$FIELDS" >>"$added"
}
add --name "杭州青禾食品有限公司" --stage potential --industry 食品 --region "浙江省 杭州市" --tag 华东
add --name "Shenzhen Pearl Electronics Co., Ltd." --kind company --stage closed --source referral
add --name "王小明" --kind individual --stage intent --address "北京市海淀区中关村大街1号"
add --name "成都锦江物流有限公司" --short 锦江物流 --tag 物流 --tag 西南
add --name "Dalian Harbour Trading" --region 辽宁省
# One updated customer: its new version must survive too.
first=$(head -n1 "$added" | jq -r .id)
expect_exit 0 kehu_as admin --json customer update "$first" --version 1 --stage closed
{ out_jq -c "$FIELDS"; tail -n +2 "$added"; } >"$added.new"
mv "$added.new" "$added"

# check_all: every record in $added reads back exactly, and list has them all.
check_all() {
  local line id got
  while IFS= read -r line; do
    id=$(jq -r .id <<<"$line")
    expect_exit 0 kehu_as admin --json customer get "$id"
    got=$(out_jq -c "$FIELDS")
    [[ "$got" == "$line" ]] || fail "$1: customer $id changed
  before: $line
  after:  $got"
  done <"$added"
  expect_exit 0 kehu_as admin --json customer list --limit 500
  local want have
  want=$(jq -r .id "$added" | sort | tr '\n' ' ')
  have=$(out_jq '.items[].id' | sort | tr '\n' ' ')
  expect_eq "$want" "$have" "$1: ids in customer list"
}
check_all "before any restart"

# --- clean restart --------------------------------------------------------
kehu_stop_server
kehu_start_server
check_all "after SIGTERM and restart"

# --- kill -9 right after add returns --------------------------------------
expect_exit 0 kehu_as admin --json customer add --name "断电测试客户 甲" --stage intent \
  --industry 能源 --region "江苏省 南京市" --tag 持久
kehu_kill_server
out_jq -c "$FIELDS" >>"$added"
kehu_start_server
check_all "after kill -9 right after customer add"

# Several in a row, then kill -9 again: the last one must be there, and the
# daily sequence goes on without reusing an id.
for n in 1 2 3; do
  expect_exit 0 kehu_as admin --json customer add --name "断电测试客户 第${n}批" --source phone
  out_jq -c "$FIELDS" >>"$added"
done
kehu_kill_server
kehu_start_server
check_all "after a second kill -9"
expect_exit 0 kehu_as admin --json customer add --name "重启之后的新客户"
new_id=$(out_jq .id)
jq -r .id "$added" | grep -qx "$new_id" && fail "id $new_id was reused after kill -9"
out_jq -c "$FIELDS" >>"$added"

# An update right before kill -9 survives as well.
expect_exit 0 kehu_as admin --json customer update "$new_id" --version 1 --industry 零售
expect_eq 2 "$(out_jq .version)" "version after update"
kehu_kill_server
kehu_start_server
expect_exit 0 kehu_as admin --json customer get "$new_id"
expect_eq 2 "$(out_jq .version)" "version of $new_id after kill -9"
expect_eq "零售" "$(out_jq .industry)" "industry of $new_id after kill -9"

expect_server_alive
kehu_stop_server
