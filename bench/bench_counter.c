/*
 * bench_counter.c - cost of shmstat_counter_inc() against baselines
 * measured in the same run (DESIGN.md, "Benchmark output").
 *
 * Variants, each with 1 thread and with 2 threads started together:
 *   counter        shmstat_counter_inc() on one handle (each thread writes
 *                  its own stripe): a call into the library
 *   counter_inline shmstat_counter_inc_inline() from shmstat_inline.h: the
 *                  same update with the fast path inlined in the caller
 *   own_slot       relaxed load + store on a thread-private, 128-byte
 *                  aligned uint64: what the library's hot path boils down to
 *   own_slot_call  the same load + store in a function that is never
 *                  inlined: the least any out-of-line counter call costs
 *                  (informative; no target)
 *   shared_atomic  relaxed __atomic_fetch_add on one shared uint64
 *   mutex          pthread_mutex-protected increment of one shared uint64
 *
 * The number of iterations of each (variant, threads) is fixed once per
 * run by a short calibration, so that one measurement lasts about 0.2 s
 * (0.02 s with --quick) whatever the machine. Every measurement is then
 * repeated (5 times, 3 with --quick), the variants alternating, and the
 * median kept: the machine is shared and noisy. The per-thread cost is the
 * wall time of the slowest thread / iterations.
 *
 * Output: one JSON object per line on stdout. Lines with a "target" say
 * whether it was "met"; a missed target never fails the process (a
 * benchmark reports, it does not assert). The exit status is non-zero only
 * when the benchmark could not run or a count came out wrong.
 *
 * Usage: bench_counter [--quick]
 * With BENCH_VERBOSE=1 in the environment, every single measurement and
 * the iteration counts go to stderr.
 */
#include <errno.h>
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
#include "shmstat_inline.h"

#ifndef BENCH_LINK
#define BENCH_LINK "static"   /* how libshmstat is linked into this binary */
#endif

#define MAX_THREADS 2
#define MAX_REPS 5
#define WARMUP 1000u          /* untimed updates per thread before the start */

#define TARGET_NS 2e8           /* one measurement: 0.2 s, --quick 0.02 s */
#define MIN_ITERS 10000u
#define MAX_ITERS 4000000000u

enum variant { V_COUNTER, V_INLINE, V_OWN, V_CALL, V_ATOMIC, V_MUTEX, V_COUNT };

static const char *const vname[V_COUNT] = {
	"counter_add", "counter_add_inline", "own_slot", "own_slot_call", "shared_atomic",
	"mutex",
};

struct line {
	_Alignas(128) uint64_t v;
};

static struct line own_slot[MAX_THREADS];       /* one cache-line pair each */
static struct line shared_ctr;
static struct line mutex_ctr;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;

/* What each counter must hold at the end, to check nothing was lost. */
static uint64_t expect[V_COUNT];

static shmstat_counter *ctr;
static char seg_name[64];
static char seg_path[128];

/* ------------------------------------------------------------ the loops */

static __attribute__((noinline)) void loop_counter(uint64_t n)
{
	shmstat_counter *c = ctr;

	for (uint64_t i = 0; i < n; i++)
		shmstat_counter_inc(c);
}

static __attribute__((noinline)) void loop_inline(uint64_t n)
{
	shmstat_counter *c = ctr;

	for (uint64_t i = 0; i < n; i++)
		shmstat_counter_inc_inline(c);
}

static __attribute__((noinline)) void loop_own(uint64_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1,
				 __ATOMIC_RELAXED);
}

/* noipa: GCC may neither inline it nor use what it knows of its body. */
static __attribute__((noipa)) void slot_inc(uint64_t *p)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static __attribute__((noinline)) void loop_call(uint64_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		slot_inc(p);
}

static __attribute__((noinline)) void loop_atomic(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		__atomic_fetch_add(&shared_ctr.v, 1, __ATOMIC_RELAXED);
}

static __attribute__((noinline)) void loop_mutex(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		pthread_mutex_lock(&mutex);
		mutex_ctr.v++;
		pthread_mutex_unlock(&mutex);
	}
}

static void run_loop(enum variant v, int idx, uint64_t n)
{
	switch (v) {
	case V_COUNTER: loop_counter(n); break;
	case V_INLINE: loop_inline(n); break;
	case V_OWN: loop_own(&own_slot[idx].v, n); break;
	case V_CALL: loop_call(&own_slot[idx].v, n); break;
	case V_ATOMIC: loop_atomic(n); break;
	case V_MUTEX: loop_mutex(n); break;
	default: break;
	}
}

