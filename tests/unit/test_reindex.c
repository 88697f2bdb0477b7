/* kehu_store_reindex (kehu-admin reindex): with derived indexes emptied
 * behind the store's back, verify reports them and lookups fail; after a
 * reindex every index answers again — names, external codes, phones,
 * search (pending and posted), reminders due — and verify finds nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_internal.h"

static char dir[64];
static kehu_store *st;
static uint64_t keys[300];
#define N (sizeof keys / sizeof *keys)

static int add_all(kehu_txn *t, void *arg)
{
  (void)arg;
  const kehu_kind_info *contact = kehu_kind_get(KEHU_KIND_CONTACT);
  for (size_t i = 0; i < N; i++) {
    char id[24], name[64], code[16], phone[16];
    int rc = kehu_store_customer_new_key(t, 1732089600, &keys[i]);
    kehu_customer_id_format(keys[i], id);
    snprintf(name, sizeof name, "重建索引测试%zu号有限公司", i);
    snprintf(code, sizeof code, "RX%04zu", i);
    snprintf(phone, sizeof phone, "1371234%04zu", i);
    Kehu__Customer c = KEHU__CUSTOMER__INIT;
    c.id = id;
    c.name = name;
    c.external_code = code;
    c.owner = "s1";
    c.stage = "potential";
    if (rc == KEHU_OK)
      rc = kehu_store_customer_put(t, keys[i], NULL, &c);
    uint64_t seq;
    if (rc == KEHU_OK)
      rc = kehu_store_child_new_seq(t, contact, &seq);
    Kehu__Contact p = KEHU__CONTACT__INIT;
    char *phones[] = {phone};
    p.name = "张伟";
    p.phones = phones;
    p.n_phones = 1;
    if (rc == KEHU_OK)
      rc = kehu_store_child_put(t, contact, keys[i], seq, NULL, &p.base);
    if (rc == KEHU_OK && i % 100 == 0) {
      uint64_t r;
      Kehu__Reminder rem = KEHU__REMINDER__INIT;
      char rid[24], source[64];
      rc = kehu_store_next_seq(t, "reminder", &r);
      snprintf(rid, sizeof rid, "RM%llu", (unsigned long long)r);
      snprintf(source, sizeof source, "test:%zu", i);
      rem.id = rid;
      rem.user = "s1";
      rem.customer_id = id;
      rem.kind = "manual";
      rem.state = "pending";
      rem.source = source;
      rem.has_due_at = rem.has_armed = 1;
      rem.due_at = 1732089600 + (int64_t)i;
      rem.armed = 1;
      if (rc == KEHU_OK)
        rc = kehu_store_reminder_put(t, r, NULL, &rem);
    }
    if (rc != KEHU_OK)
      return rc;
  }
  return KEHU_OK;
}

static int empty_indexes(kehu_txn *t, void *arg)
{
  (void)arg;
  const MDB_dbi gone[] = {t->st->cust_name, t->st->cust_extcode, t->st->contact_phone,
                          t->st->search,    t->st->search_pend,  t->st->search_doc,
                          t->st->rem_due,   t->st->cust_owner};
  for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
    if (mdb_drop(t->txn, gone[i], 0) != 0)
      return KEHU_INTERNAL;
  return KEHU_OK;
}

static int reindex(kehu_txn *t, void *arg)
{
  return kehu_store_reindex(t, arg);
}

static unsigned long problems(void)
{
  kehu_txn t;
  char report[4096];
  unsigned long n = 0;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_verify(&t, report, sizeof report, &n), KEHU_OK);
  kehu_store_read_end(&t);
  return n;
}

static void count(uint64_t key, void *arg)
{
  (void)key;
  (*(int *)arg)++;
}

static int found(uint64_t key, void *arg)
{
  (void)key;
  (*(int *)arg)++;
  return 1;
}

/* How many lookups of customer i answer: by name, code, phone, search. */
static int lookups(size_t i)
{
  char name[64], code[16], phone[16];
  snprintf(name, sizeof name, "重建索引测试%zu号有限公司", i);
  snprintf(code, sizeof code, "RX%04zu", i);
  snprintf(phone, sizeof phone, "1371234%04zu", i);
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  int n = 0, by_name = 0, by_phone = 0, by_search = 0;
  kehu_store_customers_by_name(&t, name, count, &by_name);
  kehu_store_customers_by_phone(&t, phone, count, &by_phone);
  const char *terms[] = {phone};
  kehu_store_search(&t, terms, 1, NULL, found, &by_search);
  n = (by_name == 1) + (kehu_store_customer_by_external_code(&t, code) == keys[i]) +
      (by_phone == 1) + (by_search == 1) + (kehu_store_reminder_next_due(&t) == 1732089600);
  kehu_store_read_end(&t);
  return n;
}

static void test_reindex_rebuilds(void **state)
{
  (void)state;
  assert_int_equal(kehu_store_write(st, add_all, NULL), KEHU_OK);
  assert_int_equal(problems(), 0);
  assert_int_equal(lookups(7), 5);
  assert_int_equal(kehu_store_write(st, empty_indexes, NULL), KEHU_OK);
  assert_true(problems() > 0);
  assert_int_equal(lookups(7), 0);
  kehu_reindex_counts counts;
  assert_int_equal(kehu_store_write(st, reindex, &counts), KEHU_OK);
  assert_int_equal(counts.customers, N);
  assert_int_equal(counts.records, N);
  assert_int_equal(counts.reminders, 3);
  assert_int_equal(problems(), 0);
  for (size_t i = 0; i < N; i += 37)
    assert_int_equal(lookups(i), 5);
  /* twice gives the same */
  assert_int_equal(kehu_store_write(st, reindex, &counts), KEHU_OK);
  assert_int_equal(problems(), 0);
  assert_int_equal(lookups(299), 5);
}

static int setup(void **state)
{
  (void)state;
  strcpy(dir, "/tmp/kehu-reindex-XXXXXX");
  assert_non_null(mkdtemp(dir));
  char path[96], db[96];
  snprintf(path, sizeof path, "%s/data.key", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fwrite("0123456789abcdef0123456789abcdef", 1, 32, f);
  fclose(f);
  snprintf(db, sizeof db, "%s/db", dir);
  kehu_error err;
  assert_int_equal(kehu_store_open(&st, db, 1 << 24, &err), KEHU_OK);
  assert_int_equal(kehu_store_load_key(st, path, &err), KEHU_OK);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  kehu_store_close(st);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_reindex_rebuilds, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
