/* The search index: postings token -> customer key, and for each customer
 * the set of tokens it is posted under (search_doc), so that any change of
 * its names, tags or contacts moves exactly the postings that differ, in
 * the same transaction as the change.
 *
 * Postings of customers new since the last fold go to a small pending table
 * of the same shape (search_pend) instead of the big one, as PostgreSQL's GIN
 * "fastupdate" does: a commit of many new customers then dirties a few
 * hundred pages of the small table rather than one page per token of the big
 * one. Queries read both. The writer folds the pending postings into the big
 * table in token order, many customers per posting page, when the pending
 * table grows past a bound and when it has nothing else to do. Each posting
 * is in exactly one of the two tables; a customer's may be split between
 * them, as a fold moves a token's postings, not a customer's. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search_text.h"
#include "store_internal.h"
#include "validate.h"

#define TOKEN_HMAC 0x01      /* first byte of a keyed-hash token */

typedef struct {
  unsigned char len;
  unsigned char bytes[KEHU_TOKEN_MAX];
} token;

typedef struct {
  token *items;
  size_t n, cap;
  int overflow;   /* more than KEHU_SEARCH_MAX_TOKENS, or out of memory */
} token_set;

static void add_token(const char *s, size_t len, void *arg)
{
  token_set *set = arg;
  if (len == 0 || len > KEHU_TOKEN_MAX)
    return;
  if (set->n == set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 64;
    token *p = cap <= KEHU_SEARCH_MAX_TOKENS ? realloc(set->items, cap * sizeof *p) : NULL;
    if (!p) {
      set->overflow = 1;
      return;
    }
    set->items = p;
    set->cap = cap;
  }
  set->items[set->n].len = (unsigned char)len;
  memcpy(set->items[set->n].bytes, s, len);
  set->n++;
}

/* A sensitive value as a token: a keyed hash, never the value. */
static void add_secret(kehu_store *st, token_set *set, const char *kind, const char *value)
{
  char buf[320];
  unsigned char h[33];
  snprintf(buf, sizeof buf, "%s:%s", kind, value);
  h[0] = TOKEN_HMAC;
  kehu_index_hmac(st, buf, h + 1);
  add_token((const char *)h, sizeof h, set);
}

static void add_phone(kehu_store *st, token_set *set, const char *phone)
{
  char digits[32];
  size_t n = 0;
  for (const char *p = phone; *p && n + 1 < sizeof digits; p++)
    if (isdigit((unsigned char)*p))
      digits[n++] = *p;
  digits[n] = '\0';
  add_secret(st, set, "phone", phone);
  if (n >= 4)
    add_secret(st, set, "tail4", digits + n - 4);
  if (n >= 8)
    add_secret(st, set, "tail8", digits + n - 8);
}

static void add_email(kehu_store *st, token_set *set, const char *email)
{
  char *folded = kehu_search_fold(email);
  if (folded) {
    add_secret(st, set, "email", folded);
    free(folded);
  }
}

static int token_cmp(const void *a, const void *b)
{
  const token *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->bytes, y->bytes, n);
  return c ? c : (int)x->len - (int)y->len;
}

static void sort_unique(token_set *set)
{
  if (!set->n)
    return;
  qsort(set->items, set->n, sizeof *set->items, token_cmp);
  size_t w = 1;
  for (size_t i = 1; i < set->n; i++)
    if (token_cmp(&set->items[i], &set->items[w - 1]) != 0)
      set->items[w++] = set->items[i];
  set->n = w;
}

static void add_contact(kehu_store *st, token_set *set, const Kehu__Contact *c)
{
  kehu_search_index_tokens(c->name, add_token, set);
  for (size_t i = 0; i < c->n_phones; i++)
    add_phone(st, set, c->phones[i]);
  if (c->email)
    add_email(st, set, c->email);
}

/* Every contact of cust, read from the contacts table directly: search is
 * derived from the tables and calls none of their files back. */
static int add_contacts(kehu_txn *t, uint64_t cust, token_set *set)
{
  const kehu_kind_info *kind = kehu_kind_get(KEHU_KIND_CONTACT);
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->children[KEHU_KIND_CONTACT], &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char start[16];
  kehu_key_put_u64(start, cust);
  memset(start + 8, 0, 8);
  MDB_val key = {16, start}, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
       rc == 0 && key.mv_size == 16 && kehu_key_get_u64(key.mv_data) == cust;
       rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
    ProtobufCMessage *m = kehu_decode_record(t->st, &key, &v, kind->desc, kind->sealed);
    if (!m) {
      status = KEHU_INTERNAL;
      break;
    }
    add_contact(t->st, set, (const Kehu__Contact *)m);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}

