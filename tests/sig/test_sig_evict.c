/*
 * test_sig_evict.c - eviction, deterministically (unit suite, ASan+UBSan).
 *
 * Tables of capacity 8 have 16 entries and a probe window of 16: every
 * new key sees the whole table, so the victim is the one sigtable.h
 * names, whatever the hashes.
 *
 *  space_saving: 8 keys with distinct event counts fill the table; a new
 *      key evicts the one with the fewest events (hits + misses) and
 *      inherits its counts as error bounds (hits, misses and weight each
 *      raised to the largest ever evicted: the floors); the evicted key
 *      coming back evicts the newcomer and inherits the floors. Every
 *      count is checked by value, and exact <= c <= exact + err for all.
 *  ttl_victim: with a 1 ms TTL, an idle entry goes first even with the
 *      most hits, and the newcomer starts from the floors (0 here), not
 *      from the idle entry's counts.
 *  random_streams: single-threaded random streams (64 or 200 keys, skewed)
 *      into tables of capacity 1, 8 and 64, without TTL: after every
 *      batch, every reported entry satisfies exact <= c <= exact + err
 *      for hits, misses and weight; totals (table and owners) exact;
 *      nothing dropped or skipped; at most 2 x capacity entries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ut_common.h"
#include "sig_util.h"

static shmstat_seg *open_seg(const char *name)
{
	struct shmstat_opts o;
	shmstat_seg *seg = NULL;

	ut_small_opts(&o);
	o.max_values = 4096;
	o.max_sig_entries = 4096;
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	return seg;
}

static shmstat_sigtab *table(shmstat_seg *seg, const char *metric,
			     const struct shmstat_sigtab_opts *o)
{
	struct shmstat_metric_def def = { .name = metric };
	shmstat_sigtab *t = NULL;
	int err = shmstat_sigtab_register(seg, &def, o, &t);

	if (err)
		fail_msg("register %s: %s: %s", metric, shmstat_strerror(err),
			 shmstat_last_error());
	return t;
}

static shmstat_sigview *view_of(const char *name, const char *metric)
{
	shmstat_snap *s = ut_snap(name);
	shmstat_sigview *v = su_view(s, metric);

	shmstat_snap_free(s);
	if (v == NULL)
		fail_msg("table %s not found", metric);
	return v;
}

/* Entry of @key in @v into @e; 0 if it has none. */
static int find(const shmstat_sigview *v, const char *key, struct shmstat_sigentry *e)
{
	return su_entry_of(v, su_hash(key, strlen(key)), e) >= 0;
}

struct want {
	uint64_t hits, misses, weight, err_hits, err_misses, err_weight;
};

static void expect(const shmstat_sigview *v, const char *key, struct want w)
{
	struct shmstat_sigentry e;

	if (!find(v, key, &e))
		fail_msg("key '%s' has no entry", key);
	if (e.hits != w.hits || e.misses != w.misses || e.weight != w.weight ||
	    e.err_hits != w.err_hits || e.err_misses != w.err_misses ||
	    e.err_weight != w.err_weight)
		fail_msg("key '%s': hits %llu misses %llu weight %llu err %llu/%llu/%llu, "
			 "expected %llu %llu %llu err %llu/%llu/%llu", key,
			 (unsigned long long)e.hits, (unsigned long long)e.misses,
			 (unsigned long long)e.weight, (unsigned long long)e.err_hits,
			 (unsigned long long)e.err_misses, (unsigned long long)e.err_weight,
			 (unsigned long long)w.hits, (unsigned long long)w.misses,
			 (unsigned long long)w.weight, (unsigned long long)w.err_hits,
			 (unsigned long long)w.err_misses, (unsigned long long)w.err_weight);
	assert_int_equal(e.keylen, strlen(key));
	assert_memory_equal(e.prefix, key, strlen(key));
}

static void absent(const shmstat_sigview *v, const char *key)
{
	struct shmstat_sigentry e;

	if (find(v, key, &e))
		fail_msg("key '%s' should have been evicted", key);
}

static struct shmstat_sigstats stats(const shmstat_sigview *v)
{
	struct shmstat_sigstats st;

	shmstat_sigview_stats(v, &st);
	return st;
}

/* --------------------------------------------------------- space-saving */

