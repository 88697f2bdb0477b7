/* reminder list | add | ack | snooze, and watch (push subscription). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "audit.h"
#include "handlers.h"
#include "reflect.h"
#include "rules.h"
#include "reminders/scheduler.h"
#include "validate.h"

#define DEFAULT_PAGE 50
#define MAX_PAGE 500
#define MAX_REDELIVER 1000

/* Due and not acknowledged: what `reminder list` shows and `watch` re-sends. */
static int is_due(const Kehu__Reminder *r, int64_t now)
{
  if (strcmp(r->state, "acknowledged") == 0)
    return 0;
  if (strcmp(r->state, "snoozed") == 0)
    return r->has_snoozed_until && r->snoozed_until <= now && !(r->has_armed && r->armed);
  return !(r->has_armed && r->armed);
}

static int parse_reminder_id(const char *id, uint64_t *seq)
{
  if (!id || strncmp(id, "RM", 2) != 0 || id[2] < '1' || id[2] > '9')
    return -1;
  char *end;
  unsigned long long v = strtoull(id + 2, &end, 10);
  if (*end)
    return -1;
  *seq = v;
  return 0;
}

typedef struct {
  int all;
  int64_t now;
  kehu_txn *t;
  const kehu_caller *who;
  Kehu__Reminder **items;
  uint64_t *seqs;
  size_t n;
} reminder_page;

static int collect(const Kehu__Reminder *r, uint64_t seq, void *arg)
{
  reminder_page *p = arg;
  if (!p->all && !is_due(r, p->now))
    return 0;
  if (!kehu_access_reminder_visible(p->t, p->who, r))
    return 0;
  Kehu__Reminder *copy = (Kehu__Reminder *)kehu_msg_copy(&r->base);
  if (!copy)
    return 0;
  kehu_msg_clear(&copy->base, "armed");
  kehu_msg_clear(&copy->base, "source");
  p->seqs[p->n] = seq;
  p->items[p->n++] = copy;
  return 1;
}

static int list_of(kehu_call *call, int all, uint64_t before, unsigned limit, reminder_page *p,
                   uint64_t *next)
{
  p->all = all;
  p->now = kehu_now(call->srv);
  p->items = calloc(limit, sizeof *p->items);
  p->seqs = calloc(limit, sizeof *p->seqs);
  if (!p->items || !p->seqs)
    return KEHU_EXHAUSTED;
  kehu_txn t;
  int rc = kehu_store_read_begin(call->srv->store, &t);
  if (rc == KEHU_OK) {
    p->t = &t;
    p->who = &call->caller;
    rc = kehu_store_reminder_of_user(&t, call->caller.username, before, limit, collect, p, next);
    kehu_store_read_end(&t);
  }
  return rc;
}

static void page_free(reminder_page *p)
{
  for (size_t i = 0; i < p->n; i++)
    kehu__reminder__free_unpacked(p->items[i], NULL);
  free(p->items);
  free(p->seqs);
}

void kehu_handle_reminder_list(kehu_call *call)
{
  const Kehu__ReminderList *q = call->req->reminder_list;
  unsigned limit = q->has_limit ? q->limit : DEFAULT_PAGE;
  uint64_t before = 0, next = 0;
  if (limit < 1 || limit > MAX_PAGE) {
    kehu_reply_status(call, KEHU_INVALID, "limit: %u is outside 1..%d", limit, MAX_PAGE);
    return;
  }
  if (q->cursor && *q->cursor && parse_reminder_id(q->cursor, &before) != 0) {
    kehu_reply_status(call, KEHU_INVALID, "cursor: '%s' is not a cursor from a previous page",
                      q->cursor);
    return;
  }
  reminder_page p = {0};
  int rc = list_of(call, q->has_all && q->all, before, limit, &p, &next);
  if (rc != KEHU_OK) {
    kehu_reply_status(call, rc, "cannot list reminders: %s", kehu_status_name(rc));
  } else {
    char cursor[24];
    Kehu__ReminderPage pg = KEHU__REMINDER_PAGE__INIT;
    pg.items = p.items;
    pg.n_items = p.n;
    if (next) {
      snprintf(cursor, sizeof cursor, "RM%llu", (unsigned long long)next);
      pg.next_cursor = cursor;
    }
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_REMINDER_PAGE;
    r.reminder_page = &pg;
    kehu_reply(call, &r);
  }
  page_free(&p);
}

