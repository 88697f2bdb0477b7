/* validate.c and timefmt.c: strict UTF-8, names counted in characters,
 * stages in both languages, customer checks naming the field, real
 * calendar dates, times in UTC / offset / local form, and money in integer
 * fen (docs/architecture.md#data-model, docs/architecture.md#validation). Local times are tested in Asia/Shanghai so that
 * "local" cannot silently mean UTC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"
#include "validate.h"

#define T_2024_11_20_0800Z ((int64_t)1732089600)

static long chars(const char *s) { return kehu_utf8_chars(s, strlen(s)); }

/* ---- kehu_utf8_chars ---- */

static void test_utf8_valid(void **state)
{
  (void)state;
  assert_int_equal(chars(""), 0);
  assert_int_equal(chars("abc"), 3);
  assert_int_equal(chars("中文"), 2);                     /* 3 bytes each */
  assert_int_equal(strlen("中文"), 6);
  assert_int_equal(chars("\xF0\x9F\x98\x80"), 1);         /* U+1F600, 4 bytes */
  assert_int_equal(chars("a中\xF0\x9F\x98\x80" "b"), 4);
  assert_int_equal(chars("\xC2\xA9"), 1);                 /* U+00A9, 2 bytes */
  /* Boundaries that are valid. */
  assert_int_equal(chars("\xC2\x80"), 1);                 /* U+0080 */
  assert_int_equal(chars("\xE0\xA0\x80"), 1);             /* U+0800 */
  assert_int_equal(chars("\xED\x9F\xBF"), 1);             /* U+D7FF, below surrogates */
  assert_int_equal(chars("\xEE\x80\x80"), 1);             /* U+E000, above surrogates */
  assert_int_equal(chars("\xF0\x90\x80\x80"), 1);         /* U+10000 */
  assert_int_equal(chars("\xF4\x8F\xBF\xBF"), 1);         /* U+10FFFF */
  /* The length argument is honoured, NUL included. */
  assert_int_equal(kehu_utf8_chars("a\0b", 3), 3);
  assert_int_equal(kehu_utf8_chars("abc", 2), 2);
  assert_int_equal(kehu_utf8_chars("中文", 3), 1);
}

static void test_utf8_invalid(void **state)
{
  (void)state;
  static const char *const bad[] = {
      "\xC0\x80",               /* overlong NUL */
      "\xC1\xBF",               /* overlong 0x7F */
      "\xE0\x80\x80",           /* overlong, 3 bytes */
      "\xE0\x9F\xBF",           /* overlong U+07FF */
      "\xF0\x80\x80\x80",       /* overlong, 4 bytes */
      "\xF0\x8F\xBF\xBF",       /* overlong U+FFFF */
      "\xED\xA0\x80",           /* U+D800, a surrogate */
      "\xED\xBF\xBF",           /* U+DFFF */
      "\xF4\x90\x80\x80",       /* U+110000 */
      "\xF7\xBF\xBF\xBF",
      "\xF8\x88\x80\x80\x80",   /* 5-byte form */
      "\xFF",
      "\xFE",
      "\x80",                   /* a lone continuation byte */
      "a\xBF" "b",
      "\xE4\xB8",               /* truncated 中 */
      "\xF0\x9F\x98",           /* truncated emoji */
      "\xC2",
      "\xC2" "A",               /* continuation replaced by ASCII */
      "\xE4\xB8" "A",
      "\xE4" "A" "\xAD",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (chars(bad[i]) != -1)
      fail_msg("case %zu accepted", i);
  /* Truncated by the length argument, the bytes after being valid. */
  assert_int_equal(kehu_utf8_chars("中文", 5), -1);
  assert_int_equal(kehu_utf8_chars("\xF0\x9F\x98\x80", 3), -1);
  /* An invalid sequence after valid text still fails the whole. */
  assert_int_equal(chars("正常文字\xED\xA0\x80"), -1);
}

/* ---- kehu_check_name ---- */

static char *repeat(const char *unit, int n, const char *prefix, const char *suffix)
{
  size_t len = strlen(prefix) + strlen(unit) * (size_t)n + strlen(suffix) + 1;
  char *s = malloc(len);
  assert_non_null(s);
  strcpy(s, prefix);
  for (int i = 0; i < n; i++)
    strcat(s, unit);
  strcat(s, suffix);
  return s;
}

static void test_name_trims_spaces(void **state)
{
  (void)state;
  kehu_error err = {0};
  char v[] = "   北京 ACME 有限公司  ";
  assert_int_equal(kehu_check_name("name", v, 200, &err), KEHU_OK);
  assert_string_equal(v, "北京 ACME 有限公司");   /* inner spaces stay */
  char w[] = "x";
  assert_int_equal(kehu_check_name("name", w, 200, &err), KEHU_OK);
  assert_string_equal(w, "x");
  char u[] = " y";
  assert_int_equal(kehu_check_name("name", u, 1, &err), KEHU_OK);
  assert_string_equal(u, "y");
}

static void test_name_empty_after_trim(void **state)
{
  (void)state;
  const char *cases[] = {"", " ", "      "};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char v[16];
    strcpy(v, cases[i]);
    kehu_error err = {0};
    assert_int_equal(kehu_check_name("short_name", v, 200, &err), KEHU_INVALID);
    assert_int_equal(err.status, KEHU_INVALID);
    assert_string_equal(err.field, "short_name");
    assert_non_null(strstr(err.message, "short_name"));
  }
}

