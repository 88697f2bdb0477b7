#include "access.h"

#include <stdio.h>
#include <string.h>

#include "reflect.h"

kehu_role kehu_role_of(const char *name)
{
  static const struct { const char *name; kehu_role role; } roles[] = {
    {"admin", KEHU_ROLE_ADMIN}, {"manager", KEHU_ROLE_MANAGER}, {"sales", KEHU_ROLE_SALES},
    {"service", KEHU_ROLE_SERVICE}, {"finance", KEHU_ROLE_FINANCE},
  };
  for (size_t i = 0; name && i < sizeof roles / sizeof *roles; i++)
    if (strcmp(name, roles[i].name) == 0)
      return roles[i].role;
  return KEHU_ROLE_NONE;
}

static int owns(const kehu_caller *who, const Kehu__Customer *c)
{
  return c->owner && strcmp(c->owner, who->username) == 0;
}

/* A manager's team: customers whose owner is in the manager's team. */
static int in_team(kehu_txn *t, const kehu_caller *who, const char *owner)
{
  if (!owner || !who->team[0])
    return 0;
  if (strcmp(owner, who->username) == 0)
    return 1;
  Kehu__UserRecord *u;
  if (kehu_store_user_get(t, owner, &u) != KEHU_OK)
    return 0;
  int same = u->team && strcmp(u->team, who->team) == 0;
  kehu__user_record__free_unpacked(u, NULL);
  return same;
}

/* A binned customer (deleted) shows, in `customer list --deleted`, to
 * admins, its owner and the owner's team's managers: the people who could
 * restore it. Service and finance read live customers only. */
static int can(kehu_txn *t, const kehu_caller *who, const Kehu__Customer *c, int write)
{
  int binned = c->has_deleted && c->deleted;
  switch (kehu_role_of(who->role)) {
  case KEHU_ROLE_ADMIN: return 1;
  case KEHU_ROLE_MANAGER: return owns(who, c) || in_team(t, who, c->owner);
  case KEHU_ROLE_SALES: return owns(who, c);
  case KEHU_ROLE_SERVICE:
  case KEHU_ROLE_FINANCE: return !write && !binned;
  default: return 0;
  }
}

int kehu_access_customer_visible(kehu_txn *t, const kehu_caller *who, const Kehu__Customer *c)
{
  return can(t, who, c, 0);
}

int kehu_access_customer(kehu_txn *t, const kehu_caller *who, const Kehu__Customer *c,
                         int write, kehu_error *err)
{
  if (can(t, who, c, write))
    return KEHU_OK;
  return kehu_fail(err, KEHU_PERMISSION_DENIED, NULL, "permission denied: %s %s may not %s customer %s",
                   who->role, who->username, write ? "change" : "read", c->id ? c->id : "");
}

int kehu_access_customer_create(kehu_txn *t, const kehu_caller *who, const char *owner,
                                kehu_error *err)
{
  switch (kehu_role_of(who->role)) {
  case KEHU_ROLE_ADMIN:
    return KEHU_OK;
  case KEHU_ROLE_MANAGER:
    if (in_team(t, who, owner))
      return KEHU_OK;
    return kehu_fail(err, KEHU_PERMISSION_DENIED, "owner",
                     "permission denied: a manager assigns customers within the team only");
  case KEHU_ROLE_SALES:
    if (strcmp(owner, who->username) == 0)
      return KEHU_OK;
    return kehu_fail(err, KEHU_PERMISSION_DENIED, "owner",
                     "permission denied: sales create customers they own themselves");
  default:
    return kehu_fail(err, KEHU_PERMISSION_DENIED, NULL,
                     "permission denied: the %s role cannot create customers", who->role);
  }
}

static int child_allowed(kehu_txn *t, const kehu_caller *who, const Kehu__Customer *c,
                         kehu_kind kind, int write)
{
  int money = kind == KEHU_KIND_CONTRACT || kind == KEHU_KIND_ORDER;
  switch (kehu_role_of(who->role)) {
  case KEHU_ROLE_ADMIN:
    return 1;
  case KEHU_ROLE_MANAGER:
    return (owns(who, c) || in_team(t, who, c->owner)) && !(write && money);
  case KEHU_ROLE_SALES:
    return owns(who, c) && !(write && kind == KEHU_KIND_TICKET);
  case KEHU_ROLE_SERVICE:
    if (money)
      return 0;
    return !write || kind == KEHU_KIND_FOLLOWUP || kind == KEHU_KIND_TICKET;
  case KEHU_ROLE_FINANCE:
    return !write;
  default:
    return 0;
  }
}

int kehu_access_child(kehu_txn *t, const kehu_caller *who, const Kehu__Customer *c,
                      const kehu_kind_info *kind, int write, kehu_error *err)
{
  if (child_allowed(t, who, c, kind->kind, write))
    return KEHU_OK;
  return kehu_fail(err, KEHU_PERMISSION_DENIED, NULL,
                   "permission denied: %s %s may not %s %ss of customer %s", who->role,
                   who->username, write ? "change" : "read", kind->name, c->id ? c->id : "");
}

int kehu_access_caller_of(kehu_txn *t, const char *username, kehu_caller *out)
{
  Kehu__UserRecord *u;
  if (!username || kehu_store_user_get(t, username, &u) != KEHU_OK)
    return KEHU_NOT_FOUND;
  int enabled = !(u->has_disabled && u->disabled);
  memset(out, 0, sizeof *out);
  snprintf(out->username, sizeof out->username, "%s", u->username);
  snprintf(out->role, sizeof out->role, "%s", u->role);
  snprintf(out->team, sizeof out->team, "%s", u->team ? u->team : "");
  kehu__user_record__free_unpacked(u, NULL);
  return enabled ? KEHU_OK : KEHU_PERMISSION_DENIED;
}

