/* What kehu-admin backup and restore share (backup_files.c): the files of
 * a backup directory, their checksums, and its manifest.json
 * (docs/operations.md#backups). */
#ifndef KEHU_BACKUP_FILES_H
#define KEHU_BACKUP_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define KEHU_MANIFEST "manifest.json"
#define KEHU_BACKUP_MAX_FILES 1024
#define KEHU_CHANGES_FILE "changes"   /* an incremental's changes (backup_changes.c) */

typedef struct {
  char path[64];     /* relative to the backup directory */
  long long size;
  char sha256[65];
} kehu_backup_file;

typedef struct {
  kehu_backup_file files[KEHU_BACKUP_MAX_FILES];
  size_t n;
} kehu_file_list;

/* A backup directory's manifest.json. */
typedef struct {
  char name[64];          /* the directory's own name: YYYYMMDDTHHMMSSZ-full or -incr */
  char kind[8];           /* "full" or "incr" */
  char created_at[32];
  int store_format;
  char store_id[33];      /* "" in a backup older than the change log */
  uint64_t from, to;      /* the change log's span (from, to]; a full's from is 0 */
  char previous[64];      /* an incremental: the name of the backup it builds on */
  uint64_t audit_seq;
  char audit_sha256[65];
  kehu_file_list files;
} kehu_manifest;

/* out = a/b, or -1 when it does not fit in PATH_MAX. */
int kehu_backup_join(char *out, const char *a, const char *b);
/* Writes all n bytes to fd (retrying short writes); 0 or -1. */
int kehu_backup_write_all(int fd, const void *data, size_t n);
/* Copies src to a new file dst (mode 0600), synced; 0 or -1 with errno. */
int kehu_backup_copy_file(const char *src, const char *dst);
/* The SHA-256 (hex) and size of a file; 0 or -1. */
int kehu_backup_hash_file(const char *path, char hex[65], long long *size);
/* rm -r of a directory two levels deep at most (files, and directories of files). */
void kehu_backup_remove_tree(const char *dir);
/* Appends data.key, kehud.conf and the files of tls/, keys/ and the audit
 * archive of data_dir to l, as relative paths; 0 or -1. */
int kehu_backup_datadir_files(const char *data_dir, kehu_file_list *l);
/* The subdirectories those files live in, for creating them. */
extern const char *const kehu_backup_subdirs[];
extern const size_t kehu_backup_nsubdirs;

/* Writes m as dir/manifest.json, synced; 0 or -1. */
int kehu_manifest_write(const char *dir, const kehu_manifest *m);
/* Reads dir/manifest.json into m (its files unchecked). KEHU_OK, or an
 * exit code after saying what is wrong. */
int kehu_manifest_read(const char *dir, kehu_manifest *m);
/* Every file m lists, checked against its size and checksum in dir. */
int kehu_manifest_check_files(const char *dir, const kehu_manifest *m);

/* Backup names: the newest in dir (of either kind) into newest, "" when
 * there is none; names sort in time order. 0, or -1 when dir cannot be read. */
int kehu_backup_newest(const char *dir, char newest[64]);
/* Whether name is a backup directory's name (kind "full", "incr" or NULL for either). */
int kehu_backup_name_ok(const char *name, const char *kind);
void kehu_utc_stamp(time_t t, char *out, size_t len, const char *fmt);

#endif
