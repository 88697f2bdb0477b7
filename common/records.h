/* The records kept under a customer (contacts, follow-ups, needs,
 * contracts, orders, tickets): one table describing each kind and the
 * rules of its fields, so validation, storage and output are written once
 * for all of them. */
#ifndef KEHU_RECORDS_H
#define KEHU_RECORDS_H

#include <stdint.h>

#include "kehu.pb-c.h"
#include "status.h"

typedef enum {
  KEHU_KIND_CONTACT,
  KEHU_KIND_FOLLOWUP,
  KEHU_KIND_NEED,
  KEHU_KIND_CONTRACT,
  KEHU_KIND_ORDER,
  KEHU_KIND_TICKET,
  KEHU_KIND_ATTACHMENT,   /* metadata; the bytes live apart, sealed */
  KEHU_KIND_COUNT
} kehu_kind;

typedef enum {
  KEHU_RULE_NAME,      /* one line, trimmed, max characters */
  KEHU_RULE_TEXT,      /* free text, max characters */
  KEHU_RULE_PHONE,     /* normalised (repeated field: each) */
  KEHU_RULE_EMAIL,
  KEHU_RULE_DATE,      /* YYYY-MM-DD */
  KEHU_RULE_ENUM,      /* one of options */
  KEHU_RULE_MONEY,     /* fen, 0 .. 10^15 */
  KEHU_RULE_USERNAME,
  KEHU_RULE_RATING,    /* 1..5 */
  KEHU_RULE_COUNT,     /* >= 1 */
  KEHU_RULE_TIME,      /* any UTC seconds */
} kehu_rule;

typedef struct {
  const char *field;
  kehu_rule rule;
  int required;
  unsigned max;                 /* characters, or repeated entries */
  const char *const *options;   /* KEHU_RULE_ENUM, NULL-terminated */
} kehu_field_rule;

typedef struct {
  kehu_kind kind;
  const char *name;             /* "contact", as in the CLI */
  const char *prefix;           /* id prefix: CT12 */
  const ProtobufCMessageDescriptor *desc;
  Kehu__Child__RecordCase child_case;
  const kehu_field_rule *rules;
  size_t nrules;
  int sealed;                   /* holds sensitive values: encrypted at rest */
} kehu_kind_info;

const kehu_kind_info *kehu_kind_get(kehu_kind kind);
const kehu_kind_info *kehu_kind_by_name(const char *name);

/* The record inside a Child, and its kind (NULL when the oneof is empty). */
ProtobufCMessage *kehu_child_record(const Kehu__Child *c, const kehu_kind_info **info);
/* Points c at m (not a copy). */
void kehu_child_wrap(Kehu__Child *c, const kehu_kind_info *info, ProtobufCMessage *m);

/* Child ids: the kind's prefix and a number (CT12, FU7). */
int kehu_child_id_parse(const char *id, const kehu_kind_info **info, uint64_t *seq);
void kehu_child_id_format(const kehu_kind_info *info, uint64_t seq, char *out /* >= 24 */);

/* Checks a whole record against its kind's rules (required fields, formats,
 * cross-field rules such as ends_on >= starts_on), normalising phones and
 * trimming names in place. m must own its memory (kehu_msg_copy). */
int kehu_record_check(const kehu_kind_info *info, ProtobufCMessage *m, kehu_error *err);

#endif
