/* The birthday index (docs/storage.md#birthdays): one entry per contact
 * with a birthday whose customer is live, keyed by the birthday's month
 * and day (2 bytes each, big-endian), the customer and the contact (8
 * bytes each), with no value. A derived table, written with the contact
 * (and with its customer when binned or restored) in the same transaction.
 *
 * The sweep (core/rules.c) walks the entries in calendar order from where
 * it last stopped, a meta marker holding the year and the entry's key, up
 * to a date it is given, and raises the birthday reminder of each. So a
 * contact stores one 20-byte entry instead of a reminder (and its four
 * index entries) armed up to a year ahead. */
#include <string.h>

#include "store_internal.h"
#include "timefmt.h"

#define MARKER "bday:swept"
#define KEY_LEN 20

static int month_day(const Kehu__Contact *p, unsigned *md)
{
  int y, m, d;
  if (!p || !p->birthday || kehu_date_parse(p->birthday, &y, &m, &d) != 0)
    return 0;
  *md = (unsigned)m << 16 | (unsigned)d;
  return 1;
}

static void put_md(unsigned char out[4], unsigned md)
{
  out[0] = (unsigned char)(md >> 24);
  out[1] = (unsigned char)(md >> 16);
  out[2] = (unsigned char)(md >> 8);
  out[3] = (unsigned char)md;
}

