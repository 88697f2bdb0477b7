/* --op watch --reconnect: the reconnect storm of BENCH.md row P1
 * (docs/architecture.md#performance-design).
 *
 * Once every watcher has its reminder, "received N" goes to stdout and the
 * run waits. When the watchers' connections drop (the server restarts),
 * each comes back the way `kehu` does — TCP, TLS offering the saved session
 * (resumed when the server still takes its ticket), a token login — after a
 * random delay of up to JITTER_MS, so that they do not all arrive in the
 * same millisecond, and subscribes again; a failed attempt waits longer
 * each time (BACKOFF_FIRST_MS doubling to BACKOFF_MAX_MS, less up to half
 * of it at random). Measured: how long until every watcher is subscribed
 * again, the handshakes by kind, the restarted server's CPU time, and the
 * latency of a probe's gets (one more connection, a get every
 * PROBE_EVERY_MS, in a thread of its own so that this process's work for
 * the watchers does not delay it) before its connection dropped and, once
 * it is back, until the last watcher is back. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define JITTER_MS 500
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 8000
#define PROBE_EVERY_MS 10
#define PROBE_RETRY_MS 50

static uint64_t random_below(bench_ctx *b, uint64_t n)
{
  b->rng ^= b->rng >> 12;
  b->rng ^= b->rng << 25;
  b->rng ^= b->rng >> 27;
  return n ? (b->rng * 2685821657736338717ull) % n : 0;
}

static double seconds(uint64_t from_ns, uint64_t to_ns)
{
  return to_ns > from_ns ? (double)(to_ns - from_ns) / 1e9 : 0;
}

static void probe_end(bench_ctx *b);

void bench_storm_init(bench_ctx *b)
{
  for (unsigned i = 0; i < b->opt->connections; i++) {
    uv_timer_init(b->loop, &b->workers[i].retry);
    b->workers[i].retry.data = &b->workers[i];
  }
}

void bench_storm_stop(bench_ctx *b, int close_all)
{
  for (unsigned i = 0; i < b->opt->connections; i++) {
    uv_timer_stop(&b->workers[i].retry);
    if (close_all)
      uv_close((uv_handle_t *)&b->workers[i].retry, NULL);
  }
  if (!close_all)
    probe_end(b);
}

void bench_storm_fanout_done(bench_ctx *b)
{
  if (b->fanout_reported)
    return;
  b->fanout_reported = 1;
  printf("received %llu\n", (unsigned long long)b->rep->watch.received);
  fflush(stdout);
}

/* ---- the watchers coming back ---- */

static void on_retry(uv_timer_t *t)
{
  worker *w = t->data;
  bench_ctx *b = w->b;
  if (b->phase != PHASE_RUNNING)
    return;
  b->rep->storm.attempts++;
  bench_open_worker(b, w, 0);
}

static void schedule(worker *w)
{
  bench_ctx *b = w->b;
  uint64_t ms;
  if (w->failures == 0) {
    ms = random_below(b, JITTER_MS + 1);
  } else {
    uint64_t full = BACKOFF_FIRST_MS;
    for (unsigned i = 1; i < w->failures && full < BACKOFF_MAX_MS; i++)
      full *= 2;
    if (full > BACKOFF_MAX_MS)
      full = BACKOFF_MAX_MS;
    ms = full - random_below(b, full / 2 + 1);
  }
  uv_timer_start(&w->retry, on_retry, ms, 0);
}

static void storm_begins(bench_ctx *b)
{
  if (b->storm)
    return;
  b->storm = 1;
  b->t_drop = uv_hrtime();
  b->rep->storm.measured = 1;
  b->hs_full0 = b->net->handshakes_full;
  b->hs_resumed0 = b->net->handshakes_resumed;
}

/* Some connection is logged in again: the server is back. */
static void server_back(bench_ctx *b)
{
  if (b->t_back)
    return;
  b->t_back = uv_hrtime();
  bench_storm_result *s = &b->rep->storm;
  /* A new process: look it up again, then count its CPU from here. */
  s->cpu.server_pid = bench_find_server_pid(b->opt);
  bench_cpu_sample(&s->cpu, 0);
}

static void storm_ends(bench_ctx *b)
{
  uint64_t now = uv_hrtime();
  bench_storm_result *s = &b->rep->storm;
  bench_cpu_sample(&s->cpu, 1);
  s->drop_to_all_s = seconds(b->t_drop, now);
  s->up_to_all_s = seconds(b->t_back, now);
  s->resumed = b->net->handshakes_resumed - b->hs_resumed0;
  s->full = b->net->handshakes_full - b->hs_full0;
  bench_finish(b);
}

