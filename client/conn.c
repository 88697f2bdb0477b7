#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/net_sockets.h>
#include <mbedtls/platform_util.h>

#include "cli.h"
#include "config.h"
#include "frame.h"
#include "i18n.h"
#include "tls.h"
#include "tls_cache.h"

#define CONNECT_TIMEOUT_MS 10000
#define IO_TIMEOUT_SECONDS 30
#define STASH_MAX 64   /* responses read while waiting for another one */

struct kehu_conn {
  int fd;
  int tls_inited;
  int ssl_inited;
  int handshake_done;
  int broken;
  int save_session;   /* after a full handshake, once the first requests are out */
  int io_errno;       /* errno of the last failed send or recv */
  kehu_tls_client tls;
  mbedtls_ssl_context ssl;
  kehu_buf in;        /* plaintext received, not yet decoded */
  kehu_buf out;       /* plaintext frames queued */
  uint64_t next_id;
  Kehu__Envelope *stash[STASH_MAX];
  size_t nstash;
  char *server;
  char *ca_file;
  char host[256];
  char port[8];
  int host_is_ip;
};

int kehu_response_error(const Kehu__Response *resp, kehu_error *err)
{
  int status = (int)resp->status;
  switch (status) {
  case KEHU_OK: case KEHU_INTERNAL: case KEHU_UNAUTHENTICATED: case KEHU_PERMISSION_DENIED:
  case KEHU_NOT_FOUND: case KEHU_CONFLICT: case KEHU_INVALID: case KEHU_UNAVAILABLE:
  case KEHU_EXHAUSTED:
    break;
  default:
    status = KEHU_INTERNAL;
  }
  kehu_fail(err, status, resp->field, "%s",
            resp->message && resp->message[0] ? resp->message : kehu_status_name(status));
  snprintf(err->existing_id, sizeof err->existing_id, "%s",
           resp->existing_id ? resp->existing_id : "");
  return status;
}

/* ---- socket I/O for mbedTLS: a blocking socket with timeouts ---- */

static int sock_send(void *ctx, const unsigned char *buf, size_t len)
{
  kehu_conn *c = ctx;
  for (;;) {
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
      return (int)n;
    if (errno == EINTR)
      continue;
    c->io_errno = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return MBEDTLS_ERR_SSL_TIMEOUT;
    return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
                                                 : MBEDTLS_ERR_NET_SEND_FAILED;
  }
}

static int sock_recv(void *ctx, unsigned char *buf, size_t len)
{
  kehu_conn *c = ctx;
  for (;;) {
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n >= 0)
      return (int)n;
    if (errno == EINTR)
      continue;
    c->io_errno = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK)   /* SO_RCVTIMEO expired */
      return MBEDTLS_ERR_SSL_TIMEOUT;
    return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
  }
}

static int connect_one(const struct addrinfo *ai, int *error)
{
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0) {
    *error = errno;
    return -1;
  }
  /* Non-blocking connect, so an unreachable host fails in seconds, not minutes. */
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      *error = errno;
      close(fd);
      return -1;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int r;
    do
      r = poll(&p, 1, CONNECT_TIMEOUT_MS);
    while (r < 0 && errno == EINTR);
    int so_error = 0;
    socklen_t sl = sizeof so_error;
    if (r == 0)
      so_error = ETIMEDOUT;
    else if (r < 0)
      so_error = errno;
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &sl) != 0)
      so_error = errno;
    if (so_error) {
      *error = so_error;
      close(fd);
      return -1;
    }
  }
  int flags = fcntl(fd, F_GETFL);
  int one = 1;
  struct timeval tv = {.tv_sec = IO_TIMEOUT_SECONDS};
  /* Without TCP_NODELAY each request waits ~40 ms on delayed ACKs. */
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    *error = errno;
    close(fd);
    return -1;
  }
  return fd;
}

