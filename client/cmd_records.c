/* kehu contact | followup | need | contract | order | ticket: add, list,
 * update, delete. One engine for all of them: each kind is a table of its
 * flags and the fields they fill. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "frame.h"
#include "i18n.h"
#include "output.h"
#include "records.h"
#include "reflect.h"
#include "show.h"
#include "timefmt.h"

typedef enum { V_TEXT, V_LIST, V_TIME, V_DATE, V_AMOUNT, V_COUNT, V_BOOL } value_kind;

typedef struct {
  const char *flag;
  const char *field;
  value_kind kind;
  const char *help;
  int required;   /* by add: left out, it is a usage error (exit 2, README.md) */
} record_flag;

#define REQ 1
#define OPT 0

typedef struct {
  const char *name;
  const record_flag *flags;
  size_t nflags;
  const char *const *columns;
  int list_across;             /* `list` works without a customer id */
} record_spec;

#define N(a) (sizeof a / sizeof *a)

static const record_flag contact_flags[] = {
  {"name", "name", V_TEXT, "N", REQ}, {"title", "title", V_TEXT, "T", OPT},
  {"phone", "phones", V_LIST, N_("P (repeatable)"), OPT}, {"email", "email", V_TEXT, "E", OPT},
  {"wechat", "wechat", V_TEXT, "W", OPT}, {"birthday", "birthday", V_DATE, "YYYY-MM-DD", OPT},
  {"decision-maker", "is_decision_maker", V_BOOL, "", OPT}, {"notes", "notes", V_TEXT, "TEXT", OPT},
};
static const record_flag followup_flags[] = {
  {"method", "method", V_TEXT, "phone|visit|email|meeting|im|other", REQ},
  {"summary", "summary", V_TEXT, "S", REQ}, {"feedback", "feedback", V_TEXT, "F", OPT},
  {"next", "next_action", V_TEXT, "ACTION", OPT}, {"due", "next_action_due", V_TIME, "TIME", OPT},
  {"contact", "contact_id", V_TEXT, "CONTACT_ID", OPT}, {"at", "at", V_TIME, "TIME", OPT},
};
static const record_flag need_flags[] = {
  {"kind", "kind", V_TEXT, "product|service|cooperation", REQ},
  {"description", "description", V_TEXT, "D", REQ}, {"budget", "budget", V_AMOUNT, "AMOUNT", OPT},
  {"priority", "priority", V_TEXT, "high|medium|low", OPT},
  {"status", "status", V_TEXT, "open|won|lost|dropped", OPT},
};
static const record_flag contract_flags[] = {
  {"number", "number", V_TEXT, "N", REQ}, {"amount", "amount", V_AMOUNT, "AMOUNT", REQ},
  {"signed", "signed_on", V_DATE, "DATE", REQ}, {"start", "starts_on", V_DATE, "DATE", REQ},
  {"end", "ends_on", V_DATE, "DATE", REQ},
  {"status", "status", V_TEXT, "draft|active|fulfilled|terminated|expired", OPT},
  {"fulfilment", "fulfilment", V_TEXT, "TEXT", OPT},
};
static const record_flag order_flags[] = {
  {"amount", "amount", V_AMOUNT, "AMOUNT", REQ}, {"at", "at", V_TIME, "TIME", OPT},
  {"product", "product", V_TEXT, "P", OPT}, {"quantity", "quantity", V_COUNT, "Q", OPT},
};
static const record_flag ticket_flags[] = {
  {"subject", "subject", V_TEXT, "S", REQ}, {"description", "description", V_TEXT, "D", OPT},
  {"priority", "priority", V_TEXT, "high|medium|low", OPT}, {"assignee", "assignee", V_TEXT, "USER", OPT},
  {"status", "status", V_TEXT, "open|in_progress|resolved|closed", OPT},
  {"resolution", "resolution", V_TEXT, "R", OPT}, {"satisfaction", "satisfaction", V_COUNT, "1-5", OPT},
  {"due", "response_due", V_TIME, "TIME", OPT},
};

#undef REQ
#undef OPT

static const char *const contact_cols[] = {"id", "name", "title", "phones", "email", NULL};
static const char *const followup_cols[] = {"id", "at", "method", "author", "summary", NULL};
static const char *const need_cols[] = {"id", "kind", "priority", "status", "budget", "description", NULL};
static const char *const contract_cols[] = {"id", "customer_id", "number", "amount", "ends_on", "status", NULL};
static const char *const order_cols[] = {"id", "at", "product", "quantity", "amount", NULL};
static const char *const ticket_cols[] = {"id", "customer_id", "subject", "status", "assignee", "response_due", NULL};

