/* cert.c: the CA and server certificates it writes verify with mbedTLS and
 * OpenSSL, carry the right names and extensions, and keep keys private. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "cert.h"

static const char *const hosts[] = {"localhost", "127.0.0.1", "::1", "kehu.example.com"};
#define NHOSTS (sizeof hosts / sizeof hosts[0])

static const char *const files[] = {"ca.key", "ca.crt", "other.key", "other.crt",
                                    "server.key", "server.crt", "again.key", "again.crt"};

typedef struct {
  char dir[64];
  mbedtls_x509_crt ca, other_ca, server;
} fixture;

static const char *path(const fixture *f, const char *name)
{
  static char buf[4][128]; /* a few paths live at once in one call */
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, 128, "%s/%s", f->dir, name);
  return p;
}

static int setup(void **state)
{
  static fixture f;
  kehu_error err = {0};
  strcpy(f.dir, "/tmp/kehu-test-cert-XXXXXX");
  assert_non_null(mkdtemp(f.dir));
  assert_int_equal(kehu_cert_make_ca(path(&f, "ca.key"), path(&f, "ca.crt"), "kehu CA", &err),
                   KEHU_OK);
  assert_int_equal(kehu_cert_make_ca(path(&f, "other.key"), path(&f, "other.crt"), "kehu CA",
                                     &err), KEHU_OK);
  assert_int_equal(kehu_cert_make_server(path(&f, "ca.key"), path(&f, "ca.crt"),
                                         path(&f, "server.key"), path(&f, "server.crt"), hosts,
                                         NHOSTS, &err), KEHU_OK);
  mbedtls_x509_crt_init(&f.ca);
  mbedtls_x509_crt_init(&f.other_ca);
  mbedtls_x509_crt_init(&f.server);
  assert_int_equal(mbedtls_x509_crt_parse_file(&f.ca, path(&f, "ca.crt")), 0);
  assert_int_equal(mbedtls_x509_crt_parse_file(&f.other_ca, path(&f, "other.crt")), 0);
  assert_int_equal(mbedtls_x509_crt_parse_file(&f.server, path(&f, "server.crt")), 0);
  *state = &f;
  return 0;
}

static int teardown(void **state)
{
  fixture *f = *state;
  mbedtls_x509_crt_free(&f->ca);
  mbedtls_x509_crt_free(&f->other_ca);
  mbedtls_x509_crt_free(&f->server);
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    unlink(path(f, files[i]));
  return rmdir(f->dir);
}

static uint32_t verify(mbedtls_x509_crt *crt, mbedtls_x509_crt *ca, const char *name, int *ret)
{
  uint32_t flags = 0;
  *ret = mbedtls_x509_crt_verify(crt, ca, NULL, name, &flags, NULL, NULL);
  return flags;
}

static void test_verifies_for_dns_names(void **state)
{
  fixture *f = *state;
  int ret;
  assert_int_equal(verify(&f->server, &f->ca, "localhost", &ret), 0);
  assert_int_equal(ret, 0);
  assert_int_equal(verify(&f->server, &f->ca, "kehu.example.com", &ret), 0);
  assert_int_equal(ret, 0);
  assert_int_equal(verify(&f->ca, &f->ca, NULL, &ret), 0); /* the CA is self-signed */
}

static void test_wrong_name_is_rejected(void **state)
{
  fixture *f = *state;
  int ret;
  uint32_t flags = verify(&f->server, &f->ca, "wrong.example", &ret);
  assert_int_not_equal(ret, 0);
  assert_int_equal(flags, MBEDTLS_X509_BADCERT_CN_MISMATCH);
  /* mbedTLS matches the expected name against dNSName entries only, so an IP
   * host fails here although the certificate lists it: the TLS layer must
   * check IP hosts with kehu_cert_has_ip instead. */
  flags = verify(&f->server, &f->ca, "127.0.0.1", &ret);
  assert_int_equal(flags, MBEDTLS_X509_BADCERT_CN_MISMATCH);
}

