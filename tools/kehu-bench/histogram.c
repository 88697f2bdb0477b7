/* Latency histogram with log-linear buckets (HdrHistogram's layout, much
 * simplified): values below 128 ns have a bucket each; above that every
 * power of two is split into 64 equal buckets, so a bucket's midpoint is
 * within 1/128 (0.8 %) of any value in it. Fixed memory, O(1) insert. */
#include "bench.h"

#define SUB_BUCKETS 64   /* per power of two; 2 * SUB_BUCKETS values are exact */

static unsigned bucket_of(uint64_t v)
{
  if (v < 2 * SUB_BUCKETS)
    return (unsigned)v;
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - 6;   /* keeps the top 7 bits: 64..127 */
  return 2 * SUB_BUCKETS + (unsigned)(shift - 1) * SUB_BUCKETS +
         (unsigned)((v >> shift) - SUB_BUCKETS);
}

/* The value a bucket stands for: its midpoint. */
static double bucket_value(unsigned i)
{
  if (i < 2 * SUB_BUCKETS)
    return i;
  unsigned k = i - 2 * SUB_BUCKETS;
  unsigned shift = k / SUB_BUCKETS + 1;
  double low = (double)((uint64_t)(k % SUB_BUCKETS + SUB_BUCKETS) << shift);
  return low + (double)((uint64_t)1 << shift) / 2.0;
}

void bench_hist_add(bench_hist *h, uint64_t ns)
{
  h->counts[bucket_of(ns)]++;
  h->total++;
}

void bench_hist_merge(bench_hist *into, const bench_hist *from)
{
  for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
    into->counts[i] += from->counts[i];
  into->total += from->total;
}

double bench_hist_quantile(const bench_hist *h, double q)
{
  if (h->total == 0)
    return 0;
  /* The smallest value with at least q of the samples at or below it. */
  uint64_t rank = (uint64_t)(q * (double)h->total + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > h->total)
    rank = h->total;
  uint64_t seen = 0;
  for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank)
      return bucket_value(i);
  }
  return bucket_value(BENCH_HIST_BUCKETS - 1);
}
