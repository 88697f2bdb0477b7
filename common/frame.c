#include "frame.h"

#include <stdlib.h>
#include <string.h>

kehu_frame_result kehu_frame_next(const uint8_t *data, size_t len, size_t max_frame,
                                  const uint8_t **payload, size_t *payload_len,
                                  size_t *consumed)
{
  if (len < KEHU_FRAME_HEADER)
    return KEHU_FRAME_NEED_MORE;
  uint32_t n = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
               (uint32_t)data[2] << 8 | (uint32_t)data[3];
  *payload_len = n;
  if (n == 0)
    return KEHU_FRAME_EMPTY;
  if (n > max_frame)
    return KEHU_FRAME_TOO_LARGE;
  if (len - KEHU_FRAME_HEADER < n)
    return KEHU_FRAME_NEED_MORE;
  *payload = data + KEHU_FRAME_HEADER;
  *consumed = KEHU_FRAME_HEADER + (size_t)n;
  return KEHU_FRAME_OK;
}

int kehu_frame_pack(kehu_buf *out, const Kehu__Envelope *env, size_t max_frame)
{
  size_t n = kehu__envelope__get_packed_size(env);
  if (n == 0 || n > max_frame || n > UINT32_MAX)
    return -1;
  if (kehu_buf_reserve(out, KEHU_FRAME_HEADER + n) != 0)
    return -1;
  uint8_t *p = out->data + out->len;
  p[0] = (uint8_t)(n >> 24);
  p[1] = (uint8_t)(n >> 16);
  p[2] = (uint8_t)(n >> 8);
  p[3] = (uint8_t)n;
  kehu__envelope__pack(env, p + KEHU_FRAME_HEADER);
  out->len += KEHU_FRAME_HEADER + n;
  return 0;
}

/* The allocator lives in a header in front of the decoded message, so that
 * the message can be freed with nothing but its own pointer. */
typedef struct {
  ProtobufCAllocator alloc;
  size_t used;
  size_t limit;
} bounded_alloc;

typedef struct {
  bounded_alloc *owner;
  size_t size;
  max_align_t align[];
} alloc_header;

static void *bounded_malloc(void *data, size_t size)
{
  bounded_alloc *b = data;
  if (size > b->limit - b->used)
    return NULL;
  alloc_header *h = malloc(sizeof *h + size);
  if (!h)
    return NULL;
  h->owner = b;
  h->size = size;
  b->used += size;
  return h->align;
}

static void bounded_free(void *data, void *p)
{
  bounded_alloc *b = data;
  if (!p)
    return;
  alloc_header *h = (alloc_header *)((char *)p - offsetof(alloc_header, align));
  b->used -= h->size;
  free(h);
}

typedef struct {
  bounded_alloc alloc;
  Kehu__Envelope *env;
} decoded;

static decoded *decoded_of(Kehu__Envelope *env)
{
  /* env was the first allocation; its owner points at the decoded holder. */
  alloc_header *h = (alloc_header *)((char *)env - offsetof(alloc_header, align));
  return (decoded *)h->owner;
}

Kehu__Envelope *kehu_envelope_decode(const uint8_t *payload, size_t len)
{
  decoded *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  d->alloc.alloc.alloc = bounded_malloc;
  d->alloc.alloc.free = bounded_free;
  d->alloc.alloc.allocator_data = &d->alloc;
  /* Decoded protobuf needs a bounded multiple of its encoding: strings and
   * bytes are copied once, and each (sub)message, however small on the
   * wire, costs its fixed struct (a customer ~300 bytes). */
  d->alloc.limit = len * 32 + 65536;
  Kehu__Envelope *env = kehu__envelope__unpack(&d->alloc.alloc, len, payload);
  if (!env) {
    free(d);
    return NULL;
  }
  d->env = env;
  if (env->body_case == KEHU__ENVELOPE__BODY__NOT_SET) {
    kehu_envelope_free(env);
    return NULL;
  }
  return env;
}

void kehu_envelope_free(Kehu__Envelope *env)
{
  if (!env)
    return;
  decoded *d = decoded_of(env);
  kehu__envelope__free_unpacked(env, &d->alloc.alloc);
  free(d);
}
