/* The report counts of orders and tickets (docs/storage.md#report-counts),
 * for the KPIs: per owner, the customers with an order and with two (and
 * the times they first had one and two, so an order dated ahead counts
 * from its day on), and of tickets the answered ones, their response
 * seconds, those answered within their due time, and the unanswered ones
 * with a due time (and each due time, so a report knows which are past).
 * A customer's figures are derived from all its orders (or tickets) as
 * they stand: a write of one moves the counts by the difference between
 * the figures before and after it, in its transaction. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"


static int live(const Kehu__Customer *c)
{
  return c && !(c->has_deleted && c->deleted);
}

/* each(message) for every record of kind k under customer cust. */
static int each_record(kehu_txn *t, const kehu_kind_info *k, uint64_t cust,
                       int (*each)(const ProtobufCMessage *m, void *arg), void *arg)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->children[k->kind], &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char start[16];
  kehu_key_put_u64(start, cust);
  kehu_key_put_u64(start + 8, 0);
  MDB_val key = {16, start}, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
    if (key.mv_size != 16 || kehu_key_get_u64(key.mv_data) != cust)
      break;
    ProtobufCMessage *m = kehu_decode_record(t->st, &key, &v, k->desc, k->sealed);
    if (!m) {
      status = KEHU_INTERNAL;
      break;
    }
    status = each(m, arg);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}

/* ---- orders ---- */

typedef struct {
  uint64_t n;
  int64_t first, second;   /* the two earliest order times */
} order_times;

static int order_seen(const ProtobufCMessage *m, void *arg)
{
  const Kehu__Order *o = (const Kehu__Order *)m;
  order_times *s = arg;
  int64_t at = o->has_at && o->at ? o->at : o->created_at;   /* as the reports date it */
  if (at < 0)
    return KEHU_OK;   /* before every report's period */
  if (s->n == 0 || at < s->first) {
    s->second = s->first;
    s->first = at;
  } else if (s->n == 1 || at < s->second) {
    s->second = at;
  }
  s->n++;
  return KEHU_OK;
}

static int orders(kehu_txn *t, kehu_tally *tl, uint64_t cust, const char *owner, int64_t d)
{
  order_times s = {0, 0, 0};
  int rc = each_record(t, kehu_kind_get(KEHU_KIND_ORDER), cust, order_seen, &s);
  char when[17];
  if (rc == KEHU_OK && s.n >= 1) {
    kehu_store_counts_time(when, s.first);
    rc = kehu_tally_emit(tl, KEHU_COUNT_FIRST_ORDER, when, owner, d);
    if (rc == KEHU_OK)
      rc = kehu_tally_emit(tl, KEHU_COUNT_BUYERS, "buyers", owner, d);
  }
  if (rc == KEHU_OK && s.n >= 2) {
    kehu_store_counts_time(when, s.second);
    rc = kehu_tally_emit(tl, KEHU_COUNT_SECOND_ORDER, when, owner, d);
    if (rc == KEHU_OK)
      rc = kehu_tally_emit(tl, KEHU_COUNT_BUYERS, "repeat", owner, d);
  }
  return rc;
}

/* ---- tickets ---- */

typedef struct {
  kehu_tally *tl;
  const char *owner;
  int64_t d;
} ticket_walk;

static int ticket_seen(const ProtobufCMessage *m, void *arg)
{
  const Kehu__Ticket *k = (const Kehu__Ticket *)m;
  ticket_walk *w = arg;
  if (k->created_at < 0)
    return KEHU_OK;
  int rc = KEHU_OK;
  if (k->has_responded_at) {
    rc = kehu_tally_emit(w->tl, KEHU_COUNT_TICKETS, "responded", w->owner, w->d);
    if (rc == KEHU_OK)
      rc = kehu_tally_emit(w->tl, KEHU_COUNT_TICKETS, "response_seconds", w->owner,
                           w->d * (k->responded_at - k->created_at));
    if (rc == KEHU_OK && (!k->has_response_due || k->responded_at <= k->response_due))
      rc = kehu_tally_emit(w->tl, KEHU_COUNT_TICKETS, "within_sla", w->owner, w->d);
  } else if (k->has_response_due) {
    char when[17];
    kehu_store_counts_time(when, k->response_due);
    rc = kehu_tally_emit(w->tl, KEHU_COUNT_TICKETS, "due", w->owner, w->d);
    if (rc == KEHU_OK)
      rc = kehu_tally_emit(w->tl, KEHU_COUNT_TICKET_DUE, when, w->owner, w->d);
  }
  return rc;
}

