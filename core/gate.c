#include "gate.h"

#include <stddef.h>

#include "status.h"

int kehu_gate_enter(kehu_gate *g, kehu_gate_item *it)
{
  it->next = NULL;
  if (g->running < (g->max ? g->max : 1)) {
    g->running++;
    return 1;
  }
  if (g->tail)
    g->tail->next = it;
  else
    g->head = it;
  g->tail = it;
  return 0;
}

kehu_gate_item *kehu_gate_leave(kehu_gate *g)
{
  kehu_assert(g->running > 0);
  kehu_gate_item *next = g->head;
  if (!next) {
    g->running--;
    return NULL;
  }
  g->head = next->next;
  if (!g->head)
    g->tail = NULL;
  next->next = NULL;
  return next;   /* the slot passes on: running stays */
}

int kehu_gate_idle(const kehu_gate *g)
{
  return g->running == 0 && !g->head;
}
