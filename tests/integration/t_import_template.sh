#!/usr/bin/env bash
# `kehu import template` (docs/architecture.md#import): the customer import
# template without a server: sheet 1 客户 holds the guide's headers in order
# (bold, the header row frozen) and an example row, sheet 2 可选值 the four
# stages; the stage column offers them as a list; every cell is text, never
# a formula; an existing file is not replaced (exit 6). That the headers map
# as an import header is checked by tests/unit/test_import_template.c.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v python3 >/dev/null || fail "python3 is required for this test"
cd "$KEHU_TMP"

expect_exit 0 kehu import template -o t.xlsx
expect_match 't\.xlsx' "$OUT" "stdout"
python3 - t.xlsx <<'PY' || fail "the template is not as expected"
import re, sys, zipfile
import xml.etree.ElementTree as ET

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
z = zipfile.ZipFile(sys.argv[1])
shared = [
    "".join(t.text or "" for t in si.iter("{%s}t" % NS["m"]))
    for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS)
]
book = ET.fromstring(z.read("xl/workbook.xml"))
names = [s.get("name") for s in book.find("m:sheets", NS)]
assert names == ["客户", "可选值"], names

def cells(part):
    root = ET.fromstring(z.read(part))
    out = {}
    for c in root.iter("{%s}c" % NS["m"]):
        assert c.find("m:f", NS) is None, "formula in " + c.get("r")
        assert c.get("t") == "s", "not a string cell: " + c.get("r")
        out[c.get("r")] = shared[int(c.find("m:v", NS).text)]
    return root, out

def col(n):
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s

want = ["客户编号", "客户名称(*)", "所属行业", "企业规模(员工数)", "联系人(*)", "联系方式(虚拟)",
        "首次接触时间", "跟进人(*)", "客户状态(潜在/成交/流失)", "客户来源", "企业地址",
        "所在地区", "职务", "邮箱", "标签", "备注", "客户简称", "客户类型(企业/个人)"]
root, s1 = cells("xl/worksheets/sheet1.xml")
got = [s1.get(col(i) + "1") for i in range(len(want))]
assert got == want, got
assert col(len(want)) + "1" not in s1, "a column after 客户类型"
assert s1["B2"] == "杭州青禾食品有限公司" and s1["I2"] == "潜在", (s1["B2"], s1["I2"])
assert not any(k.endswith("3") and k[:-1].isalpha() for k in s1), "more than one example row"
pane = root.find(".//m:pane", NS)
assert pane is not None and pane.get("ySplit") == "1" and pane.get("state") == "frozen"
dv = root.find(".//m:dataValidation", NS)
assert dv is not None and dv.get("type") == "list" and dv.get("sqref").startswith("I2:I"), dv
assert dv.find("m:formula1", NS).text == '"潜在,意向,成交,流失"', dv.find("m:formula1", NS).text

_, s2 = cells("xl/worksheets/sheet2.xml")
assert s2["A1"].startswith("客户状态"), s2["A1"]
assert [s2["A%d" % i] for i in range(2, 6)] == ["潜在", "意向", "成交", "流失"]
sizes = [s2.get("B%d" % i) for i in range(2, 7)]
assert sizes == ["1-50", "50-100", "100-500", "500-1000", "1000+"], sizes
dates = [s2.get("C%d" % i) for i in range(2, 5)]
assert dates == ["2024-01-15", "2024/1/15", "2024年1月15日"], dates

# The header row is bold.
styles = ET.fromstring(z.read("xl/styles.xml"))
fonts = styles.find("m:fonts", NS).findall("m:font", NS)
xfs = styles.find("m:cellXfs", NS).findall("m:xf", NS)
for c in root.iter("{%s}c" % NS["m"]):
    bold = fonts[int(xfs[int(c.get("s", "0"))].get("fontId"))].find("m:b", NS) is not None
    assert bold == c.get("r").endswith("1") and c.get("r")[-2].isalpha(), c.get("r")
PY

# Never replaced: exit 6, the file as it was.
sum=$(sha256sum t.xlsx)
expect_exit 6 kehu import template -o t.xlsx
expect_match 'exists' "$ERR" "stderr"
expect_eq "$sum" "$(sha256sum t.xlsx)" "t.xlsx after a refused write"

# The default name, and --json.
expect_exit 0 kehu --json import template
expect_eq "客户导入模板.xlsx" "$(out_jq .path)" "path"
[[ -s 客户导入模板.xlsx ]] || fail "客户导入模板.xlsx was not written"
expect_exit 6 kehu import template
[[ -z "$(ls ./*.tmp 2>/dev/null)" ]] || fail "temporary files left: $(ls ./*.tmp)"
