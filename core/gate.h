/* "N at once, the rest wait their turn": the one gate in front of the work
 * kehud sends to libuv's thread pool (heavy reads, password checks), so
 * that no kind of work can hold every pool thread. No event loop here: the
 * caller starts what the gate lets through (server/pool_work.c). */
#ifndef KEHU_GATE_H
#define KEHU_GATE_H

typedef struct kehu_gate_item {
  struct kehu_gate_item *next;
} kehu_gate_item;

typedef struct {
  unsigned max;        /* running at once (at least 1) */
  unsigned running;
  kehu_gate_item *head, *tail;   /* waiting, first come first served */
} kehu_gate;

/* 1: it may start now (counted as running); 0: it waits in line. */
int kehu_gate_enter(kehu_gate *g, kehu_gate_item *it);
/* One that ran has finished. Its slot goes to the first in line, returned
 * (already counted as running: start it), or is freed (NULL). */
kehu_gate_item *kehu_gate_leave(kehu_gate *g);
/* Nothing running and nothing waiting. */
int kehu_gate_idle(const kehu_gate *g);

#endif
