/* What the client prints: JSON documents (--json), human tables and
 * `key: value` blocks aligned by display width (a CJK character takes two
 * columns), and errors in either form. Human output never passes control
 * characters from the server through to the terminal. */
#ifndef KEHU_CLIENT_OUTPUT_H
#define KEHU_CLIENT_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "text_width.h"

/* stderr: `kehu: <message>` in the user's language (kehu_error_human) or,
 * with --json, one line in English
 * {"error": {"code": "NOT_FOUND", "message": "...", "field": ..., "existing_id": ...}}. */
void kehu_output_error(const kehu_cli *cli, const kehu_error *err);

/* Appends formatted text to err->message (cut at its size). */
void kehu_error_append(kehu_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints value (taking ownership) as the one JSON document on stdout.
 * KEHU_OK, or KEHU_INTERNAL when value is NULL or printing fails. */
int kehu_output_json(cJSON *value, kehu_error *err);

/* Adds key: s, or key: null when s is NULL. 0 or -1 (out of memory). */
int kehu_json_add_string(cJSON *obj, const char *key, const char *s);
/* Adds key: "2024-11-20T08:00:00Z", or null when !has or t == 0. */
int kehu_json_add_time(cJSON *obj, const char *key, int has, int64_t t);

/* "2024-11-20 16:00" in local time, into out (at least 32 bytes); "" for 0. */
void kehu_format_local_time(int64_t t, char *out);

/* A `key: value` block, each line after indent spaces, keys padded to one
 * width. Rows with a NULL or empty value are left out; a value's further
 * lines are aligned under its first. */
typedef struct {
  const char *key;
  const char *value;
} kehu_kv;
void kehu_print_kv(FILE *f, const kehu_kv *rows, size_t n, size_t indent);

/* A table: a header line, then one line per row, columns two spaces apart.
 * cells holds nrows * ncols strings (NULL prints as empty), row by row. A
 * cell wider than its column's max_width (0: no limit) is cut with "...". */
typedef struct {
  const char *header;
  size_t max_width;
} kehu_column;
void kehu_print_table(FILE *f, const kehu_column *cols, size_t ncols, const char *const *cells,
                      size_t nrows);

#endif
