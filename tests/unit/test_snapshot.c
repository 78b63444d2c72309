/*
 * test_snapshot.c - the reader: per-process breakdown, info fields,
 * segments re-created or removed under an open reader, and what a
 * snapshot costs: only the pages writers touched (issue 19), walked for
 * data asking SEEK_HOLE once a run of data (lseek is interposed here to
 * count).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ut_common.h"

/* the name the kernel gives this process (/proc/PID/comm) */
#ifndef UT_COMM
#define UT_COMM "test_snapshot"
#endif

struct ckid {
	const char *seg;
	uint64_t value;
};

/* A writer: 'a' adds its value to c_total and sets gauge g (SUM) to it;
 * 'c' detaches and exits. */
static int kid_counter(void *p, int cmd, int ack)
{
	const struct ckid *k = p;
	struct shmstat_metric_def cd = { .name = "c_total" }, gd = { .name = "g" };
	shmstat_seg *seg = NULL;
	shmstat_counter *c;
	shmstat_gauge *g;

	if (shmstat_open(k->seg, NULL, &seg) != 0 ||
	    shmstat_counter_register(seg, &cd, &c) != 0 ||
	    shmstat_gauge_register(seg, &gd, SHMSTAT_AGG_SUM, &g) != 0) {
		ut_send(ack, 'E');
		return 1;
	}
	ut_send(ack, 'k');
	for (;;) {
		switch (ut_recv(cmd)) {
		case 'a':
			shmstat_counter_add(c, k->value);
			shmstat_gauge_set(g, (int64_t)k->value);
			ut_send(ack, 'k');
			break;
		case 'c':
			shmstat_close(seg);
			ut_send(ack, 'k');
			return 0;
		default:
			return 3;
		}
	}
}

static void create_detached(const char *name)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;

	ut_small_opts(&o);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
}

static void start_kids(const char *name, struct ut_kid *kids, struct ckid *args, int n)
{
	for (int i = 0; i < n; i++) {
		args[i] = (struct ckid){ .seg = name, .value = 100u * (unsigned)(i + 1) };
		assert_int_equal(ut_kid_start(&kids[i], kid_counter, &args[i]), 'k');
		assert_int_equal(ut_kid_cmd(&kids[i], 'a'), 'k');
	}
}

/* Shares of every process plus the gone share add up to the total. */
static void check_shares_sum(const shmstat_snap *s, int mi_idx)
{
	struct shmstat_metric_info mi;
	uint64_t csum = 0, c;
	int64_t gsum = 0, g;
	size_t np = shmstat_snap_procs(s);

	assert_int_equal(shmstat_snap_metric(s, (size_t)mi_idx, &mi), 0);
	for (size_t j = 0; j < np; j++) {
		int err = shmstat_snap_metric_proc(s, (size_t)mi_idx, j, &c, &g);

		assert_int_equal(err, 0);
		csum += c;
		gsum += g;
	}
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)mi_idx, SHMSTAT_PROC_GONE, &c, &g), 0);
	csum += c;
	gsum += g;
	if (mi.type == SHMSTAT_COUNTER)
		assert_int_equal(csum, mi.counter);
	else
		assert_int_equal(gsum, mi.gauge);
}

static int proc_index(const shmstat_snap *s, pid_t pid, struct shmstat_proc_info *pi)
{
	for (size_t j = 0; j < shmstat_snap_procs(s); j++) {
		assert_int_equal(shmstat_snap_proc(s, j, pi), 0);
		if (pi->pid == pid)
			return (int)j;
	}
	return -1;
}

