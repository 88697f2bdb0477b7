#include "reflect.h"

#include <stdlib.h>
#include <string.h>

ProtobufCMessage *kehu_msg_copy(const ProtobufCMessage *m)
{
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf)
    return NULL;
  protobuf_c_message_pack(m, buf);
  ProtobufCMessage *copy = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
  free(buf);
  return copy;
}

/* Protobuf's own merge: decoding two encodings back to back keeps the later
 * value of each singular field. Repeated fields would concatenate, so the
 * ones changes sets are cleared from the base first. */
ProtobufCMessage *kehu_msg_merge(const ProtobufCMessage *base, const ProtobufCMessage *changes)
{
  const ProtobufCMessageDescriptor *d = base->descriptor;
  if (changes->descriptor != d)
    return NULL;
  ProtobufCMessage *b = kehu_msg_copy(base);
  if (!b)
    return NULL;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->label == PROTOBUF_C_LABEL_REPEATED &&
        *(const size_t *)((const char *)changes + f->quantifier_offset) > 0)
      kehu_msg_clear(b, f->name);
  }
  size_t nb = protobuf_c_message_get_packed_size(b);
  size_t nc = protobuf_c_message_get_packed_size(changes);
  uint8_t *buf = malloc(nb + nc + 1);
  ProtobufCMessage *merged = NULL;
  if (buf) {
    protobuf_c_message_pack(b, buf);
    protobuf_c_message_pack(changes, buf + nb);
    merged = protobuf_c_message_unpack(d, NULL, nb + nc, buf);
    free(buf);
  }
  protobuf_c_message_free_unpacked(b, NULL);
  return merged;
}

const ProtobufCFieldDescriptor *kehu_msg_field(const ProtobufCMessage *m, const char *name)
{
  return protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
}

static void *at(const ProtobufCMessage *m, size_t offset)
{
  return (char *)m + offset;
}

const char *kehu_msg_get_string(const ProtobufCMessage *m, const char *name)
{
  const ProtobufCFieldDescriptor *f = kehu_msg_field(m, name);
  if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
    return NULL;
  return *(char **)at(m, f->offset);
}

/* Unsets a string field (never fails, unlike a set). */
static void clear_string(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
  char **p = at(m, f->offset);
  if (*p != f->default_value)
    free(*p);
  *p = NULL;
}

int kehu_msg_set_string(ProtobufCMessage *m, const char *name, const char *value)
{
  const ProtobufCFieldDescriptor *f = kehu_msg_field(m, name);
  if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
    return -1;
  char **p = at(m, f->offset);
  char *copy = NULL;
  if (value && *value && !(copy = strdup(value)))
    return -1;
  if (*p != f->default_value)
    free(*p);
  *p = copy;
  return 0;
}

int kehu_msg_get_int(const ProtobufCMessage *m, const char *name, int64_t *out)
{
  const ProtobufCFieldDescriptor *f = kehu_msg_field(m, name);
  if (!f || f->label == PROTOBUF_C_LABEL_REPEATED)
    return 0;
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !*(protobuf_c_boolean *)at(m, f->quantifier_offset))
    return 0;
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT64: *out = *(int64_t *)at(m, f->offset); return 1;
  case PROTOBUF_C_TYPE_UINT32: *out = *(uint32_t *)at(m, f->offset); return 1;
  case PROTOBUF_C_TYPE_BOOL: *out = *(protobuf_c_boolean *)at(m, f->offset); return 1;
  default: return 0;
  }
}

int kehu_msg_set_int(ProtobufCMessage *m, const char *name, int64_t value)
{
  const ProtobufCFieldDescriptor *f = kehu_msg_field(m, name);
  if (!f || f->label == PROTOBUF_C_LABEL_REPEATED)
    return -1;
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT64: *(int64_t *)at(m, f->offset) = value; break;
  case PROTOBUF_C_TYPE_UINT32: *(uint32_t *)at(m, f->offset) = (uint32_t)value; break;
  case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *)at(m, f->offset) = value != 0; break;
  default: return -1;
  }
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
    *(protobuf_c_boolean *)at(m, f->quantifier_offset) = 1;
  return 0;
}

void kehu_msg_clear(ProtobufCMessage *m, const char *name)
{
  const ProtobufCFieldDescriptor *f = kehu_msg_field(m, name);
  if (!f)
    return;
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t *n = at(m, f->quantifier_offset);
    void **arr = *(void ***)at(m, f->offset);
    if (f->type == PROTOBUF_C_TYPE_STRING)
      for (size_t i = 0; i < *n; i++)
        free(arr[i]);
    else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
      for (size_t i = 0; i < *n; i++)
        protobuf_c_message_free_unpacked(arr[i], NULL);
    free(arr);
    *(void **)at(m, f->offset) = NULL;
    *n = 0;
  } else if (f->type == PROTOBUF_C_TYPE_STRING) {
    clear_string(m, f);
  } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE) {
    *(protobuf_c_boolean *)at(m, f->quantifier_offset) = 0;
  }
}

void kehu_msg_drop_empty_strings(ProtobufCMessage *m)
{
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
      continue;
    char *s = *(char **)at(m, f->offset);
    if (s && !*s)
      clear_string(m, f);
  }
}
