/*
 * test_sig_view.c - signature tables seen from the API: registration and
 * its limits, room in the segment, the reader's view (orders, owners,
 * rates, TTL, key text), the hashed calls, summaries of threads (unit
 * suite, ASan+UBSan build; one process, except owner_slots).
 *
 *  register_limits: every option out of range is EINVAL with a lowercase
 *      sentence, creates nothing, and leaves a do-nothing handle
 *      (capacity 0, 2^20 + 1; key_bytes 0, 4, 12, 1025, 1032; owners
 *      4097; summaries 0, 4097; ttl above 2^32 - 1 ms, also by 1 ns
 *      rounded up, also 2^32 ms exactly, which used to wrap to 0);
 *      shmstat_sigtab_bytes() is 0 for those and > 0 for the extremes
 *      allowed, which register (capacity 2^20 is refused for room only:
 *      SHMSTAT_EFULL, not EINVAL); 4096 owner slots all take a name and
 *      the next one is SHMSTAT_EFULL; 4096 summaries register; the TTL is
 *      kept in ms rounded up (1 ns -> 1 ms, 1.5 ms -> 2 ms, 2^32 - 1 ms).
 *  register_shape: the same name with another capacity, key_bytes,
 *      owners, summaries or TTL is SHMSTAT_ETYPE, as is a counter or a
 *      histogram of that name (both ways); a bad name is
 *      SHMSTAT_EBADNAME, NULL segment or definition EINVAL; the same shape
 *      twice is one table; NULL options are the documented defaults, whose
 *      table takes the 4,676,224 bytes documented.
 *  sig_bytes: a table takes exactly shmstat_sigtab_bytes(): two tables
 *      whose sizes add up to a whole number of pages fit in a segment of
 *      exactly that sig_bytes and nothing more does; with a page less the
 *      second is SHMSTAT_EFULL with a do-nothing handle; sig_bytes 0
 *      refuses every table; the size grows with every option.
 *  top_by_hits, top_by_weight, top_by_recent, top_ties, top_full_tie,
 *  top_many: shmstat_sigview_top() against its definition (key
 *      descending; ties by the larger upper bound, then the more recent,
 *      then the smaller hash), n smaller than the table gives the first n,
 *      n = 0 writes nothing; BY_HITS / BY_WEIGHT order by the guaranteed
 *      count (a key with an error but the same guaranteed count goes
 *      first: its upper bound is larger, even when it is older) and
 *      BY_HITS_MAX by the upper bound; 150 keys: the n <= 64 and n > 64
 *      paths agree. Recency is made deterministic by waiting for the
 *      coarse clock to move on between groups of events, then making
 *      TICK_EVENTS events (a summary reads the clock once every 16
 *      events), so each group is stamped after the wait.
 *  owner_filter: the owner argument keeps exactly that owner's entries;
 *      per-owner totals are exact; ids out of range count as no owner.
 *  owner_first: a key's owner is the one of its first event in the
 *      summary, also after it was evicted and came back.
 *  owner_hole: a name registered again past a freed slot keeps its id;
 *      a new name takes the freed slot.
 *  owner_stalled: a name in two slots (a registration gave up on a slot
 *      its stopped claimer then named the same) is one owner in the
 *      view, with both slots' totals.
 *  owner_slots: one name, one id in two processes; 55 bytes fit, 56, ""
 *      and NULL are SHMSTAT_EBADNAME; no free slot: SHMSTAT_EFULL, id 0;
 *      a table with 0 slots has no owner.
 *  hit_rate: of the guaranteed counts, hits / (hits + misses) when exact,
 *      0 for misses only (su_check() checks it with errors too).
 *  expired: no TTL and the default TTL never expire; with 1 ms, every
 *      entry is expired once the clock is 2 ms past its last event, and
 *      expired == (taken_ns - last_ns > ttl_ns) for every entry.
 *  event_time: an event's time is the coarse clock at one of the last 16
 *      events of its thread (sigtable.c): not later than the clock after
 *      it, not earlier than the clock before the 16th event before it.
 *  key_text: key_bytes 8, 16, 128: keys of 0..1000 bytes with NULs come
 *      back whole up to key_bytes, cut beyond (full_len the real length),
 *      NUL-terminated, has_key set (the empty key too, given as NULL);
 *      their hash is XXH3 of the whole key.
 *  lazy_text: once a summary is full, a newcomer has no text (has_key 0,
 *      key "", lengths 0, its hash) until its second event; a key without
 *      text in one summary gets it from another summary that has it.
 *  hashed_api: shmstat_sig_hash() is XXH3-64; a table fed with
 *      shmstat_sig_hit_hash(shmstat_sig_hash(key)) reads the same as one
 *      fed with shmstat_sig_hit(key); two keys given one hash are one key
 *      (the first one's text).
 *  noop_handles: a failed registration's handle does nothing, also after
 *      its segment is closed; shmstat_sig_owner() on it is EINVAL, id 0.
 *  pool_full: 3 threads at once, a pool of 2: one thread counts without
 *      a summary; its events are "unsummarized", in the totals and in
 *      every key's error; its keys are not listed; every bound holds.
 *  shared_stripe: a thread that finds no stripe of its own (max_threads
 *      1) counts unsummarized events the same way.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ut_common.h"
#include "sig_util.h"
#include "sigtable.h"

#define TAB "sig_view"
/* a summary reads the clock once every this many of its events
 * (SHMSTAT_SIG_TICK, sigtable.c) */
#define TICK_EVENTS 16

static shmstat_seg *open_seg_opts(const char *name, uint64_t sig_bytes, uint32_t values,
				  uint32_t threads)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;
	int err;

	ut_small_opts(&o);
	o.max_values = values;
	o.max_threads = threads;
	o.sig_bytes = sig_bytes;
	err = shmstat_open(name, &o, &seg);
	if (err)
		fail_msg("shmstat_open(%s): %s: %s", name, shmstat_strerror(err),
			 shmstat_last_error());
	return seg;
}

static shmstat_seg *open_seg(const char *name, uint64_t sig_bytes)
{
	return open_seg_opts(name, sig_bytes, 4096, 16);
}

static shmstat_sigtab *table(shmstat_seg *seg, const char *metric,
			     const struct shmstat_sigtab_opts *o)
{
	struct shmstat_metric_def def = { .name = metric };
	shmstat_sigtab *t = NULL;
	int err = shmstat_sigtab_register(seg, &def, o, &t);

	if (err)
		fail_msg("shmstat_sigtab_register(%s): %s: %s", metric, shmstat_strerror(err),
			 shmstat_last_error());
	assert_non_null(t);
	return t;
}

static int reg_err(shmstat_seg *seg, const char *metric, const struct shmstat_sigtab_opts *o)
{
	struct shmstat_metric_def def = { .name = metric };
	shmstat_sigtab *t = NULL;
	int err = shmstat_sigtab_register(seg, &def, o, &t);

	assert_non_null(t);             /* always a usable handle */
	return err;
}

/* A snapshot of @name and the view of its table @metric. */
static shmstat_sigview *view_of(const char *name, const char *metric, shmstat_snap **snap)
{
	shmstat_snap *s = ut_snap(name);
	shmstat_sigview *v = su_view(s, metric);

	if (v == NULL)
		fail_msg("table %s not found in %s", metric, name);
	if (snap)
		*snap = s;
	else
		shmstat_snap_free(s);
	return v;
}

static size_t metrics_of(const char *name)
{
	shmstat_snap *s = ut_snap(name);
	size_t n = shmstat_snap_metrics(s);

	shmstat_snap_free(s);
	return n;
}

static void hit(shmstat_sigtab *t, const char *key, uint64_t w, uint32_t owner)
{
	shmstat_sig_hit(t, key, strlen(key), w, owner);
}

static void miss(shmstat_sigtab *t, const char *key, uint32_t owner)
{
	shmstat_sig_miss(t, key, strlen(key), owner);
}

static int has_entry(const shmstat_sigview *v, const char *key)
{
	struct shmstat_sigentry e;

	return su_entry_of(v, su_hash(key, strlen(key)), &e) >= 0;
}

static struct shmstat_sigentry entry(const shmstat_sigview *v, const char *key)
{
	struct shmstat_sigentry e;

	if (su_entry_of(v, su_hash(key, strlen(key)), &e) < 0)
		fail_msg("key '%s' has no entry", key);
	return e;
}

static struct shmstat_sigentry entry_at(const shmstat_sigview *v, size_t k)
{
	struct shmstat_sigentry e;

	assert_int_equal(shmstat_sigview_entry(v, k, &e), 0);
	return e;
}

/* ------------------------------------------------------------- ordering */

static uint64_t order_key(const struct shmstat_sigentry *e, enum shmstat_sig_order o)
{
	switch (o) {
	case SHMSTAT_BY_WEIGHT: return e->weight - e->err_weight;
	case SHMSTAT_BY_RECENT: return e->last_ns;
	case SHMSTAT_BY_HITS_MAX: return e->hits;
	default: return e->hits - e->err_hits;
	}
}

/* @a comes before @b in order @o (strictly: two entries never tie): the
 * key descending, then the larger upper bound (weight for BY_WEIGHT, else
 * hits), then the more recent, then the smaller hash. */
static int before(const struct shmstat_sigentry *a, const struct shmstat_sigentry *b,
		  enum shmstat_sig_order o)
{
	uint64_t ka = order_key(a, o), kb = order_key(b, o);
	uint64_t ua = o == SHMSTAT_BY_WEIGHT ? a->weight : a->hits;
	uint64_t ub = o == SHMSTAT_BY_WEIGHT ? b->weight : b->hits;

	if (ka != kb)
		return ka > kb;
	if (ua != ub)
		return ua > ub;
	if (a->last_ns != b->last_ns)
		return a->last_ns > b->last_ns;
	return a->hash < b->hash;
}

/* Check shmstat_sigview_top(@o, @owner) against its definition: every
 * entry of @owner (all when NULL) once, in order; every shorter n gives a
 * prefix of it (n <= 64 and n > 64 take different paths). Return how
 * many. */
