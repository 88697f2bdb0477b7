#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (at most avail bytes), or 0 when
 * the bytes there are not one. */
static size_t sequence_length(const unsigned char *p, size_t avail)
{
  unsigned c = p[0];
  size_t need;
  unsigned cp, min;
  if (c < 0x80)
    return 1;
  if ((c & 0xE0) == 0xC0) { need = 1; cp = c & 0x1F; min = 0x80; }
  else if ((c & 0xF0) == 0xE0) { need = 2; cp = c & 0x0F; min = 0x800; }
  else if ((c & 0xF8) == 0xF0) { need = 3; cp = c & 0x07; min = 0x10000; }
  else return 0;
  if (avail <= need)
    return 0;
  for (size_t i = 1; i <= need; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = cp << 6 | (p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return need + 1;
}

long kehu_utf8_chars(const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  long n = 0;
  while (p < end) {
    size_t k = sequence_length(p, (size_t)(end - p));
    if (k == 0)
      return -1;
    p += k;
    n++;
  }
  return n;
}

char *kehu_utf8_escape(const char *s)
{
  size_t len = strlen(s);
  /* At worst every byte becomes four. */
  char *out = malloc(len * 4 + 1);
  if (!out)
    return NULL;
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  char *o = out;
  while (p < end) {
    size_t k = sequence_length(p, (size_t)(end - p));
    if (k > 0) {
      memcpy(o, p, k);
      o += k;
      p += k;
      continue;
    }
    *o++ = '\\';
    *o++ = 'x';
    *o++ = digits[*p >> 4];
    *o++ = digits[*p & 15];
    p++;
  }
  *o = '\0';
  return out;
}
