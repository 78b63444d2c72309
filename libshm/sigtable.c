/*
 * sigtable.c - signature tables: registration, the event path (a
 * thread's own Space-Saving summary), and what the reaper does for a
 * gone process (merge its summaries into the grave, give them back).
 * The algorithm and its bounds are in sigtable.h; merging in sigmerge.c,
 * owners in sigowner.c.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "shmstat.h"
#include "grace.h"
#include "procs.h"
#include "registry.h"
#include "sigmerge.h"
#include "sigtable.h"
#include "type.h"

#define GOLDEN UINT64_C(0x9E3779B97F4A7C15)
/* another odd multiplier: a key's filter counter independent of its slot */
#define FILTER_MUL UINT64_C(0xC2B2AE3D27D4EB4F)
/* a stripe without a summary asks the pool again every this many events,
 * after each fold (which gives summaries back) and at the first event of
 * each thread that takes it: its slot [6] then holds ASKED, the asking
 * thread's id (bits 31..62) and the low 31 bits of fold_seq */
#define CLAIM_RETRY 4096u
#define ASKED (UINT64_C(1) << 63)
#define ASKED_SEQ ((UINT64_C(1) << 31) - 1)
#define ASKED_WORD(id, seq) (ASKED | (uint64_t)(id) << 31 | ((seq) & ASKED_SEQ))

/* This thread's id for ASKED, from 1 (0: none yet; reused after 2^32
 * threads): a thread that takes a stripe another left without a summary
 * sees another id there and asks at its first event (an idle summary of
 * its process may be its to take). */
static __thread uint32_t sig_thread_id __attribute__((tls_model("initial-exec")));
static uint32_t sig_thread_ids;

static uint32_t thread_id(void)
{
	if (sig_thread_id == 0) {
		uint32_t id;

		do
			id = add_relaxed(&sig_thread_ids, 1) + 1;
		while (id == 0);
		sig_thread_id = id;
	}
	return sig_thread_id;
}

/* a summary reads the clock once every this many of its events: an
 * event's time (first and last seen) is the clock at one of the last
 * this many events of its thread, late by the time between them */
#define SHMSTAT_SIG_TICK 16u

struct shmstat_sigtab shmstat__noop_sigtab = {
	.c = { .epoch = SHMSTAT_EPOCH_NONE },
};

/* ----------------------------------------------------------- registration */

void shmstat_sigtab_opts_init(struct shmstat_sigtab_opts *o)
{
	o->capacity = 2048;
	o->key_bytes = 128;
	o->owners = 64;
	o->summaries = 8;
	o->ttl_ns = UINT64_C(600) * 1000000000u;
}

uint64_t shmstat_sigtab_bytes(const struct shmstat_sigtab_opts *o)
{
	if (o == NULL || !shmstat__sig_shape_ok(o->capacity, o->key_bytes, o->owners, o->summaries) ||
	    o->ttl_ns / 1000000u + (o->ttl_ns % 1000000u != 0) > UINT32_MAX)
		return 0;
	return shmstat__sig_lines(o->capacity, o->key_bytes, o->owners, o->summaries) *
	       SHMSTAT_LINE;
}

int shmstat_sigtab_register(shmstat_seg *seg, const struct shmstat_metric_def *def,
			    const struct shmstat_sigtab_opts *opts, shmstat_sigtab **out)
{
	struct shmstat_sigtab_opts o;
	struct shmstat_shape shape = { .type = SHMSTAT_SIGTABLE };
	struct shmstat_counter *c;
	uint64_t ttl_ms;
	int err;

	*out = &shmstat__noop_sigtab;
	if (opts == NULL) {
		shmstat_sigtab_opts_init(&o);
		opts = &o;
	}
	if (opts->capacity < 1 || opts->capacity > SHMSTAT_SIG_MAX_CAPACITY)
		return shmstat__fail(EINVAL, "signature table capacity must be 1 to %u, not %u",
				     SHMSTAT_SIG_MAX_CAPACITY, opts->capacity);
	if (opts->key_bytes < 8 || opts->key_bytes > SHMSTAT_SIG_MAX_KEYBYTES ||
	    opts->key_bytes % 8 != 0)
		return shmstat__fail(EINVAL,
				     "signature key bytes must be a multiple of 8 from 8 to %u, not %u",
				     SHMSTAT_SIG_MAX_KEYBYTES, opts->key_bytes);
	if (opts->owners > SHMSTAT_SIG_MAX_OWNERS)
		return shmstat__fail(EINVAL, "signature table owners must be 0 to %u, not %u",
				     SHMSTAT_SIG_MAX_OWNERS, opts->owners);
	if (opts->summaries < 1 || opts->summaries > SHMSTAT_SIG_MAX_POOL)
		return shmstat__fail(EINVAL, "signature table summaries must be 1 to %u, not %u",
				     SHMSTAT_SIG_MAX_POOL, opts->summaries);
	/* kept in milliseconds, rounded up: a shorter TTL is 1 ms, not
	 * "none", and one that does not fit is refused, not wrapped */
	ttl_ms = opts->ttl_ns / 1000000u + (opts->ttl_ns % 1000000u != 0);
	if (ttl_ms > UINT32_MAX)
		return shmstat__fail(EINVAL, "signature table ttl is longer than %u ms", UINT32_MAX);
	shape.sig_capacity = opts->capacity;
	shape.sig_keybytes = (uint16_t)opts->key_bytes;
	shape.sig_owners = (uint16_t)opts->owners;
	shape.sig_pool = opts->summaries;
	shape.sig_ttl_ms = (uint32_t)ttl_ms;
	shape.nvalues = SHMSTAT_S_NVALUES(opts->owners);
	shape.lines = shmstat__sig_lines(shape.sig_capacity, shape.sig_keybytes, shape.sig_owners,
					 shape.sig_pool);
	err = shmstat__register(seg, def, &shape, &c);
	if (!err)
		*out = (struct shmstat_sigtab *)(void *)c;
	return err;
}

