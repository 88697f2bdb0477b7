/* common/import_map.c and import_value.c (docs/architecture.md#import): the
 * import template's header row maps exactly; notes in parentheses, '*' and
 * English names; unknown columns listed, a missing name column refused;
 * size bands, stages, dates (Excel serials, real calendar dates) and tags
 * as people type them; every error names the line and the column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_map.h"
#include "validate.h"

static kehu_sheet_row row_of(size_t line, const char *const *cells, size_t n)
{
  kehu_sheet_row r = {.line = line, .n = n, .cells = cells};
  return r;
}

static void test_template_header(void **state)
{
  (void)state;
  static const char *const cells[] = {
      "客户编号", "客户名称(*)", "所属行业", "企业规模(员工数)", "联系人(*)",
      "联系方式(虚拟)", "首次接触时间", "跟进人(*)", "客户状态(潜在/成交/流失)",
  };
  static const kehu_import_field want[] = {
      KEHU_IMPORT_EXTERNAL_CODE, KEHU_IMPORT_NAME,          KEHU_IMPORT_INDUSTRY,
      KEHU_IMPORT_SIZE,          KEHU_IMPORT_CONTACT_NAME,  KEHU_IMPORT_CONTACT_PHONE,
      KEHU_IMPORT_FIRST_CONTACT_AT, KEHU_IMPORT_OWNER,      KEHU_IMPORT_STAGE,
  };
  kehu_sheet_row r = row_of(1, cells, 9);
  kehu_import_header h;
  kehu_error err;
  assert_int_equal(kehu_import_map_header(&r, &h, &err), KEHU_OK);
  assert_int_equal(h.ncols, 9);
  assert_int_equal(h.n_ignored, 0);
  for (int i = 0; i < 9; i++) {
    assert_int_equal(h.field[i], want[i]);
    assert_int_equal(h.column[want[i]], i);
  }
  assert_int_equal(h.column[KEHU_IMPORT_TAGS], -1);
}

static void test_header_spellings(void **state)
{
  (void)state;
  static const struct {
    const char *header;
    int field;
  } cases[] = {
      {"客户名称（*）", KEHU_IMPORT_NAME},     {" *客户名称 ", KEHU_IMPORT_NAME},
      {"企业规模（员工数）", KEHU_IMPORT_SIZE}, {"地址", KEHU_IMPORT_ADDRESS},
      {"企业地址", KEHU_IMPORT_ADDRESS},       {"所在地区", KEHU_IMPORT_REGION},
      {"地区", KEHU_IMPORT_REGION},            {"客户来源", KEHU_IMPORT_SOURCE},
      {"职务", KEHU_IMPORT_CONTACT_TITLE},     {"邮箱", KEHU_IMPORT_CONTACT_EMAIL},
      {"标签", KEHU_IMPORT_TAGS},              {"备注", KEHU_IMPORT_NOTES},
      {"name", KEHU_IMPORT_NAME},              {"External Code", KEHU_IMPORT_EXTERNAL_CODE},
      {"FIRST_CONTACT_AT", KEHU_IMPORT_FIRST_CONTACT_AT},
      {"contact-email", KEHU_IMPORT_CONTACT_EMAIL}, {"contact_title", KEHU_IMPORT_CONTACT_TITLE},
      {"微信", -1},                            {"", -1},
      {"(*)", -1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    assert_int_equal(kehu_import_field_of(cases[i].header), cases[i].field);
  for (int f = 0; f < KEHU_IMPORT_FIELDS; f++) /* every English name is its own header */
    assert_int_equal(kehu_import_field_of(kehu_import_field_name(f)), f);
}

