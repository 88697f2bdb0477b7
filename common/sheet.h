/* Reading tables for a customer import (docs/architecture.md#import): CSV
 * in UTF-8 (with or without BOM) or GBK/GB18030, and the first sheet of an
 * .xlsx workbook.
 * Rows come to a callback as arrays of UTF-8 cells, never the whole file at
 * once. Pure functions over memory buffers: no files, no sockets. */
#ifndef KEHU_SHEET_H
#define KEHU_SHEET_H

#include <stddef.h>

#include "status.h"

/* Limits against hostile files; a file beyond one is refused with
 * KEHU_EXHAUSTED and a message naming the limit. */
#define KEHU_SHEET_MAX_ROWS 1048576u          /* rows of a sheet or CSV, header included */
#define KEHU_SHEET_MAX_COLS 1024u             /* cells of one row */
#define KEHU_SHEET_MAX_CELL (1u << 20)        /* bytes of one cell */
#define KEHU_XLSX_MAX_UNPACKED (256u << 20)   /* bytes inflated from one .xlsx, all entries */

typedef enum {
  KEHU_ENC_AUTO = 0, /* BOM -> UTF-8; valid UTF-8 -> UTF-8; else GB18030 */
  KEHU_ENC_UTF8,
  KEHU_ENC_GBK,      /* read as GB18030, the superset of GBK */
} kehu_encoding;

/* "auto", "utf-8"/"utf8", "gbk"/"gb18030" -> 0 and *out; else -1. */
int kehu_encoding_parse(const char *s, kehu_encoding *out);

/* One row. line: the header is line 1. In CSV a row whose quoted cells
 * hold newlines counts by the line it starts on, and the next row by its
 * own first line (so line numbers match a text editor); blank lines are
 * skipped but counted. In .xlsx line is the sheet's row number, and empty
 * rows are not delivered. Cells are NUL-terminated UTF-8; gaps between
 * .xlsx cells are empty strings. Valid only during the callback. */
typedef struct {
  size_t line;
  size_t n;
  const char *const *cells;
  /* .xlsx: per cell, 1 for a number styled as a date or time (its value is
   * then Excel's serial day number, 45306 for 2024-01-15); NULL for CSV. */
  const unsigned char *dates;
} kehu_sheet_row;

/* Returns KEHU_OK to go on; anything else stops reading and is returned
 * by the reader (set err to say why). */
typedef int (*kehu_sheet_row_fn)(void *ctx, const kehu_sheet_row *row, kehu_error *err);

/* ---- CSV, streaming: feed bytes in pieces of any size, rows come out ---- */
typedef struct kehu_csv kehu_csv;

kehu_csv *kehu_csv_new(kehu_encoding enc, kehu_sheet_row_fn fn, void *ctx);
/* Errors: KEHU_INVALID (bytes undecodable in the encoding, naming the
 * line), KEHU_EXHAUSTED (a limit), or what the callback returned. After an
 * error the reader only accepts kehu_csv_free. */
int kehu_csv_feed(kehu_csv *r, const void *data, size_t len, kehu_error *err);
/* End of input: delivers a last row without a final newline. */
int kehu_csv_finish(kehu_csv *r, kehu_error *err);
/* The encoding used (KEHU_ENC_AUTO while not yet decided). */
kehu_encoding kehu_csv_encoding(const kehu_csv *r);
void kehu_csv_free(kehu_csv *r);

/* A whole CSV in memory: new, feed, finish, free. */
int kehu_csv_read(const void *data, size_t len, kehu_encoding enc, kehu_sheet_row_fn fn,
                  void *ctx, kehu_error *err);

/* ---- .xlsx: the first sheet of the workbook in data ----
 * Shared and inline strings (rich text runs joined), numbers as written in
 * the file (an Excel date is its serial number, e.g. 45306; see
 * kehu_import_date). Errors: KEHU_INVALID (not an .xlsx, broken XML),
 * KEHU_EXHAUSTED (a limit above), or what the callback returned. */
int kehu_xlsx_read(const void *data, size_t len, kehu_sheet_row_fn fn, void *ctx,
                   kehu_error *err);
/* The same with another cap than KEHU_XLSX_MAX_UNPACKED on the bytes inflated. */
int kehu_xlsx_read_limit(const void *data, size_t len, size_t max_unpacked,
                         kehu_sheet_row_fn fn, void *ctx, kehu_error *err);

#endif
