/*
 * test_newthread.c - a thread that writes a segment and uses less CPU
 * than one period is sampled.
 *
 * A thread that first writes a segment while the profiler runs gets a
 * CPU timer of its own, which first fires after one period of its CPU;
 * the process timer's signals are skipped in threads that have one.
 * The thread was marked as having one as soon as it was made, so the
 * process timer's signals were skipped in it from its start: a thread
 * that lived less than a period of its CPU was never sampled (pools of
 * short tasks: 4 threads a round of about 0.5 ms of CPU each at 997 Hz,
 * half of them writing a counter: 0 samples for their 11.7 s of CPU,
 * 1,048 for the other half's 11.5 s). Now the process timer's signals
 * are skipped in it once its own timer fired, as in the threads alive
 * at the start (and that timer's first signal, which stands for the
 * period the process timer sampled, is skipped).
 *
 * At 2 Hz (a period of 500 ms): this thread spins 300 ms of CPU, then a
 * thread T writes a counter and spins 400 ms of its own CPU (less than
 * its period: its timer never fires) while this one waits with SIGPROF
 * blocked, so that the process timer's expiry at 500 ms of the
 * process's CPU (CPU time, not wall time) is delivered to T. Some
 * sample must have T's function t_spin in its stack.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "prof_samples.h"

static shmstat_counter *ctr;
static volatile uint64_t sink;

static uint64_t thread_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

__attribute__((noinline)) void t_spin(uint64_t ns);
__attribute__((noinline)) void t_spin(uint64_t ns)
{
	uint64_t end = thread_ns() + ns;

	while (thread_ns() < end)
		for (int i = 0; i < 10000; i++)
			sink = sink * 6364136223846793005ULL + 1;
	__asm__ volatile("" ::: "memory");
}

static void *thread_t(void *arg)
{
	sigset_t prof;

	(void)arg;
	sigemptyset(&prof);
	sigaddset(&prof, SIGPROF);
	pthread_sigmask(SIG_UNBLOCK, &prof, NULL);      /* blocked in its creator */
	shmstat_counter_inc(ctr);       /* a timer of its own */
	t_spin(400000000);
	return NULL;
}

int main(void)
{
	char name[64];
	shmstat_seg *seg;
	pthread_t t;
	sigset_t prof;
	uint64_t in_t, w, all;

	snprintf(name, sizeof(name), "ut-newthread-%d", (int)getpid());
	if (shmstat_open(name, NULL, &seg) != 0 ||
	    shmstat_counter_register(seg, &(struct shmstat_metric_def){ .name = "c" }, &ctr) != 0 ||
	    shmstat_profiler_start(seg, 2) != 0) {
		fprintf(stderr, "%s\n", shmstat_last_error());
		return 1;
	}
	t_spin(0);
	{
		uint64_t end = thread_ns() + 300000000;

		while (thread_ns() < end)
			for (int i = 0; i < 10000; i++)
				sink = sink * 6364136223846793005ULL + 1;
	}
	sigemptyset(&prof);
	sigaddset(&prof, SIGPROF);
	pthread_sigmask(SIG_BLOCK, &prof, NULL);
	if (pthread_create(&t, NULL, thread_t, NULL) != 0)
		return 1;
	pthread_join(t, NULL);
	shmstat_profiler_stop(seg);
	pthread_sigmask(SIG_UNBLOCK, &prof, NULL);
	prof_fn_cpu(name, "t_spin", &in_t, &w, &all);
	shmstat_close(seg);
	shmstat_unlink(name);
	printf("%llu of %llu CPU samples in T (400 ms of CPU, its own timer's period 500 ms)\n",
	       (unsigned long long)in_t, (unsigned long long)all);
	if (in_t == 0) {
		fprintf(stderr, "FAIL: a new thread shorter than a period was never sampled\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}
