/* The demo-data generator of `kehu-admin seed`: every record would pass the
 * server's validation (docs/architecture.md#validation), the same i gives the same record, and the
 * names are distributed like the peer's (gen.sql) so benchmarks compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <utf8proc.h>

#include "seed_data.h"

#define SAMPLE 10000

/* gen.sql's gen_stems(), copied rather than taken from the generator, so a
 * drift between the two lists fails here. */
static const char *const peer_stems[40] = {
  "星河", "华东", "宏达", "金鼎", "天成", "恒信", "瑞丰", "博远", "鑫源", "嘉禾",
  "汇通", "安泰", "凯盛", "中联", "永利", "明德", "光华", "云创", "智联", "诚信",
  "富强", "广汇", "长青", "东方", "万和", "顺达", "高新", "兴邦", "立新", "世纪",
  "宇航", "晨光", "启明", "祥瑞", "辉腾", "润泽", "蓝海", "新星", "海纳", "天元",
};

/* Code points of valid UTF-8 without control characters, or -1. */
static long text_chars(const char *s) {
  const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
  utf8proc_ssize_t left = (utf8proc_ssize_t)strlen(s);
  long n = 0;
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t used = utf8proc_iterate(p, left, &cp);
    if (used <= 0) return -1;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return -1;
    p += used;
    left -= used;
    n++;
  }
  return n;
}

/* A generated text field: valid, non-empty, and with room to spare — a
 * field that fills its buffer may have lost a piece. */
static void check_text(const char *what, const char *s, size_t bufsize) {
  if (text_chars(s) <= 0 || strlen(s) + 1 >= bufsize)
    fail_msg("%s: invalid, empty or too long: \"%s\"", what, s);
}

static int is_mobile(const char *s) {
  if (strlen(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9') return 0;
  for (int k = 0; k < 11; k++)
    if (s[k] < '0' || s[k] > '9') return 0;
  return 1;
}

static int is_email(const char *s) {
  const char *at = strchr(s, '@');
  if (at == NULL || at == s || strchr(at + 1, '@') != NULL) return 0;
  const char *domain = at + 1;
  if (strchr(domain, '.') == NULL || domain[0] == '.' || domain[strlen(domain) - 1] == '.' ||
      strstr(domain, "..") != NULL)
    return 0;
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= ' ' || c >= 0x7f) return 0; /* ASCII, no whitespace or controls */
  }
  return 1;
}

/* A real calendar date YYYY-MM-DD; its days since 1970-01-01 in *days. */
static int is_date(const char *s, long *days) {
  int y, m, d;
  char tail;
  if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return 0;
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap)) return 0;
  long yy = y - (m <= 2), era = yy / 400, yoe = yy - era * 400;
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  *days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
  return 1;
}

static int one_of(const char *s, const char *const *set) {
  for (; *set; set++)
    if (s != NULL && strcmp(s, *set) == 0) return 1;
  return 0;
}

