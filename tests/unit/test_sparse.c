/*
 * test_sparse.c - the stripes of a snapshot kept as runs of non-zero
 * slots (sparse.c, issue 19): every lookup against a dense reference,
 * runs added out of order, the memory bound; a snapshot of many writer
 * threads keeps what they counted, not the pages it lies in; what
 * turns from a hole into data while a copy runs is read, once; a
 * thread stripe claimed while a copy runs is read after the rest; and a
 * process's sums read its own stripes alone.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ut_common.h"
#include "hook.h"
#include "snap.h"
#include "../xorshift.h"

#define NSTRIPES 6u
#define NSLOTS 5000u

/* Stripe contents with stretches of zeros of every length, values of
 * every size (1 and UINT64_MAX too). */
static void fill(uint64_t ref[NSTRIPES][NSLOTS], uint64_t seed)
{
	uint64_t x = seed;

	for (uint32_t i = 0; i < NSTRIPES; i++) {
		uint32_t v = 0;

		memset(ref[i], 0, sizeof(ref[i]));
		if (i == 2)
			continue;               /* a stripe with nothing */
		while (v < NSLOTS) {
			v += (uint32_t)(xorshift64(&x) % (i == 4 ? 3 : 40));
			for (uint32_t n = (uint32_t)(xorshift64(&x) % 12); n > 0 && v < NSLOTS; n--, v++) {
				const uint64_t r = xorshift64(&x);

				ref[i][v] = r % 5 == 0 ? UINT64_MAX : r % 5 == 1 ? 1 : r % 3 ? r : 0;
			}
		}
	}
}

/* Since the last reset: the calls of add() and the bytes they gave */
static size_t added_calls, added_bytes;

static void reset(struct shmstat__sparse *sp)
{
	shmstat__sparse_reset(sp);
	added_calls = added_bytes = 0;
}

/* Add stripe @i's slots [@a, @b) to @sp. */
static void add(struct shmstat__sparse *sp, uint64_t ref[NSTRIPES][NSLOTS], uint32_t i,
		uint32_t a, uint32_t b)
{
	assert_int_equal(shmstat__sparse_add(sp, i, a, ref[i] + a, b - a), 0);
	added_calls++;
	added_bytes += (size_t)(b - a) * 8;
}

/* Every slot, every run walk, against @ref. */
static void check(const struct shmstat__sparse *sp, uint64_t ref[NSTRIPES][NSLOTS],
		  uint64_t seed)
{
	uint64_t x = seed | 1;
	size_t nonzero = 0;

	for (uint32_t i = 0; i < NSTRIPES; i++)
		for (uint32_t v = 0; v < NSLOTS; v++) {
			assert_int_equal(shmstat__sparse_at(sp, i, v), ref[i][v]);
			nonzero += ref[i][v] != 0;
		}
	/* beyond the stripes and the slots: zeros */
	assert_int_equal(shmstat__sparse_at(sp, NSTRIPES, 0), 0);
	assert_int_equal(shmstat__sparse_at(sp, 0, NSLOTS + 7), 0);
	/* runs from random places to random ends: each slot once, in
	 * order, and every non-zero slot in them */
	for (int t = 0; t < 2000; t++) {
		const uint32_t i = (uint32_t)(xorshift64(&x) % NSTRIPES);
		const uint32_t a = (uint32_t)(xorshift64(&x) % NSLOTS);
		const uint32_t to = a + (uint32_t)(xorshift64(&x) % (NSLOTS - a + 1));
		uint32_t v = a, e, seen = 0, want = 0;
		const uint64_t *p;

		for (uint32_t k = a; k < to; k++)
			want += ref[i][k] != 0;
		while ((p = shmstat__sparse_run(sp, i, &v, to, &e)) != NULL) {
			assert_true(v < e && e <= to);
			for (uint32_t k = v; k < e; k++) {
				assert_int_equal(p[k - v], ref[i][k]);
				seen += ref[i][k] != 0;
			}
			v = e;
		}
		assert_int_equal(seen, want);
	}
	/* the memory bound (sparse.h): at most the bytes added, a run's
	 * bookkeeping counted, plus one run a call (its last) */
	assert_true(sp->nval >= nonzero);
	assert_true(sp->nval * 8 + sp->nrun * sizeof(struct shmstat__srun) <=
		    added_bytes + added_calls * sizeof(struct shmstat__srun));
}

