/*
 * bench_hist.c - cost of shmstat_hist_record() and of a 7-quantile query
 * against baselines measured in the same run (DESIGN.md, "Benchmark
 * output"; issue 3, "Benchmark").
 *
 * Record variants, each with 1 thread and with 2 threads started together
 * at a barrier. Every variant that takes a value reads it from the same
 * precomputed per-thread array (4096 lognormal latencies around 20 us, in
 * ns, index masked), so generating values costs nothing in the loop:
 *   hist_record           shmstat_hist_record(h, v): each thread writes its
 *                         own stripe of one histogram (default layout,
 *                         7 bits)
 *   counter_inc           shmstat_counter_inc() on a counter of the same
 *                         segment: the unit of the target
 *   counter_add_value     shmstat_counter_add(c, v), v read from the value
 *                         array: the loop shape of hist_record around the
 *                         cheapest update (informative, no target)
 *   shared_atomic_buckets one shared bucket array (the library's
 *                         log-linear bucket function, 7 bits) and a sum,
 *                         updated with relaxed __atomic_fetch_add
 *   mutex_samples         a mutex-protected growable array of samples,
 *                         appended under the lock (sized before each
 *                         measurement: no realloc in the timed loop)
 *   own_slot              relaxed load + store on a thread-private,
 *                         128-byte aligned uint64: tells whether the run
 *                         got 2 CPUs (informative)
 *
 * Query: the same 1,000,000 samples go into a second histogram and into the
 * mutex_samples array; then
 *   hist_quantiles        shmstat_hdata_quantiles() of 7 quantiles (p50,
 *                         p90, p95, p99, p99.9, p99.99, max) on an hdata
 *                         taken from a snapshot, against
 *   mutex_samples_sort    copy the samples under the lock, qsort the copy,
 *                         pick the same 7 ranks
 *   hist_snapshot         shmstat_snapshot() + finding the metric +
 *                         shmstat_snap_hist() (informative)
 *
 * Iteration counts are fixed once per run by a short calibration, so that
 * one measurement lasts about 0.2 s (0.02 s with --quick). Every
 * measurement is repeated (5 times, 3 with --quick), the variants
 * alternating, and the median kept: the machine is shared and noisy. The
 * per-thread cost of a record variant is the wall time of the slowest
 * thread / iterations.
 *
 * Whether 2 threads really had 2 CPUs is checked twice, with a warning on
 * stderr when not: the own_slot variant must scale 1.8x or more, and in
 * the median 2-thread hist_record run each thread must have been on a CPU
 * for 90% of its wall time (CLOCK_THREAD_CPUTIME_ID; the "cpu_share" of
 * the hist_record_scaling line).
 *
 * Output: one JSON object per line on stdout. Lines with a "target" say
 * whether it was "met"; a missed target never fails the process. The exit
 * status is non-zero only when the benchmark could not run or a recorded
 * value was lost: at the end the histogram is read back through a reader
 * snapshot and compared bucket by bucket (and count, sum) with what the
 * loops recorded; the counters and baselines are checked likewise.
 *
 * Usage: bench_hist [--quick]
 * With BENCH_VERBOSE=1 in the environment, every single measurement and
 * the iteration counts go to stderr.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "shmstat.h"

#ifndef BENCH_LINK
#define BENCH_LINK "static"   /* how libshmstat is linked into this binary */
#endif

#define MAX_THREADS 2
#define MAX_REPS 5
#define WARMUP 1000u          /* untimed updates per thread before the start */

#define TARGET_NS 2e8           /* one measurement: 0.2 s, --quick 0.02 s */
#define MIN_ITERS 10000u
#define MAX_ITERS 4000000000u

#define NVALS 4096u             /* values per thread, a power of two */
#define VMASK (NVALS - 1)
#define MEDIAN_NS 20000.0       /* lognormal latencies: median 20 us */
#define SIGMA 0.8               /* ... and log-space spread */

#define HBITS 7u                                  /* default layout */
#define HHIGHEST UINT64_C(3600000000000)          /* 1 h in ns */
#define NBMAX 4096u                               /* >= buckets of the layout */

