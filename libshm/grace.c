/*
 * grace.c - folding of gone processes' stripes, under the reaper lock
 * (reaplock.c).
 *
 * Fold of process slot p, under the reaper lock; fold_state holds phase,
 * current grave and p in one word, so each step is one store:
 *
 *   1. fold_state = (MERGING, a, p), fold_seq++
 *      grave[!a] = grave[a] + the values of p's stripes, and the grave
 *      summary [!a] of every signature table = the merge of [a] and the
 *      summaries of p's stripes
 *      (a pure function of both: a crash here is repaired by redoing it),
 *      then fold_seq++ (a reader's extents taken during the merge miss
 *      the pages it made data: it must copy again)
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
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmstat.h"
#include "grace.h"
#include "hook.h"
#include "procs.h"
#include "reaplock.h"
#include "type.h"

void shmstat__fold_seq_bump(struct shmstat_hdr *h)
{
	__atomic_fetch_add(&h->fold_seq, 1, __ATOMIC_ACQ_REL);
	shmstat__fence(__ATOMIC_RELEASE);
}


/* The first thread stripe of process slot @p from @i on, or nstripes:
 * from the fold's list of them (one binary search) when there is one. */
static uint32_t next_of(const struct shmstat_seg *seg, uint32_t p, uint32_t i)
{
	if (seg->fold_own != NULL && seg->fold_p == p) {
		uint32_t lo = 0, hi = seg->fold_nown;

		while (lo < hi) {
			const uint32_t mid = lo + (hi - lo) / 2;

			if (seg->fold_own[mid] < i)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo < seg->fold_nown ? seg->fold_own[lo] : seg->nstripes;
	}
	if (i < SHMSTAT_GRAVES + seg->max_procs)
		i = SHMSTAT_GRAVES + seg->max_procs;
	while (i < seg->nstripes && !shmstat__stripe_of(ld_acquire(&seg->owners[i]), p))
		i++;
	return i;
}

uint64_t shmstat__fold_ld(const struct shmstat_seg *seg, const uint64_t *p)
{
	return shmstat__dmap_ld(seg->fold_map, seg, p);
}

void shmstat__fold_st(struct shmstat_seg *seg, uint64_t *p, uint64_t v)
{
	shmstat__dmap_st(seg->fold_map, seg, p, v);
}

uint64_t shmstat__fold_max(struct shmstat_seg *seg, uint32_t p, const uint64_t *src, uint32_t v)
{
	uint64_t m = shmstat__fold_ld(seg, &src[v]), x;

	x = shmstat__fold_ld(seg, &shmstat__stripe(seg, SHMSTAT_PROC_STRIPE(p))[v]);
	if (x > m)
		m = x;
	for (uint32_t i = next_of(seg, p, 0); i < seg->nstripes; i = next_of(seg, p, i + 1)) {
		x = shmstat__fold_ld(seg, &shmstat__stripe(seg, i)[v]);
		if (x > m)
			m = x;
	}
	return m;
}

/* The data pages of what a fold of process slot @p reads and writes: the
 * graves and p's stripes (segment.h, "Pages in use"), into @m. */
static void fold_map(struct shmstat_seg *seg, uint32_t p, struct shmstat__dmap *m)
{
	*m = (struct shmstat__dmap){ 0 };
	shmstat__dmap_add(m, seg, 0, SHMSTAT_GRAVES - 1);
	shmstat__dmap_add(m, seg, SHMSTAT_PROC_STRIPE(p), SHMSTAT_PROC_STRIPE(p));
	for (uint32_t i = next_of(seg, p, 0); i < seg->nstripes; i = next_of(seg, p, i + 1)) {
		uint32_t j = i;

		/* a run of p's stripes in one walk */
		while (j + 1 < seg->nstripes && shmstat__stripe_of(ld_acquire(&seg->owners[j + 1]), p))
			j++;
		shmstat__dmap_add(m, seg, i, j);
		i = j;
	}
}

/* The thread stripes of process slot @p, in order, into seg->fold_own
 * (left NULL without memory: next_of() walks the owner words). Without
 * it every walk of the fold read all of them: touched() once for each
 * block of slots and each live metric of a type with fold_slots, 40
 * million owner words (22 ms) a fold with 10,000 gauges and 4,000
 * thread stripes. */
static void own_list(struct shmstat_seg *seg, uint32_t p)
{
	uint32_t n = 0, k = 0, *own;

	seg->fold_own = NULL;           /* the walks below read the owner words */
	for (uint32_t i = next_of(seg, p, 0); i < seg->nstripes; i = next_of(seg, p, i + 1))
		n++;
	own = malloc((n ? n : 1) * sizeof(*own));
	if (own == NULL)
		return;
	for (uint32_t i = next_of(seg, p, 0); i < seg->nstripes && k < n;
	     i = next_of(seg, p, i + 1))
		own[k++] = i;
	seg->fold_own = own;
	seg->fold_nown = k;
	seg->fold_p = p;
}

#define PAGE_SLOTS (SHMSTAT_PAGE / 8u)

/* The slots of the block of PAGE_SLOTS from @from on, of @nv in all */
static uint32_t block_len(uint32_t nv, uint32_t from)
{
	return nv - from < PAGE_SLOTS ? nv - from : PAGE_SLOTS;
}

/* Does a page of slots [@from, @from + @n) hold data in grave @src or
 * @dst, or in a stripe of process slot @p? */
static bool touched(struct shmstat_seg *seg, uint32_t p, const uint64_t *src, const uint64_t *dst,
		    uint32_t from, uint32_t n)
{
	const struct shmstat__dmap *m = seg->fold_map;

	if (shmstat__dmap_any(m, seg, src + from, n) || shmstat__dmap_any(m, seg, dst + from, n) ||
	    shmstat__dmap_any(m, seg, shmstat__stripe(seg, SHMSTAT_PROC_STRIPE(p)) + from, n))
		return true;
	for (uint32_t i = next_of(seg, p, 0); i < seg->nstripes; i = next_of(seg, p, i + 1))
		if (shmstat__dmap_any(m, seg, shmstat__stripe(seg, i) + from, n))
			return true;
	return false;
}

/* Slots that are not sums, by the metric's type: a gauge's value and
 * stamp, a histogram's max and ~min, where they may hold data. */
static void fold_types(struct shmstat_seg *seg, uint32_t p, const uint64_t *src, uint64_t *dst)
{
	for (uint32_t d = 0; d < seg->max_metrics; d++) {
		const struct shmstat_desc *desc = &seg->descs[d];
		const struct shmstat__type *t;

		if (SHMSTAT_DESC_STATE(ld_acquire(&desc->word)) != SHMSTAT_DESC_LIVE)
			continue;
		t = shmstat__type_of(desc->type);
		if (t == NULL || t->fold_slots == NULL || desc->nvalues == 0 ||
		    !shmstat__fits(desc->value_off, desc->nvalues, seg->max_values))
			continue;
		/* the slots a type folds are among its first 8 */
		if (!touched(seg, p, src, dst, desc->value_off, desc->nvalues < 8 ? desc->nvalues : 8))
			continue;
		t->fold_slots(seg, p, desc, src, dst);
	}
}

/* Fold step 1: grave @dst = grave @src + process slot @p's stripes, a
 * page of slots at a time where any of them holds data; a slot read only
 * from the stripes whose page holds data, and stored into a hole only
 * when not 0 (segment.h, "Pages in use"). */
static void merge(struct shmstat_seg *seg, uint32_t p, const uint64_t *src, uint64_t *dst)
{
	struct shmstat__dmap *m = seg->fold_map;
	const uint32_t nv = seg->max_values;
	const uint64_t *ps = shmstat__stripe(seg, SHMSTAT_PROC_STRIPE(p));
	uint64_t acc[PAGE_SLOTS];

	for (uint32_t from = 0; from < nv; from += PAGE_SLOTS) {
		const uint32_t n = block_len(nv, from);

		if (!touched(seg, p, src, dst, from, n))
			continue;
		for (uint32_t k = 0; k < n; k++)
			acc[k] = shmstat__dmap_ld(m, seg, &src[from + k]) +
				 shmstat__dmap_ld(m, seg, &ps[from + k]);
		for (uint32_t i = next_of(seg, p, 0); i < seg->nstripes; i = next_of(seg, p, i + 1)) {
			const uint64_t *s = shmstat__stripe(seg, i);

			for (uint32_t k = 0; k < n; k++)
				acc[k] += shmstat__dmap_ld(m, seg, &s[from + k]);
		}
		for (uint32_t k = 0; k < n; k++)
			shmstat__dmap_st(m, seg, &dst[from + k], acc[k]);
	}
	fold_types(seg, p, src, dst);
}

/* Zeros over what stripe @i holds: its slots that are not 0 (its holes
 * are zeros already, and stay holes). */
static void zero_stripe(struct shmstat_seg *seg, const struct shmstat__dmap *m, uint32_t i)
{
	uint64_t *s = shmstat__stripe(seg, i);

	for (uint32_t from = 0; from < seg->max_values; from += PAGE_SLOTS) {
		const uint32_t n = block_len(seg->max_values, from);

		if (!shmstat__dmap_any(m, seg, s + from, n))
			continue;
		for (uint32_t k = 0; k < n; k++)
			if (shmstat__dmap_ld(m, seg, &s[from + k]) != 0)
				st_relaxed(&s[from + k], 0);
	}
}

/* Steps 2 and 3 of a fold (also the repair of a fold found FLIPPED). */
static void finish(struct shmstat_seg *seg, uint32_t p, uint32_t active)
{
	struct shmstat_hdr *h = seg->hdr;
	struct shmstat_proc *slot = &seg->procs[p];
	struct shmstat__dmap own;
	const struct shmstat__dmap *m = seg->fold_map;
	uint64_t w;

	if (m == NULL) {
		fold_map(seg, p, &own);         /* a repair of a FLIPPED fold */
		m = &own;
	}
	/* the types' parts first (signature summaries): they are p's by
	 * their stripes */
	SHMSTAT_EACH_TYPE(release, seg, p);
	zero_stripe(seg, m, SHMSTAT_PROC_STRIPE(p));
	for (uint32_t i = SHMSTAT_GRAVES + seg->max_procs; i < seg->nstripes; i++) {
		if (!shmstat__stripe_of(ld_acquire(&seg->owners[i]), p))
			continue;
		zero_stripe(seg, m, i);
		st_release(&seg->owners[i], SHMSTAT_STRIPE_WORD(SHMSTAT_STRIPE_FREE, 0));
	}
	if (m == &own)
		shmstat__dmap_free(&own);
	slot->starttime = 0;
	slot->attach_ns = 0;
	slot->heartbeat_ns = 0;
	slot->uid = 0;
	/* a writer of an older library stamps no namespace: not another's */
	st_relaxed(&slot->pidns, 0);
	st_relaxed(&slot->lock_ns, 0);
	memset(slot->comm, 0, sizeof(slot->comm));
	/* not the gone writer's acknowledgement: a claim stores its own
	 * just after its CAS, and a reaper that reads the slot in between
	 * must not count the old one (0 holds every removal back) */
	st_relaxed(&slot->ack_seq, 0);
	st_relaxed(&slot->sets_done, 0);
	st_relaxed(&slot->sets_begun, 0);
	st_relaxed(&slot->image, 0);
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
	struct shmstat__dmap m;
	uint32_t a;

	a = SHMSTAT_FOLD_ACTIVE(ld_acquire(&h->fold_state));

	st_release(&h->fold_state, SHMSTAT_FOLD_WORD(SHMSTAT_FOLD_MERGING, a, p));
	shmstat__fold_seq_bump(h);
	SHMSTAT_HOOK(SHMSTAT_HOOK_FOLD_MERGING, seg);
	own_list(seg, p);
	fold_map(seg, p, &m);
	seg->fold_map = &m;
	merge(seg, p, shmstat__stripe(seg, a), shmstat__stripe(seg, !a));
	SHMSTAT_EACH_TYPE(fold, seg, p, a, !a);
	/* fold_seq again, before FLIPPED: a reader that read fold_seq while
	 * the merge ran took the object's extents before grave[!a]'s new
	 * pages were data; it must not accept a copy that shows FLIPPED
	 * (reader.c, "Pages in use" in docs/format.md) */
	shmstat__fold_seq_bump(h);
	/* release: a reader that sees FLIPPED sees grave[!a] whole, which it
	 * counts instead of p's stripes */
	st_release(&h->fold_state, SHMSTAT_FOLD_WORD(SHMSTAT_FOLD_FLIPPED, !a, p));
	SHMSTAT_HOOK(SHMSTAT_HOOK_FOLD_FLIPPED, seg);
	shmstat__fold_seq_bump(h);
	finish(seg, p, !a);
	seg->fold_map = NULL;
	shmstat__dmap_free(&m);
	free(seg->fold_own);
	seg->fold_own = NULL;
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

static bool slot_gone(const struct shmstat_seg *seg, const struct shmstat_proc *p, uint64_t w,
		      uint64_t self);

/* Does a process slot wait for a fold (a gone writer's, a stale claim)?
 * Only such a slot can a reaper free. */
static bool any_slot_gone(const struct shmstat_seg *seg)
{
	const uint64_t self = shmstat__self_pidns();

	for (uint32_t i = 0; i < seg->max_procs; i++)
		if (slot_gone(seg, &seg->procs[i], ld_acquire(&seg->procs[i].word), self))
			return true;
	return false;
}

bool shmstat__reap_for_slot(struct shmstat_seg *seg, struct shmstat_slot_wait *sw)
{
	uint64_t *lock = &seg->hdr->reaper_lock;
	uint64_t holder = ld_acquire(lock), fs;
	enum shmstat_tag_state hs = SHMSTAT_TAG_RUNS;

	/* the holder's state (its /proc files) asked every 16 tries, not at
	 * each: many writers may wait at once */
	if (holder != 0 && holder != shmstat__reaper_word(seg) && sw->tries++ % 16 == 0) {
		hs = shmstat__reaper_holder_state(seg, holder);
		/* a holder that runs frees only slots of gone writers: with
		 * none (every slot a running writer's), nothing to wait for,
		 * however its fold line moves. (A process of the uid that held
		 * the lock and moved fold_state kept a shmstat_open() or a
		 * fork() waiting for ever.) */
		if (hs == SHMSTAT_TAG_RUNS && !any_slot_gone(seg))
			return false;
	}
	/* free, or left by a dead reaper: fold what is gone ourselves. Nothing
	 * folded and the lock free again: no slot waits for a fold (they are
	 * live writers' or their claims) */
	if (holder == 0 || hs == SHMSTAT_TAG_GONE) {
		if (shmstat__reap_wait(seg, 0) > 0) {
			sw->quiet = 0;
			return true;
		}
		if (ld_acquire(lock) == 0)
			return false;
	}
	/* a stopped holder may stay so for ever (as for the lock itself) */
	if (hs == SHMSTAT_TAG_STOPPED)
		return false;
	/* a holder that runs frees each slot as it folds it; one that stays
	 * in a phase for 2 s without a step may be frozen (a cgroup
	 * freezer, a debugger): not waited for longer */
	fs = ld_acquire(&seg->hdr->fold_state);
	if (fs != sw->seen) {
		sw->seen = fs;
		sw->quiet = 0;
	} else if (++sw->quiet >= 2000) {
		return false;
	}
	SHMSTAT_HOOK(SHMSTAT_HOOK_WAIT, lock);
	nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	return true;
}

/* ---------------------------------------------------------------- removal */

bool shmstat__retire_pending(struct shmstat_seg *seg, struct shmstat_desc *d)
{
	uint64_t w = SHMSTAT_DESC_PENDING;
	uint64_t seq;

	/* the increment comes after the PENDING store (acquire-release on
	 * both sides of the chain): a quiescer that reads seq or later
	 * from retire_seq then reads PENDING or later from the word */
	seq = __atomic_add_fetch(&seg->hdr->retire_seq, 1, __ATOMIC_ACQ_REL);
	/* a CAS: the remover and any number of reapers may race here; one
	 * sequence wins, the others are never used */
	return cas_acqrel(&d->word, &w, SHMSTAT_DESC_WORD(SHMSTAT_DESC_RETIRED, seq << 8));
}

void shmstat__deadv_publish(struct shmstat_seg *seg, struct shmstat_desc *d, uint32_t off,
			    uint32_t n)
{
	/* a number no removal has, nor any other DEADV word: taking it
	 * from retire_seq only makes the writers acknowledge one more
	 * number (no RETIRED word has it, so no grace period waits on it) */
	const uint64_t seq = __atomic_add_fetch(&seg->hdr->retire_seq, 1, __ATOMIC_ACQ_REL);

	/* atomic: scans for tombstones read them (registry.c,
	 * reuse_values()) */
	st_relaxed(&d->value_off, off);
	st_relaxed(&d->nvalues, n);
	d->sum = shmstat__hash((const unsigned char *)d + SHMSTAT_DESC_SUM_FROM,
			       sizeof(*d) - SHMSTAT_DESC_SUM_FROM);
	st_release(&d->word, SHMSTAT_DESC_WORD(SHMSTAT_DESC_DEADV, seq << 8));
}

/* ------------------------------------------------------------ the reaper */

/* Is the writer of a slot with word @w gone, so its stripes may be
 * folded? The reaper @seg judges its own process's slots too: one held
 * by an image of this process before an exec() (the tag stays, the
 * image number does not) is held by nobody; nothing of that image
 * writes any more. (Under the reaper lock: nobody else folds and frees
 * it meanwhile, so a CAS from its LIVE word does not meet a new claim
 * of this image with the same word.) */
static bool slot_gone(const struct shmstat_seg *seg, const struct shmstat_proc *p, uint64_t w,
		      uint64_t self)
{
	/* a writer of another pid namespace than @self is not judged by
	 * pid: only EXITED, a claim older than 10 s, or (4.6) the lock of
	 * its slot gone when it says it holds one (procs.c, "The lock of a
	 * slot": why a live one is never taken for gone) tells it gone */
	const bool foreign = shmstat__pidns_other(ld_relaxed(&p->pidns), self);

	switch (SHMSTAT_PROC_STATE(w)) {
	case SHMSTAT_PROC_EXITED:
		return true;
	case SHMSTAT_PROC_CLAIMING:
		/* claims take microseconds; one made for a child at fork
		 * stays if the child never ran: give up on it after 10 s.
		 * Between its CAS and its pidns store a claimer of another
		 * namespace looks like one of ours, and its pid names
		 * nothing of it here: one that took the lock of its slot
		 * before its CAS (procs.c) is not gone while a write lock of
		 * the byte is held (test_pidns_claim_unstamped) */
		if (foreign ? shmstat__proc_lock_state(seg, p) == 0 :
		    !shmstat__tag_alive(w) && shmstat__proc_lock_held(seg, p) != 1)
			return true;
		{
			/* 0: the claimer has not stamped it yet (it is
			 * between its CAS and its first store) */
			uint64_t t = ld_relaxed(&p->attach_ns);

			return t != 0 && shmstat__now_ns() - t > UINT64_C(10000000000);
		}
	case SHMSTAT_PROC_LIVE:
		if (foreign)
			return shmstat__proc_lock_state(seg, p) == 0;
		if (SHMSTAT_TAG_OF(w) == SHMSTAT_TAG_OF(seg->tag)) {
			uint64_t img = ld_relaxed(&p->image);

			return img != 0 && img != shmstat__image_id();
		}
		return !shmstat__tag_alive(w);
	default:
		return false;
	}
}

/* Claims of descriptors by processes that died mid-registration become
 * tombstones, so probes go past them and nobody waits for them. */
static void repair_descs(struct shmstat_seg *seg)
{
	for (uint32_t i = 0; i < seg->max_metrics; i++) {
		uint64_t w = ld_acquire(&seg->descs[i].word);

		if (SHMSTAT_DESC_STATE(w) == SHMSTAT_DESC_CLAIMED &&
		    !shmstat__seg_tag_alive(seg, w))
			cas_acqrel(&seg->descs[i].word, &w, SHMSTAT_DESC_WORD(SHMSTAT_DESC_DEAD, w));
	}
}

/* The smallest acknowledgement of the writers that may hold a handle,
 * UINT64_MAX when none may; *@nfree: the slots read FREE. */
static uint64_t min_ack(struct shmstat_seg *seg, uint32_t *nfree)
{
	const uint64_t self = shmstat__self_pidns();
	uint64_t min = UINT64_MAX;

	*nfree = 0;
	for (uint32_t i = 0; i < seg->max_procs; i++) {
		uint64_t w = ld_acquire(&seg->procs[i].word), ack;
		uint32_t st = SHMSTAT_PROC_STATE(w);
		/* one of another pid namespace is not judged by pid */
		const bool foreign = shmstat__pidns_other(ld_relaxed(&seg->procs[i].pidns), self);

		SHMSTAT_HOOK(SHMSTAT_HOOK_RECLAIM_SLOT, &seg->procs[i]);
		if (st == SHMSTAT_PROC_FREE)
			(*nfree)++;
		/* the dead hold no handle; but a CLAIMING slot counts
		 * whatever its tag: it may be one preclaimed at fork
		 * (tls.c), tagged with the parent, which the child adopts
		 * with the parent's acknowledgement and handles even when
		 * the parent died after the fold loop above passed it (that
		 * loop frees it at the next reap if nobody adopts it) */
		if (!(st == SHMSTAT_PROC_LIVE || st == SHMSTAT_PROC_CLAIMING) ||
		    (st == SHMSTAT_PROC_LIVE && !foreign && !shmstat__tag_alive(w)))
			continue;
		/* read once: a writer may acknowledge more at any time, and a
		 * second read could raise the minimum past the ack of a
		 * writer counted before it (its removals reclaimed while it
		 * still writes into them) */
		ack = ld_acquire(&seg->procs[i].ack_seq);
		SHMSTAT_HOOK(SHMSTAT_HOOK_RECLAIM_ACK, &seg->procs[i]);
		if (ack < min)
			min = ack;
	}
	return min;
}

/* The slots FREE now */
static uint32_t free_slots(const struct shmstat_seg *seg)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < seg->max_procs; i++)
		if (SHMSTAT_PROC_STATE(ld_acquire(&seg->procs[i].word)) == SHMSTAT_PROC_FREE)
			n++;
	return n;
}

