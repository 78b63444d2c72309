/*
 * test_remove_snap.c - snapshots stay consistent while metrics are
 * removed and their slots reused.
 *
 * P writer processes share metrics. Process p owns family p: it
 * registers gen_p{g="1",k=...}, adds k to it S times, registers the next
 * generation g+1, announces it (shared memory), removes g, and so on up
 * to generation G, which it keeps. Process p also helps family p+1: it
 * registers whatever generation is announced and adds that generation's k
 * to it, up to SH times, through its own handle. It looks at the
 * announcement, and quiesces, only every QH turns, as a program that
 * quiesces from time to time: it keeps writing through its handle after
 * the owner removed the generation, until then. The owner moves on from
 * g only once the helper has written to g (lockstep through shared
 * memory, not sleeps), so the helper's late writes happen in every
 * generation. So the grace period matters: a removed metric's slot is
 * written by another process until that process acknowledges (a grace
 * period that did not wait for it fails this test). Registration failing
 * with SHMSTAT_EFULL (the segment is tiny, reuse is constant) is retried
 * after a quiesce and a gc.
 *
 * Every generation's k is a prime larger than S + SH, and the prime of a
 * generation differs from its neighbours'. A metric's value, in any
 * snapshot, must be a multiple of its own k, at most k * (S + SH), and
 * must never go down for one reg_id; a reg_id never carries two names.
 * A slot reused while an old handle still writes into it, or not zeroed
 * before reuse, or a snapshot that pairs a descriptor with the values of
 * the metric that took its slot afterwards, all show up as a value that
 * is not a multiple of the name's k (or exceeds the bound).
 *
 * Readers: the parent process snapshots in a loop all along; a second
 * thread in every writer process counts a metric of its own (perm_p,
 * never removed) and takes snapshots between its updates, checked the
 * same way. At the end the last generations and perm_p hold exact values.
 *
 * test_register_while_quiescing: one thread registers while another
 * quiesces, under ThreadSanitizer.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "stress_common.h"

#define P 3                        /* writer processes = families */
#define G 400                      /* generations per family */
#define S 4                        /* owner's adds per generation */
#define SH 24                      /* helper's adds per generation (at most) */
#define QH 8                       /* a writer quiesces (and its helper looks
				    * for a new generation) every QH turns */
#define NPERM 3000                 /* perm_p's adds */
#define PERM_SNAP_EVERY 50         /* perm thread: a snapshot every so many adds */
#define RETRY_LIMIT 200000         /* loop turns one registration may wait */
#define RMAX (2 * P * G + P + 64)  /* bound on reg_ids */
#define TURN_LIMIT 50000000        /* a writer's loop turns, idle ones too */

static const unsigned primes[] = {
	37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109,
	113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193, 197, 199,
};
#define NPRIMES (sizeof(primes) / sizeof(primes[0]))

_Static_assert(37 > S + SH, "every k exceeds the most adds one generation gets");

static unsigned kprime(unsigned f, unsigned g)
{
	return primes[(g * 7u + f * 11u) % NPRIMES];
}

/* Shared between the writers (MAP_SHARED, set up before the forks). */
struct shared {
	uint64_t cur[P];           /* announced generation of family f */
	uint64_t helper_final[P];  /* helper's adds to family f's generation G */
	uint64_t seen[P];          /* generation of family f its helper writes */
};

/* ---------------------------------------------------------- checking */

struct checker {
	uint32_t *key_of;          /* reg_id -> 1 + f * (G + 1) + g, or perm */
	uint64_t *last;            /* reg_id -> last value seen */
	uint64_t snaps, gen_seen;
};

static int checker_init(struct checker *c)
{
	memset(c, 0, sizeof(*c));
	c->key_of = calloc(RMAX, sizeof(*c->key_of));
	c->last = calloc(RMAX, sizeof(*c->last));
	return c->key_of && c->last ? 0 : -1;
}

static void checker_free(struct checker *c)
{
	free(c->key_of);
	free(c->last);
}

/* Is @mi a generation metric gen_F{g="G",k="K"} (family < P, 1 <= G <=
 * G)? Then its numbers in *@f, *@g, *@k. */
static bool gen_of(const struct shmstat_metric_info *mi, unsigned *f, unsigned *g, unsigned *k)
{
	char tail;

	return sscanf(mi->name, "gen_%u%c", f, &tail) == 1 && *f < P &&
	       sscanf(mi->labels, "g=\"%u\",k=\"%u\"%c", g, k, &tail) == 2 &&
	       *g >= 1 && *g <= G;
}

