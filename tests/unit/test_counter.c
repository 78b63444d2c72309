/*
 * test_counter.c - counters and gauges: exact totals, threads that exit,
 * more threads than stripes, gauge add/sub/set, and every aggregation
 * mode across processes that are alive, detached, or killed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat_inline.h"
#include "ut_common.h"

static shmstat_seg *open_opts(const char *name, uint32_t threads)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;

	ut_small_opts(&o);
	if (threads)
		o.max_threads = threads;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	return seg;
}

static shmstat_counter *counter(shmstat_seg *seg, const char *name)
{
	struct shmstat_metric_def def = { .name = name };
	shmstat_counter *c = NULL;

	assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
	return c;
}

static shmstat_gauge *gauge(shmstat_seg *seg, const char *name, enum shmstat_agg agg)
{
	struct shmstat_metric_def def = { .name = name };
	shmstat_gauge *g = NULL;

	assert_int_equal(shmstat_gauge_register(seg, &def, agg, &g), 0);
	return g;
}

static void test_counter_exact(void **state)
{
	const char *name = ut_name("ctr");
	shmstat_seg *seg = open_opts(name, 0);
	shmstat_counter *a = counter(seg, "a_total"), *b = counter(seg, "b_total");

	(void)state;
	assert_int_equal(ut_counter_value(name, "a_total"), 0);
	for (int i = 0; i < 1000; i++)
		shmstat_counter_inc(a);
	shmstat_counter_add(a, 12345);
	shmstat_counter_add(a, 0);
	shmstat_counter_add(b, 1ULL << 40);
	shmstat_counter_add(b, 1);
	assert_int_equal(ut_counter_value(name, "a_total"), 13345);
	assert_int_equal(ut_counter_value(name, "b_total"), (1ULL << 40) + 1);
	/* values stay counted after the writer detaches */
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(ut_counter_value(name, "a_total"), 13345);
	assert_int_equal(ut_counter_value(name, "b_total"), (1ULL << 40) + 1);
	/* a new attachment adds on top */
	seg = open_opts(name, 0);
	a = counter(seg, "a_total");
	shmstat_counter_add(a, 5);
	assert_int_equal(ut_counter_value(name, "a_total"), 13350);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

struct thr_arg {
	shmstat_counter *c;
	shmstat_gauge *g;
	pthread_barrier_t *bar;   /* NULL: no barrier */
	uint64_t n;
	int64_t gd;
};

static void *adder(void *p)
{
	struct thr_arg *a = p;

	if (a->bar)
		pthread_barrier_wait(a->bar);
	for (uint64_t i = 0; i < a->n; i++)
		shmstat_counter_inc(a->c);
	shmstat_counter_add(a->c, 7);
	if (a->g)
		shmstat_gauge_add(a->g, a->gd);
	if (a->bar)
		pthread_barrier_wait(a->bar);   /* all hold their stripes at once */
	return NULL;
}

