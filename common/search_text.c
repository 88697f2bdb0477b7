#include "search_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "validate.h"

static int is_cjk(utf8proc_int32_t cp)
{
  return (cp >= 0x3400 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0x20000 && cp <= 0x2FFFF) || (cp >= 0x3040 && cp <= 0x30FF) ||
         (cp >= 0xAC00 && cp <= 0xD7AF);
}

static int is_word(utf8proc_int32_t cp)
{
  utf8proc_category_t c = utf8proc_category(cp);
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
         (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

/* Text of ASCII and CJK unified ideographs (U+4E00..U+9FFF), as nearly all
 * names are, is its own NFKC form, and folds by lowering A-Z: done here in
 * one pass, without utf8proc's two passes and decompositions. NULL when the
 * text has anything else. */
static char *fold_simple(const char *text)
{
  const unsigned char *p = (const unsigned char *)text;
  size_t n = 0;
  while (p[n]) {
    if (p[n] < 0x80) {
      n++;
    } else if (p[n] >= 0xE4 && p[n] <= 0xE9 && (p[n] != 0xE4 || p[n + 1] >= 0xB8) &&
               (p[n + 1] & 0xC0) == 0x80 && (p[n + 2] & 0xC0) == 0x80) {
      n += 3;
    } else {
      return NULL;
    }
  }
  char *out = malloc(n + 1);
  if (!out)
    return NULL;
  for (size_t i = 0; i <= n; i++)
    out[i] = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] + ('a' - 'A')) : (char)p[i];
  return out;
}

char *kehu_search_fold(const char *text)
{
  char *simple = fold_simple(text);
  if (simple)
    return simple;
  utf8proc_uint8_t *out = NULL;
  if (utf8proc_map((const utf8proc_uint8_t *)text, 0, &out,
                   UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                       UTF8PROC_CASEFOLD) < 0)
    return NULL;
  return (char *)out;
}

/* Chinese legal forms, longest first: removed from a run before bigrams. */
static const char *const cjk_stop[] = {"有限责任公司", "股份有限公司", "有限公司"};
static const char *const latin_stop[] = {"co", "ltd", "inc", "llc", "limited", "corp", "company"};

static int is_latin_stop(const char *w, size_t n)
{
  for (size_t i = 0; i < sizeof latin_stop / sizeof *latin_stop; i++)
    if (strlen(latin_stop[i]) == n && memcmp(latin_stop[i], w, n) == 0)
      return 1;
  return 0;
}

/* Marks the characters of a query run that the index cannot hold: a legal
 * form, and a part of one at the run's start or end (the "有限" of
 * "信息技术有限", the "公司" of "公司"), two characters or more. */
static void mark_legal_forms(const char *buf, const size_t *starts, size_t count, char *marked)
{
  for (size_t f = 0; f < sizeof cjk_stop / sizeof *cjk_stop; f++) {
    const char *form = cjk_stop[f];
    size_t form_len = strlen(form), form_chars = form_len / 3;   /* all 3-byte characters */
    for (size_t i = 0; i < count; i++) {
      /* the form whole from character i, or its first k characters ending the run */
      size_t k = 0;
      while (i + k < count && k < form_chars && starts[i + k + 1] - starts[i + k] == 3 &&
             memcmp(buf + starts[i + k], form + 3 * k, 3) == 0)
        k++;
      if (k == form_chars || (k >= 2 && i + k == count))
        memset(marked + i, 1, k);
    }
    /* its last k characters starting the run */
    for (size_t k = form_chars - 1; k >= 2; k--)
      if (k <= count && starts[k] == 3 * k && memcmp(buf, form + form_len - 3 * k, 3 * k) == 0) {
        memset(marked, 1, k);
        break;
      }
  }
}

/* A run of Chinese characters (bytes [p, end)) as bigrams, minus legal
 * forms. A query drops the bigrams that touch one and says so (*dropped):
 * what is left finds the candidates, and the whole term is checked against
 * each. */
static void cjk_run(const char *p, size_t n, kehu_token_fn emit, void *arg, int *dropped)
{
  char buf[1024];
  if (n >= sizeof buf)
    n = sizeof buf - 1;
  memcpy(buf, p, n);
  buf[n] = '\0';
  if (!dropped)
    for (size_t i = 0; i < sizeof cjk_stop / sizeof *cjk_stop; i++) {
      char *at;
      size_t k = strlen(cjk_stop[i]);
      while ((at = strstr(buf, cjk_stop[i])))
        memmove(at, at + k, strlen(at + k) + 1);
    }
  /* character boundaries */
  size_t starts[512], count = 0, len = strlen(buf), end = 0;
  for (size_t i = 0; i < len && count < 511;) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t step = utf8proc_iterate((const utf8proc_uint8_t *)buf + i, (utf8proc_ssize_t)(len - i), &cp);
    if (step <= 0)
      break;
    starts[count++] = i;
    i += (size_t)step;
    end = i;
  }
  /* the end of the last whole character: a run cut at the buffer's size
   * may end inside one */
  starts[count] = end;
  char marked[512] = {0};
  if (dropped && count >= 2)
    mark_legal_forms(buf, starts, count, marked);
  if (count == 1)
    emit(buf, end, arg);
  for (size_t i = 0; i + 1 < count; i++) {
    if (marked[i] || marked[i + 1])
      *dropped = 1;
    else
      emit(buf + starts[i], starts[i + 2] - starts[i], arg);
  }
}

/* The start of a Latin stop word ("li" of "limited"): the index has it as
 * a token of other words ("Li Na") but not of a legal form. */