/* In order, a call a stripe, then in uneven pieces. */
static void test_in_order(void **state)
{
	static uint64_t ref[NSTRIPES][NSLOTS];
	struct shmstat__sparse sp = { 0 };

	(void)state;
	for (uint64_t seed = 1; seed <= 5; seed++) {
		fill(ref, seed * 0x9e3779b97f4a7c15ull);
		reset(&sp);
		for (uint32_t i = 0; i < NSTRIPES; i++)
			add(&sp, ref, i, 0, NSLOTS);
		assert_false(sp.unsorted);
		assert_int_equal(shmstat__sparse_index(&sp, NSTRIPES), 0);
		check(&sp, ref, seed);

		reset(&sp);
		for (uint32_t i = 0; i < NSTRIPES; i++)
			for (uint32_t a = 0; a < NSLOTS; a += 1 + a % 997)
				add(&sp, ref, i, a, a + 1 + a % 997 < NSLOTS ? a + 1 + a % 997 : NSLOTS);
		assert_int_equal(shmstat__sparse_index(&sp, NSTRIPES), 0);
		check(&sp, ref, seed);
	}
	shmstat__sparse_free(&sp);
}

/* Pieces added out of order (a copy's catch-up pass): sorted once. */
static void test_out_of_order(void **state)
{
	static uint64_t ref[NSTRIPES][NSLOTS];
	struct shmstat__sparse sp = { 0 };

	(void)state;
	reset(&sp);
	fill(ref, 42);
	for (uint32_t i = NSTRIPES; i-- > 0;) {
		add(&sp, ref, i, 3000, NSLOTS);
		add(&sp, ref, i, 0, 1000);
	}
	for (uint32_t i = 0; i < NSTRIPES; i++)
		add(&sp, ref, i, 1000, 3000);
	assert_true(sp.unsorted);
	assert_int_equal(shmstat__sparse_index(&sp, NSTRIPES), 0);
	assert_false(sp.unsorted);
	check(&sp, ref, 42);
	/* nothing at all */
	reset(&sp);
	assert_int_equal(shmstat__sparse_index(&sp, NSTRIPES), 0);
	memset(ref, 0, sizeof(ref));
	check(&sp, ref, 7);
	shmstat__sparse_free(&sp);
}

/* Where runs join and split: fewer than four zeros between two values
 * stay in the run (a run's 24 bytes cost less than four zeros' 32). */
static void test_join(void **state)
{
	static const uint64_t v[] = { 0, 0, 1, 0, 2, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0, 5, 0 };
	struct shmstat__sparse sp = { 0 };
	uint32_t from = 0, end;
	const uint64_t *p;

	(void)state;
	assert_int_equal(shmstat__sparse_add(&sp, 3, 100, v, 18), 0);
	assert_int_equal(shmstat__sparse_index(&sp, 4), 0);
	assert_int_equal(sp.nrun, 2);
	assert_int_equal(sp.nval, 10 + 1);
	p = shmstat__sparse_run(&sp, 3, &from, 200, &end);
	assert_non_null(p);
	assert_int_equal(from, 102);
	assert_int_equal(end, 112);
	assert_memory_equal(p, v + 2, 10 * sizeof(*v));
	from = end;
	p = shmstat__sparse_run(&sp, 3, &from, 200, &end);
	assert_non_null(p);
	assert_int_equal(from, 116);
	assert_int_equal(end, 117);
	assert_int_equal(p[0], 5);
	from = end;
	assert_null(shmstat__sparse_run(&sp, 3, &from, 200, &end));
	shmstat__sparse_free(&sp);
}

#define THREADS 8
#define VALUES 50

struct wr {
	shmstat_hist *h;
	pthread_barrier_t *b;
	int k;
};

static void *writer(void *p)
{
	struct wr *w = p;

	/* VALUES distinct values of each thread, a few buckets apart */
	for (int v = 0; v < VALUES; v++)
		shmstat_hist_record(w->h, 1000u * (uint64_t)(v + 1) + (uint64_t)w->k);
	pthread_barrier_wait(w->b);         /* stripes owned while read */
	pthread_barrier_wait(w->b);
	return NULL;
}

