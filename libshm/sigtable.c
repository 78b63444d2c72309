/*
 * sigtable.c - signature tables: registration, owners, hit/miss events,
 * eviction, repair, and the reader's private view (shmstat_sigview).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "shmstat.h"
#include "procs.h"
#include "registry.h"
#include "sigtable.h"

#define SPINS 128u            /* busy-wait rounds before yielding */
#define YIELDS 64u            /* then yields, */
#define NAPS 5000u            /* then 20 us naps: at most ~100 ms in all */

struct shmstat_sigtab shmstat__noop_sigtab = {
	.c = { .epoch = SHMSTAT_EPOCH_NONE },
};

/* ----------------------------------------------------------- registration */

void shmstat_sigtab_opts_init(struct shmstat_sigtab_opts *o)
{
	o->capacity = 2048;
	o->prefix = SHMSTAT_SIG_PREFIX_CAP;
	o->owners = 64;
	o->ttl_ns = UINT64_C(600) * 1000000000u;
}

int shmstat_sigtab_register(shmstat_seg *seg, const struct shmstat_metric_def *def,
			    const struct shmstat_sigtab_opts *opts, shmstat_sigtab **out)
{
	struct shmstat_sigtab_opts o;
	struct shmstat_shape shape = { .type = SHMSTAT_SIGTABLE };
	struct shmstat_counter *c;
	int err;

	*out = &shmstat__noop_sigtab;
	if (opts == NULL) {
		shmstat_sigtab_opts_init(&o);
		opts = &o;
	}
	if (opts->capacity < 1 || opts->capacity > SHMSTAT_LIMIT_SIGS / 4 ||
	    (opts->capacity & (opts->capacity - 1)) != 0)
		return shmstat__fail(EINVAL,
				     "signature table capacity must be a power of two up to %u, not %u",
				     SHMSTAT_LIMIT_SIGS / 4, opts->capacity);
	if (opts->prefix > SHMSTAT_SIG_PREFIX_CAP)
		return shmstat__fail(EINVAL, "signature key prefix must be 0 to %u bytes, not %u",
				     SHMSTAT_SIG_PREFIX_CAP, opts->prefix);
	if (opts->owners > 4096)
		return shmstat__fail(EINVAL, "signature table owners must be 0 to 4096, not %u",
				     opts->owners);
	if (opts->ttl_ns / 1000000u > UINT32_MAX)
		return shmstat__fail(EINVAL, "signature table ttl is longer than %u ms", UINT32_MAX);
	shape.sig_capacity = opts->capacity;
	shape.sig_prefix = opts->prefix;
	shape.sig_owners = opts->owners;
	/* kept in milliseconds: a shorter TTL is 1 ms, not "none" */
	shape.sig_ttl_ms = (uint32_t)((opts->ttl_ns + 999999u) / 1000000u);
	shape.nvalues = SHMSTAT_S_NVALUES(opts->owners);
	err = shmstat__register(seg, def, &shape, &c);
	if (!err)
		*out = (struct shmstat_sigtab *)(void *)c;
	return err;
}

/* ----------------------------------------------------------------- owners */

int shmstat_sig_owner(shmstat_sigtab *t, const char *name, uint32_t *id)
{
	size_t n;

	*id = 0;
	if (t->c.epoch == SHMSTAT_EPOCH_NONE)
		return shmstat__fail(EINVAL, "signature table handle does nothing");
	n = name ? strlen(name) : 0;
	if (n == 0 || n >= SHMSTAT_SIG_OWNER_CAP)
		return shmstat__fail(SHMSTAT_EBADNAME, "owner name must be 1 to %d bytes",
				     SHMSTAT_SIG_OWNER_CAP - 1);
	for (uint32_t o = 0; o < t->nowners; o++) {
		struct shmstat_sigowner *s = &t->owners[o];
		uint64_t w = ld_acquire(&s->word);

		for (unsigned spin = 0; SHMSTAT_STATE_OF(w) == 1 && spin < 100000; spin++) {
			if (!shmstat__pid_alive((pid_t)SHMSTAT_TAG_PID(w), 0)) {
				/* claimer died: the slot is free again */
				cas_acqrel(&s->word, &w, 0);
			} else {
				sched_yield();
			}
			w = ld_acquire(&s->word);
		}
		if (SHMSTAT_STATE_OF(w) == 0) {
			uint64_t mine = 1 | (uint64_t)(uint32_t)t->c.seg->pid << 32;

			if (!cas_acqrel(&s->word, &w, mine)) {
				o--;            /* look at this slot again */
				continue;
			}
			memset(s->name, 0, sizeof(s->name));
			memcpy(s->name, name, n);
			st_release(&s->word, 2);
			*id = o + 1;
			return 0;
		}
		if (SHMSTAT_STATE_OF(w) == 2 && strncmp(s->name, name, sizeof(s->name)) == 0) {
			*id = o + 1;
			return 0;
		}
	}
	return shmstat__fail(SHMSTAT_EFULL, "signature table has no free owner slot for '%s' (%u)",
			     name, t->nowners);
}

