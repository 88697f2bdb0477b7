/* Writes queued to the writer thread (store/writer.c) and answered on the
 * loop after they commit. Below call.c and audit.c, which both queue
 * writes: nothing here knows what a request or a reply is. */
#ifndef KEHU_WRITES_H
#define KEHU_WRITES_H

#include "server.h"

/* done(call, status, arg) runs on the loop after the commit. */
typedef void (*kehu_write_done)(kehu_call *call, int status, void *arg);
/* Queues apply(arg) on the writer thread; call is handed to done as is
 * (NULL for a write no request waits for). */
void kehu_writes_submit(kehu_server *srv, kehu_call *call, kehu_write_fn apply,
                        kehu_write_done done, void *arg);
/* The same in a transaction of its own, not nested (kehu_write_req.solo):
 * for a write of thousands of records at once, an import's batch. */
void kehu_writes_submit_solo(kehu_server *srv, kehu_call *call, kehu_write_fn apply,
                             kehu_write_done done, void *arg);
/* A write no request waits for (an audit entry, the scheduler's). */
void kehu_submit_write_detached(kehu_server *srv, kehu_write_fn apply, kehu_write_done done,
                                void *arg);
/* On the loop, when the writer says commits are done: runs the done
 * callback of each finished write. */
void kehu_writes_finished(kehu_server *srv);

#endif
