/*
 * test_exec.c - a profiled process that calls execve() (no fork) must
 * not kill the image it becomes. The kernel resets SIGPROF's handler to
 * the default (terminate) at exec; a timer that survived the exec
 * (ITIMER_PROF does) would then kill the new image after one period of
 * its CPU ("Profiling timer expired", status 128 + SIGPROF).
 *
 * For each round a child opens a segment, starts the profiler at 1 kHz
 * (and a second thread, so per-thread timers exist too), burns CPU so
 * that signals are arriving, and execs this program as "image". The new
 * image checks that no timer came along (/proc/self/timers is empty,
 * ITIMER_PROF is off), then burns 200 ms of its CPU time (200 periods of
 * the old timer) and exits 0. The parent asserts exit status 0 for
 * every round. The image's work is measured in CPU time, the clock the
 * timers count: no wall-clock assumption.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"

#define ROUNDS 8

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void burn(uint64_t ns)
{
	uint64_t end = cpu_ns() + ns, x = 1;

	while (cpu_ns() < end)
		for (int i = 0; i < 10000; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			__asm__ volatile("" : "+r"(x));
		}
}

/* The new image: no timer inherited, and it lives through its work. */
static int image(void)
{
	FILE *f = fopen("/proc/self/timers", "r");
	char line[256];
	int timers = 0;
	struct itimerval it;

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "ID:", 3) == 0)
				timers++;
		(void)fclose(f);
	}
	if (getitimer(ITIMER_PROF, &it) != 0)
		return 3;
	if (timers != 0 || it.it_value.tv_sec || it.it_value.tv_usec)
		fprintf(stderr, "new image inherited timers: %d POSIX, ITIMER_PROF %ld.%06ld s\n",
			timers, (long)it.it_value.tv_sec, (long)it.it_value.tv_usec);
	burn(200000000u);   /* dies here if a timer's signal comes */
	return timers != 0 || it.it_value.tv_sec || it.it_value.tv_usec ? 4 : 0;
}

static pthread_barrier_t ready;

static void *spinner(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&ready);
	for (;;)
		burn(1000000u);
	return NULL;
}

static void child(const char *self, const char *name)
{
	shmstat_seg *seg;
	pthread_t t;

	if (shmstat_open(name, NULL, &seg) != 0)
		_exit(5);
	pthread_barrier_init(&ready, NULL, 2);
	if (pthread_create(&t, NULL, spinner, NULL) != 0)
		_exit(6);
	pthread_barrier_wait(&ready);
	if (shmstat_profiler_start(seg, 1000) != 0)
		_exit(7);
	/* signals arriving: the profiler samples, then exec without a stop
	 * (the other thread is ended by the exec) */
	burn(20000000u);
	execl(self, self, "image", (char *)NULL);
	_exit(8);
}

int main(int argc, char **argv)
{
	char name[64];
	int failed = 0;

	if (argc > 1 && strcmp(argv[1], "image") == 0)
		return image();
	snprintf(name, sizeof(name), "hT-exec-%d", (int)getpid());
	for (int r = 0; r < ROUNDS; r++) {
		int st;
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			child("/proc/self/exe", name);
		if (waitpid(pid, &st, 0) != pid) {
			perror("waitpid");
			return 1;
		}
		if (WIFSIGNALED(st)) {
			fprintf(stderr, "round %d: the exec'd image was killed by signal %d (%s)\n", r,
				WTERMSIG(st), strsignal(WTERMSIG(st)));
			failed = 1;
		} else if (WEXITSTATUS(st) != 0) {
			fprintf(stderr, "round %d: exit status %d\n", r, WEXITSTATUS(st));
			failed = 1;
		}
	}
	(void)shmstat_unlink(name);
	if (!failed)
		printf("%d rounds: every exec'd image exited 0\n", ROUNDS);
	return failed;
}
