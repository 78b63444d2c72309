/*
 * test_buckets.c - the bucket scheme of histogram.h, for every precision
 * bits = 1 .. 16:
 *
 *  - for every v < 2^16, every power of two and its neighbours (2^e - 1,
 *    2^e, 2^e + 1), and 200,000 random 64-bit values (of every magnitude):
 *        low(b) <= v < low(b) + 2^wbits,  b = bucket_of(v)
 *    and the bucket's midpoint (what quantiles report) is within 2^-bits,
 *    relative, of v;
 *  - walking every bucket from 0 to bucket_of(UINT64_MAX): buckets are
 *    contiguous and increasing (low(b+1) == low(b) + 2^wbits(b), starting
 *    at low(0) == 0 and ending at 2^64), both ends of each bucket map back
 *    to it, and the midpoint is within 2^-bits of both ends (hence of
 *    every value in the bucket);
 *  - values below 2^bits have a bucket each (exact);
 *  - nbuckets(bits, highest) == bucket_of(highest) + 1, and for the default
 *    layout (7 bits, 1 h in ns) the documented 2345 buckets.
 */
#include <stdio.h>

#include "ut_common.h"
#include "hist_util.h"
#include "histogram.h"

/* The value a quantile in bucket @low .. @low + 2^@wbits - 1 reports. */
static uint64_t midpoint(uint64_t low, unsigned wbits)
{
	return wbits == 0 ? low : low + (UINT64_C(1) << (wbits - 1));
}

static void check_value(uint64_t v, unsigned m)
{
	uint32_t b = shmstat__bucket_of(v, m);
	unsigned w = 99;
	uint64_t low = shmstat__bucket_low(b, m, &w);

	if (w > 63)
		fail_msg("bits %u, v %llu: bucket %u has width 2^%u", m, (unsigned long long)v,
			 b, w);
	if (!(low <= v && (hu_u128)v < (hu_u128)low + ((hu_u128)1 << w)))
		fail_msg("bits %u: v %llu is not in its bucket %u = [%llu, %llu + 2^%u)", m,
			 (unsigned long long)v, b, (unsigned long long)low,
			 (unsigned long long)low, w);
	if (!hu_within(midpoint(low, w), v, m))
		fail_msg("bits %u: v %llu, bucket %u midpoint %llu: error over 2^-%u", m,
			 (unsigned long long)v, b, (unsigned long long)midpoint(low, w), m);
	if (v < (UINT64_C(1) << m) && (b != v || w != 0 || low != v))
		fail_msg("bits %u: small value %llu is not exact (bucket %u, low %llu, 2^%u)",
			 m, (unsigned long long)v, b, (unsigned long long)low, w);
}

static void test_values(void **state)
{
	(void)state;
	for (unsigned m = SHMSTAT_HIST_MIN_BITS; m <= SHMSTAT_HIST_MAX_BITS; m++) {
		uint64_t s = 42 + m;

		for (uint64_t v = 0; v < (1u << 16); v++)
			check_value(v, m);
		for (unsigned e = 0; e < 64; e++) {
			uint64_t p = UINT64_C(1) << e;

			check_value(p - 1, m);
			check_value(p, m);
			check_value(p + 1, m);
		}
		check_value(UINT64_MAX, m);
		check_value(UINT64_MAX - 1, m);
		check_value((uint64_t)INT64_MAX, m);
		for (int i = 0; i < 200000; i++) {
			uint64_t r = hu_next(&s);

			check_value(r, m);                    /* mostly huge */
			check_value(r >> (r & 63), m);        /* every magnitude */
		}
	}
}

static void test_walk(void **state)
{
	(void)state;
	for (unsigned m = SHMSTAT_HIST_MIN_BITS; m <= SHMSTAT_HIST_MAX_BITS; m++) {
		const uint32_t last = shmstat__bucket_of(UINT64_MAX, m);
		hu_u128 next = 0;           /* where bucket b must start */

		for (uint32_t b = 0; b <= last; b++) {
			unsigned w;
			uint64_t low = shmstat__bucket_low(b, m, &w), high;

			if ((hu_u128)low != next)
				fail_msg("bits %u: bucket %u starts at %llu, the previous one ended "
					 "at %llu", m, b, (unsigned long long)low,
					 (unsigned long long)next);
			assert_true(w < 64);
			next = (hu_u128)low + ((hu_u128)1 << w);
			high = (uint64_t)(next - 1);
			if (shmstat__bucket_of(low, m) != b || shmstat__bucket_of(high, m) != b)
				fail_msg("bits %u: bucket %u = [%llu, %llu]: its ends map to %u, %u",
					 m, b, (unsigned long long)low, (unsigned long long)high,
					 shmstat__bucket_of(low, m), shmstat__bucket_of(high, m));
			if (!hu_within(midpoint(low, w), low, m) ||
			    !hu_within(midpoint(low, w), high, m))
				fail_msg("bits %u: bucket %u = [%llu, %llu], midpoint %llu: error "
					 "over 2^-%u at an end", m, b, (unsigned long long)low,
					 (unsigned long long)high,
					 (unsigned long long)midpoint(low, w), m);
		}
		if (next != (hu_u128)1 << 64)
			fail_msg("bits %u: the last bucket %u ends at %llu, not 2^64", m, last,
				 (unsigned long long)(uint64_t)next);
	}
}

static void test_nbuckets(void **state)
{
	(void)state;
	assert_int_equal(shmstat__nbuckets(7, HU_HIGHEST_DEFAULT), 2345);
	for (unsigned m = SHMSTAT_HIST_MIN_BITS; m <= SHMSTAT_HIST_MAX_BITS; m++) {
		const uint64_t highs[] = { 0, 1, 1000, 1000000, HU_HIGHEST_DEFAULT,
					   (uint64_t)INT64_MAX, UINT64_MAX };

		for (size_t i = 0; i < sizeof(highs) / sizeof(highs[0]); i++)
			assert_int_equal(shmstat__nbuckets(m, highs[i]),
					 shmstat__bucket_of(highs[i], m) + 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_nbuckets),
	};

	return cmocka_run_group_tests_name("hist_buckets", tests, NULL, NULL);
}
