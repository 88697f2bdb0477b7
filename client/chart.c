/* Report charts: terminal bars and funnel, CSV, SVG (chart.h). */
#include "chart.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <utf8proc.h>

#include "i18n.h"
#include "output.h"
#include "sheet_neutral.h"
#include "text_width.h"
#include "timefmt.h"

/* ---- the terminal ---- */

size_t kehu_chart_columns(void)
{
  if (!isatty(STDOUT_FILENO))
    return 80;   /* a pipe or a file: the width a reader most likely has */
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  const char *c = getenv("COLUMNS");
  char *end = NULL;
  long n = c ? strtol(c, &end, 10) : 0;
  if (c && end != c && *end == '\0' && n > 0 && n < 10000)
    return (size_t)n;
  return 80;
}

int kehu_chart_locale_utf8(void)
{
  /* newlocale reads the environment as setlocale(LC_CTYPE, "") would,
   * whatever the process's own locale is (tests call this without
   * setlocale). */
  locale_t loc = newlocale(LC_CTYPE_MASK, "", (locale_t)0);
  if (loc == (locale_t)0)
    return 0;
  const char *cs = nl_langinfo_l(CODESET, loc);
  int utf8 = cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "UTF8") == 0);
  freelocale(loc);
  return utf8;
}

/* One output line that never grows past its width: everything written
 * through it is cut at the last column. */
typedef struct {
  FILE *f;
  size_t width;
  size_t used;
} line;

static size_t put(line *l, const char *s)
{
  size_t w = kehu_text_emit(l->f, s, l->width - l->used);
  l->used += w;
  return w;
}

/* n copies of a one-column glyph. */
static void put_n(line *l, const char *glyph, size_t n)
{
  for (size_t i = 0; i < n && l->used < l->width; i++) {
    fputs(glyph, l->f);
    l->used++;
  }
}

static void spaces(line *l, size_t n)
{
  put_n(l, " ", n);
}

static void end_line(line *l)
{
  fputc('\n', l->f);
  l->used = 0;
}

/* s in exactly cols columns: padded, or cut whole characters short and
 * ended with an ellipsis ("…" in UTF-8, else "..."). pad 0 leaves the
 * padding out (the last thing on a line gets no trailing spaces). */
static void put_fitted(line *l, const char *s, size_t cols, int utf8, int pad)
{
  s = s ? s : "";
  size_t w = kehu_text_width(s);
  size_t ew = utf8 ? 1 : 3;
  size_t room = l->width - l->used;
  size_t limit = cols < room ? cols : room;
  size_t written;
  if (w <= limit) {
    written = put(l, s);
  } else if (limit > ew) {
    written = (size_t)kehu_text_emit(l->f, s, limit - ew);
    l->used += written;
    written += put(l, utf8 ? "\xE2\x80\xA6" : "...");
  } else {
    written = (size_t)kehu_text_emit(l->f, s, limit);
    l->used += written;
  }
  if (pad && written < cols)
    spaces(l, cols - written);
}

/* Right-aligned in cols columns (numbers: ASCII, one column a byte). */
static void put_right(line *l, const char *s, size_t cols)
{
  size_t w = strlen(s);
  if (w < cols)
    spaces(l, cols - w);
  put(l, s);
}

static size_t style_width(const kehu_chart_style *st)
{
  return st->width < KEHU_CHART_MIN_WIDTH ? KEHU_CHART_MIN_WIDTH : st->width;
}

/* ---- horizontal bars ---- */

/* x >= 0 to the nearest whole number (the client does without libm). */
static size_t nearest(double x)
{
  return (size_t)(x + 0.5);
}

/* One bar of a chart: what kehu_chart_bars draws from a ReportRow, and
 * activity from a rep's total with the methods listed under it. */
typedef struct {
  const char *label;
  uint64_t count;
  const char *amount;   /* "12345.67", or NULL: no amount */
  const char *detail;   /* a line under the bar, or NULL */
} bar_item;

/* The bar of v against the largest value max in cols columns: full
 * blocks and an eighth-block partial in UTF-8, '#' otherwise. A value
 * above zero always shows at least a sliver, so that it differs from 0. */
static void put_bar(line *l, uint64_t v, uint64_t max, size_t cols, int utf8)
{
  if (max == 0 || v == 0 || cols == 0)
    return;
  double share = (double)v / (double)max;
  if (utf8) {
    static const char *const eighths[] = {"",
                                          "\xE2\x96\x8F", "\xE2\x96\x8E", "\xE2\x96\x8D",
                                          "\xE2\x96\x8C", "\xE2\x96\x8B", "\xE2\x96\x8A",
                                          "\xE2\x96\x89"};
    size_t e = nearest(share * (double)cols * 8.0);
    if (e == 0)
      e = 1;
    put_n(l, "\xE2\x96\x88", e / 8);
    if (e % 8)
      put_n(l, eighths[e % 8], 1);
  } else {
    size_t n = nearest(share * (double)cols);
    put_n(l, "#", n ? n : 1);
  }
}