/* Of a segment whose threads each wrote a few dozen buckets of a
 * histogram (a couple of pages of its stripe each), a snapshot keeps
 * those values, not the pages: and the histogram is exact. */
static void test_snapshot_keeps_values(void **state)
{
	const char *name = ut_name("sparse");
	struct shmstat_metric_def hd = { .name = "lat", .unit = "ns" };
	struct shmstat_opts o;
	/* static: a failed assertion leaves the test with its writers
	 * still waiting on them */
	static pthread_barrier_t b;
	static pthread_t th[THREADS];
	static struct wr w[THREADS];
	shmstat_seg *seg = NULL;
	shmstat_reader *r;
	struct shmstat_metric_info mi;
	struct shmstat_hstats st;
	shmstat_hdata *hd_all;
	shmstat_snap *s;
	shmstat_hist *h;
	size_t kept;
	int idx;

	(void)state;
	shmstat_opts_init(&o);
	o.max_threads = THREADS + 2;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_hist_register(seg, &hd, NULL, &h), 0);
	pthread_barrier_init(&b, NULL, THREADS + 1);
	for (int k = 0; k < THREADS; k++) {
		w[k] = (struct wr){ .h = h, .b = &b, .k = k };
		assert_int_equal(pthread_create(&th[k], NULL, writer, &w[k]), 0);
	}
	pthread_barrier_wait(&b);

	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	/* what the stripes keep: about the values written (a run's
	 * bookkeeping and the gaps it keeps), far from the pages they lie
	 * in (two a thread at least) */
	kept = s->sp.nval * 8 + s->sp.nrun * sizeof(struct shmstat__srun);
	assert_true(s->sp.nval >= (size_t)THREADS * VALUES);
	assert_true(kept < (size_t)THREADS * VALUES * 8 * 4);
	assert_true(kept < (size_t)THREADS * 4096);
	idx = ut_find(s, "lat", "", &mi);
	assert_true(idx >= 0);
	assert_int_equal(mi.counter, THREADS * VALUES);
	assert_int_equal(shmstat_snap_hist(s, (size_t)idx, SHMSTAT_PROC_ALL, &hd_all), 0);
	shmstat_hdata_stats(hd_all, &st);
	assert_int_equal(st.count, THREADS * VALUES);
	assert_int_equal(st.min, 1000u);
	assert_int_equal(st.max, 1000u * VALUES + THREADS - 1);
	shmstat_hdata_free(hd_all);
	shmstat_snap_free(s);
	shmstat_reader_close(r);

	pthread_barrier_wait(&b);
	for (int k = 0; k < THREADS; k++)
		pthread_join(th[k], NULL);
	pthread_barrier_destroy(&b);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* A snapshot of @r with @hook set, which fired once (*@fired) */
static shmstat_snap *hooked_snapshot(shmstat_reader *r,
				     void (*hook)(enum shmstat_hook_point, const void *),
				     const int *fired)
{
	shmstat_snap *s = NULL;

	__atomic_store_n(&shmstat__test_hook, hook, __ATOMIC_RELEASE);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	assert_int_equal(*fired, 1);
	return s;
}

static shmstat_counter *late;
static int late_fired, late_point;

/* In the copy, at @late_point: a first store into a page that was a
 * hole when the copy took the extents */
static void late_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if ((int)point != late_point || late_fired++)
		return;
	shmstat_counter_add(late, 7);
}

static int want_counters(const char *name, const char *labels, void *arg)
{
	(void)labels;
	(void)arg;
	return strcmp(name, "early_total") == 0 || strcmp(name, "late_total") == 0;
}

/* A page of a stripe that turns from a hole into data while a copy runs
 * (a writer's first store after the reader took the extents) is read,
 * once (format.md, "Fold protocol"). The first pass reads a stripe in
 * windows from where its data starts, holes within them read as zeros
 * (reader.c, map_stripes()): a page that turns into data once its
 * window was read is read by the last pass, found among the pages the
 * first kept nothing from (kept_extents()); one turned before its
 * window was read is read by the first, not again. Every value exact.
 * The same with a reader of the two counters alone, two short ranges of
 * each stripe read whole without a walk (map_stripes(), SUBSET_RUNS):
 * the histogram between them is not read. */
