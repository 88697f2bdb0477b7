/* One benchmark connection: libuv TCP, TLS over memory buffers
 * (common/tls.h), frames, and requests matched to replies by id. Hello and
 * login are queued before anything else, so a caller may pipeline requests
 * behind them (the server holds later frames until the login is answered).
 * A connection frees itself in its close callback, after events->closed. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/platform_util.h>

#include "bench.h"

#define SLOT_BITS 20   /* request id = sequence << SLOT_BITS | slot */

typedef struct {
  uint64_t id;         /* 0: free */
  bench_reply_fn fn;
  void *arg;
} pending;

struct bench_conn {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  bench_net *net;
  const bench_conn_events *events;
  void *owner;
  kehu_tls_session tls;
  kehu_buf plain_in;         /* decrypted, not yet parsed */
  kehu_buf plain_out;        /* frames waiting for encryption */
  pending *slots;
  unsigned nslots;
  unsigned *free_slots;
  unsigned nfree;
  uint64_t seq;
  int password_login;
  int offered;               /* a saved session was offered */
  unsigned char offered_master[48];
  int resumed;
  int connected;
  int hello_seen;
  int logged_in;
  int closing;
  int failure_status;
  char failure[320];
};

/* One read buffer for all of a thread's connections (watch --reconnect
 * runs its probe in a thread of its own): every read is consumed before
 * the next. */
static _Thread_local char read_buffer[64 * 1024];

static void close_now(bench_conn *c);

void *bench_conn_owner(const bench_conn *c) { return c->owner; }
int bench_conn_resumed(const bench_conn *c) { return c->resumed; }

const char *bench_conn_stage(const bench_conn *c)
{
  if (!c->connected)
    return "waiting for the TCP connection";
  if (!c->tls.handshake_done)
    return "in the TLS handshake";
  if (!c->hello_seen)
    return "waiting for the server's Hello";
  if (!c->logged_in)
    return "waiting for the reply to its login";
  return "logged in";
}

const char *bench_conn_failure(const bench_conn *c, int *status)
{
  if (status)
    *status = c->failure_status;
  return c->failure[0] ? c->failure : NULL;
}

