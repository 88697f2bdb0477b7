#!/usr/bin/env bash
# kehu import customers (docs/architecture.md#import): the import template
# as a GBK CSV with CRLF, 100 rows of which 3 are bad, reported by line and
# column; a re-import creates nothing twice; --dry-run writes nothing; an
# .xlsx with shared strings and a date cell; --on-duplicate update; owners
# as customer add checks them; refusals and files that are not tables.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

kehu_start_server
kehu_add_user s1 sales east
kehu_add_user s2 sales west
kehu_add_user sv1 service

customer_count() {
  expect_exit 0 kehu_as admin --json customer list --limit 500
  out_jq '.items | length'
}

# --- table 1 of the guide: GBK, CRLF, 100 rows, 3 bad --------------------------
header='客户编号,客户名称(*),所属行业,企业规模(员工数),联系人(*),联系方式(虚拟),首次接触时间,跟进人(*),客户状态(潜在/成交/流失)'
python3 - "$header" >"$KEHU_TMP/table1.utf8" <<'PY'
import sys
print(sys.argv[1])
stages = ["潜在", "成交", "流失"]
for i in range(1, 101):
    line = i + 1
    name = f"导入测试客户{i:03d}号"
    phone = f"138{i:08d}"
    date = "2024/1/15"
    if line == 11:
        phone = "1381234"
    if line == 21:
        date = "2024-02-30"
    if line == 31:
        name = ""
    owner = "s1" if i % 2 else ""
    print(f"K{i:04d},{name},制造,100-500人,联系人{i},{phone},{date},{owner},{stages[i % 3]}")
PY
iconv -f UTF-8 -t GBK "$KEHU_TMP/table1.utf8" | sed 's/$/\r/' >"$KEHU_TMP/table1.csv"
grep -q $'\r$' "$KEHU_TMP/table1.csv" || fail "the CSV has no CRLF"

expect_exit 7 kehu_as admin --json import customers "$KEHU_TMP/table1.csv"
expect_eq 97 "$(out_jq .accepted)" "accepted"
expect_eq 3 "$(out_jq .rejected)" "rejected"
expect_eq '11 联系方式(虚拟);21 首次接触时间;31 客户名称(*)' \
  "$(out_jq '[.errors[] | "\(.line) \(.column)"] | join(";")')" "the rows reported"
expect_eq 'accepted,updated,duplicates,incomplete,rejected,errors' \
  "$(out_jq 'keys_unsorted | join(",")')" "the report's keys"
expect_eq 97 "$(customer_count)" "customers after the import"

expect_exit 0 kehu_as admin --json customer search 导入测试客户002号
id=$(out_jq '.items[0].id')
expect_exit 0 kehu_as admin --json customer get "$id"
expect_eq 13800000002 "$(out_jq '.contacts[0].phones[0]')" "the contact's phone"
expect_eq 联系人2 "$(out_jq '.contacts[0].name')" "the contact's name"
expect_eq K0002 "$(out_jq .external_code)" "the external code"
expect_eq 100-500 "$(out_jq .size)" "the size band"
expect_eq 2024-01-15 "$(out_jq .first_contact_at)" "the first contact date"
expect_eq lost "$(out_jq .stage)" "the stage"
expect_eq admin "$(out_jq .owner)" "an empty owner is the importer"
expect_exit 0 kehu_as admin --json customer search 导入测试客户001号
expect_eq s1 "$(out_jq '.items[0].owner')" "the owner given"

# human output: the counts and a table of errors
expect_exit 7 kehu_as admin import customers "$KEHU_TMP/table1.csv"
expect_match '0 accepted, 0 updated, 97 duplicates, 0 incomplete, 3 rejected' "$OUT" "the re-import"
expect_match '21 +首次接触时间' "$OUT" "the error table"
expect_eq 97 "$(customer_count)" "customers after a re-import"

# --- --dry-run writes nothing --------------------------------------------------
printf '客户名称,联系人,联系方式\n预演客户甲,王一,13911112222\n预演客户乙,王二,13911113333\n' \
  >"$KEHU_TMP/dry.csv"
expect_exit 0 kehu_as admin --json import customers "$KEHU_TMP/dry.csv" --dry-run
expect_eq 2 "$(out_jq .accepted)" "rows a dry run would add"
expect_eq 97 "$(customer_count)" "customers after a dry run"
# a dry run counts what the import would: table 1 again is all duplicates
expect_exit 7 kehu_as admin --json import customers "$KEHU_TMP/table1.csv" --dry-run
expect_eq '0 97 3' "$(out_jq '"\(.accepted) \(.duplicates) \(.rejected)"')" \
  "a dry run of a file already imported"
expect_exit 0 kehu_as admin --json audit --limit 500
expect_eq 2 "$(out_jq '[.items[] | select(.action == "import")] | length')" \
  "import audit entries after two dry runs (the two real imports')"

# --- .xlsx: shared strings, a date cell ----------------------------------------
python3 - "$KEHU_TMP/book.xlsx" <<'PY'
import sys, zipfile
ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
parts = {
 "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
 "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
 "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} {rel}><sheets><sheet name="客户" sheetId="1" r:id="rId1"/></sheets></workbook>',
 "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>',
 "xl/sharedStrings.xml": f'<?xml version="1.0" encoding="UTF-8"?><sst {ns} count="5" uniqueCount="5"><si><t>客户名称</t></si><si><t>联系人</t></si><si><t>首次接触时间</t></si><si><t>表格客户丙</t></si><si><r><t>赵</t></r><r><t>六</t></r></si></sst>',
 "xl/styles.xml": f'<?xml version="1.0" encoding="UTF-8"?><styleSheet {ns}><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>',
 "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row><row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c><c r="C2" s="1"><v>45306</v></c></row></sheetData></worksheet>',
}
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name, text in parts.items():
        z.writestr(name, text)
