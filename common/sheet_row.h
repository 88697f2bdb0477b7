/* The row being built by the readers of sheet.h (CSV and .xlsx): cell
 * bytes in one growing buffer, handed out as an array of strings. */
#ifndef KEHU_SHEET_ROW_H
#define KEHU_SHEET_ROW_H

#include <stddef.h>

#include "sheet.h"

typedef struct {
  char *bytes;       /* cells, each NUL-terminated, one after the other */
  size_t used, cap;
  size_t *starts;    /* offset of each cell in bytes */
  const char **ptrs; /* filled when the row is delivered */
  unsigned char *dates; /* per cell, 1: styled as a date (.xlsx) */
  int with_dates;       /* deliver dates (else NULL) */
  size_t n, ncap;
} kehu_row_buf;

/* Appends one cell of len bytes (0 for an empty cell). KEHU_OK, or
 * KEHU_EXHAUSTED (too many cells, cell too long, out of memory) in err. */
int kehu_row_add(kehu_row_buf *b, const char *s, size_t len, size_t line, kehu_error *err);
/* Appends len bytes to the last cell (which must exist). */
int kehu_row_append(kehu_row_buf *b, const char *s, size_t len, size_t line, kehu_error *err);
/* Hands the row to fn as line, then empties it. */
int kehu_row_emit(kehu_row_buf *b, size_t line, kehu_sheet_row_fn fn, void *ctx, kehu_error *err);
void kehu_row_free(kehu_row_buf *b);

#endif