static void test_per_process_breakdown(void **state)
{
	const char *name = ut_name("snap");
	struct shmstat_metric_def cd = { .name = "c_total" }, gd = { .name = "g" };
	struct shmstat_metric_def md = { .name = "gmax" }, ld = { .name = "glive" };
	struct shmstat_metric_info mi;
	struct shmstat_proc_info pi;
	struct shmstat_seg_info info;
	struct ut_kid kids[2];
	struct ckid args[2];
	shmstat_seg *seg = NULL;
	shmstat_counter *c;
	shmstat_gauge *g, *gm, *gl;
	shmstat_snap *s;
	uint64_t cv;
	int64_t gv;
	int ci, gi, mxi, li, j;

	(void)state;
	create_detached(name);
	start_kids(name, kids, args, 2);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &cd, &c), 0);
	assert_int_equal(shmstat_gauge_register(seg, &gd, SHMSTAT_AGG_SUM, &g), 0);
	assert_int_equal(shmstat_gauge_register(seg, &md, SHMSTAT_AGG_MAX, &gm), 0);
	assert_int_equal(shmstat_gauge_register(seg, &ld, SHMSTAT_AGG_LIVEMAX, &gl), 0);
	shmstat_counter_add(c, 7);
	shmstat_gauge_set(g, 3);
	shmstat_gauge_set(gm, 42);
	shmstat_gauge_set(gl, 43);
	shmstat_heartbeat(seg);

	s = ut_snap(name);
	assert_int_equal(shmstat_snap_procs(s), 3);
	shmstat_snap_info(s, &info);
	ci = ut_find(s, "c_total", "", &mi);
	assert_true(ci >= 0);
	assert_int_equal(mi.counter, 307);
	gi = ut_find(s, "g", "", &mi);
	assert_true(gi >= 0);
	assert_int_equal(mi.gauge, 303);
	mxi = ut_find(s, "gmax", "", &mi);
	assert_true(mxi >= 0);
	li = ut_find(s, "glive", "", &mi);
	assert_true(li >= 0);
	check_shares_sum(s, ci);
	check_shares_sum(s, gi);

	/* our own slot */
	j = proc_index(s, getpid(), &pi);
	assert_true(j >= 0);
	assert_int_equal(pi.alive, 1);
	assert_int_equal(pi.uid, geteuid());
	assert_true(pi.starttime > 0);
	assert_true(pi.attach_ns > 0 && pi.attach_ns <= info.taken_ns);
	assert_true(pi.heartbeat_ns >= pi.attach_ns);
	assert_string_equal(pi.comm, UT_COMM);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)ci, (size_t)j, &cv, &gv), 0);
	assert_int_equal(cv, 7);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)gi, (size_t)j, &cv, &gv), 0);
	assert_int_equal(gv, 3);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)mxi, (size_t)j, &cv, &gv), 0);
	assert_int_equal(gv, 42);
	/* the children: their own shares; they never registered gmax */
	for (int k = 0; k < 2; k++) {
		j = proc_index(s, kids[k].pid, &pi);
		assert_true(j >= 0);
		assert_int_equal(pi.alive, 1);
		assert_int_equal(shmstat_snap_metric_proc(s, (size_t)ci, (size_t)j, &cv, &gv), 0);
		assert_int_equal(cv, args[k].value);
		assert_int_equal(shmstat_snap_metric_proc(s, (size_t)gi, (size_t)j, &cv, &gv), 0);
		assert_int_equal(gv, (int64_t)args[k].value);
		assert_int_equal(shmstat_snap_metric_proc(s, (size_t)mxi, (size_t)j, &cv, &gv),
				 ENOENT);
	}
	/* nothing gone yet */
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)ci, SHMSTAT_PROC_GONE, &cv, &gv), 0);
	assert_int_equal(cv, 0);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)mxi, SHMSTAT_PROC_GONE, &cv, &gv),
			 ENOENT);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)li, SHMSTAT_PROC_GONE, &cv, &gv),
			 ENOENT);
	/* out of range */
	assert_int_equal(shmstat_snap_proc(s, 3, &pi), EINVAL);
	assert_int_equal(shmstat_snap_metric(s, 4, &mi), EINVAL);
	assert_int_equal(shmstat_snap_metric_proc(s, 4, 0, &cv, &gv), EINVAL);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)ci, 3, &cv, &gv), EINVAL);
	shmstat_snap_free(s);

	/* the first child detaches: its share moves to the gone writers */
	assert_int_equal(ut_kid_cmd(&kids[0], 'c'), 'k');
	assert_int_equal(ut_kid_wait(&kids[0]), 0);
	s = ut_snap(name);
	assert_int_equal(shmstat_snap_procs(s), 2);
	assert_int_equal(proc_index(s, kids[0].pid, &pi), -1);
	ci = ut_find(s, "c_total", "", &mi);
	assert_int_equal(mi.counter, 307);
	gi = ut_find(s, "g", "", &mi);
	assert_int_equal(mi.gauge, 303);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)ci, SHMSTAT_PROC_GONE, &cv, &gv), 0);
	assert_int_equal(cv, 100);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)gi, SHMSTAT_PROC_GONE, &cv, &gv), 0);
	assert_int_equal(gv, 100);
	check_shares_sum(s, ci);
	check_shares_sum(s, gi);
	shmstat_snap_free(s);

	/* we detach: our max lands in the gone writers, our live max does not */
	assert_int_equal(shmstat_close(seg), 0);
	s = ut_snap(name);
	assert_int_equal(shmstat_snap_procs(s), 1);
	ci = ut_find(s, "c_total", "", &mi);
	assert_int_equal(mi.counter, 307);
	check_shares_sum(s, ci);
	mxi = ut_find(s, "gmax", "", &mi);
	assert_int_equal(mi.gauge, 42);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)mxi, SHMSTAT_PROC_GONE, &cv, &gv), 0);
	assert_int_equal(gv, 42);
	li = ut_find(s, "glive", "", &mi);
	assert_int_equal(mi.has_value, 0);
	shmstat_snap_free(s);

	assert_int_equal(ut_kid_cmd(&kids[1], 'c'), 'k');
	assert_int_equal(ut_kid_wait(&kids[1]), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_info_fields(void **state)
{
	const char *name = ut_name("snap");
	struct shmstat_metric_def d1 = { .name = "one_total" }, d2 = { .name = "two" };
	struct shmstat_metric_info mi;
	struct shmstat_proc_info pi;
	struct shmstat_seg_info i1, i2;
	struct ut_kid kids[3];
	struct ckid args[3];
	shmstat_reader *r = NULL;
	shmstat_seg *seg = NULL;
	shmstat_counter *c;
	shmstat_gauge *g;
	shmstat_snap *s;
	uint64_t cv;
	int64_t gv;
	int j, ci;

	(void)state;
	create_detached(name);
	start_kids(name, kids, args, 3);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	shmstat_snap_info(s, &i1);
	shmstat_snap_free(s);
	assert_int_equal(i1.writers_alive, 3);
	assert_int_equal(i1.writers_dead, 0);
	assert_int_equal(i1.metrics, 2);
	assert_int_equal(i1.values_used, 4);
	assert_int_equal(i1.stripes_owned, 3);   /* one thread each added */
	assert_int_equal(i1.removed, 0);
	assert_int_equal(i1.dropped_regs, 0);

	ut_kid_kill(&kids[1]);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);    /* reaps it */
	assert_int_equal(shmstat_counter_register(seg, &d1, &c), 0);
	assert_int_equal(shmstat_gauge_register(seg, &d2, SHMSTAT_AGG_MIN, &g), 0);
	ut_kid_kill(&kids[2]);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	shmstat_snap_info(s, &i2);
	assert_int_equal(i2.generation, i1.generation);
	assert_int_equal(i2.created_ns, i1.created_ns);
	assert_int_equal(i2.size, i1.size);
	assert_int_equal(i2.writers_alive, 2);
	assert_int_equal(i2.writers_dead, 1);
	assert_int_equal(i2.metrics, 4);
	assert_int_equal(i2.values_used, 8);
	assert_true(i2.taken_ns >= i1.taken_ns);
	/* the killed, unreaped writer is listed as not alive, its counts kept */
	j = proc_index(s, kids[2].pid, &pi);
	assert_true(j >= 0);
	assert_int_equal(pi.alive, 0);
	ci = ut_find(s, "c_total", "", &mi);
	assert_int_equal(mi.counter, 600);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)ci, (size_t)j, &cv, &gv), 0);
	assert_int_equal(cv, 300);
	assert_int_equal(shmstat_snap_metric_proc(s, (size_t)ci, SHMSTAT_PROC_GONE, &cv, &gv), 0);
	assert_int_equal(cv, 200);
	check_shares_sum(s, ci);
	shmstat_snap_free(s);

	assert_int_equal(ut_kid_cmd(&kids[0], 'c'), 'k');
	assert_int_equal(ut_kid_wait(&kids[0]), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	shmstat_snap_info(s, &i2);
	assert_int_equal(i2.writers_alive, 0);
	assert_int_equal(i2.writers_dead, 0);
	assert_int_equal(shmstat_snap_procs(s), 0);
	ci = ut_find(s, "c_total", "", &mi);
	assert_int_equal(mi.counter, 600);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* A name re-created under an open reader is reported, not read. */
static void test_recreated(void **state)
{
	const char *name = ut_name("snap");
	struct shmstat_seg_info i1, i2;
	shmstat_reader *r = NULL, *r2 = NULL;
	shmstat_snap *s = NULL;

	(void)state;
	create_detached(name);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	shmstat_snap_info(s, &i1);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_unlink(name), 0);
	create_detached(name);
	s = (shmstat_snap *)&i2;
	assert_int_equal(shmstat_snapshot(r, &s), SHMSTAT_ERECREATED);
	assert_null(s);
	ut_check_error_text(name);
	/* it stays so */
	assert_int_equal(shmstat_snapshot(r, &s), SHMSTAT_ERECREATED);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_reader_open(name, &r2), 0);
	assert_int_equal(shmstat_snapshot(r2, &s), 0);
	shmstat_snap_info(s, &i2);
	shmstat_snap_free(s);
	assert_int_not_equal(i2.generation, i1.generation);
	assert_int_equal(i2.removed, 0);
	shmstat_reader_close(r2);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* A removed segment can still be read through an open reader. */
