/*
 * test_cancel.c - a thread cancelled (pthread_cancel) while it reaps.
 *
 * Reaping (in shmstat_open, shmstat_close and shmstat_gc) holds the
 * segment's reaper lock, and between taking and letting go of it reaches
 * cancellation points: the liveness checks of writer slots open and read
 * /proc/PID/stat. A thread cancelled there left the lock to its process,
 * which lives on: every later reap, of every process, waited 1.1 s for
 * the lock and folded nothing (tests/stress/test_cancel.c: 0 slots reaped
 * where 1 was gone). The library now turns cancellation off while it
 * holds the lock; the cancel takes effect at the thread's next
 * cancellation point after the call.
 *
 * The test hook at the fold's MERGING step stands for such a point: the
 * reaping thread cancels itself there and calls pthread_testcancel().
 * Then a second writer dies, and a shmstat_gc() must fold it at once,
 * with both writers' counts exact.
 *
 * Creating a segment reaches one too (getrandom(), after the object is
 * sized and before its magic is written): a thread cancelled there left
 * the name sized and never initialized, and every later shmstat_open()
 * of it waited 2 s and failed (SHMSTAT_ECORRUPT). shmstat_open(),
 * shmstat_close() and shmstat_gc() now run with cancellation off.
 *
 * So do the registrations, shmstat_remove() and shmstat_quiesce(): a
 * removal holds the process's lock (test_cancelled_remover); and the
 * profiler's start, which holds its lock across open()s and read()s
 * (test_cancelled_profiler). A reader's snapshot, open and close are
 * none either (test_cancelled_snapshot), nor a history file's create,
 * append and close (test_cancelled_history), nor shmstat_profile_gc(),
 * which holds the segment open and mapped across its reads of /proc
 * (test_cancelled_profile_gc), nor a reader's shmstat_snap_profile()
 * (test_cancelled_profile), nor shmstat_history_open()
 * (test_cancelled_history_open), nor the history reads
 * (test_cancelled_history_read).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hook.h"
#include "shmstat_history.h"
#include "shmstat_profile.h"
#include "shmstat_window.h"
#include "stress_common.h"

#define T_HIST UINT64_C(1700000000000000000)
#define SEC_NS UINT64_C(1000000000)

/* set by the reaping thread itself */
static __thread int victim;

/* the point the victim cancels itself at */
static enum shmstat_hook_point cancel_at;

static void cancel_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point == cancel_at && victim) {
		pthread_cancel(pthread_self());
		pthread_testcancel();      /* a cancellation point, mid-fold */
	}
}

/* Run @fn(@arg) in a thread that cancels itself at hook point @at, and
 * see the cancel land (after the call, once the library lets it). */
static void cancelled_in(enum shmstat_hook_point at, void *(*fn)(void *), void *arg)
{
	void *ret = NULL;
	pthread_t t;

	cancel_at = at;
	__atomic_store_n(&shmstat__test_hook, cancel_hook, __ATOMIC_RELEASE);
	assert_int_equal(pthread_create(&t, NULL, fn, arg), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	assert_ptr_equal(ret, PTHREAD_CANCELED);
}

struct dier {
	const char *name;
	uint64_t n;
};

/* A writer that counts @n and exits without shmstat_close(). */
static int dier_main(void *arg)
{
	const struct dier *d = arg;
	const struct shmstat_metric_def def = { .name = "cancel_total" };
	shmstat_counter *c;
	shmstat_seg *seg;

	CHILD_CHECK(shmstat_open(d->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &def, &c) == 0);
	shmstat_counter_add(c, d->n);
	return 0;
}

static void *reaper(void *arg)
{
	unsigned reaped = 0;

	victim = 1;
	shmstat_gc(arg, &reaped);
	pthread_testcancel();              /* where the cancel lands now */
	return NULL;
}

static void test_cancelled_reaper(void **state)
{
	const char *name = stress_name("cancel");
	struct dier d1 = { .n = 1000 }, d2 = { .n = 10 };
	struct shmstat_seg_info info;
	unsigned reaped = 99;
	shmstat_snap *s;

	(void)state;
	d1.name = d2.name = name;
	stress_create(name, NULL);
	assert_int_equal(stress_wait(stress_spawn(dier_main, &d1)), 0);

	cancelled_in(SHMSTAT_HOOK_FOLD_MERGING, reaper, (void *)name);

	assert_int_equal(stress_wait(stress_spawn(dier_main, &d2)), 0);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	if (reaped != 1)
		fail_msg("after a thread was cancelled while reaping, shmstat_gc() reaped "
			 "%u slots, not the 1 gone (the reaper lock was left held)", reaped);
	s = stress_snap(name);
	assert_int_equal(stress_counter(s, "cancel_total", ""), 1010);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_dead, 0);
	shmstat_snap_free(s);
}

