/*
 * test_remove_basic.c - shmstat_remove() and shmstat_quiesce() in one
 * process (and one helper child that keeps an old handle): the API's
 * results, the metric leaving snapshots at once, removed handles doing
 * nothing, and a removed name registered again being a new metric with
 * its own value slots even before the grace period is over.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rm_util.h"
#include "segment.h"

static const char *const lab_a[] = { "conn", "17", "peer", "10.0.0.1", NULL };
static const char *const lab_a_swapped[] = { "peer", "10.0.0.1", "conn", "17", NULL };
static const char *const lab_b[] = { "conn", "18", "peer", "10.0.0.1", NULL };
#define LAB_A "conn=\"17\",peer=\"10.0.0.1\""
#define LAB_B "conn=\"18\",peer=\"10.0.0.1\""

/* A tiny histogram layout: few value slots. */
static const struct shmstat_hist_opts tiny_hist = { .lowest = 1, .highest = 16, .bits = 1 };

/* Every metric of a snapshot of @seg, as (name{labels} = counter/gauge),
 * into @out: lets a test check that nothing anywhere changed. */
static void dump(const char *seg, char *out, size_t cap)
{
	shmstat_snap *s = ut_snap(seg);
	size_t n = shmstat_snap_metrics(s), o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info mi;
		int k;

		assert_int_equal(shmstat_snap_metric(s, i, &mi), 0);
		k = snprintf(out + o, cap - o, "%s{%s} %s id=%llu c=%llu g=%lld v=%d\n", mi.name,
			     mi.labels, shmstat_type_name(mi.type), (unsigned long long)mi.reg_id,
			     (unsigned long long)mi.counter, (long long)mi.gauge, mi.has_value);
		assert_true(k > 0 && (size_t)k < cap - o);
		o += (size_t)k;
	}
	shmstat_snap_free(s);
}

/* 1. register, update, remove; gone from snapshots; old handles do
 * nothing; every error code. */
