/* kehu-admin stats DATADIR [--json | --prometheus] (docs/operations.md#monitoring):
 * records per kind, every table's entries and size, the map and its
 * readers, the audit log's length, the last backup, and — while kehud runs
 * — its connections and requests (from DATADIR/kehud.stats, which kehud
 * rewrites every second). --prometheus prints the text exposition format
 * for node_exporter's textfile collector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "admin.h"
#include "datadir_lock.h"
#include "records.h"

static const char stats_usage[] =
  "usage: kehu-admin stats DATADIR [--json | --prometheus]\n"
  "  Records per kind, each table's entries and size, the map and its readers, the\n"
  "  audit log's length, the last backup and, while kehud runs, its connections and\n"
  "  requests. Safe while kehud runs. --prometheus: Prometheus text format (for\n"
  "  node_exporter's textfile collector).\n";

#define MAX_TABLES 64

typedef struct {
  char name[32];
  size_t entries, pages;
} table_stat;

typedef struct {
  table_stat t[MAX_TABLES];
  size_t n;
} table_list;

static void note_table(const char *name, size_t entries, size_t pages, void *arg)
{
  table_list *l = arg;
  if (l->n == MAX_TABLES)
    return;
  snprintf(l->t[l->n].name, sizeof l->t[0].name, "%s", name);
  l->t[l->n].entries = entries;
  l->t[l->n].pages = pages;
  l->n++;
}

static const table_stat *table(const table_list *l, const char *name)
{
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->t[i].name, name))
      return &l->t[i];
  return NULL;
}

/* The record kinds, by the table that holds them: each kind of a
 * customer's records has a table of its own name (server/store/env.c). */
typedef struct {
  const char *kind, *table;
} record_kind;
#define MAX_KINDS (KEHU_KIND_COUNT + 4)

static size_t record_kinds(record_kind out[MAX_KINDS])
{
  size_t n = 0;
  out[n++] = (record_kind){"customer", "customers"};
  for (int k = 0; k < KEHU_KIND_COUNT; k++)
    out[n++] = (record_kind){kehu_kind_get(k)->name, kehu_kind_get(k)->name};
  out[n++] = (record_kind){"reminder", "reminders"};
  out[n++] = (record_kind){"user", "users"};
  out[n++] = (record_kind){"session", "sessions"};
  return n;
}

typedef struct {
  int running;          /* kehud holds the data directory */
  long pid;
  cJSON *live;          /* kehud.stats, when it is kehud's */
  long long backup_at;  /* 0: none recorded */
  uint64_t change_head; /* the change log's newest sequence number */
  char backup_path[4096];
} outside;

static void read_outside(const char *data_dir, outside *o)
{
  char path[4200];
  o->running = kehu_datadir_locked(data_dir, &o->pid);
  if (o->running) {
    snprintf(path, sizeof path, "%s/kehud.stats", data_dir);
    FILE *f = fopen(path, "r");
    if (f) {
      char buf[1024];
      size_t n = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
      buf[n] = '\0';
      o->live = cJSON_Parse(buf);
      const cJSON *pid = cJSON_GetObjectItemCaseSensitive(o->live, "pid");
      if (o->live && (!cJSON_IsNumber(pid) || (o->pid && (long)pid->valuedouble != o->pid))) {
        cJSON_Delete(o->live);   /* an earlier kehud's */
        o->live = NULL;
      }
    }
  }
  snprintf(path, sizeof path, "%s/backup.last", data_dir);
  FILE *f = fopen(path, "r");
  if (f) {
    if (fscanf(f, "%lld %4095[^\n]", &o->backup_at, o->backup_path) != 2)
      o->backup_at = 0;
    fclose(f);
  }
}

