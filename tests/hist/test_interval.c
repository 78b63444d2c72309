/*
 * test_interval.c - interval histograms from two snapshots.
 *
 * Segment 1 holds histogram lat_ns; segment 2 holds "b_only" and
 * "c_only", fed only what one interval recorded.
 *   record A (200k values, some below and above the range) into lat_ns,
 *   snapshot S1,
 *   record B (300k values, some out of range) into lat_ns, half from
 *   this thread and half from another one (two stripes), and into b_only,
 *   snapshot S2,
 *   record C (250k values, all in range) into lat_ns and c_only,
 *   snapshot S3.
 * Then:
 *  - sub(S2, S1) equals b_only bucket by bucket, in count, sum, underflow
 *    and overflow; its min/max bound B's (min <= min B, max >= max B);
 *  - sub(S3, S2) equals c_only; its quantiles are within 2^-7 of the
 *    exact quantiles of C (sorted, rank ceil(q * n)), and its min and max
 *    are the ends of the buckets of C's min and max;
 *  - sub(S3, S1) is sub(S3, S2) + sub(S2, S1), bucket by bucket;
 *  - sub(S1, S1) is empty (quantiles: ENOENT);
 *  - swapped arguments (earlier - later): ERANGE, no result;
 *  - layouts that differ in bits, lowest or highest: EINVAL, no result.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "ut_common.h"
#include "hist_util.h"
#include "histogram.h"

#define NA 200000u
#define NB 300000u
#define NC 250000u

/* Mostly lognormal around 300 us; with @out_of_range, 1 in 1000 is 0 and
 * 1 in 1000 is beyond the hour. */
static uint64_t value(uint64_t *s, int out_of_range)
{
	uint64_t r = hu_next(s) % 1000;

	if (out_of_range && r == 0)
		return 0;
	if (out_of_range && r == 1)
		return HU_HIGHEST_DEFAULT + 1 + hu_next(s) % UINT64_C(1000000000000);
	return hu_clamp(exp(log(300000.0) + 2.0 * hu_normal(s)), 1, HU_HIGHEST_DEFAULT);
}

static uint64_t *make(uint64_t seed, uint32_t n, int out_of_range)
{
	uint64_t *v = malloc(n * sizeof(*v));

	assert_non_null(v);
	for (uint32_t i = 0; i < n; i++)
		v[i] = value(&seed, out_of_range);
	return v;
}

struct part {
	shmstat_hist *h;
	const uint64_t *v;
	uint32_t n;
};

static void *record_part(void *arg)
{
	const struct part *p = arg;

	for (uint32_t i = 0; i < p->n; i++)
		shmstat_hist_record(p->h, p->v[i]);
	return NULL;
}

static shmstat_hist *reg(shmstat_seg *seg, const char *metric, const struct shmstat_hist_opts *ho)
{
	struct shmstat_metric_def def = { .name = metric };
	shmstat_hist *h = NULL;

	assert_int_equal(shmstat_hist_register(seg, &def, ho, &h), 0);
	return h;
}

static shmstat_hdata *hist_of(const shmstat_snap *s, const char *metric)
{
	return hu_hist(s, hu_find_hist(s, metric, ""), SHMSTAT_PROC_ALL);
}

