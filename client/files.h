/* The client's own directory ($XDG_CONFIG_HOME/kehu, default ~/.config/kehu)
 * and the private files in it, which several kehu processes may read and
 * replace at the same time. */
#ifndef KEHU_CLIENT_FILES_H
#define KEHU_CLIENT_FILES_H

#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include "status.h"

/* DIR/name into out. 0, or -1 when no directory can be found (neither
 * XDG_CONFIG_HOME nor HOME nor a passwd entry) or the path is too long. */
int kehu_client_path(const char *name, char *out, size_t size);

/* The whole file, NUL-terminated, malloc'd; NULL when it cannot be read or
 * is larger than max bytes. *len (if not NULL) gets its size. */
char *kehu_file_read(const char *path, size_t max, size_t *len);

/* Replaces path with data: a temporary file (mode 0600) in the same
 * directory, then rename, so readers see the old file or the new one and
 * never a mix. Creates missing directories with mode 0700. 0 or -1. */
int kehu_file_write_private(const char *path, const void *data, size_t len);

/* A file to send in chunks (attach add, import customers). A regular file
 * has a size when opened and gives whole chunks; a stream (a pipe, a FIFO,
 * a terminal: standard input with "-", or a FIFO by its path) has no size
 * and gives, chunk by chunk, what it has when asked. */
typedef struct {
  int fd;
  int own_fd;           /* opened here; kehu_send_close closes it */
  int from_stdin;       /* "-": it cannot be opened again to read twice */
  int stream;           /* read as it comes (size -1) */
  int eof;
  const char *name;     /* the path, or "standard input", for messages */
  long long size;       /* a regular file's bytes from where reading starts; -1 */
  long long taken;      /* bytes handed out so far */
  unsigned char *buf;   /* chunk bytes; a chunk is handed out here */
  size_t chunk;
  size_t fill;          /* bytes in buf read and not yet handed out */
} kehu_send_file;

/* kehu_file_open_to_send flags: "-" is standard input, and a stream is
 * read as it comes (without it, only a regular file is accepted). */
#define KEHU_SEND_STREAMS 1

/* Opens path to send it in chunks of at most chunk bytes, the one way the
 * client does (attach add: regular files only; import customers: flags
 * KEHU_SEND_STREAMS). KEHU_OK with *s set up (kehu_send_close frees it
 * in every case), or an error naming the file. */
int kehu_file_open_to_send(const char *path, size_t chunk, int flags, kehu_send_file *s,
                           kehu_error *err);

/* The next chunk: *len bytes at s->buf, *last set when the file ends with
 * them (then *len may be 0). A regular file gives chunk bytes, or what is
 * left of its size. A stream is read with read(2): this waits, without a
 * limit, until it has given at_least bytes (at least 1) or ended, then
 * takes only what more it has ready at once, up to chunk bytes, so each
 * chunk goes out as soon as the writer has written it. When wake_fd >= 0
 * becomes readable or hangs up while a stream has nothing, *woken is set
 * and *len is 0 (what was read is kept for the next call): the caller
 * looks at wake_fd and calls again. */
int kehu_send_next(kehu_send_file *s, size_t at_least, int wake_fd, size_t *len, int *last,
                   int *woken, kehu_error *err);

/* Back to the start of a regular file opened by its path (attach add
 * hashes it before sending). */
int kehu_send_rewind(kehu_send_file *s, kehu_error *err);

void kehu_send_close(kehu_send_file *s);

#endif
