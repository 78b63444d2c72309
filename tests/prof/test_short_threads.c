/*
 * test_short_threads.c - the CPU of threads that live a few periods is
 * weighed whole, and a thread whose own timer went silent is sampled by
 * the process timer.
 *
 * "short": 40 threads, one after another, each writes a counter (a CPU
 * timer of its own) and spins 10 ms of its CPU in t_short, at 997 Hz.
 * CPU timers fire at the scheduler's tick (4 ms at HZ=250), so such a
 * thread has two or three samples. Each sample weighs the CPU since the
 * thread's previous one; the first one weighed at most a period (1 ms,
 * where the first tick comes after 4), and the CPU after the last one
 * nothing: 200 threads of 7 ms weighed 13% of their CPU. The stacks
 * through t_short must now weigh at least 95% of what the threads
 * measured (and at most that and 5 ms a thread: the exit's few us after
 * their measure). Without the first sample's mark they weighed 88-89%,
 * without the tail 80% (3 runs each).
 *
 * "silent", at 100 Hz: a thread T writes a counter and spins 200 ms in
 * t_before, then its own timer is disarmed (as the kernel sometimes
 * leaves one: expired, never firing again; profiler.c, own_silent()) and
 * it spins 500 ms in t_after. The process timer's signals were skipped
 * in a thread whose own timer had fired once, so T had no sample in
 * t_after. Now some must hold t_after, and weigh at least half its 500
 * ms.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "prof_samples.h"

static shmstat_counter *ctr;
static volatile uint64_t sink;
static char name[64];

static void fail(const char *what)
{
	fprintf(stderr, "FAIL: %s\n", what);
	shmstat_unlink(name);
	exit(1);
}

static uint64_t thread_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void spin(uint64_t ns)
{
	const uint64_t end = thread_ns() + ns;

	while (thread_ns() < end)
		for (int i = 0; i < 1000; i++)
			sink = sink * 6364136223846793005ULL + 1;
}

void t_short(uint64_t ns);
void t_before(uint64_t ns);
void t_after(uint64_t ns);
__attribute__((noinline)) void t_short(uint64_t ns)
{
	spin(ns);
	__asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) void t_before(uint64_t ns)
{
	spin(ns);
	__asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) void t_after(uint64_t ns)
{
	spin(ns);
	__asm__ volatile("" ::: "memory");
}

static uint64_t cpu_sum;

static void *short_thread(void *arg)
{
	(void)arg;
	shmstat_counter_inc(ctr);       /* a timer of its own */
	t_short(10000000);
	cpu_sum += thread_ns();         /* threads run one at a time */
	return NULL;
}

/* Disarm the calling thread's own CPU timer, found in /proc/self/timers
 * by its thread id (the kernel's timer id: the raw system call). */
static void disarm_own_timer(void)
{
	char line[128], want[64];
	long id = -1, cur = -1;
	FILE *f = fopen("/proc/self/timers", "r");
	struct itimerspec zero;

	if (!f)
		fail("cannot read /proc/self/timers");
	snprintf(want, sizeof(want), "notify: signal/tid.%ld\n", (long)syscall(SYS_gettid));
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "ID: ", 4) == 0) {
			cur = strtol(line + 4, NULL, 10);
			continue;
		}
		if (strcmp(line, want) == 0)
			id = cur;
	}
	(void)fclose(f);
	if (id < 0)
		fail("the thread has no timer of its own");
	memset(&zero, 0, sizeof(zero));
	if (syscall(SYS_timer_settime, (int)id, 0, &zero, NULL) != 0)
		fail("cannot disarm the thread's timer");
}

static uint64_t after_cpu;

static void *silent_thread(void *arg)
{
	uint64_t t0;

	(void)arg;
	shmstat_counter_inc(ctr);
	t_before(200000000);
	disarm_own_timer();
	t0 = thread_ns();
	t_after(500000000);
	after_cpu = thread_ns() - t0;
	return NULL;
}

/* Profile at @hz while @n threads run @body one after another; the
 * samples and weight of the stacks through function @fn. */
static void profiled(const char *what, unsigned hz, void *(*body)(void *), int n, const char *fn,
		     uint64_t *samples, uint64_t *weight)
{
	shmstat_seg *seg;

	snprintf(name, sizeof(name), "ut-short-%s-%d", what, (int)getpid());
	if (shmstat_open(name, NULL, &seg) != 0 ||
	    shmstat_counter_register(seg, &(struct shmstat_metric_def){ .name = "c" }, &ctr) != 0 ||
	    shmstat_profiler_start(seg, hz) != 0)
		fail(shmstat_last_error());
	for (int i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, body, NULL) != 0)
			fail("pthread_create");
		pthread_join(t, NULL);
	}
	shmstat_profiler_stop(seg);
	prof_fn_cpu(name, fn, samples, weight, NULL);
	shmstat_close(seg);
	shmstat_unlink(name);
}

static int test_short(void)
{
	uint64_t samples, weight;

	profiled("s", 997, short_thread, 40, "t_short", &samples, &weight);
	printf("short: 40 threads, %.1f ms of CPU, %llu samples weighing %.1f ms (%.1f%%)\n",
	       (double)cpu_sum / 1e6, (unsigned long long)samples, (double)weight / 1e6,
	       100.0 * (double)weight / (double)cpu_sum);
	if (weight < cpu_sum / 100 * 95 || weight > cpu_sum + 40 * 5000000ull) {
		fprintf(stderr, "FAIL: short threads weigh %.1f%% of their CPU\n",
			100.0 * (double)weight / (double)cpu_sum);
		return 1;
	}
	return 0;
}

static int test_silent(void)
{
	uint64_t samples, weight;

	profiled("q", 100, silent_thread, 1, "t_after", &samples, &weight);
	printf("silent: t_after %.1f ms of CPU, %llu samples weighing %.1f ms\n",
	       (double)after_cpu / 1e6, (unsigned long long)samples, (double)weight / 1e6);
	if (samples == 0 || weight < after_cpu / 2) {
		fprintf(stderr, "FAIL: a thread whose own timer went silent was not sampled\n");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int bad = 0;

	if (argc < 2 || strcmp(argv[1], "silent") != 0)
		bad |= test_short();
	if (argc < 2 || strcmp(argv[1], "short") != 0)
		bad |= test_silent();
	if (!bad)
		printf("ok\n");
	return bad;
}