static size_t check_top(const shmstat_sigview *v, enum shmstat_sig_order o, const char *owner)
{
	size_t n = shmstat_sigview_entries(v), m, want = 0;
	size_t *idx = calloc(n + 5, sizeof(*idx)), *part = calloc(n + 5, sizeof(*part));
	char *seen = calloc(n + 1, 1);

	assert_non_null(idx);
	assert_non_null(part);
	assert_non_null(seen);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e = entry_at(v, k);

		if (owner == NULL || strcmp(e.owner, owner) == 0)
			want++;
	}
	m = shmstat_sigview_top(v, o, owner, n + 5, idx);
	assert_int_equal(m, want);
	for (size_t k = 0; k < m; k++) {
		struct shmstat_sigentry e;

		assert_true(idx[k] < n);
		assert_false(seen[idx[k]]);
		seen[idx[k]] = 1;
		e = entry_at(v, idx[k]);
		if (owner)
			assert_string_equal(e.owner, owner);
		if (k > 0) {
			struct shmstat_sigentry p = entry_at(v, idx[k - 1]);

			if (!before(&p, &e, o))
				fail_msg("order %d: entry %zu (key %llu, hits %llu, last %llu, "
					 "hash %llx) before entry %zu (key %llu, hits %llu, last "
					 "%llu, hash %llx)", (int)o, idx[k - 1],
					 (unsigned long long)order_key(&p, o),
					 (unsigned long long)p.hits, (unsigned long long)p.last_ns,
					 (unsigned long long)p.hash, idx[k],
					 (unsigned long long)order_key(&e, o),
					 (unsigned long long)e.hits, (unsigned long long)e.last_ns,
					 (unsigned long long)e.hash);
		}
	}
	for (size_t cut = 0; cut <= m; cut++) {
		assert_int_equal(shmstat_sigview_top(v, o, owner, cut, part), cut);
		assert_memory_equal(part, idx, cut * sizeof(*idx));
	}
	free(idx);
	free(part);
	free(seen);
	return m;
}

/* The keys of the first @n entries by @o, in order, must be @keys. */
static void expect_top(const shmstat_sigview *v, enum shmstat_sig_order o, const char *owner,
		       const char *const *keys, size_t n)
{
	size_t idx[64];

	assert_true(n <= 64);
	assert_int_equal(shmstat_sigview_top(v, o, owner, n, idx), n);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e = entry_at(v, idx[k]);

		if (e.hash != su_hash(keys[k], strlen(keys[k])))
			fail_msg("order %d, owner %s: place %zu holds '%.*s', expected '%s'", (int)o,
				 owner ? owner : "-", k, (int)e.key_len, e.key, keys[k]);
	}
}

/* Wait for the coarse clock to pass @after, then make TICK_EVENTS misses
 * on key "~pad": the summary reads the clock during them, so the events
 * that follow are stamped later than @after. */
static void next_group(shmstat_sigtab *t, uint64_t after)
{
	su_coarse_after(after);
	for (int i = 0; i < TICK_EVENTS; i++)
		miss(t, "~pad", 0);
}

/* Keys a..e of table @metric: hits 5, 3, 3, 1, 0 (e: 2 misses only),
 * weights 10, 30, 30, 100, 0. a and d come first, then c, then b, then
 * e, each group stamped after the one before: last_ns(a) = last_ns(d) <
 * last_ns(c) < last_ns(b) < last_ns(e). ticks[g]: the coarse clock after
 * group g. "~pad" (misses only) is stamped with the last group. */
static shmstat_sigtab *ordered_table(shmstat_seg *seg, const char *metric, uint64_t ticks[4])
{
	struct shmstat_sigtab_opts o = su_topts(64, 32, 4, 1, 0);
	shmstat_sigtab *t = table(seg, metric, &o);

	for (int i = 0; i < 5; i++)
		hit(t, "a", 2, 0);
	hit(t, "d", 100, 0);
	ticks[0] = su_coarse_ns();
	next_group(t, ticks[0]);
	for (int i = 0; i < 3; i++)
		hit(t, "c", 10, 0);
	ticks[1] = su_coarse_ns();
	next_group(t, ticks[1]);
	for (int i = 0; i < 3; i++)
		hit(t, "b", 10, 0);
	ticks[2] = su_coarse_ns();
	next_group(t, ticks[2]);
	miss(t, "e", 0);
	miss(t, "e", 0);
	ticks[3] = su_coarse_ns();
	return t;
}

