/*
 * history.c - snapshots kept over time in a file (shmstat_history.h):
 * tiers of round-robin rings of self-checking records, and the
 * dictionary of series names they refer to. The bytes are drawn in
 * history.h.
 *
 * Writer: one process per file (flock). Each snapshot becomes one
 * payload: the series it holds are named by a schema entry of the
 * dictionary (itself a list of series entries and registration ids),
 * written once and referred to by every record while the set of metrics
 * does not change, so a record is only values: about 4 bytes per counter.
 * The payload is written, with its own header and checksum, into every
 * tier whose step has passed, each with one pwrite(2) at the ring's
 * write position (at the ring's start when it does not fit before its
 * end). Dictionary entries a record needs are written before it.
 *
 * Reader: no lock, no trust. A ring is read with pread(2) through a
 * window; records are found by their magic, their length and their
 * checksum, one 8-byte step at a time over what is not a valid record
 * (bounded work: at most two passes of hashing per ring); the records
 * kept are the run of consecutive seqs down from the newest, so a record
 * torn by a crash (checksum) and older records whose neighbours were
 * overwritten are left out. The dictionary is read once and then
 * extended as records name newer entries; entries are immutable, so
 * frames keep a reference to it (refcounted) and outlive their handle.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "histogram.h"
#include "history.h"

#define NS_PER_S  UINT64_C(1000000000)
#define WINDOW    (size_t)(1u << 20)      /* bytes read at a time */

/* -------------------------------------------------------- byte buffers */

struct buf {
	unsigned char *p;
	size_t n, cap;
	int oom;
};

static void buf_reserve(struct buf *b, size_t more)
{
	size_t cap;
	unsigned char *p;

	if (b->oom || b->cap - b->n >= more)
		return;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->n < more) {
		if (cap > SIZE_MAX / 2) {
			b->oom = 1;
			return;
		}
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (b->oom)
		return;
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put_u8(struct buf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	put_bytes(b, &c, 1);
}

static void put_v(struct buf *b, uint64_t v)
{
	unsigned char t[10];
	size_t n = 0;

	do {
		t[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	put_bytes(b, t, n);
}

static void put_f64(struct buf *b, uint64_t v)
{
	put_bytes(b, &v, 8);
}

static void put_str(struct buf *b, const void *s, size_t n)
{
	put_v(b, n);
	put_bytes(b, s, n);
}

static uint64_t zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63)); /* all ones when v < 0 */
}

static int64_t unzz(uint64_t u)
{
	return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

static inline uint64_t round8(uint64_t n)
{
	return (n + 7) & ~UINT64_C(7);
}

/* ------------------------------------------------------------- cursors */

/* Reading untrusted bytes: every getter checks what is left, and a
 * failure sticks (bad), so a decoder checks once per item. */
struct cur {
	const unsigned char *p, *end;
	int bad;
};

static uint64_t get_v(struct cur *c)
{
	uint64_t x = 0;

	for (unsigned sh = 0; sh < 64; sh += 7) {
		unsigned b;

		if (c->p >= c->end)
			break;
		b = *c->p++;
		if (sh == 63 && b > 1)
			break;
		x |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80))
			return x;
	}
	c->bad = 1;
	c->p = c->end;
	return 0;
}

static unsigned get_u8(struct cur *c)
{
	if (c->p >= c->end) {
		c->bad = 1;
		return 0;
	}
	return *c->p++;
}

static uint64_t get_f64(struct cur *c)
{
	uint64_t v;

	if ((size_t)(c->end - c->p) < 8) {
		c->bad = 1;
		c->p = c->end;
		return 0;
	}
	memcpy(&v, c->p, 8);
	c->p += 8;
	return v;
}

/* A string of at most @max bytes; with @nul_ok 0, without NUL bytes. */
static const unsigned char *get_str(struct cur *c, size_t max, int nul_ok, size_t *len)
{
	uint64_t n = get_v(c);
	const unsigned char *s = c->p;

	*len = 0;
	if (c->bad || n > max || n > (uint64_t)(c->end - c->p) ||
	    (!nul_ok && n && memchr(s, 0, (size_t)n))) {
		c->bad = 1;
		c->p = c->end;
		return NULL;
	}
	c->p += n;
	*len = (size_t)n;
	return s;
}

static size_t left(const struct cur *c)
{
	return (size_t)(c->end - c->p);
}

/* Nothing but fewer than 8 zero bytes left (the padding to 8). */
static int at_end(const struct cur *c)
{
	if (c->bad || left(c) >= 8)
		return 0;
	for (const unsigned char *p = c->p; p < c->end; p++)
		if (*p)
			return 0;
	return 1;
}

/* --------------------------------------------------------- dictionary */

/* A series: what does not change from record to record. */
struct hdesc {
	enum shmstat_type type;
	enum shmstat_agg agg;
	unsigned bits;
	uint32_t nb;               /* histogram buckets */
	uint64_t lowest, highest;
	const char *name, *labels, *help, *unit;
};

/* The series of a snapshot, in its order, with their registration ids. */
struct hschema {
	size_t n;
	const struct hdesc **d;
	uint64_t *reg;
	size_t nhist, nsig;
};

/* A dictionary entry; kind 0: valid checksum, contents not understood
 * (never referred to). */
struct hent {
	unsigned kind;
	uint64_t hash;             /* XXH3-64 of the payload */
	uint32_t plen;
	const unsigned char *payload;
	struct hdesc d;            /* kind series */
	struct hschema s;          /* kind schema */
};

struct hdict {
	unsigned refs;
	size_t n, cap;
	struct hent **e;
	uint64_t end;              /* bytes in use: the next entry goes here */
};

static struct hdict *dict_new(void)
{
	struct hdict *d = calloc(1, sizeof(*d));

	if (d)
		d->refs = 1;
	return d;
}

static struct hdict *dict_ref(struct hdict *d)
{
	__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	return d;
}

static void dict_unref(struct hdict *d)
{
	if (d == NULL || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->e[i]);
	free(d->e);
	free(d);
}

/* A series payload, checked, its strings not yet copied. */
struct rawdesc {
	unsigned type, agg, bits;
	uint64_t lowest, highest;
	uint32_t nb;
	const unsigned char *s[4];
	size_t sl[4];
};

static int parse_desc(struct cur *c, struct rawdesc *r)
{
	memset(r, 0, sizeof(*r));
	if (get_u8(c) != SHMSTAT_HF_KIND_SERIES)
		return -1;
	r->type = get_u8(c);
	r->agg = get_u8(c);
	if (c->bad || r->type < SHMSTAT_COUNTER || r->type > SHMSTAT_SIGTABLE ||
	    r->agg > SHMSTAT_AGG_LIVELAST)
		return -1;
	if (r->type == SHMSTAT_HISTOGRAM) {
		uint64_t bits = get_v(c);

		r->lowest = get_v(c);
		r->highest = get_v(c);
		if (c->bad || bits < SHMSTAT_HIST_MIN_BITS || bits > SHMSTAT_HIST_MAX_BITS ||
		    r->lowest > r->highest)
			return -1;
		r->bits = (unsigned)bits;
		r->nb = shmstat__nbuckets(r->bits, r->highest);
		if (r->nb == 0 || r->nb > SHMSTAT_HF_MAX_BUCKETS)
			return -1;
	}
	for (int k = 0; k < 4; k++)
		r->s[k] = get_str(c, SHMSTAT_HF_STR_MAX, 0, &r->sl[k]);
	if (c->bad || r->sl[0] == 0)
		return -1;
	return 0;
}

static size_t desc_strbytes(const struct rawdesc *r)
{
	return r->sl[0] + r->sl[1] + r->sl[2] + r->sl[3] + 4;
}

static char *copy_str(char **at, const unsigned char *s, size_t n)
{
	char *p = *at;

	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	*at = p + n + 1;
	return p;
}

static void fill_desc(struct hdesc *d, const struct rawdesc *r, char **strs)
{
	d->type = (enum shmstat_type)r->type;
	d->agg = (enum shmstat_agg)r->agg;
	d->bits = r->bits;
	d->nb = r->nb;
	d->lowest = r->lowest;
	d->highest = r->highest;
	d->name = copy_str(strs, r->s[0], r->sl[0]);
	d->labels = copy_str(strs, r->s[1], r->sl[1]);
	d->help = copy_str(strs, r->s[2], r->sl[2]);
	d->unit = copy_str(strs, r->s[3], r->sl[3]);
}

/*
 * A schema payload after its kind byte: series that are entries of @dict
 * below @limit, or (with @inl_ok) inline series payloads. With @sc NULL,
 * only checks and counts: *@n series, *@ninl inline ones needing
 * *@strb bytes of strings. Otherwise fills @sc (arrays allocated by the
 * caller for *@n series), the inline ones into @inl, strings at *@strs.
 */
static int parse_schema(struct cur *c, const struct hdict *dict, size_t limit, int inl_ok,
			struct hschema *sc, struct hdesc *inl, char **strs,
			size_t *n, size_t *ninl, size_t *strb)
{
	uint64_t cnt = get_v(c), reg = 0;
	int64_t prev = -1;
	size_t k = 0;

	if (c->bad || cnt > left(c) / 2)
		return -1;
	if (sc == NULL) {
		*n = (size_t)cnt;
		*ninl = 0;
		*strb = 0;
	} else {
		sc->n = (size_t)cnt;
		sc->nhist = sc->nsig = 0;
	}
	for (uint64_t i = 0; i < cnt; i++) {
		uint64_t tag = get_v(c);
		const struct hdesc *d;

		if (c->bad)
			return -1;
		if (tag & 1) {
			struct rawdesc r;
			struct cur sub;
			size_t sl;
			const unsigned char *s;

			if (tag != 1 || !inl_ok)
				return -1;
			s = get_str(c, SHMSTAT_HF_STR_MAX * 4 + 64, 1, &sl);
			if (s == NULL)
				return -1;
			sub = (struct cur){ s, s + sl, 0 };
			if (parse_desc(&sub, &r) != 0 || left(&sub) != 0)
				return -1;
			if (sc == NULL) {
				(*ninl)++;
				*strb += desc_strbytes(&r);
				d = NULL;
			} else {
				fill_desc(&inl[k], &r, strs);
				d = &inl[k++];
			}
		} else {
			int64_t delta = unzz(tag >> 1);
			int64_t idx;

			if (delta > (int64_t)limit || delta < -(int64_t)limit)
				return -1;
			idx = prev + 1 + delta;
			if (idx < 0 || (uint64_t)idx >= limit ||
			    dict->e[idx]->kind != SHMSTAT_HF_KIND_SERIES)
				return -1;
			prev = idx;
			d = &dict->e[idx]->d;
		}
		reg += (uint64_t)unzz(get_v(c));
		if (c->bad)
			return -1;
		if (sc) {
			sc->d[i] = d;
			sc->reg[i] = reg;
			if (d->type == SHMSTAT_HISTOGRAM)
				sc->nhist++;
			else if (d->type == SHMSTAT_SIGTABLE)
				sc->nsig++;
		}
	}
	return 0;
}

static size_t al8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Entry @index of @dict from its payload (copied); NULL: out of memory.
 * A payload that does not parse gives an entry of kind 0. */