/* Removed metrics whose grace period is over: every live writer has
 * acknowledged their removal (shmstat_quiesce()), or is gone. Their value
 * slots are zeroed in every stripe and may be taken by a new metric; a
 * reader copying meanwhile sees fold_seq move and copies again. */
static void reclaim_retired(struct shmstat_seg *seg)
{
	struct shmstat__dmap all = { 0 };      /* walked at the first use */
	uint64_t min, ceiling;
	uint32_t nfree;
	bool bumped = false;

	/* removals whose remover died (or is stopped) between its two
	 * stores get their sequence here; the grace period starts then */
	for (uint32_t i = 0; i < seg->max_metrics; i++)
		if (ld_acquire(&seg->descs[i].word) == SHMSTAT_DESC_PENDING)
			shmstat__retire_pending(seg, &seg->descs[i]);
	/* A slot read FREE and claimed before the walk ends holds a writer
	 * the minimum does not count: one that attached (acknowledging the
	 * removals so far) and took a handle of a metric then removed and
	 * acknowledged by the writers read after it, or a child forked
	 * with its parent's handles and acknowledgement, whose parent then
	 * acknowledged more. So the walk is taken again until no slot read
	 * FREE was claimed meanwhile: only a fold frees a slot, under the
	 * lock we hold, so each walk taken again has one FREE slot fewer.
	 * The fence pairs with the claimer's (procs.c, claim_slot()): if
	 * the second read finds the slot FREE, no handle the claimer takes
	 * later is of a removal this minimum counts. */
	/* And the minimum is never above the removals numbered before the
	 * walk: with no writer counted it was UINT64_MAX, and a removal made
	 * after the walk (by a writer that attached after it, whose forked
	 * child still held the handle) was reclaimed at once. A removal
	 * takes its number after its PENDING store, so one numbered up to
	 * @ceiling is no longer live for a claimer that fences after us. */
	ceiling = ld_acquire(&seg->hdr->retire_seq);
	do {
		min = min_ack(seg, &nfree);
		shmstat__fence(__ATOMIC_SEQ_CST);
	} while (free_slots(seg) < nfree);
	if (min > ceiling)
		min = ceiling;
	SHMSTAT_HOOK(SHMSTAT_HOOK_RECLAIM_WALKED, seg);
	for (uint32_t i = 0; i < seg->max_metrics; i++) {
		struct shmstat_desc *d = &seg->descs[i];
		uint64_t w = ld_acquire(&d->word);

		if (SHMSTAT_DESC_STATE(w) != SHMSTAT_DESC_RETIRED || w == SHMSTAT_DESC_PENDING ||
		    SHMSTAT_DESC_RETIRE_SEQ(w) > min)
			continue;
		if (d->value_off <= seg->max_values && d->nvalues <= seg->max_values - d->value_off) {
			if (!bumped) {
				shmstat__fold_seq_bump(seg->hdr);
				bumped = true;
			}
			if (all.npages == 0)
				shmstat__dmap_add(&all, seg, 0, seg->nstripes - 1);
			for (uint32_t s = 0; s < seg->nstripes; s++) {
				uint64_t *v = shmstat__stripe(seg, s) + d->value_off;

				/* a hole is zeros: leave it one (segment.h,
				 * "Pages in use") */
				for (uint32_t k = 0; k < d->nvalues; k++)
					if (shmstat__dmap_ld(&all, seg, &v[k]) != 0)
						st_relaxed(&v[k], 0);
			}
			/* the sequence stays: no two DEADV words are equal,
			 * so a CAS from one that was read before proves that
			 * nothing happened to the tombstone since (registry.c,
			 * reuse_values()) */
			cas_acqrel(&d->word, &w, SHMSTAT_DESC_WORD(SHMSTAT_DESC_DEADV, w));
		} else {
			cas_acqrel(&d->word, &w, SHMSTAT_DESC_WORD(SHMSTAT_DESC_DEAD, 0));
		}
	}
	if (bumped)
		shmstat__fold_seq_bump(seg->hdr);
	shmstat__dmap_free(&all);
}