static void test_remove_api(void **state)
{
	const char *name = ut_name("rmapi");
	shmstat_seg *seg = rm_open(name, 16, 256);
	const struct shmstat_metric_def cdef = { .name = "conn_bytes", .labels = lab_a };
	const struct shmstat_metric_def gdef = { .name = "conn_open", .labels = lab_a };
	const struct shmstat_metric_def hdef = { .name = "conn_rtt_ns", .labels = lab_a };
	const struct shmstat_metric_def keep = { .name = "conn_bytes", .labels = lab_b };
	const struct shmstat_metric_def sdef = { .name = "sigs" };
	struct shmstat_sigtab_opts so;
	struct shmstat_metric_info mi;
	struct shmstat_seg_info info;
	shmstat_counter *c, *k;
	shmstat_gauge *g;
	shmstat_hist *h;
	shmstat_sigtab *t;
	char before[4096], after[4096];
	uint64_t c_id, used;

	(void)state;
	assert_int_equal(shmstat_counter_register(seg, &cdef, &c), 0);
	assert_int_equal(shmstat_counter_register(seg, &keep, &k), 0);
	assert_int_equal(shmstat_gauge_register(seg, &gdef, SHMSTAT_AGG_SUM, &g), 0);
	assert_int_equal(shmstat_hist_register(seg, &hdef, &tiny_hist, &h), 0);
	shmstat_sigtab_opts_init(&so);
	so.capacity = 16;
	so.owners = 2;
	assert_int_equal(shmstat_sigtab_register(seg, &sdef, &so, &t), 0);
	shmstat_counter_add(c, 5);
	shmstat_counter_add(k, 11);
	shmstat_gauge_add(g, 7);
	shmstat_hist_record(h, 3);
	shmstat_hist_record(h, 9);
	shmstat_sig_hit(t, "key", 3, 1, 0);

	assert_int_equal(rm_value(name, "conn_bytes", LAB_A, &c_id), 5);
	assert_int_equal(rm_value(name, "conn_bytes", LAB_B, NULL), 11);
	assert_true(rm_lookup(name, "conn_open", LAB_A, &mi));
	assert_int_equal(mi.gauge, 7);
	assert_true(rm_lookup(name, "conn_rtt_ns", LAB_A, &mi));
	assert_int_equal(mi.counter, 2);
	ut_info(name, &info);
	assert_int_equal(info.metrics, 5);
	used = info.values_used;

	/* the counter, named with its labels in another order */
	assert_int_equal(rm_remove(seg, "conn_bytes", lab_a_swapped), 0);
	assert_false(rm_lookup(name, "conn_bytes", LAB_A, NULL));
	assert_int_equal(rm_value(name, "conn_bytes", LAB_B, NULL), 11);
	ut_info(name, &info);
	assert_int_equal(info.metrics, 4);

	/* the old handle does nothing, anywhere */
	dump(name, before, sizeof(before));
	shmstat_counter_add(c, 1000);
	shmstat_counter_inc(c);
	dump(name, after, sizeof(after));
	assert_string_equal(before, after);

	/* the gauge and the histogram too */
	assert_int_equal(shmstat_remove(seg, &gdef), 0);
	assert_int_equal(shmstat_remove(seg, &hdef), 0);
	assert_false(rm_lookup(name, "conn_open", LAB_A, NULL));
	assert_false(rm_lookup(name, "conn_rtt_ns", LAB_A, NULL));
	dump(name, before, sizeof(before));
	shmstat_gauge_add(g, 100);
	shmstat_gauge_sub(g, 3);
	shmstat_gauge_set(g, 12345);
	shmstat_hist_record(h, 5);
	shmstat_hist_record_n(h, 7, 1000);
	shmstat_timer_stop(h, shmstat_timer_start());
	shmstat_counter_add(c, 1);
	dump(name, after, sizeof(after));
	assert_string_equal(before, after);
	ut_info(name, &info);
	assert_int_equal(info.metrics, 2);     /* the other counter, the table */
	assert_int_equal(info.dropped_regs, 0);

	/* removing again, or what never existed */
	assert_int_equal(shmstat_remove(seg, &cdef), ENOENT);
	ut_check_error_text("conn_bytes");
	assert_int_equal(shmstat_remove(seg, &gdef), ENOENT);
	assert_int_equal(rm_remove(seg, "never_registered", NULL), ENOENT);
	assert_int_equal(rm_remove(seg, "conn_bytes", NULL), ENOENT);     /* other labels */
	/* a signature table cannot be removed, and stays */
	assert_int_equal(shmstat_remove(seg, &sdef), EINVAL);
	ut_check_error_text("sigs");
	assert_true(rm_lookup(name, "sigs", "", &mi));
	assert_int_equal(mi.type, SHMSTAT_SIGTABLE);
	assert_int_equal(mi.counter, 1);
	/* bad names and labels */
	assert_int_equal(rm_remove(seg, "1bad", NULL), SHMSTAT_EBADNAME);
	assert_int_equal(rm_remove(seg, "", NULL), SHMSTAT_EBADNAME);
	assert_int_equal(rm_remove(seg, "ok", (const char *const[]){ "__x", "1", NULL }),
			 SHMSTAT_EBADNAME);
	assert_int_equal(rm_remove(seg, "ok", (const char *const[]){ "a", NULL }),
			 SHMSTAT_EBADNAME);
	assert_int_equal(shmstat_remove(NULL, &cdef), EINVAL);
	assert_int_equal(shmstat_remove(seg, NULL), EINVAL);
	assert_int_equal(shmstat_quiesce(NULL), EINVAL);
	assert_int_equal(shmstat_quiesce(seg), 0);

	/* the same name and labels again: a new metric with new slots (the
	 * old ones are not reclaimed yet: no gc ran), starting at 0 */
	{
		shmstat_counter *c2;
		uint64_t c2_id;

		assert_int_equal(shmstat_counter_register(seg, &cdef, &c2), 0);
		assert_ptr_not_equal(c2, c);
		assert_int_equal(rm_value(name, "conn_bytes", LAB_A, &c2_id), 0);
		assert_true(c2_id > c_id);
		ut_info(name, &info);
		assert_int_equal(info.values_used, used + 1);
		shmstat_counter_add(c2, 3);
		shmstat_counter_add(c, 1000);          /* still nothing */
		assert_int_equal(rm_value(name, "conn_bytes", LAB_A, NULL), 3);
		/* the name that was a gauge may now be a counter */
		assert_int_equal(shmstat_counter_register(seg, &gdef, &k), 0);
		assert_true(rm_lookup(name, "conn_open", LAB_A, &mi));
		assert_int_equal(mi.type, SHMSTAT_COUNTER);
		assert_int_equal(mi.counter, 0);
		/* and a removed name is found again after a gc */
		rm_gc(name);
		assert_int_equal(shmstat_counter_register(seg, &cdef, &k), 0);
		assert_ptr_equal(k, c2);
		assert_int_equal(rm_value(name, "conn_bytes", LAB_A, &c_id), 3);
		assert_int_equal(c_id, c2_id);
	}
	assert_int_equal(shmstat_close(seg), 0);
	/* closing folds this process's values: still nothing of the old ones */
	assert_int_equal(rm_value(name, "conn_bytes", LAB_A, NULL), 3);
	assert_int_equal(rm_value(name, "conn_bytes", LAB_B, NULL), 11);
	assert_int_equal(rm_value(name, "conn_open", LAB_A, NULL), 0);
}

