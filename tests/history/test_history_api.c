/*
 * test_history_api.c - the contract around the records: a writer that
 * restarts goes on where it stopped; one writer at a time; read-only
 * handles; the clock going back, and staying behind a record written
 * while it was ahead (a restart); file modes, links, other owners and
 * things that are not files; bad options; a record too big for a ring;
 * a full dictionary (series written inline); a gauge without a value;
 * shmstat_history_each() against shmstat_history_range().
 */
#include <signal.h>
#include <sys/wait.h>

#include "ut_common.h"
#include "hy_util.h"


/* Append step @i of @s at HY_T0 + @i s. */
static void append_step(shmstat_history *h, struct hy_seg *s, unsigned i, unsigned *w)
{
	shmstat_snap *sn;

	hy_seg_step(s, i);
	sn = hy_snap(s);
	assert_int_equal(shmstat_history_append(h, sn, HY_T0 + i * HY_S, w), 0);
	shmstat_snap_free(sn);
}

/* --------------------------------------------------------------- restart */

static void test_restart(void **state)
{
	struct shmstat_history_opts o = hy_opts(1 << 20, 20, UINT64_C(1), UINT64_C(100), UINT64_C(0));
	struct shmstat_history_opts o2 = hy_opts(2 << 20, 3, UINT64_C(2), UINT64_C(10),
						 UINT64_C(20), UINT64_C(100), UINT64_C(0));
	const char *name = ut_name("hist-restart");
	struct shmstat__hf_tier_stat ts;
	struct shmstat_tier tiers[8];
	shmstat_history *h, *h2, *r;
	shmstat_frame **f;
	struct hy_seg s;
	char path[512];
	shmstat_snap *sn;
	unsigned w;
	size_t n;

	(void)state;
	hy_path(path, sizeof(path), "restart.shmhist");
	hy_seg_open(&s, name);
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	assert_int_equal(shmstat_history_set_segment(h, name), 0);
	for (unsigned i = 0; i < 5; i++)
		append_step(h, &s, i, NULL);
	/* one writer at a time, in this process too */
	assert_int_equal(shmstat_history_create(path, &o, &h2), SHMSTAT_EBUSY);
	assert_null(h2);
	hy_check_error(path);
	/* readers take no lock */
	assert_int_equal(shmstat_history_open(path, &r), 0);
	sn = hy_snap(&s);
	assert_int_equal(shmstat_history_append(r, sn, HY_T0 + 100 * HY_S, &w), EINVAL);
	hy_check_error(path);
	assert_int_equal(shmstat_history_set_segment(r, name), EINVAL);
	assert_int_equal(shmstat_history_set_segment(h, "bad/name"), SHMSTAT_EBADNAME);
	shmstat_history_close(h);
	/* a new writer: the file keeps its own tiers; goes on at the end */
	assert_int_equal(shmstat_history_create(path, &o2, &h), 0);
	assert_int_equal(shmstat_history_tiers(h, tiers, 8), 1);
	assert_int_equal(tiers[0].step_ns, HY_S);
	assert_int_equal(tiers[0].span_ns, 100 * HY_S);
	assert_int_equal(shmstat_history_append(h, sn, HY_T0 + 3 * HY_S, &w), EINVAL);
	hy_check_error(path);
	assert_int_equal(w, 0);
	assert_int_equal(shmstat_history_append(h, sn, HY_T0 + 4 * HY_S, &w), 0);
	assert_int_equal(w, 0);                   /* the same second: not due */
	shmstat_snap_free(sn);
	for (unsigned i = 5; i < 10; i++)
		append_step(h, &s, i, &w);
	assert_int_equal(w, 1);
	assert_int_equal(shmstat__history_tier_stat(h, 0, &ts), 0);
	assert_int_equal(ts.records, 10);
	/* the reader opened before sees the new records too */
	assert_int_equal(shmstat_history_range(r, 0, UINT64_MAX, &f, &n), 0);
	assert_int_equal(n, 10);
	for (unsigned i = 0; i < 10; i++) {
		struct shmstat_frame_info fi;

		shmstat_frame_info(f[i], &fi);
		assert_int_equal(fi.time_ns, HY_T0 + i * HY_S);
		assert_string_equal(fi.segment, i < 5 ? name : "");
	}
	shmstat_frames_free(f, n);
	/* and so does the writer's own handle */
	assert_int_equal(shmstat_history_range(h, HY_T0 + 9 * HY_S, UINT64_MAX, &f, &n), 0);
	assert_int_equal(n, 1);
	shmstat_frames_free(f, n);
	shmstat_history_close(r);
	shmstat_history_close(h);
	hy_seg_close(&s);
}