static void draw_bars(FILE *f, const bar_item *items, size_t n, const kehu_chart_style *st)
{
  line l = {f, style_width(st), 0};
  if (n == 0) {
    put(&l, _("(nothing to show)"));
    end_line(&l);
    return;
  }
  size_t label_w = 1, count_w = 1, amount_w = 0;
  uint64_t max = 0;
  char num[32];
  for (size_t i = 0; i < n; i++) {
    size_t w = kehu_text_width(items[i].label);
    label_w = w > label_w ? w : label_w;
    snprintf(num, sizeof num, "%" PRIu64, items[i].count);
    count_w = strlen(num) > count_w ? strlen(num) : count_w;
    if (items[i].amount && strlen(items[i].amount) > amount_w)
      amount_w = strlen(items[i].amount);
    max = items[i].count > max ? items[i].count : max;
  }
  /* label, 2 spaces, count, [2 spaces, amount,] 2 spaces, bar; the label
   * takes at most half of what the numbers leave, the bar the rest */
  size_t fixed = count_w + 4 + (amount_w ? amount_w + 2 : 0);
  size_t room = l.width > fixed ? l.width - fixed : 0;
  if (label_w > room / 2)
    label_w = room / 2;
  size_t bar_w = room - label_w;
  for (size_t i = 0; i < n; i++) {
    put_fitted(&l, items[i].label, label_w, st->utf8, 1);
    spaces(&l, 2);
    snprintf(num, sizeof num, "%" PRIu64, items[i].count);
    put_right(&l, num, count_w);
    if (amount_w) {
      spaces(&l, 2);
      put_right(&l, items[i].amount ? items[i].amount : "", amount_w);
    }
    if (items[i].count > 0) {
      spaces(&l, 2);
      put_bar(&l, items[i].count, max, bar_w, st->utf8);
    }
    end_line(&l);
    if (items[i].detail) {
      spaces(&l, 2);
      put_fitted(&l, items[i].detail, l.width - 2, st->utf8, 0);
      end_line(&l);
    }
  }
}

/* A row's amount as yuan, into buf (32 bytes); NULL when it has none. */
static const char *row_amount(const Kehu__ReportRow *r, char *buf)
{
  if (!r->has_amount)
    return NULL;
  kehu_money_format(r->amount, buf);
  return buf;
}

void kehu_chart_bars(FILE *f, Kehu__ReportRow *const *rows, size_t n, const kehu_chart_style *st)
{
  bar_item *items = calloc(n ? n : 1, sizeof *items);
  char (*yuan)[32] = calloc(n ? n : 1, sizeof *yuan);
  if (items && yuan) {
    for (size_t i = 0; i < n; i++)
      items[i] = (bar_item){rows[i]->key, rows[i]->count, row_amount(rows[i], yuan[i]), NULL};
    draw_bars(f, items, n, st);
  }
  free(items);
  free(yuan);
}

/* ---- the funnel ---- */

/* lost is where a customer leaves the funnel, not a narrower step of it:
 * it is listed under the funnel instead of drawn as a level. */
static int is_level(const Kehu__ReportRow *r)
{
  return strcmp(r->key, "lost") != 0;
}

static void conversion_text(const Kehu__ReportRow *r, int utf8, char *out, size_t size)
{
  snprintf(out, size, "%s %.1f%%", utf8 ? "\xE2\x86\x93" : "v", r->value * 100.0);
}

void kehu_chart_funnel(FILE *f, Kehu__ReportRow *const *rows, size_t n,
                       const kehu_chart_style *st)
{
  line l = {f, style_width(st), 0};
  size_t label_w = 1, count_w = 1;
  uint64_t max = 0;
  char num[32];
  for (size_t i = 0; i < n; i++) {
    size_t w = kehu_text_width(rows[i]->key);
    label_w = w > label_w ? w : label_w;
    snprintf(num, sizeof num, "%" PRIu64, rows[i]->count);
    count_w = strlen(num) > count_w ? strlen(num) : count_w;
    if (is_level(rows[i]) && rows[i]->count > max)
      max = rows[i]->count;
  }
  size_t fixed = count_w + 4;
  size_t room = l.width > fixed ? l.width - fixed : 0;
  if (label_w > room / 3)
    label_w = room / 3;
  size_t area = room - label_w;   /* each level's bar is centred in it */
  const Kehu__ReportRow *prev = NULL;
  for (size_t i = 0; i < n; i++) {
    const Kehu__ReportRow *r = rows[i];
    if (!is_level(r))
      continue;
    if (prev && prev->has_value) {
      char conv[32];
      conversion_text(prev, st->utf8, conv, sizeof conv);
      size_t cw = kehu_text_width(conv);
      spaces(&l, label_w + fixed + (area > cw ? (area - cw) / 2 : 0));
      put(&l, conv);
      end_line(&l);
    }
    put_fitted(&l, r->key, label_w, st->utf8, 1);
    spaces(&l, 2);
    snprintf(num, sizeof num, "%" PRIu64, r->count);
    put_right(&l, num, count_w);
    size_t bw = max ? nearest((double)r->count / (double)max * (double)area) : 0;
    if (bw == 0 && r->count > 0)
      bw = 1;
    if (bw > 0) {
      spaces(&l, 2 + (area - bw) / 2);
      put_n(&l, st->utf8 ? "\xE2\x96\x88" : "#", bw);
    }
    end_line(&l);
    prev = r;
  }
  for (size_t i = 0; i < n; i++) {
    if (is_level(rows[i]))
      continue;
    put_fitted(&l, rows[i]->key, label_w, st->utf8, 1);
    spaces(&l, 2);
    snprintf(num, sizeof num, "%" PRIu64, rows[i]->count);
    put_right(&l, num, count_w);
    end_line(&l);
  }
}

