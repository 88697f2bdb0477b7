/* Header rows of a customer import (import_map.h, docs/architecture.md#import):
 * each header cell is cleaned of spaces, '*' marks and notes in
 * parentheses, then looked up among the field names and the template's
 * Chinese labels. */
#include "import_map.h"

#include <stdio.h>
#include <string.h>

static const char *const names[KEHU_IMPORT_FIELDS] = {
  "name", "external_code", "industry", "size", "stage", "source", "address", "region",
  "owner", "tags", "notes", "first_contact_at", "contact_name", "contact_phone",
  "contact_title", "contact_email", "short_name", "kind",
};

/* Chinese labels, as the import template and common spreadsheets write them. */
#define F(f) KEHU_IMPORT_##f
static const struct {
  const char *label;
  kehu_import_field field;
} labels[] = {
  {"客户名称", F(NAME)}, {"客户名", F(NAME)}, {"名称", F(NAME)}, {"公司名称", F(NAME)},
  {"企业名称", F(NAME)},
  {"客户编号", F(EXTERNAL_CODE)}, {"编号", F(EXTERNAL_CODE)},
  {"所属行业", F(INDUSTRY)}, {"行业", F(INDUSTRY)},
  {"企业规模", F(SIZE)}, {"规模", F(SIZE)}, {"员工数", F(SIZE)},
  {"客户状态", F(STAGE)}, {"客户阶段", F(STAGE)}, {"阶段", F(STAGE)}, {"状态", F(STAGE)},
  {"客户来源", F(SOURCE)}, {"来源", F(SOURCE)},
  {"地址", F(ADDRESS)}, {"企业地址", F(ADDRESS)}, {"公司地址", F(ADDRESS)},
  {"所在地区", F(REGION)}, {"地区", F(REGION)}, {"区域", F(REGION)},
  {"跟进人", F(OWNER)}, {"负责人", F(OWNER)},
  {"标签", F(TAGS)},
  {"备注", F(NOTES)},
  {"首次接触时间", F(FIRST_CONTACT_AT)}, {"首次接触日期", F(FIRST_CONTACT_AT)},
  {"联系人", F(CONTACT_NAME)},
  {"联系方式", F(CONTACT_PHONE)}, {"联系电话", F(CONTACT_PHONE)}, {"电话", F(CONTACT_PHONE)},
  {"手机", F(CONTACT_PHONE)},
  {"职务", F(CONTACT_TITLE)}, {"职位", F(CONTACT_TITLE)},
  {"邮箱", F(CONTACT_EMAIL)}, {"电子邮箱", F(CONTACT_EMAIL)}, {"email", F(CONTACT_EMAIL)},
  {"简称", F(SHORT_NAME)}, {"客户简称", F(SHORT_NAME)}, {"公司简称", F(SHORT_NAME)},
  {"客户类型", F(KIND)},
};
#undef F

const char *kehu_import_field_name(kehu_import_field f)
{
  return (unsigned)f < KEHU_IMPORT_FIELDS ? names[f] : "?";
}

static int starts(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The header without notes in ( ) or （ ）, '*' or '＊', spaces (also U+3000);
 * ASCII lowercased, ' ' and '-' between words as '_'. */
static void clean(const char *in, char *out, size_t cap)
{
  size_t n = 0;
  int depth = 0;
  for (const char *p = in; *p && n + 1 < cap;) {
    if (*p == '(' || starts(p, "（")) {
      depth++;
      p += *p == '(' ? 1 : strlen("（");
    } else if (*p == ')' || starts(p, "）")) {
      depth -= depth > 0;
      p += *p == ')' ? 1 : strlen("）");
    } else if (depth || *p == '*') {
      p++;
    } else if (starts(p, "＊") || starts(p, "　")) {
      p += 3;
      out[n++] = ' ';
    } else {
      char c = *p++;
      out[n++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
  }
  out[n] = '\0';
  size_t a = 0; /* trim, then words joined by '_' */
  while (out[a] == ' ' || out[a] == '\t')
    a++;
  memmove(out, out + a, strlen(out + a) + 1);
  for (n = strlen(out); n && (out[n - 1] == ' ' || out[n - 1] == '\t'); n--)
    out[n - 1] = '\0';
  for (char *p = out; *p; p++)
    if (*p == ' ' || *p == '-')
      *p = '_';
}

int kehu_import_field_of(const char *header)
{
  char h[256];
  clean(header, h, sizeof h);
  for (int f = 0; f < KEHU_IMPORT_FIELDS; f++)
    if (!strcmp(h, names[f]))
      return f;
  for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
    if (!strcmp(h, labels[i].label))
      return (int)labels[i].field;
  return -1;
}

static void note_ignored(kehu_import_header *h, const char *header)
{
  size_t used = strlen(h->ignored);
  const char *shown = *header ? header : "(empty)";
  if (used + strlen(shown) + 6 < sizeof h->ignored)
    snprintf(h->ignored + used, sizeof h->ignored - used, "%s%s", used ? ", " : "", shown);
  else if (!strstr(h->ignored, "..."))
    snprintf(h->ignored + used, sizeof h->ignored - used, ", ...");
  h->n_ignored++;
}

int kehu_import_map_header(const kehu_sheet_row *row, kehu_import_header *h, kehu_error *err)
{
  memset(h, 0, sizeof *h);
  for (int f = 0; f < KEHU_IMPORT_FIELDS; f++)
    h->column[f] = -1;
  h->ncols = row->n < KEHU_SHEET_MAX_COLS ? row->n : KEHU_SHEET_MAX_COLS;
  for (size_t i = 0; i < h->ncols; i++) {
    int f = kehu_import_field_of(row->cells[i]);
    h->field[i] = f;
    if (f < 0) {
      note_ignored(h, row->cells[i]);
    } else if (h->column[f] >= 0) {
      return kehu_fail(err, KEHU_INVALID, row->cells[i],
                       "line %zu: columns '%s' and '%s' both mean %s", row->line,
                       row->cells[h->column[f]], row->cells[i], names[f]);
    } else {
      h->column[f] = (int)i;
    }
  }
  if (h->column[KEHU_IMPORT_NAME] < 0)
    return kehu_fail(err, KEHU_INVALID, "name",
                     "line %zu: no column for the customer's name (客户名称 or name)", row->line);
  return KEHU_OK;
}

const char *kehu_import_cell(const char *cell)
{
  /* an export puts one quote before a formula-like start, quotes before
   * it included (kehu_sheet_neutralise): "'=1" -> "=1", "''=1" -> "'=1" */
  size_t q = cell ? strspn(cell, "'") : 0;
  if (q && cell[q] && strchr("=+-@\t\r", cell[q]))
    return cell + 1;
  return cell;
}
