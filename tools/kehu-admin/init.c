/* kehu-admin init DATADIR [--admin USER] [--listen HOST:PORT] [--host NAME]...
 * Creates the data directory: CA and server certificate, data key, config,
 * LMDB environment and the first admin user. No demo data (that is seed). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "cert.h"
#include "core.h"
#include "tls.h"
#include "validate.h"

#define MAX_HOSTS 16

static int dir_is_empty_or_missing(const char *path)
{
  DIR *d = opendir(path);
  if (!d)
    return errno == ENOENT;
  struct dirent *e;
  int empty = 1;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      empty = 0;
  closedir(d);
  return empty;
}

static int write_data_key(const char *path)
{
  kehu_rng rng;
  unsigned char key[32];
  if (kehu_rng_init(&rng, "kehu-data-key") != 0 || kehu_rng_bytes(&rng, key, sizeof key) != 0)
    return -1;
  kehu_rng_free(&rng);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return -1;
  int ok = write(fd, key, sizeof key) == (ssize_t)sizeof key && fsync(fd) == 0;
  close(fd);
  memset(key, 0, sizeof key);
  return ok ? 0 : -1;
}

typedef struct {
  Kehu__UserRecord *user;
} put_user_arg;

static int put_user(kehu_txn *t, void *arg)
{
  return kehu_store_user_put(t, ((put_user_arg *)arg)->user);
}

static const char init_usage[] =
  "usage: kehu-admin init DATADIR [--admin USER] [--listen HOST:PORT] [--host NAME]...\n"
  "Creates a new data directory: kehud.conf, the CA and server certificate (tls/),\n"
  "the data key (data.key), the LMDB environment (db/) and the first admin user.\n"
  "No demo data (that is kehu-admin seed).\n"
  "  DATADIR             the directory to create; refused when it exists and is not empty\n"
  "  --admin USER        the admin user's name (default admin)\n"
  "  --listen HOST:PORT  the address kehud listens on (default 127.0.0.1:7443)\n"
  "  --host NAME         a DNS name or IP address clients use, added to the server\n"
  "                      certificate (localhost, 127.0.0.1 and ::1 are always in it);\n"
  "                      repeat for more\n"
  "The admin's password (at least 8 characters) is read from the first line of stdin\n"
  "when it is not a terminal, else asked for without echo.\n";

int kehu_admin_init(int argc, char **argv)
{
  const char *dir = NULL, *admin = "admin", *listen = "127.0.0.1:7443";
  const char *hosts[MAX_HOSTS] = {"localhost", "127.0.0.1", "::1"};
  size_t extra_hosts = 0;
  static const char *const names[] = {"DATADIR", NULL};
  const kehu_admin_flag flags[] = {
    {"--admin", &admin, NULL, NULL, 0},
    {"--listen", &listen, NULL, NULL, 0},
    {"--host", hosts + 3, NULL, &extra_hosts, MAX_HOSTS - 3},
  };
  kehu_admin_spec spec = {"init", init_usage, names, &dir, flags, sizeof flags / sizeof *flags};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  size_t nhosts = 3 + extra_hosts;
  kehu_error err = {0};
  if (kehu_check_username("admin", admin, &err) != KEHU_OK)
    return kehu_admin_fail(KEHU_INVALID, "%s", err.message);
  if (kehu_listen_check(listen, &err) != KEHU_OK)
    return kehu_admin_fail(KEHU_INVALID, "%s", err.message);
  if (!dir_is_empty_or_missing(dir))
    return kehu_admin_fail(KEHU_CONFLICT, "%s exists and is not empty: refusing to overwrite it",
                           dir);
  char password[256];
  rc = kehu_admin_read_password("password for the admin user: ", password, sizeof password);
  if (rc != 0)
    return rc;

  char path[700], key[700], ca_crt[700], ca_key[700];
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot create %s: %s", dir, strerror(errno));
  snprintf(path, sizeof path, "%s/tls", dir);
  if (mkdir(path, 0700) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot create %s: %s", path, strerror(errno));
  snprintf(ca_key, sizeof ca_key, "%s/tls/ca.key", dir);
  snprintf(ca_crt, sizeof ca_crt, "%s/tls/ca.crt", dir);
  if (kehu_cert_make_ca(ca_key, ca_crt, "kehu CA", &err) != KEHU_OK)
    return kehu_admin_fail(err.status, "%s", err.message);
  snprintf(key, sizeof key, "%s/tls/server.key", dir);
  snprintf(path, sizeof path, "%s/tls/server.crt", dir);
  if (kehu_cert_make_server(ca_key, ca_crt, key, path, hosts, nhosts, &err) != KEHU_OK)
    return kehu_admin_fail(err.status, "%s", err.message);

  snprintf(path, sizeof path, "%s/data.key", dir);
  if (write_data_key(path) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot write the data key %s", path);
  snprintf(path, sizeof path, "%s/kehud.conf", dir);
  if (kehu_config_write_default(path, listen, &err) != KEHU_OK)
    return kehu_admin_fail(err.status, "%s", err.message);

  kehu_store *st;
  if ((rc = kehu_admin_open(dir, &st)) != 0)
    return rc;
  char hash[256];
  if (kehu_admin_hash_password(password, hash, sizeof hash) != 0) {
    kehu_store_close(st);
    return kehu_admin_fail(KEHU_INTERNAL, "cannot hash the password");
  }
  memset(password, 0, sizeof password);
  Kehu__UserRecord u = KEHU__USER_RECORD__INIT;
  u.username = (char *)admin;
  u.role = "admin";
  u.display_name = "Administrator";
  u.password_hash = hash;
  u.has_created_at = 1;
  u.created_at = (int64_t)time(NULL);
  put_user_arg arg = {&u};
  rc = kehu_store_write(st, put_user, &arg);
  kehu_store_close(st);
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "cannot store the admin user: %s", kehu_status_name(rc));
  printf("initialised %s\n  CA certificate for clients: %s\n  server listens on %s "
         "(kehud --data %s)\n  admin user: %s\n", dir, ca_crt, listen, dir, admin);
  return 0;
}
