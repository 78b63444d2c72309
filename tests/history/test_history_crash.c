/*
 * test_history_crash.c - a recorder killed with SIGKILL, and a reader
 * reading while a recorder writes.
 *
 * test_kill: a child process snapshots a segment and appends it to a
 * history file in a loop, at a synthetic clock of one second per step,
 * reporting each step once its append returned; the parent kills it
 * with SIGKILL after a random number of reports (the child never waits
 * for the parent: the kill lands anywhere in its loop, in a snapshot, in
 * an append, between the two). Then the file must read back every step
 * up to the last one reported, one frame per second without a gap, each
 * with the values of its step, and nothing else; a new child restarts
 * the recorder on the same file (over a torn record, when there is one)
 * and the next round begins where the last one ended.
 *
 * test_live_reader: a child appends as fast as it can into a small
 * file whose ring wraps over and over; the parent reads ranges at the
 * same time, without any lock: every frame it gets is a whole record
 * of a step (its values match its time), and the frames of one range
 * are consecutive steps.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "stress_common.h"
#include "shmstat_history.h"
#include "history.h"

#define S     UINT64_C(1000000000)
#define PRE   (UINT64_C(1) << 63)
#define T0    (UINT64_C(1700000000) * S)

static char dir[256];

static int setup(void **state)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/shmstat-hcrash-XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	return stress_setup(state);
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		char p[512];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	return stress_teardown(state);
}

/* ------------------------------------------------------------ the writer */

struct wargs {
	const char *seg;
	const char *path;
	uint64_t start;            /* first step */
	uint64_t stop;             /* 0: until killed */
	int ack;                   /* write end: per step, the step | PRE
				    * before its append, the step after it */
	unsigned big;              /* counters of 2^60 more: records of many pages */
};

static int writer(void *arg)
{
	struct wargs *a = arg;
	struct shmstat_metric_def dc = { .name = "appends_total" };
	struct shmstat_metric_def dg = { .name = "step" };
	struct shmstat_metric_def dh = { .name = "lat_ns" };
	shmstat_counter *c;
	shmstat_gauge *g;
	shmstat_hist *hh;
	shmstat_history *h;
	shmstat_reader *r;
	shmstat_seg *seg;

	CHILD_CHECK(shmstat_open(a->seg, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &dc, &c) == 0);
	CHILD_CHECK(shmstat_gauge_register(seg, &dg, SHMSTAT_AGG_LAST, &g) == 0);
	CHILD_CHECK(shmstat_hist_register(seg, &dh, NULL, &hh) == 0);
	for (unsigned k = 0; k < a->big; k++) {
		char nm[32];
		struct shmstat_metric_def d = { .name = nm };
		shmstat_counter *bc;

		snprintf(nm, sizeof(nm), "big_%04u_total", k);
		CHILD_CHECK(shmstat_counter_register(seg, &d, &bc) == 0);
		if (a->start == 0)
			shmstat_counter_add(bc, UINT64_C(1) << 60);
	}
	CHILD_CHECK(shmstat_reader_open(a->seg, &r) == 0);
	/* the file exists (made by the parent); the writer killed before
	 * this one is gone, and its lock with it */
	CHILD_CHECK(shmstat_history_create(a->path, NULL, &h) == 0);
	CHILD_CHECK(shmstat_history_set_segment(h, a->seg) == 0);
	for (uint64_t i = a->start; a->stop == 0 || i < a->stop; i++) {
		shmstat_snap *sn;
		int err;

		shmstat_counter_inc(c);
		shmstat_gauge_set(g, (int64_t)i);
		shmstat_hist_record(hh, (i % 100 + 1) * 1000);
		err = shmstat_snapshot(r, &sn);
		CHILD_CHECK(err == 0);
		if (a->stop == 0) {
			uint64_t pre = i | PRE;

			CHILD_CHECK(stress_write(a->ack, &pre, sizeof(pre)) == 0);
		}
		err = shmstat_history_append(h, sn, T0 + i * S, NULL);
		CHILD_CHECK(err == 0);
		shmstat_snap_free(sn);
		CHILD_CHECK(stress_write(a->ack, &i, sizeof(i)) == 0);
	}
	shmstat_history_close(h);
	shmstat_reader_close(r);
	shmstat_close(seg);
	return 0;
}

/* ------------------------------------------------------------- checking */

/* Frames @f[0..n-1] are steps @first, @first + 1, ... each with its own
 * values; return the last step (first - 1 when n is 0). */