static int is_latin_stop_prefix(const char *w, size_t n)
{
  for (size_t i = 0; i < sizeof latin_stop / sizeof *latin_stop; i++)
    if (strlen(latin_stop[i]) > n && memcmp(latin_stop[i], w, n) == 0)
      return 1;
  return 0;
}

/* How a query treats the start of a stop word (query_mode). */
enum { WEAK_DROP = 1, WEAK_KEEP = 2 };

static void latin_word(const char *w, size_t n, kehu_token_fn emit, void *arg, int *dropped,
                       int weak)
{
  if (dropped) {
    /* a stop word has no token; the start of one may be in a legal form
     * only, and is looked up when nothing else can be */
    if (is_latin_stop(w, n) || (weak == WEAK_DROP && n >= 2 && is_latin_stop_prefix(w, n)))
      *dropped = 1;
    else
      emit(w, n < KEHU_TOKEN_MAX ? n : KEHU_TOKEN_MAX, arg);
    return;
  }
  if (is_latin_stop(w, n))
    return;
  /* prefixes by characters, from two on, up to the token limit */
  size_t chars = 0;
  for (size_t i = 0; i < n;) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t step = utf8proc_iterate((const utf8proc_uint8_t *)w + i, (utf8proc_ssize_t)(n - i), &cp);
    if (step <= 0)
      break;
    i += (size_t)step;
    if (++chars >= 2 && i <= KEHU_TOKEN_MAX)
      emit(w, i, arg);
  }
  if (chars == 1)
    emit(w, n, arg);
}

/* Index tokens of text, or with dropped (a query) the tokens to look up. */
static void tokens(const char *text, kehu_token_fn emit, void *arg, int *dropped, int weak)
{
  char *f = kehu_search_fold(text);
  if (!f)
    return;
  size_t len = strlen(f), run = 0;
  int kind = 0;   /* 0 none, 1 cjk, 2 word */
  for (size_t i = 0;; ) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t step = i < len ? utf8proc_iterate((const utf8proc_uint8_t *)f + i, (utf8proc_ssize_t)(len - i), &cp) : 0;
    int k = step <= 0 ? 0 : is_cjk(cp) ? 1 : is_word(cp) ? 2 : 0;
    if (k != kind) {
      if (kind == 1)
        cjk_run(f + run, i - run, emit, arg, dropped);
      else if (kind == 2)
        latin_word(f + run, i - run, emit, arg, dropped, weak);
      kind = k;
      run = i;
    }
    if (step <= 0)
      break;
    i += (size_t)step;
  }
  free(f);
}

void kehu_search_index_tokens(const char *text, kehu_token_fn emit, void *arg)
{
  if (text)
    tokens(text, emit, arg, NULL, 0);
}

typedef struct {
  kehu_token_fn emit;
  void *arg;
  int count;
  size_t last_len;
} query_state;

static void count_token(const char *token, size_t len, void *arg)
{
  query_state *q = arg;
  q->count++;
  q->last_len = len;
  q->emit(token, len, q->arg);
}

void kehu_search_query_tokens(const char *term, int keep_weak, kehu_token_fn emit,
                              kehu_query_shape *shape, void *arg)
{
  query_state q = {emit, arg, 0, 0};
  int dropped = 0;
  tokens(term, count_token, &q, &dropped, keep_weak ? WEAK_KEEP : WEAK_DROP);
  /* one Chinese character: its token is the first half of bigrams */
  utf8proc_int32_t cp;
  shape->single_char = q.count == 1 && q.last_len <= 4 &&
                       utf8proc_iterate((const utf8proc_uint8_t *)term, -1, &cp) > 0 && is_cjk(cp) &&
                       utf8proc_iterate((const utf8proc_uint8_t *)term, -1, &cp) == (utf8proc_ssize_t)strlen(term);
  shape->tokens = q.count;
  shape->exact = q.count == 1 && !dropped;
}

size_t kehu_search_head_token(const char *folded, char out[KEHU_TOKEN_MAX])
{
  size_t len = strlen(folded), at = 0;
  for (int chars = 0; chars < 2; chars++) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t step =
        at < len ? utf8proc_iterate((const utf8proc_uint8_t *)folded + at, (utf8proc_ssize_t)(len - at), &cp) : 0;
    if (step <= 0)
      return 0;
    at += (size_t)step;
  }
  if (at + 1 > KEHU_TOKEN_MAX)
    return 0;
  out[0] = KEHU_HEAD_MARK;
  memcpy(out + 1, folded, at);
  return at + 1;
}

kehu_term_kind kehu_search_term_kind(const char *term, char *normal, size_t len)
{
  char digits[32];
  size_t n = 0;
  int other = 0;
  for (const char *p = term; *p; p++) {
    if (isdigit((unsigned char)*p) && n + 1 < sizeof digits)
      digits[n++] = *p;
    else if (*p != ' ' && *p != '-' && *p != '+')
      other = 1;
  }
  digits[n] = '\0';
  char phone[32];
  if (strchr(term, '@')) {
    char *folded = kehu_search_fold(term);
    int fits = folded && strlen(folded) < len;
    if (fits)
      strcpy(normal, folded);
    free(folded);
    return fits ? KEHU_TERM_EMAIL : KEHU_TERM_TEXT;
  }
  if (other || len <= n)
    return KEHU_TERM_TEXT;
  if (n == 4 || n == 8) {
    strcpy(normal, digits);
    return n == 4 ? KEHU_TERM_TAIL4 : KEHU_TERM_TAIL8;
  }
  if (n >= 7 && kehu_check_phone("phone", term, phone, NULL) == KEHU_OK && strlen(phone) < len) {
    strcpy(normal, phone);
    return KEHU_TERM_PHONE;
  }
  return KEHU_TERM_TEXT;
}
