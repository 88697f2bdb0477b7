/* kehu-admin backup DATADIR OUT and kehu-admin restore BACKUP... DATADIR
 * (docs/operations.md#backups).
 *
 * A full backup is a directory OUT/YYYYMMDDTHHMMSSZ-full/ holding a
 * compacted, consistent copy of the store (taken in one read transaction,
 * so kehud goes on writing meanwhile), the data key, kehud.conf and the
 * TLS files, and manifest.json: when, the store format, the audit log's
 * head, and the size and SHA-256 of every file. It is written under a
 * temporary name, every file and directory synced, then renamed: a backup
 * directory with its final name is complete. A restore checks every
 * checksum before it writes anything, builds the data directory beside
 * the target, verifies its indexes, and only then puts it in place. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mbedtls/sha256.h>

#include "admin.h"
#include "buf.h"
#include "audit_archive.h"
#include "datadir_lock.h"
#include "fsync_path.h"

#define MANIFEST "manifest.json"
#define MANIFEST_FORMAT 1
#define MAX_FILES 1024

static const char backup_usage[] =
  "usage: kehu-admin backup DATADIR OUT [--incremental]\n"
  "  Writes a full backup of DATADIR into the directory OUT (created if missing) as\n"
  "  OUT/YYYYMMDDTHHMMSSZ-full/ and prints its path. Safe while kehud runs: the copy is\n"
  "  consistent and compacted, and kehud goes on writing meanwhile. The backup holds the\n"
  "  data key and the TLS keys: keep it as safe as the data directory.\n"
  "  --incremental   not available yet: it needs the change log (docs/operations.md)\n";

static const char restore_usage[] =
  "usage: kehu-admin restore BACKUP... DATADIR [--force]\n"
  "  Restores a full backup (a directory kehu-admin backup wrote) into DATADIR, after\n"
  "  checking every file against the backup's manifest.json and the restored store's\n"
  "  indexes. DATADIR must not exist or be empty; --force replaces a data directory no\n"
  "  kehud is running on, keeping the old one as DATADIR.replaced-TIME.\n";

/* ---- files ---- */

static int write_all(int fd, const void *data, size_t n)
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

/* Copies src to dst (a new file, mode 0600) and syncs it. */
static int copy_file(const char *src, const char *dst)
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
    if (n < 0 || (n > 0 && write_all(out, buf, (size_t)n) != 0)) {
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

/* The SHA-256 (hex) and size of a file. */
static int hash_file(const char *path, char hex[65], long long *size)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  mbedtls_sha256_context c;
  mbedtls_sha256_init(&c);
  mbedtls_sha256_starts_ret(&c, 0);
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
    mbedtls_sha256_update_ret(&c, buf, (size_t)n);
    total += n;
  }
  unsigned char digest[32];
  mbedtls_sha256_finish_ret(&c, digest);
  mbedtls_sha256_free(&c);
  close(fd);
  kehu_hex(digest, sizeof digest, hex);
  *size = total;
  return rc;
}

static int join(char *out, const char *a, const char *b)
{
  return snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX ? -1 : 0;
}

/* rm -r of a directory two levels deep at most (a backup or data
 * directory being built): files, and directories of files. */
