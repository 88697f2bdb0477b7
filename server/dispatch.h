/* Envelope -> handler: the route table (request op -> handler), the auth
 * gate and the per-request context (kehu_call). */
#ifndef KEHU_DISPATCH_H
#define KEHU_DISPATCH_H

#include "server.h"

/* One decoded request of session s, which came on connection c with
 * `reserved` bytes set aside for its reply (c NULL: the reply goes
 * nowhere, as in the request fuzz target). The call it makes owns env. */
void kehu_dispatch(kehu_session *s, kehu_conn *c, Kehu__Envelope *env, size_t reserved);
/* Bytes set aside for the reply of req while it is served: what a client
 * may have queued or being built stays within max_write_queue. */
size_t kehu_reply_estimate(const kehu_server *srv, const Kehu__Request *req);

#endif
