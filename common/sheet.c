/* CSV reading of sheet.h: bytes -> (encoding sniffed or forced) -> iconv to
 * UTF-8 -> libcsv, fed one physical line at a time so each row knows the
 * line it starts on (docs/architecture.md#import). */
#include "sheet.h"

#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sheet_row.h"
#include "utf8.h"

/* Bytes held, from the first non-ASCII byte, before choosing an encoding. */
#define SNIFF_BYTES 4096

struct kehu_csv {
  kehu_encoding enc;      /* KEHU_ENC_AUTO until decided */
  int forced;
  kehu_sheet_row_fn fn;
  void *ctx;
  iconv_t cd;
  unsigned char pend[8];  /* an incomplete character left by the last piece */
  size_t npend;
  unsigned char *held;    /* AUTO: undecided bytes, from the first non-ASCII one */
  size_t nheld;
  size_t seen;            /* bytes fed so far (to find a BOM) */
  size_t raw_line;        /* line of the next byte to decode */
  struct csv_parser p;
  size_t line;            /* line of the next byte to parse */
  size_t row_line;
  int row_open;
  size_t rows;
  kehu_row_buf row;
  kehu_error *err;
  int rc;                 /* first error; the reader stops there */
};

int kehu_encoding_parse(const char *s, kehu_encoding *out)
{
  if (!strcmp(s, "auto"))
    *out = KEHU_ENC_AUTO;
  else if (!strcasecmp(s, "utf-8") || !strcasecmp(s, "utf8"))
    *out = KEHU_ENC_UTF8;
  else if (!strcasecmp(s, "gbk") || !strcasecmp(s, "gb18030"))
    *out = KEHU_ENC_GBK;
  else
    return -1;
  return 0;
}

/* Records the reader's first error. */
__attribute__((format(printf, 3, 4))) static int fail(kehu_csv *r, int status, const char *fmt,
                                                      ...)
{
  if (r->rc != KEHU_OK)
    return r->rc;
  char msg[sizeof r->err->message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return r->rc = kehu_fail(r->err, status, "", "%s", msg);
}

/* ---- libcsv callbacks: a cell, the end of a row ---- */

static void on_cell(void *s, size_t len, void *data)
{
  kehu_csv *r = data;
  if (r->rc != KEHU_OK)
    return;
  if (len && memchr(s, 0, len)) {
    fail(r, KEHU_INVALID, "line %zu: a cell holds a NUL byte", r->row_line);
    return;
  }
  r->rc = kehu_row_add(&r->row, s, len, r->row_line, r->err);
}

static void on_row(int c, void *data)
{
  (void)c;
  kehu_csv *r = data;
  r->row_open = 0;
  if (r->rc != KEHU_OK)
    return;
  if (++r->rows > KEHU_SHEET_MAX_ROWS) {
    fail(r, KEHU_EXHAUSTED, "line %zu: more than %u rows", r->row_line, KEHU_SHEET_MAX_ROWS);
    return;
  }
  r->rc = kehu_row_emit(&r->row, r->row_line, r->fn, r->ctx, r->err);
}

static int csv_failed(kehu_csv *r)
{
  if (r->rc != KEHU_OK)
    return r->rc;
  size_t line = r->row_open ? r->row_line : r->line;
  if (csv_error(&r->p) == CSV_EPARSE)
    return fail(r, KEHU_INVALID,
                "line %zu: malformed quotes (a quote inside an unquoted cell, text after a "
                "closing quote, or a quoted cell never closed)", line);
  return fail(r, KEHU_EXHAUSTED, "line %zu: %s", line, csv_strerror(csv_error(&r->p)));
}

static int blank(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] != '\r' && s[i] != '\n')
      return 0;
  return 1;
}

