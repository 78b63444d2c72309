/*
 * test_sig_exact.c - exactness with distinct keys <= capacity, across
 * P processes x T threads (stress suite, ThreadSanitizer build: a data
 * race in any process fails the test).
 *
 * A table of capacity 1024 takes 1000 distinct keys: short ones, exactly
 * 32 bytes, longer than the 32-byte prefix (all of those share their first
 * 32 bytes and differ only after them), binary keys with NUL bytes, and
 * the empty key. P = 3 writer processes of T = 3 threads each make ROUNDS
 * passes over all keys; event (p, t, round, key) is a miss or a hit of
 * some weight, a fixed function of the four, for owner key % 6 (0: none,
 * else "acct-<n>", whose ids each process looks up itself, in its own
 * order). Pass 0 visits the keys in the same order in every thread, so
 * that the first insertions of each key race; later passes in orders of
 * their own. Then every thread hits one common key HOT times (its entry's
 * lock is contended by all nine threads).
 *
 * The parent replays the same function and checks, while the writers are
 * attached, after they exit, and after shmstat_gc:
 *  - every key has exactly one entry; its hits, misses and weight equal
 *    the exact counts; its error bounds are 0; prefix_len = min(len, 32),
 *    the prefix bytes (NULs included) and keylen are the key's; the owner
 *    is the key's; first_ns <= last_ns, both within the run (coarse
 *    realtime clock); hit_rate = hits / (hits + misses);
 *  - table totals and per-owner totals equal the exact ones, the metric's
 *    counter is the table's hits; used = 1000, evictions = 0, dropped = 0,
 *    skipped = 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "stress_common.h"
#include "sig_util.h"

#define P 3
#define T 3
#define CAPACITY 1024u
#define NKEYS 1000u
#define ROUNDS 100u
#define HOT_KEY 7u                 /* every thread then hits it HOT times */
#define HOT 20000u
#define OWNERS 8u                  /* slots; 5 used */
#define METRIC "sig_exact"

struct key {
	unsigned char b[112];
	size_t len;
	uint64_t hash;
	unsigned owner;                /* 0: none, 1..5: "acct-<owner>" */
};

static struct key keys[NKEYS];

static void make_keys(void)
{
	for (uint32_t i = 0; i < NKEYS; i++) {
		struct key *k = &keys[i];
		uint64_t s = i;

		memset(k, 0, sizeof(*k));
		switch (i % 5) {
		case 0:                /* short text */
			k->len = (size_t)snprintf((char *)k->b, sizeof(k->b), "x%u", i);
			break;
		case 1:                /* exactly the prefix: 32 bytes */
			memset(k->b, '=', 32);
			snprintf((char *)k->b, 32, "thirty-two-%u", i);
			k->b[strlen((char *)k->b)] = '=';
			k->len = 32;
			break;
		case 2:                /* longer; all share their first 32 bytes */
			k->len = 33 + i % 64;
			memset(k->b, 'L', k->len);
			k->b[k->len - 4] = (unsigned char)(i >> 8);
			k->b[k->len - 3] = (unsigned char)i;
			k->b[k->len - 2] = '\0';
			break;
		case 3:                /* binary with NULs */
			k->b[0] = 0;
			k->b[1] = 0;
			memcpy(k->b + 2, &i, sizeof(i));
			k->b[6] = 0;
			k->b[7] = 'z';
			k->len = 8;
			break;
		default:               /* 10..31 pseudo-random bytes, NULs likely */
			k->len = 10 + (size_t)(su_next(&s) % 22);
			for (size_t j = 0; j < k->len; j++)
				k->b[j] = (unsigned char)(su_next(&s) & 0x0f);
			memcpy(k->b, &i, sizeof(i));
			break;
		}
		if (i == NKEYS - 1)
			k->len = 0;    /* the empty key */
		k->hash = su_hash(k->b, k->len);
		k->owner = i % 6;
	}
}

/* Event of process @p, thread @t, pass @r on key @i: 0 for a miss, else
 * 1 + the hit's weight. */
static uint64_t event_of(unsigned p, unsigned t, unsigned r, unsigned i)
{
	uint64_t s = (uint64_t)p << 48 ^ (uint64_t)t << 40 ^ (uint64_t)r << 20 ^ i;
	uint64_t h = su_next(&s);

	if (h % 4 == 0)
		return 0;
	return 1 + (h >> 8) % 1000;
}