static double live_number(const outside *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o->live, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void iso(long long t, char *out, size_t len)
{
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_prometheus(const table_list *l, const kehu_store_env_stats *e,
                             const outside *o)
{
  printf("# HELP kehu_records Records in the store, by kind.\n# TYPE kehu_records gauge\n");
  record_kind kinds[MAX_KINDS];
  size_t nk = record_kinds(kinds);
  for (size_t i = 0; i < nk; i++) {
    const table_stat *t = table(l, kinds[i].table);
    printf("kehu_records{kind=\"%s\"} %zu\n", kinds[i].kind, t ? t->entries : 0);
  }
  const table_stat *c = table(l, "customers"), *a = table(l, "audit");
  printf("# HELP kehu_customers_total Customers in the store, binned ones included.\n"
         "# TYPE kehu_customers_total gauge\nkehu_customers_total %zu\n",
         c ? c->entries : 0);
  printf("# HELP kehu_table_entries Entries of each table.\n# TYPE kehu_table_entries gauge\n");
  for (size_t i = 0; i < l->n; i++)
    printf("kehu_table_entries{table=\"%s\"} %zu\n", l->t[i].name, l->t[i].entries);
  printf("# HELP kehu_table_bytes Pages of each table, in bytes.\n# TYPE kehu_table_bytes gauge\n");
  for (size_t i = 0; i < l->n; i++)
    printf("kehu_table_bytes{table=\"%s\"} %zu\n", l->t[i].name, l->t[i].pages * e->page_size);
  printf("# HELP kehu_map_size_bytes The LMDB map size.\n# TYPE kehu_map_size_bytes gauge\n"
         "kehu_map_size_bytes %zu\n", e->map_size);
  printf("# HELP kehu_map_used_bytes Bytes of the map in use.\n# TYPE kehu_map_used_bytes gauge\n"
         "kehu_map_used_bytes %zu\n", e->used);
  printf("# HELP kehu_readers Live read transactions.\n# TYPE kehu_readers gauge\n"
         "kehu_readers %u\n", e->readers);
  printf("# HELP kehu_max_readers Reader slots.\n# TYPE kehu_max_readers gauge\n"
         "kehu_max_readers %u\n", e->max_readers);
  printf("# HELP kehu_audit_entries Entries of the audit log.\n# TYPE kehu_audit_entries gauge\n"
         "kehu_audit_entries %zu\n", a ? a->entries : 0);
  const table_stat *ch = table(l, "changes");
  printf("# HELP kehu_change_log_entries Entries of the change log (trimmed by backups).\n"
         "# TYPE kehu_change_log_entries gauge\nkehu_change_log_entries %zu\n",
         ch ? ch->entries : 0);
  printf("# HELP kehu_change_log_head The change log's newest sequence number.\n"
         "# TYPE kehu_change_log_head gauge\nkehu_change_log_head %llu\n",
         (unsigned long long)o->change_head);
  if (o->backup_at)
    printf("# HELP kehu_last_backup_timestamp_seconds When the last backup was taken.\n"
           "# TYPE kehu_last_backup_timestamp_seconds gauge\n"
           "kehu_last_backup_timestamp_seconds %lld\n", o->backup_at);
  printf("# HELP kehu_up Whether kehud is running on the data directory.\n# TYPE kehu_up gauge\n"
         "kehu_up %d\n", o->running);
  if (o->live) {
    printf("# HELP kehu_connections Open client connections.\n# TYPE kehu_connections gauge\n"
           "kehu_connections %.0f\n", live_number(o, "connections"));
    printf("# HELP kehu_requests_total Requests received since kehud started.\n"
           "# TYPE kehu_requests_total counter\nkehu_requests_total %.0f\n",
           live_number(o, "requests"));
    printf("# HELP kehu_writes_total Writes committed since kehud started.\n"
           "# TYPE kehu_writes_total counter\nkehu_writes_total %.0f\n", live_number(o, "writes"));
    printf("# HELP kehu_commits_total Commits since kehud started.\n"
           "# TYPE kehu_commits_total counter\nkehu_commits_total %.0f\n",
           live_number(o, "commits"));
    printf("# HELP kehu_commit_seconds_total Time spent committing (pages written, then synced).\n"
           "# TYPE kehu_commit_seconds_total counter\nkehu_commit_seconds_total %.3f\n",
           live_number(o, "commit_ms") / 1000.0);
    printf("# HELP kehu_tls_handshakes_total TLS handshakes completed since kehud started, "
           "full or resumed from a session ticket.\n# TYPE kehu_tls_handshakes_total counter\n"
           "kehu_tls_handshakes_total{kind=\"full\"} %.0f\n"
           "kehu_tls_handshakes_total{kind=\"resumed\"} %.0f\n",
           live_number(o, "tls_full_handshakes"), live_number(o, "tls_resumed_handshakes"));
    printf("# HELP kehu_tls_tickets_refused_total Session tickets offered but not taken "
           "(expired, from an old key, or altered).\n"
           "# TYPE kehu_tls_tickets_refused_total counter\nkehu_tls_tickets_refused_total %.0f\n",
           live_number(o, "tls_tickets_refused"));
    printf("# HELP kehu_start_time_seconds When kehud started.\n"
           "# TYPE kehu_start_time_seconds gauge\nkehu_start_time_seconds %.0f\n",
           live_number(o, "started_at"));
  }
}

static void print_json(const char *data_dir, const table_list *l, const kehu_store_env_stats *e,
                       const outside *o)
{
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "data_dir", data_dir);
  cJSON *records = cJSON_AddObjectToObject(j, "records");
  record_kind kinds[MAX_KINDS];
  size_t nk = record_kinds(kinds);
  for (size_t i = 0; i < nk; i++) {
    const table_stat *t = table(l, kinds[i].table);
    cJSON_AddNumberToObject(records, kinds[i].kind, t ? (double)t->entries : 0);
  }
  const table_stat *a = table(l, "audit");
  cJSON_AddNumberToObject(j, "audit_entries", a ? (double)a->entries : 0);
  const table_stat *ch = table(l, "changes");
  cJSON *changes = cJSON_AddObjectToObject(j, "change_log");
  cJSON_AddNumberToObject(changes, "entries", ch ? (double)ch->entries : 0);
  cJSON_AddNumberToObject(changes, "head", (double)o->change_head);
  cJSON *store = cJSON_AddObjectToObject(j, "store");
  cJSON_AddNumberToObject(store, "map_size", (double)e->map_size);
  cJSON_AddNumberToObject(store, "used", (double)e->used);
  cJSON_AddNumberToObject(store, "page_size", (double)e->page_size);
  cJSON_AddNumberToObject(store, "readers", e->readers);
  cJSON_AddNumberToObject(store, "max_readers", e->max_readers);
  cJSON *tables = cJSON_AddArrayToObject(j, "tables");
  for (size_t i = 0; i < l->n; i++) {
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "name", l->t[i].name);
    cJSON_AddNumberToObject(t, "entries", (double)l->t[i].entries);
    cJSON_AddNumberToObject(t, "bytes", (double)(l->t[i].pages * e->page_size));
    cJSON_AddItemToArray(tables, t);
  }
  if (o->backup_at) {
    char at[32];
    iso(o->backup_at, at, sizeof at);
    cJSON *b = cJSON_AddObjectToObject(j, "last_backup");
    cJSON_AddStringToObject(b, "at", at);
    cJSON_AddStringToObject(b, "path", o->backup_path);
  } else {
    cJSON_AddNullToObject(j, "last_backup");
  }
  if (o->running) {
    cJSON *k = cJSON_AddObjectToObject(j, "kehud");
    cJSON_AddNumberToObject(k, "pid", (double)o->pid);
    if (o->live) {
      static const char *const keys[] = {"connections", "requests", "writes", "commits",
                                          "commit_ms", "tls_full_handshakes",
                                          "tls_resumed_handshakes", "tls_tickets_refused"};
      for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        cJSON_AddNumberToObject(k, keys[i], live_number(o, keys[i]));
      char at[32];
      iso((long long)live_number(o, "started_at"), at, sizeof at);
      cJSON_AddStringToObject(k, "started_at", at);
    }
  } else {
    cJSON_AddNullToObject(j, "kehud");
  }
  char *text = cJSON_Print(j);
  if (text)
    puts(text);
  free(text);
  cJSON_Delete(j);
}

