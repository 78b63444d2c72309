/*
 * test_sig_ss.c - one writer thread's Space-Saving summary, on
 * deterministic streams (unit suite, ASan+UBSan build, one thread).
 *
 * Every stream is a fixed sequence of events (splitmix64, fixed seeds):
 * key "ss-<id>", a miss one time in eight, else a hit of weight 1..7. The
 * test tallies the exact hits, misses and weight of every key itself, and
 * checks the table against that tally with su_check() (sig_util.h): for
 * every listed key, hits - err_hits <= true hits <= hits (misses, events
 * and weight likewise), err_hits <= max_error; every key not listed had
 * at most max_error events; max_error <= error_bound = events / C; the
 * guaranteed hits add up to at most the total; key text is the key's.
 *
 *  exact_fit: C keys or fewer (C = 1, 2, 64, 256; 100 events per key, in
 *      a random order): no eviction, every count exact (error 0),
 *      max_error 0, all text there. C + 1 keys: evictions (or filtered
 *      events) start.
 *  past_capacity: C = 1, 2, 3, 5, 64 on a uniform stream (4C keys), an
 *      adversarial one (3C keys, each once, round robin: every event
 *      evicts) and Zipf(1.1) (20C keys). Besides the bounds, checked 20
 *      times along each stream: the summary's counts (hits + misses -
 *      err_hits of every entry: one summary, so each entry's error is its
 *      own) add up to the events so far that the admission filter let
 *      in (each adds 1 to one count), and max_error, the floor (the largest
 *      count ever evicted or filtered), is at most the smallest count of
 *      the summary: victims were minima.
 *  vs_reference: a plain Space-Saving (an array, a linear scan for the
 *      minimum, any minimum the victim) in this file, on the same Zipf
 *      streams (s = 1.1 and 0.8, hits only, C = 256): both meet the
 *      bounds; both find the true top 10 on Zipf(1.1) (recall: a listed
 *      key counts if its true count is at least the true 10th largest);
 *      our guaranteed counts for the reference's top 10; the largest
 *      error and the recall of both are printed side by side.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ut_common.h"
#include "sig_util.h"

#define METRIC "sig_ss"
#define KEY_BYTES 16u

/* ------------------------------------------------------------ streams */

struct stream {
	const char *what;
	uint32_t n, nkeys;
	uint32_t *id;
	uint8_t *miss;
	uint8_t *w;                /* weight of a hit */
};

static void stream_alloc(struct stream *s, const char *what, uint32_t n, uint32_t nkeys)
{
	s->what = what;
	s->n = n;
	s->nkeys = nkeys;
	s->id = malloc((size_t)n * sizeof(*s->id));
	s->miss = malloc(n);
	s->w = malloc(n);
	assert_non_null(s->id);
	assert_non_null(s->miss);
	assert_non_null(s->w);
}

static void stream_free(struct stream *s)
{
	free(s->id);
	free(s->miss);
	free(s->w);
}

/* Misses and weights of events 0..n-1 (@hits_only: no miss). */
static void stream_kinds(struct stream *s, uint64_t seed, int hits_only)
{
	for (uint32_t i = 0; i < s->n; i++) {
		uint64_t r = su_next(&seed);

		s->miss[i] = !hits_only && (r & 7) == 0;
		s->w[i] = (uint8_t)(1 + (r >> 8) % 7);
	}
}

static void stream_uniform(struct stream *s, uint32_t n, uint32_t nkeys, uint64_t seed)
{
	stream_alloc(s, "uniform", n, nkeys);
	for (uint32_t i = 0; i < n; i++)
		s->id[i] = (uint32_t)(su_next(&seed) % nkeys);
	stream_kinds(s, seed, 0);
}

/* Each key once per round, rounds one after the other. */
static void stream_round_robin(struct stream *s, uint32_t n, uint32_t nkeys, uint64_t seed)
{
	stream_alloc(s, "round robin", n, nkeys);
	for (uint32_t i = 0; i < n; i++)
		s->id[i] = i % nkeys;
	stream_kinds(s, seed, 0);
}

