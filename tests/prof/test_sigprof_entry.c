/*
 * test_sigprof_entry.c - a SIGPROF delivered at the handler's first
 * instruction samples the code both signals interrupted, not the handler.
 *
 * A thread's own CPU timer and the process timer expire at the same tick;
 * the kernel sets up the frame of one SIGPROF and, the handler running
 * with SIGPROF unblocked (SA_NODEFER), delivers the other at once, before
 * the first handler ran an instruction. That sample was taken there: its
 * leaf the profiler's own handler (on_sigprof <- [libc.so.6] <- the code),
 * in each thread's first sample (its own timer's first signal, the outer
 * one, is skipped): threads of about 7 ms of CPU at 997 Hz had 55% of
 * their samples in on_sigprof.
 *
 * Reproduced without timers: SIGPROF blocked, one sent to the process
 * (shared) and one to the thread (its own), then unblocked in
 * unblock_here(): both are delivered back to back, the second at the
 * handler's entry. Both must be one stack (2 samples, the same frames),
 * whose leaf is not in libshmstat and which holds unblock_here's
 * caller, run(). Before the fix: two stacks, one with its leaf in
 * libshmstat (on_sigprof). Single-threaded, at 1 Hz: the timers take no
 * sample during the test.
 *
 * The same at the entry of the program's own handler (x86-64): a SIGUSR1
 * raised while a SIGPROF is pending is set up first (lower number), and
 * the SIGPROF interrupted on_usr1 before its first instruction, so the
 * CPU of the kill went to on_usr1 (12% of the samples of a loop of
 * raise(SIGUSR1), where perf has pthread_kill). run_usr1() unblocks both
 * at once: the one sample must hold run_usr1 and not have on_usr1 as its
 * leaf (it had before the fix). That handler is installed before the
 * profiler starts; run_usr2() does the same with SIGUSR2, whose handler
 * on_usr2 is installed after the start: its one sample must hold
 * run_usr2, not have on_usr2 as its leaf (it had while the profiler
 * read the handlers only at its start and at shmstat_profiler_modules).
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"

static char name[64];

static void fail(const char *what)
{
	fprintf(stderr, "%s\n", what);
	shmstat_unlink(name);
	exit(1);
}

void unblock_here(const sigset_t *set);
void run(void);

__attribute__((noinline)) void unblock_here(const sigset_t *set)
{
	sigprocmask(SIG_UNBLOCK, set, NULL);
	__asm__ volatile("" ::: "memory");
}

/* the function whose return address every sample must hold (exported:
 * dladdr names it) */
__attribute__((noinline)) void run(void)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPROF);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		fail("cannot block SIGPROF");
	if (kill(getpid(), SIGPROF) != 0 ||
	    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGPROF) != 0)
		fail("cannot send SIGPROF");
	if (sigpending(&pend) != 0 || !sigismember(&pend, SIGPROF))
		fail("SIGPROF is not pending");
	unblock_here(&set);
	__asm__ volatile("" ::: "memory");
}

static volatile sig_atomic_t usr_seen;

void on_usr1(int sig);
__attribute__((noinline)) void on_usr1(int sig)
{
	(void)sig;
	usr_seen = 1;
}

void on_usr2(int sig);
__attribute__((noinline)) void on_usr2(int sig)
{
	(void)sig;
	usr_seen = 2;
}

void pend_both(int sig);
void run_usr1(void);
void run_usr2(void);

/* @sig and SIGPROF pending together, then unblocked at once: the
 * SIGPROF is delivered at @sig's handler's entry (x86-64 sets up the
 * lower signal first) */
