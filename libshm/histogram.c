/*
 * histogram.c - histograms: registration, recording, timers, their part
 * of the fold and of a snapshot, and the private copies (shmstat_hdata)
 * readers compute quantiles from.
 *
 * The bucket scheme is in histogram.h. Buckets only grow, so the exact
 * distribution of any interval is the difference of two snapshots: any
 * number of readers, and nothing to swap on the writer side.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmstat.h"
#include "histogram.h"
#include "hsparse.h"
#include "grace.h"
#include "hook.h"
#include "profiler.h"
#include "registry.h"
#include "snap.h"
#include "type.h"

#define DEFAULT_HIGHEST UINT64_C(3600000000000)    /* 1 h in ns */

struct shmstat_hist shmstat__noop_hist = {
	.c = { .epoch = SHMSTAT_EPOCH_NONE },
};

/* ----------------------------------------------------------- registration */

void shmstat_hist_opts_init(struct shmstat_hist_opts *o)
{
	o->lowest = 1;
	o->highest = DEFAULT_HIGHEST;
	o->bits = 7;
}

int shmstat_hist_register(shmstat_seg *seg, const struct shmstat_metric_def *def,
			  const struct shmstat_hist_opts *opts, shmstat_hist **out)
{
	struct shmstat_hist_opts o;
	struct shmstat_shape shape = { .type = SHMSTAT_HISTOGRAM };
	struct shmstat_counter *c;
	uint64_t nb;
	int err;

	*out = &shmstat__noop_hist;
	if (opts == NULL) {
		shmstat_hist_opts_init(&o);
		opts = &o;
	}
	if (opts->bits < SHMSTAT_HIST_MIN_BITS || opts->bits > SHMSTAT_HIST_MAX_BITS)
		return shmstat__fail(EINVAL, "histogram precision must be %u to %u bits, not %u",
				     SHMSTAT_HIST_MIN_BITS, SHMSTAT_HIST_MAX_BITS, opts->bits);
	if (opts->lowest > opts->highest)
		return shmstat__fail(EINVAL, "histogram range %llu..%llu is empty",
				     (unsigned long long)opts->lowest,
				     (unsigned long long)opts->highest);
	nb = shmstat__nbuckets(opts->bits, opts->highest);
	if (nb + SHMSTAT_H_FIRST > SHMSTAT_LIMIT_VALUES)
		return shmstat__fail(EINVAL, "histogram of %llu buckets is too large",
				     (unsigned long long)nb);
	shape.bits = opts->bits;
	shape.lowest = opts->lowest;
	shape.highest = opts->highest;
	shape.nvalues = (uint32_t)nb + SHMSTAT_H_FIRST;
	err = shmstat__register(seg, def, &shape, &c);
	if (!err)
		*out = (struct shmstat_hist *)(void *)c;
	return err;
}

/* -------------------------------------------------------------- recording */

static inline uint32_t slot_of(const struct shmstat_hist *h, uint64_t v)
{
	if (unlikely(v - h->lowest > h->range))
		return v < h->lowest ? SHMSTAT_H_UNDER : SHMSTAT_H_OVER;
	return SHMSTAT_H_FIRST + shmstat__bucket_of(v, h->bits);
}

/* Own stripe: plain relaxed loads and stores. */
static inline void record_own(uint64_t *p, uint32_t slot, uint64_t v, uint64_t n)
{
	st_relaxed(&p[slot], ld_relaxed(&p[slot]) + n);
	st_relaxed(&p[SHMSTAT_H_SUM], ld_relaxed(&p[SHMSTAT_H_SUM]) + v * n);
	if (v > ld_relaxed(&p[SHMSTAT_H_MAX]))
		st_relaxed(&p[SHMSTAT_H_MAX], v);
	if (~v > ld_relaxed(&p[SHMSTAT_H_NMIN]))
		st_relaxed(&p[SHMSTAT_H_NMIN], ~v);
}

