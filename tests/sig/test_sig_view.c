/*
 * test_sig_view.c - the reader side of signature tables, owner slots and
 * registration (unit suite, ASan+UBSan build).
 *
 *  top_by_hits / top_by_weight / top_by_recent / top_full_tie:
 *      shmstat_sigview_top()
 *      returns the entries in the documented order: the key (hits, weight,
 *      last_ns) descending, ties by recency (last_ns descending), then by
 *      hash; n larger than the table gives every entry once; n smaller the
 *      first n of the full order. Recency is made deterministic by waiting
 *      for CLOCK_REALTIME_COARSE (what entries are stamped with) to move
 *      on between events: a wait for a condition, not a delay. A full
 *      tie (same count, same last_ns) is ordered by hash.
 *  owner_filter: the owner argument keeps exactly the entries of that
 *      owner, in the same order; an unknown owner gives none; per-owner
 *      totals (shmstat_sigview_owner) are exact.
 *  hit_rate: hits / (hits + misses), 0 for an entry of misses only.
 *  expired: a table without TTL (0) and one with the default TTL never
 *      report an entry expired; one with a 1 ms TTL reports every entry
 *      expired once CLOCK_REALTIME is 2 ms past its last event, and for
 *      every entry expired == (taken_ns - last_ns > ttl_ns).
 *  ttl_below_ms: a TTL of 1 ns must not silently become "no TTL": either
 *      refused (EINVAL) or kept, in which case entries expire.
 *  owner_slots: the same name gives the same id in two processes; 55
 *      bytes is accepted, 56 bytes and "" are SHMSTAT_EBADNAME; more names
 *      than slots is SHMSTAT_EFULL with id 0; a table with 0 slots has no
 *      owner; events with owner 0 or an id out of range count as no owner
 *      (entry owner "", no owner's totals move, table totals do).
 *  register_errors: capacity 0 / not a power of two / too large, prefix
 *      33, 4097 owners are EINVAL; the same name with another capacity,
 *      prefix, owners or TTL is SHMSTAT_ETYPE, as is a counter or a
 *      histogram of that name (both ways); a bad name is SHMSTAT_EBADNAME;
 *      registering the same shape twice gives the same table; defaults.
 *  entries_full: a table that needs exactly the max_sig_entries left
 *      fits; one entry fewer is SHMSTAT_EFULL; a segment with 0 signature
 *      entries refuses every table.
 *  noop_handles: the handle a failed registration leaves is safe: hits,
 *      misses do nothing, shmstat_sig_owner is EINVAL with id 0.
 *  prefix_shapes: prefix 0, 8 and 32; keys with NUL bytes, longer than
 *      the prefix, of length 0; prefix_len, keylen and the bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ut_common.h"
#include "sig_util.h"

#define TAB "sig_view"

static shmstat_seg *open_seg(const char *name, uint32_t sig_entries)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;
	int err;

	ut_small_opts(&o);
	o.max_values = 4096;
	o.max_sig_entries = sig_entries;
	err = shmstat_open(name, &o, &seg);
	if (err)
		fail_msg("shmstat_open(%s): %s: %s", name, shmstat_strerror(err),
			 shmstat_last_error());
	return seg;
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

static void hit(shmstat_sigtab *t, const char *key, uint64_t w, uint32_t owner)
{
	shmstat_sig_hit(t, key, strlen(key), w, owner);
}

static void miss(shmstat_sigtab *t, const char *key, uint32_t owner)
{
	shmstat_sig_miss(t, key, strlen(key), owner);
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

static uint64_t order_key(const struct shmstat_sigentry *e, enum shmstat_sig_order o)
{
	return o == SHMSTAT_BY_WEIGHT ? e->weight : o == SHMSTAT_BY_RECENT ? e->last_ns : e->hits;
}

/* @a may come before @b in order @o: key descending, then last_ns
 * descending, then hash ascending (strictly: two entries never tie). */
static int before(const struct shmstat_sigentry *a, const struct shmstat_sigentry *b,
		  enum shmstat_sig_order o)
{
	uint64_t ka = order_key(a, o), kb = order_key(b, o);

	if (ka != kb)
		return ka > kb;
	if (a->last_ns != b->last_ns)
		return a->last_ns > b->last_ns;
	return a->hash < b->hash;
}

