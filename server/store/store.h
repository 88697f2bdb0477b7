/* Storage: one LMDB environment, named databases per entity, secondary
 * indexes updated in the same transaction as their record (docs/storage.md).
 * Operations are named in domain terms; key encoding lives in keys.c. */
#ifndef KEHU_STORE_H
#define KEHU_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "kehu.pb-c.h"
#include "records.h"
#include "status.h"

#define KEHU_SCHEMA_VERSION 1
/* The layout of the tables (env.c): 2 added the pending search table;
 * 3 keys the name index by the symmetric legal-form stripping of
 * common/normalize.c (an older store has its name index rebuilt). */
#define KEHU_STORE_FORMAT 10

typedef struct kehu_store kehu_store;

typedef struct kehu_search_defer kehu_search_defer;

/* A transaction and the store it belongs to: every table operation takes
 * one, read-only or read-write. defer (NULL unless a write asked for it
 * with kehu_store_search_defer) gathers the customers whose search postings
 * are to be brought up to date before the transaction ends. meta_logged
 * holds the meta keys (sequences, the audit head) already noted in the
 * change log by this transaction, so that a batch of writes notes each of
 * them once (changes.c). */
#define KEHU_META_LOGGED 6
typedef struct {
  kehu_store *st;
  MDB_txn *txn;
  kehu_search_defer *defer;
  unsigned n_meta_logged;
  unsigned char meta_logged[KEHU_META_LOGGED][40];   /* [0]: the key's length */
  struct kehu_tally *counts;   /* report counts gathered, not yet written */
} kehu_txn;

/* Opens (creating if needed) the environment in dir. map_size is the
 * initial map size; it doubles whenever a write finds the map full. */
int kehu_store_open(kehu_store **out, const char *dir, size_t map_size, kehu_error *err);
void kehu_store_close(kehu_store *st);
/* Opens a store file a copy wrote (kehu_store_copy_compact) to read it,
 * without a lock file and without writing to it. */
int kehu_store_open_copy(kehu_store **out, const char *file, kehu_error *err);
size_t kehu_store_map_size(kehu_store *st);

/* Meta key set once every customer has a tier (server/tiers_fill.c); a
 * store created empty has it from the start. */
#define KEHU_TIERS_MARKER "tiers:computed"

/* The meta table (string keys): for tools that keep small markers, written
 * with kehu_store_meta_put so that the change log sees them. */
const MDB_dbi *kehu_store_meta_dbi(kehu_store *st);
int kehu_store_meta_put(kehu_txn *t, const char *key, const void *value, size_t n);
/* Live customers counted by the value of field (stage, industry, region,
 * size, source, owner) and owner: each(value, owner, count) for every
 * pair with a count, by value then owner; "" for no value. */
int kehu_store_counts_each(kehu_txn *t, const char *field,
                           int (*each)(const char *value, const char *owner, uint64_t n,
                                       void *arg),
                           void *arg);
/* The same for any report count (docs/storage.md#report-counts): tier,
 * funnel, stage_change, tier_change, lost, dormant_day, first_order,
 * second_order, buyers, tickets, ticket_due; only values in [from, until)
 * (NULL: unbounded). A change's value is from, KEHU_COUNT_SEP, to; a
 * time's is kehu_store_counts_time's text. */
#define KEHU_COUNT_SEP '\x01'
int kehu_store_counts_range(kehu_txn *t, const char *name, const char *from, const char *until,
                            int (*each)(const char *value, const char *owner, uint64_t n,
                                        void *arg),
                            void *arg);
/* A time as a count's value: 16 hex digits that sort as the times do. */
void kehu_store_counts_time(char out[17], int64_t at);
int64_t kehu_store_counts_time_parse(const char *value);
/* Whether the counts of orders and tickets are whole (an upgraded store
 * fills them once the data key is loaded). */
int kehu_store_counts_records_ready(kehu_txn *t);
/* The churn list: the keys of the first max live churn_risk customers (in
 * key order) of the owners for whom visible(owner) is 1 (-1: out of memory). */
int kehu_store_churn_first(kehu_txn *t, int (*visible)(const char *owner, void *arg), void *arg,
                           size_t max, uint64_t *keys, size_t *n);