static uint64_t check_frames(shmstat_frame **f, size_t n, uint64_t first, const char *seg)
{
	uint64_t prev_count = 0;

	for (size_t k = 0; k < n; k++) {
		struct shmstat_frame_info fi;
		struct shmstat_series s;
		uint64_t step = first + k;
		long j;

		shmstat_frame_info(f[k], &fi);
		if (fi.time_ns != T0 + step * S)
			fail_msg("frame %zu: time %llu, expected step %llu", k,
				 (unsigned long long)fi.time_ns, (unsigned long long)step);
		assert_int_equal(fi.step_ns, S);
		if (seg)
			assert_string_equal(fi.segment, seg);
		j = shmstat_frame_find(f[k], "step", "");
		assert_true(j >= 0);
		assert_int_equal(shmstat_frame_series(f[k], (size_t)j, &s), 0);
		assert_int_equal(s.has_value, 1);
		assert_int_equal(s.gauge, (int64_t)step);
		j = shmstat_frame_find(f[k], "appends_total", "");
		assert_true(j >= 0);
		assert_int_equal(shmstat_frame_series(f[k], (size_t)j, &s), 0);
		/* one per step, plus one per kill between an increment and its
		 * append */
		assert_true(s.counter >= step + 1);
		assert_true(s.counter > prev_count);
		prev_count = s.counter;
		j = shmstat_frame_find(f[k], "lat_ns", "");
		assert_true(j >= 0);
		{
			shmstat_hdata *hd;
			struct shmstat_hstats st;

			assert_int_equal(shmstat_frame_hist(f[k], (size_t)j, &hd), 0);
			shmstat_hdata_stats(hd, &st);
			assert_true(st.count >= step + 1);
			assert_int_equal(st.max >= 1000, 1);
			shmstat_hdata_free(hd);
		}
	}
	return first + n - 1;
}

/* ---------------------------------------------------------------- kill */

#define ROUNDS 40

/* Is there a torn record after the newest one of @path (its successor,
 * by seq, whose checksum fails), where the writer put it? */
static int torn_after(const char *path)
{
	struct shmstat__hf_tier_stat ts;
	struct shmstat_hf_rec rh;
	shmstat_history *h;
	int fd, torn = 0;
	uint64_t at[2];

	assert_int_equal(shmstat_history_open(path, &h), 0);
	assert_int_equal(shmstat__history_tier_stat(h, 0, &ts), 0);
	shmstat_history_close(h);
	at[0] = ts.newest_off + ts.newest_len;
	at[1] = 0;                          /* when it did not fit at the end */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	for (int k = 0; k < 2; k++)
		if (at[k] + sizeof(rh) <= ts.ring_len &&
		    pread(fd, &rh, sizeof(rh), (off_t)(ts.ring_off + at[k])) == (ssize_t)sizeof(rh) &&
		    rh.magic == SHMSTAT_HF_REC_MAGIC && rh.seq == ts.newest_seq + 1)
			torn = 1;
	close(fd);
	return torn;
}

