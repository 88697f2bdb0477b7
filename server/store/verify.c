/* Consistency check: every index entry points at a record that holds the
 * indexed value, and every record is in every index it belongs to. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reflect.h"
#include "store_internal.h"

void kehu_finding(kehu_findings *f, const char *fmt, ...)
{
  f->problems++;
  if (f->used + 1 >= f->len)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(f->report + f->used, f->len - f->used, fmt, ap);
  va_end(ap);
  if (n > 0)
    f->used = f->used + (size_t)n < f->len ? f->used + (size_t)n : f->len - 1;
}

static int index_has(kehu_txn *t, MDB_dbi dbi, const char *value, uint64_t key)
{
  unsigned char kb[8];
  kehu_key_put_u64(kb, key);
  MDB_val k = {strlen(value), (void *)value}, v = {8, kb};
  MDB_cursor *cur;
  if (mdb_cursor_open(t->txn, dbi, &cur) != 0)
    return 0;
  int found = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH) == 0;
  mdb_cursor_close(cur);
  return found;
}

/* Each entry of a value -> key index: the record exists and field(record)
 * equals the value. */
static void check_index(kehu_txn *t, MDB_dbi dbi, const char *name,
                        const char *(*field)(const Kehu__Customer *c), kehu_findings *f)
{
  MDB_cursor *cur;
  if (mdb_cursor_open(t->txn, dbi, &cur) != 0) {
    kehu_finding(f, "%s: cannot open\n", name);
    return;
  }
  MDB_val k, v;
  char value[512], id[24];
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    snprintf(value, sizeof value, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
    if (v.mv_size != 8) {
      kehu_finding(f, "%s[%s]: malformed entry\n", name, value);
      continue;
    }
    uint64_t key = kehu_key_get_u64(v.mv_data);
    kehu_customer_id_format(key, id);
    Kehu__Customer *c;
    if (kehu_store_customer_get(t, key, &c) != KEHU_OK) {
      kehu_finding(f, "%s[%s] -> %s: no such customer\n", name, value, id);
      continue;
    }
    const char *actual = field(c);
    if (!actual || strcmp(actual, value) != 0)
      kehu_finding(f, "%s[%s] -> %s: the customer has '%s'\n", name, value, id,
              actual ? actual : "");
    kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
}

static const char *owner_of(const Kehu__Customer *c) { return c->owner; }
static const char *stage_of(const Kehu__Customer *c) { return c->stage; }
static const char *code_of(const Kehu__Customer *c) { return c->external_code; }

/* The name index holds normalised names: compare in that form. */
static const char *name_key_of(const Kehu__Customer *c)
{
  static __thread char key[512];
  return kehu_customer_name_key(c->name, key, sizeof key) == 0 ? key : NULL;
}

/* Records under customers: each has its parent entry and a live customer;
 * contract numbers and contact phones are indexed; every parent entry and
 * every number entry has its record. */
static void check_children(kehu_txn *t, kehu_findings *f)
{
  kehu_store *st = t->st;
  for (int kind = 0; kind < KEHU_KIND_COUNT; kind++) {
    const kehu_kind_info *k = kehu_kind_get(kind);
    MDB_cursor *cur;
    if (mdb_cursor_open(t->txn, st->children[kind], &cur) != 0)
      continue;
    MDB_val key, v;
    for (int rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
      if (key.mv_size != 16) {
        kehu_finding(f, "%s: malformed key\n", k->name);
        continue;
      }
      uint64_t cust = kehu_key_get_u64(key.mv_data), seq = kehu_key_get_u64((unsigned char *)key.mv_data + 8);
      char id[24], cid[24];
      kehu_child_id_format(k, seq, id);
      kehu_customer_id_format(cust, cid);
      unsigned char pk[9];
      pk[0] = (unsigned char)kind;
      kehu_key_put_u64(pk + 1, seq);
      MDB_val pkey = {9, pk}, pv;
      if (mdb_get(t->txn, st->child_parent, &pkey, &pv) != 0 || pv.mv_size != 8 ||
          kehu_key_get_u64(pv.mv_data) != cust)
        kehu_finding(f, "%s %s: its parent entry does not point at %s\n", k->name, id, cid);
      Kehu__Customer *c;
      int live = 0;
      if (kehu_store_customer_get(t, cust, &c) != KEHU_OK)
        kehu_finding(f, "%s %s: customer %s does not exist\n", k->name, id, cid);
      else {
        live = !(c->has_deleted && c->deleted);
        kehu__customer__free_unpacked(c, NULL);
      }
      ProtobufCMessage *m = kehu_decode_record(st, &key, &v, k->desc, k->sealed);
      if (!m) {
        kehu_finding(f, "%s %s: record does not decode\n", k->name, id);
        continue;
      }
      if (kind == KEHU_KIND_CONTRACT) {
        const char *number = kehu_msg_get_string(m, "number");
        if (number && kehu_store_contract_by_number(t, number) != seq)
          kehu_finding(f, "contract %s: number %s is not indexed to it\n", id, number);
      } else if (kind == KEHU_KIND_CONTACT) {
        const Kehu__Contact *ct = (const Kehu__Contact *)m;
        if (live && !kehu_store_bday_has(t, cust, seq, ct))
          kehu_finding(f, "contact %s: its birthday is missing from the birthday index\n", id);
        for (size_t i = 0; i < ct->n_phones; i++) {
          unsigned char h[32], cb[16];
          kehu_index_hmac(st, ct->phones[i], h);
          kehu_key_put_u64(cb, cust);
          kehu_key_put_u64(cb + 8, seq);
          MDB_val hk = {32, h}, hv = {16, cb};
          MDB_cursor *pc;
          if (mdb_cursor_open(t->txn, st->contact_phone, &pc) == 0) {
            if (mdb_cursor_get(pc, &hk, &hv, MDB_GET_BOTH) != 0)
              kehu_finding(f, "contact %s: a phone is missing from the phone index\n", id);
            mdb_cursor_close(pc);
          }
        }
      }
      protobuf_c_message_free_unpacked(m, NULL);
    }
    mdb_cursor_close(cur);
  }
  /* every parent entry has its record */
  MDB_cursor *cur;
  if (mdb_cursor_open(t->txn, st->child_parent, &cur) == 0) {
    MDB_val key, v;
    for (int rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
      const kehu_kind_info *k = key.mv_size == 9 ? kehu_kind_get(((unsigned char *)key.mv_data)[0]) : NULL;
      if (!k || v.mv_size != 8) {
        kehu_finding(f, "parent index: malformed entry\n");
        continue;
      }
      unsigned char ck[16];
      memcpy(ck, v.mv_data, 8);
      memcpy(ck + 8, (unsigned char *)key.mv_data + 1, 8);
      MDB_val rk = {16, ck}, rv;
      if (mdb_get(t->txn, st->children[k->kind], &rk, &rv) != 0) {
        char id[24];
        kehu_child_id_format(k, kehu_key_get_u64((unsigned char *)key.mv_data + 1), id);
        kehu_finding(f, "parent index: %s has no record\n", id);
      }
    }
    mdb_cursor_close(cur);
  }
  if (mdb_cursor_open(t->txn, st->contract_number, &cur) == 0) {
    MDB_val key, v;
    for (int rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
      MDB_val rv;
      if (v.mv_size != 16 || mdb_get(t->txn, st->children[KEHU_KIND_CONTRACT], &v, &rv) != 0)
        kehu_finding(f, "contract number %.*s: no such contract\n", (int)key.mv_size,
                (const char *)key.mv_data);
    }
    mdb_cursor_close(cur);
  }
  /* every phone entry belongs to a customer that has such a contact */
  if (mdb_cursor_open(t->txn, st->contact_phone, &cur) == 0) {
    MDB_val key, v;
    for (int rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
      /* customer | contact: the contact must exist under that customer */
      unsigned char ck[16];
      MDB_val rk = {16, ck}, rv;
      if (v.mv_size == 16)
        memcpy(ck, v.mv_data, 16);
      if (v.mv_size != 16 || mdb_get(t->txn, st->children[KEHU_KIND_CONTACT], &rk, &rv) != 0)
        kehu_finding(f, "phone index: an entry for a contact that does not exist\n");
    }
    mdb_cursor_close(cur);
  }
}

/* Reminders: every armed one is in the due index, every due entry has an
 * armed reminder, every source entry points at a reminder of that source. */
static void check_reminders(kehu_txn *t, kehu_findings *f)
{
  kehu_store *st = t->st;
  MDB_cursor *cur;
  if (mdb_cursor_open(t->txn, st->rem_due, &cur) == 0) {
    MDB_val key, v;
    for (int rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
      Kehu__Reminder *r;
      uint64_t seq = key.mv_size == 16 ? kehu_key_get_u64((unsigned char *)key.mv_data + 8) : 0;
      if (kehu_store_reminder_get(t, seq, &r) != KEHU_OK) {
        kehu_finding(f, "due index: RM%llu has no record\n", (unsigned long long)seq);
        continue;
      }
      if (!r->has_armed || !r->armed)
        kehu_finding(f, "due index: RM%llu is not armed\n", (unsigned long long)seq);
      kehu__reminder__free_unpacked(r, NULL);
    }
    mdb_cursor_close(cur);
  }
  if (mdb_cursor_open(t->txn, st->rem_source, &cur) == 0) {
    MDB_val key, v;
    for (int rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
      Kehu__Reminder *r;
      if (v.mv_size != 8 || kehu_store_reminder_get(t, kehu_key_get_u64(v.mv_data), &r) != KEHU_OK) {
        kehu_finding(f, "reminder source %.*s: no such reminder\n", (int)key.mv_size,
                (const char *)key.mv_data);
        continue;
      }
      if (!r->source || strlen(r->source) != key.mv_size ||
          memcmp(r->source, key.mv_data, key.mv_size) != 0)
        kehu_finding(f, "reminder source %.*s: the reminder has another source\n", (int)key.mv_size,
                (const char *)key.mv_data);
      kehu__reminder__free_unpacked(r, NULL);
    }
    mdb_cursor_close(cur);
  }
}

/* Search: the tokens recorded for a customer are exactly its postings. */
static int doc_has(kehu_txn *t, uint64_t cust, const MDB_val *tok)
{
  unsigned char k[8];
  kehu_key_put_u64(k, cust);
  MDB_val key = {8, k}, v;
  if (mdb_get(t->txn, t->st->search_doc, &key, &v) != 0)
    return 0;
  const unsigned char *p = v.mv_data, *end = p + v.mv_size;
  for (; p < end && p + 1 + *p <= end; p += 1 + *p)
    if (*p == tok->mv_size && memcmp(p + 1, tok->mv_data, *p) == 0)
      return 1;
  return 0;
}

/* Counts the postings of one posting table, each checked against its
 * customer and that customer's recorded tokens. */
static unsigned long check_postings(kehu_txn *t, MDB_dbi dbi, const char *table,
                                    kehu_findings *f)
{
  MDB_cursor *cur;
  unsigned long postings = 0;
  if (mdb_cursor_open(t->txn, dbi, &cur) != 0)
    return 0;
  MDB_val key, v;
  for (int rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
    postings++;
    uint64_t cust = v.mv_size == 8 ? kehu_key_get_u64(v.mv_data) : 0;
    Kehu__Customer *c;
    if (kehu_store_customer_get(t, cust, &c) != KEHU_OK) {
      kehu_finding(f, "%s: a posting for a customer that does not exist\n", table);
      continue;
    }
    kehu__customer__free_unpacked(c, NULL);
    if (!doc_has(t, cust, &key))
      kehu_finding(f, "%s: a posting its customer does not account for\n", table);
  }
  mdb_cursor_close(cur);
  return postings;
}

/* Every token recorded for a customer is posted in exactly one of the two
 * posting tables (search.c), and every posting is a recorded token. */
static void check_search(kehu_txn *t, kehu_findings *f)
{
  kehu_store *st = t->st;
  unsigned long postings = check_postings(t, st->search, "search index", f) +
                           check_postings(t, st->search_pend, "search index (pending)", f);
  unsigned long documented = 0;
  MDB_cursor *cur, *pc[2];
  if (mdb_cursor_open(t->txn, st->search_doc, &cur) != 0)
    return;
  if (mdb_cursor_open(t->txn, st->search, &pc[0]) != 0) {
    mdb_cursor_close(cur);
    return;
  }
  if (mdb_cursor_open(t->txn, st->search_pend, &pc[1]) != 0) {
    mdb_cursor_close(pc[0]);
    mdb_cursor_close(cur);
    return;
  }
  MDB_val key, v;
  for (int rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
    const unsigned char *p = v.mv_data, *end = p + v.mv_size;
    for (; p < end && p + 1 + *p <= end; p += 1 + *p) {
      documented++;
      int in = 0;
      for (int i = 0; i < 2; i++) {
        MDB_val tk = {*p, (void *)(p + 1)}, cv = {8, key.mv_data};
        in += mdb_cursor_get(pc[i], &tk, &cv, MDB_GET_BOTH) == 0;
      }
      if (in == 0)
        kehu_finding(f, "search index: a token of a customer is not posted\n");
      else if (in == 2)
        kehu_finding(f, "search index: a token of a customer is both posted and pending\n");
    }
  }
  mdb_cursor_close(pc[1]);
  mdb_cursor_close(pc[0]);
  mdb_cursor_close(cur);
  if (postings != documented)
    kehu_finding(f, "search index: %lu postings but %lu documented tokens\n", postings,
                 documented);
}

int kehu_store_verify(kehu_txn *t, char *report, size_t len, unsigned long *problems)
{
  kehu_findings f = {report, len, 0, 0};
  if (len)
    report[0] = '\0';
  kehu_store *st = t->st;
  check_index(t, st->cust_owner, "owner index", owner_of, &f);
  check_index(t, st->cust_stage, "stage index", stage_of, &f);
  check_index(t, st->cust_extcode, "external code index", code_of, &f);
  check_index(t, st->cust_name, "name index", name_key_of, &f);
  int crc = kehu_store_counts_check(t, &f);
  if (crc == KEHU_OK)
    crc = kehu_store_dormant_check(t, &f);
  if (crc == KEHU_OK)
    crc = kehu_store_bday_check(t, &f);
  if (crc == KEHU_OK)
    crc = kehu_store_followup_time_check(t, &f);
  if (crc == KEHU_OK)
    crc = kehu_store_sort_check(t, &f);
  if (crc != KEHU_OK)
    return crc;

  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, st->customers, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  char id[24];
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    uint64_t key = k.mv_size == 8 ? kehu_key_get_u64(k.mv_data) : 0;
    kehu_customer_id_format(key, id);
    Kehu__Customer *c = kehu__customer__unpack(NULL, v.mv_size, v.mv_data);
    if (!c) {
      kehu_finding(&f, "customer %s: record does not decode\n", id);
      continue;
    }
    if (c->owner && *c->owner && !index_has(t, st->cust_owner, c->owner, key))
      kehu_finding(&f, "customer %s: missing from the owner index\n", id);
    if (c->stage && *c->stage && !index_has(t, st->cust_stage, c->stage, key))
      kehu_finding(&f, "customer %s: missing from the stage index\n", id);
    const char *nk = name_key_of(c);
    if (nk && !index_has(t, st->cust_name, nk, key))
      kehu_finding(&f, "customer %s: missing from the name index\n", id);
    if (c->external_code && *c->external_code &&
        kehu_store_customer_by_external_code(t, c->external_code) != key)
      kehu_finding(&f, "customer %s: missing from the external code index\n", id);
    if (!kehu_store_dormant_has(t, key, kehu_dormant_base(c)))
      kehu_finding(&f, "customer %s: missing from the dormancy index\n", id);
    int current = 1;
    if (kehu_store_search_doc_current(t, key, &current) == KEHU_OK && !current)
      kehu_finding(&f, "customer %s: its search tokens are not the ones its names and contacts "
                       "give (kehu-admin reindex)\n", id);
    int missing = 0;
    if (kehu_store_sort_has(t, key, c, &missing) != KEHU_OK || missing)
      kehu_finding(&f, "customer %s: %d of its %d entries missing from the sort index\n", id,
                   missing ? missing : KEHU_SORT_FIELDS, KEHU_SORT_FIELDS);
    kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
  check_children(t, &f);
  check_reminders(t, &f);
  check_search(t, &f);
  *problems = f.problems;
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}
