/* The audit log: entries keyed by sequence, each carrying the SHA-256 of
 * the previous entry's encoding, and the head (last sequence and its
 * hash) kept apart in meta, so removing or altering any entry, the newest
 * included, breaks the chain. */
#include <stdio.h>
#include <string.h>

#include <nettle/sha2.h>

#include "store_internal.h"

/* SHA-256 of an entry's encoding (nettle: the CPU's SHA instructions) */
static void sha256(const void *data, size_t n, unsigned char out[32])
{
  struct sha256_ctx c;
  sha256_init(&c);
  sha256_update(&c, n, data);
  sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

static const char head_key[] = "audit:head";
static const char base_key[] = "audit:base";

typedef struct {
  uint64_t seq;
  unsigned char hash[32];
} audit_head;

static int read_mark(kehu_txn *t, const char *key, audit_head *h)
{
  memset(h, 0, sizeof *h);
  MDB_val k = {strlen(key), (void *)key}, v;
  int rc = mdb_get(t->txn, t->st->meta, &k, &v);
  if (rc == MDB_NOTFOUND)
    return KEHU_OK;
  if (rc != 0 || v.mv_size != 40)
    return rc ? kehu_store_status(rc) : KEHU_INTERNAL;
  h->seq = kehu_key_get_u64(v.mv_data);
  memcpy(h->hash, (unsigned char *)v.mv_data + 8, 32);
  return KEHU_OK;
}

static int read_head(kehu_txn *t, audit_head *h)
{
  return read_mark(t, head_key, h);
}

int kehu_store_audit_append(kehu_txn *t, Kehu__AuditEntry *e)
{
  audit_head h;
  int rc = read_head(t, &h);
  if (rc != KEHU_OK)
    return rc;
  e->seq = h.seq + 1;
  e->prev_hash.data = h.hash;
  e->prev_hash.len = 32;
  size_t n = kehu__audit_entry__get_packed_size(e);
  uint64_t seq = e->seq;   /* MDB_INTEGERKEY: native byte order */
  MDB_val k = {sizeof seq, &seq}, v = {n, NULL};
  if ((rc = mdb_put(t->txn, t->st->audit, &k, &v, MDB_RESERVE | MDB_APPEND)) != 0)
    return kehu_store_status(rc);
  kehu__audit_entry__pack(e, v.mv_data);
  if ((rc = kehu_change_note(t, t->st->audit, &seq, sizeof seq)) != KEHU_OK)
    return rc;
  unsigned char head[40];
  kehu_key_put_u64(head, e->seq);
  sha256(v.mv_data, n, head + 8);
  MDB_val hk = {sizeof head_key - 1, (void *)head_key}, hv = {40, head};
  return kehu_logged_put(t, t->st->meta, &hk, &hv, 0);
}

int kehu_store_audit_list(kehu_txn *t, uint64_t before, unsigned limit,
                          int (*each)(const Kehu__AuditEntry *e, void *arg), void *arg,
                          uint64_t *next)
{
  *next = 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->audit, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  uint64_t start = before;
  MDB_val k = {sizeof start, &start}, v;
  rc = before ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : MDB_NOTFOUND;
  rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
  unsigned count = 0;
  uint64_t last = 0;
  int status = KEHU_OK;
  for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
    uint64_t seq;
    memcpy(&seq, k.mv_data, sizeof seq);
    if (count == limit) {
      *next = last;
      break;
    }
    Kehu__AuditEntry *e = kehu__audit_entry__unpack(NULL, v.mv_size, v.mv_data);
    if (!e) {
      status = KEHU_INTERNAL;
      break;
    }
    if (each(e, arg)) {
      count++;
      last = seq;
    }
    kehu__audit_entry__free_unpacked(e, NULL);
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}


int kehu_store_audit_verify(kehu_txn *t, char *report, size_t len, unsigned long *problems,
                            uint64_t *entries)
{
  kehu_findings f = {report, len, 0, 0};
  if (len)
    report[0] = '\0';
  audit_head head;
  int rc = read_head(t, &head);
  if (rc != KEHU_OK)
    return rc;
  MDB_cursor *cur;
  if ((rc = mdb_cursor_open(t->txn, t->st->audit, &cur)) != 0)
    return kehu_store_status(rc);
  audit_head base;
  if ((rc = read_mark(t, base_key, &base)) != KEHU_OK) {
    mdb_cursor_close(cur);
    return rc;
  }
  unsigned char prev[32];
  memcpy(prev, base.hash, 32);
  uint64_t expect = base.seq + 1;
  MDB_val k, v;
  *entries = 0;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    uint64_t seq;
    memcpy(&seq, k.mv_data, sizeof seq);
    (*entries)++;
    Kehu__AuditEntry *e = kehu__audit_entry__unpack(NULL, v.mv_size, v.mv_data);
    if (seq != expect)
      kehu_finding(&f, "entry %llu is missing (next present is %llu)\n", (unsigned long long)expect,
              (unsigned long long)seq);
    if (!e)
      kehu_finding(&f, "entry %llu does not decode: altered\n", (unsigned long long)seq);
    else if (e->seq != seq)
      kehu_finding(&f, "entry %llu says it is %llu: altered\n", (unsigned long long)seq,
              (unsigned long long)e->seq);
    else if (e->prev_hash.len != 32 || memcmp(e->prev_hash.data, prev, 32) != 0)
      kehu_finding(&f, "entry %llu does not follow from the entry before it: the chain is broken\n",
              (unsigned long long)seq);
    if (e)
      kehu__audit_entry__free_unpacked(e, NULL);
    sha256(v.mv_data, v.mv_size, prev);
    expect = seq + 1;
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND)
    return kehu_store_status(rc);
  if (head.seq != expect - 1)
    kehu_finding(&f, "the log ends at entry %llu but its head says %llu: entries were removed\n",
            (unsigned long long)(expect - 1), (unsigned long long)head.seq);
  else if (head.seq && memcmp(head.hash, prev, 32) != 0)
    kehu_finding(&f, "the last entry %llu does not match the head's hash: altered\n",
            (unsigned long long)head.seq);
  *problems = f.problems;
  return KEHU_OK;
}

