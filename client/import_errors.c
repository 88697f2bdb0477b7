#include "import_errors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "i18n.h"
#include "import_map.h"
#include "sheet.h"
#include "sheet_neutral.h"

/* A rejected row of the input, copied while reading. */
typedef struct {
  size_t line;
  size_t n;
  char **cells;
  unsigned char *dates;  /* NULL for CSV */
  size_t first, count;   /* its rejections: order[first .. first + count) */
} kept_row;

typedef struct {
  const kehu_import_rejection *rej;
  size_t nrej;
  size_t *order;  /* rejections by line, stable */
  size_t pos;     /* next rejection (in order) to meet */
  char **header;
  size_t hn;
  int have_header;
  kept_row *kept;
  size_t nkept, capkept;
  size_t width;   /* columns before the reason column */
  const char *input;
} state;

static int oom(kehu_error *err)
{
  return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
}

static char **copy_cells(const kehu_sheet_row *row)
{
  char **c = calloc(row->n ? row->n : 1, sizeof *c);
  if (!c)
    return NULL;
  for (size_t i = 0; i < row->n; i++) {
    if (!(c[i] = strdup(row->cells[i]))) {
      while (i--)
        free(c[i]);
      free(c);
      return NULL;
    }
  }
  return c;
}

static void free_cells(char **c, size_t n)
{
  if (!c)
    return;
  for (size_t i = 0; i < n; i++)
    free(c[i]);
  free(c);
}

static int missing_line(state *st, size_t line, kehu_error *err)
{
  return kehu_fail_tr(err, KEHU_INVALID, NULL,
                      "line %zu is not a row of %s after its header (was the file changed?)", line,
                      st->input);
}

static int on_row(void *ctx, const kehu_sheet_row *row, kehu_error *err)
{
  state *st = ctx;
  if (!st->have_header) {
    if (!(st->header = copy_cells(row)))
      return oom(err);
    st->hn = row->n;
    st->width = row->n;
    st->have_header = 1;
    return KEHU_OK;
  }
  if (st->pos < st->nrej && st->rej[st->order[st->pos]].line < row->line)
    return missing_line(st, st->rej[st->order[st->pos]].line, err);
  size_t first = st->pos;
  while (st->pos < st->nrej && st->rej[st->order[st->pos]].line == row->line)
    st->pos++;
  if (st->pos == first)
    return KEHU_OK;
  if (st->nkept == st->capkept) {
    size_t cap = st->capkept ? st->capkept * 2 : 16;
    kept_row *k = realloc(st->kept, cap * sizeof *k);
    if (!k)
      return oom(err);
    st->kept = k;
    st->capkept = cap;
  }
  kept_row *k = &st->kept[st->nkept];
  memset(k, 0, sizeof *k);
  if (!(k->cells = copy_cells(row)))
    return oom(err);
  k->n = row->n;
  k->line = row->line;
  k->first = first;
  k->count = st->pos - first;
  st->nkept++;
  if (row->dates && row->n) {
    if (!(k->dates = malloc(row->n)))
      return oom(err);
    memcpy(k->dates, row->dates, row->n);
  }
  if (row->n > st->width)
    st->width = row->n;
  return KEHU_OK;
}

/* qsort has no context argument; the client is single-threaded. */
static const kehu_import_rejection *sort_base;

static int by_line(const void *a, const void *b)
{
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  size_t lx = sort_base[x].line, ly = sort_base[y].line;
  if (lx != ly)
    return lx < ly ? -1 : 1;
  return x < y ? -1 : x > y;
}

static int is_xlsx(const char *path, const unsigned char *head, size_t n)
{
  size_t len = strlen(path);
  if (len >= 5 && strcasecmp(path + len - 5, ".xlsx") == 0)
    return 1;
  return n >= 4 && memcmp(head, "PK\x03\x04", 4) == 0;
}

/* f from where it is; path names it (and tells an .xlsx by its name). */
static int read_input(state *st, FILE *f, const char *path, kehu_encoding enc, kehu_error *err)
{
  unsigned char *buf = malloc(65536);
  if (!buf)
    return oom(err);
  size_t got = fread(buf, 1, 65536, f);
  int rc = KEHU_OK;
  if (is_xlsx(path, buf, got)) {
    /* The whole zip is needed at once; kehu_xlsx_read caps what it inflates. */
    size_t len = got, cap = 65536;
    while (got > 0 && !ferror(f)) {
      if (len == cap) {
        if (cap >= KEHU_XLSX_MAX_UNPACKED) {
          rc = kehu_fail_tr(err, KEHU_EXHAUSTED, NULL, "%s is larger than %u bytes", path,
                            KEHU_XLSX_MAX_UNPACKED);
          break;
        }
        unsigned char *b = realloc(buf, cap * 2);
        if (!b) {
          rc = oom(err);
          break;
        }
        buf = b;
        cap *= 2;
      }
      got = fread(buf + len, 1, cap - len, f);
      len += got;
    }
    if (rc == KEHU_OK && ferror(f))
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "cannot read %s", path);
    if (rc == KEHU_OK)
      rc = kehu_xlsx_read(buf, len, on_row, st, err);
  } else {
    kehu_csv *r = kehu_csv_new(enc, on_row, st);
    if (!r)
      rc = oom(err);
    while (rc == KEHU_OK && got > 0) {
      rc = kehu_csv_feed(r, buf, got, err);
      if (rc == KEHU_OK)
        got = fread(buf, 1, 65536, f);
    }
    if (rc == KEHU_OK && ferror(f))
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "cannot read %s", path);
    if (rc == KEHU_OK)
      rc = kehu_csv_finish(r, err);
    kehu_csv_free(r);
  }
  free(buf);
  return rc;
}