static void remove_tree(const char *dir)
{
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char p[PATH_MAX];
      if (join(p, dir, e->d_name) != 0)
        continue;
      struct stat st;
      if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
        remove_tree(p);
      else
        unlink(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

/* ---- the files a backup holds, beside the store ---- */

typedef struct {
  char path[64];     /* relative to the backup directory */
  long long size;
  char sha256[65];
} backup_file;

typedef struct {
  backup_file files[MAX_FILES];
  size_t n;
} file_list;

/* The regular files of DATADIR/sub as "sub/name"; a missing sub adds none
 * when it may be missing. */
static int add_dir_files(const char *data_dir, const char *sub, int optional, file_list *l)
{
  char dir[PATH_MAX];
  if (join(dir, data_dir, sub) != 0)
    return -1;
  DIR *d = opendir(dir);
  if (!d)
    return optional && errno == ENOENT ? 0 : -1;
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    char p[PATH_MAX];
    struct stat st;
    if (e->d_name[0] == '.' || join(p, dir, e->d_name) != 0 || stat(p, &st) != 0 ||
        !S_ISREG(st.st_mode))
      continue;
    if (l->n == MAX_FILES ||
        strlen(sub) + 1 + strlen(e->d_name) >= sizeof l->files[0].path) {
      rc = -1;
      break;
    }
    snprintf(l->files[l->n++].path, sizeof l->files[0].path, "%s/%s", sub, e->d_name);
  }
  closedir(d);
  return rc;
}

/* data.key, kehud.conf, every file of tls/ and of the audit archive, as
 * relative paths. */
static int datadir_files(const char *data_dir, file_list *l)
{
  static const char *const top[] = {"data.key", "kehud.conf"};
  for (size_t i = 0; i < sizeof top / sizeof *top; i++)
    snprintf(l->files[l->n++].path, sizeof l->files[0].path, "%s", top[i]);
  if (add_dir_files(data_dir, "tls", 0, l) != 0)
    return -1;
  return add_dir_files(data_dir, KEHU_AUDIT_ARCHIVE_DIR, 1, l);
}

/* ---- backup ---- */

/* The store's compacted copy goes through a pipe to a thread that hashes
 * it and writes it to the file: hashing runs beside the copy instead of
 * reading the file back after it. */
typedef struct {
  int in, out;
  mbedtls_sha256_context sha;
  long long size;
  int failed;
} hasher;

static void *hash_and_write(void *arg)
{
  hasher *h = arg;
  static unsigned char buf[256 * 1024];
  for (;;) {
    ssize_t n = read(h->in, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      h->failed |= n < 0;
      break;
    }
    mbedtls_sha256_update_ret(&h->sha, buf, (size_t)n);
    h->size += n;
    if (!h->failed && write_all(h->out, buf, (size_t)n) != 0)
      h->failed = 1;   /* go on reading, so the copy does not block on a full pipe */
  }
  return NULL;
}

static int copy_hashing(kehu_store *st, int fd, char hex[65], long long *size)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return KEHU_INTERNAL;
  hasher h = {p[0], fd, .size = 0, .failed = 0};
  mbedtls_sha256_init(&h.sha);
  mbedtls_sha256_starts_ret(&h.sha, 0);
  pthread_t thread;
  if (pthread_create(&thread, NULL, hash_and_write, &h) != 0) {
    close(p[0]);
    close(p[1]);
    return KEHU_INTERNAL;
  }
  int rc = kehu_store_copy_compact(st, p[1]);
  close(p[1]);   /* the end of the stream */
  pthread_join(thread, NULL);
  close(p[0]);
  unsigned char digest[32];
  mbedtls_sha256_finish_ret(&h.sha, digest);
  mbedtls_sha256_free(&h.sha);
  kehu_hex(digest, sizeof digest, hex);
  *size = h.size;
  return rc != KEHU_OK ? rc : h.failed ? KEHU_INTERNAL : KEHU_OK;
}

static void utc_stamp(time_t t, char *out, size_t len, const char *fmt)
{
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, len, fmt, &tm);
}

static int write_manifest(const char *dir, const file_list *l, uint64_t audit_seq,
                          const unsigned char audit_hash[32], time_t when)
{
  char created[32], hash[65];
  utc_stamp(when, created, sizeof created, "%Y-%m-%dT%H:%M:%SZ");
  kehu_hex(audit_hash, 32, hash);
  cJSON *m = cJSON_CreateObject();
  cJSON_AddNumberToObject(m, "manifest_format", MANIFEST_FORMAT);
  cJSON_AddStringToObject(m, "kind", "full");
  cJSON_AddStringToObject(m, "created_at", created);
  cJSON_AddStringToObject(m, "kehu_version", KEHU_VERSION);
  cJSON_AddNumberToObject(m, "store_format", KEHU_STORE_FORMAT);
  cJSON *audit = cJSON_AddObjectToObject(m, "audit_head");
  cJSON_AddNumberToObject(audit, "seq", (double)audit_seq);
  cJSON_AddStringToObject(audit, "sha256", hash);
  cJSON *files = cJSON_AddArrayToObject(m, "files");
  for (size_t i = 0; i < l->n; i++) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "path", l->files[i].path);
    cJSON_AddNumberToObject(f, "size", (double)l->files[i].size);
    cJSON_AddStringToObject(f, "sha256", l->files[i].sha256);
    cJSON_AddItemToArray(files, f);
  }
  char *text = cJSON_Print(m);
  cJSON_Delete(m);
  if (!text)
    return -1;
  char path[PATH_MAX];
  int rc = join(path, dir, MANIFEST);
  int fd = rc == 0 ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
  rc = fd >= 0 && write_all(fd, text, strlen(text)) == 0 && write_all(fd, "\n", 1) == 0 &&
               fsync(fd) == 0
           ? 0
           : -1;
  if (fd >= 0 && close(fd) != 0)
    rc = -1;
  free(text);
  return rc;
}

