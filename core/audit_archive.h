/* Audit-log retention (docs/operations.md#audit-log): entries older than
 * [audit] retention_days move from the store to archive files in
 * DATADIR/audit-archive/, each entry's encoding kept byte for byte, so the
 * hash chain runs on from the archive into the store and verifies across
 * both. Nothing is ever dropped without being in a file first. */
#ifndef KEHU_AUDIT_ARCHIVE_H
#define KEHU_AUDIT_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "store.h"

#define KEHU_AUDIT_ARCHIVE_DIR "audit-archive"

/* Moves the entries older than now - retention_days (at most max of them)
 * into a new archive file, synced before they leave the store; the move
 * is itself audited (by kehud). Entries an earlier run archived but could
 * not remove are removed now. *archived says how many moved (0: none was
 * due), file (when not NULL) the new file's name. KEHU_OK or an error
 * (err says what). */
int kehu_audit_archive(kehu_store *st, const char *data_dir, int64_t now,
                       unsigned retention_days, size_t max, size_t *archived, char *file,
                       size_t file_len, kehu_error *err);

/* Every archived entry, newest first (the files from the last, each from its
 * last line): each(e, arg) as kehu_store_audit_list gives the store's.
 * KEHU_OK, or an error for a file that cannot be read or an entry that
 * does not decode (audit verify says which). */
int kehu_audit_archive_each(const char *data_dir,
                            int (*each)(const Kehu__AuditEntry *e, void *arg), void *arg);

/* Reads every archive file in order and checks that they hold entries 1..N
 * without a gap, each following from the one before; *last and last_hash
 * get N and the SHA-256 of entry N's encoding (0 and zeros: no archive).
 * Problems are counted and the first written to report. */
int kehu_audit_archive_verify(const char *data_dir, uint64_t *last, unsigned char last_hash[32],
                              uint64_t *entries, char *report, size_t len,
                              unsigned long *problems);

#endif
