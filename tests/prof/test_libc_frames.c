/*
 * test_libc_frames.c - samples taken inside libc keep their callers.
 *
 * A thread runs lf_top -> lf_a -> lf_b -> a libc function in a loop,
 * profiled at 1 kHz, until the profile holds enough samples whose leaf
 * is in libc; each such sample must have lf_b, lf_a and lf_top above it,
 * in that order. Two places where walks lost them (x86-64):
 *
 *   - an epilogue past `pop %rbp`: GCC's rows still say "rbp saved at
 *     CFA - 16", now below the stack pointer (in the red zone), and the
 *     walk read no saved frame pointer below sp: a caller whose CFA is
 *     rbp-based ended the walk (snprintf("%f")'s hack_digit, malloc,
 *     any function returning to a caller built with frame pointers);
 *   - glibc's __longjmp, whose rows put the CFA in rdi (the jmp_buf) and
 *     the caller's rsp, rbp and rip in r8, r9 and rdx: no row was kept
 *     there, and the frame pointer (the jmp_buf in siglongjmp) gave
 *     garbage frames.
 *
 * Each is reproduced exactly by a function in assembly with the same
 * rows (every sample lost before the fix: the assertions fail without
 * it), then measured in libc itself (snprintf("%f"), longjmp), where the
 * places are hit by a few percent of the samples. Rows that lie in the
 * new way (a CFA on a PROT_NONE page, an sp above the stack) are
 * sampled too: no read outside the stack, every sample counted.
 *
 * Built with ASan+UBSan (tests/prof/meson.build); work is counted in
 * rounds until the profile holds enough samples, never in seconds.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "ut_common.h"

#if defined(__x86_64__)

/*
 * lf_popped(n): GCC's epilogue, spinning past its `pop %rbp` (rows: CFA
 * = rsp + 8, rbp "saved" at CFA - 16 = rsp - 8, below sp).
 * lf_regs(n, buf): spins where its rows say CFA = rsi (@buf, not on the
 * stack), the caller's rsp in r8, rbp in r9, rip in rdx, as __longjmp's
 * do; it has pushed a zero and zeroed rbp there, so neither the frame
 * pointer nor the word at sp leads to its caller.
 * lf_regs_lie(n, page, high): the same rows with rsi = a PROT_NONE page
 * and the return address "at CFA + 0" (on the page), then (r8 = @high)
 * an sp above the stack: the walk must read neither.
 */
void lf_popped(unsigned long n);
void lf_regs(unsigned long n, void *buf);
void lf_regs_lie(unsigned long n, void *page, void *high);
extern const char lf_popped_loop[], lf_regs_loop[], lf_regs_lie_loop[], lf_regs_lie_loop2[];
__asm__(".text\n"
	".globl lf_popped\n.type lf_popped, @function\nlf_popped:\n"
	" .cfi_startproc\n push %rbp\n .cfi_def_cfa_offset 16\n .cfi_offset %rbp, -16\n"
	" mov %rsp, %rbp\n pop %rbp\n .cfi_def_cfa_offset 8\n"
	".globl lf_popped_loop\nlf_popped_loop: dec %rdi\n jnz lf_popped_loop\n"
	" ret\n .cfi_endproc\n"
	".size lf_popped, .-lf_popped\n"
	".globl lf_regs\n.type lf_regs, @function\nlf_regs:\n"
	" .cfi_startproc\n lea 8(%rsp), %r8\n mov %rbp, %r9\n mov (%rsp), %rdx\n"
	" push $0\n xor %ebp, %ebp\n"
	" .cfi_remember_state\n .cfi_def_cfa %rsi, 0\n .cfi_register %rsp, %r8\n"
	" .cfi_register %rbp, %r9\n .cfi_register %rip, %rdx\n"
	".globl lf_regs_loop\nlf_regs_loop: dec %rdi\n jnz lf_regs_loop\n"
	" .cfi_restore_state\n pop %rax\n mov %r9, %rbp\n ret\n .cfi_endproc\n"
	".size lf_regs, .-lf_regs\n"
	".globl lf_regs_lie\n.type lf_regs_lie, @function\nlf_regs_lie:\n"
	" .cfi_startproc\n mov %rdi, %rcx\n lea 8(%rsp), %r8\n"
	" .cfi_remember_state\n .cfi_def_cfa %rsi, 0\n .cfi_register %rsp, %r8\n"
	" .cfi_offset %rip, 0\n"
	".globl lf_regs_lie_loop\nlf_regs_lie_loop: dec %rdi\n jnz lf_regs_lie_loop\n"
	" .cfi_restore_state\n mov %rdx, %r8\n mov (%rsp), %rdx\n"
	" .cfi_remember_state\n .cfi_register %rsp, %r8\n .cfi_register %rip, %rdx\n"
	".globl lf_regs_lie_loop2\nlf_regs_lie_loop2: dec %rcx\n jnz lf_regs_lie_loop2\n"
	" .cfi_restore_state\n ret\n .cfi_endproc\n"
	".size lf_regs_lie, .-lf_regs_lie\n");
