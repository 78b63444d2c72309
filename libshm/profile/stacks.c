/*
 * stacks.c - the stack table (see stacks.h).
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <xxhash.h>

#include "shmstat_profile.h"
#include "attach.h"
#include "hook.h"
#include "procs.h"
#include "stacks.h"

uint64_t shmstat__stack_hash(uint64_t tag, const struct shmstat_stackkey *k)
{
	uint32_t depth = k->depth <= SHMSTAT_STACK_SLOTS ? k->depth : SHMSTAT_STACK_SLOTS;
	uint64_t h = XXH3_64bits_withSeed(k, 16 + (size_t)depth * 8, SHMSTAT_TAG_OF(tag));

	return h ? h : 1;
}

/* The key of entry @e equals @k (its fields are immutable once READY). */
static int same_key(const struct shmstat_stackent *e, const struct shmstat_stackkey *k)
{
	if (e->kind != k->kind || e->metric != k->metric || e->depth != k->depth ||
	    e->flags != k->flags)
		return 0;
	for (uint32_t i = 0; i < k->depth; i++)
		if (e->pcs[i] != k->pcs[i])
			return 0;
	return 1;
}

static void count(uint64_t *samples, uint64_t *weight, uint64_t n, uint64_t w)
{
	add_relaxed(samples, n);
	if (w)
		add_relaxed(weight, w);
}

uint32_t shmstat__stack_add(struct shmstat_hdr *hdr, struct shmstat_stackent *tab, uint32_t n,
			    uint64_t tag, const struct shmstat_stackkey *k, uint64_t samples,
			    uint64_t weight)
{
	const uint64_t h = shmstat__stack_hash(tag, k);
	const uint64_t mine = SHMSTAT_TAG_OF(tag);
	for (uint32_t i = 0; i < SHMSTAT_STACK_PROBES && i < n; i++) {
		struct shmstat_stackent *e = &tab[(h + i) & (n - 1)];
		uint64_t w = ld_acquire(&e->word);

		if (SHMSTAT_STATE_OF(w) == SHMSTAT_STACKENT_FREE) {
			uint64_t expect = 0;

			if (cas_acqrel(&e->word, &expect, mine | SHMSTAT_STACKENT_CLAIMED)) {
				add_relaxed(&hdr->prof_stacks_used, 1);   /* claimed */
				e->kind = k->kind;
				e->metric = k->metric;
				e->depth = k->depth;
				e->flags = k->flags;
				memcpy(e->pcs, k->pcs, (size_t)k->depth * sizeof(k->pcs[0]));
				st_relaxed(&e->hash, h);
				st_release(&e->word, mine | SHMSTAT_STACKENT_READY);
				count(&e->samples, &e->weight, samples, weight);
				return (uint32_t)((h + i) & (n - 1));
			}
			w = expect;     /* taken meanwhile: see by whom */
		}
		if (w == (mine | SHMSTAT_STACKENT_READY) && ld_relaxed(&e->hash) == h &&
		    same_key(e, k)) {
			count(&e->samples, &e->weight, samples, weight);
			return (uint32_t)((h + i) & (n - 1));
		}
	}
	count(&hdr->prof_dropped, &hdr->prof_dropped_weight, samples, weight);
	return UINT32_MAX;
}

void shmstat__stack_weigh(struct shmstat_hdr *hdr, struct shmstat_stackent *tab, uint32_t n,
			  uint64_t tag, uint32_t i, uint64_t weight)
{
	if (i < n && ld_acquire(&tab[i].word) == (SHMSTAT_TAG_OF(tag) | SHMSTAT_STACKENT_READY))
		count(&tab[i].samples, &tab[i].weight, 0, weight);
	else
		count(&hdr->prof_dropped, &hdr->prof_dropped_weight, 0, weight);
}

/* Does the process of @tag run? Cached per tag for one reclaim. */
struct tagcache {
	uint32_t n;
	uint64_t tag[256];
	bool alive[256];
};

