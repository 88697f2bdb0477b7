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
int kehu_admin_reindex(int argc, char **argv);
int kehu_admin_cert(int argc, char **argv);
int kehu_admin_compact(int argc, char **argv);
int kehu_admin_rotate_key(int argc, char **argv);
/* verify's check of every index against its record, printed; 0 when
 * intact, 1 with problems, else an exit code. */
int kehu_admin_check_indexes(kehu_store *st, const char *dir);

/* Opens DATADIR/db; prints the error and returns non-zero on failure. */
int kehu_admin_open(const char *data_dir, kehu_store **st);
/* A password: the first line of stdin when it is not a terminal, else a
 * prompt without echo. At least 8 characters. 0 or an exit code. */
int kehu_admin_read_password(const char *prompt, char *out, size_t len);
/* An Argon2id hash (encoded form) of password into out. 0 or -1. */
int kehu_admin_hash_password(const char *password, char *out, size_t len);
/* Prints "kehu-admin: <message>" and returns code. */
int kehu_admin_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The command line (usage.c). Each command has one usage text: what it does,
 * its arguments and flags. */
typedef struct {
  const char *name;          /* "--team" */
  const char **value;        /* where its value goes; NULL: a switch, no value */
  int *is_set;               /* set to 1 when the flag is given; may be NULL */
  size_t *count, max;        /* a repeatable flag: value is an array of max */
} kehu_admin_flag;

typedef struct {
  const char *command;       /* "user add", as messages name it */
  const char *usage;
  const char *const *args;   /* names of the required arguments, NULL-terminated */
  const char **values;       /* ... and where they go, in order */
  const kehu_admin_flag *flags;
  size_t nflags;
} kehu_admin_spec;

/* kehu_admin_parse's answer when it printed the usage for --help: the
 * command exits 0 without touching anything. */
#define KEHU_ADMIN_HELP_SHOWN (-1)

/* Reads argv[1..argc) of one command by spec. --help or -h anywhere prints
 * the usage on stdout (KEHU_ADMIN_HELP_SHOWN); an unknown flag, a flag
 * without its value, a missing or extra argument prints the problem and the
 * usage on stderr (KEHU_USAGE). KEHU_OK when the command may go on. */
int kehu_admin_parse(const kehu_admin_spec *spec, int argc, char **argv);

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);   /* argv[0] is the subcommand */
} kehu_admin_subcommand;

/* `kehu-admin GROUP SUB ...`: runs SUB, or prints the group's usage on stdout
 * for --help (0) or on stderr with the problem for a missing or unknown
 * subcommand (KEHU_USAGE). */
int kehu_admin_dispatch(const char *group, const char *usage, const kehu_admin_subcommand *subs,
                        size_t n, int argc, char **argv);

/* usage on stdout; returns 0. */
int kehu_admin_help(const char *usage);
/* "kehu-admin: <message>" and the usage on stderr; returns KEHU_USAGE. */
int kehu_admin_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