static void test_hole_in_window(void **state)
{
	static const int points[] = { SHMSTAT_HOOK_COPY_STRIPES, SHMSTAT_HOOK_COPY_EXTENTS };
	const char *name = ut_name("win");
	struct shmstat_metric_def ad = { .name = "early_total" };
	struct shmstat_metric_def hd = { .name = "between", .unit = "ns" };
	struct shmstat_metric_def ld = { .name = "late_total" };
	struct shmstat_metric_info mi;
	shmstat_seg *seg = NULL;
	shmstat_counter *early;
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_hist *h;

	(void)state;
	for (size_t q = 0; q < 2 * sizeof(points) / sizeof(points[0]); q++) {
		const size_t p = q % (sizeof(points) / sizeof(points[0]));
		const int subset = q >= sizeof(points) / sizeof(points[0]);
		struct shmstat_reader_opts ro;

		assert_int_equal(shmstat_open(name, NULL, &seg), 0);
		assert_int_equal(shmstat_counter_register(seg, &ad, &early), 0);
		/* 18 KB of a histogram's slots: late_total's page a hole of
		 * the stripe, within early_total's window */
		assert_int_equal(shmstat_hist_register(seg, &hd, NULL, &h), 0);
		assert_int_equal(shmstat_counter_register(seg, &ld, &late), 0);
		shmstat_counter_add(early, 3);
		shmstat_hist_record(h, 1000);
		shmstat_reader_opts_init(&ro);
		if (subset)
			ro.want = want_counters;
		assert_int_equal(shmstat_reader_open_opts(name, &ro, &r), 0);
		for (int round = 0; round < 2; round++) {
			late_fired = 0;
			late_point = points[p];
			s = hooked_snapshot(r, late_hook, &late_fired);
			assert_true(ut_find(s, "late_total", "", &mi) >= 0);
			/* after the stripes' read, the second add is later than
			 * what the copy read of a page that is data by then */
			assert_int_equal(mi.counter,
					 points[p] == SHMSTAT_HOOK_COPY_STRIPES ? 7 : 7 * (round + 1));
			assert_true(ut_find(s, "early_total", "", &mi) >= 0);
			assert_int_equal(mi.counter, 3);
			if (subset) {
				assert_int_equal(ut_find(s, "between", "", &mi), -1);
				assert_int_equal(shmstat_snap_metrics(s), 2);
			} else {
				assert_true(ut_find(s, "between", "", &mi) >= 0);
				assert_int_equal(mi.counter, 1);
			}
			shmstat_snap_free(s);
		}
		shmstat_reader_close(r);
		assert_int_equal(shmstat_close(seg), 0);
		assert_int_equal(shmstat_unlink(name), 0);
	}
}

static shmstat_gauge *ng;
static int nt_fired, nt_point;

/* a thread of its own: a new stripe, claimed now */
static void *new_thread(void *arg)
{
	(void)arg;
	shmstat_gauge_add(ng, 5);
	shmstat_gauge_set(ng, 100);
	return NULL;
}

/* In the copy, at @nt_point: a new thread's first update (its stripe
 * claimed), then a set, whose base in the process stripe counts it */
