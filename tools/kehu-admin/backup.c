/* kehu-admin backup DATADIR OUT [--incremental] (docs/operations.md#backups).
 *
 * A full backup is a directory OUT/YYYYMMDDTHHMMSSZ-full/ holding a
 * compacted, consistent copy of the store (taken in one read transaction,
 * so kehud goes on writing meanwhile); an incremental one,
 * OUT/YYYYMMDDTHHMMSSZ-incr/, holds instead the keys the change log noted
 * since the newest backup in OUT, with their values (backup_changes.c).
 * Both hold the data key, kehud.conf, the TLS files, older data keys and
 * the audit archive, and manifest.json: when, the store and its format,
 * the change log's span, the audit log's head, and the size and SHA-256 of
 * every file. A backup is written under a temporary name, every file and
 * directory synced, then renamed: a directory with its final name is
 * complete. Afterwards the change log is trimmed up to what it holds. */
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

/* nettle's SHA-256 uses the CPU's SHA instructions where there are some:
 * about 5 times mbedTLS's here, which matters for gigabytes of store. */
#include <nettle/sha2.h>

#include "admin.h"
#include "backup_changes.h"
#include "backup_files.h"
#include "buf.h"
#include "fsync_path.h"

static const char backup_usage[] =
  "usage: kehu-admin backup DATADIR OUT [--incremental]\n"
  "  Writes a backup of DATADIR into the directory OUT (created if missing) and prints\n"
  "  its path: OUT/YYYYMMDDTHHMMSSZ-full/ or OUT/YYYYMMDDTHHMMSSZ-incr/ (UTC; names sort\n"
  "  in time order). Safe while kehud runs: the copy is consistent, and kehud goes on\n"
  "  writing meanwhile. The backup holds the data key and the TLS keys: keep it as safe\n"
  "  as the data directory.\n"
  "  --incremental   only what changed since the newest backup in OUT (restore it\n"
  "                  after that one); a full backup instead, saying why, when OUT has\n"
  "                  none of this store to build on\n";

/* The store's compacted copy goes through a pipe to a thread that hashes
 * it and writes it to the file: hashing runs beside the copy instead of
 * reading the file back after it. */
typedef struct {
  int in, out;
  struct sha256_ctx sha;
  long long size;
  int failed;
} hasher;

#define CHUNK (1 << 20)   /* what the file is written in: a multiple of every block size */

/* Writes what buf holds; O_DIRECT (when the file has it) wants whole
 * blocks, so a last piece that is not one goes through the page cache. */
static int put_chunk(hasher *h, const unsigned char *buf, size_t n)
{
  if (n % 4096 != 0) {
    int flags = fcntl(h->out, F_GETFL);
    if (flags >= 0 && (flags & O_DIRECT))
      fcntl(h->out, F_SETFL, flags & ~O_DIRECT);
  }
  return kehu_backup_write_all(h->out, buf, n);
}

static void *hash_and_write(void *arg)
{
  hasher *h = arg;
  unsigned char *buf;
  if (posix_memalign((void **)&buf, 4096, CHUNK) != 0) {
    h->failed = 1;
    buf = NULL;
  }
  size_t have = 0;
  for (;;) {
    static unsigned char sink[64 * 1024];
    unsigned char *to = buf ? buf + have : sink;
    size_t room = buf ? CHUNK - have : sizeof sink;
    ssize_t n = read(h->in, to, room);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      h->failed |= n < 0;
      break;
    }
    if (!buf)
      continue;   /* failed: go on reading, so the copy does not block on a full pipe */
    sha256_update(&h->sha, (size_t)n, to);
    h->size += n;
    have += (size_t)n;
    if (have == CHUNK) {
      if (!h->failed && put_chunk(h, buf, have) != 0)
        h->failed = 1;
      have = 0;
    }
  }
  if (buf && have && !h->failed && put_chunk(h, buf, have) != 0)
    h->failed = 1;
  free(buf);
  return NULL;
}

