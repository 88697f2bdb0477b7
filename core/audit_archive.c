#include "audit_archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha256.h>

#include "audit_entry.h"
#include "buf.h"
#include "fsync_path.h"

/* audit-<first>-<last>.log, the numbers zero-padded so names sort as the
 * entries do; a line per entry: "<seq> <base64 of its encoding>\n". */
#define NAME_FMT "audit-%012" PRIu64 "-%012" PRIu64 ".log"

typedef struct {
  char **names;
  size_t n, cap;
} name_list;

static int cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The archive files of dir, sorted; their ranges through first/last. */
static int list_archive(const char *dir, name_list *l)
{
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : -1;
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    uint64_t a, b;
    char tail[8];
    if (sscanf(e->d_name, "audit-%12" SCNu64 "-%12" SCNu64 ".%4s", &a, &b, tail) != 3 ||
        strcmp(tail, "log") != 0)
      continue;
    if (l->n == l->cap) {
      size_t cap = l->cap ? l->cap * 2 : 16;
      char **p = realloc(l->names, cap * sizeof *p);
      if (!p) {
        rc = -1;
        break;
      }
      l->names = p;
      l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(e->d_name))) {
      rc = -1;
      break;
    }
    l->n++;
  }
  closedir(d);
  if (l->n)
    qsort(l->names, l->n, sizeof *l->names, cmp_names);
  return rc;
}

static void free_list(name_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    free(l->names[i]);
  free(l->names);
}

static uint64_t last_of(const char *name)
{
  uint64_t a, b;
  return sscanf(name, "audit-%12" SCNu64 "-%12" SCNu64, &a, &b) == 2 ? b : 0;
}

/* ---- archiving ---- */

typedef struct {
  kehu_buf lines;
  uint64_t first, last;
  size_t n;
} collected;

static int collect(uint64_t seq, const void *bytes, size_t len, void *arg)
{
  collected *c = arg;
  size_t b64 = 4 * ((len + 2) / 3) + 1, olen = 0;
  char head[32];
  int n = snprintf(head, sizeof head, "%" PRIu64 " ", seq);
  char *buf = malloc(b64);
  if (!buf)
    return KEHU_EXHAUSTED;
  int rc = mbedtls_base64_encode((unsigned char *)buf, b64, &olen, bytes, len);
  if (rc == 0 && (kehu_buf_append(&c->lines, head, (size_t)n) != 0 ||
                  kehu_buf_append(&c->lines, buf, olen) != 0 ||
                  kehu_buf_append(&c->lines, "\n", 1) != 0))
    rc = -1;
  free(buf);
  if (rc != 0)
    return KEHU_EXHAUSTED;
  if (!c->n++)
    c->first = seq;
  c->last = seq;
  return KEHU_OK;
}

static int write_synced(const char *path, const void *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      close(fd);
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  int rc = fsync(fd);
  return close(fd) == 0 && rc == 0 ? 0 : -1;
}

typedef struct {
  uint64_t upto;         /* drop the store's entries through this one */
  uint64_t first, last;  /* what the new file holds (0: no new file) */
  const char *file;
  int64_t now, before;
} drop_work;

static int apply_drop(kehu_txn *t, void *arg)
{
  drop_work *w = arg;
  int rc = kehu_store_audit_drop_through(t, w->upto);
  if (rc != KEHU_OK || !w->last)
    return rc;
  char day[16] = "?", details[512];
  time_t b = (time_t)w->before;
  struct tm tm;
  if (localtime_r(&b, &tm))
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
  snprintf(details, sizeof details, "entries %" PRIu64 "-%" PRIu64 " (before %s) moved to %s/%s",
           w->first, w->last, day, KEHU_AUDIT_ARCHIVE_DIR, w->file);
  kehu_caller server = {.username = "kehud"};
  return kehu_audit(t, &server, w->now, "archive", "audit", NULL, details);
}

