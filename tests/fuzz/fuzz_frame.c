/* The frame decoder and the bounded Envelope decoder on arbitrary bytes. */
#include <stdint.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t off = 0;
  for (int frames = 0; frames < 64; frames++) {
    const uint8_t *payload;
    size_t len, used;
    if (kehu_frame_next(data + off, size - off, 1 << 20, &payload, &len, &used) != KEHU_FRAME_OK)
      break;
    Kehu__Envelope *env = kehu_envelope_decode(payload, len);
    if (env) {
      kehu_buf out = {0};
      kehu_frame_pack(&out, env, KEHU_FRAME_DEFAULT_MAX);   /* re-encoding must work */
      kehu_buf_free(&out);
      kehu_envelope_free(env);
    }
    off += used;
  }
  /* the whole input as one payload too */
  Kehu__Envelope *env = kehu_envelope_decode(data, size);
  kehu_envelope_free(env);
  return 0;
}