PY
expect_exit 0 kehu_as admin --json import customers "$KEHU_TMP/book.xlsx"
expect_eq 1 "$(out_jq .accepted)" "rows of the .xlsx"
expect_exit 0 kehu_as admin --json customer search 表格客户丙
expect_eq 2024-01-15 "$(out_jq '.items[0].first_contact_at')" "the .xlsx date cell"
expect_exit 0 kehu_as admin --json customer get "$(out_jq '.items[0].id')"
expect_eq 赵六 "$(out_jq '.contacts[0].name')" "the .xlsx contact (rich text)"

# --- --on-duplicate update | error ----------------------------------------------
printf '客户编号,客户名称,所属行业\nK0002,导入测试客户002号,软件\n' >"$KEHU_TMP/update.csv"
expect_exit 7 kehu_as admin --json import customers "$KEHU_TMP/update.csv" --on-duplicate error
expect_match 'duplicates customer C' "$(out_jq '.errors[0].reason')" "the duplicate named"
expect_exit 0 kehu_as admin --json import customers "$KEHU_TMP/update.csv" --on-duplicate update
expect_eq 1 "$(out_jq .updated)" "rows updated"
expect_exit 0 kehu_as admin --json customer get "$id"
expect_eq 软件 "$(out_jq .industry)" "the field an update changed"
expect_eq 2 "$(out_jq .version)" "the version after the update"
expect_exit 2 kehu_as admin import customers "$KEHU_TMP/update.csv" --on-duplicate merge

# --- owners as customer add: sales import their own; service is refused --------
printf '客户名称,跟进人\n销售自己的客户,\n别人的客户,s2\n' >"$KEHU_TMP/sales.csv"
expect_exit 7 kehu_as s1 --json import customers "$KEHU_TMP/sales.csv"
expect_eq 1 "$(out_jq .accepted)" "rows a sales user may import"
expect_eq '3 跟进人' "$(out_jq '.errors[0] | "\(.line) \(.column)"')" "the owner refused"
expect_exit 0 kehu_as s1 --json customer search 销售自己的客户
expect_eq s1 "$(out_jq '.items[0].owner')" "a sales user's import is their own"
expect_exit 4 kehu_as sv1 import customers "$KEHU_TMP/sales.csv"

# --- files that are not an import ----------------------------------------------
printf '公司,电话\n甲,13800000000\n' >"$KEHU_TMP/noname.csv"
expect_exit 7 kehu_as admin import customers "$KEHU_TMP/noname.csv"
expect_match "no column for the customer's name" "$ERR" "the missing name column"
head -c 20000 "$KEHU_BUILD/kehu" >"$KEHU_TMP/binary.csv"
expect_exit 7 kehu_as admin import customers "$KEHU_TMP/binary.csv"
printf 'PK\003\004not a zip at all' >"$KEHU_TMP/fake.xlsx"
expect_exit 7 kehu_as admin import customers "$KEHU_TMP/fake.xlsx"
expect_exit 2 kehu_as admin import customers

# --- the rejected rows as a workbook to fix: bad cells red ----------------------
expect_exit 7 kehu_as admin --json import customers "$KEHU_TMP/table1.csv" \
  --errors-out "$KEHU_TMP/fix.xlsx"
[[ -s "$KEHU_TMP/fix.xlsx" ]] || fail "--errors-out wrote no workbook"
python3 - "$KEHU_TMP/fix.xlsx" <<'PY' || fail "the error workbook is not as expected"
import re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
sheet = z.read('xl/worksheets/sheet1.xml').decode()
styles = z.read('xl/styles.xml').decode()
rows = re.findall(r'<row [^>]*r="(\d+)"', sheet)
assert len(rows) == 4, rows                       # the header and the 3 rejected rows
assert '<f>' not in sheet
fills = re.findall(r'<fill>(.*?)</fill>', styles, re.S)
red = [i for i, f in enumerate(fills) if 'FFC7CE' in f.upper()]
assert red, 'no red fill'
xfs = re.findall(r'<xf [^>]*>', styles.split('<cellXfs')[1])
red_xf = {i for i, x in enumerate(xfs) if re.search(r'fillId="(\d+)"', x) and int(re.search(r'fillId="(\d+)"', x).group(1)) in red}
red_cells = [c for c, s in re.findall(r'<c r="([A-Z]+\d+)"[^>]*s="(\d+)"', sheet) if int(s) in red_xf]
assert len(red_cells) == 3, red_cells             # one bad cell on each rejected row
PY

# --- an export imports as it was: the quote before a formula-like start goes ----
expect_exit 0 kehu_as admin --json customer add --name '=HYPERLINK("http://x","y")' --region '-上海' \
  --force
expect_exit 0 kehu_as admin export customers --format csv -o "$KEHU_TMP/all.csv"
grep -q "'=HYPERLINK" "$KEHU_TMP/all.csv" || fail "the export did not neutralise the formula"
expect_exit 0 kehu_as admin customer purge "$(kehu_as admin --json customer search HYPERLINK | jq -r '.items[0].id')"
expect_exit 0 kehu_as admin --json import customers "$KEHU_TMP/all.csv"
expect_exit 0 kehu_as admin --json customer search HYPERLINK
expect_eq '=HYPERLINK("http://x","y") -上海' "$(out_jq '.items[0] | "\(.name) \(.region)"')" \
  "a neutralised cell re-imported"

# --- the audit log: one entry per import with its counts -----------------------
expect_exit 0 kehu_as admin --json audit --limit 200
expect_eq 1 "$(out_jq '[.items[] | select(.action == "import" and (.details | test("97 accepted")))] | length')" \
  "the first import's audit entry"

expect_server_alive
