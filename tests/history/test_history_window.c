/*
 * test_history_window.c - figures over windows of a synthetic history
 * (shmstat_window.h), with an injected clock: a segment driven step by
 * step, a record appended after each step at a chosen instant, and every
 * figure checked against what the steps did.
 *
 *  - counter increase and rate over any window, and across a reset (the
 *    counter removed and registered again: a new registration id);
 *  - the window's histogram quantiles (only what was recorded inside it);
 *  - gauges: the value in the last record;
 *  - signature tables: hits, misses, weight, hit rate of the window;
 *  - label subsets and exact labels;
 *  - no value: one record, no such series, no values recorded;
 *  - trends: rising, falling, stable, and too few points; a gap in the
 *    history (a sub-window whose records span more than 3 steps: no
 *    point);
 *  - records further apart than the window (a coarse tier): a window
 *    starts at the last record at or before its start;
 *  - series added, removed and registered again inside a window;
 *  - frames of the series asked about only
 *    (shmstat_history_window_select()): the same figures;
 *  - the records read one at a time (shmstat_history_windows(),
 *    shmstat_history_trend()): the same figures;
 *  - histograms with restarts, windows at random: exactly the figures of
 *    the window's histogram built a frame at a time, as before, and the
 *    count of the values recorded inside.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ut_common.h"
#include "histogram.h"
#include "hook.h"
#include "hsparse.h"
#include "hy_util.h"
#include "shmstat.h"
#include "shmstat_history.h"
#include "shmstat_window.h"

#define S UINT64_C(1000000000)
#define T0 (UINT64_C(1700000000) * S)

struct fix {
	const char *name;
	char path[256];
	shmstat_seg *seg;
	shmstat_history *h;
	shmstat_counter *ca, *cb;      /* req_total{tier="a"}, {tier="b"} */
	shmstat_gauge *g;
	shmstat_hist *lat;
	shmstat_sigtab *sig;
	shmstat_frame **f;
	size_t n;
};

static shmstat_counter *counter(shmstat_seg *seg, const char *tier)
{
	const char *labels[] = { "tier", tier, NULL };
	struct shmstat_metric_def d = { .name = "req_total", .labels = labels };
	shmstat_counter *c;

	assert_int_equal(shmstat_counter_register(seg, &d, &c), 0);
	return c;
}

static void fix_open(struct fix *x, const char *tag)
{
	struct shmstat_opts o;
	struct shmstat_history_opts ho;
	struct shmstat_metric_def dg = { .name = "queue" };
	struct shmstat_metric_def dh = { .name = "lat", .unit = "ns" };
	struct shmstat_metric_def ds = { .name = "sigs" };

	memset(x, 0, sizeof(*x));
	x->name = ut_name(tag);
	ut_small_opts(&o);
	o.max_values = 8192;
	o.sig_bytes = 4u << 20;
	assert_int_equal(shmstat_open(x->name, &o, &x->seg), 0);
	x->ca = counter(x->seg, "a");
	x->cb = counter(x->seg, "b");
	assert_int_equal(shmstat_gauge_register(x->seg, &dg, SHMSTAT_AGG_SUM, &x->g), 0);
	assert_int_equal(shmstat_hist_register(x->seg, &dh, NULL, &x->lat), 0);
	{
		struct shmstat_sigtab_opts so;

		shmstat_sigtab_opts_init(&so);
		so.capacity = 64;
		so.owners = 4;
		assert_int_equal(shmstat_sigtab_register(x->seg, &ds, &so, &x->sig), 0);
	}
	snprintf(x->path, sizeof(x->path), "/tmp/shmstat-window-%d-%s.hist", (int)getpid(), tag);
	unlink(x->path);
	shmstat_history_opts_init(&ho);
	ho.ntiers = 1;
	ho.tier[0] = (struct shmstat_tier){ S, 3600 * S };
	ho.max_bytes = 8u << 20;
	assert_int_equal(shmstat_history_create(x->path, &ho, &x->h), 0);
	assert_int_equal(shmstat_history_set_segment(x->h, x->name), 0);
}

