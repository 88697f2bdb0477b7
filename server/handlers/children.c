/* contact / followup / need / contract / order / ticket: add, list, update,
 * delete, for every kind through one path. Kind-specific behaviour is
 * limited to the defaults table and the follow-up hook below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "audit.h"
#include "complete.h"
#include "handlers.h"
#include "reflect.h"
#include "rules.h"
#include "tiers.h"
#include "reminders/scheduler.h"

#define DEFAULT_PAGE 50
#define MAX_PAGE 500
#define DAY 86400

/* Values the audit log names but never records (docs/storage.md#audit-log). */
/* Named in an audit entry's details but not shown: personal values
 * (docs/storage.md#audit-log: erasure leaves none in the log) and money. */
static const char *const sensitive_fields[] = {"phones", "email",   "amount", "budget", "name",
                                               "birthday", "notes", "summary", "title", NULL};

/* Fields the server sets; a client's values for them are ignored. */
static const char *const server_fields[] = {"id", "customer_id", "created_at", "updated_at",
                                            "created_by", "version", "author"};

typedef struct {
  kehu_caller caller;
  int64_t now;
  const kehu_config *cfg;
  const kehu_kind_info *kind;
  uint64_t cust;                 /* add: the customer */
  uint64_t seq;                  /* update, delete: the record */
  ProtobufCMessage *rec;         /* add: the new record; update: the changes (owned) */
  int has_expected;
  uint32_t expected_version;
  int deleting;
  kehu_error err;
  uint8_t *packed;
  size_t packed_len;
  char assigned_to[65];          /* a ticket's new assignee: told live */
  char record_id[24];
  int imported;                  /* kehu_child_create_in: a row of an import */
} child_write;

static void child_write_free(child_write *w)
{
  if (w->rec)
    protobuf_c_message_free_unpacked(w->rec, NULL);
  free(w->packed);
  free(w);
}

static int keep_packed(child_write *w, const ProtobufCMessage *m)
{
  free(w->packed);
  w->packed_len = protobuf_c_message_get_packed_size(m);
  w->packed = malloc(w->packed_len ? w->packed_len : 1);
  if (!w->packed)
    return KEHU_EXHAUSTED;
  protobuf_c_message_pack(m, w->packed);
  return KEHU_OK;
}

/* Values a new record gets when the caller gives none. */
typedef enum { DEFAULT_TEXT, DEFAULT_INT, DEFAULT_NOW, DEFAULT_TICKET_SLA } default_how;
typedef struct {
  kehu_kind kind;
  const char *field;
  default_how how;
  const char *text;
  int64_t number;
} field_default;

static const field_default defaults[] = {
  {KEHU_KIND_FOLLOWUP, "at", DEFAULT_NOW, NULL, 0},
  {KEHU_KIND_NEED, "priority", DEFAULT_TEXT, "medium", 0},
  {KEHU_KIND_NEED, "status", DEFAULT_TEXT, "open", 0},
  {KEHU_KIND_CONTRACT, "status", DEFAULT_TEXT, "active", 0},
  {KEHU_KIND_ORDER, "at", DEFAULT_NOW, NULL, 0},
  {KEHU_KIND_ORDER, "quantity", DEFAULT_INT, NULL, 1},
  {KEHU_KIND_TICKET, "priority", DEFAULT_TEXT, "medium", 0},
  {KEHU_KIND_TICKET, "status", DEFAULT_TEXT, "open", 0},
  {KEHU_KIND_TICKET, "response_due", DEFAULT_TICKET_SLA, NULL, 0},
};

