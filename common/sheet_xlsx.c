/* .xlsx reading of sheet.h: the workbook is a zip of XML parts (libzip);
 * the first sheet is found through xl/workbook.xml and its relationships,
 * shared strings and cell styles (which numbers are dates) are read first,
 * then the sheet is parsed as it inflates
 * (expat), row by row (docs/architecture.md#import). Every byte inflated
 * counts against KEHU_XLSX_MAX_UNPACKED. */
#include "sheet.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "sheet_row.h"

#define FALLBACK_SHEET "xl/worksheets/sheet1.xml"
#define KEHU_SHEET_MAX_STYLES 65536u /* cell formats read from xl/styles.xml */

typedef struct {
  char *s;
  size_t n, cap;
} text;

typedef struct {
  zip_t *zip;
  size_t limit, budget; /* bytes that may be inflated, and what is left of them */
  XML_Parser xml;
  kehu_error *err;
  int rc;
  /* workbook and relationships */
  char rid[128], target[512];
  /* shared strings: one buffer, an offset per string */
  text strings;
  size_t *offs;
  size_t nstr, capstr;
  int in_si, in_t, in_rph;
  text cur;
  /* styles: which cell formats (cellXfs) show a date; custom number formats */
  unsigned char *xf_date;
  size_t nxf, capxf;
  struct {
    unsigned id;
    unsigned char date;
  } fmts[256];
  size_t nfmts;
  int in_cellxfs;
  /* the sheet */
  int cell_date;
  size_t row_num, col;
  char type[16];
  int in_v;
  kehu_row_buf row;
  kehu_sheet_row_fn fn;
  void *ctx;
} xlsx;

static int xfail(xlsx *x, int status, const char *msg, size_t line)
{
  if (x->rc == KEHU_OK) {
    x->rc = line ? kehu_fail(x->err, status, "", "line %zu: %s", line, msg)
                 : kehu_fail(x->err, status, "", "%s", msg);
    XML_StopParser(x->xml, XML_FALSE);
  }
  return x->rc;
}

static int text_add(xlsx *x, text *t, const char *s, size_t n, size_t limit)
{
  if (t->n + n + 1 > limit)
    return xfail(x, KEHU_EXHAUSTED, "a text longer than the limit", x->row_num);
  if (t->n + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->n + n + 1)
      cap *= 2;
    char *p = realloc(t->s, cap);
    if (!p)
      return xfail(x, KEHU_EXHAUSTED, "out of memory", 0);
    t->s = p;
    t->cap = cap;
  }
  memcpy(t->s + t->n, s, n);
  t->n += n;
  t->s[t->n] = '\0';
  return KEHU_OK;
}

/* Element and attribute names without a namespace prefix ("x:row" -> "row"). */
static const char *local(const char *name)
{
  const char *c = strrchr(name, ':');
  return c ? c + 1 : name;
}

static const char *attr(const char **atts, const char *name)
{
  for (; *atts; atts += 2)
    if (!strcmp(local(atts[0]), name))
      return atts[1];
  return NULL;
}

static void XMLCALL no_doctype(void *data, const XML_Char *n, const XML_Char *s,
                               const XML_Char *p, int internal)
{
  (void)n, (void)s, (void)p, (void)internal;
  xfail(data, KEHU_INVALID, "not an .xlsx file: a part declares a DTD", 0);
}

