/* The sort index (docs/storage.md#sort-index): every customer has one
 * entry per sort field, keyed so that LMDB's byte order is the list's
 * order, per owner and bin state:
 *
 *   field (1) | binned (1) | owner | 0x00 | order key | ~customer key (8)
 *
 * with no value. The order key (kehu_sort_order_key) is the folded name
 * and a 0x00, a time as 8 big-endian bytes with the sign bit flipped, or
 * the stage's place in the funnel; the customer key is inverted so that
 * equal order keys go newest first. A derived table, moved with its
 * customer in the same write transaction (kehu_store_sort_move).
 *
 * A sorted list opens one cursor per owner the caller may see and merges
 * them (docs/architecture.md#sorted-lists): a page costs a seek per owner
 * and a step per row, whatever the number of customers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "search_text.h"
#include "store_internal.h"

#define OWNER_MAX 200   /* usernames have 64 at most; longer ones are cut */
#define PREFIX_MAX (2 + OWNER_MAX + 1)
#define ENTRY_MAX (PREFIX_MAX + KEHU_SORT_POS_MAX)

static int binned(const Kehu__Customer *c)
{
  return c->has_deleted && c->deleted;
}

static void put_time(unsigned char *p, int64_t v)
{
  kehu_key_put_u64(p, (uint64_t)v ^ UINT64_C(0x8000000000000000));
}

static unsigned char stage_rank(const char *stage)
{
  static const char *const funnel[] = {"potential", "intent", "closed", "lost"};
  for (unsigned char i = 0; stage && i < sizeof funnel / sizeof *funnel; i++)
    if (strcmp(stage, funnel[i]) == 0)
      return i;
  return 4;
}

size_t kehu_sort_order_key(int field, const Kehu__Customer *c,
                           unsigned char out[KEHU_SORT_ORDER_MAX])
{
  switch (field) {
  case KEHU_SORT_NAME: {
    char *folded = kehu_search_fold(c->name ? c->name : "");
    /* a name that is not UTF-8 (it cannot be stored) sorts as its bytes */
    const char *s = folded ? folded : c->name ? c->name : "";
    size_t n = strlen(s);
    if (n > KEHU_SORT_ORDER_MAX - 1)
      n = KEHU_SORT_ORDER_MAX - 1;
    memcpy(out, s, n);
    out[n] = 0;
    free(folded);
    return n + 1;
  }
  case KEHU_SORT_CREATED: put_time(out, c->created_at); return 8;
  case KEHU_SORT_UPDATED: put_time(out, c->updated_at); return 8;
  case KEHU_SORT_LAST_CONTACT:
    /* never contacted: before every contact */
    put_time(out, c->has_last_contact_at ? c->last_contact_at : INT64_MIN);
    return 8;
  default: out[0] = stage_rank(c->stage); return 1;
  }
}

static size_t owner_prefix(unsigned char *out, int field, int bin, const char *owner)
{
  size_t ol = owner ? strlen(owner) : 0;
  if (ol > OWNER_MAX)
    ol = OWNER_MAX;
  out[0] = (unsigned char)field;
  out[1] = (unsigned char)bin;
  if (ol)
    memcpy(out + 2, owner, ol);
  out[2 + ol] = 0;
  return 3 + ol;
}

/* The whole entry of c for field; its length. */
static size_t entry_key(unsigned char out[ENTRY_MAX], int field, uint64_t cust,
                        const Kehu__Customer *c)
{
  size_t n = owner_prefix(out, field, binned(c), c->owner);
  n += kehu_sort_order_key(field, c, out + n);
  kehu_key_put_u64(out + n, ~cust);
  return n + 8;
}

int kehu_store_sort_move(kehu_txn *t, uint64_t cust, const Kehu__Customer *old,
                         const Kehu__Customer *c)
{
  unsigned char a[ENTRY_MAX], b[ENTRY_MAX];
  for (int field = 0; field < KEHU_SORT_FIELDS; field++) {
    size_t al = old ? entry_key(a, field, cust, old) : 0;
    size_t bl = c ? entry_key(b, field, cust, c) : 0;
    if (al == bl && memcmp(a, b, al) == 0)
      continue;
    int rc = 0;
    if (al) {
      MDB_val k = {al, a};
      rc = mdb_del(t->txn, t->st->cust_sort, &k, NULL);
      if (rc == MDB_NOTFOUND)
        rc = 0;
    }
    if (rc == 0 && bl) {
      MDB_val k = {bl, b}, v = {0, NULL};
      rc = mdb_put(t->txn, t->st->cust_sort, &k, &v, 0);
    }
    if (rc != 0)
      return kehu_store_status(rc);
  }
  return KEHU_OK;
}

