/*
 * test_sigexact.c - the code a signal interrupted, below a handler, is
 * named by the instruction it was interrupted at, not the one before.
 *
 *   test_sigexact SHMSTAT
 *
 * Readers look every frame but the leaf up at its address - 1: a return
 * address's call. The frame below a signal trampoline is not one: it is
 * the interrupted instruction, and at a function's first instruction
 * address - 1 lies in the function before it. A handler whose samples
 * interrupted a loop calling a 3-instruction function had 7% of its
 * samples named "[prog]" (the padding before that function) where perf
 * names the function (27% of those in it). Such a frame is now stored as
 * its pc + 1.
 *
 * Made deterministic in assembly: ex_before ends with a tgkill system
 * call that sends SIGUSR1, and ex_after starts right after it, so the
 * signal interrupts ex_after's first instruction; the handler raises
 * SIGPROF, which the profiler (at 1 Hz: its timers take no sample
 * meanwhile) samples. The one stack through on_usr1 must read
 * "ex_run;ex_after;", not "ex_run;ex_before;" (as it did). x86-64 only.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <limits.h>

#include "shmstat.h"
#include "shmstat_profile.h"

#if defined(__x86_64__)
void ex_before(long pid, long tid, long sig);
void ex_run(void);

/* ex_before: tgkill(pid, tid, sig), the system call its last
 * instruction; ex_after, right after it, returns for both */
__asm__(".text\n"
	".globl ex_before\n"
	".type ex_before, @function\n"
	"ex_before:\n"
	"	.cfi_startproc\n"
	"	mov $234, %eax\n"             /* SYS_tgkill */
	"	syscall\n"
	"	.cfi_endproc\n"
	".size ex_before, .-ex_before\n"
	".globl ex_after\n"
	".type ex_after, @function\n"
	"ex_after:\n"
	"	.cfi_startproc\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size ex_after, .-ex_after\n");

/* not a tail call: on_usr1 keeps its frame */
__attribute__((noinline)) static void on_usr1(int sig)
{
	(void)sig;
	raise(SIGPROF);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void ex_run(void)
{
	ex_before(getpid(), syscall(SYS_gettid), SIGUSR1);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	char name[64], cmd[PATH_MAX + 128], line[8192];
	struct sigaction sa;
	shmstat_seg *seg;
	FILE *f;
	int lines = 0, after = 0, before = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: test_sigexact SHMSTAT\n");
		return 2;
	}
	snprintf(name, sizeof(name), "ut-sigexact-%d", (int)getpid());
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL) != 0 || shmstat_open(name, NULL, &seg) != 0 ||
	    shmstat_profiler_start(seg, 1) != 0) {
		fprintf(stderr, "cannot start: %s\n", shmstat_last_error());
		shmstat_unlink(name);
		return 1;
	}
	ex_run();
	shmstat_profiler_stop(seg);
	snprintf(cmd, sizeof(cmd), "'%s' flame '%s'", argv[1], name);
	f = popen(cmd, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "on_usr1") == NULL)
			continue;
		printf("%s%s", line, strchr(line, '\n') ? "" : "\n");
		lines++;
		after += strstr(line, ";ex_run;ex_after;") != NULL;
		before += strstr(line, "ex_before") != NULL;
	}
	if (f == NULL || pclose(f) != 0) {
		fprintf(stderr, "%s failed\n", cmd);
		shmstat_unlink(name);
		return 1;
	}
	shmstat_close(seg);
	shmstat_unlink(name);
	if (lines != 1 || after != 1 || before != 0) {
		fprintf(stderr, "FAIL: the interrupted ex_after is not named ex_after under ex_run "
			"(%d stacks through on_usr1, %d with ex_after, %d with ex_before)\n",
			lines, after, before);
		return 1;
	}
	printf("ok\n");
	return 0;
}
#else
int main(void)
{
	printf("SKIP: x86-64 only (the interrupted point made in x86-64 assembly)\n");
	return 77;
}
#endif