int kehu_admin_backup(int argc, char **argv)
{
  const char *pos[2] = {NULL, NULL};
  int incremental = 0;
  static const char *const names[] = {"DATADIR", "OUT", NULL};
  const kehu_admin_flag flags[] = {{"--incremental", NULL, &incremental, NULL, 0}};
  kehu_admin_spec spec = {"backup", backup_usage, names, pos, flags, 1};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  if (incremental)
    return kehu_admin_fail(KEHU_INTERNAL,
                           "backup --incremental is not available yet: it needs the change log, "
                           "which this version does not keep; take a full backup");
  const char *data_dir = pos[0], *out = pos[1];
  kehu_store *st;
  rc = kehu_admin_open(data_dir, &st);
  if (rc != 0)
    return rc;
  file_list files = {.n = 0};
  char tmp[PATH_MAX] = "", final[PATH_MAX] = "", path[PATH_MAX], src[PATH_MAX];
  if (mkdir(out, 0700) != 0 && errno != EEXIST) {
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot create %s: %s", out, strerror(errno));
    goto done;
  }
  /* a name not taken yet: the time, or the next second free */
  time_t when = time(NULL);
  char name[64];
  for (int tries = 0;; tries++, when++) {
    utc_stamp(when, name, sizeof name, "%Y%m%dT%H%M%SZ-full");
    struct stat sb;
    if (join(final, out, name) != 0) {
      rc = kehu_admin_fail(KEHU_INVALID, "OUT: %s is too long a path", out);
      goto done;
    }
    if (stat(final, &sb) != 0 || tries > 3600)
      break;
  }
  if (snprintf(tmp, sizeof tmp, "%s/.%s.partial-%ld", out, name, (long)getpid()) >=
          (int)sizeof tmp ||
      mkdir(tmp, 0700) != 0) {
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot create a directory in %s: %s", out,
                         strerror(errno));
    tmp[0] = '\0';
    goto done;
  }
  /* the store: one read transaction, compacted */
  uint64_t audit_seq = 0;
  unsigned char audit_hash[32] = {0};
  kehu_txn t;
  if ((rc = kehu_store_read_begin(st, &t)) == KEHU_OK) {
    rc = kehu_store_audit_head(&t, &audit_seq, audit_hash);
    kehu_store_read_end(&t);
  }
  if (rc != KEHU_OK) {
    rc = kehu_admin_fail(rc, "cannot read the audit log's head: %s", kehu_status_name(rc));
    goto done;
  }
  if (join(path, tmp, "data.mdb") != 0) {
    rc = kehu_admin_fail(KEHU_INVALID, "OUT: too long a path");
    goto done;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot create %s: %s", path, strerror(errno));
    goto done;
  }
  rc = copy_hashing(st, fd, files.files[0].sha256, &files.files[0].size);
  if (rc == KEHU_OK && fsync(fd) != 0)
    rc = KEHU_INTERNAL;
  if (close(fd) != 0 && rc == KEHU_OK)
    rc = KEHU_INTERNAL;
  if (rc != KEHU_OK) {
    rc = kehu_admin_fail(rc, "cannot copy the store into %s: %s", path, kehu_status_name(rc));
    goto done;
  }
  snprintf(files.files[0].path, sizeof files.files[0].path, "data.mdb");
  files.n = 1;
  /* the key, the configuration, the certificates */
  if (join(path, tmp, "tls") != 0 || mkdir(path, 0700) != 0 ||
      join(path, tmp, KEHU_AUDIT_ARCHIVE_DIR) != 0 || mkdir(path, 0700) != 0 ||
      datadir_files(data_dir, &files) != 0) {
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot list the files of %s", data_dir);
    goto done;
  }
  for (size_t i = 1; i < files.n; i++) {
    if (join(src, data_dir, files.files[i].path) != 0 ||
        join(path, tmp, files.files[i].path) != 0 || copy_file(src, path) != 0) {
      rc = kehu_admin_fail(KEHU_INTERNAL, "cannot copy %s: %s", src, strerror(errno));
      goto done;
    }
  }
  for (size_t i = 1; i < files.n; i++) {   /* data.mdb was hashed as it was written */
    if (join(path, tmp, files.files[i].path) != 0 ||
        hash_file(path, files.files[i].sha256, &files.files[i].size) != 0) {
      rc = kehu_admin_fail(KEHU_INTERNAL, "cannot read back %s", path);
      goto done;
    }
  }
  if (write_manifest(tmp, &files, audit_seq, audit_hash, when) != 0) {
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot write the manifest in %s", tmp);
    goto done;
  }
  /* every file is synced; now the directories, the rename, and OUT */
  if (join(path, tmp, "tls") != 0 || kehu_fsync_path(path) != 0 ||
      join(path, tmp, KEHU_AUDIT_ARCHIVE_DIR) != 0 || kehu_fsync_path(path) != 0 ||
      kehu_fsync_path(tmp) != 0 || rename(tmp, final) != 0 || kehu_fsync_path(out) != 0) {
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot put the backup in place as %s: %s", final,
                         strerror(errno));
    goto done;
  }
  tmp[0] = '\0';
  printf("%s/\n", final);
  /* for kehu-admin stats: when and where the last backup went */
  if (join(path, data_dir, "backup.last") == 0) {
    FILE *last = fopen(path, "w");
    if (last) {
      fprintf(last, "%lld %s\n", (long long)when, final);
      fclose(last);
    }
  }
  rc = 0;