/* Birthdays (bday.c, docs/storage.md#birthdays). The sweep: each(cust,
 * contact, year) for the entries after the marker (but not before
 * from_md of from_year) up to the end of upto_md of year, in calendar
 * order, at most max of them; then the marker moves to the last (the end
 * of upto_md when all were taken). *more: entries were left for later.
 * month-day values are month << 16 | day. */
int kehu_store_bday_sweep(kehu_txn *t, int from_year, unsigned from_md, int year, unsigned upto_md,
                          size_t max,
                          int (*each)(kehu_txn *t, uint64_t cust, uint64_t seq, int year,
                                      void *arg),
                          void *arg, int *more);
/* Where the sweep stopped (0: it never ran). */
int kehu_store_bday_swept(kehu_txn *t, int *year, unsigned *md);
/* Dormancy (dormant.c, docs/storage.md#dormancy): when a customer's
 * dormancy period started (its last contact, else its creation). */
int64_t kehu_dormant_base(const Kehu__Customer *c);
/* The start of the first dormancy period the sweep has not yet passed
 * (taken with dormant_days = days), 0 when none. */
int64_t kehu_store_dormant_next(kehu_txn *t, unsigned days);
/* each(cust, base) for every entry whose period started in [from, until). */
int kehu_store_dormant_between(kehu_txn *t, int64_t from, int64_t until,
                               int (*each)(uint64_t cust, int64_t base, void *arg), void *arg);
/* The sweep: each(cust, base) for the entries after the marker whose
 * period started at or before upto, oldest first, at most max of them;
 * then the marker moves to the last. *more: entries were left for later. */
int kehu_store_dormant_sweep(kehu_txn *t, unsigned days, int64_t upto, size_t max,
                             int (*each)(kehu_txn *t, uint64_t cust, int64_t base, void *arg),
                             void *arg, int *more);

/* Report counts for a write of many customers (an import's batch): from
 * kehu_store_counts_batch_begin on, t's count changes gather in memory,
 * one per key, and kehu_store_counts_batch_end writes them (apply) or
 * drops them (the write failed), each key once. */
int kehu_store_counts_batch_begin(kehu_txn *t);
int kehu_store_counts_batch_end(kehu_txn *t, int apply);

/* Follow-ups of live customers whose time (`at`) is in [since, until),
 * oldest first, from the time index (docs/storage.md#follow-ups-by-time):
 * each(customer key, its owner, author, method). */
int kehu_store_followups_between(kehu_txn *t, int64_t since, int64_t until,
                                 int (*each)(uint64_t cust, const char *owner, const char *author,
                                             const char *method, void *arg),
                                 void *arg);

/* The customers table, for scans that read every customer (reports). */
const MDB_dbi *kehu_store_customers_dbi(kehu_store *st);

/* The next number of a named sequence (1, 2, ...), in t's transaction. */
int kehu_store_next_seq(kehu_txn *t, const char *name, uint64_t *seq);

/* ---- the change log (docs/storage.md#change-log) ---- */
/* The store's identity (32 hex digits), made when it was first opened. */
int kehu_store_id(kehu_txn *t, char hex[33]);
/* A new store notes no change until its first backup begins: the backup
 * calls this before it takes its snapshot, and every write after that
 * snapshot is noted (docs/storage.md#change-log). */
int kehu_store_changes_start(kehu_store *st);
/* The newest and the oldest sequence number in the log (0 when empty). */
int kehu_store_changes_head(kehu_txn *t, uint64_t *head, uint64_t *oldest);
/* Calls each(table, key) for every change noted after `after` up to
 * `upto`, oldest first; a key may come more than once. Stops at the first
 * status each returns that is not KEHU_OK and returns it. */
int kehu_store_changes_each(kehu_txn *t, uint64_t after, uint64_t upto,
                            int (*each)(const char *table, const void *key, size_t klen,
                                        void *arg),
                            void *arg);
/* Removes the entries below `below` (the newest always stays), in short
 * transactions; *removed counts them. */
int kehu_store_changes_trim(kehu_store *st, uint64_t below, size_t *removed);
/* Makes seq the log's newest number when it is behind (a restore that
 * applied changes up to seq), so the next change follows it. */
int kehu_store_changes_mark(kehu_txn *t, uint64_t seq);
/* Puts (present) or deletes key in the record table named table, as an
 * incremental backup recorded it; KEHU_NOT_FOUND for an unknown table. */
