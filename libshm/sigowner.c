/*
 * sigowner.c - a signature table's owners (accounts, tenants): the slots
 * shmstat_sig_owner() names, claimed once by name and never given back
 * while the table lives (sigtable.h has the layout).
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "shmstat.h"
#include "procs.h"
#include "sigtable.h"

/* Is owner word @w CLAIMED by a process that no longer runs? The word
 * carries the claimer's tag, pid and start time, so a reused pid does
 * not keep it (an earlier library wrote start 0: its pid decides); a
 * claimer whose writer slot in @seg is of another pid namespace runs. */
static bool owner_claim_dead(const struct shmstat_seg *seg, uint64_t w)
{
	return SHMSTAT_STATE_OF(w) == 1 && !shmstat__seg_tag_alive(seg, SHMSTAT_TAG_OF(w));
}

/* What one shmstat_sig_owner() call waits, for all the CLAIMED slots it
 * meets together: 10,000 yields. (It was 100,000 for each slot, with the
 * claimer's /proc files read at every one: a slot that a running process
 * holds CLAIMED for good, as another writer of the uid can leave it, cost
 * 38 s a call under ASan, and a table of 4,096 such slots days.) */
#define OWNER_WAIT_YIELDS 10000u

/* Owner slot @s once it is not CLAIMED (a dead claimer's made FREE
 * again), or CLAIMED still when the call's yields (*@left) are spent.
 * The claimer's tag is asked at the first look and every 64 yields. */
static uint64_t owner_settled(const struct shmstat_sigtab *t, struct shmstat_sigowner *s,
			      unsigned *left)
{
	uint64_t w = ld_acquire(&s->word);

	for (unsigned k = 0; SHMSTAT_STATE_OF(w) == 1; k++) {
		if (k % 64 == 0 && owner_claim_dead(t->c.seg, w))
			cas_acqrel(&s->word, &w, 0);    /* claimer died: free again */
		else if (*left == 0)
			break;
		else {
			--*left;
			sched_yield();
		}
		w = ld_acquire(&s->word);
	}
	return w;
}

static bool owner_is(const struct shmstat_sigowner *s, uint64_t w, const char *name)
{
	return SHMSTAT_STATE_OF(w) == 2 && strncmp(s->name, name, sizeof(s->name)) == 0;
}

int shmstat_sig_owner(shmstat_sigtab *t, const char *name, uint32_t *id)
{
	uint32_t first_free = UINT32_MAX;
	unsigned left = OWNER_WAIT_YIELDS;
	size_t n;

	*id = 0;
	if (t->c.epoch == SHMSTAT_EPOCH_NONE)
		return shmstat__fail(EINVAL, "signature table handle does nothing");
	n = name ? strlen(name) : 0;
	if (n == 0 || n >= SHMSTAT_SIG_OWNER_CAP)
		return shmstat__fail(SHMSTAT_EBADNAME, "owner name must be 1 to %d bytes",
				     SHMSTAT_SIG_OWNER_CAP - 1);
	/* the name in every slot first: a slot freed before it (its claimer
	 * killed mid-claim) must not take the name a second time */
	for (uint32_t o = 0; o < t->nowners; o++) {
		const uint64_t w = owner_settled(t, &t->owners[o], &left);

		if (owner_is(&t->owners[o], w, name)) {
			*id = o + 1;
			return 0;
		}
		if (SHMSTAT_STATE_OF(w) == 0 && first_free == UINT32_MAX)
			first_free = o;
	}
	/* then the first free slot; one taken meanwhile may hold the name */
	for (uint32_t o = first_free; o < t->nowners; o++) {
		struct shmstat_sigowner *s = &t->owners[o];
		uint64_t w = owner_settled(t, s, &left);

		if (SHMSTAT_STATE_OF(w) == 0) {
			const uint64_t mine = 1 | SHMSTAT_TAG_OF(t->c.seg->tag);

			if (!cas_acqrel(&s->word, &w, mine)) {
				o--;            /* look at this slot again */
				continue;
			}
			memset(s->name, 0, sizeof(s->name));
			memcpy(s->name, name, n);
			st_release(&s->word, 2);
			*id = o + 1;
			return 0;
		}
		if (owner_is(s, w, name)) {
			*id = o + 1;
			return 0;
		}
	}
	return shmstat__fail(SHMSTAT_EFULL, "signature table has no free owner slot for '%s' (%u)",
			     name, t->nowners);
}

void shmstat__sig_owners_repair(const struct shmstat_seg *seg, struct shmstat_sigtab *t)
{
	for (uint32_t i = 0; i < t->nowners; i++) {
		uint64_t w = ld_relaxed(&t->owners[i].word);

		if (owner_claim_dead(seg, w))
			cas_acqrel(&t->owners[i].word, &w, 0);
	}
}
