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

/* Exports (cmd_export.c): the columns of a record type, every field shown in
 * the order of proto/kehu.proto (customer_id included), into out; their
 * number. */
size_t kehu_record_export_fields(const ProtobufCMessageDescriptor *d,
                                 const ProtobufCFieldDescriptor **out, size_t max);
/* One exported cell: a string as it is (returned itself), a time as ISO 8601
 * UTC, money as yuan ("128000.00"), a boolean true/false, repeated strings
 * joined by ";", "" when unset; out (at least 64 bytes) holds the others. */
const char *kehu_record_export_cell(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                                    char *out, size_t len);

#endif
