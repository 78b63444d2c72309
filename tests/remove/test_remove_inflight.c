/*
 * test_remove_inflight.c - shmstat_quiesce() while another thread of the
 * same process is in the middle of an update (issue 16, item 4 (a)).
 *
 * Thread T2 of process A adds to counter m. The ADD_CHECKED test hook
 * (libshm/hook.h) stops it after its handle passed the epoch check and
 * before its store. Meanwhile process B removes m, A's main thread T1
 * quiesces, and a gc runs: m's value slot must not be reclaimed while T2
 * may still store into it. Then B registers n: with one value slot in
 * the segment, n can only have m's. It must fail (SHMSTAT_EFULL) until
 * T2 has finished its add and passed its next update (its
 * acknowledgement); after that n gets the slot, and keeps B's 7.
 *
 * Two variants: T2 writes its own stripe (plain load and store), or the
 * process stripe it shares (atomic add; the only thread stripe is T1's).
 * The steps are driven through pipes; nothing sleeps. Under
 * ThreadSanitizer; one variant per run (argv[1]).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "stress_common.h"
#include "hook.h"

static const struct shmstat_metric_def def_m = { .name = "m" };
static const struct shmstat_metric_def def_n = { .name = "n" };

static void put(int fd, char c)
{
	assert_int_equal(stress_write(fd, &c, 1), 0);
}

static char get(int fd)
{
	char c = 0;

	return stress_read(fd, &c, 1) == 1 ? c : 0;
}

/* ------------------------------------------------------------ child B */

struct bargs {
	const char *name;
	int cmd[2], ack[2];
};

/* 'R' remove m; 'n' register n and add 7 (answers 'n'), or answer 'f'
 * when there is no value slot for it; EOF: close and exit 0. */
