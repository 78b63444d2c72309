/*
 * test_inproc.c - threads of one process under ThreadSanitizer.
 *
 * In one process, on a segment with only NSTRIPES thread stripes:
 *   writers    NTH threads, at most CONC alive at a time (a new one starts
 *              when an old one has exited), so stripes are claimed, given
 *              back at thread exit and claimed again while other threads
 *              count, and the threads beyond NSTRIPES share the process
 *              stripe with atomic adds. Each one registers (again and
 *              again: the lookup path) the shared counter inproc_total,
 *              its own inproc_thread{t="k"}, the SUM gauge inproc_net
 *              (+2 -1 per step), and now and then one of NDYN metrics
 *              inproc_dyn_N that other threads register at the same time.
 *              Odd threads count with the inline fast path.
 *   setter     sets the LAST gauge inproc_level to 1 .. NSET
 *   snapshots  snapshots in a loop: 0 or SHMSTAT_EBUSY only, inproc_total
 *              never decreases and never exceeds the final total
 *   gc         shmstat_gc and shmstat_heartbeat in a loop: reaps nothing
 *              (the only writer is alive)
 * TSan halts the process at the first data race (halt_on_error=1). At the
 * end every value is exact.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stress_common.h"
#include "shmstat_inline.h"

#define NTH 12
#define CONC 4
#define NSTRIPES 3
#define ITER 200000
#define DYN_EVERY 500
#define NDYN 20
#define NSET 20000
#define REREG_EVERY 1000

static const char *seg_name;
static shmstat_seg *seg;
static int writers_done;           /* set once every writer has ended */

/* errors seen by the side threads, asserted by the main thread */
static int bad_register, bad_snapshot, bad_monotonic, bad_gc, gc_reaped;
static uint64_t nsnaps;

static void flag(int *f)
{
	__atomic_store_n(f, 1, __ATOMIC_RELAXED);
}

struct handles {
	shmstat_counter *total, *mine;
	shmstat_gauge *net;
};

static void reg_all(int t, struct handles *h)
{
	char val[16];
	const char *labels[] = { "t", val, NULL };
	const struct shmstat_metric_def dt = { .name = "inproc_total" };
	const struct shmstat_metric_def dm = { .name = "inproc_thread", .labels = labels };
	const struct shmstat_metric_def dn = { .name = "inproc_net" };

	snprintf(val, sizeof(val), "%d", t);
	if (shmstat_counter_register(seg, &dt, &h->total) != 0 ||
	    shmstat_counter_register(seg, &dm, &h->mine) != 0 ||
	    shmstat_gauge_register(seg, &dn, SHMSTAT_AGG_SUM, &h->net) != 0)
		flag(&bad_register);
}

static int dyn_index(int t, int i)
{
	return (i / DYN_EVERY + t) % NDYN;
}

static void *writer(void *arg)
{
	const int t = (int)(intptr_t)arg;
	struct handles h, again;

	reg_all(t, &h);
	for (int i = 0; i < ITER; i++) {
		if (i % REREG_EVERY == 0) {
			reg_all(t, &again);
			if (again.total != h.total || again.mine != h.mine || again.net != h.net)
				flag(&bad_register);
		}
		if (i % DYN_EVERY == 0) {
			char name[32];
			const struct shmstat_metric_def d = { .name = name };
			shmstat_counter *c;

			snprintf(name, sizeof(name), "inproc_dyn_%d", dyn_index(t, i));
			if (shmstat_counter_register(seg, &d, &c) != 0)
				flag(&bad_register);
			shmstat_counter_inc(c);
		}
		if (t & 1) {
			shmstat_counter_inc_inline(h.total);
			shmstat_counter_inc_inline(h.mine);
		} else {
			shmstat_counter_inc(h.total);
			shmstat_counter_inc(h.mine);
		}
		shmstat_gauge_add(h.net, 2);
		shmstat_gauge_sub(h.net, 1);
	}
	return NULL;
}

static void *setter(void *arg)
{
	const struct shmstat_metric_def d = { .name = "inproc_level" };
	shmstat_gauge *g;

	(void)arg;
	if (shmstat_gauge_register(seg, &d, SHMSTAT_AGG_LAST, &g) != 0)
		flag(&bad_register);
	for (int v = 1; v <= NSET; v++)
		shmstat_gauge_set(g, v);
	return NULL;
}