/* ----------------------------------------------------------------- events */

static uint64_t coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* The writer holding @e (word @w) died. What it left is one of: the old
 * key with its counts, some of them bumped (an update is a few additions:
 * harmless); a tombstone (it died giving the entry a new key: take()
 * writes the tombstone before anything else); the new key complete (it
 * died after take()). So unlocking is the whole repair. */
static void repair_ent(struct shmstat_sigent *e, uint64_t w)
{
	cas_acqrel(&e->word, &w, (uint64_t)((SHMSTAT_SIG_VERSION(w) + 1) & 0x7fffffffu) << 1);
}

/* Lock entry @e; *@was gets its unlocked word. false after the bound. */
static bool lock_ent(struct shmstat_sigent *e, uint32_t pid, uint64_t *was)
{
	for (unsigned i = 0; i < SPINS + YIELDS + NAPS; i++) {
		uint64_t w = ld_relaxed(&e->word);

		if (!SHMSTAT_SIG_LOCKED(w)) {
			if (cas_acqrel(&e->word, &w, w | 1u | (uint64_t)pid << 32)) {
				*was = w;
				return true;
			}
			continue;
		}
		if (i < SPINS) {
			cpu_relax();
			continue;
		}
		/* the holder may have died in the middle of an update */
		if ((i & 31) == 0 && !shmstat__pid_alive((pid_t)SHMSTAT_SIG_PID(w), 0)) {
			repair_ent(e, w);
			continue;
		}
		/* the holder was preempted in its few stores: let it run */
		if (i < SPINS + YIELDS)
			sched_yield();
		else
			nanosleep(&(struct timespec){ .tv_nsec = 20000 }, NULL);
	}
	return false;
}

static void unlock_ent(struct shmstat_sigent *e, uint64_t was)
{
	st_release(&e->word, (uint64_t)((SHMSTAT_SIG_VERSION(was) + 1) & 0x7fffffffu) << 1);
}

struct event {
	uint64_t hash, hits, misses, weight, now;
	const void *key;
	size_t len;
	uint32_t owner;
};

static void bump(struct shmstat_sigent *e, const struct event *ev)
{
	st_relaxed(&e->hits, ld_relaxed(&e->hits) + ev->hits);
	st_relaxed(&e->misses, ld_relaxed(&e->misses) + ev->misses);
	st_relaxed(&e->weight, ld_relaxed(&e->weight) + ev->weight);
	/* a writer that read the clock before another took the lock must
	 * not move last seen back */
	if (ev->now > ld_relaxed(&e->last_ns))
		st_relaxed(&e->last_ns, ev->now);
}

/* Give @e to the key of @ev, with inherited counts @inh (its error). */
static void take(struct shmstat_sigtab *t, struct shmstat_sigent *e, const struct event *ev,
		 const uint64_t inh[3])
{
	char prefix[SHMSTAT_SIG_PREFIX_CAP] = { 0 };
	size_t n = ev->len < t->prefix ? ev->len : t->prefix;

	memcpy(prefix, ev->key, n);
	/* a tombstone while the fields change: a writer dying here leaves
	 * no entry that mixes two keys */
	st_relaxed(&e->hash, SHMSTAT_SIG_TOMB);
	st_relaxed(&e->hits, inh[0] + ev->hits);
	st_relaxed(&e->misses, inh[1] + ev->misses);
	st_relaxed(&e->weight, inh[2] + ev->weight);
	st_relaxed(&e->err_hits, inh[0]);
	st_relaxed(&e->err_misses, inh[1]);
	st_relaxed(&e->err_weight, inh[2]);
	st_relaxed(&e->first_ns, ev->now);
	st_relaxed(&e->last_ns, ev->now);
	st_relaxed(&e->owner, ev->owner);
	st_relaxed(&e->keylen, ev->len > UINT32_MAX ? UINT32_MAX : (uint32_t)ev->len);
	st_relaxed(&e->gen, ld_relaxed(&e->gen) + 1);
	for (size_t k = 0; k < sizeof(prefix); k += 8) {
		uint64_t w;

		memcpy(&w, prefix + k, 8);
		st_relaxed((uint64_t *)(void *)(e->prefix + k), w);
	}
	/* the key last, with release: until then the entry is a tombstone */
	st_release(&e->hash, ev->hash);
}

