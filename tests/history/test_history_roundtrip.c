/*
 * test_history_roundtrip.c - snapshots in, frames out, with a synthetic
 * clock: every value of every kind of metric read back as the snapshot
 * held it; quantiles of what a histogram recorded between two frames;
 * top keys; which tiers get a record and which tier a range reads from;
 * wraparound keeping exactly the newest records in a file that never
 * grows; a segment re-created under the recorder.
 */
#include <math.h>

#include "ut_common.h"
#include "hy_util.h"


/* The exact value of rank ceil(q * n) of the sorted @v[0..n-1]. */
static uint64_t exact_quantile(uint64_t *v, size_t n, double q)
{
	double r = q * (double)n;
	size_t rank = r <= 1 ? 1 : (size_t)ceil(r);

	return v[(rank > n ? n : rank) - 1];
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* ------------------------------------------------------------ round trip */

static void test_roundtrip(void **state)
{
	struct shmstat_history_opts o = hy_opts(1 << 20, 20, UINT64_C(1), UINT64_C(1000), UINT64_C(0));
	struct hy_exp *exp = calloc(40, sizeof(*exp));
	const char *name = ut_name("hist-rt");
	shmstat_history *h;
	shmstat_frame **f;
	struct hy_seg s;
	char path[512];
	size_t n;

	(void)state;
	assert_non_null(exp);
	hy_path(path, sizeof(path), "rt.shmhist");
	hy_seg_open(&s, name);
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	assert_int_equal(shmstat_history_set_segment(h, name), 0);
	for (unsigned i = 0; i < 40; i++) {
		shmstat_snap *sn;
		unsigned w = 99;

		hy_seg_step(&s, i);
		sn = hy_snap(&s);
		hy_expect(&exp[i], sn, HY_T0 + i * HY_S, 20);
		assert_int_equal(shmstat_history_append(h, sn, HY_T0 + i * HY_S, &w), 0);
		assert_int_equal(w, 1);
		shmstat_snap_free(sn);
	}
	/* a reader of its own */
	{
		shmstat_history *r;

		assert_int_equal(shmstat_history_open(path, &r), 0);
		assert_int_equal(shmstat_history_range(r, 0, UINT64_MAX, &f, &n), 0);
		shmstat_history_close(r);   /* frames outlive their handle */
	}
	assert_int_equal(n, 40);
	for (unsigned i = 0; i < 40; i++) {
		struct shmstat_frame_info fi;

		hy_check_frame(f[i], &exp[i], name);
		shmstat_frame_info(f[i], &fi);
		assert_int_equal(fi.step_ns, HY_S);
	}
	/* the values themselves, not only "as the snapshot said" */
	{
		struct shmstat_series sr;
		long j;

		j = shmstat_frame_find(f[39], "req_total", "");
		assert_int_equal(shmstat_frame_series(f[39], (size_t)j, &sr), 0);
		assert_int_equal(sr.counter, 820);             /* sum of i + 1 */
		assert_string_equal(sr.help, "requests");
		j = shmstat_frame_find(f[39], "req_total", "code=\"200\"");
		assert_true(j >= 0);
		assert_int_equal(shmstat_frame_series(f[39], (size_t)j, &sr), 0);
		assert_int_equal(sr.counter, 1560);            /* sum of 2i */
		j = shmstat_frame_find(f[39], "bytes_total", NULL);
		assert_int_equal(shmstat_frame_series(f[39], (size_t)j, &sr), 0);
		assert_int_equal(sr.counter, 780280);
		assert_string_equal(sr.unit, "bytes");
		j = shmstat_frame_find(f[39], "conns", "");
		assert_int_equal(shmstat_frame_series(f[39], (size_t)j, &sr), 0);
		assert_int_equal(sr.gauge, 1);
		assert_int_equal(sr.agg, SHMSTAT_AGG_SUM);
		j = shmstat_frame_find(f[39], "peak", "");
		assert_int_equal(shmstat_frame_series(f[39], (size_t)j, &sr), 0);
		assert_int_equal(sr.has_value, 1);
		assert_int_equal(sr.gauge, 117);
		assert_int_equal(sr.agg, SHMSTAT_AGG_MAX);
		j = shmstat_frame_find(f[39], "lat_ns", "");
		assert_int_equal(shmstat_frame_series(f[39], (size_t)j, &sr), 0);
		assert_int_equal(sr.counter, 4000 + 8 + 6);    /* + under, + over */
		assert_int_equal(shmstat_frame_find(f[39], "nope", ""), -1);
		assert_int_equal(shmstat_frame_find(f[39], "req_total", "code=\"404\""), -1);
	}
	/* quantiles of what was recorded between frames 10 and 30 */
	{
		long j = shmstat_frame_find(f[30], "lat_ns", "");
		shmstat_hdata *a, *b, *d, *ed;
		struct shmstat_hstats st;
		static const double q[] = { 0.5, 0.9, 0.99, 0.01 };
		uint64_t got[4], want[4], *vals = calloc(20 * 102, sizeof(*vals));
		size_t nv = 0;

		assert_non_null(vals);
		assert_int_equal(shmstat_frame_hist(f[30], (size_t)j, &a), 0);
		assert_int_equal(shmstat_frame_hist(f[10], (size_t)j, &b), 0);
		assert_int_equal(shmstat_hdata_sub(a, b, &d), 0);
		assert_int_equal(shmstat_hdata_sub(exp[30].m[j].hd, exp[10].m[j].hd, &ed), 0);
		hy_check_hdata(d, ed);
		assert_int_equal(shmstat_hdata_quantiles(d, q, 4, got), 0);
		assert_int_equal(shmstat_hdata_quantiles(ed, q, 4, want), 0);
		assert_memory_equal(got, want, sizeof(got));
		for (unsigned i = 11; i <= 30; i++) {
			for (unsigned k = 0; k < 100; k++)
				vals[nv++] = hy_lat(&s, i, k);
			if (i % 5 == 0)
				vals[nv++] = 0;
			if (i % 7 == 0)
				vals[nv++] = UINT64_C(4000000000000);
		}
		shmstat_hdata_stats(d, &st);
		assert_int_equal(st.count, nv);
		assert_int_equal(st.underflow, 4);
		assert_int_equal(st.overflow, 3);
		qsort(vals, nv, sizeof(*vals), cmp_u64);
		for (int k = 0; k < 3; k++) {
			uint64_t x = exact_quantile(vals, nv, q[k]);
			uint64_t dev = got[k] > x ? got[k] - x : x - got[k];

			assert_true(dev * 128 <= x);           /* within 2^-7 */
		}
		shmstat_hdata_free(a);
		shmstat_hdata_free(b);
		shmstat_hdata_free(d);
		shmstat_hdata_free(ed);
		free(vals);
	}
	/* top keys: hot-key first, with its exact count */
	{
		long j = shmstat_frame_find(f[39], "keys", "");
		struct shmstat_series sr;
		struct shmstat_sigkey k0, k1;

		assert_int_equal(shmstat_frame_series(f[39], (size_t)j, &sr), 0);
		assert_int_equal(sr.type, SHMSTAT_SIGTABLE);
		assert_true(sr.top >= 4);
		assert_int_equal(shmstat_frame_sigkey(f[39], (size_t)j, 0, &k0), 0);
		assert_string_equal(k0.key, "hot-key");
		assert_int_equal(k0.full_len, 7);
		assert_int_equal(k0.err_hits, 0);
		assert_int_equal(k0.hits, 980);                 /* sum of i + 5 */
		assert_int_equal(k0.weight, 9800);
		assert_string_equal(k0.owner, "alice");
		assert_int_equal(shmstat_frame_sigkey(f[39], (size_t)j, 1, &k1), 0);
		assert_memory_equal(k1.key, "warm-key-", 9);
		assert_string_equal(k1.owner, "bob");
		assert_int_equal(sr.sig_misses, 40);
		assert_int_equal(sr.sig_hits, 980 + 80);
	}
	shmstat_frames_free(f, n);
	/* sub-ranges */
	assert_int_equal(shmstat_history_range(h, HY_T0 + 5 * HY_S, HY_T0 + 9 * HY_S, &f, &n), 0);
	assert_int_equal(n, 5);
	for (unsigned i = 0; i < 5; i++)
		hy_check_frame(f[i], &exp[5 + i], name);
	shmstat_frames_free(f, n);
	assert_int_equal(shmstat_history_range(h, HY_T0 + 100 * HY_S, UINT64_MAX, &f, &n), 0);
	assert_int_equal(n, 0);
	shmstat_frames_free(f, n);
	assert_int_equal(shmstat_history_range(h, HY_T0 + 9 * HY_S, HY_T0 + 5 * HY_S, &f, &n), 0);
	assert_int_equal(n, 0);
	shmstat_frames_free(f, n);
	shmstat_history_close(h);
	for (unsigned i = 0; i < 40; i++)
		hy_expect_free(&exp[i]);
	free(exp);
	hy_seg_close(&s);
}

/* shmstat_history_window_range(@h, @from, UINT64_MAX) against the times
 * @t[0..n-1] the whole range has: from the last at or before @from (the
 * first after it when there is none) to the end. */
static void expect_window_range(shmstat_history *h, const uint64_t *t, size_t n, uint64_t from)
{
	size_t first = 0, got;
	shmstat_frame **f;

	while (first + 1 < n && t[first + 1] <= from)
		first++;
	assert_int_equal(shmstat_history_window_range(h, from, UINT64_MAX, &f, &got), 0);
	assert_int_equal(got, n - first);
	for (size_t i = 0; i < got; i++) {
		struct shmstat_frame_info fi;

		shmstat_frame_info(f[i], &fi);
		assert_int_equal(fi.time_ns, t[first + i]);
	}
	shmstat_frames_free(f, got);
}

/* ----------------------------------------------------------------- tiers */

#define TIER_N 1000

static void test_tiers(void **state)
{
	/* 1 s for 20 s, 10 s for 100 s, 60 s for 1 h, in 128 KiB: within
	 * 1000 s the 1 s and the 10 s rings wrap, the 60 s one does not */
	struct shmstat_history_opts o = hy_opts(128 << 10, 5, UINT64_C(1), UINT64_C(20),
						UINT64_C(10), UINT64_C(100), UINT64_C(60),
						UINT64_C(3600), UINT64_C(0));
	const uint64_t step[3] = { HY_S, 10 * HY_S, 60 * HY_S };
	/* what each snapshot held, for the ones a range may return: every
	 * 10 s (tiers 1 and 2: HY_T0 is a multiple of 10 s) and the last 200 */
	struct hy_exp **exp = calloc(TIER_N, sizeof(*exp));
	uint64_t *times[3], *want_t = calloc(TIER_N * 3, 8), *want_s = calloc(TIER_N * 3, 8);
	size_t nt[3] = { 0, 0, 0 }, nw = 0, n;
	struct shmstat__hf_tier_stat ts[3];
	struct shmstat_tier tiers[8];
	const char *name = ut_name("hist-tiers");
	uint64_t limit = UINT64_MAX;
	shmstat_history *h;
	shmstat_frame **f;
	struct hy_seg s;
	char path[512];

	(void)state;
	assert_non_null(exp);
	for (int k = 0; k < 3; k++) {
		times[k] = calloc(TIER_N, 8);
		assert_non_null(times[k]);
	}
	hy_path(path, sizeof(path), "tiers.shmhist");
	hy_seg_open(&s, name);
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	assert_int_equal(shmstat_history_tiers(h, tiers, 8), 3);
	assert_int_equal(tiers[1].step_ns, 10 * HY_S);
	assert_int_equal(tiers[2].span_ns, 3600 * HY_S);
	for (unsigned i = 0; i < TIER_N; i++) {
		uint64_t t = HY_T0 + i * HY_S;
		unsigned w, want = 0;
		shmstat_snap *sn;

		hy_seg_step(&s, i);
		sn = hy_snap(&s);
		if (i % 10 == 0 || i >= TIER_N - 200) {
			exp[i] = calloc(1, sizeof(**exp));
			assert_non_null(exp[i]);
			hy_expect(exp[i], sn, t, 5);
		}
		for (int k = 0; k < 3; k++)
			if (i == 0 || t / step[k] != (t - HY_S) / step[k]) {
				times[k][nt[k]++] = t;
				want++;
			}
		assert_int_equal(shmstat_history_append(h, sn, t, &w), 0);
		assert_int_equal(w, want);
		/* the same instant again: nothing is due */
		assert_int_equal(shmstat_history_append(h, sn, t, &w), 0);
		assert_int_equal(w, 0);
		shmstat_snap_free(sn);
	}
	assert_int_equal(nt[0], TIER_N);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(shmstat__history_tier_stat(h, (unsigned)k, &ts[k]), 0);
		/* the newest records of the tier, consecutive */
		assert_true(ts[k].records >= 1 && ts[k].records <= nt[k]);
		assert_int_equal(ts[k].newest_ns, times[k][nt[k] - 1]);
		assert_int_equal(ts[k].oldest_ns, times[k][nt[k] - ts[k].records]);
		/* each ring holds its span at least */
		assert_true(ts[k].records >= nt[k] ||
			    (ts[k].records - 1) * step[k] >= o.tier[k].span_ns);
	}
	assert_true(ts[0].records < TIER_N);           /* tiers 0 and 1 wrapped */
	assert_true(ts[1].records < nt[1]);
	assert_true(ts[0].records < 200);
	assert_int_equal(ts[2].records, nt[2]);        /* tier 2 did not */
	/* expected: the finest tier covering each instant */
	for (int k = 0; k < 3; k++) {
		size_t first = nt[k] - ts[k].records, m = nw;

		for (size_t i = first; i < nt[k]; i++)
			if (times[k][i] < limit)
				nw++;
		/* coarser tiers come first in time: make room in front */
		memmove(want_t + (nw - m), want_t, m * 8);
		memmove(want_s + (nw - m), want_s, m * 8);
		for (size_t i = first, j = 0; i < nt[k]; i++)
			if (times[k][i] < limit) {
				want_t[j] = times[k][i];
				want_s[j++] = step[k];
			}
		if (ts[k].records && ts[k].oldest_ns < limit)
			limit = ts[k].oldest_ns;
	}
	assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &n), 0);
	assert_int_equal(n, nw);
	for (size_t i = 0; i < n; i++) {
		struct shmstat_frame_info fi;

		shmstat_frame_info(f[i], &fi);
		assert_int_equal(fi.time_ns, want_t[i]);
		assert_int_equal(fi.step_ns, want_s[i]);
		assert_non_null(exp[(fi.time_ns - HY_T0) / HY_S]);
		hy_check_frame(f[i], exp[(fi.time_ns - HY_T0) / HY_S], "");
	}
	shmstat_frames_free(f, n);
	/* inside tier 0's span: tier 0 only, every second */
	assert_int_equal(shmstat_history_range(h, ts[0].oldest_ns, UINT64_MAX, &f, &n), 0);
	assert_int_equal(n, ts[0].records);
	for (size_t i = 0; i < n; i++) {
		struct shmstat_frame_info fi;

		shmstat_frame_info(f[i], &fi);
		assert_int_equal(fi.step_ns, HY_S);
		assert_int_equal(fi.time_ns, ts[0].oldest_ns + i * HY_S);
	}
	shmstat_frames_free(f, n);
	/* before it: the 10 s tier, and the 60 s tier before the 10 s one */
	assert_int_equal(shmstat_history_range(h, HY_T0, ts[0].oldest_ns - 1, &f, &n), 0);
	assert_true(n > 0);
	assert_true(n < nw);
	for (size_t i = 0; i < n; i++) {
		struct shmstat_frame_info fi;

		shmstat_frame_info(f[i], &fi);
		assert_int_equal(fi.time_ns, want_t[i]);
		assert_true(fi.step_ns == 10 * HY_S || fi.step_ns == 60 * HY_S);
		if (fi.time_ns < ts[1].oldest_ns)
			assert_int_equal(fi.step_ns, 60 * HY_S);
		else
			assert_int_equal(fi.step_ns, 10 * HY_S);
	}
	shmstat_frames_free(f, n);
	/* only the 60 s tier that far back */
	assert_int_equal(shmstat_history_range(h, HY_T0, ts[1].oldest_ns - 1, &f, &n), 0);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		struct shmstat_frame_info fi;

		shmstat_frame_info(f[i], &fi);
		assert_int_equal(fi.step_ns, 60 * HY_S);
		assert_int_equal(fi.time_ns, times[2][i]);
	}
	shmstat_frames_free(f, n);
	/* a window's frames: from the last record at or before its start,
	 * whichever tier that is in, at every record's instant and between */
	for (size_t i = 0; i < nw; i++)
		for (int d = -1; d <= 1; d++)
			expect_window_range(h, want_t, nw, want_t[i] + (uint64_t)d);
	expect_window_range(h, want_t, nw, HY_T0 - 1);
	expect_window_range(h, want_t, nw, UINT64_MAX - 1);
	shmstat_history_close(h);
	for (unsigned i = 0; i < TIER_N; i++) {
		if (exp[i])
			hy_expect_free(exp[i]);
		free(exp[i]);
	}
	free(exp);
	for (int k = 0; k < 3; k++)
		free(times[k]);
	free(want_t);
	free(want_s);
	hy_seg_close(&s);
}

