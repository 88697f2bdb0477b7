/* kehu-admin user add | list | disable | enable | passwd | role */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "admin.h"
#include "audit_entry.h"
#include "text_width.h"
#include "validate.h"

typedef struct {
  const char *username;
  const char *role;        /* NULL: unchanged */
  const char *team;        /* NULL: unchanged */
  const char *display;     /* NULL: unchanged */
  const char *hash;        /* NULL: unchanged */
  int disabled;            /* -1: unchanged */
  int creating;
  int status;
} user_change;

static int apply_user_change(kehu_txn *t, void *arg)
{
  user_change *ch = arg;
  Kehu__UserRecord *old = NULL;
  int rc = kehu_store_user_get(t, ch->username, &old);
  if (ch->creating && rc == KEHU_OK) {
    kehu__user_record__free_unpacked(old, NULL);
    return ch->status = KEHU_CONFLICT;
  }
  if (!ch->creating && rc != KEHU_OK)
    return ch->status = rc;
  Kehu__UserRecord u = KEHU__USER_RECORD__INIT;
  if (old)
    u = *old;
  u.username = (char *)ch->username;
  if (ch->role)
    u.role = (char *)ch->role;
  if (ch->team)
    u.team = *ch->team ? (char *)ch->team : NULL;
  if (ch->display)
    u.display_name = (char *)ch->display;
  if (ch->hash) {
    u.password_hash = (char *)ch->hash;
    u.has_failed_logins = u.has_locked_until = 0;
  }
  if (ch->disabled >= 0) {
    u.has_disabled = 1;
    u.disabled = ch->disabled;
  }
  if (ch->disabled == 0)   /* enabled again: a login lock goes with it */
    u.has_failed_logins = u.has_locked_until = 0;
  if (ch->creating) {
    u.has_created_at = 1;
    u.created_at = (int64_t)time(NULL);
  }
  rc = kehu_store_user_put(t, &u);
  /* A new password, a role or team change, or disabling ends every session
   * the user has open: they log in again under the new rules. */
  unsigned ended = 0;
  int role_changed = old && ((ch->role && strcmp(ch->role, old->role) != 0) ||
                             (ch->team && strcmp(ch->team, old->team ? old->team : "") != 0));
  if (rc == KEHU_OK && !ch->creating && (ch->hash || ch->disabled == 1 || role_changed))
    rc = kehu_store_session_delete_user(t, ch->username, &ended);
  if (rc == KEHU_OK) {
    char details[200];
    snprintf(details, sizeof details, "%s by kehu-admin: role %s%s%s%s%s",
             ch->creating ? "added" : "changed", u.role, u.team ? ", team " : "",
             u.team ? u.team : "", u.has_disabled && u.disabled ? ", disabled" : "",
             ch->hash && !ch->creating ? ", new password" : "");
    if (ended)
      snprintf(details + strlen(details), sizeof details - strlen(details), ", %u session%s ended",
               ended, ended == 1 ? "" : "s");
    kehu_caller admin = {.username = "kehu-admin"};
    rc = kehu_audit(t, &admin, (int64_t)time(NULL), "user_change", "user", ch->username, details);
  }
  if (old)
    kehu__user_record__free_unpacked(old, NULL);
  return ch->status = rc;
}

static int change_user(const char *dir, user_change *ch)
{
  kehu_store *st;
  int rc = kehu_admin_open(dir, &st);
  if (rc != 0)
    return rc;
  rc = kehu_store_write(st, apply_user_change, ch);
  kehu_store_close(st);
  if (rc == KEHU_CONFLICT)
    return kehu_admin_fail(rc, "user %s already exists", ch->username);
  if (rc == KEHU_NOT_FOUND)
    return kehu_admin_fail(rc, "there is no user %s", ch->username);
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "cannot store user %s: %s", ch->username, kehu_status_name(rc));
  return 0;
}

static void print_user_json(const Kehu__UserRecord *u, void *arg)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "username", u->username);
  cJSON_AddStringToObject(o, "role", u->role);
  if (u->display_name)
    cJSON_AddStringToObject(o, "display_name", u->display_name);
  else
    cJSON_AddNullToObject(o, "display_name");
  if (u->team)
    cJSON_AddStringToObject(o, "team", u->team);
  else
    cJSON_AddNullToObject(o, "team");
  cJSON_AddBoolToObject(o, "disabled", u->has_disabled && u->disabled);
  cJSON_AddItemToArray(arg, o);
}