/* ---- verify ---- */

int kehu_store_sort_has(kehu_txn *t, uint64_t cust, const Kehu__Customer *c, int *missing)
{
  *missing = 0;
  for (int field = 0; field < KEHU_SORT_FIELDS; field++) {
    unsigned char k[ENTRY_MAX];
    MDB_val key = {entry_key(k, field, cust, c), k}, v;
    int rc = mdb_get(t->txn, t->st->cust_sort, &key, &v);
    if (rc == MDB_NOTFOUND)
      (*missing)++;
    else if (rc != 0)
      return kehu_store_status(rc);
  }
  return KEHU_OK;
}

int kehu_store_sort_check(kehu_txn *t, kehu_findings *f)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->cust_sort, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  char id[24];
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    const unsigned char *p = k.mv_data;
    if (k.mv_size < 3 + 1 + 8 || p[0] >= KEHU_SORT_FIELDS || k.mv_size > ENTRY_MAX) {
      kehu_finding(f, "sort index: malformed entry\n");
      continue;
    }
    uint64_t cust = ~kehu_key_get_u64(p + k.mv_size - 8);
    kehu_customer_id_format(cust, id);
    Kehu__Customer *c;
    if (kehu_store_customer_get(t, cust, &c) != KEHU_OK) {
      kehu_finding(f, "sort index -> %s: no such customer\n", id);
      continue;
    }
    unsigned char want[ENTRY_MAX];
    size_t wl = entry_key(want, p[0], cust, c);
    if (wl != k.mv_size || memcmp(want, p, wl) != 0)
      kehu_finding(f, "sort index -> %s: a stray entry (field %u), not the customer's\n", id,
                   p[0]);
    kehu__customer__free_unpacked(c, NULL);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

/* ---- sorted pages ---- */

/* One owner's entries, walked in the list's order. */
typedef struct {
  MDB_cursor *cur;
  size_t plen;
  unsigned char prefix[PREFIX_MAX];
  size_t hlen;                      /* 0: exhausted */
  unsigned char head[KEHU_SORT_POS_MAX];   /* the current entry, past the prefix */
} stream;

typedef struct {
  kehu_txn *t;
  int field, desc;
  stream *s;
  size_t n, cap;
} merge;

/* Takes the entry at k (rc: how the cursor got there) as the head when it
 * belongs to the stream; an MDB code. */
static int take(stream *s, int rc, const MDB_val *k)
{
  s->hlen = 0;
  if (rc == MDB_NOTFOUND)
    return 0;
  if (rc != 0)
    return rc;
  if (k->mv_size < s->plen + 9 || k->mv_size - s->plen > KEHU_SORT_POS_MAX ||
      memcmp(k->mv_data, s->prefix, s->plen) != 0)
    return 0;
  s->hlen = k->mv_size - s->plen;
  memcpy(s->head, (const unsigned char *)k->mv_data + s->plen, s->hlen);
  return 0;
}

/* The first entry at or after prefix | pos (len bytes of it) as the head. */
static int seek(stream *s, const unsigned char *pos, size_t len)
{
  unsigned char key[ENTRY_MAX];
  memcpy(key, s->prefix, s->plen);
  if (len)
    memcpy(key + s->plen, pos, len);
  MDB_val k = {s->plen + len, key}, v;
  return take(s, mdb_cursor_get(s->cur, &k, &v, MDB_SET_RANGE), &k);
}

/* Descending: the head becomes the first (newest) entry of the last group
 * that lies wholly before key. */
static int group_before_key(stream *s, unsigned char *key, size_t len)
{
  MDB_val k = {len, key}, v;
  int rc = mdb_cursor_get(s->cur, &k, &v, MDB_SET_RANGE);
  rc = rc == 0 ? mdb_cursor_get(s->cur, &k, &v, MDB_PREV)
       : rc == MDB_NOTFOUND ? mdb_cursor_get(s->cur, &k, &v, MDB_LAST) : rc;
  if ((rc = take(s, rc, &k)) != 0 || !s->hlen)
    return rc;
  unsigned char group[KEHU_SORT_POS_MAX];
  size_t glen = s->hlen - 8;
  memcpy(group, s->head, glen);
  return seek(s, group, glen);
}