/* The first update of this thread, a shared stripe, a do-nothing handle. */
static __attribute__((noinline)) void record_slow(struct shmstat_hist *h, uint64_t v, uint64_t n)
{
	const struct shmstat__tls_ent *t;
	uint64_t *p;

	t = shmstat__tls_slow(&h->c);
	if (t == NULL)
		return;
	p = t->values + h->c.off;
	if (!t->shared) {
		record_own(p, slot_of(h, v), v, n);
		return;
	}
	add_relaxed(&p[slot_of(h, v)], n);
	add_relaxed(&p[SHMSTAT_H_SUM], v * n);
	shmstat__atomic_max(&p[SHMSTAT_H_MAX], v);
	shmstat__atomic_max(&p[SHMSTAT_H_NMIN], ~v);
}

static inline void record(struct shmstat_hist *h, uint64_t v, uint64_t n)
{
	const struct shmstat__tls_ent *t = &shmstat__tls[h->c.tls_slot];

	if (unlikely(ld_relaxed(&t->fast) != ld_relaxed(&h->c.epoch))) {
		record_slow(h, v, n);
		return;
	}
	record_own(t->values + h->c.off, slot_of(h, v), v, n);
}

void shmstat_hist_record_n(shmstat_hist *h, uint64_t v, uint64_t n)
{
	if (n == 0)
		return;                 /* nothing happened: min and max stay */
	record(h, v, n);
}

void shmstat_hist_record(shmstat_hist *h, uint64_t v)
{
	record(h, v, 1);
}

/* ----------------------------------------------------------------- timers */

uint64_t shmstat_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t shmstat_timer_start(void)
{
	uint64_t t = shmstat_now_ns();

	return t ? t : 1;       /* 0 means "not sampled" */
}

void shmstat_timer_stop(shmstat_hist *h, uint64_t start)
{
	uint64_t ns;

	if (start == 0)
		return;
	ns = shmstat_now_ns() - start;
	record(h, ns, 1);
	/* latency stacks (profiler.c): the caller's frame starts the walk */
	if (unlikely(ld_relaxed(&shmstat__prof_latency_every) != 0))
		shmstat__prof_latency(&h->c, ns, (uintptr_t)__builtin_return_address(0),
				      *(const uintptr_t *)__builtin_frame_address(0),
				      (uintptr_t)__builtin_frame_address(0));
}

/* initial-exec: the sampled timer costs no __tls_get_addr call; public
 * for shmstat_timer_start_sampled_inline() (shmstat_inline.h) */
__thread uint32_t shmstat__sample_left __attribute__((tls_model("initial-exec")));

uint64_t shmstat_timer_start_sampled(unsigned n)
{
	if (shmstat__sample_left > 0) {
		shmstat__sample_left--;
		return 0;
	}
	shmstat__sample_left = n > 0 ? n - 1 : 0;
	return shmstat_timer_start();
}

/* ------------------------------------------------------ private copies */

struct shmstat_hdata {
	unsigned bits;
	int exact;                 /* min and max known exactly */
	uint64_t lowest, highest;
	uint32_t nb;
	uint64_t v[];              /* the slots: SHMSTAT_H_* then buckets */
};

shmstat_hdata *shmstat__hdata_new(unsigned bits, uint64_t lowest, uint64_t highest)
{
	uint32_t nb = shmstat__nbuckets(bits, highest);
	shmstat_hdata *h = calloc(1, sizeof(*h) + ((size_t)nb + SHMSTAT_H_FIRST) * 8);

	if (h == NULL)
		return NULL;
	h->bits = bits;
	h->exact = 1;
	h->lowest = lowest;
	h->highest = highest;
	h->nb = nb;
	return h;
}

/* The slots that are not sums: the largest value and the negated
 * smallest, kept as maxima. */
static void hdata_fold(shmstat_hdata *h, uint64_t max, uint64_t nmin)
{
	if (max > h->v[SHMSTAT_H_MAX])
		h->v[SHMSTAT_H_MAX] = max;
	if (nmin > h->v[SHMSTAT_H_NMIN])
		h->v[SHMSTAT_H_NMIN] = nmin;
}

/* The sums: of the values, and the counts of under, over and buckets. */
static void hdata_sum(shmstat_hdata *h, const uint64_t *slots)
{
	h->v[SHMSTAT_H_SUM] += slots[SHMSTAT_H_SUM];
	for (uint32_t k = SHMSTAT_H_UNDER; k < h->nb + SHMSTAT_H_FIRST; k++)
		h->v[k] += slots[k];
}

