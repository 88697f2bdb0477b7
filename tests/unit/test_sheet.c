/* common/sheet.c and sheet_xlsx.c (docs/architecture.md#import): CSV in
 * UTF-8 with and without BOM and in GBK (CRLF, quoted newlines and
 * commas), fed whole and byte by byte; line numbers of rows and of errors; an .xlsx built here
 * with libzip (shared strings with rich text, inline strings, a numeric
 * date, gaps, the sheet found through the workbook's relationships); a
 * zip bomb and other broken workbooks refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "sheet.h"

/* ---- collecting rows as "line:cell|cell|...", a date cell marked '*' ---- */

typedef struct {
  size_t n;
  char rows[16][512];
  int stop_at; /* line at which the callback refuses, 0 never */
} got;

static int collect(void *ctx, const kehu_sheet_row *row, kehu_error *err)
{
  got *g = ctx;
  if (g->stop_at && (size_t)g->stop_at == row->line)
    return kehu_fail(err, KEHU_INVALID, "name", "line %zu: refused", row->line);
  assert_true(g->n < 16);
  char *o = g->rows[g->n++];
  int k = snprintf(o, 512, "%zu:", row->line);
  for (size_t i = 0; i < row->n; i++)
    k += snprintf(o + k, 512 - (size_t)k, "%s%s%s", i ? "|" : "", row->cells[i],
                  row->dates && row->dates[i] ? "*" : ""); /* '*': styled as a date */
  return KEHU_OK;
}

/* The GBK bytes of a UTF-8 string (the encoding of Excel's CSV in China). */
static size_t to_gbk(const char *utf8, char *out, size_t cap)
{
  iconv_t cd = iconv_open("GBK", "UTF-8");
  assert_true(cd != (iconv_t)-1);
  char *in = (char *)utf8, *o = out;
  size_t left = strlen(utf8), room = cap;
  assert_int_equal(iconv(cd, &in, &left, &o, &room), 0);
  iconv_close(cd);
  return cap - room;
}

static int read_csv(const char *data, size_t len, kehu_encoding enc, got *g, kehu_error *err)
{
  memset(g->rows, 0, sizeof g->rows);
  g->n = 0;
  kehu_error_clear(err);
  return kehu_csv_read(data, len, enc, collect, g, err);
}

/* ---- CSV ---- */

static void test_csv_utf8(void **state)
{
  (void)state;
  const char *csv = "name,notes\n杭州青禾,\"a, b\"\n\n\"多\n行\",x\n上海,\"说 \"\"好\"\"\"";
  got g = {0};
  kehu_error err;
  assert_int_equal(read_csv(csv, strlen(csv), KEHU_ENC_AUTO, &g, &err), KEHU_OK);
  assert_int_equal(g.n, 4);
  assert_string_equal(g.rows[0], "1:name|notes");
  assert_string_equal(g.rows[1], "2:杭州青禾|a, b");
  assert_string_equal(g.rows[2], "4:多\n行|x");        /* blank line 3 counted, row by its start */
  assert_string_equal(g.rows[3], "6:上海|说 \"好\""); /* no final newline */
}

static void test_csv_utf8_bom(void **state)
{
  (void)state;
  const char *csv = "\xEF\xBB\xBF客户名称,备注\r\n杭州,好\r\n";
  got g = {0};
  kehu_error err;
  kehu_csv *r = kehu_csv_new(KEHU_ENC_AUTO, collect, &g);
  for (size_t i = 0; i < strlen(csv); i++) /* the BOM split over pieces too */
    assert_int_equal(kehu_csv_feed(r, csv + i, 1, &err), KEHU_OK);
  assert_int_equal(kehu_csv_finish(r, &err), KEHU_OK);
  assert_int_equal(kehu_csv_encoding(r), KEHU_ENC_UTF8);
  kehu_csv_free(r);
  assert_int_equal(g.n, 2);
  assert_string_equal(g.rows[0], "1:客户名称|备注");
  assert_string_equal(g.rows[1], "2:杭州|好");
}

static const char *gbk_text = "客户名称,备注,标签\r\n"
                              "杭州青禾食品,\"第一行\r\n第二行, 有逗号\",华东\r\n"
                              "上海,普通,\r\n";

static void check_gbk_rows(const got *g)
{
  assert_int_equal(g->n, 3);
  assert_string_equal(g->rows[0], "1:客户名称|备注|标签");
  assert_string_equal(g->rows[1], "2:杭州青禾食品|第一行\r\n第二行, 有逗号|华东");
  assert_string_equal(g->rows[2], "4:上海|普通|");
}

