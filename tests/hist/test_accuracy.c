/*
 * test_accuracy.c - quantiles of 1,000,000 samples from each of six
 * distributions (uniform, lognormal, bimodal, constant, exponential,
 * Pareto; a fixed-seed generator, values in ns within 1 .. 3.6e12)
 * recorded with shmstat_hist_record() into a default-layout histogram and
 * read back from a reader snapshot.
 *
 * For q in {0, .5, .9, .95, .99, .999, .9999, 1} and a grid of 99 more
 * (0.01 .. 0.99), the reported value must be within 2^-bits of the exact
 * quantile of the sorted samples, with the same rank definition as the
 * library (rank = ceil(q * n), at least 1; value = sorted[rank - 1]).
 * Count, sum, min and max must be exact, under/overflow 0, and every
 * bucket must hold exactly the samples that fall in it (recomputed here
 * with the bucket function of histogram.h).
 *
 * The same is repeated with other precisions: lognormal with bits = 10
 * (bound 2^-10), 4 (1/16) and 1 (1/2), Pareto with 16 (2^-16).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ut_common.h"
#include "hist_util.h"
#include "histogram.h"

#define NSAMPLES 1000000u

typedef uint64_t (*gen_fn)(uint64_t *s);

static uint64_t gen_uniform(uint64_t *s)
{
	return hu_range(s, 1, 10000000);
}

static uint64_t gen_lognormal(uint64_t *s)
{
	return hu_clamp(exp(log(200000.0) + 1.5 * hu_normal(s)), 1, HU_HIGHEST_DEFAULT);
}

/* 70%: around 50 us; 30%: around 20 ms */
static uint64_t gen_bimodal(uint64_t *s)
{
	if (hu_next(s) % 10 < 7)
		return hu_clamp(exp(log(50000.0) + 0.3 * hu_normal(s)), 1, HU_HIGHEST_DEFAULT);
	return hu_clamp(exp(log(20000000.0) + 0.5 * hu_normal(s)), 1, HU_HIGHEST_DEFAULT);
}

static uint64_t gen_constant(uint64_t *s)
{
	(void)s;
	return 123456789;
}

/* mean 1 ms */
static uint64_t gen_exponential(uint64_t *s)
{
	return hu_clamp(-log(hu_unit(s)) * 1e6, 1, HU_HIGHEST_DEFAULT);
}

/* x_m = 1 us, alpha = 1.1: a heavy tail up to the hour */
static uint64_t gen_pareto(uint64_t *s)
{
	return hu_clamp(1000.0 / pow(hu_unit(s), 1.0 / 1.1), 1, HU_HIGHEST_DEFAULT);
}

static const double main_q[] = { 0, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1 };

/* Check the quantiles @q[0..n-1] (n <= 64) of @h against @sorted. */
static void check_quantiles(const char *dist, const shmstat_hdata *h, const uint64_t *sorted,
			    uint64_t n, unsigned bits, const double *q, size_t nq)
{
	uint64_t got[64];

	assert_true(nq <= 64);
	assert_int_equal(shmstat_hdata_quantiles(h, q, nq, got), 0);
	for (size_t i = 0; i < nq; i++) {
		uint64_t want = hu_exact_quantile(sorted, n, q[i]);

		if (!hu_within(got[i], want, bits))
			fail_msg("%s, %u bits: quantile %g is %llu, exact %llu: relative error "
				 "%.6g > 2^-%u", dist, bits, q[i], (unsigned long long)got[i],
				 (unsigned long long)want,
				 (double)(got[i] > want ? got[i] - want : want - got[i]) /
				 (double)want, bits);
	}
}

