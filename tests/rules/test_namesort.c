/*
 * test_namesort.c - name_sort() (tools/namesort.c) against qsort with
 * strcmp on names then labels: names with shared prefixes of every
 * length (none, a few bytes, past the 32 bytes of key words), of every
 * length, equal names with many label sets, runs of every size around
 * the insertion sort's, and bytes above 0x7f.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "namesort.h"
#include "../xorshift.h"

#define MAXN 6000

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next(void)
{
	return xorshift64(&rng);
}

static char names[MAXN][96], labels[MAXN][32];
static const char *np[MAXN], *lp[MAXN];

static int ref_cmp(const void *a, const void *b)
{
	const size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(np[x], np[y]);

	return c ? c : strcmp(lp[x], lp[y]);
}

/* name_sort() of the first @n names against the reference order: the
 * same sequence of (name, labels) */
static void check(size_t n)
{
	static size_t got[MAXN], want[MAXN];

	for (size_t i = 0; i < n; i++) {
		np[i] = names[i];
		lp[i] = labels[i];
		want[i] = i;
	}
	qsort(want, n, sizeof(*want), ref_cmp);
	assert_int_equal(name_sort(got, n, np, lp), 0);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(np[got[i]], np[want[i]]) != 0 || strcmp(lp[got[i]], lp[want[i]]) != 0)
			fail_msg("n %zu, at %zu: %s{%s}, want %s{%s}", n, i, np[got[i]], lp[got[i]],
				 np[want[i]], lp[want[i]]);
	}
	/* a permutation: every index once */
	{
		static unsigned char seen[MAXN];

		memset(seen, 0, n);
		for (size_t i = 0; i < n; i++) {
			assert_true(got[i] < n);
			assert_false(seen[got[i]]);
			seen[got[i]] = 1;
		}
	}
}

/* @n names: a prefix of @pre bytes all share, then random bytes from
 * @alpha (@na of them) of 1..@len, labels from a few */
static void make(size_t n, size_t pre, const char *alpha, size_t na, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = 0, l = 1 + next() % len;

		for (; k < pre; k++)
			names[i][k] = (char)('a' + k % 26);
		for (size_t j = 0; j < l && k < sizeof(names[i]) - 1; j++)
			names[i][k++] = alpha[next() % na];
		names[i][k] = '\0';
		snprintf(labels[i], sizeof(labels[i]), next() % 3 ? "" : "k=\"%u\"",
			 (unsigned)(next() % 5));
	}
}

static void test_random_sets(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 15, 16, 17, 33, 100, 1000, MAXN };
	static const size_t prefix[] = { 0, 3, 14, 31, 32, 33, 47, 80 };

	(void)state;
	for (size_t a = 0; a < sizeof(sizes) / sizeof(sizes[0]); a++)
		for (size_t b = 0; b < sizeof(prefix) / sizeof(prefix[0]); b++) {
			/* few letters: long runs of equal words */
			make(sizes[a], prefix[b], "ab_", 3, 12);
			check(sizes[a]);
			make(sizes[a], prefix[b], "abcdefghijklmnopqrstuvwxyz_0123456789:", 38, 40);
			check(sizes[a]);
			/* bytes above 0x7f order as unsigned, as strcmp has it */
			make(sizes[a], prefix[b], "a\x80z\xff", 4, 20);
			check(sizes[a]);
		}
}

/* the shape shmstat's own segments have: a stem and a number; and one
 * name with thousands of label sets (the words all equal) */
static void test_metric_shapes(void **state)
{
	(void)state;
	for (size_t i = 0; i < MAXN; i++) {
		snprintf(names[i], sizeof(names[i]), i % 2 ? "bench_counter_%06zu_total" :
			 "bench_latency_%03zu", (size_t)(next() % 100000));
		labels[i][0] = '\0';
	}
	check(MAXN);
	/* groups alike past the key words (a stem of 40 bytes each, then
	 * a tail): groups of 2, of 20 (either side of the insertion sort's
	 * run) and of 200 */
	for (size_t groups = 3000; groups >= 30; groups /= 10) {
		for (size_t i = 0; i < MAXN; i++) {
			snprintf(names[i], sizeof(names[i]),
				 "stem_%04zu_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_%u",
				 (size_t)(next() % groups), (unsigned)(next() % 1000));
			snprintf(labels[i], sizeof(labels[i]), "%s", next() % 2 ? "" : "a=\"b\"");
		}
		check(MAXN);
	}
	/* the 32 bytes of the key words a group of about 6 (the first byte,
	 * 24 alike, the group's number in the fourth word), then a tail:
	 * short runs left after the last word */
	for (size_t i = 0; i < MAXN; i++) {
		snprintf(names[i], sizeof(names[i]), "%cqqqqqqqqqqqqqqqqqqqqqqqq%07zu_%u",
			 i % 2 ? 'a' : 'b', (size_t)(next() % 500), (unsigned)(next() % 1000));
		labels[i][0] = '\0';
	}
	check(MAXN);
	for (size_t i = 0; i < MAXN; i++) {
		snprintf(names[i], sizeof(names[i]), "%s", i % 50 ? "http_requests_total" : "http_up");
		snprintf(labels[i], sizeof(labels[i]), "code=\"%zu\",path=\"/%zu\"",
			 (size_t)(next() % 600), i);
	}
	check(MAXN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_sets),
		cmocka_unit_test(test_metric_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