static void test_csv_gbk(void **state)
{
  (void)state;
  char gbk[512];
  size_t n = to_gbk(gbk_text, gbk, sizeof gbk);
  got g = {0};
  kehu_error err;
  assert_int_equal(read_csv(gbk, n, KEHU_ENC_AUTO, &g, &err), KEHU_OK);
  check_gbk_rows(&g);
  assert_int_equal(read_csv(gbk, n, KEHU_ENC_GBK, &g, &err), KEHU_OK);
  check_gbk_rows(&g);

  /* streamed byte by byte: characters split between pieces */
  memset(&g, 0, sizeof g);
  kehu_csv *r = kehu_csv_new(KEHU_ENC_AUTO, collect, &g);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(kehu_csv_feed(r, gbk + i, 1, &err), KEHU_OK);
  assert_int_equal(kehu_csv_finish(r, &err), KEHU_OK);
  assert_int_equal(kehu_csv_encoding(r), KEHU_ENC_GBK);
  kehu_csv_free(r);
  check_gbk_rows(&g);
}

static void test_csv_undecodable(void **state)
{
  (void)state;
  char buf[512];
  size_t n = to_gbk("name,notes\r\nabc,def\r\n杭州,x\r\n", buf, sizeof buf);
  got g = {0};
  kehu_error err;
  /* GBK bytes read as UTF-8: the line of the first bad byte */
  assert_int_equal(read_csv(buf, n, KEHU_ENC_UTF8, &g, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 3"));
  assert_non_null(strstr(err.message, "UTF-8"));
  assert_int_equal(g.n, 2);

  /* neither UTF-8 nor GB18030: 0x81 0x20 is no character */
  const char *bad = "name\r\nok\r\n\x81 x\r\n";
  assert_int_equal(read_csv(bad, strlen(bad), KEHU_ENC_AUTO, &g, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 3"));
  assert_non_null(strstr(err.message, "GBK"));

  /* a file cut inside a character */
  assert_int_equal(read_csv("name\n\xE6\x9D", 7, KEHU_ENC_UTF8, &g, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 2"));
}

static void test_csv_errors(void **state)
{
  (void)state;
  got g = {0};
  kehu_error err;
  const char *open_quote = "name\nok\n\"never closed\nmore\n";
  assert_int_equal(read_csv(open_quote, strlen(open_quote), KEHU_ENC_AUTO, &g, &err),
                   KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 3"));
  assert_non_null(strstr(err.message, "quote"));

  const char *stray = "name\nab\"c\n";
  assert_int_equal(read_csv(stray, strlen(stray), KEHU_ENC_AUTO, &g, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 2"));

  /* the callback's refusal stops the reader and comes back as it was */
  g.stop_at = 2;
  const char *csv = "name\na\nb\n";
  assert_int_equal(read_csv(csv, strlen(csv), KEHU_ENC_AUTO, &g, &err), KEHU_INVALID);
  assert_string_equal(err.message, "line 2: refused");
  assert_int_equal(g.n, 1);
  g.stop_at = 0;

  /* too many columns */
  char *wide = malloc(3 * (KEHU_SHEET_MAX_COLS + 1) + 2);
  size_t k = 0;
  for (unsigned i = 0; i <= KEHU_SHEET_MAX_COLS; i++)
    k += (size_t)sprintf(wide + k, "a,");
  wide[k - 1] = '\n';
  assert_int_equal(read_csv(wide, k, KEHU_ENC_AUTO, &g, &err), KEHU_EXHAUSTED);
  assert_non_null(strstr(err.message, "line 1"));
  free(wide);

  kehu_encoding e;
  assert_int_equal(kehu_encoding_parse("GBK", &e), 0);
  assert_int_equal(e, KEHU_ENC_GBK);
  assert_int_equal(kehu_encoding_parse("utf-8", &e), 0);
  assert_int_equal(e, KEHU_ENC_UTF8);
  assert_int_equal(kehu_encoding_parse("latin1", &e), -1);
}

/* Many rows fed in pieces: rows come out as the bytes arrive, the memory
 * held is one row's. */
typedef struct {
  size_t rows, last_line;
} counted;

static int count_rows(void *ctx, const kehu_sheet_row *row, kehu_error *err)
{
  (void)err;
  counted *c = ctx;
  c->rows++;
  c->last_line = row->line;
  assert_int_equal(row->n, 3);
  return KEHU_OK;
}

static void test_csv_streamed(void **state)
{
  (void)state;
  enum { ROWS = 200000 };
  counted c = {0};
  kehu_error err;
  kehu_csv *r = kehu_csv_new(KEHU_ENC_AUTO, count_rows, &c);
  assert_int_equal(kehu_csv_feed(r, "客户名称,备注,标签\r\n", strlen("客户名称,备注,标签\r\n"), &err),
                   KEHU_OK);
  char piece[8192];
  size_t n = 0;
  for (int i = 1; i < ROWS; i++) {
    n += (size_t)snprintf(piece + n, sizeof piece - n, "公司%d,\"备注 %d\",华东\r\n", i, i);
    if (n > sizeof piece - 64 || i == ROWS - 1) {
      assert_int_equal(kehu_csv_feed(r, piece, n, &err), KEHU_OK);
      n = 0;
    }
  }
  assert_int_equal(kehu_csv_finish(r, &err), KEHU_OK);
  kehu_csv_free(r);
  assert_int_equal(c.rows, ROWS);
  assert_int_equal(c.last_line, ROWS);
}

/* ---- .xlsx built here ---- */

typedef struct {
  const char *name;
  const char *data;
  size_t len; /* 0: strlen(data) */
} part;

static char *make_zip(const part *parts, size_t n, size_t *len)
{
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
  assert_non_null(src);
  zip_source_keep(src);
  zip_t *z = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
  assert_non_null(z);
  for (size_t i = 0; i < n; i++) {
    size_t l = parts[i].len ? parts[i].len : strlen(parts[i].data);
    zip_source_t *s = zip_source_buffer(z, parts[i].data, l, 0);
    assert_true(zip_file_add(z, parts[i].name, s, ZIP_FL_ENC_UTF_8) >= 0);
  }
  assert_int_equal(zip_close(z), 0);
  zip_stat_t st;
  assert_int_equal(zip_source_stat(src, &st), 0);
  char *out = malloc(st.size);
  assert_int_equal(zip_source_open(src), 0);
  assert_int_equal(zip_source_read(src, out, st.size), (zip_int64_t)st.size);
  zip_source_close(src);
  zip_source_free(src);
  zip_error_fini(&ze);
  *len = st.size;
  return out;
}

#define NS "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\""
#define RNS "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\""

static const char *content_types =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
    "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
    "<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/"
    "vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/></Types>";
static const char *workbook =
    "<?xml version=\"1.0\"?><workbook " NS " " RNS "><sheets>"
    "<sheet name=\"客户\" sheetId=\"1\" r:id=\"rId7\"/>"
    "<sheet name=\"其他\" sheetId=\"2\" r:id=\"rId8\"/></sheets></workbook>";
static const char *workbook_rels =
    "<?xml version=\"1.0\"?><Relationships "
    "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId8\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId7\" Target=\"worksheets/customers.xml\"/></Relationships>";
static const char *shared =
    "<?xml version=\"1.0\"?><sst " NS " count=\"4\" uniqueCount=\"4\">"
    "<si><t>客户名称(*)</t></si>"
    "<si><t>首次接触时间</t></si>"
    "<si><r><rPr><b/></rPr><t>杭州青禾</t></r><r><t xml:space=\"preserve\"> 食品</t></r>"
    "<rPh sb=\"0\" eb=\"1\"><t>ハンシュウ</t></rPh></si>"
    "<si><t>标签</t></si></sst>";
/* cellXfs: 0 general, 1 built-in date 14, 2 a custom date, 3 a custom number;
 * the xf of cellStyleXfs does not count */
static const char *styles =
    "<?xml version=\"1.0\"?><styleSheet " NS "><numFmts count=\"2\">"
    "<numFmt numFmtId=\"164\" formatCode=\"yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;\"/>"
    "<numFmt numFmtId=\"165\" formatCode=\"&quot;day&quot;0.00\"/></numFmts>"
    "<cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs>"
    "<cellXfs count=\"4\"><xf numFmtId=\"0\"/><xf numFmtId=\"14\" applyNumberFormat=\"1\"/>"
    "<xf numFmtId=\"164\"/><xf numFmtId=\"165\"/></cellXfs></styleSheet>";
static const char *customers =
    "<?xml version=\"1.0\"?><worksheet " NS "><sheetData>"
    "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
    "<c r=\"D1\" t=\"s\"><v>3</v></c></row>"
    "<row r=\"2\"><c r=\"A2\" s=\"3\"/></row>" /* styled but empty: not delivered */
    "<row r=\"3\"><c r=\"A3\" t=\"s\"><v>2</v></c><c r=\"B3\" s=\"1\"><v>45306</v></c>"
    "<c r=\"D3\" t=\"inlineStr\"><is><t>华东、重点</t></is></c></row>"
    "<row r=\"4\"><c r=\"A4\" s=\"2\"><v>45307</v></c><c r=\"B4\" s=\"3\"><v>2</v></c>"
    "<c r=\"C4\"><v>3.5</v></c><c r=\"D4\" t=\"s\" s=\"1\"><v>3</v></c></row>"
    "</sheetData></worksheet>";
static const char *other_sheet = "<worksheet " NS "><sheetData><row r=\"1\"><c t=\"inlineStr\">"
                                 "<is><t>wrong sheet</t></is></c></row></sheetData></worksheet>";

static int read_xlsx(const part *parts, size_t n, size_t limit, got *g, kehu_error *err)
{
  size_t len;
  char *zip = make_zip(parts, n, &len);
  memset(g, 0, sizeof *g);
  kehu_error_clear(err);
  int rc = limit ? kehu_xlsx_read_limit(zip, len, limit, collect, g, err)
                 : kehu_xlsx_read(zip, len, collect, g, err);
  free(zip);
  return rc;
}

static void test_xlsx(void **state)
{
  (void)state;
  part parts[] = {
      {"[Content_Types].xml", content_types, 0}, {"xl/workbook.xml", workbook, 0},
      {"xl/_rels/workbook.xml.rels", workbook_rels, 0}, {"xl/sharedStrings.xml", shared, 0},
      {"xl/worksheets/customers.xml", customers, 0}, {"xl/worksheets/sheet1.xml", other_sheet, 0},
      {"xl/styles.xml", styles, 0},
  };
  got g;
  kehu_error err;
  assert_int_equal(read_xlsx(parts, 7, 0, &g, &err), KEHU_OK);
  assert_int_equal(g.n, 3);
  assert_string_equal(g.rows[0], "1:客户名称(*)|首次接触时间||标签");
  assert_string_equal(g.rows[1], "3:杭州青禾 食品|45306*||华东、重点");
  assert_string_equal(g.rows[2], "4:45307*|2|3.5|标签"); /* a string styled as a date is text */

  /* without xl/styles.xml nothing is a date */
  assert_int_equal(read_xlsx(parts, 6, 0, &g, &err), KEHU_OK);
  assert_string_equal(g.rows[1], "3:杭州青禾 食品|45306||华东、重点");

  /* no workbook: the fallback xl/worksheets/sheet1.xml */
  part fallback[] = {{"xl/worksheets/sheet1.xml", other_sheet, 0}};
  assert_int_equal(read_xlsx(fallback, 1, 0, &g, &err), KEHU_OK);
  assert_int_equal(g.n, 1);
  assert_string_equal(g.rows[0], "1:wrong sheet");
}

static void test_xlsx_refused(void **state)
{
  (void)state;
  got g;
  kehu_error err;
  /* a sheet that inflates beyond the cap: 4 MiB of spaces, a few KiB zipped */
  size_t big = 4u << 20;
  char *bomb = malloc(big);
  memset(bomb, ' ', big);
  memcpy(bomb, "<worksheet>", 11);
  part parts[] = {{"xl/worksheets/sheet1.xml", bomb, big}};
  assert_int_equal(read_xlsx(parts, 1, 1u << 20, &g, &err), KEHU_EXHAUSTED);
  assert_non_null(strstr(err.message, "unpacks to more than 1048576 bytes"));
  free(bomb);

  assert_int_equal(kehu_xlsx_read("not a zip", 9, collect, &g, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "not an .xlsx"));

  part broken[] = {{"xl/worksheets/sheet1.xml", "<worksheet><sheetData><row>", 0}};
  assert_int_equal(read_xlsx(broken, 1, 0, &g, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "broken XML"));

  part none[] = {{"word/document.xml", "<document/>", 0}};
  assert_int_equal(read_xlsx(none, 1, 0, &g, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "no sheet"));

  part dtd[] = {{"xl/worksheets/sheet1.xml",
                 "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><worksheet>&a;</worksheet>", 0}};
  assert_int_equal(read_xlsx(dtd, 1, 0, &g, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "DTD"));

  part wide[] = {{"xl/worksheets/sheet1.xml",
                  "<worksheet><sheetData><row r=\"2\"><c r=\"AMK2\"><v>1</v></c></row>"
                  "</sheetData></worksheet>", 0}}; /* AMK is column 1025 */
  assert_int_equal(read_xlsx(wide, 1, 0, &g, &err), KEHU_EXHAUSTED);
  assert_non_null(strstr(err.message, "line 2"));

  part far[] = {{"xl/worksheets/sheet1.xml",
                 "<worksheet><sheetData><row r=\"2000000\"><c><v>1</v></c></row>"
                 "</sheetData></worksheet>", 0}};
  assert_int_equal(read_xlsx(far, 1, 0, &g, &err), KEHU_EXHAUSTED);

  part bad_index[] = {{"xl/worksheets/sheet1.xml",
                       "<worksheet><sheetData><row r=\"1\"><c t=\"s\"><v>9</v></c></row>"
                       "</sheetData></worksheet>", 0}};
  assert_int_equal(read_xlsx(bad_index, 1, 0, &g, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 1"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_utf8),        cmocka_unit_test(test_csv_utf8_bom),
      cmocka_unit_test(test_csv_gbk),         cmocka_unit_test(test_csv_undecodable),
      cmocka_unit_test(test_csv_errors),      cmocka_unit_test(test_csv_streamed),
      cmocka_unit_test(test_xlsx),
      cmocka_unit_test(test_xlsx_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
