/*
 * test_edges.c - edge values, layouts and registration errors.
 *
 *  - default layout (1 .. 3.6e12 ns, 7 bits): 0, 1, lowest, highest,
 *    highest + 1, INT64_MAX, UINT64_MAX: 0 is underflow; highest + 1,
 *    INT64_MAX and UINT64_MAX are overflow; all counted, none dropped;
 *    min 0, max UINT64_MAX exactly; the sum wraps modulo 2^64; a rank in
 *    the underflow reports min, in the overflow max, in range within 2^-7;
 *  - a custom layout (1000 .. 1e6, 5 bits) likewise, and the extremes are
 *    exact when no value is out of range; the last bucket ends at highest;
 *  - layouts at the limits: lowest 0 (nothing underflows), a range of one
 *    value, highest UINT64_MAX (nothing overflows);
 *  - invalid layouts (bits 0, bits 17, lowest > highest), no segment:
 *    EINVAL, a readable error sentence, and a handle that does nothing
 *    (recording and timing into it neither crash nor register anything);
 *  - the same name with another layout (bits, lowest or highest) is
 *    SHMSTAT_ETYPE, in this process and from another process; a name
 *    that is a counter or a gauge is SHMSTAT_ETYPE for a histogram and
 *    vice versa; the same layout again finds the same histogram;
 *  - record_n(v, k) equals k records of v (buckets, count, sum, min, max,
 *    under/overflow), and record_n(v, 0) records nothing at all;
 *  - quantile ranks of more than 2^53 values are exact;
 *  - reader-side argument errors: quantiles of q outside 0..1 or of more
 *    than 64 q, an empty histogram, a bucket index past the end, a
 *    histogram of a counter, a process index out of range.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ut_common.h"
#include "hist_util.h"
#include "histogram.h"

#define H HU_HIGHEST_DEFAULT

static shmstat_seg *open_seg(const char *name, uint32_t max_values)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;

	ut_small_opts(&o);
	o.max_procs = 4;           /* this process, a child and its inherited slot */
	o.max_threads = 2;         /* a 16-bit layout takes 7 MB per stripe */
	o.max_values = max_values;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	return seg;
}

static shmstat_hist *reg(shmstat_seg *seg, const char *metric, const struct shmstat_hist_opts *ho)
{
	struct shmstat_metric_def def = { .name = metric };
	shmstat_hist *h = NULL;
	int err = shmstat_hist_register(seg, &def, ho, &h);

	if (err)
		fail_msg("register %s: %s: %s", metric, shmstat_strerror(err),
			 shmstat_last_error());
	assert_non_null(h);
	return h;
}

static struct shmstat_hist_opts layout(uint64_t lowest, uint64_t highest, unsigned bits)
{
	return (struct shmstat_hist_opts){ .lowest = lowest, .highest = highest, .bits = bits };
}

/* Histogram @metric of a fresh snapshot of @name. */
static shmstat_hdata *read_hist(const char *name, const char *metric)
{
	shmstat_snap *s = ut_snap(name);
	shmstat_hdata *h = hu_hist(s, hu_find_hist(s, metric, ""), SHMSTAT_PROC_ALL);

	shmstat_snap_free(s);
	return h;
}

/* Every bucket is empty except those of @vals (in range), which hold the
 * values that fall in them; the last bucket ends at the layout's highest. */