static int apply_defaults(child_write *w, ProtobufCMessage *m)
{
  for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) {
    const field_default *d = &defaults[i];
    int64_t v;
    if (d->kind != w->kind->kind)
      continue;
    int failed = 0;
    switch (d->how) {
    case DEFAULT_TEXT:
      failed = !kehu_msg_get_string(m, d->field) && kehu_msg_set_string(m, d->field, d->text) != 0;
      break;
    case DEFAULT_INT:
    case DEFAULT_NOW:
    case DEFAULT_TICKET_SLA:
      if (!kehu_msg_get_int(m, d->field, &v))
        failed = kehu_msg_set_int(m, d->field,
                                  d->how == DEFAULT_INT ? d->number
                                  : d->how == DEFAULT_NOW
                                      ? w->now
                                      : w->now + (int64_t)w->cfg->ticket_sla_hours * 3600) != 0;
      break;
    }
    if (failed)
      return KEHU_EXHAUSTED;
  }
  return KEHU_OK;
}

/* The customer a record hangs under: live, and the caller may act on its
 * records of this kind. */
static int load_customer(kehu_txn *t, child_write *w, uint64_t cust, int write,
                         Kehu__Customer **c)
{
  char id[24];
  kehu_customer_id_format(cust, id);
  int rc = kehu_store_customer_get(t, cust, c);
  if (rc == KEHU_NOT_FOUND || (rc == KEHU_OK && (*c)->has_deleted && (*c)->deleted))
    return kehu_fail(&w->err, KEHU_NOT_FOUND, "customer_id", "customer %s not found", id);
  if (rc != KEHU_OK)
    return rc;
  return kehu_access_child(t, &w->caller, *c, w->kind, write, &w->err);
}

/* Follow-ups: the contact must be this customer's, and the customer's
 * last_contact_at follows the latest follow-up (same transaction). */
static int followup_hook(kehu_txn *t, child_write *w, Kehu__Customer *c, ProtobufCMessage *m,
                         const ProtobufCMessage *old)
{
  (void)old;
  const char *contact = kehu_msg_get_string(m, "contact_id");
  if (contact) {
    const kehu_kind_info *ck;
    uint64_t seq, owner;
    ProtobufCMessage *cm = NULL;
    if (kehu_child_id_parse(contact, &ck, &seq) != 0 || ck->kind != KEHU_KIND_CONTACT ||
        kehu_store_child_get(t, ck, seq, &owner, &cm) != KEHU_OK || owner != w->cust) {
      if (cm)
        protobuf_c_message_free_unpacked(cm, NULL);
      return kehu_fail(&w->err, KEHU_INVALID, "contact_id",
                       "contact_id: '%s' is not a contact of customer %s", contact, c->id);
    }
    protobuf_c_message_free_unpacked(cm, NULL);
  }
  int64_t at;
  if (!kehu_msg_get_int(m, "at", &at) || (c->has_last_contact_at && c->last_contact_at >= at))
    return KEHU_OK;
  Kehu__Customer updated = *c;
  updated.has_last_contact_at = 1;
  updated.last_contact_at = at;
  int rc = kehu_store_customer_put(t, w->cust, c, &updated);
  kehu_rule_ctx rules = {t, w->now, w->cfg};
  return rc == KEHU_OK ? kehu_rules_dormant(&rules, c, &updated) : rc;
}

static int number_free(kehu_txn *t, child_write *w, Kehu__Customer *c, ProtobufCMessage *m,
                       const ProtobufCMessage *old)
{
  (void)c;
  (void)old;
  const char *number = kehu_msg_get_string(m, "number");
  uint64_t holder = number ? kehu_store_contract_by_number(t, number) : 0;
  if (!holder || holder == w->seq)
    return KEHU_OK;
  char id[24];
  kehu_child_id_format(w->kind, holder, id);
  snprintf(w->err.existing_id, sizeof w->err.existing_id, "%s", id);
  return kehu_fail(&w->err, KEHU_CONFLICT, "number", "number: contract number '%s' is already %s",
                   number, id);
}

/* A ticket's assignee, when set or changed, is someone who may work it,
 * and is told so live once the write commits. */
