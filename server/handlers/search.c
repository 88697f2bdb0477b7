/* customer search QUERY... (docs/architecture.md#search): every term must match; results are
 * what the caller may see, ranked exact > prefix > contains, in pages.
 * The search itself runs on the thread pool: a broad query reads hundreds
 * of customers (a query of legal forms alone, every one), which would hold
 * up every other connection on the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "arena.h"
#include "customer_sort.h"
#include "handlers.h"
#include "pool_work.h"
#include "search_text.h"
#include "validate.h"

#define DEFAULT_PAGE 50
#define MAX_PAGE 500
/* Ranking needs the matches side by side: at most this many are ranked
 * (newest first among them); a broader query should be narrowed. */
#define RANK_WINDOW 500
#define KEHU_MAX_TERM 200

typedef struct {
  Kehu__Customer *c;
  int rank;           /* 0 exact, 1 prefix, 2 contains */
  size_t order;       /* newest first */
  kehu_sort_entry by; /* with --sort: the field it is sorted by */
} match;

typedef struct {
  kehu_pool_work work;          /* on the thread pool (pool_work.h) */
  kehu_call *call;
  int status;
  unsigned long offset;
  unsigned limit;
  kehu_txn *t;
  const kehu_caller *who;
  const Kehu__CustomerSearch *q;
  kehu_customer_filter f;
  char **folded_terms;
  unsigned char *verify_term;    /* a term of several tokens: its tokens may match apart */
  char *folded_query;
  size_t nterms;
  kehu_arena arena;              /* the customers read */
  int sorted;                    /* --sort given: order, not the ranking */
  kehu_customer_order order;
  match *matches;
  size_t n;
  /* the ranked walk (docs/architecture.md#search): a page at a time */
  int ranked;                    /* the query has a head token: walk the phases */
  char head[KEHU_TOKEN_MAX];
  size_t head_len;
  const char *walk_owner;        /* a rep's own customers, checked in the index */
  int phase;                     /* 0 exact, 1 prefix, 2 contains */
  uint64_t below;                /* the cursor: the phase goes on below this key */
  size_t examined;               /* candidates decoded for this page */
  int stop;                      /* the page is decided */
  int last_phase;                /* the last match kept: where the next page starts */
  uint64_t last_key;
  int partial;                   /* the budget ran out: the page ends at last_* */
} search_state;

/* A page reads at most this many candidates (decoded), and the index walk
 * of one phase at most INDEX_BUDGET postings; then the page ends where the
 * walk stopped, and its cursor goes on from there. */
#define DECODE_BUDGET 4096
#define INDEX_BUDGET 262144

/* The customer's own text as search knows it, folded. */
static char *customer_text(const Kehu__Customer *c)
{
  size_t len = 4;
  const char *parts[3 + 64];
  size_t n = 0;
  parts[n++] = c->name;
  parts[n++] = c->short_name;
  for (size_t i = 0; i < c->n_tags && n < sizeof parts / sizeof *parts; i++)
    parts[n++] = c->tags[i];
  for (size_t i = 0; i < n; i++)
    len += (parts[i] ? strlen(parts[i]) : 0) + 1;
  char *joined = malloc(len);
  if (!joined)
    return NULL;
  joined[0] = '\0';
  for (size_t i = 0; i < n; i++)
    if (parts[i]) {
      strcat(joined, parts[i]);
      strcat(joined, "\n");
    }
  char *folded = kehu_search_fold(joined);
  free(joined);
  return folded;
}

static int contact_has(ProtobufCMessage *m, uint64_t cust, void *arg)
{
  (void)cust;
  void **ctx = arg;
  const char *term = ctx[0];
  int *found = ctx[1];
  char *name = kehu_search_fold(((Kehu__Contact *)m)->name);
  if (name && strstr(name, term))
    *found = 1;
  free(name);
  protobuf_c_message_free_unpacked(m, NULL);
  return 1;
}

/* Bigrams can match apart ("星河" and "河科" in two places): a term of
 * several tokens must stand whole in the customer's text or a contact's
 * name. A term of one token (a bigram, a word prefix, a keyed hash) is
 * exact as the index found it. */
static int verified(search_state *s, const Kehu__Customer *c, uint64_t key)
{
  char *text = NULL;
  int ok = 1;
  for (size_t i = 0; ok && i < s->q->n_terms; i++) {
    const char *term = s->folded_terms[i];
    if (!term || !s->verify_term[i])
      continue;
    if (!text)
      text = customer_text(c);
    if (text && strstr(text, term))
      continue;
    int found = 0;
    void *ctx[2] = {(void *)term, &found};
    uint64_t next;
    kehu_store_child_list(s->t, kehu_kind_get(KEHU_KIND_CONTACT), key, 0, 100, contact_has, ctx,
                          &next);
    ok = found;
  }
  free(text);
  return ok;
}

