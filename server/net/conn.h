/* A client connection: TLS over a libuv TCP stream, frames in and out,
 * per-connection limits (handshake, login and idle timeouts, frame size,
 * requests in flight, bytes of replies queued or being built) and the
 * server-wide caps (max_connections, max_unauthenticated). */
#ifndef KEHU_CONN_H
#define KEHU_CONN_H

#include "server.h"

struct kehu_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shutdown;   /* after a final error frame */
  kehu_server *srv;
  kehu_tls_session tls;
  kehu_buf in;              /* decrypted bytes not yet parsed into frames */
  kehu_buf out;             /* plaintext frames waiting to be encrypted */
  uint64_t last_active;     /* uv_now() of the last bytes received */
  size_t queued;            /* ciphertext handed to uv_write, not yet written */
  size_t reserved;          /* set aside for replies of requests in flight */
  size_t queued_peak;       /* most queued since it was last empty */
  Kehu__Envelope *held;     /* a request waiting for room in max_write_queue */
  unsigned inflight;        /* requests dispatched, not yet answered */
  unsigned refs;            /* calls in flight keep the memory alive */
  unsigned open_handles;
  int hello_seen;
  int barrier;              /* a login/logout runs: later frames wait for it */
  int reading;
  int closing;
  int close_when_flushed;
  int lingering;            /* final frame sent: drops input until the client hangs up */
  int processing;           /* in process_frames: a reply there does not re-enter it */
  const char *refusing;     /* over this cap: Hello, a final error, close */
  int counted;              /* in nconns; also in nunauth while !authed */
  int authed;               /* logged in: the idle limit, not the login one */
  int keep_when_idle;       /* quiet by design (a watcher): no idle limit */
  char peer[64];
  kehu_conn *prev, *next;   /* the server's list */
  kehu_conn *flush_next;
  int in_flush_list;
  kehu_session *session;    /* who the client is; closed with the connection */
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
/* Logged in (on) or out: moves c in or out of the unauthenticated count
 * and starts the idle or the login timeout. */
void kehu_conn_set_authed(kehu_conn *c, int on);
/* c waits for pushed events: the idle limit no longer closes it. */
void kehu_conn_keep_when_idle(kehu_conn *c);
/* Sends a final error frame, then closes (after the client has had the
 * time to read it). */
void kehu_conn_fail(kehu_conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kehu_conn_ref(kehu_conn *c);
void kehu_conn_unref(kehu_conn *c);
/* Closes every connection (shutdown). */
void kehu_conn_close_all(kehu_server *srv);

#endif