static void check_buckets(const shmstat_hdata *h, const uint64_t *vals, size_t n)
{
	struct shmstat_hstats st;
	size_t nb = shmstat_hdata_buckets(h);
	uint64_t lo, hi, c;

	shmstat_hdata_stats(h, &st);
	assert_int_equal(nb, shmstat__nbuckets(st.bits, st.highest));
	for (size_t k = 0; k < nb; k++) {
		uint64_t want = 0;

		assert_int_equal(shmstat_hdata_bucket(h, k, &lo, &hi, &c), 0);
		assert_true(lo <= hi);
		for (size_t i = 0; i < n; i++)
			if (vals[i] >= st.lowest && vals[i] <= st.highest &&
			    shmstat__bucket_of(vals[i], st.bits) == k) {
				assert_true(lo <= vals[i] && vals[i] <= hi);
				want++;
			}
		if (c != want)
			fail_msg("bucket %zu [%llu, %llu]: %llu values, expected %llu", k,
				 (unsigned long long)lo, (unsigned long long)hi,
				 (unsigned long long)c, (unsigned long long)want);
	}
	assert_int_equal(shmstat_hdata_bucket(h, nb - 1, &lo, &hi, &c), 0);
	assert_int_equal(hi, st.highest);
	assert_int_equal(shmstat_hdata_bucket(h, nb, &lo, &hi, &c), EINVAL);
	/* the walk of the buckets in use: exactly those that hold values,
	 * in order, then nb; and from the last bucket and past the end */
	{
		size_t k = shmstat_hdata_next(h, 0);

		for (size_t j = 0; j < nb; j++) {
			assert_int_equal(shmstat_hdata_bucket(h, j, &lo, &hi, &c), 0);
			if (c == 0)
				continue;
			if (k != j)
				fail_msg("next bucket in use: %zu, expected %zu", k, j);
			assert_int_equal(shmstat_hdata_next(h, j), j);
			k = shmstat_hdata_next(h, k + 1);
		}
		assert_int_equal(k, nb);
		assert_int_equal(shmstat_hdata_bucket(h, nb - 1, &lo, &hi, &c), 0);
		assert_int_equal(shmstat_hdata_next(h, nb - 1), c ? nb - 1 : nb);
		assert_int_equal(shmstat_hdata_next(h, nb), nb);
		assert_int_equal(shmstat_hdata_next(h, nb + 7), nb);
	}
}

/* Record @vals (sorted) into a fresh histogram of layout @ho and check
 * every stat, bucket and the value at every rank. */
static void check_edges(const struct shmstat_hist_opts *ho, const uint64_t *vals, size_t n)
{
	const char *name = ut_name("edge");
	uint32_t nb = shmstat__nbuckets(ho->bits, ho->highest);
	shmstat_seg *seg = open_seg(name, nb + 64);
	shmstat_hist *h = reg(seg, "edge_ns", ho);
	struct shmstat_hstats st;
	uint64_t sum = 0, under = 0, over = 0, got[64];
	double q[64];
	shmstat_hdata *hd;

	assert_true(n < 64);
	for (size_t i = 0; i < n; i++) {
		shmstat_hist_record(h, vals[i]);
		sum += vals[i];
		under += vals[i] < ho->lowest;
		over += vals[i] > ho->highest;
	}
	hd = read_hist(name, "edge_ns");
	assert_int_equal(shmstat_close(seg), 0);
	shmstat_hdata_stats(hd, &st);
	assert_int_equal(st.count, n);
	assert_int_equal(st.sum, sum);
	assert_int_equal(st.underflow, under);
	assert_int_equal(st.overflow, over);
	assert_int_equal(st.min, vals[0]);
	assert_int_equal(st.max, vals[n - 1]);
	assert_int_equal(st.lowest, ho->lowest);
	assert_int_equal(st.highest, ho->highest);
	assert_int_equal(st.bits, ho->bits);
	check_buckets(hd, vals, n);

	/* rank k (1-based) is asked as q = (k - 1/2) / n: no rounding doubt */
	for (size_t k = 1; k <= n; k++)
		q[k - 1] = ((double)k - 0.5) / (double)n;
	q[n] = 0;
	q[n + 1] = 1;
	assert_int_equal(shmstat_hdata_quantiles(hd, q, n + 2, got), 0);
	for (size_t k = 1; k <= n; k++) {
		uint64_t v = vals[k - 1];

		if (v < ho->lowest) {
			if (got[k - 1] != st.min)
				fail_msg("rank %zu (underflow) reports %llu, not min %llu", k,
					 (unsigned long long)got[k - 1],
					 (unsigned long long)st.min);
		} else if (v > ho->highest) {
			if (got[k - 1] != st.max)
				fail_msg("rank %zu (overflow) reports %llu, not max %llu", k,
					 (unsigned long long)got[k - 1],
					 (unsigned long long)st.max);
		} else if (!hu_within(got[k - 1], v, ho->bits)) {
			fail_msg("rank %zu: %llu reported for %llu, beyond 2^-%u", k,
				 (unsigned long long)got[k - 1], (unsigned long long)v, ho->bits);
		}
	}
	assert_int_equal(got[n], vals[0]);        /* q = 0: min */
	assert_int_equal(got[n + 1], vals[n - 1]); /* q = 1: max */
	shmstat_hdata_free(hd);
}