/* ------------------------------------------------------------------ */

/* A child, forked before the parent opens the segment, that opens it
 * itself and keeps a handle of conn_bytes{LAB_A}. Commands: 'o' open and
 * register, 'a' add 50, 'r' register again and add 1, 'q' quiesce, 'x'
 * close and exit. */
static int holder(void *arg, int cmd, int ack)
{
	const char *name = arg;
	shmstat_seg *seg = NULL;
	shmstat_counter *c = NULL;

	ut_send(ack, 'k');
	for (;;) {
		int x = ut_recv(cmd);

		switch (x) {
		case 'o':
			if (shmstat_open(name, NULL, &seg) != 0 ||
			    rm_counter(seg, "conn_bytes", lab_a, &c) != 0)
				return 2;
			break;
		case 'a':
			shmstat_counter_add(c, 50);
			break;
		case 'r':
			if (rm_counter(seg, "conn_bytes", lab_a, &c) != 0)
				return 4;
			shmstat_counter_add(c, 1);
			break;
		case 'q':
			if (shmstat_quiesce(seg) != 0)
				return 5;
			break;
		case 'x':
		case -1:
			shmstat_close(seg);
			return x == 'x' ? 0 : 6;
		default:
			return 7;
		}
		ut_send(ack, (char)x);
	}
}

/* 1b. Registering a removed name again while another writer still holds
 * (and writes through) the old handle: a new metric, new reg_id, fresh
 * value slots starting at 0, untouched by the old handle. */
