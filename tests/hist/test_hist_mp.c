/*
 * test_hist_mp.c - histograms written by several processes and threads
 * (ThreadSanitizer build: a race in any process fails the test).
 *
 * merged: P processes x T threads each record a deterministic sequence of
 * N values (seeded per process and thread; lognormal-ish, with 1 in 1024
 * below the range and 1 in 1024 above it) into one histogram. The parent
 * replays the same sequences single-threaded into reference histograms in
 * a second segment (one for all, one per process). Then, writers
 * attached (they report through a pipe that they are done):
 *  - while they record, the parent takes snapshot after snapshot: the
 *    difference of each with the one before is never refused (buckets
 *    only grow) and the count never goes down;
 *  - the merged histogram (SHMSTAT_PROC_ALL) equals the reference in
 *    count, sum, min, max, underflow, overflow and every bucket, hence in
 *    every quantile (compared too);
 *  - each process's own histogram (shmstat_snap_hist with its index)
 *    equals its reference, and the per-process parts plus the gone part
 *    add up to the total, bucket by bucket;
 * after the writers exit (two detach with shmstat_close, one just exits):
 *  - the total is unchanged; each writer is either still listed (its part
 *    equals its reference) or folded into SHMSTAT_PROC_GONE, which then
 *    equals the sum of the folded writers' references, with their min and
 *    max; the parts still add up to the total;
 * after shmstat_gc:
 *  - no writer is listed, and the gone part equals the whole reference.
 * Run twice: with a thread stripe for every thread, and with 2 stripes
 * for the 9 threads, so that most threads share their process's stripe
 * (atomic adds and compare-and-swap for min and max).
 *
 * killed: a writer W records a known set X and stays attached; a writer K
 * records 3, then 3e12 (the extremes of its sequence), then values in
 * between, reporting through a pipe how many it has recorded after every
 * batch; once it reported 100,000 the parent kills it with SIGKILL and
 * reads the pipe to its end. Before gc, K's part counts at least what it
 * reported. shmstat_gc reaps exactly one slot (K's); afterwards:
 *  - the gone part is exactly K's part from before the gc (buckets, sum,
 *    min, max): the fold kept every value; its min is 3 and max 3e12;
 *  - its count c is >= the reported prefix, and its buckets equal a
 *    reference fed the first c values of K's sequence (the sum is that of
 *    the first c - 1 .. c + 1 values: K may have died inside a record);
 *  - W's part equals the reference of X, and W's part plus the gone part
 *    equal the total; the total's min and max are those of X and K's.
 *
 * readers: writers record without pause while the parent takes 100
 * snapshots; no interval is refused, and once the writers stop, the
 * histogram equals a reference fed exactly what they report having
 * recorded (see test_readers).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "stress_common.h"
#include "hist_util.h"

#define P 3
#define T 3
#define N 100000u

#define H HU_HIGHEST_DEFAULT
#define HIST "mp_ns"

#define NX 50000u
#define K_LEN 2000000u         /* K's whole sequence (it is killed before) */
#define K_BATCH 1000u
#define K_KILL_AT 100000u
#define K_MIN UINT64_C(3)
#define K_MAX UINT64_C(3000000000000)

/* One value: mostly 2^4 .. 2^33 with a spread of exponents (a sum of four
 * uniform draws, so roughly lognormal); with @out_of_range, 1 in 1024 is
 * 0 (underflow) and 1 in 1024 beyond the hour (overflow). */
static uint64_t mp_value(uint64_t *s, int out_of_range)
{
	uint64_t r = hu_next(s);
	unsigned k = (unsigned)(r & 1023), e;

	if (out_of_range && k == 0)
		return 0;
	if (out_of_range && k == 1)
		return H + 1 + (r >> 20);
	e = 4 + (unsigned)((r >> 10) & 7) + (unsigned)((r >> 13) & 7) +
	    (unsigned)((r >> 16) & 7) + (unsigned)((r >> 19) & 7);
	return (UINT64_C(1) << e) | ((r >> 24) & ((UINT64_C(1) << e) - 1));
}

static uint64_t seq_seed(int proc, int thread)
{
	return UINT64_C(0x5eed0000) + (uint64_t)proc * 64 + (uint64_t)thread;
}

/* Value @i of K's sequence (@s: the generator state, advanced for i >= 2). */
static uint64_t k_value(uint64_t *s, uint64_t i)
{
	if (i == 0)
		return K_MIN;
	if (i == 1)
		return K_MAX;
	return mp_value(s, 0);
}

