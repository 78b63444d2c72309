/*
 * test_sig_torn.c - readers against writers in full flight (stress
 * suite, ThreadSanitizer build).
 *
 * Processes, all forked before any thread exists:
 *   W1: 2 writer threads + 1 reader thread (a reader inside a writer)
 *   W2: 2 writer threads
 *   R:  a reader process
 * Every event goes to two tables: "evict" (capacity 64: with 400 keys
 * drawn from Zipf(1.0), evictions all the time) and "fit" (capacity 512:
 * none). Key id is "tk-<id>", or for id >= 350 a 40-byte key cut at the
 * 16 key bytes; even ids only ever hit, with weight w(id) = 1000 +
 * (XXH3(key) & 0xffff), odd ids only ever miss; owner id % 3 ("", "o1",
 * "o2"). Each writer thread publishes, in memory shared by all, per key:
 * issued (stored before the calls) and done (stored after both returned).
 * A reader reads done, takes a snapshot, then reads issued: the truth of
 * every key at the snapshot is within [done, issued]. Every entry of
 * every snapshot of both tables must satisfy (su_check, sig_util.h):
 *   hits - err_hits <= issued hits (and misses, events, weight: nothing
 *   is counted before it was issued; a key that only misses has no
 *   guaranteed hit), hits >= done hits (what was done before the
 *   snapshot is within the upper bound), err_hits == err_misses <=
 *   max_error, key text (when there) the key's: hashing to the entry's
 *   hash, or its first 16 bytes with full_len 40 when cut;
 * and besides: its owner is the key's; its guaranteed weight is a
 * multiple of w(id) (an entry read half before and half after it changed
 * keys would mix two keys' weights); the table's totals within [done,
 * issued]; "fit": every error 0 (exact counts, within [done, issued]),
 * max_error 0, no eviction, counts never going down from one snapshot to
 * the next. Writers run until every writer thread made MIN_EVENTS events
 * and every reader took MIN_CONC snapshots while the totals moved (reads
 * and writes overlapped): no timing involved. At the end, with every
 * writer stopped and again once they closed (their summaries merged into
 * the grave): the bounds hold exactly against the final tally, every key
 * not listed had at most max_error events, max_error <= N / C, totals and
 * owners' totals exact, nothing skipped.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "stress_common.h"
#include "sig_util.h"

#define NKEYS 400u
#define LONG_FROM 350u             /* ids from here: 40-byte keys, cut */
#define KEY_BYTES 16u
#define NWRITERS 4                 /* writer threads: 2 in W1, 2 in W2 */
#define MIN_EVENTS 30000u          /* per writer thread */
#define MIN_CONC 150u              /* per reader: snapshots with totals moving */
#define OWNERS 4u
#define NCHILD 3

static const char *const tables[2] = { "sig_torn_evict", "sig_torn_fit" };
static const uint32_t caps[2] = { 64, 512 };

static char keyname[NKEYS][48];
static const char *keyp[NKEYS];
static uint32_t keylen[NKEYS];
static uint64_t keyhash[NKEYS], keyw[NKEYS];

static void make_keys(void)
{
	for (unsigned i = 0; i < NKEYS; i++) {
		if (i < LONG_FROM)
			keylen[i] = (uint32_t)snprintf(keyname[i], sizeof(keyname[i]), "tk-%u", i);
		else
			keylen[i] = (uint32_t)snprintf(keyname[i], sizeof(keyname[i]),
						       "long-key-%u-%026u", i, i);
		keyp[i] = keyname[i];
		keyhash[i] = su_hash(keyname[i], keylen[i]);
		keyw[i] = 1000 + (keyhash[i] & 0xffff);
	}
}

static const char *owner_of(unsigned id)
{
	static const char *const names[3] = { "", "o1", "o2" };

	return names[id % 3];
}

/* Published by the writers: per writer thread and key, events issued
 * and done. */
struct progress {
	uint64_t issued[NWRITERS][NKEYS];
	uint64_t done[NWRITERS][NKEYS];
};

