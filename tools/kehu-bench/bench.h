/* kehu-bench: a single-threaded libuv load generator for kehud
 * (docs/architecture.md#performance-design). One loop drives every connection: TCP, TLS over memory
 * buffers, frames, pipelined requests matched by id.
 *
 *   args.c       the command line
 *   conn.c       one connection: TCP + TLS + Hello + login, requests by id
 *   run.c        setup (login, id pool, connections), start, stop, limits
 *   ops.c        the operations: get, add, update, followup, search, connect, mix
 *   watch.c      watch: every connection subscribes, then waits for a pushed reminder
 *   storm.c      watch --reconnect: dropped watchers come back; a probe's gets meanwhile
 *   histogram.c  latency histogram (log-linear buckets, < 1 % error)
 *   report.c     table / JSON output, errors, CPU time of both processes
 *   main.c       wiring and exit codes */
#ifndef KEHU_BENCH_H
#define KEHU_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sys/socket.h>
#include <uv.h>

#include "frame.h"
#include "kehu.pb-c.h"
#include "status.h"
#include "tls.h"

/* Exit codes (besides kehu_status values such as KEHU_UNAUTHENTICATED). */
#define BENCH_EXIT_OK 0
#define BENCH_EXIT_ERRORS 1
#define BENCH_EXIT_USAGE 2
#define BENCH_EXIT_NO_CONNECTION 8

/* ---- command line ---- */

typedef enum { OP_GET, OP_ADD, OP_UPDATE, OP_CONNECT, OP_MIX, OP_SEARCH, OP_FOLLOWUP,
               OP_WATCH } bench_op;

typedef struct {
  const char *server;        /* HOST:PORT */
  char host[256];
  char port[16];
  const char *ca;
  const char *user;
  const char *password;      /* KEHU_PASSWORD */
  unsigned connections;
  unsigned depth;
  double duration_s;
  uint64_t count;            /* 0: run for duration_s instead */
  bench_op op;
  const char *op_name;
  int json;
  const char *ids_out;
  const char *terms_file;
  long server_pid;           /* 0: look it up for a local server */
  int full_handshake;        /* never resume TLS sessions */
  int reconnect;             /* watch: dropped watchers come back (storm.c) */
} bench_options;

/* Parses argv. 0, or BENCH_EXIT_USAGE after printing why. */
int bench_parse_args(int argc, char **argv, bench_options *o);
const char *bench_op_name(bench_op op);

/* ---- latency histogram ---- */

#define BENCH_HIST_BUCKETS 3776

typedef struct {
  uint64_t counts[BENCH_HIST_BUCKETS];
  uint64_t total;
} bench_hist;

void bench_hist_add(bench_hist *h, uint64_t ns);
void bench_hist_merge(bench_hist *into, const bench_hist *from);
/* The q-quantile (0 < q <= 1) in nanoseconds, within 1 %; 0 when empty. */
double bench_hist_quantile(const bench_hist *h, double q);

/* ---- connections ---- */

/* What every connection shares: the loop, the resolved address, TLS
 * configuration, credentials and the TLS session to resume. */
typedef struct {
  uv_loop_t *loop;
  struct sockaddr_storage addr;
  const char *server;
  const char *host;
  int host_is_ip;
  kehu_tls_client tls;
  int tls_ready;
  const char *user;
  const char *password;
  char *token;               /* from the password login; later logins use it */
  mbedtls_ssl_session saved; /* from the first full handshake */
  int have_saved;
  int full_handshake;        /* do not offer the saved session */
  uint64_t handshakes_full, handshakes_resumed;
} bench_net;

typedef struct bench_conn bench_conn;

/* Called when a request is answered (failure NULL, r set) or can no longer
 * be (failure says why, r NULL). r lives only during the call. */
typedef void (*bench_reply_fn)(bench_conn *c, void *arg, const Kehu__Response *r,
                               const char *failure);

typedef struct {
  void (*ready)(bench_conn *c);    /* logged in; may be NULL */
  void (*closed)(bench_conn *c);   /* after the last reply callback; c is freed after */
  /* A pushed Event (envelope id 0); may be NULL (events are dropped). e
   * lives only during the call. */
  void (*event)(bench_conn *c, const Kehu__Event *e);
} bench_conn_events;

#define BENCH_LOGIN_PASSWORD 1

/* Starts a connection: TCP connect, TLS handshake, Hello and login, all
 * queued at once so requests sent before it is ready follow the login.
 * NULL only when out of memory; every other failure arrives through
 * events->closed with bench_conn_failure() set. */
bench_conn *bench_conn_open(bench_net *net, const bench_conn_events *events, void *owner,
                            int flags);
/* Queues one request; sent at the next bench_conn_flush (or when the
 * handshake completes). 0, or -1 when the connection is closing. */
