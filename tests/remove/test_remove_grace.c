/*
 * test_remove_grace.c - the grace period of shmstat_remove() across
 * processes, on a segment so small (4 value slots) that whether the
 * removed metric's slot came back is seen at once: with every slot taken,
 * a new registration fails with SHMSTAT_EFULL until the slot is
 * reclaimed, and succeeds (taking it, value 0) after.
 *
 * Process A is the test process; B is a child that holds a handle of the
 * removed metric M and writes through it. B is forked before A opens the
 * segment (it attaches itself), or after (it inherits A's attachment, its
 * handles and its acknowledgement, and may attach a second time). While
 * B has not called shmstat_quiesce() on every attachment that holds M,
 * shmstat_gc() must not reclaim M; once it has (or died, or detached),
 * it must, and B's writes through the old handle never reach the metric
 * that gets the slot.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rm_util.h"

#define MAX_VALUES 4
#define MAX_METRICS 8

static const char *const lab_m[] = { "tenant", "retired", NULL };
#define LAB_M "tenant=\"retired\""

/* ----------------------------------------------------------- helpers */

/* A's side: the segment (4 value slots), M registered with value 1. */
static shmstat_seg *open_a(const char *name, shmstat_counter **m)
{
	shmstat_seg *seg = rm_open(name, MAX_METRICS, MAX_VALUES);

	assert_int_equal(rm_counter(seg, "m", lab_m, m), 0);
	shmstat_counter_add(*m, 1);
	return seg;
}

/* Take every value slot left: fill_0, fill_1, ... (1 slot each). */
static void fill_up(shmstat_seg *seg, const char *name)
{
	struct shmstat_seg_info info;
	shmstat_counter *c;

	ut_info(name, &info);
	for (uint64_t i = info.values_used; i < MAX_VALUES; i++) {
		char n[32];

		snprintf(n, sizeof(n), "fill_%llu", (unsigned long long)i);
		assert_int_equal(rm_counter(seg, n, NULL, &c), 0);
		shmstat_counter_add(c, 1000 + i);
	}
	ut_info(name, &info);
	assert_int_equal(info.values_used, MAX_VALUES);
}

/* The new metric N cannot be registered yet: M's slot is not back (or,
 * before the removal, was never given back). */
static void expect_full(shmstat_seg *seg, const char *name, const char *why)
{
	shmstat_counter *n = NULL;
	int err;

	rm_gc(name);
	err = rm_counter(seg, "n", NULL, &n);
	if (err != SHMSTAT_EFULL)
		fail_msg("%s: registering n after gc gave %d (%s), not SHMSTAT_EFULL: the removed "
			 "metric's slot was reclaimed while a writer still held its handle",
			 why, err, shmstat_strerror(err));
	assert_false(rm_lookup(name, "n", "", NULL));
}

/* After gc, N can be registered, takes M's slot and starts at 0. */
static shmstat_counter *expect_reuse(shmstat_seg *seg, const char *name, uint64_t old_id)
{
	struct shmstat_seg_info info;
	shmstat_counter *n = NULL;
	uint64_t id;
	int err;

	rm_gc(name);
	err = rm_counter(seg, "n", NULL, &n);
	if (err)
		fail_msg("registering n after the grace period: %s: %s", shmstat_strerror(err),
			 shmstat_last_error());
	assert_int_equal(rm_value(name, "n", "", &id), 0);
	assert_true(id > old_id);
	ut_info(name, &info);
	assert_int_equal(info.values_used, MAX_VALUES);     /* reused, not bumped */
	assert_false(rm_lookup(name, "m", LAB_M, NULL));
	return n;
}

/* The fill metrics kept their values. */
static void check_fill(const char *name)
{
	shmstat_snap *s = ut_snap(name);
	size_t n = shmstat_snap_metrics(s);

	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info mi;
		unsigned long long k;

		assert_int_equal(shmstat_snap_metric(s, i, &mi), 0);
		if (sscanf(mi.name, "fill_%llu", &k) == 1)
			assert_int_equal(mi.counter, 1000 + k);
	}
	shmstat_snap_free(s);
}

/* ------------------------------------------------------------ child B */

struct bargs {
	const char *name;
	shmstat_seg *inh;          /* inherited attachment, or NULL */
	shmstat_counter *inh_m;    /* inherited handle of M */
};

