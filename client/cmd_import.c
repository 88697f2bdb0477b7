/* kehu import customers FILE|-: a CSV or .xlsx file (or standard input)
 * sent to the server in chunks of at most 1 MiB, each after the previous
 * one's reply, the last answered with the import's report
 * (docs/protocol.md, ImportChunk). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "auth.h"
#include "cli.h"
#include "files.h"
#include "frame.h"
#include "i18n.h"
#include "import_errors.h"
#include "output.h"

#define CHUNK (1024 * 1024)   /* the protocol's most per chunk */

static const char import_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] import COMMAND ...\n"
  "\n"
  "Commands:\n"
  "  customers FILE [--dry-run] [--encoding auto|utf-8|gbk]\n"
  "                 [--on-duplicate skip|update|error] [--incomplete reject|accept]\n"
  "                 [--errors-out FILE.xlsx]\n"
  "                                    add the customers (and contacts) of a .csv or .xlsx;\n"
  "                                    FILE - reads standard input\n"
  "  template [-o FILE.xlsx]           the empty template: headers and allowed values\n");

static const char customers_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] import customers FILE [--dry-run] [--encoding auto|utf-8|gbk]\n"
  "                 [--on-duplicate skip|update|error] [--incomplete reject|accept]\n"
  "                 [--errors-out FILE.xlsx]\n"
  "\n"
  "Adds the customers of FILE (.csv in UTF-8 or GBK, or .xlsx), one per row after\n"
  "the header row, with the row's contact when it names one. FILE - (or a pipe)\n"
  "is read as it comes, each part sent as soon as it is there; an .xlsx is told by\n"
  "its first bytes (PK), anything else is CSV.\n"
  "  --dry-run                 check every row and write nothing\n"
  "  --encoding E              a CSV's encoding (default: auto)\n"
  "  --on-duplicate skip       rows matching an existing customer are counted and\n"
  "                            left alone (default); update: the row's fields\n"
  "                            overwrite; error: the row is rejected\n"
  "  --incomplete reject       rows leaving a field of [import] complete_fields\n"
  "                            (kehud.conf) empty are rejected (default); accept:\n"
  "                            they are added, counted as incomplete, tagged\n"
  "                            待补充, and the owner reminded 2 working days later\n"
  "  --errors-out FILE.xlsx    the rejected rows as they are in FILE, each bad cell\n"
  "                            filled red, with a reason column: fix it, import it\n"
  "                            (from standard input, a temporary copy of what was\n"
  "                            read is kept for it)\n"
  "Exit status 7 when some rows were rejected (the report is printed).\n");

static int is_xlsx(const char *path, const unsigned char *head, size_t n)
{
  size_t len = strlen(path);
  if (len >= 5 && strcasecmp(path + len - 5, ".xlsx") == 0)
    return 1;
  return n >= 4 && memcmp(head, "PK\x03\x04", 4) == 0;
}

static void show_report(const kehu_cli *cli, const Kehu__ImportResult *r)
{
  if (cli->json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "accepted", r->accepted);
    cJSON_AddNumberToObject(o, "updated", r->updated);
    cJSON_AddNumberToObject(o, "duplicates", r->duplicates);
    cJSON_AddNumberToObject(o, "incomplete", r->incomplete);
    cJSON_AddNumberToObject(o, "rejected", r->rejected);
    cJSON *errs = cJSON_AddArrayToObject(o, "errors");
    for (size_t i = 0; i < r->n_errors; i++) {
      cJSON *e = cJSON_CreateObject();
      cJSON_AddNumberToObject(e, "line", r->errors[i]->line);
      kehu_json_add_string(e, "column", r->errors[i]->column ? r->errors[i]->column : "");
      kehu_json_add_string(e, "reason", r->errors[i]->reason);
      cJSON_AddItemToArray(errs, e);
    }
    kehu_error ignored = {0};
    kehu_output_json(o, &ignored);
    return;
  }
  /* TRANSLATORS: the report of an import; the first %s is "dry run,
   * nothing written: " or empty. */
  printf(_("%s%u accepted, %u updated, %u duplicates, %u incomplete, %u rejected\n"),
         r->has_dry_run && r->dry_run ? _("dry run, nothing written: ") : "", r->accepted,
         r->updated, r->duplicates, r->incomplete, r->rejected);
  if (r->ignored_columns && *r->ignored_columns)
    printf(_("columns ignored: %s\n"), r->ignored_columns);
  if (!r->n_errors)
    return;
  /* TRANSLATORS: the columns of an import's rejected rows. */
  const kehu_column cols[] = {{_("LINE"), 0}, {_("COLUMN"), 30}, {_("REASON"), 0}};
  const char **cells = calloc(r->n_errors * 3, sizeof *cells);
  char (*lines)[16] = calloc(r->n_errors, sizeof *lines);
  if (cells && lines) {
    for (size_t i = 0; i < r->n_errors; i++) {
      snprintf(lines[i], sizeof lines[i], "%u", r->errors[i]->line);
      cells[i * 3] = lines[i];
      cells[i * 3 + 1] = r->errors[i]->column;
      cells[i * 3 + 2] = r->errors[i]->reason;
    }
    printf("\n");
    kehu_print_table(stdout, cols, 3, cells, r->n_errors);
    if (r->rejected > r->n_errors)
      printf(_("(%u more rejected rows not listed)\n"), r->rejected - (unsigned)r->n_errors);
  }
  free(cells);
  free(lines);
}

