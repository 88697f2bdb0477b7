#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reflect.h"
#include "timefmt.h"
#include "validate.h"

static const char *const methods[] = {"phone", "visit", "email", "meeting", "im", "other", NULL};
static const char *const need_kinds[] = {"product", "service", "cooperation", NULL};
static const char *const priorities[] = {"high", "medium", "low", NULL};
static const char *const need_statuses[] = {"open", "won", "lost", "dropped", NULL};
static const char *const contract_statuses[] = {"draft", "active", "fulfilled", "terminated",
                                                "expired", NULL};
static const char *const ticket_statuses[] = {"open", "in_progress", "resolved", "closed", NULL};

#define REQ 1
static const kehu_field_rule contact_rules[] = {
  {"name", KEHU_RULE_NAME, REQ, 200, NULL},
  {"title", KEHU_RULE_NAME, 0, 100, NULL},
  {"phones", KEHU_RULE_PHONE, 0, 10, NULL},
  {"email", KEHU_RULE_EMAIL, 0, 0, NULL},
  {"wechat", KEHU_RULE_NAME, 0, 100, NULL},
  {"birthday", KEHU_RULE_DATE, 0, 0, NULL},
  {"notes", KEHU_RULE_TEXT, 0, 10000, NULL},
};
static const kehu_field_rule followup_rules[] = {
  {"method", KEHU_RULE_ENUM, REQ, 0, methods},
  {"summary", KEHU_RULE_TEXT, REQ, 10000, NULL},
  {"feedback", KEHU_RULE_TEXT, 0, 10000, NULL},
  {"next_action", KEHU_RULE_TEXT, 0, 1000, NULL},
  {"at", KEHU_RULE_TIME, REQ, 0, NULL},
  {"next_action_due", KEHU_RULE_TIME, 0, 0, NULL},
};
static const kehu_field_rule need_rules[] = {
  {"kind", KEHU_RULE_ENUM, REQ, 0, need_kinds},
  {"description", KEHU_RULE_TEXT, REQ, 10000, NULL},
  {"budget", KEHU_RULE_MONEY, 0, 0, NULL},
  {"priority", KEHU_RULE_ENUM, 0, 0, priorities},
  {"status", KEHU_RULE_ENUM, 0, 0, need_statuses},
};
static const kehu_field_rule contract_rules[] = {
  {"number", KEHU_RULE_NAME, REQ, 64, NULL},
  {"signed_on", KEHU_RULE_DATE, REQ, 0, NULL},
  {"starts_on", KEHU_RULE_DATE, REQ, 0, NULL},
  {"ends_on", KEHU_RULE_DATE, REQ, 0, NULL},
  {"amount", KEHU_RULE_MONEY, REQ, 0, NULL},
  {"status", KEHU_RULE_ENUM, 0, 0, contract_statuses},
  {"fulfilment", KEHU_RULE_TEXT, 0, 10000, NULL},
};
static const kehu_field_rule order_rules[] = {
  {"amount", KEHU_RULE_MONEY, REQ, 0, NULL},
  {"at", KEHU_RULE_TIME, REQ, 0, NULL},
  {"product", KEHU_RULE_NAME, 0, 200, NULL},
  {"quantity", KEHU_RULE_COUNT, 0, 0, NULL},
};
static const kehu_field_rule ticket_rules[] = {
  {"subject", KEHU_RULE_NAME, REQ, 200, NULL},
  {"description", KEHU_RULE_TEXT, 0, 10000, NULL},
  {"priority", KEHU_RULE_ENUM, 0, 0, priorities},
  {"status", KEHU_RULE_ENUM, 0, 0, ticket_statuses},
  {"assignee", KEHU_RULE_USERNAME, 0, 0, NULL},
  {"resolution", KEHU_RULE_TEXT, 0, 10000, NULL},
  {"satisfaction", KEHU_RULE_RATING, 0, 0, NULL},
  {"response_due", KEHU_RULE_TIME, 0, 0, NULL},
};
static const kehu_field_rule attachment_rules[] = {
  {"file_name", KEHU_RULE_NAME, REQ, 255, NULL},
  {"media_type", KEHU_RULE_NAME, 0, 100, NULL},
};
#undef REQ

