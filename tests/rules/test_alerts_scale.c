/*
 * test_alerts_scale.c - a state file of many alerts is read and pruned
 * in time proportional to its size (tools/alerting/alerts.c): up to
 * ALERTS_MAX (100000) alerts are allowed, and each alert used to be
 * looked up among those loaded before it (n^2 / 2 name comparisons) and
 * pruned by moving the rest of the table (n^2 / 2 moves): 100000 alerts
 * took 100 s of `shmstat check` (past its default -t of 10 s: UNKNOWN).
 *
 * The work is counted, not timed: strcmp() and memmove() of alerts.c
 * are wrapped at link time (-Wl,--wrap) and counted.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "alerts.h"

#define N 20000

/* the names the linker's --wrap gives: reserved, and required */
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
int __real_strcmp(const char *a, const char *b);
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
void *__real_memmove(void *d, const void *s, size_t n);
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
int __wrap_strcmp(const char *a, const char *b);
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
void *__wrap_memmove(void *d, const void *s, size_t n);

static unsigned long long n_strcmp, memmove_bytes;

/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
int __wrap_strcmp(const char *a, const char *b)
{
	n_strcmp++;
	return __real_strcmp(a, b);
}

/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
void *__wrap_memmove(void *d, const void *s, size_t n)
{
	memmove_bytes += n;
	return __real_memmove(d, s, n);
}

static char path[128];

/* a state of N cleared alerts r00000 .. r19999; with @dup, alert @dup + 1
 * (1-based) is named as alert 4 is, and so is the last */
static void write_state(long dup)
{
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/shmstat-scale-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("{\"format\": \"shmstat.alerts/1\", \"alerts\": [", f);
	for (long i = 0; i < N; i++)
		fprintf(f, "%s{\"rule\": \"r%05ld\", \"phase\": \"cleared\", \"state\": \"OK\", "
			"\"bad_level\": \"WARNING\", \"worst\": \"WARNING\", \"bad_since\": 0, "
			"\"active_since\": 1, \"cleared_at\": 1, \"quiet_since\": 1, "
			"\"last_ns\": 1, \"fired\": 1}",
			i ? ", " : "", dup >= 0 && (i == dup || i == N - 1) ? 3 : i);
	fputs("]}\n", f);
	assert_int_equal(fclose(f), 0);
}

/* linear work: per alert, its keys and names checked (a few hundred
 * comparisons at most), and log2(N) to sort the names; not N / 2 each */
#define MAX_STRCMP (400ull * N)

static void test_load_prune(void **state)
{
	struct alert_table t;
	struct ruleset rs;
	static const char rules[] = "rules:\n  - name: r19999\n    gauge: g\n    above: {warning: 1}\n";
	char err[512];

	(void)state;
	write_state(-1);
	n_strcmp = 0;
	assert_int_equal(alerts_load(path, &t, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(t.n, N);
	if (n_strcmp > MAX_STRCMP)
		fail_msg("loading %d alerts took %llu name comparisons (at most %llu)", N,
			 n_strcmp, MAX_STRCMP);
	assert_int_equal(rules_parse("scale.yaml", rules, sizeof(rules) - 1, &rs, err,
				     sizeof(err)), 0);
	memmove_bytes = 0;
	assert_int_equal(alerts_prune(&t, &rs), N - 1);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.a[0].rule, "r19999");
	/* each alert moved at most once, not the rest of the table for each */
	if (memmove_bytes > (unsigned long long)N * sizeof(struct alert))
		fail_msg("pruning %d alerts moved %llu bytes (at most %llu)", N, memmove_bytes,
			 (unsigned long long)N * sizeof(struct alert));
	rules_free(&rs);
	alerts_free(&t);
}

/* a second alert for a rule is still refused, named as before: the first
 * in file order that repeats a name (alert 5001 repeats alert 4, and so
 * does the last) */
static void test_second_alert(void **state)
{
	struct alert_table t;
	char err[512];

	(void)state;
	write_state(5000);
	n_strcmp = 0;
	assert_int_equal(alerts_load(path, &t, err, sizeof(err)), -1);
	unlink(path);
	assert_non_null(strstr(err, "corrupt alert state: alert 5001 ('r00003'): a second alert for the same rule"));
	if (n_strcmp > MAX_STRCMP)
		fail_msg("loading %d alerts took %llu name comparisons (at most %llu)", N,
			 n_strcmp, MAX_STRCMP);
	assert_int_equal(t.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_prune),
		cmocka_unit_test(test_second_alert),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
