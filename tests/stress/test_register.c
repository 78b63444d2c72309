/*
 * test_register.c - concurrent registration of the same metrics.
 *
 * P processes x T threads register the same NM metrics at the same moment
 * (all threads of all processes are released together: each process's
 * threads wait at a barrier that its main thread joins when the parent
 * closes the "go" pipe), and increment each metric once: in odd rounds
 * each thread goes through the names in its own order, in even rounds all
 * in the same order (all threads race for the same name at once). Some
 * metrics carry two labels, given in either order (the same metric); some
 * are gauges. The directory has NM of 64 slots filled, so probe chains
 * cross.
 *
 * The reader must see exactly NM metrics, each with value P * T, no
 * descriptor lost or duplicated (values_used is the exact sum of the
 * metrics' value slots), nothing dropped, nothing invalid; and inside each
 * process every thread got the same handle for the same metric.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stress_common.h"

#define P 4
#define T 4
#define NM 50
#define NGAUGES 10                 /* metrics 0..9 are SUM gauges */
#define NLABELED 20                /* metrics 10..29 have two labels */
#define ROUNDS 20                  /* fresh segments, other orders */

struct writer {
	const char *name;
	int idx, round;
	int ready_fd, go_fd;
	int unused[2];
};

struct proc_state {
	const struct writer *wr;
	shmstat_seg *seg;
	pthread_barrier_t bar;
	void *handles[NM];         /* first handle seen per metric */
	int bad;
};

struct rthread {
	struct proc_state *ps;
	int t;
};

static void metric_name(int k, char *buf, size_t n)
{
	snprintf(buf, n, "reg_%s_%02d", k < NGAUGES ? "gauge" : "count", k);
}

