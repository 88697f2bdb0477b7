/* The store's environment: opening LMDB and its named databases in one
 * start-up transaction, the store format and its upgrades, sequences in
 * meta, growing the map, read and write transactions. */
#include "store_internal.h"
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int kehu_store_status(int rc)
{
  switch (rc) {
  case MDB_SUCCESS: return KEHU_OK;
  case MDB_NOTFOUND: return KEHU_NOT_FOUND;
  case MDB_KEYEXIST: return KEHU_CONFLICT;
  case MDB_MAP_FULL:
  case MDB_TXN_FULL:
  case MDB_READERS_FULL: return KEHU_EXHAUSTED;
  default: return KEHU_INTERNAL;
  }
}

typedef struct {
  const char *name;
  unsigned flags;
  size_t offset;
  /* The table's code in the change log (changes.c), 0 for a derived table
   * the log leaves out. Codes are written to disk: never reuse or renumber
   * one; a new record table takes a new code. */
  uint8_t log_code;
} table_def;

#define TABLE(field, flags, code) {#field, flags, offsetof(struct kehu_store, field), code}
static const table_def tables[] = {
  TABLE(meta, 0, 1),
  TABLE(users, 0, 2),
  TABLE(sessions, 0, 3),
  TABLE(customers, 0, 4),
  TABLE(cust_owner, MDB_DUPSORT | MDB_DUPFIXED, 0),
  TABLE(cust_stage, MDB_DUPSORT | MDB_DUPFIXED, 0),
  TABLE(cust_extcode, 0, 0),
  TABLE(cust_name, MDB_DUPSORT | MDB_DUPFIXED, 0),
  TABLE(child_parent, 0, 0),
  TABLE(contract_number, 0, 0),
  TABLE(contact_phone, MDB_DUPSORT | MDB_DUPFIXED, 0),   /* value: customer | contact */
  TABLE(field_defs, 0, 5),
  TABLE(attachment_data, 0, 6),
  TABLE(audit, MDB_INTEGERKEY, 7),
  TABLE(reminders, 0, 8),
  TABLE(rem_due, 0, 0),
  TABLE(rem_user, 0, 0),
  TABLE(rem_cust, 0, 0),
  TABLE(rem_source, 0, 0),
  TABLE(search, MDB_DUPSORT | MDB_DUPFIXED, 0),
  TABLE(search_doc, 0, 0),
  TABLE(search_pend, MDB_DUPSORT | MDB_DUPFIXED, 0),
  TABLE(scrub, MDB_INTEGERKEY, 0),
  TABLE(changes, 0, 0),
  TABLE(cust_counts, 0, 0),
  TABLE(cust_dormant, 0, 0),
  TABLE(fu_time, 0, 0),
  TABLE(cust_churn, 0, 0),
  TABLE(cust_sort, 0, 0),
  TABLE(contact_bday, 0, 0),
};
#undef TABLE
#define TABLE_COUNT (sizeof tables / sizeof *tables)
/* The child tables (one per record kind) log under KIND_CODE + kind. */
#define KIND_CODE 32

static MDB_dbi table_dbi(const kehu_store *st, size_t i)
{
  return i < TABLE_COUNT ? *(const MDB_dbi *)((const char *)st + tables[i].offset)
                         : st->children[i - TABLE_COUNT];
}

static const char *table_name(size_t i)
{
  return i < TABLE_COUNT ? tables[i].name : kehu_kind_get((int)(i - TABLE_COUNT))->name;
}

static uint8_t table_code(size_t i)
{
  return i < TABLE_COUNT ? tables[i].log_code : (uint8_t)(KIND_CODE + (i - TABLE_COUNT));
}

const char *kehu_store_table_name(const kehu_store *st, uint8_t code)
{
  (void)st;
  for (size_t i = 0; code && i < TABLE_COUNT + KEHU_KIND_COUNT; i++)
    if (table_code(i) == code)
      return table_name(i);
  return NULL;
}

int kehu_store_table_dbi(const kehu_store *st, const char *name, MDB_dbi *dbi)
{
  for (size_t i = 0; i < TABLE_COUNT + KEHU_KIND_COUNT; i++)
    if (table_code(i) && strcmp(table_name(i), name) == 0) {
      *dbi = table_dbi(st, i);
      return KEHU_OK;
    }
  return KEHU_NOT_FOUND;
}

