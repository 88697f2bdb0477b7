/* field define | list (admin), and the check every customer write makes
 * against the definitions (docs/architecture.md#custom-fields). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "audit.h"
#include "handlers.h"
#include "reflect.h"
#include "timefmt.h"
#include "validate.h"

static const char *const field_types[] = {"text", "number", "date", "enum", "bool", NULL};
static const char *const field_entities[] = {"customer", NULL};

static int one_of(const char *v, const char *const *list)
{
  for (; v && *list; list++)
    if (strcmp(v, *list) == 0)
      return 1;
  return 0;
}

static int is_number(const char *v)
{
  const char *p = v;
  if (*p == '-')
    p++;
  if (!isdigit((unsigned char)*p))
    return 0;
  while (isdigit((unsigned char)*p))
    p++;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p))
      return 0;
    while (isdigit((unsigned char)*p))
      p++;
  }
  return *p == '\0';
}

static int value_ok(const Kehu__FieldDef *def, const char *v, kehu_error *err)
{
  int y, m, d;
  const char *t = def->type;
  if (strcmp(t, "text") == 0)
    return kehu_check_text(def->key, v, KEHU_MAX_TEXT_CHARS, err);
  if (strcmp(t, "number") == 0 && !is_number(v))
    return kehu_fail(err, KEHU_INVALID, def->key, "%s: '%s' is not a number", def->key, v);
  if (strcmp(t, "date") == 0 && kehu_date_parse(v, &y, &m, &d) != 0)
    return kehu_fail(err, KEHU_INVALID, def->key, "%s: '%s' is not a date (YYYY-MM-DD)",
                     def->key, v);
  if (strcmp(t, "bool") == 0 && strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
    return kehu_fail(err, KEHU_INVALID, def->key, "%s: '%s' is not true or false", def->key, v);
  if (strcmp(t, "enum") == 0) {
    for (size_t i = 0; i < def->n_options; i++)
      if (strcmp(v, def->options[i]) == 0)
        return KEHU_OK;
    return kehu_fail(err, KEHU_INVALID, def->key, "%s: '%s' is not one of its options", def->key,
                     v);
  }
  return KEHU_OK;
}

typedef struct {
  Kehu__CustomField **fields;
  size_t n;
  unsigned char *seen;
  kehu_error *err;
} field_check;

static int check_def(const Kehu__FieldDef *def, void *arg)
{
  field_check *fc = arg;
  for (size_t i = 0; i < fc->n; i++) {
    if (strcmp(fc->fields[i]->key, def->key) != 0)
      continue;
    fc->seen[i] = 1;
    return value_ok(def, fc->fields[i]->value, fc->err);
  }
  if (def->has_required && def->required)
    return kehu_fail(fc->err, KEHU_INVALID, def->key, "%s: is a required field (--field %s=...)",
                     def->key, def->key);
  return KEHU_OK;
}

int kehu_fields_check(kehu_txn *t, const char *entity, Kehu__CustomField **fields, size_t n,
                      kehu_error *err)
{
  unsigned char seen[64] = {0};
  if (n > sizeof seen)
    return kehu_fail(err, KEHU_INVALID, "field", "field: at most %zu custom fields", sizeof seen);
  field_check fc = {fields, n, seen, err};
  int rc = kehu_store_field_each(t, entity, check_def, &fc);
  if (rc != KEHU_OK)
    return rc;
  for (size_t i = 0; i < n; i++)
    if (!seen[i])
      return kehu_fail(err, KEHU_INVALID, fields[i]->key,
                       "%s: no custom field of that name is defined for %ss (kehu field define)",
                       fields[i]->key, entity);
  return KEHU_OK;
}

typedef struct {
  const Kehu__FieldDef *def;
  kehu_caller caller;
  int64_t now;
} define_write;

static int apply_define(kehu_txn *t, void *arg)
{
  define_write *w = arg;
  int rc = kehu_store_field_put(t, w->def);
  return rc == KEHU_OK ? kehu_audit(t, &w->caller, w->now, "update", "field", w->def->key,
                                    w->def->type)
                       : rc;
}

static void defined(kehu_call *call, int status, void *arg)
{
  define_write *w = arg;
  if (status != KEHU_OK) {
    kehu_reply_status(call, status, "the field was not stored: %s", kehu_status_name(status));
  } else {
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_FIELD_DEF;
    r.field_def = (Kehu__FieldDef *)w->def;
    kehu_reply(call, &r);
  }
  free(w);
}

void kehu_handle_field_define(kehu_call *call)
{
  Kehu__FieldDef *def = call->req->field_define->def;
  kehu_error err = {0};
  if (kehu_access_admin(&call->caller, "define custom fields", &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  if (!one_of(def->entity, field_entities)) {
    kehu_reply_status(call, KEHU_INVALID, "entity: '%s' has no custom fields (customer has)",
                      def->entity);
    return;
  }
  if (kehu_check_username("key", def->key, &err) != KEHU_OK ||
      (def->label && kehu_check_name("label", def->label, 100, &err) != KEHU_OK)) {
    kehu_reply_error(call, &err);
    return;
  }
  if (!one_of(def->type, field_types)) {
    kehu_reply_status(call, KEHU_INVALID, "type: '%s' is not one of text, number, date, enum, bool",
                      def->type);
    return;
  }
  if ((strcmp(def->type, "enum") == 0) != (def->n_options > 0)) {
    kehu_reply_status(call, KEHU_INVALID, "option: an enum field needs --option values, and "
                      "only an enum field takes them");
    return;
  }
  for (size_t i = 0; i < def->n_options; i++)
    if (kehu_check_name("option", def->options[i], 100, &err) != KEHU_OK) {
      kehu_reply_error(call, &err);
      return;
    }
  define_write *w = calloc(1, sizeof *w);
  if (!w) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return;
  }
  w->def = def;
  w->caller = call->caller;
  w->now = kehu_now(call->srv);
  kehu_submit_write(call, apply_define, defined, w);
}

typedef struct {
  Kehu__FieldDef **defs;
  size_t n, cap;
} def_list;

static int collect_def(const Kehu__FieldDef *def, void *arg)
{
  def_list *l = arg;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    Kehu__FieldDef **p = realloc(l->defs, cap * sizeof *p);
    if (!p)
      return KEHU_EXHAUSTED;
    l->defs = p;
    l->cap = cap;
  }
  Kehu__FieldDef *copy = (Kehu__FieldDef *)kehu_msg_copy(&def->base);
  if (!copy)
    return KEHU_EXHAUSTED;
  l->defs[l->n++] = copy;
  return KEHU_OK;
}

void kehu_handle_field_list(kehu_call *call)
{
  const char *entity = call->req->field_list->entity ? call->req->field_list->entity : "customer";
  def_list l = {0};
  kehu_txn t;
  int rc = kehu_store_read_begin(call->srv->store, &t);
  if (rc == KEHU_OK) {
    rc = kehu_store_field_each(&t, entity, collect_def, &l);
    kehu_store_read_end(&t);
  }
  if (rc != KEHU_OK) {
    kehu_reply_status(call, rc, "cannot list fields: %s", kehu_status_name(rc));
  } else {
    Kehu__FieldDefs defs = KEHU__FIELD_DEFS__INIT;
    defs.defs = l.defs;
    defs.n_defs = l.n;
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_FIELD_DEFS;
    r.field_defs = &defs;
    kehu_reply(call, &r);
  }
  for (size_t i = 0; i < l.n; i++)
    kehu__field_def__free_unpacked(l.defs[i], NULL);
  free(l.defs);
}
