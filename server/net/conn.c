/* Connection lifecycle: accept -> TLS handshake -> Hello -> login ->
 * frames -> the server's request operation (kehu_conn_ops) -> replies,
 * with every limit of docs/protocol.md#limits enforced here. struct kehu_conn is private
 * to this file.
 *
 * Replies are queued (kehu_conn_send puts the connection on the server's
 * flush list) and written once per loop turn, when the server's prepare
 * handle calls kehu_conn_flush_all, as Redis writes its clients with
 * pending output before it sleeps; only a final error frame and a request
 * waiting for room flush their own connection at once.
 *
 * Output is bounded, not cut late: a request is dispatched only when the
 * bytes of replies queued (plaintext, ciphertext, handed to the socket) and
 * set aside for requests in flight leave room for its reply within
 * max_write_queue (kehu_reply_estimate). Otherwise the decoded request waits
 * in c->held and nothing more is read from that client until its replies
 * drain, as Redis does with client output limits. */
#include "conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Empty buffers up to this size stay with their connection for the next
 * request; larger ones (a big frame went through) are given back. */
#define CONN_BUFFER_KEEP 4096
/* Replies are encrypted and handed to the socket in pieces of this size,
 * so that a burst is never held as plaintext and ciphertext at once. */
#define OUTPUT_CHUNK (256 * 1024)
/* A connection whose queue reached this much gives memory back to the
 * system once it drains or closes. */
#define BIG_QUEUE (1024 * 1024)
/* Connections over a cap that are being told so (TLS handshake, Hello, the
 * final error frame); more than this many at once are closed unanswered. */
#define MAX_REFUSING 64
/* After a final error frame the connection reads and drops what the client
 * still sends, until it hangs up or this long: closing with unread input
 * would reset the connection, and a reset can destroy the error frame
 * before the client has read it. */
#define LINGER_MS 2000
/* A login still being checked when login_timeout ends is given this much
 * more, as often as needed: password checks wait their turn
 * (max_login_work), which is not the client's fault. */
#define LOGIN_GRACE_MS 1000

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
  unsigned inflight;        /* requests taken in, not yet answered */
  unsigned refs;            /* requests in flight keep the memory alive */
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
  kehu_conn *handshake_next; /* in the server's handshake queue */
  int handshake_queued;
  void *ctx;                /* the server's, from ops->opened (the session) */
};

/* One read buffer for every connection: reads are consumed at once, so
 * idle connections hold no read memory (docs/architecture.md#performance-design). */
static char read_buffer[64 * 1024];

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void alloc_shared(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)h;
  (void)suggested;
  buf->base = read_buffer;
  buf->len = sizeof read_buffer;
}

static void conn_ref(kehu_conn *c)
{
  c->refs++;
}

static void maybe_free(kehu_conn *c)
{
  if (c->open_handles > 0 || c->refs > 0)
    return;
  if (c->held)
    kehu_envelope_free(c->held);
  if (c->queued_peak >= BIG_QUEUE)
    kehu_server_release_memory(c->srv);
  kehu_tls_session_free(&c->tls);
  kehu_buf_free(&c->in);
  kehu_buf_free(&c->out);
  free(c);
}

static void conn_unref(kehu_conn *c)
{
  c->refs--;
  maybe_free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
  kehu_conn *c = h->data;
  c->open_handles--;
  maybe_free(c);
}

static void unlink_flush(kehu_conn *c)
{
  if (!c->in_flush_list)
    return;
  kehu_conn **pp = &c->srv->flush_list;
  while (*pp && *pp != c)
    pp = &(*pp)->flush_next;
  if (*pp)
    *pp = c->flush_next;
  c->in_flush_list = 0;
}

