/* The customer list: search as you type (debounced, the server's ranking),
 * filters, sort, and pages fetched one at a time with the server's cursor
 * (never the whole result). One request is in flight at a time; a change
 * made meanwhile is sent when its answer arrives, and that answer dropped. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "tui.h"

#define DEBOUNCE_MS 200
#define PAGE 50
#define MAX_PAGES 64

/* The sorts `s` cycles through ("" is the server's order: ranking for a
 * search, newest first for a list). */
static const struct {
  const char *sort;
  const char *label;
} sorts[] = {
  {"", N_("default")},           {"name", N_("name")},       {"-last_contact", N_("last contact")},
  {"-created", N_("newest")},    {"-updated", N_("updated")}, {"stage", N_("stage")},
};
#define NSORTS (sizeof sorts / sizeof *sorts)

typedef struct {
  tui_screen base;
  tui *ui;
  char query[256];
  int searching;             /* the search field has the focus */
  uv_timer_t debounce;
  char filter[5][64];        /* stage, tier, tag, owner, region */
  size_t sort;
  Kehu__CustomerPage *page;
  int selected, scroll;
  char *cursors[MAX_PAGES];  /* cursors[i]: where page i starts (page 0: NULL) */
  int page_no;
  int in_flight, dirty;
  char error[400];
} list_screen;

static const char *const filter_labels[5] = {N_("stage"), N_("tier"), N_("tag"), N_("owner"),
                                             N_("region")};

/* Stages as the server stores them, shown in the user's language. */
const char *tui_stage_label(const char *stage)
{
  if (!stage)
    return "";
  if (strcmp(stage, "potential") == 0)
    return _("potential");
  if (strcmp(stage, "intent") == 0)
    return _("intent");
  if (strcmp(stage, "closed") == 0)
    return _("closed");
  if (strcmp(stage, "lost") == 0)
    return _("lost");
  return stage;
}

static void load(list_screen *l);

static void page_reply(tui *ui, const Kehu__Response *r, const kehu_error *err, void *arg)
{
  list_screen *l = arg;
  l->in_flight = 0;
  if (l->dirty) {
    l->dirty = 0;
    load(l);
    return;
  }
  if (!r) {
    tui_why(NULL, err, l->error, sizeof l->error);
  } else if (r->status != KEHU__STATUS__OK ||
             r->result_case != KEHU__RESPONSE__RESULT_CUSTOMER_PAGE) {
    tui_why(r, NULL, l->error, sizeof l->error);
  } else {
    l->error[0] = '\0';
    if (l->page)
      kehu__customer_page__free_unpacked(l->page, NULL);
    /* keep a copy: r is freed after this call */
    size_t n = kehu__customer_page__get_packed_size(r->customer_page);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf) {
      kehu__customer_page__pack(r->customer_page, buf);
      l->page = kehu__customer_page__unpack(NULL, n, buf);
      free(buf);
    } else {
      l->page = NULL;
    }
    if (l->page && l->selected >= (int)l->page->n_items)
      l->selected = l->page->n_items ? (int)l->page->n_items - 1 : 0;
  }
  tui_redraw(ui);
}

static char *opt(char *s)
{
  return s && *s ? s : NULL;
}

static void load(list_screen *l)
{
  if (l->in_flight) {
    l->dirty = 1;
    return;
  }
  Kehu__Request req = KEHU__REQUEST__INIT;
  Kehu__CustomerSearch search = KEHU__CUSTOMER_SEARCH__INIT;
  Kehu__CustomerList list = KEHU__CUSTOMER_LIST__INIT;
  char words[256];
  char *terms[16];
  size_t nterms = 0;
  snprintf(words, sizeof words, "%s", l->query);
  for (char *save = NULL, *w = strtok_r(words, " \t", &save); w && nterms < 16;
       w = strtok_r(NULL, " \t", &save))
    terms[nterms++] = w;
  char *cursor = l->cursors[l->page_no];
  if (nterms) {
    search.n_terms = nterms;
    search.terms = terms;
    search.stage = opt(l->filter[0]);
    search.tier = opt(l->filter[1]);
    search.tag = opt(l->filter[2]);
    search.owner = opt(l->filter[3]);
    search.region = opt(l->filter[4]);
    search.sort = opt((char *)sorts[l->sort].sort);
    search.has_limit = 1;
    search.limit = PAGE;
    search.cursor = cursor;
    req.op_case = KEHU__REQUEST__OP_CUSTOMER_SEARCH;
    req.customer_search = &search;
  } else {
    list.stage = opt(l->filter[0]);
    list.tier = opt(l->filter[1]);
    list.tag = opt(l->filter[2]);
    list.owner = opt(l->filter[3]);
    list.region = opt(l->filter[4]);
    list.sort = opt((char *)sorts[l->sort].sort);
    list.has_limit = 1;
    list.limit = PAGE;
    list.cursor = cursor;
    req.op_case = KEHU__REQUEST__OP_CUSTOMER_LIST;
    req.customer_list = &list;
  }
  l->in_flight = 1;
  tui_request(l->ui, &req, page_reply, l);
}