static void print_human(const char *data_dir, const table_list *l, const kehu_store_env_stats *e,
                        const outside *o)
{
  printf("data directory  %s\n", data_dir);
  printf("store           %.1f MiB used of a %.1f MiB map; %u of %u readers\n",
         e->used / 1048576.0, e->map_size / 1048576.0, e->readers, e->max_readers);
  printf("records        ");
  record_kind kinds[MAX_KINDS];
  size_t nk = record_kinds(kinds);
  for (size_t i = 0; i < nk; i++) {
    const table_stat *t = table(l, kinds[i].table);
    printf(" %s %zu%s", kinds[i].kind, t ? t->entries : 0, i + 1 < nk ? "," : "\n");
  }
  const table_stat *a = table(l, "audit");
  printf("audit log       %zu entries\n", a ? a->entries : 0);
  const table_stat *ch = table(l, "changes");
  printf("change log      %zu entries, up to change %llu\n", ch ? ch->entries : 0,
         (unsigned long long)o->change_head);
  if (o->backup_at) {
    char at[32];
    iso(o->backup_at, at, sizeof at);
    printf("last backup     %s  %s\n", at, o->backup_path);
  } else {
    printf("last backup     none recorded\n");
  }
  if (!o->running)
    printf("kehud           not running\n");
  else if (!o->live)
    printf("kehud           running (pid %ld)\n", o->pid);
  else
    printf("kehud           running (pid %ld): %.0f connections, %.0f requests, %.0f writes in "
           "%.0f commits; TLS handshakes %.0f full, %.0f resumed (%.0f tickets refused)\n",
           o->pid, live_number(o, "connections"), live_number(o, "requests"),
           live_number(o, "writes"), live_number(o, "commits"),
           live_number(o, "tls_full_handshakes"), live_number(o, "tls_resumed_handshakes"),
           live_number(o, "tls_tickets_refused"));
  printf("\n%-18s %12s %14s\n", "TABLE", "ENTRIES", "BYTES");
  for (size_t i = 0; i < l->n; i++)
    printf("%-18s %12zu %14zu\n", l->t[i].name, l->t[i].entries, l->t[i].pages * e->page_size);
}

