/* customer add | get | list | update | delete. Writes run on the writer
 * thread; the stored record is packed there and sent back after commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "audit.h"
#include "complete.h"
#include "customer_sort.h"
#include "rules.h"
#include "tiers.h"
#include "reminders/scheduler.h"
#include "handlers.h"
#include "validate.h"

#define DEFAULT_PAGE 50
#define MAX_PAGE 500

/* The plain text fields of a customer, copied or replaced alike. */
static const size_t text_fields[] = {
  offsetof(Kehu__Customer, name),     offsetof(Kehu__Customer, short_name),
  offsetof(Kehu__Customer, industry), offsetof(Kehu__Customer, size),
  offsetof(Kehu__Customer, region),   offsetof(Kehu__Customer, address),
  offsetof(Kehu__Customer, source),   offsetof(Kehu__Customer, owner),
  offsetof(Kehu__Customer, notes),    offsetof(Kehu__Customer, external_code),
  offsetof(Kehu__Customer, first_contact_at),
};

static char **text_field(Kehu__Customer *c, size_t i)
{
  return (char **)((char *)c + text_fields[i]);
}

/* One customer write: everything the writer thread needs, and what it
 * hands back (the packed record, or an error naming the problem). */
typedef struct {
  kehu_caller caller;
  int64_t now;
  const kehu_config *cfg;
  uint64_t key;
  const Kehu__Customer *input;      /* add: the customer; update: the changes */
  const Kehu__CustomerUpdate *update;
  int deleting, restoring, force;
  int imported;                   /* kehu_customer_create_in: a row of an import */
  int purging;
  const char *reason;               /* of a stage change */
  Kehu__Customer own_changes;       /* for requests that are not updates */
  Kehu__CustomerUpdate own_update;
  kehu_error err;
  uint8_t *packed;
  size_t packed_len;
  char id[24];
  char assigned_to[65];             /* a new owner other than the caller: told live */
} customer_write;

static int keep_packed(customer_write *w, const Kehu__Customer *c)
{
  free(w->packed);
  w->packed_len = kehu__customer__get_packed_size(c);
  w->packed = malloc(w->packed_len ? w->packed_len : 1);
  if (!w->packed)
    return KEHU_EXHAUSTED;
  kehu__customer__pack(c, w->packed);
  return KEHU_OK;
}

static int owner_exists(kehu_txn *t, const char *owner, kehu_error *err)
{
  Kehu__UserRecord *u;
  if (kehu_store_user_get(t, owner, &u) != KEHU_OK)
    return kehu_fail(err, KEHU_INVALID, "owner", "owner: there is no user named '%s'", owner);
  kehu__user_record__free_unpacked(u, NULL);
  return KEHU_OK;
}

static int external_code_free(kehu_txn *t, const char *code, uint64_t key, kehu_error *err)
{
  uint64_t holder = kehu_store_customer_by_external_code(t, code);
  if (!holder || holder == key)
    return KEHU_OK;
  kehu_customer_id_format(holder, err->existing_id);
  /* Unlike a name, an external code is unique: --force does not apply. */
  return kehu_fail(err, KEHU_CONFLICT, "external_code",
                   "external_code: '%s' already belongs to customer %s, and external codes are "
                   "unique: give another code",
                   code, err->existing_id);
}

typedef struct {
  kehu_txn *t;
  uint64_t self;
  uint64_t found;
} dup_search;

static void note_live_duplicate(uint64_t key, void *arg)
{
  dup_search *d = arg;
  Kehu__Customer *c;
  if (d->found || key == d->self || kehu_store_customer_get(d->t, key, &c) != KEHU_OK)
    return;
  if (!(c->has_deleted && c->deleted))
    d->found = key;
  kehu__customer__free_unpacked(c, NULL);
}

/* docs/architecture.md#duplicates: a customer whose normalised name is taken is refused, naming
 * the existing one, unless the caller forces it. */
