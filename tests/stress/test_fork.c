/*
 * test_fork.c - a writer with busy threads forks children that write.
 *
 * docs/api.md, "Processes and fork": a child forked by a process with open
 * segments re-attaches with a slot of its own, and the handles it
 * inherited keep working, counting for the child. Here the parent process
 * has NT threads that keep registering (the lookup path: liburcu read-side
 * sections) and counting; its main thread forks K children one after the
 * other. Each child counts through the inherited handle in CT threads of
 * its own, checks that its counts are visible, registers a metric of its
 * own, detaches with shmstat_close and exits 0.
 *
 * Then: every child exited 0; the parent's threads' counts and the
 * children's are all there, exactly; no writer, no stripe left.
 *
 * The pre-fork server (nginx, Apache, PHP-FPM): a master opens the
 * segment and registers its metrics (a counter, a histogram, a signature
 * table), then forks PF_WORKERS workers that count through its handles,
 * each also registering a metric of its own after the fork; the master
 * registers one more while they run. Each worker, once it has counted,
 * waits for the master, who checks with a reader that every count is
 * there, exactly, while they live; then each says how many tasks it has
 * (one: no library thread was started in it, such as liburcu's hash-table
 * worker, which spun at 100% CPU in forked children) and how much CPU its
 * process used beyond its one thread's. After they exit, the totals are
 * still exact and no writer is left.
 *
 * A child that exec()s an instrumented program: the process keeps its
 * pid and start time, so its tag; the slot the child adopted at fork is
 * held by nothing once the old image is gone, and the new image's
 * shmstat_open must fold it and may take it. With two writer slots (the
 * parent's and the child's) the new image's open failed with
 * SHMSTAT_EFULL ("all 2 are taken by live processes"), and its counts
 * were lost; with more slots, the old one stayed LIVE (and held back the
 * grace period of removals with its acknowledgement) until the process
 * exited.
 *
 * The same while the old image holds the reaper lock (a thread of it was
 * reaping when another called exec()): the lock carries the process's
 * tag, which stays alive, so the lock was never let go while the process
 * lived: every shmstat_open, shmstat_close and shmstat_gc of every
 * process waited 1.2 s for it and reaped nothing. The new image's open
 * must take it (its word names another image) and let it go.
 *
 * Built against the plain library, not TSan: ThreadSanitizer does not
 * support a child of a multi-threaded process that starts threads.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "stress_common.h"
#include "grace.h"
#include "segment.h"

#define NT 2
#define K 10
#define CT 2
#define M 5000

static const char *seg_name;
static shmstat_seg *seg;
static shmstat_counter *child_c;
static int stop;

static void *parent_thread(void *arg)
{
	const struct shmstat_metric_def d = { .name = "fork_parent" };
	uint64_t *n = arg;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		shmstat_counter *c;

		if (shmstat_counter_register(seg, &d, &c) != 0)
			return NULL;
		shmstat_counter_inc(c);
		(*n)++;
	}
	return NULL;
}

static void *child_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < M; i++)
		shmstat_counter_inc(child_c);
	return NULL;
}

static int child_main(void *arg)
{
	const struct shmstat_metric_def d = { .name = "fork_child_own" };
	const int k = (int)(intptr_t)arg;
	pthread_t th[CT];
	shmstat_counter *own;
	shmstat_snap *s;
	shmstat_reader *r;
	uint64_t seen = 0;

	for (int t = 0; t < CT; t++)
		CHILD_CHECK(pthread_create(&th[t], NULL, child_thread, NULL) == 0);
	for (int t = 0; t < CT; t++)
		CHILD_CHECK(pthread_join(th[t], NULL) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &d, &own) == 0);
	shmstat_counter_inc(own);
	/* the counts of the children before and ours are visible */
	CHILD_CHECK(shmstat_reader_open(seg_name, &r) == 0);
	CHILD_CHECK(shmstat_snapshot(r, &s) == 0);
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		struct shmstat_metric_info mi;

		CHILD_CHECK(shmstat_snap_metric(s, i, &mi) == 0);
		if (strcmp(mi.name, "fork_child") == 0)
			seen = mi.counter;
	}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	CHILD_CHECK(seen == (uint64_t)(k + 1) * CT * M);
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

