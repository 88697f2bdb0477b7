/* Consistency check: every index entry points at a record that holds the
 * indexed value, and every record is in every index it belongs to. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

typedef struct {
  char *report;
  size_t len, used;
  unsigned long problems;
} findings;

__attribute__((format(printf, 2, 3)))
static void problem(findings *f, const char *fmt, ...)
{
  f->problems++;
  if (f->used + 1 >= f->len)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(f->report + f->used, f->len - f->used, fmt, ap);
  va_end(ap);
  if (n > 0)
    f->used = f->used + (size_t)n < f->len ? f->used + (size_t)n : f->len - 1;
}

static int index_has(kehu_txn *t, MDB_dbi dbi, const char *value, uint64_t key)
{
  unsigned char kb[8];
  kehu_key_put_u64(kb, key);
  MDB_val k = {strlen(value), (void *)value}, v = {8, kb};
  MDB_cursor *cur;
  if (mdb_cursor_open(t->txn, dbi, &cur) != 0)
    return 0;
  int found = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH) == 0;
  mdb_cursor_close(cur);
  return found;
}

/* Each entry of a value -> key index: the record exists and field(record)
 * equals the value. */
static void check_index(kehu_txn *t, MDB_dbi dbi, const char *name,
                        const char *(*field)(const Kehu__Customer *c), findings *f)
{
  MDB_cursor *cur;
  if (mdb_cursor_open(t->txn, dbi, &cur) != 0) {
    problem(f, "%s: cannot open\n", name);
    return;
  }
  MDB_val k, v;
  char value[512], id[24];
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    snprintf(value, sizeof value, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
    if (v.mv_size != 8) {
      problem(f, "%s[%s]: malformed entry\n", name, value);
      continue;
    }
    uint64_t key = kehu_key_get_u64(v.mv_data);
    kehu_customer_id_format(key, id);
    Kehu__Customer *c;
    if (kehu_store_customer_get(t, key, &c) != KEHU_OK) {
      problem(f, "%s[%s] -> %s: no such customer\n", name, value, id);
      continue;
    }
    const char *actual = field(c);
    if (!actual || strcmp(actual, value) != 0)
      problem(f, "%s[%s] -> %s: the customer has '%s'\n", name, value, id,
              actual ? actual : "");
    kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
}

static const char *owner_of(const Kehu__Customer *c) { return c->owner; }
static const char *stage_of(const Kehu__Customer *c) { return c->stage; }
static const char *code_of(const Kehu__Customer *c) { return c->external_code; }

/* The name index holds normalised names: compare in that form. */
static const char *name_key_of(const Kehu__Customer *c)
{
  static __thread char key[512];
  return kehu_customer_name_key(c->name, key, sizeof key) == 0 ? key : NULL;
}

int kehu_store_verify(kehu_txn *t, char *report, size_t len, unsigned long *problems)
{
  findings f = {report, len, 0, 0};
  if (len)
    report[0] = '\0';
  kehu_store *st = t->st;
  check_index(t, st->cust_owner, "owner index", owner_of, &f);
  check_index(t, st->cust_stage, "stage index", stage_of, &f);
  check_index(t, st->cust_extcode, "external code index", code_of, &f);
  check_index(t, st->cust_name, "name index", name_key_of, &f);

  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, st->customers, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  char id[24];
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    uint64_t key = k.mv_size == 8 ? kehu_key_get_u64(k.mv_data) : 0;
    kehu_customer_id_format(key, id);
    Kehu__Customer *c = kehu__customer__unpack(NULL, v.mv_size, v.mv_data);
    if (!c) {
      problem(&f, "customer %s: record does not decode\n", id);
      continue;
    }
    if (c->owner && *c->owner && !index_has(t, st->cust_owner, c->owner, key))
      problem(&f, "customer %s: missing from the owner index\n", id);
    if (c->stage && *c->stage && !index_has(t, st->cust_stage, c->stage, key))
      problem(&f, "customer %s: missing from the stage index\n", id);
    const char *nk = name_key_of(c);
    if (nk && !index_has(t, st->cust_name, nk, key))
      problem(&f, "customer %s: missing from the name index\n", id);
    if (c->external_code && *c->external_code &&
        kehu_store_customer_by_external_code(t, c->external_code) != key)
      problem(&f, "customer %s: missing from the external code index\n", id);
    kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
  *problems = f.problems;
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}
