/* Encryption at rest (docs/storage.md#encryption-at-rest): records holding sensitive values are
 * sealed with AES-256-GCM under a key derived from DATADIR/data.key, and
 * their index entries are keyed HMACs, so a copied database file alone
 * reveals neither. kehu-admin rotate-key moves the sealed values to keys of
 * later generations (docs/storage.md#key-generations). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <mbedtls/gcm.h>
#include <mbedtls/md.h>

#include "store_internal.h"

static void hmac(const unsigned char *key, const void *msg, size_t n, unsigned char out[32])
{
  mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32, msg, n, out);
}

void kehu_index_key_ready(kehu_store *st)
{
  /* nettle's SHA-256 uses the CPU's SHA instructions: the index hashes are
   * on every write's path (a phone, its tails) */
  hmac_sha256_set_key(&st->index_hmac, sizeof st->index_key, st->index_key);
}

/* Every generation's seal key is HMAC(its key file's bytes, this label):
 * data.key for generation 1 (as before generations existed), keys/seal-G.key
 * for G >= 2, so each key file is a master of the same kind. */
#define SEAL_LABEL "kehu record seal v1"

/* The 32 bytes of a key file: 0, -1 when it cannot be read (errno), -2
 * when it does not hold 32 bytes (exact: more than that is refused too). */
static int read_key_file(const char *path, unsigned char out[32], int exact)
{
  unsigned char buf[33];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, exact ? sizeof buf : 32);
  int e = errno;
  close(fd);
  if (n < 0) {
    errno = e;
    return -1;
  }
  int rc = n == 32 ? 0 : -2;
  if (rc == 0)
    memcpy(out, buf, 32);
  memset(buf, 0, sizeof buf);
  return rc;
}

/* Derives generation gen's seal key from master and publishes it. */
static void set_generation(kehu_store *st, unsigned gen, const unsigned char master[32])
{
  hmac(master, SEAL_LABEL, sizeof SEAL_LABEL - 1, st->seal_keys[gen]);
  atomic_store_explicit(&st->key_ready[gen], 1, memory_order_release);
}

const char *kehu_store_key_dir(kehu_store *st)
{
  return st->key_dir;
}

int kehu_store_seal_key_load(kehu_store *st, unsigned gen, kehu_error *err)
{
  if (gen == 0 || gen > KEHU_SEAL_GEN_MAX)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "there is no key generation %u", gen);
  if (atomic_load_explicit(&st->key_ready[gen], memory_order_acquire))
    return KEHU_OK;
  if (gen == 1 || !st->key_dir[0])
    return kehu_fail(err, KEHU_INTERNAL, NULL, "the data key is not loaded");
  char path[sizeof st->key_dir + 32];
  snprintf(path, sizeof path, "%s/seal-%u.key", st->key_dir, gen);
  int rc = KEHU_OK;
  /* One loader at a time: a key is written once, before it is published. */
  pthread_mutex_lock(&st->key_lock);
  if (!atomic_load_explicit(&st->key_ready[gen], memory_order_relaxed)) {
    unsigned char master[32];
    int r = read_key_file(path, master, 1);
    if (r == -1)
      rc = kehu_fail(err, KEHU_INTERNAL, NULL, "cannot read the key of generation %u, %s: %s",
                     gen, path, strerror(errno));
    else if (r == -2)
      rc = kehu_fail(err, KEHU_INTERNAL, NULL, "the key of generation %u, %s, is not 32 bytes",
                     gen, path);
    else
      set_generation(st, gen, master);
    memset(master, 0, sizeof master);
  }
  pthread_mutex_unlock(&st->key_lock);
  return rc;
}

/* The generation a key file's name gives (seal-G.key, G in 2..255 written
 * without leading zeros), or 0 for any other name (a temporary file). */
static unsigned key_file_generation(const char *name)
{
  if (strncmp(name, "seal-", 5) != 0 || name[5] < '1' || name[5] > '9')
    return 0;
  unsigned gen = 0;
  const char *p = name + 5;
  for (; *p >= '0' && *p <= '9' && gen <= KEHU_SEAL_GEN_MAX; p++)
    gen = gen * 10 + (unsigned)(*p - '0');
  return strcmp(p, ".key") == 0 && gen >= 2 && gen <= KEHU_SEAL_GEN_MAX ? gen : 0;
}

/* Loads every key file in key_dir now, so that a key a rotation removes
 * once no value needs it is still at hand for a read that began before. */
