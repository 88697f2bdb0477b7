/* Audit entries (docs/storage.md#audit-log): one appended in the
 * transaction of the change it records, and the "field: old -> new" text
 * of an update. */
#include "audit_entry.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reflect.h"

int kehu_audit(kehu_txn *t, const kehu_caller *who, int64_t now, const char *action,
               const char *entity, const char *id, const char *details)
{
  Kehu__AuditEntry e = KEHU__AUDIT_ENTRY__INIT;
  e.at = now;
  e.user = who && who->username[0] ? (char *)who->username : NULL;
  e.address = who && who->address[0] ? (char *)who->address : NULL;
  e.action = (char *)action;
  e.entity = (char *)entity;
  e.entity_id = (char *)id;
  e.details = details && *details ? (char *)details : NULL;
  return kehu_store_audit_append(t, &e);
}

static int hidden_field(const char *name, const char *const *hidden)
{
  for (; hidden && *hidden; hidden++)
    if (strcmp(name, *hidden) == 0)
      return 1;
  return 0;
}

/* A field's value as text for the log ("" when unset). */
static void field_text(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, char *out,
                       size_t len)
{
  int64_t v;
  const char *s;
  out[0] = '\0';
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
    if (f->type == PROTOBUF_C_TYPE_STRING) {
      char **arr = *(char ***)((const char *)m + f->offset);
      for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", arr[i]);
    } else {
      snprintf(out, len, "%zu entries", n);
    }
  } else if (f->type == PROTOBUF_C_TYPE_STRING) {
    if ((s = kehu_msg_get_string(m, f->name)))
      snprintf(out, len, "%s", s);
  } else if (kehu_msg_get_int(m, f->name, &v)) {
    snprintf(out, len, "%" PRId64, v);
  }
}

const char *const kehu_audit_personal_fields[] = {"name",  "short_name", "address",
                                                  "external_code", "notes", NULL};

void kehu_audit_diff(const ProtobufCMessage *before, const ProtobufCMessage *after,
                     const char *const *hidden, char *out, size_t len)
{
  static const char *const bookkeeping[] = {"version", "updated_at", "schema", NULL};
  const ProtobufCMessageDescriptor *d = after->descriptor;
  size_t used = 0;
  out[0] = '\0';
  for (unsigned i = 0; i < d->n_fields && used + 1 < len; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type == PROTOBUF_C_TYPE_MESSAGE || hidden_field(f->name, bookkeeping))
      continue;
    char a[256], b[256];
    field_text(before, f, a, sizeof a);
    field_text(after, f, b, sizeof b);
    if (strcmp(a, b) == 0)
      continue;
    int n = hidden_field(f->name, hidden)
                ? snprintf(out + used, len - used, "%s%s changed", used ? "; " : "", f->name)
                : snprintf(out + used, len - used, "%s%s: '%s' -> '%s'", used ? "; " : "",
                           f->name, a, b);
    if (n > 0)
      used = used + (size_t)n < len ? used + (size_t)n : len - 1;
  }
}
