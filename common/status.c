#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *kehu_status_name(int status)
{
  switch (status) {
  case KEHU_OK: return "OK";
  case KEHU_INTERNAL: return "INTERNAL";
  case KEHU_USAGE: return "USAGE";
  case KEHU_UNAUTHENTICATED: return "UNAUTHENTICATED";
  case KEHU_PERMISSION_DENIED: return "PERMISSION_DENIED";
  case KEHU_NOT_FOUND: return "NOT_FOUND";
  case KEHU_CONFLICT: return "CONFLICT";
  case KEHU_INVALID: return "INVALID_ARGUMENT";
  case KEHU_UNAVAILABLE: return "UNAVAILABLE";
  case KEHU_EXHAUSTED: return "RESOURCE_EXHAUSTED";
  default: return "INTERNAL";
  }
}

int kehu_fail(kehu_error *err, int status, const char *field, const char *fmt, ...)
{
  if (err) {
    err->status = status;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return status;
}

void kehu_error_clear(kehu_error *err)
{
  memset(err, 0, sizeof *err);
}

void kehu_assert_failed(const char *what, const char *file, int line, const char *func)
{
  fprintf(stderr, "%s:%d: %s: invariant broken: %s\n", file, line, func, what);
  abort();
}