/* each(t, key, customer) for every customer, in the opening transaction. */
static int each_customer(kehu_store *st, MDB_txn *txn,
                         int (*each)(kehu_txn *t, uint64_t key, const Kehu__Customer *c))
{
  kehu_txn t = {.st = st, .txn = txn};
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, st->customers, &cur);
  if (rc != 0)
    return rc;
  MDB_val k, v;
  int st_rc = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && st_rc == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8)
      continue;
    Kehu__Customer *c = kehu__customer__unpack(NULL, v.mv_size, v.mv_data);
    if (c) {
      st_rc = each(&t, kehu_key_get_u64(k.mv_data), c);
      kehu__customer__free_unpacked(c, NULL);
    }
  }
  mdb_cursor_close(cur);
  if (st_rc != KEHU_OK)
    return st_rc == KEHU_EXHAUSTED ? MDB_MAP_FULL : MDB_PANIC;
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/* table emptied, then made again from every customer. */
static int rebuild_from_customers(kehu_store *st, MDB_txn *txn, MDB_dbi table,
                                  int (*each)(kehu_txn *t, uint64_t key, const Kehu__Customer *c))
{
  int rc = mdb_drop(txn, table, 0);
  return rc == 0 ? each_customer(st, txn, each) : rc;
}

/* Format 3: the name index from the names as common/normalize.c forms them
 * now (before, 上海华东制造集团 kept its 集团 while 上海华东制造集团有限公司 lost
 * both). Every customer is indexed by its name again. */
static int index_name(kehu_txn *t, uint64_t key, const Kehu__Customer *c)
{
  char name[512];
  if (kehu_customer_name_key(c->name, name, sizeof name) != 0)
    return KEHU_OK;
  return kehu_index_add(t, t->st->cust_name, name, key);
}

/* Format 4: the report counts (counts.c), from every customer. */
static int count_customer(kehu_txn *t, uint64_t key, const Kehu__Customer *c)
{
  (void)key;
  return kehu_store_counts_move(t, NULL, c);
}

/* Format 8: the report counts of every report kind and the churn list
 * (counts.c), from every customer; the counts of orders and tickets wait
 * for the data key (orders are sealed): kehu_store_load_key fills them
 * (counts_records.c), and until then the reports that need them read the
 * records. */
static int count_customers_v8(kehu_store *st, MDB_txn *txn)
{
  int rc = mdb_drop(txn, st->cust_churn, 0);
  if (rc == 0)
    rc = rebuild_from_customers(st, txn, st->cust_counts, count_customer);
  kehu_txn t = {.st = st, .txn = txn};
  if (rc == 0 && kehu_store_after_key_mark(&t, KEHU_AFTER_KEY_COUNTS) != KEHU_OK)
    rc = MDB_PANIC;
  return rc;
}

/* Format 5: the dormancy index (dormant.c), from every customer. The
 * dormant reminders stores of format 4 armed for later stay and fire as
 * they did; the sweep's raise of the same period finds them and adds none. */
static int dormant_customer(kehu_txn *t, uint64_t key, const Kehu__Customer *c)
{
  return kehu_store_dormant_move(t, key, NULL, c);
}

/* Format 7: the sort index (sort.c), from every customer. */
static int sort_customer(kehu_txn *t, uint64_t key, const Kehu__Customer *c)
{
  return kehu_store_sort_move(t, key, NULL, c);
}

/* Format 6: the follow-ups' time index (children.c), from every follow-up. */
static int index_followups(kehu_store *st, MDB_txn *txn)
{
  const kehu_kind_info *k = kehu_kind_get(KEHU_KIND_FOLLOWUP);
  kehu_txn t = {.st = st, .txn = txn};
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, st->children[k->kind], &cur);
  if (rc != 0)
    return rc;
  MDB_val key, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
    if (key.mv_size != 16)
      continue;
    ProtobufCMessage *m = kehu_decode_record(st, &key, &v, k->desc, k->sealed);
    if (!m)
      continue;   /* verify names a record that does not decode */
    const unsigned char *kb = key.mv_data;
    status = kehu_store_followups_index(&t, kehu_key_get_u64(kb), kehu_key_get_u64(kb + 8),
                                        (const Kehu__FollowUp *)m);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status == KEHU_EXHAUSTED ? MDB_MAP_FULL : MDB_PANIC;
  return rc == MDB_NOTFOUND ? 0 : rc;
}

