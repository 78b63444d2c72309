/*
 * test_units.c - the one number style (tools/units.c): figures in each
 * unit, rates, ratios, --raw, and quantities with units read back.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "timearg.h"
#include "units.h"

static void expect_fig(double v, const char *unit, int raw, const char *want)
{
	char buf[FIG_LEN];

	fmt_fig(buf, sizeof(buf), v, unit, raw);
	if (strcmp(buf, want) != 0)
		fail_msg("fmt_fig(%.17g, \"%s\", %d) = \"%s\", want \"%s\"", v, unit ? unit : "(null)",
			 raw, buf, want);
}

static void test_figures(void **state)
{
	(void)state;
	/* counts: exact below 10,000, then 3 significant digits */
	expect_fig(0, "", 0, "0");
	expect_fig(9999, "", 0, "9999");
	expect_fig(10000, "", 0, "10k");
	expect_fig(148123, "", 0, "148k");
	expect_fig(2558226, NULL, 0, "2.56M");
	expect_fig(999999, "", 0, "1M");          /* rounds up into the next suffix */
	expect_fig(-25000, "", 0, "-25k");
	expect_fig(12.345, "", 0, "12.35");
	expect_fig(148123, "requests", 0, "148k requests");
	/* durations, bytes, currencies */
	expect_fig(21930, "ns", 0, "21.93us");
	expect_fig(1.5e9, "nanoseconds", 0, "1.5s");
	expect_fig(999, "ns", 0, "999ns");
	expect_fig(512, "bytes", 0, "512 B");
	expect_fig(4.2 * 1048576, "bytes", 0, "4.2 MiB");
	expect_fig(12345678, "micro_USD", 0, "12.35 USD");
	expect_fig(0, "micro_EUR", 0, "0.00 EUR");
	expect_fig(5, "micro_", 0, "5 micro_");                /* no currency: a count */
	/* raw: exact */
	expect_fig(148123, "ns", 1, "148123");
	expect_fig(0.25, "", 1, "0.25");
	expect_fig(NAN, "", 0, "-");
	{
		char buf[FIG_LEN];

		fmt_fig_u64(buf, sizeof(buf), 18446744073709551615ull, "", 1);
		assert_string_equal(buf, "18446744073709551615");
		fmt_fig_u64(buf, sizeof(buf), 18446744073709551615ull, "", 0);
		assert_string_equal(buf, "18.4E");
	}
}

static void test_rates_ratios(void **state)
{
	char buf[FIG_LEN];

	(void)state;
	fmt_rate(buf, sizeof(buf), 135700, "", 0);
	assert_string_equal(buf, "136k/s");
	fmt_rate(buf, sizeof(buf), 0.5, "", 0);
	assert_string_equal(buf, "0.5/s");
	fmt_rate(buf, sizeof(buf), 2 * 1048576, "bytes", 0);
	assert_string_equal(buf, "2.0 MiB/s");
	fmt_rate(buf, sizeof(buf), 135700.25, "", 1);
	assert_string_equal(buf, "135700.25");
	fmt_rate(buf, sizeof(buf), -1, "", 0);
	assert_string_equal(buf, "-");
	fmt_ratio(buf, sizeof(buf), 0.8671, 0);
	assert_string_equal(buf, "86.7%");
	fmt_ratio(buf, sizeof(buf), 0.8671, 1);
	assert_string_equal(buf, "0.8671");
	fmt_ratio(buf, sizeof(buf), NAN, 0);
	assert_string_equal(buf, "-");
}

static void expect_qty(const char *s, double want, enum qty_kind kind)
{
	enum qty_kind k = QTY_PLAIN;
	double v = 0;

	if (parse_quantity(s, &v, &k) != 0)
		fail_msg("'%s' refused", s);
	if (k != kind || fabs(v - want) > 1e-9 * fabs(want))
		fail_msg("'%s' = %.17g %s, want %.17g %s", s, v, qty_kind_name(k), want,
			 qty_kind_name(kind));
}