enum { DONE, DONE_NEW, RETRY, DROPPED };

/* Under the lock of @e: count the event if @e holds the key (or is empty,
 * or is the chosen @victim), else ask for a new look at the window. */
static int apply(struct shmstat_sigtab *t, struct shmstat_sigent *e, const struct event *ev,
		 bool victim)
{
	const uint32_t pid = (uint32_t)t->c.seg->pid;
	uint64_t was, h;

	if (!lock_ent(e, pid, &was))
		return DROPPED;
	h = ld_relaxed(&e->hash);
	if (h == ev->hash) {
		bump(e, ev);
	} else if (h == 0 && !victim) {
		static const uint64_t none[3];

		take(t, e, ev, none);
		unlock_ent(e, was);
		return DONE_NEW;
	} else if (victim && h != 0) {
		uint64_t inh[3], cnt[3];
		/* a tombstone's counts are gone: it raises no floor */
		bool idle = h == SHMSTAT_SIG_TOMB ||
			    (t->ttl_ns && ev->now - ld_relaxed(&e->last_ns) > t->ttl_ns &&
			     ev->now > ld_relaxed(&e->last_ns));

		cnt[0] = ld_relaxed(&e->hits);
		cnt[1] = ld_relaxed(&e->misses);
		cnt[2] = ld_relaxed(&e->weight);
		for (int k = 0; k < 3; k++) {
			uint64_t f = ld_relaxed(&t->head->floor[k]);

			/* an idle victim's counts start over (it expired);
			 * a counted victim raises the floor */
			if (!idle && cnt[k] > f) {
				shmstat__atomic_max(&t->head->floor[k], cnt[k]);
				f = cnt[k];
			}
			inh[k] = f;
		}
		take(t, e, ev, inh);
		shmstat__counter_add_slot(&t->c, SHMSTAT_S_EVICT, 1);
	} else {
		unlock_ent(e, was);
		return RETRY;
	}
	unlock_ent(e, was);
	return DONE;
}

/* ---------------------------------------------------------------- batches */

/* Add batch @p (of a thread of ours, or of a gone process whose stripe
 * values are @vals) to its entry, then empty it. An entry that lost the
 * key meanwhile (evicted, its counts raised to the floors) cannot take
 * it: the batch raises the floors, so the key, back one day, inherits at
 * least all it had (the error bounds hold). A batch whose entry stays
 * locked, or that a hostile writer made nonsense of, counts as dropped. */
static void flush_pend(struct shmstat_seg *seg, struct shmstat_sigpend *p, uint64_t *vals)
{
	const struct event ev = {
		.hits = ld_relaxed(&p->hits), .misses = ld_relaxed(&p->misses),
		.weight = ld_relaxed(&p->weight), .now = ld_relaxed(&p->last_ns),
	};
	const uint32_t at = ld_relaxed(&p->entry), table = ld_relaxed(&p->table);
	const uint32_t head = ld_relaxed(&p->head);
	bool counted = false;

	if (ev.hits == 0 && ev.misses == 0)
		return;
	if (at != 0 && at <= seg->max_sigs && head < at - 1) {
		struct shmstat_sigent *e = &seg->sigs[at - 1];
		uint64_t was;

		if (lock_ent(e, (uint32_t)seg->pid, &was)) {
			if (ld_relaxed(&e->hash) == ld_relaxed(&p->hash)) {
				bump(e, &ev);
			} else {
				struct shmstat_sighead *h = (void *)&seg->sigs[head];
				const uint64_t add[3] = { ev.hits, ev.misses, ev.weight };

				for (int k = 0; k < 3; k++)
					shmstat__atomic_max(&h->floor[k],
							    ld_relaxed(&h->floor[k]) + add[k]);
				st_relaxed(&p->entry, 0);
			}
			counted = true;
			unlock_ent(e, was);
		}
	}
	if (!counted) {
		if (table < seg->max_values && SHMSTAT_S_DROPPED < seg->max_values - table)
			st_relaxed(&vals[table + SHMSTAT_S_DROPPED],
				   ld_relaxed(&vals[table + SHMSTAT_S_DROPPED]) + ev.hits + ev.misses);
		st_relaxed(&p->entry, 0);
	}
	st_relaxed(&p->hits, 0);
	st_relaxed(&p->misses, 0);
	st_relaxed(&p->weight, 0);
}