/* Columns padded by display width, so Chinese team and display names line
 * up (a CJK character takes two columns). */
static void print_user_row(const char *user, const char *role, const char *team,
                           const char *name, const char *state)
{
  kehu_text_pad(stdout, user, 20);
  fputc(' ', stdout);
  kehu_text_pad(stdout, role, 8);
  fputc(' ', stdout);
  kehu_text_pad(stdout, team, 16);
  fputc(' ', stdout);
  if (*state)
    kehu_text_pad(stdout, name, 20);
  else
    kehu_print_text(stdout, name);
  fputs(state, stdout);
  fputc('\n', stdout);
}

static void print_user_line(const Kehu__UserRecord *u, void *arg)
{
  (void)arg;
  print_user_row(u->username, u->role, u->team ? u->team : "-",
                 u->display_name ? u->display_name : "-",
                 u->has_disabled && u->disabled ? " disabled" : "");
}

static int list_users(const char *dir, int json)
{
  kehu_store *st;
  int rc = kehu_admin_open(dir, &st);
  if (rc != 0)
    return rc;
  kehu_txn t;
  if ((rc = kehu_store_read_begin(st, &t)) != KEHU_OK) {
    kehu_store_close(st);
    return kehu_admin_fail(rc, "cannot read %s", dir);
  }
  cJSON *items = cJSON_CreateArray();
  if (!json)
    print_user_row("USER", "ROLE", "TEAM", "NAME", "");
  rc = kehu_store_user_each(&t, json ? print_user_json : print_user_line, items);
  kehu_store_read_end(&t);
  kehu_store_close(st);
  if (json && rc == KEHU_OK) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", items);
    cJSON_AddNullToObject(o, "next_cursor");
    char *s = cJSON_PrintUnformatted(o);
    puts(s);
    cJSON_free(s);
    cJSON_Delete(o);
  } else {
    cJSON_Delete(items);
  }
  return rc == KEHU_OK ? 0 : kehu_admin_fail(rc, "cannot list users");
}

static const char add_usage[] =
  "usage: kehu-admin user add DATADIR USER --role admin|manager|sales|service|finance\n"
  "                           [--team T] [--name \"Display\"]\n"
  "Adds a user. The password (at least 8 characters) is read from the first line of\n"
  "stdin when it is not a terminal, else asked for without echo.\n"
  "  DATADIR      a data directory made by kehu-admin init\n"
  "  USER         1-64 letters, digits, '.', '_' or '-'\n"
  "  --role ROLE  admin, manager, sales, service or finance (required)\n"
  "  --team T     the user's team (decides a manager's reach)\n"
  "  --name N     the display name\n";

static const char list_usage[] =
  "usage: kehu-admin user list DATADIR [--json]\n"
  "Lists every user: name, role, team, display name, and whether disabled.\n"
  "  DATADIR   a data directory made by kehu-admin init\n"
  "  --json    one JSON object {\"items\": [...], \"next_cursor\": null}\n";

static const char disable_usage[] =
  "usage: kehu-admin user disable DATADIR USER\n"
  "Disables a user: no more logins, and every open session ends at once.\n"
  "  DATADIR   a data directory made by kehu-admin init\n"
  "  USER      the user to disable\n";

static const char enable_usage[] =
  "usage: kehu-admin user enable DATADIR USER\n"
  "Enables a disabled user again; also clears a login lock.\n"
  "  DATADIR   a data directory made by kehu-admin init\n"
  "  USER      the user to enable\n";

static const char passwd_usage[] =
  "usage: kehu-admin user passwd DATADIR USER\n"
  "Sets a new password and ends the user's open sessions; clears a login lock. The\n"
  "password (at least 8 characters) is read from the first line of stdin when it is\n"
  "not a terminal, else asked for without echo.\n"
  "  DATADIR   a data directory made by kehu-admin init\n"
  "  USER      the user whose password changes\n";

static const char role_usage[] =
  "usage: kehu-admin user role DATADIR USER ROLE [--team T]\n"
  "Gives a user a new role (and team); a change ends the user's open sessions.\n"
  "  DATADIR   a data directory made by kehu-admin init\n"
  "  USER      the user to change\n"
  "  ROLE      admin, manager, sales, service or finance\n"
  "  --team T  the new team; --team \"\" removes the team\n";