/* Key visited at step @j of pass @r by thread (@p, @t). */
static unsigned key_at(unsigned p, unsigned t, unsigned r, unsigned j)
{
	unsigned off, stride;

	if (r == 0)
		return j;
	off = (p * T + t) * 97 + r * 13;
	stride = 7 + 2 * (p * T + t);  /* odd, not a multiple of 5: coprime to 1000 */
	if (stride % 5 == 0)
		stride += 2;
	return (off + j * stride) % NKEYS;
}

/* ------------------------------------------------------------ writers */

struct writer {
	const char *name;
	unsigned p;
	int done_fd, go_fd;
	int unused[2];
	int close_seg;
};

struct wthread {
	shmstat_sigtab *t;
	unsigned p, th;
	const uint32_t *ids;       /* owner 1..5 -> id */
	pthread_barrier_t *bar;
};

static void *writer_thread(void *arg)
{
	const struct wthread *w = arg;

	pthread_barrier_wait(w->bar);
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned j = 0; j < NKEYS; j++) {
			unsigned i = key_at(w->p, w->th, r, j);
			const struct key *k = &keys[i];
			uint64_t ev = event_of(w->p, w->th, r, i);
			uint32_t id = k->owner ? w->ids[k->owner] : 0;

			if (ev == 0)
				shmstat_sig_miss(w->t, k->b, k->len, id);
			else
				shmstat_sig_hit(w->t, k->b, k->len, ev - 1, id);
		}
	}
	/* one key shared by all: its entry's lock is contended */
	for (unsigned j = 0; j < HOT; j++) {
		const struct key *k = &keys[HOT_KEY];

		shmstat_sig_hit(w->t, k->b, k->len, j % 3, k->owner ? w->ids[k->owner] : 0);
	}
	return NULL;
}

static struct shmstat_sigtab_opts table_opts(void)
{
	return su_topts(CAPACITY, 32, OWNERS, 0);
}