static void test_other_ca_is_not_trusted(void **state)
{
  fixture *f = *state;
  int ret;
  /* Same subject name, different key: only the signature tells them apart. */
  uint32_t flags = verify(&f->server, &f->other_ca, "localhost", &ret);
  assert_int_not_equal(ret, 0);
  assert_true(flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
}

/* Pins down what mbedTLS 2.28's parser keeps: every GeneralName, in order,
 * with its implicit tag, not only dNSName as older versions did. */
static void test_parser_keeps_ip_entries(void **state)
{
  fixture *f = *state;
  static const int tags[NHOSTS] = {2, 7, 7, 2};
  static const size_t lens[NHOSTS] = {9, 4, 16, 16};
  size_t n = 0;
  for (const mbedtls_x509_sequence *s = &f->server.subject_alt_names; s; s = s->next, n++) {
    assert_true(n < NHOSTS);
    assert_int_equal(s->buf.tag, MBEDTLS_ASN1_CONTEXT_SPECIFIC | tags[n]);
    assert_int_equal(s->buf.len, lens[n]);
  }
  assert_int_equal(n, NHOSTS);
}

static void test_has_ip(void **state)
{
  fixture *f = *state;
  assert_true(kehu_cert_has_ip(&f->server, "127.0.0.1"));
  assert_true(kehu_cert_has_ip(&f->server, "::1"));
  assert_true(kehu_cert_has_ip(&f->server, "0:0:0:0:0:0:0:1"));
  assert_false(kehu_cert_has_ip(&f->server, "127.0.0.2"));
  assert_false(kehu_cert_has_ip(&f->server, "::2"));
  assert_false(kehu_cert_has_ip(&f->server, "::ffff:127.0.0.1"));
  assert_false(kehu_cert_has_ip(&f->server, "localhost"));
  assert_false(kehu_cert_has_ip(&f->server, ""));
  assert_false(kehu_cert_has_ip(&f->ca, "127.0.0.1"));
}

static void test_names_and_extensions(void **state)
{
  fixture *f = *state;
  char dn[256];
  assert_true(mbedtls_x509_dn_gets(dn, sizeof dn, &f->ca.subject) > 0);
  assert_string_equal(dn, "CN=kehu CA, O=kehu");
  assert_true(mbedtls_x509_dn_gets(dn, sizeof dn, &f->server.subject) > 0);
  assert_string_equal(dn, "CN=localhost, O=kehu");
  /* Byte-identical issuer, as OpenSSL's chain building requires. */
  assert_int_equal(f->server.issuer_raw.len, f->ca.subject_raw.len);
  assert_memory_equal(f->server.issuer_raw.p, f->ca.subject_raw.p, f->ca.subject_raw.len);

  assert_int_equal(f->ca.ca_istrue, 1);
  assert_int_equal(f->server.ca_istrue, 0);
  assert_int_equal(mbedtls_x509_crt_check_key_usage(&f->ca, MBEDTLS_X509_KU_KEY_CERT_SIGN |
                                                                MBEDTLS_X509_KU_CRL_SIGN), 0);
  assert_int_equal(f->server.key_usage,
                   MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_AGREEMENT);
  assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(
                       &f->server, MBEDTLS_OID_SERVER_AUTH,
                       MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)), 0);
  assert_int_not_equal(mbedtls_x509_crt_check_extended_key_usage(
                           &f->server, MBEDTLS_OID_CLIENT_AUTH,
                           MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)), 0);

  assert_int_equal(f->server.serial.len, 16);
  assert_true(f->server.serial.p[0] < 0x80);
  assert_false(f->server.serial.len == f->ca.serial.len &&
               memcmp(f->server.serial.p, f->ca.serial.p, 16) == 0);

  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  assert_int_equal(f->ca.valid_to.year, tm.tm_year + 1900 + 10);
  assert_int_equal(f->server.valid_to.year, tm.tm_year + 1900 + 2);
  assert_false(mbedtls_x509_time_is_future(&f->server.valid_from));
}