/* ---- changes ---- */

typedef struct {
  kehu_caller caller;
  int64_t now;
  const kehu_config *cfg;
  uint64_t seq;
  const char *action;            /* add | ack | snooze */
  const Kehu__ReminderAdd *add;
  int64_t until;
  kehu_error err;
  Kehu__Reminder *result;
} reminder_write;

/* An apply may run more than once (writer.c reruns a group when one of
 * its requests fails): what an earlier run left goes first. */
static void forget_result(reminder_write *w)
{
  if (w->result)
    kehu__reminder__free_unpacked(w->result, NULL);
  w->result = NULL;
  kehu_error_clear(&w->err);
}

static int apply_add(kehu_txn *t, void *arg)
{
  reminder_write *w = arg;
  forget_result(w);
  const Kehu__ReminderAdd *a = w->add;
  Kehu__Customer *c = NULL;
  uint64_t cust = 0;
  if (a->customer_id) {
    int rc = kehu_customer_id_parse(a->customer_id, &cust) == 0
                 ? kehu_store_customer_get(t, cust, &c)
                 : KEHU_NOT_FOUND;
    if (rc != KEHU_OK || (c->has_deleted && c->deleted)) {
      if (c)
        kehu__customer__free_unpacked(c, NULL);
      return kehu_fail(&w->err, KEHU_NOT_FOUND, "customer", "customer %s not found",
                       a->customer_id);
    }
    /* as `customer get` answers: a reminder on it names the customer */
    rc = kehu_access_customer(t, &w->caller, c, 0, &w->err);
    kehu__customer__free_unpacked(c, NULL);
    if (rc != KEHU_OK)
      return rc;
  }
  uint64_t n;
  int rc = kehu_store_next_seq(t, "manual_reminder", &n);
  char source[96];
  snprintf(source, sizeof source, "manual:%llu", (unsigned long long)n);
  kehu_rule_ctx rctx = {t, w->now, w->cfg};
  if (rc == KEHU_OK)
    rc = kehu_rules_raise(&rctx, source, w->caller.username, a->at, "manual", a->customer_id,
                          NULL, a->message);
  if (rc == KEHU_OK && (w->seq = kehu_store_reminder_by_source(t, source)) != 0)
    rc = kehu_store_reminder_get(t, w->seq, &w->result);
  return rc;
}

static int apply_state(kehu_txn *t, void *arg)
{
  reminder_write *w = arg;
  forget_result(w);
  Kehu__Reminder *r = NULL;
  char id[24];
  snprintf(id, sizeof id, "RM%llu", (unsigned long long)w->seq);
  int rc = kehu_store_reminder_get(t, w->seq, &r);
  /* Someone else's reminder is as good as absent. */
  if (rc == KEHU_NOT_FOUND ||
      (rc == KEHU_OK && (!r->user || strcmp(r->user, w->caller.username) != 0))) {
    if (r)
      kehu__reminder__free_unpacked(r, NULL);
    return kehu_fail(&w->err, KEHU_NOT_FOUND, "id", "reminder %s not found", id);
  }
  if (rc != KEHU_OK)
    return rc;
  Kehu__Reminder next = *r;
  if (strcmp(w->action, "ack") == 0) {
    next.state = "acknowledged";
    next.has_armed = 1;
    next.armed = 0;
  } else {
    next.state = "snoozed";
    next.has_snoozed_until = next.has_armed = 1;
    next.snoozed_until = w->until;
    next.armed = 1;
  }
  rc = kehu_store_reminder_put(t, w->seq, r, &next);
  if (rc == KEHU_OK)
    w->result = (Kehu__Reminder *)kehu_msg_copy(&next.base);
  kehu__reminder__free_unpacked(r, NULL);
  return rc;
}

