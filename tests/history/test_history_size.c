/*
 * test_history_size.c - 1,000 metrics over the default tiers (1 s for
 * 10 min, 10 s for 6 h, 5 min for 7 days) in the default 64 MiB: every
 * tier keeps at least its span.
 *
 * The 1,000 metrics: 979 counters (50 names x about 20 label sets, values
 * up to 2^32 and growing), 10 gauges, 10 latency histograms of the
 * default layout (log-normal values, sigma 0.5: about 300 buckets in use
 * each) and a signature table of 2,000 keys (20 kept per record).
 *
 * The bound (docs/history.md): a tier's ring is its share of the file,
 * in proportion to span / step; it keeps at least ring / L - 2 records
 * when no record is longer than L (the gap a wrap leaves at the ring's
 * end, and the record being overwritten at the write position, each
 * cost less than one record). The test measures L on the real records,
 * asserts ring / L - 2 >= span / step + 1 for every tier, then writes
 * 2,200 snapshots 5 min apart (every tier gets each of them) and checks
 * that each ring does hold span / step + 1 records.
 */
#include <math.h>

#include "ut_common.h"
#include "hy_util.h"

#define N_COUNTERS 979
#define N_GAUGES 10
#define N_HISTS 10
#define N_KEYS 2000
#define STEPS 2200

static char dir[256];

static int setup(void **state)
{
	hy_dir_make(dir, sizeof(dir));
	return ut_setup(state);
}

static int teardown(void **state)
{
	hy_dir_remove(dir);
	return ut_teardown(state);
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(2685821657736338717);
}

static double unif(uint64_t *s)
{
	return ((double)(rnd(s) >> 11) + 0.5) / 9007199254740992.0;
}

/* log-normal around 1 ms, sigma 0.5 (in ns) */
static uint64_t latency(uint64_t *s)
{
	double z = sqrt(-2 * log(unif(s))) * cos(6.283185307179586 * unif(s));

	return (uint64_t)(1e6 * exp(0.5 * z));
}

