/*
 * test_sigprof_jump.c - a signal whose handler leaves by siglongjmp (a
 * timeout's SIGALRM), taken while the SIGPROF handler walks, must not
 * abandon that handler past its gate.
 *
 * The hook at the start of a walk raises SIGUSR1, whose handler
 * siglongjmps out. The SIGPROF handler ran with every other signal
 * unblocked, so SIGUSR1 came inside it: its nesting guard (in_sigprof)
 * stayed set, and the 50 SIGPROF raised after it were all skipped
 * (skipped +50, 0 samples); its in-flight count stayed too, and
 * shmstat_profiler_stop() waited for ever. Now SIGUSR1 waits until the
 * handler returns: the 50 are 50 samples, and the stop returns.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "hook.h"
#include "prof_samples.h"

static sigjmp_buf jb;
static volatile sig_atomic_t armed, jumped;
static char name[64];

static void on_usr1(int sig)
{
	(void)sig;
	jumped = 1;
	siglongjmp(jb, 1);
}

static void hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point == SHMSTAT_HOOK_SIGPROF && armed) {
		armed = 0;
		raise(SIGUSR1);
	}
}

int main(void)
{
	struct sigaction sa;
	shmstat_seg *seg;
	uint64_t before, after;

	snprintf(name, sizeof(name), "ut-sigprof-jump-%d", (int)getpid());
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		return 1;
	/* 1 Hz: the timers take no sample during the test, raise() does */
	if (shmstat_open(name, NULL, &seg) != 0 || shmstat_profiler_start(seg, 1) != 0) {
		fprintf(stderr, "%s\n", shmstat_last_error());
		return 1;
	}
	__atomic_store_n(&shmstat__test_hook, hook, __ATOMIC_RELEASE);
	if (sigsetjmp(jb, 1) == 0) {
		armed = 1;
		raise(SIGPROF);
	}
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	if (!jumped) {
		fprintf(stderr, "SIGUSR1's handler did not run\n");
		return 1;
	}
	before = prof_cpu_samples(name);
	for (int i = 0; i < 50; i++)
		raise(SIGPROF);
	after = prof_cpu_samples(name);
	if (after - before < 50) {
		/* not stopped: the stop would wait for the abandoned handler */
		fprintf(stderr, "%llu samples of 50 SIGPROF after a siglongjmp out of the handler\n",
			(unsigned long long)(after - before));
		shmstat_unlink(name);
		_exit(1);
	}
	if (shmstat_profiler_stop(seg) != 0 || shmstat_close(seg) != 0)
		return 1;
	shmstat_unlink(name);
	printf("ok: %llu samples of 50 SIGPROF after a siglongjmp, the stop returned\n",
	       (unsigned long long)(after - before));
	return 0;
}
