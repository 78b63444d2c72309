/*
 * sigtable.h - signature tables: which keys are reused, how often, by whom,
 * and what reuse saved, with heavy-hitter bounds that hold past capacity.
 *
 * Every writer thread that counts an event of a table keeps its own
 * Space-Saving summary of the table (Metwally, Agrawal, El Abbadi 2005)
 * in a summary of the table's pool that only it writes: C entries
 * (capacity), each a key with its counts. An event of a key the summary
 * holds adds to its entry; a new key takes a free entry while there is
 * one, and after that the entry with the fewest events (the minimum
 * count m): the newcomer counts the victim's m events as its error, so
 *
 *   count(x) = hits + misses + err,   true(x) in [count(x) - err, count(x)]
 *
 * and a key not in the summary had at most m events (the summary's
 * "floor", the last victim's count). Counts sum to the events N_i the
 * summary saw, so m <= N_i / C. While a summary has seen at most C keys
 * nothing is evicted and every count is exact.
 *
 * Admission filter (after Homem and Carvalho's Filtered Space-Saving,
 * 2010). Past capacity, most events of a long tail would each evict the
 * minimum only to be evicted by the next. So the summary also keeps
 * F >= 4C counters a[h] (u32), one per hash bucket of keys it does not
 * hold, with the invariant: a key out of the summary had at most
 * a[h(key)] events, and a[h] <= m. An event of a key x out of the
 * summary with a = a[h(x)] < m only raises a[h(x)] to a + 1 (and the
 * floor, which bounds every counter); once a = m, x takes the minimum's
 * entry as above (error m) and the victim's bucket is raised to m. An
 * admission adds 1 to the counts' sum and a filtered event nothing, so
 * counts sum to at most N_i and m <= N_i / C as before: the bounds above
 * hold unchanged. The minimum grows more slowly (errors are smaller),
 * and a tail event costs one counter instead of an eviction. Counters
 * are u32: once the minimum reaches 2^32 - 1 the filter admits every
 * key (plain Space-Saving). On bench_sig's stream (cachesim's: Zipf
 * 1.1, 20,000 keys, C = 1024) 18% of events are kept out and 1.2% evict,
 * against 24% evicting without the filter (docs/format.md has the
 * accuracy figures of test_sig_ss).
 *
 * A key's text is written when the summary takes the key while it has
 * free entries, and, once it is full, at the key's second event in it:
 * the tail of keys seen once, which come and go at the minimum, costs
 * no more than their entry.
 *
 * The minimum is kept without a heap and without work on a hit: one pass
 * over the entries finds the minimum m and puts every entry whose count
 * is below m + SHMSTAT_SIG_LEVELS in the list of its count. A victim is
 * taken from the lowest list; an entry whose count grew since it was put
 * there goes to the list of its count now (if it is still below the
 * window's end), and a newcomer goes to its own. So every entry below
 * the window's end is in a list at or below its count, and the first
 * entry found at its list's count is at the minimum. When the lists run
 * out, the next pass: the minimum only grows, so there are at most
 * m / SHMSTAT_SIG_LEVELS + 1 passes of O(C) for N_i events. The index
 * (hash -> entry) keeps an evicted key's slot, which no lookup matches
 * any more, until the slots taken reach 3/4 of them; then it is rebuilt
 * from the entries, in one pass (O(C) every C/2 evictions at least).
 *
 * An event of a key the summary holds touches its index slot and its
 * entry, one 64-byte line written; the clock (last seen) is read once
 * every SHMSTAT_SIG_TICK events of the summary.

 *
 * Readers merge: for every key, the sum over the summaries that hold it
 * of their counts and errors, plus the floor of every summary that does
 * not (Agarwal et al., "Mergeable Summaries", PODS 2012). So for every
 * key a reader reports, true(x) is within [count - error, count] and
 *
 *   error <= sum of the floors <= sum of N_i / C = N / C
 *
 * where N is the events of all summaries. Hits and misses share the
 * events' error; a key's weight error is its events' error times the
 * largest weight of one event the summary saw (a sound bound, with no
 * N / C guarantee).
 *
 * Writers that are gone: when the reaper folds a process (grace.h), the
 * summaries of its stripes are merged into the table's grave, one of two
 * summaries double-buffered like the grave stripes, with Misra-Gries'
 * merge (keep the C - 1 largest counters less the C-th; the error grows
 * by it): its error stays <= N_gone / C. The summaries go back to the
 * pool. A thread that exits keeps its summary with its stripe, for the
 * next thread of its process.
 *
 * When the pool is empty, a thread counts its events in the table's exact
 * totals and as "unsummarized"; readers add them to every key's count and
 * error (the bounds stay true, and say so).
 *
 * Exact totals (all events, and per owner) are also kept as striped
 * counters in the table's value slots:
 *   [0] hits  [1] misses  [2] weight  [3] evictions
 *   [4] unsummarized events  [5] their weight
 *   [6] the stripe's summary: pool index + 1, 0 none yet, 2^63 + the
 *       asking thread's id and the low bits of fold_seq when it found
 *       none free (sigtable.c, ASKED_WORD;
 *       older libraries: UINT64_MAX) (not a sum: the fold and readers
 *       leave it out)
 *   [7 + 3*o + 0/1/2] hits, misses, weight of owner slot o
 */
