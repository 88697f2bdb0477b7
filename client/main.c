/* kehu: the command-line client. Global options, then a command group. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "i18n.h"
#include "output.h"
#include "tui.h"

/* Translated where it is printed (args.c), as every --help text. */
static const char usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] COMMAND [ARGS]\n"
  "\n"
  "Commands:\n"
  "  login [--password-stdin]   log in and keep the session token\n"
  "  logout                     end the session\n"
  "  whoami                     show who the session belongs to\n"
  "  customer add|get|list|search|update|stage|delete|restore|purge|dupes|merge\n"
  "  contact | followup | need | contract | order | ticket  add|list|update|delete\n"
  "  attach add|list|get|delete\n"
  "  reminder list|add|ack|snooze\n"
  "  watch                      print each pushed event as it arrives\n"
  "  tui                        the interactive desk (customers, reminders, reports)\n"
  "  audit                      the audit log (admin)\n"
  "  field define|list          custom fields (define: admin)\n"
  "  export customers           everything you may read, as CSV or JSON\n"
  "  import customers FILE      add customers from a .csv or .xlsx file\n"
  "  report KIND                summary, stage, industry, region, source, owner, ...\n"
  "  import template [-o FILE]  the customer import template (.xlsx)\n"
  "\n"
  "Global options (each also from the environment and from the INI file\n"
  "$XDG_CONFIG_HOME/kehu/config, keys server, ca, user):\n"
  "  --server HOST:PORT   KEHU_SERVER   the server ([::1]:7443 for IPv6)\n"
  "  --ca FILE            KEHU_CA       the server's CA certificate\n"
  "  --user NAME          KEHU_USER\n"
  "                       KEHU_PASSWORD used to log in when needed\n"
  "  --password-stdin     read the password from the first line of stdin\n"
  "  --json               machine-readable output\n"
  "  --help, --version\n"
  "\n"
  "Run `kehu COMMAND --help` for the arguments of a command.\n");

static const struct {
  const char *name;
  kehu_command_fn run;
} commands[] = {
  {"login", kehu_cmd_login},
  {"logout", kehu_cmd_logout},
  {"whoami", kehu_cmd_whoami},
  {"customer", kehu_cmd_customer},
  {"contact", kehu_cmd_contact},
  {"followup", kehu_cmd_followup},
  {"need", kehu_cmd_need},
  {"contract", kehu_cmd_contract},
  {"order", kehu_cmd_order},
  {"ticket", kehu_cmd_ticket},
  {"export", kehu_cmd_export},
  {"import", kehu_cmd_import},
  {"report", kehu_cmd_report},
  {"attach", kehu_cmd_attach},
  {"reminder", kehu_cmd_reminder},
  {"watch", kehu_cmd_watch},
  {"tui", kehu_cmd_tui},
  {"audit", kehu_cmd_audit},
  {"field", kehu_cmd_field},
};

#define GLOBALS_DONE (-2)   /* --help or --version was printed */

/* Global options before the command; returns the index of the command
 * word, argc when there is none, -1 after a usage error, or GLOBALS_DONE. */
static int parse_globals(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  int i = 1;
  while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0)
      return i + 1;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      kehu_print_usage(usage);
      return GLOBALS_DONE;
    } else if (strcmp(a, "--version") == 0) {
      puts(KEHU_CLIENT_SOFTWARE);
      return GLOBALS_DONE;
    } else if (strcmp(a, "--json") == 0) {
      cli->json = 1;
    } else if (strcmp(a, "--password-stdin") == 0) {
      cli->password_stdin = 1;
    } else {
      static const char *const names[] = {"--server", "--ca", "--user"};
      const char **dests[] = {&cli->flag_server, &cli->flag_ca, &cli->flag_user};
      size_t k = 0;
      size_t len = 0;
      for (; k < 3; k++) {
        len = strlen(names[k]);
        if (strncmp(a, names[k], len) == 0 && (a[len] == '\0' || a[len] == '='))
          break;
      }
      if (k == 3) {
        kehu_usage_error(cli, usage, err, "unknown option %s", a);
        return -1;
      }
      if (a[len] == '=') {
        *dests[k] = a + len + 1;
      } else if (i + 1 < argc) {
        *dests[k] = argv[++i];
      } else {
        kehu_usage_error(cli, usage, err, "option %s needs a value", names[k]);
        return -1;
      }
    }
    i++;
  }
  return i;
}

int main(int argc, char **argv)
{
  kehu_i18n_init();
  /* A server that hangs up must show as an error, not kill us silently. */
  signal(SIGPIPE, SIG_IGN);
  kehu_cli cli = {0};
  kehu_error err;
  kehu_error_clear(&err);

  int at = parse_globals(&cli, argc, argv, &err);
  if (at == GLOBALS_DONE)
    return 0;
  if (at < 0)
    return KEHU_USAGE;
  if (at >= argc) {
    kehu_usage_error(&cli, usage, &err, "no command given");
    return KEHU_USAGE;
  }
  const char *name = argv[at];
  if (strcmp(name, "help") == 0) {
    kehu_print_usage(usage);
    return 0;
  }
  kehu_command_fn run = NULL;
  for (size_t i = 0; i < sizeof commands / sizeof *commands && !run; i++) {
    if (strcmp(name, commands[i].name) == 0)
      run = commands[i].run;
  }
  int rc = run ? run(&cli, argc - at - 1, argv + at + 1, &err)
               : kehu_usage_error(&cli, usage, &err, "unknown command `%s`", name);
  if (rc != KEHU_OK && err.message[0]) {
    err.status = rc;
    kehu_output_error(&cli, &err);
  }
  kehu_config_free(&cli.cfg);
  if (fflush(stdout) != 0 && rc == KEHU_OK)
    rc = KEHU_INTERNAL;
  return rc;
}
