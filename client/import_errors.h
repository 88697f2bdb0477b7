/* The workbook of an import's rejected rows (docs/architecture.md#import):
 * the input's header row as written plus a last column "错误原因 (reason)",
 * then only the rejected rows in input order, each cell as read, the cells a
 * rejection names filled red. A person fixes it and imports it again: its
 * header maps as the input's did, and import ignores the reason column. */
#ifndef KEHU_CLIENT_IMPORT_ERRORS_H
#define KEHU_CLIENT_IMPORT_ERRORS_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

/* The header of the reason column (import ignores it). */
#define KEHU_IMPORT_REASON_HEADER "错误原因 (reason)"

/* One rejected cell, or a rejected row when column is NULL or names no
 * header. line: the input's line (the header is line 1, as common/sheet.h
 * numbers them); column: the header text as written in the file. A line
 * may have several. */
typedef struct {
  size_t line;
  const char *column;
  const char *reason;
} kehu_import_rejection;

/* Re-reads input_path (CSV in encoding "auto", "utf-8" or "gbk"; an .xlsx
 * by its name or its first bytes, "PK\3\4") and writes out_xlsx (replaced
 * whole, or left as it was on error). The reasons of a line are joined
 * with "；" in the order given. Errors: KEHU_INVALID (an encoding name, an
 * unreadable input, a rejection naming a line that is not a row of the
 * input), KEHU_EXHAUSTED (a limit of common/sheet.h), KEHU_INTERNAL (I/O). */
int kehu_import_write_errors(const char *input_path, const char *encoding,
                             const kehu_import_rejection *rows, size_t n, const char *out_xlsx,
                             kehu_error *err);

/* The same from input, read from where it stands (the copy an import from
 * standard input kept); input_name names it in errors and, when it ends
 * ".xlsx", says it is one. */
int kehu_import_write_errors_from(FILE *input, const char *input_name, const char *encoding,
                                  const kehu_import_rejection *rows, size_t n,
                                  const char *out_xlsx, kehu_error *err);

#endif
