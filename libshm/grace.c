/*
 * grace.c - the reaper lock and folding of gone processes' stripes.
 *
 * Fold of process slot p, under the reaper lock; fold_state holds phase,
 * current grave and p in one word, so each step is one store:
 *
 *   1. fold_state = (MERGING, a, p), fold_seq++
 *      grave[!a] = grave[a] + the values of p's stripes, and the grave
 *      summary [!a] of every signature table = the merge of [a] and the
 *      summaries of p's stripes
 *      (a pure function of both: a crash here is repaired by redoing it)
 *   2. fold_state = (FLIPPED, !a, p), fold_seq++
 *      give p's summaries back to their pools, zero p's stripes and mark
 *      them FREE, clear p's slot fields
 *   3. fold_state = (IDLE, !a, 0), fold_seq++
 *      only now free p's slot, so no new process can take it while a
 *      repair of this fold might still touch it
 *
 * A reader that saw the same fold_seq before and after its copy knows the
 * phase: while MERGING it counts p's stripes and grave[a]; once FLIPPED
 * it counts grave[!a] and skips p's stripes. No reader waits, no writer
 * waits for a reader.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "shmstat.h"
#include "grace.h"
#include "histogram.h"
#include "procs.h"
#include "sigtable.h"

void shmstat__fold_seq_bump(struct shmstat_hdr *h)
{
	__atomic_fetch_add(&h->fold_seq, 1, __ATOMIC_ACQ_REL);
	shmstat__fence(__ATOMIC_RELEASE);
}


void shmstat__gauge_merge(uint32_t agg, uint64_t *g, int64_t v, uint64_t stamp)
{
	if (agg == SHMSTAT_AGG_SUM || agg == SHMSTAT_AGG_LIVESUM) {
		g[0] += (uint64_t)v;    /* every process adds, even unregistered */
		return;
	}
	if (stamp == 0)
		return;                 /* the process never had this gauge */
	switch (agg) {
	case SHMSTAT_AGG_MAX:
	case SHMSTAT_AGG_LIVEMAX:
		if (g[2] == 0 || v > (int64_t)g[1]) {
			g[1] = (uint64_t)v;
			g[2] = 1;
		}
		break;
	case SHMSTAT_AGG_MIN:
	case SHMSTAT_AGG_LIVEMIN:
		if (g[2] == 0 || v < (int64_t)g[1]) {
			g[1] = (uint64_t)v;
			g[2] = 1;
		}
		break;
	case SHMSTAT_AGG_LAST:
	case SHMSTAT_AGG_LIVELAST:
		if (stamp >= g[2]) {
			g[1] = (uint64_t)v;
			g[2] = stamp;
		}
		break;
	default:
		break;
	}
}

static bool is_live_agg(uint32_t agg)
{
	return agg >= SHMSTAT_AGG_LIVESUM;
}

static bool stripe_of(uint64_t w, uint32_t p)
{
	uint32_t st = SHMSTAT_STRIPE_STATE(w);

	return SHMSTAT_STRIPE_PROC(w) == p &&
	       (st == SHMSTAT_STRIPE_OWNED || st == SHMSTAT_STRIPE_IDLE);
}

/* The largest of slot @v in grave @src and the stripes of proc @p. */
static uint64_t max_of(struct shmstat_seg *seg, uint32_t p, const uint64_t *src, uint32_t v)
{
	uint64_t m = ld_relaxed(&src[v]), x;

	x = ld_relaxed(&shmstat__stripe(seg, SHMSTAT_PROC_STRIPE(p))[v]);
	if (x > m)
		m = x;
	for (uint32_t i = SHMSTAT_GRAVES + seg->max_procs; i < seg->nstripes; i++) {
		if (!stripe_of(ld_acquire(&seg->owners[i]), p))
			continue;
		x = ld_relaxed(&shmstat__stripe(seg, i)[v]);
		if (x > m)
			m = x;
	}
	return m;
}

static void merge(struct shmstat_seg *seg, uint32_t p, const uint64_t *src, uint64_t *dst)
{
	const uint32_t nv = seg->max_values;
	const uint64_t *ps = shmstat__stripe(seg, SHMSTAT_PROC_STRIPE(p));

	for (uint32_t v = 0; v < nv; v++)
		st_relaxed(&dst[v], ld_relaxed(&src[v]) + ld_relaxed(&ps[v]));
	for (uint32_t i = SHMSTAT_GRAVES + seg->max_procs; i < seg->nstripes; i++) {
		const uint64_t *s;

		if (!stripe_of(ld_acquire(&seg->owners[i]), p))
			continue;
		s = shmstat__stripe(seg, i);
		for (uint32_t v = 0; v < nv; v++)
			st_relaxed(&dst[v], ld_relaxed(&dst[v]) + ld_relaxed(&s[v]));
	}
	/* slots that are not sums: a gauge's [1] and [2] (its value is its
	 * base plus its deltas, combined by its aggregation), a histogram's
	 * max and ~min (the largest wins) */
	for (uint32_t d = 0; d < seg->max_metrics; d++) {
		const struct shmstat_desc *desc = &seg->descs[d];
		uint64_t g[3];
		uint32_t off;
		int64_t val;

		if (SHMSTAT_DESC_STATE(ld_acquire(&desc->word)) != SHMSTAT_DESC_LIVE)
			continue;
		off = desc->value_off;
		if (off > nv || SHMSTAT_GAUGE_SLOTS > nv - off)
			continue;
		if (desc->type == SHMSTAT_SIGTABLE) {
			/* a stripe's summary index is not a sum */
			if (SHMSTAT_S_SUMMARY < nv - off)
				st_relaxed(&dst[off + SHMSTAT_S_SUMMARY], 0);
			continue;
		}
		if (desc->type == SHMSTAT_HISTOGRAM) {
			for (uint32_t k = SHMSTAT_H_MAX; k <= SHMSTAT_H_NMIN; k++)
				st_relaxed(&dst[off + k], max_of(seg, p, src, off + k));
			continue;
		}
		if (desc->type != SHMSTAT_GAUGE)
			continue;
		for (int k = 0; k < 3; k++)
			g[k] = ld_relaxed(&src[off + k]);
		/* dst[off] - src[off] is p's sum of deltas (all its stripes) */
		val = (int64_t)(ld_relaxed(&dst[off]) - g[0] + ld_relaxed(&ps[off + 1]));
		if (!is_live_agg(desc->agg))
			shmstat__gauge_merge(desc->agg, g, val, ld_relaxed(&ps[off + 2]));
		for (int k = 0; k < 3; k++)
			st_relaxed(&dst[off + k], g[k]);
	}
}

