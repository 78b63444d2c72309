/*
 * tls.c - stripes for threads: claim, release at thread exit, fork, and
 * the acknowledgement of removals (the core's; the types' hot paths,
 * counter.c, histogram.c, sigtable.c, write through what it hands out).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "grace.h"
#include "hook.h"
#include "procs.h"
#include "rcuuse.h"
#include "segment.h"
#include "tls.h"
#include "type.h"

/* ----------------------------------------------------- per-thread stripes */

/* The table is public for shmstat_inline.h; `fast` equals the epoch only
 * for an owned stripe, so one compare admits the plain-store path. */
#define tls_ent shmstat__tls_ent
#define tls_tab shmstat__tls
__thread struct shmstat__tls_ent shmstat__tls[SHMSTAT_TLS_SLOTS]
	__attribute__((tls_model("initial-exec")));

/* Process-wide: which segment holds which slot. */
static struct {
	struct shmstat_seg *seg;
	uint32_t epoch;
} slots[SHMSTAT_TLS_SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t next_epoch = 1;
/* Slots held for opens under way (shmstat__tls_reserve()): a slot each,
 * taken by its shmstat__tls_attach() */
static uint32_t reserved;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

/* Acknowledgement of removals, per thread. A thread that updates metrics
 * of an attachment is registered on seg->threads with the removals it
 * has acknowledged (retire sequences up to `acked`): it will start no
 * update through a handle of a metric removed at or before that. The
 * process's ack_seq in the segment is the smallest of its threads'
 * (and seg->want): shmstat_quiesce() cannot know whether another thread
 * is between the check of its handle and its store, so that thread
 * acknowledges for itself, at its next update (shmstat_quiesce() asks it
 * by clearing its `fast`, so that the update takes the slow path), its
 * own shmstat_quiesce(), or its exit. All fields under slots_lock. */
struct shmstat__qrec {
	struct shmstat__qrec *next;        /* on seg->threads */
	struct tls_ent *ent;               /* the thread's entry for seg */
	struct shmstat_seg *seg;           /* registered on it, or NULL */
	uint64_t acked;
};
/* not initial-exec: used off the hot path only, and static TLS is scarce
 * for a library that may be loaded late */
static __thread struct shmstat__qrec qrecs[SHMSTAT_TLS_SLOTS];

/* Store the process's acknowledgement: the smallest of its threads'
 * (slots_lock held). It only grows: a thread registers with seg->want. */
static void publish_ack(struct shmstat_seg *seg)
{
	uint64_t min = seg->want;

	if (seg->proc >= seg->max_procs)
		return;
	for (const struct shmstat__qrec *r = seg->threads; r; r = r->next)
		if (r->acked < min)
			min = r->acked;
	/* release: this process's stores into value slots of the removals
	 * up to min (the threads' last ones, before they acknowledged under
	 * this lock) come before it for a reaper that reads it (acquire) */
	if (min > ld_relaxed(&seg->procs[seg->proc].ack_seq))
		st_release(&seg->procs[seg->proc].ack_seq, min);
}

static void unregister_thread(struct shmstat__qrec *r)
{
	struct shmstat__qrec **pp = &r->seg->threads;

	while (*pp && *pp != r)
		pp = &(*pp)->next;
	if (*pp)
		*pp = r->next;
	publish_ack(r->seg);
	r->seg = NULL;
	r->next = NULL;
}

/* This thread acknowledges what shmstat_quiesce() asked for (slow path,
 * between two of its updates: it is in the middle of none). */
static void ack_self(struct shmstat_seg *seg, struct tls_ent *t)
{
	struct shmstat__qrec *r = &qrecs[seg->tls_slot];

	pthread_mutex_lock(&slots_lock);
	if (r->seg == seg)
		r->acked = seg->want;
	st_relaxed(&t->req, 0);
	st_relaxed(&t->fast, t->shared ? 0 : t->epoch);
	publish_ack(seg);
	pthread_mutex_unlock(&slots_lock);
}

/* This thread (entry @t of @seg) on seg->threads, having acknowledged
 * every removal so far: it is between two updates (slots_lock held). */
static void enlist(struct shmstat_seg *seg, struct tls_ent *t)
{
	struct shmstat__qrec *r = &qrecs[seg->tls_slot];

	if (r->seg != seg) {
		r->seg = seg;
		r->next = seg->threads;
		seg->threads = r;
	}
	r->ent = t;
	r->acked = seg->want;
	st_relaxed(&t->req, 0);
}

void shmstat__ack_request(struct shmstat_seg *seg, uint64_t seq)
{
	const struct shmstat__qrec *self = &qrecs[seg->tls_slot];

	if (seq > seg->want)
		seg->want = seq;
	for (struct shmstat__qrec *r = seg->threads; r; r = r->next) {
		if (r == self) {
			r->acked = seg->want;   /* the caller updates nothing now */
		} else if (r->acked < seg->want) {
			/* its next update takes the slow path, which acks */
			st_relaxed(&r->ent->req, 1);
			st_relaxed(&r->ent->fast, 0);
		}
	}
	publish_ack(seg);
}

/* A thread exits: its stripes go back to their process, values (and
 * signature summaries) kept for the process's next thread. */
static void thread_exit(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&slots_lock);
	for (uint32_t i = 0; i < SHMSTAT_TLS_SLOTS; i++) {
		struct tls_ent *t = &tls_tab[i];
		struct shmstat_seg *seg = slots[i].seg;

		if (qrecs[i].seg != NULL)
			unregister_thread(&qrecs[i]);   /* it updates nothing any more */
		if (t->epoch != 0 && seg && slots[i].epoch == t->epoch && !t->shared) {
			st_release(&seg->owners[t->stripe],
				   SHMSTAT_STRIPE_WORD(SHMSTAT_STRIPE_IDLE, seg->proc));
		}
		memset(t, 0, sizeof(*t));
	}
	pthread_mutex_unlock(&slots_lock);
}

