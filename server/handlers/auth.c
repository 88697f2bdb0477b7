/* login (password or session token), logout, whoami, and the check that
 * a session is still logged in (kehu_auth_check_session). Who the client
 * is lives on its session (session.c). Password checks run on libuv's
 * thread pool: Argon2id costs tens of milliseconds. */
#include <argon2.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "access.h"
#include "audit.h"
#include "handlers.h"
#include "pool_work.h"

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
  kehu_caller who;         /* for the audit entry */
  int64_t now;
  int audit;               /* login / logout are audited; a keep-alive is not */
  int remove;
  Kehu__UserRecord *user;   /* login: replied with after commit */
  char token_hex[65];
} session_write;

/* A successful login also clears the user's failed-login count. */
static int reset_failures(kehu_txn *t, const char *username)
{
  Kehu__UserRecord *u;
  if (kehu_store_user_get(t, username, &u) != KEHU_OK)
    return KEHU_OK;
  int rc = KEHU_OK;
  if ((u->has_failed_logins && u->failed_logins) || u->has_locked_until) {
    Kehu__UserRecord copy = *u;
    copy.has_failed_logins = copy.has_locked_until = 0;
    rc = kehu_store_user_put(t, &copy);
  }
  kehu__user_record__free_unpacked(u, NULL);
  return rc;
}

static int apply_session(kehu_txn *t, void *arg)
{
  session_write *w = arg;
  int rc;
  if (w->remove) {
    rc = kehu_store_session_delete(t, w->hash);
    return rc == KEHU_OK ? kehu_audit(t, &w->who, w->now, "logout", "user", w->who.username, NULL)
                         : rc;
  }
  rc = kehu_store_session_put(t, w->hash, &w->rec);
  if (rc == KEHU_OK && w->audit) {
    rc = reset_failures(t, w->username);
    if (rc == KEHU_OK)
      rc = kehu_audit(t, &w->who, w->now, "login", "user", w->username, NULL);
  }
  return rc;
}

/* ---- failed logins: the user is locked after max_failed_logins, and an
 * address that keeps failing waits longer and longer ---- */

typedef struct {
  kehu_caller who;
  int64_t now;
  int64_t lock_s;
  unsigned max_failed;
  int locked_now;
} failure_write;

static int apply_failure(kehu_txn *t, void *arg)
{
  failure_write *f = arg;
  f->locked_now = 0;   /* an apply may run twice (writer.c) */
  Kehu__UserRecord *u;
  int rc = KEHU_OK;
  char details[96] = "wrong password";
  if (kehu_store_user_get(t, f->who.username, &u) == KEHU_OK) {
    Kehu__UserRecord copy = *u;
    copy.has_failed_logins = 1;
    copy.failed_logins = u->failed_logins + 1;
    if (copy.failed_logins >= f->max_failed) {
      copy.has_locked_until = 1;
      copy.locked_until = f->now + f->lock_s;
      copy.failed_logins = 0;
      f->locked_now = 1;
      snprintf(details, sizeof details, "wrong password; locked for %lld s", (long long)f->lock_s);
    }
    rc = kehu_store_user_put(t, &copy);
    kehu__user_record__free_unpacked(u, NULL);
  } else {
    snprintf(details, sizeof details, "no such user");
  }
  return rc == KEHU_OK ? kehu_audit(t, &f->who, f->now, "login_failed", "user", f->who.username,
                                    details)
                       : rc;
}

static void failure_done(kehu_call *call, int status, void *arg)
{
  (void)call;
  (void)status;
  free(arg);
}

/* Per-address backoff, in memory: a small table is enough, because an
 * address only needs remembering while it keeps failing. */
#define BACKOFF_SLOTS 256
static struct {
  char address[64];
  unsigned failures;
  uint64_t until_ms;
} backoff[BACKOFF_SLOTS];