int kehu_store_change_apply(kehu_txn *t, const char *table, const void *key, size_t klen,
                            const void *value, size_t vlen, int present);
/* The value of key in the record table called table as t sees it (valid
 * until t ends); KEHU_NOT_FOUND when the key is absent. */
int kehu_store_change_value(kehu_txn *t, const char *table, const void *key, size_t klen,
                            const void **value, size_t *vlen);
/* The record table called name (a logged one), or the name of a code. */
int kehu_store_table_dbi(const kehu_store *st, const char *name, MDB_dbi *dbi);
const char *kehu_store_table_name(const kehu_store *st, uint8_t code);

/* Maps an LMDB return code to a status (one place for that mapping). */
int kehu_store_status(int mdb_rc);

/* Read-only transactions, usable from any thread (MDB_NOTLS). */
int kehu_store_read_begin(kehu_store *st, kehu_txn *t);
void kehu_store_read_end(kehu_txn *t);

/* A synchronous write transaction, for tools that own the data directory's
 * writes for a moment (kehu-admin). The server writes through the writer
 * thread instead. commit aborts and returns the error if it fails. */
int kehu_store_write_begin(kehu_store *st, kehu_txn *t);
int kehu_store_write_commit(kehu_txn *t);
void kehu_store_write_abort(kehu_txn *t);

/* Runs apply(t, arg) in a write transaction, growing the map and retrying
 * when it is full. Returns apply's status, or the commit's failure. */
typedef int (*kehu_write_fn)(kehu_txn *t, void *arg);
int kehu_store_write(kehu_store *st, kehu_write_fn apply, void *arg);

/* ---- the writer thread: group commit ---- */
typedef struct kehu_write_req kehu_write_req;
struct kehu_write_req {
  kehu_write_fn apply;   /* runs on the writer thread, in a nested txn; it may
                          * run more than once (a rerun after another request
                          * failed, or the map grew): it must set every output
                          * afresh and touch nothing outside the txn */
  void *arg;
  int status;            /* apply's result, or the commit's failure */
  int solo;              /* runs alone, in the write transaction itself rather
                          * than a nested one: an import's batch of thousands of
                          * rows, whose pages a nested transaction would copy and
                          * merge again; failing, it undoes its own transaction */
  kehu_write_req *next;  /* owned by the writer while queued */
};

typedef struct kehu_writer kehu_writer;
/* notify(ctx) is called on the writer thread after each commit when
 * finished requests are waiting in kehu_writer_take_done; it must be cheap
 * and thread-safe (uv_async_send). */
int kehu_writer_start(kehu_writer **out, kehu_store *st, void (*notify)(void *ctx), void *ctx);
void kehu_writer_submit(kehu_writer *w, kehu_write_req *req);
/* Finished requests, oldest first; the caller now owns them. */
kehu_write_req *kehu_writer_take_done(kehu_writer *w);
/* Finishes everything queued, then stops the thread; the finished
 * requests can still be taken, until kehu_writer_free. */
void kehu_writer_stop(kehu_writer *w);
void kehu_writer_free(kehu_writer *w);
/* Commits of requests (not those of idle search folds) and requests so far
 * (for stats and benchmarks). */
void kehu_writer_counts(kehu_writer *w, uint64_t *commits, uint64_t *requests);
/* Time spent committing those transactions (writing their pages and
 * syncing), in nanoseconds since start. */
uint64_t kehu_writer_commit_ns(kehu_writer *w);

/* ---- keys ---- */
/* Customer ids C + YYYYMMDD + sequence (>= 3 digits) map to 8-byte keys:
 * date << 32 | sequence, big-endian, so keys sort by date then sequence. */
int kehu_customer_id_parse(const char *id, uint64_t *key);
void kehu_customer_id_format(uint64_t key, char *out /* >= 24 */);
void kehu_key_put_u64(unsigned char *p, uint64_t v);
uint64_t kehu_key_get_u64(const unsigned char *p);

/* ---- customers ---- */
typedef struct {
  const char *stage;     /* canonical, or NULL */
  const char *owner;
  const char *tag;
  const char *industry;
  const char *region;    /* prefix match: 华东 matches 华东/上海 */
  const char *source;
  const char *tier;      /* docs/architecture.md#reports: high|potential|churn_risk|normal */
  int deleted;           /* 1: only binned customers; 0: only live ones */
  uint64_t before;       /* cursor: only keys below this (0: no cursor) */
  unsigned limit;
  /* Permission filter: customers it refuses are left out (NULL: all). */
  int (*visible)(const Kehu__Customer *c, void *ctx);
  void *visible_ctx;
} kehu_customer_filter;

