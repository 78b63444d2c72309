/*
 * bigmem.c - large arrays in huge pages (bigmem.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "bigmem.h"

#define HUGE_BYTES ((size_t)2 << 20)
#define BIG ((size_t)1 << 20)           /* from here on, huge pages */

/* the mapping's length: whole huge pages (kernels since 6.7 align
 * anonymous mappings of such lengths to them) */
static size_t mapped(size_t n)
{
	return n > SIZE_MAX - HUGE_BYTES ? 0 : (n + HUGE_BYTES - 1) / HUGE_BYTES * HUGE_BYTES;
}

void *big_alloc(size_t n)
{
	size_t len = mapped(n);
	void *p;

	if (n < BIG)
		return malloc(n ? n : 1);
	if (len == 0)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* advice only: small pages if the kernel has no huge ones */
	(void)madvise(p, len, MADV_HUGEPAGE);
	return p;
}

void big_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (n < BIG)
		free(p);
	else
		(void)munmap(p, mapped(n));
}
