/*
 * test_sig_crash.c - writers SIGKILLed at any moment, then reaped
 * (stress suite, ThreadSanitizer build).
 *
 * A table of capacity 64 (key_bytes 16, 4 owner slots, a pool of exactly
 * P x T = 4 summaries) takes 300 keys "ck-<id>" drawn from Zipf(1.0):
 * evictions all the time, so a kill often lands in the middle of one.
 * Each round, P = 2 writer processes of T = 2 threads hammer it; each
 * thread publishes, in memory shared with the parent, the key and kind of
 * the event it is in (stored before the call, cleared after its count)
 * and, after each call returns, its count of that key's hits or misses.
 * The parent waits for the writers' events to pass a target drawn from a
 * fixed seed (a condition, not a time), SIGKILLs one writer, waits for the
 * next target, SIGKILLs the other, reaps both with shmstat_gc. The truth
 * of a key is then within [published, published + the events in flight
 * on it] (one per killed thread at most), and after every round:
 *  - every listed key within its bounds against that truth, every key
 *    not listed at most max_error, max_error <= N / C, key text and
 *    hashes right, guaranteed hits adding up to at most the total
 *    (su_check, sig_util.h);
 *  - the table's hits, misses and weight, and every owner's, within
 *    [published, published + in flight];
 *  - every summary back in the pool: the grave alone is merged, nothing
 *    skipped, and nothing unsummarized ever, though every round's 4
 *    threads needed all 4 summaries of the pool;
 *  - the admission filter was at work (events kept out by it, every
 *    round), and the summaries back in the pool have it all zero again
 *    (read from the segment's bytes: a stale counter would only bend the
 *    next writer's admissions, which no view shows).
 * ROUNDS rounds, then a last one whose writers finish their events:
 * checked while they are still attached, idle (no entry may be left out
 * then: a summary given back with an entry its killed writer left torn
 * must not stay torn when taken again; the 4 summaries and the grave
 * merged), and again after they closed; the last round's events exact.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress_common.h"
#include "sig_util.h"
#include "siggeo.h"

#define P 2
#define T 2
#define NKEYS 300u
#define CAPACITY 64u
#define OWNERS 4u
#define ROUNDS 10
#define LAST_EVENTS 20000u         /* per thread, in the last round */
#define METRIC "sig_crash"

static char keyname[NKEYS][16];
static const char *keyp[NKEYS];
static uint32_t keylen[NKEYS];
static uint64_t keyhash[NKEYS];

static void make_keys(void)
{
	for (unsigned i = 0; i < NKEYS; i++) {
		keylen[i] = (uint32_t)snprintf(keyname[i], sizeof(keyname[i]), "ck-%u", i);
		keyp[i] = keyname[i];
		keyhash[i] = su_hash(keyname[i], keylen[i]);
	}
}

static uint64_t weight_of(unsigned id)
{
	return 1 + id % 13;
}

/* Published by writer thread w of the round. inflight: 0, or 1 + (key
 * << 1 | miss) while an event is under way. */
struct wrec {
	uint64_t events;
	uint64_t inflight;
	uint64_t hits[NKEYS], misses[NKEYS];
};

static struct wrec *recs;      /* P * T, shared */

/* ------------------------------------------------------------ writers */

struct writer {
	const char *name;
	unsigned p, round;
	uint64_t limit;            /* events per thread; 0: until killed */
	int up[2];                 /* child -> parent */
	int cmd[2];                /* last round: EOF on [0] means close */
	const struct writer *all;  /* the round's writers: their pipes to close */
};

struct wthread {
	shmstat_sigtab *t;
	struct wrec *rec;
	const uint32_t *ids;
	const struct su_zipf *z;
	uint64_t seed, limit;
	pthread_barrier_t *bar;
};

static void *writer_thread(void *arg)
{
	struct wthread *w = arg;
	struct wrec *rec = w->rec;

	for (uint64_t n = 0; w->limit == 0 || n < w->limit; n++) {
		uint64_t r = su_next(&w->seed);
		unsigned id = su_zipf_draw(w->z, &w->seed) * 7u % NKEYS;
		int miss = (r & 3) == 0;
		uint32_t own = w->ids[id % 4];

		__atomic_store_n(&rec->inflight, 1 + ((uint64_t)id << 1 | (uint64_t)miss),
				 __ATOMIC_SEQ_CST);
		if (miss) {
			shmstat_sig_miss(w->t, keyname[id], keylen[id], own);
			__atomic_store_n(&rec->misses[id], rec->misses[id] + 1, __ATOMIC_RELAXED);
		} else {
			shmstat_sig_hit(w->t, keyname[id], keylen[id], weight_of(id), own);
			__atomic_store_n(&rec->hits[id], rec->hits[id] + 1, __ATOMIC_RELAXED);
		}
		__atomic_store_n(&rec->inflight, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&rec->events, n + 1, __ATOMIC_RELAXED);
	}
	/* no thread exits before all are done: each holds a stripe (and a
	 * summary) of its own, however the threads run */
	pthread_barrier_wait(w->bar);
	return NULL;
}