static void conn_close(kehu_conn *c)
{
  if (c->closing)
    return;
  c->closing = 1;
  kehu_server *srv = c->srv;
  if (c->ctx)
    srv->conn_ops->closed(c->ctx);
  c->ctx = NULL;
  unlink_flush(c);
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  if (c->refusing)
    srv->nrefusing--;
  if (c->counted) {
    srv->nconns--;
    if (!c->authed)
      srv->nunauth--;
  }
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void set_reading(kehu_conn *c, int on);
static void process_frames(kehu_conn *c);
static void on_timer(uv_timer_t *t);

void kehu_conn_set_authed(kehu_conn *c, int on)
{
  if (c->authed == !!on)
    return;
  c->authed = !!on;
  if (c->counted && !c->closing) {
    if (on)
      c->srv->nunauth--;
    else
      c->srv->nunauth++;
  }
  if (c->closing || c->lingering)
    return;
  /* Logged in: the idle limit; logged out: login_timeout again. */
  uv_timer_start(&c->timer, on_timer,
                 on ? c->srv->cfg.idle_timeout_ms : c->srv->cfg.login_timeout_ms, 0);
}

void kehu_conn_keep_when_idle(kehu_conn *c)
{
  c->keep_when_idle = 1;
}

void kehu_conn_stop_reading_all(kehu_server *srv)
{
  for (kehu_conn *c = srv->conns; c; c = c->next)
    set_reading(c, 0);
}

void kehu_conn_close_all(kehu_server *srv)
{
  while (srv->conns)
    conn_close(srv->conns);
  while (srv->handshake_head) {
    kehu_conn *c = srv->handshake_head;
    srv->handshake_head = c->handshake_next;
    c->handshake_queued = 0;
    conn_unref(c);
  }
  srv->handshake_tail = NULL;
  if (srv->handshake_handles) {
    uv_close((uv_handle_t *)&srv->handshake_idle, NULL);
    uv_close((uv_handle_t *)&srv->handshake_check, NULL);
    srv->handshake_handles = 0;
  }
}

/* ---- output ---- */

typedef struct {
  uv_write_t req;
  kehu_conn *conn;
  size_t len;
  uint8_t data[];
} write_req;

/* Bytes of replies this connection holds: plaintext not yet encrypted,
 * ciphertext not yet handed on, and handed to uv_write but not written. */
static size_t output_bytes(const kehu_conn *c)
{
  return kehu_buf_size(&c->out) + kehu_buf_size(&c->tls.out) + c->queued;
}

/* Is there room for a reply of need bytes within max_write_queue? One
 * request always gets in when nothing is queued or in flight, so that a
 * reply larger than the whole limit can still be asked for. */
static int has_room(const kehu_conn *c, size_t need)
{
  size_t used = output_bytes(c) + c->reserved;
  return used == 0 || used + need <= c->srv->cfg.max_write_queue;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
  (void)status;
  conn_unref(req->data);
}

/* The final frame is written: say nothing more, drop what comes in, and
 * close when the client hangs up (or after LINGER_MS). */
static void begin_linger(kehu_conn *c)
{
  if (c->lingering || c->closing)
    return;
  if (c->srv->stopping) {
    conn_close(c);
    return;
  }
  c->lingering = 1;
  c->shutdown.data = c;
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) == 0)
    conn_ref(c);
  uv_timer_start(&c->timer, on_timer, LINGER_MS, 0);
  set_reading(c, 1);
}

/* The queue drained after a burst: give its memory back. */
static void note_drained(kehu_conn *c)
{
  if (c->queued == 0 && c->queued_peak >= BIG_QUEUE) {
    c->queued_peak = 0;
    kehu_server_release_memory(c->srv);
  }
}

static void on_written(uv_write_t *req, int status)
{
  write_req *w = (write_req *)req;
  kehu_conn *c = w->conn;
  c->queued -= w->len;
  free(w);
  if (status < 0) {
    conn_close(c);
  } else if (c->close_when_flushed) {
    if (c->queued == 0)
      begin_linger(c);
  } else if (c->held && !c->closing) {
    /* Room again, perhaps, for the request that waits for it. */
    process_frames(c);
  }
  note_drained(c);
  conn_unref(c);
}

/* Writes c's pending ciphertext: directly when the socket takes it, else
 * through a queued uv_write. Requests wait for room (has_room), so only
 * pushed events can make the queue grow past max_write_queue; a watcher
 * that reads none of them is cut off at max_write_queue + max_frame. */
