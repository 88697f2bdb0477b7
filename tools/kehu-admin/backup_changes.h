/* The changes file of an incremental backup (backup_changes.c). */
#ifndef KEHU_BACKUP_CHANGES_H
#define KEHU_BACKUP_CHANGES_H

#include <stdio.h>

#include "store.h"

/* Writes to f every key the change log noted after `from` up to `to`,
 * once each, with its value in t (or absent); *keys counts them. */
int kehu_backup_changes_write(kehu_txn *t, uint64_t from, uint64_t to, FILE *f, size_t *keys);

/* Applies the changes file at path to st, in write transactions; *from and
 * *to are the span the file says it holds. On failure why says what is
 * wrong with the file (a status is returned; st may hold part of it). */
int kehu_backup_changes_apply(kehu_store *st, const char *path, uint64_t *from, uint64_t *to,
                              size_t *applied, char *why, size_t why_len);

#endif
