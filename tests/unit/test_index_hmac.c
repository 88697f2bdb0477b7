/* The keyed hash under which phones, phone tails and emails are indexed
 * (docs/storage.md#encryption-at-rest) is HMAC-SHA-256 under the index
 * key. kehu_index_hmac starts from precomputed pad states; every index
 * already on disk depends on it giving exactly what a plain HMAC gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <mbedtls/md.h>

#include "store_internal.h"

static char dir[64];
static kehu_store *st;
static const unsigned char master[32] = "0123456789abcdef0123456789abcdef";

static void plain_hmac(const unsigned char key[32], const char *msg, unsigned char out[32])
{
  assert_int_equal(mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32,
                                   (const unsigned char *)msg, strlen(msg), out),
                   0);
}

static const char *const values[] = {
  "",
  "phone:13800000002",
  "tail4:0002",
  "email:zhang.wei@example.com",
  /* longer than a SHA-256 block */
  "email:a.very.long.address.that.goes.on.and.on.past.sixty.four.bytes@subdomain.example.com",
};

static int setup(void **state)
{
  (void)state;
  strcpy(dir, "/tmp/kehu-hmac-XXXXXX");
  assert_non_null(mkdtemp(dir));
  char db[96];
  snprintf(db, sizeof db, "%s/db", dir);
  kehu_error err;
  assert_int_equal(kehu_store_open(&st, db, 1 << 20, &err), KEHU_OK);
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

static void test_same_as_hmac(void **state)
{
  (void)state;
  unsigned char zero[32] = {0}, got[32], want[32];
  /* before a data key is loaded: the all-zero key */
  for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
    kehu_index_hmac(st, values[i], got);
    plain_hmac(zero, values[i], want);
    assert_memory_equal(got, want, 32);
  }
  char path[96];
  snprintf(path, sizeof path, "%s/data.key", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(master, 1, 32, f), 32);
  fclose(f);
  kehu_error err;
  assert_int_equal(kehu_store_load_key(st, path, &err), KEHU_OK);
  /* the index key is HMAC(master, "kehu index hmac v1") */
  unsigned char index_key[32];
  plain_hmac(master, "kehu index hmac v1", index_key);
  for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
    kehu_index_hmac(st, values[i], got);
    plain_hmac(index_key, values[i], want);
    assert_memory_equal(got, want, 32);
  }
  /* the same twice: nothing of one call stays in the shared state */
  unsigned char again[32];
  kehu_index_hmac(st, values[1], got);
  kehu_index_hmac(st, values[1], again);
  assert_memory_equal(got, again, 32);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_same_as_hmac, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
