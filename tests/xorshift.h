/*
 * xorshift.h - the tests' pseudo-random numbers: Marsaglia's xorshift64
 * (13, 7, 17), reproducible from a seed, never 0 from a seed that is not.
 */
#ifndef SHMSTAT_TESTS_XORSHIFT_H
#define SHMSTAT_TESTS_XORSHIFT_H

#include <stdint.h>

/* The next number after *@x, kept in *@x */
static inline uint64_t xorshift64(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

#endif
