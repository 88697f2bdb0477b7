/* Records under a customer: one table per kind keyed customer | seq, so a
 * customer's contacts (or follow-ups...) are one cursor range; child_parent
 * finds the customer of an id; kind-specific indexes are kept here, in the
 * record's own transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reflect.h"
#include "store_internal.h"

static void child_key(unsigned char out[16], uint64_t cust, uint64_t seq)
{
  kehu_key_put_u64(out, cust);
  kehu_key_put_u64(out + 8, seq);
}

static void parent_key(unsigned char out[9], const kehu_kind_info *k, uint64_t seq)
{
  out[0] = (unsigned char)k->kind;
  kehu_key_put_u64(out + 1, seq);
}

int kehu_store_child_new_seq(kehu_txn *t, const kehu_kind_info *k, uint64_t *seq)
{
  return kehu_store_next_seq(t, k->name, seq);
}

int kehu_store_child_get(kehu_txn *t, const kehu_kind_info *k, uint64_t seq, uint64_t *cust,
                         ProtobufCMessage **out)
{
  *out = NULL;
  unsigned char pk[9];
  parent_key(pk, k, seq);
  MDB_val key = {9, pk}, v;
  int rc = mdb_get(t->txn, t->st->child_parent, &key, &v);
  if (rc != 0 || v.mv_size != 8)
    return rc ? kehu_store_status(rc) : KEHU_INTERNAL;
  *cust = kehu_key_get_u64(v.mv_data);
  unsigned char ck[16];
  child_key(ck, *cust, seq);
  return kehu_get_record(t, t->st->children[k->kind], ck, 16, k->desc, k->sealed, out);
}

uint64_t kehu_store_contract_by_number(kehu_txn *t, const char *number)
{
  MDB_val k = {strlen(number), (void *)number}, v;
  if (!number || k.mv_size == 0 || k.mv_size > 511 ||
      mdb_get(t->txn, t->st->contract_number, &k, &v) != 0 || v.mv_size != 16)
    return 0;
  return kehu_key_get_u64((unsigned char *)v.mv_data + 8);
}

/* A follow-up's entry in fu_time (docs/storage.md#follow-ups-by-time):
 * at | customer | follow-up, each 8 bytes big-endian; the value is its
 * customer's owner, its author and its method, each ended by a 0 byte.
 * Only follow-ups of live customers have one: binning a customer removes
 * its follow-ups' entries, restoring it puts them back, and a new owner
 * rewrites them (kehu_store_followups_customer_moved). */
static void followup_time_key(unsigned char out[24], const Kehu__FollowUp *f, uint64_t cust,
                              uint64_t seq)
{
  kehu_key_put_u64(out, (uint64_t)(f->at < 0 ? 0 : f->at));
  kehu_key_put_u64(out + 8, cust);
  kehu_key_put_u64(out + 16, seq);
}

static int customer_live(const Kehu__Customer *c)
{
  return c && !(c->has_deleted && c->deleted);
}

/* The entry's value into out (size n): its length, 0 when too long. */
static size_t followup_time_value(char *out, size_t n, const Kehu__Customer *c,
                                  const Kehu__FollowUp *f)
{
  const char *parts[3] = {c->owner ? c->owner : "", f->author ? f->author : "",
                          f->method ? f->method : ""};
  size_t used = 0;
  for (int i = 0; i < 3; i++) {
    size_t l = strlen(parts[i]);
    if (used + l + 1 > n)
      return 0;
    memcpy(out + used, parts[i], l);
    out[used + l] = '\0';
    used += l + 1;
  }
  return used;
}

