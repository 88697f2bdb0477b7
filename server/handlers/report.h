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
  int open_end;                /* no --until: until is now + 1 */
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

/* Adds n to the row of key (and key2); 0, or -1 when out of memory. */
int kehu_report_count(kehu_row_map *m, const char *key, const char *key2, uint64_t n);

/* Whether r->who sees an owner's customers, asked once per owner (a
 * manager's answer reads the owner's user record). */
typedef struct {
  kehu_report *r;
  kehu_row_map owners;   /* owner -> count 1: visible, 2: not */
} kehu_owner_cache;
/* 1 visible, 0 not, -1 out of memory. */
int kehu_report_owner_visible(kehu_owner_cache *s, const char *owner);

/* The figures of the KPIs (docs/architecture.md#reports). */
typedef struct {
  uint64_t reached, closed;        /* customers created in the period; closed now */
  uint64_t customers, lost;        /* customers by the period's end; lost in it */
  uint64_t buyers, repeat;         /* customers with an order in the period; with two */
  uint64_t tickets, responded, within_sla;
  int64_t response_seconds;
} kehu_kpi_figures;

/* All time (no --since, no --until), from the maintained counts
 * (report_counts.c, docs/storage.md#report-counts) instead of the records. */
void kehu_report_summary_counts(kehu_report *r);
void kehu_report_funnel_counts(kehu_report *r, const char *const *steps, int nsteps);
void kehu_report_tiers_counts(kehu_report *r);
/* row(r, c) for each of the first max churn_risk customers the caller sees. */
void kehu_report_churn_counts(kehu_report *r, size_t max,
                              int (*row)(kehu_report *r, const Kehu__Customer *c, void *arg));
/* 0 with *k filled, or 1 when the counts of orders and tickets are not
 * whole yet (an upgraded store without its data key): read the records. */
int kehu_report_kpi_counts(kehu_report *r, kehu_kpi_figures *k);

/* Computes r->kind over what r->who may see, in r->t. */
void kehu_report_compute(kehu_report *r);

#endif
