/*
 * sigmerge.h - merging Space-Saving summaries of one signature table, for
 * the reader's view (every live summary and the grave) and for the
 * reaper's fold (the grave and the summaries of a gone process).
 *
 * A merge is a set of keys in private memory, each with what the
 * summaries added so far say of it:
 *
 *   lo_h, lo_m, lo_w  hits, misses, weight counted while it held an
 *                     entry (one entry a summary: the one with the largest
 *                     error where a copy holds it twice): lower bounds of
 *                     the truth
 *   err_in, werr_in   the errors of its entries, one a summary as above
 *                     (werr: each entry's error times its summary's
 *                     largest event weight)
 *   fpres, fwpres     the floors of the summaries that held it, once each
 *                     (fw: times their largest event weight)
 *   mg                its Misra-Gries counter: sum of count - m over the
 *                     summaries that held it (m: a summary's minimum
 *                     count when full, else 0), or a grave's counter
 *
 * and for the whole merge: F, FW (sum of every summary's floors, and of
 * floor x largest weight), W (the largest event weight of all), D (sum
 * of the m, plus the graves' errors). A key's true events are then at
 * most lo + err, where
 *
 *   err = min(err_in + (F - fpres), mg + D - lo)     (lo = lo_h + lo_m)
 *
 * both being upper bounds (Space-Saving's per entry, Misra-Gries' per
 * summary), and at least lo. Its weight is within lo_w and
 * lo_w + werr_in + (FW - fwpres).
 *
 * Inputs are copies the caller has checked: sm_add() reads exactly the
 * entries it is given, and lengths it is told.
 */
#ifndef SHMSTAT_SIGMERGE_H
#define SHMSTAT_SIGMERGE_H

#include <stddef.h>
#include <stdint.h>

#include "shmstat.h"
#include "layout.h"
#include "util.h"

struct sm_key {
	uint64_t hash;
	uint64_t lo_h, lo_m, lo_w;
	/* the view's keys, once shmstat__sigview_done() has computed them
	 * (the inputs are used up then): err and werr, the key's bounds */
	union {
		uint64_t err_in;
		uint64_t err;
	};
	union {
		uint64_t werr_in;
		uint64_t werr;
	};
	uint64_t fpres, fwpres, mg;
	uint64_t first_ns, last_ns;
	uint64_t key_off;          /* its bytes in the merge's arena */
	uint32_t full_len;         /* the key's length */
	uint32_t key_len;          /* bytes kept */
	uint32_t owner;            /* owner slot + 1, 0: none */
	uint32_t src;              /* the last summary that held it (1, 2..) */
	uint32_t src_j;            /* its entry there that counts */
	bool known;                /* its bytes were seen (else its hash alone) */
};

struct sm {
	struct sm_key *k;
	size_t n, cap;
	uint32_t *map;             /* key index + 1, 0: empty */
	size_t mapcap;             /* a power of two */
	size_t mapped;             /* keys in the map: when not n, some were
				    * added past it (sm_add's first source),
				    * and it is rebuilt before a lookup */
	size_t want;               /* keys reserved for: the map's size then */
	char *arena;
	size_t used, acap;
	uint64_t F, FW, D, W;
	uint32_t summaries;        /* summaries added */
	uint32_t skipped;          /* entries left out: torn */
	uint64_t filtered;         /* the summaries' filtered events */
};

/* One summary to add: its header fields, its first @n entries with their
 * key records (@keyrec bytes apart, @keybytes of key each) and, for a
 * grave, its counters @mg. Entries whose @skip is set are left out: a
 * torn entry, whose key's in-flight event the floor then covers. */
struct sm_src {
	const struct shmstat_sigsum *hdr;
	const struct shmstat_sigent *ents;
	const unsigned char *keys;
	const uint64_t *mg;        /* graves; NULL: a writer's summary */
	const uint8_t *skip;       /* NULL: none */
	uint32_t n, capacity, keybytes;
	uint64_t keyrec;
};

SHMSTAT_HIDDEN void shmstat__sm_init(struct sm *m);
SHMSTAT_HIDDEN void shmstat__sm_free(struct sm *m);

/* Room for @n keys of @arena bytes of text in all, before they are added
 * (no growth on the way; the map is built for them at the first lookup).
 * 0 or ENOMEM; the merge works as well without it. */
SHMSTAT_HIDDEN int shmstat__sm_reserve(struct sm *m, size_t n, size_t arena);

/* Add summary @s to @m. 0 or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__sm_add(struct sm *m, const struct sm_src *s);

/* Key @k's events error, as above, with @extra (unsummarized events)
 * added to it. */
SHMSTAT_HIDDEN uint64_t shmstat__sm_err(const struct sm *m, const struct sm_key *k,
					uint64_t extra);
SHMSTAT_HIDDEN uint64_t shmstat__sm_werr(const struct sm *m, const struct sm_key *k,
					 uint64_t extra);

/* Fold: write @m as grave @g (capacity and key bytes of @geo_cap,
 * @keybytes), keeping at most capacity - 1 keys by Misra-Gries' rule
 * when there are more than capacity. */
struct shmstat_sumgeo;
SHMSTAT_HIDDEN void shmstat__sm_write_grave(struct sm *m, unsigned char *g,
					    const struct shmstat_sumgeo *geo);

/* The reader's view (shmstat_sigview): new for table @d with its exact
 * totals @totals (its value slots summed) and owner slots @own (copied);
 * then every summary counted added; then done, once (each key's inputs
 * become its bounds). NULL / ENOMEM when out of memory. */
struct shmstat__rdesc;
SHMSTAT_HIDDEN shmstat_sigview *shmstat__sigview_new(const struct shmstat__rdesc *d,
						     const uint64_t *totals,
						     const struct shmstat_sigowner *own,
						     uint64_t taken_ns);
SHMSTAT_HIDDEN int shmstat__sigview_reserve(shmstat_sigview *v, size_t n, size_t arena);
SHMSTAT_HIDDEN int shmstat__sigview_add(shmstat_sigview *v, const struct sm_src *s);
SHMSTAT_HIDDEN void shmstat__sigview_done(shmstat_sigview *v);

#endif
