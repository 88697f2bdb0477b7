/* Start-up and shutdown of kehud (formerly server.c): storage, writer
 * thread, TLS, listener, signals, and the wiring of the rooms: each
 * connection carries a session (session.c), hands its requests to
 * dispatch.c, and is flushed once per loop turn. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include "buf.h"
#include "audit_archive.h"
#include "backups.h"
#include "datadir_lock.h"
#include "dispatch.h"
#include "net/conn.h"
#include "reminders/scheduler.h"
#include "server_run.h"
#include "session.h"
#include "tiers_fill.h"
#include "writes.h"

/* ---- what connections do: each carries a session, and its requests go
 * through dispatch.c ---- */

static void *conn_opened(kehu_server *srv, kehu_conn *c, const char *peer)
{
  return kehu_session_new(srv, c, peer);
}

static void conn_request(void *session, kehu_conn *c, Kehu__Envelope *env, size_t reserved)
{
  kehu_dispatch(session, c, env, reserved);
}

static void conn_closed(void *session)
{
  kehu_session_close(session);
}

static const kehu_conn_ops conn_ops = {
  .opened = conn_opened,
  .request = conn_request,
  .reply_estimate = kehu_reply_estimate,
  .closed = conn_closed,
};

static void wake_loop(void *ctx)
{
  uv_async_send(ctx);
}

/* On the loop, woken by the writer after each commit: the writes' own
 * callbacks (their replies go out before the loop waits again), then the
 * scheduler looks for a new earliest due time. */
static void on_writes_done(uv_async_t *async)
{
  kehu_server *srv = async->data;
  kehu_writes_finished(srv);
  if (srv->writer)
    kehu_scheduler_poke(srv);
}

/* Once per loop turn, just before it waits for I/O: whatever was replied
 * or pushed during the turn (reads, commits, thread-pool work, timers) is
 * encrypted and written, one batch per connection. Nothing else flushes. */
static void flush_before_wait(uv_prepare_t *prepare)
{
  kehu_conn_flush_all(prepare->data);
}

/* SIGTERM / SIGINT: stop accepting, let the writer finish and answer what
 * is queued, then close every connection and leave the loop. */
/* The second half of a shutdown, once no read or password check is left
 * on the thread pool: every queued write is committed and answered, then
 * the connections close. */
static void finish_stop(kehu_server *srv)
{
  kehu_writer_stop(srv->writer);   /* commits everything queued */
  /* The async may not fire again: answer the last commits now, and send
   * the answers before the connections close. */
  on_writes_done(&srv->writer_done);
  kehu_writer_free(srv->writer);
  srv->writer = NULL;
  kehu_conn_flush_all(srv);
  kehu_conn_close_all(srv);
  uv_close((uv_handle_t *)&srv->flush_prepare, NULL);
  kehu_scheduler_stop(srv);
  uv_close((uv_handle_t *)&srv->audit_timer, NULL);
  uv_close((uv_handle_t *)&srv->trim_timer, NULL);
  uv_close((uv_handle_t *)&srv->stats_timer, NULL);
  uv_close((uv_handle_t *)&srv->archive_timer, NULL);
  uv_close((uv_handle_t *)&srv->scrub_timer, NULL);
  kehu_backups_stop(srv);
  uv_close((uv_handle_t *)&srv->writer_done, NULL);
  uv_close((uv_handle_t *)&srv->sigterm, NULL);
  uv_close((uv_handle_t *)&srv->sigint, NULL);
  uv_close((uv_handle_t *)&srv->sighup, NULL);
}

/* A shutdown waits for the reads and password checks on the thread pool:
 * called when one ends (srv->pool_idle_check), it finishes the shutdown
 * once none is left. */
static void stop_when_idle(kehu_server *srv)
{
  if (srv->stopping != 1 || !kehu_gate_idle(&srv->read_gate) || !kehu_gate_idle(&srv->login_gate))
    return;
  srv->stopping = 2;
  finish_stop(srv);
}

/* SIGTERM / SIGINT: no new connections and nothing more read; what is in
 * flight is finished and answered (stop_when_idle). */
static void on_signal(uv_signal_t *sig, int signum)
{
  (void)signum;
  kehu_server *srv = sig->data;
  if (srv->stopping)
    return;
  srv->stopping = 1;
  uv_close((uv_handle_t *)&srv->listener, NULL);
  kehu_conn_stop_reading_all(srv);
  stop_when_idle(srv);
}

