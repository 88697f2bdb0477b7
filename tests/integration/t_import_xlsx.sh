#!/usr/bin/env bash
# kehu import customers of an .xlsx that a real spreadsheet writer made
# (openpyxl, Debian's python3-openpyxl): table 1 of the guide, 100 rows,
# the dates real Excel date cells, 3 bad rows reported by line and column;
# the error workbook (--errors-out) read back with openpyxl: only the
# rejected rows, only the bad cells red, a reason column; the same from
# standard input (`import customers -`, a pipe); fixed with
# openpyxl and imported again it adds exactly the 3 rows; the original
# file again adds nothing; --dry-run writes nothing.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/lib_records.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_records.sh"

py=$(kehu_python_with openpyxl python3-openpyxl)

kehu_start_server
kehu_add_user s1 sales east

customer_count() {
  expect_exit 0 kehu_as admin --json report summary
  out_jq '[.rows[] | select(.key == "customers") | .count][0] // 0'
}

# --- table 1 of the guide as .xlsx: 100 rows, 3 bad ---------------------------
header='客户编号,客户名称(*),所属行业,企业规模(员工数),联系人(*),联系方式(虚拟),首次接触时间,跟进人(*),客户状态(潜在/成交/流失)'
book=$KEHU_TMP/table1.xlsx
"$py" - "$book" "$header" <<'PY' || fail "openpyxl could not write the workbook"
import datetime, sys
from openpyxl import Workbook

wb = Workbook()
ws = wb.active
ws.title = "客户"
ws.append(sys.argv[2].split(","))
stages = ["潜在", "成交", "流失"]
for i in range(1, 101):
    line = i + 1
    name = f"表格导入客户{i:03d}号"
    phone = int(f"138{i:08d}")          # typed into Excel: a number cell
    first = datetime.datetime(2024, 1, 1) + datetime.timedelta(days=i)
    if line == 11:
        phone = 1381234                  # 7 digits
    if line == 21:
        first = "2024-02-30"             # text, and no such day
    if line == 31:
        name = None                      # the required name left empty
    owner = "s1" if i % 2 else None
    ws.append([f"K{i:04d}", name, "制造", "100-500人", f"联系人{i}", phone, first, owner,
               stages[i % 3]])
    if isinstance(first, datetime.datetime):
        ws.cell(row=line, column=7).number_format = "yyyy-mm-dd"
wb.save(sys.argv[1])
PY
# openpyxl wrote what the test means: real date cells (a number with a date
# format), the one bad date as text.
"$py" - "$book" <<'PY' || fail "the workbook openpyxl wrote is not as intended"
import re, sys, zipfile
from openpyxl import load_workbook
ws = load_workbook(sys.argv[1]).active
assert ws.max_row == 101, ws.max_row
c = ws["G3"]
assert c.is_date and c.number_format == "yyyy-mm-dd", c.number_format
# in the file: a number (Excel's day count) and a style, no text
xml = zipfile.ZipFile(sys.argv[1]).read("xl/worksheets/sheet1.xml").decode()
cell = re.search(r'<c r="G3"[^>]*>.*?</c>', xml).group(0)
assert re.fullmatch(r'<c r="G3" s="\d+"( t="n")?><v>45294</v></c>', cell), cell
assert ws["G21"].data_type == "s" and ws["G21"].value == "2024-02-30", ws["G21"].value
assert ws["F11"].value == 1381234 and ws["B31"].value is None
PY

expect_exit 7 kehu_as admin --json import customers "$book"
expect_eq 97 "$(out_jq .accepted)" "accepted"
expect_eq 3 "$(out_jq .rejected)" "rejected"
expect_eq 0 "$(out_jq '.duplicates + .updated + .incomplete')" "duplicates, updated, incomplete"
expect_eq '11 联系方式(虚拟);21 首次接触时间;31 客户名称(*)' \
  "$(out_jq '[.errors[] | "\(.line) \(.column)"] | join(";")')" "the rows reported"
expect_match '1381234' "$(out_jq '.errors[0].reason')" "the phone's reason"
expect_match '2024-02-30' "$(out_jq '.errors[1].reason')" "the date's reason"
expect_eq 97 "$(customer_count)" "customers after the import"

