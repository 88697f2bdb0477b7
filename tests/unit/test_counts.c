/* The report counts (server/store/counts.c): kept in the writing
 * transaction through adds, a stage change, an owner change, binning and
 * restoring, purging; by value and owner; checked by verify, which
 * notices a count changed behind the store's back; rebuilt by reindex.
 * And the upgrades whose index needs the data key (sealed records): the
 * counts of orders and tickets (format 8), the birthday index (format 10). */
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
static uint64_t keys[4];
static Kehu__Customer saved[4];
static char ids[4][24];

static const char *const owners[] = {"li.lei", "li.lei", "zhao.qiang", "zhao.qiang"};
static const char *const stages[] = {"potential", "potential", "intent", "potential"};

static int add_all(kehu_txn *t, void *arg)
{
  (void)arg;
  for (size_t i = 0; i < 4; i++) {
    int rc = kehu_store_customer_new_key(t, 1732089600, &keys[i]);
    if (rc != KEHU_OK)
      return rc;
    kehu_customer_id_format(keys[i], ids[i]);
    Kehu__Customer c = KEHU__CUSTOMER__INIT;
    c.id = ids[i];
    c.name = "计数测试公司";
    c.owner = (char *)owners[i];
    c.stage = (char *)stages[i];
    c.industry = i == 3 ? NULL : "制造";
    saved[i] = c;
    if ((rc = kehu_store_customer_put(t, keys[i], NULL, &c)) != KEHU_OK)
      return rc;
  }
  return KEHU_OK;
}

typedef struct {
  const char *value, *owner;
  uint64_t n;
} want;

static int match(const char *value, const char *owner, uint64_t n, void *arg)
{
  want *w = arg;
  if (strcmp(value, w->value) == 0 && (!w->owner || strcmp(owner, w->owner) == 0))
    w->n += n;
  return KEHU_OK;
}

static uint64_t counted(const char *field, const char *value, const char *owner)
{
  kehu_txn t;
  want w = {value, owner, 0};
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_counts_each(&t, field, match, &w), KEHU_OK);
  kehu_store_read_end(&t);
  return w.n;
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

typedef struct {
  size_t i;
  Kehu__Customer to;
} change;

static int put_change(kehu_txn *t, void *arg)
{
  change *c = arg;
  int rc = kehu_store_customer_put(t, keys[c->i], &saved[c->i], &c->to);
  if (rc == KEHU_OK)
    saved[c->i] = c->to;
  return rc;
}

static int purge(kehu_txn *t, void *arg)
{
  size_t i = *(size_t *)arg;
  return kehu_store_customer_remove(t, keys[i], &saved[i]);
}

static int spoil(kehu_txn *t, void *arg)
{
  (void)arg;
  return kehu_store_status(mdb_drop(t->txn, t->st->cust_counts, 0));
}

static int reindex(kehu_txn *t, void *arg)
{
  return kehu_store_reindex(t, arg);
}

static void test_counts_follow_writes(void **state)
{
  (void)state;
  assert_int_equal(kehu_store_write(st, add_all, NULL), KEHU_OK);
  assert_int_equal(counted("stage", "potential", NULL), 3);
  assert_int_equal(counted("stage", "potential", "li.lei"), 2);
  assert_int_equal(counted("stage", "intent", "zhao.qiang"), 1);
  assert_int_equal(counted("industry", "", NULL), 1);   /* no industry */
  assert_int_equal(counted("owner", "zhao.qiang", NULL), 2);
  assert_int_equal(problems(), 0);

  /* a stage change and an owner change move one count each */
  change c = {0, saved[0]};
  c.to.stage = "closed";
  assert_int_equal(kehu_store_write(st, put_change, &c), KEHU_OK);
  c = (change){1, saved[1]};
  c.to.owner = "zhao.qiang";
  assert_int_equal(kehu_store_write(st, put_change, &c), KEHU_OK);
  assert_int_equal(counted("stage", "closed", "li.lei"), 1);
  assert_int_equal(counted("stage", "potential", "li.lei"), 0);
  assert_int_equal(counted("stage", "potential", "zhao.qiang"), 2);
  assert_int_equal(counted("owner", "zhao.qiang", NULL), 3);

  /* binned: counted nowhere; restored: back */
  c = (change){2, saved[2]};
  c.to.has_deleted = 1;
  c.to.deleted = 1;
  assert_int_equal(kehu_store_write(st, put_change, &c), KEHU_OK);
  assert_int_equal(counted("stage", "intent", NULL), 0);
  assert_int_equal(problems(), 0);
  c = (change){2, saved[2]};
  c.to.deleted = 0;
  assert_int_equal(kehu_store_write(st, put_change, &c), KEHU_OK);
  assert_int_equal(counted("stage", "intent", NULL), 1);

  /* purged */
  size_t gone = 3;
  assert_int_equal(kehu_store_write(st, purge, &gone), KEHU_OK);
  assert_int_equal(counted("industry", "", NULL), 0);
  assert_int_equal(counted("owner", "zhao.qiang", NULL), 2);
  assert_int_equal(problems(), 0);

  /* counts lost behind the store's back: verify says so, reindex mends them */
  assert_int_equal(kehu_store_write(st, spoil, NULL), KEHU_OK);
  assert_true(problems() > 0);
  kehu_reindex_counts n;
  assert_int_equal(kehu_store_write(st, reindex, &n), KEHU_OK);
  assert_int_equal(problems(), 0);
  assert_int_equal(counted("stage", "closed", "li.lei"), 1);
  assert_int_equal(counted("owner", "zhao.qiang", NULL), 2);
}

