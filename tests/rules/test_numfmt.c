/*
 * test_numfmt.c - num_g() and num_f() (tools/numfmt.c) against glibc's
 * snprintf, byte for byte: edge values at every precision, exact ties,
 * and a million random figures of each kind; num_canonical() against
 * the same figure made the slow way (strtod, printf at growing
 * precision) and the OpenMetrics spec's examples. The fast path must carry
 * the figures it is meant for (counted by num_slow_calls()), or the
 * comparisons would only be testing snprintf against itself.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "numfmt.h"
#include "../xorshift.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	return xorshift64(&rng);
}

static void check_g(double v, int prec)
{
	char want[512], got[NUM_LEN];
	const int wn = snprintf(want, sizeof(want), "%.*g", prec, v);
	const size_t gn = num_g(got, sizeof(got), v, prec);

	if (strcmp(want, got) != 0 || (size_t)wn != gn)
		fail_msg("num_g(%a, %d) = \"%s\" (%zu), printf \"%s\" (%d)", v, prec, got, gn, want,
			 wn);
}

static void check_f(double v, int prec)
{
	char want[512], got[NUM_LEN];
	const int wn = snprintf(want, sizeof(want), "%.*f", prec, v);
	const size_t gn = num_f(got, sizeof(got), v, prec);

	/* past NUM_LEN both are cut the same way; the length is snprintf's */
	if (strncmp(want, got, sizeof(got) - 1) != 0 || (size_t)wn != gn)
		fail_msg("num_f(%a, %d) = \"%s\" (%zu), printf \"%s\" (%d)", v, prec, got, gn, want,
			 wn);
}

static void check_all(double v)
{
	for (int p = 0; p <= 17; p++) {
		check_g(v, p);
		check_g(-v, p);
		check_f(v, p);
		check_f(-v, p);
	}
}

static void test_edges(void **state)
{
	static const double edge[] = {
		0.0, 1.0, 0.5, 1.5, 2.5, 9.5, 0.125, 0.375, 0.0625, 1e-4, 9.99995e-5, 1e-5,
		0.000123456, 9.9999999999999995e-5, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
		123456789012345678.0, 9.9996, 99.996, 0.99996, 999999.5, 9999999999999999.0,
		0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, M_PI, M_E, 0.34881847906531194, 1e-6, 1e-7,
		1e-300, 1e300, DBL_MAX, DBL_MIN, DBL_MIN / 4, DBL_TRUE_MIN, 0x1p53, 0x1p64,
		0x1p74, 0x1p75, 0x1p-126, 0x1p-127, 18446744073709551615.0, 4503599627370496.5,
		1.7976931348623157e38, 5e-324, 100, 1000, 10000, 65536, 1e38, 3.4e38,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		check_all(edge[i]);
		check_all(nextafter(edge[i], 0));
		check_all(nextafter(edge[i], INFINITY));
	}
	check_all(INFINITY);
	check_all(NAN);
}

/* figures that end exactly on a 5 at some place: (2i + 1) / 2^j, and
 * decimals d.d5 that a double holds exactly */
static void test_ties(void **state)
{
	(void)state;
	for (int j = 1; j <= 24; j++)
		for (uint64_t i = 0; i < 2000; i++)
			check_all(ldexp((double)(2 * i + 1), -j));
	for (int i = 0; i < 20000; i++) {
		const double v = (double)(next() % 100000000) + 0.5;

		check_g(v, (int)(next() % 18));
		check_f(v, 0);
	}
}

static void test_random(void **state)
{
	const unsigned long slow0 = num_slow_calls();
	unsigned long fast_meant = 0;

	(void)state;
	/* bit patterns: every range, most of it snprintf's */
	for (int i = 0; i < 200000; i++) {
		uint64_t b = next();
		double v;

		memcpy(&v, &b, sizeof(v));
		check_g(v, (int)(next() % 18));
		check_f(v, (int)(next() % 18));
	}
	/* what the tools print: rates, means, ratios, 1e-6 to 1e18 */
	{
		const unsigned long before = num_slow_calls();

		for (int i = 0; i < 400000; i++) {
			const double v = pow(10, -6 + 24.0 * (double)(next() >> 11) * 0x1p-53);

			check_g(v, (int)(next() % 18));
			check_f(v, (int)(next() % 18));
			fast_meant += 2;
		}
		/* a %.17f of a figure above 2^64 / 10^17 (184) is snprintf's */
		assert_true(num_slow_calls() - before < fast_meant / 2);
	}
	/* decimals: i / 10^j, the values people type */
	{
		const unsigned long before = num_slow_calls();

		for (int i = 0; i < 400000; i++) {
			const double v = (double)(next() % 1000000000) / pow(10, (double)(next() % 13));

			check_g(v, (int)(next() % 18));
			check_f(v, (int)(next() % 8));
		}
		assert_true(num_slow_calls() - before < 1000);
	}
	/* %.17g of the tools' range never leaves the fast path */
	{
		const unsigned long before = num_slow_calls();

		for (int i = 0; i < 200000; i++) {
			const double v = pow(10, -5 + 40.0 * (double)(next() >> 11) * 0x1p-53);

			check_g(v, 17);
		}
		assert_int_equal(num_slow_calls() - before, 0);
	}
	assert_true(num_slow_calls() > slow0);
}