static void test_default_layout(void **state)
{
	const uint64_t vals[] = { 0, 1, 1, H, H + 1, (uint64_t)INT64_MAX, UINT64_MAX };
	/* buckets in use in the middle alone: the first and last empty */
	const uint64_t middle[] = { 5, 1000, 1001, 70000, 70000 };
	struct shmstat_hist_opts ho;

	(void)state;
	shmstat_hist_opts_init(&ho);
	assert_int_equal(ho.lowest, 1);
	assert_int_equal(ho.highest, H);
	check_edges(&ho, vals, sizeof(vals) / sizeof(vals[0]));
	check_edges(&ho, middle, sizeof(middle) / sizeof(middle[0]));
}

static void test_custom_layout(void **state)
{
	const uint64_t vals[] = { 0, 1, 999, 1000, 1000000, 1000001, (uint64_t)INT64_MAX,
				  UINT64_MAX };
	const uint64_t in_range[] = { 1000, 1000, 1001, 31337, 999999, 1000000 };
	const struct shmstat_hist_opts ho = layout(1000, 1000000, 5);

	(void)state;
	check_edges(&ho, vals, sizeof(vals) / sizeof(vals[0]));
	check_edges(&ho, in_range, sizeof(in_range) / sizeof(in_range[0]));
}

static void test_limit_layouts(void **state)
{
	const uint64_t zero_low[] = { 0, 0, 7, 100, 101 };
	const uint64_t one_value[] = { 0, 499, 500, 500, 501, UINT64_MAX };
	const uint64_t whole[] = { 0, 1, 12345, (uint64_t)INT64_MAX, UINT64_MAX - 1, UINT64_MAX };
	const struct shmstat_hist_opts l1 = layout(0, 100, 3);
	const struct shmstat_hist_opts l2 = layout(500, 500, 7);
	const struct shmstat_hist_opts l3 = layout(0, UINT64_MAX, 7);
	const struct shmstat_hist_opts l4 = layout(1, H, 1);
	const struct shmstat_hist_opts l5 = layout(1, H, 16);
	const uint64_t defaults[] = { 0, 1, 2, 3, 1000, H - 1, H, H + 1, UINT64_MAX };

	(void)state;
	check_edges(&l1, zero_low, sizeof(zero_low) / sizeof(zero_low[0]));
	check_edges(&l2, one_value, sizeof(one_value) / sizeof(one_value[0]));
	check_edges(&l3, whole, sizeof(whole) / sizeof(whole[0]));
	check_edges(&l4, defaults, sizeof(defaults) / sizeof(defaults[0]));
	check_edges(&l5, defaults, sizeof(defaults) / sizeof(defaults[0]));
}

/* A do-nothing handle: recording and timing into it are harmless. */
static void use_noop(shmstat_hist *h)
{
	assert_non_null(h);
	shmstat_hist_record(h, 5);
	shmstat_hist_record(h, 0);
	shmstat_hist_record(h, UINT64_MAX);
	shmstat_hist_record_n(h, 77, 1000);
	shmstat_timer_stop(h, shmstat_timer_start());
	{
		SHMSTAT_TIME_SCOPE(h);
	}
}

static void test_invalid_opts(void **state)
{
	const char *name = ut_name("inval");
	shmstat_seg *seg = open_seg(name, 8192);
	const struct shmstat_hist_opts bad[] = {
		layout(1, H, 0), layout(1, H, 17), layout(1, H, 1000),
		layout(11, 10, 7), layout(UINT64_MAX, 0, 7),
	};
	struct shmstat_metric_def def = { .name = "bad_ns" };
	shmstat_snap *s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		shmstat_hist *h = NULL;
		int err = shmstat_hist_register(seg, &def, &bad[i], &h);

		if (err != EINVAL)
			fail_msg("layout %zu (%llu..%llu, %u bits): %s, not EINVAL", i,
				 (unsigned long long)bad[i].lowest,
				 (unsigned long long)bad[i].highest, bad[i].bits,
				 shmstat_strerror(err));
		ut_check_error_text(NULL);
		use_noop(h);
	}
	{
		shmstat_hist *h = NULL;

		assert_int_equal(shmstat_hist_register(NULL, &def, NULL, &h), EINVAL);
		use_noop(h);
		h = NULL;
		assert_int_equal(shmstat_hist_register(seg, NULL, NULL, &h), EINVAL);
		use_noop(h);
	}
	s = ut_snap(name);
	assert_int_equal(shmstat_snap_metrics(s), 0);
	shmstat_snap_free(s);
	/* a valid one afterwards works */
	shmstat_hist_record(reg(seg, "bad_ns", NULL), 9);
	{
		shmstat_hdata *hd = read_hist(name, "bad_ns");
		struct shmstat_hstats st;

		shmstat_hdata_stats(hd, &st);
		assert_int_equal(st.count, 1);
		assert_int_equal(st.sum, 9);
		shmstat_hdata_free(hd);
	}
	assert_int_equal(shmstat_close(seg), 0);
}

