/*
 * registry.c - register-or-find metrics, across processes and threads.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-bp.h>
#include <urcu/rculfhash.h>

#include "shmstat.h"
#include "grace.h"
#include "hook.h"
#include "procs.h"
#include "rcuuse.h"
#include "registry.h"
#include "tls.h"
#include "type.h"

/* A handle as this process keeps it: one per (segment, name, labels). */
struct lhandle {
	struct cds_lfht_node node;
	struct lhandle *next;      /* chain for shmstat__index_destroy() */
	uint64_t hash;
	uint64_t reg_id;           /* of its descriptor: removal detection */
	uint32_t desc;
	struct shmstat_shape shape;
	struct shmstat_counter *c; /* the handle, its type's handle_size bytes */
	size_t keylen;
	char *key;                 /* name "\0" labels */
	/* then, in the same allocation, the handle and the key */
	uint64_t mem[];
};

/* ------------------------------------------------------ name validation */

/* the rules are util.h's, shared with the reader */
#define name_start shmstat__name_start
#define name_char shmstat__name_char
#define utf8_len shmstat__utf8_len

int shmstat__check_metric_name(const char *name)
{
	size_t n;

	if (name == NULL || name[0] == '\0')
		return shmstat__fail(SHMSTAT_EBADNAME, "metric name is empty");
	n = strlen(name);
	if (n >= SHMSTAT_NAME_CAP)
		return shmstat__fail(SHMSTAT_EBADNAME, "metric name '%.40s...' is longer than %d bytes",
				     name, SHMSTAT_NAME_CAP - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!(c == ':' || (i == 0 ? name_start(c) : name_char(c))))
			return shmstat__fail(SHMSTAT_EBADNAME,
					     "metric name '%s' has an invalid character at position %zu (allowed: [a-zA-Z_:][a-zA-Z0-9_:]*)",
					     name, i + 1);
	}
	return 0;
}

static int check_label_key(const char *k)
{
	size_t n = strlen(k);

	if (n == 0)
		return shmstat__fail(SHMSTAT_EBADNAME, "label name is empty");
	if (n >= 2 && k[0] == '_' && k[1] == '_')
		return shmstat__fail(SHMSTAT_EBADNAME,
				     "label name '%s' starts with '__', which is reserved", k);
	for (size_t i = 0; i < n; i++)
		if (!(i == 0 ? name_start((unsigned char)k[i]) : name_char((unsigned char)k[i])))
			return shmstat__fail(SHMSTAT_EBADNAME,
					     "label name '%s' has an invalid character at position %zu (allowed: [a-zA-Z_][a-zA-Z0-9_]*)",
					     k, i + 1);
	return 0;
}

struct kv {
	const char *k, *v;
};

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->k, ((const struct kv *)b)->k);
}

#define MAX_LABELS SHMSTAT_MAX_LABELS

/* Append @n bytes to @out (capacity @cap), keeping room for the NUL. */
static bool put(char *out, size_t *o, size_t cap, const void *src, size_t n)
{
	if (n >= cap - *o)
		return false;
	memcpy(out + *o, src, n);
	*o += n;
	return true;
}

int shmstat__canon_labels(const char *const *labels, char *out, size_t cap)
{
	struct kv kv[MAX_LABELS];
	size_t n = 0, o = 0;
	int err;

	out[0] = '\0';
	if (labels == NULL)
		return 0;
	for (; labels[2 * n] != NULL; n++) {
		if (n == MAX_LABELS)
			return shmstat__fail(SHMSTAT_EBADNAME, "more than %d labels", MAX_LABELS);
		if (labels[2 * n + 1] == NULL)
			return shmstat__fail(SHMSTAT_EBADNAME, "label '%s' has no value",
					     labels[2 * n]);
		err = check_label_key(labels[2 * n]);
		if (err)
			return err;
		kv[n].k = labels[2 * n];
		kv[n].v = labels[2 * n + 1];
	}
	qsort(kv, n, sizeof(kv[0]), kv_cmp);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *v = (const unsigned char *)kv[i].v;

		if (i > 0 && strcmp(kv[i - 1].k, kv[i].k) == 0)
			return shmstat__fail(SHMSTAT_EBADNAME, "label '%s' is given twice", kv[i].k);
		if ((i > 0 && !put(out, &o, cap, ",", 1)) ||
		    !put(out, &o, cap, kv[i].k, strlen(kv[i].k)) || !put(out, &o, cap, "=\"", 2))
			goto too_long;
		while (*v) {
			size_t l = utf8_len(v);
			char esc[2] = { '\\', 0 };
			bool fits;

			if (l == 0)
				return shmstat__fail(SHMSTAT_EBADNAME,
						     "value of label '%s' is not valid UTF-8", kv[i].k);
			if (*v == '\\' || *v == '"' || *v == '\n') {
				esc[1] = (char)(*v == '\n' ? 'n' : *v);
				fits = put(out, &o, cap, esc, 2);
			} else {
				fits = put(out, &o, cap, v, l);
			}
			if (!fits)
				goto too_long;
			v += l;
		}
		if (!put(out, &o, cap, "\"", 1))
			goto too_long;
	}
	out[o] = '\0';
	return 0;
