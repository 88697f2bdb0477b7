/* kehu attach add | list | get | delete: files kept with a customer. The
 * bytes travel in chunks of at most 1 MiB, all on one connection, several
 * in flight at once; both directions are checked against the SHA-256. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "buf.h"
#include "args.h"
#include "auth.h"
#include "cli.h"
#include "files.h"
#include "frame.h"
#include "i18n.h"
#include "output.h"
#include "record_view.h"
#include "show.h"

#define CHUNK (1024 * 1024)   /* the protocol's most per frame */
#define WINDOW 8              /* chunks in flight: the pipe stays full, memory bounded */

static const char attach_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] attach COMMAND ...\n"
  "\n"
  "Commands:\n"
  "  add ID FILE [--type MEDIA_TYPE]   attach FILE to customer ID\n"
  "  list ID [--limit N] [--cursor C]  the files of customer ID\n"
  "  get ATTACHMENT_ID -o FILE         save an attachment to FILE\n"
  "  delete ATTACHMENT_ID              remove an attachment\n"
  "\n"
  "Run `kehu attach COMMAND --help` for the flags of a command.\n");

static const char add_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] attach add ID FILE [--type MEDIA_TYPE]\n"
  "\n"
  "Uploads FILE (at most the server's max_attachment, 16 MiB by default).\n"
  "  --type MEDIA_TYPE   e.g. application/pdf; guessed from the file name's\n"
  "                      extension when not given\n");

static const char list_usage[] =
  N_("usage: kehu [GLOBAL OPTIONS] attach list ID [--limit N] [--cursor C]\n");

static const char get_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] attach get ATTACHMENT_ID -o FILE\n"
  "\n"
  "Downloads the attachment into FILE (replaced only once every byte has\n"
  "arrived and matches the stored SHA-256).\n"
  "  -o, --output FILE   where to save it\n");

static const char delete_usage[] =
  N_("usage: kehu [GLOBAL OPTIONS] attach delete ATTACHMENT_ID\n");

static const char *const list_columns[] = {
  "id", "file_name:NAME", "media_type:TYPE", "size", "created_at:ADDED", "created_by:BY", NULL,
};

/* ---- helpers ---- */

static const char *media_type_of(const char *name)
{
  static const char *const types[][2] = {
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"txt", "text/plain"},
    {"csv", "text/csv"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
  };
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
    if (strcasecmp(dot + 1, types[i][0]) == 0)
      return types[i][1];
  return "application/octet-stream";
}

/* SHA-256 (hex) and size of the file, read from its start, which it is
 * back at afterwards. */
static int hash_file(kehu_send_file *f, char *sha_hex, int64_t *size, kehu_error *err)
{
  mbedtls_sha256_context sha;
  mbedtls_sha256_init(&sha);
  mbedtls_sha256_starts_ret(&sha, 0);
  int64_t total = 0;
  int rc, last = 0;
  size_t n;
  do {
    rc = kehu_send_next(f, 1, -1, &n, &last, NULL, err);
    if (rc == KEHU_OK) {
      mbedtls_sha256_update_ret(&sha, f->buf, n);
      total += (int64_t)n;
    }
  } while (rc == KEHU_OK && !last);
  unsigned char digest[32];
  mbedtls_sha256_finish_ret(&sha, digest);
  mbedtls_sha256_free(&sha);
  if (rc == KEHU_OK)
    rc = kehu_send_rewind(f, err);
  if (rc != KEHU_OK)
    return rc;
  kehu_hex(digest, sizeof digest, sha_hex);
  *size = total;
  return KEHU_OK;
}

/* Responses to the requests in flight, oldest first. */
typedef struct {
  uint64_t ids[WINDOW];
  size_t head, n;
} window;

static void window_push(window *w, uint64_t id)
{
  w->ids[(w->head + w->n++) % WINDOW] = id;
}

/* Waits for the oldest request's response; KEHU_OK only when it is OK. */
static int window_pop(window *w, kehu_conn *conn, Kehu__Envelope **env, kehu_error *err)
{
  uint64_t id = w->ids[w->head];
  w->head = (w->head + 1) % WINDOW;
  w->n--;
  int rc = kehu_conn_wait(conn, id, env, err);
  if (rc == KEHU_OK && (*env)->response->status != KEHU__STATUS__OK) {
    rc = kehu_response_error((*env)->response, err);
    kehu_envelope_free(*env);
    *env = NULL;
  }
  return rc;
}

