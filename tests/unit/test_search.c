/* The search index: tokens follow every change of a customer and its
 * contacts in the same transaction, and queries find what they should,
 * whether the postings are still pending, folded into the posting lists,
 * or some of each (the same tests run in all three states). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "search_text.h"
#include "store.h"

static kehu_store *st;
static char dir[] = "/tmp/kehu-search-XXXXXX";

typedef struct {
  const char *name;
  const char *short_name;
  const char *tag;
  const char *contact;
  const char *phone;
  const char *email;
  uint64_t key;
} doc;

static doc docs[] = {
  {"深圳市星河信息技术有限公司", "星河信息", "华南", "张伟", "13856781234", "zhang@xinghe.cn", 0},
  {"Pacific Robotics Co., Ltd.", NULL, "vip", "John Smith", "+4930123456", NULL, 0},
  {"上海Nova网络科技有限公司", NULL, NULL, "李娜", "010-12345678", "li.na@nova.com", 0},
  {"北京星光河科技有限公司", NULL, NULL, NULL, NULL, NULL, 0},
};

static int add_doc(kehu_txn *t, void *arg)
{
  doc *d = arg;
  int rc = kehu_store_customer_new_key(t, 1732089600, &d->key);
  char id[24];
  kehu_customer_id_format(d->key, id);
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  c.id = id;
  c.name = (char *)d->name;
  c.short_name = (char *)d->short_name;
  char *tags[1] = {(char *)d->tag};
  c.tags = tags;
  c.n_tags = d->tag ? 1 : 0;
  if (rc == KEHU_OK)
    rc = kehu_store_customer_put(t, d->key, NULL, &c);
  if (rc == KEHU_OK && d->contact) {
    const kehu_kind_info *k = kehu_kind_get(KEHU_KIND_CONTACT);
    uint64_t seq;
    rc = kehu_store_child_new_seq(t, k, &seq);
    Kehu__Contact p = KEHU__CONTACT__INIT;
    p.name = (char *)d->contact;
    char *phones[1] = {(char *)d->phone};
    p.phones = phones;
    p.n_phones = d->phone ? 1 : 0;
    p.email = (char *)d->email;
    if (rc == KEHU_OK)
      rc = kehu_store_child_put(t, k, d->key, seq, NULL, &p.base);
  }
  return rc;
}

static size_t fold_after;   /* customers added before the fold (setup) */

static int fold_all(kehu_txn *t, void *arg)
{
  kehu_fold_pos pos = {0};
  size_t folded;
  (void)arg;
  return kehu_store_search_fold(t, SIZE_MAX, &pos, &folded);
}

static size_t pending(void)
{
  kehu_txn t;
  size_t n = 0;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_search_pending(&t, &n), KEHU_OK);
  kehu_store_read_end(&t);
  return n;
}

static int setup(void **state)
{
  (void)state;
  strcpy(dir, "/tmp/kehu-search-XXXXXX");
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/data.key", dir);
  FILE *f = fopen(path, "wb");
  fwrite("0123456789abcdef0123456789abcdef", 1, 32, f);
  fclose(f);
  kehu_error err;
  char db[256];
  snprintf(db, sizeof db, "%s/db", dir);
  assert_int_equal(kehu_store_open(&st, db, 1 << 22, &err), KEHU_OK);
  assert_int_equal(kehu_store_load_key(st, path, &err), KEHU_OK);
  for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
    if (i == fold_after) {
      assert_int_equal(kehu_store_write(st, fold_all, NULL), KEHU_OK);
      assert_int_equal(pending(), 0);
    }
    assert_int_equal(kehu_store_write(st, add_doc, &docs[i]), KEHU_OK);
  }
  /* new customers' postings are pending until a fold */
  if (fold_after >= sizeof docs / sizeof *docs) {
    assert_true(pending() > 0);
    assert_int_equal(kehu_store_write(st, fold_all, NULL), KEHU_OK);
    assert_int_equal(pending(), 0);
  } else {
    assert_true(pending() > 0);
  }
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  kehu_store_close(st);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

