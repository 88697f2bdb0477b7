/* What every part of the server shares besides the state in server.h: the
 * server's clock and giving memory back after a burst. Nothing here calls
 * up into the rooms that use it. */
#include <malloc.h>
#include <time.h>

#include "server.h"

int64_t kehu_now(const kehu_server *srv)
{
  return (int64_t)time(NULL) + srv->cfg.clock_offset_s;
}

int64_t kehu_now_ms(const kehu_server *srv)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ((int64_t)ts.tv_sec + srv->cfg.clock_offset_s) * 1000 + ts.tv_nsec / 1000000;
}

static void trim_now(uv_timer_t *timer)
{
  kehu_server *srv = timer->data;
  srv->trim_armed = 0;
  malloc_trim(0);
}

void kehu_server_release_memory(kehu_server *srv)
{
  /* Many bursts ending together give their memory back in one go. */
  if (srv->trim_armed || srv->stopping)
    return;
  srv->trim_armed = 1;
  uv_timer_start(&srv->trim_timer, trim_now, 100, 0);
}
