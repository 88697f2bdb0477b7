/* Inside the store: the environment, its named databases, and helpers the
 * table files share. Nothing outside server/store includes this. */
#ifndef KEHU_STORE_INTERNAL_H
#define KEHU_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <nettle/hmac.h>

#include "records.h"
#include "store.h"

#define KEHU_MAX_DBI 64   /* named databases the environment may hold, plus 2 */

struct kehu_store {
  MDB_env *env;
  size_t map_size;
  /* Readers hold it shared for the life of a read transaction; growing the
   * map takes it exclusively, because LMDB may only resize with no
   * transaction active in the process. */
  pthread_rwlock_t resize_lock;
  MDB_dbi meta;           /* string key -> value (sequences, schema) */
  MDB_dbi users;          /* username -> UserRecord */
  MDB_dbi sessions;       /* SHA-256(token) -> SessionRecord */
  MDB_dbi customers;      /* customer key -> Customer */
  MDB_dbi cust_owner;     /* owner -> customer key (dupsort, dupfixed) */
  MDB_dbi cust_stage;     /* stage -> customer key (dupsort, dupfixed) */
  MDB_dbi cust_extcode;   /* external code -> customer key (unique) */
  MDB_dbi cust_name;      /* normalised name -> customer key (dupsort): duplicates */
  MDB_dbi children[KEHU_KIND_COUNT]; /* customer key | seq -> record (sealed if sensitive) */
  MDB_dbi child_parent;   /* kind | seq -> customer key */
  MDB_dbi contract_number;/* contract number -> customer key | seq (unique) */
  MDB_dbi contact_phone;  /* HMAC(phone) -> customer key | contact seq (dupsort) */
  MDB_dbi field_defs;     /* entity | 0 | key -> FieldDef */
  MDB_dbi attachment_data;/* attachment seq | chunk number -> sealed bytes */
  MDB_dbi audit;          /* seq -> AuditEntry (append-only, hash-chained) */
  MDB_dbi reminders;      /* seq -> Reminder */
  MDB_dbi rem_due;        /* due time | seq -> "" : armed reminders by time */
  MDB_dbi rem_user;       /* user | 0 | seq -> "" : a user's reminders */
  MDB_dbi rem_cust;       /* customer key | seq -> "" : for merge and purge */
  MDB_dbi rem_source;     /* rule source -> seq : one reminder per rule and record */
  MDB_dbi search;         /* token -> customer key (dupsort, dupfixed) */
  MDB_dbi search_doc;     /* customer key -> the tokens it is indexed under */
  MDB_dbi search_pend;    /* like search, for customers new since the last fold */
  MDB_dbi scrub;          /* n -> a page of zeros, only while free pages are scrubbed */
  MDB_dbi changes;        /* seq -> table code | key: the change log (changes.c) */
  MDB_dbi cust_counts;    /* field | value | 0 | owner -> live customers (counts.c) */
  MDB_dbi contact_bday;   /* month, day | customer | contact -> nothing (bday.c) */
  MDB_dbi cust_dormant;   /* dormancy start | customer -> nothing (dormant.c) */
  MDB_dbi cust_churn;     /* owner | 0 | customer -> nothing: live churn_risk customers (counts.c) */
  MDB_dbi fu_time;        /* at | customer | follow-up -> owner 0 author 0 method 0 */
  MDB_dbi cust_sort;      /* field | bin | owner 0 | order key | ~customer -> nothing (sort.c) */
  uint8_t log_code[KEHU_MAX_DBI];   /* by dbi: its change-log code, 0 when not logged */
  int has_key;
  /* The key ring (docs/storage.md#key-generations): the AES-256-GCM key of
   * each generation, the generation being byte 0 of a sealed value. 1 is
   * derived from data.key, later ones from key_dir/seal-G.key, loaded when
   * first needed. A generation's key is written once, under key_lock, and
   * published by key_ready[G] (release; readers acquire), so the loop, the
   * thread pool and the writer use it without taking the lock. */
  char key_dir[4096];
  pthread_mutex_t key_lock;
  _Atomic unsigned char key_ready[KEHU_SEAL_GEN_MAX + 1];
  unsigned char seal_keys[KEHU_SEAL_GEN_MAX + 1][32];
  /* The generation new values are sealed under: meta seal:gen as read when
   * the current write transaction began (kehu_seal_gen_refresh). Write
   * transactions are serialised, so once a rotation commits a new
   * generation every later write seals under it. */
  _Atomic unsigned seal_gen;
  unsigned char index_key[32];  /* HMAC key for index entries of sensitive values */
  /* HMAC-SHA-256 keyed with index_key: an index hash starts from a copy,
   * so it costs no key blocks and no malloc (seal.c). Read-only once the
   * key is loaded: shared by every thread. */
  struct hmac_sha256_ctx index_hmac;
};