/* The same before the group with order key pos (len bytes). */
static int group_before(stream *s, const unsigned char *pos, size_t len)
{
  unsigned char key[ENTRY_MAX];
  memcpy(key, s->prefix, s->plen);
  memcpy(key + s->plen, pos, len);
  return group_before_key(s, key, s->plen + len);
}

static int same(const stream *s, const unsigned char *pos, size_t len)
{
  return s->hlen == len && memcmp(s->head, pos, len) == 0;
}

/* Positions s on its first entry after pos in the list's order (NULL:
 * its first); an MDB code. */
static int stream_start(const merge *m, stream *s, const unsigned char *pos, size_t len)
{
  MDB_val k, v;
  int rc;
  if (!m->desc) {
    if ((rc = seek(s, pos, len)) == 0 && pos && same(s, pos, len))
      rc = take(s, mdb_cursor_get(s->cur, &k, &v, MDB_NEXT), &k);
    return rc;
  }
  if (!pos) {
    /* the last group: before the owner's prefix with 0x01 for its 0x00 */
    unsigned char end[PREFIX_MAX];
    memcpy(end, s->prefix, s->plen);
    end[s->plen - 1] = 1;
    return group_before_key(s, end, s->plen);
  }
  /* the rest of pos's group (newer entries come first: after pos), then
   * the groups before it */
  if ((rc = seek(s, pos, len)) == 0 && same(s, pos, len))
    rc = take(s, mdb_cursor_get(s->cur, &k, &v, MDB_NEXT), &k);
  if (rc != 0 || (s->hlen == len && memcmp(s->head, pos, len - 8) == 0))
    return rc;
  return group_before(s, pos, len - 8);
}

static int stream_next(const merge *m, stream *s)
{
  MDB_val k, v;
  unsigned char was[KEHU_SORT_POS_MAX];
  size_t wlen = s->hlen;
  memcpy(was, s->head, wlen);
  int rc = take(s, mdb_cursor_get(s->cur, &k, &v, MDB_NEXT), &k);
  if (rc != 0 || !m->desc)
    return rc;
  if (s->hlen == wlen && memcmp(s->head, was, wlen - 8) == 0)
    return 0;   /* the same group */
  return group_before(s, was, wlen - 8);
}

/* Order of two heads in the list: < 0 when a comes first. */
static int head_cmp(const merge *m, const stream *a, const stream *b)
{
  size_t al = a->hlen - 8, bl = b->hlen - 8;
  int c = memcmp(a->head, b->head, al < bl ? al : bl);
  if (!c)
    c = (al > bl) - (al < bl);
  if (c)
    return m->desc ? -c : c;
  return memcmp(a->head + al, b->head + bl, 8);
}

static int add_stream(merge *m, int bin, const char *owner, size_t olen)
{
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 16;
    stream *more = realloc(m->s, cap * sizeof *more);
    if (!more)
      return KEHU_EXHAUSTED;
    m->s = more;
    m->cap = cap;
  }
  stream *s = &m->s[m->n];
  memset(s, 0, sizeof *s);
  char name[OWNER_MAX + 1];
  memcpy(name, owner, olen);
  name[olen] = 0;
  s->plen = owner_prefix(s->prefix, m->field, bin, name);
  int rc = mdb_cursor_open(m->t->txn, m->t->st->cust_sort, &s->cur);
  if (rc != 0)
    return kehu_store_status(rc);
  m->n++;
  return KEHU_OK;
}

/* Every owner with entries of (field, bin), visible to the caller and
 * let through by the filter's owner, gets a stream. */