void shmstat__sigtab_init(struct shmstat_sigtab *t, struct shmstat_seg *seg,
			  const struct shmstat_shape *sh)
{
	unsigned char *run = (unsigned char *)seg->sigs + (size_t)sh->sig_first * SHMSTAT_LINE;
	shmstat__sumgeo(&t->g, sh->sig_capacity, sh->sig_keybytes);
	t->claims = (uint64_t *)(void *)run;
	run += shmstat__sig_claim_lines(sh->sig_pool) * SHMSTAT_LINE;
	t->owners = (struct shmstat_sigowner *)(void *)run;
	t->sums = run + shmstat__sig_owner_lines(sh->sig_owners) * SHMSTAT_LINE;
	t->npool = sh->sig_pool;
	t->nowners = sh->sig_owners;
	/* both powers of two (siggeo.h) */
	t->shift = 64 - (uint32_t)__builtin_ctz(t->g.nslots);
	t->fshift = 64 - (uint32_t)__builtin_ctz(t->g.nfilter);
	t->ttl_ns = (uint64_t)sh->sig_ttl_ms * 1000000u;
}

/* --------------------------------------------------------------- summaries */

static inline unsigned char *sum_at(const struct shmstat_sigtab *t, uint64_t i)
{
	return t->sums + (size_t)i * t->g.bytes;
}

static inline uint32_t *slots_of(unsigned char *s)
{
	return (uint32_t *)(void *)(s + sizeof(struct shmstat_sigsum));
}

static inline struct shmstat_sigent *ents_of(const struct shmstat_sigtab *t, unsigned char *s)
{
	return (struct shmstat_sigent *)(void *)(s + t->g.off_ents);
}

static inline unsigned char *key_of(const struct shmstat_sigtab *t, unsigned char *s, uint32_t i)
{
	return s + t->g.off_keys + (size_t)i * t->g.keyrec;
}

static inline uint32_t *next_of(const struct shmstat_sigtab *t, unsigned char *s)
{
	return (uint32_t *)(void *)(s + t->g.off_next);
}

static inline uint32_t *heads_of(const struct shmstat_sigtab *t, unsigned char *s)
{
	return (uint32_t *)(void *)(s + t->g.off_heads);
}

/* The admission filter's counter of a key with hash @hash. */
static inline uint32_t *filter_of(const struct shmstat_sigtab *t, unsigned char *s,
				  uint64_t hash)
{
	return (uint32_t *)(void *)(s + t->g.off_filter) + ((hash * FILTER_MUL) >> t->fshift);
}

/* A key's place in the index, from its hash: its home slot (the high
 * bits of a multiplicative hash: any 64-bit hash will do) and a 12-bit
 * tag from other bits, never 0. */
static inline uint32_t slot_tag(uint64_t x)
{
	return ((uint32_t)(x >> 20) & 0xfffu) << 20 | 1u << 20;
}

static inline uint64_t ent_count(const struct shmstat_sigent *e)
{
	return e->hits + e->misses + e->err;
}

/* Rebuild the index of summary @s from its entries: the slots of
 * evicted keys go. */
static void rebuild(const struct shmstat_sigtab *t, unsigned char *s)
{
	struct shmstat_sigsum *hdr = (struct shmstat_sigsum *)(void *)s;
	const struct shmstat_sigent *ents = ents_of(t, s);
	uint32_t *slots = slots_of(s);
	const uint32_t mask = t->g.nslots - 1;
	const uint64_t used = hdr->used < t->g.capacity ? hdr->used : t->g.capacity;

	memset(slots, 0, (size_t)t->g.nslots * 4);
	for (uint32_t i = 0; i < used; i++) {
		const uint64_t x = ents[i].hash * GOLDEN;
		uint32_t p = (uint32_t)(x >> t->shift), n = 0;

		/* bounded: only another process's writes fill it */
		while (slots[p] != 0 && n++ < mask)
			p = (p + 1) & mask;
		if (slots[p] == 0)
			slots[p] = slot_tag(x) | i;
	}
	hdr->slots_used = used;
	hdr->rebuilds++;
}

/* Put entry @j (count @c) in the list of its count, if in the window;
 * list heads and links hold entry + 1, 0 ending a list. */
static inline void list_push(struct shmstat_sigsum *hdr, uint32_t *next, uint32_t *heads,
			     uint32_t j, uint64_t c)
{
	/* lists is at most SHMSTAT_SIG_LEVELS unless another process of
	 * the uid wrote it: heads[] has no more */
	if (c >= hdr->level && c - hdr->level < hdr->lists && c - hdr->level < SHMSTAT_SIG_LEVELS) {
		uint32_t l = (uint32_t)(c - hdr->level);

		next[j] = heads[l];
		heads[l] = j + 1;
	}
}