void bench_storm_dropped(worker *w, bench_conn *c)
{
  bench_ctx *b = w->b;
  storm_begins(b);
  if (w->reconnecting && !w->resubscribed) {
    /* An attempt that failed: refusals over a cap and connections closed
     * unanswered are what a storm brings; counted, not reported one by one. */
    bench_storm_result *st = &b->rep->storm;
    int status = 0;
    const char *why = bench_conn_failure(c, &status);
    st->failed_attempts++;
    if (status == KEHU_EXHAUSTED)
      st->failed_cap++;
    else if (why && strncmp(why, "cannot connect", 14) == 0)
      st->failed_connect++;
    w->failures++;
  } else {
    if (w->resubscribed) {   /* came back, then dropped again */
      w->resubscribed = 0;
      b->resubscribed--;
    }
    w->reconnecting = 1;
    w->failures = 0;
  }
  w->ready = 0;
  schedule(w);
}

void bench_storm_ready(worker *w)
{
  bench_ctx *b = w->b;
  server_back(b);
  w->ready = 1;
  w->watch_sent = 0;
  bench_watch_subscribe(w);
  bench_conn_flush(w->conn);
}

void bench_storm_watch_reply(worker *w, const Kehu__Response *r, const char *failure)
{
  bench_ctx *b = w->b;
  if (failure || b->phase != PHASE_RUNNING)
    return;   /* the connection is going: bench_storm_dropped tries again */
  if (r->status != KEHU__STATUS__OK) {
    bench_error(b->rep, "watch", "again: %s: %s", kehu_status_name((int)r->status),
                r->message ? r->message : "");
    if (w->conn)
      bench_conn_close(w->conn);   /* closed on purpose: on_worker_closed ignores it */
    w->conn = NULL;
    w->failures++;
    b->rep->storm.failed_attempts++;
    schedule(w);
    return;
  }
  if (w->resubscribed)
    return;
  w->resubscribed = 1;
  b->rep->storm.resubscribed = ++b->resubscribed;
  if (b->resubscribed == b->opt->connections)
    storm_ends(b);
}

/* ---- the probe: its own thread and loop, so that what it measures is
 * the server's doing, not this process's work for the watchers ---- */

struct bench_probe {
  bench_net net;             /* its own loop, TLS configuration, token, saved session */
  uv_loop_t loop;
  uv_async_t stop;           /* the main thread: the run is over */
  uv_timer_t timer;
  uv_thread_t thread;
  bench_conn *conn;
  char id[24];               /* the customer it reads (added by it) */
  int ready, dropped, stopping;
  uint64_t t0;               /* the get in flight, sent at */
  uint64_t down_since;       /* its connection dropped at (0: up) */
  atomic_int storm_over;     /* set by the main thread: every watcher is back */
  /* read by the main thread once this one has ended */
  bench_hist before, storm;
  double down_s;
  uint64_t errors;
  char first_error[200];
};

static const bench_conn_events probe_events;

static void probe_error(bench_probe *p, const char *what, const Kehu__Response *r)
{
  if (p->errors++ == 0)
    snprintf(p->first_error, sizeof p->first_error, "%s: %s: %s", what,
             kehu_status_name((int)r->status), r->message ? r->message : "");
}

static void probe_next(uv_timer_t *t);

static void probe_later(bench_probe *p, uint64_t ms)
{
  if (!p->stopping)
    uv_timer_start(&p->timer, probe_next, ms, 0);
}

static void on_probe_got(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  (void)c;
  bench_probe *p = arg;
  if (failure)
    return;   /* closing: probe_closed reconnects */
  uint64_t ns = uv_hrtime() - p->t0;
  if (r->status != KEHU__STATUS__OK)
    probe_error(p, "get", r);
  else if (!p->dropped)
    bench_hist_add(&p->before, ns);
  else if (!atomic_load(&p->storm_over))
    bench_hist_add(&p->storm, ns);
  probe_later(p, PROBE_EVERY_MS);
}

static void probe_get(bench_probe *p)
{
  Kehu__CustomerGet get = KEHU__CUSTOMER_GET__INIT;
  get.id = p->id;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_CUSTOMER_GET;
  req.customer_get = &get;
  p->t0 = uv_hrtime();
  if (bench_conn_request(p->conn, &req, on_probe_got, p) == 0)
    bench_conn_flush(p->conn);
}

static void on_probe_added(bench_conn *c, void *arg, const Kehu__Response *r,
                           const char *failure)
{
  (void)c;
  bench_probe *p = arg;
  if (failure)
    return;
  if (r->status != KEHU__STATUS__OK || r->result_case != KEHU__RESPONSE__RESULT_CUSTOMER) {
    probe_error(p, "adding its customer", r);
    return;
  }
  snprintf(p->id, sizeof p->id, "%s", r->customer->id);
  probe_get(p);
}

static void probe_add(bench_probe *p)
{
  Kehu__Customer cu = KEHU__CUSTOMER__INIT;
  cu.name = "深圳市探针信息技术有限公司";
  Kehu__CustomerAdd add = KEHU__CUSTOMER_ADD__INIT;
  add.customer = &cu;
  add.has_force = add.force = 1;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_CUSTOMER_ADD;
  req.customer_add = &add;
  if (bench_conn_request(p->conn, &req, on_probe_added, p) == 0)
    bench_conn_flush(p->conn);
}