static void test_removed(void **state)
{
	const char *name = ut_name("snap");
	struct shmstat_metric_def d = { .name = "left_total" };
	struct shmstat_metric_info mi;
	struct shmstat_seg_info info;
	shmstat_reader *r = NULL;
	shmstat_seg *seg = NULL;
	shmstat_counter *c;
	shmstat_snap *s = NULL;

	(void)state;
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &d, &c), 0);
	shmstat_counter_add(c, 5);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_unlink(name), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.removed, 1);
	assert_int_equal(info.writers_alive, 1);
	assert_true(ut_find(s, "left_total", "", &mi) >= 0);
	assert_int_equal(mi.counter, 5);
	shmstat_snap_free(s);
	/* the writer keeps its mapping and goes on */
	shmstat_counter_add(c, 1);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.removed, 1);
	assert_int_equal(info.writers_alive, 0);
	assert_true(ut_find(s, "left_total", "", &mi) >= 0);
	assert_int_equal(mi.counter, 6);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_reader_open(name, &r), ENOENT);
}

/* Metric fields as registered, and reg_id / created_ns. */
static void test_metric_fields(void **state)
{
	const char *name = ut_name("snap");
	static const char *const lbl[] = { "method", "GET", NULL };
	struct shmstat_metric_def d1 = { .name = "req_total", .labels = lbl,
					 .help = "Requests served.", .unit = "requests" };
	struct shmstat_metric_def d2 = { .name = "temp", .help = "Temperature.", .unit = "celsius" };
	struct shmstat_metric_info m1, m2;
	struct shmstat_seg_info info;
	shmstat_seg *seg = NULL;
	shmstat_counter *c;
	shmstat_gauge *g;
	shmstat_snap *s;

	(void)state;
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &d1, &c), 0);
	assert_int_equal(shmstat_gauge_register(seg, &d2, SHMSTAT_AGG_LAST, &g), 0);
	shmstat_gauge_set(g, -40);
	s = ut_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(shmstat_snap_metrics(s), 2);
	assert_true(ut_find(s, "req_total", "method=\"GET\"", &m1) >= 0);
	assert_string_equal(m1.help, "Requests served.");
	assert_string_equal(m1.unit, "requests");
	assert_int_equal(m1.type, SHMSTAT_COUNTER);
	assert_int_equal(m1.has_value, 1);
	assert_true(ut_find(s, "temp", "", &m2) >= 0);
	assert_string_equal(m2.help, "Temperature.");
	assert_string_equal(m2.unit, "celsius");
	assert_int_equal(m2.type, SHMSTAT_GAUGE);
	assert_int_equal(m2.agg, SHMSTAT_AGG_LAST);
	assert_int_equal(m2.gauge, -40);
	assert_int_equal(m2.has_value, 1);
	assert_int_not_equal(m1.reg_id, m2.reg_id);
	assert_true(m1.reg_id > 0 && m2.reg_id > 0);
	assert_true(m1.created_ns >= info.created_ns && m1.created_ns <= info.taken_ns);
	assert_true(m2.created_ns >= m1.created_ns);
	shmstat_snap_free(s);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Options for stripes of 2 MiB (2^18 value slots), @n processes and
 * threads, no signature tables or profiles. */