/* The entry with the fewest events (sigtable.h: the lists by count). */
static uint32_t pop_min(const struct shmstat_sigtab *t, unsigned char *s)
{
	struct shmstat_sigsum *hdr = (struct shmstat_sigsum *)(void *)s;
	const struct shmstat_sigent *ents = ents_of(t, s);
	uint32_t *next = next_of(t, s), *heads = heads_of(t, s);
	const uint32_t cap = t->g.capacity;
	uint32_t arg = 0;

	/* Bounded whatever the summary holds (another process of the uid
	 * may write it: lists = 2^32 - 1 walked for minutes): a walk takes
	 * at most (C + 1) x SHMSTAT_SIG_LEVELS steps, then a pass rebuilds
	 * the lists; if they give no minimum then, that pass's does. */
	for (uint32_t pass = 0;; pass++) {
		uint64_t min = UINT64_MAX, steps = 0;

		if (hdr->lists > SHMSTAT_SIG_LEVELS)
			hdr->lists = 0;
		while (hdr->lists > 0 && steps++ < ((uint64_t)cap + 1) * SHMSTAT_SIG_LEVELS) {
			uint32_t h = heads[0];

			if (h == 0 || h > cap) {
				/* this count's list is done: the window moves */
				memmove(heads, heads + 1, (SHMSTAT_SIG_LEVELS - 1) * sizeof(*heads));
				heads[SHMSTAT_SIG_LEVELS - 1] = 0;
				hdr->lists--;
				hdr->level++;
				continue;
			}
			heads[0] = next[h - 1] <= cap ? next[h - 1] : 0;
			if (ent_count(&ents[h - 1]) == hdr->level) {
				/* the next victim, likely: in the cache by then */
				if (heads[0])
					__builtin_prefetch(&ents[heads[0] - 1], 1);
				return h - 1;
			}
			/* its count grew since: to the list of its count now */
			list_push(hdr, next, heads, h - 1, ent_count(&ents[h - 1]));
		}
		if (pass > 0)
			return arg;
		/* one pass: the minimum, and the lists of the window above it */
		hdr->rescans++;
		for (uint32_t j = 0; j < cap; j++)
			if (ent_count(&ents[j]) < min) {
				min = ent_count(&ents[j]);
				arg = j;
			}
		memset(heads, 0, SHMSTAT_SIG_LEVELS * sizeof(*heads));
		hdr->level = min;
		hdr->lists = SHMSTAT_SIG_LEVELS;
		for (uint32_t j = cap; j-- > 0;)
			list_push(hdr, next, heads, j, ent_count(&ents[j]));
	}
}

struct event {
	uint64_t hash, hits, misses, weight;
	const void *key;
	size_t len;
	uint32_t owner;
};

static uint64_t coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The time events of summary @s are stamped with: the clock, read once
 * every SHMSTAT_SIG_TICK events. */
static inline uint64_t tick(struct shmstat_sigsum *hdr)
{
	if (unlikely(hdr->tick_left == 0)) {
		hdr->tick_ns = coarse_now();
		hdr->tick_left = SHMSTAT_SIG_TICK;
	}
	hdr->tick_left--;
	return hdr->tick_ns;
}

/* Write the key's bytes of entry @i (its current key, @ev's), then say
 * so in its flags: a reader that sees the flag sees the bytes. The empty
 * key may come as NULL, which memcpy() must not be given. */
static void put_key(const struct shmstat_sigtab *t, unsigned char *s, struct shmstat_sigent *e,
		    uint32_t i, const struct event *ev)
{
	unsigned char *kr = key_of(t, s, i);
	struct shmstat_sigkeyrec rec = { .len = ev->len > UINT32_MAX ? UINT32_MAX : (uint32_t)ev->len };

	memcpy(kr, &rec, sizeof(rec));
	if (ev->len)
		memcpy(kr + sizeof(rec), ev->key, ev->len < t->g.keybytes ? ev->len : t->g.keybytes);
	st_release(&e->flags, (uint16_t)(e->flags | SHMSTAT_SIGENT_F_KEY));
}

/* A key summary @s does not hold: a free entry while there is one (the
 * key's bytes too), else victim @i, the entry with the fewest events,
 * whose count @m the key takes as its error (its bytes wait for its
 * second event); its slot is @p, the first free one of its run. Readers
 * see the entry torn (its gen odd) until it is whole. */
static void take(const struct shmstat_sigtab *t, unsigned char *s, const struct event *ev,
		 uint64_t *vals, uint32_t p, uint32_t i, uint64_t m)
{
	struct shmstat_sigsum *hdr = (struct shmstat_sigsum *)(void *)s;
	struct shmstat_sigent *e;
	uint32_t *slots = slots_of(s);
	const uint64_t x = ev->hash * GOLDEN, now = tick(hdr);
	uint64_t err = 0, used = hdr->used;
	bool fresh = used < t->g.capacity;

	/* seq odd before anything a reader copies changes (a release
	 * fence: store-store), even again once the entry is whole */
	st_relaxed(&hdr->seq, hdr->seq + 1);
	shmstat__fence(__ATOMIC_RELEASE);
	if (fresh) {
		i = (uint32_t)used;
		e = &ents_of(t, s)[i];
		/* odd while being written; |1, not +1: a summary back from
		 * the pool may hold an odd gen its writer was killed with */
		st_relaxed(&e->gen, e->gen | 1u);
		st_release(&hdr->used, used + 1);
	} else {
		uint32_t *vf;

		e = &ents_of(t, s)[i];
		/* the newcomer had at most m events, as every key out of the
		 * summary (its filter counter, which admitted it, is m) */
		err = m;
		/* the victim's events go to its counter: it had at most m */
		vf = filter_of(t, s, e->hash);
		if (*vf < m)
			*vf = m < UINT32_MAX ? (uint32_t)m : UINT32_MAX;
		/* the floor first (readers take it after the entries): a key
		 * out of the summary had at most the victim's count */
		if (m > hdr->floor)
			st_relaxed(&hdr->floor, m);
		/* release: a reader that sees the odd gen (and may then
		 * leave the entry out) sees the floor that covers it */
		st_release(&e->gen, e->gen | 1u);
		hdr->evictions++;
		st_relaxed(&vals[SHMSTAT_S_EVICT], vals[SHMSTAT_S_EVICT] + 1);
	}
	/* the entry's fields after its gen is odd (a store-store fence: on
	 * weakly ordered CPUs a reader must not see them first) */
	shmstat__fence(__ATOMIC_RELEASE);
	st_relaxed(&e->flags, 0);
	st_relaxed(&e->hash, ev->hash);
	st_relaxed(&e->hits, ev->hits);
	st_relaxed(&e->misses, ev->misses);
	st_relaxed(&e->weight, ev->weight);
	st_relaxed(&e->err, err);
	st_relaxed(&e->first_ns, now);
	st_relaxed(&e->last_ns, now);
	st_relaxed(&e->owner, (uint16_t)ev->owner);
	if (fresh)
		put_key(t, s, e, i, ev);
	st_release(&e->gen, e->gen + 1);         /* even: whole */
	st_release(&hdr->seq, hdr->seq + 1);
	/* a newcomer into the list of its count (err + 1: above the
	 * minimum, so taken after every entry at it) */
	if (!fresh)
		list_push(hdr, next_of(t, s), heads_of(t, s), i, err + 1);
	/* into the index (the owner's alone: readers do not read it); the
	 * victim's slot stays until the next rebuild */
	if (++hdr->slots_used > (uint64_t)t->g.nslots / 4 * 3)
		rebuild(t, s);
	else
		slots[p] = slot_tag(x) | i;
}

