/* A client connection: TLS over a libuv TCP stream, frames in and out,
 * per-connection limits (handshake and idle timeouts, frame size, requests
 * in flight, bytes queued to a slow reader). */
#ifndef KEHU_CONN_H
#define KEHU_CONN_H

#include "server.h"

struct kehu_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  kehu_server *srv;
  kehu_tls_session tls;
  kehu_buf in;              /* decrypted bytes not yet parsed into frames */
  kehu_buf out;             /* plaintext frames waiting to be encrypted */
  uint64_t last_active;     /* uv_now() of the last bytes received */
  size_t queued;            /* ciphertext handed to uv_write, not yet written */
  unsigned inflight;        /* requests dispatched, not yet answered */
  unsigned refs;            /* calls in flight keep the memory alive */
  unsigned open_handles;
  int hello_seen;
  int barrier;              /* a login/logout runs: later frames wait for it */
  int reading;
  int closing;
  int close_when_flushed;
  int authed;
  kehu_caller caller;
  unsigned char session_hash[32];
  char peer[64];
  kehu_conn *prev, *next;   /* the server's list */
  kehu_conn *flush_next;
  int in_flush_list;
  kehu_upload *uploads;     /* attachments arriving in chunks */
  int watching;             /* receives pushed events (kehu watch) */
};

/* Starts listening on cfg.listen; prints the listening line. */
int kehu_listen(kehu_server *srv, kehu_error *err);

/* Queues one envelope to the client (sent at the next flush). */
void kehu_conn_send(kehu_conn *c, const Kehu__Envelope *env);
/* Encrypts and writes everything queued on every connection. */
void kehu_conn_flush_all(kehu_server *srv);
/* Shutting down: no connection reads anything more. */
void kehu_conn_stop_reading_all(kehu_server *srv);
/* A request of c was answered: let the next frames in. */
void kehu_conn_request_done(kehu_conn *c);
void kehu_conn_close(kehu_conn *c);
/* Sends a final error frame, then closes. */
void kehu_conn_fail(kehu_conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kehu_conn_ref(kehu_conn *c);
void kehu_conn_unref(kehu_conn *c);
/* Closes every connection (shutdown). */
void kehu_conn_close_all(kehu_server *srv);

/* dispatch.c: one decoded request envelope of c. */
void kehu_dispatch(kehu_conn *c, Kehu__Envelope *env);

#endif