typedef struct {
  lxw_workbook *wb;
  lxw_worksheet *ws;
  lxw_format *bold, *red, *date, *red_date;
  char *buf;
  size_t cap;
} writer;

static int lxw_fail(lxw_error e, size_t line, const char *column, kehu_error *err)
{
  return kehu_fail_tr(err, e == LXW_ERROR_MAX_STRING_LENGTH_EXCEEDED ? KEHU_INVALID : KEHU_INTERNAL,
                      column, "line %zu, column '%s': %s", line, column ? column : "",
                      lxw_strerror(e));
}

/* A text cell, neutralised as exports are; an empty one is written only to
 * carry a fill. */
static int put_text(writer *w, lxw_row_t r, lxw_col_t c, const char *v, lxw_format *fmt,
                    size_t line, const char *column, kehu_error *err)
{
  int rc = kehu_sheet_neutralise(v, &w->buf, &w->cap, err);
  if (rc != KEHU_OK)
    return rc;
  lxw_error e = LXW_NO_ERROR;
  if (w->buf[0])
    e = worksheet_write_string(w->ws, r, c, w->buf, fmt);
  else if (fmt)
    e = worksheet_write_blank(w->ws, r, c, fmt);
  return e == LXW_NO_ERROR ? KEHU_OK : lxw_fail(e, line, column, err);
}

static int names_cell(const state *st, const kept_row *k, size_t col)
{
  if (col >= st->hn)
    return 0;
  for (size_t i = k->first; i < k->first + k->count; i++) {
    const char *c = st->rej[st->order[i]].column;
    if (c && strcmp(c, st->header[col]) == 0)
      return 1;
  }
  return 0;
}

static int write_book(state *st, writer *w, kehu_error *err)
{
  /* A rejected cell: solid light red with dark red text, as Excel's own
   * "light red fill" highlight. */
  format_set_bold(w->bold);
  format_set_pattern(w->red, LXW_PATTERN_SOLID);
  format_set_bg_color(w->red, 0xFFC7CE);
  format_set_font_color(w->red, 0x9C0006);
  format_set_num_format(w->date, "yyyy-mm-dd");
  format_set_pattern(w->red_date, LXW_PATTERN_SOLID);
  format_set_bg_color(w->red_date, 0xFFC7CE);
  format_set_font_color(w->red_date, 0x9C0006);
  format_set_num_format(w->red_date, "yyyy-mm-dd");

  size_t hline = 1;
  for (size_t c = 0; c < st->width; c++) {
    const char *h = c < st->hn ? st->header[c] : "";
    int rc = put_text(w, 0, (lxw_col_t)c, h, w->bold, hline, h, err);
    if (rc != KEHU_OK)
      return rc;
  }
  int rc = put_text(w, 0, (lxw_col_t)st->width, KEHU_IMPORT_REASON_HEADER, w->bold, hline,
                    KEHU_IMPORT_REASON_HEADER, err);
  if (rc != KEHU_OK)
    return rc;
  worksheet_freeze_panes(w->ws, 1, 0);
  if (st->width)
    worksheet_set_column(w->ws, 0, (lxw_col_t)(st->width - 1), 16, NULL);
  worksheet_set_column(w->ws, (lxw_col_t)st->width, (lxw_col_t)st->width, 48, NULL);

  char *reason = NULL;
  size_t rcap = 0;
  for (size_t i = 0; i < st->nkept && rc == KEHU_OK; i++) {
    const kept_row *k = &st->kept[i];
    lxw_row_t r = (lxw_row_t)(i + 1);
    for (size_t c = 0; c < st->width && rc == KEHU_OK; c++) {
      int red = names_cell(st, k, c);
      const char *v = c < k->n ? k->cells[c] : "";
      const char *column = c < st->hn ? st->header[c] : "";
      char *end = NULL;
      if (k->dates && c < k->n && k->dates[c] && *v) {
        /* A date cell goes back as the date it was, not as its serial number. */
        double d = strtod(v, &end);
        if (end && !*end) {
          lxw_error e = worksheet_write_number(w->ws, r, (lxw_col_t)c, d,
                                               red ? w->red_date : w->date);
          if (e != LXW_NO_ERROR)
            rc = lxw_fail(e, k->line, column, err);
          continue;
        }
      }
      /* the value the import read (an input's quote off), neutralised again */
      rc = put_text(w, r, (lxw_col_t)c, kehu_import_cell(v), red ? w->red : NULL, k->line,
                    column, err);
    }
    /* The line's reasons, joined with "；". */
    size_t len = 0;
    for (size_t j = k->first; j < k->first + k->count && rc == KEHU_OK; j++) {
      const char *why = st->rej[st->order[j]].reason;
      if (!why || !*why)
        continue;
      size_t need = len + strlen(why) + 4;
      if (need > rcap) {
        char *b = realloc(reason, need * 2);
        if (!b) {
          rc = oom(err);
          break;
        }
        reason = b;
        rcap = need * 2;
      }
      len += (size_t)sprintf(reason + len, "%s%s", len ? "；" : "", why);
    }
    if (rc == KEHU_OK)
      rc = put_text(w, r, (lxw_col_t)st->width, len ? reason : "", NULL, k->line,
                    KEHU_IMPORT_REASON_HEADER, err);
  }
  free(reason);
  return rc;
}

