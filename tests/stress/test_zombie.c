/*
 * test_zombie.c - a writer killed with SIGKILL is dead at once.
 *
 * Between its death and the moment its parent collects its exit status,
 * a process is a zombie: kill(pid, 0) still succeeds and /proc/PID/stat
 * still shows its start time, but it will never write again. The reader
 * must count it as a dead writer, not a live one (LIVE* gauges leave it
 * out), and shmstat_gc must reap it, without waiting for the parent.
 *
 * The other way round: a writer whose main thread called pthread_exit()
 * while its other threads go on shows 'Z' in /proc/PID/stat, yet it
 * lives. It must be neither shown dead nor reaped: a reap would fold its
 * stripes while its threads write into them, and their counts would be
 * lost. The test reaps while only the threads live (checked in /proc),
 * then lets them count with a reaper process calling shmstat_gc every
 * millisecond meanwhile: the total must be exact.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "stress_common.h"

/* A writer that counted, then waits to be killed. */
struct sitter {
	const char *name;
	int ready_fd, hold_fd;
	int unused[2];
};

static int sitter_main(void *arg)
{
	const struct sitter *sp = arg;
	const struct shmstat_metric_def d = { .name = "zombie_total" };
	shmstat_counter *c;
	shmstat_seg *seg;
	char ch;

	close(sp->unused[0]);
	close(sp->unused[1]);
	CHILD_CHECK(shmstat_open(sp->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &d, &c) == 0);
	shmstat_counter_add(c, 1000);
	CHILD_CHECK(stress_write(sp->ready_fd, "r", 1) == 0);
	stress_read(sp->hold_fd, &ch, 1);          /* until killed */
	return 0;
}

/* A writer killed with SIGKILL is dead from that moment, also while its
 * parent has not collected its exit status yet (a zombie): the reader
 * must not count it as alive, gc must reap it. */
static void test_crash_not_yet_waited(void **state)
{
	const char *name = stress_name("zombie");
	struct sitter sp = { .name = name };
	struct shmstat_seg_info info;
	int ready[2], hold[2];
	shmstat_snap *s;
	siginfo_t si;
	unsigned reaped = 99;
	pid_t pid;

	(void)state;
	stress_create(name, NULL);
	stress_pipe(ready);
	stress_pipe(hold);
	sp.ready_fd = ready[1];
	sp.hold_fd = hold[0];
	sp.unused[0] = ready[0];
	sp.unused[1] = hold[1];
	pid = stress_spawn(sitter_main, &sp);
	close(ready[1]);
	close(hold[0]);
	stress_expect(ready[0], pid);
	assert_int_equal(kill(pid, SIGKILL), 0);
	/* wait until it has died, but leave it unwaited */
	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(si.si_pid, pid);
	assert_int_equal(si.si_code, CLD_KILLED);

	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(stress_counter(s, "zombie_total", ""), 1000);
	shmstat_snap_free(s);
	if (info.writers_alive != 0)
		fail_msg("a writer killed with SIGKILL (not yet waited for by its parent) "
			 "is shown alive: writers_alive %u, writers_dead %u",
			 info.writers_alive, info.writers_dead);
	assert_int_equal(info.writers_dead, 1);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 1);
	assert_int_equal(stress_wait(pid), 128 + SIGKILL);
	close(ready[0]);
	close(hold[1]);
}

#define LX_THREADS 4
#define LX_EVENTS 500000          /* each: 2,000,000 in all */

struct leader {
	const char *name;
	int ready_fd, go_fd;
	int unused[2];
};

struct lx_thread {
	shmstat_counter *c;
	int go_fd;
};

static int lx_done;

static void *lx_count(void *arg)
{
	const struct lx_thread *t = arg;
	char ch;

	/* every thread waits for the parent's go: one byte each */
	CHILD_CHECK(stress_read(t->go_fd, &ch, 1) == 1);
	for (int i = 0; i < LX_EVENTS; i++)
		shmstat_counter_inc(t->c);
	/* the last one ends the process (which ThreadSanitizer's own
	 * thread would otherwise keep) */
	if (__atomic_add_fetch(&lx_done, 1, __ATOMIC_ACQ_REL) == LX_THREADS)
		exit(0);
	return NULL;
}

