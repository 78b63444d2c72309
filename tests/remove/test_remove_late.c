/*
 * test_remove_late.c - a writer that takes a writer slot the reaper has
 * just read FREE, while the reaper takes the smallest acknowledgement of
 * the writers, forced into that interleaving by the test hooks
 * (libshm/hook.h): the reaper (a child running shmstat_gc()) stops itself
 * with SIGSTOP right after it read the first free slot; a writer holding
 * no lock then claims that slot, takes a handle of m, m is removed and
 * acknowledged by every other writer, and the reaper goes on. No sleeps,
 * no timing.
 *
 *   test_late_attach   the new writer attached (shmstat_open) and
 *                      registered m: the reaper, which did not count it,
 *                      must not reclaim m while its handle still writes
 *   test_late_fork     the new writer is a child forked by a writer
 *                      that holds m (the slot preclaimed at fork, with
 *                      its acknowledgement); the parent acknowledges the
 *                      removal, the child has not
 *   test_late_empty    no writer at all during the walk (its minimum
 *                      counted nobody): a writer attaches after it,
 *                      forks a child holding m, removes m; m's removal
 *                      is newer than the walk and must not be reclaimed
 *
 * Either way, before the fix the reaper reclaimed m: the writer's next
 * add went into the zeroed slot, and a metric n that took the slot
 * started from that count instead of 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rm_util.h"
#include "hook.h"
#include "segment.h"
#include "util.h"

static void set_hook(void (*fn)(enum shmstat_hook_point, const void *))
{
	__atomic_store_n(&shmstat__test_hook, fn, __ATOMIC_RELEASE);
}

static void cmd(struct ut_kid *k, char c)
{
	assert_int_equal(ut_kid_cmd(k, c), c);
}

/* ---------------------------------------------------------- the reaper */

static int r_stopped;
static enum shmstat_hook_point r_at = SHMSTAT_HOOK_RECLAIM_SLOT;

/* The first writer slot read FREE (r_at RECLAIM_SLOT), or the end of
 * the walk (RECLAIM_WALKED): stop here until SIGCONT */
static void r_hook(enum shmstat_hook_point point, const void *arg)
{
	const struct shmstat_proc *p = arg;

	if (point != r_at || r_stopped)
		return;
	if (point == SHMSTAT_HOOK_RECLAIM_SLOT &&
	    SHMSTAT_PROC_STATE(__atomic_load_n(&p->word, __ATOMIC_ACQUIRE)) != SHMSTAT_PROC_FREE)
		return;
	r_stopped = 1;
	raise(SIGSTOP);
}

/* 'g': gc, stopping at the first free slot; 'x': exit */
static int child_r(void *arg, int cmdfd, int ackfd)
{
	ut_send(ackfd, 'k');
	for (;;) {
		int x = ut_recv(cmdfd);

		if (x != 'g')
			return x == 'x' ? 0 : 7;
		set_hook(r_hook);
		if (shmstat_gc(arg, NULL) != 0)
			return 2;
		set_hook(NULL);
		ut_send(ackfd, r_stopped ? 'g' : 'n');
	}
}

/* Send R its gc and wait until it stopped itself inside */
static void reaper_stops(struct ut_kid *r)
{
	int st = 0;

	ut_send(r->cmd, 'g');
	assert_int_equal(waitpid(r->pid, &st, WUNTRACED), r->pid);
	if (!WIFSTOPPED(st))
		fail_msg("the reaper did not stop at a free writer slot (status %#x)", st);
}

/* Let it go on; its gc returns; it exits */
static void reaper_ends(struct ut_kid *r)
{
	assert_int_equal(kill(r->pid, SIGCONT), 0);
	assert_int_equal(ut_recv(r->ack), 'g');
	assert_int_equal(ut_kid_cmd(r, 'x'), 0);
	assert_int_equal(ut_kid_wait(r), 0);
}

/* --------------------------------------------------------- the others */

/* the attachment and handle a forked child holds */
static shmstat_seg *fork_seg;
static shmstat_counter *fork_m;