/* Commands: 'o' attach (own attachment) and register M; 'a' add 1
 * through every handle of M it holds; 'R' remove M through its own
 * attachment; 'q' quiesce the inherited attachment; 'Q' quiesce its own;
 * 'x' close both and exit 0. */
static int child_b(void *arg, int cmd, int ack)
{
	const struct bargs *b = arg;
	shmstat_seg *own = NULL;
	shmstat_counter *m = NULL;

	ut_send(ack, 'k');
	for (;;) {
		int x = ut_recv(cmd);

		switch (x) {
		case 'o':
			if (shmstat_open(b->name, NULL, &own) != 0 ||
			    rm_counter(own, "m", lab_m, &m) != 0)
				return 2;
			break;
		case 'a':
			if (b->inh_m)
				shmstat_counter_inc(b->inh_m);
			if (m)
				shmstat_counter_inc(m);
			break;
		case 'R':
			if (own == NULL || rm_remove(own, "m", lab_m) != 0)
				return 8;
			break;
		case 'q':
			if (b->inh == NULL || shmstat_quiesce(b->inh) != 0)
				return 3;
			break;
		case 'Q':
			if (own == NULL || shmstat_quiesce(own) != 0)
				return 4;
			break;
		case 'x':
		case -1:
			shmstat_close(own);
			shmstat_close(b->inh);
			return x == 'x' ? 0 : 6;
		default:
			return 7;
		}
		ut_send(ack, (char)x);
	}
}

static void cmd(struct ut_kid *k, char c)
{
	assert_int_equal(ut_kid_cmd(k, c), c);
}

/* ------------------------------------------------------------- tests */

/* B forked before A opens: it attaches itself. */
static void test_grace_child_forked_before_open(void **state)
{
	const char *name = ut_name("rmgrb");
	struct bargs b = { .name = name };
	struct ut_kid kid;
	shmstat_counter *m, *n;
	shmstat_seg *seg;
	uint64_t m_id;

	(void)state;
	assert_int_equal(ut_kid_start(&kid, child_b, &b), 'k');
	seg = open_a(name, &m);
	cmd(&kid, 'o');
	cmd(&kid, 'a');
	cmd(&kid, 'a');
	assert_int_equal(rm_value(name, "m", LAB_M, &m_id), 3);
	fill_up(seg, name);
	expect_full(seg, name, "before any removal");

	assert_int_equal(rm_remove(seg, "m", lab_m), 0);
	assert_false(rm_lookup(name, "m", LAB_M, NULL));    /* gone at once */
	expect_full(seg, name, "B has not quiesced");
	assert_false(rm_lookup(name, "m", LAB_M, NULL));
	cmd(&kid, 'a');                    /* B still writes, into M's old slot */
	shmstat_counter_add(m, 100);       /* A's handle does nothing */
	expect_full(seg, name, "B has not quiesced and wrote");
	cmd(&kid, 'a');

	cmd(&kid, 'Q');
	n = expect_reuse(seg, name, m_id);
	cmd(&kid, 'a');                    /* no-op now */
	shmstat_counter_add(m, 100);
	assert_int_equal(rm_value(name, "n", "", NULL), 0);
	shmstat_counter_add(n, 5);
	assert_int_equal(rm_value(name, "n", "", NULL), 5);
	cmd(&kid, 'a');
	assert_int_equal(ut_kid_cmd(&kid, 'x'), 0);
	assert_int_equal(ut_kid_wait(&kid), 0);
	rm_gc(name);                       /* B's stripes folded: nothing of M */
	assert_int_equal(rm_value(name, "n", "", NULL), 5);
	check_fill(name);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(rm_value(name, "n", "", NULL), 5);
	check_fill(name);
}

/* B forked after A opened: it inherits A's attachment, A's handle of M
 * and A's acknowledgement; it also attaches a second time and registers
 * M there. Quiescing the inherited attachment alone is not enough. */
