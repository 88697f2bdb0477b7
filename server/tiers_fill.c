#include "tiers_fill.h"

#include <stdlib.h>
#include <string.h>

#include "tiers.h"
#include "writes.h"

#define MARKER KEHU_TIERS_MARKER
#define BATCH 200

typedef struct {
  kehu_server *srv;
  uint64_t after;   /* the last customer done (0: none yet) */
  uint64_t last;    /* this batch's last, set by apply */
  int done;
} fill;

static int marked(kehu_txn *t)
{
  MDB_val k = {sizeof MARKER - 1, MARKER}, v;
  return mdb_get(t->txn, *kehu_store_meta_dbi(t->st), &k, &v) == 0;
}

/* Up to BATCH customer keys after `after`, in key order. */
static int next_keys(kehu_txn *t, uint64_t after, uint64_t *keys, size_t *n)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, *kehu_store_customers_dbi(t->st), &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char b[8];
  kehu_key_put_u64(b, after + 1);
  MDB_val k = {8, b}, v;
  *n = 0;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && *n < BATCH;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    if (k.mv_size == 8)
      keys[(*n)++] = kehu_key_get_u64(k.mv_data);
  mdb_cursor_close(cur);
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

static int apply_fill(kehu_txn *t, void *arg)
{
  fill *f = arg;
  f->done = 0;   /* an apply may run twice (writer.c) */
  f->last = f->after;
  if (marked(t)) {
    f->done = 1;
    return KEHU_OK;
  }
  uint64_t keys[BATCH];
  size_t n = 0;
  int st = next_keys(t, f->after, keys, &n);
  kehu_rule_ctx rc = {t, kehu_now(f->srv), &f->srv->cfg};
  for (size_t i = 0; i < n && st == KEHU_OK; i++)
    st = kehu_tiers_update(&rc, keys[i]);
  if (st == KEHU_OK && n < BATCH) {
    f->done = 1;
    st = kehu_store_meta_put(t, MARKER, "1", 1);
  }
  if (n)
    f->last = keys[n - 1];
  return st;
}

static void filled(kehu_call *call, int status, void *arg)
{
  (void)call;
  fill *f = arg;
  if (status != KEHU_OK || f->done || f->srv->stopping) {
    /* a failure is tried again at the next start: the marker is not set */
    free(f);
    return;
  }
  f->after = f->last;
  kehu_submit_write_detached(f->srv, apply_fill, filled, f);
}

void kehu_tiers_fill_start(kehu_server *srv)
{
  kehu_txn t;
  if (kehu_store_read_begin(srv->store, &t) != KEHU_OK)
    return;
  int done = marked(&t);
  kehu_store_read_end(&t);
  fill *f = done ? NULL : calloc(1, sizeof *f);
  if (!f)
    return;
  f->srv = srv;
  kehu_submit_write_detached(srv, apply_fill, filled, f);
}
