/* `kehu report` as charts (README.md, "Reports"): proportional bars and a
 * funnel on the terminal, a CSV table for scripts, and a standalone SVG
 * file for a slide. Everything here works on a ReportResult already in
 * memory, so it is tested without a server (tests/unit/test_chart.c). */
#ifndef KEHU_CLIENT_CHART_H
#define KEHU_CLIENT_CHART_H

#include <stddef.h>
#include <stdio.h>

#include "kehu.pb-c.h"
#include "status.h"

/* How the terminal draws: its width in columns and whether the locale's
 * character set is UTF-8 (block characters, "…", "→") or not ('#',
 * "...", "->"). */
typedef struct {
  size_t width;
  int utf8;
} kehu_chart_style;

/* Lines are never wider than this many columns, whatever width asks. */
#define KEHU_CHART_MIN_WIDTH 20

/* stdout's width when it is a terminal (TIOCGWINSZ, else COLUMNS), else 80. */
size_t kehu_chart_columns(void);
/* 1 when the user's locale (LC_ALL / LC_CTYPE / LANG) is UTF-8. Asked
 * without changing the process's locale (whose LC_NUMERIC kehu keeps "C",
 * client/i18n.h, so that numbers print with a decimal point). */
int kehu_chart_locale_utf8(void);

/* The human chart of r, by its kind: bars (summary, stage, industry,
 * region, size, source, owner, tiers), the funnel, activity per rep, the
 * kpi block, or the churn and top tables; transitions (funnel, tiers) are
 * listed after. A width below KEHU_CHART_MIN_WIDTH counts as that. */
void kehu_chart_print(FILE *f, const Kehu__ReportResult *r, const kehu_chart_style *st);

/* The pieces kehu_chart_print uses, for the tests. */
void kehu_chart_bars(FILE *f, Kehu__ReportRow *const *rows, size_t n, const kehu_chart_style *st);
void kehu_chart_funnel(FILE *f, Kehu__ReportRow *const *rows, size_t n,
                       const kehu_chart_style *st);
void kehu_chart_transitions(FILE *f, Kehu__ReportRow *const *rows, size_t n,
                            const kehu_chart_style *st);

/* r as CSV: a header row, then a row per ReportRow (RFC 4180 quoting, CRLF
 * line ends, UTF-8 without a BOM). The columns depend on the kind:
 *   summary, stage, ...: key,count (and amount when rows have amounts)
 *   funnel: section,key,key2,count,value   tiers: section,key,key2,count
 *     (section "level" for the rows, "transition" for key -> key2)
 *   churn: customer,name,owner,reason   top: customer,name,owner,orders,amount
 *   activity: rep,method,count          kpi: key,value,unit,count
 * Amounts are yuan with two decimals, empty where the role sees none. Text
 * cells a spreadsheet would take for a formula get a leading "'", as in
 * exports. */
int kehu_chart_csv(FILE *f, const Kehu__ReportResult *r, kehu_error *err);

/* r as a standalone SVG 1.1 document. */
int kehu_chart_svg(FILE *f, const Kehu__ReportResult *r, kehu_error *err);
/* kehu_chart_svg into path: written to a temporary file beside it, then
 * renamed over it (an existing file is replaced: the user named it). */
int kehu_chart_svg_file(const char *path, const Kehu__ReportResult *r, kehu_error *err);

#endif
