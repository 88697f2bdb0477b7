/* The writer thread: every write of the server runs here. Requests that
 * queue up while a commit is being synced go into the next transaction
 * together (group commit: one fsync for many clients); each request runs in
 * a nested transaction so one that fails leaves the others' work intact. */
#include <pthread.h>
#include <stdlib.h>

#include "store_internal.h"

/* A bound on one transaction's size, so a flood of writes still commits
 * (and answers) in steps, and the dirty-page list never overflows. */
#define MAX_BATCH 1024

struct kehu_writer {
  kehu_store *st;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  kehu_write_req *queue_head, *queue_tail;
  kehu_write_req *done_head, *done_tail;
  int stopping;
  void (*notify)(void *ctx);
  void *ctx;
  uint64_t commits, requests;
};

static void set_all(kehu_write_req *batch, int from, int to)
{
  for (kehu_write_req *r = batch; r; r = r->next)
    if (r->status == from)
      r->status = to;
}

/* Applies each request in its own nested transaction. Returns 1 when the
 * map is full and the whole batch must be retried after growing it. */
static int apply_batch(kehu_txn *parent, kehu_write_req *batch)
{
  for (kehu_write_req *r = batch; r; r = r->next) {
    MDB_txn *child;
    int rc = mdb_txn_begin(parent->st->env, parent->txn, 0, &child);
    if (rc != 0) {
      r->status = kehu_store_status(rc);
      return rc == MDB_MAP_FULL;
    }
    kehu_txn t = {parent->st, child};
    r->status = r->apply(&t, r->arg);
    if (r->status != KEHU_OK) {
      mdb_txn_abort(child);
      if (r->status == KEHU_EXHAUSTED)
        return 1;
      continue;
    }
    if ((rc = mdb_txn_commit(child)) != 0) {
      r->status = kehu_store_status(rc);
      if (rc == MDB_MAP_FULL)
        return 1;
    }
  }
  return 0;
}

static void run_batch(kehu_writer *w, kehu_write_req *batch)
{
  for (int attempt = 0; attempt < 20; attempt++) {
    kehu_txn t;
    int rc = kehu_store_write_begin(w->st, &t);
    if (rc != 0) {
      set_all(batch, KEHU_OK, kehu_store_status(rc));
      return;
    }
    int full = apply_batch(&t, batch);
    if (!full) {
      rc = kehu_store_write_commit(&t);
      if (rc == 0) {
        w->commits++;
        return;
      }
      if (rc != MDB_MAP_FULL) {
        set_all(batch, KEHU_OK, kehu_store_status(rc));
        return;
      }
    } else {
      kehu_store_write_abort(&t);
    }
    /* The map is full: grow it and run the whole batch again. */
    if (kehu_store_grow(w->st) != 0)
      break;
  }
  for (kehu_write_req *r = batch; r; r = r->next)
    r->status = KEHU_EXHAUSTED;
}

static void *writer_main(void *arg)
{
  kehu_writer *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->queue_head && !w->stopping)
      pthread_cond_wait(&w->cv, &w->mu);
    if (!w->queue_head)
      break;
    kehu_write_req *batch = w->queue_head, *last = batch;
    size_t n = 1;
    while (last->next && n < MAX_BATCH) {
      last = last->next;
      n++;
    }
    w->queue_head = last->next;
    if (!w->queue_head)
      w->queue_tail = NULL;
    last->next = NULL;
    pthread_mutex_unlock(&w->mu);

    run_batch(w, batch);

    pthread_mutex_lock(&w->mu);
    w->requests += n;
    if (w->done_tail)
      w->done_tail->next = batch;
    else
      w->done_head = batch;
    w->done_tail = last;
    pthread_mutex_unlock(&w->mu);
    if (w->notify)
      w->notify(w->ctx);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int kehu_writer_start(kehu_writer **out, kehu_store *st, void (*notify)(void *ctx), void *ctx)
{
  kehu_writer *w = calloc(1, sizeof *w);
  if (!w)
    return KEHU_INTERNAL;
  w->st = st;
  w->notify = notify;
  w->ctx = ctx;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
    free(w);
    return KEHU_INTERNAL;
  }
  *out = w;
  return KEHU_OK;
}

void kehu_writer_submit(kehu_writer *w, kehu_write_req *req)
{
  req->next = NULL;
  req->status = KEHU_OK;
  pthread_mutex_lock(&w->mu);
  if (w->queue_tail)
    w->queue_tail->next = req;
  else
    w->queue_head = req;
  w->queue_tail = req;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

kehu_write_req *kehu_writer_take_done(kehu_writer *w)
{
  pthread_mutex_lock(&w->mu);
  kehu_write_req *done = w->done_head;
  w->done_head = w->done_tail = NULL;
  pthread_mutex_unlock(&w->mu);
  return done;
}

void kehu_writer_stop(kehu_writer *w)
{
  if (!w)
    return;
  pthread_mutex_lock(&w->mu);
  w->stopping = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
}

void kehu_writer_free(kehu_writer *w)
{
  if (!w)
    return;
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  free(w);
}

void kehu_writer_counts(kehu_writer *w, uint64_t *commits, uint64_t *requests)
{
  pthread_mutex_lock(&w->mu);
  *commits = w->commits;
  *requests = w->requests;
  pthread_mutex_unlock(&w->mu);
}