/* Can a generation metric of prime @k hold @v: a multiple of @k, at most
 * S + SH of them? */
static bool gen_value_ok(uint64_t v, unsigned k)
{
	return k != 0 && v % k == 0 && v / k <= S + SH;
}

/* Append to @buf (@n bytes) what each process contributes to metric @i
 * of @s, and the writers that are gone: where a wrong value came from */
static void breakdown(const shmstat_snap *s, size_t i, char *buf, size_t n)
{
	const size_t np = shmstat_snap_procs(s);

	for (size_t j = 0; j <= np; j++) {
		const size_t pj = j < np ? j : SHMSTAT_PROC_GONE;
		struct shmstat_proc_info pi = { 0 };
		size_t used = strlen(buf);
		uint64_t v = 0;
		int64_t gv = 0;

		if (used + 1 >= n)
			return;
		if (pj != SHMSTAT_PROC_GONE && shmstat_snap_proc(s, pj, &pi) != 0)
			continue;
		if (shmstat_snap_metric_proc(s, i, pj, &v, &gv) != 0)
			continue;
		if (pj == SHMSTAT_PROC_GONE)
			snprintf(buf + used, n - used, "; gone: %llu", (unsigned long long)v);
		else
			snprintf(buf + used, n - used, "; pid %d: %llu", (int)pi.pid,
				 (unsigned long long)v);
	}
}

/* Append to @buf (@n bytes) the generation metrics of @s after metric
 * @i whose values are wrong too: the same value under two names would
 * be one value slot given to two metrics */
static void also_wrong(const shmstat_snap *s, size_t i, char *buf, size_t n)
{
	for (size_t j = i + 1; j < shmstat_snap_metrics(s); j++) {
		struct shmstat_metric_info mi;
		unsigned f, g, k;
		size_t used = strlen(buf);

		if (used + 1 >= n)
			return;
		if (shmstat_snap_metric(s, j, &mi) != 0 || !gen_of(&mi, &f, &g, &k) ||
		    gen_value_ok(mi.counter, k))
			continue;
		snprintf(buf + used, n - used, "; also %s{%s} (reg_id %llu) = %llu", mi.name,
			 mi.labels, (unsigned long long)mi.reg_id, (unsigned long long)mi.counter);
	}
}

/* Check one snapshot; NULL or what is wrong (in @buf). */
static const char *check_snap(struct checker *c, const shmstat_snap *s, char *buf, size_t n)
{
	size_t nm = shmstat_snap_metrics(s);

	c->snaps++;
	for (size_t i = 0; i < nm; i++) {
		struct shmstat_metric_info mi;
		unsigned f, g, k, p;
		uint32_t key;
		char tail;

		if (shmstat_snap_metric(s, i, &mi) != 0) {
			snprintf(buf, n, "shmstat_snap_metric(%zu) failed", i);
			return buf;
		}
		if (mi.reg_id == 0 || mi.reg_id >= RMAX) {
			snprintf(buf, n, "%s{%s}: reg_id %llu out of range", mi.name, mi.labels,
				 (unsigned long long)mi.reg_id);
			return buf;
		}
		if (mi.type != SHMSTAT_COUNTER) {
			snprintf(buf, n, "%s{%s}: type %d", mi.name, mi.labels, (int)mi.type);
			return buf;
		}
		if (sscanf(mi.name, "perm_%u%c", &p, &tail) == 1 && p < P && mi.labels[0] == '\0') {
			key = 1u + P * (G + 1) + p;
			if (mi.counter > NPERM) {
				snprintf(buf, n, "%s = %llu > %d", mi.name,
					 (unsigned long long)mi.counter, NPERM);
				return buf;
			}
		} else if (gen_of(&mi, &f, &g, &k)) {
			key = 1u + f * (G + 1) + g;
			c->gen_seen++;
			if (k != kprime(f, g)) {
				snprintf(buf, n, "%s{%s}: k should be %u", mi.name, mi.labels,
					 kprime(f, g));
				return buf;
			}
			if (!gen_value_ok(mi.counter, k)) {
				snprintf(buf, n,
					 "%s{%s} (reg_id %llu) = %llu: not a multiple of %u "
					 "at most %u times: values of another metric under this name",
					 mi.name, mi.labels, (unsigned long long)mi.reg_id,
					 (unsigned long long)mi.counter, k, S + SH);
				breakdown(s, i, buf, n);
				also_wrong(s, i, buf, n);
				return buf;
			}
		} else {
			snprintf(buf, n, "unexpected metric %s{%s}", mi.name, mi.labels);
			return buf;
		}
		if (c->key_of[mi.reg_id] == 0) {
			c->key_of[mi.reg_id] = key;
		} else if (c->key_of[mi.reg_id] != key) {
			snprintf(buf, n, "reg_id %llu shown under two names (now %s{%s})",
				 (unsigned long long)mi.reg_id, mi.name, mi.labels);
			return buf;
		}
		if (mi.counter < c->last[mi.reg_id]) {
			snprintf(buf, n, "%s{%s} (reg_id %llu) went down: %llu after %llu", mi.name,
				 mi.labels, (unsigned long long)mi.reg_id,
				 (unsigned long long)mi.counter,
				 (unsigned long long)c->last[mi.reg_id]);
			return buf;
		}
		c->last[mi.reg_id] = mi.counter;
	}
	return NULL;
}

