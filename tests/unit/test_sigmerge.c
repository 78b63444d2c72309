/*
 * test_sigmerge.c - the merge of signature summaries (sigmerge.c), against
 * a reference computed here key by key: the first summary into an empty
 * merge goes past the map for keys whose bitmap bucket holds no other,
 * and the map is rebuilt before the next summary's lookups. Checked:
 * every key once, with the sums and bounds' inputs of its entries, one a
 * summary (the one with the largest error where a summary's copy holds a
 * key twice or three times: evicted and back while a reader copied it),
 * for a summary of distinct keys, one with such repeats, one
 * whose keys all share a hash, torn entries left out, and summaries
 * added after such a first one (keys shared with it and new ones).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ut_common.h"
#include "sigmerge.h"
#include "../xorshift.h"

#define KB 16              /* key bytes kept */
#define KEYREC (sizeof(struct shmstat_sigkeyrec) + KB)

struct src {
	struct shmstat_sigsum hdr;
	struct shmstat_sigent *ents;
	unsigned char *keys;
	uint8_t *skip;
	uint32_t n;
};

/* Summary of @n entries; entry j has hash @hash(j), counts from @seed. */
static void src_make(struct src *s, uint32_t n, uint64_t (*hash)(uint32_t), uint64_t seed)
{
	uint64_t x = seed;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->ents = calloc(n ? n : 1, sizeof(*s->ents));
	s->keys = calloc(n ? n : 1, KEYREC);
	s->skip = calloc(n ? n : 1, 1);
	assert_non_null(s->ents);
	assert_non_null(s->keys);
	assert_non_null(s->skip);
	s->hdr.used = n;
	s->hdr.floor = 3;
	s->hdr.wmax = 7;
	for (uint32_t j = 0; j < n; j++) {
		struct shmstat_sigent *e = &s->ents[j];
		struct shmstat_sigkeyrec rec = { .len = 11 };

		e->hash = hash(j);
		e->hits = xorshift64(&x) % 1000;
		e->misses = xorshift64(&x) % 100;
		e->weight = e->hits * 7;
		e->err = xorshift64(&x) % 4;
		e->first_ns = 1000 + xorshift64(&x) % 1000;
		e->last_ns = 5000 + xorshift64(&x) % 1000;
		e->owner = (uint16_t)(xorshift64(&x) % 3);
		e->flags = SHMSTAT_SIGENT_F_KEY;
		memcpy(s->keys + j * KEYREC, &rec, sizeof(rec));
		/* the key's text names its hash: equal hashes, equal keys */
		snprintf((char *)s->keys + j * KEYREC + sizeof(rec), KB, "k%010llx",
			 (unsigned long long)(e->hash % 0xffffffffffull));
	}
}

static void src_free(struct src *s)
{
	free(s->ents);
	free(s->keys);
	free(s->skip);
}

static struct sm_src as_sm(const struct src *s)
{
	struct sm_src o = { .hdr = &s->hdr, .ents = s->ents, .keys = s->keys,
			    .skip = s->skip, .n = s->n, .capacity = 1u << 20, .keybytes = KB,
			    .keyrec = KEYREC };

	return o;
}

/* The reference, one group per hash: the sums over the summaries that
 * hold it of one entry each, the one with the largest error (the first
 * of them in the copy), and the first and last times of all its entries;
 * @entries: the summaries that hold it. */
struct ref {
	uint64_t hash, lo_h, lo_m, lo_w, err_in, first, last;
	uint32_t entries, j;
};

static int by_hash(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->hash != y->hash)
		return (x->hash > y->hash) - (x->hash < y->hash);
	return (x->j > y->j) - (x->j < y->j);
}

/* Fold the groups of equal hashes of sorted @r (@g records) into their
 * first: *@n groups; @sum adds the counts of each record (a group across
 * summaries), else the record with the largest error stands for it (the
 * entries of one summary) */
