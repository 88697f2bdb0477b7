/* attach add (chunked upload) and attach get (chunked download); list and
 * delete go through the generic record path (kind "attachment"). The
 * uploads in progress belong to the client's session (session.c). */
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "access.h"
#include "audit.h"
#include "handlers.h"
#include "reflect.h"

#define MAX_UPLOADS_PER_CONNECTION 4
#define MAX_DOWNLOAD_CHUNK (1024 * 1024)

/* The first chunk: everything about the file except its bytes. */
static kehu_upload *begin_upload(kehu_call *call, const Kehu__AttachUpload *up)
{
  size_t max = call->srv->cfg.max_attachment;
  uint64_t cust;
  if (kehu_session_upload_count(kehu_session_of(call)) >= MAX_UPLOADS_PER_CONNECTION) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "too many uploads at once on one connection (%d)",
                      MAX_UPLOADS_PER_CONNECTION);
    return NULL;
  }
  if (!up->customer_id || kehu_customer_id_parse(up->customer_id, &cust) != 0) {
    kehu_reply_status(call, KEHU_INVALID, "customer_id: '%s' is not a customer id",
                      up->customer_id ? up->customer_id : "");
    return NULL;
  }
  if (!up->has_size || up->size < 0) {
    kehu_reply_status(call, KEHU_INVALID, "size: the first chunk must say the file's size");
    return NULL;
  }
  if ((uint64_t)up->size > max) {
    kehu_reply_status(call, KEHU_EXHAUSTED,
                      "attachment: %lld bytes exceeds the limit of %zu bytes (max_attachment)",
                      (long long)up->size, max);
    return NULL;
  }
  Kehu__Attachment a = KEHU__ATTACHMENT__INIT;
  a.file_name = up->file_name;
  a.media_type = up->media_type ? up->media_type : "application/octet-stream";
  a.has_size = 1;
  a.size = up->size;
  a.sha256 = up->sha256;
  kehu_upload *u = calloc(1, sizeof *u);
  kehu_error err = {0};
  if (!u || !(u->meta = (Kehu__Attachment *)kehu_msg_copy(&a.base)) ||
      kehu_buf_reserve(&u->data, (size_t)up->size) != 0) {
    if (u)
      kehu_upload_free(u);
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory for the upload");
    return NULL;
  }
  if (kehu_record_check(kehu_kind_get(KEHU_KIND_ATTACHMENT), &u->meta->base, &err) != KEHU_OK) {
    kehu_upload_free(u);
    kehu_reply_error(call, &err);
    return NULL;
  }
  snprintf(u->token, sizeof u->token, "%s", up->upload);
  u->cust = cust;
  mbedtls_sha256_init(&u->sha);
  mbedtls_sha256_starts_ret(&u->sha, 0);
  return u;
}

typedef struct {
  kehu_caller caller;
  int64_t now;
  kehu_upload *upload;
  uint64_t seq;
  kehu_error err;
  uint8_t *packed;
  size_t packed_len;
} upload_write;