/* Commands: 'o' open, register m and add 3; 'R' remove m; 'n' register
 * n and add 7; 'a' add 1000 through fork_m; 'q' quiesce; 'x' close and
 * exit 0. The answer is the command. */
static int child_b(void *arg, int cmdfd, int ackfd)
{
	shmstat_seg *seg = fork_seg;
	shmstat_counter *c = NULL;

	ut_send(ackfd, 'k');
	for (;;) {
		int x = ut_recv(cmdfd);

		switch (x) {
		case 'o':
			if (shmstat_open(arg, NULL, &seg) != 0 || rm_counter(seg, "m", NULL, &c) != 0)
				return 2;
			shmstat_counter_add(c, 3);
			break;
		case 'R':
			if (rm_remove(seg, "m", NULL) != 0)
				return 3;
			break;
		case 'n':
			if (rm_counter(seg, "n", NULL, &c) != 0)
				return 4;
			shmstat_counter_add(c, 7);
			break;
		case 'a':
			shmstat_counter_add(fork_m, 1000);
			break;
		case 'q':
			if (shmstat_quiesce(seg) != 0)
				return 5;
			break;
		case 'x':
		case -1:
			shmstat_close(seg);
			return x == 'x' ? 0 : 6;
		default:
			return 7;
		}
		ut_send(ackfd, (char)x);
	}
}

/* The state of descriptor @metric (no labels) now */
static uint32_t desc_state(shmstat_seg *seg, const char *metric)
{
	for (uint32_t i = 0; i < seg->max_metrics; i++)
		if (strcmp(seg->descs[i].name, metric) == 0 && seg->descs[i].labels[0] == '\0')
			return SHMSTAT_DESC_STATE(__atomic_load_n(&seg->descs[i].word,
								  __ATOMIC_ACQUIRE));
	fail_msg("no descriptor named %s", metric);
	return 0;
}

/* The end: @st, m's state after the stopped reaper's gc, must be
 * RETIRED (its slot held for a writer that had not acknowledged its
 * removal), and n, registered into m's slot once it was reclaimed, must
 * start at 0 */
static void expect(const char *name, uint32_t st, const char *who)
{
	uint64_t n = rm_value(name, "n", "", NULL);

	if (st != SHMSTAT_DESC_RETIRED || n != 7)
		fail_msg("m's descriptor was in state %u after the gc, not RETIRED (%u): its "
			 "slot was reclaimed while %s, which the reaper had read as a free "
			 "writer slot, held a handle of m and had not acknowledged its removal; "
			 "n = %llu, not 7 (the 1000 added through that handle are counted in n, "
			 "which took the slot)",
			 st, SHMSTAT_DESC_RETIRED, who, (unsigned long long)n);
	assert_false(rm_lookup(name, "m", "", NULL));
}

/* The reaper @r is stopped in its walk; @seg holds m (handle @m): fork
 * child C, which preclaims a writer slot at fork with our
 * acknowledgement and m; we remove m and acknowledge; the reaper goes
 * on. C then counts 1000 through m, n takes m's slot if it was freed,
 * and expect() tells which. */