#define QSAMPLES 1000000u       /* samples behind the quantile query */
#define NQ 7

static const double qs[NQ] = { 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0 };

enum variant { V_HIST, V_COUNTER, V_ADDV, V_ATOMIC, V_MUTEX, V_OWN, V_COUNT };

static const char *const vname[V_COUNT] = {
	"hist_record", "counter_inc", "counter_add_value", "shared_atomic_buckets",
	"mutex_samples", "own_slot",
};

/* ------------------------------------------------------------ the values */

static _Alignas(128) uint64_t vals[MAX_THREADS][NVALS];
static uint32_t vbucket[MAX_THREADS][NVALS];      /* bucket of each value */
static uint64_t vprefix[MAX_THREADS][NVALS + 1];  /* prefix sums mod 2^64 */

/* The log-linear bucket of histogram.h (shmstat__bucket_of), copied. */
static inline uint32_t bucket_of(uint64_t v, unsigned m)
{
	unsigned g;

	if (v < (UINT64_C(1) << m))
		return (uint32_t)v;
	g = (unsigned)(63 - __builtin_clzll(v)) - m + 1;
	return (uint32_t)(((uint64_t)g << (m - 1)) + (v >> g));
}

static uint64_t rng_state;

static uint64_t rng_next(void)           /* xorshift64* */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static double rng_unit(void)             /* (0, 1) */
{
	return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

static void make_values(void)
{
	for (int t = 0; t < MAX_THREADS; t++) {
		rng_state = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(t + 1);
		vprefix[t][0] = 0;
		for (unsigned k = 0; k < NVALS; k++) {
			double z = sqrt(-2 * log(rng_unit())) * cos(6.283185307179586 * rng_unit());
			double x = MEDIAN_NS * exp(SIGMA * z);
			uint64_t v = x < 1 ? 1 : x > (double)HHIGHEST ? HHIGHEST : (uint64_t)x;

			vals[t][k] = v;
			vbucket[t][k] = bucket_of(v, HBITS);
			vprefix[t][k + 1] = vprefix[t][k] + v;
		}
	}
}

/* Sum of the first @n values thread @idx records (index masked). */
static uint64_t vsum(int idx, uint64_t n)
{
	return (n / NVALS) * vprefix[idx][NVALS] + vprefix[idx][n % NVALS];
}

/* Add to @ref the buckets of the first @n values of thread @idx. */
static void ref_add(uint64_t *ref, int idx, uint64_t n)
{
	uint64_t whole = n / NVALS, rest = n % NVALS;

	for (unsigned k = 0; k < NVALS; k++)
		ref[vbucket[idx][k]] += whole + (k < rest);
}

/* ------------------------------------------------------------ the state */

struct line {
	_Alignas(128) uint64_t v;
};

static shmstat_hist *hist, *hist_q;
static shmstat_counter *ctr, *ctr_v;

static struct line own_slot[MAX_THREADS];

/* baseline (a): one shared bucket array and sum */
static _Alignas(128) uint64_t sab_bucket[NBMAX];
static struct line sab_sum;

/* baseline (b): a mutex-protected growable array of samples */
static struct {
	pthread_mutex_t lock;
	uint64_t *a;
	size_t len, cap;
} ms = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* What everything must hold at the end, to check nothing was lost. */
static uint64_t ref_hist[NBMAX], ref_hist_sum, ref_hist_n;
static uint64_t ref_sab[NBMAX], ref_sab_sum;
static uint64_t expect_ctr, expect_ctr_v, expect_own;
static int lost;

static char seg_name[64];
static char seg_path[128];
static int verb;

static void die_oom(void)
{
	fprintf(stderr, "bench_hist: out of memory\n");
	exit(1);
}

/* Room for @n samples, pages touched: outside the timed loops. */
static void ms_reserve(size_t n)
{
	uint64_t *a;

	if (ms.cap >= n)
		return;
	a = realloc(ms.a, n * sizeof(*a));
	if (a == NULL)
		die_oom();
	memset(a + ms.cap, 0, (n - ms.cap) * sizeof(*a));
	ms.a = a;
	ms.cap = n;
}

static void ms_append(uint64_t v)
{
	pthread_mutex_lock(&ms.lock);
	if (__builtin_expect(ms.len == ms.cap, 0)) {
		size_t cap = ms.cap ? 2 * ms.cap : 1024;
		uint64_t *a = realloc(ms.a, cap * sizeof(*a));

		if (a == NULL)
			die_oom();
		ms.a = a;
		ms.cap = cap;
	}
	ms.a[ms.len++] = v;
	pthread_mutex_unlock(&ms.lock);
}

/* ------------------------------------------------------------ the loops */

static __attribute__((noinline)) void loop_hist(const uint64_t *v, uint64_t n)
{
	shmstat_hist *h = hist;

	for (uint64_t i = 0; i < n; i++)
		shmstat_hist_record(h, v[i & VMASK]);
}

static __attribute__((noinline)) void loop_counter(uint64_t n)
{
	shmstat_counter *c = ctr;

	for (uint64_t i = 0; i < n; i++)
		shmstat_counter_inc(c);
}

static __attribute__((noinline)) void loop_addv(const uint64_t *v, uint64_t n)
{
	shmstat_counter *c = ctr_v;

	for (uint64_t i = 0; i < n; i++)
		shmstat_counter_add(c, v[i & VMASK]);
}

static __attribute__((noinline)) void loop_atomic(const uint64_t *v, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t x = v[i & VMASK];

		__atomic_fetch_add(&sab_bucket[bucket_of(x, HBITS)], 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&sab_sum.v, x, __ATOMIC_RELAXED);
	}
}