static void test_grace_child_forked_after_open(void **state)
{
	const char *name = ut_name("rmgra");
	struct bargs b = { .name = name };
	struct ut_kid kid;
	shmstat_counter *m, *n;
	shmstat_seg *seg;
	uint64_t m_id;

	(void)state;
	seg = open_a(name, &m);
	b.inh = seg;
	b.inh_m = m;
	assert_int_equal(ut_kid_start(&kid, child_b, &b), 'k');
	cmd(&kid, 'o');
	cmd(&kid, 'a');                    /* +1 inherited, +1 own */
	assert_int_equal(rm_value(name, "m", LAB_M, &m_id), 3);
	fill_up(seg, name);

	assert_int_equal(rm_remove(seg, "m", lab_m), 0);
	expect_full(seg, name, "B quiesced neither attachment");
	cmd(&kid, 'a');
	expect_full(seg, name, "B quiesced neither attachment and wrote");
	cmd(&kid, 'q');
	expect_full(seg, name, "B quiesced its inherited attachment only");
	cmd(&kid, 'a');                    /* own handle still writes */
	expect_full(seg, name, "B quiesced its inherited attachment only and wrote");

	cmd(&kid, 'Q');
	n = expect_reuse(seg, name, m_id);
	cmd(&kid, 'a');
	assert_int_equal(rm_value(name, "n", "", NULL), 0);
	shmstat_counter_add(n, 5);
	cmd(&kid, 'a');
	assert_int_equal(rm_value(name, "n", "", NULL), 5);
	assert_int_equal(ut_kid_cmd(&kid, 'x'), 0);
	assert_int_equal(ut_kid_wait(&kid), 0);
	rm_gc(name);
	assert_int_equal(rm_value(name, "n", "", NULL), 5);
	check_fill(name);
	assert_int_equal(shmstat_close(seg), 0);
}

/* The other order: the inherited attachment is the last to quiesce (it
 * carries A's acknowledgement from before the removal). */
static void test_grace_inherited_quiesces_last(void **state)
{
	const char *name = ut_name("rmgri");
	struct bargs b = { .name = name };
	struct ut_kid kid;
	shmstat_counter *m, *n;
	shmstat_seg *seg;
	uint64_t m_id;

	(void)state;
	seg = open_a(name, &m);
	b.inh = seg;
	b.inh_m = m;
	assert_int_equal(ut_kid_start(&kid, child_b, &b), 'k');
	cmd(&kid, 'o');
	cmd(&kid, 'a');
	assert_int_equal(rm_value(name, "m", LAB_M, &m_id), 3);
	fill_up(seg, name);
	assert_int_equal(rm_remove(seg, "m", lab_m), 0);
	cmd(&kid, 'Q');
	expect_full(seg, name, "B quiesced its own attachment only");
	cmd(&kid, 'a');                    /* the inherited handle still writes */
	expect_full(seg, name, "B quiesced its own attachment only and wrote");
	cmd(&kid, 'q');
	n = expect_reuse(seg, name, m_id);
	cmd(&kid, 'a');
	shmstat_counter_add(n, 2);
	assert_int_equal(rm_value(name, "n", "", NULL), 2);
	assert_int_equal(ut_kid_cmd(&kid, 'x'), 0);
	assert_int_equal(ut_kid_wait(&kid), 0);
	rm_gc(name);
	assert_int_equal(rm_value(name, "n", "", NULL), 2);
	assert_int_equal(shmstat_close(seg), 0);
}

/* A metric removed by another process C while A holds a handle of it and
 * has not quiesced; A forks B: B inherits the handle, so it must inherit
 * A's acknowledgement from before that removal (not the current retire
 * sequence). A quiescing does not end the grace period; B does. */