/* Check shmstat_sigview_top(@o, @owner) against its definition: every
 * entry of @owner (all when NULL) once, in order; and every shorter n
 * gives a prefix of it. Return how many. */
static size_t check_top(const shmstat_sigview *v, enum shmstat_sig_order o, const char *owner)
{
	size_t n = shmstat_sigview_entries(v), m, want = 0;
	size_t *idx = calloc(n + 1, sizeof(*idx)), *part = calloc(n + 1, sizeof(*part));
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
				fail_msg("order %d: entry %zu (key %llu, last %llu, hash %llx) "
					 "before entry %zu (key %llu, last %llu, hash %llx)", (int)o,
					 idx[k - 1], (unsigned long long)order_key(&p, o),
					 (unsigned long long)p.last_ns, (unsigned long long)p.hash,
					 idx[k], (unsigned long long)order_key(&e, o),
					 (unsigned long long)e.last_ns, (unsigned long long)e.hash);
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
				 owner ? owner : "-", k, (int)e.prefix_len, e.prefix, keys[k]);
	}
}

/* ------------------------------------------------------------- ordering */

/* Keys a..e of table @metric: hits 5, 3, 3, 1, 0 (e: 2 misses only),
 * weights 10, 30, 30, 100, 0. a and d come first, then c, then b, then
 * e, each group after the coarse clock moved past the one before, so
 * last_ns(a), last_ns(d) < last_ns(c) < last_ns(b) < last_ns(e).
 * ticks[g]: the coarse clock after group g. */
static shmstat_sigtab *ordered_table(shmstat_seg *seg, const char *metric, uint64_t ticks[4])
{
	struct shmstat_sigtab_opts o = su_topts(64, 32, 4, 0);
	shmstat_sigtab *t = table(seg, metric, &o);

	for (int i = 0; i < 5; i++)
		hit(t, "a", 2, 0);
	hit(t, "d", 100, 0);
	ticks[0] = su_coarse_ns();
	su_coarse_after(ticks[0]);
	for (int i = 0; i < 3; i++)
		hit(t, "c", 10, 0);
	ticks[1] = su_coarse_ns();
	su_coarse_after(ticks[1]);
	for (int i = 0; i < 3; i++)
		hit(t, "b", 10, 0);
	ticks[2] = su_coarse_ns();
	su_coarse_after(ticks[2]);
	miss(t, "e", 0);
	miss(t, "e", 0);
	ticks[3] = su_coarse_ns();
	return t;
}

