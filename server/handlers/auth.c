/* login (password or session token), logout, whoami. Password checks run
 * on libuv's thread pool: Argon2id costs tens of milliseconds. */
#include <argon2.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "handlers.h"
#include "net/conn.h"

/* An Argon2id hash of a random password: checked against when the user does
 * not exist, so a wrong username costs as much time as a wrong password. */
static const char dummy_hash[] =
  "$argon2id$v=19$m=19456,t=2,p=1$a2VodS1kdW1teS1zYWx0AA$"
  "9CM0chqEa5iG1GkCAjYPWlfDNEElwyeu840sMt+/ouk";

static void token_hash(const unsigned char token[32], unsigned char out[32])
{
  mbedtls_sha256_ret(token, 32, out, 0);
}

static int hex_decode(const char *hex, unsigned char *out, size_t n)
{
  if (!hex || strlen(hex) != n * 2)
    return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1)
      return -1;
    out[i] = (unsigned char)v;
  }
  return 0;
}

static void become(kehu_conn *c, const Kehu__UserRecord *u, const unsigned char hash[32])
{
  c->authed = 1;
  snprintf(c->caller.username, sizeof c->caller.username, "%s", u->username);
  snprintf(c->caller.role, sizeof c->caller.role, "%s", u->role);
  snprintf(c->caller.team, sizeof c->caller.team, "%s", u->team ? u->team : "");
  memcpy(c->session_hash, hash, 32);
}

static void reply_login(kehu_call *call, const Kehu__UserRecord *u, char *token)
{
  Kehu__LoginResult lr = KEHU__LOGIN_RESULT__INIT;
  lr.username = u->username;
  lr.role = u->role;
  lr.display_name = u->display_name;
  lr.team = u->team;
  lr.token = token;
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = KEHU__STATUS__OK;
  r.result_case = KEHU__RESPONSE__RESULT_LOGIN;
  r.login = &lr;
  kehu_reply(call, &r);
}

/* ---- session records, written by the writer thread ---- */

typedef struct {
  unsigned char hash[32];
  Kehu__SessionRecord rec;
  char username[65];
  int remove;
  Kehu__UserRecord *user;   /* login: replied with after commit */
  char token_hex[65];
} session_write;

static int apply_session(kehu_txn *t, void *arg)
{
  session_write *w = arg;
  if (w->remove)
    return kehu_store_session_delete(t, w->hash);
  return kehu_store_session_put(t, w->hash, &w->rec);
}

static void session_write_free(session_write *w)
{
  if (w->user)
    kehu__user_record__free_unpacked(w->user, NULL);
  free(w);
}

static void touched(kehu_call *call, int status, void *arg)
{
  (void)call;
  (void)status;
  session_write_free(arg);
}

static void login_committed(kehu_call *call, int status, void *arg)
{
  session_write *w = arg;
  if (status != KEHU_OK) {
    kehu_reply_status(call, status, "cannot store the session: %s", kehu_status_name(status));
  } else {
    become(call->conn, w->user, w->hash);
    reply_login(call, w->user, w->token_hex);
  }
  session_write_free(w);
}

/* ---- password login ---- */

typedef struct {
  uv_work_t work;
  kehu_call *call;
  Kehu__UserRecord *user;   /* NULL when there is no such user */
  int ok;
} password_check;

static void check_password(uv_work_t *work)
{
  password_check *pc = work->data;
  const char *pw = pc->call->req->login->password;
  const char *hash = pc->user ? pc->user->password_hash : dummy_hash;
  pc->ok = argon2id_verify(hash, pw, strlen(pw)) == ARGON2_OK && pc->user;
}

static void password_checked(uv_work_t *work, int status)
{
  password_check *pc = work->data;
  kehu_call *call = pc->call;
  kehu_server *srv = call->srv;
  srv->login_work--;
  Kehu__UserRecord *u = pc->user;
  int ok = status == 0 && pc->ok;
  free(pc);
  if (!ok || (u->has_disabled && u->disabled)) {
    if (ok)
      kehu_reply_status(call, KEHU_UNAUTHENTICATED, "user %s is disabled", u->username);
    else
      kehu_reply_status(call, KEHU_UNAUTHENTICATED, "wrong username or password");
    if (u)
      kehu__user_record__free_unpacked(u, NULL);
    return;
  }
  session_write *w = calloc(1, sizeof *w);
  unsigned char token[32];
  if (!w || kehu_rng_bytes(&srv->rng, token, sizeof token) != 0) {
    free(w);
    kehu__user_record__free_unpacked(u, NULL);
    kehu_reply_status(call, KEHU_INTERNAL, "cannot create a session token");
    return;
  }
  for (int i = 0; i < 32; i++)
    snprintf(w->token_hex + 2 * i, 3, "%02x", token[i]);
  token_hash(token, w->hash);
  kehu__session_record__init(&w->rec);
  snprintf(w->username, sizeof w->username, "%s", u->username);
  w->rec.username = w->username;
  w->rec.created_at = w->rec.last_used_at = kehu_now(srv);
  w->user = u;
  kehu_submit_write(call, apply_session, login_committed, w);
}

