/* The row buffer shared by the CSV and .xlsx readers (sheet_row.h). */
#include "sheet_row.h"

#include <stdlib.h>
#include <string.h>

static int too_big(kehu_error *err, size_t line, const char *what)
{
  return kehu_fail(err, KEHU_EXHAUSTED, "", "line %zu: %s", line, what);
}

static int reserve(kehu_row_buf *b, size_t more, size_t line, kehu_error *err)
{
  if (b->cap - b->used >= more)
    return KEHU_OK;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->used < more)
    cap *= 2;
  char *p = realloc(b->bytes, cap);
  if (!p)
    return too_big(err, line, "out of memory");
  b->bytes = p;
  b->cap = cap;
  return KEHU_OK;
}

int kehu_row_add(kehu_row_buf *b, const char *s, size_t len, size_t line, kehu_error *err)
{
  if (b->n >= KEHU_SHEET_MAX_COLS)
    return kehu_fail(err, KEHU_EXHAUSTED, "", "line %zu: more than %u columns", line,
                     KEHU_SHEET_MAX_COLS);
  if (b->n == b->ncap) {
    size_t ncap = b->ncap ? b->ncap * 2 : 16;
    size_t *st = realloc(b->starts, ncap * sizeof *st);
    if (!st)
      return too_big(err, line, "out of memory");
    b->starts = st;
    const char **pt = realloc(b->ptrs, ncap * sizeof *pt);
    if (!pt)
      return too_big(err, line, "out of memory");
    b->ptrs = pt;
    unsigned char *dt = realloc(b->dates, ncap);
    if (!dt)
      return too_big(err, line, "out of memory");
    b->dates = dt;
    b->ncap = ncap;
  }
  int rc = reserve(b, 1, line, err);
  if (rc != KEHU_OK)
    return rc;
  b->dates[b->n] = 0;
  b->starts[b->n++] = b->used;
  b->bytes[b->used++] = '\0';
  return len ? kehu_row_append(b, s, len, line, err) : KEHU_OK;
}

int kehu_row_append(kehu_row_buf *b, const char *s, size_t len, size_t line, kehu_error *err)
{
  size_t have = b->used - 1 - b->starts[b->n - 1];
  if (len > KEHU_SHEET_MAX_CELL || have + len > KEHU_SHEET_MAX_CELL)
    return kehu_fail(err, KEHU_EXHAUSTED, "", "line %zu: a cell longer than %u bytes", line,
                     KEHU_SHEET_MAX_CELL);
  int rc = reserve(b, len, line, err);
  if (rc != KEHU_OK)
    return rc;
  memcpy(b->bytes + b->used - 1, s, len);
  b->used += len;
  b->bytes[b->used - 1] = '\0';
  return KEHU_OK;
}

int kehu_row_emit(kehu_row_buf *b, size_t line, kehu_sheet_row_fn fn, void *ctx, kehu_error *err)
{
  for (size_t i = 0; i < b->n; i++)
    b->ptrs[i] = b->bytes + b->starts[i];
  kehu_sheet_row row = {
      .line = line, .n = b->n, .cells = b->ptrs, .dates = b->with_dates ? b->dates : NULL};
  int rc = fn(ctx, &row, err);
  b->n = 0;
  b->used = 0;
  if (rc != KEHU_OK && err && err->status == KEHU_OK)
    kehu_fail(err, rc, "", "line %zu: stopped by the reader of the rows", line);
  return rc;
}

void kehu_row_free(kehu_row_buf *b)
{
  free(b->bytes);
  free(b->starts);
  free(b->ptrs);
  free(b->dates);
  memset(b, 0, sizeof *b);
}
