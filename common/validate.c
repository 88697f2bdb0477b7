#include "validate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

/* Control characters: C0, DEL and C1 (U+0080..U+009F, encoded C2 80..C2 9F). */
static int has_control(const char *s, int allow_newline_tab)
{
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p < 0x20 || *p == 0x7F) {
      if (allow_newline_tab && (*p == '\n' || *p == '\t' || *p == '\r'))
        continue;
      return 1;
    }
    if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
      return 1;
  }
  return 0;
}

static void trim_in_place(char *s)
{
  size_t len = strlen(s), start = 0;
  while (start < len && s[start] == ' ')
    start++;
  while (len > start && s[len - 1] == ' ')
    len--;
  memmove(s, s + start, len - start);
  s[len - start] = '\0';
}

int kehu_check_name(const char *field, char *value, size_t max_chars, kehu_error *err)
{
  long n = kehu_utf8_chars(value, strlen(value));
  if (n < 0)
    return kehu_fail(err, KEHU_INVALID, field, "%s: not valid UTF-8", field);
  if (has_control(value, 0))
    return kehu_fail(err, KEHU_INVALID, field,
                     "%s: must be one line without control characters (tab, newline)", field);
  trim_in_place(value);
  if (*value == '\0')
    return kehu_fail(err, KEHU_INVALID, field, "%s: must not be empty", field);
  n = kehu_utf8_chars(value, strlen(value));
  if ((size_t)n > max_chars)
    return kehu_fail(err, KEHU_INVALID, field, "%s: %ld characters, at most %zu allowed", field,
                     n, max_chars);
  return KEHU_OK;
}

int kehu_check_text(const char *field, const char *value, size_t max_chars, kehu_error *err)
{
  long n = kehu_utf8_chars(value, strlen(value));
  if (n < 0)
    return kehu_fail(err, KEHU_INVALID, field, "%s: not valid UTF-8", field);
  if (has_control(value, 1))
    return kehu_fail(err, KEHU_INVALID, field, "%s: control characters are not allowed", field);
  if ((size_t)n > max_chars)
    return kehu_fail(err, KEHU_INVALID, field, "%s: %ld characters, at most %zu allowed", field,
                     n, max_chars);
  return KEHU_OK;
}

typedef struct {
  const char *canonical;
  const char *aliases[3];
} alias_entry;

static const char *lookup(const alias_entry *table, size_t n, const char *s)
{
  if (!s)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(s, table[i].canonical) == 0)
      return table[i].canonical;
    for (size_t j = 0; j < 3 && table[i].aliases[j]; j++)
      if (strcmp(s, table[i].aliases[j]) == 0)
        return table[i].canonical;
  }
  return NULL;
}

static const alias_entry stages[] = {
  {"potential", {"潜在"}},
  {"intent", {"意向"}},
  {"closed", {"成交"}},
  {"lost", {"流失"}},
};

static const alias_entry kinds[] = {
  {"company", {"企业", "公司"}},
  {"individual", {"个人"}},
};

const char *kehu_stage_canonical(const char *s)
{
  return lookup(stages, sizeof stages / sizeof *stages, s);
}

const char *kehu_kind_canonical(const char *s)
{
  return lookup(kinds, sizeof kinds / sizeof *kinds, s);
}

static const alias_entry tiers[] = {
  {"high", {"高价值"}},
  {"potential", {"潜力"}},
  {"churn_risk", {"流失风险"}},
  {"normal", {"普通"}},
};

const char *kehu_tier_canonical(const char *s)
{
  return lookup(tiers, sizeof tiers / sizeof *tiers, s);
}

int kehu_check_username(const char *field, const char *value, kehu_error *err)
{
  size_t n = strlen(value);
  if (n == 0 || n > 64)
    return kehu_fail(err, KEHU_INVALID, field, "%s: a username has 1 to 64 characters", field);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)value[i];
    if (!isalnum(c) && c != '.' && c != '_' && c != '-')
      return kehu_fail(err, KEHU_INVALID, field,
                       "%s: a username uses only letters, digits, '.', '_' and '-'", field);
  }
  return KEHU_OK;
}

/* One-line optional fields of a customer, by name; an empty string clears. */
typedef struct {
  const char *field;
  size_t offset;
  size_t max_chars;
} line_field;

#define LINE(f, max) {#f, offsetof(Kehu__Customer, f), max}
static const line_field customer_lines[] = {
  LINE(short_name, KEHU_MAX_SHORT_CHARS), LINE(industry, 100), LINE(size, 50),
  LINE(region, 200), LINE(address, 500), LINE(source, 100), LINE(external_code, 64),
};
#undef LINE

