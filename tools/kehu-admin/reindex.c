/* kehu-admin reindex DATADIR: every derived index rebuilt from the records
 * (docs/operations.md#consistency-check), then checked as verify does. */
#include <stdio.h>

#include "admin.h"

static const char reindex_usage[] =
  "usage: kehu-admin reindex DATADIR\n"
  "  Rebuilds every derived index (owner, stage, name, external code, contract number,\n"
  "  contact phone, reminders, report counts, dormancy, follow-ups by time, sort, search)\n"
  "  from the records in one transaction, then checks\n"
  "  them as verify does. Safe while kehud runs: it sees the old indexes until the new\n"
  "  ones are committed, and its writes wait meanwhile.\n";

static int apply_reindex(kehu_txn *t, void *arg)
{
  return kehu_store_reindex(t, arg);
}

int kehu_admin_reindex(int argc, char **argv)
{
  const char *dir = NULL;
  static const char *const names[] = {"DATADIR", NULL};
  kehu_admin_spec spec = {"reindex", reindex_usage, names, &dir, NULL, 0};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  kehu_store *st;
  if ((rc = kehu_admin_open(dir, &st)) != 0)
    return rc;
  kehu_reindex_counts counts;
  rc = kehu_store_write(st, apply_reindex, &counts);
  if (rc != KEHU_OK) {
    kehu_store_close(st);
    return kehu_admin_fail(rc, "reindex failed, nothing changed: %s", kehu_status_name(rc));
  }
  printf("rebuilt %zu indexes from %zu customers, %zu records and %zu reminders\n",
         counts.indexes, counts.customers, counts.records, counts.reminders);
  rc = kehu_admin_check_indexes(st, dir);
  kehu_store_close(st);
  return rc;
}
