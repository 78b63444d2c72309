/*
 * bench_util.h - what every benchmark here shares: a clock, medians,
 * calibration of iteration counts, and JSON helpers.
 */
#ifndef SHMSTAT_BENCH_UTIL_H
#define SHMSTAT_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

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

#endif