static void test_header_errors(void **state)
{
  (void)state;
  kehu_import_header h;
  kehu_error err;
  static const char *const unknown[] = {"客户名称", "微信", "", "生日"};
  kehu_sheet_row r = row_of(1, unknown, 4);
  assert_int_equal(kehu_import_map_header(&r, &h, &err), KEHU_OK);
  assert_int_equal(h.n_ignored, 3);
  assert_string_equal(h.ignored, "微信, (empty), 生日");
  assert_int_equal(h.field[1], -1);

  static const char *const no_name[] = {"联系人", "电话"};
  r = row_of(1, no_name, 2);
  assert_int_equal(kehu_import_map_header(&r, &h, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 1"));
  assert_non_null(strstr(err.message, "name"));

  static const char *const twice[] = {"客户名称", "name"};
  r = row_of(1, twice, 2);
  assert_int_equal(kehu_import_map_header(&r, &h, &err), KEHU_INVALID);
  assert_string_equal(err.message, "line 1: columns '客户名称' and 'name' both mean name");
}

static void test_size(void **state)
{
  (void)state;
  static const char *const cases[][2] = {
      {"100-500人", "100-500"}, {"500人以上", "500+"}, {"1000+", "1000+"},
      {" 50～100 人", "50-100"}, {"１００－５００人", "100-500"}, {"50人以下", "1-50"},
      {"100至500名员工", "100-500"}, {"1-50", "1-50"}, {"大型企业", "大型企业"}, {"  ", ""},
  };
  char out[64];
  kehu_error err;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    assert_int_equal(kehu_import_size(2, "企业规模(员工数)", cases[i][0], out, sizeof out, &err),
                     KEHU_OK);
    assert_string_equal(out, cases[i][1]);
    /* what comes out is what the customer check accepts for size */
    if (*out)
      assert_int_equal(kehu_check_name("size", out, 50, &err), KEHU_OK);
  }
  assert_int_equal(kehu_import_size(7, "企业规模(员工数)", "500-100人", out, sizeof out, &err),
                   KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 7, column '企业规模(员工数)'"));
  assert_string_equal(err.field, "企业规模(员工数)");
  char long_text[200];
  memset(long_text, 'x', 120);
  long_text[120] = '\0';
  assert_int_equal(kehu_import_size(8, "size", long_text, out, sizeof out, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 8, column 'size'"));
}

static void test_stage(void **state)
{
  (void)state;
  static const char *const cases[][2] = {
      {"潜在", "potential"}, {"意向", "intent"}, {" 成交 ", "closed"}, {"流失", "lost"},
      {"Potential", "potential"}, {"LOST", "lost"}, {"", ""},
  };
  const char *out;
  kehu_error err;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    assert_int_equal(kehu_import_stage(2, "客户状态", cases[i][0], &out, &err), KEHU_OK);
    assert_string_equal(out, cases[i][1]);
  }
  assert_int_equal(kehu_import_stage(9, "客户状态(潜在/成交/流失)", "跟进中", &out, &err),
                   KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 9, column '客户状态(潜在/成交/流失)': '跟进中'"));
}

static void test_date(void **state)
{
  (void)state;
  static const char *const cases[][2] = {
      {"2024-01-15", "2024-01-15"}, {"2024/1/15", "2024-01-15"}, {"2024年1月15日", "2024-01-15"},
      {"45306", "2024-01-15"},      {"45306.75", "2024-01-15"},  {"20240115", "2024-01-15"},
      {"2024.1.15", "2024-01-15"},  {"2024/1/15 10:30", "2024-01-15"},
      {"2024-02-29", "2024-02-29"}, {"61", "1900-03-01"},        {"1", "1900-01-01"},
      {"2958465", "9999-12-31"},    {" ", ""},
  };
  char out[11];
  kehu_error err;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    assert_int_equal(kehu_import_date(3, "首次接触时间", cases[i][0], out, &err), KEHU_OK);
    assert_string_equal(out, cases[i][1]);
  }
  assert_int_equal(kehu_import_date(5, "首次接触时间", "2024-02-30", out, &err), KEHU_INVALID);
  assert_string_equal(err.message, "line 5, column '首次接触时间': '2024-02-30' is not a real date");
  assert_string_equal(err.field, "首次接触时间");
  assert_int_equal(kehu_import_date(6, "首次接触时间", "2023年2月29日", out, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 6"));
  static const char *const bad[] = {"明天", "2024-1", "24/1/15", "60", "0", "1.2.3",
                                    "2024-01-15x", "99999999"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(kehu_import_date(4, "first_contact_at", bad[i], out, &err), KEHU_INVALID);
    assert_non_null(strstr(err.message, "line 4, column 'first_contact_at'"));
  }
}

/* The quote an export puts before a formula-like start goes on import, so
 * an exported file imports as it was; other quotes stay. */
static void test_export_quote(void **state)
{
  (void)state;
  assert_string_equal(kehu_import_cell("'=HYPERLINK(\"x\")"), "=HYPERLINK(\"x\")");
  assert_string_equal(kehu_import_cell("'+86 138"), "+86 138");
  assert_string_equal(kehu_import_cell("'-上海"), "-上海");
  assert_string_equal(kehu_import_cell("'@home"), "@home");
  assert_string_equal(kehu_import_cell("'abc"), "'abc");
  assert_string_equal(kehu_import_cell("'"), "'");
  /* a value that began with quotes before such a start got one more */
  assert_string_equal(kehu_import_cell("''=1"), "'=1");
  assert_string_equal(kehu_import_cell("'''-x"), "''-x");
  assert_string_equal(kehu_import_cell("''"), "''");
  assert_string_equal(kehu_import_cell("''abc"), "''abc");
  assert_string_equal(kehu_import_cell("=1"), "=1");
  assert_string_equal(kehu_import_cell(""), "");
}

static void test_tags(void **state)
{
  (void)state;
  char **tags;
  size_t n;
  kehu_error err;
  assert_int_equal(kehu_import_tags(2, "标签", " 华东，重点;VIP；老客户、 展会 ,,", &tags, &n, &err),
                   KEHU_OK);
  assert_int_equal(n, 5);
  assert_string_equal(tags[0], "华东");
  assert_string_equal(tags[1], "重点");
  assert_string_equal(tags[2], "VIP");
  assert_string_equal(tags[3], "老客户");
  assert_string_equal(tags[4], "展会");
  free(tags);
  assert_int_equal(kehu_import_tags(2, "标签", " ，、 ", &tags, &n, &err), KEHU_OK);
  assert_int_equal(n, 0);
  assert_null(tags);

  char many[KEHU_MAX_TAGS * 4 + 8];
  size_t k = 0;
  for (int i = 0; i <= KEHU_MAX_TAGS; i++)
    k += (size_t)snprintf(many + k, sizeof many - k, "t%d,", i % 10);
  assert_int_equal(kehu_import_tags(11, "tags", many, &tags, &n, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 11, column 'tags'"));
  char longer[300];
  memset(longer, 'a', 80);
  longer[80] = '\0';
  assert_int_equal(kehu_import_tags(12, "标签", longer, &tags, &n, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "line 12, column '标签'"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_template_header), cmocka_unit_test(test_header_spellings),
      cmocka_unit_test(test_header_errors),   cmocka_unit_test(test_size),
      cmocka_unit_test(test_stage),           cmocka_unit_test(test_date),
      cmocka_unit_test(test_tags),            cmocka_unit_test(test_export_quote),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
