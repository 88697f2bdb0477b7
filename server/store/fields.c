/* Custom field definitions, keyed entity | 0 | key so one entity's
 * definitions are one cursor range. */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

static size_t def_key(char *out, size_t len, const char *entity, const char *key)
{
  int n = snprintf(out, len, "%s%c%s", entity, 0, key ? key : "");
  return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

int kehu_store_field_put(kehu_txn *t, const Kehu__FieldDef *def)
{
  char k[256];
  size_t n = def_key(k, sizeof k, def->entity, def->key);
  if (!n)
    return KEHU_INVALID;
  return kehu_put_message(t, t->st->field_defs, k, n, &def->base);
}

int kehu_store_field_each(kehu_txn *t, const char *entity,
                          int (*each)(const Kehu__FieldDef *def, void *arg), void *arg)
{
  char prefix[256];
  size_t plen = def_key(prefix, sizeof prefix, entity, NULL);
  if (!plen)
    return KEHU_INVALID;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->field_defs, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k = {plen, prefix}, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
      break;
    Kehu__FieldDef *def = kehu__field_def__unpack(NULL, v.mv_size, v.mv_data);
    if (!def) {
      status = KEHU_INTERNAL;
      break;
    }
    status = each(def, arg);
    kehu__field_def__free_unpacked(def, NULL);
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}
