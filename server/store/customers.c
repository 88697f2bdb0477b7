/* The customers table and its indexes (owner, stage, external code). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"

int kehu_store_customer_new_key(kehu_txn *t, int64_t now, uint64_t *key)
{
  time_t tt = (time_t)now;
  struct tm tm;
  localtime_r(&tt, &tm);
  unsigned date = (unsigned)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
  char name[32];
  snprintf(name, sizeof name, "customer:%08u", date);
  uint64_t seq;
  int rc = kehu_store_next_seq(t, name, &seq);
  if (rc != KEHU_OK)
    return rc;
  if (seq > UINT32_MAX)
    return KEHU_EXHAUSTED;   /* the write fails whole: the counter stays */
  *key = (uint64_t)date << 32 | seq;
  return KEHU_OK;
}

int kehu_store_customer_get(kehu_txn *t, uint64_t key, Kehu__Customer **out)
{
  return kehu_store_customer_get_in(t, key, NULL, out);
}

int kehu_store_customer_get_in(kehu_txn *t, uint64_t key, ProtobufCAllocator *a,
                               Kehu__Customer **out)
{
  unsigned char kb[8];
  kehu_key_put_u64(kb, key);
  MDB_val k = {8, kb}, v;
  *out = NULL;
  int rc = mdb_get(t->txn, t->st->customers, &k, &v);
  if (rc != 0)
    return kehu_store_status(rc);
  *out = kehu__customer__unpack(a, v.mv_size, v.mv_data);
  return *out ? KEHU_OK : KEHU_INTERNAL;
}

uint64_t kehu_store_customer_by_external_code(kehu_txn *t, const char *code)
{
  if (!code || !*code)
    return 0;
  MDB_val k = {strlen(code), (void *)code}, v;
  if (k.mv_size > 511 || mdb_get(t->txn, t->st->cust_extcode, &k, &v) != 0 || v.mv_size != 8)
    return 0;
  return kehu_key_get_u64(v.mv_data);
}

static int str_changed(const char *a, const char *b)
{
  return strcmp(a ? a : "", b ? b : "") != 0;
}

/* The name index moves only when the normalised form changes. */
static int reindex_name(kehu_txn *t, uint64_t key, const char *before, const char *after)
{
  char a[512] = "", b[512] = "";
  if (before && kehu_customer_name_key(before, a, sizeof a) != 0)
    a[0] = '\0';
  if (after && kehu_customer_name_key(after, b, sizeof b) != 0)
    b[0] = '\0';
  if (strcmp(a, b) == 0)
    return KEHU_OK;
  int rc = kehu_index_del(t, t->st->cust_name, a, key);
  return rc == KEHU_OK ? kehu_index_add(t, t->st->cust_name, b, key) : rc;
}

/* Moves one index entry from the old value to the new one. */
static int reindex(kehu_txn *t, MDB_dbi dbi, uint64_t key, const char *before, const char *after)
{
  if (!str_changed(before, after))
    return KEHU_OK;
  int rc = KEHU_OK;
  if (before && *before)
    rc = kehu_index_del(t, dbi, before, key);
  if (rc == KEHU_OK && after && *after)
    rc = kehu_index_add(t, dbi, after, key);
  return rc;
}

/* Name, short name and tags are what search finds a customer by. */
static int search_text_changed(const Kehu__Customer *a, const Kehu__Customer *b)
{
  if (str_changed(a->name, b->name) || str_changed(a->short_name, b->short_name) ||
      a->n_tags != b->n_tags)
    return 1;
  for (size_t i = 0; i < a->n_tags; i++)
    if (strcmp(a->tags[i], b->tags[i]) != 0)
      return 1;
  return 0;
}