static void test_grace_fork_inherits_old_ack(void **state)
{
	const char *name = ut_name("rmgro");
	struct bargs bc = { .name = name };
	struct bargs b = { .name = name };
	struct ut_kid kc, kid;
	shmstat_counter *m, *n;
	shmstat_seg *seg;
	uint64_t m_id;

	(void)state;
	assert_int_equal(ut_kid_start(&kc, child_b, &bc), 'k');      /* C: before A opens */
	seg = open_a(name, &m);
	cmd(&kc, 'o');
	assert_int_equal(rm_value(name, "m", LAB_M, &m_id), 1);
	fill_up(seg, name);
	cmd(&kc, 'R');                     /* C removes M (and quiesces) */
	assert_false(rm_lookup(name, "m", LAB_M, NULL));
	expect_full(seg, name, "A has not quiesced");
	b.inh = seg;
	b.inh_m = m;
	assert_int_equal(ut_kid_start(&kid, child_b, &b), 'k');
	assert_int_equal(shmstat_quiesce(seg), 0);          /* A is done with M */
	expect_full(seg, name, "B, forked from A before A quiesced, has not quiesced");
	cmd(&kid, 'a');
	expect_full(seg, name, "B has not quiesced and wrote");
	cmd(&kid, 'q');
	n = expect_reuse(seg, name, m_id);
	cmd(&kid, 'a');
	shmstat_counter_add(m, 9);
	assert_int_equal(rm_value(name, "n", "", NULL), 0);
	shmstat_counter_add(n, 1);
	assert_int_equal(rm_value(name, "n", "", NULL), 1);
	assert_int_equal(ut_kid_cmd(&kid, 'x'), 0);
	assert_int_equal(ut_kid_wait(&kid), 0);
	assert_int_equal(ut_kid_cmd(&kc, 'x'), 0);
	assert_int_equal(ut_kid_wait(&kc), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(rm_value(name, "n", "", NULL), 1);
}

/* Dead writers do not hold the grace period: B, killed with SIGKILL
 * while holding (and having written through) M's handle. Its values of M,
 * folded into the graves by the reaper, are zeroed with M's slot. */
static void test_grace_killed_writer(void **state)
{
	const char *name = ut_name("rmgrk");
	struct bargs b = { .name = name };
	struct ut_kid kid;
	shmstat_counter *m, *n;
	shmstat_seg *seg;
	uint64_t m_id;
	unsigned reaped = 0;

	(void)state;
	assert_int_equal(ut_kid_start(&kid, child_b, &b), 'k');
	seg = open_a(name, &m);
	cmd(&kid, 'o');
	for (int i = 0; i < 7; i++)
		cmd(&kid, 'a');
	assert_int_equal(rm_value(name, "m", LAB_M, &m_id), 8);
	fill_up(seg, name);
	assert_int_equal(rm_remove(seg, "m", lab_m), 0);
	expect_full(seg, name, "B is alive and has not quiesced");
	cmd(&kid, 'a');
	ut_kid_kill(&kid);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 1);
	n = expect_reuse(seg, name, m_id);
	assert_int_equal(rm_value(name, "n", "", NULL), 0);
	shmstat_counter_add(n, 4);
	shmstat_counter_add(m, 100);
	assert_int_equal(rm_value(name, "n", "", NULL), 4);
	check_fill(name);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(rm_value(name, "n", "", NULL), 4);
}

/* Same with B inheriting A's attachment, then killed. */
static void test_grace_killed_inheriting_writer(void **state)
{
	const char *name = ut_name("rmgrki");
	struct bargs b = { .name = name };
	struct ut_kid kid;
	shmstat_counter *m, *n;
	shmstat_seg *seg;
	uint64_t m_id;

	(void)state;
	seg = open_a(name, &m);
	b.inh = seg;
	b.inh_m = m;
	assert_int_equal(ut_kid_start(&kid, child_b, &b), 'k');
	cmd(&kid, 'a');
	cmd(&kid, 'a');
	assert_int_equal(rm_value(name, "m", LAB_M, &m_id), 3);
	fill_up(seg, name);
	assert_int_equal(rm_remove(seg, "m", lab_m), 0);
	expect_full(seg, name, "B (inherited attachment) has not quiesced");
	cmd(&kid, 'a');
	ut_kid_kill(&kid);
	n = expect_reuse(seg, name, m_id);
	shmstat_counter_add(n, 6);
	assert_int_equal(rm_value(name, "n", "", NULL), 6);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(rm_value(name, "n", "", NULL), 6);
}

/* A writer that detaches (shmstat_close) without quiescing is gone too. */
static void test_grace_detached_writer(void **state)
{
	const char *name = ut_name("rmgrd");
	struct bargs b = { .name = name };
	struct ut_kid kid;
	shmstat_counter *m, *n;
	shmstat_seg *seg;
	uint64_t m_id;

	(void)state;
	assert_int_equal(ut_kid_start(&kid, child_b, &b), 'k');
	seg = open_a(name, &m);
	cmd(&kid, 'o');
	cmd(&kid, 'a');
	assert_int_equal(rm_value(name, "m", LAB_M, &m_id), 2);
	fill_up(seg, name);
	assert_int_equal(rm_remove(seg, "m", lab_m), 0);
	expect_full(seg, name, "B is attached and has not quiesced");
	cmd(&kid, 'a');
	assert_int_equal(ut_kid_cmd(&kid, 'x'), 0);
	assert_int_equal(ut_kid_wait(&kid), 0);
	n = expect_reuse(seg, name, m_id);
	shmstat_counter_add(n, 3);
	assert_int_equal(rm_value(name, "n", "", NULL), 3);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(rm_value(name, "n", "", NULL), 3);
}

