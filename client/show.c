#include "show.h"

#include <stdio.h>
#include <stdlib.h>

#include "auth.h"
#include "frame.h"
#include "i18n.h"
#include "output.h"
#include "record_view.h"
#include "records.h"

int kehu_request(kehu_cli *cli, const Kehu__Request *req, Kehu__Envelope **env, kehu_error *err)
{
  *env = NULL;
  int rc = kehu_resolve(cli, err);
  if (rc == KEHU_OK)
    rc = kehu_call(cli, req, env, err);
  if (rc == KEHU_OK && (*env)->response->status != KEHU__STATUS__OK)
    rc = kehu_response_error((*env)->response, err);
  if (rc != KEHU_OK) {
    kehu_envelope_free(*env);
    *env = NULL;
  }
  return rc;
}

int kehu_show_record(const kehu_cli *cli, const ProtobufCMessage *m, kehu_error *err)
{
  if (cli->json)
    return kehu_output_json(kehu_record_json(m), err);
  kehu_record_print(stdout, m);
  return KEHU_OK;
}

/* items[i] is the i-th record, or the Child holding it when children. */
static int show_list(const kehu_cli *cli, void *const *items, size_t n, int children,
                     const char *next, const char *const *columns, kehu_error *err)
{
  const ProtobufCMessage **records = calloc(n + 1, sizeof *records);
  if (!records)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const ProtobufCMessage *m = children ? kehu_child_record(items[i], NULL) : items[i];
    if (m)
      records[k++] = m;
  }
  if (next && !next[0])
    next = NULL;
  int rc = KEHU_OK;
  if (cli->json)
    rc = kehu_output_json(kehu_record_list_json(records, k, next), err);
  else
    kehu_record_table(stdout, records, k, columns, next);
  free(records);
  return rc;
}

int kehu_show_result(const kehu_cli *cli, const Kehu__Response *r, const char *const *columns,
                     kehu_error *err)
{
  const ProtobufCMessage *one = NULL;
  switch (r->result_case) {
  case KEHU__RESPONSE__RESULT_CHILD:
    one = kehu_child_record(r->child, NULL);
    break;
  case KEHU__RESPONSE__RESULT_REMINDER:
    one = &r->reminder->base;
    break;
  case KEHU__RESPONSE__RESULT_FIELD_DEF:
    one = &r->field_def->base;
    break;
  case KEHU__RESPONSE__RESULT_CHILD_PAGE:
    return show_list(cli, (void *const *)r->child_page->items, r->child_page->n_items, 1,
                     r->child_page->next_cursor, columns, err);
  case KEHU__RESPONSE__RESULT_REMINDER_PAGE:
    return show_list(cli, (void *const *)r->reminder_page->items, r->reminder_page->n_items, 0,
                     r->reminder_page->next_cursor, columns, err);
  case KEHU__RESPONSE__RESULT_AUDIT_PAGE:
    return show_list(cli, (void *const *)r->audit_page->items, r->audit_page->n_items, 0,
                     r->audit_page->next_cursor, columns, err);
  case KEHU__RESPONSE__RESULT_FIELD_DEFS:
    return show_list(cli, (void *const *)r->field_defs->defs, r->field_defs->n_defs, 0, NULL,
                     columns, err);
  default:
    break;
  }
  if (!one)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "the server's response carries no record");
  return kehu_show_record(cli, one, err);
}

int kehu_request_show(kehu_cli *cli, const Kehu__Request *req, const char *const *columns,
                      kehu_error *err)
{
  Kehu__Envelope *env = NULL;
  int rc = kehu_request(cli, req, &env, err);
  if (rc == KEHU_OK)
    rc = kehu_show_result(cli, env->response, columns, err);
  kehu_envelope_free(env);
  return rc;
}

int kehu_show_deleted(const kehu_cli *cli, const Kehu__Response *r, const char *id,
                      kehu_error *err)
{
  if (cli->json)
    return kehu_show_result(cli, r, NULL, err);
  printf(_("deleted %s"), id);
  putchar('\n');
  return KEHU_OK;
}