/* ------------------------------------------------------------ threads */

static void run_v(int v, int idx, uint64_t n)
{
	run_loop((enum variant)v, idx, n);
}

/* Run variant @v on @nt threads; return ns per operation per thread. */
static double measure(enum variant v, int nt, uint64_t iters)
{
	double ns = bench_threads(run_v, v, nt, WARMUP, iters, NULL);

	expect[v == V_CALL ? V_OWN : v] += (uint64_t)nt * (iters + WARMUP);
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

	return measure(c->v, c->nt, n);
}

static uint64_t calibrate(enum variant v, int nt, double want)
{
	struct calib c = { v, nt };

	return bench_calibrate(calib_op, &c, want, MIN_ITERS, MAX_ITERS);
}

/* ------------------------------------------------------------ results */

/* {"bench":"counter_add","link":..,"threads":..,"ns_per_op":..,
 *  "baseline":..,"baseline_ns_per_op":..,"ratio"|"speedup":..[,target,met]} */
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

/* Total of our counter, read back through a reader snapshot. */
static int read_counter(uint64_t *out)
{
	shmstat_reader *r;
	shmstat_snap *s;
	struct shmstat_metric_info mi;
	int err, found = 0;

	err = shmstat_reader_open(seg_name, &r);
	if (err)
		return err;
	err = shmstat_snapshot(r, &s);
	if (err) {
		shmstat_reader_close(r);
		return err;
	}
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		if (shmstat_snap_metric(s, i, &mi) == 0 &&
		    strcmp(mi.name, "bench_counter_ops_total") == 0) {
			*out = mi.counter;
			found = 1;
		}
	}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	return found ? 0 : ENOENT;
}