static const record_spec specs[] = {
  {"contact", contact_flags, N(contact_flags), contact_cols, 0},
  {"followup", followup_flags, N(followup_flags), followup_cols, 0},
  {"need", need_flags, N(need_flags), need_cols, 0},
  {"contract", contract_flags, N(contract_flags), contract_cols, 1},
  {"order", order_flags, N(order_flags), order_cols, 0},
  {"ticket", ticket_flags, N(ticket_flags), ticket_cols, 1},
};

#define MAX_FLAGS 16

/* What the flags of one command line hold. */
typedef struct {
  const char *values[MAX_FLAGS];
  kehu_strlist lists[MAX_FLAGS];
  int bools[MAX_FLAGS];
  const char *version, *limit, *cursor, *status, *expiring;
} form;

/* The --help text of a kind, in the user's language. */
static void usage_text(const record_spec *s, char *out, size_t len)
{
  int n = snprintf(out, len,
                   _("usage: kehu [GLOBAL OPTIONS] %s add CUSTOMER_ID [FLAGS]\n"
                     "       kehu [GLOBAL OPTIONS] %s list %s [--limit N] [--cursor C]%s\n"
                     "       kehu [GLOBAL OPTIONS] %s update %s_ID [--version V] [FLAGS]\n"
                     "       kehu [GLOBAL OPTIONS] %s delete %s_ID\n\nFlags:\n"),
                   s->name, s->name, s->list_across ? "[CUSTOMER_ID]" : "CUSTOMER_ID",
                   strcmp(s->name, "contract") == 0 ? " [--expiring-within DAYS] [--status S]"
                   : strcmp(s->name, "ticket") == 0 ? " [--status S]" : "",
                   s->name, s->name, s->name, s->name);
  for (size_t i = 0; i < s->nflags && n > 0 && (size_t)n < len; i++) {
    const char *help = s->flags[i].help;
    n += snprintf(out + n, len - (size_t)n, "  --%-16s %s%s\n", s->flags[i].flag,
                  help[0] ? _(help) : "", s->flags[i].required ? _(" (required for add)") : "");
  }
  if (n > 0 && (size_t)n < len)
    snprintf(out + n, len - (size_t)n, "%s",
             _("AMOUNT is yuan (12345.67); TIME is YYYY-MM-DD, 'YYYY-MM-DD HH:MM' or ISO 8601.\n"));
}

/* The flags of the command, pointing into f. */
static size_t flags_of(const record_spec *s, const char *verb, form *f, kehu_flag *out)
{
  size_t n = 0;
  if (strcmp(verb, "add") == 0 || strcmp(verb, "update") == 0) {
    for (size_t i = 0; i < s->nflags && i < MAX_FLAGS; i++) {
      const record_flag *rf = &s->flags[i];
      out[n].name = rf->flag;
      out[n].kind = rf->kind == V_LIST ? KEHU_FLAG_LIST : rf->kind == V_BOOL ? KEHU_FLAG_BOOL
                                                                                : KEHU_FLAG_VALUE;
      out[n].dest = rf->kind == V_LIST ? (void *)&f->lists[i]
                    : rf->kind == V_BOOL ? (void *)&f->bools[i] : (void *)&f->values[i];
      n++;
    }
    if (verb[0] == 'u')
      out[n++] = (kehu_flag){"version", KEHU_FLAG_VALUE, &f->version};
  } else if (strcmp(verb, "list") == 0) {
    out[n++] = (kehu_flag){"limit", KEHU_FLAG_VALUE, &f->limit};
    out[n++] = (kehu_flag){"cursor", KEHU_FLAG_VALUE, &f->cursor};
    if (s->list_across) {
      out[n++] = (kehu_flag){"status", KEHU_FLAG_VALUE, &f->status};
      out[n++] = (kehu_flag){"expiring-within", KEHU_FLAG_VALUE, &f->expiring};
    }
  }
  return n;
}

