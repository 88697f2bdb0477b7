/* The command line of every kehu-admin command, read one way: --help (or -h)
 * anywhere prints that command's usage on stdout and exits 0 before anything
 * is opened or created; a wrong flag, a flag without its value, a missing or
 * extra argument prints the problem and the usage on stderr and exits 2
 * (the command-line contract: --help on every program and subcommand). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"

static int is_help(const char *arg)
{
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int kehu_admin_help(const char *usage)
{
  fputs(usage, stdout);
  return 0;
}

int kehu_admin_usage_error(const char *usage, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("kehu-admin: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fputs(usage, stderr);
  return KEHU_USAGE;
}

static const kehu_admin_flag *find_flag(const kehu_admin_spec *spec, const char *arg)
{
  for (size_t i = 0; i < spec->nflags; i++)
    if (strcmp(spec->flags[i].name, arg) == 0)
      return &spec->flags[i];
  return NULL;
}

int kehu_admin_parse(const kehu_admin_spec *spec, int argc, char **argv)
{
  /* --help wins over any other problem on the line, as in kehu. */
  for (int i = 1; i < argc; i++)
    if (is_help(argv[i])) {
      kehu_admin_help(spec->usage);
      return KEHU_ADMIN_HELP_SHOWN;
    }
  size_t npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || a[1] == '\0') {
      if (!spec->args[npos])
        return kehu_admin_usage_error(spec->usage, "%s: unexpected argument '%s'", spec->command,
                                      a);
      spec->values[npos++] = a;
      continue;
    }
    const kehu_admin_flag *f = find_flag(spec, a);
    if (!f)
      return kehu_admin_usage_error(spec->usage, "%s: unknown flag '%s'", spec->command, a);
    if (f->is_set)
      *f->is_set = 1;
    if (!f->value)
      continue;
    if (i + 1 >= argc)
      return kehu_admin_usage_error(spec->usage, "%s: %s needs a value", spec->command, a);
    if (!f->count) {
      *f->value = argv[++i];
    } else if (*f->count < f->max) {
      f->value[(*f->count)++] = argv[++i];
    } else {
      return kehu_admin_usage_error(spec->usage, "%s: at most %zu %s", spec->command, f->max, a);
    }
  }
  if (spec->args[npos])
    return kehu_admin_usage_error(spec->usage, "%s: %s is required", spec->command,
                                  spec->args[npos]);
  return KEHU_OK;
}

int kehu_admin_dispatch(const char *group, const char *usage, const kehu_admin_subcommand *subs,
                        size_t n, int argc, char **argv)
{
  if (argc < 2)
    return kehu_admin_usage_error(usage, "%s: a command is required", group);
  if (is_help(argv[1]))
    return kehu_admin_help(usage);
  for (size_t i = 0; i < n; i++)
    if (strcmp(argv[1], subs[i].name) == 0)
      return subs[i].run(argc - 1, argv + 1);
  return kehu_admin_usage_error(usage, "unknown command '%s %s'", group, argv[1]);
}