static void run_threads(struct thr_arg *args, int n)
{
	pthread_t th[16];

	for (int t = 0; t < n; t++)
		assert_int_equal(pthread_create(&th[t], NULL, adder, &args[t]), 0);
	for (int t = 0; t < n; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
}

/* 8 threads add and exit: their stripes go back, their counts stay. */
static void test_threads_exit(void **state)
{
	const char *name = ut_name("ctr");
	shmstat_seg *seg = open_opts(name, 0);
	shmstat_counter *c = counter(seg, "work_total");
	struct thr_arg args[8];
	uint64_t expect = 0;
	struct shmstat_seg_info info;

	(void)state;
	shmstat_counter_add(c, 3);
	expect += 3;
	for (int t = 0; t < 8; t++) {
		args[t] = (struct thr_arg){ .c = c, .n = 1000u * (unsigned)(t + 1) };
		expect += args[t].n + 7;
	}
	run_threads(args, 8);
	assert_int_equal(ut_counter_value(name, "work_total"), expect);
	ut_info(name, &info);
	assert_int_equal(info.writers_alive, 1);
	/* a second round of threads reuses the stripes the first gave back */
	run_threads(args, 8);
	expect *= 2;
	expect -= 3;
	assert_int_equal(ut_counter_value(name, "work_total"), expect);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(ut_counter_value(name, "work_total"), expect);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Threads outnumber stripes: those without one share the process stripe
 * with atomic adds; the total is exact. */
static void test_more_threads_than_stripes(void **state)
{
	const char *name = ut_name("ctr");
	shmstat_seg *seg = open_opts(name, 2);
	shmstat_counter *c = counter(seg, "busy_total");
	shmstat_gauge *g = gauge(seg, "level", SHMSTAT_AGG_SUM);
	struct shmstat_seg_info info;
	struct thr_arg args[8];
	pthread_barrier_t bar;
	uint64_t expect = 0;

	(void)state;
	assert_int_equal(pthread_barrier_init(&bar, NULL, 8), 0);
	for (int t = 0; t < 8; t++) {
		args[t] = (struct thr_arg){ .c = c, .g = g, .bar = &bar, .n = 20000,
					    .gd = t % 2 ? -(int64_t)t : t * 10 };
		expect += args[t].n + 7;
	}
	run_threads(args, 8);
	pthread_barrier_destroy(&bar);
	assert_int_equal(ut_counter_value(name, "busy_total"), expect);
	/* 0 - 1 + 20 - 3 + 40 - 5 + 60 - 7 */
	assert_int_equal(ut_gauge_value(name, "level", NULL), 104);
	ut_info(name, &info);
	assert_int_equal(info.max_threads, 2);
	assert_true(info.stripes_owned <= 2);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(ut_counter_value(name, "busy_total"), expect);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* add, sub and set act on this process's value; set also overrides what
 * exited threads added. */
static void test_gauge_ops(void **state)
{
	const char *name = ut_name("ctr");
	shmstat_seg *seg = open_opts(name, 0);
	shmstat_gauge *g = gauge(seg, "queue", SHMSTAT_AGG_SUM);
	shmstat_counter *dummy = counter(seg, "dummy_total");
	struct thr_arg arg = { .c = dummy, .g = g, .n = 1, .gd = 100 };
	int has;

	(void)state;
	assert_int_equal(ut_gauge_value(name, "queue", &has), 0);
	assert_int_equal(has, 1);
	shmstat_gauge_set(g, 10);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), 10);
	shmstat_gauge_add(g, 5);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), 15);
	shmstat_gauge_sub(g, 3);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), 12);
	shmstat_gauge_set(g, -7);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), -7);
	shmstat_gauge_add(g, -3);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), -10);
	shmstat_gauge_sub(g, -1);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), -9);
	shmstat_gauge_set(g, INT64_MAX);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), INT64_MAX);
	shmstat_gauge_set(g, INT64_MIN);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), INT64_MIN);
	shmstat_gauge_set(g, -9);

	/* a thread adds 100 and exits */
	run_threads(&arg, 1);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), 91);
	shmstat_gauge_set(g, 5);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), 5);
	run_threads(&arg, 1);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), 105);
	shmstat_gauge_sub(g, 104);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), 1);
	/* six at once: a stripe taken back idle and five taken free (the
	 * set sums the deltas of every stripe the process took) */
	{
		struct thr_arg six[6];

		for (int t = 0; t < 6; t++)
			six[t] = arg;
		run_threads(six, 6);
		assert_int_equal(ut_gauge_value(name, "queue", NULL), 601);
		shmstat_gauge_set(g, 7);
		assert_int_equal(ut_gauge_value(name, "queue", NULL), 7);
		run_threads(six, 3);
		assert_int_equal(ut_gauge_value(name, "queue", NULL), 307);
		shmstat_gauge_set(g, 1);
		assert_int_equal(ut_gauge_value(name, "queue", NULL), 1);
	}
	/* a detached process keeps its last value under SUM */
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(ut_gauge_value(name, "queue", NULL), 1);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Two attachments in one process are two writers to the aggregation. */
static void test_gauge_two_writers(void **state)
{
	const char *name = ut_name("ctr");
	shmstat_seg *s1 = open_opts(name, 0), *s2 = NULL;
	shmstat_gauge *sum1 = gauge(s1, "gsum", SHMSTAT_AGG_SUM);
	shmstat_gauge *max1 = gauge(s1, "gmax", SHMSTAT_AGG_MAX);
	shmstat_gauge *min1 = gauge(s1, "gmin", SHMSTAT_AGG_MIN);
	shmstat_gauge *sum2, *max2, *min2;
	int has;

	(void)state;
	assert_int_equal(shmstat_open(name, NULL, &s2), 0);
	sum2 = gauge(s2, "gsum", SHMSTAT_AGG_SUM);
	max2 = gauge(s2, "gmax", SHMSTAT_AGG_MAX);
	/* registered by s1 only: s2 takes no part in the minimum */
	(void)min2;
	shmstat_gauge_set(sum1, 5);
	shmstat_gauge_set(sum2, 7);
	shmstat_gauge_set(max1, -5);
	shmstat_gauge_set(max2, -7);
	shmstat_gauge_set(min1, 3);
	assert_int_equal(ut_gauge_value(name, "gsum", NULL), 12);
	assert_int_equal(ut_gauge_value(name, "gmax", NULL), -5);
	assert_int_equal(ut_gauge_value(name, "gmin", &has), 3);
	assert_int_equal(has, 1);
	min2 = gauge(s2, "gmin", SHMSTAT_AGG_MIN);    /* joins with value 0 */
	assert_int_equal(ut_gauge_value(name, "gmin", NULL), 0);
	shmstat_gauge_set(min2, 4);
	assert_int_equal(ut_gauge_value(name, "gmin", NULL), 3);
	assert_int_equal(shmstat_close(s2), 0);
	assert_int_equal(shmstat_close(s1), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* ---------------------------------------------- aggregation across processes */

static const enum shmstat_agg all_aggs[8] = {
	SHMSTAT_AGG_SUM, SHMSTAT_AGG_MAX, SHMSTAT_AGG_MIN, SHMSTAT_AGG_LAST,
	SHMSTAT_AGG_LIVESUM, SHMSTAT_AGG_LIVEMAX, SHMSTAT_AGG_LIVEMIN, SHMSTAT_AGG_LIVELAST,
};

static void agg_metric(enum shmstat_agg a, char *buf, size_t n)
{
	snprintf(buf, n, "g_%s", shmstat_agg_name(a));
}

struct gkid {
	const char *seg;
	int64_t value;
};

/* A writer process: registers one gauge per aggregation; 's' sets them
 * all to its value, 'a' also bumps a counter by its value, 'c' detaches
 * and exits. */
static int kid_gauges(void *p, int cmd, int ack)
{
	const struct gkid *k = p;
	shmstat_gauge *g[8];
	shmstat_counter *c;
	shmstat_seg *seg = NULL;
	struct shmstat_metric_def cdef = { .name = "kid_total" };

	if (shmstat_open(k->seg, NULL, &seg) != 0)
		goto fail;
	for (int i = 0; i < 8; i++) {
		char mname[32];
		struct shmstat_metric_def def = { .name = mname };

		agg_metric(all_aggs[i], mname, sizeof(mname));
		if (shmstat_gauge_register(seg, &def, all_aggs[i], &g[i]) != 0)
			goto fail;
	}
	if (shmstat_counter_register(seg, &cdef, &c) != 0)
		goto fail;
	ut_send(ack, 'k');
	for (;;) {
		switch (ut_recv(cmd)) {
		case 's':
			for (int i = 0; i < 8; i++)
				shmstat_gauge_set(g[i], k->value);
			shmstat_counter_add(c, (uint64_t)(k->value < 0 ? -k->value : k->value));
			ut_send(ack, 'k');
			break;
		case 'c':
			shmstat_close(seg);
			ut_send(ack, 'k');
			return 0;
		default:
			return 3;
		}
	}
fail:
	ut_send(ack, 'E');
	return 1;
}

struct expect {
	int64_t v[8];
	int has[8];
};

static void check_aggs(const char *name, const struct expect *e)
{
	struct shmstat_metric_info mi;
	shmstat_snap *s = ut_snap(name);

	for (int i = 0; i < 8; i++) {
		char mname[32];

		agg_metric(all_aggs[i], mname, sizeof(mname));
		if (ut_find(s, mname, "", &mi) < 0) {
			shmstat_snap_free(s);
			fail_msg("%s missing", mname);
		}
		if (mi.has_value != e->has[i] || (e->has[i] && mi.gauge != e->v[i])) {
			shmstat_snap_free(s);
			fail_msg("%s: got %lld (has_value %d), expected %lld (has_value %d)",
				 mname, (long long)mi.gauge, mi.has_value,
				 (long long)e->v[i], e->has[i]);
		}
		assert_int_equal(mi.agg, all_aggs[i]);
	}
	shmstat_snap_free(s);
}

static void set_expect(struct expect *e, int64_t sum, int64_t max, int64_t min, int64_t last,
		       int64_t lsum, int64_t lmax, int64_t lmin, int64_t llast, int live_has)
{
	const int64_t v[8] = { sum, max, min, last, lsum, lmax, lmin, llast };

	for (int i = 0; i < 8; i++) {
		e->v[i] = v[i];
		e->has[i] = i < 5 ? 1 : live_has;
	}
}

/* Three writers with values 10, -4, 25 set in that order. */
static void start_three(const char *name, struct ut_kid kids[3], struct gkid args[3])
{
	static const int64_t values[3] = { 10, -4, 25 };
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;

	/* create it, and detach before forking so no child inherits us */
	ut_small_opts(&o);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
	for (int i = 0; i < 3; i++) {
		args[i] = (struct gkid){ .seg = name, .value = values[i] };
		assert_int_equal(ut_kid_start(&kids[i], kid_gauges, &args[i]), 'k');
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(ut_kid_cmd(&kids[i], 's'), 'k');
}

/* (a) all alive, (b) some detached cleanly, then all detached. */
static void test_aggregation_alive_and_detached(void **state)
{
	const char *name = ut_name("agg");
	struct ut_kid kids[3];
	struct gkid args[3];
	struct shmstat_seg_info info;
	struct expect e;

	(void)state;
	start_three(name, kids, args);
	ut_info(name, &info);
	assert_int_equal(info.writers_alive, 3);
	set_expect(&e, 31, 25, -4, 25, 31, 25, -4, 25, 1);
	check_aggs(name, &e);
	assert_int_equal(ut_counter_value(name, "kid_total"), 39);

	/* the writers of -4 and of 25 (the max and the last set) detach */
	assert_int_equal(ut_kid_cmd(&kids[1], 'c'), 'k');
	assert_int_equal(ut_kid_wait(&kids[1]), 0);
	assert_int_equal(ut_kid_cmd(&kids[2], 'c'), 'k');
	assert_int_equal(ut_kid_wait(&kids[2]), 0);
	ut_info(name, &info);
	assert_int_equal(info.writers_alive, 1);
	assert_int_equal(info.writers_dead, 0);
	set_expect(&e, 31, 25, -4, 25, 10, 10, 10, 10, 1);
	check_aggs(name, &e);

	/* the last one detaches: the live modes have nobody left */
	assert_int_equal(ut_kid_cmd(&kids[0], 'c'), 'k');
	assert_int_equal(ut_kid_wait(&kids[0]), 0);
	set_expect(&e, 31, 25, -4, 25, 0, 0, 0, 0, 0);
	check_aggs(name, &e);
	assert_int_equal(ut_counter_value(name, "kid_total"), 39);
	ut_info(name, &info);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* (c) a writer killed while attached: dead, not live; gc folds it. */
static void test_aggregation_killed(void **state)
{
	const char *name = ut_name("agg");
	struct ut_kid kids[3];
	struct gkid args[3];
	struct shmstat_seg_info info;
	struct expect e;
	unsigned reaped = 0;

	(void)state;
	start_three(name, kids, args);
	ut_kid_kill(&kids[2]);                  /* the 25: max and last */
	ut_info(name, &info);
	assert_int_equal(info.writers_alive, 2);
	assert_int_equal(info.writers_dead, 1);
	set_expect(&e, 31, 25, -4, 25, 6, 10, -4, -4, 1);
	check_aggs(name, &e);
	assert_int_equal(ut_counter_value(name, "kid_total"), 39);

	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 1);
	ut_info(name, &info);
	assert_int_equal(info.writers_alive, 2);
	assert_int_equal(info.writers_dead, 0);
	check_aggs(name, &e);
	assert_int_equal(ut_counter_value(name, "kid_total"), 39);
	reaped = 9;
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 0);

	/* one more killed, the last detached cleanly */
	ut_kid_kill(&kids[1]);
	assert_int_equal(ut_kid_cmd(&kids[0], 'c'), 'k');
	assert_int_equal(ut_kid_wait(&kids[0]), 0);
	ut_info(name, &info);
	assert_int_equal(info.writers_alive, 0);
	/* the clean detach (after the kill was reaped by waitpid) reaped the
	 * killed writer too: nothing left for gc */
	reaped = 9;
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 0);
	ut_info(name, &info);
	assert_int_equal(info.writers_dead, 0);
	set_expect(&e, 31, 25, -4, 25, 0, 0, 0, 0, 0);
	check_aggs(name, &e);
	assert_int_equal(ut_counter_value(name, "kid_total"), 39);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* A new writer attaching reaps the slots of dead ones. */
static void test_attach_reaps_dead(void **state)
{
	const char *name = ut_name("agg");
	struct ut_kid kids[3];
	struct gkid args[3];
	struct shmstat_seg_info info;
	shmstat_seg *seg = NULL;
	unsigned reaped = 9;

	(void)state;
	start_three(name, kids, args);
	ut_kid_kill(&kids[0]);
	ut_kid_kill(&kids[2]);
	ut_info(name, &info);
	assert_int_equal(info.writers_dead, 2);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	ut_info(name, &info);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.writers_alive, 2);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 0);
	assert_int_equal(ut_counter_value(name, "kid_total"), 39);
	assert_int_equal(ut_gauge_value(name, "g_sum", NULL), 31);
	assert_int_equal(ut_gauge_value(name, "g_livesum", NULL), -4);
	assert_int_equal(ut_kid_cmd(&kids[1], 'c'), 'k');
	assert_int_equal(ut_kid_wait(&kids[1]), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

struct fkid {
	shmstat_seg *seg;
	shmstat_counter *c;
};

/* Runs in a child forked while the parent is attached: uses the handle
 * it inherited; 'x' exits without detaching, 'c' detaches first. */
static int kid_inherited(void *p, int cmd, int ack)
{
	struct fkid *k = p;

	shmstat_counter_add(k->c, 10);
	ut_send(ack, 'k');
	switch (ut_recv(cmd)) {
	case 'x':
		return 0;
	case 'c':
		shmstat_close(k->seg);
		ut_send(ack, 'k');
		return 0;
	default:
		return 3;
	}
}

/* A child forked while attached is a writer of its own (own slot, own
 * stripes); the parent's counts stay the parent's. */
static void test_fork_inherits_attachment(void **state)
{
	const char *name = ut_name("ctr");
	shmstat_seg *seg = open_opts(name, 0);
	shmstat_counter *c = counter(seg, "f_total");
	struct fkid arg = { .seg = seg, .c = c };
	struct shmstat_proc_info pi;
	struct shmstat_metric_info mi;
	struct shmstat_seg_info info;
	struct ut_kid kid;
	shmstat_snap *s;
	unsigned reaped = 0;
	uint64_t cv;
	int64_t gv;
	int i, kj = -1, pj = -1;

	(void)state;
	shmstat_counter_add(c, 1);
	assert_int_equal(ut_kid_start(&kid, kid_inherited, &arg), 'k');
	shmstat_counter_add(c, 2);
	s = ut_snap(name);
	assert_int_equal(shmstat_snap_procs(s), 2);
	i = ut_find(s, "f_total", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(mi.counter, 13);
	for (size_t j = 0; j < shmstat_snap_procs(s); j++) {
		assert_int_equal(shmstat_snap_proc(s, j, &pi), 0);
		if (pi.pid == kid.pid)
			kj = (int)j;
		else if (pi.pid == getpid())
			pj = (int)j;
	}
	assert_true(kj >= 0 && pj >= 0);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)i, (size_t)kj, &cv, &gv), 0);
	assert_int_equal(cv, 10);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)i, (size_t)pj, &cv, &gv), 0);
	assert_int_equal(cv, 3);
	shmstat_snap_free(s);
	/* the child exits without detaching: a dead writer, reaped by gc */
	ut_send(kid.cmd, 'x');
	assert_int_equal(ut_kid_wait(&kid), 0);
	ut_info(name, &info);
	assert_int_equal(info.writers_dead, 1);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 1);
	assert_int_equal(ut_counter_value(name, "f_total"), 13);
	shmstat_counter_add(c, 4);
	assert_int_equal(ut_counter_value(name, "f_total"), 17);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* The child of an attached process may detach (shmstat_close) and go on.
 * A close that does not come back within 10 s is a deadlock: the child
 * is killed and the test fails (not a timing threshold). */