void shmstat__hdata_add(shmstat_hdata *h, const uint64_t *slots)
{
	hdata_fold(h, slots[SHMSTAT_H_MAX], slots[SHMSTAT_H_NMIN]);
	hdata_sum(h, slots);
}

/* Add @x's counts (and its sum) to @h's, each times @sign, 1 or -1:
 * modulo 2^64, as the sums of records' differences are. */
static void hdata_add_hs(shmstat_hdata *h, const struct shmstat__hsparse *x, uint64_t sign)
{
	h->v[SHMSTAT_H_SUM] += sign * x->sum;
	h->v[SHMSTAT_H_UNDER] += sign * x->under;
	h->v[SHMSTAT_H_OVER] += sign * x->over;
	for (uint32_t k = 0; k < x->n; k++)
		if (x->idx[k] < h->nb)
			h->v[SHMSTAT_H_FIRST + x->idx[k]] += sign * x->cnt[k];
}

int shmstat__hdata_add_sparse(shmstat_hdata *h, const struct shmstat__hsparse *later,
			      const struct shmstat__hsparse *earlier)
{
	if (h->bits != later->bits || h->lowest != later->lowest || h->highest != later->highest)
		return EINVAL;
	if (earlier == NULL) {
		hdata_fold(h, later->max, later->nmin);
	} else {
		h->exact = 0;           /* a difference's max and min are unknown */
		hdata_add_hs(h, earlier, UINT64_MAX);
	}
	/* @later counts each bucket at least as many times as @earlier */
	hdata_add_hs(h, later, 1);
	return 0;
}

void shmstat_hdata_free(shmstat_hdata *h)
{
	free(h);
}

static uint64_t count_of(const shmstat_hdata *h)
{
	uint64_t c = 0;

	for (uint32_t k = SHMSTAT_H_UNDER; k < h->nb + SHMSTAT_H_FIRST; k++)
		c += h->v[k];
	return c;
}

