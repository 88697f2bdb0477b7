/* The files of a backup directory and its manifest.json, shared by
 * kehu-admin backup and restore (docs/operations.md#backups). */
#include "backup_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
/* nettle's SHA-256 uses the CPU's SHA instructions where there are some:
 * about 5 times mbedTLS's here, which matters for gigabytes of store. */
#include <nettle/sha2.h>

#include "admin.h"
#include "audit_archive.h"
#include "buf.h"

#define MANIFEST_FORMAT 2   /* 2: store_id, changes, previous (incrementals) */

/* ---- files ---- */

int kehu_backup_write_all(int fd, const void *data, size_t n)
{
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int kehu_backup_copy_file(const char *src, const char *dst)
{
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return -1;
  int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    close(in);
    return -1;
  }
  char buf[64 * 1024];
  int rc = 0;
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || (n > 0 && kehu_backup_write_all(out, buf, (size_t)n) != 0)) {
      rc = -1;
      break;
    }
    if (n == 0)
      break;
  }
  if (rc == 0)
    rc = fsync(out);
  int e = errno;
  close(in);
  if (close(out) != 0 && rc == 0)
    rc = -1;
  errno = e;
  return rc;
}

int kehu_backup_hash_file(const char *path, char hex[65], long long *size)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  struct sha256_ctx c;
  sha256_init(&c);
  unsigned char buf[64 * 1024];
  long long total = 0;
  int rc = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = -1;
      break;
    }
    if (n == 0)
      break;
    sha256_update(&c, (size_t)n, buf);
    total += n;
  }
  unsigned char digest[32];
  sha256_digest(&c, SHA256_DIGEST_SIZE, digest);
  close(fd);
  kehu_hex(digest, sizeof digest, hex);
  *size = total;
  return rc;
}

int kehu_backup_join(char *out, const char *a, const char *b)
{
  return snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX ? -1 : 0;
}

void kehu_backup_remove_tree(const char *dir)
{
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char p[PATH_MAX];
      if (kehu_backup_join(p, dir, e->d_name) != 0)
        continue;
      struct stat st;
      if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
        kehu_backup_remove_tree(p);
      else
        unlink(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

/* ---- the files a backup holds, beside the store ---- */

/* Never in a backup: kehud's session ticket keys (and the file it writes
 * them to first). A restored server makes new ones; a leaked copy would let
 * whoever recorded TLS traffic decrypt the resumption secrets in the
 * tickets of the last day (docs/operations.md#backup-and-restore). */
static int left_out(const char *sub, const char *name)
{
  return strcmp(sub, "tls") == 0 &&
         (strcmp(name, "ticket.key") == 0 || strcmp(name, "ticket.key.new") == 0);
}

/* The regular files of DATADIR/sub as "sub/name"; a missing sub adds none
 * when it may be missing. */
static int add_dir_files(const char *data_dir, const char *sub, int optional, kehu_file_list *l)
{
  char dir[PATH_MAX];
  if (kehu_backup_join(dir, data_dir, sub) != 0)
    return -1;
  DIR *d = opendir(dir);
  if (!d)
    return optional && errno == ENOENT ? 0 : -1;
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    char p[PATH_MAX];
    struct stat st;
    if (e->d_name[0] == '.' || left_out(sub, e->d_name) ||
        kehu_backup_join(p, dir, e->d_name) != 0 || stat(p, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (l->n == KEHU_BACKUP_MAX_FILES ||
        strlen(sub) + 1 + strlen(e->d_name) >= sizeof l->files[0].path) {
      rc = -1;
      break;
    }
    snprintf(l->files[l->n++].path, sizeof l->files[0].path, "%s/%s", sub, e->d_name);
  }
  closedir(d);
  return rc;
}

const char *const kehu_backup_subdirs[] = {"tls", "keys", KEHU_AUDIT_ARCHIVE_DIR};
const size_t kehu_backup_nsubdirs = sizeof kehu_backup_subdirs / sizeof *kehu_backup_subdirs;

int kehu_backup_datadir_files(const char *data_dir, kehu_file_list *l)
{
  static const char *const top[] = {"data.key", "kehud.conf"};
  for (size_t i = 0; i < sizeof top / sizeof *top; i++)
    snprintf(l->files[l->n++].path, sizeof l->files[0].path, "%s", top[i]);
  /* tls/ always; keys/ (older data keys) and the audit archive when there */
  for (size_t i = 0; i < kehu_backup_nsubdirs; i++)
    if (add_dir_files(data_dir, kehu_backup_subdirs[i], i > 0, l) != 0)
      return -1;
  return 0;
}


/* ---- manifests ---- */

void kehu_utc_stamp(time_t t, char *out, size_t len, const char *fmt)
{
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, len, fmt, &tm);
}


int kehu_manifest_write(const char *dir, const kehu_manifest *m)
{
  cJSON *j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "manifest_format", MANIFEST_FORMAT);
  cJSON_AddStringToObject(j, "kind", m->kind);
  cJSON_AddStringToObject(j, "created_at", m->created_at);
  cJSON_AddStringToObject(j, "kehu_version", KEHU_VERSION);
  cJSON_AddNumberToObject(j, "store_format", m->store_format);
  cJSON_AddStringToObject(j, "store_id", m->store_id);
  cJSON *changes = cJSON_AddObjectToObject(j, "changes");
  cJSON_AddNumberToObject(changes, "from", (double)m->from);
  cJSON_AddNumberToObject(changes, "to", (double)m->to);
  if (m->previous[0])
    cJSON_AddStringToObject(j, "previous", m->previous);
  cJSON *audit = cJSON_AddObjectToObject(j, "audit_head");
  cJSON_AddNumberToObject(audit, "seq", (double)m->audit_seq);
  cJSON_AddStringToObject(audit, "sha256", m->audit_sha256);
  cJSON *files = cJSON_AddArrayToObject(j, "files");
  for (size_t i = 0; i < m->files.n; i++) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "path", m->files.files[i].path);
    cJSON_AddNumberToObject(f, "size", (double)m->files.files[i].size);
    cJSON_AddStringToObject(f, "sha256", m->files.files[i].sha256);
    cJSON_AddItemToArray(files, f);
  }
  char *text = cJSON_Print(j);
  cJSON_Delete(j);
  if (!text)
    return -1;
  char path[PATH_MAX];
  int rc = kehu_backup_join(path, dir, KEHU_MANIFEST);
  int fd = rc == 0 ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
  rc = fd >= 0 && kehu_backup_write_all(fd, text, strlen(text)) == 0 &&
               kehu_backup_write_all(fd, "\n", 1) == 0 && fsync(fd) == 0
           ? 0
           : -1;
  if (fd >= 0 && close(fd) != 0)
    rc = -1;
  free(text);
  return rc;
}

