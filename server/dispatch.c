/* Envelope -> handler: the auth gate, the per-request context, and the
 * replies that go back through the connection. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "records.h"
#include "reminders/scheduler.h"
#include "handlers/handlers.h"
#include "net/conn.h"

typedef struct {
  Kehu__Request__OpCase op;
  void (*handle)(kehu_call *call);
  int needs_login;
  int barrier;   /* changes who the connection is: later requests wait */
  int pages;     /* the reply may be a page of records (or pushes many) */
} route;

static const route routes[] = {
  {KEHU__REQUEST__OP_LOGIN, kehu_handle_login, 0, 1, 0},
  {KEHU__REQUEST__OP_LOGOUT, kehu_handle_logout, 1, 1, 0},
  {KEHU__REQUEST__OP_WHOAMI, kehu_handle_whoami, 1, 0, 0},
  {KEHU__REQUEST__OP_CUSTOMER_ADD, kehu_handle_customer_add, 1, 0, 0},
  {KEHU__REQUEST__OP_CUSTOMER_GET, kehu_handle_customer_get, 1, 0, 1},
  {KEHU__REQUEST__OP_CUSTOMER_LIST, kehu_handle_customer_list, 1, 0, 1},
  {KEHU__REQUEST__OP_CUSTOMER_UPDATE, kehu_handle_customer_update, 1, 0, 0},
  {KEHU__REQUEST__OP_CUSTOMER_DELETE, kehu_handle_customer_delete, 1, 0, 0},
  {KEHU__REQUEST__OP_CUSTOMER_STAGE, kehu_handle_customer_stage, 1, 0, 0},
  {KEHU__REQUEST__OP_CUSTOMER_SEARCH, kehu_handle_customer_search, 1, 0, 1},
  {KEHU__REQUEST__OP_CUSTOMER_RESTORE, kehu_handle_customer_restore, 1, 0, 0},
  {KEHU__REQUEST__OP_CUSTOMER_PURGE, kehu_handle_customer_purge, 1, 0, 0},
  {KEHU__REQUEST__OP_CUSTOMER_DUPES, kehu_handle_customer_dupes, 1, 0, 1},
  {KEHU__REQUEST__OP_CUSTOMER_MERGE, kehu_handle_customer_merge, 1, 0, 0},
  {KEHU__REQUEST__OP_CHILD_ADD, kehu_handle_child_add, 1, 0, 0},
  {KEHU__REQUEST__OP_CHILD_LIST, kehu_handle_child_list, 1, 0, 1},
  {KEHU__REQUEST__OP_CHILD_UPDATE, kehu_handle_child_update, 1, 0, 0},
  {KEHU__REQUEST__OP_CHILD_DELETE, kehu_handle_child_delete, 1, 0, 0},
  {KEHU__REQUEST__OP_FIELD_DEFINE, kehu_handle_field_define, 1, 0, 0},
  {KEHU__REQUEST__OP_FIELD_LIST, kehu_handle_field_list, 1, 0, 1},
  {KEHU__REQUEST__OP_ATTACH_UPLOAD, kehu_handle_attach_upload, 1, 0, 0},
  {KEHU__REQUEST__OP_ATTACH_GET, kehu_handle_attach_get, 1, 0, 1},
  {KEHU__REQUEST__OP_AUDIT, kehu_handle_audit, 1, 0, 1},
  {KEHU__REQUEST__OP_REMINDER_LIST, kehu_handle_reminder_list, 1, 0, 1},
  {KEHU__REQUEST__OP_REMINDER_ADD, kehu_handle_reminder_add, 1, 0, 0},
  {KEHU__REQUEST__OP_REMINDER_ACK, kehu_handle_reminder_ack, 1, 0, 0},
  {KEHU__REQUEST__OP_REMINDER_SNOOZE, kehu_handle_reminder_snooze, 1, 0, 0},
  {KEHU__REQUEST__OP_WATCH, kehu_handle_watch, 1, 0, 1},
  {KEHU__REQUEST__OP_REPORT, kehu_handle_report, 1, 0, 1},
};

