/* kehu export customers [--format csv|json] [-o FILE] [filters as list]:
 * every customer the caller may read, page by page (the server audits each
 * page with its row count), to CSV or JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "auth.h"
#include "customer_view.h"
#include "frame.h"
#include "output.h"
#include "show.h"
#include "timefmt.h"

static const char export_usage[] =
  "usage: kehu [GLOBAL OPTIONS] export customers [--format csv|json] [-o FILE] [FILTERS]\n"
  "\n"
  "Writes every customer you may read (stdout unless -o), as CSV with a header\n"
  "row (UTF-8) or as a JSON array. Filters as for `customer list`:\n"
  "  --stage S  --owner USER  --tag T  --industry I  --region R  --source S\n"
  "  --tier T  --sort FIELD   as customer list\n";

static void csv_field(FILE *f, const char *s, int last)
{
  s = s ? s : "";
  if (strpbrk(s, ",\"\r\n")) {
    fputc('"', f);
    for (; *s; s++) {
      if (*s == '"')
        fputc('"', f);
      fputc(*s, f);
    }
    fputc('"', f);
  } else {
    fputs(s, f);
  }
  fputc(last ? '\n' : ',', f);
}

static void csv_row(FILE *f, const Kehu__Customer *c)
{
  char tags[1024] = "", version[16], created[32] = "", updated[32] = "", last[32] = "";
  for (size_t i = 0; i < c->n_tags; i++)
    snprintf(tags + strlen(tags), sizeof tags - strlen(tags), "%s%s", i ? ";" : "", c->tags[i]);
  snprintf(version, sizeof version, "%u", c->version);
  if (c->has_created_at)
    kehu_time_format_iso(c->created_at, created);
  if (c->has_updated_at)
    kehu_time_format_iso(c->updated_at, updated);
  if (c->has_last_contact_at && c->last_contact_at)
    kehu_time_format_iso(c->last_contact_at, last);
  const char *cells[] = {c->id, c->name, c->short_name, c->kind, c->stage, c->industry, c->size,
                         c->region, c->address, c->source, c->owner, tags, c->external_code,
                         c->first_contact_at, last, created, updated, version};
  size_t n = sizeof cells / sizeof *cells;
  for (size_t i = 0; i < n; i++)
    csv_field(f, cells[i], i + 1 == n);
}

int kehu_cmd_export(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  Kehu__CustomerList q = KEHU__CUSTOMER_LIST__INIT;
  const char *format = "csv", *out = NULL, *stage = NULL;
  const kehu_flag flags[] = {
    {"format", KEHU_FLAG_VALUE, &format}, {"o", KEHU_FLAG_VALUE, &out},
    {"stage", KEHU_FLAG_VALUE, &stage},   {"owner", KEHU_FLAG_VALUE, &q.owner},
    {"tag", KEHU_FLAG_VALUE, &q.tag},     {"industry", KEHU_FLAG_VALUE, &q.industry},
    {"region", KEHU_FLAG_VALUE, &q.region}, {"source", KEHU_FLAG_VALUE, &q.source},
    {"tier", KEHU_FLAG_VALUE, &q.tier},     {"sort", KEHU_FLAG_VALUE, &q.sort},
  };
  const kehu_command cmd = {"export", export_usage, flags, sizeof flags / sizeof *flags, 1, 1,
                            "WHAT"};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc == KEHU_OK && strcmp(args.items[0], "customers") != 0)
    rc = kehu_usage_error(cli, export_usage, err, "export: only `customers` can be exported");
  kehu_strlist_free(&args);
  if (rc != KEHU_OK)
    return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
  int json = strcmp(format, "json") == 0;
  if (!json && strcmp(format, "csv") != 0)
    return kehu_fail(err, KEHU_INVALID, "format", "--format: '%s' is not csv or json", format);
  q.stage = (char *)stage;
  q.has_limit = 1;
  q.limit = 500;
  q.has_export = q.export = 1;
  char tmp[4096] = "";
  FILE *f = stdout;
  if (out) {
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    if (!(f = fopen(tmp, "w")))
      return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot write %s: %s", tmp, strerror(errno));
  }
  cJSON *all = json ? cJSON_CreateArray() : NULL;
  if (!json)
    fputs("id,name,short_name,kind,stage,industry,size,region,address,source,owner,tags,"
          "external_code,first_contact_at,last_contact_at,created_at,updated_at,version\n", f);
  char cursor[64] = "";
  unsigned long rows = 0;
  do {
    Kehu__Request req = KEHU__REQUEST__INIT;
    req.op_case = KEHU__REQUEST__OP_CUSTOMER_LIST;
    req.customer_list = &q;
    q.cursor = cursor[0] ? cursor : NULL;
    Kehu__Envelope *env = NULL;
    rc = kehu_request(cli, &req, &env, err);
    if (rc != KEHU_OK)
      break;
    const Kehu__CustomerPage *pg = env->response->customer_page;
    for (size_t i = 0; pg && i < pg->n_items; i++, rows++) {
      if (json)
        cJSON_AddItemToArray(all, kehu_customer_json(pg->items[i]));
      else
        csv_row(f, pg->items[i]);
    }
    snprintf(cursor, sizeof cursor, "%s", pg && pg->next_cursor ? pg->next_cursor : "");
    kehu_envelope_free(env);
  } while (cursor[0]);
  if (rc == KEHU_OK && json) {
    char *s = cJSON_Print(all);
    if (s) {
      fputs(s, f);
      fputc('\n', f);
      cJSON_free(s);
    }
  }
  cJSON_Delete(all);
  if (out) {
    int bad = fclose(f) != 0;
    if (rc == KEHU_OK && (bad || rename(tmp, out) != 0))
      rc = kehu_fail(err, KEHU_INTERNAL, NULL, "cannot write %s", out);
    if (rc != KEHU_OK)
      unlink(tmp);
    else
      fprintf(stderr, "exported %lu customers to %s\n", rows, out);
  }
  return rc;
}
