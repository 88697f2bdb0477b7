/* Writing the audit log (SPEC §6). Changes are audited inside their own
 * write transaction; events without a write of their own (a denial, a
 * failed login) get a small write of their own. */
#ifndef KEHU_AUDIT_H
#define KEHU_AUDIT_H

#include "server.h"

/* Appends one entry in t's transaction. details may be NULL. */
int kehu_audit(kehu_txn *t, const kehu_caller *who, int64_t now, const char *action,
               const char *entity, const char *id, const char *details);
/* "field: old -> new; ..." of the fields that differ between two records
 * of one type; values of the fields named in hidden are left out. */
void kehu_audit_diff(const ProtobufCMessage *before, const ProtobufCMessage *after,
                     const char *const *hidden, char *out, size_t len);
/* Queues an entry of its own to the writer (nobody waits for it). */
void kehu_audit_later(kehu_server *srv, const kehu_caller *who, const char *action,
                      const char *entity, const char *id, const char *details);

#endif