static void test_u64(void **state)
{
	char b[24];
	char want[24];

	(void)state;
	for (int i = 0; i < 100000; i++) {
		const uint64_t v = i < 64 ? (uint64_t)1 << i : next() >> (next() % 64);
		const size_t n = num_u64(b, v);

		b[n] = '\0';
		snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
		assert_string_equal(b, want);
	}
	assert_int_equal(num_u64(b, UINT64_MAX), 20);
	assert_int_equal(num_u64(b, 0), 1);
}

/* OpenMetrics' canonical number of @v / 10^@frac, the slow way: the
 * double strtod makes of the decimal, printf's %.*e at growing
 * precision until it reads back the same, then Go's %g layout (an
 * exponent when it is below -4 or at least 6) and ".0" when bare */
static void canonical_ref(char *buf, size_t n, uint64_t v, unsigned frac)
{
	char e[64];
	double w;
	int p, x;

	snprintf(e, sizeof(e), "%llue-%u", (unsigned long long)v, frac);
	w = strtod(e, NULL);
	for (p = 0; p < 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p, w);
		if (strtod(e, NULL) == w)
			break;
	}
	x = atoi(strchr(e, 'e') + 1);
	if (x < -4 || x >= 6) {
		snprintf(buf, n, "%s", e);
		return;
	}
	snprintf(buf, n, "%.*f", p > x ? p - x : 0, w);
	if (strchr(buf, '.') == NULL)
		strcat(buf, ".0");
}

static void check_canonical(uint64_t v, unsigned frac, const char *want)
{
	char got[NUM_LEN], ref[64];
	const size_t gn = num_canonical(got, sizeof(got), v, frac);

	canonical_ref(ref, sizeof(ref), v, frac);
	if (want && strcmp(want, ref) != 0)
		fail_msg("the reference of %llue-%u is \"%s\", not \"%s\"", (unsigned long long)v,
			 frac, ref, want);
	if (strcmp(got, ref) != 0 || gn != strlen(ref))
		fail_msg("num_canonical(%llu, %u) = \"%s\" (%zu), want \"%s\"",
			 (unsigned long long)v, frac, got, gn, ref);
}

static void test_canonical(void **state)
{
	/* the OpenMetrics 1.0 spec's examples, as value and decimals */
	static const struct {
		uint64_t v;
		unsigned frac;
		const char *want;
	} spec[] = {
		{ 0, 0, "0.0" }, { 1, 3, "0.001" }, { 2, 3, "0.002" }, { 1, 2, "0.01" },
		{ 1, 1, "0.1" }, { 9, 1, "0.9" }, { 95, 2, "0.95" }, { 99, 2, "0.99" },
		{ 999, 3, "0.999" }, { 1, 0, "1.0" }, { 17, 1, "1.7" }, { 10, 0, "10.0" },
		{ 1, 10, "1e-10" }, { 1, 9, "1e-09" }, { 1, 5, "1e-05" }, { 1, 4, "0.0001" },
		{ 100000, 0, "100000.0" }, { 1000000, 0, "1e+06" }, { 10000000000, 0, "1e+10" },
		/* shmstat's bounds: 2^k - 1 ns in seconds and as integers */
		{ 127, 9, "1.27e-07" }, { 131071, 9, "0.000131071" }, { 1023, 0, "1023.0" },
		{ 2097151, 0, "2.097151e+06" }, { 1073741823, 9, "1.073741823" },
		{ 3600000000000, 0, "3.6e+12" }, { UINT64_MAX, 0, "1.8446744073709552e+19" },
		{ UINT64_MAX, 9, "1.8446744073709553e+10" }, { 9007199254740993, 0, "9.007199254740992e+15" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++)
		check_canonical(spec[i].v, spec[i].frac, spec[i].want);
	for (uint64_t k = 0; k <= 10000; k++)
		check_canonical(k, 3, NULL);
	for (int i = 0; i < 200000; i++) {
		const uint64_t v = i < 64 ? ((uint64_t)1 << i) - 1 : next() >> (next() % 64);

		check_canonical(v, (unsigned)(next() % 20), NULL);
		check_canonical(v, 0, NULL);
		check_canonical(v, 9, NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_ties),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_canonical),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
