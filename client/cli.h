/* The state one run of `kehu` carries from the global options to a command,
 * and the entry point of every command group. */
#ifndef KEHU_CLIENT_CLI_H
#define KEHU_CLIENT_CLI_H

#include "config.h"
#include "status.h"

#define KEHU_CLIENT_VERSION "0.1.0"
#define KEHU_CLIENT_SOFTWARE "kehu " KEHU_CLIENT_VERSION

typedef struct {
  /* Global options as given on the command line (NULL / 0 when absent). */
  const char *flag_server;
  const char *flag_ca;
  const char *flag_user;
  int json;
  int password_stdin;
  /* Filled by kehu_config_resolve once a command needs the server. */
  kehu_config cfg;
} kehu_cli;

/* A command group gets the words after its name. It returns the exit
 * status; on failure it leaves the message in err for main to print (an
 * empty message means the error was already printed, as usage errors are). */
typedef int (*kehu_command_fn)(kehu_cli *cli, int argc, char **argv, kehu_error *err);

int kehu_cmd_login(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_logout(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_whoami(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_customer(kehu_cli *cli, int argc, char **argv, kehu_error *err);
/* Records under a customer (cmd_records.c). */
int kehu_cmd_contact(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_followup(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_need(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_contract(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_order(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_ticket(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_export(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_import(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_report(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_attach(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_reminder(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_watch(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_audit(kehu_cli *cli, int argc, char **argv, kehu_error *err);
int kehu_cmd_field(kehu_cli *cli, int argc, char **argv, kehu_error *err);
/* `import template` (cmd_import_template.c): gets the words after "template". */
int kehu_cmd_import_template(kehu_cli *cli, int argc, char **argv, kehu_error *err);

#endif
