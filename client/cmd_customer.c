/* kehu customer add | get | list | update | stage | delete | restore | purge |
 * dupes | merge */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "customer_view.h"
#include "frame.h"
#include "i18n.h"
#include "output.h"
#include "show.h"
#include "validate.h"

static const char customer_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] customer COMMAND ...\n"
  "\n"
  "Commands:\n"
  "  add --name N [FIELDS]          create a customer\n"
  "  get ID                         show one customer\n"
  "  list [FILTERS]                 list customers\n"
  "  search QUERY... [FILTERS]      find customers by name, contact, phone, email\n"
  "  update ID [--version V] [FIELDS]  change the fields given\n"
  "  stage ID STAGE [--reason R]    move a customer to another stage\n"
  "  delete ID                      move a customer to the recycle bin\n"
  "  restore ID                     bring a customer back from the recycle bin\n"
  "  purge ID                       erase a customer and everything attached (admin)\n"
  "  dupes [--limit N]              list suspected duplicate pairs\n"
  "  merge KEEP_ID OTHER_ID         move OTHER's records to KEEP, bin OTHER\n"
  "\n"
  "Run `kehu customer COMMAND --help` for the flags of a command.\n");

/* The field flags of add and update, in both --help texts (put together
 * at run time: usage_of). */
static const char field_flags_help[] = N_(
  "  --name N             official name (required for add)\n"
  "  --short S            short name\n"
  "  --kind K             company | individual\n"
  "  --stage S            potential | intent | closed | lost (潜在 意向 成交 流失)\n"
  "  --industry I         industry\n"
  "  --size S             employee band, e.g. 100-500\n"
  "  --region R           province / city / district\n"
  "  --address A          address\n"
  "  --source S           where the customer came from\n"
  "  --owner USER         the rep responsible\n"
  "  --notes TEXT         free text\n"
  "  --external-code C    your own customer number (unique)\n"
  "  --field KEY=VALUE    a custom field (repeatable)\n");

static const char add_usage_head[] = N_(
  "usage: kehu [GLOBAL OPTIONS] customer add --name N [FLAGS]\n"
  "\n");
static const char add_usage_tail[] = N_(
  "  --tag T              a tag (repeatable)\n"
  "  --force              add even when a customer with the same name exists\n");

static const char get_usage[] = N_("usage: kehu [GLOBAL OPTIONS] customer get ID\n");

static const char list_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] customer list [FLAGS]\n"
  "\n"
  "  --stage S      only customers in this stage\n"
  "  --owner USER   only customers of this rep\n"
  "  --tag T        only customers with this tag\n"
  "  --industry I   --region R   --source S\n"
  "  --deleted      the recycle bin instead (admins and owners)\n"
  "  --limit N      at most N customers (1-500, default 50)\n"
  "  --cursor C     continue where a previous page stopped (its `more:` line)\n"
  "  --sort FIELD   name, created, updated, last_contact or stage (the funnel's\n"
  "                 order); -FIELD the other way round: --sort -last_contact\n"
  "  --tier T       high, potential, churn_risk or normal (the value tier; customer\n"
  "                 get shows why a customer has its tier)\n");

static const char search_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] customer search QUERY... [FLAGS]\n"
  "\n"
  "Finds customers by name, short name, tag, contact name, phone (whole, or its\n"
  "last 4 or 8 digits) or email; every word must match. Chinese is matched by\n"
  "character pairs (`search 科技`, `search 华东 制造`), Latin words by prefix.\n"
  "Best matches first: the whole name, then names that start with the query.\n"
  "  --stage S  --owner USER  --tag T  --industry I  --region R  --source S\n"
  "  --limit N      at most N customers (1-500, default 50)\n"
  "  --cursor C     continue where a previous page stopped\n"
  "  --sort FIELD   the matches (500 at most) by a field, not by rank\n");

static const char update_usage_head[] = N_(
  "usage: kehu [GLOBAL OPTIONS] customer update ID [--version V] [FLAGS]\n"
  "\n"
  "Changes only the fields given.\n"
  "  --version V          fail with a conflict unless the customer is at version V\n");
static const char update_usage_tail[] = N_(
  "  --tag T              replaces all tags (repeatable; --tag '' removes them all)\n");

