/* Times, dates and money as people type them and as the wire carries them:
 * times are UTC seconds, dates YYYY-MM-DD, money integer fen. */
#ifndef KEHU_TIMEFMT_H
#define KEHU_TIMEFMT_H

#include <stdint.h>

/* "2026-11-23T19:34:27Z" into out (at least 32 bytes). */
void kehu_time_format_iso(int64_t t, char *out);

/* TIME of README.md: `YYYY-MM-DD` (local midnight), `YYYY-MM-DD HH:MM` (local
 * time) or ISO 8601 `YYYY-MM-DDTHH:MM[:SS](Z|+HH:MM|-HH:MM)`. 0 or -1. */
int kehu_time_parse(const char *s, int64_t *out);

/* A real calendar date `YYYY-MM-DD` (year 1900..9999). 0 or -1. */
int kehu_date_parse(const char *s, int *year, int *month, int *day);
/* Days since 1970-01-01 of a valid date (for comparing dates). */
int64_t kehu_days_from_civil(int year, int month, int day);
/* The calendar date of a day count from 1970-01-01 (the inverse). */
void kehu_civil_from_days(int64_t days, int *year, int *month, int *day);

/* Yuan with at most two decimals, >= 0 and at most 10^13 yuan, into fen.
 * 0 or -1. */
int kehu_money_parse(const char *s, int64_t *fen);
/* fen as "12345.67" into out (at least 32 bytes). */
void kehu_money_format(int64_t fen, char *out);

#endif
