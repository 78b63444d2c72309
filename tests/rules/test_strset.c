/*
 * test_strset.c - tools/strset.c: what is put is found with its value, a
 * string put twice is kept once (its first value), a set holds at most
 * its size, and many strings that share long prefixes are each found
 * once, none that was not put.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "strset.h"

static void test_values(void **state)
{
	struct strset *set = strset_new(3);
	int v = -1;

	(void)state;
	assert_non_null(set);
	assert_int_equal(strset_get(set, "a", &v), 0);
	assert_int_equal(strset_put(set, "a", 7), 0);
	assert_int_equal(strset_put(set, "\001b", -1), 0);
	assert_int_equal(strset_put(set, "a", 9), 0);        /* there: kept */
	assert_int_equal(strset_get(set, "a", &v), 1);
	assert_int_equal(v, 7);
	assert_int_equal(strset_get(set, "\001b", &v), 1);
	assert_int_equal(v, -1);
	assert_int_equal(strset_get(set, "b", NULL), 0);
	assert_int_equal(strset_get(set, "", NULL), 0);
	assert_int_equal(strset_put(set, "", 1), 0);
	assert_int_equal(strset_put(set, "c", 1), -1);       /* full */
	assert_int_equal(strset_get(set, "c", NULL), 0);
	assert_int_equal(strset_get(set, "", &v), 1);
	assert_int_equal(v, 1);
	strset_free(set);
}

/* 200,000 names of the shape of a bench segment's, put in a scrambled
 * order, then all looked up, and as many that were not put */
static void test_many(void **state)
{
	enum { N = 200000 };
	struct strset *set = strset_new(N);
	char s[64];
	int v;

	(void)state;
	assert_non_null(set);
	for (unsigned i = 0; i < N; i++) {
		const unsigned k = (i * 7919u) % N;       /* 7919 is prime to N */

		snprintf(s, sizeof(s), "bench_counter_%06u_total", k);
		assert_int_equal(strset_put(set, s, (int)k), 0);
	}
	for (unsigned k = 0; k < N; k++) {
		snprintf(s, sizeof(s), "bench_counter_%06u_total", k);
		assert_int_equal(strset_get(set, s, &v), 1);
		assert_int_equal(v, (int)k);
		snprintf(s, sizeof(s), "bench_counter_%06u_totals", k);
		assert_int_equal(strset_get(set, s, NULL), 0);
	}
	assert_int_equal(strset_put(set, "one more", 0), -1);
	strset_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests_name("strset", tests, NULL, NULL);
}
