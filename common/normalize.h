/* Matching forms of text (never stored as the record's value, docs/architecture.md#validation). */
#ifndef KEHU_NORMALIZE_H
#define KEHU_NORMALIZE_H

#include <stddef.h>

/* A company name for duplicate detection (docs/architecture.md#duplicates): NFKC, case-folded,
 * whitespace and punctuation removed, legal-form suffixes (有限公司,
 * 有限责任公司, 股份, 集团, 控股 and their combinations, Co., Ltd., Inc.)
 * removed. Writes a NUL-terminated string to out; 0, or -1 if it does not
 * fit or the input is not UTF-8. 北京星河科技有限公司 and 北京星河科技 give
 * the same form, and so do 上海华东制造集团 and 上海华东制造集团有限公司. */
int kehu_normalize_company(const char *name, char *out, size_t len);

#endif
