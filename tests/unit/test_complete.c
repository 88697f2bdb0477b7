/* Complete records (core/complete.c, docs/architecture.md#import): the
 * working days of the 待补充 reminder, which fields a customer leaves
 * empty, and the tag taken off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "complete.h"

static int64_t local(int y, int m, int d, int h)
{
  struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = h,
                  .tm_isdst = -1};
  return (int64_t)mktime(&tm);
}

static void test_working_days(void **state)
{
  (void)state;
  /* 2026-12-04 is a Friday */
  int64_t fri = local(2026, 12, 4, 17);
  assert_int_equal(kehu_working_days_later(fri, 2, 9), local(2026, 12, 8, 9));      /* Tue */
  assert_int_equal(kehu_working_days_later(local(2026, 12, 5, 10), 2, 9),
                   local(2026, 12, 8, 9));                                            /* Sat */
  assert_int_equal(kehu_working_days_later(local(2026, 12, 6, 23), 2, 9),
                   local(2026, 12, 8, 9));                                            /* Sun */
  assert_int_equal(kehu_working_days_later(local(2026, 12, 7, 0), 2, 9),
                   local(2026, 12, 9, 9));                                            /* Mon */
  assert_int_equal(kehu_working_days_later(local(2026, 12, 3, 8), 2, 14),
                   local(2026, 12, 7, 14));                                           /* Thu */
  /* across a month and a year */
  assert_int_equal(kehu_working_days_later(local(2026, 12, 31, 12), 2, 9),
                   local(2027, 1, 4, 9));                                             /* Thu */
  assert_int_equal(kehu_working_days_later(fri, 0, 9), local(2026, 12, 4, 9));
}

static void test_missing(void **state)
{
  (void)state;
  kehu_config cfg = {0};
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  c.name = "甲公司";
  assert_int_equal(kehu_complete_missing(&cfg, &c, NULL, 0), 0);   /* nothing required */
  cfg.complete_fields = 1u << KEHU_IMPORT_CONTACT_NAME | 1u << KEHU_IMPORT_CONTACT_PHONE |
                        1u << KEHU_IMPORT_INDUSTRY;
  assert_int_equal(kehu_complete_missing(&cfg, &c, NULL, 0), cfg.complete_fields);
  c.industry = "制造";
  Kehu__Contact a = KEHU__CONTACT__INIT, b = KEHU__CONTACT__INIT;
  a.name = "张三";
  const Kehu__Contact *one[] = {&a}, *two[] = {&a, &b};
  assert_int_equal(kehu_complete_missing(&cfg, &c, one, 1), 1u << KEHU_IMPORT_CONTACT_PHONE);
  char *phones[] = {"13800001111"};
  b.phones = phones;
  b.n_phones = 1;
  /* a name on one contact and a phone on another: complete */
  assert_int_equal(kehu_complete_missing(&cfg, &c, two, 2), 0);
  char text[128];
  kehu_complete_fields_text(1u << KEHU_IMPORT_CONTACT_NAME | 1u << KEHU_IMPORT_CONTACT_PHONE,
                            text, sizeof text);
  assert_string_equal(text, "contact_name, contact_phone");
  /* the tag itself is not a tag the customer has */
  cfg.complete_fields = 1u << KEHU_IMPORT_TAGS;
  char *tags[] = {KEHU_INCOMPLETE_TAG, "vip"};
  c.tags = tags;
  c.n_tags = 1;
  assert_int_equal(kehu_complete_missing(&cfg, &c, NULL, 0), 1u << KEHU_IMPORT_TAGS);
  c.n_tags = 2;
  assert_int_equal(kehu_complete_missing(&cfg, &c, NULL, 0), 0);
  assert_true(kehu_has_incomplete_tag(&c));
  char *out[2];
  assert_int_equal(kehu_complete_untag(&c, out), 1);
  assert_string_equal(out[0], "vip");
}

int main(void)
{
  setenv("TZ", "Asia/Shanghai", 1);
  tzset();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_working_days),
    cmocka_unit_test(test_missing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
