/* Writing the audit log (docs/storage.md#audit-log). Changes are audited
 * inside their own write transaction (audit_entry.h, in core/); events
 * without a write of their own (a denial, a failed login) get a small write
 * of their own, queued here. */
#ifndef KEHU_AUDIT_H
#define KEHU_AUDIT_H

#include "audit_entry.h"
#include "server.h"

/* Queues an entry of its own to the writer (nobody waits for it). */
void kehu_audit_later(kehu_server *srv, const kehu_caller *who, const char *action,
                      const char *entity, const char *id, const char *details);

#endif
