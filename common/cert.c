/* Certificates for `kehu-admin init` / `kehu-admin cert`, written with the
 * mbedTLS 2.28 x509 writer. 2.28 has no helpers for subjectAltName or
 * extendedKeyUsage, so those extensions are DER-encoded here by hand. */
#include "cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

/* A P-256 key PEM is ~230 bytes; a certificate with a few dozen SAN entries
 * stays well under this. */
#define CERT_PEM_MAX 8192
#define CERT_EXT_MAX 4096
#define CA_YEARS 10
#define SERVER_YEARS 2

typedef struct {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
} cert_rng;

static int fail_mbedtls(kehu_error *err, const char *what, const char *path, int ret)
{
  char msg[160];
  mbedtls_strerror(ret, msg, sizeof msg);
  return kehu_fail(err, KEHU_INTERNAL, NULL, "%s %s: %s (-0x%04x)", what, path, msg,
                   (unsigned)-ret);
}

static int rng_init(cert_rng *rng, kehu_error *err)
{
  static const unsigned char personal[] = "kehu-cert";
  mbedtls_entropy_init(&rng->entropy);
  mbedtls_ctr_drbg_init(&rng->drbg);
  int ret = mbedtls_ctr_drbg_seed(&rng->drbg, mbedtls_entropy_func, &rng->entropy, personal,
                                  sizeof personal - 1);
  return ret ? fail_mbedtls(err, "cannot seed the random generator for", "certificates", ret)
             : KEHU_OK;
}

static void rng_free(cert_rng *rng)
{
  mbedtls_ctr_drbg_free(&rng->drbg);
  mbedtls_entropy_free(&rng->entropy);
}

/* fchmod before writing: O_CREAT's mode is ignored for an existing file and
 * narrowed by the umask, and a private key must never sit readable. */
static int write_file(const char *path, const unsigned char *data, size_t len, mode_t mode,
                      kehu_error *err)
{
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot create %s: %s", path, strerror(errno));
  errno = ENOSPC; /* what a short write to a regular file means; failures overwrite it */
  int ok = fchmod(fd, mode) == 0 && write(fd, data, len) == (ssize_t)len;
  int saved = errno;
  if (close(fd) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  return ok ? KEHU_OK
            : kehu_fail(err, KEHU_INTERNAL, NULL, "cannot write %s: %s", path, strerror(saved));
}

static int make_key(mbedtls_pk_context *key, const char *key_path, cert_rng *rng,
                    kehu_error *err)
{
  unsigned char pem[CERT_PEM_MAX];
  int ret;
  if ((ret = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
      (ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key),
                                 mbedtls_ctr_drbg_random, &rng->drbg)) != 0 ||
      (ret = mbedtls_pk_write_key_pem(key, pem, sizeof pem)) != 0)
    return fail_mbedtls(err, "cannot generate key for", key_path, ret);
  int status = write_file(key_path, pem, strlen((char *)pem), 0600, err);
  mbedtls_platform_zeroize(pem, sizeof pem);
  return status;
}

/* Prepends one attribute; the writer emits its list head last, so attributes
 * are added in reverse of the order they should appear in the DER name. */
static int add_name(mbedtls_asn1_named_data **names, const char *oid, size_t oid_len,
                    const unsigned char *value, size_t value_len, int string_tag)
{
  mbedtls_asn1_named_data *entry =
      mbedtls_asn1_store_named_data(names, oid, oid_len, value, value_len);
  if (!entry)
    return MBEDTLS_ERR_X509_ALLOC_FAILED;
  entry->val.tag = string_tag;
  return 0;
}

/* Built directly rather than through mbedtls_x509_string_to_names so a host
 * or CA name containing ',' or '=' needs no escaping. Subject: CN=<cn>,O=kehu. */
static int set_kehu_name(mbedtls_asn1_named_data **names, const char *common_name)
{
  int ret = add_name(names, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN),
                     (const unsigned char *)common_name, strlen(common_name),
                     MBEDTLS_ASN1_UTF8_STRING);
  return ret ? ret
             : add_name(names, MBEDTLS_OID_AT_ORGANIZATION,
                        MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_ORGANIZATION),
                        (const unsigned char *)"kehu", 4, MBEDTLS_ASN1_UTF8_STRING);
}

/* The issuer must repeat the CA's subject exactly (OpenSSL chains by
 * comparing names), so copy it attribute by attribute with its string type.
 * store_named_data merges repeated attribute types, which kehu's own CAs
 * (CN and O only) never have. */
static int copy_name(mbedtls_asn1_named_data **names, const mbedtls_x509_name *from)
{
  for (; from; from = from->next) {
    if (!from->oid.p)
      continue;
    int ret = add_name(names, (const char *)from->oid.p, from->oid.len, from->val.p,
                       from->val.len, from->val.tag);
    if (ret)
      return ret;
  }
  return 0;
}