void kehu_chart_transitions(FILE *f, Kehu__ReportRow *const *rows, size_t n,
                            const kehu_chart_style *st)
{
  if (n == 0)
    return;
  line l = {f, style_width(st), 0};
  size_t from_w = 1, to_w = 1, count_w = 1;
  char num[32];
  for (size_t i = 0; i < n; i++) {
    size_t a = kehu_text_width(rows[i]->key), b = kehu_text_width(rows[i]->key2);
    from_w = a > from_w ? a : from_w;
    to_w = b > to_w ? b : to_w;
    snprintf(num, sizeof num, "%" PRIu64, rows[i]->count);
    count_w = strlen(num) > count_w ? strlen(num) : count_w;
  }
  const char *arrow = st->utf8 ? " \xE2\x86\x92 " : " -> ";
  size_t aw = st->utf8 ? 3 : 4;
  size_t fixed = 2 + aw + 2 + count_w;
  size_t room = l.width > fixed ? l.width - fixed : 0;
  if (from_w + to_w > room) {   /* share what there is, each at least half */
    from_w = from_w > room / 2 ? room / 2 : from_w;
    to_w = room - from_w < to_w ? room - from_w : to_w;
  }
  put(&l, _("transitions in the period:"));
  end_line(&l);
  for (size_t i = 0; i < n; i++) {
    spaces(&l, 2);
    put_fitted(&l, rows[i]->key, from_w, st->utf8, 1);
    put(&l, arrow);
    put_fitted(&l, rows[i]->key2, to_w, st->utf8, 1);
    spaces(&l, 2);
    snprintf(num, sizeof num, "%" PRIu64, rows[i]->count);
    put_right(&l, num, count_w);
    end_line(&l);
  }
}

/* ---- activity, kpi, tables ---- */

/* Follow-ups per rep: a bar of the rep's total, the methods under it, in
 * the order the server sent the reps. */
static void chart_activity(FILE *f, const Kehu__ReportResult *r, const kehu_chart_style *st)
{
  size_t n = r->n_rows;
  bar_item *items = calloc(n ? n : 1, sizeof *items);
  char **details = calloc(n ? n : 1, sizeof *details);
  size_t *lens = calloc(n ? n : 1, sizeof *lens);
  size_t reps = 0;
  for (size_t i = 0; items && details && lens && i < n; i++) {
    const Kehu__ReportRow *row = r->rows[i];
    size_t k = 0;
    while (k < reps && strcmp(items[k].label, row->key) != 0)
      k++;
    if (k == reps)
      items[reps++] = (bar_item){row->key, 0, NULL, NULL};
    items[k].count += row->count;
    const char *method = row->key2 && row->key2[0] ? row->key2 : "other";
    size_t add = strlen(method) + 32;
    char *d = realloc(details[k], lens[k] + add);
    if (!d)
      continue;
    details[k] = d;
    lens[k] += (size_t)snprintf(d + lens[k], add, "%s%s %" PRIu64, lens[k] ? ", " : "", method,
                                row->count);
  }
  if (items && details && lens) {
    for (size_t k = 0; k < reps; k++)
      items[k].detail = details[k];
    draw_bars(f, items, reps, st);
  }
  for (size_t k = 0; details && k < reps; k++)
    free(details[k]);
  free(items);
  free(details);
  free(lens);
}

/* A KPI's figure: ratios as percentages, hours with one decimal; its words
 * in the user's language when human (the terminal; not the SVG file). */
static void kpi_text(const Kehu__ReportRow *r, int human, char *out, size_t size)
{
  int n;
  if (!r->has_value)
    n = snprintf(out, size, "%s", human ? _("n/a") : "n/a");
  else if (r->unit && strcmp(r->unit, "ratio") == 0)
    n = snprintf(out, size, "%.1f%%", r->value * 100.0);
  else if (r->unit && strcmp(r->unit, "hours") == 0)
    n = snprintf(out, size, "%.1f h", r->value);
  else
    n = snprintf(out, size, "%g %s", r->value, r->unit ? r->unit : "");
  if (n >= 0 && (size_t)n < size)
    snprintf(out + n, size - (size_t)n, human ? _("  (of %llu)") : "  (of %llu)",
             (unsigned long long)r->count);
}

