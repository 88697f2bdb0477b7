/* Reads too long for the event loop (search, sorted lists, reports) run on
 * libuv's thread pool through one gate: at most max_read_work at once, the
 * others waiting in order, so that they never hold every pool thread that
 * password checks also need. */
#ifndef KEHU_READ_WORK_H
#define KEHU_READ_WORK_H

#include <uv.h>

#include "server.h"

typedef struct kehu_read_work {
  uv_work_t work;       /* work.data: the caller's */
  uv_work_cb run;       /* on a pool thread */
  uv_after_work_cb done;/* on the loop, with &work */
  kehu_server *srv;
  struct kehu_read_work *next;
} kehu_read_work;

/* Runs run(&w->work) on the pool, then done(&w->work, status) on the loop,
 * with w->work.data = data. w must live until done. */
void kehu_read_work_queue(kehu_server *srv, kehu_read_work *w, void *data, uv_work_cb run,
                          uv_after_work_cb done);

#endif
