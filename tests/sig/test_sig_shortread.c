/*
 * test_sig_shortread.c - a reader whose copy of an entry is split in two
 * while the writer gives the entry to another key (unit suite, ASan+UBSan
 * build; one process, a writer thread).
 *
 * Readers copy the segment with pread(2), which may return fewer bytes
 * than asked (interrupted by a signal, or preempted in the middle of the
 * copy, which has the same effect: the rest of the entry is read later);
 * shmstat__pread_full() then reads the rest. This file defines pread():
 * the library's calls (linked in statically) come here. It reads, and
 * once armed, at the n-th read whose bytes hold the entry of key "alpha"
 * (its hash at an entry's start), returns only the first 56 bytes of
 * that entry (its hash and counts) and, before returning, lets the
 * writer thread give the entry to "beta" (capacity 1: beta's three
 * misses before, kept out by the admission filter, brought its filter
 * counter to alpha's count, so its next event evicts alpha) and count
 * beta's event after that (which writes beta's text). The rest of the entry (gen, owner, flags) is then read as the
 * writer left it.
 *
 *  split_1: the split in the reader's quick copy of the summary (the
 *      entries read once, then the summary's seq: format.md, "The
 *      reader's copy"); the take moves seq, and the reader reads the
 *      summary the long way. The view must not hold an entry that mixes
 *      the two keys: every entry's text hashes to its hash, its owner is
 *      its key's (alpha: "o1", beta: "o2"), its counts within its key's
 *      truth. A reader that kept the quick copy without looking at seq
 *      again shows alpha's hash and counts with beta's owner and text.
 *  long_1, long_2, long_3: the summary's seq set to 0 first (a writer
 *      of format 4.0, which keeps none): the reader reads it the long way
 *      only, each entry's gen before and after its data; the split is in
 *      the 1st, 2nd or 3rd copy of the entry (one of them is the data's).
 *      A reader that compares the gen of the copy holding the data (read
 *      after the data's first bytes) with a later one misses a change
 *      made in between.
 *  unsplit: the same without the split, as a check of the test: the view
 *      shows beta alone, right.
 *  odd_gen: no split; the summary's seq even and unmoved, but alpha's
 *      entry's gen made odd in the segment (a take under way, or one a
 *      killed writer left: seq says none, which only a damaged segment
 *      holds): the quick copy must read the entry again alone like the
 *      long way, and leave it out as torn (skipped 1), not show it.
 */
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ut_common.h"
#include "sig_util.h"
#include "siggeo.h"

#define METRIC "sig_split"

static uint64_t alpha_hash;
static int armed;              /* split the armed-th copy of alpha's entry */
static int split_done;
static sem_t go, done;

/* See the top of the file: pread(2), split once when armed. */
ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	ssize_t r = syscall(SYS_pread64, fd, buf, n, off);

	if (!armed || r < 64)
		return r;
	for (size_t p = 0; p + 64 <= (size_t)r; p += 8) {
		if ((off + (off_t)p) % 64 != 0 || memcmp((char *)buf + p, &alpha_hash, 8) != 0)
			continue;
		if (--armed > 0)
			return r;
		armed = 0;
		split_done = 1;
		sem_post(&go);          /* the writer evicts alpha, meanwhile */
		while (sem_wait(&done) != 0)
			;
		return (ssize_t)p + 56;
	}
	return r;
}

struct writer {
	shmstat_sigtab *t;
	uint32_t o1, o2;
};

static void *writer_thread(void *arg)
{
	const struct writer *w = arg;

	for (int i = 0; i < 3; i++)
		shmstat_sig_hit(w->t, "alpha", 5, 7, w->o1);
	for (int i = 0; i < 3; i++)
		shmstat_sig_miss(w->t, "beta", 4, w->o2);       /* filtered */
	sem_post(&done);                /* ready */
	while (sem_wait(&go) != 0)
		;
	shmstat_sig_hit(w->t, "beta", 4, 1, w->o2);     /* takes alpha's entry */
	shmstat_sig_miss(w->t, "beta", 4, w->o2);       /* writes beta's text */
	sem_post(&done);
	return NULL;
}

