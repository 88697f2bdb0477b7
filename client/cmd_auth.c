/* kehu login | logout | whoami */
#include <stdio.h>

#include "args.h"
#include "auth.h"
#include "cli.h"
#include "frame.h"
#include "i18n.h"
#include "output.h"

static const char login_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] login [--password-stdin]\n"
  "\n"
  "Logs in and keeps the session token in $XDG_CONFIG_HOME/kehu/session, so later\n"
  "commands need no password. The password comes from KEHU_PASSWORD, else from the\n"
  "first line of stdin with --password-stdin, else from a prompt on the terminal.\n");

static const char logout_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] logout\n"
  "\n"
  "Ends the session on the server and removes the stored token.\n");

static const char whoami_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] whoami\n"
  "\n"
  "Shows the user the session belongs to: username, role, display name, team.\n");

/* The four user fields, for both LoginResult and WhoAmIResult. */
static int print_user(const kehu_cli *cli, const char *username, const char *role,
                      const char *display_name, const char *team, kehu_error *err)
{
  if (cli->json) {
    cJSON *o = cJSON_CreateObject();
    if (o && (kehu_json_add_string(o, "username", username) ||
              kehu_json_add_string(o, "role", role) ||
              kehu_json_add_string(o, "display_name", display_name) ||
              kehu_json_add_string(o, "team", team))) {
      cJSON_Delete(o);
      o = NULL;
    }
    return kehu_output_json(o, err);
  }
  kehu_kv rows[] = {
    {_("username"), username}, {_("role"), role}, {_("display name"), display_name},
    {_("team"), team},
  };
  kehu_print_kv(stdout, rows, sizeof rows / sizeof *rows, 0);
  return KEHU_OK;
}

/* Parses a command that takes no arguments and resolves the configuration. */
static int prepare(kehu_cli *cli, const kehu_command *cmd, int argc, char **argv, kehu_error *err)
{
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, cmd, argc, argv, &args, err);
  kehu_strlist_free(&args);
  if (rc != KEHU_OK)
    return rc;
  return kehu_config_resolve(&cli->cfg, cli->flag_server, cli->flag_ca, cli->flag_user, err);
}

int kehu_cmd_login(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const kehu_flag flags[] = {{"password-stdin", KEHU_FLAG_BOOL, &cli->password_stdin}};
  const kehu_command cmd = {"login", login_usage, flags, 1, 0, 0, NULL};
  int rc = prepare(cli, &cmd, argc, argv, err);
  if (rc != KEHU_OK)
    return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
  Kehu__Envelope *env = NULL;
  rc = kehu_login(cli, &env, err);
  if (rc != KEHU_OK)
    return rc;
  const Kehu__Response *r = env->response;
  if (r->result_case != KEHU__RESPONSE__RESULT_LOGIN) {
    rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "the server's login response carries no user");
  } else if (cli->json) {
    rc = print_user(cli, r->login->username, r->login->role, r->login->display_name,
                    r->login->team, err);
  } else {
    printf(_("logged in to %s as %s (%s)"), cli->cfg.server, r->login->username, r->login->role);
    putchar('\n');
  }
  kehu_envelope_free(env);
  return rc;
}

int kehu_cmd_logout(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const kehu_command cmd = {"logout", logout_usage, NULL, 0, 0, 0, NULL};
  int rc = prepare(cli, &cmd, argc, argv, err);
  if (rc != KEHU_OK)
    return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
  int had_session = 0;
  rc = kehu_logout(cli, &had_session, err);
  if (rc != KEHU_OK)
    return rc;
  if (cli->json) {
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddTrueToObject(o, "logged_out")) {
      cJSON_Delete(o);
      o = NULL;
    }
    return kehu_output_json(o, err);
  }
  if (had_session)
    printf(_("logged out of %s"), cli->cfg.server);
  else
    printf(_("not logged in to %s as %s"), cli->cfg.server, cli->cfg.user);
  putchar('\n');
  return KEHU_OK;
}

int kehu_cmd_whoami(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const kehu_command cmd = {"whoami", whoami_usage, NULL, 0, 0, 0, NULL};
  int rc = prepare(cli, &cmd, argc, argv, err);
  if (rc != KEHU_OK)
    return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
  Kehu__WhoAmIRequest who = KEHU__WHO_AM_IREQUEST__INIT;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_WHOAMI;
  req.whoami = &who;
  Kehu__Envelope *env = NULL;
  rc = kehu_call(cli, &req, &env, err);
  if (rc != KEHU_OK)
    return rc;
  const Kehu__Response *r = env->response;
  if (r->status != KEHU__STATUS__OK)
    rc = kehu_response_error(r, err);
  else if (r->result_case != KEHU__RESPONSE__RESULT_WHOAMI)
    rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "the server's whoami response carries no user");
  else
    rc = print_user(cli, r->whoami->username, r->whoami->role, r->whoami->display_name,
                    r->whoami->team, err);
  kehu_envelope_free(env);
  return rc;
}