static struct hent *ent_new(const struct hdict *dict, size_t index, const unsigned char *p,
			    uint32_t plen)
{
	struct cur c = { p, p + plen, 0 };
	struct hent *e;
	unsigned kind = plen ? p[0] : 0;
	size_t base = al8(sizeof(*e)), used = plen;

	if (kind == SHMSTAT_HF_KIND_SERIES) {
		struct rawdesc r;

		if (parse_desc(&c, &r) != 0 || !at_end(&c))
			goto unknown;
		used = (size_t)(c.p - p);
		e = malloc(base + al8(used) + desc_strbytes(&r));
		if (e == NULL)
			return NULL;
		memset(e, 0, sizeof(*e));
		{
			char *strs = (char *)e + base + al8(used);

			fill_desc(&e->d, &r, &strs);
		}
	} else if (kind == SHMSTAT_HF_KIND_SCHEMA) {
		size_t n, ninl, strb;
		char *none = NULL;

		c.p++;
		if (parse_schema(&c, dict, index, 0, NULL, NULL, NULL, &n, &ninl, &strb) != 0 ||
		    !at_end(&c))
			goto unknown;
		used = (size_t)(c.p - p);
		e = malloc(base + al8(used) + n * (sizeof(void *) + 8));
		if (e == NULL)
			return NULL;
		memset(e, 0, sizeof(*e));
		e->s.d = (const struct hdesc **)((char *)e + base + al8(used));
		e->s.reg = (uint64_t *)(e->s.d + n);
		c = (struct cur){ p + 1, p + used, 0 };
		if (parse_schema(&c, dict, index, 0, &e->s, NULL, &none, &n, &ninl, &strb) != 0) {
			free(e);
			goto unknown;
		}
	} else {
		goto unknown;
	}
	e->kind = kind;
	e->plen = (uint32_t)used;
	e->payload = (const unsigned char *)e + base;
	memcpy((unsigned char *)e + base, p, used);
	e->hash = shmstat__hash(p, used);
	return e;
unknown:
	e = calloc(1, sizeof(*e));
	return e;
}

static int dict_push(struct hdict *d, struct hent *e)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct hent **ne = realloc(d->e, cap * sizeof(struct hent *));

		if (ne == NULL)
			return ENOMEM;
		d->e = ne;
		d->cap = cap;
	}
	d->e[d->n++] = e;
	return 0;
}

/* ------------------------------------------------------ the handle */

struct wtier {
	uint64_t pos;              /* where the next record goes */
	uint64_t seq;              /* its seq */
	uint64_t bucket;           /* time / step of the last record */
	int has_last;
};

/* u64 -> u32, open addressing; several values may share a key (hashes
 * of different payloads), the caller tells them apart. */
struct hmap {
	uint64_t *k;
	uint32_t *v;               /* value + 1; 0: empty */
	size_t cap, n;
};

struct shmstat_history {
	int fd;
	int writable;
	char *path;
	struct shmstat_hf_hdr hdr;
	struct hdict *dict;
	/* writer */
	struct wtier wt[SHMSTAT_HISTORY_MAX_TIERS];
	uint64_t last_ns;
	int has_last;
	char segment[SHMSTAT_HF_SEG_MAX + 1];
	struct hmap dmap;          /* series payload hash -> entry */
	struct hmap smap;          /* schema payload hash -> entry */
	struct hmap rmap;          /* reg_id -> series entry, for generation rgen */
	uint64_t rgen;
	uint32_t *cur_d;           /* this snapshot: entry or UINT32_MAX (inline) */
	uint64_t *cur_reg;
	size_t *cur_inl;           /* inline: offset of its payload in inl */
	size_t cur_cap;
	uint32_t *last_d;          /* the last schema written */
	uint64_t *last_reg;
	size_t last_n, last_cap;
	uint32_t last_schema;      /* its entry, UINT32_MAX: none */
	struct buf pay, tmp, inl, rec;
	uint64_t *cnt;             /* a histogram's bucket counts */
	size_t cntcap;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return x;
}

static int hmap_put(struct hmap *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		uint64_t *k = calloc(cap, sizeof(*k));
		uint32_t *v = calloc(cap, sizeof(*v));

		if (k == NULL || v == NULL) {
			free(k);
			free(v);
			return ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++) {
			size_t j;

			if (m->v[i] == 0)
				continue;
			for (j = mix64(m->k[i]) & (cap - 1); v[j]; j = (j + 1) & (cap - 1))
				;
			k[j] = m->k[i];
			v[j] = m->v[i];
		}
		free(m->k);
		free(m->v);
		m->k = k;
		m->v = v;
		m->cap = cap;
	}
	{
		size_t j;

		for (j = mix64(key) & (m->cap - 1); m->v[j]; j = (j + 1) & (m->cap - 1))
			;
		m->k[j] = key;
		m->v[j] = val + 1;
		m->n++;
	}
	return 0;
}

/* The values stored under @key, one per call: start with *@it = 0;
 * UINT32_MAX when there are no more. */
static uint32_t hmap_next(const struct hmap *m, uint64_t key, size_t *it)
{
	size_t j;

	if (m->cap == 0)
		return UINT32_MAX;
	j = *it ? *it : (mix64(key) & (m->cap - 1)) + 1;
	for (j--; m->v[j]; j = (j + 1) & (m->cap - 1)) {
		if (m->k[j] == key) {
			*it = ((j + 1) & (m->cap - 1)) + 1;
			return m->v[j] - 1;
		}
	}
	*it = 0;
	return UINT32_MAX;
}

static void hmap_clear(struct hmap *m)
{
	if (m->cap)
		memset(m->v, 0, m->cap * sizeof(*m->v));
	m->n = 0;
}