static int assignee_may_work(kehu_txn *t, child_write *w, Kehu__Customer *c, ProtobufCMessage *m,
                             const ProtobufCMessage *old)
{
  const char *assignee = kehu_msg_get_string(m, "assignee");
  const char *before = old ? kehu_msg_get_string(old, "assignee") : NULL;
  if (!assignee || !*assignee || (before && strcmp(before, assignee) == 0))
    return KEHU_OK;
  int rc = kehu_access_ticket_assignee(t, c, assignee, &w->err);
  if (rc == KEHU_OK && strcmp(assignee, w->caller.username) != 0) {
    snprintf(w->assigned_to, sizeof w->assigned_to, "%s", assignee);
    snprintf(w->record_id, sizeof w->record_id, "%s", kehu_msg_get_string(m, "id"));
  }
  return rc;
}

/* A ticket's first response: when its status first leaves "open" (the
 * reports' response time and SLA share, docs/architecture.md#reports).
 * Only the server sets it; what a client sends is replaced. */
static int ticket_before_put(kehu_txn *t, child_write *w, Kehu__Customer *c, ProtobufCMessage *m,
                             const ProtobufCMessage *old)
{
  int rc = assignee_may_work(t, w, c, m, old);
  Kehu__Ticket *k = (Kehu__Ticket *)m;
  const Kehu__Ticket *before = (const Kehu__Ticket *)old;
  if (before && before->has_responded_at) {
    k->has_responded_at = 1;
    k->responded_at = before->responded_at;
  } else {
    k->has_responded_at = k->status && strcmp(k->status, "open") != 0;
    k->responded_at = k->has_responded_at ? w->now : 0;
  }
  return rc;
}

/* The reminders that hang on a record (README "Reminders"), in the same
 * transaction. */
static int contract_rules(kehu_rule_ctx *rc, const Kehu__Customer *c, const ProtobufCMessage *old,
                          const ProtobufCMessage *m)
{
  return kehu_rules_contract(rc, c, (const Kehu__Contract *)old, (const Kehu__Contract *)m);
}

static int followup_rules(kehu_rule_ctx *rc, const Kehu__Customer *c, const ProtobufCMessage *old,
                          const ProtobufCMessage *m)
{
  return kehu_rules_followup(rc, c, (const Kehu__FollowUp *)old, (const Kehu__FollowUp *)m);
}

/* A contact (stored already) that completes a customer tagged 待补充:
 * the tag and the owner's reminder go, in the same transaction
 * (docs/architecture.md#import). */
static int contact_completes(kehu_rule_ctx *rc, const Kehu__Customer *c)
{
  uint64_t key;
  int untag = 0;
  if (!kehu_has_incomplete_tag(c) || kehu_customer_id_parse(c->id, &key) != 0)
    return KEHU_OK;
  int st = kehu_complete_settle(rc, key, c, NULL, &untag);
  if (st != KEHU_OK || !untag)
    return st;
  char **tags = malloc(c->n_tags * sizeof *tags);
  if (!tags)
    return KEHU_EXHAUSTED;
  Kehu__Customer updated = *c;
  updated.n_tags = kehu_complete_untag(c, tags);
  updated.tags = tags;
  updated.has_version = updated.has_updated_at = 1;
  updated.version = c->version + 1;
  updated.updated_at = rc->now;
  st = kehu_store_customer_put(rc->t, key, c, &updated);
  if (st == KEHU_OK) {
    kehu_caller server = {.username = "kehud"};
    st = kehu_audit(rc->t, &server, rc->now, "update", "customer", c->id,
                    "tags: -" KEHU_INCOMPLETE_TAG " (complete)");
  }
  free(tags);
  return st;
}

static int contact_rules(kehu_rule_ctx *rc, const Kehu__Customer *c, const ProtobufCMessage *old,
                         const ProtobufCMessage *m)
{
  int st = kehu_rules_contact(rc, c, (const Kehu__Contact *)old, (const Kehu__Contact *)m);
  return st == KEHU_OK && m ? contact_completes(rc, c) : st;
}

/* The customer's tier, from its orders and ratings as this transaction
 * has them (docs/architecture.md#value-tiers). The customer is read again
 * there: a hook may have stored it since c was read. */
static int tier_rules(kehu_rule_ctx *rc, const Kehu__Customer *c)
{
  uint64_t cust;
  if (kehu_customer_id_parse(c->id, &cust) != 0)
    return KEHU_INVALID;
  return kehu_tiers_update(rc, cust);
}

