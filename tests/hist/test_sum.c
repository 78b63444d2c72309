/*
 * test_sum.c - a histogram's sum past 2^64 (shmstat_hdata_sum).
 *
 * The slot keeps the sum modulo 2^64; the reader recovers the whole sum
 * from the bucket bounds. Checked against an exact 128-bit reference:
 *  - records through the library whose sum passes 2^64 several times
 *    (1 s values 5.5e10 times: 3 wraps; a mix of values and counts):
 *    wraps and residue exact, return 0, the mean exact to a double;
 *  - a sum just below 2^64 (no wrap) and one just past it: 0 and 1 wraps;
 *  - an interval (shmstat_hdata_sub) across a wrap: its whole sum;
 *  - a copy that saw a record's bucket and not yet its sum (the slot lags
 *    by v * n), near 0 and near a wrap: no wrap invented;
 *  - bounds 2^63 apart or more (1-bit buckets, values near 2^63 many
 *    times; 2^64 values): ERANGE, and a result within the bounds;
 *  - an empty histogram: 0, 0, 0.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ut_common.h"
#include "hist_util.h"
#include "histogram.h"

__extension__ typedef unsigned __int128 u128;

static shmstat_seg *open_seg(const char *name)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;

	ut_small_opts(&o);
	o.max_procs = 2;
	o.max_threads = 2;
	o.max_values = 8192;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	return seg;
}

static shmstat_hist *reg(shmstat_seg *seg, const char *metric, const struct shmstat_hist_opts *ho)
{
	struct shmstat_metric_def def = { .name = metric };
	shmstat_hist *h = NULL;

	assert_int_equal(shmstat_hist_register(seg, &def, ho, &h), 0);
	return h;
}

static void assert_sum(const shmstat_hdata *h, u128 want)
{
	uint64_t wraps = 1234, sum = 5678;
	struct shmstat_hstats st;

	assert_int_equal(shmstat_hdata_sum(h, &wraps, &sum), 0);
	if (wraps != (uint64_t)(want >> 64) || sum != (uint64_t)want)
		fail_msg("sum %llu * 2^64 + %llu, want %llu * 2^64 + %llu",
			 (unsigned long long)wraps, (unsigned long long)sum,
			 (unsigned long long)(want >> 64), (unsigned long long)want);
	shmstat_hdata_stats(h, &st);
	assert_int_equal(st.sum, (uint64_t)want);
	if (st.count) {
		double m = ((double)(uint64_t)(want >> 64) * 0x1p64 + (double)(uint64_t)want) /
			   (double)st.count;

		if (st.mean != m)
			fail_msg("mean %.17g, want %.17g", st.mean, m);
	}
}

/* 3 wraps of 1 s values; then a mix of values and counts */
static void test_wraps(void **state)
{
	const char *name = ut_name("wrap");
	shmstat_seg *seg = open_seg(name);
	shmstat_hist *a = reg(seg, "one_second", NULL), *b = reg(seg, "mixed", NULL);
	const struct {
		uint64_t v, n;
	} mix[] = {
		{ 1, 1000 }, { 999, 123456789 }, { 1000000, 98765432123ull },
		{ 3000000000ull, 4000000000ull }, { 77777777777ull, 300000000ull },
		{ 3600000000000ull, 9000000ull }, { 0, 5 },
	};
	u128 want_b = 0;
	shmstat_hdata *ha, *hb;
	shmstat_snap *s;

	(void)state;
	shmstat_hist_record_n(a, 1000000000u, 55340232221ull);
	for (size_t i = 0; i < sizeof(mix) / sizeof(mix[0]); i++) {
		shmstat_hist_record_n(b, mix[i].v, mix[i].n);
		want_b += (u128)mix[i].v * mix[i].n;
	}
	assert_true(want_b >> 64 >= 2);
	s = ut_snap(name);
	ha = hu_hist(s, hu_find_hist(s, "one_second", ""), SHMSTAT_PROC_ALL);
	hb = hu_hist(s, hu_find_hist(s, "mixed", ""), SHMSTAT_PROC_ALL);
	assert_sum(ha, (u128)1000000000u * 55340232221ull);
	{
		struct shmstat_hstats st;

		shmstat_hdata_stats(ha, &st);
		assert_true(st.mean == 1e9);
	}
	assert_sum(hb, want_b);
	shmstat_hdata_free(ha);
	shmstat_hdata_free(hb);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_close(seg), 0);
}