typedef struct {
  uint64_t keys[16];
  size_t n;
} found;

static int collect(uint64_t key, void *arg)
{
  found *f = arg;
  if (f->n < 16)
    f->keys[f->n++] = key;
  return 1;
}

static found search(const char *a, const char *b)
{
  found f = {{0}, 0};
  const char *terms[2] = {a, b};
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_search(&t, terms, b ? 2 : 1, NULL, collect, &f), KEHU_OK);
  kehu_store_read_end(&t);
  return f;
}

static int has(found f, uint64_t key)
{
  for (size_t i = 0; i < f.n; i++)
    if (f.keys[i] == key)
      return 1;
  return 0;
}

static void test_chinese_bigrams(void **state)
{
  (void)state;
  found f = search("星河信息", NULL);
  assert_int_equal(f.n, 1);
  assert_true(has(f, docs[0].key));
  f = search("科技", NULL);   /* Nova and 星光河 */
  assert_true(has(f, docs[2].key) && has(f, docs[3].key));
  assert_false(has(f, docs[0].key));
}

static void test_single_character_prefix(void **state)
{
  (void)state;
  found f = search("星", NULL);
  assert_true(has(f, docs[0].key) && has(f, docs[3].key));
  assert_false(has(f, docs[1].key));
}

static void test_latin_words_and_prefixes(void **state)
{
  (void)state;
  found f = search("Pacific", "Ro");
  assert_int_equal(f.n, 1);
  assert_true(has(f, docs[1].key));
  f = search("nova", NULL);
  assert_true(has(f, docs[2].key));
  /* legal forms are not indexed: a query of them alone reads every
   * customer, newest first, for the caller to check against the text */
  f = search("ltd", NULL);
  assert_true(f.n >= 3);
  for (size_t i = 1; i < f.n; i++)
    assert_true(f.keys[i - 1] > f.keys[i]);
  /* "Co" is the start of a legal form: left out, "pacific" finds it */
  f = search("Pacific", "Co");
  assert_true(has(f, docs[1].key));
}

typedef struct {
  char tokens[8][KEHU_TOKEN_MAX + 1];
  int n;
} token_list;

static void keep_token(const char *token, size_t len, void *arg)
{
  token_list *l = arg;
  if (l->n < 8) {
    memcpy(l->tokens[l->n], token, len);
    l->tokens[l->n++][len] = '\0';
  }
}

static token_list query_tokens_weak(const char *term, int keep_weak, kehu_query_shape *shape)
{
  token_list l;
  memset(&l, 0, sizeof l);
  kehu_search_query_tokens(term, keep_weak, keep_token, shape, &l);
  assert_int_equal(shape->tokens < 8 ? shape->tokens : 8, l.n);
  return l;
}

static token_list query_tokens(const char *term, kehu_query_shape *shape)
{
  return query_tokens_weak(term, 0, shape);
}

/* A query leaves out what the index leaves out: legal forms, and parts of
 * them at the edges of what was typed; such a term is checked whole. */
static void test_query_tokens_leave_out_legal_forms(void **state)
{
  (void)state;
  kehu_query_shape shape;
  token_list l = query_tokens("信息技术有限", &shape);
  assert_int_equal(l.n, 3);
  assert_string_equal(l.tokens[0], "信息");
  assert_string_equal(l.tokens[1], "息技");
  assert_string_equal(l.tokens[2], "技术");
  assert_false(shape.exact);
  l = query_tokens("星河有限公司", &shape);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.tokens[0], "星河");
  assert_false(shape.exact);
  l = query_tokens("有限公司", &shape);
  assert_int_equal(l.n, 0);
  l = query_tokens("公司", &shape);
  assert_int_equal(l.n, 0);
  l = query_tokens("Pacific Co", &shape);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.tokens[0], "pacific");
  assert_false(shape.exact);
  l = query_tokens("星河", &shape);
  assert_int_equal(l.n, 1);
  assert_true(shape.exact);
  l = query_tokens("Robotics", &shape);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.tokens[0], "robotics");
  assert_true(shape.exact);
  l = query_tokens("有", &shape);   /* one character: a key prefix */
  assert_int_equal(l.n, 1);
  assert_true(shape.single_char);
  /* the start of a stop word: left out unless there is nothing else */
  l = query_tokens("Li", &shape);
  assert_int_equal(l.n, 0);
  l = query_tokens_weak("Li", 1, &shape);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.tokens[0], "li");
  l = query_tokens_weak("Ltd", 1, &shape);   /* a stop word: never a token */
  assert_int_equal(l.n, 0);
}