static void hmap_free(struct hmap *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* --------------------------------------------------------------- I/O */

static int pwrite_full(int fd, const void *p, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pwrite(fd, (const char *)p + done, n - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno;
		if (r == 0)
			return EIO;
		done += (size_t)r;
	}
	return 0;
}

/* A window over region [base, base + len) of the file. */
struct rview {
	int fd;
	uint64_t base, len;
	unsigned char *buf;
	size_t cap;
	uint64_t woff;
	size_t wlen;
	unsigned char *big;
	size_t bigcap;
	int err;                   /* 0, SHMSTAT_ETRUNCATED, ENOMEM or errno */
};

static void rv_init(struct rview *v, int fd, uint64_t base, uint64_t len)
{
	memset(v, 0, sizeof(*v));
	v->fd = fd;
	v->base = base;
	v->len = len;
	v->cap = len < WINDOW ? (size_t)len : WINDOW;
}

static void rv_free(struct rview *v)
{
	free(v->buf);
	free(v->big);
}

/* Bytes [off, off + n) of the region (the caller checked they lie in it),
 * valid until the next call; NULL on error (v->err). */
static const unsigned char *rv_get(struct rview *v, uint64_t off, size_t n)
{
	ssize_t r;

	if (v->wlen && off >= v->woff && off - v->woff + n <= v->wlen)
		return v->buf + (off - v->woff);
	if (n <= v->cap) {
		size_t want = v->len - off < v->cap ? (size_t)(v->len - off) : v->cap;

		if (v->buf == NULL && (v->buf = malloc(v->cap)) == NULL) {
			v->err = ENOMEM;
			return NULL;
		}
		v->wlen = 0;
		r = shmstat__pread_full(v->fd, v->buf, want, v->base + off);
		if (r < 0 || (size_t)r < want) {
			v->err = r < 0 ? errno : SHMSTAT_ETRUNCATED;
			return NULL;
		}
		v->woff = off;
		v->wlen = want;
		return v->buf;
	}
	if (n > v->bigcap) {
		unsigned char *p = realloc(v->big, n);

		if (p == NULL) {
			v->err = ENOMEM;
			return NULL;
		}
		v->big = p;
		v->bigcap = n;
	}
	r = shmstat__pread_full(v->fd, v->big, n, v->base + off);
	if (r < 0 || (size_t)r < n) {
		v->err = r < 0 ? errno : SHMSTAT_ETRUNCATED;
		return NULL;
	}
	return v->big;
}

static int io_fail(const struct shmstat_history *h, int err, const char *what)
{
	if (err == SHMSTAT_ETRUNCATED)
		return shmstat__fail(err, "history file '%s' is truncated: it shrank while %s",
				     h->path, what);
	if (err == ENOMEM)
		return shmstat__fail(err, "out of memory while %s history file '%s'", what, h->path);
	return shmstat__fail(err, "cannot read history file '%s' while %s: %s", h->path, what,
			     strerror(err));
}

/* ----------------------------------------------------- dictionary reads */

/* Read the entries appended since the last call (the dictionary ends at
 * the first entry that is not valid). */
static int dict_refresh(struct shmstat_history *h)
{
	struct hdict *d = h->dict;
	uint64_t dlen = h->hdr.dict_len;
	struct rview v;
	int err = 0;

	rv_init(&v, h->fd, h->hdr.dict_off, dlen);
	while (d->end + SHMSTAT_HF_ENT_HDR <= dlen && d->n < UINT32_MAX - 1) {
		const unsigned char *p = rv_get(&v, d->end, SHMSTAT_HF_ENT_HDR);
		struct shmstat_hf_ent eh;
		struct hent *e;

		if (p == NULL) {
			err = io_fail(h, v.err, "reading the dictionary of");
			break;
		}
		memcpy(&eh, p, sizeof(eh));
		if (eh.magic != SHMSTAT_HF_ENT_MAGIC || eh.len < SHMSTAT_HF_ENT_HDR + 8 ||
		    eh.len % 8 || eh.len > dlen - d->end || eh.len > SHMSTAT_HF_REC_MAX ||
		    eh.index != d->n)
			break;
		p = rv_get(&v, d->end, eh.len);
		if (p == NULL) {
			err = io_fail(h, v.err, "reading the dictionary of");
			break;
		}
		if (shmstat__hf_sum(p, eh.len, h->hdr.seed, SHMSTAT_HF_AREA_DICT) != eh.sum)
			break;
		e = ent_new(d, d->n, p + SHMSTAT_HF_ENT_HDR, eh.len - SHMSTAT_HF_ENT_HDR);
		if (e == NULL || dict_push(d, e) != 0) {
			free(e);
			err = shmstat__fail(ENOMEM, "out of memory reading history file '%s'",
					    h->path);
			break;
		}
		d->end += eh.len;
	}
	rv_free(&v);
	return err;
}

/* ---------------------------------------------------------- ring reads */

struct rref {
	uint64_t off, seq, time;
	uint32_t len;
};

static int by_seq_desc(const void *a, const void *b)
{
	const struct rref *x = a, *y = b;

	return (x->seq < y->seq) - (x->seq > y->seq);
}

/*
 * The records of ring @k a reader keeps, oldest first: valid ones (magic,
 * length, checksum) forming the run of consecutive seqs down from the
 * highest, their times not going up as the seqs go down.
 */
static int scan_ring(struct shmstat_history *h, unsigned k, struct rref **out, size_t *nout)
{
	const struct shmstat_hf_tier *t = &h->hdr.tier[k];
	uint64_t off = 0, hashed = 0, budget = 2 * t->ring_len + (UINT64_C(64) << 20);
	struct rref *r = NULL;
	size_t n = 0, cap = 0, keep;
	struct rview v;
	int err = 0;

	*out = NULL;
	*nout = 0;
	rv_init(&v, h->fd, t->ring_off, t->ring_len);
	while (off + SHMSTAT_HF_REC_HDR <= t->ring_len) {
		const unsigned char *p = rv_get(&v, off, SHMSTAT_HF_REC_HDR);
		struct shmstat_hf_rec rh;

		if (p == NULL) {
			err = io_fail(h, v.err, "reading");
			goto out;
		}
		memcpy(&rh, p, sizeof(rh));
		if (rh.magic == SHMSTAT_HF_REC_MAGIC && rh.len >= SHMSTAT_HF_REC_HDR + 8 &&
		    rh.len % 8 == 0 && rh.len <= t->ring_len - off && rh.len <= SHMSTAT_HF_REC_MAX &&
		    rh.seq != 0) {
			if (hashed + rh.len > budget)
				break;             /* damaged beyond reason: keep what we have */
			hashed += rh.len;
			p = rv_get(&v, off, rh.len);
			if (p == NULL) {
				err = io_fail(h, v.err, "reading");
				goto out;
			}
			if (shmstat__hf_sum(p, rh.len, h->hdr.seed, k) == rh.sum) {
				if (n == cap) {
					size_t nc = cap ? cap * 2 : 256;
					struct rref *nr = realloc(r, nc * sizeof(*nr));

					if (nr == NULL) {
						err = io_fail(h, ENOMEM, "reading");
						goto out;
					}
					r = nr;
					cap = nc;
				}
				r[n++] = (struct rref){ off, rh.seq, rh.time_ns, rh.len };
				off += rh.len;
				continue;
			}
		}
		off += 8;
	}
	if (n == 0)
		goto out;
	qsort(r, n, sizeof(*r), by_seq_desc);
	for (keep = 1; keep < n; keep++)
		if (r[keep].seq != r[keep - 1].seq - 1 || r[keep].time > r[keep - 1].time)
			break;
	/* oldest first */
	for (size_t i = 0; i < keep / 2; i++) {
		struct rref x = r[i];

		r[i] = r[keep - 1 - i];
		r[keep - 1 - i] = x;
	}
	*out = r;
	*nout = keep;
	r = NULL;
out:
	free(r);
	rv_free(&v);
	return err;
}

/* ------------------------------------------------------------- header */

void shmstat_history_opts_init(struct shmstat_history_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ntiers = 3;
	o->tier[0] = (struct shmstat_tier){ 1 * NS_PER_S, 600 * NS_PER_S };
	o->tier[1] = (struct shmstat_tier){ 10 * NS_PER_S, UINT64_C(6) * 3600 * NS_PER_S };
	o->tier[2] = (struct shmstat_tier){ 300 * NS_PER_S, UINT64_C(7) * 86400 * NS_PER_S };
	o->max_bytes = UINT64_C(64) << 20;
	o->top_keys = 20;
	o->mode = 0600;
}

static uint64_t records_of(const struct shmstat_tier *t)
{
	return t->span_ns / t->step_ns + (t->span_ns % t->step_ns != 0);
}

/* Check @o and lay the file out in @hd (all but seed, time, uid, sum). */
static int geometry(const struct shmstat_history_opts *o, const char *path,
		    struct shmstat_hf_hdr *hd)
{
	uint64_t total, dict, pages, rest, w = 0, given = 0, off;
	uint64_t extra[SHMSTAT_HISTORY_MAX_TIERS], rem[SHMSTAT_HISTORY_MAX_TIERS];
	unsigned nt = o->ntiers;

	if (nt < 1 || nt > SHMSTAT_HISTORY_MAX_TIERS)
		return shmstat__fail(EINVAL, "cannot create history file '%s': %u tiers, not 1 to %d",
				     path, nt, SHMSTAT_HISTORY_MAX_TIERS);
	for (unsigned k = 0; k < nt; k++) {
		const struct shmstat_tier *t = &o->tier[k];

		if (t->step_ns == 0 || t->span_ns < t->step_ns)
			return shmstat__fail(EINVAL,
					     "cannot create history file '%s': tier %u has step %llu ns and span %llu ns; the span must be at least the step, and the step above 0",
					     path, k, (unsigned long long)t->step_ns,
					     (unsigned long long)t->span_ns);
		if (records_of(t) > SHMSTAT_HF_MAX_RECORDS)
			return shmstat__fail(EINVAL,
					     "cannot create history file '%s': tier %u holds more than 2^32 steps",
					     path, k);
		if (k && (t->step_ns <= o->tier[k - 1].step_ns || t->span_ns < o->tier[k - 1].span_ns))
			return shmstat__fail(EINVAL,
					     "cannot create history file '%s': tier %u is not coarser than tier %u (steps must grow, spans must not shrink)",
					     path, k, k - 1);
		w += records_of(t);
	}
	if (o->top_keys > SHMSTAT_HF_MAX_TOP_KEYS)
		return shmstat__fail(EINVAL, "cannot create history file '%s': top_keys %u, not 0 to %u",
				     path, o->top_keys, SHMSTAT_HF_MAX_TOP_KEYS);
	if (o->mode != 0 && o->mode != 0600 && o->mode != 0640)
		return shmstat__fail(EINVAL, "cannot create history file '%s': mode %04o, not 0600 or 0640",
				     path, o->mode);
	total = (o->max_bytes ? o->max_bytes : UINT64_C(64) << 20) & ~UINT64_C(4095);
	if (total < SHMSTAT_HF_MIN_BYTES || total > SHMSTAT_HF_MAX_BYTES)
		return shmstat__fail(EINVAL,
				     "cannot create history file '%s': max_bytes %llu, not 16 KiB to 1 TiB",
				     path, (unsigned long long)o->max_bytes);
	dict = (total / 16) & ~UINT64_C(4095);
	if (dict < 4096)
		dict = 4096;
	if (dict > SHMSTAT_HF_DICT_MAX)
		dict = SHMSTAT_HF_DICT_MAX;
	pages = (total - SHMSTAT_HF_HDR_SIZE - dict) / 4096;
	if (pages < nt)
		return shmstat__fail(EINVAL,
				     "cannot create history file '%s': max_bytes %llu leaves less than 4096 bytes per tier",
				     path, (unsigned long long)o->max_bytes);
	/* one page each, the rest in proportion to the records (largest
	 * remainders get the pages rounding leaves) */
	rest = pages - nt;
	for (unsigned k = 0; k < nt; k++) {
		uint64_t rk = records_of(&o->tier[k]);
		/* rest < 2^28, rk <= 2^32: no overflow */
		extra[k] = rest * rk / w;
		rem[k] = rest * rk % w;
		given += extra[k];
	}
	while (given < rest) {
		unsigned best = 0;

		for (unsigned k = 1; k < nt; k++)
			if (rem[k] > rem[best])
				best = k;
		extra[best]++;
		rem[best] = 0;
		given++;
	}
	memset(hd, 0, sizeof(*hd));
	memcpy(hd->magic, SHMSTAT_HF_MAGIC, 8);
	hd->major = SHMSTAT_HF_MAJOR;
	hd->minor = SHMSTAT_HF_MINOR;
	hd->hdr_size = SHMSTAT_HF_HDR_SIZE;
	hd->endian = SHMSTAT_HF_ENDIAN_PROBE;
	hd->total_size = total;
	hd->flags = o->mode == 0640 ? SHMSTAT_HF_F_GROUP_READ : 0;
	hd->ntiers = nt;
	hd->top_keys = o->top_keys;
	hd->dict_off = SHMSTAT_HF_HDR_SIZE;
	hd->dict_len = dict;
	off = SHMSTAT_HF_HDR_SIZE + dict;
	for (unsigned k = 0; k < nt; k++) {
		hd->tier[k].step_ns = o->tier[k].step_ns;
		hd->tier[k].span_ns = o->tier[k].span_ns;
		hd->tier[k].ring_off = off;
		hd->tier[k].ring_len = (1 + extra[k]) * 4096;
		off += hd->tier[k].ring_len;
	}
	return 0;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Check a header read from a file of @fsize bytes. */
static int validate(const struct shmstat_hf_hdr *hd, uint64_t fsize, const char *path)
{
	if (memcmp(hd->magic, SHMSTAT_HF_MAGIC, 8) != 0)
		return shmstat__fail(SHMSTAT_EFOREIGN,
				     "history file '%s' is not a shmstat history file (bad magic)", path);
	if (hd->endian != SHMSTAT_HF_ENDIAN_PROBE)
		return shmstat__fail(SHMSTAT_EFOREIGN,
				     "history file '%s' was written with another byte order", path);
	if (hd->major != SHMSTAT_HF_MAJOR)
		return shmstat__fail(SHMSTAT_EVERSION,
				     "history file '%s' has format %u.%u; this build reads %u.x",
				     path, hd->major, hd->minor, SHMSTAT_HF_MAJOR);
	if (shmstat__hash(hd, SHMSTAT_HF_HDR_SUM_BYTES) != hd->hdr_sum)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "history file '%s' is corrupted: header checksum mismatch", path);
	if (hd->hdr_size != SHMSTAT_HF_HDR_SIZE)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "history file '%s' is corrupted: header size %u, expected %u",
				     path, hd->hdr_size, SHMSTAT_HF_HDR_SIZE);
	if (fsize < hd->total_size)
		return shmstat__fail(SHMSTAT_ETRUNCATED,
				     "history file '%s' is truncated: %llu bytes, its header says %llu",
				     path, (unsigned long long)fsize,
				     (unsigned long long)hd->total_size);
	if (fsize != hd->total_size)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "history file '%s' is corrupted: %llu bytes, its header says %llu",
				     path, (unsigned long long)fsize,
				     (unsigned long long)hd->total_size);
	if (hd->ntiers < 1 || hd->ntiers > SHMSTAT_HISTORY_MAX_TIERS)
		return shmstat__fail(SHMSTAT_ECORRUPT, "history file '%s' is corrupted: %u tiers",
				     path, hd->ntiers);
	if (hd->top_keys > SHMSTAT_HF_MAX_TOP_KEYS)
		return shmstat__fail(SHMSTAT_ECORRUPT, "history file '%s' is corrupted: %u top keys",
				     path, hd->top_keys);
	if (hd->dict_off < SHMSTAT_HF_HDR_SIZE || hd->dict_off % 8 || hd->dict_len % 8 ||
	    hd->dict_len < 64 || hd->dict_len > SHMSTAT_HF_DICT_MAX ||
	    !shmstat__fits(hd->dict_off, hd->dict_len, hd->total_size))
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "history file '%s' is corrupted: dictionary at offset %llu length %llu in a file of %llu bytes",
				     path, (unsigned long long)hd->dict_off,
				     (unsigned long long)hd->dict_len,
				     (unsigned long long)hd->total_size);
	for (unsigned k = 0; k < hd->ntiers; k++) {
		const struct shmstat_hf_tier *t = &hd->tier[k];

		if (t->step_ns == 0 || t->span_ns < t->step_ns ||
		    t->span_ns / t->step_ns > SHMSTAT_HF_MAX_RECORDS ||
		    (k && (t->step_ns <= hd->tier[k - 1].step_ns ||
			   t->span_ns < hd->tier[k - 1].span_ns)))
			return shmstat__fail(SHMSTAT_ECORRUPT,
					     "history file '%s' is corrupted: tier %u has step %llu ns and span %llu ns",
					     path, k, (unsigned long long)t->step_ns,
					     (unsigned long long)t->span_ns);
		if (t->ring_off < SHMSTAT_HF_HDR_SIZE || t->ring_off % 8 || t->ring_len % 8 ||
		    t->ring_len < 64 || !shmstat__fits(t->ring_off, t->ring_len, hd->total_size) ||
		    overlap(t->ring_off, t->ring_len, hd->dict_off, hd->dict_len))
			return shmstat__fail(SHMSTAT_ECORRUPT,
					     "history file '%s' is corrupted: ring of tier %u at offset %llu length %llu in a file of %llu bytes",
					     path, k, (unsigned long long)t->ring_off,
					     (unsigned long long)t->ring_len,
					     (unsigned long long)hd->total_size);
		for (unsigned j = 0; j < k; j++)
			if (overlap(t->ring_off, t->ring_len, hd->tier[j].ring_off,
				    hd->tier[j].ring_len))
				return shmstat__fail(SHMSTAT_ECORRUPT,
						     "history file '%s' is corrupted: rings of tiers %u and %u overlap",
						     path, j, k);
	}
	return 0;
}