/* Bounds of bucket @b, the last one cut at highest. */
static void bucket_bounds(const shmstat_hdata *h, uint32_t b, uint64_t *lo, uint64_t *hi)
{
	unsigned wbits;

	*lo = shmstat__bucket_low(b, h->bits, &wbits);
	/* wbits is 0, or (b >> (bits - 1)) - 1 for b >= 1 << bits: at least 1
	 * (the analyzer misses that b >> (bits - 1) >= 2 then, and takes it
	 * for -1), and below 64 as b < nb, the buckets of 64-bit values
	 * NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
	*hi = *lo + ((UINT64_C(1) << wbits) - 1);
	if (*hi > h->highest)
		*hi = h->highest;
}

/* min and max: exact, or from the extreme buckets of an interval */
static void min_max(const shmstat_hdata *h, uint64_t *min, uint64_t *max)
{
	uint64_t lo, hi;

	*min = *max = 0;
	if (h->exact) {
		if (count_of(h) > 0) {
			*min = ~h->v[SHMSTAT_H_NMIN];
			*max = h->v[SHMSTAT_H_MAX];
		}
		return;
	}
	if (h->v[SHMSTAT_H_UNDER]) {
		*min = 0;
	} else {
		for (uint32_t b = 0; b < h->nb; b++)
			if (h->v[SHMSTAT_H_FIRST + b]) {
				bucket_bounds(h, b, &lo, &hi);
				*min = lo;
				break;
			}
	}
	if (h->v[SHMSTAT_H_OVER]) {
		*max = UINT64_MAX;
	} else {
		for (uint32_t b = h->nb; b-- > 0;)
			if (h->v[SHMSTAT_H_FIRST + b]) {
				bucket_bounds(h, b, &lo, &hi);
				*max = hi;
				break;
			}
	}
}

/* 128-bit sums of values times counts (GCC and Clang on 64-bit targets) */
__extension__ typedef unsigned __int128 u128;

/* Add @n values, each in [@lo, @hi] cut to [@min, @max], to the bounds
 * [*slo, *shi] of their sum (products below 2^128: @n < 2^64). */
static void sum_bounds(u128 *slo, u128 *shi, uint64_t n, uint64_t lo,
		       uint64_t hi, uint64_t min, uint64_t max)
{
	/* a copy whose min or max leaves the range out (a fold, a
	 * difference) keeps the range as it is */
	if (lo < min && min <= hi)
		lo = min;
	if (hi > max && max >= lo)
		hi = max;
	*slo += (u128)n * lo;
	*shi += (u128)n * hi;
}

/* The bounds, over 2^128 or empty: the sum cannot be placed */
#define SUM_UNKNOWN (~(u128)0)

/* The whole sum: of the numbers with the slot's residue modulo 2^64, the
 * one nearest the middle of the bounds the buckets give (each value lies
 * in its bucket and in [min, max]). Set *@exact when the bounds are less
 * than 2^63 apart: then that number is the sum even if the copy saw a
 * record's bucket and not yet its sum (the slot then lags by v * n). */
static u128 sum_whole(const shmstat_hdata *h, uint64_t min, uint64_t max,
				   int *exact)
{
	u128 lo = 0, hi = 0, mid, base;
	uint64_t blo, bhi, n = 0, c;

	*exact = 1;
	for (uint32_t k = SHMSTAT_H_UNDER; k < h->nb + SHMSTAT_H_FIRST; k++) {
		c = h->v[k];
		if (c == 0)
			continue;
		if (n + c < n) {
			*exact = 0;     /* 2^64 values or more: no bounds */
			return SUM_UNKNOWN;
		}
		n += c;
		if (k == SHMSTAT_H_UNDER) {
			blo = 0;
			bhi = h->lowest ? h->lowest - 1 : 0;
		} else if (k == SHMSTAT_H_OVER) {
			blo = h->highest < UINT64_MAX ? h->highest + 1 : UINT64_MAX;
			bhi = UINT64_MAX;
		} else {
			bucket_bounds(h, k - SHMSTAT_H_FIRST, &blo, &bhi);
		}
		sum_bounds(&lo, &hi, c, blo, bhi, min, max);
	}
	if (hi - lo >= (u128)1 << 63)
		*exact = 0;
	mid = lo + (hi - lo) / 2;
	base = mid > (u128)1 << 63 ? mid - ((u128)1 << 63) : 0;
	return base + (uint64_t)(h->v[SHMSTAT_H_SUM] - (uint64_t)base);
}

int shmstat_hdata_sum(const shmstat_hdata *h, uint64_t *wraps, uint64_t *sum)
{
	uint64_t min, max;
	u128 s;
	int exact;

	min_max(h, &min, &max);
	s = sum_whole(h, min, max, &exact);
	*sum = h->v[SHMSTAT_H_SUM];
	*wraps = s == SUM_UNKNOWN ? 0 : (uint64_t)(s >> 64);
	return exact ? 0 : ERANGE;
}

void shmstat_hdata_stats(const shmstat_hdata *h, struct shmstat_hstats *out)
{
	u128 s;
	int exact;

	memset(out, 0, sizeof(*out));
	out->count = count_of(h);
	out->sum = h->v[SHMSTAT_H_SUM];
	out->underflow = h->v[SHMSTAT_H_UNDER];
	out->overflow = h->v[SHMSTAT_H_OVER];
	min_max(h, &out->min, &out->max);
	s = sum_whole(h, out->min, out->max, &exact);
	if (s == SUM_UNKNOWN)
		s = out->sum;
	out->mean = out->count ? ((double)(uint64_t)(s >> 64) * 0x1p64 + (double)(uint64_t)s) /
				 (double)out->count : 0;
	out->lowest = h->lowest;
	out->highest = h->highest;
	out->bits = h->bits;
}

/*
 * The rank of quantile @q (in 0..1) of @total values: ceil(q * total), at
 * least 1. Up to 2^53 values, the product rounded to a double, which holds
 * every such count (and gives 0.9 * 10 = 9, where the double 0.9 is a
 * little more than 0.9). Above, (double)total is already off by up to
 * total / 2^53 ranks (p50 of 2^60 tens and 2^60 + 2 twenties said 10):
 * the product of the double q and total, exactly, in 128 bits.
 */
static uint64_t q_rank(double q, uint64_t total)
{
	double r;
	uint64_t c, bits, m;
	u128 p, rk;
	unsigned s;

	if (total > (UINT64_C(1) << 53)) {
		/* a normal q is m * 2^-s, m = 1.mantissa in 53 bits, and
		 * s = 1075 - the biased exponent (q <= 1: s >= 52); 0 and a
		 * subnormal q (< 2^-1022) have rank 1 */
		memcpy(&bits, &q, sizeof(bits));
		if ((bits >> 52) == 0)
			return 1;
		m = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1) << 52);
		s = 1075u - (unsigned)(bits >> 52);
		if (s >= 128)
			return 1;
		p = (u128)m * total;
		rk = (p >> s) + ((p & (((u128)1 << s) - 1)) != 0);
		return rk < 1 ? 1 : rk > total ? total : (uint64_t)rk;
	}
	r = q * (double)total;
	if (r >= (double)total)
		return total;
	c = (uint64_t)r;
	return r <= 1 ? 1 : c + ((double)c < r);
}

