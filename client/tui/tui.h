/* `kehu tui`: the rep's terminal desk (docs/architecture.md#the-tui).
 *
 * One libuv loop carries everything: key presses (stdin polled, read with
 * ncursesw without waiting), the connection to kehud (connected and logged
 * in on the thread pool, then polled; requests queued and answered through
 * callbacks), timers (search debounce, reconnect backoff, notices) and
 * SIGWINCH. No key press waits on the network.
 *
 * Screens form a stack: the customer list at the bottom, a customer's
 * detail, a form, the reminders pane, reports, help or a command's output
 * above it. Each draws the whole of its area from its own state on every
 * redraw; ncurses sends only the cells that changed. */
#ifndef KEHU_CLIENT_TUI_H
#define KEHU_CLIENT_TUI_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include <curses.h>

#include <uv.h>

#include "cli.h"
#include "conn.h"
#include "kehu.pb-c.h"
#include "status.h"

typedef struct tui tui;
typedef struct tui_screen tui_screen;

/* A key: a character (is_key 0) or an ncurses KEY_* code (is_key 1). */
typedef struct {
  wint_t ch;
  int is_key;
} tui_key;

struct tui_screen {
  /* Draws the screen in rows [top, top + rows) of the terminal. */
  void (*draw)(tui *ui, tui_screen *s, int top, int rows, int cols);
  /* Handles a key; 0 when it is not the screen's (then the global keys). */
  int (*key)(tui *ui, tui_screen *s, tui_key k);
  /* The connection is (again) up: reload what the screen shows. */
  void (*online)(tui *ui, tui_screen *s);
  void (*destroy)(tui_screen *s);
  const char *footer;       /* the key hints (translated at draw time) */
  int takes_text;           /* a text field has the focus: letters are input */
  tui_screen *below;
};

typedef enum { NET_OFFLINE, NET_CONNECTING, NET_ONLINE, NET_LOGGED_OUT } tui_net_state;

/* The answer to a request: r when the server answered (any status), else
 * err says why there is none (the connection was lost: KEHU_UNAVAILABLE). */
typedef void (*tui_reply_fn)(tui *ui, const Kehu__Response *r, const kehu_error *err,
                             void *arg);

typedef struct tui_pending tui_pending;

typedef struct {
  tui_net_state state;
  kehu_conn *conn;
  uv_poll_t poll;
  int polling;
  uv_timer_t retry;
  uv_work_t work;
  int working;
  unsigned backoff_ms;
  kehu_conn *opened;        /* the work's result, taken by the loop */
  kehu_error open_err;
  int open_rc;
  tui_pending *pending;     /* requests sent, waiting for their answers */
  char why[400];            /* why offline or logged out, for the status line */
} tui_net;

/* Reminders the user has been told about: pushed or listed, newest first. */
typedef struct {
  Kehu__Reminder **items;
  size_t n;
  size_t unseen;            /* pushed since the pane was last opened */
} tui_reminders;

struct tui {
  uv_loop_t *loop;
  kehu_cli *cli;
  tui_net net;
  tui_screen *top;
  uv_poll_t input;
  uv_signal_t winch;
  uv_timer_t notice_timer;
  char notice[512];
  int notice_error;
  char user[65];
  char role[32];
  int color;
  int quit;
  int too_small;
  tui_reminders reminders;
  const char *exe;          /* this program, to run `:` commands */
};

/* The smallest terminal the screens fit. */
#define TUI_MIN_COLS 80
#define TUI_MIN_ROWS 24

/* Colour pairs (monochrome terminals get attributes instead: tui_attr). */
enum { TUI_C_TITLE = 1, TUI_C_SELECTED, TUI_C_ERROR, TUI_C_OK, TUI_C_DIM, TUI_C_BAR, TUI_C_TAB };
attr_t tui_attr(const tui *ui, int pair);

/* ---- tui.c: the loop and the frame around the screens ---- */
void tui_push(tui *ui, tui_screen *s);
void tui_pop(tui *ui);              /* the top screen, destroyed */
void tui_redraw(tui *ui);
void tui_notice(tui *ui, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- tui_net.c: the connection ---- */
void tui_net_start(tui *ui);
void tui_net_stop(tui *ui);
/* Sends req; fn is called once with the answer or the reason there is none
 * (at once when offline). arg identifies the caller for tui_net_forget. */
void tui_request(tui *ui, const Kehu__Request *req, tui_reply_fn fn, void *arg);
/* Answers for arg will not be delivered (its screen is gone). */
void tui_net_forget(tui *ui, void *arg);
/* Try to connect now (a key after "logged out" or during the backoff). */
void tui_net_retry(tui *ui);

/* Why a request failed, for a person (client/i18n.h: kehu_error_human):
 * the server's refusal r, else the transport's err. Written into buf. */
const char *tui_why(const Kehu__Response *r, const kehu_error *err, char *buf, size_t n);

/* ---- tui_text.c: text in terminal columns ---- */
/* Columns s takes (East-Asian wide characters count 2). */
int tui_width(const char *s);
/* Draws s at (y, x), cut to cols columns without splitting a character,
 * padded with spaces to cols when pad. Control characters show as spaces.
 * Returns the columns drawn. */
int tui_put(int y, int x, const char *s, int cols, int pad);
/* Draws the lines of text from line skip on, at rows y .. y + rows - 1,
 * each cut to cols columns at column x. */
void tui_put_lines(const char *text, int skip, int y, int rows, int x, int cols);
/* Removes the last character of the UTF-8 text buf. */
void tui_text_backspace(char *buf);
/* Appends the character ch (UTF-8) to buf of size n; 0 when it fits. */
int tui_text_append(char *buf, size_t n, wint_t ch);
/* A local time "YYYY-MM-DD HH:MM" ("" for 0). */
void tui_time(int64_t t, char out[32]);

/* A stage as the server stores it (potential, intent, won, lost), in the
 * user's language. */
const char *tui_stage_label(const char *stage);

/* ---- screens ---- */
tui_screen *tui_list_new(tui *ui);
tui_screen *tui_detail_new(tui *ui, const char *customer_id);
tui_screen *tui_reminders_new(tui *ui);
tui_screen *tui_reports_new(tui *ui);
tui_screen *tui_help_new(tui *ui);
/* A command line at the bottom: runs `kehu WORDS...` and shows its output. */
tui_screen *tui_command_new(tui *ui);
/* Text lines to read and scroll (a command's output), title shown above. */
tui_screen *tui_pager_new(tui *ui, const char *title, const char *text);

/* Forms (tui_form.c). What a form adds or edits; done is called after a
 * successful save with the server's answer, then the form closes. */
typedef enum {
  TUI_FORM_CUSTOMER_ADD,
  TUI_FORM_CUSTOMER_EDIT,
  TUI_FORM_CONTACT,
  TUI_FORM_FOLLOWUP,
  TUI_FORM_TICKET,
  TUI_FORM_REMINDER,
} tui_form_kind;
typedef void (*tui_form_done)(tui *ui, const Kehu__Response *r, void *arg);
tui_screen *tui_form_new(tui *ui, tui_form_kind kind, const Kehu__Customer *c,
                         tui_form_done done, void *arg);

/* Reminders (tui_reminders.c): an event pushed by the server, or a page. */
void tui_reminders_take(tui *ui, const Kehu__Reminder *r, int pushed);
void tui_reminders_load(tui *ui);

/* The command's entry point (client/main.c). */
int kehu_cmd_tui(kehu_cli *cli, int argc, char **argv, kehu_error *err);

#endif