too_long:
	return shmstat__fail(SHMSTAT_EBADNAME,
			     "labels are longer than %zu bytes in their canonical form k=\"v\",...",
			     cap - 1);
}

/* ------------------------------------------------------------ descriptors */

bool shmstat__desc_ok(const struct shmstat_desc *d)
{
	return shmstat__hash((const unsigned char *)d + SHMSTAT_DESC_SUM_FROM,
			     sizeof(*d) - SHMSTAT_DESC_SUM_FROM) == d->sum;
}

/* runs_memo of struct shmstat_seg: a run holds at most 2^24 slots */
#define MEMO_RUN_BITS 25
#define MEMO_SEQ(seq) (((seq) + 1) & (UINT64_MAX >> MEMO_RUN_BITS))

/* Take @n value slots of removed metrics (zeroed after their grace
 * period) from a DEADV tombstone with at least @n of them. Every
 * registration tries this before the bump allocator (alloc_values()).
 *
 * A DEADV word carries a sequence no other DEADV word had (the retire
 * sequence of its removal, or one taken for it by
 * shmstat__deadv_publish()): no DEADV word comes back once it changed.
 * Its fields are written before the word, and changed only by whoever
 * moved the word away from it, who either never stores it again or
 * stores it again with the fields untouched (a claim given up). So the
 * CAS from the word the scan read succeeds only if the fields read in
 * between are still the tombstone's: a whole take -> claim -> remove ->
 * reclaim cycle, a merge (grace.c, coalesce()) or a split during the
 * scan makes it fail, instead of giving us slots that became another
 * metric's.
 *
 * A tombstone with more slots than @n is split: we take it DEADV ->
 * CLAIMED (ours alone: nobody else takes a CLAIMED one's slots, and
 * registrants wait on it), keep its first @n slots and publish it again
 * as DEADV, with a new sequence, holding the rest. (It used to go DEAD
 * with all its slots given to a metric that used @n of them: the rest
 * belonged to nothing, for ever.) */
static bool reuse_values(struct shmstat_seg *seg, uint32_t n, uint32_t *off,
			 const struct shmstat_desc *self)
{
	/* best fit, so that small metrics do not take the slots a large one
	 * needs; a few rounds if another registration takes ours first */
	for (int round = 0; round < 8; round++) {
		uint32_t best = UINT32_MAX, best_n = UINT32_MAX, largest = 0;
		uint64_t best_w = 0;
		/* a walk that meets no removal or claim that may end in a
		 * DEADV word spares the next ones for more slots than its
		 * largest run until the next removal, split or merge (each
		 * adds to retire_seq first): no larger run appears before */
		const uint64_t seq = ld_acquire(&seg->hdr->retire_seq);
		const uint64_t memo = __atomic_load_n(&seg->runs_memo, __ATOMIC_RELAXED);
		bool quiet = true;

		if (memo >> MEMO_RUN_BITS == MEMO_SEQ(seq) &&
		    n > (memo & ((UINT64_C(1) << MEMO_RUN_BITS) - 1)))
			return false;
		SHMSTAT_HOOK(SHMSTAT_HOOK_REUSE_WALK, seg);
		for (uint32_t i = 0; i < seg->max_metrics; i++) {
			const struct shmstat_desc *d = &seg->descs[i];
			uint64_t w = ld_acquire(&d->word);
			uint32_t st = SHMSTAT_DESC_STATE(w), dn, doff;

			/* (not the registrant's own claim, of a FREE or DEAD
			 * slot: it hides no run, and counting it made every
			 * registration walk the whole directory: 100,000
			 * counters took 75 s instead of 0.3) */
			if (st == SHMSTAT_DESC_RETIRED || (st == SHMSTAT_DESC_CLAIMED && d != self))
				quiet = false;
			if (st != SHMSTAT_DESC_DEADV)
				continue;
			/* atomic: whoever takes the tombstone meanwhile
			 * writes them (then our CAS fails) */
			dn = ld_relaxed(&d->nvalues);
			doff = ld_relaxed(&d->value_off);
			if (doff > seg->max_values || dn > seg->max_values - doff)
				continue;
			if (dn > largest)
				largest = dn;
			if (dn < n || dn >= best_n)
				continue;
			best = i;
			best_n = dn;
			best_w = w;
		}
		if (quiet)
			__atomic_store_n(&seg->runs_memo, MEMO_SEQ(seq) << MEMO_RUN_BITS | largest,
					 __ATOMIC_RELAXED);
		if (best == UINT32_MAX)
			return false;
		SHMSTAT_HOOK(SHMSTAT_HOOK_REUSE_PICKED, &seg->descs[best]);
		{
			struct shmstat_desc *d = &seg->descs[best];
			/* read before the CAS: once DEAD, the slot may be
			 * claimed and refilled at once (read after the scan's
			 * load of best_w: the CAS checks it is still that;
			 * best_n too) */
			uint32_t o = ld_relaxed(&d->value_off);
			uint64_t to = best_n == n ?
				SHMSTAT_DESC_WORD(SHMSTAT_DESC_DEAD, 0) :
				SHMSTAT_DESC_WORD(SHMSTAT_DESC_CLAIMED, seg->tag);

			SHMSTAT_HOOK(SHMSTAT_HOOK_REUSE_READ, d);
			if (cas_acqrel(&d->word, &best_w, to)) {
				if (best_n != n)
					shmstat__deadv_publish(seg, d, o + n, best_n - n);
				*off = o;
				return true;
			}
		}
	}
	return false;
}