/* Fills a new record message from the flags given. */
static int form_to_record(const record_spec *s, form *f, ProtobufCMessage *m, kehu_error *err)
{
  for (size_t i = 0; i < s->nflags; i++) {
    const record_flag *rf = &s->flags[i];
    const char *v = f->values[i];
    int64_t n;
    uint32_t u;
    int y, mo, d;
    int set = 0;   /* a setter's result: never a record missing a field given */
    switch (rf->kind) {
    case V_BOOL:
      if (f->bools[i] && kehu_msg_set_int(m, rf->field, 1) != 0)
        return kehu_fail_tr(err, KEHU_INTERNAL, rf->flag, "cannot set %s", rf->field);
      continue;
    case V_LIST: {
      if (!f->lists[i].n)
        continue;
      const ProtobufCFieldDescriptor *fd = kehu_msg_field(m, rf->field);
      char **arr = calloc(f->lists[i].n, sizeof *arr);
      if (!arr)
        return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
      for (size_t k = 0; k < f->lists[i].n; k++)
        arr[k] = strdup(f->lists[i].items[k]);
      *(char ***)((char *)m + fd->offset) = arr;   /* owned by m from here */
      *(size_t *)((char *)m + fd->quantifier_offset) = f->lists[i].n;
      continue;
    }
    default:
      break;
    }
    if (!v)
      continue;
    switch (rf->kind) {
    case V_TIME:
      if (kehu_parse_time_flag(v, rf->flag, &n, err) != KEHU_OK)
        return KEHU_INVALID;
      set = kehu_msg_set_int(m, rf->field, n);
      break;
    case V_DATE:
      if (*v && kehu_date_parse(v, &y, &mo, &d) != 0)
        return kehu_fail_tr(err, KEHU_INVALID, rf->flag, "--%s: '%s' is not a date (YYYY-MM-DD)",
                            rf->flag, v);
      set = kehu_msg_set_string(m, rf->field, v);
      break;
    case V_AMOUNT:
      if (kehu_money_parse(v, &n) != 0)
        return kehu_fail_tr(err, KEHU_INVALID, rf->flag, "--%s: '%s' is not an amount of yuan "
                            "(at most two decimals, e.g. 12345.67)", rf->flag, v);
      set = kehu_msg_set_int(m, rf->field, n);
      break;
    case V_COUNT:
      if (kehu_parse_u32(v, rf->flag, 1, 1000000000, &u, err) != KEHU_OK)
        return KEHU_INVALID;
      set = kehu_msg_set_int(m, rf->field, u);
      break;
    default: {
      /* Set as given, "" included: an update's way to clear a field. */
      const ProtobufCFieldDescriptor *fd = kehu_msg_field(m, rf->field);
      char **p = (char **)((char *)m + fd->offset);
      free(*p);
      if (!(*p = strdup(v)))
        return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    }
    }
    if (set != 0)
      return kehu_fail_tr(err, KEHU_INTERNAL, rf->flag, "cannot set %s", rf->field);
  }
  return KEHU_OK;
}

static int run(kehu_cli *cli, const record_spec *s, const Kehu__Request *req, kehu_error *err)
{
  Kehu__Envelope *env = NULL;
  int rc = kehu_request(cli, req, &env, err);
  if (rc != KEHU_OK)
    return rc;
  if (req->op_case == KEHU__REQUEST__OP_CHILD_DELETE)
    rc = kehu_show_deleted(cli, env->response, req->child_delete->id, err);
  else
    rc = kehu_show_result(cli, env->response, s->columns, err);
  kehu_envelope_free(env);
  return rc;
}

