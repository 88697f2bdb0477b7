/* Key rotation (docs/storage.md#key-generations): the generation markers in
 * meta, and the walk that seals every value of the sealed tables again
 * under the current generation. The walk goes a bounded step per write
 * transaction, so kehud's writer waits for one step at most, and each step
 * starts from the key after the last one done, so it sees what kehud wrote
 * meanwhile (already sealed under the current generation: skipped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char gen_name[] = "seal:gen", rotating_name[] = "seal:rotating";

/* Sealed table i: the sealed record kinds in kind order, then attachment
 * bytes. 0 past the last. st may be NULL (the name only). */
static int sealed_table(kehu_store *st, unsigned i, MDB_dbi *dbi, const char **name)
{
  unsigned n = 0;
  for (int k = 0; k < KEHU_KIND_COUNT; k++) {
    if (!kehu_kind_get(k)->sealed || n++ != i)
      continue;
    if (st)
      *dbi = st->children[k];
    *name = kehu_kind_get(k)->name;
    return 1;
  }
  if (n != i)
    return 0;
  if (st)
    *dbi = st->attachment_data;
  *name = "attachment_data";
  return 1;
}

const char *kehu_store_sealed_table_name(unsigned i)
{
  const char *name = NULL;
  return sealed_table(NULL, i, NULL, &name) ? name : NULL;
}

/* A u64 of meta: KEHU_NOT_FOUND when absent, INTERNAL when not 8 bytes. */
static int meta_get(kehu_txn *t, const char *name, uint64_t *out)
{
  MDB_val k = {strlen(name), (void *)name}, v;
  int rc = mdb_get(t->txn, t->st->meta, &k, &v);
  if (rc != 0)
    return kehu_store_status(rc);
  if (v.mv_size != 8)
    return KEHU_INTERNAL;
  *out = kehu_key_get_u64(v.mv_data);
  return KEHU_OK;
}

static int meta_put(kehu_txn *t, const char *name, uint64_t value)
{
  unsigned char b[8];
  kehu_key_put_u64(b, value);
  MDB_val k = {strlen(name), (void *)name}, v = {8, b};
  return kehu_logged_put(t, t->st->meta, &k, &v, 0);
}

int kehu_store_seal_state(kehu_txn *t, unsigned *gen, unsigned *rotating)
{
  uint64_t g = 1, r = 0;
  int rc = meta_get(t, gen_name, &g);
  if (rc == KEHU_NOT_FOUND)
    rc = KEHU_OK;
  if (rc == KEHU_OK && (rc = meta_get(t, rotating_name, &r)) == KEHU_NOT_FOUND)
    rc = KEHU_OK;
  if (rc != KEHU_OK)
    return rc;
  if (g < 1 || g > KEHU_SEAL_GEN_MAX || r > KEHU_SEAL_GEN_MAX)
    return KEHU_INTERNAL;
  *gen = (unsigned)g;
  *rotating = (unsigned)r;
  return KEHU_OK;
}

int kehu_store_rotation_begin(kehu_txn *t, unsigned gen)
{
  int rc = meta_put(t, gen_name, gen);
  return rc == KEHU_OK ? meta_put(t, rotating_name, gen) : rc;
}

int kehu_store_rotation_end(kehu_txn *t)
{
  int rc = kehu_logged_del(t, t->st->meta, rotating_name, sizeof rotating_name - 1);
  return rc == KEHU_NOT_FOUND ? KEHU_OK : rc;
}

static void hex_key(const unsigned char *k, size_t n, char *out, size_t len)
{
  size_t i = 0;
  for (; i < n && 2 * i + 3 <= len; i++)
    snprintf(out + 2 * i, 3, "%02x", k[i]);
  out[2 * i] = '\0';
}

/* Why the value at key in table cannot be unsealed, into err. */
static int unseal_failed(kehu_store *st, const char *table, const kehu_reseal_pos *pos,
                         const MDB_val *v, kehu_error *err)
{
  char hex[2 * 32 + 1];
  hex_key(pos->key, pos->key_len < 32 ? pos->key_len : 32, hex, sizeof hex);
  if (v->mv_size < KEHU_SEAL_OVERHEAD)
    return kehu_fail(err, KEHU_INTERNAL, NULL,
                     "the value in %s under key %s is too short to be sealed (%zu bytes)", table,
                     hex, v->mv_size);
  unsigned gen = ((const unsigned char *)v->mv_data)[0];
  kehu_error why = {0};
  if (kehu_store_seal_key_load(st, gen, &why) != KEHU_OK)
    return kehu_fail(err, KEHU_INTERNAL, NULL,
                     "cannot unseal the value in %s under key %s (key generation %u): %s", table,
                     hex, gen, why.message);
  return kehu_fail(err, KEHU_INTERNAL, NULL,
                   "cannot unseal the value in %s under key %s: it does not authenticate under "
                   "the key of generation %u (damaged, or sealed under another key)",
                   table, hex, gen);
}