static void fail(bench_conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(bench_conn *c, int status, const char *fmt, ...)
{
  if (c->closing)
    return;
  if (!c->failure[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->failure, sizeof c->failure, fmt, ap);
    va_end(ap);
    c->failure_status = status;
  }
  close_now(c);
}

static const char *tls_error(int code, char *buf, size_t len)
{
  if (code == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
    return "certificate verification failed";
  return kehu_tls_strerror(code, buf, len);
}

/* ---- request slots ---- */

static int take_slot(bench_conn *c, unsigned *slot)
{
  if (c->nfree == 0) {
    unsigned n = c->nslots ? c->nslots * 2 : 16;
    if (n > (1u << SLOT_BITS))
      return -1;
    pending *s = realloc(c->slots, n * sizeof *s);
    if (!s)
      return -1;
    c->slots = s;
    unsigned *f = realloc(c->free_slots, n * sizeof *f);
    if (!f)
      return -1;
    c->free_slots = f;
    memset(s + c->nslots, 0, (n - c->nslots) * sizeof *s);
    for (unsigned i = n; i > c->nslots; i--)
      c->free_slots[c->nfree++] = i - 1;
    c->nslots = n;
  }
  *slot = c->free_slots[--c->nfree];
  return 0;
}

static void release_slot(bench_conn *c, unsigned slot)
{
  c->slots[slot].id = 0;
  c->free_slots[c->nfree++] = slot;
}

static int queue_envelope(bench_conn *c, const Kehu__Envelope *env)
{
  return kehu_frame_pack(&c->plain_out, env, KEHU_FRAME_DEFAULT_MAX);
}

int bench_conn_request(bench_conn *c, Kehu__Request *req, bench_reply_fn fn, void *arg)
{
  unsigned slot;
  if (c->closing || take_slot(c, &slot) != 0)
    return -1;
  uint64_t id = ++c->seq << SLOT_BITS | slot;
  Kehu__Envelope env = KEHU__ENVELOPE__INIT;
  env.id = id;
  env.body_case = KEHU__ENVELOPE__BODY_REQUEST;
  env.request = req;
  if (queue_envelope(c, &env) != 0) {
    release_slot(c, slot);
    return -1;
  }
  c->slots[slot] = (pending){id, fn, arg};
  return 0;
}

/* ---- output ---- */

typedef struct {
  uv_write_t req;
  uint8_t data[];
} write_req;

static void on_written(uv_write_t *req, int status)
{
  bench_conn *c = req->handle->data;
  free(req);
  if (status < 0 && status != UV_ECANCELED)
    fail(c, KEHU_UNAVAILABLE, "writing to %s: %s", c->net->server, uv_strerror(status));
}

/* Sends the ciphertext mbedTLS produced: straight into the socket when it
 * takes it (libuv refuses while older writes wait, which keeps order),
 * else through a queued write of a copy. */
static void write_ciphertext(bench_conn *c)
{
  kehu_buf *out = &c->tls.out;
  size_t n = kehu_buf_size(out);
  if (n == 0 || uv_is_closing((uv_handle_t *)&c->tcp))
    return;
  uv_buf_t b = uv_buf_init((char *)kehu_buf_head(out), (unsigned)n);
  int wrote = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (wrote < 0 && wrote != UV_EAGAIN) {
    fail(c, KEHU_UNAVAILABLE, "writing to %s: %s", c->net->server, uv_strerror(wrote));
    return;
  }
  if (wrote > 0) {
    kehu_buf_consume(out, (size_t)wrote);
    n -= (size_t)wrote;
  }
  if (n > 0) {
    write_req *w = malloc(sizeof *w + n);
    if (!w) {
      fail(c, KEHU_INTERNAL, "out of memory");
      return;
    }
    memcpy(w->data, kehu_buf_head(out), n);
    b = uv_buf_init((char *)w->data, (unsigned)n);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc != 0) {
      free(w);
      fail(c, KEHU_UNAVAILABLE, "writing to %s: %s", c->net->server, uv_strerror(rc));
      return;
    }
    kehu_buf_consume(out, n);
  }
}

void bench_conn_flush(bench_conn *c)
{
  if (c->closing || !c->tls.handshake_done)
    return;   /* queued frames go out when the handshake completes */
  size_t n = kehu_buf_size(&c->plain_out);
  if (n > 0) {
    int rc = kehu_tls_session_write(&c->tls, kehu_buf_head(&c->plain_out), n);
    kehu_buf_consume(&c->plain_out, n);
    if (rc != 0) {
      char msg[128];
      fail(c, KEHU_INTERNAL, "TLS write: %s", tls_error(rc, msg, sizeof msg));
      return;
    }
  }
  write_ciphertext(c);
}

/* ---- closing ---- */

static void on_closed(uv_handle_t *h)
{
  bench_conn *c = h->data;
  if (c->events->closed)
    c->events->closed(c);
  kehu_tls_session_free(&c->tls);
  kehu_buf_free(&c->plain_in);
  kehu_buf_free(&c->plain_out);
  free(c->slots);
  free(c->free_slots);
  free(c);
}

static void close_now(bench_conn *c)
{
  if (c->closing)
    return;
  c->closing = 1;
  const char *why = c->failure[0] ? c->failure : "the connection was closed";
  for (unsigned i = 0; i < c->nslots; i++) {
    if (!c->slots[i].id)
      continue;
    pending p = c->slots[i];
    release_slot(c, i);
    p.fn(c, p.arg, NULL, why);
  }
  uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void bench_conn_close(bench_conn *c)
{
  if (c->closing)
    return;
  if (c->tls.handshake_done) {
    mbedtls_ssl_close_notify(&c->tls.ssl);
    write_ciphertext(c);
  }
  close_now(c);
}

/* ---- input ---- */

static int on_hello(bench_conn *c, const Kehu__Envelope *env)
{
  if (env->body_case != KEHU__ENVELOPE__BODY_HELLO) {
    fail(c, KEHU_UNAVAILABLE, "protocol error: %s did not start with a Hello", c->net->server);
    return -1;
  }
  if (env->hello->protocol_version != KEHU_PROTOCOL_VERSION) {
    fail(c, KEHU_UNAVAILABLE, "%s speaks protocol %u, kehu-bench speaks %u", c->net->server,
         env->hello->protocol_version, KEHU_PROTOCOL_VERSION);
    return -1;
  }
  c->hello_seen = 1;
  return 0;
}

static void on_envelope(bench_conn *c, const Kehu__Envelope *env)
{
  if (!c->hello_seen) {
    on_hello(c, env);
    return;
  }
  if (env->body_case == KEHU__ENVELOPE__BODY_EVENT) {
    if (c->events->event && c->logged_in)
      c->events->event(c, env->event);
    return;
  }
  if (env->body_case != KEHU__ENVELOPE__BODY_RESPONSE) {
    fail(c, KEHU_INTERNAL, "protocol error: %s sent a frame that is not a response",
         c->net->server);
    return;
  }
  const Kehu__Response *r = env->response;
  if (env->id == 0) {   /* the server gives up on the connection */
    fail(c, (int)r->status, "the server closed the connection: %s: %s",
         kehu_status_name((int)r->status), r->message ? r->message : "");
    return;
  }
  unsigned slot = (unsigned)(env->id & ((1u << SLOT_BITS) - 1));
  if (slot >= c->nslots || c->slots[slot].id != env->id) {
    fail(c, KEHU_INTERNAL, "protocol error: a reply to request %llu, which was never sent",
         (unsigned long long)env->id);
    return;
  }
  pending p = c->slots[slot];
  release_slot(c, slot);
  p.fn(c, p.arg, r, NULL);
}

static void process_frames(bench_conn *c)
{
  while (!c->closing) {
    const uint8_t *payload;
    size_t len, used;
    kehu_frame_result fr = kehu_frame_next(kehu_buf_head(&c->plain_in),
                                           kehu_buf_size(&c->plain_in), KEHU_FRAME_DEFAULT_MAX,
                                           &payload, &len, &used);
    if (fr == KEHU_FRAME_NEED_MORE)
      break;
    if (fr != KEHU_FRAME_OK) {
      fail(c, KEHU_INTERNAL, "protocol error: %s sent a bad frame length %zu", c->net->server,
           len);
      return;
    }
    Kehu__Envelope *env = kehu_envelope_decode(payload, len);
    kehu_buf_consume(&c->plain_in, used);
    if (!env) {
      fail(c, KEHU_INTERNAL, "protocol error: a frame from %s does not decode", c->net->server);
      return;
    }
    on_envelope(c, env);
    kehu_envelope_free(env);
  }
}

/* After the handshake: the certificate must name the host (mbedTLS checks
 * DNS names itself; IP literals are ours to check), and the first full
 * handshake leaves a session for the others to resume. */
static int handshake_finished(bench_conn *c)
{
  bench_net *net = c->net;
  c->resumed = c->offered &&
               memcmp(c->tls.ssl.session->master, c->offered_master, sizeof c->offered_master) == 0;
  mbedtls_platform_zeroize(c->offered_master, sizeof c->offered_master);
  if (net->host_is_ip) {
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&c->tls.ssl);
    if (peer ? !kehu_tls_cert_matches_host(peer, net->host) : !c->resumed) {
      fail(c, KEHU_UNAVAILABLE, "TLS verification failed: the certificate of %s does not name %s",
           net->server, net->host);
      return -1;
    }
  }
  if (c->resumed)
    net->handshakes_resumed++;
  else
    net->handshakes_full++;
  if (!net->have_saved && !net->full_handshake &&
      mbedtls_ssl_get_session(&c->tls.ssl, &net->saved) == 0)
    net->have_saved = 1;
  return 0;
}

static void alloc_shared(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(read_buffer, sizeof read_buffer);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  bench_conn *c = s->data;
  char msg[160];
  if (nread == 0 || c->closing)
    return;
  if (nread < 0) {
    fail(c, KEHU_UNAVAILABLE, "%s closed the connection%s%s", c->net->server,
         nread == UV_EOF ? "" : ": ", nread == UV_EOF ? "" : uv_strerror((int)nread));
    return;
  }
  if (kehu_tls_session_feed(&c->tls, buf->base, (size_t)nread) != 0) {
    fail(c, KEHU_INTERNAL, "out of memory");
    return;
  }
  if (!c->tls.handshake_done) {
    int rc = kehu_tls_session_handshake(&c->tls);
    write_ciphertext(c);
    if (rc == KEHU_TLS_AGAIN || c->closing)
      return;
    if (rc < 0) {
      if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        char info[256] = "";
        mbedtls_x509_crt_verify_info(info, sizeof info, "",
                                     mbedtls_ssl_get_verify_result(&c->tls.ssl));
        info[strcspn(info, "\n")] = '\0';
        fail(c, KEHU_UNAVAILABLE, "TLS verification of %s failed: %s (is --ca right?)",
             c->net->server, info[0] ? info : "unknown reason");
      } else {
        fail(c, KEHU_UNAVAILABLE, "TLS handshake with %s failed: %s", c->net->server,
             tls_error(rc, msg, sizeof msg));
      }
      return;
    }
    if (handshake_finished(c) != 0)
      return;
    bench_conn_flush(c);   /* Hello, login and whatever was queued behind them */
  }
  int rc = kehu_tls_session_read(&c->tls, &c->plain_in);
  if (rc == KEHU_TLS_CLOSED) {
    process_frames(c);
    fail(c, KEHU_UNAVAILABLE, "%s closed the connection", c->net->server);
    return;
  }
  if (rc != 0) {
    fail(c, KEHU_UNAVAILABLE, "TLS read from %s: %s", c->net->server, tls_error(rc, msg, sizeof msg));
    return;
  }
  process_frames(c);
  kehu_buf_shrink_if_empty(&c->plain_in);
  bench_conn_flush(c);
}

