/* A customer import's header row and values as people type them in a
 * spreadsheet (docs/architecture.md#import): English field names or the
 * Chinese labels of the import template, with notes in parentheses; size
 * bands, stages, dates and tag lists in their usual spellings. Every error
 * names the line and the column as written in the file. */
#ifndef KEHU_IMPORT_MAP_H
#define KEHU_IMPORT_MAP_H

#include <stddef.h>

#include "sheet.h"
#include "status.h"

typedef enum {
  KEHU_IMPORT_NAME,
  KEHU_IMPORT_EXTERNAL_CODE,
  KEHU_IMPORT_INDUSTRY,
  KEHU_IMPORT_SIZE,
  KEHU_IMPORT_STAGE,
  KEHU_IMPORT_SOURCE,
  KEHU_IMPORT_ADDRESS,
  KEHU_IMPORT_REGION,
  KEHU_IMPORT_OWNER,
  KEHU_IMPORT_TAGS,
  KEHU_IMPORT_NOTES,
  KEHU_IMPORT_FIRST_CONTACT_AT,
  KEHU_IMPORT_CONTACT_NAME,
  KEHU_IMPORT_CONTACT_PHONE,
  KEHU_IMPORT_CONTACT_TITLE,
  KEHU_IMPORT_CONTACT_EMAIL,
  KEHU_IMPORT_SHORT_NAME,
  KEHU_IMPORT_KIND,
  KEHU_IMPORT_FIELDS
} kehu_import_field;

/* "name", "external_code", ... */
const char *kehu_import_field_name(kehu_import_field f);
/* The field a header cell means, or -1. Case, surrounding spaces, '*'
 * marks and notes in parentheses (half- or full-width) do not count:
 * "客户名称(*)", "企业规模（员工数）" and "External Code" are all known. */
int kehu_import_field_of(const char *header);

/* A cell's value without the quote an export put before a formula-like
 * start ("'=1+1" -> "=1+1", "'+86 138..." -> "+86 138..."), quotes before
 * that start included ("''=1" -> "'=1": the value was "'=1"), so a file
 * kehu wrote imports as it was; any other cell as it is ("'abc"). */
const char *kehu_import_cell(const char *cell);

typedef struct {
  size_t ncols;
  int field[KEHU_SHEET_MAX_COLS];   /* per column: a kehu_import_field, or -1: ignored */
  int column[KEHU_IMPORT_FIELDS];   /* per field: its column, or -1 */
  size_t n_ignored;                 /* columns no field knows (empty headers included) */
  char ignored[512];                /* their headers, "微信, 生日" (cut short if long) */
} kehu_import_header;

/* Maps the header row. KEHU_INVALID when no column is the name, or when
 * two columns mean the same field; unknown columns are only listed. */
int kehu_import_map_header(const kehu_sheet_row *row, kehu_import_header *h, kehu_error *err);

/* ---- values; in is a cell, column its header as written (for errors) ----
 * An empty cell (spaces only) gives an empty result and no error. */

/* Employee bands: "100-500人" -> "100-500", "500人以上" -> "500+", "50人以下" ->
 * "1-50", full-width digits and dashes, ～ and 至 accepted; any other text is
 * kept as typed (customer size is free text of at most 50 characters,
 * docs/architecture.md#validation). out: at least 64 bytes. */
int kehu_import_size(size_t line, const char *column, const char *in, char *out, size_t cap,
                     kehu_error *err);
/* 潜在/意向/成交/流失 or potential/intent/closed/lost (any case) -> canonical;
 * *out = "" for an empty cell. */
int kehu_import_stage(size_t line, const char *column, const char *in, const char **out,
                      kehu_error *err);
/* 2024-01-15, 2024/1/15, 2024.1.15, 2024年1月15日, 20240115, or an Excel date
 * serial number (45306 -> 2024-01-15) -> "YYYY-MM-DD" in out (>= 11 bytes); a
 * time after the date is dropped. Only real calendar dates. */
int kehu_import_date(size_t line, const char *column, const char *in, char out[11],
                     kehu_error *err);
/* Tags split on , ， ; ； 、 and trimmed, empty ones dropped; at most
 * KEHU_MAX_TAGS of at most 64 characters. *tags is one allocation (the
 * strings inside it) the caller frees; NULL when there are none. */
int kehu_import_tags(size_t line, const char *column, const char *in, char ***tags, size_t *n,
                     kehu_error *err);

#endif
