/*
 * test_segment.c - create, attach, permissions, links, names, unlink, gc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "ut_common.h"

static void expect_missing(const char *name)
{
	char path[300];
	struct stat st;

	ut_path(name, path, sizeof(path));
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void stat_seg(const char *name, struct stat *st)
{
	char path[300];

	ut_path(name, path, sizeof(path));
	assert_int_equal(lstat(path, st), 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Create with defaults: a regular file of ours, mode 0600, default capacities. */
static void test_create_defaults(void **state)
{
	const char *name = ut_name("seg");
	struct shmstat_seg_info info;
	shmstat_seg *seg = NULL;
	struct stat st;
	uint64_t before = now_ns();

	(void)state;
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_non_null(seg);
	assert_string_equal(shmstat_last_error(), "");
	stat_seg(name, &st);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_nlink, 1);

	ut_info(name, &info);
	assert_int_equal(info.size, (uint64_t)st.st_size);
	assert_int_equal(info.mode, 0600);
	assert_int_equal(info.uid, geteuid());
	assert_int_equal(info.format_major, 4);
	assert_int_equal(info.max_procs, 32);
	assert_int_equal(info.max_metrics, 1024);
	assert_int_equal(info.max_values, 16384);
	assert_int_equal(info.max_threads, 32);
	assert_int_equal(info.metrics, 0);
	assert_int_equal(info.values_used, 0);
	assert_int_equal(info.writers_alive, 1);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.dropped_regs, 0);
	assert_int_equal(info.removed, 0);
	assert_true(info.created_ns >= before && info.created_ns <= info.taken_ns);

	assert_int_equal(shmstat_close(seg), 0);
	/* the segment outlives its last writer */
	ut_info(name, &info);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(shmstat_unlink(name), 0);
	expect_missing(name);
}

static void test_mode_0640(void **state)
{
	const char *name = ut_name("seg");
	struct shmstat_opts o;
	struct shmstat_seg_info info;
	shmstat_seg *seg = NULL;
	struct stat st;

	(void)state;
	ut_small_opts(&o);
	o.mode = 0640;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	stat_seg(name, &st);
	assert_int_equal(st.st_mode & 07777, 0640);
	ut_info(name, &info);
	assert_int_equal(info.mode, 0640);
	/* 0640 is not writable by group: a second writer attaches */
	{
		shmstat_seg *seg2 = NULL;

		assert_int_equal(shmstat_open(name, NULL, &seg2), 0);
		assert_int_equal(shmstat_close(seg2), 0);
	}
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_mode_refused(void **state)
{
	static const unsigned bad[] = { 0644, 0666, 0660, 0700, 0400, 0 };
	const char *name = ut_name("seg");
	struct shmstat_opts o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		shmstat_seg *seg = (shmstat_seg *)&o;    /* must be reset to NULL */

		ut_small_opts(&o);
		o.mode = bad[i];
		assert_int_equal(shmstat_open(name, &o, &seg), EINVAL);
		assert_null(seg);
		ut_check_error_text(NULL);
		expect_missing(name);
	}
}

/* A second open of the same name attaches to the same segment; capacities
 * given then are ignored; after the writers are gone it still attaches. */