/* The name's head token: the names a query is a prefix of are found in
 * its list (docs/architecture.md#search). */
static void add_head(token_set *set, const char *name)
{
  char *folded = name ? kehu_search_fold(name) : NULL;
  char head[KEHU_TOKEN_MAX];
  size_t n = folded ? kehu_search_head_token(folded, head) : 0;
  if (n)
    add_token(head, n, set);
  free(folded);
}

/* What a customer is found by, now: its names and tags, and every
 * contact's name, phones and email. */
static int current_tokens(kehu_txn *t, uint64_t cust, token_set *set)
{
  unsigned char k[8];
  kehu_key_put_u64(k, cust);
  Kehu__Customer *c;
  int rc = kehu_get_message(t, t->st->customers, k, 8, &kehu__customer__descriptor,
                            (ProtobufCMessage **)&c);
  if (rc == KEHU_NOT_FOUND)
    return KEHU_OK;   /* gone: no tokens */
  if (rc != KEHU_OK)
    return rc;
  kehu_search_index_tokens(c->name, add_token, set);
  add_head(set, c->name);
  kehu_search_index_tokens(c->short_name, add_token, set);
  for (size_t i = 0; i < c->n_tags; i++)
    kehu_search_index_tokens(c->tags[i], add_token, set);
  kehu__customer__free_unpacked(c, NULL);
  rc = add_contacts(t, cust, set);
  if (rc == KEHU_OK && set->overflow)
    rc = KEHU_EXHAUSTED;   /* KEHU_SEARCH_MAX_TOKENS: refused, never cut short */
  sort_unique(set);
  return rc;
}

/* The tokens stored for a customer at its last indexing. */
static int stored_tokens(kehu_txn *t, uint64_t cust, token_set *set)
{
  unsigned char k[8];
  kehu_key_put_u64(k, cust);
  MDB_val key = {8, k}, v;
  int rc = mdb_get(t->txn, t->st->search_doc, &key, &v);
  if (rc == MDB_NOTFOUND)
    return KEHU_OK;
  if (rc != 0)
    return kehu_store_status(rc);
  const unsigned char *p = v.mv_data, *end = p + v.mv_size;
  while (p < end && p + 1 + *p <= end) {
    add_token((const char *)p + 1, *p, set);
    p += 1 + *p;
  }
  return KEHU_OK;
}

