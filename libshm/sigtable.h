/*
 * sigtable.h - signature tables: which keys are reused, how often, by whom,
 * and what reuse saved.
 *
 * A table is a run of the sigs region: one table header (below), 2 x
 * `capacity` 128-byte entries (capacity a power of two: the table holds
 * up to `capacity` keys at a load of at most one half), then its owner
 * slots (two per entry). A key is found by its XXH3-64 hash, probing
 * linearly from hash & (slots - 1): through the first SHMSTAT_SIG_WINDOW
 * entries, then on to the first empty one, never further than the longest
 * probe any insertion made (kept in the header). While fewer than
 * `capacity` keys are held, a new key takes the first empty entry: every
 * key is counted exactly. Entries are never emptied; once `capacity` keys
 * are held, a new key takes the place of one of the first
 * SHMSTAT_SIG_WINDOW entries of its probe (eviction), chosen as
 *
 *   1. the entry idle longest among those idle longer than the TTL, else
 *   2. the entry with the fewest events (hits + misses): Space-Saving.
 *
 * The newcomer inherits the victim's counts, raised to the largest counts
 * ever evicted from the table (the "floors", which only grow), and those
 * inherited counts are its error bounds. So for every reported entry
 *
 *   exact <= reported <= exact + error
 *
 * for hits, misses and weight alike: a key evicted and back again lost at
 * most what it had, which is at most the floor it now inherits.
 *
 * Updates take a per-entry lock (bit 0 of the entry's word, with the
 * locker's pid), held for a few stores: a writer spins briefly, then
 * yields, and after a bound drops the event and counts it (a writer is
 * never blocked for long). A lock whose holder died is repaired by the
 * next writer that finds it, and by the reaper. Readers never lock: see
 * snapshot.c.
 *
 * Batches: the hottest keys are hit by every thread of every process, and
 * one lock and one cache line for all of them would make every hit wait.
 * So once a key's entry has counted SHMSTAT_SIG_BATCH_MIN events, a
 * thread counts its further events for the key in a batch in its own
 * stripe's pends (layout.h): plain stores on lines no one else writes.
 * The batch is added to the entry, under the entry's lock, at
 * SHMSTAT_SIG_BATCH_EVENTS events, at the thread's next events once it is
 * SHMSTAT_SIG_BATCH_NS old (a quarter of the TTL if that is less), when
 * its slot is wanted for another key, on shmstat_sig_flush() and
 * shmstat_heartbeat(), when the thread exits, and when the process's
 * stripes are folded (close, exit, or the reaper after a crash: nothing
 * is lost). An entry that lost its key meanwhile cannot take the batch:
 * the batch raises the floors instead (see flush_pend()), so the bounds
 * above still hold. Readers see entries only: a hot key's
 * entry lags by at most one batch per thread, and never goes down.
 *
 * Exact totals (all events, and per owner) are also kept as striped
 * counters in the table's value slots:
 *   [0] hits  [1] misses  [2] weight  [3] evictions  [4] dropped
 *   [5 + 3*o + 0/1/2] hits, misses, weight of owner slot o
 */
#ifndef SHMSTAT_SIGTABLE_H
#define SHMSTAT_SIGTABLE_H

#include <stdint.h>

#include "shmstat.h"
#include "counter.h"
#include "layout.h"
#include "util.h"

#define SHMSTAT_SIG_WINDOW 16u
#define SHMSTAT_SIG_BATCH_MIN 256u     /* events before a key is batched */
#define SHMSTAT_SIG_BATCH_EVENTS 64u   /* a batch's most events */
#define SHMSTAT_SIG_BATCH_NS 10000000u /* a batch's longest age (10 ms) */

#define SHMSTAT_S_HITS     0u
#define SHMSTAT_S_MISSES   1u
#define SHMSTAT_S_WEIGHT   2u
#define SHMSTAT_S_EVICT    3u
#define SHMSTAT_S_DROPPED  4u
#define SHMSTAT_S_OWNERS   5u
/* slot of owner slot @o's counter @k (0 hits, 1 misses, 2 weight) */
#define SHMSTAT_S_OWNER(o, k) (SHMSTAT_S_OWNERS + 3u * (o) + (k))
#define SHMSTAT_S_NVALUES(owners) (SHMSTAT_S_OWNERS + 3u * (owners))

/* The first 128 bytes of a table: the largest hits, misses and weight
 * ever evicted (only grow, by CAS), the keys held, the longest probe. */
struct shmstat_sighead {
	uint64_t floor[3];
	uint64_t used;
	uint64_t max_probe;
	uint64_t pad[11];
};

/* entries a table of @capacity keys has */
static inline uint64_t shmstat__sig_slots(uint32_t capacity)
{
	return 2u * (uint64_t)capacity;
}

/* entries of the sigs region a table of @capacity and @owners takes */
static inline uint64_t shmstat__sig_span(uint32_t capacity, uint32_t owners)
{
	return 1u + shmstat__sig_slots(capacity) + (owners + 1u) / 2u;
}

/* A signature-table handle (process-local). */
struct shmstat_sigtab {
	struct shmstat_counter c;  /* the table's value slots */
	struct shmstat_sighead *head;
	struct shmstat_sigent *ent;
	struct shmstat_sigowner *owners;
	uint32_t mask;             /* slots - 1 */
	uint32_t capacity;         /* keys */
	uint32_t nowners;
	uint32_t prefix;
	uint64_t ttl_ns;
	uint64_t batch_ns;         /* a batch's longest age */
};

SHMSTAT_HIDDEN extern struct shmstat_sigtab shmstat__noop_sigtab;

/* Reader: a view of table @d from copied entries @ent (its first entry,
 * after the head), @bad flags, and exact @totals (its value slots summed). */
SHMSTAT_HIDDEN shmstat_sigview *shmstat__sigview_new(const struct shmstat_desc *d,
						     const struct shmstat_sigent *ent,
						     const uint8_t *bad, const uint64_t *totals,
						     uint64_t taken_ns);

/* Add the signature batches of stripe @i to their entries (the reaper's
 * fold of a gone process, shmstat_sig_flush()). */
SHMSTAT_HIDDEN void shmstat__sig_flush_stripe(struct shmstat_seg *seg, uint32_t i);

/* Reaper: unlock entries whose locker is dead. */
SHMSTAT_HIDDEN void shmstat__sig_repair(struct shmstat_seg *seg);

#endif