static void small_opts(struct shmstat_opts *o, uint32_t hists)
{
	shmstat_opts_init(o);
	o->max_procs = 8;
	o->max_metrics = 16;
	o->max_values = hists * 2400;
	o->max_threads = 16;
}

static shmstat_hist *child_reg(shmstat_seg *seg, const char *metric, const char *const *labels)
{
	struct shmstat_metric_def def = { .name = metric, .labels = labels };
	shmstat_hist *h = NULL;

	CHILD_CHECK(shmstat_hist_register(seg, &def, NULL, &h) == 0);
	return h;
}

/* ------------------------------------------------------------ writers */

struct writer {
	const char *name;
	int idx;
	int done_fd;               /* writer -> parent: 'd' when recorded */
	int go_fd;                 /* parent -> writer: EOF means "finish" */
	int close_seg;             /* detach with shmstat_close before exit */
	int unused[2];             /* the parent's ends, closed in the child */
};

struct wthread {
	shmstat_hist *h;
	int proc, thread;
	pthread_barrier_t *bar;
};

static void *writer_thread(void *arg)
{
	const struct wthread *w = arg;
	uint64_t s = seq_seed(w->proc, w->thread);

	shmstat_hist_record(w->h, mp_value(&s, 1));
	pthread_barrier_wait(w->bar);        /* every thread holds a stripe */
	for (uint32_t i = 1; i < N; i++)
		shmstat_hist_record(w->h, mp_value(&s, 1));
	return NULL;
}