static void run(const char *dist, gen_fn gen, uint64_t seed, unsigned bits)
{
	const char *name = ut_name("acc");
	struct shmstat_hist_opts ho;
	struct shmstat_opts o;
	struct shmstat_metric_def def = { .name = "acc_ns", .unit = "nanoseconds" };
	struct shmstat_hstats st;
	uint64_t *v, *exact, sum = 0, min = UINT64_MAX, max = 0, s = seed;
	uint32_t nb;
	shmstat_seg *seg;
	shmstat_hist *h;
	shmstat_snap *snap;
	shmstat_hdata *hd;
	double grid[99];

	shmstat_hist_opts_init(&ho);
	assert_int_equal(ho.lowest, 1);
	assert_int_equal(ho.highest, HU_HIGHEST_DEFAULT);
	assert_int_equal(ho.bits, 7);
	ho.bits = bits;
	nb = shmstat__nbuckets(bits, ho.highest);

	ut_small_opts(&o);
	o.max_procs = 1;
	o.max_threads = 1;
	o.max_values = nb + SHMSTAT_H_FIRST + 16;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_hist_register(seg, &def, bits == 7 ? NULL : &ho, &h), 0);

	v = malloc(NSAMPLES * sizeof(*v));
	exact = calloc(nb, sizeof(*exact));
	assert_non_null(v);
	assert_non_null(exact);
	for (uint32_t i = 0; i < NSAMPLES; i++) {
		v[i] = gen(&s);
		assert_true(v[i] >= 1 && v[i] <= HU_HIGHEST_DEFAULT);
		shmstat_hist_record(h, v[i]);
		sum += v[i];
		if (v[i] < min)
			min = v[i];
		if (v[i] > max)
			max = v[i];
		exact[shmstat__bucket_of(v[i], bits)]++;
	}
	snap = ut_snap(name);
	assert_int_equal(shmstat_close(seg), 0);
	hd = hu_hist(snap, hu_find_hist(snap, "acc_ns", ""), SHMSTAT_PROC_ALL);

	shmstat_hdata_stats(hd, &st);
	assert_int_equal(st.bits, bits);
	assert_int_equal(st.lowest, 1);
	assert_int_equal(st.highest, HU_HIGHEST_DEFAULT);
	assert_int_equal(st.count, NSAMPLES);
	assert_int_equal(st.sum, sum);
	assert_int_equal(st.min, min);
	assert_int_equal(st.max, max);
	assert_int_equal(st.underflow, 0);
	assert_int_equal(st.overflow, 0);
	assert_true(st.mean == (double)sum / (double)NSAMPLES);

	assert_int_equal(shmstat_hdata_buckets(hd), nb);
	for (uint32_t k = 0; k < nb; k++) {
		uint64_t lo, hi, c;

		assert_int_equal(shmstat_hdata_bucket(hd, k, &lo, &hi, &c), 0);
		if (c != exact[k])
			fail_msg("%s: bucket %u [%llu, %llu] holds %llu, %llu samples fall in it",
				 dist, k, (unsigned long long)lo, (unsigned long long)hi,
				 (unsigned long long)c, (unsigned long long)exact[k]);
	}

	qsort(v, NSAMPLES, sizeof(*v), hu_cmp_u64);
	check_quantiles(dist, hd, v, NSAMPLES, bits, main_q, sizeof(main_q) / sizeof(main_q[0]));
	for (int i = 0; i < 99; i++)
		grid[i] = (i + 1) / 100.0;
	check_quantiles(dist, hd, v, NSAMPLES, bits, grid, 50);
	check_quantiles(dist, hd, v, NSAMPLES, bits, grid + 50, 49);
	/* the extremes are exact: min and max are known */
	{
		uint64_t ext[2];

		assert_int_equal(shmstat_hdata_quantiles(hd, (const double[]){ 1, 0 }, 2, ext), 0);
		assert_int_equal(ext[0], max);
		assert_int_equal(ext[1], min);
	}

	shmstat_hdata_free(hd);
	shmstat_snap_free(snap);
	free(exact);
	free(v);
}

static void test_uniform(void **state)
{
	(void)state;
	run("uniform", gen_uniform, 1, 7);
}

static void test_lognormal(void **state)
{
	(void)state;
	run("lognormal", gen_lognormal, 2, 7);
}

static void test_bimodal(void **state)
{
	(void)state;
	run("bimodal", gen_bimodal, 3, 7);
}

static void test_constant(void **state)
{
	(void)state;
	run("constant", gen_constant, 4, 7);
}

static void test_exponential(void **state)
{
	(void)state;
	run("exponential", gen_exponential, 5, 7);
}

static void test_pareto(void **state)
{
	(void)state;
	run("pareto", gen_pareto, 6, 7);
}

static void test_lognormal_bits10(void **state)
{
	(void)state;
	run("lognormal", gen_lognormal, 7, 10);
}

static void test_lognormal_bits4(void **state)
{
	(void)state;
	run("lognormal", gen_lognormal, 8, 4);
}

static void test_lognormal_bits1(void **state)
{
	(void)state;
	run("lognormal", gen_lognormal, 9, 1);
}

static void test_pareto_bits16(void **state)
{
	(void)state;
	run("pareto", gen_pareto, 10, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uniform, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_lognormal, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_bimodal, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_constant, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_exponential, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_pareto, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_lognormal_bits10, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_lognormal_bits4, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_lognormal_bits1, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_pareto_bits16, ut_setup, ut_teardown),
	};

	return cmocka_run_group_tests_name("hist_accuracy", tests, NULL, NULL);
}