static void test_reregister_during_grace(void **state)
{
	const char *name = ut_name("rmregrace");
	struct ut_kid kid;
	shmstat_seg *seg;
	shmstat_counter *c, *c2;
	struct shmstat_seg_info info;
	uint64_t id1, id2, id3, used;

	(void)state;
	assert_int_equal(ut_kid_start(&kid, holder, (void *)name), 'k');
	seg = rm_open(name, 8, 64);
	assert_int_equal(rm_counter(seg, "conn_bytes", lab_a, &c), 0);
	shmstat_counter_add(c, 2);
	assert_int_equal(ut_kid_cmd(&kid, 'o'), 'o');
	assert_int_equal(ut_kid_cmd(&kid, 'a'), 'a');
	assert_int_equal(rm_value(name, "conn_bytes", LAB_A, &id1), 52);
	ut_info(name, &info);
	used = info.values_used;

	assert_int_equal(rm_remove(seg, "conn_bytes", lab_a), 0);
	rm_gc(name);             /* the child has not acknowledged: nothing reclaimed */
	assert_int_equal(rm_counter(seg, "conn_bytes", lab_a, &c2), 0);
	assert_ptr_not_equal(c2, c);
	assert_int_equal(rm_value(name, "conn_bytes", LAB_A, &id2), 0);
	assert_true(id2 > id1);
	ut_info(name, &info);
	assert_int_equal(info.values_used, used + 1);      /* fresh slots */
	assert_int_equal(info.metrics, 1);

	/* the child writes through its old handle: not into the new metric */
	assert_int_equal(ut_kid_cmd(&kid, 'a'), 'a');
	assert_int_equal(ut_kid_cmd(&kid, 'a'), 'a');
	shmstat_counter_add(c, 1000);
	shmstat_counter_add(c2, 4);
	assert_int_equal(rm_value(name, "conn_bytes", LAB_A, NULL), 4);

	/* after quiescing, the child's registration finds the new metric */
	assert_int_equal(ut_kid_cmd(&kid, 'q'), 'q');
	assert_int_equal(ut_kid_cmd(&kid, 'a'), 'a');         /* no-op now */
	assert_int_equal(rm_value(name, "conn_bytes", LAB_A, NULL), 4);
	assert_int_equal(ut_kid_cmd(&kid, 'r'), 'r');
	assert_int_equal(rm_value(name, "conn_bytes", LAB_A, &id3), 5);
	assert_int_equal(id3, id2);
	assert_int_equal(ut_kid_cmd(&kid, 'x'), 0);
	assert_int_equal(ut_kid_wait(&kid), 0);
	rm_gc(name);
	assert_int_equal(rm_value(name, "conn_bytes", LAB_A, NULL), 5);
	ut_info(name, &info);
	assert_int_equal(info.dropped_regs, 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(rm_value(name, "conn_bytes", LAB_A, NULL), 5);
}

/* ------------------------------------------------------------------ */

/* 4. Directory reuse: max_metrics 8, three metrics kept live all along,
 * 100 other names registered, updated, removed and reclaimed one after
 * the other. Tombstones (and their value slots: max_values is 4, so every
 * new name must take the one slot the last removed one gave back) are
 * reused: no registration fails, nothing is dropped, every new metric
 * starts at 0. */
static void test_directory_reuse(void **state)
{
	const char *name = ut_name("rmdir");
	shmstat_seg *seg = rm_open(name, 8, 4);
	shmstat_counter *keep[3], *c;
	struct shmstat_seg_info info;
	uint64_t last_id = 0;

	(void)state;
	for (int i = 0; i < 3; i++) {
		char n[32];

		snprintf(n, sizeof(n), "keep_%d", i);
		assert_int_equal(rm_counter(seg, n, NULL, &keep[i]), 0);
	}
	for (int i = 0; i < 100; i++) {
		char n[32];
		uint64_t id;
		int err;

		snprintf(n, sizeof(n), "churn_%03d", i);
		err = rm_counter(seg, n, NULL, &c);
		if (err)
			fail_msg("registration %d (%s): %s: %s", i, n, shmstat_strerror(err),
				 shmstat_last_error());
		assert_int_equal(rm_value(name, n, "", &id), 0);
		assert_true(id > last_id);
		last_id = id;
		shmstat_counter_add(c, (uint64_t)i + 1);
		for (int j = 0; j < 3; j++)
			shmstat_counter_inc(keep[j]);
		assert_int_equal(rm_value(name, n, "", NULL), (uint64_t)i + 1);
		assert_int_equal(rm_remove(seg, n, NULL), 0);
		assert_int_equal(shmstat_quiesce(seg), 0);
		rm_gc(name);
		assert_false(rm_lookup(name, n, "", NULL));
		ut_info(name, &info);
		assert_int_equal(info.metrics, 3);
		assert_int_equal(info.dropped_regs, 0);
	}
	for (int j = 0; j < 3; j++) {
		char n[32];

		snprintf(n, sizeof(n), "keep_%d", j);
		assert_int_equal(rm_value(name, n, "", NULL), 100);
	}
	ut_info(name, &info);
	assert_int_equal(info.values_used, 4);
	assert_int_equal(info.dropped_regs, 0);
	assert_int_equal(shmstat_close(seg), 0);
}

/* 4b. The same with metrics of different sizes (counter: 1 value slot,
 * gauge: 3, tiny histogram: 5 + buckets), one at a time. The segment has
 * room for each of them at once plus slack; a removed metric's slots must
 * come back for metrics of any type after the grace period, so churning
 * through 100 of them must never run out. */
static void test_directory_reuse_mixed(void **state)
{
	const char *probe = ut_name("rmmixp");
	const char *name = ut_name("rmmix");
	struct shmstat_seg_info info;
	uint32_t hist_values;
	shmstat_seg *seg;

	(void)state;
	/* how many value slots the tiny histogram takes */
	seg = rm_open(probe, 8, 256);
	{
		const struct shmstat_metric_def d = { .name = "h" };
		shmstat_hist *h;

		assert_int_equal(shmstat_hist_register(seg, &d, &tiny_hist, &h), 0);
	}
	ut_info(probe, &info);
	hist_values = (uint32_t)info.values_used;
	assert_true(hist_values > 5);
	assert_int_equal(shmstat_close(seg), 0);

	/* room for one of each at once, and a histogram's worth of slack */
	seg = rm_open(name, 8, 1 + 3 + 2 * hist_values);
	for (int i = 0; i < 100; i++) {
		char n[32];
		const struct shmstat_metric_def d = { .name = n };
		struct shmstat_metric_info mi;
		int err;

		snprintf(n, sizeof(n), "mixed_%03d", i);
		switch (i % 3) {
		case 0: {
			shmstat_counter *c;

			err = shmstat_counter_register(seg, &d, &c);
			shmstat_counter_add(c, 3);
			break;
		}
		case 1: {
			shmstat_gauge *g;

			err = shmstat_gauge_register(seg, &d, SHMSTAT_AGG_SUM, &g);
			shmstat_gauge_add(g, 3);
			break;
		}
		default: {
			shmstat_hist *h;

			err = shmstat_hist_register(seg, &d, &tiny_hist, &h);
			shmstat_hist_record_n(h, 2, 3);
			break;
		}
		}
		if (err) {
			char why[256];

			snprintf(why, sizeof(why), "%s", shmstat_last_error());
			ut_info(name, &info);
			fail_msg("registration %d (%s, a %s) failed: %s: %s (values_used %llu of %u)",
				 i, n, i % 3 == 0 ? "counter" : i % 3 == 1 ? "gauge" : "histogram",
				 shmstat_strerror(err), why,
				 (unsigned long long)info.values_used, info.max_values);
		}
		assert_true(rm_lookup(name, n, "", &mi));
		assert_int_equal(i % 3 == 1 ? (uint64_t)mi.gauge : mi.counter, 3);
		assert_int_equal(shmstat_remove(seg, &d), 0);
		rm_gc(name);
	}
	ut_info(name, &info);
	assert_int_equal(info.dropped_regs, 0);
	assert_int_equal(shmstat_close(seg), 0);
}

/* Value slots of @seg by where they are: in live metrics (*@live), in
 * DEADV tombstones (*@free, with those past the bump allocator's end);
 * and how many descriptors are DEADV (*@deadv). No removal may be in its
 * grace period (every slot is then live or free). */
static void slot_count(const shmstat_seg *seg, uint64_t *live, uint64_t *free_, uint32_t *deadv)
{
	uint64_t used = __atomic_load_n(&seg->hdr->values_used, __ATOMIC_ACQUIRE);

	*live = 0;
	*free_ = seg->max_values - used;
	*deadv = 0;
	for (uint32_t i = 0; i < seg->max_metrics; i++) {
		const struct shmstat_desc *d = &seg->descs[i];
		uint32_t st = SHMSTAT_DESC_STATE(__atomic_load_n(&d->word, __ATOMIC_ACQUIRE));

		assert_int_not_equal(st, SHMSTAT_DESC_RETIRED);
		assert_int_not_equal(st, SHMSTAT_DESC_CLAIMED);
		if (st == SHMSTAT_DESC_LIVE)
			*live += d->nvalues;
		if (st == SHMSTAT_DESC_DEADV) {
			*free_ += d->nvalues;
			(*deadv)++;
		}
	}
}

/* 4c. Metrics with unique names, each removed and reclaimed before the
 * next: 5,000 of them through 64 descriptors. The tombstones they leave
 * (DEADV: a descriptor that holds a removed metric's zeroed value slots)
 * must not fill the directory: a gauge, a histogram and more counters
 * with new names register afterwards. (Each removal used to leave a
 * DEADV tombstone that only a metric of the same number of value slots
 * would take: once all 64 were such counters' tombstones, every gauge or
 * histogram failed with "no free metric slot (all 64 used)" with not one
 * metric live.) */
static void test_unique_name_churn(void **state)
{
	const char *name = ut_name("rmchurn");
	shmstat_seg *seg = rm_open(name, 64, 1024);
	struct shmstat_seg_info info;
	uint64_t live, free_;
	uint32_t deadv;

	(void)state;
	for (int i = 0; i < 5000; i++) {
		char n[32];
		shmstat_counter *c;
		int err;

		snprintf(n, sizeof(n), "churn_%05d", i);
		err = rm_counter(seg, n, NULL, &c);
		if (err)
			fail_msg("registration %d (%s): %s: %s", i, n, shmstat_strerror(err),
				 shmstat_last_error());
		shmstat_counter_inc(c);
		assert_int_equal(rm_remove(seg, n, NULL), 0);
		rm_gc(name);
		slot_count(seg, &live, &free_, &deadv);
		assert_int_equal(live, 0);
		assert_int_equal(live + free_, 1024);
	}
	/* new shapes, and as many metrics as the directory holds but one */
	for (int i = 0; i < 63; i++) {
		char n[32];
		const struct shmstat_metric_def d = { .name = n };
		int err;

		snprintf(n, sizeof(n), "after_%02d", i);
		if (i % 3 == 0) {
			shmstat_gauge *g;

			err = shmstat_gauge_register(seg, &d, SHMSTAT_AGG_SUM, &g);
		} else if (i % 3 == 1) {
			shmstat_hist *h;

			err = shmstat_hist_register(seg, &d, &tiny_hist, &h);
		} else {
			shmstat_counter *c;

			err = shmstat_counter_register(seg, &d, &c);
		}
		if (err) {
			slot_count(seg, &live, &free_, &deadv);
			fail_msg("registration of %s after the churn: %s: %s (%u DEADV descriptors)",
				 n, shmstat_strerror(err), shmstat_last_error(), deadv);
		}
	}
	slot_count(seg, &live, &free_, &deadv);
	assert_int_equal(live + free_, 1024);
	ut_info(name, &info);
	assert_int_equal(info.metrics, 63);
	assert_int_equal(info.dropped_regs, 0);
	assert_int_equal(shmstat_close(seg), 0);
}

/* 4d. Tenants one after the other on 64 value slots: 20 gauges (60
 * slots), then 20 counters (20), then 20 gauges..., each tenant removed
 * and reclaimed before the next. No slot may be lost: after each tenant
 * registered, its slots plus the free ones are all 64. (A counter given
 * a gauge's freed 3 slots used to take them all and keep 1, the other 2
 * belonging to nothing: the third tenant failed with "no room for 3 more
 * values (64 of 64 used)" with 12 values live.) */
static void test_alternating_tenants(void **state)
{
	const char *name = ut_name("rmten");
	shmstat_seg *seg = rm_open(name, 256, 64);
	uint64_t live, free_;
	uint32_t deadv;

	(void)state;
	for (int k = 0; k < 1000; k++) {
		char lv[32];
		const char *const labels[] = { "tenant", lv, NULL };
		char nm[20][32];
		struct shmstat_metric_def d[20];
		const bool gauges = (k & 1) == 0;

		snprintf(lv, sizeof(lv), "t%d", k);
		for (int j = 0; j < 20; j++) {
			int err;

			snprintf(nm[j], sizeof(nm[j]), "%s_%d", gauges ? "g" : "c", j);
			d[j] = (struct shmstat_metric_def){ .name = nm[j], .labels = labels };
			if (gauges) {
				shmstat_gauge *g;

				err = shmstat_gauge_register(seg, &d[j], SHMSTAT_AGG_SUM, &g);
			} else {
				shmstat_counter *c;

				err = shmstat_counter_register(seg, &d[j], &c);
			}
			if (err) {
				slot_count(seg, &live, &free_, &deadv);
				fail_msg("tenant %d, metric %d: %s: %s (%llu slots live, %llu free)",
					 k, j, shmstat_strerror(err), shmstat_last_error(),
					 (unsigned long long)live, (unsigned long long)free_);
			}
		}
		slot_count(seg, &live, &free_, &deadv);
		assert_int_equal(live, gauges ? 60 : 20);
		assert_int_equal(live + free_, 64);
		for (int j = 0; j < 20; j++)
			assert_int_equal(shmstat_remove(seg, &d[j]), 0);
		rm_gc(name);
		slot_count(seg, &live, &free_, &deadv);
		assert_int_equal(live, 0);
		assert_int_equal(free_, 64);
	}
	assert_int_equal(shmstat_close(seg), 0);
}

/* @err must be SHMSTAT_EFULL with a message that says @held of the
 * room is held by removed metrics and that shmstat_gc() reclaims it. */
static void expect_full_of_removed(int err, const char *seg, const char *held)
{
	const char *e = shmstat_last_error();

	assert_int_equal(err, SHMSTAT_EFULL);
	ut_check_error_text(seg);
	if (strstr(e, held) == NULL || strstr(e, "shmstat_gc()") == NULL)
		fail_msg("the message does not say that '%s' and that shmstat_gc() reclaims "
			 "them: \"%s\"", held, e);
}

/* 5. A process that removes its own metrics and registers others (a
 * server's per-connection metrics) gets their descriptors and value
 * slots back from a reap: shmstat_gc(), or an attach. Until then a
 * registration that finds no room is refused, and its message must say
 * that removed metrics hold the room: it said "all 1024 used" to a
 * server with one connection's metric live (registrations from the
 * 1,025th connection on refused), which sent one looking for a leak of
 * live metrics. */
/* 4 counters registered, counted and removed in @seg, then a 5th
 * refused as full (@what said) until a gc of @name */
static void fill_removed(shmstat_seg *seg, const char *name, const char *what)
{
	shmstat_counter *c;
	char n[32];

	for (int i = 0; i < 4; i++) {
		snprintf(n, sizeof(n), "conn_%d", i);
		assert_int_equal(rm_counter(seg, n, NULL, &c), 0);
		shmstat_counter_inc(c);
		assert_int_equal(rm_remove(seg, n, NULL), 0);
	}
	expect_full_of_removed(rm_counter(seg, "conn_4", NULL, &c), name, what);
	rm_gc(name);
	assert_int_equal(rm_counter(seg, "conn_4", NULL, &c), 0);
}

static void test_full_of_removed(void **state)
{
	const char *name = ut_name("rmfull");
	shmstat_seg *seg = rm_open(name, 4, 64);
	const char *vname = ut_name("rmfullv");
	shmstat_seg *vseg = rm_open(vname, 64, 4);

	(void)state;
	/* the directory: 4 descriptors, each of a removed counter */
	fill_removed(seg, name, "all 4 used, 4 of them by removed metrics");
	/* the value slots: 4, each of a removed counter */
	fill_removed(vseg, vname, "4 of 4 used, 4 of them by removed metrics");
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_close(vseg), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_remove_api),
		T(test_reregister_during_grace),
		T(test_directory_reuse),
		T(test_directory_reuse_mixed),
		T(test_unique_name_churn),
		T(test_alternating_tenants),
		T(test_full_of_removed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