/* --------------------------------------------------------- open / close */

static void hist_free(struct shmstat_history *h)
{
	if (h == NULL)
		return;
	if (h->fd >= 0)
		close(h->fd);
	dict_unref(h->dict);
	hmap_free(&h->dmap);
	hmap_free(&h->smap);
	hmap_free(&h->rmap);
	free(h->cur_d);
	free(h->cur_reg);
	free(h->cur_inl);
	free(h->last_d);
	free(h->last_reg);
	free(h->pay.p);
	free(h->tmp.p);
	free(h->inl.p);
	free(h->rec.p);
	free(h->cnt);
	free(h->path);
	free(h);
}

static struct shmstat_history *hist_alloc(const char *path, int fd, int writable)
{
	struct shmstat_history *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->fd = fd;
	h->writable = writable;
	h->last_schema = UINT32_MAX;
	h->path = strdup(path);
	h->dict = dict_new();
	if (h->path == NULL || h->dict == NULL) {
		h->fd = -1;
		hist_free(h);
		return NULL;
	}
	return h;
}

/* Writer: the maps of the dictionary, and where each ring goes on. */
static int restore(struct shmstat_history *h)
{
	int err = dict_refresh(h);

	if (err)
		return err;
	for (size_t i = 0; i < h->dict->n; i++) {
		const struct hent *e = h->dict->e[i];

		if (e->kind == SHMSTAT_HF_KIND_SERIES)
			err = hmap_put(&h->dmap, e->hash, (uint32_t)i);
		else if (e->kind == SHMSTAT_HF_KIND_SCHEMA)
			err = hmap_put(&h->smap, e->hash, (uint32_t)i);
		if (err)
			return shmstat__fail(err, "out of memory opening history file '%s'", h->path);
	}
	for (unsigned k = 0; k < h->hdr.ntiers; k++) {
		struct wtier *w = &h->wt[k];
		struct rref *r;
		size_t n;

		err = scan_ring(h, k, &r, &n);
		if (err)
			return err;
		w->seq = 1;
		if (n) {
			const struct rref *last = &r[n - 1];

			w->pos = last->off + last->len;
			w->seq = last->seq + 1;
			w->bucket = last->time / h->hdr.tier[k].step_ns;
			w->has_last = 1;
			if (!h->has_last || last->time > h->last_ns)
				h->last_ns = last->time;
			h->has_last = 1;
		}
		free(r);
	}
	return 0;
}

static int open_file(const char *path, int writable, shmstat_history **out)
{
	struct shmstat_hf_hdr hd;
	struct shmstat_history *h;
	struct stat st;
	ssize_t n;
	int fd, err;

	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		  O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return shmstat__fail(ENOENT, "history file '%s' does not exist", path);
		if (err == ELOOP)
			return shmstat__fail(SHMSTAT_EOWNER,
					     "history file '%s' is a symbolic link; refusing it", path);
		if (err == EACCES)
			return shmstat__fail(EACCES, "history file '%s' is not %s by this user", path,
					     writable ? "writable" : "readable");
		if (err == EISDIR)
			return shmstat__fail(SHMSTAT_EOWNER, "history file '%s' is not a regular file",
					     path);
		return shmstat__fail(err, "cannot open history file '%s': %s", path, strerror(err));
	}
	if (fstat(fd, &st) != 0) {
		err = shmstat__fail(errno, "cannot stat history file '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = shmstat__fail(SHMSTAT_EOWNER, "history file '%s' is not a regular file", path);
		goto fail;
	}
	if (writable) {
		if (st.st_uid != geteuid()) {
			err = shmstat__fail(SHMSTAT_EOWNER,
					    "history file '%s' is owned by uid %u, not by this user (uid %u)",
					    path, (unsigned)st.st_uid, (unsigned)geteuid());
			goto fail;
		}
		if (st.st_nlink != 1) {
			err = shmstat__fail(SHMSTAT_EOWNER,
					    "history file '%s' has %lu hard links; refusing it", path,
					    (unsigned long)st.st_nlink);
			goto fail;
		}
		if (st.st_mode & 0022) {
			err = shmstat__fail(SHMSTAT_EOWNER,
					    "history file '%s' is writable by group or others (mode %04o); refusing it",
					    path, (unsigned)(st.st_mode & 07777));
			goto fail;
		}
	}
	if (st.st_size == 0) {
		err = shmstat__fail(SHMSTAT_EFOREIGN,
				    "history file '%s' is not a shmstat history file (empty)", path);
		goto fail;
	}
	memset(&hd, 0, sizeof(hd));
	n = shmstat__pread_full(fd, &hd, sizeof(hd), 0);
	if (n < 0) {
		err = shmstat__fail(errno, "cannot read history file '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (n < 8 || memcmp(hd.magic, SHMSTAT_HF_MAGIC, 8) != 0) {
		err = shmstat__fail(SHMSTAT_EFOREIGN,
				    "history file '%s' is not a shmstat history file (bad magic)", path);
		goto fail;
	}
	if ((size_t)n < sizeof(hd)) {
		err = shmstat__fail(SHMSTAT_ETRUNCATED,
				    "history file '%s' is truncated: %lld bytes, its header alone is %u",
				    path, (long long)n, SHMSTAT_HF_HDR_SIZE);
		goto fail;
	}
	err = validate(&hd, (uint64_t)st.st_size, path);
	if (err)
		goto fail;
	if (writable && flock(fd, LOCK_EX | LOCK_NB) != 0) {
		err = errno;
		if (err == EWOULDBLOCK)
			err = shmstat__fail(SHMSTAT_EBUSY,
					    "history file '%s' is being written by another process", path);
		else
			err = shmstat__fail(err, "cannot lock history file '%s': %s", path,
					    strerror(err));
		goto fail;
	}
	h = hist_alloc(path, fd, writable);
	if (h == NULL) {
		err = shmstat__fail(ENOMEM, "out of memory");
		goto fail;
	}
	h->hdr = hd;
	err = writable ? restore(h) : dict_refresh(h);
	if (err) {
		hist_free(h);
		return err;
	}
	*out = h;
	return 0;
fail:
	close(fd);
	return err;
}

int shmstat_history_open(const char *path, shmstat_history **out)
{
	shmstat__clear_error();
	*out = NULL;
	if (path == NULL || *path == '\0')
		return shmstat__fail(EINVAL, "history file name is missing");
	return open_file(path, 0, out);
}

/* Make @path with @o, complete, under a temporary name, then rename it
 * into place unless something took the name meanwhile (EEXIST). */
static int create_file(const char *path, const struct shmstat_history_opts *o,
		       shmstat_history **out)
{
	struct shmstat_hf_hdr hd;
	struct shmstat_history *h;
	uint64_t rnd;
	char *tmp;
	size_t tl;
	int fd, err;

	err = geometry(o, path, &hd);
	if (err)
		return err;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = shmstat__now_ns() ^ ((uint64_t)getpid() << 32);
	tl = strlen(path) + 16;
	tmp = malloc(tl);
	if (tmp == NULL)
		return shmstat__fail(ENOMEM, "out of memory");
	snprintf(tmp, tl, "%s.%08x~", path, (unsigned)(rnd ^ (uint64_t)getpid()));
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		err = errno;
		free(tmp);
		return shmstat__fail(err, "cannot create history file '%s': %s", path, strerror(err));
	}
	if (fchmod(fd, o->mode == 0640 ? 0640 : 0600) != 0) {
		err = shmstat__fail(errno, "cannot set mode of history file '%s': %s", path,
				    strerror(errno));
		goto fail;
	}
	err = posix_fallocate(fd, 0, (off_t)hd.total_size);
	if (err) {
		err = shmstat__fail(err, "cannot create history file '%s' of %llu bytes: %s", path,
				    (unsigned long long)hd.total_size, strerror(err));
		goto fail;
	}
	if (getrandom(&hd.seed, sizeof(hd.seed), 0) != sizeof(hd.seed))
		hd.seed = rnd * UINT64_C(0x9E3779B97F4A7C15);
	hd.created_ns = shmstat__now_ns();
	hd.creator_uid = (uint32_t)geteuid();
	hd.hdr_sum = shmstat__hash(&hd, SHMSTAT_HF_HDR_SUM_BYTES);
	err = pwrite_full(fd, &hd, sizeof(hd), 0);
	if (err) {
		err = shmstat__fail(err, "cannot write history file '%s': %s", path, strerror(err));
		goto fail;
	}
	/* ours alone until renamed: the lock cannot fail, and it follows
	 * the file to its name */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fdatasync(fd) != 0) {
		err = shmstat__fail(errno, "cannot write history file '%s': %s", path,
				    strerror(errno));
		goto fail;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0) {
		err = errno;
		if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP) {
			/* no RENAME_NOREPLACE here: link(2) does not replace either */
			err = link(tmp, path) == 0 ? 0 : errno;
			unlink(tmp);
		}
		if (err == EEXIST) {
			unlink(tmp);
			close(fd);
			free(tmp);
			return EEXIST;
		}
		if (err) {
			err = shmstat__fail(err, "cannot create history file '%s': %s", path,
					    strerror(err));
			goto fail;
		}
	}
	free(tmp);
	h = hist_alloc(path, fd, 1);
	if (h == NULL) {
		close(fd);
		return shmstat__fail(ENOMEM, "out of memory");
	}
	h->hdr = hd;
	for (unsigned k = 0; k < hd.ntiers; k++)
		h->wt[k].seq = 1;
	*out = h;
	return 0;
fail:
	unlink(tmp);
	close(fd);
	free(tmp);
	return err;
}