/* -------------------------------------------- fork racing with remove */

/* A child fork handler established before the library's (main() runs
 * first): while gate_fd is set, a new child waits in it for one byte,
 * i.e. before the library's own child handler runs. This widens,
 * deterministically, the window between fork() returning in the parent
 * and the child's process slot being set up. */
static int gate_fd = -1;

static void gate_child(void)
{
	char c;

	if (gate_fd >= 0)
		while (read(gate_fd, &c, 1) < 0 && errno == EINTR)
			;
}

/* A forks B (B has A's handle of M, copied at fork), then A removes M at
 * once, before B's process slot is attached. B holds a live handle of M
 * that it never acknowledged dropping: the grace period must wait for B.
 * If B took the acknowledgement A has after the removal, M's slot is
 * reclaimed and given to N while B still writes into it. */
static void test_grace_remove_right_after_fork(void **state)
{
	const char *name = ut_name("rmgrf");
	struct bargs b = { .name = name };
	int gate[2], c2p[2], p2c[2];
	struct ut_kid kid;
	shmstat_counter *m, *n = NULL;
	shmstat_seg *seg;
	uint64_t m_id;
	int err, k;

	(void)state;
	seg = open_a(name, &m);
	assert_int_equal(rm_value(name, "m", LAB_M, &m_id), 1);
	fill_up(seg, name);
	b.inh = seg;
	b.inh_m = m;
	assert_int_equal(pipe(gate), 0);
	assert_int_equal(pipe(c2p), 0);
	assert_int_equal(pipe(p2c), 0);
	fflush(NULL);
	gate_fd = gate[0];
	kid.pid = fork();
	gate_fd = -1;
	assert_true(kid.pid >= 0);
	if (kid.pid == 0) {
		close(gate[0]);
		close(gate[1]);
		close(c2p[0]);
		close(p2c[1]);
		_exit(child_b(&b, p2c[0], c2p[1]));
	}
	close(gate[0]);
	close(c2p[1]);
	close(p2c[0]);
	kid.cmd = p2c[1];
	kid.ack = c2p[0];
	/* B is held in its fork handler; A removes M now */
	assert_int_equal(rm_remove(seg, "m", lab_m), 0);
	assert_int_equal(write(gate[1], "g", 1), 1);
	close(gate[1]);
	k = ut_recv(kid.ack);
	assert_int_equal(k, 'k');

	rm_gc(name);
	err = rm_counter(seg, "n", NULL, &n);
	if (err == 0) {
		uint64_t v;

		cmd(&kid, 'a');            /* B adds 1 through its handle of M */
		v = rm_value(name, "n", "", NULL);
		assert_int_equal(ut_kid_cmd(&kid, 'x'), 0);
		assert_int_equal(ut_kid_wait(&kid), 0);
		fail_msg("M was reclaimed while B (forked before the removal, holding M's "
			 "handle) had not quiesced: n registered in M's slot, and B's add "
			 "through M's handle made n = %llu", (unsigned long long)v);
	}
	assert_int_equal(err, SHMSTAT_EFULL);
	cmd(&kid, 'a');
	expect_full(seg, name, "B (forked just before the removal) has not quiesced");
	cmd(&kid, 'q');
	n = expect_reuse(seg, name, m_id);
	cmd(&kid, 'a');
	assert_int_equal(rm_value(name, "n", "", NULL), 0);
	assert_int_equal(ut_kid_cmd(&kid, 'x'), 0);
	assert_int_equal(ut_kid_wait(&kid), 0);
	(void)n;
	assert_int_equal(shmstat_close(seg), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_grace_child_forked_before_open),
		T(test_grace_child_forked_after_open),
		T(test_grace_inherited_quiesces_last),
		T(test_grace_fork_inherits_old_ack),
		T(test_grace_killed_writer),
		T(test_grace_killed_inheriting_writer),
		T(test_grace_detached_writer),
		T(test_grace_remove_right_after_fork),
	};

	/* before any shmstat_open(): the library establishes its fork
	 * handlers at the first one, after this one */
	if (pthread_atfork(NULL, NULL, gate_child) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