/* Next customer key for the local date of now (daily sequence). */
int kehu_store_customer_new_key(kehu_txn *t, int64_t now, uint64_t *key);
/* *out is NULL and the result NOT_FOUND when there is none. Free with
 * kehu__customer__free_unpacked(*out, NULL). */
int kehu_store_customer_get(kehu_txn *t, uint64_t key, Kehu__Customer **out);
/* The same decoded with allocator a (an arena: free it, not the message). */
int kehu_store_customer_get_in(kehu_txn *t, uint64_t key, ProtobufCAllocator *a,
                               Kehu__Customer **out);
/* Writes c under key, moving its index entries from old (NULL: new). */
int kehu_store_customer_put(kehu_txn *t, uint64_t key, const Kehu__Customer *old,
                            const Kehu__Customer *c);
/* The customer id holding an external code, or 0. */
uint64_t kehu_store_customer_by_external_code(kehu_txn *t, const char *code);
/* Calls each(c, arg) for matching customers, newest first, until limit;
 * *next is the cursor for the following page (0: no more). each may keep
 * c (return 1) or let the store free it (return 0). */
int kehu_store_customer_list(kehu_txn *t, const kehu_customer_filter *f,
                             int (*each)(Kehu__Customer *c, void *arg), void *arg,
                             uint64_t *next);
/* Does c pass f (its fields, bin state and visible callback)? */
int kehu_store_customer_matches(const Kehu__Customer *c, const kehu_customer_filter *f);

/* ---- sorted lists (sort.c, docs/storage.md#sort-index) ---- */
enum { KEHU_SORT_NAME, KEHU_SORT_CREATED, KEHU_SORT_UPDATED, KEHU_SORT_LAST_CONTACT,
       KEHU_SORT_STAGE, KEHU_SORT_FIELDS };
/* An order key: the folded name (its first 120 bytes) and a 0x00; a time
 * (8 bytes, big-endian, sign bit flipped); a stage's place in the funnel
 * (1 byte). Byte order is the list's order. */
#define KEHU_SORT_ORDER_MAX 121
size_t kehu_sort_order_key(int field, const Kehu__Customer *c,
                           unsigned char out[KEHU_SORT_ORDER_MAX]);
/* A place in a sorted list: an order key and the customer key inverted
 * (8 bytes, big-endian), as in the index. */
#define KEHU_SORT_POS_MAX (KEHU_SORT_ORDER_MAX + 8)
typedef struct {
  size_t len;
  unsigned char bytes[KEHU_SORT_POS_MAX];
} kehu_sort_pos;
/* The customers f lets through in field's order (desc: the other way
 * round; equal values newest first either way), after the place `after`
 * (NULL: from the first), until f->limit were given to each (which keeps
 * c by returning 1, like kehu_store_customer_list's). Only the entries of
 * owners owner_visible(owner or NULL, binned, ctx) accepts are read. At
 * most max_look entries are looked at, for about max_ms milliseconds at
 * most (0: no time bound): a page that stops short has next set even when
 * it holds fewer than f->limit. next->len is 0 at the end of the list;
 * otherwise the place to go on after. */
int kehu_store_customer_sorted(kehu_txn *t, const kehu_customer_filter *f, int field, int desc,
                               const kehu_sort_pos *after, size_t max_look, unsigned max_ms,
                               int (*owner_visible)(const char *owner, int binned, void *ctx),
                               void *ctx, int (*each)(Kehu__Customer *c, void *arg), void *arg,
                               kehu_sort_pos *next);
/* Each table of the store (kehu-admin stats): its name, entries and pages
 * (branch, leaf and overflow), as of t. */
int kehu_store_tables(kehu_txn *t,
                      void (*each)(const char *name, size_t entries, size_t pages, void *arg),
                      void *arg);
/* The environment: map size, bytes in use (up to the last page written),
 * page size, live readers and reader slots. */
typedef struct {
  size_t map_size, used, page_size;
  unsigned readers, max_readers;
} kehu_store_env_stats;
int kehu_store_env(kehu_store *st, kehu_store_env_stats *out);

