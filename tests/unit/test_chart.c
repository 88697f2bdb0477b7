/* chart.c: `kehu report` charts without a server (README.md, "Reports"):
 * bars aligned by display width and never wider than the terminal, the
 * ASCII fallback, cutting Chinese labels on character boundaries, the
 * funnel, CSV quoting, and SVG that is well-formed and escaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utf8proc.h>

#include "chart.h"
#include "text_width.h"

#define FULL "\xE2\x96\x88"   /* █ */
#define MAX_ROWS 16

/* Rows built in place: key, count and the optional fields. */
typedef struct {
  Kehu__ReportRow rows[MAX_ROWS];
  Kehu__ReportRow *ptrs[MAX_ROWS];
  size_t n;
} fixture;

static Kehu__ReportRow *add(fixture *fx, const char *key, uint64_t count)
{
  Kehu__ReportRow init = KEHU__REPORT_ROW__INIT;
  Kehu__ReportRow *r = &fx->rows[fx->n];
  *r = init;
  r->key = (char *)key;
  r->count = count;
  fx->ptrs[fx->n++] = r;
  return r;
}

static Kehu__ReportRow *add_value(fixture *fx, const char *key, uint64_t count, double v)
{
  Kehu__ReportRow *r = add(fx, key, count);
  r->has_value = 1;
  r->value = v;
  return r;
}

static void result(Kehu__ReportResult *r, const char *kind, fixture *rows, fixture *moves)
{
  Kehu__ReportResult init = KEHU__REPORT_RESULT__INIT;
  *r = init;
  r->kind = (char *)kind;
  r->rows = rows->ptrs;
  r->n_rows = rows->n;
  if (moves) {
    r->transitions = moves->ptrs;
    r->n_transitions = moves->n;
  }
}

typedef void (*draw_fn)(FILE *, Kehu__ReportRow *const *, size_t, const kehu_chart_style *);

/* What draw prints, NUL-terminated (free it). */
static char *render(draw_fn draw, fixture *fx, size_t width, int utf8)
{
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  assert_non_null(f);
  kehu_chart_style st = {width, utf8};
  draw(f, fx->ptrs, fx->n, &st);
  assert_int_equal(fclose(f), 0);
  return out;
}

static char *render_result(const Kehu__ReportResult *r, size_t width, int utf8)
{
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  assert_non_null(f);
  kehu_chart_style st = {width, utf8};
  kehu_chart_print(f, r, &st);
  assert_int_equal(fclose(f), 0);
  return out;
}

/* The next line of *text into buf (without the newline); 0 at the end. */
static int next_line(const char **text, char *buf, size_t size)
{
  if (!**text)
    return 0;
  const char *nl = strchr(*text, '\n');
  size_t n = nl ? (size_t)(nl - *text) : strlen(*text);
  assert_true(n < size);
  memcpy(buf, *text, n);
  buf[n] = '\0';
  *text += n + (nl ? 1 : 0);
  return 1;
}

/* The display column where the first block character starts, or -1. */
static long bar_column(const char *line)
{
  const char *p = strstr(line, "\xE2\x96");
  if (!p)
    return -1;
  char prefix[512];
  memcpy(prefix, line, (size_t)(p - line));
  prefix[p - line] = '\0';
  return (long)kehu_text_width(prefix);
}

static size_t count_of(const char *s, const char *what)
{
  size_t n = 0;
  for (const char *p = strstr(s, what); p; p = strstr(p + strlen(what), what))
    n++;
  return n;
}

static int valid_utf8(const char *s)
{
  const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
  while (*p) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
    if (n <= 0)
      return 0;
    p += n;
  }
  return 1;
}

static void regions(fixture *fx)
{
  fx->n = 0;
  add(fx, "华东", 120);
  add(fx, "西南地区", 7);
  add(fx, "North", 45);
  add(fx, "东北三省及内蒙古东部", 60);
  add(fx, "nobody", 0);
}

