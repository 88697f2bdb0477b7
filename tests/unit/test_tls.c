/* tls.c: a whole client/server handshake over memory buffers (no socket),
 * TLS 1.2 with ECDHE + AEAD only (docs/protocol.md#transport-and-tls), certificate checks against the
 * CA, host matching for DNS names and IP literals, session resumption with
 * tickets, and hostile input that must fail cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509.h>

#include "cert.h"
#include "tls.h"

#define MAX_ROUNDS 50

static const char *const hosts[] = {"localhost", "127.0.0.1"};

static const char *const files[] = {"ca.key", "ca.crt", "other.key", "other.crt", "server.key",
                                    "server.crt"};

typedef struct {
  char dir[64];
  kehu_tls_server server;
  kehu_tls_client client;        /* trusts ca.crt */
  kehu_tls_client wrong_client;  /* trusts other.crt */
  mbedtls_x509_crt server_crt;   /* for host matching and DER lookups */
} fixture;

static fixture F;

static const char *path(const char *name)
{
  static char buf[4][128];
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, 128, "%s/%s", F.dir, name);
  return p;
}

static int group_setup(void **state)
{
  (void)state;
  kehu_error err = {0};
  strcpy(F.dir, "/tmp/kehu-test-tls-XXXXXX");
  if (!mkdtemp(F.dir))
    return -1;
  if (kehu_cert_make_ca(path("ca.key"), path("ca.crt"), "kehu CA", &err) != KEHU_OK ||
      kehu_cert_make_ca(path("other.key"), path("other.crt"), "kehu CA", &err) != KEHU_OK ||
      kehu_cert_make_server(path("ca.key"), path("ca.crt"), path("server.key"),
                            path("server.crt"), hosts, 2, &err) != KEHU_OK) {
    fprintf(stderr, "cert: %s\n", err.message);
    return -1;
  }
  if (kehu_tls_server_init(&F.server, path("server.crt"), path("server.key"), &err) !=
          KEHU_OK ||
      kehu_tls_client_init(&F.client, path("ca.crt"), &err) != KEHU_OK ||
      kehu_tls_client_init(&F.wrong_client, path("other.crt"), &err) != KEHU_OK) {
    fprintf(stderr, "tls init: %s\n", err.message);
    return -1;
  }
  mbedtls_x509_crt_init(&F.server_crt);
  return mbedtls_x509_crt_parse_file(&F.server_crt, path("server.crt"));
}

static int group_teardown(void **state)
{
  (void)state;
  mbedtls_x509_crt_free(&F.server_crt);
  kehu_tls_client_free(&F.wrong_client);
  kehu_tls_client_free(&F.client);
  kehu_tls_server_free(&F.server);
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    unlink(path(files[i]));
  return rmdir(F.dir);
}

/* ---- pumping ciphertext between two sessions ---- */

typedef struct {
  size_t c2s, s2c;     /* ciphertext bytes each way */
  int rounds;
  int rc_client, rc_server;
  kehu_buf s2c_bytes;  /* everything the server sent */
} hs_stats;

/* Moves up to chunk bytes (0: all) of from's output into to's input. */
static size_t transfer(kehu_tls_session *from, kehu_tls_session *to, size_t chunk,
                       kehu_buf *record)
{
  size_t n = kehu_buf_size(&from->out);
  if (chunk && n > chunk)
    n = chunk;
  if (n == 0)
    return 0;
  assert_int_equal(kehu_tls_session_feed(to, kehu_buf_head(&from->out), n), 0);
  if (record)
    assert_int_equal(kehu_buf_append(record, kehu_buf_head(&from->out), n), 0);
  kehu_buf_consume(&from->out, n);
  return n;
}

/* Runs both handshakes until both return 0 and nothing is in flight, one
 * fails, or max_rounds pass. 0 on success, -1 otherwise. */