/* ", N of them by removed metrics ..." for a refusal when removals hold
 * @held of the room: a process that removes its own metrics gets it back
 * from a reap alone (api.md, shmstat_remove); "all 1024 used" sent one
 * looking for live metrics */
#define NOTE_CAP 160
static const char *removed_note(char note[NOTE_CAP], uint64_t held)
{
	if (held == 0)
		return "";
	snprintf(note, NOTE_CAP, ", %llu of them by removed metrics that no reap has reclaimed yet: %s",
		 (unsigned long long)held, "shmstat_gc() reclaims those every writer has acknowledged");
	return note;
}

/* @n value slots: a free run of removed metrics' first, the bump
 * allocator's only when none is large enough. (The other way round, the
 * runs stayed free while the bump allocator had slots, each held by a
 * DEADV descriptor between live metrics: tenants of mixed shapes, a
 * counter of some killed ones staying live, filled a 64-descriptor
 * directory with 35 metrics live and 29 such runs of 1,841 slots, and
 * every registration was refused while 6,312 slots had never been
 * allocated; tests/remove/test_remove_churn.c.) */
static int alloc_values(struct shmstat_seg *seg, uint32_t n, uint32_t *off,
			const struct shmstat_desc *self)
{
	uint64_t used, held = 0;
	char note[NOTE_CAP];

	if (reuse_values(seg, n, off, self))
		return 0;
	used = ld_relaxed(&seg->hdr->values_used);
	do {
		if (used > seg->max_values || n > seg->max_values - used) {
			if (reuse_values(seg, n, off, self))
				return 0;
			for (uint32_t i = 0; i < seg->max_metrics; i++)
				if (SHMSTAT_DESC_STATE(ld_acquire(&seg->descs[i].word)) ==
				    SHMSTAT_DESC_RETIRED)
					held += ld_relaxed(&seg->descs[i].nvalues);
			return shmstat__fail(SHMSTAT_EFULL,
					     "segment '%s' has no room for %u more values (%llu of %u used%s)",
					     seg->name, n, (unsigned long long)used, seg->max_values,
					     removed_note(note, held));
		}
	} while (!cas_acqrel(&seg->hdr->values_used, &used, used + n));
	*off = (uint32_t)used;
	return 0;
}

struct regreq {
	const char *name, *labels, *help, *unit;
	const struct shmstat_shape *shape;
	const struct shmstat__type *type;
	uint64_t hash;
};

static bool desc_matches(const struct shmstat_desc *d, const struct regreq *r)
{
	return d->key_hash == r->hash &&
	       strncmp(d->name, r->name, SHMSTAT_NAME_CAP) == 0 &&
	       strncmp(d->labels, r->labels, SHMSTAT_LABELS_CAP) == 0;
}

/* A run of @n lines (128 bytes) of the sigs region. */
static int alloc_sigs(struct shmstat_seg *seg, uint64_t n, uint32_t *first)
{
	uint64_t used = ld_relaxed(&seg->hdr->sigs_used);

	do {
		if (used > seg->sig_lines || n > seg->sig_lines - used)
			return shmstat__fail(SHMSTAT_EFULL,
					     "segment '%s' has no room for a signature table of %llu bytes (%llu of %llu bytes used)",
					     seg->name, (unsigned long long)n * SHMSTAT_LINE,
					     (unsigned long long)used * SHMSTAT_LINE,
					     (unsigned long long)seg->sig_lines * SHMSTAT_LINE);
	} while (!cas_acqrel(&seg->hdr->sigs_used, &used, used + n));
	*first = (uint32_t)used;
	return 0;
}

/* Fill claimed descriptor @d for @r. @was is the word it had: a DEADV
 * tombstone gives its value slots when they are as many as @r needs
 * (find_or_create() takes no other; with more, the rest would belong to
 * nothing). */