int shmstat_history_create(const char *path, const struct shmstat_history_opts *o,
			   shmstat_history **out)
{
	struct shmstat_history_opts def;
	int err;

	shmstat__clear_error();
	*out = NULL;
	if (path == NULL || *path == '\0')
		return shmstat__fail(EINVAL, "history file name is missing");
	if (o == NULL) {
		shmstat_history_opts_init(&def);
		o = &def;
	}
	for (int tries = 0; tries < 8; tries++) {
		err = open_file(path, 1, out);
		if (err != ENOENT)
			return err;
		shmstat__clear_error();
		err = create_file(path, o, out);
		if (err != EEXIST)
			return err;
	}
	return shmstat__fail(SHMSTAT_EBUSY,
			     "history file '%s' keeps being created and removed by others", path);
}

void shmstat_history_close(shmstat_history *h)
{
	hist_free(h);
}

unsigned shmstat_history_tiers(const shmstat_history *h, struct shmstat_tier *out, unsigned max)
{
	unsigned n = h->hdr.ntiers;

	for (unsigned k = 0; k < n && k < max; k++) {
		out[k].step_ns = h->hdr.tier[k].step_ns;
		out[k].span_ns = h->hdr.tier[k].span_ns;
	}
	return n;
}

int shmstat_history_set_segment(shmstat_history *h, const char *segment)
{
	int err;

	shmstat__clear_error();
	if (!h->writable)
		return shmstat__fail(EINVAL, "history file '%s' is open read-only", h->path);
	err = shmstat_valid_name(segment);
	if (err)
		return err;
	snprintf(h->segment, sizeof(h->segment), "%s", segment);
	return 0;
}

/* -------------------------------------------------------------- writer */

/* Append the entry with @payload (@plen bytes) to the dictionary.
 * *@idx: its index, or UINT32_MAX when the dictionary is full (return 0:
 * the caller writes the series inline). */
static int dict_append(struct shmstat_history *h, const unsigned char *payload, size_t plen,
		       uint32_t *idx)
{
	struct hdict *d = h->dict;
	uint64_t len = round8(SHMSTAT_HF_ENT_HDR + plen);
	struct shmstat_hf_ent eh = { 0, 0, 0, 0 };
	struct hent *e;
	int err;

	*idx = UINT32_MAX;
	if (len > h->hdr.dict_len - d->end || len > SHMSTAT_HF_REC_MAX || d->n >= UINT32_MAX - 2)
		return 0;
	h->rec.n = 0;
	put_bytes(&h->rec, &eh, sizeof(eh));
	put_bytes(&h->rec, payload, plen);
	while (h->rec.n < len)
		put_u8(&h->rec, 0);
	if (h->rec.oom)
		return shmstat__fail(ENOMEM, "out of memory");
	eh.magic = SHMSTAT_HF_ENT_MAGIC;
	eh.len = (uint32_t)len;
	eh.index = d->n;
	eh.sum = 0;
	memcpy(h->rec.p, &eh, sizeof(eh));
	eh.sum = shmstat__hf_sum(h->rec.p, (uint32_t)len, h->hdr.seed, SHMSTAT_HF_AREA_DICT);
	memcpy(h->rec.p, &eh, sizeof(eh));
	e = ent_new(d, d->n, payload, (uint32_t)plen);
	if (e == NULL || e->kind == 0 || dict_push(d, e) != 0) {
		int bad = e && e->kind == 0;

		free(e);
		if (bad)
			return shmstat__fail(EINVAL, "history file '%s': a dictionary entry does not parse",
					     h->path);
		return shmstat__fail(ENOMEM, "out of memory");
	}
	err = pwrite_full(h->fd, h->rec.p, (size_t)len, h->hdr.dict_off + d->end);
	if (err) {
		d->n--;
		free(e);
		return shmstat__fail(err, "cannot write history file '%s': %s", h->path,
				     strerror(err));
	}
	err = hmap_put(e->kind == SHMSTAT_HF_KIND_SERIES ? &h->dmap : &h->smap, e->hash,
		       (uint32_t)(d->n - 1));
	d->end += len;
	if (err)
		return shmstat__fail(ENOMEM, "out of memory");
	*idx = (uint32_t)(d->n - 1);
	return 0;
}

/* The entry of @map whose payload is @p (@n bytes), or UINT32_MAX. */
static uint32_t find_entry(const struct shmstat_history *h, const struct hmap *map,
			   const unsigned char *p, size_t n, uint64_t hash)
{
	size_t it = 0;
	uint32_t i;

	while ((i = hmap_next(map, hash, &it)) != UINT32_MAX) {
		const struct hent *e = h->dict->e[i];

		if (e->plen == n && memcmp(e->payload, p, n) == 0)
			return i;
		if (it == 0)
			break;
	}
	return UINT32_MAX;
}

static void desc_payload(struct buf *b, const struct shmstat_metric_info *mi,
			 const struct shmstat_hstats *hs)
{
	b->n = 0;
	put_u8(b, SHMSTAT_HF_KIND_SERIES);
	put_u8(b, (unsigned)mi->type);
	put_u8(b, mi->type == SHMSTAT_GAUGE ? (unsigned)mi->agg : 0);
	if (mi->type == SHMSTAT_HISTOGRAM) {
		put_v(b, hs->bits);
		put_v(b, hs->lowest);
		put_v(b, hs->highest);
	}
	put_str(b, mi->name, strlen(mi->name));
	put_str(b, mi->labels ? mi->labels : "", mi->labels ? strlen(mi->labels) : 0);
	put_str(b, mi->help ? mi->help : "", mi->help ? strlen(mi->help) : 0);
	put_str(b, mi->unit ? mi->unit : "", mi->unit ? strlen(mi->unit) : 0);
}

/* The schema of this snapshot (cur_d, cur_reg, n series) into @b, after
 * its kind byte; inline series from h->inl. */
static void schema_payload(struct shmstat_history *h, struct buf *b, size_t n)
{
	int64_t prev = -1;
	uint64_t reg = 0;

	put_v(b, n);
	for (size_t i = 0; i < n; i++) {
		if (h->cur_d[i] == UINT32_MAX) {
			const unsigned char *p = h->inl.p + h->cur_inl[i];
			uint64_t len;
			struct cur c = { p, h->inl.p + h->inl.n, 0 };

			len = get_v(&c);
			put_v(b, 1);
			put_str(b, c.p, (size_t)len);
		} else {
			put_v(b, zz((int64_t)h->cur_d[i] - prev - 1) << 1);
			prev = h->cur_d[i];
		}
		put_v(b, zz((int64_t)(h->cur_reg[i] - reg)));
		reg = h->cur_reg[i];
	}
}

static int grow_cur(struct shmstat_history *h, size_t n)
{
	uint32_t *d;
	uint64_t *r;
	size_t *o;

	if (n <= h->cur_cap)
		return 0;
	d = realloc(h->cur_d, n * sizeof(*d));
	if (d)
		h->cur_d = d;
	r = realloc(h->cur_reg, n * sizeof(*r));
	if (r)
		h->cur_reg = r;
	o = realloc(h->cur_inl, n * sizeof(*o));
	if (o)
		h->cur_inl = o;
	if (!d || !r || !o)
		return ENOMEM;
	h->cur_cap = n;
	return 0;
}

/* Values of histogram @i: layout in the dictionary, counts here. @cnt
 * is scratch space, grown as needed. */
static int put_hist(struct buf *b, const shmstat_snap *s, size_t i, uint64_t **cnt,
		    size_t *cntcap)
{
	shmstat_hdata *hd;
	struct shmstat_hstats st;
	size_t nb, runs = 0;
	uint64_t *c;
	int err = shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &hd);

	if (err)
		return err;
	shmstat_hdata_stats(hd, &st);
	put_v(b, st.sum);
	put_v(b, st.count ? st.max : 0);
	put_v(b, st.count ? st.min + 1 : 0);
	put_v(b, st.underflow);
	put_v(b, st.overflow);
	nb = shmstat_hdata_buckets(hd);
	if (nb > *cntcap) {
		c = realloc(*cnt, nb * sizeof(*c));
		if (c == NULL) {
			shmstat_hdata_free(hd);
			return ENOMEM;
		}
		*cnt = c;
		*cntcap = nb;
	}
	c = *cnt;
	for (size_t k = 0; k < nb; k++) {
		uint64_t lo, hi;

		shmstat_hdata_bucket(hd, k, &lo, &hi, &c[k]);
	}
	shmstat_hdata_free(hd);
	/* a run: buckets from a nonzero one to the last nonzero one with
	 * fewer than 3 zeros in a row between them; counted, then written */
	for (int pass = 0; pass < 2; pass++) {
		size_t end = 0;        /* bucket after the previous run */

		if (pass == 1)
			put_v(b, runs);
		for (size_t k = 0; k < nb;) {
			size_t start, last, z;

			if (c[k] == 0) {
				k++;
				continue;
			}
			start = last = k;
			for (z = 0, k++; k < nb && z < 3; k++) {
				if (c[k]) {
					last = k;
					z = 0;
				} else {
					z++;
				}
			}
			k = last + 1;
			if (pass == 0) {
				runs++;
				continue;
			}
			put_v(b, start - end);
			put_v(b, last - start + 1);
			for (size_t j2 = start; j2 <= last; j2++)
				put_v(b, c[j2]);
			end = last + 1;
		}
	}
	return 0;
}

static int put_sig(struct buf *b, const shmstat_snap *s, size_t i, uint32_t top_keys)
{
	shmstat_sigview *v;
	struct shmstat_sigstats st;
	size_t idx[SHMSTAT_HF_MAX_TOP_KEYS], n, no;
	int err = shmstat_snap_sigtab(s, i, &v);

	if (err)
		return err;
	shmstat_sigview_stats(v, &st);
	put_v(b, st.hits);
	put_v(b, st.misses);
	put_v(b, st.weight);
	put_v(b, st.evictions);
	put_v(b, st.unsummarized);
	put_v(b, st.max_error);
	no = shmstat_sigview_owners(v);
	put_v(b, no);
	for (size_t k = 0; k < no; k++) {
		struct shmstat_sigowner_info oi;

		if (shmstat_sigview_owner(v, k, &oi) != 0)
			memset(&oi, 0, sizeof(oi));
		put_str(b, oi.name ? oi.name : "", oi.name ? strnlen(oi.name, SHMSTAT_HF_OWNER_MAX) : 0);
		put_v(b, oi.hits);
		put_v(b, oi.misses);
		put_v(b, oi.weight);
	}
	n = top_keys ? shmstat_sigview_top(v, SHMSTAT_BY_HITS, NULL, top_keys, idx) : 0;
	put_v(b, n);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;
		size_t pl, ol;

		if (shmstat_sigview_entry(v, idx[k], &e) != 0) {
			memset(&e, 0, sizeof(e));
			e.key = e.owner = "";
		}
		pl = e.key_len <= SHMSTAT_HF_PREFIX_MAX ? e.key_len : SHMSTAT_HF_PREFIX_MAX;
		ol = strnlen(e.owner, SHMSTAT_HF_OWNER_MAX);
		put_f64(b, e.hash);
		put_str(b, e.key, pl);
		put_v(b, e.full_len);
		put_str(b, e.owner, ol);
		put_v(b, e.hits);
		put_v(b, e.misses);
		put_v(b, e.weight);
		put_v(b, e.err_hits);
		put_v(b, e.err_weight);
	}
	shmstat_sigview_free(v);
	return 0;
}