/* ------------------------------------------------------ the clock behind */

/* The times of the records a range over all time reads, into @t (up to
 * 16); their count. */
static size_t read_times(shmstat_history *h, uint64_t *t)
{
	shmstat_frame **f;
	size_t n;

	assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &n), 0);
	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++) {
		struct shmstat_frame_info fi;

		shmstat_frame_info(f[i], &fi);
		t[i] = fi.time_ns;
	}
	shmstat_frames_free(f, n);
	return n;
}

/* One record a day ahead (a clock stepped forward, then back): the
 * appends after it are refused until shmstat_history_restart(), which
 * starts every tier anew at the next append, never out of time order. */
static void test_clock_behind(void **state)
{
	struct shmstat_history_opts o = hy_opts(1 << 20, 20, UINT64_C(1), UINT64_C(100),
						UINT64_C(10), UINT64_C(1000), UINT64_C(0));
	const char *name = ut_name("hist-behind");
	struct shmstat__hf_tier_stat ts;
	uint64_t last = 0, t[16];
	shmstat_history *h, *r;
	struct hy_seg s;
	char path[512];
	shmstat_snap *sn;
	unsigned w;

	(void)state;
	hy_path(path, sizeof(path), "behind.shmhist");
	hy_seg_open(&s, name);
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	assert_int_equal(shmstat_history_last(h, &last), ENOENT);
	hy_check_error(path);
	for (unsigned i = 0; i < 5; i++)
		append_step(h, &s, i, NULL);
	assert_int_equal(shmstat_history_last(h, &last), 0);
	assert_int_equal(last, HY_T0 + 4 * HY_S);
	append_step(h, &s, 86400, &w);             /* the clock a day ahead */
	assert_int_equal(w, 2);
	assert_int_equal(shmstat_history_last(h, &last), 0);
	assert_int_equal(last, HY_T0 + 86400 * HY_S);
	sn = hy_snap(&s);
	assert_int_equal(shmstat_history_append(h, sn, HY_T0 + 5 * HY_S, &w), EINVAL);
	assert_int_equal(w, 0);
	/* a restart changes nothing before the next append: a new writer
	 * goes on from the old records */
	assert_int_equal(shmstat_history_restart(h), 0);
	assert_int_equal(shmstat_history_last(h, &last), ENOENT);
	shmstat_history_close(h);
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	assert_int_equal(shmstat_history_last(h, &last), 0);
	assert_int_equal(last, HY_T0 + 86400 * HY_S);
	assert_int_equal(read_times(h, t), 6);
	/* read-only handles neither restart nor tell a last record */
	assert_int_equal(shmstat_history_open(path, &r), 0);
	assert_int_equal(shmstat_history_restart(r), EINVAL);
	hy_check_error(path);
	assert_int_equal(shmstat_history_last(r, &last), EINVAL);
	/* restarted: the next append goes into every tier, and it is the
	 * oldest record any reader reads */
	assert_int_equal(shmstat_history_restart(h), 0);
	assert_int_equal(shmstat_history_append(h, sn, HY_T0 + 5 * HY_S, &w), 0);
	assert_int_equal(w, 2);
	assert_int_equal(shmstat_history_append(h, sn, HY_T0 + 6 * HY_S, &w), 0);
	assert_int_equal(w, 1);
	assert_int_equal(shmstat_history_last(h, &last), 0);
	assert_int_equal(last, HY_T0 + 6 * HY_S);
	assert_int_equal(read_times(r, t), 2);
	assert_int_equal(t[0], HY_T0 + 5 * HY_S);
	assert_int_equal(t[1], HY_T0 + 6 * HY_S);
	/* a writer that starts on the file goes on after the new records */
	shmstat_history_close(h);
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	assert_int_equal(shmstat_history_last(h, &last), 0);
	assert_int_equal(last, HY_T0 + 6 * HY_S);
	assert_int_equal(shmstat_history_append(h, sn, HY_T0 + 7 * HY_S, &w), 0);
	assert_int_equal(shmstat__history_tier_stat(h, 0, &ts), 0);
	assert_int_equal(ts.records, 3);
	assert_int_equal(ts.newest_seq, 10);       /* 1..6, 8, 9, 10 */
	assert_int_equal(shmstat__history_tier_stat(h, 1, &ts), 0);
	assert_int_equal(ts.records, 1);
	assert_int_equal(ts.newest_ns, HY_T0 + 5 * HY_S);
	assert_int_equal(read_times(r, t), 3);
	assert_int_equal(t[2], HY_T0 + 7 * HY_S);
	shmstat_snap_free(sn);
	shmstat_history_close(r);
	shmstat_history_close(h);
	hy_seg_close(&s);
}