static int by_q(const void *a, const void *b, void *arg)
{
	const double *q = arg;
	double x = q[*(const size_t *)a], y = q[*(const size_t *)b];

	return (x > y) - (x < y);
}

int shmstat_hdata_quantiles(const shmstat_hdata *h, const double *q, size_t n, uint64_t *out)
{
	size_t order[64], k = 0;
	uint64_t rank[64], total = count_of(h), seen, min, max;

	if (n > 64)
		return EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!(q[i] >= 0 && q[i] <= 1))
			return EINVAL;
		order[i] = i;
	}
	if (total == 0)
		return ENOENT;
	qsort_r(order, n, sizeof(order[0]), by_q, (void *)q);
	for (size_t i = 0; i < n; i++)
		rank[i] = q_rank(q[order[i]], total);
	min_max(h, &min, &max);
	/* under, then buckets, then over: one walk for every quantile */
	seen = h->v[SHMSTAT_H_UNDER];
	for (; k < n && rank[k] <= seen; k++)
		out[order[k]] = min;
	for (uint32_t b = 0; b < h->nb && k < n; b++) {
		uint64_t c = h->v[SHMSTAT_H_FIRST + b];
		uint64_t lo, hi, mid;

		if (c == 0)
			continue;
		seen += c;
		bucket_bounds(h, b, &lo, &hi);
		mid = lo + (hi - lo + 1) / 2;
		if (mid < min)
			mid = min;
		if (mid > max)
			mid = max;
		for (; k < n && rank[k] <= seen; k++)
			out[order[k]] = mid;
	}
	for (; k < n; k++)
		out[order[k]] = max;
	/* the first and the last value are known exactly when min and max
	 * are */
	if (h->exact)
		for (size_t i = 0; i < n; i++) {
			if (rank[i] == 1 && h->v[SHMSTAT_H_UNDER] == 0)
				out[order[i]] = min;
			if (rank[i] == total)
				out[order[i]] = max;
		}
	return 0;
}

size_t shmstat_hdata_buckets(const shmstat_hdata *h)
{
	return h->nb;
}

int shmstat_hdata_bucket(const shmstat_hdata *h, size_t k, uint64_t *lo, uint64_t *hi,
			 uint64_t *count)
{
	if (k >= h->nb)
		return EINVAL;
	bucket_bounds(h, (uint32_t)k, lo, hi);
	*count = h->v[SHMSTAT_H_FIRST + k];
	return 0;
}

size_t shmstat_hdata_next(const shmstat_hdata *h, size_t k)
{
	const uint64_t *c = h->v + SHMSTAT_H_FIRST;

	while (k < h->nb && c[k] == 0)
		k++;
	return k < h->nb ? k : h->nb;
}

int shmstat__hdata_merge(shmstat_hdata *dst, const shmstat_hdata *src)
{
	if (dst->bits != src->bits || dst->lowest != src->lowest || dst->highest != src->highest)
		return EINVAL;
	shmstat__hdata_add(dst, src->v);
	dst->exact = dst->exact && src->exact;
	return 0;
}

int shmstat_hdata_merge(shmstat_hdata *dst, const shmstat_hdata *src)
{
	return shmstat__hdata_merge(dst, src);
}

