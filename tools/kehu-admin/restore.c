/* kehu-admin restore BACKUP... DATADIR (docs/operations.md#backups): a
 * full backup, then incrementals in order. Every backup's files are checked
 * against its manifest, and the chain against itself (one store, each
 * incremental starting where the one before ends), before anything is
 * written. The data directory is built beside the target: the full copy,
 * each incremental's changes applied, every derived index rebuilt from the
 * records, the whole checked as verify does; only then is it put in place. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "backup_changes.h"
#include "backup_files.h"
#include "datadir_lock.h"
#include "fsync_path.h"

#define MAX_CHAIN 400   /* a full and a year of daily incrementals, with room */

static const char restore_usage[] =
  "usage: kehu-admin restore BACKUP... DATADIR [--force]\n"
  "  Restores a full backup (a directory kehu-admin backup wrote), then the incremental\n"
  "  ones given after it, in order, into DATADIR. Every file is checked against its\n"
  "  backup's manifest.json, and the chain against itself (one store, no gap, no\n"
  "  backup out of order), before anything is written; the restored store's indexes\n"
  "  are rebuilt and checked. DATADIR must not exist or be empty; --force replaces a\n"
  "  data directory no kehud is running on, keeping the old one as\n"
  "  DATADIR.replaced-TIME.\n";

