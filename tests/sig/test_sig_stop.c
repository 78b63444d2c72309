/*
 * test_sig_stop.c - a writer stopped anywhere, even in the middle of an
 * event, holds nothing another writer or a reader waits for (stress
 * suite, ThreadSanitizer build).
 *
 * One table: capacity 64, key_bytes 16, a pool of 8 summaries. Writer S
 * (one thread) hammers it with 300 keys "s-<id>" drawn from Zipf(1.0),
 * evictions all the time, publishing in shared memory the event it is in
 * (before the call; cleared after) and, after each call, its count of
 * that key's hits or misses, and its number of events.
 *
 *  stop: CYCLES times, the parent waits for S's events to pass a target
 *      drawn from a fixed seed (a condition, not a time), SIGSTOPs S and
 *      waits until it is stopped, takes a snapshot, SIGCONTs it. With S
 *      stopped, its state is frozen: the truth of each key is within
 *      [published, published + the event in flight]. Each snapshot: at
 *      most one entry left out (skipped), all of S's other entries listed
 *      (at least capacity - 1 keys), every bound against that truth
 *      (su_check, sig_util.h), the totals within it. At least one stop
 *      must have caught S in an event (else the test proves nothing).
 *      Then a last stop, and while S stays stopped, 2 more writer
 *      processes of 2 threads each (15 keys per thread: all fit, 60 in
 *      all) make all their events and close; the parent waits for both to
 *      exit (S's count of events has not moved: S was stopped all along),
 *      then checks: every one of their events counted (their keys' counts
 *      exact as guaranteed counts: hits - err_hits and misses - err_misses
 *      equal the truth), totals exact but for S's event in flight, S's
 *      keys within their bounds. Then SIGCONT; S finishes the event it
 *      was in and stops counting; every event of S counted: totals exact,
 *      every key within its bounds against the exact truth; again once S
 *      has closed (everything in the grave).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "stress_common.h"
#include "sig_util.h"

#define SKEYS 300u
#define OPROCS 2
#define OTHREADS 2
#define OKEYS 15u                  /* per other thread */
#define NKEYS (SKEYS + OPROCS * OTHREADS * OKEYS)
#define OEVENTS 6000u              /* per other thread */
#define CAPACITY 64u
#define CYCLES 40
#define METRIC "sig_stop"

static char keyname[NKEYS][16];
static const char *keyp[NKEYS];
static uint32_t keylen[NKEYS];
static uint64_t keyhash[NKEYS];

/* keys: S's 0..SKEYS-1, then thread (q, j)'s OKEYS */
static void make_keys(void)
{
	for (unsigned i = 0; i < NKEYS; i++) {
		if (i < SKEYS)
			keylen[i] = (uint32_t)snprintf(keyname[i], sizeof(keyname[i]), "s-%u", i);
		else
			keylen[i] = (uint32_t)snprintf(keyname[i], sizeof(keyname[i]), "o-%u",
						       i - SKEYS);
		keyp[i] = keyname[i];
		keyhash[i] = su_hash(keyname[i], keylen[i]);
	}
}

static uint64_t weight_of(unsigned id)
{
	return 1 + id % 5;
}

/* Shared: what S published; the others' counts; S's order to stop. */
struct shared {
	uint64_t s_events, s_inflight, s_quit;
	uint64_t hits[NKEYS], misses[NKEYS];   /* S's keys by S, others' by them */
};

static struct shared *sh;

static struct shmstat_sigtab_opts table_opts(void)
{
	return su_topts(CAPACITY, 16, 0, 8, 0);
}

static shmstat_sigtab *attach(const char *name, shmstat_seg **seg)
{
	struct shmstat_metric_def def = { .name = METRIC };
	struct shmstat_sigtab_opts o = table_opts();
	shmstat_sigtab *t;

	CHILD_CHECK(shmstat_open(name, NULL, seg) == 0);
	CHILD_CHECK(shmstat_sigtab_register(*seg, &def, &o, &t) == 0);
	return t;
}

/* ------------------------------------------------------------ writers */

struct child {
	const char *name;
	unsigned q;                /* the others: 0 .. OPROCS - 1 */
	int up[2];                 /* child -> parent */
	int cmd[2];                /* S: EOF on [0] means close */
};