static unsigned slot_of(const char *address)
{
  unsigned h = 2166136261u;
  for (const char *p = address; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  return h % BACKOFF_SLOTS;
}

static uint64_t backoff_wait_ms(kehu_server *srv, const char *address)
{
  unsigned i = slot_of(address);
  uint64_t now = uv_now(srv->loop);
  if (strcmp(backoff[i].address, address) != 0 || backoff[i].until_ms <= now)
    return 0;
  return backoff[i].until_ms - now;
}

static void note_failure(kehu_server *srv, const char *address, int failed)
{
  unsigned i = slot_of(address);
  if (strcmp(backoff[i].address, address) != 0) {
    snprintf(backoff[i].address, sizeof backoff[i].address, "%s", address);
    backoff[i].failures = 0;
    backoff[i].until_ms = 0;
  }
  if (!failed) {
    backoff[i].failures = 0;
    backoff[i].until_ms = 0;
    return;
  }
  /* The first few failures cost nothing more; then 1 s, 2 s, 4 s ... 5 min. */
  unsigned n = ++backoff[i].failures;
  if (n > 3) {
    unsigned shift = n - 4 < 9 ? n - 4 : 9;
    uint64_t wait = (uint64_t)1000 << shift;
    backoff[i].until_ms = uv_now(srv->loop) + (wait < 300000 ? wait : 300000);
  }
}

static void login_failed(kehu_call *call, const char *username)
{
  kehu_server *srv = call->srv;
  note_failure(srv, kehu_session_address(kehu_session_of(call)), 1);
  failure_write *f = calloc(1, sizeof *f);
  if (!f)
    return;
  snprintf(f->who.username, sizeof f->who.username, "%s", username);
  snprintf(f->who.address, sizeof f->who.address, "%s", kehu_session_address(kehu_session_of(call)));
  f->now = kehu_now(srv);
  f->lock_s = srv->cfg.lock_s;
  f->max_failed = srv->cfg.max_failed_logins;
  kehu_submit_write_detached(srv, apply_failure, failure_done, f);
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
    kehu_session_set_identity(kehu_session_of(call), w->user, w->hash);
    reply_login(call, w->user, w->token_hex);
  }
  session_write_free(w);
}

/* ---- password login ---- */

typedef struct {
  kehu_pool_work work;      /* first: through the login gate (pool_work.h) */
  kehu_call *call;
  Kehu__UserRecord *user;   /* NULL when there is no such user */
  int ok;
} password_check;

/* Password checks beyond max_login_work wait at the server's login gate, so
 * a login flood costs bounded CPU and leaves the thread pool to other work. */

static void reply_password_check(password_check *pc, int status);

static void check_password(uv_work_t *work)
{
  password_check *pc = work->data;
  const char *pw = pc->call->req->login->password;
  const char *hash = pc->user ? pc->user->password_hash : dummy_hash;
  pc->ok = argon2id_verify(hash, pw, strlen(pw)) == ARGON2_OK && pc->user;
}

static void password_checked(uv_work_t *work, int status)
{
  reply_password_check(work->data, status);
}

