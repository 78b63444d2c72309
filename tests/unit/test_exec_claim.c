/*
 * test_exec_claim.c - a process exec()s while another of its threads is
 * in the middle of a registration, held there by a test hook
 * (libshm/hook.h) after it claimed the metric's descriptor. The process
 * keeps its pid and start time, so its tag, which the CLAIMED word
 * carries: the claim never became a tombstone while the process lived,
 * and every registration whose probe met it waited for it (about 2 s)
 * and failed with SHMSTAT_EBUSY, in the new image and in any other
 * process. The new image must take the claim for its old image's and
 * register the metric; and so must another process then.
 *
 * The new image's shmstat_open reaps, which finds the claim (test_reap);
 * or the reaper lock is held by a stopped process, so that it does not
 * reap, and its registration meets the claim (test_register).
 *
 * The child execs this program with "--exec-claim NAME CMD_FD ACK_FD":
 * the new image answers 'k', opens at 'o', registers x, adds 5, answers
 * '0' (or 'a' + what failed: 1 open, 2 registration, 3 its open's reap
 * left the claim), and stays alive (its tag with it) until told
 * to exit.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ut_common.h"
#include "attach.h"
#include "grace.h"
#include "hook.h"
#include "segment.h"

static const struct shmstat_metric_def def_x = { .name = "x" };

/* ------------------------------------------------------ the new image */

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int new_image(const char *name, int cmd, int ack)
{
	shmstat_seg *seg;
	shmstat_counter *c;
	uint64_t t0;
	int err, how;

	ut_send(ack, 'k');
	how = ut_recv(cmd);
	if (how != 'o' && how != 'p')
		return 2;
	err = shmstat_open(name, NULL, &seg);
	if (err) {
		fprintf(stderr, "exec'd image: open: %s\n", shmstat_last_error());
		ut_send(ack, 'a' + 1);
		return 3;
	}
	/* 'o': the open reaped, and made the claim a tombstone */
	for (uint32_t i = 0; how == 'o' && i < seg->max_metrics; i++)
		if (SHMSTAT_DESC_STATE(__atomic_load_n(&seg->descs[i].word, __ATOMIC_ACQUIRE)) ==
		    SHMSTAT_DESC_CLAIMED) {
			fprintf(stderr, "exec'd image: descriptor %u still CLAIMED after the "
				"open's reap\n", i);
			ut_send(ack, 'a' + 3);
			return 3;
		}
	t0 = ms_now();
	err = shmstat_counter_register(seg, &def_x, &c);
	if (err) {
		fprintf(stderr, "exec'd image: registering x failed after %llu ms: %s: %s\n",
			(unsigned long long)(ms_now() - t0), shmstat_strerror(err),
			shmstat_last_error());
		ut_send(ack, (char)('a' + 2));
	} else {
		shmstat_counter_add(c, 5);
		ut_send(ack, '0');
	}
	/* alive, with the old image's tag, until told */
	(void)ut_recv(cmd);
	shmstat_close(seg);
	return err ? 4 : 0;
}

/* ------------------------------------------------------ the old image */

static int claimed[2] = { -1, -1 };    /* the held thread says so here */

/* The descriptor of x is CLAIMED by us: say so, and stay here */
static void held_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point != SHMSTAT_HOOK_DESC_CLAIMED)
		return;
	ut_send(claimed[1], 'c');
	for (;;)
		pause();
}

static void *registrar(void *arg)
{
	shmstat_counter *c;

	(void)shmstat_counter_register(arg, &def_x, &c);
	return NULL;
}

/* The child: open, a thread into the registration of x, held there;
 * then exec this program */
static int old_image(void *arg, int cmd, int ack)
{
	struct shmstat_opts o;
	shmstat_seg *seg;
	pthread_t t;
	char c[16], a[16];

	ut_small_opts(&o);
	if (shmstat_open(arg, &o, &seg) != 0 || pipe(claimed) != 0)
		return 2;
	__atomic_store_n(&shmstat__test_hook, held_hook, __ATOMIC_RELEASE);
	if (pthread_create(&t, NULL, registrar, seg) != 0)
		return 3;
	if (ut_recv(claimed[0]) != 'c')
		return 4;
	snprintf(c, sizeof(c), "%d", cmd);
	snprintf(a, sizeof(a), "%d", ack);
	execl("/proc/self/exe", "test_exec_claim", "--exec-claim", (const char *)arg, c, a,
	      (char *)NULL);
	return 5;
}

/* A process holding the reaper lock, stopped (nobody waits for it) */
static int lock_holder(void *arg, int cmd, int ack)
{
	struct shmstat_seg seg;

	(void)cmd;
	if (shmstat__seg_maintain(&seg, arg) != 0 || !shmstat__reaper_lock(&seg, 0))
		return 2;
	ut_send(ack, 'k');
	raise(SIGSTOP);
	return 0;
}

static void exec_test(int reaped)
{
	const char *name = ut_name("execclaim");
	struct ut_kid kid, holder;
	shmstat_seg *seg;
	shmstat_counter *x;
	char got;
	int err, st = 0;

	assert_int_equal(ut_kid_start(&kid, old_image, (void *)name), 'k');
	if (!reaped) {
		assert_int_equal(ut_kid_start(&holder, lock_holder, (void *)name), 'k');
		assert_int_equal(waitpid(holder.pid, &st, WUNTRACED), holder.pid);
		assert_true(WIFSTOPPED(st));
	}
	got = ut_kid_cmd(&kid, reaped ? 'o' : 'p');
	if (got != '0')
		fail_msg("the exec'd image could not register x (answer '%c'): it waited for "
			 "the descriptor its old image left CLAIMED with the same tag (see its "
			 "stderr)", got ? got : '?');
	if (!reaped)
		ut_kid_kill(&holder);       /* its lock is taken from the dead */
	/* another process, while the new image (the same tag) lives */
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	err = shmstat_counter_register(seg, &def_x, &x);
	if (err)
		fail_msg("registering x from another process: %s: %s", shmstat_strerror(err),
			 shmstat_last_error());
	shmstat_counter_add(x, 7);
	assert_int_equal(ut_counter_value(name, "x"), 12);
	ut_send(kid.cmd, 'x');
	assert_int_equal(ut_kid_wait(&kid), 0);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_reap(void **state)
{
	(void)state;
	exec_test(1);
}

static void test_register(void **state)
{
	(void)state;
	exec_test(0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reap, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_register, ut_setup, ut_teardown),
	};

	if (argc == 5 && strcmp(argv[1], "--exec-claim") == 0)
		return new_image(argv[2], atoi(argv[3]), atoi(argv[4]));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