static void *creator(void *arg)
{
	shmstat_seg *seg = NULL;

	victim = 1;
	if (shmstat_open(arg, NULL, &seg) == 0)
		shmstat_close(seg);
	pthread_testcancel();
	return NULL;
}

/* A thread cancelled while shmstat_open() creates the segment: the
 * creation is finished (getrandom(), a cancellation point, comes after
 * the object is sized and before its magic is written). It was left
 * sized, magic 0: every later shmstat_open() of the name waited 2 s and
 * failed with SHMSTAT_ECORRUPT ("was never initialized"). */
static void test_cancelled_creator(void **state)
{
	const char *name = stress_name("cancel");
	const struct shmstat_metric_def def = { .name = "cancel_total" };
	shmstat_counter *c;
	shmstat_seg *seg = NULL;
	shmstat_snap *s;
	int err;

	(void)state;
	cancelled_in(SHMSTAT_HOOK_CREATE_SIZED, creator, (void *)name);

	err = shmstat_open(name, NULL, &seg);
	if (err != 0)
		fail_msg("after a thread was cancelled while creating it, segment '%s' "
			 "cannot be opened: %s (%s)", name, shmstat_strerror(err),
			 shmstat_last_error());
	assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
	shmstat_counter_add(c, 7);
	assert_int_equal(shmstat_close(seg), 0);
	s = stress_snap(name);
	assert_int_equal(stress_counter(s, "cancel_total", ""), 7);
	shmstat_snap_free(s);
}

static int remover_done;

static void *remover(void *arg)
{
	const struct shmstat_metric_def def = { .name = "cancel_total" };

	victim = 1;
	if (shmstat_remove(arg, &def) == 0)
		__atomic_store_n(&remover_done, 1, __ATOMIC_RELEASE);
	pthread_testcancel();
	return NULL;
}

/* A thread cancelled while shmstat_remove() holds the process's lock
 * (the hook stands for a cancellation point there): the removal is
 * finished, and the lock free for the thread's own exit and for the
 * others (without the fix the removal never returned, and the thread's
 * exit waited for the lock it held: the join hung). */
static void test_cancelled_remover(void **state)
{
	const char *name = stress_name("cancel");
	const struct shmstat_metric_def def = { .name = "cancel_total" };
	shmstat_counter *c, *n;
	shmstat_seg *seg = NULL;

	(void)state;
	stress_create(name, NULL);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
	shmstat_counter_add(c, 5);
	cancelled_in(SHMSTAT_HOOK_REMOVE_MATCHED, remover, seg);
	assert_int_equal(__atomic_load_n(&remover_done, __ATOMIC_ACQUIRE), 1);
	/* the lock is free: this thread quiesces, registers and counts */
	assert_int_equal(shmstat_quiesce(seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &def, &n), 0);
	shmstat_counter_add(n, 7);
	assert_int_equal(shmstat_close(seg), 0);
}

static int prof_started;

static void *prof_starter(void *arg)
{
	victim = 1;
	if (shmstat_profiler_start(arg, 100) == 0)
		__atomic_store_n(&prof_started, 1, __ATOMIC_RELEASE);
	pthread_testcancel();
	return NULL;
}

/* A thread cancelled while shmstat_profiler_start() holds the
 * profiler's lock (the hook at its publication of the modules stands
 * for the open()s and read()s there): the start is finished, and the
 * lock free. Without the fix the start never returned, and every later
 * call of the profiler, shmstat_close() too, waited for the lock
 * forever. */