static void test_name_length_in_characters(void **state)
{
  (void)state;
  kehu_error err = {0};
  char *ok = repeat("中", 200, "", "");
  assert_int_equal(strlen(ok), 600);   /* 600 bytes, 200 characters */
  assert_int_equal(kehu_check_name("name", ok, KEHU_MAX_NAME_CHARS, &err), KEHU_OK);
  free(ok);
  char *over = repeat("中", 201, "", "");
  assert_int_equal(kehu_check_name("name", over, KEHU_MAX_NAME_CHARS, &err), KEHU_INVALID);
  assert_string_equal(err.field, "name");
  free(over);
  /* 4-byte characters count as one too. */
  char *emoji = repeat("\xF0\x9F\x98\x80", 200, "", "");
  assert_int_equal(kehu_check_name("name", emoji, KEHU_MAX_NAME_CHARS, &err), KEHU_OK);
  free(emoji);
  /* Spaces trimmed away do not count. */
  char *padded = repeat("中", 200, "  ", "   ");
  assert_int_equal(kehu_check_name("name", padded, KEHU_MAX_NAME_CHARS, &err), KEHU_OK);
  assert_int_equal(strlen(padded), 600);
  free(padded);
  /* 201 ASCII is over, 200 is not. */
  char *a200 = repeat("a", 200, "", ""), *a201 = repeat("a", 201, "", "");
  assert_int_equal(kehu_check_name("name", a200, KEHU_MAX_NAME_CHARS, &err), KEHU_OK);
  assert_int_equal(kehu_check_name("name", a201, KEHU_MAX_NAME_CHARS, &err), KEHU_INVALID);
  free(a200);
  free(a201);
}

static void test_name_rejects_control_and_bad_utf8(void **state)
{
  (void)state;
  const char *cases[] = {
      "A\tB", "A\nB", "\tA", "A\n", "A\rB", "A\x01" "B", "A\x7F" "B",
      "A\xC2\x85" "B",   /* U+0085 NEL, a C1 control */
      "A\xC2\x9F" "B",   /* U+009F */
      "A\xC0\x80" "B",   /* overlong NUL */
      "\xE4\xB8",        /* truncated */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char v[32];
    strcpy(v, cases[i]);
    kehu_error err = {0};
    if (kehu_check_name("name", v, 200, &err) != KEHU_INVALID)
      fail_msg("case %zu accepted", i);
    assert_string_equal(err.field, "name");
  }
  /* U+00A0 (C2 A0) is not a control character. */
  char nbsp[] = "A\xC2\xA0" "B";
  kehu_error err = {0};
  assert_int_equal(kehu_check_name("name", nbsp, 200, &err), KEHU_OK);
}