int kehu_store_customer_put(kehu_txn *t, uint64_t key, const Kehu__Customer *old,
                            const Kehu__Customer *c)
{
  kehu_store *st = t->st;
  const char *old_code = old ? old->external_code : NULL;
  if (str_changed(old_code, c->external_code) && c->external_code && *c->external_code) {
    uint64_t holder = kehu_store_customer_by_external_code(t, c->external_code);
    if (holder && holder != key)
      return KEHU_CONFLICT;
  }
  unsigned char kb[8];
  kehu_key_put_u64(kb, key);
  int rc = kehu_put_message(t, st->customers, kb, 8, &c->base);
  if (rc == KEHU_OK)
    rc = kehu_store_counts_move(t, old, c);
  if (rc == KEHU_OK && old)
    rc = kehu_store_counts_records_moved(t, key, old, c);
  if (rc == KEHU_OK)
    rc = kehu_store_dormant_move(t, key, old, c);
  if (rc == KEHU_OK)
    rc = kehu_store_sort_move(t, key, old, c);
  if (rc == KEHU_OK && old)
    rc = kehu_store_followups_customer_moved(t, key, old, c);
  if (rc == KEHU_OK)
    rc = reindex(t, st->cust_owner, key, old ? old->owner : NULL, c->owner);
  if (rc == KEHU_OK)
    rc = reindex(t, st->cust_stage, key, old ? old->stage : NULL, c->stage);
  if (rc == KEHU_OK)
    rc = reindex_name(t, key, old ? old->name : NULL, c->name);
  if (rc == KEHU_OK && (!old || search_text_changed(old, c)))
    rc = kehu_store_search_changed(t, key);
  if (rc == KEHU_OK && str_changed(old_code, c->external_code)) {
    if (old_code && *old_code) {
      MDB_val k = {strlen(old_code), (void *)old_code};
      int mrc = mdb_del(t->txn, st->cust_extcode, &k, NULL);
      if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = kehu_store_status(mrc);
    }
    if (rc == KEHU_OK && c->external_code && *c->external_code) {
      MDB_val k = {strlen(c->external_code), c->external_code}, v = {8, kb};
      rc = kehu_store_status(mdb_put(t->txn, st->cust_extcode, &k, &v, 0));
    }
  }
  return rc;
}

int kehu_store_customer_remove(kehu_txn *t, uint64_t key, const Kehu__Customer *c)
{
  kehu_store *st = t->st;
  int rc = kehu_store_counts_move(t, c, NULL);
  if (rc == KEHU_OK)
    rc = kehu_store_counts_records_moved(t, key, c, NULL);
  if (rc == KEHU_OK)
    rc = kehu_store_dormant_move(t, key, c, NULL);
  if (rc == KEHU_OK)
    rc = kehu_store_sort_move(t, key, c, NULL);
  if (rc == KEHU_OK)
    rc = reindex(t, st->cust_owner, key, c->owner, NULL);
  if (rc == KEHU_OK)
    rc = reindex(t, st->cust_stage, key, c->stage, NULL);
  if (rc == KEHU_OK)
    rc = reindex_name(t, key, c->name, NULL);
  if (rc == KEHU_OK && c->external_code && *c->external_code) {
    MDB_val k = {strlen(c->external_code), c->external_code};
    int mrc = mdb_del(t->txn, st->cust_extcode, &k, NULL);
    rc = mrc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(mrc);
  }
  if (rc == KEHU_OK) {
    unsigned char kb[8];
    kehu_key_put_u64(kb, key);
    rc = kehu_logged_del(t, st->customers, kb, 8);
  }
  if (rc == KEHU_OK)
    rc = kehu_store_search_changed(t, key);   /* now gone: drops its postings */
  return rc;
}

static int has_tag(const Kehu__Customer *c, const char *tag)
{
  for (size_t i = 0; i < c->n_tags; i++)
    if (strcmp(c->tags[i], tag) == 0)
      return 1;
  return 0;
}

int kehu_store_customer_matches(const Kehu__Customer *c, const kehu_customer_filter *f)
{
  if ((c->has_deleted && c->deleted) != (f->deleted != 0))
    return 0;
  if (f->stage && str_changed(c->stage, f->stage))
    return 0;
  if (f->owner && str_changed(c->owner, f->owner))
    return 0;
  if (f->industry && str_changed(c->industry, f->industry))
    return 0;
  if (f->source && str_changed(c->source, f->source))
    return 0;
  if (f->region && (!c->region || strncmp(c->region, f->region, strlen(f->region)) != 0))
    return 0;
  if (f->tag && !has_tag(c, f->tag))
    return 0;
  if (f->tier && str_changed(c->tier, f->tier))
    return 0;
  return !f->visible || f->visible(c, f->visible_ctx);
}

/* Walks customer keys newest first, either over the whole table or over
 * one index value's duplicates. */
typedef struct {
  MDB_cursor *cur;
  int dup;          /* walking an index's duplicates */
  MDB_val ikey;
  int started;
  uint64_t before;
} key_walk;

