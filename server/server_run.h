#ifndef KEHU_SERVER_RUN_H
#define KEHU_SERVER_RUN_H

#include "server.h"

/* Runs kehud until SIGTERM/SIGINT; cfg must be loaded. */
int kehu_server_run(kehu_server *srv, kehu_error *err);

#endif