static const char store_id_key[] = "store:id";

/* Every store gets a random identity when first opened: backups name it,
 * so an incremental is never laid on a full backup of another store. */
static int ensure_store_id(kehu_store *st, MDB_txn *txn)
{
  MDB_val k = {sizeof store_id_key - 1, (void *)store_id_key}, v;
  int rc = mdb_get(txn, st->meta, &k, &v);
  if (rc != MDB_NOTFOUND)
    return rc;
  unsigned char id[16];
  FILE *f = fopen("/dev/urandom", "rb");
  size_t got = f ? fread(id, 1, sizeof id, f) : 0;
  if (f)
    fclose(f);
  if (got != sizeof id)
    return MDB_PANIC;
  v = (MDB_val){sizeof id, id};
  rc = mdb_put(txn, st->meta, &k, &v, 0);
  /* a store without an identity is new (or older than backups that name
   * it): no backup builds on it, so it logs nothing until its first */
  return rc == 0 ? kehu_store_changes_off(txn, st->meta) : rc;
}

int kehu_store_id(kehu_txn *t, char hex[33])
{
  MDB_val k = {sizeof store_id_key - 1, (void *)store_id_key}, v;
  int rc = mdb_get(t->txn, t->st->meta, &k, &v);
  if (rc != 0 || v.mv_size != 16)
    return rc ? kehu_store_status(rc) : KEHU_INTERNAL;
  kehu_hex(v.mv_data, 16, hex);
  return KEHU_OK;
}

/* A store without customers has every customer's tier: marked so, kehud
 * never walks it for tiers, not even after kehu-admin seed fills it with
 * customers that start normal. */
static int mark_tiers_if_empty(kehu_store *st, MDB_txn *txn)
{
  MDB_stat ms;
  int rc = mdb_stat(txn, st->customers, &ms);
  if (rc != 0 || ms.ms_entries)
    return rc;
  MDB_val k = {sizeof KEHU_TIERS_MARKER - 1, KEHU_TIERS_MARKER}, v = {1, "1"};
  rc = mdb_put(txn, st->meta, &k, &v, MDB_NOOVERWRITE);
  return rc == MDB_KEYEXIST ? 0 : rc;
}

int kehu_store_open(kehu_store **out, const char *dir, size_t map_size, kehu_error *err)
{
  kehu_store *st = calloc(1, sizeof *st);
  if (!st)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "out of memory");
  kehu_index_key_ready(st);
  pthread_mutex_init(&st->key_lock, NULL);
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  /* Writer preference: a stream of short reads must not starve a resize. */
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&st->resize_lock, &attr);
  pthread_rwlockattr_destroy(&attr);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    int e = errno;
    kehu_store_close(st);
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot create %s: %s", dir, strerror(e));
  }
  int rc = mdb_env_create(&st->env);
  if (rc == 0)
    rc = mdb_env_set_maxdbs(st->env, KEHU_MAX_DBI - 2);
  if (rc == 0)
    rc = mdb_env_set_maxreaders(st->env, 512);
  if (rc == 0)
    rc = mdb_env_set_mapsize(st->env, map_size);
  /* MDB_NOTLS: read transactions are not tied to a thread slot, so the loop
   * and the thread pool can each keep their own. */
  if (rc == 0)
    rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600);
  if (rc != 0) {
    kehu_store_close(st);
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot open the database in %s: %s", dir,
                     mdb_strerror(rc));
  }
  MDB_envinfo info;
  mdb_env_info(st->env, &info);
  st->map_size = info.me_mapsize;
  int dead;
  mdb_reader_check(st->env, &dead);

  MDB_txn *txn;
  int grown = 0;