static int copy_hashing(kehu_store *st, int fd, char hex[65], long long *size)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return KEHU_INTERNAL;
  /* LMDB writes the copy in 1 MiB pieces: a pipe that holds one wakes the
   * hashing thread once a piece instead of sixteen times (the default
   * 64 KiB). Best effort: a smaller pipe only costs time. */
  fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  hasher h = {p[0], fd, .size = 0, .failed = 0};
  sha256_init(&h.sha);
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
  sha256_digest(&h.sha, SHA256_DIGEST_SIZE, digest);
  kehu_hex(digest, sizeof digest, hex);
  *size = h.size;
  return rc != KEHU_OK ? rc : h.failed ? KEHU_INTERNAL : KEHU_OK;
}


/* ---- what the backup builds on ---- */

/* For --incremental: the newest backup in OUT, when this store's change log
 * still holds every change after it. Otherwise why says why not (a full
 * backup is taken instead) and base->name is "". */
static int find_base(kehu_txn *t, const char *out, kehu_manifest *base, char *why, size_t len)
{
  char newest[64], dir[PATH_MAX], id[33];
  uint64_t head, oldest;
  int rc = kehu_store_id(t, id);
  if (rc == KEHU_OK)
    rc = kehu_store_changes_head(t, &head, &oldest);
  if (rc != KEHU_OK)
    return rc;
  base->name[0] = '\0';
  if (kehu_backup_newest(out, newest) != 0 || !newest[0]) {
    snprintf(why, len, "%s holds no backup to build on", out);
    return KEHU_OK;
  }
  if (kehu_backup_join(dir, out, newest) != 0)
    return KEHU_INVALID;
  if (kehu_manifest_read(dir, base) != KEHU_OK) {
    snprintf(why, len, "the newest backup, %s, cannot be read", newest);
  } else if (strcmp(base->store_id, id) != 0) {
    snprintf(why, len, "the newest backup, %s, is %s", newest,
             base->store_id[0] ? "of another store" : "older than the change log");
  } else if (base->to > head) {
    snprintf(why, len,
             "the store is behind the newest backup, %s (change %llu of %llu): was it restored "
             "from an older one?",
             newest, (unsigned long long)head, (unsigned long long)base->to);
  } else if (base->to < head && oldest > base->to + 1) {
    snprintf(why, len,
             "the change log no longer holds the changes after the newest backup, %s (a backup "
             "into another directory trimmed it)",
             newest);
  } else {
    return KEHU_OK;   /* base is it */
  }
  base->name[0] = '\0';
  return KEHU_OK;
}

/* A name not taken yet, later than every backup in OUT: the time, or the
 * next second free. */
static int pick_name(const char *out, const char *kind, time_t *when, char name[64])
{
  char newest[64];
  if (kehu_backup_newest(out, newest) != 0)
    return -1;
  for (int tries = 0; tries < 100000; tries++, (*when)++) {
    kehu_utc_stamp(*when, name, 64, "%Y%m%dT%H%M%SZ");
    if (strncmp(name, newest, 16) > 0) {
      snprintf(name + 16, 48, "-%s", kind);
      return 0;
    }
  }
  return -1;
}

/* ---- the store's part ---- */

/* Full: the compacted copy into dir/data.mdb, hashed as it is written;
 * then the copy itself says where it stands (change log, audit, store). */
static int write_full(kehu_store *st, const char *dir, kehu_manifest *m)
{
  char path[PATH_MAX];
  if (kehu_backup_join(path, dir, "data.mdb") != 0)
    return kehu_admin_fail(KEHU_INVALID, "OUT: too long a path");
  /* O_DIRECT, as mdb_copy does: gigabytes of copy neither evict the store
   * from the page cache nor wait behind the kernel's writeback of them */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT, 0600);
  if (fd < 0 && errno == EINVAL)   /* a file system without it (tmpfs) */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot create %s: %s", path, strerror(errno));
  kehu_backup_file *f = &m->files.files[m->files.n++];
  snprintf(f->path, sizeof f->path, "data.mdb");
  /* a store's first backup: every write after the copy's snapshot is noted
   * from now on, for the incrementals that build on this one */
  int rc = kehu_store_changes_start(st);
  if (rc == KEHU_OK)
    rc = copy_hashing(st, fd, f->sha256, &f->size);
  if (rc == KEHU_OK && fsync(fd) != 0)
    rc = KEHU_INTERNAL;
  if (close(fd) != 0 && rc == KEHU_OK)
    rc = KEHU_INTERNAL;
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "cannot copy the store into %s: %s", path, kehu_status_name(rc));
  kehu_store *copy;
  kehu_error err;
  if (kehu_store_open_copy(&copy, path, &err) != KEHU_OK)
    return kehu_admin_fail(KEHU_INTERNAL, "%s", err.message);
  kehu_txn t;
  uint64_t oldest;
  unsigned char hash[32];
  if ((rc = kehu_store_read_begin(copy, &t)) == KEHU_OK) {
    rc = kehu_store_id(&t, m->store_id);
    if (rc == KEHU_OK)
      rc = kehu_store_changes_head(&t, &m->to, &oldest);
    if (rc == KEHU_OK)
      rc = kehu_store_audit_head(&t, &m->audit_seq, hash);
    kehu_store_read_end(&t);
  }
  kehu_store_close(copy);
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "cannot read the copy %s back: %s", path, kehu_status_name(rc));
  kehu_hex(hash, 32, m->audit_sha256);
  m->from = 0;
  return KEHU_OK;
}

