#include "record_view.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "output.h"
#include "reflect.h"
#include "timefmt.h"

static int ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int is_time(const char *name)
{
  return strcmp(name, "at") == 0 || ends_with(name, "_at") || ends_with(name, "_due") ||
         ends_with(name, "_until");
}

static int is_money(const char *name)
{
  return strcmp(name, "amount") == 0 || strcmp(name, "budget") == 0;
}

/* Storage-only fields never shown. */
static int is_hidden(const char *name)
{
  return strcmp(name, "armed") == 0 || strcmp(name, "source") == 0 ||
         strcmp(name, "prev_hash") == 0;
}

/* Integer fields of every width (the reflection helpers stop at uint32):
 * 1 when set, with *v. */
static int get_int(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, int64_t *v)
{
  if (f->type != PROTOBUF_C_TYPE_UINT64)
    return kehu_msg_get_int(m, f->name, v);
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
      !*(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset))
    return 0;
  *v = (int64_t)*(const uint64_t *)((const char *)m + f->offset);
  return 1;
}

/* A scalar field as text for people; "" when unset. */
static void field_text(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, char *out,
                       size_t len)
{
  int64_t v;
  const char *s;
  out[0] = '\0';
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    if (f->type != PROTOBUF_C_TYPE_STRING)
      return;
    size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
    char **arr = *(char ***)((const char *)m + f->offset);
    for (size_t i = 0; i < n; i++)
      snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? ", " : "", arr[i]);
  } else if (f->type == PROTOBUF_C_TYPE_STRING) {
    if ((s = kehu_msg_get_string(m, f->name)))
      snprintf(out, len, "%s", s);
  } else if (f->type == PROTOBUF_C_TYPE_BOOL) {
    if (get_int(m, f, &v) && v)
      snprintf(out, len, "%s", _("yes"));
  } else if (get_int(m, f, &v)) {
    if (is_time(f->name))
      kehu_format_local_time(v, out);
    else if (is_money(f->name))
      kehu_money_format(v, out);
    else
      snprintf(out, len, "%" PRId64, v);
  }
}

cJSON *kehu_record_json(const ProtobufCMessage *m)
{
  cJSON *o = cJSON_CreateObject();
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; o && i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (is_hidden(f->name) || f->type == PROTOBUF_C_TYPE_MESSAGE)
      continue;
    int64_t v;
    char buf[32];
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      cJSON *arr = cJSON_AddArrayToObject(o, f->name);
      size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
      char **items = *(char ***)((const char *)m + f->offset);
      for (size_t k = 0; arr && f->type == PROTOBUF_C_TYPE_STRING && k < n; k++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(items[k]));
    } else if (f->type == PROTOBUF_C_TYPE_STRING) {
      kehu_json_add_string(o, f->name, kehu_msg_get_string(m, f->name));
    } else if (f->type == PROTOBUF_C_TYPE_BOOL) {
      cJSON_AddBoolToObject(o, f->name, get_int(m, f, &v) && v);
    } else if (!get_int(m, f, &v)) {
      cJSON_AddNullToObject(o, f->name);
    } else if (is_time(f->name)) {
      kehu_json_add_time(o, f->name, 1, v);
    } else if (is_money(f->name)) {
      kehu_money_format(v, buf);
      cJSON_AddStringToObject(o, f->name, buf);
    } else {
      cJSON_AddNumberToObject(o, f->name, (double)v);
    }
  }
  return o;
}

cJSON *kehu_record_list_json(const ProtobufCMessage *const *items, size_t n, const char *next)
{
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = o ? cJSON_AddArrayToObject(o, "items") : NULL;
  for (size_t i = 0; arr && i < n; i++)
    cJSON_AddItemToArray(arr, kehu_record_json(items[i]));
  if (o)
    kehu_json_add_string(o, "next_cursor", next);
  return o;
}

/* The record's kind as the field labels know it ("contact", "followup"). */
static void kind_of(const ProtobufCMessage *m, char *out, size_t len)
{
  size_t n = 0;
  for (const char *p = m ? m->descriptor->short_name : ""; *p && n + 1 < len; p++)
    out[n++] = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
  out[n] = '\0';
}