done:
  if (tmp[0])
    remove_tree(tmp);
  kehu_store_close(st);
  return rc;
}

/* ---- restore ---- */

/* The manifest of a backup directory, its files checked: KEHU_OK, or an
 * exit code after saying what is wrong. */
static int check_backup(const char *dir, file_list *l)
{
  char path[PATH_MAX];
  if (join(path, dir, MANIFEST) != 0)
    return kehu_admin_fail(KEHU_INVALID, "%s: too long a path", dir);
  FILE *f = fopen(path, "r");
  if (!f)
    return kehu_admin_fail(KEHU_NOT_FOUND, "%s is not a kehu backup: no %s (%s)", dir, MANIFEST,
                           strerror(errno));
  char *text = malloc(1 << 20);
  size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
  fclose(f);
  if (!text)
    return kehu_admin_fail(KEHU_INTERNAL, "out of memory");
  text[n] = '\0';
  cJSON *m = cJSON_Parse(text);
  free(text);
  int rc = KEHU_OK;
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(m, "kind");
  const cJSON *format = cJSON_GetObjectItemCaseSensitive(m, "store_format");
  const cJSON *files = cJSON_GetObjectItemCaseSensitive(m, "files");
  if (!m || !cJSON_IsString(kind) || !cJSON_IsNumber(format) || !cJSON_IsArray(files)) {
    rc = kehu_admin_fail(KEHU_INVALID, "%s/%s is not a backup manifest", dir, MANIFEST);
  } else if (strcmp(kind->valuestring, "full") != 0) {
    rc = kehu_admin_fail(KEHU_INVALID, "%s: a '%s' backup; this version restores full backups",
                         dir, kind->valuestring);
  } else if (format->valuedouble > KEHU_STORE_FORMAT) {
    rc = kehu_admin_fail(KEHU_INVALID, "%s: store format %d is newer than this kehu-admin's (%d)",
                         dir, format->valueint, KEHU_STORE_FORMAT);
  }
  l->n = 0;
  int has_store = 0;
  const cJSON *e, *list = rc == KEHU_OK ? files : NULL;
  cJSON_ArrayForEach(e, list)
  {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(e, "size");
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(e, "sha256");
    /* names as backup writes them: no way out of the directory */
    if (!cJSON_IsString(p) || !cJSON_IsNumber(size) || !cJSON_IsString(sum) ||
        strlen(p->valuestring) >= sizeof l->files[0].path || strstr(p->valuestring, "..") ||
        p->valuestring[0] == '/' || l->n == MAX_FILES) {
      rc = kehu_admin_fail(KEHU_INVALID, "%s/%s: a file entry is not valid", dir, MANIFEST);
      break;
    }
    backup_file *b = &l->files[l->n++];
    snprintf(b->path, sizeof b->path, "%s", p->valuestring);
    has_store |= strcmp(b->path, "data.mdb") == 0;
    char got[65];
    long long got_size;
    if (join(path, dir, b->path) != 0 || hash_file(path, got, &got_size) != 0) {
      rc = kehu_admin_fail(KEHU_NOT_FOUND, "backup %s: %s is missing", dir, b->path);
      break;
    }
    if (got_size != (long long)size->valuedouble || strcmp(got, sum->valuestring) != 0) {
      rc = kehu_admin_fail(KEHU_INVALID,
                           "backup %s: %s does not match its checksum in %s: the file is "
                           "damaged or was changed",
                           dir, b->path, MANIFEST);
      break;
    }
  }
  if (rc == KEHU_OK && !has_store)
    rc = kehu_admin_fail(KEHU_INVALID, "%s/%s lists no data.mdb", dir, MANIFEST);
  cJSON_Delete(m);
  return rc;
}

