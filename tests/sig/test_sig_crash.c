/*
 * test_sig_crash.c - writers that die in the middle of an entry update
 * (stress suite, ThreadSanitizer build).
 *
 * To die mid-update deterministically, a child maps the segment
 * read-write (/dev/shm/shmstat.NAME), finds the table through its
 * descriptor (layout.h: descs region, sig_first; entries after the
 * table's head entry, owner slots after the 2 x capacity entries), takes
 * an entry's lock by hand exactly as sigtable.c does (bit 0 and its pid
 * in the high half of the word), tells the parent, and is killed with
 * SIGKILL, then reaped: the lock now belongs to a dead pid.
 *
 *  dead_lock: with a writer W1 alive throughout,
 *    - a snapshot leaves the locked entry out and says so (skipped = 1),
 *      and shows the other entries;
 *    - a new writer's event on that key completes: the lock of the dead
 *      pid is repaired (unlocked, version moved on), the event counted,
 *      nothing dropped, nothing skipped;
 *    - a second entry locked the same way is repaired by shmstat_gc alone
 *      (no writer touches it), with its counts intact;
 *    - an owner slot claimed by a process that died is freed by
 *      shmstat_gc, and another one is taken over by shmstat_sig_owner;
 *    - at the end every entry is readable (skipped = 0), every count is
 *      the exact one, totals exact.
 *  half_update: the killed child had gone further, into giving old-key's
 *    entry to a new key as sigtable.c take() does (counts, error bounds,
 *    times, owner, keylen, gen, then the hash, then the prefix), and died
 *    just before the prefix: the state a SIGKILL between those two stores
 *    leaves. After shmstat_gc, the table must be consistent: every entry a
 *    reader accepts has a prefix that is its key (hash = XXH3(prefix) for
 *    keys shorter than the prefix), also after both keys are used again.
 *  hammer: a writer process of 2 threads hammering a capacity-16 table
 *    (40 keys, evictions all the time) is killed with SIGKILL once both
 *    threads made 50,000 events, while a second writer process goes on
 *    and then detaches; once reaped (by that detach or shmstat_gc: no
 *    writer left, alive or dead): no entry is locked, a snapshot skips
 *    nothing, every entry is consistent (key, hash, error bounds <=
 *    counts, first <= last), and the weight checksum of test_sig_torn.c
 *    holds for all entries but at most one per killed thread (a thread
 *    killed between two stores of one event).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "stress_common.h"
#include "sig_util.h"
#include "layout.h"

#define METRIC "sig_crash"
#define OWNERS 4u

/* ------------------------------------------------ the segment, by hand */

struct raw {
	unsigned char *base;
	size_t size;
	struct shmstat_sigent *ent;    /* the table's entries */
	uint32_t slots;
	struct shmstat_sigowner *own;
	uint32_t nowners;
};

/* Map segment @name read-write and find table @metric; 0 or -1. */
static int raw_open(const char *name, const char *metric, struct raw *rw)
{
	char path[256];
	struct stat st;
	const struct shmstat_hdr *h;
	const struct shmstat_desc *descs;
	int fd;

	memset(rw, 0, sizeof(*rw));
	snprintf(path, sizeof(path), "/dev/shm/shmstat.%s", name);
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(struct shmstat_hdr)) {
		close(fd);
		return -1;
	}
	rw->size = (size_t)st.st_size;
	rw->base = mmap(NULL, rw->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (rw->base == MAP_FAILED)
		return -1;
	h = (const struct shmstat_hdr *)(const void *)rw->base;
	descs = (const struct shmstat_desc *)(const void *)(rw->base +
							     h->regions[SHMSTAT_REG_DESCS].off);
	for (uint32_t i = 0; i < h->max_metrics; i++) {
		const struct shmstat_desc *d = &descs[i];
		struct shmstat_sigent *sigs;

		if (SHMSTAT_DESC_STATE(__atomic_load_n(&d->word, __ATOMIC_ACQUIRE)) !=
		    SHMSTAT_DESC_LIVE || d->type != SHMSTAT_SIGTABLE ||
		    strcmp(d->name, metric) != 0)
			continue;
		sigs = (struct shmstat_sigent *)(void *)(rw->base +
							 h->regions[SHMSTAT_REG_SIGS].off);
		rw->ent = sigs + d->sig_first + 1;
		rw->slots = 2 * d->sig_capacity;
		rw->own = (struct shmstat_sigowner *)(void *)(rw->ent + rw->slots);
		rw->nowners = d->sig_owners;
		return 0;
	}
	munmap(rw->base, rw->size);
	return -1;
}