/* fork(): the child is a new writer with its own process slot; the
 * forking thread's stripes stay the parent's. It takes part in a
 * MIN/MAX/LAST gauge once it sets or registers it. No thread of ours is
 * inside liburcu meanwhile (registry.c, urcu_use: liburcu's own fork
 * hooks are not called, another caller of them would hang the fork). */
/* per attachment: the slot claimed for the child, the parent's tag, the
 * claim's stamp */
static uint32_t fork_slot[SHMSTAT_TLS_SLOTS];
static uint64_t fork_tag[SHMSTAT_TLS_SLOTS], fork_stamp[SHMSTAT_TLS_SLOTS];
/* the forking thread's cancelability, given back once fork() is done
 * (under slots_lock, which fork() holds from the prepare handler to the
 * parent's or child's: not a thread-local, static TLS being scarce for a
 * library that may be loaded late, stress/test_dlclose.c) */
static int fork_cancel;
/* the forking thread's errno before fork() (under slots_lock, as above) */
static int fork_errno;

static void fork_prepare(void)
{
	/* fork() is no cancellation point, but what its handlers call is:
	 * the waits for a slot (nanosleep(), the reaper lock holder's /proc
	 * files). A thread with a cancel
	 * pending was cancelled inside fork(), leaving slots_lock,
	 * liburcu's locks and glibc's lock of the fork handlers held for
	 * good (the process's next fork() or shmstat_close() hung) */
	const int err = errno;
	int cancel;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	shmstat__urcu_fork_prepare();
	pthread_mutex_lock(&slots_lock);
	fork_cancel = cancel;
	for (uint32_t i = 0; i < SHMSTAT_TLS_SLOTS; i++) {
		struct shmstat_seg *seg = slots[i].seg;

		fork_slot[i] = seg ? shmstat__proc_preclaim(seg, &fork_stamp[i]) : UINT32_MAX;
		if (seg && fork_slot[i] == UINT32_MAX && seg->proc < seg->max_procs) {
			struct shmstat_slot_wait sw = { .seen = 0 };

			/* dead children may hold every slot; another process
			 * may be folding them for longer than the reap waits
			 * (attach.c, claim_proc()) */
			shmstat__reap(seg);
			while ((fork_slot[i] = shmstat__proc_preclaim(seg, &fork_stamp[i])) ==
				       UINT32_MAX &&
			       shmstat__reap_for_slot(seg, &sw))
				;
		}
		fork_tag[i] = seg ? seg->tag : 0;
	}
	/* fork() sets errno only when it fails, and glibc runs the parent
	 * handlers then too: fork_parent() tells the two apart by it */
	fork_errno = err;
	errno = 0;
}

