/* The `:` command line and the pager. A command is the CLI itself, run as
 * a child process (uv_spawn) with the same server, CA and user, its output
 * collected on the loop and shown in the pager when it exits: the TUI stays
 * responsive while it runs, and every CLI command is there without being
 * written twice. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "tui.h"

/* ---- the pager ---- */

typedef struct {
  tui_screen base;
  char title[256];
  char *text;
  int scroll;
  int lines;
} pager;

static void pager_draw(tui *ui, tui_screen *s, int top, int rows, int cols)
{
  pager *p = (pager *)s;
  attrset(tui_attr(ui, TUI_C_TITLE));
  tui_put(top, 1, p->title, cols - 2, 0);
  attrset(A_NORMAL);
  if (p->scroll > p->lines - 1)
    p->scroll = p->lines > 0 ? p->lines - 1 : 0;
  tui_put_lines(p->text, p->scroll, top + 1, rows - 1, 1, cols - 2);
}

static int pager_key(tui *ui, tui_screen *s, tui_key k)
{
  pager *p = (pager *)s;
  int ch = k.is_key ? (k.ch == KEY_DOWN ? 'j' : k.ch == KEY_UP ? 'k' : k.ch == KEY_NPAGE ? ' '
                                                                    : k.ch == KEY_PPAGE ? 'b' : 0)
                    : (int)k.ch;
  switch (ch) {
  case 'j':
    p->scroll++;
    break;
  case 'k':
    if (p->scroll > 0)
      p->scroll--;
    break;
  case ' ':
    p->scroll += LINES - 5;
    break;
  case 'b':
    p->scroll = p->scroll > LINES - 5 ? p->scroll - (LINES - 5) : 0;
    break;
  default:
    return 0;
  }
  tui_redraw(ui);
  return 1;
}

static void pager_destroy(tui_screen *s)
{
  pager *p = (pager *)s;
  free(p->text);
  free(p);
}

tui_screen *tui_pager_new(tui *ui, const char *title, const char *text)
{
  (void)ui;
  pager *p = calloc(1, sizeof *p);
  if (!p || !(p->text = strdup(text ? text : ""))) {
    free(p);
    return NULL;
  }
  snprintf(p->title, sizeof p->title, "%s", title);
  for (const char *c = p->text; *c; c++)
    p->lines += *c == '\n';
  p->base.draw = pager_draw;
  p->base.key = pager_key;
  p->base.destroy = pager_destroy;
  p->base.footer = N_("↑/↓ j/k:scroll  Space/PgDn  b/PgUp");
  return &p->base;
}

/* ---- the command line ---- */

#define MAX_ARGS 64
#define MAX_OUTPUT (4u << 20)

typedef struct {
  tui_screen base;
  tui *ui;
  char line[1024];
  int running;
  uv_process_t proc;
  uv_pipe_t out, err;   /* the command's stdout and stderr, read alike */
  int pipes_open;
  char *output;
  size_t len;
  int closing;          /* handles still to close before the screen is freed */
  int gone;             /* the screen was popped while the command ran */
  int64_t status;
} command_screen;

static void cmd_draw(tui *ui, tui_screen *s, int top, int rows, int cols)
{
  command_screen *c = (command_screen *)s;
  attrset(tui_attr(ui, TUI_C_TITLE));
  tui_put(top, 1, _("A kehu command (as in a shell, without `kehu`):"), cols - 2, 0);
  attrset(tui_attr(ui, TUI_C_DIM));
  tui_put(top + 1, 1, _("e.g.  customer list --stage closed    reminder list --all    report kpi"),
          cols - 2, 0);
  attrset(A_NORMAL);
  int y = top + rows - 1;
  tui_put(y, 0, ":", 1, 0);
  tui_put(y, 1, c->line, cols - 2, 0);
  if (c->running) {
    attrset(tui_attr(ui, TUI_C_DIM));
    tui_put(top + 3, 1, _("running…"), cols - 2, 0);
    attrset(A_NORMAL);
  }
  move(y, 1 + tui_width(c->line));
}

static void maybe_free(command_screen *c)
{
  if (c->gone && c->closing == 0 && !c->running && !c->pipes_open) {
    free(c->output);
    free(c);
  }
}