static void chart_kpi(FILE *f, const Kehu__ReportResult *r, const kehu_chart_style *st)
{
  line l = {f, style_width(st), 0};
  size_t key_w = 1;
  for (size_t i = 0; i < r->n_rows; i++) {
    size_t w = kehu_text_width(r->rows[i]->key) + 1;
    key_w = w > key_w ? w : key_w;
  }
  if (key_w > l.width / 2)
    key_w = l.width / 2;
  for (size_t i = 0; i < r->n_rows; i++) {
    char label[256], value[96];
    snprintf(label, sizeof label, "%s:", r->rows[i]->key);
    kpi_text(r->rows[i], 1, value, sizeof value);
    put_fitted(&l, label, key_w, st->utf8, 1);
    spaces(&l, 1);
    put(&l, value);
    end_line(&l);
  }
}

/* A table in the terminal's width: a header and rows of ncols cells; the
 * widest columns give up columns until the line fits, their cells cut
 * with an ellipsis. right[c] right-aligns column c (numbers). */
static void draw_table(FILE *f, const char *const *header, const int *right, size_t ncols,
                       const char *const *cells, size_t nrows, const kehu_chart_style *st)
{
  line l = {f, style_width(st), 0};
  size_t width[8] = {0};
  size_t total = 2 * (ncols - 1);
  for (size_t c = 0; c < ncols; c++) {
    width[c] = kehu_text_width(header[c]);
    for (size_t r = 0; r < nrows; r++) {
      size_t w = kehu_text_width(cells[r * ncols + c]);
      width[c] = w > width[c] ? w : width[c];
    }
    total += width[c];
  }
  while (total > l.width) {
    size_t widest = 0;
    for (size_t c = 1; c < ncols; c++)
      widest = width[c] > width[widest] ? c : widest;
    if (width[widest] <= 4)
      break;   /* the line writer cuts what is left over */
    width[widest]--;
    total--;
  }
  for (size_t r = 0; r <= nrows; r++) {
    for (size_t c = 0; c < ncols; c++) {
      const char *s = r == 0 ? header[c] : cells[(r - 1) * ncols + c];
      s = s ? s : "";
      if (right[c] && r > 0)
        put_right(&l, s, width[c]);
      else
        put_fitted(&l, s, width[c], st->utf8, c + 1 < ncols);
      if (c + 1 < ncols)
        spaces(&l, 2);
    }
    end_line(&l);
  }
}

static int any_amount(Kehu__ReportRow *const *rows, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (rows[i]->has_amount)
      return 1;
  return 0;
}

/* churn: who is at risk and why; top: customers by revenue. */
static void chart_customers(FILE *f, const Kehu__ReportResult *r, const kehu_chart_style *st)
{
  int top = strcmp(r->kind, "top") == 0;
  int amounts = top && any_amount(r->rows, r->n_rows);
  size_t ncols = top ? (amounts ? 5 : 4) : 4;
  /* TRANSLATORS: the columns of `kehu report churn` and `kehu report top`. */
  const char *churn_header[] = {_("CUSTOMER"), _("NAME"), _("OWNER"), _("REASON")};
  const char *top_header[] = {_("CUSTOMER"), _("NAME"), _("OWNER"), _("ORDERS"), _("AMOUNT")};
  const int churn_right[] = {0, 0, 0, 0};
  const int top_right[] = {0, 0, 0, 1, 1};
  const char **cells = calloc(r->n_rows * ncols + 1, sizeof *cells);
  char (*nums)[2][32] = calloc(r->n_rows + 1, sizeof *nums);
  if (cells && nums) {
    for (size_t i = 0; i < r->n_rows; i++) {
      const Kehu__ReportRow *row = r->rows[i];
      const char **c = cells + i * ncols;
      c[0] = row->key;
      c[1] = row->name;
      c[2] = row->owner;
      if (top) {
        snprintf(nums[i][0], sizeof nums[i][0], "%" PRIu64, row->count);
        c[3] = nums[i][0];
        if (amounts)
          c[4] = row_amount(row, nums[i][1]);
      } else {
        c[3] = row->reason;
      }
    }
    if (r->n_rows == 0) {
      line l = {f, style_width(st), 0};
      put(&l, _("(nothing to show)"));
      end_line(&l);
    } else {
      draw_table(f, top ? top_header : churn_header, top ? top_right : churn_right, ncols, cells,
                 r->n_rows, st);
    }
  }
  free(cells);
  free(nums);
}

void kehu_chart_print(FILE *f, const Kehu__ReportResult *r, const kehu_chart_style *st)
{
  const char *k = r->kind;
  if (strcmp(k, "funnel") == 0) {
    kehu_chart_funnel(f, r->rows, r->n_rows, st);
  } else if (strcmp(k, "activity") == 0) {
    chart_activity(f, r, st);
  } else if (strcmp(k, "kpi") == 0) {
    chart_kpi(f, r, st);
  } else if (strcmp(k, "churn") == 0 || strcmp(k, "top") == 0) {
    chart_customers(f, r, st);
  } else {
    kehu_chart_bars(f, r->rows, r->n_rows, st);
  }
  if (r->n_transitions > 0) {
    fputc('\n', f);
    kehu_chart_transitions(f, r->transitions, r->n_transitions, st);
  }
}

