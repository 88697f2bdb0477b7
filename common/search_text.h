/* Search tokens (docs/architecture.md#search): Chinese as character bigrams (a run of one
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

/* One query term as the index knows it: each token to look up. Legal
 * forms, and parts of them at a run's edges, have no tokens in the index:
 * a query leaves them out (exact then says the term must be checked against
 * the text). A word that starts a Latin stop word ("li", "co") is left out
 * too unless keep_weak: it is a token of other words ("Li Na"), but a
 * customer may have it in a legal form only ("Co., Ltd."), so it is looked
 * up only when the query has nothing else to look up. */
typedef struct {
  int single_char;   /* one Chinese character: its token is a key prefix */
  int tokens;        /* how many were given */
  int exact;         /* one token that stands for the whole term */
} kehu_query_shape;
void kehu_search_query_tokens(const char *term, int keep_weak, kehu_token_fn emit,
                              kehu_query_shape *shape, void *arg);

/* What a query term is: text, found by its tokens; or a phone number, the
 * last 4 or 8 digits of one, or an email, found by a keyed hash of the
 * normalised value written to normal (len bytes). */
typedef enum {
  KEHU_TERM_TEXT,
  KEHU_TERM_PHONE,
  KEHU_TERM_TAIL4,
  KEHU_TERM_TAIL8,
  KEHU_TERM_EMAIL,
} kehu_term_kind;
kehu_term_kind kehu_search_term_kind(const char *term, char *normal, size_t len);

/* The head token of a folded name or query (docs/architecture.md#search):
 * KEHU_HEAD_MARK and the text's first two characters, whatever they are.
 * A name that starts with a query has the query's head token, so the names
 * a query is a prefix of are found from the posting lists. Returns its
 * length, 0 when the text has fewer than two characters. */
#define KEHU_HEAD_MARK 0x02
size_t kehu_search_head_token(const char *folded, char out[KEHU_TOKEN_MAX]);

/* The normalised form of text (NFKC, case-folded) used to verify a match
 * and rank it; caller frees. NULL for invalid UTF-8. */
char *kehu_search_fold(const char *text);

#endif
