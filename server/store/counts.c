/* The report counts (docs/storage.md#report-counts), kept in the writing
 * transaction: a report sums the counts of the owners the caller may see
 * instead of reading every customer. Key: code (1 byte) | value | 0x00 |
 * owner; value: the count (u64, native order). A count that falls to zero
 * is removed.
 *
 * Each live customer contributes a set of keys (contributions below, and
 * counts_records.c for its orders and tickets); a write moves the counts
 * by the difference between the old record's set and the new one's, so
 * whatever a report reads was written with the record. The churn list
 * (cust_churn: owner | 0x00 | customer key) is kept here too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define DAY 86400

static const struct {
  uint8_t code;
  const char *name;
} codes[] = {
  {KEHU_COUNT_STAGE, "stage"},           {KEHU_COUNT_INDUSTRY, "industry"},
  {KEHU_COUNT_REGION, "region"},         {KEHU_COUNT_SIZE, "size"},
  {KEHU_COUNT_SOURCE, "source"},         {KEHU_COUNT_OWNER, "owner"},
  {KEHU_COUNT_TIER, "tier"},             {KEHU_COUNT_FUNNEL, "funnel"},
  {KEHU_COUNT_STAGE_CHANGE, "stage_change"}, {KEHU_COUNT_TIER_CHANGE, "tier_change"},
  {KEHU_COUNT_LOST, "lost"},             {KEHU_COUNT_DORMANT_DAY, "dormant_day"},
  {KEHU_COUNT_FIRST_ORDER, "first_order"}, {KEHU_COUNT_SECOND_ORDER, "second_order"},
  {KEHU_COUNT_BUYERS, "buyers"},         {KEHU_COUNT_TICKETS, "tickets"},
  {KEHU_COUNT_TICKET_DUE, "ticket_due"},
};
#define NCODES (sizeof codes / sizeof *codes)

const char *kehu_counts_code_name(uint8_t code)
{
  for (size_t i = 0; i < NCODES; i++)
    if (codes[i].code == code)
      return codes[i].name;
  return "?";
}

static uint8_t code_by_name(const char *name)
{
  for (size_t i = 0; i < NCODES; i++)
    if (strcmp(codes[i].name, name) == 0)
      return codes[i].code;
  return 0;
}

static const char *text(const char *s)
{
  return s ? s : "";
}

static int live(const Kehu__Customer *c)
{
  return c && !(c->has_deleted && c->deleted);
}

void kehu_store_counts_time(char out[17], int64_t at)
{
  static const char hex[] = "0123456789abcdef";
  uint64_t u = (uint64_t)at ^ (1ull << 63);   /* signed order as text order */
  for (int i = 15; i >= 0; i--, u >>= 4)
    out[i] = hex[u & 15];
  out[16] = '\0';
}

int64_t kehu_store_counts_time_parse(const char *value)
{
  uint64_t u = 0;
  for (int i = 0; i < 16 && value[i]; i++) {
    char ch = value[i];
    u = u << 4 | (uint64_t)(ch >= 'a' ? ch - 'a' + 10 : ch - '0');
  }
  return (int64_t)(u ^ (1ull << 63));
}

/* The key of (code, value, owner); 0 when it would not fit (not counted). */
size_t kehu_counts_key(unsigned char out[511], uint8_t code, const char *value, const char *owner)
{
  size_t vl = strlen(value), ol = strlen(owner);
  if (2 + vl + ol > 511)
    return 0;
  out[0] = code;
  memcpy(out + 1, value, vl);
  out[1 + vl] = 0;
  memcpy(out + 2 + vl, owner, ol);
  return 2 + vl + ol;
}

/* ---- tallies: keys and deltas gathered in memory ---- */

typedef struct {
  size_t len;
  int64_t delta;
  unsigned char key[];
} tally_entry;

struct kehu_tally {
  size_t used, cap, limit;   /* limit: 0 none; else at most this many keys */
  tally_entry **slot;
};

static size_t hash_key(const unsigned char *k, size_t n)
{
  size_t h = 1469598103934665603u;   /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ k[i]) * 1099511628211u;
  return h;
}

kehu_tally *kehu_tally_new(size_t limit)
{
  kehu_tally *tl = calloc(1, sizeof *tl);
  if (!tl)
    return NULL;
  tl->cap = 64;
  tl->limit = limit;
  if (!(tl->slot = calloc(tl->cap, sizeof *tl->slot))) {
    free(tl);
    return NULL;
  }
  return tl;
}

void kehu_tally_free(kehu_tally *tl)
{
  if (!tl)
    return;
  for (size_t i = 0; i < tl->cap; i++)
    free(tl->slot[i]);
  free(tl->slot);
  free(tl);
}

