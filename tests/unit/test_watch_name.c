/*
 * test_watch_name.c - shmstat watch's names cut to their column
 * (tools/cmd/watch_rows.c, watch_name()): what is kept, and how much work
 * it takes. wcwidth() is this file's, counting its calls: a key whose
 * label values are long took one cut of all of them per cell given up
 * (441,555 calls for a value of 390 cells, 5 ms a row: a piped block of
 * 3,000 such rows took 14.5 s); the cap is now bisected. And rows
 * shown together (watch_names()): those whose cuts were one text cut
 * anew to tell them apart, at every width; the others as they were.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <cmocka.h>

#include "timearg.h"
#include "watch.h"

static unsigned long widths;       /* calls of wcwidth() */

/* every code point one cell (the tests' keys are ASCII) */
int wcwidth(wchar_t c)
{
	widths++;
	return c ? 1 : 0;
}

/* units.c's, never called here (timearg.c would bring the rules) */
int parse_duration(const char *s, uint64_t *ns)
{
	(void)s;
	(void)ns;
	return -1;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void name_of(const char *key, int width, char *out, size_t n)
{
	struct row r;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", key);
	r.keylen = strlen(r.name);
	watch_name(out, n, &r, width);
}

/* A label value of 390 cells and a short one, in 40 cells: the values
 * alone, the long one cut to what fits (the short one whole), in fewer
 * than 20,000 calls of wcwidth(). */
static void test_long_value(void **state)
{
	char key[420], got[512], want[64];

	(void)state;
	snprintf(key, sizeof(key), "m_total{k=\"%0390d\",z=\"ab\"}", 7);
	widths = 0;
	name_of(key, 40, got, sizeof(got));
	/* m_total{ + 27 cells and '~' + ,ab} = 40 cells */
	snprintf(want, sizeof(want), "m_total{%027d~,ab}", 0);
	assert_string_equal(got, want);
	print_message("wcwidth() calls: %lu\n", widths);
	assert_true(widths < 20000);
}

/* Every width from 4 to 80 for a key of several long values: never
 * wider than asked; at 40 the longest value is cut the most. */
static void test_widths(void **state)
{
	char key[420], got[512];

	(void)state;
	snprintf(key, sizeof(key), "req_total{a=\"%0100d\",b=\"%050d\",c=\"x\"}", 1, 2);
	for (int w = 4; w <= 80; w++) {
		name_of(key, w, got, sizeof(got));
		assert_true(cells(got) <= w);
	}
	name_of(key, 40, got, sizeof(got));
	assert_string_equal(got, "req_total{000000000000~,000000000000~,x}");
}

static void row_of(struct row *r, const char *key)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", key);
	r->keylen = strlen(r->name);
}

/* The rows of `cli_fill NAME alike` (tests/cli/watch.sh), in name order */
static const char *const alike[] = {
	"al_jobs_alone_total",
	"al_jobs_taken_from_the_downstream_queue_total{shard=\"1\"}",
	"al_jobs_taken_from_the_upstream_queue_total{shard=\"1\"}",
	"al_requests_total{code=\"200\",route=\"/api/v1/accounts/12345/orders/pending\"}",
	"al_requests_total{code=\"200\",route=\"/api/v1/accounts/12345/orders/shipped\"}",
	"al_requests_total{code=\"404\",route=\"/x\"}",
	"al_requests_total{code=\"500\",route=\"/api/v1/accounts/12345/orders/pending\"}",
	"al_requests_total{code=\"500\",route=\"/api/v1/accounts/12345/orders/shipped\"}",
};
#define NALIKE (sizeof(alike) / sizeof(alike[0]))

/* At every width from 8 to 80: texts all different, none wider than
 * asked; a row whose cut is no other's keeps it (watch_name()'s); at 41
 * cells (80 columns) and 28 (50), what tells them apart. */