/* Adds (c live) or removes f's entry; c NULL: read the customer. */
static int index_followup_time(kehu_txn *t, const Kehu__FollowUp *f, uint64_t cust,
                               uint64_t seq, int add, const Kehu__Customer *c)
{
  unsigned char kb[24];
  followup_time_key(kb, f, cust, seq);
  MDB_val key = {24, kb};
  Kehu__Customer *read = NULL;
  if (add && !c && kehu_store_customer_get(t, cust, &read) == KEHU_OK)
    c = read;
  int rc;
  char value[400];
  size_t n = add && customer_live(c) ? followup_time_value(value, sizeof value, c, f) : 0;
  if (n) {
    MDB_val v = {n, value};
    rc = mdb_put(t->txn, t->st->fu_time, &key, &v, 0);
  } else {
    rc = mdb_del(t->txn, t->st->fu_time, &key, NULL);
    rc = rc == MDB_NOTFOUND ? 0 : rc;
  }
  if (read)
    kehu__customer__free_unpacked(read, NULL);
  return kehu_store_status(rc);
}

/* A contact's birthday entry (bday.c): only for a live customer; c NULL:
 * read the customer. */
static int index_contact_bday(kehu_txn *t, const Kehu__Contact *p, uint64_t cust, uint64_t seq,
                              int add, const Kehu__Customer *c)
{
  if (!p->birthday)
    return KEHU_OK;
  Kehu__Customer *read = NULL;
  if (add && !c && kehu_store_customer_get(t, cust, &read) == KEHU_OK)
    c = read;
  int rc = kehu_store_bday_index(t, cust, seq, p, add && customer_live(c));
  if (read)
    kehu__customer__free_unpacked(read, NULL);
  return rc;
}

/* each(t, record, cust, seq, add, c) for every record of kind k under
 * cust: the index entries of a customer's records follow the customer. */
static int each_record_of(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, int add,
                          const Kehu__Customer *c,
                          int (*each)(kehu_txn *t, const ProtobufCMessage *m, uint64_t cust,
                                      uint64_t seq, int add, const Kehu__Customer *c))
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->children[k->kind], &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char start[16];
  child_key(start, cust, 0);
  MDB_val key = {16, start}, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
       rc == 0 && status == KEHU_OK && key.mv_size == 16 && kehu_key_get_u64(key.mv_data) == cust;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
    ProtobufCMessage *m = kehu_decode_record(t->st, &key, &v, k->desc, k->sealed);
    if (!m)
      continue;   /* verify names a record that does not decode */
    uint64_t seq = kehu_key_get_u64((const unsigned char *)key.mv_data + 8);
    status = each(t, m, cust, seq, add, c);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

static int contact_bday_of(kehu_txn *t, const ProtobufCMessage *m, uint64_t cust, uint64_t seq,
                           int add, const Kehu__Customer *c)
{
  return index_contact_bday(t, (const Kehu__Contact *)m, cust, seq, add, c);
}

static int followup_time_of(kehu_txn *t, const ProtobufCMessage *m, uint64_t cust, uint64_t seq,
                            int add, const Kehu__Customer *c)
{
  return index_followup_time(t, (const Kehu__FollowUp *)m, cust, seq, add, c);
}

int kehu_store_followups_customer_moved(kehu_txn *t, uint64_t cust, const Kehu__Customer *old,
                                        const Kehu__Customer *c)
{
  int was = customer_live(old), is = customer_live(c);
  if (!was && !is)
    return KEHU_OK;
  if (was != is) {
    /* binned or restored: its contacts' birthday entries go or come */
    int brc = each_record_of(t, kehu_kind_get(KEHU_KIND_CONTACT), cust, is, c, contact_bday_of);
    if (brc != KEHU_OK)
      return brc;
  }
  if (was && is && strcmp(old->owner ? old->owner : "", c->owner ? c->owner : "") == 0)
    return KEHU_OK;
  return each_record_of(t, kehu_kind_get(KEHU_KIND_FOLLOWUP), cust, is, c, followup_time_of);
}