static __attribute__((noinline)) void loop_mutex(const uint64_t *v, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		ms_append(v[i & VMASK]);
}

static __attribute__((noinline)) void loop_own(uint64_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1,
				 __ATOMIC_RELAXED);
}

static void run_loop(enum variant v, int idx, uint64_t n)
{
	const uint64_t *vv = vals[idx];

	switch (v) {
	case V_HIST: loop_hist(vv, n); break;
	case V_COUNTER: loop_counter(n); break;
	case V_ADDV: loop_addv(vv, n); break;
	case V_ATOMIC: loop_atomic(vv, n); break;
	case V_MUTEX: loop_mutex(vv, n); break;
	case V_OWN: loop_own(&own_slot[idx].v, n); break;
	default: break;
	}
}

/* ------------------------------------------------------------ threads */

static void run_v(int v, int idx, uint64_t n)
{
	run_loop((enum variant)v, idx, n);
}

/* What the threads of one measurement recorded, for the final checks. */
static void account(enum variant v, int nt, uint64_t iters)
{
	uint64_t n = 0, sum = 0;

	for (int i = 0; i < nt; i++) {
		switch (v) {
		case V_HIST:
			ref_add(ref_hist, i, WARMUP);
			ref_add(ref_hist, i, iters);
			ref_hist_sum += vsum(i, WARMUP) + vsum(i, iters);
			ref_hist_n += WARMUP + iters;
			break;
		case V_ATOMIC:
			ref_add(ref_sab, i, WARMUP);
			ref_add(ref_sab, i, iters);
			ref_sab_sum += vsum(i, WARMUP) + vsum(i, iters);
			break;
		case V_COUNTER: expect_ctr += WARMUP + iters; break;
		case V_ADDV: expect_ctr_v += vsum(i, WARMUP) + vsum(i, iters); break;
		case V_OWN: expect_own += WARMUP + iters; break;
		case V_MUTEX:
			n += WARMUP + iters;
			sum += vsum(i, WARMUP) + vsum(i, iters);
			break;
		default: break;
		}
	}
	if (v == V_MUTEX) {
		uint64_t got = 0;

		for (size_t k = 0; k < ms.len; k++)
			got += ms.a[k];
		if (ms.len != n || got != sum) {
			fprintf(stderr, "bench_hist: mutex_samples holds %zu samples (sum %llu), "
				"expected %llu (sum %llu)\n", ms.len, (unsigned long long)got,
				(unsigned long long)n, (unsigned long long)sum);
			lost = 1;
		}
		ms.len = 0;        /* the pages stay: the next run reuses them */
	}
}

