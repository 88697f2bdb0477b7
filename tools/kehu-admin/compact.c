/* kehu-admin compact DATADIR (docs/storage.md#erasure): the store rewritten
 * entry by entry into a new environment — no page of the old one is copied,
 * so neither its freed pages nor the unused space of its live pages (where
 * LMDB leaves deleted values) come along — verified, then put in place of
 * the old one, which is deleted. kehud must be stopped. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include "admin.h"
#include "datadir_lock.h"
#include "fsync_path.h"

static const char compact_usage[] =
  "usage: kehu-admin compact DATADIR\n"
  "  Rewrites the store entry by entry into a new file, checks it as verify does, and\n"
  "  replaces the old file, which is deleted: freed pages and the values LMDB leaves in\n"
  "  the unused space of pages (a purged customer's, for one) are gone from data.mdb.\n"
  "  kehud must be stopped (exit 6 while it runs).\n";

static long long file_size(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void remove_env_dir(const char *dir)
{
  char p[PATH_MAX + 16];
  snprintf(p, sizeof p, "%s/data.mdb", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", dir);
  unlink(p);
  rmdir(dir);
}

int kehu_admin_compact(int argc, char **argv)
{
  const char *dir = NULL;
  static const char *const names[] = {"DATADIR", NULL};
  kehu_admin_spec spec = {"compact", compact_usage, names, &dir, NULL, 0};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  long holder;
  if (kehu_datadir_locked(dir, &holder))
    return kehu_admin_fail(KEHU_CONFLICT,
                           "kehud is running on %s: stop it first (online compaction is not "
                           "built yet)",
                           dir);
  kehu_store *old;
  if ((rc = kehu_admin_open(dir, &old)) != 0)
    return rc;
  char db[PATH_MAX], fresh[PATH_MAX], aside[PATH_MAX], path[PATH_MAX + 16];
  if (strlen(dir) > PATH_MAX - 64)
    return kehu_admin_fail(KEHU_INVALID, "%s: too long a path", dir);
  snprintf(db, sizeof db, "%s/db", dir);
  snprintf(fresh, sizeof fresh, "%s/db.compact-%ld", dir, (long)getpid());
  snprintf(aside, sizeof aside, "%s/db.old-%ld", dir, (long)getpid());
  snprintf(path, sizeof path, "%s/data.mdb", db);
  long long before = file_size(path);
  remove_env_dir(fresh);
  kehu_error err = {0};
  kehu_store *to;
  size_t map = kehu_store_map_size(old);
  if (before > 0 && (size_t)before * 2 > map)
    map = (size_t)before * 2;
  if (kehu_store_open(&to, fresh, map, &err) != KEHU_OK) {
    kehu_store_close(old);
    return kehu_admin_fail(err.status, "%s", err.message);
  }
  size_t entries = 0;
  rc = kehu_store_copy_logical(old, to, &entries);
  kehu_store_close(to);
  kehu_store_close(old);
  if (rc != KEHU_OK) {
    remove_env_dir(fresh);
    return kehu_admin_fail(rc, "the rewrite failed, nothing changed: %s", kehu_status_name(rc));
  }
  /* the new store must hold together before it replaces anything */
  kehu_store *check;
  char key[PATH_MAX + 16];
  snprintf(key, sizeof key, "%s/data.key", dir);
  if (kehu_store_open(&check, fresh, map, &err) != KEHU_OK ||
      kehu_store_load_key(check, key, &err) != KEHU_OK) {
    remove_env_dir(fresh);
    return kehu_admin_fail(err.status, "%s", err.message);
  }
  printf("rewrote %zu entries\n", entries);
  rc = kehu_admin_check_indexes(check, fresh);
  kehu_store_close(check);
  if (rc != 0) {
    remove_env_dir(fresh);
    return kehu_admin_fail(rc, "the rewritten store does not verify; nothing changed");
  }
  snprintf(path, sizeof path, "%s/data.mdb", fresh);
  if (kehu_fsync_path(fresh) != 0 || rename(db, aside) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot move %s aside: %s", db, strerror(errno));
  if (rename(fresh, db) != 0) {
    int e = errno;
    rename(aside, db);
    return kehu_admin_fail(KEHU_INTERNAL, "cannot put the new store in place: %s", strerror(e));
  }
  kehu_fsync_path(dir);
  remove_env_dir(aside);
  snprintf(path, sizeof path, "%s/data.mdb", db);
  printf("compacted %s: %lld -> %lld bytes\n", db, before, file_size(path));
  return 0;
}