/* Sealed values: generation byte | 12-byte nonce | ciphertext | 16-byte
 * tag, authenticated together with the record's key. kehu_seal seals under
 * st->seal_gen; kehu_unseal takes the key of the value's own generation. */
int kehu_seal(kehu_store *st, const void *aad, size_t aad_len, const uint8_t *plain, size_t n,
              uint8_t *out /* n + KEHU_SEAL_OVERHEAD */);
int kehu_unseal(kehu_store *st, const void *aad, size_t aad_len, const uint8_t *sealed, size_t n,
                uint8_t *out /* n - KEHU_SEAL_OVERHEAD */);
#define KEHU_SEAL_OVERHEAD (1 + 12 + 16)
/* Reads meta seal:gen in txn (a write transaction just begun) into
 * st->seal_gen; nothing when the store has no key. */
void kehu_seal_gen_refresh(kehu_store *st, MDB_txn *txn);
/* Keys index_hmac with index_key (all zero until a data
 * key is loaded, as kehu_store_open leaves it). */
void kehu_index_key_ready(kehu_store *st);
/* HMAC-SHA-256 under the index key: how sensitive values are indexed. */
void kehu_index_hmac(kehu_store *st, const char *value, unsigned char out[32]);

/* Puts / gets a message, sealed when the store has a key and sealed != 0. */
int kehu_put_record(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen,
                    const ProtobufCMessage *msg, int sealed);
int kehu_get_record(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen,
                    const ProtobufCMessageDescriptor *desc, int sealed, ProtobufCMessage **out);
ProtobufCMessage *kehu_decode_record(kehu_store *st, const MDB_val *k, const MDB_val *v,
                                     const ProtobufCMessageDescriptor *desc, int sealed);

/* Packs msg and puts it under key. */
int kehu_put_message(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen,
                     const ProtobufCMessage *msg);
/* Looks key up and unpacks it with desc; NOT_FOUND when absent. */
int kehu_get_message(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen,
                     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out);
/* Index entries: value is an 8-byte big-endian key under a string key. */
int kehu_index_add(kehu_txn *t, MDB_dbi dbi, const char *k, uint64_t id);
int kehu_index_del(kehu_txn *t, MDB_dbi dbi, const char *k, uint64_t id);

/* The duplicate-detection key of a customer name: its normalised form
 * (normalize.h), hashed when too long for an LMDB key. 0 or -1. */
int kehu_customer_name_key(const char *name, char *out, size_t len);
/* The first record (lowest seq) of customer cust in kind k, decoded;
 * NOT_FOUND when it has none left (merge and purge empty a customer). */
int kehu_store_child_first(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t *seq,
                           ProtobufCMessage **m);
/* Deletes a customer record and all its index entries (purge). */
int kehu_store_customer_remove(kehu_txn *t, uint64_t key, const Kehu__Customer *c);

/* Erases the bytes of attachment seq. */
int kehu_store_attachment_delete(kehu_txn *t, uint64_t seq);

/* Re-derives a customer's search tokens (its names, tags, contacts) and
 * moves its postings to match, in t's transaction. */
int kehu_store_search_reindex(kehu_txn *t, uint64_t cust);
/* Rebuilding the derived indexes (reindex.c), after they were emptied: each
 * walks its records and adds their entries; *n counts the records. */
