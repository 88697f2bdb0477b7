#include "fsync_path.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int kehu_fsync_path(const char *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}
