/*
 * bench_prof.c - what the sampling profiler costs (issue 10).
 *
 * 1. cpu_loop: 2 threads each run a fixed amount of work through a call
 *    chain 12 frames deep, with the profiler at 99 Hz and without,
 *    alternating in the same process, several rounds. Throughput is work
 *    per second of the threads' own CPU time (CLOCK_THREAD_CPUTIME_ID,
 *    which includes the time the signal handler runs on them), so other
 *    load on the machine does not enter. Also the CPU cost of one sample
 *    (raise(SIGPROF) against a signal with an empty handler, from main and
 *    from DEPTH frames further down, the walk crossing libc's raise by its
 *    unwind table) and the memory of the unwind tables.
 * 2. cachesim: shmstat-cachesim (instrumented) with --profile 99
 *    --latency-stacks 64 against the same run without, same seed,
 *    alternating: requests per second.
 * Target: throughput loss < 1%.
 *
 * Usage: bench_prof [--quick]   (runs ../tools/shmstat-cachesim next to it)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "shmstat.h"
#include "shmstat_profile.h"

#define THREADS 2
#define DEPTH 12

static uint64_t work_units;

__attribute__((noinline)) static uint64_t chain(uint64_t x, int depth)
{
	if (depth > 0)
		return chain(x, depth - 1) + 1;
	for (int i = 0; i < 2000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

struct job {
	double cpu;
	uint64_t out;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	double t0 = thread_cpu_ns();
	uint64_t x = (uintptr_t)arg;

	for (uint64_t i = 0; i < work_units; i++)
		x = chain(x, DEPTH);
	j->cpu = thread_cpu_ns() - t0;
	j->out = x;
	return NULL;
}

/* units per CPU second of one round */
static double round_rate(void)
{
	pthread_t t[THREADS];
	struct job j[THREADS];
	double cpu = 0;

	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, &j[i]);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		cpu += j[i].cpu;
	}
	return (double)(work_units * THREADS) / (cpu / 1e9);
}

static uint64_t samples_of(const char *name)
{
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p;
	struct shmstat_profile_stats st = { 0 };

	if (shmstat_reader_open(name, &r) != 0)
		return 0;
	if (shmstat_snapshot(r, &s) == 0) {
		if (shmstat_snap_profile(r, s, &p) == 0) {
			shmstat_profile_stats(p, &st);
			shmstat_profile_free(p);
		}
		shmstat_snap_free(s);
	}
	shmstat_reader_close(r);
	return st.cpu_samples + st.dropped_samples;
}

static void empty_handler(int sig)
{
	(void)sig;
}

/* ns per raise(@sig) from a call chain DEPTH frames deep */
static double raise_ns(int sig, int n)
{
	double t0 = now_ns();

	for (int i = 0; i < n; i++)
		raise(sig);
	return (now_ns() - t0) / n;
}

/* raise_ns from @depth frames further down (no tail calls: each frame
 * stays, for the walk to cross) */
__attribute__((noinline)) static double raise_deep(int depth, int sig, int n)
{
	double r;

	if (depth == 0)
		return raise_ns(sig, n);
	r = raise_deep(depth - 1, sig, n);
	__asm__ volatile("" : : "g"(&r) : "memory");
	return r;
}