/* Inflates one part into a parser set up with handlers; -1 when it is absent. */
static int parse_part(xlsx *x, const char *name, XML_StartElementHandler start,
                      XML_EndElementHandler end, XML_CharacterDataHandler chars)
{
  zip_file_t *f = zip_fopen(x->zip, name, 0);
  if (!f)
    return -1;
  x->xml = XML_ParserCreate("UTF-8");
  if (!x->xml) {
    zip_fclose(f);
    return xfail(x, KEHU_EXHAUSTED, "out of memory", 0);
  }
  XML_SetUserData(x->xml, x);
  XML_SetElementHandler(x->xml, start, end);
  XML_SetCharacterDataHandler(x->xml, chars);
  XML_SetStartDoctypeDeclHandler(x->xml, no_doctype);
  char buf[65536], msg[200];
  for (;;) {
    zip_int64_t n = zip_fread(f, buf, sizeof buf);
    if (n < 0) {
      snprintf(msg, sizeof msg, "not an .xlsx file: %s cannot be unpacked", name);
      xfail(x, KEHU_INVALID, msg, 0);
      break;
    }
    if ((size_t)n > x->budget) {
      snprintf(msg, sizeof msg, "the workbook unpacks to more than %zu bytes (at %s)",
               x->limit, name);
      xfail(x, KEHU_EXHAUSTED, msg, 0);
      break;
    }
    x->budget -= (size_t)n;
    if (XML_Parse(x->xml, buf, (int)n, n == 0) != XML_STATUS_OK) {
      snprintf(msg, sizeof msg, "not an .xlsx file: %s is broken XML at its line %lu (%s)", name,
               (unsigned long)XML_GetCurrentLineNumber(x->xml),
               XML_ErrorString(XML_GetErrorCode(x->xml)));
      xfail(x, KEHU_INVALID, msg, 0);
      break;
    }
    if (n == 0)
      break;
  }
  XML_ParserFree(x->xml);
  x->xml = NULL;
  zip_fclose(f);
  return x->rc;
}

/* ---- which part is the first sheet ---- */

static void XMLCALL wb_start(void *data, const XML_Char *el, const XML_Char **atts)
{
  xlsx *x = data;
  const char *id;
  if (!x->rid[0] && !strcmp(local(el), "sheet") && (id = attr(atts, "id")))
    snprintf(x->rid, sizeof x->rid, "%s", id);
}

static void XMLCALL rels_start(void *data, const XML_Char *el, const XML_Char **atts)
{
  xlsx *x = data;
  const char *id = attr(atts, "Id"), *t = attr(atts, "Target");
  if (strcmp(local(el), "Relationship") || !id || !t || strcmp(id, x->rid))
    return;
  if (t[0] == '/')
    snprintf(x->target, sizeof x->target, "%s", t + 1);
  else
    snprintf(x->target, sizeof x->target, "xl/%s", t);
}

static void XMLCALL ignore_end(void *data, const XML_Char *el)
{
  (void)data, (void)el;
}

/* ---- shared strings: <si> of <t> or runs <r><t>, not phonetic <rPh> ---- */

static void XMLCALL sst_start(void *data, const XML_Char *el, const XML_Char **atts)
{
  (void)atts;
  xlsx *x = data;
  const char *n = local(el);
  if (!strcmp(n, "si")) {
    x->in_si = 1;
    x->cur.n = 0;
  } else if (!strcmp(n, "rPh")) {
    x->in_rph = 1;
  } else if (!strcmp(n, "t")) {
    x->in_t = 1;
  }
}

static void XMLCALL sst_end(void *data, const XML_Char *el)
{
  xlsx *x = data;
  const char *n = local(el);
  if (!strcmp(n, "t")) {
    x->in_t = 0;
  } else if (!strcmp(n, "rPh")) {
    x->in_rph = 0;
  } else if (!strcmp(n, "si") && x->in_si) {
    x->in_si = 0;
    if (x->nstr == x->capstr) {
      size_t cap = x->capstr ? x->capstr * 2 : 64;
      size_t *o = realloc(x->offs, cap * sizeof *o);
      if (!o) {
        xfail(x, KEHU_EXHAUSTED, "out of memory", 0);
        return;
      }
      x->offs = o;
      x->capstr = cap;
    }
    x->offs[x->nstr++] = x->strings.n;
    text_add(x, &x->strings, x->cur.s ? x->cur.s : "", x->cur.n + 1, KEHU_XLSX_MAX_UNPACKED);
  }
}

static void XMLCALL text_chars(void *data, const XML_Char *s, int len)
{
  xlsx *x = data;
  if ((x->in_t && !x->in_rph) || x->in_v)
    text_add(x, &x->cur, s, (size_t)len, KEHU_SHEET_MAX_CELL);
}

/* ---- styles: is a cell's number format a date? ---- */

/* A format code with a year or day in it, outside "quoted" and [bracketed] parts. */
static int code_is_date(const char *code)
{
  for (const char *p = code; *p; p++) {
    if (*p == '"' || *p == '[') {
      const char *close = strchr(p + 1, *p == '"' ? '"' : ']');
      if (!close)
        return 0;
      p = close;
    } else if (*p == '\\' && p[1]) {
      p++;
    } else if (strchr("yYdD", *p)) {
      return 1;
    }
  }
  return 0;
}