static struct progress *prog;

/* ------------------------------------------------------------ checking */

/* The truth of every key: hits or misses (by parity) in [lo, hi], weight
 * w(id) times the hits. */
struct truth {
	uint64_t h_lo[NKEYS], h_hi[NKEYS], m_lo[NKEYS], m_hi[NKEYS];
	uint64_t w_lo[NKEYS], w_hi[NKEYS];
	uint64_t hits_lo, hits_hi, misses_lo, misses_hi;
	struct su_truth x;
};

static void truth_init(struct truth *t)
{
	memset(t, 0, sizeof(*t));
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
}

/* Read the writers' counters: @done into the lower ends, else @issued
 * into the upper ends. */
static void truth_read(struct truth *t, int done)
{
	uint64_t *lo_or_hi_h = done ? t->h_lo : t->h_hi, *lo_or_hi_m = done ? t->m_lo : t->m_hi;
	uint64_t *w = done ? t->w_lo : t->w_hi, sh = 0, sm = 0;

	for (unsigned i = 0; i < NKEYS; i++) {
		uint64_t n = 0;

		for (int k = 0; k < NWRITERS; k++)
			n += __atomic_load_n(done ? &prog->done[k][i] : &prog->issued[k][i],
					     __ATOMIC_ACQUIRE);
		lo_or_hi_h[i] = i % 2 ? 0 : n;
		lo_or_hi_m[i] = i % 2 ? n : 0;
		w[i] = i % 2 ? 0 : n * keyw[i];
		sh += lo_or_hi_h[i];
		sm += lo_or_hi_m[i];
	}
	if (done) {
		t->hits_lo = sh;
		t->misses_lo = sm;
	} else {
		t->hits_hi = sh;
		t->misses_hi = sm;
	}
}

/* What su_check() does not check: owners, weights as multiples of the
 * key's, totals within the truth, "fit" exact and monotonic. Return the
 * violations (the first few printed). */
static uint64_t check_more(const shmstat_sigview *v, const struct truth *t, int fit,
			   uint64_t *last, const char *when)
{
	struct shmstat_sigstats st;
	struct su_res r = { 0 };
	size_t n = shmstat_sigview_entries(v);

	shmstat_sigview_stats(v, &st);
	if (st.hits < t->hits_lo || st.hits > t->hits_hi || st.misses < t->misses_lo ||
	    st.misses > t->misses_hi)
		SU_BAD(&r, when, "totals hits %llu misses %llu, truth %llu..%llu and %llu..%llu",
		       (unsigned long long)st.hits, (unsigned long long)st.misses,
		       (unsigned long long)t->hits_lo, (unsigned long long)t->hits_hi,
		       (unsigned long long)t->misses_lo, (unsigned long long)t->misses_hi);
	if (fit && (st.evictions != 0 || st.max_error != 0))
		SU_BAD(&r, when, "fit: %llu evictions, max_error %llu",
		       (unsigned long long)st.evictions, (unsigned long long)st.max_error);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;
		long id;

		if (shmstat_sigview_entry(v, k, &e) != 0 ||
		    (id = su_map_find(&t->x.map, e.hash)) < 0)
			continue;       /* su_check reports it */
		if (strcmp(e.owner, owner_of((unsigned)id)) != 0)
			SU_BAD(&r, when, "key %ld: owner '%s', not '%s' (hits %llu misses %llu "
			       "weight %llu error %llu, %u of %u key bytes, seen %llu..%llu)", id,
			       e.owner, owner_of((unsigned)id), (unsigned long long)e.hits,
			       (unsigned long long)e.misses, (unsigned long long)e.weight,
			       (unsigned long long)e.err_hits, e.key_len, e.full_len,
			       (unsigned long long)e.first_ns, (unsigned long long)e.last_ns);
		if (e.weight >= e.err_weight && (e.weight - e.err_weight) % keyw[id] != 0)
			SU_BAD(&r, when, "key %ld: guaranteed weight %llu is not a multiple of "
			       "its weight %llu", id, (unsigned long long)(e.weight - e.err_weight),
			       (unsigned long long)keyw[id]);
		if (fit) {
			uint64_t c = e.hits + e.misses;

			if (e.err_hits != 0)
				SU_BAD(&r, when, "fit: key %ld has an error %llu", id,
				       (unsigned long long)e.err_hits);
			if (last && c < last[id])
				SU_BAD(&r, when, "fit: key %ld went down from %llu to %llu", id,
				       (unsigned long long)last[id], (unsigned long long)c);
			if (last)
				last[id] = c;
		}
	}
	return r.bad;
}

