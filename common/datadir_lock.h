/* The lock a running kehud holds on its data directory (DATADIR/kehud.lock,
 * flock), so that a second kehud, or a restore, does not write under it
 * (docs/operations.md). The file holds the holder's process id. */
#ifndef KEHU_DATADIR_LOCK_H
#define KEHU_DATADIR_LOCK_H

/* Takes the lock for as long as *fd stays open (closed at exit, so a
 * killed kehud leaves no stale lock) and writes our pid into the file.
 * 0, or -1 when another process holds it (*holder: its pid, 0 if unknown)
 * or the file cannot be opened (*holder = -1, errno set). */
int kehu_datadir_lock(const char *data_dir, int *fd, long *holder);

/* Whether some process holds the lock now, without taking it for long:
 * 1 (with *holder its pid, 0 if unknown), 0 when none does. */
int kehu_datadir_locked(const char *data_dir, long *holder);

#endif
