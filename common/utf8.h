/* UTF-8: the one strict decoder both sides use, and the escape that keeps
 * every string the server sends valid UTF-8 (README: Protocol). */
#ifndef KEHU_UTF8_H
#define KEHU_UTF8_H

#include <stddef.h>

/* Number of characters (code points) of valid UTF-8, or -1 if invalid.
 * Strict: no overlong forms, no surrogates, nothing past U+10FFFF. */
long kehu_utf8_chars(const char *s, size_t len);

/* The NUL-terminated s with every byte that is not part of valid UTF-8
 * written as the four characters \xNN, in a new string the caller frees
 * (NULL when out of memory). Valid input comes back unchanged. */
char *kehu_utf8_escape(const char *s);

#endif