int shmstat_hdata_sub(const shmstat_hdata *later, const shmstat_hdata *earlier,
		      shmstat_hdata **out)
{
	shmstat_hdata *d;

	*out = NULL;
	if (later->bits != earlier->bits || later->lowest != earlier->lowest ||
	    later->highest != earlier->highest)
		return EINVAL;
	for (uint32_t k = SHMSTAT_H_UNDER; k < later->nb + SHMSTAT_H_FIRST; k++)
		if (later->v[k] < earlier->v[k])
			return ERANGE;
	d = shmstat__hdata_new(later->bits, later->lowest, later->highest);
	if (d == NULL)
		return ENOMEM;
	d->exact = 0;
	d->v[SHMSTAT_H_SUM] = later->v[SHMSTAT_H_SUM] - earlier->v[SHMSTAT_H_SUM];
	for (uint32_t k = SHMSTAT_H_UNDER; k < later->nb + SHMSTAT_H_FIRST; k++)
		d->v[k] = later->v[k] - earlier->v[k];
	*out = d;
	return 0;
}

/* ------------------------------------------------------ the type's parts */

static void hist_desc_put(struct shmstat_desc *d, const struct shmstat_shape *sh)
{
	d->bits = sh->bits;
	d->lowest = sh->lowest;
	d->highest = sh->highest;
}

static void hist_desc_get(const struct shmstat_desc *d, struct shmstat_shape *sh)
{
	sh->bits = d->bits;
	sh->lowest = d->lowest;
	sh->highest = d->highest;
}

static int hist_same(const struct shmstat_shape *have, const struct shmstat_shape *want,
		     const char *name, const char *labels)
{
	if (have->bits != want->bits || have->lowest != want->lowest ||
	    have->highest != want->highest)
		return shmstat__fail(SHMSTAT_ETYPE,
				     "histogram '%s{%s}' exists with %u bits over %llu..%llu, not %u bits over %llu..%llu",
				     name, labels, have->bits, (unsigned long long)have->lowest,
				     (unsigned long long)have->highest, want->bits,
				     (unsigned long long)want->lowest,
				     (unsigned long long)want->highest);
	return 0;
}

static int hist_handle_init(struct shmstat_seg *seg, const struct shmstat_desc *d,
			    const struct shmstat_shape *have, struct shmstat_counter *c)
{
	struct shmstat_hist *h = (struct shmstat_hist *)(void *)c;

	(void)seg;
	(void)d;
	h->bits = have->bits;
	h->lowest = have->lowest;
	h->range = have->highest - have->lowest;
	return 0;
}

/* The fold: max and ~min are not sums, the largest wins. */
static void hist_fold(struct shmstat_seg *seg, uint32_t p, const struct shmstat_desc *d,
		      const uint64_t *src, uint64_t *dst)
{
	if (d->nvalues <= SHMSTAT_H_NMIN)
		return;
	for (uint32_t k = SHMSTAT_H_MAX; k <= SHMSTAT_H_NMIN; k++)
		shmstat__fold_st(seg, &dst[d->value_off + k],
				 shmstat__fold_max(seg, p, src, d->value_off + k));
}

static bool hist_desc_ok(const struct shmstat_hdr *h, const struct shmstat_desc *d)
{
	(void)h;
	return d->bits >= SHMSTAT_HIST_MIN_BITS && d->bits <= SHMSTAT_HIST_MAX_BITS &&
	       d->lowest <= d->highest &&
	       d->nvalues == (uint64_t)shmstat__nbuckets(d->bits, d->highest) + SHMSTAT_H_FIRST;
}

/* Values recorded in histogram @d by process index @j (UINT32_MAX: all,
 * with the grave; SHMSTAT_PROC_GONE: the grave alone). */
static uint64_t hist_count(const struct shmstat_snap *s, const struct shmstat__rdesc *d,
			   size_t j)
{
	const uint32_t from = d->value_off + SHMSTAT_H_UNDER, to = d->value_off + d->nvalues;
	uint64_t c = 0;

	if (j == UINT32_MAX || j == SHMSTAT_PROC_GONE)
		for (uint32_t v = from; v < to; v++)
			c += s->grave[v];
	if (j == SHMSTAT_PROC_GONE)
		return c;
	if (j == UINT32_MAX) {
		/* every process: their sums, kept once */
		for (uint32_t v = from; v < to; v++)
			c += s->total[v];
		return c;
	}
	if (j >= s->np)
		return c;
	for (uint32_t n = 0; n < s->p[j].n; n++) {
		const uint32_t i = s->by_proc[s->p[j].first + n];
		uint32_t v = from, e;
		const uint64_t *st;

		SHMSTAT_HOOK(SHMSTAT_HOOK_SUM_STRIPE, s);
		/* only the runs of the stripe that hold data */
		while ((st = shmstat__snap_run(s, i, &v, to, &e)) != NULL) {
			for (uint32_t k = 0; k < e - v; k++)
				c += st[k];
			v = e;
		}
	}
	return c;
}

