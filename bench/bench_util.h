/*
 * bench_util.h - what every benchmark here shares: a clock, medians,
 * calibration of iteration counts, and JSON helpers.
 */
#ifndef SHMSTAT_BENCH_UTIL_H
#define SHMSTAT_BENCH_UTIL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"

static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of @v[0..n-1] (sorts @v). */
static inline double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline double div0(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static inline const char *jbool(int b)
{
	return b ? "true" : "false";
}

/* Iterations so that one run lasts about @want ns, in [@lo, @hi]:
 * @per_op(@n) measures ns per operation over @n operations; it is called
 * with growing @n until a run lasts 1/20 of @want. */
static inline uint64_t bench_calibrate(double (*per_op)(void *ctx, uint64_t n), void *ctx,
				       double want, uint64_t lo, uint64_t hi)
{
	uint64_t n = lo;
	double op, got;

	for (;;) {
		op = per_op(ctx, n);
		got = op * (double)n;
		if (got >= want / 20 || n >= hi / 4)
			break;
		n *= 4;
	}
	got = want / (op > 0.01 ? op : 0.01);
	if (got < (double)lo)
		return lo;
	if (got > (double)hi)
		return hi;
	return (uint64_t)got;
}

/* The shmstat-cachesim next to this benchmark (../tools/), into @out;
 * -1 with a message when it is not built. */
static inline int bench_cachesim_path(char *out, size_t n, const char *prog)
{
	char exe[2048];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (k <= 0 || n < sizeof(exe) + 32) {
		fprintf(stderr, "%s: cannot read /proc/self/exe\n", prog);
		return -1;
	}
	exe[k] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(out, n, "%s/../tools/shmstat-cachesim", exe);
	if (access(out, X_OK) != 0) {
		fprintf(stderr, "%s: %s: not found (build it first)\n", prog, out);
		return -1;
	}
	return 0;
}

/* What one cachesim run reported. */
struct bench_cachesim_result {
	double rate;               /* requests/s: the "tally rate=" line */
	uint64_t requests;         /* "tally total requests=" */
	uint64_t cpu_ns;           /* "tally cpu_ns=": CPU of the serving
				    * threads (setup, registration and exit
				    * left out) */
	uint64_t tree_cpu_ns;      /* user + sys of the whole process tree
				    * (cachesim, which the shell execs, and
				    * its workers): RUSAGE_CHILDREN before
				    * and after */
};

static inline uint64_t bench_children_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* One cachesim run of 4 processes x 2 threads, seed 12345, with @extra
 * options, into *@out; 0, or -1 when it failed or printed no rate. The
 * caller must have no other child that ends meanwhile (the process
 * tree's CPU is a difference of RUSAGE_CHILDREN). The segment @name is
 * removed afterwards. */
static inline int bench_cachesim_run_ex(const char *cachesim, const char *name,
					const char *duration, const char *extra,
					struct bench_cachesim_result *out)
{
	char cmd[4096 + 512], line[4096];
	uint64_t c0;
	FILE *f;
	int ok;

	memset(out, 0, sizeof(*out));
	out->rate = -1;
	snprintf(cmd, sizeof(cmd),
		 "exec '%s' --name %s --duration %s --seed 12345 --procs 4 --threads 2 "
		 "--keys 20000 --cache-size 4096 --upstream-us 5 --sample 16 %s",
		 cachesim, name, duration, extra);
	fflush(NULL);
	c0 = bench_children_cpu_ns();
	f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "tally rate=", 11) == 0)
			out->rate = atof(line + 11);
		else if (strncmp(line, "tally total requests=", 21) == 0)
			out->requests = strtoull(line + 21, NULL, 10);
		else if (strncmp(line, "tally cpu_ns=", 13) == 0)
			out->cpu_ns = strtoull(line + 13, NULL, 10);
	}
	ok = pclose(f) == 0;
	out->tree_cpu_ns = bench_children_cpu_ns() - c0;
	shmstat_unlink(name);
	return ok && out->rate > 0 ? 0 : -1;
}

/* The same; its requests/s, < 0 on error. */
static inline double bench_cachesim_run(const char *cachesim, const char *name,
					const char *duration, const char *extra)
{
	struct bench_cachesim_result r;

	return bench_cachesim_run_ex(cachesim, name, duration, extra, &r) == 0 ? r.rate : -1;
}

/* @rounds pairs of cachesim runs, options @a then @b, the order swapped
 * every round so drift hits both alike; their medians into @ma and @mb.
 * -1 with a message when a run failed. */