static void test_apart(void **state)
{
	struct row r[NALIKE];
	char one[WATCH_NAME_MAX + 8], **t;

	(void)state;
	for (size_t k = 0; k < NALIKE; k++)
		row_of(&r[k], alike[k]);
	for (int w = 8; w <= 80; w++) {
		t = watch_names(r, NULL, NALIKE, w);
		assert_non_null(t);
		for (size_t k = 0; k < NALIKE; k++) {
			assert_true(cells(t[k]) <= w);
			for (size_t j = 0; j < k; j++)
				if (strcmp(t[k], t[j]) == 0)
					fail_msg("width %d: rows %zu and %zu are both '%s'", w, j, k, t[k]);
		}
		/* al_requests_total{code="404",route="/x"}: alike to none */
		watch_name(one, sizeof(one), &r[5], w);
		assert_string_equal(t[5], one);
		watch_names_free(t, NALIKE);
	}
	t = watch_names(r, NULL, NALIKE, 41);
	assert_string_equal(t[1], "al_jobs_taken_from_the_downst~{shard=\"1\"}");
	assert_string_equal(t[3], "al_requests_total{~\"200\"~orders/pending\"}");
	assert_string_equal(t[4], "al_requests_total{~\"200\"~orders/shipped\"}");
	assert_string_equal(t[6], "al_requests_total{~\"500\"~orders/pending\"}");
	watch_names_free(t, NALIKE);
	t = watch_names(r, NULL, NALIKE, 28);
	assert_string_equal(t[1], "al_jobs_taken_~_downstream_~");
	assert_string_equal(t[2], "al_jobs_taken_fr~_upstream_~");
	assert_string_equal(t[7], "al_requests_to~500~shipped\"}");
	watch_names_free(t, NALIKE);
}

/* Hit-ratio rows of keys alike but at their end: " hit ratio" whole,
 * the keys cut where they differ */
static void test_apart_ratio(void **state)
{
	struct row r[4];
	char key[200], **t;

	(void)state;
	for (int k = 0; k < 4; k++) {
		snprintf(key, sizeof(key), "m_hits_total{k=\"%060d%c\"}", 0, "ab"[k / 2]);
		row_of(&r[k], key);
		if (k % 2) {            /* the ratio row after its series */
			snprintf(r[k].name + r[k].keylen, sizeof(r[k].name) - r[k].keylen,
				 " hit ratio");
			r[k].ratio = 1;
		}
	}
	t = watch_names(r, NULL, 4, 30);
	assert_non_null(t);
	assert_string_equal(t[0], "m_hits_total{k=\"000~0000000a\"}");
	assert_string_equal(t[1], "m_hits_tota~00000a\"} hit ratio");
	assert_string_equal(t[2], "m_hits_total{k=\"000~0000000b\"}");
	assert_string_equal(t[3], "m_hits_tota~00000b\"} hit ratio");
	watch_names_free(t, 4);
}

/* The selected row's whole name in 49 cells: cut at its end, but where
 * it differs from the rows alike that far */
static void test_apart_sel(void **state)
{
	struct row r[NALIKE];
	char got[WATCH_NAME_MAX + 8];

	(void)state;
	for (size_t k = 0; k < NALIKE; k++)
		row_of(&r[k], alike[k]);
	watch_name_sel(got, sizeof(got), r, NULL, NALIKE, 3, 49);
	assert_string_equal(got, "al_requests_total{code=\"2~/12345/orders/pending\"}");
	watch_name_sel(got, sizeof(got), r, NULL, NALIKE, 4, 49);
	assert_string_equal(got, "al_requests_total{code=\"2~/12345/orders/shipped\"}");
	watch_name_sel(got, sizeof(got), r, NULL, NALIKE, 1, 49);
	assert_string_equal(got, "al_jobs_taken_from_the_downstream_queue_total{sh~");
	watch_name_sel(got, sizeof(got), r, NULL, NALIKE, 5, 49);
	assert_string_equal(got, "al_requests_total{code=\"404\",route=\"/x\"}");
}

/* The rows of `cli_fill NAME late` and a ratio: the selected row's
 * labels line, cut at its end, was one text for the first three
 * ('counter, unit -, labels route="/api/v1/accounts/12345/orders/
 * pending/items",zo~' in 79 cells); now each shows where its labels
 * differ from theirs, at every width in as many cells at most */
