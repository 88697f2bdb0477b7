/* The dormancy index (docs/storage.md#dormancy): one entry per customer,
 * keyed by the time its dormancy period started (its last contact, else
 * its creation) and its key, both 8-byte big-endian, with no value. A
 * derived table, written with the customer in the same transaction.
 *
 * A customer falls dormant when its entry is older than dormant_days. The
 * sweep (core/rules.c) walks the entries in time order from where it last
 * stopped, a meta marker holding that entry's key and the dormant_days it
 * was taken with, and raises the dormant reminder of each entry old
 * enough. So a write stores one index entry per customer instead of a
 * reminder (and its four index entries) that would wait 180 days, and a
 * follow-up moves one entry. */
#include <string.h>

#include "store_internal.h"

#define MARKER "dormant:swept"

int64_t kehu_dormant_base(const Kehu__Customer *c)
{
  return c->has_last_contact_at && c->last_contact_at ? c->last_contact_at : c->created_at;
}

static void entry_key(unsigned char out[16], int64_t base, uint64_t cust)
{
  kehu_key_put_u64(out, (uint64_t)(base < 0 ? 0 : base));
  kehu_key_put_u64(out + 8, cust);
}

static int put_entry(kehu_txn *t, int64_t base, uint64_t cust)
{
  unsigned char k[16];
  entry_key(k, base, cust);
  MDB_val key = {16, k}, val = {0, NULL};
  return kehu_store_status(mdb_put(t->txn, t->st->cust_dormant, &key, &val, 0));
}

static int del_entry(kehu_txn *t, int64_t base, uint64_t cust)
{
  unsigned char k[16];
  entry_key(k, base, cust);
  MDB_val key = {16, k};
  int rc = mdb_del(t->txn, t->st->cust_dormant, &key, NULL);
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_dormant_move(kehu_txn *t, uint64_t cust, const Kehu__Customer *old,
                            const Kehu__Customer *c)
{
  int64_t before = old ? kehu_dormant_base(old) : 0, after = c ? kehu_dormant_base(c) : 0;
  if (old && c && before == after)
    return KEHU_OK;
  int rc = old ? del_entry(t, before, cust) : KEHU_OK;
  return rc == KEHU_OK && c ? put_entry(t, after, cust) : rc;
}

/* The marker: 4 bytes of dormant_days, then the last entry's key. Absent,
 * or taken with other dormant_days: the sweep starts from the first. */
static int marker(kehu_txn *t, unsigned days, unsigned char after[16])
{
  MDB_val k = {sizeof MARKER - 1, (void *)MARKER}, v;
  if (mdb_get(t->txn, t->st->meta, &k, &v) != 0 || v.mv_size != 20)
    return 0;
  const unsigned char *p = v.mv_data;
  unsigned d = (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
  if (d != days)
    return 0;
  memcpy(after, p + 4, 16);
  return 1;
}

/* Positions cur on the first entry after the marker. */
static int first_unswept(kehu_txn *t, MDB_cursor *cur, unsigned days, MDB_val *k)
{
  unsigned char after[16];
  MDB_val v;
  if (!marker(t, days, after))
    return mdb_cursor_get(cur, k, &v, MDB_FIRST);
  k->mv_size = 16;
  k->mv_data = after;
  int rc = mdb_cursor_get(cur, k, &v, MDB_SET_RANGE);
  if (rc == 0 && k->mv_size == 16 && memcmp(k->mv_data, after, 16) == 0)
    rc = mdb_cursor_get(cur, k, &v, MDB_NEXT);
  return rc;
}

int64_t kehu_store_dormant_next(kehu_txn *t, unsigned days)
{
  MDB_cursor *cur;
  if (mdb_cursor_open(t->txn, t->st->cust_dormant, &cur) != 0)
    return 0;
  MDB_val k;
  int64_t base = 0;
  if (first_unswept(t, cur, days, &k) == 0 && k.mv_size == 16)
    base = (int64_t)kehu_key_get_u64(k.mv_data);
  mdb_cursor_close(cur);
  return base;
}

int kehu_store_dormant_sweep(kehu_txn *t, unsigned days, int64_t upto, size_t max,
                             int (*each)(kehu_txn *t, uint64_t cust, int64_t base, void *arg),
                             void *arg, int *more)
{
  *more = 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->cust_dormant, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  unsigned char last[16];
  size_t n = 0;
  int status = KEHU_OK;
  for (rc = first_unswept(t, cur, days, &k); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 16)
      continue;
    int64_t base = (int64_t)kehu_key_get_u64(k.mv_data);
    if (base > upto)
      break;
    if (n == max) {
      *more = 1;
      break;
    }
    memcpy(last, k.mv_data, 16);   /* each() may write: the page may move */
    status = each(t, kehu_key_get_u64(last + 8), base, arg);
    n++;
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  if (rc != 0 && rc != MDB_NOTFOUND)
    return kehu_store_status(rc);
  if (!n)
    return KEHU_OK;
  unsigned char m[20] = {(unsigned char)(days >> 24), (unsigned char)(days >> 16),
                         (unsigned char)(days >> 8), (unsigned char)days};
  memcpy(m + 4, last, 16);
  return kehu_store_meta_put(t, MARKER, m, sizeof m);
}

int kehu_store_dormant_has(kehu_txn *t, uint64_t cust, int64_t base)
{
  unsigned char k[16];
  entry_key(k, base, cust);
  MDB_val key = {16, k}, val;
  return mdb_get(t->txn, t->st->cust_dormant, &key, &val) == 0;
}

/* Each entry names a customer whose dormancy starts at the entry's time
 * (verify also looks up each customer's entry: kehu_store_dormant_has). */
int kehu_store_dormant_check(kehu_txn *t, kehu_findings *f)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->cust_dormant, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  char id[24];
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 16) {
      kehu_finding(f, "dormancy index: malformed entry\n");
      continue;
    }
    int64_t base = (int64_t)kehu_key_get_u64(k.mv_data);
    uint64_t cust = kehu_key_get_u64((const unsigned char *)k.mv_data + 8);
    kehu_customer_id_format(cust, id);
    Kehu__Customer *c;
    if (kehu_store_customer_get(t, cust, &c) != KEHU_OK) {
      kehu_finding(f, "dormancy index -> %s: no such customer\n", id);
      continue;
    }
    if (kehu_dormant_base(c) != base)
      kehu_finding(f, "dormancy index -> %s: at %lld, the customer's last contact is %lld\n", id,
                   (long long)base, (long long)kehu_dormant_base(c));
    kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_dormant_between(kehu_txn *t, int64_t from, int64_t until,
                               int (*each)(uint64_t cust, int64_t base, void *arg), void *arg)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->cust_dormant, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char start[16];
  entry_key(start, from, 0);
  MDB_val k = {16, start}, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 16)
      continue;
    int64_t base = (int64_t)kehu_key_get_u64(k.mv_data);
    if (base >= until)
      break;
    status = each(kehu_key_get_u64((const unsigned char *)k.mv_data + 8), base, arg);
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}
