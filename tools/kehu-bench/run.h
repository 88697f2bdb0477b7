/* The run's state, shared by run.c (setup, phases, start and stop) and
 * ops.c (the operations). Private to kehu-bench's workload. */
#ifndef KEHU_BENCH_RUN_H
#define KEHU_BENCH_RUN_H

#include "bench.h"

typedef enum { PHASE_LOGIN, PHASE_POOL, PHASE_CONNECTING, PHASE_RUNNING, PHASE_DRAINING,
               PHASE_DONE } bench_phase;

typedef struct bench_ctx bench_ctx;

/* One connection's share of the load (connect: one connector). */
typedef struct {
  bench_ctx *b;
  bench_conn *conn;
  unsigned index;
  unsigned inflight;         /* operations started, not finished */
  uint64_t started;
  int ready;                 /* logged in */
  int failed;                /* never became ready */
  int gone;                  /* was ready, connection closed */
  int done;                  /* counted in workers_done */
  int watch_sent;            /* watch: its Watch request is out */
  int watch_settled;         /* watch: ... and answered (or the connection is gone) */
  int got_event;             /* watch: a reminder arrived */
  uv_timer_t retry;          /* --reconnect: waits before the next attempt */
  int reconnecting;          /* --reconnect: dropped after the fan-out, coming back */
  int resubscribed;          /* --reconnect: ... and its Watch answered again */
  unsigned failures;         /* --reconnect: attempts failed since the drop */
} worker;

/* --reconnect: one more connection, not a watcher, in a thread of its own
 * (storm.c). */
typedef struct bench_probe bench_probe;

typedef struct { char id[24]; } customer_id;

struct bench_ctx {
  const bench_options *opt;
  bench_net *net;
  bench_report *rep;
  uv_loop_t *loop;
  uv_timer_t stop_timer, hard_timer, setup_timer;
  bench_phase phase;
  worker *workers;
  unsigned next_to_open, opening, settled;   /* CONNECTING */
  unsigned workers_done;
  customer_id *pool;         /* ids to get and update, from CustomerList */
  size_t npool;
  unsigned seeding;
  uint64_t t_start, t_end, last_completion;   /* uv_hrtime() ns */
  uint64_t inflight_total;
  uint64_t rng;
  uint64_t note_seq;          /* update: "bench <n>" */
  FILE *ids;                 /* --ids-out */
  int exit_code;             /* a setup failure decides the exit code */
  int watching_announced;    /* watch: "watching C" is out */
  int fanout_reported;       /* watch --reconnect: "received N" is out */
  int storm;                 /* --reconnect: a connection dropped after the fan-out */
  uint64_t t_drop, t_back;   /* the first drop, the first connection back */
  unsigned resubscribed;
  uint64_t hs_full0, hs_resumed0;
  bench_probe *probe;
};

/* One operation in flight. */
typedef struct {
  worker *w;
  bench_stat_kind kind;
  uint64_t t0, t_step;
  char id[24];
} operation;

/* ops.c */
/* Starts operations on w until --depth are in flight (or --count reached);
 * connect: opens w's next connection. Only while the run is measuring. */
void bench_worker_fill(worker *w);
/* Queues a CustomerAdd of a generated customer on c. */
int bench_send_add(bench_ctx *b, bench_conn *c, bench_reply_fn fn, void *arg);

/* watch.c */
/* Sends w's Watch request (once). */
void bench_watch_subscribe(worker *w);
/* A pushed event reached w. */
void bench_watch_event(worker *w, const Kehu__Event *e);
/* Prints "watching C" once every live connection's Watch is answered. */
void bench_watch_check_all(bench_ctx *b);

/* storm.c (--reconnect) */
void bench_storm_init(bench_ctx *b);
/* Every watcher has its reminder: says "received N" and waits for drops. */
void bench_storm_fanout_done(bench_ctx *b);
void bench_storm_probe_start(bench_ctx *b);
/* w's connection dropped after the fan-out (w->conn already NULL). */
void bench_storm_dropped(worker *w, bench_conn *c);
void bench_storm_ready(worker *w);
/* The answer to a returning watcher's Watch. */
void bench_storm_watch_reply(worker *w, const Kehu__Response *r, const char *failure);
/* The run ends: timers stop; close_all also closes their handles. */
void bench_storm_stop(bench_ctx *b, int close_all);

/* run.c */
/* Counts w as done once it has nothing more to do. */
void bench_worker_check_done(worker *w);
/* Ends the run when every worker is done (or the drain is over). */
void bench_check_end(bench_ctx *b);
/* Ends the run now, reporting what was measured. */
void bench_finish(bench_ctx *b);
/* Opens w's connection (again), logging in with the session token. */
void bench_open_worker(bench_ctx *b, worker *w, int flags);
extern const bench_conn_events bench_worker_events;

#endif