/* Session tickets keyed from DATADIR/tls/ticket.key, so that clients
 * resume across a restart (docs/operations.md#tls-certificates). When it
 * cannot be written, tickets work until the next restart, and the log
 * says so. Never logs the key. */
static void use_ticket_file(kehu_server *srv, kehu_tls_server *tls)
{
  char path[700];
  snprintf(path, sizeof path, "%s/tls/ticket.key", srv->cfg.data_dir);
  kehu_error err = {0};
  if (kehu_tls_server_ticket_file(tls, path, srv->cfg.clock_offset_s, &err) != KEHU_OK)
    fprintf(stderr, "kehud: TLS session tickets: %s; tickets will not outlive this process\n",
            err.message);
}

/* SIGHUP (docs/operations.md#reload): the certificate and key in tls/ are
 * loaded again for new connections (the ones open keep theirs, so their
 * configuration is kept until exit), and kehud.conf's network limits and
 * [backup] schedule are read again. What anything else reads from other
 * threads (reminder rules, retention) needs a restart. A certificate that
 * does not load, or a config that does not parse, changes nothing. */
static void apply_limits(kehu_server *srv);

static void reload(kehu_server *srv)
{
  char crt[700], key[700];
  snprintf(crt, sizeof crt, "%s/tls/server.crt", srv->cfg.data_dir);
  snprintf(key, sizeof key, "%s/tls/server.key", srv->cfg.data_dir);
  kehu_error err = {0};
  kehu_tls_server *tls = calloc(1, sizeof *tls);
  kehu_tls_server **retired =
      realloc(srv->tls_retired, (srv->n_retired + 1) * sizeof *retired);
  if (retired)
    srv->tls_retired = retired;
  if (!tls || !retired) {
    free(tls);
    fprintf(stderr, "kehud: reload: out of memory; nothing changed\n");
    return;
  }
  if (kehu_tls_server_init(tls, crt, key, &err) != KEHU_OK) {
    kehu_tls_server_free(tls);
    free(tls);
    fprintf(stderr, "kehud: reload: %s; the certificate in use stays\n", err.message);
  } else {
    use_ticket_file(srv, tls);
    if (srv->tls_current != &srv->tls)
      srv->tls_retired[srv->n_retired++] = srv->tls_current;
    srv->tls_current = tls;
    char until[32] = "?";
    const mbedtls_x509_time *t = &tls->cert.valid_to;
    snprintf(until, sizeof until, "%04d-%02d-%02d", t->year, t->mon, t->day);
    fprintf(stderr, "kehud: reload: certificate %s (valid until %s) for new connections\n", crt,
            until);
  }
  kehu_config cfg;
  if (kehu_config_load(&cfg, srv->cfg.data_dir, &err) != KEHU_OK) {
    fprintf(stderr, "kehud: reload: %s; the configuration in use stays\n", err.message);
    return;
  }
  srv->cfg.max_frame = cfg.max_frame;
  srv->cfg.handshake_timeout_ms = cfg.handshake_timeout_ms;
  srv->cfg.login_timeout_ms = cfg.login_timeout_ms;
  srv->cfg.idle_timeout_ms = cfg.idle_timeout_ms;
  srv->cfg.max_inflight = cfg.max_inflight;
  srv->cfg.max_connections = cfg.max_connections;
  srv->cfg.max_unauthenticated = cfg.max_unauthenticated;
  srv->cfg.max_write_queue = cfg.max_write_queue;
  srv->cfg.handshake_budget_us = cfg.handshake_budget_us;
  memcpy(srv->cfg.backup_dir, cfg.backup_dir, sizeof cfg.backup_dir);
  srv->cfg.backup_minute = cfg.backup_minute;
  srv->cfg.backup_weekday = cfg.backup_weekday;
  srv->cfg.backup_keep = cfg.backup_keep;
  apply_limits(srv);
  kehu_backups_rearm(srv);
  fprintf(stderr, "kehud: reload: kehud.conf read (max_connections %u, idle_timeout %u s)\n",
          srv->cfg.max_connections, srv->cfg.idle_timeout_ms / 1000);
}

static void on_sighup(uv_signal_t *sig, int signum)
{
  (void)signum;
  kehu_server *srv = sig->data;
  if (!srv->stopping)
    reload(srv);
}

