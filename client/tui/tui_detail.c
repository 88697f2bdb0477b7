/* A customer, in tabs: info, contacts, follow-ups, needs, contracts,
 * orders, tickets, attachments, stage history. Every list is asked for at
 * once (pipelined on the one connection); a kind the role may not read is
 * answered PERMISSION_DENIED and its tab is not shown. The tables are the
 * CLI's own (record_view.c, customer_view.c), drawn line by line. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "customer_view.h"
#include "i18n.h"
#include "record_view.h"
#include "records.h"
#include "tui.h"

enum { TAB_INFO, TAB_CONTACTS, TAB_FOLLOWUPS, TAB_NEEDS, TAB_CONTRACTS, TAB_ORDERS, TAB_TICKETS,
       TAB_ATTACHMENTS, TAB_HISTORY, NTABS };

typedef struct {
  const char *label;
  const char *kind;                 /* a record kind, or NULL */
  const char *const columns[7][2];  /* field, header */
} tab_info;

static const tab_info tabs[NTABS] = {
  [TAB_INFO] = {N_("Info"), NULL, {{NULL}}},
  [TAB_CONTACTS] = {N_("Contacts"), "contact",
                    {{"id", N_("ID")}, {"name", N_("Name")}, {"title", N_("Title")},
                     {"phones", N_("Phones")}, {"email", N_("Email")}, {NULL}}},
  [TAB_FOLLOWUPS] = {N_("Follow-ups"), "followup",
                     {{"id", N_("ID")}, {"at", N_("Time")}, {"method", N_("Method")},
                      {"author", N_("Author")}, {"summary", N_("Summary")}, {NULL}}},
  [TAB_NEEDS] = {N_("Needs"), "need",
                 {{"id", N_("ID")}, {"kind", N_("Kind")}, {"priority", N_("Priority")},
                  {"status", N_("Status")}, {"budget", N_("Budget")},
                  {"description", N_("Description")}, {NULL}}},
  [TAB_CONTRACTS] = {N_("Contracts"), "contract",
                     {{"id", N_("ID")}, {"number", N_("Number")}, {"amount", N_("Amount")},
                      {"ends_on", N_("Ends")}, {"status", N_("Status")}, {NULL}}},
  [TAB_ORDERS] = {N_("Orders"), "order",
                  {{"id", N_("ID")}, {"at", N_("Time")}, {"product", N_("Product")},
                   {"quantity", N_("Quantity")}, {"amount", N_("Amount")}, {NULL}}},
  [TAB_TICKETS] = {N_("Tickets"), "ticket",
                   {{"id", N_("ID")}, {"subject", N_("Subject")}, {"status", N_("Status")},
                    {"assignee", N_("Assignee")}, {"response_due", N_("Response due")}, {NULL}}},
  [TAB_ATTACHMENTS] = {N_("Attachments"), "attachment",
                       {{"id", N_("ID")}, {"file_name", N_("File")},
                        {"media_type", N_("Type")}, {NULL}}},
  [TAB_HISTORY] = {N_("Stage history"), NULL, {{NULL}}},
};

typedef struct detail_screen detail_screen;

typedef struct {
  detail_screen *d;
  int tab;
} tab_req;

struct detail_screen {
  tui_screen base;
  tui *ui;
  char id[32];
  Kehu__Customer *c;
  char *text[NTABS];      /* the tab's lines, NULL until loaded */
  int denied[NTABS];
  char error[NTABS][400];
  int scroll[NTABS];
  int tab;
  tab_req reqs[NTABS];
};

static char *customer_text(const Kehu__Customer *c)
{
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f)
    return NULL;
  kehu_customer_print(f, c);
  fclose(f);
  return text;
}

static char *history_text(const Kehu__Customer *c)
{
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f)
    return NULL;
  if (!c->n_stage_history)
    fprintf(f, "%s\n", _("(no stage changes yet)"));
  for (size_t i = 0; i < c->n_stage_history; i++) {
    const Kehu__StageChange *s = c->stage_history[i];
    char at[32];
    tui_time(s->at, at);
    const char *from = s->from && *s->from ? tui_stage_label(s->from) : _("(new)");
    fprintf(f, "%s  %s → %s  %s %s", at, from, tui_stage_label(s->to), _("by"), s->by);
    if (s->reason && *s->reason)
      fprintf(f, "  (%s)", s->reason);
    fputc('\n', f);
  }
  fclose(f);
  return text;
}

