/* The one pass that gives every customer of a store written before tiers
 * existed its tier (docs/architecture.md#value-tiers). */
#ifndef KEHU_TIERS_FILL_H
#define KEHU_TIERS_FILL_H

#include "server.h"

/* Unless the store's meta marker says it was done, evaluates every
 * customer's tier in batches on the writer (a batch per write, so other
 * writes go on between them) and sets the marker at the end. */
void kehu_tiers_fill_start(kehu_server *srv);

#endif
