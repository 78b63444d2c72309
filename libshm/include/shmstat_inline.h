/*
 * shmstat_inline.h - inline fast path for counters (opt-in).
 *
 * shmstat_counter_add() is a call into the library: about 1 ns here, a
 * few times the cost of the plain load and store it performs. Programs that
 * count in their innermost loops can include this header and use
 * shmstat_counter_add_inline(), which performs that load and store in the
 * caller and calls the library only on the first update of a thread, for
 * shared stripes and for do-nothing handles.
 *
 * Including it makes the handle layout and the per-thread table below part
 * of the binary interface between your program and libshmstat: it is
 * versioned with the library's soname (libshmstat.so.0). Programs that only
 * include shmstat.h depend on no layout at all.
 *
 * Same contract as shmstat_counter_add(): any thread, no lock, no system
 * call, no allocation after the thread's first update of the segment.
 */
#ifndef SHMSTAT_INLINE_H
#define SHMSTAT_INLINE_H

#include <shmstat.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A counter or gauge handle. */
struct shmstat_counter {
	uint32_t epoch;            /* attachment it belongs to; never 0 */
	uint32_t tls_slot;         /* index in shmstat__tls */
	uint32_t off;              /* first value slot */
	uint32_t agg;              /* gauges: enum shmstat_agg */
	struct shmstat_seg *seg;
};

/* One entry of the per-thread table: the stripe this thread writes. */
struct shmstat__tls_ent {
	uint64_t *values;          /* base of the stripe */
	uint32_t fast;             /* == epoch when the stripe is this thread's own */
	uint32_t epoch;            /* 0: none; else the attachment's epoch */
	uint32_t stripe;
	uint32_t shared;           /* 1: the process stripe, atomic adds */
	uint64_t req;              /* library-private (removals: an acknowledgement asked) */
};

#define SHMSTAT_TLS_SLOTS 16u

SHMSTAT_API extern __thread struct shmstat__tls_ent shmstat__tls[SHMSTAT_TLS_SLOTS]
	__attribute__((tls_model("initial-exec")));

/** shmstat_counter_add_inline - shmstat_counter_add(), inlined. */
static inline void shmstat_counter_add_inline(shmstat_counter *c, uint64_t n)
{
	struct shmstat__tls_ent *t = &shmstat__tls[c->tls_slot];

	/* relaxed loads, plain moves: another thread's shmstat_quiesce()
	 * may write both */
	if (__builtin_expect(__atomic_load_n(&t->fast, __ATOMIC_RELAXED) ==
			     __atomic_load_n(&c->epoch, __ATOMIC_RELAXED), 1)) {
		uint64_t *p = t->values + c->off;

		__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
	} else {
		shmstat_counter_add(c, n);
	}
}

/** shmstat_counter_inc_inline - add 1, inlined. */
static inline void shmstat_counter_inc_inline(shmstat_counter *c)
{
	shmstat_counter_add_inline(c, 1);
}

#ifdef __cplusplus
}
#endif

#endif
