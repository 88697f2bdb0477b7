/* Search tokens (SPEC §4): Chinese as character bigrams (a run of one
 * character as itself), Latin words case-folded with their prefixes from
 * two characters, legal forms (有限公司, Co., Ltd. ...) left out. Text is
 * NFKC-normalised and case-folded first, so the index and queries agree. */
#ifndef KEHU_SEARCH_TEXT_H
#define KEHU_SEARCH_TEXT_H

#include <stddef.h>

#define KEHU_TOKEN_MAX 64

typedef void (*kehu_token_fn)(const char *token, size_t len, void *arg);

/* Every index token of text. */
void kehu_search_index_tokens(const char *text, kehu_token_fn emit, void *arg);

/* One query term as the index knows it: each required token, and whether
 * the term is a single Chinese character (its token is a key prefix). */
void kehu_search_query_tokens(const char *term, kehu_token_fn emit, int *single_char, void *arg);

/* The normalised form of text (NFKC, case-folded) used to verify a match
 * and rank it; caller frees. NULL for invalid UTF-8. */
char *kehu_search_fold(const char *text);

#endif
