/* The TUI's connection (docs/architecture.md#the-tui): opened and logged in
 * on the thread pool with the CLI's own session code (the saved token, TLS
 * resumption, KEHU_PASSWORD), then polled on the loop. A lost connection
 * fails the requests in flight, shows "offline" and is opened again with
 * backoff (0.5 s doubling to 8 s); once up, the TUI subscribes to events
 * again, which brings every due reminder not yet acknowledged (what it
 * missed), and each screen reloads what it shows. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "frame.h"
#include "i18n.h"
#include "output.h"
#include "tui.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 8000

struct tui_pending {
  uint64_t id;
  tui_reply_fn fn;
  void *arg;
  tui_pending *next;
};

static void drain(tui *ui);
static void retry_cb(uv_timer_t *t);

static void fail_pending(tui *ui, const kehu_error *err)
{
  tui_pending *p = ui->net.pending;
  ui->net.pending = NULL;
  while (p) {
    tui_pending *next = p->next;
    if (p->fn)
      p->fn(ui, NULL, err, p->arg);
    free(p);
    p = next;
  }
}

static void schedule_retry(tui *ui)
{
  tui_net *n = &ui->net;
  unsigned ms = n->backoff_ms ? n->backoff_ms : BACKOFF_FIRST_MS;
  n->backoff_ms = ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
  uv_timer_start(&n->retry, retry_cb, ms, 0);
}

static void close_conn(tui_net *n)
{
  if (n->polling) {
    uv_poll_stop(&n->poll);
    uv_close((uv_handle_t *)&n->poll, NULL);
    n->polling = 0;
  }
  kehu_conn_close(n->conn);
  n->conn = NULL;
}

/* The connection is gone: everything waiting is answered with why. */
static void lost(tui *ui, const kehu_error *err)
{
  tui_net *n = &ui->net;
  close_conn(n);
  if (err->message[0])
    tui_why(NULL, err, n->why, sizeof n->why);
  else
    snprintf(n->why, sizeof n->why, "%s", _("connection lost"));
  if (err->status == KEHU_UNAUTHENTICATED) {
    n->state = NET_LOGGED_OUT;
  } else {
    n->state = NET_OFFLINE;
    schedule_retry(ui);
  }
  kehu_error gone = *err;
  if (gone.status == KEHU_OK)
    gone.status = KEHU_UNAVAILABLE;
  fail_pending(ui, &gone);
  tui_redraw(ui);
}

static void dispatch(tui *ui, Kehu__Envelope *env)
{
  if (env->body_case == KEHU__ENVELOPE__BODY_EVENT) {
    const Kehu__Event *e = env->event;
    if (e->reminder)
      tui_reminders_take(ui, e->reminder, 1);
    else if (e->message)
      tui_notice(ui, 0, "%s", e->message);
    return;
  }
  tui_pending **pp = &ui->net.pending;
  while (*pp && (*pp)->id != env->id)
    pp = &(*pp)->next;
  if (!*pp)
    return;   /* an answer nobody waits for */
  tui_pending *p = *pp;
  *pp = p->next;
  if (p->fn)
    p->fn(ui, env->response, NULL, p->arg);
  free(p);
}

static int draining;

/* Sends what is queued and takes every envelope that has arrived. Each
 * kehu_conn_next sends the queue first, so requests made by a callback
 * while draining go out on the next turn of the loop below. */
static void drain(tui *ui)
{
  if (draining)
    return;
  draining = 1;
  while (ui->net.conn) {
    Kehu__Envelope *env = NULL;
    kehu_error err = {0};
    int rc = kehu_conn_next(ui->net.conn, 0, &env, &err);
    if (rc != KEHU_OK) {
      lost(ui, &err);
      break;
    }
    if (!env)
      break;
    dispatch(ui, env);
    kehu_envelope_free(env);
  }
  draining = 0;
  tui_redraw(ui);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
  (void)events;
  tui *ui = h->data;
  if (status < 0) {
    kehu_error err = {.status = KEHU_UNAVAILABLE};
    snprintf(err.message, sizeof err.message, "%s", uv_strerror(status));
    lost(ui, &err);
    return;
  }
  drain(ui);
}

static void ignore_reply(tui *ui, const Kehu__Response *r, const kehu_error *err, void *arg)
{
  (void)ui, (void)r, (void)err, (void)arg;
}

static void whoami_reply(tui *ui, const Kehu__Response *r, const kehu_error *err, void *arg)
{
  (void)err, (void)arg;
  if (r && r->status == KEHU__STATUS__OK && r->result_case == KEHU__RESPONSE__RESULT_WHOAMI) {
    snprintf(ui->user, sizeof ui->user, "%s", r->whoami->username);
    snprintf(ui->role, sizeof ui->role, "%s", r->whoami->role);
  }
}