/* Append a record of the segment as it is now, at T0 + @sec seconds. */
static void record_at(struct fix *x, uint64_t sec)
{
	shmstat_reader *r;
	shmstat_snap *s;
	unsigned w = 0;

	assert_int_equal(shmstat_reader_open(x->name, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	assert_int_equal(shmstat_history_append(x->h, s, T0 + sec * S, &w), 0);
	assert_int_equal(w, 1);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
}

static void load(struct fix *x)
{
	if (x->f)
		shmstat_frames_free(x->f, x->n);
	assert_int_equal(shmstat_history_range(x->h, 0, UINT64_MAX, &x->f, &x->n), 0);
}

static void fix_close(struct fix *x)
{
	if (x->f)
		shmstat_frames_free(x->f, x->n);
	shmstat_history_close(x->h);
	unlink(x->path);
	assert_int_equal(shmstat_close(x->seg), 0);
	assert_int_equal(shmstat_unlink(x->name), 0);
}

static struct shmstat_wvalue win(struct fix *x, const char *name, const char *labels,
				 enum shmstat_figure fig, double q, uint64_t from_s, uint64_t to_s)
{
	struct shmstat_wquery qy = { .name = name, .labels = labels, .fig = fig, .q = q };
	struct shmstat_wvalue v;

	assert_int_equal(shmstat_window((shmstat_frame *const *)x->f, x->n, &qy, T0 + from_s * S,
					T0 + to_s * S, &v), 0);
	return v;
}

static void test_counters(void **state)
{
	struct fix x;
	struct shmstat_wvalue v;

	(void)state;
	fix_open(&x, "wcnt");
	/* second k: a gains 10 * k, b gains 1 */
	for (uint64_t k = 0; k <= 10; k++) {
		shmstat_counter_add(x.ca, 10 * k);
		shmstat_counter_inc(x.cb);
		record_at(&x, k);
	}
	load(&x);
	assert_int_equal(x.n, 11);
	/* seconds 2..6: a gained 10*(3+4+5+6) = 180, b 4 */
	v = win(&x, "req_total", "tier=\"a\"", SHMSTAT_FIG_INCREASE, 0, 2, 6);
	assert_true(v.has_value);
	assert_true(v.value == 180);
	assert_int_equal(v.samples, 180);
	assert_int_equal(v.series, 1);
	assert_int_equal(v.from_ns, T0 + 2 * S);
	assert_int_equal(v.to_ns, T0 + 6 * S);
	v = win(&x, "req_total", NULL, SHMSTAT_FIG_INCREASE, 0, 2, 6);
	assert_true(v.value == 184);
	assert_int_equal(v.series, 2);
	v = win(&x, "req_total", "tier=\"b\"", SHMSTAT_FIG_RATE, 0, 0, 10);
	assert_true(fabs(v.value - 1.0) < 1e-9);          /* 10 in 10 s */
	/* exact labels: "" is no series here (every series has a tier) */
	{
		struct shmstat_wquery qy = { .name = "req_total", .labels = "", .exact = 1,
					     .fig = SHMSTAT_FIG_INCREASE };

		assert_int_equal(shmstat_window((shmstat_frame *const *)x.f, x.n, &qy, 0,
						UINT64_MAX, &v), 0);
		assert_false(v.has_value);
	}
	/* one record in the window: no increase */
	v = win(&x, "req_total", NULL, SHMSTAT_FIG_INCREASE, 0, 3, 3);
	assert_false(v.has_value);
	assert_non_null(v.why);
	v = win(&x, "nope_total", NULL, SHMSTAT_FIG_INCREASE, 0, 0, 10);
	assert_false(v.has_value);

	/* a reset: req_total{tier="a"} removed and registered again at 100 */
	{
		const char *labels[] = { "tier", "a", NULL };
		struct shmstat_metric_def d = { .name = "req_total", .labels = labels };

		assert_int_equal(shmstat_remove(x.seg, &d), 0);
		x.ca = counter(x.seg, "a");
		shmstat_counter_add(x.ca, 100);
		record_at(&x, 11);
		shmstat_counter_add(x.ca, 5);
		record_at(&x, 12);
	}
	load(&x);
	/* seconds 9..12: +90, +100 (9->10), restart counted whole: 100, +5 */
	v = win(&x, "req_total", "tier=\"a\"", SHMSTAT_FIG_INCREASE, 0, 9, 12);
	assert_true(v.value == 100 + 100 + 5);
	assert_int_equal(v.resets, 1);
	fix_close(&x);
}

static void test_histogram_gauge(void **state)
{
	static const double q[] = { 0.5, 0.99 };
	struct fix x;
	struct shmstat_wvalue v;

	(void)state;
	fix_open(&x, "whist");
	for (int i = 0; i < 100; i++)
		shmstat_hist_record(x.lat, 1000);         /* before the window */
	shmstat_gauge_set(x.g, 7);
	record_at(&x, 0);
	for (int i = 0; i < 90; i++)
		shmstat_hist_record(x.lat, 50000);
	for (int i = 0; i < 10; i++)
		shmstat_hist_record(x.lat, 2000000);
	shmstat_gauge_set(x.g, 3);
	record_at(&x, 1);
	shmstat_gauge_set(x.g, 5);
	record_at(&x, 2);
	load(&x);
	/* only the 100 values recorded in seconds 0..2: p50 = 50 us within
	 * the bucket error (2^-7), p99 = 2 ms; the 1 us values are outside */
	v = win(&x, "lat", NULL, SHMSTAT_FIG_QUANTILE, q[0], 0, 2);
	assert_true(v.has_value);
	assert_int_equal(v.samples, 100);
	assert_true(fabs(v.value - 50000) <= 50000.0 / 128);
	v = win(&x, "lat", NULL, SHMSTAT_FIG_QUANTILE, q[1], 0, 2);
	assert_true(fabs(v.value - 2000000) <= 2000000.0 / 128);
	v = win(&x, "lat", NULL, SHMSTAT_FIG_MEAN, 0, 0, 2);
	assert_true(fabs(v.value - (90 * 50000.0 + 10 * 2000000.0) / 100) < 1);
	/* nothing recorded in seconds 1..2 */
	v = win(&x, "lat", NULL, SHMSTAT_FIG_QUANTILE, 0.5, 1, 2);
	assert_false(v.has_value);
	assert_int_equal(v.samples, 0);
	/* a histogram's increase is its count */
	v = win(&x, "lat", NULL, SHMSTAT_FIG_INCREASE, 0, 0, 2);
	assert_true(v.value == 100);
	/* gauges: the value in the last record of the window */
	v = win(&x, "queue", NULL, SHMSTAT_FIG_GAUGE, 0, 0, 1);
	assert_true(v.has_value && v.value == 3);
	v = win(&x, "queue", NULL, SHMSTAT_FIG_GAUGE, 0, 0, 2);
	assert_true(v.value == 5);
	/* bad queries */
	{
		struct shmstat_wquery qy = { .name = "lat", .fig = SHMSTAT_FIG_QUANTILE, .q = 1.5 };

		assert_int_equal(shmstat_window((shmstat_frame *const *)x.f, x.n, &qy, 0, UINT64_MAX,
						&v), EINVAL);
		qy.q = 0.5;
		qy.labels = "tier=a";                     /* not canonical */
		assert_int_equal(shmstat_window((shmstat_frame *const *)x.f, x.n, &qy, 0, UINT64_MAX,
						&v), EINVAL);
	}
	fix_close(&x);
}

static void test_sig(void **state)
{
	struct fix x;
	struct shmstat_wvalue v;

	(void)state;
	fix_open(&x, "wsig");
	shmstat_sig_hit(x.sig, "k1", 2, 5, 0);
	record_at(&x, 0);
	for (int i = 0; i < 30; i++)
		shmstat_sig_hit(x.sig, "k1", 2, 5, 0);
	for (int i = 0; i < 10; i++)
		shmstat_sig_miss(x.sig, "k2", 2, 0);
	record_at(&x, 1);
	load(&x);
	v = win(&x, "sigs", NULL, SHMSTAT_FIG_SIG_HIT_RATE, 0, 0, 1);
	assert_true(v.has_value);
	assert_int_equal(v.samples, 40);
	assert_true(fabs(v.value - 0.75) < 1e-12);
	v = win(&x, "sigs", NULL, SHMSTAT_FIG_SIG_WEIGHT, 0, 0, 1);
	assert_true(v.value == 150);
	v = win(&x, "sigs", NULL, SHMSTAT_FIG_SIG_MISSES, 0, 0, 1);
	assert_true(v.value == 10);
	fix_close(&x);
}

/* An owner's figures over a window: its exact totals' increases, the
 * table's untouched; an owner that appears inside the window counts
 * from its first record there, one nobody has is no series. */
static void test_sig_owner(void **state)
{
	struct shmstat_wquery qy = { .name = "sigs", .fig = SHMSTAT_FIG_SIG_WEIGHT };
	struct fix x;
	struct shmstat_wvalue v;
	uint32_t a, b;

	(void)state;
	fix_open(&x, "wown");
	assert_int_equal(shmstat_sig_owner(x.sig, "acct-a", &a), 0);
	shmstat_sig_hit(x.sig, "k1", 2, 5, a);
	record_at(&x, 0);
	for (int i = 0; i < 30; i++)
		shmstat_sig_hit(x.sig, "k1", 2, 5, a);
	for (int i = 0; i < 10; i++)
		shmstat_sig_miss(x.sig, "k2", 2, a);
	shmstat_sig_hit(x.sig, "k3", 2, 100, 0);       /* no owner */
	assert_int_equal(shmstat_sig_owner(x.sig, "acct-b", &b), 0);
	record_at(&x, 1);
	for (int i = 0; i < 4; i++)
		shmstat_sig_hit(x.sig, "k4", 2, 7, b);
	record_at(&x, 2);
	load(&x);
	qy.owner = "acct-a";
	assert_int_equal(shmstat_window((shmstat_frame *const *)x.f, x.n, &qy, T0, T0 + 2 * S, &v), 0);
	assert_true(v.has_value);
	assert_true(v.value == 150);               /* 30 x 5, not k3's 100 */
	qy.fig = SHMSTAT_FIG_SIG_HIT_RATE;
	assert_int_equal(shmstat_window((shmstat_frame *const *)x.f, x.n, &qy, T0, T0 + 2 * S, &v), 0);
	assert_int_equal(v.samples, 40);
	assert_true(fabs(v.value - 0.75) < 1e-12);
	qy.fig = SHMSTAT_FIG_SIG_HITS;
	qy.owner = "acct-b";                       /* registered after record 0 */
	assert_int_equal(shmstat_window((shmstat_frame *const *)x.f, x.n, &qy, T0, T0 + 2 * S, &v), 0);
	assert_true(v.has_value);
	assert_true(v.value == 4);
	qy.owner = "acct-z";
	assert_int_equal(shmstat_window((shmstat_frame *const *)x.f, x.n, &qy, T0, T0 + 2 * S, &v), 0);
	assert_false(v.has_value);
	assert_string_equal(v.why, "no such series in the window");
	/* the table's own totals are unchanged by the owner queries */
	v = win(&x, "sigs", NULL, SHMSTAT_FIG_SIG_WEIGHT, 0, 0, 2);
	assert_true(v.value == 150 + 100 + 28);
	fix_close(&x);
}

/* A table of many owners, each one's figures asked for (as top
 * --history does): every answer exact, and each frame's owner found by
 * comparing a few names, not every owner's name before it (the names
 * compared are counted at the library's hook). */
#define MANY_OWNERS 256
#define MANY_RECORDS 6

static unsigned long names_compared;

static void count_names(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point == SHMSTAT_HOOK_OWNER_NAME)
		names_compared++;
}

static void test_many_owners(void **state)
{
	struct shmstat_metric_def d = { .name = "many" };
	struct shmstat_sigtab_opts so;
	shmstat_sigtab *t;
	uint32_t id[MANY_OWNERS];
	char key[32];
	struct fix x;
	unsigned long lookups = 0;

	(void)state;
	fix_open(&x, "wmany");
	shmstat_sigtab_opts_init(&so);
	so.capacity = 64;
	so.owners = MANY_OWNERS;
	assert_int_equal(shmstat_sigtab_register(x.seg, &d, &so, &t), 0);
	for (unsigned k = 0; k < MANY_OWNERS; k++) {
		snprintf(key, sizeof(key), "owner-%u", k);
		assert_int_equal(shmstat_sig_owner(t, key, &id[k]), 0);
	}
	for (unsigned r = 0; r < MANY_RECORDS; r++) {
		/* owner k: k + 1 hits of weight 2 each step */
		for (unsigned k = 0; k < MANY_OWNERS; k++)
			for (unsigned j = 0; j <= k; j++)
				shmstat_sig_hit(t, "k", 1, 2, id[k]);
		record_at(&x, r);
	}
	load(&x);
	assert_int_equal(x.n, MANY_RECORDS);
	names_compared = 0;
	__atomic_store_n(&shmstat__test_hook, count_names, __ATOMIC_RELEASE);
	for (unsigned k = 0; k < MANY_OWNERS; k++) {
		struct shmstat_wquery qy = { .name = "many", .fig = SHMSTAT_FIG_SIG_HITS };
		struct shmstat_wvalue v;

		snprintf(key, sizeof(key), "owner-%u", k);
		qy.owner = key;
		assert_int_equal(shmstat_window((shmstat_frame *const *)x.f, x.n, &qy, T0,
						T0 + (MANY_RECORDS - 1) * S, &v), 0);
		assert_true(v.has_value);
		assert_true(v.value == (double)((k + 1) * (MANY_RECORDS - 1)));
		lookups += MANY_RECORDS;
	}
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	print_message("%lu owner names compared for %lu lookups\n", names_compared, lookups);
	/* a walk of the owners in order compares (k + 1) names for owner k:
	 * 256 x 257 / 2 = 32,896 a frame, 128 per lookup */
	assert_true(names_compared >= lookups);
	assert_true(names_compared <= 2 * lookups);
	fix_close(&x);
}

/* Records 300 s apart, as a coarse tier keeps them: a window starts its
 * deltas at the last record at or before its start, so it covers what
 * happened since then (the reviewer's H2: it started at the first record
 * inside, and a window not longer than the step had no value). */
static void test_window_start(void **state)
{
	struct fix x;
	struct shmstat_wvalue v;

	(void)state;
	fix_open(&x, "wstart");
	/* a counts 100/s and lat records 100 values/s, at 1 us; the queue
	 * is the record's second / 300 */
	for (uint64_t k = 0; k <= 12; k++) {
		if (k) {
			shmstat_counter_add(x.ca, 300 * 100);
			shmstat_hist_record_n(x.lat, 1000, 300 * 100);
		}
		shmstat_gauge_set(x.g, (int64_t)k);
		record_at(&x, 300 * k);
	}
	load(&x);
	assert_int_equal(x.n, 13);
	/* [2000, 3600]: from the record at 1800, 30 min of 100/s */
	v = win(&x, "req_total", "tier=\"a\"", SHMSTAT_FIG_INCREASE, 0, 2000, 3600);
	assert_true(v.has_value && v.value == 180000);
	assert_int_equal(v.from_ns, T0 + 1800 * S);
	assert_int_equal(v.to_ns, T0 + 3600 * S);
	/* the rate over the records used: 180000 / 1800 s */
	v = win(&x, "req_total", "tier=\"a\"", SHMSTAT_FIG_RATE, 0, 2000, 3600);
	assert_true(v.has_value && v.value == 100);
	/* a histogram's count over the window, and its quantile's samples */
	v = win(&x, "lat", NULL, SHMSTAT_FIG_INCREASE, 0, 2000, 3600);
	assert_true(v.value == 180000);
	v = win(&x, "lat", NULL, SHMSTAT_FIG_QUANTILE, 0.5, 2000, 3600);
	assert_true(v.has_value);
	assert_int_equal(v.samples, 180000);
	assert_true(fabs(v.value - 1000) <= 1000.0 / 128);
	/* a 5 min window with one record inside: from 3000 to 3300 */
	v = win(&x, "req_total", "tier=\"a\"", SHMSTAT_FIG_INCREASE, 0, 3200, 3500);
	assert_true(v.has_value && v.value == 30000);
	assert_int_equal(v.from_ns, T0 + 3000 * S);
	assert_int_equal(v.to_ns, T0 + 3300 * S);
	/* a record at the start itself is where it starts */
	v = win(&x, "req_total", "tier=\"a\"", SHMSTAT_FIG_INCREASE, 0, 1800, 3600);
	assert_true(v.value == 180000);
	assert_int_equal(v.from_ns, T0 + 1800 * S);
	/* before the first record: from the first record */
	v = win(&x, "req_total", "tier=\"a\"", SHMSTAT_FIG_INCREASE, 0, 0, 600);
	assert_true(v.value == 60000);
	assert_int_equal(v.from_ns, T0);
	/* no record after the start: no value */
	v = win(&x, "req_total", "tier=\"a\"", SHMSTAT_FIG_INCREASE, 0, 3610, 3700);
	assert_false(v.has_value);
	/* a gauge: still its value in the window's last record (none: none) */
	v = win(&x, "queue", NULL, SHMSTAT_FIG_GAUGE, 0, 3200, 3500);
	assert_true(v.has_value && v.value == 11);
	v = win(&x, "queue", NULL, SHMSTAT_FIG_GAUGE, 0, 3310, 3500);
	assert_false(v.has_value);
	fix_close(&x);
}

static void test_trend(void **state)
{
	struct fix x;
	struct shmstat_trend tr;
	struct shmstat_wquery qy = { .name = "req_total", .labels = "tier=\"a\"",
				     .fig = SHMSTAT_FIG_RATE };

	(void)state;
	fix_open(&x, "wtrend");
	/* a's rate rises by 10/s every second; b's stays 100/s */
	for (uint64_t k = 0; k <= 20; k++) {
		shmstat_counter_add(x.ca, 100 + 10 * k);
		shmstat_counter_add(x.cb, 100);
		record_at(&x, k);
	}
	load(&x);
	assert_int_equal(shmstat_window_trend((shmstat_frame *const *)x.f, x.n, &qy, T0,
					      T0 + 20 * S, 0, &tr), 0);
	assert_int_equal(tr.points, 20);
	assert_true(fabs(tr.slope_per_s - 10) < 1e-6);  /* exactly linear */
	assert_true(tr.first == 110 && tr.last == 300);
	assert_int_equal(tr.direction, 1);
	/* the mean rate is 205/s; the points span 19 s: 190/205 = 92.7% */
	assert_true(fabs(tr.change_pct - 190.0 / 205.0 * 100) < 1e-6);
	qy.labels = "tier=\"b\"";
	assert_int_equal(shmstat_window_trend((shmstat_frame *const *)x.f, x.n, &qy, T0,
					      T0 + 20 * S, 5 * S, &tr), 0);
	assert_int_equal(tr.points, 4);                  /* 5 s sub-windows */
	assert_true(fabs(tr.slope_per_s) < 1e-9);
	assert_int_equal(tr.direction, 0);
	/* a step that does not divide the window: the sub-windows end at its
	 * end (2..8 s first, 14..20 s last: 155/s, 275/s), its oldest 2 s are
	 * left out, not its newest */
	qy.labels = "tier=\"a\"";
	assert_int_equal(shmstat_window_trend((shmstat_frame *const *)x.f, x.n, &qy, T0,
					      T0 + 20 * S, 6 * S, &tr), 0);
	assert_int_equal(tr.points, 3);
	assert_true(fabs(tr.first - 155) < 1e-9 && fabs(tr.last - 275) < 1e-9);
	/* falling: the gauge */
	qy.labels = "tier=\"a\"";
	assert_int_equal(shmstat_window_trend((shmstat_frame *const *)x.f, x.n, &qy, T0 + 19 * S,
					      T0 + 20 * S, 0, &tr), 0);
	assert_int_equal(tr.points, 1);                  /* one pair: no slope */
	assert_int_equal(tr.direction, 0);
	fix_close(&x);
}

/* A gap in the history (records at 0..10 s and 40..50 s, nothing
 * counted between): the sub-window that starts in the gap takes its
 * figure between the records at 10 and 40 s, 30 s; past 3 steps it
 * takes no point (left_out), at 3 steps it still does; the frames and
 * the records read one at a time agree. */
static void test_trend_gap(void **state)
{
	struct fix x;
	struct shmstat_trend tr, ts;
	struct shmstat_wquery qy = { .name = "req_total", .labels = "tier=\"b\"",
				     .fig = SHMSTAT_FIG_RATE };

	(void)state;
	fix_open(&x, "wtgap");
	for (uint64_t k = 0; k <= 50; k++) {
		if (k > 10 && k < 40)
			continue;
		shmstat_counter_add(x.cb, 100);
		shmstat_gauge_set(x.g, 7);
		record_at(&x, k);
	}
	load(&x);
	/* steps of 2 s: 2..10 and 42..50 at 100/s, 12..38 no value, 40
	 * (from the record at 10 s) left out */
	assert_int_equal(shmstat_window_trend((shmstat_frame *const *)x.f, x.n, &qy, T0,
					      T0 + 50 * S, 2 * S, &tr), 0);
	assert_int_equal(tr.points, 10);
	assert_int_equal(tr.left_out, 1);
	assert_true(tr.first == 100 && tr.last == 100 && tr.mean == 100);
	assert_true(tr.slope_per_s == 0 && tr.direction == 0);
	assert_int_equal(shmstat_history_trend(x.h, NULL, NULL, &qy, T0, T0 + 50 * S, 2 * S,
					       &ts, NULL, NULL), 0);
	assert_int_equal(ts.points, 10);
	assert_int_equal(ts.left_out, 1);
	assert_true(ts.slope_per_s == 0);
	/* steps of 10 s: 30..40 spans 30 s, 3 steps, not more: a point
	 * (100 / 30 s) */
	assert_int_equal(shmstat_window_trend((shmstat_frame *const *)x.f, x.n, &qy, T0,
					      T0 + 50 * S, 10 * S, &tr), 0);
	assert_int_equal(tr.points, 3);
	assert_int_equal(tr.left_out, 0);
	/* steps of 0 (between consecutive frames): none left out */
	assert_int_equal(shmstat_window_trend((shmstat_frame *const *)x.f, x.n, &qy, T0,
					      T0 + 50 * S, 0, &tr), 0);
	assert_int_equal(tr.points, 21);
	assert_int_equal(tr.left_out, 0);
	/* the gauge's figure is in its sub-window: never left out (2..10,
	 * 40..50) */
	qy = (struct shmstat_wquery){ .name = "queue", .fig = SHMSTAT_FIG_GAUGE };
	assert_int_equal(shmstat_window_trend((shmstat_frame *const *)x.f, x.n, &qy, T0,
					      T0 + 50 * S, 2 * S, &tr), 0);
	assert_int_equal(tr.points, 11);
	assert_int_equal(tr.left_out, 0);
	fix_close(&x);
}

/* Two series of one histogram with different bucket layouts cannot be
 * summed: no quantile or mean, rather than the figure of one of them
 * (it was 1ms, of 100 values, for 1000 values of 1us and 100 of 1ms). */
static void test_hist_layouts(void **state)
{
	struct fix x;
	struct shmstat_wvalue v;
	struct shmstat_hist_opts ho;
	shmstat_hist *a, *b;

	(void)state;
	fix_open(&x, "wlayout");
	shmstat_hist_opts_init(&ho);
	assert_int_equal(shmstat_hist_register(x.seg, &(struct shmstat_metric_def){
		.name = "mixed", .unit = "ns",
		.labels = (const char *[]){ "k", "a", NULL } }, &ho, &a), 0);
	ho.bits = 3;
	assert_int_equal(shmstat_hist_register(x.seg, &(struct shmstat_metric_def){
		.name = "mixed", .unit = "ns",
		.labels = (const char *[]){ "k", "b", NULL } }, &ho, &b), 0);
	record_at(&x, 0);
	shmstat_hist_record_n(a, 1000, 1000);
	shmstat_hist_record_n(b, 1000000, 100);
	record_at(&x, 1);
	load(&x);
	v = win(&x, "mixed", NULL, SHMSTAT_FIG_QUANTILE, 0.5, 0, 1);
	assert_false(v.has_value);
	assert_non_null(v.why);
	v = win(&x, "mixed", NULL, SHMSTAT_FIG_MEAN, 0, 0, 1);
	assert_false(v.has_value);
	/* one series alone has its figures; the count sums */
	v = win(&x, "mixed", "k=\"a\"", SHMSTAT_FIG_QUANTILE, 0.5, 0, 1);
	assert_true(v.has_value && fabs(v.value - 1000) <= 1000.0 / 128 && v.samples == 1000);
	v = win(&x, "mixed", NULL, SHMSTAT_FIG_INCREASE, 0, 0, 1);
	assert_true(v.has_value && v.value == 1100);
	fix_close(&x);
}

/* The set of series changes inside the window (a series added, one
 * removed and registered again): shmstat_window() matches a query once
 * per set of series, not once per frame, and the figures are those of
 * every frame's own series. */
static void test_series_sets(void **state)
{
	const char *lb[] = { "tier", "b", NULL };
	struct shmstat_metric_def db = { .name = "req_total", .labels = lb };
	struct shmstat_wquery qy = { .name = "req_total", .fig = SHMSTAT_FIG_RATE };
	struct shmstat_trend tr;
	struct shmstat_wvalue v;
	shmstat_counter *cc;
	struct fix x;

	(void)state;
	fix_open(&x, "wsets");
	record_at(&x, 0);
	shmstat_counter_add(x.ca, 10);
	shmstat_counter_inc(x.cb);
	record_at(&x, 1);                  /* a 10, b 1 */
	cc = counter(x.seg, "c");
	shmstat_counter_add(cc, 5);
	shmstat_counter_add(x.ca, 10);
	record_at(&x, 2);                  /* a 20, b 1, c 5 (first seen) */
	assert_int_equal(shmstat_remove(x.seg, &db), 0);
	shmstat_counter_add(x.ca, 10);
	shmstat_counter_add(cc, 5);
	record_at(&x, 3);                  /* a 30, c 10; no b */
	x.cb = counter(x.seg, "b");
	shmstat_counter_add(x.cb, 7);
	record_at(&x, 4);                  /* b again: a new registration, 7 */
	shmstat_counter_add(x.ca, 10);
	shmstat_counter_add(cc, 5);
	shmstat_counter_inc(x.cb);
	record_at(&x, 5);                  /* a 40, b 8, c 15 */
	load(&x);
	assert_int_equal(x.n, 6);
	/* a +40; b +1, then its new registration whole (7) and +1; c +10
	 * after its first frame */
	v = win(&x, "req_total", NULL, SHMSTAT_FIG_INCREASE, 0, 0, 5);
	assert_true(v.has_value && v.value == 40 + 9 + 10);
	assert_int_equal(v.series, 3);
	assert_int_equal(v.resets, 1);
	v = win(&x, "req_total", NULL, SHMSTAT_FIG_INCREASE, 0, 2, 5);
	assert_true(v.value == 20 + 8 + 10);
	v = win(&x, "req_total", "tier=\"b\"", SHMSTAT_FIG_INCREASE, 0, 0, 5);
	assert_true(v.value == 9 && v.series == 1 && v.resets == 1);
	v = win(&x, "req_total", "tier=\"c\"", SHMSTAT_FIG_INCREASE, 0, 0, 5);
	assert_true(v.value == 10 && v.series == 1 && v.resets == 0);
	{
		struct shmstat_wquery ex = { .name = "req_total", .labels = "tier=\"a\"",
					     .exact = 1, .fig = SHMSTAT_FIG_INCREASE };

		assert_int_equal(shmstat_window((shmstat_frame *const *)x.f, x.n, &ex, T0,
						T0 + 5 * S, &v), 0);
		assert_true(v.value == 40 && v.series == 1);
	}
	/* each second: 11, 10 (c first seen), 15 (no b), 0 (b first seen
	 * in this sub-window), 16 */
	assert_int_equal(shmstat_window_trend((shmstat_frame *const *)x.f, x.n, &qy, T0,
					      T0 + 5 * S, S, &tr), 0);
	assert_int_equal(tr.points, 5);
	assert_true(tr.first == 11 && tr.last == 16);
	assert_true(fabs(tr.mean - (11 + 10 + 15 + 0 + 16) / 5.0) < 1e-9);
	fix_close(&x);
}

/* shmstat_history_window_select(): frames holding only the series kept,
 * and every figure over them the same as over whole frames. */
static int keep_name(void *arg, const char *name, const char *labels, enum shmstat_type type)
{
	(void)labels;
	(void)type;
	return strcmp(name, (const char *)arg) == 0;
}

static int keep_nothing(void *arg, const char *name, const char *labels, enum shmstat_type type)
{
	(void)arg;
	(void)name;
	(void)labels;
	(void)type;
	return 0;
}

static void test_select(void **state)
{
	static const struct {
		const char *name, *labels;
		enum shmstat_figure fig;
		double q;
	} qs[] = {
		{ "req_total", NULL, SHMSTAT_FIG_INCREASE, 0 },
		{ "req_total", "tier=\"b\"", SHMSTAT_FIG_RATE, 0 },
		{ "queue", NULL, SHMSTAT_FIG_GAUGE, 0 },
		{ "lat", NULL, SHMSTAT_FIG_QUANTILE, 0.9 },
		{ "lat", NULL, SHMSTAT_FIG_MEAN, 0 },
		{ "sigs", NULL, SHMSTAT_FIG_SIG_HIT_RATE, 0 },
		{ "sigs", NULL, SHMSTAT_FIG_SIG_WEIGHT, 0 },
	};
	const char *lb[] = { "tier", "b", NULL };
	struct shmstat_metric_def db = { .name = "req_total", .labels = lb };
	shmstat_frame **all, **f;
	size_t na, n;
	struct fix x;

	(void)state;
	fix_open(&x, "wsel");
	for (uint64_t t = 0; t < 12; t++) {
		shmstat_counter_add(x.ca, 10 * t);
		shmstat_counter_add(x.cb, t);
		shmstat_gauge_set(x.g, (int64_t)t - 5);
		shmstat_hist_record_n(x.lat, 1000 * (t + 1), t + 1);
		shmstat_sig_hit(x.sig, "k1", 2, t, 0);
		if (t % 2)
			shmstat_sig_miss(x.sig, "k2", 2, 0);
		if (t == 4)                /* b gone, then back: a restart */
			assert_int_equal(shmstat_remove(x.seg, &db), 0);
		if (t == 7)
			x.cb = counter(x.seg, "b");
		record_at(&x, t);
	}
	assert_int_equal(shmstat_history_window_range(x.h, T0 + 2 * S, T0 + 11 * S, &all, &na), 0);
	assert_int_equal(na, 10);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		struct shmstat_wquery qy = { .name = qs[k].name, .labels = qs[k].labels,
					     .fig = qs[k].fig, .q = qs[k].q };

		assert_int_equal(shmstat_history_window_select(x.h, T0 + 2 * S, T0 + 11 * S,
							       keep_name, (void *)qs[k].name, &f,
							       &n), 0);
		assert_int_equal(n, na);
		for (size_t j = 0; j < n; j++) {
			struct shmstat_frame_info fa, fs;
			size_t kept = 0;

			shmstat_frame_info(all[j], &fa);
			shmstat_frame_info(f[j], &fs);
			assert_true(fa.time_ns == fs.time_ns && fa.generation == fs.generation);
			assert_string_equal(fa.segment, fs.segment);
			for (size_t i = 0; i < fa.series; i++) {
				struct shmstat_series a, b;
				long si;

				assert_int_equal(shmstat_frame_series(all[j], i, &a), 0);
				if (strcmp(a.name, qs[k].name) != 0)
					continue;
				kept++;
				si = shmstat_frame_find(f[j], a.name, a.labels);
				assert_true(si >= 0);
				assert_int_equal(shmstat_frame_series(f[j], (size_t)si, &b), 0);
				assert_true(a.counter == b.counter && a.gauge == b.gauge &&
					    a.reg_id == b.reg_id && a.sig_hits == b.sig_hits &&
					    a.top == b.top && a.owners == b.owners);
				assert_true(shmstat_frame_bytes(f[j], (size_t)si) ==
					    shmstat_frame_bytes(all[j], i));
			}
			assert_int_equal(fs.series, kept);
			assert_int_equal(shmstat_frame_bytes(f[j], fs.series), 0);
		}
		for (uint64_t a = 2; a < 11; a += 3) {
			struct shmstat_wvalue va, vs;
			struct shmstat_trend ta, ts;

			assert_int_equal(shmstat_window((shmstat_frame *const *)all, na, &qy,
							T0 + a * S, T0 + 11 * S, &va), 0);
			assert_int_equal(shmstat_window((shmstat_frame *const *)f, n, &qy,
							T0 + a * S, T0 + 11 * S, &vs), 0);
			assert_true(va.has_value == vs.has_value && va.value == vs.value &&
				    va.samples == vs.samples && va.series == vs.series &&
				    va.resets == vs.resets && va.from_ns == vs.from_ns &&
				    va.to_ns == vs.to_ns);
			assert_int_equal(shmstat_window_trend((shmstat_frame *const *)all, na, &qy,
							      T0 + a * S, T0 + 11 * S, 0, &ta), 0);
			assert_int_equal(shmstat_window_trend((shmstat_frame *const *)f, n, &qy,
							      T0 + a * S, T0 + 11 * S, 0, &ts), 0);
			assert_true(memcmp(&ta, &ts, sizeof(ta)) == 0);
		}
		shmstat_frames_free(f, n);
	}
	/* b's restart is seen through the selection */
	{
		struct shmstat_wquery qy = { .name = "req_total", .labels = "tier=\"b\"",
					     .fig = SHMSTAT_FIG_INCREASE };
		struct shmstat_wvalue v;

		assert_int_equal(shmstat_history_window_select(x.h, T0 + 2 * S, T0 + 11 * S,
							       keep_name, (void *)"req_total", &f,
							       &n), 0);
		assert_int_equal(shmstat_window((shmstat_frame *const *)f, n, &qy, T0 + 2 * S,
						T0 + 11 * S, &v), 0);
		/* +3 (t 3), gone 4..6, a new registration at 7 (0: counted
		 * whole), then 8 + 9 + 10 + 11 */
		assert_true(v.has_value && v.value == 3 + 8 + 9 + 10 + 11);
		assert_int_equal(v.resets, 1);
		shmstat_frames_free(f, n);
	}
	/* nothing kept: the records' times only; NULL: every series */
	assert_int_equal(shmstat_history_window_select(x.h, T0 + 2 * S, T0 + 11 * S, keep_nothing,
						       NULL, &f, &n), 0);
	assert_int_equal(n, na);
	for (size_t j = 0; j < n; j++) {
		struct shmstat_frame_info fs;

		shmstat_frame_info(f[j], &fs);
		assert_int_equal(fs.series, 0);
	}
	shmstat_frames_free(f, n);
	assert_int_equal(shmstat_history_window_select(x.h, T0 + 2 * S, T0 + 11 * S, NULL, NULL,
						       &f, &n), 0);
	assert_int_equal(n, na);
	shmstat_frames_free(f, n);
	shmstat_frames_free(all, na);
	fix_close(&x);
}