/* Start batch @p for the key of @ev, held by entry @e, after adding what
 * @p held for another key. Readers ignore @p while its entry is 0. */
static void start_pend(struct shmstat_sigtab *t, struct shmstat_sigpend *p,
		       const struct shmstat__tls_ent *te, const struct shmstat_sigent *e,
		       const struct event *ev)
{
	flush_pend(t->c.seg, p, te->values);
	st_relaxed(&p->entry, 0);
	st_relaxed(&p->table, t->c.off);
	st_relaxed(&p->head, (uint32_t)((struct shmstat_sigent *)(void *)t->head - t->c.seg->sigs));
	st_relaxed(&p->hash, ev->hash);
	st_relaxed(&p->hits, ev->hits);
	st_relaxed(&p->misses, ev->misses);
	st_relaxed(&p->weight, ev->weight);
	st_relaxed(&p->last_ns, ev->now);
	st_relaxed(&p->start_ns, ev->now);
	st_relaxed(&p->score, 1);
	st_release(&p->entry, (uint32_t)(e - t->c.seg->sigs) + 1);
}

/* Count @ev in batch @p if it is the batch of @ev's key; false if not. */
static bool add_pend(struct shmstat_sigtab *t, struct shmstat_sigpend *p,
		     const struct shmstat__tls_ent *te, const struct event *ev)
{
	uint64_t n;

	if (ld_relaxed(&p->hash) != ev->hash || ld_relaxed(&p->table) != t->c.off ||
	    ld_relaxed(&p->entry) == 0)
		return false;
	n = ld_relaxed(&p->hits) + ld_relaxed(&p->misses);
	if (ld_relaxed(&p->score) < SHMSTAT_SIG_BATCH_EVENTS)
		st_relaxed(&p->score, ld_relaxed(&p->score) + 1);
	if (n == 0)
		st_relaxed(&p->start_ns, ev->now);
	st_relaxed(&p->hits, ld_relaxed(&p->hits) + ev->hits);
	st_relaxed(&p->misses, ld_relaxed(&p->misses) + ev->misses);
	st_relaxed(&p->weight, ld_relaxed(&p->weight) + ev->weight);
	if (ev->now > ld_relaxed(&p->last_ns))
		st_relaxed(&p->last_ns, ev->now);
	/* unsigned: a clock stepped back flushes too */
	if (n + 1 >= SHMSTAT_SIG_BATCH_EVENTS || ev->now - ld_relaxed(&p->start_ns) >= t->batch_ns)
		flush_pend(t->c.seg, p, te->values);
	return true;
}

void shmstat__sig_flush_stripe(struct shmstat_seg *seg, uint32_t stripe)
{
	if (stripe >= seg->nstripes)
		return;
	for (uint32_t k = 0; k < seg->pend_slots; k++)
		flush_pend(seg, &shmstat__pends(seg, stripe)[k], shmstat__stripe(seg, stripe));
}

/* The exact totals, striped: only the slots the event changes (a hit or
 * a miss, one owner). */
static void totals(const struct shmstat__tls_ent *te, uint32_t o, const struct event *ev)
{
	if (ev->hits) {
		shmstat__add_to(te, o + SHMSTAT_S_HITS, ev->hits);
		shmstat__add_to(te, o + SHMSTAT_S_WEIGHT, ev->weight);
		if (ev->owner) {
			shmstat__add_to(te, o + SHMSTAT_S_OWNER(ev->owner - 1, 0), ev->hits);
			shmstat__add_to(te, o + SHMSTAT_S_OWNER(ev->owner - 1, 2), ev->weight);
		}
	} else {
		shmstat__add_to(te, o + SHMSTAT_S_MISSES, ev->misses);
		if (ev->owner)
			shmstat__add_to(te, o + SHMSTAT_S_OWNER(ev->owner - 1, 1), ev->misses);
	}
}