/* ----------------------------------------------------------- writers */

struct wargs {
	const char *name;
	int p;
	struct shared *sh;
};

static void gen_labels(char *gbuf, char *kbuf, unsigned f, unsigned g)
{
	snprintf(gbuf, 16, "%u", g);
	snprintf(kbuf, 16, "%u", kprime(f, g));
}

static int reg_gen(shmstat_seg *seg, unsigned f, unsigned g, shmstat_counter **c)
{
	char name[16], gb[16], kb[16];
	const char *labels[] = { "g", gb, "k", kb, NULL };
	const struct shmstat_metric_def def = { .name = name, .labels = labels };

	snprintf(name, sizeof(name), "gen_%u", f);
	gen_labels(gb, kb, f, g);
	return shmstat_counter_register(seg, &def, c);
}

static int remove_gen(shmstat_seg *seg, unsigned f, unsigned g)
{
	char name[16], gb[16], kb[16];
	const char *labels[] = { "g", gb, "k", kb, NULL };
	const struct shmstat_metric_def def = { .name = name, .labels = labels };

	snprintf(name, sizeof(name), "gen_%u", f);
	gen_labels(gb, kb, f, g);
	return shmstat_remove(seg, &def);
}

struct perm_args {
	shmstat_seg *seg;
	const char *name;
	int p;
	int failed;
	shmstat_counter *c;        /* perm_p, registered by the main thread */
};

/* The second thread of a writer: its own metric, and snapshots. */
static void *perm_thread(void *arg)
{
	struct perm_args *pa = arg;
	char why[1024];
	struct checker ck;
	shmstat_reader *r = NULL;
	shmstat_counter *c = pa->c;
	const char *bad;

	if (checker_init(&ck) != 0 || shmstat_reader_open(pa->name, &r) != 0) {
		pa->failed = 1;
		return NULL;
	}
	for (int i = 0; i < NPERM; i++) {
		shmstat_counter_inc(c);
		if (i % PERM_SNAP_EVERY == 0) {
			shmstat_snap *s = NULL;
			int err = shmstat_snapshot(r, &s);

			if (err == SHMSTAT_EBUSY)
				continue;
			if (err) {
				fprintf(stderr, "perm_%d: snapshot: %s\n", pa->p, shmstat_last_error());
				pa->failed = 1;
				goto out;
			}
			bad = check_snap(&ck, s, why, sizeof(why));
			shmstat_snap_free(s);
			if (bad) {
				fprintf(stderr, "perm_%d reader: %s\n", pa->p, bad);
				pa->failed = 1;
				goto out;
			}
		}
	}
out:
	shmstat_reader_close(r);
	checker_free(&ck);
	return NULL;
}

