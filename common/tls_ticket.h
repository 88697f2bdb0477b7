/* TLS session tickets under keys that survive a restart
 * (docs/protocol.md#transport-and-tls, docs/operations.md#tls-certificates).
 *
 * The server encrypts each session it hands out as a ticket with
 * AES-256-GCM under the current ticket key; a returning client offers the
 * ticket and skips the full handshake. The keys live in a file beside the
 * server's TLS key (DATADIR/tls/ticket.key, mode 0600), so a restarted
 * kehud still accepts the tickets it issued before. A key issues tickets
 * for KEHU_TICKET_KEY_PERIOD_S, then becomes the previous key, still
 * accepted for one more period, then is forgotten. Without a file the keys
 * stay in memory. The callbacks run on one thread (the server's loop). */
#ifndef KEHU_TLS_TICKET_H
#define KEHU_TLS_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/gcm.h>
#include <mbedtls/ssl.h>

#include "status.h"

struct kehu_rng;

/* A ticket is accepted this long after it was issued. */
#define KEHU_TICKET_LIFETIME_S (12 * 3600)
/* A key issues tickets this long; then it is the previous key. */
#define KEHU_TICKET_KEY_PERIOD_S (12 * 3600)
/* A session resumes at most this long after its full handshake, however
 * often its ticket was renewed: then the client does a full handshake. */
#define KEHU_TICKET_SESSION_MAX_S (24 * 3600)

typedef struct {
  int set;
  uint32_t id;                /* names the key in each ticket */
  int64_t created;            /* Unix seconds, the server's clock */
  unsigned char secret[32];
  mbedtls_gcm_context gcm;
} kehu_ticket_key;

typedef struct {
  kehu_ticket_key keys[2];    /* [0] issues tickets, [1] the previous one: still accepted */
  struct kehu_rng *rng;
  char path[700];             /* "": the keys are kept in memory only */
  int64_t clock_offset_s;     /* the server's clock (tests run it in the future) */
  uint64_t issued, accepted, refused;   /* tickets, since start */
  char save_error[800];       /* the last failure to write the file, for the log; "" */
} kehu_ticket_keys;

/* In-memory keys (a fresh key now). 0 or a negative mbedTLS error. */
int kehu_ticket_keys_init(kehu_ticket_keys *k, struct kehu_rng *rng, int64_t clock_offset_s);
/* Switches to the keys of the file at path: read when it holds valid keys,
 * else made (0600, written under another name, synced, renamed). On an
 * error the in-memory keys stay and err says why. */
int kehu_ticket_keys_use_file(kehu_ticket_keys *k, const char *path, int64_t clock_offset_s,
                              kehu_error *err);
void kehu_ticket_keys_free(kehu_ticket_keys *k);

/* The callbacks for mbedtls_ssl_conf_session_tickets_cb, p_ticket a
 * kehu_ticket_keys. */
mbedtls_ssl_ticket_write_t kehu_ticket_write;
mbedtls_ssl_ticket_parse_t kehu_ticket_parse;

#endif
