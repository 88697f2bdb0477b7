/* The reports over all time from the maintained counts
 * (docs/storage.md#report-counts, docs/architecture.md#reports): each
 * reads the counts under a few codes and adds those of the owners the
 * caller may see, asked once per owner, so its cost follows the number of
 * owners and values, not of customers. They answer exactly what reading
 * every record answers (report_kinds.c), which a report with a period
 * still does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define DAY 86400

static const char *or_none(const char *s)
{
  return s && *s ? s : "(none)";
}

/* each(r, value, n, arg) for the counts under name whose owner r->who sees. */
typedef int (*count_fn)(kehu_report *r, const char *value, uint64_t n, void *arg);
typedef struct {
  kehu_owner_cache owners;
  count_fn each;
  void *arg;
} summing;

static int visible_count(const char *value, const char *owner, uint64_t n, void *arg)
{
  summing *s = arg;
  int v = kehu_report_owner_visible(&s->owners, owner);
  if (v < 0)
    return KEHU_EXHAUSTED;
  return v ? s->each(s->owners.r, value, n, s->arg) : KEHU_OK;
}

static void sum(kehu_report *r, const char *name, const char *from, const char *until,
                count_fn each, void *arg)
{
  if (r->status != KEHU_OK)
    return;
  summing s = {{r, {0}}, each, arg};
  r->status = kehu_store_counts_range(r->t, name, from, until, visible_count, &s);
  kehu_row_map_free(&s.owners.owners);
}

static int add_to(uint64_t *total, uint64_t n)
{
  *total += n;
  return KEHU_OK;
}

static int total(kehu_report *r, const char *value, uint64_t n, void *arg)
{
  (void)r;
  (void)value;
  return add_to(arg, n);
}

/* n added to *arg when the value is the one wanted. */
typedef struct {
  const char *value;
  uint64_t n;
} one_value;

static int of_value(kehu_report *r, const char *value, uint64_t n, void *arg)
{
  (void)r;
  one_value *o = arg;
  return strcmp(value, o->value) == 0 ? add_to(&o->n, n) : KEHU_OK;
}

static uint64_t sum_of(kehu_report *r, const char *name, const char *value)
{
  one_value o = {value, 0};
  char until[64];
  snprintf(until, sizeof until, "%s%c", value, KEHU_COUNT_SEP);   /* just after value's keys */
  sum(r, name, value, until, of_value, &o);
  return o.n;
}

/* ---- summary ---- */

static int customers_and_stage(kehu_report *r, const char *value, uint64_t n, void *arg)
{
  (void)arg;
  return kehu_report_count(&r->rows, "customers", NULL, n) ||
                 kehu_report_count(&r->rows, or_none(value), NULL, n)
             ? KEHU_EXHAUSTED
             : KEHU_OK;
}

/* The customers of the cut-off's own day: their entries in the dormancy
 * index, each customer read (a day's worth). */
typedef struct {
  kehu_owner_cache owners;
  int64_t cutoff;
  uint64_t n;
} boundary;

static int boundary_one(uint64_t cust, int64_t base, void *arg)
{
  boundary *b = arg;
  kehu_report *r = b->owners.r;
  if (base >= b->cutoff)
    return KEHU_OK;
  Kehu__Customer *c = NULL;
  if (kehu_store_customer_get(r->t, cust, &c) != KEHU_OK)
    return KEHU_OK;
  int rc = KEHU_OK;
  if (!(c->has_deleted && c->deleted) && kehu_dormant_base(c) < b->cutoff) {
    int v = kehu_report_owner_visible(&b->owners, c->owner ? c->owner : "");
    if (v < 0)
      rc = KEHU_EXHAUSTED;
    b->n += v > 0;
  }
  kehu__customer__free_unpacked(c, NULL);
  return rc;
}

void kehu_report_summary_counts(kehu_report *r)
{
  sum(r, "stage", NULL, NULL, customers_and_stage, NULL);
  /* dormant as the dormant reminder counts it: its period started before
   * now - dormant_days; whole days from the per-day counts, the cut-off's
   * day from the dormancy index (docs/storage.md#report-counts) */
  int64_t cutoff = r->now - (int64_t)r->cfg->dormant_days * DAY;
  int64_t day = cutoff - ((cutoff % DAY) + DAY) % DAY;
  char until[17];
  kehu_store_counts_time(until, day);
  uint64_t dormant = 0;
  sum(r, "dormant_day", NULL, until, total, &dormant);
  if (r->status != KEHU_OK)
    return;
  boundary b = {{r, {0}}, cutoff, 0};
  r->status = kehu_store_dormant_between(r->t, day, cutoff, boundary_one, &b);
  kehu_row_map_free(&b.owners.owners);
  dormant += b.n;
  if (r->status == KEHU_OK && dormant && kehu_report_count(&r->rows, "dormant", NULL, dormant))
    r->status = KEHU_EXHAUSTED;
}

/* ---- funnel and tiers ---- */

static int transition(kehu_report *r, const char *value, uint64_t n, void *arg)
{
  (void)arg;
  char from[512];
  const char *sep = strchr(value, KEHU_COUNT_SEP);
  if (!sep)
    return KEHU_OK;
  size_t fl = (size_t)(sep - value);
  memcpy(from, value, fl);
  from[fl] = '\0';
  return kehu_report_count(&r->transitions, from, sep + 1, n) ? KEHU_EXHAUSTED : KEHU_OK;
}

