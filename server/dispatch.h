/* Envelope -> handler: the route table (request op -> handler), the auth
 * gate and the per-request context (kehu_call). */
#ifndef KEHU_DISPATCH_H
#define KEHU_DISPATCH_H

#include "server.h"

/* One decoded request envelope of c; the call it makes owns env. */
void kehu_dispatch(kehu_conn *c, Kehu__Envelope *env);
/* Bytes set aside for the reply of req while it is served: what a client
 * may have queued or being built stays within max_write_queue. */
size_t kehu_reply_estimate(const kehu_server *srv, const Kehu__Request *req);

#endif