static void test_interval(void **state)
{
	const char *n1 = ut_name("iv"), *n2 = ut_name("ivref");
	struct shmstat_opts o;
	struct shmstat_hist_opts o6, olow, ohigh;
	shmstat_seg *seg1, *seg2;
	shmstat_hist *lat, *b_only, *c_only;
	shmstat_snap *s1, *s2, *s3, *ref;
	shmstat_hdata *h1, *h2, *h3, *hb, *hc, *d21, *d32, *d31, *d11, *x;
	uint64_t *a = make(1, NA, 1), *b = make(2, NB, 1), *c = make(3, NC, 0);
	struct shmstat_hstats st;
	pthread_t th;
	struct part half;

	(void)state;
	ut_small_opts(&o);
	o.max_values = 6 * 2400;
	o.max_threads = 4;
	assert_int_equal(shmstat_open(n1, &o, &seg1), 0);
	assert_int_equal(shmstat_open(n2, &o, &seg2), 0);
	lat = reg(seg1, "lat_ns", NULL);
	b_only = reg(seg2, "b_only", NULL);
	c_only = reg(seg2, "c_only", NULL);
	/* other layouts, for the EINVAL checks */
	shmstat_hist_opts_init(&o6);
	o6.bits = 6;
	shmstat_hist_opts_init(&olow);
	olow.lowest = 2;
	shmstat_hist_opts_init(&ohigh);
	ohigh.highest = HU_HIGHEST_DEFAULT + 1;
	shmstat_hist_record(reg(seg1, "bits6", &o6), 10);
	shmstat_hist_record(reg(seg1, "low2", &olow), 10);
	shmstat_hist_record(reg(seg1, "high1", &ohigh), 10);

	for (uint32_t i = 0; i < NA; i++)
		shmstat_hist_record(lat, a[i]);
	s1 = ut_snap(n1);

	half = (struct part){ .h = lat, .v = b + NB / 2, .n = NB - NB / 2 };
	assert_int_equal(pthread_create(&th, NULL, record_part, &half), 0);
	for (uint32_t i = 0; i < NB / 2; i++)
		shmstat_hist_record(lat, b[i]);
	assert_int_equal(pthread_join(th, NULL), 0);
	for (uint32_t i = 0; i < NB; i++)
		shmstat_hist_record(b_only, b[i]);
	s2 = ut_snap(n1);

	for (uint32_t i = 0; i < NC; i++) {
		shmstat_hist_record(lat, c[i]);
		shmstat_hist_record(c_only, c[i]);
	}
	s3 = ut_snap(n1);
	ref = ut_snap(n2);
	assert_int_equal(shmstat_close(seg1), 0);
	assert_int_equal(shmstat_close(seg2), 0);

	h1 = hist_of(s1, "lat_ns");
	h2 = hist_of(s2, "lat_ns");
	h3 = hist_of(s3, "lat_ns");
	hb = hist_of(ref, "b_only");
	hc = hist_of(ref, "c_only");

	/* B: the interval equals the histogram of B alone */
	assert_int_equal(shmstat_hdata_sub(h2, h1, &d21), 0);
	assert_non_null(d21);
	hu_assert_same(d21, hb, 0);
	shmstat_hdata_stats(d21, &st);
	assert_int_equal(st.count, NB);
	assert_true(st.underflow > 0 && st.overflow > 0);
	{
		uint64_t mn = UINT64_MAX, mx = 0;

		for (uint32_t i = 0; i < NB; i++) {
			mn = b[i] < mn ? b[i] : mn;
			mx = b[i] > mx ? b[i] : mx;
		}
		assert_true(st.min <= mn);
		assert_true(st.max >= mx);
	}

	/* C: all in range; quantiles of the interval against the exact ones */
	assert_int_equal(shmstat_hdata_sub(h3, h2, &d32), 0);
	hu_assert_same(d32, hc, 0);
	shmstat_hdata_stats(d32, &st);
	assert_int_equal(st.count, NC);
	assert_int_equal(st.underflow, 0);
	assert_int_equal(st.overflow, 0);
	qsort(c, NC, sizeof(*c), hu_cmp_u64);
	{
		const double q[] = { 0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99,
				     0.999, 0.9999, 1 };
		const size_t nq = sizeof(q) / sizeof(q[0]);
		uint64_t got[sizeof(q) / sizeof(q[0])], lo, hi, cnt;

		assert_int_equal(shmstat_hdata_quantiles(d32, q, nq, got), 0);
		for (size_t i = 0; i < nq; i++) {
			uint64_t want = hu_exact_quantile(c, NC, q[i]);

			if (!hu_within(got[i], want, 7))
				fail_msg("interval quantile %g: %llu, exact %llu: beyond 2^-7", q[i],
					 (unsigned long long)got[i], (unsigned long long)want);
		}
		/* min and max: the ends of the buckets of C's extremes */
		assert_int_equal(shmstat_hdata_bucket(d32, shmstat__bucket_of(c[0], 7), &lo, &hi,
						      &cnt), 0);
		assert_int_equal(st.min, lo);
		assert_true(cnt > 0);
		assert_int_equal(shmstat_hdata_bucket(d32, shmstat__bucket_of(c[NC - 1], 7), &lo,
						      &hi, &cnt), 0);
		assert_int_equal(st.max, hi);
		assert_true(cnt > 0);
	}

	/* S3 - S1 = (S3 - S2) + (S2 - S1) */
	assert_int_equal(shmstat_hdata_sub(h3, h1, &d31), 0);
	{
		size_t nb = shmstat_hdata_buckets(d31);
		uint64_t *acc = calloc(nb + 2, sizeof(*acc));
		struct shmstat_hstats s31, sa, sb;

		assert_non_null(acc);
		hu_accumulate(d32, acc);
		hu_accumulate(d21, acc);
		hu_assert_acc(acc, d31);
		free(acc);
		shmstat_hdata_stats(d31, &s31);
		shmstat_hdata_stats(d32, &sa);
		shmstat_hdata_stats(d21, &sb);
		assert_int_equal(s31.count, sa.count + sb.count);
		assert_int_equal(s31.sum, sa.sum + sb.sum);
	}

	/* nothing happened between a snapshot and itself */
	assert_int_equal(shmstat_hdata_sub(h1, h1, &d11), 0);
	shmstat_hdata_stats(d11, &st);
	assert_int_equal(st.count, 0);
	assert_int_equal(st.sum, 0);
	assert_int_equal(st.underflow, 0);
	assert_int_equal(st.overflow, 0);
	{
		uint64_t got;

		assert_int_equal(shmstat_hdata_quantiles(d11, (const double[]){ 0.5 }, 1, &got),
				 ENOENT);
	}

	/* earlier - later: a bucket went down */
	x = (shmstat_hdata *)&x;
	assert_int_equal(shmstat_hdata_sub(h1, h2, &x), ERANGE);
	assert_null(x);
	x = (shmstat_hdata *)&x;
	assert_int_equal(shmstat_hdata_sub(h2, h3, &x), ERANGE);
	assert_null(x);

	/* other layouts */
	{
		const char *others[] = { "bits6", "low2", "high1" };

		for (size_t i = 0; i < 3; i++) {
			shmstat_hdata *oh = hist_of(s3, others[i]);

			x = (shmstat_hdata *)&x;
			if (shmstat_hdata_sub(h3, oh, &x) != EINVAL)
				fail_msg("sub of lat_ns and %s: not EINVAL", others[i]);
			assert_null(x);
			x = (shmstat_hdata *)&x;
			assert_int_equal(shmstat_hdata_sub(oh, h1, &x), EINVAL);
			assert_null(x);
			shmstat_hdata_free(oh);
		}
	}

	shmstat_hdata_free(d11);
	shmstat_hdata_free(d31);
	shmstat_hdata_free(d32);
	shmstat_hdata_free(d21);
	shmstat_hdata_free(hc);
	shmstat_hdata_free(hb);
	shmstat_hdata_free(h3);
	shmstat_hdata_free(h2);
	shmstat_hdata_free(h1);
	shmstat_snap_free(ref);
	shmstat_snap_free(s3);
	shmstat_snap_free(s2);
	shmstat_snap_free(s1);
	free(c);
	free(b);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_interval, ut_setup, ut_teardown),
	};

	return cmocka_run_group_tests_name("hist_interval", tests, NULL, NULL);
}