static void test_top_by_hits(void **state)
{
	const char *name = ut_name("sigtop");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	uint64_t ticks[4];
	shmstat_sigview *v;
	shmstat_sigtab *t;
	/* a 5; b and c 3 each, b newer; d 1; then e and ~pad, 0 */
	static const char *const want[] = { "a", "b", "c", "d" };
	/* then c 4 */
	static const char *const want2[] = { "a", "c", "b", "d" };

	(void)state;
	t = ordered_table(seg, TAB, ticks);
	v = view_of(name, TAB, NULL);
	assert_int_equal(shmstat_sigview_entries(v), 6);
	expect_top(v, SHMSTAT_BY_HITS, NULL, want, 4);
	expect_top(v, SHMSTAT_BY_HITS_MAX, NULL, want, 4);
	assert_int_equal(check_top(v, SHMSTAT_BY_HITS, NULL), 6);
	assert_int_equal(check_top(v, SHMSTAT_BY_HITS_MAX, NULL), 6);
	assert_true(entry(v, "b").last_ns > entry(v, "c").last_ns);
	assert_int_equal(entry(v, "a").hits, 5);
	assert_int_equal(entry(v, "e").hits, 0);
	assert_int_equal(entry(v, "e").misses, 2);
	assert_int_equal(entry(v, "~pad").misses, 3 * TICK_EVENTS);
	shmstat_sigview_free(v);

	hit(t, "c", 1, 0);
	v = view_of(name, TAB, NULL);
	expect_top(v, SHMSTAT_BY_HITS, NULL, want2, 4);
	assert_int_equal(check_top(v, SHMSTAT_BY_HITS, NULL), 6);
	/* n = 0 writes nothing */
	{
		size_t idx[1] = { 12345 };

		assert_int_equal(shmstat_sigview_top(v, SHMSTAT_BY_HITS, NULL, 0, idx), 0);
		assert_int_equal(idx[0], 12345);
	}
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_top_by_weight(void **state)
{
	const char *name = ut_name("sigtop");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	uint64_t ticks[4];
	shmstat_sigview *v;
	/* d 100; b and c 30, b newer; a 10; then e and ~pad, 0 */
	static const char *const want[] = { "d", "b", "c", "a" };

	(void)state;
	ordered_table(seg, TAB, ticks);
	v = view_of(name, TAB, NULL);
	expect_top(v, SHMSTAT_BY_WEIGHT, NULL, want, 4);
	assert_int_equal(check_top(v, SHMSTAT_BY_WEIGHT, NULL), 6);
	assert_int_equal(entry(v, "d").weight, 100);
	assert_int_equal(entry(v, "a").weight, 10);
	assert_int_equal(entry(v, "b").weight, 30);
	assert_int_equal(entry(v, "b").err_weight, 0);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_top_by_recent(void **state)
{
	const char *name = ut_name("sigtop");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	uint64_t ticks[4], a_first;
	shmstat_sigview *v;
	shmstat_sigtab *t;
	size_t idx[6], pos[6];
	static const char *const keys[] = { "a", "b", "c", "d", "e", "~pad" };

	(void)state;
	t = ordered_table(seg, TAB, ticks);
	v = view_of(name, TAB, NULL);
	assert_int_equal(check_top(v, SHMSTAT_BY_RECENT, NULL), 6);
	assert_true(entry(v, "a").last_ns <= ticks[0]);
	assert_true(entry(v, "d").last_ns <= ticks[0]);
	assert_true(entry(v, "c").last_ns > ticks[0] && entry(v, "c").last_ns <= ticks[1]);
	assert_true(entry(v, "b").last_ns > ticks[1] && entry(v, "b").last_ns <= ticks[2]);
	assert_true(entry(v, "e").last_ns > ticks[2] && entry(v, "e").last_ns <= ticks[3]);
	/* places: e and ~pad (the last group), b, c, then a and d */
	assert_int_equal(shmstat_sigview_top(v, SHMSTAT_BY_RECENT, NULL, 6, idx), 6);
	for (size_t k = 0; k < 6; k++) {
		struct shmstat_sigentry e = entry_at(v, idx[k]);

		for (size_t j = 0; j < 6; j++)
			if (e.hash == su_hash(keys[j], strlen(keys[j])))
				pos[j] = k;
	}
	assert_true(pos[4] < 2 && pos[5] < 2);
	assert_int_equal(pos[1], 2);
	assert_int_equal(pos[2], 3);
	assert_true(pos[0] >= 4 && pos[3] >= 4);
	/* a and d in one tick: the larger upper bound (a, 5 hits) first */
	if (entry(v, "a").last_ns == entry(v, "d").last_ns)
		assert_true(pos[0] < pos[3]);
	a_first = entry(v, "a").first_ns;
	shmstat_sigview_free(v);

	/* a again, later: first by recency; its first_ns stays */
	next_group(t, ticks[3]);
	hit(t, "a", 2, 0);
	v = view_of(name, TAB, NULL);
	assert_int_equal(check_top(v, SHMSTAT_BY_RECENT, NULL), 6);
	assert_int_equal(entry(v, "a").first_ns, a_first);
	assert_true(entry(v, "a").last_ns > ticks[3]);
	assert_int_equal(shmstat_sigview_top(v, SHMSTAT_BY_RECENT, NULL, 1, idx), 1);
	if (entry_at(v, idx[0]).hash != su_hash("a", 1)) {
		/* only ~pad may share a's tick, and it has fewer hits */
		fail_msg("a, the most recent, is not first by recency");
	}
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

/* Ties broken by the upper bound. Capacity 3: x, y (1 hit each, weight
 * 3), z (5 hits, weight 1 each); w's first hit (weight 3) is kept out by
 * the admission filter (its counter 0 is below the minimum 1), its
 * second takes x's or y's entry: guaranteed 1 hit and 3 of weight, upper
 * bounds 2 and 6. The survivor s of x and y then has 16 misses, later
 * than w: guaranteed 1 hit and 3 of weight, upper bounds the same. By
 * hits and by weight w comes before s (larger upper bound, though
 * older); by hits max too. */
static void test_top_ties(void **state)
{
	const char *name = ut_name("sigtie");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts o = su_topts(3, 8, 0, 1, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	struct shmstat_sigentry w, s;
	struct shmstat_sigstats st;
	const char *sk;
	shmstat_sigview *v;
	uint64_t t0;
	static const char *const hits_order[] = { "z", "w" };
	static const char *const weight_order[] = { "z", "w" };

	(void)state;
	hit(t, "x", 3, 0);
	hit(t, "y", 3, 0);
	for (int i = 0; i < 5; i++)
		hit(t, "z", 1, 0);
	hit(t, "w", 3, 0);
	v = view_of(name, TAB, NULL);
	assert_false(has_entry(v, "w"));
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.filtered, 1);
	assert_int_equal(st.evictions, 0);
	shmstat_sigview_free(v);
	hit(t, "w", 3, 0);
	t0 = su_coarse_ns();
	v = view_of(name, TAB, NULL);
	assert_int_equal(shmstat_sigview_entries(v), 3);
	assert_true(has_entry(v, "x") != has_entry(v, "y"));
	sk = has_entry(v, "x") ? "x" : "y";
	shmstat_sigview_free(v);
	su_coarse_after(t0);
	for (int i = 0; i < TICK_EVENTS; i++)
		miss(t, sk, 0);
	v = view_of(name, TAB, NULL);
	shmstat_sigview_stats(v, &st);
	w = entry(v, "w");
	s = entry(v, sk);
	assert_int_equal(w.hits, 2);
	assert_int_equal(w.err_hits, 1);
	assert_int_equal(w.weight, 6);
	assert_int_equal(w.err_weight, 3);
	assert_int_equal(s.hits, 1);
	assert_int_equal(s.err_hits, 0);
	assert_int_equal(s.misses, TICK_EVENTS);
	assert_int_equal(s.weight, 3);
	assert_true(s.last_ns > w.last_ns);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.filtered, 1);
	assert_int_equal(st.max_error, 1);
	expect_top(v, SHMSTAT_BY_HITS, NULL, hits_order, 2);
	expect_top(v, SHMSTAT_BY_HITS_MAX, NULL, hits_order, 2);
	expect_top(v, SHMSTAT_BY_WEIGHT, NULL, weight_order, 2);
	for (int ord = SHMSTAT_BY_HITS; ord <= SHMSTAT_BY_HITS_MAX; ord++)
		assert_int_equal(check_top(v, (enum shmstat_sig_order)ord, NULL), 3);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

/* Two keys with the same hits, weight and last_ns: every order puts the
 * smaller hash first. Equal last_ns needs both in one tick: tried on
 * fresh tables until the clock did not move during the events. */
static void test_top_full_tie(void **state)
{
	const char *name = ut_name("sigtie");
	shmstat_seg *seg = open_seg(name, 4 << 20);
	struct shmstat_sigtab_opts o = su_topts(16, 32, 0, 1, 0);
	int attempt;

	(void)state;
	for (attempt = 0; attempt < 50; attempt++) {
		char metric[32];
		shmstat_sigtab *t;
		shmstat_sigview *v;
		uint64_t t0, t1;
		size_t idx[2];

		snprintf(metric, sizeof(metric), "sig_tie_%d", attempt);
		t = table(seg, metric, &o);
		t0 = su_coarse_ns();
		hit(t, "tie-x", 7, 0);
		hit(t, "tie-y", 7, 0);
		hit(t, "tie-x", 7, 0);
		hit(t, "tie-y", 7, 0);
		t1 = su_coarse_ns();
		if (t0 != t1)
			continue;               /* the clock moved: again */
		v = view_of(name, metric, NULL);
		for (int ord = SHMSTAT_BY_HITS; ord <= SHMSTAT_BY_HITS_MAX; ord++) {
			struct shmstat_sigentry a, b;

			assert_int_equal(shmstat_sigview_top(v, (enum shmstat_sig_order)ord, NULL, 2,
							     idx), 2);
			a = entry_at(v, idx[0]);
			b = entry_at(v, idx[1]);
			assert_int_equal(a.hits, b.hits);
			assert_int_equal(a.weight, b.weight);
			assert_int_equal(a.last_ns, b.last_ns);
			assert_true(a.hash < b.hash);
		}
		shmstat_sigview_free(v);
		break;
	}
	assert_true(attempt < 50);
	assert_int_equal(shmstat_close(seg), 0);
}

/* 150 keys through a table of capacity 100 (evictions, errors, ties):
 * every order, the full list and every prefix of it. */
static void test_top_many(void **state)
{
	const char *name = ut_name("sigmany");
	shmstat_seg *seg = open_seg(name, 4 << 20);
	struct shmstat_sigtab_opts o = su_topts(100, 16, 0, 1, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	uint64_t seed = 7;
	shmstat_sigview *v;
	struct shmstat_sigstats st;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		uint64_t r = su_next(&seed);
		char key[16];

		snprintf(key, sizeof(key), "m%llu", (unsigned long long)(r % 150 * (r % 3 ? 1 : 0)));
		if (r % 5 == 0)
			miss(t, key, 0);
		else
			hit(t, key, (r >> 20) % 4, 0);
	}
	v = view_of(name, TAB, NULL);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(shmstat_sigview_entries(v), 100);
	assert_true(st.evictions > 0);
	for (int ord = SHMSTAT_BY_HITS; ord <= SHMSTAT_BY_HITS_MAX; ord++)
		assert_int_equal(check_top(v, (enum shmstat_sig_order)ord, NULL), 100);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

/* -------------------------------------------------------- owners, rates */

static void test_owner_filter(void **state)
{
	const char *name = ut_name("sigown");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts o = su_topts(64, 32, 8, 1, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	uint32_t acme = 0, blue = 0;
	uint64_t h[3] = { 0 }, m[3] = { 0 }, w[3] = { 0 }, all_h = 0, all_m = 0, all_w = 0;
	shmstat_sigview *v;
	struct shmstat_sigstats st;
	struct shmstat_sigowner_info oi;
	uint64_t seed = 42;

	(void)state;
	assert_int_equal(shmstat_sig_owner(t, "acme", &acme), 0);
	assert_int_equal(shmstat_sig_owner(t, "blue", &blue), 0);
	assert_int_not_equal(acme, 0);
	assert_int_not_equal(blue, 0);
	assert_int_not_equal(acme, blue);
	/* 30 keys; key i belongs to owner i % 3 (0: none, given as 0 or as
	 * an id out of range) */
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 30; i++) {
			char key[16];
			int on = i % 3;
			uint32_t id = on == 1 ? acme : on == 2 ? blue : (round % 2 ? 9 : 0);
			uint64_t r = su_next(&seed);

			snprintf(key, sizeof(key), "own-%02d", i);
			if (r % 4 == 0) {
				miss(t, key, id);
				m[on]++;
				all_m++;
			} else {
				hit(t, key, r >> 54, id);
				h[on]++;
				w[on] += r >> 54;
				all_h++;
				all_w += r >> 54;
			}
		}
	}
	v = view_of(name, TAB, NULL);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.hits, all_h);
	assert_int_equal(st.misses, all_m);
	assert_int_equal(st.weight, all_w);
	assert_int_equal(st.events, all_h + all_m);
	assert_int_equal(st.owners, 2);
	assert_int_equal(shmstat_sigview_owners(v), 2);
	assert_int_equal(shmstat_sigview_owner(v, acme - 1, &oi), 0);
	assert_string_equal(oi.name, "acme");
	assert_int_equal(oi.hits, h[1]);
	assert_int_equal(oi.misses, m[1]);
	assert_int_equal(oi.weight, w[1]);
	assert_int_equal(shmstat_sigview_owner(v, blue - 1, &oi), 0);
	assert_string_equal(oi.name, "blue");
	assert_int_equal(oi.hits, h[2]);
	assert_int_equal(oi.misses, m[2]);
	assert_int_equal(oi.weight, w[2]);
	assert_int_equal(shmstat_sigview_owner(v, 2, &oi), EINVAL);
	for (int ord = SHMSTAT_BY_HITS; ord <= SHMSTAT_BY_HITS_MAX; ord++) {
		assert_int_equal(check_top(v, (enum shmstat_sig_order)ord, "acme"), 10);
		assert_int_equal(check_top(v, (enum shmstat_sig_order)ord, "blue"), 10);
		assert_int_equal(check_top(v, (enum shmstat_sig_order)ord, ""), 10);
		assert_int_equal(check_top(v, (enum shmstat_sig_order)ord, NULL), 30);
		assert_int_equal(check_top(v, (enum shmstat_sig_order)ord, "nobody"), 0);
	}
	/* the entries' owners, and their sums per owner */
	{
		uint64_t eh[3] = { 0 }, em[3] = { 0 }, ew[3] = { 0 };

		for (size_t k = 0; k < shmstat_sigview_entries(v); k++) {
			struct shmstat_sigentry e = entry_at(v, k);
			int i = atoi(e.key + 4), on = i % 3;

			assert_int_equal(e.err_hits, 0);
			assert_string_equal(e.owner, on == 1 ? "acme" : on == 2 ? "blue" : "");
			eh[on] += e.hits;
			em[on] += e.misses;
			ew[on] += e.weight;
		}
		for (int on = 0; on < 3; on++) {
			assert_int_equal(eh[on], h[on]);
			assert_int_equal(em[on], m[on]);
			assert_int_equal(ew[on], w[on]);
		}
	}
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

/* The owner kept for a key is the one of its first event in the summary;
 * the owners' totals follow every event's own owner. */
static void test_owner_first(void **state)
{
	const char *name = ut_name("sigown");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts o = su_topts(2, 8, 4, 1, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	uint32_t a = 0, b = 0;
	shmstat_sigview *v;
	struct shmstat_sigowner_info oi;

	(void)state;
	assert_int_equal(shmstat_sig_owner(t, "a", &a), 0);
	assert_int_equal(shmstat_sig_owner(t, "b", &b), 0);
	hit(t, "k", 1, a);
	hit(t, "k", 1, b);
	miss(t, "k", b);
	hit(t, "k", 1, b);
	hit(t, "j", 1, 0);
	hit(t, "j", 1, b);
	v = view_of(name, TAB, NULL);
	assert_string_equal(entry(v, "k").owner, "a");
	assert_string_equal(entry(v, "j").owner, "");
	assert_int_equal(shmstat_sigview_owner(v, a - 1, &oi), 0);
	assert_int_equal(oi.hits, 1);
	assert_int_equal(oi.misses, 0);
	assert_int_equal(shmstat_sigview_owner(v, b - 1, &oi), 0);
	assert_int_equal(oi.hits, 3);
	assert_int_equal(oi.misses, 1);
	shmstat_sigview_free(v);
	/* k (4 events) stays; x's first two events are kept out by the
	 * filter (its counter below the minimum 2), at its third j (2)
	 * goes for x (3); j's counter is now 2: at its first event it is
	 * kept out, at its second x goes for j, which comes back for
	 * owner b */
	hit(t, "x", 1, a);
	hit(t, "x", 1, a);
	v = view_of(name, TAB, NULL);
	assert_false(has_entry(v, "x"));
	assert_string_equal(entry(v, "j").owner, "");
	shmstat_sigview_free(v);
	hit(t, "x", 1, a);
	v = view_of(name, TAB, NULL);
	assert_false(has_entry(v, "j"));
	assert_string_equal(entry(v, "x").owner, "a");
	shmstat_sigview_free(v);
	hit(t, "j", 1, b);
	hit(t, "j", 1, b);
	v = view_of(name, TAB, NULL);
	assert_false(has_entry(v, "x"));
	assert_string_equal(entry(v, "j").owner, "b");
	assert_string_equal(entry(v, "k").owner, "a");
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_hit_rate(void **state)
{
	const char *name = ut_name("sigrate");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts o = su_topts(64, 32, 0, 1, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	shmstat_sigview *v;

	(void)state;
	for (int i = 0; i < 3; i++)
		hit(t, "three-one", 1, 0);
	miss(t, "three-one", 0);
	miss(t, "misses", 0);
	hit(t, "hits", 0, 0);
	for (int i = 0; i < 7; i++)
		miss(t, "one-seven", 0);
	hit(t, "one-seven", 0, 0);
	v = view_of(name, TAB, NULL);
	assert_true(entry(v, "three-one").hit_rate == 0.75);
	assert_true(entry(v, "misses").hit_rate == 0.0);
	assert_true(entry(v, "hits").hit_rate == 1.0);
	assert_true(entry(v, "one-seven").hit_rate == 0.125);
	assert_int_equal(entry(v, "one-seven").misses, 7);
	assert_int_equal(entry(v, "hits").weight, 0);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

/* --------------------------------------------------------- owner slots */

struct kid_arg {
	const char *name;
	struct shmstat_sigtab_opts o;
};

/* A second process: the same table; 'a' / 'b': the id of "alpha" /
 * "beta"; 'h': a hit on "kid-key" for alpha, weight 7; 'q': detach. */
static int owner_kid(void *arg, int cmd, int ack)
{
	const struct kid_arg *ka = arg;
	struct shmstat_metric_def def = { .name = TAB };
	shmstat_seg *seg = NULL;
	shmstat_sigtab *t = NULL;
	uint32_t id = 0;
	int c;

	if (shmstat_open(ka->name, NULL, &seg) != 0 ||
	    shmstat_sigtab_register(seg, &def, &ka->o, &t) != 0)
		return 2;
	ut_send(ack, 'r');
	while ((c = ut_recv(cmd)) >= 0) {
		switch (c) {
		case 'a':
		case 'b':
			if (shmstat_sig_owner(t, c == 'a' ? "alpha" : "beta", &id) != 0)
				return 3;
			ut_send(ack, (char)id);
			break;
		case 'h':
			if (shmstat_sig_owner(t, "alpha", &id) != 0)
				return 3;
			shmstat_sig_hit(t, "kid-key", 7, 7, id);
			ut_send(ack, 'k');
			break;
		case 'q':
			shmstat_close(seg);
			ut_send(ack, 'q');
			return 0;
		default:
			return 4;
		}
	}
	return 5;
}

/* An owner slot freed before a registered name (its claimer killed
 * between its CAS and its name, and the slot repaired): the name
 * registered again finds its own slot instead of taking the hole twice;
 * a new name takes the hole. */
static void test_owner_hole(void **state)
{
	const char *name = ut_name("sighole");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts o = su_topts(16, 32, 4, 1, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	uint32_t a = 0, b = 0, c = 0, id = 0;

	(void)state;
	assert_int_equal(shmstat_sig_owner(t, "a", &a), 0);
	assert_int_equal(shmstat_sig_owner(t, "b", &b), 0);
	assert_int_equal(shmstat_sig_owner(t, "c", &c), 0);
	assert_int_equal(a, 1);
	/* what a repair leaves of a dead claimer's slot */
	__atomic_store_n(&t->owners[a - 1].word, 0, __ATOMIC_RELEASE);
	assert_int_equal(shmstat_sig_owner(t, "b", &id), 0);
	if (id != b)
		fail_msg("owner b registered again got id %u, not its own %u: the name in two "
			 "slots", id, b);
	assert_int_equal(shmstat_sig_owner(t, "c", &id), 0);
	assert_int_equal(id, c);
	assert_int_equal(shmstat_sig_owner(t, "d", &id), 0);
	assert_int_equal(id, a);                    /* the hole */
	assert_int_equal(shmstat_close(seg), 0);
}

/* This process's start time as its tag keeps it (24 bits), from
 * /proc/self/stat (field 22, after the command's closing parenthesis) */
static uint64_t self_start(void)
{
	char buf[1024], *p;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	unsigned long long start = 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	assert_non_null(p);
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	assert_non_null(p);
	start = strtoull(p + 1, NULL, 10);
	assert_true(start > 0);
	return start & 0xffffffu;
}

/* An owner slot CLAIMED by a process that died while its pid now runs
 * another process (here ours, with another start time): a registration
 * frees it and takes it, and so does the reaper (shmstat_gc); a claim of
 * a process that runs is left alone. */
static void test_owner_pid_reused(void **state)
{
	const char *name = ut_name("sigreuse");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts o = su_topts(16, 32, 4, 1, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	const uint64_t start = self_start();
	const uint64_t stale = 1 | SHMSTAT_TAG(getpid(), (start + 1) & 0xffffffu);
	const uint64_t live = 1 | SHMSTAT_TAG(getpid(), start);
	uint32_t id = 0;

	(void)state;
	__atomic_store_n(&t->owners[0].word, stale, __ATOMIC_RELEASE);
	assert_int_equal(shmstat_sig_owner(t, "a", &id), 0);
	if (id != 1)
		fail_msg("owner a got id %u: the slot a reused pid claims was kept", id);
	__atomic_store_n(&t->owners[1].word, stale, __ATOMIC_RELEASE);
	__atomic_store_n(&t->owners[2].word, live, __ATOMIC_RELEASE);
	assert_int_equal(shmstat_gc(name, NULL), 0);
	assert_int_equal(__atomic_load_n(&t->owners[1].word, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(__atomic_load_n(&t->owners[2].word, __ATOMIC_ACQUIRE), live);
	__atomic_store_n(&t->owners[2].word, 0, __ATOMIC_RELEASE);
	assert_int_equal(shmstat_sig_owner(t, "b", &id), 0);
	assert_int_equal(id, 2);
	assert_int_equal(shmstat_close(seg), 0);
}

/* A claimer that runs but does not go on (stopped between its CAS and
 * its name): a registration of that very name gives up on the slot
 * after its yields and takes the next one; the claimer then names its
 * slot the same. The view shows the name once, with the totals of both
 * ids (it showed "acct" twice, 10 and 5 hits: two Prometheus series
 * with the same labels), and keys of either id under it. */
static void test_owner_stalled(void **state)
{
	const char *name = ut_name("sigstall");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts o = su_topts(16, 32, 4, 1, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	const uint64_t live = 1 | SHMSTAT_TAG(getpid(), self_start());
	struct shmstat_sigowner_info oi;
	shmstat_sigview *v;
	size_t top[4];
	uint32_t id = 0;

	(void)state;
	__atomic_store_n(&t->owners[0].word, live, __ATOMIC_RELEASE);
	assert_int_equal(shmstat_sig_owner(t, "acct", &id), 0);
	assert_int_equal(id, 2);
	memset(t->owners[0].name, 0, sizeof(t->owners[0].name));
	strcpy(t->owners[0].name, "acct");
	__atomic_store_n(&t->owners[0].word, 2, __ATOMIC_RELEASE);
	for (int i = 0; i < 10; i++)
		hit(t, "by-one", 3, 1);
	for (int i = 0; i < 5; i++)
		hit(t, "by-two", 2, id);
	miss(t, "by-two", id);
	v = view_of(name, TAB, NULL);
	if (shmstat_sigview_owners(v) != 1)
		fail_msg("%zu owners: the name twice", shmstat_sigview_owners(v));
	assert_int_equal(shmstat_sigview_owner(v, 0, &oi), 0);
	assert_string_equal(oi.name, "acct");
	assert_int_equal(oi.hits, 15);
	assert_int_equal(oi.misses, 1);
	assert_int_equal(oi.weight, 40);
	assert_string_equal(entry(v, "by-two").owner, "acct");
	assert_int_equal(shmstat_sigview_top(v, SHMSTAT_BY_HITS, "acct", 4, top), 2);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_owner_slots(void **state)
{
	const char *name = ut_name("sigslot");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct kid_arg ka = { name, su_topts(16, 32, 3, 2, 0) };
	shmstat_sigtab *t = table(seg, TAB, &ka.o);
	struct ut_kid kid;
	uint32_t beta = 0, alpha = 0, gamma = 0, id;
	char long55[56], long56[57];
	shmstat_sigview *v;
	struct shmstat_sigowner_info oi;
	struct shmstat_sigstats st;

	(void)state;
	assert_int_equal(shmstat_sig_owner(t, "beta", &beta), 0);
	assert_int_equal(beta, 1);
	assert_int_equal(ut_kid_start(&kid, owner_kid, &ka), 'r');
	/* the child finds beta's id, and adds alpha; the parent finds it */
	assert_int_equal(ut_kid_cmd(&kid, 'b'), (char)beta);
	alpha = (uint32_t)ut_kid_cmd(&kid, 'a');
	assert_int_equal(alpha, 2);
	assert_int_equal(shmstat_sig_owner(t, "alpha", &id), 0);
	assert_int_equal(id, alpha);
	assert_int_equal(shmstat_sig_owner(t, "beta", &id), 0);
	assert_int_equal(id, beta);
	assert_int_equal(ut_kid_cmd(&kid, 'h'), 'k');
	assert_int_equal(ut_kid_cmd(&kid, 'q'), 'q');
	assert_int_equal(ut_kid_wait(&kid), 0);

	/* names: 55 bytes fit, 56 do not, nor "" or NULL */
	memset(long55, 'n', 55);
	long55[55] = '\0';
	memset(long56, 'n', 56);
	long56[56] = '\0';
	id = 99;
	assert_int_equal(shmstat_sig_owner(t, long56, &id), SHMSTAT_EBADNAME);
	assert_int_equal(id, 0);
	ut_check_error_text(NULL);
	assert_int_equal(shmstat_sig_owner(t, "", &id), SHMSTAT_EBADNAME);
	assert_int_equal(shmstat_sig_owner(t, NULL, &id), SHMSTAT_EBADNAME);
	assert_int_equal(shmstat_sig_owner(t, long55, &gamma), 0);
	assert_int_equal(gamma, 3);
	/* all 3 slots taken */
	id = 99;
	assert_int_equal(shmstat_sig_owner(t, "delta", &id), SHMSTAT_EFULL);
	assert_int_equal(id, 0);
	ut_check_error_text("delta");
	assert_int_equal(shmstat_sig_owner(t, long55, &id), 0);
	assert_int_equal(id, gamma);

	/* events: owner 0, ids out of range (4, 1000, UINT32_MAX): no owner */
	hit(t, "nobody-0", 5, 0);
	hit(t, "nobody-4", 5, 4);
	miss(t, "nobody-1000", 1000);
	hit(t, "nobody-max", 5, UINT32_MAX);
	hit(t, "gamma-key", 11, gamma);
	miss(t, "gamma-key", gamma);
	hit(t, "beta-key", 13, beta);

	v = view_of(name, TAB, NULL);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.hits, 1 + 3 + 1 + 1);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.weight, 7 + 15 + 11 + 13);
	assert_int_equal(shmstat_sigview_owners(v), 3);
	assert_int_equal(shmstat_sigview_owner(v, beta - 1, &oi), 0);
	assert_string_equal(oi.name, "beta");
	assert_int_equal(oi.hits, 1);
	assert_int_equal(oi.misses, 0);
	assert_int_equal(oi.weight, 13);
	assert_int_equal(shmstat_sigview_owner(v, alpha - 1, &oi), 0);
	assert_string_equal(oi.name, "alpha");
	assert_int_equal(oi.hits, 1);
	assert_int_equal(oi.weight, 7);
	assert_int_equal(shmstat_sigview_owner(v, gamma - 1, &oi), 0);
	assert_string_equal(oi.name, long55);
	assert_int_equal(oi.hits, 1);
	assert_int_equal(oi.misses, 1);
	assert_int_equal(oi.weight, 11);
	assert_string_equal(entry(v, "kid-key").owner, "alpha");
	assert_string_equal(entry(v, "beta-key").owner, "beta");
	assert_string_equal(entry(v, "gamma-key").owner, long55);
	assert_string_equal(entry(v, "nobody-0").owner, "");
	assert_string_equal(entry(v, "nobody-4").owner, "");
	assert_string_equal(entry(v, "nobody-1000").owner, "");
	assert_string_equal(entry(v, "nobody-max").owner, "");
	assert_int_equal(check_top(v, SHMSTAT_BY_HITS, ""), 4);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_owner_none(void **state)
{
	const char *name = ut_name("sigslot");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts o = su_topts(16, 32, 0, 1, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	shmstat_sigview *v;
	struct shmstat_sigstats st;
	uint32_t id = 99;

	(void)state;
	assert_int_equal(shmstat_sig_owner(t, "anyone", &id), SHMSTAT_EFULL);
	assert_int_equal(id, 0);
	hit(t, "k", 3, 1);
	miss(t, "k", 1);
	v = view_of(name, TAB, NULL);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.owners, 0);
	assert_int_equal(shmstat_sigview_owners(v), 0);
	assert_string_equal(entry(v, "k").owner, "");
	assert_int_equal(entry(v, "k").hits, 1);
	assert_int_equal(entry(v, "k").misses, 1);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.weight, 3);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

/* ----------------------------------------------------------------- ttl */

/* Every entry of table @metric: expired == (taken - last > ttl); return
 * how many are expired. */
static size_t check_expired(const char *name, const char *metric, uint64_t ttl_ns, size_t n)
{
	shmstat_snap *s;
	shmstat_sigview *v = view_of(name, metric, &s);
	struct shmstat_seg_info info;
	struct shmstat_sigstats st;
	size_t expired = 0;

	shmstat_snap_info(s, &info);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.ttl_ns, ttl_ns);
	assert_int_equal(shmstat_sigview_entries(v), n);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e = entry_at(v, k);
		int want = ttl_ns && info.taken_ns > e.last_ns && info.taken_ns - e.last_ns > ttl_ns;

		assert_int_equal(e.expired, want);
		expired += (size_t)e.expired;
	}
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
	return expired;
}

static void test_expired(void **state)
{
	const char *name = ut_name("sigttl");
	shmstat_seg *seg = open_seg(name, 4 << 20);
	struct shmstat_sigtab_opts none = su_topts(16, 32, 0, 1, 0);
	struct shmstat_sigtab_opts dflt = su_topts(16, 32, 0, 1, 0);
	struct shmstat_sigtab_opts ms = su_topts(16, 32, 0, 1, 1000000);
	shmstat_sigtab *t0, *td, *t1;
	uint64_t last;

	(void)state;
	shmstat_sigtab_opts_init(&dflt);
	dflt.capacity = 16;
	dflt.owners = 0;
	dflt.summaries = 1;
	assert_int_equal(dflt.ttl_ns, UINT64_C(600000000000));
	t0 = table(seg, "sig_ttl_none", &none);
	td = table(seg, "sig_ttl_default", &dflt);
	t1 = table(seg, "sig_ttl_1ms", &ms);
	for (int i = 0; i < 5; i++) {
		char key[8];

		snprintf(key, sizeof(key), "k%d", i);
		hit(t0, key, 1, 0);
		hit(td, key, 1, 0);
		hit(t1, key, 1, 0);
	}
	last = su_coarse_ns();
	/* every event is stamped <= last: wait until the precise clock is
	 * 2 ms past it */
	su_real_after(last + 2000000);
	assert_int_equal(check_expired(name, "sig_ttl_none", 0, 5), 0);
	assert_int_equal(check_expired(name, "sig_ttl_default", UINT64_C(600000000000), 5), 0);
	assert_int_equal(check_expired(name, "sig_ttl_1ms", 1000000, 5), 5);
	assert_int_equal(shmstat_close(seg), 0);
}

/* An event's time (first and last seen) is the coarse clock at one of
 * the last TICK_EVENTS events of its thread (sigtable.c): never later
 * than the clock after the event, never earlier than the clock before
 * the TICK_EVENTS-th event before it; for a key taken from a free entry
 * and for one taken by eviction alike. */
static void test_event_time(void **state)
{
	const char *name = ut_name("sigtime");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts o = su_topts(4, 8, 0, 1, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	shmstat_sigview *v;
	struct shmstat_sigentry e;
	uint64_t b1, a1, b2, a2;

	(void)state;
	hit(t, "early", 1, 0);
	su_coarse_after(su_coarse_ns());
	b1 = su_coarse_ns();
	for (int i = 0; i < TICK_EVENTS; i++)
		miss(t, "pad", 0);
	hit(t, "fresh", 1, 0);          /* a free entry */
	a1 = su_coarse_ns();
	hit(t, "c", 1, 0);              /* the summary is full */
	su_coarse_after(su_coarse_ns());
	b2 = su_coarse_ns();
	for (int i = 0; i < TICK_EVENTS; i++)
		miss(t, "pad", 0);
	/* kept out by the admission filter, then takes the entry of a key
	 * seen once */
	hit(t, "evicts", 1, 0);
	hit(t, "evicts", 1, 0);
	a2 = su_coarse_ns();
	v = view_of(name, TAB, NULL);
	e = entry(v, "fresh");
	if (e.first_ns < b1 || e.first_ns > e.last_ns || e.last_ns > a1)
		fail_msg("a key taken from a free entry between coarse times %llu and %llu is "
			 "stamped first %llu last %llu", (unsigned long long)b1,
			 (unsigned long long)a1, (unsigned long long)e.first_ns,
			 (unsigned long long)e.last_ns);
	e = entry(v, "evicts");
	if (e.first_ns < b2 || e.first_ns > e.last_ns || e.last_ns > a2)
		fail_msg("a key taken by eviction between coarse times %llu and %llu is stamped "
			 "first %llu last %llu", (unsigned long long)b2, (unsigned long long)a2,
			 (unsigned long long)e.first_ns, (unsigned long long)e.last_ns);
	e = entry(v, "pad");
	assert_true(e.last_ns >= b2 && e.last_ns <= a2);
	assert_true(e.first_ns <= a1);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

/* -------------------------------------------------------- registration */

/* Every refusal: the code, a sentence, a handle that does nothing. */
static void refused(shmstat_seg *seg, const char *segname, const struct shmstat_sigtab_opts *o,
		    int want, size_t metrics)
{
	struct shmstat_metric_def def = { .name = "sig_refused" };
	shmstat_sigtab *t = NULL;
	uint32_t id = 5;

	assert_int_equal(shmstat_sigtab_register(seg, &def, o, &t), want);
	ut_check_error_text(NULL);
	assert_non_null(t);
	shmstat_sig_hit(t, "k", 1, 1, 0);
	shmstat_sig_miss(t, "k", 1, 0);
	shmstat_sig_hit_hash(t, 1, "k", 1, 1, 0);
	shmstat_sig_miss_hash(t, 1, "k", 1, 0);
	assert_int_equal(shmstat_sig_owner(t, "o", &id), EINVAL);
	assert_int_equal(id, 0);
	assert_int_equal(metrics_of(segname), metrics);
}

static void test_register_limits(void **state)
{
	const char *name = ut_name("sigreg");
	shmstat_seg *seg = open_seg_opts(name, 16 << 20, 16384, 16);
	struct shmstat_sigtab_opts ok = su_topts(64, 16, 4, 2, 0), o;
	static const uint32_t caps[] = { 0, (1u << 20) + 1, UINT32_MAX };
	static const uint32_t kbs[] = { 0, 4, 12, 1025, 1032, UINT32_MAX };
	static const uint64_t ttls[] = {
		(UINT64_C(0xffffffff) + 1) * 1000000u,          /* 2^32 ms: wrapped to 0 */
		UINT64_C(0xffffffff) * 1000000u + 1,            /* rounds up to 2^32 ms */
		(UINT64_C(0xffffffff) + 2) * 1000000u,
		UINT64_MAX,
	};
	shmstat_sigview *v;
	struct shmstat_sigstats st;

	(void)state;
	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		o = ok;
		o.capacity = caps[k];
		refused(seg, name, &o, EINVAL, 0);
		assert_int_equal(shmstat_sigtab_bytes(&o), 0);
	}
	for (size_t k = 0; k < sizeof(kbs) / sizeof(kbs[0]); k++) {
		o = ok;
		o.key_bytes = kbs[k];
		refused(seg, name, &o, EINVAL, 0);
		assert_int_equal(shmstat_sigtab_bytes(&o), 0);
	}
	o = ok;
	o.owners = 4097;
	refused(seg, name, &o, EINVAL, 0);
	assert_int_equal(shmstat_sigtab_bytes(&o), 0);
	o = ok;
	o.summaries = 0;
	refused(seg, name, &o, EINVAL, 0);
	assert_int_equal(shmstat_sigtab_bytes(&o), 0);
	o = ok;
	o.summaries = 4097;
	refused(seg, name, &o, EINVAL, 0);
	assert_int_equal(shmstat_sigtab_bytes(&o), 0);
	/* (shmstat_sigtab_bytes() of these: test_bytes_ttl) */
	for (size_t k = 0; k < sizeof(ttls) / sizeof(ttls[0]); k++) {
		o = ok;
		o.ttl_ns = ttls[k];
		refused(seg, name, &o, EINVAL, 0);
	}
	assert_int_equal(shmstat_sigtab_bytes(NULL), 0);

	/* the extremes allowed */
	o = ok;
	o.capacity = 1;
	assert_true(shmstat_sigtab_bytes(&o) > 0);
	assert_int_equal(reg_err(seg, "sig_cap1", &o), 0);
	o.capacity = 1u << 20;
	o.key_bytes = 8;
	assert_true(shmstat_sigtab_bytes(&o) > (uint64_t)(16 << 20));
	/* too big for this segment: refused for room, the shape is fine */
	refused(seg, name, &o, SHMSTAT_EFULL, 1);
	o = ok;
	o.key_bytes = 8;
	assert_int_equal(reg_err(seg, "sig_kb8", &o), 0);
	o.key_bytes = 1024;
	assert_int_equal(reg_err(seg, "sig_kb1024", &o), 0);
	o = ok;
	o.owners = 0;
	assert_int_equal(reg_err(seg, "sig_own0", &o), 0);
	o = su_topts(1, 8, 0, 4096, 0);
	assert_int_equal(reg_err(seg, "sig_pool4096", &o), 0);
	o = su_topts(1, 8, 0, 1, UINT64_C(0xffffffff) * 1000000u);
	assert_int_equal(reg_err(seg, "sig_ttl_max", &o), 0);
	o = su_topts(1, 8, 0, 1, 1);
	assert_int_equal(reg_err(seg, "sig_ttl_1ns", &o), 0);
	o = su_topts(1, 8, 0, 1, 1500000);
	assert_int_equal(reg_err(seg, "sig_ttl_1500us", &o), 0);
	{
		static const struct {
			const char *metric;
			uint64_t ttl;
		} want[] = {
			{ "sig_ttl_max", UINT64_C(0xffffffff) * 1000000u },
			{ "sig_ttl_1ns", 1000000 },
			{ "sig_ttl_1500us", 2000000 },
		};

		for (size_t k = 0; k < 3; k++) {
			v = view_of(name, want[k].metric, NULL);
			shmstat_sigview_stats(v, &st);
			assert_int_equal(st.ttl_ns, want[k].ttl);
			shmstat_sigview_free(v);
		}
	}

	/* 4096 owner slots, every one takes a name; then none is free */
	{
		shmstat_sigtab *t;
		uint32_t id = 0;

		o = su_topts(1, 8, 4096, 1, 0);
		assert_true(shmstat_sigtab_bytes(&o) > 0);
		t = table(seg, "sig_own4096", &o);
		for (uint32_t i = 0; i < 4096; i++) {
			char on[16];

			snprintf(on, sizeof(on), "o%u", i);
			assert_int_equal(shmstat_sig_owner(t, on, &id), 0);
			assert_int_equal(id, i + 1);
		}
		assert_int_equal(shmstat_sig_owner(t, "one-more", &id), SHMSTAT_EFULL);
		assert_int_equal(id, 0);
		shmstat_sig_hit(t, "k", 1, 3, 4096);
		v = view_of(name, "sig_own4096", NULL);
		shmstat_sigview_stats(v, &st);
		assert_int_equal(st.owners, 4096);
		assert_string_equal(entry(v, "k").owner, "o4095");
		{
			struct shmstat_sigowner_info oi;

			assert_int_equal(shmstat_sigview_owner(v, 4095, &oi), 0);
			assert_string_equal(oi.name, "o4095");
			assert_int_equal(oi.hits, 1);
			assert_int_equal(oi.weight, 3);
		}
		shmstat_sigview_free(v);
	}
	assert_int_equal(shmstat_close(seg), 0);
}

/* shmstat_sigtab_bytes() is "0 when the shape is out of bounds", and a
 * TTL above 2^32 - 1 ms is out of the bounds struct shmstat_sigtab_opts
 * documents (registration refuses it): a size for it says it can be
 * registered. */
static void test_bytes_ttl(void **state)
{
	struct shmstat_sigtab_opts o = su_topts(64, 16, 4, 2,
						(UINT64_C(0xffffffff) + 1) * 1000000u);

	(void)state;
	if (shmstat_sigtab_bytes(&o) != 0)
		fail_msg("shmstat_sigtab_bytes() gives %llu bytes for a ttl of 2^32 ms, which "
			 "shmstat_sigtab_register() refuses (EINVAL)",
			 (unsigned long long)shmstat_sigtab_bytes(&o));
}

static void test_register_shape(void **state)
{
	const char *name = ut_name("sigreg");
	shmstat_seg *seg = open_seg(name, 16 << 20);
	struct shmstat_sigtab_opts o = su_topts(64, 16, 4, 2, 0), bad;
	struct shmstat_metric_def def = { .name = "sig_reg" };
	shmstat_sigtab *t1 = NULL, *t2 = NULL;
	shmstat_counter *c = NULL;
	shmstat_hist *h = NULL;
	shmstat_sigview *v;
	struct shmstat_sigstats st;

	(void)state;
	assert_int_equal(reg_err(seg, "9bad", &o), SHMSTAT_EBADNAME);
	assert_int_equal(shmstat_sigtab_register(NULL, &def, &o, &t1), EINVAL);
	assert_non_null(t1);
	assert_int_equal(shmstat_sigtab_register(seg, NULL, &o, &t1), EINVAL);
	assert_non_null(t1);
	assert_int_equal(metrics_of(name), 0);

	assert_int_equal(shmstat_sigtab_register(seg, &def, &o, &t1), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &def, &o, &t2), 0);
	/* another shape: ETYPE */
	bad = o;
	bad.capacity = 128;
	assert_int_equal(reg_err(seg, "sig_reg", &bad), SHMSTAT_ETYPE);
	ut_check_error_text("sig_reg");
	bad = o;
	bad.key_bytes = 32;
	assert_int_equal(reg_err(seg, "sig_reg", &bad), SHMSTAT_ETYPE);
	bad = o;
	bad.owners = 5;
	assert_int_equal(reg_err(seg, "sig_reg", &bad), SHMSTAT_ETYPE);
	bad = o;
	bad.summaries = 3;
	assert_int_equal(reg_err(seg, "sig_reg", &bad), SHMSTAT_ETYPE);
	bad = o;
	bad.ttl_ns = 5000000;
	assert_int_equal(reg_err(seg, "sig_reg", &bad), SHMSTAT_ETYPE);
	assert_int_equal(reg_err(seg, "sig_reg", NULL), SHMSTAT_ETYPE);
	/* another type, both ways */
	assert_int_equal(shmstat_counter_register(seg, &def, &c), SHMSTAT_ETYPE);
	assert_int_equal(shmstat_hist_register(seg, &def, NULL, &h), SHMSTAT_ETYPE);
	{
		struct shmstat_metric_def cd = { .name = "sig_reg_counter" };

		assert_int_equal(shmstat_counter_register(seg, &cd, &c), 0);
		assert_int_equal(reg_err(seg, "sig_reg_counter", &o), SHMSTAT_ETYPE);
	}
	/* one table behind both handles */
	hit(t1, "both", 1, 0);
	hit(t2, "both", 2, 0);
	/* defaults */
	assert_int_equal(reg_err(seg, "sig_defaults", NULL), 0);
	{
		shmstat_sigview *dv = view_of(name, "sig_defaults", NULL);
		struct shmstat_sigtab_opts d;

		shmstat_sigtab_opts_init(&d);
		assert_int_equal(d.capacity, 2048);
		assert_int_equal(d.key_bytes, 128);
		assert_int_equal(d.owners, 64);
		assert_int_equal(d.summaries, 8);
		assert_int_equal(d.ttl_ns, UINT64_C(600) * 1000000000u);
		/* "the default table takes 4,676,224 bytes" (shmstat.h) */
		assert_int_equal(shmstat_sigtab_bytes(&d), 4676224);
		shmstat_sigview_stats(dv, &st);
		assert_int_equal(st.capacity, d.capacity);
		assert_int_equal(st.key_bytes, d.key_bytes);
		assert_int_equal(st.ttl_ns, d.ttl_ns);
		assert_int_equal(st.used, 0);
		assert_int_equal(st.summaries, 1);      /* the grave alone */
		assert_int_equal(shmstat_sigview_entries(dv), 0);
		shmstat_sigview_free(dv);
	}
	v = view_of(name, "sig_reg", NULL);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.capacity, 64);
	assert_int_equal(st.key_bytes, 16);
	assert_int_equal(st.ttl_ns, 0);
	assert_int_equal(st.used, 1);
	assert_int_equal(st.summaries, 2);
	assert_int_equal(entry(v, "both").hits, 2);
	assert_int_equal(entry(v, "both").weight, 3);
	shmstat_sigview_free(v);
	{
		shmstat_snap *s = ut_snap(name);
		struct shmstat_metric_info mi;
		int i = su_find_table(s, "sig_reg", "");

		assert_true(i >= 0);
		assert_int_equal(shmstat_snap_metric(s, (size_t)i, &mi), 0);
		assert_int_equal(mi.type, SHMSTAT_SIGTABLE);
		assert_string_equal(shmstat_type_name(mi.type), "sigtable");
		assert_int_equal(mi.counter, 2);        /* its hits */
		{
			uint64_t pc = 1;
			int64_t pg = 1;

			/* per-process values are not a table's: see its view */
			assert_int_equal(shmstat_snap_metric_proc(s, (size_t)i, SHMSTAT_PROC_GONE,
								  &pc, &pg), EINVAL);
		}
		/* a counter is not a table */
		i = ut_find(s, "sig_reg_counter", "", &mi);
		assert_true(i >= 0);
		{
			shmstat_sigview *cv = (shmstat_sigview *)(void *)&mi;

			assert_int_equal(shmstat_snap_sigtab(s, (size_t)i, &cv), EINVAL);
			assert_null(cv);
		}
		{
			shmstat_sigview *cv = NULL;

			assert_int_equal(shmstat_snap_sigtab(s, shmstat_snap_metrics(s), &cv),
					 EINVAL);
			assert_null(cv);
		}
		shmstat_snap_free(s);
	}
	assert_int_equal(shmstat_close(seg), 0);
}

/* A shape of more than a page whose size and @other fill pages exactly;
 * found by trying capacities. */
static struct shmstat_sigtab_opts fill_shape(uint64_t other)
{
	for (uint32_t kb = 8; kb <= 1024; kb += 8)
		for (uint32_t cap = 16; cap <= 256; cap++) {
			struct shmstat_sigtab_opts o = su_topts(cap, kb, 0, 1, 0);

			if ((shmstat_sigtab_bytes(&o) + other) % 4096 == 0)
				return o;
		}
	fail_msg("no shape fills the pages left by %llu bytes", (unsigned long long)other);
	return su_topts(1, 8, 0, 1, 0);
}

static void test_sig_bytes(void **state)
{
	const char *exact = ut_name("sigfull");
	const char *less = ut_name("sigfull");
	const char *zero = ut_name("sigfull");
	struct shmstat_sigtab_opts a = su_topts(64, 32, 5, 3, 0), b, tiny = su_topts(1, 8, 0, 1, 0);
	uint64_t ba = shmstat_sigtab_bytes(&a), bb, total;
	shmstat_seg *seg;
	shmstat_sigtab *t;
	uint32_t id;

	(void)state;
	/* the size grows with every option */
	{
		struct shmstat_sigtab_opts o;

		o = a;
		o.capacity++;
		assert_true(shmstat_sigtab_bytes(&o) > ba);
		o = a;
		o.key_bytes += 8;
		assert_true(shmstat_sigtab_bytes(&o) > ba);
		o = a;
		o.owners += 2;
		assert_true(shmstat_sigtab_bytes(&o) > ba);
		o = a;
		o.summaries++;
		assert_true(shmstat_sigtab_bytes(&o) > ba);
		o = a;
		o.ttl_ns = 12345;
		assert_int_equal(shmstat_sigtab_bytes(&o), ba);
	}
	b = fill_shape(ba);
	bb = shmstat_sigtab_bytes(&b);
	total = ba + bb;
	assert_int_equal(total % 4096, 0);

	/* exactly the bytes of both */
	seg = open_seg(exact, total);
	t = table(seg, "sig_a", &a);
	hit(t, "x", 1, 0);
	t = table(seg, "sig_b", &b);
	hit(t, "y", 1, 0);
	assert_int_equal(reg_err(seg, "sig_c", &tiny), SHMSTAT_EFULL);
	ut_check_error_text(exact);
	/* the refused one is not listed; the others work */
	{
		shmstat_snap *s = ut_snap(exact);
		shmstat_sigview *v = su_view(s, "sig_a");

		assert_true(su_find_table(s, "sig_c", "") < 0);
		assert_non_null(v);
		assert_int_equal(entry(v, "x").hits, 1);
		shmstat_sigview_free(v);
		v = su_view(s, "sig_b");
		assert_non_null(v);
		assert_int_equal(entry(v, "y").hits, 1);
		shmstat_sigview_free(v);
		shmstat_snap_free(s);
	}
	assert_int_equal(shmstat_close(seg), 0);

	/* a page less */
	seg = open_seg(less, total - 4096);
	table(seg, "sig_a", &a);
	assert_int_equal(reg_err(seg, "sig_b", &b), SHMSTAT_EFULL);
	/* the handle left does nothing */
	{
		struct shmstat_metric_def def = { .name = "sig_b" };

		assert_int_equal(shmstat_sigtab_register(seg, &def, &b, &t), SHMSTAT_EFULL);
		hit(t, "x", 1, 0);
		miss(t, "x", 0);
		assert_int_equal(shmstat_sig_owner(t, "o", &id), EINVAL);
		assert_int_equal(metrics_of(less), 1);
	}
	assert_int_equal(shmstat_close(seg), 0);

	/* no room for signature tables at all */
	seg = open_seg(zero, 0);
	assert_int_equal(reg_err(seg, "sig_a", &tiny), SHMSTAT_EFULL);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_noop_handles(void **state)
{
	const char *name = ut_name("signoop");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts bad = su_topts(0, 32, 4, 1, 0);
	struct shmstat_metric_def def = { .name = "sig_noop" };
	shmstat_sigtab *t = NULL;
	uint32_t id = 77;

	(void)state;
	assert_int_equal(shmstat_sigtab_register(seg, &def, &bad, &t), EINVAL);
	assert_non_null(t);
	for (int i = 0; i < 100; i++) {
		shmstat_sig_hit(t, "key", 3, 5, 1);
		shmstat_sig_miss(t, "key", 3, 1);
		shmstat_sig_hit(t, NULL, 0, 0, 0);
		shmstat_sig_hit_hash(t, 42, NULL, 0, 1, 0);
		shmstat_sig_miss_hash(t, 42, "key", 3, 0);
	}
	assert_int_equal(shmstat_sig_owner(t, "someone", &id), EINVAL);
	assert_int_equal(id, 0);
	ut_check_error_text(NULL);
	assert_int_equal(metrics_of(name), 0);
	assert_int_equal(shmstat_close(seg), 0);
	/* the handle of a failed registration outlives the segment */
	shmstat_sig_hit(t, "key", 3, 5, 1);
	shmstat_sig_miss(t, "key", 3, 0);
	shmstat_sig_hit_hash(t, 42, "key", 3, 5, 1);
}

/* ------------------------------------------------------------ key text */

static void check_key(const shmstat_sigview *v, const void *key, size_t len, uint32_t kb,
		      uint64_t hits)
{
	struct shmstat_sigentry e;
	size_t p = len < kb ? len : kb;

	if (su_entry_of(v, su_hash(key, len), &e) < 0)
		fail_msg("a key of %zu bytes has no entry", len);
	assert_int_equal(e.has_key, 1);
	assert_int_equal(e.full_len, len);
	assert_int_equal(e.key_len, p);
	assert_memory_equal(e.key, key, p);
	assert_int_equal(e.key[p], '\0');
	assert_int_equal(e.hits, hits);
	assert_int_equal(e.err_hits, 0);
	assert_true(e.first_ns <= e.last_ns);
}

static void test_key_text(void **state)
{
	const char *name = ut_name("sigtext");
	shmstat_seg *seg = open_seg(name, 4 << 20);
	static const uint32_t kbs[] = { 8, 16, 128 };
	static const char nul_key[] = "a\0b\0\0c";                  /* 6 bytes */
	static const size_t lens[] = { 1, 7, 8, 9, 15, 16, 17, 127, 128, 129, 1000 };
	char big[1000];

	(void)state;
	for (size_t j = 0; j < sizeof(big); j++)
		big[j] = (char)(j * 7 % 251);   /* NULs included */
	for (size_t k = 0; k < 3; k++) {
		char metric[32];
		struct shmstat_sigtab_opts o = su_topts(64, kbs[k], 0, 1, 0);
		shmstat_sigtab *t;
		shmstat_sigview *v;
		struct shmstat_sigstats st;

		snprintf(metric, sizeof(metric), "sig_text_%u", kbs[k]);
		t = table(seg, metric, &o);
		shmstat_sig_hit(t, nul_key, sizeof(nul_key) - 1, 1, 0);
		shmstat_sig_hit(t, NULL, 0, 1, 0);     /* the empty key: NULL */
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			/* keys that differ only in their last byte, past key_bytes */
			big[lens[j] - 1] ^= 0x55;
			shmstat_sig_hit(t, big, lens[j], 1, 0);
			shmstat_sig_hit(t, big, lens[j], 1, 0);
			big[lens[j] - 1] ^= 0x55;
		}
		v = view_of(name, metric, NULL);
		shmstat_sigview_stats(v, &st);
		assert_int_equal(st.key_bytes, kbs[k]);
		assert_int_equal(st.used, 2 + sizeof(lens) / sizeof(lens[0]));
		check_key(v, nul_key, sizeof(nul_key) - 1, kbs[k], 1);
		check_key(v, "", 0, kbs[k], 1);
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			big[lens[j] - 1] ^= 0x55;
			check_key(v, big, lens[j], kbs[k], 2);
			big[lens[j] - 1] ^= 0x55;
		}
		shmstat_sigview_free(v);
	}
	assert_int_equal(shmstat_close(seg), 0);
}

struct lazy_arg {
	shmstat_sigtab *t;
	const char *key;
};

static void *lazy_thread(void *arg)
{
	const struct lazy_arg *a = arg;

	hit(a->t, a->key, 1, 0);
	return NULL;
}

static void test_lazy_text(void **state)
{
	const char *name = ut_name("siglazy");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts o = su_topts(4, 16, 0, 2, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	shmstat_sigview *v;
	struct shmstat_sigentry e;
	static const char *const full[] = { "f0", "f1", "f2", "f3" };

	(void)state;
	/* four keys with 2 events each: full, every text written */
	for (int i = 0; i < 4; i++) {
		hit(t, full[i], 1, 0);
		hit(t, full[i], 1, 0);
	}
	/* the filter keeps a newcomer out until its counter reaches the
	 * minimum, 2: at its third event it takes a key with 2 events */
	for (int i = 0; i < 3; i++)
		hit(t, "newcomer", 1, 0);
	for (int i = 0; i < 3; i++)
		hit(t, "once", 1, 0);   /* takes another one */
	v = view_of(name, TAB, NULL);
	assert_int_equal(shmstat_sigview_entries(v), 4);
	e = entry(v, "newcomer");
	assert_int_equal(e.has_key, 0);
	assert_int_equal(e.key_len, 0);
	assert_int_equal(e.full_len, 0);
	assert_int_equal(e.key[0], '\0');
	assert_int_equal(e.hits, 3);
	assert_int_equal(e.err_hits, 2);
	e = entry(v, "once");
	assert_int_equal(e.has_key, 0);
	assert_int_equal(e.key_len, 0);
	assert_int_equal(e.full_len, 0);
	shmstat_sigview_free(v);
	/* the second event writes it */
	hit(t, "newcomer", 1, 0);
	v = view_of(name, TAB, NULL);
	e = entry(v, "newcomer");
	assert_int_equal(e.has_key, 1);
	assert_int_equal(e.key_len, 8);
	assert_int_equal(e.full_len, 8);
	assert_string_equal(e.key, "newcomer");
	assert_int_equal(e.hits, 4);
	shmstat_sigview_free(v);

	/* "once" has no text in this summary; another thread's summary
	 * takes it while it has free entries: the view has its text */
	{
		struct lazy_arg a = { t, "once" };
		pthread_t th;

		v = view_of(name, TAB, NULL);
		assert_int_equal(entry(v, "once").has_key, 0);
		shmstat_sigview_free(v);
		assert_int_equal(pthread_create(&th, NULL, lazy_thread, &a), 0);
		assert_int_equal(pthread_join(th, NULL), 0);
		v = view_of(name, TAB, NULL);
		e = entry(v, "once");
		assert_int_equal(e.has_key, 1);
		assert_int_equal(e.key_len, 4);
		assert_int_equal(e.full_len, 4);
		assert_string_equal(e.key, "once");
		shmstat_sigview_free(v);
	}
	assert_int_equal(shmstat_close(seg), 0);
}

/* ------------------------------------------------------------- hashing */

static void test_hashed_api(void **state)
{
	const char *name = ut_name("sighash");
	shmstat_seg *seg = open_seg(name, 4 << 20);
	struct shmstat_sigtab_opts o = su_topts(8, 16, 2, 1, 0);
	shmstat_sigtab *plain = table(seg, "sig_plain", &o);
	shmstat_sigtab *hashed = table(seg, "sig_hashed", &o);
	shmstat_sigtab *same = table(seg, "sig_same", &o);
	shmstat_sigview *vp, *vh;
	shmstat_snap *s;
	uint64_t seed = 99;
	uint32_t own = 0;
	char key[40];

	(void)state;
	/* shmstat_sig_hash() is XXH3-64 */
	for (size_t n = 0; n < 40; n++) {
		key[n] = (char)('a' + n % 26);
		assert_int_equal(shmstat_sig_hash(key, n), su_hash(key, n));
	}
	assert_int_equal(shmstat_sig_owner(plain, "o", &own), 0);
	assert_int_equal(own, 1);
	assert_int_equal(shmstat_sig_owner(hashed, "o", &own), 0);
	assert_int_equal(own, 1);
	/* the same stream twice, past capacity, with text cut at 16 bytes */
	for (int i = 0; i < 2000; i++) {
		uint64_t r = su_next(&seed);
		int n = snprintf(key, sizeof(key), "key-%llu-%s", (unsigned long long)(r % 20),
				 r % 2 ? "long-long-long" : "s");
		uint64_t h = shmstat_sig_hash(key, (size_t)n);

		if (r % 7 == 0) {
			shmstat_sig_miss(plain, key, (size_t)n, own);
			shmstat_sig_miss_hash(hashed, h, key, (size_t)n, own);
		} else {
			shmstat_sig_hit(plain, key, (size_t)n, r >> 60, own);
			shmstat_sig_hit_hash(hashed, h, key, (size_t)n, r >> 60, own);
		}
	}
	s = ut_snap(name);
	vp = su_view(s, "sig_plain");
	vh = su_view(s, "sig_hashed");
	assert_non_null(vp);
	assert_non_null(vh);
	{
		struct shmstat_sigstats a, b;

		shmstat_sigview_stats(vp, &a);
		shmstat_sigview_stats(vh, &b);
		assert_int_equal(a.hits, b.hits);
		assert_int_equal(a.misses, b.misses);
		assert_int_equal(a.weight, b.weight);
		assert_int_equal(a.evictions, b.evictions);
		assert_int_equal(a.max_error, b.max_error);
		assert_true(a.evictions > 0);
		assert_int_equal(shmstat_sigview_entries(vp), shmstat_sigview_entries(vh));
	}
	for (size_t k = 0; k < shmstat_sigview_entries(vp); k++) {
		struct shmstat_sigentry a = entry_at(vp, k), b;

		assert_true(su_entry_of(vh, a.hash, &b) >= 0);
		assert_int_equal(a.hits, b.hits);
		assert_int_equal(a.misses, b.misses);
		assert_int_equal(a.weight, b.weight);
		assert_int_equal(a.err_hits, b.err_hits);
		assert_int_equal(a.err_weight, b.err_weight);
		assert_int_equal(a.key_len, b.key_len);
		assert_int_equal(a.full_len, b.full_len);
		assert_memory_equal(a.key, b.key, a.key_len);
		assert_string_equal(a.owner, b.owner);
	}
	shmstat_sigview_free(vp);
	shmstat_sigview_free(vh);
	shmstat_snap_free(s);

	/* two keys, one hash given: one key, the first one's text */
	shmstat_sig_hit_hash(same, 12345, "alpha", 5, 2, 0);
	shmstat_sig_hit_hash(same, 12345, "beta", 4, 3, 0);
	shmstat_sig_miss_hash(same, 12345, "gamma", 5, 0);
	vp = view_of(name, "sig_same", NULL);
	assert_int_equal(shmstat_sigview_entries(vp), 1);
	{
		struct shmstat_sigentry e = entry_at(vp, 0);

		assert_int_equal(e.hash, 12345);
		assert_int_equal(e.hits, 2);
		assert_int_equal(e.misses, 1);
		assert_int_equal(e.weight, 5);
		assert_int_equal(e.err_hits, 0);
		assert_int_equal(e.full_len, 5);
		assert_string_equal(e.key, "alpha");
	}
	shmstat_sigview_free(vp);
	assert_int_equal(shmstat_close(seg), 0);
}

/* --------------------------------------------------- summaries of threads */

#define POOL_THREADS 3

struct pool_arg {
	shmstat_sigtab *t;
	int th;
	pthread_barrier_t *bar;
};

/* Thread @th: 10 keys of its own, 100 * (th + 1) events in all, then
 * wait for the others before exiting (so all hold a stripe at once). */
static void *pool_thread(void *arg)
{
	const struct pool_arg *a = arg;

	pthread_barrier_wait(a->bar);
	for (int i = 0; i < 100 * (a->th + 1); i++) {
		char key[16];

		snprintf(key, sizeof(key), "t%d-k%d", a->th, i % 10);
		if (i % 4 == 3)
			miss(a->t, key, 1);
		else
			hit(a->t, key, 2, 1);
	}
	pthread_barrier_wait(a->bar);
	return NULL;
}

/* The exact truth of pool_thread()'s keys (30 keys: thread, key). */
static void pool_truth(struct su_truth *x, uint64_t *hash, uint64_t *h, uint64_t *m, uint64_t *w)
{
	memset(x, 0, sizeof(*x));
	for (int th = 0; th < POOL_THREADS; th++)
		for (int k = 0; k < 10; k++) {
			char key[16];
			int id = th * 10 + k;

			snprintf(key, sizeof(key), "t%d-k%d", th, k);
			hash[id] = su_hash(key, strlen(key));
			h[id] = m[id] = 0;
			for (int i = k; i < 100 * (th + 1); i += 10) {
				if (i % 4 == 3)
					m[id]++;
				else
					h[id]++;
			}
			w[id] = 2 * h[id];
		}
	x->n = POOL_THREADS * 10;
	x->hash = hash;
	x->hits_lo = h;
	x->misses_lo = m;
	x->w_lo = w;
	assert_int_equal(su_map_init(&x->map, hash, x->n), 0);
}

static void test_pool_full(void **state)
{
	const char *name = ut_name("sigpool");
	shmstat_seg *seg = open_seg(name, 1 << 20);
	struct shmstat_sigtab_opts o = su_topts(16, 16, 2, 2, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	struct pool_arg a[POOL_THREADS];
	pthread_t th[POOL_THREADS];
	pthread_barrier_t bar;
	uint64_t hash[30], h[30], m[30], w[30];
	struct su_truth x;
	struct su_res r;
	struct shmstat_sigstats st;
	struct shmstat_sigowner_info oi;
	shmstat_sigview *v;
	uint32_t id = 0;
	int none = -1;

	(void)state;
	assert_int_equal(shmstat_sig_owner(t, "all", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(pthread_barrier_init(&bar, NULL, POOL_THREADS), 0);
	for (int i = 0; i < POOL_THREADS; i++) {
		a[i] = (struct pool_arg){ t, i, &bar };
		assert_int_equal(pthread_create(&th[i], NULL, pool_thread, &a[i]), 0);
	}
	for (int i = 0; i < POOL_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&bar);
	pool_truth(&x, hash, h, m, w);
	v = view_of(name, TAB, NULL);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.summaries, 3);      /* two threads' and the grave */
	assert_int_equal(st.events, 100 + 200 + 300);
	/* the thread without a summary: none of its keys listed, all of the
	 * others' */
	for (int i = 0; i < POOL_THREADS; i++) {
		char key[16];

		snprintf(key, sizeof(key), "t%d-k0", i);
		if (!has_entry(v, key)) {
			assert_int_equal(none, -1);
			none = i;
		}
	}
	assert_true(none >= 0);
	assert_int_equal(st.unsummarized, 100 * (none + 1));
	assert_int_equal(st.error_bound, st.events / 16 + st.unsummarized);
	assert_int_equal(st.max_error, st.unsummarized);
	assert_int_equal(shmstat_sigview_entries(v), 20);
	for (size_t k = 0; k < 20; k++) {
		struct shmstat_sigentry e = entry_at(v, k);
		long i = su_map_find(&x.map, e.hash);

		assert_true(i >= 0);
		assert_int_equal(e.err_hits, st.unsummarized);
		assert_int_equal(e.hits - e.err_hits, h[i]);
		assert_int_equal(e.misses - e.err_misses, m[i]);
		assert_int_equal(e.weight - e.err_weight, w[i]);
	}
	if (su_check(v, &x, SU_QUIESCENT | SU_ALL_TEXT, "pool full", &r) != 0)
		fail_msg("%llu bounds violated", (unsigned long long)r.bad);
	/* the owner's totals count every event */
	assert_int_equal(shmstat_sigview_owner(v, 0, &oi), 0);
	assert_int_equal(oi.hits + oi.misses, 600);
	shmstat_sigview_free(v);
	su_map_free(&x.map);
	assert_int_equal(shmstat_close(seg), 0);
}

static void *shared_thread(void *arg)
{
	shmstat_sigtab *t = arg;

	for (int i = 0; i < 50; i++)
		hit(t, i % 2 ? "thr-a" : "thr-b", 3, 0);
	return NULL;
}

static void test_shared_stripe(void **state)
{
	const char *name = ut_name("sigshare");
	shmstat_seg *seg = open_seg_opts(name, 1 << 20, 4096, 1);
	struct shmstat_sigtab_opts o = su_topts(16, 16, 0, 4, 0);
	shmstat_sigtab *t = table(seg, TAB, &o);
	struct shmstat_sigstats st;
	struct shmstat_sigentry e;
	shmstat_sigview *v;
	pthread_t th;

	(void)state;
	hit(t, "main-key", 1, 0);       /* the only thread stripe is ours */
	assert_int_equal(pthread_create(&th, NULL, shared_thread, t), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	v = view_of(name, TAB, NULL);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.hits, 51);
	assert_int_equal(st.weight, 151);
	assert_int_equal(st.unsummarized, 50);
	assert_int_equal(st.summaries, 2);
	assert_int_equal(st.max_error, 50);
	assert_int_equal(st.error_bound, 51 / 16 + 50);
	assert_int_equal(shmstat_sigview_entries(v), 1);
	e = entry(v, "main-key");
	assert_int_equal(e.hits, 51);
	assert_int_equal(e.err_hits, 50);
	assert_int_equal(e.weight, 1 + 150);
	assert_int_equal(e.err_weight, 150);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)
	const struct CMUnitTest tests[] = {
		T(test_register_limits),
		T(test_bytes_ttl),
		T(test_register_shape),
		T(test_sig_bytes),
		T(test_top_by_hits),
		T(test_top_by_weight),
		T(test_top_by_recent),
		T(test_top_ties),
		T(test_top_full_tie),
		T(test_top_many),
		T(test_owner_filter),
		T(test_owner_first),
		T(test_owner_slots),
		T(test_owner_hole),
		T(test_owner_pid_reused),
		T(test_owner_stalled),
		T(test_owner_none),
		T(test_hit_rate),
		T(test_expired),
		T(test_event_time),
		T(test_key_text),
		T(test_lazy_text),
		T(test_hashed_api),
		T(test_noop_handles),
		T(test_pool_full),
		T(test_shared_stripe),
	};

	return cmocka_run_group_tests_name("sig_view", tests, NULL, NULL);
}
