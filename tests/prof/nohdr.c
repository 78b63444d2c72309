/*
 * nohdr.c - a library linked without .eh_frame_hdr (-Wl,--no-eh-frame-hdr,
 * as GCC links static executables), for test_cfi: its .eh_frame must be
 * found and walked without the header's table. Cold functions go to
 * .text.unlikely, placed before .text while their FDEs stay in source
 * order: the FDEs are out of address order, as in real programs.
 */
#include <stdint.h>
#include <string.h>

uint64_t nohdr_entry(uint64_t x, unsigned n);

#define COLD __attribute__((noinline, cold))
#define HOT __attribute__((noinline))

HOT static uint64_t mix(uint64_t x)
{
	return x * 6364136223846793005ULL + 1442695040888963407ULL;
}

COLD static uint64_t rare(uint64_t x, volatile char *buf)
{
	memset((char *)buf, (int)x, 64);
	return x ^ (uint64_t)buf[7];
}

HOT static uint64_t framed(uint64_t x, unsigned n)
{
	volatile char buf[256];

	for (unsigned i = 0; i < n; i++) {
		buf[i % sizeof(buf)] = (char)x;
		x = mix(x) + (uint64_t)buf[(i * 7) % sizeof(buf)];
		if (x % 1000003 == 0)
			x = rare(x, buf);
	}
	return x;
}

COLD static uint64_t rare2(uint64_t x, uint64_t (*f)(uint64_t))
{
	return f(f(x));
}

HOT static uint64_t varlen(uint64_t x, unsigned n)
{
	volatile char *v = __builtin_alloca(16 + n % 512);

	v[0] = (char)x;
	if ((x & 0xffff) == 7)
		x = rare2(x, mix);
	return x + (uint64_t)v[0] + framed(x, n % 64);
}

uint64_t nohdr_entry(uint64_t x, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		x = varlen(x, i) ^ framed(x, i);
	return x;
}
