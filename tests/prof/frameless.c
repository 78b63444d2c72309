/*
 * frameless.c - a shared library built with -O2 -fomit-frame-pointer
 * (tests/prof/meson.build), as libc, libstdc++ or OpenSSL are built by
 * distributions: its hot loop calls back into the program. Per round it
 * calls @a 7 times and @b 3 times, so when the two callbacks cost the
 * same, 70% of the CPU time is in @a and 30% in @b. Six values live
 * across the calls make GCC keep one in rbp, the frame pointer of code
 * built with frame pointers: a frame-pointer walk from a callback cannot
 * get past the library (tests/prof/frameless.sh checks the disassembly).
 */
#include <stdint.h>

#include "frameless.h"

__attribute__((noinline, visibility("default"))) uint64_t fl_inner(fl_cb a, fl_cb b, uint64_t x,
								   unsigned long rounds)
{
	uint64_t y = x ^ 0x5555;

	for (unsigned long r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < 7; i++)
			x = a(x + i) ^ y;
		for (unsigned i = 0; i < 3; i++)
			y = b(y + i) + x;
	}
	return x ^ y;
}

__attribute__((noinline, visibility("default"))) uint64_t fl_outer(fl_cb a, fl_cb b, uint64_t x,
								   unsigned long rounds)
{
	/* not a tail call: this frame stays on the stack */
	return fl_inner(a, b, x, rounds) * 3 + 1;
}