/* shmstat_history_windows() and shmstat_history_trend(): the records
 * read one at a time, every query of a pass answered as shmstat_window()
 * and shmstat_window_trend() answer it over the frames of
 * shmstat_history_window_select(): series that restart, appear and go,
 * two histogram layouts under one name, gauges, table owners, records
 * at uneven times, windows inside, across and outside the records;
 * queries of one pass that share a walk (the same window and series,
 * another figure) as those that do not. */
static void same_value(const struct shmstat_wvalue *a, const struct shmstat_wvalue *b)
{
	assert_int_equal(a->has_value, b->has_value);
	assert_true(a->why == b->why || (a->why && b->why && strcmp(a->why, b->why) == 0));
	assert_memory_equal(&a->value, &b->value, sizeof(a->value));
	assert_true(a->samples == b->samples && a->from_ns == b->from_ns &&
		    a->to_ns == b->to_ns && a->series == b->series && a->resets == b->resets);
}

static int keep_some(void *arg, const char *name, const char *labels, enum shmstat_type type)
{
	(void)arg;
	(void)labels;
	return type != SHMSTAT_COUNTER || strcmp(name, "req_total") == 0;
}

static void test_stream(void **state)
{
	static const struct shmstat_wquery qs[] = {
		{ .name = "req_total", .fig = SHMSTAT_FIG_INCREASE },
		{ .name = "req_total", .labels = "tier=\"b\"", .fig = SHMSTAT_FIG_RATE },
		{ .name = "req_total", .labels = "tier=\"c\"", .exact = 1, .fig = SHMSTAT_FIG_RATE },
		{ .name = "queue", .fig = SHMSTAT_FIG_GAUGE },
		{ .name = "lat", .fig = SHMSTAT_FIG_QUANTILE, .q = 0.9 },
		{ .name = "lat", .labels = "l=\"w\"", .fig = SHMSTAT_FIG_MEAN },
		{ .name = "lat", .fig = SHMSTAT_FIG_RATE },
		{ .name = "sigs", .fig = SHMSTAT_FIG_SIG_HIT_RATE },
		{ .name = "sigs", .fig = SHMSTAT_FIG_SIG_WEIGHT, .owner = "acct" },
		{ .name = "nothing", .fig = SHMSTAT_FIG_INCREASE },
		/* each the same walk as one above (window.c, calc_shares()) */
		{ .name = "req_total", .labels = "", .fig = SHMSTAT_FIG_RATE },
		{ .name = "lat", .fig = SHMSTAT_FIG_QUANTILE, .q = 0.5 },
		{ .name = "lat", .fig = SHMSTAT_FIG_MEAN },
		{ .name = "lat", .fig = SHMSTAT_FIG_INCREASE },
		{ .name = "sigs", .fig = SHMSTAT_FIG_SIG_HITS },
		{ .name = "sigs", .fig = SHMSTAT_FIG_SIG_MISSES, .owner = "acct" },
		{ .name = "sigs", .fig = SHMSTAT_FIG_SIG_EVICTIONS },
		{ .name = "queue", .fig = SHMSTAT_FIG_GAUGE },
	};
	static const uint64_t secs[] = { 0, 1, 2, 4, 5, 6, 9, 10, 11, 12, 20, 21, 22, 23, 24, 30 };
	const size_t nqs = sizeof(qs) / sizeof(qs[0]), nsec = sizeof(secs) / sizeof(secs[0]);
	const char *lb[] = { "tier", "b", NULL }, *lw[] = { "l", "w", NULL };
	struct shmstat_metric_def db = { .name = "req_total", .labels = lb };
	struct shmstat_metric_def dw = { .name = "lat", .labels = lw };
	struct shmstat_hist_opts ho;
	struct shmstat_wrange *r;
	struct shmstat_wvalue *v;
	shmstat_counter *cc = NULL;
	shmstat_hist *wide = NULL;
	uint32_t acct;
	struct fix x;

	(void)state;
	fix_open(&x, "wstream");
	shmstat_hist_opts_init(&ho);
	ho.bits = 3;
	assert_int_equal(shmstat_sig_owner(x.sig, "acct", &acct), 0);
	for (size_t i = 0; i < nsec; i++) {
		shmstat_counter_add(x.ca, 3 * i + 1);
		shmstat_counter_add(x.cb, i);
		if (i % 3)
			shmstat_gauge_set(x.g, (int64_t)i - 4);
		shmstat_hist_record_n(x.lat, 1000 * (i + 1), i + 1);
		shmstat_sig_hit(x.sig, "k1", 2, i, i % 2 ? acct : 0);
		if (i % 2)
			shmstat_sig_miss(x.sig, "k2", 2, acct);
		if (i == 3)
			cc = counter(x.seg, "c");              /* appears */
		if (cc)
			shmstat_counter_add(cc, 5);
		if (i == 5)                                    /* b restarts */
			assert_int_equal(shmstat_remove(x.seg, &db), 0);
		if (i == 6)
			x.cb = counter(x.seg, "b");
		if (i == 7)                                    /* another layout */
			assert_int_equal(shmstat_hist_register(x.seg, &dw, &ho, &wide), 0);
		if (wide)
			shmstat_hist_record_n(wide, 500 * i, 2);
		if (i == 11) {                                 /* goes */
			assert_int_equal(shmstat_remove(x.seg, &dw), 0);
			wide = NULL;
		}
		record_at(&x, secs[i]);
	}
	r = calloc(nqs * 40 * 40, sizeof(*r));
	v = calloc(nqs * 40 * 40, sizeof(*v));
	assert_non_null(r);
	assert_non_null(v);
	/* frames [F, T], each query over every [a, b] around them */
	for (uint64_t F = 0; F <= 32; F += 4)
		for (uint64_t T = F; T <= 33; T += 5) {
			shmstat_frame **f;
			struct shmstat_wread rd;
			size_t n, nq = 0;

			assert_int_equal(shmstat_history_window_select(x.h, T0 + F * S, T0 + T * S,
								       keep_some, NULL, &f, &n), 0);
			for (uint64_t a = F >= 2 ? F - 2 : 0; a <= T + 1; a++)
				for (uint64_t b = a >= 1 ? a - 1 : 0; b <= T + 2; b += 2)
					for (size_t k = 0; k < nqs; k++)
						r[nq++] = (struct shmstat_wrange){ qs[k], T0 + a * S,
										   T0 + b * S };
			assert_true(nq <= nqs * 40 * 40);
			assert_int_equal(shmstat_history_windows(x.h, T0 + F * S, T0 + T * S, keep_some,
								 NULL, r, nq, v, &rd), 0);
			assert_int_equal(rd.records, n);
			for (size_t k = 0; k < nq; k++) {
				struct shmstat_wvalue w;

				assert_int_equal(shmstat_window((shmstat_frame *const *)f, n, &r[k].qy,
								r[k].from_ns, r[k].to_ns, &w), 0);
				same_value(&v[k], &w);
			}
			for (size_t k = 0; k < nqs && T > F; k++)
				for (uint64_t st = 1; st <= 3; st++) {
					struct shmstat_trend ta, tb;
					struct shmstat_wvalue wa, wb;

					assert_int_equal(shmstat_history_trend(x.h, keep_some, NULL,
									       &qs[k], T0 + F * S,
									       T0 + T * S, st * S, &tb,
									       &wb, &rd), 0);
					assert_int_equal(shmstat_window_trend((shmstat_frame *const *)f,
									      n, &qs[k], T0 + F * S,
									      T0 + T * S, st * S,
									      &ta), 0);
					assert_int_equal(shmstat_window((shmstat_frame *const *)f, n,
									&qs[k], T0 + F * S,
									T0 + T * S, &wa), 0);
					assert_memory_equal(&ta, &tb, sizeof(ta));
					same_value(&wa, &wb);
					assert_int_equal(rd.records, n);
				}
			shmstat_frames_free(f, n);
		}
	/* bad queries, a step of 0 */
	{
		struct shmstat_wrange bad = { { .name = "lat", .fig = SHMSTAT_FIG_QUANTILE, .q = 2 },
					      T0, T0 + 9 * S };
		struct shmstat_trend tr;

		assert_int_equal(shmstat_history_windows(x.h, T0, T0 + 9 * S, NULL, NULL, &bad, 1,
							 v, NULL), EINVAL);
		assert_int_equal(shmstat_history_trend(x.h, NULL, NULL, &qs[0], T0, T0 + 9 * S, 0,
						       &tr, NULL, NULL), EINVAL);
	}
	free(r);
	free(v);
	fix_close(&x);
}