/* A count set to n (0: removed) behind the store's back. */
typedef struct {
  uint8_t code;
  const char *value, *owner;
  uint64_t n;
} poke_arg;

static int poke(kehu_txn *t, void *arg)
{
  poke_arg *p = arg;
  unsigned char kb[511];
  size_t len = kehu_counts_key(kb, p->code, p->value, p->owner);
  MDB_val k = {len, kb}, v = {sizeof p->n, &p->n};
  int rc = p->n ? mdb_put(t->txn, t->st->cust_counts, &k, &v, 0)
                : mdb_del(t->txn, t->st->cust_counts, &k, NULL);
  return kehu_store_status(rc);
}

static int unlist_churn(kehu_txn *t, void *arg)
{
  (void)arg;
  return kehu_store_status(mdb_drop(t->txn, t->st->cust_churn, 0));
}

static char last_report[4096];
static unsigned long verify_report(void)
{
  kehu_txn t;
  unsigned long n = 0;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_verify(&t, last_report, sizeof last_report, &n), KEHU_OK);
  kehu_store_read_end(&t);
  return n;
}

static int churn_count(const char *owner, void *arg)
{
  (void)owner;
  (void)arg;
  return 1;
}

/* Tiers, stage history (the funnel, transitions, lost) and the churn list
 * follow a customer's writes; verify names a count that differs. */
static void test_counts_of_every_report(void **state)
{
  (void)state;
  assert_int_equal(kehu_store_write(st, add_all, NULL), KEHU_OK);
  Kehu__StageChange h1 = KEHU__STAGE_CHANGE__INIT, h2 = KEHU__STAGE_CHANGE__INIT;
  h1.from = "potential", h1.to = "closed", h1.at = 1732090000;
  h2.from = "closed", h2.to = "lost", h2.at = 1732095000;
  Kehu__StageChange *hist[] = {&h1, &h2};
  Kehu__TierChange t1 = KEHU__TIER_CHANGE__INIT;
  t1.from = "normal", t1.to = "churn_risk", t1.at = 1732096000, t1.reason = "no order";
  Kehu__TierChange *thist[] = {&t1};
  change c = {0, saved[0]};
  c.to.stage = "lost";
  c.to.stage_history = hist;
  c.to.n_stage_history = 2;
  c.to.tier = "churn_risk";
  c.to.tier_history = thist;
  c.to.n_tier_history = 1;
  assert_int_equal(kehu_store_write(st, put_change, &c), KEHU_OK);
  assert_int_equal(counted("tier", "churn_risk", "li.lei"), 1);
  assert_int_equal(counted("tier", "normal", NULL), 3);
  assert_int_equal(counted("funnel", "closed", "li.lei"), 1);   /* it reached closed */
  assert_int_equal(counted("lost", "lost", "li.lei"), 1);
  assert_int_equal(counted("stage_change", "closed\x01lost", NULL), 1);
  assert_int_equal(counted("tier_change", "normal\x01" "churn_risk", NULL), 1);
  kehu_txn t;
  uint64_t first[4];
  size_t n = 0;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  assert_int_equal(kehu_store_churn_first(&t, churn_count, NULL, 4, first, &n), KEHU_OK);
  kehu_store_read_end(&t);
  assert_int_equal(n, 1);
  assert_true(first[0] == keys[0]);
  assert_int_equal(verify_report(), 0);

  /* reassigned: every count moves to the new owner */
  c = (change){0, saved[0]};
  c.to.owner = "zhao.qiang";
  assert_int_equal(kehu_store_write(st, put_change, &c), KEHU_OK);
  assert_int_equal(counted("tier", "churn_risk", "li.lei"), 0);
  assert_int_equal(counted("tier", "churn_risk", "zhao.qiang"), 1);
  assert_int_equal(counted("funnel", "closed", "zhao.qiang"), 1);
  assert_int_equal(verify_report(), 0);

  /* a count changed, one removed, the churn list emptied: each named */
  poke_arg p = {KEHU_COUNT_TIER, "churn_risk", "zhao.qiang", 7};
  assert_int_equal(kehu_store_write(st, poke, &p), KEHU_OK);
  assert_int_equal(verify_report(), 1);
  assert_non_null(strstr(last_report, "tier=churn_risk owner zhao.qiang: 7 stored, 1 counted"));
  p = (poke_arg){KEHU_COUNT_STAGE_CHANGE, "closed\x01lost", "zhao.qiang", 0};
  assert_int_equal(kehu_store_write(st, poke, &p), KEHU_OK);
  assert_int_equal(verify_report(), 2);
  assert_non_null(strstr(last_report, "stage_change=closed->lost owner zhao.qiang: not stored"));
  assert_int_equal(kehu_store_write(st, unlist_churn, NULL), KEHU_OK);
  assert_int_equal(verify_report(), 3);
  assert_non_null(strstr(last_report, "not in the churn list"));
  kehu_reindex_counts r;
  assert_int_equal(kehu_store_write(st, reindex, &r), KEHU_OK);
  assert_int_equal(verify_report(), 0);
  assert_int_equal(counted("tier", "churn_risk", "zhao.qiang"), 1);
}

