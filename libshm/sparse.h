/*
 * sparse.h - the stripes of a snapshot, kept as their runs of non-zero
 * value slots (sparse.c).
 *
 * A writer's stripe is mostly zeros: of a histogram's thousands of
 * buckets it counts a few dozen, yet the pages they lie in are data. A
 * reader of 64 writers that mirrored every page of every stripe copied
 * and kept a quarter of a gigabyte; kept as runs, it keeps what the
 * writers counted. Fewer than four zeros between two values stay in the
 * run: a run's bookkeeping (24 bytes) is less than the zeros a new one
 * leaves out, so the runs never take more memory than the bytes read,
 * which the reader's limit (max_copy) bounds.
 *
 * Runs are appended in order of stripe and slot as a copy reads them;
 * runs appended out of that order (a copy's catch-up pass) are sorted
 * once, by shmstat__sparse_index(), which every lookup needs first.
 */
#ifndef SHMSTAT_SPARSE_H
#define SHMSTAT_SPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Slots [from, to) of stripe @stripe hold val[at], val[at + 1], ... */
struct shmstat__srun {
	uint32_t stripe, from, to, pad;
	uint64_t at;
};

struct shmstat__sparse {
	struct shmstat__srun *run;
	size_t nrun, caprun;
	uint64_t *val;
	size_t nval, capval;
	bool unsorted;             /* a run was appended out of order */
	uint32_t *first;           /* after indexing: stripe i's runs are
				    * [first[i], first[i + 1]) */
	uint32_t nstripes;         /* indexed: first[] has nstripes + 1 */
	uint64_t *scratch;         /* SHMSTAT_SPARSE_CHUNK bytes: what a copy
				    * reads before keeping it sparse */
};

/* Bytes a copy reads at a time into scratch */
#define SHMSTAT_SPARSE_CHUNK (UINT64_C(256) << 10)

/* Keep the non-zero slots of @v[0..@n), slots @slot.. of stripe @stripe.
 * 0 or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__sparse_add(struct shmstat__sparse *sp, uint32_t stripe,
				       uint32_t slot, const uint64_t *v, uint32_t n);

/* Sort the runs if needed and index them by stripe (@nstripes). 0 or
 * ENOMEM. */
SHMSTAT_HIDDEN int shmstat__sparse_index(struct shmstat__sparse *sp, uint32_t nstripes);

/* After indexing: value slot @v of stripe @i (0 where no run holds it). */
SHMSTAT_HIDDEN uint64_t shmstat__sparse_at(const struct shmstat__sparse *sp, uint32_t i,
					   uint32_t v);

/* After indexing: of slots [*@from, @to) of stripe @i, the first run
 * holding any: *@from moves to its start (at least the old *@from), *@end
 * to its end (at most @to), and the values are returned (the first is
 * slot *@from's); NULL when none. */
SHMSTAT_HIDDEN const uint64_t *shmstat__sparse_run(const struct shmstat__sparse *sp, uint32_t i,
						   uint32_t *from, uint32_t to, uint32_t *end);

/* The runs in order of stripe and slot (they may have been kept out of
 * it); shmstat__sparse_index() does it too. */
SHMSTAT_HIDDEN void shmstat__sparse_sort(struct shmstat__sparse *sp);

/* Room for @n more values (a copy about to keep at most that many:
 * one mapping, grown no more). 0 or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__sparse_reserve(struct shmstat__sparse *sp, size_t n);

/* Forget every run (the memory stays for the next copy); free it all. */
SHMSTAT_HIDDEN void shmstat__sparse_reset(struct shmstat__sparse *sp);
SHMSTAT_HIDDEN void shmstat__sparse_free(struct shmstat__sparse *sp);

#endif