/* Child: attach, register "lat_ns" with another layout; answer 'E' when
 * that is SHMSTAT_ETYPE, then 'S' when the same layout is accepted. */
static int other_layout_kid(void *arg, int cmd, int ack)
{
	const char *name = arg;
	struct shmstat_metric_def def = { .name = "lat_ns" };
	struct shmstat_hist_opts ho = layout(1, H, 8);
	shmstat_seg *seg;
	shmstat_hist *h;

	if (shmstat_open(name, NULL, &seg) != 0)
		return 1;
	ut_send(ack, shmstat_hist_register(seg, &def, &ho, &h) == SHMSTAT_ETYPE ? 'E' : 'x');
	ut_recv(cmd);
	ut_send(ack, shmstat_hist_register(seg, &def, NULL, &h) == 0 ? 'S' : 'x');
	shmstat_hist_record(h, 1000);
	shmstat_close(seg);
	return 0;
}

static void test_type_conflicts(void **state)
{
	const char *name = ut_name("etype");
	shmstat_seg *seg = open_seg(name, 8192);
	struct shmstat_metric_def d_lat = { .name = "lat_ns" };
	struct shmstat_metric_def d_cnt = { .name = "cnt" };
	struct shmstat_metric_def d_gau = { .name = "gau" };
	const struct shmstat_hist_opts other[] = {
		layout(1, H, 8), layout(1, H, 6), layout(2, H, 7), layout(0, H, 7),
		layout(1, H + 1, 7), layout(1, 1000000, 7),
	};
	struct shmstat_hist_opts def_opts;
	shmstat_hist *lat, *again, *h;
	shmstat_counter *c;
	shmstat_gauge *g;
	shmstat_hdata *hd;
	struct shmstat_hstats st;
	struct ut_kid kid;

	(void)state;
	lat = reg(seg, "lat_ns", NULL);
	shmstat_hist_record(lat, 100);
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		h = NULL;
		assert_int_equal(shmstat_hist_register(seg, &d_lat, &other[i], &h), SHMSTAT_ETYPE);
		ut_check_error_text("lat_ns");
		use_noop(h);
	}
	/* the same layout, given explicitly, is the same histogram */
	shmstat_hist_opts_init(&def_opts);
	again = reg(seg, "lat_ns", &def_opts);
	shmstat_hist_record(again, 200);

	/* counter <-> histogram, gauge -> histogram */
	assert_int_equal(shmstat_counter_register(seg, &d_cnt, &c), 0);
	shmstat_counter_inc(c);
	h = NULL;
	assert_int_equal(shmstat_hist_register(seg, &d_cnt, NULL, &h), SHMSTAT_ETYPE);
	use_noop(h);
	assert_int_equal(shmstat_gauge_register(seg, &d_gau, SHMSTAT_AGG_SUM, &g), 0);
	h = NULL;
	assert_int_equal(shmstat_hist_register(seg, &d_gau, NULL, &h), SHMSTAT_ETYPE);
	use_noop(h);
	c = NULL;
	assert_int_equal(shmstat_counter_register(seg, &d_lat, &c), SHMSTAT_ETYPE);
	assert_non_null(c);
	shmstat_counter_inc(c);
	g = NULL;
	assert_int_equal(shmstat_gauge_register(seg, &d_lat, SHMSTAT_AGG_SUM, &g), SHMSTAT_ETYPE);
	assert_non_null(g);
	shmstat_gauge_add(g, 5);

	/* another process: the layout is checked against the segment */
	assert_int_equal(ut_kid_start(&kid, other_layout_kid, (void *)name), 'E');
	assert_int_equal(ut_kid_cmd(&kid, 'n'), 'S');
	assert_int_equal(ut_kid_wait(&kid), 0);

	hd = read_hist(name, "lat_ns");
	shmstat_hdata_stats(hd, &st);
	assert_int_equal(st.count, 3);
	assert_int_equal(st.sum, 1300);
	assert_int_equal(st.min, 100);
	assert_int_equal(st.max, 1000);
	shmstat_hdata_free(hd);
	assert_int_equal(ut_counter_value(name, "cnt"), 1);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_record_n(void **state)
{
	const char *name = ut_name("recn");
	shmstat_seg *seg = open_seg(name, 8192);
	const struct {
		uint64_t v, k;
	} steps[] = {
		{ 0, 3 }, { 1, 1 }, { 5, 1000 }, { 1000, 7 }, { 123456789, 12345 },
		{ H, 2 }, { H + 1, 5 }, { (uint64_t)INT64_MAX, 1 }, { UINT64_MAX, 2 },
		{ 777, 1 },
	};
	shmstat_hist *a = reg(seg, "by_n", NULL), *b = reg(seg, "one_by_one", NULL);
	shmstat_hdata *ha, *hb;
	shmstat_snap *s;

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		shmstat_hist_record_n(a, steps[i].v, steps[i].k);
		for (uint64_t k = 0; k < steps[i].k; k++)
			shmstat_hist_record(b, steps[i].v);
	}
	s = ut_snap(name);
	assert_int_equal(shmstat_close(seg), 0);
	ha = hu_hist(s, hu_find_hist(s, "by_n", ""), SHMSTAT_PROC_ALL);
	hb = hu_hist(s, hu_find_hist(s, "one_by_one", ""), SHMSTAT_PROC_ALL);
	hu_assert_same(ha, hb, 1);
	{
		struct shmstat_hstats st;

		shmstat_hdata_stats(ha, &st);
		assert_int_equal(st.count, 3 + 1 + 1000 + 7 + 12345 + 2 + 5 + 1 + 2 + 1);
		assert_int_equal(st.underflow, 3);
		assert_int_equal(st.overflow, 5 + 1 + 2);
	}
	shmstat_hdata_free(ha);
	shmstat_hdata_free(hb);
	shmstat_snap_free(s);
}

