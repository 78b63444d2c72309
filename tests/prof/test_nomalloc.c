/*
 * test_nomalloc - the SIGPROF handler allocates nothing.
 *
 * This program replaces malloc and its family, and wraps the profiler's
 * SIGPROF handler in one that marks the thread as inside it (a
 * thread-local flag): an allocation while the flag is set fails the test.
 * Meanwhile the profiler samples at 1 kHz while threads start, allocate,
 * free and exit, until a few hundred samples are in.
 * Built without sanitizers, whose allocators would come first.
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t a, size_t n);
extern void __libc_free(void *p);

static volatile sig_atomic_t in_handler_calls;
static __thread int in_handler;
static void (*prof_handler)(int, siginfo_t *, void *);

static void wrapped(int sig, siginfo_t *si, void *uc)
{
	in_handler = 1;
	prof_handler(sig, si, uc);
	in_handler = 0;
}

static void check(void)
{
	if (in_handler) {
		static const char msg[] = "test_nomalloc: an allocation inside the SIGPROF handler\n";

		in_handler_calls++;
		(void)!write(2, msg, sizeof(msg) - 1);
		abort();
	}
}

void *malloc(size_t n)
{
	check();
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	check();
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	check();
	return __libc_realloc(p, n);
}

void free(void *p)
{
	check();
	__libc_free(p);
}

void *aligned_alloc(size_t a, size_t n)
{
	check();
	return __libc_memalign(a, n);
}

void *memalign(size_t a, size_t n)
{
	check();
	return __libc_memalign(a, n);
}

int posix_memalign(void **out, size_t a, size_t n)
{
	void *p;

	check();
	p = __libc_memalign(a, n);
	if (p == NULL)
		return 12;              /* ENOMEM */
	*out = p;
	return 0;
}

static void *worker(void *arg)
{
	uint64_t x = (uintptr_t)arg;

	for (int i = 0; i < 2000; i++) {
		char *p = malloc(64 + (size_t)(x % 4096));

		if (p == NULL)
			return NULL;
		memset(p, (int)i, 64);
		x = x * 6364136223846793005ULL + 1442695040888963407ULL + (uint64_t)p[3];
		free(p);
		for (int j = 0; j < 200; j++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			__asm__ volatile("" : "+r"(x));
		}
	}
	return (void *)(uintptr_t)(x & 1);
}

static uint64_t samples(shmstat_reader *r)
{
	shmstat_snap *s;
	shmstat_profile *p;
	struct shmstat_profile_stats st;

	if (shmstat_snapshot(r, &s) != 0 || shmstat_snap_profile(r, s, &p) != 0) {
		fprintf(stderr, "test_nomalloc: %s\n", shmstat_last_error());
		exit(1);
	}
	shmstat_profile_stats(p, &st);
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	return st.cpu_samples + st.dropped_samples;
}

int main(void)
{
	char name[64];
	shmstat_seg *seg;
	shmstat_reader *r;
	uint64_t n = 0;
	int round;

	snprintf(name, sizeof(name), "nomalloc-%d", (int)getpid());
	if (shmstat_open(name, NULL, &seg) != 0 || shmstat_reader_open(name, &r) != 0 ||
	    shmstat_profiler_start(seg, 1000) != 0) {
		fprintf(stderr, "test_nomalloc: %s\n", shmstat_last_error());
		shmstat_unlink(name);
		return 1;
	}
	{
		struct sigaction sa;

		/* the profiler's handler, called from ours */
		sigaction(SIGPROF, NULL, &sa);
		if (!(sa.sa_flags & SA_SIGINFO)) {
			fprintf(stderr, "test_nomalloc: the profiler installed no SA_SIGINFO handler\n");
			return 1;
		}
		prof_handler = sa.sa_sigaction;
		sa.sa_sigaction = wrapped;
		sigaction(SIGPROF, &sa, NULL);
	}
	for (round = 0; round < 100000 && n < 300; round++) {
		pthread_t t[3];

		for (int i = 0; i < 3; i++)
			pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(round * 3 + i));
		for (int i = 0; i < 3; i++)
			pthread_join(t[i], NULL);
		n = samples(r);
	}
	shmstat_profiler_stop(seg);
	shmstat_reader_close(r);
	shmstat_close(seg);
	shmstat_unlink(name);
	if (n < 300) {
		fprintf(stderr, "test_nomalloc: only %llu samples after %d rounds\n",
			(unsigned long long)n, round);
		return 1;
	}
	printf("test_nomalloc: %llu samples in %d rounds, no allocation in the handler\n",
	       (unsigned long long)n, round);
	return in_handler_calls ? 1 : 0;
}
