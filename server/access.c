#include "access.h"

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

static int can(kehu_txn *t, const kehu_caller *who, const Kehu__Customer *c, int write)
{
  switch (kehu_role_of(who->role)) {
  case KEHU_ROLE_ADMIN: return 1;
  case KEHU_ROLE_MANAGER: return owns(who, c) || in_team(t, who, c->owner);
  case KEHU_ROLE_SALES: return owns(who, c);
  case KEHU_ROLE_SERVICE:
  case KEHU_ROLE_FINANCE: return !write;
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

void kehu_access_redact(const kehu_caller *who, ProtobufCMessage *m)
{
  /* SPEC §2: service sees no amounts. Contracts and orders it may not read
   * at all; a need's budget is cleared here. */
  static const char *const money[] = {"amount", "budget"};
  if (kehu_role_of(who->role) != KEHU_ROLE_SERVICE)
    return;
  for (size_t i = 0; i < sizeof money / sizeof *money; i++)
    if (kehu_msg_field(m, money[i]))
      kehu_msg_clear(m, money[i]);
}