static int fill(struct shmstat_seg *seg, struct shmstat_desc *d, const struct regreq *r,
		uint64_t was)
{
	const struct shmstat_shape *sh = r->shape;
	uint32_t off = 0, first = 0;
	bool own = SHMSTAT_DESC_STATE(was) == SHMSTAT_DESC_DEADV && d->nvalues == sh->nvalues &&
		   d->value_off <= seg->max_values && d->nvalues <= seg->max_values - d->value_off;
	int err = 0;

	/* the table's lines first: one that does not fit leaves the value
	 * slots free (a failed value allocation then leaves its lines
	 * unused: the region only grows) */
	if (sh->lines != 0)
		err = alloc_sigs(seg, sh->lines, &first);
	if (!err && own)
		off = d->value_off;
	else if (!err)
		err = alloc_values(seg, r->shape->nvalues, &off, d);
	if (err)
		return err;
	d->reg_id = add_relaxed(&seg->hdr->reg_seq, 1) + 1;
	d->key_hash = r->hash;
	d->created_ns = shmstat__now_ns();
	d->type = (uint16_t)r->shape->type;
	d->agg = (uint16_t)r->shape->agg;
	/* atomic: a scan for tombstones may still read them (registry.c,
	 * reuse_values(); grace.c, coalesce()) */
	st_relaxed(&d->value_off, off);
	st_relaxed(&d->nvalues, r->shape->nvalues);
	d->claimer_pid = (uint32_t)seg->pid;
	/* the type's fields (a reused descriptor's others zero), then the
	 * run of lines allocated for it */
	memset(&d->lowest, 0, sizeof(*d) - offsetof(struct shmstat_desc, lowest));
	d->bits = 0;
	d->sig_pool = 0;
	if (r->type->desc_put != NULL)
		r->type->desc_put(d, sh);
	if (sh->lines != 0)
		d->sig_first = first;
	snprintf(d->name, sizeof(d->name), "%s", r->name);
	snprintf(d->labels, sizeof(d->labels), "%s", r->labels);
	snprintf(d->unit, sizeof(d->unit), "%s", r->unit);
	snprintf(d->help, sizeof(d->help), "%s", r->help);
	d->sum = shmstat__hash((const unsigned char *)d + SHMSTAT_DESC_SUM_FROM,
			       sizeof(*d) - SHMSTAT_DESC_SUM_FROM);
	return 0;
}

/* Wait for a claim in progress to be published or abandoned. */
static uint64_t wait_claim(const struct shmstat_seg *seg, struct shmstat_desc *d, uint64_t w)
{
	for (unsigned i = 0; i < 20000; i++) {
		SHMSTAT_HOOK(SHMSTAT_HOOK_WAIT, &d->word);
		if (i < 100)
			sched_yield();
		else
			nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
		w = ld_acquire(&d->word);
		if (SHMSTAT_DESC_STATE(w) != SHMSTAT_DESC_CLAIMED)
			return w;
		if ((i & 63) == 63) {
			enum shmstat_tag_state cs = shmstat__seg_tag_state(seg, w);

			if (cs == SHMSTAT_TAG_GONE) {
				uint64_t dead = SHMSTAT_DESC_WORD(SHMSTAT_DESC_DEAD, w);

				cas_acqrel(&d->word, &w, dead);
				return ld_acquire(&d->word);
			}
			/* a stopped claimer may stay so for ever: the
			 * registration fails (EBUSY) rather than wait */
			if (cs == SHMSTAT_TAG_STOPPED)
				return w;
		}
	}
	return w;
}

/* Claim descriptor @i (word @w) and fill it. 0, EAGAIN (lost the race:
 * look again) or an error. */
static int claim_desc(struct shmstat_seg *seg, const struct regreq *r, uint32_t i, uint64_t w)
{
	struct shmstat_desc *d = &seg->descs[i];
	int err;

	if (!cas_acqrel(&d->word, &w, SHMSTAT_DESC_WORD(SHMSTAT_DESC_CLAIMED, seg->tag)))
		return EAGAIN;
	err = fill(seg, d, r, w);
	if (err) {
		/* nobody probed past our claim (they wait on it): the slot
		 * can be what it was */
		st_release(&d->word, w);
		add_relaxed(&seg->hdr->dropped_regs, 1);
		return err;
	}
	st_release(&d->word, SHMSTAT_DESC_WORD(SHMSTAT_DESC_LIVE, seg->tag));
	return 0;
}

/* Find or create the descriptor for @r; *@out is its index. The whole
 * probe is walked first (to a free slot), so that a tombstone on the way
 * is reused only for a key that is not further on. */