static void test_size(void **state)
{
	static const char *const routes[] = { "route", NULL, "code", NULL, NULL };
	const char *name = ut_name("hist-size");
	shmstat_counter **c = calloc(N_COUNTERS, sizeof(*c));
	shmstat_gauge *g[N_GAUGES];
	shmstat_hist *hs[N_HISTS];
	shmstat_sigtab *t;
	struct shmstat_opts so;
	struct shmstat_sigtab_opts to;
	struct shmstat_history_opts ho;
	struct shmstat__hf_tier_stat ts[3];
	struct shmstat_hf_hdr hd;
	shmstat_history *h;
	shmstat_reader *r;
	shmstat_seg *seg;
	uint64_t seed = 2024, total_len = 0, ring_sum = 0;
	uint32_t max_len = 0, min_len = UINT32_MAX;
	char path[512];

	(void)state;
	assert_non_null(c);
	shmstat_opts_init(&so);
	so.max_procs = 2;
	so.max_threads = 2;
	so.max_metrics = 1024;
	so.max_values = 32768;
	assert_int_equal(shmstat_open(name, &so, &seg), 0);
	for (unsigned i = 0; i < N_COUNTERS; i++) {
		char nm[64], route[32], code[8];
		const char *lab[5] = { routes[0], route, routes[2], code, NULL };
		struct shmstat_metric_def d = { .name = nm, .labels = lab, .help = "requests served" };

		snprintf(nm, sizeof(nm), "service_%s_total",
			 (const char *[]){ "requests", "errors", "bytes", "retries", "timeouts" }[i % 5]);
		snprintf(nm + strlen(nm) - 6, 16, "_%02u_total", i / 100);
		snprintf(route, sizeof(route), "/api/v1/resource%u", i % 20);
		snprintf(code, sizeof(code), "%u", 200 + (i / 20) % 5);
		assert_int_equal(shmstat_counter_register(seg, &d, &c[i]), 0);
		shmstat_counter_add(c[i], rnd(&seed) >> 32);
	}
	for (unsigned i = 0; i < N_GAUGES; i++) {
		char nm[32];
		struct shmstat_metric_def d = { .name = nm };

		snprintf(nm, sizeof(nm), "service_inflight_%u", i);
		assert_int_equal(shmstat_gauge_register(seg, &d, SHMSTAT_AGG_SUM, &g[i]), 0);
	}
	for (unsigned i = 0; i < N_HISTS; i++) {
		char nm[32];
		struct shmstat_metric_def d = { .name = nm, .unit = "ns" };

		snprintf(nm, sizeof(nm), "service_latency_%u_ns", i);
		assert_int_equal(shmstat_hist_register(seg, &d, NULL, &hs[i]), 0);
	}
	shmstat_sigtab_opts_init(&to);
	{
		struct shmstat_metric_def d = { .name = "service_cache_keys" };

		assert_int_equal(shmstat_sigtab_register(seg, &d, &to, &t), 0);
	}
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	{
		struct shmstat_seg_info si;
		shmstat_snap *sn;

		assert_int_equal(shmstat_snapshot(r, &sn), 0);
		shmstat_snap_info(sn, &si);
		assert_int_equal(shmstat_snap_metrics(sn), 1000);
		shmstat_snap_free(sn);
	}

	/* the defaults */
	snprintf(path, sizeof(path), "%s/size.shmhist", dir);
	shmstat_history_opts_init(&ho);
	assert_int_equal(shmstat_history_create(path, &ho, &h), 0);
	assert_int_equal(hy_file_size(path), 64 << 20);
	hy_read_hdr(path, &hd);
	assert_int_equal(hd.dict_len, 4 << 20);
	for (unsigned k = 0; k < 3; k++)
		ring_sum += hd.tier[k].ring_len;
	assert_int_equal(ring_sum, (64 << 20) - 4096 - (4 << 20));

	for (unsigned i = 0; i < STEPS; i++) {
		shmstat_snap *sn;
		unsigned w;

		for (unsigned k = 0; k < N_COUNTERS; k++)
			shmstat_counter_add(c[k], rnd(&seed) % 5000);
		for (unsigned k = 0; k < N_GAUGES; k++)
			shmstat_gauge_set(g[k], (int64_t)(rnd(&seed) % 1000));
		for (unsigned k = 0; k < N_HISTS; k++)
			for (unsigned j = 0; j < 200; j++)
				shmstat_hist_record(hs[k], latency(&seed));
		for (unsigned j = 0; j < 300; j++) {
			char key[48];
			/* Zipf-like: key ~ N_KEYS * u^3 */
			double u = unif(&seed);
			unsigned kk = (unsigned)(N_KEYS * u * u * u);
			int len = snprintf(key, sizeof(key), "tenant-%04u:object-%06u", kk % 7, kk);

			shmstat_sig_hit(t, key, (size_t)len, 100, 0);
		}
		assert_int_equal(shmstat_snapshot(r, &sn), 0);
		assert_int_equal(shmstat_history_append(h, sn, HY_T0 + (uint64_t)i * 300 * HY_S, &w), 0);
		assert_int_equal(w, 3);
		shmstat_snap_free(sn);
		assert_int_equal(shmstat__history_tier_stat(h, 0, &ts[0]), 0);
		if (ts[0].newest_len > max_len)
			max_len = ts[0].newest_len;
		if (ts[0].newest_len < min_len)
			min_len = ts[0].newest_len;
		total_len += ts[0].newest_len;
	}
	print_message("history size: 1,000 metrics, records of %u .. %u bytes (mean %.0f), "
		      "dictionary %llu bytes in %zu entries\n",
		      min_len, max_len, (double)total_len / STEPS,
		      (unsigned long long)ts[0].dict_used, ts[0].dict_entries);
	for (unsigned k = 0; k < 3; k++) {
		uint64_t need = ho.tier[k].span_ns / ho.tier[k].step_ns + 1;
		uint64_t bound = hd.tier[k].ring_len / max_len - 2;

		assert_int_equal(shmstat__history_tier_stat(h, k, &ts[k]), 0);
		print_message("history size: tier %u (%llu s for %llu s): ring %llu bytes, "
			      "needs %llu records, holds at least %llu (bound), holds %zu\n",
			      k, (unsigned long long)(ho.tier[k].step_ns / HY_S),
			      (unsigned long long)(ho.tier[k].span_ns / HY_S),
			      (unsigned long long)hd.tier[k].ring_len, (unsigned long long)need,
			      (unsigned long long)bound, ts[k].records);
		/* the bound, from the longest record */
		assert_true(bound >= need);
		/* and the rings as they are */
		assert_true(ts[k].records >= need);
		assert_true((ts[k].newest_ns - ts[k].oldest_ns) >= ho.tier[k].span_ns);
		assert_true(ts[k].records >= (bound < STEPS ? bound : STEPS));
	}
	shmstat_history_close(h);
	shmstat_reader_close(r);
	shmstat_close(seg);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_size, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