static int tcp_connect(kehu_conn *c, kehu_error *err)
{
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_NUMERICSERV};
  struct addrinfo *list = NULL;
  int g = getaddrinfo(c->host, c->port, &hints, &list);
  if (g == EAI_SYSTEM)
    return kehu_fail_errno(err, KEHU_UNAVAILABLE, NULL, errno, "cannot connect to %s", c->server);
  if (g != 0) {
    /* gai_strerror follows the locale: English for the message scripts read */
    locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
    kehu_fail(err, KEHU_UNAVAILABLE, NULL, "cannot connect to %s: %s", c->server,
              gai_strerror(g));
    if (c_locale) {
      uselocale(old);
      freelocale(c_locale);
    }
    char what[320];
    snprintf(what, sizeof what, _("cannot connect to %s"), c->server);
    kehu_error_set_human(err, _("%s: %s"), what, gai_strerror(g));
    return KEHU_UNAVAILABLE;
  }
  int error = 0;
  for (const struct addrinfo *ai = list; ai && c->fd < 0; ai = ai->ai_next)
    c->fd = connect_one(ai, &error);
  freeaddrinfo(list);
  if (c->fd < 0)
    return kehu_fail_errno(err, KEHU_UNAVAILABLE, NULL, error ? error : ECONNREFUSED,
                           "cannot connect to %s", c->server);
  return KEHU_OK;
}

/* ---- TLS ---- */

static int verify_error(kehu_conn *c, uint32_t flags, kehu_error *err)
{
  if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
    return kehu_fail_tr(err, KEHU_UNAVAILABLE, NULL,
                        "TLS verification failed: the server's certificate is not signed by "
                        "the CA in %s (--ca)",
                        c->ca_file);
  if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
    return kehu_fail_tr(err, KEHU_UNAVAILABLE, NULL,
                        "TLS verification failed: the server's certificate does not name "
                        "host %s",
                        c->host);
  if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
    return kehu_fail_tr(err, KEHU_UNAVAILABLE, NULL,
                        "TLS verification failed: the server's certificate has expired");
  if (flags & MBEDTLS_X509_BADCERT_FUTURE)
    return kehu_fail_tr(err, KEHU_UNAVAILABLE, NULL,
                        "TLS verification failed: the server's certificate is not valid yet "
                        "(check the clock)");
  char info[256] = "";
  mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
  info[strcspn(info, "\n")] = '\0';
  if (!info[0])
    return kehu_fail_tr(err, KEHU_UNAVAILABLE, NULL,
                        "TLS verification failed for %s: unknown reason", c->server);
  return kehu_fail_tr(err, KEHU_UNAVAILABLE, NULL, "TLS verification failed for %s: %s",
                      c->server, info);
}

/* Why a TLS connection failed: in English (human 0) or the user's
 * language. */
static const char *tls_reason(kehu_conn *c, int code, int human, char *buf, size_t len)
{
  if (code == MBEDTLS_ERR_SSL_TIMEOUT)
    return human ? _("no answer within 30 s") : "no answer within 30 s";
  if (code == MBEDTLS_ERR_SSL_CONN_EOF || code == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
    return human ? _("the server closed the connection") : "the server closed the connection";
  if ((code == MBEDTLS_ERR_NET_CONN_RESET || code == MBEDTLS_ERR_NET_SEND_FAILED ||
       code == MBEDTLS_ERR_NET_RECV_FAILED) && c->io_errno)
    return human ? strerror(c->io_errno) : kehu_strerror_en(c->io_errno);
  return kehu_tls_strerror(code, buf, len);
}

/* err: fmt (an English msgid with the server and the reason) about a TLS
 * failure, in both languages. */
static int tls_fail(kehu_conn *c, int code, const char *fmt, kehu_error *err)
{
  char buf[160];
  kehu_fail(err, KEHU_UNAVAILABLE, NULL, fmt, c->server, tls_reason(c, code, 0, buf, sizeof buf));
  kehu_error_set_human(err, _(fmt), c->server, tls_reason(c, code, 1, buf, sizeof buf));
  return KEHU_UNAVAILABLE;
}

/* One handshake attempt. *retryable: it failed while offering a saved
 * session, which a fresh connection without it might not. */
static int tls_handshake(kehu_conn *c, int use_cache, int *retryable, kehu_error *err)
{
  *retryable = 0;
  mbedtls_ssl_init(&c->ssl);
  c->ssl_inited = 1;
  if (mbedtls_ssl_setup(&c->ssl, &c->tls.conf) != 0 ||
      (!c->host_is_ip && mbedtls_ssl_set_hostname(&c->ssl, c->host) != 0))
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory setting up TLS");
  /* An IP literal is checked against the iPAddress entries after the
   * handshake: mbedTLS 2.28 only matches DNS names. */
  unsigned char master[48];
  int offered = 0;
  if (use_cache) {
    mbedtls_ssl_session saved;
    mbedtls_ssl_session_init(&saved);
    if (kehu_tls_cache_load(c->server, c->tls.ca_sha256, &saved) == 0 &&
        mbedtls_ssl_set_session(&c->ssl, &saved) == 0) {
      memcpy(master, saved.master, sizeof master);
      offered = 1;
    }
    mbedtls_ssl_session_free(&saved);
  }
  mbedtls_ssl_set_bio(&c->ssl, c, sock_send, sock_recv, NULL);
  int r;
  do
    r = mbedtls_ssl_handshake(&c->ssl);
  while (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE);
  int resumed = offered && r == 0 && memcmp(c->ssl.session->master, master, sizeof master) == 0;
  mbedtls_platform_zeroize(master, sizeof master);
  if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
    return verify_error(c, mbedtls_ssl_get_verify_result(&c->ssl), err);
  if (r != 0) {
    *retryable = offered;
    return tls_fail(c, r, N_("TLS handshake with %s failed: %s"), err);
  }
  if (c->host_is_ip) {
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&c->ssl);
    /* A resumed session was verified, for this address, when it was saved. */
    if (peer ? !kehu_tls_cert_matches_host(peer, c->host) : !resumed)
      return verify_error(c, MBEDTLS_X509_BADCERT_CN_MISMATCH, err);
  }
  c->save_session = !resumed;
  c->handshake_done = 1;
  return KEHU_OK;
}

