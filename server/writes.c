/* Writes queued to the writer thread, answered on the loop after commit
 * (moved out of dispatch.c). */
#include "writes.h"

#include <stdlib.h>

typedef struct {
  kehu_write_req req;    /* first: the writer hands this pointer back */
  kehu_call *call;
  kehu_write_done done;
  void *arg;
} pending_write;

static void submit(kehu_server *srv, kehu_call *call, kehu_write_fn apply, kehu_write_done done,
                   void *arg, int solo);

void kehu_writes_submit(kehu_server *srv, kehu_call *call, kehu_write_fn apply,
                        kehu_write_done done, void *arg)
{
  submit(srv, call, apply, done, arg, 0);
}

void kehu_writes_submit_solo(kehu_server *srv, kehu_call *call, kehu_write_fn apply,
                             kehu_write_done done, void *arg)
{
  submit(srv, call, apply, done, arg, 1);
}

static void submit(kehu_server *srv, kehu_call *call, kehu_write_fn apply, kehu_write_done done,
                   void *arg, int solo)
{
  /* After shutdown began (a password check finishing late) nothing is
   * written any more: a request is told the server is going away. */
  pending_write *p = srv->writer ? calloc(1, sizeof *p) : NULL;
  if (!p) {
    done(call, srv->writer || !call ? KEHU_EXHAUSTED : KEHU_UNAVAILABLE, arg);
    return;
  }
  p->req.apply = apply;
  p->req.arg = arg;
  p->req.solo = solo;
  p->call = call;
  p->done = done;
  p->arg = arg;
  kehu_writer_submit(srv->writer, &p->req);
}

void kehu_submit_write_detached(kehu_server *srv, kehu_write_fn apply, kehu_write_done done,
                                void *arg)
{
  kehu_writes_submit(srv, NULL, apply, done, arg);
}

void kehu_writes_finished(kehu_server *srv)
{
  kehu_write_req *r = kehu_writer_take_done(srv->writer);
  while (r) {
    kehu_write_req *next = r->next;
    pending_write *p = (pending_write *)r;
    p->done(p->call, r->status, p->arg);
    free(p);
    r = next;
  }
}