static void restart(list_screen *l)
{
  for (int i = 1; i < MAX_PAGES; i++) {
    free(l->cursors[i]);
    l->cursors[i] = NULL;
  }
  l->page_no = 0;
  l->selected = l->scroll = 0;
  load(l);
}

static void debounced(uv_timer_t *t)
{
  restart(t->data);
}

static void draw(tui *ui, tui_screen *s, int top, int rows, int cols)
{
  list_screen *l = (list_screen *)s;
  /* the search line */
  attrset(tui_attr(ui, TUI_C_TITLE));
  int x = tui_put(top, 1, _("Search: "), cols - 2, 0) + 1;
  attrset(l->searching ? A_UNDERLINE : A_NORMAL);
  int qx = x;
  x += tui_put(top, x, l->query, cols - x - 30, 0);
  if (l->searching)
    addch(' ');
  attrset(tui_attr(ui, TUI_C_DIM));
  char info[160] = "";
  size_t off = 0;
  for (int i = 0; i < 5; i++)
    if (l->filter[i][0] && off < sizeof info)
      off += (size_t)snprintf(info + off, sizeof info - off, "%s=%s ", _(filter_labels[i]),
                              l->filter[i]);
  if (off < sizeof info)
    snprintf(info + off, sizeof info - off, "%s: %s", _("sort"), _(sorts[l->sort].label));
  int iw = tui_width(info);
  tui_put(top, cols - iw - 1 > x + 1 ? cols - iw - 1 : x + 1, info, cols - x - 2, 0);
  attrset(A_NORMAL);

  /* the table: id, name, stage, owner, industry, last contact */
  int wid = 14, wstage = 10, wowner = 12, wind = 10, wlast = 12;
  int wname = cols - 2 - wid - wstage - wowner - wind - wlast - 5;
  int y = top + 1;
  attrset(tui_attr(ui, TUI_C_TITLE) | A_UNDERLINE);
  move(y, 0);
  clrtoeol();
  int cx = 1;
  cx += tui_put(y, cx, _("ID"), wid, 1) + 1;
  cx += tui_put(y, cx, _("Name"), wname, 1) + 1;
  cx += tui_put(y, cx, _("Stage"), wstage, 1) + 1;
  cx += tui_put(y, cx, _("Owner"), wowner, 1) + 1;
  cx += tui_put(y, cx, _("Industry"), wind, 1) + 1;
  tui_put(y, cx, _("Last contact"), wlast, 1);
  attrset(A_NORMAL);
  int body = rows - 3;
  size_t n = l->page ? l->page->n_items : 0;
  if (l->selected < l->scroll)
    l->scroll = l->selected;
  if (l->selected >= l->scroll + body)
    l->scroll = l->selected - body + 1;
  for (int i = 0; i < body && l->scroll + i < (int)n; i++) {
    const Kehu__Customer *c = l->page->items[l->scroll + i];
    int row = y + 1 + i;
    int sel = l->scroll + i == l->selected && !l->searching;
    attrset(sel ? tui_attr(ui, TUI_C_SELECTED) : A_NORMAL);
    move(row, 0);
    if (sel)
      for (int k = 0; k < cols; k++)
        addch(' ');
    char last[32] = "";
    tui_time(c->has_last_contact_at ? c->last_contact_at : 0, last);
    last[10] = '\0';
    cx = 1;
    cx += tui_put(row, cx, c->id, wid, 1) + 1;
    cx += tui_put(row, cx, c->name, wname, 1) + 1;
    cx += tui_put(row, cx, tui_stage_label(c->stage), wstage, 1) + 1;
    cx += tui_put(row, cx, c->owner, wowner, 1) + 1;
    cx += tui_put(row, cx, c->industry, wind, 1) + 1;
    tui_put(row, cx, last, wlast, 1);
  }
  attrset(A_NORMAL);
  char foot[480];
  if (l->error[0]) {
    attrset(tui_attr(ui, TUI_C_ERROR));
    snprintf(foot, sizeof foot, "%s", l->error);
  } else if (!l->page) {
    snprintf(foot, sizeof foot, "%s", l->in_flight ? _("loading…") : "");
  } else {
    snprintf(foot, sizeof foot, _("page %d: %zu customers%s"), l->page_no + 1, n,
             l->page->next_cursor ? _(" (n: next page)") : "");
    if (!n)
      snprintf(foot, sizeof foot, "%s", l->query[0] ? _("no customer matches") : _("no customers"));
  }
  tui_put(top + rows - 1, 1, foot, cols - 2, 0);
  attrset(A_NORMAL);
  if (l->searching)
    move(top, qx + tui_width(l->query));
}