static int pump_handshake(kehu_tls_session *c, kehu_tls_session *s, size_t chunk,
                          int max_rounds, hs_stats *st)
{
  memset(st, 0, sizeof *st);
  st->rc_client = st->rc_server = KEHU_TLS_AGAIN;
  for (int round = 0; round < max_rounds; round++) {
    st->rounds = round + 1;
    st->rc_client = kehu_tls_session_handshake(c);
    st->c2s += transfer(c, s, chunk, NULL);
    if (st->rc_client < 0)
      return -1;
    st->rc_server = kehu_tls_session_handshake(s);
    st->s2c += transfer(s, c, chunk, &st->s2c_bytes);
    if (st->rc_server < 0)
      return -1;
    if (st->rc_client == 0 && st->rc_server == 0 && kehu_buf_size(&c->out) == 0 &&
        kehu_buf_size(&s->out) == 0)
      return 0;
  }
  return -1;
}

typedef struct {
  kehu_tls_session c, s;
  hs_stats st;
} pair;

static void pair_init(pair *p, const mbedtls_ssl_config *client_conf)
{
  assert_int_equal(kehu_tls_session_init(&p->c, client_conf), 0);
  assert_int_equal(kehu_tls_session_init(&p->s, &F.server.conf), 0);
  memset(&p->st, 0, sizeof p->st);
}

static void pair_free(pair *p)
{
  kehu_tls_session_free(&p->c);
  kehu_tls_session_free(&p->s);
  kehu_buf_free(&p->st.s2c_bytes);
}

static void connect_pair(pair *p, const mbedtls_ssl_config *client_conf)
{
  pair_init(p, client_conf);
  assert_int_equal(pump_handshake(&p->c, &p->s, 0, MAX_ROUNDS, &p->st), 0);
  assert_true(p->c.handshake_done);
  assert_true(p->s.handshake_done);
}

/* Sends msg from one side, delivers it, reads it on the other. */
static void send_and_check(kehu_tls_session *from, kehu_tls_session *to, const void *msg,
                           size_t n)
{
  assert_int_equal(kehu_tls_session_write(from, msg, n), 0);
  assert_true(kehu_buf_size(&from->out) > n);   /* framed and authenticated */
  if (n >= 5)   /* encrypted: the plaintext does not appear on the wire */
    assert_null(memmem(kehu_buf_head(&from->out), kehu_buf_size(&from->out), msg, 5));
  transfer(from, to, 0, NULL);
  kehu_buf plain = {0};
  assert_int_equal(kehu_tls_session_read(to, &plain), 0);
  assert_int_equal(kehu_buf_size(&plain), n);
  assert_memory_equal(kehu_buf_head(&plain), msg, n);
  kehu_buf_free(&plain);
}

/* Whether the server sent its certificate in the clear, as it does in a
 * full TLS 1.2 handshake and never in an abbreviated one. */
static int server_sent_certificate(const hs_stats *st)
{
  return memmem(st->s2c_bytes.data, st->s2c_bytes.len, F.server_crt.raw.p,
                F.server_crt.raw.len) != NULL;
}

/* ---- tests ---- */

static void test_handshake_and_hello_both_ways(void **state)
{
  (void)state;
  pair p;
  connect_pair(&p, &F.client.conf);
  assert_true(p.st.rounds <= 4);
  assert_true(server_sent_certificate(&p.st));
  send_and_check(&p.c, &p.s, "hello", 5);
  send_and_check(&p.s, &p.c, "hello", 5);
  /* Nothing more to read: 0 and nothing appended. */
  kehu_buf plain = {0};
  assert_int_equal(kehu_tls_session_read(&p.s, &plain), 0);
  assert_int_equal(kehu_buf_size(&plain), 0);
  kehu_buf_free(&plain);
  pair_free(&p);
}

