/*
 * sparse.c - the stripes of a snapshot as runs of non-zero value slots
 * (sparse.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sparse.h"
#include "util.h"

/* Fewer zeros than this between two values stay in one run (sparse.h:
 * a run's 24 bytes cost less than the 32 bytes of zeros it leaves out) */
#define RUN_JOIN 4u

/* Room for @need items of @each bytes in *@p (*@cap of them), doubled:
 * realloc below 1 MiB, whole huge pages from there (util.h: the values
 * of 64 writers' stripes are tens of MB, written as kept) */
static int grow(void **p, size_t *cap, size_t need, size_t each)
{
	size_t c = *cap ? *cap : 256;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	q = shmstat__regrow_array(*p, *cap * each, c * each);
	if (q == NULL)
		return ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

int shmstat__sparse_reserve(struct shmstat__sparse *sp, size_t n)
{
	return grow((void **)&sp->val, &sp->capval, sp->nval + n, sizeof(*sp->val));
}

static int add_run(struct shmstat__sparse *sp, uint32_t stripe, uint32_t from,
		   const uint64_t *v, uint32_t n)
{
	struct shmstat__srun *r;

	if (grow((void **)&sp->run, &sp->caprun, sp->nrun + 1, sizeof(*sp->run)) != 0 ||
	    shmstat__sparse_reserve(sp, n) != 0)
		return ENOMEM;
	if (sp->nrun > 0) {
		const struct shmstat__srun *l = &sp->run[sp->nrun - 1];

		if (stripe < l->stripe || (stripe == l->stripe && from < l->to))
			sp->unsorted = true;
	}
	r = &sp->run[sp->nrun++];
	*r = (struct shmstat__srun){ .stripe = stripe, .from = from, .to = from + n,
				     .at = sp->nval };
	memcpy(sp->val + sp->nval, v, (size_t)n * sizeof(*v));
	sp->nval += n;
	return 0;
}

/* The first non-zero value of @v[@k..@n), or @n: eight at a time over
 * the long stretches of zeros. */
static uint32_t next_set(const uint64_t *v, uint32_t k, uint32_t n)
{
	while (k + 8 <= n &&
	       (v[k] | v[k + 1] | v[k + 2] | v[k + 3] | v[k + 4] | v[k + 5] | v[k + 6] | v[k + 7]) == 0)
		k += 8;
	while (k < n && v[k] == 0)
		k++;
	return k;
}

int shmstat__sparse_add(struct shmstat__sparse *sp, uint32_t stripe, uint32_t slot,
			const uint64_t *v, uint32_t n)
{
	uint32_t k = next_set(v, 0, n);

	while (k < n) {
		uint32_t a = k, last = k;      /* last: the run's last non-zero */

		for (k++; k < n; k++) {
			if (v[k] != 0)
				last = k;
			else if (k - last >= RUN_JOIN)
				break;
		}
		if (add_run(sp, stripe, slot + a, v + a, last + 1 - a) != 0)
			return ENOMEM;
		k = next_set(v, last + 1, n);
	}
	return 0;
}

static int by_place(const void *a, const void *b)
{
	const struct shmstat__srun *x = a, *y = b;

	if (x->stripe != y->stripe)
		return x->stripe < y->stripe ? -1 : 1;
	return x->from < y->from ? -1 : x->from > y->from;
}

void shmstat__sparse_sort(struct shmstat__sparse *sp)
{
	if (sp->unsorted)
		qsort(sp->run, sp->nrun, sizeof(*sp->run), by_place);
	sp->unsorted = false;
}

int shmstat__sparse_index(struct shmstat__sparse *sp, uint32_t nstripes)
{
	uint32_t *f = realloc(sp->first, ((size_t)nstripes + 1) * sizeof(*f));
	size_t k = 0;

	if (f == NULL)
		return ENOMEM;
	sp->first = f;
	sp->nstripes = nstripes;
	shmstat__sparse_sort(sp);
	for (uint32_t i = 0; i <= nstripes; i++) {
		while (k < sp->nrun && sp->run[k].stripe < i)
			k++;
		f[i] = (uint32_t)k;
	}
	return 0;
}

/* The first run of stripe @i that ends after slot @v (its end when none) */
static size_t run_after(const struct shmstat__sparse *sp, uint32_t i, uint32_t v)
{
	size_t lo, hi;

	if (sp->first == NULL || i >= sp->nstripes)
		return SIZE_MAX;
	lo = sp->first[i];
	hi = sp->first[i + 1];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->run[mid].to <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sp->first[i + 1] ? lo : SIZE_MAX;
}

uint64_t shmstat__sparse_at(const struct shmstat__sparse *sp, uint32_t i, uint32_t v)
{
	const size_t k = run_after(sp, i, v);

	if (k == SIZE_MAX || sp->run[k].from > v)
		return 0;
	return sp->val[sp->run[k].at + (v - sp->run[k].from)];
}

const uint64_t *shmstat__sparse_run(const struct shmstat__sparse *sp, uint32_t i,
				    uint32_t *from, uint32_t to, uint32_t *end)
{
	const size_t k = *from < to ? run_after(sp, i, *from) : SIZE_MAX;
	const struct shmstat__srun *r;

	if (k == SIZE_MAX || sp->run[k].from >= to)
		return NULL;
	r = &sp->run[k];
	if (r->from > *from)
		*from = r->from;
	*end = r->to < to ? r->to : to;
	return sp->val + r->at + (*from - r->from);
}

void shmstat__sparse_reset(struct shmstat__sparse *sp)
{
	sp->nrun = 0;
	sp->nval = 0;
	sp->unsorted = false;
	sp->nstripes = 0;
}

void shmstat__sparse_free(struct shmstat__sparse *sp)
{
	shmstat__unmap_array(sp->run, sp->caprun * sizeof(*sp->run));
	shmstat__unmap_array(sp->val, sp->capval * sizeof(*sp->val));
	free(sp->first);
	free(sp->scratch);
	memset(sp, 0, sizeof(*sp));
}
