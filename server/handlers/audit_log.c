/* kehu audit: the log, newest first, for admins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "handlers.h"
#include "reflect.h"

#define DEFAULT_PAGE 50
#define MAX_PAGE 500

typedef struct {
  const Kehu__AuditQuery *q;
  Kehu__AuditEntry **items;
  size_t n;
} audit_page;

static int keep_entry(const Kehu__AuditEntry *e, void *arg)
{
  audit_page *p = arg;
  const Kehu__AuditQuery *q = p->q;
  if ((q->entity_id && (!e->entity_id || strcmp(q->entity_id, e->entity_id) != 0)) ||
      (q->user && (!e->user || strcmp(q->user, e->user) != 0)) ||
      (q->has_since && e->at < q->since))
    return 0;
  Kehu__AuditEntry *copy = (Kehu__AuditEntry *)kehu_msg_copy(&e->base);
  if (!copy)
    return 0;
  p->items[p->n++] = copy;
  return 1;
}

void kehu_handle_audit(kehu_call *call)
{
  const Kehu__AuditQuery *q = call->req->audit;
  kehu_error err = {0};
  if (kehu_access_admin(&call->caller, "read the audit log", &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  unsigned limit = q->has_limit ? q->limit : DEFAULT_PAGE;
  if (limit < 1 || limit > MAX_PAGE) {
    kehu_reply_status(call, KEHU_INVALID, "limit: %u is outside 1..%d", limit, MAX_PAGE);
    return;
  }
  audit_page p = {q, calloc(limit, sizeof(Kehu__AuditEntry *)), 0};
  kehu_txn t;
  uint64_t next = 0;
  int rc = p.items ? kehu_store_read_begin(call->srv->store, &t) : KEHU_EXHAUSTED;
  if (rc == KEHU_OK) {
    rc = kehu_store_audit_list(&t, q->has_before ? q->before : 0, limit, keep_entry, &p, &next);
    kehu_store_read_end(&t);
  }
  if (rc != KEHU_OK) {
    kehu_reply_status(call, rc, "cannot read the audit log: %s", kehu_status_name(rc));
  } else {
    char cursor[24];
    Kehu__AuditPage pg = KEHU__AUDIT_PAGE__INIT;
    pg.items = p.items;
    pg.n_items = p.n;
    if (next) {
      snprintf(cursor, sizeof cursor, "%llu", (unsigned long long)next);
      pg.next_cursor = cursor;
    }
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_AUDIT_PAGE;
    r.audit_page = &pg;
    kehu_reply(call, &r);
  }
  for (size_t i = 0; i < p.n; i++)
    kehu__audit_entry__free_unpacked(p.items[i], NULL);
  free(p.items);
}