/* Zipf(@e) over the keys, rank r being key (r * 7919) % nkeys. */
static void stream_zipf(struct stream *s, const char *what, uint32_t n, uint32_t nkeys,
			double e, uint64_t seed, int hits_only)
{
	struct su_zipf z;

	stream_alloc(s, what, n, nkeys);
	assert_int_equal(su_zipf_init(&z, nkeys, e), 0);
	for (uint32_t i = 0; i < n; i++)
		s->id[i] = (uint32_t)((uint64_t)su_zipf_draw(&z, &seed) * 7919u % nkeys);
	su_zipf_free(&z);
	stream_kinds(s, seed, hits_only);
}

/* Every key once, in a random order, @per times over: @nkeys keys. */
static void stream_shuffled(struct stream *s, uint32_t nkeys, uint32_t per, uint64_t seed)
{
	stream_alloc(s, "shuffled", nkeys * per, nkeys);
	for (uint32_t i = 0; i < s->n; i++)
		s->id[i] = i % nkeys;
	for (uint32_t i = s->n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(su_next(&seed) % (i + 1)), t = s->id[i];

		s->id[i] = s->id[j];
		s->id[j] = t;
	}
	stream_kinds(s, seed, 0);
}

/* ------------------------------------------------------------- the tally */

struct tally {
	uint32_t nkeys;
	char (*key)[16];
	const char **keyp;
	uint32_t *len;
	uint64_t *hash, *hits, *misses, *weight;
	struct su_truth x;
};

static void tally_init(struct tally *t, uint32_t nkeys)
{
	t->nkeys = nkeys;
	t->key = calloc(nkeys, sizeof(*t->key));
	t->keyp = calloc(nkeys, sizeof(*t->keyp));
	t->len = calloc(nkeys, sizeof(*t->len));
	t->hash = calloc(nkeys, sizeof(*t->hash));
	t->hits = calloc(nkeys, sizeof(*t->hits));
	t->misses = calloc(nkeys, sizeof(*t->misses));
	t->weight = calloc(nkeys, sizeof(*t->weight));
	assert_true(t->key && t->keyp && t->len && t->hash && t->hits && t->misses && t->weight);
	for (uint32_t i = 0; i < nkeys; i++) {
		t->len[i] = (uint32_t)snprintf(t->key[i], sizeof(t->key[i]), "ss-%u", i);
		t->keyp[i] = t->key[i];
		t->hash[i] = su_hash(t->key[i], t->len[i]);
	}
	memset(&t->x, 0, sizeof(t->x));
	t->x.n = nkeys;
	t->x.hash = t->hash;
	t->x.hits_lo = t->hits;
	t->x.misses_lo = t->misses;
	t->x.w_lo = t->weight;
	t->x.key = t->keyp;
	t->x.len = t->len;
	assert_int_equal(su_map_init(&t->x.map, t->hash, nkeys), 0);
}

static void tally_free(struct tally *t)
{
	su_map_free(&t->x.map);
	free(t->key);
	free(t->keyp);
	free(t->len);
	free(t->hash);
	free(t->hits);
	free(t->misses);
	free(t->weight);
}

/* ------------------------------------------------------------ one run */

struct run_res {
	uint64_t max_error, max_err, evictions, filtered, events;
	uint32_t used;
	double recall10, recall100;
};

static shmstat_seg *open_table(const char *name, uint32_t cap, shmstat_sigtab **t)
{
	struct shmstat_sigtab_opts o = su_topts(cap, KEY_BYTES, 0, 1, 0);
	struct shmstat_metric_def def = { .name = METRIC };
	struct shmstat_opts so;
	shmstat_seg *seg = NULL;

	ut_small_opts(&so);
	so.sig_bytes = shmstat_sigtab_bytes(&o);
	assert_int_equal(shmstat_open(name, &so, &seg), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &def, &o, t), 0);
	return seg;
}

