/* The text of a spreadsheet cell kehu writes (README.md, "Exports"): a
 * cell a spreadsheet would take for a formula gets a leading "'". Apart
 * from sheet_out.h because common/sheet.h, which import code includes too,
 * names its row type kehu_sheet_row like sheet_out.h's function. */
#ifndef KEHU_CLIENT_SHEET_NEUTRAL_H
#define KEHU_CLIENT_SHEET_NEUTRAL_H

#include <stddef.h>

#include "status.h"

/* 1 when a spreadsheet would read s as a formula (the cell gets a "'"). */
int kehu_sheet_formula_like(const char *s);

/* The text a cell is written with: v ("" for NULL), after a "'" when it is
 * formula-like or is quotes before a formula-like start ("'=1" -> "''=1",
 * which import reads back as "'=1", kehu_import_cell). Into *buf (malloc'd, grown as needed, *cap its size; the
 * caller frees it). Every file kehu writes for a spreadsheet goes through
 * this, exports and import error workbooks alike. */
int kehu_sheet_neutralise(const char *v, char **buf, size_t *cap, kehu_error *err);

#endif
