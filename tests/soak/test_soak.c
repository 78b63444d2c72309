/*
 * test_soak.c - soak test (issue 9, "Load"): 32 writer processes x 4
 * threads for a bounded time, random SIGKILLs and restarts, a reader at
 * 100 Hz; at the end every acknowledged step is counted.
 *
 * Built against the ThreadSanitizer library, like the stress suite: the
 * writers are 4 threads each, far from TSan's per-process thread limit,
 * and 32 instrumented processes fit a 2-core box (each step costs some
 * microseconds under TSan; the test counts, it does not time). A data race
 * in a writer halts it with status 66, which the test reports as a writer
 * that ended by itself. The reader process (soak_reader.c) is built
 * without sanitizer, as a real exporter would be: its snapshots are fast
 * next to the writers, so they land inside every phase of the folds.
 *
 * Duration: 20 s of load by default (the suite); SHMSTAT_SOAK_SECONDS=N
 * runs N seconds instead (e.g. 600 for a long soak: meson test's timeout
 * is 300 s, so add --timeout-multiplier 0 or run the binary directly:
 *     SHMSTAT_SOAK_SECONDS=600 build/tests/soak/test_soak \
 *         build/tests/soak/soak_reader
 * with TSAN_OPTIONS as in tests/meson.build). SHMSTAT_SOAK_SEED=N changes
 * the seed of the kills and of the steps (default fixed: a run is
 * reproducible up to scheduling).
 *
 * The load. Segment: 64 process slots, 256 thread stripes, 1,024 value
 * slots, a signature table of 1,024 keys (room for all SOAK_KEYS: no
 * eviction) with 4 owners and no TTL. Every metric is registered first by
 * a short-lived process. Writer slot w (0..31) runs one process at a time
 * of 4 threads; thread t does steps i = ack, ack + 1, ... (ack: what the
 * slot's previous processes acknowledged) until the test says stop. A
 * step is 8 calls (soak.h, enum soak_call; its key, value, weight and
 * hit-or-miss a pure function of seed, w, t, i):
 *     soak_inflight += 1                     (gauge LIVESUM)
 *     soak_events_total += 1                 (counter)
 *     soak_writer_events_total{writer=w} += 1
 *     soak_value: record the step's value    (histogram, 1 .. 1e6)
 *     soak_sigs: hit (weight 1..100) or miss of key k for owner k % 4
 *     soak_events_gauge += 1                 (gauge SUM)
 *     soak_thread_steps{writer=w,thread=t} := i + 1   (gauge LAST, set)
 *     soak_inflight -= 1
 * After each call returns, the thread stores its stage, (i << 4) | calls
 * returned, with a full barrier; after the last, it acknowledges the step:
 * ack = i + 1 (release). Both live in the control page (soak.h).
 *
 * The test process (the killer) paces itself at a round every 10..100 ms
 * (drawn from the seed; load shaping, not synchronization): it SIGKILLs
 * the processes of 1 to 3 random slots that have one. At a later round,
 * once a killed process has died (its threads, at nice 19, may wait for a
 * CPU to see the SIGKILL; the rounds do not wait for them), for each of
 * its threads the killer takes from the control page the step it was at
 * (ack) and how many of its calls had returned (stage): those calls
 * counted, the one it was in may have counted in part (each of its stores
 * either happened or not), the later ones did not. It resets the stage,
 * counts the kill in the control page and starts a new process for the
 * slot: the same metrics, each thread going on from its acknowledged
 * count, so the step a thread was killed in is done again in full. Kills
 * land anywhere: in a step, in attaching (reaping the dead), in looking up
 * handles, in flushing a signature batch, in starting threads.
 *
 * The writer threads run at nice 19 (per thread; their processes attach
 * at 0): 128 busy threads saturate a 2-core box, and this way the killer
 * and the reader (nice 0) keep their pace. It changes when things run,
 * not what is checked.
 *
 * At the end: stop flag; every writer finishes its step, sets its LAST
 * gauges, exits its threads and detaches (exit status 0 required); the
 * reader stops (exit status 0 required: every snapshot was right, and
 * every reader call succeeded or returned SHMSTAT_EBUSY, documented: a
 * copy kept racing with folds; their number is printed, not bounded);
 * shmstat_gc; a snapshot. The bound asserted, for every metric m that the
 * steps add to (counters, histogram count and sum, SUM gauge, signature
 * hits, misses, weight, per owner too, per writer slot for the per-writer
 * counters):
 *
 *     A(m) + D(m) <= value(m) <= A(m) + D(m) + U(m)
 *
 * A: what the acknowledged steps add (recounted from the acks with the
 * step function); D: what the calls killed threads had returned from add;
 * U: what the calls they were killed in add (1 per killed thread at most
 * for a count, the step's value or weight for a sum). So for the counters
 *     acknowledged <= value <= acknowledged + 4 x kills
 * (the bound: a killed thread left at most one step unacknowledged)
 * holds, and much more: a count lost is seen unless a thread was killed in
 * that very call. And: each LAST gauge == its thread's acknowledged steps;
 * LIVESUM == 0; no writer alive or dead, no stripe owned; no key evicted,
 * none skipped; every key is in the view with error 0, its events within
 * the same bound.
 *
 * The reader checks the live form at every snapshot (soak_reader.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "stress_common.h"
#include "soak.h"

#define DEFAULT_SECONDS 20
#define DEFAULT_SEED 0x5eed50a4c0ffee11ULL
#define WRITER_NICE 19
#define MAX_VICTIMS 3              /* processes killed together */

