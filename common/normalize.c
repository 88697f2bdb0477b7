#include "normalize.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Parts of legal forms, removed from the end one at a time, the first
 * that matches (longest first) each time, until none is left: a form counts
 * the same written whole or in part, so 上海华东制造集团有限公司, 上海华东制造集团
 * and 上海华东制造有限公司 all leave 上海华东制造, as 控股集团股份有限公司 and
 * 股份公司 do. */
static const char *const legal_suffixes[] = {
  "有限责任公司", "有限公司", "公司", "股份", "集团", "控股",
  "colimited", "coltd", "limited", "ltd", "inc", "llc", "gmbh",
};

static int ends_with(const char *s, size_t n, const char *suffix, size_t *at)
{
  size_t k = strlen(suffix);
  if (k >= n || memcmp(s + n - k, suffix, k) != 0)
    return 0;
  *at = n - k;
  return 1;
}

int kehu_normalize_company(const char *name, char *out, size_t len)
{
  utf8proc_uint8_t *mapped = NULL;
  utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)name, 0, &mapped,
                                    UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                        UTF8PROC_COMPAT | UTF8PROC_CASEFOLD);
  if (n < 0)
    return -1;
  size_t used = 0;
  for (utf8proc_ssize_t i = 0; i < n;) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t step = utf8proc_iterate(mapped + i, n - i, &cp);
    if (step <= 0)
      break;
    utf8proc_category_t cat = utf8proc_category(cp);
    int drop = cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
               cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_CC ||
               (cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO);
    if (!drop) {
      if (used + (size_t)step >= len) {
        free(mapped);
        return -1;
      }
      memcpy(out + used, mapped + i, (size_t)step);
      used += (size_t)step;
    }
    i += step;
  }
  free(mapped);
  out[used] = '\0';
  for (size_t i = 0; i < sizeof legal_suffixes / sizeof *legal_suffixes;) {
    size_t at;
    if (ends_with(out, used, legal_suffixes[i], &at)) {
      out[used = at] = '\0';
      i = 0;
    } else {
      i++;
    }
  }
  return 0;
}