again:   /* after an upgrade that needed a bigger map */
  if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
    kehu_store_close(st);
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot open the database in %s: %s", dir,
                     mdb_strerror(rc));
  }
  for (size_t i = 0; i < TABLE_COUNT && rc == 0; i++)
    rc = mdb_dbi_open(txn, tables[i].name, tables[i].flags | MDB_CREATE,
                      (MDB_dbi *)((char *)st + tables[i].offset));
  for (int k = 0; k < KEHU_KIND_COUNT && rc == 0; k++)
    rc = mdb_dbi_open(txn, kehu_kind_get(k)->name, MDB_CREATE, &st->children[k]);
  for (size_t i = 0; i < TABLE_COUNT + KEHU_KIND_COUNT && rc == 0; i++) {
    MDB_dbi dbi = table_dbi(st, i);
    if (dbi >= KEHU_MAX_DBI)
      rc = MDB_DBS_FULL;
    else
      st->log_code[dbi] = table_code(i);
  }
  if (rc == 0)
    rc = ensure_store_id(st, txn);
  if (rc == 0)
    rc = mark_tiers_if_empty(st, txn);
  /* The layout of the tables: a kehud that knows an older one refuses a
   * newer (it would not read the newer's tables, such as search_pend);
   * an older or unmarked one is this one plus tables it lacked, created
   * empty above, and (below format 3) its name index rebuilt. */
  static const char format_key[] = "store:format";
  unsigned char fmt[8];
  MDB_val fk = {sizeof format_key - 1, (void *)format_key}, fv;
  uint64_t found = 0;
  if (rc == 0 && mdb_get(txn, st->meta, &fk, &fv) == 0)
    found = fv.mv_size == 8 ? kehu_key_get_u64(fv.mv_data) : UINT64_MAX;   /* unreadable */
  if (rc == 0 && found > KEHU_STORE_FORMAT) {
    mdb_txn_abort(txn);
    kehu_store_close(st);
    return kehu_fail(err, KEHU_INTERNAL, NULL,
                     found == UINT64_MAX
                         ? "%s has a store format this kehud cannot read (%llu; it knows %d)"
                         : "%s was written by a newer kehud (store format %llu; this one knows "
                           "%d): run that version",
                     dir, (unsigned long long)found, KEHU_STORE_FORMAT);
  }
  if (rc == 0 && found < 3)
    rc = rebuild_from_customers(st, txn, st->cust_name, index_name);
  if (rc == 0 && found < 4)
    rc = rebuild_from_customers(st, txn, st->cust_counts, count_customer);
  if (rc == 0 && found < 5)
    rc = rebuild_from_customers(st, txn, st->cust_dormant, dormant_customer);
  if (rc == 0 && found < 6)
    rc = index_followups(st, txn);
  if (rc == 0 && found < 7)
    rc = rebuild_from_customers(st, txn, st->cust_sort, sort_customer);
  if (rc == 0 && found < 8)
    rc = count_customers_v8(st, txn);
  if (rc == 0 && found < 9)
    rc = each_customer(st, txn, kehu_store_search_add_head);   /* format 9: head tokens */
  if (rc == 0 && found < 10) {   /* format 10: the birthday index, once the key is loaded */
    kehu_txn t = {.st = st, .txn = txn};
    rc = kehu_store_after_key_mark(&t, KEHU_AFTER_KEY_BDAY) == KEHU_OK ? 0 : MDB_PANIC;
  }
  if (rc == 0 && found < KEHU_STORE_FORMAT) {
    kehu_key_put_u64(fmt, KEHU_STORE_FORMAT);
    fv = (MDB_val){8, fmt};
    rc = mdb_put(txn, st->meta, &fk, &fv, 0);
  }
  rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
  /* An upgrade rewrites whole indexes in this one transaction: the old
   * pages stay until it commits, so it may need a bigger map. */
  if (rc == MDB_MAP_FULL && grown < 4 && mdb_env_set_mapsize(st->env, st->map_size * 2) == 0) {
    st->map_size *= 2;
    grown++;
    goto again;
  }
  if (rc != 0) {
    kehu_store_close(st);
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot open the tables in %s: %s", dir,
                     mdb_strerror(rc));
  }
  *out = st;
  return KEHU_OK;
}