/* The payload of snapshot @s into h->pay; writes the dictionary entries
 * it needs first. */
static int encode(struct shmstat_history *h, const shmstat_snap *s)
{
	struct shmstat_seg_info si;
	size_t n = shmstat_snap_metrics(s), ninl = 0;
	uint32_t schema = UINT32_MAX;
	struct buf *b = &h->pay;
	int err;

	shmstat_snap_info(s, &si);
	if (si.generation != h->rgen || h->rmap.n == 0) {
		hmap_clear(&h->rmap);
		h->rgen = si.generation;
	}
	if (grow_cur(h, n ? n : 1) != 0)
		return shmstat__fail(ENOMEM, "out of memory");
	h->inl.n = 0;
	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info mi;
		struct shmstat_hstats hs;
		size_t it = 0;
		uint32_t d;
		uint64_t hash;

		if (shmstat_snap_metric(s, i, &mi) != 0)
			return shmstat__fail(EINVAL, "metric %zu of the snapshot cannot be read", i);
		h->cur_reg[i] = mi.reg_id;
		d = hmap_next(&h->rmap, mi.reg_id, &it);
		if (d != UINT32_MAX) {
			h->cur_d[i] = d;
			continue;
		}
		memset(&hs, 0, sizeof(hs));
		if (mi.type == SHMSTAT_HISTOGRAM) {
			shmstat_hdata *hd;

			err = shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &hd);
			if (err)
				return shmstat__fail(err, "cannot read histogram '%s': %s", mi.name,
						     shmstat_strerror(err));
			shmstat_hdata_stats(hd, &hs);
			shmstat_hdata_free(hd);
		}
		desc_payload(&h->tmp, &mi, &hs);
		if (h->tmp.oom)
			return shmstat__fail(ENOMEM, "out of memory");
		hash = shmstat__hash(h->tmp.p, h->tmp.n);
		d = find_entry(h, &h->dmap, h->tmp.p, h->tmp.n, hash);
		if (d == UINT32_MAX) {
			err = dict_append(h, h->tmp.p, h->tmp.n, &d);
			if (err)
				return err;
		}
		h->cur_d[i] = d;
		if (d == UINT32_MAX) {
			/* dictionary full: this series goes inline */
			h->cur_inl[i] = h->inl.n;
			put_str(&h->inl, h->tmp.p, h->tmp.n);
			ninl++;
		} else if (hmap_put(&h->rmap, mi.reg_id, d) != 0) {
			return shmstat__fail(ENOMEM, "out of memory");
		}
	}
	if (h->inl.oom)
		return shmstat__fail(ENOMEM, "out of memory");
	/* the schema: the last one, one found again, or a new one */
	if (ninl == 0) {
		if (h->last_schema != UINT32_MAX && h->last_n == n &&
		    memcmp(h->last_d, h->cur_d, n * sizeof(*h->cur_d)) == 0 &&
		    memcmp(h->last_reg, h->cur_reg, n * sizeof(*h->cur_reg)) == 0) {
			schema = h->last_schema;
		} else {
			uint64_t hash;

			h->tmp.n = 0;
			put_u8(&h->tmp, SHMSTAT_HF_KIND_SCHEMA);
			schema_payload(h, &h->tmp, n);
			if (h->tmp.oom)
				return shmstat__fail(ENOMEM, "out of memory");
			hash = shmstat__hash(h->tmp.p, h->tmp.n);
			schema = find_entry(h, &h->smap, h->tmp.p, h->tmp.n, hash);
			if (schema == UINT32_MAX) {
				err = dict_append(h, h->tmp.p, h->tmp.n, &schema);
				if (err)
					return err;
			}
			if (schema != UINT32_MAX) {
				if (n > h->last_cap) {
					uint32_t *ld = realloc(h->last_d, n * sizeof(*ld));
					uint64_t *lr;

					if (ld)
						h->last_d = ld;
					lr = ld ? realloc(h->last_reg, n * sizeof(*lr)) : NULL;
					if (lr)
						h->last_reg = lr;
					if (!ld || !lr)
						return shmstat__fail(ENOMEM, "out of memory");
					h->last_cap = n;
				}
				if (n) {
					memcpy(h->last_d, h->cur_d, n * sizeof(*h->cur_d));
					memcpy(h->last_reg, h->cur_reg, n * sizeof(*h->cur_reg));
				}
				h->last_n = n;
				h->last_schema = schema;
			}
		}
	}
	b->n = 0;
	put_u8(b, SHMSTAT_HF_KIND_SNAP);
	put_f64(b, si.generation);
	put_str(b, h->segment, strlen(h->segment));
	if (schema != UINT32_MAX) {
		put_v(b, (uint64_t)schema << 1);
	} else {
		put_v(b, 1);
		schema_payload(h, b, n);
	}
	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info mi;

		shmstat_snap_metric(s, i, &mi);
		switch (mi.type) {
		case SHMSTAT_COUNTER:
			put_v(b, mi.counter);
			break;
		case SHMSTAT_GAUGE:
			put_v(b, mi.has_value ? 1 : 0);
			put_v(b, zz(mi.gauge));
			break;
		case SHMSTAT_HISTOGRAM:
			err = put_hist(b, s, i, &h->cnt, &h->cntcap);
			if (err)
				return shmstat__fail(err, "cannot read histogram '%s': %s", mi.name,
						     shmstat_strerror(err));
			break;
		case SHMSTAT_SIGTABLE:
			err = put_sig(b, s, i, h->hdr.top_keys);
			if (err)
				return shmstat__fail(err, "cannot read signature table '%s': %s",
						     mi.name, shmstat_strerror(err));
			break;
		}
	}
	if (b->oom)
		return shmstat__fail(ENOMEM, "out of memory");
	return 0;
}

/* Write h->pay as the next record of tier @k, at @now. */
static int write_record(struct shmstat_history *h, unsigned k, uint64_t now)
{
	const struct shmstat_hf_tier *t = &h->hdr.tier[k];
	struct wtier *w = &h->wt[k];
	uint64_t len = round8(SHMSTAT_HF_REC_HDR + h->pay.n), pos = w->pos;
	struct shmstat_hf_rec rh = { 0, 0, 0, 0, 0 };
	int err;

	if (len > t->ring_len || len > SHMSTAT_HF_REC_MAX)
		return ENOSPC;
	if (pos > t->ring_len || len > t->ring_len - pos)
		pos = 0;
	if (h->rec.n != len) {
		h->rec.n = 0;
		put_bytes(&h->rec, &rh, sizeof(rh));
		put_bytes(&h->rec, h->pay.p, h->pay.n);
		while (h->rec.n < len)
			put_u8(&h->rec, 0);
		if (h->rec.oom)
			return shmstat__fail(ENOMEM, "out of memory");
	}
	rh.magic = SHMSTAT_HF_REC_MAGIC;
	rh.len = (uint32_t)len;
	rh.sum = 0;
	rh.seq = w->seq;
	rh.time_ns = now;
	memcpy(h->rec.p, &rh, sizeof(rh));
	rh.sum = shmstat__hf_sum(h->rec.p, (uint32_t)len, h->hdr.seed, k);
	memcpy(h->rec.p, &rh, sizeof(rh));
	err = pwrite_full(h->fd, h->rec.p, (size_t)len, t->ring_off + pos);
	if (err)
		return shmstat__fail(err, "cannot write history file '%s': %s", h->path,
				     strerror(err));
	w->pos = pos + len;
	w->seq++;
	w->bucket = now / t->step_ns;
	w->has_last = 1;
	return 0;
}

int shmstat_history_append(shmstat_history *h, const shmstat_snap *s, uint64_t now_ns,
			   unsigned *written)
{
	unsigned due = 0, nw = 0;
	int err, nospace = 0;

	shmstat__clear_error();
	if (written)
		*written = 0;
	if (!h->writable)
		return shmstat__fail(EINVAL, "history file '%s' is open read-only", h->path);
	if (s == NULL)
		return shmstat__fail(EINVAL, "no snapshot to record in history file '%s'", h->path);
	if (h->has_last && now_ns < h->last_ns)
		return shmstat__fail(EINVAL,
				     "history file '%s': time %llu ns is before its last record (%llu ns)",
				     h->path, (unsigned long long)now_ns,
				     (unsigned long long)h->last_ns);
	for (unsigned k = 0; k < h->hdr.ntiers; k++)
		if (!h->wt[k].has_last || now_ns / h->hdr.tier[k].step_ns != h->wt[k].bucket)
			due |= 1u << k;
	if (due == 0)
		return 0;
	err = encode(h, s);
	if (err)
		return err;
	h->rec.n = 0;              /* the record is built once, for every tier */
	for (unsigned k = 0; k < h->hdr.ntiers; k++) {
		if (!(due & 1u << k))
			continue;
		err = write_record(h, k, now_ns);
		if (err == ENOSPC) {
			nospace = 1;
			continue;
		}
		if (err)
			break;
		nw++;
		h->last_ns = now_ns;
		h->has_last = 1;
	}
	if (written)
		*written = nw;
	if (err && err != ENOSPC)
		return err;
	if (nospace)
		return shmstat__fail(ENOSPC,
				     "history file '%s': a record of %llu bytes does not fit in the ring of a tier; make the file bigger",
				     h->path,
				     (unsigned long long)round8(SHMSTAT_HF_REC_HDR + h->pay.n));
	return 0;
}

/* -------------------------------------------------------------- frames */

struct fval {
	uint64_t v;                /* counter, gauge bits, histogram count, sig hits */
	uint32_t x;                /* index into hx or sx */
	uint32_t has_value;
};

struct fhist {
	uint64_t sum, max, nmin, under, over;
	size_t b0;                 /* its buckets: bi[b0 ..], bc[b0 ..] */
	uint32_t nnz;
};

struct fsig {
	uint64_t hits, misses, weight, evictions, unsum, maxerr;
	size_t k0;                 /* its keys: keys[k0 ..] */
	size_t o0;                 /* its owners: owners[o0 ..] */
	uint32_t nk, no;
};

struct fkey {
	uint64_t hash, hits, misses, weight, err, werr;
	const char *key, *owner;
	uint32_t key_len, full_len;
};

struct fown {
	const char *name;
	uint64_t hits, misses, weight;
};

struct shmstat_frame {
	struct hdict *dict;        /* a reference: the series it names */
	const struct hschema *sc;  /* in dict, or own */
	void *own;                 /* an inline schema (dictionary full) */
	uint64_t time_ns, generation, step_ns;
	const char *segment;
	struct fval *v;
	struct fhist *hx;
	struct fsig *sx;
	uint64_t *bc;
	struct fkey *keys;
	struct fown *owners;
	uint32_t *bi;
};


/* A record payload's head: generation, segment and schema. */
struct head {
	uint64_t generation;
	const unsigned char *seg;
	size_t seglen;
	const struct hschema *sc;
	void *own;                 /* the inline schema, allocated here */
	size_t voff;               /* where the values start */
};