/* ---- CSV ---- */

typedef enum {
  COL_SECTION, COL_KEY, COL_KEY2, COL_COUNT, COL_AMOUNT, COL_VALUE, COL_UNIT, COL_NAME,
  COL_OWNER, COL_REASON
} csv_field;

typedef struct {
  const char *name;
  csv_field field;
} csv_column;

#define MAX_CSV_COLS 6

/* The columns of a kind's table: the fields its rows carry (chart.h). */
static size_t csv_columns(const Kehu__ReportResult *r, csv_column *cols)
{
  const char *k = r->kind;
  size_t n = 0;
  if (strcmp(k, "funnel") == 0 || strcmp(k, "tiers") == 0) {
    /* one table for levels and transitions: section says which a row is */
    cols[n++] = (csv_column){"section", COL_SECTION};
    cols[n++] = (csv_column){"key", COL_KEY};
    cols[n++] = (csv_column){"key2", COL_KEY2};
    cols[n++] = (csv_column){"count", COL_COUNT};
    if (k[0] == 'f')
      cols[n++] = (csv_column){"value", COL_VALUE};
  } else if (strcmp(k, "churn") == 0) {
    cols[n++] = (csv_column){"customer", COL_KEY};
    cols[n++] = (csv_column){"name", COL_NAME};
    cols[n++] = (csv_column){"owner", COL_OWNER};
    cols[n++] = (csv_column){"reason", COL_REASON};
  } else if (strcmp(k, "top") == 0) {
    cols[n++] = (csv_column){"customer", COL_KEY};
    cols[n++] = (csv_column){"name", COL_NAME};
    cols[n++] = (csv_column){"owner", COL_OWNER};
    cols[n++] = (csv_column){"orders", COL_COUNT};
    cols[n++] = (csv_column){"amount", COL_AMOUNT};   /* empty where not shown */
  } else if (strcmp(k, "activity") == 0) {
    cols[n++] = (csv_column){"rep", COL_KEY};
    cols[n++] = (csv_column){"method", COL_KEY2};
    cols[n++] = (csv_column){"count", COL_COUNT};
  } else if (strcmp(k, "kpi") == 0) {
    cols[n++] = (csv_column){"key", COL_KEY};
    cols[n++] = (csv_column){"value", COL_VALUE};
    cols[n++] = (csv_column){"unit", COL_UNIT};
    cols[n++] = (csv_column){"count", COL_COUNT};
  } else {
    cols[n++] = (csv_column){"key", COL_KEY};
    cols[n++] = (csv_column){"count", COL_COUNT};
    if (any_amount(r->rows, r->n_rows))
      cols[n++] = (csv_column){"amount", COL_AMOUNT};
  }
  return n;
}

/* One cell: text from the server goes through the exports' formula
 * neutralising (a name like "=HYPERLINK(...)" must not run in a
 * spreadsheet); numbers written here do not need it. */
static int csv_cell(FILE *f, const char *s, int text, int last, char **buf, size_t *cap,
                    kehu_error *err)
{
  if (text) {
    int rc = kehu_sheet_neutralise(s, buf, cap, err);
    if (rc != KEHU_OK)
      return rc;
    s = *buf;
  }
  s = s ? s : "";
  if (strpbrk(s, ",\"\r\n")) {
    fputc('"', f);
    for (const char *p = s; *p; p++) {
      if (*p == '"')
        fputc('"', f);
      fputc(*p, f);
    }
    fputc('"', f);
  } else {
    fputs(s, f);
  }
  fputs(last ? "\r\n" : ",", f);
  return KEHU_OK;
}

static int csv_row(FILE *f, const csv_column *cols, size_t ncols, const char *section,
                   const Kehu__ReportRow *row, char **buf, size_t *cap, kehu_error *err)
{
  int rc = KEHU_OK;
  for (size_t c = 0; c < ncols && rc == KEHU_OK; c++) {
    char num[40] = "";
    const char *s = NULL;
    int text = 1;
    switch (cols[c].field) {
    case COL_SECTION: s = section; break;
    case COL_KEY: s = row->key; break;
    case COL_KEY2: s = row->key2; break;
    case COL_NAME: s = row->name; break;
    case COL_OWNER: s = row->owner; break;
    case COL_REASON: s = row->reason; break;
    case COL_UNIT: s = row->unit; break;
    case COL_COUNT:
      snprintf(num, sizeof num, "%" PRIu64, row->count);
      s = num, text = 0;
      break;
    case COL_AMOUNT:
      s = row_amount(row, num), text = 0;
      break;
    case COL_VALUE:
      if (row->has_value)
        snprintf(num, sizeof num, "%.10g", row->value);
      s = num, text = 0;
      break;
    }
    rc = csv_cell(f, s, text, c + 1 == ncols, buf, cap, err);
  }
  return rc;
}