int bench_conn_request(bench_conn *c, Kehu__Request *req, bench_reply_fn fn, void *arg);
/* Encrypts and writes every queued request. */
void bench_conn_flush(bench_conn *c);
/* Closes (close_notify first when possible). Pending requests fail. */
void bench_conn_close(bench_conn *c);
void *bench_conn_owner(const bench_conn *c);
/* NULL unless the connection failed; the status is a kehu_status. */
const char *bench_conn_failure(const bench_conn *c, int *status);
int bench_conn_resumed(const bench_conn *c);
/* Where the connection is on its way to being logged in, for messages. */
const char *bench_conn_stage(const bench_conn *c);

/* ---- the run ---- */

/* What an operation was, for its own figures: mix reports each kind apart. */
typedef enum { STAT_GET, STAT_ADD, STAT_UPDATE, STAT_FOLLOWUP, STAT_SEARCH, STAT_CONNECT,
               STAT_COUNT } bench_stat_kind;

typedef struct {
  bench_hist hist;           /* whole operation */
  bench_hist step;           /* update: the CustomerUpdate round trip alone */
  uint64_t ops;              /* completed in the measured window, errors included */
  uint64_t errors;
  uint64_t conflicts;
} bench_stats;

#define BENCH_ERROR_KINDS 16

typedef struct {
  char key[160];             /* op + message with digits masked */
  char first[400];           /* the first message as received */
  uint64_t count;
} bench_error_kind;

typedef struct {
  uint64_t server_ticks_start, server_ticks_end;
  int server_cpu_known;
  long server_pid;
  double client_cpu_start_s, client_cpu_end_s;
  /* what the server wrote (/proc/PID/io wchar: LMDB's pages go out by
   * pwrite) and its commits and time committing (DATADIR/kehud.stats,
   * rewritten every second) */
  int server_io_known, server_stats_known;
  uint64_t wchar_start, wchar_end;
  double commits_start, commits_end, commit_ms_start, commit_ms_end;
} bench_cpu;

/* watch: when the pushed reminder reached the connections. */
typedef struct {
  unsigned watching;         /* connections whose Watch was answered OK */
  uint64_t received;         /* connections that got a reminder event */
  uint64_t first_ns, last_ns;   /* uv_hrtime() of the first and last first arrival */
  double last_wall_s;        /* the last first arrival, wall clock (Unix seconds) */
  int64_t due_at;            /* the reminder's due time (server clock) */
  int have_due;
  char reminder_id[24];      /* the reminder the first arrival carried */
  uint64_t other_reminder;   /* connections whose first reminder was a different one */
} bench_watch_result;

/* watch --reconnect: the watchers coming back after their connections
 * dropped (a server restart), and a separate connection's gets meanwhile. */
typedef struct {
  int measured;              /* a drop happened after the fan-out */
  unsigned resubscribed;     /* watchers whose Watch was answered OK again */
  double drop_to_all_s;      /* first drop seen -> the last watcher subscribed again */
  double up_to_all_s;        /* first connection accepted again -> the same */
  uint64_t attempts, failed_attempts;
  uint64_t failed_connect;   /* of those: the TCP connection refused (server not up yet) */
  uint64_t failed_cap;       /* ... told "over a cap" (max_unauthenticated, max_connections) */
  uint64_t resumed, full;    /* TLS handshakes since the drop, by kind */
  bench_cpu cpu;             /* the restarted server, first connection back -> the end */
  bench_hist probe_before;   /* the probe's gets before the drop */
  bench_hist probe_storm;    /* ... from its return to the last watcher's */
  double probe_down_s;       /* how long the probe itself had no connection */
  uint64_t probe_errors;
} bench_storm_result;

typedef struct bench_report {
  const bench_options *opt;
  bench_stats stats[STAT_COUNT];
  double elapsed_s;
  bench_error_kind errors[BENCH_ERROR_KINDS];
  unsigned nerror_kinds;
  uint64_t errors_unsorted;  /* distinct kinds beyond BENCH_ERROR_KINDS */
  uint64_t other_errors;     /* setup, connections lost outside operations */
  bench_cpu cpu;
  unsigned connections_ready;
  uint64_t resumed, full;    /* connect: handshakes of each kind */
  uint64_t unfinished;       /* operations still in flight when the run ended */
  int timed_out;
  char notes[4][200];
  unsigned nnotes;
  bench_watch_result watch;
  bench_storm_result storm;
} bench_report;

/* Records a failed operation (or setup step) once per distinct message;
 * the first few are printed to stderr as they happen. */
void bench_error(bench_report *r, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void bench_note(bench_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t bench_total_errors(const bench_report *r);

/* CPU time: the server's from /proc/PID/stat, our own from getrusage. */
long bench_find_server_pid(const bench_options *o);
void bench_cpu_sample(bench_cpu *cpu, int end);

void bench_print_report(const bench_report *r, FILE *out);

/* Runs the whole benchmark on net (connected to nothing yet). Returns the
 * exit code. */
int bench_run(const bench_options *opt, bench_net *net, bench_report *report);

#endif
