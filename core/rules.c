#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "audit_entry.h"
#include "records.h"
#include "tiers.h"
#include "timefmt.h"

#define DAY 86400
#define CONTRACT_END "contract_end"
#define BIN_PURGE "bin_purge"

int kehu_rules_raise(kehu_rule_ctx *rc, const char *source, const char *user, int64_t due,
                     const char *kind, const char *customer_id, const char *record_id,
                     const char *message)
{
  kehu_txn *t = rc->t;
  uint64_t seq = kehu_store_reminder_by_source(t, source);
  Kehu__Reminder *old = NULL;
  if (seq && kehu_store_reminder_get(t, seq, &old) == KEHU_OK) {
    int same = old->due_at == due || strcmp(old->state, "acknowledged") == 0;
    if (same) {
      kehu__reminder__free_unpacked(old, NULL);
      return KEHU_OK;
    }
  }
  int st = KEHU_OK;
  if (!seq)
    st = kehu_store_next_seq(t, "reminder", &seq);
  char id[24];
  snprintf(id, sizeof id, "RM%llu", (unsigned long long)seq);
  Kehu__Reminder r = KEHU__REMINDER__INIT;
  r.id = id;
  r.user = (char *)user;
  r.has_due_at = r.has_created_at = r.has_armed = 1;
  r.due_at = due;
  r.kind = (char *)kind;
  r.customer_id = (char *)customer_id;
  r.record_id = (char *)record_id;
  r.message = (char *)message;
  r.state = "pending";
  r.source = (char *)source;
  r.created_at = old ? old->created_at : rc->now;
  r.armed = 1;
  if (st == KEHU_OK)
    st = kehu_store_reminder_put(t, seq, old, &r);
  if (old)
    kehu__reminder__free_unpacked(old, NULL);
  return st;
}

int kehu_rules_cancel(kehu_rule_ctx *rc, const char *source)
{
  uint64_t seq = kehu_store_reminder_by_source(rc->t, source);
  Kehu__Reminder *r;
  if (!seq || kehu_store_reminder_get(rc->t, seq, &r) != KEHU_OK)
    return KEHU_OK;
  /* Once fallen due it stays until acknowledged: it was real when raised. */
  int st = r->has_armed && r->armed && strcmp(r->state, "pending") == 0
               ? kehu_store_reminder_delete(rc->t, seq, r)
               : KEHU_OK;
  kehu__reminder__free_unpacked(r, NULL);
  return st;
}

/* ---- recipients ----
 * Who may be told about a customer is decided by access.c, as for every
 * other read: a reminder goes only to users who may read its customer and
 * the kind of record it is about (README "Reminders"). */

typedef struct {
  char names[64][65];
  size_t n;
  const char *role;
} recipients;

static void add_name(recipients *r, const char *name)
{
  if (!name || !*name)
    return;
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->names[i], name) == 0)
      return;
  if (r->n < 64)
    snprintf(r->names[r->n++], sizeof r->names[0], "%s", name);
}

static void add_reader(const char *user, void *arg)
{
  add_name(arg, user);
}

static void match_role(const Kehu__UserRecord *u, void *arg)
{
  recipients *r = arg;
  if (!(u->has_disabled && u->disabled) && strcmp(u->role, r->role) == 0)
    add_name(r, u->username);
}

/* Every enabled user of a role (finance for contracts, service for tickets). */
static void add_role(kehu_rule_ctx *rc, recipients *r, const char *role)
{
  r->role = role;
  kehu_store_user_each(rc->t, match_role, r);
}

/* ---- times ---- */

/* remind_hour local time on a date, as UTC seconds. */
static int64_t local_time_on(kehu_rule_ctx *rc, int y, int m, int d)
{
  struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d,
                  .tm_hour = (int)rc->cfg->remind_hour, .tm_isdst = -1};
  return (int64_t)mktime(&tm);
}

