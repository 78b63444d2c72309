/*
 * sig_util.h - helpers shared by the signature-table tests: the hash the
 * library gives a key, the clocks its entries use, deterministic
 * generators (splitmix64, Zipf by Walker's alias method), looking a table
 * up in a snapshot, and the bounds check every test runs against the
 * exact tally it keeps of the events it sent (su_check()).
 *
 * Nothing here asserts: the helpers are used both by cmocka processes and
 * by forked children (which check with CHILD_CHECK instead). su_check()
 * prints the first violations it finds and returns how many there were.
 */
#ifndef SIG_UTIL_H
#define SIG_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "shmstat.h"
#include "siggeo.h"

/* The hash a table keeps for key @k (@n bytes): XXH3-64, computed here
 * independently of the library. */
static inline uint64_t su_hash(const void *k, size_t n)
{
	return XXH3_64bits(k, n);
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

/* Wait until the coarse clock is past @t. A wait for a condition, not a
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

/* ------------------------------------------------------------------ zipf */

/* Zipf(@s) over ranks 0..n-1 (P(rank r) ~ 1 / (r + 1)^s), drawn in O(1)
 * by Walker's alias method (Vose's construction): deterministic for a
 * given generator state. */
struct su_zipf {
	uint32_t n;
	double *prob;
	uint32_t *alias;
};

static inline int su_zipf_init(struct su_zipf *z, uint32_t n, double s)
{
	double *p = malloc((size_t)n * sizeof(*p)), sum = 0;
	uint32_t *small = malloc((size_t)n * sizeof(*small));
	uint32_t *large = malloc((size_t)n * sizeof(*large));
	uint32_t ns = 0, nl = 0;

	z->n = n;
	z->prob = malloc((size_t)n * sizeof(*z->prob));
	z->alias = malloc((size_t)n * sizeof(*z->alias));
	if (p == NULL || small == NULL || large == NULL || z->prob == NULL || z->alias == NULL) {
		free(p);
		free(small);
		free(large);
		free(z->prob);
		free(z->alias);
		return ENOMEM;
	}
	for (uint32_t r = 0; r < n; r++)
		sum += p[r] = pow((double)r + 1, -s);
	for (uint32_t r = 0; r < n; r++) {
		p[r] = p[r] / sum * n;
		if (p[r] < 1.0)
			small[ns++] = r;
		else
			large[nl++] = r;
	}
	while (ns > 0 && nl > 0) {
		uint32_t l = small[--ns], g = large[nl - 1];

		z->prob[l] = p[l];
		z->alias[l] = g;
		p[g] = p[g] + p[l] - 1.0;
		if (p[g] < 1.0) {
			nl--;
			small[ns++] = g;
		}
	}
	while (nl > 0) {
		uint32_t g = large[--nl];

		z->prob[g] = 1.0;
		z->alias[g] = g;
	}
	while (ns > 0) {
		uint32_t l = small[--ns];

		z->prob[l] = 1.0;
		z->alias[l] = l;
	}
	free(p);
	free(small);
	free(large);
	return 0;
}

static inline uint32_t su_zipf_draw(const struct su_zipf *z, uint64_t *seed)
{
	uint64_t r = su_next(seed);
	uint32_t i = (uint32_t)(((r >> 32) * z->n) >> 32);
	double u = (double)(r & 0xffffffffu) * 0x1.0p-32;

	return u < z->prob[i] ? i : z->alias[i];
}

static inline void su_zipf_free(struct su_zipf *z)
{
	free(z->prob);
	free(z->alias);
	z->prob = NULL;
	z->alias = NULL;
}

/* ---------------------------------------------------------------- tables */

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

/* Opts for a table: @capacity keys per summary, @key_bytes kept,
 * @owners slots, @summaries in the pool, @ttl_ns. */
static inline struct shmstat_sigtab_opts su_topts(uint32_t capacity, uint32_t key_bytes,
						  uint32_t owners, uint32_t summaries,
						  uint64_t ttl_ns)
{
	struct shmstat_sigtab_opts o;

	shmstat_sigtab_opts_init(&o);
	o.capacity = capacity;
	o.key_bytes = key_bytes;
	o.owners = owners;
	o.summaries = summaries;
	o.ttl_ns = ttl_ns;
	return o;
}

/* ------------------------------------------------- the segment's bytes */

/* The object of segment @name mapped whole, read-only or (@writable) for
 * writing; *@len is its size, for munmap(). NULL when it cannot be
 * opened or mapped. For tests that read or damage the segment's own
 * bytes: they know format.md's layout. */
static inline unsigned char *su_map_segment(const char *name, int writable, size_t *len)
{
	char path[256];
	struct stat sb;
	void *base = MAP_FAILED;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/shmstat.%s", name);
	fd = open(path, writable ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) == 0) {
		*len = (size_t)sb.st_size;
		base = mmap(NULL, *len, writable ? PROT_READ | PROT_WRITE : PROT_READ,
			    MAP_SHARED, fd, 0);
	}
	close(fd);
	return base == MAP_FAILED ? NULL : (unsigned char *)base;
}