/* Incremental: the changes after the base, up to the store's newest, all
 * read in one transaction. */
static int write_incremental(kehu_txn *t, const kehu_manifest *base, const char *dir,
                             kehu_manifest *m, size_t *keys)
{
  char path[PATH_MAX];
  uint64_t oldest;
  unsigned char hash[32];
  int rc = kehu_store_id(t, m->store_id);
  if (rc == KEHU_OK)
    rc = kehu_store_changes_head(t, &m->to, &oldest);
  if (rc == KEHU_OK)
    rc = kehu_store_audit_head(t, &m->audit_seq, hash);
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "cannot read the change log: %s", kehu_status_name(rc));
  kehu_hex(hash, 32, m->audit_sha256);
  m->from = base->to;
  snprintf(m->previous, sizeof m->previous, "%s", base->name);
  if (kehu_backup_join(path, dir, KEHU_CHANGES_FILE) != 0)
    return kehu_admin_fail(KEHU_INVALID, "OUT: too long a path");
  FILE *f = fopen(path, "wbx");
  if (!f)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot create %s: %s", path, strerror(errno));
  rc = kehu_backup_changes_write(t, m->from, m->to, f, keys);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0)
    rc = rc == KEHU_OK ? KEHU_INTERNAL : rc;
  if (fclose(f) != 0 && rc == KEHU_OK)
    rc = KEHU_INTERNAL;
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "cannot write %s: %s", path, kehu_status_name(rc));
  kehu_backup_file *b = &m->files.files[m->files.n++];
  snprintf(b->path, sizeof b->path, "%s", KEHU_CHANGES_FILE);
  if (kehu_backup_hash_file(path, b->sha256, &b->size) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot read back %s", path);
  return KEHU_OK;
}

/* ---- the rest of the data directory ---- */