/* A run longer than the tokenizer's buffer, cut inside a 4-byte character
 * just after a legal form: nothing is read past the form's text (ASan). */
static void test_long_run_cut_inside_a_character(void **state)
{
  (void)state;
  char term[1200] = "";
  for (int i = 0; i < 336; i++)
    strcat(term, "一");
  strcat(term, "有限公司");
  for (int i = 0; i < 20; i++)
    strcat(term, "\xf0\xa0\x80\x80");   /* U+20000 */
  kehu_query_shape shape;
  token_list l = query_tokens(term, &shape);
  assert_true(l.n > 0);
  assert_false(shape.exact);
}

static void expect_fold(const char *text, const char *want)
{
  char *got = kehu_search_fold(text);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

/* Names of ASCII and common Chinese characters take a short way; the rest
 * the full NFKC case fold: both agree with what the index holds. */
static void test_fold(void **state)
{
  (void)state;
  expect_fold("上海Nova网络科技有限公司", "上海nova网络科技有限公司");
  expect_fold("Pacific Robotics Co., Ltd.", "pacific robotics co., ltd.");
  expect_fold("ＡＢＣ（北京）", "abc(北京)");        /* full width: NFKC */
  expect_fold("Straße ÄRZTE", "strasse ärzte");    /* beyond ASCII: case fold */
  expect_fold("一丁龥鿿", "一丁龥鿿");              /* the ends of U+4E00..U+9FFF */
  expect_fold("㐀", "㐀");                          /* U+3400, before it */
  expect_fold("", "");
}

static void test_term_kinds(void **state)
{
  (void)state;
  char normal[64];
  assert_int_equal(kehu_search_term_kind("+86 187 2283 1187", normal, sizeof normal),
                   KEHU_TERM_PHONE);
  assert_string_equal(normal, "18722831187");
  assert_int_equal(kehu_search_term_kind("187-2283-1187", normal, sizeof normal), KEHU_TERM_PHONE);
  assert_int_equal(kehu_search_term_kind("1187", normal, sizeof normal), KEHU_TERM_TAIL4);
  assert_int_equal(kehu_search_term_kind("2283 1187", normal, sizeof normal), KEHU_TERM_TAIL8);
  assert_string_equal(normal, "22831187");
  assert_int_equal(kehu_search_term_kind("Li.Na@Nova.com", normal, sizeof normal), KEHU_TERM_EMAIL);
  assert_string_equal(normal, "li.na@nova.com");
  assert_int_equal(kehu_search_term_kind("星河", normal, sizeof normal), KEHU_TERM_TEXT);
  assert_int_equal(kehu_search_term_kind("3M", normal, sizeof normal), KEHU_TERM_TEXT);
}

static void test_all_terms_must_match(void **state)
{
  (void)state;
  assert_int_equal(search("华南", "星河").n, 1);
  assert_int_equal(search("华南", "nova").n, 0);
}

static void test_contacts_phones_emails(void **state)
{
  (void)state;
  assert_true(has(search("张伟", NULL), docs[0].key));
  assert_true(has(search("+86 138 5678 1234", NULL), docs[0].key));
  assert_true(has(search("1234", NULL), docs[0].key));      /* last 4 digits */
  assert_true(has(search("56781234", NULL), docs[0].key));  /* last 8 */
  assert_true(has(search("010-12345678", NULL), docs[2].key));
  assert_true(has(search("LI.NA@nova.com", NULL), docs[2].key));
  assert_int_equal(search("13800000000", NULL).n, 0);
}

static int rename_first(kehu_txn *t, void *arg)
{
  (void)arg;
  Kehu__Customer *old;
  int rc = kehu_store_customer_get(t, docs[0].key, &old);
  if (rc != KEHU_OK)
    return rc;
  Kehu__Customer c = *old;
  c.name = "广州蓝海贸易有限公司";
  c.short_name = NULL;
  rc = kehu_store_customer_put(t, docs[0].key, old, &c);
  kehu__customer__free_unpacked(old, NULL);
  return rc;
}

static void test_rename_moves_postings(void **state)
{
  (void)state;
  assert_int_equal(kehu_store_write(st, rename_first, NULL), KEHU_OK);
  assert_false(has(search("星河信息", NULL), docs[0].key));
  assert_true(has(search("蓝海", NULL), docs[0].key));
  assert_true(has(search("张伟", NULL), docs[0].key));   /* contacts stay */
}

static int purge_nova(kehu_txn *t, void *arg)
{
  (void)arg;
  return kehu_store_customer_purge(t, docs[2].key);
}

static unsigned long verify_problems(void)
{
  kehu_txn t;
  char report[4096];
  unsigned long problems = 99;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_verify(&t, report, sizeof report, &problems), KEHU_OK);
  kehu_store_read_end(&t);
  if (problems)
    fprintf(stderr, "%s", report);
  return problems;
}