/* The segment @name mapped for writing (the test's own: it created it),
 * and the header of its table's one claimed summary; *@len for munmap. */
static struct shmstat_sigsum *claimed_summary(const char *name, unsigned char **base,
					       size_t *len, struct shmstat_sumgeo *g)
{
	struct shmstat_sigsum *found = NULL;
	const uint64_t *claims;
	unsigned char *sums;
	uint32_t pool;

	*base = su_map_segment(name, 1, len);
	assert_non_null(*base);
	sums = su_table_sums(*base, g, &claims, &pool);
	assert_non_null(sums);
	for (uint32_t k = 0; k < pool; k++)
		if (SHMSTAT_SUM_STATE(claims[k]) == SHMSTAT_SUM_OWNED) {
			assert_null(found);
			found = (struct shmstat_sigsum *)(void *)
				(sums + (SHMSTAT_SIG_GRAVES + k) * g->bytes);
		}
	assert_non_null(found);
	return found;
}

/* @split: the copy of alpha's entry to split, 0: none; @keep_seq: 0, the
 * summary's seq set to 0 (a writer that keeps none). */
static void run(int split, int keep_seq)
{
	const char *name = ut_name("sigsplit");
	struct shmstat_sigtab_opts to = su_topts(1, 16, 4, 2, 0);
	struct shmstat_metric_def def = { .name = METRIC };
	struct shmstat_opts o;
	struct writer w = { 0 };
	shmstat_seg *seg = NULL;
	shmstat_snap *s;
	shmstat_sigview *v;
	pthread_t th;
	char why[256] = "";

	ut_small_opts(&o);
	o.sig_bytes = shmstat_sigtab_bytes(&to);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &def, &to, &w.t), 0);
	assert_int_equal(shmstat_sig_owner(w.t, "o1", &w.o1), 0);
	assert_int_equal(shmstat_sig_owner(w.t, "o2", &w.o2), 0);
	alpha_hash = su_hash("alpha", 5);
	assert_int_equal(sem_init(&go, 0, 0), 0);
	assert_int_equal(sem_init(&done, 0, 0), 0);
	assert_int_equal(pthread_create(&th, NULL, writer_thread, &w), 0);
	while (sem_wait(&done) != 0)
		;
	if (!keep_seq) {
		unsigned char *base;
		size_t len;
		struct shmstat_sumgeo g;
		struct shmstat_sigsum *hdr = claimed_summary(name, &base, &len, &g);

		/* alpha's take: 2 at the claim, 4 after it */
		assert_int_equal(hdr->seq, 4);
		hdr->seq = 0;
		munmap(base, len);
	}
	split_done = 0;
	if (split) {
		armed = split;
	} else {
		sem_post(&go);
		while (sem_wait(&done) != 0)
			;
	}
	s = ut_snap(name);
	if (split && !split_done) {
		/* fewer copies than that: no split, let the writer go */
		armed = 0;
		sem_post(&go);
		while (sem_wait(&done) != 0)
			;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	/* a snapshot copies the entry at least once */
	if (split == 1)
		assert_int_equal(split_done, 1);
	v = su_view(s, METRIC);
	assert_non_null(v);
	assert_int_equal(shmstat_sigview_entries(v), 1);
	{
		struct shmstat_sigentry e;
		int is_alpha;

		assert_int_equal(shmstat_sigview_entry(v, 0, &e), 0);
		is_alpha = e.hash == alpha_hash;
		if (!is_alpha && e.hash != su_hash("beta", 4))
			snprintf(why, sizeof(why), "an entry of hash %016llx, neither alpha's nor "
				 "beta's", (unsigned long long)e.hash);
		else if ((e.full_len > 0 && su_hash(e.key, e.key_len) != e.hash) ||
			 strcmp(e.owner, is_alpha ? "o1" : "o2") != 0 ||
			 (is_alpha ? e.hits - e.err_hits > 3 || e.misses - e.err_misses > 0 :
			  e.hits - e.err_hits > 1 || e.misses - e.err_misses > 1))
			snprintf(why, sizeof(why), "the view holds an entry mixing two keys: hash "
				 "of %s, text '%.*s', owner '%s', hits %llu misses %llu (error %llu)",
				 is_alpha ? "alpha" : "beta", (int)e.key_len, e.key, e.owner,
				 (unsigned long long)e.hits, (unsigned long long)e.misses,
				 (unsigned long long)e.err_hits);
		if (split == 0 && !why[0]) {
			/* the test itself: the view as it should be */
			assert_false(is_alpha);
			assert_string_equal(e.key, "beta");
			assert_int_equal(e.hits, 1 + 3);
			assert_int_equal(e.misses, 1 + 3);
			assert_int_equal(e.err_hits, 3);
		}
	}
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
	sem_destroy(&go);
	sem_destroy(&done);
	assert_int_equal(shmstat_close(seg), 0);
	if (why[0])
		fail_msg("%s", why);
}