/* The built-in date and time formats (14-22, 45-47, and 27-36, 50-58 of
 * Chinese Excel), else the workbook's own. */
static int fmt_is_date(const xlsx *x, unsigned id)
{
  if ((id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) ||
      (id >= 50 && id <= 58))
    return 1;
  for (size_t i = 0; i < x->nfmts; i++)
    if (x->fmts[i].id == id)
      return x->fmts[i].date;
  return 0;
}

static void XMLCALL styles_start(void *data, const XML_Char *el, const XML_Char **atts)
{
  xlsx *x = data;
  const char *n = local(el), *id = attr(atts, "numFmtId"), *code;
  if (!strcmp(n, "cellXfs")) {
    x->in_cellxfs = 1;
  } else if (!strcmp(n, "numFmt") && id && (code = attr(atts, "formatCode")) &&
             x->nfmts < sizeof x->fmts / sizeof *x->fmts) {
    x->fmts[x->nfmts].id = (unsigned)strtoul(id, NULL, 10);
    x->fmts[x->nfmts++].date = (unsigned char)code_is_date(code);
  } else if (!strcmp(n, "xf") && x->in_cellxfs && x->nxf < KEHU_SHEET_MAX_STYLES) {
    if (x->nxf == x->capxf) {
      size_t cap = x->capxf ? x->capxf * 2 : 64;
      unsigned char *p = realloc(x->xf_date, cap);
      if (!p) {
        xfail(x, KEHU_EXHAUSTED, "out of memory", 0);
        return;
      }
      x->xf_date = p;
      x->capxf = cap;
    }
    x->xf_date[x->nxf++] = (unsigned char)(id && fmt_is_date(x, (unsigned)strtoul(id, NULL, 10)));
  }
}

static void XMLCALL styles_end(void *data, const XML_Char *el)
{
  xlsx *x = data;
  if (!strcmp(local(el), "cellXfs"))
    x->in_cellxfs = 0;
}

/* ---- the sheet ---- */

/* "BC12" -> 54 (0-based column); -1 when it has no letters. */
static long column_of(const char *ref)
{
  long col = 0;
  const char *p = ref;
  for (; *p >= 'A' && *p <= 'Z' && col <= (long)KEHU_SHEET_MAX_COLS; p++)
    col = col * 26 + (*p - 'A' + 1);
  return p == ref ? -1 : col - 1;
}

static void XMLCALL sheet_start(void *data, const XML_Char *el, const XML_Char **atts)
{
  xlsx *x = data;
  const char *n = local(el), *a;
  if (!strcmp(n, "row")) {
    x->row_num = (a = attr(atts, "r")) ? strtoul(a, NULL, 10) : x->row_num + 1;
    x->col = 0;
    x->row.n = x->row.used = 0;
    if (x->row_num == 0 || x->row_num > KEHU_SHEET_MAX_ROWS)
      xfail(x, KEHU_EXHAUSTED, "a row number beyond the rows allowed (1048576)", x->row_num);
  } else if (!strcmp(n, "c")) {
    long col = (a = attr(atts, "r")) ? column_of(a) : (long)x->col;
    if (col < 0 || (size_t)col < x->row.n)
      xfail(x, KEHU_INVALID, "a cell out of order", x->row_num);
    else if ((size_t)col >= KEHU_SHEET_MAX_COLS)
      xfail(x, KEHU_EXHAUSTED, "a cell beyond the columns allowed (1024)", x->row_num);
    x->col = (size_t)(col < 0 ? 0 : col);
    snprintf(x->type, sizeof x->type, "%s", (a = attr(atts, "t")) ? a : "n");
    unsigned long style = (a = attr(atts, "s")) ? strtoul(a, NULL, 10) : 0;
    x->cell_date = !strcmp(x->type, "n") && style < x->nxf && x->xf_date[style];
    x->cur.n = 0;
    if (x->cur.s)
      x->cur.s[0] = '\0';
  } else if (!strcmp(n, "v")) {
    x->in_v = 1;
  } else if (!strcmp(n, "t")) {
    x->in_t = 1;
  } else if (!strcmp(n, "rPh")) {
    x->in_rph = 1;
  }
}