/* A rated ticket moves the tier; so does any change to one, whose time
 * stands for the time of its rating. */
static int ticket_rated(const Kehu__Ticket *k)
{
  return k && k->has_satisfaction && k->satisfaction;
}

static int ticket_rules(kehu_rule_ctx *rc, const Kehu__Customer *c, const ProtobufCMessage *old,
                        const ProtobufCMessage *m)
{
  const Kehu__Ticket *before = (const Kehu__Ticket *)old, *after = (const Kehu__Ticket *)m;
  int st = kehu_rules_ticket(rc, c, before, after);
  if (st == KEHU_OK && (ticket_rated(before) || ticket_rated(after)))
    st = tier_rules(rc, c);
  return st;
}

static int order_rules(kehu_rule_ctx *rc, const Kehu__Customer *c, const ProtobufCMessage *old,
                       const ProtobufCMessage *m)
{
  (void)old;
  (void)m;
  return tier_rules(rc, c);
}

/* What one kind of record does beyond the common path: a check before it
 * is stored (in the write transaction), the reminder rules it raises after,
 * and the field that names its author. Kinds not named here do nothing
 * more. */
typedef struct {
  int (*before_put)(kehu_txn *t, child_write *w, Kehu__Customer *c, ProtobufCMessage *m,
                    const ProtobufCMessage *old);
  int (*rules)(kehu_rule_ctx *rc, const Kehu__Customer *c, const ProtobufCMessage *old,
               const ProtobufCMessage *m);
  const char *author_field;
} kind_hooks;

static const kind_hooks hooks[KEHU_KIND_COUNT] = {
  [KEHU_KIND_CONTACT] = {NULL, contact_rules, NULL},
  [KEHU_KIND_FOLLOWUP] = {followup_hook, followup_rules, "author"},
  [KEHU_KIND_CONTRACT] = {number_free, contract_rules, NULL},
  [KEHU_KIND_TICKET] = {ticket_before_put, ticket_rules, NULL},
  [KEHU_KIND_ORDER] = {NULL, order_rules, NULL},
};

static int record_rules(kehu_txn *t, child_write *w, const Kehu__Customer *c,
                        const ProtobufCMessage *old, const ProtobufCMessage *m)
{
  kehu_rule_ctx rc = {t, w->now, w->cfg};
  const kind_hooks *h = &hooks[w->kind->kind];
  return h->rules ? h->rules(&rc, c, old, m) : KEHU_OK;
}

static int finish_record(kehu_txn *t, child_write *w, Kehu__Customer *c, ProtobufCMessage *m,
                         const ProtobufCMessage *old)
{
  const kind_hooks *h = &hooks[w->kind->kind];
  int rc = h->before_put ? h->before_put(t, w, c, m, old) : KEHU_OK;
  if (rc == KEHU_OK)
    rc = kehu_store_child_put_for(t, w->kind, c, w->cust, w->seq, old, m);
  if (rc == KEHU_OK)
    rc = record_rules(t, w, c, old, m);
  /* An import's new records are not audited one by one, nor answered:
   * the import has one audit entry with its counts (docs/architecture.md#import) */
  if (w->imported && !old)
    return rc;
  if (rc == KEHU_OK) {
    char details[1024] = "";
    if (old)
      kehu_audit_diff(old, m, sensitive_fields, details, sizeof details);
    else
      snprintf(details, sizeof details, "customer %s", c->id);
    rc = kehu_audit(t, &w->caller, w->now, old ? "update" : "create", w->kind->name,
                    kehu_msg_get_string(m, "id"), details);
  }
  if (rc == KEHU_OK)
    rc = keep_packed(w, m);
  return rc;
}

/* The fields the server sets on a new record. Each set is checked: a
 * record must never be stored without its id. */