static void write_ciphertext(kehu_conn *c)
{
  kehu_buf *out = &c->tls.out;
  size_t n = kehu_buf_size(out);
  if (n == 0)
    return;
  if (c->closing || c->lingering) {
    kehu_buf_consume(out, n);   /* nothing more goes out */
    return;
  }
  if (c->queued == 0) {
    uv_buf_t b = uv_buf_init((char *)kehu_buf_head(out), (unsigned)n);
    int wrote = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (wrote > 0) {
      kehu_buf_consume(out, (size_t)wrote);
      n -= (size_t)wrote;
    } else if (wrote != UV_EAGAIN) {
      conn_close(c);
      return;
    }
  }
  if (n > 0) {
    size_t hard = c->srv->cfg.max_write_queue + c->srv->cfg.max_frame;
    if (c->queued + n > hard) {
      fprintf(stderr, "kehud: %s reads too slowly (%zu bytes waiting, over max_write_queue "
              "+ max_frame): disconnected\n", c->peer, c->queued + n);
      conn_close(c);
      return;
    }
    write_req *w = malloc(sizeof *w + n);
    if (!w) {
      conn_close(c);
      return;
    }
    memcpy(w->data, kehu_buf_head(out), n);
    w->conn = c;
    w->len = n;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
      free(w);
      conn_close(c);
      return;
    }
    c->queued += n;
    if (c->queued > c->queued_peak)
      c->queued_peak = c->queued;
    conn_ref(c);
  }
  kehu_buf_consume(out, kehu_buf_size(out));
  if (c->close_when_flushed && c->queued == 0)
    begin_linger(c);
}

/* Encrypts and sends c's plaintext, OUTPUT_CHUNK at a time. */
static void flush_conn(kehu_conn *c)
{
  while (!c->closing && kehu_buf_size(&c->out) > 0) {
    size_t n = kehu_buf_size(&c->out);
    if (n > OUTPUT_CHUNK)
      n = OUTPUT_CHUNK;
    int rc = kehu_tls_session_write(&c->tls, kehu_buf_head(&c->out), n);
    kehu_buf_consume(&c->out, n);
    if (rc != 0) {
      conn_close(c);
      return;
    }
    write_ciphertext(c);
  }
  write_ciphertext(c);
  kehu_buf_trim(&c->out, CONN_BUFFER_KEEP);
  kehu_buf_trim(&c->tls.out, CONN_BUFFER_KEEP);
}

void kehu_conn_flush_all(kehu_server *srv)
{
  while (srv->flush_list) {
    kehu_conn *c = srv->flush_list;
    srv->flush_list = c->flush_next;
    c->in_flush_list = 0;
    flush_conn(c);
  }
}

/* Replies carry valid UTF-8 only (README, Configuration): a message or field
 * that quotes bad input is escaped here, where every frame leaves. */
static int pack_envelope(kehu_conn *c, const Kehu__Envelope *env)
{
  const Kehu__Response *r = env->body_case == KEHU__ENVELOPE__BODY_RESPONSE ? env->response
                                                                             : NULL;
  const char *msg = r ? r->message : NULL, *field = r ? r->field : NULL;
  if ((!msg || kehu_utf8_chars(msg, strlen(msg)) >= 0) &&
      (!field || kehu_utf8_chars(field, strlen(field)) >= 0))
    return kehu_frame_pack(&c->out, env, c->srv->cfg.max_frame);
  Kehu__Response clean = *r;
  Kehu__Envelope e = *env;
  char *m = msg ? kehu_utf8_escape(msg) : NULL, *f = field ? kehu_utf8_escape(field) : NULL;
  clean.message = m ? m : msg ? "(the message could not be escaped)" : NULL;
  clean.field = f ? f : field ? "?" : NULL;
  e.response = &clean;
  int rc = kehu_frame_pack(&c->out, &e, c->srv->cfg.max_frame);
  free(m);
  free(f);
  return rc;
}

void kehu_conn_send(kehu_conn *c, const Kehu__Envelope *env)
{
  if (c->closing || c->close_when_flushed)
    return;   /* after a final error frame nothing more is said */
  if (pack_envelope(c, env) != 0) {
    /* Our own reply is too big for a frame: say so instead. */
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__RESOURCE_EXHAUSTED;
    r.message = "the reply exceeds the frame size limit (max_frame): ask for fewer rows";
    Kehu__Envelope e = KEHU__ENVELOPE__INIT;
    e.id = env->id;
    e.body_case = KEHU__ENVELOPE__BODY_RESPONSE;
    e.response = &r;
    kehu_frame_pack(&c->out, &e, c->srv->cfg.max_frame);
  }
  if (!c->in_flush_list) {
    c->in_flush_list = 1;
    c->flush_next = c->srv->flush_list;
    c->srv->flush_list = c;
  }
}

