#include "scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "reflect.h"
#include "rules.h"
#include "session.h"
#include "tiers.h"
#include "writes.h"

#define MAX_FIRE 1024
/* customers the dormancy sweep takes in one round (one write) */
#define MAX_SWEEP 512

static void on_timer(uv_timer_t *timer);

static void arm(kehu_server *srv)
{
  kehu_txn t;
  if (srv->stopping || kehu_store_read_begin(srv->store, &t) != KEHU_OK)
    return;
  int64_t due = kehu_store_reminder_next_due(&t);
  /* the next customer to fall dormant: the sweep raises its reminder */
  int64_t dormant = kehu_rules_dormant_next_due(&t, &srv->cfg);
  /* and the next birthdays to come within reach */
  int64_t birthday = kehu_rules_birthday_next_due(&t);
  kehu_store_read_end(&t);
  if (dormant && (!due || dormant < due))
    due = dormant;
  if (birthday && (!due || birthday < due))
    due = birthday;
  if (!due) {
    uv_timer_stop(&srv->sched_timer);
    return;
  }
  /* in milliseconds: a reminder due at second T fires at T.000, not up to
   * a second later */
  int64_t wait_ms = due * 1000 - kehu_now_ms(srv);
  uv_timer_start(&srv->sched_timer, on_timer, wait_ms > 0 ? (uint64_t)wait_ms : 0, 0);
}

void kehu_scheduler_start(kehu_server *srv)
{
  uv_timer_init(srv->loop, &srv->sched_timer);
  srv->sched_timer.data = srv;
  arm(srv);
}

void kehu_scheduler_stop(kehu_server *srv)
{
  uv_timer_stop(&srv->sched_timer);
  uv_close((uv_handle_t *)&srv->sched_timer, NULL);
}

/* After every commit: the earliest due time may have moved. Looking costs
 * one read (microseconds), and a look taken after the commit is the only
 * one that surely sees it, so there is no cheaper "did it change" test. */
void kehu_scheduler_poke(kehu_server *srv)
{
  if (!srv->sched_firing)
    arm(srv);
}

unsigned kehu_scheduler_push(kehu_server *srv, const Kehu__Reminder *r, kehu_session *only)
{
  Kehu__Event ev = KEHU__EVENT__INIT;
  ev.kind = "reminder";
  ev.message = r->message;
  ev.has_at = 1;
  /* a snoozed reminder falls due again at its snooze time */
  ev.at = r->has_snoozed_until && r->snoozed_until > r->due_at ? r->snoozed_until : r->due_at;
  ev.reminder = (Kehu__Reminder *)r;
  return kehu_push_event(srv, r->user, &ev, only);
}

unsigned kehu_push_event(kehu_server *srv, const char *user, const Kehu__Event *ev,
                         kehu_session *only)
{
  Kehu__Envelope e = KEHU__ENVELOPE__INIT;
  e.body_case = KEHU__ENVELOPE__BODY_EVENT;
  e.event = (Kehu__Event *)ev;
  return kehu_session_push(srv, user, &e, only);
}

void kehu_push_assigned(kehu_server *srv, const char *user, const char *kind, const char *id,
                        const char *what)
{
  char message[512];
  snprintf(message, sizeof message, "%s %s 已分配给你：%s",
           strcmp(kind, "ticket_assigned") == 0 ? "工单" : "客户", id, what ? what : "");
  Kehu__Event ev = KEHU__EVENT__INIT;
  ev.kind = (char *)kind;
  ev.message = message;
  ev.has_at = 1;
  ev.at = kehu_now(srv);
  kehu_push_event(srv, user, &ev, NULL);
}

/* ---- state changes, on the writer ---- */

typedef struct {
  kehu_server *srv;
  int64_t now;
  size_t n;
  uint64_t seqs[MAX_FIRE];
  Kehu__Reminder *fired[MAX_FIRE];   /* fire: copies for the loop to push */
  size_t system;                     /* the server's own done (a purge, a contract's end) */
  int sweep_more;                    /* customers left that fell dormant: another round */
  int bday_more;                     /* birthdays left to raise: another round */
} batch;

static void batch_free(batch *b)
{
  for (size_t i = 0; i < b->n; i++)
    if (b->fired[i])
      kehu__reminder__free_unpacked(b->fired[i], NULL);
  free(b);
}

