/* Text in terminal columns. The TUI runs with the user's LC_CTYPE (UTF-8),
 * so the C library's wcwidth agrees with ncursesw about every character's
 * width: a Chinese name takes two columns a character, and a cut never
 * falls inside one. */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "tui.h"

/* The next character of s: its code point in *wc and its length in bytes
 * (an invalid byte counts as one '?'). */
static size_t next_char(const char *s, size_t n, wchar_t *wc)
{
  mbstate_t st;
  memset(&st, 0, sizeof st);
  size_t len = mbrtowc(wc, s, n, &st);
  if (len == (size_t)-1 || len == (size_t)-2 || len == 0) {
    *wc = L'?';
    return 1;
  }
  return len;
}

static int char_width(wchar_t wc)
{
  if (wc < 0x20 || wc == 0x7f)
    return 1;   /* a control character is drawn as a space */
  int w = wcwidth(wc);
  return w < 0 ? 1 : w;
}

int tui_width(const char *s)
{
  int cols = 0;
  if (!s)
    return 0;
  for (size_t n = strlen(s); n;) {
    wchar_t wc;
    size_t len = next_char(s, n, &wc);
    cols += char_width(wc);
    s += len;
    n -= len;
  }
  return cols;
}

int tui_put(int y, int x, const char *s, int cols, int pad)
{
  int used = 0;
  if (cols <= 0)
    return 0;
  move(y, x);
  for (size_t n = s ? strlen(s) : 0; n;) {
    wchar_t wc;
    size_t len = next_char(s, n, &wc);
    int w = char_width(wc);
    if (used + w > cols)
      break;
    if (wc < 0x20 || wc == 0x7f) {
      addch(' ');
    } else {
      wchar_t one[2] = {wc, 0};
      addnwstr(one, 1);
    }
    used += w;
    s += len;
    n -= len;
  }
  if (pad)
    for (; used < cols; used++)
      addch(' ');
  return used;
}

void tui_put_lines(const char *text, int skip, int y, int rows, int x, int cols)
{
  const char *p = text ? text : "";
  for (int i = 0; i < skip && *p; i++) {
    const char *nl = strchr(p, '\n');
    p = nl ? nl + 1 : p + strlen(p);
  }
  for (int i = 0; i < rows && *p; i++) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    char line[2048];
    snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
    tui_put(y + i, x, line, cols, 0);
    p = nl ? nl + 1 : p + n;
  }
}

void tui_text_backspace(char *buf)
{
  size_t n = strlen(buf);
  while (n > 0) {
    n--;
    /* stop at the first byte of a character (not 10xxxxxx) */
    if (((unsigned char)buf[n] & 0xc0) != 0x80)
      break;
  }
  buf[n] = '\0';
}

int tui_text_append(char *buf, size_t n, wint_t ch)
{
  char mb[MB_LEN_MAX];
  mbstate_t st;
  memset(&st, 0, sizeof st);
  size_t len = wcrtomb(mb, (wchar_t)ch, &st);
  size_t used = strlen(buf);
  if (len == (size_t)-1 || used + len + 1 > n)
    return -1;
  memcpy(buf + used, mb, len);
  buf[used + len] = '\0';
  return 0;
}

void tui_time(int64_t t, char out[32])
{
  out[0] = '\0';
  if (!t)
    return;
  time_t tt = (time_t)t;
  struct tm tm;
  if (localtime_r(&tt, &tm))
    strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
}