/* ---- attach add ---- */

/* Sends the file as AttachUpload chunks; *result is the last chunk's
 * response, which carries the stored attachment. A refusal of any chunk
 * (the first, when the file is over the server's limit) ends it. */
static int upload(kehu_conn *conn, kehu_send_file *f, const char *path, const char *customer_id,
                  const char *media_type, Kehu__Envelope **result, kehu_error *err)
{
  char sha_hex[65], token[33];
  unsigned char random[16];
  int64_t size = 0, sent = 0;
  int rc = hash_file(f, sha_hex, &size, err);
  if (rc != KEHU_OK)
    return rc;
  if (getrandom(random, sizeof random, 0) != (ssize_t)sizeof random)
    return kehu_fail_errno(err, KEHU_INTERNAL, NULL, errno, "no random bytes for the upload token");
  kehu_hex(random, sizeof random, token);
  const char *slash = strrchr(path, '/');
  window w = {0};
  int last_queued = 0;
  while (!last_queued || w.n > 0) {
    if (!last_queued && w.n < WINDOW) {
      size_t want = size - sent < CHUNK ? (size_t)(size - sent) : CHUNK, got;
      int end;
      if ((rc = kehu_send_next(f, 1, -1, &got, &end, NULL, err)) != KEHU_OK)
        return rc;
      if (got != want)
        return kehu_fail_tr(err, KEHU_INTERNAL, NULL,
                            "%s changed or could not be read while sending", path);
      Kehu__AttachUpload up = KEHU__ATTACH_UPLOAD__INIT;
      up.upload = token;
      up.data.data = f->buf;
      up.data.len = got;
      if (sent == 0) {
        up.customer_id = (char *)customer_id;
        up.file_name = (char *)(slash ? slash + 1 : path);
        up.media_type = (char *)media_type;
        up.has_size = 1;
        up.size = size;
        up.sha256 = sha_hex;
      }
      sent += (int64_t)got;
      up.has_last = up.last = last_queued = sent == size;
      Kehu__Request req = KEHU__REQUEST__INIT;
      req.op_case = KEHU__REQUEST__OP_ATTACH_UPLOAD;
      req.attach_upload = &up;
      uint64_t id = kehu_conn_queue(conn, &req);
      if (!id)
        return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory queueing a chunk");
      window_push(&w, id);
      continue;
    }
    Kehu__Envelope *env = NULL;
    rc = window_pop(&w, conn, &env, err);
    if (rc != KEHU_OK)
      return rc;
    if (last_queued && w.n == 0)
      *result = env;
    else
      kehu_envelope_free(env);
  }
  return KEHU_OK;
}

static int add(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const char *type = NULL;
  const kehu_flag flags[] = {{"type", KEHU_FLAG_VALUE, &type}};
  const kehu_command cmd = {"attach add", add_usage, flags, 1, 2, 2, "ID and FILE"};
  kehu_strlist args = {0};
  kehu_conn *conn = NULL;
  Kehu__Envelope *env = NULL;
  kehu_send_file f = {.fd = -1};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc != KEHU_OK)
    goto done;
  const char *path = args.items[1];
  if ((rc = kehu_file_open_to_send(path, CHUNK, 0, &f, err)) != KEHU_OK)
    goto done;
  rc = kehu_resolve(cli, err);
  if (rc == KEHU_OK)
    rc = kehu_session_open(cli, &conn, err);
  if (rc == KEHU_OK)
    rc = upload(conn, &f, path, args.items[0], type ? type : media_type_of(path), &env, err);
  if (rc == KEHU_OK)
    rc = kehu_show_result(cli, env->response, NULL, err);
done:
  kehu_envelope_free(env);
  kehu_conn_close(conn);
  kehu_send_close(&f);
  kehu_strlist_free(&args);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}

/* ---- attach get ---- */

typedef struct {
  int fd;
  mbedtls_sha256_context sha;
  int64_t received;
} download;