static int writer_main(void *arg)
{
	const struct writer *wr = arg;
	static const unsigned orders[P][5] = {
		{ 1, 2, 3, 4, 5 }, { 5, 4, 3, 2, 1 }, { 3, 1, 4, 5, 2 },
	};
	struct shmstat_metric_def def = { .name = METRIC };
	struct shmstat_sigtab_opts o = table_opts();
	struct wthread wt[T];
	pthread_barrier_t bar;
	pthread_t th[T];
	uint32_t ids[6] = { 0 };
	shmstat_seg *seg;
	shmstat_sigtab *t;
	char c;

	close(wr->unused[0]);
	close(wr->unused[1]);
	CHILD_CHECK(shmstat_open(wr->name, NULL, &seg) == 0);
	CHILD_CHECK(shmstat_sigtab_register(seg, &def, &o, &t) == 0);
	for (int k = 0; k < 5; k++) {
		char owner[16];
		unsigned on = orders[wr->p][k];

		snprintf(owner, sizeof(owner), "acct-%u", on);
		CHILD_CHECK(shmstat_sig_owner(t, owner, &ids[on]) == 0);
		CHILD_CHECK(ids[on] >= 1 && ids[on] <= OWNERS);
	}
	CHILD_CHECK(pthread_barrier_init(&bar, NULL, T) == 0);
	for (unsigned i = 0; i < T; i++) {
		wt[i] = (struct wthread){ .t = t, .p = wr->p, .th = i, .ids = ids, .bar = &bar };
		CHILD_CHECK(pthread_create(&th[i], NULL, writer_thread, &wt[i]) == 0);
	}
	for (unsigned i = 0; i < T; i++)
		CHILD_CHECK(pthread_join(th[i], NULL) == 0);
	CHILD_CHECK(stress_write(wr->done_fd, "d", 1) == 0);
	CHILD_CHECK(stress_read(wr->go_fd, &c, 1) == 0);     /* EOF: finish */
	if (wr->close_seg)
		CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

/* ------------------------------------------------------------ checking */

struct exact {
	uint64_t hits[NKEYS], misses[NKEYS], weight[NKEYS];
	uint64_t own_hits[6], own_misses[6], own_weight[6];
	uint64_t hits_all, misses_all, weight_all;
};

static void replay(struct exact *x)
{
	memset(x, 0, sizeof(*x));
	for (unsigned p = 0; p < P; p++)
		for (unsigned t = 0; t < T; t++)
			for (unsigned r = 0; r < ROUNDS; r++)
				for (unsigned i = 0; i < NKEYS; i++) {
					uint64_t ev = event_of(p, t, r, i);
					unsigned on = keys[i].owner;

					if (ev == 0) {
						x->misses[i]++;
						x->own_misses[on]++;
						x->misses_all++;
					} else {
						x->hits[i]++;
						x->weight[i] += ev - 1;
						x->own_hits[on]++;
						x->own_weight[on] += ev - 1;
						x->hits_all++;
						x->weight_all += ev - 1;
					}
				}
	for (unsigned j = 0; j < HOT; j++) {
		uint64_t w = (uint64_t)(j % 3) * P * T;
		unsigned on = keys[HOT_KEY].owner;

		x->hits[HOT_KEY] += P * T;
		x->weight[HOT_KEY] += w;
		x->own_hits[on] += P * T;
		x->own_weight[on] += w;
		x->hits_all += P * T;
		x->weight_all += w;
	}
}

static int key_index(uint64_t hash)
{
	for (unsigned i = 0; i < NKEYS; i++)
		if (keys[i].hash == hash)
			return (int)i;
	return -1;
}

/* Which keys' entries differ from the exact counts, before any assertion,
 * so that a failure says where events went missing. */
static void report_lost(const shmstat_sigview *v, const struct exact *x,
			const struct shmstat_sigstats *st, const char *when)
{
	size_t n = shmstat_sigview_entries(v), bad = 0;

	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;
		int i;

		if (shmstat_sigview_entry(v, k, &e) != 0 || (i = key_index(e.hash)) < 0)
			continue;
		if (e.hits == x->hits[i] && e.misses == x->misses[i] && e.weight == x->weight[i])
			continue;
		if (bad++ < 5)
			print_error("%s: key %d (%zu bytes): hits %llu misses %llu weight %llu, "
				    "exact %llu %llu %llu\n", when, i, keys[i].len,
				    (unsigned long long)e.hits, (unsigned long long)e.misses,
				    (unsigned long long)e.weight, (unsigned long long)x->hits[i],
				    (unsigned long long)x->misses[i],
				    (unsigned long long)x->weight[i]);
	}
	if (bad || st->hits != x->hits_all || st->misses != x->misses_all ||
	    st->weight != x->weight_all || st->evictions != 0 || st->dropped != 0 ||
	    st->skipped != 0 || st->used != NKEYS)
		fail_msg("%s: %zu keys with wrong counts; totals hits %llu misses %llu "
			 "weight %llu (exact %llu %llu %llu), evictions %llu, dropped %llu, "
			 "skipped %u, used %u", when, bad,
			 (unsigned long long)st->hits, (unsigned long long)st->misses,
			 (unsigned long long)st->weight, (unsigned long long)x->hits_all,
			 (unsigned long long)x->misses_all, (unsigned long long)x->weight_all,
			 (unsigned long long)st->evictions, (unsigned long long)st->dropped,
			 st->skipped, st->used);
}