/* The summaries of the one live signature table of the segment mapped at
 * @base (graves first, the pool's from SHMSTAT_SIG_GRAVES on, *@g bytes
 * each), its geometry into *@g, its pool's claim words into *@claims and
 * their number into *@pool (zeros and NULL until a table is found).
 * NULL when the segment holds no table or more than one. */
static inline unsigned char *su_table_sums(unsigned char *base, struct shmstat_sumgeo *g,
					   const uint64_t **claims, uint32_t *pool)
{
	const struct shmstat_hdr *h = (const struct shmstat_hdr *)(const void *)base;
	const struct shmstat_desc *descs = (const struct shmstat_desc *)(const void *)
					   (base + h->regions[SHMSTAT_REG_DESCS].off);
	unsigned char *sums = NULL;
	int tables = 0;

	memset(g, 0, sizeof(*g));
	*claims = NULL;
	*pool = 0;
	for (uint32_t i = 0; i < h->max_metrics; i++) {
		const struct shmstat_desc *d = &descs[i];
		unsigned char *run;

		if (SHMSTAT_DESC_STATE(d->word) != SHMSTAT_DESC_LIVE || d->type != SHMSTAT_SIGTABLE)
			continue;
		tables++;
		shmstat__sumgeo(g, d->sig_capacity, d->sig_keybytes);
		run = base + h->regions[SHMSTAT_REG_SIGS].off + (size_t)d->sig_first * SHMSTAT_LINE;
		*claims = (const uint64_t *)(const void *)run;
		*pool = d->sig_pool;
		sums = run + (shmstat__sig_claim_lines(d->sig_pool) +
			      shmstat__sig_owner_lines(d->sig_owners)) * SHMSTAT_LINE;
	}
	return tables == 1 ? sums : NULL;
}

/* ------------------------------------------------------ hash -> key id */

/* Open addressing, ids + 1 (0: empty). */
struct su_map {
	uint32_t *slot;
	uint32_t mask;
	const uint64_t *hash;      /* key id -> hash */
};

static inline int su_map_init(struct su_map *m, const uint64_t *hash, uint32_t n)
{
	uint32_t cap = 16;

	while (cap < 2 * n)
		cap <<= 1;
	m->slot = calloc(cap, sizeof(*m->slot));
	m->mask = cap - 1;
	m->hash = hash;
	if (m->slot == NULL)
		return ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = (uint32_t)((hash[i] * 0x9E3779B97F4A7C15ULL) >> 40) & m->mask;

		while (m->slot[p] != 0 && hash[m->slot[p] - 1] != hash[i])
			p = (p + 1) & m->mask;
		if (m->slot[p] == 0)
			m->slot[p] = i + 1;
	}
	return 0;
}

/* Id of @hash, or -1. */
static inline long su_map_find(const struct su_map *m, uint64_t hash)
{
	uint32_t p = (uint32_t)((hash * 0x9E3779B97F4A7C15ULL) >> 40) & m->mask;

	while (m->slot[p] != 0) {
		if (m->hash[m->slot[p] - 1] == hash)
			return (long)m->slot[p] - 1;
		p = (p + 1) & m->mask;
	}
	return -1;
}

static inline void su_map_free(struct su_map *m)
{
	free(m->slot);
	m->slot = NULL;
}

/* ---------------------------------------------------------- the bounds */

/*
 * What a test knows of the n keys it sent. The truth of key i is within
 * [hits_lo[i], hits_hi[i]] hits and [misses_lo[i], misses_hi[i]] misses
 * (hi NULL: exactly lo; a range: events that may have been in flight when
 * a writer was killed or stopped) and, when w_lo is set, within [w_lo[i],
 * w_hi[i]] of weight. key / len, when set, are its bytes. Keys must have
 * distinct hashes.
 */
struct su_truth {
	uint32_t n;
	const uint64_t *hash;
	const uint64_t *hits_lo, *hits_hi, *misses_lo, *misses_hi;
	const uint64_t *w_lo, *w_hi;
	const char *const *key;
	const uint32_t *len;
	struct su_map map;
};

/* What a check found besides its violations. */
struct su_res {
	uint64_t bad;              /* violations */
	uint64_t listed;           /* entries */
	uint64_t exact;            /* entries with error 0 */
	uint64_t max_err;          /* largest err_hits of an entry */
	uint64_t max_unlisted;     /* largest true events of a key not listed */
	uint64_t guaranteed_hits;  /* sum of hits - err_hits */
	uint64_t with_text;        /* entries whose key bytes are known */
};

