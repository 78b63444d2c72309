/*
 * numfmt.c - doubles as printf writes them, without printf (numfmt.h).
 *
 * A finite |v| > 0 is m * 2^e with m an odd integer below 2^53. To round
 * it at the 10^-k place, write |v| * 10^k = num / den with
 *
 *   num = m * 2^max(e, 0) * 10^max(k, 0),  den = 2^max(-e, 0) * 10^max(-k, 0)
 *
 * then q = num / den and r = num % den are exact, and the rounded D is
 * q, or q + 1 when r is past half of den or at half with q odd. %g needs
 * the decimal exponent X = floor(log10 |v|) first, exactly: a guess from
 * the binary exponent, corrected while q falls outside
 * [10^(prec-1), 10^prec); rounding up to 10^prec then moves X up one.
 * Whatever does not fit in 128 bits goes to snprintf.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"

typedef unsigned __int128 u128;

static const uint64_t pow10_64[20] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
	100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
	10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
};

/* 10^k for k in 0..38 */
static u128 pow10_128(int k)
{
	return k < 20 ? pow10_64[k] : (u128)pow10_64[19] * pow10_64[k - 19];
}

/* |v| * 10^k as q + r / den */
struct scaled {
	u128 q, r, den;
};

/* Split finite, normal, non-zero @a into m * 2^*e with m odd; false for
 * subnormals (left to snprintf). */
static bool split(double a, uint64_t *m, int *e)
{
	uint64_t bits;
	int be;

	memcpy(&bits, &a, sizeof(bits));
	be = (int)((bits >> 52) & 0x7ff);
	if (be == 0)
		return false;
	*m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
	*e = be - 1075;
	{
		const int tz = __builtin_ctzll(*m);

		*m >>= tz;
		*e += tz;
	}
	return true;
}

static bool scale(uint64_t m, int e, int k, struct scaled *s)
{
	u128 num = m, den = 1;

	if (k > 38 || k < -38 || e > 74 || e < -126)
		return false;
	if (e > 0)
		num <<= e;         /* m < 2^53: below 2^127 */
	else
		den <<= -e;
	if (k > 0 && __builtin_mul_overflow(num, pow10_128(k), &num))
		return false;
	if (k < 0 && __builtin_mul_overflow(den, pow10_128(-k), &den))
		return false;
	s->den = den;
	if (k >= 0) {              /* den is 2^-e: a shift, not a division */
		s->q = e < 0 ? num >> -e : num;
		s->r = num & (den - 1);
	} else {
		s->q = num / den;
		s->r = num % den;
	}
	return true;
}

/* q rounded on r: half to even */
static u128 rounded(const struct scaled *s)
{
	const u128 rest = s->den - s->r;

	return s->r > rest || (s->r == rest && (s->q & 1)) ? s->q + 1 : s->q;
}

size_t num_u64(char *buf, uint64_t v)
{
	char b[20];
	size_t i = sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(buf, b + i, sizeof(b) - i);
	return sizeof(b) - i;
}

size_t num_u128(char *buf, uint64_t hi, uint64_t lo)
{
	const uint64_t e19 = UINT64_C(10000000000000000000);
	u128 v = ((u128)hi << 64) | lo;
	char b[40];
	size_t i = sizeof(b), top;

	/* the low 19 digits at a time, leading zeros kept, while the rest
	 * does not fit in 64 bits (then it is not 0) */
	while (v > UINT64_MAX) {
		uint64_t r = (uint64_t)(v % e19);

		v /= e19;
		for (int k = 0; k < 19; k++, r /= 10)
			b[--i] = (char)('0' + r % 10);
	}
	top = num_u64(buf, (uint64_t)v);
	memcpy(buf + top, b + i, sizeof(b) - i);
	return top + sizeof(b) - i;
}

/* @nd digits of @d, leading zeros kept */
static void digits(char *out, uint64_t d, int nd)
{
	for (int i = nd - 1; i >= 0; i--) {
		out[i] = (char)('0' + d % 10);
		d /= 10;
	}
}

static __thread unsigned long slow_calls;

unsigned long num_slow_calls(void)
{
	return slow_calls;
}

/* snprintf's %.*g (@g) or %.*f */
static size_t slow(char *buf, size_t n, int g, int prec, double v)
{
	const int r = g ? snprintf(buf, n, "%.*g", prec, v) : snprintf(buf, n, "%.*f", prec, v);

	slow_calls++;
	return r < 0 ? 0 : (size_t)r;
}

