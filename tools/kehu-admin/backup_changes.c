/* The changes file of an incremental backup (docs/operations.md#backups):
 * every record-table key the change log noted after the previous backup,
 * each once, with its value as this backup's one read transaction sees it,
 * or marked absent. Applying the files of a chain in order to the full
 * backup gives the store as the last one saw it (a key not in a file did
 * not change in its span).
 *
 * Layout, integers big-endian:
 *   "KEHUCHG1" | from u64 | to u64
 *   per key: present u8 (1, 0) | name length u8 | table name | key length u32 | key
 *            | (present) value length u32 | value
 *   end: 0xFF | number of keys u64
 * The end mark makes a cut-off file an error even before its checksum. */
#include "backup_changes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

static const char magic[8] = {'K', 'E', 'H', 'U', 'C', 'H', 'G', '1'};

typedef struct {
  const char *table;   /* the store's own name string: compared by pointer */
  size_t klen;
  const unsigned char *key;
} change_key;

typedef struct {
  kehu_arena arena;
  change_key *keys;
  size_t n, cap;
  int oom;
} key_set;

static int collect(const char *table, const void *key, size_t klen, void *arg)
{
  key_set *s = arg;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4096;
    change_key *k = realloc(s->keys, cap * sizeof *k);
    if (!k)
      return KEHU_EXHAUSTED;
    s->keys = k;
    s->cap = cap;
  }
  unsigned char *copy = kehu_arena_alloc(&s->arena, klen ? klen : 1);
  if (!copy)
    return KEHU_EXHAUSTED;
  memcpy(copy, key, klen);
  s->keys[s->n++] = (change_key){table, klen, copy};
  return KEHU_OK;
}

static int cmp_keys(const void *a, const void *b)
{
  const change_key *x = a, *y = b;
  if (x->table != y->table)
    return strcmp(x->table, y->table);
  size_t n = x->klen < y->klen ? x->klen : y->klen;
  int c = memcmp(x->key, y->key, n);
  return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static void put_u32(FILE *f, uint32_t v)
{
  unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                        (unsigned char)(v >> 8), (unsigned char)v};
  fwrite(b, 1, 4, f);
}

static void put_u64(FILE *f, uint64_t v)
{
  unsigned char b[8];
  kehu_key_put_u64(b, v);
  fwrite(b, 1, 8, f);
}

int kehu_backup_changes_write(kehu_txn *t, uint64_t from, uint64_t to, FILE *f, size_t *keys)
{
  key_set s = {.n = 0};
  kehu_arena_init(&s.arena);
  int rc = kehu_store_changes_each(t, from, to, collect, &s);
  if (rc == KEHU_OK && s.n)
    qsort(s.keys, s.n, sizeof *s.keys, cmp_keys);
  fwrite(magic, 1, sizeof magic, f);
  put_u64(f, from);
  put_u64(f, to);
  size_t written = 0;
  for (size_t i = 0; i < s.n && rc == KEHU_OK; i++) {
    if (i > 0 && cmp_keys(&s.keys[i - 1], &s.keys[i]) == 0)
      continue;   /* changed more than once: its value now is all that counts */
    const change_key *k = &s.keys[i];
    const void *value = NULL;
    size_t vlen = 0;
    int vrc = kehu_store_change_value(t, k->table, k->key, k->klen, &value, &vlen);
    if (vrc != KEHU_OK && vrc != KEHU_NOT_FOUND) {
      rc = vrc;
      break;
    }
    size_t name_len = strlen(k->table);
    fputc(vrc == KEHU_OK, f);
    fputc((int)name_len, f);
    fwrite(k->table, 1, name_len, f);
    put_u32(f, (uint32_t)k->klen);
    fwrite(k->key, 1, k->klen, f);
    if (vrc == KEHU_OK) {
      put_u32(f, (uint32_t)vlen);
      fwrite(value, 1, vlen, f);
    }
    written++;
  }
  fputc(0xFF, f);
  put_u64(f, written);
  free(s.keys);
  kehu_arena_free(&s.arena);
  *keys = written;
  if (rc == KEHU_OK && ferror(f))
    rc = KEHU_INTERNAL;
  return rc;
}