static void test_text_allows_newline_not_other_controls(void **state)
{
  (void)state;
  kehu_error err = {0};
  assert_int_equal(kehu_check_text("notes", "line 1\nline 2\tend", 100, &err), KEHU_OK);
  assert_int_equal(kehu_check_text("notes", "bell\x07", 100, &err), KEHU_INVALID);
  assert_string_equal(err.field, "notes");
  char *big = repeat("字", 10001, "", "");
  assert_int_equal(kehu_check_text("notes", big, KEHU_MAX_TEXT_CHARS, &err), KEHU_INVALID);
  big[strlen(big) - 3] = '\0';
  assert_int_equal(kehu_check_text("notes", big, KEHU_MAX_TEXT_CHARS, &err), KEHU_OK);
  free(big);
}

/* ---- stages ---- */

static void test_stage_canonical(void **state)
{
  (void)state;
  assert_string_equal(kehu_stage_canonical("潜在"), "potential");
  assert_string_equal(kehu_stage_canonical("意向"), "intent");
  assert_string_equal(kehu_stage_canonical("成交"), "closed");
  assert_string_equal(kehu_stage_canonical("流失"), "lost");
  assert_string_equal(kehu_stage_canonical("potential"), "potential");
  assert_string_equal(kehu_stage_canonical("intent"), "intent");
  assert_string_equal(kehu_stage_canonical("closed"), "closed");
  assert_string_equal(kehu_stage_canonical("lost"), "lost");
  assert_null(kehu_stage_canonical("bogus"));
  assert_null(kehu_stage_canonical(""));
  assert_null(kehu_stage_canonical(NULL));
  assert_null(kehu_stage_canonical("潜"));          /* a prefix */
  assert_null(kehu_stage_canonical("潜在客户"));
  assert_null(kehu_stage_canonical("lost "));
  assert_null(kehu_stage_canonical("company"));     /* a kind, not a stage */
}

/* ---- kehu_check_customer ---- */

static void test_customer_requires_name_when_creating(void **state)
{
  (void)state;
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  kehu_error err = {0};
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_INVALID);
  assert_int_equal(err.status, KEHU_INVALID);
  assert_string_equal(err.field, "name");
  /* An update need not touch the name. */
  kehu_error_clear(&err);
  assert_int_equal(kehu_check_customer(&c, 0, &err), KEHU_OK);
  /* A blank name is no name. */
  char blank[] = "   ";
  c.name = blank;
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_INVALID);
  assert_string_equal(err.field, "name");
  assert_int_equal(kehu_check_customer(&c, 0, &err), KEHU_INVALID);
  assert_string_equal(err.field, "name");
}

/* A tag holding a list separator would come back from an export as two. */
static void test_tags_without_separators(void **state)
{
  (void)state;
  char name[] = "上海示例贸易有限公司";
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  c.name = name;
  const char *bad[] = {"甲,乙", "华东，重点", "a;b", "甲；乙", "甲、乙"};
  kehu_error err = {0};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char tag[32];
    snprintf(tag, sizeof tag, "%s", bad[i]);
    char *tags[] = {tag};
    c.tags = tags;
    c.n_tags = 1;
    assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_INVALID);
    assert_string_equal(err.field, "tags");
  }
  char ok[] = "重点-华东 (A)";
  char *tags[] = {ok};
  c.tags = tags;
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_OK);
}

