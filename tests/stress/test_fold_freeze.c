/*
 * test_fold_freeze.c - readers against a fold in progress, and a reaper
 * stopped or killed in the middle of a fold.
 *
 * D writer processes (TD threads each, fewer thread stripes than threads)
 * count known amounts and exit without detaching. A reaper process runs
 * shmstat_gc on them. Nobody writes any more, so every snapshot must show
 * exactly the same totals, whatever the fold is doing:
 *
 * test_exact_during_folds: stress_reader snapshots in a loop while the
 * reaper folds (FOLD_ROUNDS times; the reaper starts once the reader has
 * taken its first snapshot), each one must be exact, and some must have
 * raced with a fold step.
 *
 * test_freeze_*: the test watches the segment's fold line (read-only
 * mapping) and, as soon as it sees the reaper inside the wanted phase of a
 * fold (MERGING: the grave being rebuilt; FLIPPED: the new grave current,
 * the dead process's stripes being zeroed), stops it with SIGSTOP. If the
 * reaper is still in a fold once stopped (the phase may have moved on:
 * then the round is redone, at most TRIES times), the fold is frozen
 * half-way. Then once more, the reaper stopping itself by the test hook
 * (libshm/hook.h) at the phase's start, which never misses: a machine
 * too loaded to catch the phase in TRIES rounds still runs the checks.
 * Each time:
 *   - a snapshot succeeds (fold_seq does not move) and shows the exact
 *     totals: nothing missing, nothing counted twice;
 *   - "cont": SIGCONT; the reaper ends, having reaped D slots;
 *   - "kill": SIGKILL, another snapshot (exact again); then shmstat_gc
 *     in this process takes the dead reaper's lock, completes its fold
 *     and reaps the rest;
 * and in every case: exact totals, no writer left, no stripe owned, fold
 * line idle and unlocked.
 *
 * test_stopped_reaper_no_wait: a reaper SIGSTOPped with the reaper lock
 * (in a fold), and one SIGSTOPped with a descriptor claimed (in its merge
 * of tombstones), may stay stopped for ever: nobody waits for them. With
 * the first, shmstat_gc and shmstat_open here go on without reaping (gc
 * fails with SHMSTAT_EBUSY naming the stopped holder, where it returned 0
 * and "reaped 0"; the open fails: every slot is held by a dead writer not
 * yet reaped); with
 * the second, a registration whose probe meets the claim fails with
 * SHMSTAT_EBUSY; none of them sleeps or yields more than the 63 times
 * before its first look at the holder (the test hook SHMSTAT_HOOK_WAIT
 * counts them; each used to wait 1 s and 2 s: 1.2 s and 4.2 s measured).
 * Then SIGCONT: the reaper ends, the totals exact.
 *
 * test_running_reaper_waited: every writer slot held by a dead writer and
 * a reaper folding them that runs but takes longer than the second an
 * attach waits for the reaper lock: the open waits for the reaper to free
 * a slot, and gets it (it used to fail with SHMSTAT_EFULL).
 * test_running_reaper_fork: the same for the slot a pre-fork master
 * claims for its worker at fork(): the worker counts (it used to get no
 * slot, and count nothing). test_running_reaper_fork_cancel: the same,
 * the forking thread with a cancel request pending: fork() returns (its
 * prepare handler's waits are cancellation points: the thread was
 * cancelled inside fork(), the process's locks held for good).
 *
 * test_extents_during_fold: the pages of a grave a fold writes were
 * holes (segment.h, "Pages in use") when a reader took the object's
 * extents, after reading fold_seq; the reaper, held by the test hooks
 * (libshm/hook.h), merges and stores FLIPPED before the reader copies:
 * the reader must not accept that copy (it would count the new grave
 * from its stale extents: zeros), and its snapshot shows the count.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "stress_common.h"
#include "hook.h"
#include "layout.h"

#define D 3
#define TD 4
#define STEPS 20000                 /* per thread, times (writer + 1) */
#define MAXV 32768                  /* big stripes: folds take a while */
#define TRIES 20
#define FOLD_ROUNDS 40

struct dead_writer {
	const char *name;
	int idx;
	int done_fd, exit_fd;      /* "counted" to the parent; EOF: exit */
	int unused[2];
	pthread_barrier_t bar;
	shmstat_counter *c;
	shmstat_gauge *g;
};

static void *dw_thread(void *arg)
{
	struct dead_writer *w = arg;

	shmstat_counter_inc(w->c);         /* claim a stripe ... */
	shmstat_gauge_add(w->g, 1);
	pthread_barrier_wait(&w->bar);     /* ... while the others hold theirs */
	for (int i = 1; i < STEPS * (w->idx + 1); i++) {
		shmstat_counter_inc(w->c);
		shmstat_gauge_add(w->g, 1);
	}
	return NULL;
}