/* --errors-out: the rejected rows of path, their bad cells red
 * (import_errors.c), for the person to fix and import again. */
static int write_errors(FILE *copy, const char *path, const char *encoding,
                        const Kehu__ImportResult *r, const char *out, kehu_error *err)
{
  kehu_import_rejection *rows = calloc(r->n_errors, sizeof *rows);
  if (!rows)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
  for (size_t i = 0; i < r->n_errors; i++) {
    rows[i].line = r->errors[i]->line;
    rows[i].column = r->errors[i]->column;
    rows[i].reason = r->errors[i]->reason;
  }
  int rc;
  if (copy) {
    rewind(copy);
    rc = kehu_import_write_errors_from(copy, path, encoding ? encoding : "auto", rows,
                                       r->n_errors, out, err);
  } else {
    rc = kehu_import_write_errors(path, encoding ? encoding : "auto", rows, r->n_errors, out,
                                  err);
  }
  free(rows);
  if (rc == KEHU_OK && !r->rejected)
    return rc;
  if (rc == KEHU_OK && r->rejected > r->n_errors)
    fprintf(stderr, _("kehu: %s holds the first %zu of %llu rejected rows\n"), out, r->n_errors,
            (unsigned long long)r->rejected);
  else if (rc == KEHU_OK)
    fprintf(stderr, _("kehu: the rejected rows are in %s, their bad cells in red\n"), out);
  return rc;
}

