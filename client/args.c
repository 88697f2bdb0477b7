#include "args.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

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
  fputs(usage, stdout);
}

int kehu_usage_error(const kehu_cli *cli, const char *usage, kehu_error *err, const char *fmt, ...)
{
  kehu_error e;
  kehu_error_clear(&e);
  e.status = KEHU_USAGE;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e.message, sizeof e.message, fmt, ap);
  va_end(ap);
  kehu_output_error(cli, &e);
  if (!cli->json && usage)
    fprintf(stderr, "\n%s", usage);
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
        return kehu_fail(err, KEHU_INTERNAL, NULL, "out of memory");
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_args = 1;
      continue;
    }
    if (a[1] != '-')
      return kehu_usage_error(cli, cmd->usage, err, "unknown option %s for `kehu %s`", a,
                              cmd->name);
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
    kehu_flag scratch;
    const kehu_flag *f = find_flag(cli, cmd, name, name_len, &scratch);
    if (!f)
      return kehu_usage_error(cli, cmd->usage, err, "unknown flag --%.*s for `kehu %s`",
                              (int)name_len, name, cmd->name);
    if (f->kind == KEHU_FLAG_BOOL) {
      if (eq)
        return kehu_usage_error(cli, cmd->usage, err, "flag --%s takes no value", f->name);
      *(int *)f->dest = 1;
      continue;
    }
    const char *value;
    if (eq) {
      value = eq + 1;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return kehu_usage_error(cli, cmd->usage, err, "flag --%s needs a value", f->name);
    }
    if (f->kind == KEHU_FLAG_VALUE) {
      *(const char **)f->dest = value;
    } else if (strlist_push(f->dest, value, argc) != 0) {
      return kehu_fail(err, KEHU_INTERNAL, NULL, "out of memory");
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