/* Takes every reminder that has fallen due out of the due index. */
static int apply_fire(kehu_txn *t, void *arg)
{
  batch *b = arg;
  kehu_rule_ctx rc = {t, b->now, &b->srv->cfg};
  for (size_t i = 0; i < b->n; i++)
    if (b->fired[i]) {
      kehu__reminder__free_unpacked(b->fired[i], NULL);
      b->fired[i] = NULL;
    }
  /* customers whose dormancy period ended get their reminder first, due
   * now, so that this round fires it (docs/architecture.md#reminders) */
  int st = kehu_rules_dormant_sweep(&rc, MAX_SWEEP, &b->sweep_more);
  /* and the contacts whose birthday came within reach */
  if (st == KEHU_OK)
    st = kehu_rules_birthday_sweep(&rc, MAX_SWEEP, &b->bday_more);
  if (st != KEHU_OK)
    return st;
  b->n = kehu_store_reminder_due(t, b->now, b->seqs, MAX_FIRE);
  b->system = 0;
  for (size_t i = 0; i < b->n; i++) {
    Kehu__Reminder *r;
    st = kehu_store_reminder_get(t, b->seqs[i], &r);
    if (st != KEHU_OK)
      return st;
    /* the server's own (a contract's end) is done here, not pushed; and
     * one whose user may no longer read the customer (reassigned, team or
     * role changed) is nobody's to be told */
    kehu_caller user;
    if (kehu_rules_is_system(r) ||
        (kehu_access_caller_of(t, r->user, &user) == KEHU_OK &&
         !kehu_access_reminder_visible(t, &user, r))) {
      st = kehu_rules_is_system(r) ? kehu_rules_system_fired(&rc, r) : KEHU_OK;
      /* a tier's re-evaluation frees no pages: only the others count */
      b->system += kehu_rules_is_system(r) && strcmp(r->kind, KEHU_TIER_EVAL) != 0;
      /* a purge took the customer's reminders, this one among them; one
       * the firing armed again for later (a tier's next re-evaluation)
       * stays */
      Kehu__Reminder *still = NULL;
      if (st == KEHU_OK && kehu_store_reminder_get(t, b->seqs[i], &still) == KEHU_OK) {
        if (!(still->has_armed && still->armed && still->due_at > b->now))
          st = kehu_store_reminder_delete(t, b->seqs[i], still);
        kehu__reminder__free_unpacked(still, NULL);
      }
      kehu__reminder__free_unpacked(r, NULL);
      if (st != KEHU_OK)
        return st;
      continue;
    }
    Kehu__Reminder next = *r;
    next.has_armed = 1;
    next.armed = 0;
    if (strcmp(r->state, "snoozed") == 0)
      next.state = "pending";
    st = kehu_store_reminder_put(t, b->seqs[i], r, &next);
    if (st == KEHU_OK)
      b->fired[i] = (Kehu__Reminder *)kehu_msg_copy(&next.base);
    kehu__reminder__free_unpacked(r, NULL);
    if (st != KEHU_OK)
      return st;
  }
  return KEHU_OK;
}

static void fired(kehu_call *call, int status, void *arg)
{
  (void)call;
  batch *b = arg;
  kehu_server *srv = b->srv;
  srv->sched_firing = 0;
  if (status == KEHU_OK) {
    uint64_t delivered[MAX_FIRE];
    size_t nd = 0;
    for (size_t i = 0; i < b->n; i++)
      if (b->fired[i] && kehu_scheduler_push(srv, b->fired[i], NULL) > 0)
        delivered[nd++] = b->seqs[i];
    if (nd)
      kehu_scheduler_mark_delivered(srv, delivered, nd);
  }
  /* the recycle bin may have purged a customer: its freed pages get zeroed */
  if (status == KEHU_OK && b->system)
    kehu_server_scrub_soon(srv);
  int more = status == KEHU_OK && (b->n == MAX_FIRE || b->sweep_more || b->bday_more);
  batch_free(b);
  if (more)
    on_timer(&srv->sched_timer);
  else
    arm(srv);
}

static void on_timer(uv_timer_t *timer)
{
  kehu_server *srv = timer->data;
  if (srv->stopping || srv->sched_firing)
    return;
  batch *b = calloc(1, sizeof *b);
  if (!b)
    return;
  b->srv = srv;
  b->now = kehu_now(srv);
  srv->sched_firing = 1;
  kehu_submit_write_detached(srv, apply_fire, fired, b);
}

static int apply_delivered(kehu_txn *t, void *arg)
{
  batch *b = arg;
  for (size_t i = 0; i < b->n; i++) {
    Kehu__Reminder *r;
    if (kehu_store_reminder_get(t, b->seqs[i], &r) != KEHU_OK)
      continue;
    int st = KEHU_OK;
    if (strcmp(r->state, "pending") == 0) {
      Kehu__Reminder next = *r;
      next.state = "delivered";
      next.has_delivered_at = 1;
      next.delivered_at = b->now;
      st = kehu_store_reminder_put(t, b->seqs[i], r, &next);
    }
    kehu__reminder__free_unpacked(r, NULL);
    if (st != KEHU_OK)
      return st;
  }
  return KEHU_OK;
}

static void delivered_done(kehu_call *call, int status, void *arg)
{
  (void)call;
  (void)status;
  batch_free(arg);
}

void kehu_scheduler_mark_delivered(kehu_server *srv, const uint64_t *seqs, size_t n)
{
  while (n > 0) {
    batch *b = calloc(1, sizeof *b);
    if (!b)
      return;
    b->srv = srv;
    b->now = kehu_now(srv);
    b->n = n < MAX_FIRE ? n : MAX_FIRE;
    memcpy(b->seqs, seqs, b->n * sizeof *seqs);
    kehu_submit_write_detached(srv, apply_delivered, delivered_done, b);
    seqs += b->n;
    n -= b->n;
  }
}