static int stamp_new(child_write *w, ProtobufCMessage *m, const Kehu__Customer *c)
{
  char id[24];
  kehu_child_id_format(w->kind, w->seq, id);
  const char *author = hooks[w->kind->kind].author_field;
  if (kehu_msg_set_string(m, "id", id) != 0 || kehu_msg_set_string(m, "customer_id", c->id) != 0 ||
      kehu_msg_set_int(m, "created_at", w->now) != 0 ||
      kehu_msg_set_int(m, "updated_at", w->now) != 0 ||
      kehu_msg_set_string(m, "created_by", w->caller.username) != 0 ||
      kehu_msg_set_int(m, "version", 1) != 0 ||
      (author && kehu_msg_set_string(m, author, w->caller.username) != 0))
    return KEHU_EXHAUSTED;
  return KEHU_OK;
}

static int apply_add(kehu_txn *t, void *arg)
{
  child_write *w = arg;
  w->assigned_to[0] = '\0';   /* an apply may run twice (writer.c) */
  kehu_error_clear(&w->err);
  Kehu__Customer *c = NULL;
  int rc = load_customer(t, w, w->cust, 1, &c);
  if (rc == KEHU_OK)
    rc = kehu_store_child_new_seq(t, w->kind, &w->seq);
  ProtobufCMessage *m = rc == KEHU_OK ? kehu_msg_copy(w->rec) : NULL;
  if (rc == KEHU_OK && !m)
    rc = KEHU_EXHAUSTED;
  if (rc == KEHU_OK)
    rc = stamp_new(w, m, c);
  if (rc == KEHU_OK)
    rc = finish_record(t, w, c, m, NULL);
  if (m)
    protobuf_c_message_free_unpacked(m, NULL);
  if (c)
    kehu__customer__free_unpacked(c, NULL);
  return rc;
}

static int apply_change(kehu_txn *t, void *arg)
{
  child_write *w = arg;
  w->assigned_to[0] = '\0';   /* an apply may run twice (writer.c) */
  kehu_error_clear(&w->err);
  ProtobufCMessage *old = NULL, *m = NULL;
  Kehu__Customer *c = NULL;
  char id[24];
  kehu_child_id_format(w->kind, w->seq, id);
  int rc = kehu_store_child_get(t, w->kind, w->seq, &w->cust, &old);
  if (rc == KEHU_NOT_FOUND)
    rc = kehu_fail(&w->err, KEHU_NOT_FOUND, "id", "%s %s not found", w->kind->name, id);
  if (rc == KEHU_OK)
    rc = load_customer(t, w, w->cust, 1, &c);
  int64_t version = 0;
  kehu_msg_get_int(old ? old : w->rec, "version", &version);
  if (rc == KEHU_OK && w->has_expected && w->expected_version != version)
    rc = kehu_fail(&w->err, KEHU_CONFLICT, "version",
                   "%s %s was changed by someone else: it is at version %lld, you updated "
                   "version %u; get it again and retry", w->kind->name, id, (long long)version,
                   w->expected_version);
  if (rc == KEHU_OK && w->deleting) {
    rc = kehu_store_child_delete(t, w->kind, w->cust, w->seq, old);
    if (rc == KEHU_OK)
      rc = record_rules(t, w, c, old, NULL);
    if (rc == KEHU_OK)
      rc = kehu_audit(t, &w->caller, w->now, "delete", w->kind->name, id, c->id);
    if (rc == KEHU_OK)
      rc = keep_packed(w, old);
  } else if (rc == KEHU_OK) {
    m = kehu_msg_merge(old, w->rec);
    if (!m)
      rc = KEHU_EXHAUSTED;
    else if ((rc = kehu_record_check(w->kind, m, &w->err)) == KEHU_OK) {
      if (kehu_msg_set_int(m, "updated_at", w->now) != 0 ||
          kehu_msg_set_int(m, "version", version + 1) != 0)
        rc = KEHU_EXHAUSTED;
      else
        rc = finish_record(t, w, c, m, old);
    }
  }
  if (old)
    protobuf_c_message_free_unpacked(old, NULL);
  if (m)
    protobuf_c_message_free_unpacked(m, NULL);
  if (c)
    kehu__customer__free_unpacked(c, NULL);
  return rc;
}

