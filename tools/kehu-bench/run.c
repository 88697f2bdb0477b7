/* The run: log in once with the password, gather customer ids, open the
 * other connections with the session token, then keep --depth operations in
 * flight on each connection until --duration ends or each has done --count.
 * Everything is bounded in time; the end is reported whatever happened. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#define POOL_MAX 20000
#define POOL_PAGE 500
#define POOL_SEED 100          /* customers added first when there are none */
#define OPENING_AT_ONCE 64     /* handshakes in progress while connecting */
#define DRAIN_MS 10000         /* waiting for replies after --duration */

static void finish(bench_ctx *b);
static void start_running(bench_ctx *b);

static void setup_failed(bench_ctx *b, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Says why the run cannot start and ends it with exit code `code`. */
static void setup_failed(bench_ctx *b, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "kehu-bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  if (!b->exit_code)
    b->exit_code = code;
  finish(b);
}

/* ---- when is the run over ---- */

void bench_worker_check_done(worker *w)
{
  bench_ctx *b = w->b;
  if (w->done)
    return;
  int done = w->gone || w->failed ||
             (b->opt->count && w->started >= b->opt->count && w->inflight == 0) ||
             (b->opt->op == OP_WATCH && w->got_event);
  if (!done)
    return;
  w->done = 1;
  b->workers_done++;
}

void bench_check_end(bench_ctx *b)
{
  if (b->phase == PHASE_RUNNING && b->workers_done == b->opt->connections) {
    if (b->opt->reconnect)
      bench_storm_fanout_done(b);   /* then the drops, and the watchers' return */
    else
      finish(b);
  }
  else if (b->phase == PHASE_DRAINING && b->inflight_total == 0)
    finish(b);
}

/* ---- connections ---- */

static void open_more(bench_ctx *b);

static void on_worker_ready(bench_conn *c)
{
  worker *w = bench_conn_owner(c);
  bench_ctx *b = w->b;
  if (w->reconnecting) {
    bench_storm_ready(w);
    return;
  }
  w->ready = 1;
  b->rep->connections_ready++;
  if (b->phase != PHASE_CONNECTING)
    return;
  b->opening--;
  b->settled++;
  open_more(b);
}

static void on_worker_closed(bench_conn *c)
{
  worker *w = bench_conn_owner(c);
  bench_ctx *b = w->b;
  if (w->conn != c || b->phase == PHASE_DONE)
    return;   /* closed on purpose: already accounted for */
  w->conn = NULL;
  if (b->fanout_reported) {   /* --reconnect: it comes back */
    bench_storm_dropped(w, c);
    return;
  }
  int status;
  const char *why = bench_conn_failure(c, &status);
  if (!w->ready) {
    w->failed = 1;
    bench_worker_check_done(w);
    if (w->index == 0) {   /* the password login: nothing can work without it */
      setup_failed(b, status == KEHU_UNAUTHENTICATED ? KEHU_UNAUTHENTICATED
                                                     : BENCH_EXIT_NO_CONNECTION,
                   "%s", why ? why : "the first connection closed before logging in");
      return;
    }
    b->rep->other_errors++;
    bench_error(b->rep, "connection", "%s", why ? why : "closed before logging in");
    if (b->phase == PHASE_CONNECTING) {
      b->opening--;
      b->settled++;
      open_more(b);
    }
    return;
  }
  w->gone = 1;
  if (why) {
    b->rep->other_errors++;
    bench_error(b->rep, "connection", "%s", why);
  }
  bench_worker_check_done(w);
  if (b->opt->op == OP_WATCH)
    bench_watch_check_all(b);
  bench_check_end(b);
}

static void on_worker_event(bench_conn *c, const Kehu__Event *e)
{
  worker *w = bench_conn_owner(c);
  if (w->conn == c && w->b->opt->op == OP_WATCH)
    bench_watch_event(w, e);
}

const bench_conn_events bench_worker_events = {on_worker_ready, on_worker_closed,
                                              on_worker_event};

void bench_open_worker(bench_ctx *b, worker *w, int flags)
{
  w->conn = bench_conn_open(b->net, &bench_worker_events, w, flags);
  if (!w->conn)
    setup_failed(b, BENCH_EXIT_ERRORS, "%s", "out of memory opening connections");
}

/* Keeps OPENING_AT_ONCE handshakes going until every worker is settled. */
static void open_more(bench_ctx *b)
{
  while (b->phase == PHASE_CONNECTING && b->next_to_open < b->opt->connections &&
         b->opening < OPENING_AT_ONCE) {
    b->opening++;
    bench_open_worker(b, &b->workers[b->next_to_open++], 0);
  }
  if (b->phase == PHASE_CONNECTING && b->settled == b->opt->connections) {
    if (b->rep->connections_ready == 0)
      setup_failed(b, BENCH_EXIT_NO_CONNECTION, "%s", "no connection could be established");
    else
      start_running(b);
  }
}

/* ---- setup: the id pool ---- */

static void connect_the_rest(bench_ctx *b)
{
  if (b->opt->op == OP_CONNECT) {
    /* The login connection only gathered ids and a TLS session. */
    worker *w0 = &b->workers[0];
    bench_conn *c = w0->conn;
    w0->conn = NULL;
    if (c)
      bench_conn_close(c);
    w0->ready = 0;
    start_running(b);
    return;
  }
  b->phase = PHASE_CONNECTING;
  b->next_to_open = 1;
  b->settled = 1;
  open_more(b);
}

static void on_seeded(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  (void)arg;
  bench_ctx *b = ((worker *)bench_conn_owner(c))->b;
  b->seeding--;
  if (b->phase != PHASE_POOL)
    return;
  if (failure || r->status != KEHU__STATUS__OK || r->result_case != KEHU__RESPONSE__RESULT_CUSTOMER) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s: %s", failure ? "failed" : kehu_status_name((int)r->status),
             failure ? failure : r->message ? r->message : "");
    setup_failed(b, BENCH_EXIT_ERRORS, "there are no customers and adding some failed: %s", msg);
    return;
  }
  snprintf(b->pool[b->npool++].id, sizeof b->pool->id, "%s", r->customer->id);
  if (b->seeding == 0)
    connect_the_rest(b);
}