/* ---- the upgrade to format 8 ---- */

static char keyfile[96], dbdir[96];

static int add_records(kehu_txn *t, void *arg)
{
  (void)arg;
  const kehu_kind_info *ko = kehu_kind_get(KEHU_KIND_ORDER), *kt = kehu_kind_get(KEHU_KIND_TICKET);
  /* customer 0: two orders; customer 1: one dated ahead; customer 2: an answered ticket */
  const struct {
    size_t cust;
    int64_t at;
  } orders[] = {{0, 1732100000}, {0, 1732200000}, {1, 4102444800}};
  for (size_t i = 0; i < 3; i++) {
    uint64_t seq;
    int rc = kehu_store_child_new_seq(t, ko, &seq);
    if (rc != KEHU_OK)
      return rc;
    Kehu__Order o = KEHU__ORDER__INIT;
    o.customer_id = ids[orders[i].cust];
    o.has_at = 1;
    o.at = orders[i].at;
    o.amount = 100;
    if ((rc = kehu_store_child_put(t, ko, keys[orders[i].cust], seq, NULL, &o.base)) != KEHU_OK)
      return rc;
  }
  uint64_t seq;
  int rc = kehu_store_child_new_seq(t, kt, &seq);
  if (rc != KEHU_OK)
    return rc;
  Kehu__Ticket k = KEHU__TICKET__INIT;
  k.customer_id = ids[2];
  k.subject = "无法登录";
  k.has_created_at = 1;
  k.created_at = 1732100000;
  k.has_responded_at = 1;
  k.responded_at = 1732103600;
  k.has_response_due = 1;
  k.response_due = 1732186400;
  return kehu_store_child_put(t, kt, keys[2], seq, NULL, &k.base);
}

/* The closed store made to look like one of an older format: the tables
 * it lacked emptied (the first of them deleted when delete_first) and
 * store:format set back, with raw LMDB. */