static int find_or_create(struct shmstat_seg *seg, const struct regreq *r, uint32_t *out)
{
	const uint32_t cap = seg->max_metrics;
	uint32_t removed = 0;      /* the last walk's removals */
	char note[NOTE_CAP];

	for (int again = 0; again < 64; again++) {
		uint32_t i = (uint32_t)(r->hash % cap), tomb = UINT32_MAX, n;
		uint64_t tomb_w = 0, w = 0;
		int err;

		for (n = removed = 0; n < cap; n++, i = (i + 1 == cap) ? 0 : i + 1) {
			struct shmstat_desc *d = &seg->descs[i];
			uint32_t st;

			w = ld_acquire(&d->word);
			st = SHMSTAT_DESC_STATE(w);
			removed += st == SHMSTAT_DESC_RETIRED;
			if (st == SHMSTAT_DESC_CLAIMED) {
				w = wait_claim(seg, d, w);
				st = SHMSTAT_DESC_STATE(w);
				if (st == SHMSTAT_DESC_CLAIMED)
					return shmstat__fail(SHMSTAT_EBUSY,
							     "metric slot %u of segment '%s' stays claimed by pid %u",
							     i, seg->name, SHMSTAT_DESC_PID(w));
			}
			if (st == SHMSTAT_DESC_FREE)
				break;
			if (st == SHMSTAT_DESC_LIVE && desc_matches(d, r)) {
				if (!shmstat__desc_ok(d))
					return shmstat__fail(SHMSTAT_ECORRUPT,
							     "descriptor of metric '%s' in segment '%s' fails its checksum",
							     r->name, seg->name);
				*out = i;
				return 0;
			}
			/* a tombstone we may take: without values, or with
			 * enough of them for this metric */
			if (tomb == UINT32_MAX &&
			    (st == SHMSTAT_DESC_DEAD ||
			     (st == SHMSTAT_DESC_DEADV &&
			      ld_relaxed(&d->nvalues) == r->shape->nvalues))) {
				tomb = i;
				tomb_w = w;
			}
		}
		if (tomb != UINT32_MAX)
			err = claim_desc(seg, r, tomb, tomb_w);
		else if (n < cap)
			err = claim_desc(seg, r, i, w);
		else
			break;
		if (err == EAGAIN)
			continue;
		if (err == 0)
			*out = tomb != UINT32_MAX ? tomb : i;
		return err;
	}
	add_relaxed(&seg->hdr->dropped_regs, 1);
	return shmstat__fail(SHMSTAT_EFULL,
			     "segment '%s' has no free metric slot for '%s' (all %u used%s)",
			     seg->name, r->name, cap, removed_note(note, removed));
}

/* ------------------------------------------------------- process index */

/* ThreadSanitizer cannot see the ordering liburcu's hash table provides
 * (liburcu is not instrumented): state it, for TSan builds only. */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define tsan_acquire(p) __tsan_acquire((void *)(uintptr_t)(p))
#define tsan_release(p) __tsan_release((void *)(uintptr_t)(p))
#else
#define tsan_acquire(p) ((void)(p))
#define tsan_release(p) ((void)(p))
#endif

void shmstat__index_destroy(struct shmstat_seg *seg)
{
	struct cds_lfht_iter iter;
	struct lhandle *h, *chain = NULL;

	if (seg->index == NULL)
		return;
	shmstat__rcu_use_begin();
	urcu_bp_read_lock();
	cds_lfht_for_each_entry(seg->index, &iter, h, node) {
		if (cds_lfht_del(seg->index, &h->node) == 0) {
			h->next = chain;
			/* h is a handle the index holds (cppcheck takes the
			 * container_of() of the macro for an uninitialised
			 * object) */
			/* cppcheck-suppress uninitvar */
			chain = h;
		}
	}
	urcu_bp_read_unlock();
	urcu_bp_synchronize_rcu();
	shmstat__rcu_use_end();
	/* and the handles of removed metrics, kept until now because the
	 * program may still hold them */
	while (seg->retired) {
		h = seg->retired;
		seg->retired = h->next;
		h->next = chain;
		chain = h;
	}
	while (chain) {
		h = chain->next;
		free(chain);
		chain = h;
	}
	shmstat__rcu_use_begin();
	cds_lfht_destroy(seg->index, NULL);
	shmstat__rcu_use_end();
	seg->index = NULL;
}

struct lookup_key {
	const char *key;
	size_t len;
};

static int match(struct cds_lfht_node *node, const void *k)
{
	const struct lhandle *h = caa_container_of(node, struct lhandle, node);
	const struct lookup_key *lk = k;

	tsan_acquire(h);
	return h->keylen == lk->len && memcmp(h->key, lk->key, lk->len) == 0;
}

/* Does a metric of @have satisfy a request for @want? 0 or ETYPE. */
static int same_shape(const struct shmstat_shape *have, const struct shmstat_shape *want,
		      const struct shmstat__type *t, const char *name, const char *labels)
{
	if (have->type != want->type)
		return shmstat__fail(SHMSTAT_ETYPE, "metric '%s{%s}' exists as a %s, not a %s",
				     name, labels, shmstat_type_name(have->type),
				     shmstat_type_name(want->type));
	return t->same_shape ? t->same_shape(have, want, name, labels) : 0;
}

/* Take handle @h out of the index (if it is still there) and make it do
 * nothing; its memory stays until shmstat_close(): the program, or
 * another thread, may hold it. @inside: the caller is in a read-side
 * section already (a use of liburcu does not nest: rcuuse.h). */
