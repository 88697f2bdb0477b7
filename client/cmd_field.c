/* kehu field define | list: custom fields (docs/architecture.md#custom-fields), defined by admins
 * per entity and validated by the server on every write. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "i18n.h"
#include "show.h"

static const char field_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] field COMMAND ...\n"
  "\n"
  "Commands:\n"
  "  define ENTITY KEY --type TYPE [FLAGS]   define a custom field (admin)\n"
  "  list [ENTITY]                           the fields defined\n"
  "\n"
  "Run `kehu field COMMAND --help` for the flags of a command.\n");

static const char define_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] field define ENTITY KEY --type TYPE [FLAGS]\n"
  "\n"
  "Defines (or redefines) custom field KEY of ENTITY (customer), set with\n"
  "`kehu customer add|update --field KEY=VALUE`. Admins only.\n"
  "  --type TYPE    text | number | date | enum | bool\n"
  "  --required     every record must have a value\n"
  "  --option O     an allowed value of an enum (repeatable)\n"
  "  --label L      the name people see\n");

static const char list_usage[] = N_("usage: kehu [GLOBAL OPTIONS] field list [ENTITY]\n");

static const char *const columns[] = {
  "entity", "key", "label", "type", "required", "options", NULL,
};

static int define(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  Kehu__FieldDef def = KEHU__FIELD_DEF__INIT;
  kehu_strlist options = {0};
  int required = 0;
  const kehu_flag flags[] = {
    {"type", KEHU_FLAG_VALUE, &def.type}, {"required", KEHU_FLAG_BOOL, &required},
    {"option", KEHU_FLAG_LIST, &options}, {"label", KEHU_FLAG_VALUE, &def.label},
  };
  const kehu_command cmd = {"field define", define_usage, flags, sizeof flags / sizeof *flags,
                            2, 2, "ENTITY and KEY"};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc == KEHU_OK)
    rc = kehu_flag_required(cli, &cmd, "type", def.type, err);
  if (rc == KEHU_OK) {
    def.entity = (char *)args.items[0];
    def.key = (char *)args.items[1];
    def.has_required = required;
    def.required = required;
    def.options = (char **)options.items;
    def.n_options = options.n;
    Kehu__FieldDefine fd = KEHU__FIELD_DEFINE__INIT;
    fd.def = &def;
    Kehu__Request req = KEHU__REQUEST__INIT;
    req.op_case = KEHU__REQUEST__OP_FIELD_DEFINE;
    req.field_define = &fd;
    rc = kehu_request_show(cli, &req, NULL, err);
  }
  kehu_strlist_free(&options);
  kehu_strlist_free(&args);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}

static int list(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const kehu_command cmd = {"field list", list_usage, NULL, 0, 0, 1, "ENTITY"};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  if (rc == KEHU_OK) {
    Kehu__FieldList q = KEHU__FIELD_LIST__INIT;
    q.entity = args.n ? (char *)args.items[0] : NULL;
    Kehu__Request req = KEHU__REQUEST__INIT;
    req.op_case = KEHU__REQUEST__OP_FIELD_LIST;
    req.field_list = &q;
    rc = kehu_request_show(cli, &req, columns, err);
  }
  kehu_strlist_free(&args);
  return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
}

int kehu_cmd_field(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  static const kehu_subcommand subs[] = {{"define", define}, {"list", list}};
  return kehu_subcommand_run(cli, "field", field_usage, subs, sizeof subs / sizeof *subs, argc,
                             argv, err);
}
