/* The arena that search decodes customers into: aligned blocks, a reset
 * that takes back exactly what came after its mark (across chunks), and
 * whole messages decoded into it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "kehu.pb-c.h"

static void test_blocks_are_aligned_and_apart(void **state)
{
  (void)state;
  kehu_arena a;
  kehu_arena_init(&a);
  unsigned char *prev = NULL;
  for (size_t n = 1; n < 200; n += 7) {
    unsigned char *p = kehu_arena_alloc(&a, n);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
    memset(p, 0xAB, n);   /* ASan: the whole block is ours */
    if (prev)
      assert_true(p != prev);
    prev = p;
  }
  kehu_arena_free(&a);
}

static void test_reset_takes_back_what_came_after(void **state)
{
  (void)state;
  kehu_arena a;
  kehu_arena_init(&a);
  void *kept = kehu_arena_alloc(&a, 100);
  memset(kept, 0x11, 100);
  kehu_arena_mark m = kehu_arena_here(&a);
  void *first = kehu_arena_alloc(&a, 64);
  /* more than a chunk after the mark: new chunks, freed by the reset */
  for (int i = 0; i < 40; i++)
    assert_non_null(kehu_arena_alloc(&a, 4000));
  assert_non_null(kehu_arena_alloc(&a, 200 * 1024));   /* a block larger than a chunk */
  kehu_arena_reset(&a, m);
  /* the next block goes where the first after the mark went */
  assert_ptr_equal(kehu_arena_alloc(&a, 64), first);
  unsigned char *k = kept;
  for (int i = 0; i < 100; i++)
    assert_int_equal(k[i], 0x11);   /* what came before the mark stands */
  assert_null(kehu_arena_alloc(&a, SIZE_MAX));
  kehu_arena_free(&a);   /* LSan: nothing left */
}

static void test_messages_decode_into_it(void **state)
{
  (void)state;
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  c.id = "C20261123001";
  c.name = "深圳市星河信息技术有限公司";
  char *tags[2] = {"华南", "vip"};
  c.tags = tags;
  c.n_tags = 2;
  size_t n = kehu__customer__get_packed_size(&c);
  uint8_t *buf = malloc(n);
  assert_non_null(buf);
  kehu__customer__pack(&c, buf);
  kehu_arena a;
  kehu_arena_init(&a);
  for (int i = 0; i < 1000; i++) {   /* many, over several chunks */
    kehu_arena_mark m = kehu_arena_here(&a);
    Kehu__Customer *d = kehu__customer__unpack(&a.alloc, n, buf);
    assert_non_null(d);
    assert_string_equal(d->name, c.name);
    assert_int_equal(d->n_tags, 2);
    assert_string_equal(d->tags[1], "vip");
    if (i % 2)
      kehu_arena_reset(&a, m);   /* not kept: taken back */
  }
  kehu_arena_free(&a);
  free(buf);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_blocks_are_aligned_and_apart),
    cmocka_unit_test(test_reset_takes_back_what_came_after),
    cmocka_unit_test(test_messages_decode_into_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
