#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "files.h"
#include "frame.h"
#include "i18n.h"
#include "output.h"

#define PASSWORD_MAX 1024
#define TOKEN_FILE_MAX 8192

/* ---- the token file: lines server=..., user=..., token=... ---- */

static int token_path(char *out, size_t size)
{
  return kehu_client_path("session", out, size);
}

/* The stored token when it was issued by this server to this user. */
static char *token_load(const kehu_cli *cli)
{
  char path[PATH_MAX];
  if (token_path(path, sizeof path) != 0)
    return NULL;
  size_t len;
  char *data = kehu_file_read(path, TOKEN_FILE_MAX, &len);
  if (!data)
    return NULL;
  const char *server = NULL, *user = NULL, *token = NULL;
  for (char *line = data, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    char *eq = strchr(line, '=');
    if (!eq)
      continue;
    *eq = '\0';
    if (strcmp(line, "server") == 0)
      server = eq + 1;
    else if (strcmp(line, "user") == 0)
      user = eq + 1;
    else if (strcmp(line, "token") == 0)
      token = eq + 1;
  }
  char *result = NULL;
  if (server && user && token && token[0] && strcmp(server, cli->cfg.server) == 0 &&
      strcmp(user, cli->cfg.user) == 0)
    result = strdup(token);
  mbedtls_platform_zeroize(data, len);
  free(data);
  return result;
}

static int token_save(const kehu_cli *cli, const char *token, kehu_error *err)
{
  char path[PATH_MAX];
  if (token_path(path, sizeof path) != 0)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL,
                        "logged in, but there is no directory for the session file: set HOME or XDG_CONFIG_HOME");
  if (strpbrk(cli->cfg.server, "\r\n") || strpbrk(cli->cfg.user, "\r\n") ||
      strpbrk(token, "\r\n"))
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "logged in, but the session cannot be stored");
  char *text = NULL;
  int n = asprintf(&text, "server=%s\nuser=%s\ntoken=%s\n", cli->cfg.server, cli->cfg.user, token);
  if (n < 0)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
  int rc = kehu_file_write_private(path, text, (size_t)n);
  int saved_errno = errno;
  mbedtls_platform_zeroize(text, (size_t)n);
  free(text);
  if (rc != 0)
    return kehu_fail_errno(err, KEHU_INTERNAL, NULL, saved_errno, "logged in, but cannot write %s",
                           path);
  return KEHU_OK;
}

/* Removes the token file if it still holds token: another process may
 * have stored a newer one meanwhile. */
static void token_remove(const kehu_cli *cli, const char *token)
{
  char path[PATH_MAX];
  char *current = token_load(cli);
  if (current && strcmp(current, token) == 0 && token_path(path, sizeof path) == 0)
    unlink(path);
  if (current) {
    mbedtls_platform_zeroize(current, strlen(current));
    free(current);
  }
}

/* ---- passwords ---- */

static int password_available(const kehu_cli *cli)
{
  const char *env = getenv("KEHU_PASSWORD");
  return (env && env[0]) || cli->password_stdin;
}

/* Reads one line from f into buf without its line ending. source (N_)
 * names f in messages. */
static int read_line(FILE *f, char *buf, size_t size, const char *source, kehu_error *err)
{
  if (!fgets(buf, (int)size, f)) {
    kehu_fail(err, KEHU_UNAUTHENTICATED, NULL, "no password on %s", source);
    kehu_error_set_human(err, _("no password on %s"), _(source));
    return KEHU_UNAUTHENTICATED;
  }
  size_t len = strlen(buf);
  if (len > 0 && buf[len - 1] == '\n') {
    buf[--len] = '\0';
  } else if (len == size - 1) {
    kehu_fail(err, KEHU_INVALID, "password", "the password on %s is too long", source);
    kehu_error_set_human(err, _("the password on %s is too long"), _(source));
    return KEHU_INVALID;
  }
  if (len > 0 && buf[len - 1] == '\r')
    buf[--len] = '\0';
  return KEHU_OK;
}

/* While echo is off, a signal must not leave the terminal that way. */
static int prompt_fd = -1;
static struct termios prompt_saved;

static void restore_echo_and_die(int sig)
{
  if (prompt_fd >= 0)
    tcsetattr(prompt_fd, TCSAFLUSH, &prompt_saved);
  signal(sig, SIG_DFL);
  raise(sig);
}

