/* Audit entries, written in the transaction of the change they record. */
#ifndef KEHU_AUDIT_ENTRY_H
#define KEHU_AUDIT_ENTRY_H

#include "core.h"

/* Appends one entry in t's transaction. details may be NULL. */
int kehu_audit(kehu_txn *t, const kehu_caller *who, int64_t now, const char *action,
               const char *entity, const char *id, const char *details);
/* "field: old -> new; ..." of the fields that differ between two records
 * of one type; values of the fields named in hidden are left out. */
void kehu_audit_diff(const ProtobufCMessage *before, const ProtobufCMessage *after,
                     const char *const *hidden, char *out, size_t len);
/* A customer's fields whose values an audit entry never holds (it names
 * them as changed): personal data, which an erasure must be able to take
 * out of the store entirely, and the hash-chained log could not give up. */
extern const char *const kehu_audit_personal_fields[];

#endif
