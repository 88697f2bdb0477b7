/* kehu-admin verify DATADIR: exit 0 only when every index matches the data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

int kehu_admin_verify(int argc, char **argv)
{
  if (argc != 2 || argv[1][0] == '-') {
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
      puts("usage: kehu-admin verify DATADIR\n"
           "  Checks that every index entry has its record and every record is indexed.");
      return 0;
    }
    return kehu_admin_fail(KEHU_USAGE, "usage: kehu-admin verify DATADIR");
  }
  kehu_store *st;
  int rc = kehu_admin_open(argv[1], &st);
  if (rc != 0)
    return rc;
  kehu_txn t;
  if ((rc = kehu_store_read_begin(st, &t)) != KEHU_OK) {
    kehu_store_close(st);
    return kehu_admin_fail(rc, "cannot read %s", argv[1]);
  }
  size_t len = 64 * 1024;
  char *report = malloc(len);
  unsigned long problems = 0;
  rc = report ? kehu_store_verify(&t, report, len, &problems) : KEHU_INTERNAL;
  kehu_store_read_end(&t);
  kehu_store_close(st);
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