void kehu_conn_fail(kehu_conn *c, int status, const char *fmt, ...)
{
  if (c->closing || c->close_when_flushed)
    return;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = (Kehu__Status)status;
  r.message = msg;
  Kehu__Envelope e = KEHU__ENVELOPE__INIT;
  e.body_case = KEHU__ENVELOPE__BODY_RESPONSE;
  e.response = &r;
  kehu_conn_send(c, &e);
  c->close_when_flushed = 1;
  set_reading(c, 0);
  /* A client that does not even read the frame is closed all the same. */
  uv_timer_start(&c->timer, on_timer, LINGER_MS, 0);
  flush_conn(c);
}

/* ---- input ---- */

static void set_reading(kehu_conn *c, int on)
{
  if (on && c->srv->stopping)
    return;   /* shutting down: nothing new is read */
  if (c->closing || c->reading == on)
    return;
  c->reading = on;
  if (on)
    uv_read_start((uv_stream_t *)&c->tcp, alloc_shared, on_read);
  else
    uv_read_stop((uv_stream_t *)&c->tcp);
}

static int accept_hello(kehu_conn *c, Kehu__Envelope *env)
{
  if (env->body_case != KEHU__ENVELOPE__BODY_HELLO) {
    kehu_conn_fail(c, KEHU_INVALID, "protocol error: the first frame must be a Hello");
    return -1;
  }
  if (env->hello->protocol_version != KEHU_PROTOCOL_VERSION) {
    kehu_conn_fail(c, KEHU_INVALID, "protocol version %u is not supported (this server speaks %u)",
                   env->hello->protocol_version, KEHU_PROTOCOL_VERSION);
    return -1;
  }
  c->hello_seen = 1;
  /* A login is due within login_timeout of the Hello (README). */
  uv_timer_start(&c->timer, on_timer, c->srv->cfg.login_timeout_ms, 0);
  return 0;
}

/* The next request in c->in: 1 with *env set, 0 when the next frame has
 * not fully arrived, 2 when it was the client's Hello, -1 when the
 * connection failed with a final error frame. */
static int next_request(kehu_conn *c, Kehu__Envelope **env)
{
  kehu_server *srv = c->srv;
  const uint8_t *payload;
  size_t len, used;
  *env = NULL;
  kehu_frame_result r = kehu_frame_next(kehu_buf_head(&c->in), kehu_buf_size(&c->in),
                                        srv->cfg.max_frame, &payload, &len, &used);
  if (r == KEHU_FRAME_NEED_MORE)
    return 0;
  if (r == KEHU_FRAME_TOO_LARGE) {
    kehu_conn_fail(c, KEHU_EXHAUSTED, "frame of %zu bytes exceeds the limit of %zu (max_frame)",
                   len, srv->cfg.max_frame);
    return -1;
  }
  if (r == KEHU_FRAME_EMPTY) {
    kehu_conn_fail(c, KEHU_INVALID, "protocol error: empty frame");
    return -1;
  }
  Kehu__Envelope *e = kehu_envelope_decode(payload, len);
  kehu_buf_consume(&c->in, used);
  if (!e) {
    kehu_conn_fail(c, KEHU_INVALID, "protocol error: a frame does not decode as an Envelope");
    return -1;
  }
  if (!c->hello_seen) {
    int ok = accept_hello(c, e);
    kehu_envelope_free(e);
    return ok == 0 ? 2 : -1;
  }
  if (e->body_case != KEHU__ENVELOPE__BODY_REQUEST ||
      e->request->op_case == KEHU__REQUEST__OP__NOT_SET) {
    kehu_envelope_free(e);
    kehu_conn_fail(c, KEHU_INVALID, "protocol error: expected a request");
    return -1;
  }
  /* Id 0 means Hello or an event; a reply with it would read as the end of
   * the connection, so a request with it is a protocol error. */
  if (e->id == 0) {
    kehu_envelope_free(e);
    kehu_conn_fail(c, KEHU_INVALID,
                   "protocol error: request id 0 is reserved for Hello and events");
    return -1;
  }
  *env = e;
  return 1;
}

/* Parses and dispatches whole frames while the connection may take more
 * requests; stops reading the socket while it may not, so a pipelining
 * client is slowed down instead of buffered without bound: at most
 * max_inflight requests at once, one at a time around a login, and only
 * while its replies fit in max_write_queue. Replies built here do not
 * re-enter it (their kehu_conn_request_done just lets the loop go on). */