static int queue_hello(kehu_conn *c)
{
  Kehu__Hello hello = KEHU__HELLO__INIT;
  hello.protocol_version = KEHU_PROTOCOL_VERSION;
  hello.software = (char *)KEHU_CLIENT_SOFTWARE;
  Kehu__Envelope env = KEHU__ENVELOPE__INIT;
  env.id = 0;
  env.body_case = KEHU__ENVELOPE__BODY_HELLO;
  env.hello = &hello;
  return kehu_frame_pack(&c->out, &env, KEHU_FRAME_DEFAULT_MAX);
}

int kehu_conn_open(kehu_conn **out, const char *server, const char *ca_file, kehu_error *err)
{
  *out = NULL;
  kehu_conn *c = calloc(1, sizeof *c);
  if (!c)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
  c->fd = -1;
  c->next_id = 1;
  int rc;
  c->server = strdup(server);
  c->ca_file = strdup(ca_file);
  if (!c->server || !c->ca_file) {
    rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    goto fail;
  }
  rc = kehu_parse_server(server, c->host, sizeof c->host, c->port, sizeof c->port, err);
  if (rc != KEHU_OK)
    goto fail;
  unsigned char addr[sizeof(struct in6_addr)];
  c->host_is_ip = inet_pton(AF_INET, c->host, addr) == 1 || inet_pton(AF_INET6, c->host, addr) == 1;

  if (access(ca_file, R_OK) != 0) {
    rc = kehu_fail_errno(err, KEHU_UNAVAILABLE, "ca", errno, "cannot read CA certificate %s (--ca)",
                         ca_file);
    goto fail;
  }
  kehu_error tls_err;
  kehu_error_clear(&tls_err);
  if (kehu_tls_client_init(&c->tls, ca_file, &tls_err) != 0) {
    /* Whatever tls.c calls it, an unusable CA means we cannot connect. */
    if (strstr(tls_err.message, ca_file))
      rc = kehu_fail(err, KEHU_UNAVAILABLE, "ca", "%s", tls_err.message);
    else
      rc = tls_err.message[0] ? kehu_fail_tr(err, KEHU_UNAVAILABLE, "ca", "CA certificate %s: %s",
                                             ca_file, tls_err.message)
                              : kehu_fail_tr(err, KEHU_UNAVAILABLE, "ca",
                                             "CA certificate %s: cannot be loaded", ca_file);
    kehu_tls_client_free(&c->tls);
    goto fail;
  }
  c->tls_inited = 1;

  for (int attempt = 0;; attempt++) {
    rc = tcp_connect(c, err);
    if (rc != KEHU_OK)
      goto fail;
    int retryable;
    rc = tls_handshake(c, attempt == 0, &retryable, err);
    if (rc == KEHU_OK)
      break;
    if (!retryable || attempt > 0)
      goto fail;
    /* The saved session may be what the server choked on: try without. */
    mbedtls_ssl_free(&c->ssl);
    c->ssl_inited = 0;
    close(c->fd);
    c->fd = -1;
  }
  if (queue_hello(c) != 0) {
    rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    goto fail;
  }
  *out = c;
  return KEHU_OK;
fail:
  c->broken = 1;
  kehu_conn_close(c);
  return rc;
}