static void test_quantities(void **state)
{
	static const char *const bad[] = {
		"", "x", "inf", "nan", "-inf", "0x10", "1e400", "15 MB", "15XB", "ms", "1.5.2",
		" 1", "1 ", "--1", "-2ms", "-1.5e-3s", "+2ms", "367d", "31622400.001s", "1e30s",
	};
	double v;
	enum qty_kind k;

	(void)state;
	expect_qty("0.9", 0.9, QTY_PLAIN);
	expect_qty("-1e3", -1000, QTY_PLAIN);
	expect_qty("1.5k", 1500, QTY_PLAIN);
	expect_qty("2M", 2e6, QTY_PLAIN);
	expect_qty("90%", 0.9, QTY_PERCENT);
	expect_qty("15MB", 15e6, QTY_BYTES);
	expect_qty("15MiB", 15.0 * 1048576, QTY_BYTES);
	expect_qty("512B", 512, QTY_BYTES);
	expect_qty("2ms", 2e6, QTY_NS);
	expect_qty("5m", 300e9, QTY_NS);
	expect_qty("1h30m", 5400e9, QTY_NS);
	expect_qty("1.5e-3s", 1.5e6, QTY_NS);
	expect_qty("250e3ns", 250e3, QTY_NS);
	/* a duration is the decimal it stands for, not rounded to the ns:
	 * 2.0000005ms is below a value of 2000001 ns (rounded to 2000001 it
	 * was not, and the check said OK for "above 2.0000005ms"), and its
	 * performance data 0.0020000005 (shmstat.md, "check") */
	assert_int_equal(parse_quantity("2.0000005ms", &v, &k), 0);
	assert_true(v == 2000000.5 && k == QTY_NS);
	assert_true(2000001 > v && 2000000 < v);
	assert_int_equal(parse_quantity("0.5ns", &v, &k), 0);
	assert_true(v == 0.5);
	/* rounded once: 0.0041us is the double nearest 4.1 (ns), as "4.1"
	 * is (0.0041 * 1000 is 4.1000000000000005; to the ns, 4) */
	for (int i = 0; i <= 100000; i++) {
		char d[32], whole[32];
		double a, b;

		snprintf(d, sizeof(d), "%d.%04dus", i / 10000, i % 10000);
		snprintf(whole, sizeof(whole), "%d.%d", i / 10, i % 10);
		assert_int_equal(parse_quantity(d, &a, &k), 0);
		assert_int_equal(parse_quantity(whole, &b, &k), 0);
		if (a != b)
			fail_msg("'%s' = %.17g, '%s' = %.17g", d, a, whole, b);
	}
	/* a percentage is the fraction a ratio is compared with, exactly:
	 * "29%" is 0.29 as "0.29" is (29 * 0.01 is not) */
	for (int p = 0; p <= 100; p++) {
		char pct[16], frac[16];
		double a, b;

		snprintf(pct, sizeof(pct), "%d%%", p);
		snprintf(frac, sizeof(frac), "%d.%02d", p / 100, p % 100);
		assert_int_equal(parse_quantity(pct, &a, &k), 0);
		assert_int_equal(parse_quantity(frac, &b, &k), 0);
		if (a != b)
			fail_msg("'%s' = %.17g, '%s' = %.17g", pct, a, frac, b);
	}
	/* and with decimals, and the SI multipliers: the double nearest the
	 * decimal, as written out (0.7 / 100 is 0.0069999999999999993 where
	 * 0.007 is 0.0070000000000000001; 2.01 * 1000 is 2009.9999999999998),
	 * so that a ratio of 7 in 1000 is at 0.7%, and an increase of 2010 at
	 * 2.01k */
	for (int p = 0; p <= 10000; p++) {
		char pct[32], frac[32], si[32], whole[32];
		double a, b;

		snprintf(pct, sizeof(pct), "%d.%02d%%", p / 100, p % 100);
		snprintf(frac, sizeof(frac), "%d.%04d", p / 10000, p % 10000);
		assert_int_equal(parse_quantity(pct, &a, &k), 0);
		assert_int_equal(parse_quantity(frac, &b, &k), 0);
		if (a != b)
			fail_msg("'%s' = %.17g, '%s' = %.17g", pct, a, frac, b);
		snprintf(si, sizeof(si), "%d.%03dM", p / 1000, p % 1000);
		snprintf(whole, sizeof(whole), "%d", p * 1000);
		assert_int_equal(parse_quantity(si, &a, &k), 0);
		assert_int_equal(parse_quantity(whole, &b, &k), 0);
		if (a != b)
			fail_msg("'%s' = %.17g, '%s' = %.17g", si, a, whole, b);
	}
	expect_qty("0.7%", 0.007, QTY_PERCENT);
	assert_int_equal(parse_quantity("0.7%", &v, &k), 0);
	assert_true(v == 0.007);
	assert_int_equal(parse_quantity("7e-1%", &v, &k), 0);
	assert_true(v == 0.007);
	assert_int_equal(parse_quantity("2.01k", &v, &k), 0);
	assert_true(v == 2010);
	assert_int_equal(parse_quantity("-2.01kB", &v, &k), 0);
	assert_true(v == -2010 && k == QTY_BYTES);
	assert_int_equal(parse_quantity(".5%", &v, &k), 0);
	assert_true(v == 0.005);
	assert_int_equal(parse_quantity("1e308T", &v, &k), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_quantity(bad[i], &v, &k) == 0)
			fail_msg("'%s' read as %.17g %s", bad[i], v, qty_kind_name(k));
}

