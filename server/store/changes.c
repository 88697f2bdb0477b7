/* The change log (docs/storage.md#change-log): every write to a record
 * table notes the table and the key it changed, under the next sequence
 * number, in the same transaction. An incremental backup reads the keys
 * noted since the previous backup and copies their values as they are in
 * its own snapshot (or their absence), so a key changed a thousand times
 * is copied once, and the log holds no values: nothing sealed is ever
 * written out twice, and a purge leaves no copy behind in it.
 *
 * Derived tables (indexes, search) are not logged: a restore rebuilds
 * them from the records (reindex.c). An entry's value is its table's code
 * (stable, see env.c) followed by the key; entry keys are 8-byte
 * big-endian sequence numbers, so the log is appended to and read in
 * order. The newest entry is never trimmed: it carries the sequence on. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* The newest sequence number in t (0 when nothing was ever logged). */
static int last_seq(MDB_cursor *cur, uint64_t *seq)
{
  MDB_val k, v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
  *seq = rc == 0 && k.mv_size == 8 ? kehu_key_get_u64(k.mv_data) : 0;
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc;
}

static int append(kehu_txn *t, uint8_t code, const void *key, size_t klen)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->changes, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  uint64_t seq;
  if ((rc = last_seq(cur, &seq)) == 0) {
    unsigned char kb[8];
    kehu_key_put_u64(kb, seq + 1);
    MDB_val k = {8, kb}, v = {1 + klen, NULL};
    if ((rc = mdb_cursor_put(cur, &k, &v, MDB_RESERVE | MDB_APPEND)) == 0) {
      unsigned char *p = v.mv_data;
      p[0] = code;
      memcpy(p + 1, key, klen);
    }
  }
  mdb_cursor_close(cur);
  return kehu_store_status(rc);
}

/* A new store logs nothing until its first backup (docs/storage.md#change-log):
 * an incremental backup builds on a backup, and the first is always full. */
static const char off_key[] = "changes:off";

static int logging(kehu_txn *t)
{
  MDB_val k = {sizeof off_key - 1, (void *)off_key}, v;
  return mdb_get(t->txn, t->st->meta, &k, &v) != 0;
}

int kehu_change_note(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen)
{
  uint8_t code = dbi < KEHU_MAX_DBI ? t->st->log_code[dbi] : 0;
  if (!code)
    return KEHU_OK;   /* a derived table: rebuilt, never copied */
  if (!logging(t))
    return KEHU_OK;   /* no backup yet: the first is full */
  return append(t, code, key, klen);
}

int kehu_store_changes_off(MDB_txn *txn, MDB_dbi meta)
{
  MDB_val k = {sizeof off_key - 1, (void *)off_key}, v = {1, "1"};
  return mdb_put(txn, meta, &k, &v, 0);
}