#define KIND(k, name, prefix, msg, kase, rules, sealed) \
  {k, name, prefix, &msg##__descriptor, KEHU__CHILD__RECORD_##kase, rules, \
   sizeof rules / sizeof *rules, sealed}
static const kehu_kind_info kinds[KEHU_KIND_COUNT] = {
  KIND(KEHU_KIND_CONTACT, "contact", "CT", kehu__contact, CONTACT, contact_rules, 1),
  KIND(KEHU_KIND_FOLLOWUP, "followup", "FU", kehu__follow_up, FOLLOWUP, followup_rules, 0),
  KIND(KEHU_KIND_NEED, "need", "ND", kehu__need, NEED, need_rules, 1),
  KIND(KEHU_KIND_CONTRACT, "contract", "HT", kehu__contract, CONTRACT, contract_rules, 1),
  KIND(KEHU_KIND_ORDER, "order", "OR", kehu__order, ORDER, order_rules, 1),
  KIND(KEHU_KIND_TICKET, "ticket", "TK", kehu__ticket, TICKET, ticket_rules, 0),
  KIND(KEHU_KIND_ATTACHMENT, "attachment", "AT", kehu__attachment, ATTACHMENT, attachment_rules, 0),
};
#undef KIND

const kehu_kind_info *kehu_kind_get(kehu_kind kind)
{
  return kind < KEHU_KIND_COUNT ? &kinds[kind] : NULL;
}

const kehu_kind_info *kehu_kind_by_name(const char *name)
{
  for (size_t i = 0; name && i < KEHU_KIND_COUNT; i++)
    if (strcmp(kinds[i].name, name) == 0)
      return &kinds[i];
  return NULL;
}

/* Every record message sits in the Child oneof at the same offset: the
 * union's one pointer. */
ProtobufCMessage *kehu_child_record(const Kehu__Child *c, const kehu_kind_info **info)
{
  for (size_t i = 0; i < KEHU_KIND_COUNT; i++) {
    if (c->record_case == kinds[i].child_case) {
      if (info)
        *info = &kinds[i];
      return (ProtobufCMessage *)c->contact;
    }
  }
  return NULL;
}

void kehu_child_wrap(Kehu__Child *c, const kehu_kind_info *info, ProtobufCMessage *m)
{
  kehu__child__init(c);
  c->record_case = info->child_case;
  c->contact = (Kehu__Contact *)m;
}

int kehu_child_id_parse(const char *id, const kehu_kind_info **info, uint64_t *seq)
{
  for (size_t i = 0; id && i < KEHU_KIND_COUNT; i++) {
    size_t n = strlen(kinds[i].prefix);
    if (strncmp(id, kinds[i].prefix, n) != 0)
      continue;
    const char *p = id + n;
    if (*p < '1' || *p > '9' || strlen(p) > 18)
      return -1;
    uint64_t v = 0;
    for (; *p; p++) {
      if (*p < '0' || *p > '9')
        return -1;
      v = v * 10 + (uint64_t)(*p - '0');
    }
    *info = &kinds[i];
    *seq = v;
    return 0;
  }
  return -1;
}

void kehu_child_id_format(const kehu_kind_info *info, uint64_t seq, char *out)
{
  snprintf(out, 24, "%s%llu", info->prefix, (unsigned long long)seq);
}

static int in_options(const char *v, const char *const *options)
{
  for (; *options; options++)
    if (strcmp(v, *options) == 0)
      return 1;
  return 0;
}

static int check_enum(const kehu_field_rule *r, const char *v, kehu_error *err)
{
  if (in_options(v, r->options))
    return KEHU_OK;
  char list[200] = "";
  for (const char *const *o = r->options; *o; o++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", o == r->options ? "" : ", ",
             *o);
  return kehu_fail(err, KEHU_INVALID, r->field, "%s: '%s' is not one of %s", r->field, v, list);
}

