/* One request being served and its one reply: what every handler answers
 * through. A call is made by dispatch.c and ends with its reply; the reply
 * goes back through the connection the request came on. */
#ifndef KEHU_CALL_H
#define KEHU_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "kehu.pb-c.h"
#include "server.h"
#include "writes.h"

/* Handlers reply exactly once, now or later (after a write commits); the
 * connection may have closed meanwhile, in which case the reply is
 * dropped. */
struct kehu_call {
  kehu_server *srv;
  kehu_session *session;         /* who asks; outlives the call */
  kehu_conn *conn;                /* where the reply goes (NULL: nowhere) */
  uint64_t id;
  Kehu__Envelope *env;           /* the request; lives until the reply */
  Kehu__Request *req;
  kehu_caller caller;            /* snapshot at dispatch */
  size_t reserved;               /* kehu_reply_estimate, counted on the connection */
  int holds_requests;            /* a login or logout: later requests wait for it */
};

/* The session of the client that asked (session.h). */
static inline kehu_session *kehu_session_of(const kehu_call *call)
{
  return call->session;
}

void kehu_reply(kehu_call *call, Kehu__Response *resp);
/* A reply with a status other than OK; err's field and existing id go
 * along. A denial is audited, whichever handler refused. */
void kehu_reply_error(kehu_call *call, const kehu_error *err);
void kehu_reply_status(kehu_call *call, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Queues apply(arg) on the writer thread; done(call, status, arg) runs on
 * the loop after the commit, and replies. */
void kehu_submit_write(kehu_call *call, kehu_write_fn apply, kehu_write_done done, void *arg);

#endif
