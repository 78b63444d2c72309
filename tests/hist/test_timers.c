/*
 * test_timers.c - timers record exactly what they measure, once per stop.
 *
 * Only exact facts are asserted, never a duration threshold:
 *  - shmstat_now_ns() lies between two clock_gettime(CLOCK_MONOTONIC)
 *    readings taken around it;
 *  - start/stop: each stop adds exactly 1 to the count, and the value it
 *    recorded (the sum's increase, exact) is at most the time the test
 *    measured around start and stop; with one value recorded, min = max =
 *    that value;
 *  - shmstat_timer_stop(h, 0) records nothing (count, sum, min, max);
 *  - shmstat_timer_start_sampled(n) in a new thread returns nonzero
 *    exactly for calls 1, n + 1, 2n + 1, ... so that 10 n timed calls
 *    record exactly 10 values (n = 1, 2, 3, 7, 64, 1000), and the sampling
 *    of one thread does not disturb another's; the same with the inline
 *    calls of shmstat_inline.h, and with the two kinds in turn (one
 *    countdown per thread);
 *  - SHMSTAT_TIME_SCOPE records one value when its block ends (none while
 *    inside), at most the time measured around the block; also when the
 *    block is left by break or continue, and two scopes in one block
 *    record two values; SHMSTAT_TIME_SCOPE_SAMPLED(h, n) over 10 n blocks
 *    records 10.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "shmstat_inline.h"
#include "ut_common.h"
#include "hist_util.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void busy(unsigned n)
{
	volatile unsigned x = 0;

	for (unsigned i = 0; i < n; i++)
		x += i;
}

static shmstat_seg *open_seg(const char *name)
{
	struct shmstat_opts o;
	shmstat_seg *seg;

	ut_small_opts(&o);
	o.max_values = 24 * 2400;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	return seg;
}

static shmstat_hist *reg(shmstat_seg *seg, const char *metric, const char *n)
{
	const char *labels[] = { "n", n, NULL };
	struct shmstat_metric_def def = { .name = metric, .labels = n ? labels : NULL };
	shmstat_hist *h;

	assert_int_equal(shmstat_hist_register(seg, &def, NULL, &h), 0);
	return h;
}

/* count, sum, min, max of histogram @metric{@labels} of segment @name */
static struct shmstat_hstats stats(const char *name, const char *metric, const char *labels)
{
	shmstat_snap *s = ut_snap(name);
	shmstat_hdata *h = hu_hist(s, hu_find_hist(s, metric, labels), SHMSTAT_PROC_ALL);
	struct shmstat_hstats st;

	shmstat_hdata_stats(h, &st);
	shmstat_hdata_free(h);
	shmstat_snap_free(s);
	return st;
}

static void test_now(void **state)
{
	(void)state;
	for (int i = 0; i < 1000; i++) {
		uint64_t t0 = mono_ns(), t = shmstat_now_ns(), t1 = mono_ns();

		assert_true(t0 <= t && t <= t1);
	}
}

static void test_start_stop(void **state)
{
	const char *name = ut_name("timer");
	shmstat_seg *seg = open_seg(name);
	shmstat_hist *h = reg(seg, "op_ns", NULL);
	struct shmstat_hstats before = stats(name, "op_ns", ""), after;

	(void)state;
	assert_int_equal(before.count, 0);
	for (unsigned i = 0; i < 200; i++) {
		uint64_t t0 = mono_ns(), start, t1, v;

		start = shmstat_timer_start();
		assert_true(start != 0);
		busy(i * 50);
		shmstat_timer_stop(h, start);
		t1 = mono_ns();
		after = stats(name, "op_ns", "");
		assert_int_equal(after.count, before.count + 1);
		v = after.sum - before.sum;
		if (v > t1 - t0)
			fail_msg("stop %u recorded %llu ns, but only %llu ns passed around it", i,
				 (unsigned long long)v, (unsigned long long)(t1 - t0));
		if (i == 0) {
			assert_int_equal(after.min, v);
			assert_int_equal(after.max, v);
		} else {
			assert_true(after.min <= v && v <= after.max);
		}
		before = after;
	}

	/* a start of 0 ("not sampled") records nothing */
	for (int i = 0; i < 100; i++)
		shmstat_timer_stop(h, 0);
	after = stats(name, "op_ns", "");
	assert_int_equal(after.count, before.count);
	assert_int_equal(after.sum, before.sum);
	assert_int_equal(after.min, before.min);
	assert_int_equal(after.max, before.max);
	assert_int_equal(after.underflow, before.underflow);
	assert_int_equal(shmstat_close(seg), 0);
}

struct sampler {
	shmstat_hist *h;
	unsigned n;
	int mode;                  /* 0: the library's calls, 1: the inline
				    * ones (shmstat_inline.h), 2: both, in turn */
	unsigned calls;            /* 0: 10 n */
	unsigned wrong;            /* calls whose sampling was not as documented */
	unsigned first_wrong;
	pthread_barrier_t *bar;    /* NULL, or lockstep with another sampler */
};

static void *sample_calls(void *arg)
{
	struct sampler *sp = arg;
	const unsigned calls = sp->calls ? sp->calls : 10 * sp->n;

	for (unsigned i = 1; i <= calls; i++) {
		const int inl = sp->mode == 1 || (sp->mode == 2 && i % 2);
		uint64_t start = inl ? shmstat_timer_start_sampled_inline(sp->n) :
				 shmstat_timer_start_sampled(sp->n);
		int want = (i - 1) % sp->n == 0;

		if ((start != 0) != want && sp->wrong++ == 0)
			sp->first_wrong = i;
		if (inl)
			shmstat_timer_stop_inline(sp->h, start);
		else
			shmstat_timer_stop(sp->h, start);
		if (sp->bar)
			pthread_barrier_wait(sp->bar);
	}
	return NULL;
}

