/* Demo data for `kehu-admin seed`: customer number i, with its contacts and
 * follow-ups, as a pure function of i. Names are distributed like the
 * PostgreSQL peer's data generator (gen.sql; docs/architecture.md#performance-design)
 * and built from the same word lists, so benchmark searches hit kehu as often
 * as they hit the peer:
 *   65 %  city [+ 市] + brand stem + business kind + legal form  深圳市星河信息技术有限公司
 *   20 %  Latin prefix + Latin stem + suffix                     Pacific Robotics Co., Ltd.
 *   15 %  city + Latin prefix + business kind + legal form       上海Nova网络科技有限公司
 * No global state and no rand(): every choice comes from a hash of i, so
 * seeding threads may split the range of i however they like. */
#ifndef KEHU_SEED_DATA_H
#define KEHU_SEED_DATA_H

#include <stddef.h>
#include <stdint.h>

/* first_contact_at is this date minus first_contact_days_ago, so the same i
 * gives the same record whenever it is generated. A seeder that prefers data
 * relative to today can use first_contact_days_ago instead. */
#define KEHU_SEED_BASE_YEAR 2026
#define KEHU_SEED_BASE_MONTH 11
#define KEHU_SEED_BASE_DAY 1

/* The 2-character brand stems of Chinese names (gen.sql's gen_stems(), in
 * the same order); benchmark search (e) picks one at random. */
#define KEHU_SEED_BRAND_STEM_COUNT 40
const char *kehu_seed_brand_stem(size_t k); /* k < KEHU_SEED_BRAND_STEM_COUNT */

#define KEHU_SEED_CONTACTS 2
#define KEHU_SEED_FOLLOWUPS 3

typedef enum {
  KEHU_SEED_NAME_CHINESE, /* 深圳市星河信息技术有限公司 */
  KEHU_SEED_NAME_LATIN,   /* Pacific Robotics Co., Ltd. */
  KEHU_SEED_NAME_MIXED    /* 上海Nova网络科技有限公司 */
} kehu_seed_name_style;

typedef struct {
  char name[256];          /* official name, <= 200 characters */
  char short_name[64];     /* 星河信息 / Pacific Robotics / Nova网络 */
  const char *kind;        /* "company" (about 95 %) or "individual" */
  const char *stage;       /* potential | intent | closed | lost */
  const char *industry;    /* Chinese industry label matching the business kind */
  const char *size;        /* "1-50", "50-100", "100-500", "500-1000", "1000+" */
  char region[64];         /* "华东/上海": region / city of the address */
  char address[160];       /* street address in that city */
  const char *source;      /* website | exhibition | referral | phone | other */
  const char *tags[3];
  int ntags;
  char external_code[16];  /* "KH" + 7 digits of i + 1; unique for i < 10^13 */
  char first_contact_at[11];     /* YYYY-MM-DD, base date minus first_contact_days_ago */
  int64_t first_contact_days_ago; /* 1..1095 */
  kehu_seed_name_style name_style;
  char email_domain[48];   /* the company's mail domain (a mail provider for individuals) */
  struct {
    char name[32];
    char title[32];
    char mobile[16];       /* 11 digits, 1[3-9]...; unique for i < 8 * 10^8 */
    char email[64];
    char birthday[11];     /* YYYY-MM-DD, born 1965..2000 */
    int decision_maker;
  } contacts[KEHU_SEED_CONTACTS];
  /* Oldest first: followups[0] is the first contact itself (days_ago equals
   * first_contact_days_ago), followups[2] the latest. About one customer in
   * seven has had no follow-up for 180 days or more, so dormant reminders fire. */
  struct {
    const char *method;    /* phone | visit | email | meeting | im | other */
    char summary[200];
    int64_t days_ago;      /* before the time of seeding */
    int contact;           /* index into contacts of the person talked to */
  } followups[KEHU_SEED_FOLLOWUPS];
} kehu_seed_customer;

/* Fills out customer number i (0-based) of the demo data; the same i always
 * gives the same record. Thread-safe. */
void kehu_seed_customer_make(uint64_t i, kehu_seed_customer *out);

#endif