int kehu_import_write_errors(const char *input_path, const char *encoding,
                             const kehu_import_rejection *rows, size_t n, const char *out_xlsx,
                             kehu_error *err)
{
  FILE *f = fopen(input_path, "rb");
  if (!f)
    return kehu_fail_errno(err, KEHU_INVALID, NULL, errno, "cannot read %s", input_path);
  int rc = kehu_import_write_errors_from(f, input_path, encoding, rows, n, out_xlsx, err);
  fclose(f);
  return rc;
}

int kehu_import_write_errors_from(FILE *input, const char *input_name, const char *encoding,
                                  const kehu_import_rejection *rows, size_t n,
                                  const char *out_xlsx, kehu_error *err)
{
  const char *input_path = input_name;
  kehu_encoding enc;
  if (kehu_encoding_parse(encoding ? encoding : "auto", &enc) != 0)
    return kehu_fail_tr(err, KEHU_INVALID, "encoding", "encoding '%s' is not auto, utf-8 or gbk",
                        encoding);
  state st = {.rej = rows, .nrej = n, .input = input_path};
  int rc = KEHU_OK;
  if (n && !(st.order = malloc(n * sizeof *st.order)))
    return oom(err);
  for (size_t i = 0; i < n; i++)
    st.order[i] = i;
  sort_base = rows;
  if (n)
    qsort(st.order, n, sizeof *st.order, by_line);

  rc = read_input(&st, input, input_path, enc, err);
  if (rc == KEHU_OK && !st.have_header)
    rc = kehu_fail_tr(err, KEHU_INVALID, NULL, "%s has no header row", input_path);
  if (rc == KEHU_OK && st.pos < n)
    rc = missing_line(&st, rows[st.order[st.pos]].line, err);
  if (rc == KEHU_OK && st.nkept >= LXW_ROW_MAX)
    rc = kehu_fail_tr(err, KEHU_EXHAUSTED, NULL, "xlsx holds at most %lu rows",
                      (unsigned long)LXW_ROW_MAX - 1);
  if (rc == KEHU_OK && st.width >= LXW_COL_MAX)
    rc = kehu_fail_tr(err, KEHU_EXHAUSTED, NULL, "xlsx holds at most %u columns",
                      (unsigned)LXW_COL_MAX - 1);

  /* Written beside out_xlsx, then renamed: the file appears whole or not at all. */
  char *tmp = NULL;
  writer w = {0};
  if (rc == KEHU_OK) {
    size_t tl = strlen(out_xlsx) + 32;
    if (!(tmp = malloc(tl)))
      rc = oom(err);
    else
      snprintf(tmp, tl, "%s.%ld.tmp", out_xlsx, (long)getpid());
  }
  if (rc == KEHU_OK) {
    lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = NULL};
    if (!(w.wb = workbook_new_opt(tmp, &opt)) || !(w.ws = workbook_add_worksheet(w.wb, NULL)) ||
        !(w.bold = workbook_add_format(w.wb)) || !(w.red = workbook_add_format(w.wb)) ||
        !(w.date = workbook_add_format(w.wb)) || !(w.red_date = workbook_add_format(w.wb)))
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "cannot start the xlsx file %s", out_xlsx);
  }
  if (rc == KEHU_OK)
    rc = write_book(&st, &w, err);
  if (w.wb) {
    lxw_error e = workbook_close(w.wb);
    if (rc == KEHU_OK && e != LXW_NO_ERROR)
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "cannot write %s: %s", out_xlsx, lxw_strerror(e));
    if (rc == KEHU_OK && rename(tmp, out_xlsx) != 0)
      rc = kehu_fail_errno(err, KEHU_INTERNAL, NULL, errno, "cannot write %s", out_xlsx);
    if (rc != KEHU_OK)
      unlink(tmp);
  }
  free(tmp);
  free(w.buf);
  for (size_t i = 0; i < st.nkept; i++) {
    free_cells(st.kept[i].cells, st.kept[i].n);
    free(st.kept[i].dates);
  }
  free(st.kept);
  free_cells(st.header, st.hn);
  free(st.order);
  return rc;
}