int kehu_chart_csv(FILE *f, const Kehu__ReportResult *r, kehu_error *err)
{
  csv_column cols[MAX_CSV_COLS];
  size_t ncols = csv_columns(r, cols);
  char *buf = NULL;
  size_t cap = 0;
  int rc = KEHU_OK;
  for (size_t c = 0; c < ncols && rc == KEHU_OK; c++)
    rc = csv_cell(f, cols[c].name, 0, c + 1 == ncols, &buf, &cap, err);
  int sectioned = cols[0].field == COL_SECTION;
  for (size_t i = 0; i < r->n_rows && rc == KEHU_OK; i++)
    rc = csv_row(f, cols, ncols, sectioned ? "level" : NULL, r->rows[i], &buf, &cap, err);
  for (size_t i = 0; sectioned && i < r->n_transitions && rc == KEHU_OK; i++)
    rc = csv_row(f, cols, ncols, "transition", r->transitions[i], &buf, &cap, err);
  free(buf);
  if (rc == KEHU_OK && ferror(f))
    rc = kehu_fail_errno(err, KEHU_INTERNAL, NULL, errno, "cannot write the CSV");
  return rc;
}

/* ---- SVG ---- */

#define SVG_WIDTH 760
#define SVG_LABEL_RIGHT 200   /* labels end here (text-anchor end) */
#define SVG_BAR_X 210
#define SVG_BAR_MAX 420
#define SVG_ROW 26
#define SVG_FONT "'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"

/* s for an SVG text node or attribute: cut to cols columns with "…",
 * control characters as spaces and invalid UTF-8 as '?' (what
 * kehu_text_emit does for a terminal, which XML 1.0 needs as well), then
 * & < > " ' escaped. U+FFFE and U+FFFF, which XML forbids, become U+FFFD. */
static void svg_escape(FILE *f, const char *s, size_t cols)
{
  char *clean = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&clean, &len);
  if (!m)
    return;
  s = s ? s : "";
  if (kehu_text_width(s) > cols) {
    kehu_text_emit(m, s, cols - 1);
    fputs("\xE2\x80\xA6", m);
  } else {
    kehu_text_emit(m, s, SIZE_MAX);
  }
  if (fclose(m) != 0 || !clean) {
    free(clean);
    return;
  }
  for (const char *p = clean; *p; p++) {
    switch (*p) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&apos;", f); break;
    default:
      if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBF &&
          ((unsigned char)p[2] == 0xBE || (unsigned char)p[2] == 0xBF)) {
        fputs("\xEF\xBF\xBD", f);
        p += 2;
      } else {
        fputc(*p, f);
      }
    }
  }
  free(clean);
}

/* <text x y [anchor] [extra]>s</text> */
static void svg_text(FILE *f, int x, int y, const char *anchor, const char *extra, const char *s,
                     size_t cols)
{
  fprintf(f, "<text x=\"%d\" y=\"%d\"", x, y);
  if (anchor)
    fprintf(f, " text-anchor=\"%s\"", anchor);
  if (extra)
    fprintf(f, " %s", extra);
  fputc('>', f);
  svg_escape(f, s, cols);
  fputs("</text>\n", f);
}

/* A bar's length in pixels: proportional, at least 1 for a value above 0. */
static double svg_len(double v, double max)
{
  if (max <= 0 || v <= 0)
    return 0;
  double w = v / max * SVG_BAR_MAX;
  return w < 1 ? 1 : w;
}

/* Bars from x = SVG_BAR_X, labels on their left, text on their right. */
static int svg_bars(FILE *f, int y, const char *const *labels, const double *values,
                    const char *const *texts, size_t n)
{
  double max = 0;
  for (size_t i = 0; i < n; i++)
    max = values[i] > max ? values[i] : max;
  for (size_t i = 0; i < n; i++, y += SVG_ROW) {
    double w = svg_len(values[i], max);
    svg_text(f, SVG_LABEL_RIGHT, y + 14, "end", NULL, labels[i], 26);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"18\" fill=\"#4e79a7\"/>\n",
            SVG_BAR_X, y, w);
    svg_text(f, SVG_BAR_X + (int)w + 6, y + 14, NULL, NULL, texts[i], 60);
  }
  return y;
}

static int svg_simple_bars(FILE *f, int y, const Kehu__ReportResult *r)
{
  size_t n = r->n_rows;
  const char **labels = calloc(n + 1, sizeof *labels);
  const char **texts = calloc(n + 1, sizeof *texts);
  double *values = calloc(n + 1, sizeof *values);
  char (*num)[64] = calloc(n + 1, sizeof *num);
  int top = strcmp(r->kind, "top") == 0;
  int amounts = any_amount(r->rows, n);
  if (labels && texts && values && num) {
    for (size_t i = 0; i < n; i++) {
      const Kehu__ReportRow *row = r->rows[i];
      labels[i] = top && row->name && row->name[0] ? row->name : row->key;
      values[i] = (double)row->count;
      snprintf(num[i], sizeof num[i], "%" PRIu64, row->count);
      if (amounts && row->has_amount) {
        /* top ranks by revenue: the bar is the amount, the count beside */
        char yuan[32];
        kehu_money_format(row->amount, yuan);
        if (top)
          values[i] = (double)row->amount;
        snprintf(num[i], sizeof num[i], "%s (%" PRIu64 ")", yuan, row->count);
      }
      texts[i] = num[i];
    }
    y = svg_bars(f, y, labels, values, texts, n);
  }
  free(labels);
  free(texts);
  free(values);
  free(num);
  return y;
}