static void reply_record(kehu_call *call, const kehu_kind_info *kind, const uint8_t *p, size_t n)
{
  ProtobufCMessage *m = protobuf_c_message_unpack(kind->desc, NULL, n, p);
  if (!m) {
    kehu_reply_status(call, KEHU_INTERNAL, "stored %s does not decode", kind->name);
    return;
  }
  kehu_access_redact(&call->caller, m);
  Kehu__Child child;
  kehu_child_wrap(&child, kind, m);
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = KEHU__STATUS__OK;
  r.result_case = KEHU__RESPONSE__RESULT_CHILD;
  r.child = &child;
  kehu_reply(call, &r);
  protobuf_c_message_free_unpacked(m, NULL);
}

static void child_written(kehu_call *call, int status, void *arg)
{
  child_write *w = arg;
  if (status == KEHU_OK && w->assigned_to[0])
    kehu_push_assigned(call->srv, w->assigned_to, "ticket_assigned", w->record_id,
                       kehu_msg_get_string(w->rec, "subject"));
  if (status == KEHU_OK)
    reply_record(call, w->kind, w->packed, w->packed_len);
  else if (w->err.status == status)
    kehu_reply_error(call, &w->err);
  else
    kehu_reply_status(call, status, "the change was not stored: %s", kehu_status_name(status));
  child_write_free(w);
}

/* An owned copy of the record in a request, minus server-set fields. */
static child_write *start_write(kehu_call *call, const Kehu__Child *child)
{
  const kehu_kind_info *kind = NULL;
  ProtobufCMessage *in = child ? kehu_child_record(child, &kind) : NULL;
  if (!in) {
    kehu_reply_status(call, KEHU_INVALID, "the request carries no record");
    return NULL;
  }
  child_write *w = calloc(1, sizeof *w);
  if (!w || !(w->rec = kehu_msg_copy(in))) {
    free(w);
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return NULL;
  }
  for (size_t i = 0; i < sizeof server_fields / sizeof *server_fields; i++)
    kehu_msg_clear(w->rec, server_fields[i]);
  w->kind = kind;
  w->caller = call->caller;
  w->now = kehu_now(call->srv);
  w->cfg = &call->srv->cfg;
  return w;
}

void kehu_handle_child_add(kehu_call *call)
{
  const Kehu__ChildAdd *add = call->req->child_add;
  uint64_t cust;
  if (kehu_customer_id_parse(add->customer_id, &cust) != 0) {
    kehu_reply_status(call, KEHU_INVALID, "customer_id: '%s' is not a customer id",
                      add->customer_id);
    return;
  }
  child_write *w = start_write(call, add->child);
  if (!w)
    return;
  if (w->kind->kind == KEHU_KIND_ATTACHMENT) {
    kehu_reply_status(call, KEHU_INVALID, "attachments are added with their bytes (attach add)");
    child_write_free(w);
    return;
  }
  w->cust = cust;
  if (apply_defaults(w, w->rec) != KEHU_OK) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    child_write_free(w);
    return;
  }
  if (kehu_record_check(w->kind, w->rec, &w->err) != KEHU_OK) {
    kehu_reply_error(call, &w->err);
    child_write_free(w);
    return;
  }
  kehu_submit_write(call, apply_add, child_written, w);
}

