/* kehud --data DATADIR [--listen HOST:PORT] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_run.h"

static void usage(FILE *f)
{
  fprintf(f, "usage: kehud --data DATADIR [--listen HOST:PORT]\n"
             "  Serves the customer archive in DATADIR (made by `kehu-admin init`).\n"
             "  --listen overrides [server] listen of DATADIR/kehud.conf; port 0 picks a\n"
             "  free port. Prints `kehud listening on HOST:PORT` when ready.\n"
             "  Stops cleanly on SIGTERM or SIGINT.\n");
}

int main(int argc, char **argv)
{
  const char *data = NULL, *listen = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strcmp(argv[i], "--version") == 0) {
      printf("kehud 0.1.0\n");
      return 0;
    }
    if ((strcmp(argv[i], "--data") == 0 || strcmp(argv[i], "--listen") == 0) && i + 1 < argc) {
      *(argv[i][2] == 'd' ? &data : &listen) = argv[i + 1];
      i++;
      continue;
    }
    fprintf(stderr, "kehud: unknown or incomplete option '%s'\n", argv[i]);
    usage(stderr);
    return 2;
  }
  if (!data) {
    fprintf(stderr, "kehud: --data DATADIR is required\n");
    usage(stderr);
    return 2;
  }
  static kehu_server srv;
  kehu_error err = {0};
  if (kehu_config_load(&srv.cfg, data, &err) != KEHU_OK) {
    fprintf(stderr, "kehud: %s\n", err.message);
    return err.status;
  }
  if (listen)
    snprintf(srv.cfg.listen, sizeof srv.cfg.listen, "%s", listen);
  const char *offset = getenv("KEHU_CLOCK_OFFSET");
  if (offset)
    srv.cfg.clock_offset_s = strtoll(offset, NULL, 10);
  int rc = kehu_server_run(&srv, &err);
  if (rc != KEHU_OK) {
    fprintf(stderr, "kehud: %s\n", err.message);
    return rc;
  }
  return 0;
}
