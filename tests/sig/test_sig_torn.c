/*
 * test_sig_torn.c - torn reads (stress suite, ThreadSanitizer build).
 *
 * Writers hammer a small table while readers check every entry they
 * accept. Processes, all forked before any thread exists:
 *   W1: 2 writer threads + 1 reader thread (a reader inside a writer)
 *   W2: 2 writer threads
 *   R:  a reader process
 * 40 keys "tk-<id>" (shorter than the 32-byte prefix, so the prefix IS the
 * key). Every event on key id is a miss (1 in 5) or a hit of weight
 * w(id) = 1 + (XXH3(key) & 0xffff), for owner id % 3 (0: none). The
 * weight is the checksum the test writes into the entry: an entry that
 * only ever took events of its key satisfies
 *     weight - err_weight == (hits - err_hits) * w(id)
 * (inherited counts are exactly the error bounds, whatever they are), and
 * a read that mixes two states of the entry (hits bumped, weight not yet;
 * a new hash with the old prefix; ...) does not.
 *
 * Every accepted entry of every snapshot must satisfy: its prefix is one
 * of the keys, keylen and prefix_len are its length, hash = XXH3(prefix),
 * the checksum above, err <= count for hits, misses and weight,
 * first_ns <= last_ns, gen >= 1, the key's owner, hit_rate = hits /
 * (hits + misses). Readers count entries left out as skipped (allowed,
 * reported). Writers run until each reader has taken MIN_CONC snapshots
 * during which the table's hits moved (so reads and writes overlapped)
 * and each writer thread has made MIN_EVENTS events: no timing involved.
 *
 *  no_evict: capacity 64 (40 keys fit): additionally err = 0, weight =
 *      hits * w(id) exactly, each key's hits and misses never go down from
 *      one snapshot to the next, no eviction. At the end, each entry
 *      equals the writers' exact counts, less at most the events counted
 *      as dropped (see test_sig_exact.c about dropped events).
 *  evict: capacity 16 (40 keys: evictions all the time): the invariants
 *      that survive eviction; at the end exact - dropped <= c <= exact +
 *      err for every entry, evictions > 0.
 * Table totals (exact, striped) always equal the writers' counts.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "stress_common.h"
#include "sig_util.h"

#define NKEYS 40u
#define MIN_EVENTS 100000u     /* per writer thread */
#define MIN_CONC 300u          /* per reader: snapshots with hits moving */
#define METRIC "sig_torn"
#define OWNERS 4u
#define NCHILD 3

static char keyname[NKEYS][16];
static size_t keylen[NKEYS];
static uint64_t keyw[NKEYS];

static void make_keys(void)
{
	for (unsigned i = 0; i < NKEYS; i++) {
		keylen[i] = (size_t)snprintf(keyname[i], sizeof(keyname[i]), "tk-%u", i);
		keyw[i] = 1 + (XXH3_64bits(keyname[i], keylen[i]) & 0xffff);
	}
}

static const char *owner_of(unsigned id)
{
	static const char *const names[3] = { "", "o1", "o2" };

	return names[id % 3];
}

/* ------------------------------------------------------------ readers */

struct rd_result {
	uint64_t snaps, conc, busy, absent, accepted, skipped;
	uint64_t invalid;          /* entries a torn read would explain */
	uint64_t time_order;       /* first_ns > last_ns (see below) */
};

struct rd_ctx {
	const char *name;
	int exact;                 /* no eviction: the stricter checks */
	int up_fd;                 /* 'r' once MIN_CONC is reached */
	int stop_fd;               /* a process: EOF on it means stop */
	const int *stop_flag;      /* a thread: set means stop */
	struct rd_result res;
};

static int rd_stop(const struct rd_ctx *c)
{
	struct pollfd p = { .fd = c->stop_fd, .events = POLLIN };

	if (c->stop_flag)
		return __atomic_load_n(c->stop_flag, __ATOMIC_ACQUIRE);
	return poll(&p, 1, 0) > 0;
}

/* One accepted entry: 0 if valid; else print why (the first few times)
 * and return 1 for an entry a torn read would explain, 2 for an entry
 * whose only fault is first_ns > last_ns (an ordering of the writers'
 * clock reads, not a torn read: it is counted apart). */
