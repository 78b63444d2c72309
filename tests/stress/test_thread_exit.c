/*
 * test_thread_exit.c - threads that exit give their stripe back to their
 * process, their counts stay, and the next threads reuse those stripes.
 *
 * One process (the test itself), ROUNDS rounds of NT threads. Each thread
 * makes its first increment (claiming a stripe), waits at a barrier until
 * all NT threads of the round hold one, adds the rest of K and exits.
 * After each round: the total is exact, the process owns exactly NT thread
 * stripes (not NT per round: the capacity, 64, would allow 3 x NT), and
 * its shared per-process stripe holds nothing of the counter, so no thread
 * fell back to atomic adds on it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stress_common.h"
#include "counter.h"
#include "segment.h"

#define ROUNDS 3
#define NT 8
#define K 100000

struct round {
	pthread_barrier_t bar;
	shmstat_counter *c;
	shmstat_gauge *g;
};

static void *adder(void *arg)
{
	struct round *r = arg;

	shmstat_counter_inc(r->c);
	shmstat_gauge_add(r->g, 1);
	pthread_barrier_wait(&r->bar);
	shmstat_counter_add(r->c, K - 1);
	for (int i = 1; i < K; i++)
		shmstat_gauge_add(r->g, 1);
	return NULL;
}

static void test_thread_exit_reuses_stripes(void **state)
{
	const char *name = stress_name("texit");
	struct shmstat_opts o;
	struct round r;
	shmstat_seg *seg;
	const struct shmstat_metric_def dc = { .name = "texit_total" };
	const struct shmstat_metric_def dg = { .name = "texit_gauge" };

	(void)state;
	shmstat_opts_init(&o);
	o.max_procs = 4;
	o.max_metrics = 16;
	o.max_values = 16;
	o.max_threads = 64;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &dc, &r.c), 0);
	assert_int_equal(shmstat_gauge_register(seg, &dg, SHMSTAT_AGG_SUM, &r.g), 0);

	for (int round = 1; round <= ROUNDS; round++) {
		pthread_t th[NT];
		struct shmstat_seg_info info;
		struct shmstat_proc_info pi;
		struct shmstat_metric_info mi;
		const uint64_t *pstripe;
		shmstat_snap *s;

		assert_int_equal(pthread_barrier_init(&r.bar, NULL, NT), 0);
		for (int t = 0; t < NT; t++)
			assert_int_equal(pthread_create(&th[t], NULL, adder, &r), 0);
		for (int t = 0; t < NT; t++)
			assert_int_equal(pthread_join(th[t], NULL), 0);
		pthread_barrier_destroy(&r.bar);

		s = stress_snap(name);
		shmstat_snap_info(s, &info);
		assert_int_equal(stress_counter(s, "texit_total", ""), (uint64_t)round * NT * K);
		assert_true(stress_find(s, "texit_gauge", "", &mi) >= 0);
		assert_int_equal(mi.gauge, (int64_t)round * NT * K);
		assert_true(stress_find_proc(s, getpid(), &pi) >= 0);
		assert_int_equal(pi.stripes, NT);
		assert_int_equal(info.stripes_owned, NT);
		shmstat_snap_free(s);
		/* nothing went through the shared per-process stripe */
		pstripe = shmstat__stripe(seg, SHMSTAT_PROC_STRIPE(seg->proc));
		assert_int_equal(__atomic_load_n(&pstripe[r.c->off], __ATOMIC_RELAXED), 0);
		assert_int_equal(__atomic_load_n(&pstripe[r.g->c.off], __ATOMIC_RELAXED), 0);
	}

	/* the main thread never updated: it owns no stripe. Detaching folds
	 * the idle stripes into the grave: nothing lost, nothing owned. */
	assert_int_equal(shmstat_close(seg), 0);
	{
		shmstat_snap *s = stress_snap(name);
		struct shmstat_seg_info info;

		shmstat_snap_info(s, &info);
		assert_int_equal(stress_counter(s, "texit_total", ""), (uint64_t)ROUNDS * NT * K);
		assert_int_equal(info.stripes_owned, 0);
		assert_int_equal(shmstat_snap_procs(s), 0);
		shmstat_snap_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thread_exit_reuses_stripes, stress_setup,
						stress_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
