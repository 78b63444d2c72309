/*
 * test_watch_rows.c - shmstat watch's model (tools/cmd/watch_rows.c)
 * against a writer that churns metric names, as one with a label per
 * tenant or connection does (register, then shmstat_remove()): the
 * watch keeps a series only for the metrics its last refresh saw, so
 * its memory follows the segment, not every name the segment ever had.
 * Before, each of 300 refreshes here added a series (about 17 KiB) and
 * kept it.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <xxhash.h>

#include "shmstat.h"
#include "layout.h"
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
	watch_free(&w);
	shmstat_reader_close(r);
	shmstat_close(seg);
}

/* MANY counters: each refresh looks a metric's series up in a hash
 * index, at a few series, not at every earlier one. A scan compared
 * MANY * (MANY - 1) / 2 keys the first refresh (4.5 million here; 450
 * million and 7.7 s of CPU with 30,000 metrics). */
#define MANY 3000

static void test_lookup_by_index(void **state)
{
	const char *name = ut_name("wmany");
	struct shmstat_opts o;
	shmstat_seg *seg;
	shmstat_reader *r;
	struct watch w;

	(void)state;
	shmstat_opts_init(&o);
	o.max_metrics = MANY + 8;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	for (unsigned i = 0; i < MANY; i++)
		assert_int_equal(reg(seg, i, 0), 0);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	memset(&w, 0, sizeof(w));
	for (unsigned round = 0; round < 3; round++) {
		shmstat_snap *s;
		struct row *rows = NULL;

		w.probes = 0;
		assert_int_equal(shmstat_snapshot(r, &s), 0);
		assert_int_equal(watch_rows(&w, s, (double)round, &rows), MANY);
		assert_int_equal(w.n, MANY);
		/* its own series, and now and then another on its way */
		assert_true(w.probes <= (round == 0 ? 1 : 2) * MANY);
		for (size_t k = 0; k < MANY; k++)
			assert_string_equal(w.s[rows[k].series].key, rows[k].name);
		free(rows);
		shmstat_snap_free(s);
	}
	watch_free(&w);
	shmstat_reader_close(r);
	shmstat_close(seg);
}

/* Memory follows the samples kept: a ring a counter, RING_FIRST samples
 * first, doubled as it fills, HISTORY at most; none for a gauge, none at
 * all with no_windows (--lines). Before, every series held HISTORY
 * samples from its first refresh: about 17 KiB, 571 MB for 30,000
 * metrics. The averages stay exact across the growths. */
#define COUNTERS 50

static void test_rings_grow(void **state)
{
	const char *name = ut_name("wring");
	struct shmstat_metric_def gd = { .name = "g", .help = "h" };
	struct shmstat_metric_def cd = { .name = "c_total", .help = "h" };
	shmstat_counter *c;
	shmstat_gauge *g;
	shmstat_seg *seg;
	shmstat_reader *r;
	struct watch w, lw;

	(void)state;
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	for (unsigned i = 0; i < COUNTERS; i++)
		assert_int_equal(reg(seg, i, 0), 0);
	assert_int_equal(shmstat_gauge_register(seg, &gd, SHMSTAT_AGG_SUM, &g), 0);
	assert_int_equal(shmstat_counter_register(seg, &cd, &c), 0);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	memset(&w, 0, sizeof(w));
	memset(&lw, 0, sizeof(lw));
	lw.no_windows = 1;
	for (unsigned i = 0; i < 1100; i++) {
		unsigned kept = i + 1 < HISTORY ? i + 1 : HISTORY, cap = RING_FIRST;
		struct row *rows = NULL, *lrows = NULL;
		shmstat_snap *s;
		size_t nr, k;

		shmstat_counter_add(c, 10);
		shmstat_gauge_set(g, (int64_t)i);
		assert_int_equal(shmstat_snapshot(r, &s), 0);
		nr = watch_rows(&w, s, (double)i, &rows);
		assert_int_equal(nr, COUNTERS + 2);
		assert_int_equal(watch_rows(&lw, s, (double)i, &lrows), COUNTERS + 2);
		while (cap < kept)
			cap *= 2;
		/* the counters' rings, c_total's: one sample a second */
		assert_int_equal(w.ring_bytes, (COUNTERS + 1) * cap * sizeof(struct sample));
		assert_int_equal(lw.ring_bytes, 0);
		if (i == 0)
			assert_true(sizeof(struct series) + w.ring_bytes / w.n <= 1024);
		for (k = 0; k < nr && strcmp(rows[k].name, "c_total") != 0; k++)
			;
		assert_true(k < nr);
		/* 10 a second: over the last interval, and each window once
		 * watched that long */
		if (i > 0)
			assert_string_equal(lrows[k].last, rows[k].rate);
		for (int j = 0; j < WINDOWS; j++)
			if (i >= watch_window_s[j])
				assert_string_equal(rows[k].avg[j], rows[k].rate);
			else
				assert_string_equal(rows[k].avg[j], "-");
		free(rows);
		free(lrows);
		shmstat_snap_free(s);
	}
	watch_free(&w);
	watch_free(&lw);
	assert_int_equal(w.ring_bytes, 0);
	shmstat_reader_close(r);
	shmstat_close(seg);
}

/* DUPS counters renamed in the segment to one name (checksums fixed), as
 * a forged segment holds them: each keeps its own series (its rate, not
 * "-" from another resetting it), and each refresh finds them at a few
 * series each, not by walking all those of the key. */
#define DUPS 2000

