/* store: customers on a tiny map that must grow, daily id sequences,
 * indexes moved with their record, cursor pagination, the consistency
 * check against deliberate corruption, id parsing, and the writer thread's
 * group commit with per-request nested transactions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "records.h"
#include "store.h"

#define TINY_MAP (256u * 1024)
#define NCUST 3000
#define BATCH 100
#define NOW ((int64_t)1732089600)   /* 2024-11-20T08:00:00Z */
#define DAY_KEY(seq) ((uint64_t)20241120 << 32 | (uint64_t)(seq))

static const char *const stages[] = {"potential", "intent", "closed", "lost"};

/* ---- data directories ---- */

typedef struct {
  char base[64];
  char db[96];
} tmpdir;

static void tmpdir_make(tmpdir *d)
{
  strcpy(d->base, "/tmp/kehu-test-store-XXXXXX");
  assert_non_null(mkdtemp(d->base));
  snprintf(d->db, sizeof d->db, "%s/db", d->base);
}

static void tmpdir_remove(tmpdir *d)
{
  char p[160];
  snprintf(p, sizeof p, "%s/data.mdb", d->db);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", d->db);
  unlink(p);
  rmdir(d->db);
  rmdir(d->base);
}

static kehu_store *open_store(const char *dir, size_t map)
{
  kehu_store *st = NULL;
  kehu_error err = {0};
  int rc = kehu_store_open(&st, dir, map, &err);
  if (rc != KEHU_OK)
    fail_msg("kehu_store_open: %s", err.message);
  return st;
}

/* ---- building customers ---- */

static const char *owner_of(int i)
{
  static const char *const owners[] = {"rep0", "rep1", "rep2", "rep3", "rep4", "rep5", "rep6"};
  return owners[i % 7];
}

typedef struct {
  Kehu__Customer c;
  char id[24], name[64], code[24];
} cust_buf;

static void make_customer(cust_buf *b, uint64_t key, int i)
{
  kehu__customer__init(&b->c);
  kehu_customer_id_format(key, b->id);
  snprintf(b->name, sizeof b->name, "测试客户%04d有限公司", i);
  snprintf(b->code, sizeof b->code, "KH%05d", i);
  b->c.id = b->id;
  b->c.name = b->name;
  b->c.owner = (char *)owner_of(i);
  b->c.stage = (char *)stages[i % 4];
  b->c.external_code = b->code;
  b->c.has_created_at = 1;
  b->c.created_at = NOW;
  b->c.has_version = 1;
  b->c.version = 1;
}

typedef struct {
  int start, count;
  uint64_t *keys;
} fill_arg;

static int fill_apply(kehu_txn *t, void *arg)
{
  fill_arg *a = arg;
  for (int i = a->start; i < a->start + a->count; i++) {
    uint64_t key;
    int rc = kehu_store_customer_new_key(t, NOW, &key);
    if (rc != KEHU_OK)
      return rc;
    cust_buf b;
    make_customer(&b, key, i);
    if ((rc = kehu_store_customer_put(t, key, NULL, &b.c)) != KEHU_OK)
      return rc;
    a->keys[i] = key;
  }
  return KEHU_OK;
}

static uint64_t key_of(const Kehu__Customer *c)
{
  uint64_t key = 0;
  assert_non_null(c->id);
  assert_int_equal(kehu_customer_id_parse(c->id, &key), 0);
  return key;
}

/* ---- the shared store: 3000 customers, filled once ---- */

typedef struct {
  tmpdir dir;
  kehu_store *st;
  size_t initial_map, filled_map;
  int write_status[NCUST / BATCH];
  uint64_t keys[NCUST];
} fixture;

static fixture F;

static int group_setup(void **state)
{
  (void)state;
  tmpdir_make(&F.dir);
  kehu_error err = {0};
  if (kehu_store_open(&F.st, F.dir.db, TINY_MAP, &err) != KEHU_OK) {
    fprintf(stderr, "open: %s\n", err.message);
    return -1;
  }
  F.initial_map = kehu_store_map_size(F.st);
  for (int b = 0; b < NCUST / BATCH; b++) {
    fill_arg a = {b * BATCH, BATCH, F.keys};
    F.write_status[b] = kehu_store_write(F.st, fill_apply, &a);
  }
  F.filled_map = kehu_store_map_size(F.st);
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  kehu_store_close(F.st);
  tmpdir_remove(&F.dir);
  return 0;
}

static void test_fill_grew_map(void **state)
{
  (void)state;
  for (int b = 0; b < NCUST / BATCH; b++)
    assert_int_equal(F.write_status[b], KEHU_OK);
  assert_int_equal(F.initial_map, TINY_MAP);
  assert_true(F.filled_map > F.initial_map);
  /* It grows by doubling. */
  assert_int_equal(F.filled_map % F.initial_map, 0);
  size_t ratio = F.filled_map / F.initial_map;
  assert_int_equal(ratio & (ratio - 1), 0);
}

static void test_ids_sequential_per_day(void **state)
{
  (void)state;
  char id[24], want[24];
  for (int i = 0; i < NCUST; i++) {
    assert_true(F.keys[i] == DAY_KEY(i + 1));
    kehu_customer_id_format(F.keys[i], id);
    snprintf(want, sizeof want, "C20241120%03d", i + 1);
    assert_string_equal(id, want);
    /* C + YYYYMMDD + at least 3 digits, nothing else. */
    size_t n = strlen(id);
    assert_true(n >= 12);
    assert_int_equal(id[0], 'C');
    for (size_t j = 1; j < n; j++)
      assert_true(id[j] >= '0' && id[j] <= '9');
    uint64_t back = 0;
    assert_int_equal(kehu_customer_id_parse(id, &back), 0);
    assert_true(back == F.keys[i]);
  }
  kehu_customer_id_format(F.keys[0], id);
  assert_string_equal(id, "C20241120001");
  kehu_customer_id_format(F.keys[NCUST - 1], id);
  assert_string_equal(id, "C202411203000");
}

static void test_get_returns_what_was_put(void **state)
{
  (void)state;
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(F.st, &t), KEHU_OK);
  for (int i = 0; i < NCUST; i++) {
    Kehu__Customer *c = NULL;
    assert_int_equal(kehu_store_customer_get(&t, F.keys[i], &c), KEHU_OK);
    assert_non_null(c);
    cust_buf want;
    make_customer(&want, F.keys[i], i);
    assert_string_equal(c->id, want.id);
    assert_string_equal(c->name, want.name);
    if (i != 100)   /* test_update_* moves this one */
      assert_string_equal(c->owner, want.c.owner);
    if (i != 100)
      assert_string_equal(c->stage, want.c.stage);
    if (i != 200)
      assert_string_equal(c->external_code, want.code);
    assert_true(c->has_created_at && c->created_at == NOW);
    assert_null(c->industry);
    kehu__customer__free_unpacked(c, NULL);
  }
  Kehu__Customer *c = (Kehu__Customer *)0x1;
  assert_int_equal(kehu_store_customer_get(&t, DAY_KEY(NCUST + 1), &c), KEHU_NOT_FOUND);
  assert_null(c);
  assert_int_equal(kehu_store_customer_get(&t, 0, &c), KEHU_NOT_FOUND);
  assert_null(c);
  kehu_store_read_end(&t);
}

static void test_by_external_code(void **state)
{
  (void)state;
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(F.st, &t), KEHU_OK);
  char code[24];
  for (int i = 0; i < NCUST; i++) {
    if (i == 200)
      continue;   /* test_external_code_change renames it */
    snprintf(code, sizeof code, "KH%05d", i);
    assert_true(kehu_store_customer_by_external_code(&t, code) == F.keys[i]);
  }
  assert_true(kehu_store_customer_by_external_code(&t, "KH99999") == 0);
  assert_true(kehu_store_customer_by_external_code(&t, "KH0000") == 0);   /* a prefix */
  assert_true(kehu_store_customer_by_external_code(&t, "kh00001") == 0);  /* exact match */
  assert_true(kehu_store_customer_by_external_code(&t, "") == 0);
  assert_true(kehu_store_customer_by_external_code(&t, NULL) == 0);
  kehu_store_read_end(&t);
}

typedef struct {
  const char *code;
  uint64_t key;
  int put_rc;
} dup_arg;

static int add_with_code(kehu_txn *t, void *arg)
{
  dup_arg *a = arg;
  int rc = kehu_store_customer_new_key(t, NOW, &a->key);
  if (rc != KEHU_OK)
    return rc;
  cust_buf b;
  make_customer(&b, a->key, 999999);
  b.c.external_code = (char *)a->code;
  return a->put_rc = kehu_store_customer_put(t, a->key, NULL, &b.c);
}

