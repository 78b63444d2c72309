/*
 * test_behind.c - what shmstat record does with a snapshot while the
 * clock is behind its history's last record (tools/behind.c), under a
 * clock the test drives: skipped while it catches up within the bound,
 * started anew past it (behind by more, or behind for longer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "behind.h"

#define S   UINT64_C(1000000000)
#define T0  (UINT64_C(1700000000) * S)

/* A recorder every @interval whose clock stays @by behind a record at
 * T0 for @n snapshots (stepped back again and again): each is skipped. */
static void skip_n(struct behind *b, uint64_t interval, uint64_t by, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(behind_next(b, 1, T0 + i * interval, T0 + i * interval - by),
				 BEHIND_SKIP);
		assert_int_equal(b->skipped, i + 1);
	}
}

static void test_not_behind(void **state)
{
	struct behind b;

	(void)state;
	behind_init(&b, S);
	assert_int_equal(b.bound_ns, 600 * S);
	assert_int_equal(behind_next(&b, 0, 0, T0), BEHIND_APPEND);          /* no record */
	assert_int_equal(behind_next(&b, 0, T0 + S, T0), BEHIND_APPEND);
	assert_int_equal(behind_next(&b, 1, T0, T0), BEHIND_APPEND);          /* the same instant */
	assert_int_equal(behind_next(&b, 1, T0, T0 + S), BEHIND_APPEND);
	assert_int_equal(b.skipped, 0);
}

/* 2.5 s behind, a snapshot a second: 3 skipped, then it has passed */
static void test_catches_up(void **state)
{
	uint64_t last = T0 + 86400 * S;
	struct behind b;

	(void)state;
	behind_init(&b, S);
	for (uint64_t i = 0; i < 3; i++) {
		assert_int_equal(behind_next(&b, 1, last, last - 2 * S - S / 2 + i * S), BEHIND_SKIP);
		assert_int_equal(b.skipped, i + 1);
	}
	assert_int_equal(behind_next(&b, 1, last, last + S / 2), BEHIND_APPEND);
	assert_int_equal(b.skipped, 0);
	/* behind again later: counted afresh */
	assert_int_equal(behind_next(&b, 1, last + S / 2, last), BEHIND_SKIP);
	assert_int_equal(b.skipped, 1);
}

/* behind by more than the bound: anew at once; by the bound, skipped */
static void test_far_behind(void **state)
{
	struct behind b;

	(void)state;
	behind_init(&b, S);
	assert_int_equal(behind_next(&b, 1, T0 + 86400 * S, T0), BEHIND_ANEW);
	assert_int_equal(b.skipped, 0);
	assert_int_equal(behind_next(&b, 1, T0 + 600 * S, T0), BEHIND_SKIP);
	assert_int_equal(behind_next(&b, 1, T0 + 600 * S + 1, T0), BEHIND_ANEW);
	assert_int_equal(b.skipped, 0);
	/* 10 intervals when that is longer than 10 min: 2 min, 20 min */
	behind_init(&b, 120 * S);
	assert_int_equal(b.bound_ns, 1200 * S);
	assert_int_equal(behind_next(&b, 1, T0 + 1200 * S, T0), BEHIND_SKIP);
	assert_int_equal(behind_next(&b, 1, T0 + 1200 * S + 1, T0), BEHIND_ANEW);
}

/* a clock that stays behind (stepped back at every snapshot): anew once
 * the snapshots skipped in a row cover more than the bound */
static void test_behind_for_long(void **state)
{
	struct behind b;

	(void)state;
	behind_init(&b, S);
	skip_n(&b, S, 5 * S, 600);
	assert_int_equal(behind_next(&b, 1, T0 + 600 * S, T0 + 595 * S), BEHIND_ANEW);
	assert_int_equal(b.skipped, 0);
	behind_init(&b, 60 * S);                   /* 10 intervals of 1 min */
	skip_n(&b, 60 * S, 9 * 60 * S, 10);
	assert_int_equal(behind_next(&b, 1, T0 + 600 * S, T0 + 60 * S), BEHIND_ANEW);
}

/* intervals at the edges: no overflow, no division by 0 */
static void test_edges(void **state)
{
	struct behind b;

	(void)state;
	behind_init(&b, UINT64_MAX / 2);
	assert_int_equal(b.bound_ns, UINT64_MAX);
	assert_int_equal(behind_next(&b, 1, UINT64_MAX, 0), BEHIND_SKIP);
	assert_int_equal(behind_next(&b, 1, UINT64_MAX, 0), BEHIND_SKIP);
	assert_int_equal(behind_next(&b, 1, UINT64_MAX, 0), BEHIND_ANEW);
	behind_init(&b, 0);
	assert_int_equal(b.bound_ns, 600 * S);
	assert_int_equal(behind_next(&b, 1, T0 + 1, T0), BEHIND_SKIP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_behind),
		cmocka_unit_test(test_catches_up),
		cmocka_unit_test(test_far_behind),
		cmocka_unit_test(test_behind_for_long),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
