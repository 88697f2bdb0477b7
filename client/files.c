#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "i18n.h"

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

int kehu_file_open_to_send(const char *path, size_t chunk, int flags, kehu_send_file *s,
                           kehu_error *err)
{
  struct stat st;
  memset(s, 0, sizeof *s);
  s->fd = -1;
  s->name = path;
  s->size = -1;
  s->chunk = chunk;
  if ((flags & KEHU_SEND_STREAMS) && strcmp(path, "-") == 0) {
    s->fd = STDIN_FILENO;
    s->from_stdin = 1;
    s->name = "standard input";
  } else if ((s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
    /* O_NONBLOCK: a FIFO that is not to be read is refused at once, not
     * after a writer came */
    return kehu_fail_errno(err, KEHU_INTERNAL, "file", errno, "cannot open %s", path);
  } else {
    s->own_fd = 1;
  }
  if (fstat(s->fd, &st) != 0)
    return kehu_fail_errno(err, KEHU_INTERNAL, "file", errno, "cannot read %s", s->name);
  if (s->own_fd && S_ISFIFO(st.st_mode) && (flags & KEHU_SEND_STREAMS)) {
    /* a FIFO's end comes when its writer closes it: wait for the writer */
    close(s->fd);
    if ((s->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
      return kehu_fail_errno(err, KEHU_INTERNAL, "file", errno, "cannot open %s", path);
  } else if (s->own_fd) {
    int fl = fcntl(s->fd, F_GETFL);
    if (fl < 0 || fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
      return kehu_fail_errno(err, KEHU_INTERNAL, "file", errno, "cannot read %s", s->name);
  }
  if (S_ISREG(st.st_mode)) {
    /* standard input may have been read from already: what is left */
    off_t at = s->from_stdin ? lseek(s->fd, 0, SEEK_CUR) : 0;
    if (at >= 0)
      s->size = (long long)(st.st_size - at);
    else
      s->stream = 1;
  } else if ((flags & KEHU_SEND_STREAMS) &&
             (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode))) {
    s->stream = 1;
  } else {
    return flags & KEHU_SEND_STREAMS
               ? kehu_fail_tr(err, KEHU_INVALID, "file", "%s is not a regular file or a pipe",
                              s->name)
               : kehu_fail_tr(err, KEHU_INVALID, "file", "%s is not a regular file", s->name);
  }
  if (!(s->buf = malloc(chunk ? chunk : 1)))
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
  return KEHU_OK;
}

/* One read(2) into the free end of s->buf: 1 when bytes came, 0 at the
 * end, -1 on an error (in err). */
static int read_some(kehu_send_file *s, size_t max, kehu_error *err)
{
  for (;;) {
    ssize_t r = read(s->fd, s->buf + s->fill, max - s->fill);
    if (r > 0) {
      s->fill += (size_t)r;
      return 1;
    }
    if (r == 0) {
      s->eof = 1;
      return 0;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {   /* a non-blocking descriptor */
      struct pollfd p = {.fd = s->fd, .events = POLLIN};
      if (poll(&p, 1, -1) >= 0 || errno == EINTR)
        continue;
    }
    kehu_fail_errno(err, KEHU_INTERNAL, "file", errno, "cannot read %s", s->name);
    return -1;
  }
}

/* 1 when fd has input (or its end) ready now. */
static int ready_now(int fd)
{
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r;
  do
    r = poll(&p, 1, 0);
  while (r < 0 && errno == EINTR);
  return r > 0;
}

int kehu_send_next(kehu_send_file *s, size_t at_least, int wake_fd, size_t *len, int *last,
                   int *woken, kehu_error *err)
{
  *len = 0;
  *last = 0;
  if (woken)
    *woken = 0;
  if (!s->stream) {
    long long left = s->size - s->taken;
    size_t want = left < (long long)s->chunk ? (size_t)left : s->chunk;
    while (s->fill < want && !s->eof)
      if (read_some(s, want, err) < 0)
        return err->status;
    *len = s->fill;
    s->taken += (long long)s->fill;
    s->fill = 0;
    *last = s->eof || s->taken >= s->size;
    return KEHU_OK;
  }
  if (at_least < 1)
    at_least = 1;
  if (at_least > s->chunk)
    at_least = s->chunk;
  /* wait for at_least bytes or the end, watching wake_fd meanwhile */
  while (s->fill < at_least && !s->eof) {
    if (wake_fd >= 0) {
      struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
      int r = poll(p, 2, -1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return kehu_fail_errno(err, KEHU_INTERNAL, "file", errno, "cannot wait for %s", s->name);
      if (!p[0].revents && p[1].revents) {
        if (woken)
          *woken = 1;
        return KEHU_OK;
      }
    }
    if (read_some(s, s->chunk, err) < 0)
      return err->status;
  }
  /* then what more is there already, without waiting for it */
  while (s->fill < s->chunk && !s->eof && ready_now(s->fd))
    if (read_some(s, s->chunk, err) < 0)
      return err->status;
  *len = s->fill;
  s->taken += (long long)s->fill;
  s->fill = 0;
  *last = s->eof;
  return KEHU_OK;
}

int kehu_send_rewind(kehu_send_file *s, kehu_error *err)
{
  if (s->stream || s->from_stdin || lseek(s->fd, 0, SEEK_SET) != 0)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "cannot read %s again from its start", s->name);
  s->taken = 0;
  s->fill = 0;
  s->eof = 0;
  return KEHU_OK;
}

void kehu_send_close(kehu_send_file *s)
{
  if (s->own_fd && s->fd >= 0)
    close(s->fd);
  free(s->buf);
  memset(s, 0, sizeof *s);
  s->fd = -1;
}
