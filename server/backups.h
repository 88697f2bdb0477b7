/* Scheduled backups ([backup] in kehud.conf; backups.c). */
#ifndef KEHU_BACKUPS_H
#define KEHU_BACKUPS_H

#include "server.h"

/* Arms the timer for the next scheduled backup (none without [backup] dir). */
void kehu_backups_start(kehu_server *srv);
/* After a reload: the timer armed again for the schedule now configured
 * (stopped when [backup] dir is unset). */
void kehu_backups_rearm(kehu_server *srv);
/* Stops the timer, and a backup running (its partial directory stays). */
void kehu_backups_stop(kehu_server *srv);

#endif