__attribute__((noinline)) void pend_both(int sig)
{
	sigset_t set;
	long tid = syscall(SYS_gettid);

	usr_seen = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGPROF);
	sigaddset(&set, sig);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		fail("cannot block the signal and SIGPROF");
	if (syscall(SYS_tgkill, getpid(), tid, SIGPROF) != 0 ||
	    syscall(SYS_tgkill, getpid(), tid, sig) != 0)
		fail("cannot send SIGPROF and the signal");
	unblock_here(&set);
	if (usr_seen != (sig == SIGUSR1 ? 1 : 2))
		fail("the signal was not delivered");
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void run_usr1(void)
{
	pend_both(SIGUSR1);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void run_usr2(void)
{
	pend_both(SIGUSR2);
	__asm__ volatile("" ::: "memory");
}

static int in_module(uint64_t pc, const char *what)
{
	Dl_info di;

	return dladdr((void *)(uintptr_t)pc, &di) != 0 && di.dli_fname &&
	       strstr(di.dli_fname, what) != NULL;
}

/* return address @pc is in function @fn */
static int in_function(uint64_t pc, const char *fn)
{
	Dl_info di;

	return dladdr((void *)(uintptr_t)(pc - 1), &di) != 0 && di.dli_sname &&
	       strcmp(di.dli_sname, fn) == 0;
}

int main(void)
{
	shmstat_seg *seg;
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p;
	struct shmstat_stack_info st;
	struct sigaction sa;
	uint64_t total = 0;
	size_t stacks = 0, with_run = 0, with_usr1 = 0, usr1_leaf = 0, with_usr2 = 0, usr2_leaf = 0;

	snprintf(name, sizeof(name), "ut-sigprof-entry-%d", (int)getpid());
	/* before the start: the profiler knows the handlers installed then
	 * (and at shmstat_profiler_modules) */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		fail("cannot install the SIGUSR1 handler");
	if (shmstat_open(name, NULL, &seg) != 0 || shmstat_profiler_start(seg, 1) != 0) {
		fprintf(stderr, "%s\n", shmstat_last_error());
		shmstat_unlink(name);
		return 1;
	}
	/* after the start: asked for when its entry is sampled */
	sa.sa_handler = on_usr2;
	if (sigaction(SIGUSR2, &sa, NULL) != 0)
		fail("cannot install the SIGUSR2 handler");
	run();
	run_usr1();
	run_usr2();
	if (shmstat_profiler_stop(seg) != 0)
		fail("cannot stop the profiler");
	if (shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &s) != 0 ||
	    shmstat_snap_profile(r, s, &p) != 0)
		fail(shmstat_last_error());
	for (size_t k = 0; k < shmstat_profile_stacks(p); k++) {
		if (shmstat_profile_stack(p, k, &st) != 0 || st.kind != SHMSTAT_STACK_CPU)
			continue;
		stacks++;
		total += st.samples;
		printf("stack %zu: %llu samples, %u frames, leaf %#llx%s\n", k,
		       (unsigned long long)st.samples, st.depth, (unsigned long long)st.pcs[0],
		       in_module(st.pcs[0], "libshmstat") ? " (in libshmstat)" : "");
		if (in_module(st.pcs[0], "libshmstat"))
			fail("a sample's leaf is the profiler's own handler");
		for (uint32_t i = 1; i < st.depth; i++) {
			if (in_function(st.pcs[i], "run_usr2")) {
				with_usr2 += st.samples;
				if (st.pcs[0] == (uint64_t)(uintptr_t)on_usr2)
					usr2_leaf += st.samples;
				break;
			}
			if (in_function(st.pcs[i], "run_usr1")) {
				with_usr1 += st.samples;
				if (st.pcs[0] == (uint64_t)(uintptr_t)on_usr1)
					usr1_leaf += st.samples;
				break;
			}
			if (in_function(st.pcs[i], "run")) {
				with_run++;
				break;
			}
		}
	}
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	if (total != 4)
		fail("not 4 samples for the 4 SIGPROF");
	if (stacks != 3 || with_run != 1)
		fail("the 2 SIGPROF, delivered at the same point, are not one stack through run()");
	if (with_usr1 != 1)
		fail("the SIGPROF at on_usr1's entry has no stack through run_usr1()");
	if (usr1_leaf != 0)
		fail("the SIGPROF at on_usr1's entry sampled on_usr1, which had not run yet");
	if (with_usr2 != 1)
		fail("the SIGPROF at on_usr2's entry has no stack through run_usr2()");
	if (usr2_leaf != 0)
		fail("the SIGPROF at on_usr2's entry (a handler installed after the start) sampled on_usr2, which had not run yet");
	shmstat_close(seg);
	shmstat_unlink(name);
	printf("ok: the SIGPROF delivered at a handler's entry sampled the code it interrupted\n");
	return 0;
}