static void hist_value(const struct shmstat_snap *s, const struct shmstat__rdesc *d,
		       struct shmstat__mval *m)
{
	m->counter = hist_count(s, d, UINT32_MAX);
	m->has_value = 1;
}

static int hist_proc_value(const struct shmstat_snap *s, const struct shmstat__rdesc *d, size_t j,
			   uint64_t *counter, int64_t *gauge)
{
	(void)gauge;
	*counter = hist_count(s, d, j);
	return 0;
}

/* Add histogram slots @off.. of stripe @i of @s to @h (@folds_only: its
 * largest values alone, the sums being in total[]). */
static void hdata_add_stripe(shmstat_hdata *h, const struct shmstat_snap *s, uint32_t i,
			     uint32_t off, bool folds_only)
{
	const uint32_t to = off + h->nb + SHMSTAT_H_FIRST;
	uint32_t v = off + SHMSTAT_H_UNDER, e;
	const uint64_t *st;

	hdata_fold(h, shmstat__snap_at(s, i, off + SHMSTAT_H_MAX),
		   shmstat__snap_at(s, i, off + SHMSTAT_H_NMIN));
	if (folds_only)
		return;
	h->v[SHMSTAT_H_SUM] += shmstat__snap_at(s, i, off + SHMSTAT_H_SUM);
	while ((st = shmstat__snap_run(s, i, &v, to, &e)) != NULL) {
		for (uint32_t k = 0; k < e - v; k++)
			h->v[v - off + k] += st[k];
		v = e;
	}
}

int shmstat_snap_hist(const shmstat_snap *s, size_t i, size_t j, shmstat_hdata **out)
{
	const struct shmstat__rdesc *d;
	shmstat_hdata *h;

	*out = NULL;
	if (i >= s->nm)
		return EINVAL;
	d = shmstat__snap_desc(s, i);
	if (d->type != SHMSTAT_HISTOGRAM ||
	    (j >= s->np && j != SHMSTAT_PROC_GONE && j != SHMSTAT_PROC_ALL))
		return EINVAL;
	h = shmstat__hdata_new(d->bits, d->lowest, d->highest);
	if (h == NULL)
		return ENOMEM;
	if (j == SHMSTAT_PROC_GONE || j == SHMSTAT_PROC_ALL)
		shmstat__hdata_add(h, s->grave + d->value_off);
	if (j == SHMSTAT_PROC_ALL)
		hdata_sum(h, s->total + d->value_off);  /* kept once; the folds below */
	if (j == SHMSTAT_PROC_ALL) {
		for (uint32_t k = SHMSTAT_GRAVES; k < s->h->nstripes; k++)
			if (s->owner_of[k] != UINT32_MAX)
				hdata_add_stripe(h, s, k, d->value_off, true);
	} else if (j != SHMSTAT_PROC_GONE) {
		/* process j's stripes alone */
		for (uint32_t k = 0; k < s->p[j].n; k++) {
			SHMSTAT_HOOK(SHMSTAT_HOOK_SUM_STRIPE, s);
			hdata_add_stripe(h, s, s->by_proc[s->p[j].first + k], d->value_off, false);
		}
	}
	*out = h;
	return 0;
}

const struct shmstat__type shmstat__hist_type = {
	.name = "histogram",
	.type = SHMSTAT_HISTOGRAM,
	.handle_size = sizeof(struct shmstat_hist),
	.desc_put = hist_desc_put,
	.desc_get = hist_desc_get,
	.same_shape = hist_same,
	.handle_init = hist_handle_init,
	.removable = true,
	.fold_slots = hist_fold,
	.desc_ok = hist_desc_ok,
	.value = hist_value,
	.proc_value = hist_proc_value,
};