static void probe_next(uv_timer_t *t)
{
  bench_probe *p = t->data;
  if (p->stopping)
    return;
  if (!p->conn) {
    p->conn = bench_conn_open(&p->net, &probe_events, p, 0);
    return;
  }
  if (!p->ready)
    return;
  if (p->id[0])
    probe_get(p);
  else
    probe_add(p);
}

static void probe_ready(bench_conn *c)
{
  bench_probe *p = bench_conn_owner(c);
  p->ready = 1;
  if (p->down_since) {
    p->down_s += seconds(p->down_since, uv_hrtime());
    p->down_since = 0;
  }
  probe_next(&p->timer);
}

static void probe_closed(bench_conn *c)
{
  bench_probe *p = bench_conn_owner(c);
  if (p->conn != c || p->stopping)
    return;
  p->conn = NULL;
  if (p->ready) {
    p->dropped = 1;
    p->down_since = uv_hrtime();
  }
  p->ready = 0;
  /* A user at work tries again at once; the watchers wait their turn. */
  probe_later(p, PROBE_RETRY_MS);
}

static const bench_conn_events probe_events = {probe_ready, probe_closed, NULL};

static void on_probe_stop(uv_async_t *a)
{
  bench_probe *p = a->data;
  p->stopping = 1;
  uv_timer_stop(&p->timer);
  bench_conn *c = p->conn;
  p->conn = NULL;
  if (c)
    bench_conn_close(c);
  uv_close((uv_handle_t *)&p->timer, NULL);
  uv_close((uv_handle_t *)&p->stop, NULL);
}

static void probe_main(void *arg)
{
  bench_probe *p = arg;
  p->conn = bench_conn_open(&p->net, &probe_events, p, 0);
  uv_run(&p->loop, UV_RUN_DEFAULT);
}

/* A copy of the main thread's session for the probe's own TLS configuration. */
static int copy_session(const mbedtls_ssl_session *from, mbedtls_ssl_session *to)
{
  size_t n = 0;
  if (mbedtls_ssl_session_save(from, NULL, 0, &n) != MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL)
    return -1;
  unsigned char *buf = malloc(n);
  int rc = buf && mbedtls_ssl_session_save(from, buf, n, &n) == 0 &&
                   mbedtls_ssl_session_load(to, buf, n) == 0 ? 0 : -1;
  free(buf);
  return rc;
}

void bench_storm_probe_start(bench_ctx *b)
{
  if (b->probe || b->phase != PHASE_RUNNING)
    return;
  bench_probe *p = calloc(1, sizeof *p);
  if (!p)
    return;
  const bench_net *from = b->net;
  bench_net *net = &p->net;
  uv_loop_init(&p->loop);
  net->loop = &p->loop;
  memcpy(&net->addr, &from->addr, sizeof net->addr);
  net->server = from->server;
  net->host = from->host;
  net->host_is_ip = from->host_is_ip;
  net->user = from->user;
  net->password = from->password;
  net->token = from->token ? strdup(from->token) : NULL;
  net->full_handshake = from->full_handshake;
  mbedtls_ssl_session_init(&net->saved);
  if (from->have_saved && copy_session(&from->saved, &net->saved) == 0)
    net->have_saved = 1;
  kehu_error err;
  kehu_error_clear(&err);
  if (kehu_tls_client_init(&net->tls, b->opt->ca, &err) != 0) {
    bench_error(b->rep, "probe", "%s", err.message);
    kehu_tls_client_free(&net->tls);
    mbedtls_ssl_session_free(&net->saved);
    free(net->token);
    uv_loop_close(&p->loop);
    free(p);
    return;
  }
  uv_async_init(&p->loop, &p->stop, on_probe_stop);
  p->stop.data = p;
  uv_timer_init(&p->loop, &p->timer);
  p->timer.data = p;
  if (uv_thread_create(&p->thread, probe_main, p) != 0) {
    bench_error(b->rep, "probe", "%s", "cannot start its thread");
    on_probe_stop(&p->stop);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    uv_loop_close(&p->loop);
    kehu_tls_client_free(&net->tls);
    mbedtls_ssl_session_free(&net->saved);
    free(net->token);
    free(p);
    return;
  }
  b->probe = p;
}

/* Ends the probe's thread and takes its figures. */
static void probe_end(bench_ctx *b)
{
  bench_probe *p = b->probe;
  if (!p)
    return;
  b->probe = NULL;
  atomic_store(&p->storm_over, 1);
  uv_async_send(&p->stop);
  uv_thread_join(&p->thread);
  uv_loop_close(&p->loop);
  bench_storm_result *s = &b->rep->storm;
  s->probe_before = p->before;
  s->probe_storm = p->storm;
  s->probe_down_s = p->down_s;
  s->probe_errors = p->errors;
  if (p->errors)
    bench_error(b->rep, "probe", "%s", p->first_error);
  kehu_tls_client_free(&p->net.tls);
  mbedtls_ssl_session_free(&p->net.saved);
  free(p->net.token);
  free(p);
}
