/* kehu report KIND: counts over the customers the caller may see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "frame.h"
#include "output.h"
#include "show.h"
#include "timefmt.h"

static const char report_usage[] =
  "usage: kehu [GLOBAL OPTIONS] report KIND [--since TIME]\n"
  "\n"
  "KIND: summary   customers, by stage, dormant (no follow-up for 180 days)\n"
  "      stage | industry | region | source | owner   customers by that field\n"
  "      activity  follow-ups per rep since --since (default 30 days back)\n"
  "      top       the 20 customers with most revenue in the last 12 months\n";

int kehu_cmd_report(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const char *since = NULL;
  const kehu_flag flags[] = {{"since", KEHU_FLAG_VALUE, &since}};
  const kehu_command cmd = {"report", report_usage, flags, 1, 1, 1, "KIND"};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  Kehu__ReportRequest q = KEHU__REPORT_REQUEST__INIT;
  if (rc == KEHU_OK) {
    q.kind = (char *)args.items[0];
    if (since && kehu_time_parse(since, &q.since) != 0)
      rc = kehu_fail(err, KEHU_INVALID, "since", "--since: '%s' is not a time", since);
    q.has_since = since != NULL;
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
    int money = strcmp(r->kind, "top") == 0;
    if (cli->json) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "kind", r->kind);
      cJSON *rows = cJSON_AddArrayToObject(o, "rows");
      for (size_t i = 0; i < r->n_rows; i++) {
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "key", r->rows[i]->key);
        cJSON_AddNumberToObject(row, "count", (double)r->rows[i]->count);
        if (money) {
          char yuan[32];
          kehu_money_format(r->rows[i]->amount, yuan);
          cJSON_AddStringToObject(row, "amount", yuan);
        }
        cJSON_AddItemToArray(rows, row);
      }
      rc = kehu_output_json(o, err);
    } else {
      const kehu_column cols[] = {{money ? "CUSTOMER" : "KEY", 60}, {"COUNT", 0}, {"AMOUNT", 0}};
      const char **cells = calloc(r->n_rows * 3 + 1, sizeof *cells);
      char (*text)[2][32] = calloc(r->n_rows + 1, sizeof *text);
      for (size_t i = 0; cells && text && i < r->n_rows; i++) {
        snprintf(text[i][0], sizeof text[i][0], "%llu", (unsigned long long)r->rows[i]->count);
        kehu_money_format(r->rows[i]->amount, text[i][1]);
        cells[i * 3] = r->rows[i]->key;
        cells[i * 3 + 1] = text[i][0];
        cells[i * 3 + 2] = text[i][1];
      }
      if (cells && text) {
        /* the amount column only where there are amounts */
        if (money) {
          kehu_print_table(stdout, cols, 3, cells, r->n_rows);
        } else {
          const char **two = calloc(r->n_rows * 2 + 1, sizeof *two);
          for (size_t i = 0; two && i < r->n_rows; i++) {
            two[i * 2] = cells[i * 3];
            two[i * 2 + 1] = cells[i * 3 + 1];
          }
          if (two)
            kehu_print_table(stdout, cols, 2, two, r->n_rows);
          free(two);
        }
      }
      free(cells);
      free(text);
    }
    kehu_envelope_free(env);
  }
  kehu_strlist_free(&args);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}