static void forked_holds_m(const char *name, struct ut_kid *r, shmstat_seg *seg,
			   shmstat_counter *m, const char *who)
{
	struct ut_kid c;
	shmstat_counter *n = NULL;
	uint32_t st;

	fork_seg = seg;
	fork_m = m;
	assert_int_equal(ut_kid_start(&c, child_b, NULL), 'k');
	fork_seg = NULL;
	fork_m = NULL;
	assert_int_equal(rm_remove(seg, "m", NULL), 0);   /* we acknowledge */
	reaper_ends(r);
	st = desc_state(seg, "m");

	cmd(&c, 'a');                       /* C: m += 1000, into m's slot */
	cmd(&c, 'q');
	rm_gc(name);
	assert_int_equal(rm_counter(seg, "n", NULL, &n), 0);
	shmstat_counter_add(n, 7);
	expect(name, st, who);
	assert_int_equal(ut_kid_cmd(&c, 'x'), 0);
	assert_int_equal(ut_kid_wait(&c), 0);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_late_attach(void **state)
{
	const char *name = ut_name("rmlate-a");
	struct ut_kid r, b;
	shmstat_seg *first, *seg;
	shmstat_counter *m = NULL;
	uint32_t st;

	(void)state;
	assert_int_equal(ut_kid_start(&r, child_r, (void *)name), 'k');
	assert_int_equal(ut_kid_start(&b, child_b, (void *)name), 'k');
	first = rm_open(name, 8, 1);        /* one value slot: m's, then n's */
	cmd(&b, 'o');                       /* B: writer slot 1, m = 3 */
	assert_int_equal(shmstat_close(first), 0);      /* slot 0 free */

	reaper_stops(&r);                   /* it read slot 0 FREE */
	/* our reap gives up at once (the lock's holder is stopped); we
	 * take slot 0, acknowledging every removal so far */
	seg = rm_open(name, 8, 1);
	assert_int_equal(seg->proc, 0);
	assert_int_equal(rm_counter(seg, "m", NULL, &m), 0);
	shmstat_counter_add(m, 5);
	assert_int_equal(rm_value(name, "m", "", NULL), 8);
	cmd(&b, 'R');                       /* B removes m and acknowledges */
	reaper_ends(&r);
	st = desc_state(seg, "m");

	/* our handle was not dropped: it still counts, into m's slot */
	shmstat_counter_add(m, 1000);
	assert_int_equal(shmstat_quiesce(seg), 0);
	rm_gc(name);
	cmd(&b, 'n');
	expect(name, st, "this process");
	assert_int_equal(ut_kid_cmd(&b, 'x'), 0);
	assert_int_equal(ut_kid_wait(&b), 0);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_late_fork(void **state)
{
	const char *name = ut_name("rmlate-f");
	struct ut_kid r;
	shmstat_seg *first, *seg;
	shmstat_counter *m = NULL;

	(void)state;
	assert_int_equal(ut_kid_start(&r, child_r, (void *)name), 'k');
	first = rm_open(name, 8, 1);        /* slot 0 */
	seg = rm_open(name, 8, 1);          /* slot 1 */
	assert_int_equal(seg->proc, 1);
	assert_int_equal(shmstat_close(first), 0);      /* slot 0 free */
	assert_int_equal(rm_counter(seg, "m", NULL, &m), 0);
	shmstat_counter_add(m, 5);

	reaper_stops(&r);                   /* it read slot 0 FREE */
	forked_holds_m(name, &r, seg, m, "the forked child");
}

/* No writer at all while the reaper walks the slots (every one FREE):
 * its minimum counted nobody. A writer attaches after the walk, takes
 * m, forks a child holding m, removes m and acknowledges; the reaper
 * goes on. m's removal is newer than the walk: it must stay RETIRED. */
static void test_late_empty(void **state)
{
	const char *name = ut_name("rmlate-e");
	struct ut_kid r;
	shmstat_seg *first, *seg;
	shmstat_counter *m = NULL;

	(void)state;
	r_at = SHMSTAT_HOOK_RECLAIM_WALKED;     /* the child inherits it */
	assert_int_equal(ut_kid_start(&r, child_r, (void *)name), 'k');
	r_at = SHMSTAT_HOOK_RECLAIM_SLOT;
	first = rm_open(name, 8, 1);
	assert_int_equal(shmstat_close(first), 0);      /* no writer */
	reaper_stops(&r);                   /* it walked: nobody counted */
	seg = rm_open(name, 8, 1);
	assert_int_equal(rm_counter(seg, "m", NULL, &m), 0);
	shmstat_counter_add(m, 5);
	forked_holds_m(name, &r, seg, m,
		       "the forked child of a writer that attached after the walk");
}

#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_late_attach),
		T(test_late_fork),
		T(test_late_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