static int writer(void *arg)
{
	const struct wargs *w = arg;
	struct shared *sh = w->sh;
	const unsigned fo = (unsigned)w->p, fh = (unsigned)(w->p + 1) % P;
	struct perm_args pa = { .name = w->name, .p = w->p };
	shmstat_seg *seg = NULL;
	shmstat_counter *own = NULL, *help = NULL;
	unsigned g_own = 0, steps_own = 0, g_help = 0, steps_help = 0;
	unsigned long turn = 0, waiting = 0, waiting_h = 0;
	bool owner_done = false, helper_done = false;
	pthread_t th;

	CHILD_CHECK(shmstat_open(w->name, NULL, &seg) == 0);
	pa.seg = seg;
	/* registered here: registering in one thread while another
	 * quiesces is test_register_while_quiescing's subject */
	{
		char n[16];
		const struct shmstat_metric_def def = { .name = n };
		int err, tries = 0;

		snprintf(n, sizeof(n), "perm_%d", w->p);
		/* the others may hold every slot for now (removed metrics
		 * wait for their grace period) */
		while ((err = shmstat_counter_register(seg, &def, &pa.c)) == SHMSTAT_EFULL) {
			CHILD_CHECK(++tries < RETRY_LIMIT);
			CHILD_CHECK(shmstat_quiesce(seg) == 0);   /* or we hold them */
			CHILD_CHECK(shmstat_gc(w->name, NULL) == 0);
		}
		CHILD_CHECK(err == 0);
	}
	CHILD_CHECK(pthread_create(&th, NULL, perm_thread, &pa) == 0);
	while (!owner_done || !helper_done) {
		CHILD_CHECK(++turn < TURN_LIMIT);
		if (turn % 8 == 0)
			CHILD_CHECK(shmstat_gc(w->name, NULL) == 0);

		/* owner of family fo */
		if (!owner_done) {
			if (g_own > 0 && steps_own < S) {
				shmstat_counter_add(own, kprime(fo, g_own));
				steps_own++;
			} else if (g_own > 0 && g_own < G &&
				   __atomic_load_n(&sh->seen[fo], __ATOMIC_SEQ_CST) < g_own) {
				/* the helper has not written to g yet: let it */
				sched_yield();
			} else if (g_own < G) {
				{
					shmstat_counter *next;
					int err = reg_gen(seg, fo, g_own + 1, &next);

					if (err == SHMSTAT_EFULL) {
						CHILD_CHECK(++waiting < RETRY_LIMIT);
						CHILD_CHECK(shmstat_quiesce(seg) == 0);
						CHILD_CHECK(shmstat_gc(w->name, NULL) == 0);
					} else {
						CHILD_CHECK(err == 0);
						waiting = 0;
						/* announced before the removal: a helper
						 * whose registration finds g removed (and
						 * makes a new one) sees g + 1 after it */
						__atomic_store_n(&sh->cur[fo], g_own + 1, __ATOMIC_SEQ_CST);
						if (g_own > 0) {
							/* the helper may have removed it
							 * first (as a stale registration) */
							err = remove_gen(seg, fo, g_own);
							CHILD_CHECK(err == 0 || err == ENOENT);
						}
						g_own++;
						steps_own = 0;
						own = next;
					}
				}
			} else {
				owner_done = true;
			}
		}

		/* helper of family fh */
		if (!helper_done) {
			const bool sync = turn % QH == 0;
			unsigned g = sync ? (unsigned)__atomic_load_n(&sh->cur[fh], __ATOMIC_SEQ_CST)
					  : g_help;

			if (g != 0 && g != g_help) {
				shmstat_counter *h;
				int err;

				CHILD_CHECK(shmstat_quiesce(seg) == 0);
				err = reg_gen(seg, fh, g, &h);
				if (err == 0) {
					waiting_h = 0;
					if (__atomic_load_n(&sh->cur[fh], __ATOMIC_SEQ_CST) != g) {
						/* the owner removed g meanwhile: this
						 * registration made a new, stale one
						 * (the lockstep prevents it; kept in
						 * case) */
						err = remove_gen(seg, fh, g);
						CHILD_CHECK(err == 0 || err == ENOENT);
						h = NULL;
					}
					g_help = g;
					help = h;
					steps_help = 0;
				} else {
					CHILD_CHECK(err == SHMSTAT_EFULL);
					CHILD_CHECK(++waiting_h < RETRY_LIMIT);
				}
			} else if (help != NULL && steps_help < SH) {
				shmstat_counter_add(help, kprime(fh, g_help));
				if (steps_help++ == 0)
					__atomic_store_n(&sh->seen[fh], g_help, __ATOMIC_SEQ_CST);
				if (g_help == G)
					__atomic_store_n(&sh->helper_final[fh], steps_help,
							 __ATOMIC_SEQ_CST);
			}
			if (g_help == G && steps_help == SH)
				helper_done = true;
		}
		if (turn % QH == 0)
			CHILD_CHECK(shmstat_quiesce(seg) == 0);
	}
	CHILD_CHECK(pthread_join(th, NULL) == 0);
	CHILD_CHECK(!pa.failed);
	CHILD_CHECK(shmstat_close(seg) == 0);
	return 0;
}

/* -------------------------------------------------------------- test */