static void *reg_thread(void *arg)
{
	struct rthread *rt = arg;
	struct proc_state *ps = rt->ps;
	uint64_t seed = 0x1234567ULL + (uint64_t)ps->wr->round * 1000000 +
			(uint64_t)ps->wr->idx * 1000 + (uint64_t)rt->t;
	int order[NM];

	for (int k = 0; k < NM; k++)
		order[k] = k;
	/* even rounds: everyone in the same order, so that all threads race
	 * for each name at once; odd rounds: each thread its own order */
	for (int k = NM - 1; k > 0 && (ps->wr->round & 1); k--) {  /* Fisher-Yates */
		int j = (int)(stress_rand(&seed) % (uint64_t)(k + 1));
		int x = order[k];

		order[k] = order[j];
		order[j] = x;
	}
	pthread_barrier_wait(&ps->bar);
	for (int n = 0; n < NM; n++) {
		const int k = order[n];
		char name[32], val[16];
		const char *ab[] = { "a", val, "b", "x", NULL };
		const char *ba[] = { "b", "x", "a", val, NULL };
		struct shmstat_metric_def d = { .name = name, .help = "registered concurrently" };
		void *h, *expect = NULL;
		int err;

		metric_name(k, name, sizeof(name));
		snprintf(val, sizeof(val), "v%d", k);
		if (k >= NGAUGES && k < NGAUGES + NLABELED)
			d.labels = (rt->t + ps->wr->idx) & 1 ? ab : ba;
		if (k < NGAUGES) {
			shmstat_gauge *g;

			err = shmstat_gauge_register(ps->seg, &d, SHMSTAT_AGG_SUM, &g);
			if (err == 0)
				shmstat_gauge_add(g, 1);
			h = g;
		} else {
			shmstat_counter *c;

			err = shmstat_counter_register(ps->seg, &d, &c);
			if (err == 0)
				shmstat_counter_inc(c);
			h = c;
		}
		if (err) {
			fprintf(stderr, "register %s: %s\n", name, shmstat_last_error());
			__atomic_store_n(&ps->bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		/* every thread of this process must get the same handle */
		if (!__atomic_compare_exchange_n(&ps->handles[k], &expect, h, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
		    expect != h) {
			fprintf(stderr, "%s: two handles in one process\n", name);
			__atomic_store_n(&ps->bad, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static int writer_main(void *arg)
{
	const struct writer *wr = arg;
	struct proc_state ps = { .wr = wr };
	struct rthread rt[T];
	pthread_t th[T];
	char c;

	close(wr->unused[0]);
	close(wr->unused[1]);
	CHILD_CHECK(shmstat_open(wr->name, NULL, &ps.seg) == 0);
	CHILD_CHECK(pthread_barrier_init(&ps.bar, NULL, T + 1) == 0);
	for (int t = 0; t < T; t++) {
		rt[t] = (struct rthread){ .ps = &ps, .t = t };
		CHILD_CHECK(pthread_create(&th[t], NULL, reg_thread, &rt[t]) == 0);
	}
	CHILD_CHECK(stress_write(wr->ready_fd, "r", 1) == 0);
	CHILD_CHECK(stress_read(wr->go_fd, &c, 1) == 0);     /* EOF: go */
	pthread_barrier_wait(&ps.bar);
	for (int t = 0; t < T; t++)
		CHILD_CHECK(pthread_join(th[t], NULL) == 0);
	CHILD_CHECK(ps.bad == 0);
	CHILD_CHECK(shmstat_close(ps.seg) == 0);
	return 0;
}

static void run_register(int round)
{
	const char *name = stress_name("reg");
	struct shmstat_opts o;
	struct writer wr[P];
	pid_t pids[P];
	int ready[P][2], go[2];
	struct shmstat_seg_info info;
	shmstat_snap *s;
	uint64_t values = 0;

	shmstat_opts_init(&o);
	o.max_procs = 8;
	o.max_metrics = 64;
	o.max_values = 128;
	o.max_threads = 32;
	stress_create(name, &o);
	stress_pipe(go);
	for (int i = 0; i < P; i++) {
		stress_pipe(ready[i]);
		wr[i] = (struct writer){ .name = name, .idx = i, .round = round,
					 .ready_fd = ready[i][1], .go_fd = go[0],
					 .unused = { ready[i][0], go[1] } };
		pids[i] = stress_spawn(writer_main, &wr[i]);
		close(ready[i][1]);
	}
	close(go[0]);
	for (int i = 0; i < P; i++)
		stress_expect(ready[i][0], pids[i]);
	close(go[1]);                      /* release everyone at once */
	for (int i = 0; i < P; i++) {
		assert_int_equal(stress_wait(pids[i]), 0);
		close(ready[i][0]);
	}

	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(shmstat_snap_metrics(s), NM);
	assert_int_equal(info.metrics, NM);
	assert_int_equal(info.dropped_regs, 0);
	assert_int_equal(info.bad_descs, 0);
	for (int k = 0; k < NM; k++) {
		struct shmstat_metric_info mi;
		char mname[32], labels[64] = "";

		metric_name(k, mname, sizeof(mname));
		if (k >= NGAUGES && k < NGAUGES + NLABELED)
			snprintf(labels, sizeof(labels), "a=\"v%d\",b=\"x\"", k);
		if (stress_find(s, mname, labels, &mi) < 0)
			fail_msg("metric %s{%s} is missing", mname, labels);
		if (k < NGAUGES) {
			assert_int_equal(mi.type, SHMSTAT_GAUGE);
			assert_int_equal(mi.gauge, P * T);
			values += 3;
		} else {
			assert_int_equal(mi.type, SHMSTAT_COUNTER);
			assert_int_equal(mi.counter, P * T);
			values += 1;
		}
		assert_string_equal(mi.help, "registered concurrently");
	}
	/* no metric was allocated twice */
	assert_int_equal(info.values_used, values);
	shmstat_snap_free(s);
}

static void test_register_concurrently(void **state)
{
	(void)state;
	for (int r = 0; r < ROUNDS; r++)
		run_register(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_concurrently, stress_setup,
						stress_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
