/*
 * test_sig_adopt.c - a snapshot taken while a thread takes over the
 * summary an exited thread of its process left idle (sigtable.c adopt())
 * counts that summary's keys.
 *
 * A reader copies the stripe owners first and the table's claims after
 * the stripes. Thread X takes a free stripe after the owners were copied
 * (a counter's add), thread A (10 keys x 10 events, the one summary of
 * the pool) exits, then X's first event finds no free summary and takes
 * A's over: the claim now names X's stripe, free in the reader's copy.
 * Before the fix that copy counted the summary with neither stripe: the
 * view held no key (used 0) while saying max_error 0. Now the move bumps
 * fold_seq and the copy is made again: 11 keys, 101 hits, exact.
 *
 * The copy is stopped at SHMSTAT_HOOK_COPY_STRIPES (between the owners
 * and the claims) to run the takeover there: no timing.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

#include "stress_common.h"
#include "hook.h"

static shmstat_sigtab *tab;
static shmstat_counter *ctr;
static sem_t a_ready, a_go, x_ready, x_go;
static pthread_t a_thread;
static int fired;

static void *thread_a(void *arg)
{
	(void)arg;
	for (int k = 0; k < 10; k++) {
		char key[8];
		int n = snprintf(key, sizeof(key), "a%d", k);

		for (int j = 0; j < 10; j++)
			shmstat_sig_hit(tab, key, (size_t)n, 1, 0);
	}
	sem_post(&a_ready);
	while (sem_wait(&a_go) != 0)
		;
	return NULL;            /* exits: its stripe idle, the summary with it */
}

static void *thread_x(void *arg)
{
	(void)arg;
	shmstat_counter_add(ctr, 1);            /* takes a free stripe */
	sem_post(&x_ready);
	while (sem_wait(&x_go) != 0)
		;
	shmstat_sig_hit(tab, "x", 1, 1, 0);     /* none free: takes A's over */
	return NULL;
}

/* In the reader's copy, after the owners, before the claims: once */
static void hook(enum shmstat_hook_point p, const void *arg)
{
	pthread_t x;

	(void)arg;
	if (p != SHMSTAT_HOOK_COPY_STRIPES || fired++)
		return;
	assert_int_equal(pthread_create(&x, NULL, thread_x, NULL), 0);
	while (sem_wait(&x_ready) != 0)
		;
	sem_post(&a_go);
	assert_int_equal(pthread_join(a_thread, NULL), 0);
	sem_post(&x_go);
	assert_int_equal(pthread_join(x, NULL), 0);
}

static void test_adopt_during_copy(void **state)
{
	const char *name = stress_name("sigadopt");
	struct shmstat_metric_def def = { .name = "sig_adopt" }, cdef = { .name = "sig_adopt_c" };
	struct shmstat_sigtab_opts to;
	struct shmstat_sigstats st;
	struct shmstat_opts o;
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_sigview *v;
	shmstat_seg *seg;
	size_t i;

	(void)state;
	shmstat_opts_init(&o);
	o.max_procs = 2;
	o.max_metrics = 4;
	o.max_values = 64;
	o.max_threads = 2;
	o.max_stacks = 0;
	o.max_modules = 64;
	shmstat_sigtab_opts_init(&to);
	to.capacity = 64;
	to.key_bytes = 16;
	to.owners = 0;
	to.summaries = 1;
	o.sig_bytes = shmstat_sigtab_bytes(&to);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &def, &to, &tab), 0);
	assert_int_equal(shmstat_counter_register(seg, &cdef, &ctr), 0);
	assert_int_equal(sem_init(&a_ready, 0, 0), 0);
	assert_int_equal(sem_init(&a_go, 0, 0), 0);
	assert_int_equal(sem_init(&x_ready, 0, 0), 0);
	assert_int_equal(sem_init(&x_go, 0, 0), 0);
	assert_int_equal(pthread_create(&a_thread, NULL, thread_a, NULL), 0);
	while (sem_wait(&a_ready) != 0)
		;
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	shmstat__test_hook = hook;
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	shmstat__test_hook = NULL;
	assert_int_equal(fired > 0, 1);
	for (i = 0;; i++) {
		struct shmstat_metric_info m;

		assert_int_equal(shmstat_snap_metric(s, i, &m), 0);
		if (m.type == SHMSTAT_SIGTABLE)
			break;
	}
	assert_int_equal(shmstat_snap_sigtab(s, i, &v), 0);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.hits, 101);
	assert_int_equal(st.used, 11);          /* before the fix: 0 */
	assert_int_equal(st.max_error, 0);
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_close(seg), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_adopt_during_copy, stress_setup, stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests_name("sig_adopt", tests, NULL, NULL);
}
