/* Cell values of a customer import as people type them (import_map.h,
 * docs/architecture.md#import): size bands, stages, dates (Excel serial
 * numbers included) and tag lists, into the forms the validation of
 * docs/architecture.md#validation accepts. */
#include "import_map.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "validate.h"

/* "line 7, column '首次接触时间': ..." with the column as the error's field. */
__attribute__((format(printf, 4, 5))) static int bad(kehu_error *err, size_t line,
                                                     const char *column, const char *fmt, ...)
{
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return kehu_fail(err, KEHU_INVALID, column, "line %zu, column '%s': %s", line, column, msg);
}

static const char *const spaces[] = {" ", "\t", "\r", "\n", "　", NULL}; /* U+3000 too */

static size_t space_at(const char *p)
{
  for (size_t i = 0; spaces[i]; i++)
    if (!strncmp(p, spaces[i], strlen(spaces[i])))
      return strlen(spaces[i]);
  return 0;
}

/* in without surrounding spaces, into out (cut at cap). */
static void trim(const char *in, char *out, size_t cap)
{
  size_t k;
  while ((k = space_at(in)))
    in += k;
  snprintf(out, cap, "%s", in);
  size_t n = strlen(out);
  for (int again = 1; again && n;) {
    again = 0;
    for (size_t i = 0; spaces[i]; i++) {
      size_t l = strlen(spaces[i]);
      if (n >= l && !strcmp(out + n - l, spaces[i])) {
        out[n -= l] = '\0';
        again = 1;
      }
    }
  }
}

/* ---- size ---- */

/* Spellings folded before matching a band; "" drops the text. */
static const char *const size_folds[][2] = {
  {"０", "0"}, {"１", "1"}, {"２", "2"}, {"３", "3"}, {"４", "4"}, {"５", "5"}, {"６", "6"},
  {"７", "7"}, {"８", "8"}, {"９", "9"}, {"－", "-"}, {"—", "-"}, {"–", "-"}, {"～", "-"},
  {"~", "-"}, {"至", "-"}, {"到", "-"}, {"＋", "+"}, {"以上", "+"}, {"及以上", "+"},
  {"以下", "<"}, {"及以下", "<"}, {"人", ""}, {"名", ""}, {"员工", ""}, {" ", ""}, {"　", ""},
};

int kehu_import_size(size_t line, const char *column, const char *in, char *out, size_t cap,
                     kehu_error *err)
{
  char t[256], f[256];
  trim(in, t, sizeof t);
  size_t n = 0;
  for (const char *p = t; *p && n + 2 < sizeof f;) {
    size_t i = 0, nf = sizeof size_folds / sizeof *size_folds;
    while (i < nf && strncmp(p, size_folds[i][0], strlen(size_folds[i][0])))
      i++;
    if (i == nf) {
      f[n++] = *p++;
      continue;
    }
    p += strlen(size_folds[i][0]);
    n += (size_t)snprintf(f + n, sizeof f - n, "%s", size_folds[i][1]);
  }
  f[n] = '\0';
  unsigned long lo, hi;
  int used = 0;
  if (sscanf(f, "%lu-%lu%n", &lo, &hi, &used) == 2 && !f[used]) {
    if (lo > hi)
      return bad(err, line, column, "'%s': the band's first number is above its second", in);
    snprintf(out, cap, "%lu-%lu", lo, hi);
  } else if (sscanf(f, "%lu+%n", &lo, &used) == 1 && !f[used]) {
    snprintf(out, cap, "%lu+", lo);
  } else if (sscanf(f, "%lu<%n", &hi, &used) == 1 && !f[used] && hi > 1) {
    snprintf(out, cap, "1-%lu", hi);
  } else {
    snprintf(out, cap, "%s", t); /* free text, as typed */
  }
  kehu_error e;
  if (*out && kehu_check_name("size", out, 50, &e) != KEHU_OK)
    return bad(err, line, column, "%s", e.message);
  return KEHU_OK;
}

/* ---- stage ---- */