/* Count @ev in summary @s: its entry if it has one, else take() one. */
static void in_summary(const struct shmstat_sigtab *t, unsigned char *s, const struct event *ev,
		       uint64_t *vals)
{
	struct shmstat_sigsum *hdr = (struct shmstat_sigsum *)(void *)s;
	const uint32_t *slots = slots_of(s);
	const uint64_t x = ev->hash * GOLDEN;
	const uint32_t mask = t->g.nslots - 1, tag = slot_tag(x);
	uint32_t p = (uint32_t)(x >> t->shift);
	bool rebuilt = false;

	if (ev->weight > hdr->wmax) {
		/* before the weight it bounds: a reader that sees the
		 * weight sees it (the entry's stores are relaxed) */
		st_relaxed(&hdr->wmax, ev->weight);
		shmstat__fence(__ATOMIC_RELEASE);
	}
	for (uint32_t n = 0;; p = (p + 1) & mask, n++) {
		uint32_t w;
		struct shmstat_sigent *e;

		if (n > mask) {
			/* every slot taken and none is the key's: not the
			 * index this thread keeps (a quarter of it free),
			 * another process of the uid wrote it. Rebuilt from
			 * the entries once; if that does not do, the event is
			 * counted as unsummarized (the bounds stay true) */
			if (rebuilt) {
				st_relaxed(&vals[SHMSTAT_S_UNSUM], vals[SHMSTAT_S_UNSUM] + 1);
				st_relaxed(&vals[SHMSTAT_S_UNSUM_W],
					   vals[SHMSTAT_S_UNSUM_W] + ev->weight);
				return;
			}
			rebuild(t, s);
			rebuilt = true;
			n = 0;
			p = (uint32_t)(x >> t->shift);
		}
		w = slots[p];
		if (w == 0)
			break;
		/* an entry past the capacity: written by another process */
		if ((w & 0xfff00000u) != tag || SHMSTAT_SLOT_ENTRY(w) >= t->g.capacity)
			continue;
		e = &ents_of(t, s)[SHMSTAT_SLOT_ENTRY(w)];
		if (e->hash != ev->hash)
			continue;       /* an evicted key's slot, or a tag twin */
		if (ev->hits) {
			st_relaxed(&e->hits, e->hits + 1);
			st_relaxed(&e->weight, e->weight + ev->weight);
		} else {
			st_relaxed(&e->misses, e->misses + 1);
		}
		st_relaxed(&e->last_ns, tick(hdr));
		if (!(e->flags & SHMSTAT_SIGENT_F_KEY))
			put_key(t, s, e, SHMSTAT_SLOT_ENTRY(w), ev);
		return;
	}
	if (hdr->used >= t->g.capacity) {
		/* full: a newcomer takes the minimum's entry only once its
		 * filter counter has reached the minimum; until then its
		 * events go to the counter (sigtable.h) */
		uint32_t *f = filter_of(t, s, ev->hash), i;
		const uint64_t a = (uint64_t)*f;
		uint64_t m;

		if (a < hdr->level && hdr->level < UINT32_MAX)
			goto filtered;
		i = pop_min(t, s);
		m = ent_count(&ents_of(t, s)[i]);
		if (a < m && m < UINT32_MAX) {
			/* the minimum grew as its lists were walked: back */
			list_push(hdr, next_of(t, s), heads_of(t, s), i, m);
			goto filtered;
		}
		take(t, s, ev, vals, p, i, m);
		return;
filtered:
		*f = (uint32_t)(a + 1);
		if (a + 1 > hdr->floor)
			st_relaxed(&hdr->floor, a + 1);
		hdr->filtered++;
		return;
	}
	take(t, s, ev, vals, p, 0, 0);
}

/* No summary is free: take over summary @i of the pool if its claim is
 * @w, OWNED by a thread stripe of this process that no thread holds
 * (IDLE: its thread exited), with its counts. That stripe is held (IDLE
 * -> OWNED, as a thread that takes it back would) while its slot [6] is
 * cleared and the claim moved to @stripe, so that no thread takes it
 * back meanwhile and writes the summary too; the next thread that does
 * claims a summary again. Its index + 1 or 0. */