/* Takes the next key and throws the transaction away. */
static int peek_next_key(kehu_txn *t, void *arg)
{
  int rc = kehu_store_customer_new_key(t, NOW, arg);
  return rc == KEHU_OK ? KEHU_NOT_FOUND : rc;
}

static void test_duplicate_external_code_conflicts(void **state)
{
  (void)state;
  dup_arg a = {"KH00042", 0, -1};
  assert_int_equal(kehu_store_write(F.st, add_with_code, &a), KEHU_CONFLICT);
  assert_int_equal(a.put_rc, KEHU_CONFLICT);
  assert_true(a.key == DAY_KEY(NCUST + 1));
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(F.st, &t), KEHU_OK);
  assert_true(kehu_store_customer_by_external_code(&t, "KH00042") == F.keys[42]);
  Kehu__Customer *c = NULL;
  assert_int_equal(kehu_store_customer_get(&t, a.key, &c), KEHU_NOT_FOUND);
  kehu_store_read_end(&t);
  /* Nothing of it stayed, not even the sequence number it took. */
  uint64_t next = 0;
  assert_int_equal(kehu_store_write(F.st, peek_next_key, &next), KEHU_NOT_FOUND);
  assert_true(next == DAY_KEY(NCUST + 1));
}

typedef struct {
  uint64_t key;
  const char *owner, *stage, *code;
} update_arg;

static int update_apply(kehu_txn *t, void *arg)
{
  update_arg *a = arg;
  Kehu__Customer *old = NULL;
  int rc = kehu_store_customer_get(t, a->key, &old);
  if (rc != KEHU_OK)
    return rc;
  Kehu__Customer c = *old;   /* shallow: old owns the strings */
  if (a->owner)
    c.owner = (char *)a->owner;
  if (a->stage)
    c.stage = (char *)a->stage;
  if (a->code)
    c.external_code = (char *)a->code;
  c.version++;
  rc = kehu_store_customer_put(t, a->key, old, &c);
  kehu__customer__free_unpacked(old, NULL);
  return rc;
}

typedef struct {
  uint64_t keys[NCUST + 16];
  size_t n;
} key_list;

static int collect(Kehu__Customer *c, void *arg)
{
  key_list *l = arg;
  assert_true(l->n < sizeof l->keys / sizeof *l->keys);
  l->keys[l->n++] = key_of(c);
  return 0;
}

static int list_has(const key_list *l, uint64_t key)
{
  for (size_t i = 0; i < l->n; i++)
    if (l->keys[i] == key)
      return 1;
  return 0;
}

static void list_all(const kehu_customer_filter *f, key_list *out)
{
  kehu_customer_filter g = *f;
  g.limit = NCUST + 10;
  uint64_t next = 1;
  out->n = 0;
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(F.st, &t), KEHU_OK);
  assert_int_equal(kehu_store_customer_list(&t, &g, collect, out, &next), KEHU_OK);
  assert_true(next == 0);
  kehu_store_read_end(&t);
}

static unsigned long verify_problems(kehu_store *st, char *report, size_t len)
{
  kehu_txn t;
  unsigned long problems = 12345;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_verify(&t, report, len, &problems), KEHU_OK);
  kehu_store_read_end(&t);
  return problems;
}

static void test_same_code_on_update_is_not_a_conflict(void **state)
{
  (void)state;
  update_arg a = {F.keys[300], NULL, NULL, "KH00300"};
  assert_int_equal(kehu_store_write(F.st, update_apply, &a), KEHU_OK);
  /* But taking another customer's code is. */
  update_arg b = {F.keys[300], NULL, NULL, "KH00301"};
  assert_int_equal(kehu_store_write(F.st, update_apply, &b), KEHU_CONFLICT);
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(F.st, &t), KEHU_OK);
  assert_true(kehu_store_customer_by_external_code(&t, "KH00300") == F.keys[300]);
  assert_true(kehu_store_customer_by_external_code(&t, "KH00301") == F.keys[301]);
  kehu_store_read_end(&t);
}

static void test_update_moves_owner_and_stage_entries(void **state)
{
  (void)state;
  uint64_t key = F.keys[100];   /* rep2, potential */
  assert_string_equal(owner_of(100), "rep2");
  assert_string_equal(stages[100 % 4], "potential");
  update_arg a = {key, "wang", "closed", NULL};
  assert_int_equal(kehu_store_write(F.st, update_apply, &a), KEHU_OK);

  key_list l;
  list_all(&(kehu_customer_filter){.owner = "wang"}, &l);
  assert_int_equal(l.n, 1);
  assert_true(l.keys[0] == key);
  list_all(&(kehu_customer_filter){.owner = "rep2"}, &l);
  assert_false(list_has(&l, key));
  size_t rep2 = 0;
  for (int i = 0; i < NCUST; i++)
    rep2 += i % 7 == 2;
  assert_int_equal(l.n, rep2 - 1);   /* all of rep2's but this one */
  list_all(&(kehu_customer_filter){.stage = "closed"}, &l);
  assert_true(list_has(&l, key));
  assert_int_equal(l.n, NCUST / 4 + 1);
  list_all(&(kehu_customer_filter){.stage = "potential"}, &l);
  assert_false(list_has(&l, key));
  assert_int_equal(l.n, NCUST / 4 - 1);
  /* Both filters together. */
  list_all(&(kehu_customer_filter){.owner = "wang", .stage = "potential"}, &l);
  assert_int_equal(l.n, 0);
  list_all(&(kehu_customer_filter){.owner = "wang", .stage = "closed"}, &l);
  assert_int_equal(l.n, 1);
  assert_int_equal(verify_problems(F.st, NULL, 0), 0);
}

static void test_external_code_change(void **state)
{
  (void)state;
  update_arg a = {F.keys[200], NULL, NULL, "NEW-200"};
  assert_int_equal(kehu_store_write(F.st, update_apply, &a), KEHU_OK);
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(F.st, &t), KEHU_OK);
  assert_true(kehu_store_customer_by_external_code(&t, "NEW-200") == F.keys[200]);
  assert_true(kehu_store_customer_by_external_code(&t, "KH00200") == 0);
  kehu_store_read_end(&t);
  /* The freed code can be taken by someone else now. */
  update_arg b = {F.keys[201], NULL, NULL, "KH00200"};
  assert_int_equal(kehu_store_write(F.st, update_apply, &b), KEHU_OK);
  update_arg back = {F.keys[201], NULL, NULL, "KH00201"};
  assert_int_equal(kehu_store_write(F.st, update_apply, &back), KEHU_OK);
  assert_int_equal(verify_problems(F.st, NULL, 0), 0);
}

/* Pages through f with limit, checking order and uniqueness; returns the
 * number of pages and fills seen. */
static int paginate(kehu_customer_filter f, unsigned limit, key_list *seen, int max_pages)
{
  f.limit = limit;
  f.before = 0;
  seen->n = 0;
  int pages = 0;
  for (; pages < max_pages; pages++) {
    key_list page = {.n = 0};
    uint64_t next = 1;
    kehu_txn t;
    assert_int_equal(kehu_store_read_begin(F.st, &t), KEHU_OK);
    assert_int_equal(kehu_store_customer_list(&t, &f, collect, &page, &next), KEHU_OK);
    kehu_store_read_end(&t);
    assert_true(page.n <= limit);
    for (size_t i = 0; i < page.n; i++) {
      /* Newest first, strictly, across pages too. */
      if (seen->n > 0)
        assert_true(page.keys[i] < seen->keys[seen->n - 1]);
      if (f.before)
        assert_true(page.keys[i] < f.before);
      seen->keys[seen->n++] = page.keys[i];
    }
    if (next == 0)
      return pages + 1;
    assert_int_equal(page.n, limit);   /* a cursor only after a full page */
    assert_true(next == page.keys[page.n - 1]);
    f.before = next;
  }
  fail_msg("more than %d pages", max_pages);
  return -1;
}

static void test_pagination_visits_all_once(void **state)
{
  (void)state;
  key_list *seen = malloc(sizeof *seen);
  assert_non_null(seen);
  int pages = paginate((kehu_customer_filter){0}, 50, seen, NCUST / 50 + 2);
  assert_int_equal(pages, NCUST / 50);
  assert_int_equal(seen->n, NCUST);
  /* Strictly decreasing and NCUST of them: each exactly once. */
  for (int i = 0; i < NCUST; i++)
    assert_true(seen->keys[i] == F.keys[NCUST - 1 - i]);
  free(seen);
}