static int name_free(kehu_txn *t, customer_write *w, const char *name)
{
  dup_search d = {t, w->key, 0};
  int rc = kehu_store_customers_by_name(t, name, note_live_duplicate, &d);
  if (rc != KEHU_OK || !d.found)
    return rc;
  kehu_customer_id_format(d.found, w->err.existing_id);
  return kehu_fail(&w->err, KEHU_CONFLICT, "name",
                   "name: '%s' duplicates customer %s; add it anyway with --force", name,
                   w->err.existing_id);
}

static int apply_add(kehu_txn *t, void *arg)
{
  customer_write *w = arg;
  /* an apply may run twice (writer.c): nothing from a first run counts */
  w->key = 0;
  w->assigned_to[0] = '\0';
  kehu_error_clear(&w->err);
  const Kehu__Customer *in = w->input;
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  for (size_t i = 0; i < sizeof text_fields / sizeof *text_fields; i++) {
    char *v = *text_field((Kehu__Customer *)in, i);
    *text_field(&c, i) = v && *v ? v : NULL;
  }
  if (!c.owner)
    c.owner = w->caller.username;
  if (strcmp(c.owner, w->caller.username) != 0)
    snprintf(w->assigned_to, sizeof w->assigned_to, "%s", c.owner);
  int rc;
  if ((rc = kehu_access_customer_create(t, &w->caller, c.owner, &w->err)) != KEHU_OK ||
      (rc = owner_exists(t, c.owner, &w->err)) != KEHU_OK)
    return rc;
  if (c.external_code && (rc = external_code_free(t, c.external_code, 0, &w->err)) != KEHU_OK)
    return rc;
  if (!w->force && (rc = name_free(t, w, c.name)) != KEHU_OK)
    return rc;
  if ((rc = kehu_fields_check(t, "customer", in->fields, in->n_fields, &w->err)) != KEHU_OK)
    return rc;
  c.kind = (char *)(in->kind ? kehu_kind_canonical(in->kind) : "company");
  c.stage = (char *)(in->stage ? kehu_stage_canonical(in->stage) : "potential");
  c.n_tags = in->n_tags;
  c.tags = in->tags;
  c.n_fields = in->n_fields;
  c.fields = in->fields;
  c.has_created_at = c.has_updated_at = c.has_version = c.has_schema = 1;
  c.created_at = c.updated_at = w->now;
  c.created_by = w->caller.username;
  c.version = 1;
  c.schema = KEHU_SCHEMA_VERSION;
  c.tier = "normal";   /* no order yet (docs/architecture.md#value-tiers) */
  if ((rc = kehu_store_customer_new_key(t, w->now, &w->key)) != KEHU_OK)
    return rc;
  kehu_customer_id_format(w->key, w->id);
  c.id = w->id;
  kehu_rule_ctx rules = {t, w->now, w->cfg};
  if ((rc = kehu_store_customer_put(t, w->key, NULL, &c)) != KEHU_OK ||
      (rc = kehu_rules_dormant(&rules, NULL, &c)) != KEHU_OK)
    return rc;
  /* an import's rows are neither answered nor audited one by one: the
   * import has one audit entry with its counts (docs/architecture.md#import) */
  if (w->imported)
    return KEHU_OK;
  if ((rc = kehu_audit(t, &w->caller, w->now, "create", "customer", w->id, NULL)) != KEHU_OK)
    return rc;
  return keep_packed(w, &c);
}

/* Custom fields after an update: changed keys take their new value, an
 * empty value removes the key. The array points into old and changes. */
static Kehu__CustomField **merge_fields(const Kehu__Customer *old, const Kehu__Customer *ch,
                                        size_t *n)
{
  Kehu__CustomField **out = malloc((old->n_fields + ch->n_fields + 1) * sizeof *out);
  if (!out)
    return NULL;
  *n = 0;
  for (size_t i = 0; i < old->n_fields; i++) {
    int replaced = 0;
    for (size_t j = 0; j < ch->n_fields; j++)
      replaced |= strcmp(old->fields[i]->key, ch->fields[j]->key) == 0;
    if (!replaced)
      out[(*n)++] = old->fields[i];
  }
  for (size_t j = 0; j < ch->n_fields; j++)
    if (*ch->fields[j]->value)
      out[(*n)++] = ch->fields[j];
  return out;
}