static void start_change(kehu_call *call, const char *id, const Kehu__Child *changes,
                         int deleting)
{
  const kehu_kind_info *kind;
  uint64_t seq;
  if (kehu_child_id_parse(id, &kind, &seq) != 0) {
    kehu_reply_status(call, KEHU_INVALID, "id: '%s' is not a record id (CT12, FU7, HT3...)", id);
    return;
  }
  Kehu__Child empty;
  _Alignas(max_align_t) unsigned char blank[1024];
  if (!changes) {   /* delete: an empty record of the id's kind */
    if (kind->desc->sizeof_message > sizeof blank) {
      kehu_reply_status(call, KEHU_INTERNAL, "record type too large");
      return;
    }
    protobuf_c_message_init(kind->desc, blank);
    kehu_child_wrap(&empty, kind, (ProtobufCMessage *)blank);
    changes = &empty;
  }
  const kehu_kind_info *ckind = NULL;
  if (!kehu_child_record(changes, &ckind) || ckind != kind) {
    kehu_reply_status(call, KEHU_INVALID, "id: %s is not a %s", id,
                      ckind ? ckind->name : "record");
    return;
  }
  child_write *w = start_write(call, changes);
  if (!w)
    return;
  w->seq = seq;
  w->deleting = deleting;
  const Kehu__ChildUpdate *u = deleting ? NULL : call->req->child_update;
  if (u && u->has_expected_version) {
    w->has_expected = 1;
    w->expected_version = u->expected_version;
  }
  kehu_submit_write(call, apply_change, child_written, w);
}

void kehu_handle_child_update(kehu_call *call)
{
  start_change(call, call->req->child_update->id, call->req->child_update->changes, 0);
}

void kehu_handle_child_delete(kehu_call *call)
{
  start_change(call, call->req->child_delete->id, NULL, 1);
}

/* ---- list ---- */

typedef struct {
  kehu_txn *t;
  const kehu_caller *who;
  const kehu_kind_info *kind;
  const char *status;
  char ends_from[11], ends_to[11];   /* contracts ending in [from, to] */
  Kehu__Child *items;
  Kehu__Child **ptrs;
  size_t n;
  uint64_t seen_cust;                /* permission of the last customer, cached */
  int seen_ok;
  int check_access;
} list_state;

static int may_read(list_state *s, uint64_t cust)
{
  if (!s->check_access)
    return 1;
  if (cust != s->seen_cust) {
    Kehu__Customer *c;
    s->seen_cust = cust;
    s->seen_ok = 0;
    if (kehu_store_customer_get(s->t, cust, &c) == KEHU_OK) {
      s->seen_ok = !(c->has_deleted && c->deleted) &&
                   kehu_access_child(s->t, s->who, c, s->kind, 0, NULL) == KEHU_OK;
      kehu__customer__free_unpacked(c, NULL);
    }
  }
  return s->seen_ok;
}

static int accept_child(ProtobufCMessage *m, uint64_t cust, void *arg)
{
  list_state *s = arg;
  const char *status = kehu_msg_get_string(m, "status");
  const char *ends = kehu_msg_get_string(m, "ends_on");
  int ok = (!s->status || (status && strcmp(status, s->status) == 0)) &&
           (!s->ends_from[0] || (ends && strcmp(ends, s->ends_from) >= 0 &&
                                 strcmp(ends, s->ends_to) <= 0)) &&
           may_read(s, cust);
  if (!ok) {
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
  }
  kehu_access_redact(s->who, m);
  kehu_child_wrap(&s->items[s->n], s->kind, m);
  s->ptrs[s->n] = &s->items[s->n];
  s->n++;
  return 1;
}

static void local_date(int64_t t, char out[11])
{
  time_t tt = (time_t)t;
  struct tm tm;
  localtime_r(&tt, &tm);
  strftime(out, 11, "%Y-%m-%d", &tm);
}

