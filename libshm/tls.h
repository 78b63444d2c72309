/*
 * tls.h - per-thread stripes: which stripe of a segment a thread writes.
 *
 * Each thread of a writer process owns one stripe of a segment (claimed on
 * its first update, given back to its process when it exits), so an
 * increment is a relaxed load and store on a cache line no other thread
 * writes. When no stripe is free, the thread falls back to its process's
 * shared stripe and atomic adds. A per-thread table (initial-exec TLS)
 * maps a segment's slot to the thread's stripe; handles carry the slot and
 * an epoch, so a stale table entry is never used for a newer segment.
 */
#ifndef SHMSTAT_TLS_H
#define SHMSTAT_TLS_H

#include <stdbool.h>
#include <stdint.h>
#include "shmstat_inline.h"        /* struct shmstat_counter, the TLS table */
#include "segment.h"

#define SHMSTAT_EPOCH_NONE UINT32_MAX   /* carried by do-nothing handles */

/* Hold a slot of the per-thread tables for an open of segment @name,
 * before it creates anything (0 or SHMSTAT_EFULL: this process has 16
 * segments open, or being opened); shmstat__tls_attach() takes it, and
 * an open that fails before gives it back with shmstat__tls_unreserve(). */
SHMSTAT_HIDDEN int shmstat__tls_reserve(const char *name);
SHMSTAT_HIDDEN void shmstat__tls_unreserve(void);

/* Give @seg a slot in the per-thread tables (0 or SHMSTAT_EFULL), the one
 * shmstat__tls_reserve() held for it. */
SHMSTAT_HIDDEN int shmstat__tls_attach(struct shmstat_seg *seg);
SHMSTAT_HIDDEN void shmstat__tls_detach(struct shmstat_seg *seg);

/* Call @fn on every segment this process has attached. Only in a fork
 * handler of the child (one thread, no lock taken: @fn may take it). */
SHMSTAT_HIDDEN void shmstat__tls_each(void (*fn)(struct shmstat_seg *seg));

/* The process-wide lock of the per-thread tables (also held across
 * fork(), and by registration and shmstat_quiesce() where they must
 * order against each other: registry.c). Not on any hot path. */
SHMSTAT_HIDDEN void shmstat__tls_lock(void);
SHMSTAT_HIDDEN void shmstat__tls_unlock(void);

/* This thread's stripe for the attachment of @seg (slot, epoch), claimed
 * on first use; NULL when the process has no writer slot. */
SHMSTAT_HIDDEN const struct shmstat__tls_ent *shmstat__tls_get(struct shmstat_seg *seg,
							       uint32_t slot, uint32_t epoch);

/* Add @n to value slot @off of this thread's stripe @t: a plain load and
 * store on an owned stripe, an atomic add on a shared one. */
static inline void shmstat__add_to(const struct shmstat__tls_ent *t, uint32_t off, uint64_t n)
{
	uint64_t *p = t->values + off;

	if (likely(!t->shared))
		st_relaxed(p, ld_relaxed(p) + n);
	else
		add_relaxed(p, n);
}

/* This thread's stripe for metric @c (claimed on first use); NULL for a
 * do-nothing handle or a process without a writer slot. The common case
 * inline: the thread's own stripe, one compare. The slow path registers
 * the thread (claim) or acknowledges removals when asked, then checks
 * @c again. */
SHMSTAT_HIDDEN const struct shmstat__tls_ent *shmstat__tls_slow(struct shmstat_counter *c);

static inline const struct shmstat__tls_ent *shmstat__tls_for(struct shmstat_counter *c)
{
	const struct shmstat__tls_ent *t = &shmstat__tls[c->tls_slot];

	if (likely(ld_relaxed(&t->fast) == ld_relaxed(&c->epoch)))
		return t;
	return shmstat__tls_slow(c);
}

/* A thread about to store into @c's slots of its process stripe (a
 * gauge's set): it takes part in the acknowledgement of removals as a
 * thread with a stripe does, but takes no stripe. false: the handle does
 * nothing. */
SHMSTAT_HIDDEN bool shmstat__tls_enter(struct shmstat_counter *c);

/* shmstat_quiesce(), with slots_lock held, after dropping the process's
 * handles of removals up to @seq: raise seg->want to @seq, acknowledge
 * for the calling thread, ask every other registered thread that has not
 * acknowledged as much to do so at its next update, and publish the
 * process's acknowledgement (the smallest of its threads'). */
SHMSTAT_HIDDEN void shmstat__ack_request(struct shmstat_seg *seg, uint64_t seq);

#endif