static int child_b(void *arg)
{
	struct bargs *b = arg;
	shmstat_seg *seg;
	char c;

	close(b->cmd[1]);
	close(b->ack[0]);
	CHILD_CHECK(shmstat_open(b->name, NULL, &seg) == 0);
	c = 'k';
	CHILD_CHECK(stress_write(b->ack[1], &c, 1) == 0);
	while (stress_read(b->cmd[0], &c, 1) == 1) {
		shmstat_counter *n;
		int err;

		switch (c) {
		case 'R':
			CHILD_CHECK(shmstat_remove(seg, &def_m) == 0);
			break;
		case 'n':
			err = shmstat_counter_register(seg, &def_n, &n);
			CHILD_CHECK(err == 0 || err == SHMSTAT_EFULL);
			if (err)
				c = 'f';
			shmstat_counter_add(n, 7);      /* a do-nothing handle on error */
			break;
		default:
			return 4;
		}
		CHILD_CHECK(stress_write(b->ack[1], &c, 1) == 0);
	}
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

static char b_cmd(struct bargs *b, pid_t pid, char c)
{
	char a = 0;

	put(b->cmd[1], c);
	if (stress_read(b->ack[0], &a, 1) != 1)
		fail_msg("child B ended (status %d) instead of answering '%c'",
			 stress_wait(pid), c);
	return a;
}

/* ----------------------------------------------------------- thread T2 */

struct t2args {
	shmstat_counter *m;
	int to_t1[2], to_t2[2];
};

static struct t2args *hooked;          /* set while T2 is to stop there */

static void add_hook(enum shmstat_hook_point point, const void *arg)
{
	struct t2args *a = __atomic_load_n(&hooked, __ATOMIC_ACQUIRE);

	if (point != SHMSTAT_HOOK_ADD_CHECKED || a == NULL || arg != a->m)
		return;
	__atomic_store_n(&hooked, NULL, __ATOMIC_RELEASE);   /* once */
	put(a->to_t1[1], 'h');             /* in the window */
	assert_int_equal(get(a->to_t2[0]), 'c');
}

static void *t2_main(void *arg)
{
	struct t2args *a = arg;

	shmstat_counter_add(a->m, 5);      /* takes its stripe */
	put(a->to_t1[1], 'a');
	assert_int_equal(get(a->to_t2[0]), 'g');
	__atomic_store_n(&hooked, a, __ATOMIC_RELEASE);
	shmstat_counter_add(a->m, 5);      /* stops in the window */
	put(a->to_t1[1], 'd');
	assert_int_equal(get(a->to_t2[0]), 'g');
	shmstat_counter_add(a->m, 5);      /* its next update: m is gone */
	put(a->to_t1[1], 'e');
	return NULL;
}

/* ------------------------------------------------------------- test */

static void run(const char *tag, bool shared)
{
	const char *name = stress_name(tag);
	struct shmstat_opts o;
	struct bargs b = { .name = name };
	struct t2args a;
	shmstat_seg *seg;
	shmstat_snap *s;
	struct shmstat_metric_info mi;
	pthread_t t2;
	pid_t pid;
	char got;

	shmstat_opts_init(&o);
	o.max_procs = 4;
	o.max_metrics = 8;
	o.max_values = 1;          /* m's slot, then n's */
	o.max_threads = shared ? 1 : 4;
	o.sig_bytes = 0;
	o.max_stacks = 0;
	stress_create(name, &o);
	stress_pipe(b.cmd);
	stress_pipe(b.ack);
	pid = stress_spawn(child_b, &b);   /* before any thread */
	close(b.cmd[0]);
	close(b.ack[1]);
	stress_expect(b.ack[0], pid);

	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &def_m, &a.m), 0);
	shmstat_counter_add(a.m, 0);       /* T1 takes a thread stripe (the only one) */
	stress_pipe(a.to_t1);
	stress_pipe(a.to_t2);
	__atomic_store_n(&shmstat__test_hook, add_hook, __ATOMIC_RELEASE);
	assert_int_equal(pthread_create(&t2, NULL, t2_main, &a), 0);
	assert_int_equal(get(a.to_t1[0]), 'a');
	put(a.to_t2[1], 'g');
	assert_int_equal(get(a.to_t1[0]), 'h');

	/* T2 is between its check and its store */
	assert_int_equal(b_cmd(&b, pid, 'R'), 'R');
	assert_int_equal(shmstat_quiesce(seg), 0);
	assert_int_equal(shmstat_gc(name, NULL), 0);
	got = b_cmd(&b, pid, 'n');
	put(a.to_t2[1], 'c');              /* T2 stores */
	assert_int_equal(get(a.to_t1[0]), 'd');
	if (got == 'n') {
		s = stress_snap(name);
		assert_true(stress_find(s, "n", "", &mi) >= 0);
		shmstat_snap_free(s);
		fail_msg("%s: m's value slot was reclaimed while thread T2 was between its "
			 "check and its store; n took it, and T2's add made n = %llu, not 7",
			 shared ? "shared process stripe" : "own stripe",
			 (unsigned long long)mi.counter);
	}
	assert_int_equal(got, 'f');
	/* the add is done; T2 has not acknowledged yet */
	assert_int_equal(shmstat_gc(name, NULL), 0);
	assert_int_equal(b_cmd(&b, pid, 'n'), 'f');

	/* T2's next update acknowledges (the handle does nothing now) */
	put(a.to_t2[1], 'g');
	assert_int_equal(get(a.to_t1[0]), 'e');
	assert_int_equal(pthread_join(t2, NULL), 0);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	assert_int_equal(shmstat_gc(name, NULL), 0);
	assert_int_equal(b_cmd(&b, pid, 'n'), 'n');
	s = stress_snap(name);
	assert_int_equal(stress_counter(s, "n", ""), 7);
	assert_true(stress_find(s, "m", "", NULL) < 0);
	shmstat_snap_free(s);

	close(b.cmd[1]);
	assert_int_equal(stress_wait(pid), 0);
	close(b.ack[0]);
	for (int i = 0; i < 2; i++) {
		close(a.to_t1[i]);
		close(a.to_t2[i]);
	}
	assert_int_equal(shmstat_close(seg), 0);
	s = stress_snap(name);
	assert_int_equal(stress_counter(s, "n", ""), 7);
	shmstat_snap_free(s);
}

static void test_inflight_own_stripe(void **state)
{
	(void)state;
	run("rminfl-own", false);
}

static void test_inflight_shared_stripe(void **state)
{
	(void)state;
	run("rminfl-shr", true);
}

/* One variant per process (argv[1]: "own" or "shared"), so that the
 * fork of each starts from a process without threads. */
int main(int argc, char **argv)
{
	const struct CMUnitTest own[] = {
		cmocka_unit_test_setup_teardown(test_inflight_own_stripe, stress_setup,
						stress_teardown),
	};
	const struct CMUnitTest shared[] = {
		cmocka_unit_test_setup_teardown(test_inflight_shared_stripe, stress_setup,
						stress_teardown),
	};

	if (argc > 1 && strcmp(argv[1], "shared") == 0)
		return cmocka_run_group_tests(shared, NULL, NULL);
	return cmocka_run_group_tests(own, NULL, NULL);
}