static void sig_event(struct shmstat_sigtab *t, struct event *ev)
{
	const uint32_t window = t->mask + 1 < SHMSTAT_SIG_WINDOW ? t->mask + 1 : SHMSTAT_SIG_WINDOW;
	const struct shmstat__tls_ent *te;
	struct shmstat_sigpend *pend = NULL;

	if (t->c.epoch == SHMSTAT_EPOCH_NONE || t->c.seg->proc >= t->c.seg->max_procs)
		return;
	ev->hash = XXH3_64bits(ev->key, ev->len);
	if (ev->hash < 2)
		ev->hash += 2;          /* 0: empty, 1: tombstone */
	ev->now = coarse_now();
	if (ev->owner > t->nowners)
		ev->owner = 0;
	te = shmstat__tls_for(&t->c);  /* the thread's stripe, looked up once */
	if (te == NULL)
		return;
	totals(te, t->c.off, ev);
	/* a key the thread saw lately: into its batch (an own stripe only:
	 * a shared one has no single writer) */
	if (!te->shared && t->c.seg->pend_slots) {
		const uint32_t mask = t->c.seg->pend_slots - 1;
		struct shmstat_sigpend *mine = shmstat__pends(t->c.seg, te->stripe);
		struct shmstat_sigpend *other = &mine[(ev->hash >> 32) & mask];

		/* and one batch picked by the hash is checked for age: a busy
		 * thread leaves none much older than its limit */
		if (ld_relaxed(&other->hits) + ld_relaxed(&other->misses) != 0 &&
		    ev->now - ld_relaxed(&other->start_ns) >= t->batch_ns)
			flush_pend(t->c.seg, other, te->values);
		pend = &mine[(ev->hash ^ t->c.off) & mask];
		if (add_pend(t, pend, te, ev))
			return;
	}
	for (int attempt = 0; attempt < 4; attempt++) {
		struct shmstat_sigent *victim = NULL, *empty = NULL, *e = NULL;
		uint64_t vidle = 0, vcount = UINT64_MAX, reach;
		uint32_t k, at = 0;
		int r;

		reach = ld_relaxed(&t->head->max_probe) + 1;
		if (reach < window)
			reach = window;
		/* the probe reads only hashes (an entry's second cache line,
		 * which updates do not write) */
		for (k = 0; k <= t->mask; k++) {
			struct shmstat_sigent *x = &t->ent[(ev->hash + k) & t->mask];
			uint64_t h = ld_acquire(&x->hash);

			if (h == ev->hash) {
				e = x;
				break;
			}
			if (h == 0) {
				if (empty == NULL) {
					empty = x;
					at = k;
				}
				/* past the window, a key would sit before the
				 * first empty entry of its probe */
				if (k >= window)
					break;
				continue;
			}
			if (k >= reach && empty != NULL)
				break;
		}
		/* only a full table needs a victim in the window: the longest
		 * idle past the TTL, else the fewest events */
		for (uint32_t j = 0; e == NULL && ld_relaxed(&t->head->used) >= t->capacity &&
				     j < window; j++) {
			struct shmstat_sigent *x = &t->ent[(ev->hash + j) & t->mask];
			uint64_t h = ld_acquire(&x->hash), last, cnt;

			if (h == 0)
				continue;
			if (h == SHMSTAT_SIG_TOMB) {
				victim = x;     /* nothing to lose: the first choice */
				break;
			}
			last = ld_relaxed(&x->last_ns);
			cnt = ld_relaxed(&x->hits) + ld_relaxed(&x->misses);
			if (t->ttl_ns && ev->now > last && ev->now - last > t->ttl_ns) {
				if (ev->now - last > vidle) {
					vidle = ev->now - last;
					victim = x;
				}
			} else if (vidle == 0 && cnt < vcount) {
				vcount = cnt;
				victim = x;
			}
		}
		/* a held key that has shown it is hot gets the batch slot,
		 * once the key there, hit less often than keys that want
		 * the slot, has lost its claim (the slot ends up with the
		 * key hit most, not the key hit last) */
		if (e != NULL && pend != NULL) {
			uint32_t score = ld_relaxed(&pend->score);

			if (score > 0 && ld_relaxed(&pend->entry) != 0) {
				st_relaxed(&pend->score, score - 1);
			} else if (ld_relaxed(&e->hits) + ld_relaxed(&e->misses) >=
				   SHMSTAT_SIG_BATCH_MIN) {
				start_pend(t, pend, te, e, ev);
				return;
			}
		}
		if (e != NULL) {
			r = apply(t, e, ev, false);
		} else if (empty != NULL && ld_relaxed(&t->head->used) < t->capacity) {
			r = apply(t, empty, ev, false);
			if (r == DONE_NEW) {
				add_relaxed(&t->head->used, 1);
				shmstat__atomic_max(&t->head->max_probe, at);
				r = DONE;
			}
		} else if (victim != NULL) {
			r = apply(t, victim, ev, true);
		} else if (empty != NULL) {
			/* full, but nothing to evict in this window: the
			 * half of the slots left empty has room */
			r = apply(t, empty, ev, false);
			if (r == DONE_NEW)
				add_relaxed(&t->head->used, 1);
		} else {
			r = DROPPED;
		}
		if (r == DONE || r == DONE_NEW)
			return;
		if (r == DROPPED)
			break;
	}
	shmstat__counter_add_slot(&t->c, SHMSTAT_S_DROPPED, 1);
}