int kehu_audit_archive(kehu_store *st, const char *data_dir, int64_t now,
                       unsigned retention_days, size_t max, size_t *archived, char *file,
                       size_t file_len, kehu_error *err)
{
  *archived = 0;
  if (file && file_len)
    file[0] = '\0';
  char dir[4096], path[4400], tmp[4400], name[64];
  if (snprintf(dir, sizeof dir, "%s/%s", data_dir, KEHU_AUDIT_ARCHIVE_DIR) >= (int)sizeof dir)
    return kehu_fail(err, KEHU_INVALID, NULL, "%s: too long a path", data_dir);
  name_list files = {0};
  if (list_archive(dir, &files) != 0) {
    free_list(&files);
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot read %s: %s", dir, strerror(errno));
  }
  uint64_t archived_last = files.n ? last_of(files.names[files.n - 1]) : 0;
  free_list(&files);
  int64_t before = now - (int64_t)retention_days * 86400;
  /* what is due, after what the store and the archive already hold */
  kehu_txn t;
  uint64_t base;
  unsigned char hash[32];
  collected c = {0};
  int rc = kehu_store_read_begin(st, &t);
  if (rc == KEHU_OK) {
    rc = kehu_store_audit_base(&t, &base, hash);
    if (rc == KEHU_OK)
      rc = kehu_store_audit_oldest(&t, base > archived_last ? base : archived_last, before, max,
                                   collect, &c);
    kehu_store_read_end(&t);
  }
  if (rc != KEHU_OK) {
    kehu_buf_free(&c.lines);
    return kehu_fail(err, rc, NULL, "cannot read the audit log: %s", kehu_status_name(rc));
  }
  drop_work w = {archived_last, 0, 0, name, now, before};
  if (c.n) {
    /* the file first, synced; only then may the entries leave the store */
    snprintf(name, sizeof name, NAME_FMT, c.first, c.last);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.partial", dir, name);
    if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
        write_synced(tmp, kehu_buf_head(&c.lines), kehu_buf_size(&c.lines)) != 0 ||
        rename(tmp, path) != 0 || kehu_fsync_path(dir) != 0) {
      int e = errno;
      unlink(tmp);
      kehu_buf_free(&c.lines);
      return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot write the audit archive %s: %s", path,
                       strerror(e));
    }
    w.upto = c.last;
    w.first = c.first;
    w.last = c.last;
  }
  kehu_buf_free(&c.lines);
  if (w.upto > base && (rc = kehu_store_write(st, apply_drop, &w)) != KEHU_OK)
    return kehu_fail(err, rc, NULL, "the archived audit entries could not leave the store: %s",
                     kehu_status_name(rc));
  *archived = c.n;
  if (file && c.n)
    snprintf(file, file_len, "%s", name);
  return KEHU_OK;
}

/* ---- verifying ---- */

typedef struct {
  char *report;
  size_t len, used;
  unsigned long problems;
} findings;

static void problem(findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(findings *f, const char *fmt, ...)
{
  f->problems++;
  if (f->used + 1 >= f->len)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(f->report + f->used, f->len - f->used, fmt, ap);
  va_end(ap);
  if (n > 0)
    f->used += (size_t)n < f->len - f->used ? (size_t)n : f->len - f->used - 1;
}

int kehu_audit_archive_verify(const char *data_dir, uint64_t *last, unsigned char last_hash[32],
                              uint64_t *entries, char *report, size_t len,
                              unsigned long *problems)
{
  findings f = {report, len, 0, 0};
  if (len)
    report[0] = '\0';
  *last = 0;
  *entries = 0;
  memset(last_hash, 0, 32);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", data_dir, KEHU_AUDIT_ARCHIVE_DIR);
  name_list files = {0};
  if (list_archive(dir, &files) != 0) {
    free_list(&files);
    return KEHU_INTERNAL;
  }
  uint64_t expect = 1;
  unsigned char prev[32] = {0};
  size_t cap = 1 << 16;
  char *line = malloc(cap);
  unsigned char *bytes = malloc(cap);
  int rc = line && bytes ? KEHU_OK : KEHU_EXHAUSTED;
  for (size_t i = 0; i < files.n && rc == KEHU_OK; i++) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, files.names[i]);
    FILE *in = fopen(path, "r");
    if (!in) {
      problem(&f, "%s cannot be read: %s\n", files.names[i], strerror(errno));
      continue;
    }
    uint64_t a = 0, b = 0;
    sscanf(files.names[i], "audit-%12" SCNu64 "-%12" SCNu64, &a, &b);
    if (a != expect)
      problem(&f, "%s starts at entry %" PRIu64 ", not %" PRIu64 ": entries are missing\n",
              files.names[i], a, expect);
    while (fgets(line, (int)cap, in)) {
      uint64_t seq;
      char *sp = strchr(line, ' ');
      size_t olen = 0;
      if (!sp || sscanf(line, "%" SCNu64, &seq) != 1) {
        problem(&f, "%s: a line that is not an entry\n", files.names[i]);
        continue;
      }
      char *end = sp + 1 + strcspn(sp + 1, "\r\n");
      if (mbedtls_base64_decode(bytes, cap, &olen, (unsigned char *)sp + 1,
                                (size_t)(end - sp - 1)) != 0) {
        problem(&f, "%s: entry %" PRIu64 " is not base64: altered\n", files.names[i], seq);
        continue;
      }
      Kehu__AuditEntry *e = kehu__audit_entry__unpack(NULL, olen, bytes);
      if (seq != expect)
        problem(&f, "%s: entry %" PRIu64 " is missing (next present is %" PRIu64 ")\n",
                files.names[i], expect, seq);
      if (!e)
        problem(&f, "%s: entry %" PRIu64 " does not decode: altered\n", files.names[i], seq);
      else if (e->seq != seq)
        problem(&f, "%s: entry %" PRIu64 " says it is %" PRIu64 ": altered\n", files.names[i],
                seq, e->seq);
      else if (e->prev_hash.len != 32 || memcmp(e->prev_hash.data, prev, 32) != 0)
        problem(&f,
                "%s: entry %" PRIu64 " does not follow from the entry before it: the chain "
                "is broken\n",
                files.names[i], seq);
      if (e)
        kehu__audit_entry__free_unpacked(e, NULL);
      mbedtls_sha256_ret(bytes, olen, prev, 0);
      expect = seq + 1;
      (*entries)++;
    }
    fclose(in);
    if (expect - 1 != b)
      problem(&f, "%s ends at entry %" PRIu64 ", not %" PRIu64 " as its name says\n",
              files.names[i], expect - 1, b);
  }
  free(line);
  free(bytes);
  free_list(&files);
  *last = expect - 1;
  memcpy(last_hash, prev, 32);
  *problems = f.problems;
  return rc;
}

