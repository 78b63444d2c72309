/*
 * test_sig_batch.c - per-thread batches of hot keys (sigtable.h,
 * "Batches"): when a key is batched, how far its entry may lag, and that
 * every way a batch can end adds it to the entry exactly once:
 *
 *  - sig_batch_slots 0: no batches;
 *  - below SHMSTAT_SIG_BATCH_MIN events a key's entry is exact at once;
 *  - past it, the entry lags by less than one batch (64 events), and
 *    shmstat_sig_flush() and shmstat_heartbeat() make it exact;
 *  - a batch 10 ms old is added at the thread's next event;
 *  - a thread that exits adds its batches;
 *  - shmstat_close() adds the batches of the process's threads;
 *  - a writer killed with SIGKILL holding batches: shmstat_gc adds them;
 *  - a batched key evicted before its batch is added: the floors take the
 *    batch, so exact <= reported <= exact + error still holds.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "ut_common.h"
#include "sig_util.h"

#define METRIC "sig_batch"
#define HOT "hot-key"

static shmstat_sigtab *table(shmstat_seg *seg, uint32_t capacity, uint64_t ttl_ns)
{
	struct shmstat_sigtab_opts o = su_topts(capacity, 32, 4, ttl_ns);
	struct shmstat_metric_def d = { .name = METRIC };
	shmstat_sigtab *t;

	assert_int_equal(shmstat_sigtab_register(seg, &d, &o, &t), 0);
	return t;
}

static shmstat_seg *open_seg(const char *name)
{
	struct shmstat_opts o;
	shmstat_seg *seg;

	ut_small_opts(&o);
	o.max_sig_entries = 4096;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	return seg;
}

/* Hits of key @key in the table now (0 if absent); the totals into @st. */
static uint64_t hits_of(const char *name, const char *key, struct shmstat_sigstats *st)
{
	shmstat_snap *s = ut_snap(name);
	shmstat_sigview *v = su_view(s, METRIC);
	struct shmstat_sigentry e;
	uint64_t h = 0;

	assert_non_null(v);
	if (su_entry_of(v, su_hash(key, strlen(key)), &e) >= 0)
		h = e.hits;
	if (st)
		shmstat_sigview_stats(v, st);
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
	return h;
}

static void hit(shmstat_sigtab *t, const char *key, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		shmstat_sig_hit(t, key, strlen(key), 3, 0);
}

static void test_lag_and_flush(void **state)
{
	const char *name = ut_name("batch_lag");
	shmstat_seg *seg = open_seg(name);
	shmstat_sigtab *t = table(seg, 64, 0);
	struct shmstat_sigstats st;
	uint64_t h;

	(void)state;
	hit(t, HOT, 200);                       /* below the threshold: exact */
	assert_int_equal(hits_of(name, HOT, NULL), 200);
	hit(t, HOT, 1000);
	h = hits_of(name, HOT, &st);
	assert_int_equal(st.hits, 1200);        /* the totals never lag */
	assert_true(h <= 1200 && 1200 - h < 64);
	shmstat_sig_flush(seg);
	assert_int_equal(hits_of(name, HOT, NULL), 1200);
	hit(t, HOT, 30);
	shmstat_heartbeat(seg);
	assert_int_equal(hits_of(name, HOT, &st), 1230);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(shmstat_close(seg), 0);
}

