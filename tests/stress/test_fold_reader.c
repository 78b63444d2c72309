/*
 * test_fold_reader.c - a reader snapshots in a loop while writers count
 * and other writers attach and go away, so stripes are folded into the
 * grave under the reader's feet.
 *
 * Writers, all adding to the counter fold_total and the SUM gauge
 * fold_sum (+1 per step):
 *   steady   S processes x 2 threads, ROUNDS chunks of CHUNK steps each;
 *            they exit without detaching (dead: folded by the next reap)
 *   churn    ROUNDS times: attach, 2 threads add A_STEPS each, detach (the
 *            detach folds this process's stripes)
 *   crash    ROUNDS times: fork a grandchild that attaches, adds B_STEPS
 *            and exits without detaching; wait for it; shmstat_gc (folds
 *            it, unless an attach already did)
 * Every worker (each steady thread, the churner, the crasher) does one
 * round per byte it reads from its own "tick" pipe, and the reader writes
 * one byte to every tick pipe after every snapshot: workers cannot run
 * ahead of the reader, so folds keep happening between and during
 * snapshots until the very end.
 *
 * The segment has fewer thread stripes than threads, so many counts sit in
 * per-process stripes. Two readers check every snapshot: this process, and
 * stress_reader (built without TSan, so its snapshots are much faster than
 * the folds). A snapshot succeeds or says SHMSTAT_EBUSY (a copy kept
 * racing with folds), never anything else; no descriptor fails
 * validation; the counter and the gauge never decrease from one snapshot
 * to the next (a fold moves values, it does not drop them) and never
 * exceed the final total (nor count them twice). At the end, after gc:
 * both exactly the final total, no writer, no stripe owned.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "stress_common.h"

#define S 2
#define ROUNDS 1000
#define CHUNK 1000
#define A_STEPS 500                /* per thread per churn round */
#define B_STEPS 500                /* per crash round */
#define NTICK (S * 2 + 2)          /* tick pipes: steady threads, churn, crash */
#define FINAL ((uint64_t)S * 2 * ROUNDS * CHUNK + (uint64_t)ROUNDS * 2 * A_STEPS + \
	       (uint64_t)ROUNDS * B_STEPS)

static int ticks[NTICK][2];

struct job {
	const char *name;
	int tick;                  /* first tick pipe of this process */
};

/* In a child: close every tick pipe end except the read ends it uses. */
static void keep_ticks(int first, int n)
{
	for (int i = 0; i < NTICK; i++) {
		close(ticks[i][1]);
		if (i < first || i >= first + n)
			close(ticks[i][0]);
	}
}

static int tick(int i)
{
	char c;

	return stress_read(ticks[i][0], &c, 1) == 1 ? 0 : -1;
}

struct handles {
	shmstat_counter *c;
	shmstat_gauge *g;
};

static void reg(shmstat_seg *seg, struct handles *h)
{
	const struct shmstat_metric_def dc = { .name = "fold_total" };
	const struct shmstat_metric_def dg = { .name = "fold_sum" };

	CHILD_CHECK(shmstat_counter_register(seg, &dc, &h->c) == 0);
	CHILD_CHECK(shmstat_gauge_register(seg, &dg, SHMSTAT_AGG_SUM, &h->g) == 0);
}

static void steps(const struct handles *h, int n)
{
	for (int i = 0; i < n; i++) {
		shmstat_counter_inc(h->c);
		shmstat_gauge_add(h->g, 1);
	}
}

/* ------------------------------------------------------------ steady */

struct steady_thread {
	struct handles h;
	int tick;
};

static void *steady_thread(void *arg)
{
	struct steady_thread *st = arg;

	for (int r = 0; r < ROUNDS; r++) {
		CHILD_CHECK(tick(st->tick) == 0);
		steps(&st->h, CHUNK);
	}
	return NULL;
}

static int steady_main(void *arg)
{
	const struct job *j = arg;
	struct steady_thread st[2];
	pthread_t th[2];
	shmstat_seg *seg;

	keep_ticks(j->tick, 2);
	CHILD_CHECK(shmstat_open(j->name, NULL, &seg) == 0);
	for (int t = 0; t < 2; t++) {
		reg(seg, &st[t].h);
		st[t].tick = j->tick + t;
		CHILD_CHECK(pthread_create(&th[t], NULL, steady_thread, &st[t]) == 0);
	}
	for (int t = 0; t < 2; t++)
		CHILD_CHECK(pthread_join(th[t], NULL) == 0);
	return 0;                          /* exit attached: a dead writer */
}

/* ------------------------------------------------------------- churn */

static void *churn_thread(void *arg)
{
	steps(arg, A_STEPS);
	return NULL;
}

static int churn_main(void *arg)
{
	const struct job *j = arg;

	keep_ticks(j->tick, 1);
	for (int r = 0; r < ROUNDS; r++) {
		struct handles h;
		pthread_t th[2];
		shmstat_seg *seg;

		CHILD_CHECK(tick(j->tick) == 0);
		CHILD_CHECK(shmstat_open(j->name, NULL, &seg) == 0);
		reg(seg, &h);
		for (int t = 0; t < 2; t++)
			CHILD_CHECK(pthread_create(&th[t], NULL, churn_thread, &h) == 0);
		for (int t = 0; t < 2; t++)
			CHILD_CHECK(pthread_join(th[t], NULL) == 0);
		CHILD_CHECK(shmstat_close(seg) == 0);
	}
	return 0;
}

/* ------------------------------------------------------------- crash */