static void test_pagination_through_owner_index(void **state)
{
  (void)state;
  key_list *seen = malloc(sizeof *seen);
  assert_non_null(seen);
  /* rep3: i % 7 == 3; a page size that does not divide the count. */
  int pages = paginate((kehu_customer_filter){.owner = "rep3"}, 7, seen, NCUST);
  size_t want = 0;
  for (int i = NCUST - 1; i >= 0; i--) {
    if (i % 7 != 3)
      continue;
    assert_true(want < seen->n);
    assert_true(seen->keys[want] == F.keys[i]);
    want++;
  }
  assert_int_equal(seen->n, want);
  assert_int_equal(pages, (int)((want + 6) / 7));
  /* And through the stage index combined with a non-index filter. */
  pages = paginate((kehu_customer_filter){.stage = "lost", .owner = NULL}, 33, seen, NCUST);
  assert_int_equal(seen->n, NCUST / 4);
  free(seen);
}

static void test_cursor_outside_index_values(void **state)
{
  (void)state;
  /* A cursor above every rep3 key (its customer moved or was deleted
   * between pages) starts from rep3's newest. */
  uint64_t newest = 0;
  for (int i = NCUST - 1; i >= 0; i--)
    if (i % 7 == 3) {
      newest = F.keys[i];
      break;
    }
  uint64_t befores[] = {F.keys[NCUST - 1] + 1, UINT64_MAX, newest + 1};
  for (size_t b = 0; b < sizeof befores / sizeof *befores; b++) {
    kehu_customer_filter f = {.owner = "rep3", .before = befores[b], .limit = 2};
    key_list l = {.n = 0};
    uint64_t next = 0;
    kehu_txn t;
    assert_int_equal(kehu_store_read_begin(F.st, &t), KEHU_OK);
    assert_int_equal(kehu_store_customer_list(&t, &f, collect, &l, &next), KEHU_OK);
    kehu_store_read_end(&t);
    assert_int_equal(l.n, 2);
    assert_true(l.keys[0] == newest);
  }
  /* A cursor below every key: nothing, without an error. */
  kehu_customer_filter f = {.owner = "rep3", .before = F.keys[0], .limit = 10};
  key_list l = {.n = 0};
  uint64_t next = 1;
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(F.st, &t), KEHU_OK);
  assert_int_equal(kehu_store_customer_list(&t, &f, collect, &l, &next), KEHU_OK);
  assert_int_equal(l.n, 0);
  assert_true(next == 0);
  /* The same on the whole table. */
  f.owner = NULL;
  next = 1;
  assert_int_equal(kehu_store_customer_list(&t, &f, collect, &l, &next), KEHU_OK);
  assert_int_equal(l.n, 0);
  assert_true(next == 0);
  f.before = UINT64_MAX;
  f.limit = 1;
  assert_int_equal(kehu_store_customer_list(&t, &f, collect, &l, &next), KEHU_OK);
  assert_int_equal(l.n, 1);
  assert_true(l.keys[0] == F.keys[NCUST - 1]);
  kehu_store_read_end(&t);
}

static void test_unknown_owner_lists_nothing(void **state)
{
  (void)state;
  key_list l;
  list_all(&(kehu_customer_filter){.owner = "nobody"}, &l);
  assert_int_equal(l.n, 0);
  list_all(&(kehu_customer_filter){.owner = "rep"}, &l);   /* a prefix of real owners */
  assert_int_equal(l.n, 0);
  list_all(&(kehu_customer_filter){.deleted = 1}, &l);      /* nobody is binned */
  assert_int_equal(l.n, 0);
}

static void test_verify_clean_store(void **state)
{
  (void)state;
  char report[256];
  strcpy(report, "stale");
  assert_int_equal(verify_problems(F.st, report, sizeof report), 0);
  assert_string_equal(report, "");
}

static void test_reopen_with_tiny_map_keeps_data(void **state)
{
  (void)state;
  kehu_store_close(F.st);
  F.st = open_store(F.dir.db, TINY_MAP);
  /* The map is at least as large as the data already there. */
  char p[160];
  struct stat sb;
  snprintf(p, sizeof p, "%s/data.mdb", F.dir.db);
  assert_int_equal(stat(p, &sb), 0);
  assert_true(kehu_store_map_size(F.st) >= (size_t)sb.st_size);
  assert_true(kehu_store_map_size(F.st) >= TINY_MAP);
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(F.st, &t), KEHU_OK);
  Kehu__Customer *c = NULL;
  assert_int_equal(kehu_store_customer_get(&t, F.keys[NCUST - 1], &c), KEHU_OK);
  assert_string_equal(c->external_code, "KH02999");
  kehu__customer__free_unpacked(c, NULL);
  kehu_store_read_end(&t);
  /* And it can still be written to, continuing the day's sequence. */
  uint64_t next = 0;
  assert_int_equal(kehu_store_write(F.st, peek_next_key, &next), KEHU_NOT_FOUND);
  assert_true(next == DAY_KEY(NCUST + 1));
  assert_int_equal(verify_problems(F.st, NULL, 0), 0);
}

/* ---- corruption ---- */

static kehu_store *small_store(tmpdir *d, uint64_t *keys, int n)
{
  tmpdir_make(d);
  kehu_store *st = open_store(d->db, TINY_MAP);
  fill_arg a = {0, n, keys};
  assert_int_equal(kehu_store_write(st, fill_apply, &a), KEHU_OK);
  assert_int_equal(verify_problems(st, NULL, 0), 0);
  return st;
}

/* A write transaction on one table with raw LMDB, the store being closed;
 * raw_end commits it and closes the environment. */