static void unpublish(struct shmstat_seg *seg, struct lhandle *h, bool inside)
{
	int gone;

	if (!inside)
		shmstat__rcu_read_begin();
	gone = cds_lfht_del(seg->index, &h->node);
	if (!inside)
		shmstat__rcu_read_end();
	if (gone != 0)
		return;         /* another thread took it out */
	st_relaxed(&h->c->epoch, SHMSTAT_EPOCH_NONE);
	/* push on the retired chain (lock-free: threads may quiesce at once) */
	h->next = __atomic_load_n(&seg->retired, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&seg->retired, &h->next, h, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
}

/* Is handle @h, published in the index, one of a LIVE descriptor that is
 * the metric @r asks for, with the value slots @h writes? Checked under
 * the process's lock, after the handle is in the index: a quiesce reads
 * retire_seq under the same lock before it walks the index (see
 * shmstat_quiesce()). Either it comes first, and the descriptor's
 * removal, if it counts it, is seen here; or this comes first, and its
 * walk finds the handle and drops it. The fields are read after the
 * acquire load of a LIVE word, with the lock held: no acknowledgement of
 * this process is published meanwhile, so the descriptor cannot be
 * reclaimed and refilled under us. A gauge joins here (@join), for the
 * same reason: its stamp is not written into slots reused meanwhile. */
static bool handle_current(struct shmstat_seg *seg, const struct lhandle *h,
			   const struct regreq *r, bool join)
{
	const struct shmstat_desc *d = &seg->descs[h->desc];
	bool ok;

	shmstat__tls_lock();
	ok = SHMSTAT_DESC_STATE(ld_acquire(&d->word)) == SHMSTAT_DESC_LIVE &&
	     d->reg_id == h->reg_id && d->type == h->shape.type &&
	     d->value_off == h->c->off && d->nvalues == h->shape.nvalues && desc_matches(d, r);
	if (ok && join && r->type->joined != NULL && seg->proc < seg->max_procs)
		r->type->joined(seg, h->c->off);
	shmstat__tls_unlock();
	return ok;
}

/* One try of shmstat__register(): 0, an error, or EAGAIN when the metric
 * was removed under us (try again). */
static int register_once(struct shmstat_seg *seg, const struct shmstat_shape *shape,
			 const struct regreq *r, const struct lookup_key *lk,
			 struct shmstat_counter **out)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;
	struct shmstat_shape have;
	const struct shmstat_desc *d;
	struct lhandle *h;
	uint32_t di = 0, off;
	size_t hsize;
	int err;

	shmstat__rcu_read_begin();
	cds_lfht_lookup(seg->index, (unsigned long)r->hash, match, lk, &iter);
	node = cds_lfht_iter_get_node(&iter);
	if (node) {
		const struct shmstat_desc *d0;

		h = caa_container_of(node, struct lhandle, node);
		tsan_acquire(h);
		d0 = &seg->descs[h->desc];
		shmstat__rcu_read_end();
		if (SHMSTAT_DESC_STATE(ld_acquire(&d0->word)) == SHMSTAT_DESC_LIVE &&
		    d0->reg_id == h->reg_id) {
			SHMSTAT_HOOK(SHMSTAT_HOOK_REG_FOUND, d0);
			goto found;
		}
		/* removed since: drop our stale handle, register anew */
		shmstat__drop_removed(seg);
	} else {
		shmstat__rcu_read_end();
	}

	err = find_or_create(seg, r, &di);
	if (err)
		return err;

	/* the shape first: the slot checks below are for this shape */
	d = &seg->descs[di];
	SHMSTAT_HOOK(SHMSTAT_HOOK_REG_FOUND, d);
	have = (struct shmstat_shape){ .type = d->type, .agg = d->agg, .nvalues = d->nvalues };
	if (d->type == shape->type && r->type->desc_get != NULL)
		r->type->desc_get(d, &have);
	err = same_shape(&have, shape, r->type, r->name, r->labels);
	if (err)
		return err;
	/* read once: the handle is made from what was checked (another
	 * writer of the uid may rewrite the descriptor meanwhile) */
	off = ld_relaxed(&d->value_off);
	if (off > seg->max_values || have.nvalues != shape->nvalues ||
	    shape->nvalues > seg->max_values - off)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "descriptor of metric '%s' in segment '%s' has bad value slots",
				     r->name, seg->name);
	SHMSTAT_HOOK(SHMSTAT_HOOK_REG_CHECKED, d);
	hsize = (r->type->handle_size + 7) / 8 * 8;
	h = calloc(1, sizeof(*h) + hsize + lk->len);
	if (h == NULL)
		return shmstat__fail(ENOMEM, "out of memory registering metric '%s' in segment '%s'",
				     r->name, seg->name);
	cds_lfht_node_init(&h->node);
	h->hash = r->hash;
	h->shape = have;
	h->desc = di;
	h->reg_id = d->reg_id;
	h->c = (struct shmstat_counter *)(void *)h->mem;
	h->key = (char *)h->mem + hsize;
	h->keylen = lk->len;
	memcpy(h->key, lk->key, lk->len);
	h->c->epoch = seg->epoch;
	h->c->tls_slot = seg->tls_slot;
	h->c->off = off;
	h->c->agg = have.agg;
	h->c->seg = seg;
	if (r->type->handle_init != NULL) {
		err = r->type->handle_init(seg, d, &have, h->c);
		if (err) {
			free(h);
			return err;
		}
	}
	tsan_release(h);
	shmstat__rcu_read_begin();
	node = cds_lfht_add_unique(seg->index, (unsigned long)r->hash, match, lk, &h->node);
	shmstat__rcu_read_end();
	if (node != &h->node) {
		free(h);        /* another thread of ours won; never published */
		h = caa_container_of(node, struct lhandle, node);
		tsan_acquire(h);
	}
