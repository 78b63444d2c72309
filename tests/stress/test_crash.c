/*
 * test_crash.c - writers killed with SIGKILL while counting.
 *
 * W writer processes, TW threads each, on a segment whose thread-stripe
 * capacity is exactly W * TW. Every thread loops over batches of B steps
 * (inc of the shared counter, inc of its writer's counter, +1 on a SUM and
 * on a LIVESUM gauge) and, after each batch, writes its cumulative count
 * to a pipe. Once every thread has reported (so every stripe is owned),
 * the parent kills each writer with SIGKILL when the progress it has read
 * of that writer reaches a point drawn from a fixed seed.
 *
 * Then, with the progress reported before the kills (the pipe drained to
 * EOF), for each counter and the SUM gauge:
 *     reported <= value <= reported + (threads writing it) * B
 * (a thread may have done at most its in-flight batch beyond what it
 * reported), and LIVESUM is 0 (no writer alive).
 *
 * Variant "gc first": shmstat_gc reaps exactly the W dead slots; the
 * reader then shows no dead writer, no stripe owned, and the very same
 * values, all in the "gone" column (the fold moved them into the grave).
 * Variant "attach first": a new writer attaches while the dead are still
 * there; attaching reaps them (same checks), and gc then reaps nothing.
 *
 * Both then check that the stripes were reused: the new writer runs W * TW
 * threads at once and each owns a thread stripe, though all of them were
 * held by the dead; its counts add exactly.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "stress_common.h"

#define W 4
#define TW 2
#define B 2000
#define NEW_T (W * TW)
#define NEW_ADD 1000

struct rec {
	uint32_t writer, thread;
	uint64_t count;            /* steps done, cumulative, after a batch */
};

struct writer {
	const char *name;
	int idx;
	int rec_fd;
	int unused;                /* the parent's read end */
};

struct wthread {
	const struct writer *wr;
	int t;
	shmstat_counter *total, *mine;
	shmstat_gauge *sum, *live;
};

static void *writer_thread(void *arg)
{
	struct wthread *w = arg;
	struct rec r = { .writer = (uint32_t)w->wr->idx, .thread = (uint32_t)w->t };

	for (;;) {
		for (int i = 0; i < B; i++) {
			shmstat_counter_inc(w->total);
			shmstat_counter_inc(w->mine);
			shmstat_gauge_add(w->sum, 1);
			shmstat_gauge_add(w->live, 1);
		}
		r.count += B;
		/* one record < PIPE_BUF: written whole, never interleaved */
		CHILD_CHECK(stress_write(w->wr->rec_fd, &r, sizeof(r)) == 0);
	}
	return NULL;
}

static int writer_main(void *arg)
{
	const struct writer *wr = arg;
	char idx[16];
	const char *labels[] = { "writer", idx, NULL };
	const struct shmstat_metric_def d_total = { .name = "crash_total" };
	const struct shmstat_metric_def d_mine = { .name = "crash_writer", .labels = labels };
	const struct shmstat_metric_def d_sum = { .name = "crash_sum" };
	const struct shmstat_metric_def d_live = { .name = "crash_live" };
	struct wthread w[TW];
	pthread_t th[TW];
	shmstat_seg *seg;

	close(wr->unused);
	snprintf(idx, sizeof(idx), "%d", wr->idx);
	CHILD_CHECK(shmstat_open(wr->name, NULL, &seg) == 0);
	for (int t = 0; t < TW; t++) {
		w[t].wr = wr;
		w[t].t = t;
		CHILD_CHECK(shmstat_counter_register(seg, &d_total, &w[t].total) == 0);
		CHILD_CHECK(shmstat_counter_register(seg, &d_mine, &w[t].mine) == 0);
		CHILD_CHECK(shmstat_gauge_register(seg, &d_sum, SHMSTAT_AGG_SUM, &w[t].sum) == 0);
		CHILD_CHECK(shmstat_gauge_register(seg, &d_live, SHMSTAT_AGG_LIVESUM,
						   &w[t].live) == 0);
		CHILD_CHECK(pthread_create(&th[t], NULL, writer_thread, &w[t]) == 0);
	}
	for (int t = 0; t < TW; t++)
		pthread_join(th[t], NULL);         /* never: killed */
	return 4;
}