void shmstat_sig_hit(shmstat_sigtab *t, const void *key, size_t len, uint64_t weight,
		     uint32_t owner)
{
	struct event ev = { .hits = 1, .weight = weight, .key = key, .len = len, .owner = owner };

	sig_event(t, &ev);
}

void shmstat_sig_miss(shmstat_sigtab *t, const void *key, size_t len, uint32_t owner)
{
	struct event ev = { .misses = 1, .key = key, .len = len, .owner = owner };

	sig_event(t, &ev);
}

void shmstat_sig_flush(shmstat_seg *seg)
{
	const struct shmstat__tls_ent *te;

	if (seg == NULL || seg->tls_slot >= SHMSTAT_TLS_SLOTS)
		return;
	te = &shmstat__tls[seg->tls_slot];
	if (te->epoch == seg->epoch && !te->shared)
		shmstat__sig_flush_stripe(seg, te->stripe);
}

/* ----------------------------------------------------------------- reaper */

void shmstat__sig_repair(struct shmstat_seg *seg)
{
	for (uint32_t d = 0; d < seg->max_metrics; d++) {
		const struct shmstat_desc *desc = &seg->descs[d];
		struct shmstat_sigent *e;
		struct shmstat_sigowner *o;
		uint32_t cap;

		if (SHMSTAT_DESC_STATE(ld_acquire(&desc->word)) != SHMSTAT_DESC_LIVE ||
		    desc->type != SHMSTAT_SIGTABLE)
			continue;
		cap = (uint32_t)shmstat__sig_slots(desc->sig_capacity);
		if (desc->sig_first > seg->max_sigs ||
		    shmstat__sig_span(desc->sig_capacity, desc->sig_owners) >
		    seg->max_sigs - desc->sig_first)
			continue;
		e = &seg->sigs[desc->sig_first + 1];
		for (uint32_t i = 0; i < cap; i++) {
			uint64_t w = ld_relaxed(&e[i].word);

			if (SHMSTAT_SIG_LOCKED(w) && !shmstat__pid_alive((pid_t)SHMSTAT_SIG_PID(w), 0))
				repair_ent(&e[i], w);
		}
		o = (struct shmstat_sigowner *)(void *)(e + cap);
		for (uint32_t i = 0; i < desc->sig_owners; i++) {
			uint64_t w = ld_relaxed(&o[i].word);

			if (SHMSTAT_STATE_OF(w) == 1 && !shmstat__pid_alive((pid_t)SHMSTAT_TAG_PID(w), 0))
				cas_acqrel(&o[i].word, &w, 0);
		}
	}
}

/* ------------------------------------------------------------ reader view */

struct vent {
	struct shmstat_sigent e;
	const char *owner;
};

struct shmstat_sigview {
	struct shmstat_sigstats st;
	uint64_t taken_ns;
	size_t n, nowners;
	struct vent *ent;
	struct shmstat_sigowner_info *owners;
	char (*names)[SHMSTAT_SIG_OWNER_CAP];
};

