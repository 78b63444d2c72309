/*
 * soak.h - what the soak test (test_soak.c, built with ThreadSanitizer)
 * and its reader process (soak_reader.c, built without sanitizer) share:
 * the shape of the load, the metric names, the event of a step, and the
 * control page.
 *
 * The control page is a memfd of the test process, mapped MAP_SHARED
 * before any fork: writer processes inherit the mapping, the reader gets
 * the descriptor as fd 3 across exec. Writers publish in it, per thread,
 * how many steps they have done (the "acknowledged" count, stored with
 * release AFTER the step's last shmstat call returned) and how far into
 * the current step they are; the test process publishes how many times it
 * killed each writer slot.
 */
#ifndef SOAK_H
#define SOAK_H

#include <stdint.h>

#define SOAK_W 32                  /* writer slots (processes at once) */
#define SOAK_T 4                   /* threads per writer process */
#define SOAK_KEYS 256              /* signature keys */
#define SOAK_OWNERS 4              /* signature owners acct-0 .. acct-3 */
#define SOAK_VMIN 1u               /* histogram values: SOAK_VMIN .. SOAK_VMAX */
#define SOAK_VMAX 1000000u
#define SOAK_WMAX 100u             /* a hit's weight: 1 .. SOAK_WMAX */

/* counter + per-writer counters + histogram + sigtable + SUM gauge +
 * LIVESUM gauge + per-thread LAST gauges */
#define SOAK_METRICS (1 + SOAK_W + 1 + 1 + 1 + 1 + SOAK_W * SOAK_T)

#define SOAK_M_TOTAL "soak_events_total"           /* counter, +1 a step */
#define SOAK_M_WRITER "soak_writer_events_total"   /* counter{writer}, +1 */
#define SOAK_M_HIST "soak_value"                   /* histogram, the step's value */
#define SOAK_M_SIGS "soak_sigs"                    /* sigtable: a hit or a miss */
#define SOAK_M_SUM "soak_events_gauge"             /* gauge SUM, +1 a step */
#define SOAK_M_INFLIGHT "soak_inflight"            /* gauge LIVESUM: +1, step, -1 */
#define SOAK_M_LAST "soak_thread_steps"            /* gauge LAST{thread,writer}:
						    * set to the steps done */

struct soak_word {
	uint64_t v;
	uint64_t pad[7];           /* one cache line each: no false sharing */
};

/* A writer thread's progress, one cache line. */
struct soak_thr {
	uint64_t ack;              /* steps done and acknowledged */
	uint64_t stage;            /* (step << 4) | calls of that step returned */
	uint64_t pad[6];
};

struct soak_ctl {
	uint64_t stop_writers;     /* set by the test: threads finish their step */
	uint64_t stop_reader;
	uint64_t pad[6];
	struct soak_word kills[SOAK_W];            /* SIGKILLs of each slot so far */
	struct soak_thr thr[SOAK_W][SOAK_T];
};

/* The calls of a step, in order (test_soak.c). After call k of step i
 * returns, the thread stores stage = (i << 4) | (k + 1) (an exchange, a
 * full barrier: nothing of call k + 1 is visible before it); after the
 * last one, ack = i + 1. So in a killed thread, the calls before the one
 * its stage names were done, that one may be done in part, the later ones
 * were not. */
enum soak_call {
	SOAK_C_INFL_UP,            /* soak_inflight += 1 */
	SOAK_C_TOTAL,              /* soak_events_total += 1 */
	SOAK_C_WRITER,             /* soak_writer_events_total{writer} += 1 */
	SOAK_C_HIST,               /* soak_value: record the step's value */
	SOAK_C_SIG,                /* soak_sigs: hit or miss */
	SOAK_C_SUM,                /* soak_events_gauge += 1 */
	SOAK_C_LAST,               /* soak_thread_steps{...} := step + 1 */
	SOAK_C_INFL_DOWN,          /* soak_inflight -= 1 */
	SOAK_CALLS
};

#define SOAK_STAGE(i, k) (((uint64_t)(i) << 4) | (uint64_t)(k))

static inline uint64_t soak_ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void soak_st(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Step @i of thread @t of writer slot @w: a pure function of them and
 * @seed, so a restarted writer redoes exactly what its predecessor was
 * doing and the test can recount every acknowledged step. */
struct soak_step {
	uint32_t key;              /* 0 .. SOAK_KEYS-1 */
	uint32_t owner;            /* 0 .. SOAK_OWNERS-1 (id: owner + 1) */
	int hit;                   /* 1: shmstat_sig_hit, 0: shmstat_sig_miss */
	uint64_t weight;           /* a hit's weight, 0 for a miss */
	uint64_t value;            /* recorded in the histogram */
};

static inline uint64_t soak_mix(uint64_t x)
{
	/* splitmix64's finalizer */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline struct soak_step soak_step(uint64_t seed, uint32_t w, uint32_t t, uint64_t i)
{
	uint64_t m = soak_mix(seed ^ ((uint64_t)(w * SOAK_T + t) << 44) ^ i);
	struct soak_step s;

	s.key = (uint32_t)(m % SOAK_KEYS);
	s.owner = s.key % SOAK_OWNERS;
	s.hit = ((m >> 8) & 7) != 0;               /* 7 hits in 8 */
	s.weight = s.hit ? 1 + (m >> 11) % SOAK_WMAX : 0;
	s.value = SOAK_VMIN + (m >> 24) % (SOAK_VMAX - SOAK_VMIN + 1);
	return s;
}

#endif