static void test_version_and_ciphersuite(void **state)
{
  (void)state;
  pair p;
  connect_pair(&p, &F.client.conf);
  assert_string_equal(mbedtls_ssl_get_version(&p.c.ssl), "TLSv1.2");
  assert_string_equal(mbedtls_ssl_get_version(&p.s.ssl), "TLSv1.2");
  const char *cs = mbedtls_ssl_get_ciphersuite(&p.c.ssl);
  assert_non_null(cs);
  assert_string_equal(cs, mbedtls_ssl_get_ciphersuite(&p.s.ssl));
  assert_non_null(strstr(cs, "-ECDHE-"));
  assert_true(strstr(cs, "-GCM-") != NULL || strstr(cs, "-CHACHA20-POLY1305-") != NULL);
  /* And the client verified the server. */
  assert_int_equal(mbedtls_ssl_get_verify_result(&p.c.ssl), 0);
  const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&p.c.ssl);
  assert_non_null(peer);
  assert_int_equal(peer->raw.len, F.server_crt.raw.len);
  assert_memory_equal(peer->raw.p, F.server_crt.raw.p, peer->raw.len);
  pair_free(&p);
}

static void test_handshake_one_byte_at_a_time(void **state)
{
  (void)state;
  /* TCP may deliver any split: records arriving byte by byte still work. */
  pair p;
  pair_init(&p, &F.client.conf);
  assert_int_equal(pump_handshake(&p.c, &p.s, 1, 20000, &p.st), 0);
  assert_true(p.st.rounds > 100);
  send_and_check(&p.c, &p.s, "hello", 5);
  pair_free(&p);
}

static void test_large_messages_both_ways(void **state)
{
  (void)state;
  pair p;
  connect_pair(&p, &F.client.conf);
  size_t n = 100000;   /* more than several 16 KiB records */
  unsigned char *msg = malloc(n);
  assert_non_null(msg);
  for (size_t i = 0; i < n; i++)
    msg[i] = (unsigned char)(i * 131 + 7);
  send_and_check(&p.c, &p.s, msg, n);
  send_and_check(&p.s, &p.c, msg, n);
  free(msg);
  pair_free(&p);
}

