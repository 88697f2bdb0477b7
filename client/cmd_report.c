/* kehu report KIND [--since TIME] [--until TIME] [--csv] [--svg FILE]:
 * counts over the customers the caller may see, drawn as a chart
 * (chart.h), or as JSON or CSV for scripts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "chart.h"
#include "frame.h"
#include "i18n.h"
#include "output.h"
#include "show.h"
#include "timefmt.h"

static const char report_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] report KIND [--since TIME] [--until TIME] [--csv]\n"
  "                                         [--svg FILE]\n"
  "\n"
  "KIND:\n"
  "  summary   customers, by stage, dormant (no follow-up for 180 days)\n"
  "  stage     customers by stage\n"
  "  industry  customers by industry\n"
  "  region    customers by region\n"
  "  size      customers by company size\n"
  "  source    customers by where they came from\n"
  "  owner     customers by owner\n"
  "  funnel    potential -> intent -> closed (and lost), conversion per step, moves\n"
  "  tiers     customers per value tier, moves between tiers in the period\n"
  "  churn     the customers at risk of churning, with the reason\n"
  "  activity  follow-ups per rep and method (default: the last 30 days)\n"
  "  top       the 20 customers with most revenue in the last 12 months\n"
  "  kpi       conversion, repurchase and churn rates, response time, SLA\n"
  "\n"
  "  --since TIME, --until TIME   the period [since, until): YYYY-MM-DD,\n"
  "                               'YYYY-MM-DD HH:MM' or ISO 8601\n"
  "  --csv        a CSV table (header row, RFC 4180) instead of the chart\n"
  "  --svg FILE   also write the chart as a standalone SVG file (replaced if it\n"
  "               exists)\n"
  "\n"
  "The chart fits the terminal's width; block characters when the locale is\n"
  "UTF-8, '#' otherwise. --json: {\"kind\", \"since\", \"until\", \"rows\": [...]}.\n");

static cJSON *row_json(const Kehu__ReportRow *r)
{
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddStringToObject(o, "key", r->key) ||
      !cJSON_AddNumberToObject(o, "count", (double)r->count)) {
    cJSON_Delete(o);
    return NULL;
  }
  int bad = 0;
  if (r->has_amount) {
    char yuan[32];
    kehu_money_format(r->amount, yuan);
    bad |= !cJSON_AddStringToObject(o, "amount", yuan);
  }
  if (r->has_value)
    bad |= !cJSON_AddNumberToObject(o, "value", r->value);
  const char *names[] = {"key2", "unit", "name", "owner", "reason"};
  const char *values[] = {r->key2, r->unit, r->name, r->owner, r->reason};
  for (size_t i = 0; i < 5; i++)
    if (values[i])
      bad |= !cJSON_AddStringToObject(o, names[i], values[i]);
  if (bad) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static cJSON *rows_json(Kehu__ReportRow *const *rows, size_t n)
{
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; a && i < n; i++) {
    cJSON *row = row_json(rows[i]);
    if (!row || !cJSON_AddItemToArray(a, row)) {
      cJSON_Delete(row);
      cJSON_Delete(a);
      return NULL;
    }
  }
  return a;
}

static int print_json(const Kehu__ReportResult *r, kehu_error *err)
{
  cJSON *o = cJSON_CreateObject();
  cJSON *rows = rows_json(r->rows, r->n_rows);
  /* funnel and tiers always have "transitions", so scripts need not test */
  int moves = r->n_transitions > 0 || strcmp(r->kind, "funnel") == 0 ||
              strcmp(r->kind, "tiers") == 0;
  cJSON *trans = moves ? rows_json(r->transitions, r->n_transitions) : NULL;
  if (!o || !rows || (moves && !trans) || !cJSON_AddStringToObject(o, "kind", r->kind) ||
      kehu_json_add_time(o, "since", r->has_since, r->since) != 0 ||
      kehu_json_add_time(o, "until", r->has_until, r->until) != 0) {
    cJSON_Delete(o);
    cJSON_Delete(rows);
    cJSON_Delete(trans);
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory formatting the output");
  }
  cJSON_AddItemToObject(o, "rows", rows);
  if (trans)
    cJSON_AddItemToObject(o, "transitions", trans);
  return kehu_output_json(o, err);
}

/* The chart under a line naming the report and the period the server
 * applied, in local time. */
static void print_chart(const Kehu__ReportResult *r)
{
  char a[32] = "", b[32] = "";
  if (r->has_since)
    kehu_format_local_time(r->since, a);
  if (r->has_until)
    kehu_format_local_time(r->until, b);
  kehu_print_text(stdout, r->kind);
  if (a[0] || b[0])
    printf(_(", %s to %s"), a[0] ? a : _("the start"), b[0] ? b : _("now"));
  fputs("\n\n", stdout);
  kehu_chart_style st = {kehu_chart_columns(), kehu_chart_locale_utf8()};
  kehu_chart_print(stdout, r, &st);
}

/* The period from the flags; an end before the start is refused here,
 * before asking the server, naming `until`. */
static int parse_period(const char *since, const char *until, Kehu__ReportRequest *q,
                        kehu_error *err)
{
  int rc = since ? kehu_parse_time_flag(since, "since", &q->since, err) : KEHU_OK;
  if (rc == KEHU_OK && until)
    rc = kehu_parse_time_flag(until, "until", &q->until, err);
  if (rc != KEHU_OK)
    return rc;
  q->has_since = since != NULL;
  q->has_until = until != NULL;
  if (since && until && q->until < q->since)
    return kehu_fail_tr(err, KEHU_INVALID, "until", "--until: %s is before --since %s", until,
                        since);
  return KEHU_OK;
}

int kehu_cmd_report(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const char *since = NULL, *until = NULL, *svg = NULL;
  int csv = 0;
  const kehu_flag flags[] = {{"since", KEHU_FLAG_VALUE, &since},
                             {"until", KEHU_FLAG_VALUE, &until},
                             {"csv", KEHU_FLAG_BOOL, &csv},
                             {"svg", KEHU_FLAG_VALUE, &svg}};
  const kehu_command cmd = {"report", report_usage, flags, 4, 1, 1, "KIND"};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  Kehu__ReportRequest q = KEHU__REPORT_REQUEST__INIT;
  if (rc == KEHU_OK && csv && cli->json)
    rc = kehu_usage_error(cli, report_usage, err, "--csv and --json: choose one");
  if (rc == KEHU_OK && svg && !svg[0])
    rc = kehu_fail_tr(err, KEHU_INVALID, "svg", "--svg: give a file name");
  if (rc == KEHU_OK) {
    q.kind = (char *)args.items[0];
    rc = parse_period(since, until, &q, err);
  }
  Kehu__Envelope *env = NULL;
  if (rc == KEHU_OK) {
    Kehu__Request req = KEHU__REQUEST__INIT;
    req.op_case = KEHU__REQUEST__OP_REPORT;
    req.report = &q;
    rc = kehu_request(cli, &req, &env, err);
  }
  if (rc == KEHU_OK) {
    const Kehu__ReportResult *r = env->response->report;
    if (!r)
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "the server's answer holds no report");
    /* the file first: a chart that cannot be written is the error, and
     * stdout then stays empty as on any other error */
    if (rc == KEHU_OK && svg)
      rc = kehu_chart_svg_file(svg, r, err);
    if (rc == KEHU_OK) {
      if (cli->json)
        rc = print_json(r, err);
      else if (csv)
        rc = kehu_chart_csv(stdout, r, err);
      else
        print_chart(r);
    }
    kehu_envelope_free(env);
  }
  kehu_strlist_free(&args);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}