/* Certificates start an hour in the past to tolerate clock skew. */
static void validity(int years, char not_before[16], char not_after[16])
{
  time_t now = time(NULL), start = now - 3600;
  struct tm tm;
  strftime(not_before, 16, "%Y%m%d%H%M%S", gmtime_r(&start, &tm));
  gmtime_r(&now, &tm);
  tm.tm_year += years;
  if (tm.tm_mon == 1 && tm.tm_mday == 29)
    tm.tm_mday = 28; /* the target year may not be a leap year */
  strftime(not_after, 16, "%Y%m%d%H%M%S", &tm);
}

/* Fills addr with the 4 or 16 bytes of an IPv4 / IPv6 literal; 0 if host
 * is a DNS name. */
static size_t parse_ip(const char *host, unsigned char addr[16])
{
  return inet_pton(AF_INET, host, addr) == 1 ? 4 : inet_pton(AF_INET6, host, addr) == 1 ? 16 : 0;
}

/* The settings CA and server certificates share. */
static int start_cert(mbedtls_x509write_cert *crt, mbedtls_pk_context *subject_key,
                      mbedtls_pk_context *issuer_key, int years, cert_rng *rng)
{
  unsigned char raw[16];
  char not_before[16], not_after[16];
  mbedtls_mpi serial;
  mbedtls_mpi_init(&serial);
  mbedtls_x509write_crt_set_version(crt, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(crt, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(crt, subject_key);
  mbedtls_x509write_crt_set_issuer_key(crt, issuer_key);
  validity(years, not_before, not_after);
  int ret = mbedtls_ctr_drbg_random(&rng->drbg, raw, sizeof raw);
  /* Positive (top bit clear) and always 16 bytes long (next bit set). */
  raw[0] = (unsigned char)((raw[0] & 0x7f) | 0x40);
  if (ret == 0 && (ret = mbedtls_mpi_read_binary(&serial, raw, sizeof raw)) == 0 &&
      (ret = mbedtls_x509write_crt_set_serial(crt, &serial)) == 0 &&
      (ret = mbedtls_x509write_crt_set_validity(crt, not_before, not_after)) == 0 &&
      (ret = mbedtls_x509write_crt_set_subject_key_identifier(crt)) == 0)
    ret = mbedtls_x509write_crt_set_authority_key_identifier(crt);
  mbedtls_mpi_free(&serial);
  return ret;
}

static int write_cert(mbedtls_x509write_cert *crt, const char *crt_path, cert_rng *rng,
                      kehu_error *err)
{
  unsigned char pem[CERT_PEM_MAX];
  int ret = mbedtls_x509write_crt_pem(crt, pem, sizeof pem, mbedtls_ctr_drbg_random, &rng->drbg);
  if (ret != 0)
    return fail_mbedtls(err, "cannot sign certificate", crt_path, ret);
  return write_file(crt_path, pem, strlen((char *)pem), 0644, err);
}

int kehu_cert_make_ca(const char *key_path, const char *crt_path, const char *common_name,
                      kehu_error *err)
{
  cert_rng rng;
  mbedtls_pk_context key;
  mbedtls_x509write_cert crt;
  mbedtls_pk_init(&key);
  mbedtls_x509write_crt_init(&crt);
  int status = rng_init(&rng, err);
  if (status == KEHU_OK)
    status = make_key(&key, key_path, &rng, err);
  if (status == KEHU_OK) {
    int ret;
    if ((ret = start_cert(&crt, &key, &key, CA_YEARS, &rng)) == 0 &&
        (ret = set_kehu_name(&crt.subject, common_name)) == 0 &&
        (ret = set_kehu_name(&crt.issuer, common_name)) == 0 &&
        (ret = mbedtls_x509write_crt_set_basic_constraints(&crt, 1, -1)) == 0)
      ret = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_KEY_CERT_SIGN |
                                                          MBEDTLS_X509_KU_CRL_SIGN);
    status = ret ? fail_mbedtls(err, "cannot build CA certificate", crt_path, ret)
                 : write_cert(&crt, crt_path, &rng, err);
  }
  mbedtls_x509write_crt_free(&crt);
  mbedtls_pk_free(&key);
  rng_free(&rng);
  return status;
}

/* Writes the extension value backwards from buf + size; *der points at it.
 * Each host becomes a dNSName [2] IA5String or iPAddress [7] OCTET STRING
 * (4 or 16 bytes), implicitly tagged, in the caller's order. */
static int encode_san(unsigned char *buf, size_t size, const char *const *hosts, size_t nhosts,
                      unsigned char **der)
{
  unsigned char *p = buf + size;
  size_t len = 0;
  int ret;
  for (size_t i = nhosts; i-- > 0;) {
    unsigned char addr[16];
    size_t addr_len = parse_ip(hosts[i], addr);
    if (addr_len) {
      MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(&p, buf, addr, addr_len));
      MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, addr_len));
      MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7));
    } else {
      MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tagged_string(
                                    &p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2, hosts[i],
                                    strlen(hosts[i])));
    }
  }
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, len));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED |
                                                                MBEDTLS_ASN1_SEQUENCE));
  *der = p;
  return (int)len;
}

