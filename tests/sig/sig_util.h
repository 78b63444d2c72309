/*
 * sig_util.h - small helpers shared by the signature-table tests: the
 * hash the library stores for a key, the clocks its entries use, a
 * deterministic generator, and looking a table up in a snapshot.
 *
 * Nothing here asserts: the helpers are used both by cmocka processes and
 * by forked children (which check with CHILD_CHECK instead).
 */
#ifndef SIG_UTIL_H
#define SIG_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "shmstat.h"

/* The hash an entry keeps for key @k (@n bytes): XXH3-64, with 0 (which
 * marks an empty entry) taken as 1, as sigtable.c does. */
static inline uint64_t su_hash(const void *k, size_t n)
{
	uint64_t h = XXH3_64bits(k, n);

	return h ? h : 1;
}

static inline uint64_t su_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What entries stamp first_ns / last_ns with. */
static inline uint64_t su_coarse_ns(void)
{
	return su_clock_ns(CLOCK_REALTIME_COARSE);
}

/* What a snapshot stamps taken_ns with. */
static inline uint64_t su_real_ns(void)
{
	return su_clock_ns(CLOCK_REALTIME);
}

/* Wait until the coarse clock is past @t: the next event is stamped
 * later than every event before this call. A wait for a condition, not a
 * delay: it returns as soon as the clock has moved. */
static inline void su_coarse_after(uint64_t t)
{
	while (su_coarse_ns() <= t) {
		struct timespec d = { 0, 200000 };

		nanosleep(&d, NULL);
	}
}

/* Wait until CLOCK_REALTIME is past @t. */
static inline void su_real_after(uint64_t t)
{
	while (su_real_ns() <= t) {
		struct timespec d = { 0, 200000 };

		nanosleep(&d, NULL);
	}
}

/* splitmix64: a deterministic generator, one state word. */
static inline uint64_t su_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Index of signature table @metric (canonical @labels, "" for none) in
 * @s, or -1. */
static inline int su_find_table(const shmstat_snap *s, const char *metric, const char *labels)
{
	size_t n = shmstat_snap_metrics(s);

	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info mi;

		if (shmstat_snap_metric(s, i, &mi) != 0)
			continue;
		if (mi.type == SHMSTAT_SIGTABLE && strcmp(mi.name, metric) == 0 &&
		    strcmp(mi.labels, labels) == 0)
			return (int)i;
	}
	return -1;
}

/* The view of table @metric (no labels) in @s, or NULL. */
static inline shmstat_sigview *su_view(const shmstat_snap *s, const char *metric)
{
	shmstat_sigview *v = NULL;
	int i = su_find_table(s, metric, "");

	if (i < 0 || shmstat_snap_sigtab(s, (size_t)i, &v) != 0)
		return NULL;
	return v;
}

/* Entry of @v whose hash is @hash, into @e; its index or -1. */
static inline long su_entry_of(const shmstat_sigview *v, uint64_t hash, struct shmstat_sigentry *e)
{
	size_t n = shmstat_sigview_entries(v);

	for (size_t k = 0; k < n; k++) {
		if (shmstat_sigview_entry(v, k, e) == 0 && e->hash == hash)
			return (long)k;
	}
	return -1;
}

/* Opts for a table: @capacity keys, @prefix bytes, @owners slots, @ttl_ns. */
static inline struct shmstat_sigtab_opts su_topts(uint32_t capacity, uint32_t prefix,
						  uint32_t owners, uint64_t ttl_ns)
{
	struct shmstat_sigtab_opts o;

	shmstat_sigtab_opts_init(&o);
	o.capacity = capacity;
	o.prefix = prefix;
	o.owners = owners;
	o.ttl_ns = ttl_ns;
	return o;
}

/* Signature entries a table of @capacity keys and @owners slots takes
 * (sigtable.h: head + 2 x capacity entries + owners / 2). */
static inline uint32_t su_span(uint32_t capacity, uint32_t owners)
{
	return 1u + 2u * capacity + (owners + 1u) / 2u;
}

#endif