/* UTF-8 -> libcsv, one physical line (up to its '\n') per call. */
static int parse(kehu_csv *r, const char *s, size_t len)
{
  while (len && r->rc == KEHU_OK) {
    const char *nl = memchr(s, '\n', len);
    size_t n = nl ? (size_t)(nl - s) + 1 : len;
    if (!r->row_open && !blank(s, n)) {
      r->row_open = 1;
      r->row_line = r->line;
    }
    if (csv_parse(&r->p, s, n, on_cell, on_row, r) != n)
      return csv_failed(r);
    if (csv_get_buffer_size(&r->p) > KEHU_SHEET_MAX_CELL + 2 * 128)
      return fail(r, KEHU_EXHAUSTED, "line %zu: a cell longer than %u bytes", r->row_line,
                  KEHU_SHEET_MAX_CELL);
    if (nl)
      r->line++;
    s += n;
    len -= n;
  }
  return r->rc;
}

/* ---- decoding ---- */

static size_t count_lines(const unsigned char *s, size_t len)
{
  size_t n = 0;
  for (const unsigned char *p = s; (p = memchr(p, '\n', len - (size_t)(p - s))); p++)
    n++;
  return n;
}

static int open_decoder(kehu_csv *r, kehu_encoding enc)
{
  r->enc = enc;
  r->cd = iconv_open("UTF-8", enc == KEHU_ENC_GBK ? "GB18030" : "UTF-8");
  if (r->cd == (iconv_t)-1)
    return fail(r, KEHU_INTERNAL, "line %zu: no %s decoder in this system", r->raw_line,
                enc == KEHU_ENC_GBK ? "GB18030" : "UTF-8");
  return KEHU_OK;
}

static int undecodable(kehu_csv *r, size_t line)
{
  const char *enc = r->enc == KEHU_ENC_GBK ? "GBK/GB18030" : "UTF-8";
  if (r->forced)
    return fail(r, KEHU_INVALID, "line %zu: bytes that are not valid %s", line, enc);
  return fail(r, KEHU_INVALID,
              "line %zu: bytes that are not valid %s (the encoding was guessed; "
              "name it: utf-8 or gbk)", line, enc);
}

/* Converts whole characters of s to UTF-8 and parses them; keeps an
 * incomplete last character for the next piece. */
static int decode(kehu_csv *r, const unsigned char *s, size_t len)
{
  unsigned char *joined = NULL;
  if (r->npend) {
    if (!(joined = malloc(r->npend + len)))
      return fail(r, KEHU_EXHAUSTED, "line %zu: out of memory", r->raw_line);
    memcpy(joined, r->pend, r->npend);
    memcpy(joined + r->npend, s, len);
    s = joined;
    len += r->npend;
    r->npend = 0;
  }
  char out[16384];
  char *in = (char *)s;
  size_t left = len;
  while (left && r->rc == KEHU_OK) {
    char *o = out, *before = in;
    size_t room = sizeof out;
    size_t rc = iconv(r->cd, &in, &left, &o, &room);
    int e = errno;
    r->raw_line += count_lines((unsigned char *)before, (size_t)(in - before));
    if (parse(r, out, sizeof out - room) != KEHU_OK)
      break;
    if (rc != (size_t)-1 || e == E2BIG)
      continue;
    if (e == EINVAL && left < sizeof r->pend) {
      memcpy(r->pend, in, left);
      r->npend = left;
      break;
    }
    undecodable(r, r->raw_line);
  }
  free(joined);
  return r->rc;
}

/* ---- choosing the encoding ---- */

/* Valid UTF-8 but for an incomplete character at the end (when more may come). */
static int looks_utf8(const unsigned char *s, size_t len, int final)
{
  for (size_t cut = 0; cut <= (final ? 0u : 3u) && cut <= len; cut++)
    if (kehu_utf8_chars((const char *)s, len - cut) >= 0)
      return 1;
  return 0;
}

static int decide(kehu_csv *r, int final)
{
  int rc = open_decoder(r, looks_utf8(r->held, r->nheld, final) ? KEHU_ENC_UTF8 : KEHU_ENC_GBK);
  if (rc == KEHU_OK)
    rc = decode(r, r->held, r->nheld);
  free(r->held);
  r->held = NULL;
  r->nheld = 0;
  return rc;
}

/* AUTO, undecided: ASCII goes straight through (it reads the same in both);
 * from the first other byte on, bytes wait until SNIFF_BYTES are there. */
