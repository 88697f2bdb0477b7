/* Envelope -> handler: the route table, the auth gate and the per-request
 * context. Replies go back through call.c. */
#include "dispatch.h"

#include <stdlib.h>

#include "call.h"
#include "handlers/handlers.h"
#include "net/conn.h"
#include "session.h"

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
  {KEHU__REQUEST__OP_IMPORT_CHUNK, kehu_handle_import_chunk, 1, 0, 1},
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

void kehu_dispatch(kehu_session *s, kehu_conn *c, Kehu__Envelope *env, size_t reserved)
{
  kehu_call *call = calloc(1, sizeof *call);
  if (!call) {
    kehu_envelope_free(env);
    if (c) {
      kehu_conn_fail(c, KEHU_EXHAUSTED, "server out of memory");
      kehu_conn_request_done(c, reserved, 0);
    }
    return;
  }
  call->srv = kehu_session_server(s);
  call->srv->requests++;
  call->session = s;
  call->conn = c;
  call->id = env->id;
  call->env = env;
  call->req = env->request;
  call->caller = *kehu_session_caller(s);
  call->reserved = reserved;
  kehu_session_call_begin(s);

  const route *r = route_of(call->req->op_case);
  if (!r) {
    kehu_reply_status(call, KEHU_INVALID, "this server does not know that request");
    return;
  }
  if (r->needs_login && !kehu_session_authed(s)) {
    kehu_reply_status(call, KEHU_UNAUTHENTICATED, "not logged in: log in first");
    return;
  }
  kehu_error err = {0};
  if (r->needs_login && kehu_auth_check_session(call, &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  call->caller = *kehu_session_caller(s);
  if (r->barrier) {
    call->holds_requests = 1;
    if (c)
      kehu_conn_hold_requests(c);
  }
  r->handle(call);
}
