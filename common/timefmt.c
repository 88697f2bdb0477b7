#include "timefmt.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's
 * algorithm): no timegm, no TZ environment games. */
int64_t kehu_days_from_civil(int y, int m, int d)
{
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

void kehu_civil_from_days(int64_t z, int *y, int *m, int *d)
{
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

void kehu_time_format_iso(int64_t t, char *out)
{
  int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  int64_t secs = t - days * 86400;
  int y, m, d;
  kehu_civil_from_days(days, &y, &m, &d);
  snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(secs / 3600),
           (int)(secs / 60 % 60), (int)(secs % 60));
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i]))
      return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

static int parse_date_prefix(const char **p, int *y, int *m, int *d)
{
  if (digits(p, 4, y) || **p != '-' || (++*p, digits(p, 2, m)) || **p != '-' ||
      (++*p, digits(p, 2, d)))
    return -1;
  if (*y < 1900 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
    return -1;
  return 0;
}

int kehu_date_parse(const char *s, int *year, int *month, int *day)
{
  const char *p = s;
  if (!s || parse_date_prefix(&p, year, month, day) != 0 || *p != '\0')
    return -1;
  return 0;
}

static int local_to_utc(int y, int mo, int d, int h, int mi, int64_t *out)
{
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                  .tm_min = mi, .tm_isdst = -1};
  time_t t = mktime(&tm);
  if (t == (time_t)-1)
    return -1;
  *out = (int64_t)t;
  return 0;
}

int kehu_time_parse(const char *s, int64_t *out)
{
  int y, mo, d, h = 0, mi = 0, sec = 0;
  const char *p = s;
  if (!s || parse_date_prefix(&p, &y, &mo, &d) != 0)
    return -1;
  if (*p == '\0')
    return local_to_utc(y, mo, d, 0, 0, out);
  if (*p != 'T' && *p != ' ')
    return -1;
  p++;
  if (digits(&p, 2, &h) || *p != ':' || (++p, digits(&p, 2, &mi)))
    return -1;
  if (*p == ':' && (++p, digits(&p, 2, &sec)))
    return -1;
  if (h > 23 || mi > 59 || sec > 59)
    return -1;
  if (*p == '\0') {
    /* No offset: local time, like `YYYY-MM-DD HH:MM`. */
    if (local_to_utc(y, mo, d, h, mi, out) != 0)
      return -1;
    *out += sec;
    return 0;
  }
  int64_t offset = 0;
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, oh, om;
    p++;
    if (digits(&p, 2, &oh))
      return -1;
    if (*p == ':')
      p++;
    if (digits(&p, 2, &om) || oh > 14 || om > 59)
      return -1;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return -1;
  }
  if (*p != '\0')
    return -1;
  *out = kehu_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
  return 0;
}

int kehu_money_parse(const char *s, int64_t *fen)
{
  if (!s || !isdigit((unsigned char)*s))
    return -1;
  int64_t yuan = 0;
  const char *p = s;
  int ndigits = 0;
  for (; isdigit((unsigned char)*p); p++) {
    if (++ndigits > 14)
      return -1;
    yuan = yuan * 10 + (*p - '0');
  }
  int64_t cents = 0;
  if (*p == '.') {
    p++;
    int n = 0;
    for (; isdigit((unsigned char)*p); p++, n++) {
      if (n >= 2)
        return -1;
      cents = cents * 10 + (*p - '0');
    }
    if (n == 0)
      return -1;
    if (n == 1)
      cents *= 10;
  }
  if (*p != '\0')
    return -1;
  const int64_t max_yuan = 10000000000000LL;   /* 10^13 yuan */
  if (yuan > max_yuan || (yuan == max_yuan && cents > 0))
    return -1;
  *fen = yuan * 100 + cents;
  return 0;
}

void kehu_money_format(int64_t fen, char *out)
{
  const char *sign = fen < 0 ? "-" : "";
  uint64_t v = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
  snprintf(out, 32, "%s%" PRIu64 ".%02u", sign, v / 100, (unsigned)(v % 100));
}