static MDB_txn *raw_begin(const char *dir, const char *table, unsigned flags, MDB_env **env,
                          MDB_dbi *dbi)
{
  MDB_txn *txn;
  assert_int_equal(mdb_env_create(env), 0);
  assert_int_equal(mdb_env_set_maxdbs(*env, 32), 0);
  assert_int_equal(mdb_env_open(*env, dir, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(*env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, table, flags, dbi), 0);
  return txn;
}

static void raw_end(MDB_env *env, MDB_txn *txn)
{
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

/* Deletes one entry with raw LMDB, the store being closed. */
static void raw_delete(const char *dir, const char *table, unsigned flags, const void *key,
                       size_t klen, const void *data, size_t dlen)
{
  MDB_env *env;
  MDB_dbi dbi;
  MDB_txn *txn = raw_begin(dir, table, flags, &env, &dbi);
  MDB_val k = {klen, (void *)key}, v = {dlen, (void *)data};
  assert_int_equal(mdb_del(txn, dbi, &k, data ? &v : NULL), 0);
  raw_end(env, txn);
}

static void test_verify_finds_index_entry_without_record(void **state)
{
  (void)state;
  tmpdir d;
  uint64_t keys[10];
  kehu_store *st = small_store(&d, keys, 10);
  kehu_store_close(st);
  unsigned char kb[8];
  kehu_key_put_u64(kb, keys[4]);
  raw_delete(d.db, "customers", 0, kb, 8, NULL, 0);

  st = open_store(d.db, TINY_MAP);
  char report[1024];
  unsigned long problems = verify_problems(st, report, sizeof report);
  assert_true(problems >= 1);
  /* Its owner, stage, external code and name entries all dangle (and its
   * search postings, which verify reports too). */
  assert_true(problems >= 4);
  assert_non_null(strstr(report, "owner index"));
  assert_non_null(strstr(report, "stage index"));
  assert_non_null(strstr(report, "external code index"));
  assert_non_null(strstr(report, "name index"));
  assert_non_null(strstr(report, "C20241120005"));
  assert_non_null(strstr(report, "no such customer"));
  kehu_store_close(st);
  tmpdir_remove(&d);
}

static void test_verify_finds_record_missing_from_index(void **state)
{
  (void)state;
  tmpdir d;
  uint64_t keys[10];
  kehu_store *st = small_store(&d, keys, 10);
  kehu_store_close(st);
  unsigned char kb[8];
  kehu_key_put_u64(kb, keys[7]);
  raw_delete(d.db, "cust_owner", MDB_DUPSORT | MDB_DUPFIXED, owner_of(7), strlen(owner_of(7)),
             kb, 8);

  st = open_store(d.db, TINY_MAP);
  char report[1024];
  unsigned long problems = verify_problems(st, report, sizeof report);
  assert_int_equal(problems, 1);
  assert_non_null(strstr(report, "C20241120008"));
  assert_non_null(strstr(report, "owner index"));
  /* A one-byte report buffer still counts every problem. */
  char tiny[1];
  assert_int_equal(verify_problems(st, tiny, sizeof tiny), 1);
  assert_int_equal(tiny[0], '\0');
  kehu_store_close(st);
  tmpdir_remove(&d);
}

/* ---- ids ---- */

static void test_customer_id_parse(void **state)
{
  (void)state;
  uint64_t key = 0;
  assert_int_equal(kehu_customer_id_parse("C20241120001", &key), 0);
  assert_true(key == DAY_KEY(1));
  assert_int_equal(kehu_customer_id_parse("C202411201234", &key), 0);
  assert_true(key == DAY_KEY(1234));
  assert_int_equal(kehu_customer_id_parse("C20241120010", &key), 0);
  assert_true(key == DAY_KEY(10));
  assert_int_equal(kehu_customer_id_parse("C20241120999", &key), 0);
  assert_true(key == DAY_KEY(999));

  const char *bad[] = {
      "C2024112001",      /* too short */
      "c20241120001",     /* lower case */
      "C20241120000",     /* sequence 0 */
      "C2024112000a",
      "C202411200001",    /* zero-padded 4-digit form of 1 */
      "C202411200999",    /* zero-padded 4-digit form of 999 */
      "",
      "C",
      "D20241120001",
      " C20241120001",
      "C20241120001 ",
      "C20241120001\n",
      "C-20241120001",
      "C+2024112001",
      "C20241120-01",
      "C2024112099999999999",   /* absurdly long */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    key = 777;
    if (kehu_customer_id_parse(bad[i], &key) == 0)
      fail_msg("accepted '%s'", bad[i]);
    assert_true(key == 777);   /* left alone on failure */
  }
  assert_int_not_equal(kehu_customer_id_parse(NULL, &key), 0);
}

static void test_customer_id_format_round_trip(void **state)
{
  (void)state;
  const uint32_t seqs[] = {1, 9, 10, 99, 100, 999, 1000, 1001, 65536, 999999999u};
  char id[24];
  for (size_t i = 0; i < sizeof seqs / sizeof *seqs; i++) {
    uint64_t key = DAY_KEY(seqs[i]), back = 0;
    kehu_customer_id_format(key, id);
    assert_int_equal(kehu_customer_id_parse(id, &back), 0);
    assert_true(back == key);
  }
  kehu_customer_id_format(DAY_KEY(1000), id);
  assert_string_equal(id, "C202411201000");
  kehu_customer_id_format(DAY_KEY(7), id);
  assert_string_equal(id, "C20241120007");
  /* Keys sort like (date, seq): a later day sorts after a busy one. */
  uint64_t a, b;
  assert_int_equal(kehu_customer_id_parse("C202411209999", &a), 0);
  assert_int_equal(kehu_customer_id_parse("C20241121001", &b), 0);
  assert_true(a < b);
  unsigned char kb[8];
  kehu_key_put_u64(kb, DAY_KEY(1));
  const unsigned char want[8] = {0x01, 0x34, 0xDA, 0xE0, 0, 0, 0, 1};   /* 20241120 = 0x0134DAE0 */
  assert_memory_equal(kb, want, 8);
  assert_true(kehu_key_get_u64(kb) == DAY_KEY(1));
}

static void test_customer_id_ten_digit_sequence(void **state)
{
  (void)state;
  /* kehu_store_customer_new_key hands out sequences up to UINT32_MAX, so
   * every id it can format must parse back (C + 8 + 10 digits = 19). */
  const uint32_t seqs[] = {1000000000u, 4294967295u};
  char id[24];
  for (size_t i = 0; i < sizeof seqs / sizeof *seqs; i++) {
    uint64_t key = DAY_KEY(seqs[i]), back = 0;
    kehu_customer_id_format(key, id);
    assert_int_equal(strlen(id), 19);
    assert_int_equal(kehu_customer_id_parse(id, &back), 0);
    assert_true(back == key);
  }
}

typedef struct {
  int64_t now;
  uint64_t key;
} new_key_arg;

static int take_key(kehu_txn *t, void *arg)
{
  new_key_arg *a = arg;
  return kehu_store_customer_new_key(t, a->now, &a->key);
}

static void test_new_key_uses_local_date(void **state)
{
  (void)state;
  tmpdir d;
  tmpdir_make(&d);
  kehu_store *st = open_store(d.db, TINY_MAP);
  setenv("TZ", "CST-8", 1);   /* China Standard Time, no DST */
  tzset();
  /* 2024-11-20T20:00Z is already 2024-11-21 04:00 in Beijing. */
  new_key_arg a = {NOW + 12 * 3600, 0};
  assert_int_equal(kehu_store_write(st, take_key, &a), KEHU_OK);
  assert_true(a.key == ((uint64_t)20241121 << 32 | 1));
  a.now += 60;
  assert_int_equal(kehu_store_write(st, take_key, &a), KEHU_OK);
  assert_true(a.key == ((uint64_t)20241121 << 32 | 2));
  /* 2024-11-20T08:00Z is 16:00 on the 20th: its own sequence. */
  a.now = NOW;
  assert_int_equal(kehu_store_write(st, take_key, &a), KEHU_OK);
  assert_true(a.key == DAY_KEY(1));
  /* 2024-11-20T15:59:59Z is 23:59:59 on the 20th. */
  a.now = (int64_t)1732118399;
  assert_int_equal(kehu_store_write(st, take_key, &a), KEHU_OK);
  assert_true(a.key == DAY_KEY(2));
  setenv("TZ", "UTC", 1);
  tzset();
  kehu_store_close(st);
  tmpdir_remove(&d);
}

/* ---- the writer thread ---- */

/* notify: counts calls and wakes the test thread. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  unsigned long calls;
} notifier;

static void on_notify(void *ctx)
{
  notifier *n = ctx;
  pthread_mutex_lock(&n->mu);
  n->calls++;
  pthread_cond_broadcast(&n->cv);
  pthread_mutex_unlock(&n->mu);
}

static void deadline_in(struct timespec *ts, int seconds)
{
  clock_gettime(CLOCK_REALTIME, ts);
  ts->tv_sec += seconds;
}

/* Takes finished requests until want of them arrived (bounded: 10 s). */
static size_t take_all(kehu_writer *w, notifier *n, kehu_write_req **out, size_t want)
{
  struct timespec deadline;
  deadline_in(&deadline, 10);
  size_t got = 0;
  for (;;) {
    pthread_mutex_lock(&n->mu);
    unsigned long seen = n->calls;
    pthread_mutex_unlock(&n->mu);
    for (kehu_write_req *r = kehu_writer_take_done(w), *next; r; r = next) {
      next = r->next;
      assert_true(got < want);
      out[got++] = r;
    }
    if (got >= want)
      return got;
    pthread_mutex_lock(&n->mu);
    int rc = 0;
    while (n->calls == seen && rc != ETIMEDOUT)
      rc = pthread_cond_timedwait(&n->cv, &n->mu, &deadline);
    pthread_mutex_unlock(&n->mu);
    if (rc == ETIMEDOUT)
      return got;
  }
}

/* A request that holds the writer until the test opens the gate, so that
 * everything submitted meanwhile lands in one batch. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int open;
  int timed_out;
} gate;

static int gate_apply(kehu_txn *t, void *arg)
{
  (void)t;
  gate *g = arg;
  struct timespec deadline;
  deadline_in(&deadline, 10);
  pthread_mutex_lock(&g->mu);
  int rc = 0;
  while (!g->open && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&g->cv, &g->mu, &deadline);
  if (!g->open)
    g->timed_out = 1;
  pthread_mutex_unlock(&g->mu);
  return KEHU_OK;
}

static void gate_open(gate *g)
{
  pthread_mutex_lock(&g->mu);
  g->open = 1;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

typedef struct {
  uint64_t key;
  const char *code;
  int fail_with;        /* returned after writing, when not OK */
  size_t notes_len;     /* a big notes field, to fill the map */
  int runs;
} add_req;

static int add_req_apply(kehu_txn *t, void *arg)
{
  add_req *a = arg;
  a->runs++;
  int rc = kehu_store_customer_new_key(t, NOW, &a->key);
  if (rc != KEHU_OK)
    return rc;
  cust_buf b;
  make_customer(&b, a->key, (int)(a->key & 0xffff));
  b.c.external_code = (char *)a->code;
  char *notes = NULL;
  if (a->notes_len) {
    notes = malloc(a->notes_len + 1);
    if (!notes)
      return KEHU_INTERNAL;
    memset(notes, 'n', a->notes_len);
    notes[a->notes_len] = '\0';
    b.c.notes = notes;
  }
  rc = kehu_store_customer_put(t, a->key, NULL, &b.c);
  free(notes);
  if (rc != KEHU_OK)
    return rc;
  return a->fail_with;
}

typedef struct {
  tmpdir dir;
  kehu_store *st;
  kehu_writer *w;
  notifier n;
  gate g;
} writer_fixture;

static void writer_setup(writer_fixture *x)
{
  memset(x, 0, sizeof *x);
  tmpdir_make(&x->dir);
  x->st = open_store(x->dir.db, TINY_MAP);
  pthread_mutex_init(&x->n.mu, NULL);
  pthread_cond_init(&x->n.cv, NULL);
  pthread_mutex_init(&x->g.mu, NULL);
  pthread_cond_init(&x->g.cv, NULL);
  assert_int_equal(kehu_writer_start(&x->w, x->st, on_notify, &x->n), KEHU_OK);
}

static void writer_teardown(writer_fixture *x)
{
  kehu_writer_stop(x->w);
  kehu_writer_free(x->w);
  kehu_store_close(x->st);
  tmpdir_remove(&x->dir);
  pthread_mutex_destroy(&x->n.mu);
  pthread_cond_destroy(&x->n.cv);
  pthread_mutex_destroy(&x->g.mu);
  pthread_cond_destroy(&x->g.cv);
}

static void test_writer_group_commit(void **state)
{
  (void)state;
  enum { N = 500 };
  writer_fixture x;
  writer_setup(&x);
  kehu_write_req *reqs = calloc(N, sizeof *reqs);
  add_req *args = calloc(N, sizeof *args);
  kehu_write_req **done = calloc(N, sizeof *done);
  char (*codes)[16] = calloc(N, sizeof *codes);
  assert_non_null(reqs);
  assert_non_null(args);
  assert_non_null(done);
  assert_non_null(codes);
  /* Request 0 holds the writer until the other 499 are queued. */
  reqs[0].apply = gate_apply;
  reqs[0].arg = &x.g;
  kehu_writer_submit(x.w, &reqs[0]);
  for (int i = 1; i < N; i++) {
    snprintf(codes[i], sizeof codes[i], "W%04d", i);
    args[i].code = codes[i];
    args[i].fail_with = KEHU_OK;
    reqs[i].apply = add_req_apply;
    reqs[i].arg = &args[i];
    reqs[i].status = -1;
    kehu_writer_submit(x.w, &reqs[i]);
  }
  gate_open(&x.g);
  assert_int_equal(take_all(x.w, &x.n, done, N), N);
  assert_false(x.g.timed_out);
  for (int i = 0; i < N; i++) {
    assert_ptr_equal(done[i], &reqs[i]);   /* oldest first */
    assert_int_equal(reqs[i].status, KEHU_OK);
  }
  uint64_t commits = 0, requests = 0;
  kehu_writer_counts(x.w, &commits, &requests);
  assert_int_equal(requests, N);
  assert_true(commits >= 1);
  assert_true(commits <= 2);   /* the gate alone, then everyone else */
  assert_true(commits < requests);
  /* Every request's customer is there, with its own sequential id. */
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(x.st, &t), KEHU_OK);
  for (int i = 1; i < N; i++) {
    /* A batch that fills the tiny map runs again after the map grows: the
     * first attempt was aborted whole, so ids still follow one another. */
    assert_true(args[i].runs >= 1);
    assert_true(args[i].key == DAY_KEY(i));
    assert_true(kehu_store_customer_by_external_code(&t, codes[i]) == args[i].key);
  }
  kehu_store_read_end(&t);
  assert_int_equal(verify_problems(x.st, NULL, 0), 0);
  /* The new customers' search postings went to the pending table; with
   * nothing more to write, the writer folds them all in (within 5 s). */
  size_t pending = 0;
  for (int i = 0; i < 100; i++) {
    assert_int_equal(kehu_store_read_begin(x.st, &t), KEHU_OK);
    assert_int_equal(kehu_store_search_pending(&t, &pending), KEHU_OK);
    kehu_store_read_end(&t);
    if (pending == 0)
      break;
    usleep(50 * 1000);
  }
  assert_int_equal(pending, 0);
  assert_int_equal(verify_problems(x.st, NULL, 0), 0);
  writer_teardown(&x);
  free(codes);
  free(done);
  free(args);
  free(reqs);
}

