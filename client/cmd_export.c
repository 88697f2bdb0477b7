/* kehu export customers|contacts|followups|contracts|orders|tickets
 *   [--format csv|json|xlsx] [--encoding utf-8|gbk] [-o FILE] [filters]:
 * every record of that kind the caller may read, page by page (the server
 * audits each page with its row count), as CSV, xlsx or JSON. How the files
 * are made to open cleanly in Excel is in README.md ("Exports") and
 * client/sheet_out.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "auth.h"
#include "customer_view.h"
#include "frame.h"
#include "i18n.h"
#include "output.h"
#include "record_view.h"
#include "records.h"
#include "sheet_out.h"
#include "show.h"
#include "timefmt.h"

static const char export_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] export customers [OPTIONS] [--stage S] [--owner USER]\n"
  "           [--tag T] [--industry I] [--region R] [--source S] [--tier T] [--sort FIELD]\n"
  "       kehu [GLOBAL OPTIONS] export contacts|followups|contracts|orders|tickets [OPTIONS]\n"
  "           [--customer ID] [--status S]\n"
  "\n"
  "Writes every record of that kind you may read (stdout unless -o).\n"
  "  --format csv|json|xlsx  csv (default; JSON with the global --json): a header row,\n"
  "                          CRLF line ends; xlsx needs -o; json: an array\n"
  "  --encoding utf-8|gbk    CSV only: UTF-8 with a BOM (default) or GBK; a value GBK\n"
  "                          cannot hold is an error naming its row and field (exit 7)\n"
  "  -o FILE                 write FILE (whole, or not at all)\n"
  "A text cell beginning with = + - @, a tab or a CR is written with a leading ' so\n"
  "spreadsheets show it as text. Filters of customers as for `customer list`; of\n"
  "records as for their list commands.\n");

#define MAX_COLS 32

static const char *const customer_header[] = {
  "id",      "name",   "short_name",    "kind",           "stage",           "industry",
  "size",    "region", "address",       "source",         "owner",           "tags",
  "notes",   "external_code", "first_contact_at", "last_contact_at", "created_at",
  "updated_at", "version"};
#define CUSTOMER_COLS (sizeof customer_header / sizeof *customer_header)

typedef struct {
  int json;
  cJSON *all;
  kehu_sheet *sheet;
  unsigned long rows;
} sink;

static int customer_row(sink *o, const Kehu__Customer *c, kehu_error *err)
{
  if (o->json) {
    cJSON_AddItemToArray(o->all, kehu_customer_json(c));
    return KEHU_OK;
  }
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
  const char *cells[CUSTOMER_COLS] = {
    c->id,    c->name,  c->short_name, c->kind,          c->stage, c->industry,
    c->size,  c->region, c->address,   c->source,        c->owner, tags,
    c->notes, c->external_code, c->first_contact_at, last, created, updated, version};
  return kehu_sheet_row(o->sheet, cells, err);
}

static int record_row(sink *o, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *const *cols,
                      size_t ncols, kehu_error *err)
{
  if (o->json) {
    cJSON_AddItemToArray(o->all, kehu_record_json(m));
    return KEHU_OK;
  }
  static char bufs[MAX_COLS][1024];
  const char *cells[MAX_COLS];
  for (size_t i = 0; i < ncols; i++)
    cells[i] = kehu_record_export_cell(m, cols[i], bufs[i], sizeof bufs[i]);
  return kehu_sheet_row(o->sheet, cells, err);
}

/* "contacts" -> the record kind, NULL for customers; *bad when neither. */
static const kehu_kind_info *export_kind(const char *what, int *bad)
{
  static const char *const kinds[] = {"contacts", "followups", "contracts", "orders", "tickets"};
  *bad = 0;
  if (strcmp(what, "customers") == 0)
    return NULL;
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if (strcmp(what, kinds[i]) == 0) {
      char one[16];
      snprintf(one, sizeof one, "%.*s", (int)strlen(what) - 1, what);
      return kehu_kind_by_name(one);
    }
  *bad = 1;
  return NULL;
}

