#include "pool_work.h"

#include <stddef.h>

static void finished(uv_work_t *work, int status);

static void start(kehu_pool_work *w)
{
  uv_queue_work(w->srv->loop, &w->work, w->run, finished);
}

static kehu_pool_work *of_item(kehu_gate_item *it)
{
  return (kehu_pool_work *)((char *)it - offsetof(kehu_pool_work, item));
}

static void finished(uv_work_t *work, int status)
{
  kehu_pool_work *w = (kehu_pool_work *)work;   /* work is w's first member */
  kehu_server *srv = w->srv;
  /* The slot goes to the first in line before done runs: done replies, and
   * a reply may dispatch the connection's next request, which must queue
   * behind those already waiting, not take the slot. */
  kehu_gate_item *next = kehu_gate_leave(w->gate);
  if (next)
    start(of_item(next));
  w->done(work, status);   /* may free w */
  if (srv->pool_idle_check)
    srv->pool_idle_check(srv);
}

void kehu_pool_work_queue(kehu_server *srv, kehu_gate *gate, kehu_pool_work *w, void *data,
                          uv_work_cb run, uv_after_work_cb done)
{
  w->work.data = data;
  w->run = run;
  w->done = done;
  w->srv = srv;
  w->gate = gate;
  if (kehu_gate_enter(gate, &w->item))
    start(w);
}

void kehu_read_work_queue(kehu_server *srv, kehu_pool_work *w, void *data, uv_work_cb run,
                          uv_after_work_cb done)
{
  kehu_pool_work_queue(srv, &srv->read_gate, w, data, run, done);
}