/* Chinese and Latin labels: every bar starts in the same column. */
static void test_bars_align(void **state)
{
  (void)state;
  fixture fx = {0};
  regions(&fx);
  char *out = render(kehu_chart_bars, &fx, 60, 1);
  const char *p = out;
  char line[1024];
  long col = -1;
  size_t lines = 0;
  while (next_line(&p, line, sizeof line)) {
    long c = bar_column(line);
    lines++;
    if (strstr(line, "nobody")) {
      assert_int_equal(c, -1);   /* 0 draws no bar */
      continue;
    }
    assert_true(c > 0);
    if (col < 0)
      col = c;
    assert_int_equal(c, col);
  }
  assert_int_equal(lines, 5);
  free(out);
}

/* The largest value fills the bar to the last column, with full blocks. */
static void test_largest_full(void **state)
{
  (void)state;
  fixture fx = {0};
  regions(&fx);
  for (size_t width = 40; width <= 120; width += 20) {
    char *out = render(kehu_chart_bars, &fx, width, 1);
    const char *p = out;
    char line[1024];
    while (next_line(&p, line, sizeof line)) {
      if (!strstr(line, "华东"))
        continue;
      assert_int_equal(kehu_text_width(line), width);
      long col = bar_column(line);
      assert_int_equal(count_of(line, FULL), width - (size_t)col);
    }
    free(out);
  }
}

/* No line is wider than the width asked for, down to KEHU_CHART_MIN_WIDTH. */
static void test_never_wider(void **state)
{
  (void)state;
  fixture fx = {0};
  regions(&fx);
  add(&fx, "一个非常非常非常非常非常非常非常非常长的行业名称", 18446744073709551615ull);
  draw_fn draws[] = {kehu_chart_bars, kehu_chart_funnel};
  for (size_t d = 0; d < 2; d++) {
    for (size_t width = KEHU_CHART_MIN_WIDTH; width <= 130; width++) {
      for (int utf8 = 0; utf8 <= 1; utf8++) {
        char *out = render(draws[d], &fx, width, utf8);
        const char *p = out;
        char line[2048];
        while (next_line(&p, line, sizeof line))
          assert_true(kehu_text_width(line) <= width);
        assert_true(valid_utf8(out));
        free(out);
      }
    }
  }
}

/* Not UTF-8: '#' bars and "..." cuts; the only bytes >= 0x80 are the
 * labels' own (uncut ones here). */
static void test_ascii_fallback(void **state)
{
  (void)state;
  fixture fx = {0};
  add(&fx, "华东", 120);
  add(&fx, "North", 45);
  add(&fx, "a-very-long-latin-label-that-will-not-fit-at-all", 3);
  char *out = render(kehu_chart_bars, &fx, 50, 0);
  assert_non_null(strchr(out, '#'));
  assert_non_null(strstr(out, "..."));
  /* blank out the one non-ASCII label, then nothing else may be */
  for (char *p = strstr(out, "华东"); p; p = strstr(p, "华东"))
    memset(p, 'x', strlen("华东"));
  for (const unsigned char *p = (const unsigned char *)out; *p; p++)
    assert_true(*p < 0x80);
  free(out);
}

/* A long Chinese label is cut between characters, ends with "…", and its
 * bar still starts where the others do. */
static void test_cut_chinese(void **state)
{
  (void)state;
  fixture fx = {0};
  add(&fx, "浙江省杭州市西湖区文三路电子信息街区科技园", 10);
  add(&fx, "短", 5);
  for (size_t width = 30; width <= 41; width++) {
    char *out = render(kehu_chart_bars, &fx, width, 1);
    assert_true(valid_utf8(out));
    assert_non_null(strstr(out, "\xE2\x80\xA6"));
    const char *p = out;
    char line[1024];
    long col = -1;
    while (next_line(&p, line, sizeof line)) {
      long c = bar_column(line);
      if (col < 0)
        col = c;
      assert_int_equal(c, col);
    }
    free(out);
  }
}