/* docs/operations.md#monitoring: what only the running server knows, for
 * kehu-admin stats, in DATADIR/kehud.stats every STATS_EVERY_MS (written
 * whole under another name, then renamed: a reader never sees half). */
#define STATS_EVERY_MS 1000

static void write_stats(uv_timer_t *timer)
{
  kehu_server *srv = timer->data;
  uint64_t commits = 0, writes = 0, commit_ns = 0;
  if (srv->writer) {
    kehu_writer_counts(srv->writer, &commits, &writes);
    commit_ns = kehu_writer_commit_ns(srv->writer);
  }
  char path[700], tmp[720];
  snprintf(path, sizeof path, "%s/kehud.stats", srv->cfg.data_dir);
  snprintf(tmp, sizeof tmp, "%s.new", path);
  FILE *f = fopen(tmp, "w");
  if (!f)
    return;
  fprintf(f,
          "{\"pid\": %ld, \"started_at\": %lld, \"written_at\": %lld, \"connections\": %zu, "
          "\"requests\": %llu, \"writes\": %llu, \"commits\": %llu, \"commit_ms\": %.1f, "
          "\"tls_full_handshakes\": %llu, \"tls_resumed_handshakes\": %llu, "
          "\"tls_tickets_refused\": %llu}\n",
          (long)getpid(), (long long)srv->started_at, (long long)time(NULL), srv->nconns,
          (unsigned long long)srv->requests, (unsigned long long)writes,
          (unsigned long long)commits, (double)commit_ns / 1e6, (unsigned long long)srv->tls_full,
          (unsigned long long)srv->tls_resumed, (unsigned long long)srv->tls_tickets_refused);
  if (fclose(f) == 0)
    rename(tmp, path);
  else
    unlink(tmp);
}

/* docs/storage.md#erasure: the free pages of the store zeroed on the
 * thread pool (two short write transactions per round), a second after a
 * purge (by hand or by the recycle bin) and once at start, so a purged
 * customer's values do not stay in freed pages. Not on a clock: on a large
 * store the free list can hold hundreds of megabytes. */
#define SCRUB_DELAY_MS 1000

static void scrub_run(uv_work_t *req)
{
  kehu_server *srv = req->data;
  size_t pages = 0;
  int rc = kehu_store_scrub_free_pages(srv->store, &pages);
  if (rc != KEHU_OK)
    fprintf(stderr, "kehud: zeroing free pages failed: %s\n", kehu_status_name(rc));
  else if (pages)
    fprintf(stderr, "kehud: %zu free pages zeroed\n", pages);
}

static void scrub_done(uv_work_t *req, int status)
{
  (void)status;
  kehu_server *srv = req->data;
  srv->scrubbing = 0;
}

static void scrub(uv_timer_t *timer)
{
  kehu_server *srv = timer->data;
  if (srv->stopping)
    return;
  if (srv->scrubbing) {
    /* one is running: it may have counted the free list before the purge */
    uv_timer_start(&srv->scrub_timer, scrub, SCRUB_DELAY_MS, 0);
    return;
  }
  srv->scrubbing = 1;
  srv->scrub_work.data = srv;
  if (uv_queue_work(srv->loop, &srv->scrub_work, scrub_run, scrub_done) != 0)
    srv->scrubbing = 0;
}

void kehu_server_scrub_soon(kehu_server *srv)
{
  if (!srv->stopping)
    uv_timer_start(&srv->scrub_timer, scrub, SCRUB_DELAY_MS, 0);
}

/* docs/operations.md#audit-log: entries older than [audit] retention_days
 * move to DATADIR/audit-archive/, at start and daily, on the thread pool
 * (a file is written and synced before the entries leave the store). */
#define ARCHIVE_BATCH 100000

static void archive_run(uv_work_t *req)
{
  kehu_server *srv = req->data;
  int64_t now = kehu_now(srv);
  for (int round = 0; round < 100; round++) {
    size_t moved = 0;
    char file[128];
    kehu_error err = {0};
    if (kehu_audit_archive(srv->store, srv->cfg.data_dir, now, srv->cfg.audit_retention_days,
                           ARCHIVE_BATCH, &moved, file, sizeof file, &err) != KEHU_OK) {
      fprintf(stderr, "kehud: audit archive: %s\n", err.message);
      return;
    }
    if (moved)
      fprintf(stderr, "kehud: audit archive: %zu entries moved to %s/%s\n", moved,
              KEHU_AUDIT_ARCHIVE_DIR, file);
    if (moved < ARCHIVE_BATCH)
      return;
  }
}