static unsigned get_md(const unsigned char *p)
{
  return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

static void entry_key(unsigned char out[KEY_LEN], unsigned md, uint64_t cust, uint64_t seq)
{
  put_md(out, md);
  kehu_key_put_u64(out + 4, cust);
  kehu_key_put_u64(out + 12, seq);
}

int kehu_store_bday_index(kehu_txn *t, uint64_t cust, uint64_t seq, const Kehu__Contact *p,
                          int add)
{
  unsigned md;
  if (!month_day(p, &md))
    return KEHU_OK;
  unsigned char k[KEY_LEN];
  entry_key(k, md, cust, seq);
  MDB_val key = {KEY_LEN, k}, val = {0, NULL};
  int rc = add ? mdb_put(t->txn, t->st->contact_bday, &key, &val, 0)
               : mdb_del(t->txn, t->st->contact_bday, &key, NULL);
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_bday_has(kehu_txn *t, uint64_t cust, uint64_t seq, const Kehu__Contact *p)
{
  unsigned md;
  if (!month_day(p, &md))
    return 1;
  unsigned char k[KEY_LEN];
  entry_key(k, md, cust, seq);
  MDB_val key = {KEY_LEN, k}, val;
  return mdb_get(t->txn, t->st->contact_bday, &key, &val) == 0;
}

/* The marker: 2 bytes of year, then the last entry's key (or the end of
 * a day: its month and day, then 0xff). */
static int marker(kehu_txn *t, int *year, unsigned char after[KEY_LEN])
{
  MDB_val k = {sizeof MARKER - 1, (void *)MARKER}, v;
  if (mdb_get(t->txn, t->st->meta, &k, &v) != 0 || v.mv_size != 2 + KEY_LEN)
    return 0;
  const unsigned char *p = v.mv_data;
  *year = p[0] << 8 | p[1];
  memcpy(after, p + 2, KEY_LEN);
  return 1;
}

static int before(int y1, const unsigned char *k1, int y2, const unsigned char *k2)
{
  return y1 != y2 ? y1 < y2 : memcmp(k1, k2, KEY_LEN) < 0;
}

int kehu_store_bday_swept(kehu_txn *t, int *year, unsigned *md)
{
  unsigned char after[KEY_LEN];
  if (!marker(t, year, after))
    return 0;
  *md = get_md(after);
  return 1;
}

int kehu_store_bday_sweep(kehu_txn *t, int from_year, unsigned from_md, int year, unsigned upto_md,
                          size_t max,
                          int (*each)(kehu_txn *t, uint64_t cust, uint64_t seq, int year,
                                      void *arg),
                          void *arg, int *more)
{
  *more = 0;
  /* the walk starts after the marker, but never before from */
  unsigned char pos[KEY_LEN], end[KEY_LEN];
  int y;
  entry_key(pos, from_md, 0, 0);
  int py = from_year, exclusive = 0;
  unsigned char m[KEY_LEN];
  if (marker(t, &y, m) && !before(y, m, from_year, pos)) {
    memcpy(pos, m, KEY_LEN);
    py = y;
    exclusive = 1;
  }
  memset(end, 0xff, KEY_LEN);
  put_md(end, upto_md);
  if (!before(py, pos, year, end))
    return KEHU_OK;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->contact_bday, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k = {KEY_LEN, pos}, v;
  size_t n = 0;
  int status = KEHU_OK, stopped = 0;
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  if (rc == 0 && exclusive && k.mv_size == KEY_LEN && memcmp(k.mv_data, pos, KEY_LEN) == 0)
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  while (status == KEHU_OK) {
    if (rc == MDB_NOTFOUND && py < year) {
      py++;   /* past 31 December: on into the next year's */
      rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
      memset(pos, 0, KEY_LEN);
      continue;
    }
    if (rc != 0)
      break;
    if (k.mv_size == KEY_LEN) {
      if (!before(py, k.mv_data, year, end))
        break;
      if (n == max) {
        *more = stopped = 1;
        break;
      }
      memcpy(pos, k.mv_data, KEY_LEN);   /* each() may write: the page may move */
      status = each(t, kehu_key_get_u64(pos + 4), kehu_key_get_u64(pos + 12), py, arg);
      n++;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  if (rc != 0 && rc != MDB_NOTFOUND)
    return kehu_store_status(rc);
  unsigned char mk[2 + KEY_LEN] = {(unsigned char)((stopped ? py : year) >> 8),
                                   (unsigned char)(stopped ? py : year)};
  memcpy(mk + 2, stopped ? pos : end, KEY_LEN);
  return kehu_store_meta_put(t, MARKER, mk, sizeof mk);
}

/* ---- the format 10 upgrade ---- */

/* Every contact of a live customer. The birthday reminders a store of
 * format 9 armed for later stay and fire as they did; the sweep's raise
 * of the same year finds them by their source and adds none. */
int kehu_store_bday_fill(kehu_txn *t)
{
  const kehu_kind_info *k = kehu_kind_get(KEHU_KIND_CONTACT);
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->children[k->kind], &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val key, v;
  int status = KEHU_OK, live = 0;
  uint64_t last = 0;
  for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
    if (key.mv_size != 16)
      continue;
    const unsigned char *kb = key.mv_data;
    uint64_t cust = kehu_key_get_u64(kb), seq = kehu_key_get_u64(kb + 8);
    if (cust != last || !last) {   /* contacts are in customer order */
      Kehu__Customer *c;
      live = kehu_store_customer_get(t, cust, &c) == KEHU_OK;
      if (live) {
        live = !(c->has_deleted && c->deleted);
        kehu__customer__free_unpacked(c, NULL);
      }
      last = cust;
    }
    if (!live)
      continue;
    ProtobufCMessage *m = kehu_decode_record(t->st, &key, &v, k->desc, k->sealed);
    if (!m)
      continue;   /* verify names a record that does not decode */
    status = kehu_store_bday_index(t, cust, seq, (const Kehu__Contact *)m, 1);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

/* Each entry names a contact with that birthday of a live customer
 * (verify also looks up each such contact's entry: kehu_store_bday_has). */
int kehu_store_bday_check(kehu_txn *t, kehu_findings *f)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->contact_bday, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  const kehu_kind_info *kind = kehu_kind_get(KEHU_KIND_CONTACT);
  MDB_val k, v;
  char id[24];
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != KEY_LEN) {
      kehu_finding(f, "birthday index: malformed entry\n");
      continue;
    }
    const unsigned char *kb = k.mv_data;
    uint64_t cust = kehu_key_get_u64(kb + 4), seq = kehu_key_get_u64(kb + 12), parent;
    kehu_child_id_format(kind, seq, id);
    ProtobufCMessage *m;
    Kehu__Customer *c;
    unsigned md;
    if (kehu_store_child_get(t, kind, seq, &parent, &m) != KEHU_OK) {
      kehu_finding(f, "birthday index -> %s: no such contact\n", id);
      continue;
    }
    if (parent != cust || !month_day((const Kehu__Contact *)m, &md) || md != get_md(kb))
      kehu_finding(f, "birthday index -> %s: not the contact's customer or birthday\n", id);
    else if (kehu_store_customer_get(t, cust, &c) != KEHU_OK)
      kehu_finding(f, "birthday index -> %s: its customer does not exist\n", id);
    else {
      if (c->has_deleted && c->deleted)
        kehu_finding(f, "birthday index -> %s: its customer is in the recycle bin\n", id);
      kehu__customer__free_unpacked(c, NULL);
    }
    protobuf_c_message_free_unpacked(m, NULL);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}