int kehu_store_followups_between(kehu_txn *t, int64_t since, int64_t until,
                                 int (*each)(uint64_t cust, const char *owner, const char *author,
                                             const char *method, void *arg),
                                 void *arg)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->fu_time, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char start[8];
  kehu_key_put_u64(start, (uint64_t)(since < 0 ? 0 : since));
  MDB_val k = {8, start}, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 24)
      continue;
    if ((int64_t)kehu_key_get_u64(k.mv_data) >= until)
      break;
    /* three 0-ended texts: copied out, the page is the map's */
    char value[400];
    if (v.mv_size == 0 || v.mv_size > sizeof value)
      continue;
    memcpy(value, v.mv_data, v.mv_size);
    if (value[v.mv_size - 1] != '\0')
      continue;
    const char *owner = value, *author = memchr(value, 0, v.mv_size);
    const char *method = author ? memchr(author + 1, 0, v.mv_size - (size_t)(author + 1 - value)) : NULL;
    if (!author || !method || method == value + v.mv_size - 1)
      continue;
    status = each(kehu_key_get_u64((const unsigned char *)k.mv_data + 8), owner, author + 1,
                  method + 1, arg);
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_followup_time_check(kehu_txn *t, kehu_findings *f)
{
  const kehu_kind_info *k = kehu_kind_get(KEHU_KIND_FOLLOWUP);
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->fu_time, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val key, v;
  size_t entries = 0;
  for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
    entries++;
    if (key.mv_size != 24) {
      kehu_finding(f, "follow-up time index: malformed entry\n");
      continue;
    }
    const unsigned char *kb = key.mv_data;
    uint64_t cust = kehu_key_get_u64(kb + 8), seq = kehu_key_get_u64(kb + 16);
    unsigned char ck[16];
    child_key(ck, cust, seq);
    ProtobufCMessage *m = NULL;
    Kehu__Customer *c = NULL;
    if (kehu_get_record(t, t->st->children[k->kind], ck, 16, k->desc, k->sealed, &m) != KEHU_OK ||
        kehu_store_customer_get(t, cust, &c) != KEHU_OK || !customer_live(c)) {
      kehu_finding(f, "follow-up time index -> FU%llu: no such follow-up of a live customer\n",
                   (unsigned long long)seq);
    } else {
      const Kehu__FollowUp *fu = (const Kehu__FollowUp *)m;
      unsigned char want[24];
      char value[400];
      followup_time_key(want, fu, cust, seq);
      size_t n = followup_time_value(value, sizeof value, c, fu);
      if (memcmp(want, kb, 24) != 0 || v.mv_size != n || memcmp(v.mv_data, value, n) != 0)
        kehu_finding(f, "follow-up time index -> FU%llu: not the follow-up's time, owner, "
                        "author or method\n", (unsigned long long)seq);
    }
    if (m)
      protobuf_c_message_free_unpacked(m, NULL);
    if (c)
      kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND)
    return kehu_store_status(rc);
  /* as many entries as follow-ups of live customers */
  size_t want = 0;
  uint64_t last = 0;
  int last_live = 0;
  if ((rc = mdb_cursor_open(t->txn, t->st->children[k->kind], &cur)) != 0)
    return kehu_store_status(rc);
  for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
    if (key.mv_size != 16)
      continue;
    uint64_t cust = kehu_key_get_u64(key.mv_data);
    if (cust != last || !want) {
      Kehu__Customer *c = NULL;
      last_live = kehu_store_customer_get(t, cust, &c) == KEHU_OK && customer_live(c);
      if (c)
        kehu__customer__free_unpacked(c, NULL);
      last = cust;
    }
    want += last_live;
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND)
    return kehu_store_status(rc);
  if (entries != want)
    kehu_finding(f, "follow-up time index: %zu entries for %zu follow-ups of live customers\n",
                 entries, want);
  return KEHU_OK;
}

/* Index entries of one record: phones of contacts (as keyed hashes), the
 * unique contract number, a follow-up's time. add: 1 to add, 0 to remove. */
