/*
 * test_watch_name.c - shmstat watch's names cut to their column
 * (tools/cmd/watch_rows.c, watch_name()): what is kept, and how much work
 * it takes. wcwidth() is this file's, counting its calls: a key whose
 * label values are long took one cut of all of them per cell given up
 * (441,555 calls for a value of 390 cells, 5 ms a row: a piped block of
 * 3,000 such rows took 14.5 s); the cap is now bisected.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_widths),
	};

	if (setlocale(LC_ALL, "C.UTF-8") == NULL) {
		fprintf(stderr, "test_watch_name: no C.UTF-8 locale\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