/* The invariants of one summary, past its capacity too: counts add up to
 * the events the admission filter let in, the floor is at most the
 * smallest count. */
static void check_summary(const shmstat_sigview *v, uint32_t cap, uint64_t events,
			  const char *when)
{
	struct shmstat_sigstats st;
	uint64_t sum = 0, min = UINT64_MAX;
	size_t n = shmstat_sigview_entries(v);

	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.summaries, 2);      /* ours and the (empty) grave */
	assert_int_equal(st.events, events);
	assert_int_equal(st.unsummarized, 0);
	assert_int_equal(st.skipped, 0);
	assert_true(n <= cap);
	if (st.evictions > 0)
		assert_int_equal(n, cap);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;
		uint64_t c;

		assert_int_equal(shmstat_sigview_entry(v, k, &e), 0);
		c = e.hits + e.misses - e.err_hits;
		sum += c;
		if (c < min)
			min = c;
	}
	/* an event adds 1 to one count (an admission too: the newcomer's
	 * count is the victim's plus one), or nothing when the filter keeps
	 * it out */
	if (sum + st.filtered != events)
		fail_msg("%s: the counts add up to %llu after %llu events, %llu filtered, "
			 "%llu evictions", when, (unsigned long long)sum,
			 (unsigned long long)events, (unsigned long long)st.filtered,
			 (unsigned long long)st.evictions);
	if (n == cap && st.max_error > min)
		fail_msg("%s: floor (max_error) %llu above the smallest count %llu: a victim "
			 "was not a minimum", when, (unsigned long long)st.max_error,
			 (unsigned long long)min);
	if (st.evictions == 0 && st.filtered == 0 && st.max_error != 0)
		fail_msg("%s: max_error %llu without eviction or filtered event", when,
			 (unsigned long long)st.max_error);
}

/* Feed stream @s into a table of capacity @cap; check @checks times along
 * the way and at the end; the end's figures into @out. */
static void run(const struct stream *s, uint32_t cap, unsigned checks, struct run_res *out)
{
	const char *name = ut_name("sigss");
	shmstat_sigtab *t = NULL;
	shmstat_seg *seg = open_table(name, cap, &t);
	struct tally x;
	uint32_t every = s->n / (checks ? checks : 1) + 1;
	char when[96];

	tally_init(&x, s->nkeys);
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t id = s->id[i];

		if (s->miss[i]) {
			shmstat_sig_miss(t, x.key[id], x.len[id], 0);
			x.misses[id]++;
		} else {
			shmstat_sig_hit(t, x.key[id], x.len[id], s->w[i], 0);
			x.hits[id]++;
			x.weight[id] += s->w[i];
		}
		if ((i + 1) % every == 0 || i + 1 == s->n) {
			shmstat_snap *sn = ut_snap(name);
			shmstat_sigview *v = su_view(sn, METRIC);
			struct shmstat_sigstats st;
			struct su_res r;

			assert_non_null(v);
			snprintf(when, sizeof(when), "%s, C = %u, %u keys, after %u events", s->what,
				 cap, s->nkeys, i + 1);
			check_summary(v, cap, i + 1, when);
			if (su_check(v, &x.x, SU_QUIESCENT, when, &r) != 0)
				fail_msg("%s: %llu bounds violated", when, (unsigned long long)r.bad);
			if (i + 1 == s->n) {
				shmstat_sigview_stats(v, &st);
				out->max_error = st.max_error;
				out->max_err = r.max_err;
				out->evictions = st.evictions;
				out->filtered = st.filtered;
				out->events = st.events;
				out->used = st.used;
				if (s->nkeys >= 100) {
					out->recall10 = su_recall(v, SHMSTAT_BY_HITS, &x.x.map, x.hits,
								  s->nkeys, 10);
					out->recall100 = su_recall(v, SHMSTAT_BY_HITS, &x.x.map,
								   x.hits, s->nkeys, 100);
				}
			}
			shmstat_sigview_free(v);
			shmstat_snap_free(sn);
		}
	}
	tally_free(&x);
	assert_int_equal(shmstat_close(seg), 0);
}

