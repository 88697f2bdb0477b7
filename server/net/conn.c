/* Connection lifecycle: accept -> TLS handshake -> Hello -> frames ->
 * dispatch -> replies, with every limit of SPEC §7 enforced here. */
#include "conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Empty buffers up to this size stay with their connection for the next
 * request; larger ones (a big frame went through) are given back. */
#define CONN_BUFFER_KEEP 4096

/* One read buffer for every connection: reads are consumed at once, so
 * idle connections hold no read memory (BENCH P1). */
static char read_buffer[64 * 1024];

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void alloc_shared(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)h;
  (void)suggested;
  buf->base = read_buffer;
  buf->len = sizeof read_buffer;
}

void kehu_conn_ref(kehu_conn *c)
{
  c->refs++;
}

static void maybe_free(kehu_conn *c)
{
  if (c->open_handles > 0 || c->refs > 0)
    return;
  kehu_uploads_free(c->uploads);
  kehu_tls_session_free(&c->tls);
  kehu_buf_free(&c->in);
  kehu_buf_free(&c->out);
  free(c);
}

void kehu_conn_unref(kehu_conn *c)
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

void kehu_conn_close(kehu_conn *c)
{
  if (c->closing)
    return;
  c->closing = 1;
  kehu_server *srv = c->srv;
  unlink_flush(c);
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  srv->nconns--;
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void set_reading(kehu_conn *c, int on);

void kehu_conn_stop_reading_all(kehu_server *srv)
{
  for (kehu_conn *c = srv->conns; c; c = c->next)
    set_reading(c, 0);
}

void kehu_conn_close_all(kehu_server *srv)
{
  while (srv->conns)
    kehu_conn_close(srv->conns);
}

/* ---- output ---- */

typedef struct {
  uv_write_t req;
  kehu_conn *conn;
  size_t len;
  uint8_t data[];
} write_req;

static void on_written(uv_write_t *req, int status)
{
  write_req *w = (write_req *)req;
  kehu_conn *c = w->conn;
  c->queued -= w->len;
  free(w);
  if (status < 0 || (c->close_when_flushed && c->queued == 0))
    kehu_conn_close(c);
  kehu_conn_unref(c);
}

/* Writes c's pending ciphertext: directly when the socket takes it, else
 * through a queued uv_write. A client that stops reading is cut off once
 * max_write_queue bytes wait for it. */
static void write_ciphertext(kehu_conn *c)
{
  kehu_buf *out = &c->tls.out;
  size_t n = kehu_buf_size(out);
  if (n == 0 || c->closing)
    return;
  if (c->queued == 0) {
    uv_buf_t b = uv_buf_init((char *)kehu_buf_head(out), (unsigned)n);
    int wrote = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (wrote > 0) {
      kehu_buf_consume(out, (size_t)wrote);
      n -= (size_t)wrote;
    } else if (wrote != UV_EAGAIN) {
      kehu_conn_close(c);
      return;
    }
  }
  if (n > 0) {
    if (c->queued + n > c->srv->cfg.max_write_queue) {
      fprintf(stderr, "kehud: %s reads too slowly (%zu bytes waiting, max_write_queue): "
              "disconnected\n", c->peer, c->queued + n);
      kehu_conn_close(c);
      return;
    }
    write_req *w = malloc(sizeof *w + n);
    if (!w) {
      kehu_conn_close(c);
      return;
    }
    memcpy(w->data, kehu_buf_head(out), n);
    w->conn = c;
    w->len = n;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
      free(w);
      kehu_conn_close(c);
      return;
    }
    c->queued += n;
    kehu_conn_ref(c);
  }
  kehu_buf_consume(out, kehu_buf_size(out));
  kehu_buf_trim(out, CONN_BUFFER_KEEP);
  if (c->close_when_flushed && c->queued == 0)
    kehu_conn_close(c);
}