/* The funnel: levels shrink with their counts, centred, with the
 * conversion between them; lost is listed, not drawn as a level. */
static void test_funnel(void **state)
{
  (void)state;
  fixture fx = {0};
  add_value(&fx, "potential", 120, 0.35);
  add_value(&fx, "intent", 42, 0.2857);
  add(&fx, "closed", 12);
  add(&fx, "lost", 30);
  for (int utf8 = 0; utf8 <= 1; utf8++) {
    char *out = render(kehu_chart_funnel, &fx, 72, utf8);
    const char *glyph = utf8 ? FULL : "#";
    const char *levels[] = {"potential", "intent", "closed"};
    size_t widths[3], mids[3];
    const char *p = out;
    char line[1024];
    size_t k = 0;
    while (next_line(&p, line, sizeof line)) {
      if (k < 3 && strncmp(line, levels[k], strlen(levels[k])) == 0) {
        widths[k] = count_of(line, glyph);
        char before[1024];
        size_t start = (size_t)(strstr(line, glyph) - line);
        memcpy(before, line, start);
        before[start] = '\0';
        mids[k] = 2 * kehu_text_width(before) + widths[k];
        k++;
      } else if (strncmp(line, "lost", 4) == 0) {
        assert_int_equal(count_of(line, glyph), 0);
      }
    }
    assert_int_equal(k, 3);
    assert_true(widths[0] > widths[1] && widths[1] > widths[2] && widths[2] > 0);
    /* centred: the middles (doubled) differ by rounding only */
    for (size_t i = 1; i < 3; i++)
      assert_true(mids[i] + 2 >= mids[0] && mids[i] <= mids[0] + 2);
    assert_non_null(strstr(out, utf8 ? "\xE2\x86\x93 35.0%" : "v 35.0%"));
    assert_non_null(strstr(out, "28.6%"));
    free(out);
  }
}

static void test_transitions(void **state)
{
  (void)state;
  fixture rows = {0}, moves = {0};
  add(&rows, "high", 10);
  add(&rows, "churn_risk", 4);
  Kehu__ReportRow *t = add(&moves, "potential", 7);
  t->key2 = "intent";
  Kehu__ReportResult r;
  result(&r, "tiers", &rows, &moves);
  char *out = render_result(&r, 80, 1);
  assert_non_null(strstr(out, "potential \xE2\x86\x92 intent  7"));
  free(out);
  out = render_result(&r, 80, 0);
  assert_non_null(strstr(out, "potential -> intent  7"));
  free(out);
}

static void test_kpi_and_activity(void **state)
{
  (void)state;
  fixture rows = {0};
  add_value(&rows, "conversion_rate", 120, 0.35)->unit = "ratio";
  add_value(&rows, "avg_response_hours", 40, 3.25)->unit = "hours";
  Kehu__ReportResult r;
  result(&r, "kpi", &rows, NULL);
  char *out = render_result(&r, 80, 1);
  assert_non_null(strstr(out, "35.0%"));
  assert_non_null(strstr(out, "3.2 h"));
  free(out);

  fixture act = {0};
  add(&act, "张伟", 5)->key2 = "phone";
  add(&act, "li", 2)->key2 = "visit";
  add(&act, "张伟", 3)->key2 = "wechat";
  result(&r, "activity", &act, NULL);
  out = render_result(&r, 80, 1);
  assert_non_null(strstr(out, "phone 5, wechat 3"));
  const char *p = out;
  char line[1024];
  assert_true(next_line(&p, line, sizeof line));
  assert_non_null(strstr(line, "张伟"));
  assert_non_null(strstr(line, " 8  "));   /* the rep's total */
  free(out);
}

static char *csv_of(const Kehu__ReportResult *r)
{
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  assert_non_null(f);
  kehu_error err;
  kehu_error_clear(&err);
  assert_int_equal(kehu_chart_csv(f, r, &err), KEHU_OK);
  assert_int_equal(fclose(f), 0);
  return out;
}