static void test_cancelled_profiler(void **state)
{
	const char *name = stress_name("cancel");
	const struct shmstat_metric_def def = { .name = "cancel_total" };
	struct shmstat_profiler_info info;
	shmstat_counter *c;
	shmstat_seg *seg = NULL;
	shmstat_snap *s;

	(void)state;
	stress_create(name, NULL);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	cancelled_in(SHMSTAT_HOOK_PROF_PUBLISH, prof_starter, seg);
	if (!__atomic_load_n(&prof_started, __ATOMIC_ACQUIRE))
		fail_msg("a thread cancelled in shmstat_profiler_start() did not finish it "
			 "(the profiler's lock was left held)");
	/* the lock is free: this thread reads, stops, counts and closes */
	assert_int_equal(shmstat_profiler_info(&info), 0);
	assert_int_equal(info.running, 1);
	assert_int_equal(shmstat_profiler_stop(seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
	shmstat_counter_add(c, 9);
	assert_int_equal(shmstat_close(seg), 0);
	s = stress_snap(name);
	assert_int_equal(stress_counter(s, "cancel_total", ""), 9);
	shmstat_snap_free(s);
}

static shmstat_snap *snap_taken;

static void *snapper(void *arg)
{
	shmstat_snap *s = NULL;

	victim = 1;
	if (shmstat_snapshot(arg, &s) == 0)
		__atomic_store_n(&snap_taken, s, __ATOMIC_RELEASE);
	pthread_testcancel();
	return NULL;
}

/* A reader thread cancelled in shmstat_snapshot() (the hook between the
 * copy's passes stands for its pread()s): the snapshot is finished and
 * exact, and the reader's spare buffer given back. Without the fix the
 * thread left the copy's buffer mapped and the spare referenced, for
 * good: 100 such cancels held 231 MB more resident, 2.2 GB more mapped
 * (repro/cancel_snap.c of the session). */
static void test_cancelled_snapshot(void **state)
{
	const char *name = stress_name("cancel");
	const struct shmstat_metric_def def = { .name = "cancel_total" };
	shmstat_counter *c;
	shmstat_seg *seg = NULL;
	shmstat_reader *r = NULL;
	shmstat_snap *s;

	(void)state;
	stress_create(name, NULL);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
	shmstat_counter_add(c, 11);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	cancelled_in(SHMSTAT_HOOK_COPY_STRIPES, snapper, r);
	s = __atomic_load_n(&snap_taken, __ATOMIC_ACQUIRE);
	if (s == NULL)
		fail_msg("a thread cancelled in shmstat_snapshot() did not finish it "
			 "(its copy's buffer was left mapped)");
	assert_int_equal(stress_counter(s, "cancel_total", ""), 11);
	shmstat_snap_free(s);
	/* the spare buffer is back: the next snapshot of this reader */
	shmstat_counter_add(c, 2);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	assert_int_equal(stress_counter(s, "cancel_total", ""), 13);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_close(seg), 0);
}

struct hist_arg {
	shmstat_history *h;
	shmstat_snap *s;
};

static int hist_done;

static void *hist_appender(void *arg)
{
	const struct hist_arg *a = arg;

	victim = 1;
	if (shmstat_history_append(a->h, a->s, UINT64_C(1700000001000000000), NULL) == 0)
		__atomic_store_n(&hist_done, 1, __ATOMIC_RELEASE);
	pthread_testcancel();
	return NULL;
}

/* A thread cancelled in shmstat_history_append() as it writes the
 * dictionary entry of a new series (the hook stands for its pwrite()):
 * the append is finished, and the series read back from the file.
 * Without the fix the entry stayed in the writer's dictionary and not
 * in the file, and the next entry took its place under another index:
 * the records after it named series no reader found (up to 760 of 1,000
 * series missing from the last record, repro/cancel_hist.c of the
 * session). */
static void test_cancelled_history(void **state)
{
	const char *name = stress_name("cancel");
	const struct shmstat_metric_def da = { .name = "a_total" }, db = { .name = "b_total" };
	const char *tmp = getenv("TMPDIR");
	struct hist_arg a = { NULL, NULL };
	struct shmstat_series se;
	shmstat_counter *c;
	shmstat_seg *seg = NULL;
	shmstat_reader *r = NULL;
	shmstat_history *ro;
	shmstat_frame **f;
	shmstat_snap *s1;
	char path[512];
	size_t nf;
	long k;

	(void)state;
	snprintf(path, sizeof(path), "%s/%s.shmhist", tmp && *tmp ? tmp : "/tmp", name);
	stress_create(name, NULL);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &da, &c), 0);
	shmstat_counter_add(c, 3);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_snapshot(r, &s1), 0);
	assert_int_equal(shmstat_history_create(path, NULL, &a.h), 0);
	assert_int_equal(shmstat_history_append(a.h, s1, UINT64_C(1700000000000000000), NULL), 0);
	assert_int_equal(shmstat_counter_register(seg, &db, &c), 0);
	shmstat_counter_add(c, 5);
	assert_int_equal(shmstat_snapshot(r, &a.s), 0);

	cancelled_in(SHMSTAT_HOOK_HIST_DICT, hist_appender, &a);
	if (!__atomic_load_n(&hist_done, __ATOMIC_ACQUIRE)) {
		unlink(path);
		fail_msg("a thread cancelled in shmstat_history_append() did not finish it "
			 "(a dictionary entry kept in memory, not in the file)");
	}
	assert_int_equal(shmstat_history_append(a.h, a.s, UINT64_C(1700000002000000000), NULL), 0);
	shmstat_history_close(a.h);

	assert_int_equal(shmstat_history_open(path, &ro), 0);
	assert_int_equal(shmstat_history_range(ro, 0, UINT64_MAX, &f, &nf), 0);
	assert_int_equal(nf, 3);
	k = shmstat_frame_find(f[nf - 1], "b_total", "");
	assert_true(k >= 0);
	assert_int_equal(shmstat_frame_series(f[nf - 1], (size_t)k, &se), 0);
	assert_int_equal(se.counter, 5);
	k = shmstat_frame_find(f[nf - 1], "a_total", "");
	assert_true(k >= 0);
	assert_int_equal(shmstat_frame_series(f[nf - 1], (size_t)k, &se), 0);
	assert_int_equal(se.counter, 3);
	shmstat_frames_free(f, nf);
	shmstat_history_close(ro);
	unlink(path);
	shmstat_snap_free(s1);
	shmstat_snap_free(a.s);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_close(seg), 0);
}