static int writer_main(void *arg)
{
	const struct writer *wr = arg;
	struct wthread wt[T];
	pthread_barrier_t bar;
	pthread_t th[T];
	shmstat_seg *seg;
	shmstat_hist *h;
	char c;

	close(wr->unused[0]);
	close(wr->unused[1]);
	CHILD_CHECK(shmstat_open(wr->name, NULL, &seg) == 0);
	h = child_reg(seg, HIST, NULL);
	CHILD_CHECK(pthread_barrier_init(&bar, NULL, T) == 0);
	for (int t = 0; t < T; t++) {
		wt[t] = (struct wthread){ .h = h, .proc = wr->idx, .thread = t, .bar = &bar };
		CHILD_CHECK(pthread_create(&th[t], NULL, writer_thread, &wt[t]) == 0);
	}
	for (int t = 0; t < T; t++)
		CHILD_CHECK(pthread_join(th[t], NULL) == 0);
	CHILD_CHECK(stress_write(wr->done_fd, "d", 1) == 0);
	CHILD_CHECK(stress_read(wr->go_fd, &c, 1) == 0);     /* EOF: finish */
	if (wr->close_seg)
		CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

/* ------------------------------------------------------ reference side */

static shmstat_hist *ref_reg(shmstat_seg *seg, const char *metric, const char *const *labels)
{
	struct shmstat_metric_def def = { .name = metric, .labels = labels };
	shmstat_hist *h = NULL;
	int err = shmstat_hist_register(seg, &def, NULL, &h);

	if (err)
		fail_msg("register %s: %s: %s", metric, shmstat_strerror(err), shmstat_last_error());
	return h;
}

static shmstat_hdata *hist_of(const shmstat_snap *s, const char *metric, const char *labels,
			      size_t j)
{
	return hu_hist(s, hu_find_hist(s, metric, labels), j);
}

static struct shmstat_hstats stats_of(const shmstat_hdata *h)
{
	struct shmstat_hstats st;

	shmstat_hdata_stats(h, &st);
	return st;
}

static const double qs[] = { 0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999,
			     0.9999, 0.99999, 1 };
#define NQ (sizeof(qs) / sizeof(qs[0]))

static void assert_same_quantiles(const shmstat_hdata *a, const shmstat_hdata *b)
{
	uint64_t qa[NQ], qb[NQ];

	assert_int_equal(shmstat_hdata_quantiles(a, qs, NQ, qa), 0);
	assert_int_equal(shmstat_hdata_quantiles(b, qs, NQ, qb), 0);
	for (size_t i = 0; i < NQ; i++)
		if (qa[i] != qb[i])
			fail_msg("quantile %g: %llu, reference %llu", qs[i],
				 (unsigned long long)qa[i], (unsigned long long)qb[i]);
}

static char proc_labels[P][32];

/* The writers' parts (each listed process, and the gone part) add up to
 * the total, bucket by bucket and in count and sum. */
static void check_parts_add_up(const shmstat_snap *s, size_t i)
{
	shmstat_hdata *all = hu_hist(s, i, SHMSTAT_PROC_ALL), *part;
	size_t nb = shmstat_hdata_buckets(all);
	uint64_t *acc = calloc(nb + 2, sizeof(*acc)), count = 0, sum = 0;
	struct shmstat_metric_info mi;
	struct shmstat_hstats st;

	assert_non_null(acc);
	for (size_t j = 0; j < shmstat_snap_procs(s); j++) {
		uint64_t c;
		int64_t g;

		part = hu_hist(s, i, j);
		hu_accumulate(part, acc);
		st = stats_of(part);
		count += st.count;
		sum += st.sum;
		assert_int_equal(shmstat_snap_metric_proc(s, i, j, &c, &g), 0);
		assert_int_equal(c, st.count);
		shmstat_hdata_free(part);
	}
	part = hu_hist(s, i, SHMSTAT_PROC_GONE);
	hu_accumulate(part, acc);
	st = stats_of(part);
	count += st.count;
	sum += st.sum;
	{
		uint64_t c;
		int64_t g;

		assert_int_equal(shmstat_snap_metric_proc(s, i, SHMSTAT_PROC_GONE, &c, &g), 0);
		assert_int_equal(c, st.count);
	}
	shmstat_hdata_free(part);
	hu_assert_acc(acc, all);
	st = stats_of(all);
	assert_int_equal(count, st.count);
	assert_int_equal(sum, st.sum);
	assert_int_equal(shmstat_snap_metric(s, i, &mi), 0);
	assert_int_equal(mi.counter, st.count);
	free(acc);
	shmstat_hdata_free(all);
}

/* Each writer is listed with its reference, or folded: the gone part is
 * the sum of the folded writers' references (min and max included). */
static void check_writers(const shmstat_snap *s, const shmstat_snap *ref, const pid_t *pids)
{
	size_t i = hu_find_hist(s, HIST, "");
	shmstat_hdata *gone = hu_hist(s, i, SHMSTAT_PROC_GONE);
	size_t nb = shmstat_hdata_buckets(gone);
	uint64_t *acc = calloc(nb + 2, sizeof(*acc)), sum = 0, count = 0, mn = UINT64_MAX, mx = 0;
	struct shmstat_hstats st;
	int folded = 0;

	assert_non_null(acc);
	for (int w = 0; w < P; w++) {
		shmstat_hdata *r = hist_of(ref, "ref_proc", proc_labels[w], SHMSTAT_PROC_ALL);
		int j = stress_find_proc(s, pids[w], NULL);

		if (j >= 0) {
			shmstat_hdata *part = hu_hist(s, i, (size_t)j);

			hu_assert_same(part, r, 1);
			assert_same_quantiles(part, r);
			shmstat_hdata_free(part);
		} else {
			st = stats_of(r);
			hu_accumulate(r, acc);
			count += st.count;
			sum += st.sum;
			mn = st.min < mn ? st.min : mn;
			mx = st.max > mx ? st.max : mx;
			folded++;
		}
		shmstat_hdata_free(r);
	}
	hu_assert_acc(acc, gone);
	st = stats_of(gone);
	assert_int_equal(st.count, count);
	assert_int_equal(st.sum, sum);
	if (folded) {
		assert_int_equal(st.min, mn);
		assert_int_equal(st.max, mx);
	}
	free(acc);
	shmstat_hdata_free(gone);
	check_parts_add_up(s, i);
}

static void check_total(const shmstat_snap *s, const shmstat_snap *ref)
{
	shmstat_hdata *all = hist_of(s, HIST, "", SHMSTAT_PROC_ALL);
	shmstat_hdata *r = hist_of(ref, "ref_all", "", SHMSTAT_PROC_ALL);
	struct shmstat_hstats st = stats_of(all);

	assert_int_equal(st.count, (uint64_t)P * T * N);
	assert_true(st.underflow > 0 && st.overflow > 0);
	hu_assert_same(all, r, 1);
	assert_same_quantiles(all, r);
	shmstat_hdata_free(r);
	shmstat_hdata_free(all);
}

/* While the writers record: snapshot after snapshot, every bucket is at
 * least what it was in the one before (buckets only grow), so the
 * interval between two snapshots is never refused (ERANGE) and the count
 * never goes down; until all P * T * N values are in. */
static void watch_while_recording(const char *name, const pid_t *pids)
{
	shmstat_hdata *prev = NULL;
	uint64_t count = 0, snaps = 0, intervals = 0;

	while (count < (uint64_t)P * T * N) {
		shmstat_snap *s = stress_snap(name);
		int i = stress_find(s, HIST, "", NULL);
		shmstat_hdata *cur, *d = NULL;
		int err;

		for (int w = 0; w < P; w++) {
			int st;

			if (waitpid(pids[w], &st, WNOHANG) != 0)
				fail_msg("writer %d ended while recording (status %d)", w, st);
		}
		snaps++;
		if (i < 0) {
			shmstat_snap_free(s);
			continue;          /* not registered yet */
		}
		cur = hu_hist(s, (size_t)i, SHMSTAT_PROC_ALL);
		shmstat_snap_free(s);
		if (prev) {
			err = shmstat_hdata_sub(cur, prev, &d);
			if (err)
				fail_msg("snapshot %llu minus the one before: %s",
					 (unsigned long long)snaps, shmstat_strerror(err));
			shmstat_hdata_free(d);
			intervals++;
		}
		assert_true(stats_of(cur).count >= count);
		count = stats_of(cur).count;
		shmstat_hdata_free(prev);
		prev = cur;
	}
	assert_int_equal(count, (uint64_t)P * T * N);
	shmstat_hdata_free(prev);
	print_message("%llu snapshots and %llu intervals while recording\n",
		      (unsigned long long)snaps, (unsigned long long)intervals);
}

static void run_merged(uint32_t max_threads)
{
	const char *name = stress_name("hist_mp"), *rname = stress_name("hist_ref");
	struct shmstat_opts o;
	struct writer wr[P];
	pid_t pids[P];
	int done[P][2], go[2];
	shmstat_snap *s, *ref;
	struct shmstat_seg_info info;
	unsigned reaped = 99;
	size_t listed;

	small_opts(&o, 1);
	o.max_threads = max_threads;
	stress_create(name, &o);
	stress_pipe(go);
	for (int w = 0; w < P; w++) {
		stress_pipe(done[w]);
		wr[w] = (struct writer){ .name = name, .idx = w, .done_fd = done[w][1],
					 .go_fd = go[0], .close_seg = w != 1,
					 .unused = { done[w][0], go[1] } };
		pids[w] = stress_spawn(writer_main, &wr[w]);
		close(done[w][1]);
	}
	close(go[0]);
	watch_while_recording(name, pids);
	for (int w = 0; w < P; w++)
		stress_expect(done[w][0], pids[w]);

	/* the single-threaded reference, from the same sequences */
	{
		shmstat_hist *all, *per[P];
		shmstat_seg *seg;

		small_opts(&o, 1 + P);
		assert_int_equal(shmstat_open(rname, &o, &seg), 0);
		all = ref_reg(seg, "ref_all", NULL);
		for (int w = 0; w < P; w++) {
			char v[16];
			const char *labels[] = { "proc", v, NULL };

			snprintf(v, sizeof(v), "%d", w);
			snprintf(proc_labels[w], sizeof(proc_labels[w]), "proc=\"%d\"", w);
			per[w] = ref_reg(seg, "ref_proc", labels);
			for (int t = 0; t < T; t++) {
				uint64_t sd = seq_seed(w, t);

				for (uint32_t i = 0; i < N; i++) {
					uint64_t x = mp_value(&sd, 1);

					shmstat_hist_record(all, x);
					shmstat_hist_record(per[w], x);
				}
			}
		}
		assert_int_equal(shmstat_close(seg), 0);
		ref = stress_snap(rname);
	}

	/* writers attached and done */
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_alive, P);
	assert_int_equal(info.bad_descs, 0);
	assert_int_equal(shmstat_snap_procs(s), P);
	{
		size_t i = hu_find_hist(s, HIST, "");

		for (int w = 0; w < P; w++) {
			struct shmstat_proc_info pi;

			assert_true(stress_find_proc(s, pids[w], &pi) >= 0);
			assert_int_equal(pi.alive, 1);
			if (max_threads >= P * T)
				assert_int_equal(pi.stripes, T);
			else
				assert_true(pi.stripes <= T);
		}
		check_total(s, ref);
		check_writers(s, ref, pids);
		{
			shmstat_hdata *gone = hu_hist(s, i, SHMSTAT_PROC_GONE);

			assert_int_equal(stats_of(gone).count, 0);
			shmstat_hdata_free(gone);
		}
	}
	shmstat_snap_free(s);

	/* writers gone: 0 and 2 detach, 1 just exits */
	close(go[1]);
	for (int w = 0; w < P; w++) {
		assert_int_equal(stress_wait(pids[w]), 0);
		close(done[w][0]);
	}
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_alive, 0);
	check_total(s, ref);
	check_writers(s, ref, pids);
	listed = shmstat_snap_procs(s);
	shmstat_snap_free(s);

	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, listed);      /* every listed writer is gone */
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(shmstat_snap_procs(s), 0);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.stripes_owned, 0);
	check_total(s, ref);
	check_writers(s, ref, pids);
	{
		shmstat_hdata *gone = hist_of(s, HIST, "", SHMSTAT_PROC_GONE);
		shmstat_hdata *r = hist_of(ref, "ref_all", "", SHMSTAT_PROC_ALL);

		hu_assert_same(gone, r, 1);
		assert_same_quantiles(gone, r);
		shmstat_hdata_free(r);
		shmstat_hdata_free(gone);
	}
	shmstat_snap_free(s);
	shmstat_snap_free(ref);
}