/* Empties every derived index (owner, stage, name, external code, contract
 * number, contact phone, record parent, the reminder indexes, search) and
 * rebuilds it from the records, in t. */
typedef struct {
  size_t indexes, customers, records, reminders;
} kehu_reindex_counts;
int kehu_store_reindex(kehu_txn *t, kehu_reindex_counts *counts);

/* Erasure (docs/storage.md#erasure): LMDB leaves freed pages as they were,
 * so a purged customer's values stay in the file until the pages are
 * reused. This overwrites every free page it can take with zeros: one
 * transaction takes them all (a page of zeros each, in the scrub table),
 * the next gives them back. Pages a reader's snapshot still holds cannot be
 * taken yet (the file grows by as many instead); a later run gets them.
 * *pages says how many were scrubbed. Safe while kehud runs. */
int kehu_store_scrub_free_pages(kehu_store *st, size_t *pages);
/* A purge notes itself (meta scrub:purges, in its transaction); the scrub
 * runs only when a purge came after the last one it finished (meta
 * scrub:done), so a start after a crash still zeroes what a purge freed,
 * and every other start writes nothing. */
int kehu_store_scrub_note_purge(kehu_txn *t);

/* Every entry of every table of from, as of one snapshot, put into to (a
 * new, empty store opened by this process), table by table in key order,
 * committed every so many entries. No page of from is copied: to's pages
 * are written fresh, so nothing from's pages held besides live entries
 * (deleted values in their unused space, freed pages) comes along
 * (kehu-admin compact, docs/storage.md#erasure). *entries counts them. */
int kehu_store_copy_logical(kehu_store *from, kehu_store *to, size_t *entries);

/* A consistent, compacted copy of the whole store (free pages left out)
 * written to fd, taken in a read transaction: writers go on meanwhile
 * (kehu-admin backup, docs/operations.md#backups). */
int kehu_store_copy_compact(kehu_store *st, int fd);

/* Every customer id, every index entry checked against its record. */
int kehu_store_verify(kehu_txn *t, char *report, size_t len, unsigned long *problems);

/* ---- search (docs/architecture.md#search) ---- */
/* Customers matching every term (names, short names, tags, contact names;
 * phones, phone tails of 4 or 8 digits and emails by keyed hash), newest
 * first among the candidates, until each returns 0. Matches of Chinese
 * terms are candidates: check them against the text (bigrams can match
 * apart). A query of legal forms alone has no token to look up: it reads
 * the newest customers (of owner, when not NULL) instead, 20,000 at most. */
int kehu_store_search(kehu_txn *t, const char *const *terms, size_t n, const char *owner,
                      int (*each)(uint64_t key, void *arg), void *arg);
/* A ranked search walks the posting lists a phase at a time
 * (docs/architecture.md#search): the candidates of terms, newest first,
 * with the name's head token too when head is given (the names the query
 * may be a prefix of; with without_head, only those not under it), of owner only when given (checked in the owner
 * index, before anything is decoded), with keys below `below` when not 0.
 * At most `budget` candidates are read from the driving list when not 0:
 * when it runs out, *stopped is the last key read (0 when the walk ended),
 * and the next walk starts below it. KEHU_INVALID: the terms have no exact
 * token to walk (legal forms alone, one Chinese character, ...); such a
 * query is served by kehu_store_search. */
typedef struct {
  const char *head;
  size_t head_len;
  int without_head;   /* instead: only candidates that are not under head */
  const char *owner;
  uint64_t below;
  size_t budget;
  uint64_t stopped;
} kehu_search_walk;
int kehu_store_search_walk(kehu_txn *t, const char *const *terms, size_t n, kehu_search_walk *w,
                           int (*each)(uint64_t key, void *arg), void *arg);
/* The customers whose name has the duplicate-detection key of name
 * (docs/architecture.md#duplicates), newest first, below `below` when not
 * 0: a query's exact matches are among them. */
int kehu_store_search_exact(kehu_txn *t, const char *name, uint64_t below,
                            int (*each)(uint64_t key, void *arg), void *arg);
