/* sheet.c: export files that open cleanly in Excel (README.md, "Exports"):
 * the BOM, CRLF, RFC 4180 quoting, the "'" in front of formula-like cells,
 * GBK and its error naming the row and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sheet_neutral.h"
#include "sheet_out.h"

/* common/import_map.h, which cannot be included beside sheet_out.h (see
 * sheet_neutral.h): the import's reading of a cell. */
const char *kehu_import_cell(const char *cell);

static const char *const header[] = {"id", "name", "notes"};

/* Writes the rows to a CSV in memory; returns the status, *out the bytes. */
static int csv(kehu_sheet_encoding enc, const char *const (*rows)[3], size_t n, char **out,
               size_t *len, kehu_error *err)
{
  FILE *f = open_memstream(out, len);
  assert_non_null(f);
  kehu_sheet *s = NULL;
  int rc = kehu_sheet_open(&s, KEHU_SHEET_CSV, enc, f, NULL, header, 3, err);
  for (size_t i = 0; rc == KEHU_OK && i < n; i++)
    rc = kehu_sheet_row(s, rows[i], err);
  if (s) {
    int crc = kehu_sheet_close(s, err);
    rc = rc == KEHU_OK ? crc : rc;
  }
  fclose(f);
  return rc;
}

static void test_formula_like(void **state)
{
  (void)state;
  const char *yes[] = {"=1+2", "+86 1", "-5", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"a\",\"b\")"};
  const char *no[] = {"", "abc", "杭州", " =1", "'=1", "1-2", "C20241120001"};
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
    assert_true(kehu_sheet_formula_like(yes[i]));
  for (size_t i = 0; i < sizeof no / sizeof *no; i++)
    assert_false(kehu_sheet_formula_like(no[i]));
  assert_false(kehu_sheet_formula_like(NULL));
}

/* What import reads back (kehu_import_cell) is what was written. */
static void test_neutralise(void **state)
{
  (void)state;
  const char *const cases[][2] = {
    {"=1+2", "'=1+2"}, {"-上海", "'-上海"}, {"'=1", "''=1"}, {"''+x", "'''+x"},
    {"'abc", "'abc"},  {"'", "'"},           {"", ""},       {"abc", "abc"},
  };
  char *buf = NULL;
  size_t cap = 0;
  kehu_error err = {0};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    assert_int_equal(kehu_sheet_neutralise(cases[i][0], &buf, &cap, &err), KEHU_OK);
    assert_string_equal(buf, cases[i][1]);
    assert_string_equal(kehu_import_cell(buf), cases[i][0]);
  }
  free(buf);
}

static void test_utf8_csv(void **state)
{
  (void)state;
  const char *const rows[][3] = {
    {"C1", "杭州青禾", NULL},
    {"C2", "=HYPERLINK(\"http://x\",\"y\")", "a,b"},
    {"C3", "+86 1", "line\nbreak"},
  };
  char *out = NULL;
  size_t len = 0;
  kehu_error err = {0};
  assert_int_equal(csv(KEHU_SHEET_UTF8, rows, 3, &out, &len, &err), KEHU_OK);
  const char want[] = "\xEF\xBB\xBFid,name,notes\r\n"
                      "C1,杭州青禾,\r\n"
                      "C2,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",\"a,b\"\r\n"
                      "C3,'+86 1,\"line\nbreak\"\r\n";
  assert_int_equal(len, strlen(want));
  assert_memory_equal(out, want, len);
  free(out);
}

static void test_gbk_csv(void **state)
{
  (void)state;
  const char *const ok[][3] = {{"C1", "杭州", "-x"}};
  char *out = NULL;
  size_t len = 0;
  kehu_error err = {0};
  assert_int_equal(csv(KEHU_SHEET_GBK, ok, 1, &out, &len, &err), KEHU_OK);
  /* 杭州 in GBK is BA BC D6 DD; no BOM */
  const char want[] = "id,name,notes\r\nC1,\xBA\xBC\xD6\xDD,'-x\r\n";
  assert_int_equal(len, strlen(want));
  assert_memory_equal(out, want, len);
  free(out);

  const char *const bad[][3] = {{"C1", "杭州", NULL}, {"C2", "ok", "😀"}};
  out = NULL;
  assert_int_equal(csv(KEHU_SHEET_GBK, bad, 2, &out, &len, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "row 2 (C2), field notes"));
  assert_string_equal(err.field, "notes");
  free(out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_formula_like),
    cmocka_unit_test(test_neutralise),
    cmocka_unit_test(test_utf8_csv),
    cmocka_unit_test(test_gbk_csv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