void kehu_record_print(FILE *f, const ProtobufCMessage *m)
{
  const ProtobufCMessageDescriptor *d = m->descriptor;
  char kind[32];
  kind_of(m, kind, sizeof kind);
  kehu_kv *rows = calloc(d->n_fields, sizeof *rows);
  char (*values)[512] = calloc(d->n_fields, sizeof *values);
  size_t n = 0;
  for (unsigned i = 0; rows && values && i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *fd = &d->fields[i];
    if (is_hidden(fd->name) || fd->type == PROTOBUF_C_TYPE_MESSAGE)
      continue;
    field_text(m, fd, values[n], sizeof values[n]);
    rows[n].key = kehu_field_label(kind, fd->name);
    rows[n].value = values[n];
    n++;
  }
  if (rows && values)
    kehu_print_kv(f, rows, n, 0);
  free(rows);
  free(values);
}

void kehu_record_table(FILE *f, const ProtobufCMessage *const *items, size_t n,
                       const char *const *columns, const char *next)
{
  size_t ncols = 0;
  while (columns[ncols])
    ncols++;
  kehu_column *cols = calloc(ncols, sizeof *cols);
  const char **cells = calloc(n * ncols + 1, sizeof *cells);
  char (*text)[256] = calloc(n * ncols + 1, sizeof *text);
  char (*headers)[48] = calloc(ncols, sizeof *headers);
  char (*names)[48] = calloc(ncols, sizeof *names);
  char kind[32];
  kind_of(n ? items[0] : NULL, kind, sizeof kind);
  if (cols && cells && text && headers && names) {
    for (size_t c = 0; c < ncols; c++) {
      /* "field:HEADER", or the field's name in capitals */
      const char *colon = strchr(columns[c], ':');
      size_t name_len = colon ? (size_t)(colon - columns[c]) : strlen(columns[c]);
      if (colon) {
        snprintf(headers[c], sizeof headers[c], "%s", colon + 1);
      } else {
        for (size_t k = 0; k < name_len && k + 1 < sizeof headers[c]; k++) {
          char ch = columns[c][k];
          headers[c][k] = ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch == '_' ? ' ' : ch;
        }
      }
      snprintf(names[c], sizeof names[c], "%.*s", (int)name_len, columns[c]);
      /* translated: the field's label; in English the header above */
      const char *label = kehu_field_label(kind, names[c]);
      if (label != names[c])
        snprintf(headers[c], sizeof headers[c], "%s", label);
      cols[c].header = headers[c];
      cols[c].max_width = 40;
    }
    for (size_t r = 0; r < n; r++)
      for (size_t c = 0; c < ncols; c++) {
        const ProtobufCFieldDescriptor *fd = kehu_msg_field(items[r], names[c]);
        if (fd)
          field_text(items[r], fd, text[r * ncols + c], sizeof text[0]);
        cells[r * ncols + c] = text[r * ncols + c];
      }
    kehu_print_table(f, cols, ncols, cells, n);
  }
  if (next) {
    fprintf(f, _("more: --cursor %s"), next);
    fputc('\n', f);
  }
  free(cols);
  free(cells);
  free(text);
  free(headers);
  free(names);
}

size_t kehu_record_export_fields(const ProtobufCMessageDescriptor *d,
                                 const ProtobufCFieldDescriptor **out, size_t max)
{
  size_t n = 0;
  for (unsigned i = 0; i < d->n_fields && n < max; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (is_hidden(f->name) || f->type == PROTOBUF_C_TYPE_MESSAGE ||
        (f->label == PROTOBUF_C_LABEL_REPEATED && f->type != PROTOBUF_C_TYPE_STRING))
      continue;
    out[n++] = f;
  }
  return n;
}

const char *kehu_record_export_cell(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                                    char *out, size_t len)
{
  int64_t v;
  const char *s;
  out[0] = '\0';
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
    char **arr = *(char ***)((const char *)m + f->offset);
    for (size_t i = 0; i < n; i++)
      snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? ";" : "", arr[i]);
  } else if (f->type == PROTOBUF_C_TYPE_STRING) {
    if ((s = kehu_msg_get_string(m, f->name)))
      return s;
  } else if (f->type == PROTOBUF_C_TYPE_BOOL) {
    if (get_int(m, f, &v))
      snprintf(out, len, "%s", v ? "true" : "false");
  } else if (get_int(m, f, &v)) {
    if (is_time(f->name))
      kehu_time_format_iso(v, out);
    else if (is_money(f->name))
      kehu_money_format(v, out);
    else
      snprintf(out, len, "%" PRId64, v);
  }
  return out;
}
