/* kehu import template [-o FILE.xlsx]: writes the customer import template
 * (client/import_template.h); no server is needed. An existing file is not
 * replaced (exit 6). */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "cli.h"
#include "i18n.h"
#include "import_template.h"
#include "output.h"

/* The default file is KEHU_IMPORT_TEMPLATE_DEFAULT, written out: the
 * catalogue is made from literals alone. */
static const char template_usage[] = N_(
  "usage: kehu [GLOBAL OPTIONS] import template [-o FILE.xlsx]\n"
  "\n"
  "Writes the customer import template (default 客户导入模板.xlsx): sheet\n"
  "客户 with the import's headers and an example row, sheet 可选值 with the values\n"
  "import accepts. An existing FILE is not replaced (exit 6).\n");

int kehu_cmd_import_template(kehu_cli *cli, int argc, char **argv, kehu_error *err)
{
  const char *out = NULL;
  const kehu_flag flags[] = {{"o", KEHU_FLAG_VALUE, &out}, {"output", KEHU_FLAG_VALUE, &out}};
  const kehu_command cmd = {"import template", template_usage, flags, 2, 0, 0, NULL};
  kehu_strlist args = {0};
  int rc = kehu_args_parse(cli, &cmd, argc, argv, &args, err);
  kehu_strlist_free(&args);
  if (rc != KEHU_OK)
    return rc == KEHU_HELP_SHOWN ? KEHU_OK : rc;
  if (!out)
    out = KEHU_IMPORT_TEMPLATE_DEFAULT;
  rc = kehu_import_template_write(out, err);
  if (rc != KEHU_OK)
    return rc;
  if (!cli->json) {
    printf(_("wrote %s"), out);
    putchar('\n');
    return KEHU_OK;
  }
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddStringToObject(o, "path", out)) {
    cJSON_Delete(o);
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
  }
  return kehu_output_json(o, err);
}