static int dir_is_empty(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 1 : -1;
  struct dirent *e;
  int empty = 1;
  while (empty && (e = readdir(d)))
    empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
  closedir(d);
  return empty;
}

/* The directory holding path (path itself has no trailing '/'). */
static void parent_of(const char *path, char *out)
{
  snprintf(out, PATH_MAX, "%s", path);
  char *slash = strrchr(out, '/');
  if (!slash)
    snprintf(out, PATH_MAX, ".");
  else if (slash == out)
    out[1] = '\0';
  else
    *slash = '\0';
}

int kehu_admin_restore(int argc, char **argv)
{
  const char *pos[16];
  size_t npos = 0;
  int force = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(restore_usage, stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--force"))
      force = 1;
    else if (argv[i][0] == '-' && argv[i][1])
      return kehu_admin_fail(KEHU_USAGE, "restore: unknown flag '%s'\n%s", argv[i],
                             restore_usage);
    else if (npos == sizeof pos / sizeof *pos)
      return kehu_admin_fail(KEHU_USAGE, "restore: too many arguments");
    else
      pos[npos++] = argv[i];
  }
  if (npos < 2)
    return kehu_admin_fail(KEHU_USAGE, "restore: BACKUP and DATADIR are needed\n%s",
                           restore_usage);
  if (npos > 2)
    return kehu_admin_fail(KEHU_INVALID,
                           "restore: incremental backups are not available yet: give one full "
                           "backup");
  char data_dir[PATH_MAX];
  snprintf(data_dir, sizeof data_dir, "%s", pos[npos - 1]);
  for (size_t n = strlen(data_dir); n > 1 && data_dir[n - 1] == '/'; n--)
    data_dir[n - 1] = '\0';
  /* the backup first: nothing is touched for a damaged one */
  file_list files;
  int rc = check_backup(pos[0], &files);
  if (rc != KEHU_OK)
    return rc;
  long holder;
  if (kehu_datadir_locked(data_dir, &holder)) {
    if (holder > 0)
      return kehu_admin_fail(KEHU_CONFLICT,
                             "kehud (pid %ld) is running on %s: stop it before restoring into it",
                             holder, data_dir);
    return kehu_admin_fail(KEHU_CONFLICT,
                           "kehud is running on %s: stop it before restoring into it", data_dir);
  }
  int empty = dir_is_empty(data_dir);
  if (empty < 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot read %s: %s", data_dir, strerror(errno));
  if (!empty && !force)
    return kehu_admin_fail(KEHU_CONFLICT,
                           "%s is not empty: --force replaces it (no kehud may be running on "
                           "it; the old one is kept as %s.replaced-TIME)",
                           data_dir, data_dir);
  /* build the new data directory beside the target */
  char tmp[PATH_MAX], path[PATH_MAX], src[PATH_MAX], parent[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.restoring-%ld", data_dir, (long)getpid()) >=
      (int)sizeof tmp)
    return kehu_admin_fail(KEHU_INVALID, "%s: too long a path", data_dir);
  remove_tree(tmp);
  if (mkdir(tmp, 0700) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot create %s: %s", tmp, strerror(errno));
  rc = KEHU_OK;
  if (join(path, tmp, "db") != 0 || mkdir(path, 0700) != 0 || join(path, tmp, "tls") != 0 ||
      mkdir(path, 0700) != 0 || join(path, tmp, KEHU_AUDIT_ARCHIVE_DIR) != 0 ||
      mkdir(path, 0700) != 0)
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot create the directories of %s", tmp);
  for (size_t i = 0; i < files.n && rc == KEHU_OK; i++) {
    const char *rel = files.files[i].path;
    int ok = join(src, pos[0], rel) == 0 &&
             (strcmp(rel, "data.mdb") == 0 ? snprintf(path, sizeof path, "%s/db/data.mdb", tmp) <
                                                 (int)sizeof path
                                           : join(path, tmp, rel) == 0);
    if (!ok || copy_file(src, path) != 0)
      rc = kehu_admin_fail(KEHU_INTERNAL, "cannot copy %s into %s: %s", src, tmp,
                           strerror(errno));
  }
  /* what the backup holds is a whole store: its indexes match its records */
  kehu_store *st = NULL;
  if (rc == KEHU_OK && (rc = kehu_admin_open(tmp, &st)) == 0) {
    kehu_txn t;
    size_t len = 64 * 1024;
    char *report = malloc(len);
    unsigned long problems = 0;
    uint64_t seq = 0;
    unsigned char hash[32];
    if (!report || kehu_store_read_begin(st, &t) != KEHU_OK) {
      rc = kehu_admin_fail(KEHU_INTERNAL, "cannot read the restored store");
    } else {
      int vrc = kehu_store_verify(&t, report, len, &problems);
      if (vrc == KEHU_OK)
        vrc = kehu_store_audit_head(&t, &seq, hash);
      kehu_store_read_end(&t);
      if (vrc != KEHU_OK || problems) {
        fputs(report, stderr);
        rc = kehu_admin_fail(KEHU_INVALID, "the restored store does not verify (%lu problems)",
                             problems);
      }
    }
    free(report);
    kehu_store_close(st);
  }
  if (rc == KEHU_OK) {
    for (size_t i = 0; i < 3 && rc == KEHU_OK; i++) {
      static const char *const dirs[] = {"db", "tls", KEHU_AUDIT_ARCHIVE_DIR};
      if (join(path, tmp, dirs[i]) != 0 || kehu_fsync_path(path) != 0)
        rc = kehu_admin_fail(KEHU_INTERNAL, "cannot sync %s", path);
    }
    if (rc == KEHU_OK && kehu_fsync_path(tmp) != 0)
      rc = kehu_admin_fail(KEHU_INTERNAL, "cannot sync %s", tmp);
  }
  if (rc != KEHU_OK) {
    remove_tree(tmp);
    return rc;
  }
  /* in place: the old directory (if any) kept aside, then the new one */
  char kept[PATH_MAX] = "";
  if (empty) {
    rmdir(data_dir);   /* an empty directory: nothing to keep */
  } else {
    char stamp[32];
    utc_stamp(time(NULL), stamp, sizeof stamp, "%Y%m%dT%H%M%SZ");
    if (snprintf(kept, sizeof kept, "%s.replaced-%s", data_dir, stamp) >= (int)sizeof kept ||
        rename(data_dir, kept) != 0) {
      remove_tree(tmp);
      return kehu_admin_fail(KEHU_INTERNAL, "cannot move %s aside: %s", data_dir,
                             strerror(errno));
    }
  }
  parent_of(data_dir, parent);
  if (rename(tmp, data_dir) != 0 || kehu_fsync_path(parent) != 0) {
    int e = errno;
    if (kept[0])
      rename(kept, data_dir);
    remove_tree(tmp);
    return kehu_admin_fail(KEHU_INTERNAL, "cannot put the restored data directory in place: %s",
                           strerror(e));
  }
  printf("restored %s into %s\n", pos[0], data_dir);
  if (kept[0])
    printf("the data directory it replaced is kept as %s\n", kept);
  return 0;
}