static int changes_on(kehu_txn *t, void *arg)
{
  (void)arg;
  MDB_val k = {sizeof off_key - 1, (void *)off_key};
  int rc = mdb_del(t->txn, t->st->meta, &k, NULL);
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_changes_start(kehu_store *st)
{
  kehu_txn t;
  int rc = kehu_store_read_begin(st, &t);
  if (rc != KEHU_OK)
    return rc;
  int on = logging(&t);
  kehu_store_read_end(&t);
  return on ? KEHU_OK : kehu_store_write(st, changes_on, NULL);
}

/* A meta key (a sequence, the audit head) is written by nearly every
 * write; noted once per transaction it is copied all the same, as of the
 * backup's snapshot. Returns 1 when t noted key already, else remembers it
 * (while there is room) and returns 0. A transaction nested in t has its
 * own kehu_txn and list, so an aborted child never hides a key from t. */
static int meta_seen(kehu_txn *t, const void *key, size_t klen)
{
  if (klen >= sizeof t->meta_logged[0])
    return 0;
  for (unsigned i = 0; i < t->n_meta_logged && i < KEHU_META_LOGGED; i++)
    if (t->meta_logged[i][0] == klen && memcmp(t->meta_logged[i] + 1, key, klen) == 0)
      return 1;
  if (t->n_meta_logged < KEHU_META_LOGGED) {
    unsigned char *slot = t->meta_logged[t->n_meta_logged++];
    slot[0] = (unsigned char)klen;
    memcpy(slot + 1, key, klen);
  }
  return 0;
}

int kehu_logged_put(kehu_txn *t, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned flags)
{
  int rc = mdb_put(t->txn, dbi, k, v, flags);
  if (rc != 0)
    return kehu_store_status(rc);
  if (dbi == t->st->meta && meta_seen(t, k->mv_data, k->mv_size))
    return KEHU_OK;
  return kehu_change_note(t, dbi, k->mv_data, k->mv_size);
}

int kehu_logged_del(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen)
{
  MDB_val k = {klen, (void *)key};
  int rc = mdb_del(t->txn, dbi, &k, NULL);
  if (rc != 0)
    return kehu_store_status(rc);
  return kehu_change_note(t, dbi, key, klen);
}

int kehu_logged_cursor_del(kehu_txn *t, MDB_cursor *cur)
{
  MDB_val k, v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
  if (rc != 0)
    return kehu_store_status(rc);
  /* the key's bytes live in the page the delete may change */
  unsigned char key[512];
  size_t klen = k.mv_size < sizeof key ? k.mv_size : sizeof key;
  memcpy(key, k.mv_data, klen);
  if ((rc = mdb_cursor_del(cur, 0)) != 0)
    return kehu_store_status(rc);
  return kehu_change_note(t, mdb_cursor_dbi(cur), key, klen);
}

int kehu_store_changes_head(kehu_txn *t, uint64_t *head, uint64_t *oldest)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->changes, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  *head = *oldest = 0;
  rc = last_seq(cur, head);
  if (rc == 0 && mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0 && k.mv_size == 8)
    *oldest = kehu_key_get_u64(k.mv_data);
  mdb_cursor_close(cur);
  return kehu_store_status(rc);
}

int kehu_store_changes_each(kehu_txn *t, uint64_t after, uint64_t upto,
                            int (*each)(const char *table, const void *key, size_t klen,
                                        void *arg),
                            void *arg)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->changes, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char kb[8];
  kehu_key_put_u64(kb, after + 1);
  MDB_val k = {8, kb}, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8 || kehu_key_get_u64(k.mv_data) > upto)
      break;
    const unsigned char *p = v.mv_data;
    if (v.mv_size < 1 || p[0] == 0)
      continue;   /* a mark (kehu_store_changes_mark) */
    const char *table = kehu_store_table_name(t->st, p[0]);
    if (!table) {
      status = KEHU_INTERNAL;   /* a code this version does not know */
      break;
    }
    status = each(table, p + 1, v.mv_size - 1, arg);
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}

int kehu_store_changes_mark(kehu_txn *t, uint64_t seq)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->changes, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  uint64_t last;
  if ((rc = last_seq(cur, &last)) == 0 && last < seq) {
    unsigned char kb[8], code = 0;
    kehu_key_put_u64(kb, seq);
    MDB_val k = {8, kb}, v = {1, &code};
    rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND);
  }
  mdb_cursor_close(cur);
  return kehu_store_status(rc);
}

#define TRIM_BATCH 20000   /* entries per transaction: kehud's writer waits no longer */
#define TRIM_KEEP_MAX 65536 /* entries kept that a transaction may set aside and put back */

typedef struct {
  uint64_t below;
  size_t removed;
  int more;
} trim_round;

/* The usual trim after a backup removes nearly the whole log, millions of
 * entries after an import, which one by one would take hundreds of
 * transactions. Instead the few entries to keep (those from `below` on)
 * are set aside, the table emptied at once (mdb_drop frees its pages
 * without reading the entries), and they are put back. KEHU_CONFLICT when
 * there are too many to set aside: the caller trims entry by entry. */
