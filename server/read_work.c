#include "read_work.h"

static void finished(uv_work_t *work, int status);

static void start(kehu_read_work *w)
{
  uv_queue_work(w->srv->loop, &w->work, w->run, finished);
}

static void finished(uv_work_t *work, int status)
{
  kehu_read_work *w = (kehu_read_work *)work;   /* work is w's first member */
  kehu_server *srv = w->srv;
  /* The slot goes to the first in line before done runs: done replies, and
   * a reply may dispatch the connection's next request, which must queue
   * behind those already waiting, not take the slot. */
  if (srv->read_waiting) {
    kehu_read_work *next = srv->read_waiting;
    srv->read_waiting = next->next;
    if (!srv->read_waiting)
      srv->read_waiting_tail = NULL;
    start(next);
  } else {
    srv->read_work--;
  }
  w->done(work, status);   /* may free w */
  kehu_server_stop_when_idle(srv);
}

void kehu_read_work_queue(kehu_server *srv, kehu_read_work *w, void *data, uv_work_cb run,
                          uv_after_work_cb done)
{
  w->work.data = data;
  w->run = run;
  w->done = done;
  w->srv = srv;
  w->next = NULL;
  unsigned max = srv->cfg.max_read_work ? srv->cfg.max_read_work : 1;
  if (srv->read_work < max) {
    srv->read_work++;
    start(w);
  } else if (srv->read_waiting_tail) {
    srv->read_waiting_tail->next = w;
    srv->read_waiting_tail = w;
  } else {
    srv->read_waiting = srv->read_waiting_tail = w;
  }
}