static int rd_check_entry(const struct rd_ctx *c, const struct shmstat_sigentry *e,
			  uint64_t last_hits[NKEYS], uint64_t last_misses[NKEYS])
{
	static unsigned printed;
	unsigned id;
	const char *why = NULL;
	int ret = 1;

	if (e->keylen == 0 || e->keylen >= 16 || e->prefix_len != e->keylen ||
	    sscanf(e->prefix, "tk-%u", &id) != 1 || id >= NKEYS || keylen[id] != e->keylen ||
	    memcmp(e->prefix, keyname[id], keylen[id]) != 0) {
		why = "not one of the keys";
		id = 0;
	} else if (e->hash != su_hash(e->prefix, e->keylen)) {
		why = "hash is not the prefix's";
	} else if (e->err_hits > e->hits || e->err_misses > e->misses ||
		   e->err_weight > e->weight) {
		why = "error bound above the count";
	} else if (e->weight - e->err_weight != (e->hits - e->err_hits) * keyw[id]) {
		why = "weight checksum";
	} else if (e->gen < 1) {
		why = "gen 0";
	} else if (strcmp(e->owner, owner_of(id)) != 0) {
		why = "owner";
	} else if (e->hits + e->misses > 0 &&
		   e->hit_rate != (double)e->hits / (double)(e->hits + e->misses)) {
		why = "hit rate";
	} else if (c->exact && (e->err_hits || e->err_misses || e->err_weight ||
				e->hits < last_hits[id] || e->misses < last_misses[id])) {
		why = "an error bound without eviction, or a count went down";
	} else if (e->first_ns > e->last_ns) {
		why = "first_ns > last_ns";
		ret = 2;
	}
	if (why && printed++ < 4) {
		fprintf(stderr, "reader %d: invalid entry (%s): prefix '%.*s' keylen %u hash %llx "
			"hits %llu misses %llu weight %llu err %llu/%llu/%llu gen %u\n",
			(int)getpid(), why, (int)e->prefix_len, e->prefix, e->keylen,
			(unsigned long long)e->hash, (unsigned long long)e->hits,
			(unsigned long long)e->misses, (unsigned long long)e->weight,
			(unsigned long long)e->err_hits, (unsigned long long)e->err_misses,
			(unsigned long long)e->err_weight, e->gen);
		if (ret == 2)
			fprintf(stderr, "  first_ns %llu > last_ns %llu by %llu ns\n",
				(unsigned long long)e->first_ns, (unsigned long long)e->last_ns,
				(unsigned long long)(e->first_ns - e->last_ns));
	}
	if (why)
		return ret;
	if (c->exact) {
		last_hits[id] = e->hits;
		last_misses[id] = e->misses;
	}
	return 0;
}

static void rd_loop(struct rd_ctx *c)
{
	shmstat_reader *r = NULL;
	uint64_t prev_hits = UINT64_MAX, prev_evict = 0;
	uint64_t last_hits[NKEYS] = { 0 }, last_misses[NKEYS] = { 0 };
	int reported = 0;

	CHILD_CHECK(shmstat_reader_open(c->name, &r) == 0);
	while (!rd_stop(c)) {
		shmstat_snap *s = NULL;
		shmstat_sigview *v;
		struct shmstat_sigstats st;
		int err = shmstat_snapshot(r, &s);

		if (err == SHMSTAT_EBUSY) {
			c->res.busy++;
			continue;
		}
		CHILD_CHECK(err == 0);
		v = su_view(s, METRIC);
		if (v == NULL) {
			/* no writer registered the table yet */
			c->res.absent++;
			shmstat_snap_free(s);
			continue;
		}
		shmstat_sigview_stats(v, &st);
		c->res.snaps++;
		c->res.skipped += st.skipped;
		if (c->exact)
			CHILD_CHECK(st.evictions == 0);
		CHILD_CHECK(st.evictions >= prev_evict);
		prev_evict = st.evictions;
		for (size_t k = 0; k < shmstat_sigview_entries(v); k++) {
			struct shmstat_sigentry e;

			CHILD_CHECK(shmstat_sigview_entry(v, k, &e) == 0);
			c->res.accepted++;
			switch (rd_check_entry(c, &e, last_hits, last_misses)) {
			case 1: c->res.invalid++; break;
			case 2: c->res.time_order++; break;
			default: break;
			}
		}
		if (prev_hits != UINT64_MAX && st.hits != prev_hits)
			c->res.conc++;
		prev_hits = st.hits;
		shmstat_sigview_free(v);
		shmstat_snap_free(s);
		if (!reported && c->res.conc >= MIN_CONC) {
			CHILD_CHECK(stress_write(c->up_fd, "r", 1) == 0);
			reported = 1;
		}
	}
	shmstat_reader_close(r);
}

