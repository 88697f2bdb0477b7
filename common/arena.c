#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#define CHUNK_SIZE (64 * 1024)

struct kehu_arena_chunk {
  kehu_arena_chunk *prev;
  size_t used, size;
  alignas(max_align_t) unsigned char bytes[];
};

static void *pb_alloc(void *data, size_t n)
{
  return kehu_arena_alloc(data, n);
}

static void pb_free(void *data, void *p)
{
  (void)data;
  (void)p;   /* all of it goes at kehu_arena_free */
}

void kehu_arena_init(kehu_arena *a)
{
  a->alloc = (ProtobufCAllocator){pb_alloc, pb_free, a};
  a->chunk = NULL;
}

void *kehu_arena_alloc(kehu_arena *a, size_t n)
{
  const size_t align = alignof(max_align_t);
  if (n > SIZE_MAX / 2)
    return NULL;
  n = (n + align - 1) / align * align;
  if (n == 0)
    n = align;
  kehu_arena_chunk *c = a->chunk;
  if (!c || c->size - c->used < n) {
    size_t size = n > CHUNK_SIZE ? n : CHUNK_SIZE;
    c = malloc(sizeof *c + size);
    if (!c)
      return NULL;
    c->prev = a->chunk;
    c->used = 0;
    c->size = size;
    a->chunk = c;
  }
  void *p = c->bytes + c->used;
  c->used += n;
  return p;
}

kehu_arena_mark kehu_arena_here(const kehu_arena *a)
{
  return (kehu_arena_mark){a->chunk, a->chunk ? a->chunk->used : 0};
}

void kehu_arena_reset(kehu_arena *a, kehu_arena_mark m)
{
  while (a->chunk && a->chunk != m.chunk) {
    kehu_arena_chunk *prev = a->chunk->prev;
    free(a->chunk);
    a->chunk = prev;
  }
  if (a->chunk)
    a->chunk->used = m.used;
}

void kehu_arena_free(kehu_arena *a)
{
  kehu_arena_reset(a, (kehu_arena_mark){NULL, 0});
}