# a good row: every field, the date read from a date cell, the contact
expect_exit 0 kehu_as admin --json customer search 表格导入客户002号
expect_eq 1 "$(out_jq '.items | length')" "customers named 表格导入客户002号"
id2=$(out_jq '.items[0].id')
expect_exit 0 kehu_as admin --json customer get "$id2"
expect_eq 表格导入客户002号 "$(out_jq .name)" "the name"
expect_eq K0002 "$(out_jq .external_code)" "the external code"
expect_eq 制造 "$(out_jq .industry)" "the industry"
expect_eq 100-500 "$(out_jq .size)" "the size band"
expect_eq 2024-01-03 "$(out_jq .first_contact_at)" "the first contact date (a date cell)"
expect_eq lost "$(out_jq .stage)" "the stage (流失)"
expect_eq admin "$(out_jq .owner)" "an empty 跟进人 is the importer"
expect_eq 1 "$(out_jq '.contacts | length')" "contacts"
expect_eq 联系人2 "$(out_jq '.contacts[0].name')" "the contact's name"
expect_eq 13800000002 "$(out_jq '.contacts[0].phones[0]')" "the contact's phone (a number cell)"
expect_exit 0 kehu_as admin --json customer search 表格导入客户001号
expect_eq 's1 2024-01-02 closed' "$(out_jq '.items[0] | "\(.owner) \(.first_contact_at) \(.stage)"')" \
  "owner, date and stage of 表格导入客户001号"

# --- the error workbook, read back with openpyxl --------------------------------
fix=$KEHU_TMP/fix.xlsx
expect_exit 7 kehu_as admin --json import customers "$book" --errors-out "$fix"
expect_eq '0 97 3' "$(out_jq '"\(.accepted) \(.duplicates) \(.rejected)"')" \
  "the second run (writing the error workbook)"
expect_match 'bad cells in red' "$ERR" "what stderr says of the workbook"
[[ -s "$fix" ]] || fail "--errors-out wrote no workbook"
cat >"$KEHU_TMP/check_fix.py" <<'PY'
import datetime, sys
from openpyxl import load_workbook

ws = load_workbook(sys.argv[1]).active
header = sys.argv[2].split(",")
rows = [[c.value for c in r] for r in ws.iter_rows()]
assert len(rows) == 4, f"{len(rows)} rows: {rows}"           # the header and 3 rejected rows
assert rows[0][:9] == header, rows[0]
assert len(rows[0]) == 10 and rows[0][9] and "原因" in rows[0][9], rows[0]
codes = [r[0] for r in rows[1:]]
assert codes == ["K0010", "K0020", "K0030"], codes             # lines 11, 21, 31 in order
# the cells as they were: the bad ones, and a good date cell still a date
assert str(rows[1][5]) == "1381234", rows[1][5]
assert rows[2][6] == "2024-02-30", rows[2][6]
assert rows[3][1] in (None, ""), rows[3][1]
assert ws["G2"].is_date and rows[1][6] == datetime.datetime(2024, 1, 11), (ws["G2"].number_format, rows[1][6])
for r in rows[1:]:
    assert r[9], f"no reason on {r}"
assert "1381234" in rows[1][9] and "2024-02-30" in rows[2][9], (rows[1][9], rows[2][9])

def red(c):
    f = c.fill
    return f is not None and f.fill_type == "solid" and str(f.fgColor.rgb).upper().endswith("FFC7CE")

reds = sorted(c.coordinate for r in ws.iter_rows() for c in r if red(c))
assert reds == ["B4", "F2", "G3"], reds                        # each bad cell, and no other
PY
"$py" "$KEHU_TMP/check_fix.py" "$fix" "$header" || fail "the error workbook is not as expected"

# --- the same workbook from standard input: an .xlsx told by its first bytes,
# the error workbook written from the copy the client kept of what it read
expect_exit 7 kehu_as admin --json import customers - --errors-out "$KEHU_TMP/fix-stdin.xlsx" \
  < <(cat "$book")    # a pipe: no name, no size
