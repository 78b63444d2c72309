/*
 * test_remove_races.c - races of shmstat_remove() with registration,
 * reclamation and the remover's death (issue 16, item 4 (b) to (d)),
 * each forced into one interleaving by the library's test hooks
 * (libshm/hook.h): the test runs code at a named point inside the
 * library, there and then, or stops a child process there through a
 * pipe. No sleeps, no timing.
 *
 *   test_register_meets_removal    (b) a registration finds the metric
 *                                  LIVE; before it publishes its handle,
 *                                  another process removes the metric,
 *                                  this one quiesces, gc reclaims, and a
 *                                  new metric takes the value slot
 *   test_remover_killed_pending    (c) the remover dies between making
 *                                  the descriptor RETIRED and giving it
 *                                  its sequence
 *   test_remover_paused_pending    (c) a reaper completes the removal
 *                                  while the remover is stopped there;
 *                                  the remover's own sequence, later,
 *                                  does not overwrite it
 *   test_reuse_values_cycle        (d) while a registration takes the
 *                                  value slots of a DEADV tombstone, the
 *                                  tombstone goes through a whole
 *                                  take -> fill -> remove -> reclaim
 *                                  cycle and comes back DEADV with other
 *                                  slots
 *   test_ack_read_once             (e) a writer acknowledges a removal
 *                                  while a reaper takes the smallest
 *                                  acknowledgement of the writers: the
 *                                  removal is not reclaimed before
 *                                  every writer acknowledged it
 *   test_remover_window            (f) a remover thread (one that never
 *                                  counts) stopped between its read of
 *                                  the descriptor and its CAS while
 *                                  another process removes the metric
 *                                  and another thread quiesces: nothing
 *                                  is acknowledged (and reclaimed) until
 *                                  the CAS, which cannot hit a metric
 *                                  registered in the descriptor since
 *   test_claiming_counts           (g) a CLAIMING writer slot (a child's,
 *                                  preclaimed at fork) counts in the
 *                                  reaper's minimum even when its tag,
 *                                  the parent's, is dead
 *   test_freed_slot_ack            (h) a writer slot freed by a fold
 *                                  keeps no acknowledgement
 *   test_stalled_child             (i) a child stalled at fork past the
 *                                  10 s rule, its preclaimed slot folded
 *                                  and preclaimed again, with the same
 *                                  word, for a second child: the first
 *                                  does not adopt the second's claim
 *                                  (it claims a free slot of its own)
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rm_util.h"
#include "hook.h"
#include "procs.h"
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

/* --------------------------------------------------------- child B */

/* B's side of the hooks: its pipes, and what to do at REMOVE_PENDING. */
static int b_cmd = -1, b_ack = -1;
static char b_at_pending;       /* 'K': die there; 'P': stop until told */

static void b_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point != SHMSTAT_HOOK_REMOVE_PENDING)
		return;
	if (b_at_pending == 'K')
		raise(SIGKILL);
	if (b_at_pending == 'P') {
		ut_send(b_ack, 'p');
		if (ut_recv(b_cmd) != 'c')
			_exit(9);
	}
}

/* Commands: 'o' open, register m and add 3; 'R' remove m; 'K' remove m
 * and die between the descriptor's two stores; 'P' remove m, stopping
 * there (answers 'p', goes on at 'c'); 'n' register n and add 7; 'q'
 * quiesce; 'x' close and exit 0. */
