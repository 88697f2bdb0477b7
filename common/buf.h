/* A growable byte buffer with a read offset, for network input and output. */
#ifndef KEHU_BUF_H
#define KEHU_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *data;
  size_t off;   /* bytes before off are consumed */
  size_t len;   /* bytes before len are filled */
  size_t cap;
} kehu_buf;

static inline size_t kehu_buf_size(const kehu_buf *b) { return b->len - b->off; }
static inline const uint8_t *kehu_buf_head(const kehu_buf *b) { return b->data + b->off; }

/* 0 or -1 when out of memory. */
int kehu_buf_reserve(kehu_buf *b, size_t extra);
/* n bytes as lower-case hex into out (2n + 1 bytes, NUL-terminated). */
void kehu_hex(const void *bytes, size_t n, char *out);
int kehu_buf_append(kehu_buf *b, const void *p, size_t n);
/* Drops n bytes from the front; an emptied buffer rewinds to offset 0. */
void kehu_buf_consume(kehu_buf *b, size_t n);
/* Frees the memory of an empty buffer (idle connections keep nothing). */
void kehu_buf_shrink_if_empty(kehu_buf *b);
/* The same, but keeps an empty buffer of at most keep bytes: a busy
 * connection then reuses it instead of allocating for every request. */
void kehu_buf_trim(kehu_buf *b, size_t keep);
void kehu_buf_free(kehu_buf *b);

#endif