static void test_fork_from_threaded_writer(void **state)
{
	const struct shmstat_metric_def d = { .name = "fork_child" };
	struct shmstat_opts o;
	pthread_t th[NT];
	uint64_t counted[NT] = { 0 }, parent = 0;
	struct shmstat_seg_info info;
	shmstat_snap *s;

	(void)state;
	seg_name = stress_name("fork");
	shmstat_opts_init(&o);
	o.max_procs = 8;
	o.max_metrics = 16;
	o.max_values = 64;
	o.max_threads = 32;
	assert_int_equal(shmstat_open(seg_name, &o, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &d, &child_c), 0);
	for (int t = 0; t < NT; t++)
		assert_int_equal(pthread_create(&th[t], NULL, parent_thread, &counted[t]), 0);
	for (int k = 0; k < K; k++) {
		int st = stress_wait(stress_spawn(child_main, (void *)(intptr_t)k));

		if (st != 0)
			fail_msg("forked child %d ended with status %d%s", k, st,
				 st == 128 + SIGSEGV ? " (SIGSEGV)" : "");
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < NT; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		parent += counted[t];
	}
	assert_int_equal(shmstat_close(seg), 0);

	s = stress_snap(seg_name);
	shmstat_snap_info(s, &info);
	assert_int_equal(stress_counter(s, "fork_parent", ""), parent);
	assert_int_equal(stress_counter(s, "fork_child", ""), (uint64_t)K * CT * M);
	assert_int_equal(stress_counter(s, "fork_child_own", ""), K);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.stripes_owned, 0);
	shmstat_snap_free(s);
}

#define PF_WORKERS 8
#define PF_EVENTS 100000           /* each worker's requests */

struct pf_master {
	shmstat_counter *requests;
	shmstat_hist *latency;
	shmstat_sigtab *sigs;
	int ready_fd, hold_fd, report_fd;
};

/* What a worker says before it exits. */
struct pf_report {
	int worker;
	int tasks;                 /* entries of /proc/self/task */
	int64_t other_cpu_ns;      /* process CPU less its one thread's */
};

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int64_t cpu_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct pf_master pf;

static int pf_worker_main(void *arg)
{
	char idx[16];
	const char *labels[] = { "worker", idx, NULL };
	const struct shmstat_metric_def d = { .name = "prefork_worker_total", .labels = labels };
	const int w = (int)(intptr_t)arg;
	struct pf_report rep = { .worker = w };
	shmstat_counter *own;
	char key[32], ch;

	snprintf(idx, sizeof(idx), "%d", w);
	/* registering in the child, after the fork */
	CHILD_CHECK(shmstat_counter_register(seg, &d, &own) == 0);
	for (int i = 0; i < PF_EVENTS; i++) {
		int n = snprintf(key, sizeof(key), "page-%d", i % 50);

		shmstat_counter_inc(pf.requests);
		shmstat_hist_record(pf.latency, (uint64_t)(1000 + i % 977));
		shmstat_sig_hit(pf.sigs, key, (size_t)n, 1, 0);
		shmstat_counter_inc(own);
	}
	CHILD_CHECK(stress_write(pf.ready_fd, "r", 1) == 0);
	/* the master reads the segment meanwhile: a worker that serves
	 * nothing spends nothing */
	CHILD_CHECK(stress_read(pf.hold_fd, &ch, 1) == 1);
	rep.tasks = count_tasks();
	rep.other_cpu_ns = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	CHILD_CHECK(stress_write(pf.report_fd, &rep, sizeof(rep)) == 0);
	return 0;
}

/* The pre-fork test's metrics in snapshot @s: every count exact. */
static void pf_check(shmstat_snap *s, uint64_t master_extra)
{
	struct shmstat_metric_info mi;
	struct shmstat_sigstats st;
	int i;

	assert_int_equal(stress_counter(s, "prefork_requests_total", ""),
			 (uint64_t)PF_WORKERS * PF_EVENTS);
	assert_int_equal(stress_counter(s, "prefork_master_total", ""), master_extra);
	for (int w = 0; w < PF_WORKERS; w++) {
		char l[32];

		snprintf(l, sizeof(l), "worker=\"%d\"", w);
		assert_int_equal(stress_counter(s, "prefork_worker_total", l), PF_EVENTS);
	}
	i = stress_find(s, "prefork_latency", "", &mi);
	assert_true(i >= 0);
	{
		struct shmstat_hstats hs;
		shmstat_hdata *h;

		assert_int_equal(shmstat_snap_hist(s, (size_t)i, SHMSTAT_PROC_ALL, &h), 0);
		shmstat_hdata_stats(h, &hs);
		assert_int_equal(hs.count, (uint64_t)PF_WORKERS * PF_EVENTS);
		shmstat_hdata_free(h);
	}
	i = stress_find(s, "prefork_signatures", "", &mi);
	assert_true(i >= 0);
	{
		shmstat_sigview *v;

		assert_int_equal(shmstat_snap_sigtab(s, (size_t)i, &v), 0);
		shmstat_sigview_stats(v, &st);
		assert_int_equal(st.hits, (uint64_t)PF_WORKERS * PF_EVENTS);
		assert_int_equal(st.max_error, 0);
		assert_int_equal(shmstat_sigview_entries(v), 50);
		for (size_t k = 0; k < 50; k++) {
			struct shmstat_sigentry e;

			assert_int_equal(shmstat_sigview_entry(v, k, &e), 0);
			assert_int_equal(e.hits, (uint64_t)PF_WORKERS * PF_EVENTS / 50);
		}
		shmstat_sigview_free(v);
	}
}