/* The --help text of add or update in the user's language, into buf. */
static const char *usage_of(int for_update, char *buf, size_t size)
{
  snprintf(buf, size, "%s%s%s", _(for_update ? update_usage_head : add_usage_head),
           _(field_flags_help), _(for_update ? update_usage_tail : add_usage_tail));
  return buf;
}

static const char delete_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] customer delete ID\n"
  "\n"
  "Moves the customer to the recycle bin (restorable for 30 days).\n");

static const char restore_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] customer restore ID\n"
  "\n"
  "Brings a customer back from the recycle bin.\n");

static const char purge_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] customer purge ID\n"
  "\n"
  "Erases a customer, live or binned, and everything attached to it, for\n"
  "good (right to erasure). Admins only.\n");

static const char stage_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] customer stage ID STAGE [--reason R]\n"
  "\n"
  "STAGE is potential | intent | closed | lost (潜在 意向 成交 流失).\n"
  "  --reason R     why, kept in the stage history\n");

static const char dupes_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] customer dupes [--limit N]\n"
  "\n"
  "Lists pairs of customers that look like the same one: equal normalised\n"
  "names or a contact mobile number in common.\n"
  "  --limit N      at most N pairs\n");

static const char merge_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] customer merge KEEP_ID OTHER_ID\n"
  "\n"
  "Moves every contact, follow-up, contract, order, ticket, attachment and\n"
  "reminder of OTHER to KEEP and moves OTHER to the recycle bin.\n");

/* ---- the fields of add and update ---- */

static const struct {
  const char *flag;
  size_t offset;   /* of the char * in Kehu__Customer */
} text_flags[] = {
  {"name", offsetof(Kehu__Customer, name)},   /* first: f.text[0], required by add */
  {"short", offsetof(Kehu__Customer, short_name)},
  {"kind", offsetof(Kehu__Customer, kind)},
  {"stage", offsetof(Kehu__Customer, stage)},
  {"industry", offsetof(Kehu__Customer, industry)},
  {"size", offsetof(Kehu__Customer, size)},
  {"region", offsetof(Kehu__Customer, region)},
  {"address", offsetof(Kehu__Customer, address)},
  {"source", offsetof(Kehu__Customer, source)},
  {"owner", offsetof(Kehu__Customer, owner)},
  {"notes", offsetof(Kehu__Customer, notes)},
  {"external-code", offsetof(Kehu__Customer, external_code)},
};
enum { N_TEXT = sizeof text_flags / sizeof *text_flags };

typedef struct {
  const char *text[N_TEXT];
  kehu_strlist tags;
  kehu_strlist fields;
  const char *version;   /* update */
  int force;             /* add */
  /* what the Customer message points to */
  char **tag_items;
  Kehu__CustomField *field_structs;
  Kehu__CustomField **field_items;
  char **field_keys;
} customer_form;

/* The flag table of add (for_update 0) or update; returns its length. */
static size_t form_flags(customer_form *f, int for_update, kehu_flag *out)
{
  size_t n = 0;
  for (size_t i = 0; i < N_TEXT; i++)
    out[n++] = (kehu_flag){text_flags[i].flag, KEHU_FLAG_VALUE, &f->text[i]};
  out[n++] = (kehu_flag){"tag", KEHU_FLAG_LIST, &f->tags};
  out[n++] = (kehu_flag){"field", KEHU_FLAG_LIST, &f->fields};
  if (for_update)
    out[n++] = (kehu_flag){"version", KEHU_FLAG_VALUE, &f->version};
  else
    out[n++] = (kehu_flag){"force", KEHU_FLAG_BOOL, &f->force};
  return n;
}

static void form_free(customer_form *f)
{
  if (f->field_keys) {
    for (size_t i = 0; i < f->fields.n; i++)
      free(f->field_keys[i]);
  }
  free(f->field_keys);
  free(f->field_structs);
  free(f->field_items);
  free(f->tag_items);
  kehu_strlist_free(&f->tags);
  kehu_strlist_free(&f->fields);
}

/* Sets the fields given on the command line; *any tells whether there was
 * one. Strings point into argv (and the form); nothing here is freed with
 * the message. */