static void process_frames(kehu_conn *c)
{
  kehu_server *srv = c->srv;
  if (c->processing)
    return;
  c->processing = 1;
  while (!c->closing && !c->close_when_flushed && !c->barrier &&
         c->inflight < srv->cfg.max_inflight) {
    Kehu__Envelope *env = c->held;
    c->held = NULL;
    if (!env) {
      int got = next_request(c, &env);
      if (got == 2)
        continue;   /* the Hello: go on with what follows it */
      if (got != 1)
        break;
    }
    size_t need = srv->conn_ops->reply_estimate(srv, env->request);
    if (!has_room(c, need)) {
      flush_conn(c);   /* replies built just now go to the socket first */
      if (c->closing || !has_room(c, need)) {
        c->held = env;   /* freed with c if it closes */
        break;
      }
    }
    c->reserved += need;
    c->inflight++;
    conn_ref(c);
    srv->conn_ops->request(c->ctx, c, env, need);
    if (kehu_buf_size(&c->out) >= OUTPUT_CHUNK)
      flush_conn(c);
  }
  c->processing = 0;
  if (c->closing)
    return;
  kehu_buf_trim(&c->in, CONN_BUFFER_KEEP);
  kehu_buf_trim(&c->tls.in, CONN_BUFFER_KEEP);
  if (c->lingering)
    return;   /* reads, to drop what comes */
  /* Blocked with data waiting: stop reading until a reply unblocks us. */
  int blocked = c->barrier || c->inflight >= srv->cfg.max_inflight || c->held ||
                c->close_when_flushed;
  set_reading(c, !blocked);
}

void kehu_conn_hold_requests(kehu_conn *c)
{
  c->barrier = 1;
}

void kehu_conn_request_done(kehu_conn *c, size_t reserved, int release_hold)
{
  c->reserved -= reserved;   /* its reply is counted as queued now */
  if (release_hold)
    c->barrier = 0;
  c->inflight--;
  if (!c->closing)
    process_frames(c);
  conn_unref(c);
}

static void send_hello(kehu_conn *c)
{
  Kehu__Hello h = KEHU__HELLO__INIT;
  h.protocol_version = KEHU_PROTOCOL_VERSION;
  h.software = "kehud 0.1.0";
  Kehu__Envelope e = KEHU__ENVELOPE__INIT;
  e.body_case = KEHU__ENVELOPE__BODY_HELLO;
  e.hello = &h;
  kehu_conn_send(c, &e);
}

/* One timer per connection, for whichever limit applies now: the TLS
 * handshake and the client's Hello within handshake_timeout of connecting,
 * a login within login_timeout of the Hello (or of a logout), then the
 * idle limit; after a final error frame, the linger time. */
static void on_timer(uv_timer_t *t)
{
  kehu_conn *c = t->data;
  kehu_server *srv = c->srv;
  if (c->closing)
    return;
  if (c->lingering || !c->tls.handshake_done || c->close_when_flushed) {
    conn_close(c);
    return;
  }
  if (!c->hello_seen) {
    kehu_conn_fail(c, KEHU_EXHAUSTED, "no Hello within %u s of connecting (handshake_timeout)",
                   srv->cfg.handshake_timeout_ms / 1000);
    return;
  }
  if (!c->authed) {
    if (c->barrier) {   /* a login is being checked */
      uv_timer_start(&c->timer, on_timer, LOGIN_GRACE_MS, 0);
      return;
    }
    kehu_conn_fail(c, KEHU_UNAUTHENTICATED,
                   "not logged in within %u s (login_timeout): log in right after connecting",
                   srv->cfg.login_timeout_ms / 1000);
    return;
  }
  uint64_t idle = uv_now(srv->loop) - c->last_active;
  uint64_t limit = srv->cfg.idle_timeout_ms;
  /* A watching connection is quiet by design: it waits for pushes. */
  if (idle >= limit && c->inflight == 0 && !c->keep_when_idle) {
    conn_close(c);
    return;
  }
  uv_timer_start(&c->timer, on_timer, idle >= limit ? limit : limit - idle, 0);
}

/* The TLS handshake is done: greet the client, or, over a cap, tell it
 * which one in a final error frame (the CLI's exit 9). */