/* Posts (add) or removes token -> cust in the posting table dbi. */
static int posting(kehu_txn *t, MDB_dbi dbi, const token *tok, uint64_t cust, int add)
{
  unsigned char cb[8];
  kehu_key_put_u64(cb, cust);
  MDB_val key = {tok->len, (void *)tok->bytes}, v = {8, cb};
  int rc;
  if (add) {
    /* New customers have the highest keys: appending keeps posting pages
     * full (plain puts leave them half full); an older customer's token
     * goes in the ordinary way. */
    rc = mdb_put(t->txn, dbi, &key, &v, MDB_NODUPDATA | MDB_APPENDDUP);
    if (rc == MDB_KEYEXIST)
      rc = mdb_put(t->txn, dbi, &key, &v, MDB_NODUPDATA);
  } else {
    rc = mdb_del(t->txn, dbi, &key, &v);
  }
  return rc == 0 || rc == MDB_KEYEXIST || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

static int has_posting(MDB_cursor *cur, const token *tok, uint64_t cust)
{
  unsigned char cb[8];
  kehu_key_put_u64(cb, cust);
  MDB_val key = {tok->len, (void *)tok->bytes}, v = {8, cb};
  return mdb_cursor_get(cur, &key, &v, MDB_GET_BOTH) == 0;
}

/* The tokens a customer is stored under become set (sorted, unique). */
static int write_doc(kehu_txn *t, uint64_t cust, const token_set *set)
{
  unsigned char k[8];
  kehu_key_put_u64(k, cust);
  MDB_val key = {8, k};
  if (!set->n) {
    int mrc = mdb_del(t->txn, t->st->search_doc, &key, NULL);
    return mrc == 0 || mrc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(mrc);
  }
  size_t size = 0;
  for (size_t x = 0; x < set->n; x++)
    size += 1 + set->items[x].len;
  MDB_val v = {size, NULL};
  int rc = kehu_store_status(mdb_put(t->txn, t->st->search_doc, &key, &v, MDB_RESERVE));
  unsigned char *p = v.mv_data;
  for (size_t x = 0; rc == KEHU_OK && x < set->n; x++) {
    *p++ = set->items[x].len;
    memcpy(p, set->items[x].bytes, set->items[x].len);
    p += set->items[x].len;
  }
  return rc;
}

/* Moves cust's postings from before to now (both sorted, unique), new
 * ones into dbi. */
static int move_postings(kehu_txn *t, uint64_t cust, const token_set *now,
                         const token_set *before, MDB_dbi dbi)
{
  int rc = KEHU_OK;
  /* a merge walk over two sorted sets: post what is new, drop what is gone */
  size_t i = 0, j = 0;
  while (rc == KEHU_OK && (i < now->n || j < before->n)) {
    int c = i == now->n      ? 1
            : j == before->n ? -1
                             : token_cmp(&now->items[i], &before->items[j]);
    if (c < 0)
      rc = posting(t, dbi, &now->items[i++], cust, 1);
    else if (c > 0) {
      rc = posting(t, t->st->search, &before->items[j], cust, 0);
      if (rc == KEHU_OK)
        rc = posting(t, t->st->search_pend, &before->items[j], cust, 0);
      j++;
    }
    else
      i++, j++;
  }
  return rc;
}

/* direct: a customer indexed for the first time goes straight into the
 * posting lists too (kehu_store_search_flush). */
static int reindex(kehu_txn *t, uint64_t cust, int direct)
{
  token_set now = {0}, before = {0};
  int rc = current_tokens(t, cust, &now);
  if (rc == KEHU_OK)
    rc = stored_tokens(t, cust, &before);
  /* A customer indexed for the first time is posted to the pending table;
   * a token new to one indexed before goes straight into its list. A token
   * that goes is in one table or the other (a fold moves tokens, not
   * customers). */
  if (rc == KEHU_OK)
    rc = move_postings(t, cust, &now, &before,
                       before.n || direct ? t->st->search : t->st->search_pend);
  if (rc == KEHU_OK)
    rc = write_doc(t, cust, &now);
  free(now.items);
  free(before.items);
  return rc;
}

int kehu_store_search_reindex(kehu_txn *t, uint64_t cust)
{
  return reindex(t, cust, 0);
}

/* Store format 9: a customer gets its name's head token, posted straight
 * into the posting lists and added to its recorded tokens. */
int kehu_store_search_add_head(kehu_txn *t, uint64_t cust, const Kehu__Customer *c)
{
  token_set head = {0}, doc = {0};
  add_head(&head, c->name);
  if (head.n == 0)
    return KEHU_OK;
  int status = stored_tokens(t, cust, &doc);
  int has = 0;   /* already recorded (and posted in one of the two tables) */
  for (size_t i = 0; i < doc.n && !has; i++)
    has = token_cmp(&doc.items[i], &head.items[0]) == 0;
  if (status == KEHU_OK && !has)
    status = posting(t, t->st->search, &head.items[0], cust, 1);
  if (status == KEHU_OK && !has) {
    add_token((const char *)head.items[0].bytes, head.items[0].len, &doc);
    sort_unique(&doc);
    status = doc.overflow ? KEHU_EXHAUSTED : write_doc(t, cust, &doc);
  }
  free(head.items);
  free(doc.items);
  return status;
}

int kehu_store_search_doc_current(kehu_txn *t, uint64_t cust, int *current)
{
  token_set now = {0}, before = {0};
  int rc = current_tokens(t, cust, &now);
  if (rc == KEHU_OK)
    rc = stored_tokens(t, cust, &before);
  sort_unique(&before);
  *current = rc == KEHU_OK && now.n == before.n;
  for (size_t i = 0; *current && i < now.n; i++)
    *current = token_cmp(&now.items[i], &before.items[i]) == 0;
  free(now.items);
  free(before.items);
  return rc;
}

/* ---- deferred reindexing ---- */

void kehu_store_search_defer(kehu_txn *t, kehu_search_defer *d)
{
  memset(d, 0, sizeof *d);
  t->defer = d;
}

int kehu_store_search_changed(kehu_txn *t, uint64_t cust)
{
  kehu_search_defer *d = t->defer;
  if (!d)
    return kehu_store_search_reindex(t, cust);
  if (d->n && d->keys[d->n - 1] == cust)
    return KEHU_OK;   /* the customer just noted, changed again */
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 1024;
    uint64_t *keys = realloc(d->keys, cap * sizeof *keys);
    if (!keys)
      return kehu_store_search_reindex(t, cust);   /* no room to note it: now */
    d->keys = keys;
    d->cap = cap;
  }
  d->keys[d->n++] = cust;
  return KEHU_OK;
}