static int form_to_customer(customer_form *f, Kehu__Customer *c, int *any, kehu_error *err)
{
  *any = 0;
  for (size_t i = 0; i < N_TEXT; i++) {
    if (f->text[i]) {
      *(char **)((char *)c + text_flags[i].offset) = (char *)f->text[i];
      *any = 1;
    }
  }
  if (f->tags.n > 0) {
    *any = 1;
    f->tag_items = calloc(f->tags.n, sizeof *f->tag_items);
    if (!f->tag_items)
      return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < f->tags.n; i++) {
      if (f->tags.items[i][0])   /* empty tags only clear the set */
        f->tag_items[c->n_tags++] = (char *)f->tags.items[i];
    }
    c->tags = f->tag_items;
  }
  size_t n = f->fields.n;
  if (n > 0) {
    *any = 1;
    f->field_structs = calloc(n, sizeof *f->field_structs);
    f->field_items = calloc(n, sizeof *f->field_items);
    f->field_keys = calloc(n, sizeof *f->field_keys);
    if (!f->field_structs || !f->field_items || !f->field_keys)
      return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
      const char *arg = f->fields.items[i];
      const char *eq = strchr(arg, '=');
      if (!eq || eq == arg)
        return kehu_fail_tr(err, KEHU_INVALID, "fields", "--field `%s`: expected KEY=VALUE", arg);
      f->field_keys[i] = strndup(arg, (size_t)(eq - arg));
      if (!f->field_keys[i])
        return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
      Kehu__CustomField init = KEHU__CUSTOM_FIELD__INIT;
      f->field_structs[i] = init;
      f->field_structs[i].key = f->field_keys[i];
      f->field_structs[i].value = (char *)eq + 1;
      f->field_items[i] = &f->field_structs[i];
    }
    c->n_fields = n;
    c->fields = f->field_items;
  }
  return KEHU_OK;
}

/* ---- running a request ---- */

/* {"id": id, "<done>": true} or, for people, human (a msgid with the id's
 * %s) in the user's language. */
static int show_done(const kehu_cli *cli, const char *id, const char *done, const char *human,
                     kehu_error *err)
{
  if (!cli->json) {
    printf(_(human), id);
    putchar('\n');
    return KEHU_OK;
  }
  cJSON *o = cJSON_CreateObject();
  if (o && (kehu_json_add_string(o, "id", id) || !cJSON_AddTrueToObject(o, done))) {
    cJSON_Delete(o);
    o = NULL;
  }
  return kehu_output_json(o, err);
}

static int show(const kehu_cli *cli, const Kehu__Request *req, const Kehu__Response *r,
                kehu_error *err)
{
  Kehu__Response__ResultCase want = KEHU__RESPONSE__RESULT_CUSTOMER;
  switch (req->op_case) {
  case KEHU__REQUEST__OP_CUSTOMER_DELETE:
    return show_done(cli, req->customer_delete->id, "deleted",
                     N_("deleted %s (in the recycle bin for 30 days)"), err);
  case KEHU__REQUEST__OP_CUSTOMER_PURGE:
    return show_done(cli, req->customer_purge->id, "purged", N_("purged %s (erased for good)"),
                     err);
  case KEHU__REQUEST__OP_CUSTOMER_LIST:
  case KEHU__REQUEST__OP_CUSTOMER_SEARCH:
    want = KEHU__RESPONSE__RESULT_CUSTOMER_PAGE;
    break;
  case KEHU__REQUEST__OP_CUSTOMER_DUPES:
    want = KEHU__RESPONSE__RESULT_DUPLICATES;
    break;
  case KEHU__REQUEST__OP_CUSTOMER_MERGE:
    want = KEHU__RESPONSE__RESULT_MERGE;
    break;
  default:
    break;
  }
  if (r->result_case != want)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "the server's response carries no %s",
                        want == KEHU__RESPONSE__RESULT_CUSTOMER ? "customer" : "result");
  switch (want) {
  case KEHU__RESPONSE__RESULT_CUSTOMER_PAGE:
    if (cli->json)
      return kehu_output_json(kehu_customer_page_json(r->customer_page), err);
    kehu_customer_page_print(stdout, r->customer_page);
    return KEHU_OK;
  case KEHU__RESPONSE__RESULT_DUPLICATES:
    if (cli->json)
      return kehu_output_json(kehu_duplicates_json(r->duplicates), err);
    kehu_duplicates_print(stdout, r->duplicates);
    return KEHU_OK;
  case KEHU__RESPONSE__RESULT_MERGE:
    if (cli->json)
      return kehu_output_json(kehu_merge_json(r->merge), err);
    printf(ngettext("merged %s into %s: %u record moved", "merged %s into %s: %u records moved",
                    r->merge->moved),
           req->customer_merge->other_id, r->merge->kept->id, r->merge->moved);
    if (r->merge->reminders_moved)
      printf(ngettext(" (%u of them reminder)", " (%u of them reminders)",
                      r->merge->reminders_moved),
             r->merge->reminders_moved);
    printf("\n");
    kehu_customer_print(stdout, r->merge->kept);
    return KEHU_OK;
  default:
    if (cli->json)
      return kehu_output_json(kehu_customer_json(r->customer), err);
    kehu_customer_print(stdout, r->customer);
    return KEHU_OK;
  }
}