/* ------------------------------------------------------------ wraparound */

#define WRAP_N 600
#define WRAP_KEEP 256

struct simrec {
	uint64_t start, end;
	size_t idx;
};

/* Where the writer puts record @idx of @len bytes in a ring of @ring
 * bytes; the records it overwrites leave @live. */
static void sim_write(struct simrec *live, size_t *nlive, uint64_t *pos, uint64_t ring,
		      size_t idx, uint64_t len)
{
	size_t j = 0;

	if (*pos + len > ring)
		*pos = 0;
	for (size_t i = 0; i < *nlive; i++)
		if (!(live[i].start < *pos + len && *pos < live[i].end))
			live[j++] = live[i];
	live[j++] = (struct simrec){ *pos, *pos + len, idx };
	*nlive = j;
	*pos += len;
}

/* The records a reader keeps: the run of indices down from the newest. */
static size_t sim_kept(const struct simrec *live, size_t nlive, size_t newest)
{
	size_t k = 0;

	while (k <= newest) {
		int found = 0;

		for (size_t i = 0; i < nlive; i++)
			if (live[i].idx == newest - k)
				found = 1;
		if (!found)
			break;
		k++;
	}
	return k;
}

static void wrap_run(const char *file, int counters_only)
{
	struct shmstat_history_opts o = hy_opts(16 << 10, 20, UINT64_C(1), UINT64_C(10),
						UINT64_C(0));
	struct hy_exp *exp = calloc(WRAP_KEEP, sizeof(*exp));
	struct simrec *live = calloc(WRAP_N, sizeof(*live));
	const char *name = ut_name("hist-wrap");
	uint64_t pos = 0, ring = 0, size0;
	struct shmstat__hf_tier_stat ts;
	shmstat_counter *c[3];
	size_t nlive = 0, kept = 0, n;
	uint32_t len0 = 0;
	shmstat_history *h;
	shmstat_frame **f;
	struct hy_seg s;
	char path[512];

	assert_non_null(exp);
	assert_non_null(live);
	hy_path(path, sizeof(path), file);
	if (counters_only) {
		/* three counters whose values stay 3-byte varints: records
		 * of one size */
		memset(&s, 0, sizeof(s));
		s.name = name;
		assert_int_equal(shmstat_open(name, NULL, &s.seg), 0);
		for (int k = 0; k < 3; k++) {
			char nm[32];
			struct shmstat_metric_def d = { .name = nm };

			snprintf(nm, sizeof(nm), "c%d_total", k);
			assert_int_equal(shmstat_counter_register(s.seg, &d, &c[k]), 0);
			shmstat_counter_add(c[k], UINT64_C(1) << 15);
		}
		assert_int_equal(shmstat_reader_open(name, &s.r), 0);
	} else {
		hy_seg_open(&s, name);
		s.hist_spread = 1;         /* records grow */
	}
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	size0 = hy_file_size(path);
	assert_int_equal(size0, 16 << 10);
	for (size_t i = 0; i < WRAP_N; i++) {
		uint64_t t = HY_T0 + i * HY_S;
		shmstat_snap *sn;

		if (counters_only)
			for (int k = 0; k < 3; k++)
				shmstat_counter_add(c[k], (uint64_t)k + 1);
		else
			hy_seg_step(&s, (unsigned)i);
		sn = hy_snap(&s);
		hy_expect_free(&exp[i % WRAP_KEEP]);
		hy_expect(&exp[i % WRAP_KEEP], sn, t, 20);
		assert_int_equal(shmstat_history_append(h, sn, t, NULL), 0);
		shmstat_snap_free(sn);
		assert_int_equal(shmstat__history_tier_stat(h, 0, &ts), 0);
		ring = ts.ring_len;
		if (i == 0)
			len0 = ts.newest_len;
		if (counters_only)
			assert_int_equal(ts.newest_len, len0);
		sim_write(live, &nlive, &pos, ring, i, ts.newest_len);
		kept = sim_kept(live, nlive, i);
		assert_true(kept < WRAP_KEEP);
		/* exactly the newest records */
		assert_int_equal(ts.records, kept);
		assert_int_equal(ts.newest_ns, t);
		assert_int_equal(ts.oldest_ns, t - (kept - 1) * HY_S);
		if (counters_only && i + 1 >= ring / len0)
			assert_int_equal(kept, ring / len0);
		/* the file never grows */
		assert_int_equal(hy_file_size(path), size0);
	}
	assert_true(WRAP_N > kept * 4);                 /* it did wrap, often */
	assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &n), 0);
	assert_int_equal(n, kept);
	for (size_t i = 0; i < n; i++)
		hy_check_frame(f[i], &exp[(WRAP_N - kept + i) % WRAP_KEEP], "");
	shmstat_frames_free(f, n);
	shmstat_history_close(h);
	for (size_t i = 0; i < WRAP_KEEP; i++)
		hy_expect_free(&exp[i]);
	free(exp);
	free(live);
	if (counters_only) {
		shmstat_reader_close(s.r);
		shmstat_close(s.seg);
		shmstat_unlink(name);
	} else {
		hy_seg_close(&s);
	}
}