static void test_writer_failed_request_leaves_no_trace(void **state)
{
  (void)state;
  writer_fixture x;
  writer_setup(&x);
  kehu_write_req g = {.apply = gate_apply, .arg = &x.g};
  add_req a = {.code = "A-CODE", .fail_with = KEHU_OK};
  add_req b = {.code = "B-CODE", .fail_with = KEHU_CONFLICT};
  add_req c = {.code = "C-CODE", .fail_with = KEHU_OK};
  kehu_write_req ra = {.apply = add_req_apply, .arg = &a};
  kehu_write_req rb = {.apply = add_req_apply, .arg = &b};
  kehu_write_req rc = {.apply = add_req_apply, .arg = &c};
  kehu_writer_submit(x.w, &g);
  kehu_writer_submit(x.w, &ra);
  kehu_writer_submit(x.w, &rb);
  kehu_writer_submit(x.w, &rc);
  gate_open(&x.g);
  kehu_write_req *done[4];
  assert_int_equal(take_all(x.w, &x.n, done, 4), 4);
  uint64_t commits = 0, requests = 0;
  kehu_writer_counts(x.w, &commits, &requests);
  assert_true(commits <= 2);   /* a, b and c were in one transaction */
  assert_int_equal(ra.status, KEHU_OK);
  assert_int_equal(rb.status, KEHU_CONFLICT);
  assert_int_equal(rc.status, KEHU_OK);
  assert_true(a.key == DAY_KEY(1));
  assert_true(b.key == DAY_KEY(2));
  /* b's sequence number was rolled back with the rest of it. */
  assert_true(c.key == DAY_KEY(2));

  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(x.st, &t), KEHU_OK);
  assert_true(kehu_store_customer_by_external_code(&t, "A-CODE") == a.key);
  assert_true(kehu_store_customer_by_external_code(&t, "B-CODE") == 0);
  assert_true(kehu_store_customer_by_external_code(&t, "C-CODE") == c.key);
  Kehu__Customer *got = NULL;
  assert_int_equal(kehu_store_customer_get(&t, c.key, &got), KEHU_OK);
  assert_string_equal(got->external_code, "C-CODE");
  kehu__customer__free_unpacked(got, NULL);
  assert_int_equal(kehu_store_customer_get(&t, DAY_KEY(3), &got), KEHU_NOT_FOUND);
  kehu_store_read_end(&t);
  /* Its index entries are gone too: exactly two customers are listed. */
  key_list *l = malloc(sizeof *l);
  assert_non_null(l);
  l->n = 0;
  kehu_customer_filter f = {.limit = 100};
  uint64_t next;
  assert_int_equal(kehu_store_read_begin(x.st, &t), KEHU_OK);
  assert_int_equal(kehu_store_customer_list(&t, &f, collect, l, &next), KEHU_OK);
  kehu_store_read_end(&t);
  assert_int_equal(l->n, 2);
  free(l);
  assert_int_equal(verify_problems(x.st, NULL, 0), 0);
  writer_teardown(&x);
}

static void test_writer_grows_the_map(void **state)
{
  (void)state;
  enum { N = 40 };
  writer_fixture x;
  writer_setup(&x);
  size_t before = kehu_store_map_size(x.st);
  kehu_write_req g = {.apply = gate_apply, .arg = &x.g};
  kehu_write_req reqs[N];
  add_req args[N];
  char codes[N][16];
  kehu_writer_submit(x.w, &g);
  for (int i = 0; i < N; i++) {
    snprintf(codes[i], sizeof codes[i], "BIG%02d", i);
    args[i] = (add_req){.code = codes[i], .fail_with = KEHU_OK, .notes_len = 32 * 1024};
    reqs[i] = (kehu_write_req){.apply = add_req_apply, .arg = &args[i]};
    kehu_writer_submit(x.w, &reqs[i]);
  }
  gate_open(&x.g);
  kehu_write_req *done[N + 1];
  assert_int_equal(take_all(x.w, &x.n, done, N + 1), N + 1);
  /* 40 x 32 KiB does not fit in 256 KiB: the writer grew the map. */
  assert_true(kehu_store_map_size(x.st) >= 4 * before);
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(x.st, &t), KEHU_OK);
  for (int i = 0; i < N; i++) {
    assert_int_equal(reqs[i].status, KEHU_OK);
    assert_true(args[i].key == DAY_KEY(i + 1));
    Kehu__Customer *c = NULL;
    assert_int_equal(kehu_store_customer_get(&t, args[i].key, &c), KEHU_OK);
    assert_int_equal(strlen(c->notes), 32 * 1024);
    assert_string_equal(c->external_code, codes[i]);
    kehu__customer__free_unpacked(c, NULL);
  }
  kehu_store_read_end(&t);
  writer_teardown(&x);
}

