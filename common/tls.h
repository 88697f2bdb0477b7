/* TLS 1.2 for both sides (mbedTLS 2.28): ECDHE with AES-GCM or
 * ChaCha20-Poly1305 only. The session type here runs over memory buffers
 * (feed ciphertext in, take ciphertext out), so the server can drive it
 * from libuv and a unit test can run a whole handshake with no socket. */
#ifndef KEHU_TLS_H
#define KEHU_TLS_H

#include <stddef.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "buf.h"
#include "status.h"
#include "tls_ticket.h"

/* Shared randomness: one per process (or per thread that uses it). */
typedef struct kehu_rng {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
} kehu_rng;

int kehu_rng_init(kehu_rng *rng, const char *personalisation);
void kehu_rng_free(kehu_rng *rng);
/* Fills out with n random bytes; 0 on success. */
int kehu_rng_bytes(kehu_rng *rng, void *out, size_t n);

typedef struct {
  kehu_rng rng;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt cert;
  mbedtls_pk_context key;
  kehu_ticket_keys tickets;      /* session tickets (tls_ticket.h) */
} kehu_tls_server;

/* Loads the server certificate chain and key; errors name the file.
 * Session tickets are issued under a key kept in memory until
 * kehu_tls_server_ticket_file. */
int kehu_tls_server_init(kehu_tls_server *s, const char *cert_file, const char *key_file,
                         kehu_error *err);
/* Ticket keys from (or into) a file, so tickets outlive the process
 * (docs/operations.md#tls-certificates); clock_offset_s is the server's
 * clock. On an error the in-memory key stays in use and err says why. */
int kehu_tls_server_ticket_file(kehu_tls_server *s, const char *path, int64_t clock_offset_s,
                                kehu_error *err);
void kehu_tls_server_free(kehu_tls_server *s);

typedef struct {
  kehu_rng rng;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca;
  unsigned char ca_sha256[32];  /* binds saved sessions to this CA */
} kehu_tls_client;

int kehu_tls_client_init(kehu_tls_client *c, const char *ca_file, kehu_error *err);
void kehu_tls_client_free(kehu_tls_client *c);

/* A TLS session over memory buffers. */
typedef struct {
  mbedtls_ssl_context ssl;
  kehu_buf in;    /* ciphertext received, not yet read by mbedTLS */
  kehu_buf out;   /* ciphertext mbedTLS produced, to be sent */
  int handshake_done;
  int resumed;          /* server: the client's ticket was taken (no full handshake) */
  int ticket_refused;   /* server: the client offered a ticket that was not taken */
} kehu_tls_session;

#define KEHU_TLS_AGAIN 1   /* needs more input */
#define KEHU_TLS_CLOSED 2  /* peer sent close_notify */

int kehu_tls_session_init(kehu_tls_session *t, const mbedtls_ssl_config *conf);
void kehu_tls_session_free(kehu_tls_session *t);
/* Ciphertext from the network. 0, or -1 when out of memory. */
int kehu_tls_session_feed(kehu_tls_session *t, const void *p, size_t n);
/* 0 once the handshake is complete, KEHU_TLS_AGAIN when more input is
 * needed, or a negative mbedTLS error. */
int kehu_tls_session_handshake(kehu_tls_session *t);
/* Appends every decrypted byte available to plain. 0 (possibly nothing
 * read), KEHU_TLS_CLOSED, or a negative mbedTLS error. */
int kehu_tls_session_read(kehu_tls_session *t, kehu_buf *plain);
/* Encrypts all of p into t->out. 0 or a negative mbedTLS error. */
int kehu_tls_session_write(kehu_tls_session *t, const void *p, size_t n);

/* A readable description of an mbedTLS error code. */
const char *kehu_tls_strerror(int code, char *buf, size_t len);

/* Does host (a DNS name or an IP literal) match the certificate? IP hosts
 * are checked against iPAddress subjectAltName entries, which mbedTLS 2.28
 * itself never does. 1 on a match. */
int kehu_tls_cert_matches_host(const mbedtls_x509_crt *crt, const char *host);

#endif