static struct soak_ctl *ctl;
static int ctl_fd = -1;
static uint64_t step_seed = DEFAULT_SEED;
static const char *seg_name;
static char *reader_path;
static pid_t writer_pid[SOAK_W];
static pid_t dying_pid[SOAK_W];   /* killed by us, not reaped yet */
static pid_t reader_pid;

static const char *const owner_names[SOAK_OWNERS] = { "acct-0", "acct-1", "acct-2", "acct-3" };

/* ------------------------------------------------------------- metrics */

struct handles {
	shmstat_counter *total, *mine;
	shmstat_hist *hist;
	shmstat_sigtab *sigs;
	uint32_t owner[SOAK_OWNERS];
	shmstat_gauge *sum, *inflight, *last[SOAK_T];
};

static void hist_opts(struct shmstat_hist_opts *o)
{
	shmstat_hist_opts_init(o);
	o->lowest = SOAK_VMIN;
	o->highest = SOAK_VMAX;
	o->bits = 4;
}

static void sig_opts(struct shmstat_sigtab_opts *o)
{
	shmstat_sigtab_opts_init(o);
	o->capacity = 1024;
	o->owners = SOAK_OWNERS;
	/* a summary for every thread stripe: the killed writers' come back
	 * to the pool only when the reaper folds them */
	o->summaries = 2 * SOAK_W * SOAK_T;
	o->key_bytes = 32;
	o->ttl_ns = 0;
}

/* Register (find) the metrics of writer slot @w; in a child. */
static void reg(shmstat_seg *seg, int w, struct handles *h)
{
	char ws[16], ts[SOAK_T][16];
	const char *wl[] = { "writer", ws, NULL };
	const struct shmstat_metric_def d_total = { .name = SOAK_M_TOTAL };
	const struct shmstat_metric_def d_mine = { .name = SOAK_M_WRITER, .labels = wl };
	const struct shmstat_metric_def d_hist = { .name = SOAK_M_HIST };
	const struct shmstat_metric_def d_sigs = { .name = SOAK_M_SIGS };
	const struct shmstat_metric_def d_sum = { .name = SOAK_M_SUM };
	const struct shmstat_metric_def d_infl = { .name = SOAK_M_INFLIGHT };
	struct shmstat_hist_opts ho;
	struct shmstat_sigtab_opts so;

	hist_opts(&ho);
	sig_opts(&so);
	snprintf(ws, sizeof(ws), "%d", w);
	CHILD_CHECK(shmstat_counter_register(seg, &d_total, &h->total) == 0);
	CHILD_CHECK(shmstat_counter_register(seg, &d_mine, &h->mine) == 0);
	CHILD_CHECK(shmstat_hist_register(seg, &d_hist, &ho, &h->hist) == 0);
	CHILD_CHECK(shmstat_sigtab_register(seg, &d_sigs, &so, &h->sigs) == 0);
	for (int o = 0; o < SOAK_OWNERS; o++) {
		CHILD_CHECK(shmstat_sig_owner(h->sigs, owner_names[o], &h->owner[o]) == 0);
		CHILD_CHECK(h->owner[o] != 0);
	}
	CHILD_CHECK(shmstat_gauge_register(seg, &d_sum, SHMSTAT_AGG_SUM, &h->sum) == 0);
	CHILD_CHECK(shmstat_gauge_register(seg, &d_infl, SHMSTAT_AGG_LIVESUM, &h->inflight) == 0);
	for (int t = 0; t < SOAK_T; t++) {
		const char *tl[] = { "writer", ws, "thread", ts[t], NULL };
		const struct shmstat_metric_def d_last = { .name = SOAK_M_LAST, .labels = tl };

		snprintf(ts[t], sizeof(ts[t]), "%d", t);
		CHILD_CHECK(shmstat_gauge_register(seg, &d_last, SHMSTAT_AGG_LAST,
						   &h->last[t]) == 0);
	}
}