static void on_signal(int sig)
{
	unlink(seg_path);          /* async-signal-safe; the segment's file */
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char **argv)
{
	static const struct shmstat_metric_def def = {
		.name = "bench_counter_ops_total",
		.help = "increments made by bench_counter",
	};
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int reps = quick ? 3 : MAX_REPS;
	double ns[V_COUNT][MAX_THREADS + 1][MAX_REPS];
	double med[V_COUNT][MAX_THREADS + 1];
	uint64_t iters[V_COUNT][MAX_THREADS + 1];
	shmstat_seg *seg;
	int err, bad = 0;
	const char *verbose = getenv("BENCH_VERBOSE");
	int verb = verbose && *verbose && strcmp(verbose, "0") != 0;

	{
		cpu_set_t cpus;

		if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) < 2)
			fprintf(stderr, "bench_counter: warning: only %d CPU available; "
				"the 2-thread figures will not scale\n", CPU_COUNT(&cpus));
	}
	if (argc > 2 || (argc == 2 && !quick)) {
		fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
		return 2;
	}
	snprintf(seg_name, sizeof(seg_name), "bench_counter.%ld", (long)getpid());
	snprintf(seg_path, sizeof(seg_path), "/dev/shm/shmstat.%s", seg_name);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	err = shmstat_open(seg_name, NULL, &seg);
	if (err) {
		fprintf(stderr, "bench_counter: cannot create segment %s: %s (%s)\n",
			seg_name, shmstat_strerror(err), shmstat_last_error());
		return 1;
	}
	err = shmstat_counter_register(seg, &def, &ctr);
	if (err) {
		fprintf(stderr, "bench_counter: cannot register a counter: %s (%s)\n",
			shmstat_strerror(err), shmstat_last_error());
		shmstat_close(seg);
		shmstat_unlink(seg_name);
		return 1;
	}

	for (int nt = 1; nt <= MAX_THREADS; nt++)
		for (int v = 0; v < V_COUNT; v++)
			iters[v][nt] = calibrate((enum variant)v, nt,
						 quick ? TARGET_NS / 10 : TARGET_NS);

	/* Alternate the variants inside each repetition, so a noisy moment
	 * of the machine hits one repetition of each rather than every
	 * repetition of one. */
	for (int r = 0; r < reps; r++)
		for (int nt = 1; nt <= MAX_THREADS; nt++)
			for (int v = 0; v < V_COUNT; v++)
			{
				ns[v][nt][r] = measure((enum variant)v, nt, iters[v][nt]);
				if (verb)
					fprintf(stderr, "rep %d %-13s threads %d iters %llu: %.3f ns/op\n",
						r, vname[v], nt,
						(unsigned long long)iters[v][nt], ns[v][nt][r]);
			}
	for (int v = 0; v < V_COUNT; v++)
		for (int nt = 1; nt <= MAX_THREADS; nt++)
			med[v][nt] = median(ns[v][nt], reps);

	/* Check that every increment landed. */
	{
		uint64_t got = 0, own = 0;

		for (int i = 0; i < MAX_THREADS; i++)
			own += own_slot[i].v;
		if (own != expect[V_OWN] || shared_ctr.v != expect[V_ATOMIC] ||
		    mutex_ctr.v != expect[V_MUTEX]) {
			fprintf(stderr, "bench_counter: a baseline lost counts\n");
			bad = 1;
		}
		err = read_counter(&got);
		if (err) {
			fprintf(stderr, "bench_counter: warning: cannot read the counter back: %s (%s)\n",
				shmstat_strerror(err), shmstat_last_error());
		} else if (got != expect[V_COUNTER] + expect[V_INLINE]) {
			fprintf(stderr, "bench_counter: counter holds %llu, expected %llu\n",
				(unsigned long long)got,
				(unsigned long long)(expect[V_COUNTER] + expect[V_INLINE]));
			bad = 1;
		}
	}
	shmstat_close(seg);
	shmstat_unlink(seg_name);

	for (int nt = 1; nt <= MAX_THREADS; nt++) {
		double c = med[V_COUNTER][nt];
		double own = med[V_OWN][nt];
		double rat = div0(c, own), sp = div0(med[V_ATOMIC][nt], c);

		double ci = med[V_INLINE][nt];

		print_vs(V_COUNTER, nt, c, V_OWN, own, 1, "ratio<=1.2", own > 0 && rat <= 1.2);
		print_vs(V_COUNTER, nt, c, V_CALL, med[V_CALL][nt], 1, NULL, 0);
		print_vs(V_COUNTER, nt, c, V_ATOMIC, med[V_ATOMIC][nt], 0,
			 nt == 2 ? "speedup>=10" : NULL, sp >= 10);
		print_vs(V_COUNTER, nt, c, V_MUTEX, med[V_MUTEX][nt], 0, NULL, 0);
		print_vs(V_INLINE, nt, ci, V_OWN, own, 1, "ratio<=1.2",
			 own > 0 && div0(ci, own) <= 1.2);
		print_vs(V_INLINE, nt, ci, V_ATOMIC, med[V_ATOMIC][nt], 0,
			 nt == 2 ? "speedup>=10" : NULL, div0(med[V_ATOMIC][nt], ci) >= 10);
	}
	{
		/* throughput, all threads together, in millions of ops per s */
		double t1 = div0(1e3, med[V_COUNTER][1]);
		double t2 = div0(2e3, med[V_COUNTER][2]);
		double o1 = div0(1e3, med[V_OWN][1]);
		double o2 = div0(2e3, med[V_OWN][2]);

		printf("{\"bench\":\"counter_add_scaling\",\"link\":\"%s\",\"threads\":2,"
		       "\"throughput_mops\":%.1f,\"baseline\":\"counter_add_1thread\","
		       "\"baseline_throughput_mops\":%.1f,\"scaling\":%.2f,"
		       "\"target\":\"scaling>=1.9\",\"met\":%s}\n",
		       BENCH_LINK, t2, t1, div0(t2, t1), jbool(t1 > 0 && t2 / t1 >= 1.9));
		/* the machine's own scaling, for reading the line above */
		printf("{\"bench\":\"own_slot_scaling\",\"link\":\"%s\",\"threads\":2,"
		       "\"throughput_mops\":%.1f,\"baseline\":\"own_slot_1thread\","
		       "\"baseline_throughput_mops\":%.1f,\"scaling\":%.2f}\n",
		       BENCH_LINK, o2, o1, div0(o2, o1));
		if (o1 > 0 && o2 / o1 < 1.8)
			fprintf(stderr, "bench_counter: warning: the own-slot baseline scaled "
				"only %.2fx on 2 threads: this machine did not give the run "
				"2 idle CPUs, so the 2-thread figures say little\n", o2 / o1);
	}
	fflush(stdout);
	return bad;
}