static uint64_t adopt(const struct shmstat_sigtab *t, uint64_t *vals, uint32_t stripe,
		      uint32_t i, uint64_t w)
{
	struct shmstat_seg *seg = t->c.seg;
	const uint32_t from = SHMSTAT_SUM_STRIPE(w);
	const uint64_t idle = SHMSTAT_STRIPE_WORD(SHMSTAT_STRIPE_IDLE, seg->proc);
	uint64_t o = idle, *fv;

	if (SHMSTAT_SUM_STATE(w) != SHMSTAT_SUM_OWNED || from == stripe ||
	    from < SHMSTAT_GRAVES + seg->max_procs || from >= seg->nstripes ||
	    ld_relaxed(&seg->owners[from]) != idle ||
	    !cas_acqrel(&seg->owners[from], &o, SHMSTAT_STRIPE_WORD(SHMSTAT_STRIPE_OWNED, seg->proc)))
		return 0;
	fv = shmstat__stripe(seg, from) + t->c.off;
	if (ld_relaxed(&fv[SHMSTAT_S_SUMMARY]) != (uint64_t)i + 1 ||
	    !cas_acqrel(&t->claims[i], &w, SHMSTAT_SUM_WORD(SHMSTAT_SUM_OWNED, stripe))) {
		st_release(&seg->owners[from], idle);
		return 0;
	}
	st_relaxed(&fv[SHMSTAT_S_SUMMARY], 0);
	st_relaxed(&vals[SHMSTAT_S_SUMMARY], (uint64_t)i + 1);
	/* a reader that copied the stripe owners before @stripe was taken
	 * and the claims after the move would count the summary with
	 * neither stripe (its keys gone, its exact totals kept): its copy
	 * sees fold_seq move, and is made again */
	shmstat__fold_seq_bump(seg->hdr);
	st_release(&seg->owners[from], idle);
	return (uint64_t)i + 1;
}

/* The stripe has no summary of this table yet: claim a free one of the
 * pool, else take over one an exited thread of this process left idle
 * (adopt()). Its index + 1 into @vals and returned; UINT64_MAX if none. */
static uint64_t claim(const struct shmstat_sigtab *t, uint64_t *vals, uint32_t stripe)
{
	/* before the walk: a summary given back after it moves fold_seq on */
	const uint64_t seq = ld_acquire(&t->c.seg->hdr->fold_seq);

	for (uint32_t i = 0; i < t->npool; i++) {
		uint64_t w = SHMSTAT_SUM_WORD(SHMSTAT_SUM_FREE, 0);

		if (ld_relaxed(&t->claims[i]) == w &&
		    cas_acqrel(&t->claims[i], &w, SHMSTAT_SUM_WORD(SHMSTAT_SUM_OWNED, stripe))) {
			struct shmstat_sigsum *hdr = (struct shmstat_sigsum *)(void *)
						     sum_at(t, SHMSTAT_SIG_GRAVES + i);

			/* this writer keeps seq (layout.h): readers may copy
			 * the summary without its gens while it stays */
			st_release(&hdr->seq, 2);
			st_relaxed(&vals[SHMSTAT_S_SUMMARY], (uint64_t)i + 1);
			return (uint64_t)i + 1;
		}
	}
	for (uint32_t i = 0; i < t->npool; i++) {
		uint64_t got = adopt(t, vals, stripe, i, ld_acquire(&t->claims[i]));

		if (got)
			return got;
	}
	/* none: "asked, none free" */
	st_relaxed(&vals[SHMSTAT_S_SUMMARY], ASKED_WORD(thread_id(), seq));
	return UINT64_MAX;
}

/* The exact totals, on the thread's stripe: plain stores on its own, atomic
 * adds on its process's shared one. */
static inline __attribute__((always_inline)) void
totals(uint64_t *vals, int shared, bool hit, uint64_t weight, uint32_t owner)
{
	const uint32_t o = owner - 1;

#define TOT(slot, n) do { \
		if (shared) \
			add_relaxed(&vals[slot], (n)); \
		else \
			st_relaxed(&vals[slot], vals[slot] + (n)); \
	} while (0)
	if (hit) {
		TOT(SHMSTAT_S_HITS, 1);
		TOT(SHMSTAT_S_WEIGHT, weight);
		if (owner) {
			TOT(SHMSTAT_S_OWNER(o, 0), 1);
			TOT(SHMSTAT_S_OWNER(o, 2), weight);
		}
	} else {
		TOT(SHMSTAT_S_MISSES, 1);
		if (owner)
			TOT(SHMSTAT_S_OWNER(o, 1), 1);
	}
#undef TOT
}

/* Everything but the common case: a shared stripe (no summary), a
 * stripe without a summary yet (claim one) or with none free, a key the
 * summary does not hold. */