static void test_prefork_server(void **state)
{
	const struct shmstat_metric_def d_req = { .name = "prefork_requests_total" };
	const struct shmstat_metric_def d_lat = { .name = "prefork_latency", .unit = "ns" };
	const struct shmstat_metric_def d_sig = { .name = "prefork_signatures" };
	const struct shmstat_metric_def d_master = { .name = "prefork_master_total" };
	struct shmstat_sigtab_opts so;
	struct shmstat_opts o;
	struct shmstat_seg_info info;
	shmstat_counter *master;
	pid_t pid[PF_WORKERS];
	int ready[2], hold[2], report[2];
	shmstat_snap *s;

	(void)state;
	seg_name = stress_name("prefork");
	shmstat_opts_init(&o);
	o.max_procs = PF_WORKERS + 2;
	o.max_threads = PF_WORKERS + 2;
	shmstat_sigtab_opts_init(&so);
	so.capacity = 64;
	so.summaries = PF_WORKERS + 1;
	o.sig_bytes = shmstat_sigtab_bytes(&so);
	/* the master: open and register before forking */
	assert_int_equal(shmstat_open(seg_name, &o, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &d_req, &pf.requests), 0);
	assert_int_equal(shmstat_hist_register(seg, &d_lat, NULL, &pf.latency), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &d_sig, &so, &pf.sigs), 0);
	stress_pipe(ready);
	stress_pipe(hold);
	stress_pipe(report);
	pf.ready_fd = ready[1];
	pf.hold_fd = hold[0];
	pf.report_fd = report[1];
	for (int w = 0; w < PF_WORKERS; w++)
		pid[w] = stress_spawn(pf_worker_main, (void *)(intptr_t)w);
	/* the master registers after the fork too */
	assert_int_equal(shmstat_counter_register(seg, &d_master, &master), 0);
	shmstat_counter_add(master, 7);
	for (int w = 0; w < PF_WORKERS; w++)
		stress_expect(ready[0], pid[w]);

	s = stress_snap(seg_name);
	pf_check(s, 7);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_alive, PF_WORKERS + 1);
	shmstat_snap_free(s);

	for (int w = 0; w < PF_WORKERS; w++)
		assert_int_equal(stress_write(hold[1], "h", 1), 0);
	for (int w = 0; w < PF_WORKERS; w++) {
		struct pf_report rep;

		assert_int_equal(stress_read(report[0], &rep, sizeof(rep)), sizeof(rep));
#ifdef SHMSTAT_TEST_QEMU_USER
		/* qemu-user starts its own RCU thread again in a forked child
		 * (a host thread the guest's /proc shows): the tasks and the
		 * CPU outside the worker's thread are qemu's, not ours; the
		 * native build checks them */
		continue;
#endif
		if (rep.tasks != 1)
			fail_msg("worker %d has %d tasks: the library started a thread in the "
				 "forked child", rep.worker, rep.tasks);
		/* one thread: the process's CPU is that thread's, the two
		 * clocks read back to back */
		if (rep.other_cpu_ns > 1000000)
			fail_msg("worker %d: %lld ns of CPU outside its thread",
				 rep.worker, (long long)rep.other_cpu_ns);
	}
	for (int w = 0; w < PF_WORKERS; w++)
		assert_int_equal(stress_wait(pid[w]), 0);
	assert_int_equal(shmstat_close(seg), 0);
	{
		unsigned reaped;

		assert_int_equal(shmstat_gc(seg_name, &reaped), 0);
	}
	s = stress_snap(seg_name);
	pf_check(s, 7);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(info.writers_dead, 0);
	shmstat_snap_free(s);
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(hold[i]);
		close(report[i]);
	}
}

/* Workers that die without shmstat_close() (SIGKILLed, or exit()) leave
 * their thread stripes and signature summaries taken until a reap. A
 * worker forked later reaps them (docs/api.md, "Processes and fork"):
 * here one thread stripe and one summary are left for each worker after
 * the first dead one, and the slots never run out (the parent reaps only
 * then), so a worker that did not reap would share its process stripe
 * and count its signature events unsummarized (before the fix: workers
 * 3 to RC_WORKERS did, 6 x RC_EVENTS events, and 4 slots stayed dead). */
#define RC_WORKERS 8
#define RC_EVENTS 1000

static struct {
	shmstat_counter *c;
	shmstat_sigtab *t;
} rc;