/* In the parent: a fork() that failed (EAGAIN from a pids limit, ENOMEM)
 * made no child, and the slots claimed for it stayed CLAIMING with our
 * live tag for 10 s, holding back removals' grace periods: a master that
 * retried its fork() in a loop took every slot within milliseconds, and
 * the worker forked once it succeeded had none and counted nothing for
 * its whole life (tests/stress/test_fork_fail.c). Give them up and fold
 * them. errno set by another library's handler takes the same way: the
 * child then claims a slot of its own (attach.c, fork_orphan()).
 * A child killed before it ran (a master that kills the workers it has
 * just forked) never adopts its claim either, which stayed CLAIMING with
 * our live tag for 10 s: once such claims held every slot, the workers
 * forked next had none (16 workers killed at once, then 16 that counted
 * 1,000 each: 0 counted). So a claim gets the child's tag here: any
 * reaper folds it once the child is gone. */
static void fork_parent(void)
{
	const int cancel = fork_cancel;
	/* glibc sets fork()'s errno again after the handlers if it failed */
	const bool failed = errno != 0;
	const int err = failed ? errno : fork_errno;
	uint64_t child = UINT64_MAX;     /* the new child's tag, read once */

	for (uint32_t i = 0; i < SHMSTAT_TLS_SLOTS; i++) {
		struct shmstat_seg *seg = slots[i].seg;

		if (seg == NULL || fork_slot[i] >= seg->max_procs)
			continue;
		if (failed) {
			if (shmstat__proc_unclaim(seg, fork_slot[i], fork_stamp[i]))
				shmstat__reap_wait(seg, 0);
			continue;
		}
		if (child == UINT64_MAX) {
			child = shmstat__newest_child_tag();
			SHMSTAT_HOOK(SHMSTAT_HOOK_FORK_RETAG, &child);
		}
		/* the claim carries the child's tag: any reaper folds it once
		 * the child is gone (without the tag, the claim is stale 10 s
		 * after the fork) */
		(void)shmstat__proc_retag(seg, fork_slot[i], fork_stamp[i], child);
	}
	pthread_mutex_unlock(&slots_lock);
	shmstat__urcu_fork_parent();
	pthread_setcancelstate(cancel, NULL);
	errno = err;
}

static void fork_child(void)
{
	const int cancel = fork_cancel;

	memset(tls_tab, 0, sizeof(tls_tab));
	memset(qrecs, 0, sizeof(qrecs));
	reserved = 0;               /* the opens under way were other threads' */
	for (uint32_t i = 0; i < SHMSTAT_TLS_SLOTS; i++) {
		struct shmstat_seg *seg = slots[i].seg;

		if (seg == NULL)
			continue;
		seg->threads = NULL;        /* only this thread, with no stripe yet */
		/* another thread of the parent may have been folding: its map
		 * is not this process's (grace.c builds its own) */
		seg->fold_map = NULL;
		seg->fold_own = NULL;
		seg->nmine = 0;             /* the parent's stripes, not ours */
		seg->pid = getpid();
		seg->tag = shmstat__self_tag();
		/* the child holds its parent's handles: the slot claimed
		 * before the fork carries the parent's acknowledgement, so
		 * no removal's grace period ends without the child */
		SHMSTAT_HOOK(SHMSTAT_HOOK_FORK_ADOPT, seg);
		seg->orphan = false;
		/* not the parent's slot lock (it must go when the parent
		 * dies, not when we do): the lock of the slot claimed for
		 * us, with a description of our own, before we adopt it
		 * (procs.c, "The lock of a slot") */
		shmstat__proc_lock_forget(seg);
		shmstat__reaper_forget(seg);
		(void)shmstat__proc_lock(seg, fork_slot[i]);
		if (shmstat__proc_adopt(seg, fork_slot[i], fork_tag[i], fork_stamp[i]) != 0) {
			shmstat__proc_unlock(seg);
			seg->proc = UINT32_MAX;     /* updates do nothing, */
			/* unless attach.c's handler, next, claims a slot */
			seg->orphan = fork_slot[i] < seg->max_procs;
		}
	}
	pthread_mutex_unlock(&slots_lock);
	shmstat__urcu_fork_child();
	/* the child reaps, as a process that attaches does: the parent
	 * reaps only when no slot is free, so the thread stripes and
	 * signature summaries of dead siblings (SIGKILLed, or exited
	 * without shmstat_close()) would otherwise stay taken until the
	 * slots run out, and this child's threads would share its process
	 * stripe and count their signature events unsummarized. One try of
	 * the reaper lock: a live holder is reaping already. */
	for (uint32_t i = 0; i < SHMSTAT_TLS_SLOTS; i++)
		if (slots[i].seg != NULL && slots[i].seg->proc < slots[i].seg->max_procs)
			shmstat__reap_wait(slots[i].seg, 0);      /* adopted */
	pthread_setcancelstate(cancel, NULL);
	errno = fork_errno;
}

