/*
 * test_exact.c - P processes x T threads x N increments are counted
 * exactly, while the writers are attached, after they exit (some detach
 * with shmstat_close, the others just exit) and after gc; also when the
 * segment has fewer thread stripes than there are threads, so most threads
 * share their process's stripe with atomic adds.
 *
 * Each writer i registers:
 *   stress_total            counter, same in every process
 *   stress_proc{proc="i"}   counter, one per process
 *   stress_net              SUM gauge: each step adds 3 and subtracts 1
 *   stress_live_net         LIVESUM gauge: each step adds 1
 *   stress_max              MAX gauge: set to 100 + i
 *   stress_live_max         LIVEMAX gauge: set to 100 + i
 * Odd threads increment the counters with the inline fast path
 * (shmstat_inline.h), even threads through the library call.
 * Every thread makes its first step, waits at a barrier with the other
 * threads of its process (so all of them own a stripe, or fell back to the
 * shared one, at the same time), then makes the N - 1 other steps.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stress_common.h"
#include "shmstat_inline.h"

#define P 4
#define T 4
#define N 200000

struct writer {
	const char *name;
	int idx;
	int done_fd;               /* writer -> parent: one byte when counted */
	int go_fd;                 /* parent -> writer: EOF means "finish" */
	int close_seg;             /* detach with shmstat_close before exit */
	int unused[2];             /* the parent's ends, closed in the child */
};

struct wthread {
	pthread_barrier_t *bar;
	shmstat_counter *total, *proc;
	shmstat_gauge *net, *live;
	int inline_path;
};

static void step(struct wthread *w)
{
	if (w->inline_path) {
		shmstat_counter_inc_inline(w->total);
		shmstat_counter_add_inline(w->proc, 1);
	} else {
		shmstat_counter_inc(w->total);
		shmstat_counter_inc(w->proc);
	}
	shmstat_gauge_add(w->net, 3);
	shmstat_gauge_sub(w->net, 1);
	shmstat_gauge_add(w->live, 1);
}

static void *writer_thread(void *arg)
{
	struct wthread *w = arg;

	step(w);
	pthread_barrier_wait(w->bar);
	for (int i = 1; i < N; i++)
		step(w);
	return NULL;
}

static int writer_main(void *arg)
{
	const struct writer *wr = arg;
	char idx[16];
	const char *labels[] = { "proc", idx, NULL };
	struct shmstat_metric_def d_total = { .name = "stress_total", .help = "all steps" };
	struct shmstat_metric_def d_proc = { .name = "stress_proc", .labels = labels };
	struct shmstat_metric_def d_net = { .name = "stress_net" };
	struct shmstat_metric_def d_live = { .name = "stress_live_net" };
	struct shmstat_metric_def d_max = { .name = "stress_max" };
	struct shmstat_metric_def d_lmax = { .name = "stress_live_max" };
	struct wthread w, wt[T];
	shmstat_gauge *gmax, *glmax;
	pthread_barrier_t bar;
	pthread_t th[T];
	shmstat_seg *seg;
	char c;

	close(wr->unused[0]);
	close(wr->unused[1]);
	snprintf(idx, sizeof(idx), "%d", wr->idx);
	CHILD_CHECK(shmstat_open(wr->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &d_total, &w.total) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &d_proc, &w.proc) == 0);
	CHILD_CHECK(shmstat_gauge_register(seg, &d_net, SHMSTAT_AGG_SUM, &w.net) == 0);
	CHILD_CHECK(shmstat_gauge_register(seg, &d_live, SHMSTAT_AGG_LIVESUM, &w.live) == 0);
	CHILD_CHECK(shmstat_gauge_register(seg, &d_max, SHMSTAT_AGG_MAX, &gmax) == 0);
	CHILD_CHECK(shmstat_gauge_register(seg, &d_lmax, SHMSTAT_AGG_LIVEMAX, &glmax) == 0);
	shmstat_gauge_set(gmax, 100 + wr->idx);
	shmstat_gauge_set(glmax, 100 + wr->idx);
	w.bar = &bar;
	CHILD_CHECK(pthread_barrier_init(&bar, NULL, T) == 0);
	for (int t = 0; t < T; t++) {
		wt[t] = w;
		wt[t].inline_path = t & 1;
		CHILD_CHECK(pthread_create(&th[t], NULL, writer_thread, &wt[t]) == 0);
	}
	for (int t = 0; t < T; t++)
		CHILD_CHECK(pthread_join(th[t], NULL) == 0);
	CHILD_CHECK(stress_write(wr->done_fd, "d", 1) == 0);
	CHILD_CHECK(stress_read(wr->go_fd, &c, 1) == 0);     /* EOF: finish */
	if (wr->close_seg)
		CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

