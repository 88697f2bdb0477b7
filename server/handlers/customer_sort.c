/* Sorting customers by a field: the order itself (search sorts its ranked
 * matches in memory with it), and `customer list --sort`, which walks the
 * sort index instead (docs/architecture.md#sorted-lists). */
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

/* A sorted page looks at this many index entries at most, for this long
 * at most: a rare filter gets a short page and a cursor rather than
 * holding the snapshot while it walks the whole list
 * (docs/architecture.md#sorted-lists). */
#define SORT_LOOK_MAX 20000
#define SORT_LOOK_MS 25

enum {
  SORT_NAME = KEHU_SORT_NAME,
  SORT_CREATED = KEHU_SORT_CREATED,
  SORT_UPDATED = KEHU_SORT_UPDATED,
  SORT_LAST_CONTACT = KEHU_SORT_LAST_CONTACT,
  SORT_STAGE = KEHU_SORT_STAGE,
};

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

/* A key cursor: "k", then in hex the field, 1 for descending, and the
 * place (order key and inverted customer key) of the last entry a page
 * looked at. */
static void cursor_format(const kehu_customer_order *o, const kehu_sort_pos *pos, char *out)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char head[2] = {(unsigned char)o->field, (unsigned char)o->desc};
  char *p = out;
  *p++ = 'k';
  for (size_t i = 0; i < 2 + pos->len; i++) {
    unsigned char b = i < 2 ? head[i] : pos->bytes[i - 2];
    *p++ = hex[b >> 4];
    *p++ = hex[b & 15];
  }
  *p = '\0';
}

static int hex_digit(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int kehu_sort_cursor_parse(const char *cursor, const kehu_customer_order *o, kehu_sort_pos *pos,
                           kehu_error *err)
{
  size_t n = strlen(cursor);
  unsigned char b[2 + KEHU_SORT_POS_MAX];
  int ok = cursor[0] == 'k' && n % 2 == 1 && (n - 1) / 2 >= 2 + 9 &&
           (n - 1) / 2 <= sizeof b;
  for (size_t i = 0; ok && i < (n - 1) / 2; i++) {
    int hi = hex_digit(cursor[1 + 2 * i]), lo = hex_digit(cursor[2 + 2 * i]);
    ok = hi >= 0 && lo >= 0;
    b[i] = (unsigned char)(hi << 4 | lo);
  }
  if (!ok) {
    unsigned long old;
    if (kehu_position_cursor_parse(cursor, 'o', &old) == 0)
      return kehu_fail(err, KEHU_INVALID, "cursor",
                       "cursor: '%s' is a position from an older server; sorted lists now go "
                       "on from a key cursor: list the first page again",
                       cursor);
    return kehu_fail(err, KEHU_INVALID, "cursor",
                     "cursor: '%s' is not a cursor from a previous page", cursor);
  }
  if (b[0] != o->field || b[1] != o->desc)
    return kehu_fail(err, KEHU_INVALID, "cursor",
                     "cursor: '%s' continues a list sorted by %s%s, not by %s%s: give the same "
                     "--sort as its first page",
                     cursor, b[1] ? "-" : "", b[0] < KEHU_SORT_FIELDS ? field_names[b[0]] : "?",
                     o->desc ? "-" : "", field_names[o->field]);
  pos->len = (n - 1) / 2 - 2;
  memcpy(pos->bytes, b + 2, pos->len);
  return KEHU_OK;
}

typedef struct {
  kehu_pool_work work;          /* on the thread pool (pool_work.h) */
  kehu_call *call;
  kehu_customer_filter f;
  kehu_customer_order order;
  kehu_sort_pos after;
  int has_after;
  int exporting;
  int status;
  kehu_txn *t;
  Kehu__Customer **page;
  size_t page_n;
  kehu_sort_pos next;
} sorted_list;

static int take_row(Kehu__Customer *c, void *arg)
{
  sorted_list *s = arg;
  s->page[s->page_n++] = c;
  return 1;
}

static int visible(const Kehu__Customer *c, void *arg)
{
  sorted_list *s = arg;
  return kehu_access_customer_visible(s->t, &s->call->caller, c);
}

/* Who may see a customer depends on its owner and bin state alone
 * (core/access.h): each owner's part of the index is asked once, with a
 * customer holding nothing else. Every row is still asked (visible). */
static int owner_visible(const char *owner, int binned, void *arg)
{
  sorted_list *s = arg;
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  c.owner = (char *)owner;
  c.has_deleted = c.deleted = binned != 0;
  return kehu_access_customer_visible(s->t, &s->call->caller, &c);
}

static void run_sorted(uv_work_t *work)
{
  sorted_list *s = work->data;
  kehu_txn t;
  s->page = calloc(s->f.limit + 1, sizeof *s->page);
  if (!s->page) {
    s->status = KEHU_EXHAUSTED;
    return;
  }
  if ((s->status = kehu_store_read_begin(s->call->srv->store, &t)) != KEHU_OK)
    return;
  s->t = &t;
  s->f.visible = visible;
  s->f.visible_ctx = s;
  s->status = kehu_store_customer_sorted(&t, &s->f, s->order.field, s->order.desc,
                                         s->has_after ? &s->after : NULL, SORT_LOOK_MAX,
                                         SORT_LOOK_MS, owner_visible, s, take_row, s, &s->next);
  kehu_store_read_end(&t);
  s->t = NULL;
}

static void sorted_done(uv_work_t *work, int status)
{
  sorted_list *s = work->data;
  kehu_call *call = s->call;
  kehu_server *srv = call->srv;
  if (status != 0 || s->status != KEHU_OK) {
    int rc = s->status != KEHU_OK ? s->status : KEHU_INTERNAL;
    kehu_reply_status(call, rc, "cannot list customers: %s", kehu_status_name(rc));
  } else {
    char cursor[2 + 2 * (2 + KEHU_SORT_POS_MAX)];
    if (s->next.len)
      cursor_format(&s->order, &s->next, cursor);
    if (s->exporting) {
      char details[160];
      snprintf(details, sizeof details, "%zu customers sorted by %s%s%s", s->page_n,
               s->order.desc ? "-" : "", field_names[s->order.field],
               s->has_after ? " after a cursor" : "");
      kehu_audit_later(srv, &call->caller, "export", "customer", NULL, details);
    }
    kehu_reply_customer_page(call, s->page, s->page_n, s->next.len ? cursor : NULL);
  }
  for (size_t i = 0; i < s->page_n; i++)
    kehu__customer__free_unpacked(s->page[i], NULL);
  free(s->page);
  free(s);
}

void kehu_customer_list_sorted(kehu_call *call, const kehu_customer_filter *f,
                               const kehu_customer_order *o, const kehu_sort_pos *after,
                               int exporting)
{
  sorted_list *s = calloc(1, sizeof *s);
  if (!s) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return;
  }
  s->call = call;
  s->f = *f;
  s->order = *o;
  if (after) {
    s->after = *after;
    s->has_after = 1;
  }
  s->exporting = exporting;
  kehu_read_work_queue(call->srv, &s->work, s, run_sorted, sorted_done);
}
