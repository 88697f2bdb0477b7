/* kehu-admin verify DATADIR: exit 0 only when every index matches the data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

static const char verify_usage[] =
  "usage: kehu-admin verify DATADIR\n"
  "Checks that every index entry matches its record and every record is indexed,\n"
  "in one consistent snapshot (safe while kehud runs). Prints ok: ... and exits 0\n"
  "when all indexes match the data, else lists the problems and exits 1.\n"
  "  DATADIR   a data directory made by kehu-admin init\n";

int kehu_admin_verify(int argc, char **argv)
{
  const char *dir = NULL;
  static const char *const names[] = {"DATADIR", NULL};
  kehu_admin_spec spec = {"verify", verify_usage, names, &dir, NULL, 0};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  kehu_store *st;
  rc = kehu_admin_open(dir, &st);
  if (rc != 0)
    return rc;
  rc = kehu_admin_check_indexes(st, dir);
  kehu_store_close(st);
  return rc;
}

int kehu_admin_check_indexes(kehu_store *st, const char *dir)
{
  kehu_txn t;
  int rc;
  if ((rc = kehu_store_read_begin(st, &t)) != KEHU_OK)
    return kehu_admin_fail(rc, "cannot read %s", dir);
  size_t len = 64 * 1024;
  char *report = malloc(len);
  unsigned long problems = 0;
  rc = report ? kehu_store_verify(&t, report, len, &problems) : KEHU_INTERNAL;
  kehu_store_read_end(&t);
  if (rc != KEHU_OK) {
    free(report);
    return kehu_admin_fail(rc, "verify could not finish: %s", kehu_status_name(rc));
  }
  fputs(report, stdout);
  free(report);
  if (problems) {
    printf("%lu problems found\n", problems);
    return 1;
  }
  printf("ok: every index entry matches its record\n");
  return 0;
}