void kehu_conn_close(kehu_conn *c)
{
  if (!c)
    return;
  if (c->handshake_done && !c->broken)
    (void)mbedtls_ssl_close_notify(&c->ssl);
  if (c->ssl_inited)
    mbedtls_ssl_free(&c->ssl);
  if (c->tls_inited)
    kehu_tls_client_free(&c->tls);
  if (c->fd >= 0)
    close(c->fd);
  for (size_t i = 0; i < c->nstash; i++)
    kehu_envelope_free(c->stash[i]);
  kehu_buf_free(&c->in);
  kehu_buf_free(&c->out);
  free(c->server);
  free(c->ca_file);
  free(c);
}

int kehu_conn_broken(const kehu_conn *c)
{
  return c->broken;
}

int kehu_conn_fd(const kehu_conn *c)
{
  return c && !c->broken ? c->fd : -1;
}

uint64_t kehu_conn_queue(kehu_conn *c, const Kehu__Request *req)
{
  Kehu__Envelope env = KEHU__ENVELOPE__INIT;
  env.id = c->next_id;
  env.body_case = KEHU__ENVELOPE__BODY_REQUEST;
  env.request = (Kehu__Request *)req;
  if (kehu_frame_pack(&c->out, &env, KEHU_FRAME_DEFAULT_MAX) != 0)
    return 0;
  return c->next_id++;
}

static int transport_error(kehu_conn *c, int code, kehu_error *err)
{
  c->broken = 1;
  return tls_fail(c, code, N_("connection to %s failed: %s"), err);
}

static int protocol_error(kehu_conn *c, const char *what, kehu_error *err)
{
  c->broken = 1;
  return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "protocol error from %s: %s", c->server, what);
}

static int flush(kehu_conn *c, kehu_error *err)
{
  if (c->broken)
    return kehu_fail_tr(err, KEHU_UNAVAILABLE, NULL, "connection to %s was lost", c->server);
  while (kehu_buf_size(&c->out) > 0) {
    int r = mbedtls_ssl_write(&c->ssl, kehu_buf_head(&c->out), kehu_buf_size(&c->out));
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
      continue;
    if (r < 0)
      return transport_error(c, r, err);
    kehu_buf_consume(&c->out, (size_t)r);
  }
  /* Saved while the server works on the requests just sent. */
  if (c->save_session) {
    c->save_session = 0;
    kehu_tls_cache_save(c->server, c->tls.ca_sha256, &c->ssl);
  }
  return KEHU_OK;
}

static int read_more(kehu_conn *c, kehu_error *err)
{
  for (;;) {
    if (kehu_buf_reserve(&c->in, 16384) != 0)
      return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    int r = mbedtls_ssl_read(&c->ssl, c->in.data + c->in.len, c->in.cap - c->in.len);
    if (r > 0) {
      c->in.len += (size_t)r;
      return KEHU_OK;
    }
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
      continue;
    return transport_error(c, r == 0 ? MBEDTLS_ERR_SSL_CONN_EOF : r, err);
  }
}

/* Decodes the next whole frame in c->in: 1 with *env set, 0 when more
 * input is needed, or a negative status with err set. */
