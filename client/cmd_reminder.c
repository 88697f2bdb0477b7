/* kehu reminder list | add | ack | snooze: the caller's own reminders
 * (docs/architecture.md#reminders). Pushed delivery is `kehu watch` (cmd_watch.c). */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "i18n.h"
#include "output.h"
#include "show.h"

static const char reminder_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] reminder COMMAND ...\n"
  "\n"
  "Commands:\n"
  "  list [--all] [--limit N] [--cursor C]     due reminders not yet acknowledged\n"
  "  add --at TIME --message M [--customer ID] remind yourself\n"
  "  ack REMINDER_ID                           acknowledge (it is not shown again)\n"
  "  snooze REMINDER_ID --until TIME           due again at TIME\n"
  "\n"
  "TIME is YYYY-MM-DD, 'YYYY-MM-DD HH:MM' (local time) or ISO 8601.\n"
  "Run `kehu reminder COMMAND --help` for the flags of a command.\n");

static const char list_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] reminder list [--all] [--limit N] [--cursor C]\n"
  "\n"
  "Your due reminders that are not acknowledged (pending, delivered, snoozed\n"
  "and due again).\n"
  "  --all          also future and acknowledged ones\n"
  "  --limit N      at most N (1-500, default 50)\n"
  "  --cursor C     continue where a previous page stopped (its `more:` line)\n");

static const char add_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] reminder add --at TIME --message M [--customer ID]\n"
  "\n"
  "  --at TIME        when it falls due: YYYY-MM-DD, 'YYYY-MM-DD HH:MM' (local)\n"
  "                   or ISO 8601\n"
  "  --message M      what to remind you of\n"
  "  --customer ID    the customer it is about\n");

static const char ack_usage[] = N_("usage: kehu [GLOBAL OPTIONS] reminder ack REMINDER_ID\n");

static const char snooze_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] reminder snooze REMINDER_ID --until TIME\n"
  "\n"
  "  --until TIME     when it falls due again (in the future)\n");

static const char *const columns[] = {
  "id", "due_at:DUE", "kind", "customer_id:CUSTOMER", "state", "message", NULL,
};

static int finish(int rc, kehu_strlist *args)
{
  kehu_strlist_free(args);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}

static int list(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  Kehu__ReminderList q = KEHU__REMINDER_LIST__INIT;
  const char *limit = NULL;
  int all = 0;
  const kehu_flag flags[] = {{"all", KEHU_FLAG_BOOL, &all}, {"limit", KEHU_FLAG_VALUE, &limit},
                             {"cursor", KEHU_FLAG_VALUE, &q.cursor}};
  const kehu_command cmd = {"reminder list", list_usage, flags, 3, 0, 0, NULL};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc == KEHU_OK && limit)
    rc = kehu_parse_u32(limit, "limit", 1, 500, &q.limit, err);
  if (rc == KEHU_OK) {
    q.has_limit = limit != NULL;
    q.has_all = q.all = all;
    Kehu__Request req = KEHU__REQUEST__INIT;
    req.op_case = KEHU__REQUEST__OP_REMINDER_LIST;
    req.reminder_list = &q;
    rc = kehu_request_show(cli, &req, columns, err);
  }
  return finish(rc, &args);
}

static int add(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  Kehu__ReminderAdd a = KEHU__REMINDER_ADD__INIT;
  const char *at = NULL;
  const kehu_flag flags[] = {{"at", KEHU_FLAG_VALUE, &at},
                             {"message", KEHU_FLAG_VALUE, &a.message},
                             {"customer", KEHU_FLAG_VALUE, &a.customer_id}};
  const kehu_command cmd = {"reminder add", add_usage, flags, 3, 0, 0, NULL};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc == KEHU_OK)
    rc = kehu_flag_required(cli, &cmd, "at", at, err);
  if (rc == KEHU_OK)
    rc = kehu_flag_required(cli, &cmd, "message", a.message, err);
  if (rc == KEHU_OK)
    rc = kehu_parse_time_flag(at, "at", &a.at, err);
  if (rc == KEHU_OK) {
    Kehu__Request req = KEHU__REQUEST__INIT;
    req.op_case = KEHU__REQUEST__OP_REMINDER_ADD;
    req.reminder_add = &a;
    rc = kehu_request_show(cli, &req, NULL, err);
  }
  return finish(rc, &args);
}

static int ack(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const kehu_command cmd = {"reminder ack", ack_usage, NULL, 0, 1, 1, "REMINDER_ID"};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc == KEHU_OK) {
    Kehu__ReminderAck a = KEHU__REMINDER_ACK__INIT;
    a.id = (char *)args.items[0];
    Kehu__Request req = KEHU__REQUEST__INIT;
    req.op_case = KEHU__REQUEST__OP_REMINDER_ACK;
    req.reminder_ack = &a;
    rc = kehu_request_show(cli, &req, NULL, err);
  }
  return finish(rc, &args);
}

static int snooze(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  Kehu__ReminderSnooze s = KEHU__REMINDER_SNOOZE__INIT;
  const char *until = NULL;
  const kehu_flag flags[] = {{"until", KEHU_FLAG_VALUE, &until}};
  const kehu_command cmd = {"reminder snooze", snooze_usage, flags, 1, 1, 1, "REMINDER_ID"};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc == KEHU_OK)
    rc = kehu_flag_required(cli, &cmd, "until", until, err);
  if (rc == KEHU_OK)
    rc = kehu_parse_time_flag(until, "until", &s.until, err);
  if (rc == KEHU_OK) {
    s.id = (char *)args.items[0];
    Kehu__Request req = KEHU__REQUEST__INIT;
    req.op_case = KEHU__REQUEST__OP_REMINDER_SNOOZE;
    req.reminder_snooze = &s;
    rc = kehu_request_show(cli, &req, NULL, err);
  }
  return finish(rc, &args);
}

int kehu_cmd_reminder(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  static const kehu_subcommand subs[] = {
    {"list", list}, {"add", add}, {"ack", ack}, {"snooze", snooze},
  };
  return kehu_subcommand_run(cli, "reminder", reminder_usage, subs, sizeof subs / sizeof *subs,
                             argc, argv, err);
}
