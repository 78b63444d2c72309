/*
 * shmstat_inline.h - inline fast paths for counters, gauges and sampled
 * timers (opt-in).
 *
 * shmstat_counter_add() is a call into the library: about 1 ns here, a
 * few times the cost of the plain load and store it performs, and in a
 * real service more (the call through the PLT, the caller's registers
 * saved around it). Programs that count in their innermost loops can
 * include this header and use shmstat_counter_add_inline() and
 * shmstat_gauge_add_inline(), which perform that load and store in the
 * caller and call the library only on the first update of a thread, for
 * shared stripes and for do-nothing handles; and the sampled timer's
 * calls, whose common case (not sampled) is a countdown in the caller.
 *
 * Including it makes the handle layouts and the per-thread variables below
 * part of the binary interface between your program and libshmstat: it is
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

/* A gauge handle: a counter's, whatever its aggregation (an add is the
 * same store into the thread's stripe). */
struct shmstat_gauge {
	struct shmstat_counter c;
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

/* a conversion that C++ -Wold-style-cast and C -Wsign-conversion accept */
#ifdef __cplusplus
#define SHMSTAT__U64(x) static_cast<uint64_t>(x)
#else
#define SHMSTAT__U64(x) ((uint64_t)(x))
#endif

SHMSTAT_API extern __thread struct shmstat__tls_ent shmstat__tls[SHMSTAT_TLS_SLOTS]
	__attribute__((tls_model("initial-exec")));

/* This thread's calls of shmstat_timer_start_sampled() left before the
 * next one that is sampled. */
SHMSTAT_API extern __thread uint32_t shmstat__sample_left
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

/** shmstat_gauge_add_inline - shmstat_gauge_add(), inlined. */
static inline void shmstat_gauge_add_inline(shmstat_gauge *g, int64_t d)
{
	shmstat_counter_add_inline(&g->c, SHMSTAT__U64(d));
}

/** shmstat_gauge_sub_inline - shmstat_gauge_sub(), inlined. */
static inline void shmstat_gauge_sub_inline(shmstat_gauge *g, int64_t d)
{
	shmstat_counter_add_inline(&g->c, UINT64_C(0) - SHMSTAT__U64(d));
}

/**
 * shmstat_timer_start_sampled_inline - shmstat_timer_start_sampled(),
 * its calls that are not sampled (0) inlined: a countdown.
 */
static inline uint64_t shmstat_timer_start_sampled_inline(unsigned n)
{
	uint32_t until = shmstat__sample_left;

	if (__builtin_expect(until > 0, 1)) {
		shmstat__sample_left = until - 1;
		return 0;
	}
	return shmstat_timer_start_sampled(n);
}

/**
 * shmstat_timer_stop_inline - shmstat_timer_stop(), a @start of 0 (not
 * sampled) inlined: nothing to record.
 */
static inline void shmstat_timer_stop_inline(shmstat_hist *h, uint64_t start)
{
	if (start != 0)
		shmstat_timer_stop(h, start);
}

#ifdef __cplusplus
}
#endif

#endif