static void archive_done(uv_work_t *req, int status)
{
  (void)status;
  kehu_server *srv = req->data;
  srv->archiving = 0;
}

static void archive_audit(uv_timer_t *timer)
{
  kehu_server *srv = timer->data;
  if (srv->archiving || srv->stopping)
    return;
  srv->archiving = 1;
  srv->archive_work.data = srv;
  if (uv_queue_work(srv->loop, &srv->archive_work, archive_run, archive_done) != 0)
    srv->archiving = 0;
}

/* docs/operations.md#audit-log: the audit head is logged at start and daily, so an altered or
 * truncated log can be told from the one the server kept. */
static void log_audit_head(uv_timer_t *timer)
{
  kehu_server *srv = timer->data;
  kehu_txn t;
  uint64_t seq;
  unsigned char hash[32];
  char hex[65];
  if (kehu_store_read_begin(srv->store, &t) != KEHU_OK)
    return;
  int rc = kehu_store_audit_head(&t, &seq, hash);
  kehu_store_read_end(&t);
  if (rc != KEHU_OK)
    return;
  kehu_hex(hash, sizeof hash, hex);
  fprintf(stderr, "kehud: audit log head: entry %llu, sha256 %s\n", (unsigned long long)seq, hex);
}

/* Raise the open-file limit to the hard limit (docs/operations.md#monitoring) and say what
 * connection cap it allows. */
static void raise_nofile(kehu_server *srv)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  unsigned can = rl.rlim_cur > 64 ? (unsigned)(rl.rlim_cur - 64) : 1;
  if (can < srv->cfg.max_connections) {
    fprintf(stderr, "kehud: the open-file limit (%llu) allows %u connections, not %u\n",
            (unsigned long long)rl.rlim_cur, can, srv->cfg.max_connections);
    srv->cfg.max_connections = can;
  }
}

/* Of max_connections, at most a smaller number not logged in yet (README),
 * so that slow or silent clients never take the slots of logged-in users.
 * Unset, it is a quarter of the connections the server can really keep. */
static void cap_unauthenticated(kehu_config *cfg)
{
  if (cfg->max_unauthenticated == 0)
    cfg->max_unauthenticated = cfg->max_connections / 4;
  if (cfg->max_unauthenticated == 0)
    cfg->max_unauthenticated = 1;
  if (cfg->max_unauthenticated > cfg->max_connections)
    cfg->max_unauthenticated = cfg->max_connections;
}

/* The connection caps as the open-file limit allows (at start and reload). */
static void apply_limits(kehu_server *srv)
{
  raise_nofile(srv);
  cap_unauthenticated(&srv->cfg);
}

/* A client that reads slowly can make the server build megabytes of
 * replies; glibc would keep that memory once freed (its mmap threshold
 * grows with every big block freed, so later big blocks come from the heap
 * and fragment it). A fixed threshold maps every big buffer on its own and
 * unmaps it when freed; malloc_trim returns what the heap keeps. */