/* What a reader counts: snapshots (with events moving, EBUSY, before the
 * tables existed), entries checked and skipped, violations. */
struct rd_res {
	uint64_t snaps, conc, busy, absent, entries, skipped, bad, max_skipped;
};

/* One snapshot of both tables, every check; 1 if the events of "evict"
 * moved since *@prev (updated). */
static int check_snapshot(shmstat_reader *r, struct truth *t, uint64_t last[NKEYS],
			  uint64_t *prev, struct rd_res *res, const char *who)
{
	shmstat_snap *s = NULL;
	int err, moved = 0;

	truth_read(t, 1);
	err = shmstat_snapshot(r, &s);
	if (err == SHMSTAT_EBUSY) {
		res->busy++;
		return 0;
	}
	CHILD_CHECK(err == 0);
	truth_read(t, 0);
	for (int k = 0; k < 2; k++) {
		shmstat_sigview *v = su_view(s, tables[k]);
		struct shmstat_sigstats st;
		struct su_res sr;
		char when[64];

		if (v == NULL) {
			res->absent++;
			continue;
		}
		snprintf(when, sizeof(when), "%s, %s", who, tables[k]);
		shmstat_sigview_stats(v, &st);
		res->entries += shmstat_sigview_entries(v);
		res->skipped += st.skipped;
		if (st.skipped > res->max_skipped)
			res->max_skipped = st.skipped;
		res->bad += su_check(v, &t->x, 0, when, &sr);
		res->bad += check_more(v, t, k == 1, k == 1 ? last : NULL, when);
		if (k == 0) {
			res->snaps++;
			moved = *prev != UINT64_MAX && st.events != *prev;
			*prev = st.events;
		}
		shmstat_sigview_free(v);
	}
	shmstat_snap_free(s);
	return moved;
}

/* ------------------------------------------------------------ children */

struct child {
	const char *name;
	int idx;                   /* 0: W1, 1: W2, 2: R */
	int up[NCHILD][2];         /* child -> parent */
	int stop[2];               /* parent closes [1]: stop */
	int cmd[2];                /* after stop: EOF on [0] means close */
};

struct rd_ctx {
	const char *name;
	const char *who;
	int up_fd;
	int stop_fd;               /* a process: EOF on it means stop */
	const int *stop_flag;      /* a thread: set means stop */
	struct rd_res res;
};

static int rd_stop(const struct rd_ctx *c)
{
	struct pollfd p = { .fd = c->stop_fd, .events = POLLIN };

	if (c->stop_flag)
		return __atomic_load_n(c->stop_flag, __ATOMIC_ACQUIRE);
	return poll(&p, 1, 0) > 0;
}

static void rd_loop(struct rd_ctx *c)
{
	shmstat_reader *r = NULL;
	struct truth *t = malloc(sizeof(*t));
	uint64_t last[NKEYS] = { 0 }, prev = UINT64_MAX;
	int reported = 0;

	CHILD_CHECK(t != NULL);
	truth_init(t);
	CHILD_CHECK(su_map_init(&t->x.map, keyhash, NKEYS) == 0);
	CHILD_CHECK(shmstat_reader_open(c->name, &r) == 0);
	while (!rd_stop(c)) {
		c->res.conc += check_snapshot(r, t, last, &prev, &c->res, c->who);
		if (!reported && c->res.conc >= MIN_CONC) {
			CHILD_CHECK(stress_write(c->up_fd, "r", 1) == 0);
			reported = 1;
		}
	}
	shmstat_reader_close(r);
	su_map_free(&t->x.map);
	free(t);
}

