/* A bump allocator for many short-lived decoded messages read together (a
 * search reads hundreds of customers): one free for all of them, and the
 * newest allocations can be taken back when a message is not kept. */
#ifndef KEHU_ARENA_H
#define KEHU_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct kehu_arena_chunk kehu_arena_chunk;

typedef struct {
  ProtobufCAllocator alloc;   /* for protobuf_c_message_unpack */
  kehu_arena_chunk *chunk;    /* the newest; each points to the one before */
} kehu_arena;

/* Where the arena stands; kehu_arena_reset(a, m) frees what came after.
 * Marks are taken back newest first: after a reset to m, a mark taken
 * after m must not be used. */
typedef struct {
  kehu_arena_chunk *chunk;
  size_t used;
} kehu_arena_mark;

void kehu_arena_init(kehu_arena *a);
void *kehu_arena_alloc(kehu_arena *a, size_t n);   /* NULL when out of memory */
kehu_arena_mark kehu_arena_here(const kehu_arena *a);
void kehu_arena_reset(kehu_arena *a, kehu_arena_mark m);
void kehu_arena_free(kehu_arena *a);

#endif
