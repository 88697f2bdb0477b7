/* The operations, with their letters (docs/architecture.md#performance-design):
 *   get      (a) CustomerGet of a random id from the pool
 *   add      (b) CustomerAdd of a generated customer (kehu_seed)
 *   update   (c) CustomerGet, then CustomerUpdate with the version read;
 *                the pair is one operation, as in the peer's pgbench script
 *   followup (d) ChildAdd of a follow-up to a random id from the pool
 *   search   (e) CustomerSearch of a brand stem (e3: a line of --terms)
 *   connect  (f) a new TCP + TLS connection, Hello, token login, one get
 *   mix          70 % get, 10 % add, 5 % update, 5 % followup, 10 % search
 *   watch        one Watch per connection, then waiting for a pushed reminder
 *                (watch.c)
 * Each is timed from its first request to its last reply. */
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "seed_data.h"

static const char *kind_name(bench_stat_kind k)
{
  static const char *const names[STAT_COUNT] = {
    [STAT_GET] = "get", [STAT_ADD] = "add", [STAT_UPDATE] = "update",
    [STAT_FOLLOWUP] = "followup", [STAT_SEARCH] = "search", [STAT_CONNECT] = "connect",
  };
  return names[k];
}

static uint64_t next_random(bench_ctx *b)
{
  /* xorshift64*: cheap, and good enough to pick ids and operations. */
  b->rng ^= b->rng >> 12;
  b->rng ^= b->rng << 25;
  b->rng ^= b->rng >> 27;
  return b->rng * 2685821657736338717ull;
}

static const char *random_id(bench_ctx *b)
{
  return b->pool[next_random(b) % b->npool].id;
}

typedef enum { OUTCOME_OK, OUTCOME_ERROR, OUTCOME_CONFLICT } outcome;

/* Records the end of o and frees it; message says what failed. */
static void finish_op(operation *o, outcome result, const char *message)
{
  worker *w = o->w;
  bench_ctx *b = w->b;
  bench_report *rep = b->rep;
  uint64_t now = uv_hrtime();
  w->inflight--;
  b->inflight_total--;
  if (b->phase == PHASE_DONE) {   /* never answered: cut off by the end of the run */
    rep->unfinished++;
    rep->stats[o->kind].errors++;
    free(o);
    return;
  }
  bench_stats *s = &rep->stats[o->kind];
  if (b->phase == PHASE_RUNNING) {
    s->ops++;
    bench_hist_add(&s->hist, now - o->t0);
    if (result == OUTCOME_OK && o->t_step)
      bench_hist_add(&s->step, now - o->t_step);
    if (result == OUTCOME_CONFLICT)
      s->conflicts++;
    b->last_completion = now;
  }
  if (result == OUTCOME_ERROR) {
    s->errors++;
    bench_error(rep, kind_name(o->kind), "%s", message);
  }
  free(o);
  bench_worker_fill(w);
  bench_worker_check_done(w);
  bench_check_end(b);
}

static void finish_reply(operation *o, const Kehu__Response *r, const char *failure)
{
  char msg[400];
  if (failure) {
    finish_op(o, OUTCOME_ERROR, failure);
  } else if (r->status == KEHU__STATUS__OK) {
    finish_op(o, OUTCOME_OK, NULL);
  } else {
    snprintf(msg, sizeof msg, "%s: %s", kehu_status_name((int)r->status),
             r->message ? r->message : "");
    finish_op(o, r->status == KEHU__STATUS__CONFLICT && o->kind == STAT_UPDATE
                     ? OUTCOME_CONFLICT : OUTCOME_ERROR, msg);
  }
}

/* ---- the operations ---- */

static int send_get(bench_conn *c, const char *id, bench_reply_fn fn, void *arg)
{
  Kehu__CustomerGet get = KEHU__CUSTOMER_GET__INIT;
  get.id = (char *)id;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_CUSTOMER_GET;
  req.customer_get = &get;
  return bench_conn_request(c, &req, fn, arg);
}

static void on_got(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  (void)c;
  operation *o = arg;
  if (!failure && r->status == KEHU__STATUS__OK && r->result_case != KEHU__RESPONSE__RESULT_CUSTOMER)
    failure = "protocol error: a get answered without a customer";
  finish_reply(o, r, failure);
}

static void on_found(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  (void)c;
  operation *o = arg;
  if (!failure && r->status == KEHU__STATUS__OK &&
      r->result_case != KEHU__RESPONSE__RESULT_CUSTOMER_PAGE)
    failure = "protocol error: a search answered without a page";
  finish_reply(o, r, failure);
}

/* Search (e): a random 2-character brand stem of the demo data (the
 * peer's generator uses the same 40), or a line of --terms (e3); the
 * first page of 20, as the peer's query does. */
static char **search_terms;
static size_t n_search_terms;