static int dead_writer_main(void *arg)
{
	struct dead_writer *w = arg;
	const struct shmstat_metric_def dc = { .name = "frz_total" };
	const struct shmstat_metric_def dg = { .name = "frz_sum" };
	pthread_t th[TD];
	shmstat_seg *seg;
	char c;

	close(w->unused[0]);
	close(w->unused[1]);
	CHILD_CHECK(shmstat_open(w->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &dc, &w->c) == 0);
	CHILD_CHECK(shmstat_gauge_register(seg, &dg, SHMSTAT_AGG_SUM, &w->g) == 0);
	CHILD_CHECK(pthread_barrier_init(&w->bar, NULL, TD) == 0);
	for (int t = 0; t < TD; t++)
		CHILD_CHECK(pthread_create(&th[t], NULL, dw_thread, w) == 0);
	for (int t = 0; t < TD; t++)
		CHILD_CHECK(pthread_join(th[t], NULL) == 0);
	/* all writers stay attached until all have counted: otherwise the
	 * next one's attach would reap this one */
	CHILD_CHECK(stress_write(w->done_fd, "d", 1) == 0);
	CHILD_CHECK(stress_read(w->exit_fd, &c, 1) == 0);
	return 0;                          /* exits attached: dead */
}

struct reaper {
	const char *name;
	int go_fd;
	int unused;
	int stop_at;                       /* a hook point, or 0 */
};

/* The reaper's hook: it stops itself (SIGSTOP) at the first fold that
 * reaches reaper_stop_at */
static int reaper_stop_at;

static void reaper_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if ((int)point == reaper_stop_at) {
		reaper_stop_at = 0;
		raise(SIGSTOP);
	}
}

static int reaper_main(void *arg)
{
	const struct reaper *r = arg;
	unsigned n = 0;
	char c;

	close(r->unused);
	if (r->stop_at) {
		reaper_stop_at = r->stop_at;
		__atomic_store_n(&shmstat__test_hook, reaper_hook, __ATOMIC_RELEASE);
	}
	CHILD_CHECK(stress_read(r->go_fd, &c, 1) == 1);
	CHILD_CHECK(shmstat_gc(r->name, &n) == 0);
	return (int)n;
}

/* A live writer to start before the dead ones, in a slot of its own
 * (make_dead()), and the writers check_exact() expects alive. */
static void (*dead_before)(const char *name);
static uint32_t alive_expected;

static uint64_t expected_total(void)
{
	uint64_t t = 0;

	for (int w = 0; w < D; w++)
		t += (uint64_t)TD * STEPS * (uint64_t)(w + 1);
	return t;
}

/* Check the totals; return the number of dead writers shown. */
static uint32_t check_exact(const char *name, int final)
{
	shmstat_snap *s = stress_snap(name);
	struct shmstat_seg_info info;
	struct shmstat_metric_info mi;

	shmstat_snap_info(s, &info);
	assert_int_equal(stress_counter(s, "frz_total", ""), expected_total());
	assert_true(stress_find(s, "frz_sum", "", &mi) >= 0);
	assert_int_equal(mi.gauge, (int64_t)expected_total());
	assert_int_equal(info.writers_alive, alive_expected);
	if (final) {
		assert_int_equal(info.writers_dead, 0);
		assert_int_equal(info.stripes_owned, 0);
		assert_int_equal(shmstat_snap_procs(s), 0);
	}
	shmstat_snap_free(s);
	return info.writers_dead;
}

