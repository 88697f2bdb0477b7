/* utf8.c: the escape every Response.message and Response.field goes
 * through before it leaves the server (README: replies carry valid UTF-8
 * only). Valid text is kept byte for byte; each byte that is not part of
 * valid UTF-8 becomes the text \xNN, and the result is always valid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static void expect_escape(const char *in, const char *want)
{
  char *got = kehu_utf8_escape(in);
  assert_non_null(got);
  assert_string_equal(got, want);
  assert_true(kehu_utf8_chars(got, strlen(got)) >= 0);
  free(got);
}

static void test_valid_text_unchanged(void **state)
{
  (void)state;
  expect_escape("", "");
  expect_escape("id: 'C20241120001'", "id: 'C20241120001'");
  expect_escape("客户 杭州青禾食品有限公司 😀", "客户 杭州青禾食品有限公司 😀");
  expect_escape("a\\xffb", "a\\xffb");   /* already text: left alone */
}

static void test_bad_bytes_escaped(void **state)
{
  (void)state;
  expect_escape("\xff\xfe", "\\xff\\xfe");
  expect_escape("id: '\xff' x", "id: '\\xff' x");
  /* a character cut short, then valid text */
  expect_escape("\xe4\xb8 ok", "\\xe4\\xb8 ok");
  expect_escape("\xe4\xb8", "\\xe4\\xb8");
  /* overlong '/', a surrogate, past U+10FFFF */
  expect_escape("\xc0\xaf", "\\xc0\\xaf");
  expect_escape("\xed\xa0\x80", "\\xed\\xa0\\x80");
  expect_escape("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
  /* a lone continuation byte between good characters */
  expect_escape("中\x80文", "中\\x80文");
}

static void test_chars_strict(void **state)
{
  (void)state;
  assert_int_equal(kehu_utf8_chars("中文", strlen("中文")), 2);
  assert_int_equal(kehu_utf8_chars("\xed\xa0\x80", 3), -1);
  assert_int_equal(kehu_utf8_chars("\xc0\xaf", 2), -1);
  assert_int_equal(kehu_utf8_chars("\xf0\x9f\x98\x80", 3), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_text_unchanged),
      cmocka_unit_test(test_bad_bytes_escaped),
      cmocka_unit_test(test_chars_strict),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
