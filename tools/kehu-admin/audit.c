/* kehu-admin audit export DATADIR [--since T] [--user U] [--format csv|json]
 * kehu-admin audit verify DATADIR */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "admin.h"
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

/* The whole log, newest first (as `kehu audit` shows it). */
static int export_log(kehu_store *st, export_state *x)
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
  return rc;
}

int kehu_admin_audit(int argc, char **argv)
{
  if (argc < 3 || strcmp(argv[1], "--help") == 0) {
    fputs("usage: kehu-admin audit export DATADIR [--since TIME] [--user U] [--format csv|json]\n"
          "       kehu-admin audit verify DATADIR\n",
          argc < 3 ? stderr : stdout);
    return argc < 3 ? KEHU_USAGE : 0;
  }
  const char *sub = argv[1], *dir = argv[2];
  export_state x = {0};
  for (int i = 3; i < argc; i++) {
    int has_value = i + 1 < argc;
    if (strcmp(argv[i], "--user") == 0 && has_value)
      x.user = argv[++i];
    else if (strcmp(argv[i], "--since") == 0 && has_value) {
      if (kehu_time_parse(argv[++i], &x.since) != 0)
        return kehu_admin_fail(KEHU_INVALID, "--since: '%s' is not a time", argv[i]);
      x.has_since = 1;
    } else if (strcmp(argv[i], "--format") == 0 && has_value) {
      const char *f = argv[++i];
      if (strcmp(f, "json") != 0 && strcmp(f, "csv") != 0)
        return kehu_admin_fail(KEHU_INVALID, "--format: '%s' is not csv or json", f);
      x.json = f[0] == 'j';
    } else {
      return kehu_admin_fail(KEHU_USAGE, "audit %s: unknown or incomplete argument '%s'", sub,
                             argv[i]);
    }
  }
  kehu_store *st;
  int rc = kehu_admin_open(dir, &st);
  if (rc != 0)
    return rc;
  if (strcmp(sub, "export") == 0) {
    x.items = cJSON_CreateArray();
    rc = export_log(st, &x);
    if (x.json && rc == KEHU_OK) {
      char *s = cJSON_PrintUnformatted(x.items);
      puts(s);
      cJSON_free(s);
    }
    cJSON_Delete(x.items);
    kehu_store_close(st);
    return rc == KEHU_OK ? 0 : kehu_admin_fail(rc, "cannot export the audit log");
  }
  if (strcmp(sub, "verify") != 0) {
    kehu_store_close(st);
    return kehu_admin_fail(KEHU_USAGE, "audit: unknown subcommand '%s'", sub);
  }
  kehu_txn t;
  char report[8192];
  unsigned long problems = 0;
  uint64_t entries = 0;
  if ((rc = kehu_store_read_begin(st, &t)) == KEHU_OK) {
    rc = kehu_store_audit_verify(&t, report, sizeof report, &problems, &entries);
    kehu_store_read_end(&t);
  }
  kehu_store_close(st);
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "cannot read the audit log");
  if (problems) {
    fputs(report, stdout);
    printf("audit log damaged: %lu problems in %llu entries\n", problems,
           (unsigned long long)entries);
    return 1;
  }
  printf("ok: %llu audit entries, hash chain intact\n", (unsigned long long)entries);
  return 0;
}