static int svg_activity(FILE *f, int y, const Kehu__ReportResult *r)
{
  /* the terminal's chart as bars: a rep's total, the methods beside it;
   * reps in the order the server sent them */
  size_t n = r->n_rows, reps = 0;
  const char **labels = calloc(n + 1, sizeof *labels);
  double *values = calloc(n + 1, sizeof *values);
  char **texts = calloc(n + 1, sizeof *texts);
  for (size_t i = 0; labels && values && texts && i < n; i++) {
    const Kehu__ReportRow *row = r->rows[i];
    size_t k = 0;
    while (k < reps && strcmp(labels[k], row->key) != 0)
      k++;
    if (k == reps)
      labels[reps++] = row->key;
    values[k] += (double)row->count;
  }
  for (size_t k = 0; labels && values && texts && k < reps; k++) {
    char *t = NULL;
    size_t tl = 0;
    FILE *tm = open_memstream(&t, &tl);
    if (!tm)
      continue;
    fprintf(tm, "%.0f:", values[k]);
    for (size_t i = 0; i < n; i++)
      if (strcmp(r->rows[i]->key, labels[k]) == 0)
        fprintf(tm, " %s %" PRIu64, r->rows[i]->key2 && r->rows[i]->key2[0] ? r->rows[i]->key2
                                                                          : "other",
                r->rows[i]->count);
    if (fclose(tm) == 0)
      texts[k] = t;
    else
      free(t);
  }
  if (labels && values && texts)
    y = svg_bars(f, y, labels, values, (const char *const *)texts, reps);
  for (size_t k = 0; texts && k < reps; k++)
    free(texts[k]);
  free(labels);
  free(values);
  free(texts);
  return y;
}

static int svg_funnel(FILE *f, int y, const Kehu__ReportResult *r)
{
  double max = 0;
  for (size_t i = 0; i < r->n_rows; i++)
    if (is_level(r->rows[i]) && (double)r->rows[i]->count > max)
      max = (double)r->rows[i]->count;
  const int cx = SVG_BAR_X + SVG_BAR_MAX / 2;
  const Kehu__ReportRow *prev = NULL;
  char num[32];
  for (size_t i = 0; i < r->n_rows; i++) {
    const Kehu__ReportRow *row = r->rows[i];
    if (!is_level(row))
      continue;
    if (prev && prev->has_value) {
      char conv[32];
      conversion_text(prev, 1, conv, sizeof conv);
      svg_text(f, cx, y + 15, "middle", "fill=\"#555555\"", conv, 20);
      y += 22;
    }
    double w = svg_len((double)row->count, max);
    svg_text(f, SVG_LABEL_RIGHT, y + 19, "end", NULL, row->key, 26);
    fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"28\" fill=\"#59a14f\"/>\n",
            cx - w / 2, y, w);
    snprintf(num, sizeof num, "%" PRIu64, row->count);
    svg_text(f, SVG_BAR_X + SVG_BAR_MAX + 10, y + 19, NULL, NULL, num, 24);
    y += 34;
    prev = row;
  }
  for (size_t i = 0; i < r->n_rows; i++) {
    if (is_level(r->rows[i]))
      continue;
    snprintf(num, sizeof num, "%" PRIu64, r->rows[i]->count);
    svg_text(f, SVG_LABEL_RIGHT, y + 19, "end", NULL, r->rows[i]->key, 26);
    svg_text(f, SVG_BAR_X, y + 19, NULL, NULL, num, 24);
    y += SVG_ROW;
  }
  return y;
}

/* Text rows in columns (churn, kpi): x positions and widths in columns. */
static int svg_table(FILE *f, int y, const char *const *header, const int *x, const size_t *cols,
                     size_t ncols, const char *const *cells, size_t nrows)
{
  for (size_t c = 0; c < ncols; c++)
    svg_text(f, x[c], y + 14, NULL, "font-weight=\"bold\"", header[c], cols[c]);
  y += SVG_ROW;
  for (size_t r = 0; r < nrows; r++, y += SVG_ROW)
    for (size_t c = 0; c < ncols; c++)
      svg_text(f, x[c], y + 14, NULL, NULL, cells[r * ncols + c], cols[c]);
  return y;
}

