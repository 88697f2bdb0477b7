/* Reminders and their indexes: by due time (what the scheduler's one timer
 * waits for), by user (lists and redelivery), by customer (merge, purge),
 * by rule source (one reminder per rule, record and recipient). */
#include <string.h>

#include "store_internal.h"

static void due_key(unsigned char out[16], int64_t due, uint64_t seq)
{
  kehu_key_put_u64(out, (uint64_t)due ^ 0x8000000000000000ull);   /* sorts signed times */
  kehu_key_put_u64(out + 8, seq);
}

static int64_t due_of(const unsigned char *k)
{
  return (int64_t)(kehu_key_get_u64(k) ^ 0x8000000000000000ull);
}

static size_t user_key(unsigned char *out, const char *user, uint64_t seq)
{
  size_t n = strlen(user);
  if (n > 128)
    n = 128;
  memcpy(out, user, n);
  out[n] = 0;
  kehu_key_put_u64(out + n + 1, seq);
  return n + 9;
}

static int armed_at(const Kehu__Reminder *r, int64_t *at)
{
  if (!r || !r->has_armed || !r->armed)
    return 0;
  *at = r->has_snoozed_until && r->state && strcmp(r->state, "snoozed") == 0 ? r->snoozed_until
                                                                             : r->due_at;
  return 1;
}

static int put_empty(kehu_txn *t, MDB_dbi dbi, const void *k, size_t n)
{
  MDB_val key = {n, (void *)k}, v = {0, ""};
  return kehu_store_status(mdb_put(t->txn, dbi, &key, &v, 0));
}

static int del_key(kehu_txn *t, MDB_dbi dbi, const void *k, size_t n)
{
  MDB_val key = {n, (void *)k};
  int rc = mdb_del(t->txn, dbi, &key, NULL);
  if (rc == 0)
    return kehu_change_note(t, dbi, k, n);   /* the reminders table is logged */
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

static int customer_key_of(const Kehu__Reminder *r, uint64_t *cust)
{
  return r->customer_id && kehu_customer_id_parse(r->customer_id, cust) == 0;
}

/* Adds (add = 1) or removes the index entries of r. */
static int index_reminder(kehu_txn *t, uint64_t seq, const Kehu__Reminder *r, int add)
{
  kehu_store *st = t->st;
  int (*op)(kehu_txn *, MDB_dbi, const void *, size_t) = add ? put_empty : del_key;
  unsigned char k[160];
  int64_t at;
  uint64_t cust;
  int rc = KEHU_OK;
  if (armed_at(r, &at)) {
    due_key(k, at, seq);
    rc = op(t, st->rem_due, k, 16);
  }
  if (rc == KEHU_OK && r->user)
    rc = op(t, st->rem_user, k, user_key(k, r->user, seq));
  if (rc == KEHU_OK && customer_key_of(r, &cust)) {
    kehu_key_put_u64(k, cust);
    kehu_key_put_u64(k + 8, seq);
    rc = op(t, st->rem_cust, k, 16);
  }
  if (rc == KEHU_OK && r->source && *r->source && strlen(r->source) <= 511) {
    MDB_val key = {strlen(r->source), r->source};
    unsigned char sb[8];
    kehu_key_put_u64(sb, seq);
    MDB_val v = {8, sb};
    int mrc = add ? mdb_put(t->txn, st->rem_source, &key, &v, 0)
                  : mdb_del(t->txn, st->rem_source, &key, NULL);
    rc = mrc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(mrc);
  }
  return rc;
}

int kehu_store_reminder_put(kehu_txn *t, uint64_t seq, const Kehu__Reminder *old,
                            const Kehu__Reminder *r)
{
  int rc = old ? index_reminder(t, seq, old, 0) : KEHU_OK;
  if (rc == KEHU_OK)
    rc = index_reminder(t, seq, r, 1);
  unsigned char k[8];
  kehu_key_put_u64(k, seq);
  return rc == KEHU_OK ? kehu_put_message(t, t->st->reminders, k, 8, &r->base) : rc;
}

int kehu_store_reminder_get(kehu_txn *t, uint64_t seq, Kehu__Reminder **out)
{
  unsigned char k[8];
  kehu_key_put_u64(k, seq);
  return kehu_get_message(t, t->st->reminders, k, 8, &kehu__reminder__descriptor,
                          (ProtobufCMessage **)out);
}

int kehu_store_reminder_delete(kehu_txn *t, uint64_t seq, const Kehu__Reminder *old)
{
  int rc = index_reminder(t, seq, old, 0);
  unsigned char k[8];
  kehu_key_put_u64(k, seq);
  return rc == KEHU_OK ? del_key(t, t->st->reminders, k, 8) : rc;
}

uint64_t kehu_store_reminder_by_source(kehu_txn *t, const char *source)
{
  MDB_val k = {strlen(source), (void *)source}, v;
  if (k.mv_size == 0 || k.mv_size > 511 || mdb_get(t->txn, t->st->rem_source, &k, &v) != 0 ||
      v.mv_size != 8)
    return 0;
  return kehu_key_get_u64(v.mv_data);
}

int64_t kehu_store_reminder_next_due(kehu_txn *t)
{
  MDB_cursor *cur;
  if (mdb_cursor_open(t->txn, t->st->rem_due, &cur) != 0)
    return 0;
  MDB_val k, v;
  int64_t due = 0;
  if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0 && k.mv_size == 16)
    due = due_of(k.mv_data);
  mdb_cursor_close(cur);
  return due;
}