static void open_selected(tui *ui, list_screen *l)
{
  if (l->page && l->selected < (int)l->page->n_items)
    tui_push(ui, tui_detail_new(ui, l->page->items[l->selected]->id));
}

static void added(tui *ui, const Kehu__Response *r, void *arg)
{
  list_screen *l = arg;
  restart(l);
  if (r->result_case == KEHU__RESPONSE__RESULT_CUSTOMER) {
    tui_notice(ui, 0, _("customer %s added"), r->customer->id);
    tui_push(ui, tui_detail_new(ui, r->customer->id));
  }
}

/* ---- the filter form: five fields, applied here (no request) ---- */

typedef struct {
  tui_screen base;
  list_screen *list;
  char value[5][64];
  int field;
} filter_screen;

static void filter_draw(tui *ui, tui_screen *s, int top, int rows, int cols)
{
  (void)rows;
  filter_screen *f = (filter_screen *)s;
  attrset(tui_attr(ui, TUI_C_TITLE));
  tui_put(top, 1, _("Filters (empty: any)"), cols - 2, 0);
  attrset(A_NORMAL);
  static const char *const hints[5] = {
    N_("potential | intent | closed | lost"), N_("high | potential | churn_risk | normal"),
    N_("a tag"), N_("a username"), N_("a region"),
  };
  int cy = top + 2, cx = 0;
  for (int i = 0; i < 5; i++) {
    int y = top + 2 + i * 2;
    tui_put(y, 2, _(filter_labels[i]), 12, 1);
    attrset(i == f->field ? A_UNDERLINE | A_BOLD : A_UNDERLINE);
    tui_put(y, 15, f->value[i], 30, 1);
    attrset(tui_attr(ui, TUI_C_DIM));
    tui_put(y, 47, _(hints[i]), cols - 48, 0);
    attrset(A_NORMAL);
    if (i == f->field) {
      cy = y;
      cx = 15 + tui_width(f->value[i]);
    }
  }
  move(cy, cx);
}

static int filter_key(tui *ui, tui_screen *s, tui_key k)
{
  filter_screen *f = (filter_screen *)s;
  if (k.is_key) {
    if (k.ch == KEY_DOWN)
      f->field = (f->field + 1) % 5;
    else if (k.ch == KEY_UP)
      f->field = (f->field + 4) % 5;
    else if (k.ch == KEY_BACKSPACE)
      tui_text_backspace(f->value[f->field]);
    else if (k.ch == KEY_F(2))
      goto apply;
    else
      return 0;
    tui_redraw(ui);
    return 1;
  }
  switch (k.ch) {
  case 27:
    tui_pop(ui);
    return 1;
  case '\t':
    f->field = (f->field + 1) % 5;
    break;
  case 127:
  case 8:
    tui_text_backspace(f->value[f->field]);
    break;
  case 19:   /* Ctrl-S */
    goto apply;
  case '\r':
  case '\n':
    if (f->field < 4) {
      f->field++;
      break;
    }
    goto apply;
  default:
    if (k.ch >= 0x20)
      tui_text_append(f->value[f->field], sizeof f->value[0], k.ch);
    break;
  }
  tui_redraw(ui);
  return 1;
apply:
  memcpy(f->list->filter, f->value, sizeof f->value);
  restart(f->list);
  tui_pop(ui);
  return 1;
}