/* Register, look the owners up, 'r'; then T threads until killed, or
 * @limit events each, 'd', and on EOF close. */
static int writer_main(void *arg)
{
	const struct writer *wr = arg;
	struct shmstat_metric_def def = { .name = METRIC };
	struct shmstat_sigtab_opts o = su_topts(CAPACITY, 16, OWNERS, P * T, 0);
	struct wthread wt[T];
	pthread_t th[T];
	pthread_barrier_t bar;
	uint32_t ids[4] = { 0 };
	struct su_zipf z;
	shmstat_seg *seg;
	shmstat_sigtab *t;

	char ch;

	close(wr->up[0]);
	close(wr->cmd[1]);
	/* the parent's ends of the writers forked before: only the parent
	 * may hold them, for EOF to mean what it says */
	for (unsigned q = 0; q < wr->p; q++) {
		close(wr->all[q].up[0]);
		close(wr->all[q].cmd[1]);
	}
	CHILD_CHECK(su_zipf_init(&z, NKEYS, 1.0) == 0);
	CHILD_CHECK(shmstat_open(wr->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_sigtab_register(seg, &def, &o, &t) == 0);
	CHILD_CHECK(shmstat_sig_owner(t, "o1", &ids[1]) == 0 && ids[1] == 1);
	CHILD_CHECK(shmstat_sig_owner(t, "o2", &ids[2]) == 0 && ids[2] == 2);
	CHILD_CHECK(shmstat_sig_owner(t, "o3", &ids[3]) == 0 && ids[3] == 3);
	CHILD_CHECK(stress_write(wr->up[1], "r", 1) == 0);
	CHILD_CHECK(pthread_barrier_init(&bar, NULL, T) == 0);
	for (unsigned i = 0; i < T; i++) {
		wt[i] = (struct wthread){ .t = t, .rec = &recs[wr->p * T + i], .ids = ids, .z = &z,
					  .seed = (uint64_t)wr->round << 20 ^ (wr->p * T + i + 1),
					  .limit = wr->limit, .bar = &bar };
		CHILD_CHECK(pthread_create(&th[i], NULL, writer_thread, &wt[i]) == 0);
	}
	for (unsigned i = 0; i < T; i++)
		CHILD_CHECK(pthread_join(th[i], NULL) == 0);
	CHILD_CHECK(stress_write(wr->up[1], "d", 1) == 0);
	CHILD_CHECK(stress_read(wr->cmd[0], &ch, 1) == 0);
	CHILD_CHECK(shmstat_close(seg) == 0);
	su_zipf_free(&z);
	return 0;
}

/* ------------------------------------------------------------ the truth */

struct truth {
	uint64_t h_lo[NKEYS], h_hi[NKEYS], m_lo[NKEYS], m_hi[NKEYS], w_lo[NKEYS], w_hi[NKEYS];
	uint64_t own_lo[OWNERS], own_hi[OWNERS];       /* events per owner slot */
	uint64_t own_wlo[OWNERS], own_whi[OWNERS];
	uint64_t hits_lo, hits_hi, misses_lo, misses_hi, weight_lo, weight_hi;
	uint64_t inflight;         /* events found in flight, all rounds */
	struct su_truth x;
};

/* Add the round's published counts and events in flight. */
static void truth_add_round(struct truth *t)
{
	for (unsigned w = 0; w < P * T; w++) {
		const struct wrec *rec = &recs[w];
		uint64_t f = rec->inflight;

		for (unsigned i = 0; i < NKEYS; i++) {
			uint64_t h = rec->hits[i], m = rec->misses[i];

			t->h_lo[i] += h;
			t->h_hi[i] += h;
			t->m_lo[i] += m;
			t->m_hi[i] += m;
			t->w_lo[i] += h * weight_of(i);
			t->w_hi[i] += h * weight_of(i);
			t->own_lo[i % 4] += h + m;
			t->own_hi[i % 4] += h + m;
			t->own_wlo[i % 4] += h * weight_of(i);
			t->own_whi[i % 4] += h * weight_of(i);
			t->hits_lo += h;
			t->hits_hi += h;
			t->misses_lo += m;
			t->misses_hi += m;
			t->weight_lo += h * weight_of(i);
			t->weight_hi += h * weight_of(i);
		}
		if (f) {
			unsigned id = (unsigned)((f - 1) >> 1);
			int miss = (int)((f - 1) & 1);

			t->inflight++;
			t->own_hi[id % 4]++;
			if (miss) {
				t->m_hi[id]++;
				t->misses_hi++;
			} else {
				t->h_hi[id]++;
				t->w_hi[id] += weight_of(id);
				t->hits_hi++;
				t->weight_hi += weight_of(id);
				t->own_whi[id % 4] += weight_of(id);
			}
		}
	}
}

/* Every free summary of the table's pool has its filter all zero (the
 * segment's own bytes, read-only: this file knows format.md's layout). */
static void check_filters_clear(const char *name, const char *when)
{
	struct shmstat_sumgeo g;
	const uint64_t *claims;
	unsigned char *base, *sums;
	uint32_t pool;
	size_t len;

	base = su_map_segment(name, 0, &len);
	assert_non_null(base);
	sums = su_table_sums(base, &g, &claims, &pool);
	assert_non_null(sums);
	for (uint32_t k = 0; k < pool; k++) {
		const uint32_t *f = (const uint32_t *)(const void *)
			(sums + (SHMSTAT_SIG_GRAVES + k) * g.bytes + g.off_filter);

		if (SHMSTAT_SUM_STATE(claims[k]) != SHMSTAT_SUM_FREE)
			continue;
		for (uint32_t j = 0; j < g.nfilter; j++)
			if (f[j] != 0)
				fail_msg("%s: summary %u back in the pool has filter counter "
					 "%u = %u", when, k, j, f[j]);
	}
	munmap(base, len);
}

/* @summaries: summaries merged (the grave alone after a gc). */
static void check(const char *name, const struct truth *t, uint32_t summaries, const char *when)
{
	shmstat_snap *s = stress_snap(name);
	shmstat_sigview *v = su_view(s, METRIC);
	struct shmstat_sigstats st;
	struct su_res r;

	assert_non_null(v);
	shmstat_sigview_stats(v, &st);
	if (su_check(v, &t->x, SU_QUIESCENT, when, &r) != 0)
		fail_msg("%s: %llu bounds violated", when, (unsigned long long)r.bad);
	if (st.hits < t->hits_lo || st.hits > t->hits_hi || st.misses < t->misses_lo ||
	    st.misses > t->misses_hi || st.weight < t->weight_lo || st.weight > t->weight_hi)
		fail_msg("%s: totals hits %llu misses %llu weight %llu, truth %llu..%llu, "
			 "%llu..%llu, %llu..%llu", when, (unsigned long long)st.hits,
			 (unsigned long long)st.misses, (unsigned long long)st.weight,
			 (unsigned long long)t->hits_lo, (unsigned long long)t->hits_hi,
			 (unsigned long long)t->misses_lo, (unsigned long long)t->misses_hi,
			 (unsigned long long)t->weight_lo, (unsigned long long)t->weight_hi);
	if (st.summaries != summaries || st.skipped != 0 || st.unsummarized != 0)
		fail_msg("%s: %u summaries merged (%u expected), %u skipped, %llu unsummarized",
			 when, st.summaries, summaries, st.skipped,
			 (unsigned long long)st.unsummarized);
	if (st.filtered == 0)
		fail_msg("%s: no event kept out by the admission filter", when);
	assert_int_equal(shmstat_sigview_owners(v), 3);
	for (size_t o = 0; o < 3; o++) {
		struct shmstat_sigowner_info oi;

		assert_int_equal(shmstat_sigview_owner(v, o, &oi), 0);
		if (oi.hits + oi.misses < t->own_lo[o + 1] || oi.hits + oi.misses > t->own_hi[o + 1] ||
		    oi.weight < t->own_wlo[o + 1] || oi.weight > t->own_whi[o + 1])
			fail_msg("%s: owner %s: %llu events weight %llu, truth %llu..%llu, "
				 "%llu..%llu", when, oi.name,
				 (unsigned long long)(oi.hits + oi.misses),
				 (unsigned long long)oi.weight, (unsigned long long)t->own_lo[o + 1],
				 (unsigned long long)t->own_hi[o + 1],
				 (unsigned long long)t->own_wlo[o + 1],
				 (unsigned long long)t->own_whi[o + 1]);
	}
	print_message("%s: %llu events (%llu in flight when killed, all rounds), %llu evictions, "
		      "%u keys listed, max_error %llu (N/C %llu)\n", when,
		      (unsigned long long)st.events, (unsigned long long)t->inflight,
		      (unsigned long long)st.evictions, st.used, (unsigned long long)st.max_error,
		      (unsigned long long)(st.events / CAPACITY));
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
}

static uint64_t events_of(unsigned p)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < T; i++)
		n += __atomic_load_n(&recs[p * T + i].events, __ATOMIC_RELAXED);
	return n;
}

