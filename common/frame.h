/* Framing: a 4-byte big-endian length followed by one protobuf Envelope.
 * Pure functions: bytes in, frames out. The size limit is checked on the
 * length prefix, before anything is allocated. */
#ifndef KEHU_FRAME_H
#define KEHU_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "kehu.pb-c.h"

#define KEHU_PROTOCOL_VERSION 1
#define KEHU_FRAME_HEADER 4
#define KEHU_FRAME_DEFAULT_MAX (4u * 1024 * 1024)

typedef enum {
  KEHU_FRAME_OK = 1,          /* a whole frame is available */
  KEHU_FRAME_NEED_MORE = 0,   /* not yet a whole frame */
  KEHU_FRAME_TOO_LARGE = -1,  /* the length prefix exceeds the limit */
  KEHU_FRAME_EMPTY = -2,      /* a zero-length frame: never valid */
} kehu_frame_result;

/* Looks for one frame at the start of data[0..len). On KEHU_FRAME_OK sets
 * *payload / *payload_len to the protobuf bytes and *consumed to the bytes
 * the whole frame occupies. On KEHU_FRAME_TOO_LARGE, *payload_len holds the
 * announced length. */
kehu_frame_result kehu_frame_next(const uint8_t *data, size_t len, size_t max_frame,
                                  const uint8_t **payload, size_t *payload_len,
                                  size_t *consumed);

/* Appends the frame of env to out. -1 if env encodes larger than max_frame
 * or memory runs out (out unchanged). */
int kehu_frame_pack(kehu_buf *out, const Kehu__Envelope *env, size_t max_frame);

/* Decodes one Envelope with an allocator that refuses to allocate more
 * than a small multiple of the frame size. NULL for garbage, a missing
 * required field, or an envelope without a body. Free with
 * kehu_envelope_free. */
Kehu__Envelope *kehu_envelope_decode(const uint8_t *payload, size_t len);
void kehu_envelope_free(Kehu__Envelope *env);

#endif