static void customer_reply(tui *ui, const Kehu__Response *r, const kehu_error *err, void *arg)
{
  detail_screen *d = arg;
  if (!r || r->status != KEHU__STATUS__OK || r->result_case != KEHU__RESPONSE__RESULT_CUSTOMER) {
    tui_why(r, err, d->error[TAB_INFO], sizeof d->error[0]);
    tui_redraw(ui);
    return;
  }
  if (d->c)
    kehu__customer__free_unpacked(d->c, NULL);
  size_t n = kehu__customer__get_packed_size(r->customer);
  uint8_t *buf = malloc(n ? n : 1);
  d->c = NULL;
  if (buf) {
    kehu__customer__pack(r->customer, buf);
    d->c = kehu__customer__unpack(NULL, n, buf);
  }
  free(buf);
  d->error[TAB_INFO][0] = '\0';
  if (d->c) {
    free(d->text[TAB_INFO]);
    d->text[TAB_INFO] = customer_text(d->c);
    free(d->text[TAB_HISTORY]);
    d->text[TAB_HISTORY] = history_text(d->c);
  }
  tui_redraw(ui);
}

static void list_reply(tui *ui, const Kehu__Response *r, const kehu_error *err, void *arg)
{
  tab_req *q = arg;
  detail_screen *d = q->d;
  int t = q->tab;
  if (!r) {
    tui_why(NULL, err, d->error[t], sizeof d->error[0]);
  } else if (r->status == KEHU__STATUS__PERMISSION_DENIED) {
    d->denied[t] = 1;   /* the role may not see it: no tab */
    if (d->tab == t)
      d->tab = TAB_INFO;
  } else if (r->status != KEHU__STATUS__OK || r->result_case != KEHU__RESPONSE__RESULT_CHILD_PAGE) {
    tui_why(r, NULL, d->error[t], sizeof d->error[0]);
  } else {
    const Kehu__ChildPage *p = r->child_page;
    const ProtobufCMessage **items = calloc(p->n_items + 1, sizeof *items);
    const char *cols[8];
    char headers[7][96];
    size_t nc = 0;
    for (; nc < 7 && tabs[t].columns[nc][0]; nc++) {
      snprintf(headers[nc], sizeof headers[nc], "%s:%s", tabs[t].columns[nc][0],
               _(tabs[t].columns[nc][1]));
      cols[nc] = headers[nc];
    }
    cols[nc] = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = items ? open_memstream(&text, &len) : NULL;
    if (f) {
      size_t n = 0;
      for (size_t i = 0; i < p->n_items; i++) {
        ProtobufCMessage *m = kehu_child_record(p->items[i], NULL);
        if (m)
          items[n++] = m;
      }
      if (n)
        kehu_record_table(f, items, n, cols, NULL);
      else
        fprintf(f, "%s\n", _("(none yet)"));
      if (p->next_cursor)
        fprintf(f, "%s\n", _("… more: see `kehu` with --cursor"));
      fclose(f);
      free(d->text[t]);
      d->text[t] = text;
      d->error[t][0] = '\0';
    }
    free(items);
  }
  tui_redraw(ui);
}

static void load_tab(detail_screen *d, int t)
{
  Kehu__Request req = KEHU__REQUEST__INIT;
  Kehu__ChildList cl = KEHU__CHILD_LIST__INIT;
  cl.customer_id = d->id;
  cl.kind = (char *)tabs[t].kind;
  cl.has_limit = 1;
  cl.limit = 200;
  req.op_case = KEHU__REQUEST__OP_CHILD_LIST;
  req.child_list = &cl;
  d->reqs[t] = (tab_req){d, t};
  tui_request(d->ui, &req, list_reply, &d->reqs[t]);
}

static void load(detail_screen *d)
{
  Kehu__Request req = KEHU__REQUEST__INIT;
  Kehu__CustomerGet get = KEHU__CUSTOMER_GET__INIT;
  get.id = d->id;
  req.op_case = KEHU__REQUEST__OP_CUSTOMER_GET;
  req.customer_get = &get;
  tui_request(d->ui, &req, customer_reply, d);
  for (int t = 0; t < NTABS; t++)
    if (tabs[t].kind)
      load_tab(d, t);
}