static __attribute__((noinline)) void sig_cold(struct shmstat_sigtab *t,
					       const struct shmstat__tls_ent *te,
					       const struct event *ev)
{
	uint64_t *vals = te->values + t->c.off, ref;

	if (te->shared) {
		add_relaxed(&vals[SHMSTAT_S_UNSUM], 1);
		add_relaxed(&vals[SHMSTAT_S_UNSUM_W], ev->weight);
		totals(vals, 1, ev->hits != 0, ev->weight, ev->owner);
		return;
	}
	ref = ld_relaxed(&vals[SHMSTAT_S_SUMMARY]);
	if (ref - 1 >= t->npool) {
		uint64_t un = ld_relaxed(&vals[SHMSTAT_S_UNSUM]);

		/* a pool emptied by dead writers (all the workers of a pre-fork
		 * server killed and started again) is refilled by the folds
		 * while the new writers count: at every 4096th event only, a
		 * writer of 1,000 keys counted them all unsummarized */
		if (ref == 0 || un % CLAIM_RETRY == 0 ||
		    ref != ASKED_WORD(thread_id(), ld_relaxed(&t->c.seg->hdr->fold_seq)))
			ref = claim(t, vals, te->stripe);
		else
			ref = UINT64_MAX;
		if (ref - 1 >= t->npool) {
			st_relaxed(&vals[SHMSTAT_S_UNSUM], un + 1);
			st_relaxed(&vals[SHMSTAT_S_UNSUM_W], vals[SHMSTAT_S_UNSUM_W] + ev->weight);
			totals(vals, 0, ev->hits != 0, ev->weight, ev->owner);
			return;
		}
	}
	in_summary(t, sum_at(t, SHMSTAT_SIG_GRAVES + ref - 1), ev, vals);
	totals(vals, 0, ev->hits != 0, ev->weight, ev->owner);
}

/* The event path. The common case inline, with the hit/miss choice known
 * at compile time: the thread's own summary holds the key. */
static inline __attribute__((always_inline)) void
sig_event(struct shmstat_sigtab *t, uint64_t hash, const void *key, size_t len, uint64_t weight,
	  uint32_t owner, const bool hit)
{
	const struct shmstat__tls_ent *te = shmstat__tls_for(&t->c);
	struct shmstat_sigsum *hdr;
	struct shmstat_sigent *e;
	const uint32_t *slots;
	unsigned char *s;
	uint64_t *vals, ref, x;
	uint32_t mask, tag, p, n;

	if (unlikely(te == NULL))
		return;                 /* a do-nothing handle, or no writer slot */
	if (unlikely(owner > t->nowners))
		owner = 0;
	vals = te->values + t->c.off;
	ref = ld_relaxed(&vals[SHMSTAT_S_SUMMARY]);
	if (unlikely(te->shared || ref - 1 >= t->npool))
		goto cold;
	s = sum_at(t, SHMSTAT_SIG_GRAVES + ref - 1);
	hdr = (struct shmstat_sigsum *)(void *)s;
	slots = slots_of(s);
	x = hash * GOLDEN;
	mask = t->g.nslots - 1;
	tag = slot_tag(x);
	/* at most every slot (the cold path sees to an index that is full:
	 * in_summary()); an entry past the capacity is none (another
	 * process of the uid may write the index: it looped for ever, and
	 * sent the thread 64 MiB past the summary) */
	for (p = (uint32_t)(x >> t->shift), n = 0;; p = (p + 1) & mask) {
		uint32_t w = slots[p];

		if (w == 0 || unlikely(n++ == mask))
			goto cold;
		if ((w & 0xfff00000u) != tag || unlikely(SHMSTAT_SLOT_ENTRY(w) >= t->g.capacity))
			continue;
		e = &ents_of(t, s)[SHMSTAT_SLOT_ENTRY(w)];
		if (likely(e->hash == hash))
			break;
	}
	if (unlikely(weight > hdr->wmax) || unlikely(!(e->flags & SHMSTAT_SIGENT_F_KEY)))
		goto cold;
	if (hit) {
		st_relaxed(&e->hits, e->hits + 1);
		st_relaxed(&e->weight, e->weight + weight);
	} else {
		st_relaxed(&e->misses, e->misses + 1);
	}
	st_relaxed(&e->last_ns, tick(hdr));
	totals(vals, 0, hit, weight, owner);
	return;
cold:
	{
		struct event ev = { .hash = hash, .hits = hit, .misses = !hit,
				    .weight = hit ? weight : 0, .key = key, .len = len,
				    .owner = owner };

		sig_cold(t, te, &ev);
	}
}

void shmstat_sig_hit(shmstat_sigtab *t, const void *key, size_t len, uint64_t weight,
		     uint32_t owner)
{
	sig_event(t, XXH3_64bits(key, len), key, len, weight, owner, true);
}

void shmstat_sig_miss(shmstat_sigtab *t, const void *key, size_t len, uint32_t owner)
{
	sig_event(t, XXH3_64bits(key, len), key, len, 0, owner, false);
}

void shmstat_sig_hit_hash(shmstat_sigtab *t, uint64_t hash, const void *key, size_t len,
			  uint64_t weight, uint32_t owner)
{
	sig_event(t, hash, key, len, weight, owner, true);
}

void shmstat_sig_miss_hash(shmstat_sigtab *t, uint64_t hash, const void *key, size_t len,
			   uint32_t owner)
{
	sig_event(t, hash, key, len, 0, owner, false);
}

uint64_t shmstat_sig_hash(const void *key, size_t len)
{
	return XXH3_64bits(key, len);
}

/* ----------------------------------------------------------------- reaper */

/* Is stripe @i a thread stripe of process slot @p? */
static bool stripe_of(const struct shmstat_seg *seg, uint32_t i, uint32_t p)
{
	if (i < SHMSTAT_GRAVES + seg->max_procs || i >= seg->nstripes)
		return false;
	return shmstat__stripe_of(ld_acquire(&seg->owners[i]), p);
}

static void sig_desc_get(const struct shmstat_desc *d, struct shmstat_shape *sh);
/* The handle-like view of live table @d for the reaper; false when its
 * run does not fit the region (a corrupted descriptor: left alone). The
 * view is made from the fields checked, read once. */
