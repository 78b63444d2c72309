/*
 * numfmt.h - doubles as decimal text, the bytes printf's "%.*g" and
 * "%.*f" write (round half to even on the exact binary value, as glibc
 * does in the default rounding mode), at a fifth of printf's cost
 * (%.17g of rates 1e-3..1e6: 73-79 ns against 360-410 ns; %.4g 61
 * against 200-230 ns; gcc -O2, one million figures, 2026-12-05).
 *
 * printf reaches the exact digits through arbitrary-precision arithmetic
 * for every figure; a `show` of 100k metrics spent a third of its time
 * there. Here a figure |v| = m * 2^e (m < 2^53) is scaled to an integer
 * D = round(|v| * 10^k) with one 128-bit division, which is exact as
 * long as m * 2^e * 10^k's numerator and denominator fit in 128 bits:
 * every %.17g of a value in about [1e-6, 1e38] and every %.Nf below
 * about 1e19. Anything else (infinities, NaN, subnormals, the far
 * ranges) goes to snprintf, so the answer is always printf's.
 */
#ifndef SHMSTAT_NUMFMT_H
#define SHMSTAT_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

/* A buffer of NUM_LEN bytes holds every figure num_g() writes, and
 * num_f()'s below 1e19 (longer ones are cut as snprintf cuts them). */
#define NUM_LEN 48

/* snprintf(buf, n, "%.*g", prec, v) for prec 0..17 (0 is 1, as printf
 * has it); the length written. */
size_t num_g(char *buf, size_t n, double v, int prec);

/* snprintf(buf, n, "%.*f", prec, v) for prec 0..17; the length written
 * (or that snprintf would have written). */
size_t num_f(char *buf, size_t n, double v, int prec);

/* The decimal digits of @v, no terminating NUL; how many (at most 20). */
size_t num_u64(char *buf, uint64_t v);

/* The decimal digits of @hi * 2^64 + @lo, no terminating NUL; how many
 * (at most 39). */
size_t num_u128(char *buf, uint64_t hi, uint64_t lo);

/* The decimal @v / 10^@frac (@frac <= 19) as OpenMetrics wants its
 * "le" label values, a canonical number: the shortest digits that read
 * back as the same double, laid out as Go's %g (an exponent below 1e-4
 * and from 1e+06 up, at least two digits), with ".0" when there is
 * neither point nor exponent: 1.0, 1023.0, 0.000131071, 1.27e-07,
 * 2.097151e+06. @n at least NUM_LEN; the length written. */
size_t num_canonical(char *buf, size_t n, uint64_t v, unsigned frac);

/* How many figures this thread has left to snprintf (for tests). */
unsigned long num_slow_calls(void);

#endif
