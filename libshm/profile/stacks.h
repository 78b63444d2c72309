/*
 * stacks.h - the stack table: sampled stacks, counted in the segment.
 *
 * One open-addressed table of struct shmstat_stackent (layout.h) shared by
 * every profiled process of the segment, like a signature table whose key
 * is (process tag, kind, metric, frames) and whose hits are samples. It is
 * written from a signal handler, so an update is built from what is safe
 * there: a hash of the key (XXH3, computation only), at most
 * SHMSTAT_STACK_PROBES slots probed from it, and atomics on the segment:
 *
 *   FREE --CAS--> CLAIMED (tag) --fill, release--> READY (tag)
 *
 * A READY entry never changes again but for its samples and weight, which
 * are atomic adds, so no lock is needed and no reader is waited for. A
 * writer that finds its key READY adds to it; one that finds a CLAIMED
 * entry (another thread filling it, maybe with the same key) goes past it,
 * so a key may have two entries, which readers merge. When every probed
 * slot holds other keys, the sample is counted in the header's
 * prof_dropped (and its weight), so totals stay exact.
 *
 * Entries are freed only by shmstat_profile_gc (processes gone): stacks of processes
 * that exited stay readable, with their module maps (modmap.h).
 */
#ifndef SHMSTAT_STACKS_H
#define SHMSTAT_STACKS_H

#include <stdint.h>

#include "layout.h"
#include "util.h"

#define SHMSTAT_STACK_PROBES 64u

/* What identifies a stack in the table, laid out as an entry's bytes
 * 32 .. 48 + depth * 8, so the hash covers the same bytes in both. */
struct shmstat_stackkey {
	uint32_t kind;
	uint32_t metric;
	uint32_t depth;
	uint32_t flags;
	uint64_t pcs[SHMSTAT_STACK_SLOTS];
};

/* The hash of @k for process @tag: never 0. Async-signal-safe. */
SHMSTAT_HIDDEN uint64_t shmstat__stack_hash(uint64_t tag, const struct shmstat_stackkey *k);

/*
 * shmstat__stack_add - count @samples samples of weight @weight for stack
 * @k of process @tag in table @tab (@n entries, a power of two), or in
 * @hdr's dropped counts when no probed slot takes it. Returns the entry's
 * index, UINT32_MAX when dropped. Async-signal-safe: no lock, no
 * allocation, no system call, at most SHMSTAT_STACK_PROBES probes.
 */
SHMSTAT_HIDDEN uint32_t shmstat__stack_add(struct shmstat_hdr *hdr, struct shmstat_stackent *tab,
					   uint32_t n, uint64_t tag, const struct shmstat_stackkey *k,
					   uint64_t samples, uint64_t weight);

/* Add @weight, without a sample, to entry @i of @tab (@n entries), which
 * shmstat__stack_add() returned for process @tag; to @hdr's dropped weight
 * when it dropped that sample (@i UINT32_MAX) or the entry is no longer
 * that process's. */
SHMSTAT_HIDDEN void shmstat__stack_weigh(struct shmstat_hdr *hdr, struct shmstat_stackent *tab,
					 uint32_t n, uint64_t tag, uint32_t i, uint64_t weight);

/*
 * shmstat__stack_check - validate a private copy of an entry: READY, a
 * kind known, depth 1..SHMSTAT_STACK_SLOTS, and its hash. Return 1 when
 * it can be used, 0 when it is free or being filled, -1 when it is bad.
 */
SHMSTAT_HIDDEN int shmstat__stack_check(const struct shmstat_stackent *e);

/*
 * shmstat__prof_reclaim - free the entries of table @base (@n entries of
 * @size bytes, each starting with a state | tag word) whose process no
 * longer runs (checked once per tag, at most 256 distinct tags a call;
 * a process whose writer slot in @seg is of another pid namespace runs),
 * also the ones a dead filler left CLAIMED: CAS to CLAIMED with @self,
 * zero, release FREE. @used (which counts claims) is decremented for
 * each. Return how many.
 * Writers of live processes never touch other tags' entries, so this
 * races with nothing but another reclaim (the CAS decides).
 */
SHMSTAT_HIDDEN uint64_t shmstat__prof_reclaim(const struct shmstat_seg *seg, unsigned char *base,
					      uint32_t n, size_t size,
					      uint64_t self, uint64_t *used);

#endif
