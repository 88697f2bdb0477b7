/* `--sort FIELD` of customer list and search (README.md): name, created,
 * updated, last_contact or stage, "-" first for the other way round. Ties
 * go newest first. */
#ifndef KEHU_CUSTOMER_SORT_H
#define KEHU_CUSTOMER_SORT_H

#include <stdint.h>

#include "kehu.pb-c.h"
#include "call.h"
#include "server.h"
#include "store.h"

typedef struct {
  int field;   /* SORT_* in customer_sort.c */
  int desc;
} kehu_customer_order;

/* A position cursor: the letter, then decimal digits only ("o120"); 0 or -1. */
int kehu_position_cursor_parse(const char *cursor, char letter, unsigned long *offset);

/* Reads FIELD or -FIELD; INVALID naming the fields it knows otherwise. */
int kehu_customer_order_parse(const char *spec, kehu_customer_order *o, kehu_error *err);

/* One customer as the sort sees it. */
typedef struct {
  uint64_t key;
  int64_t number;
  char *text;   /* the folded name when sorting by name; owned */
} kehu_sort_entry;

int kehu_sort_entry_make(const kehu_customer_order *o, const Kehu__Customer *c, uint64_t key,
                         kehu_sort_entry *e);
int kehu_sort_entry_cmp(const kehu_customer_order *o, const kehu_sort_entry *a,
                        const kehu_sort_entry *b);
void kehu_sort_entries(const kehu_customer_order *o, kehu_sort_entry *e, size_t n);

/* A sorted list's cursor ("k" and hex, docs/architecture.md#sorted-lists)
 * for order o: INVALID naming "cursor" when it is not one, is an older
 * server's position cursor ("o120"), or continues another order. */
int kehu_sort_cursor_parse(const char *cursor, const kehu_customer_order *o, kehu_sort_pos *pos,
                           kehu_error *err);

/* customer list --sort: a page of the customers the filter and the
 * caller's role let through, in o's order, after the place `after` (NULL:
 * the first page), from the sort index; on the thread pool. exporting:
 * audited as an export with its row count. */
void kehu_customer_list_sorted(kehu_call *call, const kehu_customer_filter *f,
                               const kehu_customer_order *o, const kehu_sort_pos *after,
                               int exporting);

#endif
