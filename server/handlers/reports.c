/* kehu report (docs/architecture.md#reports): the request checked, the
 * report computed on libuv's thread pool with a read transaction of its
 * own (report_kinds.c), so one report never stalls other clients, and the
 * rows answered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "pool_work.h"
#include "report.h"

typedef struct {
  kehu_pool_work work;   /* on the thread pool (pool_work.h) */
  kehu_call *call;
  kehu_txn t;
  kehu_report r;
} report_job;

static void run_report(uv_work_t *work)
{
  report_job *j = work->data;
  if ((j->r.status = kehu_store_read_begin(j->call->srv->store, &j->t)) != KEHU_OK)
    return;
  j->r.t = &j->t;
  kehu_report_compute(&j->r);
  kehu_store_read_end(&j->t);
}

static int by_count(const void *a, const void *b)
{
  const kehu_report_row *x = a, *y = b;
  if (x->amount != y->amount)
    return x->amount < y->amount ? 1 : -1;
  if (x->count != y->count)
    return x->count < y->count ? 1 : -1;
  int c = strcmp(x->key, y->key);
  return c ? c : strcmp(x->key2 ? x->key2 : "", y->key2 ? y->key2 : "");
}

static int as_made(const void *a, const void *b)
{
  const kehu_report_row *x = a, *y = b;
  return (x->order > y->order) - (x->order < y->order);
}

/* The map's rows packed to its front, in order; how many. */
static size_t pack(kehu_row_map *m, kehu_row_order order)
{
  size_t n = 0;
  for (size_t i = 0; i < m->cap; i++)
    if (m->rows[i].key) {
      kehu_report_row tmp = m->rows[i];
      m->rows[i] = (kehu_report_row){0};
      m->rows[n++] = tmp;
    }
  if (n > 1)
    qsort(m->rows, n, sizeof *m->rows, order == KEHU_ROWS_AS_MADE ? as_made : by_count);
  return n;
}

/* Protobuf rows pointing into the map's; amounts only for a role that sees them. */
static Kehu__ReportRow **to_rows(const kehu_row_map *m, size_t n, int amounts,
                                 Kehu__ReportRow **storage)
{
  Kehu__ReportRow *rows = calloc(n + 1, sizeof *rows);
  Kehu__ReportRow **ptrs = calloc(n + 1, sizeof *ptrs);
  if (!rows || !ptrs) {
    free(rows);
    free(ptrs);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    const kehu_report_row *s = &m->rows[i];
    Kehu__ReportRow *d = &rows[i];
    kehu__report_row__init(d);
    d->key = s->key;
    d->key2 = s->key2;
    d->count = s->count;
    d->has_amount = s->has_amount && amounts;
    d->amount = d->has_amount ? s->amount : 0;
    d->has_value = s->has_value;
    d->value = s->value;
    d->unit = (char *)s->unit;
    d->name = s->name;
    d->owner = s->owner;
    d->reason = s->reason;
    ptrs[i] = d;
  }
  *storage = rows;
  return ptrs;
}

static void report_done(uv_work_t *work, int status)
{
  report_job *j = work->data;
  kehu_call *call = j->call;
  kehu_report *r = &j->r;
  if (status != 0 || r->status != KEHU_OK) {
    kehu_reply_status(call, r->status ? r->status : KEHU_INTERNAL,
                      "the report could not be made: %s", kehu_status_name(r->status));
  } else {
    size_t n = pack(&r->rows, r->order), nt = pack(&r->transitions, KEHU_ROWS_BY_COUNT);
    if (r->limit && n > r->limit)
      n = r->limit;
    int amounts = kehu_access_sees_amounts(&call->caller);
    Kehu__ReportRow *rows = NULL, *trans = NULL;
    Kehu__ReportRow **rp = to_rows(&r->rows, n, amounts, &rows);
    Kehu__ReportRow **tp = to_rows(&r->transitions, nt, amounts, &trans);
    if (!rp || !tp) {
      kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    } else {
      Kehu__ReportResult res = KEHU__REPORT_RESULT__INIT;
      res.kind = (char *)r->kind;
      res.rows = rp;
      res.n_rows = n;
      res.transitions = tp;
      res.n_transitions = nt;
      res.has_since = !r->all_time;
      res.since = r->since;
      res.has_until = 1;
      res.until = r->until;
      Kehu__Response resp = KEHU__RESPONSE__INIT;
      resp.status = KEHU__STATUS__OK;
      resp.result_case = KEHU__RESPONSE__RESULT_REPORT;
      resp.report = &res;
      kehu_reply(call, &resp);
    }
    free(rows);
    free(rp);
    free(trans);
    free(tp);
  }
  kehu_row_map_free(&r->rows);
  kehu_row_map_free(&r->transitions);
  free(j);
}

static const char *known_kind(const char *kind)
{
  for (size_t i = 0; i < kehu_report_nkinds; i++)
    if (strcmp(kind, kehu_report_kinds[i]) == 0)
      return kehu_report_kinds[i];
  return NULL;
}

void kehu_handle_report(kehu_call *call)
{
  const Kehu__ReportRequest *q = call->req->report;
  const char *kind = known_kind(q->kind);
  if (!kind) {
    char list[256] = "";
    for (size_t i = 0; i < kehu_report_nkinds; i++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
               kehu_report_kinds[i]);
    kehu_error err = {0};
    kehu_fail(&err, KEHU_INVALID, "kind", "report: '%s' is not one of %s", q->kind, list);
    kehu_reply_error(call, &err);
    return;
  }
  if (q->has_since && q->has_until && q->until < q->since) {
    kehu_error err = {0};
    kehu_fail(&err, KEHU_INVALID, "until", "until: the period ends before it starts");
    kehu_reply_error(call, &err);
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
  kehu_report *r = &j->r;
  j->call = call;
  r->who = &call->caller;
  r->cfg = &call->srv->cfg;
  r->kind = kind;
  r->now = kehu_now(call->srv);
  r->until = q->has_until ? q->until : r->now + 1;   /* the period includes this second */
  int64_t span = kehu_report_default_span(kind);
  r->all_time = !q->has_since && !span;
  r->open_end = !q->has_until;
  r->since = q->has_since ? q->since : span ? r->until - span : 0;
  kehu_read_work_queue(call->srv, &j->work, j, run_report, report_done);
}