static int prompt_password(const kehu_cli *cli, char *buf, size_t size, kehu_error *err)
{
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  FILE *tty = fd >= 0 ? fdopen(fd, "r+") : NULL;
  if (!tty) {
    if (fd >= 0)
      close(fd);
    return kehu_fail_tr(err, KEHU_UNAUTHENTICATED, NULL,
                        "no password: set KEHU_PASSWORD or use --password-stdin (no terminal to ask on)");
  }
  fprintf(tty, _("Password for %s on %s: "), cli->cfg.user, cli->cfg.server);
  fflush(tty);
  static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
  enum { NSIG_CAUGHT = sizeof signals / sizeof *signals };
  struct sigaction old_actions[NSIG_CAUGHT];
  struct termios quiet;
  int restore = tcgetattr(fd, &prompt_saved) == 0;
  if (restore) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = restore_echo_and_die;
    sigemptyset(&sa.sa_mask);
    prompt_fd = fd;
    for (int i = 0; i < NSIG_CAUGHT; i++)
      sigaction(signals[i], &sa, &old_actions[i]);
    quiet = prompt_saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  int rc = read_line(tty, buf, size, N_("the terminal"), err);
  if (restore) {
    tcsetattr(fd, TCSAFLUSH, &prompt_saved);
    prompt_fd = -1;
    for (int i = 0; i < NSIG_CAUGHT; i++)
      sigaction(signals[i], &old_actions[i], NULL);
  }
  fclose(tty);
  return rc;
}

static int get_password(const kehu_cli *cli, int may_prompt, char *buf, size_t size,
                        kehu_error *err)
{
  const char *env = getenv("KEHU_PASSWORD");
  if (env && env[0]) {
    if (strlen(env) >= size)
      return kehu_fail_tr(err, KEHU_INVALID, "password", "KEHU_PASSWORD is too long");
    strcpy(buf, env);
    return KEHU_OK;
  }
  if (cli->password_stdin)
    return read_line(stdin, buf, size, N_("stdin"), err);
  if (may_prompt)
    return prompt_password(cli, buf, size, err);
  return kehu_fail_tr(err, KEHU_UNAUTHENTICATED, NULL, "no password");
}

/* ---- login on a connection ---- */

/* Queues a login (with a password or a token) and then req (if any), in one
 * round trip: the server holds req until the login is done. On success the
 * token of a password login is stored (strictly: a failure to store it is
 * an error) and *resp / *login_resp get the envelopes asked for. */
static int login_then(kehu_conn *conn, const kehu_cli *cli, const char *password,
                      const char *token, int strict_store, const Kehu__Request *req,
                      Kehu__Envelope **login_resp, Kehu__Envelope **resp, kehu_error *err)
{
  Kehu__LoginRequest login = KEHU__LOGIN_REQUEST__INIT;
  login.username = cli->cfg.user;
  login.password = (char *)password;
  login.token = (char *)token;
  Kehu__Request lr = KEHU__REQUEST__INIT;
  lr.op_case = KEHU__REQUEST__OP_LOGIN;
  lr.login = &login;
  uint64_t login_id = kehu_conn_queue(conn, &lr);
  uint64_t req_id = req ? kehu_conn_queue(conn, req) : 0;
  if (!login_id || (req && !req_id))
    return kehu_fail_tr(err, KEHU_EXHAUSTED, NULL,
                        "the request is larger than the 4 MiB frame limit");

  Kehu__Envelope *le = NULL;
  int rc = kehu_conn_wait(conn, login_id, &le, err);
  if (rc != KEHU_OK)
    return rc;
  const Kehu__Response *r = le->response;
  if (r->status != KEHU__STATUS__OK) {
    rc = kehu_response_error(r, err);
    kehu_envelope_free(le);
    if (req_id) {   /* drain the held request so the connection can be reused */
      Kehu__Envelope *ignored = NULL;
      kehu_error ignored_err;
      if (kehu_conn_wait(conn, req_id, &ignored, &ignored_err) == KEHU_OK)
        kehu_envelope_free(ignored);
    }
    return rc;
  }
  if (password && r->result_case == KEHU__RESPONSE__RESULT_LOGIN && r->login->token) {
    kehu_error store_err;
    int src = token_save(cli, r->login->token, &store_err);
    if (src != KEHU_OK && strict_store) {
      *err = store_err;
      kehu_envelope_free(le);
      return src;
    }
    if (src != KEHU_OK) {
      char human[640];
      fprintf(stderr, _("kehu: warning: %s\n"), kehu_error_human(&store_err, human, sizeof human));
    }
  }
  if (req_id)
    rc = kehu_conn_wait(conn, req_id, resp, err);
  if (login_resp && rc == KEHU_OK)
    *login_resp = le;
  else
    kehu_envelope_free(le);
  return rc;
}

static void free_secret(char *s)
{
  if (s) {
    mbedtls_platform_zeroize(s, strlen(s));
    free(s);
  }
}

int kehu_resolve(kehu_cli *cli, kehu_error *err)
{
  return kehu_config_resolve(&cli->cfg, cli->flag_server, cli->flag_ca, cli->flag_user, err);
}