static char cachesim[4096];

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int rounds = quick ? 7 : 11;
	double on[16], off[16], ratio[16], r_on, r_off, loss, sample_ns, empty_ns;
	double deep_ns, deep_empty_ns;
	struct shmstat_profiler_info pi = { 0 };
	char name[64];
	shmstat_seg *seg;
	uint64_t samples;

	snprintf(name, sizeof(name), "bench-prof-%d", (int)getpid());
	if (shmstat_open(name, NULL, &seg) != 0) {
		fprintf(stderr, "bench_prof: %s\n", shmstat_last_error());
		return 1;
	}
	/* about 0.5 s of CPU per thread and round (2 s with --quick off) */
	{
		double t0 = thread_cpu_ns();

		work_units = 200;
		for (uint64_t i = 0; i < work_units; i++)
			(void)chain(i, DEPTH);
		work_units = (uint64_t)(200 * (quick ? 0.5e9 : 1e9) / (thread_cpu_ns() - t0));
	}
	for (int r = 0; r < rounds; r++) {
		int first_on = r % 2;

		for (int k = 0; k < 2; k++) {
			if ((k == 0) == first_on) {
				shmstat_profiler_start(seg, 99);
				on[r] = round_rate();
				shmstat_profiler_stop(seg);
			} else {
				off[r] = round_rate();
			}
		}
	}
	samples = samples_of(name);
	/* one sample, delivery included: raise(SIGPROF) with the handler in
	 * place (and the timer at 1 Hz), against a signal whose handler does
	 * nothing */
	{
		int reps = quick ? 20000 : 100000;

		uint64_t before = samples_of(name);

		signal(SIGUSR2, empty_handler);
		empty_ns = raise_ns(SIGUSR2, reps);
		deep_empty_ns = raise_deep(DEPTH, SIGUSR2, reps);
		if (shmstat_profiler_start(seg, 1) != 0)
			fprintf(stderr, "bench_prof: %s\n", shmstat_last_error());
		sample_ns = raise_ns(SIGPROF, reps);
		deep_ns = raise_deep(DEPTH, SIGPROF, reps);
		(void)shmstat_profiler_info(&pi);
		shmstat_profiler_stop(seg);
		empty_ns = (empty_ns + raise_ns(SIGUSR2, reps)) / 2;
		deep_empty_ns = (deep_empty_ns + raise_deep(DEPTH, SIGUSR2, reps)) / 2;
		if (samples_of(name) - before != 2 * (uint64_t)reps)
			fprintf(stderr, "bench_prof: %llu of %d raised samples counted\n",
				(unsigned long long)(samples_of(name) - before), 2 * reps);
	}
	shmstat_close(seg);
	shmstat_unlink(name);
	/* the median of the rounds' own ratios: drift of the machine's speed
	 * between rounds cancels */
	for (int r = 0; r < rounds; r++)
		ratio[r] = on[r] / off[r];
	loss = (1.0 - median(ratio, rounds)) * 100.0;
	r_on = median(on, rounds);
	r_off = median(off, rounds);
	printf("{\"bench\":\"profiler_cpu_loop\",\"threads\":%d,\"depth\":%d,\"rounds\":%d,"
	       "\"hz\":99,\"units_per_cpu_s\":%.0f,\"baseline\":\"profiler_off\","
	       "\"baseline_units_per_cpu_s\":%.0f,\"loss_percent\":%.3f,\"samples\":%llu,"
	       "\"sample_ns\":%.0f,\"empty_signal_ns\":%.0f,\"handler_ns\":%.0f,"
	       "\"deep_sample_ns\":%.0f,\"deep_empty_signal_ns\":%.0f,\"deep_handler_ns\":%.0f,"
	       "\"unwind_bytes\":%llu,\"unwind_modules\":%u,\"unwind_rows\":%u,"
	       "\"cost_at_99hz_percent\":%.4f,\"target\":\"loss<1%%\",\"met\":%s}\n",
	       THREADS, DEPTH, rounds, r_on, r_off, loss, (unsigned long long)samples,
	       sample_ns, empty_ns, sample_ns - empty_ns, deep_ns, deep_empty_ns,
	       deep_ns - deep_empty_ns, (unsigned long long)pi.unwind_bytes, pi.unwind_modules,
	       pi.unwind_rows, 99 * deep_ns / 1e9 * 100, loss < 1.0 ? "true" : "false");
	fflush(stdout);

	if (bench_cachesim_path(cachesim, sizeof(cachesim), "bench_prof") != 0)
		return 1;
	{
		int cr = quick ? 3 : 5;
		const char *duration = quick ? "1" : "2";

		snprintf(name, sizeof(name), "bench-profsim-%d", (int)getpid());
		if (bench_cachesim_pairs("bench_prof", cachesim, name, duration, cr,
					 "--profile 99 --latency-stacks 64", "", &r_on, &r_off) != 0)
			return 1;
		loss = (r_off - r_on) / r_off * 100.0;
		printf("{\"bench\":\"profiler_cachesim\",\"procs\":4,\"threads\":2,\"rounds\":%d,"
		       "\"seconds_per_run\":%s,\"hz\":99,\"latency_stacks\":64,\"requests_per_s\":%.0f,"
		       "\"baseline\":\"profiler_off\",\"baseline_requests_per_s\":%.0f,"
		       "\"loss_percent\":%.2f,\"target\":\"loss<1%%\",\"met\":%s}\n",
		       cr, duration, r_on, r_off, loss, loss < 1.0 ? "true" : "false");
	}
	return 0;
}
