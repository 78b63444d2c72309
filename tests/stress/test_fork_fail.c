/*
 * test_fork_fail.c - a fork() that fails gives back the slot it claimed.
 *
 * fork()'s prepare handler claims a writer slot for the child-to-be
 * (CLAIMING, with the parent's tag), and the child adopts it in its own
 * handler (tls.c). When fork() fails (EAGAIN: a pids cgroup limit,
 * RLIMIT_NPROC; ENOMEM) there is no child, but glibc runs the parent
 * handlers all the same: the claim stayed, with the parent's live tag,
 * until a reaper took it as stale 10 s later. A master that retries its
 * fork() took every free slot within milliseconds, and the worker it
 * forked once fork() succeeded again had no slot: it counted nothing, for
 * its whole life. Measured here with 3 slots: after 4 failed forks the
 * worker's 1,000 counts read 0, and another writer's shmstat_open failed
 * with SHMSTAT_EFULL ("1 taken by live processes and 2 by gone ones or
 * claims not folded yet").
 *
 * The forks fail in a thread of the writer that installs a seccomp filter
 * making clone() fail with EAGAIN (no_new_privs and the filter are that
 * thread's alone; threads are made with clone3, and the writer's other
 * fork comes from its main thread). Where seccomp is not available (qemu
 * user mode) the test is skipped.
 *
 * test_killed_child_frees_claim: children that die before they adopt
 * their claim (a master that kills the workers it has just forked: the
 * scheduler had not run them yet) left it the same way, CLAIMING with the
 * master's live tag for 10 s. Measured with 16 slots: 16 workers forked
 * and SIGKILLed at once, then 16 that counted 1,000 each: 0 counted, every
 * slot CLAIMING. A fork() that finds no free slot now gives up the claims
 * whose child is gone (the parent notes each child's tag at the fork).
 * Here the children die in an atfork child handler of the writer's own,
 * which runs before the library's: 3 slots, 4 such children, then a
 * worker that counts 1,000 (before: 0).
 *
 * test_killed_child_claim_any_reaper: the same 4 children, and then the
 * writer forks no more; another process opens the segment. The writer
 * gave each claim its child's tag after the fork, so that process's reap
 * folds the claims of the dead children and it gets a slot (when only
 * the writer's next fork gave them up: SHMSTAT_EFULL, for 10 s).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "stress_common.h"

#define SLOTS 3
#define FAILS 4                    /* more than the free slots */
#define N 1000
#define SKIP 77                    /* the writer's status: no seccomp */

static const char *seg_name;

/* In a thread of its own: FAILS fork()s, each failing with EAGAIN.
 * *@arg: 0, SKIP, or a line number of what went wrong. */
static void *failing_forks(void *arg)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAGAIN),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	const struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	int *res = arg;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		*res = SKIP;
		return NULL;
	}
	for (int i = 0; i < FAILS; i++) {
		const pid_t p = fork();

		if (p == 0)
			_exit(0);
		if (p > 0) {
			waitpid(p, NULL, 0);
			*res = __LINE__;
			return NULL;
		}
		if (errno != EAGAIN) {
			*res = __LINE__;
			return NULL;
		}
	}
	*res = 0;
	return NULL;
}

/* A worker forked now counts N through @c and exits; then @seg closes. */
static void worker_counts(shmstat_seg *seg, shmstat_counter *c)
{
	pid_t w = fork();

	CHILD_CHECK(w >= 0);
	if (w == 0) {
		for (int i = 0; i < N; i++)
			shmstat_counter_inc(c);
		shmstat_close(seg);
		_exit(0);
	}
	CHILD_CHECK(stress_wait(w) == 0);
	shmstat_close(seg);
}

/* The writer: its slot, FAILS failed forks, then a worker that counts N
 * through the inherited handle. */
static int writer_main(void *arg)
{
	const struct shmstat_metric_def d = { .name = "fork_fail_total" };
	shmstat_counter *c;
	shmstat_seg *seg;
	pthread_t th;
	int res = -1;

	(void)arg;
	CHILD_CHECK(shmstat_open(seg_name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &d, &c) == 0);
	CHILD_CHECK(pthread_create(&th, NULL, failing_forks, &res) == 0);
	CHILD_CHECK(pthread_join(th, NULL) == 0);
	if (res == SKIP)
		return SKIP;
	if (res != 0)
		fprintf(stderr, "failing_forks: line %d\n", res);
	CHILD_CHECK(res == 0);
	worker_counts(seg, c);
	return 0;
}

/* Set in the writer before the forks whose child dies at once. */
static int dying;

static void die_first(void)
{
	if (dying)
		_exit(0);
}

/* The writer: its slot, FAILS children that die before they adopt their
 * claim, then a worker that counts N through the inherited handle. A
 * program of its own (this one, with "--killed-writer NAME"): the test
 * process has installed the library's fork handlers already. */