static void test_writer_stop_finishes_queue(void **state)
{
  (void)state;
  enum { N = 100 };
  writer_fixture x;
  writer_setup(&x);
  kehu_write_req g = {.apply = gate_apply, .arg = &x.g};
  kehu_write_req reqs[N];
  add_req args[N];
  kehu_writer_submit(x.w, &g);
  for (int i = 0; i < N; i++) {
    args[i] = (add_req){.fail_with = KEHU_OK};
    reqs[i] = (kehu_write_req){.apply = add_req_apply, .arg = &args[i]};
    kehu_writer_submit(x.w, &reqs[i]);
  }
  gate_open(&x.g);
  kehu_writer_stop(x.w);
  /* After stop returns, everything is finished and can still be taken. */
  size_t got = 0;
  for (kehu_write_req *r = kehu_writer_take_done(x.w); r; r = r->next)
    got++;
  assert_int_equal(got, N + 1);
  for (int i = 0; i < N; i++)
    assert_int_equal(reqs[i].status, KEHU_OK);
  uint64_t commits, requests;
  kehu_writer_counts(x.w, &commits, &requests);
  assert_int_equal(requests, N + 1);
  kehu_writer_free(x.w);
  x.w = NULL;
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(x.st, &t), KEHU_OK);
  Kehu__Customer *c = NULL;
  assert_int_equal(kehu_store_customer_get(&t, DAY_KEY(N), &c), KEHU_OK);
  kehu__customer__free_unpacked(c, NULL);
  kehu_store_read_end(&t);
  writer_teardown(&x);   /* stop/free of NULL are no-ops */
}

/* Puts meta[key] = an 8-byte big-endian n with raw LMDB, the store being
 * closed. */
static void raw_put_u64(const char *dir, const char *key, uint64_t n)
{
  MDB_env *env;
  MDB_dbi dbi;
  unsigned char b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)(n >> (56 - 8 * i));
  MDB_txn *txn = raw_begin(dir, "meta", 0, &env, &dbi);
  MDB_val k = {strlen(key), (void *)key}, v = {8, b};
  assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  raw_end(env, txn);
}

/* Data written by a newer kehud (a later store format) is refused with a
 * message saying so, not half read; an older format is brought up to date. */
static void test_newer_store_format_refused(void **state)
{
  (void)state;
  tmpdir d;
  uint64_t keys[3];
  kehu_store *st = small_store(&d, keys, 3);
  kehu_store_close(st);
  raw_put_u64(d.db, "store:format", KEHU_STORE_FORMAT + 1);
  kehu_error err = {0};
  assert_int_equal(kehu_store_open(&st, d.db, TINY_MAP, &err), KEHU_INTERNAL);
  assert_non_null(strstr(err.message, "newer kehud"));
  raw_put_u64(d.db, "store:format", 1);
  st = open_store(d.db, TINY_MAP);
  assert_int_equal(verify_problems(st, NULL, 0), 0);
  kehu_store_close(st);
  tmpdir_remove(&d);
}

/* Follow-ups by time (docs/storage.md#follow-ups-by-time) and the
 * dormancy index are derived: a store of format 4 (neither table) gets
 * both built when it is opened, verify passes, and the time index answers
 * a period; an entry removed behind the store's back is found by verify. */
typedef struct {
  uint64_t cust;
  int n;
} followup_arg;

static int add_followups(kehu_txn *t, void *arg)
{
  followup_arg *a = arg;
  const kehu_kind_info *k = kehu_kind_get(KEHU_KIND_FOLLOWUP);
  for (int i = 0; i < a->n; i++) {
    uint64_t seq;
    int rc = kehu_store_child_new_seq(t, k, &seq);
    if (rc != KEHU_OK)
      return rc;
    char id[24];
    kehu_child_id_format(k, seq, id);
    Kehu__FollowUp f = KEHU__FOLLOW_UP__INIT;
    f.id = id;
    f.has_at = 1;
    f.at = 1700000000 + (int64_t)i * 3600;
    f.method = i % 2 ? "phone" : "visit";
    f.author = "rep1";
    f.summary = "回访";
    if ((rc = kehu_store_child_put(t, k, a->cust, seq, NULL, &f.base)) != KEHU_OK)
      return rc;
  }
  return KEHU_OK;
}

static int count_entry(uint64_t cust, const char *owner, const char *author, const char *method,
                       void *arg)
{
  (void)cust;
  (void)owner;
  assert_string_equal(author, "rep1");
  assert_true(strcmp(method, "visit") == 0 || strcmp(method, "phone") == 0);
  (*(int *)arg)++;
  return KEHU_OK;
}

static int followups_between(kehu_store *st, int64_t since, int64_t until)
{
  kehu_txn t;
  int n = 0;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_followups_between(&t, since, until, count_entry, &n), KEHU_OK);
  kehu_store_read_end(&t);
  return n;
}

typedef struct {
  uint64_t key;
  const char *owner;
  int deleted;
} customer_change;

static int change_customer(kehu_txn *t, void *arg)
{
  customer_change *ch = arg;
  Kehu__Customer *old;
  int rc = kehu_store_customer_get(t, ch->key, &old);
  if (rc != KEHU_OK)
    return rc;
  Kehu__Customer c = *old;
  c.owner = (char *)ch->owner;
  c.has_deleted = 1;
  c.deleted = ch->deleted;
  rc = kehu_store_customer_put(t, ch->key, old, &c);
  kehu__customer__free_unpacked(old, NULL);
  return rc;
}

typedef struct {
  const char *owner;
  int n;
} owned;

static int count_owned(uint64_t cust, const char *owner, const char *author, const char *method,
                       void *arg)
{
  (void)cust, (void)author, (void)method;
  owned *o = arg;
  o->n += strcmp(owner, o->owner) == 0;
  return KEHU_OK;
}

static int owned_between(kehu_store *st, const char *owner)
{
  kehu_txn t;
  owned o = {owner, 0};
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_followups_between(&t, 0, INT64_MAX, count_owned, &o), KEHU_OK);
  kehu_store_read_end(&t);
  return o.n;
}

static void test_format_4_gets_time_and_dormancy_indexes(void **state)
{
  (void)state;
  tmpdir d;
  uint64_t keys[3];
  kehu_store *st = small_store(&d, keys, 3);
  followup_arg a = {keys[0], 5}, b = {keys[1], 3};
  assert_int_equal(kehu_store_write(st, add_followups, &a), KEHU_OK);
  assert_int_equal(kehu_store_write(st, add_followups, &b), KEHU_OK);
  assert_int_equal(followups_between(st, 0, INT64_MAX), 8);
  /* [first, first + 2 h): the first two of each customer */
  assert_int_equal(followups_between(st, 1700000000, 1700000000 + 2 * 3600), 4);
  kehu_store_close(st);

  const char *derived[] = {"fu_time", "cust_dormant"};
  for (size_t i = 0; i < 2; i++) {
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn = raw_begin(d.db, derived[i], 0, &env, &dbi);
    assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    raw_end(env, txn);
  }
  raw_put_u64(d.db, "store:format", 4);
  st = open_store(d.db, TINY_MAP);
  assert_int_equal(verify_problems(st, NULL, 0), 0);
  assert_int_equal(followups_between(st, 0, INT64_MAX), 8);
  assert_int_equal(followups_between(st, 1700000000 + 4 * 3600, INT64_MAX), 1);

  /* a new owner rewrites the customer's entries; binned, they go; restored,
   * they are back (verify checks each against its customer) */
  customer_change ch = {keys[0], "rep9", 0};
  assert_int_equal(kehu_store_write(st, change_customer, &ch), KEHU_OK);
  assert_int_equal(verify_problems(st, NULL, 0), 0);
  assert_int_equal(owned_between(st, "rep9"), 5);
  ch.deleted = 1;
  assert_int_equal(kehu_store_write(st, change_customer, &ch), KEHU_OK);
  assert_int_equal(verify_problems(st, NULL, 0), 0);
  assert_int_equal(followups_between(st, 0, INT64_MAX), 3);
  ch.deleted = 0;
  assert_int_equal(kehu_store_write(st, change_customer, &ch), KEHU_OK);
  assert_int_equal(verify_problems(st, NULL, 0), 0);
  assert_int_equal(owned_between(st, "rep9"), 5);
  kehu_store_close(st);

  /* one entry gone: verify says so */
  MDB_env *env;
  MDB_dbi dbi;
  MDB_txn *txn = raw_begin(d.db, "fu_time", 0, &env, &dbi);
  MDB_cursor *cur;
  MDB_val k, v;
  assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
  assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
  assert_int_equal(mdb_cursor_del(cur, 0), 0);
  mdb_cursor_close(cur);
  raw_end(env, txn);
  st = open_store(d.db, TINY_MAP);
  char report[4096];
  assert_true(verify_problems(st, report, sizeof report) > 0);
  assert_non_null(strstr(report, "follow-up time index"));
  kehu_store_close(st);
  tmpdir_remove(&d);
}