static void on_connect(uv_connect_t *req, int status)
{
  bench_conn *c = req->data;
  if (status == UV_ECANCELED || c->closing)
    return;
  if (status < 0) {
    fail(c, KEHU_UNAVAILABLE, "cannot connect to %s: %s", c->net->server, uv_strerror(status));
    return;
  }
  c->connected = 1;
  uv_tcp_nodelay(&c->tcp, 1);
  int rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_shared, on_read);
  if (rc != 0) {
    fail(c, KEHU_UNAVAILABLE, "reading from %s: %s", c->net->server, uv_strerror(rc));
    return;
  }
  char msg[160];
  rc = kehu_tls_session_handshake(&c->tls);   /* ClientHello */
  if (rc < 0) {
    fail(c, KEHU_UNAVAILABLE, "TLS handshake with %s failed: %s", c->net->server,
         tls_error(rc, msg, sizeof msg));
    return;
  }
  write_ciphertext(c);
}

/* ---- login ---- */

static void on_login(bench_conn *c, void *arg, const Kehu__Response *r, const char *failure)
{
  (void)arg;
  if (failure)
    return;   /* the connection is going away and says why */
  if (r->status != KEHU__STATUS__OK) {
    fail(c, (int)r->status, "login as %s refused: %s: %s", c->net->user,
         kehu_status_name((int)r->status), r->message ? r->message : "");
    return;
  }
  if (c->password_login && r->result_case == KEHU__RESPONSE__RESULT_LOGIN && r->login->token &&
      !c->net->token)
    c->net->token = strdup(r->login->token);
  c->logged_in = 1;
  if (c->events->ready)
    c->events->ready(c);
}