static void reply_password_check(password_check *pc, int status)
{
  kehu_call *call = pc->call;
  kehu_server *srv = call->srv;
  Kehu__UserRecord *u = pc->user;
  int ok = status == 0 && pc->ok;
  free(pc);
  if (!ok || (u->has_disabled && u->disabled)) {
    if (ok) {
      kehu_reply_status(call, KEHU_UNAUTHENTICATED, "user %s is disabled", u->username);
    } else {
      login_failed(call, call->req->login->username);
      kehu_reply_status(call, KEHU_UNAUTHENTICATED, "wrong username or password");
    }
    if (u)
      kehu__user_record__free_unpacked(u, NULL);
    return;
  }
  note_failure(srv, kehu_session_address(kehu_session_of(call)), 0);
  session_write *w = calloc(1, sizeof *w);
  unsigned char token[32];
  if (!w || kehu_rng_bytes(&srv->rng, token, sizeof token) != 0) {
    free(w);
    kehu__user_record__free_unpacked(u, NULL);
    kehu_reply_status(call, KEHU_INTERNAL, "cannot create a session token");
    return;
  }
  kehu_hex(token, 32, w->token_hex);
  token_hash(token, w->hash);
  kehu__session_record__init(&w->rec);
  snprintf(w->username, sizeof w->username, "%s", u->username);
  w->rec.username = w->username;
  w->rec.created_at = w->rec.last_used_at = kehu_now(srv);
  w->user = u;
  w->now = w->rec.created_at;
  w->audit = 1;
  snprintf(w->who.username, sizeof w->who.username, "%s", u->username);
  snprintf(w->who.address, sizeof w->who.address, "%s", kehu_session_address(kehu_session_of(call)));
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
  kehu_server *srv = call->srv;
  kehu_pool_work_queue(srv, &srv->login_gate, &pc->work, pc, check_password, password_checked);
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
    kehu_session_set_identity(kehu_session_of(call), u, hash);
    /* Keep the session alive, at most once a minute per session (a write
     * per request would cost a commit each), and well before it expires. */
    int64_t refresh = srv->cfg.session_idle_s / 2 < 60 ? srv->cfg.session_idle_s / 2 : 60;
    if (now - s->last_used_at >= refresh) {
      session_write *w = calloc(1, sizeof *w);
      if (w) {
        memcpy(w->hash, hash, 32);
        kehu__session_record__init(&w->rec);
        snprintf(w->username, sizeof w->username, "%s", s->username);
        w->rec.username = w->username;
        w->rec.created_at = s->created_at;
        w->rec.last_used_at = now;
        kehu_submit_write_detached(call->srv, apply_session, touched, w);
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
  uint64_t wait = backoff_wait_ms(call->srv, kehu_session_address(kehu_session_of(call)));
  int64_t now = kehu_now(call->srv);
  if (wait) {
    kehu_reply_status(call, KEHU_UNAUTHENTICATED,
                      "too many failed logins from %s: try again in %llu s", kehu_session_address(kehu_session_of(call)),
                      (unsigned long long)(wait + 999) / 1000);
  } else if (u && u->has_locked_until && u->locked_until > now) {
    kehu_reply_status(call, KEHU_UNAUTHENTICATED,
                      "user %s is locked after too many failed logins: try again in %lld min",
                      u->username, (long long)(u->locked_until - now + 59) / 60);
  } else {
    login_with_password(call, u);
    return;
  }
  if (u)
    kehu__user_record__free_unpacked(u, NULL);
}

static void logged_out(kehu_call *call, int status, void *arg)
{
  free(arg);
  if (status != KEHU_OK) {
    kehu_reply_status(call, status, "cannot revoke the session");
    return;
  }
  kehu_session_clear_identity(kehu_session_of(call));
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
  memcpy(w->hash, kehu_session_token_hash(kehu_session_of(call)), 32);
  w->remove = 1;
  w->who = call->caller;
  w->now = kehu_now(call->srv);
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

int kehu_auth_check_session(kehu_call *call, kehu_error *err)
{
  kehu_session *session = kehu_session_of(call);
  const kehu_caller *who = kehu_session_caller(session);
  kehu_txn t;
  if (kehu_store_read_begin(call->srv->store, &t) != KEHU_OK)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "storage unavailable");
  Kehu__SessionRecord *s = NULL;
  Kehu__UserRecord *u = NULL;
  int rc = KEHU_OK;
  /* A logout elsewhere or a disabled user ends this connection's rights at
   * once: both are two point reads, cheap enough for every request. */
  if (kehu_store_session_get(&t, kehu_session_token_hash(session), &s) != KEHU_OK)
    rc = kehu_fail(err, KEHU_UNAUTHENTICATED, NULL, "your session was revoked: log in again");
  else if (kehu_store_user_get(&t, who->username, &u) != KEHU_OK ||
           (u->has_disabled && u->disabled))
    rc = kehu_fail(err, KEHU_UNAUTHENTICATED, NULL, "user %s is disabled", who->username);
  else if (strcmp(u->role, who->role) != 0 || strcmp(u->team ? u->team : "", who->team))
    kehu_session_adopt_user(session, u);
  kehu_store_read_end(&t);
  if (s)
    kehu__session_record__free_unpacked(s, NULL);
  if (u)
    kehu__user_record__free_unpacked(u, NULL);
  if (rc != KEHU_OK)
    kehu_session_clear_identity(session);
  return rc;
}