/* Flags of su_check(). */
#define SU_QUIESCENT 0x1u  /* no writer is running: the global bounds too */
#define SU_ALL_TEXT  0x2u  /* every entry must have its key bytes */

static inline uint64_t su_at(const uint64_t *hi, const uint64_t *lo, uint32_t i)
{
	return hi ? hi[i] : lo[i];
}

#define SU_BAD(r, when, ...)                                                  \
	do {                                                                  \
		if ((r)->bad++ < 6) {                                         \
			fprintf(stderr, "%s: ", (when));                      \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
		}                                                             \
	} while (0)

/*
 * Check view @v against truth @t: for every entry, hits - err_hits <=
 * true hits <= hits, the same for misses, for their sum (events, which
 * share one error), and for weight when known; err_hits == err_misses <=
 * max_error; its key bytes, when it has them (has_key), are its key's (a
 * prefix of key_bytes and full_len its length when cut), else key "" and
 * lengths 0; first_ns <= last_ns; no key listed twice, no hash that was
 * never sent; hit_rate of the guaranteed counts. With
 * SU_QUIESCENT also: every key not listed had at most max_error events,
 * max_error <= error_bound = events / capacity + unsummarized, and the
 * guaranteed hits of all entries add up to at most the table's hits.
 * Return the number of violations (the first ones printed).
 */
static inline uint64_t su_check(const shmstat_sigview *v, const struct su_truth *t,
				unsigned flags, const char *when, struct su_res *r)
{
	struct shmstat_sigstats st;
	size_t n = shmstat_sigview_entries(v);
	uint8_t *seen = calloc(t->n ? t->n : 1, 1);

	memset(r, 0, sizeof(*r));
	shmstat_sigview_stats(v, &st);
	if (seen == NULL) {
		SU_BAD(r, when, "out of memory");
		return r->bad;
	}
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;
		uint64_t hlo, hhi, mlo, mhi, err, glo;
		long id;

		if (shmstat_sigview_entry(v, k, &e) != 0) {
			SU_BAD(r, when, "entry %zu of %zu cannot be read", k, n);
			continue;
		}
		r->listed++;
		id = su_map_find(&t->map, e.hash);
		if (id < 0) {
			SU_BAD(r, when, "entry %zu has hash %016llx, never sent", k,
			       (unsigned long long)e.hash);
			continue;
		}
		if (seen[id]++) {
			SU_BAD(r, when, "key %ld is listed twice", id);
			continue;
		}
		err = e.err_hits;
		if (e.err_misses != err || e.hits < err || e.misses < err ||
		    e.weight < e.err_weight) {
			SU_BAD(r, when, "key %ld: errors %llu/%llu/%llu above counts "
			       "%llu/%llu/%llu or unequal", id, (unsigned long long)e.err_hits,
			       (unsigned long long)e.err_misses, (unsigned long long)e.err_weight,
			       (unsigned long long)e.hits, (unsigned long long)e.misses,
			       (unsigned long long)e.weight);
			continue;
		}
		if (err > r->max_err)
			r->max_err = err;
		if (err == 0)
			r->exact++;
		if (err > st.max_error)
			SU_BAD(r, when, "key %ld: error %llu above max_error %llu", id,
			       (unsigned long long)err, (unsigned long long)st.max_error);
		hlo = t->hits_lo[id];
		hhi = su_at(t->hits_hi, t->hits_lo, (uint32_t)id);
		mlo = t->misses_lo[id];
		mhi = su_at(t->misses_hi, t->misses_lo, (uint32_t)id);
		glo = e.hits - err;
		r->guaranteed_hits += glo;
		if (glo > hhi || e.hits < hlo || e.misses - err > mhi || e.misses < mlo ||
		    glo + (e.misses - err) > hhi + mhi || e.hits + e.misses - err < hlo + mlo)
			SU_BAD(r, when, "key %ld: hits %llu misses %llu error %llu, true hits "
			       "%llu..%llu misses %llu..%llu", id, (unsigned long long)e.hits,
			       (unsigned long long)e.misses, (unsigned long long)err,
			       (unsigned long long)hlo, (unsigned long long)hhi,
			       (unsigned long long)mlo, (unsigned long long)mhi);
		if (t->w_lo) {
			uint64_t wlo = t->w_lo[id], whi = su_at(t->w_hi, t->w_lo, (uint32_t)id);

			if (e.weight - e.err_weight > whi || e.weight < wlo)
				SU_BAD(r, when, "key %ld: weight %llu error %llu, true %llu..%llu",
				       id, (unsigned long long)e.weight,
				       (unsigned long long)e.err_weight, (unsigned long long)wlo,
				       (unsigned long long)whi);
		}
		if (e.key == NULL || e.key[e.key_len] != '\0' || e.key_len > st.key_bytes ||
		    e.key_len != (e.full_len < st.key_bytes ? e.full_len : st.key_bytes) ||
		    (!e.has_key && e.full_len != 0)) {
			SU_BAD(r, when, "key %ld: has_key %d key_len %u full_len %u (key bytes %u)",
			       id, e.has_key, e.key_len, e.full_len, st.key_bytes);
		} else if (e.has_key) {
			r->with_text++;
			if (e.full_len <= st.key_bytes && su_hash(e.key, e.key_len) != e.hash)
				SU_BAD(r, when, "key %ld: its text does not hash to its hash", id);
			if (t->key && (e.full_len != t->len[id] ||
				       memcmp(e.key, t->key[id], e.key_len) != 0))
				SU_BAD(r, when, "key %ld: text '%.*s' (%u of %u bytes) is not "
				       "its key", id, (int)e.key_len, e.key, e.key_len, e.full_len);
		} else if (flags & SU_ALL_TEXT) {
			SU_BAD(r, when, "key %ld has no text", id);
		}
		if (e.first_ns > e.last_ns)
			SU_BAD(r, when, "key %ld: first_ns %llu > last_ns %llu", id,
			       (unsigned long long)e.first_ns, (unsigned long long)e.last_ns);
		if (e.hit_rate != (glo + e.misses - err ?
				   (double)glo / (double)(glo + e.misses - err) : 0))
			SU_BAD(r, when, "key %ld: hit rate %g, not %llu / %llu", id, e.hit_rate,
			       (unsigned long long)glo,
			       (unsigned long long)(glo + e.misses - err));
	}
	if (flags & SU_QUIESCENT) {
		uint64_t bound = st.events / st.capacity + st.unsummarized;

		for (uint32_t i = 0; i < t->n; i++) {
			uint64_t ev = t->hits_lo[i] + t->misses_lo[i];

			if (seen[i])
				continue;
			if (ev > r->max_unlisted)
				r->max_unlisted = ev;
			if (ev > st.max_error)
				SU_BAD(r, when, "key %u is not listed but had %llu events, "
				       "max_error %llu", i, (unsigned long long)ev,
				       (unsigned long long)st.max_error);
		}
		if (st.error_bound != bound || st.max_error > st.error_bound)
			SU_BAD(r, when, "max_error %llu, error_bound %llu (events %llu / "
			       "capacity %u + unsummarized %llu = %llu)",
			       (unsigned long long)st.max_error,
			       (unsigned long long)st.error_bound, (unsigned long long)st.events,
			       st.capacity, (unsigned long long)st.unsummarized,
			       (unsigned long long)bound);
		if (r->guaranteed_hits > st.hits)
			SU_BAD(r, when, "guaranteed hits add up to %llu, the table had %llu",
			       (unsigned long long)r->guaranteed_hits,
			       (unsigned long long)st.hits);
	}
	if (st.used != n || st.events != st.hits + st.misses)
		SU_BAD(r, when, "used %u, entries %zu, events %llu != hits %llu + misses %llu",
		       st.used, n, (unsigned long long)st.events, (unsigned long long)st.hits,
		       (unsigned long long)st.misses);
	free(seen);
	return r->bad;
}

