/* A client connection: TLS over a libuv TCP stream, frames in and out,
 * per-connection limits (handshake, login and idle timeouts, frame size,
 * requests in flight, bytes of replies queued or being built) and the
 * server-wide caps (max_connections, max_unauthenticated).
 *
 * The connection is opaque: it knows nothing of requests beyond their
 * frames. The server gives it, at listen time, what to do with each
 * decoded request (kehu_conn_ops); the reply comes back through
 * kehu_conn_send and kehu_conn_request_done. */
#ifndef KEHU_CONN_H
#define KEHU_CONN_H

#include "server.h"

/* What a listening server does with its connections. */
typedef struct kehu_conn_ops {
  /* c has opened (peer: the client's IP address): returns the context the
   * other operations get for it, or NULL to close it. */
  void *(*opened)(kehu_server *srv, kehu_conn *c, const char *peer);
  /* One decoded request of c, owned by the callee. c counts it in flight,
   * with `reserved` bytes set aside for its reply, until
   * kehu_conn_request_done. */
  void (*request)(void *ctx, kehu_conn *c, Kehu__Envelope *env, size_t reserved);
  /* Bytes to set aside for the reply of req: a request is only taken in
   * while they fit in max_write_queue. */
  size_t (*reply_estimate)(const kehu_server *srv, const Kehu__Request *req);
  /* c has closed: nothing more comes from it, nothing more goes to it. */
  void (*closed)(void *ctx);
} kehu_conn_ops;

/* Starts listening on cfg.listen; prints the listening line. ops must
 * live as long as the server. */
int kehu_listen(kehu_server *srv, const kehu_conn_ops *ops, kehu_error *err);

/* Queues one envelope to the client (sent at the next flush). */
void kehu_conn_send(kehu_conn *c, const Kehu__Envelope *env);
/* The request being taken in changes who the connection is (a login or a
 * logout): later requests wait until it is done. */
void kehu_conn_hold_requests(kehu_conn *c);
/* A request of c was answered (its reply queued): gives back the bytes
 * set aside for it, lets the requests held for it in if release_hold, and
 * takes in the next frames. */
void kehu_conn_request_done(kehu_conn *c, size_t reserved, int release_hold);
/* Sends a final error frame, then closes (after the client has had the
 * time to read it). */
void kehu_conn_fail(kehu_conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Logged in (on) or out: moves c in or out of the unauthenticated count
 * and starts the idle or the login timeout. */
void kehu_conn_set_authed(kehu_conn *c, int on);
/* c waits for pushed events: the idle limit no longer closes it. */
void kehu_conn_keep_when_idle(kehu_conn *c);

/* Encrypts and writes everything queued on every connection: once per
 * loop turn, before the loop waits (server_run.c), and at shutdown. */
void kehu_conn_flush_all(kehu_server *srv);
/* Shutting down: no connection reads anything more. */
void kehu_conn_stop_reading_all(kehu_server *srv);
/* Closes every connection (shutdown). */
void kehu_conn_close_all(kehu_server *srv);

#endif