/* ---------------------------------------------------------------- tests */

static void test_exact_fit(void **state)
{
	static const uint32_t caps[] = { 1, 2, 64, 256 };

	(void)state;
	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		for (uint32_t keys = caps[k] > 1 ? caps[k] - 1 : 1; keys <= caps[k] + 1; keys++) {
			struct stream s;
			struct run_res r;

			stream_shuffled(&s, keys, 100, 1000 + keys);
			run(&s, caps[k], 5, &r);
			if (keys <= caps[k]) {
				assert_int_equal(r.evictions, 0);
				assert_int_equal(r.max_error, 0);
				assert_int_equal(r.max_err, 0);
				assert_int_equal(r.used, keys);
			} else {
				assert_true(r.evictions > 0);
				assert_int_equal(r.used, caps[k]);
			}
			stream_free(&s);
		}
	}
	/* every count exact and every text there: su_check with all text */
	{
		const char *name = ut_name("sigss");
		shmstat_sigtab *t = NULL;
		shmstat_seg *seg = open_table(name, 256, &t);
		struct stream s;
		struct tally x;
		struct su_res r;
		shmstat_snap *sn;
		shmstat_sigview *v;

		stream_shuffled(&s, 256, 100, 77);
		tally_init(&x, 256);
		for (uint32_t i = 0; i < s.n; i++) {
			uint32_t id = s.id[i];

			if (s.miss[i]) {
				shmstat_sig_miss(t, x.key[id], x.len[id], 0);
				x.misses[id]++;
			} else {
				shmstat_sig_hit(t, x.key[id], x.len[id], s.w[i], 0);
				x.hits[id]++;
				x.weight[id] += s.w[i];
			}
		}
		sn = ut_snap(name);
		v = su_view(sn, METRIC);
		assert_non_null(v);
		assert_int_equal(su_check(v, &x.x, SU_QUIESCENT | SU_ALL_TEXT, "exact", &r), 0);
		assert_int_equal(r.listed, 256);
		assert_int_equal(r.exact, 256);
		assert_int_equal(r.with_text, 256);
		{
			struct shmstat_sigstats st;
			uint64_t h = 0;

			shmstat_sigview_stats(v, &st);
			for (uint32_t i = 0; i < 256; i++)
				h += x.hits[i];
			assert_int_equal(r.guaranteed_hits, h);
			assert_int_equal(st.hits, h);
			assert_int_equal(st.error_bound, s.n / 256);
			assert_int_equal(st.max_error, 0);
		}
		shmstat_sigview_free(v);
		shmstat_snap_free(sn);
		tally_free(&x);
		stream_free(&s);
		assert_int_equal(shmstat_close(seg), 0);
	}
}

static void test_past_capacity(void **state)
{
	static const uint32_t caps[] = { 1, 2, 3, 5, 64 };

	(void)state;
	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		uint32_t c = caps[k], n = c < 64 ? 20000 : 100000;
		struct stream s[3];

		stream_uniform(&s[0], n, 4 * c, 10 + c);
		stream_round_robin(&s[1], n, 3 * c, 20 + c);
		stream_zipf(&s[2], "zipf 1.1", n, 20 * c, 1.1, 30 + c, 0);
		for (int j = 0; j < 3; j++) {
			struct run_res r;

			run(&s[j], c, 20, &r);
			print_message("%-12s C = %3u: %6llu events, %6llu evictions, %6llu filtered, "
				      "max_error %5llu (N/C %llu), largest error listed %llu\n",
				      s[j].what, c, (unsigned long long)r.events,
				      (unsigned long long)r.evictions, (unsigned long long)r.filtered,
				      (unsigned long long)r.max_error,
				      (unsigned long long)(r.events / c),
				      (unsigned long long)r.max_err);
			/* past capacity: keys are evicted or kept out (a round
			 * robin of 3 keys through C = 1 is all kept out: the
			 * key held grows faster than any filter counter) */
			assert_true(r.evictions + r.filtered > 0);
			assert_int_equal(r.used, c);
			stream_free(&s[j]);
		}
	}
}

