/* `kehu tui`: the loop, the frame (status line above, notice and key hints
 * below) and the keys every screen shares. docs/architecture.md#the-tui */
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "args.h"
#include "auth.h"
#include "i18n.h"
#include "tui.h"

#define NOTICE_MS 6000

static const char usage[] =
  N_("usage: kehu tui\n"
     "\n"
     "The interactive desk: customers, their records, reminders as they\n"
     "arrive, reports. Press ? inside for the keys. Needs a terminal of at\n"
     "least 80x24, and a login (`kehu login`, or KEHU_PASSWORD).\n");

attr_t tui_attr(const tui *ui, int pair)
{
  if (ui->color)
    return (attr_t)COLOR_PAIR(pair) | (pair == TUI_C_TITLE || pair == TUI_C_TAB ? A_BOLD : 0);
  switch (pair) {
  case TUI_C_SELECTED:
  case TUI_C_BAR:
    return A_REVERSE;
  case TUI_C_ERROR:
  case TUI_C_TITLE:
  case TUI_C_TAB:
    return A_BOLD;
  case TUI_C_DIM:
    return A_DIM;
  default:
    return A_NORMAL;
  }
}

void tui_push(tui *ui, tui_screen *s)
{
  if (!s)
    return;
  s->below = ui->top;
  ui->top = s;
  tui_redraw(ui);
}

void tui_pop(tui *ui)
{
  tui_screen *s = ui->top;
  if (!s)
    return;
  ui->top = s->below;
  tui_net_forget(ui, s);
  if (s->destroy)
    s->destroy(s);
  if (!ui->top)
    ui->quit = 1;
  tui_redraw(ui);
}

static void notice_expired(uv_timer_t *t)
{
  tui *ui = t->data;
  ui->notice[0] = '\0';
  tui_redraw(ui);
}

void tui_notice(tui *ui, int error, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ui->notice, sizeof ui->notice, fmt, ap);
  va_end(ap);
  ui->notice_error = error;
  uv_timer_start(&ui->notice_timer, notice_expired, NOTICE_MS, 0);
  tui_redraw(ui);
}

static void draw_status(tui *ui, int cols)
{
  attrset(tui_attr(ui, TUI_C_BAR));
  move(0, 0);
  for (int i = 0; i < cols; i++)
    addch(' ');
  char left[256];
  snprintf(left, sizeof left, " kehu  %s%s%s%s  %s", ui->user[0] ? ui->user : ui->cli->cfg.user,
           ui->role[0] ? " (" : "", ui->role, ui->role[0] ? ")" : "", ui->cli->cfg.server);
  tui_put(0, 0, left, cols, 0);
  char right[300];
  switch (ui->net.state) {
  case NET_ONLINE:
    snprintf(right, sizeof right, "%s", _("online"));
    break;
  case NET_CONNECTING:
    snprintf(right, sizeof right, "%s", _("connecting…"));
    break;
  case NET_OFFLINE:
    snprintf(right, sizeof right, _("offline, reconnecting (L: now)"));
    break;
  case NET_LOGGED_OUT:
    snprintf(right, sizeof right, "%s", _("not logged in: q, then `kehu login`"));
    break;
  }
  char rem[64] = "";
  if (ui->reminders.unseen)
    snprintf(rem, sizeof rem, _("reminders: %zu new (r)  "), ui->reminders.unseen);
  char all[400];
  snprintf(all, sizeof all, "%s%s ", rem, right);
  int w = tui_width(all);
  if (ui->net.state != NET_ONLINE)
    attrset(tui_attr(ui, TUI_C_BAR) | A_BOLD);
  tui_put(0, cols - w > 0 ? cols - w : 0, all, cols, 0);
  attrset(A_NORMAL);
}

