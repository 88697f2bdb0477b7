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
 * PROBE_EVERY_MS) before the drop and while the watchers come back. The
 * probe shares this process's loop with the watchers, so its latency also
 * holds this process's own handshake work: an upper bound on what the
 * server makes a connected user wait. */
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

void bench_storm_init(bench_ctx *b)
{
  for (unsigned i = 0; i < b->opt->connections; i++) {
    uv_timer_init(b->loop, &b->workers[i].retry);
    b->workers[i].retry.data = &b->workers[i];
  }
  uv_timer_init(b->loop, &b->probe.timer);
  b->probe.timer.data = b;
}

void bench_storm_stop(bench_ctx *b, int close_all)
{
  for (unsigned i = 0; i < b->opt->connections; i++) {
    uv_timer_stop(&b->workers[i].retry);
    if (close_all)
      uv_close((uv_handle_t *)&b->workers[i].retry, NULL);
  }
  uv_timer_stop(&b->probe.timer);
  if (close_all) {
    uv_close((uv_handle_t *)&b->probe.timer, NULL);
    return;
  }
  bench_conn *c = b->probe.conn;
  b->probe.conn = NULL;
  if (c)
    bench_conn_close(c);
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

/* ---- the probe ---- */

static const bench_conn_events probe_events;

static void probe_open(bench_ctx *b)
{
  b->probe.conn = bench_conn_open(b->net, &probe_events, b, 0);
}

static void probe_next(uv_timer_t *t);

static void probe_later(bench_ctx *b, uint64_t ms)
{
  if (b->phase == PHASE_RUNNING)
    uv_timer_start(&b->probe.timer, probe_next, ms, 0);
}

static void on_probe_got(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  (void)c;
  bench_ctx *b = arg;
  bench_storm_result *s = &b->rep->storm;
  if (failure)
    return;   /* closing: probe_closed reconnects */
  uint64_t ns = uv_hrtime() - b->probe.t0;
  if (r->status != KEHU__STATUS__OK) {
    s->probe_errors++;
    bench_error(b->rep, "probe", "%s: %s", kehu_status_name((int)r->status),
                r->message ? r->message : "");
  } else if (!b->storm) {
    bench_hist_add(&s->probe_before, ns);
  } else if (b->t_back) {
    bench_hist_add(&s->probe_storm, ns);
  }
  probe_later(b, PROBE_EVERY_MS);
}

static void probe_get(bench_ctx *b)
{
  Kehu__CustomerGet get = KEHU__CUSTOMER_GET__INIT;
  get.id = b->probe.id;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_CUSTOMER_GET;
  req.customer_get = &get;
  b->probe.t0 = uv_hrtime();
  if (bench_conn_request(b->probe.conn, &req, on_probe_got, b) == 0)
    bench_conn_flush(b->probe.conn);
}

static void on_probe_added(bench_conn *c, void *arg, const Kehu__Response *r,
                           const char *failure)
{
  (void)c;
  bench_ctx *b = arg;
  if (failure)
    return;
  if (r->status != KEHU__STATUS__OK || r->result_case != KEHU__RESPONSE__RESULT_CUSTOMER) {
    b->rep->storm.probe_errors++;
    bench_error(b->rep, "probe", "adding its customer: %s: %s",
                kehu_status_name((int)r->status), r->message ? r->message : "");
    return;
  }
  snprintf(b->probe.id, sizeof b->probe.id, "%s", r->customer->id);
  probe_get(b);
}

static void probe_next(uv_timer_t *t)
{
  bench_ctx *b = t->data;
  if (b->phase != PHASE_RUNNING)
    return;
  if (!b->probe.conn) {
    probe_open(b);
    return;
  }
  if (!b->probe.ready)
    return;
  if (b->probe.id[0]) {
    probe_get(b);
  } else if (bench_send_add(b, b->probe.conn, on_probe_added, b) == 0) {
    bench_conn_flush(b->probe.conn);
  }
}

static void probe_ready(bench_conn *c)
{
  bench_ctx *b = bench_conn_owner(c);
  b->probe.ready = 1;
  if (b->probe.down_since) {
    server_back(b);
    b->rep->storm.probe_down_s += seconds(b->probe.down_since, uv_hrtime());
    b->probe.down_since = 0;
  }
  probe_next(&b->probe.timer);
}

static void probe_closed(bench_conn *c)
{
  bench_ctx *b = bench_conn_owner(c);
  if (b->probe.conn != c || b->phase != PHASE_RUNNING)
    return;
  b->probe.conn = NULL;
  if (b->probe.ready && b->fanout_reported) {
    storm_begins(b);
    b->probe.down_since = uv_hrtime();
  }
  b->probe.ready = 0;
  /* A user at work tries again at once; the watchers wait their turn. */
  probe_later(b, PROBE_RETRY_MS);
}

static const bench_conn_events probe_events = {probe_ready, probe_closed, NULL};

void bench_storm_probe_start(bench_ctx *b)
{
  if (!b->probe.conn && b->phase == PHASE_RUNNING)
    probe_open(b);
}
