/* Work too long for the event loop runs on libuv's thread pool through a
 * gate (core/gate.h): heavy reads (search, sorted lists, reports) at most
 * max_read_work at once, password checks at most max_login_work, the
 * others waiting in order, so neither kind can hold every pool thread the
 * other needs. */
#ifndef KEHU_POOL_WORK_H
#define KEHU_POOL_WORK_H

#include <uv.h>

#include "gate.h"
#include "server.h"

typedef struct kehu_pool_work {
  uv_work_t work;       /* work.data: the caller's */
  kehu_gate_item item;  /* its place in the gate's line */
  uv_work_cb run;       /* on a pool thread */
  uv_after_work_cb done;/* on the loop, with &work */
  kehu_server *srv;
  kehu_gate *gate;
} kehu_pool_work;

/* Runs run(&w->work) on the pool once gate lets it, then done(&w->work,
 * status) on the loop, with w->work.data = data. w must live until done. */
void kehu_pool_work_queue(kehu_server *srv, kehu_gate *gate, kehu_pool_work *w, void *data,
                          uv_work_cb run, uv_after_work_cb done);
/* A heavy read, through the read gate. */
void kehu_read_work_queue(kehu_server *srv, kehu_pool_work *w, void *data, uv_work_cb run,
                          uv_after_work_cb done);

#endif