static void flush_conn(kehu_conn *c)
{
  if (c->closing)
    return;
  size_t n = kehu_buf_size(&c->out);
  if (n > 0) {
    int rc = kehu_tls_session_write(&c->tls, kehu_buf_head(&c->out), n);
    kehu_buf_consume(&c->out, n);
    kehu_buf_trim(&c->out, CONN_BUFFER_KEEP);
    if (rc != 0) {
      kehu_conn_close(c);
      return;
    }
  }
  write_ciphertext(c);
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

void kehu_conn_send(kehu_conn *c, const Kehu__Envelope *env)
{
  if (c->closing)
    return;
  if (kehu_frame_pack(&c->out, env, c->srv->cfg.max_frame) != 0) {
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
  return 0;
}

/* Parses and dispatches whole frames while the connection may take more
 * requests; stops reading the socket while it may not, so a pipelining
 * client is slowed down instead of buffered without bound. */
static void process_frames(kehu_conn *c)
{
  kehu_server *srv = c->srv;
  while (!c->closing && !c->barrier && c->inflight < srv->cfg.max_inflight) {
    const uint8_t *payload;
    size_t len, used;
    kehu_frame_result r = kehu_frame_next(kehu_buf_head(&c->in), kehu_buf_size(&c->in),
                                          srv->cfg.max_frame, &payload, &len, &used);
    if (r == KEHU_FRAME_NEED_MORE)
      break;
    if (r == KEHU_FRAME_TOO_LARGE) {
      kehu_conn_fail(c, KEHU_EXHAUSTED, "frame of %zu bytes exceeds the limit of %zu (max_frame)",
                     len, srv->cfg.max_frame);
      return;
    }
    if (r == KEHU_FRAME_EMPTY) {
      kehu_conn_fail(c, KEHU_INVALID, "protocol error: empty frame");
      return;
    }
    Kehu__Envelope *env = kehu_envelope_decode(payload, len);
    kehu_buf_consume(&c->in, used);
    if (!env) {
      kehu_conn_fail(c, KEHU_INVALID, "protocol error: a frame does not decode as an Envelope");
      return;
    }
    if (!c->hello_seen) {
      int ok = accept_hello(c, env);
      kehu_envelope_free(env);
      if (ok != 0)
        return;
      continue;
    }
    if (env->body_case != KEHU__ENVELOPE__BODY_REQUEST ||
        env->request->op_case == KEHU__REQUEST__OP__NOT_SET) {
      kehu_envelope_free(env);
      kehu_conn_fail(c, KEHU_INVALID, "protocol error: expected a request");
      return;
    }
    kehu_dispatch(c, env);
  }
  kehu_buf_trim(&c->in, CONN_BUFFER_KEEP);
  kehu_buf_trim(&c->tls.in, CONN_BUFFER_KEEP);
  /* Blocked with data waiting: stop reading until a reply unblocks us. */
  int blocked = c->barrier || c->inflight >= srv->cfg.max_inflight;
  set_reading(c, !blocked);
}

void kehu_conn_request_done(kehu_conn *c)
{
  c->inflight--;
  if (!c->closing)
    process_frames(c);
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

static void on_timer(uv_timer_t *t)
{
  kehu_conn *c = t->data;
  if (!c->tls.handshake_done) {
    kehu_conn_close(c);
    return;
  }
  uint64_t idle = uv_now(c->srv->loop) - c->last_active;
  uint64_t limit = c->srv->cfg.idle_timeout_ms;
  /* A watching connection is quiet by design: it waits for pushes. */
  if (idle >= limit && c->inflight == 0 && !c->watching) {
    kehu_conn_close(c);
    return;
  }
  uv_timer_start(&c->timer, on_timer, idle >= limit ? limit : limit - idle, 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  kehu_conn *c = s->data;
  if (nread == 0)
    return;
  if (nread < 0) {
    kehu_conn_close(c);
    return;
  }
  c->last_active = uv_now(c->srv->loop);
  if (kehu_tls_session_feed(&c->tls, buf->base, (size_t)nread) != 0) {
    kehu_conn_close(c);
    return;
  }
  if (!c->tls.handshake_done) {
    int rc = kehu_tls_session_handshake(&c->tls);
    if (rc < 0) {
      write_ciphertext(c);   /* the alert, if mbedTLS made one */
      kehu_conn_close(c);
      return;
    }
    if (rc == KEHU_TLS_AGAIN) {
      write_ciphertext(c);
      return;
    }
    uv_timer_start(&c->timer, on_timer, c->srv->cfg.idle_timeout_ms, 0);
    send_hello(c);
  }
  int rc = kehu_tls_session_read(&c->tls, &c->in);
  if (rc != 0) {
    kehu_conn_close(c);
    return;
  }
  process_frames(c);
  kehu_conn_flush_all(c->srv);
  write_ciphertext(c);
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
  if (kehu_tls_session_init(&c->tls, &srv->tls.conf) != 0 ||
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
  srv->nconns++;
  if (srv->nconns > srv->cfg.max_connections) {
    /* Over the cap: the client sees the connection closed at once. */
    kehu_conn_close(c);
    return;
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
  uv_tcp_nodelay(&c->tcp, 1);
  c->last_active = uv_now(srv->loop);
  uv_timer_start(&c->timer, on_timer, srv->cfg.handshake_timeout_ms, 0);
  set_reading(c, 1);
}

int kehu_listen(kehu_server *srv, kehu_error *err)
{
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