/* --------------------------------------------------- a gauge with no value */

static void test_gauge_no_value(void **state)
{
	struct shmstat_history_opts o = hy_opts(1 << 20, 20, UINT64_C(1), UINT64_C(100), UINT64_C(0));
	const char *name = ut_name("hist-novalue");
	struct shmstat_metric_def d = { .name = "live_peak" };
	struct shmstat_metric_info mi;
	struct shmstat_series sr;
	shmstat_history *h;
	shmstat_frame **f;
	shmstat_seg *seg;
	shmstat_snap *sn;
	char path[512];
	pid_t pid;
	size_t n;
	int st, i;

	(void)state;
	hy_path(path, sizeof(path), "novalue.shmhist");
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* a writer sets a live-max gauge, then goes */
		shmstat_seg *cs;
		shmstat_gauge *g;

		if (shmstat_open(name, NULL, &cs) != 0 ||
		    shmstat_gauge_register(cs, &d, SHMSTAT_AGG_LIVEMAX, &g) != 0)
			_exit(1);
		shmstat_gauge_set(g, -42);
		shmstat_close(cs);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sn = ut_snap(name);
	i = ut_find(sn, "live_peak", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(mi.has_value, 0);          /* what this test is about */
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	assert_int_equal(shmstat_history_append(h, sn, HY_T0, NULL), 0);
	assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(shmstat_frame_series(f[0], (size_t)i, &sr), 0);
	assert_string_equal(sr.name, "live_peak");
	assert_int_equal(sr.type, SHMSTAT_GAUGE);
	assert_int_equal(sr.agg, SHMSTAT_AGG_LIVEMAX);
	assert_int_equal(sr.has_value, 0);
	assert_int_equal(sr.gauge, mi.gauge);
	shmstat_frames_free(f, n);
	shmstat_snap_free(sn);
	shmstat_history_close(h);
	shmstat_close(seg);
}

/* ------------------------------------------------------------------ files */

static void test_files(void **state)
{
	struct shmstat_history_opts o = hy_opts(64 << 10, 20, UINT64_C(1), UINT64_C(10), UINT64_C(0));
	char path[512], other[512], tgt[512];
	shmstat_history *h;
	struct stat st;

	(void)state;
	/* 0600 by default, 0640 on request; no temporary file left */
	hy_path(path, sizeof(path), "a.shmhist");
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	shmstat_history_close(h);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 64 << 10);
	o.mode = 0640;
	hy_path(path, sizeof(path), "b.shmhist");
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	shmstat_history_close(h);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(hy_dir_count(hy_dir), 2);
	/* max_bytes rounded down to 4096 */
	o.mode = 0600;
	o.max_bytes = 100000;
	hy_path(path, sizeof(path), "c.shmhist");
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	shmstat_history_close(h);
	assert_int_equal(hy_file_size(path), 98304);
	o.max_bytes = 64 << 10;

	/* never through a symbolic link */
	hy_path(path, sizeof(path), "link.shmhist");
	hy_path(tgt, sizeof(tgt), "target.shmhist");
	assert_int_equal(symlink(tgt, path), 0);
	assert_int_equal(shmstat_history_create(path, &o, &h), SHMSTAT_EOWNER);
	hy_check_error(path);
	assert_int_equal(shmstat_history_open(path, &h), SHMSTAT_EOWNER);
	hy_check_error("symbolic link");
	assert_int_not_equal(lstat(tgt, &st), 0);
	hy_path(other, sizeof(other), "a.shmhist");
	unlink(path);
	assert_int_equal(symlink(other, path), 0);  /* to a good file */
	assert_int_equal(shmstat_history_open(path, &h), SHMSTAT_EOWNER);
	unlink(path);

	/* not regular files */
	hy_path(path, sizeof(path), "dir.shmhist");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(shmstat_history_open(path, &h), SHMSTAT_EOWNER);
	hy_check_error("not a regular file");
	assert_int_equal(shmstat_history_create(path, &o, &h), SHMSTAT_EOWNER);
	rmdir(path);
	hy_path(path, sizeof(path), "fifo.shmhist");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(shmstat_history_open(path, &h), SHMSTAT_EOWNER);
	assert_int_equal(shmstat_history_create(path, &o, &h), SHMSTAT_EOWNER);
	unlink(path);

	/* writers refuse what others could have changed */
	hy_path(path, sizeof(path), "a.shmhist");
	assert_int_equal(chmod(path, 0660), 0);
	assert_int_equal(shmstat_history_create(path, &o, &h), SHMSTAT_EOWNER);
	hy_check_error("writable by group");
	assert_int_equal(shmstat_history_open(path, &h), 0);    /* readers may */
	shmstat_history_close(h);
	assert_int_equal(chmod(path, 0600), 0);
	hy_path(other, sizeof(other), "a-link.shmhist");
	assert_int_equal(link(path, other), 0);
	assert_int_equal(shmstat_history_create(path, &o, &h), SHMSTAT_EOWNER);
	hy_check_error("hard links");
	unlink(other);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4242, 4242), 0);
		assert_int_equal(shmstat_history_create(path, &o, &h), SHMSTAT_EOWNER);
		hy_check_error("owned by uid 4242");
		assert_int_equal(shmstat_history_open(path, &h), 0);
		shmstat_history_close(h);
		assert_int_equal(chown(path, 0, 0), 0);
	}
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	shmstat_history_close(h);

	/* not history files */
	hy_path(path, sizeof(path), "empty");
	close(open(path, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(shmstat_history_open(path, &h), SHMSTAT_EFOREIGN);
	hy_check_error("empty");
	assert_int_equal(shmstat_history_create(path, &o, &h), SHMSTAT_EFOREIGN);
	hy_path(path, sizeof(path), "text");
	{
		static const char txt[] = "hello, this is not a history file\n";
		int fd = open(path, O_CREAT | O_WRONLY, 0600);

		assert_int_equal(write(fd, txt, sizeof(txt) - 1), (ssize_t)sizeof(txt) - 1);
		close(fd);
	}
	assert_int_equal(shmstat_history_open(path, &h), SHMSTAT_EFOREIGN);
	hy_check_error("not a shmstat history file");
	assert_int_equal(shmstat_history_create(path, &o, &h), SHMSTAT_EFOREIGN);

	/* missing */
	hy_path(path, sizeof(path), "nope/x.shmhist");
	assert_int_equal(shmstat_history_create(path, &o, &h), ENOENT);
	hy_check_error(path);
	assert_int_equal(shmstat_history_open(path, &h), ENOENT);
	hy_check_error(path);
	assert_int_equal(shmstat_history_open("", &h), EINVAL);
}

/* ------------------------------------------------------------ bad options */

static void test_bad_opts(void **state)
{
	struct shmstat_history_opts o;
	shmstat_history *h = (shmstat_history *)&h;
	char path[512];

	(void)state;
	hy_path(path, sizeof(path), "bad.shmhist");
#define BAD(fix)                                                              \
	do {                                                                  \
		o = hy_opts(1 << 20, 20, UINT64_C(1), UINT64_C(60),           \
			    UINT64_C(10), UINT64_C(600), UINT64_C(0));        \
		fix;                                                          \
		assert_int_equal(shmstat_history_create(path, &o, &h), EINVAL); \
		assert_null(h);                                               \
		hy_check_error(path);                                         \
		assert_int_equal(hy_dir_count(hy_dir), 0);                       \
	} while (0)
	BAD(o.ntiers = 0);
	BAD(o.ntiers = 9);
	BAD(o.tier[1].step_ns = 0);
	BAD(o.tier[0].span_ns = HY_S / 2);
	BAD(o.tier[1].step_ns = HY_S);                      /* not coarser */
	BAD(o.tier[1].span_ns = 30 * HY_S);                 /* span shrinks */
	BAD(o.tier[0].span_ns = o.tier[1].span_ns = (UINT64_C(1) << 33) * HY_S);  /* > 2^32 steps */
	BAD(o.max_bytes = 8192);
	BAD(o.max_bytes = UINT64_C(2) << 40);
	BAD(o.mode = 0644);
	BAD(o.top_keys = 1001);
	BAD(o.max_bytes = 16 << 10; o.ntiers = 8;
	    for (unsigned k = 0; k < 8; k++) {
		    o.tier[k].step_ns = (k + 1) * HY_S;
		    o.tier[k].span_ns = 100 * HY_S;
	    });
#undef BAD
	/* the defaults are good, and NULL means them */
	assert_int_equal(shmstat_history_create(path, NULL, &h), 0);
	assert_int_equal(hy_file_size(path), 64 << 20);
	{
		struct shmstat_tier t[8];

		assert_int_equal(shmstat_history_tiers(h, t, 2), 3);
		assert_int_equal(t[0].step_ns, HY_S);
		assert_int_equal(t[0].span_ns, 600 * HY_S);
		assert_int_equal(t[1].step_ns, 10 * HY_S);
		assert_int_equal(t[1].span_ns, 6 * 3600 * HY_S);
	}
	shmstat_history_close(h);
}

/* ---------------------------------------------- a record too big for a ring */

#define NS_N 500

static void test_nospace(void **state)
{
	/* 1 s for 1 s gets one page; 10 s for ~28 h the rest of 1 MiB */
	struct shmstat_history_opts o = hy_opts(1 << 20, 20, UINT64_C(1), UINT64_C(1),
						UINT64_C(10), UINT64_C(100000), UINT64_C(0));
	const char *name = ut_name("hist-nospace");
	struct shmstat__hf_tier_stat t0, t1;
	shmstat_counter *c[NS_N];
	shmstat_history *h;
	shmstat_reader *r;
	shmstat_seg *seg;
	shmstat_snap *sn;
	char path[512];
	unsigned w = 99;

	(void)state;
	hy_path(path, sizeof(path), "nospace.shmhist");
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	for (unsigned k = 0; k < NS_N; k++) {
		char nm[32];
		struct shmstat_metric_def d = { .name = nm };

		snprintf(nm, sizeof(nm), "n%03u_total", k);
		assert_int_equal(shmstat_counter_register(seg, &d, &c[k]), 0);
	}
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	assert_int_equal(shmstat__history_tier_stat(h, 0, &t0), 0);
	assert_int_equal(t0.ring_len, 4096);
	/* 500 counters at 0: a small record, in both tiers */
	assert_int_equal(shmstat_snapshot(r, &sn), 0);
	assert_int_equal(shmstat_history_append(h, sn, HY_T0, &w), 0);
	assert_int_equal(w, 2);
	shmstat_snap_free(sn);
	/* 500 counters past 2^56: 9 bytes each, more than the small ring */
	for (unsigned k = 0; k < NS_N; k++)
		shmstat_counter_add(c[k], UINT64_C(1) << 60);
	assert_int_equal(shmstat_snapshot(r, &sn), 0);
	assert_int_equal(shmstat_history_append(h, sn, HY_T0 + 10 * HY_S, &w), ENOSPC);
	shmstat_snap_free(sn);
	/* that tier is left out, the other one is written, and the caller
	 * is told */
	hy_check_error(path);
	hy_check_error("more than the ring of tier 0 (4096 bytes); make the file bigger");
	assert_int_equal(w, 1);
	assert_int_equal(shmstat__history_tier_stat(h, 1, &t1), 0);
	assert_true(t1.newest_len > 4096);
	assert_int_equal(t1.records, 2);
	assert_int_equal(t1.newest_ns, HY_T0 + 10 * HY_S);
	assert_int_equal(shmstat__history_tier_stat(h, 0, &t0), 0);
	assert_int_equal(t0.records, 1);
	assert_int_equal(t0.newest_ns, HY_T0);
	shmstat_history_close(h);
	shmstat_reader_close(r);
	shmstat_close(seg);
}

/* -------------------------------------------------------- full dictionary */

#define DF_N 40

static void df_name(char *buf, size_t n, unsigned k)
{
	snprintf(buf, n, "a_counter_with_a_rather_long_name_so_that_the_dictionary_fills_up_quickly_%02u_total",
		 k);
}

static void df_check(shmstat_frame *f, unsigned step)
{
	struct shmstat_frame_info fi;

	shmstat_frame_info(f, &fi);
	assert_int_equal(fi.time_ns, HY_T0 + step * HY_S);
	assert_int_equal(fi.series, DF_N);
	for (unsigned k = 0; k < DF_N; k++) {
		char nm[128];
		struct shmstat_series sr;
		long j;

		df_name(nm, sizeof(nm), k);
		j = shmstat_frame_find(f, nm, "");
		assert_true(j >= 0);
		assert_int_equal(shmstat_frame_series(f, (size_t)j, &sr), 0);
		assert_string_equal(sr.help, "a help text long enough to fill the dictionary of a small file");
		assert_int_equal(sr.counter, (uint64_t)(k + 1) * (step + 1));
	}
}

static void test_dict_full(void **state)
{
	struct shmstat_history_opts o = hy_opts(64 << 10, 20, UINT64_C(1), UINT64_C(60), UINT64_C(0));
	const char *name = ut_name("hist-dict");
	struct shmstat__hf_tier_stat ts;
	shmstat_counter *c[DF_N];
	struct shmstat_opts so;
	shmstat_history *h;
	shmstat_reader *r;
	shmstat_frame **f;
	shmstat_seg *seg;
	char path[512];
	size_t n;

	(void)state;
	hy_path(path, sizeof(path), "dict.shmhist");
	shmstat_opts_init(&so);
	so.max_procs = 2;
	so.max_threads = 2;
	assert_int_equal(shmstat_open(name, &so, &seg), 0);
	for (unsigned k = 0; k < DF_N; k++) {
		char nm[128];
		struct shmstat_metric_def d = {
			.name = nm,
			.help = "a help text long enough to fill the dictionary of a small file",
		};

		df_name(nm, sizeof(nm), k);
		assert_int_equal(shmstat_counter_register(seg, &d, &c[k]), 0);
	}
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	for (unsigned i = 0; i < 20; i++) {
		shmstat_snap *sn;

		if (i == 10) {
			/* a writer that restarts finds the dictionary full too */
			shmstat_history_close(h);
			assert_int_equal(shmstat_history_create(path, &o, &h), 0);
		}
		for (unsigned k = 0; k < DF_N; k++)
			shmstat_counter_add(c[k], k + 1);
		assert_int_equal(shmstat_snapshot(r, &sn), 0);
		assert_int_equal(shmstat_history_append(h, sn, HY_T0 + i * HY_S, NULL), 0);
		shmstat_snap_free(sn);
	}
	assert_int_equal(shmstat__history_tier_stat(h, 0, &ts), 0);
	/* the dictionary could not take every series (nor a schema) */
	assert_true(ts.dict_entries < DF_N);
	assert_true(ts.dict_used <= ts.dict_len);
	assert_true(ts.records >= 10);
	shmstat_history_close(h);
	assert_int_equal(shmstat_history_open(path, &h), 0);
	assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &n), 0);
	assert_int_equal(n, ts.records);
	for (size_t i = 0; i < n; i++)
		df_check(f[i], (unsigned)(20 - n + i));
	shmstat_frames_free(f, n);
	shmstat_history_close(h);
	shmstat_reader_close(r);
	shmstat_close(seg);
}