static void test_file_modes(void **state)
{
  fixture *f = *state;
  struct stat st;
  assert_int_equal(stat(path(f, "server.key"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(stat(path(f, "ca.key"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(stat(path(f, "server.crt"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);

  /* Overwriting a key that was left world-readable makes it private again. */
  FILE *old = fopen(path(f, "again.key"), "w");
  assert_non_null(old);
  fclose(old);
  assert_int_equal(chmod(path(f, "again.key"), 0644), 0);
  kehu_error err = {0};
  assert_int_equal(kehu_cert_make_server(path(f, "ca.key"), path(f, "ca.crt"),
                                         path(f, "again.key"), path(f, "again.crt"), hosts, 1,
                                         &err), KEHU_OK);
  assert_int_equal(stat(path(f, "again.key"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_errors_name_the_file(void **state)
{
  fixture *f = *state;
  kehu_error err = {0};
  assert_int_equal(kehu_cert_make_server(path(f, "missing.key"), path(f, "ca.crt"),
                                         path(f, "again.key"), path(f, "again.crt"), hosts,
                                         NHOSTS, &err), KEHU_INTERNAL);
  assert_non_null(strstr(err.message, "missing.key"));

  assert_int_equal(kehu_cert_make_server(path(f, "other.key"), path(f, "ca.crt"),
                                         path(f, "again.key"), path(f, "again.crt"), hosts,
                                         NHOSTS, &err), KEHU_INVALID);
  assert_non_null(strstr(err.message, "other.key"));

  assert_int_equal(kehu_cert_make_server(path(f, "ca.key"), path(f, "ca.crt"),
                                         path(f, "again.key"), path(f, "again.crt"), hosts, 0,
                                         &err), KEHU_INVALID);

  assert_int_equal(kehu_cert_make_ca("/nonexistent-kehu-dir/ca.key", "/nonexistent-kehu-dir/ca.crt",
                                     "x", &err), KEHU_INTERNAL);
  assert_non_null(strstr(err.message, "/nonexistent-kehu-dir/ca.key"));
}

/* Runs cmd and returns its exit status; its stdout goes to out. */
static int run(const char *cmd, char *out, size_t size)
{
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, size - 1, p);
  out[n] = '\0';
  return pclose(p);
}

/* Other TLS clients (curl, browsers, Python) go by OpenSSL's rules. */
static void test_openssl_accepts(void **state)
{
  fixture *f = *state;
  char cmd[1024], out[4096];
  if (system("command -v openssl >/dev/null 2>&1") != 0)
    skip();
  snprintf(cmd, sizeof cmd,
           "openssl verify -purpose sslserver -verify_ip 127.0.0.1 -CAfile %s %s 2>&1",
           path(f, "ca.crt"), path(f, "server.crt"));
  assert_int_equal(run(cmd, out, sizeof out), 0);
  snprintf(cmd, sizeof cmd, "openssl verify -verify_hostname localhost -CAfile %s %s 2>&1",
           path(f, "ca.crt"), path(f, "server.crt"));
  assert_int_equal(run(cmd, out, sizeof out), 0);
  snprintf(cmd, sizeof cmd, "openssl verify -CAfile %s %s 2>&1", path(f, "other.crt"),
           path(f, "server.crt"));
  assert_int_not_equal(run(cmd, out, sizeof out), 0);

  snprintf(cmd, sizeof cmd, "openssl x509 -noout -ext subjectAltName -in %s",
           path(f, "server.crt"));
  assert_int_equal(run(cmd, out, sizeof out), 0);
  assert_non_null(strstr(out, "DNS:localhost"));
  assert_non_null(strstr(out, "IP Address:127.0.0.1"));
  assert_non_null(strstr(out, "IP Address:0:0:0:0:0:0:0:1"));
  assert_non_null(strstr(out, "DNS:kehu.example.com"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_verifies_for_dns_names),
      cmocka_unit_test(test_wrong_name_is_rejected),
      cmocka_unit_test(test_other_ca_is_not_trusted),
      cmocka_unit_test(test_parser_keeps_ip_entries),
      cmocka_unit_test(test_has_ip),
      cmocka_unit_test(test_names_and_extensions),
      cmocka_unit_test(test_file_modes),
      cmocka_unit_test(test_errors_name_the_file),
      cmocka_unit_test(test_openssl_accepts),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