/* Wait until writer @p's threads made @n events in all. */
static void wait_events(unsigned p, uint64_t n, pid_t pid)
{
	while (events_of(p) < n) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid)
			fail_msg("writer %d ended (status %d) before %llu events", (int)pid,
				 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
				 (unsigned long long)n);
		sched_yield();
	}
}

static void test_crash(void **state)
{
	const char *name = stress_name("sigcrash");
	struct shmstat_sigtab_opts to = su_topts(CAPACITY, 16, OWNERS, P * T, 0);
	struct truth *t = calloc(1, sizeof(*t));
	struct shmstat_opts o;
	struct writer wr[P];
	pid_t pid[P];
	uint64_t seed = 0xc4a54;
	unsigned reaped;
	char when[64];

	(void)state;
	assert_non_null(t);
	make_keys();
	t->x.n = NKEYS;
	t->x.hash = keyhash;
	t->x.hits_lo = t->h_lo;
	t->x.hits_hi = t->h_hi;
	t->x.misses_lo = t->m_lo;
	t->x.misses_hi = t->m_hi;
	t->x.w_lo = t->w_lo;
	t->x.w_hi = t->w_hi;
	t->x.key = keyp;
	t->x.len = keylen;
	assert_int_equal(su_map_init(&t->x.map, keyhash, NKEYS), 0);
	recs = mmap(NULL, P * T * sizeof(*recs), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(recs != MAP_FAILED);
	shmstat_opts_init(&o);
	o.max_procs = 8;
	o.max_metrics = 4;
	o.max_values = 64;
	o.max_threads = 8;
	o.max_stacks = 0;
	o.max_modules = 64;
	o.sig_bytes = shmstat_sigtab_bytes(&to);
	stress_create(name, &o);

	for (unsigned round = 0; round <= ROUNDS; round++) {
		int last = round == ROUNDS;

		memset(recs, 0, P * T * sizeof(*recs));
		for (unsigned p = 0; p < P; p++) {
			wr[p] = (struct writer){ .name = name, .p = p, .round = round,
						 .limit = last ? LAST_EVENTS : 0, .all = wr };
			stress_pipe(wr[p].up);
			stress_pipe(wr[p].cmd);
			pid[p] = stress_spawn(writer_main, &wr[p]);
			close(wr[p].up[1]);
			close(wr[p].cmd[0]);
		}
		for (unsigned p = 0; p < P; p++)
			stress_expect(wr[p].up[0], pid[p]);
		if (!last) {
			/* each writer killed once its threads made a number of
			 * events drawn from 1,000 .. 20,000 */
			for (unsigned p = 0; p < P; p++) {
				wait_events(p, 1000 + su_next(&seed) % 19000, pid[p]);
				assert_int_equal(kill(pid[p], SIGKILL), 0);
				assert_int_equal(stress_wait(pid[p]), 128 + SIGKILL);
			}
			assert_int_equal(shmstat_gc(name, &reaped), 0);
			assert_int_equal(reaped, P);
		} else {
			for (unsigned p = 0; p < P; p++)
				stress_expect(wr[p].up[0], pid[p]);
			for (unsigned w = 0; w < P * T; w++) {
				assert_int_equal(recs[w].events, LAST_EVENTS);
				assert_int_equal(recs[w].inflight, 0);
			}
			truth_add_round(t);
			check(name, t, P * T + 1, "last round, attached");
			for (unsigned p = 0; p < P; p++)
				close(wr[p].cmd[1]);
			for (unsigned p = 0; p < P; p++)
				assert_int_equal(stress_wait(pid[p]), 0);
			assert_int_equal(shmstat_gc(name, &reaped), 0);
		}
		for (unsigned p = 0; p < P; p++) {
			close(wr[p].up[0]);
			if (!last)
				close(wr[p].cmd[1]);
		}
		if (!last)
			truth_add_round(t);
		snprintf(when, sizeof(when), last ? "last round, closed" : "round %u, killed",
			 round);
		check(name, t, 1, when);
		check_filters_clear(name, when);
	}
	su_map_free(&t->x.map);
	free(t);
	munmap(recs, P * T * sizeof(*recs));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_crash, stress_setup, stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests_name("sig_crash", tests, NULL, NULL);
}
