/*
 * test_sig_hh.c - heavy hitters, the acceptance test of issue 11: Zipf
 * streams with s = 0.8, 1.0 and 1.3 over HH_KEYS distinct keys, HH_EVENTS
 * events (all hits), tables of capacity HH_CAP, fed
 *   single: by one thread, and
 *   multi:  by HH_PROCS processes x HH_THREADS threads, each thread a
 *           deterministic share of the same stream (blocks of 4096
 *           events, block b to thread b % (HH_PROCS * HH_THREADS)), with
 *           a pool of exactly that many summaries.
 * The stream is precomputed (key ids drawn by Walker's alias method from
 * a fixed seed, rank r being key (r * 7919) % HH_KEYS), with every key's
 * text "hh-<id>" and hash (shmstat_sig_hash()), in memory mapped shared
 * before any fork; writers call shmstat_sig_hit_hash() with the hash.
 * The truth is the tally of the whole stream.
 *
 * Checked (single: at the end; multi: when every writer is done, still
 * attached, and again once they all detached, their summaries merged into
 * the grave):
 *  - every listed key within its bounds, every key not listed at most
 *    max_error, max_error <= error_bound = N / C (nothing unsummarized),
 *    the largest error of a listed key <= N / C (su_check, sig_util.h);
 *  - top-10 recall 1.0 and top-100 recall >= 0.99 by BY_HITS (guaranteed
 *    hits), a listed key counting as found when its true count is at
 *    least the true k-th largest (ties are no loss);
 *  - totals exact; multi: HH_PROCS * HH_THREADS summaries and the grave
 *    merged while attached, the grave alone after.
 * Next to ours, a plain single-threaded Space-Saving of the same capacity
 * (a min-heap of C counters) runs on the whole stream; its recall and
 * largest error are printed with ours.
 *
 * Builds (tests/sig/meson.build):
 *   sig_hh           the full size (20M events, 200,000 keys, C = 4096),
 *                    both parts, against the plain library: suites sig,
 *                    slow;
 *   sig_hh_small     the single part at 2M events, 50,000 keys, C = 4096,
 *                    against ASan+UBSan: suites unit, sig;
 *   sig_hh_small_mp  the multi part at 1M events, 50,000 keys, C = 4096,
 *                    against ThreadSanitizer: suites stress, sig.
 * The small sizes keep C * P(100th key) above 1, as the full size does
 * (the 100th key's count above N / C): recall is asserted at all sizes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stress_common.h"
#include "sig_util.h"

#ifndef HH_EVENTS
#define HH_EVENTS 20000000u
#endif
#ifndef HH_KEYS
#define HH_KEYS 200000u
#endif
#ifndef HH_CAP
#define HH_CAP 4096u
#endif
#ifndef HH_PROCS
#define HH_PROCS 4u
#endif
#ifndef HH_THREADS
#define HH_THREADS 2u
#endif
/* 1: the single-thread part, 2: the multi-process part */
#ifndef HH_PARTS
#define HH_PARTS 3
#endif
#define HH_WRITERS (HH_PROCS * HH_THREADS)
#define HH_BLOCK 4096u
#define METRIC "sig_hh"

static const double zipf_s[] = { 0.8, 1.0, 1.3 };

/* Shared with the writers (mapped before the forks). */
struct stream {
	uint32_t *id;              /* HH_EVENTS key ids */
	char (*key)[16];           /* HH_KEYS keys */
	uint32_t *len;
	uint64_t *hash;
};

static struct stream st;
static uint64_t *truth;        /* hits of every key */
static uint64_t *zeros;        /* misses: none */
static struct su_truth tx;