static void older_store(uint8_t format, const char *const *tables, size_t n, int delete_first)
{
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
  assert_int_equal(mdb_env_open(env, dbdir, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(mdb_dbi_open(txn, tables[i], 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, i == 0 && delete_first), 0);
  }
  assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
  unsigned char f[8] = {0, 0, 0, 0, 0, 0, 0, format};
  MDB_val k = {12, "store:format"}, v = {8, f};
  assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

static void load_key(void)
{
  kehu_error err = {0};
  assert_int_equal(kehu_store_load_key(st, keyfile, &err), KEHU_OK);
}

static int ready(void)
{
  kehu_txn t;
  assert_int_equal(kehu_store_read_begin(st, &t), KEHU_OK);
  int r = kehu_store_counts_records_ready(&t);
  kehu_store_read_end(&t);
  return r;
}

/* A format-6 store (no counts but the six fields', no churn list): opened,
 * its customers' counts are made; once the data key is loaded, its orders'
 * and tickets' too, and verify passes. */
static void test_format_6_gets_every_count(void **state)
{
  (void)state;
  load_key();
  assert_true(ready());   /* a new store's step ran at once */
  assert_int_equal(kehu_store_write(st, add_all, NULL), KEHU_OK);
  assert_int_equal(kehu_store_write(st, add_records, NULL), KEHU_OK);
  assert_int_equal(counted("buyers", "buyers", NULL), 2);
  assert_int_equal(counted("buyers", "repeat", "li.lei"), 1);
  assert_int_equal(counted("tickets", "within_sla", NULL), 1);
  assert_int_equal(counted("tickets", "response_seconds", NULL), 3600);
  assert_int_equal(verify_report(), 0);
  kehu_store_close(st);

  const char *const gone[] = {"cust_churn", "cust_counts"};
  older_store(6, gone, 2, 1);

  kehu_error err;
  assert_int_equal(kehu_store_open(&st, dbdir, 64 << 20, &err), KEHU_OK);
  assert_false(ready());
  assert_int_equal(counted("stage", "potential", NULL), 3);
  assert_int_equal(counted("buyers", "buyers", NULL), 0);   /* not yet: orders are sealed */
  load_key();
  assert_true(ready());
  assert_int_equal(counted("buyers", "buyers", NULL), 2);
  assert_int_equal(counted("tickets", "responded", "zhao.qiang"), 1);
  assert_int_equal(verify_report(), 0);
}

/* ---- the upgrade to format 10: the birthday index (docs/storage.md#birthdays) ---- */

static int add_birthday_contacts(kehu_txn *t, void *arg)
{
  (void)arg;
  const kehu_kind_info *kc = kehu_kind_get(KEHU_KIND_CONTACT);
  /* two contacts with a birthday (one on 29 February), one without */
  const char *const birthdays[] = {"1985-06-01", "1992-02-29", NULL};
  for (size_t i = 0; i < 3; i++) {
    uint64_t seq;
    int rc = kehu_store_child_new_seq(t, kc, &seq);
    if (rc != KEHU_OK)
      return rc;
    Kehu__Contact c = KEHU__CONTACT__INIT;
    c.customer_id = ids[i];
    c.name = "生日测试";
    c.birthday = (char *)birthdays[i];
    if ((rc = kehu_store_child_put(t, kc, keys[i], seq, NULL, &c.base)) != KEHU_OK)
      return rc;
  }
  return KEHU_OK;
}

/* Entries of contact_bday, read with raw LMDB, the store closed. */
static size_t birthday_entries(void)
{
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  MDB_stat ms;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
  assert_int_equal(mdb_env_open(env, dbdir, MDB_RDONLY, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "contact_bday", 0, &dbi), 0);
  assert_int_equal(mdb_stat(txn, dbi, &ms), 0);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return ms.ms_entries;
}

/* A format-9 store (no birthday index): opened, then its data key loaded
 * (contacts are sealed), it has an entry for each contact with a birthday,
 * and verify passes. */
static void test_format_9_gets_the_birthday_index(void **state)
{
  (void)state;
  load_key();
  assert_int_equal(kehu_store_write(st, add_all, NULL), KEHU_OK);
  assert_int_equal(kehu_store_write(st, add_birthday_contacts, NULL), KEHU_OK);
  assert_int_equal(verify_report(), 0);
  kehu_store_close(st);
  st = NULL;
  assert_int_equal(birthday_entries(), 2);

  const char *const gone[] = {"contact_bday"};
  older_store(9, gone, 1, 0);
  assert_int_equal(birthday_entries(), 0);

  kehu_error err;
  assert_int_equal(kehu_store_open(&st, dbdir, 64 << 20, &err), KEHU_OK);
  load_key();
  assert_int_equal(verify_report(), 0);
  kehu_store_close(st);
  st = NULL;
  assert_int_equal(birthday_entries(), 2);
  assert_int_equal(kehu_store_open(&st, dbdir, 64 << 20, &err), KEHU_OK);   /* for teardown */
}

static int setup(void **state)
{
  (void)state;
  strcpy(dir, "/tmp/kehu-counts-XXXXXX");
  assert_non_null(mkdtemp(dir));
  kehu_error err;
  char db[96];
  snprintf(db, sizeof db, "%s/db", dir);
  assert_int_equal(kehu_store_open(&st, db, 64 << 20, &err), KEHU_OK);
  snprintf(dbdir, sizeof dbdir, "%s", db);
  snprintf(keyfile, sizeof keyfile, "%s/data.key", dir);
  FILE *f = fopen(keyfile, "wb");
  assert_non_null(f);
  for (int i = 0; i < 32; i++)
    fputc(i * 7 + 1, f);
  fclose(f);
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
    cmocka_unit_test_setup_teardown(test_counts_follow_writes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_counts_of_every_report, setup, teardown),
    cmocka_unit_test_setup_teardown(test_format_6_gets_every_count, setup, teardown),
    cmocka_unit_test_setup_teardown(test_format_9_gets_the_birthday_index, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