static int run(kehu_cli *cli, const Kehu__Request *req, kehu_error *err)
{
  Kehu__Envelope *env = NULL;
  int rc = kehu_request(cli, req, &env, err);
  if (rc == KEHU_OK)
    rc = show(cli, req, env->response, err);
  kehu_envelope_free(env);
  return rc;
}

/* ---- the subcommands ---- */

static int add_or_update(kehu_cli *cli, int for_update, int argc, char **argv, kehu_error *err)
{
  customer_form f = {0};
  kehu_flag flags[N_TEXT + 3];
  char usage[4096];
  const kehu_command cmd = {for_update ? "customer update" : "customer add",
                            usage_of(for_update, usage, sizeof usage),
                            flags, form_flags(&f, for_update, flags),
                            (size_t)for_update, (size_t)for_update, "ID"};
  kehu_strlist args = {0};
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  int any = 0;
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  /* A required flag left out is a usage error (exit 2, README.md), found before
   * anything is sent; --name "" is a value, checked as one. */
  if (rc == KEHU_OK && !for_update)
    rc = kehu_flag_required(cli, &cmd, "name", f.text[0], err);
  if (rc != KEHU_OK)
    goto done;
  uint32_t expected_version = 0;
  if (f.version) {
    rc = kehu_parse_u32(f.version, "version", 1, UINT32_MAX, &expected_version, err);
    if (rc != KEHU_OK)
      goto done;
  }
  rc = form_to_customer(&f, &c, &any, err);
  if (rc == KEHU_OK && for_update && !any) {
    rc = kehu_usage_error(cli, usage, err, "nothing to update: give a flag such as --name");
    goto done;
  }
  if (rc == KEHU_OK && kehu_check_customer(&c, !for_update, err) != 0)
    rc = err->status ? err->status : KEHU_INVALID;
  if (rc != KEHU_OK)
    goto done;

  Kehu__Request req = KEHU__REQUEST__INIT;
  if (for_update) {
    Kehu__CustomerUpdate up = KEHU__CUSTOMER_UPDATE__INIT;
    up.id = (char *)args.items[0];
    up.changes = &c;
    up.has_replace_tags = up.replace_tags = f.tags.n > 0;
    up.has_expected_version = f.version != NULL;
    up.expected_version = expected_version;
    req.op_case = KEHU__REQUEST__OP_CUSTOMER_UPDATE;
    req.customer_update = &up;
    rc = run(cli, &req, err);
  } else {
    Kehu__CustomerAdd add = KEHU__CUSTOMER_ADD__INIT;
    add.customer = &c;
    add.has_force = add.force = f.force;
    req.op_case = KEHU__REQUEST__OP_CUSTOMER_ADD;
    req.customer_add = &add;
    rc = run(cli, &req, err);
    if (rc == KEHU_CONFLICT && err->existing_id[0] && !cli->json) {
      if (!strstr(err->message, err->existing_id))
        kehu_error_append_tr(err, " (existing customer %s)", err->existing_id);
      /* Only a duplicate name may be forced; a taken external code may not
       * (server/handlers/customers.c). */
      if (strcmp(err->field, "name") == 0 && !strstr(err->message, "--force"))
        kehu_error_append_tr(err, "; --force adds it anyway");
    }
  }
done:
  kehu_strlist_free(&args);
  form_free(&f);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}