/* ------------------------------------------------------ the reference */

/* Plain Space-Saving: an array of C counters, a linear scan for the
 * minimum (the first one found is the victim). */
struct ref {
	uint32_t cap, used;
	uint32_t *id;
	uint64_t *count, *err;
	int32_t *slot;             /* key -> counter, -1 */
};

static void ref_init(struct ref *r, uint32_t cap, uint32_t nkeys)
{
	r->cap = cap;
	r->used = 0;
	r->id = calloc(cap, sizeof(*r->id));
	r->count = calloc(cap, sizeof(*r->count));
	r->err = calloc(cap, sizeof(*r->err));
	r->slot = malloc((size_t)nkeys * sizeof(*r->slot));
	assert_true(r->id && r->count && r->err && r->slot);
	for (uint32_t i = 0; i < nkeys; i++)
		r->slot[i] = -1;
}

static void ref_add(struct ref *r, uint32_t id)
{
	uint32_t v = 0;

	if (r->slot[id] >= 0) {
		r->count[r->slot[id]]++;
		return;
	}
	if (r->used < r->cap) {
		v = r->used++;
		r->err[v] = 0;
		r->count[v] = 0;
	} else {
		for (uint32_t j = 1; j < r->cap; j++)
			if (r->count[j] < r->count[v])
				v = j;
		r->slot[r->id[v]] = -1;
		r->err[v] = r->count[v];
	}
	r->id[v] = id;
	r->slot[id] = (int32_t)v;
	r->count[v]++;
}

static void ref_free(struct ref *r)
{
	free(r->id);
	free(r->count);
	free(r->err);
	free(r->slot);
}

static const uint64_t *ref_guar;
static const uint64_t *ref_cnt;

/* by guaranteed count, then by count, descending */
static int ref_order(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint64_t gx = ref_guar[x], gy = ref_guar[y];

	if (gx != gy)
		return gx > gy ? -1 : 1;
	return (ref_cnt[x] < ref_cnt[y]) - (ref_cnt[x] > ref_cnt[y]);
}

/* The reference's top @k (counter indices) into @top; its recall against
 * @truth; its bounds checked; its largest error into *@max_err. */
static double ref_top(const struct ref *r, const uint64_t *truth, uint32_t nkeys, uint32_t k,
		      uint32_t *top, uint64_t *max_err)
{
	uint64_t *guar = malloc(r->cap * sizeof(*guar)), cut = su_kth(truth, nkeys, k), good = 0;
	uint32_t *idx = malloc(r->cap * sizeof(*idx));

	assert_non_null(guar);
	assert_non_null(idx);
	*max_err = 0;
	for (uint32_t j = 0; j < r->used; j++) {
		guar[j] = r->count[j] - r->err[j];
		idx[j] = j;
		if (r->err[j] > *max_err)
			*max_err = r->err[j];
		/* the reference meets the bounds (a check of this test) */
		assert_true(guar[j] <= truth[r->id[j]] && truth[r->id[j]] <= r->count[j]);
	}
	ref_guar = guar;
	ref_cnt = r->count;
	qsort(idx, r->used, sizeof(*idx), ref_order);
	for (uint32_t j = 0; j < k && j < r->used; j++) {
		top[j] = idx[j];
		good += truth[r->id[idx[j]]] >= cut;
	}
	free(guar);
	free(idx);
	return (double)good / k;
}