void kehu_handle_child_list(kehu_call *call)
{
  const Kehu__ChildList *q = call->req->child_list;
  list_state s = {.who = &call->caller, .status = q->status, .check_access = 1};
  unsigned limit = q->has_limit ? q->limit : DEFAULT_PAGE;
  uint64_t cust = 0, before = 0;
  const kehu_kind_info *ck;
  if (!(s.kind = kehu_kind_by_name(q->kind))) {
    kehu_reply_status(call, KEHU_INVALID, "kind: '%s' is not a record kind", q->kind);
    return;
  }
  if (limit < 1 || limit > MAX_PAGE) {
    kehu_reply_status(call, KEHU_INVALID, "limit: %u is outside 1..%d", limit, MAX_PAGE);
    return;
  }
  if (q->customer_id && kehu_customer_id_parse(q->customer_id, &cust) != 0) {
    kehu_reply_status(call, KEHU_INVALID, "customer_id: '%s' is not a customer id",
                      q->customer_id);
    return;
  }
  if (q->cursor && *q->cursor &&
      (kehu_child_id_parse(q->cursor, &ck, &before) != 0 || ck != s.kind)) {
    kehu_reply_status(call, KEHU_INVALID, "cursor: '%s' is not a cursor from a previous page",
                      q->cursor);
    return;
  }
  int exporting = q->has_export && q->export;
  kehu_error xerr = {0};
  if (exporting && kehu_access_export_records(&call->caller, s.kind, &xerr) != KEHU_OK) {
    kehu_reply_error(call, &xerr);
    return;
  }
  if (q->has_expiring_within_days) {
    int64_t now = kehu_now(call->srv);
    local_date(now, s.ends_from);
    local_date(now + (int64_t)q->expiring_within_days * DAY, s.ends_to);
  }
  kehu_txn t;
  if (kehu_store_read_begin(call->srv->store, &t) != KEHU_OK) {
    kehu_reply_status(call, KEHU_INTERNAL, "storage unavailable");
    return;
  }
  s.t = &t;
  child_write probe = {.caller = call->caller, .kind = s.kind};
  Kehu__Customer *c = NULL;
  int rc = KEHU_OK;
  if (cust) {
    /* Addressing one customer: say so when it is not allowed. */
    rc = load_customer(&t, &probe, cust, 0, &c);
    s.check_access = 0;
  }
  s.items = calloc(limit, sizeof *s.items);
  s.ptrs = calloc(limit, sizeof *s.ptrs);
  uint64_t next = 0;
  if (rc == KEHU_OK)
    rc = s.items && s.ptrs ? kehu_store_child_list(&t, s.kind, cust, before, limit, accept_child,
                                                   &s, &next)
                           : KEHU_EXHAUSTED;
  kehu_store_read_end(&t);
  if (rc != KEHU_OK && probe.err.status == rc) {
    kehu_reply_error(call, &probe.err);
  } else if (rc != KEHU_OK) {
    kehu_reply_status(call, rc, "cannot list %ss: %s", s.kind->name, kehu_status_name(rc));
  } else {
    char cursor[24];
    Kehu__ChildPage pg = KEHU__CHILD_PAGE__INIT;
    pg.items = s.ptrs;
    pg.n_items = s.n;
    if (next) {
      kehu_child_id_format(s.kind, next, cursor);
      pg.next_cursor = cursor;
    }
    if (exporting) {
      /* docs/architecture.md#roles-and-permissions: every export is audited with its row count. */
      char details[160];
      snprintf(details, sizeof details, "%zu %ss%s%s", s.n, s.kind->name,
               q->cursor && *q->cursor ? " after " : "", q->cursor && *q->cursor ? q->cursor : "");
      kehu_audit_later(call->srv, &call->caller, "export", s.kind->name, q->customer_id, details);
    }
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_CHILD_PAGE;
    r.child_page = &pg;
    kehu_reply(call, &r);
  }
  for (size_t i = 0; i < s.n; i++)
    protobuf_c_message_free_unpacked(kehu_child_record(&s.items[i], NULL), NULL);
  free(s.items);
  free(s.ptrs);
  if (c)
    kehu__customer__free_unpacked(c, NULL);
}

int kehu_child_create_in(kehu_txn *t, const kehu_caller *who, int64_t now,
                         const kehu_config *cfg, const kehu_kind_info *kind, uint64_t cust,
                         const ProtobufCMessage *rec, kehu_error *err)
{
  child_write w = {0};
  w.caller = *who;
  w.now = now;
  w.cfg = cfg;
  w.kind = kind;
  w.cust = cust;
  w.rec = (ProtobufCMessage *)rec;   /* read only: apply_add stores a copy */
  w.imported = 1;
  int rc = apply_defaults(&w, w.rec) == KEHU_OK ? apply_add(t, &w) : KEHU_EXHAUSTED;
  free(w.packed);
  if (rc != KEHU_OK && err)
    *err = w.err;
  return rc;
}