static void new_thread_hook(enum shmstat_hook_point point, const void *arg)
{
	pthread_t t;

	(void)arg;
	if ((int)point != nt_point || nt_fired++)
		return;
	assert_int_equal(pthread_create(&t, NULL, new_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
}

/* A thread stripe claimed while a copy runs: FREE in the owner words the
 * copy read first. A gauge at 10 (this thread's delta) set to 100 by a
 * new thread after its own +5: the base in the process stripe, 85,
 * counts the new thread's delta. A copy that read the base but left the
 * new stripe out showed 95, a value the gauge never had. The set moved
 * the process's sets count, so the reader reads its gauges again, with
 * the stripes it has by then (gaugesnap.c): 100, before the stripes are
 * read or after. */
static void test_new_stripe(void **state)
{
	static const int points[] = { SHMSTAT_HOOK_COPY_EXTENTS, SHMSTAT_HOOK_COPY_STRIPES };
	const char *name = ut_name("newst");
	const struct shmstat_metric_def gd = { .name = "inflight" };
	struct shmstat_metric_info mi;
	shmstat_seg *seg = NULL;
	shmstat_reader *r;
	shmstat_snap *s;

	(void)state;
	for (size_t p = 0; p < sizeof(points) / sizeof(points[0]); p++) {
		assert_int_equal(shmstat_open(name, NULL, &seg), 0);
		assert_int_equal(shmstat_gauge_register(seg, &gd, SHMSTAT_AGG_SUM, &ng), 0);
		shmstat_gauge_add(ng, 10);
		assert_int_equal(shmstat_reader_open(name, &r), 0);
		nt_fired = 0;
		nt_point = points[p];
		s = hooked_snapshot(r, new_thread_hook, &nt_fired);
		assert_true(ut_find(s, "inflight", "", &mi) >= 0);
		if (mi.gauge != 100)
			fail_msg("a snapshot taken while a new thread claimed its stripe and set "
				 "the gauge shows %lld, not %lld (the gauge was 10, then 100)",
				 (long long)mi.gauge, 100LL);
		shmstat_snap_free(s);
		assert_int_equal(shmstat_snapshot(r, &s), 0);
		assert_true(ut_find(s, "inflight", "", &mi) >= 0);
		assert_int_equal(mi.gauge, 100);
		shmstat_snap_free(s);
		shmstat_reader_close(r);
		assert_int_equal(shmstat_close(seg), 0);
		assert_int_equal(shmstat_unlink(name), 0);
	}
}

static shmstat_gauge *sg, *sg2;
static int sd_fired, rr_fired;

/* In the copy, after the stripes' first pass: this thread adds and sets
 * the gauge twice; its stripe's page of the gauge was a hole, so the
 * copy's last pass reads the deltas, later than the base it read (a
 * page of the process stripe that was data) */
static void set_during_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point != SHMSTAT_HOOK_COPY_STRIPES || sd_fired++)
		return;
	for (int i = 0; i < 2; i++) {
		shmstat_gauge_add(sg, 1000);
		shmstat_gauge_set(sg, 0);
	}
}

/* A gauge set while a copy reads it: the copy alone would give the base
 * read before the sets plus the deltas read after them (5 + 2000, a
 * value the gauge never had); the reader reads the process's gauges
 * again and gives 0. */
static void test_set_during_copy(void **state)
{
	const char *name = ut_name("setdur");
	const struct shmstat_metric_def gd = { .name = "depth" }, hd = { .name = "spacer" },
					cd = { .name = "other_total" };
	struct shmstat_metric_info mi;
	shmstat_seg *seg = NULL;
	shmstat_hist *h;
	shmstat_counter *c;
	shmstat_reader *r;
	shmstat_snap *s;

	(void)state;
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_gauge_register(seg, &gd, SHMSTAT_AGG_SUM, &sg), 0);
	/* this thread's stripe claimed by a counter pages away from the
	 * gauge (a histogram's buckets between them): the gauge's page of
	 * it stays a hole */
	assert_int_equal(shmstat_hist_register(seg, &hd, NULL, &h), 0);
	assert_int_equal(shmstat_counter_register(seg, &cd, &c), 0);
	shmstat_counter_add(c, 1);
	shmstat_gauge_set(sg, 5);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	sd_fired = 0;
	s = hooked_snapshot(r, set_during_hook, &sd_fired);
	assert_true(ut_find(s, "depth", "", &mi) >= 0);
	if (mi.gauge != 0)
		fail_msg("a snapshot taken while the gauge went 5, 1005, 0, 1000, 0 shows %lld",
			 (long long)mi.gauge);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* While the reader reads the process's gauges again: g2 set between the
 * two reads of its base, in every attempt */
static void reread_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point == SHMSTAT_HOOK_COPY_STRIPES && sd_fired++ == 0)
		shmstat_gauge_set(sg, 7);
	if (point == SHMSTAT_HOOK_GAUGE_REREAD)
		shmstat_gauge_set(sg2, 100 + rr_fired++);
}

/* The reader's attempts at a process's gauges (gaugesnap.c): none is
 * whole (a set of g2 in each), g (not set meanwhile) is taken from the
 * first by its base read twice the same, g2 (its base moved in every
 * attempt) from the last of the 8 as read: 106, the value it had from
 * the seventh attempt's set to the eighth's. */
