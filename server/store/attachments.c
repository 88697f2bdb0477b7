/* Attachment bytes: sealed chunks keyed attachment seq | chunk number, so
 * a file is one cursor range and a download reads only the chunks it needs. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static void chunk_key(unsigned char out[12], uint64_t seq, uint32_t chunk)
{
  kehu_key_put_u64(out, seq);
  out[8] = (unsigned char)(chunk >> 24);
  out[9] = (unsigned char)(chunk >> 16);
  out[10] = (unsigned char)(chunk >> 8);
  out[11] = (unsigned char)chunk;
}

int kehu_store_attachment_put(kehu_txn *t, uint64_t seq, const uint8_t *data, size_t n)
{
  for (uint32_t chunk = 0; (size_t)chunk * KEHU_ATTACHMENT_CHUNK < n || (n == 0 && chunk == 0);
       chunk++) {
    size_t off = (size_t)chunk * KEHU_ATTACHMENT_CHUNK;
    size_t len = n - off < KEHU_ATTACHMENT_CHUNK ? n - off : KEHU_ATTACHMENT_CHUNK;
    unsigned char k[12];
    chunk_key(k, seq, chunk);
    MDB_val key = {12, k}, v = {len + KEHU_SEAL_OVERHEAD, NULL};
    int rc = mdb_put(t->txn, t->st->attachment_data, &key, &v, MDB_RESERVE);
    if (rc != 0)
      return kehu_store_status(rc);
    if ((rc = kehu_seal(t->st, k, 12, data + off, len, v.mv_data)) != KEHU_OK ||
        (rc = kehu_change_note(t, t->st->attachment_data, k, 12)) != KEHU_OK)
      return rc;
    if (n == 0)
      break;
  }
  return KEHU_OK;
}

int kehu_store_attachment_read(kehu_txn *t, uint64_t seq, uint64_t offset, size_t len,
                               uint8_t *out, size_t *got)
{
  *got = 0;
  uint8_t *plain = malloc(KEHU_ATTACHMENT_CHUNK);
  if (!plain)
    return KEHU_EXHAUSTED;
  int status = KEHU_OK;
  while (*got < len) {
    uint64_t pos = offset + *got;
    unsigned char k[12];
    chunk_key(k, seq, (uint32_t)(pos / KEHU_ATTACHMENT_CHUNK));
    MDB_val key = {12, k}, v;
    int rc = mdb_get(t->txn, t->st->attachment_data, &key, &v);
    if (rc == MDB_NOTFOUND)
      break;   /* past the end */
    if (rc != 0 || v.mv_size < KEHU_SEAL_OVERHEAD ||
        v.mv_size - KEHU_SEAL_OVERHEAD > KEHU_ATTACHMENT_CHUNK) {
      status = rc ? kehu_store_status(rc) : KEHU_INTERNAL;
      break;
    }
    size_t n = v.mv_size - KEHU_SEAL_OVERHEAD;
    if ((status = kehu_unseal(t->st, k, 12, v.mv_data, v.mv_size, plain)) != KEHU_OK)
      break;
    size_t in_chunk = (size_t)(pos % KEHU_ATTACHMENT_CHUNK);
    if (in_chunk >= n)
      break;
    size_t take = n - in_chunk < len - *got ? n - in_chunk : len - *got;
    memcpy(out + *got, plain + in_chunk, take);
    *got += take;
    if (n < KEHU_ATTACHMENT_CHUNK)
      break;   /* the last chunk */
  }
  free(plain);
  return status;
}

/* Called when an attachment record is deleted (delete, purge). */
int kehu_store_attachment_delete(kehu_txn *t, uint64_t seq)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->attachment_data, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char k[12];
  chunk_key(k, seq, 0);
  MDB_val key = {12, k}, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
    if (key.mv_size != 12 || kehu_key_get_u64(key.mv_data) != seq)
      break;
    status = kehu_logged_cursor_del(t, cur);
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}
