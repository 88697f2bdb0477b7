/* kehu-admin seed DATADIR --customers N: realistic demo customers, owned by
 * the sales and manager users (or the first admin when there are none),
 * written in large transactions straight into the store. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "rules.h"
#include "seed_data.h"
#include "core.h"

#define BATCH 2000
#define MAX_OWNERS 256

typedef struct {
  char names[MAX_OWNERS][65];
  size_t n;
  char admin[65];
} owners;

static void pick_owner(const Kehu__UserRecord *u, void *arg)
{
  owners *o = arg;
  if (u->has_disabled && u->disabled)
    return;
  if ((strcmp(u->role, "sales") == 0 || strcmp(u->role, "manager") == 0) && o->n < MAX_OWNERS)
    snprintf(o->names[o->n++], sizeof o->names[0], "%s", u->username);
  else if (strcmp(u->role, "admin") == 0 && !o->admin[0])
    snprintf(o->admin, sizeof o->admin, "%s", u->username);
}

typedef struct {
  const owners *owners;
  uint64_t first, count;   /* seed numbers of this batch */
  int64_t now;
  const kehu_config *cfg;
} seed_batch;

/* Two contacts and three follow-ups per customer (docs/operations.md#demo-data), with
 * the reminders they raise (birthdays, dormancy) as a live write would. */
static int seed_children(kehu_txn *t, const seed_batch *b, const kehu_seed_customer *s,
                         Kehu__Customer *c, uint64_t key)
{
  kehu_rule_ctx rc = {t, b->now, b->cfg};
  const kehu_kind_info *ck = kehu_kind_get(KEHU_KIND_CONTACT);
  const kehu_kind_info *fk = kehu_kind_get(KEHU_KIND_FOLLOWUP);
  char contact_ids[KEHU_SEED_CONTACTS][24];
  int st = KEHU_OK;
  for (int i = 0; i < KEHU_SEED_CONTACTS && st == KEHU_OK; i++) {
    uint64_t seq;
    if ((st = kehu_store_child_new_seq(t, ck, &seq)) != KEHU_OK)
      break;
    kehu_child_id_format(ck, seq, contact_ids[i]);
    char *phone = (char *)s->contacts[i].mobile;
    Kehu__Contact p = KEHU__CONTACT__INIT;
    p.id = contact_ids[i];
    p.customer_id = c->id;
    p.name = (char *)s->contacts[i].name;
    p.title = (char *)s->contacts[i].title;
    p.n_phones = 1;
    p.phones = &phone;
    p.email = (char *)s->contacts[i].email;
    p.birthday = (char *)s->contacts[i].birthday;
    p.has_is_decision_maker = 1;
    p.is_decision_maker = s->contacts[i].decision_maker;
    p.has_created_at = p.has_updated_at = p.has_version = 1;
    p.created_at = p.updated_at = b->now;
    p.created_by = c->owner;
    p.version = 1;
    st = kehu_store_child_put(t, ck, key, seq, NULL, &p.base);
    if (st == KEHU_OK)
      st = kehu_rules_contact(&rc, c, NULL, &p);
  }
  for (int i = 0; i < KEHU_SEED_FOLLOWUPS && st == KEHU_OK; i++) {
    uint64_t seq;
    char id[24];
    if ((st = kehu_store_child_new_seq(t, fk, &seq)) != KEHU_OK)
      break;
    kehu_child_id_format(fk, seq, id);
    Kehu__FollowUp f = KEHU__FOLLOW_UP__INIT;
    f.id = id;
    f.customer_id = c->id;
    f.contact_id = contact_ids[s->followups[i].contact % KEHU_SEED_CONTACTS];
    f.has_at = 1;
    f.at = b->now - s->followups[i].days_ago * 86400;
    f.method = (char *)s->followups[i].method;
    f.summary = (char *)s->followups[i].summary;
    f.author = c->owner;
    f.has_created_at = f.has_updated_at = f.has_version = 1;
    f.created_at = f.updated_at = b->now;
    f.created_by = c->owner;
    f.version = 1;
    st = kehu_store_child_put_for(t, fk, c, key, seq, NULL, &f.base);
  }
  return st == KEHU_OK ? kehu_rules_dormant(&rc, NULL, c) : st;
}

static const char seed_next_key[] = "seed:next";

static int seed_customers(kehu_txn *t, const seed_batch *b);

static int apply_batch(kehu_txn *t, void *arg)
{
  seed_batch *b = arg;
  /* the report counts of the batch's customers, written once per key
   * (docs/storage.md#report-counts) */
  int rc = kehu_store_counts_batch_begin(t);
  if (rc == KEHU_OK)
    rc = seed_customers(t, b);
  int crc = kehu_store_counts_batch_end(t, rc == KEHU_OK);
  if (rc != KEHU_OK || crc != KEHU_OK)
    return rc != KEHU_OK ? rc : crc;
  /* The batch's search postings went to the pending table: fold them into
   * the posting lists now, many customers per page, as kehud's writer does
   * under load. */
  kehu_fold_pos pos = {0};
  size_t folded;
  rc = kehu_store_search_fold(t, SIZE_MAX, &pos, &folded);
  if (rc != KEHU_OK)
    return rc;
  /* Remember where the demo data stopped, so seeding again adds new ones. */
  unsigned char next[8];
  kehu_key_put_u64(next, b->first + b->count);
  return kehu_store_meta_put(t, seed_next_key, next, 8);
}

