/* Command-line flags of a subcommand, described by a table. `--flag value`
 * and `--flag=value` both work (a one-letter flag also as `-o value`),
 * flags and arguments may be mixed, `--` ends the flags. The global options (--server, --ca, --user, --json,
 * --password-stdin) are accepted after the command as well. */
#ifndef KEHU_CLIENT_ARGS_H
#define KEHU_CLIENT_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* Strings pointing into argv; the array itself is malloc'd. */
typedef struct {
  const char **items;
  size_t n;
} kehu_strlist;

void kehu_strlist_free(kehu_strlist *list);

typedef enum {
  KEHU_FLAG_VALUE,   /* dest: const char **; repeated: the last one wins */
  KEHU_FLAG_LIST,    /* dest: kehu_strlist *; repeatable */
  KEHU_FLAG_BOOL,    /* dest: int * */
} kehu_flag_kind;

typedef struct {
  const char *name;   /* without the leading "--" */
  kehu_flag_kind kind;
  void *dest;
} kehu_flag;

typedef struct {
  const char *name;    /* "customer add", for messages */
  const char *usage;   /* the --help text, untranslated (N_) */
  const kehu_flag *flags;
  size_t nflags;
  size_t min_args, max_args;   /* positional arguments */
  const char *args_name;       /* "ID": what a missing argument is called */
} kehu_command;

/* Returned when --help was printed: the command exits 0. */
#define KEHU_HELP_SHOWN (-1)

/* Parses argv[0..argc) (the words after the command's name) into the
 * flags' destinations and args (positional arguments). KEHU_OK,
 * KEHU_HELP_SHOWN, or KEHU_USAGE after printing the problem and the usage
 * to stderr (err->message stays empty). The caller frees args and every
 * list flag, whatever the result. */
int kehu_args_parse(kehu_cli *cli, const kehu_command *cmd, int argc, char **argv,
                    kehu_strlist *args, kehu_error *err);

/* Prints "kehu: <message>" (or the JSON error) and the usage of cmd to
 * stderr; returns KEHU_USAGE with err->message emptied. fmt is an English
 * msgid: translated for people, as it is in JSON (i18n.h). */
int kehu_usage_error(const kehu_cli *cli, const char *usage, kehu_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* KEHU_OK when the flag was given (value not NULL), else a usage error. */
int kehu_flag_required(const kehu_cli *cli, const kehu_command *cmd, const char *flag,
                       const void *value, kehu_error *err);

/* A flag's value that fails validation is KEHU_INVALID naming the field
 * (README.md), never a usage error. */
/* A whole number in [min, max]. */
int kehu_parse_u32(const char *s, const char *field, uint32_t min, uint32_t max, uint32_t *out,
                   kehu_error *err);
/* TIME of README.md: YYYY-MM-DD, 'YYYY-MM-DD HH:MM' (local) or ISO 8601. */
int kehu_parse_time_flag(const char *s, const char *field, int64_t *out, kehu_error *err);

/* A command group's subcommands: runs the one named by argv[0] with the
 * words after it; `--help` prints usage; none or an unknown one is a usage
 * error. */
typedef struct {
  const char *name;
  kehu_command_fn run;
} kehu_subcommand;
int kehu_subcommand_run(kehu_cli *cli, const char *group, const char *usage,
                        const kehu_subcommand *subs, size_t n, int argc, char **argv,
                        kehu_error *err);

/* Prints usage (an N_() text) to stdout in the user's language. */
void kehu_print_usage(const char *usage);

#endif