static int copy_datadir_files(const char *data_dir, const char *dir, kehu_manifest *m)
{
  char path[PATH_MAX], src[PATH_MAX];
  for (size_t i = 0; i < kehu_backup_nsubdirs; i++)
    if (kehu_backup_join(path, dir, kehu_backup_subdirs[i]) != 0 || mkdir(path, 0700) != 0)
      return kehu_admin_fail(KEHU_INTERNAL, "cannot create %s: %s", path, strerror(errno));
  size_t first = m->files.n;
  if (kehu_backup_datadir_files(data_dir, &m->files) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot list the files of %s", data_dir);
  for (size_t i = first; i < m->files.n; i++) {
    kehu_backup_file *f = &m->files.files[i];
    if (kehu_backup_join(src, data_dir, f->path) != 0 ||
        kehu_backup_join(path, dir, f->path) != 0 || kehu_backup_copy_file(src, path) != 0)
      return kehu_admin_fail(KEHU_INTERNAL, "cannot copy %s: %s", src, strerror(errno));
    if (kehu_backup_hash_file(path, f->sha256, &f->size) != 0)
      return kehu_admin_fail(KEHU_INTERNAL, "cannot read back %s", path);
  }
  return KEHU_OK;
}

/* Every file is synced; now the directories, the rename, and OUT. */
static int put_in_place(const char *tmp, const char *final, const char *out)
{
  char path[PATH_MAX];
  for (size_t i = 0; i < kehu_backup_nsubdirs; i++)
    if (kehu_backup_join(path, tmp, kehu_backup_subdirs[i]) != 0 || kehu_fsync_path(path) != 0)
      return -1;
  return kehu_fsync_path(tmp) != 0 || rename(tmp, final) != 0 || kehu_fsync_path(out) != 0
             ? -1
             : 0;
}

/* For kehu-admin stats: when and where the last backup went. */
static void note_last(const char *data_dir, time_t when, const char *final)
{
  char path[PATH_MAX];
  if (kehu_backup_join(path, data_dir, "backup.last") != 0)
    return;
  FILE *last = fopen(path, "w");
  if (last) {
    fprintf(last, "%lld %s\n", (long long)when, final);
    fclose(last);
  }
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
  const char *data_dir = pos[0], *out = pos[1];
  kehu_store *st;
  if ((rc = kehu_admin_open(data_dir, &st)) != 0)
    return rc;
  kehu_manifest *m = calloc(1, sizeof *m), *base = calloc(1, sizeof *base);
  char tmp[PATH_MAX] = "", final[PATH_MAX] = "", why[512] = "";
  kehu_txn t = {0};
  size_t keys = 0;
  if (!m || !base) {
    rc = kehu_admin_fail(KEHU_INTERNAL, "out of memory");
    goto done;
  }
  if (mkdir(out, 0700) != 0 && errno != EEXIST) {
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot create %s: %s", out, strerror(errno));
    goto done;
  }
  /* an incremental reads everything in this one transaction */
  if (incremental) {
    if ((rc = kehu_store_read_begin(st, &t)) != KEHU_OK ||
        (rc = find_base(&t, out, base, why, sizeof why)) != KEHU_OK) {
      rc = kehu_admin_fail(rc, "cannot read the store: %s", kehu_status_name(rc));
      goto done;
    }
    if (!base->name[0]) {
      fprintf(stderr, "kehu-admin: a full backup instead of an incremental one: %s\n", why);
      kehu_store_read_end(&t);
    }
  }
  int full = !base->name[0];
  time_t when = time(NULL);
  char name[64];
  if (pick_name(out, full ? "full" : "incr", &when, name) != 0 ||
      kehu_backup_join(final, out, name) != 0) {
    rc = kehu_admin_fail(KEHU_INVALID, "OUT: cannot name a backup in %s", out);
    goto done;
  }
  if (snprintf(tmp, sizeof tmp, "%s/.%s.partial-%ld", out, name, (long)getpid()) >=
          (int)sizeof tmp ||
      mkdir(tmp, 0700) != 0) {
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot create a directory in %s: %s", out,
                         strerror(errno));
    tmp[0] = '\0';
    goto done;
  }
  snprintf(m->kind, sizeof m->kind, "%s", full ? "full" : "incr");
  kehu_utc_stamp(when, m->created_at, sizeof m->created_at, "%Y-%m-%dT%H:%M:%SZ");
  m->store_format = KEHU_STORE_FORMAT;
  rc = full ? write_full(st, tmp, m) : write_incremental(&t, base, tmp, m, &keys);
  kehu_store_read_end(&t);
  if (rc == KEHU_OK)
    rc = copy_datadir_files(data_dir, tmp, m);
  if (rc == KEHU_OK && kehu_manifest_write(tmp, m) != 0)
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot write the manifest in %s", tmp);
  if (rc == KEHU_OK && put_in_place(tmp, final, out) != 0)
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot put the backup in place as %s: %s", final,
                         strerror(errno));
  if (rc != KEHU_OK)
    goto done;
  tmp[0] = '\0';
  printf("%s/\n", final);
  if (!full)
    fprintf(stderr, "kehu-admin: %zu changed keys since %s (changes %llu to %llu)\n", keys,
            base->name, (unsigned long long)m->from + 1, (unsigned long long)m->to);
  note_last(data_dir, when, final);
  /* the log is needed from here on only: the next incremental builds on this */
  size_t trimmed;
  if (kehu_store_changes_trim(st, m->to, &trimmed) != KEHU_OK)
    fprintf(stderr, "kehu-admin: the backup is complete, but the change log could not be "
                    "trimmed; the next backup will try again\n");
  rc = 0;
done:
  kehu_store_read_end(&t);
  if (tmp[0])
    kehu_backup_remove_tree(tmp);
  free(m);
  free(base);
  kehu_store_close(st);
  return rc;
}
