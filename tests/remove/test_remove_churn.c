/*
 * test_remove_churn.c - the free value slots of removed metrics under a
 * churn of tenants: child processes that register counters, gauges and
 * histograms of several sizes, count, and then remove them all or are
 * killed (SIGKILL), a counter of some killed ones staying live for good.
 * Every registration must succeed while the directory has room for the
 * metrics live, the counts of the killed stay counted, and no value slot
 * is lost.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rm_util.h"
#include "hook.h"
#include "segment.h"

#define ROUNDS 150
#define NMET 7          /* c0..c3 (1 slot each), g0, g1 (3 each), h */
#define KEPT 30         /* counters of killed tenants that stay live */

/* The histogram of tenant @k: its size varies with k. */
static struct shmstat_hist_opts hist_of(int k)
{
	return (struct shmstat_hist_opts){ .lowest = 1, .highest = UINT64_C(8) << (k % 5),
					   .bits = 1 };
}

/* Metric @j of tenant @k: name into @nm, the label value into @lv. */
static struct shmstat_metric_def def_of(int k, int j, char *nm, char *lv,
					const char **labels)
{
	static const char *const names[NMET] = { "c0", "c1", "c2", "c3", "g0", "g1", "h" };

	snprintf(nm, 16, "%s", names[j]);
	snprintf(lv, 16, "t%d", k);
	labels[0] = "tenant";
	labels[1] = lv;
	labels[2] = NULL;
	return (struct shmstat_metric_def){ .name = nm, .labels = labels };
}

static shmstat_seg *open_seg(const char *name)
{
	return rm_open(name, 64, 8192);
}

/* The tenant: register, count (counter j of tenant k: 1000 k + j + 1),
 * say 'k' (or 'f' when a registration failed) and wait for 'r'; then
 * remove everything, close and say 'd'. Killed meanwhile, or not. */
static int tenant(const char *name, int k, int cmd, int ack)
{
	shmstat_seg *seg = open_seg(name);
	char c = 'k';

	for (int j = 0; j < NMET; j++) {
		char nm[16], lv[16];
		const char *labels[3];
		const struct shmstat_metric_def d = def_of(k, j, nm, lv, labels);
		const struct shmstat_hist_opts ho = hist_of(k);
		shmstat_counter *cn;
		shmstat_gauge *g;
		shmstat_hist *h;
		int err;

		if (j < 4)
			err = shmstat_counter_register(seg, &d, &cn);
		else if (j < 6)
			err = shmstat_gauge_register(seg, &d, SHMSTAT_AGG_SUM, &g);
		else
			err = shmstat_hist_register(seg, &d, &ho, &h);
		if (err) {
			fprintf(stderr, "tenant %d, metric %s: %s: %s\n", k, nm,
				shmstat_strerror(err), shmstat_last_error());
			c = 'f';
		} else if (j < 4) {
			shmstat_counter_add(cn, (uint64_t)(1000 * k + j + 1));
		} else if (j < 6) {
			shmstat_gauge_set(g, k);
		} else {
			shmstat_hist_record(h, (uint64_t)k);
		}
	}
	ut_send(ack, c);
	if (ut_recv(cmd) != 'r')
		return 1;
	for (int j = 0; j < NMET; j++) {
		char nm[16], lv[16];
		const char *labels[3];
		const struct shmstat_metric_def d = def_of(k, j, nm, lv, labels);

		if (shmstat_remove(seg, &d) != 0)
			return 3;
	}
	if (shmstat_close(seg) != 0)
		return 4;
	ut_send(ack, 'd');
	return 0;
}

/* Descriptors and value slots of @seg after a reap that left no removal
 * in its grace period: live metrics and their slots, DEADV tombstones
 * and the slots they hold, slots never allocated. */
struct census {
	uint32_t live, deadv;
	uint64_t live_slots, run_slots, unalloc;
};

static struct census census(const shmstat_seg *seg)
{
	struct census c = { 0 };
	uint64_t used = __atomic_load_n(&seg->hdr->values_used, __ATOMIC_ACQUIRE);

	c.unalloc = seg->max_values - used;
	for (uint32_t i = 0; i < seg->max_metrics; i++) {
		const struct shmstat_desc *d = &seg->descs[i];
		uint32_t st = SHMSTAT_DESC_STATE(__atomic_load_n(&d->word, __ATOMIC_ACQUIRE));

		assert_int_not_equal(st, SHMSTAT_DESC_RETIRED);
		assert_int_not_equal(st, SHMSTAT_DESC_CLAIMED);
		if (st == SHMSTAT_DESC_LIVE) {
			c.live++;
			c.live_slots += d->nvalues;
		} else if (st == SHMSTAT_DESC_DEADV) {
			c.deadv++;
			c.run_slots += d->nvalues;
		}
	}
	return c;
}