static void group(struct ref *r, size_t g, size_t *n, bool sum)
{
	*n = 0;
	for (size_t i = 0; i < g; i++) {
		struct ref *o = &r[*n - (*n && r[*n - 1].hash == r[i].hash)];
		const uint64_t first = o->first, last = o->last;

		if (o == &r[*n]) {
			r[(*n)++] = r[i];
			continue;
		}
		if (sum) {
			o->lo_h += r[i].lo_h;
			o->lo_m += r[i].lo_m;
			o->lo_w += r[i].lo_w;
			o->err_in += r[i].err_in;
			o->entries++;
		} else if (r[i].err_in > o->err_in) {
			*o = r[i];
		}
		o->first = r[i].first < first ? r[i].first : first;
		o->last = r[i].last > last ? r[i].last : last;
	}
}

/* The groups of summaries @ss (@ns of them), sorted by hash; *@n groups */
static struct ref *ref_make(const struct src *ss, int ns, size_t *n)
{
	size_t all = 0, g = 0;
	struct ref *r;

	for (int i = 0; i < ns; i++)
		all += ss[i].n;
	r = calloc(all ? all : 1, sizeof(*r));
	assert_non_null(r);
	for (int i = 0; i < ns; i++) {
		size_t from = g, kept;

		for (uint32_t j = 0; j < ss[i].n; j++) {
			const struct shmstat_sigent *e = &ss[i].ents[j];

			if (ss[i].skip[j])
				continue;
			r[g++] = (struct ref){ .hash = e->hash, .lo_h = e->hits,
					       .lo_m = e->misses, .lo_w = e->weight,
					       .err_in = e->err, .first = e->first_ns,
					       .last = e->last_ns, .entries = 1, .j = j };
		}
		qsort(r + from, g - from, sizeof(*r), by_hash);
		group(r + from, g - from, &kept, false);
		g = from + kept;
	}
	for (size_t i = 0; i < g; i++)
		r[i].j = 0;
	qsort(r, g, sizeof(*r), by_hash);
	group(r, g, n, true);
	return r;
}

/* @m holds exactly the hashes the summaries hold, each once, with the
 * reference's sums. */
static void check_merge(const struct sm *m, const struct src *ss, int ns)
{
	size_t n;
	struct ref *r = ref_make(ss, ns, &n);
	uint8_t *met = calloc(n ? n : 1, 1);

	assert_non_null(met);
	assert_int_equal(m->n, n);
	for (size_t a = 0; a < m->n; a++) {
		const struct sm_key *k = &m->k[a];
		const struct ref want_key = { .hash = k->hash };
		const struct ref *g = bsearch(&want_key, r, n, sizeof(*r), by_hash);
		char want[KB];

		assert_non_null(g);
		assert_false(met[g - r]);     /* each hash once */
		met[g - r] = 1;
		assert_int_equal(k->lo_h, g->lo_h);
		assert_int_equal(k->lo_m, g->lo_m);
		assert_int_equal(k->lo_w, g->lo_w);
		assert_int_equal(k->err_in, g->err_in);
		assert_int_equal(k->werr_in, g->err_in * 7);
		assert_int_equal(k->fpres, 3u * g->entries);   /* once a summary */
		assert_int_equal(k->first_ns, g->first);
		assert_int_equal(k->last_ns, g->last);
		snprintf(want, sizeof(want), "k%010llx",
			 (unsigned long long)(k->hash % 0xffffffffffull));
		assert_string_equal(m->arena + k->key_off, want);
	}
	free(met);
	free(r);
}

static uint64_t h_distinct(uint32_t j)
{
	return (j + 1) * UINT64_C(0xD6E8FEB86659FD93);
}

/* every 97th entry repeats the key 50 entries before it, every 389th
 * the one 200 before (a third entry of some keys) */
static uint64_t h_repeats(uint32_t j)
{
	if (j >= 50 && j % 97 == 0)
		return h_repeats(j - 50);
	if (j >= 200 && j % 389 == 0)
		return h_repeats(j - 200);
	return h_distinct(j);
}

static uint64_t h_same(uint32_t j)
{
	return j % 3 == 0 ? 42 : h_distinct(j % 5);
}

static uint64_t h_shifted(uint32_t j)
{
	return h_distinct(j + 3000);      /* half shared with a source of 6,000 */
}

