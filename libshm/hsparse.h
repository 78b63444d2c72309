/*
 * hsparse.h - one histogram's counts as its non-zero buckets (hsparse.c).
 *
 * A history record keeps a histogram as the buckets it counted, a few
 * dozen of its thousands. A window over F records of a histogram is the
 * sum of its F - 1 differences; within a run of records where no count
 * went down, those telescope to the last record minus the first, so the
 * window keeps two such copies a series (the run's first record and the
 * last one read), compares each new record with the last one in what
 * it holds, and adds to the window's histogram only where a run ends:
 * a 24 h window of 50 histograms read 86,400 records and made, then
 * subtracted and added, 4.3 million whole histograms before.
 */
#ifndef SHMSTAT_HSPARSE_H
#define SHMSTAT_HSPARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct shmstat__hsparse {
	unsigned bits;             /* the layout */
	uint64_t lowest, highest;
	uint64_t sum, max, nmin, under, over;   /* slots [0..4], histogram.h */
	uint32_t n, cap;           /* buckets counted; room in idx and cnt */
	uint32_t *idx;             /* their numbers, strictly ascending */
	uint64_t *cnt;             /* their counts, none 0 */
};

/* Room for @n buckets in @h (its buckets kept): 0 or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__hsparse_room(struct shmstat__hsparse *h, uint32_t n);

/* @dst = @src (the arrays copied): 0 or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__hsparse_copy(struct shmstat__hsparse *dst,
					 const struct shmstat__hsparse *src);

/* Is @later of @earlier's layout, with each count (under, over and every
 * bucket) at least @earlier's? (shmstat_hdata_sub() would succeed.) */
SHMSTAT_HIDDEN bool shmstat__hsparse_ge(const struct shmstat__hsparse *later,
					const struct shmstat__hsparse *earlier);

SHMSTAT_HIDDEN void shmstat__hsparse_free(struct shmstat__hsparse *h);

#endif