#endif

enum work { W_POPPED, W_REGS, W_REGS_LIE, W_PRINTF, W_LONGJMP };

/* lf_b runs a round of work each time it is told to (go), until quit:
 * the thread lives through the whole run, so no sample of its start or
 * exit is counted, and the main thread reads the profile in between */
struct job {
	enum work w;
	unsigned rounds;
	void *page;                /* W_REGS_LIE: PROT_NONE */
	uint64_t out;
	sem_t go, done;
	int quit;
};

static char regs_buf[64];      /* lf_regs's "CFA": not on the stack */

/* a setjmp and a longjmp to it (here: lf_b's variables are no
 * longjmp's business) */
__attribute__((noinline)) int lf_jump(void);
__attribute__((noinline)) int lf_jump(void)
{
	jmp_buf jb;

	if (setjmp(jb) == 0)
		longjmp(jb, 1);
	return 1;
}

__attribute__((noinline)) void lf_b(struct job *j);
__attribute__((noinline)) void lf_b(struct job *j)
{
	char buf[128];

	for (;;) {
	while (sem_wait(&j->go) != 0)
		;
	if (j->quit)
		break;
	for (unsigned i = 0; i < j->rounds; i++) {
		switch (j->w) {
#if defined(__x86_64__)
		case W_POPPED:
			lf_popped(100000);
			break;
		case W_REGS:
			lf_regs(100000, regs_buf);
			break;
		case W_REGS_LIE:
			lf_regs_lie(100000, j->page, (void *)(UINTPTR_MAX - 4095));
			break;
#else
		case W_POPPED:
		case W_REGS:
		case W_REGS_LIE:
			break;
#endif
		case W_PRINTF:
			snprintf(buf, sizeof(buf), "%f %.20f", i * 1.337e7, i / 3.0);
			j->out += (unsigned char)buf[3];
			break;
		case W_LONGJMP:
			j->out += lf_jump();
			break;
		}
	}
	sem_post(&j->done);
	}
	__asm__ volatile("");
}

__attribute__((noinline)) void lf_a(struct job *j);
__attribute__((noinline)) void lf_a(struct job *j)
{
	lf_b(j);
	__asm__ volatile("");
}

__attribute__((noinline)) void *lf_top(void *arg);
__attribute__((noinline)) void *lf_top(void *arg)
{
	lf_a(arg);
	__asm__ volatile("");
	return arg;
}

static const char *fn_name(uint64_t pc)
{
	Dl_info di;

	if (dladdr((void *)(uintptr_t)pc, &di) == 0 || di.dli_sname == NULL)
		return "";
	return di.dli_sname;
}

static int in_libc(uint64_t pc)
{
	Dl_info di;

	return dladdr((void *)(uintptr_t)pc, &di) != 0 && di.dli_fname != NULL &&
	       strstr(di.dli_fname, "/libc.so") != NULL;
}

/* Is @leaf a sample of work @w? */
static int of_work(enum work w, uint64_t leaf)
{
#if defined(__x86_64__)
	const char *loop = w == W_POPPED ? lf_popped_loop : w == W_REGS ? lf_regs_loop : NULL;

	if (w == W_REGS_LIE)
		return (leaf >= (uintptr_t)lf_regs_lie_loop && leaf < (uintptr_t)lf_regs_lie_loop + 5) ||
		       (leaf >= (uintptr_t)lf_regs_lie_loop2 && leaf < (uintptr_t)lf_regs_lie_loop2 + 5);
	if (loop)
		return leaf >= (uintptr_t)loop && leaf < (uintptr_t)loop + 5;
#endif
	return (w == W_PRINTF || w == W_LONGJMP) && in_libc(leaf);
}

/* Samples of work @w in segment @name: @n, of which @kept have lf_b,
 * lf_a and lf_top above the leaf, in order; @deepest: the most frames. */
static void count(const char *name, enum work w, uint64_t *n, uint64_t *kept, uint32_t *deepest)
{
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p;

	*n = *kept = 0;
	*deepest = 0;
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	assert_int_equal(shmstat_snap_profile(r, s, &p), 0);
	for (size_t k = 0; k < shmstat_profile_stacks(p); k++) {
		struct shmstat_stack_info si;
		uint32_t d = 1;

		shmstat_profile_stack(p, k, &si);
		if (si.kind != SHMSTAT_STACK_CPU || !of_work(w, si.pcs[0]))
			continue;
		*n += si.samples;
		if (si.depth > *deepest)
			*deepest = si.depth;
		while (d < si.depth && strcmp(fn_name(si.pcs[d] - 1), "lf_b") != 0)
			d++;
		if (d + 2 < si.depth && strcmp(fn_name(si.pcs[d + 1] - 1), "lf_a") == 0 &&
		    strcmp(fn_name(si.pcs[d + 2] - 1), "lf_top") == 0)
			*kept += si.samples;
	}
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
}