static void test_space_saving(void **state)
{
	const char *name = ut_name("sigss");
	shmstat_seg *seg = open_seg(name);
	struct shmstat_sigtab_opts o = su_topts(8, 32, 0, 0);
	shmstat_sigtab *t = table(seg, "sig_ss", &o);
	shmstat_sigview *v;
	char key[8][4];

	(void)state;
	/* k0: 1 hit (weight 10): the fewest events. ki (i >= 1): i + 3
	 * hits of weight 10 and one miss: at least 5 events. */
	for (int i = 0; i < 8; i++) {
		snprintf(key[i], sizeof(key[i]), "k%d", i);
		for (int h = 0; h < (i == 0 ? 1 : i + 3); h++)
			shmstat_sig_hit(t, key[i], strlen(key[i]), 10, 0);
		if (i > 0)
			shmstat_sig_miss(t, key[i], strlen(key[i]), 0);
	}
	v = view_of(name, "sig_ss");
	assert_int_equal(stats(v).used, 8);
	assert_int_equal(stats(v).evictions, 0);
	expect(v, "k0", (struct want){ 1, 0, 10, 0, 0, 0 });
	expect(v, "k7", (struct want){ 10, 1, 100, 0, 0, 0 });
	shmstat_sigview_free(v);

	/* N (1 hit, weight 3) evicts k0, inherits (1, 0, 10): floors 1/0/10 */
	shmstat_sig_hit(t, "N", 1, 3, 0);
	v = view_of(name, "sig_ss");
	absent(v, "k0");
	expect(v, "N", (struct want){ 2, 0, 13, 1, 0, 10 });
	assert_int_equal(stats(v).evictions, 1);
	assert_int_equal(stats(v).used, 8);
	shmstat_sigview_free(v);

	/* k0 back with a miss: N has 2 events, the fewest: evicted; k0
	 * inherits max(floor, N's counts) = (2, 0, 13) */
	shmstat_sig_miss(t, "k0", 2, 0);
	v = view_of(name, "sig_ss");
	absent(v, "N");
	expect(v, "k0", (struct want){ 2, 1, 13, 2, 0, 13 });
	/* exact k0: 1 hit, 1 miss, weight 10: 1 <= 2 <= 3, 10 <= 13 <= 23 */
	assert_int_equal(stats(v).evictions, 2);
	shmstat_sigview_free(v);

	/* N back: k0 has 3 events, the fewest; floors become (2, 1, 13) */
	shmstat_sig_hit(t, "N", 1, 3, 0);
	v = view_of(name, "sig_ss");
	absent(v, "k0");
	expect(v, "N", (struct want){ 3, 1, 16, 2, 1, 13 });
	/* exact N: 2 hits, 0 misses, weight 6 */
	assert_int_equal(stats(v).evictions, 3);
	assert_int_equal(stats(v).hits, 1 + 49 + 2);
	assert_int_equal(stats(v).misses, 7 + 1);
	assert_int_equal(stats(v).dropped, 0);
	/* the others never moved */
	for (int i = 1; i < 8; i++)
		expect(v, key[i], (struct want){ (uint64_t)i + 3, 1, 10 * ((uint64_t)i + 3), 0, 0,
						 0 });
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

/* ------------------------------------------------------------- ttl */

static void test_ttl_victim(void **state)
{
	const char *name = ut_name("sigttlv");
	shmstat_seg *seg = open_seg(name);
	struct shmstat_sigtab_opts o = su_topts(8, 32, 0, 1000000);
	shmstat_sigtab *t = table(seg, "sig_ttlv", &o);
	shmstat_sigview *v;
	uint64_t t0;
	char key[8][4];

	(void)state;
	for (int i = 0; i < 8; i++) {
		snprintf(key[i], sizeof(key[i]), "k%d", i);
		for (int h = 0; h < (i == 0 ? 100 : 2); h++)
			shmstat_sig_hit(t, key[i], 2, 1, 0);
	}
	t0 = su_coarse_ns();           /* every event so far is stamped <= t0 */
	/* wait until the coarse clock is more than the TTL past t0 */
	su_coarse_after(t0 + 1000000);
	/* k1..k7 are used again: k0, with the most hits, is idle longest */
	for (int i = 1; i < 8; i++)
		shmstat_sig_hit(t, key[i], 2, 1, 0);
	shmstat_sig_hit(t, "N", 1, 5, 0);
	v = view_of(name, "sig_ttlv");
	absent(v, "k0");
	/* an expired victim's counts are not inherited: N starts over */
	expect(v, "N", (struct want){ 1, 0, 5, 0, 0, 0 });
	for (int i = 1; i < 8; i++)
		expect(v, key[i], (struct want){ 3, 0, 3, 0, 0, 0 });
	assert_int_equal(stats(v).evictions, 1);
	shmstat_sigview_free(v);
	assert_int_equal(shmstat_close(seg), 0);
}

/* ------------------------------------------------------- random streams */

struct exact {
	uint64_t hits, misses, weight;
};

static void check_bounds(const char *name, const char *metric, const struct exact *ex,
			 uint32_t nkeys, uint32_t capacity, const struct exact *tot,
			 const struct exact *own, uint64_t events)
{
	shmstat_sigview *v = view_of(name, metric);
	struct shmstat_sigstats st = stats(v);
	size_t n = shmstat_sigview_entries(v);

	assert_int_equal(st.hits, tot->hits);
	assert_int_equal(st.misses, tot->misses);
	assert_int_equal(st.weight, tot->weight);
	assert_int_equal(st.hits + st.misses, events);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.skipped, 0);
	assert_true(n <= 2u * capacity);
	assert_true(n >= (nkeys < capacity ? 1 : capacity));
	if (nkeys <= capacity)
		assert_int_equal(st.evictions, 0);
	else
		assert_true(st.evictions > 0);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;
		unsigned id;

		assert_int_equal(shmstat_sigview_entry(v, k, &e), 0);
		assert_int_equal(sscanf(e.prefix, "r%u", &id), 1);
		assert_true(id < nkeys);
		assert_int_equal(e.hash, su_hash(e.prefix, e.keylen));
#define BOUND(f)                                                                        \
		if (!(ex[id].f <= e.f && e.f - ex[id].f <= e.err_##f))                  \
			fail_msg("%s key %u: " #f " %llu, exact %llu, error bound %llu",        \
				 metric, id, (unsigned long long)e.f,                           \
				 (unsigned long long)ex[id].f, (unsigned long long)e.err_##f)
		BOUND(hits);
		BOUND(misses);
		BOUND(weight);
#undef BOUND
		if (nkeys <= capacity) {
			/* fewer keys than capacity: no eviction, exact */
			assert_int_equal(e.err_hits + e.err_misses + e.err_weight, 0);
			assert_int_equal(e.hits, ex[id].hits);
			assert_int_equal(e.misses, ex[id].misses);
			assert_int_equal(e.weight, ex[id].weight);
		}
		assert_true(e.first_ns <= e.last_ns);
	}
	for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
		struct shmstat_sigowner_info oi;

		assert_int_equal(shmstat_sigview_owner(v, k, &oi), 0);
		assert_int_equal(oi.hits, own[k].hits);
		assert_int_equal(oi.misses, own[k].misses);
		assert_int_equal(oi.weight, own[k].weight);
	}
	shmstat_sigview_free(v);
}

static void run_stream(shmstat_seg *seg, const char *name, uint32_t capacity, uint32_t nkeys,
		       uint64_t seed)
{
	struct shmstat_sigtab_opts o = su_topts(capacity, 32, 2, 0);
	char metric[32];
	shmstat_sigtab *t;
	struct exact *ex = calloc(nkeys, sizeof(*ex)), tot = { 0 }, own[2] = { { 0 } };
	uint32_t ids[2];
	uint64_t events = 0;

	assert_non_null(ex);
	snprintf(metric, sizeof(metric), "sig_rand_%u_%u", capacity, nkeys);
	t = table(seg, metric, &o);
	assert_int_equal(shmstat_sig_owner(t, "odd", &ids[0]), 0);
	assert_int_equal(shmstat_sig_owner(t, "even", &ids[1]), 0);
	for (int batch = 0; batch < 20; batch++) {
		for (int i = 0; i < 2000; i++) {
			uint64_t r = su_next(&seed);
			/* skewed: the minimum of two uniform draws, squared */
			uint32_t a = (uint32_t)(r % nkeys), b = (uint32_t)((r >> 20) % nkeys);
			uint32_t id = a < b ? a : b;
			char key[16];
			int on;

			id = (uint32_t)((uint64_t)id * id / nkeys);
			on = id % 3 == 0 ? -1 : (int)(id % 2);
			snprintf(key, sizeof(key), "r%u", id);
			if ((r >> 40) % 5 == 0) {
				shmstat_sig_miss(t, key, strlen(key), on < 0 ? 0 : ids[on]);
				ex[id].misses++;
				tot.misses++;
				if (on >= 0)
					own[on].misses++;
			} else {
				uint64_t w = (r >> 44) % 1000;

				shmstat_sig_hit(t, key, strlen(key), w, on < 0 ? 0 : ids[on]);
				ex[id].hits++;
				ex[id].weight += w;
				tot.hits++;
				tot.weight += w;
				if (on >= 0) {
					own[on].hits++;
					own[on].weight += w;
				}
			}
			events++;
		}
		shmstat_sig_flush(seg);            /* entries current */
		check_bounds(name, metric, ex, nkeys, capacity, &tot, own, events);
	}
	free(ex);
}

static void test_random_streams(void **state)
{
	const char *name = ut_name("sigrand");
	shmstat_seg *seg = open_seg(name);

	(void)state;
	run_stream(seg, name, 1, 64, 1);
	run_stream(seg, name, 8, 64, 2);
	run_stream(seg, name, 8, 200, 3);
	run_stream(seg, name, 64, 200, 4);
	run_stream(seg, name, 64, 50, 5);        /* fewer keys than capacity: exact */
	assert_int_equal(shmstat_close(seg), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)
	const struct CMUnitTest tests[] = {
		T(test_space_saving),
		T(test_ttl_victim),
		T(test_random_streams),
	};

	return cmocka_run_group_tests_name("sig_evict", tests, NULL, NULL);
}