int kehu_store_open_copy(kehu_store **out, const char *file, kehu_error *err)
{
  kehu_store *st = calloc(1, sizeof *st);
  if (!st)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "out of memory");
  kehu_index_key_ready(st);
  pthread_rwlock_init(&st->resize_lock, NULL);
  /* No lock file beside it, nothing written: the file stays as it was hashed. */
  int rc = mdb_env_create(&st->env);
  if (rc == 0)
    rc = mdb_env_set_maxdbs(st->env, KEHU_MAX_DBI - 2);
  if (rc == 0)
    rc = mdb_env_open(st->env, file, MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOTLS, 0600);
  MDB_txn *txn = NULL;
  if (rc == 0)
    rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
  for (size_t i = 0; i < TABLE_COUNT && rc == 0; i++)
    rc = mdb_dbi_open(txn, tables[i].name, tables[i].flags,
                      (MDB_dbi *)((char *)st + tables[i].offset));
  for (int k = 0; k < KEHU_KIND_COUNT && rc == 0; k++)
    rc = mdb_dbi_open(txn, kehu_kind_get(k)->name, 0, &st->children[k]);
  rc = txn ? (rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn)) : rc;
  if (rc != 0) {
    kehu_store_close(st);
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot read the store copy %s: %s", file,
                     mdb_strerror(rc));
  }
  MDB_envinfo info;
  mdb_env_info(st->env, &info);
  st->map_size = info.me_mapsize;
  *out = st;
  return KEHU_OK;
}

void kehu_store_close(kehu_store *st)
{
  if (!st)
    return;
  if (st->env)
    mdb_env_close(st->env);
  pthread_rwlock_destroy(&st->resize_lock);
  pthread_mutex_destroy(&st->key_lock);
  /* the key ring is secret: leave none of it in freed memory */
  memset(st->seal_keys, 0, sizeof st->seal_keys);
  memset(st->index_key, 0, sizeof st->index_key);
  free(st);
}

const MDB_dbi *kehu_store_meta_dbi(kehu_store *st)
{
  return &st->meta;
}

const MDB_dbi *kehu_store_customers_dbi(kehu_store *st)
{
  return &st->customers;
}

size_t kehu_store_map_size(kehu_store *st)
{
  return st->map_size;
}

int kehu_store_grow(kehu_store *st)
{
  pthread_rwlock_wrlock(&st->resize_lock);
  size_t want = st->map_size * 2;
  int rc = mdb_env_set_mapsize(st->env, want);
  if (rc == 0)
    st->map_size = want;
  pthread_rwlock_unlock(&st->resize_lock);
  return rc;
}

/* Begins a transaction under the shared resize lock. MDB_MAP_RESIZED means
 * another process (kehu-admin) grew the map: adopt its size and retry. */
static int begin_txn(kehu_store *st, unsigned flags, kehu_txn *t)
{
  t->st = st;
  t->defer = NULL;
  t->n_meta_logged = 0;
  t->counts = NULL;
  pthread_rwlock_rdlock(&st->resize_lock);
  int rc = mdb_txn_begin(st->env, NULL, flags, &t->txn);
  if (rc == MDB_MAP_RESIZED) {
    pthread_rwlock_unlock(&st->resize_lock);
    pthread_rwlock_wrlock(&st->resize_lock);
    mdb_env_set_mapsize(st->env, 0);
    MDB_envinfo info;
    mdb_env_info(st->env, &info);
    st->map_size = info.me_mapsize;
    pthread_rwlock_unlock(&st->resize_lock);
    pthread_rwlock_rdlock(&st->resize_lock);
    rc = mdb_txn_begin(st->env, NULL, flags, &t->txn);
  }
  if (rc != 0) {
    pthread_rwlock_unlock(&st->resize_lock);
    t->txn = NULL;
  }
  return rc;
}

int kehu_store_read_begin(kehu_store *st, kehu_txn *t)
{
  return kehu_store_status(begin_txn(st, MDB_RDONLY, t));
}

void kehu_store_read_end(kehu_txn *t)
{
  kehu_store_write_abort(t);
}

int kehu_store_write_begin(kehu_store *st, kehu_txn *t)
{
  int rc = begin_txn(st, 0, t);
  /* The generation to seal under, as committed now: a rotation by another
   * process (kehu-admin rotate-key) takes effect from this write on. */
  if (rc == 0)
    kehu_seal_gen_refresh(st, t->txn);
  return rc;
}

int kehu_store_write_commit(kehu_txn *t)
{
  int rc = mdb_txn_commit(t->txn);
  t->txn = NULL;
  pthread_rwlock_unlock(&t->st->resize_lock);
  return rc;
}