static void test_top_by_hits(void **state)
{
	const char *name = ut_name("sigtop");
	shmstat_seg *seg = open_seg(name, 1024);
	uint64_t ticks[4];
	shmstat_sigview *v;
	shmstat_sigtab *t;
	/* a 5; b and c 3 each, b newer; d 1; e 0 */
	static const char *const want[] = { "a", "b", "c", "d", "e" };
	/* then c 4 */
	static const char *const want2[] = { "a", "c", "b", "d", "e" };

	(void)state;
	t = ordered_table(seg, TAB, ticks);
	v = view_of(name, TAB, NULL);
	assert_int_equal(shmstat_sigview_entries(v), 5);
	expect_top(v, SHMSTAT_BY_HITS, NULL, want, 5);
	assert_int_equal(check_top(v, SHMSTAT_BY_HITS, NULL), 5);
	assert_true(entry(v, "b").last_ns > entry(v, "c").last_ns);
	assert_int_equal(entry(v, "a").hits, 5);
	assert_int_equal(entry(v, "e").hits, 0);
	assert_int_equal(entry(v, "e").misses, 2);
	shmstat_sigview_free(v);

	hit(t, "c", 1, 0);
	v = view_of(name, TAB, NULL);
	expect_top(v, SHMSTAT_BY_HITS, NULL, want2, 5);
	assert_int_equal(check_top(v, SHMSTAT_BY_HITS, NULL), 5);
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
	shmstat_seg *seg = open_seg(name, 1024);
	uint64_t ticks[4];
	shmstat_sigview *v;
	/* d 100; b and c 30, b newer; a 10; e 0 */
	static const char *const want[] = { "d", "b", "c", "a", "e" };

	(void)state;
	ordered_table(seg, TAB, ticks);
	v = view_of(name, TAB, NULL);
	expect_top(v, SHMSTAT_BY_WEIGHT, NULL, want, 5);
	assert_int_equal(check_top(v, SHMSTAT_BY_WEIGHT, NULL), 5);
	assert_int_equal(entry(v, "d").weight, 100);
	assert_int_equal(entry(v, "a").weight, 10);
	assert_int_equal(entry(v, "b").weight, 30);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_top_by_recent(void **state)
{
	const char *name = ut_name("sigtop");
	shmstat_seg *seg = open_seg(name, 1024);
	uint64_t ticks[4], a_first;
	shmstat_sigview *v;
	shmstat_sigtab *t;
	static const char *const want[] = { "e", "b", "c" };
	static const char *const want2[] = { "a", "e", "b", "c", "d" };

	(void)state;
	t = ordered_table(seg, TAB, ticks);
	v = view_of(name, TAB, NULL);
	/* e, b, c, then a and d (same tick: by hash; else d, newer) */
	expect_top(v, SHMSTAT_BY_RECENT, NULL, want, 3);
	assert_int_equal(check_top(v, SHMSTAT_BY_RECENT, NULL), 5);
	assert_true(entry(v, "a").last_ns <= ticks[0]);
	assert_true(entry(v, "d").last_ns <= ticks[0]);
	assert_true(entry(v, "c").last_ns > ticks[0] && entry(v, "c").last_ns <= ticks[1]);
	assert_true(entry(v, "e").last_ns > ticks[2] && entry(v, "e").last_ns <= ticks[3]);
	a_first = entry(v, "a").first_ns;
	shmstat_sigview_free(v);

	/* a again, later: first by recency; its first_ns stays */
	su_coarse_after(ticks[3]);
	hit(t, "a", 2, 0);
	v = view_of(name, TAB, NULL);
	expect_top(v, SHMSTAT_BY_RECENT, NULL, want2, 5);
	assert_int_equal(check_top(v, SHMSTAT_BY_RECENT, NULL), 5);
	assert_int_equal(entry(v, "a").first_ns, a_first);
	assert_true(entry(v, "a").last_ns > ticks[3]);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

/* Two keys with the same hits, weight and last_ns: every order puts the
 * smaller hash first. Equal last_ns needs both in one coarse tick: tried
 * on fresh tables until the clock did not move during the events. */
static void test_top_full_tie(void **state)
{
	const char *name = ut_name("sigtie");
	shmstat_seg *seg = open_seg(name, 4096);
	struct shmstat_sigtab_opts o = su_topts(16, 32, 0, 0);
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
		for (int ord = SHMSTAT_BY_HITS; ord <= SHMSTAT_BY_RECENT; ord++) {
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

/* -------------------------------------------------------- owners, rates */

static void test_owner_filter(void **state)
{
	const char *name = ut_name("sigown");
	shmstat_seg *seg = open_seg(name, 1024);
	struct shmstat_sigtab_opts o = su_topts(64, 32, 8, 0);
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
	/* 30 keys; key i belongs to owner i % 3 (0: none) */
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 30; i++) {
			char key[16];
			int on = i % 3;
			uint32_t id = on == 1 ? acme : on == 2 ? blue : 0;
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
	for (int ord = SHMSTAT_BY_HITS; ord <= SHMSTAT_BY_RECENT; ord++) {
		assert_int_equal(check_top(v, (enum shmstat_sig_order)ord, "acme"), 10);
		assert_int_equal(check_top(v, (enum shmstat_sig_order)ord, "blue"), 10);
		assert_int_equal(check_top(v, (enum shmstat_sig_order)ord, NULL), 30);
		assert_int_equal(check_top(v, (enum shmstat_sig_order)ord, "nobody"), 0);
	}
	/* the entries' owners, and their sums per owner */
	{
		uint64_t eh[3] = { 0 }, em[3] = { 0 }, ew[3] = { 0 };

		for (size_t k = 0; k < shmstat_sigview_entries(v); k++) {
			struct shmstat_sigentry e = entry_at(v, k);
			int i = atoi(e.prefix + 4), on = i % 3;

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

static void test_hit_rate(void **state)
{
	const char *name = ut_name("sigrate");
	shmstat_seg *seg = open_seg(name, 1024);
	struct shmstat_sigtab_opts o = su_topts(64, 32, 0, 0);
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
	shmstat_seg *seg = open_seg(name, 4096);
	struct shmstat_sigtab_opts none = su_topts(16, 32, 0, 0);
	struct shmstat_sigtab_opts dflt = su_topts(16, 32, 0, 0);
	struct shmstat_sigtab_opts ms = su_topts(16, 32, 0, 1000000);
	shmstat_sigtab *t0, *td, *t1;
	uint64_t last;

	(void)state;
	shmstat_sigtab_opts_init(&dflt);
	dflt.capacity = 16;
	dflt.owners = 0;
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

/* A TTL under one millisecond is documented as a TTL (0 alone means
 * none): it must not silently turn into "no TTL". Refusing it (EINVAL)
 * or keeping it both pass; with it kept, every entry is expired once the
 * clock is 2 ms past its last event. */
static void test_ttl_below_ms(void **state)
{
	const char *name = ut_name("sigttl");
	shmstat_seg *seg = open_seg(name, 1024);
	struct shmstat_sigtab_opts o = su_topts(16, 32, 0, 1);
	struct shmstat_metric_def def = { .name = "sig_ttl_1ns" };
	shmstat_sigtab *t = NULL;
	shmstat_sigview *v;
	struct shmstat_sigstats st;
	int err = shmstat_sigtab_register(seg, &def, &o, &t);
	uint64_t last;
	int expired;

	(void)state;
	if (err == EINVAL) {
		assert_int_equal(shmstat_close(seg), 0);
		return;
	}
	assert_int_equal(err, 0);
	hit(t, "short-lived", 1, 0);
	last = su_coarse_ns();
	su_real_after(last + 2000000);
	v = view_of(name, "sig_ttl_1ns", NULL);
	shmstat_sigview_stats(v, &st);
	expired = entry(v, "short-lived").expired;
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
	if (st.ttl_ns == 0 || !expired)
		fail_msg("a table registered with ttl_ns = 1 reports ttl_ns = %llu and its idle "
			 "entry as %s: the TTL was dropped (stored in whole ms, 1 ns -> 0 = none)",
			 (unsigned long long)st.ttl_ns, expired ? "expired" : "not expired");
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

static void test_owner_slots(void **state)
{
	const char *name = ut_name("sigslot");
	shmstat_seg *seg = open_seg(name, 1024);
	struct kid_arg ka = { name, su_topts(16, 32, 3, 0) };
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
	shmstat_seg *seg = open_seg(name, 1024);
	struct shmstat_sigtab_opts o = su_topts(16, 32, 0, 0);
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

/* -------------------------------------------------------- registration */

static void test_register_errors(void **state)
{
	const char *name = ut_name("sigreg");
	shmstat_seg *seg = open_seg(name, 16384);
	struct shmstat_sigtab_opts o = su_topts(64, 16, 4, 0), bad;
	struct shmstat_metric_def def = { .name = "sig_reg" };
	shmstat_sigtab *t1 = NULL, *t2 = NULL;
	shmstat_counter *c = NULL;
	shmstat_hist *h = NULL;
	static const uint32_t caps[] = { 0, 3, 100, 1000, 4097, 1u << 23, UINT32_MAX };
	shmstat_sigview *v;
	struct shmstat_sigstats st;

	(void)state;
	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		bad = o;
		bad.capacity = caps[k];
		assert_int_equal(reg_err(seg, "sig_bad", &bad), EINVAL);
		ut_check_error_text(NULL);
	}
	bad = o;
	bad.prefix = 33;
	assert_int_equal(reg_err(seg, "sig_bad", &bad), EINVAL);
	bad = o;
	bad.owners = 4097;
	assert_int_equal(reg_err(seg, "sig_bad", &bad), EINVAL);
	bad = o;
	bad.ttl_ns = ((uint64_t)UINT32_MAX + 1) * 1000000u;
	assert_int_equal(reg_err(seg, "sig_bad", &bad), EINVAL);
	assert_int_equal(reg_err(seg, "9bad", &o), SHMSTAT_EBADNAME);
	{
		struct shmstat_metric_def d0 = { .name = "sig_reg" };

		assert_int_equal(shmstat_sigtab_register(NULL, &d0, &o, &t1), EINVAL);
		assert_int_equal(shmstat_sigtab_register(seg, NULL, &o, &t1), EINVAL);
	}
	/* nothing was created by the refusals */
	{
		shmstat_snap *s = ut_snap(name);

		assert_int_equal(shmstat_snap_metrics(s), 0);
		shmstat_snap_free(s);
	}

	assert_int_equal(shmstat_sigtab_register(seg, &def, &o, &t1), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &def, &o, &t2), 0);
	/* another shape: ETYPE */
	bad = o;
	bad.capacity = 128;
	assert_int_equal(reg_err(seg, "sig_reg", &bad), SHMSTAT_ETYPE);
	ut_check_error_text("sig_reg");
	bad = o;
	bad.prefix = 32;
	assert_int_equal(reg_err(seg, "sig_reg", &bad), SHMSTAT_ETYPE);
	bad = o;
	bad.owners = 5;
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
		shmstat_snap *s = ut_snap(name);
		shmstat_sigview *dv = su_view(s, "sig_defaults");
		struct shmstat_sigtab_opts d;

		assert_non_null(dv);
		shmstat_sigtab_opts_init(&d);
		shmstat_sigview_stats(dv, &st);
		assert_int_equal(st.capacity, d.capacity);
		assert_int_equal(st.prefix, d.prefix);
		assert_int_equal(st.ttl_ns, d.ttl_ns);
		assert_int_equal(st.used, 0);
		assert_int_equal(shmstat_sigview_entries(dv), 0);
		shmstat_sigview_free(dv);
		shmstat_snap_free(s);
	}
	v = view_of(name, "sig_reg", NULL);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.capacity, 64);
	assert_int_equal(st.prefix, 16);
	assert_int_equal(st.ttl_ns, 0);
	assert_int_equal(st.used, 1);
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
			/* any value: set to NULL on error */
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

static void test_entries_full(void **state)
{
	const char *exact = ut_name("sigfull");
	const char *less = ut_name("sigfull");
	const char *zero = ut_name("sigfull");
	struct shmstat_sigtab_opts o = su_topts(64, 32, 64, 0);
	struct shmstat_sigtab_opts tiny = su_topts(1, 32, 0, 0);
	shmstat_seg *seg;
	shmstat_sigtab *t;
	uint32_t id;

	(void)state;
	assert_int_equal(su_span(64, 64), 161);
	/* exactly the entries needed */
	seg = open_seg(exact, su_span(64, 64));
	t = table(seg, "sig_a", &o);
	hit(t, "x", 1, 0);
	assert_int_equal(reg_err(seg, "sig_b", &tiny), SHMSTAT_EFULL);
	ut_check_error_text(exact);
	/* the refused one is not listed; the first one works */
	{
		shmstat_snap *s = ut_snap(exact);
		shmstat_sigview *v = su_view(s, "sig_a");

		assert_true(su_find_table(s, "sig_b", "") < 0);
		assert_non_null(v);
		assert_int_equal(entry(v, "x").hits, 1);
		shmstat_sigview_free(v);
		shmstat_snap_free(s);
	}
	assert_int_equal(shmstat_close(seg), 0);

	/* one entry too few */
	seg = open_seg(less, su_span(64, 64) - 1);
	assert_int_equal(reg_err(seg, "sig_a", &o), SHMSTAT_EFULL);
	/* the handle left does nothing */
	{
		struct shmstat_metric_def def = { .name = "sig_a" };

		assert_int_equal(shmstat_sigtab_register(seg, &def, &o, &t), SHMSTAT_EFULL);
		hit(t, "x", 1, 0);
		miss(t, "x", 0);
		assert_int_equal(shmstat_sig_owner(t, "o", &id), EINVAL);
	}
	/* a smaller table still fits */
	assert_int_equal(reg_err(seg, "sig_small", &tiny), 0);
	assert_int_equal(shmstat_close(seg), 0);

	/* no signature entries at all */
	seg = open_seg(zero, 0);
	assert_int_equal(reg_err(seg, "sig_a", &tiny), SHMSTAT_EFULL);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_noop_handles(void **state)
{
	const char *name = ut_name("signoop");
	shmstat_seg *seg = open_seg(name, 1024);
	struct shmstat_sigtab_opts bad = su_topts(3, 32, 4, 0);
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
	}
	assert_int_equal(shmstat_sig_owner(t, "someone", &id), EINVAL);
	assert_int_equal(id, 0);
	ut_check_error_text(NULL);
	{
		shmstat_snap *s = ut_snap(name);

		assert_int_equal(shmstat_snap_metrics(s), 0);
		shmstat_snap_free(s);
	}
	assert_int_equal(shmstat_close(seg), 0);
	/* the handle of a failed registration outlives the segment */
	shmstat_sig_hit(t, "key", 3, 5, 1);
	shmstat_sig_miss(t, "key", 3, 0);
}

/* ------------------------------------------------------------ prefixes */

static void check_key(const shmstat_sigview *v, const void *key, size_t len, uint32_t prefix,
		      uint64_t hits)
{
	struct shmstat_sigentry e;
	size_t p = len < prefix ? len : prefix;

	if (su_entry_of(v, su_hash(key, len), &e) < 0)
		fail_msg("a key of %zu bytes has no entry", len);
	assert_int_equal(e.keylen, len);
	assert_int_equal(e.prefix_len, p);
	assert_memory_equal(e.prefix, key, p);
	assert_int_equal(e.prefix[p], '\0');
	assert_int_equal(e.hits, hits);
	assert_int_equal(e.err_hits, 0);
	assert_true(e.first_ns <= e.last_ns);
	assert_true(e.gen >= 1);
}

static void test_prefix_shapes(void **state)
{
	const char *name = ut_name("sigpfx");
	shmstat_seg *seg = open_seg(name, 4096);
	static const uint32_t prefixes[] = { 0, 8, 32 };
	static const char nul_key[] = "a\0b\0\0c";                  /* 6 bytes */
	char long_a[100], long_b[100];

	(void)state;
	memset(long_a, 'L', sizeof(long_a));
	memset(long_b, 'L', sizeof(long_b));
	long_b[99] = 'M';                  /* differs after the prefix only */
	for (size_t k = 0; k < 3; k++) {
		char metric[32];
		struct shmstat_sigtab_opts o = su_topts(64, prefixes[k], 0, 0);
		shmstat_sigtab *t;
		shmstat_sigview *v;
		struct shmstat_sigstats st;

		snprintf(metric, sizeof(metric), "sig_prefix_%u", prefixes[k]);
		t = table(seg, metric, &o);
		shmstat_sig_hit(t, nul_key, sizeof(nul_key) - 1, 1, 0);
		shmstat_sig_hit(t, long_a, sizeof(long_a), 1, 0);
		shmstat_sig_hit(t, long_b, sizeof(long_b), 1, 0);
		shmstat_sig_hit(t, long_b, sizeof(long_b), 1, 0);
		shmstat_sig_hit(t, "", 0, 1, 0);
		shmstat_sig_hit(t, long_a, 32, 1, 0);
		shmstat_sig_hit(t, long_a, 33, 1, 0);
		v = view_of(name, metric, NULL);
		shmstat_sigview_stats(v, &st);
		assert_int_equal(st.prefix, prefixes[k]);
		assert_int_equal(st.used, 6);
		assert_int_equal(shmstat_sigview_entries(v), 6);
		check_key(v, nul_key, sizeof(nul_key) - 1, prefixes[k], 1);
		check_key(v, long_a, sizeof(long_a), prefixes[k], 1);
		check_key(v, long_b, sizeof(long_b), prefixes[k], 2);
		check_key(v, "", 0, prefixes[k], 1);
		check_key(v, long_a, 32, prefixes[k], 1);
		check_key(v, long_a, 33, prefixes[k], 1);
		shmstat_sigview_free(v);
	}
	assert_int_equal(shmstat_close(seg), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)
	const struct CMUnitTest tests[] = {
		T(test_top_by_hits),
		T(test_top_by_weight),
		T(test_top_by_recent),
		T(test_top_full_tie),
		T(test_owner_filter),
		T(test_hit_rate),
		T(test_expired),
		T(test_ttl_below_ms),
		T(test_owner_slots),
		T(test_owner_none),
		T(test_register_errors),
		T(test_entries_full),
		T(test_noop_handles),
		T(test_prefix_shapes),
	};

	return cmocka_run_group_tests_name("sig_view", tests, NULL, NULL);
}