static tui_screen *filter_new(list_screen *l)
{
  filter_screen *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  f->base.draw = filter_draw;
  f->base.key = filter_key;
  f->base.destroy = (void (*)(tui_screen *))free;
  f->base.footer = N_("Tab/↓ ↑: field  Enter: next, on the last apply  Ctrl-S: apply  Esc: cancel");
  f->base.takes_text = 1;
  f->list = l;
  memcpy(f->value, l->filter, sizeof f->value);
  return &f->base;
}

static int key(tui *ui, tui_screen *s, tui_key k)
{
  list_screen *l = (list_screen *)s;
  size_t n = l->page ? l->page->n_items : 0;
  if (l->searching) {
    if (k.is_key) {
      if (k.ch == KEY_BACKSPACE)
        goto backspace;
      if (k.ch == KEY_DOWN) {
        l->searching = 0;
        s->takes_text = 0;
        tui_redraw(ui);
        return 1;
      }
      return 0;
    }
    switch (k.ch) {
    case 27:
      l->query[0] = '\0';
      l->searching = 0;
      s->takes_text = 0;
      restart(l);
      break;
    case '\r':
    case '\n':
      l->searching = 0;
      s->takes_text = 0;
      break;
    case 127:
    case 8:
    backspace:
      tui_text_backspace(l->query);
      uv_timer_start(&l->debounce, debounced, DEBOUNCE_MS, 0);
      break;
    default:
      if (k.ch >= 0x20 && tui_text_append(l->query, sizeof l->query, k.ch) == 0)
        uv_timer_start(&l->debounce, debounced, DEBOUNCE_MS, 0);
      break;
    }
    tui_redraw(ui);
    return 1;
  }
  if (k.is_key) {
    switch (k.ch) {
    case KEY_DOWN:
      goto down;
    case KEY_UP:
      goto up;
    case KEY_NPAGE:
      goto next_page;
    case KEY_PPAGE:
      goto first_page;
    case KEY_ENTER:
      open_selected(ui, l);
      return 1;
    default:
      return 0;
    }
  }
  switch (k.ch) {
  case 'j':
  down:
    if (l->selected + 1 < (int)n)
      l->selected++;
    break;
  case 'k':
  up:
    if (l->selected > 0)
      l->selected--;
    break;
  case 'n':
  next_page:
    if (l->page && l->page->next_cursor && l->page_no + 1 < MAX_PAGES) {
      free(l->cursors[l->page_no + 1]);
      l->cursors[l->page_no + 1] = strdup(l->page->next_cursor);
      l->page_no++;
      l->selected = l->scroll = 0;
      load(l);
    }
    break;
  case 'p':
  first_page:
    restart(l);
    break;
  case '\r':
  case '\n':
    open_selected(ui, l);
    return 1;
  case '/':
    l->searching = 1;
    s->takes_text = 1;
    break;
  case 'f':
    tui_push(ui, filter_new(l));
    return 1;
  case 's':
    l->sort = (l->sort + 1) % NSORTS;
    restart(l);
    break;
  case 'a':
    tui_push(ui, tui_form_new(ui, TUI_FORM_CUSTOMER_ADD, NULL, added, l));
    return 1;
  default:
    return 0;
  }
  tui_redraw(ui);
  return 1;
}

static void online(tui *ui, tui_screen *s)
{
  (void)ui;
  list_screen *l = (list_screen *)s;
  l->in_flight = 0;   /* what was in flight was answered "offline" */
  load(l);
}

static void free_owner(uv_handle_t *h)
{
  free(h->data);
}

static void destroy(tui_screen *s)
{
  list_screen *l = (list_screen *)s;
  if (l->page)
    kehu__customer_page__free_unpacked(l->page, NULL);
  for (int i = 0; i < MAX_PAGES; i++)
    free(l->cursors[i]);
  uv_close((uv_handle_t *)&l->debounce, free_owner);   /* frees l */
}

tui_screen *tui_list_new(tui *ui)
{
  list_screen *l = calloc(1, sizeof *l);
  if (!l)
    return NULL;
  l->ui = ui;
  l->base.draw = draw;
  l->base.key = key;
  l->base.online = online;
  l->base.destroy = destroy;
  l->base.footer = N_("/:search  Enter:open  f:filter  s:sort  a:add  n/p:page  r:reminders  g:reports");
  uv_timer_init(ui->loop, &l->debounce);
  l->debounce.data = l;
  return &l->base;
}