static void ignore_token(const char *token, size_t len, void *arg)
{
  (void)token;
  (void)len;
  (void)arg;
}

static int rank_of(search_state *s, const Kehu__Customer *c)
{
  char *name = kehu_search_fold(c->name);
  int rank = 2;
  if (name && strcmp(name, s->folded_query) == 0)
    rank = 0;
  else if (name && strncmp(name, s->folded_query, strlen(s->folded_query)) == 0)
    rank = 1;
  free(name);
  return rank;
}

static int filters_pass(const kehu_customer_filter *f, const Kehu__Customer *c)
{
  if (c->has_deleted && c->deleted)
    return 0;
  if (f->stage && (!c->stage || strcmp(c->stage, f->stage) != 0))
    return 0;
  if (f->owner && (!c->owner || strcmp(c->owner, f->owner) != 0))
    return 0;
  if (f->industry && (!c->industry || strcmp(c->industry, f->industry) != 0))
    return 0;
  if (f->source && (!c->source || strcmp(c->source, f->source) != 0))
    return 0;
  if (f->region && (!c->region || strncmp(c->region, f->region, strlen(f->region)) != 0))
    return 0;
  if (f->tier && (!c->tier || strcmp(c->tier, f->tier) != 0))
    return 0;
  if (f->tag) {
    int has = 0;
    for (size_t i = 0; i < c->n_tags; i++)
      has |= strcmp(c->tags[i], f->tag) == 0;
    if (!has)
      return 0;
  }
  return 1;
}

static int consider(uint64_t key, void *arg)
{
  search_state *s = arg;
  Kehu__Customer *c;
  /* decoded into the search's arena; one that is not kept is taken back */
  kehu_arena_mark before = kehu_arena_here(&s->arena);
  if (kehu_store_customer_get_in(s->t, key, &s->arena.alloc, &c) != KEHU_OK) {
    kehu_arena_reset(&s->arena, before);
    return 1;
  }
  int keep = filters_pass(&s->f, c) && kehu_access_customer_visible(s->t, s->who, c) &&
             verified(s, c, key);
  match *m = &s->matches[s->n];
  *m = (match){c, keep ? rank_of(s, c) : 0, s->n, {0}};
  if (keep && s->sorted && kehu_sort_entry_make(&s->order, c, key, &m->by) != KEHU_OK)
    keep = 0;
  if (!keep) {
    kehu_arena_reset(&s->arena, before);
    return 1;
  }
  s->n++;
  return s->n < RANK_WINDOW;
}

/* One candidate of a ranked phase: kept when it passes and its rank is
 * the phase's; the page is full at limit, and one more decides whether
 * there is a next page. */
static int consider_ranked(uint64_t key, void *arg)
{
  search_state *s = arg;
  s->examined++;
  Kehu__Customer *c;
  kehu_arena_mark before = kehu_arena_here(&s->arena);
  int keep = 0;
  if (kehu_store_customer_get_in(s->t, key, &s->arena.alloc, &c) == KEHU_OK &&
      filters_pass(&s->f, c) && kehu_access_customer_visible(s->t, s->who, c) &&
      verified(s, c, key)) {
    int rank = rank_of(s, c);
    /* an exact match is shown by phase 0, a prefix one by phase 1: each
     * once (phase 0's list is the name index, phase 1's the head token's
     * list, which every exact and prefix match is in) */
    keep = rank == s->phase;
  }
  if (!keep) {
    kehu_arena_reset(&s->arena, before);
  } else if (s->n == s->limit) {
    /* one more than the page: there is a next page */
    kehu_arena_reset(&s->arena, before);
    s->stop = 1;
    return 0;
  } else {
    s->matches[s->n++] = (match){c, s->phase, 0, {0}};
    s->last_phase = s->phase;
    s->last_key = key;
  }
  if (s->examined >= DECODE_BUDGET) {
    s->partial = 1;
    s->last_phase = s->phase;
    s->last_key = key;
    return 0;
  }
  return 1;
}

/* The ranked page: exact matches, then prefix, then contains, each newest
 * first, from the phase and key the cursor names. */
static int run_ranked(search_state *s, kehu_txn *t)
{
  int status = KEHU_OK;
  for (; s->phase <= 2 && !s->stop && !s->partial && status == KEHU_OK; s->phase++, s->below = 0) {
    if (s->phase == 0) {
      status = kehu_store_search_exact(t, s->folded_query, s->below, consider_ranked, s);
      continue;
    }
    /* a query of two characters is all its head: a name under the head
     * starts with the query, so phase 2 leaves those out unread */
    kehu_search_walk w = {.head = s->head,
                          .head_len = s->phase == 1 || s->head_len == strlen(s->folded_query) + 1
                                          ? s->head_len : 0,
                          .without_head = s->phase == 2 && s->head_len == strlen(s->folded_query) + 1,
                          .owner = s->walk_owner, .below = s->below, .budget = INDEX_BUDGET};
    status = kehu_store_search_walk(t, (const char *const *)s->q->terms, s->q->n_terms, &w,
                                    consider_ranked, s);
    if (status == KEHU_OK && w.stopped && !s->stop && !s->partial) {
      s->partial = 1;
      s->last_phase = s->phase;
      s->last_key = w.stopped;
    }
  }
  return status;
}

