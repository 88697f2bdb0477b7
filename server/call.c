/* The reply of a request, back through the connection it came on (moved
 * out of dispatch.c): error replies name their field, denials are audited,
 * and a request's write is answered after it commits. */
#include "call.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "net/conn.h"
#include "records.h"
#include "session.h"

void kehu_reply(kehu_call *call, Kehu__Response *resp)
{
  kehu_conn *c = call->conn;
  Kehu__Envelope e = KEHU__ENVELOPE__INIT;
  e.id = call->id;
  e.body_case = KEHU__ENVELOPE__BODY_RESPONSE;
  e.response = resp;
  if (c)
    kehu_conn_send(c, &e);
  kehu_session *s = call->session;
  size_t reserved = call->reserved;
  int held = call->holds_requests;
  kehu_envelope_free(call->env);
  free(call);
  kehu_session_call_end(s);
  if (c)
    kehu_conn_request_done(c, reserved, held);
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

void kehu_submit_write(kehu_call *call, kehu_write_fn apply, kehu_write_done done, void *arg)
{
  kehu_writes_submit(call->srv, call, apply, done, arg);
}
