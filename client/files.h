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

/* A file to send in chunks (attach add, import customers): opened for
 * reading, a regular file, with a buffer of chunk bytes. KEHU_OK with *f,
 * *st and *buf set (the caller closes and frees them), or an error naming
 * the file. */
int kehu_file_open_to_send(const char *path, size_t chunk, FILE **f, struct stat *st,
                           unsigned char **buf, kehu_error *err);

#endif
