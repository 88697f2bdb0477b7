/* customer dupes | merge KEEP OTHER (docs/architecture.md#duplicates). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "audit.h"
#include "handlers.h"
#include "reflect.h"
#include "rules.h"
#include "tiers.h"

#define MAX_PAIRS 500

typedef struct {
  kehu_txn *t;
  const kehu_caller *who;
  size_t max;
  Kehu__DuplicatePair *pairs;
  Kehu__DuplicatePair **ptrs;
  size_t n;
} dupes_state;

/* Live customers of a group that the caller may see. */
static size_t visible_group(dupes_state *s, const uint64_t *keys, size_t n, Kehu__Customer **out)
{
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    Kehu__Customer *c;
    if (kehu_store_customer_get(s->t, keys[i], &c) != KEHU_OK)
      continue;
    if ((c->has_deleted && c->deleted) || !kehu_access_customer_visible(s->t, s->who, c)) {
      kehu__customer__free_unpacked(c, NULL);
      continue;
    }
    out[m++] = c;
  }
  return m;
}

static int add_group(const uint64_t *keys, size_t n, const char *reason, void *arg)
{
  dupes_state *s = arg;
  Kehu__Customer *group[64];
  size_t m = visible_group(s, keys, n, group);
  /* The oldest of the group is paired with each of the others; every pair
   * owns its two records. */
  for (size_t i = 1; i < m && s->n < s->max; i++) {
    Kehu__DuplicatePair *p = &s->pairs[s->n];
    kehu__duplicate_pair__init(p);
    p->a = (Kehu__Customer *)kehu_msg_copy(&group[0]->base);
    if (!p->a)
      break;
    p->b = group[i];
    group[i] = NULL;
    p->reason = (char *)reason;
    s->ptrs[s->n++] = p;
  }
  for (size_t i = 0; i < m; i++)
    if (group[i])
      kehu__customer__free_unpacked(group[i], NULL);
  return s->n < s->max ? KEHU_OK : KEHU_EXHAUSTED;
}

void kehu_handle_customer_dupes(kehu_call *call)
{
  const Kehu__CustomerDupes *q = call->req->customer_dupes;
  dupes_state s = {.who = &call->caller, .max = MAX_PAIRS};
  if (q->has_limit && (q->limit < 1 || q->limit > MAX_PAIRS)) {
    kehu_reply_status(call, KEHU_INVALID, "limit: %u is outside 1..%d", q->limit, MAX_PAIRS);
    return;
  }
  if (q->has_limit)
    s.max = q->limit;
  s.pairs = calloc(MAX_PAIRS, sizeof *s.pairs);
  s.ptrs = calloc(MAX_PAIRS, sizeof *s.ptrs);
  kehu_txn t;
  if (!s.pairs || !s.ptrs || kehu_store_read_begin(call->srv->store, &t) != KEHU_OK) {
    free(s.pairs);
    free(s.ptrs);
    kehu_reply_status(call, KEHU_INTERNAL, "storage unavailable");
    return;
  }
  s.t = &t;
  int rc = kehu_store_duplicate_groups(&t, add_group, &s);
  kehu_store_read_end(&t);
  if (rc != KEHU_OK && rc != KEHU_EXHAUSTED) {
    kehu_reply_status(call, rc, "cannot look for duplicates: %s", kehu_status_name(rc));
  } else {
    Kehu__DuplicateList list = KEHU__DUPLICATE_LIST__INIT;
    list.pairs = s.ptrs;
    list.n_pairs = s.n;
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_DUPLICATES;
    r.duplicates = &list;
    kehu_reply(call, &r);
  }
  for (size_t i = 0; i < s.n; i++) {
    kehu__customer__free_unpacked(s.pairs[i].a, NULL);
    kehu__customer__free_unpacked(s.pairs[i].b, NULL);
  }
  free(s.pairs);
  free(s.ptrs);
}

/* ---- merge ---- */

typedef struct {
  kehu_caller caller;
  int64_t now;
  const kehu_config *cfg;
  uint64_t keep, other;
  unsigned moved;             /* child records and reminders */
  unsigned reminders_moved;
  kehu_error err;
  uint8_t *packed;
  size_t packed_len;
} merge_write;

static int load_live(kehu_txn *t, merge_write *w, uint64_t key, Kehu__Customer **c)
{
  char id[24];
  kehu_customer_id_format(key, id);
  int rc = kehu_store_customer_get(t, key, c);
  if (rc == KEHU_NOT_FOUND || (rc == KEHU_OK && (*c)->has_deleted && (*c)->deleted))
    return kehu_fail(&w->err, KEHU_NOT_FOUND, "id", "customer %s not found", id);
  if (rc == KEHU_OK)
    rc = kehu_access_customer(t, &w->caller, *c, 1, &w->err);
  return rc;
}

/* One transaction: every record of OTHER moves to KEEP, OTHER goes to the
 * recycle bin marked as merged, KEEP keeps the later last contact. */