/* Counting a value zero times counts nothing: not in min or max either. */
static void test_record_n_zero(void **state)
{
	const char *name = ut_name("recz");
	shmstat_seg *seg = open_seg(name, 8192);
	shmstat_hist *h = reg(seg, "zero_n", NULL), *e = reg(seg, "empty", NULL);
	struct shmstat_hstats st;
	shmstat_hdata *hd;
	uint64_t got[2];

	(void)state;
	shmstat_hist_record_n(h, 100, 5);
	shmstat_hist_record_n(h, 1000000000, 0);
	shmstat_hist_record_n(h, 2, 0);
	shmstat_hist_record_n(h, 0, 0);
	shmstat_hist_record_n(e, 42, 0);
	hd = read_hist(name, "empty");
	shmstat_hdata_stats(hd, &st);
	assert_int_equal(st.count, 0);
	assert_int_equal(st.sum, 0);
	assert_int_equal(st.min, 0);
	assert_int_equal(st.max, 0);
	assert_int_equal(shmstat_hdata_quantiles(hd, (const double[]){ 0.5 }, 1, got), ENOENT);
	shmstat_hdata_free(hd);

	hd = read_hist(name, "zero_n");
	assert_int_equal(shmstat_close(seg), 0);
	shmstat_hdata_stats(hd, &st);
	assert_int_equal(st.count, 5);
	assert_int_equal(st.sum, 500);
	assert_int_equal(st.underflow, 0);
	assert_int_equal(shmstat_hdata_quantiles(hd, (const double[]){ 0, 1 }, 2, got), 0);
	shmstat_hdata_free(hd);
	if (st.min != 100 || st.max != 100)
		fail_msg("record_n(v, 0) changed min/max: min %llu max %llu, expected 100 and 100",
			 (unsigned long long)st.min, (unsigned long long)st.max);
	assert_int_equal(got[0], 100);
	assert_int_equal(got[1], 100);
}

/* The rank of a quantile of more than 2^53 values, ceil(q * count), is
 * exact for the double q: p50 of 2^60 tens and 2^60 + 2 twenties is the
 * twenty of rank 2^60 + 1, not the ten (count, 2^61 + 2, rounded to the
 * double 2^61); so for p75 of 3 * 2^59 + 2 tens and 2^59 + 2 twenties */