/* A writer whose threads count after its main thread has gone. */
static int leader_main(void *arg)
{
	const struct leader *lp = arg;
	const struct shmstat_metric_def d = { .name = "leader_total" };
	static struct lx_thread t[LX_THREADS];
	pthread_t th;
	shmstat_counter *c;
	shmstat_seg *seg;

	close(lp->unused[0]);
	close(lp->unused[1]);
	CHILD_CHECK(shmstat_open(lp->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &d, &c) == 0);
	for (int i = 0; i < LX_THREADS; i++) {
		t[i].c = c;
		t[i].go_fd = lp->go_fd;
		CHILD_CHECK(pthread_create(&th, NULL, lx_count, &t[i]) == 0);
		CHILD_CHECK(pthread_detach(th) == 0);
	}
	CHILD_CHECK(stress_write(lp->ready_fd, "r", 1) == 0);
	/* the process goes on while its threads do; it never detaches:
	 * its exit (the last thread's) leaves the slot to the reaper */
	pthread_exit(NULL);
}

/* The state letter of @pid's main thread in /proc/PID/stat ('?' if
 * unreadable). */
static char leader_state(pid_t pid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Reap every millisecond until the parent closes its end of @stop_fd. */
struct reaper {
	const char *name;
	int stop_fd;
	int unused;
};

static int reaper_main(void *arg)
{
	const struct reaper *rp = arg;
	const struct timespec ms = { 0, 1000000 };
	unsigned n;

	close(rp->unused);
	CHILD_CHECK(fcntl(rp->stop_fd, F_SETFL, O_NONBLOCK) == 0);
	for (;;) {
		char ch;
		ssize_t r = read(rp->stop_fd, &ch, 1);

		if (r == 0)
			return 0;       /* the parent closed it: stop */
		CHILD_CHECK(shmstat_gc(rp->name, &n) == 0);
		nanosleep(&ms, NULL);   /* pacing only */
	}
}

static void test_leader_exited(void **state)
{
	const char *name = stress_name("leader");
	struct leader lp = { .name = name };
	struct reaper rp = { .name = name };
	struct shmstat_seg_info info;
	int ready[2], go[2], stop[2];
	unsigned reaped = 99;
	shmstat_snap *s;
	pid_t pid, rpid;
	char st;
	int spins = 0;

	(void)state;
	stress_create(name, NULL);
	stress_pipe(ready);
	stress_pipe(go);
	stress_pipe(stop);
	lp.ready_fd = ready[1];
	lp.go_fd = go[0];
	lp.unused[0] = ready[0];
	lp.unused[1] = go[1];
	pid = stress_spawn(leader_main, &lp);
	close(ready[1]);
	close(go[0]);
	stress_expect(ready[0], pid);
	/* until its main thread has gone: a bounded wait on a condition */
	while ((st = leader_state(pid)) != 'Z' && ++spins < 10000000)
		sched_yield();
	assert_int_equal(st, 'Z');

	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	shmstat_snap_free(s);
	if (info.writers_alive != 1)
		fail_msg("a writer whose main thread exited while its threads run is "
			 "not shown alive: writers_alive %u, writers_dead %u",
			 info.writers_alive, info.writers_dead);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 0);

	rp.stop_fd = stop[0];
	rp.unused = stop[1];
	rpid = stress_spawn(reaper_main, &rp);
	close(stop[0]);
	for (int i = 0; i < LX_THREADS; i++)
		assert_int_equal(stress_write(go[1], "g", 1), 0);
	assert_int_equal(stress_wait(pid), 0);
	close(stop[1]);
	assert_int_equal(stress_wait(rpid), 0);

	s = stress_snap(name);
	assert_int_equal(stress_counter(s, "leader_total", ""), (uint64_t)LX_THREADS * LX_EVENTS);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	s = stress_snap(name);
	assert_int_equal(stress_counter(s, "leader_total", ""), (uint64_t)LX_THREADS * LX_EVENTS);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(info.writers_dead, 0);
	shmstat_snap_free(s);
	close(ready[0]);
	close(go[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_crash_not_yet_waited, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_leader_exited, stress_setup,
						stress_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