static void test_set_during_reread(void **state)
{
	const char *name = ut_name("setrr");
	const struct shmstat_metric_def gd = { .name = "g" }, gd2 = { .name = "g2" };
	struct shmstat_metric_info mi;
	shmstat_seg *seg = NULL;
	shmstat_reader *r;
	shmstat_snap *s;

	(void)state;
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_gauge_register(seg, &gd, SHMSTAT_AGG_SUM, &sg), 0);
	assert_int_equal(shmstat_gauge_register(seg, &gd2, SHMSTAT_AGG_SUM, &sg2), 0);
	shmstat_gauge_add(sg, 3);
	shmstat_gauge_set(sg2, 50);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	sd_fired = rr_fired = 0;
	s = hooked_snapshot(r, reread_hook, &sd_fired);
	assert_int_equal(rr_fired, 8);
	assert_true(ut_find(s, "g", "", &mi) >= 0);
	assert_int_equal(mi.gauge, 7);
	assert_true(ut_find(s, "g2", "", &mi) >= 0);
	assert_int_equal(mi.gauge, 106);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	assert_true(ut_find(s, "g2", "", &mi) >= 0);
	assert_int_equal(mi.gauge, 107);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* ------------------------------------------- sums of one process's stripes */

#define SUM_KIDS 12
#define SUM_GAUGES 8

static const enum shmstat_agg sum_aggs[SUM_GAUGES] = {
	SHMSTAT_AGG_SUM, SHMSTAT_AGG_MAX, SHMSTAT_AGG_MIN, SHMSTAT_AGG_LAST,
	SHMSTAT_AGG_LIVESUM, SHMSTAT_AGG_LIVEMAX, SHMSTAT_AGG_LIVEMIN, SHMSTAT_AGG_LIVELAST,
};
static unsigned long sum_visits;
static const char *sum_seg;

static void count_sum_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point == SHMSTAT_HOOK_SUM_STRIPE)
		__atomic_add_fetch(&sum_visits, 1, __ATOMIC_RELAXED);
}

/* A writer process: a counter, a histogram and a gauge of every kind,
 * its value (@arg) set and then added to from its thread stripe; 'c':
 * detach and exit. */
static int kid_sums(void *arg, int cmd, int ack)
{
	const int64_t v = (int64_t)(intptr_t)arg;
	const struct shmstat_metric_def cd = { .name = "c_total" }, hd = { .name = "h_ns" };
	shmstat_seg *seg = NULL;
	shmstat_counter *c;
	shmstat_hist *h;

	if (shmstat_open(sum_seg, NULL, &seg) != 0 ||
	    shmstat_counter_register(seg, &cd, &c) != 0 ||
	    shmstat_hist_register(seg, &hd, NULL, &h) != 0) {
		ut_send(ack, 'E');
		return 1;
	}
	for (int k = 0; k < SUM_GAUGES; k++) {
		char n[16];
		const struct shmstat_metric_def gd = { .name = n };
		shmstat_gauge *g;

		snprintf(n, sizeof(n), "g%d", k);
		if (shmstat_gauge_register(seg, &gd, sum_aggs[k], &g) != 0) {
			ut_send(ack, 'E');
			return 1;
		}
		shmstat_gauge_set(g, v);
		shmstat_gauge_add(g, 1);
	}
	shmstat_counter_add(c, (uint64_t)v);
	shmstat_hist_record(h, (uint64_t)v);
	ut_send(ack, 'k');
	if (ut_recv(cmd) != 'c')
		return 3;
	shmstat_close(seg);
	ut_send(ack, 'k');
	return 0;
}

/* A value of every process (a gauge's) or of one (a breakdown) reads the
 * stripes of the processes it sums, and no others: 12 writer processes,
 * each with its process stripe and a thread stripe, in a segment of 16
 * process slots and 32 thread stripes. Its gauges' values cost a
 * snapshot every stripe in use once per gauge (8 x 24 stripe reads);
 * reading each process's share of every metric, its own two. Summing
 * each process over all the stripes, as the reader did, took the
 * processes times the stripes (8 x 12 x 48) for every gauge of every
 * snapshot: with 256 writer processes, 2,000 gauges took 290 ms of CPU
 * a snapshot, against 104 ms. */