size_t num_g(char *buf, size_t n, double v, int prec)
{
	char dg[17];
	struct scaled s;
	uint64_t m, d;
	int e, x, nd;
	char *p = buf;

	if (prec == 0)
		prec = 1;
	if (prec < 0 || prec > 17 || n < NUM_LEN || !isfinite(v))
		return slow(buf, n, 1, prec, v);
	if (signbit(v))
		*p++ = '-';
	if (v == 0) {
		*p++ = '0';
		*p = '\0';
		return (size_t)(p - buf);
	}
	if (!split(fabs(v), &m, &e))
		return slow(buf, n, 1, prec, v);
	/* the exponent: a guess from the binary one, then exact */
	x = (int)floor((e + 63 - __builtin_clzll(m)) * 0.30102999566398120);
	for (int tries = 0;; tries++) {
		if (tries == 4 || !scale(m, e, prec - 1 - x, &s))
			return slow(buf, n, 1, prec, v);
		if (s.q < pow10_64[prec - 1])
			x--;
		else if (s.q >= pow10_64[prec])
			x++;
		else
			break;
	}
	d = (uint64_t)rounded(&s);
	if (d == pow10_64[prec]) {
		d = pow10_64[prec - 1];
		x++;
	}
	digits(dg, d, prec);
	for (nd = prec; nd > 1 && dg[nd - 1] == '0'; nd--)
		;
	if (x >= -4 && x < prec) {
		if (x >= 0) {
			const int whole = x + 1;

			memcpy(p, dg, (size_t)(whole < nd ? whole : nd));
			p += whole < nd ? whole : nd;
			for (int i = nd; i < whole; i++)
				*p++ = '0';
			if (nd > whole) {
				*p++ = '.';
				memcpy(p, dg + whole, (size_t)(nd - whole));
				p += nd - whole;
			}
		} else {
			*p++ = '0';
			*p++ = '.';
			for (int i = 0; i < -x - 1; i++)
				*p++ = '0';
			memcpy(p, dg, (size_t)nd);
			p += nd;
		}
	} else {
		*p++ = dg[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, dg + 1, (size_t)(nd - 1));
			p += nd - 1;
		}
		*p++ = 'e';
		*p++ = x < 0 ? '-' : '+';
		if (x < 0)
			x = -x;
		if (x < 10)
			*p++ = '0';
		p += num_u64(p, (uint64_t)x);
	}
	*p = '\0';
	return (size_t)(p - buf);
}

size_t num_f(char *buf, size_t n, double v, int prec)
{
	char dg[24];
	struct scaled s;
	uint64_t m;
	u128 d = 0;
	int e, nd;
	char *p = buf;

	if (prec < 0 || prec > 17 || n < NUM_LEN || !isfinite(v))
		return slow(buf, n, 0, prec, v);
	if (v != 0) {
		if (!split(fabs(v), &m, &e) || !scale(m, e, prec, &s))
			return slow(buf, n, 0, prec, v);
		d = rounded(&s);
		if (d >> 64)
			return slow(buf, n, 0, prec, v);
	}
	if (signbit(v))
		*p++ = '-';
	nd = (int)num_u64(dg, (uint64_t)d);
	if (nd <= prec) {          /* 0.00ddd: pad to prec + 1 digits */
		memmove(dg + prec + 1 - nd, dg, (size_t)nd);
		memset(dg, '0', (size_t)(prec + 1 - nd));
		nd = prec + 1;
	}
	memcpy(p, dg, (size_t)(nd - prec));
	p += nd - prec;
	if (prec > 0) {
		*p++ = '.';
		memcpy(p, dg + nd - prec, (size_t)prec);
		p += prec;
	}
	*p = '\0';
	return (size_t)(p - buf);
}

/* The shortest digits (into @d, no NUL; their count) and the decimal
 * exponent of the first (*@x) of the double nearest @v / 10^@frac, a
 * decimal of more significant digits than every double keeps (15):
 * printf at growing precision until strtod reads the same double. */
static size_t shortest(char *d, uint64_t v, unsigned frac, int *x)
{
	char e[NUM_LEN];
	double w;
	int p;

	snprintf(e, sizeof(e), "%" PRIu64 "e-%u", v, frac);
	w = strtod(e, NULL);
	for (p = 0; p < 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p, w);
		if (strtod(e, NULL) == w)
			break;
	}
	d[0] = e[0];
	memcpy(d + 1, e + 2, (size_t)p);
	*x = (int)strtol(strchr(e, 'e') + 1, NULL, 10);
	return (size_t)p + 1;
}

size_t num_canonical(char *buf, size_t n, uint64_t v, unsigned frac)
{
	char d[24], *p = buf;
	size_t nd, sig;
	int x;

	if (n < NUM_LEN || frac > 19)
		return (size_t)snprintf(buf, n, "%s", "");
	nd = num_u64(d, v);
	x = (int)nd - 1 - (int)frac;
	for (sig = nd; sig > 1 && d[sig - 1] == '0'; sig--)
		;
	/* up to 15 significant digits a decimal is the shortest text of
	 * its double: two such decimals are further apart than the double's
	 * rounding interval, so no shorter one reads back the same */
	if (v == 0)
		x = 0;
	else if (sig > 15)
		sig = shortest(d, v, frac, &x);
	if (x < -4 || x >= 6) {
		*p++ = d[0];
		if (sig > 1) {
			*p++ = '.';
			memcpy(p, d + 1, sig - 1);
			p += sig - 1;
		}
		p += snprintf(p, 8, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
	} else if (x < 0) {
		memcpy(p, "0.0000", (size_t)(1 - x));
		p += 1 - x;
		memcpy(p, d, sig);
		p += sig;
	} else {
		const size_t in = (size_t)x + 1;      /* digits before the point */

		memcpy(p, d, sig < in ? sig : in);
		p += sig < in ? sig : in;
		for (size_t k = sig; k < in; k++)
			*p++ = '0';
		*p++ = '.';
		if (sig > in) {
			memcpy(p, d + in, sig - in);
			p += sig - in;
		} else {
			*p++ = '0';
		}
	}
	*p = '\0';
	return (size_t)(p - buf);
}
