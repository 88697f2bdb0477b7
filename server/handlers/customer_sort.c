/* Sorting customers by a field: the order itself, and `customer list
 * --sort`, which must read every match before it can show the first page. */
#include "customer_sort.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "audit.h"
#include "handlers.h"
#include "pool_work.h"
#include "search_text.h"

/* At most this many customers are sorted; a list with more matches asks
 * for a filter. */
#define SORT_MAX 200000

enum { SORT_NAME, SORT_CREATED, SORT_UPDATED, SORT_LAST_CONTACT, SORT_STAGE };

static const char *const field_names[] = {
  [SORT_NAME] = "name",           [SORT_CREATED] = "created", [SORT_UPDATED] = "updated",
  [SORT_LAST_CONTACT] = "last_contact", [SORT_STAGE] = "stage",
};

int kehu_position_cursor_parse(const char *cursor, char letter, unsigned long *offset)
{
  if (cursor[0] != letter || cursor[1] < '0' || cursor[1] > '9')
    return -1;
  char *end;
  errno = 0;
  unsigned long n = strtoul(cursor + 1, &end, 10);
  if (*end || errno == ERANGE)
    return -1;
  *offset = n;
  return 0;
}

int kehu_customer_order_parse(const char *spec, kehu_customer_order *o, kehu_error *err)
{
  o->desc = spec[0] == '-';
  const char *name = spec + o->desc;
  for (size_t i = 0; i < sizeof field_names / sizeof *field_names; i++)
    if (strcmp(name, field_names[i]) == 0) {
      o->field = (int)i;
      return KEHU_OK;
    }
  return kehu_fail(err, KEHU_INVALID, "sort",
                   "sort: '%s' is not one of name, created, updated, last_contact, stage "
                   "(put - first for the other way round: -last_contact)",
                   spec);
}

/* The sales funnel's order, not the alphabet's. */
static int64_t stage_rank(const char *stage)
{
  static const char *const funnel[] = {"potential", "intent", "closed", "lost"};
  for (size_t i = 0; stage && i < sizeof funnel / sizeof *funnel; i++)
    if (strcmp(stage, funnel[i]) == 0)
      return (int64_t)i;
  return 4;
}

int kehu_sort_entry_make(const kehu_customer_order *o, const Kehu__Customer *c, uint64_t key,
                         kehu_sort_entry *e)
{
  *e = (kehu_sort_entry){.key = key};
  switch (o->field) {
  case SORT_NAME:
    e->text = kehu_search_fold(c->name ? c->name : "");
    return e->text ? KEHU_OK : KEHU_EXHAUSTED;
  case SORT_CREATED: e->number = c->created_at; break;
  case SORT_UPDATED: e->number = c->updated_at; break;
  /* never contacted: before every contact */
  case SORT_LAST_CONTACT: e->number = c->has_last_contact_at ? c->last_contact_at : INT64_MIN; break;
  case SORT_STAGE: e->number = stage_rank(c->stage); break;
  }
  return KEHU_OK;
}

int kehu_sort_entry_cmp(const kehu_customer_order *o, const kehu_sort_entry *x,
                        const kehu_sort_entry *y)
{
  int c = o->field == SORT_NAME ? strcmp(x->text, y->text)
                                : (x->number > y->number) - (x->number < y->number);
  if (c)
    return o->desc ? -c : c;
  return (x->key < y->key) - (x->key > y->key);   /* newest first */
}

static int entry_cmp(const void *a, const void *b, void *arg)
{
  return kehu_sort_entry_cmp(arg, a, b);
}

void kehu_sort_entries(const kehu_customer_order *o, kehu_sort_entry *e, size_t n)
{
  if (n > 1)   /* none: e may be NULL */
    qsort_r(e, n, sizeof *e, entry_cmp, (void *)o);
}

/* ---- customer list --sort ---- */

typedef struct {
  kehu_pool_work work;          /* on the thread pool (pool_work.h) */
  kehu_call *call;
  kehu_customer_filter f;
  kehu_customer_order order;
  unsigned long offset;
  unsigned limit;
  int exporting;
  int status;
  int too_many;
  kehu_txn *t;
  kehu_sort_entry *entries;
  size_t n, cap;
  Kehu__Customer **page;
  size_t page_n;
  int more;
} sorted_list;