static int index_child(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t seq,
                       const ProtobufCMessage *m, int add, const Kehu__Customer *customer)
{
  kehu_store *st = t->st;
  if (k->kind == KEHU_KIND_FOLLOWUP)
    return index_followup_time(t, (const Kehu__FollowUp *)m, cust, seq, add, customer);
  if (k->kind == KEHU_KIND_CONTACT) {
    /* one entry per contact (customer | contact), so two contacts sharing
     * a number each keep theirs */
    const Kehu__Contact *c = (const Kehu__Contact *)m;
    int rc = index_contact_bday(t, c, cust, seq, add, customer);
    if (rc != KEHU_OK)
      return rc;
    unsigned char idb[16];
    kehu_key_put_u64(idb, cust);
    kehu_key_put_u64(idb + 8, seq);
    for (size_t i = 0; i < c->n_phones; i++) {
      unsigned char h[32];
      kehu_index_hmac(st, c->phones[i], h);
      MDB_val key = {32, h}, v = {16, idb};
      int rc = add ? mdb_put(t->txn, st->contact_phone, &key, &v, MDB_NODUPDATA)
                   : mdb_del(t->txn, st->contact_phone, &key, &v);
      if (rc != 0 && rc != MDB_KEYEXIST && rc != MDB_NOTFOUND)
        return kehu_store_status(rc);
    }
  } else if (k->kind == KEHU_KIND_CONTRACT) {
    const char *number = ((const Kehu__Contract *)m)->number;
    if (!number || !*number || strlen(number) > 511)
      return KEHU_OK;
    MDB_val key = {strlen(number), (void *)number};
    if (!add) {
      int rc = mdb_del(t->txn, st->contract_number, &key, NULL);
      return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
    }
    uint64_t holder = kehu_store_contract_by_number(t, number);
    if (holder && holder != seq)
      return KEHU_CONFLICT;
    unsigned char ck[16];
    child_key(ck, cust, seq);
    MDB_val v = {16, ck};
    return kehu_store_status(mdb_put(t->txn, st->contract_number, &key, &v, 0));
  }
  return KEHU_OK;
}

int kehu_store_followups_index(kehu_txn *t, uint64_t cust, uint64_t seq,
                               const Kehu__FollowUp *f)
{
  return index_followup_time(t, f, cust, seq, 1, NULL);
}

int kehu_store_child_put(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t seq,
                         const ProtobufCMessage *old, const ProtobufCMessage *m)
{
  return kehu_store_child_put_for(t, k, NULL, cust, seq, old, m);
}

static int child_put(kehu_txn *t, const kehu_kind_info *k, const Kehu__Customer *c,
                     uint64_t cust, uint64_t seq, const ProtobufCMessage *old,
                     const ProtobufCMessage *m);

/* An order's or a ticket's report counts move with it
 * (docs/storage.md#report-counts): the customer's figures of that kind
 * before the write, and after. */
int kehu_store_child_put_for(kehu_txn *t, const kehu_kind_info *k, const Kehu__Customer *c,
                             uint64_t cust, uint64_t seq, const ProtobufCMessage *old,
                             const ProtobufCMessage *m)
{
  kehu_tally *before;
  int rc = kehu_store_counts_kind_before(t, k->kind, cust, &before);
  if (rc == KEHU_OK && (rc = child_put(t, k, c, cust, seq, old, m)) != KEHU_OK)
    kehu_tally_free(before);
  else if (rc == KEHU_OK)
    rc = kehu_store_counts_kind_after(t, k->kind, cust, before);
  return rc;
}

static int child_put(kehu_txn *t, const kehu_kind_info *k, const Kehu__Customer *c,
                     uint64_t cust, uint64_t seq, const ProtobufCMessage *old,
                     const ProtobufCMessage *m)
{
  int rc;
  if (old && (rc = index_child(t, k, cust, seq, old, 0, NULL)) != KEHU_OK)
    return rc;
  if ((rc = index_child(t, k, cust, seq, m, 1, c)) != KEHU_OK)
    return rc;
  unsigned char ck[16], pk[9], cb[8];
  child_key(ck, cust, seq);
  if ((rc = kehu_put_record(t, t->st->children[k->kind], ck, 16, m, k->sealed)) != KEHU_OK)
    return rc;
  if (!old) {
    parent_key(pk, k, seq);
    kehu_key_put_u64(cb, cust);
    MDB_val key = {9, pk}, v = {8, cb};
    rc = kehu_store_status(mdb_put(t->txn, t->st->child_parent, &key, &v, 0));
  }
  /* contacts are part of what finds their customer */
  if (rc == KEHU_OK && k->kind == KEHU_KIND_CONTACT)
    rc = kehu_store_search_changed(t, cust);
  return rc;
}