/* every thread owns a stripe */
static void test_merged(void **state)
{
	(void)state;
	run_merged(16);
}

/* 2 thread stripes for 9 threads: most share their process's stripe
 * (atomic adds, CAS for min and max) */
static void test_merged_shared(void **state)
{
	(void)state;
	run_merged(2);
}

/* ---------------------------------------------- readers during writes */

#define R_BATCH 1024u
#define R_CAP (1024u * 1024u)  /* values per thread at most */
#define R_SNAPS 100

struct rwriter {
	const char *name;
	int idx;
	int rep_fd;                /* 'r' when recording, then T counts */
	int go_fd;                 /* EOF: stop */
	int unused[2];
};

struct rthread {
	shmstat_hist *h;
	int proc, thread;
	const int *stop;
	uint64_t done;
	pthread_barrier_t *bar;
};

static uint64_t r_seed(int proc, int thread)
{
	return seq_seed(16 + proc, thread);
}

static void *rthread_main(void *arg)
{
	struct rthread *w = arg;
	uint64_t s = r_seed(w->proc, w->thread);

	for (;;) {
		for (uint32_t i = 0; i < R_BATCH; i++)
			shmstat_hist_record(w->h, mp_value(&s, 1));
		w->done += R_BATCH;
		if (w->done == R_BATCH)
			pthread_barrier_wait(w->bar);       /* all are recording */
		if (__atomic_load_n(w->stop, __ATOMIC_RELAXED) || w->done >= R_CAP)
			break;
	}
	return NULL;
}

