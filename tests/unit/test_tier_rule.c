/* The value tier of a customer as a pure function (core/tier_rule.c,
 * docs/architecture.md#value-tiers): each rule, the order they are tried in
 * where they overlap, the boundaries (an order exactly 90 days old, exactly
 * 100000.00 yuan) and the next time the tier could change by time alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tier_rule.h"

#define DAY 86400
#define NOW ((int64_t)1800000000)
#define YUAN(y) ((int64_t)(y) * 100)

static const kehu_tier_rules rules = {
  .high_orders = 2, .high_window_days = 90, .high_amount = YUAN(100000),
  .high_amount_days = 365, .potential_days = 180, .churn_days = 90,
  .negative_rating = 2, .negative_days = 90,
};

static kehu_tier_result compute(const kehu_tier_order *o, size_t n, const kehu_tier_rating *g,
                                size_t ng)
{
  kehu_tier_result r;
  kehu_tier_compute(o, n, g, ng, NOW, &rules, &r);
  return r;
}

static void test_no_order_is_normal(void **state)
{
  (void)state;
  kehu_tier_result r = compute(NULL, 0, NULL, 0);
  assert_string_equal(r.tier, "normal");
  assert_string_equal(r.reason, "no order yet");
  assert_int_equal(r.next_at, 0);   /* time alone changes nothing */
  assert_int_equal(r.last_order_at, 0);
}

static void test_high_at_exactly_the_amount(void **state)
{
  (void)state;
  kehu_tier_order o[] = {{NOW - 10 * DAY, YUAN(60000)}, {NOW - 5 * DAY, YUAN(40000)}};
  kehu_tier_result r = compute(o, 2, NULL, 0);
  assert_string_equal(r.tier, "high");
  assert_string_equal(r.reason, "2 orders in 90 days, 100000.00 yuan in 365 days");
  assert_string_equal(r.reason_public, "2 orders in 90 days, at least 100000 yuan in 365 days");
  assert_int_equal(r.orders_3m, 2);
  assert_int_equal(r.amount_12m, YUAN(100000));
  /* the older order leaves the 90 days first: then one order is not high */
  assert_int_equal(r.next_at, NOW - 10 * DAY + 90 * DAY);
}

static void test_one_fen_short_is_potential(void **state)
{
  (void)state;
  kehu_tier_order o[] = {{NOW - 10 * DAY, YUAN(60000)}, {NOW - 5 * DAY, YUAN(40000) - 1}};
  kehu_tier_result r = compute(o, 2, NULL, 0);
  assert_string_equal(r.tier, "potential");
  /* the last order turns 90 days old: churn_risk */
  assert_int_equal(r.next_at, NOW - 5 * DAY + 90 * DAY);
}

static void test_exactly_90_days_is_churn_risk(void **state)
{
  (void)state;
  kehu_tier_order at90[] = {{NOW - 90 * DAY, YUAN(10)}};
  kehu_tier_result r = compute(at90, 1, NULL, 0);
  assert_string_equal(r.tier, "churn_risk");
  assert_string_equal(r.reason, "no order for 90 days");
  assert_int_equal(r.orders_3m, 0);
  assert_int_equal(r.next_at, NOW - 90 * DAY + 180 * DAY);   /* it leaves the potential days */

  kehu_tier_order before90[] = {{NOW - 90 * DAY + 1, YUAN(10)}};
  r = compute(before90, 1, NULL, 0);
  assert_string_equal(r.tier, "potential");
  assert_int_equal(r.orders_3m, 1);
  assert_int_equal(r.next_at, NOW + 1);
}

static void test_high_wins_over_a_bad_rating(void **state)
{
  (void)state;
  kehu_tier_order o[] = {{NOW - DAY, YUAN(90000)}, {NOW - 2 * DAY, YUAN(20000)}};
  kehu_tier_rating g[] = {{NOW - DAY, 1}};
  kehu_tier_result r = compute(o, 2, g, 1);
  assert_string_equal(r.tier, "high");
  assert_int_equal(r.last_negative_at, NOW - DAY);
}