static void test_wrong_ca_fails(void **state)
{
  (void)state;
  pair p;
  pair_init(&p, &F.wrong_client.conf);
  assert_int_equal(pump_handshake(&p.c, &p.s, 0, MAX_ROUNDS, &p.st), -1);
  assert_true(p.st.rc_client < 0);
  assert_false(p.c.handshake_done);
  uint32_t flags = mbedtls_ssl_get_verify_result(&p.c.ssl);
  assert_int_not_equal(flags, 0);
  assert_true(flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
  /* The client's alert reaches the server, which fails too instead of
   * waiting forever. */
  int rc = KEHU_TLS_AGAIN;
  for (int i = 0; i < MAX_ROUNDS && rc == KEHU_TLS_AGAIN; i++)
    rc = kehu_tls_session_handshake(&p.s);
  assert_true(rc < 0);
  assert_false(p.s.handshake_done);
  /* No application data can be sent on the failed session. */
  assert_int_not_equal(kehu_tls_session_write(&p.c, "hello", 5), 0);
  pair_free(&p);
}

static void test_cert_matches_host(void **state)
{
  (void)state;
  assert_int_equal(kehu_tls_cert_matches_host(&F.server_crt, "localhost"), 1);
  assert_int_equal(kehu_tls_cert_matches_host(&F.server_crt, "127.0.0.1"), 1);
  assert_int_equal(kehu_tls_cert_matches_host(&F.server_crt, "LocalHost"), 1);   /* DNS is caseless */
  assert_int_equal(kehu_tls_cert_matches_host(&F.server_crt, "127.0.0.2"), 0);
  assert_int_equal(kehu_tls_cert_matches_host(&F.server_crt, "evil.example"), 0);
  assert_int_equal(kehu_tls_cert_matches_host(&F.server_crt, "localhost.evil.example"), 0);
  assert_int_equal(kehu_tls_cert_matches_host(&F.server_crt, "localhos"), 0);
  assert_int_equal(kehu_tls_cert_matches_host(&F.server_crt, "::1"), 0);
  assert_int_equal(kehu_tls_cert_matches_host(&F.server_crt, ""), 0);
  assert_int_equal(kehu_tls_cert_matches_host(&F.server_crt, NULL), 0);
  assert_int_equal(kehu_tls_cert_matches_host(NULL, "localhost"), 0);
}

/* Returns the client's session after a full handshake. */
static void first_session(mbedtls_ssl_session *saved)
{
  pair p;
  connect_pair(&p, &F.client.conf);
  mbedtls_ssl_session_init(saved);
  assert_int_equal(mbedtls_ssl_get_session(&p.c.ssl, saved), 0);
  /* The server issued a ticket. */
  assert_non_null(saved->ticket);
  assert_true(saved->ticket_len > 0);
  pair_free(&p);
}

static void test_session_resumption(void **state)
{
  (void)state;
  pair full;
  connect_pair(&full, &F.client.conf);
  mbedtls_ssl_session saved;
  mbedtls_ssl_session_init(&saved);
  assert_int_equal(mbedtls_ssl_get_session(&full.c.ssl, &saved), 0);
  assert_non_null(saved.ticket);

  pair again;
  pair_init(&again, &F.client.conf);
  assert_int_equal(mbedtls_ssl_set_session(&again.c.ssl, &saved), 0);
  assert_int_equal(pump_handshake(&again.c, &again.s, 0, MAX_ROUNDS, &again.st), 0);
  /* Abbreviated: no certificate, no key exchange, fewer bytes and rounds. */
  assert_true(server_sent_certificate(&full.st));
  assert_false(server_sent_certificate(&again.st));
  assert_true(again.st.s2c * 2 < full.st.s2c);
  assert_true(again.st.c2s + again.st.s2c < full.st.c2s + full.st.s2c);
  assert_true(again.st.rounds <= full.st.rounds);
  /* Same master secret, so the resumed session is the same session. */
  const mbedtls_ssl_session *a = mbedtls_ssl_get_session_pointer(&full.c.ssl);
  const mbedtls_ssl_session *b = mbedtls_ssl_get_session_pointer(&again.c.ssl);
  assert_memory_equal(a->master, b->master, sizeof a->master);
  assert_string_equal(mbedtls_ssl_get_version(&again.c.ssl), "TLSv1.2");
  send_and_check(&again.c, &again.s, "hello", 5);
  send_and_check(&again.s, &again.c, "hello", 5);
  mbedtls_ssl_session_free(&saved);
  pair_free(&again);
  pair_free(&full);
}

static void test_session_resumption_after_save_and_load(void **state)
{
  (void)state;
  /* The client keeps sessions on disk: serialised and loaded back. */
  mbedtls_ssl_session saved, loaded;
  first_session(&saved);
  size_t len = 0;
  assert_int_equal(mbedtls_ssl_session_save(&saved, NULL, 0, &len),
                   MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL);
  unsigned char *buf = malloc(len);
  assert_non_null(buf);
  assert_int_equal(mbedtls_ssl_session_save(&saved, buf, len, &len), 0);
  mbedtls_ssl_session_init(&loaded);
  assert_int_equal(mbedtls_ssl_session_load(&loaded, buf, len), 0);

  pair p;
  pair_init(&p, &F.client.conf);
  assert_int_equal(mbedtls_ssl_set_session(&p.c.ssl, &loaded), 0);
  assert_int_equal(pump_handshake(&p.c, &p.s, 0, MAX_ROUNDS, &p.st), 0);
  assert_false(server_sent_certificate(&p.st));
  send_and_check(&p.c, &p.s, "hello", 5);
  pair_free(&p);
  mbedtls_ssl_session_free(&loaded);
  mbedtls_ssl_session_free(&saved);
  free(buf);
}

static void test_ticket_from_another_server_falls_back(void **state)
{
  (void)state;
  /* A restarted server has a new ticket key: the old ticket is refused
   * and a full handshake happens, which must still succeed. */
  mbedtls_ssl_session saved;
  first_session(&saved);
  kehu_tls_server other;
  kehu_error err = {0};
  assert_int_equal(kehu_tls_server_init(&other, path("server.crt"), path("server.key"), &err),
                   KEHU_OK);
  kehu_tls_session c, s;
  hs_stats st;
  assert_int_equal(kehu_tls_session_init(&c, &F.client.conf), 0);
  assert_int_equal(kehu_tls_session_init(&s, &other.conf), 0);
  assert_int_equal(mbedtls_ssl_set_session(&c.ssl, &saved), 0);
  assert_int_equal(pump_handshake(&c, &s, 0, MAX_ROUNDS, &st), 0);
  assert_true(server_sent_certificate(&st));
  assert_int_equal(mbedtls_ssl_get_verify_result(&c.ssl), 0);
  send_and_check(&s, &c, "hello", 5);
  kehu_buf_free(&st.s2c_bytes);
  kehu_tls_session_free(&c);
  kehu_tls_session_free(&s);
  kehu_tls_server_free(&other);
  mbedtls_ssl_session_free(&saved);
}

/* A client config outside what docs/protocol.md#transport-and-tls allows, to see the server refuse. */
static void raw_client_conf(mbedtls_ssl_config *conf, kehu_rng *rng, int max_minor,
                            const int *suites)
{
  mbedtls_ssl_config_init(conf);
  assert_int_equal(kehu_rng_init(rng, "test"), 0);
  assert_int_equal(mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT,
                                               MBEDTLS_SSL_TRANSPORT_STREAM,
                                               MBEDTLS_SSL_PRESET_DEFAULT),
                   0);
  mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &rng->drbg);
  mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE);
  mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_1);
  mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, max_minor);
  if (suites)
    mbedtls_ssl_conf_ciphersuites(conf, suites);
}

