#include "tiers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 512

void kehu_tiers_rules(const kehu_config *cfg, kehu_tier_rules *out)
{
  out->high_orders = cfg->tier_high_orders;
  out->high_window_days = cfg->tier_high_window_days;
  out->high_amount = (int64_t)cfg->tier_high_amount * 100;   /* yuan in the file, fen here */
  out->high_amount_days = cfg->tier_high_amount_days;
  out->potential_days = cfg->tier_potential_days;
  out->churn_days = cfg->tier_churn_days;
  out->negative_rating = cfg->tier_negative_rating;
  out->negative_days = cfg->tier_negative_days;
}

/* ---- what a tier is computed from: one cursor range per kind ---- */

typedef struct {
  kehu_tier_order *orders;
  size_t n_orders, cap_orders;
  kehu_tier_rating *ratings;
  size_t n_ratings, cap_ratings;
  int failed;
} gathered;

static int grow(void **items, size_t *cap, size_t n, size_t size)
{
  if (n < *cap)
    return 0;
  size_t cap2 = *cap ? *cap * 2 : 16;
  void *p = realloc(*items, cap2 * size);
  if (!p)
    return -1;
  *items = p;
  *cap = cap2;
  return 0;
}

static int take_order(ProtobufCMessage *m, uint64_t cust, void *arg)
{
  (void)cust;
  gathered *g = arg;
  const Kehu__Order *o = (const Kehu__Order *)m;
  if (grow((void **)&g->orders, &g->cap_orders, g->n_orders, sizeof *g->orders) != 0)
    g->failed = 1;
  else
    g->orders[g->n_orders++] = (kehu_tier_order){o->has_at ? o->at : o->created_at,
                                                 o->has_amount ? o->amount : 0};
  protobuf_c_message_free_unpacked(m, NULL);
  return 1;
}

/* A ticket has no time of its rating: the last change to it stands in. */
static int take_rating(ProtobufCMessage *m, uint64_t cust, void *arg)
{
  (void)cust;
  gathered *g = arg;
  const Kehu__Ticket *k = (const Kehu__Ticket *)m;
  if (k->has_satisfaction && k->satisfaction) {
    if (grow((void **)&g->ratings, &g->cap_ratings, g->n_ratings, sizeof *g->ratings) != 0)
      g->failed = 1;
    else
      g->ratings[g->n_ratings++] =
          (kehu_tier_rating){k->has_updated_at ? k->updated_at : k->created_at, k->satisfaction};
  }
  protobuf_c_message_free_unpacked(m, NULL);
  return 1;
}

static int gather_kind(kehu_txn *t, kehu_kind kind, uint64_t cust,
                       int (*take)(ProtobufCMessage *m, uint64_t cust, void *arg), gathered *g)
{
  uint64_t before = 0, next = 0;
  do {
    int st = kehu_store_child_list(t, kehu_kind_get(kind), cust, before, PAGE, take, g, &next);
    if (st != KEHU_OK)
      return st;
    if (g->failed)
      return KEHU_EXHAUSTED;
    before = next;
  } while (next);
  return KEHU_OK;
}

static int evaluate(kehu_txn *t, uint64_t cust, const kehu_config *cfg, int64_t now,
                    kehu_tier_result *res)
{
  gathered g = {0};
  kehu_tier_rules rules;
  kehu_tiers_rules(cfg, &rules);
  int st = gather_kind(t, KEHU_KIND_ORDER, cust, take_order, &g);
  if (st == KEHU_OK)
    st = gather_kind(t, KEHU_KIND_TICKET, cust, take_rating, &g);
  if (st == KEHU_OK)
    kehu_tier_compute(g.orders, g.n_orders, g.ratings, g.n_ratings, now, &rules, res);
  free(g.orders);
  free(g.ratings);
  return st;
}

/* ---- keeping it current ---- */

/* The history with change appended, the oldest dropped beyond the bound
 * (a record must not grow without end). */