/* Just below 2^64 and just past it */
static void test_edge_of_wrap(void **state)
{
	const char *name = ut_name("edge");
	shmstat_seg *seg = open_seg(name);
	struct shmstat_hist_opts ho;
	shmstat_hist *a, *b;
	shmstat_hdata *ha, *hb;
	shmstat_snap *s;

	(void)state;
	shmstat_hist_opts_init(&ho);
	ho.highest = UINT64_MAX;
	a = reg(seg, "below", &ho);
	b = reg(seg, "past", &ho);
	/* 2^64 - 2 * 2^60 - 1, then 2^64 + 2^62 */
	shmstat_hist_record_n(a, UINT64_C(1) << 60, 13);
	shmstat_hist_record_n(a, (UINT64_C(1) << 60) - 1, 1);
	shmstat_hist_record_n(b, UINT64_C(1) << 62, 5);
	s = ut_snap(name);
	ha = hu_hist(s, hu_find_hist(s, "below", ""), SHMSTAT_PROC_ALL);
	hb = hu_hist(s, hu_find_hist(s, "past", ""), SHMSTAT_PROC_ALL);
	assert_sum(ha, (u128)13 * (UINT64_C(1) << 60) + (UINT64_C(1) << 60) - 1);
	assert_sum(hb, (u128)5 * (UINT64_C(1) << 62));
	shmstat_hdata_free(ha);
	shmstat_hdata_free(hb);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_close(seg), 0);
}

/* An interval across a wrap: later - earlier, whole */
static void test_interval(void **state)
{
	const char *name = ut_name("ival");
	shmstat_seg *seg = open_seg(name);
	shmstat_hist *a = reg(seg, "lat", NULL);
	shmstat_hdata *h1, *h2, *d;
	shmstat_snap *s1, *s2;

	(void)state;
	/* 0.9 * 2^64 before, then 2.5 * 2^64 more: the slot goes 0.9 -> 0.4 */
	shmstat_hist_record_n(a, 2000000000u, 8301034833ull);
	s1 = ut_snap(name);
	shmstat_hist_record_n(a, 3000000000u, 15372286728ull);
	s2 = ut_snap(name);
	h1 = hu_hist(s1, hu_find_hist(s1, "lat", ""), SHMSTAT_PROC_ALL);
	h2 = hu_hist(s2, hu_find_hist(s2, "lat", ""), SHMSTAT_PROC_ALL);
	assert_int_equal(shmstat_hdata_sub(h2, h1, &d), 0);
	assert_sum(d, (u128)3000000000u * 15372286728ull);
	assert_sum(h2, (u128)3000000000u * 15372286728ull + (u128)2000000000u * 8301034833ull);
	shmstat_hdata_free(d);
	shmstat_hdata_free(h1);
	shmstat_hdata_free(h2);
	shmstat_snap_free(s1);
	shmstat_snap_free(s2);
	assert_int_equal(shmstat_close(seg), 0);
}

/* A copy made of slots: [0] sum, [1] max, [2] ~min, [3] under, [4]
 * over, then the buckets */
static shmstat_hdata *made(unsigned bits, uint64_t highest, uint64_t sum, uint64_t max,
			   uint64_t min, const uint64_t *at, const uint64_t *cnt, size_t n)
{
	shmstat_hdata *h = shmstat__hdata_new(bits, 1, highest);
	uint32_t nb = shmstat__nbuckets(bits, highest);
	uint64_t *slots = calloc((size_t)nb + SHMSTAT_H_FIRST, 8);

	assert_non_null(h);
	assert_non_null(slots);
	slots[SHMSTAT_H_SUM] = sum;
	slots[SHMSTAT_H_MAX] = max;
	slots[SHMSTAT_H_NMIN] = ~min;
	for (size_t i = 0; i < n; i++)
		slots[SHMSTAT_H_FIRST + shmstat__bucket_of(at[i], bits)] += cnt[i];
	shmstat__hdata_add(h, slots);
	free(slots);
	return h;
}