static void zero_stripe(struct shmstat_seg *seg, uint32_t i)
{
	uint64_t *s = shmstat__stripe(seg, i);

	for (uint32_t v = 0; v < seg->max_values; v++)
		st_relaxed(&s[v], 0);
}

/* Steps 2 and 3 of a fold (also the repair of a fold found FLIPPED). */
static void finish(struct shmstat_seg *seg, uint32_t p, uint32_t active)
{
	struct shmstat_hdr *h = seg->hdr;
	struct shmstat_proc *slot = &seg->procs[p];
	uint64_t w;

	/* the summaries first: they are p's by their stripes */
	shmstat__sig_release(seg, p);
	zero_stripe(seg, SHMSTAT_PROC_STRIPE(p));
	for (uint32_t i = SHMSTAT_GRAVES + seg->max_procs; i < seg->nstripes; i++) {
		if (!stripe_of(ld_acquire(&seg->owners[i]), p))
			continue;
		zero_stripe(seg, i);
		st_release(&seg->owners[i], SHMSTAT_STRIPE_WORD(SHMSTAT_STRIPE_FREE, 0));
	}
	slot->starttime = 0;
	slot->attach_ns = 0;
	slot->heartbeat_ns = 0;
	slot->uid = 0;
	memset(slot->comm, 0, sizeof(slot->comm));
	/* release: a reader that sees IDLE sees p's stripes zeroed and
	 * free, so it does not count them next to the grave holding them */
	st_release(&h->fold_state, SHMSTAT_FOLD_WORD(SHMSTAT_FOLD_IDLE, active, 0));
	shmstat__fold_seq_bump(h);
	/* free the slot only if it still holds the gone process: reapers
	 * and detach mark it EXITED before a fold */
	w = ld_acquire(&slot->word);
	if (SHMSTAT_PROC_STATE(w) == SHMSTAT_PROC_EXITED)
		cas_acqrel(&slot->word, &w, SHMSTAT_PROC_WORD(SHMSTAT_PROC_FREE, 0));
}

void shmstat__fold(struct shmstat_seg *seg, uint32_t p)
{
	struct shmstat_hdr *h = seg->hdr;
	uint32_t a;

	a = SHMSTAT_FOLD_ACTIVE(ld_acquire(&h->fold_state));

	st_release(&h->fold_state, SHMSTAT_FOLD_WORD(SHMSTAT_FOLD_MERGING, a, p));
	shmstat__fold_seq_bump(h);
	merge(seg, p, shmstat__stripe(seg, a), shmstat__stripe(seg, !a));
	shmstat__sig_fold(seg, p, a, !a);
	/* release: a reader that sees FLIPPED sees grave[!a] whole, which it
	 * counts instead of p's stripes */
	st_release(&h->fold_state, SHMSTAT_FOLD_WORD(SHMSTAT_FOLD_FLIPPED, !a, p));
	shmstat__fold_seq_bump(h);
	finish(seg, p, !a);
}

/* A reaper died holding the lock: complete what fold_state says. */
static void recover(struct shmstat_seg *seg)
{
	struct shmstat_hdr *h = seg->hdr;
	uint64_t fs = ld_acquire(&h->fold_state);
	uint32_t p = SHMSTAT_FOLD_PROC(fs), a = SHMSTAT_FOLD_ACTIVE(fs);

	if (SHMSTAT_FOLD_PHASE(fs) == SHMSTAT_FOLD_IDLE)
		return;
	if (p >= seg->max_procs || SHMSTAT_FOLD_PHASE(fs) > SHMSTAT_FOLD_FLIPPED) {
		st_release(&h->fold_state, SHMSTAT_FOLD_WORD(SHMSTAT_FOLD_IDLE, a, 0));
		shmstat__fold_seq_bump(h);
		return;
	}
	if (SHMSTAT_FOLD_PHASE(fs) == SHMSTAT_FOLD_MERGING)
		shmstat__fold(seg, p);
	else
		finish(seg, p, a);
}

bool shmstat__reaper_lock(struct shmstat_seg *seg, unsigned wait_ms)
{
	uint64_t *lock = &seg->hdr->reaper_lock;

	for (unsigned waited = 0;; waited++) {
		uint64_t holder = 0;

		if (cas_acqrel(lock, &holder, seg->tag)) {
			recover(seg);
			return true;
		}
		if (holder != seg->tag && !shmstat__tag_alive(holder) &&
		    cas_acqrel(lock, &holder, seg->tag)) {
			recover(seg);
			return true;
		}
		if (waited >= wait_ms)
			return false;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
}

void shmstat__reaper_unlock(struct shmstat_seg *seg)
{
	st_release(&seg->hdr->reaper_lock, 0);
}