static const char *next_term(bench_ctx *b)
{
  if (b->opt->terms_file && !search_terms) {
    FILE *f = fopen(b->opt->terms_file, "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
      line[strcspn(line, "\r\n")] = '\0';
      char **more = line[0] ? realloc(search_terms, (n_search_terms + 1) * sizeof *more) : NULL;
      if (more && (more[n_search_terms] = strdup(line))) {
        search_terms = more;
        n_search_terms++;
      }
    }
    if (f)
      fclose(f);
  }
  if (n_search_terms)
    return search_terms[next_random(b) % n_search_terms];
  return kehu_seed_brand_stem(next_random(b) % KEHU_SEED_BRAND_STEM_COUNT);
}

static int send_search(bench_ctx *b, bench_conn *c, void *arg)
{
  /* a term may hold several words: each is a term of the query */
  char words[256];
  snprintf(words, sizeof words, "%s", next_term(b));
  char *terms[8], *save = NULL;
  size_t n = 0;
  for (char *w = strtok_r(words, " ", &save); w && n < 8; w = strtok_r(NULL, " ", &save))
    terms[n++] = w;
  Kehu__CustomerSearch q = KEHU__CUSTOMER_SEARCH__INIT;
  q.terms = terms;
  q.n_terms = n;
  q.has_limit = 1;
  q.limit = 20;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_CUSTOMER_SEARCH;
  req.customer_search = &q;
  return bench_conn_request(c, &req, on_found, arg);
}

static void on_added(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  (void)c;
  operation *o = arg;
  bench_ctx *b = o->w->b;
  if (!failure && r->status == KEHU__STATUS__OK) {
    if (r->result_case != KEHU__RESPONSE__RESULT_CUSTOMER || !r->customer->id)
      failure = "protocol error: an add answered without the new customer's id";
    else if (b->ids)
      fprintf(b->ids, "%s\n", r->customer->id);
  }
  finish_reply(o, r, failure);
}

int bench_send_add(bench_ctx *b, bench_conn *c, bench_reply_fn fn, void *arg)
{
  /* Generated names repeat (city x stem x kind), as real ones do. */
  kehu_seed_customer s;
  kehu_seed_customer_make(next_random(b) % 1000000000u, &s);
  Kehu__Customer cu = KEHU__CUSTOMER__INIT;
  cu.name = s.name;
  cu.short_name = s.short_name;
  cu.industry = (char *)s.industry;
  cu.region = s.region;
  cu.stage = (char *)s.stage;
  Kehu__CustomerAdd add = KEHU__CUSTOMER_ADD__INIT;
  add.customer = &cu;
  /* Generated names repeat; the peer's insert checks no duplicates, so the
   * bench adds with force (no duplicate lookup), the same work as the peer. */
  add.has_force = add.force = 1;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_CUSTOMER_ADD;
  req.customer_add = &add;
  return bench_conn_request(c, &req, fn, arg);
}

static void on_updated(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  (void)c;
  finish_reply(arg, r, failure);
}

/* update, step 1: the version we hold comes from a get. */
static void on_update_got(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  operation *o = arg;
  bench_ctx *b = o->w->b;
  if (failure || r->status != KEHU__STATUS__OK || r->result_case != KEHU__RESPONSE__RESULT_CUSTOMER) {
    on_got(c, arg, r, failure);
    return;
  }
  char notes[32];
  snprintf(notes, sizeof notes, "bench %llu", (unsigned long long)++b->note_seq);
  Kehu__Customer changes = KEHU__CUSTOMER__INIT;
  changes.notes = notes;
  Kehu__CustomerUpdate u = KEHU__CUSTOMER_UPDATE__INIT;
  u.id = o->id;
  u.has_expected_version = 1;
  u.expected_version = r->customer->version;
  u.changes = &changes;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_CUSTOMER_UPDATE;
  req.customer_update = &u;
  o->t_step = uv_hrtime();
  if (bench_conn_request(c, &req, on_updated, o) != 0)
    finish_op(o, OUTCOME_ERROR, "the connection was closed");
}

/* Follow-up (d): what a rep writes after talking to a customer. The
 * peer inserts one fixed text; a few realistic ones cost the same. The
 * time is left to the server (now), as the peer's now() does. */
static const struct {
  const char *method;
  const char *summary;
} followup_notes[] = {
  {"phone", "电话沟通，客户确认下周报价"},
  {"visit", "上门拜访，演示新版系统，采购部希望月底前给出试用方案"},
  {"email", "邮件发送产品资料和报价单，等待客户反馈"},
  {"meeting", "与客户技术负责人开会，确认接口需求，下周提交实施计划"},
  {"im", "微信沟通，客户询问交付周期，已答复三周内发货"},
  {"phone", "电话回访，客户对售后服务满意，有意续签合同"},
  {"other", "展会上再次碰面，客户表示预算已批，准备走合同流程"},
  {"phone", "Follow-up call: the customer confirmed the requirements, quote next week"},
};

static void on_followup_added(bench_conn *c, void *arg, const Kehu__Response *r,
                              const char *failure)
{
  (void)c;
  if (!failure && r->status == KEHU__STATUS__OK &&
      (r->result_case != KEHU__RESPONSE__RESULT_CHILD ||
       r->child->record_case != KEHU__CHILD__RECORD_FOLLOWUP || !r->child->followup->id))
    failure = "protocol error: a follow-up add answered without the new follow-up's id";
  finish_reply(arg, r, failure);
}