static void merge_into(struct shmstat_sigent *d, const struct shmstat_sigent *e)
{
	d->hits += e->hits;
	d->misses += e->misses;
	d->weight += e->weight;
	d->err_hits += e->err_hits;
	d->err_misses += e->err_misses;
	d->err_weight += e->err_weight;
	if (e->first_ns < d->first_ns)
		d->first_ns = e->first_ns;
	if (e->last_ns > d->last_ns)
		d->last_ns = e->last_ns;
}

/* Two writers inserting one new key at the same moment may each take an
 * entry for it: count them as one. Found with a set of the hashes (open
 * addressing over twice as many slots): O(n). */
static void merge_duplicates(shmstat_sigview *v)
{
	size_t cap = 2, o = 0;
	uint32_t *set;

	while (cap < 2 * v->n)
		cap *= 2;
	set = calloc(cap, sizeof(*set));       /* entry index + 1, 0: empty */
	if (set == NULL)
		return;                         /* leave duplicates as they are */
	for (size_t k = 0; k < v->n; k++) {
		uint64_t h = v->ent[k].e.hash;
		size_t i = (size_t)(h ^ h >> 29) & (cap - 1);

		while (set[i] && v->ent[set[i] - 1].e.hash != h)
			i = (i + 1) & (cap - 1);
		if (set[i]) {
			merge_into(&v->ent[set[i] - 1].e, &v->ent[k].e);
			continue;
		}
		v->ent[o] = v->ent[k];
		set[i] = (uint32_t)++o;
	}
	v->n = o;
	free(set);
}

shmstat_sigview *shmstat__sigview_new(const struct shmstat_desc *d,
				      const struct shmstat_sigent *ent, const uint8_t *bad,
				      const uint64_t *totals, uint64_t taken_ns)
{
	const uint32_t cap = (uint32_t)shmstat__sig_slots(d->sig_capacity), nown = d->sig_owners;
	const struct shmstat_sigowner *own = (const void *)(ent + cap);
	shmstat_sigview *v = calloc(1, sizeof(*v));
	static const char none[] = "";

	if (v == NULL)
		return NULL;
	v->ent = malloc((size_t)cap * sizeof(*v->ent));
	v->owners = calloc(nown ? nown : 1, sizeof(*v->owners));
	v->names = calloc(nown ? nown : 1, sizeof(*v->names));
	if (v->ent == NULL || v->owners == NULL || v->names == NULL) {
		shmstat_sigview_free(v);
		return NULL;
	}
	v->taken_ns = taken_ns;
	v->st.capacity = d->sig_capacity;
	v->st.prefix = d->sig_prefix;
	v->st.ttl_ns = (uint64_t)d->sig_ttl_ms * 1000000u;
	v->st.hits = totals[SHMSTAT_S_HITS];
	v->st.misses = totals[SHMSTAT_S_MISSES];
	v->st.weight = totals[SHMSTAT_S_WEIGHT];
	v->st.evictions = totals[SHMSTAT_S_EVICT];
	v->st.dropped = totals[SHMSTAT_S_DROPPED];
	/* owners: named slots, in slot order */
	for (uint32_t o = 0; o < nown; o++) {
		struct shmstat_sigowner_info *oi = &v->owners[o];

		if (SHMSTAT_STATE_OF(own[o].word) == 2 &&
		    memchr(own[o].name, '\0', sizeof(own[o].name)) != NULL)
			memcpy(v->names[o], own[o].name, sizeof(v->names[o]));
		oi->name = v->names[o];
		oi->hits = totals[SHMSTAT_S_OWNER(o, 0)];
		oi->misses = totals[SHMSTAT_S_OWNER(o, 1)];
		oi->weight = totals[SHMSTAT_S_OWNER(o, 2)];
		if (v->names[o][0])
			v->nowners = o + 1;
	}
	v->st.owners = (uint32_t)v->nowners;
	for (uint32_t k = 0; k < cap; k++) {
		if (bad[k]) {
			v->st.skipped++;
			continue;
		}
		if (ent[k].hash == 0 || ent[k].hash == SHMSTAT_SIG_TOMB)
			continue;
		v->ent[v->n].e = ent[k];
		v->ent[v->n].owner = ent[k].owner >= 1 && ent[k].owner <= nown
					     ? v->names[ent[k].owner - 1] : none;
		v->n++;
	}
	merge_duplicates(v);
	v->st.used = (uint32_t)v->n;
	return v;
}