/* The first process: every metric exists before the writers start. */
static int prereg_main(void *arg)
{
	shmstat_seg *seg;
	struct handles h;

	(void)arg;
	CHILD_CHECK(shmstat_open(seg_name, NULL, &seg) == 0);
	for (int w = 0; w < SOAK_W; w++)
		reg(seg, w, &h);
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

/* -------------------------------------------------------------- writers */

static char keys[SOAK_KEYS][40];
static size_t key_len[SOAK_KEYS];

struct wthread {
	int w, t;
	struct handles *h;
};

/* Call @k of step @i returned: say so before the next call starts. */
static inline void stage(uint64_t *p, uint64_t i, int k)
{
	(void)__atomic_exchange_n(p, SOAK_STAGE(i, k + 1), __ATOMIC_SEQ_CST);
}

static void *writer_thread(void *arg)
{
	const struct wthread *wt = arg;
	const struct handles *h = wt->h;
	struct soak_thr *me = &ctl->thr[wt->w][wt->t];
	uint64_t i = soak_ld(&me->ack);  /* the predecessor is dead and waited for */

	/* load shaping: 128 busy threads saturate a small box; at nice 19
	 * (this thread only: the nice value is per thread on Linux) they
	 * leave the killer, the reader and the attaching writers (nice 0)
	 * their pace */
	CHILD_CHECK(setpriority(PRIO_PROCESS, 0, WRITER_NICE) == 0);

	while (!__atomic_load_n(&ctl->stop_writers, __ATOMIC_RELAXED)) {
		struct soak_step s = soak_step(step_seed, (uint32_t)wt->w, (uint32_t)wt->t, i);

		shmstat_gauge_add(h->inflight, 1);
		stage(&me->stage, i, SOAK_C_INFL_UP);
		shmstat_counter_inc(h->total);
		stage(&me->stage, i, SOAK_C_TOTAL);
		shmstat_counter_inc(h->mine);
		stage(&me->stage, i, SOAK_C_WRITER);
		shmstat_hist_record(h->hist, s.value);
		stage(&me->stage, i, SOAK_C_HIST);
		if (s.hit)
			shmstat_sig_hit(h->sigs, keys[s.key], key_len[s.key], s.weight,
					h->owner[s.owner]);
		else
			shmstat_sig_miss(h->sigs, keys[s.key], key_len[s.key], h->owner[s.owner]);
		stage(&me->stage, i, SOAK_C_SIG);
		shmstat_gauge_add(h->sum, 1);
		stage(&me->stage, i, SOAK_C_SUM);
		shmstat_gauge_set(h->last[wt->t], (int64_t)(i + 1));
		stage(&me->stage, i, SOAK_C_LAST);
		shmstat_gauge_sub(h->inflight, 1);
		stage(&me->stage, i, SOAK_C_INFL_DOWN);
		soak_st(&me->ack, ++i);  /* acknowledged: every call above returned */
	}
	/* a predecessor killed in its step's set may have left i + 1 */
	shmstat_gauge_set(h->last[wt->t], (int64_t)i);
	return NULL;
}

static int writer_main(void *arg)
{
	const int w = (int)(intptr_t)arg;
	struct handles h;
	struct wthread wt[SOAK_T];
	pthread_t th[SOAK_T];
	shmstat_seg *seg;

	CHILD_CHECK(shmstat_open(seg_name, NULL, &seg) == 0);
	reg(seg, w, &h);
	for (int t = 0; t < SOAK_T; t++) {
		wt[t] = (struct wthread){ .w = w, .t = t, .h = &h };
		CHILD_CHECK(pthread_create(&th[t], NULL, writer_thread, &wt[t]) == 0);
	}
	for (int t = 0; t < SOAK_T; t++)
		CHILD_CHECK(pthread_join(th[t], NULL) == 0);
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

/* --------------------------------------------------------------- reader */

/* Start soak_reader on the segment; its stdout is *@out. */
static void reader_start(int *out)
{
	int fds[2];

	stress_pipe(fds);
	fflush(NULL);
	reader_pid = fork();
	assert_true(reader_pid >= 0);
	if (reader_pid == 0) {
		stress_die_with_parent();
		if (dup2(fds[1], 1) < 0 || dup2(ctl_fd, 3) < 0)
			_exit(2);
		closefrom(4);
		execl(reader_path, reader_path, seg_name, (char *)NULL);
		_exit(2);
	}
	close(fds[1]);
	*out = fds[0];
}

/* ----------------------------------------------------------------- test */

/* What calls of steps added to each metric. */
struct tally {
	uint64_t total, w[SOAK_W], hcount, vsum, hits, misses, weight, sum;
	uint64_t o_hits[SOAK_OWNERS], o_misses[SOAK_OWNERS], o_weight[SOAK_OWNERS];
	uint64_t key_events[SOAK_KEYS];
};

/* Add what call @k of step @s of writer slot @w adds. */
static void tally_call(struct tally *x, int w, const struct soak_step *s, int k)
{
	switch (k) {
	case SOAK_C_TOTAL:
		x->total++;
		break;
	case SOAK_C_WRITER:
		x->w[w]++;
		break;
	case SOAK_C_HIST:
		x->hcount++;
		x->vsum += s->value;
		break;
	case SOAK_C_SIG:
		x->key_events[s->key]++;
		if (s->hit) {
			x->hits++;
			x->weight += s->weight;
			x->o_hits[s->owner]++;
			x->o_weight[s->owner] += s->weight;
		} else {
			x->misses++;
			x->o_misses[s->owner]++;
		}
		break;
	case SOAK_C_SUM:
		x->sum++;
		break;
	default:                   /* the LIVESUM and LAST gauges: checked apart */
		break;
	}
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (v == NULL || *v == '\0')
		return def;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *end != '\0')
		fail_msg("%s=%s: not a number", name, v);
	return x;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* @v must be A + D .. A + D + U: what the acknowledged steps add (@a),
 * plus what the calls killed threads had returned from add (@d), plus at
 * most what the calls they were killed in add (@u). */
static void expect_count(const char *what, uint64_t v, uint64_t a, uint64_t d, uint64_t u)
{
	if (v < a + d || v > a + d + u)
		fail_msg("%s = %" PRIu64 ": outside [%" PRIu64 ", %" PRIu64 "] (acknowledged %"
			 PRIu64 ", + %" PRIu64 " done by killed threads, + at most %" PRIu64
			 " of the calls they were killed in)", what, v, a + d, a + d + u, a, d, u);
}

/* A killed thread of slot @w: what it did of its current step goes to
 * @done (calls that returned) and @undet (the call it was in). */
static void account_kill(int w, int t, struct tally *done, struct tally *undet,
			 uint64_t *mid_step)
{
	struct soak_thr *th = &ctl->thr[w][t];
	const uint64_t a = soak_ld(&th->ack), st = soak_ld(&th->stage);
	const struct soak_step sp = soak_step(step_seed, (uint32_t)w, (uint32_t)t, a);
	/* calls of step a that returned: 0 unless the stage is of step a */
	const int d = (st >> 4) == a ? (int)(st & 15) : 0;

	for (int k = 0; k < d; k++)
		tally_call(done, w, &sp, k);
	if (d < SOAK_CALLS)
		tally_call(undet, w, &sp, d);
	if (d > 0)
		(*mid_step)++;
	/* its successor starts step a afresh: none of its calls done yet */
	soak_st(&th->stage, SOAK_STAGE(a, 0));
}

/* What the kills took: the calls killed threads had returned from, the
 * ones they were in, SIGKILLs (in all and per slot), threads killed in
 * the middle of a step. */
static struct {
	struct tally done, undet;
	uint64_t n, w[SOAK_W], mid_step;
} kl;

/* Writer slot @w's process, killed by us, has died: account for its
 * threads, then start its successor. */
static void victim_died(int w)
{
	for (int t = 0; t < SOAK_T; t++)
		account_kill(w, t, &kl.done, &kl.undet, &kl.mid_step);
	kl.n++;
	kl.w[w]++;
	soak_st(&ctl->kills[w].v, kl.w[w]);   /* before the successor starts */
	dying_pid[w] = 0;
	writer_pid[w] = stress_spawn(writer_main, (void *)(intptr_t)w);
}

/* Dead writers we killed, not reaped yet: reaping one while the load ran
 * took from 0.5 s up to minutes (Linux 6.18: wait4 spinning in the
 * kernel's invalidation of the task's /proc dentries; why it spun so long
 * is not known); when the load was over, 700 took 0.2 s. So the rounds
 * only look at them (waitid, WNOWAIT), and they are reaped at the end, or
 * when ZOMBIES are kept (a soak of many minutes). */
#define ZOMBIES 2048
static pid_t zombies[ZOMBIES];
static size_t nzombies;

static void reap_zombies(void)
{
	for (size_t z = 0; z < nzombies; z++)
		assert_int_equal(stress_wait(zombies[z]), 128 + SIGKILL);
	nzombies = 0;
}

/* Has child @p ended (when @wait: once it has)? Its status (exit status,
 * or 128 + signal) in *@st; the child is left unreaped. */
static int ended(pid_t p, int *st, int wait)
{
	siginfo_t si;
	int r;

	memset(&si, 0, sizeof(si));
	while ((r = waitid(P_PID, (id_t)p, &si, WEXITED | WNOWAIT | (wait ? 0 : WNOHANG))) != 0 &&
	       errno == EINTR)
		;
	if (r != 0 || si.si_pid != p)
		return 0;
	*st = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	return 1;
}

/* Every writer we killed that has died (when @wait: once it has): its
 * threads accounted, its successor started (victim_died). Any other child
 * that ended fails the test. */
static void see_ended(int wait)
{
	int st;

	for (int w = 0; w < SOAK_W; w++) {
		if (dying_pid[w] && ended(dying_pid[w], &st, wait)) {
			if (st != 128 + SIGKILL)
				fail_msg("writer %d ended with status %d before our SIGKILL", w, st);
			if (nzombies == ZOMBIES)
				reap_zombies();
			zombies[nzombies++] = dying_pid[w];
			victim_died(w);
		}
		if (writer_pid[w] && ended(writer_pid[w], &st, 0))
			fail_msg("writer %d ended by itself: status %d (66: ThreadSanitizer found "
				 "a race)", w, st);
	}
	if (reader_pid && ended(reader_pid, &st, 0))
		fail_msg("the reader ended by itself: status %d", st);
}

static void test_soak(void **state)
{
	const uint64_t seconds = env_u64("SHMSTAT_SOAK_SECONDS", DEFAULT_SECONDS);
	uint64_t seed = env_u64("SHMSTAT_SOAK_SEED", DEFAULT_SEED);
	struct shmstat_opts o;
	struct tally acked;
	uint64_t rsnaps = 0, rbusy = 0, rlate = 0, rwork_us = 0;
	struct shmstat_seg_info info;
	struct shmstat_metric_info mi;
	shmstat_snap *s;
	unsigned reaped = 0;
	int rd_out, m;
	double t0, t_load, t_end, next_kill;

	(void)state;
	if (seconds < 1)
		fail_msg("SHMSTAT_SOAK_SECONDS must be at least 1");
	step_seed = soak_mix(seed);
	for (int k = 0; k < SOAK_KEYS; k++) {
		/* signature-like keys: 32 bytes, "soak-key-NNN" and padding */
		snprintf(keys[k], sizeof(keys[k]), "soak-key-%03d-%019d", k, k * 7919);
		key_len[k] = strlen(keys[k]);
		assert_int_equal(key_len[k], 32);
	}
	seg_name = stress_name("soak");
	shmstat_opts_init(&o);
	o.max_procs = 2 * SOAK_W;      /* room for dead slots not reaped yet */
	o.max_threads = 2 * SOAK_W * SOAK_T;
	o.max_metrics = 512;
	o.max_values = 1024;
	{
		struct shmstat_sigtab_opts so;

		sig_opts(&so);
		o.sig_bytes = shmstat_sigtab_bytes(&so);
	}
	stress_create(seg_name, &o);

	ctl_fd = memfd_create("shmstat-soak", 0);
	assert_true(ctl_fd >= 0);
	assert_int_equal(ftruncate(ctl_fd, sizeof(*ctl)), 0);
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED, ctl_fd, 0);
	assert_true(ctl != MAP_FAILED);

	assert_int_equal(stress_wait(stress_spawn(prereg_main, NULL)), 0);
	reader_start(&rd_out);
	t0 = mono_s();
	for (int w = 0; w < SOAK_W; w++)
		writer_pid[w] = stress_spawn(writer_main, (void *)(intptr_t)w);

	memset(&kl, 0, sizeof(kl));
	next_kill = mono_s();
	while (mono_s() - t0 < (double)seconds) {
		uint64_t r = stress_rand(&seed);
		int victims[MAX_VICTIMS], nv = 1 + (int)((r >> 8) % MAX_VICTIMS), live;

		/* load shaping: a round of kills every 10..100 ms (at once
		 * if the last round took longer) */
		next_kill += (double)(10 + (r >> 32) % 91) / 1000.0;
		if (next_kill > mono_s())
			sleep_ms((uint64_t)((next_kill - mono_s()) * 1000.0));
		/* the writers killed earlier that have died: accounted, and
		 * their successors started (the dead reaped at the end) */
		see_ended(0);
		/* 1 to MAX_VICTIMS distinct slots, dying together: the next
		 * reaper folds several at once; only slots with a writer (a
		 * killed one is not waited for) */
		live = 0;
		for (int k = 0; k < SOAK_W; k++)
			live += writer_pid[k] != 0;
		for (int k = 0; k < nv; k++) {
			int dup;

			if (k == live) {
				nv = live;
				break;
			}
			do {
				victims[k] = (int)(stress_rand(&seed) % SOAK_W);
				dup = writer_pid[victims[k]] == 0;
				for (int j = 0; j < k; j++)
					dup |= victims[j] == victims[k];
			} while (dup);
		}
		for (int k = 0; k < nv; k++) {
			const int w = victims[k];

			assert_int_equal(kill(writer_pid[w], SIGKILL), 0);
			dying_pid[w] = writer_pid[w];
			writer_pid[w] = 0;
		}
	}
	t_load = mono_s();
	/* every slot with a writer again (the last ones killed once dead):
	 * each thread sets its LAST gauge to what it acknowledged as it
	 * stops, over what a killed predecessor may have left */
	see_ended(1);
	soak_st(&ctl->stop_writers, 1);
	for (int w = 0; w < SOAK_W; w++) {
		int st = stress_wait(writer_pid[w]);

		if (st != 0)
			fail_msg("writer %d (pid %d) ended with status %d at the stop", w,
				 (int)writer_pid[w], st);
		writer_pid[w] = 0;
	}
	reap_zombies();
	soak_st(&ctl->stop_reader, 1);
	{
		char line[256];
		size_t n = stress_read(rd_out, line, sizeof(line) - 1);
		unsigned long long a = 0, b = 0, c = 0, d = 0;
		int st;

		line[n] = '\0';
		close(rd_out);
		st = stress_wait(reader_pid);
		reader_pid = 0;
		if (st != 0)
			fail_msg("soak_reader found a wrong snapshot or a reader call failed "
				 "(status %d; see its message above)", st);
		assert_int_equal(sscanf(line, "snapshots=%llu busy=%llu late=%llu work_us=%llu",
					&a, &b, &c, &d), 4);
		rsnaps = a;
		rbusy = b;
		rlate = c;
		rwork_us = d;
	}
	assert_true(rsnaps > 0);

	assert_int_equal(shmstat_gc(seg_name, &reaped), 0);
	s = stress_snap(seg_name);
	t_end = mono_s();
	shmstat_snap_info(s, &info);
	assert_int_equal(info.writers_alive, 0);
	assert_int_equal(info.writers_dead, 0);
	assert_int_equal(info.stripes_owned, 0);
	assert_int_equal(info.bad_descs, 0);
	assert_int_equal(info.metrics, SOAK_METRICS);
	assert_int_equal(shmstat_snap_procs(s), 0);

	/* recount every acknowledged step */
	memset(&acked, 0, sizeof(acked));
	for (int w = 0; w < SOAK_W; w++)
		for (int t = 0; t < SOAK_T; t++) {
			const uint64_t n = soak_ld(&ctl->thr[w][t].ack);

			for (uint64_t i = 0; i < n; i++) {
				struct soak_step sp = soak_step(step_seed, (uint32_t)w,
								(uint32_t)t, i);

				for (int k = 0; k < SOAK_CALLS; k++)
					tally_call(&acked, w, &sp, k);
			}
		}

	expect_count(SOAK_M_TOTAL, stress_counter(s, SOAK_M_TOTAL, ""), acked.total, kl.done.total,
		     kl.undet.total);
	for (int w = 0; w < SOAK_W; w++) {
		char labels[32], what[64];

		snprintf(labels, sizeof(labels), "writer=\"%d\"", w);
		snprintf(what, sizeof(what), SOAK_M_WRITER "{%s}", labels);
		expect_count(what, stress_counter(s, SOAK_M_WRITER, labels), acked.w[w], kl.done.w[w],
			     kl.undet.w[w]);
		for (int t = 0; t < SOAK_T; t++) {
			const uint64_t a = soak_ld(&ctl->thr[w][t].ack);

			snprintf(labels, sizeof(labels), "thread=\"%d\",writer=\"%d\"", t, w);
			assert_true(stress_find(s, SOAK_M_LAST, labels, &mi) >= 0);
			assert_true(mi.has_value);
			if ((uint64_t)mi.gauge != a)
				fail_msg(SOAK_M_LAST "{%s} = %" PRId64 ", acknowledged %" PRIu64,
					 labels, mi.gauge, a);
		}
	}
	assert_true(stress_find(s, SOAK_M_SUM, "", &mi) >= 0);
	assert_true(mi.gauge >= 0);
	expect_count(SOAK_M_SUM, (uint64_t)mi.gauge, acked.sum, kl.done.sum, kl.undet.sum);
	assert_true(stress_find(s, SOAK_M_INFLIGHT, "", &mi) >= 0);
	assert_int_equal(mi.gauge, 0);

	/* the histogram: count and sum */
	m = stress_find(s, SOAK_M_HIST, "", &mi);
	assert_true(m >= 0);
	{
		shmstat_hdata *h;
		struct shmstat_hstats hs;

		assert_int_equal(shmstat_snap_hist(s, (size_t)m, SHMSTAT_PROC_ALL, &h), 0);
		shmstat_hdata_stats(h, &hs);
		shmstat_hdata_free(h);
		assert_int_equal(hs.count, mi.counter);
		expect_count("histogram count", hs.count, acked.hcount, kl.done.hcount, kl.undet.hcount);
		expect_count("histogram sum", hs.sum, acked.vsum, kl.done.vsum, kl.undet.vsum);
		assert_int_equal(hs.underflow, 0);
		assert_int_equal(hs.overflow, 0);
		assert_true(hs.min >= SOAK_VMIN && hs.min <= hs.max && hs.max <= SOAK_VMAX);
	}

	/* the signature table: exact totals, then the entries */
	m = stress_find(s, SOAK_M_SIGS, "", &mi);
	assert_true(m >= 0);
	{
		shmstat_sigview *v;
		struct shmstat_sigstats ss;
		uint64_t entry_events = 0, key_events[SOAK_KEYS] = { 0 }, events;
		size_t ne;

		assert_int_equal(shmstat_snap_sigtab(s, (size_t)m, &v), 0);
		shmstat_sigview_stats(v, &ss);
		expect_count("signature hits", ss.hits, acked.hits, kl.done.hits, kl.undet.hits);
		expect_count("signature misses", ss.misses, acked.misses, kl.done.misses,
			     kl.undet.misses);
		expect_count("signature weight", ss.weight, acked.weight, kl.done.weight,
			     kl.undet.weight);
		assert_int_equal(ss.evictions, 0);
		assert_int_equal(ss.skipped, 0);
		assert_int_equal(shmstat_sigview_owners(v), SOAK_OWNERS);
		for (int k = 0; k < SOAK_OWNERS; k++) {
			struct shmstat_sigowner_info oi;
			char what[64];

			assert_int_equal(shmstat_sigview_owner(v, (size_t)k, &oi), 0);
			assert_string_equal(oi.name, owner_names[k]);
			snprintf(what, sizeof(what), "owner %s hits", oi.name);
			expect_count(what, oi.hits, acked.o_hits[k], kl.done.o_hits[k], kl.undet.o_hits[k]);
			snprintf(what, sizeof(what), "owner %s misses", oi.name);
			expect_count(what, oi.misses, acked.o_misses[k], kl.done.o_misses[k],
				     kl.undet.o_misses[k]);
			snprintf(what, sizeof(what), "owner %s weight", oi.name);
			expect_count(what, oi.weight, acked.o_weight[k], kl.done.o_weight[k],
				     kl.undet.o_weight[k]);
		}
		/* entries: every key is there (its text says which), exact: a
		 * summary for every thread, fewer keys than its capacity, so
		 * every count is the events of the calls that returned, and at
		 * most the calls a kill cut short */
		assert_int_equal(ss.unsummarized, 0);
		assert_int_equal(ss.max_error, 0);
		ne = shmstat_sigview_entries(v);
		assert_int_equal(ne, SOAK_KEYS);
		for (size_t k = 0; k < ne; k++) {
			struct shmstat_sigentry e;
			unsigned key;

			assert_int_equal(shmstat_sigview_entry(v, k, &e), 0);
			assert_int_equal(e.key_len, 32);
			assert_int_equal(sscanf(e.key, "soak-key-%u", &key), 1);
			assert_true(key < SOAK_KEYS);
			assert_int_equal(e.hash, shmstat_sig_hash(keys[key], key_len[key]));
			key_events[key] += e.hits + e.misses;
			entry_events += e.hits + e.misses;
			assert_int_equal(e.err_hits, 0);
			assert_int_equal(e.err_misses, 0);
		}
		events = acked.hits + acked.misses + kl.done.hits + kl.done.misses;
		for (int k = 0; k < SOAK_KEYS; k++)
			expect_count("signature key events", key_events[k], acked.key_events[k],
				     kl.done.key_events[k], kl.undet.key_events[k]);
		printf("  signature entries: %" PRIu64 " events, exact: %" PRIu64
		       " counted for sure, + %" PRIu64 " of the calls kills cut short\n",
		       entry_events, events, entry_events - events);
		shmstat_sigview_free(v);
	}
	{
		const uint64_t total = stress_counter(s, SOAK_M_TOTAL, "");

		printf("  %" PRIu64 " s of load, %d writer slots x %d threads: %" PRIu64
		       " SIGKILLs and restarts (%" PRIu64 " threads killed in the middle of a "
		       "step); %" PRIu64 " steps acknowledged (%.0f/s); %s = %" PRIu64
		       " = acknowledged + %" PRIu64 " (+ %" PRIu64 " done by killed threads, "
		       "%" PRIu64 " killed inside the increment; bound: acknowledged + %" PRIu64
		       " = 4 x kills)\n", seconds, SOAK_W, SOAK_T, kl.n, kl.mid_step, acked.total,
		       (double)acked.total / (t_load - t0), SOAK_M_TOTAL, total,
		       total - acked.total, kl.done.total, kl.undet.total, (uint64_t)SOAK_T * kl.n);
	}
	printf("  reader: %" PRIu64 " snapshots (%.1f/s), %" PRIu64 " SHMSTAT_EBUSY, %" PRIu64
	       " late, %" PRIu64 " us each (wall, checks included); gc reaped %u; %.1f s in all\n",
	       rsnaps, (double)rsnaps / (t_load - t0), rbusy, rlate, rwork_us, reaped, t_end - t0);
	shmstat_snap_free(s);
	munmap(ctl, sizeof(*ctl));
	close(ctl_fd);
	ctl = NULL;
	ctl_fd = -1;
}

static int soak_teardown(void **state)
{
	for (int w = 0; w < SOAK_W; w++) {
		if (writer_pid[w] > 0) {
			kill(writer_pid[w], SIGKILL);
			waitpid(writer_pid[w], NULL, 0);
			writer_pid[w] = 0;
		}
		if (dying_pid[w] > 0) {
			waitpid(dying_pid[w], NULL, 0);
			dying_pid[w] = 0;
		}
	}
	if (reader_pid > 0) {
		kill(reader_pid, SIGKILL);
		waitpid(reader_pid, NULL, 0);
		reader_pid = 0;
	}
	return stress_teardown(state);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_soak, stress_setup, soak_teardown),
	};

	if (argc > 1)
		reader_path = realpath(argv[1], NULL);
	if (reader_path == NULL) {
		fprintf(stderr, "usage: test_soak PATH-OF-soak_reader\n");
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