static int key_cmp_asc(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* A deferral with at least this many customers posts the new ones
 * straight into the posting lists: the pending table saves pages when a
 * commit adds a few customers, but a batch this large dirties about as many
 * posting pages either way, and through the pending table writes and
 * deletes every posting once more. (Posting them in token order rather
 * than customer by customer was measured: the sort cost what it saved.) */
#define DIRECT_MIN 256

int kehu_store_search_flush(kehu_txn *t)
{
  kehu_search_defer *d = t->defer;
  if (!d)
    return KEHU_OK;
  t->defer = NULL;
  int rc = KEHU_OK;
  size_t n = 0;
  if (d->n) {
    qsort(d->keys, d->n, sizeof *d->keys, key_cmp_asc);
    for (size_t i = 0; i < d->n; i++)
      if (i == 0 || d->keys[i] != d->keys[n - 1])
        d->keys[n++] = d->keys[i];
  }
  for (size_t i = 0; i < n && rc == KEHU_OK; i++)
    rc = reindex(t, d->keys[i], n >= DIRECT_MIN);
  free(d->keys);
  memset(d, 0, sizeof *d);
  return rc;
}

/* ---- the pending table ---- */

int kehu_store_search_pending(kehu_txn *t, size_t *entries)
{
  MDB_stat ms;
  int rc = mdb_stat(t->txn, t->st->search_pend, &ms);
  *entries = rc == 0 ? ms.ms_entries : 0;
  return kehu_store_status(rc);
}

_Static_assert(sizeof(((kehu_fold_pos *)0)->bytes) == KEHU_TOKEN_MAX, "a fold position holds a token");

int kehu_store_search_fold(kehu_txn *t, size_t max, kehu_fold_pos *pos, size_t *folded)
{
  *folded = 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->search_pend, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  int status = KEHU_OK;
  MDB_val key, v;
  /* A token at a time, in token order: its pending customers (ascending,
   * and mostly newer than every customer of its posting list: those are
   * appended, others put in place) go into the list, then the token leaves
   * the pending table. */
  for (int wrapped = 0; status == KEHU_OK && *folded < max;) {
    /* the first token after pos, or the table's first once past its end */
    key.mv_size = pos->len;
    key.mv_data = pos->bytes;
    rc = pos->len ? mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE)
                  : mdb_cursor_get(cur, &key, &v, MDB_FIRST);
    if (rc == MDB_NOTFOUND && pos->len && !wrapped) {
      pos->len = 0;
      wrapped = 1;
      continue;
    }
    if (rc != 0)
      break;
    token tok;
    if (key.mv_size == 0 || key.mv_size > KEHU_TOKEN_MAX) {
      status = KEHU_INTERNAL;
      break;
    }
    tok.len = (unsigned char)key.mv_size;
    memcpy(tok.bytes, key.mv_data, key.mv_size);
    for (; rc == 0 && status == KEHU_OK; rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT_DUP)) {
      status = v.mv_size == 8
                   ? posting(t, t->st->search, &tok, kehu_key_get_u64(v.mv_data), 1)
                   : KEHU_INTERNAL;
      (*folded)++;
    }
    if (status == KEHU_OK && rc != MDB_NOTFOUND)
      status = kehu_store_status(rc);   /* not all copied: delete nothing */
    if (status != KEHU_OK)
      break;
    key.mv_size = tok.len;
    key.mv_data = tok.bytes;
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_KEY);
    if (rc == 0)
      rc = mdb_cursor_del(cur, MDB_NODUPDATA);
    if (rc != 0)
      status = kehu_store_status(rc);
    /* go on after this token: SET_RANGE finds the next one, as it is gone */
    pos->len = tok.len;
    memcpy(pos->bytes, tok.bytes, tok.len);
  }
  if (status == KEHU_OK && rc != 0 && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  mdb_cursor_close(cur);
  return status;
}

/* ---- queries ---- */

typedef struct {
  token tok;
  int prefix;       /* a single Chinese character: any key starting with it */
  size_t count;     /* postings under an exact token */
} probe;

typedef struct {
  probe *items;
  size_t n, cap;
  int prefix_next;
} probe_list;

static void add_probe(const char *s, size_t len, void *arg)
{
  probe_list *l = arg;
  if (len == 0 || len > KEHU_TOKEN_MAX || l->n == l->cap)
    return;
  probe *p = &l->items[l->n++];
  memset(p, 0, sizeof *p);
  p->tok.len = (unsigned char)len;
  memcpy(p->tok.bytes, s, len);
}

/* A term that is a phone number, a phone's tail or an email is looked up
 * by its keyed hash. */