/* Map the segment read-only to watch its fold line. */
static const struct shmstat_hdr *watch(const char *name, size_t *len)
{
	char path[256];
	struct stat st;
	void *p;
	int fd;

	snprintf(path, sizeof(path), "/shmstat.%s", name);
	fd = shm_open(path, O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	close(fd);
	return p;
}

/* A new segment holding D dead writers (attached, counted, exited
 * without detaching, all at the same time so none reaps another). */
static const char *make_dead(const char *tag)
{
	const char *name = stress_name(tag);
	struct shmstat_opts o;
	struct dead_writer dw[D];
	int done[D][2], ex[2];
	pid_t wpid[D];

	shmstat_opts_init(&o);
	/* few stripes, so copies are short; fewer thread stripes than
	 * threads, so most counts are in the per-process stripes (the
	 * first ones a fold zeroes) */
	o.max_procs = D + (dead_before != NULL);
	o.max_metrics = 8;
	o.max_values = MAXV;
	o.max_threads = D;
	stress_create(name, &o);
	if (dead_before)
		dead_before(name);
	stress_pipe(ex);
	for (int w = 0; w < D; w++) {
		stress_pipe(done[w]);
		dw[w] = (struct dead_writer){ .name = name, .idx = w, .done_fd = done[w][1],
					      .exit_fd = ex[0], .unused = { done[w][0], ex[1] } };
		wpid[w] = stress_spawn(dead_writer_main, &dw[w]);
		close(done[w][1]);
	}
	close(ex[0]);
	for (int w = 0; w < D; w++)
		stress_expect(done[w][0], wpid[w]);
	close(ex[1]);
	for (int w = 0; w < D; w++) {
		assert_int_equal(stress_wait(wpid[w]), 0);
		close(done[w][0]);
	}
	{
		shmstat_snap *s = stress_snap(name);
		struct shmstat_seg_info info;

		shmstat_snap_info(s, &info);
		assert_int_equal(info.writers_dead, D);
		assert_int_equal(info.stripes_owned, D);
		shmstat_snap_free(s);
	}
	check_exact(name, 0);
	return name;
}

/* Start a process that runs shmstat_gc(@name) once; its exit status is
 * the number of slots it reaped. It stops itself at hook point @stop_at
 * of its first fold (0: never). */
static pid_t start_reaper(const char *name, int stop_at)
{
	struct reaper rp;
	int go[2];
	pid_t pid;

	stress_pipe(go);
	rp = (struct reaper){ .name = name, .go_fd = go[0], .unused = go[1], .stop_at = stop_at };
	pid = stress_spawn(reaper_main, &rp);
	close(go[0]);
	assert_int_equal(stress_write(go[1], "g", 1), 0);
	close(go[1]);
	return pid;
}

/* One attempt: dead writers, a reaper, freeze it in @phase: stopped by
 * SIGSTOP when seen there (@by_hook 0: anywhere in the phase, as timing
 * has it), or stopping itself at the phase's hook point. Returns 1 when
 * the fold was frozen (and the checks ran), 0 when the reaper got past
 * every fold before it could be stopped. */
static int freeze_once(uint32_t phase, int kill_it, int by_hook)
{
	const char *name = make_dead("freeze");
	const struct shmstat_hdr *h;
	size_t len;
	int caught = 0, st;
	pid_t rpid;
	unsigned reaped = 0;
	uint32_t dead;

	h = watch(name, &len);
	rpid = start_reaper(name, !by_hook ? 0
				   : phase == SHMSTAT_FOLD_MERGING ? SHMSTAT_HOOK_FOLD_MERGING
								: SHMSTAT_HOOK_FOLD_FLIPPED);
	if (by_hook) {
		assert_int_equal(waitpid(rpid, &st, WUNTRACED), rpid);
		assert_true(WIFSTOPPED(st));
		assert_int_equal(SHMSTAT_FOLD_PHASE(__atomic_load_n(&h->fold_state, __ATOMIC_ACQUIRE)),
				 phase);
		caught = 1;
	}
	while (!caught) {
		uint64_t fs = __atomic_load_n(&h->fold_state, __ATOMIC_ACQUIRE);
		uint64_t lock = __atomic_load_n(&h->reaper_lock, __ATOMIC_ACQUIRE);

		if (SHMSTAT_FOLD_PHASE(fs) == phase && SHMSTAT_TAG_PID(lock) == (uint32_t)rpid) {
			assert_int_equal(kill(rpid, SIGSTOP), 0);
			assert_int_equal(waitpid(rpid, &st, WUNTRACED), rpid);
			if (!WIFSTOPPED(st))
				break;             /* it ended first */
			fs = __atomic_load_n(&h->fold_state, __ATOMIC_ACQUIRE);
			if (SHMSTAT_FOLD_PHASE(fs) == phase) {
				caught = 1;
				break;
			}
			assert_int_equal(kill(rpid, SIGCONT), 0);
			continue;
		}
		if (waitpid(rpid, &st, WNOHANG) == rpid)
			break;                     /* done before we saw it */
	}
	if (!caught) {
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), D);
		check_exact(name, 1);
		munmap((void *)h, len);
		shmstat_unlink(name);
		return 0;
	}

	/* frozen half-way through a fold: while MERGING, the process being
	 * folded still shows as a dead writer; once FLIPPED it is gone */
	dead = check_exact(name, 0);
	assert_true(dead <= D);
	if (phase == SHMSTAT_FOLD_MERGING)
		assert_true(dead >= 1);
	if (kill_it) {
		assert_int_equal(kill(rpid, SIGKILL), 0);
		assert_int_equal(stress_wait(rpid), 128 + SIGKILL);
		assert_int_equal(check_exact(name, 0), dead);
		/* recovery completes the interrupted fold (not counted as a
		 * reap of this call); the dead writers left are reaped */
		assert_int_equal(shmstat_gc(name, &reaped), 0);
		assert_int_equal(reaped, phase == SHMSTAT_FOLD_MERGING ? dead - 1 : dead);
	} else {
		assert_int_equal(kill(rpid, SIGCONT), 0);
		assert_int_equal(stress_wait(rpid), D);
	}
	check_exact(name, 1);
	assert_int_equal(SHMSTAT_FOLD_PHASE(__atomic_load_n(&h->fold_state, __ATOMIC_ACQUIRE)),
			 SHMSTAT_FOLD_IDLE);
	assert_int_equal(__atomic_load_n(&h->reaper_lock, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(reaped, 0);
	check_exact(name, 1);
	munmap((void *)h, len);
	return 1;
}

static void freeze(uint32_t phase, int kill_it)
{
	int t = 0;

	while (t < TRIES && !freeze_once(phase, kill_it, 0))
		t++;
	if (t < TRIES)
		printf("  frozen in phase %u at try %d\n", phase, t + 1);
	else
		printf("  never seen in phase %u in %d tries\n", phase, TRIES);
	assert_int_equal(freeze_once(phase, kill_it, 1), 1);
}

/* Nobody writes: every snapshot taken while a reaper folds the D dead
 * writers, whatever the moment, must show exactly the same totals. The
 * snapshots are taken by stress_reader, built without TSan, so that its
 * copies are much shorter than the fold steps of the instrumented reaper
 * (big stripes make them last): copies land in every phase and straddle
 * every phase change, and one that raced with a change must be redone
 * (or reported as SHMSTAT_EBUSY), never accepted. */
static void test_exact_during_folds(void **state)
{
	uint64_t snaps = 0, overlap = 0, busy = 0;

	(void)state;
	/* the reaper starts once the reader copies (stress_reader_start
	 * returns after its first snapshot): 40 rounds took 7,300-8,700
	 * snapshots, 238-260 of which raced with a fold step (3 runs); when
	 * the reaper could start first, 176-343, and 1-8 raced */
	for (int round = 0; round < FOLD_ROUNDS; round++) {
		const char *name = make_dead("duringfold");
		struct stress_rd rd;
		uint64_t a, b, c;

		stress_reader_start(&rd, name, "frz_total", "frz_sum", "exact", expected_total());
		assert_int_equal(stress_wait(start_reaper(name, 0)), D);
		stress_reader_stop(&rd, &a, &b, &c);
		snaps += a;
		overlap += b;
		busy += c;
		check_exact(name, 1);
		shmstat_unlink(name);
	}
	printf("  %llu snapshots, %llu of them raced with a fold step, %llu EBUSY\n",
	       (unsigned long long)snaps, (unsigned long long)overlap, (unsigned long long)busy);
#ifndef SHMSTAT_TEST_NO_SANITIZERS
	assert_true(overlap > 0);
#else
	/* -Dsanitizers=false (tests/cross/aarch64.sh): the reaper is not
	 * slowed down by TSan, so its folds are no longer much longer than
	 * the reader's copies, and under qemu-user a copy may take longer
	 * than a whole fold. Every snapshot taken must still be exact; that
	 * some raced with a fold is what the TSan build shows. */
	(void)overlap;
#endif
}

static void test_freeze_merging_cont(void **state)
{
	(void)state;
	freeze(SHMSTAT_FOLD_MERGING, 0);
}

static void test_freeze_flipped_cont(void **state)
{
	(void)state;
	freeze(SHMSTAT_FOLD_FLIPPED, 0);
}

static void test_freeze_merging_kill(void **state)
{
	(void)state;
	freeze(SHMSTAT_FOLD_MERGING, 1);
}

static void test_freeze_flipped_kill(void **state)
{
	(void)state;
	freeze(SHMSTAT_FOLD_FLIPPED, 1);
}

/* ---------------------------------------------- extents during a fold */

struct fx {
	const char *name;
	int cmd[2], ack[2];        /* test -> writer, writer -> test */
};

static struct fx *fx_now;

static void fx_put(int fd, char c)
{
	assert_int_equal(stress_write(fd, &c, 1), 0);
}

static char fx_get(int fd)
{
	char c = 0;

	return stress_read(fd, &c, 1) == 1 ? c : 0;
}

/* In the writer, inside its own fold (its shmstat_close()): say where it
 * is and wait for the test's word. */
static void fx_writer_hook(enum shmstat_hook_point point, const void *arg)
{
	char c = point == SHMSTAT_HOOK_FOLD_MERGING ? 'm' : 'f';

	(void)arg;
	if (point != SHMSTAT_HOOK_FOLD_MERGING && point != SHMSTAT_HOOK_FOLD_FLIPPED)
		return;
	if (stress_write(fx_now->ack[1], &c, 1) != 0 || stress_read(fx_now->cmd[0], &c, 1) != 1)
		_exit(5);
}

/* Add 5 to fx_total on a 2 MiB stripe, then detach: the fold of its own
 * slot stops twice in the hook above. */
static int fx_writer(void *arg)
{
	const struct shmstat_metric_def d = { .name = "fx_total" };
	struct fx *f = arg;
	shmstat_counter *c;
	shmstat_seg *seg;

	close(f->cmd[1]);
	close(f->ack[0]);
	fx_now = f;
	CHILD_CHECK(shmstat_open(f->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &d, &c) == 0);
	shmstat_counter_add(c, 5);
	__atomic_store_n(&shmstat__test_hook, fx_writer_hook, __ATOMIC_RELEASE);
	shmstat_close(seg);
	return 0;
}

static int fx_fired;

/* In the test, the reader's first copy: the extents are taken; let the
 * writer merge and store FLIPPED, and wait until it has. */
static void fx_reader_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point != SHMSTAT_HOOK_COPY_EXTENTS || fx_fired++)
		return;
	fx_put(fx_now->cmd[1], 'g');
	assert_int_equal(fx_get(fx_now->ack[0]), 'f');
}

