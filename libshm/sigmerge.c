/*
 * sigmerge.c - merging signature-table summaries (sigmerge.h), and the
 * reader's view of a table built from the merge (shmstat_sigview).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "mdir.h"
#include "sigmerge.h"
#include "siggeo.h"

/* Saturating arithmetic: a hostile segment may hold any numbers; the
 * merge must not wrap them into small ones. */
static inline uint64_t sadd(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

static inline uint64_t smul(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static inline uint64_t ssub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* ------------------------------------------------------------------ merge */

static uint64_t ent_count(const struct shmstat_sigent *e)
{
	return sadd(sadd(e->hits, e->misses), e->err);
}

void shmstat__sm_init(struct sm *m)
{
	memset(m, 0, sizeof(*m));
}

void shmstat__sm_free(struct sm *m)
{
	shmstat__unmap_array(m->k, m->cap * sizeof(*m->k));
	shmstat__unmap_array(m->map, m->mapcap * sizeof(*m->map));
	shmstat__unmap_array(m->arena, m->acap);
	memset(m, 0, sizeof(*m));
}

/* Room for @n more keys. The arrays are written whole: from 1 MiB on,
 * in huge pages (shmstat__map_array: 64k keys take 7 MB) */
static int keys_room(struct sm *m, size_t n)
{
	struct sm_key *nk;

	if (m->n + n <= m->cap)
		return 0;
	nk = shmstat__regrow_array(m->k, m->cap * sizeof(*nk), (m->n + n) * sizeof(*nk));
	if (nk == NULL)
		return ENOMEM;
	m->k = nk;
	m->cap = m->n + n;
	return 0;
}

/* Room for @n more bytes of key text: @n exactly when @exact (a
 * reservation), else at least twice as much as now. */
static int arena_room(struct sm *m, size_t n, bool exact)
{
	size_t cap = m->acap ? m->acap : 4096;
	char *na;

	if (m->acap - m->used >= n)
		return 0;
	if (exact)
		cap = m->used + n;
	while (cap - m->used < n)
		cap *= 2;
	na = shmstat__regrow_array(m->arena, m->acap, cap);
	if (na == NULL)
		return ENOMEM;
	m->arena = na;
	m->acap = cap;
	return 0;
}

static size_t slot_of(uint64_t h, size_t cap)
{
	return (size_t)((h * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (cap - 1);
}

/* The map with @cap slots (a power of two), every key put in again. */
static int rehash(struct sm *m, size_t cap)
{
	uint32_t *map = shmstat__map_array(cap * sizeof(*map));

	if (map == NULL)
		return ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		size_t s = slot_of(m->k[i].hash, cap);

		while (map[s])
			s = (s + 1) & (cap - 1);
		map[s] = (uint32_t)i + 1;
	}
	shmstat__unmap_array(m->map, m->mapcap * sizeof(*m->map));
	m->map = map;
	m->mapcap = cap;
	m->mapped = m->n;
	return 0;
}

/* New key @h, zeroed, its bytes copied, at the end of @m->k (not in the
 * map); NULL: ENOMEM. */
static struct sm_key *append(struct sm *m, uint64_t h, const unsigned char *bytes,
			     uint32_t full_len, uint32_t key_len, bool known)
{
	struct sm_key *k;

	if ((m->n == m->cap && keys_room(m, m->cap ? m->cap : 64) != 0) ||
	    arena_room(m, (size_t)key_len + 1, false) != 0)
		return NULL;
	k = &m->k[m->n++];
	memset(k, 0, sizeof(*k));
	k->hash = h;
	k->full_len = full_len;
	k->key_len = key_len;
	k->known = known;
	k->key_off = m->used;
	k->first_ns = UINT64_MAX;
	memcpy(m->arena + m->used, bytes, key_len);
	m->arena[m->used + key_len] = '\0';
	m->used += (size_t)key_len + 1;
	return k;
}

/* Slots for @n keys: a power of two, at least 2n + 2 (load <= 1/2). */
static size_t map_cap(size_t n)
{
	size_t cap = 64;

	while (cap < 2 * (n + 1))
		cap *= 2;
	return cap;
}

/* The map is built when first looked up, for the keys reserved for: a
 * merge whose first source fills it (sm_add) may need none. */
int shmstat__sm_reserve(struct sm *m, size_t n, size_t arena)
{
	m->want = m->n + n;
	return keys_room(m, n) != 0 || arena_room(m, arena, true) != 0 ? ENOMEM : 0;
}

/* Key @h's place: the map as it is (keys added past it are not looked
 * at); a new key is added there, zeroed, its bytes copied. NULL: ENOMEM. */
static struct sm_key *map_find_or_add(struct sm *m, uint64_t h, const unsigned char *bytes,
				      uint32_t full_len, uint32_t key_len, bool known)
{
	struct sm_key *k;
	size_t s;

	if (2 * (m->mapped + 1) > m->mapcap && rehash(m, map_cap(m->n > m->want ? m->n : m->want)) != 0)
		return NULL;
	s = slot_of(h, m->mapcap);
	while (m->map[s]) {
		k = &m->k[m->map[s] - 1];
		if (k->hash == h)
			return k;
		s = (s + 1) & (m->mapcap - 1);
	}
	k = append(m, h, bytes, full_len, key_len, known);
	if (k != NULL) {
		m->map[s] = (uint32_t)m->n;
		m->mapped++;
	}
	return k;
}

/* The key of hash @h, added if new; NULL: ENOMEM. */
static struct sm_key *find_or_add(struct sm *m, uint64_t h, const unsigned char *bytes,
				  uint32_t full_len, uint32_t key_len, bool known)
{
	if (m->mapped != m->n &&
	    rehash(m, map_cap(m->n + 1 > m->want ? m->n + 1 : m->want)) != 0)
		return NULL;
	return map_find_or_add(m, h, bytes, full_len, key_len, known);
}

/* Give key @k the bytes @b (@len long, @kl kept) if it has none yet. */
static int key_bytes(struct sm *m, struct sm_key *k, const unsigned char *b, uint32_t len,
		     uint32_t kl)
{
	if (k->known)
		return 0;
	k->known = true;
	if (!len)
		return 0;
	if (arena_room(m, (size_t)kl + 1, false) != 0)
		return ENOMEM;
	k->key_off = m->used;
	k->key_len = kl;
	k->full_len = len;
	memcpy(m->arena + m->used, b, kl);
	m->arena[m->used + kl] = '\0';
	m->used += (size_t)kl + 1;
	return 0;
}

/* Entry @j (@e) of summary @s (minimum @min) into key @k's sums */
static inline void entry_in(struct sm_key *k, const struct sm_src *s,
			    const struct shmstat_sigent *e, uint32_t j, uint64_t min)
{
	k->lo_h = sadd(k->lo_h, e->hits);
	k->lo_m = sadd(k->lo_m, e->misses);
	k->lo_w = sadd(k->lo_w, e->weight);
	k->err_in = sadd(k->err_in, e->err);
	k->werr_in = sadd(k->werr_in, smul(e->err, s->hdr->wmax));
	k->mg = sadd(k->mg, s->mg ? s->mg[j] : ssub(ent_count(e), min));
}

/* ... and out of them again */
static void entry_out(struct sm_key *k, const struct sm_src *s,
		      const struct shmstat_sigent *e, uint32_t j, uint64_t min)
{
	k->lo_h = ssub(k->lo_h, e->hits);
	k->lo_m = ssub(k->lo_m, e->misses);
	k->lo_w = ssub(k->lo_w, e->weight);
	k->err_in = ssub(k->err_in, e->err);
	k->werr_in = ssub(k->werr_in, smul(e->err, s->hdr->wmax));
	k->mg = ssub(k->mg, s->mg ? s->mg[j] : ssub(ent_count(e), min));
}

/* What summary @s (its id @id, minimum @min) says of key @k: entry @e.
 * A summary speaks of a key once: a copy that holds it twice (evicted
 * and taken back while it was read, format.md) counts the entry with the
 * larger error alone, the newer one, whose count covers all the key had
 * in the summary (its error is the count of the entry it took, at least
 * the key's count when it was evicted). Both counted, the summary's
 * floor would leave the key's bound twice, and their errors together
 * could pass N/C. */
static void account(struct sm_key *k, const struct sm_src *s, const struct shmstat_sigent *e,
		    uint32_t j, uint32_t id, uint64_t min, uint64_t wfloor)
{
	if (unlikely(k->src == id)) {
		const struct shmstat_sigent *kept = &s->ents[k->src_j];

		if (e->err > kept->err) {
			entry_out(k, s, kept, k->src_j, min);
			entry_in(k, s, e, j, min);
			k->src_j = j;
		}
	} else {
		k->src = id;
		k->src_j = j;
		entry_in(k, s, e, j, min);
		k->fpres = sadd(k->fpres, s->hdr->floor);
		k->fwpres = sadd(k->fwpres, wfloor);
	}
	if (e->first_ns < k->first_ns)
		k->first_ns = e->first_ns;
	if (e->last_ns >= k->last_ns) {
		k->last_ns = e->last_ns;
		k->owner = e->owner;
	}
}

static inline bool skipped(const struct sm_src *s, uint32_t j)
{
	return s->skip && s->skip[j];
}

/* Bit of a hash in a bitmap of 2^@bits bits. */
static inline size_t bit_of(uint64_t h, unsigned bits)
{
	return (size_t)((h * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - bits));
}

/* The first summary with keys, into a merge without any: a key can be
 * there already only if the copy holds it twice (evicted and back while
 * it was read). So a key goes through the map only when its bucket of a
 * bitmap (8 bits a key) has another key: for well-spread hashes, 1 -
 * e^(-1/8), about 12% of them; the rest are added past the map. (64k
 * keys: a lookup each in a 1 MB map missed the cache, 59% of the merge's
 * samples in perf.) Returns the buckets seen, then the
 * buckets seen twice (2^@bits bits each), and in @ndup the keys in
 * those; NULL when out of memory (every key through the map then). */
static uint64_t *dup_buckets(const struct sm_src *s, unsigned *bits, size_t *ndup)
{
	uint64_t *seen, *dup;
	size_t words;

	*bits = 6;
	while (*bits < 40 && (UINT64_C(1) << *bits) < 8 * (uint64_t)s->n)
		(*bits)++;
	words = (size_t)1 << (*bits - 6);
	seen = calloc(2 * words, sizeof(*seen));
	if (seen == NULL)
		return NULL;
	dup = seen + words;
	*ndup = 0;
	for (uint32_t j = 0; j < s->n; j++) {
		const size_t b = bit_of(s->ents[j].hash, *bits);
		const uint64_t w = UINT64_C(1) << (b % 64);

		if (skipped(s, j))
			continue;
		if (!(seen[b / 64] & w)) {
			seen[b / 64] |= w;
		} else {
			*ndup += (dup[b / 64] & w) ? 1 : 2;
			dup[b / 64] |= w;
		}
	}
	return seen;
}

int shmstat__sm_add(struct sm *m, const struct sm_src *s)
{
	const uint32_t id = m->summaries + 1;
	uint64_t floor = s->hdr->floor, wmax = s->hdr->wmax, wfloor, min = 0;
	uint64_t *seen = NULL, *dup = NULL;
	unsigned bits = 0;
	uint32_t torn = 0;

	/* a writer's summary, full: Misra-Gries counters are its counts
	 * less the minimum (every key has at most the minimum more) */
	if (s->mg == NULL && s->n >= s->capacity) {
		min = UINT64_MAX;
		for (uint32_t j = 0; j < s->n; j++)
			if (!skipped(s, j) && ent_count(&s->ents[j]) < min)
				min = ent_count(&s->ents[j]);
		if (min == UINT64_MAX)
			min = 0;
	}
	/* the entries were copied one after another, the floor after them:
	 * a key evicted meanwhile had at most the floor, which the minimum
	 * of the copy may not cover */
	if (s->mg == NULL && floor > min)
		min = floor;
	/* a torn entry is a key being given its entry: the victim's count is
	 * within the floor already; the newcomer's event is in flight (not
	 * counted yet, or cut short by a kill) */
	for (uint32_t j = 0; j < s->n; j++)
		torn += skipped(s, j);
	wfloor = smul(floor, wmax);
	if (m->n == 0 && s->n > 64) {
		size_t ndup = 0;

		seen = dup_buckets(s, &bits, &ndup);
		if (seen != NULL) {
			dup = seen + ((size_t)1 << (bits - 6));
			/* the map for those alone, empty, never grown */
			if (rehash(m, map_cap(ndup)) != 0) {
				free(seen);
				return ENOMEM;
			}
		}
	}
	for (uint32_t j = 0; j < s->n; j++) {
		const struct shmstat_sigent *e = &s->ents[j];
		const unsigned char *kr = s->keys + (size_t)j * s->keyrec;
		struct shmstat_sigkeyrec rec = { 0 };
		const bool known = e->flags & SHMSTAT_SIGENT_F_KEY;
		struct sm_key *k;
		uint32_t kl = 0;

		if (skipped(s, j))
			continue;
		if (known) {
			memcpy(&rec, kr, sizeof(rec));
			kl = rec.len < s->keybytes ? rec.len : s->keybytes;
		}
		if (dup == NULL) {
			k = find_or_add(m, e->hash, kr + sizeof(rec), rec.len, kl, known);
		} else {
			const size_t b = bit_of(e->hash, bits);

			k = (dup[b / 64] >> (b % 64)) & 1u ?
			    map_find_or_add(m, e->hash, kr + sizeof(rec), rec.len, kl, known) :
			    append(m, e->hash, kr + sizeof(rec), rec.len, kl, known);
		}
		if (k == NULL || (known && key_bytes(m, k, kr + sizeof(rec), rec.len, kl) != 0)) {
			free(seen);
			return ENOMEM;
		}
		account(k, s, e, j, id, min, wfloor);
	}
	free(seen);
	m->skipped += torn;
	m->filtered = sadd(m->filtered, s->hdr->filtered);
	m->F = sadd(m->F, floor);
	m->FW = sadd(m->FW, wfloor);
	if (wmax > m->W)
		m->W = wmax;
	m->D = sadd(m->D, s->mg ? s->hdr->mg_err : min);
	m->summaries++;
	return 0;
}

uint64_t shmstat__sm_err(const struct sm *m, const struct sm_key *k, uint64_t extra)
{
	uint64_t lo = sadd(k->lo_h, k->lo_m);
	uint64_t ss = sadd(k->err_in, ssub(m->F, k->fpres));
	uint64_t mg = sadd(k->mg, m->D);

	/* mg + D >= lo for any consistent input; not trusted */
	if (mg >= lo && mg - lo < ss)
		ss = mg - lo;
	return sadd(ss, extra);
}

uint64_t shmstat__sm_werr(const struct sm *m, const struct sm_key *k, uint64_t extra)
{
	return sadd(sadd(k->werr_in, ssub(m->FW, k->fwpres)), extra);
}

static int desc_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y) - (x > y);
}

void shmstat__sm_write_grave(struct sm *m, unsigned char *g, const struct shmstat_sumgeo *geo)
{
	struct shmstat_sigsum *hdr = (struct shmstat_sigsum *)(void *)g;
	uint64_t *mg = (uint64_t *)(void *)(g + sizeof(*hdr));
	struct shmstat_sigent *ents = (struct shmstat_sigent *)(void *)(g + geo->off_ents);
	uint64_t delta = 0, F = m->F, FW = m->FW;
	uint32_t out = 0;

	if (m->n > geo->capacity) {
		/* Misra-Gries with capacity - 1 counters: less the
		 * capacity-th largest, keep what stays above 0 */
		uint64_t *v = malloc(m->n * sizeof(*v));

		for (size_t i = 0; i < m->n; i++)
			if (v != NULL)
				v[i] = m->k[i].mg;
			else if (m->k[i].mg > delta)
				delta = m->k[i].mg;     /* no memory: keep no key */
		if (v != NULL) {
			qsort(v, m->n, sizeof(*v), desc_u64);
			delta = v[geo->capacity - 1];
			free(v);
		}
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct sm_key *k = &m->k[i];
		uint64_t err = shmstat__sm_err(m, k, 0), werr = shmstat__sm_werr(m, k, 0);

		if (m->n > geo->capacity && k->mg <= delta) {
			/* dropped: the floors cover it from now on */
			uint64_t hi = sadd(sadd(k->lo_h, k->lo_m), err), whi = sadd(k->lo_w, werr);

			if (hi > F)
				F = hi;
			if (whi > FW)
				FW = whi;
			continue;
		}
		{
			struct shmstat_sigent *e = &ents[out];
			struct shmstat_sigkeyrec rec = { .len = k->full_len };
			unsigned char *kr = g + geo->off_keys + (size_t)out * geo->keyrec;

			e->hash = k->hash;
			e->hits = k->lo_h;
			e->misses = k->lo_m;
			e->weight = k->lo_w;
			e->err = err;
			e->first_ns = k->first_ns == UINT64_MAX ? 0 : k->first_ns;
			e->last_ns = k->last_ns;
			e->gen = 0;
			e->owner = (uint16_t)k->owner;
			e->flags = k->known ? SHMSTAT_SIGENT_F_KEY : 0;
			memcpy(kr, &rec, sizeof(rec));
			memset(kr + sizeof(rec), 0, geo->keybytes);
			memcpy(kr + sizeof(rec), m->arena + k->key_off,
			       k->key_len < geo->keybytes ? k->key_len : geo->keybytes);
			mg[out] = ssub(k->mg, delta);
			out++;
		}
	}
	hdr->used = out;
	/* a dropped key's bound was within its mg + D <= delta + D */
	hdr->mg_err = sadd(m->D, delta);
	hdr->floor = F;
	/* weight: a key's error is its events' error times the largest
	 * event weight; FW and dropped keys' weights are not needed then */
	(void)FW;
	hdr->wmax = m->W;
	hdr->evictions = 0;
	hdr->filtered = m->filtered;
}

/* ------------------------------------------------------------- the view */

struct shmstat_sigview {
	struct sm m;
	struct shmstat_sigstats st;
	uint64_t taken_ns;
	size_t nowners;
	struct shmstat_sigowner_info *owners;
	char (*names)[SHMSTAT_SIG_OWNER_CAP];
	uint32_t nown;             /* owner slots */
	uint64_t unsum_w;          /* weight of the unsummarized events */
};

/* One owner a name: a slot whose name an earlier slot holds adds its
 * totals to that one's and is shown as a slot without a name (ids stay
 * slot + 1). Two slots hold a name when a registration gave up on a slot
 * CLAIMED by a process that runs but does not go on (stopped between its
 * CAS and its name) and took the next one: that process then gives its
 * own slot the same name (format.md, owner slots). Found by a hash of
 * the names (4096 owners compared pairwise: 8M comparisons a view). -1:
 * no memory. */
static int owners_by_name(shmstat_sigview *v)
{
	size_t cap = 16;
	uint32_t *set;

	while (cap < 2 * v->nowners)
		cap <<= 1;
	set = calloc(cap, sizeof(*set));
	if (set == NULL)
		return -1;
	for (size_t o = 0; o < v->nowners; o++) {
		struct shmstat_sigowner_info *oi = &v->owners[o], *first;
		uint64_t h = UINT64_C(0xcbf29ce484222325);
		size_t p;

		if (oi->name == NULL || !oi->name[0])
			continue;
		for (const char *c = oi->name; *c; c++)
			h = (h ^ (unsigned char)*c) * UINT64_C(0x100000001b3);
		p = h & (cap - 1);
		while (set[p] && strcmp(v->owners[set[p] - 1].name, oi->name) != 0)
			p = (p + 1) & (cap - 1);
		if (!set[p]) {
			set[p] = (uint32_t)o + 1;
			continue;
		}
		first = &v->owners[set[p] - 1];
		first->hits += oi->hits;
		first->misses += oi->misses;
		first->weight += oi->weight;
		oi->hits = oi->misses = oi->weight = 0;
		oi->name = "";
	}
	free(set);
	while (v->nowners > 0 && (v->owners[v->nowners - 1].name == NULL ||
				  !v->owners[v->nowners - 1].name[0]))
		v->nowners--;
	return 0;
}

shmstat_sigview *shmstat__sigview_new(const struct shmstat__rdesc *d, const uint64_t *totals,
				      const struct shmstat_sigowner *own, uint64_t taken_ns)
{
	shmstat_sigview *v = calloc(1, sizeof(*v));
	const uint32_t nown = d->sig_owners;

	if (v == NULL)
		return NULL;
	shmstat__sm_init(&v->m);
	v->owners = calloc(nown ? nown : 1, sizeof(*v->owners));
	v->names = calloc(nown ? nown : 1, sizeof(*v->names));
	if (v->owners == NULL || v->names == NULL) {
		shmstat_sigview_free(v);
		return NULL;
	}
	v->nown = nown;
	v->taken_ns = taken_ns;
	v->st.capacity = d->sig_capacity;
	v->st.key_bytes = d->sig_keybytes;
	v->st.ttl_ns = (uint64_t)d->sig_ttl_ms * 1000000u;
	v->st.hits = totals[SHMSTAT_S_HITS];
	v->st.misses = totals[SHMSTAT_S_MISSES];
	v->st.weight = totals[SHMSTAT_S_WEIGHT];
	v->st.evictions = totals[SHMSTAT_S_EVICT];
	v->st.unsummarized = totals[SHMSTAT_S_UNSUM];
	v->unsum_w = totals[SHMSTAT_S_UNSUM_W];
	v->st.events = sadd(v->st.hits, v->st.misses);
	for (uint32_t o = 0; o < nown; o++) {
		struct shmstat_sigowner_info *oi = &v->owners[o];

		if (own && SHMSTAT_STATE_OF(own[o].word) == 2 &&
		    memchr(own[o].name, '\0', sizeof(own[o].name)) != NULL)
			memcpy(v->names[o], own[o].name, sizeof(v->names[o]));
		oi->name = v->names[o];
		oi->hits = totals[SHMSTAT_S_OWNER(o, 0)];
		oi->misses = totals[SHMSTAT_S_OWNER(o, 1)];
		oi->weight = totals[SHMSTAT_S_OWNER(o, 2)];
		if (v->names[o][0])
			v->nowners = o + 1;
	}
	if (owners_by_name(v) != 0) {
		shmstat_sigview_free(v);
		return NULL;
	}
	v->st.owners = (uint32_t)v->nowners;
	return v;
}

int shmstat__sigview_reserve(shmstat_sigview *v, size_t n, size_t arena)
{
	return shmstat__sm_reserve(&v->m, n, arena);
}

int shmstat__sigview_add(shmstat_sigview *v, const struct sm_src *s)
{
	return shmstat__sm_add(&v->m, s);
}

/* Every key's bounds, computed once, in place of what they were computed
 * from (struct sm_key: err, werr): no array of their own, and they lie
 * on the line the key's counts do. */
void shmstat__sigview_done(shmstat_sigview *v)
{
	const uint64_t extra = v->st.unsummarized;
	uint64_t worst = sadd(v->m.F, extra);

	for (size_t i = 0; i < v->m.n; i++) {
		struct sm_key *k = &v->m.k[i];
		const uint64_t err = shmstat__sm_err(&v->m, k, extra);
		const uint64_t werr = shmstat__sm_werr(&v->m, k, v->unsum_w);

		k->err = err;
		k->werr = werr;
		if (err > worst)
			worst = err;
	}
	v->st.used = (uint32_t)v->m.n;
	v->st.summaries = v->m.summaries;
	v->st.skipped = v->m.skipped;
	v->st.filtered = v->m.filtered;
	v->st.max_error = worst;
	v->st.error_bound = sadd(v->st.capacity ? v->st.events / v->st.capacity : v->st.events,
				 extra);
}

void shmstat_sigview_free(shmstat_sigview *v)
{
	if (v == NULL)
		return;
	shmstat__sm_free(&v->m);
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
	return v->m.n;
}

static const char *owner_name(const shmstat_sigview *v, uint32_t owner)
{
	return owner >= 1 && owner <= v->nown ? v->names[owner - 1] : "";
}

int shmstat_sigview_entry(const shmstat_sigview *v, size_t i, struct shmstat_sigentry *out)
{
	const struct sm_key *k;
	uint64_t events;

	if (i >= v->m.n)
		return EINVAL;
	k = &v->m.k[i];
	memset(out, 0, sizeof(*out));
	out->hash = k->hash;
	out->key = v->m.arena + k->key_off;
	out->key_len = k->key_len;
	out->full_len = k->full_len;
	out->has_key = k->known;
	out->owner = owner_name(v, k->owner);
	out->err_hits = out->err_misses = k->err;
	out->err_weight = k->werr;
	out->hits = sadd(k->lo_h, k->err);
	out->misses = sadd(k->lo_m, k->err);
	out->weight = sadd(k->lo_w, k->werr);
	out->first_ns = k->first_ns == UINT64_MAX ? 0 : k->first_ns;
	out->last_ns = k->last_ns;
	events = sadd(k->lo_h, k->lo_m);
	out->hit_rate = events ? (double)k->lo_h / (double)events : 0;
	out->expired = v->st.ttl_ns && v->taken_ns > k->last_ns &&
		       v->taken_ns - k->last_ns > v->st.ttl_ns;
	return 0;
}

struct order_ctx {
	const shmstat_sigview *v;
	enum shmstat_sig_order order;
};

static uint64_t key_of(const shmstat_sigview *v, size_t i, enum shmstat_sig_order order)
{
	const struct sm_key *k = &v->m.k[i];

	switch (order) {
	case SHMSTAT_BY_WEIGHT: return k->lo_w;
	case SHMSTAT_BY_RECENT: return k->last_ns;
	case SHMSTAT_BY_HITS_MAX: return sadd(k->lo_h, k->err);
	default: return k->lo_h;
	}
}

static int by_order(size_t a, size_t b, const struct order_ctx *c)
{
	const shmstat_sigview *v = c->v;
	const struct sm_key *x = &v->m.k[a], *y = &v->m.k[b];
	uint64_t kx = key_of(v, a, c->order), ky = key_of(v, b, c->order);
	uint64_t ux, uy;

	if (kx != ky)
		return kx > ky ? -1 : 1;
	/* ties: the larger upper bound, the more recent, the hash */
	ux = c->order == SHMSTAT_BY_WEIGHT ? sadd(x->lo_w, x->werr) : sadd(x->lo_h, x->err);
	uy = c->order == SHMSTAT_BY_WEIGHT ? sadd(y->lo_w, y->werr) : sadd(y->lo_h, y->err);
	if (ux != uy)
		return ux > uy ? -1 : 1;
	if (x->last_ns != y->last_ns)
		return x->last_ns > y->last_ns ? -1 : 1;
	return (x->hash > y->hash) - (x->hash < y->hash);
}

static int by_order_q(const void *a, const void *b, void *arg)
{
	return by_order(*(const size_t *)a, *(const size_t *)b, arg);
}

size_t shmstat_sigview_top(const shmstat_sigview *v, enum shmstat_sig_order order,
			   const char *owner, size_t n, size_t *out)
{
	struct order_ctx ctx = { v, order };
	size_t got = 0;

	if (n == 0)
		return 0;
	/* keep the best n seen so far in out[], sorted: O(keys * n), and the
	 * common n (a screenful) is small; a full sort beyond 64 */
	if (n > 64) {
		size_t *idx = malloc((v->m.n ? v->m.n : 1) * sizeof(*idx)), m = 0;

		if (idx == NULL)
			return 0;
		for (size_t k = 0; k < v->m.n; k++)
			if (owner == NULL || strcmp(owner_name(v, v->m.k[k].owner), owner) == 0)
				idx[m++] = k;
		qsort_r(idx, m, sizeof(*idx), by_order_q, &ctx);
		got = n < m ? n : m;
		memcpy(out, idx, got * sizeof(*out));
		free(idx);
		return got;
	}
	for (size_t k = 0; k < v->m.n; k++) {
		size_t at;

		if (owner && strcmp(owner_name(v, v->m.k[k].owner), owner) != 0)
			continue;
		if (got == n && by_order(k, out[n - 1], &ctx) >= 0)
			continue;
		at = got < n ? got++ : n - 1;
		while (at > 0 && by_order(k, out[at - 1], &ctx) < 0) {
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