static int secret_probe(kehu_store *st, const char *term, probe_list *l)
{
  static const char *const names[] = {
    [KEHU_TERM_PHONE] = "phone", [KEHU_TERM_TAIL4] = "tail4", [KEHU_TERM_TAIL8] = "tail8",
    [KEHU_TERM_EMAIL] = "email"};
  char normal[256];
  kehu_term_kind kind = kehu_search_term_kind(term, normal, sizeof normal);
  if (kind == KEHU_TERM_TEXT)
    return 0;
  token_set set = {0};
  add_secret(st, &set, names[kind], normal);
  if (set.n)
    add_probe((const char *)set.items[0].bytes, set.items[0].len, l);
  free(set.items);
  return 1;
}

static int key_cmp_desc(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

#define MAX_PREFIX_CANDIDATES 200000
/* A query of legal forms alone reads at most the newest MAX_SCAN customers:
 * a search must not hold a read transaction (and a map resize) for long. */
#define MAX_SCAN 20000

/* A posting list read newest first: the big table's and the pending
 * table's lists of one token, merged. */
typedef struct {
  MDB_cursor *cur[2];
  MDB_val key[2], v[2];
  int rc[2];
} newest_first;

static void walk_start(newest_first *w, const token *tok)
{
  for (int i = 0; i < 2; i++) {
    w->key[i] = (MDB_val){tok->len, (void *)tok->bytes};
    w->rc[i] = mdb_cursor_get(w->cur[i], &w->key[i], &w->v[i], MDB_SET_KEY);
    if (w->rc[i] == 0)
      w->rc[i] = mdb_cursor_get(w->cur[i], &w->key[i], &w->v[i], MDB_LAST_DUP);
  }
}

/* The same, from the newest key below `below` (all of them when 0). */
static void walk_start_below(newest_first *w, const token *tok, uint64_t below)
{
  if (!below) {
    walk_start(w, tok);
    return;
  }
  unsigned char b[8];
  kehu_key_put_u64(b, below);
  for (int i = 0; i < 2; i++) {
    w->key[i] = (MDB_val){tok->len, (void *)tok->bytes};
    w->v[i] = (MDB_val){8, b};
    /* the first posting at or above below, then the one before it; none
     * at or above: the list's last */
    w->rc[i] = mdb_cursor_get(w->cur[i], &w->key[i], &w->v[i], MDB_GET_BOTH_RANGE);
    if (w->rc[i] == 0) {
      w->rc[i] = mdb_cursor_get(w->cur[i], &w->key[i], &w->v[i], MDB_PREV_DUP);
    } else {
      w->key[i] = (MDB_val){tok->len, (void *)tok->bytes};
      w->rc[i] = mdb_cursor_get(w->cur[i], &w->key[i], &w->v[i], MDB_SET_KEY);
      if (w->rc[i] == 0)
        w->rc[i] = mdb_cursor_get(w->cur[i], &w->key[i], &w->v[i], MDB_LAST_DUP);
    }
  }
}

/* The next customer key, newest first; 0 when both lists are done. */
static uint64_t walk_next(newest_first *w)
{
  uint64_t k[2] = {0, 0};
  for (int i = 0; i < 2; i++)
    if (w->rc[i] == 0 && w->v[i].mv_size == 8)
      k[i] = kehu_key_get_u64(w->v[i].mv_data);
    else
      w->rc[i] = MDB_NOTFOUND;
  uint64_t top = k[0] > k[1] ? k[0] : k[1];
  for (int i = 0; i < 2; i++)
    if (w->rc[i] == 0 && k[i] == top)
      w->rc[i] = mdb_cursor_get(w->cur[i], &w->key[i], &w->v[i], MDB_PREV_DUP);
  return top;
}

static int posted(MDB_cursor *const cur[2], const token *tok, uint64_t cust)
{
  return has_posting(cur[0], tok, cust) || has_posting(cur[1], tok, cust);
}

static size_t posting_count(MDB_cursor *const cur[2], const token *tok)
{
  size_t total = 0;
  for (int i = 0; i < 2; i++) {
    MDB_val key = {tok->len, (void *)tok->bytes}, v;
    size_t n;
    if (mdb_cursor_get(cur[i], &key, &v, MDB_SET_KEY) == 0 && mdb_cursor_count(cur[i], &n) == 0)
      total += n;
  }
  return total;
}

/* Every customer under a key that starts with p, from both tables, newest
 * first, each once. */
static int prefix_matches(MDB_cursor *const cur[2], const token *p,
                          int (*each)(uint64_t key, void *arg), void *arg)
{
  size_t n = 0, cap = 4096;
  uint64_t *keys = malloc(sizeof *keys * cap);
  if (!keys)
    return KEHU_EXHAUSTED;
  int status = KEHU_OK;
  /* the pending table (the newest customers) first, each table with its
   * own bound */
  for (int i = 1; i >= 0 && status == KEHU_OK; i--) {
    MDB_val key = {p->len, (void *)p->bytes}, v;
    size_t limit = n + MAX_PREFIX_CANDIDATES;
    for (int rc = mdb_cursor_get(cur[i], &key, &v, MDB_SET_RANGE);
         rc == 0 && key.mv_size >= p->len && memcmp(key.mv_data, p->bytes, p->len) == 0 &&
         n < limit;
         rc = mdb_cursor_get(cur[i], &key, &v, MDB_NEXT)) {
      if (n == cap) {
        uint64_t *more = realloc(keys, sizeof *keys * cap * 2);
        if (!more) {
          status = KEHU_EXHAUSTED;
          break;
        }
        keys = more;
        cap *= 2;
      }
      keys[n++] = kehu_key_get_u64(v.mv_data);
    }
  }
  if (status != KEHU_OK) {
    free(keys);
    return status;
  }
  qsort(keys, n, sizeof *keys, key_cmp_desc);
  for (size_t i = 0; i < n; i++)
    if ((i == 0 || keys[i] != keys[i - 1]) && !each(keys[i], arg))
      break;
  free(keys);
  return KEHU_OK;
}

/* The newest MAX_SCAN customers (of owner, when not NULL), newest first:
 * for a query of legal forms alone ("有限公司", "Ltd"), which the index
 * leaves out; each checks the text. */
static int every_customer(kehu_txn *t, const char *owner, int (*each)(uint64_t key, void *arg),
                          void *arg)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, owner ? t->st->cust_owner : t->st->customers, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val key = {owner ? strlen(owner) : 0, (void *)owner}, v;
  /* the owner index: the owner's keys, a dup list; the table: its keys */
  if (owner) {
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_KEY);
    if (rc == 0)
      rc = mdb_cursor_get(cur, &key, &v, MDB_LAST_DUP);
  } else {
    rc = mdb_cursor_get(cur, &key, &v, MDB_LAST);
  }
  for (size_t seen = 0; rc == 0 && seen < MAX_SCAN; seen++) {
    const MDB_val *k = owner ? &v : &key;
    if (k->mv_size == 8 && !each(kehu_key_get_u64(k->mv_data), arg))
      break;
    rc = mdb_cursor_get(cur, &key, &v, owner ? MDB_PREV_DUP : MDB_PREV);
  }
  mdb_cursor_close(cur);
  return KEHU_OK;
}

