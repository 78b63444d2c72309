/*
 * test_zombie.c - a writer killed with SIGKILL is dead at once.
 *
 * Between its death and the moment its parent collects its exit status,
 * a process is a zombie: kill(pid, 0) still succeeds and /proc/PID/stat
 * still shows its start time, but it will never write again. The reader
 * must count it as a dead writer, not a live one (LIVE* gauges leave it
 * out), and shmstat_gc must reap it, without waiting for the parent.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_crash_not_yet_waited, stress_setup,
						stress_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
