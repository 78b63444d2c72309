/*
 * grace.h - cross-process reclamation: folding gone processes' stripes,
 * the reaper, and the grace periods of removed metrics.
 *
 * When a writer process is gone (detached, or dead), the values in its
 * stripes are merged into the grave stripe and the stripes are zeroed and
 * freed for reuse. Readers never lock: they read fold_seq before and after
 * copying, and every phase change bumps it, so a copy that saw no change
 * is consistent; fold_state (phase, grave, slot) tells a reader how to count the
 * stripes of the process being folded. The merge is idempotent (the two
 * graves are double-buffered), so a reaper that dies mid-fold is finished
 * by the next one, which takes over the lock of a dead holder.
 */
#ifndef SHMSTAT_GRACE_H
#define SHMSTAT_GRACE_H

#include <stdbool.h>
#include "segment.h"
#include "reaplock.h"


/* An attach found no free writer slot. While slots of gone writers wait
 * for a fold, it waits for them: it folds them itself when it can take
 * the lock, and waits 1 ms for a holder that runs (which frees each slot
 * as it folds it). True when the caller should try to claim a slot
 * again; false when no slot is waiting for a fold, or the holder is
 * stopped, or the fold line did not move for 2 s. @sw starts zeroed. */
struct shmstat_slot_wait {
	uint64_t seen;          /* fold_state at the last try */
	unsigned quiet;         /* tries since it changed */
	unsigned tries;
};
SHMSTAT_HIDDEN bool shmstat__reap_for_slot(struct shmstat_seg *seg, struct shmstat_slot_wait *sw);

/* Fold proc slot @p (caller holds the reaper lock; nobody writes p's
 * stripes any more) and free the slot. */
SHMSTAT_HIDDEN void shmstat__fold(struct shmstat_seg *seg, uint32_t p);

/* fold_seq + 1, around stores readers must not see without it: what was
 * stored before is visible to a reader that sees the new number (the
 * release of the add), and what is stored after is not visible to a
 * reader that does not see it (the release fence after the add: the
 * seqlock writer's store-store order, which the add alone does not give
 * on weakly ordered CPUs). */
SHMSTAT_HIDDEN void shmstat__fold_seq_bump(struct shmstat_hdr *h);

/* For a type's fold_slots (type.h), while the fold runs: slot *@p of a
 * grave or of the folded process's stripes as the fold reads it (0 on a
 * page that is a hole, which it leaves one) and stores it (a 0 not into
 * a hole): segment.h, "Pages in use". */
SHMSTAT_HIDDEN uint64_t shmstat__fold_ld(const struct shmstat_seg *seg, const uint64_t *p);
SHMSTAT_HIDDEN void shmstat__fold_st(struct shmstat_seg *seg, uint64_t *p, uint64_t v);

/* For a type's fold_slots (type.h): the largest of slot @v in grave @src
 * and the stripes of process slot @p. */
SHMSTAT_HIDDEN uint64_t shmstat__fold_max(struct shmstat_seg *seg, uint32_t p,
					  const uint64_t *src, uint32_t v);

/* Fold every slot whose writer is gone (died, or detached and not folded
 * yet), repair what dead processes left (claims of descriptors, removals
 * half done, the types' parts) and reclaim the value slots of removed
 * metrics whose grace period is over; waits up to a second for the
 * reaper lock (if it stays taken, the next reap does it). How many
 * slots were folded. */
SHMSTAT_HIDDEN unsigned shmstat__reap(struct shmstat_seg *seg);

/* The same, waiting at most @wait_ms for the reaper lock (0: one try; a
 * holder that is alive is reaping already). */
SHMSTAT_HIDDEN unsigned shmstat__reap_wait(struct shmstat_seg *seg, unsigned wait_ms);

/* shmstat_gc()'s reap: as shmstat__reap(), but a reaper lock it cannot
 * take (held by a stopped process, or by one that runs for over 1 s) is
 * SHMSTAT_EBUSY naming its holder, not a quiet 0. 0 or SHMSTAT_EBUSY;
 * *@reaped: the slots folded. */
SHMSTAT_HIDDEN int shmstat__gc_reap(struct shmstat_seg *seg, unsigned *reaped);

/* Give removed descriptor @d, PENDING (RETIRED without a sequence yet),
 * its retire sequence: the grace period of its removal starts. false if
 * somebody else did. */
struct shmstat_desc;
SHMSTAT_HIDDEN bool shmstat__retire_pending(struct shmstat_seg *seg, struct shmstat_desc *d);

/* Publish descriptor @d, which the caller took from DEADV to CLAIMED (so
 * that it alone owns its fields and value slots), as a DEADV tombstone
 * holding the zeroed value slots @off .. @off + @n - 1, with a sequence
 * no DEADV word ever had (a retire_seq of its own): a CAS from a DEADV
 * word read before still proves that value_off and nvalues are those
 * read after it (registry.c, reuse_values()). */
SHMSTAT_HIDDEN void shmstat__deadv_publish(struct shmstat_seg *seg, struct shmstat_desc *d,
					   uint32_t off, uint32_t n);

#endif