static int rwriter_main(void *arg)
{
	const struct rwriter *wr = arg;
	struct rthread wt[T];
	pthread_barrier_t bar;
	pthread_t th[T];
	shmstat_seg *seg;
	shmstat_hist *h;
	uint64_t counts[T];
	int stop = 0;
	char c;

	close(wr->unused[0]);
	close(wr->unused[1]);
	CHILD_CHECK(shmstat_open(wr->name, NULL, &seg) == 0);
	h = child_reg(seg, HIST, NULL);
	CHILD_CHECK(pthread_barrier_init(&bar, NULL, T + 1) == 0);
	for (int t = 0; t < T; t++) {
		wt[t] = (struct rthread){ .h = h, .proc = wr->idx, .thread = t, .stop = &stop,
					  .bar = &bar };
		CHILD_CHECK(pthread_create(&th[t], NULL, rthread_main, &wt[t]) == 0);
	}
	pthread_barrier_wait(&bar);
	CHILD_CHECK(stress_write(wr->rep_fd, "r", 1) == 0);
	CHILD_CHECK(stress_read(wr->go_fd, &c, 1) == 0);     /* EOF: stop */
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < T; t++) {
		CHILD_CHECK(pthread_join(th[t], NULL) == 0);
		counts[t] = wt[t].done;
	}
	CHILD_CHECK(shmstat_close(seg) == 0);
	CHILD_CHECK(stress_write(wr->rep_fd, counts, sizeof(counts)) == 0);
	return 0;
}