static void login_with_password(kehu_call *call, Kehu__UserRecord *u)
{
  password_check *pc = calloc(1, sizeof *pc);
  if (!pc) {
    if (u)
      kehu__user_record__free_unpacked(u, NULL);
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return;
  }
  pc->call = call;
  pc->user = u;
  pc->work.data = pc;
  call->srv->login_work++;
  uv_queue_work(call->srv->loop, &pc->work, check_password, password_checked);
}

/* ---- token login ---- */

static void login_with_token(kehu_call *call, kehu_txn *t)
{
  kehu_server *srv = call->srv;
  const Kehu__LoginRequest *lr = call->req->login;
  unsigned char token[32], hash[32];
  Kehu__SessionRecord *s = NULL;
  Kehu__UserRecord *u = NULL;
  int64_t now = kehu_now(srv);
  if (hex_decode(lr->token, token, sizeof token) != 0) {
    kehu_reply_status(call, KEHU_UNAUTHENTICATED, "malformed session token: log in again");
    return;
  }
  token_hash(token, hash);
  if (kehu_store_session_get(t, hash, &s) != KEHU_OK || strcmp(s->username, lr->username) != 0 ||
      s->last_used_at + (int64_t)srv->cfg.session_idle_s < now) {
    kehu_reply_status(call, KEHU_UNAUTHENTICATED, "session expired or revoked: log in again");
  } else if (kehu_store_user_get(t, lr->username, &u) != KEHU_OK ||
             (u->has_disabled && u->disabled)) {
    kehu_reply_status(call, KEHU_UNAUTHENTICATED, "user %s is disabled or removed", lr->username);
  } else {
    become(call->conn, u, hash);
    /* Keep the session alive, at most once a minute per session: a write
     * per request would cost a commit each. */
    if (now - s->last_used_at >= 60) {
      session_write *w = calloc(1, sizeof *w);
      if (w) {
        memcpy(w->hash, hash, 32);
        kehu__session_record__init(&w->rec);
        snprintf(w->username, sizeof w->username, "%s", s->username);
        w->rec.username = w->username;
        w->rec.created_at = s->created_at;
        w->rec.last_used_at = now;
        kehu_submit_write(NULL, apply_session, touched, w);
      }
    }
    reply_login(call, u, NULL);
  }
  if (s)
    kehu__session_record__free_unpacked(s, NULL);
  if (u)
    kehu__user_record__free_unpacked(u, NULL);
}

void kehu_handle_login(kehu_call *call)
{
  const Kehu__LoginRequest *lr = call->req->login;
  int by_token = lr->token && *lr->token;
  if (!by_token && !lr->password) {
    kehu_reply_status(call, KEHU_INVALID, "login needs a password or a session token");
    return;
  }
  kehu_txn t;
  if (kehu_store_read_begin(call->srv->store, &t) != KEHU_OK) {
    kehu_reply_status(call, KEHU_INTERNAL, "storage unavailable");
    return;
  }
  if (by_token) {
    login_with_token(call, &t);
    kehu_store_read_end(&t);
    return;
  }
  Kehu__UserRecord *u = NULL;
  kehu_store_user_get(&t, lr->username, &u);
  kehu_store_read_end(&t);
  login_with_password(call, u);
}

static void logged_out(kehu_call *call, int status, void *arg)
{
  free(arg);
  if (status != KEHU_OK) {
    kehu_reply_status(call, status, "cannot revoke the session");
    return;
  }
  kehu_conn *c = call->conn;
  c->authed = 0;
  memset(&c->caller, 0, sizeof c->caller);
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = KEHU__STATUS__OK;
  kehu_reply(call, &r);
}

void kehu_handle_logout(kehu_call *call)
{
  session_write *w = calloc(1, sizeof *w);
  if (!w) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return;
  }
  memcpy(w->hash, call->conn->session_hash, 32);
  w->remove = 1;
  kehu_submit_write(call, apply_session, logged_out, w);
}

void kehu_handle_whoami(kehu_call *call)
{
  Kehu__WhoAmIResult who = KEHU__WHO_AM_IRESULT__INIT;
  who.username = call->caller.username;
  who.role = call->caller.role;
  who.team = call->caller.team[0] ? call->caller.team : NULL;
  Kehu__UserRecord *u = NULL;
  kehu_txn t;
  if (kehu_store_read_begin(call->srv->store, &t) == KEHU_OK) {
    kehu_store_user_get(&t, call->caller.username, &u);
    kehu_store_read_end(&t);
  }
  if (u)
    who.display_name = u->display_name;
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = KEHU__STATUS__OK;
  r.result_case = KEHU__RESPONSE__RESULT_WHOAMI;
  r.whoami = &who;
  kehu_reply(call, &r);
  if (u)
    kehu__user_record__free_unpacked(u, NULL);
}