static void connected(tui *ui)
{
  tui_net *n = &ui->net;
  n->state = NET_ONLINE;
  n->backoff_ms = 0;
  n->why[0] = '\0';
  uv_poll_init(ui->loop, &n->poll, kehu_conn_fd(n->conn));
  n->poll.data = ui;
  uv_poll_start(&n->poll, UV_READABLE, on_readable);
  n->polling = 1;

  Kehu__Request req = KEHU__REQUEST__INIT;
  Kehu__Watch watch = KEHU__WATCH__INIT;
  req.op_case = KEHU__REQUEST__OP_WATCH;
  req.watch = &watch;
  tui_request(ui, &req, ignore_reply, NULL);
  Kehu__WhoAmIRequest who = KEHU__WHO_AM_IREQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_WHOAMI;
  req.whoami = &who;
  tui_request(ui, &req, whoami_reply, NULL);
  tui_reminders_load(ui);
  for (tui_screen *s = ui->top; s; s = s->below)
    if (s->online)
      s->online(ui, s);
  tui_redraw(ui);
}

static void open_work(uv_work_t *w)
{
  tui *ui = w->data;
  memset(&ui->net.open_err, 0, sizeof ui->net.open_err);
  ui->net.open_rc = kehu_session_open(ui->cli, &ui->net.opened, &ui->net.open_err);
}

static void open_done(uv_work_t *w, int status)
{
  tui *ui = w->data;
  tui_net *n = &ui->net;
  n->working = 0;
  if (ui->quit) {
    kehu_conn_close(n->opened);
    n->opened = NULL;
    return;
  }
  if (status == 0 && n->open_rc == KEHU_OK && n->opened) {
    n->conn = n->opened;
    n->opened = NULL;
    connected(ui);
    return;
  }
  kehu_error err = n->open_err;
  if (status != 0 && err.status == KEHU_OK) {
    err.status = KEHU_UNAVAILABLE;
    snprintf(err.message, sizeof err.message, "%s", uv_strerror(status));
  }
  if (err.status == KEHU_OK)
    err.status = KEHU_UNAVAILABLE;
  lost(ui, &err);
}

static void open_now(tui *ui)
{
  tui_net *n = &ui->net;
  if (n->working || n->conn || ui->quit)
    return;
  n->state = NET_CONNECTING;
  n->working = 1;
  n->work.data = ui;
  uv_queue_work(ui->loop, &n->work, open_work, open_done);
  tui_redraw(ui);
}

static void retry_cb(uv_timer_t *t)
{
  open_now(t->data);
}

void tui_net_start(tui *ui)
{
  uv_timer_init(ui->loop, &ui->net.retry);
  ui->net.retry.data = ui;
  open_now(ui);
}

void tui_net_retry(tui *ui)
{
  uv_timer_stop(&ui->net.retry);
  ui->net.backoff_ms = 0;
  open_now(ui);
}

void tui_net_stop(tui *ui)
{
  tui_net *n = &ui->net;
  uv_timer_stop(&n->retry);
  uv_close((uv_handle_t *)&n->retry, NULL);
  close_conn(n);
  kehu_error err = {.status = KEHU_UNAVAILABLE};
  fail_pending(ui, &err);
}

void tui_request(tui *ui, const Kehu__Request *req, tui_reply_fn fn, void *arg)
{
  tui_net *n = &ui->net;
  kehu_error err = {.status = KEHU_UNAVAILABLE};
  if (n->state != NET_ONLINE || !n->conn) {
    snprintf(err.message, sizeof err.message, "%s",
             n->state == NET_LOGGED_OUT ? _("not logged in") : _("offline"));
    fn(ui, NULL, &err, arg);
    return;
  }
  uint64_t id = kehu_conn_queue(n->conn, req);
  tui_pending *p = id ? calloc(1, sizeof *p) : NULL;
  if (!p) {
    snprintf(err.message, sizeof err.message, "%s", _("the request is too large"));
    err.status = KEHU_INVALID;
    fn(ui, NULL, &err, arg);
    return;
  }
  p->id = id;
  p->fn = fn;
  p->arg = arg;
  p->next = n->pending;
  n->pending = p;
  drain(ui);
}

const char *tui_why(const Kehu__Response *r, const kehu_error *err, char *buf, size_t n)
{
  kehu_error e = {0};
  if (r) {
    kehu_response_error(r, &e);
    err = &e;
  }
  if (!err || (!err->message[0] && err->status == KEHU_OK)) {
    snprintf(buf, n, "%s", _("the server refused"));
    return buf;
  }
  return kehu_error_human(err, buf, n);
}

void tui_net_forget(tui *ui, void *arg)
{
  for (tui_pending *p = ui->net.pending; p; p = p->next)
    if (p->arg == arg)
      p->fn = NULL;
}
