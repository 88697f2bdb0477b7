#!/usr/bin/env bash
# Exports that open cleanly in Excel (README.md, "Exports"): CSV in UTF-8
# with a BOM or in GBK, formula-like cells prefixed with "'", xlsx with
# string cells only, `--json export`, exports of records across the
# customers the caller may read (service: no contracts or orders), each
# audited with its row count.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user s1 sales east
kehu_add_user s2 sales west
kehu_add_user sv1 service

expect_exit 0 kehu_as s1 --json customer add --name 杭州青禾食品有限公司
C1=$(out_jq .id)
expect_exit 0 kehu_as s1 --json customer add --name '=HYPERLINK("http://evil","x")'
C2=$(out_jq .id)
expect_exit 0 kehu_as s1 --json customer add --name '+86 1' --region '-上海' --address '@home'
C3=$(out_jq .id)
expect_exit 0 kehu_as s2 --json customer add --name 成都西区贸易有限公司
C4=$(out_jq .id)
expect_exit 0 kehu_as s1 --json contact add "$C1" --name 张伟 --title '=1+2'
expect_exit 0 kehu_as s1 --json contact add "$C3" --name 李娜
expect_exit 0 kehu_as s2 --json contact add "$C4" --name 王芳
expect_exit 0 kehu_as s1 --json order add "$C1" --amount 9800.50 --product 服务器 --quantity 2
expect_exit 0 kehu_as s1 --json followup add "$C1" --method phone --summary 电话沟通报价

# --- CSV: UTF-8 with a BOM, CRLF, formulas neutralised -------------------------
csv=$KEHU_TMP/s1.csv
expect_exit 0 kehu_as s1 export customers -o "$csv"
expect_eq "efbbbf" "$(head -c 3 "$csv" | od -An -tx1 | tr -d ' \n')" "the first bytes of the CSV"
expect_eq 4 "$(wc -l <"$csv")" "CSV lines (header and 3 customers)"
expect_eq 4 "$(grep -c $'\r$' "$csv")" "CSV lines ending in CRLF"
grep -q '杭州青禾食品有限公司' "$csv" || fail "the CSV lacks the Chinese name"
grep -qF "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"" "$csv" ||
  fail "the HYPERLINK name is not written as text: $(grep -F HYPERLINK "$csv")"
grep -qF ",'+86 1," "$csv" || fail "'+86 1' is not prefixed: $(grep -F '86 1' "$csv")"
grep -qF ",'-上海," "$csv" || fail "the region '-上海' is not prefixed"
grep -qF ",'@home," "$csv" || fail "the address '@home' is not prefixed"
grep -q '成都西区' "$csv" && fail "s1's export holds s2's customer"
# stdout is the same bytes
expect_exit 0 kehu_as s1 export customers
expect_match '^id,name,' "${OUT#$'\xEF\xBB\xBF'}" "the CSV header on stdout"

# --- GBK ------------------------------------------------------------------------
gbk=$KEHU_TMP/s1-gbk.csv
expect_exit 0 kehu_as s1 export customers --encoding gbk -o "$gbk"
[[ "$(head -c 3 "$gbk" | od -An -tx1 | tr -d ' \n')" != efbbbf ]] || fail "a GBK CSV has no BOM"
iconv -f GBK -t UTF-8 "$gbk" >"$KEHU_TMP/back.csv" || fail "the GBK CSV does not convert back"
grep -q '杭州青禾食品有限公司' "$KEHU_TMP/back.csv" || fail "the GBK CSV lost the Chinese name"
grep -q '杭州青禾食品有限公司' "$gbk" && fail "the GBK CSV holds UTF-8"
expect_eq "$(tail -c +4 "$csv" | cut -d, -f2 | sort)" "$(cut -d, -f2 <"$KEHU_TMP/back.csv" | sort)" \
  "names through GBK and back"
# a character GBK cannot hold: an error naming the row and field, no file
expect_exit 0 kehu_as s1 --json customer add --name '표준 주식회사 😀'
expect_exit 7 kehu_as s1 export customers --encoding gbk -o "$KEHU_TMP/bad.csv"
expect_match 'row [0-9]+ \(C[0-9]+\), field name' "$ERR" "the GBK error"
[[ ! -e "$KEHU_TMP/bad.csv" ]] || fail "a failed GBK export left a file"
expect_exit 7 kehu_as s1 export customers --encoding latin1
expect_exit 2 kehu_as s1 export customers --format json --encoding gbk