static int load_key_dir(kehu_store *st, kehu_error *err)
{
  DIR *d = opendir(st->key_dir);
  if (!d)
    return errno == ENOENT ? KEHU_OK
                           : kehu_fail(err, KEHU_INTERNAL, NULL, "cannot read %s: %s",
                                       st->key_dir, strerror(errno));
  int rc = KEHU_OK;
  struct dirent *e;
  while (rc == KEHU_OK && (e = readdir(d)))
    if (key_file_generation(e->d_name))
      rc = kehu_store_seal_key_load(st, key_file_generation(e->d_name), err);
  closedir(d);
  return rc;
}

int kehu_store_load_key(kehu_store *st, const char *path, kehu_error *err)
{
  unsigned char master[32];
  int r = read_key_file(path, master, 0);
  if (r == -1)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot open the data key %s", path);
  if (r == -2)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "the data key %s is not 32 bytes", path);
  /* Separate keys per purpose, so an index hash never doubles as a cipher
   * key. The index key stays data.key's for good: index entries are one-way
   * hashes, which a rotation cannot re-key without rebuilding them. */
  set_generation(st, 1, master);
  hmac(master, "kehu index hmac v1", 18, st->index_key);
  memset(master, 0, sizeof master);
  kehu_index_key_ready(st);
  /* the key files of later generations: DATADIR/keys beside data.key */
  const char *slash = strrchr(path, '/');
  int dir_len = slash ? (int)(slash - path) : 1;
  snprintf(st->key_dir, sizeof st->key_dir, "%.*s/keys", dir_len, slash ? path : ".");
  atomic_store_explicit(&st->seal_gen, 1, memory_order_relaxed);
  st->has_key = 1;
  int rc = load_key_dir(st, err);
  /* an upgraded store's counts of orders and tickets need the key
   * (docs/storage.md#meta-and-format-versions), and so does its birthday
   * index (docs/storage.md#birthdays) */
  if (rc == KEHU_OK &&
      kehu_store_after_key_run(st, KEHU_AFTER_KEY_COUNTS, kehu_store_counts_records_fill) != KEHU_OK)
    rc = kehu_fail(err, KEHU_INTERNAL, NULL, "cannot count the orders and tickets of the store");
  if (rc == KEHU_OK && kehu_store_after_key_run(st, KEHU_AFTER_KEY_BDAY, kehu_store_bday_fill) != KEHU_OK)
    rc = kehu_fail(err, KEHU_INTERNAL, NULL, "cannot index the birthdays of the store");
  return rc;
}

int kehu_store_after_key_mark(kehu_txn *t, const char *name)
{
  return kehu_store_meta_put(t, name, "1", 1);
}

int kehu_store_after_key_marked(kehu_txn *t, const char *name)
{
  MDB_val k = {strlen(name), (void *)name}, v;
  return mdb_get(t->txn, t->st->meta, &k, &v) == 0;
}

typedef struct {
  const char *name;
  int (*step)(kehu_txn *t);
} after_key;

static int run_after_key(kehu_txn *t, void *arg)
{
  const after_key *a = arg;
  if (!kehu_store_after_key_marked(t, a->name))
    return KEHU_OK;   /* done meanwhile */
  int rc = a->step(t);
  return rc == KEHU_OK ? kehu_logged_del(t, t->st->meta, a->name, strlen(a->name)) : rc;
}

int kehu_store_after_key_run(kehu_store *st, const char *name, int (*step)(kehu_txn *t))
{
  kehu_txn t;
  if (kehu_store_read_begin(st, &t) != KEHU_OK)
    return KEHU_INTERNAL;
  int marked = kehu_store_after_key_marked(&t, name);
  kehu_store_read_end(&t);
  after_key a = {name, step};
  return marked ? kehu_store_write(st, run_after_key, &a) : KEHU_OK;
}

void kehu_seal_gen_refresh(kehu_store *st, MDB_txn *txn)
{
  if (!st->has_key)
    return;
  static const char name[] = "seal:gen";
  MDB_val k = {sizeof name - 1, (void *)name}, v;
  unsigned gen = 1;
  if (mdb_get(txn, st->meta, &k, &v) == 0 && v.mv_size == 8) {
    uint64_t g = kehu_key_get_u64(v.mv_data);
    /* out of range: kept, so that kehu_seal refuses to seal under it */
    gen = g <= KEHU_SEAL_GEN_MAX ? (unsigned)g : 0;
  }
  atomic_store_explicit(&st->seal_gen, gen, memory_order_relaxed);
}

/* The key of generation gen, loaded when first needed; NULL when it cannot
 * be (said on stderr: kehud's log, as the value's reader gets INTERNAL). */
