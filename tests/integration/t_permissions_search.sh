#!/usr/bin/env bash
# Issue 4, the rest of the matrix: search, export and reports show each role
# exactly what docs/architecture.md#roles-and-permissions lets it read; service and finance may not export;
# every export is audited with its row count.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user m1 manager east
kehu_add_user s1 sales east
kehu_add_user s2 sales west
kehu_add_user sv1 service
kehu_add_user f1 finance

expect_exit 0 kehu_as s1 --json customer add --name 杭州星河东区科技有限公司
C1=$(out_jq .id)
expect_exit 0 kehu_as s1 --json contact add "$C1" --name 东区联系人 --phone 13811112222
expect_exit 0 kehu_as s2 --json customer add --name 成都星河西区贸易有限公司
C2=$(out_jq .id)
expect_exit 0 kehu_as admin --json customer add --name 星河总部直营客户
C0=$(out_jq .id)

# search: who finds which of the three 星河 customers
ids_for() { # user -> sorted ids found by `customer search 星河`
  expect_exit 0 kehu_as "$1" --json customer search 星河
  printf '%s' "$OUT" | jq -r '.items[].id' | sort | tr '\n' ' '
}
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }
check_search() { # user expected-ids...
  local user=$1 got want
  shift
  got=$(ids_for "$user")
  want=$(sorted "$@")
  [[ "$got" == "$want" ]] || fail "search as $user: expected [$want], got [$got]"
}
check_search admin "$C0" "$C1" "$C2"
check_search m1 "$C1"
check_search s1 "$C1"
check_search s2 "$C2"
check_search sv1 "$C0" "$C1" "$C2"
check_search f1 "$C0" "$C1" "$C2"
# by phone: only for someone who may read that customer
expect_exit 0 kehu_as s1 --json customer search 13811112222
[[ $(out_jq '.items | length') == 1 ]] || fail "s1 should find C1 by its contact's phone"
expect_exit 0 kehu_as s2 --json customer search 13811112222
[[ $(out_jq '.items | length') == 0 ]] || fail "s2 must not find s1's customer by phone"

# export: rows per role, refused for service and finance
export_count() { # user -> rows
  expect_exit 0 kehu_as "$1" export customers --format json -o "$KEHU_TMP/$1.json"
  jq length "$KEHU_TMP/$1.json"
}
[[ $(export_count admin) == 3 ]] || fail "admin exports all 3"
[[ $(export_count m1) == 1 ]] || fail "m1 exports the east team's 1"
[[ $(export_count s1) == 1 ]] || fail "s1 exports its own 1"
[[ $(export_count s2) == 1 ]] || fail "s2 exports its own 1"
expect_exit 4 kehu_as sv1 export customers
expect_exit 4 kehu_as f1 export customers
expect_exit 0 kehu_as s1 export customers --format csv -o "$KEHU_TMP/s1.csv"
[[ $(wc -l <"$KEHU_TMP/s1.csv") == 2 ]] || fail "CSV export: a header and one row expected"
grep -q "杭州星河东区科技有限公司" "$KEHU_TMP/s1.csv" || fail "CSV export lacks s1's customer"

# reports count only what the caller may read
summary_customers() {
  expect_exit 0 kehu_as "$1" --json report summary
  out_jq '.rows[] | select(.key == "customers") | .count'
}
[[ $(summary_customers admin) == 3 ]] || fail "admin's summary counts 3 customers"
[[ $(summary_customers s1) == 1 ]] || fail "s1's summary counts 1 customer"
[[ $(summary_customers m1) == 1 ]] || fail "m1's summary counts 1 customer"
expect_exit 7 kehu_as admin report nonsense

# every export is in the audit log with its row count
expect_exit 0 kehu_as admin --json audit --limit 100
exports=$(out_jq '[.items[] | select(.action == "export")] | length')
((exports >= 5)) || fail "expected at least 5 export entries in the audit log, got $exports"
out_jq '[.items[] | select(.action == "export" and .user == "s1")][0].details' | grep -q "1 customers" ||
  fail "s1's export entry does not carry its row count"
denied=$(out_jq '[.items[] | select(.action == "permission_denied" and .user == "sv1")] | length')
((denied >= 1)) || fail "service's refused export is not audited"
echo "ok: search, export and report follow the permission matrix"