static void handshake_done(kehu_conn *c)
{
  kehu_server *srv = c->srv;
  if (c->tls.resumed)
    srv->tls_resumed++;
  else
    srv->tls_full++;
  if (c->tls.ticket_refused)
    srv->tls_tickets_refused++;
  send_hello(c);
  if (!c->refusing)
    return;   /* the handshake timer runs on: Hello is due within it */
  if (strcmp(c->refusing, "max_connections") == 0)
    kehu_conn_fail(c, KEHU_EXHAUSTED,
                   "the server is at its connection limit (max_connections = %u): try again later",
                   srv->cfg.max_connections);
  else
    kehu_conn_fail(c, KEHU_EXHAUSTED,
                   "too many connections are not logged in yet (max_unauthenticated = %u): "
                   "try again later", srv->cfg.max_unauthenticated);
}

/* Decrypts what arrived after the handshake and takes in its requests. */
static void read_frames(kehu_conn *c)
{
  if (c->close_when_flushed)
    return;
  int rc = kehu_tls_session_read(&c->tls, &c->in);
  if (rc != 0) {
    conn_close(c);
    return;
  }
  process_frames(c);
}

/* TLS handshake steps run on the loop for at most about [server]
 * handshake_budget_us per loop turn (0: no bound); connections whose turn
 * has not come wait in the server's handshake queue, so a reconnect storm
 * cannot hold up the connections already in
 * (docs/architecture.md#performance-design). */
static int handshake_budget_spent(const kehu_server *srv)
{
  uint64_t budget = (uint64_t)srv->cfg.handshake_budget_us * 1000;
  return budget && srv->handshake_spent_ns >= budget;
}

/* One step of c's TLS handshake with what it sent so far, counted against
 * the loop turn's budget. */
static void handshake_step(kehu_conn *c)
{
  uint64_t start = uv_hrtime();
  int rc = kehu_tls_session_handshake(&c->tls);
  c->srv->handshake_spent_ns += uv_hrtime() - start;
  if (rc < 0) {
    write_ciphertext(c);   /* the alert, if mbedTLS made one */
    conn_close(c);
    return;
  }
  if (rc == KEHU_TLS_AGAIN) {
    write_ciphertext(c);
    kehu_buf_trim(&c->tls.out, CONN_BUFFER_KEEP);
    return;
  }
  handshake_done(c);
  if (!c->refusing)
    read_frames(c);   /* a client may send its Hello with its last handshake message */
}

static void keep_awake(uv_idle_t *idle)
{
  (void)idle;
}

/* c's handshake waits for its turn (the budget): first come,
 * first served, at the end of this loop turn or in the next ones. */
static void queue_handshake(kehu_conn *c)
{
  kehu_server *srv = c->srv;
  c->handshake_queued = 1;
  c->handshake_next = NULL;
  conn_ref(c);
  if (srv->handshake_tail)
    srv->handshake_tail->handshake_next = c;
  else
    srv->handshake_head = c;
  srv->handshake_tail = c;
  /* An active idle handle keeps the loop from sleeping while some wait. */
  uv_idle_start(&srv->handshake_idle, keep_awake);
}

/* After each loop turn's I/O: the waiting handshakes, within what is left
 * of the turn's budget; then a new turn, a new budget. */
