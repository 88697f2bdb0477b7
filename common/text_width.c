/* Text on a terminal: columns by East-Asian width (a CJK character takes
 * two), control characters shown as spaces. kehu's tables and kehu-admin's
 * lists both pad by this. */
#include "text_width.h"

#include <stdint.h>

#include <utf8proc.h>

/* Control characters (C0, DEL, C1) would let stored text move the cursor
 * or retitle the terminal: they show as spaces. */
static int is_control(utf8proc_int32_t cp)
{
  return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

size_t kehu_text_emit(FILE *f, const char *s, size_t limit)
{
  const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
  size_t width = 0;
  while (*p) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
    size_t w;
    if (n <= 0) {   /* invalid UTF-8: one column per byte, shown as '?' */
      n = 1;
      cp = '?';
      w = 1;
    } else if (is_control(cp)) {
      cp = ' ';
      w = 1;
    } else {
      int cw = utf8proc_charwidth(cp);
      w = cw < 0 ? 0 : (size_t)cw;
    }
    if (width + w > limit)
      break;
    if (f) {
      if (cp == ' ' || cp == '?')
        fputc((int)cp, f);
      else
        fwrite(p, 1, (size_t)n, f);
    }
    width += w;
    p += n;
  }
  return width;
}

size_t kehu_text_width(const char *s)
{
  return s ? kehu_text_emit(NULL, s, SIZE_MAX) : 0;
}

void kehu_print_text(FILE *f, const char *s)
{
  if (s)
    kehu_text_emit(f, s, SIZE_MAX);
}


size_t kehu_text_pad(FILE *f, const char *s, size_t columns)
{
  size_t w = kehu_text_emit(f, s ? s : "", columns);
  for (size_t i = w; i < columns; i++)
    fputc(' ', f);
  return w;
}
