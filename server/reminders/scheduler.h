/* The reminder scheduler: one libuv timer armed for the earliest due time
 * in the due index; when it fires, the writer takes the due reminders out
 * of the index and the loop pushes them to every watching connection of
 * their recipients. */
#ifndef KEHU_SCHEDULER_H
#define KEHU_SCHEDULER_H

#include "server.h"

void kehu_scheduler_start(kehu_server *srv);
/* After commits: re-arm when the due index changed. */
void kehu_scheduler_poke(kehu_server *srv);
void kehu_scheduler_stop(kehu_server *srv);
/* Pushes one reminder to the watching connections of its user (only to
 * `only` when it is not NULL); returns how many got it. */
unsigned kehu_scheduler_push(kehu_server *srv, const Kehu__Reminder *r, kehu_conn *only);
/* Marks reminders delivered (pending -> delivered) in a write of its own. */
void kehu_scheduler_mark_delivered(kehu_server *srv, const uint64_t *seqs, size_t n);

#endif