/* The copy saw a record's bucket, not yet its sum: the slot lags by v * n.
 * Near 0, the lagging slot is below the buckets' lower bound: no wrap
 * may be invented (the whole sum is the lagging slot); near a wrap,
 * likewise the number nearest the bounds. */
static void test_lagging_sum(void **state)
{
	const uint64_t at[] = { 1000, 5000 }, cnt[] = { 10, 1 };
	const uint64_t big[] = { UINT64_C(1) << 40 }, bcnt[] = { (UINT64_C(1) << 24) + 1 };
	shmstat_hdata *h;
	uint64_t wraps, sum;

	(void)state;
	/* 10 x 1000 counted, the 5000 in its bucket but not in the sum */
	h = made(7, 3600000000000ull, 10000, 5000, 1000, at, cnt, 2);
	assert_int_equal(shmstat_hdata_sum(h, &wraps, &sum), 0);
	assert_int_equal(wraps, 0);
	assert_int_equal(sum, 10000);
	shmstat_hdata_free(h);
	/* 2^24 + 1 records of 2^40: 2^64 + 2^40; the slot saw 2^24 of them,
	 * 2^64 = 0 modulo 2^64, below the bounds' 2^64 + 2^40 */
	h = made(7, UINT64_MAX, 0, UINT64_C(1) << 40, UINT64_C(1) << 40, big, bcnt, 1);
	assert_int_equal(shmstat_hdata_sum(h, &wraps, &sum), 0);
	assert_int_equal(wraps, 1);
	assert_int_equal(sum, 0);
	shmstat_hdata_free(h);
}

/* Bounds too far apart: ERANGE, and a result within them */
static void test_ambiguous(void **state)
{
	/* 1-bit buckets: [2^62, 2^63) and [2^63, 2^64), 64 values in each */
	const uint64_t at[] = { UINT64_C(1) << 62, UINT64_C(1) << 63 }, cnt[] = { 64, 64 };
	const uint64_t two[] = { 5, 6 }, all[] = { UINT64_MAX, 1 };
	u128 lo = (u128)64 * (UINT64_C(1) << 62) + (u128)64 * (UINT64_C(1) << 63), s;
	shmstat_hdata *h;
	uint64_t wraps, sum;

	(void)state;
	/* min and max keep the range whole: every value could be anywhere */
	h = made(1, UINT64_MAX, 12345, UINT64_MAX, UINT64_C(1) << 62, at, cnt, 2);
	assert_int_equal(shmstat_hdata_sum(h, &wraps, &sum), ERANGE);
	assert_int_equal(sum, 12345);
	s = ((u128)wraps << 64) | sum;
	assert_true(s >= lo);
	assert_true(s <= lo + (u128)64 * ((UINT64_C(1) << 62) - 1) + (u128)64 * ((UINT64_C(1) << 63) - 1));
	shmstat_hdata_free(h);
	/* 2^64 values: no bounds, the residue alone */
	h = made(7, 3600000000000ull, 77, 6, 5, two, all, 2);
	assert_int_equal(shmstat_hdata_sum(h, &wraps, &sum), ERANGE);
	assert_int_equal(wraps, 0);
	assert_int_equal(sum, 77);
	shmstat_hdata_free(h);
	/* empty */
	h = shmstat__hdata_new(7, 1, 3600000000000ull);
	assert_non_null(h);
	assert_sum(h, 0);
	shmstat_hdata_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wraps, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_edge_of_wrap, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_interval, ut_setup, ut_teardown),
		cmocka_unit_test(test_lagging_sum),
		cmocka_unit_test(test_ambiguous),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