static void test_second_open_attaches(void **state)
{
	const char *name = ut_name("seg");
	struct shmstat_opts o, o2;
	struct shmstat_seg_info i1, i2, i3;
	shmstat_seg *a = NULL, *b = NULL;

	(void)state;
	ut_small_opts(&o);
	assert_int_equal(shmstat_open(name, &o, &a), 0);
	ut_info(name, &i1);
	assert_int_equal(i1.writers_alive, 1);

	ut_small_opts(&o2);
	o2.max_metrics = 99;
	o2.max_procs = 3;
	assert_int_equal(shmstat_open(name, &o2, &b), 0);
	assert_ptr_not_equal(a, b);
	ut_info(name, &i2);
	assert_int_equal(i2.generation, i1.generation);
	assert_int_equal(i2.created_ns, i1.created_ns);
	assert_int_equal(i2.max_metrics, o.max_metrics);
	assert_int_equal(i2.max_procs, o.max_procs);
	assert_int_equal(i2.writers_alive, 2);
	assert_int_equal(shmstat_close(b), 0);
	assert_int_equal(shmstat_close(a), 0);

	/* attach again, with opts NULL, after everyone left */
	assert_int_equal(shmstat_open(name, NULL, &a), 0);
	ut_info(name, &i3);
	assert_int_equal(i3.generation, i1.generation);
	assert_int_equal(i3.writers_alive, 1);
	assert_int_equal(shmstat_close(a), 0);

	/* re-creating the name gives a new generation */
	assert_int_equal(shmstat_unlink(name), 0);
	assert_int_equal(shmstat_open(name, &o, &a), 0);
	ut_info(name, &i3);
	assert_int_not_equal(i3.generation, i1.generation);
	assert_int_equal(shmstat_close(a), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_capacities(void **state)
{
	const char *name = ut_name("seg");
	struct shmstat_opts o;
	struct shmstat_seg_info info;
	shmstat_seg *seg = NULL;
	struct stat st;

	(void)state;
	shmstat_opts_init(&o);
	o.max_procs = 3;
	o.max_metrics = 7;
	o.max_values = 100;
	o.max_threads = 5;
	o.sig_bytes = 5000;         /* rounded up to whole pages: 8192 */
	o.max_stacks = 8;
	o.max_modules = 9;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	ut_info(name, &info);
	assert_int_equal(info.max_procs, 3);
	assert_int_equal(info.max_metrics, 7);
	assert_int_equal(info.max_values, 100);
	assert_int_equal(info.max_threads, 5);
	assert_int_equal(info.max_stacks, 8);
	assert_int_equal(info.max_modules, 9);
	assert_int_equal(info.format_major, 4);
	assert_int_equal(info.format_minor, 6);
	/* header page + procs page + descs page + owners page + 5000 bytes
	 * of signature tables (2 pages) + 10 stripes of round_up(800, 128)
	 * = 896 bytes, rounded to 3 pages + 8 stack entries of 512 bytes
	 * (1 page) + 9 module records of 512 bytes (2 pages) */
	assert_int_equal(info.size, 4 * 4096 + 2 * 4096 + 3 * 4096 + 4096 + 2 * 4096);
	stat_seg(name, &st);
	assert_int_equal((uint64_t)st.st_size, info.size);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Impossible capacities are refused and leave no file behind. */
static void test_bad_capacities(void **state)
{
	const char *name = ut_name("seg");
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;

	(void)state;
	for (int k = 0; k < 10; k++) {
		ut_small_opts(&o);
		switch (k) {
		case 0: o.max_procs = 0; break;
		case 1: o.max_metrics = 0; break;
		case 2: o.max_values = 0; break;
		case 3: o.max_threads = 0; break;
		case 4: o.sig_bytes = UINT64_MAX; break;
		case 5: o.sig_bytes = (UINT64_C(8) << 30) + 1; break;  /* over 8 GiB */
		case 6: o.max_stacks = 100; break;          /* not a power of two */
		case 7: o.max_stacks = 1u << 21; break;
		case 8: o.max_modules = 70000; break;
		default: o.max_procs = 5000; break;
		}
		assert_int_equal(shmstat_open(name, &o, &seg), EINVAL);
		assert_null(seg);
		ut_check_error_text(NULL);
		expect_missing(name);
	}
}

/* max_procs writers at once; one more is refused with EFULL. */
static void test_proc_slots_full(void **state)
{
	const char *name = ut_name("seg");
	struct shmstat_opts o;
	shmstat_seg *a = NULL, *b = NULL, *c = NULL;

	(void)state;
	ut_small_opts(&o);
	o.max_procs = 2;
	assert_int_equal(shmstat_open(name, &o, &a), 0);
	assert_int_equal(shmstat_open(name, &o, &b), 0);
	assert_int_equal(shmstat_open(name, &o, &c), SHMSTAT_EFULL);
	assert_null(c);
	ut_check_error_text(name);
	assert_int_equal(shmstat_close(b), 0);
	/* the slot given back is reusable */
	assert_int_equal(shmstat_open(name, &o, &c), 0);
	assert_int_equal(shmstat_close(c), 0);
	assert_int_equal(shmstat_close(a), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_bad_names(void **state)
{
	char long_name[202];
	const char *bad[] = { "", long_name, "a/b", "..", ".", "a b", "x\n", "caf\xc3\xa9",
			      "/abs", NULL };
	const size_t nbad = sizeof(bad) / sizeof(bad[0]);

	(void)state;
	memset(long_name, 'a', 201);
	long_name[201] = '\0';
	for (size_t i = 0; i < nbad; i++) {
		shmstat_seg *seg = NULL;
		shmstat_reader *r = NULL;
		unsigned reaped = 77;

		assert_int_equal(shmstat_valid_name(bad[i]), SHMSTAT_EBADNAME);
		ut_check_error_text(NULL);
		assert_int_equal(shmstat_open(bad[i], NULL, &seg), SHMSTAT_EBADNAME);
		assert_null(seg);
		ut_check_error_text(NULL);
		assert_int_equal(shmstat_reader_open(bad[i], &r), SHMSTAT_EBADNAME);
		assert_null(r);
		ut_check_error_text(NULL);
		assert_int_equal(shmstat_unlink(bad[i]), SHMSTAT_EBADNAME);
		ut_check_error_text(NULL);
		assert_int_equal(shmstat_gc(bad[i], &reaped), SHMSTAT_EBADNAME);
		ut_check_error_text(NULL);
		assert_int_equal(reaped, 77);
	}
	/* "a b" and "a/b" never reached the file system */
	{
		struct stat st;

		assert_int_equal(lstat("/dev/shm/shmstat.a b", &st), -1);
		assert_int_equal(lstat("/dev/shm/shmstat.a", &st) == 0 && S_ISDIR(st.st_mode), 0);
	}
}

/* Names of exactly 200 characters and of every allowed character work. */
static void test_good_names(void **state)
{
	char name[201];
	const char *base = ut_name("seg.A_z-9");
	shmstat_seg *seg = NULL;

	(void)state;
	assert_int_equal(shmstat_valid_name("x"), 0);
	assert_int_equal(shmstat_valid_name("..."), 0);
	assert_int_equal(shmstat_valid_name(base), 0);
	memset(name, 'n', 200);
	name[200] = '\0';
	memcpy(name, base, strlen(base));
	ut_track(name);
	assert_int_equal(strlen(name), 200);
	assert_int_equal(shmstat_valid_name(name), 0);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
	assert_int_equal(shmstat_open(base, NULL, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(base), 0);
}

static void make_seg(const char *name)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;

	ut_small_opts(&o);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
}

/* A symlink at the segment's path is refused by writers and readers,
 * whether it points at a real segment or nowhere. */
static void test_symlink_refused(void **state)
{
	const char *target = ut_name("seg");
	const char *link_name = ut_name("seg");
	const char *dangling = ut_name("seg");
	const char *nowhere = ut_name("seg");
	char tpath[300], lpath[300], npath[300];
	struct shmstat_seg_info info;
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;
	shmstat_reader *r = NULL;
	unsigned reaped;

	(void)state;
	make_seg(target);
	ut_path(target, tpath, sizeof(tpath));
	ut_path(link_name, lpath, sizeof(lpath));
	assert_int_equal(symlink(tpath, lpath), 0);

	ut_small_opts(&o);
	assert_int_equal(shmstat_open(link_name, NULL, &seg), SHMSTAT_EOWNER);
	assert_null(seg);
	ut_check_error_text(link_name);
	assert_int_equal(shmstat_open(link_name, &o, &seg), SHMSTAT_EOWNER);
	assert_null(seg);
	ut_check_error_text(link_name);
	assert_int_equal(shmstat_reader_open(link_name, &r), SHMSTAT_EOWNER);
	assert_null(r);
	ut_check_error_text(link_name);
	assert_int_equal(shmstat_gc(link_name, &reaped), SHMSTAT_EOWNER);
	ut_check_error_text(link_name);
	/* nobody attached to the target through the link */
	ut_info(target, &info);
	assert_int_equal(info.writers_alive, 0);

	/* a dangling link: creating through it would make the target */
	ut_path(dangling, lpath, sizeof(lpath));
	ut_path(nowhere, npath, sizeof(npath));
	assert_int_equal(symlink(npath, lpath), 0);
	assert_int_equal(shmstat_open(dangling, &o, &seg), SHMSTAT_EOWNER);
	assert_null(seg);
	ut_check_error_text(dangling);
	expect_missing(nowhere);
	assert_int_equal(shmstat_reader_open(dangling, &r), SHMSTAT_EOWNER);

	/* shmstat_unlink removes the link itself, not its target */
	assert_int_equal(shmstat_unlink(link_name), 0);
	expect_missing(link_name);
	ut_info(target, &info);
	assert_int_equal(shmstat_unlink(dangling), 0);
	assert_int_equal(shmstat_unlink(target), 0);
}

/* A segment with a second hard link is refused for writing under both names. */
static void test_hardlink_refused(void **state)
{
	const char *x = ut_name("seg");
	const char *y = ut_name("seg");
	char xpath[300], ypath[300];
	shmstat_seg *seg = NULL;
	unsigned reaped;

	(void)state;
	make_seg(x);
	ut_path(x, xpath, sizeof(xpath));
	ut_path(y, ypath, sizeof(ypath));
	assert_int_equal(link(xpath, ypath), 0);

	assert_int_equal(shmstat_open(y, NULL, &seg), SHMSTAT_EOWNER);
	assert_null(seg);
	ut_check_error_text(y);
	assert_non_null(strstr(shmstat_last_error(), "link"));
	assert_int_equal(shmstat_open(x, NULL, &seg), SHMSTAT_EOWNER);
	assert_null(seg);
	ut_check_error_text(x);
	assert_int_equal(shmstat_gc(x, &reaped), SHMSTAT_EOWNER);

	/* with the extra link gone, the segment is fine again */
	assert_int_equal(shmstat_unlink(y), 0);
	assert_int_equal(shmstat_open(x, NULL, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(x), 0);
}

/* Owned by another uid: refused for writing; reading is still allowed. */
static void test_foreign_owner(void **state)
{
	const char *name = ut_name("seg");
	struct shmstat_seg_info info;
	shmstat_seg *seg = NULL;
	char path[300];
	unsigned reaped;

	(void)state;
	if (geteuid() != 0)
		skip();
	make_seg(name);
	ut_path(name, path, sizeof(path));
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(shmstat_open(name, NULL, &seg), SHMSTAT_EOWNER);
	assert_null(seg);
	ut_check_error_text(name);
	assert_non_null(strstr(shmstat_last_error(), "65534"));
	assert_int_equal(shmstat_gc(name, &reaped), SHMSTAT_EOWNER);
	ut_check_error_text(name);
	/* readers check the owner as writers do (issue 17), unless told */
	{
		struct shmstat_reader_opts o;
		shmstat_reader *r = NULL;
		shmstat_snap *s;

		assert_int_equal(shmstat_reader_open(name, &r), SHMSTAT_EOWNER);
		assert_null(r);
		ut_check_error_text(name);
		assert_non_null(strstr(shmstat_last_error(), "owned by uid 65534"));
		shmstat_reader_opts_init(&o);
		o.owners[o.nowners++] = 65534;
		assert_int_equal(shmstat_reader_open_opts(name, &o, &r), 0);
		assert_int_equal(shmstat_snapshot(r, &s), 0);
		shmstat_snap_info(s, &info);
		assert_int_equal(info.uid, 65534);
		shmstat_snap_free(s);
		shmstat_reader_close(r);
	}
	assert_int_equal(shmstat_unlink(name), 0);
}

/* shmstat_reader_opts.nowners above SHMSTAT_READER_MAX_OWNERS (the size
 * of owners[]): EINVAL, the field and its bound named (it was cut to 16
 * without a word); 16 is accepted. */
static void test_reader_nowners_bound(void **state)
{
	const char *name = ut_name("seg");
	struct shmstat_reader_opts o;
	shmstat_reader *r = NULL;

	(void)state;
	make_seg(name);
	shmstat_reader_opts_init(&o);
	o.nowners = SHMSTAT_READER_MAX_OWNERS + 1;
	assert_int_equal(shmstat_reader_open_opts(name, &o, &r), EINVAL);
	assert_null(r);
	ut_check_error_text(name);
	assert_non_null(strstr(shmstat_last_error(),
			       "shmstat_reader_opts.nowners is 17, more than SHMSTAT_READER_MAX_OWNERS (16)"));
	o.nowners = UINT_MAX;
	assert_int_equal(shmstat_reader_open_opts(name, &o, &r), EINVAL);
	assert_null(r);
	o.nowners = SHMSTAT_READER_MAX_OWNERS;
	for (unsigned i = 0; i < o.nowners; i++)
		o.owners[i] = 65534;
	assert_int_equal(shmstat_reader_open_opts(name, &o, &r), 0);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* Group- or other-writable segments are refused for writing. */
static void test_writable_by_others(void **state)
{
	static const mode_t modes[] = { 0666, 0620, 0602, 0622 };
	const char *name = ut_name("seg");
	shmstat_seg *seg = NULL;
	char path[300];

	(void)state;
	make_seg(name);
	ut_path(name, path, sizeof(path));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(path, modes[i]), 0);
		assert_int_equal(shmstat_open(name, NULL, &seg), SHMSTAT_EOWNER);
		assert_null(seg);
		ut_check_error_text(name);
	}
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* A directory planted at the name is "not a regular file". */
static void test_not_regular(void **state)
{
	const char *name = ut_name("seg");
	shmstat_seg *seg = NULL;
	shmstat_reader *r = NULL;
	char path[300];
	int err;

	(void)state;
	ut_path(name, path, sizeof(path));
	assert_int_equal(mkdir(path, 0700), 0);
	err = shmstat_open(name, NULL, &seg);
	assert_int_not_equal(err, 0);
	assert_null(seg);
	ut_check_error_text(name);
	err = shmstat_reader_open(name, &r);
	assert_int_not_equal(err, 0);
	assert_null(r);
	ut_check_error_text(name);
	assert_int_equal(rmdir(path), 0);
}

static void test_unlink_missing(void **state)
{
	const char *name = ut_name("seg");
	shmstat_reader *r = NULL;
	unsigned reaped = 5;

	(void)state;
	assert_int_equal(shmstat_unlink(name), ENOENT);
	ut_check_error_text(name);
	assert_int_equal(shmstat_reader_open(name, &r), ENOENT);
	assert_null(r);
	ut_check_error_text(name);
	assert_int_equal(shmstat_gc(name, &reaped), ENOENT);
	ut_check_error_text(name);
	assert_int_equal(reaped, 5);
	expect_missing(name);
	/* a second unlink of a removed segment */
	make_seg(name);
	assert_int_equal(shmstat_unlink(name), 0);
	assert_int_equal(shmstat_unlink(name), ENOENT);
}

static void test_gc_nothing_dead(void **state)
{
	const char *name = ut_name("seg");
	struct shmstat_metric_def def = { .name = "hits" };
	struct shmstat_seg_info info;
	struct shmstat_opts o;
	shmstat_counter *c;
	shmstat_seg *seg = NULL;
	unsigned reaped = 99;

	(void)state;
	ut_small_opts(&o);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
	shmstat_counter_add(c, 3);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 0);
	assert_int_equal(shmstat_gc(name, NULL), 0);
	ut_info(name, &info);
	assert_int_equal(info.writers_alive, 1);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(ut_counter_value(name, "hits"), 3);
	/* we are still attached and can go on */
	shmstat_counter_add(c, 4);
	assert_int_equal(ut_counter_value(name, "hits"), 7);
	assert_int_equal(shmstat_close(seg), 0);
	/* a clean detach was folded at once: nothing left to reap */
	reaped = 99;
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 0);
	assert_int_equal(ut_counter_value(name, "hits"), 7);
	assert_int_equal(shmstat_unlink(name), 0);
}

static void test_misc_api(void **state)
{
	enum shmstat_agg a;

	(void)state;
	assert_int_equal(shmstat_close(NULL), 0);
	shmstat_reader_close(NULL);
	shmstat_snap_free(NULL);
	assert_string_equal(shmstat_strerror(0), "success");
	assert_string_equal(shmstat_strerror(SHMSTAT_EOWNER),
			    "segment owned by another user or not a plain file");
	assert_string_equal(shmstat_strerror(ENOENT), strerror(ENOENT));
	assert_string_equal(shmstat_strerror(-5), "unknown error");
	for (int e = SHMSTAT_EBADNAME; e <= SHMSTAT_EOWNER; e++)
		assert_string_not_equal(shmstat_strerror(e), "unknown error");
	assert_string_equal(shmstat_type_name(SHMSTAT_COUNTER), "counter");
	assert_string_equal(shmstat_type_name(SHMSTAT_GAUGE), "gauge");
	assert_string_equal(shmstat_type_name((enum shmstat_type)9), "unknown");
	for (int i = 0; i <= SHMSTAT_AGG_LIVELAST; i++) {
		assert_int_equal(shmstat_agg_parse(shmstat_agg_name((enum shmstat_agg)i), &a), 0);
		assert_int_equal(a, i);
	}
	assert_string_equal(shmstat_agg_name(SHMSTAT_AGG_LIVEMIN), "livemin");
	assert_string_equal(shmstat_agg_name((enum shmstat_agg)8), "unknown");
	assert_int_equal(shmstat_agg_parse("average", &a), EINVAL);
	/* no name (a configuration key that is not set), nowhere to put it:
	 * EINVAL, as every other function given no name; it read NULL */
	assert_int_equal(shmstat_agg_parse(NULL, &a), EINVAL);
	assert_int_equal(shmstat_agg_parse("sum", NULL), EINVAL);
}

/* Capacities too big for /dev/shm: ENOSPC at creation, nothing left. */
static void test_enospc(void **state)
{
	const char *name = ut_name("seg");
	struct shmstat_opts o;
	struct statvfs vfs;
	shmstat_seg *seg = NULL;

	(void)state;
	/* 8192 stripes of 128 MiB: 1 TiB. Only where the file system has a
	 * size limit well below that (tmpfs then fails at once). */
	assert_int_equal(statvfs("/dev/shm", &vfs), 0);
	if (vfs.f_blocks == 0 || (double)vfs.f_blocks * vfs.f_frsize > 256.0 * (1ULL << 30))
		skip();
	shmstat_opts_init(&o);
	o.max_procs = 4096;
	o.max_values = 1u << 24;
	o.max_threads = 8192 - 4096 - 2;
	assert_int_equal(shmstat_open(name, &o, &seg), ENOSPC);
	assert_null(seg);
	ut_check_error_text(name);
	expect_missing(name);
}

/* One process can hold 16 attachments; the 17th open is refused with
 * EFULL, naming the segment. Of a segment that exists it leaves no writer
 * slot behind; a name that does not exist it does not create (it used
 * to: each refused open left a segment of 20 MB reserved in /dev/shm,
 * with the defaults, until someone removed it by hand). */
static void test_too_many_open(void **state)
{
	const char *names[18];
	shmstat_seg *segs[18] = { 0 };
	struct shmstat_seg_info info;
	struct shmstat_opts o;

	(void)state;
	ut_small_opts(&o);
	o.max_metrics = 1;
	o.max_values = 1;
	o.max_threads = 1;
	o.max_procs = 1;
	for (int i = 0; i < 18; i++)
		names[i] = ut_name("seg");
	/* the 17th exists already, without a writer */
	assert_int_equal(shmstat_open(names[16], &o, &segs[16]), 0);
	assert_int_equal(shmstat_close(segs[16]), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(shmstat_open(names[i], &o, &segs[i]), 0);
	/* a new name: refused, and not created */
	assert_int_equal(shmstat_open(names[17], &o, &segs[17]), SHMSTAT_EFULL);
	assert_null(segs[17]);
	expect_missing(names[17]);
	ut_check_error_text(names[17]);
	/* one that exists: refused, its slot given back */
	assert_int_equal(shmstat_open(names[16], &o, &segs[16]), SHMSTAT_EFULL);
	assert_null(segs[16]);
	ut_check_error_text(names[16]);
	ut_info(names[16], &info);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(info.writers_dead, 0);
	/* max_procs is 1: the slot was given back, so one writer fits */
	assert_int_equal(shmstat_close(segs[0]), 0);
	assert_int_equal(shmstat_open(names[16], &o, &segs[16]), 0);
	for (int i = 1; i < 17; i++)
		assert_int_equal(shmstat_close(segs[i]), 0);
	for (int i = 0; i < 17; i++)
		assert_int_equal(shmstat_unlink(names[i]), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_defaults),
		T(test_mode_0640),
		T(test_mode_refused),
		T(test_second_open_attaches),
		T(test_capacities),
		T(test_bad_capacities),
		T(test_proc_slots_full),
		T(test_enospc),
		T(test_too_many_open),
		T(test_bad_names),
		T(test_good_names),
		T(test_symlink_refused),
		T(test_hardlink_refused),
		T(test_foreign_owner),
		T(test_writable_by_others),
		T(test_reader_nowners_bound),
		T(test_not_regular),
		T(test_unlink_missing),
		T(test_gc_nothing_dead),
		T(test_misc_api),
	};

	return cmocka_run_group_tests_name("segment", tests, NULL, NULL);
}