/* ------------------------------------------- histograms against a reference */

#define HR_STEPS 240
#define HR_SERIES 3
#define HR_WINDOWS 150

static uint64_t hr_seed = 0x9e3779b97f4a7c15ull;

static uint64_t hr_rnd(void)
{
	hr_seed ^= hr_seed << 13;
	hr_seed ^= hr_seed >> 7;
	hr_seed ^= hr_seed << 17;
	return hr_seed;
}

static shmstat_hist *hr_register(shmstat_seg *seg, unsigned k)
{
	char v[2] = { (char)('0' + k), 0 };
	const char *labels[] = { "s", v, NULL };
	struct shmstat_metric_def d = { .name = "hr", .labels = labels, .unit = "ns" };
	struct shmstat_hist_opts o;
	shmstat_hist *h;

	shmstat_hist_opts_init(&o);
	o.bits = 4;                        /* 304 buckets: room for the registrations */
	if (shmstat_hist_register(seg, &d, &o, &h) != 0)
		fail_msg("hr{s=\"%u\"}: %s", k, shmstat_last_error());
	return h;
}

/* @acc (NULL: a new one) and the window's histogram of series @labels
 * as the library made it up to 2026-12-07, a frame at a time: each frame's histogram whole, merged the
 * difference from the frame before where no count went down
 * (shmstat_hdata_sub()), whole where the series started again (another
 * registration or segment, or its count went down). NULL: none merged. */