static int check_phones(const kehu_field_rule *r, ProtobufCMessage *m,
                        const ProtobufCFieldDescriptor *f, kehu_error *err)
{
  size_t n = *(size_t *)((char *)m + f->quantifier_offset);
  char **phones = *(char ***)((char *)m + f->offset);
  if (n > r->max)
    return kehu_fail(err, KEHU_INVALID, "phone", "phone: at most %u numbers", r->max);
  for (size_t i = 0; i < n; i++) {
    char normal[32];
    int rc = kehu_check_phone("phone", phones[i], normal, err);
    if (rc != KEHU_OK)
      return rc;
    /* The normalised form is never longer than what was typed, except a
     * landline typed without separator gaining its dash. */
    char *copy = strdup(normal);
    if (!copy)
      return KEHU_EXHAUSTED;
    free(phones[i]);
    phones[i] = copy;
  }
  return KEHU_OK;
}

static int check_string(const kehu_field_rule *r, char *v, kehu_error *err)
{
  int y, mo, d;
  switch (r->rule) {
  case KEHU_RULE_NAME: return kehu_check_name(r->field, v, r->max, err);
  case KEHU_RULE_TEXT: return kehu_check_text(r->field, v, r->max, err);
  case KEHU_RULE_EMAIL: return kehu_check_email(r->field, v, err);
  case KEHU_RULE_ENUM: return check_enum(r, v, err);
  case KEHU_RULE_USERNAME: return kehu_check_username(r->field, v, err);
  case KEHU_RULE_DATE:
    if (kehu_date_parse(v, &y, &mo, &d) == 0)
      return KEHU_OK;
    return kehu_fail(err, KEHU_INVALID, r->field, "%s: '%s' is not a date (YYYY-MM-DD)", r->field, v);
  default: return KEHU_OK;
  }
}

static int check_number(const kehu_field_rule *r, int64_t v, kehu_error *err)
{
  switch (r->rule) {
  case KEHU_RULE_MONEY:
    if (v < 0 || v > 1000000000000000LL)
      return kehu_fail(err, KEHU_INVALID, r->field,
                       "%s: must be between 0 and 10^13 yuan", r->field);
    return KEHU_OK;
  case KEHU_RULE_RATING:
    if (v < 1 || v > 5)
      return kehu_fail(err, KEHU_INVALID, r->field, "%s: must be 1 to 5", r->field);
    return KEHU_OK;
  case KEHU_RULE_COUNT:
    if (v < 1)
      return kehu_fail(err, KEHU_INVALID, r->field, "%s: must be at least 1", r->field);
    return KEHU_OK;
  default: return KEHU_OK;
  }
}

/* Rules between fields of one kind. */
static int check_cross(const kehu_kind_info *info, const ProtobufCMessage *m, kehu_error *err)
{
  if (info->kind == KEHU_KIND_CONTRACT) {
    const char *start = kehu_msg_get_string(m, "starts_on"), *end = kehu_msg_get_string(m, "ends_on");
    if (start && end && strcmp(end, start) < 0)
      return kehu_fail(err, KEHU_INVALID, "ends_on", "ends_on: %s is before starts_on %s", end,
                       start);
  }
  return KEHU_OK;
}

int kehu_record_check(const kehu_kind_info *info, ProtobufCMessage *m, kehu_error *err)
{
  kehu_msg_drop_empty_strings(m);
  for (size_t i = 0; i < info->nrules; i++) {
    const kehu_field_rule *r = &info->rules[i];
    const ProtobufCFieldDescriptor *f = kehu_msg_field(m, r->field);
    if (!f)
      return kehu_fail(err, KEHU_INTERNAL, r->field, "no field %s in %s", r->field, info->name);
    int rc = KEHU_OK;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      rc = check_phones(r, m, f, err);
    } else if (f->type == PROTOBUF_C_TYPE_STRING) {
      char *v = *(char **)((char *)m + f->offset);
      if (!v && r->required)
        return kehu_fail(err, KEHU_INVALID, r->field, "%s: is required", r->field);
      if (v)
        rc = check_string(r, v, err);
    } else {
      int64_t v;
      if (!kehu_msg_get_int(m, r->field, &v)) {
        if (r->required)
          return kehu_fail(err, KEHU_INVALID, r->field, "%s: is required", r->field);
      } else {
        rc = check_number(r, v, err);
      }
    }
    if (rc != KEHU_OK)
      return rc;
  }
  return check_cross(info, m, err);
}