static void test_extents_during_fold(void **state)
{
	struct fx f = { .name = stress_name("fx") };
	struct shmstat_metric_info mi;
	struct shmstat_opts o;
	shmstat_reader *r;
	shmstat_seg *seg;
	shmstat_snap *s;
	pid_t w;
	int i;

	(void)state;
	shmstat_opts_init(&o);
	o.max_procs = 4;
	o.max_threads = 4;
	o.max_metrics = 16;
	o.max_values = 1u << 18;        /* stripes of 2 MiB: the graves' pages holes */
	o.sig_bytes = 0;
	o.max_stacks = 0;
	o.max_modules = 0;
	assert_int_equal(shmstat_open(f.name, &o, &seg), 0);
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(pipe(f.cmd), 0);
	assert_int_equal(pipe(f.ack), 0);
	fx_now = &f;
	w = stress_spawn(fx_writer, &f);
	assert_true(w > 0);
	close(f.cmd[0]);
	close(f.ack[1]);
	/* the writer folds its slot: MERGING published, the merge next */
	assert_int_equal(fx_get(f.ack[0]), 'm');
	assert_int_equal(shmstat_reader_open(f.name, &r), 0);
	fx_fired = 0;
	__atomic_store_n(&shmstat__test_hook, fx_reader_hook, __ATOMIC_RELEASE);
	assert_int_equal(shmstat_snapshot(r, &s), 0);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	assert_int_equal(fx_fired, 2);  /* the first copy was refused */
	i = stress_find(s, "fx_total", "", &mi);
	assert_true(i >= 0);
	assert_int_equal(mi.counter, 5);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	fx_put(f.cmd[1], 'x');          /* the fold's last steps */
	assert_int_equal(stress_wait(w), 0);
	close(f.cmd[1]);
	close(f.ack[0]);
	assert_int_equal(shmstat_unlink(f.name), 0);
}