/* ------------------------------------------------------------ writers */

struct child {
	const char *name;
	uint32_t capacity;
	int idx;                   /* 0: W1, 1: W2, 2: R */
	int up[NCHILD][2];         /* child -> parent */
	int stop[2];               /* parent closes [1]: stop */
};

struct wcounts {
	uint64_t hits[NKEYS], misses[NKEYS];
};

struct wthread {
	shmstat_sigtab *t;
	const uint32_t *ids;       /* owner index (id % 3) -> owner id */
	const int *stop;
	int up_fd;
	uint64_t seed;
	struct wcounts n;
};

static void *writer_thread(void *arg)
{
	struct wthread *w = arg;
	uint64_t events = 0;
	int reported = 0;

	while (!__atomic_load_n(w->stop, __ATOMIC_ACQUIRE)) {
		for (int b = 0; b < 64; b++) {
			uint64_t r = su_next(&w->seed);
			unsigned id = (unsigned)(r % NKEYS);

			if ((r >> 32) % 5 == 0) {
				shmstat_sig_miss(w->t, keyname[id], keylen[id], w->ids[id % 3]);
				w->n.misses[id]++;
			} else {
				shmstat_sig_hit(w->t, keyname[id], keylen[id], keyw[id],
						w->ids[id % 3]);
				w->n.hits[id]++;
			}
		}
		events += 64;
		if (!reported && events >= MIN_EVENTS) {
			CHILD_CHECK(stress_write(w->up_fd, "w", 1) == 0);
			reported = 1;
		}
	}
	return NULL;
}

static void *reader_thread(void *arg)
{
	rd_loop(arg);
	return NULL;
}

static void child_fds(const struct child *c)
{
	close(c->stop[1]);
	for (int j = 0; j < NCHILD; j++) {
		close(c->up[j][0]);
		if (j != c->idx)
			close(c->up[j][1]);
	}
}

static struct shmstat_sigtab_opts table_opts(uint32_t capacity)
{
	return su_topts(capacity, 32, OWNERS, 0);
}