/* The probes of a query's terms into l; a deferring write's changes first. */
static int query_probes(kehu_txn *t, const char *const *terms, size_t nterms, probe_list *l)
{
  if (t->defer) {
    /* a search inside a deferring write sees the write's changes */
    kehu_search_defer *d = t->defer;
    int rc = kehu_store_search_flush(t);
    if (rc != KEHU_OK)
      return rc;
    t->defer = d;
  }
  /* the starts of stop words ("li", "co") only when nothing else is there */
  for (int keep_weak = 0; keep_weak < 2 && l->n == 0; keep_weak++)
    for (size_t i = 0; i < nterms; i++) {
      if (secret_probe(t->st, terms[i], l))
        continue;
      size_t before = l->n;
      kehu_query_shape shape;
      kehu_search_query_tokens(terms[i], keep_weak, add_probe, &shape, l);
      if (shape.single_char && l->n == before + 1)
        l->items[before].prefix = 1;
    }
  return KEHU_OK;
}

typedef struct {
  MDB_cursor *cur[2], *probe_cur[2];
} walk_cursors;

static int cursors_open(kehu_txn *t, walk_cursors *c)
{
  MDB_dbi dbi[2] = {t->st->search, t->st->search_pend};
  memset(c, 0, sizeof *c);
  for (int i = 0; i < 2; i++)
    if (mdb_cursor_open(t->txn, dbi[i], &c->cur[i]) != 0 ||
        mdb_cursor_open(t->txn, dbi[i], &c->probe_cur[i]) != 0)
      return KEHU_INTERNAL;
  return KEHU_OK;
}

static void cursors_close(walk_cursors *c)
{
  for (int i = 0; i < 2; i++) {
    if (c->cur[i])
      mdb_cursor_close(c->cur[i]);
    if (c->probe_cur[i])
      mdb_cursor_close(c->probe_cur[i]);
  }
}

/* The rarest exact probe, its count set; NULL when there is none. *none:
 * some exact token has no posting (nothing matches). */