static void seed_pool(bench_ctx *b, bench_conn *c)
{
  for (unsigned i = 0; i < POOL_SEED; i++) {
    if (bench_send_add(b, c, on_seeded, NULL) != 0)
      return;
    b->seeding++;
  }
  bench_conn_flush(c);
}

static void list_page(bench_conn *c, const char *cursor);

static void on_page(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  (void)arg;
  bench_ctx *b = ((worker *)bench_conn_owner(c))->b;
  if (b->phase != PHASE_POOL)
    return;
  if (failure || r->status != KEHU__STATUS__OK ||
      r->result_case != KEHU__RESPONSE__RESULT_CUSTOMER_PAGE) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s: %s", failure ? "failed" : kehu_status_name((int)r->status),
             failure ? failure : r->message ? r->message : "");
    setup_failed(b, BENCH_EXIT_ERRORS, "listing customers for the id pool: %s", msg);
    return;
  }
  const Kehu__CustomerPage *p = r->customer_page;
  for (size_t i = 0; i < p->n_items && b->npool < POOL_MAX; i++)
    if (p->items[i]->id)
      snprintf(b->pool[b->npool++].id, sizeof b->pool->id, "%s", p->items[i]->id);
  if (p->next_cursor && *p->next_cursor && p->n_items > 0 && b->npool < POOL_MAX) {
    list_page(c, p->next_cursor);
  } else if (b->npool == 0) {
    bench_note(b->rep, "there were no customers: added %d for the id pool", POOL_SEED);
    seed_pool(b, c);
  } else {
    connect_the_rest(b);
  }
}

static void list_page(bench_conn *c, const char *cursor)
{
  Kehu__CustomerList list = KEHU__CUSTOMER_LIST__INIT;
  list.has_limit = 1;
  list.limit = POOL_PAGE;
  list.cursor = (char *)cursor;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_CUSTOMER_LIST;
  req.customer_list = &list;
  if (bench_conn_request(c, &req, on_page, NULL) != 0)
    return;   /* closing: on_worker_closed reports it */
  bench_conn_flush(c);
}

static void on_login_ready(bench_conn *c)
{
  worker *w = bench_conn_owner(c);
  bench_ctx *b = w->b;
  w->ready = 1;
  b->rep->connections_ready++;
  if (b->phase != PHASE_LOGIN)
    return;
  if (!b->net->token) {
    setup_failed(b, BENCH_EXIT_ERRORS, "%s", "the password login returned no session token");
    return;
  }
  if (b->opt->op == OP_ADD || b->opt->op == OP_WATCH) {   /* no id pool needed */
    connect_the_rest(b);
    return;
  }
  b->phase = PHASE_POOL;
  list_page(c, NULL);
}

static const bench_conn_events login_events = {on_login_ready, on_worker_closed,
                                               on_worker_event};