/*
 * readers: P x T threads record without pause (batches of 1024 values of
 * their sequences, until told to stop) while the parent takes snapshot
 * after snapshot: the difference of each with the one before, and with
 * the first, is never refused (buckets only grow) and the count never
 * goes down. Once stopped, each writer reports how many values each
 * thread recorded; the final histogram equals a single-threaded
 * reference fed exactly those prefixes of the sequences (every bucket,
 * count, sum, min, max, quantiles).
 */
static void test_readers(void **state)
{
	const char *name = stress_name("hist_rd"), *rname = stress_name("hist_rdref");
	struct shmstat_opts o;
	struct rwriter wr[P];
	pid_t pids[P];
	int rep[P][2], go[2];
	uint64_t counts[P][T], total = 0;
	shmstat_hdata *first = NULL, *prev = NULL;
	shmstat_snap *s, *ref;
	shmstat_hdata *all, *r;

	(void)state;
	small_opts(&o, 1);
	stress_create(name, &o);
	stress_pipe(go);
	for (int w = 0; w < P; w++) {
		stress_pipe(rep[w]);
		wr[w] = (struct rwriter){ .name = name, .idx = w, .rep_fd = rep[w][1],
					  .go_fd = go[0], .unused = { rep[w][0], go[1] } };
		pids[w] = stress_spawn(rwriter_main, &wr[w]);
		close(rep[w][1]);
	}
	close(go[0]);
	for (int w = 0; w < P; w++)
		stress_expect(rep[w][0], pids[w]);

	for (int k = 0; k < R_SNAPS; k++) {
		shmstat_hdata *cur, *d = NULL;
		int err;

		s = stress_snap(name);
		cur = hist_of(s, HIST, "", SHMSTAT_PROC_ALL);
		shmstat_snap_free(s);
		if (prev) {
			err = shmstat_hdata_sub(cur, prev, &d);
			if (err)
				fail_msg("snapshot %d minus the one before: %s", k,
					 shmstat_strerror(err));
			shmstat_hdata_free(d);
			err = shmstat_hdata_sub(cur, first, &d);
			if (err)
				fail_msg("snapshot %d minus the first: %s", k, shmstat_strerror(err));
			shmstat_hdata_free(d);
			assert_true(stats_of(cur).count >= stats_of(prev).count);
		}
		if (first == NULL)
			first = cur;
		else if (prev != first)
			shmstat_hdata_free(prev);
		prev = cur;
	}
	print_message("%d snapshots while writing: %llu values at the first, %llu at the last\n",
		      R_SNAPS, (unsigned long long)stats_of(first).count,
		      (unsigned long long)stats_of(prev).count);
	if (prev != first)
		shmstat_hdata_free(prev);
	shmstat_hdata_free(first);

	close(go[1]);
	for (int w = 0; w < P; w++) {
		if (stress_read(rep[w][0], counts[w], sizeof(counts[w])) != sizeof(counts[w]))
			fail_msg("writer %d ended (status %d) without its counts", w,
				 stress_wait(pids[w]));
		assert_int_equal(stress_wait(pids[w]), 0);
		close(rep[w][0]);
		for (int t = 0; t < T; t++)
			total += counts[w][t];
	}

	/* the reference: the very prefixes the threads recorded */
	{
		shmstat_seg *seg;
		shmstat_hist *h;

		assert_int_equal(shmstat_open(rname, &o, &seg), 0);
		h = ref_reg(seg, "ref_all", NULL);
		for (int w = 0; w < P; w++)
			for (int t = 0; t < T; t++) {
				uint64_t sd = r_seed(w, t);

				for (uint64_t i = 0; i < counts[w][t]; i++)
					shmstat_hist_record(h, mp_value(&sd, 1));
			}
		assert_int_equal(shmstat_close(seg), 0);
		ref = stress_snap(rname);
	}
	s = stress_snap(name);
	all = hist_of(s, HIST, "", SHMSTAT_PROC_ALL);
	r = hist_of(ref, "ref_all", "", SHMSTAT_PROC_ALL);
	assert_int_equal(stats_of(all).count, total);
	hu_assert_same(all, r, 1);
	assert_same_quantiles(all, r);
	shmstat_hdata_free(r);
	shmstat_hdata_free(all);
	shmstat_snap_free(ref);
	shmstat_snap_free(s);
}

/* ------------------------------------------------------------ killed */

struct kwriter {
	const char *name;
	int rep_fd;                /* K -> parent: uint64 count after each batch */
	int hold_fd;               /* never written: K blocks on it at the end */
	int unused[3];
};

