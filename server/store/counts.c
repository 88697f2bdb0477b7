/* Counts of live customers by the value of a field and by owner, kept in
 * the writing transaction (docs/storage.md#report-counts): a report of
 * customers by stage, industry, region, size, source or owner sums the
 * counts of the owners the caller may see instead of reading every
 * customer. Key: field code (1 byte) | value | 0x00 | owner; value: the
 * count (u64, native order). A count that falls to zero is removed. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const struct {
  uint8_t code;
  const char *field;
} fields[] = {{1, "stage"}, {2, "industry"}, {3, "region"}, {4, "size"}, {5, "source"}, {6, "owner"}};
#define NFIELDS (sizeof fields / sizeof *fields)

static const char *value_of(const Kehu__Customer *c, uint8_t code)
{
  switch (code) {
  case 1: return c->stage;
  case 2: return c->industry;
  case 3: return c->region;
  case 4: return c->size;
  case 5: return c->source;
  default: return c->owner;
  }
}

static int live(const Kehu__Customer *c)
{
  return c && !(c->has_deleted && c->deleted);
}

static const char *text(const char *s)
{
  return s ? s : "";
}

/* The key of (code, value, owner); 0 when it would not fit (not counted). */
static size_t count_key(unsigned char out[511], uint8_t code, const char *value, const char *owner)
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

/* ---- a batch's counts, gathered in memory ---- */
#define BATCH_SLOTS 4096   /* open addressing; at 3/4 full, counts go straight in */

typedef struct {
  size_t len;
  int64_t delta;
  unsigned char key[];
} batch_entry;

struct kehu_counts_batch {
  size_t used;
  batch_entry *slot[BATCH_SLOTS];
};

static size_t hash_key(const unsigned char *k, size_t n)
{
  size_t h = 1469598103934665603u;   /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ k[i]) * 1099511628211u;
  return h;
}

/* 1 when the batch took the change, 0 when it is to be written now. */
static int batch_add(struct kehu_counts_batch *b, const unsigned char *k, size_t n, int delta)
{
  size_t i = hash_key(k, n) % BATCH_SLOTS;
  for (; b->slot[i]; i = (i + 1) % BATCH_SLOTS)
    if (b->slot[i]->len == n && memcmp(b->slot[i]->key, k, n) == 0) {
      b->slot[i]->delta += delta;
      return 1;
    }
  if (b->used >= BATCH_SLOTS * 3 / 4)
    return 0;
  batch_entry *e = malloc(sizeof *e + n);
  if (!e)
    return 0;
  e->len = n;
  e->delta = delta;
  memcpy(e->key, k, n);
  b->slot[i] = e;
  b->used++;
  return 1;
}

/* count + delta at key k, written; never below zero (verify reports a
 * mismatch), and a count of zero removed. */
static int apply_delta(kehu_txn *t, const unsigned char *kb, size_t n, int64_t delta)
{
  MDB_val k = {n, (void *)kb}, v;
  uint64_t count = 0;
  int rc = mdb_get(t->txn, t->st->cust_counts, &k, &v);
  if (rc == 0 && v.mv_size == sizeof count)
    memcpy(&count, v.mv_data, sizeof count);
  else if (rc != 0 && rc != MDB_NOTFOUND)
    return kehu_store_status(rc);
  if (delta == 0)
    return KEHU_OK;
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

int kehu_store_counts_batch_begin(kehu_txn *t)
{
  if (t->counts)
    return KEHU_OK;
  t->counts = calloc(1, sizeof *t->counts);
  return t->counts ? KEHU_OK : KEHU_EXHAUSTED;
}

int kehu_store_counts_batch_end(kehu_txn *t, int apply)
{
  struct kehu_counts_batch *b = t->counts;
  t->counts = NULL;
  if (!b)
    return KEHU_OK;
  int rc = KEHU_OK;
  for (size_t i = 0; i < BATCH_SLOTS; i++) {
    batch_entry *e = b->slot[i];
    if (!e)
      continue;
    if (apply && rc == KEHU_OK)
      rc = apply_delta(t, e->key, e->len, e->delta);
    free(e);
  }
  free(b);
  return rc;
}

static int bump(kehu_txn *t, uint8_t code, const char *value, const char *owner, int delta)
{
  unsigned char kb[511];
  size_t n = count_key(kb, code, text(value), text(owner));
  if (!n)
    return KEHU_OK;
  if (t->counts && batch_add(t->counts, kb, n, delta))
    return KEHU_OK;
  return apply_delta(t, kb, n, delta);
}

int kehu_store_counts_move(kehu_txn *t, const Kehu__Customer *old, const Kehu__Customer *c)
{
  int was = live(old), is = live(c);
  int rc = KEHU_OK;
  for (size_t i = 0; i < NFIELDS && rc == KEHU_OK; i++) {
    uint8_t code = fields[i].code;
    if (was && is && strcmp(text(value_of(old, code)), text(value_of(c, code))) == 0 &&
        strcmp(text(old->owner), text(c->owner)) == 0)
      continue;
    if (was)
      rc = bump(t, code, value_of(old, code), old->owner, -1);
    if (rc == KEHU_OK && is)
      rc = bump(t, code, value_of(c, code), c->owner, +1);
  }
  return rc;
}

int kehu_store_counts_each(kehu_txn *t, const char *field,
                           int (*each)(const char *value, const char *owner, uint64_t n,
                                       void *arg),
                           void *arg)
{
  uint8_t code = 0;
  for (size_t i = 0; i < NFIELDS; i++)
    if (strcmp(fields[i].field, field) == 0)
      code = fields[i].code;
  if (!code)
    return KEHU_INVALID;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->cust_counts, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k = {1, &code}, v;
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
    memcpy(owner, nul + 1, ol);
    owner[ol] = '\0';
    status = each(value, owner, n, arg);
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}

int kehu_store_counts_check(kehu_txn *t, kehu_findings *f)
{
  /* each live customer's keys are there, and each field's counts add up
   * to the live customers: together, every count is right */
  MDB_dbi dbi = t->st->cust_counts;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->customers, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  uint64_t live_customers = 0, counted = 0;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    Kehu__Customer *c = kehu__customer__unpack(NULL, v.mv_size, v.mv_data);
    if (live(c)) {
      live_customers++;
      for (size_t i = 0; i < NFIELDS; i++) {
        unsigned char kb[511];
        size_t n = count_key(kb, fields[i].code, text(value_of(c, fields[i].code)), text(c->owner));
        MDB_val ck = {n, kb}, cv;
        if (n && mdb_get(t->txn, dbi, &ck, &cv) != 0)
          kehu_finding(f, "customer %s is not counted by %s", c->id ? c->id : "?",
                       fields[i].field);
      }
    }
    if (c)
      kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
  /* every field's counts add up to the live customers */
  for (size_t i = 0; i < NFIELDS; i++) {
    uint8_t code = fields[i].code;
    counted = 0;
    if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0)
      return kehu_store_status(rc);
    k = (MDB_val){1, &code};
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      uint64_t n = 0;
      if (k.mv_size < 1 || ((const uint8_t *)k.mv_data)[0] != code)
        break;
      if (v.mv_size == sizeof n)
        memcpy(&n, v.mv_data, sizeof n);
      counted += n;
    }
    mdb_cursor_close(cur);
    if (counted != live_customers)
      kehu_finding(f, "report counts by %s add up to %llu, but there are %llu live customers",
                   fields[i].field, (unsigned long long)counted,
                   (unsigned long long)live_customers);
  }
  return KEHU_OK;
}