static bool table_of(struct shmstat_seg *seg, const struct shmstat_desc *d,
		     struct shmstat_sigtab *t)
{
	struct shmstat_shape sh = { 0 };

	if (SHMSTAT_DESC_STATE(ld_acquire(&d->word)) != SHMSTAT_DESC_LIVE ||
	    d->type != SHMSTAT_SIGTABLE)
		return false;
	sig_desc_get(d, &sh);
	if (!shmstat__sig_shape_ok(sh.sig_capacity, sh.sig_keybytes, sh.sig_owners, sh.sig_pool) ||
	    sh.sig_first > seg->sig_lines ||
	    shmstat__sig_lines(sh.sig_capacity, sh.sig_keybytes, sh.sig_owners, sh.sig_pool) >
	    seg->sig_lines - sh.sig_first)
		return false;
	memset(t, 0, sizeof(*t));
	shmstat__sigtab_init(t, seg, &sh);
	return true;
}

/* A summary of a dead writer as a merge source; torn entries (it died
 * giving one a key) marked in @skip. */
static void source_of(const struct shmstat_sigtab *t, unsigned char *s, uint8_t *skip,
		      struct sm_src *src)
{
	const struct shmstat_sigsum *hdr = (const struct shmstat_sigsum *)(const void *)s;
	const struct shmstat_sigent *ents = ents_of(t, s);
	uint64_t n = hdr->used < t->g.capacity ? hdr->used : t->g.capacity;

	memset(src, 0, sizeof(*src));
	src->hdr = hdr;
	src->ents = ents_of(t, s);
	src->keys = s + t->g.off_keys;
	src->n = (uint32_t)n;
	src->capacity = t->g.capacity;
	src->keybytes = t->g.keybytes;
	src->keyrec = t->g.keyrec;
	for (uint32_t j = 0; j < n; j++)
		skip[j] = ents[j].gen & 1u;
	(void)hdr;
	src->skip = skip;
}

/* No memory for a merge: grave @to keeps no key, and a floor that bounds
 * every key of every source (the largest count or floor of each). */
static void fold_bare(const struct shmstat_sigtab *t, unsigned char *from, unsigned char *to,
		      uint32_t stripe_p, struct shmstat_seg *seg)
{
	struct shmstat_sigsum *g = (struct shmstat_sigsum *)(void *)from;
	struct shmstat_sigsum *out = (struct shmstat_sigsum *)(void *)to;
	uint64_t F = g->floor, W = g->wmax, filt = g->filtered;

	for (uint32_t j = 0; j < g->used && j < t->g.capacity; j++) {
		const struct shmstat_sigent *e = &ents_of(t, from)[j];

		F = F > ent_count(e) ? F : ent_count(e);
	}
	for (uint32_t i = 0; i < t->npool; i++) {
		unsigned char *s = sum_at(t, SHMSTAT_SIG_GRAVES + i);
		const struct shmstat_sigsum *h = (const struct shmstat_sigsum *)(const void *)s;
		const uint64_t w = ld_acquire(&t->claims[i]);
		uint64_t f = h->floor + 1;

		if (SHMSTAT_SUM_STATE(w) != SHMSTAT_SUM_OWNED ||
		    !stripe_of(seg, SHMSTAT_SUM_STRIPE(w), stripe_p))
			continue;
		for (uint32_t j = 0; j < h->used && j < t->g.capacity; j++) {
			const struct shmstat_sigent *e = &ents_of(t, s)[j];

			f = f > ent_count(e) ? f : ent_count(e);
		}
		F += f;
		W = W > h->wmax ? W : h->wmax;
		filt += h->filtered;
	}
	out->used = 0;
	out->floor = F;
	out->wmax = W;
	out->mg_err = F;
	out->evictions = 0;
	out->filtered = filt;
}

void shmstat__sig_fold(struct shmstat_seg *seg, uint32_t p, uint32_t from, uint32_t to)
{
	for (uint32_t d = 0; d < seg->max_metrics; d++) {
		struct shmstat_sigtab t;
		struct sm m;
		struct sm_src src;
		uint8_t *skip;
		int err = 0;

		if (!table_of(seg, &seg->descs[d], &t))
			continue;
		skip = calloc(t.g.capacity, 1);
		shmstat__sm_init(&m);
		if (skip == NULL) {
			err = ENOMEM;
		} else {
			unsigned char *g = sum_at(&t, from);

			source_of(&t, g, skip, &src);
			memset(skip, 0, t.g.capacity);   /* graves are never torn */
			src.mg = (const uint64_t *)(const void *)slots_of(g);
			err = shmstat__sm_add(&m, &src);
		}
		for (uint32_t i = 0; !err && i < t.npool; i++) {
			unsigned char *s = sum_at(&t, SHMSTAT_SIG_GRAVES + i);
			uint64_t w = ld_acquire(&t.claims[i]);

			if (SHMSTAT_SUM_STATE(w) != SHMSTAT_SUM_OWNED ||
			    !stripe_of(seg, SHMSTAT_SUM_STRIPE(w), p))
				continue;
			source_of(&t, s, skip, &src);
			err = shmstat__sm_add(&m, &src);
		}
		if (err)
			fold_bare(&t, sum_at(&t, from), sum_at(&t, to), p, seg);
		else
			shmstat__sm_write_grave(&m, sum_at(&t, to), &t.g);
		shmstat__sm_free(&m);
		free(skip);
	}
}

/* Zero the filter of summary @s, a page at a time, only the pages that
 * are not zero (pages never written stay holes). */