static void test_customer_fields_named(void **state)
{
  (void)state;
  char name[] = "  上海示例贸易有限公司 ";
  char stage[] = "意向";
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  c.name = name;
  c.stage = stage;
  kehu_error err = {0};
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_OK);
  assert_string_equal(c.name, "上海示例贸易有限公司");   /* trimmed in place */
  assert_string_equal(c.stage, "意向");                 /* checked, not rewritten */

  c.stage = "bogus";
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_INVALID);
  assert_string_equal(err.field, "stage");
  c.stage = NULL;

  c.kind = "robot";
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_INVALID);
  assert_string_equal(err.field, "kind");
  c.kind = "个人";
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_OK);

  c.owner = "bad owner";
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_INVALID);
  assert_string_equal(err.field, "owner");
  c.owner = "li.wei";
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_OK);

  c.first_contact_at = "2023-02-29";
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_INVALID);
  assert_string_equal(err.field, "first_contact_at");
  c.first_contact_at = "2024-02-29";
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_OK);

  char code[] = "KH\t2024";
  c.external_code = code;
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_INVALID);
  assert_string_equal(err.field, "external_code");
  c.external_code = NULL;

  char *tags[65];
  char tagbuf[65][8];
  for (int i = 0; i < 65; i++) {
    snprintf(tagbuf[i], sizeof tagbuf[i], "t%d", i);
    tags[i] = tagbuf[i];
  }
  c.tags = tags;
  c.n_tags = 65;
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_INVALID);
  assert_string_equal(err.field, "tags");
  c.n_tags = 64;
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_OK);
  c.n_tags = 0;

  c.notes = "bad\x01notes";
  assert_int_equal(kehu_check_customer(&c, 1, &err), KEHU_INVALID);
  assert_string_equal(err.field, "notes");
}

/* ---- dates ---- */

static void test_date_parse(void **state)
{
  (void)state;
  int y = 0, m = 0, d = 0;
  assert_int_equal(kehu_date_parse("2024-02-29", &y, &m, &d), 0);
  assert_int_equal(y, 2024);
  assert_int_equal(m, 2);
  assert_int_equal(d, 29);
  assert_int_equal(kehu_date_parse("2000-02-29", &y, &m, &d), 0);   /* 400-year rule */
  assert_int_equal(kehu_date_parse("2024-12-31", &y, &m, &d), 0);
  assert_int_equal(kehu_date_parse("1900-01-01", &y, &m, &d), 0);
  assert_int_equal(kehu_date_parse("9999-12-31", &y, &m, &d), 0);
  const char *bad[] = {
      "2023-02-29", "1900-02-29",   /* not leap years */
      "2024-13-01", "2024-00-10", "2024-01-00", "2024-01-32", "2024-04-31", "2024-06-31",
      "2024-1-01", "2024-01-1", "24-01-01", "2024/01/01", "20240101", "2024-01-01 ",
      " 2024-01-01", "2024-01-01T00:00", "2024-0a-01", "", "1899-12-31", "-024-01-01",
      "2024-+1-01",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (kehu_date_parse(bad[i], &y, &m, &d) == 0)
      fail_msg("accepted '%s'", bad[i]);
  assert_int_equal(kehu_date_parse(NULL, &y, &m, &d), -1);
  assert_true(kehu_days_from_civil(1970, 1, 1) == 0);
  assert_true(kehu_days_from_civil(2024, 11, 20) == 20047);
  assert_true(kehu_days_from_civil(1969, 12, 31) == -1);
}

/* ---- times ---- */

static int64_t local_mktime(int y, int mo, int d, int h, int mi, int s)
{
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                  .tm_min = mi, .tm_sec = s, .tm_isdst = -1};
  return (int64_t)mktime(&tm);
}

static void test_time_parse_utc_and_offsets(void **state)
{
  (void)state;
  int64_t t = 0;
  assert_int_equal(kehu_time_parse("2024-11-20T08:00:00Z", &t), 0);
  assert_true(t == T_2024_11_20_0800Z);
  t = 0;
  assert_int_equal(kehu_time_parse("2024-11-20T16:00:00+08:00", &t), 0);
  assert_true(t == T_2024_11_20_0800Z);
  t = 0;
  assert_int_equal(kehu_time_parse("2024-11-20T03:00:00-05:00", &t), 0);
  assert_true(t == T_2024_11_20_0800Z);
  t = 0;
  assert_int_equal(kehu_time_parse("2024-11-20T08:00Z", &t), 0);   /* seconds optional */
  assert_true(t == T_2024_11_20_0800Z);
  assert_int_equal(kehu_time_parse("2024-11-20T13:30:00+05:30", &t), 0);
  assert_true(t == T_2024_11_20_0800Z);
  assert_int_equal(kehu_time_parse("2024-11-20T08:00:59Z", &t), 0);
  assert_true(t == T_2024_11_20_0800Z + 59);
  assert_int_equal(kehu_time_parse("1970-01-01T00:00:00Z", &t), 0);
  assert_true(t == 0);
  /* Crossing midnight with an offset. */
  assert_int_equal(kehu_time_parse("2024-11-21T00:30:00+08:00", &t), 0);
  assert_true(t == T_2024_11_20_0800Z + 8 * 3600 + 30 * 60);
}

