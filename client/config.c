#include "config.h"

#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "i18n.h"

typedef struct {
  char *server;
  char *ca;
  char *user;
} file_values;

static int replace(char **slot, const char *value)
{
  char *copy = strdup(value);
  if (!copy)
    return 0;
  free(*slot);
  *slot = copy;
  return 1;
}

/* Keys may stand before any section or inside one: the file is ours alone. */
static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
  (void)section;
  file_values *v = user;
  if (strcmp(name, "server") == 0)
    return replace(&v->server, value);
  if (strcmp(name, "ca") == 0)
    return replace(&v->ca, value);
  if (strcmp(name, "user") == 0)
    return replace(&v->user, value);
  return 1;   /* unknown keys are left for later versions */
}

/* A `ca` path in the config file is relative to the file's directory;
 * `~/` means the home directory. */
static char *config_file_path_value(const char *config_path, const char *value)
{
  char out[PATH_MAX];
  int n;
  const char *home = getenv("HOME");
  if (value[0] == '/') {
    n = snprintf(out, sizeof out, "%s", value);
  } else if (value[0] == '~' && value[1] == '/' && home && home[0]) {
    n = snprintf(out, sizeof out, "%s%s", home, value + 1);
  } else {
    const char *slash = strrchr(config_path, '/');
    int dir_len = slash ? (int)(slash - config_path) : 0;
    n = snprintf(out, sizeof out, "%.*s/%s", dir_len, config_path, value);
  }
  if (n < 0 || (size_t)n >= sizeof out)
    return strdup(value);
  return strdup(out);
}

static const char *flag_or_env(const char *flag, const char *env_name)
{
  const char *env = getenv(env_name);
  return flag ? flag : env && env[0] ? env : NULL;
}

static int take(char **out, const char *flag, const char *env_name, char **file_value)
{
  const char *v = flag_or_env(flag, env_name);
  if (v) {
    *out = strdup(v);
    return *out ? 0 : -1;
  }
  *out = *file_value;   /* may be NULL */
  *file_value = NULL;
  return 0;
}

int kehu_config_resolve(kehu_config *cfg, const char *flag_server, const char *flag_ca,
                        const char *flag_user, kehu_error *err)
{
  kehu_config_free(cfg);
  file_values fv = {0};
  char path[PATH_MAX];
  int have_path = kehu_client_path("config", path, sizeof path) == 0;
  int rc = KEHU_OK;

  /* The file is read only when a setting is still missing. */
  int need_file = !flag_or_env(flag_server, "KEHU_SERVER") || !flag_or_env(flag_ca, "KEHU_CA") ||
                  !flag_or_env(flag_user, "KEHU_USER");
  if (need_file && have_path) {
    int line = ini_parse(path, on_ini_value, &fv);
    if (line > 0) {
      rc = kehu_fail_tr(err, KEHU_USAGE, NULL, "%s line %d: not `key = value`", path, line);
      goto done;
    }
    if (line == -2) {
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory reading %s", path);
      goto done;
    }
    if (fv.ca) {
      char *resolved = config_file_path_value(path, fv.ca);
      free(fv.ca);
      fv.ca = resolved;
    }
  }
  if (take(&cfg->server, flag_server, "KEHU_SERVER", &fv.server) != 0 ||
      take(&cfg->ca, flag_ca, "KEHU_CA", &fv.ca) != 0 ||
      take(&cfg->user, flag_user, "KEHU_USER", &fv.user) != 0) {
    rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    goto done;
  }
  const char *where = have_path ? path : "$XDG_CONFIG_HOME/kehu/config";
  if (!cfg->server || !cfg->server[0])
    rc = kehu_fail_tr(err, KEHU_USAGE, "server",
                      "no server given: use --server HOST:PORT, KEHU_SERVER or `server = HOST:PORT` in %s",
                      where);
  else if (!cfg->ca || !cfg->ca[0])
    rc = kehu_fail_tr(err, KEHU_USAGE, "ca",
                      "no CA certificate given: use --ca FILE, KEHU_CA or `ca = FILE` in %s",
                      where);
  else if (!cfg->user || !cfg->user[0])
    rc = kehu_fail_tr(err, KEHU_USAGE, "user",
                      "no user given: use --user NAME, KEHU_USER or `user = NAME` in %s", where);
done:
  free(fv.server);
  free(fv.ca);
  free(fv.user);
  return rc;
}

void kehu_config_free(kehu_config *cfg)
{
  free(cfg->server);
  free(cfg->ca);
  free(cfg->user);
  cfg->server = cfg->ca = cfg->user = NULL;
}

int kehu_parse_server(const char *server, char *host, size_t host_size, char *port,
                      size_t port_size, kehu_error *err)
{
  const char *host_start = server, *host_end, *colon;
  if (server[0] == '[') {
    host_start = server + 1;
    host_end = strchr(host_start, ']');
    colon = host_end ? host_end + 1 : NULL;
    if (!colon || *colon != ':')
      colon = NULL;
  } else {
    colon = strrchr(server, ':');
    host_end = colon;
    if (colon && memchr(server, ':', (size_t)(colon - server)))
      colon = NULL;   /* a bare IPv6 address needs brackets */
  }
  if (!colon || host_end == host_start)
    return kehu_fail_tr(err, KEHU_INVALID, "server",
                        "server `%s` is not HOST:PORT (an IPv6 address in brackets: [::1]:7443)",
                        server);
  const char *p = colon + 1;
  long n = 0;
  if (!*p)
    n = -1;
  for (; *p && n >= 0; p++)
    n = *p >= '0' && *p <= '9' && n <= 65535 ? n * 10 + (*p - '0') : -1;
  if (n < 1 || n > 65535)
    return kehu_fail_tr(err, KEHU_INVALID, "server", "server `%s`: the port must be 1..65535",
                        server);
  size_t hl = (size_t)(host_end - host_start);
  if (hl >= host_size)
    return kehu_fail_tr(err, KEHU_INVALID, "server", "server `%s`: the host name is too long",
                        server);
  memcpy(host, host_start, hl);
  host[hl] = '\0';
  snprintf(port, port_size, "%ld", n);
  return KEHU_OK;
}
