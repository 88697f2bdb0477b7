/* kehu-admin audit export DATADIR [--since T] [--user U] [--format csv|json]
 * kehu-admin audit verify DATADIR */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "admin.h"
#include "audit_archive.h"
#include "timefmt.h"

typedef struct {
  int json;
  const char *user;
  int64_t since;
  int has_since;
  cJSON *items;
} export_state;

/* CSV field, quoted when it needs to be (RFC 4180). */
static void csv_field(const char *s, int last)
{
  s = s ? s : "";
  if (strpbrk(s, ",\"\r\n")) {
    putchar('"');
    for (; *s; s++) {
      if (*s == '"')
        putchar('"');
      putchar(*s);
    }
    putchar('"');
  } else {
    fputs(s, stdout);
  }
  putchar(last ? '\n' : ',');
}

static int export_entry(const Kehu__AuditEntry *e, void *arg)
{
  export_state *x = arg;
  if ((x->user && (!e->user || strcmp(e->user, x->user) != 0)) || (x->has_since && e->at < x->since))
    return 0;
  char at[32], seq[24], hash[65] = "";
  kehu_time_format_iso(e->at, at);
  snprintf(seq, sizeof seq, "%llu", (unsigned long long)e->seq);
  kehu_hex(e->prev_hash.data, e->prev_hash.len < 32 ? e->prev_hash.len : 32, hash);
  if (x->json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)e->seq);
    cJSON_AddStringToObject(o, "at", at);
    const char *keys[] = {"user", "address", "action", "entity", "entity_id", "details"};
    const char *vals[] = {e->user, e->address, e->action, e->entity, e->entity_id, e->details};
    for (int i = 0; i < 6; i++)
      vals[i] ? cJSON_AddStringToObject(o, keys[i], vals[i]) : cJSON_AddNullToObject(o, keys[i]);
    cJSON_AddStringToObject(o, "prev_hash", hash);
    cJSON_AddItemToArray(x->items, o);
  } else {
    const char *row[] = {seq, at, e->user, e->address, e->action, e->entity, e->entity_id,
                         e->details, hash};
    for (int i = 0; i < 9; i++)
      csv_field(row[i], i == 8);
  }
  return 1;
}

/* The whole log, newest first (as `kehu audit` shows it): the store's
 * entries, then the archived ones (docs/operations.md#audit-log). */
static int export_log(kehu_store *st, const char *dir, export_state *x)
{
  kehu_txn t;
  int rc = kehu_store_read_begin(st, &t);
  if (rc != KEHU_OK)
    return rc;
  if (!x->json)
    puts("seq,at,user,address,action,entity,entity_id,details,prev_hash");
  uint64_t next = 0;
  rc = kehu_store_audit_list(&t, 0, UINT32_MAX, export_entry, x, &next);
  kehu_store_read_end(&t);
  if (rc == KEHU_OK)
    rc = kehu_audit_archive_each(dir, export_entry, x);
  return rc;
}

static const char export_usage[] =
  "usage: kehu-admin audit export DATADIR [--since TIME] [--user U] [--format csv|json]\n"
  "Writes the audit log to stdout, newest first, the entries archived in\n"
  "DATADIR/audit-archive/ included: CSV with the header\n"
  "seq,at,user,address,action,entity,entity_id,details,prev_hash, or a JSON array.\n"
  "  DATADIR          a data directory made by kehu-admin init\n"
  "  --since TIME     only entries at or after TIME (YYYY-MM-DD, YYYY-MM-DD HH:MM or\n"
  "                   ISO 8601 with offset)\n"
  "  --user U         only entries of user U\n"
  "  --format F       csv (the default) or json\n";

static const char verify_usage[] =
  "usage: kehu-admin audit verify DATADIR\n"
  "Checks the audit log's hash chain against the head kept in the database. Prints\n"
  "ok: N audit entries, hash chain intact and exits 0 only when it is intact; else\n"
  "lists each problem and exits 1.\n"
  "  DATADIR   a data directory made by kehu-admin init\n";

static const char audit_usage[] =
  "usage: kehu-admin audit export|verify DATADIR ...\n"
  "The hash-chained audit log of a data directory (safe while kehud runs).\n"
  "  audit export DATADIR [--since TIME] [--user U] [--format csv|json]\n"
  "                       the log, newest first, as CSV or JSON\n"
  "  audit verify DATADIR exit 0 only when the hash chain is intact\n"
  "kehu-admin audit COMMAND --help tells more about one command.\n";