/* S: 'r' once registered, then events until s_quit, then 'd'; EOF:
 * close. */
static int s_main(void *arg)
{
	const struct child *c = arg;
	struct su_zipf z;
	shmstat_seg *seg;
	shmstat_sigtab *t;
	uint64_t seed = 0x570b;
	char ch;

	close(c->up[0]);
	close(c->cmd[1]);
	CHILD_CHECK(su_zipf_init(&z, SKEYS, 1.0) == 0);
	t = attach(c->name, &seg);
	CHILD_CHECK(stress_write(c->up[1], "r", 1) == 0);
	for (uint64_t n = 0; !__atomic_load_n(&sh->s_quit, __ATOMIC_ACQUIRE); n++) {
		unsigned id = su_zipf_draw(&z, &seed) * 7u % SKEYS;
		int miss = (su_next(&seed) & 3) == 0;

		__atomic_store_n(&sh->s_inflight, 1 + ((uint64_t)id << 1 | (uint64_t)miss),
				 __ATOMIC_SEQ_CST);
		if (miss) {
			shmstat_sig_miss(t, keyname[id], keylen[id], 0);
			__atomic_store_n(&sh->misses[id], sh->misses[id] + 1, __ATOMIC_RELAXED);
		} else {
			shmstat_sig_hit(t, keyname[id], keylen[id], weight_of(id), 0);
			__atomic_store_n(&sh->hits[id], sh->hits[id] + 1, __ATOMIC_RELAXED);
		}
		__atomic_store_n(&sh->s_inflight, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sh->s_events, n + 1, __ATOMIC_RELEASE);
	}
	CHILD_CHECK(stress_write(c->up[1], "d", 1) == 0);
	CHILD_CHECK(stress_read(c->cmd[0], &ch, 1) == 0);    /* EOF: close */
	CHILD_CHECK(shmstat_close(seg) == 0);
	su_zipf_free(&z);
	return 0;
}

struct other {
	shmstat_sigtab *t;
	unsigned first;            /* its first key */
	uint64_t seed;
};