static probe *driving_probe(MDB_cursor *const cur[2], probe_list *l, int *none)
{
  probe *drive = NULL;
  *none = 0;
  for (size_t i = 0; i < l->n && !*none; i++) {
    probe *p = &l->items[i];
    if (p->prefix)
      continue;
    p->count = posting_count(cur, &p->tok);
    *none = p->count == 0;
    if (!drive || p->count < drive->count)
      drive = p;
  }
  return drive;
}

/* A query of legal forms alone ("有限公司", "Ltd") has no token: its
 * phase of names that merely contain it reads the newest customers (of
 * w->owner only when given), each checked against the text by the caller. */
static int newest_customers(kehu_txn *t, kehu_search_walk *w, int (*each)(uint64_t key, void *arg),
                            void *arg)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, w->owner ? t->st->cust_owner : t->st->customers, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  token head = {0};
  if (w->head_len && w->head_len <= KEHU_TOKEN_MAX && w->without_head) {
    head.len = (unsigned char)w->head_len;
    memcpy(head.bytes, w->head, w->head_len);
  }
  MDB_cursor *hc[2] = {NULL, NULL};
  if (head.len && (mdb_cursor_open(t->txn, t->st->search, &hc[0]) != 0 ||
                   mdb_cursor_open(t->txn, t->st->search_pend, &hc[1]) != 0))
    rc = MDB_PANIC;
  unsigned char b[8];
  kehu_key_put_u64(b, w->below);
  MDB_val key = {w->owner ? strlen(w->owner) : 0, (void *)w->owner}, v = {8, b};
  if (rc != 0) {
    /* cursors failed above */
  } else if (w->owner) {
    /* the owner index: the owner's keys, a dup list */
    rc = w->below ? mdb_cursor_get(cur, &key, &v, MDB_GET_BOTH_RANGE) : MDB_NOTFOUND;
    if (rc == 0) {
      rc = mdb_cursor_get(cur, &key, &v, MDB_PREV_DUP);
    } else {
      key = (MDB_val){strlen(w->owner), (void *)w->owner};
      rc = mdb_cursor_get(cur, &key, &v, MDB_SET_KEY);
      if (rc == 0)
        rc = mdb_cursor_get(cur, &key, &v, MDB_LAST_DUP);
    }
  } else {
    /* the table: its keys */
    key = (MDB_val){8, b};
    rc = w->below ? mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE) : MDB_NOTFOUND;
    rc = rc == 0 ? mdb_cursor_get(cur, &key, &v, MDB_PREV) : mdb_cursor_get(cur, &key, &v, MDB_LAST);
  }
  size_t read = 0;
  for (; rc == 0; rc = mdb_cursor_get(cur, &key, &v, w->owner ? MDB_PREV_DUP : MDB_PREV)) {
    const MDB_val *k = w->owner ? &v : &key;
    if (k->mv_size != 8)
      continue;
    uint64_t cust = kehu_key_get_u64(k->mv_data);
    if ((!head.len || !posted(hc, &head, cust)) && !each(cust, arg))
      break;
    if (w->budget && ++read == w->budget) {
      w->stopped = cust;
      break;
    }
  }
  for (int i = 0; i < 2; i++)
    if (hc[i])
      mdb_cursor_close(hc[i]);
  mdb_cursor_close(cur);
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

