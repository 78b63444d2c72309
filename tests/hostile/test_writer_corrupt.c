/*
 * test_writer_corrupt.c - writers on a segment another process of their
 * uid rewrote. The host process comes first: a writer that attaches,
 * registers, counts and leaves must neither crash nor hang, whatever the
 * segment's tables hold (the values may be wrong; readers say what they
 * can trust).
 *
 *  - a free summary of a signature table's pool whose index has no free
 *    slot (every slot another key's tag): the thread that claimed it
 *    looped for ever on its first event;
 *  - an index slot with the key's tag and entry 0xfffff (capacity 16):
 *    the thread read 64 MiB past the summary (SIGSEGV);
 *  - a summary whose header says 2^32 - 1 lists by count, with an entry
 *    of 10^8 events at their head: list_push() wrote heads[10^8]
 *    (SIGSEGV); the same lists with no entry: the walk for the minimum
 *    went on for over a minute;
 *  - every owner slot of a table CLAIMED by a process that runs and
 *    never fills it: shmstat_sig_owner() yielded 100,000 times on each
 *    slot (the claimer's /proc files read at each yield);
 *  - every writer slot LIVE with the tag of a running process that holds
 *    the reaper lock and moves fold_state: an open, and a fork() of an
 *    attached writer, waited for it for ever;
 *  - a descriptor rewritten between a registration's checks and the
 *    handle made from it (a test hook there): the handle read the table's
 *    run and the metric's first value slot again, unchecked.
 *
 * And a reader of a table whose every entry another writer made odd
 * (being given a key, for ever): it yielded 4 times an entry before it
 * left the entry out, 8,192 yields for a default table of 2,048 keys (35 s
 * for 'shmstat top' with a busy process on its CPU); now at most 64 a
 * copy (SIG_TORN_WAITS), the entries left out as before.
 *
 * Each writer runs in a child given 10 s ("does not hang": the faults
 * were a hang without end, or over a minute); it counts N hits and N
 * misses of N keys, and the table's exact totals must say so.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ut_common.h"
#include "layout.h"
#include "procs.h"
#include "siggeo.h"
#include "hook.h"

#define HANG_MS 10000
#define EVENTS 200
#define GOLDEN UINT64_C(0x9E3779B97F4A7C15)

static const struct shmstat_metric_def table_def = { .name = "t" };

static void table_opts(struct shmstat_sigtab_opts *so)
{
	shmstat_sigtab_opts_init(so);
	so->capacity = 16;
	so->key_bytes = 16;
	so->owners = 4;
	so->summaries = 3;
}

/* A segment with table "t", no writer attached. */
static void make_segment(const char *name)
{
	struct shmstat_sigtab_opts so;
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;
	shmstat_sigtab *t;

	ut_small_opts(&o);
	table_opts(&so);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &table_def, &so, &t), 0);
	assert_int_equal(shmstat_close(seg), 0);
}

/* What another writer of the uid can reach: summary @k of table "t" (0
 * and 1 its graves, 2 the first of its pool), mapped read-write (unmap
 * with munmap(v->base, v->size)). */
struct victim {
	unsigned char *base;
	size_t size;
	struct shmstat_sigsum *hdr;
	uint32_t *slots, *heads;
	struct shmstat_sigent *ents;
	struct shmstat_sigowner *owners;        /* the table's owner slots */
	uint32_t nowners;
	struct shmstat_sumgeo g;
};

