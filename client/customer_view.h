/* How a customer looks on stdout: the JSON object of README.md (every key
 * always present, null when unset) and the human block and table; and the
 * results that carry customers (duplicate pairs, a merge). */
#ifndef KEHU_CLIENT_CUSTOMER_VIEW_H
#define KEHU_CLIENT_CUSTOMER_VIEW_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "kehu.pb-c.h"

/* NULL when out of memory. */
cJSON *kehu_customer_json(const Kehu__Customer *c);
cJSON *kehu_customer_page_json(const Kehu__CustomerPage *page);

/* {"items": [{"a": customer, "b": customer, "reason": "name"}], "next_cursor": null} */
cJSON *kehu_duplicates_json(const Kehu__DuplicateList *list);
/* {"kept": customer, "moved": N} */
cJSON *kehu_merge_json(const Kehu__MergeResult *m);

void kehu_customer_print(FILE *f, const Kehu__Customer *c);
void kehu_customer_page_print(FILE *f, const Kehu__CustomerPage *page);
/* A_ID A_NAME B_ID B_NAME REASON */
void kehu_duplicates_print(FILE *f, const Kehu__DuplicateList *list);

#endif
