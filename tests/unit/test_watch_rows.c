/*
 * test_watch_rows.c - shmstat watch's model (tools/cmd/watch_rows.c)
 * against a writer that churns metric names, as one with a label per
 * tenant or connection does (register, then shmstat_remove()): the
 * watch keeps a series only for the metrics its last refresh saw, so
 * its memory follows the segment, not every name the segment ever had.
 * Before, each of 300 refreshes here added a series (about 17 KiB) and
 * kept it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shmstat.h"
#include "watch.h"
#include "ut_common.h"

#define ROUNDS 300
#define LIVE 4                  /* metrics alive at each refresh */

static int reg(shmstat_seg *seg, unsigned id, int remove)
{
	char v[16];
	const char *labels[] = { "id", v, NULL };
	struct shmstat_metric_def d = { .name = "churn_total", .labels = labels, .help = "h" };
	shmstat_counter *c;
	int err;

	snprintf(v, sizeof(v), "%u", id);
	if (remove)
		return shmstat_remove(seg, &d);
	err = shmstat_counter_register(seg, &d, &c);
	if (err == 0)
		shmstat_counter_add(c, id + 1);
	return err;
}

static void test_churned_names_forgotten(void **state)
{
	const char *name = ut_name("wrows");
	struct shmstat_opts o;
	shmstat_seg *seg;
	shmstat_reader *r;
	struct watch w;
	size_t most = 0;

	(void)state;
	shmstat_opts_init(&o);
	o.max_metrics = 2 * ROUNDS;     /* no reuse of slots needed */
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	memset(&w, 0, sizeof(w));
	for (unsigned i = 0; i < ROUNDS; i++) {
		shmstat_snap *s;
		struct row *rows = NULL;
		size_t nr;

		assert_int_equal(reg(seg, i, 0), 0);
		if (i >= LIVE)
			assert_int_equal(reg(seg, i - LIVE, 1), 0);
		assert_int_equal(shmstat_snapshot(r, &s), 0);
		nr = watch_rows(&w, s, (double)i, &rows);
		/* the rows are the live metrics, each with its own value */
		assert_int_equal(nr, i < LIVE ? i + 1 : LIVE);
		for (size_t k = 0; k < nr; k++) {
			const char *pre = "churn_total{id=\"";
			char *end;
			unsigned long id;

			assert_memory_equal(rows[k].name, pre, strlen(pre));
			id = strtoul(rows[k].name + strlen(pre), &end, 10);
			assert_string_equal(end, "\"}");
			assert_true(id <= i && id + LIVE > i);
			assert_true(rows[k].value_v == (double)(id + 1));
		}
		free(rows);
		shmstat_snap_free(s);
		most = w.n > most ? w.n : most;
	}
	/* the metrics of this refresh and of the one before, at most */
	assert_true(most <= LIVE + 1);
	watch_reset(&w);
	free(w.s);
	shmstat_reader_close(r);
	shmstat_close(seg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_churned_names_forgotten, ut_setup, ut_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
