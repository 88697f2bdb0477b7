/* i18n.c: an error keeps its English message for scripts and carries the
 * user's language beside it (docs/architecture.md#the-clients-language).
 * In English (no catalogue) people see exactly what --json says; with the
 * build's Chinese catalogue (when the zh_CN.UTF-8 locale is installed)
 * the client's own messages, field labels and the frame around a server's
 * message about a field are Chinese while err->message stays English. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

static void test_english_is_the_message(void **state)
{
  (void)state;
  kehu_error err;
  char human[640];
  kehu_fail_tr(&err, KEHU_INVALID, "limit", "%s must be a whole number from %u to %u, not `%s`",
               "limit", 1u, 500u, "0");
  assert_string_equal(err.message, "limit must be a whole number from 1 to 500, not `0`");
  assert_string_equal(err.field, "limit");
  assert_string_equal(kehu_error_human(&err, human, sizeof human), err.message);

  /* the server's message about a field: as it is */
  kehu_error_clear(&err);
  kehu_fail(&err, KEHU_INVALID, "phone", "phone: 'x' is not a phone number");
  assert_string_equal(kehu_error_human(&err, human, sizeof human),
                      "phone: 'x' is not a phone number");

  /* nothing but a status: its name */
  kehu_error_clear(&err);
  err.status = KEHU_NOT_FOUND;
  assert_string_equal(kehu_error_human(&err, human, sizeof human), "NOT_FOUND");
  assert_string_equal(kehu_field_label(NULL, "phone"), "phone");
  assert_string_equal(kehu_field_label("contact", "name"), "name");
  assert_string_equal(kehu_stage_label("intent"), "intent");
}

static void test_errno_and_append(void **state)
{
  (void)state;
  kehu_error err;
  char human[640];
  kehu_fail_errno(&err, KEHU_INTERNAL, "file", ENOENT, "cannot open %s", "/x.csv");
  assert_string_equal(err.message, "cannot open /x.csv: No such file or directory");
  assert_string_equal(kehu_error_human(&err, human, sizeof human), err.message);
  kehu_error_append_tr(&err, " (run `kehu login`)");
  assert_string_equal(err.message,
                      "cannot open /x.csv: No such file or directory (run `kehu login`)");
  assert_string_equal(kehu_error_human(&err, human, sizeof human), err.message);
}

static void test_chinese(void **state)
{
  (void)state;
  if (!setlocale(LC_ALL, "zh_CN.UTF-8"))
    skip();   /* the locale is not installed: t_i18n_cli.sh says so */
  setenv("KEHU_LOCALEDIR", KEHU_TEST_LOCALEDIR, 1);
  setenv("LANG", "zh_CN.UTF-8", 1);
  unsetenv("LC_ALL");
  unsetenv("LC_MESSAGES");
  unsetenv("LANGUAGE");
  kehu_i18n_init();

  kehu_error err;
  char human[640];
  kehu_fail_errno(&err, KEHU_INTERNAL, "file", ENOENT, "cannot open %s", "/x.csv");
  assert_string_equal(err.message, "cannot open /x.csv: No such file or directory");
  assert_non_null(strstr(kehu_error_human(&err, human, sizeof human), "无法打开 /x.csv"));

  kehu_error_clear(&err);
  kehu_fail(&err, KEHU_INVALID, "phone", "phone: 'x' is not a phone number");
  assert_string_equal(kehu_error_human(&err, human, sizeof human),
                      "字段「电话」（phone）有误：phone: 'x' is not a phone number");
  assert_string_equal(err.message, "phone: 'x' is not a phone number");

  kehu_error_clear(&err);
  err.status = KEHU_NOT_FOUND;
  assert_string_equal(kehu_error_human(&err, human, sizeof human), "未找到");
  assert_string_equal(kehu_field_label("contact", "name"), "姓名");
  assert_string_equal(kehu_field_label(NULL, "name"), "名称");
  assert_string_equal(kehu_field_label(NULL, "no_such_field"), "no_such_field");
  assert_string_equal(kehu_stage_label("intent"), "意向");
  assert_string_equal(kehu_stage_label("other"), "other");

  /* numbers and times stay as in "C" */
  assert_string_equal(setlocale(LC_NUMERIC, NULL), "C");
  assert_string_equal(setlocale(LC_TIME, NULL), "C");
  setlocale(LC_ALL, "C");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_english_is_the_message),
    cmocka_unit_test(test_errno_and_append),
    cmocka_unit_test(test_chinese),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