int kehu_import_stage(size_t line, const char *column, const char *in, const char **out,
                      kehu_error *err)
{
  char t[64];
  trim(in, t, sizeof t);
  for (char *p = t; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  *out = *t ? kehu_stage_canonical(t) : "";
  if (!*out)
    return bad(err, line, column, "'%s' is not a stage: 潜在, 意向, 成交, 流失 "
               "(potential, intent, closed, lost)", in);
  return KEHU_OK;
}

/* ---- dates ---- */

/* Digits at *p (at most max) as a number; -1 when there are none. */
static long digits(const char **p, int max)
{
  long v = 0;
  int k = 0;
  for (; k < max && **p >= '0' && **p <= '9'; k++, (*p)++)
    v = v * 10 + (**p - '0');
  return k ? v : -1;
}

static int separator(const char **p, const char *const *seps)
{
  for (; *seps; seps++)
    if (!strncmp(*p, *seps, strlen(*seps))) {
      *p += strlen(*seps);
      return 1;
    }
  return 0;
}

/* Excel's day numbers count from 1899-12-30 (day 60 is Excel's 1900-02-29,
 * which never was); 2958465 is 9999-12-31. */
static int from_serial(const char *s, int *y, int *m, int *d)
{
  char *end;
  double v = strtod(s, &end);
  if (*end || v < 1 || v >= 2958466 || (long)v == 60)
    return -1;
  long day = (long)v;
  kehu_civil_from_days(kehu_days_from_civil(1899, 12, day < 60 ? 31 : 30) + day, y, m, d);
  return 0;
}

int kehu_import_date(size_t line, const char *column, const char *in, char out[11],
                     kehu_error *err)
{
  char t[64];
  trim(in, t, sizeof t);
  out[0] = '\0';
  if (!*t)
    return KEHU_OK;
  char *cut = strpbrk(t, " T"); /* a time after the date */
  if (cut)
    *cut = '\0';
  int y = -1, m = -1, d = -1;
  size_t len = strlen(t);
  if (strspn(t, "0123456789") == 8 && len == 8) {
    sscanf(t, "%4d%2d%2d", &y, &m, &d); /* 20240115 */
  } else if (strspn(t, "0123456789.") == len && strchr(t, '.') == strrchr(t, '.')) {
    if (from_serial(t, &y, &m, &d) != 0)
      return bad(err, line, column, "'%s' is not an Excel date number", in);
  } else {
    static const char *const ysep[] = {"-", "/", ".", "年", NULL};
    static const char *const msep[] = {"-", "/", ".", "月", NULL};
    const char *p = t;
    y = (int)digits(&p, 4);
    if (p - t != 4 || !separator(&p, ysep) || (m = (int)digits(&p, 2)) < 0 ||
        !separator(&p, msep) || (d = (int)digits(&p, 2)) < 0 ||
        (*p && strcmp(p, "日") && strcmp(p, "号")))
      return bad(err, line, column, "'%s' is not a date (2024-01-15, 2024/1/15, "
                 "2024年1月15日 or an Excel date number)", in);
  }
  char iso[32];
  snprintf(iso, sizeof iso, "%04d-%02d-%02d", y, m, d);
  int yy, mm, dd;
  if (kehu_date_parse(iso, &yy, &mm, &dd) != 0)
    return bad(err, line, column, "'%s' is not a real date", in);
  memcpy(out, iso, 11);
  return KEHU_OK;
}

/* ---- tags ---- */

static const char *const tag_seps[] = {",", "，", ";", "；", "、", NULL};

int kehu_import_tags(size_t line, const char *column, const char *in, char ***tags, size_t *n,
                     kehu_error *err)
{
  *tags = NULL;
  *n = 0;
  size_t len = strlen(in);
  /* one block: the pointers, then a copy of in cut at the separators */
  char **v = malloc(KEHU_MAX_TAGS * sizeof *v + len + 1);
  if (!v)
    return kehu_fail(err, KEHU_EXHAUSTED, column, "out of memory");
  char *w = (char *)(v + KEHU_MAX_TAGS);
  size_t count = 0;
  for (const char *p = in;;) {
    const char *q = p, *after = NULL;
    for (; *q; q++) {
      const char *r = q;
      if (separator(&r, tag_seps)) {
        after = r;
        break;
      }
    }
    char tok[400];
    if ((size_t)(q - p) >= sizeof tok) {
      free(v);
      return bad(err, line, column, "a tag longer than 64 characters");
    }
    memcpy(tok, p, (size_t)(q - p));
    tok[q - p] = '\0';
    trim(tok, w, sizeof tok);
    if (*w) {
      kehu_error e;
      int rc = count == KEHU_MAX_TAGS ? bad(err, line, column, "more than %d tags", KEHU_MAX_TAGS)
               : kehu_check_name("tag", w, 64, &e) != KEHU_OK
                   ? bad(err, line, column, "'%s': %s", w, e.message)
                   : KEHU_OK;
      if (rc != KEHU_OK) {
        free(v);
        return rc;
      }
      v[count++] = w;
      w += strlen(w) + 1;
    }
    if (!after)
      break;
    p = after;
  }
  if (!count) {
    free(v);
    return KEHU_OK;
  }
  *tags = v;
  *n = count;
  return KEHU_OK;
}
