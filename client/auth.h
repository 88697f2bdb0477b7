/* Logging in: the session token file ($XDG_CONFIG_HOME/kehu/session), the
 * password sources (KEHU_PASSWORD, --password-stdin, the terminal), and
 * kehu_call, which runs one request as the configured user. */
#ifndef KEHU_CLIENT_AUTH_H
#define KEHU_CLIENT_AUTH_H

#include "cli.h"
#include "conn.h"
#include "kehu.pb-c.h"

/* Resolves server, CA and user (flags, environment, config file) into
 * cli->cfg; a missing one is a usage error saying where to give it. */
int kehu_resolve(kehu_cli *cli, kehu_error *err);

/* Runs req on a new connection as cli->cfg.user: with the stored token when
 * it belongs to this server and user, else (or when the server refuses the
 * token) with the password from KEHU_PASSWORD or --password-stdin, storing
 * the new token. Returns KEHU_OK with *resp set (its status may be any), or
 * an error in err (KEHU_UNAUTHENTICATED when no login is possible). */
int kehu_call(kehu_cli *cli, const Kehu__Request *req, Kehu__Envelope **resp, kehu_error *err);

/* Opens a connection and logs in as kehu_call does, for commands that send
 * several requests on one connection (kehu_conn_queue / kehu_conn_wait)
 * or stay connected. The caller closes *conn (kehu_conn_close). */
int kehu_session_open(kehu_cli *cli, kehu_conn **conn, kehu_error *err);

/* `kehu login`: logs in with a password (KEHU_PASSWORD, --password-stdin or a
 * prompt on the terminal), stores the token and returns the login
 * response in *resp. */
int kehu_login(kehu_cli *cli, Kehu__Envelope **resp, kehu_error *err);

/* `kehu logout`: revokes the stored token on the server (if there is one
 * for this server and user) and removes the token file. *had_session tells
 * whether there was anything to log out. */
int kehu_logout(kehu_cli *cli, int *had_session, kehu_error *err);

#endif
