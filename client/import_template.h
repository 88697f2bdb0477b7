/* The customer import template (docs/architecture.md#import): an .xlsx a
 * person fills in and gives to `kehu import customers`. Sheet 1 "客户": the
 * guide's headers (every one a header common/import_map.c knows), bold and
 * frozen, and one example row; sheet 2 "可选值": the values and spellings
 * import accepts. */
#ifndef KEHU_CLIENT_IMPORT_TEMPLATE_H
#define KEHU_CLIENT_IMPORT_TEMPLATE_H

#include <stddef.h>

#include "status.h"

#define KEHU_IMPORT_TEMPLATE_DEFAULT "客户导入模板.xlsx"

/* The headers of sheet 1, in order. */
extern const char *const kehu_import_template_headers[];
extern const size_t kehu_import_template_ncols;

/* Writes the template to path, which must not exist: KEHU_CONFLICT when it
 * does (also when it appears while writing; it is never replaced),
 * KEHU_INTERNAL when it cannot be written. The file appears whole or not
 * at all. */
int kehu_import_template_write(const char *path, kehu_error *err);

#endif