static bool tag_alive(const struct shmstat_seg *seg, struct tagcache *c, uint64_t tag)
{
	bool alive;

	for (uint32_t i = 0; i < c->n; i++)
		if (c->tag[i] == tag)
			return c->alive[i];
	SHMSTAT_HOOK(SHMSTAT_HOOK_PROF_RECLAIM, &tag);
	alive = shmstat__seg_tag_alive(seg, tag);
	if (c->n < 256) {
		c->tag[c->n] = tag;
		c->alive[c->n++] = alive;
	}
	return alive;
}

uint64_t shmstat__prof_reclaim(const struct shmstat_seg *seg, unsigned char *base, uint32_t n,
			       size_t size, uint64_t self, uint64_t *used)
{
	struct tagcache cache = { .n = 0 };
	uint64_t freed = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t *word = (uint64_t *)(void *)(base + (size_t)i * size);
		uint64_t w = ld_acquire(word), tag = SHMSTAT_TAG_OF(w);
		uint32_t st = SHMSTAT_STATE_OF(w);

		if ((st != SHMSTAT_STACKENT_READY && st != SHMSTAT_STACKENT_CLAIMED) ||
		    tag == SHMSTAT_TAG_OF(self) || tag_alive(seg, &cache, tag))
			continue;
		if (!cas_acqrel(word, &w, SHMSTAT_TAG_OF(self) | SHMSTAT_STACKENT_CLAIMED))
			continue;       /* another reclaim took it */
		memset(base + (size_t)i * size + 8, 0, size - 8);
		st_release(word, 0);
		__atomic_fetch_sub(used, 1, __ATOMIC_RELAXED);   /* counted at its claim */
		freed++;
	}
	return freed;
}

int shmstat__stack_check(const struct shmstat_stackent *e)
{
	const struct shmstat_stackkey *k;

	if (SHMSTAT_STATE_OF(e->word) != SHMSTAT_STACKENT_READY)
		return SHMSTAT_STATE_OF(e->word) <= SHMSTAT_STACKENT_CLAIMED ? 0 : -1;
	if ((e->kind != SHMSTAT_STACK_CPU && e->kind != SHMSTAT_STACK_LATENCY) ||
	    e->depth < 1 || e->depth > SHMSTAT_STACK_SLOTS ||
	    (e->flags & ~(SHMSTAT_STACK_F_TRUNCATED | SHMSTAT_STACK_F_RETLEAF)) != 0)
		return -1;
	k = (const struct shmstat_stackkey *)(const void *)&e->kind;
	return shmstat__stack_hash(e->word, k) == e->hash ? 1 : -1;
}

/* ------------------------------------------------------------ maintenance */

/* No cancellation point, as shmstat_gc(): it holds the object open and
 * mapped across the wait for a creator and the reads of /proc (liveness
 * of each gone writer's entries); a thread cancelled there left both to
 * the process for good (tests/stress/test_cancel.c). */
int shmstat_profile_gc(const char *name, uint64_t *stacks, uint64_t *modules)
{
	struct shmstat_seg seg;
	uint64_t s = 0, m = 0;
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = shmstat__seg_maintain(&seg, name);
	if (err) {
		pthread_setcancelstate(cancel, NULL);
		return err;
	}
	if (seg.stacks)
		s = shmstat__prof_reclaim(&seg, (unsigned char *)seg.stacks, seg.max_stacks,
					  sizeof(struct shmstat_stackent), seg.tag,
					  &seg.hdr->prof_stacks_used);
	if (seg.mods)
		m = shmstat__prof_reclaim(&seg, (unsigned char *)seg.mods, seg.max_modules,
					  sizeof(struct shmstat_profmod), seg.tag,
					  &seg.hdr->prof_mods_used);
	shmstat__seg_unmap(&seg);
	pthread_setcancelstate(cancel, NULL);
	if (stacks)
		*stacks = s;
	if (modules)
		*modules = m;
	return 0;
}
