#include "customer_view.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "i18n.h"
#include "output.h"
#include "record_view.h"
#include "timefmt.h"

/* ---- JSON ---- */

/* The plain string fields, in output order. */
static const struct {
  const char *key;
  size_t offset;
} customer_strings[] = {
  {"id", offsetof(Kehu__Customer, id)},
  {"name", offsetof(Kehu__Customer, name)},
  {"short_name", offsetof(Kehu__Customer, short_name)},
  {"kind", offsetof(Kehu__Customer, kind)},
  {"stage", offsetof(Kehu__Customer, stage)},
  {"industry", offsetof(Kehu__Customer, industry)},
  {"size", offsetof(Kehu__Customer, size)},
  {"region", offsetof(Kehu__Customer, region)},
  {"address", offsetof(Kehu__Customer, address)},
  {"source", offsetof(Kehu__Customer, source)},
  {"owner", offsetof(Kehu__Customer, owner)},
};

static const char *string_at(const Kehu__Customer *c, size_t offset)
{
  return *(char *const *)((const char *)c + offset);
}

static cJSON *stage_change_json(const Kehu__StageChange *s)
{
  cJSON *o = cJSON_CreateObject();
  if (!o || kehu_json_add_string(o, "from", s->from) || kehu_json_add_string(o, "to", s->to) ||
      kehu_json_add_time(o, "at", 1, s->at) || kehu_json_add_string(o, "by", s->by) ||
      kehu_json_add_string(o, "reason", s->reason)) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static cJSON *tier_change_json(const Kehu__TierChange *s)
{
  cJSON *o = cJSON_CreateObject();
  if (!o || kehu_json_add_string(o, "from", s->from && *s->from ? s->from : NULL) ||
      kehu_json_add_string(o, "to", s->to) || kehu_json_add_time(o, "at", 1, s->at) ||
      kehu_json_add_string(o, "reason", s->reason)) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

/* Amounts as yuan strings with two decimals (null when not given: the
 * caller's role sees none). */
static int add_yuan(cJSON *o, const char *key, int has, int64_t fen)
{
  char yuan[32];
  if (has)
    kehu_money_format(fen, yuan);
  return kehu_json_add_string(o, key, has ? yuan : NULL);
}

/* What the tier follows from (`customer get` only; null elsewhere). */
static int add_tier_basis(cJSON *o, const Kehu__TierBasis *b)
{
  if (!b)
    return cJSON_AddNullToObject(o, "tier_basis") ? 0 : -1;
  cJSON *j = cJSON_AddObjectToObject(o, "tier_basis");
  return !j || kehu_json_add_time(j, "last_order_at", b->has_last_order_at, b->last_order_at) ||
         !cJSON_AddNumberToObject(j, "orders_3m", b->orders_3m) ||
         !cJSON_AddNumberToObject(j, "orders_12m", b->orders_12m) ||
         add_yuan(j, "amount_3m", b->has_amount_3m, b->amount_3m) ||
         add_yuan(j, "amount_12m", b->has_amount_12m, b->amount_12m) ||
         kehu_json_add_time(j, "last_negative_at", b->has_last_negative_at,
                            b->last_negative_at) ||
         kehu_json_add_string(j, "reason", b->reason)
             ? -1
             : 0;
}

cJSON *kehu_customer_json(const Kehu__Customer *c)
{
  cJSON *o = cJSON_CreateObject();
  int bad = !o;
  for (size_t i = 0; !bad && i < sizeof customer_strings / sizeof *customer_strings; i++)
    bad = kehu_json_add_string(o, customer_strings[i].key,
                               string_at(c, customer_strings[i].offset)) != 0;
  cJSON *tags = bad ? NULL : cJSON_AddArrayToObject(o, "tags");
  bad = bad || !tags;
  for (size_t i = 0; !bad && i < c->n_tags; i++)
    bad = !cJSON_AddItemToArray(tags, cJSON_CreateString(c->tags[i]));
  bad = bad || kehu_json_add_string(o, "notes", c->notes) ||
        kehu_json_add_string(o, "external_code", c->external_code) ||
        kehu_json_add_string(o, "first_contact_at", c->first_contact_at) ||
        kehu_json_add_time(o, "last_contact_at", c->has_last_contact_at, c->last_contact_at) ||
        kehu_json_add_time(o, "created_at", c->has_created_at, c->created_at) ||
        kehu_json_add_time(o, "updated_at", c->has_updated_at, c->updated_at) ||
        kehu_json_add_string(o, "created_by", c->created_by);
  if (!bad)
    bad = !(c->has_version ? cJSON_AddNumberToObject(o, "version", c->version)
                           : cJSON_AddNullToObject(o, "version"));
  bad = bad || !cJSON_AddBoolToObject(o, "deleted", c->has_deleted && c->deleted) ||
        kehu_json_add_time(o, "deleted_at", c->has_deleted_at, c->deleted_at) ||
        kehu_json_add_string(o, "merged_into", c->merged_into);
  cJSON *history = bad ? NULL : cJSON_AddArrayToObject(o, "stage_history");
  bad = bad || !history;
  for (size_t i = 0; !bad && i < c->n_stage_history; i++)
    bad = !cJSON_AddItemToArray(history, stage_change_json(c->stage_history[i]));
  cJSON *fields = bad ? NULL : cJSON_AddObjectToObject(o, "fields");
  bad = bad || !fields;
  for (size_t i = 0; !bad && i < c->n_fields; i++)
    bad = kehu_json_add_string(fields, c->fields[i]->key, c->fields[i]->value) != 0;
  bad = bad || kehu_json_add_string(o, "tier", c->tier) || add_tier_basis(o, c->tier_basis);
  cJSON *tiers = bad ? NULL : cJSON_AddArrayToObject(o, "tier_history");
  bad = bad || !tiers;
  for (size_t i = 0; !bad && i < c->n_tier_history; i++)
    bad = !cJSON_AddItemToArray(tiers, tier_change_json(c->tier_history[i]));
  /* `customer get` brings the contacts along; lists do not */
  cJSON *contacts = bad ? NULL : cJSON_AddArrayToObject(o, "contacts");
  bad = bad || !contacts;
  for (size_t i = 0; !bad && i < c->n_contacts; i++)
    bad = !cJSON_AddItemToArray(contacts, kehu_record_json(&c->contacts[i]->base));
  if (bad) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

cJSON *kehu_customer_page_json(const Kehu__CustomerPage *page)
{
  cJSON *o = cJSON_CreateObject();
  cJSON *items = o ? cJSON_AddArrayToObject(o, "items") : NULL;
  int bad = !items;
  for (size_t i = 0; !bad && i < page->n_items; i++)
    bad = !cJSON_AddItemToArray(items, kehu_customer_json(page->items[i]));
  const char *cursor = page->next_cursor && page->next_cursor[0] ? page->next_cursor : NULL;
  if (bad || kehu_json_add_string(o, "next_cursor", cursor)) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

cJSON *kehu_duplicates_json(const Kehu__DuplicateList *list)
{
  cJSON *o = cJSON_CreateObject();
  cJSON *items = o ? cJSON_AddArrayToObject(o, "items") : NULL;
  int bad = !items;
  for (size_t i = 0; !bad && i < list->n_pairs; i++) {
    const Kehu__DuplicatePair *p = list->pairs[i];
    cJSON *pair = cJSON_CreateObject();
    bad = !pair || !cJSON_AddItemToArray(items, pair) ||
          !cJSON_AddItemToObject(pair, "a", kehu_customer_json(p->a)) ||
          !cJSON_AddItemToObject(pair, "b", kehu_customer_json(p->b)) ||
          kehu_json_add_string(pair, "reason", p->reason);
  }
  if (bad || kehu_json_add_string(o, "next_cursor", NULL)) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

cJSON *kehu_merge_json(const Kehu__MergeResult *m)
{
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddItemToObject(o, "kept", kehu_customer_json(m->kept)) ||
      !cJSON_AddNumberToObject(o, "moved", m->moved) ||
      !cJSON_AddNumberToObject(o, "reminders_moved", m->reminders_moved)) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

/* ---- human ---- */

/* Joins n strings with sep into a malloc'd string ("" when n is 0). */
static char *join(char *const *items, size_t n, const char *sep)
{
  size_t len = 1;
  for (size_t i = 0; i < n; i++)
    len += strlen(items[i]) + strlen(sep);
  char *out = malloc(len);
  if (!out)
    return NULL;
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (i)
      strcat(out, sep);
    strcat(out, items[i]);
  }
  return out;
}

static void local_date(int64_t t, char out[16])
{
  time_t tt = (time_t)t;
  struct tm tm;
  out[0] = '\0';
  if (t && localtime_r(&tt, &tm))
    strftime(out, 16, "%Y-%m-%d", &tm);
}

/* "churn_risk (no order for 95 days; last order 2026-08-01; 3 months: 0
 * orders; 12 months: 4 orders, 52000.00)"; the amounts only when given. */
static void tier_line(const Kehu__Customer *c, char *out, size_t len)
{
  const Kehu__TierBasis *b = c->tier_basis;
  if (!c->tier || !b) {
    snprintf(out, len, "%s", c->tier ? c->tier : "");
    return;
  }
  char last[16], a3[32], a12[32], last_part[80] = "", m3[80], m12[80];
  local_date(b->has_last_order_at ? b->last_order_at : 0, last);
  if (last[0])
    snprintf(last_part, sizeof last_part, _("; last order %s"), last);
  kehu_money_format(b->amount_3m, a3);
  kehu_money_format(b->amount_12m, a12);
  int n = snprintf(m3, sizeof m3,
                   ngettext("3 months: %u order", "3 months: %u orders", b->orders_3m),
                   b->orders_3m);
  /* TRANSLATORS: an amount after the orders it is the sum of. */
  if (b->has_amount_3m && n > 0 && (size_t)n < sizeof m3)
    snprintf(m3 + n, sizeof m3 - (size_t)n, _(", %s"), a3);
  n = snprintf(m12, sizeof m12,
               ngettext("12 months: %u order", "12 months: %u orders", b->orders_12m),
               b->orders_12m);
  if (b->has_amount_12m && n > 0 && (size_t)n < sizeof m12)
    snprintf(m12 + n, sizeof m12 - (size_t)n, _(", %s"), a12);
  /* TRANSLATORS: the tier (the server's reason, the last order; the
   * orders of 3 months; of 12 months). */
  snprintf(out, len, _("%s (%s%s; %s; %s)"), c->tier, b->reason ? b->reason : "", last_part, m3,
           m12);
}

static void tier_history_print(FILE *f, const Kehu__Customer *c)
{
  size_t n = c->n_tier_history;
  kehu_kv *rows = calloc(n, sizeof *rows);
  char (*at)[32] = calloc(n, sizeof *at);
  char (*lines)[256] = calloc(n, sizeof *lines);
  if (rows && at && lines) {
    for (size_t i = 0; i < n; i++) {
      const Kehu__TierChange *t = c->tier_history[i];
      kehu_format_local_time(t->at, at[i]);
      snprintf(lines[i], sizeof lines[i], "%s -> %s%s%s%s",
               t->from && t->from[0] ? t->from : _("(none)"), t->to, t->reason ? " (" : "",
               t->reason ? t->reason : "", t->reason ? ")" : "");
      rows[i] = (kehu_kv){at[i], lines[i]};
    }
    fputs(_("tier history:"), f);
    fputc('\n', f);
    kehu_print_kv(f, rows, n, 2);
  }
  free(rows);
  free(at);
  free(lines);
}

void kehu_customer_print(FILE *f, const Kehu__Customer *c)
{
  char *tags = join(c->tags, c->n_tags, ", ");
  char created[32], updated[32], last_contact[32], deleted_at[32], version[16];
  kehu_format_local_time(c->has_created_at ? c->created_at : 0, created);
  kehu_format_local_time(c->has_updated_at ? c->updated_at : 0, updated);
  kehu_format_local_time(c->has_last_contact_at ? c->last_contact_at : 0, last_contact);
  kehu_format_local_time(c->has_deleted_at ? c->deleted_at : 0, deleted_at);
  snprintf(version, sizeof version, "%" PRIu32, c->version);
  char tier[512];
  tier_line(c, tier, sizeof tier);
  int deleted = c->has_deleted && c->deleted;

  /* TRANSLATORS: the labels of `kehu customer get`, one a line. */
  kehu_kv rows[] = {
    {_("id"), c->id},
    {_("name"), c->name},
    {_("short name"), c->short_name},
    {_("kind"), c->kind},
    {_("stage"), kehu_stage_label(c->stage)},
    {_("tier"), tier[0] ? tier : NULL},
    {_("industry"), c->industry},
    {_("size"), c->size},
    {_("region"), c->region},
    {_("address"), c->address},
    {_("source"), c->source},
    {_("owner"), c->owner},
    {_("tags"), tags},
    {_("external code"), c->external_code},
    {_("first contact"), c->first_contact_at},
    {_("last contact"), last_contact},
    {_("created"), created},
    {_("created by"), c->created_by},
    {_("updated"), updated},
    {_("version"), c->has_version ? version : NULL},
    {_("deleted"), deleted ? (deleted_at[0] ? deleted_at : _("yes")) : NULL},
    {_("merged into"), c->merged_into},
    {_("notes"), c->notes},
  };
  kehu_print_kv(f, rows, sizeof rows / sizeof *rows, 0);
  free(tags);

  if (c->n_fields > 0) {
    kehu_kv *fields = calloc(c->n_fields, sizeof *fields);
    if (fields) {
      for (size_t i = 0; i < c->n_fields; i++)
        fields[i] = (kehu_kv){c->fields[i]->key, c->fields[i]->value};
      fputs(_("fields:"), f);
      fputc('\n', f);
      kehu_print_kv(f, fields, c->n_fields, 2);
      free(fields);
    }
  }
  if (c->n_stage_history > 0) {
    size_t n = c->n_stage_history;
    kehu_kv *rows_h = calloc(n, sizeof *rows_h);
    char (*at)[32] = calloc(n, sizeof *at);
    char **lines = calloc(n, sizeof *lines);
    if (rows_h && at && lines) {
      for (size_t i = 0; i < n; i++) {
        const Kehu__StageChange *s = c->stage_history[i];
        kehu_format_local_time(s->at, at[i]);
        const char *from = s->from && s->from[0] ? kehu_stage_label(s->from) : _("(new)");
        const char *to = kehu_stage_label(s->to);
        int made;
        if (s->reason && s->reason[0])
          /* TRANSLATORS: a stage change: from, to, by whom (why). */
          made = asprintf(&lines[i], _("%s -> %s by %s (%s)"), from, to, s->by, s->reason);
        else
          /* TRANSLATORS: a stage change: from, to, by whom. */
          made = asprintf(&lines[i], _("%s -> %s by %s"), from, to, s->by);
        if (made < 0)
          lines[i] = NULL;
        rows_h[i] = (kehu_kv){at[i], lines[i]};
      }
      fputs(_("stage history:"), f);
      fputc('\n', f);
      kehu_print_kv(f, rows_h, n, 2);
      for (size_t i = 0; i < n; i++)
        free(lines[i]);
    }
    free(rows_h);
    free(at);
    free(lines);
  }
  if (c->n_tier_history > 0)
    tier_history_print(f, c);
  if (c->n_contacts > 0) {
    static const char *const columns[] = {"id", "name", "title", "phones", "email", NULL};
    fputs(_("contacts:"), f);
    fputc('\n', f);
    kehu_record_table(f, (const ProtobufCMessage *const *)c->contacts, c->n_contacts, columns, NULL);
  }
}

void kehu_customer_page_print(FILE *f, const Kehu__CustomerPage *page)
{
  /* TRANSLATORS: the columns of `kehu customer list`. */
  const kehu_column cols[] = {
    {_("ID"), 0}, {_("NAME"), 40}, {_("STAGE"), 0}, {_("OWNER"), 0}, {_("REGION"), 24},
    {_("UPDATED"), 0},
  };
  enum { NCOLS = sizeof cols / sizeof *cols };
  size_t n = page->n_items;
  const char **cells = calloc(n * NCOLS + 1, sizeof *cells);
  char (*updated)[32] = calloc(n + 1, sizeof *updated);
  if (!cells || !updated) {
    free(cells);
    free(updated);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    const Kehu__Customer *c = page->items[i];
    kehu_format_local_time(c->has_updated_at ? c->updated_at : 0, updated[i]);
    const char **row = cells + i * NCOLS;
    row[0] = c->id;
    row[1] = c->name;
    row[2] = kehu_stage_label(c->stage);
    row[3] = c->owner;
    row[4] = c->region;
    row[5] = updated[i];
  }
  if (n == 0) {
    fputs(_("no customers"), f);
    fputc('\n', f);
  } else {
    kehu_print_table(f, cols, NCOLS, cells, n);
  }
  if (page->next_cursor && page->next_cursor[0]) {
    fprintf(f, _("more: --cursor %s"), page->next_cursor);
    fputc('\n', f);
  }
  free(cells);
  free(updated);
}

void kehu_duplicates_print(FILE *f, const Kehu__DuplicateList *list)
{
  /* TRANSLATORS: the columns of `kehu customer dupes`: a pair A, B. */
  const kehu_column cols[] = {
    {_("A_ID"), 0}, {_("A_NAME"), 40}, {_("B_ID"), 0}, {_("B_NAME"), 40}, {_("REASON"), 0},
  };
  enum { NCOLS = sizeof cols / sizeof *cols };
  size_t n = list->n_pairs;
  if (n == 0) {
    fputs(_("no suspected duplicates"), f);
    fputc('\n', f);
    return;
  }
  const char **cells = calloc(n * NCOLS, sizeof *cells);
  if (!cells)
    return;
  for (size_t i = 0; i < n; i++) {
    const Kehu__DuplicatePair *p = list->pairs[i];
    const char **row = cells + i * NCOLS;
    row[0] = p->a->id;
    row[1] = p->a->name;
    row[2] = p->b->id;
    row[3] = p->b->name;
    row[4] = p->reason;
  }
  kehu_print_table(f, cols, NCOLS, cells, n);
  free(cells);
}
