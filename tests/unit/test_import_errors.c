/* import_errors.c: the workbook of an import's rejected rows
 * (docs/architecture.md#import): a GBK CSV with CRLF line ends is read
 * again, only its rejected rows are written with the reasons, the cells
 * named filled red (checked in the xlsx's own XML), and the result maps as
 * an import header again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>

#include "import_errors.h"
#include "import_map.h"
#include "sheet.h"

#define NAME_COL "客户名称(*)"
#define PHONE_COL "联系方式(虚拟)"
#define STAGE_COL "客户状态(潜在/成交/流失)"

static const char csv_utf8[] =
  NAME_COL ",联系人(*)," PHONE_COL "," STAGE_COL ",备注\r\n"
  "杭州青禾食品有限公司,张伟,13856781234,潜在,\r\n"       /* line 2 */
  "宁波海曙贸易,李娜,12345,意向,\"备注,含逗号\"\r\n"      /* line 3: rejected */
  "苏州工业园区,王芳,13912345678,成交,\r\n"              /* line 4 */
  ",赵强,13700001111,未知,=1+1\r\n"                     /* line 5: rejected twice */
  "上海浦东,陈明,13600002222,流失,\r\n";                /* line 6 */

typedef struct {
  char dir[64];
  char csv[96];
  char out[96];
} fixture;

static void write_gbk(const char *path)
{
  iconv_t cd = iconv_open("GBK", "UTF-8");
  assert_true(cd != (iconv_t)-1);
  char gbk[1024];
  char *in = (char *)csv_utf8, *outp = gbk;
  size_t in_left = strlen(csv_utf8), out_left = sizeof gbk;
  assert_true(iconv(cd, &in, &in_left, &outp, &out_left) != (size_t)-1);
  iconv_close(cd);
  size_t len = sizeof gbk - out_left;
  /* Not valid UTF-8, so "auto" has to find GBK. */
  assert_true(len < strlen(csv_utf8));
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(gbk, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
  fixture *fx = calloc(1, sizeof *fx);
  snprintf(fx->dir, sizeof fx->dir, "/tmp/kehu-import-errors-XXXXXX");
  if (!mkdtemp(fx->dir))
    return -1;
  snprintf(fx->csv, sizeof fx->csv, "%s/in.csv", fx->dir);
  snprintf(fx->out, sizeof fx->out, "%s/errors.xlsx", fx->dir);
  write_gbk(fx->csv);
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  fixture *fx = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
  int rc = system(cmd);
  free(fx);
  return rc == 0 ? 0 : -1;
}

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *b = malloc(1 << 20);
  *len = fread(b, 1, 1 << 20, f);
  fclose(f);
  return b;
}

/* Rows of an .xlsx, each cell copied. */
typedef struct {
  size_t n;
  size_t line[8];
  size_t ncells[8];
  char cells[8][8][128];
} table;

static int collect(void *ctx, const kehu_sheet_row *row, kehu_error *err)
{
  (void)err;
  table *t = ctx;
  assert_true(t->n < 8 && row->n <= 8);
  t->line[t->n] = row->line;
  t->ncells[t->n] = row->n;
  for (size_t i = 0; i < row->n; i++)
    snprintf(t->cells[t->n][i], sizeof t->cells[t->n][i], "%s", row->cells[i]);
  t->n++;
  return KEHU_OK;
}

static void read_table(const char *path, table *t)
{
  size_t len;
  char *b = slurp(path, &len);
  kehu_error err = {0};
  memset(t, 0, sizeof *t);
  assert_int_equal(kehu_xlsx_read(b, len, collect, t, &err), KEHU_OK);
  free(b);
}

static void assert_row(const table *t, size_t i, const char *const *want, size_t n)
{
  assert_int_equal(t->ncells[i], n);
  for (size_t c = 0; c < n; c++)
    assert_string_equal(t->cells[i][c], want[c]);
}

