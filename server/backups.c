/* Scheduled backups (docs/operations.md#backup-and-restore): with [backup]
 * dir set, kehud runs `kehu-admin backup DATADIR DIR` (the kehu-admin
 * installed beside it) every day at [backup] time, as a child process, so
 * the copy's memory and I/O stay out of the server: a full backup on the
 * [backup] full weekday (or every day for daily), an incremental one on the
 * others. Then it keeps the newest [backup] keep full backups in DIR with
 * the incrementals built on them, and removes the older ones. A failure is
 * logged, audited and pushed as a reminder to every admin. */
#include "backups.h"

#include <dirent.h>
#include <signal.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_entry.h"
#include "rules.h"
#include "writes.h"

#define MAX_STDERR 2048

/* ---- when ---- */

/* The next local time at [backup] time after now. */
static int64_t next_run(const kehu_config *cfg, int64_t now)
{
  time_t t = (time_t)now;
  struct tm tm;
  localtime_r(&t, &tm);
  tm.tm_hour = (int)(cfg->backup_minute / 60);
  tm.tm_min = (int)(cfg->backup_minute % 60);
  tm.tm_sec = 0;
  tm.tm_isdst = -1;
  for (int day = 0; day < 8; day++) {
    struct tm d = tm;
    d.tm_mday += day;
    d.tm_isdst = -1;
    time_t at = mktime(&d);
    if (at > t)
      return (int64_t)at;
  }
  return now + 86400;
}

static void on_timer(uv_timer_t *timer);

static void arm(kehu_server *srv)
{
  if (srv->stopping)
    return;
  int64_t now_ms = kehu_now_ms(srv);
  int64_t at = next_run(&srv->cfg, now_ms / 1000);
  int64_t wait = at * 1000 - now_ms;
  srv->backup_due = at;
  uv_timer_start(&srv->backup_timer, on_timer, wait > 0 ? (uint64_t)wait : 0, 0);
}

/* ---- failures: audited, and every admin told ---- */

typedef struct {
  char message[MAX_STDERR + 256];
  int64_t now;
  kehu_server *srv;
} failure;

typedef struct {
  kehu_rule_ctx *rc;
  const char *message;
  int status;
} tell_admins;

static void tell_admin(const Kehu__UserRecord *u, void *arg)
{
  tell_admins *a = arg;
  if (a->status != KEHU_OK || strcmp(u->role, "admin") != 0 || (u->has_disabled && u->disabled))
    return;
  char source[160];
  snprintf(source, sizeof source, "backup_failed:%lld:%s", (long long)a->rc->now, u->username);
  a->status = kehu_rules_raise(a->rc, source, u->username, a->rc->now, "backup_failed", NULL,
                               NULL, a->message);
}

static int apply_failure(kehu_txn *t, void *arg)
{
  failure *f = arg;
  kehu_caller server = {.username = "kehud"};
  int rc = kehu_audit(t, &server, f->now, "backup_failed", "backup", NULL, f->message);
  kehu_rule_ctx rules = {t, f->now, &f->srv->cfg};
  tell_admins a = {&rules, f->message, KEHU_OK};
  if (rc == KEHU_OK)
    rc = kehu_store_user_each(t, tell_admin, &a);
  return rc == KEHU_OK ? a.status : rc;
}

static void failure_written(kehu_call *call, int status, void *arg)
{
  (void)call;
  failure *f = arg;
  if (status != KEHU_OK)
    fprintf(stderr, "kehud: the failed backup could not be audited: %s\n",
            kehu_status_name(status));
  free(f);
}

static void report_failure(kehu_server *srv, const char *fmt, const char *detail)
{
  failure *f = calloc(1, sizeof *f);
  if (!f)
    return;
  snprintf(f->message, sizeof f->message, fmt, detail);
  f->now = kehu_now(srv);
  f->srv = srv;
  fprintf(stderr, "kehud: %s\n", f->message);
  kehu_submit_write_detached(srv, apply_failure, failure_written, f);
}

/* ---- retention ---- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int cmp_names(const void *a, const void *b)
{
  return strcmp(a, b);
}

/* Keeps the newest `keep` full backups of dir and every incremental newer
 * than the oldest of them (names sort by time; an incremental builds on the
 * backups before it), on the thread pool: removing a backup of gigabytes
 * takes a while. */
static void prune(uv_work_t *req)
{
  kehu_server *srv = req->data;
  static char names[1024][32];   /* one prune at a time (backup_pruning) */
  size_t n = 0;
  DIR *d = opendir(srv->cfg.backup_dir);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d)) && n < sizeof names / sizeof *names)
    if (strlen(e->d_name) == 21 &&
        (strcmp(e->d_name + 16, "-full") == 0 || strcmp(e->d_name + 16, "-incr") == 0))
      snprintf(names[n++], sizeof names[0], "%s", e->d_name);
  closedir(d);
  qsort(names, n, sizeof names[0], cmp_names);
  /* the oldest full backup kept: the keep-th from the newest */
  size_t fulls = 0, first_kept = 0;
  for (size_t i = n; i-- > 0;)
    if (strcmp(names[i] + 16, "-full") == 0 && ++fulls == srv->cfg.backup_keep) {
      first_kept = i;
      break;
    }
  for (size_t i = 0; i < first_kept; i++) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%.31s", srv->cfg.backup_dir, names[i]) >= (int)sizeof path)
      continue;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0)
      fprintf(stderr, "kehud: backup %s removed (keep = %u)\n", path, srv->cfg.backup_keep);
    else
      fprintf(stderr, "kehud: could not remove the old backup %s\n", path);
  }
}