static int recycled_worker_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < RC_EVENTS; i++) {
		shmstat_counter_inc(rc.c);
		shmstat_sig_hit(rc.t, "key", 3, 1, 0);
	}
	raise(SIGKILL);
	return 3;
}

static void test_recycled_workers_reaped(void **state)
{
	const struct shmstat_metric_def d_c = { .name = "recycled_total" };
	const struct shmstat_metric_def d_t = { .name = "recycled_sigs" };
	struct shmstat_sigtab_opts so;
	struct shmstat_sigstats st;
	struct shmstat_seg_info info;
	struct shmstat_metric_info mi;
	struct shmstat_opts o;
	shmstat_sigview *v;
	shmstat_snap *s;
	int i;

	(void)state;
	seg_name = stress_name("recycle");
	shmstat_opts_init(&o);
	o.max_procs = RC_WORKERS + 2;      /* the slots never run out */
	o.max_threads = 2;                 /* one dead worker's and one more */
	shmstat_sigtab_opts_init(&so);
	so.capacity = 16;
	so.summaries = 2;
	o.sig_bytes = shmstat_sigtab_bytes(&so);
	assert_int_equal(shmstat_open(seg_name, &o, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &d_c, &rc.c), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &d_t, &so, &rc.t), 0);
	for (int w = 0; w < RC_WORKERS; w++)
		assert_int_equal(stress_wait(stress_spawn(recycled_worker_main, NULL)),
				 128 + SIGKILL);

	s = stress_snap(seg_name);
	shmstat_snap_info(s, &info);
	assert_int_equal(stress_counter(s, "recycled_total", ""),
			 (uint64_t)RC_WORKERS * RC_EVENTS);
	i = stress_find(s, "recycled_sigs", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(shmstat_snap_sigtab(s, (size_t)i, &v), 0);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.hits, (uint64_t)RC_WORKERS * RC_EVENTS);
	assert_int_equal(st.unsummarized, 0);
	/* only the last worker is dead and not reaped */
	assert_int_equal(info.writers_dead, 1);
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_close(seg), 0);
}

/* The program the exec test's child runs: this one, with
 * "--exec-writer NAME" */
static int exec_writer(const char *name)
{
	const struct shmstat_metric_def d = { .name = "exec_total" };
	shmstat_counter *c;
	shmstat_seg *s;
	int err = shmstat_open(name, NULL, &s);

	if (err) {
		fprintf(stderr, "exec'd writer: %s\n", shmstat_last_error());
		return 3;
	}
	if (shmstat_counter_register(s, &d, &c) != 0)
		return 4;
	shmstat_counter_add(c, 100);
	/* the lock the old image held was taken and let go */
	if (__atomic_load_n(&s->hdr->reaper_lock, __ATOMIC_ACQUIRE) != 0)
		return 6;
	return shmstat_close(s) == 0 ? 0 : 5;
}

static shmstat_counter *exec_c;

static int exec_child_main(void *arg)
{
	/* @arg: exec holding the reaper lock */
	if (arg != NULL && !shmstat__reaper_lock(seg, 0))
		return 126;
	shmstat_counter_add(exec_c, 10);   /* into the slot adopted at fork */
	execl("/proc/self/exe", "test_fork", "--exec-writer", seg_name, (char *)NULL);
	return 127;
}

static void exec_test(int locked)
{
	const struct shmstat_metric_def d = { .name = "exec_total" };
	struct shmstat_seg_info info;
	struct shmstat_opts o;
	shmstat_snap *s;

	seg_name = stress_name("exec");
	shmstat_opts_init(&o);
	o.max_procs = 2;                   /* the parent's and the child's */
	assert_int_equal(shmstat_open(seg_name, &o, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &d, &exec_c), 0);
	shmstat_counter_add(exec_c, 1);
	assert_int_equal(stress_wait(stress_spawn(exec_child_main, locked ? seg : NULL)), 0);
	s = stress_snap(seg_name);
	shmstat_snap_info(s, &info);
	assert_int_equal(stress_counter(s, "exec_total", ""), 111);
	assert_int_equal(info.writers_alive, 1);
	assert_int_equal(info.writers_dead, 0);
	shmstat_snap_free(s);
	assert_int_equal(__atomic_load_n(&seg->hdr->reaper_lock, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_exec_frees_slot(void **state)
{
	(void)state;
	exec_test(0);
}

static void test_exec_holding_reaper_lock(void **state)
{
	(void)state;
	exec_test(1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fork_from_threaded_writer, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_prefork_server, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_recycled_workers_reaped, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_exec_frees_slot, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_exec_holding_reaper_lock, stress_setup,
						stress_teardown),
	};

	if (argc == 3 && strcmp(argv[1], "--exec-writer") == 0)
		return exec_writer(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
