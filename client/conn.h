/* One connection to kehud: TCP, verified TLS (resumed when a saved session
 * fits), the Hello exchange, and requests and responses in frames. Requests
 * are queued and go out together on the next flush or wait, so a login and
 * a command share one round trip. Responses are matched by request id. */
#ifndef KEHU_CLIENT_CONN_H
#define KEHU_CLIENT_CONN_H

#include <stdint.h>

#include "kehu.pb-c.h"
#include "status.h"

typedef struct kehu_conn kehu_conn;

/* Connects to server (HOST:PORT) and completes the TLS handshake, verifying
 * the server's certificate against ca_file and the host. Failures are
 * KEHU_UNAVAILABLE ("cannot connect", "TLS verification failed") except a
 * malformed server address (KEHU_INVALID). */
int kehu_conn_open(kehu_conn **out, const char *server, const char *ca_file, kehu_error *err);
void kehu_conn_close(kehu_conn *conn);

/* Queues req; returns its id, or 0 when it does not fit in a frame. */
uint64_t kehu_conn_queue(kehu_conn *conn, const Kehu__Request *req);

/* Sends what is queued, then reads until the response to id arrives.
 * *out is the whole envelope (free with kehu_envelope_free); its
 * response's status may be anything. The return value is about the
 * transport only: KEHU_OK, or KEHU_UNAVAILABLE (connection lost, timeout),
 * KEHU_INTERNAL (garbage from the server), or the status of an error the
 * server sent for the whole connection (request id 0), e.g. too many
 * connections. */
int kehu_conn_wait(kehu_conn *conn, uint64_t id, Kehu__Envelope **out, kehu_error *err);

/* Sends what is queued, then returns the next envelope from the server
 * other than its Hello: a response to any request, or a pushed event (id
 * 0). Waits at most timeout_ms (negative: without limit); KEHU_OK with
 * *out NULL when nothing came in that time or a signal interrupted the
 * wait. Errors as kehu_conn_wait. */
int kehu_conn_next(kehu_conn *conn, int timeout_ms, Kehu__Envelope **out, kehu_error *err);

/* 1 when a transport error ended the connection: open another. */
int kehu_conn_broken(const kehu_conn *conn);

/* The connection's socket, to poll beside another input (readable: call
 * kehu_conn_next with timeout 0 to learn what came); -1 once broken. */
int kehu_conn_fd(const kehu_conn *conn);

/* Copies a non-OK response into err and returns its status (an unknown
 * status becomes KEHU_INTERNAL). */
int kehu_response_error(const Kehu__Response *resp, kehu_error *err);

#endif