static void test_purge_removes_everything(void **state)
{
  (void)state;
  assert_int_equal(kehu_store_write(st, purge_nova, NULL), KEHU_OK);
  assert_int_equal(search("nova", NULL).n, 0);
  assert_int_equal(search("010-12345678", NULL).n, 0);
  assert_int_equal(search("李娜", NULL).n, 0);
  assert_int_equal(verify_problems(), 0);
}

/* A newer customer found by the same word: it comes first, whichever
 * table each one's postings are in. */
static void test_newest_first_across_tables(void **state)
{
  (void)state;
  doc extra = {"Pacific Trading Co., Ltd.", NULL, NULL, NULL, NULL, NULL, 0};
  assert_int_equal(kehu_store_write(st, add_doc, &extra), KEHU_OK);
  found f = search("pacific", NULL);
  assert_int_equal(f.n, 2);
  assert_int_equal(f.keys[0], extra.key);
  assert_int_equal(f.keys[1], docs[1].key);
  f = search("pacific", "robotics");
  assert_int_equal(f.n, 1);
  assert_int_equal(f.keys[0], docs[1].key);
}

/* A fold a few postings at a time, round the pending table, changes no
 * answer and leaves the index consistent at every step. */
typedef struct {
  kehu_fold_pos pos;
  size_t folded;
} fold_step;

static int fold_some(kehu_txn *t, void *arg)
{
  fold_step *s = arg;
  return kehu_store_search_fold(t, 5, &s->pos, &s->folded);
}

static void test_fold_in_steps(void **state)
{
  (void)state;
  assert_int_equal(kehu_store_write(st, add_doc, &docs[2]), KEHU_OK);   /* nova again */
  found before = search("nova", NULL);
  assert_int_equal(before.n, 1);
  fold_step s = {{0}, 0};
  size_t left = pending();
  for (int i = 0; i < 1000 && left > 0; i++) {
    assert_int_equal(kehu_store_write(st, fold_some, &s), KEHU_OK);
    assert_true(s.folded > 0);
    assert_int_equal(pending(), left - s.folded);
    left -= s.folded;
    assert_int_equal(verify_problems(), 0);
    assert_true(has(search("nova", NULL), docs[2].key));
    assert_true(has(search("李娜", NULL), docs[2].key));
    assert_true(has(search("010-12345678", NULL), docs[2].key));
    assert_true(has(search("蓝海", NULL), docs[0].key));
  }
  assert_int_equal(left, 0);
}