/* Run variant @v on @nt threads; return ns per operation per thread.
 * @share, if not NULL, receives the smallest share of its wall time a
 * thread spent on a CPU (about 1 when every thread had a CPU of its own;
 * the mutex baseline sleeps, so its share says nothing). */
static double measure(enum variant v, int nt, uint64_t iters, double *share)
{
	double ns;

	if (v == V_MUTEX)
		ms_reserve((size_t)nt * (iters + WARMUP));
	ns = bench_threads(run_v, v, nt, WARMUP, iters, share);
	account(v, nt, iters);
	return ns;
}

/* Iterations for @v on @nt threads so that one run lasts about @want ns. */
struct calib {
	enum variant v;
	int nt;
};

static double calib_op(void *ctx, uint64_t n)
{
	const struct calib *c = ctx;

	return measure(c->v, c->nt, n, NULL);
}

static uint64_t calibrate(enum variant v, int nt, double want)
{
	struct calib c = { v, nt };

	return bench_calibrate(calib_op, &c, want, MIN_ITERS, MAX_ITERS);
}

/* ------------------------------------------------------------ queries */

enum query { Q_HIST, Q_SORT, Q_SNAP, Q_COUNT };

static const char *const qname[Q_COUNT] = {
	"hist_quantiles", "mutex_samples_sort", "hist_snapshot",
};

static shmstat_reader *rdr;
static shmstat_hdata *hq;              /* hist_q, from a snapshot */
static uint64_t q_sink;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Index of metric @name in @s, or SIZE_MAX. */
static size_t find_metric(const shmstat_snap *s, const char *name)
{
	struct shmstat_metric_info mi;

	for (size_t i = 0; i < shmstat_snap_metrics(s); i++)
		if (shmstat_snap_metric(s, i, &mi) == 0 && strcmp(mi.name, name) == 0)
			return i;
	return SIZE_MAX;
}

/* The naive approach's query: copy under the lock, sort, pick ranks. */
static void sort_query(uint64_t *out)
{
	uint64_t *c;
	size_t n;

	pthread_mutex_lock(&ms.lock);
	n = ms.len;
	c = malloc(n * sizeof(*c));
	if (c == NULL)
		die_oom();
	memcpy(c, ms.a, n * sizeof(*c));
	pthread_mutex_unlock(&ms.lock);
	qsort(c, n, sizeof(*c), cmp_u64);
	for (int k = 0; k < NQ; k++) {
		double r = qs[k] * (double)n;
		size_t rank = r <= 1 ? 1 : (size_t)ceil(r);

		out[k] = c[(rank > n ? n : rank) - 1];
	}
	free(c);
}

/* One reader's look at the histogram: snapshot, find, private copy. */
static int snap_query(void)
{
	shmstat_snap *s;
	shmstat_hdata *h = NULL;
	size_t i;
	int err = shmstat_snapshot(rdr, &s);

	if (err)
		return err;
	i = find_metric(s, "bench_hist_query_ns");
	err = i == SIZE_MAX ? ENOENT : shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &h);
	shmstat_hdata_free(h);
	shmstat_snap_free(s);
	return err;
}

/* Run query @q @k times; return ns per call. */
static double run_query(enum query q, uint64_t k)
{
	uint64_t out[NQ];
	double t0 = now_ns();

	for (uint64_t i = 0; i < k; i++) {
		switch (q) {
		case Q_HIST:
			if (shmstat_hdata_quantiles(hq, qs, NQ, out) != 0) {
				fprintf(stderr, "bench_hist: shmstat_hdata_quantiles failed\n");
				exit(1);
			}
			q_sink += out[0];
			break;
		case Q_SORT:
			sort_query(out);
			q_sink += out[0];
			break;
		case Q_SNAP:
			if (snap_query() != 0) {
				fprintf(stderr, "bench_hist: snapshot failed: %s\n",
					shmstat_last_error());
				exit(1);
			}
			break;
		default: break;
		}
	}
	return (now_ns() - t0) / (double)k;
}