static shmstat_hdata *hr_reference(shmstat_frame **f, size_t n, const char *labels,
				   uint64_t from_ns, uint64_t to_ns, shmstat_hdata *acc)
{
	shmstat_hdata *prev = NULL;
	uint64_t reg = 0, gen = 0, cnt = 0;
	size_t j = 0;
	int have = 0;

	while (j < n) {                        /* the last frame at or before from_ns */
		struct shmstat_frame_info fi;

		shmstat_frame_info(f[j], &fi);
		if (fi.time_ns > from_ns)
			break;
		j++;
	}
	for (j = j > 0 ? j - 1 : 0; j < n; j++) {
		struct shmstat_frame_info fi;
		struct shmstat_series se;
		shmstat_hdata *h, *d = NULL, *m;
		long i;

		shmstat_frame_info(f[j], &fi);
		if (fi.time_ns > to_ns)
			break;
		i = shmstat_frame_find(f[j], "hr", labels);
		if (i < 0)
			continue;
		assert_int_equal(shmstat_frame_series(f[j], (size_t)i, &se), 0);
		assert_int_equal(shmstat_frame_hist(f[j], (size_t)i, &h), 0);
		m = NULL;
		if (have && (se.reg_id != reg || fi.generation != gen || se.counter < cnt))
			m = h;
		else if (have && shmstat_hdata_sub(h, prev, &d) == 0)
			m = d;
		if (m) {
			struct shmstat_hstats st;

			shmstat_hdata_stats(m, &st);
			if (acc == NULL)
				acc = shmstat__hdata_new(st.bits, st.lowest, st.highest);
			assert_non_null(acc);
			assert_int_equal(shmstat_hdata_merge(acc, m), 0);
		}
		shmstat_hdata_free(d);
		shmstat_hdata_free(prev);
		prev = h;
		have = 1;
		reg = se.reg_id;
		gen = fi.generation;
		cnt = se.counter;
	}
	shmstat_hdata_free(prev);
	return acc;
}

