/* Session tickets whose keys survive a restart (docs/protocol.md#transport-and-tls).
 *
 * A ticket:   version (1) | key id (4) | IV (12) | sealed | tag (16)
 * sealed:     AES-256-GCM of  issued at (8, big-endian Unix seconds) |
 *             the session as mbedtls_ssl_session_save writes it,
 *             with version, key id and IV as additional data.
 * The key file (docs/operations.md#tls-certificates):
 *             "KTK1" | count (1) | count x [id (4) | created (8) | secret (32)]
 * the issuing key first. */
#include "tls_ticket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "fsync_path.h"
#include "tls.h"

#define TICKET_VERSION 1
#define TICKET_HEADER 17   /* version, key id, IV */
#define TICKET_IV 12
#define TICKET_TAG 16
#define TICKET_ISSUED 8
#define FILE_MAGIC "KTK1"
#define FILE_ENTRY 44
#define FILE_MAX (5 + 2 * FILE_ENTRY)
/* A ticket issued this far in the server's future (a clock set back) is
 * still taken. */
#define CLOCK_SLACK_S 300

static int64_t now_s(const kehu_ticket_keys *k)
{
  return (int64_t)time(NULL) + k->clock_offset_s;
}

static void put_be32(unsigned char *p, uint32_t v)
{
  for (int i = 3; i >= 0; i--, v >>= 8)
    p[i] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const unsigned char *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

static void key_clear(kehu_ticket_key *key)
{
  if (key->set)
    mbedtls_gcm_free(&key->gcm);
  mbedtls_platform_zeroize(key, sizeof *key);
}

/* Makes key usable from its secret. */
static int key_arm(kehu_ticket_key *key)
{
  mbedtls_gcm_init(&key->gcm);
  int rc = mbedtls_gcm_setkey(&key->gcm, MBEDTLS_CIPHER_ID_AES, key->secret, 256);
  if (rc != 0) {
    mbedtls_gcm_free(&key->gcm);
    return rc;
  }
  key->set = 1;
  return 0;
}

static int key_new(kehu_ticket_keys *k, kehu_ticket_key *key, int64_t now)
{
  unsigned char id[4];
  int rc;
  do {
    if ((rc = kehu_rng_bytes(k->rng, id, sizeof id)) != 0)
      return rc;
    key->id = get_be32(id);
  } while ((k->keys[0].set && key->id == k->keys[0].id) ||
           (k->keys[1].set && key->id == k->keys[1].id));
  if ((rc = kehu_rng_bytes(k->rng, key->secret, sizeof key->secret)) != 0)
    return rc;
  key->created = now;
  return key_arm(key);
}

/* ---- the key file ---- */

static int save_file(kehu_ticket_keys *k)
{
  unsigned char buf[FILE_MAX];
  size_t n = 0;
  memcpy(buf, FILE_MAGIC, 4);
  n = 5;
  unsigned count = 0;
  for (int i = 0; i < 2; i++) {
    const kehu_ticket_key *key = &k->keys[i];
    if (!key->set)
      continue;
    put_be32(buf + n, key->id);
    put_be64(buf + n + 4, (uint64_t)key->created);
    memcpy(buf + n + 12, key->secret, sizeof key->secret);
    n += FILE_ENTRY;
    count++;
  }
  buf[4] = (unsigned char)count;
  char tmp[sizeof k->path + 8];
  snprintf(tmp, sizeof tmp, "%s.new", k->path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  int ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, buf, n) == (ssize_t)n &&
           fsync(fd) == 0;
  int saved_errno = errno;
  if (fd >= 0 && close(fd) != 0 && ok) {
    ok = 0;
    saved_errno = errno;
  }
  mbedtls_platform_zeroize(buf, sizeof buf);
  if (ok && rename(tmp, k->path) != 0) {
    ok = 0;
    saved_errno = errno;
  }
  if (!ok) {
    unlink(tmp);
    snprintf(k->save_error, sizeof k->save_error, "cannot write %s: %s", k->path,
             strerror(saved_errno));
    return -1;
  }
  /* The rename is what makes the new key last: sync the directory. */
  char dir[sizeof k->path];
  snprintf(dir, sizeof dir, "%s", k->path);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = '\0';
    kehu_fsync_path(dir[0] ? dir : "/");
  }
  k->save_error[0] = '\0';
  return 0;
}

