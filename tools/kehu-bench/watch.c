/* --op watch: every connection logs in and subscribes (Watch). Once all of
 * them are subscribed, one line "watching C" goes to stdout, so that a test
 * knows when to raise a reminder; then each connection waits for its first
 * pushed reminder event. The run ends when every connection has one (or
 * --duration is over). Measured: the fan-out time, from the first
 * connection to receive it to the last, and how long after the reminder's
 * due time the last one received it (the due time is the server's clock,
 * compared with ours: meaningful for a server on this machine, without
 * KEHU_CLOCK_OFFSET). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run.h"

static double wall_clock_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_watch_reply(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  worker *w = arg;
  bench_ctx *b = w->b;
  w->inflight--;
  b->inflight_total--;
  if (w->reconnecting) {
    bench_storm_watch_reply(w, r, failure);
    return;
  }
  w->watch_settled = 1;
  if (failure) {
    /* Closing: on_worker_closed says why, unless the run cut it off. */
    if (b->phase == PHASE_DONE) {
      b->rep->unfinished++;
      b->rep->other_errors++;
    }
    return;
  }
  if (r->status != KEHU__STATUS__OK) {
    b->rep->other_errors++;
    bench_error(b->rep, "watch", "%s: %s", kehu_status_name((int)r->status),
                r->message ? r->message : "");
    if (w->conn == c)
      bench_conn_close(c);   /* it will never get anything: on_worker_closed ends it */
    return;
  }
  b->rep->watch.watching++;
  bench_watch_check_all(b);
  bench_worker_check_done(w);
  bench_check_end(b);
}

void bench_watch_subscribe(worker *w)
{
  bench_ctx *b = w->b;
  if (w->watch_sent)
    return;
  Kehu__Watch watch = KEHU__WATCH__INIT;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_WATCH;
  req.watch = &watch;
  if (bench_conn_request(w->conn, &req, on_watch_reply, w) != 0) {
    b->rep->other_errors++;
    bench_error(b->rep, "watch", "%s", "the Watch request could not be queued");
    w->watch_settled = 1;
    return;
  }
  w->watch_sent = 1;
  w->inflight++;
  w->started++;
  b->inflight_total++;
}

void bench_watch_check_all(bench_ctx *b)
{
  if (b->watching_announced || b->phase != PHASE_RUNNING)
    return;
  for (unsigned i = 0; i < b->opt->connections; i++) {
    const worker *w = &b->workers[i];
    if (!w->failed && !w->gone && !w->watch_settled)
      return;
  }
  b->watching_announced = 1;
  printf("watching %u\n", b->rep->watch.watching);
  fflush(stdout);
  if (b->opt->reconnect)
    bench_storm_probe_start(b);
}

void bench_watch_event(worker *w, const Kehu__Event *e)
{
  bench_ctx *b = w->b;
  bench_watch_result *res = &b->rep->watch;
  if (b->phase != PHASE_RUNNING || w->got_event || !e->kind || strcmp(e->kind, "reminder") != 0)
    return;
  uint64_t now = uv_hrtime();
  double wall = wall_clock_s();
  w->got_event = 1;
  const char *id = e->reminder && e->reminder->id ? e->reminder->id : "";
  if (res->received++ == 0) {
    res->first_ns = now;
    snprintf(res->reminder_id, sizeof res->reminder_id, "%s", id);
    if (e->reminder && e->reminder->has_due_at) {
      res->due_at = e->reminder->due_at;
      res->have_due = 1;
    }
  } else if (strcmp(res->reminder_id, id) != 0) {
    res->other_reminder++;
  }
  res->last_ns = now;
  res->last_wall_s = wall;
  bench_worker_check_done(w);
  bench_check_end(b);
}
