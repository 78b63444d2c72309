/*
 * siggeo.h - the geometry of a signature table's run of lines and of
 * its summaries (layout.h draws them), for the writer (sigtable.c), the
 * reader (sigsnap.c) and the merge (sigmerge.c).
 */
#ifndef SHMSTAT_SIGGEO_H
#define SHMSTAT_SIGGEO_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"

/* The shape of one summary (layout.h draws it). */
struct shmstat_sumgeo {
	uint32_t capacity, keybytes, nslots;   /* nslots: a power of two */
	uint32_t nfilter;          /* the admission filter's counters: a power
				    * of two, at least 4 * capacity */
	uint64_t off_ents, off_keys, off_next, off_heads, off_filter;
	uint64_t keyrec;           /* bytes per key record: 8 + keybytes */
	uint64_t bytes;            /* the whole summary, a multiple of 128 */
};

static inline void shmstat__sumgeo(struct shmstat_sumgeo *g, uint32_t capacity,
				   uint32_t keybytes)
{
	uint32_t s = 2, f = 4;

	while (s < 2u * capacity)
		s <<= 1;
	while (f < 4u * capacity)
		f <<= 1;
	g->capacity = capacity;
	g->keybytes = keybytes;
	g->nslots = s;
	g->nfilter = f;
	g->keyrec = sizeof(struct shmstat_sigkeyrec) + keybytes;
	g->off_ents = 4u * (uint64_t)s > 8u * (uint64_t)capacity ? 4u * (uint64_t)s :
		      8u * (uint64_t)capacity;
	g->off_ents = sizeof(struct shmstat_sigsum) +
		      (g->off_ents + SHMSTAT_LINE - 1) / SHMSTAT_LINE * SHMSTAT_LINE;
	g->off_keys = g->off_ents + sizeof(struct shmstat_sigent) * (uint64_t)capacity;
	g->off_next = g->off_keys + g->keyrec * capacity;
	g->off_heads = g->off_next + 4u * (uint64_t)capacity;
	g->off_filter = (g->off_heads + UINT64_C(4) * SHMSTAT_SIG_LEVELS + SHMSTAT_LINE - 1) /
			SHMSTAT_LINE * SHMSTAT_LINE;
	g->bytes = (g->off_filter + UINT64_C(4) * f + SHMSTAT_LINE - 1) / SHMSTAT_LINE *
		   SHMSTAT_LINE;
}

/* Lines (128 bytes) of the claims of a table with a pool of @pool. */
static inline uint64_t shmstat__sig_claim_lines(uint32_t pool)
{
	return ((uint64_t)pool * 8u + SHMSTAT_LINE - 1) / SHMSTAT_LINE;
}

/* Lines (128 bytes) of the owner slots of a table with @owners slots. */
static inline uint64_t shmstat__sig_owner_lines(uint32_t owners)
{
	return ((uint64_t)owners * sizeof(struct shmstat_sigowner) + SHMSTAT_LINE - 1) /
	       SHMSTAT_LINE;
}

/* Lines of the sigs region a table takes. */
static inline uint64_t shmstat__sig_lines(uint32_t capacity, uint32_t keybytes,
					  uint32_t owners, uint32_t pool)
{
	struct shmstat_sumgeo g;

	shmstat__sumgeo(&g, capacity, keybytes);
	return shmstat__sig_claim_lines(pool) + shmstat__sig_owner_lines(owners) +
	       (SHMSTAT_SIG_GRAVES + (uint64_t)pool) * (g.bytes / SHMSTAT_LINE);
}

/* Is a table's shape within the limits (every reader checks)? */
static inline bool shmstat__sig_shape_ok(uint32_t capacity, uint32_t keybytes,
					 uint32_t owners, uint32_t pool)
{
	return capacity >= 1 && capacity <= SHMSTAT_SIG_MAX_CAPACITY &&
	       keybytes >= 8 && keybytes <= SHMSTAT_SIG_MAX_KEYBYTES && keybytes % 8 == 0 &&
	       owners <= SHMSTAT_SIG_MAX_OWNERS && pool >= 1 && pool <= SHMSTAT_SIG_MAX_POOL;
}

#endif