/* Reads the keys of k->path into k->keys. 0; -1 when the file is missing
 * or not a key file (then the keys are left alone). */
static int load_file(kehu_ticket_keys *k)
{
  int fd = open(k->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  struct stat st;
  unsigned char buf[FILE_MAX + 1];
  ssize_t n = -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    if (st.st_mode & 077)
      fchmod(fd, 0600);   /* it is a secret: nobody else reads it */
    n = read(fd, buf, sizeof buf);
  }
  close(fd);
  int rc = -1;
  if (n >= 5 && memcmp(buf, FILE_MAGIC, 4) == 0 && buf[4] >= 1 && buf[4] <= 2 &&
      (size_t)n == 5 + (size_t)buf[4] * FILE_ENTRY) {
    kehu_ticket_key keys[2];
    memset(keys, 0, sizeof keys);
    rc = 0;
    for (unsigned i = 0; i < buf[4] && rc == 0; i++) {
      const unsigned char *e = buf + 5 + i * FILE_ENTRY;
      keys[i].id = get_be32(e);
      keys[i].created = (int64_t)get_be64(e + 4);
      memcpy(keys[i].secret, e + 12, sizeof keys[i].secret);
      rc = key_arm(&keys[i]);
    }
    if (rc == 0) {
      key_clear(&k->keys[0]);
      key_clear(&k->keys[1]);
      memcpy(k->keys, keys, sizeof keys);
    } else {
      key_clear(&keys[0]);
      key_clear(&keys[1]);
      rc = -1;
    }
    mbedtls_platform_zeroize(keys, sizeof keys);
  }
  mbedtls_platform_zeroize(buf, sizeof buf);
  return rc;
}

/* The issuing key has issued for its period (or is from a clock far
 * ahead): a new one issues, the old one is kept as the previous key while
 * its tickets can still be valid, and the file is rewritten. */
static int rotate_if_due(kehu_ticket_keys *k, int64_t now, int force)
{
  kehu_ticket_key *cur = &k->keys[0];
  int due = force || !cur->set || now - cur->created >= KEHU_TICKET_KEY_PERIOD_S ||
            cur->created - now > CLOCK_SLACK_S;
  if (!due)
    return 0;
  kehu_ticket_key fresh;
  memset(&fresh, 0, sizeof fresh);
  int rc = key_new(k, &fresh, now);
  if (rc != 0)
    return rc;
  key_clear(&k->keys[1]);
  /* The old key issued until it was replaced, at most one period after it
   * was made; its last tickets expire one lifetime later. */
  if (cur->set && now - cur->created < KEHU_TICKET_KEY_PERIOD_S + KEHU_TICKET_LIFETIME_S &&
      cur->created - now <= CLOCK_SLACK_S)
    k->keys[1] = *cur;
  else
    key_clear(cur);
  k->keys[0] = fresh;
  mbedtls_platform_zeroize(&fresh, sizeof fresh);
  if (k->path[0])
    save_file(k);   /* a failure leaves the keys in memory: save_error says so */
  return 0;
}

int kehu_ticket_keys_init(kehu_ticket_keys *k, struct kehu_rng *rng, int64_t clock_offset_s)
{
  memset(k, 0, sizeof *k);
  k->rng = rng;
  k->clock_offset_s = clock_offset_s;
  return rotate_if_due(k, now_s(k), 1);
}

int kehu_ticket_keys_use_file(kehu_ticket_keys *k, const char *path, int64_t clock_offset_s,
                              kehu_error *err)
{
  k->clock_offset_s = clock_offset_s;
  if (strlen(path) >= sizeof k->path)
    return kehu_fail(err, KEHU_INVALID, NULL, "ticket key file name too long: %s", path);
  snprintf(k->path, sizeof k->path, "%s", path);
  int loaded = load_file(k) == 0;
  /* A file that was not there (or not a key file) gets the current key. */
  if (!loaded)
    save_file(k);
  else
    rotate_if_due(k, now_s(k), 0);
  if (k->save_error[0]) {
    int rc = kehu_fail(err, KEHU_INTERNAL, NULL, "%s", k->save_error);
    if (!loaded)
      k->path[0] = '\0';   /* nothing there to keep in step with */
    return rc;
  }
  return KEHU_OK;
}

