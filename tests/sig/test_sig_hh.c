/*
 * test_sig_hh.c - heavy hitters (issue 4, "How it must be shown"): a
 * Zipf(1.1) stream of 10M events over 1M distinct keys into a table of
 * capacity 16384, single-threaded, deterministic (splitmix64, fixed seed;
 * ranks drawn by binary search in the precomputed Zipf CDF).
 *
 * Each event is a miss with probability 1/8, otherwise a hit of weight
 * 1..1000. Exact counts are kept in arrays indexed by key id; key i is
 * "hh-<i>" (at most 10 bytes, so the 32-byte prefix is the whole key and
 * the test recovers the id of every entry from its prefix, and checks its
 * hash against it).
 *
 * Checks, on a snapshot taken at the end (and one at 1/4 of the stream):
 *  - the top 100 by hits (shmstat_sigview_top) has recall >= 0.99 against
 *    the exact top 100 (a key tied with the exact 100th counts as in it);
 *  - EVERY reported entry, not only the top, satisfies
 *        exact <= c <= exact + err
 *    for hits, misses and weight;
 *  - the table's totals equal the stream's, nothing dropped or skipped,
 *    evictions happened, at most 2 x capacity entries.
 * It prints the recall, the largest error bounds and the eviction count.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ut_common.h"
#include "sig_util.h"

#define NKEYS 1000000u
#define NEVENTS 10000000u
#define CAPACITY 16384u
#define TOP 100u
#define ZIPF_S 1.1
#define METRIC "sig_hh"

struct hh {
	double *cdf;               /* cdf[r]: P(rank <= r), ranks 0..NKEYS-1 */
	uint32_t *hits, *misses;
	uint64_t *weight;
	uint64_t tot_hits, tot_misses, tot_weight;
};

static uint32_t zipf_rank(const double *cdf, uint64_t r)
{
	double u = (double)(r >> 11) * 0x1.0p-53;
	uint32_t lo = 0, hi = NKEYS - 1;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static size_t key_of(uint32_t id, char *buf)
{
	return (size_t)sprintf(buf, "hh-%u", id);
}

static int by_hits_desc(const void *a, const void *b, void *arg)
{
	const uint32_t *h = arg;
	uint32_t x = h[*(const uint32_t *)a], y = h[*(const uint32_t *)b];

	return (x < y) - (x > y);
}

/* Check the table against the exact counts; return the recall of its top
 * 100 by hits. */
static double check(const char *name, const struct hh *x, uint64_t events)
{
	shmstat_snap *s = ut_snap(name);
	shmstat_sigview *v = su_view(s, METRIC);
	struct shmstat_sigstats st;
	size_t n, top[TOP], m, found = 0;
	uint32_t *ids, cut;
	uint64_t max_err[3] = { 0 };

	assert_non_null(v);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.hits, x->tot_hits);
	assert_int_equal(st.misses, x->tot_misses);
	assert_int_equal(st.weight, x->tot_weight);
	assert_int_equal(st.hits + st.misses, events);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.skipped, 0);
	assert_true(st.evictions > 0);
	n = shmstat_sigview_entries(v);
	assert_true(n >= CAPACITY && n <= 2 * CAPACITY);

	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;
		unsigned id;

		assert_int_equal(shmstat_sigview_entry(v, k, &e), 0);
		if (sscanf(e.prefix, "hh-%u", &id) != 1 || id >= NKEYS)
			fail_msg("entry %zu: unexpected key '%s'", k, e.prefix);
		assert_int_equal(e.hash, su_hash(e.prefix, e.keylen));