static const unsigned char *generation_key(kehu_store *st, unsigned gen)
{
  if (gen && gen <= KEHU_SEAL_GEN_MAX &&
      atomic_load_explicit(&st->key_ready[gen], memory_order_acquire))
    return st->seal_keys[gen];
  kehu_error err = {0};
  if (kehu_store_seal_key_load(st, gen, &err) != KEHU_OK) {
    fprintf(stderr, "kehu store: %s\n", err.message);
    return NULL;
  }
  return st->seal_keys[gen];
}

void kehu_index_hmac(kehu_store *st, const char *value, unsigned char out[32])
{
  struct hmac_sha256_ctx c = st->index_hmac;
  hmac_sha256_update(&c, strlen(value), (const uint8_t *)value);
  hmac_sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

int kehu_seal(kehu_store *st, const void *aad, size_t aad_len, const uint8_t *plain, size_t n,
              uint8_t *out)
{
  unsigned gen = atomic_load_explicit(&st->seal_gen, memory_order_relaxed);
  const unsigned char *key = generation_key(st, gen);
  if (!key)
    return KEHU_INTERNAL;
  out[0] = (uint8_t)gen;
  if (getrandom(out + 1, 12, 0) != 12)
    return KEHU_INTERNAL;
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  int rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 256);
  if (rc == 0)
    rc = mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, n, out + 1, 12, aad, aad_len, plain,
                                   out + 13, 16, out + 13 + n);
  mbedtls_gcm_free(&gcm);
  return rc == 0 ? KEHU_OK : KEHU_INTERNAL;
}

int kehu_unseal(kehu_store *st, const void *aad, size_t aad_len, const uint8_t *sealed, size_t n,
                uint8_t *out)
{
  if (n < KEHU_SEAL_OVERHEAD)
    return KEHU_INTERNAL;
  const unsigned char *key = generation_key(st, sealed[0]);
  if (!key)
    return KEHU_INTERNAL;
  size_t len = n - KEHU_SEAL_OVERHEAD;
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  int rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 256);
  if (rc == 0)
    rc = mbedtls_gcm_auth_decrypt(&gcm, len, sealed + 1, 12, aad, aad_len, sealed + 13 + len, 16,
                                  sealed + 13, out);
  mbedtls_gcm_free(&gcm);
  return rc == 0 ? KEHU_OK : KEHU_INTERNAL;
}

int kehu_put_record(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen,
                    const ProtobufCMessage *msg, int sealed)
{
  if (!sealed || !t->st->has_key)
    return kehu_put_message(t, dbi, key, klen, msg);
  size_t n = protobuf_c_message_get_packed_size(msg);
  uint8_t stackbuf[4096], *plain = n <= sizeof stackbuf ? stackbuf : malloc(n);
  if (!plain)
    return KEHU_EXHAUSTED;
  protobuf_c_message_pack(msg, plain);
  MDB_val k = {klen, (void *)key}, v = {n + KEHU_SEAL_OVERHEAD, NULL};
  int rc = kehu_store_status(mdb_put(t->txn, dbi, &k, &v, MDB_RESERVE));
  if (rc == KEHU_OK)
    rc = kehu_seal(t->st, key, klen, plain, n, v.mv_data);
  if (rc == KEHU_OK)
    rc = kehu_change_note(t, dbi, key, klen);
  memset(plain, 0, n);
  if (plain != stackbuf)
    free(plain);
  return rc;
}

ProtobufCMessage *kehu_decode_record(kehu_store *st, const MDB_val *k, const MDB_val *v,
                                     const ProtobufCMessageDescriptor *desc, int sealed)
{
  if (!sealed || !st->has_key)
    return protobuf_c_message_unpack(desc, NULL, v->mv_size, v->mv_data);
  if (v->mv_size < KEHU_SEAL_OVERHEAD)
    return NULL;
  size_t n = v->mv_size - KEHU_SEAL_OVERHEAD;
  uint8_t stackbuf[4096], *plain = n <= sizeof stackbuf ? stackbuf : malloc(n ? n : 1);
  if (!plain)
    return NULL;
  ProtobufCMessage *m = NULL;
  if (kehu_unseal(st, k->mv_data, k->mv_size, v->mv_data, v->mv_size, plain) == KEHU_OK)
    m = protobuf_c_message_unpack(desc, NULL, n, plain);
  memset(plain, 0, n);
  if (plain != stackbuf)
    free(plain);
  return m;
}

int kehu_get_record(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen,
                    const ProtobufCMessageDescriptor *desc, int sealed, ProtobufCMessage **out)
{
  *out = NULL;
  MDB_val k = {klen, (void *)key}, v;
  int rc = mdb_get(t->txn, dbi, &k, &v);
  if (rc != 0)
    return kehu_store_status(rc);
  *out = kehu_decode_record(t->st, &k, &v, desc, sealed);
  return *out ? KEHU_OK : KEHU_INTERNAL;
}