static int apply_merge(kehu_txn *t, void *arg)
{
  merge_write *w = arg;
  Kehu__Customer *keep = NULL, *other = NULL;
  w->moved = w->reminders_moved = 0;   /* an apply may run twice (writer.c) */
  int rc = load_live(t, w, w->keep, &keep);
  if (rc == KEHU_OK)
    rc = load_live(t, w, w->other, &other);
  if (rc == KEHU_OK)
    rc = kehu_store_children_move(t, w->other, w->keep, keep->id, &w->moved);
  kehu_rule_ctx rules = {t, w->now, w->cfg};
  /* The reminders about OTHER move with it and count as moved: before,
   * only the child records were counted ("2 records moved" for a contact
   * and a follow-up whose reminder moved too). */
  if (rc == KEHU_OK)
    rc = kehu_rules_customer_moved(&rules, w->other, keep->id, &w->reminders_moved);
  if (rc == KEHU_OK)
    w->moved += w->reminders_moved;
  if (rc == KEHU_OK) {
    Kehu__Customer binned = *other;
    binned.has_deleted = binned.has_deleted_at = 1;
    binned.deleted = 1;
    binned.deleted_at = w->now;
    binned.merged_into = keep->id;
    binned.version = other->version + 1;
    binned.has_updated_at = 1;
    binned.updated_at = w->now;
    rc = kehu_store_customer_put(t, w->other, other, &binned);
    if (rc == KEHU_OK)
      rc = kehu_rules_customer_binned(&rules, &binned);
  }
  if (rc == KEHU_OK) {
    Kehu__Customer kept = *keep;
    if (other->has_last_contact_at &&
        (!keep->has_last_contact_at || other->last_contact_at > keep->last_contact_at)) {
      kept.has_last_contact_at = 1;
      kept.last_contact_at = other->last_contact_at;
    }
    kept.version = keep->version + 1;
    kept.has_updated_at = 1;
    kept.updated_at = w->now;
    rc = kehu_store_customer_put(t, w->keep, keep, &kept);
    /* OTHER's orders and tickets count for KEEP now */
    if (rc == KEHU_OK)
      rc = kehu_tiers_update(&rules, w->keep);
    Kehu__Customer *tiered = NULL;
    if (rc == KEHU_OK && (rc = kehu_store_customer_get(t, w->keep, &tiered)) == KEHU_OK) {
      kept.tier = tiered->tier;
      kept.n_tier_history = tiered->n_tier_history;
      kept.tier_history = tiered->tier_history;
    }
    char details[128];
    snprintf(details, sizeof details, "%s merged into %s; %u records moved", other->id, keep->id,
             w->moved);
    if (rc == KEHU_OK)
      rc = kehu_audit(t, &w->caller, w->now, "merge", "customer", keep->id, details);
    if (rc == KEHU_OK) {
      w->packed_len = kehu__customer__get_packed_size(&kept);
      free(w->packed);
      w->packed = malloc(w->packed_len ? w->packed_len : 1);
      if (!w->packed)
        rc = KEHU_EXHAUSTED;
      else
        kehu__customer__pack(&kept, w->packed);
    }
    if (tiered)
      kehu__customer__free_unpacked(tiered, NULL);
  }
  if (keep)
    kehu__customer__free_unpacked(keep, NULL);
  if (other)
    kehu__customer__free_unpacked(other, NULL);
  return rc;
}

static void merged(kehu_call *call, int status, void *arg)
{
  merge_write *w = arg;
  Kehu__Customer *kept = status == KEHU_OK ? kehu__customer__unpack(NULL, w->packed_len, w->packed)
                                           : NULL;
  if (kept) {
    Kehu__MergeResult mr = KEHU__MERGE_RESULT__INIT;
    mr.kept = kept;
    mr.moved = w->moved;
    mr.has_reminders_moved = 1;
    mr.reminders_moved = w->reminders_moved;
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_MERGE;
    r.merge = &mr;
    kehu_reply(call, &r);
    kehu__customer__free_unpacked(kept, NULL);
  } else if (w->err.status == status && status != KEHU_OK) {
    kehu_reply_error(call, &w->err);
  } else {
    kehu_reply_status(call, status ? status : KEHU_INTERNAL, "the merge was not stored: %s",
                      kehu_status_name(status));
  }
  free(w->packed);
  free(w);
}

void kehu_handle_customer_merge(kehu_call *call)
{
  const Kehu__CustomerMerge *m = call->req->customer_merge;
  uint64_t keep, other;
  if (kehu_customer_id_parse(m->keep_id, &keep) != 0 ||
      kehu_customer_id_parse(m->other_id, &other) != 0) {
    kehu_reply_status(call, KEHU_INVALID, "id: '%s' or '%s' is not a customer id", m->keep_id,
                      m->other_id);
    return;
  }
  if (keep == other) {
    kehu_reply_status(call, KEHU_INVALID, "id: a customer cannot be merged into itself");
    return;
  }
  merge_write *w = calloc(1, sizeof *w);
  if (!w) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return;
  }
  w->caller = call->caller;
  w->now = kehu_now(call->srv);
  w->cfg = &call->srv->cfg;
  w->keep = keep;
  w->other = other;
  kehu_submit_write(call, apply_merge, merged, w);
}