static void run_queued_handshakes(uv_check_t *check)
{
  kehu_server *srv = check->data;
  while (srv->handshake_head && !handshake_budget_spent(srv)) {
    kehu_conn *c = srv->handshake_head;
    srv->handshake_head = c->handshake_next;
    if (!srv->handshake_head)
      srv->handshake_tail = NULL;
    c->handshake_queued = 0;
    if (!c->closing)
      handshake_step(c);
    conn_unref(c);
  }
  if (!srv->handshake_head)
    uv_idle_stop(&srv->handshake_idle);
  srv->handshake_spent_ns = 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  kehu_conn *c = s->data;
  if (nread == 0)
    return;
  if (nread < 0) {
    conn_close(c);
    return;
  }
  if (c->lingering)
    return;   /* the final frame is out: what the client says is dropped */
  c->last_active = uv_now(c->srv->loop);
  if (kehu_tls_session_feed(&c->tls, buf->base, (size_t)nread) != 0) {
    conn_close(c);
    return;
  }
  if (!c->tls.handshake_done) {
    kehu_server *srv = c->srv;
    if (c->handshake_queued)
      return;   /* its turn comes with what it sent */
    if (srv->handshake_head || handshake_budget_spent(srv))
      queue_handshake(c);
    else
      handshake_step(c);
    return;
  }
  read_frames(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
  kehu_server *srv = listener->data;
  if (status < 0 || srv->stopping)
    return;
  kehu_conn *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->srv = srv;
  uv_tcp_init(srv->loop, &c->tcp);
  uv_timer_init(srv->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->open_handles = 2;
  if (kehu_tls_session_init(&c->tls, &srv->tls_current->conf) != 0 ||
      uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    c->closing = 1;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    return;
  }
  c->next = srv->conns;
  if (srv->conns)
    srv->conns->prev = c;
  srv->conns = c;
  /* At most max_connections, of which at most max_unauthenticated (README)
   * not logged in. Over a cap the client still gets its TLS handshake and
   * a final error naming the cap (a few at a time; more are just closed). */
  if (srv->nconns >= srv->cfg.max_connections)
    c->refusing = "max_connections";
  else if (srv->nunauth >= srv->cfg.max_unauthenticated)
    c->refusing = "max_unauthenticated";
  if (c->refusing) {
    srv->nrefusing++;
    /* While handshakes wait their turn (a reconnect storm), telling a
     * client it is over a cap would cost a handshake the server has no
     * time for: it is closed unanswered, and comes back later. */
    if (srv->nrefusing > MAX_REFUSING || srv->handshake_head) {
      conn_close(c);
      return;
    }
  } else {
    c->counted = 1;
    srv->nconns++;
    srv->nunauth++;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
    char host[48] = "?";
    if (ss.ss_family == AF_INET6)
      uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof host);
    else
      uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof host);
    snprintf(c->peer, sizeof c->peer, "%s", host);
  }
  if (!(c->ctx = srv->conn_ops->opened(srv, c, c->peer))) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  c->last_active = uv_now(srv->loop);
  uv_timer_start(&c->timer, on_timer, srv->cfg.handshake_timeout_ms, 0);
  set_reading(c, 1);
}

int kehu_listen(kehu_server *srv, const kehu_conn_ops *ops, kehu_error *err)
{
  srv->conn_ops = ops;
  char host[128];
  const char *colon = strrchr(srv->cfg.listen, ':');
  if (!colon || colon == srv->cfg.listen)
    return kehu_fail(err, KEHU_INVALID, "listen", "listen address '%s' is not HOST:PORT",
                     srv->cfg.listen);
  snprintf(host, sizeof host, "%.*s", (int)(colon - srv->cfg.listen), srv->cfg.listen);
  int port = atoi(colon + 1);
  char *h = host;
  if (h[0] == '[') {
    h++;
    h[strcspn(h, "]")] = '\0';
  }
  struct sockaddr_storage addr;
  if (uv_ip4_addr(h, port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(h, port, (struct sockaddr_in6 *)&addr) != 0)
    return kehu_fail(err, KEHU_INVALID, "listen", "listen address '%s': '%s' is not an IP address",
                     srv->cfg.listen, h);
  uv_tcp_init(srv->loop, &srv->listener);
  srv->listener.data = srv;
  int rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&srv->listener, 1024, on_connection);
  if (rc != 0)
    return kehu_fail(err, KEHU_UNAVAILABLE, "listen", "cannot listen on %s: %s", srv->cfg.listen,
                     uv_strerror(rc));
  uv_idle_init(srv->loop, &srv->handshake_idle);
  uv_check_init(srv->loop, &srv->handshake_check);
  srv->handshake_check.data = srv;
  uv_check_start(&srv->handshake_check, run_queued_handshakes);
  uv_unref((uv_handle_t *)&srv->handshake_check);
  srv->handshake_handles = 1;
  struct sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len);
  char name[64];
  int bport;
  if (bound.ss_family == AF_INET6) {
    uv_ip6_name((struct sockaddr_in6 *)&bound, name, sizeof name);
    bport = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    printf("kehud listening on [%s]:%d\n", name, bport);
  } else {
    uv_ip4_name((struct sockaddr_in *)&bound, name, sizeof name);
    bport = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    printf("kehud listening on %s:%d\n", name, bport);
  }
  fflush(stdout);
  return KEHU_OK;
}