static int64_t reminder_time_of(kehu_rule_ctx *rc, const char *date, int days_before)
{
  int y, m, d;
  if (!date || kehu_date_parse(date, &y, &m, &d) != 0)
    return 0;
  int64_t day = kehu_days_from_civil(y, m, d) - days_before;
  /* back to a calendar date, then to local remind_hour */
  time_t noon = (time_t)(day * DAY + DAY / 2);
  struct tm tm;
  gmtime_r(&noon, &tm);
  return local_time_on(rc, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* 00:00 local time on the day after date, as UTC seconds. */
static int64_t day_after(kehu_rule_ctx *rc, const char *date)
{
  (void)rc;
  int y, m, d;
  if (!date || kehu_date_parse(date, &y, &m, &d) != 0)
    return 0;
  struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + 1, .tm_isdst = -1};
  return (int64_t)mktime(&tm);   /* mktime carries day 32 into the next month */
}

/* ---- rules ---- */

/* Raises the reminder for each recipient who may read c (and its records
 * of kind about, when set); the others are skipped. */
static int raise_all(kehu_rule_ctx *rc, const recipients *to, const char *source_prefix,
                     int64_t due, const char *kind, const Kehu__Customer *c,
                     kehu_kind about, const char *record, const char *message)
{
  const kehu_kind_info *about_kind = about ? kehu_kind_get(about) : NULL;
  for (size_t i = 0; i < to->n; i++) {
    if (!kehu_access_user_reads(rc->t, to->names[i], c, about_kind))
      continue;
    char source[256];
    snprintf(source, sizeof source, "%s:%s", source_prefix, to->names[i]);
    int st = kehu_rules_raise(rc, source, to->names[i], due, kind, c->id, record, message);
    if (st != KEHU_OK)
      return st;
  }
  return KEHU_OK;
}

static int cancel_all(kehu_rule_ctx *rc, const recipients *to, const char *source_prefix)
{
  for (size_t i = 0; i < to->n; i++) {
    char source[256];
    snprintf(source, sizeof source, "%s:%s", source_prefix, to->names[i]);
    int st = kehu_rules_cancel(rc, source);
    if (st != KEHU_OK)
      return st;
  }
  return KEHU_OK;
}

static int contract_live(const Kehu__Contract *k)
{
  return k && k->ends_on && (!k->status || strcmp(k->status, "active") == 0);
}

int kehu_rules_contract(kehu_rule_ctx *rc, const Kehu__Customer *c, const Kehu__Contract *old,
                        const Kehu__Contract *m)
{
  recipients to = {.n = 0};
  add_name(&to, c->owner);
  add_role(rc, &to, "finance");
  const unsigned days[3] = {rc->cfg->contract_days_first, rc->cfg->contract_days_second, 0};
  char prefix[160];
  int st = KEHU_OK;
  /* The reminders of the old end date go, those of the new one come. */
  if (contract_live(old) && (!contract_live(m) || strcmp(old->ends_on, m->ends_on) != 0)) {
    for (int i = 0; i < 3 && st == KEHU_OK; i++) {
      snprintf(prefix, sizeof prefix, "contract_expiry:%s:%s:%u", old->id, old->ends_on, days[i]);
      st = cancel_all(rc, &to, prefix);
    }
    snprintf(prefix, sizeof prefix, "%s:%s:%s", CONTRACT_END, old->id, old->ends_on);
    if (st == KEHU_OK)
      st = kehu_rules_cancel(rc, prefix);
  }
  if (st != KEHU_OK || !contract_live(m))
    return st;
  /* The end itself: at local midnight after ends_on the contract becomes
   * expired (kehu_rules_contract_end, run by the scheduler). Nobody's
   * reminder: it has no user, and nothing lists or pushes it. */
  snprintf(prefix, sizeof prefix, "%s:%s:%s", CONTRACT_END, m->id, m->ends_on);
  int64_t end = day_after(rc, m->ends_on);
  if (end && (st = kehu_rules_raise(rc, prefix, NULL, end, CONTRACT_END, c->id, m->id, NULL)) != KEHU_OK)
    return st;
  /* Of the times already past, only the latest is raised (at once): a
   * contract created a week before its end gets the 7-day reminder, not
   * the 30-day one as well. */
  int64_t latest_past = 0;
  for (int i = 0; i < 3; i++) {
    int64_t due = reminder_time_of(rc, m->ends_on, (int)days[i]);
    if (due <= rc->now && due > latest_past)
      latest_past = due;
  }
  for (int i = 0; i < 3 && st == KEHU_OK; i++) {
    int64_t due = reminder_time_of(rc, m->ends_on, (int)days[i]);
    if (!due || (due <= rc->now && due != latest_past))
      continue;
    char message[512];
    if (days[i])
      snprintf(message, sizeof message, "合同 %s（%s）将于 %s 到期，还有 %u 天", m->number, c->name,
               m->ends_on, days[i]);
    else
      snprintf(message, sizeof message, "合同 %s（%s）今天到期", m->number, c->name);
    snprintf(prefix, sizeof prefix, "contract_expiry:%s:%s:%u", m->id, m->ends_on, days[i]);
    st = raise_all(rc, &to, prefix, due, "contract_expiry", c, KEHU_KIND_CONTRACT, m->id,
                   message);
  }
  return st;
}

int kehu_rules_followup(kehu_rule_ctx *rc, const Kehu__Customer *c, const Kehu__FollowUp *old,
                        const Kehu__FollowUp *m)
{
  const Kehu__FollowUp *f = m ? m : old;
  recipients to = {.n = 0};
  add_name(&to, f->author);
  char prefix[160];
  snprintf(prefix, sizeof prefix, "followup_due:%s", f->id);
  if (!m || !m->has_next_action_due)
    return cancel_all(rc, &to, prefix);
  char message[512];
  snprintf(message, sizeof message, "跟进 %s：%s", c->name,
           m->next_action ? m->next_action : m->summary);
  return raise_all(rc, &to, prefix, m->next_action_due, "followup_due", c, KEHU_KIND_FOLLOWUP,
                   m->id, message);
}

/* docs/architecture.md#reminders: a contact's birthday reminder is raised
 * BIRTHDAY_AHEAD days before the day, by the sweep below walking the
 * birthday index (docs/storage.md#birthdays) in calendar order, or by the
 * write of a contact whose birthday is nearer than that; never armed a
 * year ahead. So `reminder list --all` shows the coming weeks' birthdays,
 * and the store holds a reminder for the contacts of those weeks only. */
#define BIRTHDAY_AHEAD 45

static int leap(int y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The local date of t as YYYYMMDD. */
static int local_date(int64_t t)
{
  time_t tt = (time_t)t;
  struct tm tm;
  localtime_r(&tt, &tm);
  return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* The day a birthday is kept in year yy (YYYYMMDD), 0 when unreadable. */
static int birthday_in(const char *birthday, int yy)
{
  int y, m, d;
  if (!birthday || kehu_date_parse(birthday, &y, &m, &d) != 0)
    return 0;
  if (m == 2 && d == 29 && !leap(yy))
    d = 28;   /* born on 29 February: celebrated on the 28th */
  return yy * 10000 + m * 100 + d;
}

/* The next birthday on or after today, as YYYYMMDD (0: none). */
static int next_birthday(kehu_rule_ctx *rc, const char *birthday)
{
  int today = local_date(rc->now);
  for (int yy = today / 10000; yy <= today / 10000 + 1; yy++) {
    int day = birthday_in(birthday, yy);
    if (day >= today)
      return day;
  }
  return 0;
}

static int birthday_for(kehu_rule_ctx *rc, const Kehu__Customer *c, const Kehu__Contact *p,
                        int day, int cancel)
{
  recipients to = {.n = 0};
  add_name(&to, c->owner);
  char prefix[160];
  snprintf(prefix, sizeof prefix, "birthday:%s:%d", p->id, day / 10000);
  if (cancel)
    return cancel_all(rc, &to, prefix);
  int64_t due = local_time_on(rc, day / 10000, day / 100 % 100, day % 100);
  char message[512];
  snprintf(message, sizeof message, "今天是 %s（%s）的生日", p->name, c->name);
  return raise_all(rc, &to, prefix, due, "birthday", c, KEHU_KIND_CONTACT, p->id, message);
}

int kehu_rules_contact(kehu_rule_ctx *rc, const Kehu__Customer *c, const Kehu__Contact *old,
                       const Kehu__Contact *m)
{
  int st = KEHU_OK, day;
  if (old && old->birthday && (!m || !m->birthday || strcmp(old->birthday, m->birthday) != 0) &&
      (day = next_birthday(rc, old->birthday)) != 0)
    st = birthday_for(rc, c, old, day, 1);
  /* nearer than the sweep looks ahead: this write raises it */
  if (st == KEHU_OK && m && m->birthday && !(c->has_deleted && c->deleted) &&
      (day = next_birthday(rc, m->birthday)) != 0 &&
      day <= local_date(rc->now + (int64_t)BIRTHDAY_AHEAD * DAY))
    st = birthday_for(rc, c, m, day, 0);
  return st;
}

static int birthday_sweep_one(kehu_txn *t, uint64_t cust, uint64_t seq, int year, void *arg)
{
  kehu_rule_ctx *rc = arg;
  const kehu_kind_info *kind = kehu_kind_get(KEHU_KIND_CONTACT);
  uint64_t parent;
  ProtobufCMessage *m;
  Kehu__Customer *c;
  if (kehu_store_child_get(t, kind, seq, &parent, &m) != KEHU_OK)
    return KEHU_OK;   /* gone meanwhile: the index follows in the same write */
  const Kehu__Contact *p = (const Kehu__Contact *)m;
  int st = KEHU_OK, day = birthday_in(p->birthday, year);
  /* one added after this year's birthday waits for the next */
  int added = p->has_created_at ? local_date(p->created_at) : 0;
  if (parent == cust && day && day >= added && kehu_store_customer_get(t, cust, &c) == KEHU_OK) {
    if (!(c->has_deleted && c->deleted))
      st = birthday_for(rc, c, p, day, 0);
    kehu__customer__free_unpacked(c, NULL);
  }
  protobuf_c_message_free_unpacked(m, NULL);
  return st;
}

int kehu_rules_birthday_sweep(kehu_rule_ctx *rc, size_t max, int *more)
{
  int today = local_date(rc->now), horizon = local_date(rc->now + (int64_t)BIRTHDAY_AHEAD * DAY);
  int year = horizon / 10000, swept_year;
  unsigned upto = (unsigned)(horizon / 100 % 100) << 16 | (unsigned)(horizon % 100), swept_md;
  if (upto == (2u << 16 | 28) && !leap(year))
    upto = 2u << 16 | 29;   /* the 29th's are kept on the 28th */
  /* A first sweep starts today (older stores armed the birthdays before
   * it); one that stopped long ago goes back a year at most. */
  int from_year = today / 10000 - kehu_store_bday_swept(rc->t, &swept_year, &swept_md);
  unsigned from = (unsigned)(today / 100 % 100) << 16 | (unsigned)(today % 100);
  return kehu_store_bday_sweep(rc->t, from_year, from, year, upto, max, birthday_sweep_one, rc,
                               more);
}

typedef struct {
  kehu_rule_ctx *rc;
  const Kehu__Customer *c;
  int st;
} customer_birthdays;

static int birthday_of_contact(ProtobufCMessage *m, uint64_t cust, void *arg)
{
  customer_birthdays *b = arg;
  (void)cust;
  if (b->st == KEHU_OK)
    b->st = kehu_rules_contact(b->rc, b->c, NULL, (const Kehu__Contact *)m);
  protobuf_c_message_free_unpacked(m, NULL);
  return 0;
}

int kehu_rules_customer_birthdays(kehu_rule_ctx *rc, const Kehu__Customer *c)
{
  uint64_t cust, next;
  if (kehu_customer_id_parse(c->id, &cust) != 0)
    return KEHU_INVALID;
  customer_birthdays b = {rc, c, KEHU_OK};
  int st = kehu_store_child_list(rc->t, kehu_kind_get(KEHU_KIND_CONTACT), cust, 0, 1,
                                 birthday_of_contact, &b, &next);
  return st == KEHU_OK ? b.st : st;
}

int64_t kehu_rules_birthday_next_due(kehu_txn *t)
{
  int year;
  unsigned md;
  if (!kehu_store_bday_swept(t, &year, &md))
    return 1;   /* never swept: at once */
  /* the day after the last one swept comes within reach at its midnight */
  struct tm tm = {.tm_year = year - 1900, .tm_mon = (int)(md >> 16) - 1,
                  .tm_mday = (int)(md & 0xffff) + 1, .tm_isdst = -1};
  return (int64_t)mktime(&tm) - (int64_t)BIRTHDAY_AHEAD * DAY;
}

static int ticket_open(const Kehu__Ticket *k)
{
  return k && k->has_response_due &&
         (!k->status || strcmp(k->status, "open") == 0 || strcmp(k->status, "in_progress") == 0);
}

int kehu_rules_ticket(kehu_rule_ctx *rc, const Kehu__Customer *c, const Kehu__Ticket *old,
                      const Kehu__Ticket *m)
{
  const Kehu__Ticket *k = m ? m : old;
  recipients to = {.n = 0};
  add_name(&to, k->assignee);
  if (old && old->assignee)
    add_name(&to, old->assignee);
  add_role(rc, &to, "service");
  char prefix[160];
  snprintf(prefix, sizeof prefix, "ticket_sla:%s", k->id);
  if (!ticket_open(m))
    return cancel_all(rc, &to, prefix);
  char message[512];
  snprintf(message, sizeof message, "工单 %s（%s）应在此时前响应：%s", m->id, c->name, m->subject);
  return raise_all(rc, &to, prefix, m->response_due, "ticket_sla", c, KEHU_KIND_TICKET, m->id,
                   message);
}

/* docs/architecture.md#reminders: a customer's dormant reminder is raised
 * when its period is over, by the write that makes it so (a follow-up
 * recorded with --at 181 days ago, a customer restored or reassigned after
 * it) or by the sweep below; never armed 180 days ahead. */
int kehu_rules_dormant(kehu_rule_ctx *rc, const Kehu__Customer *old, const Kehu__Customer *c)
{
  recipients to = {.n = 0};
  int st = kehu_access_each_reader(rc->t, c, add_reader, &to);
  char prefix[160];
  /* One reminder per dormancy period: the period starts at the last contact. */
  if (st == KEHU_OK && old && kehu_dormant_base(old) != kehu_dormant_base(c)) {
    snprintf(prefix, sizeof prefix, "dormant:%s:%lld", c->id, (long long)kehu_dormant_base(old));
    st = cancel_all(rc, &to, prefix);
  }
  int64_t due = kehu_dormant_base(c) + (int64_t)rc->cfg->dormant_days * DAY;
  if (st != KEHU_OK || (c->has_deleted && c->deleted) || due > rc->now)
    return st;
  snprintf(prefix, sizeof prefix, "dormant:%s:%lld", c->id, (long long)kehu_dormant_base(c));
  char message[512];
  snprintf(message, sizeof message, "客户 %s 已 %u 天没有跟进", c->name, rc->cfg->dormant_days);
  return raise_all(rc, &to, prefix, due, "dormant", c, 0, c->id, message);
}

static int sweep_one(kehu_txn *t, uint64_t cust, int64_t base, void *arg)
{
  kehu_rule_ctx *rc = arg;
  (void)t;
  Kehu__Customer *c;
  if (kehu_store_customer_get(rc->t, cust, &c) != KEHU_OK)
    return KEHU_OK;   /* gone meanwhile: the index follows in the same write */
  int st = kehu_dormant_base(c) == base ? kehu_rules_dormant(rc, NULL, c) : KEHU_OK;
  kehu__customer__free_unpacked(c, NULL);
  return st;
}

int kehu_rules_dormant_sweep(kehu_rule_ctx *rc, size_t max, int *more)
{
  int64_t upto = rc->now - (int64_t)rc->cfg->dormant_days * DAY;
  return kehu_store_dormant_sweep(rc->t, rc->cfg->dormant_days, upto, max, sweep_one, rc, more);
}

int64_t kehu_rules_dormant_next_due(kehu_txn *t, const kehu_config *cfg)
{
  int64_t base = kehu_store_dormant_next(t, cfg->dormant_days);
  return base ? base + (int64_t)cfg->dormant_days * DAY : 0;
}

int kehu_rules_churn_risk(kehu_rule_ctx *rc, const Kehu__Customer *c, const char *why)
{
  recipients to = {.n = 0};
  int st = kehu_access_each_reader(rc->t, c, add_reader, &to);
  if (st != KEHU_OK)
    return st;
  char prefix[160], message[512];
  snprintf(prefix, sizeof prefix, "churn_risk:%s:%lld", c->id, (long long)rc->now);
  snprintf(message, sizeof message, "客户 %s 有流失风险：%s", c->name, why);
  return raise_all(rc, &to, prefix, rc->now, "churn_risk", c, 0, c->id, message);
}

#define MAX_PER_CUSTOMER 4096

/* Calls each(rc, seq, r, arg) for every reminder about customer cust until
 * one fails; r is freed after the call. */
static int each_of_customer(kehu_rule_ctx *rc, uint64_t cust,
                            int (*each)(kehu_rule_ctx *rc, uint64_t seq, const Kehu__Reminder *r,
                                        const void *arg),
                            const void *arg)
{
  uint64_t *seqs = malloc(MAX_PER_CUSTOMER * sizeof *seqs);
  if (!seqs)
    return KEHU_EXHAUSTED;
  size_t n = kehu_store_reminder_of_customer(rc->t, cust, seqs, MAX_PER_CUSTOMER);
  int st = KEHU_OK;
  for (size_t i = 0; i < n && st == KEHU_OK; i++) {
    Kehu__Reminder *r;
    if (kehu_store_reminder_get(rc->t, seqs[i], &r) != KEHU_OK)
      continue;
    st = each(rc, seqs[i], r, arg);
    kehu__reminder__free_unpacked(r, NULL);
  }
  free(seqs);
  return st;
}

typedef struct {
  const char *to_id;
  unsigned moved;
} customer_move;

/* A merge moves OTHER's reminders to KEEP, but for OTHER's dormancy and
 * tier re-evaluation, which KEEP has its own of: those go. */
static int move_to_customer(kehu_rule_ctx *rc, uint64_t seq, const Kehu__Reminder *r,
                            const void *arg)
{
  customer_move *m = (customer_move *)arg;
  if (strcmp(r->kind, "dormant") == 0 || strcmp(r->kind, KEHU_TIER_EVAL) == 0)
    return kehu_store_reminder_delete(rc->t, seq, r);
  Kehu__Reminder moved = *r;
  moved.customer_id = (char *)m->to_id;
  if (!kehu_rules_is_system(r))
    m->moved++;
  return kehu_store_reminder_put(rc->t, seq, r, &moved);
}

int kehu_rules_customer_moved(kehu_rule_ctx *rc, uint64_t from, const char *to_id,
                              unsigned *moved)
{
  customer_move m = {to_id, 0};
  int st = each_of_customer(rc, from, move_to_customer, &m);
  *moved = m.moved;
  return st;
}

static int erase(kehu_rule_ctx *rc, uint64_t seq, const Kehu__Reminder *r, const void *arg)
{
  (void)arg;
  return kehu_store_reminder_delete(rc->t, seq, r);
}

int kehu_rules_customer_gone(kehu_rule_ctx *rc, uint64_t cust)
{
  return each_of_customer(rc, cust, erase, NULL);
}

/* The source of a reminder raised for user by a rule ends ":user"; moved
 * to another user it ends with theirs. Manual reminders keep theirs. */
static void source_for(const Kehu__Reminder *r, const char *user, char *out, size_t len)
{
  kehu_assert(r->user && r->source);   /* not the server's own (kehu_rules_is_system) */
  size_t n = strlen(r->source), u = strlen(r->user);
  if (n > u + 1 && r->source[n - u - 1] == ':' && strcmp(r->source + n - u, r->user) == 0)
    snprintf(out, len, "%.*s:%s", (int)(n - u - 1), r->source, user);
  else
    snprintf(out, len, "%s", r->source);
}

typedef struct {
  const Kehu__Customer *old, *c;
} reassignment;

static int follow_owner(kehu_rule_ctx *rc, uint64_t seq, const Kehu__Reminder *r,
                        const void *arg)
{
  const reassignment *re = arg;
  /* Acknowledged ones are history: they stay, and reminder list shows
   * them only to someone who may still read the customer. */
  if (strcmp(r->state, "acknowledged") == 0 || kehu_rules_is_system(r))
    return KEHU_OK;
  if (!re->old->owner || !re->c->owner || strcmp(r->user, re->old->owner) != 0)
    return kehu_access_user_reads(rc->t, r->user, re->c, NULL) ? KEHU_OK
                                                                : erase(rc, seq, r, NULL);
  char source[256];
  source_for(r, re->c->owner, source, sizeof source);
  if (strcmp(source, r->source) != 0 && kehu_store_reminder_by_source(rc->t, source))
    return erase(rc, seq, r, NULL);   /* the new owner has this one already */
  Kehu__Reminder moved = *r;
  moved.user = re->c->owner;
  moved.source = source;
  if (!(r->has_armed && r->armed)) {
    /* fallen due for the old owner: due again, at once, for the new */
    moved.state = "pending";
    moved.has_armed = moved.armed = 1;
    moved.has_delivered_at = 0;
  }
  return kehu_store_reminder_put(rc->t, seq, r, &moved);
}

int kehu_rules_customer_reassigned(kehu_rule_ctx *rc, const Kehu__Customer *old,
                                   const Kehu__Customer *c)
{
  uint64_t cust;
  if (kehu_customer_id_parse(c->id, &cust) != 0)
    return KEHU_INVALID;
  reassignment re = {old, c};
  int st = each_of_customer(rc, cust, follow_owner, &re);
  /* the new owner's team managers learn of a dormant customer too */
  return st == KEHU_OK ? kehu_rules_dormant(rc, NULL, c) : st;
}

int kehu_rules_is_system(const Kehu__Reminder *r)
{
  return !r->user || !*r->user;
}

int kehu_rules_customer_binned(kehu_rule_ctx *rc, const Kehu__Customer *c)
{
  char source[160];
  snprintf(source, sizeof source, "%s:%s", BIN_PURGE, c->id);
  if (!(c->has_deleted && c->deleted))
    return kehu_rules_cancel(rc, source);
  int64_t due = c->deleted_at + (int64_t)rc->cfg->bin_days * 86400;
  return kehu_rules_raise(rc, source, NULL, due, BIN_PURGE, c->id, NULL, NULL);
}

/* A binned customer's time is up: it is purged as `customer purge` does,
 * and kehud is the one the audit log names. One restored (or purged by
 * hand) since is left alone. */
static int bin_purge_fired(kehu_rule_ctx *rc, const Kehu__Reminder *r)
{
  uint64_t cust;
  Kehu__Customer *c;
  if (!r->customer_id || kehu_customer_id_parse(r->customer_id, &cust) != 0 ||
      kehu_store_customer_get(rc->t, cust, &c) != KEHU_OK)
    return KEHU_OK;
  int st = KEHU_OK;
  if (c->has_deleted && c->deleted &&
      c->deleted_at + (int64_t)rc->cfg->bin_days * 86400 <= rc->now) {
    char day[16] = "?", details[512];
    time_t at = (time_t)c->deleted_at;
    struct tm tm;
    if (localtime_r(&at, &tm))
      strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(details, sizeof details, "in the recycle bin since %s, kept %u days", day,
             rc->cfg->bin_days);
    st = kehu_rules_customer_gone(rc, cust);
    if (st == KEHU_OK)
      st = kehu_store_customer_purge(rc->t, cust);
    kehu_caller server = {.username = "kehud"};
    if (st == KEHU_OK)
      st = kehu_audit(rc->t, &server, rc->now, "purge", "customer", c->id, details);
  }
  kehu__customer__free_unpacked(c, NULL);
  return st;
}

int kehu_rules_system_fired(kehu_rule_ctx *rc, const Kehu__Reminder *r)
{
  if (strcmp(r->kind, BIN_PURGE) == 0)
    return bin_purge_fired(rc, r);
  if (strcmp(r->kind, KEHU_TIER_EVAL) == 0)
    return kehu_tiers_fired(rc, r);
  if (strcmp(r->kind, CONTRACT_END) != 0 || !r->record_id)
    return KEHU_OK;
  const kehu_kind_info *kind;
  uint64_t seq, cust;
  ProtobufCMessage *m = NULL;
  Kehu__Customer *c = NULL;
  if (kehu_child_id_parse(r->record_id, &kind, &seq) != 0 || kind->kind != KEHU_KIND_CONTRACT ||
      kehu_store_child_get(rc->t, kind, seq, &cust, &m) != KEHU_OK)
    return KEHU_OK;   /* deleted since: nothing to end */
  Kehu__Contract *k = (Kehu__Contract *)m;
  int st = KEHU_OK;
  if (contract_live(k) && day_after(rc, k->ends_on) <= rc->now &&
      kehu_store_customer_get(rc->t, cust, &c) == KEHU_OK) {
    Kehu__Contract expired = *k;
    expired.status = "expired";
    expired.has_version = expired.has_updated_at = 1;
    expired.version = k->version + 1;
    expired.updated_at = rc->now;
    st = kehu_store_child_put(rc->t, kind, cust, seq, m, &expired.base);
    if (st == KEHU_OK)
      st = kehu_rules_contract(rc, c, k, &expired);
    if (st == KEHU_OK) {
      char details[160];
      snprintf(details, sizeof details, "status: active -> expired (ended on %s)", k->ends_on);
      kehu_caller server = {.username = "kehud"};
      st = kehu_audit(rc->t, &server, rc->now, "update", kind->name, k->id, details);
    }
  }
  if (c)
    kehu__customer__free_unpacked(c, NULL);
  protobuf_c_message_free_unpacked(m, NULL);
  return st;
}