void shmstat__tls_each(void (*fn)(struct shmstat_seg *seg))
{
	for (uint32_t i = 0; i < SHMSTAT_TLS_SLOTS; i++)
		if (slots[i].seg != NULL)
			fn(slots[i].seg);
}

static void make_key(void)
{
	pthread_key_create(&exit_key, thread_exit);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void shmstat__tls_lock(void)
{
	pthread_mutex_lock(&slots_lock);
}

void shmstat__tls_unlock(void)
{
	pthread_mutex_unlock(&slots_lock);
}

int shmstat__tls_reserve(const char *name)
{
	uint32_t used;

	pthread_mutex_lock(&slots_lock);
	used = reserved;
	for (uint32_t i = 0; i < SHMSTAT_TLS_SLOTS; i++)
		used += slots[i].seg != NULL;
	if (used < SHMSTAT_TLS_SLOTS)
		reserved++;
	pthread_mutex_unlock(&slots_lock);
	if (used >= SHMSTAT_TLS_SLOTS)
		return shmstat__fail(SHMSTAT_EFULL,
				     "cannot open segment '%s': this process has %u segments open already",
				     name, SHMSTAT_TLS_SLOTS);
	return 0;
}

void shmstat__tls_unreserve(void)
{
	pthread_mutex_lock(&slots_lock);
	if (reserved > 0)
		reserved--;
	pthread_mutex_unlock(&slots_lock);
}

int shmstat__tls_attach(struct shmstat_seg *seg)
{
	int err = SHMSTAT_EFULL;

	pthread_once(&exit_once, make_key);
	pthread_mutex_lock(&slots_lock);
	if (reserved > 0)
		reserved--;             /* ours: a slot is free for it */
	for (uint32_t i = 0; i < SHMSTAT_TLS_SLOTS; i++) {
		if (slots[i].seg == NULL) {
			if (next_epoch == 0 || next_epoch == SHMSTAT_EPOCH_NONE)
				next_epoch = 1;
			slots[i].seg = seg;
			slots[i].epoch = next_epoch++;
			seg->tls_slot = i;
			seg->epoch = slots[i].epoch;
			err = 0;
			break;
		}
	}
	pthread_mutex_unlock(&slots_lock);
	if (err)
		return shmstat__fail(err,
				     "cannot open segment '%s': this process has %u segments open already",
				     seg->name, SHMSTAT_TLS_SLOTS);
	/* without it, gauge sets read every owner word (counter.c) */
	seg->mine = malloc(((size_t)seg->nstripes - SHMSTAT_GRAVES - seg->max_procs + 1) *
			   sizeof(*seg->mine));
	seg->nmine = 0;
	return 0;
}

void shmstat__tls_detach(struct shmstat_seg *seg)
{
	pthread_mutex_lock(&slots_lock);
	while (seg->threads) {
		struct shmstat__qrec *r = seg->threads;

		seg->threads = r->next;
		r->seg = NULL;
		r->next = NULL;
	}
	if (seg->tls_slot < SHMSTAT_TLS_SLOTS && slots[seg->tls_slot].seg == seg) {
		slots[seg->tls_slot].seg = NULL;
		slots[seg->tls_slot].epoch = 0;
	}
	free(seg->mine);
	seg->mine = NULL;
	seg->nmine = 0;
	pthread_mutex_unlock(&slots_lock);
}

/* Slow path: the first update of @seg by this thread. Take back an idle
 * stripe of our process, else a free one, else share the process stripe. */
static struct tls_ent *claim(struct shmstat_seg *seg)
{
	struct tls_ent *t;
	const uint64_t idle = SHMSTAT_STRIPE_WORD(SHMSTAT_STRIPE_IDLE, seg->proc);
	const uint64_t mine = SHMSTAT_STRIPE_WORD(SHMSTAT_STRIPE_OWNED, seg->proc);
	const uint32_t first = SHMSTAT_GRAVES + seg->max_procs;
	const uint32_t n = seg->nstripes - first;
	uint32_t got = UINT32_MAX;
	bool was_free = false;

	if (seg->proc >= seg->max_procs)
		return NULL;                /* no writer slot: do nothing */
	SHMSTAT_EACH_TYPE(thread_start, seg);   /* the profiler learns its stack */
	t = &tls_tab[seg->tls_slot];
	for (uint32_t i = first; i < seg->nstripes && got == UINT32_MAX; i++) {
		uint64_t w = idle;

		if (ld_relaxed(&seg->owners[i]) == idle && cas_acqrel(&seg->owners[i], &w, mine))
			got = i;
	}
	if (got == UINT32_MAX) {
		uint32_t start = ld_relaxed(&seg->hdr->stripe_hint);

		if (start < first || start >= seg->nstripes)
			start = first;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t i = first + (start - first + k) % n;
			uint64_t w = SHMSTAT_STRIPE_WORD(SHMSTAT_STRIPE_FREE, 0);

			if (ld_relaxed(&seg->owners[i]) == w && cas_acqrel(&seg->owners[i], &w, mine)) {
				got = i;
				was_free = true;
				st_relaxed(&seg->hdr->stripe_hint, first + (i - first + 1) % n);
				break;
			}
		}
	}
	if (got == UINT32_MAX) {
		t->stripe = SHMSTAT_PROC_STRIPE(seg->proc);
		t->shared = 1;
	} else {
		t->stripe = got;
		t->shared = 0;
	}
	t->values = shmstat__stripe(seg, t->stripe);
	t->epoch = seg->epoch;
	pthread_mutex_lock(&slots_lock);
	/* a stripe taken back idle is on the list already (only this
	 * attachment's threads mark stripes with its slot), a free one
	 * goes on it before this thread stores into it */
	if (was_free && seg->mine != NULL &&
	    seg->nmine < seg->nstripes - SHMSTAT_GRAVES - seg->max_procs) {
		seg->mine[seg->nmine] = got;
		st_release(&seg->nmine, seg->nmine + 1);
	}
	/* it has dropped nothing yet, but the caller checks its handle
	 * again after this (shmstat__tls_slow()): what a quiesce dropped
	 * before is seen then */
	enlist(seg, t);
	st_relaxed(&t->fast, t->shared ? 0 : seg->epoch);
	pthread_mutex_unlock(&slots_lock);
	pthread_setspecific(exit_key, (void *)1);
	return t;
}

