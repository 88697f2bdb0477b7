/* A client's session: who it is logged in as (the caller, the session
 * token's hash), the attachments it is uploading, and whether it watches
 * for pushed events. One per connection, made when the connection opens
 * and closed when it closes; the connection only carries it. Watching
 * sessions are listed by user, for the scheduler's pushes. */
#ifndef KEHU_SESSION_H
#define KEHU_SESSION_H

#include <mbedtls/sha256.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "kehu.pb-c.h"
#include "server.h"

/* conn: where pushed events go (NULL: nowhere); address: the client's. */
kehu_session *kehu_session_new(kehu_server *srv, kehu_conn *conn, const char *address);
/* The connection closed: s is no longer watching and sends nothing; it is
 * freed once the last request it made is answered. */
void kehu_session_close(kehu_session *s);
kehu_server *kehu_session_server(const kehu_session *s);
/* Requests being served keep their session alive (dispatch.c, call.c). */
void kehu_session_call_begin(kehu_session *s);
void kehu_session_call_end(kehu_session *s);
/* Requests of s being served now. */
unsigned kehu_session_calls(const kehu_session *s);

/* ---- identity ---- */

int kehu_session_authed(const kehu_session *s);
const kehu_caller *kehu_session_caller(const kehu_session *s);
/* SHA-256 of the session token it logged in with. */
const unsigned char *kehu_session_token_hash(const kehu_session *s);
/* The client's IP address. */
const char *kehu_session_address(const kehu_session *s);
/* Logged in as u with the token that hashes to hash. */
void kehu_session_set_identity(kehu_session *s, const Kehu__UserRecord *u,
                               const unsigned char hash[32]);
/* Logged out (or the session was revoked). */
void kehu_session_clear_identity(kehu_session *s);
/* The user's role or team changed: later requests act with the new ones. */
void kehu_session_adopt_user(kehu_session *s, const Kehu__UserRecord *u);

/* ---- uploads in progress (attach add, chunk by chunk) ---- */

typedef struct kehu_upload kehu_upload;
struct kehu_upload {
  kehu_upload *next;
  char token[65];
  uint64_t cust;
  Kehu__Attachment *meta;     /* owned: file name, type, declared size and hash */
  kehu_buf data;
  mbedtls_sha256_context sha;
};
void kehu_upload_free(kehu_upload *u);
/* The upload of s with that token, taken off its list (NULL: none). */
kehu_upload *kehu_session_upload_take(kehu_session *s, const char *token);
/* Puts u (back) on the list of s: more chunks are to come. */
void kehu_session_upload_keep(kehu_session *s, kehu_upload *u);
size_t kehu_session_upload_count(const kehu_session *s);

/* ---- a customer import in progress (import.c, chunk by chunk) ---- */

/* The session's import, taken off it while a chunk is handled (NULL: none). */
void *kehu_session_import_take(kehu_session *s);
/* Puts im (back) on s: more chunks are to come; free_fn(im) frees it with
 * the session. */
void kehu_session_import_keep(kehu_session *s, void *im, void (*free_fn)(void *));

/* ---- pushed events (kehu watch) ---- */

/* s receives pushed events from now on. */
void kehu_session_watch(kehu_session *s);
/* Sends e to every watching session logged in as user (only to `only`
 * when it is not NULL); returns how many got it. */
unsigned kehu_session_push(kehu_server *srv, const char *user, const Kehu__Envelope *e,
                           kehu_session *only);

#endif