/* ---- reading ---- */

static int get_bytes(FILE *f, void *out, size_t n)
{
  return fread(out, 1, n, f) == n ? 0 : -1;
}

static int get_u32(FILE *f, uint32_t *v)
{
  unsigned char b[4];
  if (get_bytes(f, b, 4) != 0)
    return -1;
  *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
  return 0;
}

static int get_u64(FILE *f, uint64_t *v)
{
  unsigned char b[8];
  if (get_bytes(f, b, 8) != 0)
    return -1;
  *v = kehu_key_get_u64(b);
  return 0;
}

#define APPLY_BATCH 20000   /* keys per transaction of the store being restored */

int kehu_backup_changes_apply(kehu_store *st, const char *path, uint64_t *from, uint64_t *to,
                              size_t *applied, char *why, size_t why_len)
{
  *applied = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
    return KEHU_NOT_FOUND;
  }
  char head[8];
  if (get_bytes(f, head, 8) != 0 || memcmp(head, magic, 8) != 0 || get_u64(f, from) != 0 ||
      get_u64(f, to) != 0) {
    fclose(f);
    snprintf(why, why_len, "%s is not a kehu changes file", path);
    return KEHU_INVALID;
  }
  size_t value_cap = 64 * 1024;
  unsigned char *value = malloc(value_cap), key[512];
  char table[256];
  kehu_txn t = {0};
  int rc = value ? KEHU_OK : KEHU_EXHAUSTED;
  size_t in_txn = 0;
  for (;;) {
    if (rc != KEHU_OK)
      break;
    int present = fgetc(f);
    if (present == 0xFF) {
      uint64_t count;
      if (get_u64(f, &count) != 0 || count != *applied) {
        snprintf(why, why_len, "%s: its end does not match its %zu keys", path, *applied);
        rc = KEHU_INVALID;
      }
      break;
    }
    int name_len = fgetc(f);
    uint32_t klen, vlen = 0;
    if ((present != 0 && present != 1) || name_len <= 0 ||
        get_bytes(f, table, (size_t)name_len) != 0 || get_u32(f, &klen) != 0 ||
        klen > sizeof key || get_bytes(f, key, klen) != 0 ||
        (present && get_u32(f, &vlen) != 0)) {
      snprintf(why, why_len, "%s is cut off or damaged after %zu keys", path, *applied);
      rc = KEHU_INVALID;
      break;
    }
    table[name_len] = '\0';
    if (vlen > value_cap) {
      unsigned char *bigger = realloc(value, vlen);
      if (!bigger) {
        rc = KEHU_EXHAUSTED;
        break;
      }
      value = bigger;
      value_cap = vlen;
    }
    if (present && get_bytes(f, value, vlen) != 0) {
      snprintf(why, why_len, "%s is cut off after %zu keys", path, *applied);
      rc = KEHU_INVALID;
      break;
    }
    if (!t.txn && (rc = kehu_store_status(kehu_store_write_begin(st, &t))) != KEHU_OK)
      break;
    rc = kehu_store_change_apply(&t, table, key, klen, value, vlen, present);
    if (rc == KEHU_NOT_FOUND)
      snprintf(why, why_len, "%s names a table this kehu-admin does not know: %s", path, table);
    (*applied)++;
    if (rc == KEHU_OK && ++in_txn == APPLY_BATCH) {
      rc = kehu_store_status(kehu_store_write_commit(&t));
      in_txn = 0;
    }
  }
  if (t.txn) {
    if (rc == KEHU_OK)
      rc = kehu_store_status(kehu_store_write_commit(&t));
    else
      kehu_store_write_abort(&t);
  }
  if (rc == KEHU_OK && fgetc(f) != EOF) {
    snprintf(why, why_len, "%s has bytes after its end", path);
    rc = KEHU_INVALID;
  }
  if (rc != KEHU_OK && !why[0])
    snprintf(why, why_len, "cannot apply %s: %s", path, kehu_status_name(rc));
  free(value);
  fclose(f);
  return rc;
}
