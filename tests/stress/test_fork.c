/*
 * test_fork.c - a writer with busy threads forks children that write.
 *
 * docs/api.md, "Processes and fork": a child forked by a process with open
 * segments re-attaches with a slot of its own, and the handles it
 * inherited keep working, counting for the child. Here the parent process
 * has NT threads that keep registering (the lookup path: liburcu read-side
 * sections) and counting; its main thread forks K children one after the
 * other. Each child counts through the inherited handle in CT threads of
 * its own, checks that its counts are visible, registers a metric of its
 * own, detaches with shmstat_close and exits 0.
 *
 * Then: every child exited 0; the parent's threads' counts and the
 * children's are all there, exactly; no writer, no stripe left.
 *
 * Built against the plain library, not TSan: ThreadSanitizer does not
 * support a child of a multi-threaded process that starts threads.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "stress_common.h"

#define NT 2
#define K 10
#define CT 2
#define M 5000

static const char *seg_name;
static shmstat_seg *seg;
static shmstat_counter *child_c;
static int stop;

static void *parent_thread(void *arg)
{
	const struct shmstat_metric_def d = { .name = "fork_parent" };
	uint64_t *n = arg;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		shmstat_counter *c;

		if (shmstat_counter_register(seg, &d, &c) != 0)
			return NULL;
		shmstat_counter_inc(c);
		(*n)++;
	}
	return NULL;
}

static void *child_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < M; i++)
		shmstat_counter_inc(child_c);
	return NULL;
}

static int child_main(void *arg)
{
	const struct shmstat_metric_def d = { .name = "fork_child_own" };
	const int k = (int)(intptr_t)arg;
	pthread_t th[CT];
	shmstat_counter *own;
	shmstat_snap *s;
	shmstat_reader *r;
	uint64_t seen = 0;

	for (int t = 0; t < CT; t++)
		CHILD_CHECK(pthread_create(&th[t], NULL, child_thread, NULL) == 0);
	for (int t = 0; t < CT; t++)
		CHILD_CHECK(pthread_join(th[t], NULL) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &d, &own) == 0);
	shmstat_counter_inc(own);
	/* the counts of the children before and ours are visible */
	CHILD_CHECK(shmstat_reader_open(seg_name, &r) == 0);
	CHILD_CHECK(shmstat_snapshot(r, &s) == 0);
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		struct shmstat_metric_info mi;

		CHILD_CHECK(shmstat_snap_metric(s, i, &mi) == 0);
		if (strcmp(mi.name, "fork_child") == 0)
			seen = mi.counter;
	}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	CHILD_CHECK(seen == (uint64_t)(k + 1) * CT * M);
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

static void test_fork_from_threaded_writer(void **state)
{
	const struct shmstat_metric_def d = { .name = "fork_child" };
	struct shmstat_opts o;
	pthread_t th[NT];
	uint64_t counted[NT] = { 0 }, parent = 0;
	struct shmstat_seg_info info;
	shmstat_snap *s;

	(void)state;
	seg_name = stress_name("fork");
	shmstat_opts_init(&o);
	o.max_procs = 8;
	o.max_metrics = 16;
	o.max_values = 64;
	o.max_threads = 32;
	assert_int_equal(shmstat_open(seg_name, &o, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &d, &child_c), 0);
	for (int t = 0; t < NT; t++)
		assert_int_equal(pthread_create(&th[t], NULL, parent_thread, &counted[t]), 0);
	for (int k = 0; k < K; k++) {
		int st = stress_wait(stress_spawn(child_main, (void *)(intptr_t)k));

		if (st != 0)
			fail_msg("forked child %d ended with status %d%s", k, st,
				 st == 128 + SIGSEGV ? " (SIGSEGV)" : "");
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < NT; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		parent += counted[t];
	}
	assert_int_equal(shmstat_close(seg), 0);

	s = stress_snap(seg_name);
	shmstat_snap_info(s, &info);
	assert_int_equal(stress_counter(s, "fork_parent", ""), parent);
	assert_int_equal(stress_counter(s, "fork_child", ""), (uint64_t)K * CT * M);
	assert_int_equal(stress_counter(s, "fork_child_own", ""), K);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.stripes_owned, 0);
	shmstat_snap_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fork_from_threaded_writer, stress_setup,
						stress_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