/* ---- start, stop ---- */

static void on_duration_over(uv_timer_t *t);

static void start_running(bench_ctx *b)
{
  uv_timer_stop(&b->setup_timer);
  b->phase = PHASE_RUNNING;
  if (b->opt->op == OP_CONNECT)
    for (unsigned i = 0; i < b->opt->connections; i++)
      b->workers[i].ready = 1;
  bench_cpu_sample(&b->rep->cpu, 0);
  b->t_start = uv_hrtime();
  if (!b->opt->count)
    uv_timer_start(&b->stop_timer, on_duration_over, (uint64_t)(b->opt->duration_s * 1000), 0);
  for (unsigned i = 0; i < b->opt->connections && b->phase == PHASE_RUNNING; i++) {
    worker *w = &b->workers[i];
    bench_worker_fill(w);
    if (w->conn)
      bench_conn_flush(w->conn);
    bench_worker_check_done(w);
  }
  bench_check_end(b);
}

static void on_drain_over(uv_timer_t *t)
{
  finish(t->data);
}

static void on_duration_over(uv_timer_t *t)
{
  bench_ctx *b = t->data;
  b->t_end = uv_hrtime();
  bench_cpu_sample(&b->rep->cpu, 1);
  b->phase = PHASE_DRAINING;
  /* Writes already sent are answered (and their ids written) before the
   * connections close; they no longer count towards the rate. */
  uv_timer_start(&b->stop_timer, on_drain_over, DRAIN_MS, 0);
  bench_check_end(b);
}

static void on_hard_timeout(uv_timer_t *t)
{
  bench_ctx *b = t->data;
  fprintf(stderr, "kehu-bench: hard time limit reached (%.0f s): reporting what completed\n",
          (double)uv_timer_get_repeat(t) / 1000.0);
  b->rep->timed_out = 1;
  if (b->phase == PHASE_LOGIN)
    b->exit_code = BENCH_EXIT_NO_CONNECTION;
  finish(b);
}

/* Logging in and connecting may take this long; the rest of the hard
 * limit is for the measurement and the drain. */
static uint64_t setup_limit_ms(const bench_options *o)
{
  return o->count ? 60000 : 20000;
}

static void on_setup_too_long(uv_timer_t *t)
{
  bench_ctx *b = t->data;
  if (b->phase == PHASE_LOGIN) {
    char msg[300];
    snprintf(msg, sizeof msg, "no login at %s within %.0f s: the connection was still %s",
             b->opt->server, (double)setup_limit_ms(b->opt) / 1000.0,
             b->workers[0].conn ? bench_conn_stage(b->workers[0].conn) : "closed");
    setup_failed(b, BENCH_EXIT_NO_CONNECTION, "%s", msg);
  } else if (b->phase == PHASE_POOL) {
    setup_failed(b, BENCH_EXIT_ERRORS, "gathering customer ids from %s took too long",
                 b->opt->server);
  } else if (b->phase == PHASE_CONNECTING) {
    unsigned late = 0;
    for (unsigned i = 0; i < b->opt->connections; i++) {
      worker *w = &b->workers[i];
      if (w->ready || w->failed)
        continue;
      late++;
      w->failed = 1;
      bench_worker_check_done(w);
      if (w->conn) {
        bench_conn *c = w->conn;
        w->conn = NULL;
        bench_conn_close(c);
      }
    }
    b->rep->other_errors += late;
    bench_error(b->rep, "connection", "%u connections not ready within the set-up limit", late);
    if (b->rep->connections_ready == 0)
      setup_failed(b, BENCH_EXIT_NO_CONNECTION, "%s", "no connection could be established");
    else
      start_running(b);
  }
}

void bench_finish(bench_ctx *b)
{
  finish(b);
}

static void finish(bench_ctx *b)
{
  if (b->phase == PHASE_DONE)
    return;
  if (b->opt->reconnect)
    bench_storm_stop(b, 0);
  if (b->phase == PHASE_RUNNING) {
    uint64_t now = uv_hrtime();
    b->t_end = b->opt->count && b->last_completion ? b->last_completion : now;
    bench_cpu_sample(&b->rep->cpu, 1);
  }
  b->phase = PHASE_DONE;
  uv_timer_stop(&b->stop_timer);
  uv_timer_stop(&b->hard_timer);
  uv_timer_stop(&b->setup_timer);
  for (unsigned i = 0; i < b->opt->connections; i++) {
    bench_conn *c = b->workers[i].conn;
    b->workers[i].conn = NULL;
    if (c)
      bench_conn_close(c);
  }
}