static void test_unsplit(void **state)
{
	(void)state;
	run(0, 1);
}

static void test_split_1(void **state)
{
	(void)state;
	run(1, 1);
}

static void test_long_1(void **state)
{
	(void)state;
	run(1, 0);
}

static void test_long_2(void **state)
{
	(void)state;
	run(2, 0);
}

static void test_long_3(void **state)
{
	(void)state;
	run(3, 0);
}

static void test_odd_gen(void **state)
{
	const char *name = ut_name("sigodd");
	struct shmstat_sigtab_opts to = su_topts(4, 16, 4, 1, 0);
	struct shmstat_metric_def def = { .name = METRIC };
	struct shmstat_sigstats st;
	struct shmstat_sigentry e;
	struct shmstat_sumgeo g;
	struct shmstat_opts o;
	struct shmstat_sigsum *hdr;
	struct shmstat_sigent *ents;
	shmstat_sigtab *t;
	shmstat_seg *seg = NULL;
	shmstat_snap *s;
	shmstat_sigview *v;
	unsigned char *base;
	size_t len;
	uint64_t seq;

	(void)state;
	ut_small_opts(&o);
	o.sig_bytes = shmstat_sigtab_bytes(&to);
	assert_int_equal(shmstat_open(name, &o, &seg), 0);
	assert_int_equal(shmstat_sigtab_register(seg, &def, &to, &t), 0);
	shmstat_sig_hit(t, "alpha", 5, 7, 0);
	shmstat_sig_hit(t, "beta", 4, 1, 0);
	hdr = claimed_summary(name, &base, &len, &g);
	ents = (struct shmstat_sigent *)(void *)((unsigned char *)hdr + g.off_ents);
	seq = hdr->seq;
	assert_int_equal(seq % 2, 0);
	assert_true(seq > 2);                   /* two takes */
	assert_int_equal(hdr->used, 2);
	assert_int_equal(ents[0].hash, su_hash("alpha", 5));
	ents[0].gen |= 1u;
	s = ut_snap(name);
	v = su_view(s, METRIC);
	assert_non_null(v);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(shmstat_sigview_entries(v), 1);
	assert_int_equal(shmstat_sigview_entry(v, 0, &e), 0);
	assert_string_equal(e.key, "beta");
	assert_int_equal(e.hits, 1);
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
	/* whole again: both */
	ents[0].gen++;
	s = ut_snap(name);
	v = su_view(s, METRIC);
	shmstat_sigview_stats(v, &st);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(shmstat_sigview_entries(v), 2);
	shmstat_sigview_free(v);
	shmstat_snap_free(s);
	munmap(base, len);
	assert_int_equal(shmstat_close(seg), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ut_setup, ut_teardown)
	const struct CMUnitTest tests[] = {
		T(test_unsplit),
		T(test_split_1),
		T(test_long_1),
		T(test_long_2),
		T(test_long_3),
		T(test_odd_gen),
	};

	return cmocka_run_group_tests_name("sig_shortread", tests, NULL, NULL);
}