static void test_wrap_same_size(void **state)
{
	(void)state;
	wrap_run("wrap1.shmhist", 1);
}

static void test_wrap_growing(void **state)
{
	(void)state;
	wrap_run("wrap2.shmhist", 0);
}

/* -------------------------------------------------- segment re-created */

static void test_recreated(void **state)
{
	struct shmstat_history_opts o = hy_opts(1 << 20, 20, UINT64_C(1), UINT64_C(100), UINT64_C(0));
	const char *name = ut_name("hist-recr");
	struct shmstat__hf_tier_stat ts1, ts2;
	struct hy_exp e1, e2;
	shmstat_history *h;
	shmstat_frame **f;
	struct hy_seg s;
	char path[512];
	size_t n;

	(void)state;
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	hy_path(path, sizeof(path), "recr.shmhist");
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	hy_seg_open(&s, name);
	for (unsigned i = 0; i < 5; i++) {
		shmstat_snap *sn;

		hy_seg_step(&s, i);
		sn = hy_snap(&s);
		if (i == 4)
			hy_expect(&e1, sn, HY_T0 + i * HY_S, 20);
		assert_int_equal(shmstat_history_append(h, sn, HY_T0 + i * HY_S, NULL), 0);
		shmstat_snap_free(sn);
	}
	assert_int_equal(shmstat__history_tier_stat(h, 0, &ts1), 0);
	hy_seg_close(&s);
	hy_seg_open(&s, name);                      /* a new generation */
	for (unsigned i = 5; i < 8; i++) {
		shmstat_snap *sn;

		hy_seg_step(&s, i);
		sn = hy_snap(&s);
		if (i == 7)
			hy_expect(&e2, sn, HY_T0 + i * HY_S, 20);
		assert_int_equal(shmstat_history_append(h, sn, HY_T0 + i * HY_S, NULL), 0);
		shmstat_snap_free(sn);
	}
	assert_int_equal(shmstat__history_tier_stat(h, 0, &ts2), 0);
	/* the same names: the dictionary gains one schema at most */
	assert_true(ts2.dict_entries <= ts1.dict_entries + 1);
	assert_true(e1.generation != e2.generation);
	assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &n), 0);
	assert_int_equal(n, 8);
	hy_check_frame(f[4], &e1, "");
	hy_check_frame(f[7], &e2, "");
	{
		struct shmstat_series a, b;

		/* the new segment counts from 0 again: the generation says why */
		long ja = shmstat_frame_find(f[4], "req_total", ""), jb = shmstat_frame_find(f[7], "req_total", "");

		assert_int_equal(shmstat_frame_series(f[4], (size_t)ja, &a), 0);
		assert_int_equal(shmstat_frame_series(f[7], (size_t)jb, &b), 0);
		assert_int_equal(a.counter, 1 + 2 + 3 + 4 + 5);
		assert_int_equal(b.counter, 6 + 7 + 8);
	}
	shmstat_frames_free(f, n);
	shmstat_history_close(h);
	hy_expect_free(&e1);
	hy_expect_free(&e2);
	hy_seg_close(&s);
}

