/* A client's session: identity, uploads in progress, the watch
 * subscription (moved off struct kehu_conn), and the server's registry of
 * watching sessions by user. */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"

struct kehu_session {
  kehu_server *srv;
  kehu_conn *conn;            /* NULL once closed */
  char address[64];
  int authed;
  kehu_caller caller;
  unsigned char token_hash[32];
  kehu_upload *uploads;       /* attachments arriving in chunks */
  void *import;               /* a customer import arriving in chunks */
  void (*import_free)(void *);
  int watching;               /* receives pushed events (kehu watch) */
  kehu_session *watch_next;   /* the registry's bucket of caller.username */
  kehu_session **watch_pprev; /* NULL: not listed */
  unsigned calls;             /* requests being served */
  int closed;
};

kehu_session *kehu_session_new(kehu_server *srv, kehu_conn *conn, const char *address)
{
  kehu_session *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->srv = srv;
  s->conn = conn;
  snprintf(s->address, sizeof s->address, "%s", address ? address : "");
  return s;
}

/* ---- the registry of watching sessions ---- */

static unsigned bucket_of(const char *user)
{
  unsigned h = 2166136261u;
  for (const char *p = user; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  return h % KEHU_WATCH_BUCKETS;
}

static void unlist(kehu_session *s)
{
  if (!s->watch_pprev)
    return;
  *s->watch_pprev = s->watch_next;
  if (s->watch_next)
    s->watch_next->watch_pprev = s->watch_pprev;
  s->watch_next = NULL;
  s->watch_pprev = NULL;
}

/* Listed under its current user while it watches and has a connection
 * to push to. */
static void relist(kehu_session *s)
{
  unlist(s);
  if (!s->watching || s->closed || !s->conn)
    return;
  kehu_session **head = &s->srv->watchers[bucket_of(s->caller.username)];
  s->watch_next = *head;
  if (*head)
    (*head)->watch_pprev = &s->watch_next;
  *head = s;
  s->watch_pprev = head;
}

static void maybe_free(kehu_session *s)
{
  if (!s->closed || s->calls > 0)
    return;
  while (s->uploads) {
    kehu_upload *next = s->uploads->next;
    kehu_upload_free(s->uploads);
    s->uploads = next;
  }
  if (s->import)
    s->import_free(s->import);
  free(s);
}

void kehu_session_close(kehu_session *s)
{
  if (!s || s->closed)
    return;
  s->closed = 1;
  s->conn = NULL;
  unlist(s);
  maybe_free(s);
}

kehu_server *kehu_session_server(const kehu_session *s)
{
  return s->srv;
}

void kehu_session_call_begin(kehu_session *s)
{
  s->calls++;
}

void kehu_session_call_end(kehu_session *s)
{
  s->calls--;
  maybe_free(s);
}

unsigned kehu_session_calls(const kehu_session *s)
{
  return s->calls;
}

/* ---- identity ---- */

int kehu_session_authed(const kehu_session *s)
{
  return s->authed;
}

const kehu_caller *kehu_session_caller(const kehu_session *s)
{
  return &s->caller;
}

const unsigned char *kehu_session_token_hash(const kehu_session *s)
{
  return s->token_hash;
}

const char *kehu_session_address(const kehu_session *s)
{
  return s->address;
}

void kehu_session_set_identity(kehu_session *s, const Kehu__UserRecord *u,
                               const unsigned char hash[32])
{
  if (s->conn)
    kehu_conn_set_authed(s->conn, 1);
  s->authed = 1;
  snprintf(s->caller.username, sizeof s->caller.username, "%s", u->username);
  snprintf(s->caller.address, sizeof s->caller.address, "%s", s->address);
  kehu_session_adopt_user(s, u);
  memcpy(s->token_hash, hash, 32);
  relist(s);
}

void kehu_session_clear_identity(kehu_session *s)
{
  if (s->conn)
    kehu_conn_set_authed(s->conn, 0);
  s->authed = 0;
  memset(&s->caller, 0, sizeof s->caller);
  relist(s);
}

void kehu_session_adopt_user(kehu_session *s, const Kehu__UserRecord *u)
{
  snprintf(s->caller.role, sizeof s->caller.role, "%s", u->role);
  snprintf(s->caller.team, sizeof s->caller.team, "%s", u->team ? u->team : "");
}

/* ---- uploads ---- */

void kehu_upload_free(kehu_upload *u)
{
  if (u->meta)
    kehu__attachment__free_unpacked(u->meta, NULL);
  kehu_buf_free(&u->data);
  mbedtls_sha256_free(&u->sha);
  free(u);
}

kehu_upload *kehu_session_upload_take(kehu_session *s, const char *token)
{
  for (kehu_upload **pp = &s->uploads; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->token, token) == 0) {
      kehu_upload *u = *pp;
      *pp = u->next;
      u->next = NULL;
      return u;
    }
  }
  return NULL;
}

void kehu_session_upload_keep(kehu_session *s, kehu_upload *u)
{
  u->next = s->uploads;
  s->uploads = u;
}

size_t kehu_session_upload_count(const kehu_session *s)
{
  size_t n = 0;
  for (const kehu_upload *u = s->uploads; u; u = u->next)
    n++;
  return n;
}

void *kehu_session_import_take(kehu_session *s)
{
  void *im = s->import;
  s->import = NULL;
  return im;
}

void kehu_session_import_keep(kehu_session *s, void *im, void (*free_fn)(void *))
{
  if (s->import)
    s->import_free(s->import);
  s->import = im;
  s->import_free = free_fn;
}

/* ---- pushed events ---- */

void kehu_session_watch(kehu_session *s)
{
  s->watching = 1;
  /* A watching connection is quiet by design: it waits for pushes. */
  if (s->conn)
    kehu_conn_keep_when_idle(s->conn);
  relist(s);
}

static int receives(const kehu_session *s, const char *user)
{
  return s->watching && s->authed && strcmp(s->caller.username, user) == 0;
}

unsigned kehu_session_push(kehu_server *srv, const char *user, const Kehu__Envelope *e,
                           kehu_session *only)
{
  unsigned n = 0;
  if (only) {
    if (receives(only, user)) {
      if (only->conn)
        kehu_conn_send(only->conn, e);
      n++;
    }
    return n;
  }
  for (kehu_session *s = srv->watchers[bucket_of(user)]; s; s = s->watch_next) {
    if (receives(s, user)) {
      kehu_conn_send(s->conn, e);
      n++;
    }
  }
  return n;
}