int kehu_access_user_reads(kehu_txn *t, const char *username, const Kehu__Customer *c,
                           const kehu_kind_info *kind)
{
  kehu_caller who;
  if (kehu_access_caller_of(t, username, &who) != KEHU_OK || !can(t, &who, c, 0))
    return 0;
  return !kind || child_allowed(t, &who, c, kind->kind, 0);
}

typedef struct {
  const char *team;
  void (*each)(const char *user, void *arg);
  void *arg;
} team_managers;

static void match_manager(const Kehu__UserRecord *u, void *arg)
{
  team_managers *m = arg;
  if (!(u->has_disabled && u->disabled) && kehu_role_of(u->role) == KEHU_ROLE_MANAGER &&
      u->team && strcmp(u->team, m->team) == 0)
    m->each(u->username, m->arg);
}

int kehu_access_each_reader(kehu_txn *t, const Kehu__Customer *c,
                            void (*each)(const char *user, void *arg), void *arg)
{
  kehu_caller owner;
  if (kehu_access_caller_of(t, c->owner, &owner) != KEHU_OK)
    return KEHU_OK;    /* an unknown or disabled owner reads nothing */
  each(owner.username, arg);
  if (!owner.team[0])
    return KEHU_OK;    /* no team, no manager */
  team_managers m = {owner.team, each, arg};
  return kehu_store_user_each(t, match_manager, &m);
}

int kehu_access_ticket_assignee(kehu_txn *t, const Kehu__Customer *c, const char *username,
                                kehu_error *err)
{
  kehu_caller who;
  int rc = kehu_access_caller_of(t, username, &who);
  if (rc == KEHU_NOT_FOUND)
    return kehu_fail(err, KEHU_INVALID, "assignee", "assignee: there is no user '%s'", username);
  if (rc != KEHU_OK)
    return kehu_fail(err, KEHU_INVALID, "assignee", "assignee: user '%s' is disabled", username);
  if (!can(t, &who, c, 0) || !child_allowed(t, &who, c, KEHU_KIND_TICKET, 1))
    return kehu_fail(err, KEHU_INVALID, "assignee",
                     "assignee: %s (%s) may not work the tickets of customer %s", username,
                     who.role, c->id ? c->id : "");
  return KEHU_OK;
}

int kehu_access_reminder_visible(kehu_txn *t, const kehu_caller *who, const Kehu__Reminder *r)
{
  uint64_t cust;
  Kehu__Customer *c;
  if (!r->customer_id || !*r->customer_id)
    return 1;
  if (kehu_customer_id_parse(r->customer_id, &cust) != 0 ||
      kehu_store_customer_get(t, cust, &c) != KEHU_OK)
    return 0;
  int ok = !(c->has_deleted && c->deleted) && can(t, who, c, 0);
  kehu__customer__free_unpacked(c, NULL);
  return ok;
}

int kehu_access_sees_amounts(const kehu_caller *who)
{
  return kehu_role_of(who->role) != KEHU_ROLE_SERVICE;
}

int kehu_access_report(const kehu_caller *who, const char *kind, kehu_error *err)
{
  /* top ranks customers by revenue: the ranking is itself an amount */
  if (strcmp(kind, "top") == 0 && !kehu_access_sees_amounts(who))
    return kehu_fail(err, KEHU_PERMISSION_DENIED, NULL,
                     "permission denied: the %s role sees no amounts, and report top ranks "
                     "customers by revenue", who->role);
  return KEHU_OK;
}

int kehu_access_admin(const kehu_caller *who, const char *what, kehu_error *err)
{
  if (kehu_role_of(who->role) == KEHU_ROLE_ADMIN)
    return KEHU_OK;
  return kehu_fail(err, KEHU_PERMISSION_DENIED, NULL, "permission denied: only an admin may %s",
                   what);
}

int kehu_access_export(const kehu_caller *who, kehu_error *err)
{
  kehu_role r = kehu_role_of(who->role);
  if (r == KEHU_ROLE_ADMIN || r == KEHU_ROLE_MANAGER || r == KEHU_ROLE_SALES)
    return KEHU_OK;
  return kehu_fail(err, KEHU_PERMISSION_DENIED, NULL,
                   "permission denied: the %s role cannot export customers", who->role);
}

int kehu_access_export_records(const kehu_caller *who, const kehu_kind_info *kind,
                               kehu_error *err)
{
  int money = kind->kind == KEHU_KIND_CONTRACT || kind->kind == KEHU_KIND_ORDER;
  switch (kehu_role_of(who->role)) {
  case KEHU_ROLE_ADMIN:
  case KEHU_ROLE_MANAGER:
  case KEHU_ROLE_SALES:
  case KEHU_ROLE_FINANCE:
    return KEHU_OK;
  case KEHU_ROLE_SERVICE:
    if (!money)
      return KEHU_OK;
    break;
  default:
    break;
  }
  return kehu_fail(err, KEHU_PERMISSION_DENIED, NULL,
                   "permission denied: the %s role cannot export %ss", who->role, kind->name);
}

void kehu_access_redact(const kehu_caller *who, ProtobufCMessage *m)
{
  /* docs/architecture.md#roles-and-permissions: service sees no amounts. Contracts and orders it may not read
   * at all; a need's budget is cleared here. */
  static const char *const money[] = {"amount", "budget"};
  if (kehu_access_sees_amounts(who))
    return;
  for (size_t i = 0; i < sizeof money / sizeof *money; i++)
    if (kehu_msg_field(m, money[i]))
      kehu_msg_clear(m, money[i]);
}
