/*
 * prof_target - a profiled program whose CPU split is known.
 *
 *   prof_target SEGMENT THREADS UNITS [HZ]
 *
 * Starts the profiler on SEGMENT (at HZ, default 997), runs THREADS
 * threads that each do UNITS rounds of 3 work units in hot_a() and 1 in
 * hot_b(), so about 75% of the CPU time is in hot_a and 25% in hot_b
 * whatever the scheduling, and exits. Counting in rounds, not seconds,
 * keeps the split exact on a loaded machine.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "shmstat.h"
#include "shmstat_profile.h"

static unsigned long units;

__attribute__((noinline)) uint64_t hot_a(uint64_t x);
__attribute__((noinline)) uint64_t hot_a(uint64_t x)
{
	for (int i = 0; i < 3; i++) {
		for (unsigned j = 0; j < 20000; j++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			__asm__ volatile("" : "+r"(x));
		}
	}
	return x;
}

__attribute__((noinline)) uint64_t hot_b(uint64_t x);
__attribute__((noinline)) uint64_t hot_b(uint64_t x)
{
	for (unsigned j = 0; j < 20000; j++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

static void *worker(void *arg)
{
	uint64_t x = (uintptr_t)arg;

	for (unsigned long r = 0; r < units; r++)
		x = hot_b(hot_a(x));
	return (void *)(uintptr_t)(x & 1);
}

int main(int argc, char **argv)
{
	shmstat_seg *seg;
	pthread_t th[64];
	unsigned nth, hz;
	int err;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: prof_target SEGMENT THREADS UNITS [HZ]\n");
		return 2;
	}
	nth = (unsigned)strtoul(argv[2], NULL, 10);
	units = strtoul(argv[3], NULL, 10);
	hz = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 997;
	if (nth < 1 || nth > 64) {
		fprintf(stderr, "prof_target: threads must be 1 to 64\n");
		return 2;
	}
	err = shmstat_open(argv[1], NULL, &seg);
	if (err) {
		fprintf(stderr, "prof_target: %s\n", shmstat_last_error());
		return 1;
	}
	err = shmstat_profiler_start(seg, hz);
	if (err) {
		fprintf(stderr, "prof_target: %s\n", shmstat_last_error());
		return 1;
	}
	for (unsigned i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1)) != 0) {
			fprintf(stderr, "prof_target: cannot create a thread\n");
			return 1;
		}
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	shmstat_profiler_stop(seg);
	shmstat_close(seg);
	return 0;
}