static void test_kill(void **state)
{
	const char *name = stress_name("hkill");
	char path[512];
	struct shmstat_history_opts o;
	shmstat_history *h;
	uint64_t next = 0, first = 0, rs = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	unsigned extra = 0, torn = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/kill.shmhist", dir);
	{
		struct shmstat_opts so;

		shmstat_opts_init(&so);
		so.max_metrics = 4096;
		so.max_procs = 4;
		so.max_threads = 4;
		stress_create(name, &so);
	}
	shmstat_history_opts_init(&o);
	o.ntiers = 1;
	o.tier[0].step_ns = S;
	o.tier[0].span_ns = 1000000 * S;
	o.max_bytes = 4 << 20;              /* big records wrap the ring */
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	shmstat_history_close(h);
	for (int round = 0; round < ROUNDS; round++) {
		/* the second half: 3,000 more counters past 2^60, records of
		 * about 7 pages, which a SIGKILL can cut in the middle */
		struct wargs a = { name, path, next, 0, -1, round >= ROUNDS / 2 ? 3000 : 0 };
		uint64_t want = 5 + stress_rand(&rs) % (a.big ? 30 : 120), got = 0;
		uint64_t last = next - 1;
		shmstat_frame **f;
		int fds[2], st;
		pid_t pid;
		size_t n;

		stress_pipe(fds);
		a.ack = fds[1];
		pid = stress_spawn(writer, &a);
		close(fds[1]);
		for (;;) {
			uint64_t i;

			if (stress_read(fds[0], &i, sizeof(i)) != sizeof(i))
				fail_msg("writer ended after %llu steps: status %d",
					 (unsigned long long)got, stress_wait(pid));
			/* killed as its append of step want begins: in it,
			 * or just before, or just after */
			if (i == ((next + want) | PRE)) {
				/* a random point of that append: spin a random
				 * while (not a wait for anything) */
				volatile uint64_t spin = stress_rand(&rs) % (1u << 16);

				while (spin)
					spin--;
				break;
			}
			if (i & PRE)
				continue;
			assert_int_equal(i, next + got);
			last = i;
			got++;
		}
		kill(pid, SIGKILL);
		st = stress_wait(pid);
		assert_int_equal(st, 128 + SIGKILL);
		{
			uint64_t i;

			/* steps reported between the last read and the kill */
			while (stress_read(fds[0], &i, sizeof(i)) == sizeof(i))
				if (!(i & PRE))
					last = i;
		}
		close(fds[0]);
		/* everything up to the last step reported (the newest ones
		 * when the ring wrapped), nothing torn */
		torn += (unsigned)torn_after(path);
		assert_int_equal(shmstat_history_open(path, &h), 0);
		assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &n), 0);
		shmstat_history_close(h);
		assert_true(n >= 1);
		{
			struct shmstat_frame_info fi;

			shmstat_frame_info(f[0], &fi);
			assert_true(fi.time_ns >= T0 + first * S);
			first = (fi.time_ns - T0) / S;
		}
		if (a.big == 0)
			assert_int_equal(first, 0);        /* no wrap yet */
		else
			assert_true(n >= 50);
		/* the step in flight when it died is there when its append
		 * had written the record, and left out when it was torn */
		next = check_frames(f, n, first, name) + 1;
		assert_true(next == last + 1 || next == last + 2);
		extra += next == last + 2;
		shmstat_frames_free(f, n);
	}
	print_message("history crash: %d kills, %llu steps; killed after a record was "
		      "written but before it was reported: %u; with a torn record: %u\n",
		      ROUNDS, (unsigned long long)next, extra, torn);
}

/* ------------------------------------------------------------ live read */

#define LIVE_STEPS 3000

static void test_live_reader(void **state)
{
	const char *name = stress_name("hlive");
	char path[512];
	struct shmstat_history_opts o;
	shmstat_history *h, *r;
	uint64_t ranges = 0, frames = 0;
	struct wargs a;
	int fds[2];
	pid_t pid;
	int done = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/live.shmhist", dir);
	stress_create(name, NULL);
	shmstat_history_opts_init(&o);
	o.ntiers = 1;
	o.tier[0].step_ns = S;
	o.tier[0].span_ns = 10 * S;
	o.max_bytes = 32 << 10;             /* a ring of 24 KiB: wraps often */
	assert_int_equal(shmstat_history_create(path, &o, &h), 0);
	shmstat_history_close(h);
	assert_int_equal(shmstat_history_open(path, &r), 0);
	stress_pipe(fds);
	a = (struct wargs){ name, path, 0, LIVE_STEPS, fds[1], 0 };
	pid = stress_spawn(writer, &a);
	close(fds[1]);
	while (!done) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		shmstat_frame **f;
		size_t n;

		/* drain what the writer reported; EOF: it is done */
		while (poll(&pfd, 1, 0) == 1) {
			uint64_t i[64];
			ssize_t k = read(fds[0], i, sizeof(i));

			if (k <= 0) {
				done = 1;
				break;
			}
		}
		assert_int_equal(shmstat_history_range(r, 0, UINT64_MAX, &f, &n), 0);
		if (n) {
			struct shmstat_frame_info fi;

			shmstat_frame_info(f[0], &fi);
			check_frames(f, n, (fi.time_ns - T0) / S, name);
		}
		ranges++;
		frames += n;
		shmstat_frames_free(f, n);
	}
	close(fds[0]);
	assert_int_equal(stress_wait(pid), 0);
	/* at the end: the newest steps */
	{
		shmstat_frame **f;
		size_t n;

		assert_int_equal(shmstat_history_range(r, 0, UINT64_MAX, &f, &n), 0);
		assert_true(n >= 11);
		assert_int_equal(check_frames(f, n, LIVE_STEPS - n, name), LIVE_STEPS - 1);
		shmstat_frames_free(f, n);
	}
	shmstat_history_close(r);
	print_message("history live reader: %llu ranges, %llu frames read while the writer "
		      "wrote %d\n", (unsigned long long)ranges, (unsigned long long)frames,
		      LIVE_STEPS);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_reader, setup, teardown),
	};

	(void)argc;
	(void)argv;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
