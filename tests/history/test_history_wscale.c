/*
 * test_history_wscale.c - many series in a window stream
 * (shmstat_history_windows()), as show --window and serve's
 * /api/v1/window ask: one query per series of the history.
 *
 * A history of 1,500 counters, 500 gauges and a family of 200 counters
 * of one name (label k), one more counter registered between the second
 * and third record (another set of series). Each series asked for
 * exactly, as show --window does, and the family by its name and by a
 * label: every answer is the one shmstat_window() gives over the frames
 * read whole (one query at a time), and the one the steps made.
 *
 * The series each query looks at to find its own are counted at the
 * library's hook (SHMSTAT_HOOK_WINDOW_SERIES): a few a query and frame.
 * Before, every query looked at every series of every set (and a gauge's
 * at every frame): 9.9 million here, 5,301 now; for 20,000
 * counters, 7 s of CPU for `shmstat show --history H --window 1h`, during
 * which `shmstat serve` answered nothing, /healthz included.
 *
 * A query that matches many series (the family by its name) finds the
 * track of each by its name and labels (SHMSTAT_HOOK_WINDOW_TRACK), not
 * by comparing it with every track before it.
 *
 * And shmstat_frame_find() of every series of the first and last frames
 * (as top --history and show --window do for each table): each at its
 * index, in a binary search's comparisons (counted at
 * SHMSTAT_HOOK_FRAME_FIND), where a walk of the series compared half
 * of them a lookup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ut_common.h"
#include "hook.h"
#include "shmstat.h"
#include "shmstat_history.h"
#include "shmstat_window.h"

#define S UINT64_C(1000000000)
#define T0 (UINT64_C(1700000000) * S)
#define NC 1500                        /* counters c_NNNNN_total */
#define NG 500                         /* gauges g_NNNNN */
#define NF 200                         /* fam_total{k="N"} */
#define NREC 3

static unsigned long looked, compared, tracked;

static void count_looked(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point == SHMSTAT_HOOK_WINDOW_SERIES)
		looked++;
	if (point == SHMSTAT_HOOK_FRAME_FIND)
		compared++;
	if (point == SHMSTAT_HOOK_WINDOW_TRACK)
		tracked++;
}

/* Every series of frame @f found by its name and labels at its own
 * index, and a name none has not found; the series compared counted:
 * a binary search's, not a walk's (2,201 x 2,202 / 2 = 2.4 million a
 * frame before, about 12 a lookup now). */
static void find_all(const shmstat_frame *f)
{
	struct shmstat_frame_info fi;

	shmstat_frame_info(f, &fi);
	compared = 0;
	__atomic_store_n(&shmstat__test_hook, count_looked, __ATOMIC_RELEASE);
	for (size_t i = 0; i < fi.series; i++) {
		struct shmstat_series s;

		assert_int_equal(shmstat_frame_series(f, i, &s), 0);
		assert_int_equal(shmstat_frame_find(f, s.name, s.labels), (long)i);
	}
	assert_int_equal(shmstat_frame_find(f, "c_00001_total", "k=\"1\""), -1);
	assert_int_equal(shmstat_frame_find(f, "fam_total", NULL), -1);
	assert_int_equal(shmstat_frame_find(f, "zz", ""), -1);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	print_message("%lu series compared to find %zu\n", compared, fi.series);
	assert_true(compared <= 14 * (fi.series + 3));
}

static void record_at(const char *name, shmstat_history *h, uint64_t sec)
{
	shmstat_reader *r;
	shmstat_snap *s;
	unsigned w = 0;

	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	assert_int_equal(shmstat_history_append(h, s, T0 + sec * S, &w), 0);
	assert_int_equal(w, 1);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
}

static void same(const struct shmstat_wvalue *a, const struct shmstat_wvalue *b)
{
	assert_int_equal(a->has_value, b->has_value);
	assert_true(a->value == b->value);
	assert_int_equal(a->samples, b->samples);
	assert_int_equal(a->series, b->series);
	assert_int_equal(a->resets, b->resets);
	assert_int_equal(a->from_ns, b->from_ns);
	assert_int_equal(a->to_ns, b->to_ns);
}