static void test_records_are_valid(void **state) {
  (void)state;
  static const char *const kinds[] = {"company", "individual", NULL};
  static const char *const stages[] = {"potential", "intent", "closed", "lost", NULL};
  static const char *const sizes[] = {"1-50", "50-100", "100-500", "500-1000", "1000+", NULL};
  static const char *const sources[] = {"website", "exhibition", "referral", "phone", "other", NULL};
  static const char *const methods[] = {"phone", "visit", "email", "meeting", "im", "other", NULL};
  long base;
  char base_text[16];
  snprintf(base_text, sizeof base_text, "%04d-%02d-%02d", KEHU_SEED_BASE_YEAR, KEHU_SEED_BASE_MONTH,
           KEHU_SEED_BASE_DAY);
  assert_true(is_date(base_text, &base));

  static kehu_seed_customer c;
  for (uint64_t i = 0; i < SAMPLE; i++) {
    kehu_seed_customer_make(i, &c);
    check_text("name", c.name, sizeof c.name);
    assert_true(text_chars(c.name) <= 200);
    check_text("short_name", c.short_name, sizeof c.short_name);
    check_text("region", c.region, sizeof c.region);
    check_text("address", c.address, sizeof c.address);
    check_text("industry", c.industry, 64);
    assert_true(one_of(c.kind, kinds));
    assert_true(one_of(c.stage, stages));
    assert_true(one_of(c.size, sizes));
    assert_true(one_of(c.source, sources));
    assert_true(c.ntags >= 0 && c.ntags <= 3);
    for (int k = 0; k < c.ntags; k++) {
      check_text("tag", c.tags[k], 64);
      for (int m = 0; m < k; m++) assert_string_not_equal(c.tags[k], c.tags[m]);
    }

    /* The region's city is the address's, and the name's when it has one. */
    const char *city = strchr(c.region, '/');
    assert_non_null(city);
    city++;
    assert_memory_equal(c.address, city, strlen(city));
    if (c.name_style != KEHU_SEED_NAME_LATIN) assert_memory_equal(c.name, city, strlen(city));
    if (strcmp(c.kind, "individual") == 0) assert_string_equal(c.size, "1-50");

    long day;
    assert_true(is_date(c.first_contact_at, &day));
    assert_int_equal(day, base - c.first_contact_days_ago);
    assert_true(c.first_contact_days_ago >= 1 && c.first_contact_days_ago <= 3 * 365);

    for (int j = 0; j < KEHU_SEED_CONTACTS; j++) {
      check_text("contact name", c.contacts[j].name, sizeof c.contacts[j].name);
      check_text("contact title", c.contacts[j].title, sizeof c.contacts[j].title);
      check_text("contact email", c.contacts[j].email, sizeof c.contacts[j].email);
      if (!is_mobile(c.contacts[j].mobile)) fail_msg("mobile %s", c.contacts[j].mobile);
      if (!is_email(c.contacts[j].email)) fail_msg("email %s", c.contacts[j].email);
      if (!is_date(c.contacts[j].birthday, &day)) fail_msg("birthday %s", c.contacts[j].birthday);
    }
    assert_string_not_equal(c.contacts[0].name, c.contacts[1].name);
    assert_string_not_equal(c.contacts[0].email, c.contacts[1].email);

    assert_int_equal(c.followups[0].days_ago, c.first_contact_days_ago);
    for (int k = 0; k < KEHU_SEED_FOLLOWUPS; k++) {
      assert_true(one_of(c.followups[k].method, methods));
      check_text("summary", c.followups[k].summary, sizeof c.followups[k].summary);
      assert_null(strstr(c.followups[k].summary, "{c}"));
      assert_true(c.followups[k].contact >= 0 && c.followups[k].contact < KEHU_SEED_CONTACTS);
      assert_true(c.followups[k].days_ago >= 0);
      if (k > 0) assert_true(c.followups[k].days_ago <= c.followups[k - 1].days_ago);
    }
  }
}

static void assert_same_record(const kehu_seed_customer *a, const kehu_seed_customer *b) {
  assert_string_equal(a->name, b->name);
  assert_string_equal(a->short_name, b->short_name);
  assert_string_equal(a->kind, b->kind);
  assert_string_equal(a->stage, b->stage);
  assert_string_equal(a->industry, b->industry);
  assert_string_equal(a->size, b->size);
  assert_string_equal(a->region, b->region);
  assert_string_equal(a->address, b->address);
  assert_string_equal(a->source, b->source);
  assert_int_equal(a->ntags, b->ntags);
  for (int k = 0; k < a->ntags; k++) assert_string_equal(a->tags[k], b->tags[k]);
  assert_string_equal(a->external_code, b->external_code);
  assert_string_equal(a->first_contact_at, b->first_contact_at);
  for (int j = 0; j < KEHU_SEED_CONTACTS; j++) {
    assert_string_equal(a->contacts[j].name, b->contacts[j].name);
    assert_string_equal(a->contacts[j].title, b->contacts[j].title);
    assert_string_equal(a->contacts[j].mobile, b->contacts[j].mobile);
    assert_string_equal(a->contacts[j].email, b->contacts[j].email);
    assert_string_equal(a->contacts[j].birthday, b->contacts[j].birthday);
    assert_int_equal(a->contacts[j].decision_maker, b->contacts[j].decision_maker);
  }
  for (int k = 0; k < KEHU_SEED_FOLLOWUPS; k++) {
    assert_string_equal(a->followups[k].method, b->followups[k].method);
    assert_string_equal(a->followups[k].summary, b->followups[k].summary);
    assert_int_equal(a->followups[k].days_ago, b->followups[k].days_ago);
  }
  /* The generator zeroes the record first, so even unused bytes agree. */
  assert_memory_equal(a, b, sizeof *a);
}

static void test_same_i_same_record(void **state) {
  (void)state;
  static kehu_seed_customer a, b, other;
  const uint64_t samples[] = {0, 1, 2, 41, 9999, 123456789, UINT64_MAX};
  for (size_t k = 0; k < sizeof samples / sizeof samples[0]; k++) {
    memset(&a, 0xAA, sizeof a);
    memset(&b, 0x55, sizeof b);
    kehu_seed_customer_make(samples[k], &a);
    kehu_seed_customer_make(samples[k] ^ 1, &other); /* nothing carries over between calls */
    kehu_seed_customer_make(samples[k], &b);
    assert_same_record(&a, &b);
  }
  for (uint64_t i = 0; i < 1000; i++) {
    kehu_seed_customer_make(i, &a);
    kehu_seed_customer_make(i, &b);
    assert_same_record(&a, &b);
  }
}