/* An inline schema, in one block: hschema, pointers, ids, series, strings. */
static int inline_schema(struct shmstat_history *h, struct cur *c, struct head *hd)
{
	struct cur c0 = *c;
	size_t n, ninl, strb, o;
	struct hschema *sc;
	unsigned char *blk;
	char *strs;

	if (parse_schema(c, h->dict, h->dict->n, 1, NULL, NULL, NULL, &n, &ninl, &strb) != 0) {
		/* maybe newer entries: read them, then try once more */
		int err = dict_refresh(h);

		if (err)
			return err;
		*c = c0;
		if (parse_schema(c, h->dict, h->dict->n, 1, NULL, NULL, NULL, &n, &ninl,
				 &strb) != 0)
			return -1;
	}
	o = al8(sizeof(*sc));
	/* the schema, then n pointers and n values, the inline descriptors,
	 * the strings: sizeof(void *) is meant */
	/* cppcheck-suppress pointerSize */
	blk = malloc(o + n * (sizeof(void *) + 8) + ninl * sizeof(struct hdesc) + strb + 1);
	if (blk == NULL)
		return ENOMEM;
	sc = (struct hschema *)blk;
	sc->d = (const struct hdesc **)(blk + o);
	sc->reg = (uint64_t *)(sc->d + n);
	strs = (char *)((struct hdesc *)(sc->reg + n) + ninl);
	*c = c0;
	if (parse_schema(c, h->dict, h->dict->n, 1, sc, (struct hdesc *)(sc->reg + n), &strs,
			 &n, &ninl, &strb) != 0) {
		free(blk);
		return -1;
	}
	hd->sc = sc;
	hd->own = blk;
	return 0;
}

/* Return 0, -1 (not a valid payload) or an error code. */
static int parse_head(struct shmstat_history *h, const unsigned char *p, size_t plen,
		      struct head *hd)
{
	struct cur c = { p, p + plen, 0 };
	uint64_t ref;

	memset(hd, 0, sizeof(*hd));
	if (get_u8(&c) != SHMSTAT_HF_KIND_SNAP)
		return -1;
	hd->generation = get_f64(&c);
	hd->seg = get_str(&c, SHMSTAT_HF_SEG_MAX, 0, &hd->seglen);
	ref = get_v(&c);
	if (c.bad)
		return -1;
	if (ref == 1) {
		int r = inline_schema(h, &c, hd);

		if (r)
			return r;
	} else if (ref & 1) {
		return -1;
	} else {
		uint64_t idx = ref >> 1;

		if (idx >= h->dict->n) {
			int err = dict_refresh(h);

			if (err)
				return err;
		}
		if (idx >= h->dict->n || h->dict->e[idx]->kind != SHMSTAT_HF_KIND_SCHEMA)
			return -1;
		hd->sc = &h->dict->e[idx]->s;
	}
	hd->voff = (size_t)(c.p - p);
	return 0;
}

/* What the values of a payload need. */
struct dcount {
	size_t nbk, nkeys, nowners, strb;
};

/*
 * The values of a payload, series by series of @sc, from @voff. With @f
 * NULL, check and count into @dc; otherwise fill @f (laid out from the
 * counts). Return 0 or -1 (not valid).
 */
static int parse_values(const unsigned char *p, size_t plen, size_t voff,
			const struct hschema *sc, struct shmstat_frame *f, struct dcount *dc,
			char **strs)
{
	struct cur c = { p + voff, p + plen, 0 };
	size_t nh = 0, ns = 0, nbk = 0, nk = 0, no = 0, strb = 0;

	for (size_t i = 0; i < sc->n; i++) {
		struct fval *fv = f ? &f->v[i] : NULL;

		switch (sc->d[i]->type) {
		case SHMSTAT_COUNTER: {
			uint64_t v = get_v(&c);

			if (fv)
				*fv = (struct fval){ v, 0, 1 };
			break;
		}
		case SHMSTAT_GAUGE: {
			uint64_t hv = get_v(&c), g = get_v(&c);

			if (hv > 1)
				return -1;
			if (fv)
				*fv = (struct fval){ (uint64_t)unzz(g), 0, (uint32_t)hv };
			break;
		}
		case SHMSTAT_HISTOGRAM: {
			uint64_t sum = get_v(&c), max = get_v(&c), min1 = get_v(&c);
			uint64_t under = get_v(&c), over = get_v(&c), runs = get_v(&c);
			uint64_t count = under + over, b = 0, nb = sc->d[i]->nb;
			uint32_t nnz = 0;

			if (c.bad || runs > nb || runs > left(&c) / 3)
				return -1;
			if (f)
				f->hx[nh] = (struct fhist){ sum, max, min1 ? ~(min1 - 1) : 0, under,
							    over, nbk, 0 };
			for (uint64_t r = 0; r < runs; r++) {
				uint64_t gap = get_v(&c), len = get_v(&c);

				if (c.bad || gap > nb - b || len == 0 || len > nb - b - gap ||
				    len > left(&c))
					return -1;
				b += gap;
				for (uint64_t j = 0; j < len; j++, b++) {
					uint64_t cnt = get_v(&c);

					if (c.bad)
						return -1;
					if (cnt == 0)
						continue;
					count += cnt;
					if (f) {
						f->bi[nbk] = (uint32_t)b;
						f->bc[nbk] = cnt;
					}
					nbk++;
					nnz++;
				}
			}
			if (f)
				f->hx[nh].nnz = nnz;
			if (fv)
				*fv = (struct fval){ count, (uint32_t)nh, 1 };
			nh++;
			break;
		}
		case SHMSTAT_SIGTABLE: {
			uint64_t hits = get_v(&c), misses = get_v(&c), weight = get_v(&c);
			uint64_t ev = get_v(&c), unsum = get_v(&c), maxerr = get_v(&c);
			uint64_t owners = get_v(&c), keys;

			if (c.bad || owners > SHMSTAT_HF_MAX_OWNERS || owners > left(&c) / 4)
				return -1;
			if (f)
				f->sx[ns] = (struct fsig){ hits, misses, weight, ev, unsum, maxerr, nk,
							   no, 0, (uint32_t)owners };
			for (uint64_t k = 0; k < owners; k++) {
				const unsigned char *name;
				size_t nl;
				uint64_t oh, om, ow;

				name = get_str(&c, SHMSTAT_HF_OWNER_MAX, 0, &nl);
				oh = get_v(&c);
				om = get_v(&c);
				ow = get_v(&c);
				if (c.bad)
					return -1;
				if (f)
					f->owners[no] = (struct fown){ copy_str(strs, name, nl), oh, om, ow };
				strb += nl + 1;
				no++;
			}
			keys = get_v(&c);
			if (c.bad || keys > SHMSTAT_HF_MAX_TOP_KEYS || keys > left(&c) / 16)
				return -1;
			if (f)
				f->sx[ns].nk = (uint32_t)keys;
			for (uint64_t k = 0; k < keys; k++) {
				uint64_t hash = get_f64(&c), keylen, kh, km, kw, ke, kwe;
				const unsigned char *pre, *own;
				size_t pl, ol;

				pre = get_str(&c, SHMSTAT_HF_PREFIX_MAX, 1, &pl);
				keylen = get_v(&c);
				own = get_str(&c, SHMSTAT_HF_OWNER_MAX, 0, &ol);
				kh = get_v(&c);
				km = get_v(&c);
				kw = get_v(&c);
				ke = get_v(&c);
				kwe = get_v(&c);
				if (c.bad || keylen > UINT32_MAX)
					return -1;
				if (f) {
					struct fkey *fk = &f->keys[nk];

					fk->hash = hash;
					fk->hits = kh;
					fk->misses = km;
					fk->weight = kw;
					fk->err = ke;
					fk->werr = kwe;
					fk->full_len = (uint32_t)keylen;
					fk->key_len = (uint32_t)pl;
					fk->key = copy_str(strs, pre, pl);
					fk->owner = copy_str(strs, own, ol);
				}
				strb += pl + ol + 2;
				nk++;
			}
			if (fv)
				*fv = (struct fval){ hits, (uint32_t)ns, 1 };
			ns++;
			break;
		}
		default:
			return -1;
		}
		if (c.bad)
			return -1;
	}
	if (!at_end(&c) || nh != sc->nhist || ns != sc->nsig)
		return -1;
	if (f == NULL) {
		dc->nbk = nbk;
		dc->nkeys = nk;
		dc->nowners = no;
		dc->strb = strb;
	}
	return 0;
}

/*
 * The frame of record payload @p. Return 0 (*@out NULL when the payload
 * is not valid: the record is left out) or an error code.
 */
static int frame_new(struct shmstat_history *h, const unsigned char *p, size_t plen,
		     uint64_t time_ns, uint64_t step_ns, struct shmstat_frame **out)
{
	struct head hd;
	struct dcount dc;
	struct shmstat_frame *f;
	size_t o, ov, ohx, osx, obc, okeys, oown, obi, ostr;
	unsigned char *blk;
	char *strs;
	int r;

	*out = NULL;
	r = parse_head(h, p, plen, &hd);
	if (r)
		return r < 0 ? 0 : r;
	memset(&dc, 0, sizeof(dc));
	if (parse_values(p, plen, hd.voff, hd.sc, NULL, &dc, NULL) != 0) {
		free(hd.own);
		return 0;
	}
	o = al8(sizeof(*f));
	ov = o;    o = al8(o + hd.sc->n * sizeof(struct fval));
	ohx = o;   o = al8(o + hd.sc->nhist * sizeof(struct fhist));
	osx = o;   o = al8(o + hd.sc->nsig * sizeof(struct fsig));
	obc = o;   o = al8(o + dc.nbk * sizeof(uint64_t));
	okeys = o; o = al8(o + dc.nkeys * sizeof(struct fkey));
	oown = o;  o = al8(o + dc.nowners * sizeof(struct fown));
	obi = o;   o = al8(o + dc.nbk * sizeof(uint32_t));
	ostr = o;  o += hd.seglen + 1 + dc.strb;
	blk = calloc(1, o);
	if (blk == NULL) {
		free(hd.own);
		return ENOMEM;
	}
	f = (struct shmstat_frame *)blk;
	f->v = (struct fval *)(blk + ov);
	f->hx = (struct fhist *)(blk + ohx);
	f->sx = (struct fsig *)(blk + osx);
	f->bc = (uint64_t *)(blk + obc);
	f->keys = (struct fkey *)(blk + okeys);
	f->owners = (struct fown *)(blk + oown);
	f->bi = (uint32_t *)(blk + obi);
	strs = (char *)(blk + ostr);
	f->segment = copy_str(&strs, hd.seg, hd.seglen);
	if (parse_values(p, plen, hd.voff, hd.sc, f, &dc, &strs) != 0) {
		/* the same bytes passed the counting pass */
		free(hd.own);
		free(blk);
		return 0;
	}
	f->sc = hd.sc;
	f->own = hd.own;
	f->dict = dict_ref(h->dict);
	f->generation = hd.generation;
	f->time_ns = time_ns;
	f->step_ns = step_ns;
	*out = f;
	return 0;
}