#define BOUND(f, i)                                                                    \
		if (!(x->f[id] <= e.f && e.f - x->f[id] <= e.err_##f))                 \
			fail_msg("key %u: " #f " %llu, exact %llu, error bound %llu", id,      \
				 (unsigned long long)e.f, (unsigned long long)x->f[id],        \
				 (unsigned long long)e.err_##f);                               \
		if (e.err_##f > max_err[i])                                            \
			max_err[i] = e.err_##f
		BOUND(hits, 0);
		BOUND(misses, 1);
		BOUND(weight, 2);
#undef BOUND
		assert_true(e.first_ns <= e.last_ns);
	}

	/* exact top 100 */
	ids = malloc(NKEYS * sizeof(*ids));
	assert_non_null(ids);
	for (uint32_t i = 0; i < NKEYS; i++)
		ids[i] = i;
	qsort_r(ids, NKEYS, sizeof(*ids), by_hits_desc, x->hits);
	cut = x->hits[ids[TOP - 1]];   /* the 100th exact count */
	m = shmstat_sigview_top(v, SHMSTAT_BY_HITS, NULL, TOP, top);
	assert_int_equal(m, TOP);
	for (size_t k = 0; k < m; k++) {
		struct shmstat_sigentry e;
		unsigned id;

		assert_int_equal(shmstat_sigview_entry(v, top[k], &e), 0);
		assert_int_equal(sscanf(e.prefix, "hh-%u", &id), 1);
		if (x->hits[id] >= cut)
			found++;
	}
	print_message("after %llu events: %zu entries, %llu evictions, recall %.3f, "
		      "exact 100th %u hits; largest error bounds: hits %llu, misses %llu, "
		      "weight %llu\n", (unsigned long long)events, n,
		      (unsigned long long)st.evictions, (double)found / TOP, cut,
		      (unsigned long long)max_err[0], (unsigned long long)max_err[1],
		      (unsigned long long)max_err[2]);
	free(ids);
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
	return (double)found / TOP;
}

static void test_heavy_hitters(void **state)
{
	const char *name = ut_name("sighh");
	struct shmstat_opts so;
	struct shmstat_sigtab_opts o = su_topts(CAPACITY, 32, 0, 0);
	struct shmstat_metric_def def = { .name = METRIC };
	shmstat_seg *seg = NULL;
	shmstat_sigtab *t = NULL;
	struct hh x = { 0 };
	uint64_t seed = 0x5eedf00dULL;
	double sum = 0, recall;

	(void)state;
	x.cdf = malloc(NKEYS * sizeof(*x.cdf));
	x.hits = calloc(NKEYS, sizeof(*x.hits));
	x.misses = calloc(NKEYS, sizeof(*x.misses));
	x.weight = calloc(NKEYS, sizeof(*x.weight));
	assert_non_null(x.cdf);
	assert_non_null(x.hits);
	assert_non_null(x.misses);
	assert_non_null(x.weight);
	for (uint32_t r = 0; r < NKEYS; r++) {
		sum += pow((double)r + 1, -ZIPF_S);
		x.cdf[r] = sum;
	}
	for (uint32_t r = 0; r < NKEYS; r++)
		x.cdf[r] /= sum;
	x.cdf[NKEYS - 1] = 1.0;

	ut_small_opts(&so);
	so.max_values = 1024;
	so.max_sig_entries = su_span(CAPACITY, 0);
	assert_int_equal(shmstat_open(name, &so, &seg), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &def, &o, &t), 0);

	for (uint32_t i = 0; i < NEVENTS; i++) {
		uint64_t r = su_next(&seed);
		/* rank r -> key id: a fixed permutation, so hot keys are spread */
		uint32_t id = (uint32_t)(((uint64_t)zipf_rank(x.cdf, r) * 7919u) % NKEYS);
		char key[16];
		size_t len = key_of(id, key);

		if ((r & 7) == 0) {
			shmstat_sig_miss(t, key, len, 0);
			x.misses[id]++;
			x.tot_misses++;
		} else {
			uint64_t w = 1 + (r >> 3) % 1000;

			shmstat_sig_hit(t, key, len, w, 0);
			x.hits[id]++;
			x.weight[id] += w;
			x.tot_hits++;
			x.tot_weight += w;
		}
		if (i + 1 == NEVENTS / 4) {
			shmstat_sig_flush(seg);     /* entries current */
			check(name, &x, i + 1);
		}
	}
	shmstat_sig_flush(seg);
	recall = check(name, &x, NEVENTS);
	if (recall < 0.99)
		fail_msg("top-%u recall %.3f < 0.99", TOP, recall);
	assert_int_equal(shmstat_close(seg), 0);
	free(x.cdf);
	free(x.hits);
	free(x.misses);
	free(x.weight);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_heavy_hitters, ut_setup, ut_teardown),
	};

	return cmocka_run_group_tests_name("sig_hh", tests, NULL, NULL);
}