static void test_rank_huge(void **state)
{
	const char *name = ut_name("rankh");
	shmstat_seg *seg = open_seg(name, 8192);
	shmstat_hist *h = reg(seg, "half", NULL), *t = reg(seg, "three", NULL);
	const double q[] = { 0, 0.5, 0.75, 1 };
	shmstat_hdata *hd;
	uint64_t got[4];

	(void)state;
	shmstat_hist_record_n(h, 10, UINT64_C(1) << 60);
	shmstat_hist_record_n(h, 20, (UINT64_C(1) << 60) + 2);
	shmstat_hist_record_n(t, 10, (UINT64_C(3) << 59) + 2);
	shmstat_hist_record_n(t, 20, (UINT64_C(1) << 59) + 2);
	hd = read_hist(name, "half");
	assert_int_equal(shmstat_hdata_quantiles(hd, q, 4, got), 0);
	shmstat_hdata_free(hd);
	if (got[0] != 10 || got[1] != 20 || got[2] != 20 || got[3] != 20)
		fail_msg("2^60 x 10, 2^60 + 2 x 20: p0 %llu p50 %llu p75 %llu p100 %llu, want 10 20 20 20",
			 (unsigned long long)got[0], (unsigned long long)got[1],
			 (unsigned long long)got[2], (unsigned long long)got[3]);
	hd = read_hist(name, "three");
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_hdata_quantiles(hd, q, 4, got), 0);
	shmstat_hdata_free(hd);
	if (got[0] != 10 || got[1] != 10 || got[2] != 20 || got[3] != 20)
		fail_msg("3 * 2^59 + 2 x 10, 2^59 + 2 x 20: p0 %llu p50 %llu p75 %llu p100 %llu, want 10 10 20 20",
			 (unsigned long long)got[0], (unsigned long long)got[1],
			 (unsigned long long)got[2], (unsigned long long)got[3]);
}

static void test_reader_errors(void **state)
{
	const char *name = ut_name("rderr");
	shmstat_seg *seg = open_seg(name, 8192);
	struct shmstat_metric_def d_cnt = { .name = "cnt" };
	shmstat_counter *c;
	shmstat_hist *h = reg(seg, "lat_ns", NULL);
	shmstat_snap *s;
	shmstat_hdata *hd, *none;
	struct shmstat_metric_info mi;
	double q[65];
	uint64_t got[65];
	int ci;

	(void)state;
	assert_int_equal(shmstat_counter_register(seg, &d_cnt, &c), 0);
	shmstat_counter_inc(c);
	shmstat_hist_record(h, 10);
	s = ut_snap(name);
	assert_int_equal(shmstat_close(seg), 0);
	hd = hu_hist(s, hu_find_hist(s, "lat_ns", ""), SHMSTAT_PROC_ALL);
	for (int i = 0; i < 65; i++)
		q[i] = 0.5;
	assert_int_equal(shmstat_hdata_quantiles(hd, q, 64, got), 0);
	assert_int_equal(shmstat_hdata_quantiles(hd, q, 65, got), EINVAL);
	assert_int_equal(shmstat_hdata_quantiles(hd, (const double[]){ -0.001 }, 1, got), EINVAL);
	assert_int_equal(shmstat_hdata_quantiles(hd, (const double[]){ 1.001 }, 1, got), EINVAL);
	assert_int_equal(shmstat_hdata_quantiles(hd, (const double[]){ NAN }, 1, got), EINVAL);
	assert_int_equal(shmstat_hdata_quantiles(hd, (const double[]){ 0.5, 2 }, 2, got), EINVAL);

	ci = ut_find(s, "cnt", "", &mi);
	assert_true(ci >= 0);
	none = (shmstat_hdata *)&none;
	assert_int_equal(shmstat_snap_hist(s, (size_t)ci, SHMSTAT_PROC_ALL, &none), EINVAL);
	assert_null(none);
	none = (shmstat_hdata *)&none;
	assert_int_equal(shmstat_snap_hist(s, shmstat_snap_metrics(s), SHMSTAT_PROC_ALL, &none),
			 EINVAL);
	assert_null(none);
	none = (shmstat_hdata *)&none;
	assert_int_equal(shmstat_snap_hist(s, hu_find_hist(s, "lat_ns", ""),
					   shmstat_snap_procs(s), &none), EINVAL);
	assert_null(none);
	shmstat_hdata_free(hd);
	shmstat_hdata_free(NULL);
	shmstat_snap_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_layout, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_custom_layout, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_limit_layouts, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_invalid_opts, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_type_conflicts, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_record_n, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_record_n_zero, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_rank_huge, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_reader_errors, ut_setup, ut_teardown),
	};

	return cmocka_run_group_tests_name("hist_edges", tests, NULL, NULL);
}