static int svg_churn_kpi(FILE *f, int y, const Kehu__ReportResult *r)
{
  int churn = strcmp(r->kind, "churn") == 0;
  size_t ncols = churn ? 4 : 2;
  const char *churn_header[] = {"customer", "name", "owner", "reason"};
  const char *kpi_header[] = {"KPI", "value"};
  const int churn_x[] = {20, 150, 340, 450}, kpi_x[] = {20, 300};
  const size_t churn_cols[] = {16, 24, 13, 40}, kpi_cols[] = {36, 50};
  const char **cells = calloc(r->n_rows * ncols + 1, sizeof *cells);
  char (*vals)[96] = calloc(r->n_rows + 1, sizeof *vals);
  if (cells && vals) {
    for (size_t i = 0; i < r->n_rows; i++) {
      const Kehu__ReportRow *row = r->rows[i];
      const char **c = cells + i * ncols;
      c[0] = row->key;
      if (churn) {
        c[1] = row->name, c[2] = row->owner, c[3] = row->reason;
      } else {
        kpi_text(row, 0, vals[i], sizeof vals[i]);
        c[1] = vals[i];
      }
    }
    y = svg_table(f, y, churn ? churn_header : kpi_header, churn ? churn_x : kpi_x,
                  churn ? churn_cols : kpi_cols, ncols, cells, r->n_rows);
  }
  free(cells);
  free(vals);
  return y;
}

static int svg_transitions(FILE *f, int y, const Kehu__ReportResult *r)
{
  if (r->n_transitions == 0)
    return y;
  y += 10;
  svg_text(f, 20, y + 14, NULL, "font-weight=\"bold\"", "transitions in the period", 40);
  y += SVG_ROW;
  for (size_t i = 0; i < r->n_transitions; i++, y += 22) {
    const Kehu__ReportRow *t = r->transitions[i];
    char num[32];
    snprintf(num, sizeof num, "%" PRIu64, t->count);
    svg_text(f, SVG_LABEL_RIGHT, y + 14, "end", NULL, t->key, 26);
    svg_text(f, SVG_BAR_X, y + 14, NULL, NULL, "\xE2\x86\x92", 2);
    svg_text(f, SVG_BAR_X + 24, y + 14, NULL, NULL, t->key2, 26);
    svg_text(f, SVG_BAR_X + 260, y + 14, NULL, NULL, num, 24);
  }
  return y;
}

/* "stage, 2024-11-01 00:00 – 2024-12-01 00:00" (local time). */
static void svg_heading(const Kehu__ReportResult *r, char *out, size_t size)
{
  char a[32] = "", b[32] = "";
  if (r->has_since)
    kehu_format_local_time(r->since, a);
  if (r->has_until)
    kehu_format_local_time(r->until, b);
  if (a[0] || b[0])
    snprintf(out, size, "kehu report %s, %s \xE2\x80\x93 %s", r->kind, a, b);
  else
    snprintf(out, size, "kehu report %s", r->kind);
}

int kehu_chart_svg(FILE *f, const Kehu__ReportResult *r, kehu_error *err)
{
  /* the body first, to know the height the header declares */
  char *body = NULL;
  size_t len = 0;
  FILE *b = open_memstream(&body, &len);
  if (!b)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
  const char *k = r->kind;
  int y = 50;
  if (r->n_rows == 0) {
    svg_text(b, 20, y + 14, NULL, NULL, "(nothing to show)", 40);
    y += SVG_ROW;
  } else if (strcmp(k, "funnel") == 0) {
    y = svg_funnel(b, y, r);
  } else if (strcmp(k, "activity") == 0) {
    y = svg_activity(b, y, r);
  } else if (strcmp(k, "churn") == 0 || strcmp(k, "kpi") == 0) {
    y = svg_churn_kpi(b, y, r);
  } else {
    y = svg_simple_bars(b, y, r);
  }
  y = svg_transitions(b, y, r);
  if (fclose(b) != 0 || !body) {
    free(body);
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
  }
  int height = y + 20;
  char heading[160];
  svg_heading(r, heading, sizeof heading);
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"%s\" font-size=\"14\">\n",
          SVG_WIDTH, height, SVG_WIDTH, height, SVG_FONT);
  fputs("<title>", f);
  svg_escape(f, heading, sizeof heading);
  fputs("</title>\n", f);
  fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", SVG_WIDTH, height);
  svg_text(f, 20, 30, NULL, "font-size=\"18\" font-weight=\"bold\"", heading, 80);
  fwrite(body, 1, len, f);
  fputs("</svg>\n", f);
  free(body);
  if (ferror(f))
    return kehu_fail_errno(err, KEHU_INTERNAL, NULL, errno, "cannot write the SVG");
  return KEHU_OK;
}

int kehu_chart_svg_file(const char *path, const Kehu__ReportResult *r, kehu_error *err)
{
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
    return kehu_fail_tr(err, KEHU_INVALID, "svg", "--svg: the path is too long");
  /* O_EXCL: never write through a file or link someone left at that name */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return kehu_fail_errno(err, KEHU_INTERNAL, "svg", e, "cannot write %s", tmp);
  }
  int rc = kehu_chart_svg(f, r, err);
  int bad_close = fclose(f) != 0;
  if (rc == KEHU_OK && (bad_close || rename(tmp, path) != 0))
    rc = kehu_fail_errno(err, KEHU_INTERNAL, "svg", errno, "cannot write %s", path);
  if (rc != KEHU_OK)
    unlink(tmp);
  return rc;
}