static void *reader_thread(void *arg)
{
	rd_loop(arg);
	return NULL;
}

struct wthread {
	shmstat_sigtab *t[2];
	const uint32_t *ids;       /* owner index (id % 3) -> owner id */
	const struct su_zipf *z;
	const int *stop;
	int up_fd, w;              /* its row in the progress tables */
	uint64_t seed;
};

static void *writer_thread(void *arg)
{
	struct wthread *w = arg;
	uint64_t *iss = prog->issued[w->w], *done = prog->done[w->w], events = 0;
	int reported = 0;

	while (!__atomic_load_n(w->stop, __ATOMIC_ACQUIRE)) {
		for (int b = 0; b < 64; b++) {
			unsigned id = su_zipf_draw(w->z, &w->seed) * 7u % NKEYS;
			uint32_t own = w->ids[id % 3];

			/* issued before the event can be seen anywhere: a locked
			 * add, a full barrier on x86 */
			__atomic_fetch_add(&iss[id], 1, __ATOMIC_SEQ_CST);
			for (int k = 0; k < 2; k++) {
				if (id % 2)
					shmstat_sig_miss(w->t[k], keyname[id], keylen[id], own);
				else
					shmstat_sig_hit(w->t[k], keyname[id], keylen[id], keyw[id],
							own);
			}
			__atomic_store_n(&done[id], done[id] + 1, __ATOMIC_RELEASE);
		}
		events += 64;
		if (!reported && events >= MIN_EVENTS) {
			CHILD_CHECK(stress_write(w->up_fd, "w", 1) == 0);
			reported = 1;
		}
	}
	return NULL;
}

static void child_fds(const struct child *c)
{
	close(c->stop[1]);
	close(c->cmd[1]);
	for (int j = 0; j < NCHILD; j++) {
		close(c->up[j][0]);
		if (j != c->idx)
			close(c->up[j][1]);
	}
}

static int writer_main(void *arg)
{
	const struct child *c = arg;
	const int up = c->up[c->idx][1];
	struct wthread wt[2];
	struct rd_ctx rc = { .name = NULL };
	struct su_zipf z;
	pthread_t th[3];
	uint32_t ids[3] = { 0 };
	int stop = 0, nth = 0;
	shmstat_seg *seg;
	shmstat_sigtab *t[2];
	char ch;

	child_fds(c);
	CHILD_CHECK(su_zipf_init(&z, NKEYS, 1.0) == 0);
	CHILD_CHECK(shmstat_open(c->name, NULL, &seg) == 0);
	for (int k = 0; k < 2; k++) {
		struct shmstat_metric_def def = { .name = tables[k] };
		struct shmstat_sigtab_opts o = su_topts(caps[k], KEY_BYTES, OWNERS, 4, 0);

		CHILD_CHECK(shmstat_sigtab_register(seg, &def, &o, &t[k]) == 0);
		CHILD_CHECK(shmstat_sig_owner(t[k], "o1", &ids[1]) == 0 && ids[1] == 1);
		CHILD_CHECK(shmstat_sig_owner(t[k], "o2", &ids[2]) == 0 && ids[2] == 2);
	}
	for (int i = 0; i < 2; i++) {
		wt[i] = (struct wthread){ .t = { t[0], t[1] }, .ids = ids, .z = &z, .stop = &stop,
					  .up_fd = up, .w = c->idx * 2 + i,
					  .seed = (uint64_t)c->idx * 1000 + (uint64_t)i + 1 };
		CHILD_CHECK(pthread_create(&th[nth++], NULL, writer_thread, &wt[i]) == 0);
	}
	if (c->idx == 0) {
		rc = (struct rd_ctx){ .name = c->name, .who = "reader thread", .up_fd = up,
				      .stop_flag = &stop };
		CHILD_CHECK(pthread_create(&th[nth++], NULL, reader_thread, &rc) == 0);
	}
	CHILD_CHECK(stress_read(c->stop[0], &ch, 1) == 0);   /* EOF: stop */
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < nth; i++)
		CHILD_CHECK(pthread_join(th[i], NULL) == 0);
	if (c->idx == 0)
		CHILD_CHECK(stress_write(up, &rc.res, sizeof(rc.res)) == 0);
	CHILD_CHECK(stress_write(up, "s", 1) == 0);
	CHILD_CHECK(stress_read(c->cmd[0], &ch, 1) == 0);    /* EOF: close */
	CHILD_CHECK(shmstat_close(seg) == 0);
	su_zipf_free(&z);
	return 0;
}