static void expect_refused(const mbedtls_ssl_config *conf)
{
  pair p;
  pair_init(&p, conf);
  assert_int_equal(pump_handshake(&p.c, &p.s, 0, MAX_ROUNDS, &p.st), -1);
  assert_false(p.s.handshake_done);
  assert_false(p.c.handshake_done);
  pair_free(&p);
}

static void test_server_refuses_tls11(void **state)
{
  (void)state;
  mbedtls_ssl_config conf;
  kehu_rng rng;
  raw_client_conf(&conf, &rng, MBEDTLS_SSL_MINOR_VERSION_2, NULL);
  expect_refused(&conf);
  mbedtls_ssl_config_free(&conf);
  kehu_rng_free(&rng);
}

static void test_server_refuses_cbc_and_static_rsa(void **state)
{
  (void)state;
  static const int cbc[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
                            MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, 0};
  static const int no_ecdhe[] = {MBEDTLS_TLS_RSA_WITH_AES_128_GCM_SHA256,
                                 MBEDTLS_TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
                                 MBEDTLS_TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256, 0};
  const int *lists[] = {cbc, no_ecdhe};
  for (int i = 0; i < 2; i++) {
    mbedtls_ssl_config conf;
    kehu_rng rng;
    raw_client_conf(&conf, &rng, MBEDTLS_SSL_MINOR_VERSION_3, lists[i]);
    expect_refused(&conf);
    mbedtls_ssl_config_free(&conf);
    kehu_rng_free(&rng);
  }
  /* Control: the same raw client with an allowed suite connects. */
  static const int good[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 0};
  mbedtls_ssl_config conf;
  kehu_rng rng;
  raw_client_conf(&conf, &rng, MBEDTLS_SSL_MINOR_VERSION_3, good);
  pair p;
  connect_pair(&p, &conf);
  assert_string_equal(mbedtls_ssl_get_ciphersuite(&p.s.ssl),
                      "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256");
  pair_free(&p);
  mbedtls_ssl_config_free(&conf);
  kehu_rng_free(&rng);
}

