/* Output of records under a customer (and reminders, audit entries) for
 * every kind at once, by reading the message's own field descriptors:
 * times (fields named at, *_at, *_due, *_until) as ISO 8601 or local time,
 * money (amount, budget) as yuan with two decimals. */
#ifndef KEHU_CLIENT_RECORD_VIEW_H
#define KEHU_CLIENT_RECORD_VIEW_H

#include <stdio.h>

#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>

cJSON *kehu_record_json(const ProtobufCMessage *m);
/* {"items": [...], "next_cursor": ...} */
cJSON *kehu_record_list_json(const ProtobufCMessage *const *items, size_t n, const char *next);
void kehu_record_print(FILE *f, const ProtobufCMessage *m);
/* A table of the named columns (NULL-terminated field names; "field:HEAD"
 * gives a column its own header, else it is the name in capitals). */
void kehu_record_table(FILE *f, const ProtobufCMessage *const *items, size_t n,
                       const char *const *columns, const char *next);

#endif