static void test_bad_rating_wins_over_potential(void **state)
{
  (void)state;
  kehu_tier_order o[] = {{NOW - DAY, YUAN(500)}};
  kehu_tier_rating g[] = {{NOW - 3 * DAY, 2}, {NOW - 2 * DAY, 4}};
  kehu_tier_result r = compute(o, 1, g, 2);
  assert_string_equal(r.tier, "churn_risk");
  assert_memory_equal(r.reason, "rated 2 on ", 11);
  assert_int_equal(r.last_negative_at, NOW - 3 * DAY);
  /* the rating leaves its 90 days before the order does */
  assert_int_equal(r.next_at, NOW - 3 * DAY + 90 * DAY);

  /* a good rating, or one 90 days old, is no warning */
  kehu_tier_rating old[] = {{NOW - 90 * DAY, 1}, {NOW - DAY, 3}};
  r = compute(o, 1, old, 2);
  assert_string_equal(r.tier, "potential");
  assert_int_equal(r.last_negative_at, 0);
}

static void test_a_bad_rating_without_orders(void **state)
{
  (void)state;
  kehu_tier_rating g[] = {{NOW - 10 * DAY, 1}};
  kehu_tier_result r = compute(NULL, 0, g, 1);
  assert_string_equal(r.tier, "churn_risk");
  assert_int_equal(r.next_at, NOW + 80 * DAY);
}

static void test_old_orders(void **state)
{
  (void)state;
  /* ordered 200 days ago: still churn_risk (ordered before, none since) */
  kehu_tier_order o[] = {{NOW - 200 * DAY, YUAN(100)}};
  kehu_tier_result r = compute(o, 1, NULL, 0);
  assert_string_equal(r.tier, "churn_risk");
  assert_int_equal(r.orders_12m, 1);
  assert_int_equal(r.next_at, 0);   /* it stays so until the next order */

  kehu_tier_order older[] = {{NOW - 400 * DAY, YUAN(100)}};
  r = compute(older, 1, NULL, 0);
  assert_string_equal(r.tier, "churn_risk");
  assert_int_equal(r.next_at, 0);
}

static void test_amount_drops_when_old_orders_leave(void **state)
{
  (void)state;
  /* three recent orders keep the count; the amount rests on an old one */
  kehu_tier_order o[] = {{NOW - 300 * DAY, YUAN(80000)},
                         {NOW - 10 * DAY, YUAN(10000)},
                         {NOW - 20 * DAY, YUAN(10000)},
                         {NOW - 30 * DAY, YUAN(10000)}};
  kehu_tier_result r = compute(o, 4, NULL, 0);
  assert_string_equal(r.tier, "high");
  assert_int_equal(r.orders_3m, 3);
  assert_int_equal(r.amount_12m, YUAN(110000));
  /* the 80000 order turns 365 days old before the 2nd newest turns 90 */
  assert_int_equal(r.next_at, NOW + 65 * DAY);
}

static void test_count_drops_with_the_second_newest(void **state)
{
  (void)state;
  kehu_tier_order o[] = {{NOW - 5 * DAY, YUAN(50000)},
                         {NOW - 40 * DAY, YUAN(50000)},
                         {NOW - 80 * DAY, YUAN(50000)}};
  kehu_tier_result r = compute(o, 3, NULL, 0);
  assert_string_equal(r.tier, "high");
  /* the oldest leaves the 90 days 10 days on, but two remain: the count
   * drops below 2 when the second newest leaves, 50 days on */
  assert_int_equal(r.next_at, NOW + 50 * DAY);
  kehu_tier_compute(o, 3, NULL, 0, NOW + 50 * DAY - 1, &rules, &r);
  assert_string_equal(r.tier, "high");
  kehu_tier_compute(o, 3, NULL, 0, NOW + 50 * DAY, &rules, &r);
  assert_string_equal(r.tier, "potential");
  assert_int_equal(r.next_at, NOW + 85 * DAY);   /* the newest turns 90 days old */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_no_order_is_normal),
    cmocka_unit_test(test_high_at_exactly_the_amount),
    cmocka_unit_test(test_one_fen_short_is_potential),
    cmocka_unit_test(test_exactly_90_days_is_churn_risk),
    cmocka_unit_test(test_high_wins_over_a_bad_rating),
    cmocka_unit_test(test_bad_rating_wins_over_potential),
    cmocka_unit_test(test_a_bad_rating_without_orders),
    cmocka_unit_test(test_old_orders),
    cmocka_unit_test(test_amount_drops_when_old_orders_leave),
    cmocka_unit_test(test_count_drops_with_the_second_newest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
