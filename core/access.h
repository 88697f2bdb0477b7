/* The one place that answers "may this user do or see this?" (docs/architecture.md#roles-and-permissions).
 * Handlers ask; they never re-derive a rule inline. */
#ifndef KEHU_ACCESS_H
#define KEHU_ACCESS_H

#include "records.h"
#include "core.h"

typedef enum {
  KEHU_ROLE_NONE = 0,
  KEHU_ROLE_ADMIN,
  KEHU_ROLE_MANAGER,
  KEHU_ROLE_SALES,
  KEHU_ROLE_SERVICE,
  KEHU_ROLE_FINANCE,
} kehu_role;

/* KEHU_ROLE_NONE for anything but the five role names. */
kehu_role kehu_role_of(const char *name);

/* Can the caller see customer c at all (lists and searches skip it when
 * not)? t is used to look up the owner's team for managers. */
int kehu_access_customer_visible(kehu_txn *t, const kehu_caller *who, const Kehu__Customer *c);
/* Addressing c directly: OK, or PERMISSION_DENIED with a message. */
int kehu_access_customer(kehu_txn *t, const kehu_caller *who, const Kehu__Customer *c,
                         int write, kehu_error *err);
/* Creating a customer owned by owner. */
int kehu_access_customer_create(kehu_txn *t, const kehu_caller *who, const char *owner,
                                kehu_error *err);

/* Records of a kind under customer c (docs/architecture.md#roles-and-permissions matrix): service sees no
 * contracts or orders and writes only follow-ups and tickets; finance reads;
 * managers read their team's contracts and orders; sales read tickets. */
int kehu_access_child(kehu_txn *t, const kehu_caller *who, const Kehu__Customer *c,
                      const kehu_kind_info *kind, int write, kehu_error *err);
/* Clears the fields of a record that the caller's role may not see
 * (service: amounts and budgets), before it is sent. */
void kehu_access_redact(const kehu_caller *who, ProtobufCMessage *m);
/* Exports: admins all, managers their team's, sales their own; service
 * and finance none (docs/architecture.md#roles-and-permissions). */
int kehu_access_export(const kehu_caller *who, kehu_error *err);
/* May the caller export records of this kind across the customers it may
 * read (ChildList with export)? Every role for the kinds it may read;
 * contracts and orders never to service (docs/architecture.md#roles-and-permissions). */
int kehu_access_export_records(const kehu_caller *who, const kehu_kind_info *kind,
                               kehu_error *err);
/* The user as a caller (role and team from the user record): NOT_FOUND
 * for no such user, PERMISSION_DENIED for a disabled one. */
int kehu_access_caller_of(kehu_txn *t, const char *username, kehu_caller *out);
/* May username (an enabled user) read customer c, and its records of kind
 * when kind is not NULL? Reminders and pushed events ask this for their
 * recipient, as a handler asks kehu_access_customer for its caller. */
int kehu_access_user_reads(kehu_txn *t, const char *username, const Kehu__Customer *c,
                           const kehu_kind_info *kind);
/* The people a customer's own reminders go to (README "Reminders"): its
 * owner and the managers of the owner's team; a team-less owner alone. */
int kehu_access_each_reader(kehu_txn *t, const Kehu__Customer *c,
                            void (*each)(const char *user, void *arg), void *arg);
/* A ticket's assignee: an existing, enabled user who may work the tickets
 * of c; INVALID_ARGUMENT naming "assignee" otherwise. */
int kehu_access_ticket_assignee(kehu_txn *t, const Kehu__Customer *c, const char *username,
                                kehu_error *err);
/* A reminder about a customer shows (list, watch, push) only while the
 * customer is live and the caller may read it: a reassignment or a team
 * change may have taken it away. */
int kehu_access_reminder_visible(kehu_txn *t, const kehu_caller *who, const Kehu__Reminder *r);
/* Does the caller's role see amounts (contract and order amounts, budgets,
 * revenue in reports)? Service does not. */
int kehu_access_sees_amounts(const kehu_caller *who);
/* A report kind the caller may run (service: none that ranks by revenue). */
int kehu_access_report(const kehu_caller *who, const char *kind, kehu_error *err);
/* Admin-only operations (purge, users, audit). */
int kehu_access_admin(const kehu_caller *who, const char *what, kehu_error *err);

#endif
