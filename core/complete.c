/* Complete records: docs/architecture.md#import. */
#include "complete.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "records.h"

static int empty(const char *s)
{
  return !s || !*s;
}

unsigned kehu_complete_missing(const kehu_config *cfg, const Kehu__Customer *c,
                               const Kehu__Contact *const *contacts, size_t n)
{
  unsigned want = cfg->complete_fields, missing = 0;
  const char *text[KEHU_IMPORT_FIELDS] = {0};
  text[KEHU_IMPORT_NAME] = c->name;
  text[KEHU_IMPORT_EXTERNAL_CODE] = c->external_code;
  text[KEHU_IMPORT_INDUSTRY] = c->industry;
  text[KEHU_IMPORT_SIZE] = c->size;
  text[KEHU_IMPORT_STAGE] = c->stage;
  text[KEHU_IMPORT_SOURCE] = c->source;
  text[KEHU_IMPORT_ADDRESS] = c->address;
  text[KEHU_IMPORT_REGION] = c->region;
  text[KEHU_IMPORT_OWNER] = c->owner;
  text[KEHU_IMPORT_NOTES] = c->notes;
  text[KEHU_IMPORT_FIRST_CONTACT_AT] = c->first_contact_at;
  text[KEHU_IMPORT_SHORT_NAME] = c->short_name;
  text[KEHU_IMPORT_KIND] = c->kind;
  for (int f = 0; f < KEHU_IMPORT_FIELDS; f++) {
    if (!(want & (1u << f)))
      continue;
    int have = 0;
    switch (f) {
    case KEHU_IMPORT_TAGS:
      for (size_t i = 0; i < c->n_tags && !have; i++)
        have = strcmp(c->tags[i], KEHU_INCOMPLETE_TAG) != 0;
      break;
    case KEHU_IMPORT_CONTACT_NAME:
    case KEHU_IMPORT_CONTACT_PHONE:
    case KEHU_IMPORT_CONTACT_TITLE:
    case KEHU_IMPORT_CONTACT_EMAIL:
      for (size_t i = 0; i < n && !have; i++) {
        const Kehu__Contact *p = contacts[i];
        have = f == KEHU_IMPORT_CONTACT_NAME    ? !empty(p->name)
               : f == KEHU_IMPORT_CONTACT_PHONE ? p->n_phones > 0 && !empty(p->phones[0])
               : f == KEHU_IMPORT_CONTACT_TITLE ? !empty(p->title)
                                                : !empty(p->email);
      }
      break;
    default:
      have = !empty(text[f]);
    }
    if (!have)
      missing |= 1u << f;
  }
  return missing;
}

void kehu_complete_fields_text(unsigned mask, char *out, size_t cap)
{
  size_t len = 0;
  out[0] = '\0';
  for (int f = 0; f < KEHU_IMPORT_FIELDS && len < cap; f++)
    if (mask & (1u << f)) {
      int w = snprintf(out + len, cap - len, "%s%s", len ? ", " : "",
                       kehu_import_field_name((kehu_import_field)f));
      if (w < 0)
        return;
      len += (size_t)w;
    }
}

int64_t kehu_working_days_later(int64_t now, unsigned days, unsigned hour)
{
  time_t t = (time_t)now;
  struct tm tm;
  localtime_r(&t, &tm);
  int y = tm.tm_year, m = tm.tm_mon, d = tm.tm_mday, wday = tm.tm_wday;
  while (days > 0) {
    d++;
    wday = (wday + 1) % 7;
    if (wday != 0 && wday != 6)
      days--;
  }
  struct tm due = {.tm_year = y, .tm_mon = m, .tm_mday = d, .tm_hour = (int)hour,
                   .tm_isdst = -1};
  return (int64_t)mktime(&due);
}

int kehu_has_incomplete_tag(const Kehu__Customer *c)
{
  for (size_t i = 0; i < c->n_tags; i++)
    if (strcmp(c->tags[i], KEHU_INCOMPLETE_TAG) == 0)
      return 1;
  return 0;
}

static void source_of(const Kehu__Customer *c, char *out, size_t cap)
{
  snprintf(out, cap, "%s:%s:%s", KEHU_INCOMPLETE_KIND, c->id, c->owner ? c->owner : "");
}

int kehu_complete_remind(kehu_rule_ctx *rc, const Kehu__Customer *c, unsigned mask)
{
  if (empty(c->owner))
    return KEHU_OK;
  char source[256], fields[512], message[1024];
  source_of(c, source, sizeof source);
  kehu_complete_fields_text(mask, fields, sizeof fields);
  snprintf(message, sizeof message, "客户 %s（%s）资料待补充：%s", c->name, c->id, fields);
  int64_t due = kehu_working_days_later(rc->now, KEHU_INCOMPLETE_WORKING_DAYS,
                                        rc->cfg->remind_hour);
  return kehu_rules_raise(rc, source, c->owner, due, KEHU_INCOMPLETE_KIND, c->id, c->id,
                          message);
}

#define MAX_CONTACTS 256

typedef struct {
  Kehu__Contact *items[MAX_CONTACTS + 1];
  size_t n;
} contact_set;

static int keep_contact(ProtobufCMessage *m, uint64_t cust, void *arg)
{
  (void)cust;
  contact_set *s = arg;
  s->items[s->n++] = (Kehu__Contact *)m;
  return 1;
}

int kehu_complete_settle(kehu_rule_ctx *rc, uint64_t key, const Kehu__Customer *c,
                         const Kehu__Contact *extra, int *untag)
{
  *untag = 0;
  if (!kehu_has_incomplete_tag(c))
    return KEHU_OK;
  contact_set *s = calloc(1, sizeof *s);
  if (!s)
    return KEHU_EXHAUSTED;
  uint64_t next = 0;
  int st = kehu_store_child_list(rc->t, kehu_kind_get(KEHU_KIND_CONTACT), key, 0, MAX_CONTACTS,
                                 keep_contact, s, &next);
  size_t n = s->n;
  if (extra)
    s->items[n++] = (Kehu__Contact *)extra;
  unsigned missing = st == KEHU_OK
                         ? kehu_complete_missing(rc->cfg, c, (const Kehu__Contact *const *)s->items, n)
                         : 1;
  for (size_t i = 0; i < s->n; i++)
    kehu__contact__free_unpacked(s->items[i], NULL);
  free(s);
  if (st != KEHU_OK || missing)
    return st;
  char source[256];
  source_of(c, source, sizeof source);
  st = kehu_rules_cancel(rc, source);
  /* fallen due already: the reason for it is gone, so it goes too */
  uint64_t seq = st == KEHU_OK ? kehu_store_reminder_by_source(rc->t, source) : 0;
  Kehu__Reminder *r;
  if (seq && kehu_store_reminder_get(rc->t, seq, &r) == KEHU_OK) {
    st = kehu_store_reminder_delete(rc->t, seq, r);
    kehu__reminder__free_unpacked(r, NULL);
  }
  *untag = st == KEHU_OK;
  return st;
}

size_t kehu_complete_untag(const Kehu__Customer *c, char **out)
{
  size_t n = 0;
  for (size_t i = 0; i < c->n_tags; i++)
    if (strcmp(c->tags[i], KEHU_INCOMPLETE_TAG) != 0)
      out[n++] = c->tags[i];
  return n;
}
