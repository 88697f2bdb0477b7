#!/usr/bin/env bash
# An export imports as it was (README.md, "Exports"; docs/architecture.md#import):
# customers with varied fields — Chinese names, quotes and commas, a
# formula-like name (=1+2), a region starting with "-", a name starting
# with "'=", tags, a free-text size band, dates, owners, notes over two
# lines — exported as UTF-8
# CSV, as GBK CSV and as .xlsx; each file imported as admin into a fresh
# kehud on a fresh data directory (with the same users), whose own export
# gives back the same value in every column the server does not assign
# (id, created_at, updated_at, version and last_contact_at are its own).
# The columns import does not read are named by the import as ignored.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

# The export's columns that are the customer's own, compared after the trip.
COMPARED='["name","short_name","kind","stage","industry","size","region","address","source","owner","tags","notes","external_code","first_contact_at"]'
# Exported, and not read by an import (the server assigns them): listed by
# it as ignored.
IGNORED='id, last_contact_at, created_at, updated_at, version'

users() {
  kehu_add_user s1 sales east
  kehu_add_user s2 sales west
}

# A fresh kehud on a fresh data directory, with the same users.
fresh_server() {
  kehu_stop_server
  KEHU_DATA=$KEHU_TMP/data-$1
  export KEHU_DATA
  rm -rf "$KEHU_TMP/users"      # the old server's sessions
  kehu_start_server
  users
}

# The compared columns of every customer, by name, as one JSON line each.
customers_json() {
  expect_exit 0 kehu_as admin --json export customers
  out_jq -c --argjson cols "$COMPARED" \
    'sort_by(.name)[] | with_entries(select(.key as $k | $cols | index($k)))'
}

kehu_start_server
users

# --- the customers: most fields through an import, the rest through update ------
cat >"$KEHU_TMP/source.csv" <<'CSV'
客户名称,客户编号,所属行业,企业规模,客户状态,客户来源,企业地址,所在地区,跟进人,标签,首次接触时间,备注
杭州青禾食品有限公司,QH-001,食品,100-500人,意向,展会,西湖区文三路 90 号,浙江省 杭州市,s1,华东;重点,2024-01-15,"两行备注，第一行
第二行: ""报价"", 已发"
=1+2,F-002,,,潜在,,@云端,-上海,s2,+加号标签,,=SUM(A1:A2)
成都西区贸易有限公司,00123,贸易,500人以上,成交,官网,,四川省 成都市,,,2023/12/31,
"上海""双引号"",逗号有限公司",SH-4,咨询,约200人,流失,转介绍,"浦东新区, 世纪大道 1 号",上海市,s1,"甲,乙,丙",2024年2月29日,
北京零壹科技有限公司,,,,,,,,,,,
CSV
expect_exit 0 kehu_as admin --json import customers "$KEHU_TMP/source.csv"
expect_eq '5 0' "$(out_jq '"\(.accepted) \(.rejected)"')" "customers of the source"
expect_exit 0 kehu_as admin --json customer search 青禾
expect_exit 0 kehu_as admin customer update "$(out_jq '.items[0].id')" --version 1 --short 青禾食品
# a name that begins with a quote before "=": not a quote an export added
expect_exit 0 kehu_as admin --json customer add --name "'=引号开头的名称" --external-code Q-5 \
  --size 1-50 --stage intent --owner s2 --kind individual --tag "'-引号标签"
expect_eq "'=引号开头的名称" "$(out_jq .name)" "the name beginning with '="

customers_json >"$KEHU_TMP/source.json"
expect_eq 6 "$(wc -l <"$KEHU_TMP/source.json")" "customers exported from the source"
# what the test is about is in the source: the hard values
for want in '"short_name":"青禾食品"' '"kind":"individual"' '"name":"=1+2"' '"region":"-上海"' '"address":"@云端"' '"tags":["+加号标签"]' \
  '"name":"上海\"双引号\",逗号有限公司"' '"tags":["甲","乙","丙"]' '"size":"约200人"' \
  '"first_contact_at":"2024-02-29"' '"external_code":"00123"' '"owner":"s2"' \
  '"notes":"两行备注，第一行\n第二行: \"报价\", 已发"' '"notes":"=SUM(A1:A2)"'; do
  grep -qF "$want" "$KEHU_TMP/source.json" || fail "the source lacks $want: $(cat "$KEHU_TMP/source.json")"
done

expect_exit 0 kehu_as admin export customers -o "$KEHU_TMP/utf8.csv"
expect_eq "exported 6 customers to $KEHU_TMP/utf8.csv" "$ERR" "what the export says"
expect_exit 0 kehu_as admin export customers --encoding gbk -o "$KEHU_TMP/gbk.csv"
iconv -f UTF-8 -t UTF-8 "$KEHU_TMP/gbk.csv" >/dev/null 2>&1 && fail "gbk.csv is UTF-8"
iconv -f GBK -t UTF-8 "$KEHU_TMP/gbk.csv" | grep -q 杭州青禾食品有限公司 || fail "gbk.csv is not GBK"
expect_exit 0 kehu_as admin export customers --format xlsx -o "$KEHU_TMP/book.xlsx"
grep -qF "'=1+2" "$KEHU_TMP/utf8.csv" || fail "the export did not neutralise =1+2"

# --- each file into a fresh server, exported again ----------------------------------
for file in utf8.csv gbk.csv book.xlsx; do
  fresh_server "${file%%.*}"
  expect_exit 0 kehu_as admin import customers "$KEHU_TMP/$file"
  expect_match '^6 accepted, 0 updated, 0 duplicates, 0 incomplete, 0 rejected' "$OUT" \
    "the import of $file"
  expect_match "columns ignored: $IGNORED" "$OUT" "the columns the import of $file ignored"
  customers_json >"$KEHU_TMP/back-$file.json"
  if ! diff -u "$KEHU_TMP/source.json" "$KEHU_TMP/back-$file.json" >"$KEHU_TMP/diff"; then
    fail "customers exported, imported from $file into a fresh server and exported again differ:
$(cat "$KEHU_TMP/diff")"
  fi
done

expect_server_alive
kehu_stop_server