int kehu_store_customers_reindex(kehu_txn *t, size_t *n);
int kehu_store_children_reindex(kehu_txn *t, size_t *n);
int kehu_store_reminders_reindex(kehu_txn *t, size_t *n);
/* The same at once, or noted for kehu_store_search_flush when t defers. */
int kehu_store_search_changed(kehu_txn *t, uint64_t cust);

/* ---- report counts (counts.c, counts_records.c; docs/storage.md#report-counts) ---- */
enum {
  KEHU_COUNT_STAGE = 1, KEHU_COUNT_INDUSTRY, KEHU_COUNT_REGION, KEHU_COUNT_SIZE,
  KEHU_COUNT_SOURCE, KEHU_COUNT_OWNER, KEHU_COUNT_TIER, KEHU_COUNT_FUNNEL,
  KEHU_COUNT_STAGE_CHANGE, KEHU_COUNT_TIER_CHANGE, KEHU_COUNT_LOST, KEHU_COUNT_DORMANT_DAY,
  KEHU_COUNT_FIRST_ORDER, KEHU_COUNT_SECOND_ORDER, KEHU_COUNT_BUYERS, KEHU_COUNT_TICKETS,
  KEHU_COUNT_TICKET_DUE,
};
/* Keys and deltas gathered in memory (limit: at most that many keys, 0: no limit). */
typedef struct kehu_tally kehu_tally;
kehu_tally *kehu_tally_new(size_t limit);
void kehu_tally_free(kehu_tally *tl);
/* 1 when taken, 0 when the tally is full or out of memory. */
int kehu_tally_add(kehu_tally *tl, const unsigned char *k, size_t n, int64_t delta);
/* Adds delta at (code, value, owner); KEHU_EXHAUSTED when it could not. */
int kehu_tally_emit(kehu_tally *tl, uint8_t code, const char *value, const char *owner,
                    int64_t delta);
int kehu_tally_each(const kehu_tally *tl,
                    int (*each)(const unsigned char *k, size_t n, int64_t delta, void *arg),
                    void *arg);
int64_t kehu_tally_get(const kehu_tally *tl, const unsigned char *k, size_t n);
/* The count key of (code, value, owner); 0 when too long to count. */
size_t kehu_counts_key(unsigned char out[511], uint8_t code, const char *value, const char *owner);
const char *kehu_counts_code_name(uint8_t code);
/* What live customer c contributes, times d (nothing when binned). */
int kehu_counts_customer(kehu_tally *tl, const Kehu__Customer *c, int64_t d);
/* What the orders and tickets of customer cust contribute while c is its
 * record, times d (nothing when c is NULL or binned). */
int kehu_counts_records(kehu_txn *t, kehu_tally *tl, uint64_t cust, const Kehu__Customer *c,
                        int64_t d);
/* The tally's deltas written to the counts (or t's batch). */
int kehu_store_counts_apply(kehu_txn *t, const kehu_tally *tl);
/* The customer's records as they stand added to the counts (reindex, upgrade). */
int kehu_store_counts_records_add(kehu_txn *t, uint64_t cust, const Kehu__Customer *c);
/* The customer's owner or liveness changed: its records' counts move with it. */
int kehu_store_counts_records_moved(kehu_txn *t, uint64_t cust, const Kehu__Customer *old,
                                    const Kehu__Customer *c);
/* Around a write of an order or a ticket of cust: what its kind contributed
 * before (taken into *before), then the difference written. */
int kehu_store_counts_kind_before(kehu_txn *t, int kind, uint64_t cust, kehu_tally **before);
int kehu_store_counts_kind_after(kehu_txn *t, int kind, uint64_t cust, kehu_tally *before);
/* Whether customer cust of owner is in the churn list. */
int kehu_store_churn_has(kehu_txn *t, const char *owner, uint64_t cust);
/* An upgrade step that reads sealed records waits for the data key: the
 * opening transaction marks it (meta name), and kehu_store_load_key runs
 * it in a write of its own, then deletes the mark (seal.c). */
#define KEHU_AFTER_KEY_COUNTS "counts:records"   /* format 8: orders' and tickets' counts */
#define KEHU_AFTER_KEY_BDAY "bday:pending"       /* format 10: the birthday index */
int kehu_store_after_key_mark(kehu_txn *t, const char *name);
int kehu_store_after_key_marked(kehu_txn *t, const char *name);
int kehu_store_after_key_run(kehu_store *st, const char *name, int (*step)(kehu_txn *t));
/* Format 8's step: the counts of every order and ticket. */
int kehu_store_counts_records_fill(kehu_txn *t);