static int run_verb(kehu_cli *cli, const record_spec *s, const char *verb, int argc, char **argv,
                    kehu_error *err)
{
  const kehu_kind_info *info = kehu_kind_by_name(s->name);
  form f;
  memset(&f, 0, sizeof f);
  kehu_flag flags[MAX_FLAGS + 6];
  char usage[2048], name[48];
  usage_text(s, usage, sizeof usage);
  snprintf(name, sizeof name, "%s %s", s->name, verb);
  int is_list = strcmp(verb, "list") == 0;
  kehu_command cmd = {name, usage, flags, flags_of(s, verb, &f, flags),
                      is_list && s->list_across ? 0 : 1, 1,
                      strcmp(verb, "add") == 0 || is_list ? "CUSTOMER_ID" : "ID"};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  /* A required flag left out is a usage error (exit 2, README.md), found before
   * anything is sent; a value given but empty is checked as a value. */
  for (size_t i = 0; i < s->nflags && rc == KEHU_OK && strcmp(verb, "add") == 0; i++)
    if (s->flags[i].required)
      rc = kehu_flag_required(cli, &cmd, s->flags[i].flag, f.values[i], err);
  ProtobufCMessage *m = NULL;
  Kehu__Request req = KEHU__REQUEST__INIT;
  Kehu__Child child;
  Kehu__ChildAdd add = KEHU__CHILD_ADD__INIT;
  Kehu__ChildUpdate upd = KEHU__CHILD_UPDATE__INIT;
  Kehu__ChildDelete del = KEHU__CHILD_DELETE__INIT;
  Kehu__ChildList lst = KEHU__CHILD_LIST__INIT;
  if (rc == KEHU_OK && !is_list && strcmp(verb, "delete") != 0) {
    if (!(m = malloc(info->desc->sizeof_message))) {
      rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    } else {
      protobuf_c_message_init(info->desc, m);
      rc = form_to_record(s, &f, m, err);
      kehu_child_wrap(&child, info, m);
    }
  }
  if (rc == KEHU_OK) {
    const char *id = args.n ? args.items[0] : NULL;
    if (strcmp(verb, "add") == 0) {
      add.customer_id = (char *)id;
      add.child = &child;
      req.op_case = KEHU__REQUEST__OP_CHILD_ADD;
      req.child_add = &add;
    } else if (strcmp(verb, "update") == 0) {
      upd.id = (char *)id;
      upd.changes = &child;
      if (f.version)
        rc = kehu_parse_u32(f.version, "version", 1, UINT32_MAX, &upd.expected_version, err);
      upd.has_expected_version = f.version != NULL;
      req.op_case = KEHU__REQUEST__OP_CHILD_UPDATE;
      req.child_update = &upd;
    } else if (strcmp(verb, "delete") == 0) {
      del.id = (char *)id;
      req.op_case = KEHU__REQUEST__OP_CHILD_DELETE;
      req.child_delete = &del;
    } else {
      lst.customer_id = (char *)id;
      lst.kind = (char *)s->name;
      lst.cursor = (char *)f.cursor;
      lst.status = (char *)f.status;
      if (f.limit)
        rc = kehu_parse_u32(f.limit, "limit", 1, 500, &lst.limit, err);
      lst.has_limit = f.limit != NULL;
      if (rc == KEHU_OK && f.expiring)
        rc = kehu_parse_u32(f.expiring, "expiring-within", 0, 36500, &lst.expiring_within_days, err);
      lst.has_expiring_within_days = f.expiring != NULL;
      req.op_case = KEHU__REQUEST__OP_CHILD_LIST;
      req.child_list = &lst;
    }
  }
  if (rc == KEHU_OK)
    rc = run(cli, s, &req, err);
  if (m)
    protobuf_c_message_free_unpacked(m, NULL);
  for (size_t i = 0; i < MAX_FLAGS; i++)
    kehu_strlist_free(&f.lists[i]);
  kehu_strlist_free(&args);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}

int kehu_cmd_records(kehu_cli *cli, const char *kind, int argc, char **argv, kehu_error *err)
{
  const record_spec *s = NULL;
  for (size_t i = 0; i < N(specs); i++)
    if (strcmp(specs[i].name, kind) == 0)
      s = &specs[i];
  char usage[2048];
  usage_text(s, usage, sizeof usage);
  if (argc < 1)
    return kehu_usage_error(cli, usage, err, "%s: which command? (add, list, update, delete)", kind);
  if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
    kehu_print_usage(usage);
    return KEHU_OK;
  }
  static const char *const verbs[] = {"add", "list", "update", "delete"};
  for (size_t i = 0; i < N(verbs); i++)
    if (strcmp(argv[0], verbs[i]) == 0)
      return run_verb(cli, s, verbs[i], argc - 1, argv + 1, err);
  return kehu_usage_error(cli, usage, err, "%s: unknown command `%s`", kind, argv[0]);
}

#define RECORD_COMMAND(kind)                                                     \
  int kehu_cmd_##kind(kehu_cli *cli, int argc, char **argv, kehu_error *err)     \
  {                                                                              \
    return kehu_cmd_records(cli, #kind, argc, argv, err);                       \
  }
RECORD_COMMAND(contact)
RECORD_COMMAND(followup)
RECORD_COMMAND(need)
RECORD_COMMAND(contract)
RECORD_COMMAND(order)
RECORD_COMMAND(ticket)