/* ExtKeyUsageSyntax ::= SEQUENCE { id-kp-serverAuth } */
static int set_server_auth(mbedtls_x509write_cert *crt)
{
  unsigned char buf[32], *p = buf + sizeof buf;
  size_t len = 0;
  int ret;
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(&p, buf, MBEDTLS_OID_SERVER_AUTH,
                                                   MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, len));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED |
                                                                MBEDTLS_ASN1_SEQUENCE));
  return mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                             MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
                                             p, len);
}

/* Checking the pair catches a mixed-up CA key and certificate now rather
 * than at the first handshake. */
static int load_ca(mbedtls_pk_context *key, mbedtls_x509_crt *crt, const char *key_path,
                   const char *crt_path, kehu_error *err)
{
  int ret = mbedtls_pk_parse_keyfile(key, key_path, NULL);
  if (ret != 0)
    return fail_mbedtls(err, "cannot read CA key", key_path, ret);
  if ((ret = mbedtls_x509_crt_parse_file(crt, crt_path)) != 0)
    return fail_mbedtls(err, "cannot read CA certificate", crt_path, ret);
  if (mbedtls_pk_check_pair(&crt->pk, key) != 0)
    return kehu_fail(err, KEHU_INVALID, NULL, "CA key %s does not belong to CA certificate %s",
                     key_path, crt_path);
  return KEHU_OK;
}

int kehu_cert_make_server(const char *ca_key_path, const char *ca_crt_path,
                          const char *key_path, const char *crt_path,
                          const char *const *hosts, size_t nhosts, kehu_error *err)
{
  if (nhosts == 0)
    return kehu_fail(err, KEHU_INVALID, "hosts", "give at least one host name or IP address");
  for (size_t i = 0; i < nhosts; i++)
    if (!hosts[i] || !hosts[i][0])
      return kehu_fail(err, KEHU_INVALID, "hosts", "host names must not be empty");

  cert_rng rng;
  mbedtls_pk_context ca_key, key;
  mbedtls_x509_crt ca;
  mbedtls_x509write_cert crt;
  mbedtls_pk_init(&ca_key);
  mbedtls_pk_init(&key);
  mbedtls_x509_crt_init(&ca);
  mbedtls_x509write_crt_init(&crt);
  int status = rng_init(&rng, err);
  if (status == KEHU_OK)
    status = load_ca(&ca_key, &ca, ca_key_path, ca_crt_path, err);
  if (status == KEHU_OK)
    status = make_key(&key, key_path, &rng, err);
  if (status == KEHU_OK) {
    unsigned char san[CERT_EXT_MAX], *san_der = NULL;
    int ret;
    if ((ret = start_cert(&crt, &key, &ca_key, SERVER_YEARS, &rng)) == 0 &&
        (ret = set_kehu_name(&crt.subject, hosts[0])) == 0 &&
        (ret = copy_name(&crt.issuer, &ca.subject)) == 0 &&
        (ret = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) == 0 &&
        (ret = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE |
                                                             MBEDTLS_X509_KU_KEY_AGREEMENT)) == 0 &&
        (ret = set_server_auth(&crt)) == 0 &&
        (ret = encode_san(san, sizeof san, hosts, nhosts, &san_der)) > 0)
      ret = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                                san_der, (size_t)ret);
    status = ret ? fail_mbedtls(err, "cannot build server certificate", crt_path, ret)
                 : write_cert(&crt, crt_path, &rng, err);
  }
  mbedtls_x509write_crt_free(&crt);
  mbedtls_x509_crt_free(&ca);
  mbedtls_pk_free(&key);
  mbedtls_pk_free(&ca_key);
  rng_free(&rng);
  return status;
}

/* mbedTLS 2.28 keeps every GeneralName in subject_alt_names with its tag
 * (older releases kept dNSName only); test_cert.c pins that down. */
int kehu_cert_has_ip(const mbedtls_x509_crt *crt, const char *ip)
{
  unsigned char want[16];
  size_t want_len = parse_ip(ip, want);
  if (!want_len)
    return 0;
  for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san; san = san->next)
    if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && san->buf.len == want_len &&
        memcmp(san->buf.p, want, want_len) == 0)
      return 1;
  return 0;
}