typedef struct {
  uint8_t *bytes;
  size_t cap;
} plain_buf;

/* The value at the cursor (key pos->key) sealed again under the current
 * generation, in place (same length). KEHU_INVALID when it cannot be
 * unsealed. */
static int reseal_current(kehu_txn *t, MDB_cursor *cur, const kehu_reseal_pos *pos,
                          const MDB_val *v, plain_buf *plain)
{
  if (v->mv_size < KEHU_SEAL_OVERHEAD)
    return KEHU_INVALID;
  size_t n = v->mv_size - KEHU_SEAL_OVERHEAD;
  if (plain->cap < n || !plain->bytes) {
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
      return KEHU_EXHAUSTED;
    if (plain->bytes) {
      memset(plain->bytes, 0, plain->cap);
      free(plain->bytes);
    }
    plain->bytes = p;
    plain->cap = n;
  }
  if (kehu_unseal(t->st, pos->key, pos->key_len, v->mv_data, v->mv_size, plain->bytes) != KEHU_OK)
    return KEHU_INVALID;
  MDB_val k = {pos->key_len, (void *)pos->key}, nv = {v->mv_size, NULL};
  int rc = kehu_store_status(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT | MDB_RESERVE));
  if (rc == KEHU_OK)
    rc = kehu_seal(t->st, pos->key, pos->key_len, plain->bytes, n, nv.mv_data);
  if (rc == KEHU_OK)   /* an incremental backup carries the value under its new key */
    rc = kehu_change_note(t, mdb_cursor_dbi(cur), pos->key, pos->key_len);
  memset(plain->bytes, 0, n);
  return rc;
}

/* Positions cur at the first key after pos (the first of the table when
 * the walk has not started in it). */
static int cursor_after(MDB_cursor *cur, const kehu_reseal_pos *pos, MDB_val *k, MDB_val *v)
{
  if (!pos->started)
    return mdb_cursor_get(cur, k, v, MDB_FIRST);
  *k = (MDB_val){pos->key_len, (void *)pos->key};
  int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
  if (rc == 0 && k->mv_size == pos->key_len && memcmp(k->mv_data, pos->key, pos->key_len) == 0)
    rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
  return rc;
}

int kehu_store_reseal_step(kehu_txn *t, kehu_reseal_pos *pos, size_t max_values,
                           size_t max_bytes, size_t *resealed, int *done, kehu_error *err)
{
  *resealed = 0;
  *done = 0;
  unsigned gen = atomic_load_explicit(&t->st->seal_gen, memory_order_relaxed);
  size_t looked = 0, bytes = 0;
  plain_buf plain = {NULL, 0};
  int status = KEHU_OK, full = 0;
  MDB_dbi dbi;
  const char *name;
  while (status == KEHU_OK && !full && sealed_table(t->st, pos->table, &dbi, &name)) {
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, dbi, &cur);
    if (rc != 0) {
      status = kehu_store_status(rc);
      break;
    }
    MDB_val k, v;
    for (rc = cursor_after(cur, pos, &k, &v); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      if (*resealed >= max_values || bytes >= max_bytes || looked >= 8 * max_values) {
        full = 1;
        break;
      }
      looked++;
      if (k.mv_size > sizeof pos->key) {
        status = kehu_fail(err, KEHU_INTERNAL, NULL, "a key in %s is %zu bytes long", name,
                           k.mv_size);
        break;
      }
      pos->started = 1;
      pos->key_len = k.mv_size;
      memcpy(pos->key, k.mv_data, k.mv_size);
      if (v.mv_size >= 1 && ((const unsigned char *)v.mv_data)[0] == gen)
        continue;
      status = reseal_current(t, cur, pos, &v, &plain);
      if (status == KEHU_INVALID)
        status = unseal_failed(t->st, name, pos, &v, err);
      if (status != KEHU_OK)
        break;
      (*resealed)++;
      bytes += v.mv_size;
    }
    mdb_cursor_close(cur);
    if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
      status = kehu_store_status(rc);
    if (status == KEHU_OK && !full) {   /* the end of this table */
      pos->table++;
      pos->started = 0;
    }
  }
  if (status == KEHU_OK && !full)
    *done = 1;
  if (plain.bytes) {
    memset(plain.bytes, 0, plain.cap);
    free(plain.bytes);
  }
  return status;
}

int kehu_store_seal_count(kehu_txn *t, unsigned gen, size_t *other, size_t *total)
{
  *other = *total = 0;
  MDB_dbi dbi;
  const char *name;
  for (unsigned i = 0; sealed_table(t->st, i, &dbi, &name); i++) {
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, dbi, &cur);
    if (rc != 0)
      return kehu_store_status(rc);
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      (*total)++;
      if (v.mv_size < 1 || ((const unsigned char *)v.mv_data)[0] != gen)
        (*other)++;
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
      return kehu_store_status(rc);
  }
  return KEHU_OK;
}
