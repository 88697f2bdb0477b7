#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *home_dir(void)
{
  const char *home = getenv("HOME");
  if (home && home[0])
    return home;
  struct passwd *pw = getpwuid(getuid());
  return pw && pw->pw_dir && pw->pw_dir[0] ? pw->pw_dir : NULL;
}

int kehu_client_path(const char *name, char *out, size_t size)
{
  const char *xdg = getenv("XDG_CONFIG_HOME");
  int n;
  /* The XDG base directory spec says a relative value is to be ignored. */
  if (xdg && xdg[0] == '/') {
    n = snprintf(out, size, "%s/kehu/%s", xdg, name);
  } else {
    const char *home = home_dir();
    if (!home)
      return -1;
    n = snprintf(out, size, "%s/.config/kehu/%s", home, name);
  }
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

char *kehu_file_read(const char *path, size_t max, size_t *len)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  struct stat st;
  char *data = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max)
    goto fail;
  size_t size = (size_t)st.st_size;
  data = malloc(size + 1);
  if (!data)
    goto fail;
  size_t got = 0;
  while (got < size) {
    ssize_t r = read(fd, data + got, size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;   /* shrank while reading: take what is there */
    got += (size_t)r;
  }
  close(fd);
  data[got] = '\0';
  if (len)
    *len = got;
  return data;
fail:
  free(data);
  close(fd);
  return NULL;
}

/* mkdir -p for the directories above path, each new one mode 0700. */
static int make_parent_dirs(const char *path)
{
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
    return -1;
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir)
    return 0;
  *slash = '\0';
  struct stat st;
  if (stat(dir, &st) == 0)
    return S_ISDIR(st.st_mode) ? 0 : -1;
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

int kehu_file_write_private(const char *path, const void *data, size_t len)
{
  if (make_parent_dirs(path) != 0)
    return -1;
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
    return -1;
  int fd = mkostemp(tmp, O_CLOEXEC);   /* creates the file with mode 0600 */
  if (fd < 0)
    return -1;
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      goto fail;
    p += w;
    left -= (size_t)w;
  }
  int ok = fchmod(fd, 0600) == 0;
  ok = close(fd) == 0 && ok;
  fd = -1;
  if (!ok || rename(tmp, path) != 0)
    goto fail;
  return 0;
fail:
  if (fd >= 0)
    close(fd);
  unlink(tmp);
  return -1;
}

int kehu_file_open_to_send(const char *path, size_t chunk, FILE **f, struct stat *st,
                           unsigned char **buf, kehu_error *err)
{
  if (!(*f = fopen(path, "rb")) || fstat(fileno(*f), st) != 0)
    return kehu_fail(err, KEHU_INTERNAL, "file", "cannot open %s: %s", path, strerror(errno));
  if (!S_ISREG(st->st_mode))
    return kehu_fail(err, KEHU_INVALID, "file", "%s is not a regular file", path);
  if (!(*buf = malloc(chunk)))
    return kehu_fail(err, KEHU_INTERNAL, NULL, "out of memory");
  return KEHU_OK;
}