void kehu_store_write_abort(kehu_txn *t)
{
  if (!t->txn)
    return;
  mdb_txn_abort(t->txn);
  t->txn = NULL;
  pthread_rwlock_unlock(&t->st->resize_lock);
}

int kehu_store_write(kehu_store *st, kehu_write_fn apply, void *arg)
{
  for (int attempt = 0; attempt < 16; attempt++) {
    kehu_txn t;
    int rc = kehu_store_write_begin(st, &t);
    if (rc != 0)
      return kehu_store_status(rc);
    int status = apply(&t, arg);
    if (status == KEHU_EXHAUSTED) {
      kehu_store_write_abort(&t);
      if (kehu_store_grow(st) != 0)
        return KEHU_EXHAUSTED;
      continue;
    }
    if (status != KEHU_OK) {
      kehu_store_write_abort(&t);
      return status;
    }
    rc = kehu_store_write_commit(&t);
    if (rc == MDB_MAP_FULL) {
      if (kehu_store_grow(st) != 0)
        return KEHU_EXHAUSTED;
      continue;
    }
    return kehu_store_status(rc);
  }
  return KEHU_EXHAUSTED;
}

int kehu_put_message(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen,
                     const ProtobufCMessage *msg)
{
  size_t n = protobuf_c_message_get_packed_size(msg);
  MDB_val k = {klen, (void *)key}, v = {n, NULL};
  /* MDB_RESERVE: pack straight into the page, no intermediate copy. */
  int rc = mdb_put(t->txn, dbi, &k, &v, MDB_RESERVE);
  if (rc != 0)
    return kehu_store_status(rc);
  protobuf_c_message_pack(msg, v.mv_data);
  return kehu_change_note(t, dbi, key, klen);
}

int kehu_get_message(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen,
                     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
  *out = NULL;
  MDB_val k = {klen, (void *)key}, v;
  int rc = mdb_get(t->txn, dbi, &k, &v);
  if (rc != 0)
    return kehu_store_status(rc);
  *out = protobuf_c_message_unpack(desc, NULL, v.mv_size, v.mv_data);
  return *out ? KEHU_OK : KEHU_INTERNAL;
}

int kehu_index_add(kehu_txn *t, MDB_dbi dbi, const char *key, uint64_t id)
{
  unsigned char idb[8];
  kehu_key_put_u64(idb, id);
  MDB_val k = {strlen(key), (void *)key}, v = {8, idb};
  if (k.mv_size == 0 || k.mv_size > 511)
    return KEHU_OK;   /* empty values are not indexed; long ones are refused earlier */
  int rc = mdb_put(t->txn, dbi, &k, &v, MDB_NODUPDATA);
  return rc == MDB_KEYEXIST ? KEHU_OK : kehu_store_status(rc);
}

