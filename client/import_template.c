#include "import_template.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "i18n.h"
#include "sheet_neutral.h"

const char *const kehu_import_template_headers[] = {
  "客户编号", "客户名称(*)", "所属行业", "企业规模(员工数)", "联系人(*)", "联系方式(虚拟)",
  "首次接触时间", "跟进人(*)", "客户状态(潜在/成交/流失)", "客户来源", "企业地址", "所在地区",
  "职务", "邮箱", "标签", "备注", "客户简称", "客户类型(企业/个人)"};
const size_t kehu_import_template_ncols =
  sizeof kehu_import_template_headers / sizeof *kehu_import_template_headers;

#define STAGE_COL 8             /* 客户状态 */
#define KEHU_TEMPLATE_ROWS 10000 /* rows the stage list covers */

/* One example row; the phone is a made-up number. */
static const char *const example[] = {
  "KH-0001", "杭州青禾食品有限公司", "食品", "100-500", "张伟", "13800138000", "2024-01-15",
  "wang.fang", "潜在", "展会", "浙江省杭州市西湖区文三路 100 号", "浙江省 杭州市", "采购经理",
  "zhangwei@example.com", "华东；重点", "示例行，导入前请删除", "青禾食品", "企业"};

static const double widths[] = {12, 28, 12, 16, 10, 16, 14, 12, 22, 10, 32, 16, 12, 24, 16, 24,
                                12, 18};

/* Sheet 2: a column per topic, its values under it. */
static const char *const stage_values[] = {"潜在", "意向", "成交", "流失", NULL};
static const char *const choices[][9] = {
  {"客户状态(潜在/成交/流失)", "潜在", "意向", "成交", "流失",
   "英文亦可：potential / intent / closed / lost", NULL},
  {"企业规模(员工数)", "1-50", "50-100", "100-500", "500-1000", "1000+",
   "也可写 100-500人、500人以上、50人以下", NULL},
  {"首次接触时间", "2024-01-15", "2024/1/15", "2024年1月15日", "20240115",
   "也可用 Excel 的日期单元格", NULL},
  {"联系方式(虚拟)", "手机：13800138000", "带区号：86 138 0013 8000", "座机：0571-88886666",
   "空格和横线不影响识别", NULL},
  {"标签", "多个标签用 , ， ; ； 、 分开", NULL},
  {"说明", "带 (*) 的列必须填写", "跟进人填系统用户名", "第一行表头请勿修改",
   "导入前删除示例行", NULL},
};

typedef struct {
  lxw_worksheet *ws;
  char *buf;
  size_t cap;
} book;

/* A text cell, neutralised as every sheet kehu writes. */
static int text(book *b, lxw_row_t r, lxw_col_t c, const char *v, lxw_format *f, kehu_error *err)
{
  int rc = kehu_sheet_neutralise(v, &b->buf, &b->cap, err);
  if (rc != KEHU_OK)
    return rc;
  lxw_error e = worksheet_write_string(b->ws, r, c, b->buf, f);
  return e == LXW_NO_ERROR
             ? KEHU_OK
             : kehu_fail_tr(err, KEHU_INTERNAL, NULL, "template: %s", lxw_strerror(e));
}

static int fill(lxw_workbook *wb, kehu_error *err)
{
  lxw_worksheet *main = workbook_add_worksheet(wb, "客户");
  lxw_worksheet *values = workbook_add_worksheet(wb, "可选值");
  lxw_format *bold = workbook_add_format(wb);
  if (!main || !values || !bold)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "template: cannot add a sheet");
  format_set_bold(bold);
  book b = {.ws = main};
  int rc = KEHU_OK;
  for (size_t c = 0; c < kehu_import_template_ncols && rc == KEHU_OK; c++) {
    rc = text(&b, 0, (lxw_col_t)c, kehu_import_template_headers[c], bold, err);
    if (rc == KEHU_OK)
      rc = text(&b, 1, (lxw_col_t)c, example[c], NULL, err);
    worksheet_set_column(main, (lxw_col_t)c, (lxw_col_t)c, widths[c], NULL);
  }
  worksheet_freeze_panes(main, 1, 0);
  /* The stage column offers its four values; other spellings import too
   * (English), so a value not in the list only warns. */
  lxw_data_validation dv = {0};
  dv.validate = LXW_VALIDATION_TYPE_LIST;
  dv.value_list = (char **)stage_values;
  dv.error_type = LXW_VALIDATION_ERROR_TYPE_WARNING;
  dv.error_title = "客户状态";
  dv.error_message = "可选：潜在、意向、成交、流失";
  if (rc == KEHU_OK &&
      worksheet_data_validation_range(main, 1, STAGE_COL, KEHU_TEMPLATE_ROWS, STAGE_COL, &dv) !=
          LXW_NO_ERROR)
    rc = kehu_fail_tr(err, KEHU_INTERNAL, NULL, "template: cannot add the stage list");

  b.ws = values;
  for (size_t c = 0; c < sizeof choices / sizeof *choices && rc == KEHU_OK; c++) {
    for (size_t r = 0; choices[c][r] && rc == KEHU_OK; r++)
      rc = text(&b, (lxw_row_t)r, (lxw_col_t)c, choices[c][r], r ? NULL : bold, err);
    worksheet_set_column(values, (lxw_col_t)c, (lxw_col_t)c, c == 5 ? 24 : 30, NULL);
  }
  worksheet_freeze_panes(values, 1, 0);
  free(b.buf);
  return rc;
}

int kehu_import_template_write(const char *path, kehu_error *err)
{
  if (access(path, F_OK) == 0)
    return kehu_fail_tr(err, KEHU_CONFLICT, "output", "%s exists; it is not replaced", path);
  size_t tl = strlen(path) + 32;
  char *tmp = malloc(tl);
  if (!tmp)
    return kehu_fail_tr(err, KEHU_INTERNAL, NULL, "out of memory");
  snprintf(tmp, tl, "%s.%ld.tmp", path, (long)getpid());
  lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = NULL};
  lxw_workbook *wb = workbook_new_opt(tmp, &opt);
  int rc = wb ? fill(wb, err)
              : kehu_fail_tr(err, KEHU_INTERNAL, NULL, "cannot start the xlsx file %s", path);
  if (wb) {
    lxw_error e = workbook_close(wb);
    if (rc == KEHU_OK && e != LXW_NO_ERROR)
      rc = kehu_fail_tr(err, KEHU_INTERNAL, "output", "cannot write %s: %s", path, lxw_strerror(e));
  }
  /* link, not rename: a file that appeared meanwhile is not replaced. */
  if (rc == KEHU_OK && link(tmp, path) != 0)
    rc = errno == EEXIST
             ? kehu_fail_tr(err, KEHU_CONFLICT, "output", "%s exists; it is not replaced", path)
             : kehu_fail_errno(err, KEHU_INTERNAL, "output", errno, "cannot write %s", path);
  unlink(tmp);
  free(tmp);
  return rc;
}