static int next_envelope(kehu_conn *c, Kehu__Envelope **env, kehu_error *err)
{
  const uint8_t *payload;
  size_t payload_len, consumed;
  kehu_frame_result fr = kehu_frame_next(kehu_buf_head(&c->in), kehu_buf_size(&c->in),
                                         KEHU_FRAME_DEFAULT_MAX, &payload, &payload_len,
                                         &consumed);
  if (fr == KEHU_FRAME_NEED_MORE)
    return 0;
  if (fr == KEHU_FRAME_TOO_LARGE) {
    c->broken = 1;
    return -kehu_fail_tr(err, KEHU_EXHAUSTED, NULL,
                         "the server sent a frame of %zu bytes, over the 4 MiB frame limit",
                         payload_len);
  }
  if (fr != KEHU_FRAME_OK)
    return -protocol_error(c, "an empty frame", err);
  *env = kehu_envelope_decode(payload, payload_len);
  kehu_buf_consume(&c->in, consumed);
  if (!*env)
    return -protocol_error(c, "a frame that is not a valid envelope", err);
  return 1;
}

/* The next envelope that is a response or a pushed event (the server's
 * Hello is skipped). With poll_first, waits at most timeout_ms (negative:
 * no limit) for the socket to have something, and returns KEHU_OK with
 * *out NULL when it had not, or a signal came; otherwise reads block, bounded
 * by the socket's own timeout (no answer within 30 s is an error). */
static int next_incoming(kehu_conn *c, int poll_first, int timeout_ms, Kehu__Envelope **out,
                         kehu_error *err)
{
  *out = NULL;
  for (;;) {
    Kehu__Envelope *env = NULL;
    int got = next_envelope(c, &env, err);
    if (got < 0)
      return -got;
    if (got == 0) {
      /* Records mbedTLS has already taken off the socket poll cannot see. */
      if (poll_first && mbedtls_ssl_get_bytes_avail(&c->ssl) == 0 &&
          !mbedtls_ssl_check_pending(&c->ssl)) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r == 0 || (r < 0 && errno == EINTR))
          return KEHU_OK;
        if (r < 0) {
          c->io_errno = errno;
          return transport_error(c, MBEDTLS_ERR_NET_RECV_FAILED, err);
        }
      }
      int rc = read_more(c, err);
      if (rc != KEHU_OK)
        return rc;
      continue;
    }
    switch (env->body_case) {
    case KEHU__ENVELOPE__BODY_HELLO:
      kehu_envelope_free(env);
      continue;
    case KEHU__ENVELOPE__BODY_EVENT:
      *out = env;
      return KEHU_OK;
    case KEHU__ENVELOPE__BODY_RESPONSE:
      if (env->id == 0) {   /* about the whole connection, sent before closing it */
        int rc = kehu_response_error(env->response, err);
        kehu_envelope_free(env);
        c->broken = 1;
        return rc != KEHU_OK ? rc : protocol_error(c, "an OK response without a request", err);
      }
      *out = env;
      return KEHU_OK;
    default:
      kehu_envelope_free(env);
      return protocol_error(c, "a request from the server", err);
    }
  }
}

int kehu_conn_wait(kehu_conn *c, uint64_t id, Kehu__Envelope **out, kehu_error *err)
{
  *out = NULL;
  for (size_t i = 0; i < c->nstash; i++) {
    if (c->stash[i]->id == id) {
      *out = c->stash[i];
      c->stash[i] = c->stash[--c->nstash];
      return KEHU_OK;
    }
  }
  int rc = flush(c, err);
  if (rc != KEHU_OK)
    return rc;
  for (;;) {
    Kehu__Envelope *env = NULL;
    rc = next_incoming(c, 0, 0, &env, err);
    if (rc != KEHU_OK)
      return rc;
    if (env->body_case != KEHU__ENVELOPE__BODY_RESPONSE) {
      kehu_envelope_free(env);   /* a pushed event this command does not show */
      continue;
    }
    if (env->id == id) {
      *out = env;
      return KEHU_OK;
    }
    if (c->nstash == STASH_MAX) {
      kehu_envelope_free(env);
      return protocol_error(c, "too many responses to requests not waited for", err);
    }
    c->stash[c->nstash++] = env;
  }
}

int kehu_conn_next(kehu_conn *c, int timeout_ms, Kehu__Envelope **out, kehu_error *err)
{
  *out = NULL;
  if (c->nstash > 0) {
    *out = c->stash[--c->nstash];
    return KEHU_OK;
  }
  int rc = flush(c, err);
  return rc != KEHU_OK ? rc : next_incoming(c, 1, timeout_ms, out, err);
}