static int walk_next(key_walk *w, uint64_t *key)
{
  MDB_val k = w->ikey, v;
  unsigned char bb[8];
  int rc;
  if (!w->started) {
    w->started = 1;
    if (w->dup) {
      if ((rc = mdb_cursor_get(w->cur, &k, &v, MDB_SET_KEY)) != 0)
        return rc;
      if (w->before) {
        kehu_key_put_u64(bb, w->before);
        MDB_val bv = {8, bb};
        k = w->ikey;
        rc = mdb_cursor_get(w->cur, &k, &bv, MDB_GET_BOTH_RANGE);
        rc = rc == 0 ? mdb_cursor_get(w->cur, &k, &v, MDB_PREV_DUP)
                     : mdb_cursor_get(w->cur, &k, &v, MDB_LAST_DUP);
      } else {
        rc = mdb_cursor_get(w->cur, &k, &v, MDB_LAST_DUP);
      }
    } else if (w->before) {
      kehu_key_put_u64(bb, w->before);
      k.mv_size = 8;
      k.mv_data = bb;
      rc = mdb_cursor_get(w->cur, &k, &v, MDB_SET_RANGE);
      rc = rc == 0 ? mdb_cursor_get(w->cur, &k, &v, MDB_PREV)
                   : mdb_cursor_get(w->cur, &k, &v, MDB_LAST);
    } else {
      rc = mdb_cursor_get(w->cur, &k, &v, MDB_LAST);
    }
  } else {
    rc = mdb_cursor_get(w->cur, &k, &v, w->dup ? MDB_PREV_DUP : MDB_PREV);
  }
  if (rc != 0)
    return rc;
  const MDB_val *idv = w->dup ? &v : &k;
  if (idv->mv_size != 8)
    return MDB_CORRUPTED;
  *key = kehu_key_get_u64(idv->mv_data);
  return 0;
}

int kehu_store_customer_list(kehu_txn *t, const kehu_customer_filter *f,
                             int (*each)(Kehu__Customer *c, void *arg), void *arg,
                             uint64_t *next)
{
  kehu_store *st = t->st;
  key_walk w = {.before = f->before};
  MDB_dbi dbi = st->customers;
  const char *ivalue = f->owner ? f->owner : f->stage;
  if (ivalue) {
    dbi = f->owner ? st->cust_owner : st->cust_stage;
    w.dup = 1;
    w.ikey.mv_size = strlen(ivalue);
    w.ikey.mv_data = (void *)ivalue;
  }
  *next = 0;
  int rc = mdb_cursor_open(t->txn, dbi, &w.cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned count = 0;
  uint64_t key, last = 0;
  int status = KEHU_OK;
  while ((rc = walk_next(&w, &key)) == 0) {
    Kehu__Customer *c;
    if ((status = kehu_store_customer_get(t, key, &c)) != KEHU_OK) {
      if (status == KEHU_NOT_FOUND && w.dup)
        status = KEHU_INTERNAL;   /* an index entry without its record */
      break;
    }
    if (!kehu_store_customer_matches(c, f)) {
      kehu__customer__free_unpacked(c, NULL);
      continue;
    }
    if (count == f->limit) {
      /* One more match exists: the page gets a cursor. */
      kehu__customer__free_unpacked(c, NULL);
      *next = last;
      break;
    }
    if (!each(c, arg))
      kehu__customer__free_unpacked(c, NULL);
    last = key;
    count++;
  }
  mdb_cursor_close(w.cur);
  if (status != KEHU_OK)
    return status;
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_customers_reindex(kehu_txn *t, size_t *n)
{
  kehu_store *st = t->st;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, st->customers, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  int status = KEHU_OK;
  *n = 0;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8)
      continue;
    uint64_t key = kehu_key_get_u64(k.mv_data);
    Kehu__Customer *c = kehu__customer__unpack(NULL, v.mv_size, v.mv_data);
    if (!c) {
      status = KEHU_INTERNAL;
      break;
    }
    status = kehu_store_counts_move(t, NULL, c);
    if (status == KEHU_OK)
      status = kehu_store_counts_records_add(t, key, c);
    if (status == KEHU_OK)
      status = kehu_store_dormant_move(t, key, NULL, c);
    if (status == KEHU_OK)
      status = kehu_store_sort_move(t, key, NULL, c);
    if (status == KEHU_OK)
      status = reindex(t, st->cust_owner, key, NULL, c->owner);
    if (status == KEHU_OK)
      status = reindex(t, st->cust_stage, key, NULL, c->stage);
    if (status == KEHU_OK)
      status = reindex_name(t, key, NULL, c->name);
    if (status == KEHU_OK && c->external_code && *c->external_code) {
      MDB_val ck = {strlen(c->external_code), c->external_code}, cv = {8, k.mv_data};
      status = kehu_store_status(mdb_put(t->txn, st->cust_extcode, &ck, &cv, 0));
    }
    if (status == KEHU_OK)
      status = kehu_store_search_changed(t, key);
    kehu__customer__free_unpacked(c, NULL);
    (*n)++;
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}