#ifndef SHMSTAT_SIGTABLE_H
#define SHMSTAT_SIGTABLE_H

#include <stdint.h>

#include "shmstat.h"
#include "counter.h"
#include "siggeo.h"
#include "segment.h"
#include "layout.h"
#include "util.h"

/* ------------------------------------------------------------------ handle */

/* A signature-table handle (process-local). */
struct shmstat_sigtab {
	struct shmstat_counter c;  /* the table's value slots */
	unsigned char *sums;       /* summary 0 (grave 0); pool at index 2 */
	uint64_t *claims;          /* of the pool's summaries */
	struct shmstat_sigowner *owners;
	struct shmstat_sumgeo g;
	uint32_t npool;            /* summaries in the pool */
	uint32_t nowners;
	uint32_t shift;            /* 64 - log2(nslots): a slot from a hash */
	uint32_t fshift;           /* 64 - log2(nfilter): a filter counter */
	uint64_t ttl_ns;
};

SHMSTAT_HIDDEN extern struct shmstat_sigtab shmstat__noop_sigtab;

struct shmstat_shape;

/* Set up handle @t for the table of shape @sh of @seg (its run checked
 * by the caller, on this copy of the descriptor's fields: another writer
 * of the uid may rewrite the descriptor after the check). */
SHMSTAT_HIDDEN void shmstat__sigtab_init(struct shmstat_sigtab *t, struct shmstat_seg *seg,
					 const struct shmstat_shape *sh);

/* ------------------------------------------------------------------ reaper */

/* Fold, step 1 (grace.c): into grave @to of every signature table, the
 * merge of grave @from and the summaries of the stripes of process slot
 * @p. A pure function of those, so a fold redone after a crash writes
 * the same. */
SHMSTAT_HIDDEN void shmstat__sig_fold(struct shmstat_seg *seg, uint32_t p, uint32_t from,
				      uint32_t to);

/* Fold, step 2: zero the summaries of the stripes of process slot @p and
 * give them back to their pools. */
SHMSTAT_HIDDEN void shmstat__sig_release(struct shmstat_seg *seg, uint32_t p);

/* Reaper: free owner slots whose claimer died; of every table, and of
 * table @t of @seg (sigowner.c). */
SHMSTAT_HIDDEN void shmstat__sig_repair(struct shmstat_seg *seg);
SHMSTAT_HIDDEN void shmstat__sig_owners_repair(const struct shmstat_seg *seg,
					       struct shmstat_sigtab *t);

/* ------------------------------------------------------------------ reader */

/* sigsnap.c: the type's part of a snapshot (type.h) */
struct shmstat_snap;
struct shmstat__mval;
SHMSTAT_HIDDEN bool shmstat__sigsnap_desc_ok(const struct shmstat_hdr *h,
					     const struct shmstat_desc *d);
SHMSTAT_HIDDEN int shmstat__sigsnap_copy(struct shmstat_snap *s);
SHMSTAT_HIDDEN void shmstat__sigsnap_free(struct shmstat_snap *s);
struct shmstat__rdesc;
SHMSTAT_HIDDEN void shmstat__sigsnap_value(const struct shmstat_snap *s,
					   const struct shmstat__rdesc *d, struct shmstat__mval *m);

/* How the type plugs into the core (type.h) */
struct shmstat__type;
SHMSTAT_HIDDEN extern const struct shmstat__type shmstat__sig_type;

#endif
