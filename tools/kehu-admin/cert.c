/* kehu-admin cert DATADIR [--host NAME]...: a new server key and
 * certificate signed by the data directory's own CA, which stays, so
 * clients that trust tls/ca.crt go on trusting the server
 * (docs/operations.md#tls-certificates). kehud takes it on SIGHUP. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/x509_crt.h>

#include "admin.h"
#include "cert.h"

#define MAX_CERT_HOSTS 32

static const char cert_usage[] =
  "usage: kehu-admin cert DATADIR [--host NAME]...\n"
  "  Renews the server certificate (tls/server.crt and tls/server.key) under the data\n"
  "  directory's CA (tls/ca.crt stays, so clients need nothing new). localhost,\n"
  "  127.0.0.1 and ::1 are always in it; without --host the names and addresses of the\n"
  "  current certificate are kept. Then `kill -HUP` kehud (systemctl reload kehud): it\n"
  "  takes the new certificate for new connections and keeps the ones it has.\n"
  "  --host NAME   a DNS name or IP address clients use; repeat for more\n";

static int is_default(const char *h)
{
  return !strcmp(h, "localhost") || !strcmp(h, "127.0.0.1") || !strcmp(h, "::1");
}

/* The DNS names and IP addresses of the current certificate beyond the
 * three always there, into names[] (storage in buf). */
static size_t current_hosts(const char *crt_path, char buf[][64], size_t max)
{
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  size_t n = 0;
  if (mbedtls_x509_crt_parse_file(&crt, crt_path) == 0) {
    for (const mbedtls_x509_sequence *san = &crt.subject_alt_names; san && n < max;
         san = san->next) {
      char h[64] = "";
      if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) && san->buf.len < sizeof h)
        memcpy(h, san->buf.p, san->buf.len);
      else if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) &&
               (san->buf.len == 4 || san->buf.len == 16))
        inet_ntop(san->buf.len == 4 ? AF_INET : AF_INET6, san->buf.p, h, sizeof h);
      if (*h && !is_default(h))
        snprintf(buf[n++], 64, "%s", h);
    }
  }
  mbedtls_x509_crt_free(&crt);
  return n;
}

int kehu_admin_cert(int argc, char **argv)
{
  const char *dir = NULL;
  const char *hosts[MAX_CERT_HOSTS] = {"localhost", "127.0.0.1", "::1"};
  size_t extra = 0;
  static const char *const names[] = {"DATADIR", NULL};
  const kehu_admin_flag flags[] = {{"--host", hosts + 3, NULL, &extra, MAX_CERT_HOSTS - 3}};
  kehu_admin_spec spec = {"cert", cert_usage, names, &dir, flags, 1};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  char ca_key[700], ca_crt[700], key[700], crt[700], key_new[720], crt_new[720];
  snprintf(ca_key, sizeof ca_key, "%s/tls/ca.key", dir);
  snprintf(ca_crt, sizeof ca_crt, "%s/tls/ca.crt", dir);
  snprintf(key, sizeof key, "%s/tls/server.key", dir);
  snprintf(crt, sizeof crt, "%s/tls/server.crt", dir);
  snprintf(key_new, sizeof key_new, "%s.new", key);
  snprintf(crt_new, sizeof crt_new, "%s.new", crt);
  FILE *probe = fopen(ca_key, "r");
  if (!probe)
    return kehu_admin_fail(KEHU_NOT_FOUND, "%s has no CA key (tls/ca.key): is it a kehu data "
                           "directory?", dir);
  fclose(probe);
  char kept[MAX_CERT_HOSTS][64];
  if (!extra) {
    size_t n = current_hosts(crt, kept, MAX_CERT_HOSTS - 3);
    for (size_t i = 0; i < n; i++)
      hosts[3 + i] = kept[i];
    extra = n;
  }
  kehu_error err = {0};
  remove(key_new);
  remove(crt_new);
  if (kehu_cert_make_server(ca_key, ca_crt, key_new, crt_new, hosts, 3 + extra, &err) != KEHU_OK) {
    remove(key_new);
    remove(crt_new);
    return kehu_admin_fail(err.status, "%s", err.message);
  }
  /* the key first: a reload between the two renames sees a pair that
   * does not match and keeps the old one */
  if (rename(key_new, key) != 0 || rename(crt_new, crt) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot put the new certificate in place in %s/tls",
                           dir);
  printf("renewed %s for", crt);
  for (size_t i = 0; i < 3 + extra; i++)
    printf(" %s", hosts[i]);
  printf("\nsend kehud SIGHUP (systemctl reload kehud) to use it\n");
  return 0;
}
