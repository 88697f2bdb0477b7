/* Erasure: a customer and everything that hangs on it, for good (the right
 * to erasure). Built on the tables' own delete functions, so each record
 * leaves its indexes exactly as a single delete would. */
#include "store_internal.h"

static int purge_kind(kehu_txn *t, const kehu_kind_info *k, uint64_t cust)
{
  uint64_t seq;
  ProtobufCMessage *old;
  int rc;
  while ((rc = kehu_store_child_first(t, k, cust, &seq, &old)) == KEHU_OK) {
    rc = kehu_store_child_delete(t, k, cust, seq, old);
    protobuf_c_message_free_unpacked(old, NULL);
    if (rc != KEHU_OK)
      return rc;
  }
  return rc == KEHU_NOT_FOUND ? KEHU_OK : rc;
}

int kehu_store_customer_purge(kehu_txn *t, uint64_t key)
{
  Kehu__Customer *c;
  int rc = kehu_store_customer_get(t, key, &c);
  if (rc != KEHU_OK)
    return rc;
  for (int k = 0; k < KEHU_KIND_COUNT && rc == KEHU_OK; k++)
    rc = purge_kind(t, kehu_kind_get(k), key);
  if (rc == KEHU_OK)
    rc = kehu_store_customer_remove(t, key, c);
  kehu__customer__free_unpacked(c, NULL);
  if (rc == KEHU_OK)
    rc = kehu_store_scrub_note_purge(t);
  return rc;
}