int kehu_admin_stats(int argc, char **argv)
{
  const char *data_dir = NULL;
  int json = 0, prometheus = 0;
  static const char *const names[] = {"DATADIR", NULL};
  const kehu_admin_flag flags[] = {{"--json", NULL, &json, NULL, 0},
                                   {"--prometheus", NULL, &prometheus, NULL, 0}};
  kehu_admin_spec spec = {"stats", stats_usage, names, &data_dir, flags, 2};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  if (json && prometheus)
    return kehu_admin_usage_error(stats_usage, "stats: --json or --prometheus, not both");
  kehu_store *st;
  rc = kehu_admin_open(data_dir, &st);
  if (rc != 0)
    return rc;
  table_list tables = {.n = 0};
  kehu_store_env_stats env;
  outside o = {0};
  kehu_txn t;
  if ((rc = kehu_store_read_begin(st, &t)) == KEHU_OK) {
    rc = kehu_store_tables(&t, note_table, &tables);
    uint64_t oldest;
    if (rc == KEHU_OK)
      rc = kehu_store_changes_head(&t, &o.change_head, &oldest);
    kehu_store_read_end(&t);
  }
  if (rc == KEHU_OK)
    rc = kehu_store_env(st, &env);
  kehu_store_close(st);
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "cannot read %s: %s", data_dir, kehu_status_name(rc));
  read_outside(data_dir, &o);
  if (prometheus)
    print_prometheus(&tables, &env, &o);
  else if (json)
    print_json(data_dir, &tables, &env, &o);
  else
    print_human(data_dir, &tables, &env, &o);
  cJSON_Delete(o.live);
  return 0;
}