static void *snapshotter(void *arg)
{
	shmstat_reader *r;
	uint64_t prev = 0;

	(void)arg;
	if (shmstat_reader_open(seg_name, &r) != 0) {
		flag(&bad_snapshot);
		return NULL;
	}
	while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE)) {
		shmstat_snap *s;
		struct shmstat_metric_info mi;
		int err = shmstat_snapshot(r, &s);

		nsnaps++;
		if (err == SHMSTAT_EBUSY)
			continue;
		if (err) {
			flag(&bad_snapshot);
			break;
		}
		for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
			if (shmstat_snap_metric(s, i, &mi) == 0 &&
			    strcmp(mi.name, "inproc_total") == 0) {
				if (mi.counter < prev || mi.counter > (uint64_t)NTH * ITER)
					flag(&bad_monotonic);
				prev = mi.counter;
			}
		}
		shmstat_snap_free(s);
	}
	shmstat_reader_close(r);
	return NULL;
}

static void *collector(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE)) {
		unsigned reaped = 0;

		if (shmstat_gc(seg_name, &reaped) != 0)
			flag(&bad_gc);
		if (reaped != 0)
			flag(&gc_reaped);
		shmstat_heartbeat(seg);
	}
	return NULL;
}

static void test_inproc_threads(void **state)
{
	struct shmstat_opts o;
	pthread_t w[NTH], side[3];
	uint64_t dyn[NDYN] = { 0 };
	shmstat_snap *s;
	struct shmstat_metric_info mi;
	struct shmstat_seg_info info;
	struct shmstat_proc_info pi;

	(void)state;
	seg_name = stress_name("inproc");
	shmstat_opts_init(&o);
	o.max_procs = 4;
	o.max_metrics = 64;
	o.max_values = 128;
	o.max_threads = NSTRIPES;
	assert_int_equal(shmstat_open(seg_name, &o, &seg), 0);

	assert_int_equal(pthread_create(&side[0], NULL, setter, NULL), 0);
	assert_int_equal(pthread_create(&side[1], NULL, snapshotter, NULL), 0);
	assert_int_equal(pthread_create(&side[2], NULL, collector, NULL), 0);
	for (int k = 0; k < NTH; k++) {
		if (k >= CONC)
			assert_int_equal(pthread_join(w[k - CONC], NULL), 0);
		assert_int_equal(pthread_create(&w[k], NULL, writer, (void *)(intptr_t)k), 0);
	}
	for (int k = NTH - CONC; k < NTH; k++)
		assert_int_equal(pthread_join(w[k], NULL), 0);
	assert_int_equal(pthread_join(side[0], NULL), 0);
	__atomic_store_n(&writers_done, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(side[1], NULL), 0);
	assert_int_equal(pthread_join(side[2], NULL), 0);

	assert_int_equal(bad_register, 0);
	assert_int_equal(bad_snapshot, 0);
	assert_int_equal(bad_monotonic, 0);
	assert_int_equal(bad_gc, 0);
	assert_int_equal(gc_reaped, 0);
	printf("  %llu snapshots during the run\n", (unsigned long long)nsnaps);

	s = stress_snap(seg_name);
	shmstat_snap_info(s, &info);
	assert_int_equal(stress_counter(s, "inproc_total", ""), (uint64_t)NTH * ITER);
	for (int k = 0; k < NTH; k++) {
		char labels[32];

		snprintf(labels, sizeof(labels), "t=\"%d\"", k);
		assert_int_equal(stress_counter(s, "inproc_thread", labels), ITER);
	}
	assert_true(stress_find(s, "inproc_net", "", &mi) >= 0);
	assert_int_equal(mi.gauge, (int64_t)NTH * ITER);
	assert_true(stress_find(s, "inproc_level", "", &mi) >= 0);
	assert_true(mi.has_value);
	assert_int_equal(mi.gauge, NSET);
	for (int k = 0; k < NTH; k++)
		for (int i = 0; i < ITER; i += DYN_EVERY)
			dyn[dyn_index(k, i)]++;
	for (int d = 0; d < NDYN; d++) {
		char name[32];

		snprintf(name, sizeof(name), "inproc_dyn_%d", d);
		assert_int_equal(stress_counter(s, name, ""), dyn[d]);
	}
	assert_int_equal(shmstat_snap_metrics(s), 2 + NTH + 1 + NDYN);
	assert_int_equal(info.bad_descs, 0);
	/* every thread stripe went to this process and none leaked: the
	 * exited threads left them idle, still this process's */
	assert_int_equal(info.stripes_owned, NSTRIPES);
	assert_true(stress_find_proc(s, getpid(), &pi) >= 0);
	assert_int_equal(pi.stripes, NSTRIPES);
	shmstat_snap_free(s);

	assert_int_equal(shmstat_close(seg), 0);
	s = stress_snap(seg_name);
	shmstat_snap_info(s, &info);
	assert_int_equal(stress_counter(s, "inproc_total", ""), (uint64_t)NTH * ITER);
	assert_int_equal(info.stripes_owned, 0);
	assert_int_equal(shmstat_snap_procs(s), 0);
	shmstat_snap_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inproc_threads, stress_setup,
						stress_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