static int queue_hello_and_login(bench_conn *c)
{
  Kehu__Hello hello = KEHU__HELLO__INIT;
  hello.protocol_version = KEHU_PROTOCOL_VERSION;
  hello.software = "kehu-bench";
  Kehu__Envelope env = KEHU__ENVELOPE__INIT;
  env.body_case = KEHU__ENVELOPE__BODY_HELLO;
  env.hello = &hello;
  if (queue_envelope(c, &env) != 0)
    return -1;
  Kehu__LoginRequest login = KEHU__LOGIN_REQUEST__INIT;
  login.username = (char *)c->net->user;
  if (c->password_login)
    login.password = (char *)c->net->password;
  else
    login.token = c->net->token;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_LOGIN;
  req.login = &login;
  return bench_conn_request(c, &req, on_login, NULL);
}

bench_conn *bench_conn_open(bench_net *net, const bench_conn_events *events, void *owner,
                            int flags)
{
  bench_conn *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->net = net;
  c->events = events;
  c->owner = owner;
  c->password_login = (flags & BENCH_LOGIN_PASSWORD) || !net->token;
  uv_tcp_init(net->loop, &c->tcp);
  c->tcp.data = c;
  c->connect_req.data = c;
  int rc = kehu_tls_session_init(&c->tls, &net->tls.conf);
  if (rc == 0 && !net->host_is_ip)
    rc = mbedtls_ssl_set_hostname(&c->tls.ssl, net->host);
  if (rc != 0) {
    fail(c, KEHU_INTERNAL, "TLS setup: out of memory");
    return c;
  }
  if (net->have_saved && !net->full_handshake &&
      mbedtls_ssl_set_session(&c->tls.ssl, &net->saved) == 0) {
    c->offered = 1;
    memcpy(c->offered_master, net->saved.master, sizeof c->offered_master);
  }
  if (queue_hello_and_login(c) != 0) {
    fail(c, KEHU_INTERNAL, "out of memory");
    return c;
  }
  rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&net->addr, on_connect);
  if (rc != 0)
    fail(c, KEHU_UNAVAILABLE, "cannot connect to %s: %s", net->server, uv_strerror(rc));
  return c;
}