/* Run work @w in a thread, in rounds, until the profile holds @want of
 * its samples (at most 4,000 rounds: a bound on the test's time, not a
 * figure it expects; on a freshly booted machine of 2026-12-07, 400
 * rounds of longjmps held 767 to 1,003 samples in libc, short of 1,000
 * in 3 of 4 runs); @n, @kept as count(). */
static void run(enum work w, const char *tag, uint64_t want, uint64_t *n, uint64_t *kept,
		uint32_t *deepest)
{
	const char *name = ut_name(tag);
	struct shmstat_opts o;
	shmstat_seg *seg;
	sigset_t ss, old;
	pthread_attr_t at;
	pthread_t t;
	struct job j = { .w = w, .rounds = w == W_PRINTF || w == W_LONGJMP ? 20000 : 200 };

	j.page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(j.page != MAP_FAILED);
	assert_int_equal(sem_init(&j.go, 0, 0), 0);
	assert_int_equal(sem_init(&j.done, 0, 0), 0);
	/* this thread's reads are no samples: it blocks SIGPROF, the
	 * worker starts with it unblocked */
	sigemptyset(&ss);
	sigaddset(&ss, SIGPROF);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &ss, &old), 0);
	pthread_attr_init(&at);
	ss = old;
	sigdelset(&ss, SIGPROF);
	assert_int_equal(pthread_attr_setsigmask_np(&at, &ss), 0);
	shmstat_opts_init(&o);
	ut_small_opts(&o);
	o.max_stacks = 1024;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_profiler_start(seg, 1000), 0);
	assert_int_equal(pthread_create(&t, &at, lf_top, &j), 0);
	*n = 0;
	for (int round = 0; round < 4000 && *n < want; round++) {
		sem_post(&j.go);
		while (sem_wait(&j.done) != 0)
			;
		count(name, w, n, kept, deepest);
	}
	j.quit = 1;
	sem_post(&j.go);
	pthread_join(t, NULL);
	pthread_attr_destroy(&at);
	assert_int_equal(shmstat_profiler_stop(seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
	/* a SIGPROF still pending here is ignored: the handler stays */
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	munmap(j.page, 4096);
	sem_destroy(&j.go);
	sem_destroy(&j.done);
	print_message("%s: %llu samples, %llu with lf_b;lf_a;lf_top above\n", tag,
		      (unsigned long long)*n, (unsigned long long)*kept);
}

/* ------------------------------------------------------------------ tests */

#if defined(__x86_64__)
/* Past the epilogue's pop: every sample keeps its callers (the caller's
 * CFA is rbp-based: the popped rbp is read in the red zone). Before:
 * lf_b only, the walk stopped there, in every sample. */
static void test_popped(void **state)
{
	uint64_t n, kept;
	uint32_t deepest;

	(void)state;
	run(W_POPPED, "lfpop", 200, &n, &kept, &deepest);
	assert_true(n >= 200);
	assert_int_equal(kept, n);
}

/* Rows like __longjmp's (CFA and the caller's registers in registers):
 * every sample keeps its callers. Before: the leaf alone (the frame
 * pointer is 0, the word at sp 0), in every sample. */
static void test_regs(void **state)
{
	uint64_t n, kept;
	uint32_t deepest;

	(void)state;
	run(W_REGS, "lfregs", 200, &n, &kept, &deepest);
	assert_true(n >= 200);
	assert_int_equal(kept, n);
}

/* Such rows that lie: a CFA on a PROT_NONE page with the return address
 * there, a caller's sp above the stack. The walk reads neither (SIGSEGV
 * otherwise) and stops at the leaf; every sample is counted. */
static void test_regs_lie(void **state)
{
	uint64_t n, kept;
	uint32_t deepest;

	(void)state;
	run(W_REGS_LIE, "lflie", 200, &n, &kept, &deepest);
	assert_true(n >= 200);
	assert_int_equal(kept, 0);
	assert_int_equal(deepest, 1);
}
#endif

/* In libc: snprintf("%f") (__printf_fp and its helpers, whose epilogues
 * pop rbp) and longjmp (__longjmp). */
static void test_printf_fp(void **state)
{
	uint64_t n, kept;
	uint32_t deepest;

	(void)state;
	run(W_PRINTF, "lfprintf", 1000, &n, &kept, &deepest);
	assert_true(n >= 1000);
	assert_true(kept * 1000 >= n * 998);
}

static void test_longjmp(void **state)
{
	uint64_t n, kept;
	uint32_t deepest;

	(void)state;
	run(W_LONGJMP, "lfjmp", 1000, &n, &kept, &deepest);
	assert_true(n >= 1000);
	assert_true(kept * 1000 >= n * 998);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#if defined(__x86_64__)
		cmocka_unit_test_teardown(test_popped, ut_teardown),
		cmocka_unit_test_teardown(test_regs, ut_teardown),
		cmocka_unit_test_teardown(test_regs_lie, ut_teardown),
#endif
		cmocka_unit_test_teardown(test_printf_fp, ut_teardown),
		cmocka_unit_test_teardown(test_longjmp, ut_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
