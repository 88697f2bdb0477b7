#include "sheet_out.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter.h>

#include "i18n.h"

struct kehu_sheet {
  kehu_sheet_format fmt;
  kehu_sheet_encoding enc;
  FILE *f;
  iconv_t cd;
  lxw_workbook *wb;
  lxw_worksheet *ws;
  lxw_format *bold;
  const char *const *header;
  size_t ncols;
  unsigned long row; /* data rows written */
  char *buf;         /* a cell after the quote prefix, then after conversion */
  size_t cap;
};

int kehu_sheet_formula_like(const char *s)
{
  return s && *s && strchr("=+-@\t\r", *s) != NULL;
}

int kehu_sheet_neutralise(const char *v, char **buf, size_t *cap, kehu_error *err)
{
  v = v ? v : "";
  size_t n = strlen(v);
  /* quotes before a formula-like start get one more: import takes one
   * off (kehu_import_cell), so "'=1" goes out as "''=1" and comes back */
  int q = kehu_sheet_formula_like(v + strspn(v, "'"));
  if (n + 2 > *cap) {
    size_t want = n + 2 < 256 ? 256 : (n + 2) * 2;
    char *b = realloc(*buf, want);
    if (!b)
      return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    *buf = b;
    *cap = want;
  }
  (*buf)[0] = '\'';
  memcpy(*buf + q, v, n + 1);
  return KEHU_OK;
}

/* The cell's text as written, in s->buf. */
static int neutralised(kehu_sheet *s, const char *v, kehu_error *err)
{
  return kehu_sheet_neutralise(v, &s->buf, &s->cap, err);
}

/* why: in English, and why_human in the user's language. */
static int cell_error(kehu_sheet *s, const char *const *cells, size_t col, int status,
                      const char *why, const char *why_human, kehu_error *err)
{
  const char *first = cells[0] ? cells[0] : "";
  if (s->row == 0 && cells == s->header) {
    kehu_fail(err, status, s->header[col], "header, column %s: %s", s->header[col], why);
    kehu_error_set_human(err, _("header, column %s: %s"), s->header[col], why_human);
    return status;
  }
  kehu_fail(err, status, s->header[col], "row %lu (%s), field %s: %s", s->row + 1, first,
            s->header[col], why);
  kehu_error_set_human(err, _("row %lu (%s), field %s: %s"), s->row + 1, first, s->header[col],
                       why_human);
  return status;
}

/* CSV: RFC 4180 quoting of s->buf, converted to GBK if asked. */
static int csv_cell(kehu_sheet *s, const char *const *cells, size_t col, kehu_error *err)
{
  const char *t = s->buf;
  char *conv = NULL;
  if (s->enc == KEHU_SHEET_GBK) {
    size_t in_left = strlen(t), out_cap = in_left * 2 + 1, out_left = out_cap - 1;
    if (!(conv = malloc(out_cap)))
      return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    char *in = (char *)t, *outp = conv;
    iconv(s->cd, NULL, NULL, NULL, NULL);
    if (iconv(s->cd, &in, &in_left, &outp, &out_left) == (size_t)-1) {
      int e = errno;
      free(conv);
      static const char gbk[] = N_("a character cannot be written in GBK (use --encoding utf-8)");
      int bad_char = e == EILSEQ || e == EINVAL;
      return cell_error(s, cells, col, KEHU_INVALID, bad_char ? gbk : kehu_strerror_en(e),
                        bad_char ? _(gbk) : strerror(e), err);
    }
    *outp = '\0';
    t = conv;
  }
  if (strpbrk(t, ",\"\r\n")) {
    fputc('"', s->f);
    for (const char *p = t; *p; p++) {
      if (*p == '"')
        fputc('"', s->f);
      fputc(*p, s->f);
    }
    fputc('"', s->f);
  } else {
    fputs(t, s->f);
  }
  fputs(col + 1 == s->ncols ? "\r\n" : ",", s->f);
  free(conv);
  return KEHU_OK;
}

static int write_row(kehu_sheet *s, const char *const *cells, lxw_row_t xrow, lxw_format *fmt,
                     kehu_error *err)
{
  for (size_t i = 0; i < s->ncols; i++) {
    int rc = neutralised(s, cells[i], err);
    if (rc != KEHU_OK)
      return rc;
    if (s->fmt == KEHU_SHEET_CSV) {
      rc = csv_cell(s, cells, i, err);
    } else if (s->buf[0]) {
      /* Always a string cell, never a formula or a number. */
      lxw_error e = worksheet_write_string(s->ws, xrow, (lxw_col_t)i, s->buf, fmt);
      if (e != LXW_NO_ERROR)
        rc = cell_error(s, cells, i, e == LXW_ERROR_MAX_STRING_LENGTH_EXCEEDED ? KEHU_INVALID
                                                                                : KEHU_INTERNAL,
                        lxw_strerror(e), lxw_strerror(e), err);
    }
    if (rc != KEHU_OK)
      return rc;
  }
  return KEHU_OK;
}

int kehu_sheet_open(kehu_sheet **out, kehu_sheet_format fmt, kehu_sheet_encoding enc, FILE *f,
                    const char *path, const char *const *header, size_t ncols, kehu_error *err)
{
  kehu_sheet *s = calloc(1, sizeof *s);
  if (!s)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
  s->fmt = fmt;
  s->enc = enc;
  s->f = f;
  s->cd = (iconv_t)-1;
  s->header = header;
  s->ncols = ncols;
  int rc = KEHU_OK;
  if (fmt == KEHU_SHEET_XLSX) {
    lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = NULL};
    if (!(s->wb = workbook_new_opt(path, &opt)) || !(s->ws = workbook_add_worksheet(s->wb, NULL)) ||
        !(s->bold = workbook_add_format(s->wb)))
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "cannot start the xlsx file %s", path);
    else
      format_set_bold(s->bold);
  } else if (enc == KEHU_SHEET_GBK) {
    if ((s->cd = iconv_open("GBK", "UTF-8")) == (iconv_t)-1)
      rc = kehu_fail_errno(err, KEHU_INTERNAL, NULL, errno, "iconv: no GBK converter");
  } else {
    /* The BOM is how Excel tells UTF-8 from the system's code page. */
    fputs("\xEF\xBB\xBF", f);
  }
  if (rc == KEHU_OK)
    rc = write_row(s, header, 0, s->bold, err);
  if (rc != KEHU_OK) {
    if (s->wb)
      workbook_close(s->wb);
    s->wb = NULL;
    kehu_sheet_close(s, NULL);
    return rc;
  }
  *out = s;
  return KEHU_OK;
}

int kehu_sheet_row(kehu_sheet *s, const char *const *cells, kehu_error *err)
{
  if (s->fmt == KEHU_SHEET_XLSX && s->row + 1 >= LXW_ROW_MAX)
    return kehu_fail_tr(err, KEHU_EXHAUSTED, NULL, "xlsx holds at most %lu rows",
                        (unsigned long)LXW_ROW_MAX - 1);
  int rc = write_row(s, cells, (lxw_row_t)(s->row + 1), NULL, err);
  if (rc == KEHU_OK)
    s->row++;
  return rc;
}

int kehu_sheet_close(kehu_sheet *s, kehu_error *err)
{
  int rc = KEHU_OK;
  if (!s)
    return rc;
  if (s->wb) {
    lxw_error e = workbook_close(s->wb);
    if (e != LXW_NO_ERROR)
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "cannot write the xlsx file: %s",
                        lxw_strerror(e));
  }
  if (s->cd != (iconv_t)-1)
    iconv_close(s->cd);
  free(s->buf);
  free(s);
  return rc;
}