/*
 * A window's histogram is its records' differences summed, a run of
 * records at a time (hsparse.h). Three series recorded at random for
 * HR_STEPS records, one of them removed and registered again now and
 * then (it starts again from zero); for HR_WINDOWS windows at random,
 * each series and all three: the count, mean and quantiles of
 * shmstat_window() and shmstat_history_windows() must be exactly those
 * of the histogram built as before (hr_reference()), and the count that
 * of the values recorded inside the window (after its first record, up
 * to its last).
 */
static void test_hist_reference(void **state)
{
	static const char *const sel[] = { "s=\"0\"", "s=\"1\"", "s=\"2\"", NULL };
	static const double qs[] = { 0.5, 0.9, 0.99, 1 };
	static uint32_t nrec[HR_STEPS + 1][HR_SERIES];
	shmstat_hist *hr[HR_SERIES];
	struct fix x;

	(void)state;
	fix_open(&x, "whref");
	for (unsigned k = 0; k < HR_SERIES; k++)
		hr[k] = hr_register(x.seg, k);
	for (unsigned st = 0; st <= HR_STEPS; st++) {
		if (st > 0 && hr_rnd() % 30 == 0) {   /* series 0 starts again */
			char v[2] = { '0', 0 };
			const char *labels[] = { "s", v, NULL };
			struct shmstat_metric_def d = { .name = "hr", .labels = labels, .unit = "ns" };

			assert_int_equal(shmstat_remove(x.seg, &d), 0);
			hr[0] = hr_register(x.seg, 0);
		}
		for (unsigned k = 0; k < HR_SERIES; k++) {
			nrec[st][k] = (uint32_t)(hr_rnd() % 6);
			for (uint32_t r = 0; r < nrec[st][k]; r++)
				shmstat_hist_record(hr[k], 1000 + hr_rnd() % (k == 2 ? 5000000 : 50000));
		}
		record_at(&x, st);
	}
	load(&x);
	assert_int_equal(x.n, HR_STEPS + 1);
	for (unsigned w = 0; w < HR_WINDOWS; w++) {
		const uint64_t from = hr_rnd() % HR_STEPS, to = from + 1 + hr_rnd() % (HR_STEPS - from);

		for (unsigned k = 0; k <= HR_SERIES; k++) {
			shmstat_hdata *ref = NULL;
			struct shmstat_wrange q[5];
			struct shmstat_wvalue got[5], one;
			struct shmstat_hstats st = { 0 };
			uint64_t recorded = 0;

			for (unsigned j = 0; j < HR_SERIES; j++) {
				if (k != HR_SERIES && j != k)
					continue;
				ref = hr_reference(x.f, x.n, sel[j], T0 + from * S, T0 + to * S, ref);
				for (uint64_t s2 = from + 1; s2 <= to; s2++)
					recorded += nrec[s2][j];
			}
			if (ref)
				shmstat_hdata_stats(ref, &st);
			assert_int_equal(st.count, recorded);
			for (unsigned i = 0; i < 5; i++)
				q[i] = (struct shmstat_wrange){ { .name = "hr", .labels = sel[k],
								  .fig = i < 4 ? SHMSTAT_FIG_QUANTILE
									       : SHMSTAT_FIG_MEAN,
								  .q = i < 4 ? qs[i] : 0 },
								T0 + from * S, T0 + to * S };
			assert_int_equal(shmstat_history_windows(x.h, T0 + from * S, T0 + to * S, NULL,
								 NULL, q, 5, got, NULL), 0);
			for (unsigned i = 0; i < 5; i++) {
				uint64_t want = 0;

				assert_int_equal(shmstat_window((shmstat_frame *const *)x.f, x.n, &q[i].qy,
								q[i].from_ns, q[i].to_ns, &one), 0);
				assert_int_equal(one.has_value, got[i].has_value);
				assert_true(one.value == got[i].value);
				assert_int_equal(one.samples, got[i].samples);
				assert_int_equal(one.samples, recorded);
				assert_int_equal(one.has_value, recorded > 0);
				if (!recorded)
					continue;
				if (i < 4)
					assert_int_equal(shmstat_hdata_quantiles(ref, &qs[i], 1, &want), 0);
				if (i < 4 ? one.value != (double)want : one.value != st.mean)
					fail_msg("window %llu..%llu s of hr{%s}, figure %u: %.17g, not %.17g",
						 (unsigned long long)from, (unsigned long long)to,
						 sel[k] ? sel[k] : "", i, one.value,
						 i < 4 ? (double)want : st.mean);
			}
			shmstat_hdata_free(ref);
		}
	}
	fix_close(&x);
}