static int grow(kehu_tally *tl)
{
  size_t cap = tl->cap * 2;
  tally_entry **slot = calloc(cap, sizeof *slot);
  if (!slot)
    return -1;
  for (size_t i = 0; i < tl->cap; i++)
    if (tl->slot[i]) {
      size_t j = hash_key(tl->slot[i]->key, tl->slot[i]->len) & (cap - 1);
      while (slot[j])
        j = (j + 1) & (cap - 1);
      slot[j] = tl->slot[i];
    }
  free(tl->slot);
  tl->slot = slot;
  tl->cap = cap;
  return 0;
}

/* 1 when the tally took the change, 0 when it is full (limit) or out of memory. */
int kehu_tally_add(kehu_tally *tl, const unsigned char *k, size_t n, int64_t delta)
{
  size_t i = hash_key(k, n) & (tl->cap - 1);
  for (; tl->slot[i]; i = (i + 1) & (tl->cap - 1))
    if (tl->slot[i]->len == n && memcmp(tl->slot[i]->key, k, n) == 0) {
      tl->slot[i]->delta += delta;
      return 1;
    }
  if (tl->limit && tl->used >= tl->limit)
    return 0;
  if ((tl->used + 1) * 2 > tl->cap) {
    if (grow(tl) != 0)
      return 0;
    for (i = hash_key(k, n) & (tl->cap - 1); tl->slot[i]; i = (i + 1) & (tl->cap - 1)) {
    }
  }
  tally_entry *e = malloc(sizeof *e + n);
  if (!e)
    return 0;
  e->len = n;
  e->delta = delta;
  memcpy(e->key, k, n);
  tl->slot[i] = e;
  tl->used++;
  return 1;
}

int kehu_tally_emit(kehu_tally *tl, uint8_t code, const char *value, const char *owner,
                    int64_t delta)
{
  unsigned char kb[511];
  size_t n = kehu_counts_key(kb, code, text(value), text(owner));
  if (!n)
    return KEHU_OK;
  return kehu_tally_add(tl, kb, n, delta) ? KEHU_OK : KEHU_EXHAUSTED;
}

int kehu_tally_each(const kehu_tally *tl,
                    int (*each)(const unsigned char *k, size_t n, int64_t delta, void *arg),
                    void *arg)
{
  int rc = KEHU_OK;
  for (size_t i = 0; i < tl->cap && rc == KEHU_OK; i++)
    if (tl->slot[i])
      rc = each(tl->slot[i]->key, tl->slot[i]->len, tl->slot[i]->delta, arg);
  return rc;
}

int64_t kehu_tally_get(const kehu_tally *tl, const unsigned char *k, size_t n)
{
  size_t i = hash_key(k, n) & (tl->cap - 1);
  for (; tl->slot[i]; i = (i + 1) & (tl->cap - 1))
    if (tl->slot[i]->len == n && memcmp(tl->slot[i]->key, k, n) == 0)
      return tl->slot[i]->delta;
  return 0;
}

/* ---- writing counts ---- */

/* count + delta at key k, written; never below zero (verify reports a
 * mismatch), and a count of zero removed. */
static int apply_delta(kehu_txn *t, const unsigned char *kb, size_t n, int64_t delta)
{
  if (delta == 0)
    return KEHU_OK;
  MDB_val k = {n, (void *)kb}, v;
  uint64_t count = 0;
  int rc = mdb_get(t->txn, t->st->cust_counts, &k, &v);
  if (rc == 0 && v.mv_size == sizeof count)
    memcpy(&count, v.mv_data, sizeof count);
  else if (rc != 0 && rc != MDB_NOTFOUND)
    return kehu_store_status(rc);
  count = delta < 0 && (uint64_t)-delta > count ? 0 : count + (uint64_t)delta;
  if (count == 0) {
    rc = mdb_del(t->txn, t->st->cust_counts, &k, NULL);
    rc = rc == MDB_NOTFOUND ? 0 : rc;
  } else {
    v = (MDB_val){sizeof count, &count};
    rc = mdb_put(t->txn, t->st->cust_counts, &k, &v, 0);
  }
  return kehu_store_status(rc);
}

/* A batch's tally, written at its end; past BATCH_KEYS keys, changes go
 * straight in. */
#define BATCH_KEYS 3072

int kehu_store_counts_batch_begin(kehu_txn *t)
{
  if (t->counts)
    return KEHU_OK;
  t->counts = kehu_tally_new(BATCH_KEYS);
  return t->counts ? KEHU_OK : KEHU_EXHAUSTED;
}

static int apply_one(const unsigned char *k, size_t n, int64_t delta, void *arg)
{
  return apply_delta(arg, k, n, delta);
}

int kehu_store_counts_batch_end(kehu_txn *t, int apply)
{
  kehu_tally *b = t->counts;
  t->counts = NULL;
  if (!b)
    return KEHU_OK;
  int rc = apply ? kehu_tally_each(b, apply_one, t) : KEHU_OK;
  kehu_tally_free(b);
  return rc;
}