int kehu_store_search_walk(kehu_txn *t, const char *const *terms, size_t nterms, kehu_search_walk *w,
                           int (*each)(uint64_t key, void *arg), void *arg)
{
  probe items[65];
  probe_list l = {items, 0, 64, 0};
  w->stopped = 0;
  int status = query_probes(t, terms, nterms, &l);
  if (status != KEHU_OK)
    return status;
  int exact = 0;
  for (size_t i = 0; i < l.n; i++)
    exact |= !l.items[i].prefix;
  if (!exact && l.n)
    return KEHU_INVALID;   /* single characters: kehu_store_search's key prefixes */
  if (l.n == 0 && (!w->head_len || w->without_head))
    return newest_customers(t, w, each, arg);   /* legal forms alone: no token to look up */
  token head = {0};
  if (w->head_len && w->head_len <= KEHU_TOKEN_MAX) {
    head.len = (unsigned char)w->head_len;
    memcpy(head.bytes, w->head, w->head_len);
    if (!w->without_head) {
      l.cap = 65;
      add_probe(w->head, w->head_len, &l);
    }
  }
  walk_cursors c;
  MDB_cursor *owner_cur = NULL;
  status = cursors_open(t, &c);
  if (status == KEHU_OK && w->owner && mdb_cursor_open(t->txn, t->st->cust_owner, &owner_cur) != 0)
    status = KEHU_INTERNAL;
  int none = 0;
  probe *drive = status == KEHU_OK ? driving_probe(c.cur, &l, &none) : NULL;
  if (status == KEHU_OK && !none && drive) {
    newest_first nf = {{c.cur[0], c.cur[1]}, {{0}}, {{0}}, {0}};
    walk_start_below(&nf, &drive->tok, w->below);
    MDB_val ok = {w->owner ? strlen(w->owner) : 0, (void *)w->owner};
    size_t read = 0;
    for (uint64_t cust; (cust = walk_next(&nf)) != 0;) {
      int all = 1;
      for (size_t i = 0; i < l.n && all; i++) {
        probe *p = &l.items[i];
        if (p == drive)
          continue;
        /* a single character's term is checked against the text by the
         * caller, as in kehu_store_search */
        all = p->prefix || posted(c.probe_cur, &p->tok, cust);
      }
      if (all && head.len && w->without_head)
        all = !posted(c.probe_cur, &head, cust);
      if (all && owner_cur) {
        unsigned char kb[8];
        kehu_key_put_u64(kb, cust);
        MDB_val k = ok, v = {8, kb};
        all = mdb_cursor_get(owner_cur, &k, &v, MDB_GET_BOTH) == 0;
      }
      if (all && !each(cust, arg))
        break;
      if (w->budget && ++read == w->budget) {
        w->stopped = cust;
        break;
      }
    }
  }
  cursors_close(&c);
  if (owner_cur)
    mdb_cursor_close(owner_cur);
  return status;
}

int kehu_store_search(kehu_txn *t, const char *const *terms, size_t nterms, const char *owner,
                      int (*each)(uint64_t key, void *arg), void *arg)
{
  probe items[64];
  probe_list l = {items, 0, 64, 0};
  int status = query_probes(t, terms, nterms, &l);
  if (status != KEHU_OK)
    return status;
  if (l.n == 0)
    return every_customer(t, owner, each, arg);   /* only legal forms: no token to look up */
  /* cur: the two tables, for counts and the driving list; probe: the two
   * tables again, for the other tokens of each candidate. */
  walk_cursors c;
  status = cursors_open(t, &c);
  /* The rarest exact token drives; the others are probed per candidate. */
  int none = 0;
  probe *drive = status == KEHU_OK ? driving_probe(c.cur, &l, &none) : NULL;
  if (status != KEHU_OK || none) {
    /* nothing to read */
  } else if (drive) {
    newest_first w = {{c.cur[0], c.cur[1]}, {{0}}, {{0}}, {0}};
    walk_start(&w, &drive->tok);
    for (uint64_t cust; (cust = walk_next(&w)) != 0;) {
      int all = 1;
      for (size_t i = 0; i < l.n && all; i++)
        if (&l.items[i] != drive && !l.items[i].prefix)
          all = posted(c.probe_cur, &l.items[i].tok, cust);
      if (all && !each(cust, arg))
        break;
    }
  } else {
    /* Only single characters: every key that starts with the first. */
    status = prefix_matches(c.cur, &l.items[0].tok, each, arg);
  }
  cursors_close(&c);
  return status;
}

int kehu_store_search_exact(kehu_txn *t, const char *name, uint64_t below,
                            int (*each)(uint64_t key, void *arg), void *arg)
{
  char name_key[512];
  if (kehu_customer_name_key(name, name_key, sizeof name_key) != 0)
    return KEHU_OK;   /* no key (all punctuation, a legal form): no exact match either */
  size_t len = strlen(name_key);
  if (len == 0 || len > 511)
    return KEHU_OK;
  MDB_cursor *cur;
  if (mdb_cursor_open(t->txn, t->st->cust_name, &cur) != 0)
    return KEHU_INTERNAL;
  unsigned char b[8];
  kehu_key_put_u64(b, below);
  MDB_val k = {len, (void *)name_key}, v = {8, b};
  int rc = below ? mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH_RANGE) : MDB_NOTFOUND;
  if (rc == 0) {
    rc = mdb_cursor_get(cur, &k, &v, MDB_PREV_DUP);
  } else {
    k = (MDB_val){len, (void *)name_key};
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    if (rc == 0)
      rc = mdb_cursor_get(cur, &k, &v, MDB_LAST_DUP);
  }
  for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV_DUP))
    if (v.mv_size == 8 && !each(kehu_key_get_u64(v.mv_data), arg))
      break;
  mdb_cursor_close(cur);
  return KEHU_OK;
}