static int audit_export(int argc, char **argv)
{
  const char *dir = NULL, *since = NULL, *format = "csv";
  export_state x = {0};
  static const char *const names[] = {"DATADIR", NULL};
  const kehu_admin_flag flags[] = {
    {"--since", &since, NULL, NULL, 0},
    {"--user", &x.user, NULL, NULL, 0},
    {"--format", &format, NULL, NULL, 0},
  };
  kehu_admin_spec spec = {"audit export", export_usage, names, &dir, flags,
                          sizeof flags / sizeof *flags};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  if (since) {
    if (kehu_time_parse(since, &x.since) != 0)
      return kehu_admin_fail(KEHU_INVALID, "--since: '%s' is not a time", since);
    x.has_since = 1;
  }
  if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
    return kehu_admin_fail(KEHU_INVALID, "--format: '%s' is not csv or json", format);
  x.json = format[0] == 'j';
  kehu_store *st;
  if ((rc = kehu_admin_open(dir, &st)) != 0)
    return rc;
  x.items = cJSON_CreateArray();
  rc = export_log(st, dir, &x);
  if (x.json && rc == KEHU_OK) {
    char *s = cJSON_PrintUnformatted(x.items);
    puts(s);
    cJSON_free(s);
  }
  cJSON_Delete(x.items);
  kehu_store_close(st);
  return rc == KEHU_OK ? 0 : kehu_admin_fail(rc, "cannot export the audit log");
}

static int audit_verify(int argc, char **argv)
{
  const char *dir = NULL;
  static const char *const names[] = {"DATADIR", NULL};
  kehu_admin_spec spec = {"audit verify", verify_usage, names, &dir, NULL, 0};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  kehu_store *st;
  if ((rc = kehu_admin_open(dir, &st)) != 0)
    return rc;
  /* the archive first (entries 1..N), then the store's from its base,
   * which must be the archive's last entry */
  char archive_report[4096], report[8192];
  unsigned long archive_problems = 0, problems = 0;
  uint64_t archived = 0, archive_last = 0, entries = 0, base = 0;
  unsigned char archive_hash[32], base_hash[32];
  if (kehu_audit_archive_verify(dir, &archive_last, archive_hash, &archived, archive_report,
                                sizeof archive_report, &archive_problems) != KEHU_OK) {
    kehu_store_close(st);
    return kehu_admin_fail(KEHU_INTERNAL, "cannot read the audit archive of %s", dir);
  }
  kehu_txn t;
  if ((rc = kehu_store_read_begin(st, &t)) == KEHU_OK) {
    rc = kehu_store_audit_verify(&t, report, sizeof report, &problems, &entries);
    if (rc == KEHU_OK)
      rc = kehu_store_audit_base(&t, &base, base_hash);
    kehu_store_read_end(&t);
  }
  kehu_store_close(st);
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "cannot read the audit log");
  fputs(archive_report, stdout);
  if (base != archive_last) {
    printf("the store's log goes on from entry %llu but the archive (%s/) ends at entry %llu: "
           "archive files are missing\n",
           (unsigned long long)base, KEHU_AUDIT_ARCHIVE_DIR, (unsigned long long)archive_last);
    archive_problems++;
  } else if (base && memcmp(base_hash, archive_hash, 32) != 0) {
    printf("entry %llu of the archive is not the one the store's log goes on from: altered\n",
           (unsigned long long)base);
    archive_problems++;
  }
  if (problems || archive_problems) {
    fputs(report, stdout);
    printf("audit log damaged: %lu problems in %llu entries (%llu of them archived)\n",
           problems + archive_problems, (unsigned long long)(entries + archived),
           (unsigned long long)archived);
    return 1;
  }
  if (archived)
    printf("ok: %llu audit entries, hash chain intact (%llu of them in %s/)\n",
           (unsigned long long)(entries + archived), (unsigned long long)archived,
           KEHU_AUDIT_ARCHIVE_DIR);
  else
    printf("ok: %llu audit entries, hash chain intact\n", (unsigned long long)entries);
  return 0;
}

int kehu_admin_audit(int argc, char **argv)
{
  static const kehu_admin_subcommand subs[] = {
    {"export", audit_export},
    {"verify", audit_verify},
  };
  return kehu_admin_dispatch("audit", audit_usage, subs, sizeof subs / sizeof *subs, argc, argv);
}