static int copy_string(char *out, size_t len, const cJSON *j)
{
  if (!cJSON_IsString(j) || strlen(j->valuestring) >= len)
    return -1;
  snprintf(out, len, "%s", j->valuestring);
  return 0;
}

/* A non-negative whole number below 2^53 (what JSON carries exactly). */
static int get_count(const cJSON *j, uint64_t *out)
{
  if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 9007199254740992.0 ||
      j->valuedouble != (double)(uint64_t)j->valuedouble)
    return -1;
  *out = (uint64_t)j->valuedouble;
  return 0;
}

static const char *base_name(const char *dir)
{
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/')
    n--;
  size_t b = n;
  while (b > 0 && dir[b - 1] != '/')
    b--;
  static __thread char name[PATH_MAX];
  snprintf(name, sizeof name, "%.*s", (int)(n - b), dir + b);
  return name;
}

int kehu_manifest_read(const char *dir, kehu_manifest *m)
{
  memset(m, 0, sizeof *m);
  char path[PATH_MAX];
  if (kehu_backup_join(path, dir, KEHU_MANIFEST) != 0)
    return kehu_admin_fail(KEHU_INVALID, "%s: too long a path", dir);
  FILE *f = fopen(path, "r");
  if (!f)
    return kehu_admin_fail(KEHU_NOT_FOUND, "%s is not a kehu backup: no %s (%s)", dir,
                           KEHU_MANIFEST, strerror(errno));
  char *text = malloc(1 << 20);
  size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
  fclose(f);
  if (!text)
    return kehu_admin_fail(KEHU_INTERNAL, "out of memory");
  text[n] = '\0';
  cJSON *j = cJSON_Parse(text);
  free(text);
  const char *bn = base_name(dir);
  size_t bl = strlen(bn) < sizeof m->name - 1 ? strlen(bn) : sizeof m->name - 1;
  memcpy(m->name, bn, bl);
  m->name[bl] = '\0';
  const cJSON *format = cJSON_GetObjectItemCaseSensitive(j, "store_format");
  const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
  const cJSON *changes = cJSON_GetObjectItemCaseSensitive(j, "changes");
  const cJSON *audit = cJSON_GetObjectItemCaseSensitive(j, "audit_head");
  int rc = KEHU_OK;
  if (!j || copy_string(m->kind, sizeof m->kind, cJSON_GetObjectItemCaseSensitive(j, "kind")) ||
      copy_string(m->created_at, sizeof m->created_at,
                  cJSON_GetObjectItemCaseSensitive(j, "created_at")) ||
      !cJSON_IsNumber(format) || !cJSON_IsArray(files) ||
      (strcmp(m->kind, "full") != 0 && strcmp(m->kind, "incr") != 0)) {
    rc = kehu_admin_fail(KEHU_INVALID, "%s/%s is not a backup manifest", dir, KEHU_MANIFEST);
  } else if (format->valuedouble > KEHU_STORE_FORMAT) {
    rc = kehu_admin_fail(KEHU_INVALID, "%s: store format %d is newer than this kehu-admin's (%d)",
                         dir, format->valueint, KEHU_STORE_FORMAT);
  } else if (changes || strcmp(m->kind, "incr") == 0) {
    /* manifest format 2: where in the change log the backup stands */
    const cJSON *prev = cJSON_GetObjectItemCaseSensitive(j, "previous");
    if (copy_string(m->store_id, sizeof m->store_id,
                    cJSON_GetObjectItemCaseSensitive(j, "store_id")) ||
        get_count(cJSON_GetObjectItemCaseSensitive(changes, "from"), &m->from) ||
        get_count(cJSON_GetObjectItemCaseSensitive(changes, "to"), &m->to) || m->from > m->to ||
        (strcmp(m->kind, "incr") == 0 && copy_string(m->previous, sizeof m->previous, prev)))
      rc = kehu_admin_fail(KEHU_INVALID, "%s/%s: its store or change-log span is not valid", dir,
                           KEHU_MANIFEST);
  }
  if (rc == KEHU_OK) {
    m->store_format = format->valueint;
    copy_string(m->audit_sha256, sizeof m->audit_sha256,
                cJSON_GetObjectItemCaseSensitive(audit, "sha256"));
    get_count(cJSON_GetObjectItemCaseSensitive(audit, "seq"), &m->audit_seq);
  }
  const cJSON *e, *list = rc == KEHU_OK ? files : NULL;
  cJSON_ArrayForEach(e, list)
  {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(e, "size");
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(e, "sha256");
    kehu_backup_file *b = &m->files.files[m->files.n];
    /* names as backup writes them: no way out of the directory */
    if (m->files.n == KEHU_BACKUP_MAX_FILES || copy_string(b->path, sizeof b->path, p) ||
        strstr(b->path, "..") || b->path[0] == '/' || !cJSON_IsNumber(size) ||
        copy_string(b->sha256, sizeof b->sha256, sum)) {
      rc = kehu_admin_fail(KEHU_INVALID, "%s/%s: a file entry is not valid", dir, KEHU_MANIFEST);
      break;
    }
    b->size = (long long)size->valuedouble;
    m->files.n++;
  }
  cJSON_Delete(j);
  return rc;
}