int kehu_audit_archive_each(const char *data_dir,
                            int (*each)(const Kehu__AuditEntry *e, void *arg), void *arg)
{
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", data_dir, KEHU_AUDIT_ARCHIVE_DIR);
  name_list files = {0};
  if (list_archive(dir, &files) != 0) {
    free_list(&files);
    return KEHU_INTERNAL;
  }
  int rc = KEHU_OK;
  size_t cap = 1 << 16;
  unsigned char *bytes = malloc(cap);
  if (!bytes)
    rc = KEHU_EXHAUSTED;
  for (size_t i = files.n; i-- > 0 && rc == KEHU_OK;) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, files.names[i]);
    FILE *in = fopen(path, "r");
    if (!in) {
      rc = KEHU_INTERNAL;
      break;
    }
    /* a file holds one run of the archiver (ARCHIVE_BATCH entries at most):
     * its lines are kept to be given newest first */
    kehu_buf text = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0 && rc == KEHU_OK)
      if (kehu_buf_append(&text, chunk, n) != 0)
        rc = KEHU_EXHAUSTED;
    fclose(in);
    if (rc == KEHU_OK && kehu_buf_append(&text, "", 1) != 0)
      rc = KEHU_EXHAUSTED;
    char *start = (char *)kehu_buf_head(&text);
    size_t len = rc == KEHU_OK ? kehu_buf_size(&text) - 1 : 0;
    /* from the end: each line "<seq> <base64>" */
    for (size_t end = len; end > 0 && rc == KEHU_OK;) {
      size_t line_end = end;
      while (line_end > 0 && (start[line_end - 1] == '\n' || start[line_end - 1] == '\r'))
        line_end--;
      size_t b = line_end;
      while (b > 0 && start[b - 1] != '\n')
        b--;
      end = b;
      if (line_end == b)
        continue;
      char *sp = memchr(start + b, ' ', line_end - b);
      size_t olen = 0;
      if (!sp || mbedtls_base64_decode(bytes, cap, &olen, (unsigned char *)sp + 1,
                                       (size_t)(start + line_end - sp - 1)) != 0) {
        rc = KEHU_INTERNAL;
        break;
      }
      Kehu__AuditEntry *e = kehu__audit_entry__unpack(NULL, olen, bytes);
      if (!e) {
        rc = KEHU_INTERNAL;
        break;
      }
      each(e, arg);
      kehu__audit_entry__free_unpacked(e, NULL);
    }
    kehu_buf_free(&text);
  }
  free(bytes);
  free_list(&files);
  return rc;
}