static int apply_upload(kehu_txn *t, void *arg)
{
  upload_write *w = arg;
  const kehu_kind_info *kind = kehu_kind_get(KEHU_KIND_ATTACHMENT);
  kehu_upload *u = w->upload;
  Kehu__Customer *c = NULL;
  char cid[24], id[24];
  kehu_customer_id_format(u->cust, cid);
  int rc = kehu_store_customer_get(t, u->cust, &c);
  if (rc == KEHU_NOT_FOUND || (rc == KEHU_OK && c->has_deleted && c->deleted))
    rc = kehu_fail(&w->err, KEHU_NOT_FOUND, "customer_id", "customer %s not found", cid);
  if (rc == KEHU_OK)
    rc = kehu_access_child(t, &w->caller, c, kind, 1, &w->err);
  if (rc == KEHU_OK)
    rc = kehu_store_child_new_seq(t, kind, &w->seq);
  if (rc == KEHU_OK) {
    Kehu__Attachment a = *u->meta;
    kehu_child_id_format(kind, w->seq, id);
    a.id = id;
    a.customer_id = cid;
    a.has_created_at = a.has_updated_at = a.has_version = 1;
    a.created_at = a.updated_at = w->now;
    a.created_by = w->caller.username;
    a.version = 1;
    rc = kehu_store_child_put(t, kind, u->cust, w->seq, NULL, &a.base);
    if (rc == KEHU_OK)
      rc = kehu_store_attachment_put(t, w->seq, kehu_buf_head(&u->data), kehu_buf_size(&u->data));
    if (rc == KEHU_OK)
      rc = kehu_audit(t, &w->caller, w->now, "create", "attachment", id, a.customer_id);
    if (rc == KEHU_OK) {
      free(w->packed);
      w->packed_len = kehu__attachment__get_packed_size(&a);
      if (!(w->packed = malloc(w->packed_len ? w->packed_len : 1)))
        rc = KEHU_EXHAUSTED;
      else
        kehu__attachment__pack(&a, w->packed);
    }
  }
  if (c)
    kehu__customer__free_unpacked(c, NULL);
  return rc;
}

static void uploaded(kehu_call *call, int status, void *arg)
{
  upload_write *w = arg;
  Kehu__Attachment *a = status == KEHU_OK ? kehu__attachment__unpack(NULL, w->packed_len, w->packed)
                                          : NULL;
  if (a) {
    Kehu__Child child;
    kehu_child_wrap(&child, kehu_kind_get(KEHU_KIND_ATTACHMENT), &a->base);
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_CHILD;
    r.child = &child;
    kehu_reply(call, &r);
    kehu__attachment__free_unpacked(a, NULL);
  } else if (status != KEHU_OK && w->err.status == status) {
    kehu_reply_error(call, &w->err);
  } else {
    kehu_reply_status(call, status ? status : KEHU_INTERNAL, "the attachment was not stored: %s",
                      kehu_status_name(status));
  }
  kehu_upload_free(w->upload);
  free(w->packed);
  free(w);
}

static void finish_upload(kehu_call *call, kehu_upload *u)
{
  unsigned char digest[32];
  char hex[65];
  mbedtls_sha256_finish_ret(&u->sha, digest);
  kehu_hex(digest, sizeof digest, hex);
  if ((int64_t)kehu_buf_size(&u->data) != u->meta->size) {
    kehu_reply_status(call, KEHU_INVALID, "size: %zu bytes arrived, %lld were announced",
                      kehu_buf_size(&u->data), (long long)u->meta->size);
    kehu_upload_free(u);
    return;
  }
  if (u->meta->sha256 && strcasecmp(u->meta->sha256, hex) != 0) {
    kehu_reply_status(call, KEHU_INVALID, "sha256: the bytes received hash to %s, not %s", hex,
                      u->meta->sha256);
    kehu_upload_free(u);
    return;
  }
  upload_write *w = kehu_msg_set_string(&u->meta->base, "sha256", hex) == 0
                        ? calloc(1, sizeof *w)
                        : NULL;   /* an attachment is never stored without its hash */
  if (!w) {
    kehu_upload_free(u);
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return;
  }
  w->caller = call->caller;
  w->now = kehu_now(call->srv);
  w->upload = u;
  kehu_submit_write(call, apply_upload, uploaded, w);
}