/* A DEADV tombstone as coalesce() read it: the word first, then the
 * fields */
struct freeblk {
	uint64_t w;
	uint32_t off, n, i;
};

static int freeblk_cmp(const void *a, const void *b)
{
	const struct freeblk *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Merge DEADV tombstones whose value slots follow each other into the
 * first of them; the others become DEAD (tombstones without slots, which
 * any registration takes). Without it every removal leaves one DEADV
 * descriptor that only a metric of its size takes: churning through
 * metrics of one size fills the directory with them, and a metric of
 * another size finds no descriptor (issue: 64 counters' tombstones on a
 * 64-descriptor segment, no metric live, every gauge refused). After it,
 * the DEADV descriptors are at most one more than the live metrics
 * between their runs.
 *
 * Under the reaper lock (one coalescer at a time), racing registrations
 * that take tombstones and their slots by CAS. The first of a run is
 * taken DEADV -> CLAIMED (ours), each next one DEADV -> DEAD, as
 * reuse_values() takes slots: each CAS from the word read before the
 * fields proves the fields are those of the word (no DEADV word comes
 * back once it changed). A CAS that fails (a registration took that
 * tombstone) ends the run there. The first is published again with
 * shmstat__deadv_publish() (a new word) holding the slots of the whole
 * run, or with its own word when nothing was merged (its fields were not
 * touched). Registrants that meet the CLAIMED word wait for it, as for
 * any claim; a reaper killed meanwhile leaves it to be made DEAD by them
 * or the next reap, and the slots of that run are lost (as those a
 * registrant killed after taking them). */
static void coalesce(struct shmstat_seg *seg)
{
	struct freeblk *b;
	uint32_t n = 0, cnt = 0;

	for (uint32_t i = 0; i < seg->max_metrics; i++)
		if (SHMSTAT_DESC_STATE(ld_relaxed(&seg->descs[i].word)) == SHMSTAT_DESC_DEADV)
			cnt++;
	if (cnt < 2)
		return;
	b = malloc(cnt * sizeof(*b));
	if (b == NULL)
		return;         /* the next reap does it */
	for (uint32_t i = 0; i < seg->max_metrics && n < cnt; i++) {
		const struct shmstat_desc *d = &seg->descs[i];
		const uint64_t w = ld_acquire(&d->word);
		const uint32_t off = ld_relaxed(&d->value_off), nv = ld_relaxed(&d->nvalues);

		if (SHMSTAT_DESC_STATE(w) != SHMSTAT_DESC_DEADV || nv == 0 ||
		    !shmstat__fits(off, nv, seg->max_values))
			continue;
		b[n] = (struct freeblk){ .w = w, .off = off, .n = nv, .i = i };
		n++;
	}
	qsort(b, n, sizeof(*b), freeblk_cmp);
	for (uint32_t k = 0; k + 1 < n;) {
		struct shmstat_desc *first = &seg->descs[b[k].i];
		uint64_t w = b[k].w;
		uint32_t end = b[k].off + b[k].n, j = k + 1;

		if (end != b[j].off ||
		    !cas_acqrel(&first->word, &w, SHMSTAT_DESC_WORD(SHMSTAT_DESC_CLAIMED, seg->tag))) {
			k++;
			continue;
		}
		SHMSTAT_HOOK(SHMSTAT_HOOK_COALESCE_CLAIMED, first);
		for (; j < n && b[j].off == end; j++) {
			uint64_t wj = b[j].w;

			if (!cas_acqrel(&seg->descs[b[j].i].word, &wj,
					SHMSTAT_DESC_WORD(SHMSTAT_DESC_DEAD, 0)))
				break;
			end += b[j].n;
		}
		if (end != b[k].off + b[k].n)
			shmstat__deadv_publish(seg, first, b[k].off, end - b[k].off);
		else
			st_release(&first->word, b[k].w);
		/* a tombstone we failed to take may start the next run */
		k = j;
	}
	free(b);
}

unsigned shmstat__reap(struct shmstat_seg *seg)
{
	return shmstat__reap_wait(seg, 1000);
}

static unsigned reap_locked(struct shmstat_seg *seg);

/*
 * The reaper lock taken within @wait_ms, then the reap: false when the
 * lock could not be taken (*@n 0). No cancellation point while the lock
 * is held: liveness checks open and read /proc, and a thread cancelled
 * there (in shmstat_open() or shmstat_close()) left the lock to its live
 * process for good: every reap of every process waited 1.1 s for it and
 * folded nothing.
 */
static bool reap_try(struct shmstat_seg *seg, unsigned wait_ms, unsigned *n)
{
	int cancel;
	bool locked;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	locked = shmstat__reaper_lock(seg, wait_ms);
	/* taken, free or from a dead holder (of any pid namespace): first
	 * the fold that holder left half done */
	if (locked)
		recover(seg);
	*n = locked ? reap_locked(seg) : 0;
	pthread_setcancelstate(cancel, NULL);
	return locked;
}

unsigned shmstat__reap_wait(struct shmstat_seg *seg, unsigned wait_ms)
{
	unsigned n;

	(void)reap_try(seg, wait_ms, &n);
	return n;
}

int shmstat__gc_reap(struct shmstat_seg *seg, unsigned *reaped)
{
	uint64_t holder;

	if (reap_try(seg, 1000, reaped))
		return 0;
	/* said, not a quiet "reaped 0": the gone writers' slots stay taken
	 * (format.md, "A reaper stopped for good") */
	holder = ld_acquire(&seg->hdr->reaper_lock);
	if (holder == 0)        /* let go just now */
		return shmstat__fail(SHMSTAT_EBUSY,
				     "segment '%s': the reaper lock stayed taken for 1 s; nothing was reaped, try again",
				     seg->name);
	return shmstat__fail(SHMSTAT_EBUSY,
			     shmstat__reaper_holder_state(seg, holder) == SHMSTAT_TAG_STOPPED ?
			     "segment '%s': the reaper lock is held by pid %u, which is stopped; nothing was reaped until it is continued (SIGCONT) or killed" :
			     "segment '%s': the reaper lock is held by pid %u for over 1 s; nothing was reaped, try again",
			     seg->name, (unsigned)SHMSTAT_TAG_PID(holder));
}

/* The reap proper, the reaper lock held: the number of slots folded. */
static unsigned reap_locked(struct shmstat_seg *seg)
{
	const uint64_t self = shmstat__self_pidns();
	unsigned n = 0;

	for (uint32_t i = 0; i < seg->max_procs; i++) {
		uint64_t w = ld_acquire(&seg->procs[i].word);

		/* take the gone slot first (EXITED): a claimer finishing its
		 * attach meanwhile then fails its own CAS instead of being
		 * folded while it writes */
		if (slot_gone(seg, &seg->procs[i], w, self) &&
		    (SHMSTAT_PROC_STATE(w) == SHMSTAT_PROC_EXITED ||
		     cas_acqrel(&seg->procs[i].word, &w,
				SHMSTAT_PROC_WORD(SHMSTAT_PROC_EXITED, w)))) {
			shmstat__fold(seg, i);
			n++;
		}
	}
	repair_descs(seg);
	reclaim_retired(seg);
	coalesce(seg);
	SHMSTAT_EACH_TYPE(repair, seg);
	shmstat__reaper_unlock(seg);
	return n;
}
