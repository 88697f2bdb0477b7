/* Validation of docs/architecture.md#validation, shared by the client (early feedback) and the
 * server (enforcement). Every failure names the field and the rule. */
#ifndef KEHU_VALIDATE_H
#define KEHU_VALIDATE_H

#include <stddef.h>

#include "kehu.pb-c.h"
#include "status.h"
#include "utf8.h"   /* kehu_utf8_chars */

#define KEHU_MAX_NAME_CHARS 200
#define KEHU_MAX_TEXT_CHARS 10000
#define KEHU_MAX_SHORT_CHARS 200
#define KEHU_MAX_TAGS 64


/* A one-line name: valid UTF-8, no control characters, not empty after
 * trimming, at most max_chars. Trims value in place. */
int kehu_check_name(const char *field, char *value, size_t max_chars, kehu_error *err);
/* Free text: valid UTF-8, at most max_chars, no control characters other
 * than newline and tab. */
int kehu_check_text(const char *field, const char *value, size_t max_chars, kehu_error *err);

/* Canonical stage for English or Chinese input (潜在/意向/成交/流失), or NULL. */
const char *kehu_stage_canonical(const char *s);
/* "company" / "individual" (also 企业/公司/个人), or NULL. */
const char *kehu_kind_canonical(const char *s);
/* A value tier of docs/architecture.md#reports: high, potential, churn_risk, normal (also
 * 高价值/潜力/流失风险/普通), or NULL. */
const char *kehu_tier_canonical(const char *s);
/* A username: 1..64 of [A-Za-z0-9._-]. */
int kehu_check_username(const char *field, const char *value, kehu_error *err);

/* Checks the customer fields that are set (strings non-NULL) and trims
 * one-line fields in place. Stage and kind are checked, not rewritten: map
 * them with kehu_stage_canonical / kehu_kind_canonical when storing.
 * creating: name is required. */
int kehu_check_customer(Kehu__Customer *c, int creating, kehu_error *err);

#endif

#ifndef KEHU_VALIDATE_CONTACT_H
#define KEHU_VALIDATE_CONTACT_H
/* A phone number as people type it (docs/architecture.md#validation): mobile 1[3-9]+9 digits
 * (spaces, dashes, leading +86 allowed), landline area code + number, or
 * E.164 +CC.... Writes the normalised form (13856781234, 010-12345678,
 * +4930123456) to out (>= 32 bytes). */
int kehu_check_phone(const char *field, const char *value, char *out, kehu_error *err);
int kehu_check_email(const char *field, const char *value, kehu_error *err);
#endif