static int take_entry(Kehu__Customer *c, void *arg)
{
  sorted_list *s = arg;
  if (s->status != KEHU_OK)
    return 0;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    kehu_sort_entry *more = realloc(s->entries, cap * sizeof *more);
    if (!more) {
      s->status = KEHU_EXHAUSTED;
      return 0;
    }
    s->entries = more;
    s->cap = cap;
  }
  uint64_t key;
  if (kehu_customer_id_parse(c->id, &key) != 0) {
    s->status = KEHU_INTERNAL;
    return 0;
  }
  s->status = kehu_sort_entry_make(&s->order, c, key, &s->entries[s->n]);
  if (s->status == KEHU_OK)
    s->n++;
  return 0;   /* the store frees c: only its sort entry is kept */
}

static int visible(const Kehu__Customer *c, void *arg)
{
  sorted_list *s = arg;
  return kehu_access_customer_visible(s->t, &s->call->caller, c);
}

static void run_sorted(uv_work_t *work)
{
  sorted_list *s = work->data;
  kehu_txn t;
  if ((s->status = kehu_store_read_begin(s->call->srv->store, &t)) != KEHU_OK)
    return;
  s->t = &t;
  s->f.visible = visible;
  s->f.visible_ctx = s;
  s->f.limit = SORT_MAX;
  s->f.before = 0;
  uint64_t next = 0;
  int rc = kehu_store_customer_list(&t, &s->f, take_entry, s, &next);
  if (s->status == KEHU_OK)
    s->status = rc;
  s->too_many = next != 0;
  if (s->status == KEHU_OK && !s->too_many) {
    kehu_sort_entries(&s->order, s->entries, s->n);
    size_t from = s->offset < s->n ? s->offset : s->n;
    size_t count = s->n - from < s->limit ? s->n - from : s->limit;
    s->page = calloc(count + 1, sizeof *s->page);
    if (!s->page)
      s->status = KEHU_EXHAUSTED;
    for (size_t i = 0; s->page && i < count && s->status == KEHU_OK; i++)
      if ((s->status = kehu_store_customer_get(&t, s->entries[from + i].key,
                                               &s->page[s->page_n])) == KEHU_OK)
        s->page_n++;
    s->more = from + count < s->n;
  }
  kehu_store_read_end(&t);
  s->t = NULL;
}

static void sorted_done(uv_work_t *work, int status)
{
  sorted_list *s = work->data;
  kehu_call *call = s->call;
  kehu_server *srv = call->srv;
  if (status == 0 && s->status == KEHU_OK && s->too_many) {
    kehu_reply_status(call, KEHU_EXHAUSTED,
                      "sort: more than %d customers match; narrow the list with a filter "
                      "(--stage, --owner, --region...) to sort it",
                      SORT_MAX);
  } else if (status != 0 || s->status != KEHU_OK) {
    int rc = s->status != KEHU_OK ? s->status : KEHU_INTERNAL;
    kehu_reply_status(call, rc, "cannot list customers: %s", kehu_status_name(rc));
  } else {
    char cursor[32];
    snprintf(cursor, sizeof cursor, "o%lu", s->offset + s->page_n);
    if (s->exporting) {
      char details[160];
      snprintf(details, sizeof details, "%zu customers sorted by %s%s from %lu", s->page_n,
               s->order.desc ? "-" : "", field_names[s->order.field], s->offset);
      kehu_audit_later(srv, &call->caller, "export", "customer", NULL, details);
    }
    kehu_reply_customer_page(call, s->page, s->page_n, s->more ? cursor : NULL);
  }
  for (size_t i = 0; i < s->page_n; i++)
    kehu__customer__free_unpacked(s->page[i], NULL);
  free(s->page);
  for (size_t i = 0; i < s->n; i++)
    free(s->entries[i].text);
  free(s->entries);
  free(s);
}

void kehu_customer_list_sorted(kehu_call *call, const kehu_customer_filter *f,
                               const kehu_customer_order *o, unsigned long offset, int exporting)
{
  sorted_list *s = calloc(1, sizeof *s);
  if (!s) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return;
  }
  s->call = call;
  s->f = *f;
  s->order = *o;
  s->offset = offset;
  s->limit = f->limit;
  s->exporting = exporting;
  kehu_read_work_queue(call->srv, &s->work, s, run_sorted, sorted_done);
}