static void handle_closed(uv_handle_t *h)
{
  command_screen *c = h->data;
  c->closing--;
  maybe_free(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)h;
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static void finish(command_screen *c)
{
  if (c->running || c->closing || c->pipes_open)
    return;
  if (c->gone) {
    maybe_free(c);
    return;
  }
  tui *ui = c->ui;
  char title[1200];
  snprintf(title, sizeof title, _(":%s  (exit %lld)"), c->line, (long long)c->status);
  char *text = c->output ? c->output : strdup("");
  c->output = NULL;
  c->line[0] = '\0';
  tui_pop(ui);   /* the command line */
  tui_push(ui, tui_pager_new(ui, title, text));
  free(text);
}

static void out_closed(uv_handle_t *h)
{
  command_screen *c = h->data;
  c->closing--;
  finish(c);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  command_screen *c = st->data;
  if (n > 0 && c->len + (size_t)n < MAX_OUTPUT) {
    char *grown = realloc(c->output, c->len + (size_t)n + 1);
    if (grown) {
      memcpy(grown + c->len, buf->base, (size_t)n);
      c->len += (size_t)n;
      grown[c->len] = '\0';
      c->output = grown;
    }
  }
  free(buf->base);
  if (n < 0) {
    uv_read_stop(st);
    c->pipes_open--;
    c->closing++;
    uv_close((uv_handle_t *)st, out_closed);
  }
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
  command_screen *c = p->data;
  c->status = sig ? 128 + sig : status;
  c->running = 0;
  c->closing++;
  uv_close((uv_handle_t *)p, out_closed);
}

/* Splits line into words: spaces separate, "..." and '...' group. */
static int split(char *line, char **words, int max)
{
  int n = 0;
  char *r = line, *w = line;
  while (*r) {
    while (*r == ' ' || *r == '\t')
      r++;
    if (!*r)
      break;
    if (n == max)
      return -1;
    words[n++] = w;
    char quote = 0;
    while (*r && (quote || (*r != ' ' && *r != '\t'))) {
      if (!quote && (*r == '"' || *r == '\'')) {
        quote = *r++;
      } else if (quote && *r == quote) {
        quote = 0;
        r++;
      } else {
        *w++ = *r++;
      }
    }
    if (*r)
      r++;
    *w++ = '\0';
  }
  return n;
}

static void run(tui *ui, command_screen *c)
{
  char copy[1024];
  snprintf(copy, sizeof copy, "%s", c->line);
  char *words[MAX_ARGS];
  int n = split(copy, words, MAX_ARGS - 8);
  if (n <= 0)
    return;
  if (strcmp(words[0], "tui") == 0 || strcmp(words[0], "kehu") == 0) {
    tui_notice(ui, 1, "%s", _("type the command without `kehu`, and not tui"));
    return;
  }
  char *args[MAX_ARGS];
  int a = 0;
  args[a++] = (char *)ui->exe;
  args[a++] = "--server";
  args[a++] = ui->cli->cfg.server;
  args[a++] = "--ca";
  args[a++] = ui->cli->cfg.ca;
  args[a++] = "--user";
  args[a++] = ui->cli->cfg.user;
  for (int i = 0; i < n; i++)
    args[a++] = words[i];
  args[a] = NULL;

  uv_pipe_init(ui->loop, &c->out, 0);
  uv_pipe_init(ui->loop, &c->err, 0);
  c->out.data = c->err.data = c;
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;   /* no password prompt inside the screen */
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&c->out;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&c->err;
  uv_process_options_t opt;
  memset(&opt, 0, sizeof opt);
  opt.file = ui->exe;
  opt.args = args;
  opt.exit_cb = on_exit_cb;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  c->proc.data = c;
  int rc = uv_spawn(ui->loop, &c->proc, &opt);
  if (rc != 0) {
    c->closing += 2;
    uv_close((uv_handle_t *)&c->out, handle_closed);
    uv_close((uv_handle_t *)&c->err, handle_closed);
    tui_notice(ui, 1, _("cannot run the command: %s"), uv_strerror(rc));
    return;
  }
  c->running = 1;
  c->pipes_open = 2;
  uv_read_start((uv_stream_t *)&c->out, alloc_cb, on_read);
  uv_read_start((uv_stream_t *)&c->err, alloc_cb, on_read);
  tui_redraw(ui);
}

static int cmd_key(tui *ui, tui_screen *s, tui_key k)
{
  command_screen *c = (command_screen *)s;
  if (c->running)
    return 1;   /* wait for it */
  if (k.is_key) {
    if (k.ch == KEY_BACKSPACE) {
      tui_text_backspace(c->line);
      tui_redraw(ui);
      return 1;
    }
    if (k.ch == KEY_ENTER) {
      run(ui, c);
      return 1;
    }
    return 0;
  }
  switch (k.ch) {
  case 27:
    tui_pop(ui);
    return 1;
  case 127:
  case 8:
    tui_text_backspace(c->line);
    break;
  case '\r':
  case '\n':
    run(ui, c);
    return 1;
  default:
    if (k.ch >= 0x20)
      tui_text_append(c->line, sizeof c->line, k.ch);
    break;
  }
  tui_redraw(ui);
  return 1;
}

static void cmd_destroy(tui_screen *s)
{
  command_screen *c = (command_screen *)s;
  c->gone = 1;
  if (c->running)
    uv_process_kill(&c->proc, SIGTERM);
  maybe_free(c);
}

tui_screen *tui_command_new(tui *ui)
{
  command_screen *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->ui = ui;
  c->base.draw = cmd_draw;
  c->base.key = cmd_key;
  c->base.destroy = cmd_destroy;
  c->base.takes_text = 1;
  c->base.footer = N_("Enter:run  Esc:cancel");
  return &c->base;
}