found:
	/* whichever way we came, the handle is in the index now */
	err = same_shape(&h->shape, shape, r->type, r->name, r->labels);
	if (!handle_current(seg, h, r, err == 0)) {
		unpublish(seg, h, false);
		return EAGAIN;
	}
	if (err)
		return err;
	*out = h->c;
	return 0;
}

/* The one path for every metric type. */
static int register_one(struct shmstat_seg *seg, const struct shmstat_metric_def *def,
			const struct shmstat_shape *shape, struct shmstat_counter **out)
{
	char labels[SHMSTAT_LABELS_CAP];
	char key[SHMSTAT_NAME_CAP + SHMSTAT_LABELS_CAP];
	struct lookup_key lk;
	struct regreq r;
	int err;

	shmstat__clear_error();
	if (seg == NULL || def == NULL)
		return shmstat__fail(EINVAL, "segment or metric definition is missing");
	err = shmstat__check_metric_name(def->name);
	if (err)
		return err;
	err = shmstat__canon_labels(def->labels, labels, sizeof(labels));
	if (err)
		return shmstat__fail(err, "metric '%s': %s", def->name, shmstat_last_error());
	if (def->help && strlen(def->help) >= SHMSTAT_HELP_CAP)
		return shmstat__fail(SHMSTAT_EBADNAME, "help of metric '%s' is longer than %d bytes",
				     def->name, SHMSTAT_HELP_CAP - 1);
	if (def->unit && strlen(def->unit) >= SHMSTAT_UNIT_CAP)
		return shmstat__fail(SHMSTAT_EBADNAME, "unit of metric '%s' is longer than %d bytes",
				     def->name, SHMSTAT_UNIT_CAP - 1);
	if (def->help && strchr(def->help, '\n'))
		return shmstat__fail(SHMSTAT_EBADNAME, "help of metric '%s' has a newline", def->name);
	if (def->help && !shmstat__help_ok(def->help))
		return shmstat__fail(SHMSTAT_EBADNAME, "help of metric '%s' is not valid UTF-8",
				     def->name);
	if (def->unit) {
		for (const char *u = def->unit; *u; u++)
			if (!name_char((unsigned char)*u))
				return shmstat__fail(SHMSTAT_EBADNAME,
						     "unit '%s' of metric '%s' has an invalid character",
						     def->unit, def->name);
	}
	lk.len = strlen(def->name) + 1 + strlen(labels);
	memcpy(key, def->name, strlen(def->name) + 1);
	/* the key is name NUL labels, @lk.len bytes: no terminating NUL
	 * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(key + strlen(def->name) + 1, labels, strlen(labels));
	lk.key = key;
	r.hash = shmstat__hash(key, lk.len);
	r.name = def->name;
	r.labels = labels;
	r.help = def->help ? def->help : "";
	r.unit = def->unit ? def->unit : "";
	r.shape = shape;
	r.type = shmstat__type_of(shape->type);
	if (r.type == NULL || r.type->handle_size < sizeof(struct shmstat_counter))
		return shmstat__fail(EINVAL, "metric '%s': type %u is unknown", def->name,
				     (unsigned)shape->type);

	/* again only when the metric was removed (and reclaimed, and
	 * perhaps refilled) between finding it and publishing our handle */
	for (int tries = 0; tries < 8; tries++) {
		err = register_once(seg, shape, &r, &lk, out);
		if (err != EAGAIN)
			return err;
		shmstat__drop_removed(seg);
	}
	return shmstat__fail(SHMSTAT_EBUSY,
			     "metric '%s{%s}' of segment '%s' was removed during each of 8 registrations",
			     def->name, labels, seg->name);
}

/* ----------------------------------------------------------------- removal */

/* Drop our handles of removed metrics: they do nothing from now on, and
 * leave the index (their memory stays until shmstat_close(): the program
 * may hold them). */
void shmstat__drop_removed(struct shmstat_seg *seg)
{
	struct cds_lfht_iter iter;
	struct lhandle *h;

	shmstat__rcu_read_begin();
	cds_lfht_for_each_entry(seg->index, &iter, h, node) {
		const struct shmstat_desc *d;

		tsan_acquire(h);
		/* as in shmstat__index_destroy() */
		/* cppcheck-suppress uninitvar */
		d = &seg->descs[h->desc];
		if (SHMSTAT_DESC_STATE(ld_acquire(&d->word)) == SHMSTAT_DESC_LIVE &&
		    d->reg_id == h->reg_id)
			continue;
		unpublish(seg, h, true);
	}
	shmstat__rcu_read_end();
}

static int quiesce(shmstat_seg *seg)
{
	uint64_t seq;

	shmstat__clear_error();
	if (seg == NULL)
		return shmstat__fail(EINVAL, "segment is missing");
	/* under the lock: a registration that checks its new handle after
	 * this (handle_current()) reads the descriptor's word after this
	 * read, so it sees every removal this read counts */
	shmstat__tls_lock();
	seq = ld_acquire(&seg->hdr->retire_seq);
	shmstat__tls_unlock();
	shmstat__drop_removed(seg);
	/* the process acknowledges what all its threads have: the others
	 * do at their next update (counter.c) */
	shmstat__tls_lock();
	shmstat__ack_request(seg, seq);
	shmstat__tls_unlock();
	return 0;
}