static int crash_main(void *arg)
{
	const struct job *j = arg;

	keep_ticks(j->tick, 1);
	for (int r = 0; r < ROUNDS; r++) {
		pid_t pid;
		int st;
		unsigned reaped;

		CHILD_CHECK(tick(j->tick) == 0);
		pid = fork();
		CHILD_CHECK(pid >= 0);
		if (pid == 0) {
			struct handles h;
			shmstat_seg *seg;

			stress_die_with_parent();
			CHILD_CHECK(shmstat_open(j->name, NULL, &seg) == 0);
			reg(seg, &h);
			steps(&h, B_STEPS);
			_exit(0);                  /* no shmstat_close */
		}
		CHILD_CHECK(waitpid(pid, &st, 0) == pid);
		CHILD_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CHILD_CHECK(shmstat_gc(j->name, &reaped) == 0);
	}
	return 0;
}

/* ------------------------------------------------------------ reader */

static void test_fold_reader(void **state)
{
	const char *name = stress_name("fold");
	struct shmstat_opts o;
	struct job jobs[S + 2];
	pid_t pids[S + 2];
	int running = S + 2;
	uint64_t prev_c = 0, nsnaps = 0, nbusy = 0;
	int64_t prev_g = 0;
	shmstat_reader *r;
	shmstat_snap *s;
	struct shmstat_seg_info info;
	struct shmstat_metric_info mi;
	struct stress_rd rd;
	uint64_t fsnaps, fraced, fbusy;
	unsigned reaped;

	(void)state;
	shmstat_opts_init(&o);
	o.max_procs = 16;
	o.max_metrics = 16;
	o.max_values = 64;
	o.max_threads = 4;                 /* fewer than threads: some share */
	stress_create(name, &o);
	stress_reader_start(&rd, name, "fold_total", "fold_sum", "mono", FINAL);
	for (int i = 0; i < NTICK; i++)
		stress_pipe(ticks[i]);
	for (int i = 0; i < S; i++) {
		jobs[i] = (struct job){ .name = name, .tick = 2 * i };
		pids[i] = stress_spawn(steady_main, &jobs[i]);
	}
	jobs[S] = (struct job){ .name = name, .tick = 2 * S };
	pids[S] = stress_spawn(churn_main, &jobs[S]);
	jobs[S + 1] = (struct job){ .name = name, .tick = 2 * S + 1 };
	pids[S + 1] = stress_spawn(crash_main, &jobs[S + 1]);
	for (int i = 0; i < NTICK; i++) {
		close(ticks[i][0]);
		assert_int_equal(fcntl(ticks[i][1], F_SETFL, O_NONBLOCK), 0);
	}

	assert_int_equal(shmstat_reader_open(name, &r), 0);
	while (running > 0) {
		int err = shmstat_snapshot(r, &s);

		nsnaps++;
		if (err == SHMSTAT_EBUSY) {
			nbusy++;
		} else {
			if (err)
				fail_msg("snapshot: %s: %s", shmstat_strerror(err),
					 shmstat_last_error());
			shmstat_snap_info(s, &info);
			assert_int_equal(info.bad_descs, 0);
			if (stress_find(s, "fold_total", "", &mi) >= 0) {
				if (mi.counter < prev_c || mi.counter > FINAL)
					fail_msg("snapshot %llu: fold_total %llu after %llu (final %llu)",
						 (unsigned long long)nsnaps,
						 (unsigned long long)mi.counter,
						 (unsigned long long)prev_c,
						 (unsigned long long)FINAL);
				prev_c = mi.counter;
			}
			if (stress_find(s, "fold_sum", "", &mi) >= 0) {
				if (mi.gauge < prev_g || mi.gauge > (int64_t)FINAL)
					fail_msg("snapshot %llu: fold_sum %lld after %lld (final %llu)",
						 (unsigned long long)nsnaps, (long long)mi.gauge,
						 (long long)prev_g, (unsigned long long)FINAL);
				prev_g = mi.gauge;
			}
			shmstat_snap_free(s);
		}
		for (int i = 0; i < NTICK; i++) {
			ssize_t w = write(ticks[i][1], "t", 1);

			assert_true(w == 1 || errno == EAGAIN || errno == EPIPE);
		}
		for (int i = 0; i < S + 2; i++) {
			int st;

			if (pids[i] > 0 && waitpid(pids[i], &st, WNOHANG) == pids[i]) {
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					fail_msg("worker %d ended with status %#x", i, st);
				pids[i] = 0;
				running--;
			}
		}
	}
	shmstat_reader_close(r);
	for (int i = 0; i < NTICK; i++)
		close(ticks[i][1]);
	stress_reader_stop(&rd, &fsnaps, &fraced, &fbusy);
	printf("  %llu snapshots, %llu EBUSY; stress_reader: %llu snapshots, %llu raced with "
	       "a fold, %llu EBUSY\n", (unsigned long long)nsnaps, (unsigned long long)nbusy,
	       (unsigned long long)fsnaps, (unsigned long long)fraced, (unsigned long long)fbusy);
	assert_true(nsnaps >= ROUNDS);         /* workers waited for them */

	assert_int_equal(shmstat_gc(name, &reaped), 0);
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(stress_counter(s, "fold_total", ""), FINAL);
	assert_true(stress_find(s, "fold_sum", "", &mi) >= 0);
	assert_int_equal(mi.gauge, (int64_t)FINAL);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.stripes_owned, 0);
	assert_int_equal(shmstat_snap_procs(s), 0);
	assert_int_equal(shmstat_snap_metrics(s), 2);
	shmstat_snap_free(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fold_reader, stress_setup, stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
