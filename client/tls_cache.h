/* The TLS session kept between kehu processes ($XDG_CONFIG_HOME/kehu/
 * session.tls), so that the next process resumes it instead of running a
 * full handshake. It is bound to the server address and the SHA-256 of the
 * CA file: another server or another CA never gets a saved session and
 * always goes through a full, verified handshake. */
#ifndef KEHU_CLIENT_TLS_CACHE_H
#define KEHU_CLIENT_TLS_CACHE_H

#include <mbedtls/ssl.h>

/* Loads the session saved for (server, ca_sha256) into session (which the
 * caller has initialised). 0 when one was loaded; -1 for none, a stale one
 * or any problem with the file, which then simply means a full handshake. */
int kehu_tls_cache_load(const char *server, const unsigned char ca_sha256[32],
                        mbedtls_ssl_session *session);

/* Saves the session of ssl (after a full handshake) for (server,
 * ca_sha256). Failures are ignored: the cache is an optimisation, never a
 * reason to fail a command. */
void kehu_tls_cache_save(const char *server, const unsigned char ca_sha256[32],
                         const mbedtls_ssl_context *ssl);

#endif
