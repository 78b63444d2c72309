/*
 * test_prefork.c - a forked worker whose parent is gone before the worker
 * takes up the writer slot claimed for it at the fork.
 *
 * A process with open segments claims a writer slot for its child in
 * fork()'s prepare handler; the child adopts it in its child handler
 * (tls.c). Between the two the claim carries the parent's tag, and a
 * reaper takes back a claim whose tag is dead. A master that forks its
 * workers and exits at once (a pre-fork server handing over to its
 * workers, a daemon's fork-and-exit) dies before a worker that the
 * scheduler has not run yet adopts its claim: any reap meanwhile (a
 * sibling's, a shmstat_gc, an attach) took it back, and the worker, with
 * no slot, counted nothing at all, silently. Measured with 16 workers per
 * master that each count through the master's handles after it has
 * exited: 2 runs in 6 lost a worker's 16,680 and 21,409 counts. The
 * worker now claims a slot of its own (attach.c, fork_orphan()).
 *
 * The worker is held at the adoption by the test hook
 * (SHMSTAT_HOOK_FORK_ADOPT) while the master exits and a shmstat_gc runs:
 *
 * test_orphan_counts: the worker then counts through the master's
 * handle; its counts are there, exactly, while it lives (it is a writer
 * alive) and after it is gone and reaped.
 *
 * test_orphan_cancelled: the same, the master's fork() made by a thread
 * with a cancel request pending. The worker's claim of a slot of its own
 * (attach.c's child handler) reads /proc, a cancellation point: the
 * worker's only thread was cancelled inside fork(), and the worker
 * ended without counting. It must return from fork() and count.
 *
 * test_orphan_drops_removed: meanwhile the master's metric was removed,
 * its slot reclaimed (no writer slot held the master's acknowledgement
 * any more) and taken by a new metric. The worker's inherited handle of
 * the removed metric must do nothing: an add through it must not land in
 * the new metric's slot. Its handle of a metric that stays counts.
 *
 * In those three the master's claim keeps its tag (the test hook
 * SHMSTAT_HOOK_FORK_RETAG), as where the kernel does not list a thread's
 * children; otherwise the master gives it the worker's tag right after
 * the fork:
 *
 * test_retagged_claim_kept: then the claim is the worker's while it
 * lives, the master gone or not: the shmstat_gc folds the master's slot
 * alone, and the worker adopts its claim and counts.
 *
 * The test process is a child subreaper, so that it waits for the worker
 * once the master is gone.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "stress_common.h"
#include "hook.h"

struct master {
	const char *name;
	int at_hook;               /* worker -> test: its pid, at the adoption */
	int release;               /* test -> worker: adopt now (EOF too) */
	int done;                  /* worker -> test: one byte once counted */
	int hold;                  /* test -> worker: EOF: exit */
	int unused[4];             /* the test's ends */
	bool cancel;               /* fork with a cancel request pending */
};

static struct master *cur;
static pid_t worker;
static bool retag;                 /* the master gives its claim the worker's tag */

/* In the worker, inside its fork child handler: tell the test, wait. */
static void adopt_hook(enum shmstat_hook_point point, const void *arg)
{
	pid_t me = getpid();
	char c;

	if (point == SHMSTAT_HOOK_FORK_RETAG) {
		/* in the master: the claim keeps its tag, as on a kernel
		 * that does not list a thread's children (what this test is
		 * about: the claim is taken back once the master is gone) */
		if (!retag)
			*(uint64_t *)(uintptr_t)arg = 0;
		return;
	}
	if (point != SHMSTAT_HOOK_FORK_ADOPT)
		return;
	if (stress_write(cur->at_hook, &me, sizeof(me)) != 0)
		_exit(4);
	stress_read(cur->release, &c, 1);
}

/* The worker, past its adoption: the master is gone. */
static void worker_main(struct master *m, shmstat_counter *ck, shmstat_counter *co)
{
	char c;

	/* a cancel request the forking thread had is this thread's too: it
	 * acts at the next cancellation point (the write below), which is
	 * not what the test is about */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	shmstat_counter_add(ck, 1000);
	shmstat_counter_add(co, 7);
	CHILD_CHECK(stress_write(m->done, "d", 1) == 0);
	stress_read(m->hold, &c, 1);
	_exit(0);                       /* without shmstat_close() */
}