int kehu_manifest_check_files(const char *dir, const kehu_manifest *m)
{
  int has_store = 0;
  const char *store = strcmp(m->kind, "full") == 0 ? "data.mdb" : KEHU_CHANGES_FILE;
  for (size_t i = 0; i < m->files.n; i++) {
    const kehu_backup_file *b = &m->files.files[i];
    has_store |= strcmp(b->path, store) == 0;
    char path[PATH_MAX], got[65];
    long long got_size;
    if (kehu_backup_join(path, dir, b->path) != 0 ||
        kehu_backup_hash_file(path, got, &got_size) != 0)
      return kehu_admin_fail(KEHU_NOT_FOUND, "backup %s: %s is missing", dir, b->path);
    if (got_size != b->size || strcmp(got, b->sha256) != 0)
      return kehu_admin_fail(KEHU_INVALID,
                             "backup %s: %s does not match its checksum in %s: the file is "
                             "damaged or was changed",
                             dir, b->path, KEHU_MANIFEST);
  }
  if (!has_store)
    return kehu_admin_fail(KEHU_INVALID, "%s/%s lists no %s", dir, KEHU_MANIFEST, store);
  return KEHU_OK;
}

int kehu_backup_name_ok(const char *name, const char *kind)
{
  /* YYYYMMDDTHHMMSSZ-full */
  if (strlen(name) != 21 || name[8] != 'T' || name[15] != 'Z' || name[16] != '-')
    return 0;
  for (int i = 0; i < 15; i++)
    if (i != 8 && (name[i] < '0' || name[i] > '9'))
      return 0;
  if (kind)
    return strcmp(name + 17, kind) == 0;
  return strcmp(name + 17, "full") == 0 || strcmp(name + 17, "incr") == 0;
}

int kehu_backup_newest(const char *dir, char newest[64])
{
  newest[0] = '\0';
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : -1;
  struct dirent *e;
  while ((e = readdir(d)))
    if (kehu_backup_name_ok(e->d_name, NULL) && strcmp(e->d_name, newest) > 0)
      memcpy(newest, e->d_name, 22);   /* 21 characters and the NUL */
  closedir(d);
  return 0;
}