static int write_one(const unsigned char *k, size_t n, int64_t delta, void *arg)
{
  kehu_txn *t = arg;
  if (delta == 0 || (t->counts && kehu_tally_add(t->counts, k, n, delta)))
    return KEHU_OK;
  return apply_delta(t, k, n, delta);
}

int kehu_store_counts_apply(kehu_txn *t, const kehu_tally *tl)
{
  return kehu_tally_each(tl, write_one, t);
}

/* ---- what a customer contributes ---- */

static const char *const steps[] = {"potential", "intent", "closed"};

static int step_of(const char *stage)
{
  for (int i = 0; stage && i < 3; i++)
    if (strcmp(stage, steps[i]) == 0)
      return i;
  return -1;
}

static int change(kehu_tally *tl, uint8_t code, const char *from, const char *to,
                  const char *owner, int64_t d)
{
  char value[400];
  if (strlen(text(from)) + strlen(text(to)) + 2 > sizeof value)
    return KEHU_OK;   /* not counted; validation keeps stages and tiers short */
  snprintf(value, sizeof value, "%s%c%s", text(from), KEHU_COUNT_SEP, text(to));
  return kehu_tally_emit(tl, code, value, owner, d);
}

int kehu_counts_customer(kehu_tally *tl, const Kehu__Customer *c, int64_t d)
{
  if (!live(c))
    return KEHU_OK;
  const char *owner = c->owner;
  const char *fields[] = {c->stage, c->industry, c->region, c->size, c->source, c->owner};
  int rc = KEHU_OK;
  for (uint8_t i = 0; i < 6 && rc == KEHU_OK; i++)
    rc = kehu_tally_emit(tl, (uint8_t)(KEHU_COUNT_STAGE + i), fields[i], owner, d);
  if (rc == KEHU_OK)
    rc = kehu_tally_emit(tl, KEHU_COUNT_TIER, c->tier && *c->tier ? c->tier : "normal", owner, d);
  /* the funnel: the furthest step reached, now or in the history */
  int furthest = step_of(c->stage), lost = 0;
  for (size_t i = 0; i < c->n_stage_history && rc == KEHU_OK; i++) {
    const Kehu__StageChange *h = c->stage_history[i];
    int a = step_of(h->from), b = step_of(h->to);
    furthest = a > furthest ? a : furthest;
    furthest = b > furthest ? b : furthest;
    lost |= h->to && strcmp(h->to, "lost") == 0 && h->at >= 0;
    if (h->at >= 0)
      rc = change(tl, KEHU_COUNT_STAGE_CHANGE, h->from, h->to, owner, d);
  }
  if (rc == KEHU_OK)
    rc = kehu_tally_emit(tl, KEHU_COUNT_FUNNEL, furthest >= 0 ? steps[furthest] : "", owner, d);
  if (rc == KEHU_OK && lost)
    rc = kehu_tally_emit(tl, KEHU_COUNT_LOST, "lost", owner, d);
  for (size_t i = 0; i < c->n_tier_history && rc == KEHU_OK; i++)
    if (c->tier_history[i]->at >= 0)
      rc = change(tl, KEHU_COUNT_TIER_CHANGE, c->tier_history[i]->from, c->tier_history[i]->to,
                  owner, d);
  if (rc == KEHU_OK) {
    int64_t base = kehu_dormant_base(c);
    int64_t day = base - ((base % DAY) + DAY) % DAY;
    char value[17];
    kehu_store_counts_time(value, day);
    rc = kehu_tally_emit(tl, KEHU_COUNT_DORMANT_DAY, value, owner, d);
  }
  return rc;
}

/* ---- the churn list ---- */

static int is_churn(const Kehu__Customer *c)
{
  return live(c) && c->tier && strcmp(c->tier, "churn_risk") == 0;
}

static size_t churn_key(unsigned char out[511], const char *owner, uint64_t cust)
{
  size_t ol = strlen(owner);
  if (ol + 9 > 511)
    return 0;
  memcpy(out, owner, ol);
  out[ol] = 0;
  kehu_key_put_u64(out + ol + 1, cust);
  return ol + 9;
}