struct cancel_fork {
	struct master *m;
	shmstat_counter *ck, *co;
};

/* A thread of the master that forks with a cancel request of its own
 * pending (fork() is no cancellation point); the parent's side ends at
 * its next one. */
static void *cancel_fork_main(void *arg)
{
	struct cancel_fork *cf = arg;
	pid_t pid;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cancel(pthread_self());
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pid = fork();
	if (pid == 0)
		worker_main(cf->m, cf->ck, cf->co);
	pthread_testcancel();
	return NULL;
}

static int master_main(void *arg)
{
	struct master *m = arg;
	const struct shmstat_metric_def keep = { .name = "prefork_keep_total" };
	const struct shmstat_metric_def old = { .name = "prefork_old_total" };
	shmstat_counter *ck, *co;
	shmstat_seg *seg;
	pid_t pid;

	for (int i = 0; i < 4; i++)
		close(m->unused[i]);
	CHILD_CHECK(shmstat_open(m->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &keep, &ck) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &old, &co) == 0);
	shmstat_counter_add(ck, 5);
	cur = m;
	__atomic_store_n(&shmstat__test_hook, adopt_hook, __ATOMIC_RELEASE);
	if (m->cancel) {
		struct cancel_fork cf = { .m = m, .ck = ck, .co = co };
		pthread_t th;
		void *res;

		CHILD_CHECK(pthread_create(&th, NULL, cancel_fork_main, &cf) == 0);
		CHILD_CHECK(pthread_join(th, &res) == 0 && res == PTHREAD_CANCELED);
		_exit(0);
	}
	pid = fork();
	CHILD_CHECK(pid >= 0);
	if (pid == 0)
		worker_main(m, ck, co);
	_exit(0);                       /* the master leaves at once */
}

/* Start the master; back once its worker waits at its adoption and the
 * master has exited. */
static void start(struct master *m, const char *name, bool cancel)
{
	int a[2], r[2], d[2], h[2];
	pid_t pid;

	stress_pipe(a);
	stress_pipe(r);
	stress_pipe(d);
	stress_pipe(h);
	*m = (struct master){ .name = name, .at_hook = a[1], .release = r[0], .done = d[1],
			      .hold = h[0], .unused = { a[0], r[1], d[0], h[1] },
			      .cancel = cancel };
	pid = stress_spawn(master_main, m);
	close(a[1]);
	close(r[0]);
	close(d[1]);
	close(h[0]);
	m->at_hook = a[0];
	m->release = r[1];
	m->done = d[0];
	m->hold = h[1];
	if (stress_read(m->at_hook, &worker, sizeof(worker)) != sizeof(worker))
		fail_msg("the master's worker never reached its adoption (master status %d)",
			 stress_wait(pid));
	assert_int_equal(stress_wait(pid), 0);
}

/* Release the worker; back once it has counted. */
static void release(struct master *m)
{
	char c;

	assert_int_equal(stress_write(m->release, "g", 1), 0);
	if (stress_read(m->done, &c, 1) != 1)
		fail_msg("the worker ended (status %d) instead of counting", stress_wait(worker));
}

/* Let the worker exit; its status. */
static int finish(struct master *m)
{
	int st;

	close(m->hold);
	close(m->release);
	close(m->at_hook);
	close(m->done);
	st = stress_wait(worker);
	worker = 0;
	return st;
}

