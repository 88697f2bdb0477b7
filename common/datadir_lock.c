#include "datadir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static long read_pid(int fd)
{
  char buf[32] = {0};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? strtol(buf, NULL, 10) : 0;
}

int kehu_datadir_lock(const char *data_dir, int *fd, long *holder)
{
  char path[4096];
  *fd = -1;
  *holder = -1;
  if (snprintf(path, sizeof path, "%s/kehud.lock", data_dir) >= (int)sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (f < 0)
    return -1;
  if (flock(f, LOCK_EX | LOCK_NB) != 0) {
    *holder = errno == EWOULDBLOCK ? read_pid(f) : -1;
    close(f);
    return -1;
  }
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(f, 0) != 0 || pwrite(f, pid, (size_t)n, 0) != n) {
    close(f);
    return -1;
  }
  *fd = f;
  *holder = 0;
  return 0;
}

int kehu_datadir_locked(const char *data_dir, long *holder)
{
  char path[4096];
  *holder = 0;
  if (snprintf(path, sizeof path, "%s/kehud.lock", data_dir) >= (int)sizeof path)
    return 0;
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0)
    return 0;   /* no lock file: no kehud ever ran here */
  int held = 0;
  if (flock(f, LOCK_SH | LOCK_NB) != 0) {
    held = errno == EWOULDBLOCK;
    if (held)
      *holder = read_pid(f);
  }
  close(f);   /* also lets go of the shared lock taken to look */
  return held;
}