/* Store format 9: a customer's head token posted and recorded. */
int kehu_store_search_add_head(kehu_txn *t, uint64_t cust, const Kehu__Customer *c);
/* The tokens recorded for cust are the ones its text gives now (verify). */
int kehu_store_search_doc_current(kehu_txn *t, uint64_t cust, int *current);
/* The most search tokens one customer is indexed under (its names, tags and
 * all its contacts' names, phones and emails, before duplicates go): a
 * write that would need more is refused with RESOURCE_EXHAUSTED rather than
 * indexed in part. */
#define KEHU_SEARCH_MAX_TOKENS 65536
/* New customers' postings wait in a pending table that queries read too;
 * the writer folds them into the posting lists by itself (search.c). */
/* A write that changes many customers, or one customer several times (an
 * import batch: a customer, then its contact), can have their postings
 * computed once each at the end instead of at every change: between
 * kehu_store_search_defer and kehu_store_search_flush, the tables note the
 * customers whose text changed in d, and the flush reindexes each once, in
 * key order, in the same transaction. A search in t flushes first, so the
 * transaction always sees its own changes. The flush ends the deferral,
 * also when it fails (then the write must not commit). */
struct kehu_search_defer {
  uint64_t *keys;
  size_t n, cap;
};
void kehu_store_search_defer(kehu_txn *t, kehu_search_defer *d);
int kehu_store_search_flush(kehu_txn *t);
/* Postings waiting in the pending table. */
int kehu_store_search_pending(kehu_txn *t, size_t *entries);
/* Where the last fold stopped: the next one goes on from the token after
 * it, round the pending table, so every token waits about as long and
 * gathers as many customers before its posting page is written. */
typedef struct {
  size_t len;
  unsigned char bytes[64];   /* KEHU_TOKEN_MAX */
} kehu_fold_pos;
/* Moves pending postings into the posting lists, a token at a time from
 * pos, until at least max have moved or none is left; *folded says how
 * many. */
int kehu_store_search_fold(kehu_txn *t, size_t max, kehu_fold_pos *pos, size_t *folded);

/* ---- duplicates (docs/architecture.md#duplicates) ---- */
/* Customers whose normalised name equals that of name; each(key, arg). */
int kehu_store_customers_by_name(kehu_txn *t, const char *name,
                                 void (*each)(uint64_t key, void *arg), void *arg);
/* Customers with a contact holding this (normalised) phone number. */
int kehu_store_customers_by_phone(kehu_txn *t, const char *phone,
                                  void (*each)(uint64_t key, void *arg), void *arg);
/* Every group of customers sharing a normalised name or a contact phone:
 * each(keys, n, reason, arg) with reason "name" or "mobile". */
int kehu_store_duplicate_groups(kehu_txn *t,
                                int (*each)(const uint64_t *keys, size_t n, const char *reason,
                                            void *arg),
                                void *arg);

/* ---- records under a customer ---- */
/* Loads the data key (DATADIR/data.key): sensitive records are sealed and
 * their index entries hashed from then on. The seal keys of later
 * generations, in the directory keys/ beside it, are loaded too (those
 * there now; others when first needed). */
int kehu_store_load_key(kehu_store *st, const char *path, kehu_error *err);

/* ---- key generations and their rotation (docs/storage.md#key-generations,
 * docs/operations.md#rotating-the-data-key) ---- */
/* Byte 0 of a sealed value is the generation of its key: 1 is data.key's,
 * G >= 2 that of DATADIR/keys/seal-G.key. */
#define KEHU_SEAL_GEN_MAX 255
/* The directory of the key files of generations >= 2 (DATADIR/keys). */
const char *kehu_store_key_dir(kehu_store *st);
/* Makes generation gen's key available, reading its file if need be;
 * err says which file and what is wrong with it. */
int kehu_store_seal_key_load(kehu_store *st, unsigned gen, kehu_error *err);
/* As of t: the generation new values are sealed under (meta seal:gen, 1
 * when absent) and the one a rotation in progress moves every value to
 * (seal:rotating; 0 when none is). */
int kehu_store_seal_state(kehu_txn *t, unsigned *gen, unsigned *rotating);
/* Starts a rotation to gen in t: seal:gen and seal:rotating become gen, so
 * every write after this transaction seals under gen. Its key must be
 * loadable (kehu_store_seal_key_load) before. */
int kehu_store_rotation_begin(kehu_txn *t, unsigned gen);
/* Ends the rotation in t (removes seal:rotating). */
int kehu_store_rotation_end(kehu_txn *t);