static void test_tampered_record_is_rejected(void **state)
{
  (void)state;
  pair p;
  connect_pair(&p, &F.client.conf);
  assert_int_equal(kehu_tls_session_write(&p.c, "transfer 100 yuan", 17), 0);
  size_t n = kehu_buf_size(&p.c.out);
  p.c.out.data[p.c.out.off + n - 20] ^= 0x01;   /* a ciphertext byte */
  transfer(&p.c, &p.s, 0, NULL);
  kehu_buf plain = {0};
  int rc = kehu_tls_session_read(&p.s, &plain);
  assert_true(rc < 0);
  assert_int_equal(kehu_buf_size(&plain), 0);
  kehu_buf_free(&plain);
  pair_free(&p);
}

static void test_close_notify_reads_closed(void **state)
{
  (void)state;
  pair p;
  connect_pair(&p, &F.client.conf);
  assert_int_equal(kehu_tls_session_write(&p.c, "bye", 3), 0);
  assert_int_equal(mbedtls_ssl_close_notify(&p.c.ssl), 0);
  transfer(&p.c, &p.s, 0, NULL);
  kehu_buf plain = {0};
  /* Data before the close is delivered, then the close is reported. */
  int rc = kehu_tls_session_read(&p.s, &plain);
  assert_int_equal(rc, KEHU_TLS_CLOSED);
  assert_int_equal(kehu_buf_size(&plain), 3);
  assert_memory_equal(kehu_buf_head(&plain), "bye", 3);
  kehu_buf_free(&plain);
  pair_free(&p);
}

static uint64_t rng_state;
static uint64_t rng_next(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Handshake steps until something other than AGAIN, bounded. */
static int run_until_settled(kehu_tls_session *t)
{
  int rc = KEHU_TLS_AGAIN;
  for (int i = 0; i < MAX_ROUNDS && rc == KEHU_TLS_AGAIN; i++)
    rc = kehu_tls_session_handshake(t);
  return rc;
}

static void test_random_bytes_to_server(void **state)
{
  (void)state;
  unsigned char junk[4096];
  for (int seed = 1; seed <= 16; seed++) {
    rng_state = 0xC0FFEE00ull + (uint64_t)seed * 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof junk; i++)
      junk[i] = (unsigned char)rng_next();
    kehu_tls_session s;
    assert_int_equal(kehu_tls_session_init(&s, &F.server.conf), 0);
    assert_int_equal(kehu_tls_session_feed(&s, junk, sizeof junk), 0);
    int rc = run_until_settled(&s);
    assert_true(rc < 0);
    assert_false(s.handshake_done);
    kehu_tls_session_free(&s);
  }
}

static void test_random_handshake_record_to_server(void **state)
{
  (void)state;
  /* A well-formed record header around a random ClientHello body. */
  unsigned char rec[5 + 512];
  for (int seed = 1; seed <= 16; seed++) {
    rng_state = 0xBADC0DEull * (uint64_t)seed;
    rec[0] = 0x16;
    rec[1] = 0x03;
    rec[2] = 0x03;
    rec[3] = 0x02;
    rec[4] = 0x00;
    for (size_t i = 5; i < sizeof rec; i++)
      rec[i] = (unsigned char)rng_next();
    rec[5] = 0x01;   /* ClientHello */
    kehu_tls_session s;
    assert_int_equal(kehu_tls_session_init(&s, &F.server.conf), 0);
    assert_int_equal(kehu_tls_session_feed(&s, rec, sizeof rec), 0);
    int rc = run_until_settled(&s);
    assert_true(rc < 0);
    kehu_tls_session_free(&s);
  }
}