static int load_for_write(kehu_txn *t, customer_write *w, Kehu__Customer **old)
{
  int rc = kehu_store_customer_get(t, w->key, old);
  int binned = rc == KEHU_OK && (*old)->has_deleted && (*old)->deleted;
  kehu_customer_id_format(w->key, w->id);
  if (rc == KEHU_NOT_FOUND || (binned && !w->restoring))
    rc = kehu_fail(&w->err, KEHU_NOT_FOUND, "id", "customer %s not found", w->id);
  else if (rc == KEHU_OK && w->restoring && !binned)
    rc = kehu_fail(&w->err, KEHU_INVALID, "id", "customer %s is not in the recycle bin", w->id);
  if (rc == KEHU_OK)
    rc = kehu_access_customer(t, &w->caller, *old, 1, &w->err);
  return rc;
}

/* 1 when c, the record an update would store, holds what old holds: the
 * same bytes but for the bookkeeping an update moves on (version,
 * updated_at, schema). 0 when it differs, or when that cannot be told. */
static int customer_unchanged(const Kehu__Customer *old, const Kehu__Customer *c)
{
  Kehu__Customer same = *c;
  same.has_version = old->has_version;
  same.version = old->version;
  same.has_updated_at = old->has_updated_at;
  same.updated_at = old->updated_at;
  same.has_schema = old->has_schema;
  same.schema = old->schema;
  size_t n = kehu__customer__get_packed_size(&same);
  if (n != kehu__customer__get_packed_size(old))
    return 0;
  uint8_t *a = malloc(n ? n : 1), *b = malloc(n ? n : 1);
  int unchanged = a && b && kehu__customer__pack(&same, a) == n &&
                  kehu__customer__pack(old, b) == n && memcmp(a, b, n) == 0;
  free(a);
  free(b);
  return unchanged;
}