static void draw_bottom(tui *ui, int rows, int cols)
{
  move(rows - 2, 0);
  clrtoeol();
  if (ui->notice[0]) {
    attrset(tui_attr(ui, ui->notice_error ? TUI_C_ERROR : TUI_C_OK));
    tui_put(rows - 2, 1, ui->notice, cols - 2, 0);
  } else if (ui->net.state != NET_ONLINE && ui->net.why[0]) {
    attrset(tui_attr(ui, TUI_C_ERROR));
    tui_put(rows - 2, 1, ui->net.why, cols - 2, 0);
  }
  attrset(tui_attr(ui, TUI_C_BAR));
  move(rows - 1, 0);
  for (int i = 0; i < cols; i++)
    addch(' ');
  const char *hints = ui->top && ui->top->footer ? _(ui->top->footer) : "";
  char line[512];
  /* in a text field letters are input: Esc is the way back */
  snprintf(line, sizeof line, " %s  %s", hints,
           ui->top && ui->top->takes_text ? "" : _("?:help  q:back"));
  tui_put(rows - 1, 0, line, cols, 0);
  attrset(A_NORMAL);
}

void tui_redraw(tui *ui)
{
  if (ui->quit)
    return;
  int rows = LINES, cols = COLS;
  erase();
  ui->too_small = rows < TUI_MIN_ROWS || cols < TUI_MIN_COLS;
  if (ui->too_small) {
    char msg[256];
    snprintf(msg, sizeof msg, _("The terminal is %dx%d; kehu tui needs at least %dx%d."), cols,
             rows, TUI_MIN_COLS, TUI_MIN_ROWS);
    tui_put(0, 0, msg, cols, 0);
    tui_put(1, 0, _("Make the window larger, or press q to quit."), cols, 0);
    refresh();
    return;
  }
  draw_status(ui, cols);
  if (ui->top && ui->top->draw)
    ui->top->draw(ui, ui->top, 1, rows - 3, cols);
  draw_bottom(ui, rows, cols);
  if (!ui->top || !ui->top->takes_text)
    move(rows - 1, cols - 1);
  refresh();
}

/* ---- help ---- */

static const char *const help_lines[] = {
  N_("Keys everywhere"),
  N_("  ?            this help"),
  N_("  q, Esc       back (on the customer list: quit)"),
  N_("  r            reminders (a: acknowledge, z: snooze 1 hour, Enter: customer)"),
  N_("  g            reports: stage, funnel, tiers, activity"),
  N_("  :            a kehu command, e.g. :customer list --stage closed"),
  N_("  L            connect again now (when offline)"),
  N_("  Ctrl-L       redraw"),
  "",
  N_("Customer list"),
  N_("  /            search as you type (Enter: to the list, Esc: clear)"),
  N_("  ↑ ↓, j k     move;  PgDn/n: next page;  PgUp/p: first page"),
  N_("  Enter        open the customer"),
  N_("  f            filters: stage, tier, tag, owner, region"),
  N_("  s            sort: ranked, name, last contact, created, updated, stage"),
  N_("  a            add a customer"),
  "",
  N_("Customer"),
  N_("  ← →, h l, Tab   tabs: info, contacts, follow-ups, needs, contracts,"),
  N_("                  orders, tickets, attachments, stage history"),
  N_("  a            add to this tab (contact, follow-up, ticket)"),
  N_("  e            edit the customer"),
  N_("  m            a reminder about this customer"),
  "",
  N_("Forms"),
  N_("  Tab, ↓ / ↑   next / previous field;  Enter: next, on the last one save"),
  N_("  Ctrl-S, F2   save;  Esc: cancel (nothing is saved)"),
  NULL,
};

tui_screen *tui_help_new(tui *ui)
{
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f)
    return NULL;
  for (size_t i = 0; help_lines[i]; i++)
    fprintf(f, "%s\n", help_lines[i][0] ? _(help_lines[i]) : "");
  fclose(f);
  tui_screen *s = tui_pager_new(ui, _("Help"), text);
  free(text);
  return s;
}

/* ---- keys ---- */

static void global_key(tui *ui, tui_key k)
{
  if (k.is_key) {
    if (k.ch == KEY_RESIZE)
      tui_redraw(ui);
    return;
  }
  switch (k.ch) {
  case 'q':
  case 27:
    tui_pop(ui);
    break;
  case '?':
    tui_push(ui, tui_help_new(ui));
    break;
  case 'r':
    tui_push(ui, tui_reminders_new(ui));
    break;
  case 'g':
    tui_push(ui, tui_reports_new(ui));
    break;
  case ':':
    tui_push(ui, tui_command_new(ui));
    break;
  case 'L':
    tui_net_retry(ui);
    break;
  case 12:   /* Ctrl-L */
    clearok(curscr, TRUE);
    tui_redraw(ui);
    break;
  default:
    break;
  }
}