expect_eq '0 97 3' "$(out_jq '"\(.accepted) \(.duplicates) \(.rejected)"')" "the workbook from a pipe"
expect_eq '11 联系方式(虚拟);21 首次接触时间;31 客户名称(*)' \
  "$(out_jq '[.errors[] | "\(.line) \(.column)"] | join(";")')" "the rows reported from a pipe"
"$py" "$KEHU_TMP/check_fix.py" "$KEHU_TMP/fix-stdin.xlsx" "$header" ||
  fail "the error workbook of an import from a pipe is not as expected"

# --- fixed with openpyxl, imported again -------------------------------------------
"$py" - "$fix" <<'PY' || fail "openpyxl could not fix the error workbook"
import datetime, sys
from openpyxl import load_workbook
wb = load_workbook(sys.argv[1])
ws = wb.active
ws["F2"] = 13800000010
ws["G3"] = datetime.datetime(2024, 1, 21)
ws["G3"].number_format = "yyyy-mm-dd"
ws["B4"] = "表格导入客户030号"
wb.save(sys.argv[1])
PY
expect_exit 0 kehu_as admin import customers "$fix"
expect_match '^3 accepted, 0 updated, 0 duplicates, 0 incomplete, 0 rejected' "$OUT" \
  "the fixed workbook's report"
expect_match 'columns ignored: 错误原因 \(reason\)' "$OUT" "the reason column, ignored"
expect_eq 100 "$(customer_count)" "customers after importing the fixed rows"
expect_exit 0 kehu_as admin --json customer search 表格导入客户010号
expect_exit 0 kehu_as admin --json customer get "$(out_jq '.items[0].id')"
expect_eq 'K0010 13800000010 2024-01-11' \
  "$(out_jq '"\(.external_code) \(.contacts[0].phones[0]) \(.first_contact_at)"')" \
  "the row whose phone was fixed"
expect_exit 0 kehu_as admin --json customer search 表格导入客户020号
expect_eq 'K0020 2024-01-21' "$(out_jq '.items[0] | "\(.external_code) \(.first_contact_at)"')" \
  "the row whose date was fixed"
expect_exit 0 kehu_as admin --json customer search 表格导入客户030号
expect_exit 0 kehu_as admin --json customer get "$(out_jq '.items[0].id')"
expect_eq 'K0030 联系人30' "$(out_jq '"\(.external_code) \(.contacts[0].name)"')" \
  "the row whose name was filled"

# --- the original file again: nothing new -----------------------------------------
expect_exit 7 kehu_as admin --json import customers "$book"
expect_eq '0 0 97 3' "$(out_jq '"\(.accepted) \(.updated) \(.duplicates) \(.rejected)"')" \
  "accepted, updated, duplicates, rejected of the original file again"
expect_eq 100 "$(customer_count)" "customers after the original file again"

# --- --dry-run writes nothing ---------------------------------------------------------
dry=$KEHU_TMP/dry.xlsx
"$py" - "$dry" <<'PY' || fail "openpyxl could not write the dry-run workbook"
import datetime, sys
from openpyxl import Workbook
wb = Workbook()
ws = wb.active
ws.append(["客户名称(*)", "联系人(*)", "联系方式(虚拟)", "首次接触时间"])
for i in range(1, 6):
    ws.append([f"预演表格客户{i}", f"预演联系人{i}", f"1390000000{i}", datetime.date(2024, 3, i)])
    ws.cell(row=i + 1, column=4).number_format = "yyyy-mm-dd"
wb.save(sys.argv[1])
PY
expect_exit 0 kehu_as admin import customers "$dry" --dry-run
expect_match '^dry run, nothing written: 5 accepted' "$OUT" "the dry run's report"
expect_eq 100 "$(customer_count)" "customers after a dry run"
expect_exit 0 kehu_as admin --json customer search 预演表格客户1
expect_eq 0 "$(out_jq '.items | length')" "a dry run's customer found"
expect_exit 0 kehu_as admin --json import customers "$dry"
expect_eq 5 "$(out_jq .accepted)" "the same file without --dry-run"
expect_eq 105 "$(customer_count)" "customers after the real run"

expect_server_alive
kehu_stop_server