int kehu_index_del(kehu_txn *t, MDB_dbi dbi, const char *key, uint64_t id)
{
  unsigned char idb[8];
  kehu_key_put_u64(idb, id);
  MDB_val k = {strlen(key), (void *)key}, v = {8, idb};
  if (k.mv_size == 0 || k.mv_size > 511)
    return KEHU_OK;
  int rc = mdb_del(t->txn, dbi, &k, &v);
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_next_seq(kehu_txn *t, const char *name, uint64_t *seq)
{
  char k[64];
  snprintf(k, sizeof k, "seq:%s", name);
  MDB_val mk = {strlen(k), k}, mv;
  uint64_t v = 0;
  int rc = mdb_get(t->txn, t->st->meta, &mk, &mv);
  if (rc == 0 && mv.mv_size == 8)
    v = kehu_key_get_u64(mv.mv_data);
  else if (rc != MDB_NOTFOUND)
    return kehu_store_status(rc);
  unsigned char b[8];
  kehu_key_put_u64(b, ++v);
  mv.mv_size = 8;
  mv.mv_data = b;
  *seq = v;
  return kehu_logged_put(t, t->st->meta, &mk, &mv, 0);
}

int kehu_store_copy_compact(kehu_store *st, int fd)
{
  pthread_rwlock_rdlock(&st->resize_lock);
  int rc = mdb_env_copyfd2(st->env, fd, MDB_CP_COMPACT);
  pthread_rwlock_unlock(&st->resize_lock);
  return kehu_store_status(rc);
}

int kehu_store_tables(kehu_txn *t,
                      void (*each)(const char *name, size_t entries, size_t pages, void *arg),
                      void *arg)
{
  for (size_t i = 0; i < TABLE_COUNT + KEHU_KIND_COUNT; i++) {
    const char *name = table_name(i);
    MDB_dbi dbi = table_dbi(t->st, i);
    MDB_stat ms;
    int rc = mdb_stat(t->txn, dbi, &ms);
    if (rc != 0)
      return kehu_store_status(rc);
    each(name, ms.ms_entries, ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages, arg);
  }
  return KEHU_OK;
}

/* mdb_reader_list calls back once per title line and once per reader. */
static int count_reader(const char *msg, void *ctx)
{
  if (!strstr(msg, "pid") && !strstr(msg, "no active"))
    (*(unsigned *)ctx)++;
  return 0;
}

int kehu_store_env(kehu_store *st, kehu_store_env_stats *out)
{
  MDB_envinfo info;
  MDB_stat ms;
  int rc = mdb_env_info(st->env, &info);
  if (rc == 0)
    rc = mdb_env_stat(st->env, &ms);
  if (rc != 0)
    return kehu_store_status(rc);
  out->map_size = info.me_mapsize;
  out->page_size = ms.ms_psize;
  out->used = (info.me_last_pgno + 1) * (size_t)ms.ms_psize;
  out->max_readers = info.me_maxreaders;
  out->readers = 0;
  mdb_reader_list(st->env, count_reader, &out->readers);
  return KEHU_OK;
}

/* Free pages on the free list (FREE_DBI, dbi 0: each record a list of page
 * numbers, its first word their count), in a read-only transaction: LMDB
 * opens no cursor on it in a write one. */
static int count_free_pages(MDB_txn *txn, size_t *n)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, 0, &cur);
  if (rc != 0)
    return rc;
  MDB_val k, v;
  *n = 0;
  while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
    if (v.mv_size >= sizeof(size_t))
      *n += *(const size_t *)v.mv_data;
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

#define SCRUB_MAX_PAGES 65536   /* per round: a bound on one transaction's dirty pages */

typedef struct {
  size_t free_pages;   /* counted before */
  size_t taken;
} scrub_round;

static int scrub_take(kehu_txn *t, void *arg)
{
  scrub_round *r = arg;
  size_t free_pages = r->free_pages;
  r->taken = 0;
  int rc;
  MDB_stat ms;
  if ((rc = mdb_env_stat(t->st->env, &ms)) != 0)
    return kehu_store_status(rc);
  /* a value this size fills exactly one overflow page after its header */
  size_t size = ms.ms_psize - 16;
  size_t want = free_pages < SCRUB_MAX_PAGES ? free_pages : SCRUB_MAX_PAGES;
  for (size_t i = 1; i <= want; i++) {
    uint64_t key = i;   /* MDB_INTEGERKEY: native order */
    MDB_val k = {sizeof key, &key}, v = {size, NULL};
    if ((rc = mdb_put(t->txn, t->st->scrub, &k, &v, MDB_RESERVE | MDB_APPEND)) != 0)
      return kehu_store_status(rc);
    memset(v.mv_data, 0, size);
  }
  r->taken = want;
  return KEHU_OK;
}

static int scrub_give_back(kehu_txn *t, void *arg)
{
  (void)arg;
  return kehu_store_status(mdb_drop(t->txn, t->st->scrub, 0));
}

static uint64_t meta_u64(kehu_txn *t, const char *name)
{
  MDB_val k = {strlen(name), (void *)name}, v;
  if (mdb_get(t->txn, t->st->meta, &k, &v) != 0 || v.mv_size != 8)
    return 0;
  return kehu_key_get_u64(v.mv_data);
}

static int meta_put_u64(kehu_txn *t, const char *name, uint64_t n)
{
  unsigned char b[8];
  kehu_key_put_u64(b, n);
  return kehu_store_meta_put(t, name, b, sizeof b);
}

int kehu_store_scrub_note_purge(kehu_txn *t)
{
  return meta_put_u64(t, "scrub:purges", meta_u64(t, "scrub:purges") + 1);
}