static void test_snapshots_during_reuse(void **state)
{
	const char *name = stress_name("rmsnap");
	struct shmstat_opts o;
	struct shared *sh;
	struct wargs w[P];
	struct checker ck;
	struct shmstat_seg_info info;
	shmstat_reader *r;
	shmstat_snap *s;
	pid_t pid[P];
	int done[2];
	uint64_t busy = 0;
	char why[1024], wpids[128] = "";
	bool running = true;

	(void)state;
	shmstat_opts_init(&o);
	o.max_procs = 8;
	o.max_metrics = 16;
	o.max_values = 12;         /* 3 perm + at most 2 live per family + 3 */
	o.max_threads = 16;
	o.sig_bytes = 0;           /* nothing to copy but metrics: fast snapshots */
	stress_create(name, &o);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	stress_pipe(done);
	for (int p = 0; p < P; p++) {
		w[p] = (struct wargs){ .name = name, .p = p, .sh = sh };
		pid[p] = stress_spawn(writer, &w[p]);
		/* for a failure's message: writer p owns family p and
		 * helps family p + 1 */
		snprintf(wpids + strlen(wpids), sizeof(wpids) - strlen(wpids), "%s%d=pid %d",
			 p ? ", " : "", p, (int)pid[p]);
	}
	close(done[1]);            /* EOF on done[0] once every writer exited */

	assert_int_equal(checker_init(&ck), 0);
	assert_int_equal(shmstat_reader_open(name, &r), 0);
	while (running) {
		struct pollfd pfd = { .fd = done[0], .events = POLLIN };
		const char *bad;
		int err;

		if (poll(&pfd, 1, 0) > 0)
			running = false;   /* one more snapshot, then stop */
		/* a writer that failed: stop at once (the others may wait
		 * for its announcements) */
		for (int p = 0; p < P; p++) {
			int st;

			if (pid[p] > 0 && waitpid(pid[p], &st, WNOHANG) == pid[p]) {
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					fail_msg("writer %d failed (status 0x%x)", p, st);
				pid[p] = 0;
			}
		}
		err = shmstat_snapshot(r, &s);
		if (err == SHMSTAT_EBUSY) {
			busy++;
			continue;
		}
		if (err)
			fail_msg("snapshot: %s: %s", shmstat_strerror(err), shmstat_last_error());
		bad = check_snap(&ck, s, why, sizeof(why));
		shmstat_snap_free(s);
		if (bad)
			fail_msg("snapshot %llu: %s (writers %s)", (unsigned long long)ck.snaps, bad,
				 wpids);
	}
	close(done[0]);
	for (int p = 0; p < P; p++) {
		int st = pid[p] > 0 ? stress_wait(pid[p]) : 0;

		if (st != 0)
			fail_msg("writer %d exited with status %d", p, st);
	}
	shmstat_reader_close(r);
	print_message("remove_snap: %llu snapshots checked (%llu generation metrics in them), "
		      "%llu busy\n", (unsigned long long)ck.snaps,
		      (unsigned long long)ck.gen_seen, (unsigned long long)busy);

	/* the end: the last generations and perm_p, exact */
	assert_int_equal(shmstat_gc(name, NULL), 0);
	s = stress_snap(name);
	assert_null(check_snap(&ck, s, why, sizeof(why)));
	shmstat_snap_info(s, &info);
	assert_int_equal(info.metrics, 2 * P);
	assert_int_equal(info.writers_alive, 0);
	assert_true(info.values_used <= 12);
	for (unsigned f = 0; f < P; f++) {
		char n[16], l[64];
		struct shmstat_metric_info mi;

		snprintf(n, sizeof(n), "gen_%u", f);
		snprintf(l, sizeof(l), "g=\"%u\",k=\"%u\"", G, kprime(f, G));
		assert_int_equal(sh->helper_final[f], SH);
		assert_true(stress_find(s, n, l, &mi) >= 0);
		assert_int_equal(mi.counter, (uint64_t)kprime(f, G) * (S + SH));
		/* P * G generations went through 16 descriptors */
		assert_true(mi.reg_id >= G);
		snprintf(n, sizeof(n), "perm_%u", f);
		assert_int_equal(stress_counter(s, n, ""), NPERM);
	}
	shmstat_snap_free(s);
	checker_free(&ck);
	munmap(sh, sizeof(*sh));
}

/* ------------------------------------------------------------------ */

#define RQ_N 100                   /* rounds */

struct rq_args {
	const char *name;
	shmstat_seg *seg;
	int published;             /* rounds whose metric thread a registered */
	int quiesced;              /* rounds thread b quiesced after that */
};