/* ---------------------------------------------------------- one by one */

/* shmstat_history_each(): the frames it gave, checked against @want */
struct each_check {
	shmstat_frame **want;
	size_t n, got, stop;
};

static int each_one(void *arg, const shmstat_frame *f)
{
	struct each_check *c = arg;
	struct shmstat_frame_info a, b;

	assert_true(c->got < c->n);
	shmstat_frame_info(f, &a);
	shmstat_frame_info(c->want[c->got], &b);
	assert_int_equal(a.time_ns, b.time_ns);
	assert_int_equal(a.step_ns, b.step_ns);
	assert_int_equal(a.generation, b.generation);
	assert_string_equal(a.segment, b.segment);
	assert_int_equal(a.series, b.series);
	for (size_t i = 0; i < a.series; i++) {
		struct shmstat_series x, y;

		assert_int_equal(shmstat_frame_series(f, i, &x), 0);
		assert_int_equal(shmstat_frame_series(c->want[c->got], i, &y), 0);
		assert_string_equal(x.name, y.name);
		assert_string_equal(x.labels, y.labels);
		assert_int_equal(x.counter, y.counter);
		assert_int_equal(x.gauge, y.gauge);
		assert_int_equal(x.sig_hits, y.sig_hits);
		assert_int_equal(shmstat_frame_bytes(f, i), shmstat_frame_bytes(c->want[c->got], i));
	}
	c->got++;
	return c->got == c->stop ? 7 : 0;
}

