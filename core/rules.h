/* Reminder rules (docs/architecture.md#reminders), evaluated inside the write transaction that
 * changes what they depend on, so the due index never lags the data. */
#ifndef KEHU_RULES_H
#define KEHU_RULES_H

#include "core.h"

typedef struct {
  kehu_txn *t;
  int64_t now;
  const kehu_config *cfg;
} kehu_rule_ctx;

/* Raises (or moves) the reminder of source for user, due at due. An
 * acknowledged one with the same source stays acknowledged. */
int kehu_rules_raise(kehu_rule_ctx *rc, const char *source, const char *user, int64_t due,
                     const char *kind, const char *customer_id, const char *record_id,
                     const char *message);
/* Withdraws the reminder of source if it has not fallen due yet. */
int kehu_rules_cancel(kehu_rule_ctx *rc, const char *source);

/* old is the record before the change (NULL: new), m after (NULL: deleted). */
int kehu_rules_contract(kehu_rule_ctx *rc, const Kehu__Customer *c, const Kehu__Contract *old,
                        const Kehu__Contract *m);
int kehu_rules_followup(kehu_rule_ctx *rc, const Kehu__Customer *c, const Kehu__FollowUp *old,
                        const Kehu__FollowUp *m);
int kehu_rules_contact(kehu_rule_ctx *rc, const Kehu__Customer *c, const Kehu__Contact *old,
                       const Kehu__Contact *m);
int kehu_rules_ticket(kehu_rule_ctx *rc, const Kehu__Customer *c, const Kehu__Ticket *old,
                      const Kehu__Ticket *m);
/* The customer's dormancy reminder after its last contact moved from
 * old (NULL: new customer) to c. */
int kehu_rules_dormant(kehu_rule_ctx *rc, const Kehu__Customer *old, const Kehu__Customer *c);
/* The dormancy sweep (docs/architecture.md#reminders): raises the dormant
 * reminders of at most max customers whose period ended by rc->now, in
 * rc's transaction; *more when some were left for the next round. */
int kehu_rules_dormant_sweep(kehu_rule_ctx *rc, size_t max, int *more);
/* When the next dormancy period the sweep has not passed ends (0: none). */
int64_t kehu_rules_dormant_next_due(kehu_txn *t, const kehu_config *cfg);
/* The customer has just become churn_risk (docs/architecture.md#value-tiers):
 * its owner and the owner's team managers are told at once (流失预警), once
 * per episode: the source names the time it became so. */
int kehu_rules_churn_risk(kehu_rule_ctx *rc, const Kehu__Customer *c, const char *why);
/* The birthday sweep (docs/architecture.md#reminders): raises the birthday
 * reminders of at most max contacts whose birthday came within reach by
 * rc->now, in rc's transaction; *more when some were left for the next
 * round. */
int kehu_rules_birthday_sweep(kehu_rule_ctx *rc, size_t max, int *more);
/* A customer restored from the recycle bin: its contacts' birthdays
 * nearer than the sweep looks ahead, which the sweep passed meanwhile. */
int kehu_rules_customer_birthdays(kehu_rule_ctx *rc, const Kehu__Customer *c);
/* When the sweep next has birthdays to raise (1: at once). */
int64_t kehu_rules_birthday_next_due(kehu_txn *t);
/* Merge: reminders about from now name to (but from's dormancy, which to
 * has its own of: that one goes); *moved counts the users' reminders
 * moved. Purge: they are erased. */
int kehu_rules_customer_moved(kehu_rule_ctx *rc, uint64_t from, const char *to_id,
                              unsigned *moved);
int kehu_rules_customer_gone(kehu_rule_ctx *rc, uint64_t cust);
/* Reminders the server raises for itself have no user (a contract's end):
 * they are never listed or pushed. When one falls due the scheduler calls
 * kehu_rules_system_fired, in the firing transaction: a contract whose
 * ends_on has passed becomes expired, audited as done by kehud. */
int kehu_rules_is_system(const Kehu__Reminder *r);
/* A customer moved into the recycle bin (c deleted) gets the server's own
 * reminder to purge it [recycle_bin] days later; one taken out of it loses
 * that reminder. In the transaction of the delete, merge or restore. */
int kehu_rules_customer_binned(kehu_rule_ctx *rc, const Kehu__Customer *c);
int kehu_rules_system_fired(kehu_rule_ctx *rc, const Kehu__Reminder *r);
/* The owner of a customer changed (old -> c): the old owner's pending and
 * due reminders about it move to the new owner, reminders of anyone who
 * may no longer read it go, and the new team's managers get the dormancy
 * reminder (README "Reminders"). In the reassigning transaction. */
int kehu_rules_customer_reassigned(kehu_rule_ctx *rc, const Kehu__Customer *old,
                                   const Kehu__Customer *c);

#endif