# --- xlsx -------------------------------------------------------------------------
expect_exit 2 kehu_as s1 export customers --format xlsx
xlsx=$KEHU_TMP/s1.xlsx
expect_exit 0 kehu_as s1 export customers --format xlsx -o "$xlsx"
python3 - "$xlsx" <<'PY' || fail "the xlsx file is not as expected"
import re, sys, zipfile
import xml.etree.ElementTree as ET
ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
z = zipfile.ZipFile(sys.argv[1])
shared = []
if "xl/sharedStrings.xml" in z.namelist():
    for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", ns):
        shared.append("".join(t.text or "" for t in si.iter("{%s}t" % ns["m"])))
sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
rows = []
for row in sheet.iter("{%s}row" % ns["m"]):
    cells = []
    for c in row.findall("m:c", ns):
        assert c.find("m:f", ns) is None, "a formula cell"
        t = c.get("t")
        if t == "s":
            cells.append(shared[int(c.find("m:v", ns).text)])
        elif t == "inlineStr":
            cells.append("".join(x.text or "" for x in c.iter("{%s}t" % ns["m"])))
        else:
            raise AssertionError("a cell that is not a string: %r" % t)
    rows.append(cells)
assert rows[0][:3] == ["id", "name", "short_name"], rows[0]
names = [r[1] for r in rows[1:]]
assert "杭州青禾食品有限公司" in names, names
assert "'=HYPERLINK(\"http://evil\",\"x\")" in names, names
assert "'+86 1" in names, names
assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")
styles = z.read("xl/styles.xml").decode()
assert "<b/>" in styles, "no bold font for the header"
PY

# --- --json export ------------------------------------------------------------------
expect_exit 0 kehu_as s1 --json export customers
expect_eq 4 "$(out_jq length)" "customers in --json export"
expect_eq true "$(out_jq 'any(.[]; .name == "=HYPERLINK(\"http://evil\",\"x\")")')" \
  "JSON keeps the name as it is"
expect_exit 0 kehu_as s1 export customers --format json
expect_eq 4 "$(out_jq length)" "customers in --format json"

# --- records --------------------------------------------------------------------------
expect_exit 0 kehu_as s1 export contacts -o "$KEHU_TMP/contacts.csv"
head -n 1 "$KEHU_TMP/contacts.csv" | grep -q '^.*id,customer_id,name,' || fail "contacts header"
expect_eq 3 "$(wc -l <"$KEHU_TMP/contacts.csv")" "s1's contacts (header and 2)"
grep -q 张伟 "$KEHU_TMP/contacts.csv" || fail "s1's contact 张伟 missing"
grep -q 王芳 "$KEHU_TMP/contacts.csv" && fail "s1 exported s2's contact"
grep -qF ",'=1+2," "$KEHU_TMP/contacts.csv" || fail "a contact's title '=1+2' is not prefixed"
expect_exit 0 kehu_as s1 --json export contacts
expect_eq "$C1 $C3" "$(out_jq '[.[].customer_id] | sort | join(" ")')" "customers of s1's contacts"
expect_exit 0 kehu_as s2 --json export contacts
expect_eq 王芳 "$(out_jq '[.[].name] | join(",")')" "s2's contacts"
expect_exit 0 kehu_as sv1 --json export contacts
expect_eq 3 "$(out_jq length)" "service exports every contact"
expect_exit 0 kehu_as sv1 export tickets
expect_exit 4 kehu_as sv1 export orders
expect_exit 4 kehu_as sv1 export contracts
expect_exit 4 kehu_as sv1 export customers
expect_exit 0 kehu_as s1 export orders -o "$KEHU_TMP/orders.csv"
grep -q ",9800.50," "$KEHU_TMP/orders.csv" || fail "an order's amount is not yuan: $(cat "$KEHU_TMP/orders.csv")"
expect_exit 0 kehu_as s1 export followups --format xlsx -o "$KEHU_TMP/fu.xlsx"
expect_exit 0 kehu_as s1 --json export orders --customer "$C1"
expect_eq 1 "$(out_jq length)" "orders of one customer"
expect_exit 2 kehu_as s1 export nonsense
expect_exit 2 kehu_as s1 export contacts --stage potential

# --- every export is audited with its row count ----------------------------------------
expect_exit 0 kehu_as admin --json audit --limit 500
out_jq '[.items[] | select(.action == "export" and .user == "s1")] | .[].details' >"$KEHU_TMP/exports"
grep -q '^4 customers' "$KEHU_TMP/exports" || fail "s1's customer export lacks its row count"
grep -q '^2 contacts' "$KEHU_TMP/exports" || fail "s1's contact export lacks its row count"
grep -q '^1 orders' "$KEHU_TMP/exports" || fail "s1's order export lacks its row count"
expect_eq true "$(out_jq 'any(.items[]; .action == "export" and .user == "sv1" and (.details | startswith("3 contacts")))')" \
  "service's contact export in the audit log"

kehu_check_server_log