static int child_b(void *arg, int cmdfd, int ackfd)
{
	const char *name = arg;
	shmstat_seg *seg = NULL;
	shmstat_counter *c = NULL;

	b_cmd = cmdfd;
	b_ack = ackfd;
	ut_send(ackfd, 'k');
	for (;;) {
		int x = ut_recv(cmdfd);

		switch (x) {
		case 'o':
			if (shmstat_open(name, NULL, &seg) != 0 || rm_counter(seg, "m", NULL, &c) != 0)
				return 2;
			shmstat_counter_add(c, 3);
			break;
		case 'R':
		case 'K':
		case 'P':
			b_at_pending = (char)x;
			set_hook(b_hook);
			if (rm_remove(seg, "m", NULL) != 0)
				return 3;
			set_hook(NULL);
			break;
		case 'n':
			if (rm_counter(seg, "n", NULL, &c) != 0)
				return 4;
			shmstat_counter_add(c, 7);
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

/* ---------------------------------------------------------- (b) */

static struct {
	struct ut_kid *kid;
	shmstat_seg *seg;
	const char *name;
	int fired;
} rb;

/* A found m LIVE and is about to publish its handle: meanwhile B removes
 * m, A quiesces (its index does not hold the new handle yet), gc
 * reclaims m's value slot, and B registers n, which takes that slot. */
static void reg_found_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point != SHMSTAT_HOOK_REG_FOUND || rb.fired++)
		return;
	cmd(rb.kid, 'R');
	assert_int_equal(shmstat_quiesce(rb.seg), 0);
	rm_gc(rb.name);
	cmd(rb.kid, 'n');
}

static void test_register_meets_removal(void **state)
{
	const char *name = ut_name("rmrace-b");
	struct ut_kid kid;
	shmstat_seg *seg;
	shmstat_counter *m = NULL;
	struct shmstat_metric_info mi;
	int err;

	(void)state;
	assert_int_equal(ut_kid_start(&kid, child_b, (void *)name), 'k');
	seg = rm_open(name, 8, 1);         /* one value slot: m's, then n's */
	cmd(&kid, 'o');
	assert_int_equal(rm_value(name, "m", "", NULL), 3);

	rb = (typeof(rb)){ .kid = &kid, .seg = seg, .name = name };
	set_hook(reg_found_hook);
	err = rm_counter(seg, "m", NULL, &m);
	set_hook(NULL);
	assert_int_equal(rb.fired, 1);
	assert_int_equal(rm_value(name, "n", "", NULL), 7);
	shmstat_counter_add(m, 1000);
	if (rm_value(name, "n", "", NULL) != 7)
		fail_msg("the registration of m returned %d and a handle that writes into n's "
			 "value slot (n = %llu): it published a handle of a descriptor removed "
			 "and reclaimed meanwhile",
			 err, (unsigned long long)rm_value(name, "n", "", NULL));
	/* m was removed and its slot is n's now: a new m finds no slot
	 * (SHMSTAT_EFULL, a do-nothing handle), or is a new metric */
	if (err == 0) {
		assert_true(rm_lookup(name, "m", "", &mi));
		assert_int_equal(mi.counter, 1000);
	} else {
		assert_int_equal(err, SHMSTAT_EFULL);
		assert_false(rm_lookup(name, "m", "", NULL));
	}
	assert_int_equal(ut_kid_cmd(&kid, 'x'), 0);
	assert_int_equal(ut_kid_wait(&kid), 0);
	assert_int_equal(shmstat_close(seg), 0);
}

/* ---------------------------------------------------------- (c) */

/* 4 value slots, all taken: m (B's) and three of A's. Whether m's slot
 * came back shows at once: n registers (value 0) or gets EFULL. */
static shmstat_seg *open_full(const char *name, struct ut_kid *kid)
{
	shmstat_seg *seg = rm_open(name, 8, 4);
	shmstat_counter *c;

	cmd(kid, 'o');
	for (int i = 0; i < 3; i++) {
		char n[16];

		snprintf(n, sizeof(n), "fill_%d", i);
		assert_int_equal(rm_counter(seg, n, NULL, &c), 0);
		shmstat_counter_add(c, 100 + (uint64_t)i);
	}
	return seg;
}

static void check_fill(const char *name)
{
	for (int i = 0; i < 3; i++) {
		char n[16];

		snprintf(n, sizeof(n), "fill_%d", i);
		assert_int_equal(rm_value(name, n, "", NULL), 100 + (uint64_t)i);
	}
}

/* The descriptor named @metric (no labels), in whatever state. */
static struct shmstat_desc *find_desc(shmstat_seg *seg, const char *metric)
{
	for (uint32_t i = 0; i < seg->max_metrics; i++)
		if (strcmp(seg->descs[i].name, metric) == 0 && seg->descs[i].labels[0] == '\0')
			return &seg->descs[i];
	fail_msg("no descriptor named %s", metric);
	return NULL;
}

/* m's slot is back: n registers into it and starts at 0. */
static void expect_slot_back(shmstat_seg *seg, const char *name, const char *why)
{
	shmstat_counter *n;
	int err = rm_counter(seg, "n", NULL, &n);

	if (err)
		fail_msg("%s: registering n gave %s (%s): the removed metric's value slot "
			 "never came back", why, shmstat_strerror(err), shmstat_last_error());
	assert_int_equal(rm_value(name, "n", "", NULL), 0);
	shmstat_counter_add(n, 5);
	assert_int_equal(rm_value(name, "n", "", NULL), 5);
	check_fill(name);
}

/* The state of descriptor @metric now */
static uint32_t desc_state(shmstat_seg *seg, const char *metric)
{
	return SHMSTAT_DESC_STATE(__atomic_load_n(&find_desc(seg, metric)->word,
						  __ATOMIC_ACQUIRE));
}

/* m reclaimed: B's n, registered into a slot that came back, reads its
 * own 7 and m is gone; then B exits and @seg closes */
static void expect_n_and_finish(struct ut_kid *kid, const char *name, shmstat_seg *seg)
{
	cmd(kid, 'n');
	assert_int_equal(rm_value(name, "n", "", NULL), 7);
	assert_false(rm_lookup(name, "m", "", NULL));
	assert_int_equal(ut_kid_cmd(kid, 'x'), 0);
	assert_int_equal(ut_kid_wait(kid), 0);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_remover_killed_pending(void **state)
{
	const char *name = ut_name("rmrace-c");
	struct ut_kid kid;
	struct shmstat_seg_info info;
	shmstat_seg *seg;

	(void)state;
	assert_int_equal(ut_kid_start(&kid, child_b, (void *)name), 'k');
	seg = open_full(name, &kid);
	ut_kid_cmd(&kid, 'K');             /* B dies inside shmstat_remove() */
	assert_int_equal(ut_kid_wait(&kid), 128 + SIGKILL);
	assert_false(rm_lookup(name, "m", "", NULL));       /* removed all the same */

	/* the first gc folds B and gives the removal its sequence; A
	 * acknowledges it; the second gc reclaims */
	rm_gc(name);
	assert_int_equal(shmstat_quiesce(seg), 0);
	rm_gc(name);
	expect_slot_back(seg, name, "the remover died between its two stores");
	ut_info(name, &info);
	assert_int_equal(info.values_used, 4);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_remover_paused_pending(void **state)
{
	const char *name = ut_name("rmrace-cp");
	struct ut_kid kid;
	shmstat_counter *n;
	shmstat_seg *seg;
	struct shmstat_desc *d;
	uint64_t w;

	(void)state;
	assert_int_equal(ut_kid_start(&kid, child_b, (void *)name), 'k');
	seg = open_full(name, &kid);
	assert_int_equal(ut_kid_cmd(&kid, 'P'), 'p');       /* B stopped in remove */
	assert_false(rm_lookup(name, "m", "", NULL));
	d = find_desc(seg, "m");
	assert_int_equal(__atomic_load_n(&d->word, __ATOMIC_ACQUIRE), SHMSTAT_DESC_PENDING);
	/* a reap while the remover is stopped there completes the removal;
	 * B has not acknowledged it, so nothing is reclaimed */
	assert_int_equal(shmstat_quiesce(seg), 0);
	rm_gc(name);
	w = __atomic_load_n(&d->word, __ATOMIC_ACQUIRE);
	assert_int_equal(SHMSTAT_DESC_STATE(w), SHMSTAT_DESC_RETIRED);
	assert_true(w != SHMSTAT_DESC_PENDING);
	assert_int_equal(rm_counter(seg, "n", NULL, &n), SHMSTAT_EFULL);
	assert_int_equal(ut_kid_cmd(&kid, 'c'), 'P');       /* B finishes its remove */
	/* its own sequence came too late: the reaper's stays */
	assert_int_equal(__atomic_load_n(&d->word, __ATOMIC_ACQUIRE), w);
	check_fill(name);
	assert_int_equal(rm_counter(seg, "n", NULL, &n), SHMSTAT_EFULL);
	/* B's remove quiesced B; A's acknowledgement, then a gc: reclaimed */
	assert_int_equal(shmstat_quiesce(seg), 0);
	rm_gc(name);
	expect_slot_back(seg, name, "the removal was completed by a reaper and by its remover");
	cmd(&kid, 'q');
	assert_int_equal(ut_kid_cmd(&kid, 'x'), 0);
	assert_int_equal(ut_kid_wait(&kid), 0);
	assert_int_equal(rm_value(name, "n", "", NULL), 5);
	assert_int_equal(shmstat_close(seg), 0);
}

/* ---------------------------------------------------------- (d) */

/* A name "<prefix><n>" whose probe starts at descriptor @slot of a
 * directory of @cap (the registry's hash of name "\0", no labels). */
static const char *home_name(char *buf, size_t n, const char *prefix, uint32_t slot,
			     uint32_t cap)
{
	for (unsigned i = 0; i < 1000000; i++) {
		snprintf(buf, n, "%s%u", prefix, i);
		if (shmstat__hash(buf, strlen(buf) + 1) % cap == slot)
			return buf;
	}
	fail_msg("no name with prefix %s starts at slot %u of %u", prefix, slot, cap);
	return NULL;
}

#define D_CAP 16u

static struct {
	shmstat_seg *seg;
	const char *name;
	char r2[32], r3[32];
	int picked, read, depth;
} rd;

/* Registration r1 picked tombstone D (gauge gd's 3 slots, X1) and will
 * take its slots. Meanwhile, at PICKED: r2 takes X1 from D (D becomes
 * DEAD). At READ (r1 has read D's value_off, X1): gauge r3 claims the
 * DEAD tombstone D, gets tombstone E's slots (X2), is removed and
 * reclaimed: D is DEADV again, with X2. */
static void reuse_hook(enum shmstat_hook_point point, const void *arg)
{
	shmstat_counter *c;
	shmstat_gauge *g;

	(void)arg;
	if (rd.depth > 0)
		return;                    /* the registrations made here */
	rd.depth++;
	if (point == SHMSTAT_HOOK_REUSE_PICKED && rd.picked++ == 0) {
		assert_int_equal(rm_counter(rd.seg, rd.r2, NULL, &c), 0);
		shmstat_counter_add(c, 5);
	} else if (point == SHMSTAT_HOOK_REUSE_READ && rd.read++ == 0) {
		const struct shmstat_metric_def def = { .name = rd.r3 };

		assert_int_equal(shmstat_gauge_register(rd.seg, &def, SHMSTAT_AGG_SUM, &g), 0);
		shmstat_gauge_add(g, 9);
		assert_int_equal(shmstat_remove(rd.seg, &def), 0);
		assert_int_equal(shmstat_quiesce(rd.seg), 0);
		rm_gc(rd.name);
	}
	rd.depth--;
}

static void test_reuse_values_cycle(void **state)
{
	const char *name = ut_name("rmrace-d");
	char gd[32], ge[32], f[32], r1[32];
	shmstat_seg *seg;
	shmstat_gauge *g;
	shmstat_counter *c, *c1;
	struct shmstat_seg_info info;
	const struct shmstat_metric_def dgd = { .name = gd }, dge = { .name = ge };

	(void)state;
	/* descriptor slots: gd 2 (D), ge 3 (E), r1 6, r2 8, f 10; r3
	 * starts at 2: its probe passes D, then E, and stops at the free
	 * slot 4, before r1's claim at 6 */
	home_name(gd, sizeof(gd), "gd", 2, D_CAP);
	home_name(ge, sizeof(ge), "ge", 3, D_CAP);
	home_name(r1, sizeof(r1), "rone", 6, D_CAP);
	home_name(rd.r2, sizeof(rd.r2), "rtwo", 8, D_CAP);
	home_name(rd.r3, sizeof(rd.r3), "rthree", 2, D_CAP);
	home_name(f, sizeof(f), "f", 10, D_CAP);
	seg = rm_open(name, D_CAP, 7);     /* gd 3 + ge 3 + f 1: full */
	assert_int_equal(shmstat_gauge_register(seg, &dgd, SHMSTAT_AGG_SUM, &g), 0);
	shmstat_gauge_add(g, 1);
	assert_int_equal(shmstat_gauge_register(seg, &dge, SHMSTAT_AGG_SUM, &g), 0);
	shmstat_gauge_add(g, 2);
	assert_int_equal(rm_counter(seg, f, NULL, &c), 0);
	shmstat_counter_add(c, 11);
	assert_int_equal(shmstat_remove(seg, &dgd), 0);
	assert_int_equal(shmstat_remove(seg, &dge), 0);
	assert_int_equal(shmstat_quiesce(seg), 0);
	rm_gc(name);                       /* D and E: DEADV, 3 slots each */
	ut_info(name, &info);
	assert_int_equal(info.values_used, 7);

	rd.seg = seg;
	rd.name = name;
	set_hook(reuse_hook);
	assert_int_equal(rm_counter(seg, r1, NULL, &c1), 0);
	set_hook(NULL);
	assert_int_equal(rd.picked >= 1 && rd.read >= 1, 1);
	shmstat_counter_add(c1, 100);
	if (rm_value(name, rd.r2, "", NULL) != 5)
		fail_msg("%s and %s share value slots: %s = %llu, not 5 (the registration of %s "
			 "took the slots D had before its cycle)", r1, rd.r2, rd.r2,
			 (unsigned long long)rm_value(name, rd.r2, "", NULL), r1);
	assert_int_equal(rm_value(name, r1, "", NULL), 100);
	assert_int_equal(rm_value(name, f, "", NULL), 11);
	ut_info(name, &info);
	assert_int_equal(info.values_used, 7);
	assert_int_equal(info.dropped_regs, 0);
	assert_int_equal(shmstat_close(seg), 0);
}

/* ---------------------------------------------------------- (d2) */

static struct {
	shmstat_seg *seg;
	char r[32];
	int fired;
} co;

/* The reap's merge has taken tombstone A (CLAIMED), B is next: a gauge
 * registration takes B's slots first (the bump allocator is exhausted,
 * A is not DEADV now: B is the only one that fits) */
static void coalesce_hook(enum shmstat_hook_point point, const void *arg)
{
	const struct shmstat_metric_def def = { .name = co.r };
	shmstat_gauge *g;

	(void)arg;
	if (point != SHMSTAT_HOOK_COALESCE_CLAIMED || co.fired++)
		return;
	assert_int_equal(shmstat_gauge_register(co.seg, &def, SHMSTAT_AGG_SUM, &g), 0);
	shmstat_gauge_add(g, 9);
}

/* Two removed gauges' slots, [0, 3) in A and [3, 6) in B, follow each
 * other: the reap merges them into A. A registration that takes B's
 * slots while the merge holds A ends the run there: A keeps [0, 3) with
 * its own word, the gauge has B's slots, and no slot is lost or given
 * twice (the merge's CAS of B fails: it does not add B's slots to A). */
static void test_coalesce_race(void **state)
{
	const char *name = ut_name("rmrace-co");
	char ga[32], gb[32], f[32], g2[32];
	const struct shmstat_metric_def da = { .name = ga }, db = { .name = gb },
					dg2 = { .name = g2 };
	const struct shmstat_desc *a;
	shmstat_seg *seg;
	shmstat_gauge *g;
	shmstat_counter *c;
	struct shmstat_seg_info info;
	uint64_t w;

	(void)state;
	/* descriptors: A 2, B 3, f 10; the gauge registered in the hook at
	 * 6 (its probe does not pass A, which the merge holds CLAIMED) */
	home_name(ga, sizeof(ga), "ga", 2, D_CAP);
	home_name(gb, sizeof(gb), "gb", 3, D_CAP);
	home_name(f, sizeof(f), "f", 10, D_CAP);
	home_name(co.r, sizeof(co.r), "gr", 6, D_CAP);
	home_name(g2, sizeof(g2), "gtwo", 12, D_CAP);
	seg = rm_open(name, D_CAP, 7);     /* ga 3 + gb 3 + f 1: full */
	assert_int_equal(shmstat_gauge_register(seg, &da, SHMSTAT_AGG_SUM, &g), 0);
	shmstat_gauge_add(g, 1);
	assert_int_equal(shmstat_gauge_register(seg, &db, SHMSTAT_AGG_SUM, &g), 0);
	shmstat_gauge_add(g, 2);
	assert_int_equal(rm_counter(seg, f, NULL, &c), 0);
	shmstat_counter_add(c, 11);
	assert_int_equal(shmstat_remove(seg, &da), 0);
	assert_int_equal(shmstat_remove(seg, &db), 0);
	assert_int_equal(shmstat_quiesce(seg), 0);
	a = &seg->descs[2];

	co.seg = seg;
	set_hook(coalesce_hook);
	rm_gc(name);                       /* reclaims A and B, then merges */
	set_hook(NULL);
	assert_int_equal(co.fired, 1);
	w = __atomic_load_n(&a->word, __ATOMIC_ACQUIRE);
	assert_int_equal(SHMSTAT_DESC_STATE(w), SHMSTAT_DESC_DEADV);
	assert_int_equal(a->value_off, 0);
	assert_int_equal(a->nvalues, 3);
	assert_int_equal(SHMSTAT_DESC_STATE(__atomic_load_n(&seg->descs[3].word,
							    __ATOMIC_ACQUIRE)),
			 SHMSTAT_DESC_DEAD);
	{
		/* -Wmaybe-uninitialized: fail_msg() is not noreturn */
		struct shmstat_metric_info mi = {0};

		assert_true(rm_lookup(name, co.r, "", &mi));
		assert_int_equal(mi.gauge, 9);
	}
	assert_int_equal(rm_value(name, f, "", NULL), 11);
	/* A's slots are still free: another gauge gets them */
	assert_int_equal(shmstat_gauge_register(seg, &dg2, SHMSTAT_AGG_SUM, &g), 0);
	shmstat_gauge_add(g, 4);
	{
		/* -Wmaybe-uninitialized: fail_msg() is not noreturn */
		struct shmstat_metric_info mi = {0};

		assert_true(rm_lookup(name, g2, "", &mi));
		assert_int_equal(mi.gauge, 4);
		assert_true(rm_lookup(name, co.r, "", &mi));
		assert_int_equal(mi.gauge, 9);
	}
	ut_info(name, &info);
	assert_int_equal(info.values_used, 7);
	assert_int_equal(info.dropped_regs, 0);
	assert_int_equal(shmstat_close(seg), 0);
}

/* ---------------------------------------------------------- (e) */

static struct {
	struct ut_kid *kid;
	int fired;
} re;

/* The reaper has read B's acknowledgement (0, below A's 1): B removes m
 * and acknowledges that (2) before the reaper goes on */
static void ack_hook(enum shmstat_hook_point point, const void *arg)
{
	const struct shmstat_proc *p = arg;

	if (point != SHMSTAT_HOOK_RECLAIM_ACK ||
	    SHMSTAT_PROC_PID(__atomic_load_n(&p->word, __ATOMIC_ACQUIRE)) !=
	    (uint32_t)re.kid->pid || re.fired++)
		return;
	cmd(re.kid, 'R');
}

static void test_ack_read_once(void **state)
{
	const char *name = ut_name("rmrace-e");
	struct ut_kid kid;
	shmstat_seg *seg;
	shmstat_counter *m = NULL, *d = NULL;
	uint32_t st;

	(void)state;
	assert_int_equal(ut_kid_start(&kid, child_b, (void *)name), 'k');
	seg = rm_open(name, 8, 2);          /* A: the first writer slot */
	cmd(&kid, 'o');                     /* B: the next; m = 3, B's ack 0 */
	assert_int_equal(rm_counter(seg, "m", NULL, &m), 0);
	shmstat_counter_add(m, 5);
	assert_int_equal(rm_counter(seg, "d", NULL, &d), 0);
	assert_int_equal(rm_remove(seg, "d", NULL), 0);   /* sequence 1: A's ack 1 */
	assert_int_equal(rm_value(name, "m", "", NULL), 8);

	/* A gc: the smallest ack is B's 0, read before B acknowledged the
	 * removal of m (sequence 2); A never did */
	re = (typeof(re)){ .kid = &kid };
	set_hook(ack_hook);
	rm_gc(name);
	set_hook(NULL);
	assert_int_equal(re.fired, 1);
	st = desc_state(seg, "m");
	if (st != SHMSTAT_DESC_RETIRED)
		fail_msg("m's descriptor is in state %u after the gc, not RETIRED (%u): its slot "
			 "was reclaimed before this process acknowledged its removal (the "
			 "reaper's minimum took B's acknowledgement read again, after B raised it)",
			 st, SHMSTAT_DESC_RETIRED);
	/* A has not quiesced since m's removal: its handle still writes,
	 * into m's slot; after the quiesce it does nothing, and the gc
	 * zeroes the slot before anybody takes it */
	shmstat_counter_add(m, 1000);
	assert_int_equal(shmstat_quiesce(seg), 0);
	shmstat_counter_add(m, 1000);
	rm_gc(name);
	expect_n_and_finish(&kid, name, seg);   /* n in m's or d's slot */
}

/* ---------------------------------------------------------- (f) */

/* Thread Q of this process: it counted m (so the process acknowledges
 * only with it) and quiesces when told ('q'), then says so */
static struct {
	int cmd[2];
	pid_t tid;
	int done;                  /* its quiesce returned */
	int err;                   /* what it returned */
	shmstat_seg *seg;
	shmstat_counter *m;
} rq;

static void *q_main(void *arg)
{
	char c;

	(void)arg;
	__atomic_store_n(&rq.tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	shmstat_counter_add(rq.m, 1);
	while (read(rq.cmd[0], &c, 1) == 1 && c == 'q') {
		/* no cmocka assertion off the test's thread: its result */
		rq.err = shmstat_quiesce(rq.seg);
		__atomic_store_n(&rq.done, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Is thread @tid of this process waiting in futex(2) (a mutex)? */
static bool in_futex(pid_t tid)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return strtol(buf, NULL, 10) == SYS_futex && buf[0] >= '0' && buf[0] <= '9';
}

static struct {
	struct ut_kid *kid;
	const char *name;
	shmstat_seg *seg;
	pthread_t remover;
	int fired;
	bool q_blocked;
	uint32_t m_state;          /* m's descriptor after the gc in the window */
	char y[32];
	shmstat_counter *yc;       /* y, when it could be registered */
} rf;

/* Thread T of this process (it never counts) read m LIVE and matched it;
 * its CAS to PENDING is next. Meanwhile B removes m and Q quiesces: if
 * this process acknowledges now, m is reclaimed and y, a metric this
 * process registers at m's descriptor, has the same LIVE word T read */
static void matched_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point != SHMSTAT_HOOK_REMOVE_MATCHED || !pthread_equal(pthread_self(), rf.remover) ||
	    rf.fired++)
		return;
	cmd(rf.kid, 'R');
	assert_int_equal(write(rq.cmd[1], "q", 1), 1);
	/* until Q's quiesce returned or waits for the process's lock */
	while (!__atomic_load_n(&rq.done, __ATOMIC_ACQUIRE) && !in_futex(rq.tid))
		sched_yield();
	rf.q_blocked = !__atomic_load_n(&rq.done, __ATOMIC_ACQUIRE);
	rm_gc(rf.name);
	rf.m_state = desc_state(rf.seg, "m");
	if (!rf.q_blocked && rf.m_state == SHMSTAT_DESC_DEADV) {
		assert_int_equal(rm_counter(rf.seg, rf.y, NULL, &rf.yc), 0);
		shmstat_counter_add(rf.yc, 42);
	}
}

static void *t_main(void *arg)
{
	return (void *)(intptr_t)rm_remove(arg, "m", NULL);
}

static void test_remover_window(void **state)
{
	const char *name = ut_name("rmrace-f");
	struct ut_kid kid;
	shmstat_seg *seg;
	pthread_t q;
	void *ret;
	uint32_t slot;

	(void)state;
	assert_int_equal(ut_kid_start(&kid, child_b, (void *)name), 'k');
	seg = rm_open(name, 8, 4);
	/* this process claims m's descriptor (its word: LIVE and our tag) */
	assert_int_equal(rm_counter(seg, "m", NULL, &rq.m), 0);
	cmd(&kid, 'o');                     /* B counts m too */
	slot = (uint32_t)(find_desc(seg, "m") - seg->descs);
	rq.seg = seg;
	rq.done = 0;
	rq.tid = 0;
	assert_int_equal(pipe(rq.cmd), 0);
	assert_int_equal(pthread_create(&q, NULL, q_main, NULL), 0);
	while (__atomic_load_n(&rq.tid, __ATOMIC_ACQUIRE) == 0)
		sched_yield();

	rf = (typeof(rf)){ .kid = &kid, .name = name, .seg = seg };
	home_name(rf.y, sizeof(rf.y), "y", slot, 8);      /* probes from m's descriptor */
	set_hook(matched_hook);
	assert_int_equal(pthread_create(&rf.remover, NULL, t_main, seg), 0);
	assert_int_equal(pthread_join(rf.remover, &ret), 0);
	set_hook(NULL);
	assert_int_equal(rf.fired, 1);
	assert_int_equal((intptr_t)ret, 0);
	close(rq.cmd[1]);
	assert_int_equal(pthread_join(q, NULL), 0);
	close(rq.cmd[0]);
	assert_int_equal(rq.done, 1);
	assert_int_equal(rq.err, 0);
	if (rf.yc != NULL && !rm_lookup(name, rf.y, "", NULL))
		fail_msg("the removal of m retired %s, a metric this process registered in m's "
			 "descriptor while the remover was between its read of the descriptor "
			 "and its CAS (Q's quiesce acknowledged m's removal meanwhile)", rf.y);
	/* the process acknowledged nothing while T was in its window */
	assert_true(rf.q_blocked);
	assert_int_equal(rf.m_state, SHMSTAT_DESC_RETIRED);
	/* after it, Q's acknowledgement counts: m is reclaimed, and the
	 * metric that takes its slot reads its own 7 */
	rm_gc(name);
	assert_int_equal(desc_state(seg, "m"), SHMSTAT_DESC_DEADV);
	expect_n_and_finish(&kid, name, seg);
}

/* ---------------------------------------------------------- (g) */

static struct {
	shmstat_seg *seg;
	uint32_t slot;
	int fired;
} rg;

/* The reaper's minimum has begun: the last writer slot becomes what a
 * writer preclaims for a child at fork (CLAIMING, the parent's tag and
 * acknowledgement), the parent gone since the fold loop passed it */
static void claiming_hook(enum shmstat_hook_point point, const void *arg)
{
	struct shmstat_proc *p = &rg.seg->procs[rg.slot];

	(void)arg;
	if (point != SHMSTAT_HOOK_RECLAIM_ACK || rg.fired++)
		return;
	st_relaxed(&p->ack_seq, 0);
	/* our pid with another start time: not alive */
	st_release(&p->word, SHMSTAT_PROC_WORD(SHMSTAT_PROC_CLAIMING,
					       shmstat__self_tag() ^ (UINT64_C(1) << 8)));
}

static void test_claiming_counts(void **state)
{
	const char *name = ut_name("rmrace-g");
	shmstat_seg *seg;
	shmstat_counter *m;
	uint32_t st;

	(void)state;
	seg = rm_open(name, 8, 2);
	assert_int_equal(rm_counter(seg, "m", NULL, &m), 0);
	assert_int_equal(rm_remove(seg, "m", NULL), 0);     /* acknowledged: ours */
	rg = (typeof(rg)){ .seg = seg, .slot = seg->max_procs - 1 };
	assert_true(rg.slot > seg->proc);
	assert_int_equal(SHMSTAT_PROC_STATE(seg->procs[rg.slot].word), SHMSTAT_PROC_FREE);
	set_hook(claiming_hook);
	rm_gc(name);
	set_hook(NULL);
	assert_true(rg.fired >= 1);         /* then at the slot too, when counted */
	st = desc_state(seg, "m");
	if (st != SHMSTAT_DESC_RETIRED)
		fail_msg("m is in state %u, not RETIRED (%u), after a gc that met a CLAIMING slot "
			 "(a child's, adopted with its dead parent's handles) whose "
			 "acknowledgement is below m's removal: the slot was left out of the "
			 "minimum", st, SHMSTAT_DESC_RETIRED);
	/* the next reap frees the slot nobody adopted, then reclaims */
	rm_gc(name);
	assert_int_equal(SHMSTAT_PROC_STATE(seg->procs[rg.slot].word), SHMSTAT_PROC_FREE);
	rm_gc(name);
	assert_int_equal(desc_state(seg, "m"), SHMSTAT_DESC_DEADV);
	assert_int_equal(shmstat_close(seg), 0);
}

/* ---------------------------------------------------------- (h) */

/* A writer slot freed by a fold keeps no acknowledgement: the next
 * claim stores its own after its CAS, and a reaper between the two
 * would otherwise count the gone writer's */
static void test_freed_slot_ack(void **state)
{
	const char *name = ut_name("rmrace-h");
	struct ut_kid kid;
	shmstat_seg *seg;
	uint32_t b = UINT32_MAX;

	(void)state;
	assert_int_equal(ut_kid_start(&kid, child_b, (void *)name), 'k');
	seg = rm_open(name, 8, 2);
	cmd(&kid, 'o');
	cmd(&kid, 'R');                     /* B removes m and acknowledges it */
	for (uint32_t i = 0; i < seg->max_procs; i++)
		if (SHMSTAT_PROC_PID(seg->procs[i].word) == (uint32_t)kid.pid)
			b = i;
	assert_true(b < seg->max_procs);
	assert_true(__atomic_load_n(&seg->procs[b].ack_seq, __ATOMIC_ACQUIRE) >= 1);
	assert_int_equal(ut_kid_cmd(&kid, 'x'), 0);
	assert_int_equal(ut_kid_wait(&kid), 0);
	rm_gc(name);                        /* B's slot folded and freed */
	assert_int_equal(SHMSTAT_PROC_STATE(seg->procs[b].word), SHMSTAT_PROC_FREE);
	if (__atomic_load_n(&seg->procs[b].ack_seq, __ATOMIC_ACQUIRE) != 0)
		fail_msg("the freed slot %u keeps its gone writer's acknowledgement %llu", b,
			 (unsigned long long)seg->procs[b].ack_seq);
	assert_int_equal(shmstat_close(seg), 0);
}

/* ---------------------------------------------------------- (i) */

/* the children's side: tell the parent at FORK_ADOPT, then wait there
 * for a 'g' on the gate the parent chose before the fork */
static int fk_note = -1, fk_gate = -1;

static void fork_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point != SHMSTAT_HOOK_FORK_ADOPT)
		return;
	ut_send(fk_note, 's');
	if (ut_recv(fk_gate) != 'g')
		_exit(9);
}

/* Fork a child that stops at FORK_ADOPT until @gate reads 'g', then adds
 * @n to @c and exits with the index of its writer slot, 255 if none. */
static pid_t stalled_child(shmstat_seg *seg, shmstat_counter *c, uint64_t n, int gate,
			   int note)
{
	pid_t pid;

	fk_gate = gate;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		shmstat_counter_add(c, n);
		_exit(seg->proc < seg->max_procs ? (int)seg->proc : 255);
	}
	assert_int_equal(ut_recv(note), 's');
	return pid;
}

static int exit_of(pid_t pid)
{
	int st = 0;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* The writer slot in state CLAIMING: the one preclaimed for a child */
static uint32_t claiming_slot(const shmstat_seg *seg)
{
	for (uint32_t i = 0; i < seg->max_procs; i++)
		if (SHMSTAT_PROC_STATE(seg->procs[i].word) == SHMSTAT_PROC_CLAIMING)
			return i;
	fail_msg("no writer slot is CLAIMING");
	return UINT32_MAX;
}

static void test_stalled_child(void **state)
{
	const char *name = ut_name("rmrace-i");
	int note[2], gate1[2], gate2[2];
	shmstat_seg *seg;
	shmstat_counter *m;
	uint32_t slot;
	pid_t k1, k2;
	int st1, st2;

	(void)state;
	assert_int_equal(pipe(note), 0);
	assert_int_equal(pipe(gate1), 0);
	assert_int_equal(pipe(gate2), 0);
	fk_note = note[1];
	seg = rm_open(name, 8, 2);
	assert_int_equal(rm_counter(seg, "m", NULL, &m), 0);
	shmstat_counter_add(m, 1);
	set_hook(fork_hook);
	k1 = stalled_child(seg, m, 100, gate1[0], note[0]);
	/* k1 stalls past the 10 s rule (its claim aged instead): a reap
	 * folds the claim as never adopted and frees the slot */
	slot = claiming_slot(seg);
	seg->procs[slot].attach_ns -= UINT64_C(11000000000);
	rm_gc(name);
	assert_int_equal(SHMSTAT_PROC_STATE(seg->procs[slot].word), SHMSTAT_PROC_FREE);
	/* k2's claim: the same slot, the same word (CLAIMING, our tag) */
	k2 = stalled_child(seg, m, 10, gate2[0], note[0]);
	assert_int_equal(claiming_slot(seg), slot);
	set_hook(NULL);
	ut_send(gate1[1], 'g');
	st1 = exit_of(k1);
	ut_send(gate2[1], 'g');
	st2 = exit_of(k2);
	/* the second child has the slot claimed for it; the stalled one
	 * claims another of its own (attach.c, fork_orphan()): both count */
	if (st2 != (int)slot || st1 == (int)slot || st1 == 255)
		fail_msg("the stalled child has writer slot %d, the second child %d, claimed "
			 "for it %u: the first adopted the claim made for the second, or found "
			 "no slot of its own (255: none)", st1, st2, slot);
	rm_gc(name);
	assert_int_equal(rm_value(name, "m", "", NULL), 111);
	assert_int_equal(shmstat_close(seg), 0);
	for (int i = 0; i < 2; i++) {
		close(note[i]);
		close(gate1[i]);
		close(gate2[i]);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_register_meets_removal),
		T(test_remover_killed_pending),
		T(test_remover_paused_pending),
		T(test_reuse_values_cycle),
		T(test_coalesce_race),
		T(test_ack_read_once),
		T(test_remover_window),
		T(test_claiming_counts),
		T(test_freed_slot_ack),
		T(test_stalled_child),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