static int by_field(const void *a, const void *b, void *arg)
{
  const match *x = a, *y = b;
  return kehu_sort_entry_cmp(arg, &x->by, &y->by);
}

static int by_rank(const void *a, const void *b)
{
  const match *x = a, *y = b;
  if (x->rank != y->rank)
    return x->rank - y->rank;
  return x->order < y->order ? -1 : x->order > y->order;
}

static void search_free(search_state *s)
{
  for (size_t i = 0; i < s->n; i++)
    free(s->matches[i].by.text);
  kehu_arena_free(&s->arena);   /* the customers matched */
  for (size_t i = 0; s->folded_terms && i < s->nterms; i++)
    free(s->folded_terms[i]);
  free(s->folded_terms);
  free(s->verify_term);
  free(s->folded_query);
  free(s->matches);
  free(s);
}

/* On the thread pool: the matches, ranked. */
static void run_search(uv_work_t *work)
{
  search_state *s = work->data;
  kehu_txn t;
  s->status = kehu_store_read_begin(s->call->srv->store, &t);
  if (s->status != KEHU_OK)
    return;
  s->t = &t;
  /* a query with nothing to look up reads the newest customers: a rep's
   * own, or the owner asked for */
  const char *owner = s->f.owner;
  if (!owner && kehu_role_of(s->who->role) == KEHU_ROLE_SALES)
    owner = s->who->username;
  if (s->ranked) {
    s->walk_owner = owner;
    s->status = run_ranked(s, &t);
    if (s->status == KEHU_INVALID) {
      /* nothing exact to walk: the window below */
      s->ranked = 0;
      s->status = KEHU_OK;
      s->n = 0;
      kehu_arena_free(&s->arena);
      kehu_arena_init(&s->arena);
    }
  }
  if (!s->ranked)
    s->status = kehu_store_search(&t, (const char *const *)s->q->terms, s->q->n_terms, owner,
                                  consider, s);
  kehu_store_read_end(&t);
  if (s->ranked)
    return;
  s->t = NULL;
  if (s->sorted)
    qsort_r(s->matches, s->n, sizeof *s->matches, by_field, &s->order);
  else
    qsort(s->matches, s->n, sizeof *s->matches, by_rank);
}

/* Back on the loop: the page asked for. */
static void search_done(uv_work_t *work, int status)
{
  search_state *s = work->data;
  kehu_call *call = s->call;
  if (status != 0 || s->status != KEHU_OK) {
    int rc = s->status != KEHU_OK ? s->status : KEHU_INTERNAL;
    kehu_reply_status(call, rc, "search failed: %s", kehu_status_name(rc));
  } else if (s->ranked) {
    Kehu__Customer **items = calloc(s->n + 1, sizeof *items);
    char cursor[40];
    snprintf(cursor, sizeof cursor, "r%d-%016llx", s->last_phase, (unsigned long long)s->last_key);
    for (size_t i = 0; items && i < s->n; i++)
      items[i] = s->matches[i].c;
    if (!items)
      kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    else
      kehu_reply_customer_page(call, items, s->n, s->stop || s->partial ? cursor : NULL);
    free(items);
  } else {
    size_t from = s->offset < s->n ? s->offset : s->n;
    size_t count = s->n - from < s->limit ? s->n - from : s->limit;
    Kehu__Customer **items = calloc(count + 1, sizeof *items);
    char cursor[32];
    snprintf(cursor, sizeof cursor, "s%zu", from + count);
    for (size_t i = 0; items && i < count; i++)
      items[i] = s->matches[from + i].c;
    if (!items)
      kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    else
      kehu_reply_customer_page(call, items, count, from + count < s->n ? cursor : NULL);
    free(items);
  }
  search_free(s);
}