/* A store of format 2 has its name index keyed by the old legal-form
 * stripping (上海华东制造集团 kept its 集团): opening it rebuilds the index,
 * so what the old form left behind goes and every customer is found by
 * the form normalize.c gives now. */
static void test_format_2_name_index_rebuilt(void **state)
{
  (void)state;
  tmpdir d;
  uint64_t keys[3];
  kehu_store *st = small_store(&d, keys, 3);
  kehu_store_close(st);
  /* Customer 0 indexed as an older kehud would have, under a stale form. */
  MDB_env *env;
  MDB_dbi dbi;
  MDB_txn *txn = raw_begin(d.db, "cust_name", MDB_DUPSORT | MDB_DUPFIXED, &env, &dbi);
  unsigned char id[8];
  for (int i = 0; i < 8; i++)
    id[i] = (unsigned char)(keys[0] >> (56 - 8 * i));
  const char *now = "测试客户0000", *stale = "测试客户0000集团";
  MDB_val k = {strlen(now), (void *)now}, v = {8, id};
  assert_int_equal(mdb_del(txn, dbi, &k, &v), 0);
  k = (MDB_val){strlen(stale), (void *)stale};
  assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  raw_end(env, txn);
  raw_put_u64(d.db, "store:format", 2);
  st = open_store(d.db, TINY_MAP);
  char report[1024];
  assert_int_equal(verify_problems(st, report, sizeof report), 0);
  kehu_store_close(st);
  tmpdir_remove(&d);
}

/* ---- the sort index (docs/storage.md#sort-index) ---- */

static int key_cmp(int field, const Kehu__Customer *a, const Kehu__Customer *b)
{
  unsigned char ka[KEHU_SORT_ORDER_MAX], kb[KEHU_SORT_ORDER_MAX];
  size_t la = kehu_sort_order_key(field, a, ka), lb = kehu_sort_order_key(field, b, kb);
  int c = memcmp(ka, kb, la < lb ? la : lb);
  return c ? c : (la > lb) - (la < lb);
}

static Kehu__Customer named(const char *name)
{
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  c.name = (char *)name;
  return c;
}

static Kehu__Customer at(int64_t created, int has_contact, int64_t contact, const char *stage)
{
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  c.has_created_at = c.has_updated_at = 1;
  c.created_at = c.updated_at = created;
  c.has_last_contact_at = has_contact;
  c.last_contact_at = contact;
  c.stage = (char *)stage;
  return c;
}

/* Byte order of the order keys is the list's order: names by their
 * folded form (case and width folded, then code point order), shorter
 * before longer; times signed; never contacted before every contact; the
 * funnel's order of stages, unknown ones last. */