static void map_summary(const char *name, uint32_t k, struct victim *v)
{
	const struct shmstat_desc *d = NULL, *descs;
	const struct shmstat_hdr *h;
	unsigned char *run, *s;
	char path[300];
	struct stat st;
	int fd;

	ut_path(name, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	v->size = (size_t)st.st_size;
	v->base = mmap(NULL, v->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(v->base != MAP_FAILED);
	close(fd);
	h = (const struct shmstat_hdr *)(const void *)v->base;
	descs = (const struct shmstat_desc *)(const void *)(v->base +
							    h->regions[SHMSTAT_REG_DESCS].off);
	for (uint32_t i = 0; i < h->max_metrics; i++)
		if (SHMSTAT_DESC_STATE(descs[i].word) == SHMSTAT_DESC_LIVE &&
		    strcmp(descs[i].name, "t") == 0)
			d = &descs[i];
	assert_non_null(d);
	shmstat__sumgeo(&v->g, d->sig_capacity, d->sig_keybytes);
	run = v->base + h->regions[SHMSTAT_REG_SIGS].off + (size_t)d->sig_first * SHMSTAT_LINE;
	v->owners = (struct shmstat_sigowner *)(void *)(run + shmstat__sig_claim_lines(d->sig_pool) *
								     SHMSTAT_LINE);
	v->nowners = d->sig_owners;
	s = run + (shmstat__sig_claim_lines(d->sig_pool) + shmstat__sig_owner_lines(d->sig_owners)) *
		  SHMSTAT_LINE + (uint64_t)k * v->g.bytes;
	v->hdr = (struct shmstat_sigsum *)(void *)s;
	v->slots = (uint32_t *)(void *)(s + sizeof(struct shmstat_sigsum));
	v->ents = (struct shmstat_sigent *)(void *)(s + v->g.off_ents);
	v->heads = (uint32_t *)(void *)(s + v->g.off_heads);
}

/* The index slot tag of a key (sigtable.c, slot_tag()). */
static uint32_t tag_of(const char *key)
{
	const uint64_t x = shmstat_sig_hash(key, strlen(key)) * GOLDEN;

	return ((uint32_t)(x >> 20) & 0xfffu) << 20 | 1u << 20;
}

static const char *seg_name;

/* The writer: attach, register, count EVENTS hits and misses of
 * EVENTS / 5 keys (the summary holds 16: evictions too), leave, gc. */
static int writer(void)
{
	struct shmstat_sigtab_opts so;
	shmstat_seg *seg = NULL;
	shmstat_sigtab *t;

	table_opts(&so);
	if (shmstat_open(seg_name, NULL, &seg) != 0 ||
	    shmstat_sigtab_register(seg, &table_def, &so, &t) != 0)
		return 2;
	for (int i = 0; i < EVENTS; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k%d", i % (EVENTS / 5));
		shmstat_sig_hit(t, key, strlen(key), 1, 0);
		shmstat_sig_miss(t, key, strlen(key), 0);
	}
	shmstat_close(seg);
	return shmstat_gc(seg_name, NULL) == 0 ? 0 : 3;
}

/* Run @fn in a child: its exit status, 128 + a signal, or -1 when it
 * had not ended after HANG_MS (killed: a hang). */
static int run_child(int (*fn)(void))
{
	int p[2], st;
	struct pollfd pfd;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* a crash ends the child (cmocka's handlers would go on with
		 * the next tests in it) */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		close(p[0]);
		_exit(fn());
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, HANG_MS) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		close(p[0]);
		return -1;
	}
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static int run_writer(void)
{
	return run_child(writer);
}

/* The writer ends well, and the exact totals hold its events. */
static void writer_survives(const char *name)
{
	struct shmstat_metric_info mi;
	struct shmstat_sigstats ss;
	shmstat_sigview *view = NULL;
	shmstat_snap *s;
	int i;

	seg_name = name;
	assert_int_equal(run_writer(), 0);
	s = ut_snap(name);
	i = ut_find(s, "t", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(shmstat_snap_sigtab(s, (size_t)i, &view), 0);
	shmstat_sigview_stats(view, &ss);
	assert_int_equal(ss.hits, EVENTS);
	assert_int_equal(ss.misses, EVENTS);
	shmstat_sigview_free(view);
	shmstat_snap_free(s);
}

/* ------------------------------------------------------------------ tests */

static void test_index_full(void **state)
{
	const char *name = ut_name("wc-full");
	struct victim v;

	(void)state;
	make_segment(name);
	map_summary(name, SHMSTAT_SIG_GRAVES, &v);
	/* every slot another tag than k0's: no free slot to end a probe */
	for (uint32_t k = 0; k < v.g.nslots; k++)
		v.slots[k] = (tag_of("k0") ^ (1u << 21)) | 0;
	munmap(v.base, v.size);
	writer_survives(name);
}

static void test_index_entry_out(void **state)
{
	const char *name = ut_name("wc-entry");
	struct victim v;

	(void)state;
	make_segment(name);
	map_summary(name, SHMSTAT_SIG_GRAVES, &v);
	for (uint32_t k = 0; k < v.g.nslots; k++)
		v.slots[k] = tag_of("k0") | 0xfffffu;
	munmap(v.base, v.size);
	writer_survives(name);
}

/* A full summary whose header says 2^32 - 1 lists by count, and
 * @with_entry: an entry of 10^8 events at the head of the first */
static void lists(int with_entry)
{
	const char *name = ut_name("wc-lists");
	struct victim v;

	make_segment(name);
	map_summary(name, SHMSTAT_SIG_GRAVES, &v);
	/* full, so the first new key looks for the minimum */
	v.hdr->used = v.g.capacity;
	v.hdr->level = 0;
	v.hdr->lists = UINT32_MAX;
	if (with_entry) {
		v.heads[0] = 1;
		v.ents[0].hits = 100000000;
	}
	munmap(v.base, v.size);
	writer_survives(name);
}

static void test_lists_walk(void **state)
{
	(void)state;
	lists(0);
}

static void test_lists_heads(void **state)
{
	(void)state;
	lists(1);
}

/* ---------------------------------------------------------------- readers */

/* The yields of this process while counting is on: the library's calls
 * come here (it is linked into this program). */
static unsigned yields;
static bool counting;

int sched_yield(void)
{
	if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
		__atomic_fetch_add(&yields, 1, __ATOMIC_RELAXED);
	return (int)syscall(SYS_sched_yield);
}

static void test_reader_odd_gens(void **state)
{
	const char *name = ut_name("wc-odd");
	struct shmstat_metric_info mi;
	struct shmstat_sigtab_opts so;
	struct shmstat_sigstats ss;
	shmstat_sigview *view = NULL;
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;
	shmstat_sigtab *t;
	shmstat_snap *s;
	struct victim v;
	int i;

	(void)state;
	ut_small_opts(&o);
	table_opts(&so);
	so.capacity = 256;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &table_def, &so, &t), 0);
	for (int k = 0; k < 256; k++) {
		char key[16];

		snprintf(key, sizeof(key), "k%d", k);
		shmstat_sig_hit(t, key, strlen(key), 1, 0);
	}
	assert_int_equal(shmstat_close(seg), 0);      /* into the grave */
	/* the grave in use is summary 0 or 1: both, every entry odd */
	map_summary(name, 0, &v);
	for (uint32_t g = 0; g < 2; g++) {
		struct shmstat_sigsum *h = (struct shmstat_sigsum *)(void *)
					   ((unsigned char *)v.hdr + g * v.g.bytes);
		struct shmstat_sigent *e = (struct shmstat_sigent *)(void *)
					   ((unsigned char *)h + v.g.off_ents);

		for (uint64_t j = 0; j < h->used && j < v.g.capacity; j++)
			e[j].gen |= 1u;
	}
	munmap(v.base, v.size);
	yields = 0;
	counting = true;
	s = ut_snap(name);
	counting = false;
	/* 4 an entry before: 1,024 */
	assert_in_range(yields, 0, 64);
	i = ut_find(s, "t", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(shmstat_snap_sigtab(s, (size_t)i, &view), 0);
	shmstat_sigview_stats(view, &ss);
	assert_int_equal(ss.hits, 256);
	assert_int_equal(ss.skipped, 256);
	assert_int_equal(shmstat_sigview_entries(view), 0);
	shmstat_sigview_free(view);
	shmstat_snap_free(s);
}

/* ------------------------------------------------------------ owner slots */

/* The writer: one shmstat_sig_owner() of a new name. 0 when it says the
 * table has no free slot and yielded at most 10,000 times (sigowner.c),
 * 4 for another answer, 5 when it yielded more. */
static int owner_writer(void)
{
	struct shmstat_sigtab_opts so;
	shmstat_seg *seg = NULL;
	shmstat_sigtab *t;
	uint32_t id = 7;
	int err;

	table_opts(&so);
	if (shmstat_open(seg_name, NULL, &seg) != 0 ||
	    shmstat_sigtab_register(seg, &table_def, &so, &t) != 0)
		return 2;
	yields = 0;
	counting = true;
	err = shmstat_sig_owner(t, "o", &id);
	counting = false;
	shmstat_close(seg);
	if (err != SHMSTAT_EFULL || id != 0)
		return 4;
	return yields <= 10000 ? 0 : 5;
}

/* Every owner slot CLAIMED by a process that runs (this one) and never
 * fills it: a shmstat_sig_owner() yielded 100,000 times on each slot and
 * read the claimer's /proc files at every yield (this table's 4 slots:
 * 8.8 s under ASan on a loaded machine; one slot took 38 s in another
 * program); now 10,000 yields a call for all the slots together, then
 * EFULL. */
static void test_owners_claimed(void **state)
{
	const char *name = ut_name("wc-owners");
	const uint64_t claim = 1 | shmstat__self_tag();
	struct victim v;

	(void)state;
	make_segment(name);
	map_summary(name, SHMSTAT_SIG_GRAVES, &v);
	assert_int_equal(v.nowners, 4);
	for (uint32_t o = 0; o < v.nowners; o++)
		v.owners[o].word = claim;
	munmap(v.base, v.size);
	seg_name = name;
	assert_int_equal(run_child(owner_writer), 0);
}

/* ------------------------------------------------------- process slots */

/* A process of the uid (a child of the test) that takes every FREE
 * writer slot of @name, LIVE with its own tag, once @want slots are LIVE,
 * holds the reaper lock and moves fold_state every 500 us, as a reaper
 * folding would, until it is killed. Never returns. */
static void slot_squatter(const char *name, uint32_t want)
{
	char path[300];
	struct shmstat_hdr *h;
	struct shmstat_proc *p;
	unsigned char *base;
	struct stat st;
	uint64_t tag;
	int fd;

	ut_path(name, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0)
		_exit(2);
	base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		_exit(2);
	h = (struct shmstat_hdr *)(void *)base;
	p = (struct shmstat_proc *)(void *)(base + h->regions[SHMSTAT_REG_PROCS].off);
	tag = shmstat__self_tag();
	for (;;) {
		uint32_t live = 0;

		for (uint32_t i = 0; i < h->max_procs; i++)
			live += SHMSTAT_PROC_STATE(__atomic_load_n(&p[i].word, __ATOMIC_ACQUIRE)) ==
				SHMSTAT_PROC_LIVE;
		if (live >= want)
			break;
		sched_yield();
	}
	for (uint32_t i = 0; i < h->max_procs; i++) {
		uint64_t w = 0;

		__atomic_compare_exchange_n(&p[i].word, &w, SHMSTAT_PROC_WORD(SHMSTAT_PROC_LIVE, tag),
					    false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	}
	__atomic_store_n(&h->reaper_lock, tag | 1, __ATOMIC_RELEASE);
	for (uint64_t k = 0;; k++) {
		__atomic_store_n(&h->fold_state,
				 SHMSTAT_FOLD_WORD(SHMSTAT_FOLD_MERGING + k % 2, 0, 0),
				 __ATOMIC_RELEASE);
		usleep(500);
	}
}

/* A segment of 2 writer slots, no writer */
static void make_small(const char *name)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;

	ut_small_opts(&o);
	o.max_procs = 2;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
}

static pid_t squatter;

/* The writer: an open of a segment every slot of which the squatter
 * holds: 0 when it fails with SHMSTAT_EFULL */
static int open_writer(void)
{
	shmstat_seg *seg = NULL;
	const int err = shmstat_open(seg_name, NULL, &seg);

	if (seg)
		shmstat_close(seg);
	return err == SHMSTAT_EFULL ? 0 : 4;
}

/* The writer: attached, it waits for the squatter to take the other slot
 * and the lock, then forks: 0 when fork() returned and the child ran */
static int fork_writer(void)
{
	struct shmstat_hdr h;
	shmstat_seg *seg = NULL;
	char path[300];
	pid_t pid;
	int fd, st;

	if (shmstat_open(seg_name, NULL, &seg) != 0)
		return 2;
	ut_path(seg_name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	do {
		sched_yield();
		if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
			return 2;
	} while (h.reaper_lock == 0);
	close(fd);
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 3;
	shmstat_close(seg);
	return 0;
}

static void squat(const char *name, uint32_t want, int (*fn)(void))
{
	int st;

	make_small(name);
	squatter = fork();
	assert_true(squatter >= 0);
	if (squatter == 0)
		slot_squatter(name, want);
	if (want == 0) {
		/* the open after the squatter took every slot and the lock */
		struct shmstat_hdr h;
		char path[300];
		int fd;

		ut_path(name, path, sizeof(path));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		do {
			sched_yield();
			assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
		} while (h.reaper_lock == 0);
		close(fd);
	}
	seg_name = name;
	st = run_child(fn);
	kill(squatter, SIGKILL);
	assert_int_equal(waitpid(squatter, NULL, 0), squatter);
	assert_int_equal(st, 0);
}

/* Every writer slot LIVE with the tag of a process that runs, which
 * holds the reaper lock and moves fold_state: an open, and a fork() of an
 * attached writer, waited for that "reaper" to free a slot as long as
 * its fold line moved: for ever. No slot is a gone writer's: nothing to
 * wait for, the open fails with SHMSTAT_EFULL, the fork's child gets no
 * slot. */
static void test_slots_squatted_open(void **state)
{
	(void)state;
	squat(ut_name("wc-squat"), 0, open_writer);
}

static void test_slots_squatted_fork(void **state)
{
	(void)state;
	squat(ut_name("wc-squatf"), 1, fork_writer);
}

/* ------------------------------------------------- registration races */

/* Another writer of the uid rewrites the descriptor just after the
 * registration checked it (the test hook): the table's run moved past
 * the sigs region, the metric's value slots past the stripes. */
static void rewrite_checked(enum shmstat_hook_point point, const void *arg)
{
	struct shmstat_desc *d = (struct shmstat_desc *)(uintptr_t)arg;

	if (point != SHMSTAT_HOOK_REG_CHECKED)
		return;
	if (d->type == SHMSTAT_SIGTABLE)
		d->sig_first = UINT32_MAX;
	else
		d->value_off = UINT32_MAX - 8;
}

/* The writer: registers table "t" (made by make_segment) and counter
 * "c" with the hook set, counts through both, leaves */
static int checked_writer(void)
{
	const struct shmstat_metric_def cdef = { .name = "c" };
	struct shmstat_sigtab_opts so;
	shmstat_seg *seg = NULL;
	shmstat_counter *c;
	shmstat_sigtab *t;

	table_opts(&so);
	if (shmstat_open(seg_name, NULL, &seg) != 0 ||
	    shmstat_counter_register(seg, &cdef, &c) != 0)
		return 2;
	shmstat_close(seg);
	if (shmstat_open(seg_name, NULL, &seg) != 0)
		return 2;
	__atomic_store_n(&shmstat__test_hook, rewrite_checked, __ATOMIC_RELEASE);
	/* the table's handle has the run checked */
	if (shmstat_sigtab_register(seg, &table_def, &so, &t) != 0)
		return 3;
	/* the counter's registration sees its descriptor change after the
	 * handle was made (it compares value_off), tries again, and finds
	 * the slots out of the stripes */
	if (shmstat_counter_register(seg, &cdef, &c) != SHMSTAT_ECORRUPT)
		return 4;
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	for (int i = 0; i < EVENTS; i++) {
		shmstat_sig_hit(t, "k", 1, 1, 0);
		shmstat_counter_inc(c);         /* a do-nothing handle */
	}
	shmstat_close(seg);
	return 0;
}

/* The handle was made from the descriptor read again after its checks:
 * the table's first event wrote 512 GiB past the sigs region, the
 * counter's 32 GiB past its stripe (SIGSEGV; anywhere in the process
 * with a smaller shift). Now from what was checked: the table counts
 * into its run, the counter's registration fails. */
static void test_desc_rewritten_after_check(void **state)
{
	const char *name = ut_name("wc-checked");

	(void)state;
	make_segment(name);
	seg_name = name;
	assert_int_equal(run_child(checked_writer), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_full),
		cmocka_unit_test(test_index_entry_out),
		cmocka_unit_test(test_lists_walk),
		cmocka_unit_test(test_lists_heads),
		cmocka_unit_test(test_reader_odd_gens),
		cmocka_unit_test(test_owners_claimed),
		cmocka_unit_test(test_slots_squatted_open),
		cmocka_unit_test(test_slots_squatted_fork),
		cmocka_unit_test(test_desc_rewritten_after_check),
	};

	return cmocka_run_group_tests(tests, ut_setup, ut_teardown);
}