static int sniff(kehu_csv *r, const unsigned char *s, size_t len)
{
  if (!r->nheld) {
    size_t ascii = 0;
    while (ascii < len && s[ascii] < 0x80)
      ascii++;
    r->raw_line += count_lines(s, ascii);
    if (parse(r, (const char *)s, ascii) != KEHU_OK || ascii == len)
      return r->rc;
    s += ascii;
    len -= ascii;
  }
  unsigned char *h = realloc(r->held, r->nheld + len);
  if (!h)
    return fail(r, KEHU_EXHAUSTED, "line %zu: out of memory", r->raw_line);
  memcpy(h + r->nheld, s, len);
  r->held = h;
  r->nheld += len;
  return r->nheld >= SNIFF_BYTES ? decide(r, 0) : KEHU_OK;
}

/* ---- the interface ---- */

kehu_csv *kehu_csv_new(kehu_encoding enc, kehu_sheet_row_fn fn, void *ctx)
{
  kehu_csv *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->forced = enc != KEHU_ENC_AUTO;
  r->enc = KEHU_ENC_AUTO;
  r->cd = (iconv_t)-1;
  r->fn = fn;
  r->ctx = ctx;
  r->raw_line = r->line = 1;
  /* strict: a stray quote is an error rather than a silently shifted row */
  if (csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    free(r);
    return NULL;
  }
  if (r->forced && open_decoder(r, enc) != KEHU_OK) {
    kehu_csv_free(r);
    return NULL;
  }
  return r;
}

int kehu_csv_feed(kehu_csv *r, const void *data, size_t len, kehu_error *err)
{
  r->err = err;
  if (r->rc != KEHU_OK)
    return kehu_fail(err, r->rc, "", "the reader stopped at an earlier error");
  const unsigned char *s = data;
  static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
  while (r->seen < 3 && len) { /* a UTF-8 byte order mark, possibly split */
    if (s[0] != bom[r->seen]) {
      if (r->seen) { /* not a BOM after all: the bytes held so far count */
        size_t n = r->seen;
        r->seen = 3;
        if (kehu_csv_feed(r, bom, n, err) != KEHU_OK)
          return r->rc;
      }
      r->seen = 3;
      break;
    }
    r->seen++;
    s++;
    len--;
    if (r->seen == 3 && !r->forced && open_decoder(r, KEHU_ENC_UTF8) != KEHU_OK)
      return r->rc;
  }
  if (!len)
    return r->rc;
  return r->enc == KEHU_ENC_AUTO ? sniff(r, s, len) : decode(r, s, len);
}

int kehu_csv_finish(kehu_csv *r, kehu_error *err)
{
  r->err = err;
  if (r->rc != KEHU_OK)
    return kehu_fail(err, r->rc, "", "the reader stopped at an earlier error");
  if (r->seen && r->seen < 3) { /* a file shorter than a BOM */
    size_t n = r->seen;
    r->seen = 3;
    if (kehu_csv_feed(r, "\xEF\xBB", n, err) != KEHU_OK)
      return r->rc;
  }
  if (r->enc == KEHU_ENC_AUTO && r->nheld && decide(r, 1) != KEHU_OK)
    return r->rc;
  if (r->npend)
    return undecodable(r, r->raw_line);
  if (csv_fini(&r->p, on_cell, on_row, r) != 0)
    return csv_failed(r);
  return r->rc;
}

kehu_encoding kehu_csv_encoding(const kehu_csv *r)
{
  return r->enc;
}

void kehu_csv_free(kehu_csv *r)
{
  if (!r)
    return;
  if (r->cd != (iconv_t)-1)
    iconv_close(r->cd);
  csv_free(&r->p);
  kehu_row_free(&r->row);
  free(r->held);
  free(r);
}

int kehu_csv_read(const void *data, size_t len, kehu_encoding enc, kehu_sheet_row_fn fn,
                  void *ctx, kehu_error *err)
{
  kehu_csv *r = kehu_csv_new(enc, fn, ctx);
  if (!r)
    return kehu_fail(err, KEHU_EXHAUSTED, "", "out of memory");
  int rc = kehu_csv_feed(r, data, len, err);
  if (rc == KEHU_OK)
    rc = kehu_csv_finish(r, err);
  kehu_csv_free(r);
  return rc;
}
