/* import_template.c: the customer import template's headers map as an
 * import header (every field of the guide found, none ignored), the file
 * reads back through common/sheet.h with its example row importable, and
 * an existing file is never replaced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import_map.h"
#include "import_template.h"
#include "sheet.h"

static void test_headers_map(void **state)
{
  (void)state;
  kehu_sheet_row row = {.line = 1, .n = kehu_import_template_ncols,
                        .cells = kehu_import_template_headers};
  kehu_import_header h;
  kehu_error err = {0};
  assert_int_equal(kehu_import_map_header(&row, &h, &err), KEHU_OK);
  assert_int_equal(h.n_ignored, 0);
  for (int f = 0; f < KEHU_IMPORT_FIELDS; f++)
    if (h.column[f] < 0)
      fail_msg("no template column for %s", kehu_import_field_name((kehu_import_field)f));
}

typedef struct {
  size_t n;
  char header[32][64];
  char example[32][128];
  size_t nh, ne;
} readback;

static int collect(void *ctx, const kehu_sheet_row *row, kehu_error *err)
{
  (void)err;
  readback *r = ctx;
  assert_true(row->n <= 32);
  for (size_t i = 0; i < row->n; i++)
    snprintf(r->n ? r->example[i] : r->header[i], 64, "%s", row->cells[i]);
  if (r->n == 0)
    r->nh = row->n;
  else
    r->ne = row->n;
  r->n++;
  return KEHU_OK;
}

static void test_write(void **state)
{
  (void)state;
  char dir[] = "/tmp/kehu-template-XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.xlsx", dir);
  kehu_error err = {0};
  assert_int_equal(kehu_import_template_write(path, &err), KEHU_OK);

  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *b = malloc(1 << 20);
  size_t len = fread(b, 1, 1 << 20, f);
  fclose(f);
  readback r = {0};
  assert_int_equal(kehu_xlsx_read(b, len, collect, &r, &err), KEHU_OK);
  assert_int_equal(r.n, 2);
  assert_int_equal(r.nh, kehu_import_template_ncols);
  assert_int_equal(r.ne, kehu_import_template_ncols);
  for (size_t i = 0; i < r.nh; i++)
    assert_string_equal(r.header[i], kehu_import_template_headers[i]);
  /* The example row's values import as they are. */
  const char *stage = NULL;
  char date[11], size[64];
  assert_int_equal(kehu_import_stage(2, "s", r.example[8], &stage, &err), KEHU_OK);
  assert_string_equal(stage, "potential");
  assert_int_equal(kehu_import_date(2, "d", r.example[6], date, &err), KEHU_OK);
  assert_int_equal(kehu_import_size(2, "z", r.example[3], size, sizeof size, &err), KEHU_OK);
  assert_string_equal(size, "100-500");

  /* Never replaced: the file keeps its bytes. */
  assert_int_equal(kehu_import_template_write(path, &err), KEHU_CONFLICT);
  assert_non_null(strstr(err.message, "exists"));
  f = fopen(path, "rb");
  char *again = malloc(1 << 20);
  assert_int_equal(fread(again, 1, 1 << 20, f), len);
  fclose(f);
  assert_memory_equal(again, b, len);
  free(again);
  free(b);
  unlink(path);
  assert_int_equal(rmdir(dir), 0);   /* no temporary file left behind */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_headers_map),
    cmocka_unit_test(test_write),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
