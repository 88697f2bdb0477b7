/* Key encoding: every key layout of the store is here. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "buf.h"
#include "normalize.h"
#include "store_internal.h"

void kehu_key_put_u64(unsigned char *p, uint64_t v)
{
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (unsigned char)v;
}

uint64_t kehu_key_get_u64(const unsigned char *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

int kehu_customer_id_parse(const char *id, uint64_t *key)
{
  if (!id || id[0] != 'C')
    return -1;
  size_t n = strlen(id);
  if (n < 12 || n > 19)   /* C + 8-digit date + 3..10-digit sequence */
    return -1;
  uint64_t date = 0, seq = 0;
  for (size_t i = 1; i < n; i++) {
    if (!isdigit((unsigned char)id[i]))
      return -1;
    if (i <= 8)
      date = date * 10 + (uint64_t)(id[i] - '0');
    else
      seq = seq * 10 + (uint64_t)(id[i] - '0');
  }
  /* Reject zero-padded forms the server never writes (C202411200001 for
   * sequence 1), so each customer has exactly one id. */
  if (n > 12 && id[9] == '0')
    return -1;
  if (seq == 0 || seq > UINT32_MAX)
    return -1;
  *key = date << 32 | seq;
  return 0;
}

void kehu_customer_id_format(uint64_t key, char *out)
{
  snprintf(out, 24, "C%08u%03u", (unsigned)(key >> 32), (unsigned)(key & 0xffffffffu));
}

/* The duplicate-detection key of a customer name (store_internal.h). */
int kehu_customer_name_key(const char *name, char *out, size_t len)
{
  if (!name || kehu_normalize_company(name, out, len) != 0 || !*out)
    return -1;
  size_t n = strlen(out);
  if (n > 400) {
    unsigned char h[32];
    mbedtls_sha256_ret((const unsigned char *)out, n, h, 0);
    kehu_hex(h, sizeof h, out);
  }
  return 0;
}
