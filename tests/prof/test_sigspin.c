/*
 * test_sigspin.c - the samples of a signal handler that set up no frame
 * and changed no register stay the handler's.
 *
 * The profiler takes a SIGPROF that interrupted a handler at its first
 * instruction as a sample of the code that handler interrupted (the
 * handler had not run: test_sigprof_entry.c). A handler that runs
 * without a frame and without changing rax, rdi, rsi or rdx leaves the
 * registers and the stack as the kernel set them at its entry; before
 * the pc was compared with the handler's address too, all its samples
 * were taken as the code below it (37 of 37 samples of a handler
 * spinning on a flag). spin_h (assembly: a nop, then a loop reading a
 * flag, touching no register) runs in SIGUSR1, raised by main; another
 * thread reads the profile until 50 samples in the program hold
 * run_spin (counted, not timed; at most 30 s), then sets the flag. At
 * least 90% of them must have their leaf in spin_h's loop. x86-64 only.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"

#if defined(__x86_64__)
void spin_h(int sig);
void run_spin(void);
extern const char spin_loop[], spin_end[];
volatile int spin_flag;

__asm__(".text\n"
	".globl spin_h\n"
	".type spin_h, @function\n"
	"spin_h:\n"
	"	.cfi_startproc\n"
	"	nop\n"                          /* the entry, run once */
	".globl spin_loop\n"
	"spin_loop:\n"
	"	cmpl $0, spin_flag(%rip)\n"
	"	je spin_loop\n"
	"	ret\n"
	".globl spin_end\n"
	"spin_end:\n"
	"	.cfi_endproc\n"
	".size spin_h, .-spin_h\n");

static char name[64];
static uint64_t in_spin, with_run;

static int is_run(uint64_t ret)
{
	Dl_info di;

	return dladdr((void *)(uintptr_t)(ret - 1), &di) != 0 && di.dli_sname &&
	       strcmp(di.dli_sname, "run_spin") == 0;
}

/* the samples holding run_spin (in_spin: those whose leaf is the loop) */
static int count(void)
{
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p;

	in_spin = with_run = 0;
	if (shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &s) != 0 ||
	    shmstat_snap_profile(r, s, &p) != 0)
		return -1;
	for (size_t k = 0; k < shmstat_profile_stacks(p); k++) {
		struct shmstat_stack_info si;

		if (shmstat_profile_stack(p, k, &si) != 0 || si.kind != SHMSTAT_STACK_CPU)
			continue;
		for (uint32_t d = 1; d < si.depth; d++)
			if (is_run(si.pcs[d])) {
				with_run += si.samples;
				if (si.pcs[0] >= (uintptr_t)spin_loop && si.pcs[0] < (uintptr_t)spin_end)
					in_spin += si.samples;
				break;
			}
	}
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	return 0;
}

static void *watcher(void *arg)
{
	const struct timespec tick = { 0, 10000000 };

	(void)arg;
	for (int i = 0; i < 3000; i++) {
		if (count() != 0 || with_run >= 50)
			break;
		nanosleep(&tick, NULL);
	}
	spin_flag = 1;
	return NULL;
}

__attribute__((noinline)) void run_spin(void)
{
	raise(SIGUSR1);
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	struct sigaction sa;
	shmstat_seg *seg;
	pthread_t t;

	snprintf(name, sizeof(name), "ut-sigspin-%d", (int)getpid());
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = spin_h;
	/* before the start: the profiler knows its address */
	if (sigaction(SIGUSR1, &sa, NULL) != 0 || shmstat_open(name, NULL, &seg) != 0 ||
	    shmstat_profiler_start(seg, 1000) != 0) {
		fprintf(stderr, "cannot start: %s\n", shmstat_last_error());
		shmstat_unlink(name);
		return 1;
	}
	if (pthread_create(&t, NULL, watcher, NULL) != 0) {
		fprintf(stderr, "cannot make the watcher\n");
		shmstat_unlink(name);
		return 1;
	}
	run_spin();
	pthread_join(t, NULL);
	shmstat_profiler_stop(seg);
	(void)count();
	shmstat_close(seg);
	shmstat_unlink(name);
	printf("%llu samples under run_spin, %llu of them in spin_h's loop\n",
	       (unsigned long long)with_run, (unsigned long long)in_spin);
	if (with_run < 50 || in_spin * 10 < with_run * 9) {
		fprintf(stderr, "FAIL: the spinning handler's samples are not its own\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}
#else
int main(void)
{
	printf("SKIP: x86-64 only (the handler in x86-64 assembly)\n");
	return 77;
}
#endif