static void test_csv(void **state)
{
  (void)state;
  fixture rows = {0};
  add(&rows, "Acme, \"Best\" Co", 3);
  add(&rows, "=1+2", 2);
  add(&rows, "杭州", 1);
  Kehu__ReportResult r;
  result(&r, "industry", &rows, NULL);
  char *out = csv_of(&r);
  assert_string_equal(out, "key,count\r\n"
                           "\"Acme, \"\"Best\"\" Co\",3\r\n"
                           "'=1+2,2\r\n"
                           "杭州,1\r\n");
  free(out);

  fixture f = {0}, moves = {0};
  add_value(&f, "potential", 120, 0.35);
  add(&f, "closed", 12);
  add(&moves, "potential", 7)->key2 = "intent";
  result(&r, "funnel", &f, &moves);
  out = csv_of(&r);
  assert_string_equal(out, "section,key,key2,count,value\r\n"
                           "level,potential,,120,0.35\r\n"
                           "level,closed,,12,\r\n"
                           "transition,potential,intent,7,\r\n");
  free(out);

  fixture top = {0};
  Kehu__ReportRow *t = add(&top, "C20241120001", 4);
  t->name = "杭州云图";
  t->owner = "zhang";
  t->has_amount = 1;
  t->amount = 1234567;
  add(&top, "C20241120002", 1)->name = "no amount";
  result(&r, "top", &top, NULL);
  out = csv_of(&r);
  assert_string_equal(out, "customer,name,owner,orders,amount\r\n"
                           "C20241120001,杭州云图,zhang,4,12345.67\r\n"
                           "C20241120002,no amount,,1,\r\n");
  free(out);
}

/* Well-formed enough to be sure of, without an XML library: tags nest and
 * close, attributes are quoted, every '&' starts an entity, and there is
 * one root element. */
static void assert_well_formed(const char *s)
{
  const char *stack[256];
  size_t lens[256], depth = 0, roots = 0;
  const char *p = s;
  assert_int_equal(strncmp(p, "<?xml ", 6), 0);
  p = strstr(p, "?>") + 2;
  while (*p) {
    if (*p == '&') {
      assert_true(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0 ||
                  strncmp(p, "&gt;", 4) == 0 || strncmp(p, "&quot;", 6) == 0 ||
                  strncmp(p, "&apos;", 6) == 0);
      p++;
      continue;
    }
    if (*p == '>')
      fail_msg("a '>' outside a tag");
    if (*p != '<') {
      if (depth == 0)
        assert_true(*p == '\n' || *p == ' ');   /* nothing outside the root */
      p++;
      continue;
    }
    int closing = p[1] == '/';
    const char *name = p + 1 + closing;
    size_t n = strcspn(name, " />\n");
    assert_true(n > 0);
    const char *q = name + n;
    /* attributes: name="value", the value without < or " */
    while (*q == ' ' || *q == '\n') {
      q += strspn(q, " \n");
      if (*q == '/' || *q == '>')
        break;
      q += strcspn(q, "=");
      assert_int_equal(q[1], '"');
      const char *close = strchr(q + 2, '"');
      assert_non_null(close);
      for (const char *v = q + 2; v < close; v++)
        assert_true(*v != '<');
      q = close + 1;
    }
    int empty = *q == '/';
    q += empty;
    assert_int_equal(*q, '>');
    if (closing) {
      assert_true(depth > 0);
      depth--;
      assert_int_equal(lens[depth], n);
      assert_int_equal(strncmp(stack[depth], name, n), 0);
    } else if (!empty) {
      if (depth == 0)
        roots++;
      assert_true(depth < 256);
      stack[depth] = name;
      lens[depth++] = n;
    } else if (depth == 0) {
      roots++;
    }
    p = q + 1;
  }
  assert_int_equal(depth, 0);
  assert_int_equal(roots, 1);
}

