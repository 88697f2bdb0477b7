/* Value tiers kept current (docs/architecture.md#value-tiers): evaluated in
 * the write transaction of every order or rated ticket of a customer, and
 * again when time alone could move the tier, through one server reminder
 * per customer in the due index (kind tier_eval), never by a daily scan. */
#ifndef KEHU_TIERS_H
#define KEHU_TIERS_H

#include "rules.h"
#include "tier_rule.h"

#define KEHU_TIER_EVAL "tier_eval"
/* The newest tier changes a customer keeps; older ones go. */
#define KEHU_TIER_HISTORY_MAX 100

/* The thresholds of [tiers] in kehud.conf. */
void kehu_tiers_rules(const kehu_config *cfg, kehu_tier_rules *out);
/* The customer's tier as of rc->now, from its orders and tickets in rc's
 * transaction: stored when it changed (with a TierChange in its history
 * and, on becoming churn_risk, a reminder to the people it concerns), and
 * the server's re-evaluation reminder moved to the next time that could
 * change it. A customer that does not exist is left alone. */
int kehu_tiers_update(kehu_rule_ctx *rc, uint64_t cust);
/* The figures of the customer's tier as of now, for `customer get`:
 * amounts only when amounts is set. reason must outlive out. */
int kehu_tiers_basis(kehu_txn *t, uint64_t cust, const kehu_config *cfg, int64_t now,
                     int amounts, Kehu__TierBasis *out, char reason[160]);
/* A tier_eval reminder fell due (kehu_rules_system_fired). */
int kehu_tiers_fired(kehu_rule_ctx *rc, const Kehu__Reminder *r);

#endif