static void pruned(uv_work_t *req, int status)
{
  (void)status;
  kehu_server *srv = req->data;
  srv->backup_pruning = 0;
  arm(srv);
}

/* ---- the child ---- */

static void on_closed(uv_handle_t *h)
{
  (void)h;
}

static void read_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)suggested;
  kehu_server *srv = h->data;
  size_t used = strlen(srv->backup_err);
  buf->base = srv->backup_err + used;
  buf->len = sizeof srv->backup_err - 1 - used;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
  if (n > 0)
    buf->base[n] = '\0';
  else if (n < 0)
    uv_read_stop(s);
}

static void backup_exited(uv_process_t *p, int64_t status, int signal)
{
  kehu_server *srv = p->data;
  uv_close((uv_handle_t *)p, on_closed);
  uv_close((uv_handle_t *)&srv->backup_err_pipe, on_closed);
  srv->backup_running = 0;
  char *msg = srv->backup_err;
  msg[strcspn(msg, "\n")] = '\0';
  if (status == 0 && !signal) {
    fprintf(stderr, "kehud: scheduled backup done\n");
    srv->backup_prune.data = srv;
    if (!srv->stopping && uv_queue_work(srv->loop, &srv->backup_prune, prune, pruned) == 0) {
      srv->backup_pruning = 1;
      return;   /* pruned() arms the next one */
    }
  } else {
    report_failure(srv, "scheduled backup failed: %s",
                   *msg ? msg : signal ? "kehu-admin was killed" : "kehu-admin failed");
  }
  arm(srv);
}

static void on_timer(uv_timer_t *timer)
{
  kehu_server *srv = timer->data;
  if (srv->stopping || srv->backup_running || srv->backup_pruning)
    return;
  /* The loop's timers run on the monotonic clock and the schedule on the
   * (offset) wall clock: fired a moment early, wait for the rest, or the
   * next arm would find the same time still ahead and run twice. */
  int64_t early_ms = srv->backup_due * 1000 - kehu_now_ms(srv);
  if (early_ms > 0) {
    uv_timer_start(&srv->backup_timer, on_timer, (uint64_t)early_ms, 0);
    return;
  }
  /* kehu-admin from kehud's own directory */
  char self[PATH_MAX], admin[PATH_MAX + 16];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    report_failure(srv, "scheduled backup failed: %s", "cannot find kehud's own path");
    arm(srv);
    return;
  }
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (slash)
    *slash = '\0';
  snprintf(admin, sizeof admin, "%s/kehu-admin", self);
  /* full on its weekday (every day when daily), else incremental */
  time_t now = (time_t)(kehu_now_ms(srv) / 1000);
  struct tm tm;
  localtime_r(&now, &tm);
  int full = srv->cfg.backup_weekday < 0 || tm.tm_wday == srv->cfg.backup_weekday;
  char *args[] = {admin, "backup", srv->cfg.data_dir, srv->cfg.backup_dir,
                  full ? NULL : "--incremental", NULL};
  srv->backup_err[0] = '\0';
  uv_pipe_init(srv->loop, &srv->backup_err_pipe, 0);
  srv->backup_err_pipe.data = srv;
  uv_stdio_container_t stdio[3] = {
    {.flags = UV_IGNORE},
    {.flags = UV_IGNORE},
    {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&srv->backup_err_pipe},
  };
  uv_process_options_t opt = {0};
  opt.file = admin;
  opt.args = args;
  opt.exit_cb = backup_exited;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  srv->backup_proc.data = srv;
  int rc = uv_spawn(srv->loop, &srv->backup_proc, &opt);
  if (rc != 0) {
    uv_close((uv_handle_t *)&srv->backup_proc, on_closed);
    uv_close((uv_handle_t *)&srv->backup_err_pipe, on_closed);
    char why[PATH_MAX + 64];
    snprintf(why, sizeof why, "cannot run %s: %s", admin, uv_strerror(rc));
    report_failure(srv, "scheduled backup failed: %s", why);
    arm(srv);
    return;
  }
  srv->backup_running = 1;
  fprintf(stderr, "kehud: scheduled backup started (%s)\n", full ? "full" : "incremental");
  uv_read_start((uv_stream_t *)&srv->backup_err_pipe, read_alloc, on_read);
}

void kehu_backups_start(kehu_server *srv)
{
  uv_timer_init(srv->loop, &srv->backup_timer);
  srv->backup_timer.data = srv;
  if (srv->cfg.backup_dir[0])
    arm(srv);
}

void kehu_backups_rearm(kehu_server *srv)
{
  uv_timer_stop(&srv->backup_timer);
  if (srv->cfg.backup_dir[0] && !srv->backup_running && !srv->backup_pruning)
    arm(srv);
}

void kehu_backups_stop(kehu_server *srv)
{
  if (srv->backup_running)
    uv_process_kill(&srv->backup_proc, SIGTERM);
  uv_timer_stop(&srv->backup_timer);
  uv_close((uv_handle_t *)&srv->backup_timer, NULL);
}