/* A key no summary kept the bytes of (it came into a full summary and
 * had no second event there) is recorded with no bytes and a length of
 * at least 1: readers tell it from the empty key and show its hash. */
static void test_hash_only_key(void **state)
{
	static const char *const keys[] = { "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8" };
	struct shmstat_history_opts o = hy_opts(1 << 20, 20, UINT64_C(1), UINT64_C(1000), 0);
	const struct shmstat_metric_def def = { .name = "sigs" };
	struct shmstat_sigtab_opts so;
	const char *name = ut_name("hist-hashonly");
	shmstat_history *h;
	shmstat_frame **f;
	shmstat_sigtab *t;
	shmstat_reader *r;
	shmstat_seg *seg;
	shmstat_snap *sn;
	size_t n, nokey = 0;
	char path[512];
	unsigned wr;

	(void)state;
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	shmstat_sigtab_opts_init(&so);
	so.capacity = 8;
	so.summaries = 1;
	assert_int_equal(shmstat_sigtab_register(seg, &def, &so, &t), 0);
	/* 8 keys fill the summary; a ninth is kept out by the admission
	 * filter until its count passes the least (13), then takes that
	 * entry at its 14th event, its bytes not kept */
	for (int k = 0; k < 8; k++)
		for (int i = 0; i < 20 - k; i++)
			shmstat_sig_hit(t, keys[k], 2, 1, 0);
	for (int i = 0; i < 14; i++)
		shmstat_sig_hit(t, "hashonly", 8, 1, 0);
	hy_path(path, sizeof(path), "hashonly.shmhist");
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &sn), 0);
	assert_int_equal(shmstat_history_append(h, sn, HY_T0, &wr), 0);
	shmstat_snap_free(sn);
	shmstat_reader_close(r);
	shmstat_history_close(h);
	assert_int_equal(shmstat_history_open(path, &h), 0);
	assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &n), 0);
	assert_int_equal(n, 1);
	for (size_t i = 0;; i++) {
		struct shmstat_series se;
		struct shmstat_sigkey k;

		if (shmstat_frame_series(f[0], i, &se) != 0)
			break;
		for (size_t j = 0; shmstat_frame_sigkey(f[0], i, j, &k) == 0; j++) {
			if (k.key_len > 0)
				continue;
			nokey++;
			if (k.full_len == 0)
				fail_msg("the key known by its hash alone (%016llx) is recorded as the "
					 "empty key", (unsigned long long)k.hash);
		}
	}
	assert_int_equal(nokey, 1);
	shmstat_frames_free(f, n);
	shmstat_history_close(h);
	assert_int_equal(shmstat_close(seg), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_tiers, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_wrap_same_size, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_wrap_growing, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_recreated, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_hash_only_key, hy_setup, hy_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