static void check(const char *name, const struct exact *x, uint64_t t_start, uint64_t t_end,
		  const char *when)
{
	shmstat_snap *s = stress_snap(name);
	struct shmstat_metric_info mi;
	int mi_idx = su_find_table(s, METRIC, "");
	shmstat_sigview *v = NULL;
	struct shmstat_sigstats st;
	static char seen[NKEYS];
	size_t n;

	assert_true(mi_idx >= 0);
	assert_int_equal(shmstat_snap_metric(s, (size_t)mi_idx, &mi), 0);
	assert_int_equal(shmstat_snap_sigtab(s, (size_t)mi_idx, &v), 0);
	shmstat_sigview_stats(v, &st);
	report_lost(v, x, &st, when);
	assert_int_equal(mi.counter, x->hits_all);
	assert_int_equal(st.capacity, CAPACITY);
	assert_int_equal(st.prefix, 32);
	n = shmstat_sigview_entries(v);
	assert_int_equal(n, NKEYS);
	memset(seen, 0, sizeof(seen));
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;
		const struct key *ky;
		int i;
		size_t pl;
		char owner[16] = "";

		assert_int_equal(shmstat_sigview_entry(v, k, &e), 0);
		i = key_index(e.hash);
		if (i < 0)
			fail_msg("%s: entry %zu has an unknown hash %llx", when, k,
				 (unsigned long long)e.hash);
		assert_false(seen[i]);
		seen[i] = 1;
		ky = &keys[i];
		if (e.hits != x->hits[i] || e.misses != x->misses[i] || e.weight != x->weight[i] ||
		    e.err_hits || e.err_misses || e.err_weight)
			fail_msg("%s: key %d: hits %llu misses %llu weight %llu err %llu/%llu/%llu, "
				 "exact %llu %llu %llu", when, i, (unsigned long long)e.hits,
				 (unsigned long long)e.misses, (unsigned long long)e.weight,
				 (unsigned long long)e.err_hits, (unsigned long long)e.err_misses,
				 (unsigned long long)e.err_weight, (unsigned long long)x->hits[i],
				 (unsigned long long)x->misses[i], (unsigned long long)x->weight[i]);
		pl = ky->len < 32 ? ky->len : 32;
		assert_int_equal(e.keylen, ky->len);
		assert_int_equal(e.prefix_len, pl);
		assert_memory_equal(e.prefix, ky->b, pl);
		assert_int_equal(e.prefix[pl], '\0');
		if (ky->owner)
			snprintf(owner, sizeof(owner), "acct-%u", ky->owner);
		assert_string_equal(e.owner, owner);
		assert_true(e.first_ns <= e.last_ns);
		assert_true(e.first_ns >= t_start);
		assert_true(e.last_ns <= t_end);
		assert_true(e.gen >= 1);
		assert_true(e.hit_rate == (double)e.hits / (double)(e.hits + e.misses));
	}
	assert_int_equal(shmstat_sigview_owners(v), 5);
	for (size_t k = 0; k < 5; k++) {
		struct shmstat_sigowner_info oi;
		unsigned on;

		assert_int_equal(shmstat_sigview_owner(v, k, &oi), 0);
		assert_int_equal(sscanf(oi.name, "acct-%u", &on), 1);
		assert_true(on >= 1 && on <= 5);
		assert_int_equal(oi.hits, x->own_hits[on]);
		assert_int_equal(oi.misses, x->own_misses[on]);
		assert_int_equal(oi.weight, x->own_weight[on]);
	}
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
}

static void test_exact(void **state)
{
	const char *name = stress_name("sigexact");
	struct shmstat_opts o;
	struct writer wr[P];
	int done[2], go[2];
	pid_t pid[P];
	uint64_t t_start, t_end;
	struct exact *x = malloc(sizeof(*x));
	unsigned reaped = 0;

	(void)state;
	assert_non_null(x);
	make_keys();
	for (unsigned i = 0; i < NKEYS; i++)
		for (unsigned j = 0; j < i; j++)
			assert_true(keys[i].hash != keys[j].hash);
	replay(x);

	shmstat_opts_init(&o);
	o.max_procs = 8;
	o.max_metrics = 16;
	o.max_values = 256;
	o.max_threads = 16;
	o.max_sig_entries = su_span(CAPACITY, OWNERS);
	stress_create(name, &o);
	stress_pipe(done);
	stress_pipe(go);
	t_start = su_coarse_ns();
	for (unsigned p = 0; p < P; p++) {
		wr[p] = (struct writer){ .name = name, .p = p, .done_fd = done[1], .go_fd = go[0],
					 .unused = { done[0], go[1] }, .close_seg = p == 1 };
		pid[p] = stress_spawn(writer_main, &wr[p]);
	}
	close(done[1]);
	close(go[0]);
	for (unsigned p = 0; p < P; p++)
		stress_expect(done[0], pid[p]);
	t_end = su_coarse_ns();
	check(name, x, t_start, t_end, "writers attached");

	close(go[1]);
	for (unsigned p = 0; p < P; p++)
		assert_int_equal(stress_wait(pid[p]), 0);
	close(done[0]);
	check(name, x, t_start, t_end, "writers gone");
	assert_int_equal(shmstat_gc(name, &reaped), 0);
	check(name, x, t_start, t_end, "after gc");
	free(x);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact, stress_setup, stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests_name("sig_exact", tests, NULL, NULL);
}