void kehu_handle_attach_upload(kehu_call *call)
{
  const Kehu__AttachUpload *up = call->req->attach_upload;
  kehu_session *s = kehu_session_of(call);
  if (!*up->upload || strlen(up->upload) > 64) {
    kehu_reply_status(call, KEHU_INVALID, "upload: a token of 1 to 64 characters is needed");
    return;
  }
  /* The upload is off the session's list while this chunk is handled,
   * and goes back on only when more chunks are to come. */
  kehu_upload *u = kehu_session_upload_take(s, up->upload);
  if (!u && !(u = begin_upload(call, up)))
    return;
  if (kehu_buf_size(&u->data) + up->data.len > (size_t)u->meta->size) {
    kehu_reply_status(call, KEHU_INVALID, "data: more bytes than the %lld announced",
                      (long long)u->meta->size);
    kehu_upload_free(u);
    return;
  }
  kehu_buf_append(&u->data, up->data.data, up->data.len);
  mbedtls_sha256_update_ret(&u->sha, up->data.data, up->data.len);
  if (up->has_last && up->last) {
    finish_upload(call, u);
    return;
  }
  kehu_session_upload_keep(s, u);
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = KEHU__STATUS__OK;
  kehu_reply(call, &r);
}

void kehu_handle_attach_get(kehu_call *call)
{
  const Kehu__AttachGet *g = call->req->attach_get;
  const kehu_kind_info *kind;
  uint64_t seq, cust;
  if (kehu_child_id_parse(g->id, &kind, &seq) != 0 || kind->kind != KEHU_KIND_ATTACHMENT) {
    kehu_reply_status(call, KEHU_INVALID, "id: '%s' is not an attachment id (AT12)", g->id);
    return;
  }
  int64_t offset = g->has_offset ? g->offset : 0;
  size_t len = g->has_length && g->length ? g->length : MAX_DOWNLOAD_CHUNK;
  if (offset < 0 || len > MAX_DOWNLOAD_CHUNK) {
    kehu_reply_status(call, KEHU_INVALID, "length: at most %d bytes from a non-negative offset",
                      MAX_DOWNLOAD_CHUNK);
    return;
  }
  kehu_txn t;
  if (kehu_store_read_begin(call->srv->store, &t) != KEHU_OK) {
    kehu_reply_status(call, KEHU_INTERNAL, "storage unavailable");
    return;
  }
  ProtobufCMessage *meta = NULL;
  Kehu__Customer *c = NULL;
  kehu_error err = {0};
  uint8_t *buf = NULL;
  size_t got = 0;
  int rc = kehu_store_child_get(&t, kind, seq, &cust, &meta);
  if (rc == KEHU_NOT_FOUND)
    rc = kehu_fail(&err, KEHU_NOT_FOUND, "id", "attachment %s not found", g->id);
  if (rc == KEHU_OK) {
    rc = kehu_store_customer_get(&t, cust, &c);
    if (rc == KEHU_NOT_FOUND || (rc == KEHU_OK && c->has_deleted && c->deleted))
      rc = kehu_fail(&err, KEHU_NOT_FOUND, "id", "attachment %s not found", g->id);
  }
  if (rc == KEHU_OK)
    rc = kehu_access_child(&t, &call->caller, c, kind, 0, &err);
  if (rc == KEHU_OK)
    rc = (buf = malloc(len ? len : 1)) ? kehu_store_attachment_read(&t, seq, (uint64_t)offset,
                                                                    len, buf, &got)
                                       : KEHU_EXHAUSTED;
  kehu_store_read_end(&t);
  if (rc != KEHU_OK && err.status == rc) {
    kehu_reply_error(call, &err);
  } else if (rc != KEHU_OK) {
    kehu_reply_status(call, rc, "cannot read attachment %s: %s", g->id, kehu_status_name(rc));
  } else {
    Kehu__AttachData d = KEHU__ATTACH_DATA__INIT;
    d.meta = (Kehu__Attachment *)meta;
    d.offset = offset;
    d.data.data = buf;
    d.data.len = got;
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_ATTACH_DATA;
    r.attach_data = &d;
    kehu_reply(call, &r);
  }
  free(buf);
  if (meta)
    protobuf_c_message_free_unpacked(meta, NULL);
  if (c)
    kehu__customer__free_unpacked(c, NULL);
}
