/*
 * hist_util.h - helpers shared by the histogram tests (header only, every
 * function static inline): a deterministic generator, exact quantiles of
 * sorted samples with the library's rank definition, the relative-error
 * check, and comparisons of two shmstat_hdata objects.
 *
 * Include after <cmocka.h> (through ut_common.h or stress_common.h).
 */
#ifndef HIST_UTIL_H
#define HIST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"

#define HU_HIGHEST_DEFAULT UINT64_C(3600000000000)     /* 1 h in ns */

__extension__ typedef unsigned __int128 hu_u128;

/* ------------------------------------------------------------ generator */

/* splitmix64: a fixed seed gives the same sequence on every run. */
static inline uint64_t hu_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in (0, 1): never 0, so log() is safe. */
static inline double hu_unit(uint64_t *s)
{
	return ((double)(hu_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [lo, hi]. */
static inline uint64_t hu_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return lo + hu_next(s) % (hi - lo + 1);
}

/* Standard normal (Box-Muller, one value per call). */
static inline double hu_normal(uint64_t *s)
{
	double u1 = hu_unit(s), u2 = hu_unit(s);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* A double rounded and clamped to [lo, hi]. */
static inline uint64_t hu_clamp(double x, uint64_t lo, uint64_t hi)
{
	if (!(x >= (double)lo))
		return lo;
	if (x >= (double)hi)
		return hi;
	x = nearbyint(x);
	if (x < (double)lo)
		return lo;
	if (x > (double)hi)
		return hi;
	return (uint64_t)x;
}

/* ---------------------------------------------------- exact quantiles */

static inline int hu_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The rank of quantile @q among @n values, as documented for
 * shmstat_hdata_quantiles(): ceil(q * n), at least 1. */
static inline uint64_t hu_rank(double q, uint64_t n)
{
	double r = ceil(q * (double)n);

	return r < 1 ? 1 : (uint64_t)r;
}

/* The exact value at quantile @q of @sorted[0..n-1]. */
static inline uint64_t hu_exact_quantile(const uint64_t *sorted, uint64_t n, double q)
{
	uint64_t rank = hu_rank(q, n);

	return sorted[(rank > n ? n : rank) - 1];
}

/* |got - want| <= want * 2^-bits, exactly (no floating point). */
static inline int hu_within(uint64_t got, uint64_t want, unsigned bits)
{
	uint64_t d = got > want ? got - want : want - got;

	return ((hu_u128)d << bits) <= (hu_u128)want;
}

/* ------------------------------------------------ comparing histograms */

/* Look up histogram @metric (canonical @labels, "" for none) in @s. */
static inline size_t hu_find_hist(const shmstat_snap *s, const char *metric, const char *labels)
{
	size_t n = shmstat_snap_metrics(s);

	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info mi;

		assert_int_equal(shmstat_snap_metric(s, i, &mi), 0);
		if (strcmp(mi.name, metric) == 0 && strcmp(mi.labels, labels) == 0) {
			assert_int_equal(mi.type, SHMSTAT_HISTOGRAM);
			return i;
		}
	}
	fail_msg("histogram %s{%s} not found", metric, labels);
	return 0;
}

/* shmstat_snap_hist() that must succeed. */
static inline shmstat_hdata *hu_hist(const shmstat_snap *s, size_t i, size_t j)
{
	shmstat_hdata *h = NULL;
	int err = shmstat_snap_hist(s, i, j, &h);

	if (err)
		fail_msg("shmstat_snap_hist(%zu, %zu): %s", i, j, shmstat_strerror(err));
	assert_non_null(h);
	return h;
}

/* Every bucket of @a equals the one of @b (same layout), and so do count,
 * sum, underflow and overflow; with @minmax, min and max too. */
static inline void hu_assert_same(const shmstat_hdata *a, const shmstat_hdata *b, int minmax)
{
	struct shmstat_hstats sa, sb;
	size_t nb = shmstat_hdata_buckets(a);

	shmstat_hdata_stats(a, &sa);
	shmstat_hdata_stats(b, &sb);
	assert_int_equal(sa.bits, sb.bits);
	assert_int_equal(sa.lowest, sb.lowest);
	assert_int_equal(sa.highest, sb.highest);
	assert_int_equal(nb, shmstat_hdata_buckets(b));
	assert_int_equal(sa.count, sb.count);
	assert_int_equal(sa.sum, sb.sum);
	assert_int_equal(sa.underflow, sb.underflow);
	assert_int_equal(sa.overflow, sb.overflow);
	if (minmax) {
		assert_int_equal(sa.min, sb.min);
		assert_int_equal(sa.max, sb.max);
	}
	for (size_t k = 0; k < nb; k++) {
		uint64_t lo1, hi1, c1, lo2, hi2, c2;

		assert_int_equal(shmstat_hdata_bucket(a, k, &lo1, &hi1, &c1), 0);
		assert_int_equal(shmstat_hdata_bucket(b, k, &lo2, &hi2, &c2), 0);
		assert_int_equal(lo1, lo2);
		assert_int_equal(hi1, hi2);
		if (c1 != c2)
			fail_msg("bucket %zu [%llu, %llu]: %llu != %llu", k,
				 (unsigned long long)lo1, (unsigned long long)hi1,
				 (unsigned long long)c1, (unsigned long long)c2);
	}
}

/* The bucket counts of @h added to @acc[0..buckets-1] (plus underflow in
 * acc[nb], overflow in acc[nb + 1]). */
static inline void hu_accumulate(const shmstat_hdata *h, uint64_t *acc)
{
	struct shmstat_hstats st;
	size_t nb = shmstat_hdata_buckets(h);

	for (size_t k = 0; k < nb; k++) {
		uint64_t lo, hi, c;

		assert_int_equal(shmstat_hdata_bucket(h, k, &lo, &hi, &c), 0);
		acc[k] += c;
	}
	shmstat_hdata_stats(h, &st);
	acc[nb] += st.underflow;
	acc[nb + 1] += st.overflow;
}

/* @acc (as filled by hu_accumulate) equals the buckets of @h. */
static inline void hu_assert_acc(const uint64_t *acc, const shmstat_hdata *h)
{
	uint64_t *mine;
	size_t nb = shmstat_hdata_buckets(h);

	mine = calloc(nb + 2, sizeof(*mine));
	assert_non_null(mine);
	hu_accumulate(h, mine);
	for (size_t k = 0; k < nb + 2; k++)
		if (mine[k] != acc[k]) {
			uint64_t a = acc[k], m = mine[k];

			free(mine);
			fail_msg("slot %zu of %zu: parts add up to %llu, total is %llu", k,
				 nb + 2, (unsigned long long)a, (unsigned long long)m);
		}
	free(mine);
}

#endif
