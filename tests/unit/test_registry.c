/*
 * test_registry.c - register-or-find: identity, type conflicts, name and
 * label rules, canonical labels, full directory and value slots.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "ut_common.h"

static shmstat_seg *open_small(const char *name, uint32_t metrics, uint32_t values)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;

	ut_small_opts(&o);
	if (metrics)
		o.max_metrics = metrics;
	if (values)
		o.max_values = values;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	return seg;
}

static int reg_counter(shmstat_seg *seg, const char *name, const char *const *labels,
		       shmstat_counter **c)
{
	struct shmstat_metric_def def = { .name = name, .labels = labels };

	*c = NULL;
	return shmstat_counter_register(seg, &def, c);
}

static int reg_gauge(shmstat_seg *seg, const char *name, enum shmstat_agg agg,
		     shmstat_gauge **g)
{
	struct shmstat_metric_def def = { .name = name };

	*g = NULL;
	return shmstat_gauge_register(seg, &def, agg, g);
}

/* Same name and labels, in any order, give the same handle. */
static void test_same_handle(void **state)
{
	const char *name = ut_name("reg");
	static const char *const l1[] = { "zone", "eu", "app", "web", NULL };
	static const char *const l2[] = { "app", "web", "zone", "eu", NULL };
	static const char *const l3[] = { "app", "web", "zone", "us", NULL };
	static const char *const none[] = { NULL };
	struct shmstat_metric_info mi;
	shmstat_counter *a, *b, *c, *d, *e, *f;
	shmstat_gauge *g1, *g2;
	shmstat_seg *seg = open_small(name, 0, 0);
	shmstat_snap *s;

	(void)state;
	assert_int_equal(reg_counter(seg, "req_total", l1, &a), 0);
	assert_int_equal(reg_counter(seg, "req_total", l2, &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(reg_counter(seg, "req_total", l3, &c), 0);
	assert_ptr_not_equal(a, c);
	/* no labels: NULL and an empty list are the same metric */
	assert_int_equal(reg_counter(seg, "req_total", NULL, &d), 0);
	assert_int_equal(reg_counter(seg, "req_total", none, &e), 0);
	assert_ptr_equal(d, e);
	assert_ptr_not_equal(d, a);
	/* another name */
	assert_int_equal(reg_counter(seg, "req_total2", l1, &f), 0);
	assert_ptr_not_equal(f, a);
	/* gauges too */
	assert_int_equal(reg_gauge(seg, "temp", SHMSTAT_AGG_MAX, &g1), 0);
	assert_int_equal(reg_gauge(seg, "temp", SHMSTAT_AGG_MAX, &g2), 0);
	assert_ptr_equal(g1, g2);

	shmstat_counter_add(a, 2);
	shmstat_counter_add(b, 3);
	shmstat_counter_add(c, 10);
	s = ut_snap(name);
	assert_int_equal(shmstat_snap_metrics(s), 5);
	assert_true(ut_find(s, "req_total", "app=\"web\",zone=\"eu\"", &mi) >= 0);
	assert_int_equal(mi.counter, 5);
	assert_int_equal(mi.type, SHMSTAT_COUNTER);
	assert_true(ut_find(s, "req_total", "app=\"web\",zone=\"us\"", &mi) >= 0);
	assert_int_equal(mi.counter, 10);
	assert_true(ut_find(s, "req_total", "", &mi) >= 0);
	assert_int_equal(mi.counter, 0);
	assert_true(ut_find(s, "temp", "", &mi) >= 0);
	assert_int_equal(mi.type, SHMSTAT_GAUGE);
	assert_int_equal(mi.agg, SHMSTAT_AGG_MAX);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Two attachments (as two processes would be) get the same metric. */
static void test_same_metric_two_attachments(void **state)
{
	const char *name = ut_name("reg");
	shmstat_seg *s1 = open_small(name, 0, 0), *s2 = NULL;
	shmstat_counter *a, *b;
	struct shmstat_seg_info info;

	(void)state;
	assert_int_equal(shmstat_open(name, NULL, &s2), 0);
	assert_int_equal(reg_counter(s1, "shared_total", NULL, &a), 0);
	assert_int_equal(reg_counter(s2, "shared_total", NULL, &b), 0);
	shmstat_counter_add(a, 40);
	shmstat_counter_add(b, 2);
	assert_int_equal(ut_counter_value(name, "shared_total"), 42);
	ut_info(name, &info);
	assert_int_equal(info.metrics, 1);
	assert_int_equal(info.values_used, 1);
	assert_int_equal(shmstat_close(s2), 0);
	assert_int_equal(shmstat_close(s1), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

static int kid_register(void *arg, int cmd, int ack)
{
	const char *name = arg;
	shmstat_seg *seg = NULL;
	shmstat_counter *c = NULL;
	struct shmstat_metric_def def = { .name = "forked_total" };
	static const char *const lbl[] = { "b", "2", "a", "1", NULL };

	def.labels = lbl;
	if (shmstat_open(name, NULL, &seg) != 0 ||
	    shmstat_counter_register(seg, &def, &c) != 0) {
		ut_send(ack, 'E');
		return 1;
	}
	shmstat_counter_add(c, 1000);
	ut_send(ack, 'k');
	if (ut_recv(cmd) != 'q')
		return 2;
	shmstat_close(seg);
	ut_send(ack, 'k');
	return 0;
}

/* Another process registering the same name and labels gets the same metric. */
static void test_same_metric_across_processes(void **state)
{
	const char *name = ut_name("reg");
	static const char *const lbl[] = { "a", "1", "b", "2", NULL };
	shmstat_seg *seg = open_small(name, 0, 0);
	struct shmstat_metric_info mi;
	shmstat_counter *c;
	struct ut_kid k;
	shmstat_snap *s;

	(void)state;
	assert_int_equal(shmstat_close(seg), 0);   /* the child must not inherit it */
	assert_int_equal(ut_kid_start(&k, kid_register, (void *)name), 'k');
	seg = open_small(name, 0, 0);
	assert_int_equal(reg_counter(seg, "forked_total", lbl, &c), 0);
	shmstat_counter_add(c, 7);
	s = ut_snap(name);
	assert_int_equal(shmstat_snap_metrics(s), 1);
	assert_int_equal(ut_find(s, "forked_total", "a=\"1\",b=\"2\"", &mi), 0);
	assert_int_equal(mi.counter, 1007);
	shmstat_snap_free(s);
	assert_int_equal(ut_kid_cmd(&k, 'q'), 'k');
	assert_int_equal(ut_kid_wait(&k), 0);
	/* the child is gone; its share stays */
	s = ut_snap(name);
	assert_int_equal(ut_find(s, "forked_total", "a=\"1\",b=\"2\"", &mi), 0);
	assert_int_equal(mi.counter, 1007);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Counter then gauge of the same name: ETYPE and a handle that does nothing. */
static void test_type_conflict(void **state)
{
	const char *name = ut_name("reg");
	shmstat_seg *seg = open_small(name, 0, 0);
	struct shmstat_metric_info mi;
	shmstat_counter *c, *c2;
	shmstat_gauge *g, *g2;
	shmstat_snap *s;

	(void)state;
	assert_int_equal(reg_counter(seg, "x_total", NULL, &c), 0);
	shmstat_counter_add(c, 5);
	assert_int_equal(reg_gauge(seg, "x_total", SHMSTAT_AGG_SUM, &g), SHMSTAT_ETYPE);
	assert_non_null(g);
	assert_ptr_not_equal((void *)g, (void *)c);
	ut_check_error_text("x_total");
	assert_non_null(strstr(shmstat_last_error(), "counter"));
	shmstat_gauge_add(g, 100);
	shmstat_gauge_sub(g, 1);
	shmstat_gauge_set(g, 77);

	/* gauge first, then a counter of the same name */
	assert_int_equal(reg_gauge(seg, "y", SHMSTAT_AGG_SUM, &g2), 0);
	shmstat_gauge_set(g2, -3);
	assert_int_equal(reg_counter(seg, "y", NULL, &c2), SHMSTAT_ETYPE);
	assert_non_null(c2);
	ut_check_error_text("y");
	shmstat_counter_add(c2, 1000);
	shmstat_counter_inc(c2);

	s = ut_snap(name);
	assert_int_equal(shmstat_snap_metrics(s), 2);
	assert_true(ut_find(s, "x_total", "", &mi) >= 0);
	assert_int_equal(mi.type, SHMSTAT_COUNTER);
	assert_int_equal(mi.counter, 5);
	assert_true(ut_find(s, "y", "", &mi) >= 0);
	assert_int_equal(mi.type, SHMSTAT_GAUGE);
	assert_int_equal(mi.gauge, -3);
	shmstat_snap_free(s);
	/* the original handles still work and find themselves again */
	assert_int_equal(reg_counter(seg, "x_total", NULL, &c2), 0);
	assert_ptr_equal(c2, c);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* The same gauge with another aggregation is a type conflict too. */
static void test_agg_conflict(void **state)
{
	const char *name = ut_name("reg");
	shmstat_seg *seg = open_small(name, 0, 0), *seg2 = NULL;
	shmstat_gauge *g, *g2;

	(void)state;
	assert_int_equal(reg_gauge(seg, "conns", SHMSTAT_AGG_MAX, &g), 0);
	shmstat_gauge_set(g, 4);
	assert_int_equal(reg_gauge(seg, "conns", SHMSTAT_AGG_MIN, &g2), SHMSTAT_ETYPE);
	ut_check_error_text("conns");
	shmstat_gauge_set(g2, 1000);
	shmstat_gauge_add(g2, 1000);
	assert_int_equal(reg_gauge(seg, "conns", SHMSTAT_AGG_LIVEMAX, &g2), SHMSTAT_ETYPE);
	/* also from another attachment, which must read the descriptor */
	assert_int_equal(shmstat_open(name, NULL, &seg2), 0);
	assert_int_equal(reg_gauge(seg2, "conns", SHMSTAT_AGG_SUM, &g2), SHMSTAT_ETYPE);
	ut_check_error_text("conns");
	shmstat_gauge_set(g2, 1000);
	assert_int_equal(reg_gauge(seg2, "conns", SHMSTAT_AGG_MAX, &g2), 0);
	assert_ptr_not_equal(g2, g);
	/* unknown aggregation */
	assert_int_equal(reg_gauge(seg, "other", (enum shmstat_agg)8, &g2), EINVAL);
	assert_non_null(g2);
	shmstat_gauge_set(g2, 1);
	assert_int_equal(ut_gauge_value(name, "conns", NULL), 4);
	assert_int_equal(shmstat_close(seg2), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void expect_bad_def(shmstat_seg *seg, const struct shmstat_metric_def *def)
{
	shmstat_counter *c = NULL;
	shmstat_gauge *g = NULL;

	assert_int_equal(shmstat_counter_register(seg, def, &c), SHMSTAT_EBADNAME);
	assert_non_null(c);
	ut_check_error_text(NULL);
	shmstat_counter_add(c, 1);
	assert_int_equal(shmstat_gauge_register(seg, def, SHMSTAT_AGG_SUM, &g),
			 SHMSTAT_EBADNAME);
	assert_non_null(g);
	shmstat_gauge_set(g, 1);
}

static void test_bad_metric_names(void **state)
{
	const char *name = ut_name("reg");
	char n96[97], n95[96];
	const char *bad[] = { "", "1abc", "a-b", "\xc3\xa9", "a b", "a.b", "x\n", n96 };
	shmstat_seg *seg = open_small(name, 0, 0);
	struct shmstat_seg_info info;
	shmstat_counter *c;

	(void)state;
	memset(n96, 'm', 96);
	n96[96] = '\0';
	memset(n95, 'm', 95);
	n95[95] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct shmstat_metric_def def = { .name = bad[i] };

		expect_bad_def(seg, &def);
	}
	{
		struct shmstat_metric_def def = { .name = NULL };

		expect_bad_def(seg, &def);
	}
	ut_info(name, &info);
	assert_int_equal(info.metrics, 0);
	assert_int_equal(info.dropped_regs, 0);
	/* the edges of the rule are accepted */
	assert_int_equal(reg_counter(seg, n95, NULL, &c), 0);
	assert_int_equal(reg_counter(seg, "_x", NULL, &c), 0);
	assert_int_equal(reg_counter(seg, ":a:b_9", NULL, &c), 0);
	assert_int_equal(reg_counter(seg, "A", NULL, &c), 0);
	ut_info(name, &info);
	assert_int_equal(info.metrics, 4);
	/* missing arguments */
	assert_int_equal(shmstat_counter_register(seg, NULL, &c), EINVAL);
	assert_non_null(c);
	shmstat_counter_inc(c);
	assert_int_equal(shmstat_counter_register(NULL, &(struct shmstat_metric_def){ .name = "a" },
						  &c), EINVAL);
	shmstat_counter_inc(c);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_bad_labels(void **state)
{
	const char *name = ut_name("reg");
	static const char *const bad_keys[][3] = {
		{ "__x", "v", NULL }, { "1a", "v", NULL }, { "a-b", "v", NULL },
		{ "", "v", NULL }, { "a:b", "v", NULL }, { "k", NULL, NULL },
	};
	static const char *const dup[] = { "k", "1", "j", "2", "k", "3", NULL };
	static const char *const bad_utf8[][3] = {
		{ "k", "\xff", NULL }, { "k", "ok\xc3", NULL }, { "k", "\xc0\x80", NULL },
		{ "k", "\xed\xa0\x80", NULL }, { "k", "\xf4\x90\x80\x80", NULL },
		{ "k", "\x80", NULL }, { "k", "\xe2\x82", NULL },
	};
	const char *many[2 * 17 + 1];
	char keys[17][8];
	char long_value[240];
	const char *too_long[] = { "k", long_value, NULL };
	shmstat_seg *seg = open_small(name, 0, 0);
	struct shmstat_metric_def def = { .name = "m" };
	struct shmstat_seg_info info;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		def.labels = bad_keys[i];
		expect_bad_def(seg, &def);
		ut_check_error_text("m");
	}
	def.labels = dup;
	expect_bad_def(seg, &def);
	assert_non_null(strstr(shmstat_last_error(), "'k'"));
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		def.labels = bad_utf8[i];
		expect_bad_def(seg, &def);
	}
	for (int i = 0; i < 17; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		many[2 * i] = keys[i];
		many[2 * i + 1] = "v";
	}
	many[34] = NULL;
	def.labels = many;
	expect_bad_def(seg, &def);
	memset(long_value, 'v', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	def.labels = too_long;
	expect_bad_def(seg, &def);
	ut_info(name, &info);
	assert_int_equal(info.metrics, 0);

	/* sixteen labels are fine, and so is any valid UTF-8 */
	{
		static const char *const utf8[] = {
			"a", "\xc3\xa9t\xc3\xa9", "b", "\xe6\x97\xa5\xe6\x9c\xac",
			"c", "\xf0\x9f\x98\x80", "d", "", NULL };
		struct shmstat_metric_info mi;
		shmstat_counter *c;
		shmstat_snap *s;

		many[32] = NULL;
		def.labels = many;
		assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
		def.labels = utf8;
		assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
		s = ut_snap(name);
		assert_true(ut_find(s, "m",
				    "a=\"\xc3\xa9t\xc3\xa9\",b=\"\xe6\x97\xa5\xe6\x9c\xac\","
				    "c=\"\xf0\x9f\x98\x80\",d=\"\"", &mi) >= 0);
		shmstat_snap_free(s);
	}
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Labels fit when their canonical form k="v",... has at most 223 bytes
 * (SHMSTAT_LABELS_CAP - 1); one byte more is refused. */
static void test_labels_length_limit(void **state)
{
	static const char *const unit[] = { "v", "\"", "\xc3\xa9", "\n" };
	static const size_t enc[] = { 1, 2, 2, 2 };      /* canonical bytes */
	const char *name = ut_name("reg");
	shmstat_seg *seg = open_small(name, 1024, 4096);
	struct shmstat_metric_info mi;
	char value[600], canon[700];
	int tried_fit = 0, tried_over = 0;

	(void)state;
	for (size_t u = 0; u < sizeof(unit) / sizeof(unit[0]); u++) {
		for (size_t n = 100; n < 240; n++) {
			const char *lbl[] = { "k", value, NULL };
			size_t clen = 4 + n * enc[u];    /* k="...": 4 bytes around */
			shmstat_counter *c;
			shmstat_snap *snap;
			char mname[32];
			int err;

			if (clen < 215 || clen > 230)
				continue;
			value[0] = '\0';
			canon[0] = '\0';
			strcat(canon, "k=\"");
			for (size_t i = 0; i < n; i++) {
				strcat(value, unit[u]);
				strcat(canon, u == 1 ? "\\\"" : u == 3 ? "\\n" : unit[u]);
			}
			strcat(canon, "\"");
			assert_int_equal(strlen(canon), clen);
			snprintf(mname, sizeof(mname), "len_%zu_%zu", u, n);
			err = reg_counter(seg, mname, lbl, &c);
			if (clen <= SHMSTAT_LABELS_CAP - 1) {
				tried_fit++;
				if (err != 0)
					fail_msg("canonical labels of %zu bytes refused: %s", clen,
						 shmstat_last_error());
				snap = ut_snap(name);
				assert_true(ut_find(snap, mname, canon, &mi) >= 0);
				shmstat_snap_free(snap);
			} else {
				tried_over++;
				assert_int_equal(err, SHMSTAT_EBADNAME);
				ut_check_error_text(NULL);
			}
		}
	}
	assert_true(tried_fit > 4 && tried_over > 4);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Quote, backslash and newline in a value are escaped in the canonical
 * labels string; the escaped and the raw forms do not collide. */
static void test_label_escaping(void **state)
{
	const char *name = ut_name("reg");
	static const char *const lbl[] = { "k", "a\"b\\c\nd", NULL };
	static const char *const lit[] = { "k", "a\\\"b\\\\c\\nd", NULL };
	shmstat_seg *seg = open_small(name, 0, 0);
	struct shmstat_metric_info mi;
	shmstat_counter *c, *c2;
	shmstat_snap *s;

	(void)state;
	assert_int_equal(reg_counter(seg, "esc_total", lbl, &c), 0);
	shmstat_counter_add(c, 1);
	assert_int_equal(reg_counter(seg, "esc_total", lit, &c2), 0);
	assert_ptr_not_equal(c, c2);
	shmstat_counter_add(c2, 2);
	s = ut_snap(name);
	assert_true(ut_find(s, "esc_total", "k=\"a\\\"b\\\\c\\nd\"", &mi) >= 0);
	assert_int_equal(mi.counter, 1);
	assert_true(ut_find(s, "esc_total", "k=\"a\\\\\\\"b\\\\\\\\c\\\\nd\"", &mi) >= 0);
	assert_int_equal(mi.counter, 2);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_help_and_unit(void **state)
{
	const char *name = ut_name("reg");
	char h96[SHMSTAT_HELP_CAP + 1], h95[SHMSTAT_HELP_CAP], u32[33], u31[32];
	shmstat_seg *seg = open_small(name, 0, 0);
	struct shmstat_metric_def def = { .name = "lat_seconds" };
	struct shmstat_metric_info mi;
	shmstat_counter *c;
	shmstat_snap *s;

	(void)state;
	/* help holds SHMSTAT_HELP_CAP - 1 bytes */
	memset(h96, 'h', SHMSTAT_HELP_CAP);
	h96[SHMSTAT_HELP_CAP] = '\0';
	memset(h95, 'h', SHMSTAT_HELP_CAP - 1);
	h95[SHMSTAT_HELP_CAP - 1] = '\0';
	memset(u32, 'u', 32);
	u32[32] = '\0';
	memset(u31, 'u', 31);
	u31[31] = '\0';

	def.help = "two\nlines";
	expect_bad_def(seg, &def);
	ut_check_error_text("lat_seconds");
	/* readers refuse help that is not UTF-8 (issue 17): so does the writer */
	def.help = "latin-1 \xe9t\xe9";
	expect_bad_def(seg, &def);
	ut_check_error_text("lat_seconds");
	def.help = h96;
	expect_bad_def(seg, &def);
	def.help = NULL;
	def.unit = u32;
	expect_bad_def(seg, &def);
	def.unit = "a/b";
	expect_bad_def(seg, &def);

	def.help = h95;
	def.unit = u31;
	assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
	def.name = "plain";
	def.help = "Time spent, in \"seconds\".";
	def.unit = "seconds";
	assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
	def.name = "bare";
	def.help = NULL;
	def.unit = NULL;
	assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
	s = ut_snap(name);
	assert_int_equal(shmstat_snap_metrics(s), 3);
	assert_true(ut_find(s, "lat_seconds", "", &mi) >= 0);
	assert_string_equal(mi.help, h95);
	assert_string_equal(mi.unit, u31);
	assert_true(ut_find(s, "plain", "", &mi) >= 0);
	assert_string_equal(mi.help, "Time spent, in \"seconds\".");
	assert_string_equal(mi.unit, "seconds");
	assert_true(ut_find(s, "bare", "", &mi) >= 0);
	assert_string_equal(mi.help, "");
	assert_string_equal(mi.unit, "");
	shmstat_snap_free(s);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* max_metrics = 4: four counters fit, the fifth gets EFULL and a handle
 * that does nothing; dropped_regs counts it. */
static void test_directory_full(void **state)
{
	const char *name = ut_name("reg");
	shmstat_seg *seg = open_small(name, 4, 0), *seg2 = NULL;
	struct shmstat_seg_info info;
	shmstat_counter *c[4], *x, *again;
	char mname[16];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(mname, sizeof(mname), "c%d", i);
		assert_int_equal(reg_counter(seg, mname, NULL, &c[i]), 0);
		shmstat_counter_add(c[i], (uint64_t)i + 1);
	}
	assert_int_equal(reg_counter(seg, "c4", NULL, &x), SHMSTAT_EFULL);
	assert_non_null(x);
	ut_check_error_text(name);
	shmstat_counter_add(x, 1000);
	shmstat_counter_inc(x);
	ut_info(name, &info);
	assert_int_equal(info.dropped_regs, 1);
	assert_int_equal(info.metrics, 4);
	assert_int_equal(info.values_used, 4);
	for (int i = 0; i < 4; i++) {
		snprintf(mname, sizeof(mname), "c%d", i);
		assert_int_equal(ut_counter_value(name, mname), (uint64_t)i + 1);
	}
	/* existing metrics are still found, here and from another attachment */
	assert_int_equal(reg_counter(seg, "c2", NULL, &again), 0);
	assert_ptr_equal(again, c[2]);
	assert_int_equal(shmstat_open(name, NULL, &seg2), 0);
	assert_int_equal(reg_counter(seg2, "c3", NULL, &again), 0);
	shmstat_counter_add(again, 10);
	assert_int_equal(ut_counter_value(name, "c3"), 14);
	assert_int_equal(reg_counter(seg2, "c5", NULL, &x), SHMSTAT_EFULL);
	ut_info(name, &info);
	assert_int_equal(info.dropped_regs, 2);
	assert_int_equal(shmstat_close(seg2), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Value slots run out before descriptors: gauges take 3, counters 1. */
static void test_values_full(void **state)
{
	const char *name = ut_name("reg");
	shmstat_seg *seg = open_small(name, 0, 7);
	struct shmstat_seg_info info;
	shmstat_gauge *g1, *g2, *g3;
	shmstat_counter *c1, *c2;

	(void)state;
	assert_int_equal(reg_gauge(seg, "g1", SHMSTAT_AGG_SUM, &g1), 0);
	assert_int_equal(reg_gauge(seg, "g2", SHMSTAT_AGG_MAX, &g2), 0);
	assert_int_equal(reg_gauge(seg, "g3", SHMSTAT_AGG_SUM, &g3), SHMSTAT_EFULL);
	assert_non_null(g3);
	ut_check_error_text(name);
	shmstat_gauge_set(g3, 9);
	shmstat_gauge_add(g3, 9);
	assert_int_equal(reg_counter(seg, "c1", NULL, &c1), 0);
	assert_int_equal(reg_counter(seg, "c2", NULL, &c2), SHMSTAT_EFULL);
	shmstat_counter_add(c2, 5);
	shmstat_counter_add(c1, 3);
	shmstat_gauge_set(g1, -2);
	shmstat_gauge_set(g2, 8);
	ut_info(name, &info);
	assert_int_equal(info.values_used, 7);
	assert_int_equal(info.metrics, 3);
	assert_int_equal(ut_counter_value(name, "c1"), 3);
	assert_int_equal(ut_gauge_value(name, "g1", NULL), -2);
	assert_int_equal(ut_gauge_value(name, "g2", NULL), 8);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* A registration refused for lack of value slots must not use up a
 * directory slot: retrying it must not starve later registrations that
 * still fit. */
static void test_values_full_keeps_directory(void **state)
{
	const char *name = ut_name("reg");
	shmstat_seg *seg = open_small(name, 4, 4);
	shmstat_gauge *g;
	shmstat_counter *c;

	(void)state;
	assert_int_equal(reg_gauge(seg, "g1", SHMSTAT_AGG_SUM, &g), 0);   /* 3 of 4 values */
	for (int i = 0; i < 3; i++)
		assert_int_equal(reg_gauge(seg, "g2", SHMSTAT_AGG_SUM, &g), SHMSTAT_EFULL);
	/* one value slot and (with one metric live) three descriptors are left */
	if (reg_counter(seg, "c1", NULL, &c) != 0)
		fail_msg("counter refused after failed gauge registrations: %s",
			 shmstat_last_error());
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* A type conflict is reported as such even when the existing metric sits
 * in the last value slots (seen from another attachment, which has to
 * read the descriptor). */
static void test_type_conflict_last_slot(void **state)
{
	const char *name = ut_name("reg");
	shmstat_seg *seg = open_small(name, 0, 4), *seg2 = NULL;
	shmstat_counter *c[4];
	shmstat_gauge *g;
	char mname[8];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(mname, sizeof(mname), "c%d", i);
		assert_int_equal(reg_counter(seg, mname, NULL, &c[i]), 0);
	}
	assert_int_equal(shmstat_open(name, NULL, &seg2), 0);
	assert_int_equal(reg_gauge(seg2, "c0", SHMSTAT_AGG_SUM, &g), SHMSTAT_ETYPE);
	if (reg_gauge(seg2, "c3", SHMSTAT_AGG_SUM, &g) != SHMSTAT_ETYPE)
		fail_msg("gauge over the counter in the last value slot: %s, not ETYPE",
			 shmstat_last_error());
	assert_int_equal(shmstat_close(seg2), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Many threads registering the same names at once get one handle each. */
#define RT_THREADS 4
#define RT_NAMES 40

struct reg_arg {
	shmstat_seg *seg;
	pthread_barrier_t *bar;
	shmstat_counter *h[RT_NAMES];
	int err;
};

static void *reg_thread(void *p)
{
	struct reg_arg *a = p;

	pthread_barrier_wait(a->bar);
	for (int i = 0; i < RT_NAMES; i++) {
		char mname[16];
		struct shmstat_metric_def def = { .name = mname };

		snprintf(mname, sizeof(mname), "m%d", i);
		if (shmstat_counter_register(a->seg, &def, &a->h[i]) != 0)
			a->err++;
		shmstat_counter_inc(a->h[i]);
	}
	return NULL;
}

static void test_register_concurrent_threads(void **state)
{
	const char *name = ut_name("reg");
	shmstat_seg *seg = open_small(name, 0, 0);
	struct reg_arg args[RT_THREADS];
	pthread_t th[RT_THREADS];
	pthread_barrier_t bar;
	struct shmstat_seg_info info;

	(void)state;
	pthread_barrier_init(&bar, NULL, RT_THREADS);
	for (int t = 0; t < RT_THREADS; t++) {
		memset(&args[t], 0, sizeof(args[t]));
		args[t].seg = seg;
		args[t].bar = &bar;
		assert_int_equal(pthread_create(&th[t], NULL, reg_thread, &args[t]), 0);
	}
	for (int t = 0; t < RT_THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&bar);
	for (int t = 0; t < RT_THREADS; t++) {
		assert_int_equal(args[t].err, 0);
		for (int i = 0; i < RT_NAMES; i++)
			assert_ptr_equal(args[t].h[i], args[0].h[i]);
	}
	ut_info(name, &info);
	assert_int_equal(info.metrics, RT_NAMES);
	assert_int_equal(info.values_used, RT_NAMES);
	assert_int_equal(ut_counter_value(name, "m0"), RT_THREADS);
	assert_int_equal(ut_counter_value(name, "m39"), RT_THREADS);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_same_handle),
		T(test_same_metric_two_attachments),
		T(test_same_metric_across_processes),
		T(test_type_conflict),
		T(test_agg_conflict),
		T(test_bad_metric_names),
		T(test_bad_labels),
		T(test_labels_length_limit),
		T(test_label_escaping),
		T(test_help_and_unit),
		T(test_directory_full),
		T(test_values_full),
		T(test_values_full_keeps_directory),
		T(test_type_conflict_last_slot),
		T(test_register_concurrent_threads),
	};

	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
