/*
 * histogram.h - log-linear latency histograms: the bucket scheme.
 *
 * With m precision bits, values below 2^m have a bucket each (exact);
 * above, each power of two [2^e, 2^(e+1)) is cut into 2^(m-1) buckets of
 * width 2^(e-m+1). A value's bucket is found with one clz and two shifts:
 *
 *     v < 2^m:  b = v
 *     else:     g = msb(v) - m + 1,  b = g * 2^(m-1) + (v >> g)
 *
 * and bucket b >= 2^m covers [(b - g*2^(m-1)) << g, that + 2^g) with
 * g = b / 2^(m-1) - 1. Reporting a bucket's midpoint is off by at most half
 * its width, 2^(g-1), from any value in it, which is at least 2^(g+m-1):
 * a relative error of at most 2^-m (m = 7: 0.78125%).
 *
 * Value slots of a histogram, in every stripe:
 *   [0] sum   [1] max   [2] ~min (so 0 means "none" and max-merges work)
 *   [3] underflow (v < lowest)   [4] overflow (v > highest)
 *   [5 + b] bucket b, for b in 0 .. nbuckets-1
 */
#ifndef SHMSTAT_HISTOGRAM_H
#define SHMSTAT_HISTOGRAM_H

#include <stdbool.h>
#include <stdint.h>

#include "tls.h"
#include "util.h"

#define SHMSTAT_H_SUM    0u
#define SHMSTAT_H_MAX    1u
#define SHMSTAT_H_NMIN   2u
#define SHMSTAT_H_UNDER  3u
#define SHMSTAT_H_OVER   4u
#define SHMSTAT_H_FIRST  5u

#define SHMSTAT_HIST_MIN_BITS 1u
#define SHMSTAT_HIST_MAX_BITS 16u

static inline uint32_t shmstat__bucket_of(uint64_t v, unsigned m)
{
	/* without a branch: below 2^m the or-ed mask makes g 0 and b v */
	unsigned g = (unsigned)(63 - __builtin_clzll(v | ((UINT64_C(1) << m) - 1))) - (m - 1);

	return (uint32_t)(((uint64_t)g << (m - 1)) + (v >> g));
}

/* Lowest value of bucket @b and log2 of its width. */
static inline uint64_t shmstat__bucket_low(uint32_t b, unsigned m, unsigned *wbits)
{
	unsigned g;

	if (b < (UINT32_C(1) << m)) {
		*wbits = 0;
		return b;
	}
	g = (b >> (m - 1)) - 1;
	*wbits = g;
	return ((uint64_t)b - ((uint64_t)g << (m - 1))) << g;
}

/* Buckets needed to cover 0 .. @highest. */
static inline uint32_t shmstat__nbuckets(unsigned m, uint64_t highest)
{
	return shmstat__bucket_of(highest, m) + 1;
}

/* A histogram handle (process-local). */
struct shmstat_hist {
	struct shmstat_counter c;
	uint32_t bits;
	uint32_t pad;
	uint64_t lowest;
	uint64_t range;            /* highest - lowest */
};

SHMSTAT_HIDDEN extern struct shmstat_hist shmstat__noop_hist;

/* Reader side: an empty private copy of a layout, and adding the slots of
 * one stripe (or grave) to it. */
SHMSTAT_HIDDEN shmstat_hdata *shmstat__hdata_new(unsigned bits, uint64_t lowest,
						 uint64_t highest);
SHMSTAT_HIDDEN void shmstat__hdata_add(shmstat_hdata *h, const uint64_t *slots);

/* How the type plugs into the core (type.h) */
struct shmstat__type;
SHMSTAT_HIDDEN extern const struct shmstat__type shmstat__hist_type;

/* Add what @src counted to @dst (same layout): 0 or EINVAL. */
SHMSTAT_HIDDEN int shmstat__hdata_merge(shmstat_hdata *dst, const shmstat_hdata *src);

/* Add to @h what sparse histogram @later counted (@earlier NULL: its max
 * and min too), or (@earlier not NULL, of the same layout, each count at
 * most @later's: shmstat__hsparse_ge()) what @later counted since
 * @earlier, as merging the differences of every record in between
 * would: @h's max and min are then no longer exact. 0, or EINVAL when
 * @later is of another layout than @h (nothing added). */
struct shmstat__hsparse;
SHMSTAT_HIDDEN int shmstat__hdata_add_sparse(shmstat_hdata *h,
					     const struct shmstat__hsparse *later,
					     const struct shmstat__hsparse *earlier);

#endif
