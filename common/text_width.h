/* Text on a terminal, measured in columns (East-Asian width aware). */
#ifndef KEHU_TEXT_WIDTH_H
#define KEHU_TEXT_WIDTH_H

#include <stddef.h>
#include <stdio.h>

/* Writes s to f (f NULL: measures only), stopping before the character that
 * would make it wider than limit columns; control characters show as spaces
 * and invalid UTF-8 as '?'. Returns the columns written. */
size_t kehu_text_emit(FILE *f, const char *s, size_t limit);

/* Columns a UTF-8 string takes on a terminal. */
size_t kehu_text_width(const char *s);

/* Writes s (NULL: nothing) with control characters shown as spaces. */
void kehu_print_text(FILE *f, const char *s);

/* Writes s cut to columns and padded with spaces to exactly columns. */
size_t kehu_text_pad(FILE *f, const char *s, size_t columns);

#endif
