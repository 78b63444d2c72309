/*
 * prof_target - a profiled program whose CPU split is known.
 *
 *   prof_target SEGMENT THREADS UNITS [HZ [MODE]]
 *
 * Starts the profiler on SEGMENT (at HZ, default 997), runs THREADS
 * threads, and exits. Work is counted in rounds, not seconds, so the
 * split is exact on a loaded machine. MODE:
 *
 *   split      (default) each thread does UNITS rounds of 3 work units in
 *              hot_a() and 1 in hot_b(): 75% of the CPU in hot_a
 *   frameless  each thread runs UNITS rounds of libframeless.so's
 *              fl_outer -> fl_inner (built without frame pointers), which
 *              calls back cb_a 7 times and cb_b 3 times a round: 70% of
 *              the CPU in cb_a, below the library's two frames
 *   fair       THREADS threads (4 for the test), thread i doing
 *              (THREADS - i) x UNITS units in its own fair_<i>(), each
 *              writing a counter first (so each has its own timer); prints
 *              each thread's CPU time ("cpu fair_<i> NS"), the truth to
 *              compare per-thread shares with
 *
 * Every mode prints "process_cpu NS": the process's CPU time from the
 * profiler's start to its stop, what the samples' weights add up to.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frameless.h"
#include "shmstat.h"
#include "shmstat_profile.h"

static unsigned long units;
static unsigned nth;
static shmstat_counter *started;

#define SPIN(x, n)                                                                      \
	for (unsigned j_ = 0; j_ < (n); j_++) {                                          \
		(x) = (x) * 6364136223846793005ULL + 1442695040888963407ULL;             \
		__asm__ volatile("" : "+r"(x));                                          \
	}

/* hot_a does 3 times hot_b's work, @n iterations a block: the length
 * varies from round to round (worker) so that a round is not a steady
 * period the timer could fall in phase with (a timer ticking in step
 * with the rounds would sample one of the two more than its share) */
__attribute__((noinline)) uint64_t hot_a(uint64_t x, unsigned n);
__attribute__((noinline)) uint64_t hot_a(uint64_t x, unsigned n)
{
	for (int i = 0; i < 3; i++)
		SPIN(x, n)
	return x;
}

__attribute__((noinline)) uint64_t hot_b(uint64_t x, unsigned n);
__attribute__((noinline)) uint64_t hot_b(uint64_t x, unsigned n)
{
	SPIN(x, n)
	return x;
}

/* the callbacks: the same work each, leaves of the stack */
__attribute__((noinline)) uint64_t cb_a(uint64_t x);
__attribute__((noinline)) uint64_t cb_a(uint64_t x)
{
	SPIN(x, 20000)
	return x;
}

__attribute__((noinline)) uint64_t cb_b(uint64_t x);
__attribute__((noinline)) uint64_t cb_b(uint64_t x)
{
	SPIN(x, 20000)
	return x;
}

/* one leaf function per thread of the fair mode */
#define FAIR(i)                                                                         \
	__attribute__((noinline)) uint64_t fair_##i(uint64_t x, unsigned long n);       \
	__attribute__((noinline)) uint64_t fair_##i(uint64_t x, unsigned long n)        \
	{                                                                               \
		for (unsigned long r = 0; r < n; r++)                                    \
			SPIN(x, 20000)                                                   \
		return x;                                                               \
	}
FAIR(0)
FAIR(1)
FAIR(2)
FAIR(3)
static uint64_t (*const fair_fn[4])(uint64_t, unsigned long) = { fair_0, fair_1, fair_2, fair_3 };
static uint64_t fair_cpu[4];

static void *worker(void *arg)
{
	uint64_t x = (uintptr_t)arg;

	for (unsigned long r = 0; r < units; r++) {
		/* 15,000 .. 24,999 a block, 20,000 on average */
		unsigned n = 15000 + (unsigned)((r * 7919 + (uintptr_t)arg * 104729) % 10000);

		x = hot_b(hot_a(x, n), n);
	}
	return (void *)(uintptr_t)(x & 1);
}

static void *worker_frameless(void *arg)
{
	uint64_t x = fl_outer(cb_a, cb_b, (uintptr_t)arg, units);

	return (void *)(uintptr_t)(x & 1);
}

static void *worker_fair(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg % 4;
	struct timespec t0, t1;
	uint64_t x;

	shmstat_counter_inc(started);   /* this thread writes the segment */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	x = fair_fn[i](i + 1, (nth - i) * units);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	fair_cpu[i] = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
		      (uint64_t)(t1.tv_nsec - t0.tv_nsec);
	return (void *)(uintptr_t)(x & 1);
}

int main(int argc, char **argv)
{
	shmstat_seg *seg;
	pthread_t th[64];
	struct timespec c0, c1;
	unsigned hz;
	const char *mode = argc > 5 ? argv[5] : "split";
	void *(*fn)(void *) = worker;
	int err;

	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: prof_target SEGMENT THREADS UNITS [HZ [MODE]]\n");
		return 2;
	}
	nth = (unsigned)strtoul(argv[2], NULL, 10);
	units = strtoul(argv[3], NULL, 10);
	hz = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 997;
	if (strcmp(mode, "frameless") == 0)
		fn = worker_frameless;
	else if (strcmp(mode, "fair") == 0)
		fn = worker_fair;
	else if (strcmp(mode, "split") != 0) {
		fprintf(stderr, "prof_target: mode must be split, frameless or fair\n");
		return 2;
	}
	if (nth < 1 || nth > 64 || (fn == worker_fair && nth > 4)) {
		fprintf(stderr, "prof_target: threads must be 1 to 64 (fair: 1 to 4)\n");
		return 2;
	}
	err = shmstat_open(argv[1], NULL, &seg);
	if (err == 0)
		err = shmstat_counter_register(seg, &(struct shmstat_metric_def){ .name = "started" },
					       &started);
	if (err == 0)
		err = shmstat_profiler_start(seg, hz);
	if (err) {
		fprintf(stderr, "prof_target: %s\n", shmstat_last_error());
		return 1;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (unsigned i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, fn, (void *)(uintptr_t)(i + (fn == worker_fair ? 0 : 1))) != 0) {
			fprintf(stderr, "prof_target: cannot create a thread\n");
			return 1;
		}
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	shmstat_profiler_stop(seg);
	shmstat_close(seg);
	printf("process_cpu %llu\n", (unsigned long long)((uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000000u +
							   (uint64_t)(c1.tv_nsec - c0.tv_nsec)));
	if (fn == worker_fair)
		for (unsigned i = 0; i < nth; i++)
			printf("cpu fair_%u %llu\n", i, (unsigned long long)fair_cpu[i]);
	return 0;
}