static void *shared(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static int setup(void **state)
{
	st.id = shared((size_t)HH_EVENTS * sizeof(*st.id));
	st.key = shared((size_t)HH_KEYS * sizeof(*st.key));
	st.len = shared((size_t)HH_KEYS * sizeof(*st.len));
	st.hash = shared((size_t)HH_KEYS * sizeof(*st.hash));
	truth = calloc(HH_KEYS, sizeof(*truth));
	zeros = calloc(HH_KEYS, sizeof(*zeros));
	assert_non_null(truth);
	assert_non_null(zeros);
	for (uint32_t i = 0; i < HH_KEYS; i++) {
		st.len[i] = (uint32_t)snprintf(st.key[i], sizeof(st.key[i]), "hh-%u", i);
		st.hash[i] = shmstat_sig_hash(st.key[i], st.len[i]);
	}
	memset(&tx, 0, sizeof(tx));
	tx.n = HH_KEYS;
	tx.hash = st.hash;
	tx.hits_lo = truth;
	tx.misses_lo = zeros;
	tx.w_lo = truth;                 /* every hit weighs 1 */
	tx.key = NULL;
	assert_int_equal(su_map_init(&tx.map, st.hash, HH_KEYS), 0);
	return stress_setup(state);
}

static int teardown(void **state)
{
	munmap(st.id, (size_t)HH_EVENTS * sizeof(*st.id));
	munmap(st.key, (size_t)HH_KEYS * sizeof(*st.key));
	munmap(st.len, (size_t)HH_KEYS * sizeof(*st.len));
	munmap(st.hash, (size_t)HH_KEYS * sizeof(*st.hash));
	free(truth);
	free(zeros);
	su_map_free(&tx.map);
	return stress_teardown(state);
}

/* The stream of Zipf(@s) and its tally. */
static void make_stream(double s)
{
	struct su_zipf z;
	uint64_t seed = 0x5eedf00dULL ^ (uint64_t)(s * 1000);

	assert_int_equal(su_zipf_init(&z, HH_KEYS, s), 0);
	memset(truth, 0, HH_KEYS * sizeof(*truth));
	for (uint32_t i = 0; i < HH_EVENTS; i++) {
		uint32_t id = (uint32_t)((uint64_t)su_zipf_draw(&z, &seed) * 7919u % HH_KEYS);

		st.id[i] = id;
		truth[id]++;
	}
	su_zipf_free(&z);
}

static struct shmstat_sigtab_opts table_opts(void)
{
	return su_topts(HH_CAP, 16, 0, HH_WRITERS, 0);
}

static struct shmstat_opts seg_opts(void)
{
	struct shmstat_opts o;
	struct shmstat_sigtab_opts to = table_opts();

	shmstat_opts_init(&o);
	o.max_procs = HH_PROCS + 2;
	o.max_metrics = 8;
	o.max_values = 64;
	o.max_threads = HH_WRITERS + 2;
	o.max_stacks = 0;
	o.max_modules = 64;
	o.sig_bytes = shmstat_sigtab_bytes(&to);
	return o;
}

/* Events of the blocks of writer @g (of @writers) into @t. */
static void feed(shmstat_sigtab *t, uint32_t g, uint32_t writers)
{
	for (uint64_t b = g; b * HH_BLOCK < HH_EVENTS; b += writers) {
		uint32_t end = (uint32_t)((b + 1) * HH_BLOCK < HH_EVENTS ? (b + 1) * HH_BLOCK :
					  HH_EVENTS);

		for (uint32_t i = (uint32_t)(b * HH_BLOCK); i < end; i++) {
			uint32_t id = st.id[i];

			shmstat_sig_hit_hash(t, st.hash[id], st.key[id], st.len[id], 1, 0);
		}
	}
}

/* --------------------------------------------- the reference: a min-heap */
#if HH_PARTS & 1

struct ctr {
	uint64_t count, err;
	uint32_t id;
};

struct ref {
	struct ctr *h;             /* min-heap by count */
	uint32_t n;
	int32_t *pos;              /* key -> heap index, -1 */
};

static void ref_swap(struct ref *r, uint32_t a, uint32_t b)
{
	struct ctr t = r->h[a];

	r->h[a] = r->h[b];
	r->h[b] = t;
	r->pos[r->h[a].id] = (int32_t)a;
	r->pos[r->h[b].id] = (int32_t)b;
}

static void ref_down(struct ref *r, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, m = i;

		if (l < r->n && r->h[l].count < r->h[m].count)
			m = l;
		if (l + 1 < r->n && r->h[l + 1].count < r->h[m].count)
			m = l + 1;
		if (m == i)
			return;
		ref_swap(r, i, m);
		i = m;
	}
}

