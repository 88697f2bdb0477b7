/* One status enum for wire, server and command-line exit codes (docs/protocol.md#status-codes). */
#ifndef KEHU_STATUS_H
#define KEHU_STATUS_H

#include <stdarg.h>

typedef enum {
  KEHU_OK = 0,
  KEHU_INTERNAL = 1,            /* other failure: internal error, I/O */
  KEHU_USAGE = 2,               /* command line only */
  KEHU_UNAUTHENTICATED = 3,
  KEHU_PERMISSION_DENIED = 4,
  KEHU_NOT_FOUND = 5,
  KEHU_CONFLICT = 6,
  KEHU_INVALID = 7,
  KEHU_UNAVAILABLE = 8,         /* cannot connect, TLS verification failed */
  KEHU_EXHAUSTED = 9,           /* a limit was reached */
} kehu_status;

/* "NOT_FOUND", "INVALID_ARGUMENT", ... as in the wire enum. */
const char *kehu_status_name(int status);

/* An error a function hands back to its caller: a status, the field it is
 * about (may be empty) and a message saying what the user can do. */
typedef struct {
  int status;
  char field[48];
  char existing_id[32];
  char message[320];
} kehu_error;

/* Sets err (if not NULL) and returns status, so callers can write
 * `return kehu_fail(err, KEHU_INVALID, "name", "name is required");` */
int kehu_fail(kehu_error *err, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void kehu_error_clear(kehu_error *err);

/* An invariant the code relies on. When it does not hold the program stops
 * at once, saying what and where, in every build: a store that went on
 * writing past a broken invariant could lose data. */
#define kehu_assert(cond) \
  ((cond) ? (void)0 : kehu_assert_failed(#cond, __FILE__, __LINE__, __func__))
_Noreturn void kehu_assert_failed(const char *what, const char *file, int line, const char *func);

#endif