static void *other_thread(void *arg)
{
	struct other *o = arg;

	for (unsigned n = 0; n < OEVENTS; n++) {
		unsigned id = o->first + (unsigned)(su_next(&o->seed) % OKEYS);

		if (n % 4 == 3) {
			shmstat_sig_miss(o->t, keyname[id], keylen[id], 0);
			__atomic_store_n(&sh->misses[id], sh->misses[id] + 1, __ATOMIC_RELAXED);
		} else {
			shmstat_sig_hit(o->t, keyname[id], keylen[id], weight_of(id), 0);
			__atomic_store_n(&sh->hits[id], sh->hits[id] + 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static int other_main(void *arg)
{
	const struct child *c = arg;
	struct other ot[OTHREADS];
	pthread_t th[OTHREADS];
	shmstat_seg *seg;
	shmstat_sigtab *t;

	close(c->up[0]);
	t = attach(c->name, &seg);
	for (unsigned j = 0; j < OTHREADS; j++) {
		ot[j] = (struct other){ .t = t, .first = SKEYS + (c->q * OTHREADS + j) * OKEYS,
					.seed = c->q * 100 + j + 1 };
		CHILD_CHECK(pthread_create(&th[j], NULL, other_thread, &ot[j]) == 0);
	}
	for (unsigned j = 0; j < OTHREADS; j++)
		CHILD_CHECK(pthread_join(th[j], NULL) == 0);
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

/* ------------------------------------------------------------ checking */

struct truth {
	uint64_t h_lo[NKEYS], h_hi[NKEYS], m_lo[NKEYS], m_hi[NKEYS], w_lo[NKEYS], w_hi[NKEYS];
	uint64_t hits_lo, hits_hi, misses_lo, misses_hi;
	struct su_truth x;
};

/* The truth now: the published counts, S's event in flight on top. */
static void truth_read(struct truth *t)
{
	uint64_t f = __atomic_load_n(&sh->s_inflight, __ATOMIC_ACQUIRE);

	t->hits_lo = t->hits_hi = t->misses_lo = t->misses_hi = 0;
	for (unsigned i = 0; i < NKEYS; i++) {
		t->h_lo[i] = t->h_hi[i] = __atomic_load_n(&sh->hits[i], __ATOMIC_RELAXED);
		t->m_lo[i] = t->m_hi[i] = __atomic_load_n(&sh->misses[i], __ATOMIC_RELAXED);
		t->w_lo[i] = t->w_hi[i] = t->h_lo[i] * weight_of(i);
		t->hits_lo += t->h_lo[i];
		t->misses_lo += t->m_lo[i];
	}
	t->hits_hi = t->hits_lo;
	t->misses_hi = t->misses_lo;
	if (f) {
		unsigned id = (unsigned)((f - 1) >> 1);

		if ((f - 1) & 1) {
			t->m_hi[id]++;
			t->misses_hi++;
		} else {
			t->h_hi[id]++;
			t->w_hi[id] += weight_of(id);
			t->hits_hi++;
		}
	}
}

/* A snapshot against the truth; the view's stats into @st, the number of
 * S's keys listed into *@s_listed. Fails on a violation. @others: the
 * others' keys must be exact as guaranteed counts. */
static void check(const char *name, const struct truth *t, int others, const char *when,
		  struct shmstat_sigstats *st, unsigned *s_listed)
{
	shmstat_snap *s = stress_snap(name);
	shmstat_sigview *v = su_view(s, METRIC);
	struct su_res r;

	assert_non_null(v);
	shmstat_sigview_stats(v, st);
	if (su_check(v, &t->x, SU_QUIESCENT, when, &r) != 0)
		fail_msg("%s: %llu bounds violated", when, (unsigned long long)r.bad);
	if (st->hits < t->hits_lo || st->hits > t->hits_hi || st->misses < t->misses_lo ||
	    st->misses > t->misses_hi)
		fail_msg("%s: totals hits %llu misses %llu, truth %llu..%llu, %llu..%llu", when,
			 (unsigned long long)st->hits, (unsigned long long)st->misses,
			 (unsigned long long)t->hits_lo, (unsigned long long)t->hits_hi,
			 (unsigned long long)t->misses_lo, (unsigned long long)t->misses_hi);
	*s_listed = 0;
	for (size_t k = 0; k < shmstat_sigview_entries(v); k++) {
		struct shmstat_sigentry e;
		long id;

		assert_int_equal(shmstat_sigview_entry(v, k, &e), 0);
		id = su_map_find(&t->x.map, e.hash);
		assert_true(id >= 0);
		if (id < (long)SKEYS)
			(*s_listed)++;
	}
	if (others) {
		for (unsigned i = SKEYS; i < NKEYS; i++) {
			struct shmstat_sigentry e;

			if (t->h_lo[i] + t->m_lo[i] == 0)
				continue;
			if (su_entry_of(v, keyhash[i], &e) < 0)
				fail_msg("%s: %s (%llu events) is not listed", when, keyname[i],
					 (unsigned long long)(t->h_lo[i] + t->m_lo[i]));
			if (e.hits - e.err_hits != t->h_lo[i] || e.misses - e.err_misses != t->m_lo[i])
				fail_msg("%s: %s: guaranteed hits %llu misses %llu, exact %llu %llu",
					 when, keyname[i], (unsigned long long)(e.hits - e.err_hits),
					 (unsigned long long)(e.misses - e.err_misses),
					 (unsigned long long)t->h_lo[i],
					 (unsigned long long)t->m_lo[i]);
		}
	}
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
}

/* Stop S once its events pass @target; whether it was in an event. */
static int stop_s(pid_t pid, uint64_t target)
{
	int st;

	while (__atomic_load_n(&sh->s_events, __ATOMIC_ACQUIRE) < target) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			fail_msg("S ended (status %d) before %llu events",
				 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
				 (unsigned long long)target);
		sched_yield();
	}
	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
	assert_true(WIFSTOPPED(st));
	return __atomic_load_n(&sh->s_inflight, __ATOMIC_ACQUIRE) != 0;
}

static void test_stop(void **state)
{
	const char *name = stress_name("sigstop");
	struct shmstat_sigtab_opts to = table_opts();
	struct truth *t = calloc(1, sizeof(*t));
	struct shmstat_sigstats st;
	struct shmstat_opts o;
	struct child sc = { .name = NULL }, oc[OPROCS];
	pid_t spid, opid[OPROCS];
	uint64_t seed = 0x5709, frozen;
	unsigned mid = 0, skipped = 0, listed, reaped;
	char when[64], ch;

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
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	shmstat_opts_init(&o);
	o.max_procs = 8;
	o.max_metrics = 4;
	o.max_values = 64;
	o.max_threads = 8;
	o.max_stacks = 0;
	o.max_modules = 64;
	o.sig_bytes = shmstat_sigtab_bytes(&to);
	stress_create(name, &o);

	sc.name = name;
	stress_pipe(sc.up);
	stress_pipe(sc.cmd);
	spid = stress_spawn(s_main, &sc);
	close(sc.up[1]);
	close(sc.cmd[0]);
	stress_expect(sc.up[0], spid);

	/* stops at random moments */
	for (int c = 0; c < CYCLES; c++) {
		uint64_t target = __atomic_load_n(&sh->s_events, __ATOMIC_ACQUIRE) + 200 +
				  su_next(&seed) % 3000;

		mid += (unsigned)stop_s(spid, target);
		truth_read(t);
		snprintf(when, sizeof(when), "stop %d", c);
		check(name, t, 0, when, &st, &listed);
		if (st.skipped > 1 || (st.evictions > 0 && listed + st.skipped < CAPACITY))
			fail_msg("%s: %u entries skipped, %u of S's keys listed (capacity %u)", when,
				 st.skipped, listed, CAPACITY);
		skipped += st.skipped;
		assert_int_equal(kill(spid, SIGCONT), 0);
	}
	print_message("%d stops: %u in the middle of an event, %u with an entry skipped\n",
		      CYCLES, mid, skipped);
	if (mid == 0)
		fail_msg("no stop caught S in an event");

	/* the last stop: the others come, count and go meanwhile */
	stop_s(spid, __atomic_load_n(&sh->s_events, __ATOMIC_ACQUIRE) + 500);
	frozen = __atomic_load_n(&sh->s_events, __ATOMIC_ACQUIRE);
	for (unsigned q = 0; q < OPROCS; q++) {
		oc[q] = (struct child){ .name = name, .q = q };
		stress_pipe(oc[q].up);
		opid[q] = stress_spawn(other_main, &oc[q]);
		close(oc[q].up[1]);
	}
	for (unsigned q = 0; q < OPROCS; q++) {
		assert_int_equal(stress_wait(opid[q]), 0);
		close(oc[q].up[0]);
	}
	assert_int_equal(__atomic_load_n(&sh->s_events, __ATOMIC_ACQUIRE), frozen);
	truth_read(t);
	check(name, t, 1, "others done, S stopped", &st, &listed);
	{
		uint64_t others = 0;

		for (unsigned i = SKEYS; i < NKEYS; i++)
			others += t->h_lo[i] + t->m_lo[i];
		assert_int_equal(others, OPROCS * OTHREADS * OEVENTS);
	}
	assert_true(st.skipped <= 1);

	/* S goes on, finishes its event, stops counting */
	assert_int_equal(kill(spid, SIGCONT), 0);
	__atomic_store_n(&sh->s_quit, 1, __ATOMIC_RELEASE);
	stress_expect(sc.up[0], spid);
	assert_int_equal(sh->s_inflight, 0);
	truth_read(t);
	check(name, t, 1, "S done", &st, &listed);
	assert_int_equal(st.hits, t->hits_lo);
	assert_int_equal(st.misses, t->misses_lo);
	assert_int_equal(st.skipped, 0);
	close(sc.cmd[1]);
	assert_int_equal(stress_wait(spid), 0);
	assert_int_equal(stress_read(sc.up[0], &ch, 1), 0);
	close(sc.up[0]);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	check(name, t, 0, "S closed", &st, &listed);
	assert_int_equal(st.hits, t->hits_lo);
	assert_int_equal(st.summaries, 1);
	su_map_free(&t->x.map);
	free(t);
	munmap(sh, sizeof(*sh));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stop, stress_setup, stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests_name("sig_stop", tests, NULL, NULL);
}