void shmstat_sigview_free(shmstat_sigview *v)
{
	if (v == NULL)
		return;
	free(v->ent);
	free(v->owners);
	free(v->names);
	free(v);
}

void shmstat_sigview_stats(const shmstat_sigview *v, struct shmstat_sigstats *out)
{
	*out = v->st;
}

size_t shmstat_sigview_entries(const shmstat_sigview *v)
{
	return v->n;
}

int shmstat_sigview_entry(const shmstat_sigview *v, size_t k, struct shmstat_sigentry *out)
{
	const struct shmstat_sigent *e;
	uint64_t events;

	if (k >= v->n)
		return EINVAL;
	e = &v->ent[k].e;
	memset(out, 0, sizeof(*out));
	out->hash = e->hash;
	out->keylen = e->keylen;
	out->prefix_len = e->keylen < v->st.prefix ? e->keylen : v->st.prefix;
	memcpy(out->prefix, e->prefix, out->prefix_len);
	out->owner = v->ent[k].owner;
	out->hits = e->hits;
	out->misses = e->misses;
	out->weight = e->weight;
	out->err_hits = e->err_hits;
	out->err_misses = e->err_misses;
	out->err_weight = e->err_weight;
	out->first_ns = e->first_ns;
	out->last_ns = e->last_ns;
	out->gen = e->gen;
	events = e->hits + e->misses;
	out->hit_rate = events ? (double)e->hits / (double)events : 0;
	out->expired = v->st.ttl_ns && v->taken_ns > e->last_ns &&
		       v->taken_ns - e->last_ns > v->st.ttl_ns;
	return 0;
}

struct order_ctx {
	const shmstat_sigview *v;
	enum shmstat_sig_order order;
};

static uint64_t key_of(const struct shmstat_sigent *e, enum shmstat_sig_order order)
{
	switch (order) {
	case SHMSTAT_BY_WEIGHT: return e->weight;
	case SHMSTAT_BY_RECENT: return e->last_ns;
	default: return e->hits;
	}
}

static int by_order(const void *a, const void *b, void *arg)
{
	const struct order_ctx *c = arg;
	const struct shmstat_sigent *x = &c->v->ent[*(const size_t *)a].e;
	const struct shmstat_sigent *y = &c->v->ent[*(const size_t *)b].e;
	uint64_t kx = key_of(x, c->order), ky = key_of(y, c->order);

	if (kx != ky)
		return kx > ky ? -1 : 1;
	if (x->last_ns != y->last_ns)
		return x->last_ns > y->last_ns ? -1 : 1;
	return (x->hash > y->hash) - (x->hash < y->hash);
}

size_t shmstat_sigview_top(const shmstat_sigview *v, enum shmstat_sig_order order,
			   const char *owner, size_t n, size_t *out)
{
	struct order_ctx ctx = { v, order };
	size_t got = 0;

	if (n == 0)
		return 0;
	/* keep the best n seen so far in out[], sorted: O(entries * n), and
	 * the common n (a screenful) is small; a full sort beyond 64 */
	if (n > 64) {
		size_t *idx = malloc((v->n ? v->n : 1) * sizeof(*idx)), m = 0;

		if (idx == NULL)
			return 0;
		for (size_t k = 0; k < v->n; k++)
			if (owner == NULL || strcmp(v->ent[k].owner, owner) == 0)
				idx[m++] = k;
		qsort_r(idx, m, sizeof(*idx), by_order, &ctx);
		got = n < m ? n : m;
		memcpy(out, idx, got * sizeof(*out));
		free(idx);
		return got;
	}
	for (size_t k = 0; k < v->n; k++) {
		size_t at;

		if (owner && strcmp(v->ent[k].owner, owner) != 0)
			continue;
		if (got == n && by_order(&k, &out[n - 1], &ctx) >= 0)
			continue;
		at = got < n ? got++ : n - 1;
		while (at > 0 && by_order(&k, &out[at - 1], &ctx) < 0) {
			out[at] = out[at - 1];
			at--;
		}
		out[at] = k;
	}
	return got;
}

size_t shmstat_sigview_owners(const shmstat_sigview *v)
{
	return v->nowners;
}

int shmstat_sigview_owner(const shmstat_sigview *v, size_t k, struct shmstat_sigowner_info *out)
{
	if (k >= v->nowners)
		return EINVAL;
	*out = v->owners[k];
	return 0;
}