static int apply_update(kehu_txn *t, void *arg)
{
  customer_write *w = arg;
  w->assigned_to[0] = '\0';   /* an apply may run twice (writer.c) */
  kehu_error_clear(&w->err);
  Kehu__Customer *old = NULL;
  int rc = load_for_write(t, w, &old);
  if (rc != KEHU_OK)
    goto out;
  const Kehu__CustomerUpdate *u = w->update;
  if (u->has_expected_version && u->expected_version != old->version) {
    rc = kehu_fail(&w->err, KEHU_CONFLICT, "version",
                   "customer %s was changed by someone else: it is at version %u, "
                   "you updated version %u; get it again and retry", old->id, old->version,
                   u->expected_version);
    goto out;
  }
  const Kehu__Customer *ch = u->changes;
  Kehu__Customer c = *old;   /* shallow: old keeps ownership of its strings */
  for (size_t i = 0; i < sizeof text_fields / sizeof *text_fields; i++) {
    char *v = *text_field((Kehu__Customer *)ch, i);
    if (v)
      *text_field(&c, i) = *v ? v : NULL;
  }
  if (!c.name) {
    rc = kehu_fail(&w->err, KEHU_INVALID, "name", "name: must not be empty");
    goto out;
  }
  if (ch->owner && *ch->owner && strcmp(ch->owner, old->owner ? old->owner : "") != 0) {
    if ((rc = kehu_access_customer_create(t, &w->caller, ch->owner, &w->err)) != KEHU_OK ||
        (rc = owner_exists(t, ch->owner, &w->err)) != KEHU_OK)
      goto out;
    if (strcmp(ch->owner, w->caller.username) != 0)
      snprintf(w->assigned_to, sizeof w->assigned_to, "%s", ch->owner);
  }
  if (c.external_code && (rc = external_code_free(t, c.external_code, w->key, &w->err)) != KEHU_OK)
    goto out;
  if (ch->kind)
    c.kind = (char *)kehu_kind_canonical(ch->kind);
  Kehu__StageChange change = KEHU__STAGE_CHANGE__INIT, **history = NULL;
  if (ch->stage && strcmp(kehu_stage_canonical(ch->stage), old->stage) != 0) {
    c.stage = (char *)kehu_stage_canonical(ch->stage);
    change.from = old->stage;
    change.to = c.stage;
    change.at = w->now;
    change.by = w->caller.username;
    change.reason = (char *)w->reason;
    history = malloc((old->n_stage_history + 1) * sizeof *history);
    if (!history) {
      rc = KEHU_EXHAUSTED;
      goto out;
    }
    if (old->n_stage_history)
      memcpy(history, old->stage_history, old->n_stage_history * sizeof *history);
    history[old->n_stage_history] = &change;
    c.stage_history = history;
    c.n_stage_history = old->n_stage_history + 1;
  }
  if (u->has_replace_tags && u->replace_tags) {
    c.n_tags = ch->n_tags;
    c.tags = ch->tags;
  }
  Kehu__CustomField **fields = NULL;
  if (ch->n_fields) {
    fields = merge_fields(old, ch, &c.n_fields);
    c.fields = fields;
    if (fields && (rc = kehu_fields_check(t, "customer", c.fields, c.n_fields, &w->err)) != KEHU_OK) {
      free(fields);
      free(history);
      goto out;
    }
  }
  if (w->deleting) {
    c.has_deleted = c.has_deleted_at = 1;
    c.deleted = 1;
    c.deleted_at = w->now;
  }
  if (w->restoring) {
    c.has_deleted = c.has_deleted_at = 0;
    c.deleted = 0;
    c.merged_into = NULL;
  }
  if (ch->name && !w->force && (rc = name_free(t, w, c.name)) != KEHU_OK) {
    free(fields);
    free(history);
    goto out;
  }
  /* A customer tagged 待补充 that this update completes loses the tag and
   * its owner's reminder (docs/architecture.md#import). */
  char **untagged = NULL;
  if (!w->deleting && kehu_has_incomplete_tag(&c)) {
    kehu_rule_ctx settle = {t, w->now, w->cfg};
    int untag = 0;
    Kehu__Customer probe = c;
    probe.owner = old->owner;   /* the reminder is still its owner's before a reassignment */
    rc = kehu_complete_settle(&settle, w->key, &probe, NULL, &untag);
    if (rc == KEHU_OK && untag && !(untagged = malloc(c.n_tags * sizeof *untagged)))
      rc = KEHU_EXHAUSTED;
    if (rc != KEHU_OK) {
      free(fields);
      free(history);
      goto out;
    }
    if (untagged) {
      c.n_tags = kehu_complete_untag(&c, untagged);
      c.tags = untagged;
    }
  }
  /* A change to what the record already holds (`customer stage` to its own
   * stage, an update repeating the values): nothing is written, no audit
   * entry, and the caller gets the record as it is, its version unmoved. */
  if (!w->deleting && !w->restoring && (!ch->n_fields || fields) && customer_unchanged(old, &c)) {
    rc = keep_packed(w, old);
    free(fields);
    free(history);
    free(untagged);
    goto out;
  }
  c.version = old->version + 1;
  c.has_updated_at = 1;
  c.updated_at = w->now;
  c.has_schema = 1;
  c.schema = KEHU_SCHEMA_VERSION;
  rc = ch->n_fields && !fields ? KEHU_EXHAUSTED : kehu_store_customer_put(t, w->key, old, &c);
  kehu_rule_ctx rules = {t, w->now, w->cfg};
  if (rc == KEHU_OK && strcmp(c.owner ? c.owner : "", old->owner ? old->owner : "") != 0)
    rc = kehu_rules_customer_reassigned(&rules, old, &c);
  else if (rc == KEHU_OK && w->restoring)
    rc = kehu_rules_dormant(&rules, NULL, &c);   /* binned, its reminders went quiet */
  if (rc == KEHU_OK && w->restoring)
    rc = kehu_rules_customer_birthdays(&rules, &c);
  if (rc == KEHU_OK && (w->deleting || w->restoring))
    rc = kehu_rules_customer_binned(&rules, &c);
  if (rc == KEHU_OK) {
    char details[1024];
    kehu_audit_diff(&old->base, &c.base, kehu_audit_personal_fields, details, sizeof details);
    rc = kehu_audit(t, &w->caller, w->now,
                    w->deleting ? "delete" : w->restoring ? "restore" : "update", "customer",
                    old->id, details);
  }
  if (rc == KEHU_OK)
    rc = keep_packed(w, &c);
  free(fields);
  free(history);
  free(untagged);
out:
  if (old)
    kehu__customer__free_unpacked(old, NULL);
  return rc;
}