/* Each backup of the chain read and checked; the chain's order checked. */
static int check_chain(const char *const *dirs, size_t n, kehu_manifest *m)
{
  for (size_t i = 0; i < n; i++) {
    int rc = kehu_manifest_read(dirs[i], &m[i]);
    if (rc == KEHU_OK)
      rc = kehu_manifest_check_files(dirs[i], &m[i]);
    if (rc != KEHU_OK)
      return rc;
  }
  if (strcmp(m[0].kind, "full") != 0)
    return kehu_admin_fail(KEHU_INVALID,
                           "%s is an incremental backup: a restore starts from a full one "
                           "(%s names the backup it builds on)",
                           dirs[0], KEHU_MANIFEST);
  for (size_t i = 1; i < n; i++) {
    const kehu_manifest *prev = &m[i - 1], *b = &m[i];
    if (strcmp(b->kind, "incr") != 0)
      return kehu_admin_fail(KEHU_INVALID,
                             "%s is a full backup: only incremental ones may follow the first",
                             dirs[i]);
    if (strcmp(b->store_id, prev->store_id) != 0)
      return kehu_admin_fail(KEHU_INVALID, "%s is a backup of another store than %s", dirs[i],
                             dirs[i - 1]);
    if (b->from > prev->to)
      return kehu_admin_fail(KEHU_INVALID,
                             "%s starts after change %llu, but %s ends at change %llu: the "
                             "backup between them (%s) is missing",
                             dirs[i], (unsigned long long)b->from, dirs[i - 1],
                             (unsigned long long)prev->to, b->previous);
    if (b->from < prev->to || strcmp(b->previous, prev->name) != 0)
      return kehu_admin_fail(KEHU_INVALID,
                             "%s builds on %s, not on %s: give the backups in the order they "
                             "were taken",
                             dirs[i], b->previous, dirs[i - 1]);
  }
  return KEHU_OK;
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

/* The store from the full backup; the other files from the newest backup
 * of the chain (the key, configuration and certificates as they were last). */
static int copy_files(const char *full, const char *last, const kehu_manifest *last_m,
                      const char *tmp)
{
  char path[PATH_MAX], src[PATH_MAX];
  if (kehu_backup_join(path, tmp, "db") != 0 || mkdir(path, 0700) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot create the directories of %s", tmp);
  for (size_t i = 0; i < kehu_backup_nsubdirs; i++)
    if (kehu_backup_join(path, tmp, kehu_backup_subdirs[i]) != 0 || mkdir(path, 0700) != 0)
      return kehu_admin_fail(KEHU_INTERNAL, "cannot create the directories of %s", tmp);
  if (kehu_backup_join(src, full, "data.mdb") != 0 ||
      snprintf(path, sizeof path, "%s/db/data.mdb", tmp) >= (int)sizeof path ||
      kehu_backup_copy_file(src, path) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot copy %s into %s: %s", src, tmp,
                           strerror(errno));
  for (size_t i = 0; i < last_m->files.n; i++) {
    const char *rel = last_m->files.files[i].path;
    if (!strcmp(rel, "data.mdb") || !strcmp(rel, KEHU_CHANGES_FILE))
      continue;
    if (kehu_backup_join(src, last, rel) != 0 || kehu_backup_join(path, tmp, rel) != 0 ||
        kehu_backup_copy_file(src, path) != 0)
      return kehu_admin_fail(KEHU_INTERNAL, "cannot copy %s into %s: %s", src, tmp,
                             strerror(errno));
  }
  return KEHU_OK;
}

static int rebuild(kehu_txn *t, void *arg)
{
  const uint64_t *to = arg;
  kehu_reindex_counts counts;
  int rc = kehu_store_reindex(t, &counts);
  /* the next change this store makes follows the last one restored */
  return rc == KEHU_OK ? kehu_store_changes_mark(t, *to) : rc;
}

/* The incrementals applied to the store in tmp, its indexes rebuilt and
 * checked. */
static int build_store(const char *tmp, const char *const *dirs, size_t n, const kehu_manifest *m)
{
  kehu_store *st;
  int rc = kehu_admin_open(tmp, &st);
  if (rc != 0)
    return rc;
  for (size_t i = 1; i < n && rc == KEHU_OK; i++) {
    char path[PATH_MAX], why[PATH_MAX + 128] = "";
    uint64_t from, to;
    size_t applied;
    if (kehu_backup_join(path, dirs[i], KEHU_CHANGES_FILE) != 0)
      rc = kehu_admin_fail(KEHU_INVALID, "%s: too long a path", dirs[i]);
    else if ((rc = kehu_backup_changes_apply(st, path, &from, &to, &applied, why,
                                             sizeof why)) != KEHU_OK)
      rc = kehu_admin_fail(rc == KEHU_EXHAUSTED ? rc : KEHU_INVALID, "backup %s: %s", dirs[i],
                           why);
    else if (from != m[i].from || to != m[i].to)
      rc = kehu_admin_fail(KEHU_INVALID, "backup %s: its changes file does not hold the span "
                                         "its manifest names",
                           dirs[i]);
  }
  uint64_t to = m[n - 1].to;
  if (rc == KEHU_OK && n > 1 && (rc = kehu_store_write(st, rebuild, &to)) != KEHU_OK)
    rc = kehu_admin_fail(rc, "cannot rebuild the restored store's indexes: %s",
                         kehu_status_name(rc));
  if (rc == KEHU_OK) {
    /* what was restored is a whole store: its indexes match its records */
    kehu_txn t;
    size_t len = 64 * 1024;
    char *report = malloc(len);
    unsigned long problems = 0;
    if (!report || kehu_store_read_begin(st, &t) != KEHU_OK) {
      rc = kehu_admin_fail(KEHU_INTERNAL, "cannot read the restored store");
    } else {
      int vrc = kehu_store_verify(&t, report, len, &problems);
      kehu_store_read_end(&t);
      if (vrc != KEHU_OK || problems) {
        fputs(report, stderr);
        rc = kehu_admin_fail(KEHU_INVALID, "the restored store does not verify (%lu problems)",
                             problems);
      }
    }
    free(report);
  }
  kehu_store_close(st);
  return rc;
}

static int sync_dirs(const char *tmp)
{
  char path[PATH_MAX];
  if (kehu_backup_join(path, tmp, "db") != 0 || kehu_fsync_path(path) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot sync %s", path);
  for (size_t i = 0; i < kehu_backup_nsubdirs; i++)
    if (kehu_backup_join(path, tmp, kehu_backup_subdirs[i]) != 0 || kehu_fsync_path(path) != 0)
      return kehu_admin_fail(KEHU_INTERNAL, "cannot sync %s", path);
  if (kehu_fsync_path(tmp) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot sync %s", tmp);
  return KEHU_OK;
}

/* The old directory (if any) kept aside, then the new one in its place. */
static int swap_in(const char *tmp, const char *data_dir, int empty)
{
  char kept[PATH_MAX] = "", parent[PATH_MAX];
  if (empty) {
    rmdir(data_dir);   /* an empty directory: nothing to keep */
  } else {
    char stamp[32];
    kehu_utc_stamp(time(NULL), stamp, sizeof stamp, "%Y%m%dT%H%M%SZ");
    if (snprintf(kept, sizeof kept, "%s.replaced-%s", data_dir, stamp) >= (int)sizeof kept ||
        rename(data_dir, kept) != 0)
      return kehu_admin_fail(KEHU_INTERNAL, "cannot move %s aside: %s", data_dir,
                             strerror(errno));
  }
  parent_of(data_dir, parent);
  if (rename(tmp, data_dir) != 0 || kehu_fsync_path(parent) != 0) {
    int e = errno;
    if (kept[0])
      rename(kept, data_dir);
    return kehu_admin_fail(KEHU_INTERNAL, "cannot put the restored data directory in place: %s",
                           strerror(e));
  }
  if (kept[0])
    printf("the data directory it replaced is kept as %s\n", kept);
  return KEHU_OK;
}

int kehu_admin_restore(int argc, char **argv)
{
  const char *pos[MAX_CHAIN + 1];
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
      return kehu_admin_fail(KEHU_USAGE, "restore: more than %d backups", MAX_CHAIN);
    else
      pos[npos++] = argv[i];
  }
  if (npos < 2)
    return kehu_admin_fail(KEHU_USAGE, "restore: BACKUP and DATADIR are needed\n%s",
                           restore_usage);
  size_t n = npos - 1;
  char data_dir[PATH_MAX];
  snprintf(data_dir, sizeof data_dir, "%s", pos[n]);
  for (size_t len = strlen(data_dir); len > 1 && data_dir[len - 1] == '/'; len--)
    data_dir[len - 1] = '\0';
  /* the backups first: nothing is touched for a damaged or broken chain */
  kehu_manifest *m = calloc(n, sizeof *m);
  if (!m)
    return kehu_admin_fail(KEHU_INTERNAL, "out of memory");
  int rc = check_chain(pos, n, m);
  long holder;
  if (rc == KEHU_OK && kehu_datadir_locked(data_dir, &holder)) {
    rc = holder > 0 ? kehu_admin_fail(KEHU_CONFLICT,
                                      "kehud (pid %ld) is running on %s: stop it before "
                                      "restoring into it",
                                      holder, data_dir)
                    : kehu_admin_fail(KEHU_CONFLICT,
                                      "kehud is running on %s: stop it before restoring into it",
                                      data_dir);
  }
  int empty = rc == KEHU_OK ? dir_is_empty(data_dir) : 1;
  if (empty < 0)
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot read %s: %s", data_dir, strerror(errno));
  else if (!empty && !force)
    rc = kehu_admin_fail(KEHU_CONFLICT,
                         "%s is not empty: --force replaces it (no kehud may be running on "
                         "it; the old one is kept as %s.replaced-TIME)",
                         data_dir, data_dir);
  char tmp[PATH_MAX];
  if (rc == KEHU_OK &&
      snprintf(tmp, sizeof tmp, "%s.restoring-%ld", data_dir, (long)getpid()) >= (int)sizeof tmp)
    rc = kehu_admin_fail(KEHU_INVALID, "%s: too long a path", data_dir);
  if (rc != KEHU_OK) {
    free(m);
    return rc;
  }
  /* build the new data directory beside the target */
  kehu_backup_remove_tree(tmp);
  if (mkdir(tmp, 0700) != 0)
    rc = kehu_admin_fail(KEHU_INTERNAL, "cannot create %s: %s", tmp, strerror(errno));
  if (rc == KEHU_OK)
    rc = copy_files(pos[0], pos[n - 1], &m[n - 1], tmp);
  if (rc == KEHU_OK)
    rc = build_store(tmp, pos, n, m);
  if (rc == KEHU_OK)
    rc = sync_dirs(tmp);
  if (rc == KEHU_OK)
    rc = swap_in(tmp, data_dir, empty);
  if (rc != KEHU_OK) {
    kehu_backup_remove_tree(tmp);
    free(m);
    return rc;
  }
  if (n == 1)
    printf("restored %s into %s\n", pos[0], data_dir);
  else
    printf("restored %s and %zu incremental backups (to change %llu) into %s\n", pos[0], n - 1,
           (unsigned long long)m[n - 1].to, data_dir);
  free(m);
  return 0;
}
