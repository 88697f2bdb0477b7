/* The server's shared state: configuration, the kehu_server every part
 * reads, the caller. The request context is in call.h, the client's
 * session in session.h. Data flows one way: net -> dispatch -> handler ->
 * (access, validate) -> store read, or a write queued to the writer
 * thread -> reply (call.c) -> flushed once per loop turn. */
#ifndef KEHU_SERVER_H
#define KEHU_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"
#include "frame.h"
#include "kehu.pb-c.h"
#include "status.h"
#include "store.h"
#include "core.h"
#include "gate.h"
#include "tls.h"


typedef struct kehu_conn kehu_conn;
/* A client's login, uploads and watch (session.h). */
typedef struct kehu_session kehu_session;
#define KEHU_WATCH_BUCKETS 256

typedef struct kehu_server {
  uv_loop_t *loop;
  kehu_config cfg;
  kehu_store *store;
  int datadir_lock;              /* DATADIR/kehud.lock, held while running */
  kehu_writer *writer;
  uv_async_t writer_done;
  kehu_tls_server tls;            /* the certificate kehud started with */
  kehu_tls_server *tls_current;   /* what new connections use: &tls or a reloaded one */
  kehu_tls_server **tls_retired;  /* replaced by reloads; connections may still use them */
  size_t n_retired;
  kehu_rng rng;                  /* loop thread only: session tokens */
  uv_tcp_t listener;
  uv_signal_t sigterm, sigint, sighup;
  const struct kehu_conn_ops *conn_ops; /* what connections do with requests (net/conn.h) */
  kehu_conn *conns;              /* every open connection */
  kehu_conn *flush_list;         /* connections with replies to encrypt and send */
  uv_prepare_t flush_prepare;    /* sends them once per loop turn (server_run.c) */
  size_t nconns;                 /* counted against max_connections */
  size_t nunauth;                /* of those, not logged in (max_unauthenticated) */
  size_t nrefusing;              /* over a cap, being told so before they close */
  kehu_conn *handshake_head, *handshake_tail; /* TLS handshakes waiting for their turn (net/conn.c) */
  uint64_t handshake_spent_ns;   /* on handshakes in this loop turn */
  uv_idle_t handshake_idle;      /* active while some wait: the loop does not sleep */
  uv_check_t handshake_check;    /* runs them after each turn's I/O */
  int handshake_handles;         /* the two handles are open */
  kehu_session *watchers[KEHU_WATCH_BUCKETS]; /* watching sessions by user (session.c) */
  kehu_gate login_gate;          /* password checks on the thread pool (max_login_work) */
  /* Called when work on the thread pool ends: a shutdown waits for the
   * pool to be idle (set by server_run.c; NULL: nothing waits). */
  void (*pool_idle_check)(struct kehu_server *srv);
  kehu_gate read_gate;           /* heavy reads on the thread pool (max_read_work) */
  int stopping;                  /* 1: SIGTERM, waiting for the pool; 2: closing */
  uv_timer_t sched_timer;        /* the reminder scheduler's one timer */
  int sched_firing;              /* a fire write is in flight */
  uv_timer_t audit_timer;        /* logs the audit head daily */
  uv_timer_t trim_timer;         /* gives freed memory back after a burst */
  uv_timer_t stats_timer;        /* writes DATADIR/kehud.stats for kehu-admin stats */
  uv_timer_t archive_timer;      /* moves old audit entries to the archive, daily */
  uv_timer_t scrub_timer;        /* zeros the store's free pages after purges */
  uv_work_t scrub_work;
  int scrubbing;
  uv_timer_t backup_timer;       /* scheduled backups (backups.c) */
  int64_t backup_due;             /* when the timer is for, server time (seconds) */
  uv_process_t backup_proc;
  uv_work_t backup_prune;
  uv_pipe_t backup_err_pipe;
  char backup_err[2048];         /* what the backup's kehu-admin said on stderr */
  int backup_running;             /* the child runs */
  int backup_pruning;             /* old backups are being removed (thread pool) */
  uv_work_t archive_work;
  int archiving;
  uint64_t requests;             /* requests received since start */
  uint64_t tls_full, tls_resumed; /* TLS handshakes completed since start, by kind */
  uint64_t tls_tickets_refused;  /* tickets offered but not taken (expired, unknown key, forged) */
  int64_t started_at;
  int trim_armed;
} kehu_server;

/* The server's clock: every handler reads time through this one function,
 * so tests can run a server in the future (cfg.clock_offset_s). */
int64_t kehu_now(const kehu_server *srv);
/* A purge committed: the store's free pages are zeroed a second later
 * (docs/storage.md#erasure). */
void kehu_server_scrub_soon(kehu_server *srv);
/* The same clock in milliseconds (for timers). */
int64_t kehu_now_ms(const kehu_server *srv);


/* One request being served (call.h). */
typedef struct kehu_call kehu_call;

/* Soon gives memory freed after a burst (a big reply queue that drained, a
 * connection that had one and closed) back to the system (server.c). */
void kehu_server_release_memory(kehu_server *srv);

#endif