int kehu_check_customer(Kehu__Customer *c, int creating, kehu_error *err)
{
  int rc;
  if (c->name) {
    if ((rc = kehu_check_name("name", c->name, KEHU_MAX_NAME_CHARS, err)) != KEHU_OK)
      return rc;
  } else if (creating) {
    return kehu_fail(err, KEHU_INVALID, "name", "name: is required");
  }
  for (size_t i = 0; i < sizeof customer_lines / sizeof *customer_lines; i++) {
    char *v = *(char **)((char *)c + customer_lines[i].offset);
    if (v && *v &&
        (rc = kehu_check_name(customer_lines[i].field, v, customer_lines[i].max_chars, err)) !=
            KEHU_OK)
      return rc;
  }
  if (c->kind && !kehu_kind_canonical(c->kind))
    return kehu_fail(err, KEHU_INVALID, "kind", "kind: '%s' is not one of company, individual",
                     c->kind);
  if (c->stage && !kehu_stage_canonical(c->stage))
    return kehu_fail(err, KEHU_INVALID, "stage",
                     "stage: '%s' is not one of potential, intent, closed, lost "
                     "(潜在, 意向, 成交, 流失)", c->stage);
  if (c->owner && (rc = kehu_check_username("owner", c->owner, err)) != KEHU_OK)
    return rc;
  if (c->notes && (rc = kehu_check_text("notes", c->notes, KEHU_MAX_TEXT_CHARS, err)) != KEHU_OK)
    return rc;
  int y, m, d;
  if (c->first_contact_at && *c->first_contact_at &&
      kehu_date_parse(c->first_contact_at, &y, &m, &d) != 0)
    return kehu_fail(err, KEHU_INVALID, "first_contact_at",
                     "first_contact_at: '%s' is not a date YYYY-MM-DD", c->first_contact_at);
  if (c->n_tags > KEHU_MAX_TAGS)
    return kehu_fail(err, KEHU_INVALID, "tags", "tags: at most %d tags", KEHU_MAX_TAGS);
  for (size_t i = 0; i < c->n_tags; i++) {
    if ((rc = kehu_check_name("tag", c->tags[i], 64, err)) != KEHU_OK)
      return rc;
    /* exports join tags with ';' and imports split on these: a tag holding
     * one would come back as two (docs/architecture.md#import) */
    static const char *const separators[] = {",", "，", ";", "；", "、"};
    for (size_t s = 0; s < sizeof separators / sizeof *separators; s++)
      if (strstr(c->tags[i], separators[s]))
        return kehu_fail(err, KEHU_INVALID, "tags",
                         "tags: '%s' holds '%s', which separates tags in exports and imports; "
                         "give each tag on its own",
                         c->tags[i], separators[s]);
  }
  for (size_t i = 0; i < c->n_fields; i++) {
    if ((rc = kehu_check_name("field", c->fields[i]->key, 64, err)) != KEHU_OK ||
        (rc = kehu_check_text(c->fields[i]->key, c->fields[i]->value, KEHU_MAX_TEXT_CHARS,
                              err)) != KEHU_OK)
      return rc;
  }
  return KEHU_OK;
}

/* ---- phones and emails ---- */

int kehu_check_phone(const char *field, const char *value, char *out, kehu_error *err)
{
  char digits[24];
  size_t n = 0, sep_at = 0;
  int plus = 0;
  for (const char *p = value; *p; p++) {
    if (*p == '+' && p == value) {
      plus = 1;
    } else if (*p >= '0' && *p <= '9') {
      if (n + 1 >= sizeof digits)
        goto bad;
      digits[n++] = *p;
    } else if (*p == ' ' || *p == '-') {
      if (!sep_at && n > 0)
        sep_at = n;   /* where a landline's area code ends, if typed */
    } else {
      goto bad;
    }
  }
  digits[n] = '\0';
  char *d = digits;
  if (plus && n > 2 && d[0] == '8' && d[1] == '6') {
    /* +86: a national number follows; a landline has lost its trunk 0. */
    d += 2;
    n -= 2;
    plus = 0;
    sep_at = 0;
    if (d[0] != '0' && !(n == 11 && d[0] == '1')) {
      *--d = '0';
      n++;
    }
  }
  if (plus) {
    if (n < 8 || n > 15 || d[0] == '0')
      goto bad;
    snprintf(out, 32, "+%.20s", d);
    return KEHU_OK;
  }
  if (n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9') {
    snprintf(out, 32, "%.20s", d);
    return KEHU_OK;
  }
  if (d[0] == '0' && n >= 10 && n <= 12) {
    /* Area codes: 010 and 02x have three digits, the rest four. */
    size_t area = (d[1] == '1' || d[1] == '2') ? 3 : 4;
    if (sep_at == 3 || sep_at == 4)
      area = sep_at;
    size_t local = n - area;
    if (local < 7 || local > 8)
      goto bad;
    snprintf(out, 32, "%.*s-%.20s", (int)area, d, d + area);
    return KEHU_OK;
  }
bad:
  return kehu_fail(err, KEHU_INVALID, field,
                   "%s: '%s' is not a phone number: use a mobile (13856781234), a landline "
                   "with area code (010-12345678) or an international number (+4930123456)",
                   field, value);
}

static int valid_label(const char *p, size_t n)
{
  if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)p[i]) && p[i] != '-' && (unsigned char)p[i] < 0x80)
      return 0;
  return 1;
}

int kehu_check_email(const char *field, const char *value, kehu_error *err)
{
  const char *at = strchr(value, '@');
  int ok = at && at != value && !strchr(at + 1, '@') && strlen(value) <= 254 &&
           kehu_utf8_chars(value, strlen(value)) >= 0;
  for (const unsigned char *p = (const unsigned char *)value; ok && *p; p++)
    if (*p <= 0x20 || *p == 0x7F)
      ok = 0;
  if (ok) {
    const char *domain = at + 1;
    int labels = 0;
    for (const char *p = domain;; labels++) {
      const char *dot = strchr(p, '.');
      size_t n = dot ? (size_t)(dot - p) : strlen(p);
      if (!valid_label(p, n)) {
        ok = 0;
        break;
      }
      if (!dot)
        break;
      p = dot + 1;
    }
    ok = ok && labels >= 1;
  }
  if (ok)
    return KEHU_OK;
  return kehu_fail(err, KEHU_INVALID, field,
                   "%s: '%s' is not an email address (name@example.com)", field, value);
}