static int send_followup(bench_ctx *b, bench_conn *c, operation *o)
{
  size_t k = next_random(b) % (sizeof followup_notes / sizeof *followup_notes);
  Kehu__FollowUp f = KEHU__FOLLOW_UP__INIT;
  f.method = (char *)followup_notes[k].method;
  f.summary = (char *)followup_notes[k].summary;
  Kehu__Child child = KEHU__CHILD__INIT;
  child.record_case = KEHU__CHILD__RECORD_FOLLOWUP;
  child.followup = &f;
  Kehu__ChildAdd add = KEHU__CHILD_ADD__INIT;
  add.customer_id = o->id;
  add.child = &child;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_CHILD_ADD;
  req.child_add = &add;
  return bench_conn_request(c, &req, on_followup_added, o);
}

static bench_stat_kind choose_kind(bench_ctx *b)
{
  switch (b->opt->op) {
  case OP_ADD: return STAT_ADD;
  case OP_UPDATE: return STAT_UPDATE;
  case OP_FOLLOWUP: return STAT_FOLLOWUP;
  case OP_SEARCH: return STAT_SEARCH;
  case OP_MIX: {
    unsigned r = (unsigned)(next_random(b) % 100);
    /* docs/architecture.md#performance-design: 70 % a, 10 % b, 5 % c, 5 % d, 10 % e */
    return r < 70 ? STAT_GET : r < 80 ? STAT_ADD : r < 85 ? STAT_UPDATE
         : r < 90 ? STAT_FOLLOWUP : STAT_SEARCH;
  }
  default: return STAT_GET;
  }
}

static int start_op(worker *w)
{
  bench_ctx *b = w->b;
  operation *o = calloc(1, sizeof *o);
  if (!o)
    return -1;
  o->w = w;
  o->kind = choose_kind(b);
  o->t0 = uv_hrtime();
  int rc;
  switch (o->kind) {
  case STAT_ADD:
    rc = bench_send_add(b, w->conn, on_added, o);
    break;
  case STAT_SEARCH:
    rc = send_search(b, w->conn, o);
    break;
  case STAT_FOLLOWUP:
    snprintf(o->id, sizeof o->id, "%s", random_id(b));
    rc = send_followup(b, w->conn, o);
    break;
  default:
    snprintf(o->id, sizeof o->id, "%s", random_id(b));
    rc = send_get(w->conn, o->id, o->kind == STAT_UPDATE ? on_update_got : on_got, o);
    break;
  }
  if (rc != 0) {
    free(o);
    return -1;
  }
  w->inflight++;
  w->started++;
  b->inflight_total++;
  return 0;
}

/* ---- connect: a new connection per operation ---- */

static void connector_next(worker *w);

static void on_connector_closed(bench_conn *c)
{
  worker *w = bench_conn_owner(c);
  bench_ctx *b = w->b;
  if (w->conn == c)
    w->conn = NULL;
  connector_next(w);
  bench_worker_check_done(w);
  bench_check_end(b);
}

static const bench_conn_events connector_events = {NULL, on_connector_closed, NULL};

static void on_connect_got(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  operation *o = arg;
  bench_ctx *b = o->w->b;
  if (!failure && b->phase == PHASE_RUNNING) {
    if (bench_conn_resumed(c))
      b->rep->resumed++;
    else
      b->rep->full++;
  }
  bench_conn_close(c);
  on_got(c, arg, r, failure);
}

static void connector_next(worker *w)
{
  bench_ctx *b = w->b;
  if (b->phase != PHASE_RUNNING || w->conn || (b->opt->count && w->started >= b->opt->count))
    return;
  operation *o = calloc(1, sizeof *o);
  if (!o)
    return;
  o->w = w;
  o->kind = STAT_CONNECT;
  o->t0 = uv_hrtime();
  snprintf(o->id, sizeof o->id, "%s", random_id(b));
  w->conn = bench_conn_open(b->net, &connector_events, w, 0);
  if (!w->conn) {
    free(o);
    return;
  }
  w->inflight++;
  w->started++;
  b->inflight_total++;
  /* Pipelined behind Hello and login: one flight after the handshake. */
  if (send_get(w->conn, o->id, on_connect_got, o) != 0)
    finish_op(o, OUTCOME_ERROR, "the connection failed before its request was queued");
}

/* ---- workers ---- */

void bench_worker_fill(worker *w)
{
  bench_ctx *b = w->b;
  if (b->phase != PHASE_RUNNING)
    return;
  if (b->opt->op == OP_CONNECT) {
    connector_next(w);
    return;
  }
  if (!w->ready || w->gone || !w->conn)
    return;
  if (b->opt->op == OP_WATCH) {
    bench_watch_subscribe(w);
    return;
  }
  while (w->inflight < b->opt->depth && (!b->opt->count || w->started < b->opt->count))
    if (start_op(w) != 0)
      break;
}

