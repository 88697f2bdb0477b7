/* Reminders: the ones due and not acknowledged, listed when the connection
 * comes up and pushed by the server as they fall due (a notice and a count
 * in the status line at once). In the pane: a acknowledges, z snoozes an
 * hour, Enter opens the customer. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "i18n.h"
#include "tui.h"

#define SNOOZE_SECONDS 3600
#define MAX_KEPT 500

static Kehu__Reminder *copy_reminder(const Kehu__Reminder *r)
{
  size_t n = kehu__reminder__get_packed_size(r);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf)
    return NULL;
  kehu__reminder__pack(r, buf);
  Kehu__Reminder *c = kehu__reminder__unpack(NULL, n, buf);
  free(buf);
  return c;
}

static const char *kind_label(const char *kind)
{
  static const struct {
    const char *kind, *label;
  } kinds[] = {
    {"contract_expiry", N_("contract expiry")}, {"birthday", N_("birthday")},
    {"followup_due", N_("follow-up due")},      {"dormant", N_("dormant")},
    {"ticket_sla", N_("ticket response")},      {"manual", N_("manual")},
    {"tier_eval", N_("tier review")},           {"churn_risk", N_("churn risk")},
    {"incomplete", N_("incomplete")},
  };
  for (size_t i = 0; kind && i < sizeof kinds / sizeof *kinds; i++)
    if (strcmp(kinds[i].kind, kind) == 0)
      return _(kinds[i].label);
  return kind ? kind : "";
}

void tui_reminders_take(tui *ui, const Kehu__Reminder *r, int pushed)
{
  tui_reminders *rs = &ui->reminders;
  Kehu__Reminder *c = copy_reminder(r);
  if (!c)
    return;
  int known = 0;
  for (size_t i = 0; i < rs->n; i++)
    if (r->id && rs->items[i]->id && strcmp(rs->items[i]->id, r->id) == 0) {
      known = 1;   /* pushed again after a reconnect, or snoozed and due again */
      kehu__reminder__free_unpacked(rs->items[i], NULL);
      memmove(rs->items + i, rs->items + i + 1, (rs->n - i - 1) * sizeof *rs->items);
      rs->n--;
      break;
    }
  if (rs->n == MAX_KEPT)
    kehu__reminder__free_unpacked(rs->items[--rs->n], NULL);
  Kehu__Reminder **items = realloc(rs->items, (rs->n + 1) * sizeof *items);
  if (!items) {
    kehu__reminder__free_unpacked(c, NULL);
    return;
  }
  rs->items = items;
  memmove(items + 1, items, rs->n * sizeof *items);
  items[0] = c;
  rs->n++;
  if (pushed && !known) {
    rs->unseen++;
    tui_notice(ui, 0, _("reminder (%s): %s"), kind_label(c->kind), c->message ? c->message : "");
  }
}

static int newest_first(const void *a, const void *b)
{
  int64_t x = (*(Kehu__Reminder *const *)a)->due_at, y = (*(Kehu__Reminder *const *)b)->due_at;
  return x < y ? 1 : x > y ? -1 : 0;
}

static void list_reply(tui *ui, const Kehu__Response *r, const kehu_error *err, void *arg)
{
  (void)err, (void)arg;
  if (!r || r->status != KEHU__STATUS__OK || r->result_case != KEHU__RESPONSE__RESULT_REMINDER_PAGE)
    return;
  tui_reminders *rs = &ui->reminders;
  for (size_t i = 0; i < rs->n; i++)
    kehu__reminder__free_unpacked(rs->items[i], NULL);
  rs->n = 0;
  const Kehu__ReminderPage *p = r->reminder_page;
  for (size_t i = 0; i < p->n_items; i++)
    tui_reminders_take(ui, p->items[i], 0);
  if (rs->n > 1)
    qsort(rs->items, rs->n, sizeof *rs->items, newest_first);
  tui_redraw(ui);
}

void tui_reminders_load(tui *ui)
{
  Kehu__Request req = KEHU__REQUEST__INIT;
  Kehu__ReminderList rl = KEHU__REMINDER_LIST__INIT;
  rl.has_limit = 1;
  rl.limit = 200;
  req.op_case = KEHU__REQUEST__OP_REMINDER_LIST;
  req.reminder_list = &rl;
  tui_request(ui, &req, list_reply, NULL);
}

typedef struct {
  tui_screen base;
  int selected, scroll;
} pane;