static int scrub_mark_done(kehu_txn *t, void *arg)
{
  return meta_put_u64(t, "scrub:done", *(const uint64_t *)arg);
}

int kehu_store_scrub_free_pages(kehu_store *st, size_t *pages)
{
  *pages = 0;
  /* the purges this scrub covers: every one noted by now */
  kehu_txn rt;
  int brc = kehu_store_read_begin(st, &rt);
  if (brc != KEHU_OK)
    return brc;
  uint64_t purges = meta_u64(&rt, "scrub:purges"), done = meta_u64(&rt, "scrub:done");
  kehu_store_read_end(&rt);
  if (purges == done)
    return KEHU_OK;   /* no purge since the last scrub: nothing of a record to zero */
  size_t first_free = 0;
  /* Rounds: LMDB reuses no page freed by the transaction just before (a
   * reader may still be on it), so the pages a purge freed are taken from
   * the second round on; each round's own frees (pages it copied on write)
   * hold no values of records. More rounds while the free list is long. */
  for (int round = 0; round < 64; round++) {
    scrub_round r = {0, 0};
    kehu_txn t;
    int rc = kehu_store_read_begin(st, &t);
    if (rc != KEHU_OK)
      return rc;
    rc = kehu_store_status(count_free_pages(t.txn, &r.free_pages));
    kehu_store_read_end(&t);
    if (rc == KEHU_OK && r.free_pages)
      rc = kehu_store_write(st, scrub_take, &r);
    if (rc == KEHU_OK && r.taken)
      rc = kehu_store_write(st, scrub_give_back, NULL);
    if (rc != KEHU_OK)
      return rc;
    *pages += r.taken;
    if (round == 0)
      first_free = r.free_pages;
    /* LMDB hands out the oldest free pages first, and the ones given back
     * here are the newest: once the rounds took as many as were free at
     * the start, plus a round for what round 0 could not reuse yet, every
     * page free at the start was zeroed */
    if (round >= 1 && (r.taken < SCRUB_MAX_PAGES || *pages >= first_free + SCRUB_MAX_PAGES))
      break;
  }
  return kehu_store_write(st, scrub_mark_done, &purges);
}

#define COPY_BATCH 100000   /* entries per transaction of the new store */

int kehu_store_copy_logical(kehu_store *from, kehu_store *to, size_t *entries)
{
  *entries = 0;
  kehu_txn r;
  int rc = kehu_store_read_begin(from, &r);
  if (rc != KEHU_OK)
    return rc;
  kehu_txn w = {.st = to};
  size_t in_txn = 0;
  int status = KEHU_OK;
  for (size_t i = 0; i < TABLE_COUNT + KEHU_KIND_COUNT && status == KEHU_OK; i++) {
    MDB_dbi src = table_dbi(from, i), dst = table_dbi(to, i);
    unsigned flags = i < TABLE_COUNT ? tables[i].flags : 0;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(r.txn, src, &cur)) != 0) {
      status = kehu_store_status(rc);
      break;
    }
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      if (!w.txn && (status = kehu_store_write_begin(to, &w)) != KEHU_OK)
        break;
      /* in key order: appended, so the new pages fill up */
      int prc = mdb_put(w.txn, dst, &k, &v, flags & MDB_DUPSORT ? MDB_APPENDDUP : MDB_APPEND);
      if (prc == MDB_KEYEXIST)
        prc = mdb_put(w.txn, dst, &k, &v, 0);
      if (prc != 0) {
        status = kehu_store_status(prc);
        break;
      }
      (*entries)++;
      if (++in_txn == COPY_BATCH) {
        if ((prc = kehu_store_write_commit(&w)) != 0)
          status = kehu_store_status(prc);
        in_txn = 0;
      }
    }
    mdb_cursor_close(cur);
    if (status == KEHU_OK && rc != MDB_NOTFOUND)
      status = kehu_store_status(rc);
  }
  if (w.txn) {
    if (status == KEHU_OK) {
      int prc = kehu_store_write_commit(&w);
      if (prc != 0)
        status = kehu_store_status(prc);
    } else {
      kehu_store_write_abort(&w);
    }
  }
  kehu_store_read_end(&r);
  return status;
}