static void test_time_parse_local(void **state)
{
  (void)state;
  /* TZ is Asia/Shanghai (UTC+8, no DST) for this whole program. */
  int64_t t = 0;
  assert_int_equal(kehu_time_parse("2024-11-20 08:00", &t), 0);
  assert_true(t == local_mktime(2024, 11, 20, 8, 0, 0));
  assert_true(t == T_2024_11_20_0800Z - 8 * 3600);
  assert_int_equal(kehu_time_parse("2024-11-20", &t), 0);   /* local midnight */
  assert_true(t == local_mktime(2024, 11, 20, 0, 0, 0));
  assert_true(t == (int64_t)1732032000);
  assert_int_equal(kehu_time_parse("2024-11-20T08:00:30", &t), 0);   /* ISO, no offset */
  assert_true(t == local_mktime(2024, 11, 20, 8, 0, 30));
}

static void test_time_parse_rejects_junk(void **state)
{
  (void)state;
  const char *bad[] = {
      "", "junk", "2024-11-20T", "2024-11-20 ", "2024-11-20T8:00Z", "2024-11-20T24:00Z",
      "2024-11-20T23:60Z", "2024-11-20T23:59:60Z", "2024-11-20T08:00:00+15:00",
      "2024-11-20T08:00:00+08:60", "2024-11-20T08:00:00Zjunk", "2024-11-20T08:00:00+08:00x",
      "2024-11-20X08:00", "2024-11-20T08", "2024-11-20T08:00:0Z", "2024-02-30T00:00Z",
      "2024-11-20T08:00:00 Z", "2024-11-20T08:00:00+8", "2024-11-20T08:00:00+",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int64_t t = 424242;
    if (kehu_time_parse(bad[i], &t) == 0)
      fail_msg("accepted '%s'", bad[i]);
  }
  int64_t t;
  assert_int_equal(kehu_time_parse(NULL, &t), -1);
}

static void test_time_format_iso(void **state)
{
  (void)state;
  char out[32];
  kehu_time_format_iso(0, out);
  assert_string_equal(out, "1970-01-01T00:00:00Z");
  kehu_time_format_iso(T_2024_11_20_0800Z, out);
  assert_string_equal(out, "2024-11-20T08:00:00Z");
  kehu_time_format_iso(-1, out);
  assert_string_equal(out, "1969-12-31T23:59:59Z");
  kehu_time_format_iso(-86400, out);
  assert_string_equal(out, "1969-12-31T00:00:00Z");
  kehu_time_format_iso(951782400, out);
  assert_string_equal(out, "2000-02-29T00:00:00Z");
  kehu_time_format_iso(4102444799, out);
  assert_string_equal(out, "2099-12-31T23:59:59Z");
  kehu_time_format_iso(253402300799, out);
  assert_string_equal(out, "9999-12-31T23:59:59Z");
  /* format and parse are inverses, over a wide range of seconds. */
  for (int64_t v = -2208988800; v < 4102444800; v += 7777777) {   /* 1900..2100 */
    int64_t back = 0;
    kehu_time_format_iso(v, out);
    assert_int_equal(kehu_time_parse(out, &back), 0);
    assert_true(back == v);
  }
}

/* ---- money ---- */