/* Appends one AttachData piece, which must continue where the last ended. */
static int take_piece(download *d, const Kehu__AttachData *data, kehu_error *err)
{
  if (data->offset != d->received || (data->data.len == 0 && d->received < data->meta->size) ||
      d->received + (int64_t)data->data.len > data->meta->size)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL,
                        "the server sent %zu bytes at offset %lld, expected offset %lld of %lld",
                        data->data.len, (long long)data->offset, (long long)d->received,
                        (long long)data->meta->size);
  mbedtls_sha256_update_ret(&d->sha, data->data.data, data->data.len);
  for (size_t done = 0; done < data->data.len;) {
    ssize_t n = write(d->fd, data->data.data + done, data->data.len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return kehu_fail_errno(err, KEHU_INTERNAL, NULL, errno, "cannot write");
    done += (size_t)n;
  }
  d->received += (int64_t)data->data.len;
  return KEHU_OK;
}

static uint64_t queue_get(kehu_conn *conn, const char *id, int64_t offset)
{
  Kehu__AttachGet get = KEHU__ATTACH_GET__INIT;
  get.id = (char *)id;
  get.has_offset = get.has_length = 1;
  get.offset = offset;
  get.length = CHUNK;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_ATTACH_GET;
  req.attach_get = &get;
  return kehu_conn_queue(conn, &req);
}

/* Fetches the attachment's bytes into d; *meta is the first response
 * (its attach_data->meta describes the file). */
static int fetch(kehu_conn *conn, const char *id, download *d, Kehu__Envelope **meta,
                 kehu_error *err)
{
  window w = {0};
  int64_t requested = 0, size = -1;
  int rc = KEHU_OK;
  while (rc == KEHU_OK && (size < 0 || d->received < size)) {
    /* The first piece alone (it tells the size), then a window of them. */
    while ((size < 0 ? w.n == 0 : w.n < WINDOW && requested < size)) {
      uint64_t qid = queue_get(conn, id, requested);
      if (!qid)
        return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
      window_push(&w, qid);
      requested += CHUNK;
    }
    Kehu__Envelope *env = NULL;
    rc = window_pop(&w, conn, &env, err);
    if (rc != KEHU_OK)
      break;
    const Kehu__Response *r = env->response;
    if (r->result_case != KEHU__RESPONSE__RESULT_ATTACH_DATA)
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL,
                        "the server's response carries no attachment data");
    else
      rc = take_piece(d, r->attach_data, err);
    if (rc == KEHU_OK && size < 0) {
      size = r->attach_data->meta->size;
      *meta = env;
    } else {
      kehu_envelope_free(env);
    }
  }
  return rc;
}

static int show_saved(const kehu_cli *cli, const Kehu__Attachment *a, const char *path,
                      kehu_error *err)
{
  if (!cli->json) {
    printf(ngettext("saved %s (%s, %lld byte, SHA-256 verified) to %s",
                    "saved %s (%s, %lld bytes, SHA-256 verified) to %s", (unsigned long)a->size),
           a->id, a->file_name ? a->file_name : "", (long long)a->size, path);
    putchar('\n');
    return KEHU_OK;
  }
  cJSON *o = kehu_record_json(&a->base);
  if (o && kehu_json_add_string(o, "path", path) != 0) {
    cJSON_Delete(o);
    o = NULL;
  }
  return kehu_output_json(o, err);
}

