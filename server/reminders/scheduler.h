/* The reminder scheduler: one libuv timer armed for the earliest due time
 * in the due index; when it fires, the writer takes the due reminders out
 * of the index and the loop pushes them to every watching session of
 * their recipients. */
#ifndef KEHU_SCHEDULER_H
#define KEHU_SCHEDULER_H

#include "server.h"

void kehu_scheduler_start(kehu_server *srv);
/* After commits: re-arm for the earliest due time. */
void kehu_scheduler_poke(kehu_server *srv);
void kehu_scheduler_stop(kehu_server *srv);
/* Pushes one reminder to the watching sessions of its user (only to
 * `only` when it is not NULL); returns how many got it. */
unsigned kehu_scheduler_push(kehu_server *srv, const Kehu__Reminder *r, kehu_session *only);
/* Pushes an event to the watching sessions of user (only to `only` when
 * not NULL); returns how many got it. Sent at the next flush. */
unsigned kehu_push_event(kehu_server *srv, const char *user, const Kehu__Event *ev,
                         kehu_session *only);
/* "a customer assigned to you", "a ticket assigned to you" (docs/protocol.md#pushed-events). */
void kehu_push_assigned(kehu_server *srv, const char *user, const char *kind, const char *id,
                        const char *what);
/* Marks reminders delivered (pending -> delivered) in a write of its own. */
void kehu_scheduler_mark_delivered(kehu_server *srv, const uint64_t *seqs, size_t n);

#endif
