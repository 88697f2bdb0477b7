/* Durability of files written whole then renamed (backups, the audit
 * archive, a compacted store): a path (file or directory) synced. */
#ifndef KEHU_FSYNC_PATH_H
#define KEHU_FSYNC_PATH_H

/* fsync of path, opened read-only: a directory's entries (a rename into
 * it) or a file's data. 0, or -1 with errno set. */
int kehu_fsync_path(const char *path);

#endif