static void test_random_bytes_to_client(void **state)
{
  (void)state;
  unsigned char junk[4096];
  rng_state = 0x5EED5EEDull;
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (unsigned char)rng_next();
  kehu_tls_session c;
  assert_int_equal(kehu_tls_session_init(&c, &F.client.conf), 0);
  assert_int_equal(kehu_tls_session_handshake(&c), KEHU_TLS_AGAIN);   /* ClientHello sent */
  assert_true(kehu_buf_size(&c.out) > 0);
  assert_int_equal(kehu_tls_session_feed(&c, junk, sizeof junk), 0);
  assert_true(run_until_settled(&c) < 0);
  kehu_tls_session_free(&c);
}

static void test_init_errors(void **state)
{
  (void)state;
  kehu_error err = {0};
  kehu_tls_client c;
  assert_int_equal(kehu_tls_client_init(&c, "/nonexistent/ca.crt", &err), KEHU_UNAVAILABLE);
  assert_string_equal(err.field, "ca");
  assert_non_null(strstr(err.message, "/nonexistent/ca.crt"));
  kehu_tls_client_free(&c);
  kehu_error_clear(&err);
  assert_int_equal(kehu_tls_client_init(&c, NULL, &err), KEHU_UNAVAILABLE);
  assert_string_equal(err.field, "ca");
  kehu_tls_client_free(&c);

  kehu_tls_server s;
  kehu_error_clear(&err);
  assert_int_not_equal(kehu_tls_server_init(&s, path("missing.crt"), path("server.key"), &err),
                       KEHU_OK);
  assert_non_null(strstr(err.message, "missing.crt"));
  kehu_tls_server_free(&s);
}

static void test_server_init_rejects_key_of_other_cert(void **state)
{
  (void)state;
  /* A certificate with someone else's key can never complete a handshake:
   * init must say so at start (its message names both files), not let
   * kehud run with every connection failing. */
  kehu_tls_server s;
  kehu_error err = {0};
  int rc = kehu_tls_server_init(&s, path("server.crt"), path("other.key"), &err);
  if (rc == KEHU_OK) {
    /* Show what the mismatch does: the handshake fails. */
    kehu_tls_session c, t;
    hs_stats st;
    assert_int_equal(kehu_tls_session_init(&c, &F.client.conf), 0);
    assert_int_equal(kehu_tls_session_init(&t, &s.conf), 0);
    int hs = pump_handshake(&c, &t, 0, MAX_ROUNDS, &st);
    print_message("mismatched key: init OK, handshake %s (client %d, server %d)\n",
                  hs == 0 ? "succeeded" : "failed", st.rc_client, st.rc_server);
    kehu_buf_free(&st.s2c_bytes);
    kehu_tls_session_free(&c);
    kehu_tls_session_free(&t);
  }
  kehu_tls_server_free(&s);
  assert_int_not_equal(rc, KEHU_OK);
  assert_non_null(strstr(err.message, "other.key"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_and_hello_both_ways),
      cmocka_unit_test(test_version_and_ciphersuite),
      cmocka_unit_test(test_handshake_one_byte_at_a_time),
      cmocka_unit_test(test_large_messages_both_ways),
      cmocka_unit_test(test_wrong_ca_fails),
      cmocka_unit_test(test_cert_matches_host),
      cmocka_unit_test(test_session_resumption),
      cmocka_unit_test(test_session_resumption_after_save_and_load),
      cmocka_unit_test(test_ticket_from_another_server_falls_back),
      cmocka_unit_test(test_server_refuses_tls11),
      cmocka_unit_test(test_server_refuses_cbc_and_static_rsa),
      cmocka_unit_test(test_tampered_record_is_rejected),
      cmocka_unit_test(test_close_notify_reads_closed),
      cmocka_unit_test(test_random_bytes_to_server),
      cmocka_unit_test(test_random_handshake_record_to_server),
      cmocka_unit_test(test_random_bytes_to_client),
      cmocka_unit_test(test_init_errors),
      cmocka_unit_test(test_server_init_rejects_key_of_other_cert),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
