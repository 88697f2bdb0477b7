/* Key generations (docs/storage.md#key-generations): byte 0 of a sealed
 * value is the generation it was sealed under; writes seal under meta
 * seal:gen as their transaction began; a value reads back under its own
 * generation's key, after a reopen too; a re-seal step moves every value
 * to the current generation; a key file of the wrong size is refused,
 * naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_internal.h"

static char dir[64];

static void put_file(const char *name, const void *bytes, size_t n)
{
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(bytes, 1, n, f), n);
  fclose(f);
}

static kehu_store *open_store(void)
{
  char path[96];
  kehu_error err;
  kehu_store *st;
  snprintf(path, sizeof path, "%s/db", dir);
  assert_int_equal(kehu_store_open(&st, path, 1 << 20, &err), KEHU_OK);
  snprintf(path, sizeof path, "%s/data.key", dir);
  assert_int_equal(kehu_store_load_key(st, path, &err), KEHU_OK);
  return st;
}

static int setup(void **state)
{
  (void)state;
  strcpy(dir, "/tmp/kehu-keygen-XXXXXX");
  assert_non_null(mkdtemp(dir));
  put_file("data.key", "0123456789abcdef0123456789abcdef", 32);
  char keys[96];
  snprintf(keys, sizeof keys, "%s/keys", dir);
  assert_int_equal(mkdir(keys, 0700), 0);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static const unsigned char key_a[16] = "customer-a-seq-1", key_b[16] = "customer-b-seq-2";

/* Puts a contact named name under key in a write transaction of its own. */
static void put_contact(kehu_store *st, const unsigned char key[16], const char *name)
{
  kehu_txn t;
  assert_int_equal(kehu_store_write_begin(st, &t), 0);
  Kehu__Contact c = KEHU__CONTACT__INIT;
  c.name = (char *)name;
  assert_int_equal(kehu_put_record(&t, st->children[KEHU_KIND_CONTACT], key, 16,
                                   &c.base, 1),
                   KEHU_OK);
  assert_int_equal(kehu_store_write_commit(&t), 0);
}

/* The generation byte of the value under key, and its name read back. */
static unsigned read_contact(kehu_store *st, const unsigned char key[16], const char *name)
{
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  MDB_val k = {16, (void *)key}, v;
  assert_int_equal(mdb_get(t.txn, st->children[KEHU_KIND_CONTACT], &k, &v), 0);
  unsigned gen = ((const unsigned char *)v.mv_data)[0];
  ProtobufCMessage *m = NULL;
  assert_int_equal(kehu_get_record(&t, st->children[KEHU_KIND_CONTACT], key, 16,
                                   &kehu__contact__descriptor, 1, &m),
                   KEHU_OK);
  assert_string_equal(((Kehu__Contact *)m)->name, name);
  protobuf_c_message_free_unpacked(m, NULL);
  kehu_store_read_end(&t);
  return gen;
}

static int begin_rotation(kehu_txn *t, void *arg)
{
  return kehu_store_rotation_begin(t, *(unsigned *)arg);
}

static void test_generations(void **state)
{
  (void)state;
  kehu_store *st = open_store();
  put_contact(st, key_a, "before");
  assert_int_equal(read_contact(st, key_a, "before"), 1);

  /* generation 2: its file, then seal:gen; the next write seals under it */
  put_file("keys/seal-2.key", "fedcba9876543210fedcba9876543210", 32);
  unsigned gen = 2;
  assert_int_equal(kehu_store_write(st, begin_rotation, &gen), KEHU_OK);
  put_contact(st, key_b, "after");
  assert_int_equal(read_contact(st, key_b, "after"), 2);
  assert_int_equal(read_contact(st, key_a, "before"), 1);

  /* one step re-seals what is left under generation 1 */
  kehu_txn t;
  kehu_reseal_pos pos = {0};
  size_t resealed = 0, other = 0, total = 0;
  int done = 0;
  kehu_error err = {0};
  assert_int_equal(kehu_store_write_begin(st, &t), 0);
  assert_int_equal(kehu_store_reseal_step(&t, &pos, 100, 1 << 20, &resealed, &done, &err),
                   KEHU_OK);
  assert_int_equal(kehu_store_write_commit(&t), 0);
  assert_int_equal(resealed, 1);
  assert_int_equal(done, 1);
  assert_int_equal(read_contact(st, key_a, "before"), 2);
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_seal_count(&t, 2, &other, &total), KEHU_OK);
  unsigned g = 0, rotating = 0;
  assert_int_equal(kehu_store_seal_state(&t, &g, &rotating), KEHU_OK);
  kehu_store_read_end(&t);
  assert_int_equal(other, 0);
  assert_int_equal(total, 2);
  assert_int_equal(g, 2);
  assert_int_equal(rotating, 2);
  kehu_store_close(st);

  /* reopened: both read back under generation 2's key, loaded from keys/ */
  st = open_store();
  assert_int_equal(read_contact(st, key_a, "before"), 2);
  assert_int_equal(read_contact(st, key_b, "after"), 2);
  kehu_store_close(st);

  /* a key file of the wrong size is refused, naming it */
  put_file("keys/seal-3.key", "short", 5);
  char path[96];
  snprintf(path, sizeof path, "%s/db", dir);
  assert_int_equal(kehu_store_open(&st, path, 1 << 20, &err), KEHU_OK);
  snprintf(path, sizeof path, "%s/data.key", dir);
  assert_int_equal(kehu_store_load_key(st, path, &err), KEHU_INTERNAL);
  assert_non_null(strstr(err.message, "seal-3.key"));
  kehu_store_close(st);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_generations, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