/* 150 tenants on a segment of 64 descriptors and 8,192 value slots, one
 * at a time: each registers 4 counters, 2 gauges and a histogram (of
 * one of 5 sizes), counts, and removes them, or is killed (one in 3) and the
 * test removes them but, for the first 30 killed, its counter c0. At
 * most 37 metrics are live: every registration must succeed. After each
 * tenant: the live metrics are the kept counters, each with its count,
 * and the live slots plus the free ones (in DEADV tombstones and never
 * allocated) are all 8,192. (Registrations took the bump allocator's
 * slots while it had any, and left the runs of removed metrics free,
 * each held by a DEADV descriptor between two kept counters: the 29th
 * kept counter's tenant found no free descriptor for its histogram, with
 * 35 metrics live, 29 DEADV descriptors holding 1,841 slots, and 6,312
 * slots never allocated.) */
static void test_tenant_churn(void **state)
{
	const char *name = ut_name("rmtchurn");
	shmstat_seg *seg = open_seg(name);
	int kept[KEPT], nkept = 0;
	struct shmstat_seg_info info;

	(void)state;
	for (int k = 0; k < ROUNDS; k++) {
		int cmd[2], ack[2], status = 0;
		const bool killed = k % 3 == 0;
		struct census c;
		shmstat_snap *s;
		pid_t pid;
		int a;

		assert_int_equal(pipe(cmd), 0);
		assert_int_equal(pipe(ack), 0);
		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(cmd[1]);
			close(ack[0]);
			_exit(tenant(name, k, cmd[0], ack[1]));
		}
		close(cmd[0]);
		close(ack[1]);
		a = ut_recv(ack[0]);
		if (a != 'k') {
			c = census(seg);
			fail_msg("tenant %d: a registration failed (%u metrics live, %u DEADV "
				 "descriptors holding %llu slots, %llu slots never allocated)",
				 k, c.live, c.deadv, (unsigned long long)c.run_slots,
				 (unsigned long long)c.unalloc);
		}
		if (killed) {
			assert_int_equal(kill(pid, SIGKILL), 0);
			assert_int_equal(waitpid(pid, &status, 0), pid);
			for (int j = 0; j < NMET; j++) {
				char nm[16], lv[16];
				const char *labels[3];
				const struct shmstat_metric_def d = def_of(k, j, nm, lv, labels);

				if (j == 0 && nkept < KEPT) {
					kept[nkept++] = k;
					continue;
				}
				assert_int_equal(shmstat_remove(seg, &d), 0);
			}
		} else {
			ut_send(cmd[1], 'r');
			assert_int_equal(ut_recv(ack[0]), 'd');
			assert_int_equal(waitpid(pid, &status, 0), pid);
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
		close(cmd[1]);
		close(ack[0]);
		assert_int_equal(shmstat_quiesce(seg), 0);
		rm_gc(name);
		c = census(seg);
		assert_int_equal(c.live, nkept);
		assert_int_equal(c.live_slots, nkept);
		assert_int_equal(c.live_slots + c.run_slots + c.unalloc, 8192);
		/* the killed tenants' counts stay counted, each its own */
		s = ut_snap(name);
		for (int i = 0; i < nkept; i++) {
			char lab[32];
			struct shmstat_metric_info mi;

			snprintf(lab, sizeof(lab), "tenant=\"t%d\"", kept[i]);
			if (ut_find(s, "c0", lab, &mi) < 0)
				fail_msg("c0{%s} is missing after tenant %d", lab, k);
			assert_int_equal(mi.counter, 1000 * kept[i] + 1);
		}
		shmstat_snap_free(s);
	}
	ut_info(name, &info);
	assert_int_equal(info.metrics, KEPT);
	assert_int_equal(info.dropped_regs, 0);
	assert_int_equal(shmstat_close(seg), 0);
}

static unsigned walks;

static void walk_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point == SHMSTAT_HOOK_REUSE_WALK)
		walks++;
}

/* A segment with no removed metric: its registrations walk the
 * directory for a free run once, not once each (the registrant's own
 * claimed descriptor made every walk look unquiet, so none was
 * remembered: 100,000 counters took 75 s to register instead of 0.3) */
static void test_no_runs_one_walk(void **state)
{
	const char *name = ut_name("rmwalk");
	shmstat_seg *seg = rm_open(name, 2048, 4096);
	shmstat_counter *c;
	char n[32];

	(void)state;
	walks = 0;
	__atomic_store_n(&shmstat__test_hook, walk_hook, __ATOMIC_RELEASE);
	for (int i = 0; i < 1000; i++) {
		snprintf(n, sizeof(n), "walk_%04d_total", i);
		assert_int_equal(rm_counter(seg, n, NULL, &c), 0);
		shmstat_counter_add(c, 1);
	}
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	print_message("directory walks for 1000 registrations: %u\n", walks);
	assert_true(walks <= 1);
	assert_int_equal(rm_value(name, "walk_0999_total", "", NULL), 1);
	assert_int_equal(shmstat_close(seg), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_tenant_churn),
		T(test_no_runs_one_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