static void test_sort_order_keys(void **state)
{
  (void)state;
  Kehu__Customer a = named("abc Trading"), A = named("ABC TRADING"), w = named("ＡＢＣ Trading"),
                 z = named("Zeta"), ab = named("ab"), cn = named("上海星河"), none = named(NULL);
  assert_int_equal(key_cmp(KEHU_SORT_NAME, &a, &A), 0);
  assert_int_equal(key_cmp(KEHU_SORT_NAME, &a, &w), 0);
  assert_true(key_cmp(KEHU_SORT_NAME, &a, &z) < 0);
  assert_true(key_cmp(KEHU_SORT_NAME, &ab, &a) < 0);
  assert_true(key_cmp(KEHU_SORT_NAME, &z, &cn) < 0);
  assert_true(key_cmp(KEHU_SORT_NAME, &none, &ab) < 0);
  char longer[400];
  memset(longer, 'x', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  Kehu__Customer l = named(longer);
  unsigned char k[KEHU_SORT_ORDER_MAX];
  assert_int_equal(kehu_sort_order_key(KEHU_SORT_NAME, &l, k), KEHU_SORT_ORDER_MAX);
  assert_int_equal(k[KEHU_SORT_ORDER_MAX - 1], 0);

  Kehu__Customer neg = at(-5, 1, -86400, "intent"), zero = at(0, 1, 0, "potential"),
                 pos = at(5, 1, 5, "lost"), never = at(INT64_MAX, 0, 0, "won"),
                 late = at(INT64_MAX, 1, INT64_MAX, NULL), closed = at(1, 1, 1, "closed");
  assert_true(key_cmp(KEHU_SORT_CREATED, &neg, &zero) < 0);
  assert_true(key_cmp(KEHU_SORT_CREATED, &zero, &pos) < 0);
  assert_true(key_cmp(KEHU_SORT_UPDATED, &pos, &never) < 0);
  assert_true(key_cmp(KEHU_SORT_LAST_CONTACT, &never, &neg) < 0);
  assert_true(key_cmp(KEHU_SORT_LAST_CONTACT, &neg, &zero) < 0);
  assert_true(key_cmp(KEHU_SORT_LAST_CONTACT, &pos, &late) < 0);
  assert_true(key_cmp(KEHU_SORT_STAGE, &zero, &neg) < 0);
  assert_true(key_cmp(KEHU_SORT_STAGE, &neg, &closed) < 0);
  assert_true(key_cmp(KEHU_SORT_STAGE, &closed, &pos) < 0);
  assert_true(key_cmp(KEHU_SORT_STAGE, &pos, &never) < 0);
  assert_int_equal(key_cmp(KEHU_SORT_STAGE, &never, &late), 0);
}

static int every_owner(const char *owner, int binned, void *ctx)
{
  (void)owner, (void)binned, (void)ctx;
  return 1;
}

static int rep1_only(const char *owner, int binned, void *ctx)
{
  (void)binned, (void)ctx;
  return owner && strcmp(owner, "rep1") == 0;
}

typedef struct {
  Kehu__Customer *rows[64];
  size_t n;
} sorted_rows;

static int keep_row(Kehu__Customer *c, void *arg)
{
  sorted_rows *r = arg;
  r->rows[r->n++] = c;
  return 1;
}

static void rows_free(sorted_rows *r)
{
  for (size_t i = 0; i < r->n; i++)
    kehu__customer__free_unpacked(r->rows[i], NULL);
  r->n = 0;
}

/* Walks a whole sorted list in pages of `limit`; keys[] in order. */
static size_t sorted_walk(kehu_store *st, int field, int desc, unsigned limit,
                          int (*vis)(const char *, int, void *), const char *stage,
                          uint64_t *keys, size_t max)
{
  kehu_sort_pos pos = {0}, next;
  size_t n = 0;
  for (int pages = 0; pages < 1000; pages++) {
    kehu_txn t;
    kehu_customer_filter f = {.limit = limit, .stage = stage};
    sorted_rows r = {.n = 0};
    assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
    assert_int_equal(kehu_store_customer_sorted(&t, &f, field, desc, pages ? &pos : NULL, 5, 0,
                                                vis, NULL, keep_row, &r, &next),
                     KEHU_OK);
    kehu_store_read_end(&t);
    assert_true(r.n <= limit);
    for (size_t i = 0; i < r.n && n < max; i++)
      keys[n++] = key_of(r.rows[i]);
    rows_free(&r);
    if (!next.len)
      return n;
    pos = next;
  }
  fail_msg("a sorted walk that does not end");
  return n;
}

typedef struct {
  uint64_t key;
  const char *name;
  const char *stage;
} renamed;

static int rename_customer(kehu_txn *t, void *arg)
{
  renamed *r = arg;
  Kehu__Customer *old;
  int rc = kehu_store_customer_get(t, r->key, &old);
  if (rc != KEHU_OK)
    return rc;
  Kehu__Customer c = *old;
  c.name = (char *)r->name;
  if (r->stage)
    c.stage = (char *)r->stage;
  rc = kehu_store_customer_put(t, r->key, old, &c);
  kehu__customer__free_unpacked(old, NULL);
  return rc;
}

/* A store of format 6 gets the sort index when opened; a page of it walks
 * the customers in order, either way, ties newest first, per visible
 * owner, with filters, in pages smaller than the walk's bound; a changed
 * customer moves its entries; verify finds an entry gone and a stray one. */
static void test_format_6_gets_sort_index(void **state)
{
  (void)state;
  tmpdir d;
  uint64_t keys[21];
  kehu_store *st = small_store(&d, keys, 21);
  kehu_store_close(st);
  MDB_env *env;
  MDB_dbi dbi;
  MDB_txn *txn = raw_begin(d.db, "cust_sort", 0, &env, &dbi);
  assert_int_equal(mdb_drop(txn, dbi, 0), 0);
  raw_end(env, txn);
  raw_put_u64(d.db, "store:format", 6);
  st = open_store(d.db, TINY_MAP);
  assert_int_equal(verify_problems(st, NULL, 0), 0);

  uint64_t got[64];
  /* names 测试客户0000..0020: by name is key order */
  assert_int_equal(sorted_walk(st, KEHU_SORT_NAME, 0, 4, every_owner, NULL, got, 64), 21);
  for (int i = 0; i < 21; i++)
    assert_true(got[i] == keys[i]);
  assert_int_equal(sorted_walk(st, KEHU_SORT_NAME, 1, 3, every_owner, NULL, got, 64), 21);
  for (int i = 0; i < 21; i++)
    assert_true(got[i] == keys[20 - i]);
  /* one created_at for all: ties newest first, both ways */
  for (int desc = 0; desc < 2; desc++) {
    assert_int_equal(sorted_walk(st, KEHU_SORT_CREATED, desc, 2, every_owner, NULL, got, 64), 21);
    for (int i = 0; i < 21; i++)
      assert_true(got[i] == keys[20 - i]);
  }
  /* stages by the funnel (i % 4: potential, intent, closed, lost), each
   * newest first; the other way round the groups turn, ties do not */
  for (int desc = 0; desc < 2; desc++) {
    assert_int_equal(sorted_walk(st, KEHU_SORT_STAGE, desc, 5, every_owner, NULL, got, 64), 21);
    size_t n = 0;
    for (int g = 0; g < 4; g++) {
      int stage = desc ? 3 - g : g;
      for (int i = 20; i >= 0; i--)
        if (i % 4 == stage)
          assert_true(got[n++] == keys[i]);
    }
  }
  /* one owner's part (rep1: 1, 8, 15), and a filter the walk's bound of 5
   * entries makes come back in short pages */
  assert_int_equal(sorted_walk(st, KEHU_SORT_NAME, 0, 2, rep1_only, NULL, got, 64), 3);
  assert_true(got[0] == keys[1] && got[1] == keys[8] && got[2] == keys[15]);
  assert_int_equal(sorted_walk(st, KEHU_SORT_NAME, 1, 2, every_owner, "lost", got, 64), 5);
  assert_true(got[0] == keys[19] && got[4] == keys[3]);

  /* renamed to sort first, and a stage change: the entries move */
  renamed r = {keys[20], "Aardvark Ltd", "won"};
  assert_int_equal(kehu_store_write(st, rename_customer, &r), KEHU_OK);
  assert_int_equal(verify_problems(st, NULL, 0), 0);
  assert_int_equal(sorted_walk(st, KEHU_SORT_NAME, 0, 4, every_owner, NULL, got, 64), 21);
  assert_true(got[0] == keys[20] && got[1] == keys[0]);
  assert_int_equal(sorted_walk(st, KEHU_SORT_STAGE, 1, 4, every_owner, NULL, got, 64), 21);
  assert_true(got[0] == keys[20]);
  kehu_store_close(st);

  /* the first entry gone, and a stray one for a customer under another
   * owner: verify reports both */
  txn = raw_begin(d.db, "cust_sort", 0, &env, &dbi);
  MDB_cursor *cur;
  MDB_val k, v;
  assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
  assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
  unsigned char stray[512];
  size_t slen = k.mv_size;
  memcpy(stray, k.mv_data, slen);
  assert_int_equal(mdb_cursor_del(cur, 0), 0);
  mdb_cursor_close(cur);
  stray[2] = 'x';   /* first byte of the owner: "xep..." */
  k = (MDB_val){slen, stray};
  v = (MDB_val){0, NULL};
  assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  raw_end(env, txn);
  st = open_store(d.db, TINY_MAP);
  char report[4096];
  assert_int_equal(verify_problems(st, report, sizeof report), 2);
  assert_non_null(strstr(report, "missing from the sort index"));
  assert_non_null(strstr(report, "sort index ->"));
  kehu_store_close(st);
  tmpdir_remove(&d);
}

/* Keyset pages: a customer added before the cursor's place, or one moved
 * across it, between two pages neither repeats a row nor skips one that
 * stayed where it was. */
static void test_sorted_pages_keyset(void **state)
{
  (void)state;
  tmpdir d;
  uint64_t keys[12];
  kehu_store *st = small_store(&d, keys, 12);
  kehu_txn t;
  kehu_customer_filter f = {.limit = 5};
  sorted_rows r = {.n = 0};
  kehu_sort_pos next;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_customer_sorted(&t, &f, KEHU_SORT_NAME, 0, NULL, 100, 0,
                                              every_owner, NULL, keep_row, &r, &next),
                   KEHU_OK);
  kehu_store_read_end(&t);
  assert_int_equal(r.n, 5);
  assert_true(next.len > 0);
  rows_free(&r);
  /* 0000..0004 shown; 0002 renamed past the end, 0009 to the front */
  renamed a = {keys[2], "测试客户9999", NULL}, b = {keys[9], "Aardvark", NULL};
  assert_int_equal(kehu_store_write(st, rename_customer, &a), KEHU_OK);
  assert_int_equal(kehu_store_write(st, rename_customer, &b), KEHU_OK);
  uint64_t seen[16];
  size_t n = 0;
  kehu_sort_pos pos = next;
  for (int pages = 0; pages < 10 && pos.len; pages++) {
    assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
    assert_int_equal(kehu_store_customer_sorted(&t, &f, KEHU_SORT_NAME, 0, &pos, 100, 0,
                                                every_owner, NULL, keep_row, &r, &next),
                     KEHU_OK);
    kehu_store_read_end(&t);
    for (size_t i = 0; i < r.n; i++)
      seen[n++] = key_of(r.rows[i]);
    rows_free(&r);
    pos = next;
  }
  /* 0005..0008, 0010, 0011, then 0002 under its new name */
  uint64_t want[] = {keys[5], keys[6], keys[7], keys[8], keys[10], keys[11], keys[2]};
  assert_int_equal(n, sizeof want / sizeof *want);
  for (size_t i = 0; i < n; i++)
    assert_true(seen[i] == want[i]);
  kehu_store_close(st);
  tmpdir_remove(&d);
}

int main(void)
{
  setenv("TZ", "UTC", 1);
  tzset();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fill_grew_map),
      cmocka_unit_test(test_ids_sequential_per_day),
      cmocka_unit_test(test_get_returns_what_was_put),
      cmocka_unit_test(test_by_external_code),
      cmocka_unit_test(test_duplicate_external_code_conflicts),
      cmocka_unit_test(test_same_code_on_update_is_not_a_conflict),
      cmocka_unit_test(test_update_moves_owner_and_stage_entries),
      cmocka_unit_test(test_external_code_change),
      cmocka_unit_test(test_pagination_visits_all_once),
      cmocka_unit_test(test_pagination_through_owner_index),
      cmocka_unit_test(test_cursor_outside_index_values),
      cmocka_unit_test(test_unknown_owner_lists_nothing),
      cmocka_unit_test(test_verify_clean_store),
      cmocka_unit_test(test_reopen_with_tiny_map_keeps_data),
      cmocka_unit_test(test_verify_finds_index_entry_without_record),
      cmocka_unit_test(test_verify_finds_record_missing_from_index),
      cmocka_unit_test(test_customer_id_parse),
      cmocka_unit_test(test_customer_id_format_round_trip),
      cmocka_unit_test(test_customer_id_ten_digit_sequence),
      cmocka_unit_test(test_new_key_uses_local_date),
      cmocka_unit_test(test_writer_group_commit),
      cmocka_unit_test(test_writer_failed_request_leaves_no_trace),
      cmocka_unit_test(test_writer_grows_the_map),
      cmocka_unit_test(test_writer_stop_finishes_queue),
      cmocka_unit_test(test_newer_store_format_refused),
      cmocka_unit_test(test_format_4_gets_time_and_dormancy_indexes),
      cmocka_unit_test(test_format_2_name_index_rebuilt),
      cmocka_unit_test(test_sort_order_keys),
      cmocka_unit_test(test_format_6_gets_sort_index),
      cmocka_unit_test(test_sorted_pages_keyset),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