static void test_duplicates_apart(void **state)
{
	const char *name = ut_name("wdup");
	struct shmstat_opts o;
	struct shmstat_hdr h;
	shmstat_seg *seg;
	shmstat_reader *r;
	struct watch w;
	char path[300];
	int fd;

	(void)state;
	shmstat_opts_init(&o);
	o.max_metrics = DUPS + 8;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	for (unsigned i = 0; i < DUPS; i++)
		assert_int_equal(reg(seg, i, 0), 0);
	snprintf(path, sizeof(path), "/dev/shm/shmstat.%s", name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
	for (uint32_t i = 0; i < h.max_metrics; i++) {
		struct shmstat_desc d;
		off_t off = (off_t)(h.regions[SHMSTAT_REG_DESCS].off + (uint64_t)i * sizeof(d));

		assert_int_equal(pread(fd, &d, sizeof(d), off), sizeof(d));
		if (SHMSTAT_DESC_STATE(d.word) != SHMSTAT_DESC_LIVE)
			continue;
		snprintf(d.labels, sizeof(d.labels), "id=\"x\"");
		d.sum = XXH3_64bits((const unsigned char *)&d + SHMSTAT_DESC_SUM_FROM,
				    sizeof(d) - SHMSTAT_DESC_SUM_FROM);
		assert_int_equal(pwrite(fd, &d, sizeof(d), off), sizeof(d));
	}
	close(fd);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	memset(&w, 0, sizeof(w));
	for (unsigned round = 0; round < 3; round++) {
		uint64_t seen[DUPS] = { 0 };
		shmstat_snap *s;
		struct row *rows = NULL;

		w.probes = 0;
		assert_int_equal(shmstat_snapshot(r, &s), 0);
		assert_int_equal(watch_rows(&w, s, (double)round, &rows), DUPS);
		assert_int_equal(w.n, DUPS);
		assert_true(w.probes <= (round == 0 ? 1 : 2) * DUPS);
		for (size_t k = 0; k < DUPS; k++) {
			assert_string_equal(rows[k].name, "churn_total{id=\"x\"}");
			/* values 1 .. DUPS, each once; a rate from the second */
			assert_true(rows[k].value_v >= 1 && rows[k].value_v <= DUPS);
			assert_int_equal(seen[(size_t)rows[k].value_v - 1]++, 0);
			assert_string_equal(rows[k].rate, round == 0 ? "-" : "0/s");
		}
		free(rows);
		shmstat_snap_free(s);
	}
	watch_free(&w);
	shmstat_reader_close(r);
	shmstat_close(seg);
}

/* Two label sets equal in their first 150 ESC (600 bytes escaped, \x1b
 * each), "a" and "b" after: each is a series of its own, its row named
 * by its whole key, and a rate follows its own counter. Keys were kept
 * in 400 bytes: both rows read the same cut name. */
static int reg_long(shmstat_seg *seg, char last, uint64_t add)
{
	char v[152];
	const char *labels[] = { "v", v, NULL };
	struct shmstat_metric_def d = { .name = "long_total", .labels = labels, .help = "h" };
	shmstat_counter *c;
	int err;

	memset(v, 0x1b, 150);
	v[150] = last;
	v[151] = '\0';
	err = shmstat_counter_register(seg, &d, &c);
	if (err == 0)
		shmstat_counter_add(c, add);
	return err;
}

static void test_long_keys_apart(void **state)
{
	const char *name = ut_name("wlong");
	char want[2][700];
	shmstat_seg *seg;
	shmstat_reader *r;
	struct watch w;

	(void)state;
	for (int k = 0; k < 2; k++) {
		size_t o = (size_t)sprintf(want[k], "long_total{v=\"");

		for (int i = 0; i < 150; i++)
			o += (size_t)sprintf(want[k] + o, "\\x1b");
		sprintf(want[k] + o, "%c\"}", "ab"[k]);
		assert_int_equal(strlen(want[k]), 617);
	}
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(reg_long(seg, 'a', 7), 0);
	assert_int_equal(reg_long(seg, 'b', 11), 0);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	memset(&w, 0, sizeof(w));
	for (unsigned round = 0; round < 3; round++) {
		shmstat_snap *s;
		struct row *rows = NULL;

		if (round == 2)
			assert_int_equal(reg_long(seg, 'a', 5), 0);     /* a: 7 -> 12 */
		assert_int_equal(shmstat_snapshot(r, &s), 0);
		assert_int_equal(watch_rows(&w, s, (double)round, &rows), 2);
		assert_int_equal(w.n, 2);
		assert_string_equal(rows[0].name, want[0]);
		assert_string_equal(rows[1].name, want[1]);
		assert_string_equal(w.s[rows[0].series].key, want[0]);
		assert_string_equal(w.s[rows[1].series].key, want[1]);
		assert_true(rows[0].value_v == (round == 2 ? 12 : 7));
		assert_true(rows[1].value_v == 11);
		assert_string_equal(rows[0].rate, round == 0 ? "-" : round == 1 ? "0/s" : "5/s");
		assert_string_equal(rows[1].rate, round == 0 ? "-" : "0/s");
		free(rows);
		shmstat_snap_free(s);
	}
	watch_free(&w);
	shmstat_reader_close(r);
	shmstat_close(seg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_churned_names_forgotten, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_lookup_by_index, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_rings_grow, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_apart, ut_setup, ut_teardown),
		cmocka_unit_test_setup_teardown(test_long_keys_apart, ut_setup, ut_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
