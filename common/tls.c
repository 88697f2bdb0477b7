#include "tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/error.h>
#include <mbedtls/sha256.h>

#include "cert.h"

/* ECDHE only, AEAD only: what docs/protocol.md#transport-and-tls allows. ECDSA first: our own CA
 * issues EC keys; RSA suites stay for a server given an RSA certificate. */
static const int kehu_ciphersuites[] = {
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
  MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
  MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
  MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
  0,
};

/* X25519 first: the cheapest key exchange mbedTLS 2.28 has. */
static const mbedtls_ecp_group_id kehu_curves[] = {
  MBEDTLS_ECP_DP_CURVE25519,
  MBEDTLS_ECP_DP_SECP256R1,
  MBEDTLS_ECP_DP_SECP384R1,
  MBEDTLS_ECP_DP_NONE,
};

const char *kehu_tls_strerror(int code, char *buf, size_t len)
{
  mbedtls_strerror(code, buf, len);
  return buf;
}

int kehu_rng_init(kehu_rng *rng, const char *personalisation)
{
  mbedtls_entropy_init(&rng->entropy);
  mbedtls_ctr_drbg_init(&rng->drbg);
  const char *p = personalisation ? personalisation : "kehu";
  return mbedtls_ctr_drbg_seed(&rng->drbg, mbedtls_entropy_func, &rng->entropy,
                               (const unsigned char *)p, strlen(p));
}

void kehu_rng_free(kehu_rng *rng)
{
  mbedtls_ctr_drbg_free(&rng->drbg);
  mbedtls_entropy_free(&rng->entropy);
}

int kehu_rng_bytes(kehu_rng *rng, void *out, size_t n)
{
  return mbedtls_ctr_drbg_random(&rng->drbg, out, n);
}

static void apply_common(mbedtls_ssl_config *conf, kehu_rng *rng)
{
  mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_ciphersuites(conf, kehu_ciphersuites);
  mbedtls_ssl_conf_curves(conf, kehu_curves);
  mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &rng->drbg);
  mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
}

int kehu_tls_server_init(kehu_tls_server *s, const char *cert_file, const char *key_file,
                         kehu_error *err)
{
  char msg[128];
  memset(s, 0, sizeof *s);
  mbedtls_ssl_config_init(&s->conf);
  mbedtls_x509_crt_init(&s->cert);
  mbedtls_pk_init(&s->key);
  int rc = kehu_rng_init(&s->rng, "kehud");
  if (rc != 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot seed the random generator: %s",
                     kehu_tls_strerror(rc, msg, sizeof msg));
  if ((rc = mbedtls_x509_crt_parse_file(&s->cert, cert_file)) != 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot load certificate %s: %s", cert_file,
                     kehu_tls_strerror(rc, msg, sizeof msg));
  if ((rc = mbedtls_pk_parse_keyfile(&s->key, key_file, NULL)) != 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot load key %s: %s", key_file,
                     kehu_tls_strerror(rc, msg, sizeof msg));
  /* mbedTLS 2.28 does not compare them itself: a mismatch would only show
   * as every handshake failing. */
  if ((rc = mbedtls_pk_check_pair(&s->cert.pk, &s->key)) != 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "certificate %s does not match key %s: %s",
                     cert_file, key_file, kehu_tls_strerror(rc, msg, sizeof msg));
  if ((rc = mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_SERVER,
                                        MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "TLS configuration: %s",
                     kehu_tls_strerror(rc, msg, sizeof msg));
  apply_common(&s->conf, &s->rng);
  if ((rc = mbedtls_ssl_conf_own_cert(&s->conf, &s->cert, &s->key)) != 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "certificate %s does not match key %s: %s",
                     cert_file, key_file, kehu_tls_strerror(rc, msg, sizeof msg));
  /* Session tickets let a returning client skip the ~5 ms full handshake
   * (docs/protocol.md#transport-and-tls); kehud keeps their keys in a file
   * (kehu_tls_server_ticket_file) so that they outlive a restart. */
  if ((rc = kehu_ticket_keys_init(&s->tickets, &s->rng, 0)) != 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "TLS session tickets: %s",
                     kehu_tls_strerror(rc, msg, sizeof msg));
  mbedtls_ssl_conf_session_tickets_cb(&s->conf, kehu_ticket_write, kehu_ticket_parse,
                                      &s->tickets);
  return KEHU_OK;
}

int kehu_tls_server_ticket_file(kehu_tls_server *s, const char *path, int64_t clock_offset_s,
                                kehu_error *err)
{
  return kehu_ticket_keys_use_file(&s->tickets, path, clock_offset_s, err);
}

void kehu_tls_server_free(kehu_tls_server *s)
{
  kehu_ticket_keys_free(&s->tickets);
  mbedtls_ssl_config_free(&s->conf);
  mbedtls_pk_free(&s->key);
  mbedtls_x509_crt_free(&s->cert);
  kehu_rng_free(&s->rng);
}

static int sha256_file(const char *path, unsigned char out[32])
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  mbedtls_sha256_context ctx;
  mbedtls_sha256_init(&ctx);
  mbedtls_sha256_starts_ret(&ctx, 0);
  unsigned char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    mbedtls_sha256_update_ret(&ctx, chunk, n);
  int bad = ferror(f);
  fclose(f);
  mbedtls_sha256_finish_ret(&ctx, out);
  mbedtls_sha256_free(&ctx);
  return bad ? -1 : 0;
}

