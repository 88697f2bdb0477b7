/* kehu-admin verify's check of the report counts and the churn list
 * (docs/storage.md#report-counts): every count recounted from the records,
 * with the same derivation the writes use, and compared both ways with
 * the stored table; a difference names the count. */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

static int timed(uint8_t code)
{
  return code == KEHU_COUNT_DORMANT_DAY || code == KEHU_COUNT_FIRST_ORDER ||
         code == KEHU_COUNT_SECOND_ORDER || code == KEHU_COUNT_TICKET_DUE;
}

static int of_records(uint8_t code)
{
  return code == KEHU_COUNT_FIRST_ORDER || code == KEHU_COUNT_SECOND_ORDER ||
         code == KEHU_COUNT_BUYERS || code == KEHU_COUNT_TICKETS || code == KEHU_COUNT_TICKET_DUE;
}

/* "tier=high owner li.lei" for a count's key. */
static void describe(const unsigned char *k, size_t n, char *out, size_t len)
{
  const unsigned char *nul = n > 1 ? memchr(k + 1, 0, n - 1) : NULL;
  if (!nul) {
    snprintf(out, len, "(malformed key)");
    return;
  }
  char value[512];
  size_t vl = (size_t)(nul - (k + 1)), ol = n - 2 - vl;
  memcpy(value, k + 1, vl);
  value[vl] = '\0';
  if (timed(k[0]) && vl == 16) {
    snprintf(value, sizeof value, "%lld", (long long)kehu_store_counts_time_parse(value));
  } else {
    char *sep = memchr(value, KEHU_COUNT_SEP, vl);
    if (sep) {
      memmove(sep + 2, sep + 1, strlen(sep + 1) + 1);
      sep[0] = '-';
      sep[1] = '>';
    }
  }
  snprintf(out, len, "%s=%s owner %.*s", kehu_counts_code_name(k[0]), value, (int)ol,
           (const char *)nul + 1);
}

static int recount(kehu_txn *t, kehu_tally *tl, int records, kehu_findings *f)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->customers, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  int status = KEHU_OK;
  char id[24];
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8)
      continue;
    uint64_t key = kehu_key_get_u64(k.mv_data);
    Kehu__Customer *c = kehu__customer__unpack(NULL, v.mv_size, v.mv_data);
    if (!c)
      continue;   /* the customer check reports it */
    status = kehu_counts_customer(tl, c, +1);
    if (status == KEHU_OK && records)
      status = kehu_counts_records(t, tl, key, c, +1);
    int churn = !(c->has_deleted && c->deleted) && c->tier && strcmp(c->tier, "churn_risk") == 0;
    if (status == KEHU_OK && churn && !kehu_store_churn_has(t, c->owner, key)) {
      kehu_customer_id_format(key, id);
      kehu_finding(f, "customer %s: churn_risk but not in the churn list\n", id);
    }
    kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

typedef struct {
  kehu_findings *f;
  int records;
} missing_walk;

static int missing(const unsigned char *k, size_t n, int64_t expected, void *arg)
{
  missing_walk *w = arg;
  if (expected != 0 && (w->records || !of_records(k[0]))) {
    char what[1200];
    describe(k, n, what, sizeof what);
    kehu_finding(w->f, "report count %s: not stored, %lld counted from the records\n", what,
                 (long long)expected);
  }
  return KEHU_OK;
}

static int check_churn(kehu_txn *t, kehu_findings *f)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->cust_churn, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  char id[24];
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    const unsigned char *p = k.mv_data;
    if (k.mv_size < 9 || p[k.mv_size - 9] != 0) {
      kehu_finding(f, "churn list: malformed entry\n");
      continue;
    }
    uint64_t cust = kehu_key_get_u64(p + k.mv_size - 8);
    kehu_customer_id_format(cust, id);
    Kehu__Customer *c;
    if (kehu_store_customer_get(t, cust, &c) != KEHU_OK) {
      kehu_finding(f, "churn list -> %s: no such customer\n", id);
      continue;
    }
    size_t ol = k.mv_size - 9;
    const char *owner = c->owner ? c->owner : "";
    if ((c->has_deleted && c->deleted) || !c->tier || strcmp(c->tier, "churn_risk") != 0)
      kehu_finding(f, "churn list -> %s: the customer is not a live churn_risk one\n", id);
    else if (strlen(owner) != ol || memcmp(owner, p, ol) != 0)
      kehu_finding(f, "churn list -> %s: under owner %.*s, the customer's is %s\n", id, (int)ol,
                   (const char *)p, owner);
    kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_counts_check(kehu_txn *t, kehu_findings *f)
{
  /* the orders' and tickets' counts once they are whole (an upgraded
   * store fills them when the data key is loaded) and readable */
  int records = kehu_store_counts_records_ready(t) && t->st->has_key;
  kehu_tally *tl = kehu_tally_new(0);
  if (!tl)
    return KEHU_EXHAUSTED;
  int status = recount(t, tl, records, f);
  MDB_cursor *cur;
  int rc = status == KEHU_OK ? mdb_cursor_open(t->txn, t->st->cust_counts, &cur) : 0;
  if (status == KEHU_OK && rc != 0)
    status = kehu_store_status(rc);
  if (status == KEHU_OK) {
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      const unsigned char *p = k.mv_data;
      uint64_t stored = 0;
      if (v.mv_size == sizeof stored)
        memcpy(&stored, v.mv_data, sizeof stored);
      int64_t expected = kehu_tally_get(tl, p, k.mv_size);
      if (!records && of_records(p[0]))
        continue;
      if ((int64_t)stored != expected) {
        char what[1200];
        describe(p, k.mv_size, what, sizeof what);
        kehu_finding(f, "report count %s: %llu stored, %lld counted from the records\n", what,
                     (unsigned long long)stored, (long long)expected);
      }
      /* seen: what is left in the tally was not stored */
      if (expected != 0 && !kehu_tally_add(tl, p, k.mv_size, -expected))
        status = KEHU_EXHAUSTED;
    }
    mdb_cursor_close(cur);
    if (status == KEHU_OK && rc != MDB_NOTFOUND)
      status = kehu_store_status(rc);
  }
  missing_walk w = {f, records};
  if (status == KEHU_OK)
    status = kehu_tally_each(tl, missing, &w);
  kehu_tally_free(tl);
  return status == KEHU_OK ? check_churn(t, f) : status;
}