static void test_process_sums(void **state)
{
	const char *name = ut_name("sums");
	struct ut_kid kids[SUM_KIDS];
	struct shmstat_opts o;
	struct shmstat_seg_info info;
	struct shmstat_metric_info mi;
	shmstat_seg *seg = NULL;
	shmstat_reader *r;
	shmstat_snap *s;
	unsigned long per_gauge;
	int64_t sum = 0;

	(void)state;
	sum_seg = name;
	ut_small_opts(&o);
	o.max_procs = 16;
	o.max_threads = 32;
	o.max_values = 4096;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
	for (int i = 0; i < SUM_KIDS; i++) {
		assert_int_equal(ut_kid_start(&kids[i], kid_sums, (void *)(intptr_t)(10 * (i + 1))),
				 'k');
		sum += 10 * (i + 1) + 1;
	}
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	sum_visits = 0;
	__atomic_store_n(&shmstat__test_hook, count_sum_hook, __ATOMIC_RELEASE);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	shmstat_snap_info(s, &info);
	assert_int_equal(shmstat_snap_procs(s), SUM_KIDS);
	assert_int_equal(info.stripes_owned, SUM_KIDS);
	/* every stripe in use (a process's own and its thread's) once per gauge */
	per_gauge = SUM_KIDS + info.stripes_owned;
	if (sum_visits != SUM_GAUGES * per_gauge)
		fail_msg("a snapshot of %d gauges and %d writers read %lu stripes for their "
			 "values, not %lu (each stripe in use once per gauge)",
			 SUM_GAUGES, SUM_KIDS, sum_visits, SUM_GAUGES * per_gauge);
	assert_true(ut_find(s, "g0", "", &mi) >= 0);
	assert_int_equal(mi.gauge, sum);
	assert_true(ut_find(s, "g5", "", &mi) >= 0);
	assert_int_equal(mi.gauge, 10 * SUM_KIDS + 1);
	assert_true(ut_find(s, "g2", "", &mi) >= 0);
	assert_int_equal(mi.gauge, 11);
	/* each process's share of each metric: its two stripes */
	sum_visits = 0;
	__atomic_store_n(&shmstat__test_hook, count_sum_hook, __ATOMIC_RELEASE);
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		for (size_t j = 0; j < shmstat_snap_procs(s); j++) {
			struct shmstat_proc_info pi;
			uint64_t cv;
			int64_t gv;

			assert_int_equal(shmstat_snap_metric(s, i, &mi), 0);
			assert_int_equal(shmstat_snap_metric_proc(s, i, j, &cv, &gv), 0);
			assert_int_equal(shmstat_snap_proc(s, j, &pi), 0);
			for (int k = 0; k < SUM_KIDS; k++) {
				if (kids[k].pid != pi.pid)
					continue;
				if (mi.type == SHMSTAT_GAUGE)
					assert_int_equal(gv, 10 * (k + 1) + 1);
				else
					assert_int_equal(cv, mi.type == SHMSTAT_COUNTER ?
							 (uint64_t)(10 * (k + 1)) : 1u);
			}
		}
	}
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	if (sum_visits != (SUM_GAUGES + 2) * 2ul * SUM_KIDS)
		fail_msg("%d processes' shares of %d metrics read %lu stripes, not %lu (each "
			 "process's two)", SUM_KIDS, SUM_GAUGES + 2, sum_visits,
			 (SUM_GAUGES + 2) * 2ul * SUM_KIDS);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	for (int i = 0; i < SUM_KIDS; i++) {
		assert_int_equal(ut_kid_cmd(&kids[i], 'c'), 'k');
		assert_int_equal(ut_kid_wait(&kids[i]), 0);
	}
	assert_int_equal(shmstat_unlink(name), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_in_order),
		T(test_out_of_order),
		T(test_join),
		T(test_snapshot_keeps_values),
		T(test_hole_in_window),
		T(test_new_stripe),
		T(test_set_during_copy),
		T(test_set_during_reread),
		T(test_process_sums),
	};

	return cmocka_run_group_tests_name("sparse", tests, NULL, NULL);
}