int kehu_cmd_export(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  Kehu__CustomerList q = KEHU__CUSTOMER_LIST__INIT;
  Kehu__ChildList cq = KEHU__CHILD_LIST__INIT;
  const char *format = NULL, *encoding = "utf-8", *out = NULL, *stage = NULL;
  const char *customer = NULL, *status = NULL;
  const kehu_flag flags[] = {
    {"format", KEHU_FLAG_VALUE, &format},   {"encoding", KEHU_FLAG_VALUE, &encoding},
    {"o", KEHU_FLAG_VALUE, &out},           {"stage", KEHU_FLAG_VALUE, &stage},
    {"owner", KEHU_FLAG_VALUE, &q.owner},   {"tag", KEHU_FLAG_VALUE, &q.tag},
    {"industry", KEHU_FLAG_VALUE, &q.industry}, {"region", KEHU_FLAG_VALUE, &q.region},
    {"source", KEHU_FLAG_VALUE, &q.source}, {"tier", KEHU_FLAG_VALUE, &q.tier},
    {"sort", KEHU_FLAG_VALUE, &q.sort},     {"customer", KEHU_FLAG_VALUE, &customer},
    {"status", KEHU_FLAG_VALUE, &status},
  };
  const kehu_command cmd = {"export", export_usage, flags, sizeof flags / sizeof *flags, 1, 1,
                            "WHAT"};
  kehu_strlist args = {0};
  const kehu_kind_info *kind = NULL;
  int bad = 0;
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc == KEHU_OK) {
    kind = export_kind(args.items[0], &bad);
    if (bad)
      rc = kehu_usage_error(cli, export_usage, err,
                            "export: '%s' is not customers, contacts, followups, contracts, "
                            "orders or tickets",
                            args.items[0]);
  }
  kehu_strlist_free(&args);
  if (rc != KEHU_OK)
    return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
  if (!kind && (customer || status))
    return kehu_usage_error(cli, export_usage, err,
                            "export customers: --customer and --status are for records");
  if (kind && (stage || q.owner || q.tag || q.industry || q.region || q.source || q.tier || q.sort))
    return kehu_usage_error(cli, export_usage, err,
                            "export %ss: customer filters apply to `export customers` only",
                            kind->name);
  if (!format)
    format = cli->json ? "json" : "csv";
  int json = strcmp(format, "json") == 0, xlsx = strcmp(format, "xlsx") == 0;
  if (!json && !xlsx && strcmp(format, "csv") != 0)
    return kehu_fail_tr(err, KEHU_INVALID, "format", "--format: '%s' is not csv, json or xlsx",
                        format);
  kehu_sheet_encoding enc;
  if (strcmp(encoding, "utf-8") == 0 || strcmp(encoding, "utf8") == 0)
    enc = KEHU_SHEET_UTF8;
  else if (strcmp(encoding, "gbk") == 0 || strcmp(encoding, "GBK") == 0)
    enc = KEHU_SHEET_GBK;
  else
    return kehu_fail_tr(err, KEHU_INVALID, "encoding", "--encoding: '%s' is not utf-8 or gbk",
                        encoding);
  if (enc != KEHU_SHEET_UTF8 && (json || xlsx))
    return kehu_usage_error(cli, export_usage, err, "--encoding applies to CSV only");
  if (xlsx && !out)
    return kehu_usage_error(cli, export_usage, err,
                            "--format xlsx: give -o FILE (an xlsx file is not written to a "
                            "terminal or a pipe)");

  /* The columns of a record kind: the message's fields in proto order. */
  const ProtobufCFieldDescriptor *cols[MAX_COLS];
  const char *header_buf[MAX_COLS];
  const char *const *header = customer_header;
  size_t ncols = CUSTOMER_COLS;
  if (kind) {
    ncols = kehu_record_export_fields(kind->desc, cols, MAX_COLS);
    for (size_t i = 0; i < ncols; i++)
      header_buf[i] = cols[i]->name;
    header = header_buf;
    cq.kind = (char *)kind->name;
    cq.customer_id = (char *)customer;
    cq.status = (char *)status;
    cq.has_limit = 1;
    cq.limit = 500;
    cq.has_export = cq.export = 1;
  } else {
    q.stage = (char *)stage;
    q.has_limit = 1;
    q.limit = 500;
    q.has_export = q.export = 1;
  }

  char tmp[4096] = "";
  FILE *f = stdout;
  if (out) {
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    if (!xlsx && !(f = fopen(tmp, "w")))
      return kehu_fail_errno(err, KEHU_INTERNAL, NULL, errno, "cannot write %s", tmp);
  }
  sink o = {.json = json};
  if (json)
    o.all = cJSON_CreateArray();
  else
    rc = kehu_sheet_open(&o.sheet, xlsx ? KEHU_SHEET_XLSX : KEHU_SHEET_CSV, enc, f, tmp, header,
                         ncols, err);
  char cursor[640] = "";   /* a sorted list's key cursor has up to 261 characters */
  while (rc == KEHU_OK) {
    Kehu__Request req = KEHU__REQUEST__INIT;
    if (kind) {
      req.op_case = KEHU__REQUEST__OP_CHILD_LIST;
      req.child_list = &cq;
      cq.cursor = cursor[0] ? cursor : NULL;
    } else {
      req.op_case = KEHU__REQUEST__OP_CUSTOMER_LIST;
      req.customer_list = &q;
      q.cursor = cursor[0] ? cursor : NULL;
    }
    Kehu__Envelope *env = NULL;
    rc = kehu_request(cli, &req, &env, err);
    if (rc != KEHU_OK)
      break;
    const char *next = NULL;
    if (kind) {
      const Kehu__ChildPage *pg = env->response->child_page;
      for (size_t i = 0; pg && i < pg->n_items && rc == KEHU_OK; i++, o.rows++)
        rc = record_row(&o, kehu_child_record(pg->items[i], NULL), cols, ncols, err);
      next = pg ? pg->next_cursor : NULL;
    } else {
      const Kehu__CustomerPage *pg = env->response->customer_page;
      for (size_t i = 0; pg && i < pg->n_items && rc == KEHU_OK; i++, o.rows++)
        rc = customer_row(&o, pg->items[i], err);
      next = pg ? pg->next_cursor : NULL;
    }
    snprintf(cursor, sizeof cursor, "%s", next ? next : "");
    kehu_envelope_free(env);
    if (!cursor[0])
      break;
  }
  if (rc == KEHU_OK && json) {
    char *s = cJSON_Print(o.all);
    if (s) {
      fputs(s, f);
      fputc('\n', f);
      cJSON_free(s);
    } else {
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    }
  }
  cJSON_Delete(o.all);
  if (o.sheet) {
    int crc = kehu_sheet_close(o.sheet, rc == KEHU_OK ? err : NULL);
    if (rc == KEHU_OK)
      rc = crc;
  }
  if (out) {
    int bad_close = !xlsx && fclose(f) != 0;
    if (rc == KEHU_OK && (bad_close || rename(tmp, out) != 0))
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "cannot write %s", out);
    if (rc != KEHU_OK)
      unlink(tmp);
    else
      /* TRANSLATORS: the count, the kind of record ("customer", "contact",
       * ...: msgctxt "kind"), the file. */
      fprintf(stderr, ngettext("exported %lu %s to %s\n", "exported %lu %ss to %s\n", o.rows),
              o.rows, kehu_kind_label(kind ? kind->name : "customer"), out);
  } else if (fflush(stdout) != 0 && rc == KEHU_OK) {
    rc = kehu_fail_errno(err, KEHU_INTERNAL, NULL, errno, "cannot write stdout");
  }
  return rc;
}