static void ref_up(struct ref *r, uint32_t i)
{
	while (i > 0 && r->h[(i - 1) / 2].count > r->h[i].count) {
		ref_swap(r, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void ref_run(struct ref *r)
{
	r->h = calloc(HH_CAP, sizeof(*r->h));
	r->pos = malloc(HH_KEYS * sizeof(*r->pos));
	r->n = 0;
	assert_non_null(r->h);
	assert_non_null(r->pos);
	for (uint32_t i = 0; i < HH_KEYS; i++)
		r->pos[i] = -1;
	for (uint32_t i = 0; i < HH_EVENTS; i++) {
		uint32_t id = st.id[i];

		if (r->pos[id] >= 0) {
			r->h[r->pos[id]].count++;
			ref_down(r, (uint32_t)r->pos[id]);
		} else if (r->n < HH_CAP) {
			r->h[r->n] = (struct ctr){ 1, 0, id };
			r->pos[id] = (int32_t)r->n;
			ref_up(r, r->n++);
		} else {
			r->pos[r->h[0].id] = -1;
			r->h[0].err = r->h[0].count;
			r->h[0].count++;
			r->h[0].id = id;
			r->pos[id] = 0;
			ref_down(r, 0);
		}
	}
}

static int ref_order(const void *a, const void *b)
{
	const struct ctr *x = a, *y = b;
	uint64_t gx = x->count - x->err, gy = y->count - y->err;

	if (gx != gy)
		return gx > gy ? -1 : 1;
	return (x->count < y->count) - (x->count > y->count);
}

/* The reference's top-@k recall (by guaranteed count) and largest error;
 * its own bounds checked. */
static void ref_report(struct ref *r, double *r10, double *r100, uint64_t *max_err)
{
	uint64_t c10 = su_kth(truth, HH_KEYS, 10), c100 = su_kth(truth, HH_KEYS, 100);
	uint32_t g10 = 0, g100 = 0;

	*max_err = 0;
	for (uint32_t j = 0; j < r->n; j++) {
		const struct ctr *c = &r->h[j];

		assert_true(c->count - c->err <= truth[c->id] && truth[c->id] <= c->count);
		if (c->err > *max_err)
			*max_err = c->err;
	}
	qsort(r->h, r->n, sizeof(*r->h), ref_order);
	for (uint32_t j = 0; j < 100 && j < r->n; j++) {
		g10 += j < 10 && truth[r->h[j].id] >= c10;
		g100 += truth[r->h[j].id] >= c100;
	}
	*r10 = g10 / 10.0;
	*r100 = g100 / 100.0;
	free(r->h);
	free(r->pos);
}
#endif

/* ------------------------------------------------------------ checking */

struct outcome {
	double r10, r100;
	uint64_t max_err, max_error;
};

static void check(const char *name, const char *when, uint32_t summaries, struct outcome *out)
{
	shmstat_snap *s = stress_snap(name);
	shmstat_sigview *v = su_view(s, METRIC);
	struct shmstat_sigstats sst;
	struct su_res r;

	assert_non_null(v);
	shmstat_sigview_stats(v, &sst);
	if (su_check(v, &tx, SU_QUIESCENT, when, &r) != 0)
		fail_msg("%s: %llu bounds violated", when, (unsigned long long)r.bad);
	assert_int_equal(sst.hits, HH_EVENTS);
	assert_int_equal(sst.misses, 0);
	assert_int_equal(sst.weight, HH_EVENTS);
	assert_int_equal(sst.unsummarized, 0);
	assert_int_equal(sst.skipped, 0);
	assert_int_equal(sst.summaries, summaries);
	assert_int_equal(sst.error_bound, HH_EVENTS / HH_CAP);
	out->r10 = su_recall(v, SHMSTAT_BY_HITS, &tx.map, truth, HH_KEYS, 10);
	out->r100 = su_recall(v, SHMSTAT_BY_HITS, &tx.map, truth, HH_KEYS, 100);
	out->max_err = r.max_err;
	out->max_error = sst.max_error;
	print_message("  %-28s %5u keys listed, %8llu evictions, top-10 recall %.2f, top-100 "
		      "recall %.2f, largest error %llu, max_error %llu (N/C %u)\n", when, sst.used,
		      (unsigned long long)sst.evictions, out->r10, out->r100,
		      (unsigned long long)r.max_err, (unsigned long long)sst.max_error,
		      HH_EVENTS / HH_CAP);
	if (r.max_err > HH_EVENTS / HH_CAP)
		fail_msg("%s: a listed key's error is %llu, above N/C = %u", when,
			 (unsigned long long)r.max_err, HH_EVENTS / HH_CAP);
	if (out->r10 != 1.0 || out->r100 < 0.99)
		fail_msg("%s: top-10 recall %.2f (must be 1), top-100 recall %.2f (must be >= 0.99)",
			 when, out->r10, out->r100);
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
}

/* ------------------------------------------------------------- writers */
#if HH_PARTS & 2

struct wr {
	const char *name;
	uint32_t p;
	int done_fd, go_fd, other[2];
};

struct wth {
	shmstat_sigtab *t;
	uint32_t g;
	pthread_barrier_t *bar;
};

static void *writer_thread(void *arg)
{
	const struct wth *w = arg;

	feed(w->t, w->g, HH_WRITERS);
	/* no thread exits before all have fed: each holds a stripe (and a
	 * summary) of its own, however the threads run */
	pthread_barrier_wait(w->bar);
	return NULL;
}

static int writer_main(void *arg)
{
	const struct wr *w = arg;
	struct shmstat_metric_def def = { .name = METRIC };
	struct shmstat_sigtab_opts o = table_opts();
	struct wth wt[HH_THREADS];
	pthread_t th[HH_THREADS];
	pthread_barrier_t bar;
	shmstat_seg *seg;
	shmstat_sigtab *t;
	char c;

	close(w->other[0]);
	close(w->other[1]);
	CHILD_CHECK(shmstat_open(w->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_sigtab_register(seg, &def, &o, &t) == 0);
	CHILD_CHECK(pthread_barrier_init(&bar, NULL, HH_THREADS) == 0);
	for (uint32_t i = 0; i < HH_THREADS; i++) {
		wt[i] = (struct wth){ t, w->p * HH_THREADS + i, &bar };
		CHILD_CHECK(pthread_create(&th[i], NULL, writer_thread, &wt[i]) == 0);
	}
	for (uint32_t i = 0; i < HH_THREADS; i++)
		CHILD_CHECK(pthread_join(th[i], NULL) == 0);
	CHILD_CHECK(stress_write(w->done_fd, "d", 1) == 0);
	CHILD_CHECK(stress_read(w->go_fd, &c, 1) == 0);       /* EOF: detach */
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}
#endif

/* ---------------------------------------------------------------- parts */

#if HH_PARTS & 1
static void test_single(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(zipf_s) / sizeof(zipf_s[0]); k++) {
		const char *name = stress_name("sighh");
		struct shmstat_opts so = seg_opts();
		struct shmstat_sigtab_opts o = table_opts();
		struct shmstat_metric_def def = { .name = METRIC };
		shmstat_seg *seg = NULL;
		shmstat_sigtab *t = NULL;
		struct outcome ours;
		struct ref ref;
		double r10, r100;
		uint64_t rerr;

		make_stream(zipf_s[k]);
		print_message("zipf %.1f, %u keys, %u events, C = %u, one thread:\n", zipf_s[k],
			      HH_KEYS, HH_EVENTS, HH_CAP);
		assert_int_equal(shmstat_open(name, &so, &seg), 0);
		assert_int_equal(shmstat_sigtab_register(seg, &def, &o, &t), 0);
		feed(t, 0, 1);
		check(name, "ours:", 2, &ours);
		assert_int_equal(shmstat_close(seg), 0);
		ref_run(&ref);
		ref_report(&ref, &r10, &r100, &rerr);
		print_message("  %-28s %5u keys listed, %8s evictions, top-10 recall %.2f, top-100 "
			      "recall %.2f, largest error %llu\n", "plain Space-Saving:", HH_CAP,
			      "", r10, r100, (unsigned long long)rerr);
	}
}
#endif

#if HH_PARTS & 2
static void test_multi(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(zipf_s) / sizeof(zipf_s[0]); k++) {
		const char *name = stress_name("sighh");
		struct shmstat_opts so = seg_opts();
		struct wr w[HH_PROCS];
		pid_t pid[HH_PROCS];
		int done[2], go[2];
		struct outcome a, b;
		unsigned reaped = 0;

		make_stream(zipf_s[k]);
		print_message("zipf %.1f, %u keys, %u events, C = %u, %u processes x %u threads:\n",
			      zipf_s[k], HH_KEYS, HH_EVENTS, HH_CAP, HH_PROCS, HH_THREADS);
		stress_create(name, &so);
		stress_pipe(done);
		stress_pipe(go);
		for (uint32_t p = 0; p < HH_PROCS; p++) {
			w[p] = (struct wr){ .name = name, .p = p, .done_fd = done[1],
					    .go_fd = go[0], .other = { done[0], go[1] } };
			pid[p] = stress_spawn(writer_main, &w[p]);
		}
		close(done[1]);
		close(go[0]);
		for (uint32_t p = 0; p < HH_PROCS; p++)
			stress_expect(done[0], pid[p]);
		check(name, "writers attached:", HH_WRITERS + 1, &a);
		close(go[1]);
		for (uint32_t p = 0; p < HH_PROCS; p++)
			assert_int_equal(stress_wait(pid[p]), 0);
		close(done[0]);
		assert_int_equal(shmstat_gc(name, &reaped), 0);
		check(name, "merged into the grave:", 1, &b);
	}
}
#endif

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#if HH_PARTS & 1
		cmocka_unit_test_setup_teardown(test_single, setup, teardown),
#endif
#if HH_PARTS & 2
		cmocka_unit_test_setup_teardown(test_multi, setup, teardown),
#endif
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests_name("sig_hh", tests, NULL, NULL);
}