static int trim_by_drop(kehu_txn *t, trim_round *r, uint64_t below)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->changes, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_stat ms;
  unsigned char kb[8];
  kehu_key_put_u64(kb, below);
  MDB_val k = {8, kb}, v;
  size_t keep = 0, bytes = 0;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && keep <= TRIM_KEEP_MAX;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    keep++;
    bytes += 8 + sizeof(size_t) + v.mv_size;
  }
  mdb_cursor_close(cur);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return kehu_store_status(rc);
  if (keep > TRIM_KEEP_MAX)
    return KEHU_CONFLICT;
  if ((rc = mdb_stat(t->txn, t->st->changes, &ms)) != 0)
    return kehu_store_status(rc);
  /* each kept entry: its key, its value's length, its value */
  unsigned char *saved = malloc(bytes ? bytes : 1), *p = saved;
  if (!saved)
    return KEHU_EXHAUSTED;
  if ((rc = mdb_cursor_open(t->txn, t->st->changes, &cur)) != 0) {
    free(saved);
    return kehu_store_status(rc);
  }
  k = (MDB_val){8, kb};
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    memcpy(p, k.mv_data, 8);
    memcpy(p + 8, &v.mv_size, sizeof(size_t));
    memcpy(p + 8 + sizeof(size_t), v.mv_data, v.mv_size);
    p += 8 + sizeof(size_t) + v.mv_size;
  }
  mdb_cursor_close(cur);
  rc = rc == MDB_NOTFOUND ? mdb_drop(t->txn, t->st->changes, 0) : rc;
  for (unsigned char *q = saved; rc == 0 && q < p;) {
    size_t n;
    memcpy(&n, q + 8, sizeof n);
    MDB_val nk = {8, q}, nv = {n, q + 8 + sizeof(size_t)};
    rc = mdb_put(t->txn, t->st->changes, &nk, &nv, MDB_APPEND);
    q += 8 + sizeof(size_t) + n;
  }
  free(saved);
  if (rc == 0)
    r->removed += ms.ms_entries - keep;
  return kehu_store_status(rc);
}

static int trim_some(kehu_txn *t, void *arg)
{
  trim_round *r = arg;
  r->more = 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->changes, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  uint64_t head;
  rc = last_seq(cur, &head);
  uint64_t below = r->below < head ? r->below : head;   /* the newest stays */
  if (rc == 0 && r->removed == 0) {
    mdb_cursor_close(cur);
    int status = trim_by_drop(t, r, below);
    if (status != KEHU_CONFLICT)
      return status;   /* done, or failed */
    if ((rc = mdb_cursor_open(t->txn, t->st->changes, &cur)) != 0)
      return kehu_store_status(rc);
  }
  MDB_val k, v;
  size_t n = 0;
  while (rc == 0 && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
    if (k.mv_size != 8 || kehu_key_get_u64(k.mv_data) >= below)
      break;
    if (n == TRIM_BATCH) {
      r->more = 1;
      break;
    }
    rc = mdb_cursor_del(cur, 0);
    n++;
  }
  mdb_cursor_close(cur);
  r->removed += n;
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_changes_trim(kehu_store *st, uint64_t below, size_t *removed)
{
  trim_round r = {below, 0, 1};
  int rc = KEHU_OK;
  for (int rounds = 0; r.more && rc == KEHU_OK && rounds < 1000000; rounds++)
    rc = kehu_store_write(st, trim_some, &r);
  *removed = r.removed;
  return rc;
}

int kehu_store_change_apply(kehu_txn *t, const char *table, const void *key, size_t klen,
                            const void *value, size_t vlen, int present)
{
  MDB_dbi dbi;
  if (kehu_store_table_dbi(t->st, table, &dbi) != KEHU_OK)
    return KEHU_NOT_FOUND;
  MDB_val k = {klen, (void *)key}, v = {vlen, (void *)value};
  int rc = present ? mdb_put(t->txn, dbi, &k, &v, 0) : mdb_del(t->txn, dbi, &k, NULL);
  if (!present && rc == MDB_NOTFOUND)
    rc = 0;   /* created and removed again between the backups */
  return kehu_store_status(rc);
}

int kehu_store_meta_put(kehu_txn *t, const char *key, const void *value, size_t n)
{
  MDB_val k = {strlen(key), (void *)key}, v = {n, (void *)value};
  return kehu_logged_put(t, t->st->meta, &k, &v, 0);
}

int kehu_store_change_value(kehu_txn *t, const char *table, const void *key, size_t klen,
                            const void **value, size_t *vlen)
{
  MDB_dbi dbi;
  if (kehu_store_table_dbi(t->st, table, &dbi) != KEHU_OK)
    return KEHU_INTERNAL;
  MDB_val k = {klen, (void *)key}, v;
  int rc = mdb_get(t->txn, dbi, &k, &v);
  if (rc != 0)
    return kehu_store_status(rc);
  *value = v.mv_data;
  *vlen = v.mv_size;
  return KEHU_OK;
}