static const char user_usage[] =
  "usage: kehu-admin user add|list|disable|enable|passwd|role DATADIR ...\n"
  "The users of a data directory (works while kehud runs; every change is audited).\n"
  "  user add DATADIR USER --role admin|manager|sales|service|finance [--team T]\n"
  "           [--name \"Display\"]\n"
  "  user list DATADIR [--json]\n"
  "  user disable|enable|passwd DATADIR USER\n"
  "  user role DATADIR USER ROLE [--team T]\n"
  "Passwords are read from the first line of stdin when it is not a terminal.\n"
  "kehu-admin user COMMAND --help tells more about one command.\n";

static int user_list(int argc, char **argv)
{
  const char *dir = NULL;
  int json = 0;
  static const char *const names[] = {"DATADIR", NULL};
  const kehu_admin_flag flags[] = {{"--json", NULL, &json, NULL, 0}};
  kehu_admin_spec spec = {"user list", list_usage, names, &dir, flags,
                          sizeof flags / sizeof *flags};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  return list_users(dir, json);
}

/* After the command line of add, disable, enable, passwd or role: checks the
 * names, reads the password when the change sets one, stores the change. */
static int run_change(const char *usage, const char *sub, const char *dir, user_change *ch,
                      int new_password)
{
  kehu_error err = {0};
  if (kehu_check_username("username", ch->username, &err) != KEHU_OK)
    return kehu_admin_fail(KEHU_INVALID, "%s", err.message);
  if (ch->creating && !ch->role)
    return kehu_admin_usage_error(usage, "user add: --role is required");
  if (ch->role && kehu_role_of(ch->role) == KEHU_ROLE_NONE)
    return kehu_admin_fail(KEHU_INVALID, "role: '%s' is not one of admin, manager, sales, "
                           "service, finance", ch->role);
  char hash[256];
  if (new_password) {
    char password[256];
    int rc = kehu_admin_read_password("password: ", password, sizeof password);
    if (rc != 0)
      return rc;
    if (kehu_admin_hash_password(password, hash, sizeof hash) != 0)
      return kehu_admin_fail(KEHU_INTERNAL, "cannot hash the password");
    memset(password, 0, sizeof password);
    ch->hash = hash;
  }
  int rc = change_user(dir, ch);
  if (rc == 0)
    printf("user %s: %s done\n", ch->username, sub);
  return rc;
}

static int user_add(int argc, char **argv)
{
  const char *pos[2];
  user_change ch = {.disabled = -1, .creating = 1};
  static const char *const names[] = {"DATADIR", "USER", NULL};
  const kehu_admin_flag flags[] = {
    {"--role", &ch.role, NULL, NULL, 0},
    {"--team", &ch.team, NULL, NULL, 0},
    {"--name", &ch.display, NULL, NULL, 0},
  };
  kehu_admin_spec spec = {"user add", add_usage, names, pos, flags, sizeof flags / sizeof *flags};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  ch.username = pos[1];
  return run_change(add_usage, "add", pos[0], &ch, 1);
}

static int user_role(int argc, char **argv)
{
  const char *pos[3];
  user_change ch = {.disabled = -1};
  static const char *const names[] = {"DATADIR", "USER", "ROLE", NULL};
  const kehu_admin_flag flags[] = {{"--team", &ch.team, NULL, NULL, 0}};
  kehu_admin_spec spec = {"user role", role_usage, names, pos, flags, sizeof flags / sizeof *flags};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  ch.username = pos[1];
  ch.role = pos[2];
  return run_change(role_usage, "role", pos[0], &ch, 0);
}

/* disable, enable and passwd: DATADIR USER and no flags. */
static int user_state(int argc, char **argv)
{
  const char *sub = argv[0], *pos[2];
  int passwd = strcmp(sub, "passwd") == 0;
  user_change ch = {.disabled = passwd ? -1 : strcmp(sub, "disable") == 0};
  const char *usage = passwd ? passwd_usage : ch.disabled ? disable_usage : enable_usage;
  char command[32];
  snprintf(command, sizeof command, "user %s", sub);
  static const char *const names[] = {"DATADIR", "USER", NULL};
  kehu_admin_spec spec = {command, usage, names, pos, NULL, 0};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  ch.username = pos[1];
  return run_change(usage, sub, pos[0], &ch, passwd);
}

int kehu_admin_user(int argc, char **argv)
{
  static const kehu_admin_subcommand subs[] = {
    {"add", user_add},         {"list", user_list},     {"disable", user_state},
    {"enable", user_state},    {"passwd", user_state},  {"role", user_role},
  };
  return kehu_admin_dispatch("user", user_usage, subs, sizeof subs / sizeof *subs, argc, argv);
}