/* The totals every snapshot must show, whatever the writers' state. */
static void check_totals(const shmstat_snap *s, int attached)
{
	struct shmstat_metric_info mi;
	const uint64_t steps = (uint64_t)P * T * N;

	assert_int_equal(shmstat_snap_metrics(s), 1 + P + 4);
	assert_int_equal(stress_counter(s, "stress_total", ""), steps);
	for (int i = 0; i < P; i++) {
		char labels[32];

		snprintf(labels, sizeof(labels), "proc=\"%d\"", i);
		assert_int_equal(stress_counter(s, "stress_proc", labels), (uint64_t)T * N);
	}
	assert_true(stress_find(s, "stress_net", "", &mi) >= 0);
	assert_int_equal(mi.type, SHMSTAT_GAUGE);
	assert_int_equal(mi.gauge, (int64_t)(2 * steps));
	assert_true(stress_find(s, "stress_live_net", "", &mi) >= 0);
	assert_int_equal(mi.gauge, attached ? (int64_t)steps : 0);
	assert_true(stress_find(s, "stress_max", "", &mi) >= 0);
	assert_true(mi.has_value);
	assert_int_equal(mi.gauge, 100 + P - 1);
	assert_true(stress_find(s, "stress_live_max", "", &mi) >= 0);
	if (attached) {
		assert_true(mi.has_value);
		assert_int_equal(mi.gauge, 100 + P - 1);
	} else {
		assert_false(mi.has_value);
	}
}

static void run_exact(uint32_t max_threads)
{
	const char *name = stress_name("exact");
	struct shmstat_opts o;
	struct writer wr[P];
	pid_t pids[P];
	int done[P][2], go[2];
	struct shmstat_seg_info info;
	shmstat_snap *s;
	uint32_t stripes = 0;
	unsigned reaped = 99;

	shmstat_opts_init(&o);
	o.max_procs = 8;
	o.max_metrics = 64;
	o.max_values = 64;
	o.max_threads = max_threads;
	stress_create(name, &o);
	stress_pipe(go);
	for (int i = 0; i < P; i++) {
		/* one pipe per writer: if it dies, its pipe says EOF */
		stress_pipe(done[i]);
		wr[i] = (struct writer){ .name = name, .idx = i, .done_fd = done[i][1],
					 .go_fd = go[0], .close_seg = i & 1,
					 .unused = { done[i][0], go[1] } };
		pids[i] = stress_spawn(writer_main, &wr[i]);
		close(done[i][1]);
	}
	close(go[0]);
	for (int i = 0; i < P; i++)
		stress_expect(done[i][0], pids[i]);

	/* every writer is attached and done counting */
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_alive, P);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.bad_descs, 0);
	assert_int_equal(info.dropped_regs, 0);
	assert_int_equal(shmstat_snap_procs(s), P);
	check_totals(s, 1);
	for (int i = 0; i < P; i++) {
		struct shmstat_proc_info pi;
		int j = stress_find_proc(s, pids[i], &pi);
		struct shmstat_metric_info mi;
		char labels[32];
		uint64_t cv;
		int64_t gv;
		int m;

		assert_true(j >= 0);
		assert_true(pi.alive);
		stripes += pi.stripes;
		if (max_threads >= P * T)
			assert_int_equal(pi.stripes, T);   /* one per thread */
		/* per-process breakdown: each process did T*N of the total
		 * and all of its own counter, nothing of the others' */
		m = stress_find(s, "stress_total", "", &mi);
		assert_int_equal(shmstat_snap_metric_proc(s, (size_t)m, (size_t)j, &cv, &gv), 0);
		assert_int_equal(cv, (uint64_t)T * N);
		for (int k = 0; k < P; k++) {
			snprintf(labels, sizeof(labels), "proc=\"%d\"", k);
			m = stress_find(s, "stress_proc", labels, &mi);
			assert_int_equal(shmstat_snap_metric_proc(s, (size_t)m, (size_t)j, &cv, &gv), 0);
			assert_int_equal(cv, k == i ? (uint64_t)T * N : 0);
		}
		m = stress_find(s, "stress_max", "", &mi);
		assert_int_equal(shmstat_snap_metric_proc(s, (size_t)m, (size_t)j, &cv, &gv), 0);
		assert_int_equal(gv, 100 + i);
	}
	/* all thread stripes in use: one per thread, or all max_threads */
	assert_int_equal(stripes, max_threads >= P * T ? P * T : max_threads);
	assert_int_equal(info.stripes_owned, stripes);
	shmstat_snap_free(s);

	/* let them finish: odd ones detach, even ones just exit */
	close(go[1]);
	for (int i = 0; i < P; i++) {
		assert_int_equal(stress_wait(pids[i]), 0);
		close(done[i][0]);
	}

	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_alive, 0);
	/* detached writers were folded at close; those that only exited
	 * are dead until reaped (a closing writer may have reaped some) */
	assert_true(info.writers_dead <= P / 2);
	check_totals(s, 0);
	shmstat_snap_free(s);

	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_true(reaped <= P / 2);
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.stripes_owned, 0);
	assert_int_equal(shmstat_snap_procs(s), 0);
	check_totals(s, 0);
	{
		/* everything now belongs to the gone writers */
		struct shmstat_metric_info mi;
		int m = stress_find(s, "stress_total", "", &mi);
		uint64_t cv;
		int64_t gv;

		assert_int_equal(shmstat_snap_metric_proc(s, (size_t)m, SHMSTAT_PROC_GONE,
							  &cv, &gv), 0);
		assert_int_equal(cv, (uint64_t)P * T * N);
	}
	shmstat_snap_free(s);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 0);
}

static void test_exact_own_stripes(void **state)
{
	(void)state;
	run_exact(64);
}

static void test_exact_more_threads_than_stripes(void **state)
{
	(void)state;
	run_exact(2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact_own_stripes, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_exact_more_threads_than_stripes,
						stress_setup, stress_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