static uint64_t calibrate_query(enum query q, double want)
{
	uint64_t k = 1;
	double per;

	for (;;) {
		per = run_query(q, k);
		if (per * (double)k >= want / 20 || k >= (UINT64_C(1) << 40))
			break;
		k *= 4;
	}
	per = want / (per > 1 ? per : 1);
	return per < 1 ? 1 : (uint64_t)per;
}

/* ------------------------------------------------------------ results */

/* {"bench":..,"link":..,"threads":..,"ns_per_op":..,"baseline":..,
 *  "baseline_ns_per_op":..,"ratio"|"speedup":..[,target,met]} */
static void print_vs(enum variant what, int nt, double ns, enum variant base, double base_ns,
		     int as_ratio, const char *target, int met)
{
	printf("{\"bench\":\"%s\",\"link\":\"%s\",\"threads\":%d,"
	       "\"ns_per_op\":%.2f,\"baseline\":\"%s\",\"baseline_ns_per_op\":%.2f,",
	       vname[what], BENCH_LINK, nt, ns, vname[base], base_ns);
	if (as_ratio)
		printf("\"ratio\":%.2f", div0(ns, base_ns));
	else
		printf("\"speedup\":%.2f", div0(base_ns, ns));
	if (target)
		printf(",\"target\":\"%s\",\"met\":%s", target, jbool(met));
	printf("}\n");
}

/* @share: the cpu_share field, left out when negative */
static void print_scaling(enum variant v, double t1, double t2, const char *target, int met,
			  double share)
{
	printf("{\"bench\":\"%s_scaling\",\"link\":\"%s\",\"threads\":2,"
	       "\"throughput_mops\":%.1f,\"baseline\":\"%s_1thread\","
	       "\"baseline_throughput_mops\":%.1f,\"scaling\":%.2f",
	       vname[v], BENCH_LINK, t2, vname[v], t1, div0(t2, t1));
	if (share >= 0)
		printf(",\"cpu_share\":%.2f", share);
	if (target)
		printf(",\"target\":\"%s\",\"met\":%s", target, jbool(met));
	printf("}\n");
}

/* Read everything back through a reader snapshot and compare it with what
 * the loops recorded. */
static void check_recorded(void)
{
	shmstat_snap *s;
	shmstat_hdata *h = NULL;
	struct shmstat_hstats st;
	struct shmstat_metric_info mi;
	uint64_t own = 0, sab_n = 0, ref_n = 0;
	size_t i;
	int err;

	for (int t = 0; t < MAX_THREADS; t++)
		own += own_slot[t].v;
	for (unsigned b = 0; b < NBMAX; b++) {
		if (sab_bucket[b] != ref_sab[b])
			sab_n++;
		ref_n += ref_hist[b];
	}
	if (own != expect_own || sab_n != 0 || sab_sum.v != ref_sab_sum) {
		fprintf(stderr, "bench_hist: a baseline lost values\n");
		lost = 1;
	}
	if (ref_n != ref_hist_n) {
		fprintf(stderr, "bench_hist: internal error: reference histogram count\n");
		lost = 1;
	}
	err = shmstat_snapshot(rdr, &s);
	if (err) {
		fprintf(stderr, "bench_hist: cannot take a snapshot: %s (%s)\n",
			shmstat_strerror(err), shmstat_last_error());
		lost = 1;
		return;
	}
	i = find_metric(s, "bench_hist_ctr_total");
	if (i == SIZE_MAX || shmstat_snap_metric(s, i, &mi) != 0 || mi.counter != expect_ctr) {
		fprintf(stderr, "bench_hist: counter_inc's counter holds %llu, expected %llu\n",
			i == SIZE_MAX ? 0ull : (unsigned long long)mi.counter,
			(unsigned long long)expect_ctr);
		lost = 1;
	}
	i = find_metric(s, "bench_hist_ctr_value_total");
	if (i == SIZE_MAX || shmstat_snap_metric(s, i, &mi) != 0 || mi.counter != expect_ctr_v) {
		fprintf(stderr, "bench_hist: counter_add_value's counter is wrong\n");
		lost = 1;
	}
	i = find_metric(s, "bench_hist_record_ns");
	if (i == SIZE_MAX || shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &h) != 0) {
		fprintf(stderr, "bench_hist: cannot read the histogram back\n");
		lost = 1;
	} else {
		unsigned bad = 0;

		shmstat_hdata_stats(h, &st);
		for (size_t b = 0; b < shmstat_hdata_buckets(h); b++) {
			uint64_t lo, hi, c;

			if (shmstat_hdata_bucket(h, b, &lo, &hi, &c) != 0 ||
			    c != (b < NBMAX ? ref_hist[b] : 0))
				bad++;
		}
		if (st.count != ref_hist_n || st.sum != ref_hist_sum || st.underflow ||
		    st.overflow || bad) {
			fprintf(stderr, "bench_hist: the histogram holds %llu values (sum %llu, "
				"%u buckets differ), expected %llu (sum %llu)\n",
				(unsigned long long)st.count, (unsigned long long)st.sum, bad,
				(unsigned long long)ref_hist_n, (unsigned long long)ref_hist_sum);
			lost = 1;
		} else if (verb) {
			fprintf(stderr, "bench_hist: the histogram holds all %llu values\n",
				(unsigned long long)st.count);
		}
	}
	shmstat_hdata_free(h);
	shmstat_snap_free(s);
}

