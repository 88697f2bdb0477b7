/* kehu report: counts over the customers the caller may see (docs/architecture.md#reports).
 * A report reads every customer, so it runs on libuv's thread pool with a
 * read transaction of its own: one report never stalls other clients. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "handlers.h"
#include "pool_work.h"

#define DAY 86400
#define TOP_ROWS 20

typedef struct {
  char *key;
  uint64_t count;
  int64_t amount;
} row;

/* Rows by key: open addressing, grown at half full. */
typedef struct {
  row *rows;
  size_t n, cap;
} row_map;

static uint64_t hash(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static row *row_for(row_map *m, const char *key)
{
  if (m->n * 2 >= m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    row *rows = calloc(cap, sizeof *rows);
    if (!rows)
      return NULL;
    for (size_t i = 0; i < m->cap; i++)
      if (m->rows[i].key) {
        size_t j = hash(m->rows[i].key) & (cap - 1);
        while (rows[j].key)
          j = (j + 1) & (cap - 1);
        rows[j] = m->rows[i];
      }
    free(m->rows);
    m->rows = rows;
    m->cap = cap;
  }
  size_t j = hash(key) & (m->cap - 1);
  while (m->rows[j].key && strcmp(m->rows[j].key, key) != 0)
    j = (j + 1) & (m->cap - 1);
  if (!m->rows[j].key) {
    if (!(m->rows[j].key = strdup(key)))
      return NULL;
    m->n++;
  }
  return &m->rows[j];
}

typedef struct {
  kehu_pool_work work;          /* on the thread pool (pool_work.h) */
  kehu_call *call;
  const char *kind;
  int64_t now, since;
  row_map map;
  int status;
  kehu_txn t;
} report_job;

static const char *dimension(const Kehu__Customer *c, const char *kind)
{
  const char *v = strcmp(kind, "stage") == 0      ? c->stage
                  : strcmp(kind, "industry") == 0 ? c->industry
                  : strcmp(kind, "region") == 0   ? c->region
                  : strcmp(kind, "source") == 0   ? c->source
                  : strcmp(kind, "owner") == 0    ? c->owner
                                                  : c->stage;
  return v && *v ? v : "(none)";
}

static int live_and_visible(report_job *j, const Kehu__Customer *c)
{
  return !(c->has_deleted && c->deleted) &&
         kehu_access_customer_visible(&j->t, &j->call->caller, c);
}

static void count_customers(report_job *j)
{
  int summary = strcmp(j->kind, "summary") == 0;
  MDB_cursor *cur;
  if (mdb_cursor_open(j->t.txn, *kehu_store_customers_dbi(j->t.st), &cur) != 0) {
    j->status = KEHU_INTERNAL;
    return;
  }
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    Kehu__Customer *c = kehu__customer__unpack(NULL, v.mv_size, v.mv_data);
    if (!c)
      continue;
    if (live_and_visible(j, c)) {
      row *r = row_for(&j->map, summary ? "customers" : dimension(c, j->kind));
      if (r)
        r->count++;
      if (summary && (r = row_for(&j->map, dimension(c, "stage"))))
        r->count++;
      if (summary && c->has_last_contact_at && j->now - c->last_contact_at > 180 * DAY &&
          (r = row_for(&j->map, "dormant")))
        r->count++;
    }
    kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
}

/* Records of one kind under visible customers: each(m, customer). */
typedef struct {
  report_job *job;
  uint64_t seen;
  int seen_ok;
  Kehu__Customer *customer;
} record_scan;

static int record_seen(ProtobufCMessage *m, uint64_t cust, void *arg)
{
  record_scan *s = arg;
  report_job *j = s->job;
  if (cust != s->seen) {
    if (s->customer)
      kehu__customer__free_unpacked(s->customer, NULL);
    s->customer = NULL;
    s->seen = cust;
    s->seen_ok = kehu_store_customer_get(&j->t, cust, &s->customer) == KEHU_OK &&
                 live_and_visible(j, s->customer);
  }
  int64_t at = 0;
  if (s->seen_ok) {
    if (strcmp(j->kind, "activity") == 0) {
      const Kehu__FollowUp *f = (const Kehu__FollowUp *)m;
      row *r;
      if (f->at >= j->since && (r = row_for(&j->map, f->author ? f->author : "(none)")))
        r->count++;
    } else {
      const Kehu__Order *o = (const Kehu__Order *)m;
      at = o->at;
      char key[300];
      snprintf(key, sizeof key, "%s %s", s->customer->id, s->customer->name);
      row *r;
      if (at >= j->now - 365 * DAY && (r = row_for(&j->map, key))) {
        r->count++;
        r->amount += o->amount;
      }
    }
  }
  protobuf_c_message_free_unpacked(m, NULL);
  return 0;   /* never counts toward a limit: read them all */
}

static void scan_records(report_job *j, kehu_kind kind)
{
  record_scan s = {.job = j};
  uint64_t next;
  j->status = kehu_store_child_list(&j->t, kehu_kind_get(kind), 0, 0, 1, record_seen, &s, &next);
  if (s.customer)
    kehu__customer__free_unpacked(s.customer, NULL);
}

static void run_report(uv_work_t *work)
{
  report_job *j = work->data;
  if ((j->status = kehu_store_read_begin(j->call->srv->store, &j->t)) != KEHU_OK)
    return;
  if (strcmp(j->kind, "activity") == 0)
    scan_records(j, KEHU_KIND_FOLLOWUP);
  else if (strcmp(j->kind, "top") == 0)
    scan_records(j, KEHU_KIND_ORDER);
  else
    count_customers(j);
  kehu_store_read_end(&j->t);
}

static int by_count(const void *a, const void *b)
{
  const row *x = a, *y = b;
  if (x->amount != y->amount)
    return x->amount < y->amount ? 1 : -1;
  if (x->count != y->count)
    return x->count < y->count ? 1 : -1;
  return strcmp(x->key, y->key);
}

static void report_done(uv_work_t *work, int status)
{
  report_job *j = work->data;
  kehu_call *call = j->call;
  row_map *m = &j->map;
  /* pack the rows together, largest first */
  size_t n = 0;
  for (size_t i = 0; i < m->cap; i++)
    if (m->rows[i].key)
      m->rows[n++] = m->rows[i];
  if (n > 1)   /* an empty report has no rows array at all */
    qsort(m->rows, n, sizeof *m->rows, by_count);
  if (strcmp(j->kind, "top") == 0 && n > TOP_ROWS)
    for (size_t i = TOP_ROWS; i < n; i++)
      free(m->rows[i].key);
  size_t shown = strcmp(j->kind, "top") == 0 && n > TOP_ROWS ? TOP_ROWS : n;
  if (status != 0 || j->status != KEHU_OK) {
    kehu_reply_status(call, j->status ? j->status : KEHU_INTERNAL, "the report could not be made");
  } else {
    Kehu__ReportRow *rows = calloc(shown + 1, sizeof *rows);
    Kehu__ReportRow **ptrs = calloc(shown + 1, sizeof *ptrs);
    for (size_t i = 0; rows && ptrs && i < shown; i++) {
      kehu__report_row__init(&rows[i]);
      rows[i].key = m->rows[i].key;
      rows[i].count = m->rows[i].count;
      rows[i].has_amount = strcmp(j->kind, "top") == 0 && kehu_access_sees_amounts(&call->caller);
      rows[i].amount = m->rows[i].amount;
      ptrs[i] = &rows[i];
    }
    Kehu__ReportResult res = KEHU__REPORT_RESULT__INIT;
    res.kind = (char *)j->kind;
    res.rows = ptrs;
    res.n_rows = rows && ptrs ? shown : 0;
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_REPORT;
    r.report = &res;
    kehu_reply(call, &r);
    free(rows);
    free(ptrs);
  }
  for (size_t i = 0; i < shown; i++)
    free(m->rows[i].key);
  free(m->rows);
  free(j);
}

void kehu_handle_report(kehu_call *call)
{
  static const char *const kinds[] = {"summary", "stage", "industry", "region", "source",
                                      "owner", "activity", "top"};
  const Kehu__ReportRequest *q = call->req->report;
  const char *kind = NULL;
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if (strcmp(q->kind, kinds[i]) == 0)
      kind = kinds[i];
  if (!kind) {
    kehu_reply_status(call, KEHU_INVALID,
                      "report: '%s' is not one of summary, stage, industry, region, source, "
                      "owner, activity, top (funnel, tiers and churn are not available yet)",
                      q->kind);
    return;
  }
  kehu_error err = {0};
  if (kehu_access_report(&call->caller, kind, &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  report_job *j = calloc(1, sizeof *j);
  if (!j) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return;
  }
  j->call = call;
  j->kind = kind;
  j->now = kehu_now(call->srv);
  j->since = q->has_since ? q->since : j->now - 30 * DAY;
  kehu_read_work_queue(call->srv, &j->work, j, run_report, report_done);
}