int kehu_tls_client_init(kehu_tls_client *c, const char *ca_file, kehu_error *err)
{
  char msg[128];
  memset(c, 0, sizeof *c);
  mbedtls_ssl_config_init(&c->conf);
  mbedtls_x509_crt_init(&c->ca);
  int rc = kehu_rng_init(&c->rng, "kehu");
  if (rc != 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot seed the random generator: %s",
                     kehu_tls_strerror(rc, msg, sizeof msg));
  if (!ca_file || !*ca_file)
    return kehu_fail(err, KEHU_UNAVAILABLE, "ca",
                     "no CA certificate given: use --ca FILE, KEHU_CA or `ca =` in the config");
  if ((rc = mbedtls_x509_crt_parse_file(&c->ca, ca_file)) != 0)
    return kehu_fail(err, KEHU_UNAVAILABLE, "ca", "cannot load CA certificate %s: %s", ca_file,
                     kehu_tls_strerror(rc, msg, sizeof msg));
  if (sha256_file(ca_file, c->ca_sha256) != 0)
    return kehu_fail(err, KEHU_UNAVAILABLE, "ca", "cannot read CA certificate %s", ca_file);
  if ((rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
                                        MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "TLS configuration: %s",
                     kehu_tls_strerror(rc, msg, sizeof msg));
  apply_common(&c->conf, &c->rng);
  mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
  mbedtls_ssl_conf_session_tickets(&c->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
  return KEHU_OK;
}

void kehu_tls_client_free(kehu_tls_client *c)
{
  mbedtls_ssl_config_free(&c->conf);
  mbedtls_x509_crt_free(&c->ca);
  kehu_rng_free(&c->rng);
}

/* ---- TLS over memory buffers ---- */

/* Always accepts everything: backpressure is applied above TLS, on the
 * plaintext, because mbedtls_ssl_write must be retried with the same
 * arguments after WANT_WRITE, which a frame queue cannot do cheaply. */
static int mem_send(void *ctx, const unsigned char *p, size_t n)
{
  kehu_tls_session *t = ctx;
  if (kehu_buf_append(&t->out, p, n) != 0)
    return MBEDTLS_ERR_SSL_ALLOC_FAILED;
  return (int)n;
}

static int mem_recv(void *ctx, unsigned char *p, size_t n)
{
  kehu_tls_session *t = ctx;
  size_t have = kehu_buf_size(&t->in);
  if (have == 0)
    return MBEDTLS_ERR_SSL_WANT_READ;
  if (n > have)
    n = have;
  memcpy(p, kehu_buf_head(&t->in), n);
  kehu_buf_consume(&t->in, n);
  return (int)n;
}

int kehu_tls_session_init(kehu_tls_session *t, const mbedtls_ssl_config *conf)
{
  memset(t, 0, sizeof *t);
  mbedtls_ssl_init(&t->ssl);
  int rc = mbedtls_ssl_setup(&t->ssl, conf);
  if (rc != 0)
    return rc;
  mbedtls_ssl_set_bio(&t->ssl, t, mem_send, mem_recv, NULL);
  return 0;
}

void kehu_tls_session_free(kehu_tls_session *t)
{
  mbedtls_ssl_free(&t->ssl);
  kehu_buf_free(&t->in);
  kehu_buf_free(&t->out);
}

int kehu_tls_session_feed(kehu_tls_session *t, const void *p, size_t n)
{
  return kehu_buf_append(&t->in, p, n);
}

/* The ticket counters of a server configuration using kehu's tickets. */
static void ticket_counts(const mbedtls_ssl_config *conf, uint64_t *accepted, uint64_t *refused)
{
  const kehu_ticket_keys *k =
      conf->f_ticket_parse == kehu_ticket_parse ? conf->p_ticket : NULL;
  *accepted = k ? k->accepted : 0;
  *refused = k ? k->refused : 0;
}

int kehu_tls_session_handshake(kehu_tls_session *t)
{
  if (t->handshake_done)
    return 0;
  /* The ticket callbacks run inside this call, on this thread, for this
   * session only: what they counted meanwhile is this client's ticket. */
  uint64_t accepted, refused, accepted_after, refused_after;
  ticket_counts(t->ssl.conf, &accepted, &refused);
  int rc = mbedtls_ssl_handshake(&t->ssl);
  ticket_counts(t->ssl.conf, &accepted_after, &refused_after);
  if (accepted_after != accepted)
    t->resumed = 1;
  if (refused_after != refused)
    t->ticket_refused = 1;
  if (rc == 0) {
    t->handshake_done = 1;
    return 0;
  }
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
    return KEHU_TLS_AGAIN;
  return rc;
}

int kehu_tls_session_read(kehu_tls_session *t, kehu_buf *plain)
{
  /* Decrypted data can sit inside mbedTLS with no new input: keep reading
   * until it asks for more. Through a stack buffer, so plain grows only to
   * what arrived. */
  unsigned char chunk[16384];
  for (;;) {
    int rc = mbedtls_ssl_read(&t->ssl, chunk, sizeof chunk);
    if (rc > 0) {
      if (kehu_buf_append(plain, chunk, (size_t)rc) != 0)
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
      continue;
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
      return 0;
    if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
      return KEHU_TLS_CLOSED;
    return rc;
  }
}

int kehu_tls_session_write(kehu_tls_session *t, const void *p, size_t n)
{
  const unsigned char *q = p;
  while (n > 0) {
    int rc = mbedtls_ssl_write(&t->ssl, q, n);
    if (rc < 0)
      return rc;   /* mem_send never blocks, so WANT_WRITE cannot happen */
    q += rc;
    n -= (size_t)rc;
  }
  return 0;
}

static int dns_name_matches(const mbedtls_x509_crt *crt, const char *host)
{
  for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
    if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) && s->buf.len == strlen(host) &&
        strncasecmp((const char *)s->buf.p, host, s->buf.len) == 0)
      return 1;
  }
  return 0;
}

int kehu_tls_cert_matches_host(const mbedtls_x509_crt *crt, const char *host)
{
  if (!crt || !host)
    return 0;
  unsigned char ip[16];
  if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
    return kehu_cert_has_ip(crt, host);
  return dns_name_matches(crt, host);
}