static int writer_main(void *arg)
{
	const struct child *c = arg;
	const int up = c->up[c->idx][1];
	struct shmstat_metric_def def = { .name = METRIC };
	struct shmstat_sigtab_opts o = table_opts(c->capacity);
	struct wthread wt[2];
	struct rd_ctx rc = { .name = NULL };
	pthread_t th[3];
	uint32_t ids[3] = { 0 };
	int stop = 0, nth = 0;
	shmstat_seg *seg;
	shmstat_sigtab *t;
	struct wcounts sum = { { 0 }, { 0 } };
	char ch;

	child_fds(c);
	CHILD_CHECK(shmstat_open(c->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_sigtab_register(seg, &def, &o, &t) == 0);
	CHILD_CHECK(shmstat_sig_owner(t, "o1", &ids[1]) == 0);
	CHILD_CHECK(shmstat_sig_owner(t, "o2", &ids[2]) == 0);
	for (int i = 0; i < 2; i++) {
		wt[i] = (struct wthread){ .t = t, .ids = ids, .stop = &stop, .up_fd = up,
					  .seed = (uint64_t)c->idx * 1000 + (uint64_t)i + 1 };
		CHILD_CHECK(pthread_create(&th[nth++], NULL, writer_thread, &wt[i]) == 0);
	}
	if (c->idx == 0) {
		rc = (struct rd_ctx){ .name = c->name, .exact = c->capacity >= NKEYS,
				      .up_fd = up, .stop_flag = &stop };
		CHILD_CHECK(pthread_create(&th[nth++], NULL, reader_thread, &rc) == 0);
	}
	CHILD_CHECK(stress_read(c->stop[0], &ch, 1) == 0);   /* EOF: stop */
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < nth; i++)
		CHILD_CHECK(pthread_join(th[i], NULL) == 0);
	for (int i = 0; i < 2; i++)
		for (unsigned k = 0; k < NKEYS; k++) {
			sum.hits[k] += wt[i].n.hits[k];
			sum.misses[k] += wt[i].n.misses[k];
		}
	CHILD_CHECK(stress_write(up, &sum, sizeof(sum)) == 0);
	if (c->idx == 0)
		CHILD_CHECK(stress_write(up, &rc.res, sizeof(rc.res)) == 0);
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

static int reader_main(void *arg)
{
	const struct child *c = arg;
	struct rd_ctx rc = { .name = c->name, .exact = c->capacity >= NKEYS,
			     .up_fd = c->up[c->idx][1], .stop_fd = c->stop[0] };

	child_fds(c);
	rd_loop(&rc);
	CHILD_CHECK(stress_write(rc.up_fd, &rc.res, sizeof(rc.res)) == 0);
	return 0;
}

/* ------------------------------------------------------------ the test */

static void print_reader(const char *who, const struct rd_result *r)
{
	print_message("%s: %llu snapshots (%llu with hits moving, %llu busy, %llu before "
		      "the table existed), %llu entries accepted, %llu skipped, %llu invalid, "
		      "%llu with first_ns > last_ns\n", who,
		      (unsigned long long)r->snaps, (unsigned long long)r->conc,
		      (unsigned long long)r->busy, (unsigned long long)r->absent,
		      (unsigned long long)r->accepted, (unsigned long long)r->skipped,
		      (unsigned long long)r->invalid, (unsigned long long)r->time_order);
}

static void run(uint32_t capacity)
{
	const char *name = stress_name("sigtorn");
	struct shmstat_opts o;
	struct child c[NCHILD];
	int up[NCHILD][2], stop[2];
	pid_t pid[NCHILD];
	struct wcounts wc[2];
	struct rd_result rr[2];
	uint64_t hits = 0, misses = 0, weight = 0;
	shmstat_snap *s;
	shmstat_sigview *v;
	struct shmstat_sigstats st;
	/* what each child reports before it may stop: W1 'w' per writer
	 * thread and 'r' for its reader thread, W2 'w' 'w', R 'r' */
	static const char reports[NCHILD][4] = { "wwr", "ww", "r" };

	make_keys();
	shmstat_opts_init(&o);
	o.max_procs = 8;
	o.max_metrics = 8;
	o.max_values = 256;
	o.max_threads = 16;
	o.max_sig_entries = su_span(capacity, OWNERS);
	stress_create(name, &o);
	for (int i = 0; i < NCHILD; i++)
		stress_pipe(up[i]);
	stress_pipe(stop);
	for (int i = 0; i < NCHILD; i++) {
		c[i] = (struct child){ .name = name, .capacity = capacity, .idx = i };
		memcpy(c[i].up, up, sizeof(up));
		memcpy(c[i].stop, stop, sizeof(stop));
		pid[i] = stress_spawn(i < 2 ? writer_main : reader_main, &c[i]);
	}
	close(stop[0]);
	for (int i = 0; i < NCHILD; i++)
		close(up[i][1]);
	/* wait until every writer thread made MIN_EVENTS events and every
	 * reader saw MIN_CONC snapshots with writes in between */
	for (int i = 0; i < NCHILD; i++)
		for (size_t k = 0; k < strlen(reports[i]); k++)
			stress_expect(up[i][0], pid[i]);
	close(stop[1]);
	for (int i = 0; i < 2; i++) {
		if (stress_read(up[i][0], &wc[i], sizeof(wc[i])) != sizeof(wc[i]))
			fail_msg("writer %d ended (status %d) without its counts", i,
				 stress_wait(pid[i]));
	}
	if (stress_read(up[0][0], &rr[0], sizeof(rr[0])) != sizeof(rr[0]))
		fail_msg("the reader thread's counts are missing (status %d)", stress_wait(pid[0]));
	if (stress_read(up[2][0], &rr[1], sizeof(rr[1])) != sizeof(rr[1]))
		fail_msg("the reader process ended (status %d) without its counts",
			 stress_wait(pid[2]));
	for (int i = 0; i < NCHILD; i++) {
		assert_int_equal(stress_wait(pid[i]), 0);
		close(up[i][0]);
	}
	print_reader("reader thread (in W1)", &rr[0]);
	print_reader("reader process", &rr[1]);
	if (rr[0].invalid || rr[1].invalid)
		fail_msg("readers accepted %llu and %llu invalid entries (torn reads)",
			 (unsigned long long)rr[0].invalid, (unsigned long long)rr[1].invalid);
	assert_true(rr[0].conc >= MIN_CONC && rr[1].conc >= MIN_CONC);

	/* the end state */
	s = stress_snap(name);
	v = su_view(s, METRIC);
	assert_non_null(v);
	shmstat_sigview_stats(v, &st);
	for (unsigned k = 0; k < NKEYS; k++) {
		hits += wc[0].hits[k] + wc[1].hits[k];
		misses += wc[0].misses[k] + wc[1].misses[k];
		weight += (wc[0].hits[k] + wc[1].hits[k]) * keyw[k];
	}
	assert_int_equal(st.hits, hits);
	assert_int_equal(st.misses, misses);
	assert_int_equal(st.weight, weight);
	assert_int_equal(st.skipped, 0);
	print_message("capacity %u: %llu events, %llu evictions, %llu dropped, %zu entries\n",
		      capacity, (unsigned long long)(hits + misses),
		      (unsigned long long)st.evictions, (unsigned long long)st.dropped,
		      shmstat_sigview_entries(v));
	if (capacity >= NKEYS)
		assert_int_equal(st.evictions, 0);
	else
		assert_true(st.evictions > 0);
	for (size_t k = 0; k < shmstat_sigview_entries(v); k++) {
		struct shmstat_sigentry e;
		struct rd_ctx rc = { .exact = 0 };
		uint64_t xh, xm, xw;
		unsigned id;

		assert_int_equal(shmstat_sigview_entry(v, k, &e), 0);
		switch (rd_check_entry(&rc, &e, NULL, NULL)) {
		case 1: fail_msg("the final snapshot holds an invalid entry");
		case 2: rr[0].time_order++; break;
		default: break;
		}
		assert_int_equal(sscanf(e.prefix, "tk-%u", &id), 1);
		xh = wc[0].hits[id] + wc[1].hits[id];
		xm = wc[0].misses[id] + wc[1].misses[id];
		xw = xh * keyw[id];
#define BOUND(f, x)                                                                     \
		if (!(e.f + st.dropped * (#f[0] == 'w' ? keyw[id] : 1) >= x &&         \
		      e.f <= x + e.err_##f))                                            \
			fail_msg("capacity %u, key %u: " #f " %llu, exact %llu, error bound "  \
				 "%llu, dropped %llu", capacity, id, (unsigned long long)e.f,   \
				 (unsigned long long)x, (unsigned long long)e.err_##f,          \
				 (unsigned long long)st.dropped)
		BOUND(hits, xh);
		BOUND(misses, xm);
		BOUND(weight, xw);
#undef BOUND
		if (capacity >= NKEYS)
			assert_int_equal(e.err_hits + e.err_misses + e.err_weight, 0);
	}
	if (capacity >= NKEYS)
		assert_int_equal(shmstat_sigview_entries(v), NKEYS);
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
	/* Not a torn read, but wrong: sig_event() reads the clock before it
	 * takes the entry's lock, and bump() stores that time as last_ns
	 * unconditionally: a writer that read the clock before another one
	 * (re)took the entry moves last_ns before first_ns (and back in
	 * time). */
	if (rr[0].time_order || rr[1].time_order)
		fail_msg("readers saw %llu and %llu entries with first_ns > last_ns",
			 (unsigned long long)rr[0].time_order,
			 (unsigned long long)rr[1].time_order);
}

static void test_torn_no_evict(void **state)
{
	(void)state;
	run(64);
}

static void test_torn_evict(void **state)
{
	(void)state;
	run(16);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_torn_no_evict, stress_setup, stress_teardown),
		cmocka_unit_test_setup_teardown(test_torn_evict, stress_setup, stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests_name("sig_torn", tests, NULL, NULL);
}
