/* The value tier of one customer (docs/architecture.md#value-tiers), as a
 * pure function of its orders, its ticket ratings, the time and the
 * thresholds: no store, so that it can be tested on its own. */
#ifndef KEHU_TIER_RULE_H
#define KEHU_TIER_RULE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int64_t at;       /* Order.at, else created_at */
  int64_t amount;   /* fen */
} kehu_tier_order;

typedef struct {
  int64_t at;       /* when it was rated (the ticket's updated_at) */
  unsigned rating;  /* 1..5 */
} kehu_tier_rating;

/* [tiers] of kehud.conf; windows in days, the amount in fen. */
typedef struct {
  unsigned high_orders, high_window_days;
  int64_t high_amount;
  unsigned high_amount_days, potential_days, churn_days;
  unsigned negative_rating, negative_days;
} kehu_tier_rules;

typedef struct {
  const char *tier;        /* high, potential, churn_risk or normal */
  char reason[160];        /* in words: why this tier */
  char reason_public[160]; /* the same without amounts (kept in the history, which every
                              role reads; service may not see amounts) */
  int64_t next_at;         /* the earliest time the tier may change with no write (0: never) */
  int64_t last_order_at;   /* 0: never ordered */
  unsigned orders_3m, orders_12m;       /* in the high and the amount windows */
  int64_t amount_3m, amount_12m;
  int64_t last_negative_at;             /* a negative rating still in its window, else 0 */
} kehu_tier_result;

/* A window of D days holds what happened less than D days before now: an
 * order exactly D days old has left it. The rules are tried in the order
 * high, churn_risk, potential, normal; the first that holds wins. The
 * arrays need no order. */
void kehu_tier_compute(const kehu_tier_order *orders, size_t n_orders,
                       const kehu_tier_rating *ratings, size_t n_ratings, int64_t now,
                       const kehu_tier_rules *rules, kehu_tier_result *out);

#endif
