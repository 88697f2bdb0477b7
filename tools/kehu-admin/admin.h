/* kehu-admin: maintenance on a data directory, offline or while kehud runs
 * (LMDB lets both write, one at a time). One file per command group. */
#ifndef KEHU_ADMIN_H
#define KEHU_ADMIN_H

#include "status.h"
#include "store.h"

int kehu_admin_init(int argc, char **argv);
int kehu_admin_user(int argc, char **argv);
int kehu_admin_seed(int argc, char **argv);
int kehu_admin_verify(int argc, char **argv);
int kehu_admin_audit(int argc, char **argv);
int kehu_admin_backup(int argc, char **argv);
int kehu_admin_restore(int argc, char **argv);
int kehu_admin_stats(int argc, char **argv);

/* Opens DATADIR/db; prints the error and returns non-zero on failure. */
int kehu_admin_open(const char *data_dir, kehu_store **st);
/* A password: the first line of stdin when it is not a terminal, else a
 * prompt without echo. At least 8 characters. 0 or an exit code. */
int kehu_admin_read_password(const char *prompt, char *out, size_t len);
/* An Argon2id hash (encoded form) of password into out. 0 or -1. */
int kehu_admin_hash_password(const char *password, char *out, size_t len);
/* Prints "kehu-admin: <message>" and returns code. */
int kehu_admin_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