/* Removes the record and its index entries, leaving an attachment's bytes
 * (a merge moves the record and keeps them). */
static int unlink_record(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t seq,
                         const ProtobufCMessage *old);

static int unlink_child(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t seq,
                        const ProtobufCMessage *old)
{
  kehu_tally *before;
  int rc = kehu_store_counts_kind_before(t, k->kind, cust, &before);
  if (rc == KEHU_OK && (rc = unlink_record(t, k, cust, seq, old)) != KEHU_OK)
    kehu_tally_free(before);
  else if (rc == KEHU_OK)
    rc = kehu_store_counts_kind_after(t, k->kind, cust, before);
  return rc;
}

static int unlink_record(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t seq,
                         const ProtobufCMessage *old)
{
  int rc = index_child(t, k, cust, seq, old, 0, NULL);
  if (rc != KEHU_OK)
    return rc;
  unsigned char ck[16], pk[9];
  child_key(ck, cust, seq);
  parent_key(pk, k, seq);
  MDB_val pkey = {9, pk};
  if ((rc = kehu_logged_del(t, t->st->children[k->kind], ck, 16)) != KEHU_OK)
    return rc;
  rc = mdb_del(t->txn, t->st->child_parent, &pkey, NULL);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return kehu_store_status(rc);
  return k->kind == KEHU_KIND_CONTACT ? kehu_store_search_changed(t, cust) : KEHU_OK;
}

int kehu_store_child_delete(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t seq,
                            const ProtobufCMessage *old)
{
  int rc = unlink_child(t, k, cust, seq, old);
  if (rc == KEHU_OK && k->kind == KEHU_KIND_ATTACHMENT)
    rc = kehu_store_attachment_delete(t, seq);
  return rc;
}