/* An import-sized write with the search deferred: many new customers, each
 * with a contact added after it, and a change to one indexed before, are
 * indexed once each when the write flushes. Below 256 customers the new
 * ones go to the pending table; from 256 straight into the posting lists. */
typedef struct {
  size_t n;
  doc *docs;
  char (*names)[64];
  char (*phones)[32];
} bulk;

static int add_deferred(kehu_txn *t, void *arg)
{
  bulk *b = arg;
  kehu_search_defer d;
  kehu_store_search_defer(t, &d);
  int rc = rename_first(t, NULL);
  for (size_t i = 0; i < b->n && rc == KEHU_OK; i++)
    rc = add_doc(t, &b->docs[i]);
  /* a search inside the write sees the write's own customers */
  if (rc == KEHU_OK) {
    const char *terms[] = {b->names[0]};
    found f = {{0}, 0};
    rc = kehu_store_search(t, terms, 1, NULL, collect, &f);
    if (rc == KEHU_OK && !has(f, b->docs[0].key))
      rc = KEHU_INTERNAL;
  }
  int frc = kehu_store_search_flush(t);
  return rc == KEHU_OK ? frc : rc;
}

static void bulk_add(size_t n)
{
  bulk b = {n, calloc(n, sizeof(doc)), calloc(n, 64), calloc(n, 32)};
  assert_non_null(b.docs);
  assert_non_null(b.names);
  assert_non_null(b.phones);
  for (size_t i = 0; i < n; i++) {
    snprintf(b.names[i], 64, "批量%zu号客户%zu", n, i);
    snprintf(b.phones[i], 32, "139%04u%04u", (unsigned)n, (unsigned)i);
    b.docs[i] = (doc){b.names[i], NULL, NULL, "赵敏", b.phones[i], NULL, 0};
  }
  assert_int_equal(kehu_store_write(st, add_deferred, &b), KEHU_OK);
  assert_int_equal(verify_problems(), 0);
  for (size_t i = 0; i < n; i += n / 7) {
    assert_true(has(search(b.names[i], NULL), b.docs[i].key));
    assert_true(has(search(b.phones[i], NULL), b.docs[i].key));
    assert_true(has(search(b.names[i], "赵敏"), b.docs[i].key));
  }
  assert_true(has(search("蓝海", NULL), docs[0].key));
  free(b.docs);
  free(b.names);
  free(b.phones);
}

static void test_deferred_batches(void **state)
{
  (void)state;
  size_t before = pending();
  bulk_add(40);
  assert_true(pending() > before);    /* a small batch: pending */
  before = pending();
  bulk_add(300);
  assert_int_equal(pending(), before); /* a large one: straight into the lists */
}

static int group(size_t after)
{
  fold_after = after;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_chinese_bigrams),
    cmocka_unit_test(test_single_character_prefix),
    cmocka_unit_test(test_latin_words_and_prefixes),
    cmocka_unit_test(test_all_terms_must_match),
    cmocka_unit_test(test_contacts_phones_emails),
    cmocka_unit_test(test_rename_moves_postings),
    cmocka_unit_test(test_purge_removes_everything),
    cmocka_unit_test(test_newest_first_across_tables),
    cmocka_unit_test(test_fold_in_steps),
    cmocka_unit_test(test_deferred_batches),
    cmocka_unit_test(test_query_tokens_leave_out_legal_forms),
    cmocka_unit_test(test_term_kinds),
    cmocka_unit_test(test_fold),
    cmocka_unit_test(test_long_run_cut_inside_a_character),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

int main(void)
{
  /* all pending; the first two folded, the other two pending; all folded */
  int failed = group(0);
  failed += group(2);
  failed += group(sizeof docs / sizeof *docs);
  return failed;
}