/* Where a rotation's walk over the sealed tables is: a table (an index
 * among them, kehu_store_sealed_table_name) and the last key done in it. */
typedef struct {
  unsigned table;
  int started;                /* key holds the last key done in table */
  size_t key_len;
  unsigned char key[511];     /* LMDB's longest key */
} kehu_reseal_pos;
/* The tables holding sealed values (the sealed record kinds, attachment
 * bytes): name of table i, or NULL past the last. */
const char *kehu_store_sealed_table_name(unsigned i);
/* One step of the walk, in t: from pos, every value not sealed under the
 * current generation (as t began) is unsealed with its own generation's
 * key and sealed again under the current one, same key and AAD, until
 * max_values were re-sealed, max_bytes of them written or 8 * max_values
 * looked at. pos moves past what was looked at (it is the caller's to keep
 * once t commits); *done is 1 when it reached the end of the last table.
 * A value that cannot be unsealed is KEHU_INTERNAL, err naming its table
 * and key (hex), and t must then be aborted. */
int kehu_store_reseal_step(kehu_txn *t, kehu_reseal_pos *pos, size_t max_values,
                           size_t max_bytes, size_t *resealed, int *done, kehu_error *err);
/* Counts, in t, the values of the sealed tables (*total) and those sealed
 * under another generation than gen (*other). */
int kehu_store_seal_count(kehu_txn *t, unsigned gen, size_t *other, size_t *total);
int kehu_store_child_new_seq(kehu_txn *t, const kehu_kind_info *k, uint64_t *seq);
/* *cust is the customer the record belongs to. */
int kehu_store_child_get(kehu_txn *t, const kehu_kind_info *k, uint64_t seq, uint64_t *cust,
                         ProtobufCMessage **out);
/* Writes m and moves its index entries from old (NULL: new). CONFLICT when
 * a unique value (contract number) belongs to another record. */
int kehu_store_child_put(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t seq,
                         const ProtobufCMessage *old, const ProtobufCMessage *m);
/* The same, given the record's customer as it is in t (its owner and bin
 * state go into a follow-up's time entry without reading it again). */
int kehu_store_child_put_for(kehu_txn *t, const kehu_kind_info *k, const Kehu__Customer *c,
                             uint64_t cust, uint64_t seq, const ProtobufCMessage *old,
                             const ProtobufCMessage *m);
int kehu_store_child_delete(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t seq,
                            const ProtobufCMessage *old);
/* Records of one customer (cust != 0) or of all, newest first, below the
 * cursor seq `before` (0: from the newest). accept(m, its customer, arg)
 * takes ownership of m and returns 1 to count it toward limit, 0 to skip. */
int kehu_store_child_list(kehu_txn *t, const kehu_kind_info *k, uint64_t cust, uint64_t before,
                          unsigned limit,
                          int (*accept)(ProtobufCMessage *m, uint64_t cust, void *arg),
                          void *arg, uint64_t *next);
/* The contract holding a number, or 0. */
uint64_t kehu_store_contract_by_number(kehu_txn *t, const char *number);
/* Moves every record of customer from to customer to (merge); *moved counts. */
int kehu_store_children_move(kehu_txn *t, uint64_t from, uint64_t to, const char *to_id,
                             unsigned *moved);
/* Erases a customer, every record under it and every index entry. */
int kehu_store_customer_purge(kehu_txn *t, uint64_t key);

/* ---- attachment bytes (sealed, in chunks of KEHU_ATTACHMENT_CHUNK) ---- */
#define KEHU_ATTACHMENT_CHUNK (256 * 1024)
int kehu_store_attachment_put(kehu_txn *t, uint64_t seq, const uint8_t *data, size_t n);
/* Appends bytes [offset, offset + len) of attachment seq to out (a buffer
 * of at least len bytes); *got is how many there were. */
int kehu_store_attachment_read(kehu_txn *t, uint64_t seq, uint64_t offset, size_t len,
                               uint8_t *out, size_t *got);

/* ---- audit log: append-only, each entry holding the SHA-256 of the one
 * before; the head (last seq and hash) is kept apart in meta ---- */
/* Appends e (seq and prev_hash are filled in) in t's transaction. */
int kehu_store_audit_append(kehu_txn *t, Kehu__AuditEntry *e);
/* Entries newest first below `before` (0: from the newest). each(e, arg)
 * returns 1 to count the entry toward limit. */