static void close_timers(bench_ctx *b)
{
  uv_close((uv_handle_t *)&b->stop_timer, NULL);
  uv_close((uv_handle_t *)&b->hard_timer, NULL);
  uv_close((uv_handle_t *)&b->setup_timer, NULL);
  if (b->opt->reconnect)
    bench_storm_stop(b, 1);
  uv_run(b->loop, UV_RUN_DEFAULT);
}

int bench_run(const bench_options *opt, bench_net *net, bench_report *rep)
{
  bench_ctx b_storage, *b = &b_storage;
  memset(b, 0, sizeof *b);
  b->opt = opt;
  b->net = net;
  b->rep = rep;
  b->loop = net->loop;
  b->rng = (uint64_t)time(NULL) ^ uv_hrtime() ^ ((uint64_t)getpid() << 32);
  if (!b->rng)
    b->rng = 1;
  rep->opt = opt;
  rep->cpu.server_pid = opt->server_pid ? opt->server_pid : bench_find_server_pid(opt);
  if (opt->ids_out && !(b->ids = fopen(opt->ids_out, "w"))) {
    fprintf(stderr, "kehu-bench: --ids-out: cannot write %s\n", opt->ids_out);
    return BENCH_EXIT_USAGE;
  }
  b->workers = calloc(opt->connections, sizeof *b->workers);
  b->pool = calloc(POOL_MAX, sizeof *b->pool);
  if (!b->workers || !b->pool) {
    fprintf(stderr, "kehu-bench: out of memory\n");
    free(b->workers);
    free(b->pool);
    if (b->ids)
      fclose(b->ids);
    return BENCH_EXIT_ERRORS;
  }
  for (unsigned i = 0; i < opt->connections; i++) {
    b->workers[i].b = b;
    b->workers[i].index = i;
  }
  uv_timer_init(b->loop, &b->stop_timer);
  uv_timer_init(b->loop, &b->hard_timer);
  uv_timer_init(b->loop, &b->setup_timer);
  b->stop_timer.data = b->hard_timer.data = b->setup_timer.data = b;
  /* Everything is bounded: --duration + 30 s (300 s with --count), of which
   * at most 20 s (60 s) may go to logging in and connecting. */
  uint64_t hard_ms = opt->count ? 300000 : (uint64_t)(opt->duration_s * 1000) + 30000;
  uv_timer_start(&b->hard_timer, on_hard_timeout, hard_ms, hard_ms);
  uv_timer_start(&b->setup_timer, on_setup_too_long, setup_limit_ms(opt), 0);
  if (opt->reconnect)
    bench_storm_init(b);

  b->phase = PHASE_LOGIN;
  b->workers[0].conn = bench_conn_open(net, &login_events, &b->workers[0], BENCH_LOGIN_PASSWORD);
  if (!b->workers[0].conn)
    setup_failed(b, BENCH_EXIT_ERRORS, "%s", "out of memory");
  uv_run(b->loop, UV_RUN_DEFAULT);
  close_timers(b);

  if (rep->unfinished && !b->exit_code) {
    /* Left unanswered DRAIN_MS after the end (or at the hard limit). */
    bench_error(rep, "run", "%llu operations got no reply", (unsigned long long)rep->unfinished);
  }
  if (b->t_start && b->t_end > b->t_start)
    rep->elapsed_s = (double)(b->t_end - b->t_start) / 1e9;
  if (opt->op == OP_CONNECT && opt->depth > 1)
    bench_note(rep, "connect: --depth does not apply (one request per connection)");
  if (b->ids && fclose(b->ids) != 0) {
    fprintf(stderr, "kehu-bench: --ids-out: writing %s failed\n", opt->ids_out);
    if (!b->exit_code)
      b->exit_code = BENCH_EXIT_ERRORS;
  }
  free(b->workers);
  free(b->pool);
  if (b->exit_code)
    return b->exit_code;
  if (rep->connections_ready == 0 && opt->op != OP_CONNECT)
    return BENCH_EXIT_NO_CONNECTION;
  if (rep->timed_out || bench_total_errors(rep) > 0)
    return BENCH_EXIT_ERRORS;
  if (opt->op == OP_WATCH && rep->watch.received < opt->connections)
    return BENCH_EXIT_ERRORS;
  if (opt->reconnect && rep->storm.resubscribed < opt->connections)
    return BENCH_EXIT_ERRORS;
  return BENCH_EXIT_OK;
}

