/* Each kind of report over what the caller may see, in one read
 * transaction on the thread pool (docs/architecture.md#reports). Over all
 * time (no --since, no --until) every kind but top and activity is
 * answered from the maintained counts (report_counts.c); with a period,
 * customers and records are read in full, at a cost in proportion to the
 * archive. A period [since, until) chooses the customers created in it
 * (counts by a field, the funnel, conversion), the events in it (stage and
 * tier changes, follow-ups, orders, tickets), or, for top, the orders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define DAY 86400
#define TOP_ROWS 20
#define CHURN_ROWS 1000

const char *const kehu_report_kinds[] = {"summary", "stage",  "industry", "region", "size",
                                         "source",  "owner",  "funnel",   "tiers",  "churn",
                                         "activity", "top",   "kpi"};
const size_t kehu_report_nkinds = sizeof kehu_report_kinds / sizeof *kehu_report_kinds;

int64_t kehu_report_default_span(const char *kind)
{
  if (strcmp(kind, "activity") == 0)
    return 30 * DAY;
  if (strcmp(kind, "top") == 0)
    return 365 * DAY;
  return 0;
}

/* ---- rows ---- */

static uint64_t hash(const char *key, const char *key2)
{
  uint64_t h = 1469598103934665603ull;
  for (const char *s = key; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  h = (h ^ 0x1f) * 1099511628211ull;
  for (const char *s = key2 ? key2 : ""; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int same(const kehu_report_row *r, const char *key, const char *key2)
{
  return strcmp(r->key, key) == 0 &&
         ((!r->key2 && !key2) || (r->key2 && key2 && strcmp(r->key2, key2) == 0));
}

static int grow(kehu_row_map *m)
{
  size_t cap = m->cap ? m->cap * 2 : 64;
  kehu_report_row *rows = calloc(cap, sizeof *rows);
  if (!rows)
    return -1;
  for (size_t i = 0; i < m->cap; i++)
    if (m->rows[i].key) {
      size_t j = hash(m->rows[i].key, m->rows[i].key2) & (cap - 1);
      while (rows[j].key)
        j = (j + 1) & (cap - 1);
      rows[j] = m->rows[i];
    }
  free(m->rows);
  m->rows = rows;
  m->cap = cap;
  return 0;
}

kehu_report_row *kehu_report_row_for(kehu_row_map *m, const char *key, const char *key2)
{
  if (m->n * 2 >= m->cap && grow(m) != 0)
    return NULL;
  size_t j = hash(key, key2) & (m->cap - 1);
  while (m->rows[j].key && !same(&m->rows[j], key, key2))
    j = (j + 1) & (m->cap - 1);
  kehu_report_row *r = &m->rows[j];
  if (!r->key) {
    if (!(r->key = strdup(key)) || (key2 && !(r->key2 = strdup(key2)))) {
      free(r->key);
      r->key = NULL;
      return NULL;
    }
    r->order = m->n++;
  }
  return r;
}

void kehu_row_map_free(kehu_row_map *m)
{
  for (size_t i = 0; i < m->cap; i++) {
    kehu_report_row *r = &m->rows[i];
    free(r->key);
    free(r->key2);
    free(r->name);
    free(r->owner);
    free(r->reason);
  }
  free(m->rows);
  m->rows = NULL;
  m->n = m->cap = 0;
}

int kehu_report_count(kehu_row_map *m, const char *key, const char *key2, uint64_t n)
{
  kehu_report_row *row = kehu_report_row_for(m, key, key2);
  if (!row)
    return -1;
  row->count += n;
  return 0;
}

static int count(kehu_row_map *m, const char *key, const char *key2, uint64_t n)
{
  return kehu_report_count(m, key, key2, n);
}

static int in_period(const kehu_report *r, int64_t at)
{
  return at >= r->since && at < r->until;
}

static const char *or_none(const char *s)
{
  return s && *s ? s : "(none)";
}

/* ---- customers ---- */

static int live_and_visible(kehu_report *r, const Kehu__Customer *c)
{
  return !(c->has_deleted && c->deleted) && kehu_access_customer_visible(r->t, r->who, c);
}

/* Calls each(r, c, arg) for every live customer r->who may see. */
typedef int (*customer_fn)(kehu_report *r, const Kehu__Customer *c, void *arg);
static void each_customer(kehu_report *r, customer_fn each, void *arg)
{
  MDB_cursor *cur;
  if (mdb_cursor_open(r->t->txn, *kehu_store_customers_dbi(r->t->st), &cur) != 0) {
    r->status = KEHU_INTERNAL;
    return;
  }
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && r->status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    Kehu__Customer *c = kehu__customer__unpack(NULL, v.mv_size, v.mv_data);
    if (!c)
      continue;
    if (live_and_visible(r, c) && each(r, c, arg) != 0)
      r->status = KEHU_EXHAUSTED;
    kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
}

static const char *field_of(const Kehu__Customer *c, const char *kind)
{
  if (strcmp(kind, "industry") == 0)
    return c->industry;
  if (strcmp(kind, "region") == 0)
    return c->region;
  if (strcmp(kind, "size") == 0)
    return c->size;
  if (strcmp(kind, "source") == 0)
    return c->source;
  if (strcmp(kind, "owner") == 0)
    return c->owner;
  return c->stage;
}

/* The customers a period chooses: those created in it (all, with none). */
static int chosen(const kehu_report *r, const Kehu__Customer *c)
{
  return r->all_time || in_period(r, c->created_at);
}

/* All time, by a field: the maintained counts (counts.c) of the owners the
 * caller may see, instead of every customer. */

int kehu_report_owner_visible(kehu_owner_cache *s, const char *owner)
{
  kehu_report_row *o = kehu_report_row_for(&s->owners, owner, NULL);
  if (!o)
    return -1;
  if (!o->count) {
    Kehu__Customer c = KEHU__CUSTOMER__INIT;
    c.owner = *owner ? (char *)owner : NULL;
    o->count = kehu_access_customer_visible(s->r->t, s->r->who, &c) ? 1 : 2;
  }
  return o->count == 1;
}

static int add_count(const char *value, const char *owner, uint64_t n, void *arg)
{
  kehu_owner_cache *s = arg;
  int visible = kehu_report_owner_visible(s, owner);
  if (visible < 0 || (visible && count(&s->r->rows, or_none(value), NULL, n) != 0))
    return KEHU_EXHAUSTED;
  return KEHU_OK;
}

static void by_field_counts(kehu_report *r)
{
  kehu_owner_cache s = {r, {0}};
  r->status = kehu_store_counts_each(r->t, r->kind, add_count, &s);
  kehu_row_map_free(&s.owners);
}

static int by_field(kehu_report *r, const Kehu__Customer *c, void *arg)
{
  (void)arg;
  return chosen(r, c) ? count(&r->rows, or_none(field_of(c, r->kind)), NULL, 1) : 0;
}

static int summary(kehu_report *r, const Kehu__Customer *c, void *arg)
{
  (void)arg;
  if (!chosen(r, c))
    return 0;
  /* dormant as the dormant reminder counts it (core/rules.c) */
  int dormant = r->now - (c->has_last_contact_at && c->last_contact_at ? c->last_contact_at
                                                                         : c->created_at) >
                (int64_t)r->cfg->dormant_days * DAY;
  return count(&r->rows, "customers", NULL, 1) || count(&r->rows, or_none(c->stage), NULL, 1) ||
         (dormant && count(&r->rows, "dormant", NULL, 1));
}

/* ---- the funnel ---- */

static const char *const steps[] = {"potential", "intent", "closed"};
#define NSTEPS 3

static int step_of(const char *stage)
{
  for (int i = 0; stage && i < NSTEPS; i++)
    if (strcmp(stage, steps[i]) == 0)
      return i;
  return -1;
}

/* A customer counts at every step up to the furthest it reached, now or in
 * its history (one that went straight from potential to closed passed the
 * intent step too); lost is beside the funnel. Transitions are the stage
 * changes of any visible customer in the period. */
static int funnel(kehu_report *r, const Kehu__Customer *c, void *arg)
{
  (void)arg;
  for (size_t i = 0; i < c->n_stage_history; i++) {
    const Kehu__StageChange *h = c->stage_history[i];
    if (in_period(r, h->at) && count(&r->transitions, h->from, h->to, 1) != 0)
      return -1;
  }
  if (!chosen(r, c))
    return 0;
  int furthest = step_of(c->stage);
  for (size_t i = 0; i < c->n_stage_history; i++) {
    int a = step_of(c->stage_history[i]->from), b = step_of(c->stage_history[i]->to);
    furthest = a > furthest ? a : furthest;
    furthest = b > furthest ? b : furthest;
  }
  for (int i = 0; i <= furthest; i++)
    if (count(&r->rows, steps[i], NULL, 1) != 0)
      return -1;
  return c->stage && strcmp(c->stage, "lost") == 0 ? count(&r->rows, "lost", NULL, 1) : 0;
}

static void funnel_rates(kehu_report *r)
{
  kehu_report_row *rows[NSTEPS];
  for (int i = 0; i < NSTEPS; i++)
    rows[i] = kehu_report_row_for(&r->rows, steps[i], NULL);
  for (int i = 0; i + 1 < NSTEPS; i++)
    if (rows[i] && rows[i + 1] && rows[i]->count) {
      rows[i]->has_value = 1;
      rows[i]->value = (double)rows[i + 1]->count / (double)rows[i]->count;
      rows[i]->unit = "ratio";
    }
}

/* ---- tiers and churn ---- */

static const char *const tiers[] = {"high", "potential", "churn_risk", "normal"};

static int tier_counts(kehu_report *r, const Kehu__Customer *c, void *arg)
{
  (void)arg;
  for (size_t i = 0; i < c->n_tier_history; i++) {
    const Kehu__TierChange *h = c->tier_history[i];
    if (in_period(r, h->at) && count(&r->transitions, h->from, h->to, 1) != 0)
      return -1;
  }
  return count(&r->rows, c->tier && *c->tier ? c->tier : "normal", NULL, 1);
}

static int churn(kehu_report *r, const Kehu__Customer *c, void *arg)
{
  (void)arg;
  if (!c->tier || strcmp(c->tier, "churn_risk") != 0 || r->rows.n >= CHURN_ROWS)
    return 0;
  kehu_report_row *row = kehu_report_row_for(&r->rows, c->id, NULL);
  if (!row)
    return -1;
  row->count = 1;
  const Kehu__TierChange *last = c->n_tier_history ? c->tier_history[c->n_tier_history - 1] : NULL;
  row->name = strdup(c->name ? c->name : "");
  row->owner = strdup(or_none(c->owner));
  row->reason = strdup(last && last->reason ? last->reason : "");
  return row->name && row->owner && row->reason ? 0 : -1;
}

/* ---- records: follow-ups, orders, tickets ---- */

/* Walks the records of one kind, the customer of each read once per run of
 * its records (they are stored by customer) and checked. */
typedef struct {
  kehu_report *r;
  int (*each)(kehu_report *r, const Kehu__Customer *c, const ProtobufCMessage *m, void *arg);
  void *arg;
  uint64_t cust;
  Kehu__Customer *customer;   /* NULL when not visible */
} record_walk;

static int record_seen(ProtobufCMessage *m, uint64_t cust, void *arg)
{
  record_walk *w = arg;
  if (cust != w->cust) {
    if (w->customer)
      kehu__customer__free_unpacked(w->customer, NULL);
    w->customer = NULL;
    w->cust = cust;
    Kehu__Customer *c = NULL;
    if (kehu_store_customer_get(w->r->t, cust, &c) == KEHU_OK && live_and_visible(w->r, c))
      w->customer = c;
    else if (c)
      kehu__customer__free_unpacked(c, NULL);
  }
  if (w->customer && w->r->status == KEHU_OK && w->each(w->r, w->customer, m, w->arg) != 0)
    w->r->status = KEHU_EXHAUSTED;
  protobuf_c_message_free_unpacked(m, NULL);
  return 0;   /* never counts toward a limit: read them all */
}

static void each_record(kehu_report *r, kehu_kind kind,
                        int (*each)(kehu_report *, const Kehu__Customer *,
                                    const ProtobufCMessage *, void *),
                        void *arg)
{
  record_walk w = {r, each, arg, 0, NULL};
  uint64_t next;
  int rc = kehu_store_child_list(r->t, kehu_kind_get(kind), 0, 0, 1, record_seen, &w, &next);
  if (r->status == KEHU_OK)
    r->status = rc;
  if (w.customer)
    kehu__customer__free_unpacked(w.customer, NULL);
}

/* activity: the follow-ups of the period from the time index
 * (docs/storage.md#follow-ups-by-time), which holds only live customers'
 * and names each one's owner: visibility is asked once per owner, as for
 * the counts, and no customer is read. */
static int activity_one(uint64_t cust, const char *owner, const char *author, const char *method,
                        void *arg)
{
  (void)cust;
  kehu_owner_cache *s = arg;
  int visible = kehu_report_owner_visible(s, owner);
  if (visible < 0)
    return KEHU_EXHAUSTED;
  if (!visible)
    return KEHU_OK;
  return count(&s->r->rows, or_none(author), or_none(method), 1) == 0 ? KEHU_OK : KEHU_EXHAUSTED;
}

static void activity(kehu_report *r)
{
  kehu_owner_cache s = {r, {0}};
  int rc = kehu_store_followups_between(r->t, r->since, r->until, activity_one, &s);
  if (r->status == KEHU_OK)
    r->status = rc;
  kehu_row_map_free(&s.owners);
}

static int64_t order_time(const Kehu__Order *o)
{
  return o->has_at && o->at ? o->at : o->created_at;
}

static int top(kehu_report *r, const Kehu__Customer *c, const ProtobufCMessage *m, void *arg)
{
  (void)arg;
  const Kehu__Order *o = (const Kehu__Order *)m;
  if (!in_period(r, order_time(o)))
    return 0;
  kehu_report_row *row = kehu_report_row_for(&r->rows, c->id, NULL);
  if (!row)
    return -1;
  if (!row->name && (!(row->name = strdup(c->name ? c->name : "")) ||
                     !(row->owner = strdup(or_none(c->owner)))))
    return -1;
  row->count++;
  row->amount += o->amount;
  row->has_amount = 1;
  return 0;
}

/* ---- KPIs ---- */

typedef struct {
  kehu_kpi_figures f;
  uint64_t cust_orders, cust;      /* orders of the customer being walked */
} kpi_sums;

static int kpi_customer(kehu_report *r, const Kehu__Customer *c, void *arg)
{
  kpi_sums *k = arg;
  if (chosen(r, c)) {
    k->f.reached++;
    k->f.closed += c->stage && strcmp(c->stage, "closed") == 0;
  }
  if (c->created_at < r->until) {
    k->f.customers++;
    for (size_t i = 0; i < c->n_stage_history; i++)
      if (strcmp(c->stage_history[i]->to, "lost") == 0 && in_period(r, c->stage_history[i]->at)) {
        k->f.lost++;
        break;
      }
  }
  return 0;
}

static void buyer_done(kpi_sums *k)
{
  k->f.buyers += k->cust_orders >= 1;
  k->f.repeat += k->cust_orders >= 2;
  k->cust_orders = 0;
}

static int kpi_order(kehu_report *r, const Kehu__Customer *c, const ProtobufCMessage *m, void *arg)
{
  (void)c;
  kpi_sums *k = arg;
  const Kehu__Order *o = (const Kehu__Order *)m;
  uint64_t cust;
  if (kehu_customer_id_parse(o->customer_id, &cust) != 0)
    return 0;
  if (cust != k->cust) {
    buyer_done(k);
    k->cust = cust;
  }
  k->cust_orders += in_period(r, order_time(o));
  return 0;
}

static int kpi_ticket(kehu_report *r, const Kehu__Customer *c, const ProtobufCMessage *m, void *arg)
{
  (void)c;
  kpi_sums *k = arg;
  const Kehu__Ticket *t = (const Kehu__Ticket *)m;
  if (!in_period(r, t->created_at))
    return 0;
  if (t->has_responded_at) {
    k->f.responded++;
    k->f.response_seconds += t->responded_at - t->created_at;
  }
  /* a ticket counts toward the SLA share once it was answered or its time ran out */
  int due_passed = t->has_response_due && t->response_due <= r->now;
  if (t->has_responded_at || due_passed) {
    k->f.tickets++;
    k->f.within_sla += t->has_responded_at && (!t->has_response_due || t->responded_at <= t->response_due);
  }
  return 0;
}

static int kpi_row(kehu_report *r, const char *name, double num, uint64_t den, const char *unit)
{
  kehu_report_row *row = kehu_report_row_for(&r->rows, name, NULL);
  if (!row)
    return -1;
  row->count = den;
  row->unit = unit;
  row->has_value = den > 0;
  row->value = den ? num / (double)den : 0;
  return 0;
}

static void kpi(kehu_report *r, int from_counts)
{
  kpi_sums k = {0};
  if (!from_counts || kehu_report_kpi_counts(r, &k.f) != 0) {
    each_customer(r, kpi_customer, &k);
    if (r->status == KEHU_OK)
      each_record(r, KEHU_KIND_ORDER, kpi_order, &k);
    buyer_done(&k);
    if (r->status == KEHU_OK)
      each_record(r, KEHU_KIND_TICKET, kpi_ticket, &k);
  }
  if (r->status != KEHU_OK)
    return;
  const kehu_kpi_figures *f = &k.f;
  if (kpi_row(r, "conversion_rate", (double)f->closed, f->reached, "ratio") ||
      kpi_row(r, "repurchase_rate", (double)f->repeat, f->buyers, "ratio") ||
      kpi_row(r, "churn_rate", (double)f->lost, f->customers, "ratio") ||
      kpi_row(r, "avg_response_hours", (double)f->response_seconds / 3600.0, f->responded,
              "hours") ||
      kpi_row(r, "within_sla", (double)f->within_sla, f->tickets, "ratio"))
    r->status = KEHU_EXHAUSTED;
}

/* ---- dispatch ---- */

static int is_field_kind(const char *kind)
{
  static const char *const fields[] = {"stage", "industry", "region", "size", "source", "owner"};
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
    if (strcmp(kind, fields[i]) == 0)
      return 1;
  return 0;
}

/* Steps and tiers are answered in their order, with zero rows too. */
static void fixed_rows(kehu_report *r, const char *const *keys, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!kehu_report_row_for(&r->rows, keys[i], NULL))
      r->status = KEHU_EXHAUSTED;
  r->order = KEHU_ROWS_AS_MADE;
}

void kehu_report_compute(kehu_report *r)
{
  r->status = KEHU_OK;
  r->order = KEHU_ROWS_BY_COUNT;
  const char *kind = r->kind;
  int from_counts = r->all_time && r->open_end;
  if (strcmp(kind, "summary") == 0 && from_counts) {
    kehu_report_summary_counts(r);
  } else if (strcmp(kind, "summary") == 0) {
    each_customer(r, summary, NULL);
  } else if (is_field_kind(kind) && r->all_time) {
    by_field_counts(r);
  } else if (is_field_kind(kind)) {
    each_customer(r, by_field, NULL);
  } else if (strcmp(kind, "funnel") == 0) {
    fixed_rows(r, steps, NSTEPS);
    if (from_counts)
      kehu_report_funnel_counts(r, steps, NSTEPS);
    else
      each_customer(r, funnel, NULL);
    funnel_rates(r);
  } else if (strcmp(kind, "tiers") == 0) {
    fixed_rows(r, tiers, sizeof tiers / sizeof *tiers);
    if (from_counts)
      kehu_report_tiers_counts(r);
    else
      each_customer(r, tier_counts, NULL);
  } else if (strcmp(kind, "churn") == 0 && from_counts) {
    kehu_report_churn_counts(r, CHURN_ROWS, churn);
  } else if (strcmp(kind, "churn") == 0) {
    each_customer(r, churn, NULL);
  } else if (strcmp(kind, "activity") == 0) {
    activity(r);
  } else if (strcmp(kind, "top") == 0) {
    each_record(r, KEHU_KIND_ORDER, top, NULL);
    r->limit = TOP_ROWS;
  } else if (strcmp(kind, "kpi") == 0) {
    r->order = KEHU_ROWS_AS_MADE;
    kpi(r, from_counts);
  } else {
    r->status = KEHU_INVALID;
  }
}
