/* Audit entries for events that have no write of their own (a denial, a
 * failed login): queued to the writer, nobody waits for them. */
#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "writes.h"

typedef struct {
  kehu_caller who;
  int64_t now;
  char action[32], entity[32], id[32];
  char details[512];
} later_entry;

static int apply_later(kehu_txn *t, void *arg)
{
  later_entry *e = arg;
  return kehu_audit(t, &e->who, e->now, e->action, e->entity[0] ? e->entity : NULL,
                    e->id[0] ? e->id : NULL, e->details);
}

static void later_done(kehu_call *call, int status, void *arg)
{
  (void)call;
  if (status != KEHU_OK)
    fprintf(stderr, "kehud: an audit entry could not be written: %s\n", kehu_status_name(status));
  free(arg);
}

void kehu_audit_later(kehu_server *srv, const kehu_caller *who, const char *action,
                      const char *entity, const char *id, const char *details)
{
  if (!srv->writer)
    return;
  later_entry *e = calloc(1, sizeof *e);
  if (!e)
    return;
  if (who)
    e->who = *who;
  e->now = kehu_now(srv);
  snprintf(e->action, sizeof e->action, "%s", action);
  snprintf(e->entity, sizeof e->entity, "%s", entity ? entity : "");
  snprintf(e->id, sizeof e->id, "%s", id ? id : "");
  snprintf(e->details, sizeof e->details, "%s", details ? details : "");
  kehu_submit_write_detached(srv, apply_later, later_done, e);
}
