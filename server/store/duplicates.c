/* Duplicate queries (README "Duplicates"): customers sharing a normalised
 * name or a contact's mobile, read from the two indexes the customer and
 * contact tables keep. */
#include <string.h>

#include "store_internal.h"

static int for_each_dup(kehu_txn *t, MDB_dbi dbi, const void *k, size_t klen,
                        void (*each)(uint64_t key, void *arg), void *arg)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, dbi, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val key = {klen, (void *)k}, v;
  for (rc = mdb_cursor_get(cur, &key, &v, MDB_SET_KEY); rc == 0;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT_DUP))
    each(kehu_key_get_u64(v.mv_data), arg);
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_customers_by_phone(kehu_txn *t, const char *phone,
                                  void (*each)(uint64_t key, void *arg), void *arg)
{
  unsigned char h[32];
  kehu_index_hmac(t->st, phone, h);
  return for_each_dup(t, t->st->contact_phone, h, 32, each, arg);
}

int kehu_store_customers_by_name(kehu_txn *t, const char *name,
                                 void (*each)(uint64_t key, void *arg), void *arg)
{
  char norm[512];
  if (kehu_customer_name_key(name, norm, sizeof norm) != 0)
    return KEHU_OK;
  return for_each_dup(t, t->st->cust_name, norm, strlen(norm), each, arg);
}

/* Walks one dupsort index and reports every key held by 2+ customers. */
static int groups_of(kehu_txn *t, MDB_dbi dbi, const char *reason,
                     int (*each)(const uint64_t *keys, size_t n, const char *reason, void *arg),
                     void *arg)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, dbi, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val key, v;
  uint64_t keys[64];
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT_NODUP)) {
    size_t count;
    if (mdb_cursor_count(cur, &count) != 0 || count < 2)
      continue;
    size_t n = 0;
    MDB_val k2 = key, v2;
    /* values start with the customer key (phones add the contact after it):
     * sorted, so one customer's entries are adjacent */
    for (int r = mdb_cursor_get(cur, &k2, &v2, MDB_FIRST_DUP); r == 0 && n < 64;
         r = mdb_cursor_get(cur, &k2, &v2, MDB_NEXT_DUP)) {
      uint64_t cust = kehu_key_get_u64(v2.mv_data);
      if (n == 0 || keys[n - 1] != cust)
        keys[n++] = cust;
    }
    if (n >= 2)
      status = each(keys, n, reason, arg);
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_duplicate_groups(kehu_txn *t,
                                int (*each)(const uint64_t *keys, size_t n, const char *reason,
                                            void *arg),
                                void *arg)
{
  int rc = groups_of(t, t->st->cust_name, "name", each, arg);
  return rc == KEHU_OK ? groups_of(t, t->st->contact_phone, "mobile", each, arg) : rc;
}