static void draw(tui *ui, tui_screen *s, int top, int rows, int cols)
{
  detail_screen *d = (detail_screen *)s;
  attrset(tui_attr(ui, TUI_C_TITLE));
  char title[512];
  snprintf(title, sizeof title, "%s  %s", d->id, d->c && d->c->name ? d->c->name : "");
  tui_put(top, 1, title, cols - 2, 0);
  /* the tabs, from the first that keeps the current one in view */
  int first = 0;
  for (;;) {
    int w = 1;
    for (int t = first; t <= d->tab; t++)
      w += d->denied[t] ? 0 : tui_width(_(tabs[t].label)) + 3;
    if (w < cols || first >= d->tab)
      break;
    first++;
  }
  int x = 1;
  move(top + 1, 0);
  clrtoeol();
  for (int t = first; t < NTABS; t++) {
    if (d->denied[t])
      continue;
    const char *label = _(tabs[t].label);
    int w = tui_width(label) + 2;
    if (x + w >= cols)
      break;
    attrset(t == d->tab ? tui_attr(ui, TUI_C_SELECTED) : tui_attr(ui, TUI_C_TAB));
    char cell[128];
    snprintf(cell, sizeof cell, " %s ", label);
    x += tui_put(top + 1, x, cell, w, 0) + 1;
  }
  attrset(A_NORMAL);
  int body = rows - 2;
  int y = top + 2;
  if (d->error[d->tab][0]) {
    attrset(tui_attr(ui, TUI_C_ERROR));
    tui_put(y++, 1, d->error[d->tab], cols - 2, 0);
    attrset(A_NORMAL);
    body--;
  }
  const char *text = d->text[d->tab];
  if (!text) {
    tui_put(y, 1, _("loading…"), cols - 2, 0);
    return;
  }
  tui_put_lines(text, d->scroll[d->tab], y, body, 1, cols - 2);
}

static void saved(tui *ui, const Kehu__Response *r, void *arg)
{
  detail_screen *d = arg;
  (void)r;
  tui_notice(ui, 0, "%s", _("saved"));
  load(d);
}

static void step_tab(detail_screen *d, int dir)
{
  for (int i = 0; i < NTABS; i++) {
    d->tab = (d->tab + dir + NTABS) % NTABS;
    if (!d->denied[d->tab])
      return;
  }
}

static int key(tui *ui, tui_screen *s, tui_key k)
{
  detail_screen *d = (detail_screen *)s;
  if (k.is_key) {
    switch (k.ch) {
    case KEY_RIGHT:
      step_tab(d, 1);
      break;
    case KEY_LEFT:
    case KEY_BTAB:
      step_tab(d, -1);
      break;
    case KEY_DOWN:
      d->scroll[d->tab]++;
      break;
    case KEY_UP:
      if (d->scroll[d->tab] > 0)
        d->scroll[d->tab]--;
      break;
    case KEY_NPAGE:
      d->scroll[d->tab] += 10;
      break;
    case KEY_PPAGE:
      d->scroll[d->tab] = d->scroll[d->tab] > 10 ? d->scroll[d->tab] - 10 : 0;
      break;
    default:
      return 0;
    }
    tui_redraw(ui);
    return 1;
  }
  switch (k.ch) {
  case 'l':
  case '\t':
    step_tab(d, 1);
    break;
  case 'h':
    step_tab(d, -1);
    break;
  case 'j':
    d->scroll[d->tab]++;
    break;
  case 'k':
    if (d->scroll[d->tab] > 0)
      d->scroll[d->tab]--;
    break;
  case 'e':
    if (!d->c)
      return 1;
    tui_push(ui, tui_form_new(ui, TUI_FORM_CUSTOMER_EDIT, d->c, saved, d));
    return 1;
  case 'm':
    if (!d->c)
      return 1;
    tui_push(ui, tui_form_new(ui, TUI_FORM_REMINDER, d->c, saved, d));
    return 1;
  case 'a': {
    if (!d->c)
      return 1;
    tui_form_kind kind;
    switch (d->tab) {
    case TAB_CONTACTS:
      kind = TUI_FORM_CONTACT;
      break;
    case TAB_FOLLOWUPS:
      kind = TUI_FORM_FOLLOWUP;
      break;
    case TAB_TICKETS:
      kind = TUI_FORM_TICKET;
      break;
    default:
      tui_notice(ui, 1, "%s",
                 _("a: on the contacts, follow-ups or tickets tab (others: the `:` command line)"));
      return 1;
    }
    tui_push(ui, tui_form_new(ui, kind, d->c, saved, d));
    return 1;
  }
  default:
    return 0;
  }
  tui_redraw(ui);
  return 1;
}

static void online(tui *ui, tui_screen *s)
{
  (void)ui;
  load((detail_screen *)s);
}

static void destroy(tui_screen *s)
{
  detail_screen *d = (detail_screen *)s;
  tui_net_forget(d->ui, d);
  for (int t = 0; t < NTABS; t++) {
    tui_net_forget(d->ui, &d->reqs[t]);
    free(d->text[t]);
  }
  if (d->c)
    kehu__customer__free_unpacked(d->c, NULL);
  free(d);
}

tui_screen *tui_detail_new(tui *ui, const char *customer_id)
{
  detail_screen *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  d->ui = ui;
  snprintf(d->id, sizeof d->id, "%s", customer_id);
  d->base.draw = draw;
  d->base.key = key;
  d->base.online = online;
  d->base.destroy = destroy;
  d->base.footer = N_("←/→ Tab:tabs  ↑/↓:scroll  a:add here  e:edit  m:reminder");
  load(d);
  return &d->base;
}
