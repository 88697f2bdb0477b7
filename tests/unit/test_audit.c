/* The audit log's hash chain: intact verifies; an entry removed from the
 * middle, the newest removed, or one byte altered, each is caught. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "store.h"

typedef struct {
  char dir[64];
  char db[96];
} fixture;

static int append_six(kehu_txn *t, void *arg)
{
  (void)arg;
  for (int i = 0; i < 6; i++) {
    char details[32];
    snprintf(details, sizeof details, "entry number %d", i + 1);
    Kehu__AuditEntry e = KEHU__AUDIT_ENTRY__INIT;
    e.at = 1732089600 + i;
    e.user = "admin";
    e.action = "create";
    e.details = details;
    int rc = kehu_store_audit_append(t, &e);
    if (rc != KEHU_OK)
      return rc;
  }
  return KEHU_OK;
}

static void make_log(fixture *f)
{
  snprintf(f->dir, sizeof f->dir, "/tmp/kehu-audit-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->db, sizeof f->db, "%s/db", f->dir);
  kehu_store *st;
  kehu_error err;
  assert_int_equal(kehu_store_open(&st, f->db, 1 << 22, &err), KEHU_OK);
  assert_int_equal(kehu_store_write(st, append_six, NULL), KEHU_OK);
  kehu_store_close(st);
}

static unsigned long verify(fixture *f, char *report, size_t len)
{
  kehu_store *st;
  kehu_error err;
  kehu_txn t;
  unsigned long problems = 0;
  uint64_t entries = 0;
  assert_int_equal(kehu_store_open(&st, f->db, 1 << 22, &err), KEHU_OK);
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_audit_verify(&t, report, len, &problems, &entries), KEHU_OK);
  kehu_store_read_end(&t);
  kehu_store_close(st);
  return problems;
}

/* Edits the raw log: delete entry seq, or (flip) alter its last byte. */
static void tamper(fixture *f, uint64_t seq, int flip)
{
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  assert_int_equal(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 64);
  mdb_env_set_mapsize(env, 1 << 22);
  assert_int_equal(mdb_env_open(env, f->db, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "audit", MDB_INTEGERKEY, &dbi), 0);
  MDB_val k = {sizeof seq, &seq}, v;
  if (flip) {
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    unsigned char *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size - 1] ^= 0x01;   /* its last byte: in prev_hash, packed last */
    MDB_val nv = {v.mv_size, copy};
    assert_int_equal(mdb_put(txn, dbi, &k, &nv, 0), 0);
    free(copy);
  } else {
    assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
  }
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

static void cleanup(fixture *f)
{
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
}

static void test_intact_log_verifies(void **state)
{
  (void)state;
  fixture f;
  make_log(&f);
  char report[1024];
  assert_int_equal(verify(&f, report, sizeof report), 0);
  cleanup(&f);
}

static void test_removed_entry_is_caught(void **state)
{
  (void)state;
  fixture f;
  make_log(&f);
  tamper(&f, 3, 0);
  char report[1024];
  assert_true(verify(&f, report, sizeof report) >= 1);
  assert_non_null(strstr(report, "entry 3 is missing"));
  cleanup(&f);
}

static void test_removed_newest_entry_is_caught(void **state)
{
  (void)state;
  fixture f;
  make_log(&f);
  tamper(&f, 6, 0);
  char report[1024];
  assert_true(verify(&f, report, sizeof report) >= 1);
  assert_non_null(strstr(report, "entries were removed"));
  cleanup(&f);
}

static void test_altered_entry_is_caught(void **state)
{
  (void)state;
  fixture f;
  make_log(&f);
  tamper(&f, 2, 1);
  char report[1024];
  assert_true(verify(&f, report, sizeof report) >= 1);
  assert_non_null(strstr(report, "entry 3"));   /* 3 no longer follows from 2 */
  cleanup(&f);
}

static void test_altered_newest_entry_is_caught(void **state)
{
  (void)state;
  fixture f;
  make_log(&f);
  tamper(&f, 6, 1);
  char report[1024];
  assert_true(verify(&f, report, sizeof report) >= 1);
  assert_non_null(strstr(report, "head"));
  cleanup(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_intact_log_verifies),
    cmocka_unit_test(test_removed_entry_is_caught),
    cmocka_unit_test(test_removed_newest_entry_is_caught),
    cmocka_unit_test(test_altered_entry_is_caught),
    cmocka_unit_test(test_altered_newest_entry_is_caught),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