static Kehu__TierChange **history_with(const Kehu__Customer *c, Kehu__TierChange *change,
                                       size_t *n)
{
  size_t keep = c->n_tier_history;
  size_t skip = keep >= KEHU_TIER_HISTORY_MAX ? keep - KEHU_TIER_HISTORY_MAX + 1 : 0;
  Kehu__TierChange **h = malloc((keep - skip + 1) * sizeof *h);
  if (!h)
    return NULL;
  for (size_t i = skip; i < keep; i++)
    h[i - skip] = c->tier_history[i];
  h[keep - skip] = change;
  *n = keep - skip + 1;
  return h;
}

/* A customer that never had a tier and is normal gets it quietly: that
 * is where every customer starts, not a change worth keeping. */
static int store_tier(kehu_rule_ctx *rc, uint64_t cust, const Kehu__Customer *c,
                      const kehu_tier_result *res)
{
  Kehu__Customer updated = *c;
  updated.tier = (char *)res->tier;
  Kehu__TierChange change = KEHU__TIER_CHANGE__INIT;
  Kehu__TierChange **history = NULL;
  if (c->tier || strcmp(res->tier, "normal") != 0) {
    change.from = c->tier ? c->tier : "";
    change.to = (char *)res->tier;
    change.at = rc->now;
    change.reason = (char *)res->reason_public;
    if (!(history = history_with(c, &change, &updated.n_tier_history)))
      return KEHU_EXHAUSTED;
    updated.tier_history = history;
  }
  /* derived from the records, like last_contact_at: no new version, so a
   * client's update of what it read is not refused for it */
  int st = kehu_store_customer_put(rc->t, cust, c, &updated);
  if (st == KEHU_OK && strcmp(res->tier, "churn_risk") == 0 && !(c->has_deleted && c->deleted))
    st = kehu_rules_churn_risk(rc, &updated, res->reason_public);
  free(history);
  return st;
}

/* One server reminder per customer, at the next time its tier could move
 * with nobody writing: the due index holds it like any reminder. */
static int arm(kehu_rule_ctx *rc, const Kehu__Customer *c, int64_t next_at)
{
  char source[64];
  snprintf(source, sizeof source, "%s:%s", KEHU_TIER_EVAL, c->id);
  if (!next_at)
    return kehu_rules_cancel(rc, source);
  return kehu_rules_raise(rc, source, NULL, next_at, KEHU_TIER_EVAL, c->id, NULL, NULL);
}

int kehu_tiers_update(kehu_rule_ctx *rc, uint64_t cust)
{
  Kehu__Customer *c = NULL;
  int st = kehu_store_customer_get(rc->t, cust, &c);
  if (st != KEHU_OK)
    return st == KEHU_NOT_FOUND ? KEHU_OK : st;
  kehu_tier_result res;
  st = evaluate(rc->t, cust, rc->cfg, rc->now, &res);
  if (st == KEHU_OK && (!c->tier || strcmp(c->tier, res.tier) != 0))
    st = store_tier(rc, cust, c, &res);
  if (st == KEHU_OK)
    st = arm(rc, c, res.next_at);
  kehu__customer__free_unpacked(c, NULL);
  return st;
}

int kehu_tiers_fired(kehu_rule_ctx *rc, const Kehu__Reminder *r)
{
  uint64_t cust;
  if (!r->customer_id || kehu_customer_id_parse(r->customer_id, &cust) != 0)
    return KEHU_OK;
  return kehu_tiers_update(rc, cust);
}

int kehu_tiers_basis(kehu_txn *t, uint64_t cust, const kehu_config *cfg, int64_t now,
                     int amounts, Kehu__TierBasis *out, char reason[160])
{
  kehu_tier_result res;
  int st = evaluate(t, cust, cfg, now, &res);
  if (st != KEHU_OK)
    return st;
  kehu__tier_basis__init(out);
  out->has_last_order_at = res.last_order_at != 0;
  out->last_order_at = res.last_order_at;
  out->has_orders_3m = out->has_orders_12m = 1;
  out->orders_3m = res.orders_3m;
  out->orders_12m = res.orders_12m;
  out->has_amount_3m = out->has_amount_12m = amounts != 0;
  out->amount_3m = res.amount_3m;
  out->amount_12m = res.amount_12m;
  out->has_last_negative_at = res.last_negative_at != 0;
  out->last_negative_at = res.last_negative_at;
  snprintf(reason, 160, "%s", amounts ? res.reason : res.reason_public);
  out->reason = reason;
  return KEHU_OK;
}
