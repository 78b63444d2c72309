/*
 * nocfi.c - a comparison callback built without unwind tables
 * (-fno-asynchronous-unwind-tables, tests/prof/meson.build): a leaf with
 * no frame and no row, called through a pointer by libc's qsort.
 */
#include "nocfi.h"

int nocfi_cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	/* some work a call, so that samples land here */
	for (int i = 0; i < 8; i++) {
		x = x * 2654435761u + 1;
		y = y * 2654435761u + 1;
		__asm__ volatile("" : "+r"(x), "+r"(y));
	}
	return (x > y) - (x < y);
}