static int churn_move(kehu_txn *t, const Kehu__Customer *old, const Kehu__Customer *c)
{
  int was = is_churn(old), is = is_churn(c);
  if (!was && !is)
    return KEHU_OK;
  if (was && is && strcmp(text(old->owner), text(c->owner)) == 0)
    return KEHU_OK;
  uint64_t cust;
  if (kehu_customer_id_parse((c ? c : old)->id, &cust) != 0)
    return KEHU_OK;
  unsigned char kb[511];
  size_t n;
  int rc = 0;
  if (was && (n = churn_key(kb, text(old->owner), cust))) {
    MDB_val k = {n, kb};
    rc = mdb_del(t->txn, t->st->cust_churn, &k, NULL);
    rc = rc == MDB_NOTFOUND ? 0 : rc;
  }
  if (rc == 0 && is && (n = churn_key(kb, text(c->owner), cust))) {
    MDB_val k = {n, kb}, v = {0, NULL};
    rc = mdb_put(t->txn, t->st->cust_churn, &k, &v, 0);
  }
  return kehu_store_status(rc);
}

int kehu_store_churn_has(kehu_txn *t, const char *owner, uint64_t cust)
{
  unsigned char kb[511];
  size_t n = churn_key(kb, text(owner), cust);
  MDB_val k = {n, kb}, v;
  return n && mdb_get(t->txn, t->st->cust_churn, &k, &v) == 0;
}

int kehu_store_churn_first(kehu_txn *t, int (*visible)(const char *owner, void *arg), void *arg,
                           size_t max, uint64_t *keys, size_t *n)
{
  *n = 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->cust_churn, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  int status = KEHU_OK;
  size_t have = 0;   /* keys holds the `have` smallest so far, sorted */
  rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == 0 && status == KEHU_OK) {
    char owner[512];
    if (k.mv_size < 9 || k.mv_size - 9 >= sizeof owner) {
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
      continue;
    }
    size_t ol = k.mv_size - 9;
    memcpy(owner, k.mv_data, ol);
    owner[ol] = '\0';
    int vis = visible(owner, arg);
    if (vis < 0) {
      status = KEHU_EXHAUSTED;
      break;
    }
    /* this owner's keys, in order: at most max of them can matter */
    size_t taken = 0;
    for (; rc == 0 && k.mv_size == ol + 9 && memcmp(k.mv_data, owner, ol + 1) == 0 && vis &&
           taken < max;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), taken++) {
      uint64_t key = kehu_key_get_u64((const unsigned char *)k.mv_data + ol + 1);
      if (have == max && key >= keys[have - 1])
        break;
      size_t at = have < max ? have++ : have - 1;
      while (at > 0 && keys[at - 1] > key) {
        keys[at] = keys[at - 1];
        at--;
      }
      keys[at] = key;
    }
    /* on to the next owner */
    unsigned char next[512];
    memcpy(next, owner, ol);
    next[ol] = 1;
    k = (MDB_val){ol + 1, next};
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  }
  mdb_cursor_close(cur);
  *n = have;
  if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}

/* ---- a customer written ---- */

int kehu_store_counts_move(kehu_txn *t, const Kehu__Customer *old, const Kehu__Customer *c)
{
  int rc = churn_move(t, old, c);
  if (rc != KEHU_OK || (!live(old) && !live(c)))
    return rc;
  kehu_tally *tl = kehu_tally_new(0);
  if (!tl)
    return KEHU_EXHAUSTED;
  rc = kehu_counts_customer(tl, old, -1);
  if (rc == KEHU_OK)
    rc = kehu_counts_customer(tl, c, +1);
  if (rc == KEHU_OK)
    rc = kehu_store_counts_apply(t, tl);
  kehu_tally_free(tl);
  return rc;
}

/* ---- reading counts ---- */

int kehu_store_counts_range(kehu_txn *t, const char *name, const char *from, const char *until,
                            int (*each)(const char *value, const char *owner, uint64_t n,
                                        void *arg),
                            void *arg)
{
  uint8_t code = code_by_name(name);
  if (!code)
    return KEHU_INVALID;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->cust_counts, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char start[511];
  size_t sn = kehu_counts_key(start, code, text(from), "");
  MDB_val k = {sn ? sn - 1 : 1, start}, v;   /* code | from: before every owner */
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    const char *p = k.mv_data;
    if (k.mv_size < 2 || (uint8_t)p[0] != code)
      break;
    const char *nul = memchr(p + 1, 0, k.mv_size - 1);
    uint64_t n;
    if (!nul || v.mv_size != sizeof n)
      continue;
    memcpy(&n, v.mv_data, sizeof n);
    char value[512], owner[512];
    size_t vl = (size_t)(nul - (p + 1)), ol = k.mv_size - 2 - vl;
    memcpy(value, p + 1, vl);
    value[vl] = '\0';
    if (until && strcmp(value, until) >= 0)
      break;
    memcpy(owner, nul + 1, ol);
    owner[ol] = '\0';
    status = each(value, owner, n, arg);
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}

int kehu_store_counts_each(kehu_txn *t, const char *field,
                           int (*each)(const char *value, const char *owner, uint64_t n,
                                       void *arg),
                           void *arg)
{
  return kehu_store_counts_range(t, field, NULL, NULL, each, arg);
}