static void test_labels_sel(void **state)
{
	static const char *const zone[] = { "eu-1", "eu-2", "us-1" };
	struct row r[5];
	char key[200], got[WATCH_LINE_MAX];

	(void)state;
	for (int k = 0; k < 3; k++) {
		snprintf(key, sizeof(key), "lt_requests_total{route=\"/api/v1/accounts/12345/orders/"
			 "pending/items\",zone=\"%s\"}", zone[k]);
		row_of(&r[k], key);
	}
	row_of(&r[3], "lt_requests_total{route=\"/x\",zone=\"eu-1\"}");
	row_of(&r[4], "lt_requests_total hit ratio");
	r[4].keylen = strlen("lt_requests_total");
	r[4].ratio = 1;
	for (int k = 0; k < 4; k++)
		r[k].type = SHMSTAT_COUNTER;
	for (int k = 0; k < 3; k++) {
		snprintf(key, sizeof(key), "counter, unit -, labels ro~/v1/accounts/12345/orders/"
			 "pending/items\",zone=\"%s\"", zone[k]);
		watch_labels_sel(got, sizeof(got), r, NULL, 5, (size_t)k, 79);
		assert_string_equal(got, key);
		snprintf(key, sizeof(key), "counter, unit -, labels route~/items\",zone=\"%s\"",
			 zone[k]);
		watch_labels_sel(got, sizeof(got), r, NULL, 5, (size_t)k, 49);
		assert_string_equal(got, key);
	}
	watch_labels_sel(got, sizeof(got), r, NULL, 5, 3, 79);
	assert_string_equal(got, "counter, unit -, labels route=\"/x\",zone=\"eu-1\"");
	watch_labels_sel(got, sizeof(got), r, NULL, 5, 4, 79);
	assert_string_equal(got, "hit ratio: VALUE since creation; 1m 5m 15m: over the last minutes");
	/* a histogram's quantiles after its labels; a name without labels */
	r[3].type = SHMSTAT_HISTOGRAM;
	snprintf(r[3].unit, sizeof(r[3].unit), "s");
	snprintf(r[3].detail, sizeof(r[3].detail), "p50 1 ms");
	watch_labels_line(got, sizeof(got), &r[3]);
	assert_string_equal(got, "histogram, unit s, labels route=\"/x\",zone=\"eu-1\", "
			    "last interval p50 1 ms");
	row_of(&r[3], "lt_alone_total");
	r[3].type = SHMSTAT_COUNTER;
	watch_labels_line(got, sizeof(got), &r[3]);
	assert_string_equal(got, "counter, unit -, labels -");
	for (int w = 8; w <= 100; w++)
		for (size_t k = 0; k < 5; k++) {
			watch_labels_sel(got, sizeof(got), r, NULL, 5, k, w);
			assert_true(cells(got) <= w);
		}
}

/* 3,000 rows alike but for a number at the end of a long value, shown
 * in 30 cells: all different, and the work bounded */
static void test_apart_many(void **state)
{
	enum { N = 3000 };
	struct row *r = calloc(N, sizeof(*r));
	char key[300], **t;
	unsigned long alone;

	(void)state;
	assert_non_null(r);
	for (int k = 0; k < N; k++) {
		snprintf(key, sizeof(key), "m_total{k=\"%0100d%04d\"}", 0, k * 7 % N);
		row_of(&r[k], key);
	}
	widths = 0;
	for (int k = 0; k < N; k++)
		watch_name(key, sizeof(key), &r[k], 30);
	alone = widths;
	widths = 0;
	t = watch_names(r, NULL, N, 30);
	assert_non_null(t);
	/* each row cut alone, then again (8 places at most, 16 rounds) */
	print_message("wcwidth() calls: %lu, %lu for the rows cut alone\n", widths, alone);
	assert_true(widths < 4 * alone);
	for (int k = 0; k < N; k++) {
		assert_true(cells(t[k]) <= 30);
		if (k > 0 && r[k].name[0] && strcmp(t[k], t[k - 1]) == 0)
			fail_msg("rows %d and %d are both '%s'", k - 1, k, t[k]);
	}
	{
		/* every pair: sorted copies side by side */
		char **c = malloc(N * sizeof(*c));

		assert_non_null(c);
		memcpy(c, t, N * sizeof(*c));
		qsort(c, N, sizeof(*c), by_str);
		for (int k = 1; k < N; k++)
			if (strcmp(c[k], c[k - 1]) == 0)
				fail_msg("two rows are '%s'", c[k]);
		free(c);
	}
	/* row 1 is 0007: its name, where it differs, its end */
	assert_string_equal(t[1], "m_total{k=\"0000000~000000007\"}");
	watch_names_free(t, N);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_widths),
		cmocka_unit_test(test_apart),
		cmocka_unit_test(test_apart_ratio),
		cmocka_unit_test(test_apart_sel),
		cmocka_unit_test(test_labels_sel),
		cmocka_unit_test(test_apart_many),
	};

	if (setlocale(LC_ALL, "C.UTF-8") == NULL) {
		fprintf(stderr, "test_watch_name: no C.UTF-8 locale\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