/* An instant parse_instant() reads as @ns (@ok 0) or refuses (-1) */
struct instant_case {
	const char *s;
	int ok;
	uint64_t ns;
};

static void check_instants(const struct instant_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t ns = 7;
		const int r = parse_instant(cases[i].s, 0, &ns);

		if (r != cases[i].ok || (r == 0 && ns != cases[i].ns))
			fail_msg("parse_instant(\"%s\") = %d, %llu; want %d, %llu", cases[i].s, r,
				 (unsigned long long)ns, cases[i].ok,
				 (unsigned long long)cases[i].ns);
	}
}

/* Instants as Unix seconds: exact to the ns (a double is not), and
 * nothing but digits with at most 9 decimals */
static void test_unix_instants(void **state)
{
	static const struct instant_case cases[] = {
		{ "@1763776800.000000123", 0, UINT64_C(1763776800000000123) },
		{ "@1763776800.999999999", 0, UINT64_C(1763776800999999999) },
		{ "@1763776800", 0, UINT64_C(1763776800000000000) },
		{ "@1763776800.5", 0, UINT64_C(1763776800500000000) },
		{ "@0", 0, 0 },
		{ "@1.", 0, UINT64_C(1000000000) },
		{ "@17999999999.999999999", 0, UINT64_C(17999999999999999999) },
		{ "@18000000000", -1, 0 },
		{ "@1.0000000001", -1, 0 },
		{ "@", -1, 0 },
		{ "@.5", -1, 0 },
		{ "@1e9", -1, 0 },
		{ "@-1", -1, 0 },
		{ "@ 1", -1, 0 },
		{ "@1x", -1, 0 },
	};

	(void)state;
	check_instants(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Instants as UTC dates: their ns in 64 bits up to the year 2540, as
 * for Unix seconds; a later date is no instant (2600-01-01 wrapped to
 * 2014-02-14 and asked for records 586 years early) */
static void test_date_instants(void **state)
{
	static const struct instant_case cases[] = {
		{ "2026-11-22T02:40:00Z", 0, UINT64_C(1795315200000000000) },
		{ "2540-01-01T00:00:00Z", 0, UINT64_C(17987443200000000000) },
		{ "2540-05-25T07:59:59Z", 0, UINT64_C(17999999999000000000) },
		{ "2540-05-25T08:00:00Z", -1, 0 },
		{ "2600-01-01T00:00:00Z", -1, 0 },
		{ "9999-12-31T23:59:59Z", -1, 0 },
		{ "1969-12-31T23:59:59Z", -1, 0 },
	};

	(void)state;
	check_instants(cases, sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_figures),
		cmocka_unit_test(test_rates_ratios),
		cmocka_unit_test(test_quantities),
		cmocka_unit_test(test_unix_instants),
		cmocka_unit_test(test_date_instants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