/* shmstat_history_each() gives the frames of shmstat_history_range(), in
 * order, over two tiers; a nonzero return stops it and is returned */
static void test_each(void **state)
{
	struct shmstat_history_opts o = hy_opts(96 << 10, 20, UINT64_C(1), UINT64_C(10), UINT64_C(5),
						UINT64_C(400), UINT64_C(0));
	static const uint64_t ranges[][2] = { { 0, UINT64_MAX }, { 0, 0 }, { 3, 3 }, { 7, 52 },
					      { 55, 60 }, { 59, 59 }, { 61, 100 }, { 30, 20 } };
	const char *name = ut_name("hist-each");
	struct hy_seg s;
	shmstat_history *h, *r;
	char path[512];

	(void)state;
	hy_path(path, sizeof(path), "each.shmhist");
	hy_seg_open(&s, name);
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	assert_int_equal(shmstat_history_set_segment(h, name), 0);
	for (unsigned i = 0; i < 60; i++)
		append_step(h, &s, i, NULL);
	assert_int_equal(shmstat_history_open(path, &r), 0);
	for (size_t k = 0; k < sizeof(ranges) / sizeof(ranges[0]); k++) {
		uint64_t from = ranges[k][0] == UINT64_MAX ? UINT64_MAX : HY_T0 + ranges[k][0] * HY_S;
		uint64_t to = ranges[k][1] == UINT64_MAX ? UINT64_MAX : HY_T0 + ranges[k][1] * HY_S;
		struct each_check c = { NULL, 0, 0, 0 };

		if (ranges[k][0] == 0)
			from = 0;
		assert_int_equal(shmstat_history_range(r, from, to, &c.want, &c.n), 0);
		assert_int_equal(shmstat_history_each(r, from, to, each_one, &c), 0);
		assert_int_equal(c.got, c.n);
		if (c.n >= 3) {
			/* stopped at the third */
			c.got = 0;
			c.stop = 3;
			assert_int_equal(shmstat_history_each(r, from, to, each_one, &c), 7);
			assert_int_equal(c.got, 3);
			assert_string_equal(shmstat_last_error(), "");
		}
		if (k == 0) {
			/* both tiers: the coarse one's records before the fine one's */
			struct shmstat_frame_info a, b;

			shmstat_frame_info(c.want[0], &a);
			print_message("%zu frames, the first of step %llu s\n", c.n,
				      (unsigned long long)(a.step_ns / HY_S));
			shmstat_frame_info(c.want[c.n - 1], &b);
			assert_int_equal(a.step_ns, 5 * HY_S);
			assert_int_equal(b.step_ns, HY_S);
		}
		shmstat_frames_free(c.want, c.n);
	}
	shmstat_history_close(r);
	shmstat_history_close(h);
	hy_seg_close(&s);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restart, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_clock_behind, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_gauge_no_value, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_files, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_bad_opts, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_nospace, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_dict_full, hy_setup, hy_teardown),
		cmocka_unit_test_setup_teardown(test_each, hy_setup, hy_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