static void big_stripes(struct shmstat_opts *o, uint32_t n)
{
	shmstat_opts_init(o);
	o->max_procs = n;
	o->max_threads = n;
	o->max_metrics = 64;
	o->max_values = 1u << 18;
	o->sig_bytes = 0;
	o->max_stacks = 0;
	o->max_modules = 0;
}

/* Bytes of the object @name that hold data (SEEK_DATA): pages some
 * process wrote or read through its mapping; the rest are holes. */
static uint64_t data_bytes(const char *name)
{
	char path[256];
	uint64_t n = 0;
	off_t pos = 0, end;
	int fd;

	ut_path(name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	end = lseek(fd, 0, SEEK_END);
	while (pos < end) {
		off_t d = lseek(fd, pos, SEEK_DATA), h;

		if (d < 0)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		assert_true(h > d);
		n += (uint64_t)(h - d);
		pos = h;
	}
	close(fd);
	return n;
}

/* A sparse writer: 's' adds 7 to sp_total and records 100 values in
 * sp_latency; 'c' detaches and exits. */
static int kid_sparse(void *p, int cmd, int ack)
{
	struct shmstat_metric_def cd = { .name = "sp_total" }, hd = { .name = "sp_latency" };
	shmstat_seg *seg = NULL;
	shmstat_counter *c;
	shmstat_hist *h;

	if (shmstat_open(p, NULL, &seg) != 0 || shmstat_counter_register(seg, &cd, &c) != 0 ||
	    shmstat_hist_register(seg, &hd, NULL, &h) != 0) {
		ut_send(ack, 'E');
		return 1;
	}
	ut_send(ack, 'k');
	for (;;) {
		switch (ut_recv(cmd)) {
		case 's':
			shmstat_counter_add(c, 7);
			for (uint64_t v = 0; v < 100; v++)
				shmstat_hist_record(h, 1000 + 10 * v);
			ut_send(ack, 'k');
			break;
		case 'c':
			shmstat_close(seg);
			ut_send(ack, 'k');
			return 0;
		default:
			return 3;
		}
	}
}

static void check_sparse_values(const char *name, uint64_t total, uint64_t count)
{
	shmstat_snap *s = ut_snap(name);
	struct shmstat_metric_info mi;
	struct shmstat_hstats hs;
	shmstat_hdata *h;
	int i;

	i = ut_find(s, "sp_total", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(mi.counter, total);
	i = ut_find(s, "sp_latency", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(mi.counter, count);
	assert_int_equal(shmstat_snap_hist(s, (size_t)i, SHMSTAT_PROC_ALL, &h), 0);
	shmstat_hdata_stats(h, &hs);
	assert_int_equal(hs.count, count);
	assert_int_equal(hs.min, 1000);
	assert_int_equal(hs.max, 1990);
	shmstat_hdata_free(h);
	shmstat_snap_free(s);
}

/* Stripes of 2 MiB that writers touch a few pages of: the object holds
 * those pages only (the rest are holes a reader skips), through a
 * writer's detach (a fold) and a SIGKILL (a reap), with every value
 * exact. */
static void test_sparse_stripes(void **state)
{
	const char *name = ut_name("sparse");
	struct shmstat_opts o;
	struct ut_kid k1, k2;
	shmstat_seg *seg = NULL;
	uint64_t total, small;
	unsigned reaped = 0;

	(void)state;
	big_stripes(&o, 4);             /* 2 MiB a stripe, 10 stripes */
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
	{
		struct shmstat_seg_info info;

		ut_info(name, &info);
		total = info.size;
	}
	assert_true(total >= (uint64_t)10 << 21);
	/* the tables and the header: what creation writes */
	small = data_bytes(name);
	assert_true(small < total / 16);

	assert_int_equal(ut_kid_start(&k1, kid_sparse, (void *)name), 'k');
	assert_int_equal(ut_kid_cmd(&k1, 's'), 'k');
	/* a counter's page and the histogram's touched pages, in one stripe */
	assert_true(data_bytes(name) < small + (64u << 10));
	check_sparse_values(name, 7, 100);

	/* detach: the fold merges what the stripes hold into a grave */
	assert_int_equal(ut_kid_cmd(&k1, 'c'), 'k');
	assert_int_equal(ut_kid_wait(&k1), 0);
	check_sparse_values(name, 7, 100);
	assert_true(data_bytes(name) < small + (128u << 10));

	/* killed: the reaper folds it */
	assert_int_equal(ut_kid_start(&k2, kid_sparse, (void *)name), 'k');
	assert_int_equal(ut_kid_cmd(&k2, 's'), 'k');
	ut_kid_kill(&k2);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 1);
	check_sparse_values(name, 14, 200);
	assert_true(data_bytes(name) < small + (256u << 10));
	assert_int_equal(shmstat_unlink(name), 0);
}

#define SPREAD_HISTS 24

/* A writer of SPREAD_HISTS histograms, 18.7 KB of slots each: 's'
 * records 100 values in each (a page or two of each histogram) */
static int kid_spread(void *p, int cmd, int ack)
{
	shmstat_hist *h[SPREAD_HISTS];
	shmstat_seg *seg = NULL;

	if (shmstat_open(p, NULL, &seg) != 0) {
		ut_send(ack, 'E');
		return 1;
	}
	for (int k = 0; k < SPREAD_HISTS; k++) {
		char n[16];
		struct shmstat_metric_def hd = { .name = n };

		snprintf(n, sizeof(n), "spread_%d", k);
		if (shmstat_hist_register(seg, &hd, NULL, &h[k]) != 0) {
			ut_send(ack, 'E');
			return 1;
		}
	}
	ut_send(ack, 'k');
	while (ut_recv(cmd) == 's') {
		for (int k = 0; k < SPREAD_HISTS; k++)
			for (uint64_t v = 0; v < 100; v++)
				shmstat_hist_record(h[k], 1000 + 10 * v);
		ut_send(ack, 'k');
	}
	return 0;
}

/* Writers that come and go, SIGKILLed and reaped, in stripes that are
 * not page-aligned (2 MiB + 128 bytes each): the folds leave the pages
 * that are holes holes. A load through the mapping makes a hole a page
 * of zeros as a store does, and a slot range of one stripe lies on
 * other pages than the same range of the next: folds that read or wrote
 * whole ranges by the pages of one stripe made the graves and the freed
 * stripes data a little more at every fold, until every reader copied
 * them whole (segment.h, "Pages in use"). Once every stripe has been
 * used, the object holds no more data, round after round, and every
 * count is exact. */
static void test_fold_keeps_holes(void **state)
{
	const char *name = ut_name("holes");
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;
	uint64_t data[8];

	(void)state;
	big_stripes(&o, 2);
	o.max_values += 16;             /* 128 bytes more a stripe */
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
	for (int round = 0; round < 8; round++) {
		struct ut_kid k;
		unsigned reaped = 0;
		shmstat_snap *s;

		assert_int_equal(ut_kid_start(&k, kid_spread, (void *)name), 'k');
		assert_int_equal(ut_kid_cmd(&k, 's'), 'k');
		ut_kid_kill(&k);
		assert_int_equal(shmstat_gc(name, &reaped), 0);
		assert_int_equal(reaped, 1);
		data[round] = data_bytes(name);
		s = ut_snap(name);
		for (int h = 0; h < SPREAD_HISTS; h++) {
			char n[16];
			struct shmstat_metric_info mi;

			snprintf(n, sizeof(n), "spread_%d", h);
			assert_true(ut_find(s, n, "", &mi) >= 0);
			assert_int_equal(mi.counter, 100 * (round + 1));
		}
		shmstat_snap_free(s);
	}
	/* 2 processes' and 2 threads' stripes: each used by round 4 */
	for (int round = 4; round < 8; round++)
		if (data[round] != data[3])
			fail_msg("round %d: %llu bytes of data, %llu after round 3", round + 1,
				 (unsigned long long)data[round], (unsigned long long)data[3]);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* lseek(2) of this process, counting SEEK_HOLE (the library's walks for
 * data are its only users while a snapshot runs) */
static unsigned long seek_holes;

off_t lseek(int fd, off_t off, int whence)
{
	if (whence == SEEK_HOLE)
		__atomic_add_fetch(&seek_holes, 1, __ATOMIC_RELAXED);
	return (off_t)syscall(SYS_lseek, fd, off, whence);
}

/* A writer of 4 histograms of 16,385 buckets (128 KiB of slots): 'd'
 * records a value in every 16th bucket (a count on every page), 's' one
 * every 8 powers of two (a page in 6 or so) */
static int kid_wide(void *p, int cmd, int ack)
{
	struct shmstat_hist_opts ho;
	shmstat_hist *h[4];
	shmstat_seg *seg = NULL;
	int c;

	shmstat_hist_opts_init(&ho);
	ho.bits = 10;
	ho.highest = UINT64_C(1) << 40;
	if (shmstat_open(p, NULL, &seg) != 0) {
		ut_send(ack, 'E');
		return 1;
	}
	for (int k = 0; k < 4; k++) {
		char hn[16];
		struct shmstat_metric_def d = { .name = hn };

		snprintf(hn, sizeof(hn), "wide_%d", k);
		if (shmstat_hist_register(seg, &d, &ho, &h[k]) != 0) {
			ut_send(ack, 'E');
			return 1;
		}
	}
	ut_send(ack, 'k');
	while ((c = ut_recv(cmd)) == 'd' || c == 's') {
		for (uint64_t v = 1; v < (UINT64_C(1) << 40); v = c == 'd' ? v + v / 64 + 1 : v * 256 + 1)
			for (int k = 0; k < 4; k++)
				shmstat_hist_record(h[k], v);
		ut_send(ack, 'k');
	}
	return 0;
}

/* Pages of zeros between a writer's values: a writer that recorded on
 * every page of its stripe was SIGKILLed and folded (its pages stay data,
 * zeros), and the next one in the same stripe records on a page in 6 or
 * so.
 * The reader walks each gap between the pages it kept values from, and
 * every walk starts inside one run of data. On tmpfs SEEK_HOLE looks at
 * every page up to the hole it finds, so asked once a gap it made a
 * snapshot cost gaps x pages (a segment of 16 churned writers: 4,518
 * calls and 1.4 s a snapshot; here 18 calls, 3 now). The reader keeps
 * the run it found; the counts are exact. */
static void test_hole_walks(void **state)
{
	const char *name = ut_name("walks");
	struct shmstat_opts o;
	struct ut_kid k1, k2;
	shmstat_seg *seg = NULL;
	shmstat_reader *r;
	shmstat_snap *s;
	unsigned reaped = 0;
	uint64_t dense = 0, sparse = 0;

	(void)state;
	for (uint64_t v = 1; v < (UINT64_C(1) << 40); v += v / 64 + 1)
		dense++;
	for (uint64_t v = 1; v < (UINT64_C(1) << 40); v = v * 256 + 1)
		sparse++;
	/* one process and one thread stripe: the second writer takes the
	 * first one's */
	shmstat_opts_init(&o);
	o.max_procs = 1;
	o.max_threads = 1;
	o.max_values = 1u << 17;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(ut_kid_start(&k1, kid_wide, (void *)name), 'k');
	assert_int_equal(ut_kid_cmd(&k1, 'd'), 'k');
	ut_kid_kill(&k1);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 1);
	assert_int_equal(ut_kid_start(&k2, kid_wide, (void *)name), 'k');
	assert_int_equal(ut_kid_cmd(&k2, 's'), 'k');
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	shmstat_snap_free(s);
	__atomic_store_n(&seek_holes, 0, __ATOMIC_RELAXED);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	if (__atomic_load_n(&seek_holes, __ATOMIC_RELAXED) > 8)
		fail_msg("a snapshot asked SEEK_HOLE %lu times", seek_holes);
	for (int k = 0; k < 4; k++) {
		char hn[16];
		struct shmstat_metric_info mi;

		snprintf(hn, sizeof(hn), "wide_%d", k);
		assert_true(ut_find(s, hn, "", &mi) >= 0);
		assert_int_equal(mi.counter, dense + sparse);
	}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	ut_kid_kill(&k2);
	assert_int_equal(shmstat_unlink(name), 0);
}

static int want_small(const char *name, const char *labels, void *arg)
{
	(*(int *)arg)++;
	(void)labels;
	return strcmp(name, "small_total") == 0;
}

/* @n histograms @prefix_0.. of 16,385 buckets (128 KiB of slots) whose
 * every page holds a count */
static void wide_hists(shmstat_seg *seg, const char *prefix, int n)
{
	struct shmstat_hist_opts ho;

	shmstat_hist_opts_init(&ho);
	ho.bits = 10;
	ho.highest = UINT64_C(1) << 40;
	for (int k = 0; k < n; k++) {
		char hn[32];
		struct shmstat_metric_def hd = { .name = hn };
		shmstat_hist *h;

		snprintf(hn, sizeof(hn), "%s_%d", prefix, k);
		assert_int_equal(shmstat_hist_register(seg, &hd, &ho, &h), 0);
		for (uint64_t v = 1; v < (UINT64_C(1) << 40); v += v / 64 + 1)
			shmstat_hist_record(h, v);
	}
}

/* A reader of segment @name with options @ro but no subset cannot copy
 * it whole: past its limit */
static void whole_too_big(const char *name, const struct shmstat_reader_opts *ro)
{
	struct shmstat_reader_opts all = *ro;
	shmstat_reader *r;
	shmstat_snap *s;

	all.want = NULL;
	assert_int_equal(shmstat_reader_open_opts(name, &all, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s), EFBIG);
	shmstat_reader_close(r);
}

/* A reader that asks for a subset (shmstat_reader_opts.want) lists those
 * metrics alone, exact, and copies no value of the others: with a copy
 * limit the whole segment exceeds, the subset is read. */
static void test_subset(void **state)
{
	const char *name = ut_name("subset");
	struct shmstat_metric_def cd = { .name = "small_total" };
	struct shmstat_reader_opts ro;
	struct shmstat_metric_info mi;
	struct shmstat_opts o;
	shmstat_reader *r;
	shmstat_seg *seg = NULL;
	shmstat_counter *c;
	shmstat_snap *s;
	int calls = 0;

	(void)state;
	big_stripes(&o, 2);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &cd, &c), 0);
	shmstat_counter_add(c, 42);
	/* four histograms whose every page holds a count; all of it is
	 * more than 256 KiB */
	wide_hists(seg, "big", 4);
	shmstat_reader_opts_init(&ro);
	ro.max_copy = 256u << 10;
	whole_too_big(name, &ro);

	/* the subset: its counter alone */
	ro.want = want_small;
	ro.want_arg = &calls;
	assert_int_equal(shmstat_reader_open_opts(name, &ro, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	assert_int_equal(calls, 5);     /* once for each metric */
	assert_int_equal(shmstat_snap_metrics(s), 1);
	assert_int_equal(shmstat_snap_metric(s, 0, &mi), 0);
	assert_string_equal(mi.name, "small_total");
	assert_int_equal(mi.counter, 42);
	assert_int_equal(ut_find(s, "big_0", "", &mi), -1);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

static int want_counters(const char *name, const char *labels, void *arg)
{
	(void)labels;
	(void)arg;
	return strncmp(name, "many_", 5) == 0;
}

/* A subset of more metrics than the reader reads run by run (reader.c,
 * MAX_RUNS: 4096) whose slots lie together is still read by its runs of
 * slots, not whole: 5,000 counters registered one after the other, then
 * 32 histograms of 128 KiB whose every page holds a count; with a copy
 * limit that the whole segment exceeds and the counters' slots and
 * descriptors do not, the counters alone are read, exact. */
static void test_subset_many(void **state)
{
	enum { NC = 5000, NH = 32 };
	bool seen[NC] = { false };
	const char *name = ut_name("subsetmany");
	struct shmstat_reader_opts ro;
	struct shmstat_metric_info mi;
	struct shmstat_opts o;
	shmstat_reader *r;
	shmstat_seg *seg = NULL;
	shmstat_snap *s;

	(void)state;
	big_stripes(&o, 2);
	o.max_metrics = 8192;
	o.max_values = 1u << 20;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	for (int k = 0; k < NC; k++) {
		char cn[32];
		struct shmstat_metric_def cd = { .name = cn };
		shmstat_counter *c;

		snprintf(cn, sizeof(cn), "many_%04d_total", k);
		assert_int_equal(shmstat_counter_register(seg, &cd, &c), 0);
		shmstat_counter_add(c, (uint64_t)k + 1);
	}
	/* all of it: the histograms' 4 MiB and the descriptors' 2.5 MiB */
	wide_hists(seg, "wide", NH);
	shmstat_reader_opts_init(&ro);
	ro.max_copy = 4608u << 10;
	whole_too_big(name, &ro);

	ro.want = want_counters;
	assert_int_equal(shmstat_reader_open_opts(name, &ro, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	assert_int_equal(shmstat_snap_metrics(s), NC);
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		int k = -1;

		assert_int_equal(shmstat_snap_metric(s, i, &mi), 0);
		assert_int_equal(sscanf(mi.name, "many_%d_total", &k), 1);
		assert_true(k >= 0 && k < NC && !seen[k]);
		seen[k] = true;
		assert_int_equal(mi.counter, (uint64_t)k + 1);
	}
	assert_int_equal(ut_find(s, "wide_0", "", &mi), -1);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

static int want_ends(const char *name, const char *labels, void *arg)
{
	(void)labels;
	(void)arg;
	return strcmp(name, "head_total") == 0 || strcmp(name, "tail_total") == 0;
}

struct stripe_writer {
	shmstat_counter *head, *tail;
	shmstat_hist *h;
	pthread_barrier_t *bar;
	int t;
};

static void *stripe_writer(void *arg)
{
	const struct stripe_writer *w = arg;

	shmstat_counter_add(w->head, (uint64_t)w->t + 1);
	shmstat_hist_record(w->h, 5);
	if (w->t < 2)
		shmstat_counter_add(w->tail, (uint64_t)w->t + 1);
	pthread_barrier_wait(w->bar);           /* counted */
	pthread_barrier_wait(w->bar);           /* read */
	return NULL;
}

/* A subset of two counters with a histogram between them, in the
 * stripes of four live threads, two of which never touched the second
 * counter (its page of their stripes a hole): the subset is read range
 * by range (reader.c, map_stripes(): a few runs of slots) and its values
 * are those of a reader of everything. */
static void test_subset_stripes(void **state)
{
	const char *name = ut_name("subst");
	struct shmstat_metric_def hd = { .name = "head_total" }, md = { .name = "mid_ns" };
	struct shmstat_metric_def td = { .name = "tail_total" };
	struct shmstat_reader_opts ro;
	struct shmstat_metric_info mi;
	struct shmstat_hist_opts ho;
	struct stripe_writer w[4];
	struct shmstat_opts o;
	pthread_barrier_t bar;
	pthread_t th[4];
	shmstat_reader *r;
	shmstat_seg *seg = NULL;
	shmstat_counter *head, *tail;
	shmstat_hist *h;
	shmstat_snap *s;

	(void)state;
	big_stripes(&o, 6);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &hd, &head), 0);
	shmstat_hist_opts_init(&ho);
	ho.bits = 10;                   /* 40-odd KB of slots between */
	assert_int_equal(shmstat_hist_register(seg, &md, &ho, &h), 0);
	assert_int_equal(shmstat_counter_register(seg, &td, &tail), 0);
	shmstat_counter_add(head, 42);
	assert_int_equal(pthread_barrier_init(&bar, NULL, 5), 0);
	for (int t = 0; t < 4; t++) {
		w[t] = (struct stripe_writer){ head, tail, h, &bar, t };
		assert_int_equal(pthread_create(&th[t], NULL, stripe_writer, &w[t]), 0);
	}
	pthread_barrier_wait(&bar);
	for (int subset = 0; subset < 2; subset++) {
		shmstat_reader_opts_init(&ro);
		if (subset)
			ro.want = want_ends;
		assert_int_equal(shmstat_reader_open_opts(name, &ro, &r), 0);
		for (int again = 0; again < 2; again++) {       /* the buffer reused */
			assert_int_equal(shmstat_snapshot(r, &s), 0);
			assert_int_equal(shmstat_snap_metrics(s), subset ? 2 : 3);
			assert_true(ut_find(s, "head_total", "", &mi) >= 0);
			assert_int_equal(mi.counter, 42 + 1 + 2 + 3 + 4);
			assert_true(ut_find(s, "tail_total", "", &mi) >= 0);
			assert_int_equal(mi.counter, 1 + 2);
			assert_int_equal(ut_find(s, "mid_ns", "", &mi) >= 0, !subset);
			shmstat_snap_free(s);
		}
		shmstat_reader_close(r);
	}
	pthread_barrier_wait(&bar);
	for (int t = 0; t < 4; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&bar);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_per_process_breakdown),
		T(test_info_fields),
		T(test_recreated),
		T(test_removed),
		T(test_metric_fields),
		T(test_sparse_stripes),
		T(test_fold_keeps_holes),
		T(test_hole_walks),
		T(test_subset),
		T(test_subset_many),
		T(test_subset_stripes),
	};

	return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
