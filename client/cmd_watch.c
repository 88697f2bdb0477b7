/* kehu watch: stays connected and prints each event the server pushes
 * (due reminders, customers and tickets assigned) the moment it arrives,
 * until SIGINT or SIGTERM (exit 0) or the connection drops (exit 8). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "auth.h"
#include "cli.h"
#include "frame.h"
#include "i18n.h"
#include "output.h"
#include "record_view.h"

static const char watch_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] watch\n"
  "\n"
  "Stays connected and prints each pushed event as it arrives: your due\n"
  "reminders (those not acknowledged are sent again at the start), customers\n"
  "and tickets assigned to you. With --json, one JSON object per line.\n"
  "Stops on Ctrl-C (SIGINT) or SIGTERM.\n");

/* How often the wait wakes up to look at the signal flag. */
#define TICK_MS 1000
/* A request now and then, so the server does not close the quiet
 * connection as idle (its idle_timeout counts only what clients send). */
#define KEEPALIVE_SECONDS 60

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
  (void)sig;
  stop_requested = 1;
}

/* {"kind": ..., "message": ..., "at": ISO, "reminder": {...} | null} on one line. */
static int print_event_json(const Kehu__Event *e, kehu_error *err)
{
  cJSON *o = cJSON_CreateObject();
  cJSON *reminder = e->reminder ? kehu_record_json(&e->reminder->base) : cJSON_CreateNull();
  char *text = NULL;
  if (o && reminder && !kehu_json_add_string(o, "kind", e->kind) &&
      !kehu_json_add_string(o, "message", e->message) &&
      !kehu_json_add_time(o, "at", e->has_at, e->at) &&
      cJSON_AddItemToObject(o, "reminder", reminder)) {
    reminder = NULL;
    text = cJSON_PrintUnformatted(o);
  }
  cJSON_Delete(reminder);
  cJSON_Delete(o);
  if (!text)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory formatting an event");
  puts(text);
  cJSON_free(text);
  return KEHU_OK;
}

/* 2026-11-23 20:15  reminder  RM12  message */
static void print_event_human(const Kehu__Event *e)
{
  const Kehu__Reminder *r = e->reminder;
  char when[32];
  int64_t at = e->has_at ? e->at : r && r->has_due_at ? r->due_at : (int64_t)time(NULL);
  kehu_format_local_time(at, when);
  printf("%s  ", when);
  kehu_print_text(stdout, e->kind);
  if (r && r->id) {
    fputs("  ", stdout);
    kehu_print_text(stdout, r->id);
  }
  const char *message = e->message && e->message[0] ? e->message : r ? r->message : NULL;
  if (message) {
    fputs("  ", stdout);
    kehu_print_text(stdout, message);
  }
  putchar('\n');
}

static int print_event(const kehu_cli *cli, const Kehu__Event *e, kehu_error *err)
{
  int rc = KEHU_OK;
  if (cli->json)
    rc = print_event_json(e, err);
  else
    print_event_human(e);
  if (rc == KEHU_OK && (fflush(stdout) != 0 || ferror(stdout)))
    rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "cannot write to stdout");
  return rc;
}

static uint64_t queue_op(kehu_conn *conn, Kehu__Request__OpCase op)
{
  Kehu__Watch watch = KEHU__WATCH__INIT;
  Kehu__WhoAmIRequest whoami = KEHU__WHO_AM_IREQUEST__INIT;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = op;
  if (op == KEHU__REQUEST__OP_WATCH)
    req.watch = &watch;
  else
    req.whoami = &whoami;
  return kehu_conn_queue(conn, &req);
}

/* Receives until a stop is requested or something goes wrong. Events may
 * come before the watch's own OK as well as after it. */
static int watch_loop(const kehu_cli *cli, kehu_conn *conn, kehu_error *err)
{
  uint64_t watch_id = queue_op(conn, KEHU__REQUEST__OP_WATCH);
  if (!watch_id)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
  time_t last_sent = time(NULL);
  int rc = KEHU_OK;
  while (rc == KEHU_OK && !stop_requested) {
    if (time(NULL) - last_sent >= KEEPALIVE_SECONDS) {
      if (!queue_op(conn, KEHU__REQUEST__OP_WHOAMI))
        return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
      last_sent = time(NULL);
    }
    Kehu__Envelope *env = NULL;
    rc = kehu_conn_next(conn, TICK_MS, &env, err);
    if (rc != KEHU_OK || !env)
      continue;
    if (env->body_case == KEHU__ENVELOPE__BODY_EVENT) {
      rc = print_event(cli, env->event, err);
    } else if (env->response->status != KEHU__STATUS__OK) {
      /* the watch refused, or the session ended (revoked, user disabled) */
      rc = kehu_response_error(env->response, err);
    } else if (env->id == watch_id && !cli->json && isatty(STDERR_FILENO)) {
      fprintf(stderr, _("kehu: watching for events as %s on %s (Ctrl-C stops)\n"), cli->cfg.user,
              cli->cfg.server);
    }
    kehu_envelope_free(env);
  }
  if (stop_requested)
    return KEHU_OK;
  if (rc == KEHU_UNAVAILABLE)
    kehu_error_append_tr(err, ": no longer watching");
  return rc;
}

int kehu_cmd_watch(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const kehu_command cmd = {"watch", watch_usage, NULL, 0, 0, 0, NULL};
  kehu_strlist args = {0};
  kehu_conn *conn = NULL;
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  kehu_strlist_free(&args);
  if (rc == KEHU_OK)
    rc = kehu_resolve(cli, err);
  if (rc == KEHU_OK)
    rc = kehu_session_open(cli, &conn, err);
  if (rc != KEHU_OK)
    return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
  /* No SA_RESTART: a signal ends the wait in poll at once. The handler
   * stays until exit, so a second signal (`timeout` sends one to the
   * process and one to its group) cannot kill the clean-up. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  rc = watch_loop(cli, conn, err);
  kehu_conn_close(conn);
  return rc;
}