int kehu_store_child_list(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t before,
                          unsigned limit,
                          int (*accept)(ProtobufCMessage *m, uint64_t cust, void *arg),
                          void *arg, uint64_t *next)
{
  *next = 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->children[k->kind], &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  /* Newest first, from just below the cursor record, or from the end of
   * the customer's range (of the whole table when cust is 0). */
  unsigned char start[16];
  MDB_val key = {16, start}, v;
  if (before) {
    uint64_t bcust = cust;
    unsigned char pk[9];
    parent_key(pk, k, before);
    MDB_val pkey = {9, pk};
    if (!cust && mdb_get(t->txn, t->st->child_parent, &pkey, &v) == 0 && v.mv_size == 8)
      bcust = kehu_key_get_u64(v.mv_data);
    child_key(start, bcust, before);
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
  } else if (cust) {
    child_key(start, cust + 1, 0);
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
  } else {
    rc = MDB_NOTFOUND;
  }
  rc = rc == 0 ? mdb_cursor_get(cur, &key, &v, MDB_PREV) : mdb_cursor_get(cur, &key, &v, MDB_LAST);
  unsigned count = 0;
  uint64_t last = 0;
  int status = KEHU_OK;
  for (; rc == 0; rc = mdb_cursor_get(cur, &key, &v, MDB_PREV)) {
    uint64_t owner = key.mv_size == 16 ? kehu_key_get_u64(key.mv_data) : 0;
    if (cust && owner != cust)
      break;
    uint64_t seq = kehu_key_get_u64((unsigned char *)key.mv_data + 8);
    if (count == limit) {
      *next = last;
      break;
    }
    ProtobufCMessage *m = kehu_decode_record(t->st, &key, &v, k->desc, k->sealed);
    if (!m) {
      status = KEHU_INTERNAL;
      break;
    }
    if (accept(m, owner, arg)) {
      last = seq;
      count++;
    }
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_child_first(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t *seq,
                       ProtobufCMessage **m)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->children[k->kind], &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char start[16];
  child_key(start, cust, 0);
  MDB_val key = {16, start}, v;
  rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
  if (rc != 0 || kehu_key_get_u64(key.mv_data) != cust) {
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? KEHU_NOT_FOUND : kehu_store_status(rc);
  }
  *seq = kehu_key_get_u64((unsigned char *)key.mv_data + 8);
  *m = kehu_decode_record(t->st, &key, &v, k->desc, k->sealed);
  mdb_cursor_close(cur);
  return *m ? KEHU_OK : KEHU_INTERNAL;
}

/* Moves every record of one kind from one customer to another. */
static int move_kind(kehu_txn *t, const kehu_kind_info *k, uint64_t from, uint64_t to,
                     const char *to_id, unsigned *moved)
{
  uint64_t seq;
  ProtobufCMessage *old;
  int rc;
  while ((rc = kehu_store_child_first(t, k, from, &seq, &old)) == KEHU_OK) {
    ProtobufCMessage *m = kehu_msg_copy(old);
    rc = m && kehu_msg_set_string(m, "customer_id", to_id) == 0 ? KEHU_OK : KEHU_EXHAUSTED;
    if (rc == KEHU_OK)
      rc = unlink_child(t, k, from, seq, old);
    if (rc == KEHU_OK)
      rc = kehu_store_child_put(t, k, to, seq, NULL, m);
    protobuf_c_message_free_unpacked(old, NULL);
    if (m)
      protobuf_c_message_free_unpacked(m, NULL);
    if (rc != KEHU_OK)
      return rc;
    (*moved)++;
  }
  return rc == KEHU_NOT_FOUND ? KEHU_OK : rc;
}

int kehu_store_children_move(kehu_txn *t, uint64_t from, uint64_t to, const char *to_id,
                             unsigned *moved)
{
  *moved = 0;
  for (int k = 0; k < KEHU_KIND_COUNT; k++) {
    int rc = move_kind(t, kehu_kind_get(k), from, to, to_id, moved);
    if (rc != KEHU_OK)
      return rc;
  }
  return KEHU_OK;
}

int kehu_store_children_reindex(kehu_txn *t, size_t *n)
{
  *n = 0;
  int status = KEHU_OK;
  for (int kind = 0; kind < KEHU_KIND_COUNT && status == KEHU_OK; kind++) {
    const kehu_kind_info *k = kehu_kind_get(kind);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, t->st->children[kind], &cur);
    if (rc != 0)
      return kehu_store_status(rc);
    MDB_val key, v;
    for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
         rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
      if (key.mv_size != 16)
        continue;
      uint64_t cust = kehu_key_get_u64(key.mv_data), seq = kehu_key_get_u64((unsigned char *)key.mv_data + 8);
      ProtobufCMessage *m = kehu_decode_record(t->st, &key, &v, k->desc, k->sealed);
      if (!m) {
        status = KEHU_INTERNAL;
        break;
      }
      status = index_child(t, k, cust, seq, m, 1, NULL);
      protobuf_c_message_free_unpacked(m, NULL);
      unsigned char pk[9], cb[8];
      parent_key(pk, k, seq);
      kehu_key_put_u64(cb, cust);
      MDB_val pkey = {9, pk}, pv = {8, cb};
      if (status == KEHU_OK)
        status = kehu_store_status(mdb_put(t->txn, t->st->child_parent, &pkey, &pv, 0));
      if (status == KEHU_OK && k->kind == KEHU_KIND_CONTACT)
        status = kehu_store_search_changed(t, cust);
      (*n)++;
    }
    mdb_cursor_close(cur);
    if (status == KEHU_OK && rc != MDB_NOTFOUND)
      status = kehu_store_status(rc);
  }
  return status;
}