/* Waits for a lock or a claim in this process (SHMSTAT_HOOK_WAIT). */
static unsigned waits;

static void wait_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point == SHMSTAT_HOOK_WAIT)
		waits++;
}

static void test_stopped_reaper_no_wait(void **state)
{
	const char *name = make_dead("stopped");
	const struct shmstat_metric_def da = { .name = "stp_a" }, db = { .name = "stp_b" };
	struct shmstat_opts o;
	shmstat_seg *seg;
	shmstat_counter *c;
	unsigned reaped = 1;
	char want[64];
	int st;
	pid_t rpid;

	(void)state;
	/* the reaper lock held by a stopped process (in its first fold) */
	rpid = start_reaper(name, SHMSTAT_HOOK_FOLD_MERGING);
	assert_int_equal(waitpid(rpid, &st, WUNTRACED), rpid);
	assert_true(WIFSTOPPED(st));
	waits = 0;
	__atomic_store_n(&shmstat__test_hook, wait_hook, __ATOMIC_RELEASE);
	/* said, naming the holder (it returned 0: "reaped 0 dead writers") */
	assert_int_equal(shmstat_gc(name, &reaped), SHMSTAT_EBUSY);
	assert_int_equal(reaped, 0);
	snprintf(want, sizeof(want), "held by pid %d, which is stopped", (int)rpid);
	if (strstr(shmstat_last_error(), want) == NULL)
		fail_msg("gc does not name the stopped holder: '%s'", shmstat_last_error());
	assert_int_equal(shmstat_open(name, NULL, &seg), SHMSTAT_EFULL);
	/* the slots are the dead writers', not live ones' (it said "all
	 * 3 are taken by live processes") */
	if (strstr(shmstat_last_error(), "0 are taken by live processes and") == NULL)
		fail_msg("the refusal does not say the slots are held by gone writers: '%s'",
			 shmstat_last_error());
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	assert_int_equal(waits, 0);
	check_exact(name, 0);
	assert_int_equal(kill(rpid, SIGCONT), 0);
	assert_int_equal(stress_wait(rpid), D);
	check_exact(name, 1);
	assert_int_equal(shmstat_unlink(name), 0);

	/* a descriptor claimed by a stopped process: the reaper's merge of
	 * two tombstones holds the first, stp_a's */
	name = stress_name("stopclaim");
	shmstat_opts_init(&o);
	o.max_procs = 4;
	o.max_metrics = 8;
	stress_create(name, &o);
	assert_int_equal(shmstat_open(name, NULL, &seg), 0);
	assert_int_equal(shmstat_counter_register(seg, &da, &c), 0);
	shmstat_counter_add(c, 1);
	assert_int_equal(shmstat_counter_register(seg, &db, &c), 0);
	shmstat_counter_add(c, 2);
	assert_int_equal(shmstat_remove(seg, &da), 0);
	assert_int_equal(shmstat_remove(seg, &db), 0);
	assert_int_equal(shmstat_quiesce(seg), 0);
	/* the child reaps as it starts (tls.c, fork_child()): it stops
	 * there, with the hook it inherits */
	reaper_stop_at = SHMSTAT_HOOK_COALESCE_CLAIMED;
	__atomic_store_n(&shmstat__test_hook, reaper_hook, __ATOMIC_RELEASE);
	rpid = start_reaper(name, SHMSTAT_HOOK_COALESCE_CLAIMED);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	reaper_stop_at = 0;
	assert_int_equal(waitpid(rpid, &st, WUNTRACED), rpid);
	assert_true(WIFSTOPPED(st));
	waits = 0;
	__atomic_store_n(&shmstat__test_hook, wait_hook, __ATOMIC_RELEASE);
	assert_int_equal(shmstat_counter_register(seg, &da, &c), SHMSTAT_EBUSY);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	assert_true(waits <= 64);
	shmstat_counter_add(c, 5);         /* a handle that does nothing */
	assert_int_equal(kill(rpid, SIGCONT), 0);
	assert_int_equal(stress_wait(rpid), 0);
	/* the merge done, stp_a registers again, from zero */
	assert_int_equal(shmstat_counter_register(seg, &da, &c), 0);
	shmstat_counter_add(c, 7);
	{
		shmstat_snap *s = stress_snap(name);

		assert_int_equal(stress_counter(s, "stp_a", ""), 7);
		shmstat_snap_free(s);
	}
	assert_int_equal(shmstat_close(seg), 0);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* A reaper that runs but is slow: it holds the lock, in its first fold,
 * blocked on a pipe until the test lets it go (a process in state S, as
 * one busy folding big stripes on a loaded machine). */
struct slow_reaper {
	const char *name;
	int held_fd, go_fd;        /* "in the fold" to the test; "go on" from it */
	int unused[2];
};

static struct slow_reaper *slow_now;

static void slow_reaper_hook(enum shmstat_hook_point point, const void *arg)
{
	char c = 'h';

	(void)arg;
	if (point != SHMSTAT_HOOK_FOLD_MERGING || slow_now == NULL)
		return;
	if (stress_write(slow_now->held_fd, &c, 1) != 0 || stress_read(slow_now->go_fd, &c, 1) != 1)
		_exit(5);
	slow_now = NULL;
}

static int slow_reaper_main(void *arg)
{
	struct slow_reaper *r = arg;
	unsigned n = 0;

	close(r->unused[0]);
	close(r->unused[1]);
	slow_now = r;
	__atomic_store_n(&shmstat__test_hook, slow_reaper_hook, __ATOMIC_RELEASE);
	CHILD_CHECK(shmstat_gc(r->name, &n) == 0);
	return (int)n;
}

/* Start @r on pipe @go (made by the caller; its read end is closed
 * here) and a pipe of its own, @held, whose read end stays open; back
 * once the reaper holds the lock, in its first fold. */
static pid_t start_slow_reaper(struct slow_reaper *r, int go[2], int held[2])
{
	pid_t pid;
	char ch;

	stress_pipe(held);
	r->held_fd = held[1];
	r->go_fd = go[0];
	r->unused[0] = held[0];
	r->unused[1] = go[1];
	pid = stress_spawn(slow_reaper_main, r);
	close(held[1]);
	close(go[0]);
	assert_int_equal(stress_read(held[0], &ch, 1), 1);
	return pid;
}

/* In the test: its open's waits; the reaper let go at the first wait
 * past the 1,000 of the open's own reap (its wait for the lock). */
static int slow_go_fd = -1;

static void slow_wait_hook(enum shmstat_hook_point point, const void *arg)
{
	(void)arg;
	if (point != SHMSTAT_HOOK_WAIT || ++waits != 1001)
		return;
	if (stress_write(slow_go_fd, "g", 1) != 0)
		_exit(6);
}

/* Every writer slot held by a dead writer, and a reaper folding them that
 * runs but takes longer than the 1 s an attach waits for the reaper lock
 * (64 workers of a pre-fork server killed and started again at once,
 * each with big stripes: bench_show's churn point left 14 of 64 new
 * writers without a slot, counting nothing). The open waits for the
 * reaper, which frees the slots as it folds them, and gets one. */
static void test_running_reaper_waited(void **state)
{
	const char *name = make_dead("slowreap");
	const struct shmstat_metric_def d = { .name = "frz_total" };
	struct slow_reaper r = { .name = name };
	int held[2], go[2];
	shmstat_counter *c;
	shmstat_seg *seg = NULL;
	pid_t rpid;
	int err;

	(void)state;
	stress_pipe(go);
	rpid = start_slow_reaper(&r, go, held);
	waits = 0;
	slow_go_fd = go[1];
	__atomic_store_n(&shmstat__test_hook, slow_wait_hook, __ATOMIC_RELEASE);
	err = shmstat_open(name, NULL, &seg);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	if (waits < 1001)                  /* it gave up: let the reaper end */
		assert_int_equal(stress_write(go[1], "g", 1), 0);
	assert_int_equal(stress_wait(rpid), D);
	if (err != 0)
		fail_msg("the open did not wait for the reaper (%u waits): %s", waits,
			 shmstat_last_error());
	assert_true(waits >= 1001);        /* it waited past the lock's second */
	assert_int_equal(shmstat_counter_register(seg, &d, &c), 0);
	shmstat_counter_add(c, 7);
	{
		shmstat_snap *s = stress_snap(name);

		assert_int_equal(stress_counter(s, "frz_total", ""), expected_total() + 7);
		shmstat_snap_free(s);
	}
	assert_int_equal(shmstat_close(seg), 0);
	close(held[0]);
	close(go[1]);
	assert_int_equal(shmstat_unlink(name), 0);
}

/* A pre-fork master with a slot of its own; the test tells it to fork a
 * worker ('f') and to leave ('x'). */
struct fork_master {
	int up[2], cmd[2];         /* master -> test, test -> master */
	int go;                    /* the write end of the reaper's "go on" */
	pid_t pid;
	const char *name;
	bool cancel;               /* fork from a thread with a cancel pending */
};

static struct fork_master fm;

/* The worker: counts through the master's handle */
static void fork_worker(shmstat_seg *seg, shmstat_counter *c)
{
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	shmstat_counter_add(c, 7);
	shmstat_close(seg);
	_exit(0);
}

/* A master's thread that forks with a cancel request pending (another
 * thread cancelled it as it called fork()): fork() is no cancellation
 * point, so it must return, and the thread end at its next one. */
struct cancel_fork {
	shmstat_seg *seg;
	shmstat_counter *c;
	pid_t pid;
	int returned;
};

static void *cancel_fork_main(void *arg)
{
	struct cancel_fork *cf = arg;

	pthread_cancel(pthread_self());
	cf->pid = fork();
	if (cf->pid == 0) {
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		fork_worker(cf->seg, cf->c);
	}
	__atomic_store_n(&cf->returned, 1, __ATOMIC_RELEASE);
	pthread_testcancel();
	return NULL;
}

static int fork_master_main(void *arg)
{
	const struct shmstat_metric_def d = { .name = "frz_total" };
	shmstat_counter *c;
	shmstat_seg *seg;
	unsigned got;
	pid_t pid;
	int st;
	char ch;

	(void)arg;
	close(fm.up[0]);
	close(fm.cmd[1]);
	CHILD_CHECK(shmstat_open(fm.name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &d, &c) == 0);
	CHILD_CHECK(stress_write(fm.up[1], "a", 1) == 0);
	CHILD_CHECK(stress_read(fm.cmd[0], &ch, 1) == 1 && ch == 'f');
	waits = 0;
	slow_go_fd = fm.go;
	__atomic_store_n(&shmstat__test_hook, slow_wait_hook, __ATOMIC_RELEASE);
	if (fm.cancel) {
		struct cancel_fork cf = { .seg = seg, .c = c };
		pthread_t th;
		void *res;

		CHILD_CHECK(pthread_create(&th, NULL, cancel_fork_main, &cf) == 0);
		CHILD_CHECK(pthread_join(th, &res) == 0);
		__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
		if (!__atomic_load_n(&cf.returned, __ATOMIC_ACQUIRE)) {
			/* cancelled inside fork()'s prepare handler: the
			 * library's lock and liburcu's stay held */
			if (waits < 1001)
				(void)stress_write(fm.go, "g", 1);
			CHILD_CHECK(!"the forking thread was cancelled inside fork()");
		}
		CHILD_CHECK(res == PTHREAD_CANCELED);
		pid = cf.pid;
	} else {
		pid = fork();
		if (pid == 0)
			fork_worker(seg, c);
	}
	CHILD_CHECK(pid >= 0);
	__atomic_store_n(&shmstat__test_hook, NULL, __ATOMIC_RELEASE);
	got = waits;
	if (got < 1001)                    /* it gave up: let the reaper end */
		CHILD_CHECK(stress_write(fm.go, "g", 1) == 0);
	CHILD_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHILD_CHECK(stress_write(fm.up[1], &got, sizeof(got)) == 0);
	CHILD_CHECK(stress_read(fm.cmd[0], &ch, 1) == 1 && ch == 'x');
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

static void start_fork_master(const char *name)
{
	fm.name = name;
	stress_pipe(fm.up);
	stress_pipe(fm.cmd);
	fm.pid = stress_spawn(fork_master_main, NULL);
	close(fm.up[1]);
	close(fm.cmd[0]);
	stress_expect(fm.up[0], fm.pid);
}

/* The same for a pre-fork master: fork()'s prepare handler claims the
 * worker's slot (tls.c). Every slot but the master's held by a dead
 * worker, and a reaper folding them that runs but takes longer than the
 * second the handler's reap waits: the fork waits for a slot, and the
 * worker counts. It used to fork the worker without a slot, and the
 * worker's counts were lost. */
static void running_reaper_fork(bool cancel)
{
	struct slow_reaper r;
	int held[2], go[2];
	unsigned got = 0;
	pid_t rpid;

	stress_pipe(go);
	fm.go = go[1];
	fm.cancel = cancel;
	dead_before = start_fork_master;
	alive_expected = 1;
	r = (struct slow_reaper){ .name = make_dead("slowfork") };
	dead_before = NULL;
	rpid = start_slow_reaper(&r, go, held);
	close(go[1]);
	assert_int_equal(stress_write(fm.cmd[1], "f", 1), 0);
	if (stress_read(fm.up[0], &got, sizeof(got)) != sizeof(got))
		fail_msg("the master ended (status %d)", stress_wait(fm.pid));
	assert_int_equal(stress_wait(rpid), D);
	assert_int_equal(stress_write(fm.cmd[1], "x", 1), 0);
	assert_int_equal(stress_wait(fm.pid), 0);
	close(fm.up[0]);
	close(fm.cmd[1]);
	close(held[0]);
	alive_expected = 0;
	{
		shmstat_snap *s = stress_snap(r.name);
		const uint64_t n = stress_counter(s, "frz_total", "");

		shmstat_snap_free(s);
		if (n != expected_total() + 7)
			fail_msg("the worker forked while the reaper folded counted %lld, not 7 "
				 "(the fork waited %u times)",
				 (long long)(n - expected_total()), got);
	}
	assert_true(got >= 1001);
	assert_int_equal(shmstat_unlink(r.name), 0);
}

static void test_running_reaper_fork(void **state)
{
	(void)state;
	running_reaper_fork(false);
}

/* The same, the fork()ing thread with a cancel request pending: the
 * prepare handler's waits (nanosleep(), the holder's /proc files) are
 * cancellation points; the thread was cancelled inside fork(), with
 * liburcu's locks, glibc's fork handler lock and the library's lock of
 * its threads held for good (the next fork() or shmstat_close() of the
 * process hung). */
static void test_running_reaper_fork_cancel(void **state)
{
	(void)state;
	running_reaper_fork(true);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact_during_folds, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_freeze_merging_cont, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_freeze_flipped_cont, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_freeze_merging_kill, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_extents_during_fold, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_freeze_flipped_kill, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_stopped_reaper_no_wait, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_running_reaper_waited, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_running_reaper_fork, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_running_reaper_fork_cancel, stress_setup,
						stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
