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

int kehu_admin_user(int argc, char **argv)
{
  if (argc < 3 || strcmp(argv[1], "--help") == 0) {
    fputs("usage: kehu-admin user add DATADIR USER --role ROLE [--team T] [--name N]\n"
          "       kehu-admin user list DATADIR [--json]\n"
          "       kehu-admin user disable|enable|passwd DATADIR USER\n"
          "       kehu-admin user role DATADIR USER ROLE [--team T]\n",
          argc < 3 ? stderr : stdout);
    return argc < 3 ? KEHU_USAGE : 0;
  }
  const char *sub = argv[1], *dir = argv[2];
  if (strcmp(sub, "list") == 0) {
    int json = argc > 3 && strcmp(argv[3], "--json") == 0;
    if (argc > 3 + json)
      return kehu_admin_fail(KEHU_USAGE, "user list: unknown argument '%s'", argv[3 + json]);
    return list_users(dir, json);
  }
  if (argc < 4)
    return kehu_admin_fail(KEHU_USAGE, "user %s: USER is required", sub);
  user_change ch = {.username = argv[3], .disabled = -1};
  kehu_error err = {0};
  if (kehu_check_username("username", ch.username, &err) != KEHU_OK)
    return kehu_admin_fail(KEHU_INVALID, "%s", err.message);
  int i = 4;
  if (strcmp(sub, "role") == 0) {
    if (argc < 5)
      return kehu_admin_fail(KEHU_USAGE, "user role: ROLE is required");
    ch.role = argv[i++];
  } else if (strcmp(sub, "add") == 0) {
    ch.creating = 1;
  } else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
    ch.disabled = sub[0] == 'd';
  } else if (strcmp(sub, "passwd") != 0) {
    return kehu_admin_fail(KEHU_USAGE, "user: unknown subcommand '%s'", sub);
  }
  for (; i < argc; i++) {
    int has_value = i + 1 < argc;
    if (strcmp(argv[i], "--role") == 0 && has_value && ch.creating)
      ch.role = argv[++i];
    else if (strcmp(argv[i], "--team") == 0 && has_value)
      ch.team = argv[++i];
    else if (strcmp(argv[i], "--name") == 0 && has_value)
      ch.display = argv[++i];
    else
      return kehu_admin_fail(KEHU_USAGE, "user %s: unknown or incomplete argument '%s'", sub,
                             argv[i]);
  }
  if (ch.creating && !ch.role)
    return kehu_admin_fail(KEHU_USAGE, "user add: --role is required");
  if (ch.role && kehu_role_of(ch.role) == KEHU_ROLE_NONE)
    return kehu_admin_fail(KEHU_INVALID, "role: '%s' is not one of admin, manager, sales, "
                           "service, finance", ch.role);
  char hash[256];
  if (ch.creating || strcmp(sub, "passwd") == 0) {
    char password[256];
    int rc = kehu_admin_read_password("password: ", password, sizeof password);
    if (rc != 0)
      return rc;
    if (kehu_admin_hash_password(password, hash, sizeof hash) != 0)
      return kehu_admin_fail(KEHU_INTERNAL, "cannot hash the password");
    memset(password, 0, sizeof password);
    ch.hash = hash;
  }
  int rc = change_user(dir, &ch);
  if (rc == 0)
    printf("user %s: %s done\n", ch.username, sub);
  return rc;
}
