#include "args.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "output.h"
#include "timefmt.h"

void kehu_strlist_free(kehu_strlist *list)
{
  free(list->items);
  list->items = NULL;
  list->n = 0;
}

/* Lists never hold more than argc strings: one allocation of that size. */
static int strlist_push(kehu_strlist *list, const char *s, int argc)
{
  if (!list->items) {
    list->items = calloc((size_t)argc + 1, sizeof *list->items);
    if (!list->items)
      return -1;
  }
  list->items[list->n++] = s;
  return 0;
}

void kehu_print_usage(const char *usage)
{
  fputs(_(usage), stdout);
}

int kehu_usage_error(const kehu_cli *cli, const char *usage, kehu_error *err, const char *fmt, ...)
{
  kehu_error e;
  kehu_error_clear(&e);
  e.status = KEHU_USAGE;
  char human[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e.message, sizeof e.message, fmt, ap);
  va_end(ap);
  va_start(ap, fmt);
  vsnprintf(human, sizeof human, _(fmt), ap);
  va_end(ap);
  kehu_error_set_human(&e, "%s", human);
  kehu_output_error(cli, &e);
  if (!cli->json && usage)
    fprintf(stderr, "\n%s", _(usage));
  if (err) {
    kehu_error_clear(err);
    err->status = KEHU_USAGE;
  }
  return KEHU_USAGE;
}

/* Global options, accepted after the command too. */
static const kehu_flag *global_flag(kehu_cli *cli, const char *name, kehu_flag *scratch)
{
  static const char *const value_names[] = {"server", "ca", "user"};
  const char **value_dests[] = {&cli->flag_server, &cli->flag_ca, &cli->flag_user};
  for (size_t i = 0; i < 3; i++) {
    if (strcmp(name, value_names[i]) == 0) {
      *scratch = (kehu_flag){value_names[i], KEHU_FLAG_VALUE, value_dests[i]};
      return scratch;
    }
  }
  if (strcmp(name, "json") == 0) {
    *scratch = (kehu_flag){"json", KEHU_FLAG_BOOL, &cli->json};
    return scratch;
  }
  if (strcmp(name, "password-stdin") == 0) {
    *scratch = (kehu_flag){"password-stdin", KEHU_FLAG_BOOL, &cli->password_stdin};
    return scratch;
  }
  return NULL;
}

static const kehu_flag *find_flag(kehu_cli *cli, const kehu_command *cmd, const char *name,
                                  size_t name_len, kehu_flag *scratch)
{
  for (size_t i = 0; i < cmd->nflags; i++) {
    if (strlen(cmd->flags[i].name) == name_len &&
        memcmp(cmd->flags[i].name, name, name_len) == 0)
      return &cmd->flags[i];
  }
  char buf[64];
  if (name_len >= sizeof buf)
    return NULL;
  memcpy(buf, name, name_len);
  buf[name_len] = '\0';
  return global_flag(cli, buf, scratch);
}

int kehu_args_parse(kehu_cli *cli, const kehu_command *cmd, int argc, char **argv,
                    kehu_strlist *args, kehu_error *err)
{
  int only_args = 0;
  /* --help wins over any other problem on the line. */
  for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      kehu_print_usage(cmd->usage);
      return KEHU_HELP_SHOWN;
    }
  }
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (only_args || a[0] != '-' || a[1] == '\0') {
      if (strlist_push(args, a, argc) != 0)
        return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_args = 1;
      continue;
    }
    /* A one-letter flag (-o) may be written with one dash. */
    if (a[1] != '-' && a[2] != '\0')
      return kehu_usage_error(cli, cmd->usage, err, "unknown option %s for `kehu %s`", a,
                              cmd->name);
    const char *name = a[1] == '-' ? a + 2 : a + 1;
    const char *eq = strchr(name, '=');
    size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
    kehu_flag scratch;
    const kehu_flag *f = find_flag(cli, cmd, name, name_len, &scratch);
    if (!f)
      return kehu_usage_error(cli, cmd->usage, err, "unknown flag %.*s for `kehu %s`",
                              (int)(name - a + name_len), a, cmd->name);
    if (f->kind == KEHU_FLAG_BOOL) {
      if (eq)
        return kehu_usage_error(cli, cmd->usage, err, "flag %s%s takes no value",
                                f->name[1] ? "--" : "-", f->name);
      *(int *)f->dest = 1;
      continue;
    }
    const char *value;
    if (eq) {
      value = eq + 1;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return kehu_usage_error(cli, cmd->usage, err, "flag %s%s needs a value",
                              f->name[1] ? "--" : "-", f->name);
    }
    if (f->kind == KEHU_FLAG_VALUE) {
      *(const char **)f->dest = value;
    } else if (strlist_push(f->dest, value, argc) != 0) {
      return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    }
  }
  if (args->n < cmd->min_args)
    return kehu_usage_error(cli, cmd->usage, err, "missing %s for `kehu %s`",
                            cmd->args_name ? cmd->args_name : "argument", cmd->name);
  if (args->n > cmd->max_args)
    return kehu_usage_error(cli, cmd->usage, err, "unexpected argument `%s` for `kehu %s`",
                            args->items[cmd->max_args], cmd->name);
  return KEHU_OK;
}

int kehu_parse_u32(const char *s, const char *field, uint32_t min, uint32_t max, uint32_t *out,
                   kehu_error *err)
{
  uint64_t v = 0;
  const char *p = s;
  for (; *p >= '0' && *p <= '9' && v <= max; p++)
    v = v * 10 + (uint64_t)(*p - '0');
  if (p == s || *p || v < min || v > max)
    return kehu_fail_tr(err, KEHU_INVALID, field,
                        "%s must be a whole number from %u to %u, not `%s`", field, min, max, s);
  *out = (uint32_t)v;
  return KEHU_OK;
}

int kehu_parse_time_flag(const char *s, const char *field, int64_t *out, kehu_error *err)
{
  if (kehu_time_parse(s, out) != 0)
    return kehu_fail_tr(err, KEHU_INVALID, field, "--%s: `%s` is not a time (YYYY-MM-DD, "
                        "'YYYY-MM-DD HH:MM' or ISO 8601)", field, s);
  return KEHU_OK;
}

int kehu_subcommand_run(kehu_cli *cli, const char *group, const char *usage,
                        const kehu_subcommand *subs, size_t n, int argc, char **argv,
                        kehu_error *err)
{
  if (argc < 1)
    return kehu_usage_error(cli, usage, err, "`kehu %s` needs a command", group);
  if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
      strcmp(argv[0], "help") == 0) {
    kehu_print_usage(usage);
    return KEHU_OK;
  }
  for (size_t i = 0; i < n; i++)
    if (strcmp(argv[0], subs[i].name) == 0)
      return subs[i].run(cli, argc - 1, argv + 1, err);
  return kehu_usage_error(cli, usage, err, "unknown command `%s %s`", group, argv[0]);
}

int kehu_flag_required(const kehu_cli *cli, const kehu_command *cmd, const char *flag,
                       const void *value, kehu_error *err)
{
  if (value)
    return KEHU_OK;
  return kehu_usage_error(cli, cmd->usage, err, "missing --%s for `kehu %s`", flag, cmd->name);
}