static void test_sampled(void **state)
{
	const char *name = ut_name("sampled");
	shmstat_seg *seg = open_seg(name);
	static const unsigned ns[] = { 1, 2, 3, 7, 64, 1000 };

	static const char *const metric[3] = { "sampled_ns", "sampled_inline_ns",
					       "sampled_mixed_ns" };

	(void)state;
	for (int mode = 0; mode < 3; mode++) {
		for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
			char n[16], labels[32];
			struct sampler sp = { .n = ns[k], .mode = mode };
			pthread_t th;

			snprintf(n, sizeof(n), "%u", ns[k]);
			sp.h = reg(seg, metric[mode], n);
			assert_int_equal(pthread_create(&th, NULL, sample_calls, &sp), 0);
			assert_int_equal(pthread_join(th, NULL), 0);
			if (sp.wrong)
				fail_msg("%s, n = %u: %u calls sampled wrongly, the first is "
					 "call %u", metric[mode], ns[k], sp.wrong, sp.first_wrong);
			snprintf(labels, sizeof(labels), "n=\"%u\"", ns[k]);
			assert_int_equal(stats(name, metric[mode], labels).count, 10);
		}
	}

	/* two threads in lockstep, 1 in 3 and 1 in 5, 30 calls each:
	 * independent, 10 and 6 samples */
	{
		pthread_barrier_t bar;
		struct sampler a = { .n = 3, .calls = 30, .bar = &bar };
		struct sampler b = { .n = 5, .calls = 30, .bar = &bar };
		pthread_t ta, tb;

		assert_int_equal(pthread_barrier_init(&bar, NULL, 2), 0);
		a.h = reg(seg, "pair_ns", "3");
		b.h = reg(seg, "pair_ns", "5");
		assert_int_equal(pthread_create(&ta, NULL, sample_calls, &a), 0);
		assert_int_equal(pthread_create(&tb, NULL, sample_calls, &b), 0);
		assert_int_equal(pthread_join(ta, NULL), 0);
		assert_int_equal(pthread_join(tb, NULL), 0);
		pthread_barrier_destroy(&bar);
		assert_int_equal(a.wrong, 0);
		assert_int_equal(b.wrong, 0);
		assert_int_equal(stats(name, "pair_ns", "n=\"3\"").count, 10);
		assert_int_equal(stats(name, "pair_ns", "n=\"5\"").count, 6);
	}
	assert_int_equal(shmstat_close(seg), 0);
}

struct scoped {
	shmstat_hist *h;
	unsigned n;
};

static void *scoped_sampled(void *arg)
{
	struct scoped *sc = arg;

	for (unsigned i = 0; i < 10 * sc->n; i++) {
		SHMSTAT_TIME_SCOPE_SAMPLED(sc->h, sc->n);
		busy(10);
	}
	return NULL;
}

static void test_scope(void **state)
{
	const char *name = ut_name("scope");
	shmstat_seg *seg = open_seg(name);
	shmstat_hist *h = reg(seg, "block_ns", NULL);
	struct shmstat_hstats st0 = stats(name, "block_ns", ""), st;
	uint64_t t0, t1;

	(void)state;
	t0 = mono_ns();
	{
		SHMSTAT_TIME_SCOPE(h);
		busy(1000);
		st = stats(name, "block_ns", "");
		assert_int_equal(st.count, st0.count);   /* not yet */
	}
	t1 = mono_ns();
	st = stats(name, "block_ns", "");
	assert_int_equal(st.count, st0.count + 1);
	assert_true(st.sum - st0.sum <= t1 - t0);
	assert_int_equal(st.min, st.sum - st0.sum);
	assert_int_equal(st.max, st.sum - st0.sum);

	/* left early, by continue and break: still one value per block */
	st0 = st;
	for (int i = 0;; i++) {
		SHMSTAT_TIME_SCOPE(h);
		if (i < 5)
			continue;
		break;
	}
	st = stats(name, "block_ns", "");
	assert_int_equal(st.count, st0.count + 6);

	/* two scopes in one block: two values */
	st0 = st;
	t0 = mono_ns();
	{
		SHMSTAT_TIME_SCOPE(h);
		SHMSTAT_TIME_SCOPE(h);
		busy(100);
	}
	t1 = mono_ns();
	st = stats(name, "block_ns", "");
	assert_int_equal(st.count, st0.count + 2);
	assert_true(st.sum - st0.sum <= 2 * (t1 - t0));

	/* sampled scopes, each in a new thread */
	{
		static const unsigned ns[] = { 1, 4, 25 };

		for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
			char n[16], labels[32];
			struct scoped sc = { .n = ns[k] };
			pthread_t th;

			snprintf(n, sizeof(n), "%u", ns[k]);
			sc.h = reg(seg, "scoped_ns", n);
			assert_int_equal(pthread_create(&th, NULL, scoped_sampled, &sc), 0);
			assert_int_equal(pthread_join(th, NULL), 0);
			snprintf(labels, sizeof(labels), "n=\"%u\"", ns[k]);
			assert_int_equal(stats(name, "scoped_ns", labels).count, 10);
		}
	}
	assert_int_equal(shmstat_close(seg), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_now),
		cmocka_unit_test_setup_teardown(test_start_stop, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_sampled, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_scope, ut_setup, ut_teardown),
	};

	return cmocka_run_group_tests_name("hist_timers", tests, NULL, NULL);
}
