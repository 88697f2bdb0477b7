/* Encryption at rest (docs/storage.md#encryption-at-rest): records holding sensitive values are
 * sealed with AES-256-GCM under a key derived from DATADIR/data.key, and
 * their index entries are keyed HMACs, so a copied database file alone
 * reveals neither. */
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
  /* HMAC(K, m) = H((K ^ opad) | H((K ^ ipad) | m)), K zero-padded to a block */
  unsigned char pad[2][64];
  for (int i = 0; i < 64; i++) {
    unsigned char k = i < 32 ? st->index_key[i] : 0;
    pad[0][i] = k ^ 0x36;
    pad[1][i] = k ^ 0x5c;
  }
  mbedtls_sha256_context *ctx[2] = {&st->index_inner, &st->index_outer};
  for (int i = 0; i < 2; i++) {
    mbedtls_sha256_free(ctx[i]);
    mbedtls_sha256_init(ctx[i]);
    /* SHA-256 in mbedTLS cannot fail here: no hardware, no allocation */
    (void)mbedtls_sha256_starts_ret(ctx[i], 0);
    (void)mbedtls_sha256_update_ret(ctx[i], pad[i], 64);
  }
  memset(pad, 0, sizeof pad);
}

int kehu_store_load_key(kehu_store *st, const char *path, kehu_error *err)
{
  unsigned char master[32];
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot open the data key %s", path);
  ssize_t n = read(fd, master, sizeof master);
  close(fd);
  if (n != (ssize_t)sizeof master)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "the data key %s is not 32 bytes", path);
  /* Separate keys per purpose, so an index hash never doubles as a cipher key. */
  hmac(master, "kehu record seal v1", 19, st->seal_key);
  hmac(master, "kehu index hmac v1", 18, st->index_key);
  memset(master, 0, sizeof master);
  kehu_index_key_ready(st);
  st->has_key = 1;
  return KEHU_OK;
}

void kehu_index_hmac(kehu_store *st, const char *value, unsigned char out[32])
{
  unsigned char inner[32];
  mbedtls_sha256_context c;
  mbedtls_sha256_init(&c);
  mbedtls_sha256_clone(&c, &st->index_inner);
  mbedtls_sha256_update_ret(&c, (const unsigned char *)value, strlen(value));
  mbedtls_sha256_finish_ret(&c, inner);
  mbedtls_sha256_clone(&c, &st->index_outer);
  mbedtls_sha256_update_ret(&c, inner, sizeof inner);
  mbedtls_sha256_finish_ret(&c, out);
  mbedtls_sha256_free(&c);
}

int kehu_seal(kehu_store *st, const void *aad, size_t aad_len, const uint8_t *plain, size_t n,
              uint8_t *out)
{
  out[0] = 1;
  if (getrandom(out + 1, 12, 0) != 12)
    return KEHU_INTERNAL;
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  int rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, st->seal_key, 256);
  if (rc == 0)
    rc = mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, n, out + 1, 12, aad, aad_len, plain,
                                   out + 13, 16, out + 13 + n);
  mbedtls_gcm_free(&gcm);
  return rc == 0 ? KEHU_OK : KEHU_INTERNAL;
}

int kehu_unseal(kehu_store *st, const void *aad, size_t aad_len, const uint8_t *sealed, size_t n,
                uint8_t *out)
{
  if (n < KEHU_SEAL_OVERHEAD || sealed[0] != 1)
    return KEHU_INTERNAL;
  size_t len = n - KEHU_SEAL_OVERHEAD;
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  int rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, st->seal_key, 256);
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
