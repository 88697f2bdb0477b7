/* What a report computes (report_kinds.c) and what it answers with
 * (reports.c): rows keyed by one or two strings, counted, summed, or given
 * a figure (docs/architecture.md#reports). */
#ifndef KEHU_REPORT_H
#define KEHU_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "core.h"
#include "store.h"

typedef struct {
  char *key, *key2;           /* key2: NULL for one-key rows */
  uint64_t count;
  int64_t amount;             /* fen */
  int has_amount, has_value;
  double value;
  const char *unit;           /* static */
  char *name, *owner, *reason;
  size_t order;               /* when it was first made: rows that keep an order */
} kehu_report_row;

/* Rows by (key, key2): open addressing, grown at half full. */
typedef struct {
  kehu_report_row *rows;
  size_t n, cap;
} kehu_row_map;

/* The row for key and key2 (made with count 0 when new); NULL when out of memory. */
kehu_report_row *kehu_report_row_for(kehu_row_map *m, const char *key, const char *key2);
void kehu_row_map_free(kehu_row_map *m);

typedef enum {
  KEHU_ROWS_BY_COUNT,   /* largest first (amount, then count) */
  KEHU_ROWS_AS_MADE,    /* in the order they were first made: a funnel's steps, KPIs */
} kehu_row_order;

typedef struct {
  kehu_txn *t;
  const kehu_caller *who;
  const kehu_config *cfg;
  const char *kind;
  int64_t now, since, until;   /* the period: [since, until) */
  int all_time;                /* no --since: since is 0 */
  kehu_row_map rows, transitions;
  kehu_row_order order;
  size_t limit;                /* rows answered at most (0: all) */
  int status;
} kehu_report;

/* The report's kind names, for the error that lists them. */
extern const char *const kehu_report_kinds[];
extern const size_t kehu_report_nkinds;

/* The default period of a kind when the caller gives no --since: how far
 * back from until (0: all time). */
int64_t kehu_report_default_span(const char *kind);

/* Computes r->kind over what r->who may see, in r->t. */
void kehu_report_compute(kehu_report *r);

#endif