static int reader_main(void *arg)
{
	const struct child *c = arg;
	struct rd_ctx rc = { .name = c->name, .who = "reader process",
			     .up_fd = c->up[c->idx][1], .stop_fd = c->stop[0] };

	child_fds(c);
	rd_loop(&rc);
	CHILD_CHECK(stress_write(rc.up_fd, &rc.res, sizeof(rc.res)) == 0);
	return 0;
}

/* ------------------------------------------------------------ the test */

static void print_reader(const char *who, const struct rd_res *r)
{
	print_message("%s: %llu snapshots (%llu with events moving, %llu busy), %llu entries "
		      "checked, %llu skipped (at most %llu in one view), %llu violations\n", who,
		      (unsigned long long)r->snaps, (unsigned long long)r->conc,
		      (unsigned long long)r->busy, (unsigned long long)r->entries,
		      (unsigned long long)r->skipped, (unsigned long long)r->max_skipped,
		      (unsigned long long)r->bad);
}

/* The end: writers stopped (@when), the exact truth. */
static void check_end(const char *name, struct truth *t, const char *when)
{
	shmstat_snap *s = stress_snap(name);

	for (int k = 0; k < 2; k++) {
		shmstat_sigview *v = su_view(s, tables[k]);
		struct shmstat_sigstats st;
		struct shmstat_sigowner_info oi;
		struct su_res r;
		uint64_t own[3] = { 0 };
		char w[64];

		assert_non_null(v);
		snprintf(w, sizeof(w), "%s, %s", when, tables[k]);
		shmstat_sigview_stats(v, &st);
		if (su_check(v, &t->x, SU_QUIESCENT, w, &r) != 0 ||
		    check_more(v, t, k == 1, NULL, w) != 0)
			fail_msg("%s: bounds violated", w);
		assert_int_equal(st.hits, t->hits_lo);
		assert_int_equal(st.misses, t->misses_lo);
		assert_int_equal(st.skipped, 0);
		assert_int_equal(st.unsummarized, 0);
		if (k == 0)
			assert_true(st.evictions > 0);
		else
			assert_int_equal(r.exact, r.listed);
		print_message("%s: %llu events, %llu evictions, %u keys listed, max_error %llu "
			      "(N/C %llu)\n", w, (unsigned long long)st.events,
			      (unsigned long long)st.evictions, st.used,
			      (unsigned long long)st.max_error,
			      (unsigned long long)(st.events / caps[k]));
		for (unsigned i = 0; i < NKEYS; i++)
			own[i % 3] += t->h_lo[i] + t->m_lo[i];
		assert_int_equal(shmstat_sigview_owners(v), 2);
		for (size_t o = 0; o < 2; o++) {
			assert_int_equal(shmstat_sigview_owner(v, o, &oi), 0);
			assert_int_equal(oi.hits + oi.misses, own[o + 1]);
		}
		shmstat_sigview_free(v);
	}
	shmstat_snap_free(s);
}

