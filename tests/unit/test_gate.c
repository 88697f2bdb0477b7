/* The gate in front of the thread pool (core/gate.c): at most max run at
 * once, the rest wait first come first served, and a finished one hands
 * its slot straight to the first in line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gate.h"

static void test_at_most_max_run(void **state)
{
  (void)state;
  kehu_gate g = {.max = 2};
  kehu_gate_item a, b, c, d;
  assert_int_equal(kehu_gate_enter(&g, &a), 1);
  assert_int_equal(kehu_gate_enter(&g, &b), 1);
  assert_int_equal(kehu_gate_enter(&g, &c), 0);
  assert_int_equal(kehu_gate_enter(&g, &d), 0);
  assert_int_equal(g.running, 2);
  /* first come, first served; the slot passes on without a gap */
  assert_ptr_equal(kehu_gate_leave(&g), &c);
  assert_int_equal(g.running, 2);
  assert_ptr_equal(kehu_gate_leave(&g), &d);
  assert_null(kehu_gate_leave(&g));
  assert_int_equal(g.running, 1);
  assert_int_equal(kehu_gate_idle(&g), 0);
  assert_null(kehu_gate_leave(&g));
  assert_int_equal(kehu_gate_idle(&g), 1);
}

static void test_zero_max_means_one(void **state)
{
  (void)state;
  kehu_gate g = {.max = 0};
  kehu_gate_item a, b;
  assert_int_equal(kehu_gate_enter(&g, &a), 1);
  assert_int_equal(kehu_gate_enter(&g, &b), 0);
  assert_ptr_equal(kehu_gate_leave(&g), &b);
  assert_null(kehu_gate_leave(&g));
  assert_int_equal(kehu_gate_idle(&g), 1);
}

static void test_a_late_comer_queues_behind_those_waiting(void **state)
{
  (void)state;
  kehu_gate g = {.max = 1};
  kehu_gate_item a, b, c;
  assert_int_equal(kehu_gate_enter(&g, &a), 1);
  assert_int_equal(kehu_gate_enter(&g, &b), 0);
  kehu_gate_item *next = kehu_gate_leave(&g);   /* a done: b runs */
  assert_ptr_equal(next, &b);
  /* c arrives while b runs: it waits, it does not take a free slot */
  assert_int_equal(kehu_gate_enter(&g, &c), 0);
  assert_ptr_equal(kehu_gate_leave(&g), &c);
  assert_null(kehu_gate_leave(&g));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_at_most_max_run),
    cmocka_unit_test(test_zero_max_means_one),
    cmocka_unit_test(test_a_late_comer_queues_behind_those_waiting),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