/* One part of the .xlsx, NUL-terminated. */
static char *zip_part(const char *path, const char *name)
{
  int zerr = 0;
  zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
  assert_non_null(z);
  zip_stat_t st;
  assert_int_equal(zip_stat(z, name, 0, &st), 0);
  char *b = malloc(st.size + 1);
  zip_file_t *f = zip_fopen(z, name, 0);
  assert_non_null(f);
  assert_int_equal(zip_fread(f, b, st.size), (zip_int64_t)st.size);
  b[st.size] = '\0';
  zip_fclose(f);
  zip_close(z);
  return b;
}

/* The value of attribute name="..." inside the element starting at p. */
static int attr(const char *p, const char *name, char *out, size_t cap)
{
  const char *end = strchr(p, '>');
  char key[32];
  snprintf(key, sizeof key, " %s=\"", name);
  const char *a = strstr(p, key);
  if (!a || a > end)
    return 0;
  a += strlen(key);
  size_t n = strcspn(a, "\"");
  snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), a);
  return 1;
}

/* red[i]: cell format i of styles.xml fills with the red colour. */
static size_t red_styles(const char *styles, int red[64])
{
  /* the fill's index */
  const char *fills = strstr(styles, "<fills");
  const char *fills_end = strstr(styles, "</fills>");
  assert_non_null(fills);
  int red_fill = -1, idx = 0;
  for (const char *p = strstr(fills, "<fill>"); p && p < fills_end; p = strstr(p + 1, "<fill>")) {
    const char *e = strstr(p, "</fill>");
    const char *c = strstr(p, "FFC7CE");
    if (c && c < e)
      red_fill = idx;
    idx++;
  }
  assert_true(red_fill > 0);
  const char *xfs = strstr(styles, "<cellXfs");
  const char *xfs_end = strstr(styles, "</cellXfs>");
  assert_non_null(xfs);
  size_t n = 0;
  for (const char *p = strstr(xfs, "<xf "); p && p < xfs_end; p = strstr(p + 1, "<xf ")) {
    char v[16] = "0";
    attr(p, "fillId", v, sizeof v);
    assert_true(n < 64);
    red[n++] = atoi(v) == red_fill;
  }
  return n;
}

static void test_error_workbook(void **state)
{
  fixture *fx = *state;
  /* Not in line order; two on line 5. */
  const kehu_import_rejection rej[] = {
    {5, STAGE_COL, "'未知' 不是客户状态"},
    {3, PHONE_COL, "手机号格式不对"},
    {5, NAME_COL, "客户名称不能为空"},
  };
  kehu_error err = {0};
  assert_int_equal(kehu_import_write_errors(fx->csv, "auto", rej, 3, fx->out, &err), KEHU_OK);

  table t;
  read_table(fx->out, &t);
  assert_int_equal(t.n, 3);
  assert_int_equal(t.line[0], 1);
  assert_int_equal(t.line[1], 2);
  assert_int_equal(t.line[2], 3);
  const char *const header[] = {NAME_COL, "联系人(*)", PHONE_COL, STAGE_COL, "备注",
                                KEHU_IMPORT_REASON_HEADER};
  const char *const line3[] = {"宁波海曙贸易", "李娜", "12345", "意向", "备注,含逗号",
                               "手机号格式不对"};
  /* the formula-like cell neutralised as exports are */
  const char *const line5[] = {"", "赵强", "13700001111", "未知", "'=1+1",
                               "'未知' 不是客户状态；客户名称不能为空"};
  assert_row(&t, 0, header, 6);
  assert_row(&t, 1, line3, 6);
  assert_row(&t, 2, line5, 6);

  /* A person fixes it and imports it again: the header maps, the reason
   * column is ignored. */
  assert_int_equal(kehu_import_field_of(KEHU_IMPORT_REASON_HEADER), -1);
  const char *cells[6];
  for (size_t i = 0; i < 6; i++)
    cells[i] = t.cells[0][i];
  kehu_sheet_row hrow = {.line = 1, .n = 6, .cells = cells};
  kehu_import_header h;
  assert_int_equal(kehu_import_map_header(&hrow, &h, &err), KEHU_OK);
  assert_int_equal(h.n_ignored, 1);
  assert_int_equal(h.field[5], -1);
  assert_int_equal(h.column[KEHU_IMPORT_NAME], 0);
  assert_int_equal(h.column[KEHU_IMPORT_CONTACT_PHONE], 2);
  assert_int_equal(h.column[KEHU_IMPORT_STAGE], 3);

  /* The red fill: the named cells' style points at it, no other's does. */
  char *styles = zip_part(fx->out, "xl/styles.xml");
  char *sheet = zip_part(fx->out, "xl/worksheets/sheet1.xml");
  int red[64] = {0};
  size_t nxf = red_styles(styles, red);
  const char *want_red[] = {"C2", "A3", "D3"};
  size_t seen = 0, seen_red = 0;
  for (const char *p = strstr(sheet, "<c "); p; p = strstr(p + 1, "<c ")) {
    char r[16] = "", s[16] = "0";
    assert_true(attr(p, "r", r, sizeof r));
    attr(p, "s", s, sizeof s);
    size_t xf = (size_t)atoi(s);
    assert_true(xf < nxf);
    int should = 0;
    for (size_t i = 0; i < 3; i++)
      should |= strcmp(r, want_red[i]) == 0;
    if (red[xf] != should)
      fail_msg("cell %s: style %zu is %sred", r, xf, red[xf] ? "" : "not ");
    seen++;
    seen_red += (size_t)should;
  }
  assert_int_equal(seen_red, 3);
  assert_true(seen >= 6 + 6 + 5);
  /* text only: no formula anywhere */
  assert_null(strstr(sheet, "<f>"));
  free(styles);
  free(sheet);
}