typedef struct {
  const char *const *steps;
  int nsteps;
} funnel_steps;

/* A customer counts at every step up to the furthest it reached. */
static int reached(kehu_report *r, const char *value, uint64_t n, void *arg)
{
  funnel_steps *f = arg;
  int furthest = -1;
  for (int i = 0; i < f->nsteps; i++)
    if (strcmp(value, f->steps[i]) == 0)
      furthest = i;
  for (int i = 0; i <= furthest; i++)
    if (kehu_report_count(&r->rows, f->steps[i], NULL, n))
      return KEHU_EXHAUSTED;
  return KEHU_OK;
}

void kehu_report_funnel_counts(kehu_report *r, const char *const *steps, int nsteps)
{
  funnel_steps f = {steps, nsteps};
  sum(r, "funnel", NULL, NULL, reached, &f);
  uint64_t lost = sum_of(r, "stage", "lost");
  if (r->status == KEHU_OK && lost && kehu_report_count(&r->rows, "lost", NULL, lost))
    r->status = KEHU_EXHAUSTED;
  sum(r, "stage_change", NULL, NULL, transition, NULL);
}

static int tier_row(kehu_report *r, const char *value, uint64_t n, void *arg)
{
  (void)arg;
  return kehu_report_count(&r->rows, value, NULL, n) ? KEHU_EXHAUSTED : KEHU_OK;
}

void kehu_report_tiers_counts(kehu_report *r)
{
  sum(r, "tier", NULL, NULL, tier_row, NULL);
  sum(r, "tier_change", NULL, NULL, transition, NULL);
}

/* ---- churn ---- */

static int churn_visible(const char *owner, void *arg)
{
  return kehu_report_owner_visible(arg, owner);
}

void kehu_report_churn_counts(kehu_report *r, size_t max,
                              int (*row)(kehu_report *r, const Kehu__Customer *c, void *arg))
{
  uint64_t *keys = calloc(max ? max : 1, sizeof *keys);
  if (!keys) {
    r->status = KEHU_EXHAUSTED;
    return;
  }
  kehu_owner_cache owners = {r, {0}};
  size_t n = 0;
  r->status = kehu_store_churn_first(r->t, churn_visible, &owners, max, keys, &n);
  kehu_row_map_free(&owners.owners);
  for (size_t i = 0; i < n && r->status == KEHU_OK; i++) {
    Kehu__Customer *c = NULL;
    int rc = kehu_store_customer_get(r->t, keys[i], &c);
    if (rc != KEHU_OK) {
      r->status = rc;
      break;
    }
    if (row(r, c, NULL) != 0)
      r->status = KEHU_EXHAUSTED;
    kehu__customer__free_unpacked(c, NULL);
  }
  free(keys);
}

/* ---- KPIs ---- */

typedef struct {
  uint64_t responded, within, due;
  int64_t seconds;
} ticket_sums;

static int ticket_figure(kehu_report *r, const char *value, uint64_t n, void *arg)
{
  (void)r;
  ticket_sums *s = arg;
  if (strcmp(value, "responded") == 0)
    s->responded += n;
  else if (strcmp(value, "within_sla") == 0)
    s->within += n;
  else if (strcmp(value, "due") == 0)
    s->due += n;
  else if (strcmp(value, "response_seconds") == 0)
    s->seconds += (int64_t)n;
  return KEHU_OK;
}

int kehu_report_kpi_counts(kehu_report *r, kehu_kpi_figures *k)
{
  if (!kehu_store_counts_records_ready(r->t))
    return 1;
  memset(k, 0, sizeof *k);
  /* every live customer was created before now + 1: all are chosen */
  sum(r, "stage", NULL, NULL, total, &k->reached);
  k->customers = k->reached;
  k->closed = sum_of(r, "stage", "closed");
  sum(r, "lost", NULL, NULL, total, &k->lost);
  /* customers with an order (two) by now: all of them but those whose
   * first (second) order is dated after now */
  char later[17];
  kehu_store_counts_time(later, r->until);
  uint64_t ahead1 = 0, ahead2 = 0;
  k->buyers = sum_of(r, "buyers", "buyers");
  k->repeat = sum_of(r, "buyers", "repeat");
  sum(r, "first_order", later, NULL, total, &ahead1);
  sum(r, "second_order", later, NULL, total, &ahead2);
  k->buyers -= ahead1 <= k->buyers ? ahead1 : k->buyers;
  k->repeat -= ahead2 <= k->repeat ? ahead2 : k->repeat;
  /* tickets toward the SLA share: the answered ones, and the unanswered
   * ones whose due time has passed */
  ticket_sums t = {0, 0, 0, 0};
  sum(r, "tickets", NULL, NULL, ticket_figure, &t);
  uint64_t not_due = 0;
  char after_now[17];
  kehu_store_counts_time(after_now, r->now + 1);
  sum(r, "ticket_due", after_now, NULL, total, &not_due);
  k->responded = t.responded;
  k->within_sla = t.within;
  k->response_seconds = t.seconds;
  k->tickets = t.responded + t.due - (not_due <= t.due ? not_due : t.due);
  return 0;
}