/* sig_batch_slots 0: no batches, every entry exact at once. */
static void test_no_batches(void **state)
{
	const char *name = ut_name("batch_none");
	struct shmstat_opts o;
	shmstat_seg *seg;
	shmstat_sigtab *t;

	(void)state;
	ut_small_opts(&o);
	o.max_sig_entries = 4096;
	o.sig_batch_slots = 0;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	t = table(seg, 64, 0);
	hit(t, HOT, 1000);
	assert_int_equal(hits_of(name, HOT, NULL), 1000);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_age(void **state)
{
	const char *name = ut_name("batch_age");
	shmstat_seg *seg = open_seg(name);
	shmstat_sigtab *t = table(seg, 64, 0);
	uint64_t t0;

	(void)state;
	hit(t, HOT, 300);
	shmstat_sig_flush(seg);
	t0 = su_coarse_ns();
	hit(t, HOT, 10);                        /* a batch of 10 */
	assert_int_equal(hits_of(name, HOT, NULL), 300);
	su_coarse_after(t0 + 10000000u);        /* it is 10 ms old now */
	hit(t, HOT, 1);                         /* so this adds it, and itself */
	assert_int_equal(hits_of(name, HOT, NULL), 311);
	assert_int_equal(shmstat_close(seg), 0);
}

struct thr {
	shmstat_sigtab *t;
	unsigned n;
};

static void *hitter(void *arg)
{
	struct thr *a = arg;

	hit(a->t, HOT, a->n);
	return NULL;
}

static void test_thread_exit(void **state)
{
	const char *name = ut_name("batch_exit");
	shmstat_seg *seg = open_seg(name);
	struct thr a = { table(seg, 64, 0), 1000 };
	pthread_t th[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hitter, &a), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(hits_of(name, HOT, NULL), 3000);
	assert_int_equal(shmstat_close(seg), 0);
}

/* Child: hit HOT 'n' times per command, never flushing; 'q' closes. */
static int kid(void *arg, int cmd, int ack)
{
	const char *name = arg;
	shmstat_seg *seg;
	shmstat_sigtab *t;
	struct shmstat_opts o;
	struct shmstat_sigtab_opts to = su_topts(64, 32, 4, 0);
	struct shmstat_metric_def d = { .name = METRIC };
	int c;

	ut_small_opts(&o);
	o.max_sig_entries = 4096;
	if (shmstat_open(name, &o, &seg) != 0 || shmstat_sigtab_register(seg, &d, &to, &t) != 0)
		return 1;
	ut_send(ack, 'r');
	while ((c = ut_recv(cmd)) > 0) {
		if (c == 'q') {
			shmstat_close(seg);
			ut_send(ack, 'q');
			continue;
		}
		hit(t, HOT, 1000);
		ut_send(ack, 'h');
	}
	return 0;
}

static void test_close_and_kill(void **state)
{
	const char *name = ut_name("batch_kill");
	shmstat_seg *seg = open_seg(name);
	struct ut_kid k1, k2;
	unsigned reaped = 0;
	uint64_t h;

	(void)state;
	(void)table(seg, 64, 0);
	assert_int_equal(ut_kid_start(&k1, kid, (void *)name), 'r');
	assert_int_equal(ut_kid_start(&k2, kid, (void *)name), 'r');
	assert_int_equal(ut_kid_cmd(&k1, 'h'), 'h');
	assert_int_equal(ut_kid_cmd(&k2, 'h'), 'h');
	assert_int_equal(ut_kid_cmd(&k2, 'h'), 'h');
	h = hits_of(name, HOT, NULL);
	assert_true(h < 3000);                  /* both hold a batch */
	assert_int_equal(ut_kid_cmd(&k1, 'q'), 'q');   /* close adds it */
	h = hits_of(name, HOT, NULL);
	assert_true(h >= 1000 && h < 3000);
	ut_kid_kill(&k2);                       /* dies holding its batch */
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_true(reaped >= 1);
	assert_int_equal(hits_of(name, HOT, NULL), 3000);
	ut_kid_kill(&k1);
	assert_int_equal(shmstat_close(seg), 0);
}

/* Capacity 1: the batched key is evicted by another before its batch is
 * added; the floors take the batch. */
static void test_evicted_batch(void **state)
{
	const char *name = ut_name("batch_evict");
	shmstat_seg *seg = open_seg(name);
	shmstat_sigtab *t = table(seg, 1, 0);
	struct shmstat_sigstats st;
	struct shmstat_sigentry e;
	shmstat_snap *s;
	shmstat_sigview *v;

	(void)state;
	hit(t, HOT, 300);                       /* 256 in the entry, 44 batched */
	/* other keys fill both slots' probes and evict HOT */
	for (int i = 0; i < 8; i++) {
		char key[16];

		snprintf(key, sizeof(key), "cold-%d", i);
		hit(t, key, 1);
	}
	shmstat_sig_flush(seg);
	hit(t, HOT, 1);                         /* back: inherits the floors */
	shmstat_sig_flush(seg);
	s = ut_snap(name);
	v = su_view(s, METRIC);
	assert_non_null(v);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.dropped, 0);
	assert_true(st.evictions > 0);
	assert_true(su_entry_of(v, su_hash(HOT, strlen(HOT)), &e) >= 0);
	/* exact 301: reported within [exact, exact + error] */
	assert_true(e.hits >= 301);
	assert_true(e.hits - 301 <= e.err_hits);
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_close(seg), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lag_and_flush),
		cmocka_unit_test(test_no_batches),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_thread_exit),
		cmocka_unit_test(test_close_and_kill),
		cmocka_unit_test(test_evicted_batch),
	};

	return cmocka_run_group_tests(tests, ut_setup, ut_teardown);
}