static int open_streams(merge *m, const kehu_customer_filter *f, int bin,
                        int (*owner_visible)(const char *owner, int binned, void *ctx),
                        void *ctx)
{
  if (f->owner)
    return owner_visible(f->owner, bin, ctx) ? add_stream(m, bin, f->owner, strlen(f->owner))
                                             : KEHU_OK;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(m->t->txn, m->t->st->cust_sort, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  unsigned char at[PREFIX_MAX + 1] = {(unsigned char)m->field, (unsigned char)bin};
  MDB_val k = {2, at}, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) {
    const unsigned char *p = k.mv_data;
    if (k.mv_size < 3 || p[0] != m->field || p[1] != bin)
      break;
    const unsigned char *zero = memchr(p + 2, 0, k.mv_size - 2);
    if (!zero)
      break;   /* malformed: verify says so */
    size_t olen = (size_t)(zero - (p + 2));
    if (olen > OWNER_MAX)
      break;
    char owner[OWNER_MAX + 1];
    memcpy(owner, p + 2, olen);
    owner[olen] = 0;
    if (owner_visible(olen ? owner : NULL, bin, ctx))
      status = add_stream(m, bin, owner, olen);
    /* the next owner: past this one's 0x00 */
    memcpy(at + 2, owner, olen);
    at[2 + olen] = 1;
    k.mv_size = 3 + olen;
    k.mv_data = at;
  }
  mdb_cursor_close(cur);
  if (status != KEHU_OK)
    return status;
  return rc == 0 || rc == MDB_NOTFOUND ? KEHU_OK : kehu_store_status(rc);
}

static unsigned long ms_since(const struct timespec *start)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (unsigned long)((now.tv_sec - start->tv_sec) * 1000 +
                         (now.tv_nsec - start->tv_nsec) / 1000000);
}

int kehu_store_customer_sorted(kehu_txn *t, const kehu_customer_filter *f, int field, int desc,
                               const kehu_sort_pos *after, size_t max_look, unsigned max_ms,
                               int (*owner_visible)(const char *owner, int binned, void *ctx),
                               void *ctx, int (*each)(Kehu__Customer *c, void *arg), void *arg,
                               kehu_sort_pos *next)
{
  merge m = {.t = t, .field = field, .desc = desc};
  next->len = 0;
  if (field < 0 || field >= KEHU_SORT_FIELDS ||
      (after && (after->len < 9 || after->len > KEHU_SORT_POS_MAX)))
    return KEHU_INVALID;
  int rc = open_streams(&m, f, f->deleted != 0, owner_visible, ctx);
  for (size_t i = 0; rc == KEHU_OK && i < m.n; i++) {
    int mrc = stream_start(&m, &m.s[i], after ? after->bytes : NULL, after ? after->len : 0);
    if (mrc != 0)
      rc = kehu_store_status(mrc);
  }
  unsigned count = 0;
  size_t looked = 0;
  kehu_sort_pos last = {0};
  /* each customer looked at is decoded into the arena and let go at once
   * unless it is shown: a rare filter reads many for a few */
  kehu_arena arena;
  kehu_arena_init(&arena);
  kehu_arena_mark empty = kehu_arena_here(&arena);
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (rc == KEHU_OK) {
    stream *best = NULL;
    for (size_t i = 0; i < m.n; i++)
      if (m.s[i].hlen && (!best || head_cmp(&m, &m.s[i], best) < 0))
        best = &m.s[i];
    if (!best)
      break;   /* the end of the list */
    if (looked == max_look || (max_ms && looked % 64 == 63 && ms_since(&start) >= max_ms)) {
      /* far enough for one request: the next goes on after the last
       * entry looked at, whether it was shown or not */
      *next = last;
      break;
    }
    looked++;
    uint64_t cust = ~kehu_key_get_u64(best->head + best->hlen - 8);
    Kehu__Customer *c;
    kehu_arena_reset(&arena, empty);
    if ((rc = kehu_store_customer_get_in(t, cust, &arena.alloc, &c)) != KEHU_OK) {
      if (rc == KEHU_NOT_FOUND)
        rc = KEHU_INTERNAL;   /* an entry without its customer */
      break;
    }
    if (kehu_store_customer_matches(c, f)) {
      if (count == f->limit) {
        *next = last;   /* one more exists: the page gets a cursor */
        break;
      }
      if ((rc = kehu_store_customer_get(t, cust, &c)) != KEHU_OK)
        break;
      if (!each(c, arg))
        kehu__customer__free_unpacked(c, NULL);
      count++;
    }
    last.len = best->hlen;
    memcpy(last.bytes, best->head, best->hlen);
    int mrc = stream_next(&m, best);
    if (mrc != 0)
      rc = kehu_store_status(mrc);
  }
  kehu_arena_free(&arena);
  for (size_t i = 0; i < m.n; i++)
    mdb_cursor_close(m.s[i].cur);
  free(m.s);
  return rc;
}