/* The writer that attaches after the crash. */
struct newcomer {
	const char *name;
	int ready_fd, go_fd;
	int unused[2];
	pthread_barrier_t bar;
	shmstat_counter *total;
};

static void *newcomer_thread(void *arg)
{
	struct newcomer *n = arg;

	shmstat_counter_inc(n->total);          /* claims a stripe */
	pthread_barrier_wait(&n->bar);          /* all NEW_T hold one */
	pthread_barrier_wait(&n->bar);          /* the parent has looked */
	shmstat_counter_add(n->total, NEW_ADD);
	return NULL;
}

static int newcomer_main(void *arg)
{
	struct newcomer *n = arg;
	const struct shmstat_metric_def d_total = { .name = "crash_total" };
	pthread_t th[NEW_T];
	shmstat_seg *seg;
	char c;

	close(n->unused[0]);
	close(n->unused[1]);
	CHILD_CHECK(shmstat_open(n->name, NULL, &seg) == 0);
	CHILD_CHECK(stress_write(n->ready_fd, "a", 1) == 0);   /* attached */
	CHILD_CHECK(stress_read(n->go_fd, &c, 1) == 1);
	CHILD_CHECK(shmstat_counter_register(seg, &d_total, &n->total) == 0);
	CHILD_CHECK(pthread_barrier_init(&n->bar, NULL, NEW_T + 1) == 0);
	for (int t = 0; t < NEW_T; t++)
		CHILD_CHECK(pthread_create(&th[t], NULL, newcomer_thread, n) == 0);
	pthread_barrier_wait(&n->bar);
	CHILD_CHECK(stress_write(n->ready_fd, "s", 1) == 0);   /* stripes held */
	CHILD_CHECK(stress_read(n->go_fd, &c, 1) == 1);
	pthread_barrier_wait(&n->bar);
	for (int t = 0; t < NEW_T; t++)
		CHILD_CHECK(pthread_join(th[t], NULL) == 0);
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

struct frozen {
	uint64_t total, writer[W];
	int64_t sum;
};

/* Read the values a snapshot shows; check the bounds from @rep. */
static void check_bounds(const shmstat_snap *s, const uint64_t rep[W][TW], struct frozen *f)
{
	struct shmstat_metric_info mi;
	uint64_t all = 0;

	for (int w = 0; w < W; w++) {
		char labels[32];
		uint64_t mine = 0;

		for (int t = 0; t < TW; t++)
			mine += rep[w][t];
		all += mine;
		snprintf(labels, sizeof(labels), "writer=\"%d\"", w);
		f->writer[w] = stress_counter(s, "crash_writer", labels);
		if (f->writer[w] < mine || f->writer[w] > mine + (uint64_t)TW * B)
			fail_msg("writer %d: counted %llu, reported %llu (+ at most %d)", w,
				 (unsigned long long)f->writer[w], (unsigned long long)mine, TW * B);
	}
	f->total = stress_counter(s, "crash_total", "");
	if (f->total < all || f->total > all + (uint64_t)W * TW * B)
		fail_msg("total: counted %llu, reported %llu (+ at most %d)",
			 (unsigned long long)f->total, (unsigned long long)all, W * TW * B);
	{
		uint64_t ws = 0;

		for (int w = 0; w < W; w++)
			ws += f->writer[w];
		/* every step increments both: they can differ by at most
		 * one step per thread (killed between the two increments) */
		assert_true(f->total <= ws + W * TW && ws <= f->total + W * TW);
	}
	assert_true(stress_find(s, "crash_sum", "", &mi) >= 0);
	f->sum = mi.gauge;
	assert_true(f->sum >= (int64_t)all && f->sum <= (int64_t)(all + (uint64_t)W * TW * B));
	assert_true(stress_find(s, "crash_live", "", &mi) >= 0);
	assert_int_equal(mi.gauge, 0);
}

/* Values of a snapshot after the dead were folded: the same as @f, all
 * of it in the "gone" column. */
static void check_folded(const shmstat_snap *s, const struct frozen *f, uint64_t extra)
{
	struct shmstat_metric_info mi;
	uint64_t cv;
	int64_t gv;
	int m;

	m = stress_find(s, "crash_total", "", &mi);
	assert_true(m >= 0);
	assert_int_equal(mi.counter, f->total + extra);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)m, SHMSTAT_PROC_GONE, &cv, &gv), 0);
	assert_int_equal(cv, f->total);
	for (int w = 0; w < W; w++) {
		char labels[32];

		snprintf(labels, sizeof(labels), "writer=\"%d\"", w);
		m = stress_find(s, "crash_writer", labels, &mi);
		assert_int_equal(mi.counter, f->writer[w]);
		assert_int_equal(shmstat_snap_metric_proc(s, (size_t)m, SHMSTAT_PROC_GONE,
							  &cv, &gv), 0);
		assert_int_equal(cv, f->writer[w]);
	}
	m = stress_find(s, "crash_sum", "", &mi);
	assert_int_equal(mi.gauge, f->sum);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)m, SHMSTAT_PROC_GONE, &cv, &gv), 0);
	assert_int_equal(gv, f->sum);
	assert_true(stress_find(s, "crash_live", "", &mi) >= 0);
	assert_int_equal(mi.gauge, 0);
}