static void on_input(uv_poll_t *h, int status, int events)
{
  (void)status, (void)events;
  tui *ui = h->data;
  for (int i = 0; i < 256 && !ui->quit; i++) {
    wint_t ch;
    int r = get_wch(&ch);
    if (r == ERR)
      break;
    tui_key k = {ch, r == KEY_CODE_YES};
    if (ui->too_small) {
      if (!k.is_key && (ch == 'q' || ch == 27))
        ui->quit = 1;
      else if (k.is_key && ch == KEY_RESIZE)
        tui_redraw(ui);
      continue;
    }
    if (!(ui->top && ui->top->key && ui->top->key(ui, ui->top, k)))
      global_key(ui, k);
  }
  if (ui->quit)
    uv_stop(ui->loop);
}

static void on_winch(uv_signal_t *h, int sig)
{
  (void)sig;
  tui *ui = h->data;
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    resize_term(ws.ws_row, ws.ws_col);
  clearok(curscr, TRUE);
  tui_redraw(ui);
}

static void init_colors(tui *ui)
{
  ui->color = has_colors() && getenv("NO_COLOR") == NULL;
  if (!ui->color)
    return;
  start_color();
  use_default_colors();
  init_pair(TUI_C_TITLE, COLOR_CYAN, -1);
  init_pair(TUI_C_SELECTED, COLOR_BLACK, COLOR_CYAN);
  init_pair(TUI_C_ERROR, COLOR_RED, -1);
  init_pair(TUI_C_OK, COLOR_GREEN, -1);
  init_pair(TUI_C_DIM, COLOR_BLUE, -1);
  init_pair(TUI_C_BAR, COLOR_BLACK, COLOR_WHITE);
  init_pair(TUI_C_TAB, COLOR_YELLOW, -1);
}

static void close_all(uv_handle_t *h, void *arg)
{
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

int kehu_cmd_tui(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
    fputs(_(usage), stdout);
    return KEHU_OK;
  }
  if (argc > 0)
    return kehu_usage_error(cli, _(usage), err, _("tui takes no arguments (got '%s')"), argv[0]);
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
    return kehu_fail(err, KEHU_USAGE, NULL, "%s",
                     _("kehu tui needs a terminal (use the other commands in scripts)"));
  int rc = kehu_resolve(cli, err);
  if (rc != KEHU_OK)
    return rc;

  tui ui;
  memset(&ui, 0, sizeof ui);
  ui.cli = cli;
  ui.loop = uv_default_loop();
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  ui.exe = exe;

  /* LC_CTYPE is the user's (kehu_i18n_init, in main): ncursesw draws wide characters */
  if (!initscr())
    return kehu_fail(err, KEHU_INTERNAL, NULL, "%s", _("cannot start the terminal screen"));
  raw();
  noecho();
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);
  set_escdelay(25);
  init_colors(&ui);

  uv_timer_init(ui.loop, &ui.notice_timer);
  ui.notice_timer.data = &ui;
  uv_poll_init(ui.loop, &ui.input, STDIN_FILENO);
  ui.input.data = &ui;
  uv_poll_start(&ui.input, UV_READABLE, on_input);
  uv_signal_init(ui.loop, &ui.winch);
  ui.winch.data = &ui;
  uv_signal_start(&ui.winch, on_winch, SIGWINCH);

  tui_push(&ui, tui_list_new(&ui));
  tui_net_start(&ui);
  tui_redraw(&ui);
  if (!ui.quit)
    uv_run(ui.loop, UV_RUN_DEFAULT);

  ui.quit = 1;
  while (ui.top) {
    tui_screen *s = ui.top;
    ui.top = s->below;
    if (s->destroy)
      s->destroy(s);
  }
  tui_net_stop(&ui);
  for (size_t i = 0; i < ui.reminders.n; i++)
    kehu__reminder__free_unpacked(ui.reminders.items[i], NULL);
  free(ui.reminders.items);
  uv_walk(ui.loop, close_all, NULL);
  uv_run(ui.loop, UV_RUN_DEFAULT);   /* close callbacks, and a connect still in the pool */
  endwin();
  return KEHU_OK;
}
