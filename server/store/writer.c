/* The writer thread: every write of the server runs here. Requests that
 * queue up while a commit is being synced go into the next transaction
 * together (group commit: one fsync for many clients); they run in nested
 * transactions, a few at a time, so one that fails leaves the others' work
 * intact (apply_batch). A solo request (an import's batch) has a
 * transaction of its own and runs in it directly. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "store_internal.h"

/* A bound on one transaction's size, so a flood of writes still commits
 * (and answers) in steps, and the dirty-page list never overflows. */
#define MAX_BATCH 1024

/* Set on the writer thread alone (run_batch asserts it). */
static _Thread_local int on_writer_thread;

/* The search index's pending table (search.c): the writer lets up to
 * FOLD_HIGH postings gather there while writes keep coming, folding what
 * goes over it at the end of each batch, in the batch's own transaction;
 * once nothing has come for FOLD_IDLE_MS it folds the rest, FOLD_CHUNK at a
 * time, so a write that arrives meanwhile waits for one chunk at most.
 * Measured with kehu-bench --op add, 32 x 8, 100k customers (pages written
 * per add / adds per second): never folding 128 / 4.8k (the pending table
 * grows as big as the lists); 4k: 67 / 10.0k; 16k: 51-54 / 10.4-11.4k;
 * 32k: 61 / 11.5k; 256k: 123 / 6.8k; no pending table: 158 / 4.3k. */
#define FOLD_HIGH 16384
#define FOLD_CHUNK 8192
#define FOLD_IDLE_MS 100

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
  uint64_t commit_ns;   /* time in the commits of requests: pages written, then synced */
  /* writer thread only: */
  kehu_fold_pos fold_pos;   /* where the last committed fold stopped */
  size_t pending;           /* postings left pending after the last commit */
  kehu_fold_pos fold_next;  /* the same for the transaction not yet committed */
  size_t pending_next;
  int grow_wanted;          /* a fold ran out of map */
};

static void set_all(kehu_write_req *batch, int from, int to)
{
  for (kehu_write_req *r = batch; r; r = r->next)
    if (r->status == from)
      r->status = to;
}

/* Applies one request in its own nested transaction. Returns 1 when the
 * map is full. */
static int apply_one(kehu_txn *parent, kehu_write_req *r)
{
  MDB_txn *child;
  int rc = mdb_txn_begin(parent->st->env, parent->txn, 0, &child);
  if (rc != 0) {
    r->status = kehu_store_status(rc);
    return rc == MDB_MAP_FULL;
  }
  kehu_txn t = {.st = parent->st, .txn = child};
  r->status = r->apply(&t, r->arg);
  if (r->status != KEHU_OK) {
    mdb_txn_abort(child);
    return r->status == KEHU_EXHAUSTED;
  }
  if ((rc = mdb_txn_commit(child)) != 0) {
    r->status = kehu_store_status(rc);
    return rc == MDB_MAP_FULL;
  }
  return 0;
}

/* Requests share a nested transaction GROUP at a time: each page they
 * touch is copied into it once, not once per request (a nested
 * transaction copies every page it changes). When one of them fails the
 * group is undone and its requests run again one by one, so a failed
 * request still leaves no trace and the others' work stands. Returns 1
 * when the map is full and the whole batch must be retried after growing
 * it. */
#define GROUP 16

static int apply_batch(kehu_txn *parent, kehu_write_req *batch)
{
  for (kehu_write_req *first = batch; first;) {
    kehu_write_req *end = first;
    for (int i = 0; i < GROUP && end; i++)
      end = end->next;
    MDB_txn *child = NULL;
    int rc = mdb_txn_begin(parent->st->env, parent->txn, 0, &child);
    kehu_write_req *failed = NULL;   /* the request that failed the group */
    kehu_txn t = {.st = parent->st, .txn = child};
    for (kehu_write_req *r = first; rc == 0 && r != end && !failed; r = r->next)
      if ((r->status = r->apply(&t, r->arg)) != KEHU_OK)
        failed = r;
    if (rc == 0 && !failed && (rc = mdb_txn_commit(child)) == 0) {
      first = end;
      continue;
    }
    if (failed) {
      mdb_txn_abort(child);
      if (failed->status == KEHU_EXHAUSTED)
        return 1;   /* the map is full: the whole batch again, once it grew */
    } else if (rc == MDB_MAP_FULL) {
      return 1;
    }
    /* no group (it could not begin or commit), or one request failed it:
     * one by one, each in its own nested transaction */
    for (kehu_write_req *r = first; r != end; r = r->next)
      if (apply_one(parent, r))
        return 1;
    first = end;
  }
  return 0;
}

/* Folds the pending search postings beyond keep (at most cap of them when
 * cap is not 0), in a transaction nested in t. The fold is optional: one
 * that fails is undone and leaves the postings pending and the batch's own
 * writes intact (a full map is grown after the commit). Where it got to
 * counts once t commits (fold_done). Returns how many it folded. */
static size_t fold_pending(kehu_writer *w, kehu_txn *t, size_t keep, size_t cap)
{
  size_t n = 0, folded = 0;
  w->fold_next = w->fold_pos;
  if (kehu_store_search_pending(t, &n) != KEHU_OK || n <= keep) {
    w->pending_next = n;
    return 0;
  }
  size_t want = cap && n - keep > cap ? cap : n - keep;
  MDB_txn *child;
  int rc = mdb_txn_begin(t->st->env, t->txn, 0, &child);
  if (rc != 0) {
    w->grow_wanted |= rc == MDB_MAP_FULL;
    return 0;
  }
  kehu_txn c = {.st = t->st, .txn = child};
  kehu_fold_pos pos = w->fold_pos;
  int status = kehu_store_search_fold(&c, want, &pos, &folded);
  if (status == KEHU_OK && (rc = mdb_txn_commit(child)) != 0)
    status = kehu_store_status(rc);   /* the child is gone either way */
  else if (status != KEHU_OK)
    mdb_txn_abort(child);
  if (status != KEHU_OK) {
    w->grow_wanted |= status == KEHU_EXHAUSTED;
    w->pending_next = n;
    return 0;
  }
  w->fold_next = pos;
  w->pending_next = n - folded;
  return folded;
}