/* What remove_at() found at a descriptor */
#define REMOVE_NOT_HERE 1       /* another metric: probe on */
#define REMOVE_END 2            /* a free descriptor: no such metric */

/* Retire metric @r if descriptor @d holds it: 0 (retired, or retired by
 * another process meanwhile), REMOVE_NOT_HERE, REMOVE_END, or EINVAL (a
 * type that cannot be removed). Under the process's lock, from the read
 * of the word to its sequence: this process publishes no acknowledgement
 * meanwhile (shmstat__ack_request(), the threads' own acks: all under
 * that lock), so no removal it has not acknowledged yet is reclaimed.
 * Without it, a thread stopped here (one that never updates, so that the
 * process acknowledges without it) could see the metric removed by
 * another process, reclaimed, and its descriptor claimed by this process
 * for another metric, whose LIVE word is the same word: the CAS would
 * retire that metric. And a PENDING word completed by a reaper,
 * reclaimed, taken and removed again could get our older sequence. */
static int remove_at(struct shmstat_seg *seg, struct shmstat_desc *d, const struct regreq *r)
{
	const struct shmstat__type *t;
	uint64_t w;
	int ret = 0;

	shmstat__tls_lock();
	w = ld_acquire(&d->word);
	if (SHMSTAT_DESC_STATE(w) == SHMSTAT_DESC_FREE) {
		ret = REMOVE_END;
	} else if (SHMSTAT_DESC_STATE(w) != SHMSTAT_DESC_LIVE || !desc_matches(d, r)) {
		ret = REMOVE_NOT_HERE;
	} else if ((t = shmstat__type_of(d->type)) == NULL || !t->removable) {
		ret = EINVAL;
	} else {
		SHMSTAT_HOOK(SHMSTAT_HOOK_REMOVE_MATCHED, d);
		/* retired first (with a sequence no grace period reaches),
		 * then the sequence: a writer that acknowledges the new
		 * sequence has seen the metric retired and dropped its
		 * handle. If we die in between, a reaper gives it one. A
		 * failed CAS: removed meanwhile. */
		if (cas_acqrel(&d->word, &w, SHMSTAT_DESC_PENDING)) {
			SHMSTAT_HOOK(SHMSTAT_HOOK_REMOVE_PENDING, d);
			shmstat__retire_pending(seg, d);
		}
	}
	shmstat__tls_unlock();
	return ret;
}

static int remove_one(shmstat_seg *seg, const struct shmstat_metric_def *def)
{
	char labels[SHMSTAT_LABELS_CAP];
	char key[SHMSTAT_NAME_CAP + SHMSTAT_LABELS_CAP];
	const struct shmstat__type *t;
	struct regreq r = { 0 };
	size_t len;
	uint32_t i;
	int err;

	shmstat__clear_error();
	if (seg == NULL || def == NULL)
		return shmstat__fail(EINVAL, "segment or metric definition is missing");
	err = shmstat__check_metric_name(def->name);
	if (!err)
		err = shmstat__canon_labels(def->labels, labels, sizeof(labels));
	if (err)
		return err;
	len = strlen(def->name) + 1 + strlen(labels);
	memcpy(key, def->name, strlen(def->name) + 1);
	/* the key is name NUL labels, @len bytes: no terminating NUL
	 * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(key + strlen(def->name) + 1, labels, strlen(labels));
	r.name = def->name;
	r.labels = labels;
	r.hash = shmstat__hash(key, len);
	i = (uint32_t)(r.hash % seg->max_metrics);
	for (uint32_t n = 0; n < seg->max_metrics; n++, i = (i + 1 == seg->max_metrics) ? 0 : i + 1) {
		const int got = remove_at(seg, &seg->descs[i], &r);

		if (got == REMOVE_NOT_HERE)
			continue;
		if (got == REMOVE_END)
			break;
		if (got != 0) {
			t = shmstat__type_of(seg->descs[i].type);
			return shmstat__fail(EINVAL, "%s '%s' cannot be removed",
					     t ? t->name : "metric", def->name);
		}
		return shmstat_quiesce(seg);
	}
	return shmstat__fail(ENOENT, "metric '%s{%s}' is not in segment '%s'", def->name, labels,
			     seg->name);
}

/* Registration, removal and quiesce are no cancellation points, as
 * shmstat_open() (attach.c): a thread cancelled in one (a reap's read of
 * /proc, a grace period) would leave a lock or a slot half-claimed. */
int shmstat__register(struct shmstat_seg *seg, const struct shmstat_metric_def *def,
		      const struct shmstat_shape *shape, struct shmstat_counter **out)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = register_one(seg, def, shape, out);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

int shmstat_quiesce(shmstat_seg *seg)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = quiesce(seg);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

int shmstat_remove(shmstat_seg *seg, const struct shmstat_metric_def *def)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = remove_one(seg, def);
	pthread_setcancelstate(cancel, NULL);
	return err;
}
