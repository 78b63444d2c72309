/*
 * rangeix.h - which of a set of address ranges holds an address, when the
 * ranges may overlap: one binary search per query.
 *
 * Module tables come from writers, which a reader does not trust: ranges
 * may overlap, nest or cover the whole address space. Each range [lo, hi)
 * has a priority, and a query answers, among the ranges holding the
 * address, the one of highest priority, ties to the lowest id: the answer
 * a scan of every range gives, whatever the table. The index cuts the
 * line at every lo and hi (sorted, unique: at most 2n cuts); the winner
 * of each piece between two cuts is found by one sweep with a heap of the
 * ranges open (each range pushed and popped once: O(n log n) to build,
 * O(n) memory), and a query is a binary search among the cuts. Empty and
 * reversed ranges (hi <= lo) hold nothing.
 *
 * Header only: the library's profile reader (profile.c) and the tool's
 * symbolizer (tools/symbolize/symbolize.c) both use it.
 */
#ifndef SHMSTAT_RANGEIX_H
#define SHMSTAT_RANGEIX_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct rangeix_in {
	uint64_t lo, hi;           /* [lo, hi) */
	uint64_t prio;             /* the higher wins */
	size_t id;                 /* then the lower; returned by find */
};

struct rangeix {
	size_t n;                  /* cuts */
	uint64_t *cut;             /* sorted, unique */
	size_t *win;               /* id of the winner of [cut[t], cut[t + 1]), or SIZE_MAX */
};

static inline int rangeix_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static inline int rangeix_cmp_lo(const void *a, const void *b)
{
	const struct rangeix_in *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Whether range @a wins over range @b. */
static inline int rangeix_better(const struct rangeix_in *a, const struct rangeix_in *b)
{
	return a->prio != b->prio ? a->prio > b->prio : a->id < b->id;
}

/* The heap of open ranges (indices into @r), its best at [0]. */
static inline void rangeix_up(size_t *h, size_t i, const struct rangeix_in *r)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2, t;

		if (!rangeix_better(&r[h[i]], &r[h[parent]]))
			break;
		t = h[i];
		h[i] = h[parent];
		h[parent] = t;
		i = parent;
	}
}

static inline void rangeix_down(size_t *h, size_t n, const struct rangeix_in *r)
{
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, best = i, t;

		if (l < n && rangeix_better(&r[h[l]], &r[h[best]]))
			best = l;
		if (l + 1 < n && rangeix_better(&r[h[l + 1]], &r[h[best]]))
			best = l + 1;
		if (best == i)
			return;
		t = h[i];
		h[i] = h[best];
		h[best] = t;
		i = best;
	}
}

static inline void rangeix_free(struct rangeix *ix)
{
	free(ix->cut);
	free(ix->win);
	ix->cut = NULL;
	ix->win = NULL;
	ix->n = 0;
}

/* Index the @n ranges of @in into @ix: 0, or ENOMEM (@ix then empty). */
static inline int rangeix_build(struct rangeix *ix, const struct rangeix_in *in, size_t n)
{
	struct rangeix_in *r = malloc((n + 1) * sizeof(*r));
	size_t *heap = malloc((n + 1) * sizeof(*heap));
	size_t nr = 0, nh = 0, j = 0;

	memset(ix, 0, sizeof(*ix));
	ix->cut = malloc((2 * n + 1) * sizeof(*ix->cut));
	ix->win = malloc((2 * n + 1) * sizeof(*ix->win));
	if (r == NULL || heap == NULL || ix->cut == NULL || ix->win == NULL) {
		free(r);
		free(heap);
		rangeix_free(ix);
		return ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (in[i].lo >= in[i].hi)
			continue;
		r[nr++] = in[i];
		ix->cut[ix->n++] = in[i].lo;
		ix->cut[ix->n++] = in[i].hi;
	}
	qsort(r, nr, sizeof(*r), rangeix_cmp_lo);
	qsort(ix->cut, ix->n, sizeof(*ix->cut), rangeix_cmp_u64);
	if (ix->n > 0) {
		size_t u = 1;

		for (size_t i = 1; i < ix->n; i++)
			if (ix->cut[i] != ix->cut[u - 1])
				ix->cut[u++] = ix->cut[i];
		ix->n = u;
	}
	/* the sweep: at each cut, open the ranges starting there, close the
	 * best while it ended (the others when they come up: they lose to
	 * it meanwhile) */
	for (size_t t = 0; t < ix->n; t++) {
		uint64_t x = ix->cut[t];

		while (j < nr && r[j].lo <= x) {
			heap[nh] = j++;
			rangeix_up(heap, nh++, r);
		}
		while (nh > 0 && r[heap[0]].hi <= x) {
			heap[0] = heap[--nh];
			rangeix_down(heap, nh, r);
		}
		ix->win[t] = nh > 0 ? r[heap[0]].id : SIZE_MAX;
	}
	free(r);
	free(heap);
	return 0;
}

/* The id of the range that wins at @x, or SIZE_MAX when none holds it. */
static inline size_t rangeix_find(const struct rangeix *ix, uint64_t x)
{
	size_t lo = 0, hi = ix->n;

	/* lo = the cuts <= x */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->cut[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? SIZE_MAX : ix->win[lo - 1];
}

#endif