static inline int bench_cachesim_pairs(const char *prog, const char *cachesim, const char *name,
				       const char *duration, int rounds, const char *a,
				       const char *b, double *ma, double *mb)
{
	double ra[16], rb[16];

	if (rounds > 16)
		rounds = 16;
	for (int r = 0; r < rounds; r++) {
		if (r % 2 == 0) {
			ra[r] = bench_cachesim_run(cachesim, name, duration, a);
			rb[r] = bench_cachesim_run(cachesim, name, duration, b);
		} else {
			rb[r] = bench_cachesim_run(cachesim, name, duration, b);
			ra[r] = bench_cachesim_run(cachesim, name, duration, a);
		}
		if (ra[r] <= 0 || rb[r] <= 0) {
			fprintf(stderr, "%s: run %d of %s failed\n", prog, r, cachesim);
			return -1;
		}
	}
	*ma = median(ra, rounds);
	*mb = median(rb, rounds);
	return 0;
}

#define BENCH_MAX_THREADS 8

struct bench_thread {
	void (*run)(int v, int idx, uint64_t n);
	int v, idx;
	uint64_t warmup, iters;
	pthread_barrier_t *bar;
	double t0, t1, cpu;        /* start, end, CPU time of the timed part */
};

static inline double thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline void *bench_thread_main(void *arg)
{
	struct bench_thread *t = arg;
	double c0;

	t->run(t->v, t->idx, t->warmup);   /* claims stripes, warms caches */
	pthread_barrier_wait(t->bar);
	c0 = thread_cpu_ns();
	t->t0 = now_ns();
	t->run(t->v, t->idx, t->iters);
	t->t1 = now_ns();
	t->cpu = thread_cpu_ns() - c0;
	return NULL;
}

/* What bench_threads_run() measured, per operation of one thread. */
struct bench_result {
	double wall_ns;            /* first start to last end / iterations */
	double cpu_ns;             /* CPU time of the timed part / iterations
				    * (CLOCK_THREAD_CPUTIME_ID), mean of the
				    * threads */
	double cpu_share;          /* the least share of the span a thread
				    * was on a CPU */
};

/* Run @run(@v, idx, n) on @nt threads (idx 0..nt-1): @warmup operations
 * each, then from a barrier @iters timed ones, into *@out. The wall
 * figure runs from the first start to the last end, so threads that did
 * not run at the same time count one after the other (each thread's own
 * wall time would report perfect scaling for them); the CPU figure is
 * what each thread used, whoever else ran (a cpu_share below ~0.9: the
 * threads did not get a CPU each). */
static inline void bench_threads_run(void (*run)(int v, int idx, uint64_t n), int v, int nt,
				     uint64_t warmup, uint64_t iters, struct bench_result *out)
{
	struct bench_thread t[BENCH_MAX_THREADS];
	pthread_t tid[BENCH_MAX_THREADS];
	pthread_barrier_t bar;
	double first = 0, last = 0, least = 1, cpu = 0;

	if (nt < 1 || nt > BENCH_MAX_THREADS)
		abort();
	pthread_barrier_init(&bar, NULL, (unsigned)nt);
	for (int i = 0; i < nt; i++) {
		int err;

		t[i] = (struct bench_thread){ run, v, i, warmup, iters, &bar, 0, 0, 0 };
		err = pthread_create(&tid[i], NULL, bench_thread_main, &t[i]);
		if (err) {
			fprintf(stderr, "bench: pthread_create: %s\n", strerror(err));
			exit(1);
		}
	}
	for (int i = 0; i < nt; i++) {
		pthread_join(tid[i], NULL);
		if (i == 0 || t[i].t0 < first)
			first = t[i].t0;
		if (i == 0 || t[i].t1 > last)
			last = t[i].t1;
	}
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < nt; i++) {
		if (last > first && t[i].cpu / (last - first) < least)
			least = t[i].cpu / (last - first);
		cpu += t[i].cpu;
	}
	out->wall_ns = (last - first) / (double)iters;
	out->cpu_ns = cpu / nt / (double)iters;
	out->cpu_share = least;
}

/* The same; the wall figure returned, the least CPU share in *@cpu_share
 * (if not NULL). */
static inline double bench_threads(void (*run)(int v, int idx, uint64_t n), int v, int nt,
				   uint64_t warmup, uint64_t iters, double *cpu_share)
{
	struct bench_result r;

	bench_threads_run(run, v, nt, warmup, iters, &r);
	if (cpu_share)
		*cpu_share = r.cpu_share;
	return r.wall_ns;
}

#endif