static void written(kehu_call *call, int status, void *arg)
{
  reminder_write *w = arg;
  if (status == KEHU_OK && w->result) {
    kehu_msg_clear(&w->result->base, "armed");
    kehu_msg_clear(&w->result->base, "source");
    Kehu__Response r = KEHU__RESPONSE__INIT;
    r.status = KEHU__STATUS__OK;
    r.result_case = KEHU__RESPONSE__RESULT_REMINDER;
    r.reminder = w->result;
    kehu_reply(call, &r);
  } else if (status != KEHU_OK && w->err.status == status) {
    kehu_reply_error(call, &w->err);
  } else {
    kehu_reply_status(call, status ? status : KEHU_INTERNAL, "the reminder was not stored: %s",
                      kehu_status_name(status));
  }
  if (w->result)
    kehu__reminder__free_unpacked(w->result, NULL);
  free(w);
}

static reminder_write *new_write(kehu_call *call, const char *action)
{
  reminder_write *w = calloc(1, sizeof *w);
  if (!w) {
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory");
    return NULL;
  }
  w->caller = call->caller;
  w->now = kehu_now(call->srv);
  w->cfg = &call->srv->cfg;
  w->action = action;
  return w;
}

void kehu_handle_reminder_add(kehu_call *call)
{
  const Kehu__ReminderAdd *a = call->req->reminder_add;
  kehu_error err = {0};
  if (kehu_check_text("message", a->message, 1000, &err) != KEHU_OK) {
    kehu_reply_error(call, &err);
    return;
  }
  if (!*a->message) {
    kehu_reply_status(call, KEHU_INVALID, "message: must not be empty");
    return;
  }
  reminder_write *w = new_write(call, "add");
  if (!w)
    return;
  w->add = a;
  kehu_submit_write(call, apply_add, written, w);
}

static void start_state(kehu_call *call, const char *id, const char *action, int64_t until)
{
  uint64_t seq;
  if (parse_reminder_id(id, &seq) != 0) {
    kehu_reply_status(call, KEHU_INVALID, "id: '%s' is not a reminder id (RM12)", id);
    return;
  }
  reminder_write *w = new_write(call, action);
  if (!w)
    return;
  w->seq = seq;
  w->until = until;
  kehu_submit_write(call, apply_state, written, w);
}

void kehu_handle_reminder_ack(kehu_call *call)
{
  start_state(call, call->req->reminder_ack->id, "ack", 0);
}

void kehu_handle_reminder_snooze(kehu_call *call)
{
  const Kehu__ReminderSnooze *s = call->req->reminder_snooze;
  if (s->until <= kehu_now(call->srv)) {
    kehu_reply_status(call, KEHU_INVALID, "until: the time must be in the future");
    return;
  }
  start_state(call, s->id, "snooze", s->until);
}

/* The session now receives pushed events; everything due and not yet
 * acknowledged is sent at once (at-least-once delivery). */
void kehu_handle_watch(kehu_call *call)
{
  kehu_server *srv = call->srv;
  kehu_session *s = kehu_session_of(call);
  kehu_session_watch(s);
  reminder_page p = {0};
  uint64_t next = 0;
  int rc = list_of(call, 0, 0, MAX_REDELIVER, &p, &next);
  uint64_t *pending = calloc(p.n ? p.n : 1, sizeof *pending);
  size_t np = 0;
  /* oldest first, as they fell due; sent before the reply, while the call
   * still holds the session */
  for (size_t i = p.n; rc == KEHU_OK && i-- > 0;) {
    kehu_scheduler_push(srv, p.items[i], s);
    if (pending && strcmp(p.items[i]->state, "pending") == 0)
      pending[np++] = p.seqs[i];
  }
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = KEHU__STATUS__OK;
  kehu_reply(call, &r);
  if (np)
    kehu_scheduler_mark_delivered(srv, pending, np);
  free(pending);
  page_free(&p);
}