static void test_many_series(void **state)
{
	const char *name = ut_name("wscale");
	static char names[NC + NG + NF + 1][32], labels[NF][16];
	static shmstat_counter *c[NC], *fam[NF];
	static shmstat_gauge *g[NG];
	struct shmstat_wrange *q;
	struct shmstat_wvalue *v, ref;
	struct shmstat_history_opts ho;
	struct shmstat_opts o;
	shmstat_history *h;
	shmstat_frame **f;
	shmstat_seg *seg;
	shmstat_counter *late = NULL;
	char path[256];
	size_t nf, nq = 0;

	(void)state;
	ut_small_opts(&o);
	o.max_metrics = 4096;
	o.max_values = 8192;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	for (unsigned i = 0; i < NC; i++) {
		struct shmstat_metric_def d = { .name = names[i] };

		snprintf(names[i], sizeof(names[i]), "c_%05u_total", i);
		assert_int_equal(shmstat_counter_register(seg, &d, &c[i]), 0);
	}
	for (unsigned i = 0; i < NG; i++) {
		struct shmstat_metric_def d = { .name = names[NC + i] };

		snprintf(names[NC + i], sizeof(names[NC + i]), "g_%05u", i);
		assert_int_equal(shmstat_gauge_register(seg, &d, SHMSTAT_AGG_SUM, &g[i]), 0);
		shmstat_gauge_set(g[i], (int64_t)i - 100);
	}
	for (unsigned i = 0; i < NF; i++) {
		const char *lb[] = { "k", labels[i], NULL };
		struct shmstat_metric_def d = { .name = "fam_total", .labels = lb };

		snprintf(labels[i], sizeof(labels[i]), "%u", i);
		assert_int_equal(shmstat_counter_register(seg, &d, &fam[i]), 0);
	}
	snprintf(path, sizeof(path), "/tmp/shmstat-wscale-%d.hist", (int)getpid());
	unlink(path);
	shmstat_history_opts_init(&ho);
	ho.ntiers = 1;
	ho.tier[0] = (struct shmstat_tier){ S, 3600 * S };
	ho.max_bytes = 8u << 20;
	assert_int_equal(shmstat_history_create(path, &ho, &h), 0);
	assert_int_equal(shmstat_history_set_segment(h, name), 0);
	/* step k: counter i gains i + k, fam_total{k="i"} gains 1 */
	for (unsigned k = 0; k < NREC; k++) {
		for (unsigned i = 0; i < NC; i++)
			shmstat_counter_add(c[i], i + k);
		for (unsigned i = 0; i < NF; i++)
			shmstat_counter_inc(fam[i]);
		if (k == NREC - 1) {               /* another set of series */
			struct shmstat_metric_def d = { .name = "late_total" };

			assert_int_equal(shmstat_counter_register(seg, &d, &late), 0);
			shmstat_counter_add(late, 7);
		}
		record_at(name, h, k);
	}
	/* every series exactly, as show --window asks, then the family */
	q = calloc(NC + NG + 3, sizeof(*q));
	v = calloc(NC + NG + 3, sizeof(*v));
	assert_non_null(q);
	assert_non_null(v);
	for (unsigned i = 0; i < NC + NG; i++)
		q[nq++].qy = (struct shmstat_wquery){ .name = names[i], .labels = "", .exact = 1,
						      .fig = i < NC ? SHMSTAT_FIG_INCREASE
								    : SHMSTAT_FIG_GAUGE };
	q[nq++].qy = (struct shmstat_wquery){ .name = "fam_total", .fig = SHMSTAT_FIG_INCREASE };
	q[nq++].qy = (struct shmstat_wquery){ .name = "fam_total", .labels = "k=\"7\"",
					      .fig = SHMSTAT_FIG_INCREASE };
	q[nq++].qy = (struct shmstat_wquery){ .name = "late_total", .labels = "", .exact = 1,
					      .fig = SHMSTAT_FIG_INCREASE };
	for (size_t k = 0; k < nq; k++) {
		q[k].from_ns = T0;
		q[k].to_ns = T0 + (NREC - 1) * S;
	}
	looked = tracked = 0;
	__atomic_store_n(&shmstat__test_hook, count_looked, __ATOMIC_RELEASE);
	assert_int_equal(shmstat_history_windows(h, T0, T0 + (NREC - 1) * S, NULL, NULL, q, nq, v,
						 NULL),
			 0);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	print_message("%lu series looked at by %zu queries over %d records of %d series, "
		      "%lu tracks compared\n", looked, nq, NREC, NC + NG + NF + 1, tracked);
	/* each query finds its own series: one a set (a gauge: a frame),
	 * the family's queries its 200; before, 9.9 million */
	assert_true(looked <= 2 * NREC * nq + 2 * NREC * NF);
	/* and finds the track of each series it matched by its name and
	 * labels: the family's query compared each of its 200 series with
	 * every track before it, 40,000 for its two sets */
	assert_true(tracked <= looked);
	/* the answers: the steps', and shmstat_window()'s over whole frames */
	for (unsigned i = 0; i < NC; i++) {
		assert_true(v[i].has_value);
		assert_true(v[i].value == (double)(2 * i + 3));      /* i + 1, i + 2 */
	}
	for (unsigned i = 0; i < NG; i++) {
		assert_true(v[NC + i].has_value);
		assert_true(v[NC + i].value == (double)i - 100);
	}
	assert_true(v[NC + NG].value == 2.0 * NF);
	assert_int_equal(v[NC + NG].series, NF);
	assert_true(v[NC + NG + 1].value == 2);
	assert_int_equal(v[NC + NG + 1].series, 1);
	assert_true(v[NC + NG + 2].has_value);                   /* in the last record only */
	assert_int_equal(v[NC + NG + 2].series, 1);
	assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &nf), 0);
	assert_int_equal(nf, NREC);
	find_all(f[0]);
	find_all(f[NREC - 1]);
	for (size_t k = 0; k < nq; k++) {
		assert_int_equal(shmstat_window((shmstat_frame *const *)f, nf, &q[k].qy, q[k].from_ns,
						q[k].to_ns, &ref),
				 0);
		same(&v[k], &ref);
	}
	shmstat_frames_free(f, nf);
	free(q);
	free(v);
	shmstat_history_close(h);
	unlink(path);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_series),
	};

	return cmocka_run_group_tests(tests, ut_setup, ut_teardown);
}