/* STAGE in English or Chinese as the wire's canonical name. */
static int stage_value(const char *s, char **out, kehu_error *err)
{
  *out = (char *)kehu_stage_canonical(s);
  if (!*out)
    return kehu_fail_tr(err, KEHU_INVALID, "stage",
                        "stage `%s` is not one of potential, intent, closed, lost (潜在, 意向, 成交, 流失)",
                        s);
  return KEHU_OK;
}

/* The commands that take ids and at most one flag. */
typedef struct {
  const char *name;
  const char *usage;
  Kehu__Request__OpCase op;
  size_t nargs;
  const char *args_name;
  const char *flag;   /* its value: stage's reason, dupes' limit */
} simple_command;

static const simple_command simple_commands[] = {
  {"get", get_usage, KEHU__REQUEST__OP_CUSTOMER_GET, 1, "ID", NULL},
  {"delete", delete_usage, KEHU__REQUEST__OP_CUSTOMER_DELETE, 1, "ID", NULL},
  {"restore", restore_usage, KEHU__REQUEST__OP_CUSTOMER_RESTORE, 1, "ID", NULL},
  {"purge", purge_usage, KEHU__REQUEST__OP_CUSTOMER_PURGE, 1, "ID", NULL},
  {"stage", stage_usage, KEHU__REQUEST__OP_CUSTOMER_STAGE, 2, "ID and STAGE", "reason"},
  {"merge", merge_usage, KEHU__REQUEST__OP_CUSTOMER_MERGE, 2, "KEEP_ID and OTHER_ID", NULL},
  {"dupes", dupes_usage, KEHU__REQUEST__OP_CUSTOMER_DUPES, 0, NULL, "limit"},
};

static int simple(kehu_cli *cli, const simple_command *sc, int argc, char **argv,
                  kehu_error *err)
{
  const char *value = NULL;
  const kehu_flag flags[] = {{sc->flag, KEHU_FLAG_VALUE, &value}};
  char name[32];
  snprintf(name, sizeof name, "customer %s", sc->name);
  const kehu_command cmd = {name, sc->usage, flags, sc->flag ? 1 : 0, sc->nargs, sc->nargs,
                            sc->args_name};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  char *a = args.n > 0 ? (char *)args.items[0] : NULL;
  char *b = args.n > 1 ? (char *)args.items[1] : NULL;
  Kehu__Request req = KEHU__REQUEST__INIT;
  Kehu__CustomerGet get = KEHU__CUSTOMER_GET__INIT;
  Kehu__CustomerDelete del = KEHU__CUSTOMER_DELETE__INIT;
  Kehu__CustomerRestore restore = KEHU__CUSTOMER_RESTORE__INIT;
  Kehu__CustomerPurge purge = KEHU__CUSTOMER_PURGE__INIT;
  Kehu__CustomerStage stage = KEHU__CUSTOMER_STAGE__INIT;
  Kehu__CustomerMerge merge = KEHU__CUSTOMER_MERGE__INIT;
  Kehu__CustomerDupes dupes = KEHU__CUSTOMER_DUPES__INIT;
  get.id = del.id = restore.id = purge.id = stage.id = merge.keep_id = a;
  merge.other_id = b;
  stage.reason = (char *)value;
  req.op_case = sc->op;
  switch (sc->op) {
  case KEHU__REQUEST__OP_CUSTOMER_GET: req.customer_get = &get; break;
  case KEHU__REQUEST__OP_CUSTOMER_DELETE: req.customer_delete = &del; break;
  case KEHU__REQUEST__OP_CUSTOMER_RESTORE: req.customer_restore = &restore; break;
  case KEHU__REQUEST__OP_CUSTOMER_PURGE: req.customer_purge = &purge; break;
  case KEHU__REQUEST__OP_CUSTOMER_MERGE: req.customer_merge = &merge; break;
  case KEHU__REQUEST__OP_CUSTOMER_STAGE:
    req.customer_stage = &stage;
    if (rc == KEHU_OK)
      rc = stage_value(b, &stage.stage, err);
    break;
  default:
    req.customer_dupes = &dupes;
    if (rc == KEHU_OK && value)
      rc = kehu_parse_u32(value, "limit", 1, 500, &dupes.limit, err);
    dupes.has_limit = value != NULL;
    break;
  }
  if (rc == KEHU_OK)
    rc = run(cli, &req, err);
  kehu_strlist_free(&args);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}