static void test_fork_child_closes(void **state)
{
	const char *name = ut_name("ctr");
	shmstat_seg *seg = open_opts(name, 0);
	shmstat_counter *c = counter(seg, "f_total");
	struct fkid arg = { .seg = seg, .c = c };
	struct ut_kid kid;
	char a;

	(void)state;
	assert_int_equal(ut_kid_start(&kid, kid_inherited, &arg), 'k');
	a = ut_kid_cmd_wait(&kid, 'c', 10000);
	if (a != 'k') {
		ut_kid_kill(&kid);
		assert_int_equal(shmstat_close(seg), 0);
		fail_msg("shmstat_close() in a child forked while attached did not return "
			 "(deadlock in the child)");
	}
	assert_int_equal(ut_kid_wait(&kid), 0);
	assert_int_equal(ut_counter_value(name, "f_total"), 10);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

struct inl_arg {
	shmstat_counter *c;
	pthread_barrier_t *bar;
	uint64_t n;
};

static void *inline_adder(void *p)
{
	struct inl_arg *a = p;

	pthread_barrier_wait(a->bar);
	for (uint64_t i = 0; i < a->n; i++)
		shmstat_counter_inc_inline(a->c);
	shmstat_counter_add_inline(a->c, 1000);
	pthread_barrier_wait(a->bar);
	return NULL;
}

/* The inline fast paths of shmstat_inline.h count exactly: own stripe,
 * first update, shared stripe (one thread stripe for four threads), a
 * gauge's add and sub around a set, and do-nothing handles. */
static void test_inline_add(void **state)
{
	const char *name = ut_name("ctr");
	shmstat_seg *seg = open_opts(name, 1);
	shmstat_counter *c = counter(seg, "inl_total"), *noop = NULL;
	struct shmstat_metric_def bad = { .name = "1bad" };
	struct inl_arg args[4];
	pthread_barrier_t bar;
	pthread_t th[4];

	(void)state;
	shmstat_counter_inc_inline(c);
	shmstat_counter_add_inline(c, 41);
	assert_int_equal(ut_counter_value(name, "inl_total"), 42);
	assert_int_equal(shmstat_counter_register(seg, &bad, &noop), SHMSTAT_EBADNAME);
	shmstat_counter_add_inline(noop, 5);
	shmstat_counter_inc_inline(noop);
	assert_int_equal(pthread_barrier_init(&bar, NULL, 4), 0);
	for (int t = 0; t < 4; t++) {
		args[t] = (struct inl_arg){ .c = c, .bar = &bar, .n = 25000 };
		assert_int_equal(pthread_create(&th[t], NULL, inline_adder, &args[t]), 0);
	}
	for (int t = 0; t < 4; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&bar);
	assert_int_equal(ut_counter_value(name, "inl_total"), 42 + 4 * (25000 + 1000));
	/* gauges: add and sub inlined, with set between them (the library's,
	 * on the process stripe), and a do-nothing handle */
	{
		shmstat_gauge *g = gauge(seg, "inl_level", SHMSTAT_AGG_SUM), *gnoop = NULL;
		struct shmstat_metric_def gbad = { .name = "2bad" };

		shmstat_gauge_add_inline(g, 7);
		shmstat_gauge_sub_inline(g, 10);
		assert_int_equal(ut_gauge_value(name, "inl_level", NULL), -3);
		shmstat_gauge_set(g, 100);
		shmstat_gauge_add_inline(g, 5);
		shmstat_gauge_sub_inline(g, -2);
		assert_int_equal(ut_gauge_value(name, "inl_level", NULL), 107);
		assert_int_equal(shmstat_gauge_register(seg, &gbad, SHMSTAT_AGG_SUM, &gnoop),
				 SHMSTAT_EBADNAME);
		shmstat_gauge_add_inline(gnoop, 1);
		shmstat_gauge_sub_inline(gnoop, 1);
	}
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(ut_counter_value(name, "inl_total"), 42 + 4 * (25000 + 1000));
	assert_int_equal(shmstat_unlink(name), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_counter_exact),
		T(test_threads_exit),
		T(test_more_threads_than_stripes),
		T(test_inline_add),
		T(test_gauge_ops),
		T(test_gauge_two_writers),
		T(test_aggregation_alive_and_detached),
		T(test_aggregation_killed),
		T(test_attach_reaps_dead),
		T(test_fork_inherits_attachment),
		T(test_fork_child_closes),
	};

	return cmocka_run_group_tests_name("counter", tests, NULL, NULL);
}
