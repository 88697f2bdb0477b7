/* Where the client finds its server, CA and user: a flag overrides the
 * environment (KEHU_SERVER, KEHU_CA, KEHU_USER), which overrides the config
 * file $XDG_CONFIG_HOME/kehu/config (INI keys server, ca, user). */
#ifndef KEHU_CLIENT_CONFIG_H
#define KEHU_CLIENT_CONFIG_H

#include <stddef.h>

#include "status.h"

typedef struct {
  char *server;   /* HOST:PORT */
  char *ca;       /* CA certificate file */
  char *user;
} kehu_config;

/* Resolves all three settings; a missing one is a usage error whose
 * message says where it can be given. */
int kehu_config_resolve(kehu_config *cfg, const char *flag_server, const char *flag_ca,
                        const char *flag_user, kehu_error *err);
void kehu_config_free(kehu_config *cfg);

/* HOST:PORT or [IPv6]:PORT split into host and port. 0, or KEHU_INVALID
 * with a message naming `server`. */
int kehu_parse_server(const char *server, char *host, size_t host_size, char *port,
                      size_t port_size, kehu_error *err);

#endif
