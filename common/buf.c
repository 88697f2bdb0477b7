#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

int kehu_buf_reserve(kehu_buf *b, size_t extra)
{
  if (b->off > 0 && b->cap - b->len < extra) {
    memmove(b->data, b->data + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
  }
  if (b->cap - b->len >= extra)
    return 0;
  size_t want = b->cap ? b->cap : 1024;
  while (want - b->len < extra) {
    if (want > SIZE_MAX / 2)
      return -1;
    want *= 2;
  }
  uint8_t *p = realloc(b->data, want);
  if (!p)
    return -1;
  b->data = p;
  b->cap = want;
  return 0;
}

int kehu_buf_append(kehu_buf *b, const void *p, size_t n)
{
  if (n == 0)
    return 0;
  if (kehu_buf_reserve(b, n) != 0)
    return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void kehu_buf_consume(kehu_buf *b, size_t n)
{
  kehu_assert(n <= b->len - b->off);   /* never more than it holds */
  b->off += n;
  if (b->off >= b->len)
    b->off = b->len = 0;
}

void kehu_buf_shrink_if_empty(kehu_buf *b)
{
  if (b->len == b->off) {
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
  }
}

void kehu_buf_free(kehu_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->off = b->len = b->cap = 0;
}

void kehu_buf_trim(kehu_buf *b, size_t keep)
{
  if (b->len == b->off && b->cap > keep)
    kehu_buf_shrink_if_empty(b);
}

void kehu_hex(const void *bytes, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = bytes;
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}