/* 65 / 20 / 15 like gen.sql, classified by the text alone: Latin names start
 * with an ASCII letter, mixed ones contain one, Chinese ones none. */
static void test_name_styles_like_the_peer(void **state) {
  (void)state;
  long chinese = 0, latin = 0, mixed = 0, individuals = 0, dormant = 0;
  static kehu_seed_customer c;
  for (uint64_t i = 0; i < SAMPLE; i++) {
    kehu_seed_customer_make(i, &c);
    int starts = (c.name[0] >= 'A' && c.name[0] <= 'Z') || (c.name[0] >= 'a' && c.name[0] <= 'z');
    int contains = 0;
    for (const char *p = c.name; *p; p++)
      if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) contains = 1;
    kehu_seed_name_style style = starts ? KEHU_SEED_NAME_LATIN
                                 : contains ? KEHU_SEED_NAME_MIXED : KEHU_SEED_NAME_CHINESE;
    assert_int_equal(style, c.name_style);
    chinese += style == KEHU_SEED_NAME_CHINESE;
    latin += style == KEHU_SEED_NAME_LATIN;
    mixed += style == KEHU_SEED_NAME_MIXED;
    individuals += strcmp(c.kind, "individual") == 0;
    dormant += c.followups[2].days_ago >= 180;
  }
  print_message("chinese %ld latin %ld mixed %ld individual %ld dormant %ld of %d\n", chinese, latin,
                mixed, individuals, dormant, SAMPLE);
  assert_in_range(chinese, 6200, 6800);
  assert_in_range(latin, 1700, 2300);
  assert_in_range(mixed, 1200, 1800);
  assert_in_range(individuals, 300, 700);
  assert_in_range(dormant, 1000, 2200);
}

static int compare_strings(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

static void test_codes_and_mobiles_unique(void **state) {
  (void)state;
  char(*codes)[16] = calloc(SAMPLE, 16);
  char(*mobiles)[16] = calloc(2 * SAMPLE, 16);
  assert_non_null(codes);
  assert_non_null(mobiles);
  static kehu_seed_customer c;
  for (uint64_t i = 0; i < SAMPLE; i++) {
    kehu_seed_customer_make(i, &c);
    assert_int_equal(strlen(c.external_code), 9);
    assert_memory_equal(c.external_code, "KH", 2);
    memcpy(codes[i], c.external_code, 16);
    for (int j = 0; j < KEHU_SEED_CONTACTS; j++) memcpy(mobiles[2 * i + (uint64_t)j], c.contacts[j].mobile, 16);
  }
  qsort(codes, SAMPLE, 16, compare_strings);
  for (size_t k = 1; k < SAMPLE; k++) assert_string_not_equal(codes[k - 1], codes[k]);
  /* docs/architecture.md#duplicates makes customers sharing a mobile duplicates: seeded data has none. */
  qsort(mobiles, 2 * SAMPLE, 16, compare_strings);
  for (size_t k = 1; k < 2 * SAMPLE; k++) assert_string_not_equal(mobiles[k - 1], mobiles[k]);
  free(codes);
  free(mobiles);
}

static void test_every_peer_stem_appears(void **state) {
  (void)state;
  int seen[40] = {0};
  static kehu_seed_customer c;
  for (uint64_t i = 0; i < SAMPLE; i++) {
    kehu_seed_customer_make(i, &c);
    for (int k = 0; k < 40; k++)
      if (strstr(c.name, peer_stems[k]) != NULL) seen[k]++;
  }
  assert_int_equal(KEHU_SEED_BRAND_STEM_COUNT, 40);
  for (int k = 0; k < 40; k++) {
    assert_string_equal(kehu_seed_brand_stem((size_t)k), peer_stems[k]);
    if (seen[k] == 0) fail_msg("stem %s never appears", peer_stems[k]);
  }
  assert_null(kehu_seed_brand_stem(40));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_records_are_valid),
    cmocka_unit_test(test_same_i_same_record),
    cmocka_unit_test(test_name_styles_like_the_peer),
    cmocka_unit_test(test_codes_and_mobiles_unique),
    cmocka_unit_test(test_every_peer_stem_appears),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