static void raw_close(struct raw *rw)
{
	if (rw->base)
		munmap(rw->base, rw->size);
	rw->base = NULL;
}

/* The entry of @key, or NULL. */
static struct shmstat_sigent *raw_find(const struct raw *rw, const char *key)
{
	uint64_t h = su_hash(key, strlen(key));

	for (uint32_t i = 0; i < rw->slots; i++)
		if (__atomic_load_n(&rw->ent[i].hash, __ATOMIC_ACQUIRE) == h)
			return &rw->ent[i];
	return NULL;
}

static uint64_t word_of(const struct shmstat_sigent *e)
{
	return __atomic_load_n(&e->word, __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------ children */

struct locker {
	const char *name;
	const char *key;           /* entry to lock; NULL: claim an owner slot */
	const char *new_key;       /* also store this key's hash (half update) */
	int up;                    /* 'l' when locked */
	int unused;
};

/* Take the lock of @key's entry (or claim the first free owner slot) as a
 * writer does, report, and wait to be killed. */
static int locker_main(void *arg)
{
	const struct locker *l = arg;
	struct raw rw;
	uint64_t mine = (uint64_t)(uint32_t)getpid() << 32;

	close(l->unused);
	CHILD_CHECK(raw_open(l->name, METRIC, &rw) == 0);
	if (l->key) {
		struct shmstat_sigent *e = raw_find(&rw, l->key);
		uint64_t w;

		CHILD_CHECK(e != NULL);
		w = word_of(e);
		CHILD_CHECK(!SHMSTAT_SIG_LOCKED(w));
		CHILD_CHECK(__atomic_compare_exchange_n(&e->word, &w, w | 1u | mine, false,
							__ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
		if (l->new_key) {
			/* take(), giving the entry to new_key (1 hit, weight 2,
			 * no owner, inheriting the entry's counts as the
			 * victim) in sigtable.c's order: the tombstone first,
			 * then the fields, dying before the prefix and the
			 * final hash */
			uint64_t inh[3] = { e->hits, e->misses, e->weight };
			uint64_t now = su_coarse_ns();

			__atomic_store_n(&e->hash, SHMSTAT_SIG_TOMB, __ATOMIC_RELAXED);
			__atomic_store_n(&e->hits, inh[0] + 1, __ATOMIC_RELAXED);
			__atomic_store_n(&e->misses, inh[1], __ATOMIC_RELAXED);
			__atomic_store_n(&e->weight, inh[2] + 2, __ATOMIC_RELAXED);
			__atomic_store_n(&e->err_hits, inh[0], __ATOMIC_RELAXED);
			__atomic_store_n(&e->err_misses, inh[1], __ATOMIC_RELAXED);
			__atomic_store_n(&e->err_weight, inh[2], __ATOMIC_RELAXED);
			__atomic_store_n(&e->first_ns, now, __ATOMIC_RELAXED);
			__atomic_store_n(&e->last_ns, now, __ATOMIC_RELAXED);
			__atomic_store_n(&e->owner, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&e->keylen, (uint32_t)strlen(l->new_key), __ATOMIC_RELAXED);
			__atomic_store_n(&e->gen, e->gen + 1, __ATOMIC_RELAXED);
		}
	} else {
		uint32_t o;

		for (o = 0; o < rw.nowners; o++) {
			uint64_t w = 0;

			if (__atomic_compare_exchange_n(&rw.own[o].word, &w, 1u | mine, false,
							__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				break;
		}
		CHILD_CHECK(o < rw.nowners);
	}
	CHILD_CHECK(stress_write(l->up, "l", 1) == 0);
	for (;;)
		pause();
	return 0;
}

/* Lock @key (or an owner slot) in a child, kill it, reap it; return its pid. */
static pid_t lock_and_die(const char *name, const char *key, const char *new_key)
{
	int p[2];
	struct locker l = { .name = name, .key = key, .new_key = new_key };
	pid_t pid;

	stress_pipe(p);
	l.up = p[1];
	l.unused = p[0];
	pid = stress_spawn(locker_main, &l);
	close(p[1]);
	stress_expect(p[0], pid);
	close(p[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(stress_wait(pid), 128 + SIGKILL);
	return pid;
}

/* A writer process driven by one-byte commands on @cmd, answering on @ack. */
struct writer {
	const char *name;
	int cmd, ack;
	int unused[2];
};

static struct shmstat_sigtab_opts table_opts(uint32_t capacity)
{
	return su_topts(capacity, 32, OWNERS, 0);
}

/* Commands: '1' the first load; 'c' a hit on "crash-key" (weight 7);
 * 'n' a hit on "new-key-longer" and "old-key"; 'o' the id of "late" (answered
 * as a byte); EOF: detach and exit. Every command is answered. */
static int writer_main(void *arg)
{
	const struct writer *w = arg;
	struct shmstat_metric_def def = { .name = METRIC };
	struct shmstat_sigtab_opts o = table_opts(64);
	shmstat_seg *seg;
	shmstat_sigtab *t;
	uint32_t acct = 0, id = 0;
	char c;

	close(w->unused[0]);
	close(w->unused[1]);
	CHILD_CHECK(shmstat_open(w->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_sigtab_register(seg, &def, &o, &t) == 0);
	CHILD_CHECK(shmstat_sig_owner(t, "acct", &acct) == 0);
	CHILD_CHECK(stress_write(w->ack, "r", 1) == 0);
	while (stress_read(w->cmd, &c, 1) == 1) {
		switch (c) {
		case '1':
			for (int i = 0; i < 10; i++)
				shmstat_sig_hit(t, "crash-key", 9, 5, acct);
			for (int i = 0; i < 3; i++)
				shmstat_sig_hit(t, "other-key", 9, 1, 0);
			for (int i = 0; i < 4; i++)
				shmstat_sig_miss(t, "gc-key", 6, acct);
			for (int i = 0; i < 5; i++)
				shmstat_sig_hit(t, "old-key", 7, 10, 0);
			break;
		case 'c':
			shmstat_sig_hit(t, "crash-key", 9, 7, acct);
			break;
		case 'n':
			shmstat_sig_hit(t, "new-key-longer", 14, 2, 0);
			shmstat_sig_hit(t, "old-key", 7, 10, 0);
			break;
		case 'o':
			CHILD_CHECK(shmstat_sig_owner(t, "late", &id) == 0);
			c = (char)id;
			break;
		default:
			CHILD_CHECK(0);
		}
		CHILD_CHECK(stress_write(w->ack, &c, 1) == 0);
	}
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

struct wproc {
	pid_t pid;
	int cmd, ack;
	struct writer w;
};

static void writer_start(struct wproc *p, const char *name)
{
	int cmd[2], ack[2];

	stress_pipe(cmd);
	stress_pipe(ack);
	p->w = (struct writer){ .name = name, .cmd = cmd[0], .ack = ack[1],
				.unused = { cmd[1], ack[0] } };
	p->pid = stress_spawn(writer_main, &p->w);
	close(cmd[0]);
	close(ack[1]);
	p->cmd = cmd[1];
	p->ack = ack[0];
	stress_expect(p->ack, p->pid);
}

static char writer_cmd(struct wproc *p, char c)
{
	char a;

	assert_int_equal(stress_write(p->cmd, &c, 1), 0);
	if (stress_read(p->ack, &a, 1) != 1)
		fail_msg("writer %d ended (status %d) on command '%c'", (int)p->pid,
			 stress_wait(p->pid), c);
	return a;
}

static void writer_stop(struct wproc *p)
{
	close(p->cmd);
	assert_int_equal(stress_wait(p->pid), 0);
	close(p->ack);
}

/* ------------------------------------------------------------ checking */

static void seg_opts(struct shmstat_opts *o, uint32_t capacity)
{
	shmstat_opts_init(o);
	o->max_procs = 8;
	o->max_metrics = 8;
	o->max_values = 256;
	o->max_threads = 16;
	o->max_sig_entries = su_span(capacity, OWNERS);
}

struct want {
	const char *key;
	uint64_t hits, misses, weight;
	const char *owner;
};

/* The table: @nwant entries exactly as listed (other keys absent), and
 * @skipped entries left out. */
static void expect_table(const char *name, const struct want *want, size_t nwant,
			 uint32_t skipped, const char *when)
{
	shmstat_snap *s = stress_snap(name);
	shmstat_sigview *v = su_view(s, METRIC);
	struct shmstat_sigstats st;

	assert_non_null(v);
	shmstat_sigview_stats(v, &st);
	if (st.skipped != skipped || shmstat_sigview_entries(v) != nwant || st.dropped != 0)
		fail_msg("%s: skipped %u (expected %u), %zu entries (expected %zu), dropped %llu",
			 when, st.skipped, skipped, shmstat_sigview_entries(v), nwant,
			 (unsigned long long)st.dropped);
	for (size_t k = 0; k < nwant; k++) {
		struct shmstat_sigentry e;

		if (su_entry_of(v, su_hash(want[k].key, strlen(want[k].key)), &e) < 0)
			fail_msg("%s: '%s' has no entry", when, want[k].key);
		if (e.hits != want[k].hits || e.misses != want[k].misses ||
		    e.weight != want[k].weight || e.err_hits || e.err_misses || e.err_weight ||
		    strcmp(e.owner, want[k].owner) != 0 || e.keylen != strlen(want[k].key) ||
		    memcmp(e.prefix, want[k].key, e.keylen) != 0)
			fail_msg("%s: '%s' (prefix '%s', owner '%s'): hits %llu misses %llu "
				 "weight %llu err %llu/%llu/%llu, expected %llu %llu %llu", when,
				 want[k].key, e.prefix, e.owner, (unsigned long long)e.hits,
				 (unsigned long long)e.misses, (unsigned long long)e.weight,
				 (unsigned long long)e.err_hits, (unsigned long long)e.err_misses,
				 (unsigned long long)e.err_weight, (unsigned long long)want[k].hits,
				 (unsigned long long)want[k].misses,
				 (unsigned long long)want[k].weight);
	}
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
}

/* Every accepted entry's prefix is its key (keys are short: hash =
 * XXH3(prefix)), error bounds <= counts, first <= last. Return the count
 * of entries. */
static size_t expect_consistent(const char *name, const char *when)
{
	shmstat_snap *s = stress_snap(name);
	shmstat_sigview *v = su_view(s, METRIC);
	struct shmstat_sigstats st;
	size_t n;

	assert_non_null(v);
	shmstat_sigview_stats(v, &st);
	n = shmstat_sigview_entries(v);
	if (st.skipped)
		fail_msg("%s: %u entries skipped", when, st.skipped);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;

		assert_int_equal(shmstat_sigview_entry(v, k, &e), 0);
		if (e.keylen > 32 || e.prefix_len != e.keylen ||
		    e.hash != su_hash(e.prefix, e.keylen))
			fail_msg("%s: entry %zu holds hash %llx with prefix '%.*s' (keylen %u), "
				 "which hashes to %llx: the entry mixes two keys", when, k,
				 (unsigned long long)e.hash, (int)e.prefix_len, e.prefix, e.keylen,
				 (unsigned long long)su_hash(e.prefix, e.keylen));
		if (e.err_hits > e.hits || e.err_misses > e.misses || e.err_weight > e.weight ||
		    e.first_ns > e.last_ns)
			fail_msg("%s: entry '%s': counts %llu/%llu/%llu below their error bounds "
				 "%llu/%llu/%llu, or first_ns > last_ns", when, e.prefix,
				 (unsigned long long)e.hits, (unsigned long long)e.misses,
				 (unsigned long long)e.weight, (unsigned long long)e.err_hits,
				 (unsigned long long)e.err_misses, (unsigned long long)e.err_weight);
	}
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
	return n;
}

/* ------------------------------------------------------------ dead_lock */

static void test_dead_lock(void **state)
{
	const char *name = stress_name("sigcrash");
	struct shmstat_opts o;
	struct wproc w1, w2, w3;
	struct raw rw;
	struct shmstat_sigent *e, *g;
	uint64_t w0, g0, w;
	pid_t dead;
	unsigned reaped = 99;
	char late;
	const struct want all[] = {
		{ "crash-key", 10, 0, 50, "acct" },
		{ "other-key", 3, 0, 3, "" },
		{ "gc-key", 0, 4, 0, "acct" },
		{ "old-key", 5, 0, 50, "" },
	};
	struct want fixed[4], no_gc[3];

	(void)state;
	seg_opts(&o, 64);
	stress_create(name, &o);
	writer_start(&w1, name);
	writer_cmd(&w1, '1');
	expect_table(name, all, 4, 0, "loaded");

	assert_int_equal(raw_open(name, METRIC, &rw), 0);
	e = raw_find(&rw, "crash-key");
	g = raw_find(&rw, "gc-key");
	assert_non_null(e);
	assert_non_null(g);
	w0 = word_of(e);
	g0 = word_of(g);
	assert_false(SHMSTAT_SIG_LOCKED(w0));

	/* 1. a writer dies holding crash-key's lock */
	dead = lock_and_die(name, "crash-key", NULL);
	w = word_of(e);
	assert_true(SHMSTAT_SIG_LOCKED(w));
	assert_int_equal(SHMSTAT_SIG_PID(w), (uint32_t)dead);
	/* readers leave it out and say so */
	expect_table(name, all + 1, 3, 1, "crash-key locked by a dead pid");

	/* 2. a new writer's event on it completes */
	writer_start(&w2, name);
	writer_cmd(&w2, 'c');
	w = word_of(e);
	assert_false(SHMSTAT_SIG_LOCKED(w));
	assert_true(SHMSTAT_SIG_VERSION(w) >= SHMSTAT_SIG_VERSION(w0) + 2);
	memcpy(fixed, all, sizeof(all));
	fixed[0].hits = 11;
	fixed[0].weight = 57;
	expect_table(name, fixed, 4, 0, "repaired by a writer");
	writer_stop(&w2);

	/* 3. gc repairs a lock nobody writes to */
	lock_and_die(name, "gc-key", NULL);
	assert_true(SHMSTAT_SIG_LOCKED(word_of(g)));
	no_gc[0] = fixed[0];
	no_gc[1] = fixed[1];
	no_gc[2] = fixed[3];
	expect_table(name, no_gc, 3, 1, "gc-key locked by a dead pid");
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	w = word_of(g);
	assert_false(SHMSTAT_SIG_LOCKED(w));
	assert_int_equal(SHMSTAT_SIG_VERSION(w), SHMSTAT_SIG_VERSION(g0) + 1);
	expect_table(name, fixed, 4, 0, "repaired by gc");

	/* 4. owner slots claimed by processes that died: ("acct" has slot
	 * 0, id 1) slot 1 is freed by gc; claimed again, with slot 2, and
	 * shmstat_sig_owner takes slot 1 over (id 2) */
	lock_and_die(name, NULL, NULL);
	assert_int_equal(SHMSTAT_STATE_OF(__atomic_load_n(&rw.own[1].word, __ATOMIC_ACQUIRE)), 1);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_int_equal(__atomic_load_n(&rw.own[1].word, __ATOMIC_ACQUIRE), 0);
	lock_and_die(name, NULL, NULL);        /* slot 1 */
	lock_and_die(name, NULL, NULL);        /* slot 2 */
	assert_int_equal(SHMSTAT_STATE_OF(__atomic_load_n(&rw.own[2].word, __ATOMIC_ACQUIRE)), 1);
	writer_start(&w3, name);
	late = writer_cmd(&w3, 'o');
	assert_int_equal(late, 2);
	assert_int_equal(SHMSTAT_STATE_OF(__atomic_load_n(&rw.own[1].word, __ATOMIC_ACQUIRE)), 2);
	writer_stop(&w3);

	/* 5. all readable, all exact */
	expect_table(name, fixed, 4, 0, "the end");
	expect_consistent(name, "the end");
	writer_stop(&w1);
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	expect_table(name, fixed, 4, 0, "writers gone");
	raw_close(&rw);
}

/* ---------------------------------------------------------- half_update */

static void test_half_update(void **state)
{
	const char *name = stress_name("sigcrash");
	struct shmstat_opts o;
	struct wproc w1;
	struct raw rw;
	struct shmstat_sigent *e;
	unsigned reaped = 0;

	(void)state;
	seg_opts(&o, 64);
	stress_create(name, &o);
	writer_start(&w1, name);
	writer_cmd(&w1, '1');
	assert_int_equal(raw_open(name, METRIC, &rw), 0);
	e = raw_find(&rw, "old-key");
	assert_non_null(e);
	/* dies in take(), giving old-key's entry to a new key, before the prefix */
	lock_and_die(name, "old-key", "new-key-longer");
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_false(SHMSTAT_SIG_LOCKED(word_of(e)));
	raw_close(&rw);
	/* both keys are used again */
	writer_cmd(&w1, 'n');
	expect_consistent(name, "after gc repaired a half-made entry");
	writer_stop(&w1);
}

/* --------------------------------------------------------------- hammer */

#define HKEYS 40u
#define HMIN 50000u

struct hammer {
	const char *name;
	int up;                    /* 'p' per thread after HMIN events */
	int stop;                  /* EOF: stop (the victim is killed first) */
	int unused[4];
};

struct hthread {
	shmstat_sigtab *t;
	int up;
	const int *stop;
	uint64_t seed;
};

static uint64_t hkey_w(unsigned id)
{
	return 1000 + id;
}

static void *hammer_thread(void *arg)
{
	struct hthread *h = arg;
	uint64_t n = 0;

	while (!__atomic_load_n(h->stop, __ATOMIC_ACQUIRE)) {
		uint64_t r = su_next(&h->seed);
		unsigned id = (unsigned)(r % HKEYS);
		char key[16];
		size_t len = (size_t)snprintf(key, sizeof(key), "hk-%u", id);

		if ((r >> 32) % 5 == 0)
			shmstat_sig_miss(h->t, key, len, 0);
		else
			shmstat_sig_hit(h->t, key, len, hkey_w(id), 0);
		if (++n == HMIN)
			CHILD_CHECK(stress_write(h->up, "p", 1) == 0);
	}
	return NULL;
}

static int hammer_main(void *arg)
{
	const struct hammer *hm = arg;
	struct shmstat_metric_def def = { .name = METRIC };
	struct shmstat_sigtab_opts o = table_opts(16);
	struct hthread ht[2];
	pthread_t th[2];
	shmstat_seg *seg;
	shmstat_sigtab *t;
	int stop = 0;
	char c;

	for (int i = 0; i < 4; i++)
		close(hm->unused[i]);
	CHILD_CHECK(shmstat_open(hm->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_sigtab_register(seg, &def, &o, &t) == 0);
	for (int i = 0; i < 2; i++) {
		ht[i] = (struct hthread){ .t = t, .up = hm->up, .stop = &stop,
					  .seed = (uint64_t)getpid() * 16 + (uint64_t)i };
		CHILD_CHECK(pthread_create(&th[i], NULL, hammer_thread, &ht[i]) == 0);
	}
	CHILD_CHECK(stress_read(hm->stop, &c, 1) == 0);      /* EOF (or killed) */
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		CHILD_CHECK(pthread_join(th[i], NULL) == 0);
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

static void test_hammer(void **state)
{
	const char *name = stress_name("sigcrash");
	struct shmstat_opts o;
	struct hammer hv, hs;
	int up_v[2], up_s[2], stop[2];
	pid_t victim, survivor;
	unsigned reaped = 0;
	struct raw rw;
	shmstat_snap *s;
	shmstat_sigview *v;
	struct shmstat_sigstats st;
	size_t n, bad = 0;

	(void)state;
	seg_opts(&o, 16);
	stress_create(name, &o);
	stress_pipe(up_v);
	stress_pipe(up_s);
	stress_pipe(stop);
	hv = (struct hammer){ .name = name, .up = up_v[1], .stop = stop[0],
			      .unused = { up_v[0], up_s[0], up_s[1], stop[1] } };
	victim = stress_spawn(hammer_main, &hv);
	hs = (struct hammer){ .name = name, .up = up_s[1], .stop = stop[0],
			      .unused = { up_s[0], up_v[0], up_v[1], stop[1] } };
	survivor = stress_spawn(hammer_main, &hs);
	close(up_v[1]);
	close(up_s[1]);
	close(stop[0]);
	for (int i = 0; i < 2; i++) {
		stress_expect(up_v[0], victim);
		stress_expect(up_s[0], survivor);
	}
	assert_int_equal(kill(victim, SIGKILL), 0);
	assert_int_equal(stress_wait(victim), 128 + SIGKILL);
	/* the survivor goes on past any lock the victim held: more events */
	close(stop[1]);
	assert_int_equal(stress_wait(survivor), 0);
	close(up_v[0]);
	close(up_s[0]);

	/* the survivor's detach may have reaped the victim already */
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	assert_true(reaped <= 1);
	{
		struct shmstat_seg_info info;

		s = stress_snap(name);
		shmstat_snap_info(s, &info);
		assert_int_equal(info.writers_alive, 0);
		assert_int_equal(info.writers_dead, 0);
		shmstat_snap_free(s);
	}
	assert_int_equal(raw_open(name, METRIC, &rw), 0);
	for (uint32_t i = 0; i < rw.slots; i++)
		assert_false(SHMSTAT_SIG_LOCKED(word_of(&rw.ent[i])));
	raw_close(&rw);
	/* 16 keys or a few less: two writers that insert one key at the same
	 * moment may each take an entry for it, and the view merges them */
	n = expect_consistent(name, "after the kill and gc");
	assert_true(n >= 1 && n <= 32);

	s = stress_snap(name);
	v = su_view(s, METRIC);
	assert_non_null(v);
	shmstat_sigview_stats(v, &st);
	assert_true(st.evictions > 0);
	assert_true(st.hits + st.misses >= 4 * HMIN);
	for (size_t k = 0; k < shmstat_sigview_entries(v); k++) {
		struct shmstat_sigentry e;
		unsigned id;

		assert_int_equal(shmstat_sigview_entry(v, k, &e), 0);
		assert_int_equal(sscanf(e.prefix, "hk-%u", &id), 1);
		assert_true(id < HKEYS);
		if (e.weight - e.err_weight != (e.hits - e.err_hits) * hkey_w(id))
			bad++;
	}
	print_message("hammer: %llu events, %llu evictions, %llu dropped, %zu entries, "
		      "%zu with a half-counted event\n",
		      (unsigned long long)(st.hits + st.misses), (unsigned long long)st.evictions,
		      (unsigned long long)st.dropped, shmstat_sigview_entries(v), bad);
	assert_true(bad <= 2);
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dead_lock, stress_setup, stress_teardown),
		cmocka_unit_test_setup_teardown(test_half_update, stress_setup, stress_teardown),
		cmocka_unit_test_setup_teardown(test_hammer, stress_setup, stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests_name("sig_crash", tests, NULL, NULL);
}