int kehu_store_audit_list(kehu_txn *t, uint64_t before, unsigned limit,
                          int (*each)(const Kehu__AuditEntry *e, void *arg), void *arg,
                          uint64_t *next);
/* The head kept apart from the log: the last sequence and its hash. */
int kehu_store_audit_head(kehu_txn *t, uint64_t *seq, unsigned char hash[32]);
/* Walks the whole chain; 0 problems means intact. report gets the first
 * problems found. Also compares the head kept apart. */
/* Archiving (docs/operations.md#audit-log): the oldest entries leave the
 * store once they are in an archive file. The base is the last entry that
 * left (0 and zeros: none) and the SHA-256 of its encoding, which the
 * first entry kept in the store names as its previous hash. */
int kehu_store_audit_base(kehu_txn *t, uint64_t *seq, unsigned char hash[32]);
/* The entries after `after`, oldest first, while their time is below
 * `before` and fewer than max were given: each(seq, encoding, len, arg). */
int kehu_store_audit_oldest(kehu_txn *t, uint64_t after, int64_t before, size_t max,
                            int (*each)(uint64_t seq, const void *bytes, size_t len, void *arg),
                            void *arg);
/* Removes every entry up to and including upto (archived), making it the
 * base. */
int kehu_store_audit_drop_through(kehu_txn *t, uint64_t upto);
/* The chain of the entries kept in the store, from the base. */
int kehu_store_audit_verify(kehu_txn *t, char *report, size_t len, unsigned long *problems,
                            uint64_t *entries);

/* ---- reminders ---- */
/* Writes r under seq and keeps its indexes: the due index holds it while
 * armed (at snoozed_until when snoozed, else due_at). */
int kehu_store_reminder_put(kehu_txn *t, uint64_t seq, const Kehu__Reminder *old,
                            const Kehu__Reminder *r);
int kehu_store_reminder_get(kehu_txn *t, uint64_t seq, Kehu__Reminder **out);
int kehu_store_reminder_delete(kehu_txn *t, uint64_t seq, const Kehu__Reminder *old);
/* The reminder raised by a rule source, or 0. */
uint64_t kehu_store_reminder_by_source(kehu_txn *t, const char *source);
/* The earliest armed time; 0 when nothing is armed. */
int64_t kehu_store_reminder_next_due(kehu_txn *t);
/* Armed reminders due at or before now, oldest first, at most max. */
size_t kehu_store_reminder_due(kehu_txn *t, int64_t now, uint64_t *seqs, size_t max);
/* A user's reminders, newest first, below `before`; each(r, arg) returns 1
 * to count it toward limit. */
int kehu_store_reminder_of_user(kehu_txn *t, const char *user, uint64_t before, unsigned limit,
                                int (*each)(const Kehu__Reminder *r, uint64_t seq, void *arg),
                                void *arg, uint64_t *next);
/* Every reminder about a customer (merge moves them, purge erases them), at
 * most max; seqs NULL only counts them. */
size_t kehu_store_reminder_of_customer(kehu_txn *t, uint64_t cust, uint64_t *seqs, size_t max);

/* ---- custom field definitions ---- */
int kehu_store_field_put(kehu_txn *t, const Kehu__FieldDef *def);
/* Every definition of entity, in key order; each owns nothing. */
int kehu_store_field_each(kehu_txn *t, const char *entity,
                          int (*each)(const Kehu__FieldDef *def, void *arg), void *arg);

/* ---- users and sessions ---- */
int kehu_store_user_get(kehu_txn *t, const char *username, Kehu__UserRecord **out);
int kehu_store_user_put(kehu_txn *t, const Kehu__UserRecord *u);
/* Calls each(u, arg) for every user in name order; the store frees u. */
int kehu_store_user_each(kehu_txn *t, void (*each)(const Kehu__UserRecord *u, void *arg),
                         void *arg);
int kehu_store_session_get(kehu_txn *t, const unsigned char hash[32], Kehu__SessionRecord **out);
int kehu_store_session_put(kehu_txn *t, const unsigned char hash[32],
                           const Kehu__SessionRecord *s);
int kehu_store_session_delete(kehu_txn *t, const unsigned char hash[32]);
/* Ends every session of username (password, role or disabled changed). */
int kehu_store_session_delete_user(kehu_txn *t, const char *username, unsigned *ended);

#endif