static void test_torn(void **state)
{
	const char *name = stress_name("sigtorn");
	struct shmstat_opts o;
	struct child c[NCHILD];
	int up[NCHILD][2], stop[2], cmd[2];
	pid_t pid[NCHILD];
	struct rd_res rr[2];
	struct truth *t = malloc(sizeof(*t));
	/* what each child reports before it may stop: W1 'w' per writer
	 * thread and 'r' for its reader thread, W2 'w' 'w', R 'r' */
	static const char reports[NCHILD][4] = { "wwr", "ww", "r" };
	char ch;

	(void)state;
	assert_non_null(t);
	make_keys();
	prog = mmap(NULL, sizeof(*prog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(prog != MAP_FAILED);
	shmstat_opts_init(&o);
	o.max_procs = 8;
	o.max_metrics = 8;
	o.max_values = 256;
	o.max_threads = 16;
	o.max_stacks = 0;
	o.max_modules = 64;
	{
		struct shmstat_sigtab_opts a = su_topts(caps[0], KEY_BYTES, OWNERS, 4, 0);
		struct shmstat_sigtab_opts b = su_topts(caps[1], KEY_BYTES, OWNERS, 4, 0);

		o.sig_bytes = shmstat_sigtab_bytes(&a) + shmstat_sigtab_bytes(&b);
	}
	stress_create(name, &o);
	for (int i = 0; i < NCHILD; i++)
		stress_pipe(up[i]);
	stress_pipe(stop);
	stress_pipe(cmd);
	for (int i = 0; i < NCHILD; i++) {
		c[i] = (struct child){ .name = name, .idx = i };
		memcpy(c[i].up, up, sizeof(up));
		memcpy(c[i].stop, stop, sizeof(stop));
		memcpy(c[i].cmd, cmd, sizeof(cmd));
		pid[i] = stress_spawn(i < 2 ? writer_main : reader_main, &c[i]);
	}
	close(stop[0]);
	close(cmd[0]);
	for (int i = 0; i < NCHILD; i++)
		close(up[i][1]);
	/* every writer thread made MIN_EVENTS events and every reader took
	 * MIN_CONC snapshots with writes in between */
	for (int i = 0; i < NCHILD; i++)
		for (size_t k = 0; k < strlen(reports[i]); k++)
			stress_expect(up[i][0], pid[i]);
	close(stop[1]);
	if (stress_read(up[0][0], &rr[0], sizeof(rr[0])) != sizeof(rr[0]))
		fail_msg("the reader thread's counts are missing (status %d)", stress_wait(pid[0]));
	if (stress_read(up[2][0], &rr[1], sizeof(rr[1])) != sizeof(rr[1]))
		fail_msg("the reader process ended (status %d) without its counts",
			 stress_wait(pid[2]));
	for (int i = 0; i < 2; i++)
		stress_expect(up[i][0], pid[i]);        /* writers stopped */
	print_reader("reader thread (in W1)", &rr[0]);
	print_reader("reader process", &rr[1]);
	if (rr[0].bad || rr[1].bad)
		fail_msg("readers found %llu and %llu violations", (unsigned long long)rr[0].bad,
			 (unsigned long long)rr[1].bad);
	assert_true(rr[0].conc >= MIN_CONC && rr[1].conc >= MIN_CONC);

	/* the end: every writer stopped; done == issued */
	truth_init(t);
	assert_int_equal(su_map_init(&t->x.map, keyhash, NKEYS), 0);
	truth_read(t, 1);
	truth_read(t, 0);
	assert_memory_equal(t->h_lo, t->h_hi, sizeof(t->h_lo));
	assert_memory_equal(t->m_lo, t->m_hi, sizeof(t->m_lo));
	check_end(name, t, "writers stopped");
	close(cmd[1]);
	for (int i = 0; i < NCHILD; i++) {
		assert_int_equal(stress_wait(pid[i]), 0);
		assert_int_equal(stress_read(up[i][0], &ch, 1), 0);
		close(up[i][0]);
	}
	{
		unsigned reaped;

		assert_int_equal(shmstat_gc(name, &reaped), 0);
	}
	check_end(name, t, "writers closed");
	su_map_free(&t->x.map);
	free(t);
	munmap(prog, sizeof(*prog));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_torn, stress_setup, stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests_name("sig_torn", tests, NULL, NULL);
}
