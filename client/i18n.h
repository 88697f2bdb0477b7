/* The client's human messages in the user's language (gettext, text
 * domain "kehu"; the catalogues are built from po/ at build time, see
 * docs/architecture.md#the-clients-language). Only LC_MESSAGES and
 * LC_CTYPE follow the environment: numbers, dates and sorting stay as in
 * the "C" locale, so JSON and CSV are the same in every language.
 *
 * What scripts read never changes with the language: --json output (an
 * error's code and message included), exit codes, field names, export
 * headers. An error therefore keeps its English message in err->message
 * and, when the client made it, the same message in the user's language
 * beside it (kehu_fail_tr and friends); kehu_error_human gives the text a
 * person sees. */
#ifndef KEHU_CLIENT_I18N_H
#define KEHU_CLIENT_I18N_H

#include <libintl.h>
#include <stddef.h>

#include "status.h"

#define _(s) gettext(s)
/* Marks a string for the catalogue without translating it here (tables
 * translated where they are printed). Expands to the literal itself, so it
 * may initialise a char array. */
#define N_(s) s
/* The same with a context that tells equal English words apart
 * (translated with kehu_pgettext). */
#define NC_(ctx, s) s

/* setlocale(LC_ALL, "") with LC_NUMERIC, LC_TIME, LC_COLLATE and
 * LC_MONETARY back at "C", and the text domain "kehu" bound to the first
 * of: $KEHU_LOCALEDIR; <the executable's directory>/locale (the build
 * tree); the install's share/locale relative to the executable's bin
 * directory; the compiled-in install directory. Call it first in main. */
void kehu_i18n_init(void);

/* gettext with a context (msgctxt): msgid itself when there is no
 * translation. */
const char *kehu_pgettext(const char *ctx, const char *msgid);

/* strerror in English whatever the locale, for messages that scripts read
 * (err->message); strerror(3) gives the user's language. */
const char *kehu_strerror_en(int errnum);

/* kehu_fail with fmt (an English msgid) formatted twice with the same
 * arguments: into err->message as it is, and translated as the human
 * message. The arguments must not depend on the language. */
int kehu_fail_tr(kehu_error *err, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same for a system error: "<fmt>: <strerror(errnum)>", the reason in
 * English in err->message and in the user's language in the human one. */
int kehu_fail_errno(kehu_error *err, int status, const char *field, int errnum, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));

/* Sets the human message of err's current (English) message; fmt is
 * already translated (_("...")). For messages whose arguments differ
 * between the two languages. */
void kehu_error_set_human(const kehu_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends fmt (an English msgid) to err->message and, translated, to its
 * human message. */
void kehu_error_append_tr(kehu_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What a person sees after "kehu: ": the human message the client made;
 * else, for the server's (English) message about a field, a translated
 * frame naming the field (English prints the message alone); else the
 * message, or the translated status name when that is all there is.
 * Written into buf (size bytes); returns buf. */
const char *kehu_error_human(const kehu_error *err, char *buf, size_t size);

/* The label of a field in the user's language ("phones": 电话), looked up
 * first for the record kind (NULL: none) as "kind.field"; the field's own
 * name when there is no translation (so English output keeps it). */
const char *kehu_field_label(const char *kind, const char *field);

/* A status name (kehu_status_name) in the user's language. */
const char *kehu_status_label(int status);

/* A kind of record (customer, contact, followup, ...) in the user's
 * language; others as they are. */
const char *kehu_kind_label(const char *kind);

/* A customer stage (potential, intent, closed, lost) in the user's
 * language; other values as they are. */
const char *kehu_stage_label(const char *stage);

#endif