static void one(uint32_t n, uint64_t (*hash)(uint32_t), bool tear)
{
	struct sm m;
	struct src s;
	struct sm_src o;

	src_make(&s, n, hash, 7);
	if (tear)
		for (uint32_t j = 0; j < n; j += 13)
			s.skip[j] = 1;
	o = as_sm(&s);
	shmstat__sm_init(&m);
	assert_int_equal(shmstat__sm_reserve(&m, n, (size_t)n * (KB + 1)), 0);
	assert_int_equal(shmstat__sm_add(&m, &o), 0);
	check_merge(&m, &s, 1);
	assert_int_equal(m.summaries, 1);
	shmstat__sm_free(&m);
	src_free(&s);
}

static void test_distinct(void **state)
{
	(void)state;
	one(10000, h_distinct, false);
	one(40, h_distinct, false);        /* small: every key through the map */
}

static void test_repeats(void **state)
{
	(void)state;
	one(10000, h_repeats, false);
	one(10000, h_repeats, true);
}

static void test_one_hash(void **state)
{
	(void)state;
	one(3000, h_same, false);
}

/* an empty summary first (a grave), then one with repeats, then two that
 * share keys with it: the map rebuilt with every key of the first */
static void test_then_more(void **state)
{
	struct src ss[4];
	struct sm m;

	(void)state;
	src_make(&ss[0], 0, h_distinct, 1);
	src_make(&ss[1], 6000, h_repeats, 2);
	src_make(&ss[2], 6000, h_shifted, 3);
	src_make(&ss[3], 100, h_repeats, 4);
	shmstat__sm_init(&m);
	assert_int_equal(shmstat__sm_reserve(&m, 12100, 12100 * (KB + 1)), 0);
	for (int i = 0; i < 4; i++) {
		struct sm_src o = as_sm(&ss[i]);

		assert_int_equal(shmstat__sm_add(&m, &o), 0);
	}
	check_merge(&m, ss, 4);
	assert_int_equal(m.F, 4 * 3);
	for (int i = 0; i < 4; i++)
		src_free(&ss[i]);
	shmstat__sm_free(&m);
}

/* Summary A's copy holds key x twice: evicted (1 hit, no error) and
 * taken back (1 hit, error 5: the count of the entry it took) while it
 * was read, A's floor 50; summary B no longer holds x, which had 40 hits
 * there, its floor 40. x's upper bound covers its 42 hits, and its
 * error, the Space-Saving one, is the newer entry's 5 plus B's floor:
 * A's floor is left out once, not once an entry. */
static void test_held_twice_bound(void **state)
{
	struct src a, b;
	struct sm m;
	struct sm_src oa, ob;
	const struct sm_key *x = NULL;

	(void)state;
	src_make(&a, 4, h_distinct, 5);
	src_make(&b, 2, h_distinct, 6);
	a.ents[3].hash = a.ents[0].hash;           /* entries 0 and 3: x */
	a.ents[0].hits = 1;
	a.ents[0].misses = 0;
	a.ents[3].hits = 1;
	a.ents[3].misses = 0;
	a.hdr.floor = 50;
	b.ents[0].hash = b.ents[1].hash + 1;       /* neither is x */
	b.hdr.floor = 40;
	for (uint32_t j = 0; j < 4; j++)
		a.ents[j].err = j == 3 ? 5 : 0;
	oa = as_sm(&a);
	ob = as_sm(&b);
	shmstat__sm_init(&m);
	assert_int_equal(shmstat__sm_add(&m, &ob), 0);
	assert_int_equal(shmstat__sm_add(&m, &oa), 0);
	for (size_t i = 0; i < m.n; i++)
		if (m.k[i].hash == a.ents[0].hash)
			x = &m.k[i];
	assert_non_null(x);
	assert_int_equal(x->lo_h, 1);              /* the newer entry's */
	assert_int_equal(x->err_in, 5);
	assert_int_equal(x->fpres, 50);
	if (x->lo_h + shmstat__sm_err(&m, x, 0) < 42)
		fail_msg("x's upper bound %llu is below the 42 hits it had",
			 (unsigned long long)(x->lo_h + shmstat__sm_err(&m, x, 0)));
	assert_int_equal(shmstat__sm_err(&m, x, 0), 5 + 40);
	shmstat__sm_free(&m);
	src_free(&a);
	src_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distinct),
		cmocka_unit_test(test_repeats),
		cmocka_unit_test(test_one_hash),
		cmocka_unit_test(test_then_more),
		cmocka_unit_test(test_held_twice_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
