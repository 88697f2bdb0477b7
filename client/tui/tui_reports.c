/* Reports: the charts of `kehu report` (chart.c) drawn in the screen's
 * width: stage, funnel, tiers, activity (1-4, or Tab). */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "i18n.h"
#include "tui.h"

static const struct {
  const char *kind;
  const char *label;
} kinds[] = {
  {"stage", N_("Stages")},
  {"funnel", N_("Funnel")},
  {"tiers", N_("Tiers")},
  {"activity", N_("Activity")},
};
#define NKINDS (sizeof kinds / sizeof *kinds)

typedef struct {
  tui_screen base;
  tui *ui;
  size_t kind;
  Kehu__ReportResult *result;
  char error[400];
  int loading, scroll;
} reports_screen;

static void reply(tui *ui, const Kehu__Response *r, const kehu_error *err, void *arg)
{
  reports_screen *s = arg;
  s->loading = 0;
  if (!r) {
    tui_why(NULL, err, s->error, sizeof s->error);
  } else if (r->status != KEHU__STATUS__OK || r->result_case != KEHU__RESPONSE__RESULT_REPORT) {
    tui_why(r, NULL, s->error, sizeof s->error);
  } else {
    s->error[0] = '\0';
    if (s->result)
      kehu__report_result__free_unpacked(s->result, NULL);
    size_t n = kehu__report_result__get_packed_size(r->report);
    uint8_t *buf = malloc(n ? n : 1);
    s->result = buf ? (kehu__report_result__pack(r->report, buf),
                       kehu__report_result__unpack(NULL, n, buf))
                    : NULL;
    free(buf);
  }
  tui_redraw(ui);
}

static void load(reports_screen *s)
{
  Kehu__Request req = KEHU__REQUEST__INIT;
  Kehu__ReportRequest rr = KEHU__REPORT_REQUEST__INIT;
  rr.kind = (char *)kinds[s->kind].kind;
  req.op_case = KEHU__REQUEST__OP_REPORT;
  req.report = &rr;
  s->loading = 1;
  s->scroll = 0;
  if (s->result)
    kehu__report_result__free_unpacked(s->result, NULL);
  s->result = NULL;
  tui_request(s->ui, &req, reply, s);
}

static void draw(tui *ui, tui_screen *base, int top, int rows, int cols)
{
  reports_screen *s = (reports_screen *)base;
  int x = 1;
  for (size_t i = 0; i < NKINDS; i++) {
    char cell[96];
    snprintf(cell, sizeof cell, " %zu %s ", i + 1, _(kinds[i].label));
    attrset(i == s->kind ? tui_attr(ui, TUI_C_SELECTED) : tui_attr(ui, TUI_C_TAB));
    x += tui_put(top, x, cell, cols - x - 1, 0) + 1;
  }
  attrset(A_NORMAL);
  int y = top + 2;
  if (s->error[0]) {
    attrset(tui_attr(ui, TUI_C_ERROR));
    tui_put(y, 1, s->error, cols - 2, 0);
    attrset(A_NORMAL);
    return;
  }
  if (!s->result) {
    tui_put(y, 1, s->loading ? _("loading…") : "", cols - 2, 0);
    return;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f)
    return;
  kehu_chart_style st = {(size_t)cols - 2, kehu_chart_locale_utf8()};
  kehu_chart_print(f, s->result, &st);
  fclose(f);
  tui_put_lines(text, s->scroll, y, rows - 2, 1, cols - 2);
  free(text);
}

static int key(tui *ui, tui_screen *base, tui_key k)
{
  reports_screen *s = (reports_screen *)base;
  if (k.is_key) {
    if (k.ch == KEY_DOWN)
      s->scroll++;
    else if (k.ch == KEY_UP && s->scroll > 0)
      s->scroll--;
    else if (k.ch == KEY_RIGHT || k.ch == KEY_LEFT) {
      s->kind = (s->kind + (k.ch == KEY_RIGHT ? 1 : NKINDS - 1)) % NKINDS;
      load(s);
    } else
      return 0;
    tui_redraw(ui);
    return 1;
  }
  if (k.ch >= '1' && k.ch < '1' + (wint_t)NKINDS) {
    s->kind = k.ch - '1';
    load(s);
  } else if (k.ch == '\t' || k.ch == 'l') {
    s->kind = (s->kind + 1) % NKINDS;
    load(s);
  } else if (k.ch == 'h') {
    s->kind = (s->kind + NKINDS - 1) % NKINDS;
    load(s);
  } else if (k.ch == 'j') {
    s->scroll++;
  } else if (k.ch == 'k' && s->scroll > 0) {
    s->scroll--;
  } else {
    return 0;
  }
  tui_redraw(ui);
  return 1;
}

static void online(tui *ui, tui_screen *base)
{
  (void)ui;
  load((reports_screen *)base);
}

static void destroy(tui_screen *base)
{
  reports_screen *s = (reports_screen *)base;
  if (s->result)
    kehu__report_result__free_unpacked(s->result, NULL);
  free(s);
}

tui_screen *tui_reports_new(tui *ui)
{
  reports_screen *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->ui = ui;
  s->base.draw = draw;
  s->base.key = key;
  s->base.online = online;
  s->base.destroy = destroy;
  s->base.footer = N_("1-4 Tab ←/→:report  ↑/↓:scroll");
  load(s);
  return &s->base;
}