/* The run's parts alone (hsparse.h): a step is part of a run only where
 * no count went down, as shmstat_hdata_sub() would take it; a run's
 * difference added is the sum of its steps' differences. */
static void test_hsparse(void **state)
{
	uint32_t ia[] = { 2, 5, 9 }, ib[] = { 2, 5, 7, 9 }, ic[] = { 2, 9 };
	uint64_t ca[] = { 3, 1, 4 }, cb[] = { 3, 2, 1, 4 }, cc[] = { 5, 9 };
	struct shmstat__hsparse a = { 4, 1, 1000000, 100, 90, 5, 1, 0, 3, 3, ia, ca };
	struct shmstat__hsparse b = { 4, 1, 1000000, 130, 95, 5, 1, 2, 4, 4, ib, cb };
	struct shmstat__hsparse c = { 4, 1, 1000000, 150, 99, 5, 1, 2, 2, 2, ic, cc };
	struct shmstat__hsparse o = a;
	shmstat_hdata *h, *full[2], *d1, *d2, *sum;
	struct shmstat_hstats st;

	(void)state;
	assert_true(shmstat__hsparse_ge(&b, &a));
	assert_true(shmstat__hsparse_ge(&a, &a));
	assert_false(shmstat__hsparse_ge(&a, &b));     /* bucket 7 gone, over down */
	assert_false(shmstat__hsparse_ge(&c, &b));     /* bucket 5 gone */
	o.bits = 5;
	assert_false(shmstat__hsparse_ge(&o, &a));     /* another layout */
	o = b;
	o.under = 0;
	assert_false(shmstat__hsparse_ge(&o, &a));     /* under went down */
	o = a;
	o.cnt = (uint64_t[]){ 3, 1, 3 };
	assert_false(shmstat__hsparse_ge(&o, &a));     /* bucket 9 down */
	/* b - a added as one is what shmstat_hdata_sub() gives, merged */
	h = shmstat__hdata_new(4, 1, 1000000);
	assert_int_equal(shmstat__hdata_add_sparse(h, &b, &a), 0);
	for (int k = 0; k < 2; k++) {
		full[k] = shmstat__hdata_new(4, 1, 1000000);
		assert_int_equal(shmstat__hdata_add_sparse(full[k], k ? &b : &a, NULL), 0);
	}
	shmstat_hdata_stats(full[1], &st);
	assert_int_equal(st.max, 95);                  /* all of b: its max */
	assert_int_equal(st.count, 1 + 2 + 3 + 2 + 1 + 4);
	assert_int_equal(shmstat_hdata_sub(full[1], full[0], &d1), 0);
	sum = shmstat__hdata_new(4, 1, 1000000);
	assert_int_equal(shmstat_hdata_merge(sum, d1), 0);
	hy_check_hdata(h, sum);
	shmstat_hdata_stats(h, &st);
	assert_int_equal(st.count, 2 + 1 + 1);         /* over +2, bucket 5 +1, 7 +1 */
	assert_int_equal(st.sum, 30);
	/* and a run of two steps, a then b then c's copy that only grew */
	o = b;
	o.sum = 200;
	o.cnt = (uint64_t[]){ 4, 2, 1, 6 };
	assert_true(shmstat__hsparse_ge(&o, &b));
	assert_int_equal(shmstat_hdata_sub(full[1], full[0], &d2), 0);
	shmstat_hdata_free(d2);
	shmstat_hdata_free(h);
	h = shmstat__hdata_new(4, 1, 1000000);
	assert_int_equal(shmstat__hdata_add_sparse(h, &o, &a), 0);
	shmstat_hdata_stats(h, &st);
	assert_int_equal(st.count, 2 + 1 + 1 + 1 + 2);
	assert_int_equal(st.sum, 100);
	o.bits = 5;
	assert_int_equal(shmstat__hdata_add_sparse(h, &o, NULL), EINVAL);
	shmstat_hdata_stats(h, &st);
	assert_int_equal(st.count, 7);                 /* unchanged */
	shmstat_hdata_free(h);
	shmstat_hdata_free(sum);
	shmstat_hdata_free(d1);
	for (int k = 0; k < 2; k++)
		shmstat_hdata_free(full[k]);
}

