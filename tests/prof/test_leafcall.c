/*
 * test_leafcall.c - a leaf without unwind rows called directly by code
 * with rows whose frame pointer holds data keeps all its callers.
 *
 * lc_leaf (assembly without CFI directives: no row, no frame) is called
 * by lc_caller (assembly with CFI, keeping data in rbp across the call,
 * as code built without frame pointers may), called by lc_run. The
 * handler has no row for the leaf's pc: the frame-pointer walk leads
 * nowhere (rbp is data), and the leaf heuristic found lc_caller (the word
 * at sp, after a direct call), which was then added alone: the stack
 * stopped there, "lc_caller;lc_leaf" (a static program's samples in a
 * memcpy@iplt stub under qsort lost all callers so: 7 of 1,715). The
 * walk now goes on from that word by the caller's rows, as for a leaf
 * called through a pointer. The samples are counted, not timed: the
 * test runs until 50 fall in lc_leaf, and asks that every one of them
 * has lc_run above it. x86-64 only.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_profile.h"

#if defined(__x86_64__)
uint64_t lc_leaf(uint64_t x);
uint64_t lc_caller(uint64_t x);
extern const char lc_leaf_end[];
uint64_t lc_run(uint64_t x);

__asm__(".text\n"
	".globl lc_leaf\n"
	".hidden lc_leaf\n"
	".type lc_leaf, @function\n"
	"lc_leaf:\n"                   /* no CFI: no row */
	"	mov %rdi, %rax\n"
	"	mov $200000, %ecx\n"
	"1:	imul $0x5851f42d, %rax, %rax\n"
	"	add $1, %rax\n"
	"	dec %ecx\n"
	"	jnz 1b\n"
	"	ret\n"
	".globl lc_leaf_end\n"
	".hidden lc_leaf_end\n"
	"lc_leaf_end:\n"
	".size lc_leaf, .-lc_leaf\n"
	".globl lc_caller\n"
	".hidden lc_caller\n"
	".type lc_caller, @function\n"
	"lc_caller:\n"
	"	.cfi_startproc\n"
	"	push %rbp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	.cfi_offset %rbp, -16\n"
	"	mov $0x5a5a5a5a, %ebp\n"    /* data in the frame pointer */
	"	call lc_leaf\n"
	"	pop %rbp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	.cfi_restore %rbp\n"
	"	add $1, %rax\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size lc_caller, .-lc_caller\n");

/* the function every sample in lc_leaf must have above it (exported:
 * dladdr names it) */
__attribute__((noinline)) uint64_t lc_run(uint64_t x)
{
	x = lc_caller(x);
	__asm__ volatile("" : "+r"(x));
	return x + 1;
}

static int is_run(uint64_t ret)
{
	Dl_info di;

	return dladdr((void *)(uintptr_t)(ret - 1), &di) != 0 && di.dli_sname &&
	       strcmp(di.dli_sname, "lc_run") == 0;
}

/* samples whose leaf lies in lc_leaf (*@whole: with lc_run above) */
static uint64_t leaf_samples(const char *name, uint64_t *whole)
{
	shmstat_reader *r;
	shmstat_snap *s;
	shmstat_profile *p;
	uint64_t n = 0;

	*whole = 0;
	if (shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &s) != 0 ||
	    shmstat_snap_profile(r, s, &p) != 0) {
		fprintf(stderr, "cannot read the profile: %s\n", shmstat_last_error());
		return UINT64_MAX;
	}
	for (size_t k = 0; k < shmstat_profile_stacks(p); k++) {
		struct shmstat_stack_info si;

		if (shmstat_profile_stack(p, k, &si) != 0 || si.kind != SHMSTAT_STACK_CPU ||
		    si.pcs[0] < (uintptr_t)lc_leaf || si.pcs[0] >= (uintptr_t)lc_leaf_end)
			continue;
		n += si.samples;
		for (uint32_t d = 1; d < si.depth; d++)
			if (is_run(si.pcs[d])) {
				*whole += si.samples;
				break;
			}
	}
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	return n;
}

int main(void)
{
	char name[64];
	shmstat_seg *seg;
	uint64_t n = 0, whole = 0, x = 1;

	snprintf(name, sizeof(name), "ut-leafcall-%d", (int)getpid());
	if (shmstat_open(name, NULL, &seg) != 0 || shmstat_profiler_start(seg, 1000) != 0) {
		fprintf(stderr, "%s\n", shmstat_last_error());
		shmstat_unlink(name);
		return 1;
	}
	for (int round = 0; round < 100000 && n < 50; round++) {
		for (int i = 0; i < 100; i++)
			x = lc_run(x);
		if ((n = leaf_samples(name, &whole)) == UINT64_MAX)
			break;
	}
	shmstat_profiler_stop(seg);
	shmstat_close(seg);
	shmstat_unlink(name);
	printf("%llu samples in lc_leaf, %llu with lc_run above (%llu)\n", (unsigned long long)n,
	       (unsigned long long)whole, (unsigned long long)(x & 1));
	if (n < 50 || n == UINT64_MAX || whole != n) {
		fprintf(stderr, "FAIL: a leaf without rows called directly lost its callers\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}
#else
int main(void)
{
	printf("SKIP: x86-64 only (a leaf in x86-64 assembly)\n");
	return 77;
}
#endif