static char *svg_of(const Kehu__ReportResult *r)
{
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  assert_non_null(f);
  kehu_error err;
  kehu_error_clear(&err);
  assert_int_equal(kehu_chart_svg(f, r, &err), KEHU_OK);
  assert_int_equal(fclose(f), 0);
  return out;
}

static void test_svg(void **state)
{
  (void)state;
  fixture rows = {0};
  add(&rows, "A&B <C>", 3);
  add(&rows, "it's \"quoted\"", 2);
  add(&rows, "华东", 9);
  add(&rows, "ctrl\x01char", 1);
  Kehu__ReportResult r;
  result(&r, "region", &rows, NULL);
  r.has_since = 1;
  r.since = 1730419200;
  char *out = svg_of(&r);
  assert_well_formed(out);
  assert_true(valid_utf8(out));
  assert_non_null(strstr(out, "A&amp;B &lt;C&gt;"));
  assert_null(strstr(out, "A&B"));
  assert_non_null(strstr(out, "it&apos;s &quot;quoted&quot;"));
  assert_non_null(strstr(out, "xmlns=\"http://www.w3.org/2000/svg\""));
  assert_non_null(strstr(out, "viewBox=\"0 0 "));
  assert_non_null(strstr(out, "<title>kehu report region"));
  assert_non_null(strstr(out, "Noto Sans CJK SC"));
  assert_null(strchr(out, '\x01'));
  assert_int_equal(count_of(out, "<rect "), 1 + 4);   /* background, 4 bars */
  free(out);

  /* every kind makes a well-formed document, empty ones too */
  const char *kinds[] = {"funnel", "tiers", "churn", "activity", "top", "kpi", "summary"};
  fixture any = {0}, moves = {0};
  Kehu__ReportRow *a = add_value(&any, "potential<>", 10, 0.5);
  a->key2 = "phone&";
  a->name = "<b>";
  a->reason = "no follow-up in 90 days & \"silent\"";
  a->unit = "ratio";
  add(&any, "lost", 2);
  add(&moves, "potential", 1)->key2 = "intent&";
  fixture none = {0};
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    result(&r, kinds[i], &any, &moves);
    out = svg_of(&r);
    assert_well_formed(out);
    free(out);
    result(&r, kinds[i], &none, NULL);
    out = svg_of(&r);
    assert_well_formed(out);
    free(out);
  }
}

/* The file appears whole under its name, replacing one already there, and
 * no temporary file is left beside it. */
static void test_svg_file(void **state)
{
  (void)state;
  char dir[] = "/tmp/test_chart.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/chart.svg", dir);
  FILE *old = fopen(path, "w");
  assert_non_null(old);
  fputs("old", old);
  fclose(old);
  fixture rows = {0};
  add(&rows, "stage", 3);
  Kehu__ReportResult r;
  result(&r, "stage", &rows, NULL);
  kehu_error err;
  kehu_error_clear(&err);
  assert_int_equal(kehu_chart_svg_file(path, &r, &err), KEHU_OK);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char head[6] = "";
  assert_int_equal(fread(head, 1, 5, f), 5);
  fclose(f);
  assert_string_equal(head, "<?xml");
  char tmp[300];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  struct stat st;
  assert_int_not_equal(stat(tmp, &st), 0);
  /* a directory that does not exist: an error naming svg, nothing written */
  char bad[300];
  snprintf(bad, sizeof bad, "%s/missing/chart.svg", dir);
  assert_int_equal(kehu_chart_svg_file(bad, &r, &err), KEHU_INTERNAL);
  assert_string_equal(err.field, "svg");
  unlink(path);
  rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bars_align),   cmocka_unit_test(test_largest_full),
    cmocka_unit_test(test_never_wider),  cmocka_unit_test(test_ascii_fallback),
    cmocka_unit_test(test_cut_chinese),  cmocka_unit_test(test_funnel),
    cmocka_unit_test(test_transitions),  cmocka_unit_test(test_kpi_and_activity),
    cmocka_unit_test(test_csv),          cmocka_unit_test(test_svg),
    cmocka_unit_test(test_svg_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