static void clear_filter(const struct shmstat_sigtab *t, unsigned char *s)
{
	uint32_t *p = (uint32_t *)(void *)(s + t->g.off_filter);
	uint32_t *const end = p + t->g.nfilter;

	while (p < end) {
		uint32_t *const q = end - p > SHMSTAT_PAGE / 4 ? p + SHMSTAT_PAGE / 4 : end;
		uint32_t any = 0;

		for (const uint32_t *r = p; r < q; r++)
			any |= *r;
		if (any)
			memset(p, 0, (size_t)(q - p) * 4);
		p = q;
	}
}

void shmstat__sig_release(struct shmstat_seg *seg, uint32_t p)
{
	for (uint32_t d = 0; d < seg->max_metrics; d++) {
		struct shmstat_sigtab t;

		if (!table_of(seg, &seg->descs[d], &t))
			continue;
		for (uint32_t i = 0; i < t.npool; i++) {
			unsigned char *s = sum_at(&t, SHMSTAT_SIG_GRAVES + i);
			struct shmstat_sigsum *h = (struct shmstat_sigsum *)(void *)s;
			uint64_t w = ld_acquire(&t.claims[i]);

			if (SHMSTAT_SUM_STATE(w) != SHMSTAT_SUM_OWNED ||
			    !stripe_of(seg, SHMSTAT_SUM_STRIPE(w), p))
				continue;
			/* the index and the header; entries past used are
			 * never read, and a new key makes its entry's gen odd
			 * whatever it was */
			memset(s + sizeof(*h), 0, (size_t)t.g.nslots * 4);
			clear_filter(&t, s);
			memset(h, 0, sizeof(*h));
			st_release(&t.claims[i], SHMSTAT_SUM_WORD(SHMSTAT_SUM_FREE, 0));
		}
	}
}

void shmstat__sig_repair(struct shmstat_seg *seg)
{
	for (uint32_t d = 0; d < seg->max_metrics; d++) {
		struct shmstat_sigtab t;

		if (table_of(seg, &seg->descs[d], &t))
			shmstat__sig_owners_repair(seg, &t);
	}
}

/* ------------------------------------------------------ the type's parts */

static void sig_desc_put(struct shmstat_desc *d, const struct shmstat_shape *sh)
{
	d->sig_capacity = sh->sig_capacity;
	d->sig_keybytes = sh->sig_keybytes;
	d->sig_owners = sh->sig_owners;
	d->sig_ttl_ms = sh->sig_ttl_ms;
	d->sig_pool = sh->sig_pool;
}

static void sig_desc_get(const struct shmstat_desc *d, struct shmstat_shape *sh)
{
	sh->sig_capacity = d->sig_capacity;
	sh->sig_ttl_ms = d->sig_ttl_ms;
	sh->sig_keybytes = d->sig_keybytes;
	sh->sig_owners = d->sig_owners;
	sh->sig_pool = d->sig_pool;
	sh->sig_first = d->sig_first;
}

static int sig_same(const struct shmstat_shape *have, const struct shmstat_shape *want,
		    const char *name, const char *labels)
{
	if (have->sig_capacity != want->sig_capacity || have->sig_keybytes != want->sig_keybytes ||
	    have->sig_owners != want->sig_owners || have->sig_ttl_ms != want->sig_ttl_ms ||
	    have->sig_pool != want->sig_pool)
		return shmstat__fail(SHMSTAT_ETYPE,
				     "signature table '%s{%s}' exists with capacity %u, %u key bytes, %u owners, %u summaries, ttl %u ms",
				     name, labels, have->sig_capacity, have->sig_keybytes,
				     have->sig_owners, have->sig_pool, have->sig_ttl_ms);
	return 0;
}

static int sig_handle_init(struct shmstat_seg *seg, const struct shmstat_desc *d,
			   const struct shmstat_shape *have, struct shmstat_counter *c)
{
	if (!shmstat__sig_shape_ok(have->sig_capacity, have->sig_keybytes, have->sig_owners,
				   have->sig_pool) ||
	    have->sig_first > seg->sig_lines ||
	    shmstat__sig_lines(have->sig_capacity, have->sig_keybytes, have->sig_owners,
			       have->sig_pool) > seg->sig_lines - have->sig_first)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "signature table '%s' in segment '%s' lies outside its region",
				     d->name, seg->name);
	shmstat__sigtab_init((struct shmstat_sigtab *)(void *)c, seg, have);
	return 0;
}

/* The fold, slot by slot: a stripe's summary index is not a sum. */
static void sig_fold_slots(struct shmstat_seg *seg, uint32_t p, const struct shmstat_desc *d,
			   const uint64_t *src, uint64_t *dst)
{
	(void)p;
	(void)src;
	if (d->nvalues > SHMSTAT_S_SUMMARY)
		shmstat__fold_st(seg, &dst[d->value_off + SHMSTAT_S_SUMMARY], 0);
}

const struct shmstat__type shmstat__sig_type = {
	.name = "signature table",
	.type = SHMSTAT_SIGTABLE,
	.handle_size = sizeof(struct shmstat_sigtab),
	.desc_put = sig_desc_put,
	.desc_get = sig_desc_get,
	.same_shape = sig_same,
	.handle_init = sig_handle_init,
	.removable = false,
	.fold_slots = sig_fold_slots,
	.fold = shmstat__sig_fold,
	.release = shmstat__sig_release,
	.repair = shmstat__sig_repair,
	.desc_ok = shmstat__sigsnap_desc_ok,
	.copy = shmstat__sigsnap_copy,
	.snap_free = shmstat__sigsnap_free,
	.value = shmstat__sigsnap_value,
	/* no proc_value: its summaries are merged per table */
};
