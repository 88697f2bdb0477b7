#include "tier_rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

#define DAY 86400

static int in_window(int64_t at, int64_t now, unsigned days)
{
  return now - at < (int64_t)days * DAY;
}

/* The earliest of the candidate times after now (0 counts as none). */
static void consider(int64_t *next, int64_t at, int64_t now)
{
  if (at > now && (!*next || at < *next))
    *next = at;
}

static int newest_first(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* The moment the count of orders in the high window drops below
 * high_orders: when the high_orders-th newest of them leaves it. */
static int64_t count_drops_at(const kehu_tier_order *o, size_t n, int64_t now,
                              const kehu_tier_rules *r)
{
  int64_t *at = malloc((n ? n : 1) * sizeof *at);
  size_t k = 0;
  if (!at)
    return now + DAY;   /* out of memory: look again tomorrow */
  for (size_t i = 0; i < n; i++)
    if (in_window(o[i].at, now, r->high_window_days))
      at[k++] = o[i].at;
  int64_t when = 0;
  if (r->high_orders && k >= r->high_orders) {
    qsort(at, k, sizeof *at, newest_first);
    when = at[r->high_orders - 1] + (int64_t)r->high_window_days * DAY;
  }
  free(at);
  return when;
}

/* The moment the amount in its window drops below high_amount: orders
 * leave it oldest first, so the one whose leaving takes the sum below. */
static int64_t amount_drops_at(const kehu_tier_order *o, size_t n, int64_t now,
                               const kehu_tier_rules *r, int64_t sum)
{
  int64_t when = 0;
  while (sum >= r->high_amount) {
    int64_t oldest = 0, leaving = 0;
    int found = 0;
    for (size_t i = 0; i < n; i++)
      if (in_window(o[i].at, now, r->high_amount_days) && (!when || o[i].at > when) &&
          (!found || o[i].at < oldest)) {
        oldest = o[i].at;
        found = 1;
      }
    if (!found)
      return 0;
    for (size_t i = 0; i < n; i++)   /* every order of that moment leaves at once */
      if (o[i].at == oldest)
        leaving += o[i].amount;
    sum -= leaving;
    when = oldest;
  }
  return when ? when + (int64_t)r->high_amount_days * DAY : 0;
}

static void local_date(int64_t t, char out[16])
{
  time_t tt = (time_t)t;
  struct tm tm;
  out[0] = '\0';
  if (localtime_r(&tt, &tm))
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static void figures(const kehu_tier_order *o, size_t n, const kehu_tier_rating *g, size_t ng,
                    int64_t now, const kehu_tier_rules *r, kehu_tier_result *out,
                    unsigned *negative_rating)
{
  for (size_t i = 0; i < n; i++) {
    if (!out->last_order_at || o[i].at > out->last_order_at)
      out->last_order_at = o[i].at;
    if (in_window(o[i].at, now, r->high_window_days)) {
      out->orders_3m++;
      out->amount_3m += o[i].amount;
    }
    if (in_window(o[i].at, now, r->high_amount_days)) {
      out->orders_12m++;
      out->amount_12m += o[i].amount;
    }
  }
  for (size_t i = 0; i < ng; i++)
    if (g[i].rating >= 1 && g[i].rating <= r->negative_rating &&
        in_window(g[i].at, now, r->negative_days) && g[i].at >= out->last_negative_at) {
      out->last_negative_at = g[i].at;
      *negative_rating = g[i].rating;
    }
}

/* The times at which a window loses something the tier hangs on. Time
 * only takes orders out of windows, so a customer that is not high cannot
 * become high by it: the count and the amount matter only while high. */
static void next_change(const kehu_tier_order *o, size_t n, int64_t now,
                        const kehu_tier_rules *r, int high, kehu_tier_result *out)
{
  int64_t next = 0;
  if (high) {
    consider(&next, count_drops_at(o, n, now, r), now);
    consider(&next, amount_drops_at(o, n, now, r, out->amount_12m), now);
  }
  if (out->last_order_at) {
    consider(&next, out->last_order_at + (int64_t)r->churn_days * DAY, now);
    consider(&next, out->last_order_at + (int64_t)r->potential_days * DAY, now);
  }
  if (out->last_negative_at)
    consider(&next, out->last_negative_at + (int64_t)r->negative_days * DAY, now);
  out->next_at = next;
}

void kehu_tier_compute(const kehu_tier_order *orders, size_t n_orders,
                       const kehu_tier_rating *ratings, size_t n_ratings, int64_t now,
                       const kehu_tier_rules *r, kehu_tier_result *out)
{
  memset(out, 0, sizeof *out);
  unsigned negative = 0;
  figures(orders, n_orders, ratings, n_ratings, now, r, out, &negative);
  int high = out->orders_3m >= r->high_orders && out->amount_12m >= r->high_amount;
  next_change(orders, n_orders, now, r, high, out);
  char amount[32], day[16];
  kehu_money_format(out->amount_12m, amount);
  int64_t idle_days = out->last_order_at ? (now - out->last_order_at) / DAY : 0;
  if (high) {
    out->tier = "high";
    snprintf(out->reason, sizeof out->reason, "%u orders in %u days, %s yuan in %u days",
             out->orders_3m, r->high_window_days, amount, r->high_amount_days);
    snprintf(out->reason_public, sizeof out->reason_public,
             "%u orders in %u days, at least %lld yuan in %u days", out->orders_3m,
             r->high_window_days, (long long)(r->high_amount / 100), r->high_amount_days);
    return;
  } else if (out->last_order_at && !in_window(out->last_order_at, now, r->churn_days)) {
    out->tier = "churn_risk";
    snprintf(out->reason, sizeof out->reason, "no order for %lld days", (long long)idle_days);
  } else if (out->last_negative_at) {
    out->tier = "churn_risk";
    local_date(out->last_negative_at, day);
    snprintf(out->reason, sizeof out->reason, "rated %u on %s", negative, day);
  } else if (out->last_order_at && in_window(out->last_order_at, now, r->potential_days)) {
    out->tier = "potential";
    snprintf(out->reason, sizeof out->reason, "last order %lld days ago, below high",
             (long long)idle_days);
  } else {
    out->tier = "normal";
    snprintf(out->reason, sizeof out->reason, "%s",
             out->last_order_at ? "no order in the potential window" : "no order yet");
  }
  memcpy(out->reason_public, out->reason, sizeof out->reason);
}