static int killed_main(void *arg)
{
	const struct kwriter *k = arg;
	shmstat_seg *seg;
	shmstat_hist *h;
	uint64_t s = seq_seed(9, 9), i = 0;
	char c;

	for (int u = 0; u < 3; u++)
		if (k->unused[u] >= 0)
			close(k->unused[u]);
	CHILD_CHECK(shmstat_open(k->name, NULL, &seg) == 0);
	h = child_reg(seg, HIST, NULL);
	while (i < K_LEN) {
		for (uint32_t b = 0; b < K_BATCH; b++, i++)
			shmstat_hist_record(h, k_value(&s, i));
		CHILD_CHECK(stress_write(k->rep_fd, &i, sizeof(i)) == 0);
	}
	stress_read(k->hold_fd, &c, 1);        /* wait to be killed */
	return 4;
}

static int steady_main(void *arg)
{
	const struct writer *wr = arg;
	shmstat_seg *seg;
	shmstat_hist *h;
	uint64_t s = seq_seed(7, 7);
	char c;

	close(wr->unused[0]);
	close(wr->unused[1]);
	CHILD_CHECK(shmstat_open(wr->name, NULL, &seg) == 0);
	h = child_reg(seg, HIST, NULL);
	for (uint32_t i = 0; i < NX; i++)
		shmstat_hist_record(h, mp_value(&s, 1));
	CHILD_CHECK(stress_write(wr->done_fd, "d", 1) == 0);
	CHILD_CHECK(stress_read(wr->go_fd, &c, 1) == 0);
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

static void test_killed(void **state)
{
	const char *name = stress_name("hist_kill"), *rname = stress_name("hist_kref");
	struct shmstat_opts o;
	struct writer w;
	struct kwriter k;
	int done[2], go[2], rep[2], hold[2];
	pid_t wpid, kpid;
	uint64_t reported = 0, got, c, prefsum[3];
	shmstat_snap *s, *ref;
	shmstat_hdata *kpart, *gone, *all, *wpart, *rx, *rk;
	struct shmstat_hstats st, sx;
	unsigned reaped = 99;
	int j;

	(void)state;
	small_opts(&o, 1);
	stress_create(name, &o);

	stress_pipe(done);
	stress_pipe(go);
	w = (struct writer){ .name = name, .done_fd = done[1], .go_fd = go[0],
			     .unused = { done[0], go[1] } };
	wpid = stress_spawn(steady_main, &w);
	close(done[1]);
	close(go[0]);
	stress_expect(done[0], wpid);

	stress_pipe(rep);
	stress_pipe(hold);
	k = (struct kwriter){ .name = name, .rep_fd = rep[1], .hold_fd = hold[0],
			      .unused = { rep[0], hold[1], go[1] } };
	kpid = stress_spawn(killed_main, &k);
	close(rep[1]);
	close(hold[0]);
	while (reported < K_KILL_AT) {
		if (stress_read(rep[0], &got, sizeof(got)) != sizeof(got))
			fail_msg("K ended (status %d) before reporting %u values",
				 stress_wait(kpid), K_KILL_AT);
		reported = got;
	}
	assert_int_equal(kill(kpid, SIGKILL), 0);
	while (stress_read(rep[0], &got, sizeof(got)) == sizeof(got))
		reported = got;                    /* what it said before dying */
	assert_int_equal(stress_wait(kpid), 128 + SIGKILL);
	close(rep[0]);
	close(hold[1]);

	/* before gc: K is listed, dead, with at least what it reported */
	s = stress_snap(name);
	j = stress_find_proc(s, kpid, NULL);
	assert_true(j >= 0);
	kpart = hist_of(s, HIST, "", (size_t)j);
	st = stats_of(kpart);
	assert_true(st.count >= reported);
	shmstat_snap_free(s);

	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 1);

	s = stress_snap(name);
	assert_int_equal(shmstat_snap_procs(s), 1);
	assert_true(stress_find_proc(s, kpid, NULL) < 0);
	j = stress_find_proc(s, wpid, NULL);
	assert_true(j >= 0);
	gone = hist_of(s, HIST, "", SHMSTAT_PROC_GONE);
	all = hist_of(s, HIST, "", SHMSTAT_PROC_ALL);
	wpart = hist_of(s, HIST, "", (size_t)j);

	/* the fold kept K's values, min and max */
	hu_assert_same(gone, kpart, 1);
	st = stats_of(gone);
	c = st.count;
	print_message("K reported %llu values, %llu were recorded when it was killed\n",
		      (unsigned long long)reported, (unsigned long long)c);
	assert_true(c >= reported);
	assert_true(c <= K_LEN);
	assert_int_equal(st.min, K_MIN);
	assert_int_equal(st.max, K_MAX);
	check_parts_add_up(s, hu_find_hist(s, HIST, ""));

	/* references: X, and the first c values of K's sequence */
	{
		shmstat_seg *seg;
		shmstat_hist *hx, *hk;
		uint64_t sd = seq_seed(7, 7), sum = 0;

		small_opts(&o, 2);
		assert_int_equal(shmstat_open(rname, &o, &seg), 0);
		hx = ref_reg(seg, "ref_x", NULL);
		hk = ref_reg(seg, "ref_k", NULL);
		for (uint32_t i = 0; i < NX; i++)
			shmstat_hist_record(hx, mp_value(&sd, 1));
		sd = seq_seed(9, 9);
		prefsum[0] = prefsum[1] = prefsum[2] = 0;
		for (uint64_t i = 0; i <= c && i < K_LEN; i++) {
			uint64_t v = k_value(&sd, i);

			if (i + 1 == c)
				prefsum[0] = sum;           /* first c - 1 values */
			if (i < c)
				shmstat_hist_record(hk, v);
			sum += v;
			if (i + 1 == c)
				prefsum[1] = sum;           /* first c */
			if (i == c)
				prefsum[2] = sum;           /* first c + 1 */
		}
		assert_int_equal(shmstat_close(seg), 0);
		ref = stress_snap(rname);
	}
	rx = hist_of(ref, "ref_x", "", SHMSTAT_PROC_ALL);
	rk = hist_of(ref, "ref_k", "", SHMSTAT_PROC_ALL);
	hu_assert_same(wpart, rx, 1);
	{
		/* buckets of K's first c values; the sum may miss (or hold) the
		 * one record K was in when it died */
		struct shmstat_hstats sk = stats_of(rk);
		size_t nb = shmstat_hdata_buckets(gone);

		assert_int_equal(sk.count, c);
		assert_int_equal(sk.min, K_MIN);
		assert_int_equal(sk.max, K_MAX);
		for (size_t b = 0; b < nb; b++) {
			uint64_t lo, hi, n1, n2;

			assert_int_equal(shmstat_hdata_bucket(gone, b, &lo, &hi, &n1), 0);
			assert_int_equal(shmstat_hdata_bucket(rk, b, &lo, &hi, &n2), 0);
			if (n1 != n2)
				fail_msg("K's bucket %zu [%llu, %llu]: %llu after gc, %llu in its "
					 "first %llu values", b, (unsigned long long)lo,
					 (unsigned long long)hi, (unsigned long long)n1,
					 (unsigned long long)n2, (unsigned long long)c);
		}
		if (st.sum != prefsum[0] && st.sum != prefsum[1] &&
		    !(c < K_LEN && st.sum == prefsum[2]))
			fail_msg("K's sum %llu is not that of its first %llu values (%llu), "
				 "nor of one value less or more", (unsigned long long)st.sum,
				 (unsigned long long)c, (unsigned long long)prefsum[1]);
	}
	/* the total: X and K's values together */
	sx = stats_of(rx);
	st = stats_of(all);
	assert_int_equal(st.count, NX + c);
	assert_int_equal(st.min, sx.min < K_MIN ? sx.min : K_MIN);
	assert_int_equal(st.max, sx.max > K_MAX ? sx.max : K_MAX);

	shmstat_hdata_free(rk);
	shmstat_hdata_free(rx);
	shmstat_hdata_free(wpart);
	shmstat_hdata_free(all);
	shmstat_hdata_free(gone);
	shmstat_hdata_free(kpart);
	shmstat_snap_free(ref);
	shmstat_snap_free(s);

	close(go[1]);
	assert_int_equal(stress_wait(wpid), 0);
	close(done[0]);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_killed, stress_setup, stress_teardown),
		cmocka_unit_test_setup_teardown(test_merged, stress_setup, stress_teardown),
		cmocka_unit_test_setup_teardown(test_merged_shared, stress_setup, stress_teardown),
		cmocka_unit_test_setup_teardown(test_readers, stress_setup, stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests_name("hist_mp", tests, NULL, NULL);
}
