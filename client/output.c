#include "output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "i18n.h"
#include "timefmt.h"

void kehu_output_error(const kehu_cli *cli, const kehu_error *err)
{
  const char *message = err->message[0] ? err->message : kehu_status_name(err->status);
  if (!cli->json) {
    char human[640];
    fprintf(stderr, "kehu: %s\n", kehu_error_human(err, human, sizeof human));
    return;
  }
  /* JSON stays in English whatever the locale: scripts read it. */
  cJSON *root = cJSON_CreateObject();
  cJSON *e = cJSON_AddObjectToObject(root, "error");
  char *text = NULL;
  if (e && cJSON_AddStringToObject(e, "code", kehu_status_name(err->status)) &&
      cJSON_AddStringToObject(e, "message", message) &&
      (!err->field[0] || cJSON_AddStringToObject(e, "field", err->field)) &&
      (!err->existing_id[0] || cJSON_AddStringToObject(e, "existing_id", err->existing_id)))
    text = cJSON_PrintUnformatted(root);
  if (text)
    fprintf(stderr, "%s\n", text);
  else   /* out of memory: still one well-formed line */
    fprintf(stderr, "{\"error\": {\"code\": \"%s\", \"message\": \"out of memory\"}}\n",
            kehu_status_name(err->status));
  cJSON_free(text);
  cJSON_Delete(root);
}

void kehu_error_append(kehu_error *err, const char *fmt, ...)
{
  size_t used = strlen(err->message);
  if (used + 1 >= sizeof err->message)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message + used, sizeof err->message - used, fmt, ap);
  va_end(ap);
}

int kehu_output_json(cJSON *value, kehu_error *err)
{
  char *text = value ? cJSON_Print(value) : NULL;
  cJSON_Delete(value);
  if (!text)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory formatting the output");
  fputs(text, stdout);
  fputc('\n', stdout);
  cJSON_free(text);
  return KEHU_OK;
}

int kehu_json_add_string(cJSON *obj, const char *key, const char *s)
{
  cJSON *item = s ? cJSON_AddStringToObject(obj, key, s) : cJSON_AddNullToObject(obj, key);
  return item ? 0 : -1;
}

int kehu_json_add_time(cJSON *obj, const char *key, int has, int64_t t)
{
  if (!has || t == 0)
    return kehu_json_add_string(obj, key, NULL);
  char iso[32];
  kehu_time_format_iso(t, iso);
  return kehu_json_add_string(obj, key, iso);
}

void kehu_format_local_time(int64_t t, char *out)
{
  out[0] = '\0';
  if (t == 0)
    return;
  time_t tt = (time_t)t;
  struct tm tm;
  if (localtime_r(&tt, &tm))
    strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
}

static void pad(FILE *f, size_t n)
{
  while (n-- > 0)
    fputc(' ', f);
}

/* Writes s cut to max columns (0: no limit); returns the columns written. */
static size_t emit_fitted(FILE *f, const char *s, size_t max)
{
  if (!s)
    return 0;
  size_t w = kehu_text_width(s);
  if (max == 0 || w <= max)
    return kehu_text_emit(f, s, SIZE_MAX);
  size_t keep = max > 3 ? max - 3 : 0;
  size_t written = kehu_text_emit(f, s, keep);
  fputs("...", f);
  return written + 3;
}

void kehu_print_kv(FILE *f, const kehu_kv *rows, size_t n, size_t indent)
{
  size_t label = 0;
  for (size_t i = 0; i < n; i++) {
    if (rows[i].value && rows[i].value[0]) {
      size_t w = kehu_text_width(rows[i].key) + 1;
      if (w > label)
        label = w;
    }
  }
  for (size_t i = 0; i < n; i++) {
    const char *v = rows[i].value;
    if (!v || !v[0])
      continue;
    pad(f, indent);
    size_t w = kehu_text_emit(f, rows[i].key, SIZE_MAX);
    fputc(':', f);
    pad(f, label - (w + 1) + 1);
    /* One output line per line of the value, aligned under the first. */
    for (;;) {
      const char *nl = strchr(v, '\n');
      size_t len = nl ? (size_t)(nl - v) : strlen(v);
      char *line = strndup(v, len);
      if (line) {
        kehu_text_emit(f, line, SIZE_MAX);
        free(line);
      }
      fputc('\n', f);
      if (!nl)
        break;
      v = nl + 1;
      pad(f, indent + label + 1);
    }
  }
}

void kehu_print_table(FILE *f, const kehu_column *cols, size_t ncols, const char *const *cells,
                      size_t nrows)
{
  size_t *width = calloc(ncols ? ncols : 1, sizeof *width);
  if (!width)
    return;
  for (size_t c = 0; c < ncols; c++) {
    width[c] = kehu_text_width(cols[c].header);
    for (size_t r = 0; r < nrows; r++) {
      size_t w = kehu_text_width(cells[r * ncols + c]);
      if (cols[c].max_width && w > cols[c].max_width)
        w = cols[c].max_width;
      if (w > width[c])
        width[c] = w;
    }
  }
  for (size_t r = 0; r <= nrows; r++) {
    for (size_t c = 0; c < ncols; c++) {
      const char *s = r == 0 ? cols[c].header : cells[(r - 1) * ncols + c];
      size_t w = emit_fitted(f, s, cols[c].max_width);
      if (c + 1 < ncols)   /* no trailing spaces after the last column */
        pad(f, width[c] - w + 2);
    }
    fputc('\n', f);
  }
  free(width);
}