static int killed_writer(const char *name)
{
	const struct shmstat_metric_def d = { .name = "fork_fail_total" };
	shmstat_counter *c;
	shmstat_seg *seg;
	pid_t w;

	seg_name = name;
	/* before the library's handlers: a child handler registered first
	 * runs first */
	CHILD_CHECK(pthread_atfork(NULL, NULL, die_first) == 0);
	CHILD_CHECK(shmstat_open(seg_name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &d, &c) == 0);
	dying = 1;
	for (int i = 0; i < FAILS; i++) {
		w = fork();
		CHILD_CHECK(w >= 0);
		CHILD_CHECK(stress_wait(w) == 0);
	}
	dying = 0;
	worker_counts(seg, c);
	return 0;
}

/* killed_writer's forks, then 'r' on @fd, and no more: attached until
 * killed */
static int killed_hold(const char *name, int fd)
{
	shmstat_seg *seg;

	seg_name = name;
	CHILD_CHECK(pthread_atfork(NULL, NULL, die_first) == 0);
	CHILD_CHECK(shmstat_open(seg_name, NULL, &seg) == 0);
	dying = 1;
	for (int i = 0; i < FAILS; i++) {
		const pid_t w = fork();

		CHILD_CHECK(w >= 0);
		CHILD_CHECK(stress_wait(w) == 0);
	}
	CHILD_CHECK(stress_write(fd, "r", 1) == 0);
	for (;;)
		pause();
}

static int killed_writer_main(void *arg)
{
	(void)arg;
	execl("/proc/self/exe", "test_fork_fail", "--killed-writer", seg_name, (char *)NULL);
	return 5;
}

/* Run @writer on a segment of SLOTS slots: its worker's N counts are
 * there, and every slot is free again afterwards. */
static void check_writer(int (*writer)(void *))
{
	struct shmstat_opts o;
	pid_t held[SLOTS];
	shmstat_snap *s;
	shmstat_seg *seg;
	int st;

	seg_name = stress_name("fork-fail");
	shmstat_opts_init(&o);
	o.max_procs = SLOTS;
	stress_create(seg_name, &o);
	st = stress_wait(stress_spawn(writer, NULL));
	if (st == SKIP)
		skip();
	assert_int_equal(st, 0);
	s = stress_snap(seg_name);
	assert_int_equal(stress_counter(s, "fork_fail_total", ""), N);
	shmstat_snap_free(s);
	/* and every slot is free again: SLOTS writers (one slot per
	 * process) attach at once */
	for (int i = 0; i < SLOTS; i++) {
		int p[2];
		pid_t pid;
		char ch;

		stress_pipe(p);
		pid = held[i] = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			stress_die_with_parent();
			close(p[0]);
			ch = shmstat_open(seg_name, NULL, &seg) == 0 ? 'y' : 'n';
			if (stress_write(p[1], &ch, 1) != 0)
				_exit(4);
			pause();
			_exit(0);
		}
		close(p[1]);
		assert_int_equal(stress_read(p[0], &ch, 1), 1);
		close(p[0]);
		assert_int_equal(ch, 'y');
	}
	for (int i = 0; i < SLOTS; i++) {
		kill(held[i], SIGKILL);
		waitpid(held[i], NULL, 0);
	}
}

static void test_killed_child_claim_any_reaper(void **state)
{
	struct shmstat_opts o;
	shmstat_seg *seg;
	pid_t writer, opener;
	int p[2], q[2];
	char ch = 0;

	(void)state;
	seg_name = stress_name("fork-kill-any");
	shmstat_opts_init(&o);
	o.max_procs = SLOTS;
	stress_create(seg_name, &o);
	stress_pipe(p);
	writer = fork();
	assert_true(writer >= 0);
	if (writer == 0) {
		char fd[16];

		stress_die_with_parent();
		close(p[0]);
		snprintf(fd, sizeof(fd), "%d", p[1]);
		execl("/proc/self/exe", "test_fork_fail", "--killed-hold", seg_name, fd,
		      (char *)NULL);
		_exit(5);
	}
	close(p[1]);
	assert_int_equal(stress_read(p[0], &ch, 1), 1);
	assert_int_equal(ch, 'r');
	close(p[0]);
	/* every slot: the writer's, and claims of dead children */
	stress_pipe(q);
	opener = fork();
	assert_true(opener >= 0);
	if (opener == 0) {
		close(q[0]);
		ch = shmstat_open(seg_name, NULL, &seg) == 0 ? 'y' : 'n';
		if (ch == 'n')
			fprintf(stderr, "opener: %s\n", shmstat_last_error());
		_exit(stress_write(q[1], &ch, 1) == 0 ? 0 : 4);
	}
	close(q[1]);
	assert_int_equal(stress_read(q[0], &ch, 1), 1);
	close(q[0]);
	assert_int_equal(stress_wait(opener), 0);
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
	assert_int_equal(ch, 'y');
}

static void test_failed_fork_frees_claim(void **state)
{
	(void)state;
	check_writer(writer_main);
}

static void test_killed_child_frees_claim(void **state)
{
	(void)state;
	check_writer(killed_writer_main);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_fork_frees_claim, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_killed_child_frees_claim, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_killed_child_claim_any_reaper, stress_setup,
						stress_teardown),
	};

	if (argc == 3 && strcmp(argv[1], "--killed-writer") == 0)
		return killed_writer(argv[2]);
	if (argc == 4 && strcmp(argv[1], "--killed-hold") == 0)
		return killed_hold(argv[2], atoi(argv[3]));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