static int seed_customers(kehu_txn *t, const seed_batch *b)
{
  kehu_seed_customer s;
  char id[24];
  for (uint64_t i = b->first; i < b->first + b->count; i++) {
    kehu_seed_customer_make(i, &s);
    Kehu__Customer c = KEHU__CUSTOMER__INIT;
    uint64_t key;
    int rc = kehu_store_customer_new_key(t, b->now, &key);
    if (rc != KEHU_OK)
      return rc;
    kehu_customer_id_format(key, id);
    c.id = id;
    c.name = s.name;
    c.short_name = s.short_name;
    c.kind = (char *)s.kind;
    c.stage = (char *)s.stage;
    c.industry = (char *)s.industry;
    c.size = (char *)s.size;
    c.region = s.region;
    c.address = s.address;
    c.source = (char *)s.source;
    c.n_tags = (size_t)s.ntags;
    c.tags = (char **)s.tags;
    c.external_code = s.external_code;
    c.first_contact_at = s.first_contact_at;
    const owners *o = b->owners;
    c.owner = o->n ? (char *)o->names[i % o->n] : (char *)o->admin;
    c.created_by = c.owner;
    c.has_created_at = c.has_updated_at = c.has_version = c.has_schema = 1;
    c.has_last_contact_at = 1;
    c.last_contact_at = b->now - s.followups[KEHU_SEED_FOLLOWUPS - 1].days_ago * 86400;
    c.created_at = c.updated_at = b->now;
    c.version = 1;
    c.schema = KEHU_SCHEMA_VERSION;
    c.tier = "normal";   /* seeded without orders (docs/architecture.md#value-tiers) */
    if ((rc = kehu_store_customer_put(t, key, NULL, &c)) != KEHU_OK) {
      if (rc == KEHU_CONFLICT)
        continue;   /* external code seeded before */
      return rc;
    }
    if ((rc = seed_children(t, b, &s, &c, key)) != KEHU_OK)
      return rc;
  }
  return KEHU_OK;
}

static uint64_t seed_next(kehu_store *st)
{
  kehu_txn t;
  uint64_t next = 0;
  if (kehu_store_read_begin(st, &t) != KEHU_OK)
    return 0;
  MDB_val k = {sizeof seed_next_key - 1, (void *)seed_next_key}, v;
  if (mdb_get(t.txn, *kehu_store_meta_dbi(st), &k, &v) == 0 && v.mv_size == 8)
    next = kehu_key_get_u64(v.mv_data);
  kehu_store_read_end(&t);
  return next;
}

static const char seed_usage[] =
  "usage: kehu-admin seed DATADIR --customers N\n"
  "Adds N realistic demo customers (Chinese, Latin and mixed company names), each\n"
  "with 2 contacts, 3 follow-ups and the reminders those raise, owned round-robin\n"
  "by the enabled sales and manager users (else the first admin). Seeding again adds\n"
  "new customers. Safe while kehud runs; keep it away from production data.\n"
  "  DATADIR          a data directory made by kehu-admin init\n"
  "  --customers N    how many customers to add (0 to 100000000)\n";

int kehu_admin_seed(int argc, char **argv)
{
  const char *dir = NULL, *count = NULL;
  static const char *const names[] = {"DATADIR", NULL};
  const kehu_admin_flag flags[] = {{"--customers", &count, NULL, NULL, 0}};
  kehu_admin_spec spec = {"seed", seed_usage, names, &dir, flags, sizeof flags / sizeof *flags};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  if (!count)
    return kehu_admin_usage_error(seed_usage, "seed: --customers is required");
  char *end;
  errno = 0;
  long long n = strtoll(count, &end, 10);
  if (errno || end == count || *end || n < 0 || n > 100000000)
    return kehu_admin_fail(KEHU_INVALID, "--customers: '%s' is not a number from 0 to 10^8", count);
  kehu_store *st;
  rc = kehu_admin_open(dir, &st);
  if (rc != 0)
    return rc;
  owners o = {0};
  kehu_txn t;
  if (kehu_store_read_begin(st, &t) == KEHU_OK) {
    kehu_store_user_each(&t, pick_owner, &o);
    kehu_store_read_end(&t);
  }
  if (!o.n && !o.admin[0]) {
    kehu_store_close(st);
    return kehu_admin_fail(KEHU_NOT_FOUND, "no user to own the demo customers: add one first");
  }
  uint64_t first = seed_next(st);
  int64_t now = (int64_t)time(NULL);
  kehu_config cfg;
  kehu_error err = {0};
  if (kehu_config_load(&cfg, dir, &err) != KEHU_OK) {
    kehu_store_close(st);
    return kehu_admin_fail(err.status, "%s", err.message);
  }
  for (uint64_t done = 0; done < (uint64_t)n && rc == KEHU_OK;) {
    seed_batch b = {&o, first + done, (uint64_t)n - done < BATCH ? (uint64_t)n - done : BATCH, now,
                    &cfg};
    rc = kehu_store_write(st, apply_batch, &b);
    done += b.count;
  }
  kehu_store_close(st);
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "seeding stopped: %s", kehu_status_name(rc));
  printf("seeded %lld customers into %s\n", n, dir);
  return 0;
}