static void compare(double zs, int must_top10)
{
	const uint32_t cap = 256, nkeys = 5000, n = 200000;
	const char *name = ut_name("sigss");
	shmstat_sigtab *t = NULL;
	shmstat_seg *seg = open_table(name, cap, &t);
	struct stream s;
	struct tally x;
	struct ref ref;
	struct su_res res;
	struct shmstat_sigstats st;
	shmstat_snap *sn;
	shmstat_sigview *v;
	uint32_t top[100];
	uint64_t ref_err10, ref_err100;
	double ours10, ours100, ref10, ref100;
	char what[32];

	snprintf(what, sizeof(what), "zipf %.1f", zs);
	stream_zipf(&s, what, n, nkeys, zs, 4242, 1);
	tally_init(&x, nkeys);
	ref_init(&ref, cap, nkeys);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = s.id[i];

		shmstat_sig_hit(t, x.key[id], x.len[id], s.w[i], 0);
		x.hits[id]++;
		x.weight[id] += s.w[i];
		ref_add(&ref, id);
	}
	sn = ut_snap(name);
	v = su_view(sn, METRIC);
	assert_non_null(v);
	shmstat_sigview_stats(v, &st);
	if (su_check(v, &x.x, SU_QUIESCENT, what, &res) != 0)
		fail_msg("%s: %llu bounds violated", what, (unsigned long long)res.bad);
	check_summary(v, cap, n, what);
	ours10 = su_recall(v, SHMSTAT_BY_HITS, &x.x.map, x.hits, nkeys, 10);
	ours100 = su_recall(v, SHMSTAT_BY_HITS, &x.x.map, x.hits, nkeys, 100);
	ref100 = ref_top(&ref, x.hits, nkeys, 100, top, &ref_err100);
	ref10 = ref_top(&ref, x.hits, nkeys, 10, top, &ref_err10);
	assert_true(ref_err10 == ref_err100);
	print_message("%s, C = %u, %u keys, %u events (N/C = %u):\n"
		      "  ours:      largest error %llu (max_error %llu), top-10 recall %.2f, "
		      "top-100 recall %.2f\n"
		      "  reference: largest error %llu, top-10 recall %.2f, top-100 recall %.2f\n",
		      what, cap, nkeys, n, n / cap, (unsigned long long)res.max_err,
		      (unsigned long long)st.max_error, ours10, ours100,
		      (unsigned long long)ref_err10, ref10, ref100);
	/* our guaranteed counts for the reference's top 10 */
	for (uint32_t j = 0; j < 10; j++) {
		uint32_t id = ref.id[top[j]];
		struct shmstat_sigentry e;
		uint64_t ours = 0, err = 0;

		if (su_entry_of(v, x.hash[id], &e) >= 0) {
			ours = e.hits - e.err_hits;
			err = e.err_hits;
		}
		print_message("  reference #%u: %s true %llu, reference %llu (error %llu), "
			      "ours %llu (error %llu)\n", j + 1, x.key[id],
			      (unsigned long long)x.hits[id],
			      (unsigned long long)(ref.count[top[j]] - ref.err[top[j]]),
			      (unsigned long long)ref.err[top[j]], (unsigned long long)ours,
			      (unsigned long long)err);
		if (ours > x.hits[id])
			fail_msg("%s: our guaranteed count of %s is %llu, its true count %llu", what,
				 x.key[id], (unsigned long long)ours, (unsigned long long)x.hits[id]);
	}
	/* both within Space-Saving's bound */
	assert_true(res.max_err <= n / cap);
	assert_true(st.max_error <= n / cap);
	assert_true(ref_err10 <= n / cap);
	if (must_top10) {
		if (ours10 != 1.0 || ref10 != 1.0)
			fail_msg("%s: top-10 recall %.2f (reference %.2f), not 1", what, ours10, ref10);
	}
	shmstat_sigview_free(v);
	shmstat_snap_free(sn);
	ref_free(&ref);
	tally_free(&x);
	stream_free(&s);
	assert_int_equal(shmstat_close(seg), 0);
}

static void test_vs_reference(void **state)
{
	(void)state;
	compare(1.1, 1);
	compare(0.8, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)
	const struct CMUnitTest tests[] = {
		T(test_exact_fit),
		T(test_past_capacity),
		T(test_vs_reference),
	};

	return cmocka_run_group_tests_name("sig_ss", tests, NULL, NULL);
}