static void reply_customer_bytes(kehu_call *call, const uint8_t *p, size_t n)
{
  Kehu__Customer *c = kehu__customer__unpack(NULL, n, p);
  if (!c) {
    kehu_reply_status(call, KEHU_INTERNAL, "stored customer does not decode");
    return;
  }
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = KEHU__STATUS__OK;
  r.result_case = KEHU__RESPONSE__RESULT_CUSTOMER;
  r.customer = c;
  kehu_reply(call, &r);
  kehu__customer__free_unpacked(c, NULL);
}

static void customer_written(kehu_call *call, int status, void *arg)
{
  customer_write *w = arg;
  if (status == KEHU_OK && w->assigned_to[0] && !w->deleting)
    kehu_push_assigned(call->srv, w->assigned_to, "customer_assigned", w->id,
                       w->input ? w->input->name : NULL);
  if (status == KEHU_OK && w->purging)
    kehu_server_scrub_soon(call->srv);   /* docs/storage.md#erasure */
  if (status == KEHU_OK)
    reply_customer_bytes(call, w->packed, w->packed_len);
  else if (w->err.status == status)
    kehu_reply_error(call, &w->err);
  else
    kehu_reply_status(call, status, "the change was not stored: %s", kehu_status_name(status));
  free(w->packed);
  free(w);
}

static customer_write *new_write(kehu_call *call)
{
  customer_write *w = calloc(1, sizeof *w);
  if (!w) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return NULL;
  }
  w->caller = call->caller;
  w->now = kehu_now(call->srv);
  w->cfg = &call->srv->cfg;
  return w;
}

/* Parses a customer id; an id that cannot exist is INVALID, not NOT_FOUND. */
static int parse_id(kehu_call *call, const char *id, uint64_t *key)
{
  if (kehu_customer_id_parse(id, key) == 0)
    return 0;
  kehu_reply_status(call, KEHU_INVALID, "id: '%s' is not a customer id (C + YYYYMMDD + number)",
                    id ? id : "");
  return -1;
}