static void on_signal(int sig)
{
	unlink(seg_path);          /* async-signal-safe; the segment's file */
	signal(sig, SIG_DFL);
	raise(sig);
}

static void cleanup(shmstat_seg *seg)
{
	shmstat_hdata_free(hq);
	shmstat_reader_close(rdr);
	shmstat_close(seg);
	shmstat_unlink(seg_name);
}

int main(int argc, char **argv)
{
	static const struct shmstat_metric_def def_hist = {
		.name = "bench_hist_record_ns", .help = "values recorded by bench_hist",
		.unit = "nanoseconds",
	};
	static const struct shmstat_metric_def def_q = {
		.name = "bench_hist_query_ns", .help = "the samples of the quantile query",
		.unit = "nanoseconds",
	};
	static const struct shmstat_metric_def def_ctr = {
		.name = "bench_hist_ctr_total", .help = "increments made by bench_hist",
	};
	static const struct shmstat_metric_def def_ctr_v = {
		.name = "bench_hist_ctr_value_total", .help = "values added by bench_hist",
	};
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int reps = quick ? 3 : MAX_REPS;
	double want = quick ? TARGET_NS / 10 : TARGET_NS;
	double ns[V_COUNT][MAX_THREADS + 1][MAX_REPS];
	double share[V_COUNT][MAX_THREADS + 1][MAX_REPS], hist_share;
	double med[V_COUNT][MAX_THREADS + 1];
	uint64_t iters[V_COUNT][MAX_THREADS + 1];
	double qns[Q_COUNT][MAX_REPS], qmed[Q_COUNT];
	uint64_t qiters[Q_COUNT];
	double max_err = 0;
	uint64_t seg_bytes = 0;
	shmstat_seg *seg;
	int err;
	const char *verbose = getenv("BENCH_VERBOSE");

	verb = verbose && *verbose && strcmp(verbose, "0") != 0;
	{
		cpu_set_t cpus;

		if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) < 2)
			fprintf(stderr, "bench_hist: warning: only %d CPU available; "
				"the 2-thread figures will not scale\n", CPU_COUNT(&cpus));
	}
	if (argc > 2 || (argc == 2 && !quick)) {
		fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
		return 2;
	}
	make_values();
	if (bucket_of(HHIGHEST, HBITS) + 1 > NBMAX) {
		fprintf(stderr, "bench_hist: internal error: NBMAX too small\n");
		return 1;
	}
	snprintf(seg_name, sizeof(seg_name), "bench_hist.%ld", (long)getpid());
	snprintf(seg_path, sizeof(seg_path), "/dev/shm/shmstat.%s", seg_name);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	err = shmstat_open(seg_name, NULL, &seg);
	if (err) {
		fprintf(stderr, "bench_hist: cannot create segment %s: %s (%s)\n",
			seg_name, shmstat_strerror(err), shmstat_last_error());
		return 1;
	}
	if ((err = shmstat_hist_register(seg, &def_hist, NULL, &hist)) != 0 ||
	    (err = shmstat_hist_register(seg, &def_q, NULL, &hist_q)) != 0 ||
	    (err = shmstat_counter_register(seg, &def_ctr, &ctr)) != 0 ||
	    (err = shmstat_counter_register(seg, &def_ctr_v, &ctr_v)) != 0 ||
	    (err = shmstat_reader_open(seg_name, &rdr)) != 0) {
		fprintf(stderr, "bench_hist: cannot register the metrics: %s (%s)\n",
			shmstat_strerror(err), shmstat_last_error());
		cleanup(seg);
		return 1;
	}

	/* ---- record */
	for (int nt = 1; nt <= MAX_THREADS; nt++)
		for (int v = 0; v < V_COUNT; v++) {
			iters[v][nt] = calibrate((enum variant)v, nt, want);
			if (verb)
				fprintf(stderr, "%-21s threads %d: %llu iterations\n", vname[v], nt,
					(unsigned long long)iters[v][nt]);
		}
	/* Alternate the variants inside each repetition, so a noisy moment
	 * of the machine hits one repetition of each rather than every
	 * repetition of one. */
	for (int r = 0; r < reps; r++)
		for (int nt = 1; nt <= MAX_THREADS; nt++)
			for (int v = 0; v < V_COUNT; v++) {
				ns[v][nt][r] = measure((enum variant)v, nt, iters[v][nt],
						       &share[v][nt][r]);
				if (verb)
					fprintf(stderr, "rep %d %-21s threads %d: %.3f ns/op, "
						"cpu share %.2f\n", r, vname[v], nt,
						ns[v][nt][r], share[v][nt][r]);
			}
	for (int v = 0; v < V_COUNT; v++)
		for (int nt = 1; nt <= MAX_THREADS; nt++)
			med[v][nt] = median(ns[v][nt], reps);
	hist_share = median(share[V_HIST][2], reps);
	check_recorded();

	/* ---- query: the same samples in hist_q and in the mutex array */
	ms.len = 0;
	ms_reserve(QSAMPLES);
	for (uint32_t i = 0; i < QSAMPLES; i++) {
		uint64_t v = vals[i & 1][(i >> 1) & VMASK];

		ms_append(v);
		shmstat_hist_record(hist_q, v);
	}
	{
		shmstat_snap *s;
		struct shmstat_seg_info si;
		uint64_t exact[NQ], got[NQ];
		size_t i;

		err = shmstat_snapshot(rdr, &s);
		if (err) {
			fprintf(stderr, "bench_hist: cannot take a snapshot: %s (%s)\n",
				shmstat_strerror(err), shmstat_last_error());
			cleanup(seg);
			return 1;
		}
		shmstat_snap_info(s, &si);
		seg_bytes = si.size;
		i = find_metric(s, "bench_hist_query_ns");
		err = i == SIZE_MAX ? ENOENT : shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &hq);
		shmstat_snap_free(s);
		if (err == 0)
			err = shmstat_hdata_quantiles(hq, qs, NQ, got);
		if (err) {
			fprintf(stderr, "bench_hist: cannot read the quantiles: %s\n",
				shmstat_strerror(err));
			cleanup(seg);
			return 1;
		}
		sort_query(exact);
		for (int k = 0; k < NQ; k++) {
			double e = div0(fabs((double)got[k] - (double)exact[k]), (double)exact[k]);

			if (e > max_err)
				max_err = e;
			if (verb)
				fprintf(stderr, "q %.4f: histogram %llu, exact %llu\n", qs[k],
					(unsigned long long)got[k], (unsigned long long)exact[k]);
		}
		if (max_err > 1.0 / (1u << HBITS))
			fprintf(stderr, "bench_hist: warning: a quantile is off by %.3f%%, more "
				"than the documented %.3f%%\n", 100 * max_err,
				100.0 / (1u << HBITS));
	}
	for (int q = 0; q < Q_COUNT; q++) {
		qiters[q] = calibrate_query((enum query)q, want);
		if (verb)
			fprintf(stderr, "%-21s: %llu calls\n", qname[q],
				(unsigned long long)qiters[q]);
	}
	for (int r = 0; r < reps; r++)
		for (int q = 0; q < Q_COUNT; q++) {
			qns[q][r] = run_query((enum query)q, qiters[q]);
			if (verb)
				fprintf(stderr, "rep %d %-21s: %.1f ns/call\n", r, qname[q],
					qns[q][r]);
		}
	for (int q = 0; q < Q_COUNT; q++)
		qmed[q] = median(qns[q], reps);

	cleanup(seg);
	free(ms.a);

	/* ---- results */
	for (int nt = 1; nt <= MAX_THREADS; nt++) {
		double h = med[V_HIST][nt];

		print_vs(V_HIST, nt, h, V_COUNTER, med[V_COUNTER][nt], 1,
			 nt == 1 ? "ratio<=1.5" : NULL,
			 med[V_COUNTER][nt] > 0 && h / med[V_COUNTER][nt] <= 1.5);
		print_vs(V_HIST, nt, h, V_ADDV, med[V_ADDV][nt], 1, NULL, 0);
		print_vs(V_HIST, nt, h, V_OWN, med[V_OWN][nt], 1, NULL, 0);
		print_vs(V_HIST, nt, h, V_ATOMIC, med[V_ATOMIC][nt], 0, NULL, 0);
		print_vs(V_HIST, nt, h, V_MUTEX, med[V_MUTEX][nt], 0, NULL, 0);
	}
	{
		/* throughput, all threads together, in millions of records per s */
		double t1 = div0(1e3, med[V_HIST][1]), t2 = div0(2e3, med[V_HIST][2]);
		double c1 = div0(1e3, med[V_COUNTER][1]), c2 = div0(2e3, med[V_COUNTER][2]);
		double o1 = div0(1e3, med[V_OWN][1]), o2 = div0(2e3, med[V_OWN][2]);

		print_scaling(V_HIST, t1, t2, "scaling>=1.9", t1 > 0 && t2 / t1 >= 1.9,
			      hist_share);
		print_scaling(V_COUNTER, c1, c2, NULL, 0, -1);
		/* the machine's own scaling, for reading the lines above */
		print_scaling(V_OWN, o1, o2, NULL, 0, -1);
		if (o1 > 0 && o2 / o1 < 1.8)
			fprintf(stderr, "bench_hist: warning: the own-slot baseline scaled "
				"only %.2fx on 2 threads: this machine did not give the run "
				"2 idle CPUs, so the 2-thread figures say little\n", o2 / o1);
		if (hist_share < 0.9)
			fprintf(stderr, "bench_hist: warning: in the median 2-thread "
				"hist_record run a thread was on a CPU only %.0f%% of the "
				"time: the 2 threads did not get 2 CPUs, so its scaling "
				"says little\n", 100 * hist_share);
	}
	printf("{\"bench\":\"hist_quantiles\",\"link\":\"%s\",\"quantiles\":%d,"
	       "\"samples\":%u,\"ns_per_call\":%.1f,\"baseline\":\"%s\","
	       "\"baseline_ns_per_call\":%.1f,\"speedup\":%.1f,\"max_rel_error\":%.5f,"
	       "\"target\":\"ns_per_call<=10000\",\"met\":%s}\n",
	       BENCH_LINK, NQ, QSAMPLES, qmed[Q_HIST], qname[Q_SORT], qmed[Q_SORT],
	       div0(qmed[Q_SORT], qmed[Q_HIST]), max_err,
	       jbool(qmed[Q_HIST] > 0 && qmed[Q_HIST] <= 10000));
	printf("{\"bench\":\"hist_snapshot\",\"link\":\"%s\",\"ns_per_call\":%.0f,"
	       "\"segment_bytes\":%llu,\"what\":\"shmstat_snapshot+shmstat_snap_hist\"}\n",
	       BENCH_LINK, qmed[Q_SNAP], (unsigned long long)seg_bytes);
	fflush(stdout);
	return lost;
}