/* `customer list` and `customer search QUERY...`: the same filters; a
 * search also takes the words to find. */
static int list(kehu_cli *cli, int searching, int argc, char **argv, kehu_error *err)
{
  Kehu__CustomerList q = KEHU__CUSTOMER_LIST__INIT;
  const char *stage = NULL, *limit = NULL, *tier = NULL, *sort = NULL;
  int deleted = 0;
  const kehu_flag flags[] = {
    {"stage", KEHU_FLAG_VALUE, &stage},
    {"owner", KEHU_FLAG_VALUE, &q.owner},
    {"tag", KEHU_FLAG_VALUE, &q.tag},
    {"industry", KEHU_FLAG_VALUE, &q.industry},
    {"region", KEHU_FLAG_VALUE, &q.region},
    {"source", KEHU_FLAG_VALUE, &q.source},
    {"limit", KEHU_FLAG_VALUE, &limit},
    {"cursor", KEHU_FLAG_VALUE, &q.cursor},
    {"tier", KEHU_FLAG_VALUE, &tier},
    {"sort", KEHU_FLAG_VALUE, &sort},
    {"deleted", KEHU_FLAG_BOOL, &deleted},   /* last: not for search */
  };
  const kehu_command cmd = {searching ? "customer search" : "customer list",
                            searching ? search_usage : list_usage, flags,
                            sizeof flags / sizeof *flags - (size_t)searching, searching ? 1 : 0,
                            searching ? 16 : 0, "QUERY"};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc != KEHU_OK) {
    kehu_strlist_free(&args);
    return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
  }
  if (stage)
    rc = stage_value(stage, &q.stage, err);
  if (rc == KEHU_OK && limit) {
    rc = kehu_parse_u32(limit, "limit", 1, 500, &q.limit, err);
    q.has_limit = 1;
  }
  q.tier = (char *)tier;
  q.sort = (char *)sort;
  q.has_deleted = q.deleted = deleted;
  Kehu__Request req = KEHU__REQUEST__INIT;
  req.op_case = KEHU__REQUEST__OP_CUSTOMER_LIST;
  req.customer_list = &q;
  Kehu__CustomerSearch sq = KEHU__CUSTOMER_SEARCH__INIT;
  if (searching) {
    sq.terms = (char **)args.items;
    sq.n_terms = args.n;
    sq.stage = q.stage;
    sq.owner = q.owner;
    sq.tag = q.tag;
    sq.industry = q.industry;
    sq.region = q.region;
    sq.source = q.source;
    sq.has_limit = q.has_limit;
    sq.limit = q.limit;
    sq.cursor = q.cursor;
    sq.sort = q.sort;
    sq.tier = q.tier;
    req.op_case = KEHU__REQUEST__OP_CUSTOMER_SEARCH;
    req.customer_search = &sq;
  }
  if (rc == KEHU_OK)
    rc = run(cli, &req, err);
  kehu_strlist_free(&args);
  return rc;
}

int kehu_cmd_customer(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  if (argc < 1)
    return kehu_usage_error(cli, customer_usage, err, "`kehu customer` needs a command");
  const char *sub = argv[0];
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
    kehu_print_usage(customer_usage);
    return KEHU_OK;
  }
  argc--;
  argv++;
  if (strcmp(sub, "add") == 0)
    return add_or_update(cli, 0, argc, argv, err);
  if (strcmp(sub, "update") == 0)
    return add_or_update(cli, 1, argc, argv, err);
  for (size_t i = 0; i < sizeof simple_commands / sizeof *simple_commands; i++)
    if (strcmp(sub, simple_commands[i].name) == 0)
      return simple(cli, &simple_commands[i], argc, argv, err);
  if (strcmp(sub, "list") == 0)
    return list(cli, 0, argc, argv, err);
  if (strcmp(sub, "search") == 0)
    return list(cli, 1, argc, argv, err);
  return kehu_usage_error(cli, customer_usage, err, "unknown command `customer %s`", sub);
}