static void test_labels_match(void **state)
{
	(void)state;
	assert_int_equal(shmstat_labels_match("a=\"1\",b=\"2\"", "b=\"2\""), 1);
	assert_int_equal(shmstat_labels_match("a=\"1\",b=\"2\"", "b=\"2\",a=\"1\""), 1);
	assert_int_equal(shmstat_labels_match("a=\"1\",b=\"2\"", "b=\"3\""), 0);
	assert_int_equal(shmstat_labels_match("a=\"1\"", "a=\"1\",c=\"x\""), 0);
	assert_int_equal(shmstat_labels_match("a=\"x\\\"y\"", "a=\"x\\\"y\""), 1);
	assert_int_equal(shmstat_labels_match("a=\"1\"", ""), 1);
	assert_int_equal(shmstat_labels_match("a=\"1\"", NULL), 1);
	assert_int_equal(shmstat_labels_match("a=\"1\"", "a=1"), -1);
	assert_int_equal(shmstat_labels_match("a=\"1\"", "a=\"1"), -1);
	assert_int_equal(shmstat_labels_match("a=\"1\"", "=\"1\""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_histogram_gauge),
		cmocka_unit_test(test_sig),
		cmocka_unit_test(test_sig_owner),
		cmocka_unit_test(test_many_owners),
		cmocka_unit_test(test_window_start),
		cmocka_unit_test(test_trend),
		cmocka_unit_test(test_trend_gap),
		cmocka_unit_test(test_hist_layouts),
		cmocka_unit_test(test_hist_reference),
		cmocka_unit_test(test_hsparse),
		cmocka_unit_test(test_series_sets),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_labels_match),
	};

	return cmocka_run_group_tests(tests, ut_setup, ut_teardown);
}
