/*
 * test_sigframe_forged.c - the profiler's walk through a signal frame
 * (glibc's __restore_rt: CFA = *(sp + 160)) must not take a stack word
 * that only looks like a return into __restore_rt for a signal frame
 * whose saved sp leads off the thread's stack.
 *
 * The profiler is started from a helper thread with a 256 KiB stack, so
 * the main thread's stack bounds are not learnt (the walk bounds it by
 * the thread-pointer window, stack_max below the thread pointer) and the
 * helper's guard page lies in that window. The main thread then sends
 * itself SIGPROF (tgkill, so the sample is synchronous) from a leaf with
 * no unwind row and no frame pointer, on a fake stack inside its own
 * stack whose word at sp is __restore_rt + 1 and whose "ucontext" above
 * it holds rsp = the guard page. The walk took the word (leaf_return),
 * the trampoline's row made the guard page a stack to go on with up to
 * the thread pointer, and read it: SIGSEGV. It must sample and survive.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "prof_samples.h"

#if defined(__x86_64__)
/* forge(pid, tid, sig, sp): tgkill(pid, tid, sig) with rsp = sp and rbp 0,
 * in code without unwind rows */
__asm__(".text\n.globl forge\n.type forge,@function\nforge:\n"
	"push %rbp\npush %rbx\nmov %rsp,%rbx\nmov %rcx,%rsp\nxor %ebp,%ebp\n"
	"mov $234,%eax\nsyscall\nmov %rbx,%rsp\npop %rbx\npop %rbp\nret\n"
	".size forge,.-forge\n");
void forge(long pid, long tid, long sig, uintptr_t *sp);

static shmstat_seg *seg;
static char name[64];

static void *starter(void *arg)
{
	(void)arg;
	if (shmstat_open(name, NULL, &seg) != 0 || shmstat_profiler_start(seg, 1) != 0) {
		fprintf(stderr, "%s\n", shmstat_last_error());
		exit(1);
	}
	return NULL;
}

/* A page in [tp - max, tp) that cannot be read (a guard page, a hole),
 * or 0. */
static uintptr_t unreadable_below(uintptr_t tp, uintptr_t max)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uintptr_t prev = 0, found = 0;

	if (f == NULL)
		return 0;
	while (found == 0 && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perm[8] = "";

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3)
			continue;
		if (perm[0] != 'r' && lo < tp && tp - lo <= max)
			found = lo;
		else if (lo > prev && lo - 4096 >= prev && lo <= tp && tp - (lo - 4096) <= max)
			found = lo - 4096;
		prev = hi;
	}
	fclose(f);
	return found;
}

int main(void)
{
	uintptr_t stackbuf[8192], *sp, tp, bad, max = (uintptr_t)8 << 20;
	struct sigaction old;
	pthread_attr_t a;
	pthread_t th;
	size_t size = 0;
	uint64_t before, after;

	snprintf(name, sizeof(name), "ut-sigforged-%d", (int)getpid());
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, (size_t)256 << 10);
	if (pthread_create(&th, &a, starter, NULL) != 0 || pthread_join(th, NULL) != 0)
		return 1;
	pthread_attr_destroy(&a);
	/* the window the walk takes for a stack below the thread pointer */
	if (pthread_getattr_default_np(&a) == 0) {
		(void)pthread_attr_getstacksize(&a, &size);
		pthread_attr_destroy(&a);
		if (size >= ((size_t)64 << 10) && size <= ((size_t)1 << 30))
			max = size;
	}
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	bad = unreadable_below(tp, max);
	if (sigaction(SIGPROF, NULL, &old) != 0 || old.sa_restorer == NULL) {
		fprintf(stderr, "no signal trampoline\n");
		return 1;
	}
	if (bad == 0) {
		printf("skip: nothing unreadable within %#lx below the thread pointer\n",
		       (unsigned long)max);
		shmstat_close(seg);
		shmstat_unlink(name);
		return 77;
	}
	memset(stackbuf, 0, sizeof(stackbuf));
	sp = &stackbuf[4096];          /* the signal frame goes below */
	sp[0] = (uintptr_t)old.sa_restorer + 1;
	sp[1 + 120 / 8] = bad;         /* the "ucontext"'s rbp, */
	sp[1 + 160 / 8] = bad;         /* rsp */
	sp[1 + 168 / 8] = (uintptr_t)&main;   /* and rip */
	before = prof_cpu_samples(name);
	for (int i = 0; i < 10; i++)
		forge(getpid(), syscall(SYS_gettid), SIGPROF, sp);
	after = prof_cpu_samples(name);
	shmstat_close(seg);
	shmstat_unlink(name);
	if (after - before < 10) {
		fprintf(stderr, "%llu samples of 10 signals\n", (unsigned long long)(after - before));
		return 1;
	}
	printf("ok: 10 samples on a forged signal frame (sp %#lx unreadable)\n", (unsigned long)bad);
	return 0;
}
#else
int main(void)
{
	printf("skip: x86-64 only (a forged glibc signal frame)\n");
	return 77;
}
#endif