void kehu_handle_customer_add(kehu_call *call)
{
  Kehu__CustomerAdd *add = call->req->customer_add;
  kehu_error err = {0};
  if (kehu_check_customer(add->customer, 1, &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  customer_write *w = new_write(call);
  if (!w)
    return;
  w->input = add->customer;
  w->force = add->has_force && add->force;
  kehu_submit_write(call, apply_add, customer_written, w);
}

/* Every change of one customer goes through apply_update; w's own
 * update and changes serve requests that are not plain updates. */
static customer_write *start_change(kehu_call *call, const char *id)
{
  uint64_t key;
  if (parse_id(call, id, &key) != 0)
    return NULL;
  customer_write *w = new_write(call);
  if (!w)
    return NULL;
  w->key = key;
  kehu__customer__init(&w->own_changes);
  kehu__customer_update__init(&w->own_update);
  w->own_update.changes = &w->own_changes;
  w->update = &w->own_update;
  return w;
}

static void start_update(kehu_call *call, const char *id, const Kehu__CustomerUpdate *u,
                         int deleting)
{
  customer_write *w = start_change(call, id);
  if (!w)
    return;
  if (u)
    w->update = u;
  w->deleting = deleting;
  kehu_submit_write(call, apply_update, customer_written, w);
}

void kehu_handle_customer_update(kehu_call *call)
{
  Kehu__CustomerUpdate *u = call->req->customer_update;
  kehu_error err = {0};
  if (kehu_check_customer(u->changes, 0, &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  start_update(call, u->id, u, 0);
}

void kehu_handle_customer_delete(kehu_call *call)
{
  /* A delete is an update that bins the customer; it changes nothing else. */
  start_update(call, call->req->customer_delete->id, NULL, 1);
}

void kehu_handle_customer_restore(kehu_call *call)
{
  customer_write *w = start_change(call, call->req->customer_restore->id);
  if (!w)
    return;
  w->restoring = 1;
  kehu_submit_write(call, apply_update, customer_written, w);
}

void kehu_handle_customer_stage(kehu_call *call)
{
  const Kehu__CustomerStage *st = call->req->customer_stage;
  if (!kehu_stage_canonical(st->stage)) {
    kehu_reply_status(call, KEHU_INVALID,
                      "stage: '%s' is not one of potential, intent, closed, lost (潜在, 意向, 成交, 流失)",
                      st->stage);
    return;
  }
  kehu_error err = {0};
  if (st->reason && kehu_check_text("reason", st->reason, 1000, &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  customer_write *w = start_change(call, st->id);
  if (!w)
    return;
  w->own_changes.stage = st->stage;
  w->reason = st->reason;
  kehu_submit_write(call, apply_update, customer_written, w);
}

static int apply_purge(kehu_txn *t, void *arg)
{
  customer_write *w = arg;
  Kehu__Customer *old = NULL;
  kehu_customer_id_format(w->key, w->id);
  int rc = kehu_store_customer_get(t, w->key, &old);
  if (rc == KEHU_NOT_FOUND)
    return kehu_fail(&w->err, KEHU_NOT_FOUND, "id", "customer %s not found", w->id);
  if (rc == KEHU_OK)
    rc = keep_packed(w, old);
  kehu_rule_ctx rules = {t, w->now, w->cfg};
  if (rc == KEHU_OK)
    rc = kehu_rules_customer_gone(&rules, w->key);
  if (rc == KEHU_OK)
    rc = kehu_store_customer_purge(t, w->key);
  if (rc == KEHU_OK)
    rc = kehu_audit(t, &w->caller, w->now, "purge", "customer", w->id, NULL);
  if (old)
    kehu__customer__free_unpacked(old, NULL);
  return rc;
}

void kehu_handle_customer_purge(kehu_call *call)
{
  kehu_error err = {0};
  if (kehu_access_admin(&call->caller, "purge customers", &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  customer_write *w = start_change(call, call->req->customer_purge->id);
  if (w) {
    w->purging = 1;
    kehu_submit_write(call, apply_purge, customer_written, w);
  }
}

#define MAX_GET_CONTACTS 50

typedef struct {
  Kehu__Contact *items[MAX_GET_CONTACTS];
  size_t n;
} contact_list;

static int collect_contact(ProtobufCMessage *m, uint64_t cust, void *arg)
{
  (void)cust;
  contact_list *l = arg;
  l->items[l->n++] = (Kehu__Contact *)m;
  return 1;
}

void kehu_handle_customer_get(kehu_call *call)
{
  uint64_t key;
  if (parse_id(call, call->req->customer_get->id, &key) != 0)
    return;
  kehu_txn t;
  if (kehu_store_read_begin(call->srv->store, &t) != KEHU_OK) {
    kehu_reply_status(call, KEHU_INTERNAL, "storage unavailable");
    return;
  }
  Kehu__Customer *c = NULL;
  kehu_error err = {0};
  int rc = kehu_store_customer_get(&t, key, &c);
  if (rc == KEHU_NOT_FOUND || (rc == KEHU_OK && c->has_deleted && c->deleted))
    rc = kehu_fail(&err, KEHU_NOT_FOUND, "id", "customer %s not found",
                   call->req->customer_get->id);
  else if (rc == KEHU_OK)
    rc = kehu_access_customer(&t, &call->caller, c, 0, &err);
  else
    kehu_fail(&err, rc, NULL, "cannot read customer %s", call->req->customer_get->id);
  /* Opening a customer shows its contacts with it (one cursor range). */
  contact_list contacts = {0};
  if (rc == KEHU_OK &&
      kehu_access_child(&t, &call->caller, c, kehu_kind_get(KEHU_KIND_CONTACT), 0, NULL) == KEHU_OK) {
    uint64_t more;
    kehu_store_child_list(&t, kehu_kind_get(KEHU_KIND_CONTACT), key, 0, MAX_GET_CONTACTS,
                          collect_contact, &contacts, &more);
    c->contacts = contacts.items;
    c->n_contacts = contacts.n;
  }
  /* ... and what its tier follows from, as of now */
  Kehu__TierBasis basis;
  char reason[160];
  if (rc == KEHU_OK &&
      kehu_tiers_basis(&t, key, &call->srv->cfg, kehu_now(call->srv),
                       kehu_access_sees_amounts(&call->caller), &basis, reason) == KEHU_OK)
    c->tier_basis = &basis;
  kehu_store_read_end(&t);
  if (rc != KEHU_OK) {
    kehu_reply_error(call, &err);
  } else {
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_CUSTOMER;
    r.customer = c;
    kehu_reply(call, &r);
  }
  if (c) {
    c->tier_basis = NULL;
    c->contacts = NULL;   /* ours, not the decoder's */
    c->n_contacts = 0;
    kehu__customer__free_unpacked(c, NULL);
  }
  for (size_t i = 0; i < contacts.n; i++)
    kehu__contact__free_unpacked(contacts.items[i], NULL);
}

typedef struct {
  Kehu__Customer **items;
  size_t n;
} page;

static int collect(Kehu__Customer *c, void *arg)
{
  page *p = arg;
  p->items[p->n++] = c;
  return 1;
}

typedef struct {
  kehu_txn *t;
  const kehu_caller *who;
} visibility;

static int visible(const Kehu__Customer *c, void *arg)
{
  visibility *v = arg;
  return kehu_access_customer_visible(v->t, v->who, c);
}

void kehu_handle_customer_list(kehu_call *call)
{
  const Kehu__CustomerList *q = call->req->customer_list;
  const kehu_caller *who = &call->caller;
  unsigned limit = q->has_limit ? q->limit : DEFAULT_PAGE;
  if (limit < 1 || limit > MAX_PAGE) {
    kehu_reply_status(call, KEHU_INVALID, "limit: %u is outside 1..%d", limit, MAX_PAGE);
    return;
  }
  int exporting = q->has_export && q->export;
  kehu_error err = {0};
  if (exporting && kehu_access_export(who, &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  kehu_customer_filter f = {.owner = q->owner, .tag = q->tag, .industry = q->industry,
                            .region = q->region, .source = q->source, .limit = limit,
                            .deleted = q->has_deleted && q->deleted};
  if (q->stage && !(f.stage = kehu_stage_canonical(q->stage))) {
    kehu_reply_status(call, KEHU_INVALID, "stage: '%s' is not one of potential, intent, closed, lost",
                      q->stage);
    return;
  }
  if (q->tier && !(f.tier = kehu_tier_canonical(q->tier))) {
    kehu_reply_status(call, KEHU_INVALID,
                      "tier: '%s' is not one of high, potential, churn_risk, normal", q->tier);
    return;
  }
  kehu_customer_order order;
  kehu_sort_pos after;
  int has_cursor = q->cursor && *q->cursor;
  if (q->sort && kehu_customer_order_parse(q->sort, &order, &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  /* a sorted list's cursor is a place in its order (k...), a plain one's
   * an id */
  if (has_cursor && q->sort && kehu_sort_cursor_parse(q->cursor, &order, &after, &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  if (has_cursor && !q->sort && kehu_customer_id_parse(q->cursor, &f.before) != 0) {
    kehu_reply_status(call, KEHU_INVALID, "cursor: '%s' is not a cursor from a previous page",
                      q->cursor);
    return;
  }
  /* Sales walk their own owner index: never a scan of everyone's. */
  if (kehu_role_of(who->role) == KEHU_ROLE_SALES && !f.owner)
    f.owner = who->username;
  if (q->sort) {
    kehu_customer_list_sorted(call, &f, &order, has_cursor ? &after : NULL, exporting);
    return;
  }
  kehu_txn t;
  if (kehu_store_read_begin(call->srv->store, &t) != KEHU_OK) {
    kehu_reply_status(call, KEHU_INTERNAL, "storage unavailable");
    return;
  }
  visibility vis = {&t, who};
  f.visible = visible;
  f.visible_ctx = &vis;
  page p = {calloc(limit, sizeof(Kehu__Customer *)), 0};
  uint64_t next = 0;
  int rc = p.items ? kehu_store_customer_list(&t, &f, collect, &p, &next) : KEHU_EXHAUSTED;
  kehu_store_read_end(&t);
  if (rc != KEHU_OK) {
    kehu_reply_status(call, rc, "cannot list customers: %s", kehu_status_name(rc));
  } else {
    char cursor[24];
    if (next)
      kehu_customer_id_format(next, cursor);
    if (exporting) {
      /* docs/architecture.md#search: every export is audited with its row count. */
      char details[160];
      snprintf(details, sizeof details, "%zu customers%s%s", p.n, q->cursor ? " after " : "",
               q->cursor ? q->cursor : "");
      kehu_audit_later(call->srv, who, "export", "customer", NULL, details);
    }
    kehu_reply_customer_page(call, p.items, p.n, next ? cursor : NULL);
  }
  for (size_t i = 0; i < p.n; i++)
    kehu__customer__free_unpacked(p.items[i], NULL);
  free(p.items);
}

/* ---- the same writes inside another write's transaction (import.c) ---- */

int kehu_customer_create_in(kehu_txn *t, const kehu_caller *who, int64_t now,
                            const kehu_config *cfg, const Kehu__Customer *in, uint64_t *key,
                            kehu_error *err)
{
  customer_write w = {0};
  w.caller = *who;
  w.now = now;
  w.cfg = cfg;
  w.input = in;
  w.imported = 1;
  int rc = apply_add(t, &w);
  free(w.packed);
  *key = rc == KEHU_OK ? w.key : 0;
  if (rc != KEHU_OK && err)
    *err = w.err;
  return rc;
}

int kehu_customer_update_in(kehu_txn *t, const kehu_caller *who, int64_t now,
                            const kehu_config *cfg, uint64_t key, Kehu__Customer *changes,
                            int *changed, kehu_error *err)
{
  customer_write w = {0};
  w.caller = *who;
  w.now = now;
  w.cfg = cfg;
  w.key = key;
  kehu__customer_update__init(&w.own_update);
  w.own_update.changes = changes;
  w.own_update.has_replace_tags = 1;
  w.own_update.replace_tags = changes->n_tags > 0;
  w.update = &w.own_update;
  Kehu__Customer *old = NULL;
  uint32_t before = 0;
  if (kehu_store_customer_get(t, key, &old) == KEHU_OK) {
    before = old->version;
    kehu__customer__free_unpacked(old, NULL);
  }
  int rc = apply_update(t, &w);
  *changed = 0;
  if (rc == KEHU_OK) {
    Kehu__Customer *c = kehu__customer__unpack(NULL, w.packed_len, w.packed);
    *changed = c && c->version != before;
    if (c)
      kehu__customer__free_unpacked(c, NULL);
  } else if (err) {
    *err = w.err;
  }
  free(w.packed);
  return rc;
}