static void end_cell(xlsx *x)
{
  const char *v = x->cur.s ? x->cur.s : "";
  size_t len = x->cur.n;
  if (!strcmp(x->type, "s")) {
    char *e;
    unsigned long i = strtoul(v, &e, 10);
    if (!*v || *e || i >= x->nstr) {
      xfail(x, KEHU_INVALID, "a cell names a shared string that does not exist", x->row_num);
      return;
    }
    v = x->strings.s + x->offs[i];
    len = strlen(v);
  }
  if (!len)
    return; /* an empty (styled) cell: the gap fills it if a later cell comes */
  while (x->row.n < x->col && x->rc == KEHU_OK)
    x->rc = kehu_row_add(&x->row, "", 0, x->row_num, x->err);
  if (x->rc == KEHU_OK)
    x->rc = kehu_row_add(&x->row, v, len, x->row_num, x->err);
  if (x->rc == KEHU_OK)
    x->row.dates[x->row.n - 1] = (unsigned char)x->cell_date;
  if (x->rc != KEHU_OK)
    XML_StopParser(x->xml, XML_FALSE);
}

static void XMLCALL sheet_end(void *data, const XML_Char *el)
{
  xlsx *x = data;
  const char *n = local(el);
  if (!strcmp(n, "v")) {
    x->in_v = 0;
  } else if (!strcmp(n, "t")) {
    x->in_t = 0;
  } else if (!strcmp(n, "rPh")) {
    x->in_rph = 0;
  } else if (!strcmp(n, "c")) {
    end_cell(x);
    x->col++;
  } else if (!strcmp(n, "row") && x->row.n && x->rc == KEHU_OK) {
    x->rc = kehu_row_emit(&x->row, x->row_num, x->fn, x->ctx, x->err);
    if (x->rc != KEHU_OK)
      XML_StopParser(x->xml, XML_FALSE);
  }
}

static int read_workbook(xlsx *x)
{
  const char *sheet = FALLBACK_SHEET;
  if (parse_part(x, "xl/workbook.xml", wb_start, ignore_end, NULL) == 0 && x->rid[0] &&
      parse_part(x, "xl/_rels/workbook.xml.rels", rels_start, ignore_end, NULL) == 0 &&
      x->target[0])
    sheet = x->target;
  if (x->rc != KEHU_OK)
    return x->rc;
  if (parse_part(x, "xl/sharedStrings.xml", sst_start, sst_end, text_chars) > 0 ||
      parse_part(x, "xl/styles.xml", styles_start, styles_end, NULL) > 0)
    return x->rc;
  x->in_t = x->in_rph = 0;
  int rc = parse_part(x, sheet, sheet_start, sheet_end, text_chars);
  if (rc < 0) {
    char msg[600];
    snprintf(msg, sizeof msg, "not an .xlsx file: no sheet (%s)", sheet);
    return xfail(x, KEHU_INVALID, msg, 0);
  }
  return rc;
}

int kehu_xlsx_read(const void *data, size_t len, kehu_sheet_row_fn fn, void *ctx,
                   kehu_error *err)
{
  return kehu_xlsx_read_limit(data, len, KEHU_XLSX_MAX_UNPACKED, fn, ctx, err);
}

int kehu_xlsx_read_limit(const void *data, size_t len, size_t max_unpacked,
                         kehu_sheet_row_fn fn, void *ctx, kehu_error *err)
{
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
  zip_t *zip = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
  zip_error_fini(&ze);
  if (!zip) {
    zip_source_free(src);
    return kehu_fail(err, KEHU_INVALID, "", "not an .xlsx file (not a zip archive)");
  }
  xlsx x = {.zip = zip, .limit = max_unpacked, .budget = max_unpacked, .err = err,
            .fn = fn, .ctx = ctx, .row = {.with_dates = 1}};
  int rc = read_workbook(&x);
  zip_discard(zip);
  free(x.strings.s);
  free(x.offs);
  free(x.xf_date);
  free(x.cur.s);
  kehu_row_free(&x.row);
  return rc;
}