/* Opens a connection and logs in as cli->cfg.user: with the stored token
 * when it belongs to this server and user, else (or when the server refuses
 * the token) with a password, storing the new token. req (if any) goes in
 * the login's round trip and its response lands in *resp. On success
 * *conn_out is the logged-in connection; on failure it is closed. */
static int session(kehu_cli *cli, const Kehu__Request *req, kehu_conn **conn_out,
                   Kehu__Envelope **resp, kehu_error *err)
{
  *conn_out = NULL;
  char *token = token_load(cli);
  int can_password = password_available(cli);
  kehu_conn *conn = NULL;
  char password[PASSWORD_MAX];
  password[0] = '\0';
  /* Connecting first reports a wrong address or CA before a missing login. */
  int rc = kehu_conn_open(&conn, cli->cfg.server, cli->cfg.ca, err);
  if (rc != KEHU_OK)
    goto done;
  if (!token && !can_password) {
    rc = kehu_fail_tr(err, KEHU_UNAUTHENTICATED, NULL,
                      "not logged in as %s on %s: run `kehu login` (or set KEHU_PASSWORD)",
                      cli->cfg.user, cli->cfg.server);
    goto done;
  }
  if (token) {
    rc = login_then(conn, cli, NULL, token, 0, req, NULL, resp, err);
    if (rc != KEHU_UNAUTHENTICATED)
      goto done;
    token_remove(cli, token);   /* refused (expired, revoked): never offer it again */
    if (!can_password) {
      if (!strstr(err->message, "kehu login"))
        kehu_error_append_tr(err, " (run `kehu login`)");
      goto done;
    }
    if (kehu_conn_broken(conn)) {
      kehu_conn_close(conn);
      conn = NULL;
      rc = kehu_conn_open(&conn, cli->cfg.server, cli->cfg.ca, err);
      if (rc != KEHU_OK)
        goto done;
    }
  }
  rc = get_password(cli, 0, password, sizeof password, err);
  if (rc == KEHU_OK)
    rc = login_then(conn, cli, password, NULL, 0, req, NULL, resp, err);
done:
  mbedtls_platform_zeroize(password, sizeof password);
  free_secret(token);
  if (rc == KEHU_OK)
    *conn_out = conn;
  else
    kehu_conn_close(conn);
  return rc;
}

int kehu_call(kehu_cli *cli, const Kehu__Request *req, Kehu__Envelope **resp, kehu_error *err)
{
  *resp = NULL;
  kehu_conn *conn = NULL;
  int rc = session(cli, req, &conn, resp, err);
  kehu_conn_close(conn);
  return rc;
}

int kehu_session_open(kehu_cli *cli, kehu_conn **conn, kehu_error *err)
{
  return session(cli, NULL, conn, NULL, err);
}

int kehu_login(kehu_cli *cli, Kehu__Envelope **resp, kehu_error *err)
{
  *resp = NULL;
  char password[PASSWORD_MAX];
  kehu_conn *conn = NULL;
  int rc = get_password(cli, 1, password, sizeof password, err);
  if (rc == KEHU_OK)
    rc = kehu_conn_open(&conn, cli->cfg.server, cli->cfg.ca, err);
  if (rc == KEHU_OK)
    rc = login_then(conn, cli, password, NULL, 1, NULL, resp, NULL, err);
  mbedtls_platform_zeroize(password, sizeof password);
  kehu_conn_close(conn);
  return rc;
}

int kehu_logout(kehu_cli *cli, int *had_session, kehu_error *err)
{
  char *token = token_load(cli);
  *had_session = token != NULL;
  if (!token)
    return KEHU_OK;
  Kehu__LogoutRequest logout = KEHU__LOGOUT_REQUEST__INIT;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_LOGOUT;
  req.logout = &logout;
  kehu_conn *conn = NULL;
  Kehu__Envelope *resp = NULL;
  int rc = kehu_conn_open(&conn, cli->cfg.server, cli->cfg.ca, err);
  if (rc == KEHU_OK)
    rc = login_then(conn, cli, NULL, token, 0, &req, NULL, &resp, err);
  if (rc == KEHU_OK && resp->response->status != KEHU__STATUS__OK &&
      resp->response->status != KEHU__STATUS__UNAUTHENTICATED)
    rc = kehu_response_error(resp->response, err);
  /* A token the server refuses is as good as logged out. */
  if (rc == KEHU_UNAUTHENTICATED) {
    kehu_error_clear(err);
    rc = KEHU_OK;
  }
  if (rc == KEHU_OK)
    token_remove(cli, token);
  kehu_envelope_free(resp);
  kehu_conn_close(conn);
  free_secret(token);
  return rc;
}