static void tune_malloc(void)
{
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

/* libuv's thread pool (4 threads unless told) holds password checks and
 * long reads at once: room for both maxima, so neither kind can take every
 * thread from the other. Read when the pool first starts, so set before. */
static void size_thread_pool(const kehu_config *cfg)
{
  if (getenv("UV_THREADPOOL_SIZE"))
    return;   /* the operator's choice */
  unsigned n = cfg->max_login_work + (cfg->max_read_work ? cfg->max_read_work : 1);
  char v[16];
  snprintf(v, sizeof v, "%u", n < 4 ? 4 : n > 128 ? 128 : n);
  setenv("UV_THREADPOOL_SIZE", v, 1);
}

int kehu_server_run(kehu_server *srv, kehu_error *err)
{
  size_thread_pool(&srv->cfg);
  srv->login_gate.max = srv->cfg.max_login_work;
  srv->pool_idle_check = stop_when_idle;
  srv->read_gate.max = srv->cfg.max_read_work;
  tune_malloc();
  srv->loop = uv_default_loop();
  apply_limits(srv);
  char path[700], key[700];
  /* one kehud per data directory; kehu-admin restore waits for none */
  long holder;
  if (kehu_datadir_lock(srv->cfg.data_dir, &srv->datadir_lock, &holder) != 0)
    return holder > 0
               ? kehu_fail(err, KEHU_CONFLICT, NULL,
                           "another kehud (pid %ld) is running on %s", holder, srv->cfg.data_dir)
           : holder == 0
               ? kehu_fail(err, KEHU_CONFLICT, NULL, "another kehud is running on %s",
                           srv->cfg.data_dir)
               : kehu_fail(err, KEHU_INTERNAL, NULL, "cannot lock %s/kehud.lock: %s",
                           srv->cfg.data_dir, strerror(errno));
  snprintf(path, sizeof path, "%s/db", srv->cfg.data_dir);
  int rc = kehu_store_open(&srv->store, path, srv->cfg.map_size, err);
  if (rc != KEHU_OK)
    return rc;
  snprintf(path, sizeof path, "%s/data.key", srv->cfg.data_dir);
  if ((rc = kehu_store_load_key(srv->store, path, err)) != KEHU_OK)
    return rc;
  snprintf(path, sizeof path, "%s/tls/server.crt", srv->cfg.data_dir);
  snprintf(key, sizeof key, "%s/tls/server.key", srv->cfg.data_dir);
  if ((rc = kehu_tls_server_init(&srv->tls, path, key, err)) != KEHU_OK)
    return rc;
  use_ticket_file(srv, &srv->tls);
  srv->tls_current = &srv->tls;
  if (kehu_rng_init(&srv->rng, "kehud-tokens") != 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot seed the random generator");
  uv_async_init(srv->loop, &srv->writer_done, on_writes_done);
  srv->writer_done.data = srv;
  if (kehu_writer_start(&srv->writer, srv->store, wake_loop, &srv->writer_done) != KEHU_OK)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot start the writer thread");
  uv_signal_init(srv->loop, &srv->sigterm);
  uv_signal_init(srv->loop, &srv->sigint);
  srv->sigterm.data = srv->sigint.data = srv;
  uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
  uv_signal_start(&srv->sigint, on_signal, SIGINT);
  uv_signal_init(srv->loop, &srv->sighup);
  srv->sighup.data = srv;
  uv_signal_start(&srv->sighup, on_sighup, SIGHUP);
  signal(SIGPIPE, SIG_IGN);
  kehu_scheduler_start(srv);
  kehu_tiers_fill_start(srv);
  uv_timer_init(srv->loop, &srv->audit_timer);
  srv->audit_timer.data = srv;
  uv_timer_start(&srv->audit_timer, log_audit_head, 0, 24 * 3600 * 1000);
  uv_timer_init(srv->loop, &srv->trim_timer);
  srv->trim_timer.data = srv;
  srv->started_at = (int64_t)time(NULL);
  uv_timer_init(srv->loop, &srv->stats_timer);
  srv->stats_timer.data = srv;
  uv_timer_start(&srv->stats_timer, write_stats, 0, STATS_EVERY_MS);
  uv_timer_init(srv->loop, &srv->archive_timer);
  srv->archive_timer.data = srv;
  uv_timer_start(&srv->archive_timer, archive_audit, 0, 24 * 3600 * 1000);
  kehu_backups_start(srv);
  uv_timer_init(srv->loop, &srv->scrub_timer);
  srv->scrub_timer.data = srv;
  kehu_server_scrub_soon(srv);
  uv_prepare_init(srv->loop, &srv->flush_prepare);
  srv->flush_prepare.data = srv;
  uv_prepare_start(&srv->flush_prepare, flush_before_wait);
  if ((rc = kehu_listen(srv, &conn_ops, err)) != KEHU_OK) {
    kehu_writer_stop(srv->writer);
    kehu_writer_free(srv->writer);
    return rc;
  }
  uv_run(srv->loop, UV_RUN_DEFAULT);
  uv_loop_close(srv->loop);
  kehu_tls_server_free(&srv->tls);
  for (size_t i = 0; i < srv->n_retired; i++) {
    kehu_tls_server_free(srv->tls_retired[i]);
    free(srv->tls_retired[i]);
  }
  free(srv->tls_retired);
  if (srv->tls_current != &srv->tls) {
    kehu_tls_server_free(srv->tls_current);
    free(srv->tls_current);
  }
  kehu_rng_free(&srv->rng);
  kehu_store_close(srv->store);
  return KEHU_OK;
}