static void draw(tui *ui, tui_screen *s, int top, int rows, int cols)
{
  pane *p = (pane *)s;
  tui_reminders *rs = &ui->reminders;
  rs->unseen = 0;   /* looked at */
  attrset(tui_attr(ui, TUI_C_TITLE));
  tui_put(top, 1, _("Reminders"), cols - 2, 0);
  attrset(tui_attr(ui, TUI_C_TITLE) | A_UNDERLINE);
  int wdue = 17, wkind = 14, wcust = 14, wstate = 10;
  int wmsg = cols - 2 - wdue - wkind - wcust - wstate - 4;
  int x = 1, y = top + 1;
  move(y, 0);
  clrtoeol();
  x += tui_put(y, x, _("Due"), wdue, 1) + 1;
  x += tui_put(y, x, _("Kind"), wkind, 1) + 1;
  x += tui_put(y, x, _("Customer"), wcust, 1) + 1;
  x += tui_put(y, x, _("State"), wstate, 1) + 1;
  tui_put(y, x, _("Message"), wmsg, 1);
  attrset(A_NORMAL);
  if (!rs->n) {
    tui_put(y + 1, 1, _("(no reminders due)"), cols - 2, 0);
    return;
  }
  if (p->selected >= (int)rs->n)
    p->selected = (int)rs->n - 1;
  int body = rows - 2;
  if (p->selected < p->scroll)
    p->scroll = p->selected;
  if (p->selected >= p->scroll + body)
    p->scroll = p->selected - body + 1;
  for (int i = 0; i < body && p->scroll + i < (int)rs->n; i++) {
    const Kehu__Reminder *r = rs->items[p->scroll + i];
    int row = y + 1 + i;
    int sel = p->scroll + i == p->selected;
    attrset(sel ? tui_attr(ui, TUI_C_SELECTED) : A_NORMAL);
    char due[32];
    tui_time(r->due_at, due);
    x = 1;
    x += tui_put(row, x, due, wdue, 1) + 1;
    x += tui_put(row, x, kind_label(r->kind), wkind, 1) + 1;
    x += tui_put(row, x, r->customer_id, wcust, 1) + 1;
    x += tui_put(row, x, r->state, wstate, 1) + 1;
    tui_put(row, x, r->message, wmsg, 1);
  }
  attrset(A_NORMAL);
}

static void changed(tui *ui, const Kehu__Response *r, const kehu_error *err, void *arg)
{
  (void)arg;
  char why[640];
  if (!r || r->status != KEHU__STATUS__OK)
    tui_notice(ui, 1, "%s", tui_why(r, err, why, sizeof why));
  else
    tui_notice(ui, 0, "%s", _("done"));
  tui_reminders_load(ui);
}

static int key(tui *ui, tui_screen *s, tui_key k)
{
  pane *p = (pane *)s;
  tui_reminders *rs = &ui->reminders;
  const Kehu__Reminder *r = p->selected < (int)rs->n ? rs->items[p->selected] : NULL;
  int ch = (int)k.ch;
  if (k.is_key)
    ch = k.ch == KEY_DOWN ? 'j' : k.ch == KEY_UP ? 'k' : k.ch == KEY_ENTER ? '\n' : 0;
  Kehu__Request req = KEHU__REQUEST__INIT;
  switch (ch) {
  case 'j':
    if (p->selected + 1 < (int)rs->n)
      p->selected++;
    break;
  case 'k':
    if (p->selected > 0)
      p->selected--;
    break;
  case 'a':
    if (r) {
      Kehu__ReminderAck ack = KEHU__REMINDER_ACK__INIT;
      ack.id = r->id;
      req.op_case = KEHU__REQUEST__OP_REMINDER_ACK;
      req.reminder_ack = &ack;
      tui_request(ui, &req, changed, NULL);
    }
    return 1;
  case 'z':
    if (r) {
      Kehu__ReminderSnooze sn = KEHU__REMINDER_SNOOZE__INIT;
      sn.id = r->id;
      sn.until = (int64_t)time(NULL) + SNOOZE_SECONDS;
      req.op_case = KEHU__REQUEST__OP_REMINDER_SNOOZE;
      req.reminder_snooze = &sn;
      tui_request(ui, &req, changed, NULL);
    }
    return 1;
  case '\n':
  case '\r':
    if (r && r->customer_id)
      tui_push(ui, tui_detail_new(ui, r->customer_id));
    return 1;
  default:
    return 0;
  }
  tui_redraw(ui);
  return 1;
}

tui_screen *tui_reminders_new(tui *ui)
{
  (void)ui;
  pane *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->base.draw = draw;
  p->base.key = key;
  p->base.destroy = (void (*)(tui_screen *))free;
  p->base.footer = N_("↑/↓:move  a:acknowledge  z:snooze 1 h  Enter:customer");
  return &p->base;
}
