/* From a request to stdout for the commands whose results are plain
 * records (records under a customer, attachments, reminders, audit
 * entries, field definitions): one record as an object or `key: value`
 * block, a list as {"items": [...], "next_cursor": ...} or a table. */
#ifndef KEHU_CLIENT_SHOW_H
#define KEHU_CLIENT_SHOW_H

#include <protobuf-c/protobuf-c.h>

#include "cli.h"
#include "kehu.pb-c.h"

/* Resolves the configuration and runs req as the configured user. KEHU_OK
 * with *env (free with kehu_envelope_free) when the server answered OK;
 * otherwise the error, the server's or the transport's, in err. */
int kehu_request(kehu_cli *cli, const Kehu__Request *req, Kehu__Envelope **env, kehu_error *err);

int kehu_show_record(const kehu_cli *cli, const ProtobufCMessage *m, kehu_error *err);

/* The record or list a response carries (a child, a child page, a
 * reminder, a reminder page, an audit page, field definitions). columns
 * (NULL-terminated, see kehu_record_table) are the human table's. */
int kehu_show_result(const kehu_cli *cli, const Kehu__Response *r, const char *const *columns,
                     kehu_error *err);

/* kehu_request, then kehu_show_result. */
int kehu_request_show(kehu_cli *cli, const Kehu__Request *req, const char *const *columns,
                      kehu_error *err);

/* A delete's answer: with --json the deleted record, for people
 * `deleted ID`. */
int kehu_show_deleted(const kehu_cli *cli, const Kehu__Response *r, const char *id,
                      kehu_error *err);

#endif