static const route *route_of(Kehu__Request__OpCase op)
{
  for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
    if (routes[i].op == op)
      return &routes[i];
  return NULL;
}

/* What the reply of one record (or an acknowledgement) is given; the
 * reply of a page may take a whole frame. Only requests answered later (on
 * the writer or the thread pool) hold their share for long: a reply built
 * at once counts with its real size as soon as it is queued. */
#define RECORD_REPLY_BYTES (128 * 1024)

size_t kehu_reply_estimate(const kehu_server *srv, const Kehu__Request *req)
{
  const route *r = route_of(req->op_case);
  size_t page = srv->cfg.max_frame;
  return r && r->pages ? page : RECORD_REPLY_BYTES;
}

void kehu_dispatch(kehu_conn *c, Kehu__Envelope *env)
{
  kehu_call *call = calloc(1, sizeof *call);
  if (!call) {
    kehu_envelope_free(env);
    kehu_conn_fail(c, KEHU_EXHAUSTED, "server out of memory");
    return;
  }
  call->srv = c->srv;
  call->conn = c;
  call->id = env->id;
  call->env = env;
  call->req = env->request;
  call->caller = c->caller;
  call->reserved = kehu_reply_estimate(c->srv, call->req);
  c->reserved += call->reserved;
  c->inflight++;
  kehu_conn_ref(c);

  const route *r = route_of(call->req->op_case);
  if (!r) {
    kehu_reply_status(call, KEHU_INVALID, "this server does not know that request");
    return;
  }
  if (r->needs_login && !c->authed) {
    kehu_reply_status(call, KEHU_UNAUTHENTICATED, "not logged in: log in first");
    return;
  }
  kehu_error err = {0};
  if (r->needs_login && kehu_session_still_valid(c, &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  call->caller = c->caller;
  if (r->barrier)
    c->barrier = 1;
  r->handle(call);
}

void kehu_reply(kehu_call *call, Kehu__Response *resp)
{
  kehu_conn *c = call->conn;
  Kehu__Envelope e = KEHU__ENVELOPE__INIT;
  e.id = call->id;
  e.body_case = KEHU__ENVELOPE__BODY_RESPONSE;
  e.response = resp;
  if (!c->closing)
    kehu_conn_send(c, &e);
  c->reserved -= call->reserved;   /* now counted as queued */
  if (call->req->op_case == KEHU__REQUEST__OP_LOGIN || call->req->op_case == KEHU__REQUEST__OP_LOGOUT)
    c->barrier = 0;
  kehu_envelope_free(call->env);
  free(call);
  kehu_conn_request_done(c);
  kehu_conn_unref(c);
}

/* What a request is about, for the audit log: (entity, id) or NULLs. */
static void request_target(const Kehu__Request *r, const char **entity, const char **id)
{
  const kehu_kind_info *kind;
  uint64_t seq;
  *entity = *id = NULL;
  switch (r->op_case) {
  case KEHU__REQUEST__OP_CUSTOMER_GET: *id = r->customer_get->id; break;
  case KEHU__REQUEST__OP_CUSTOMER_UPDATE: *id = r->customer_update->id; break;
  case KEHU__REQUEST__OP_CUSTOMER_DELETE: *id = r->customer_delete->id; break;
  case KEHU__REQUEST__OP_CUSTOMER_STAGE: *id = r->customer_stage->id; break;
  case KEHU__REQUEST__OP_CUSTOMER_RESTORE: *id = r->customer_restore->id; break;
  case KEHU__REQUEST__OP_CUSTOMER_PURGE: *id = r->customer_purge->id; break;
  case KEHU__REQUEST__OP_CUSTOMER_MERGE: *id = r->customer_merge->other_id; break;
  case KEHU__REQUEST__OP_CHILD_ADD: *id = r->child_add->customer_id; break;
  case KEHU__REQUEST__OP_CHILD_LIST: *id = r->child_list->customer_id; break;
  case KEHU__REQUEST__OP_CHILD_UPDATE: *id = r->child_update->id; break;
  case KEHU__REQUEST__OP_CHILD_DELETE: *id = r->child_delete->id; break;
  case KEHU__REQUEST__OP_ATTACH_UPLOAD: *id = r->attach_upload->customer_id; break;
  case KEHU__REQUEST__OP_ATTACH_GET: *id = r->attach_get->id; break;
  default: break;
  }
  if (*id)
    *entity = kehu_child_id_parse(*id, &kind, &seq) == 0 ? kind->name : "customer";
}

/* Messages about one field start with its name ("id: 'x' is not a
 * customer id", "terms: term 2 is not valid UTF-8"): an INVALID_ARGUMENT
 * that did not say which field it is about names that one. */
static int field_named(const char *message, char *field, size_t size)
{
  size_t n = strspn(message, "abcdefghijklmnopqrstuvwxyz0123456789_.");
  if (n == 0 || n >= size || message[n] != ':' || message[n + 1] != ' ')
    return 0;
  memcpy(field, message, n);
  field[n] = '\0';
  return 1;
}

void kehu_reply_error(kehu_call *call, const kehu_error *err)
{
  /* Every denial is audited, whichever handler refused. */
  if (err->status == KEHU_PERMISSION_DENIED) {
    const char *entity, *id;
    request_target(call->req, &entity, &id);
    kehu_audit_later(call->srv, &call->caller, "permission_denied", entity, id, err->message);
  }
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = (Kehu__Status)err->status;
  r.message = (char *)err->message;
  char field[sizeof err->field];
  if (err->field[0])
    r.field = (char *)err->field;
  else if (err->status == KEHU_INVALID && field_named(err->message, field, sizeof field))
    r.field = field;
  if (err->existing_id[0])
    r.existing_id = (char *)err->existing_id;
  kehu_reply(call, &r);
}

void kehu_reply_status(kehu_call *call, int status, const char *fmt, ...)
{
  kehu_error err = {.status = status};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err.message, sizeof err.message, fmt, ap);
  va_end(ap);
  kehu_reply_error(call, &err);
}

/* ---- writes: queued to the writer thread, answered after commit ---- */

typedef struct {
  kehu_write_req req;    /* first: the writer hands this pointer back */
  kehu_call *call;
  kehu_write_done done;
  void *arg;
} pending_write;

void kehu_submit_write_detached(kehu_server *srv, kehu_write_fn apply, kehu_write_done done,
                                void *arg)
{
  /* After shutdown began (a password check finishing late) nothing is
   * written any more. */
  pending_write *p = srv->writer ? calloc(1, sizeof *p) : NULL;
  if (!p) {
    done(NULL, KEHU_EXHAUSTED, arg);
    return;
  }
  p->req.apply = apply;
  p->req.arg = arg;
  p->done = done;
  p->arg = arg;
  kehu_writer_submit(srv->writer, &p->req);
}

void kehu_submit_write(kehu_call *call, kehu_write_fn apply, kehu_write_done done, void *arg)
{
  pending_write *p = call->srv->writer ? calloc(1, sizeof *p) : NULL;
  if (!p) {
    done(call, call->srv->writer ? KEHU_EXHAUSTED : KEHU_UNAVAILABLE, arg);
    return;
  }
  p->req.apply = apply;
  p->req.arg = arg;
  p->call = call;
  p->done = done;
  p->arg = arg;
  kehu_writer_submit(call->srv->writer, &p->req);
}

/* On the loop, woken by the writer after each commit. */
void kehu_writes_finished(uv_async_t *async)
{
  kehu_server *srv = async->data;
  kehu_write_req *r = kehu_writer_take_done(srv->writer);
  while (r) {
    kehu_write_req *next = r->next;
    pending_write *p = (pending_write *)r;
    p->done(p->call, r->status, p->arg);
    free(p);
    r = next;
  }
  kehu_conn_flush_all(srv);
  if (srv->writer)
    kehu_scheduler_poke(srv);
}