static void orphan_counts(bool cancel)
{
	const char *name = stress_name("prefork");
	struct shmstat_seg_info info;
	struct shmstat_proc_info pi;
	struct master m;
	unsigned reaped = 99;
	shmstat_snap *s;

	stress_create(name, NULL);
	start(&m, name, cancel);
	/* the master's slot, and the claim made for its worker */
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 2);
	release(&m);

	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	if (stress_counter(s, "prefork_keep_total", "") != 1005)
		fail_msg("prefork_keep_total is %llu, not 1005: the worker's 1000 counts were lost",
			 (unsigned long long)stress_counter(s, "prefork_keep_total", ""));
	assert_int_equal(stress_counter(s, "prefork_old_total", ""), 7);
	assert_int_equal(info.writers_alive, 1);
	assert_true(stress_find_proc(s, worker, &pi) >= 0);
	assert_int_equal(pi.alive, 1);
	shmstat_snap_free(s);

	assert_int_equal(finish(&m), 0);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 1);
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(stress_counter(s, "prefork_keep_total", ""), 1005);
	assert_int_equal(stress_counter(s, "prefork_old_total", ""), 7);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.stripes_owned, 0);
	shmstat_snap_free(s);
}

static void test_orphan_counts(void **state)
{
	(void)state;
	orphan_counts(false);
}

static void test_orphan_cancelled(void **state)
{
	(void)state;
	orphan_counts(true);
}

static void test_orphan_drops_removed(void **state)
{
	const char *name = stress_name("prefork");
	const struct shmstat_metric_def old = { .name = "prefork_old_total" };
	const struct shmstat_metric_def fresh = { .name = "prefork_new_total" };
	struct shmstat_opts o;
	struct master m;
	shmstat_counter *cn;
	shmstat_seg *seg;
	unsigned reaped = 99;
	shmstat_snap *s;

	(void)state;
	/* two counters' slots: the new metric can only take the old one's */
	shmstat_opts_init(&o);
	o.max_values = 2;
	stress_create(name, &o);
	start(&m, name, false);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_remove(seg, &old), 0);
	assert_int_equal(shmstat_close(seg), 0);
	/* folds the master and its worker's claim, reclaims the removal */
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &fresh, &cn), 0);
	shmstat_counter_add(cn, 3);
	assert_int_equal(shmstat_close(seg), 0);
	release(&m);

	s = stress_snap(name);
	if (stress_counter(s, "prefork_new_total", "") != 3)
		fail_msg("prefork_new_total is %llu, not 3: the worker's handle of the removed "
			 "prefork_old_total wrote into the slot the new metric took",
			 (unsigned long long)stress_counter(s, "prefork_new_total", ""));
	assert_int_equal(stress_counter(s, "prefork_keep_total", ""), 1005);
	assert_int_equal(stress_find(s, "prefork_old_total", "", NULL), -1);
	shmstat_snap_free(s);
	assert_int_equal(finish(&m), 0);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	s = stress_snap(name);
	assert_int_equal(stress_counter(s, "prefork_new_total", ""), 3);
	assert_int_equal(stress_counter(s, "prefork_keep_total", ""), 1005);
	shmstat_snap_free(s);
}

static void test_retagged_claim_kept(void **state)
{
	const char *name = stress_name("prefork");
	struct shmstat_seg_info info;
	struct master m;
	unsigned reaped = 99;
	shmstat_snap *s;

	(void)state;
	stress_create(name, NULL);
	retag = true;
	start(&m, name, false);
	retag = false;
	/* the master's slot alone: the claim carries the worker's tag */
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 1);
	release(&m);
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(stress_counter(s, "prefork_keep_total", ""), 1005);
	assert_int_equal(stress_counter(s, "prefork_old_total", ""), 7);
	assert_int_equal(info.writers_alive, 1);
	shmstat_snap_free(s);
	assert_int_equal(finish(&m), 0);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 1);
	s = stress_snap(name);
	assert_int_equal(stress_counter(s, "prefork_keep_total", ""), 1005);
	shmstat_snap_free(s);
}

/* A test that failed leaves its worker waiting at the adoption: kill it. */
static int teardown(void **state)
{
	if (worker > 0) {
		kill(worker, SIGKILL);
		waitpid(worker, NULL, 0);
		worker = 0;
	}
	return stress_teardown(state);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_orphan_counts, stress_setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_cancelled, stress_setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_drops_removed, stress_setup, teardown),
		cmocka_unit_test_setup_teardown(test_retagged_claim_kept, stress_setup, teardown),
	};

	stress_args(argc, argv);
	/* the worker outlives the master, whose child it is: it becomes ours */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
