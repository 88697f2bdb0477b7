#include <argon2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "admin.h"
#include "core.h"
#include "tls.h"

static const char usage_text[] =
  "usage: kehu-admin COMMAND DATADIR ...\n"
  "  init DATADIR [--admin USER] [--listen HOST:PORT] [--host NAME]...\n"
  "  user add DATADIR USER --role admin|manager|sales|service|finance [--team T] [--name N]\n"
  "  user list DATADIR [--json]\n"
  "  user disable|enable|passwd DATADIR USER\n"
  "  user role DATADIR USER ROLE [--team T]\n"
  "  seed DATADIR --customers N\n"
  "  verify DATADIR\n"
  "  backup DATADIR OUT\n"
  "  restore BACKUP DATADIR [--force]\n"
  "  stats DATADIR [--json | --prometheus]\n"
  "  reindex DATADIR\n"
  "  cert DATADIR [--host NAME]...\n"
  "  compact DATADIR\n"
  "  rotate-key DATADIR   re-encrypt every sealed value under a new data key\n"
  "  audit export DATADIR [--since TIME] [--user U] [--format csv|json]\n"
  "  audit verify DATADIR\n"
  "Passwords are read from the first line of stdin when it is not a terminal.\n";

int kehu_admin_fail(int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("kehu-admin: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

int kehu_admin_open(const char *data_dir, kehu_store **st)
{
  kehu_config cfg;
  kehu_error err = {0};
  if (kehu_config_load(&cfg, data_dir, &err) != KEHU_OK)
    return kehu_admin_fail(err.status, "%s", err.message);
  char path[600];
  snprintf(path, sizeof path, "%s/kehud.conf", data_dir);
  if (access(path, F_OK) != 0)
    return kehu_admin_fail(KEHU_NOT_FOUND, "%s is not a kehu data directory (run kehu-admin init)",
                           data_dir);
  snprintf(path, sizeof path, "%s/db", data_dir);
  if (kehu_store_open(st, path, cfg.map_size, &err) != KEHU_OK)
    return kehu_admin_fail(err.status, "%s", err.message);
  snprintf(path, sizeof path, "%s/data.key", data_dir);
  if (kehu_store_load_key(*st, path, &err) != KEHU_OK) {
    kehu_store_close(*st);
    return kehu_admin_fail(err.status, "%s", err.message);
  }
  return 0;
}

int kehu_admin_read_password(const char *prompt, char *out, size_t len)
{
  int tty = isatty(STDIN_FILENO);
  struct termios old, quiet;
  if (tty) {
    fprintf(stderr, "%s", prompt);
    tcgetattr(STDIN_FILENO, &old);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  char *got = fgets(out, (int)len, stdin);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    fputc('\n', stderr);
  }
  if (!got)
    return kehu_admin_fail(KEHU_USAGE, "no password given on stdin");
  out[strcspn(out, "\r\n")] = '\0';
  if (strlen(out) < 8)
    return kehu_admin_fail(KEHU_INVALID, "password: at least 8 characters are needed");
  return 0;
}

/* Argon2id at the cost OWASP recommends (19 MiB, 2 passes): ~20-30 ms. */
#define ARGON2_T 2
#define ARGON2_M 19456
#define ARGON2_P 1

int kehu_admin_hash_password(const char *password, char *out, size_t len)
{
  kehu_rng rng;
  unsigned char salt[16];
  if (kehu_rng_init(&rng, "kehu-admin") != 0 || kehu_rng_bytes(&rng, salt, sizeof salt) != 0)
    return -1;
  kehu_rng_free(&rng);
  return argon2id_hash_encoded(ARGON2_T, ARGON2_M, ARGON2_P, password, strlen(password), salt,
                               sizeof salt, 32, out, len) == ARGON2_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(usage_text, argc < 2 ? stderr : stdout);
    return argc < 2 ? KEHU_USAGE : 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    puts("kehu-admin 0.1.0");
    return 0;
  }
  static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
  } commands[] = {
    {"init", kehu_admin_init}, {"user", kehu_admin_user},
    {"seed", kehu_admin_seed}, {"verify", kehu_admin_verify}, {"audit", kehu_admin_audit},
    {"backup", kehu_admin_backup}, {"restore", kehu_admin_restore},
    {"stats", kehu_admin_stats}, {"reindex", kehu_admin_reindex}, {"cert", kehu_admin_cert},
    {"compact", kehu_admin_compact}, {"rotate-key", kehu_admin_rotate_key},
  };
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(argv[1], commands[i].name) == 0)
      return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "kehu-admin: unknown command '%s'\n%s", argv[1], usage_text);
  return KEHU_USAGE;
}