size_t kehu_store_reminder_due(kehu_txn *t, int64_t now, uint64_t *seqs, size_t max)
{
  MDB_cursor *cur;
  if (mdb_cursor_open(t->txn, t->st->rem_due, &cur) != 0)
    return 0;
  MDB_val k, v;
  size_t n = 0;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < max;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 16 || due_of(k.mv_data) > now)
      break;
    if (seqs)
      seqs[n] = kehu_key_get_u64((unsigned char *)k.mv_data + 8);
    n++;
  }
  mdb_cursor_close(cur);
  return n;
}

int kehu_store_reminder_of_user(kehu_txn *t, const char *user, uint64_t before, unsigned limit,
                                int (*each)(const Kehu__Reminder *r, uint64_t seq, void *arg),
                                void *arg, uint64_t *next)
{
  *next = 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->rem_user, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char start[160];
  size_t prefix = user_key(start, user, 0) - 8;
  size_t n = user_key(start, user, before ? before : UINT64_MAX);
  MDB_val k = {n, start}, v;
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
  unsigned count = 0;
  uint64_t last = 0;
  int status = KEHU_OK;
  for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
    if (k.mv_size != prefix + 8 || memcmp(k.mv_data, start, prefix) != 0)
      break;
    uint64_t seq = kehu_key_get_u64((unsigned char *)k.mv_data + prefix);
    if (count == limit) {
      *next = last;
      break;
    }
    Kehu__Reminder *r;
    if ((status = kehu_store_reminder_get(t, seq, &r)) != KEHU_OK)
      break;
    if (each(r, seq, arg)) {
      count++;
      last = seq;
    }
    kehu__reminder__free_unpacked(r, NULL);
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

size_t kehu_store_reminder_of_customer(kehu_txn *t, uint64_t cust, uint64_t *seqs, size_t max)
{
  MDB_cursor *cur;
  if (mdb_cursor_open(t->txn, t->st->rem_cust, &cur) != 0)
    return 0;
  unsigned char start[16];
  kehu_key_put_u64(start, cust);
  kehu_key_put_u64(start + 8, 0);
  MDB_val k = {16, start}, v;
  size_t n = 0;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && n < max;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 16 || kehu_key_get_u64(k.mv_data) != cust)
      break;
    if (seqs)
      seqs[n] = kehu_key_get_u64((unsigned char *)k.mv_data + 8);
    n++;
  }
  mdb_cursor_close(cur);
  return n;
}

int kehu_store_reminders_reindex(kehu_txn *t, size_t *n)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->reminders, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  int status = KEHU_OK;
  *n = 0;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8)
      continue;
    Kehu__Reminder *r = kehu__reminder__unpack(NULL, v.mv_size, v.mv_data);
    if (!r) {
      status = KEHU_INTERNAL;
      break;
    }
    status = index_reminder(t, kehu_key_get_u64(k.mv_data), r, 1);
    kehu__reminder__free_unpacked(r, NULL);
    (*n)++;
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}
