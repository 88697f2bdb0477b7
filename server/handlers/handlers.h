/* Request handlers, one file per domain. Each validates, checks access,
 * then reads or queues a write, and replies exactly once. */
#ifndef KEHU_HANDLERS_H
#define KEHU_HANDLERS_H

#include "call.h"
#include "server.h"
#include "session.h"
#include "writes.h"

void kehu_handle_login(kehu_call *call);
void kehu_handle_logout(kehu_call *call);
void kehu_handle_whoami(kehu_call *call);

void kehu_handle_customer_add(kehu_call *call);
void kehu_handle_customer_get(kehu_call *call);
void kehu_handle_customer_list(kehu_call *call);
void kehu_handle_customer_update(kehu_call *call);
void kehu_handle_customer_delete(kehu_call *call);

void kehu_handle_customer_stage(kehu_call *call);
void kehu_handle_customer_search(kehu_call *call);
/* Replies with a page of customers (list, sorted list, search); next_cursor
 * is NULL on the last page. */
void kehu_reply_customer_page(kehu_call *call, Kehu__Customer **items, size_t n,
                              const char *next_cursor);
void kehu_handle_customer_restore(kehu_call *call);
void kehu_handle_customer_purge(kehu_call *call);
void kehu_handle_customer_dupes(kehu_call *call);
void kehu_handle_customer_merge(kehu_call *call);

/* customer add and update inside a transaction the caller holds (an
 * import's batch, import.c): the same checks, record, reminder rules and
 * audit entry as the requests. err is set on a refusal. */
int kehu_customer_create_in(kehu_txn *t, const kehu_caller *who, int64_t now,
                            const kehu_config *cfg, const Kehu__Customer *in, uint64_t *key,
                            kehu_error *err);
/* changes: the fields given (tags replace the old ones when there are
 * some); *changed: 0 when the record already held them (nothing written). */
int kehu_customer_update_in(kehu_txn *t, const kehu_caller *who, int64_t now,
                            const kehu_config *cfg, uint64_t key, Kehu__Customer *changes,
                            int *changed, kehu_error *err);
/* A record of kind under customer cust, as child add stores it; rec is
 * checked (kehu_record_check) by the caller. */
int kehu_child_create_in(kehu_txn *t, const kehu_caller *who, int64_t now,
                         const kehu_config *cfg, const kehu_kind_info *kind, uint64_t cust,
                         const ProtobufCMessage *rec, kehu_error *err);
void kehu_handle_import_chunk(kehu_call *call);

void kehu_handle_child_add(kehu_call *call);
void kehu_handle_child_list(kehu_call *call);
void kehu_handle_child_update(kehu_call *call);
void kehu_handle_child_delete(kehu_call *call);

void kehu_handle_attach_upload(kehu_call *call);
void kehu_handle_attach_get(kehu_call *call);
void kehu_handle_audit(kehu_call *call);
void kehu_handle_report(kehu_call *call);
void kehu_handle_reminder_list(kehu_call *call);
void kehu_handle_reminder_add(kehu_call *call);
void kehu_handle_reminder_ack(kehu_call *call);
void kehu_handle_reminder_snooze(kehu_call *call);
void kehu_handle_watch(kehu_call *call);
void kehu_handle_field_define(kehu_call *call);
void kehu_handle_field_list(kehu_call *call);
/* The custom fields of a whole record against the definitions of entity:
 * every key defined, every value of its type, every required one given. */
int kehu_fields_check(kehu_txn *t, const char *entity, Kehu__CustomField **fields, size_t n,
                      kehu_error *err);

/* Is the session of call still logged in? (token not revoked, user not
 * disabled); picks up a changed role or team. */
int kehu_auth_check_session(kehu_call *call, kehu_error *err);

#endif