/* A writer that publishes its module records (the profiler's table)
 * and exits: records of a process that is gone, for shmstat_profile_gc(). */
static int publisher_main(void *arg)
{
	shmstat_seg *seg;

	CHILD_CHECK(shmstat_open(arg, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_profiler_modules(seg) == 0);
	return 0;
}

static uint64_t prof_gc_mods = UINT64_MAX;

static void *prof_gcer(void *arg)
{
	uint64_t mods = 0;

	victim = 1;
	if (shmstat_profile_gc(arg, NULL, &mods) == 0)
		__atomic_store_n(&prof_gc_mods, mods, __ATOMIC_RELEASE);
	pthread_testcancel();
	return NULL;
}

/* Descriptors open in this process, and mappings of the object @name. */
static void own_resources(const char *name, int *fds, int *maps)
{
	char line[4096], obj[300];
	FILE *f;
	DIR *d;

	*fds = 0;
	*maps = 0;
	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d) != NULL)
		++*fds;
	closedir(d);
	snprintf(obj, sizeof(obj), "/shmstat.%s", name);
	f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, obj) != NULL)
			++*maps;
	fclose(f);
}

/* A thread cancelled in shmstat_profile_gc() as it reads in /proc whether
 * the writer of a module record runs (the hook stands for that read):
 * the collection is finished, the gone writer's records freed, and the
 * segment closed and unmapped. Without the fix the thread left the
 * object's descriptor open and the whole segment mapped for the life of
 * the process (so a removed segment's memory stayed allocated), and the
 * records it had not reached not freed. */
static void test_cancelled_profile_gc(void **state)
{
	const char *name = stress_name("cancel");
	struct shmstat_seg_info info;
	int fds0, maps0, fds1, maps1;
	uint64_t mods;
	shmstat_snap *s;

	(void)state;
	stress_create(name, NULL);
	assert_int_equal(stress_wait(stress_spawn(publisher_main, (void *)name)), 0);
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	shmstat_snap_free(s);
	assert_true(info.profile_modules > 0);
	own_resources(name, &fds0, &maps0);

	cancelled_in(SHMSTAT_HOOK_PROF_RECLAIM, prof_gcer, (void *)name);

	own_resources(name, &fds1, &maps1);
	mods = __atomic_load_n(&prof_gc_mods, __ATOMIC_ACQUIRE);
	if (mods == UINT64_MAX || fds1 != fds0 || maps1 != maps0)
		fail_msg("a thread cancelled in shmstat_profile_gc() did not finish it: "
			 "%d descriptors open before, %d after; %d mappings of the segment "
			 "before, %d after", fds0, fds1, maps0, maps1);
	assert_int_equal(mods, info.profile_modules);
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	shmstat_snap_free(s);
	assert_int_equal(info.profile_modules, 0);
}

struct prof_arg {
	shmstat_reader *r;
	shmstat_snap *s;
};

static shmstat_profile *profile_taken;

static void *profiler_reader(void *arg)
{
	const struct prof_arg *a = arg;
	shmstat_profile *p = NULL;

	victim = 1;
	if (shmstat_snap_profile(a->r, a->s, &p) == 0)
		__atomic_store_n(&profile_taken, p, __ATOMIC_RELEASE);
	pthread_testcancel();
	return NULL;
}