/* The error workbook of an .xlsx input (detected by its bytes, whatever
 * its name). */
static void test_xlsx_input(void **state)
{
  fixture *fx = *state;
  const kehu_import_rejection first[] = {{3, PHONE_COL, "手机号格式不对"}};
  kehu_error err = {0};
  assert_int_equal(kehu_import_write_errors(fx->csv, "gbk", first, 1, fx->out, &err), KEHU_OK);
  char renamed[128];
  snprintf(renamed, sizeof renamed, "%s/fixed.dat", fx->dir);
  assert_int_equal(rename(fx->out, renamed), 0);
  const kehu_import_rejection again[] = {{2, "联系人(*)", "联系人重复"}, {2, NULL, "整行"}};
  assert_int_equal(kehu_import_write_errors(renamed, "auto", again, 2, fx->out, &err), KEHU_OK);
  table t;
  read_table(fx->out, &t);
  assert_int_equal(t.n, 2);
  assert_int_equal(t.ncells[0], 7);
  assert_string_equal(t.cells[0][5], KEHU_IMPORT_REASON_HEADER);
  assert_string_equal(t.cells[0][6], KEHU_IMPORT_REASON_HEADER);
  assert_string_equal(t.cells[1][0], "宁波海曙贸易");
  assert_string_equal(t.cells[1][5], "手机号格式不对");
  assert_string_equal(t.cells[1][6], "联系人重复；整行");
}

/* A line that is not a data row of the input is refused; nothing is written. */
static void test_missing_line(void **state)
{
  fixture *fx = *state;
  unlink(fx->out);
  kehu_error err = {0};
  const kehu_import_rejection beyond[] = {{9, NAME_COL, "x"}};
  assert_int_equal(kehu_import_write_errors(fx->csv, "auto", beyond, 1, fx->out, &err),
                   KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 9"));
  const kehu_import_rejection header[] = {{1, NAME_COL, "x"}};
  assert_int_equal(kehu_import_write_errors(fx->csv, "auto", header, 1, fx->out, &err),
                   KEHU_INVALID);
  assert_int_equal(kehu_import_write_errors(fx->csv, "latin1", NULL, 0, fx->out, &err),
                   KEHU_INVALID);
  assert_int_equal(access(fx->out, F_OK), -1);
  char none[128];
  snprintf(none, sizeof none, "%s/none.csv", fx->dir);
  assert_int_equal(kehu_import_write_errors(none, "auto", NULL, 0, fx->out, &err), KEHU_INVALID);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_error_workbook, setup, teardown),
    cmocka_unit_test_setup_teardown(test_xlsx_input, setup, teardown),
    cmocka_unit_test_setup_teardown(test_missing_line, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