static int tickets(kehu_txn *t, kehu_tally *tl, uint64_t cust, const char *owner, int64_t d)
{
  ticket_walk w = {tl, owner, d};
  return each_record(t, kehu_kind_get(KEHU_KIND_TICKET), cust, ticket_seen, &w);
}

static int kind_counts(kehu_txn *t, kehu_tally *tl, int kind, uint64_t cust,
                       const Kehu__Customer *c, int64_t d)
{
  if (!live(c))
    return KEHU_OK;
  const char *owner = c->owner ? c->owner : "";
  return kind == KEHU_KIND_ORDER ? orders(t, tl, cust, owner, d) : tickets(t, tl, cust, owner, d);
}

int kehu_counts_records(kehu_txn *t, kehu_tally *tl, uint64_t cust, const Kehu__Customer *c,
                        int64_t d)
{
  int rc = kind_counts(t, tl, KEHU_KIND_ORDER, cust, c, d);
  return rc == KEHU_OK ? kind_counts(t, tl, KEHU_KIND_TICKET, cust, c, d) : rc;
}

/* ---- writes ---- */

static int records_delta(kehu_txn *t, uint64_t cust, const Kehu__Customer *old,
                         const Kehu__Customer *c)
{
  kehu_tally *tl = kehu_tally_new(0);
  if (!tl)
    return KEHU_EXHAUSTED;
  int rc = kehu_counts_records(t, tl, cust, old, -1);
  if (rc == KEHU_OK)
    rc = kehu_counts_records(t, tl, cust, c, +1);
  if (rc == KEHU_OK)
    rc = kehu_store_counts_apply(t, tl);
  kehu_tally_free(tl);
  return rc;
}

int kehu_store_counts_records_add(kehu_txn *t, uint64_t cust, const Kehu__Customer *c)
{
  return records_delta(t, cust, NULL, c);
}

int kehu_store_counts_records_moved(kehu_txn *t, uint64_t cust, const Kehu__Customer *old,
                                    const Kehu__Customer *c)
{
  int was = live(old), is = live(c);
  if (was == is && (!is || strcmp(old->owner ? old->owner : "", c->owner ? c->owner : "") == 0))
    return KEHU_OK;
  return records_delta(t, cust, old, c);
}

int kehu_store_counts_kind_before(kehu_txn *t, int kind, uint64_t cust, kehu_tally **before)
{
  *before = NULL;
  if (kind != KEHU_KIND_ORDER && kind != KEHU_KIND_TICKET)
    return KEHU_OK;
  Kehu__Customer *c = NULL;
  int rc = kehu_store_customer_get(t, cust, &c);
  if (rc == KEHU_NOT_FOUND)
    return KEHU_OK;
  if (rc == KEHU_OK && live(c)) {
    if (!(*before = kehu_tally_new(0)))
      rc = KEHU_EXHAUSTED;
    else
      rc = kind_counts(t, *before, kind, cust, c, -1);
  }
  if (c)
    kehu__customer__free_unpacked(c, NULL);
  return rc;
}

int kehu_store_counts_kind_after(kehu_txn *t, int kind, uint64_t cust, kehu_tally *before)
{
  if (!before)
    return KEHU_OK;
  Kehu__Customer *c = NULL;
  int rc = kehu_store_customer_get(t, cust, &c);
  if (rc == KEHU_OK)
    rc = kind_counts(t, before, kind, cust, c, +1);
  if (rc == KEHU_OK)
    rc = kehu_store_counts_apply(t, before);
  if (c)
    kehu__customer__free_unpacked(c, NULL);
  kehu_tally_free(before);
  return rc;
}

/* ---- the upgrade's second half ---- */

int kehu_store_counts_records_ready(kehu_txn *t)
{
  return !kehu_store_after_key_marked(t, KEHU_AFTER_KEY_COUNTS);
}

int kehu_store_counts_records_fill(kehu_txn *t)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->customers, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8)
      continue;
    uint64_t key = kehu_key_get_u64(k.mv_data);
    Kehu__Customer *c = kehu__customer__unpack(NULL, v.mv_size, v.mv_data);
    if (c) {
      status = kehu_store_counts_records_add(t, key, c);
      kehu__customer__free_unpacked(c, NULL);
    }
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}