static void run_crash(int gc_first, uint64_t seed)
{
	const char *name = stress_name("crash");
	struct shmstat_opts o;
	struct writer wr[W];
	pid_t pids[W];
	int alive[W];
	uint64_t rep[W][TW], target[W];
	int recs[2];
	int nalive = W, started = 0;
	struct shmstat_seg_info info;
	struct frozen f;
	shmstat_snap *s;
	struct rec r;
	unsigned reaped = 99;

	shmstat_opts_init(&o);
	o.max_procs = 8;
	o.max_metrics = 32;
	o.max_values = 64;
	o.max_threads = W * TW;        /* the dead will hold every one */
	stress_create(name, &o);
	memset(rep, 0, sizeof(rep));
	stress_pipe(recs);
	for (int w = 0; w < W; w++) {
		/* kill point: between 1 and 40 batches of this writer beyond
		 * the moment every thread has reported once */
		target[w] = (uint64_t)TW * B + (1 + stress_rand(&seed) % 40) * B;
		wr[w] = (struct writer){ .name = name, .idx = w, .rec_fd = recs[1],
					 .unused = recs[0] };
		pids[w] = stress_spawn(writer_main, &wr[w]);
		alive[w] = 1;
	}
	close(recs[1]);

	while (nalive > 0) {
		uint64_t mine;

		assert_int_equal(stress_read(recs[0], &r, sizeof(r)), sizeof(r));
		/* a writer must only ever end by our SIGKILL (66 would be a
		 * race found by TSan): the others would keep the pipe open */
		for (int w = 0; w < W; w++) {
			int st;

			if (alive[w] && waitpid(pids[w], &st, WNOHANG) == pids[w])
				fail_msg("writer %d ended by itself, status %#x", w, st);
		}
		assert_true(r.writer < W && r.thread < TW);
		assert_true(r.count > rep[r.writer][r.thread]);
		rep[r.writer][r.thread] = r.count;
		if (!started) {
			int all = 1;

			for (int w = 0; w < W; w++)
				for (int t = 0; t < TW; t++)
					all &= rep[w][t] > 0;
			if (!all)
				continue;
			/* every thread counted: every thread stripe is owned */
			started = 1;
			s = stress_snap(name);
			shmstat_snap_info(s, &info);
			assert_int_equal(info.writers_alive, W);
			assert_int_equal(info.stripes_owned, W * TW);
			assert_int_equal(info.max_threads, W * TW);
			for (int w = 0; w < W; w++) {
				struct shmstat_proc_info pi;

				assert_true(stress_find_proc(s, pids[w], &pi) >= 0);
				assert_int_equal(pi.stripes, TW);
			}
			shmstat_snap_free(s);
		}
		mine = 0;
		for (int t = 0; t < TW; t++)
			mine += rep[r.writer][t];
		if (alive[r.writer] && mine >= target[r.writer]) {
			assert_int_equal(kill(pids[r.writer], SIGKILL), 0);
			assert_int_equal(stress_wait(pids[r.writer]), 128 + SIGKILL);
			alive[r.writer] = 0;
			nalive--;
		}
	}
	/* what the dead wrote before dying is still in the pipe */
	while (stress_read(recs[0], &r, sizeof(r)) == sizeof(r)) {
		assert_true(r.writer < W && r.thread < TW);
		assert_true(r.count > rep[r.writer][r.thread]);
		rep[r.writer][r.thread] = r.count;
	}
	close(recs[0]);

	/* dead, not reaped: still counted, all the stripes still held */
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(info.writers_dead, W);
	assert_int_equal(info.stripes_owned, W * TW);
	check_bounds(s, (const uint64_t (*)[TW])rep, &f);
	shmstat_snap_free(s);
	{
		uint64_t all = 0;

		for (int w = 0; w < W; w++)
			for (int t = 0; t < TW; t++)
				all += rep[w][t];
		printf("  killed %d writers: reported %llu steps, counted %llu (in flight %llu)\n",
		       W, (unsigned long long)all, (unsigned long long)f.total,
		       (unsigned long long)(f.total - all));
	}

	{
		struct newcomer n = { .name = name };
		int ready[2], go[2];
		pid_t npid;

		if (gc_first) {
			assert_int_equal(shmstat_gc(name, &reaped), 0);
			assert_int_equal(reaped, W);
			s = stress_snap(name);
			shmstat_snap_info(s, &info);
			assert_int_equal(info.writers_dead, 0);
			assert_int_equal(info.writers_alive, 0);
			assert_int_equal(info.stripes_owned, 0);
			assert_int_equal(shmstat_snap_procs(s), 0);
			check_folded(s, &f, 0);
			shmstat_snap_free(s);
		}

		stress_pipe(ready);
		stress_pipe(go);
		n.ready_fd = ready[1];
		n.go_fd = go[0];
		n.unused[0] = ready[0];
		n.unused[1] = go[1];
		npid = stress_spawn(newcomer_main, &n);
		close(ready[1]);
		close(go[0]);
		stress_expect(ready[0], npid);                         /* attached */

		s = stress_snap(name);
		shmstat_snap_info(s, &info);
		assert_int_equal(info.writers_alive, 1);
		assert_int_equal(info.writers_dead, 0);    /* attaching reaped */
		assert_int_equal(info.stripes_owned, 0);
		check_folded(s, &f, 0);
		shmstat_snap_free(s);
		if (!gc_first) {
			assert_int_equal(shmstat_gc(name, &reaped), 0);
			assert_int_equal(reaped, 0);
		}

		assert_int_equal(stress_write(go[1], "g", 1), 0);
		stress_expect(ready[0], npid);                         /* stripes held */
		s = stress_snap(name);
		shmstat_snap_info(s, &info);
		{
			struct shmstat_proc_info pi;

			assert_true(stress_find_proc(s, npid, &pi) >= 0);
			assert_int_equal(pi.stripes, NEW_T);
		}
		assert_int_equal(info.stripes_owned, NEW_T);
		check_folded(s, &f, NEW_T);
		shmstat_snap_free(s);

		assert_int_equal(stress_write(go[1], "g", 1), 0);
		assert_int_equal(stress_wait(npid), 0);
		close(ready[0]);
		close(go[1]);
	}
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.stripes_owned, 0);
	assert_int_equal(stress_counter(s, "crash_total", ""),
			 f.total + (uint64_t)NEW_T * (1 + NEW_ADD));
	shmstat_snap_free(s);
}

#define RUNS 6

static void test_crash_gc_first(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	(void)state;
	for (int i = 0; i < RUNS; i++)
		run_crash(1, stress_rand(&seed));
}

static void test_crash_attach_first(void **state)
{
	uint64_t seed = 0xd1b54a32d192ed03ULL;

	(void)state;
	for (int i = 0; i < RUNS; i++)
		run_crash(0, stress_rand(&seed));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_crash_gc_first, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_crash_attach_first, stress_setup,
						stress_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