/* ------------------------------------------------------ the types' way in */

const struct shmstat__tls_ent *shmstat__tls_get(struct shmstat_seg *seg, uint32_t slot,
						 uint32_t epoch)
{
	struct tls_ent *t = &tls_tab[slot];

	if (t->epoch != epoch)
		return claim(seg);
	if (unlikely(ld_relaxed(&t->req) != 0))
		ack_self(seg, t);
	return t;
}

const struct shmstat__tls_ent *shmstat__tls_slow(struct shmstat_counter *c)
{
	const uint32_t epoch = ld_relaxed(&c->epoch);
	const struct tls_ent *t;

	if (epoch == SHMSTAT_EPOCH_NONE) {
		/* a removed metric's handle: still a moment between two
		 * updates, at which this thread can acknowledge */
		struct shmstat_seg *seg = c->seg;

		if (seg != NULL && c->tls_slot < SHMSTAT_TLS_SLOTS) {
			struct tls_ent *own = &tls_tab[c->tls_slot];

			if (unlikely(ld_relaxed(&own->req) != 0) && own->epoch == seg->epoch)
				ack_self(seg, own);
		}
		return NULL;
	}
	t = shmstat__tls_get(c->seg, c->tls_slot, epoch);
	/* again: if claim() or ack_self() took the lock after a quiesce
	 * dropped this handle, it does nothing now */
	if (t == NULL || ld_relaxed(&c->epoch) != epoch)
		return NULL;
	return t;
}

/* A thread that only sets gauges would use up a stripe for nothing. */
bool shmstat__tls_enter(struct shmstat_counter *c)
{
	const uint32_t epoch = ld_relaxed(&c->epoch);
	struct shmstat_seg *seg = c->seg;
	struct tls_ent *t = &tls_tab[c->tls_slot];
	struct shmstat__qrec *r = &qrecs[c->tls_slot];

	if (epoch == SHMSTAT_EPOCH_NONE || t->epoch == epoch)
		return shmstat__tls_for(c) != NULL;     /* removed, or a stripe of its own */
	if (seg->proc >= seg->max_procs)
		return false;
	if (r->seg != seg || ld_relaxed(&t->req) != 0) {
		/* first time, or asked to acknowledge: between two updates */
		pthread_mutex_lock(&slots_lock);
		enlist(seg, t);
		publish_ack(seg);
		pthread_mutex_unlock(&slots_lock);
		pthread_setspecific(exit_key, (void *)1);
	}
	/* again: a quiesce may have dropped it before we registered */
	return ld_relaxed(&c->epoch) == epoch;
}

