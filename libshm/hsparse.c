/*
 * hsparse.c - one histogram's counts as its non-zero buckets (hsparse.h).
 * Adding them to a whole histogram is histogram.c's
 * (shmstat__hdata_add_sparse()), which owns that structure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hsparse.h"

int shmstat__hsparse_room(struct shmstat__hsparse *h, uint32_t n)
{
	uint32_t *idx;
	uint64_t *cnt;

	if (n <= h->cap)
		return 0;
	idx = realloc(h->idx, (size_t)n * sizeof(*idx));
	if (idx == NULL)
		return ENOMEM;
	h->idx = idx;
	cnt = realloc(h->cnt, (size_t)n * sizeof(*cnt));
	if (cnt == NULL)
		return ENOMEM;
	h->cnt = cnt;
	h->cap = n;
	return 0;
}

int shmstat__hsparse_copy(struct shmstat__hsparse *dst, const struct shmstat__hsparse *src)
{
	uint32_t *idx, cap;
	uint64_t *cnt;

	if (shmstat__hsparse_room(dst, src->n) != 0)
		return ENOMEM;
	idx = dst->idx;
	cnt = dst->cnt;
	cap = dst->cap;
	*dst = *src;
	dst->idx = idx;
	dst->cnt = cnt;
	dst->cap = cap;
	if (src->n) {
		memcpy(idx, src->idx, (size_t)src->n * sizeof(*idx));
		memcpy(cnt, src->cnt, (size_t)src->n * sizeof(*cnt));
	}
	return 0;
}

bool shmstat__hsparse_ge(const struct shmstat__hsparse *later,
			 const struct shmstat__hsparse *earlier)
{
	uint32_t j = 0;

	if (later->bits != earlier->bits || later->lowest != earlier->lowest ||
	    later->highest != earlier->highest || later->under < earlier->under ||
	    later->over < earlier->over)
		return false;
	/* every bucket @earlier counted, @later counted as much or more:
	 * both ascending, a merge */
	for (uint32_t k = 0; k < earlier->n; k++) {
		while (j < later->n && later->idx[j] < earlier->idx[k])
			j++;
		if (j == later->n || later->idx[j] != earlier->idx[k] ||
		    later->cnt[j] < earlier->cnt[k])
			return false;
	}
	return true;
}

void shmstat__hsparse_free(struct shmstat__hsparse *h)
{
	free(h->idx);
	free(h->cnt);
	memset(h, 0, sizeof(*h));
}