/* ---------------------------------------------------------------- recall */

static inline int su_desc_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y) - (x > y);
}

/* The @k-th largest of @n counts (k >= 1). */
static inline uint64_t su_kth(const uint64_t *count, uint32_t n, uint32_t k)
{
	uint64_t *c = malloc((size_t)n * sizeof(*c)), x;

	if (c == NULL || k == 0 || k > n) {
		free(c);
		return 0;
	}
	memcpy(c, count, (size_t)n * sizeof(*c));
	qsort(c, n, sizeof(*c), su_desc_u64);
	x = c[k - 1];
	free(c);
	return x;
}

/* Recall of the first @k keys of @v by @order against true counts
 * @count (of the keys of @map): the share of them whose true count is at
 * least the true k-th largest (so ties are no loss). */
static inline double su_recall(const shmstat_sigview *v, enum shmstat_sig_order order,
			       const struct su_map *map, const uint64_t *count, uint32_t n,
			       uint32_t k)
{
	size_t *top = malloc((size_t)k * sizeof(*top)), m;
	uint64_t cut = su_kth(count, n, k), good = 0;

	if (top == NULL)
		return 0;
	m = shmstat_sigview_top(v, order, NULL, k, top);
	for (size_t j = 0; j < m; j++) {
		struct shmstat_sigentry e;
		long id;

		if (shmstat_sigview_entry(v, top[j], &e) == 0 &&
		    (id = su_map_find(map, e.hash)) >= 0 && count[id] >= cut)
			good++;
	}
	free(top);
	return (double)good / k;
}

#endif