/* A reader thread cancelled in shmstat_snap_profile() between its reads
 * of the stack table and of the module records (the hook stands for their
 * pread()s): the profile is finished and whole. Without the fix the
 * thread left the copy of the stack table mapped (2 MiB with the default
 * 4,096 entries) for the life of the process, at every such cancel. */
static void test_cancelled_profile(void **state)
{
	const char *name = stress_name("cancel");
	struct shmstat_profile_stats st;
	struct prof_arg a = { NULL, NULL };
	struct shmstat_seg_info info;
	shmstat_profile *p;

	(void)state;
	stress_create(name, NULL);
	assert_int_equal(stress_wait(stress_spawn(publisher_main, (void *)name)), 0);
	assert_int_equal(shmstat_reader_open(name, &a.r), 0);
	assert_int_equal(shmstat_snapshot(a.r, &a.s), 0);
	shmstat_snap_info(a.s, &info);
	assert_true(info.profile_modules > 0);

	cancelled_in(SHMSTAT_HOOK_PROFILE_READ, profiler_reader, &a);
	p = __atomic_load_n(&profile_taken, __ATOMIC_ACQUIRE);
	if (p == NULL)
		fail_msg("a thread cancelled in shmstat_snap_profile() did not finish it "
			 "(its copy of the stack table was left mapped)");
	shmstat_profile_stats(p, &st);
	assert_int_equal(st.capacity, info.max_stacks);
	assert_int_equal(st.modules_used, info.profile_modules);
	shmstat_profile_free(p);
	shmstat_snap_free(a.s);
	shmstat_reader_close(a.r);
}

/* A history file at @path (512 bytes) of segment @name's counter
 * a_total: @records records a second apart from T_HIST, the counter 5
 * more at each. */
static void write_history(const char *name, char *path, unsigned records)
{
	const struct shmstat_metric_def def = { .name = "a_total" };
	const char *tmp = getenv("TMPDIR");
	shmstat_history *w;
	shmstat_counter *c;
	shmstat_seg *seg = NULL;
	shmstat_reader *r = NULL;

	snprintf(path, 512, "%s/%s.shmhist", tmp && *tmp ? tmp : "/tmp", name);
	stress_create(name, NULL);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &def, &c), 0);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	assert_int_equal(shmstat_history_create(path, NULL, &w), 0);
	for (unsigned i = 0; i < records; i++) {
		shmstat_snap *s;

		shmstat_counter_add(c, 5);
		assert_int_equal(shmstat_snapshot(r, &s), 0);
		assert_int_equal(shmstat_history_append(w, s, T_HIST + i * SEC_NS, NULL), 0);
		shmstat_snap_free(s);
	}
	shmstat_history_close(w);
	shmstat_reader_close(r);
	assert_int_equal(shmstat_close(seg), 0);
}

static shmstat_history *hist_opened;

static void *hist_opener(void *arg)
{
	shmstat_history *h = NULL;

	victim = 1;
	if (shmstat_history_open(arg, &h) == 0)
		__atomic_store_n(&hist_opened, h, __ATOMIC_RELEASE);
	pthread_testcancel();
	return NULL;
}

/* A thread cancelled in shmstat_history_open() as it reads the file's
 * names (the hook stands for those pread()s): the file is opened, and
 * nothing is left behind. Without the fix the thread left the file's
 * descriptor open for the life of the process, and its memory. */
static void test_cancelled_history_open(void **state)
{
	const char *name = stress_name("cancel");
	shmstat_history *h;
	shmstat_frame **f;
	int fds0, fds1, maps;
	char path[512];
	size_t nf;

	(void)state;
	write_history(name, path, 1);
	own_resources(name, &fds0, &maps);

	cancelled_in(SHMSTAT_HOOK_HIST_OPENED, hist_opener, path);
	h = __atomic_load_n(&hist_opened, __ATOMIC_ACQUIRE);
	own_resources(name, &fds1, &maps);
	if (h == NULL) {
		unlink(path);
		fail_msg("a thread cancelled in shmstat_history_open() did not finish it "
			 "(%d descriptors open before, %d after)", fds0, fds1);
	}
	assert_int_equal(fds1, fds0 + 1);      /* the history's own */
	assert_int_equal(shmstat_history_range(h, 0, UINT64_MAX, &f, &nf), 0);
	assert_int_equal(nf, 1);
	shmstat_frames_free(f, nf);
	shmstat_history_close(h);
	own_resources(name, &fds1, &maps);
	assert_int_equal(fds1, fds0);
	unlink(path);
}