/* Problems a check finds: counted, and the first ones written to report. */
typedef struct {
  char *report;
  size_t len, used;
  unsigned long problems;
} kehu_findings;
void kehu_finding(kehu_findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the change log (changes.c) ---- */
/* Notes that key of table dbi changed in t; nothing for a derived table.
 * Every write to a record table goes through one of these. */
int kehu_change_note(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen);
/* mdb_put / mdb_del / mdb_cursor_del, then kehu_change_note. */
int kehu_logged_put(kehu_txn *t, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned flags);
int kehu_logged_del(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen);
int kehu_logged_cursor_del(kehu_txn *t, MDB_cursor *cur);

/* ---- follow-ups by time (children.c) ---- */
/* Adds f's entry (the format 6 upgrade; writes go through child put). */
int kehu_store_followups_index(kehu_txn *t, uint64_t cust, uint64_t seq,
                               const Kehu__FollowUp *f);
/* A customer's follow-ups' entries after the customer changed from old
 * to c (a new owner, binned, restored), in t. */
int kehu_store_followups_customer_moved(kehu_txn *t, uint64_t cust, const Kehu__Customer *old,
                                        const Kehu__Customer *c);
/* verify's check of the index against the follow-ups. */
int kehu_store_followup_time_check(kehu_txn *t, kehu_findings *f);

/* ---- the birthday index (bday.c) ---- */
/* Adds (add) or removes the entry of contact p (none without a birthday). */
int kehu_store_bday_index(kehu_txn *t, uint64_t cust, uint64_t seq, const Kehu__Contact *p,
                          int add);
/* 1 when the index holds p's entry (or p has no birthday). */
int kehu_store_bday_has(kehu_txn *t, uint64_t cust, uint64_t seq, const Kehu__Contact *p);
/* Format 10's step: the index filled from the contacts (sealed: after the
 * data key, KEHU_AFTER_KEY_BDAY). */
int kehu_store_bday_fill(kehu_txn *t);
/* verify's check of every entry against its contact and customer. */
int kehu_store_bday_check(kehu_txn *t, kehu_findings *f);

/* ---- the dormancy index (dormant.c) ---- */
/* Moves a customer's entry from old to c (either NULL: added, removed). */
int kehu_store_dormant_move(kehu_txn *t, uint64_t cust, const Kehu__Customer *old,
                            const Kehu__Customer *c);
/* 1 when the index holds (base, cust). */
int kehu_store_dormant_has(kehu_txn *t, uint64_t cust, int64_t base);
/* verify's check of every entry against its customer. */
int kehu_store_dormant_check(kehu_txn *t, kehu_findings *f);

/* ---- the sort index (sort.c) ---- */
/* Moves a customer's entries from old to c (either NULL: added, removed). */
int kehu_store_sort_move(kehu_txn *t, uint64_t cust, const Kehu__Customer *old,
                         const Kehu__Customer *c);
/* *missing: how many of c's entries the index lacks. */
int kehu_store_sort_has(kehu_txn *t, uint64_t cust, const Kehu__Customer *c, int *missing);
/* verify's check of every entry against its customer. */
int kehu_store_sort_check(kehu_txn *t, kehu_findings *f);

/* ---- report counts (counts.c) ---- */
/* Moves a customer's counts from old to c (either may be NULL: added,
 * removed; a binned customer counts nowhere), in t. */
int kehu_store_counts_move(kehu_txn *t, const Kehu__Customer *old, const Kehu__Customer *c);
/* verify's check of the counts against the customers. */
int kehu_store_counts_check(kehu_txn *t, kehu_findings *f);

/* Grows the map (doubling); called with no transaction of ours active. */
int kehu_store_grow(kehu_store *st);

/* A store made new by this opening notes no change until its first backup
 * (changes.c). */
int kehu_store_changes_off(MDB_txn *txn, MDB_dbi meta);

#endif