static int customers(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const char *encoding = NULL, *on_dup = NULL, *incomplete = NULL, *errors_out = NULL;
  int dry_run = 0;
  const kehu_flag flags[] = {
    {"errors-out", KEHU_FLAG_VALUE, &errors_out},
    {"dry-run", KEHU_FLAG_BOOL, &dry_run},
    {"encoding", KEHU_FLAG_VALUE, &encoding},
    {"on-duplicate", KEHU_FLAG_VALUE, &on_dup},
    {"incomplete", KEHU_FLAG_VALUE, &incomplete},
  };
  const kehu_command cmd = {"import customers", customers_usage, flags,
                            sizeof flags / sizeof *flags, 1, 1, "FILE"};
  kehu_strlist args = {0};
  kehu_conn *conn = NULL;
  Kehu__Envelope *env = NULL;
  kehu_send_file src = {.fd = -1};
  FILE *copy = NULL;   /* --errors-out from a pipe: what was read */
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc != KEHU_OK)
    goto done;
  if (encoding && strcmp(encoding, "auto") != 0 && strcasecmp(encoding, "utf-8") != 0 &&
      strcasecmp(encoding, "utf8") != 0 && strcasecmp(encoding, "gbk") != 0) {
    rc = kehu_usage_error(cli, customers_usage, err, "--encoding: '%s' is not auto, utf-8 or gbk",
                          encoding);
    goto done;
  }
  if (on_dup && strcmp(on_dup, "skip") != 0 && strcmp(on_dup, "update") != 0 &&
      strcmp(on_dup, "error") != 0) {
    rc = kehu_usage_error(cli, customers_usage, err,
                          "--on-duplicate: '%s' is not skip, update or error", on_dup);
    goto done;
  }
  if (incomplete && strcmp(incomplete, "reject") != 0 && strcmp(incomplete, "accept") != 0) {
    rc = kehu_usage_error(cli, customers_usage, err, "--incomplete: '%s' is not reject or accept",
                          incomplete);
    goto done;
  }
  const char *path = args.items[0];
  if ((rc = kehu_file_open_to_send(path, CHUNK, KEHU_SEND_STREAMS, &src, err)) != KEHU_OK)
    goto done;
  /* --errors-out reads the input again; what cannot be read twice is kept
   * in an unnamed temporary file as it is sent */
  if (errors_out && (src.stream || src.from_stdin) && !(copy = tmpfile())) {
    rc = kehu_fail_errno(err, KEHU_INTERNAL, NULL, errno,
                         "--errors-out: no temporary file to keep %s", src.name);
    goto done;
  }
  rc = kehu_resolve(cli, err);
  if (rc == KEHU_OK)
    rc = kehu_session_open(cli, &conn, err);
  int progress = isatty(STDERR_FILENO) && !cli->json;
  long long sent = 0;
  for (int first = 1; rc == KEHU_OK;) {
    /* the first chunk needs 4 bytes to tell an .xlsx by; while a pipe
     * gives nothing, a server that goes away is noticed at once */
    size_t got;
    int last, woken;
    rc = kehu_send_next(&src, first ? 4 : 1, kehu_conn_fd(conn), &got, &last, &woken, err);
    if (rc != KEHU_OK)
      break;
    if (woken) {
      Kehu__Envelope *ev = NULL;
      rc = kehu_conn_next(conn, 0, &ev, err);
      kehu_envelope_free(ev);   /* an event this command does not show */
      continue;
    }
    if (copy && got && fwrite(src.buf, 1, got, copy) != got) {
      rc = kehu_fail_errno(err, KEHU_INTERNAL, NULL, errno,
                           "--errors-out: cannot keep a copy of %s", src.name);
      break;
    }
    sent += (long long)got;
    Kehu__ImportChunk ch = KEHU__IMPORT_CHUNK__INIT;
    ch.data.data = src.buf;
    ch.data.len = got;
    ch.has_last = 1;
    ch.last = last;
    if (first) {
      ch.has_first = ch.first = 1;
      ch.kind = is_xlsx(path, src.buf, got) ? "xlsx" : "csv";
      ch.encoding = (char *)encoding;
      ch.on_duplicate = (char *)on_dup;
      ch.incomplete = (char *)incomplete;
      ch.has_dry_run = 1;
      ch.dry_run = dry_run;
      first = 0;
    }
    Kehu__Request req = KEHU__REQUEST__INIT;
    req.op_case = KEHU__REQUEST__OP_IMPORT_CHUNK;
    req.import_chunk = &ch;
    uint64_t id = kehu_conn_queue(conn, &req);
    if (!id) {
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory queueing a chunk");
      break;
    }
    kehu_envelope_free(env);
    env = NULL;
    rc = kehu_conn_wait(conn, id, &env, err);
    if (rc == KEHU_OK && env->response->status != KEHU__STATUS__OK)
      rc = kehu_response_error(env->response, err);
    if (rc != KEHU_OK)
      break;
    if (progress)
      fputc('\r', stderr);
    if (progress && src.size >= 0)
      fprintf(stderr, _("kehu: import: %lld of %lld bytes sent"), sent, src.size);
    else if (progress)
      fprintf(stderr, _("kehu: import: %lld bytes sent"), sent);
    if (last)
      break;
  }
  if (progress)
    fprintf(stderr, "\n");
  if (rc == KEHU_OK) {
    const Kehu__ImportResult *r = env->response->import_result;
    if (env->response->result_case != KEHU__RESPONSE__RESULT_IMPORT_RESULT || !r) {
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "the server sent no import report");
    } else {
      show_report(cli, r);
      if (errors_out && r->n_errors)
        rc = write_errors(copy, copy ? src.name : path, encoding, r, errors_out, err);
      if (rc == KEHU_OK && r->rejected) {
        err->message[0] = '\0';   /* the report says which rows */
        rc = KEHU_INVALID;
      }
    }
  }
done:
  kehu_envelope_free(env);
  kehu_conn_close(conn);
  kehu_send_close(&src);
  if (copy)
    fclose(copy);
  kehu_strlist_free(&args);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}

int kehu_cmd_import(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  static const kehu_subcommand subs[] = {{"customers", customers},
                                         {"template", kehu_cmd_import_template}};
  return kehu_subcommand_run(cli, "import", import_usage, subs, sizeof subs / sizeof *subs, argc,
                             argv, err);
}
