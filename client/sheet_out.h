/* Writing exported rows as a spreadsheet file that opens cleanly in Excel
 * (README.md, "Exports"): CSV in UTF-8 with a BOM or in GBK, CRLF line ends,
 * or xlsx (libxlsxwriter). Every cell is text; a cell that a spreadsheet
 * would take for a formula (it begins with = + - @, a tab or a CR) is
 * prefixed with a single quote. */
#ifndef KEHU_CLIENT_SHEET_H
#define KEHU_CLIENT_SHEET_H

#include <stddef.h>
#include <stdio.h>

#include "sheet_neutral.h"
#include "status.h"

typedef enum { KEHU_SHEET_CSV, KEHU_SHEET_XLSX } kehu_sheet_format;
typedef enum { KEHU_SHEET_UTF8, KEHU_SHEET_GBK } kehu_sheet_encoding;

typedef struct kehu_sheet kehu_sheet;

/* CSV goes to f (left open); xlsx to the file path (written at close). The
 * header's names are kept (not copied) to name a cell in errors. */
int kehu_sheet_open(kehu_sheet **out, kehu_sheet_format fmt, kehu_sheet_encoding enc, FILE *f,
                    const char *path, const char *const *header, size_t ncols, kehu_error *err);
/* One data row of ncols cells (NULL is empty). A cell GBK cannot hold is
 * KEHU_INVALID naming the row, the row's first cell and the column. */
int kehu_sheet_row(kehu_sheet *s, const char *const *cells, kehu_error *err);
/* Finishes the file (xlsx: writes it) and frees s. */
int kehu_sheet_close(kehu_sheet *s, kehu_error *err);

#endif