static void frame_free(struct shmstat_frame *f)
{
	if (f == NULL)
		return;
	dict_unref(f->dict);
	free(f->own);
	free(f);
}

void shmstat_frames_free(shmstat_frame **f, size_t n)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		frame_free(f[i]);
	free(f);
}

/* --------------------------------------------------------------- range */

struct flist {
	struct shmstat_frame **f;
	size_t n, cap;
};

static int flist_push(struct flist *l, struct shmstat_frame *f)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct shmstat_frame **nf = realloc(l->f, cap * sizeof(struct shmstat_frame *));

		if (nf == NULL)
			return ENOMEM;
		l->f = nf;
		l->cap = cap;
	}
	l->f[l->n++] = f;
	return 0;
}

/*
 * Frames of ring @k for the records of @r[0..n-1] (oldest first) with
 * @from <= time <= @to and time < @limit, appended to @l oldest first.
 * Each record is read again and checked against what the scan saw; one
 * overwritten since (the writer went on) ends the walk: older ones are
 * being overwritten too.
 */
static int tier_frames(struct shmstat_history *h, unsigned k, const struct rref *r, size_t n,
		       uint64_t from, uint64_t to, uint64_t limit, struct flist *l)
{
	const struct shmstat_hf_tier *t = &h->hdr.tier[k];
	size_t first = l->n, lo = n, hi = n;
	unsigned char *buf = NULL;
	size_t cap = 0;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		if (r[i].time >= from && lo == n)
			lo = i;
		if (r[i].time > to || r[i].time >= limit) {
			hi = i;
			break;
		}
	}
	if (lo >= hi)
		return 0;
	/* newest first, then reversed */
	for (size_t i = hi; i-- > lo;) {
		struct shmstat_hf_rec rh;
		struct shmstat_frame *f;
		ssize_t got;

		assert(r[i].len >= SHMSTAT_HF_REC_HDR + 8); /* scan_ring() takes no shorter */
		if (r[i].len > cap) {
			unsigned char *nb = realloc(buf, r[i].len);

			if (nb == NULL) {
				err = io_fail(h, ENOMEM, "reading");
				break;
			}
			buf = nb;
			cap = r[i].len;
		}
		got = shmstat__pread_full(h->fd, buf, r[i].len, t->ring_off + r[i].off);
		if (got < 0) {
			err = io_fail(h, errno, "reading");
			break;
		}
		if ((size_t)got < r[i].len) {
			err = io_fail(h, SHMSTAT_ETRUNCATED, "reading");
			break;
		}
		memcpy(&rh, buf, sizeof(rh));
		if (rh.magic != SHMSTAT_HF_REC_MAGIC || rh.len != r[i].len || rh.seq != r[i].seq ||
		    rh.time_ns != r[i].time ||
		    shmstat__hf_sum(buf, rh.len, h->hdr.seed, k) != rh.sum)
			break;
		err = frame_new(h, buf + SHMSTAT_HF_REC_HDR, rh.len - SHMSTAT_HF_REC_HDR, rh.time_ns,
				t->step_ns, &f);
		if (err)
			break;
		if (f && (err = flist_push(l, f)) != 0) {
			frame_free(f);
			err = io_fail(h, ENOMEM, "reading");
			break;
		}
	}
	free(buf);
	for (size_t i = first, j = l->n; i + 1 < j; i++, j--) {
		struct shmstat_frame *x = l->f[i];

		l->f[i] = l->f[j - 1];
		l->f[j - 1] = x;
	}
	return err;
}

int shmstat_history_range(shmstat_history *h, uint64_t from_ns, uint64_t to_ns,
			  shmstat_frame ***out, size_t *n)
{
	struct flist tl[SHMSTAT_HISTORY_MAX_TIERS];
	uint64_t limit = UINT64_MAX;
	unsigned nt = h->hdr.ntiers, done = 0;
	struct shmstat_frame **all = NULL;
	size_t total = 0;
	int err = 0;

	shmstat__clear_error();
	*out = NULL;
	*n = 0;
	memset(tl, 0, sizeof(tl));
	if (from_ns > to_ns)
		return 0;
	/* finest first; a coarser tier only before the finer ones' oldest */
	for (unsigned k = 0; k < nt && limit > from_ns; k++) {
		struct rref *r;
		size_t nr;

		err = scan_ring(h, k, &r, &nr);
		if (err)
			break;
		done = k + 1;
		err = tier_frames(h, k, r, nr, from_ns, to_ns, limit, &tl[k]);
		if (!err && nr && r[0].time < limit)
			limit = r[0].time;
		free(r);
		if (err)
			break;
	}
	if (!err) {
		for (unsigned k = 0; k < done; k++)
			total += tl[k].n;
		all = malloc((total ? total : 1) * sizeof(struct shmstat_frame *));
		if (all == NULL)
			err = shmstat__fail(ENOMEM, "out of memory reading history file '%s'", h->path);
	}
	if (err) {
		for (unsigned k = 0; k < done; k++) {
			for (size_t i = 0; i < tl[k].n; i++)
				frame_free(tl[k].f[i]);
			free(tl[k].f);
		}
		return err;
	}
	total = 0;
	for (unsigned k = done; k-- > 0;) {
		if (tl[k].n)
			memcpy(all + total, tl[k].f, tl[k].n * sizeof(struct shmstat_frame *));
		total += tl[k].n;
		free(tl[k].f);
	}
	*out = all;
	*n = total;
	return 0;
}

/* ----------------------------------------------------------- accessors */

void shmstat_frame_info(const shmstat_frame *f, struct shmstat_frame_info *out)
{
	out->time_ns = f->time_ns;
	out->generation = f->generation;
	out->step_ns = f->step_ns;
	out->segment = f->segment;
	out->series = f->sc->n;
}

int shmstat_frame_series(const shmstat_frame *f, size_t i, struct shmstat_series *out)
{
	const struct hdesc *d;
	const struct fval *v;

	if (i >= f->sc->n)
		return EINVAL;
	d = f->sc->d[i];
	v = &f->v[i];
	memset(out, 0, sizeof(*out));
	out->name = d->name;
	out->labels = d->labels;
	out->help = d->help;
	out->unit = d->unit;
	out->type = d->type;
	out->agg = d->agg;
	out->reg_id = f->sc->reg[i];
	out->has_value = (int)v->has_value;
	if (d->type == SHMSTAT_GAUGE) {
		out->gauge = (int64_t)v->v;
	} else {
		out->counter = v->v;
	}
	if (d->type == SHMSTAT_SIGTABLE) {
		const struct fsig *s = &f->sx[v->x];

		out->sig_hits = s->hits;
		out->sig_misses = s->misses;
		out->sig_weight = s->weight;
		out->sig_evictions = s->evictions;
		out->sig_unsummarized = s->unsum;
		out->sig_max_error = s->maxerr;
		out->top = s->nk;
		out->owners = s->no;
	}
	return 0;
}

long shmstat_frame_find(const shmstat_frame *f, const char *name, const char *labels)
{
	if (name == NULL)
		return -1;
	if (labels == NULL)
		labels = "";
	for (size_t i = 0; i < f->sc->n; i++) {
		const struct hdesc *d = f->sc->d[i];

		if (strcmp(d->name, name) == 0 && strcmp(d->labels, labels) == 0)
			return (long)i;
	}
	return -1;
}

int shmstat_frame_hist(const shmstat_frame *f, size_t i, shmstat_hdata **out)
{
	const struct hdesc *d;
	const struct fhist *fh;
	shmstat_hdata *hd;
	uint64_t *slots;

	*out = NULL;
	if (i >= f->sc->n || f->sc->d[i]->type != SHMSTAT_HISTOGRAM)
		return EINVAL;
	d = f->sc->d[i];
	fh = &f->hx[f->v[i].x];
	slots = calloc((size_t)d->nb + SHMSTAT_H_FIRST, sizeof(*slots));
	hd = shmstat__hdata_new(d->bits, d->lowest, d->highest);
	if (slots == NULL || hd == NULL) {
		free(slots);
		shmstat_hdata_free(hd);
		return ENOMEM;
	}
	slots[SHMSTAT_H_SUM] = fh->sum;
	slots[SHMSTAT_H_MAX] = fh->max;
	slots[SHMSTAT_H_NMIN] = fh->nmin;
	slots[SHMSTAT_H_UNDER] = fh->under;
	slots[SHMSTAT_H_OVER] = fh->over;
	for (uint32_t k = 0; k < fh->nnz; k++)
		slots[SHMSTAT_H_FIRST + f->bi[fh->b0 + k]] = f->bc[fh->b0 + k];
	shmstat__hdata_add(hd, slots);
	free(slots);
	*out = hd;
	return 0;
}

int shmstat_frame_sigkey(const shmstat_frame *f, size_t i, size_t k, struct shmstat_sigkey *out)
{
	const struct fsig *s;
	const struct fkey *fk;

	if (i >= f->sc->n || f->sc->d[i]->type != SHMSTAT_SIGTABLE)
		return EINVAL;
	s = &f->sx[f->v[i].x];
	if (k >= s->nk)
		return EINVAL;
	fk = &f->keys[s->k0 + k];
	out->key = fk->key;
	out->key_len = fk->key_len;
	out->full_len = fk->full_len;
	out->hash = fk->hash;
	out->owner = fk->owner;
	out->hits = fk->hits;
	out->misses = fk->misses;
	out->weight = fk->weight;
	out->err_hits = fk->err;
	out->err_weight = fk->werr;
	return 0;
}

int shmstat_frame_sigowner(const shmstat_frame *f, size_t i, size_t k,
			   struct shmstat_sigowner_info *out)
{
	const struct fsig *s;
	const struct fown *fo;

	if (i >= f->sc->n || f->sc->d[i]->type != SHMSTAT_SIGTABLE)
		return EINVAL;
	s = &f->sx[f->v[i].x];
	if (k >= s->no)
		return EINVAL;
	fo = &f->owners[s->o0 + k];
	out->name = fo->name;
	out->hits = fo->hits;
	out->misses = fo->misses;
	out->weight = fo->weight;
	return 0;
}

/* ---------------------------------------------------------------- tests */

int shmstat__history_tier_stat(shmstat_history *h, unsigned k, struct shmstat__hf_tier_stat *out)
{
	struct rref *r;
	size_t n;
	int err;

	memset(out, 0, sizeof(*out));
	if (k >= h->hdr.ntiers)
		return EINVAL;
	err = dict_refresh(h);
	if (err)
		return err;
	err = scan_ring(h, k, &r, &n);
	if (err)
		return err;
	out->records = n;
	out->ring_off = h->hdr.tier[k].ring_off;
	out->ring_len = h->hdr.tier[k].ring_len;
	if (n) {
		out->oldest_ns = r[0].time;
		out->newest_ns = r[n - 1].time;
		out->newest_off = r[n - 1].off;
		out->newest_len = r[n - 1].len;
		out->newest_seq = r[n - 1].seq;
	}
	for (size_t i = 0; i < n; i++)
		if (r[i].len > out->max_len)
			out->max_len = r[i].len;
	out->dict_used = h->dict->end;
	out->dict_len = h->hdr.dict_len;
	out->dict_entries = h->dict->n;
	free(r);
	return 0;
}