/* The transaction that held a fold committed: the fold counts now, and the
 * commit too when it carried requests (kehu_writer_counts). */
static void fold_done(kehu_writer *w, int of_requests)
{
  w->fold_pos = w->fold_next;
  w->pending = w->pending_next;
  if (of_requests) {
    pthread_mutex_lock(&w->mu);
    w->commits++;
    pthread_mutex_unlock(&w->mu);
  }
}

/* A fold ran out of map: grow it now that no transaction of ours is open. */
static void grow_if_wanted(kehu_writer *w)
{
  if (w->grow_wanted) {
    w->grow_wanted = 0;
    kehu_store_grow(w->st);
  }
}

/* Nothing to write for a while: folds a chunk of the pending postings in
 * a transaction of its own (none when nothing was folded). */
static void fold_idle(kehu_writer *w)
{
  for (int attempt = 0; attempt < 3; attempt++) {
    kehu_txn t;
    if (kehu_store_write_begin(w->st, &t) != 0)
      return;
    if (fold_pending(w, &t, 0, FOLD_CHUNK) == 0) {
      kehu_store_write_abort(&t);
      w->pending = w->grow_wanted ? w->pending : w->pending_next;
    } else {
      int rc = kehu_store_write_commit(&t);
      if (rc == 0) {
        fold_done(w, 0);
        return;
      }
      w->grow_wanted |= rc == MDB_MAP_FULL;
    }
    if (!w->grow_wanted)
      return;
    grow_if_wanted(w);
  }
}

static void run_batch(kehu_writer *w, kehu_write_req *batch)
{
  /* LMDB: a write transaction lives and dies on the thread that began it,
   * and every write of the server is this thread's. */
  kehu_assert(on_writer_thread);
  for (int attempt = 0; attempt < 20; attempt++) {
    kehu_txn t;
    int rc = kehu_store_write_begin(w->st, &t);
    if (rc != 0) {
      set_all(batch, KEHU_OK, kehu_store_status(rc));
      return;
    }
    int full;
    if (batch->solo) {
      /* alone in the transaction (the dequeue saw to it): no nesting */
      batch->status = batch->apply(&t, batch->arg);
      full = batch->status == KEHU_EXHAUSTED;
      if (batch->status != KEHU_OK && !full) {
        kehu_store_write_abort(&t);
        return;
      }
    } else {
      full = apply_batch(&t, batch);
    }
    if (!full) {
      fold_pending(w, &t, FOLD_HIGH, 0);
      struct timespec t0, t1;
      clock_gettime(CLOCK_MONOTONIC, &t0);
      rc = kehu_store_write_commit(&t);
      clock_gettime(CLOCK_MONOTONIC, &t1);
      if (rc == 0) {
        pthread_mutex_lock(&w->mu);
        w->commit_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
        pthread_mutex_unlock(&w->mu);
        fold_done(w, 1);
        grow_if_wanted(w);
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
    w->grow_wanted = 0;
    if (kehu_store_grow(w->st) != 0)
      break;
  }
  for (kehu_write_req *r = batch; r; r = r->next)
    r->status = KEHU_EXHAUSTED;
}

static void *writer_main(void *arg)
{
  kehu_writer *w = arg;
  on_writer_thread = 1;
  pthread_mutex_lock(&w->mu);
  w->pending = 1;   /* unknown until the first look: fold when idle */
  for (;;) {
    while (!w->queue_head && !w->stopping) {
      if (!w->pending) {
        pthread_cond_wait(&w->cv, &w->mu);
        continue;
      }
      struct timespec until;
      clock_gettime(CLOCK_MONOTONIC, &until);
      until.tv_nsec += FOLD_IDLE_MS * 1000000L;
      until.tv_sec += until.tv_nsec / 1000000000L;
      until.tv_nsec %= 1000000000L;
      if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT && !w->queue_head &&
          !w->stopping) {
        pthread_mutex_unlock(&w->mu);
        size_t before = w->pending;
        fold_idle(w);
        pthread_mutex_lock(&w->mu);
        if (w->pending == before)
          w->pending = 0;   /* no progress (an error): wait for writes */
      }
    }
    if (!w->queue_head)
      break;
    kehu_write_req *batch = w->queue_head, *last = batch;
    size_t n = 1;
    /* a solo request goes alone; the others up to the next solo one */
    while (!batch->solo && last->next && !last->next->solo && n < MAX_BATCH) {
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
  /* the idle wait is timed on the monotonic clock: a clock step must not
   * stretch or skip it */
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &attr);
  pthread_condattr_destroy(&attr);
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

uint64_t kehu_writer_commit_ns(kehu_writer *w)
{
  pthread_mutex_lock(&w->mu);
  uint64_t ns = w->commit_ns;
  pthread_mutex_unlock(&w->mu);
  return ns;
}

void kehu_writer_counts(kehu_writer *w, uint64_t *commits, uint64_t *requests)
{
  pthread_mutex_lock(&w->mu);
  *commits = w->commits;
  *requests = w->requests;
  pthread_mutex_unlock(&w->mu);
}
