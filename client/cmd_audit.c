/* kehu audit: the audit log, newest first (docs/operations.md#audit-log). Admins only: the
 * server refuses anyone else (exit 4). */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "i18n.h"
#include "show.h"

static const char audit_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] audit [FLAGS]\n"
  "\n"
  "The audit log, newest first (admins only).\n"
  "  --entity ID    only entries about this record (C20241120001, CT12, a user)\n"
  "  --user U       only entries by this user\n"
  "  --since TIME   only entries at or after TIME (YYYY-MM-DD, 'YYYY-MM-DD HH:MM'\n"
  "                 local time, or ISO 8601)\n"
  "  --limit N      at most N entries (1-500, default 50)\n"
  "  --cursor C     continue where a previous page stopped (its `more:` line)\n");

static const char *const columns[] = {
  "seq", "at", "user", "action", "entity", "entity_id:ID", "details", NULL,
};

/* The cursor is the sequence number the next page starts below. */
static int parse_cursor(const char *s, uint64_t *out, kehu_error *err)
{
  uint64_t v = 0;
  const char *p = s;
  for (; *p >= '0' && *p <= '9' && v <= UINT64_MAX / 10; p++)
    v = v * 10 + (uint64_t)(*p - '0');
  if (p == s || *p || v == 0)
    return kehu_fail_tr(err, KEHU_INVALID, "cursor", "cursor `%s` is not one `kehu audit` printed",
                        s);
  *out = v;
  return KEHU_OK;
}

int kehu_cmd_audit(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  Kehu__AuditQuery q = KEHU__AUDIT_QUERY__INIT;
  const char *since = NULL, *limit = NULL, *cursor = NULL;
  const kehu_flag flags[] = {
    {"entity", KEHU_FLAG_VALUE, &q.entity_id}, {"user", KEHU_FLAG_VALUE, &q.user},
    {"since", KEHU_FLAG_VALUE, &since},        {"limit", KEHU_FLAG_VALUE, &limit},
    {"cursor", KEHU_FLAG_VALUE, &cursor},
  };
  const kehu_command cmd = {"audit", audit_usage, flags, sizeof flags / sizeof *flags, 0, 0, NULL};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  kehu_strlist_free(&args);
  if (rc == KEHU_OK && since && (rc = kehu_parse_time_flag(since, "since", &q.since, err)) == KEHU_OK)
    q.has_since = 1;
  if (rc == KEHU_OK && limit && (rc = kehu_parse_u32(limit, "limit", 1, 500, &q.limit, err)) == KEHU_OK)
    q.has_limit = 1;
  if (rc == KEHU_OK && cursor && (rc = parse_cursor(cursor, &q.before, err)) == KEHU_OK)
    q.has_before = 1;
  if (rc == KEHU_OK) {
    Kehu__Request req = KEHU__REQUEST__INIT;
    req.op_case = KEHU__REQUEST__OP_AUDIT;
    req.audit = &q;
    rc = kehu_request_show(cli, &req, columns, err);
  }
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}