static int get(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const char *out = NULL;
  const kehu_flag flags[] = {{"o", KEHU_FLAG_VALUE, &out}, {"output", KEHU_FLAG_VALUE, &out}};
  const kehu_command cmd = {"attach get", get_usage, flags, 2, 1, 1, "ATTACHMENT_ID"};
  kehu_strlist args = {0};
  kehu_conn *conn = NULL;
  Kehu__Envelope *meta = NULL;
  char tmp[4096];
  int made = 0;   /* tmp exists and is ours to remove */
  download d = {.fd = -1};
  mbedtls_sha256_init(&d.sha);
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc == KEHU_OK && !out)
    rc = kehu_usage_error(cli, get_usage, err, "missing -o FILE for `kehu attach get`");
  if (rc == KEHU_OK)
    rc = kehu_resolve(cli, err);
  if (rc == KEHU_OK && snprintf(tmp, sizeof tmp, "%s.XXXXXX", out) >= (int)sizeof tmp)
    rc = kehu_fail_tr(err, KEHU_INVALID, "output", "the path %s is too long", out);
  if (rc == KEHU_OK && (d.fd = mkostemp(tmp, O_CLOEXEC)) < 0)
    rc = kehu_fail_errno(err, KEHU_INTERNAL, "output", errno, "cannot create a file beside %s",
                         out);
  made = d.fd >= 0;
  if (rc == KEHU_OK)
    rc = kehu_session_open(cli, &conn, err);
  if (rc == KEHU_OK) {
    mbedtls_sha256_starts_ret(&d.sha, 0);
    rc = fetch(conn, args.items[0], &d, &meta, err);
  }
  if (rc == KEHU_OK) {
    const Kehu__Attachment *a = meta->response->attach_data->meta;
    unsigned char digest[32];
    char hex[65];
    mbedtls_sha256_finish_ret(&d.sha, digest);
    kehu_hex(digest, sizeof digest, hex);
    mode_t mask = umask(0);
    umask(mask);
    if (!a->sha256 || strcasecmp(a->sha256, hex) != 0)
      rc = kehu_fail_tr(err, KEHU_INTERNAL, "sha256",
                        "the bytes received hash to %s, not the stored %s: %s not written", hex,
                        a->sha256 ? a->sha256 : "(none)", out);
    else if (fchmod(d.fd, 0666 & ~mask) != 0 || fsync(d.fd) != 0 || close(d.fd) != 0 ||
             (d.fd = -1, rename(tmp, out) != 0))
      rc = kehu_fail_errno(err, KEHU_INTERNAL, "output", errno, "cannot write %s", out);
    else
      made = 0;
    if (rc == KEHU_OK)
      rc = show_saved(cli, a, out, err);
  }
  if (d.fd >= 0)
    close(d.fd);
  if (made)
    unlink(tmp);
  mbedtls_sha256_free(&d.sha);
  kehu_envelope_free(meta);
  kehu_conn_close(conn);
  kehu_strlist_free(&args);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}

/* ---- attach list, delete ---- */

static int list_or_delete(kehu_cli *cli, int is_delete, int argc, char **argv, kehu_error *err)
{
  const char *limit = NULL, *cursor = NULL;
  const kehu_flag flags[] = {{"limit", KEHU_FLAG_VALUE, &limit},
                             {"cursor", KEHU_FLAG_VALUE, &cursor}};
  const kehu_command cmd = {is_delete ? "attach delete" : "attach list",
                            is_delete ? delete_usage : list_usage, flags, is_delete ? 0 : 2, 1, 1,
                            is_delete ? "ATTACHMENT_ID" : "ID"};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  Kehu__Request req = KEHU__REQUEST__INIT;
  Kehu__ChildList lst = KEHU__CHILD_LIST__INIT;
  Kehu__ChildDelete del = KEHU__CHILD_DELETE__INIT;
  if (rc == KEHU_OK && limit)
    rc = kehu_parse_u32(limit, "limit", 1, 500, &lst.limit, err);
  if (rc == KEHU_OK && is_delete) {
    Kehu__Envelope *env = NULL;
    del.id = (char *)args.items[0];
    req.op_case = KEHU__REQUEST__OP_CHILD_DELETE;
    req.child_delete = &del;
    rc = kehu_request(cli, &req, &env, err);
    if (rc == KEHU_OK)
      rc = kehu_show_deleted(cli, env->response, del.id, err);
    kehu_envelope_free(env);
  } else if (rc == KEHU_OK) {
    lst.customer_id = (char *)args.items[0];
    lst.kind = "attachment";
    lst.has_limit = limit != NULL;
    lst.cursor = (char *)cursor;
    req.op_case = KEHU__REQUEST__OP_CHILD_LIST;
    req.child_list = &lst;
    rc = kehu_request_show(cli, &req, list_columns, err);
  }
  kehu_strlist_free(&args);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}

static int list(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  return list_or_delete(cli, 0, argc, argv, err);
}

static int delete(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  return list_or_delete(cli, 1, argc, argv, err);
}

int kehu_cmd_attach(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  static const kehu_subcommand subs[] = {
    {"add", add}, {"list", list}, {"get", get}, {"delete", delete},
  };
  return kehu_subcommand_run(cli, "attach", attach_usage, subs, sizeof subs / sizeof *subs, argc,
                             argv, err);
}