int kehu_store_audit_head(kehu_txn *t, uint64_t *seq, unsigned char hash[32])
{
  audit_head h;
  int rc = read_head(t, &h);
  *seq = h.seq;
  memcpy(hash, h.hash, 32);
  return rc;
}

int kehu_store_audit_base(kehu_txn *t, uint64_t *seq, unsigned char hash[32])
{
  audit_head b;
  int rc = read_mark(t, base_key, &b);
  *seq = b.seq;
  memcpy(hash, b.hash, 32);
  return rc;
}

int kehu_store_audit_oldest(kehu_txn *t, uint64_t after, int64_t before, size_t max,
                            int (*each)(uint64_t seq, const void *bytes, size_t len, void *arg),
                            void *arg)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->audit, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  uint64_t start = after + 1;
  MDB_val k = {sizeof start, &start}, v;
  int status = KEHU_OK;
  size_t n = 0;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && n < max;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
    uint64_t seq;
    memcpy(&seq, k.mv_data, sizeof seq);
    Kehu__AuditEntry *e = kehu__audit_entry__unpack(NULL, v.mv_size, v.mv_data);
    if (!e) {
      status = KEHU_INTERNAL;
      break;
    }
    int old = e->at < before;
    kehu__audit_entry__free_unpacked(e, NULL);
    if (!old || (status = each(seq, v.mv_data, v.mv_size, arg)) != KEHU_OK)
      break;
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}

int kehu_store_audit_drop_through(kehu_txn *t, uint64_t upto)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->audit, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  audit_head base;
  int status = read_mark(t, base_key, &base);
  MDB_val k, v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    uint64_t seq;
    memcpy(&seq, k.mv_data, sizeof seq);
    if (seq > upto)
      break;
    base.seq = seq;
    sha256(v.mv_data, v.mv_size, base.hash);
    status = kehu_logged_cursor_del(t, cur);
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  if (status != KEHU_OK)
    return status;
  unsigned char mark[40];
  kehu_key_put_u64(mark, base.seq);
  memcpy(mark + 8, base.hash, 32);
  MDB_val bk = {sizeof base_key - 1, (void *)base_key}, bv = {40, mark};
  return kehu_logged_put(t, t->st->meta, &bk, &bv, 0);
}
