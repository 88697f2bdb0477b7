#include "tls_cache.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "buf.h"
#include "files.h"

/* The file: three header lines, an empty line, then the session as
 * mbedtls_ssl_session_save wrote it (master secret and ticket included,
 * hence mode 0600).
 *   kehu-tls-session 1
 *   server=HOST:PORT
 *   ca=<SHA-256 of the CA file, hex>
 */
#define CACHE_MAGIC "kehu-tls-session 1\n"
#define CACHE_MAX (64 * 1024)

static int cache_path(char *out, size_t size)
{
  return kehu_client_path("session.tls", out, size);
}

/* The header the file must start with for this server and CA; NULL when
 * the server address cannot be stored on one line. */
static char *cache_header(const char *server, const unsigned char ca_sha256[32])
{
  if (strchr(server, '\n'))
    return NULL;
  char ca_hex[65];
  kehu_hex(ca_sha256, 32, ca_hex);
  size_t n = strlen(CACHE_MAGIC) + strlen(server) + sizeof ca_hex + 16;
  char *h = malloc(n);
  if (h)
    snprintf(h, n, CACHE_MAGIC "server=%s\nca=%s\n\n", server, ca_hex);
  return h;
}

int kehu_tls_cache_load(const char *server, const unsigned char ca_sha256[32],
                        mbedtls_ssl_session *session)
{
  char path[PATH_MAX];
  if (cache_path(path, sizeof path) != 0)
    return -1;
  size_t len;
  char *data = kehu_file_read(path, CACHE_MAX, &len);
  if (!data)
    return -1;
  char *header = cache_header(server, ca_sha256);
  int rc = -1;
  size_t hl = header ? strlen(header) : 0;
  if (header && len > hl && memcmp(data, header, hl) == 0 &&
      mbedtls_ssl_session_load(session, (const unsigned char *)data + hl, len - hl) == 0)
    rc = 0;
  mbedtls_platform_zeroize(data, len);
  free(data);
  free(header);
  return rc;
}

void kehu_tls_cache_save(const char *server, const unsigned char ca_sha256[32],
                         const mbedtls_ssl_context *ssl)
{
  char path[PATH_MAX];
  if (cache_path(path, sizeof path) != 0)
    return;
  mbedtls_ssl_session session;
  mbedtls_ssl_session_init(&session);
  char *header = cache_header(server, ca_sha256);
  unsigned char *buf = NULL;
  size_t blob_len = 0, cap = 0;
  if (!header || mbedtls_ssl_get_session(ssl, &session) != 0)
    goto done;
  /* First call measures, second writes. */
  if (mbedtls_ssl_session_save(&session, NULL, 0, &blob_len) !=
          MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL ||
      blob_len == 0)
    goto done;
  size_t hl = strlen(header);
  cap = hl + blob_len;
  buf = malloc(cap);
  if (!buf)
    goto done;
  memcpy(buf, header, hl);
  if (mbedtls_ssl_session_save(&session, buf + hl, blob_len, &blob_len) != 0)
    goto done;
  (void)kehu_file_write_private(path, buf, hl + blob_len);
done:
  if (buf) {
    mbedtls_platform_zeroize(buf, cap);
    free(buf);
  }
  free(header);
  mbedtls_ssl_session_free(&session);
}