void kehu_handle_customer_search(kehu_call *call)
{
  const Kehu__CustomerSearch *q = call->req->customer_search;
  unsigned limit = q->has_limit ? q->limit : DEFAULT_PAGE;
  unsigned long offset = 0;
  if (limit < 1 || limit > MAX_PAGE) {
    kehu_reply_status(call, KEHU_INVALID, "limit: %u is outside 1..%d", limit, MAX_PAGE);
    return;
  }
  if (q->n_terms == 0 || q->n_terms > 16) {
    kehu_reply_status(call, KEHU_INVALID, "terms: give 1 to 16 search terms");
    return;
  }
  int phase = 0;
  unsigned long long below = 0;
  int ranked_cursor = q->cursor && q->cursor[0] == 'r';
  if (ranked_cursor) {
    int used = 0;
    if (sscanf(q->cursor, "r%1d-%16llx%n", &phase, &below, &used) != 2 || phase < 0 ||
        phase > 2 || (size_t)used != strlen(q->cursor) || strlen(q->cursor) != 19) {
      kehu_reply_status(call, KEHU_INVALID, "cursor: '%s' is not a cursor from a previous page",
                        q->cursor);
      return;
    }
  } else if (q->cursor && *q->cursor && kehu_position_cursor_parse(q->cursor, 's', &offset) != 0) {
    kehu_reply_status(call, KEHU_INVALID, "cursor: '%s' is not a cursor from a previous page",
                      q->cursor);
    return;
  }
  for (size_t i = 0; i < q->n_terms; i++) {
    const char *term = q->terms[i];
    size_t len = strlen(term);
    if (kehu_utf8_chars(term, len) < 0) {
      kehu_reply_status(call, KEHU_INVALID, "terms: term %zu is not valid UTF-8", i + 1);
      return;
    }
    if (len > KEHU_MAX_TERM || strspn(term, " \t") == len) {
      kehu_reply_status(call, KEHU_INVALID, "terms: term %zu is %s", i + 1,
                        len > KEHU_MAX_TERM ? "over 200 bytes long" : "empty");
      return;
    }
  }
  const char *tier = NULL;
  if (q->tier && !(tier = kehu_tier_canonical(q->tier))) {
    kehu_reply_status(call, KEHU_INVALID,
                      "tier: '%s' is not one of high, potential, churn_risk, normal", q->tier);
    return;
  }
  const char *stage = NULL;
  if (q->stage && !(stage = kehu_stage_canonical(q->stage))) {
    kehu_reply_status(call, KEHU_INVALID, "stage: '%s' is not one of potential, intent, closed, lost",
                      q->stage);
    return;
  }
  kehu_customer_order order = {0};
  kehu_error err = {0};
  if (q->sort && kehu_customer_order_parse(q->sort, &order, &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  search_state *s = calloc(1, sizeof *s);
  if (!s) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return;
  }
  *s = (search_state){.call = call, .offset = offset, .limit = limit, .who = &call->caller,
                      .q = q, .nterms = q->n_terms, .sorted = q->sort != NULL, .order = order};
  kehu_arena_init(&s->arena);
  s->f = (kehu_customer_filter){.owner = q->owner, .tag = q->tag, .industry = q->industry,
                                .region = q->region, .source = q->source, .stage = stage,
                                .tier = tier};
  s->folded_terms = calloc(q->n_terms, sizeof *s->folded_terms);
  s->verify_term = calloc(q->n_terms, 1);
  s->matches = calloc(RANK_WINDOW + 1, sizeof *s->matches);
  size_t qlen = 1;
  for (size_t i = 0; s->folded_terms && s->verify_term && i < q->n_terms; i++) {
    s->folded_terms[i] = kehu_search_fold(q->terms[i]);
    qlen += strlen(q->terms[i]) + 1;
    /* a phone, a phone's tail or an email is found by its keyed hash, and
     * stands in no text; a term that is not one token is checked whole */
    char normal[256];
    kehu_query_shape shape;
    kehu_search_query_tokens(q->terms[i], 0, ignore_token, &shape, NULL);
    s->verify_term[i] = kehu_search_term_kind(q->terms[i], normal, sizeof normal) ==
                            KEHU_TERM_TEXT &&
                        (!shape.exact || shape.single_char);
  }
  s->phase = phase;
  s->below = below;
  char *query = malloc(qlen);
  if (query) {
    query[0] = '\0';
    for (size_t i = 0; i < q->n_terms; i++)
      strcat(strcat(query, i ? " " : ""), q->terms[i]);
    s->folded_query = kehu_search_fold(query);
    free(query);
  }
  /* unsorted, with a head token to find the prefix matches by: the ranked
   * walk; else (or with a position cursor) the window of the newest */
  if (s->folded_query && !s->sorted && (!q->cursor || !*q->cursor || ranked_cursor))
    s->head_len = kehu_search_head_token(s->folded_query, s->head);
  s->ranked = s->head_len > 0;
  if (ranked_cursor && !s->ranked) {
    kehu_reply_status(call, KEHU_INVALID, "cursor: '%s' is not a cursor from a previous page",
                      q->cursor);
    search_free(s);
    return;
  }
  if (!s->folded_terms || !s->verify_term || !s->matches || !s->folded_query) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    search_free(s);
    return;
  }
  kehu_read_work_queue(call->srv, &s->work, s, run_search, search_done);
}