/* Thread a: in round i, register rq_a_i (a new handle in this process's
 * index) and add 2 to it, then tell thread b. The flag is relaxed on
 * purpose: it orders nothing for ThreadSanitizer, so that b's reads of
 * the new handle are ordered only by what the library itself provides
 * (liburcu's publication, and its ThreadSanitizer annotations of it),
 * as they are when b just happens to quiesce after a registered. */
static void *rq_register(void *arg)
{
	struct rq_args *a = arg;

	for (int i = 1; i <= RQ_N; i++) {
		char n[32];
		const struct shmstat_metric_def def = { .name = n };
		shmstat_counter *c;

		snprintf(n, sizeof(n), "rq_a_%d", i);
		CHILD_CHECK(shmstat_counter_register(a->seg, &def, &c) == 0);
		shmstat_counter_add(c, 2);
		__atomic_store_n(&a->published, i, __ATOMIC_RELAXED);
		while (__atomic_load_n(&a->quiesced, __ATOMIC_RELAXED) < i)
			sched_yield();
	}
	return NULL;
}

/* Thread b: once round i's metric is registered, quiesce: in odd rounds
 * by shmstat_quiesce(), in even ones inside shmstat_remove() of a metric
 * of its own; a gc now and then reclaims those. */
static void *rq_quiesce(void *arg)
{
	struct rq_args *a = arg;

	for (int i = 1; i <= RQ_N; i++) {
		while (__atomic_load_n(&a->published, __ATOMIC_RELAXED) < i)
			sched_yield();
		if (i % 2) {
			CHILD_CHECK(shmstat_quiesce(a->seg) == 0);
		} else {
			char n[32];
			const struct shmstat_metric_def def = { .name = n };
			shmstat_counter *c;

			snprintf(n, sizeof(n), "rq_b_%d", i);
			CHILD_CHECK(shmstat_counter_register(a->seg, &def, &c) == 0);
			shmstat_counter_add(c, 2);
			CHILD_CHECK(shmstat_remove(a->seg, &def) == 0);
		}
		if (i % 16 == 0)
			CHILD_CHECK(shmstat_gc(a->name, NULL) == 0);
		__atomic_store_n(&a->quiesced, i, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int rq_child(void *arg)
{
	struct rq_args a = { .name = arg };
	pthread_t ta, tb;

	CHILD_CHECK(shmstat_open(arg, NULL, &a.seg) == 0);
	CHILD_CHECK(pthread_create(&tb, NULL, rq_quiesce, &a) == 0);
	CHILD_CHECK(pthread_create(&ta, NULL, rq_register, &a) == 0);
	CHILD_CHECK(pthread_join(ta, NULL) == 0);
	CHILD_CHECK(pthread_join(tb, NULL) == 0);
	CHILD_CHECK(shmstat_close(a.seg) == 0);
	return 0;
}

/* Registering in one thread while another quiesces (in its
 * shmstat_remove() and on its own) is allowed; under ThreadSanitizer it
 * must report nothing (a report ends the child with status 66). Run in a
 * child, so that this process stays single-threaded for the other
 * test's forks. */
static void test_register_while_quiescing(void **state)
{
	const char *name = stress_name("rmrq");
	struct shmstat_opts o;
	shmstat_snap *s;
	struct shmstat_seg_info info;
	pid_t pid;
	int st;

	(void)state;
	shmstat_opts_init(&o);
	o.max_procs = 4;
	o.max_metrics = 256;
	o.max_values = 256;
	o.max_threads = 8;
	o.sig_bytes = 0;
	stress_create(name, &o);
	pid = stress_spawn(rq_child, (void *)name);
	st = stress_wait(pid);
	if (st != 0)
		fail_msg("the child exited with status %d%s", st,
			 st == 66 ? " (ThreadSanitizer reported a data race)" : "");
	assert_int_equal(shmstat_gc(name, NULL), 0);
	s = stress_snap(name);
	shmstat_snap_info(s, &info);
	assert_int_equal(info.metrics, RQ_N);
	for (int i = 1; i <= RQ_N; i++) {
		char n[32];

		snprintf(n, sizeof(n), "rq_a_%d", i);
		assert_int_equal(stress_counter(s, n, ""), 2);
	}
	assert_int_equal(info.dropped_regs, 0);
	shmstat_snap_free(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snapshots_during_reuse, stress_setup,
						stress_teardown),
		cmocka_unit_test_setup_teardown(test_register_while_quiescing, stress_setup,
						stress_teardown),
	};

	stress_args(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