/* The history reads a thread is cancelled in, at the first record its
 * scan of a ring finds (the pread()s of the next to come) */
enum hist_read { READ_RANGE, READ_WINDOW_RANGE, READ_SELECT, READ_EACH, READ_WINDOWS,
		 READ_TREND, READ_CALLS };

static const char *const read_names[READ_CALLS] = {
	"shmstat_history_range", "shmstat_history_window_range",
	"shmstat_history_window_select", "shmstat_history_each",
	"shmstat_history_windows", "shmstat_history_trend",
};

struct hist_reading {
	shmstat_history *h;
	enum hist_read call;
	size_t frames;             /* frames the call gave */
	double value;              /* a window's value, or the trend's mean */
	int done;                  /* the call returned 0 */
};

static int keep_any(void *arg, const char *name, const char *labels, enum shmstat_type type)
{
	(void)arg;
	(void)name;
	(void)labels;
	(void)type;
	return 1;
}

static int count_frame(void *arg, const shmstat_frame *f)
{
	(void)f;
	((struct hist_reading *)arg)->frames++;
	return 0;
}

static void *hist_reader(void *arg)
{
	struct hist_reading *a = arg;
	const struct shmstat_wquery qy = { .name = "a_total", .fig = SHMSTAT_FIG_INCREASE };
	const struct shmstat_wrange q = { qy, T_HIST, T_HIST + 3 * SEC_NS };
	struct shmstat_wvalue v;
	struct shmstat_trend tr;
	shmstat_frame **f = NULL;
	int err = EINVAL;

	victim = 1;
	switch (a->call) {
	case READ_RANGE:
		err = shmstat_history_range(a->h, 0, UINT64_MAX, &f, &a->frames);
		break;
	case READ_WINDOW_RANGE:
		err = shmstat_history_window_range(a->h, 0, UINT64_MAX, &f, &a->frames);
		break;
	case READ_SELECT:
		err = shmstat_history_window_select(a->h, 0, UINT64_MAX, keep_any, NULL, &f,
						    &a->frames);
		break;
	case READ_EACH:
		err = shmstat_history_each(a->h, 0, UINT64_MAX, count_frame, a);
		break;
	case READ_WINDOWS:
		err = shmstat_history_windows(a->h, 0, UINT64_MAX, NULL, NULL, &q, 1, &v, NULL);
		a->value = v.value;
		break;
	case READ_TREND:
		err = shmstat_history_trend(a->h, NULL, NULL, &qy, T_HIST, T_HIST + 3 * SEC_NS,
					    SEC_NS, &tr, NULL, NULL);
		a->value = tr.mean;
		break;
	case READ_CALLS:
		break;
	}
	if (f != NULL)
		shmstat_frames_free(f, a->frames);
	__atomic_store_n(&a->done, err == 0, __ATOMIC_RELEASE);
	pthread_testcancel();
	return NULL;
}

/* A thread cancelled in a history read, as it scans the file's records
 * (the hook stands for their pread()s): the read is finished and its
 * answer right. Without the fix every one of them stopped there and left
 * what it had read (the rings' lists, the frames so far) allocated. */
static void test_cancelled_history_read(void **state)
{
	const char *name = stress_name("cancel");
	shmstat_history *h;
	char path[512];

	(void)state;
	write_history(name, path, 4);
	assert_int_equal(shmstat_history_open(path, &h), 0);

	for (int k = 0; k < READ_CALLS; k++) {
		struct hist_reading a = { .h = h, .call = (enum hist_read)k };

		cancelled_in(SHMSTAT_HOOK_HIST_SCANNED, hist_reader, &a);
		if (!__atomic_load_n(&a.done, __ATOMIC_ACQUIRE))
			fail_msg("a thread cancelled in %s() did not finish it", read_names[k]);
		if (k <= READ_EACH)
			assert_int_equal(a.frames, 4);
		else if (k == READ_WINDOWS)
			assert_true(a.value == 15.0);      /* 20 - 5 over the 3 s */
		else
			assert_true(a.value == 5.0);       /* 5 in each 1 s step */
	}
	shmstat_history_close(h);
	unlink(path);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cancelled_reaper, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_creator, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_remover, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_profiler, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_snapshot, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_history, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_profile_gc, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_profile, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_history_open, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_history_read, stress_setup,
						stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
