/* normalize.c: the form of a company name that duplicate detection
 * compares (the name index, server/store/customers.c). Legal forms count the same written whole or in
 * part, from either side: 上海华东制造集团 and 上海华东制造集团有限公司 are one
 * company whichever was added first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "normalize.h"

static const char *norm(const char *name, char *out, size_t len)
{
  assert_int_equal(kehu_normalize_company(name, out, len), 0);
  return out;
}

/* Both names give the same form. */
static void same(const char *a, const char *b)
{
  char x[512], y[512];
  norm(a, x, sizeof x);
  norm(b, y, sizeof y);
  if (strcmp(x, y) != 0)
    fail_msg("'%s' -> '%s' but '%s' -> '%s'", a, x, b, y);
}

static void differ(const char *a, const char *b)
{
  char x[512], y[512];
  norm(a, x, sizeof x);
  norm(b, y, sizeof y);
  if (strcmp(x, y) == 0)
    fail_msg("'%s' and '%s' both give '%s'", a, b, x);
}

static void test_whole_forms(void **state)
{
  (void)state;
  char out[512];
  assert_string_equal(norm("北京星河科技有限公司", out, sizeof out), "北京星河科技");
  same("北京星河科技", "北京星河科技有限责任公司");
  same("北京星河科技", "北京星河科技股份有限公司");
  same("北京星河科技", " 北京 星河·科技 ");
  same("Acme Trading Co., Ltd.", "ACME trading");
  same("Acme Trading", "ＡＣＭＥ Ｔｒａｄｉｎｇ Co., Ltd");
}

/* The defect this guards: 集团 alone was kept while 集团有限公司 went whole,
 * so the shorter name was not refused as a duplicate of the longer. */
static void test_group_forms_both_ways(void **state)
{
  (void)state;
  char a[512], b[512];
  assert_string_equal(norm("上海华东制造集团", a, sizeof a),
                      norm("上海华东制造集团有限公司", b, sizeof b));
  same("上海华东制造集团有限公司", "上海华东制造集团");
  same("上海华东制造集团", "上海华东制造");
  same("上海华东制造集团", "上海华东制造有限公司");
  same("深圳南山控股", "深圳南山控股有限公司");
  same("深圳南山控股", "深圳南山");
  same("杭州青禾食品股份", "杭州青禾食品股份有限公司");
  same("杭州青禾食品股份公司", "杭州青禾食品");
  same("杭州青禾食品集团股份有限公司", "杭州青禾食品集团");
  same("杭州青禾食品控股集团有限公司", "杭州青禾食品控股");
  same("杭州青禾食品集团公司", "杭州青禾食品");
  same("杭州青禾食品有限责任公司", "杭州青禾食品集团");
}

static void test_other_names_stay_apart(void **state)
{
  (void)state;
  char out[512];
  differ("北京星河科技", "北京星河科技分公司");
  differ("北京星河科技有限公司", "北京星河科技有限公司上海分公司");
  differ("北京星河", "北京星河科技集团");
  differ("Acme Logistics", "Acme Trading");
  /* A name that is nothing but a legal form is never stripped to nothing. */
  assert_string_equal(norm("集团有限公司", out, sizeof out), "集团");
  assert_true(strlen(norm("有限公司", out, sizeof out)) > 0);
  assert_true(strlen(norm("Ltd", out, sizeof out)) > 0);
}

static void test_refuses_what_does_not_fit(void **state)
{
  (void)state;
  char out[8];
  assert_int_equal(kehu_normalize_company("上海华东制造集团", out, sizeof out), -1);
  assert_int_equal(kehu_normalize_company("\xff\xfe", out, sizeof out), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_whole_forms),
      cmocka_unit_test(test_group_forms_both_ways),
      cmocka_unit_test(test_other_names_stay_apart),
      cmocka_unit_test(test_refuses_what_does_not_fit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