static void test_money_parse(void **state)
{
  (void)state;
  int64_t f = -1;
  assert_int_equal(kehu_money_parse("12345.67", &f), 0);
  assert_true(f == 1234567);
  assert_int_equal(kehu_money_parse("0.5", &f), 0);
  assert_true(f == 50);
  assert_int_equal(kehu_money_parse("0.05", &f), 0);
  assert_true(f == 5);
  assert_int_equal(kehu_money_parse("0", &f), 0);
  assert_true(f == 0);
  assert_int_equal(kehu_money_parse("0.00", &f), 0);
  assert_true(f == 0);
  assert_int_equal(kehu_money_parse("7", &f), 0);
  assert_true(f == 700);
  assert_int_equal(kehu_money_parse("7.10", &f), 0);
  assert_true(f == 710);
  assert_int_equal(kehu_money_parse("10000000000000", &f), 0);   /* 10^13 yuan exactly */
  assert_true(f == 1000000000000000LL);
  assert_int_equal(kehu_money_parse("10000000000000.00", &f), 0);
  assert_true(f == 1000000000000000LL);
  assert_int_equal(kehu_money_parse("9999999999999.99", &f), 0);
  assert_true(f == 999999999999999LL);
  const char *bad[] = {
      "1.234", "-1", "-0.01", "10000000000000.01", "10000000000001", "99999999999999",
      "100000000000000", "", "1.", ".5", "+1", " 1", "1 ", "1e3", "1,000", "1.2.3", "¥1",
      "0x10", "1.-5", "1..5",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    f = 4242;
    if (kehu_money_parse(bad[i], &f) == 0)
      fail_msg("accepted '%s' as %lld", bad[i], (long long)f);
  }
  assert_int_equal(kehu_money_parse(NULL, &f), -1);
}

static void test_money_format(void **state)
{
  (void)state;
  char out[32];
  kehu_money_format(1234567, out);
  assert_string_equal(out, "12345.67");
  kehu_money_format(5, out);
  assert_string_equal(out, "0.05");
  kehu_money_format(0, out);
  assert_string_equal(out, "0.00");
  kehu_money_format(50, out);
  assert_string_equal(out, "0.50");
  kehu_money_format(100, out);
  assert_string_equal(out, "1.00");
  kehu_money_format(1000000000000000LL, out);
  assert_string_equal(out, "10000000000000.00");
  kehu_money_format(-5, out);
  assert_string_equal(out, "-0.05");
  kehu_money_format(INT64_MIN, out);
  assert_string_equal(out, "-92233720368547758.08");
  /* Everything format writes (for valid amounts) parses back. */
  const int64_t vals[] = {0, 1, 9, 10, 99, 100, 101, 1234567, 999999999999999LL,
                          1000000000000000LL};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
    int64_t back = -1;
    kehu_money_format(vals[i], out);
    assert_int_equal(kehu_money_parse(out, &back), 0);
    assert_true(back == vals[i]);
  }
}

int main(void)
{
  setenv("TZ", "Asia/Shanghai", 1);
  tzset();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8_valid),
      cmocka_unit_test(test_utf8_invalid),
      cmocka_unit_test(test_name_trims_spaces),
      cmocka_unit_test(test_name_empty_after_trim),
      cmocka_unit_test(test_name_length_in_characters),
      cmocka_unit_test(test_name_rejects_control_and_bad_utf8),
      cmocka_unit_test(test_text_allows_newline_not_other_controls),
      cmocka_unit_test(test_stage_canonical),
      cmocka_unit_test(test_customer_requires_name_when_creating),
      cmocka_unit_test(test_customer_fields_named),
    cmocka_unit_test(test_tags_without_separators),
      cmocka_unit_test(test_date_parse),
      cmocka_unit_test(test_time_parse_utc_and_offsets),
      cmocka_unit_test(test_time_parse_local),
      cmocka_unit_test(test_time_parse_rejects_junk),
      cmocka_unit_test(test_time_format_iso),
      cmocka_unit_test(test_money_parse),
      cmocka_unit_test(test_money_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