void kehu_ticket_keys_free(kehu_ticket_keys *k)
{
  key_clear(&k->keys[0]);
  key_clear(&k->keys[1]);
}

/* ---- the callbacks ---- */

int kehu_ticket_write(void *p_ticket, const mbedtls_ssl_session *session, unsigned char *start,
                      const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
  kehu_ticket_keys *k = p_ticket;
  *tlen = 0;
  int64_t now = now_s(k);
  int rc = rotate_if_due(k, now, 0);
  if (rc != 0)
    return rc;
  kehu_ticket_key *key = &k->keys[0];
  if (end < start || (size_t)(end - start) < TICKET_HEADER + TICKET_ISSUED + TICKET_TAG)
    return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
  unsigned char *plain = start + TICKET_HEADER;
  size_t room = (size_t)(end - plain) - TICKET_ISSUED - TICKET_TAG, saved = 0;
  start[0] = TICKET_VERSION;
  put_be32(start + 1, key->id);
  if ((rc = kehu_rng_bytes(k->rng, start + 5, TICKET_IV)) != 0)
    return rc;
  put_be64(plain, (uint64_t)now);
  if ((rc = mbedtls_ssl_session_save(session, plain + TICKET_ISSUED, room, &saved)) != 0)
    return rc;
  size_t len = TICKET_ISSUED + saved;
  rc = mbedtls_gcm_crypt_and_tag(&key->gcm, MBEDTLS_GCM_ENCRYPT, len,
                                 start + 5, TICKET_IV, start, TICKET_HEADER, plain, plain,
                                 TICKET_TAG, plain + len);
  if (rc != 0) {
    mbedtls_platform_zeroize(plain, len);
    return rc;
  }
  *tlen = TICKET_HEADER + len + TICKET_TAG;
  *lifetime = KEHU_TICKET_LIFETIME_S;
  k->issued++;
  return 0;
}

static int refuse(kehu_ticket_keys *k, int rc)
{
  k->refused++;
  return rc;
}

int kehu_ticket_parse(void *p_ticket, mbedtls_ssl_session *session, unsigned char *buf,
                      size_t len)
{
  kehu_ticket_keys *k = p_ticket;
  if (len < TICKET_HEADER + TICKET_ISSUED + TICKET_TAG || buf[0] != TICKET_VERSION)
    return refuse(k, MBEDTLS_ERR_SSL_INVALID_MAC);
  uint32_t id = get_be32(buf + 1);
  kehu_ticket_key *key = NULL;
  for (int i = 0; i < 2; i++)
    if (k->keys[i].set && k->keys[i].id == id)
      key = &k->keys[i];
  if (!key)   /* from a key long gone, or from another server */
    return refuse(k, MBEDTLS_ERR_SSL_INVALID_MAC);
  unsigned char *plain = buf + TICKET_HEADER;
  size_t plen = len - TICKET_HEADER - TICKET_TAG;
  if (mbedtls_gcm_auth_decrypt(&key->gcm, plen, buf + 5, TICKET_IV, buf, TICKET_HEADER,
                               plain + plen, TICKET_TAG, plain, plain) != 0) {
    mbedtls_platform_zeroize(plain, plen);
    return refuse(k, MBEDTLS_ERR_SSL_INVALID_MAC);
  }
  int64_t now = now_s(k), issued = (int64_t)get_be64(plain);
  int rc = 0;
  if (now - issued > KEHU_TICKET_LIFETIME_S || issued - now > CLOCK_SLACK_S)
    rc = MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
  else
    rc = mbedtls_ssl_session_load(session, plain + TICKET_ISSUED, plen - TICKET_ISSUED);
  mbedtls_platform_zeroize(plain, plen);
  /* However often it was renewed, a session is resumed for a bounded time
   * after its full handshake. */
  int64_t real_now = (int64_t)time(NULL);   /* mbedTLS stamps sessions by the real clock */
  if (rc == 0 && (real_now - (int64_t)session->start > KEHU_TICKET_SESSION_MAX_S ||
                  (int64_t)session->start - real_now > CLOCK_SLACK_S))
    rc = MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
  if (rc != 0) {
    mbedtls_ssl_session_free(session);
    return refuse(k, rc);
  }
  k->accepted++;
  return 0;
}
