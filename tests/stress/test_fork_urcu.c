/*
 * test_fork_urcu.c - fork() of a writer whose process also uses
 * liburcu-bp's fork hooks, as liburcu asks of its users.
 *
 * The library called urcu_bp_before_fork() from its own fork handler;
 * an application that registers it too (pthread_atfork(), liburcu's
 * README) had it called twice in one fork(): its mutexes locked again
 * by the same thread, every signal blocked, the fork hung for good (a
 * plugin linked with libshmstat.a next to libshmstat.so did the same).
 * The library now keeps fork() out of its own use of liburcu with a
 * lock of its own (libshm/rcuuse.h) and leaves liburcu's hooks to the
 * application.
 *
 * A subject process registers liburcu's hooks (before its first
 * shmstat_open(), so that the library's prepare handler runs before
 * them, and after it, so that it runs after), opens a segment, starts
 * threads that register metrics without pause (read-side sections of
 * liburcu, new names added to the index), and forks FORKS children
 * meanwhile. Each child starts a thread that registers a metric (a new
 * thread's first read-side section), counts, closes the segment (a
 * grace period) and exits. The subject must end (it is given 60 s, a
 * hang bound: a hung fork() never ends) and every count must be in the
 * segment, exactly: FORKS children and their threads, and as many counts
 * under the registrars' names as they made registrations.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-bp.h>

#include "stress_common.h"

#define FORKS 40
#define THREADS 3

struct scenario {
	const char *name;
	int hooks_first;           /* liburcu's hooks before shmstat_open() */
	int fd;                    /* the subject's registrations, written */
};

static shmstat_seg *seg;
static volatile int stop;
static unsigned long regs[THREADS];

static void *registrar(void *arg)
{
	const long t = (long)arg;
	char n[48];

	/* new names until told to stop: each one a lookup, a miss and an
	 * add in the process index, all read-side sections */
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		struct shmstat_metric_def d = { .name = n };
		shmstat_counter *c;

		snprintf(n, sizeof(n), "reg_%ld_%lu_total", t, regs[t] % 200);
		if (shmstat_counter_register(seg, &d, &c) != 0)
			return (void *)1;
		shmstat_counter_add(c, 1);
		regs[t]++;
	}
	return NULL;
}

static void *child_thread(void *arg)
{
	struct shmstat_metric_def d = { .name = "child_thread_total" };
	shmstat_counter *c;

	(void)arg;
	if (shmstat_counter_register(seg, &d, &c) != 0)
		return (void *)1;
	shmstat_counter_add(c, 1);
	return NULL;
}

static void child(void)
{
	struct shmstat_metric_def d = { .name = "children_total" };
	shmstat_counter *c;
	pthread_t th;
	void *ret = (void *)1;

	if (shmstat_counter_register(seg, &d, &c) != 0)
		_exit(2);
	shmstat_counter_add(c, 1);
	if (pthread_create(&th, NULL, child_thread, NULL) != 0 || pthread_join(th, &ret) != 0 ||
	    ret != NULL)
		_exit(3);
	shmstat_close(seg);
	_exit(0);
}

static void hooks(void)
{
	if (pthread_atfork(urcu_bp_before_fork, urcu_bp_after_fork_parent,
			   urcu_bp_after_fork_child) != 0)
		_exit(4);
}

static int subject(void *arg)
{
	const struct scenario *sc = arg;
	pthread_t th[THREADS];
	unsigned long total = 0;
	int rc = 0;

	if (sc->hooks_first)
		hooks();
	if (shmstat_open(sc->name, NULL, &seg) != 0)
		return 5;
	if (!sc->hooks_first)
		hooks();
	for (long t = 0; t < THREADS; t++)
		if (pthread_create(&th[t], NULL, registrar, (void *)t) != 0)
			return 6;
	for (int k = 0; k < FORKS && rc == 0; k++) {
		pid_t p = fork();
		int st;

		if (p == 0)
			child();
		if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = 7;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int t = 0; t < THREADS; t++) {
		void *ret;

		if (pthread_join(th[t], &ret) != 0 || ret != NULL)
			rc = 8;
	}
	shmstat_close(seg);
	/* the registrations the threads made, each counted 1 */
	for (int t = 0; t < THREADS; t++)
		total += regs[t];
	if (stress_write(sc->fd, &total, sizeof(total)) != 0)
		rc = 9;
	return rc;
}

/* The subject's exit status, or -1 if it did not end in 60 s (it is then
 * killed): a fork() that hangs never ends. */
static int wait_bounded(pid_t pid)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 6000; i++) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static void run(int hooks_first)
{
	struct scenario sc = { .name = stress_name(hooks_first ? "urcu-first" : "urcu-after"),
			       .hooks_first = hooks_first };
	unsigned long total = 0;
	shmstat_snap *s;
	uint64_t sum = 0;
	int fds[2], rc;

	stress_create(sc.name, NULL);
	stress_pipe(fds);
	sc.fd = fds[1];
	rc = wait_bounded(stress_spawn(subject, &sc));
	close(fds[1]);
	if (rc < 0)
		fail_msg("the writer did not end in 60 s: a fork() hung (liburcu's hooks %s "
			 "shmstat_open())", hooks_first ? "before" : "after");
	assert_int_equal(rc, 0);
	assert_int_equal(stress_read(fds[0], &total, sizeof(total)), sizeof(total));
	close(fds[0]);
	s = stress_snap(sc.name);
	assert_int_equal(stress_counter(s, "children_total", ""), FORKS);
	assert_int_equal(stress_counter(s, "child_thread_total", ""), FORKS);
	/* every registration counted 1 */
	for (int t = 0; t < THREADS; t++)
		for (int k = 0; k < 200; k++) {
			char n[48];

			snprintf(n, sizeof(n), "reg_%d_%d_total", t, k);
			if (stress_find(s, n, "", NULL) >= 0)
				sum += stress_counter(s, n, "");
		}
	assert_int_equal(sum, total);
	assert_true(total >= THREADS);
	shmstat_snap_free(s);
}

static void test_hooks_before_open(void **state)
{
	(void)state;
	run(1);
}

static void test_hooks_after_open(void **state)
{
	(void)state;
	run(0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hooks_before_open, stress_setup, stress_teardown),
		cmocka_unit_test_setup_teardown(test_hooks_after_open, stress_setup, stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
