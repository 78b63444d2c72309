/*
 * frames.c - reading a history file: the frames of a time range, each
 * record's payload checked and decoded into one block that keeps a
 * reference to the dictionary, and the frames' accessors
 * (shmstat_frame_*).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "history_int.h"
#include "hsparse.h"

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
	size_t x0, nx;             /* their index by name: oix[x0 .. x0 + nx) */
};

struct fkey {
	uint64_t hash, hits, misses, weight, err, werr;
	const char *key, *owner;
	uint32_t key_len, full_len;
};

/* A selection (shmstat_history_window_select()): the series kept of each
 * schema the frames of one call met, shared by those frames and freed
 * with the last of them. */
struct selsc {
	const struct hschema *src; /* in the dictionary; NULL: an inline one */
	struct hschema *sc;        /* the kept series, in their order */
	int32_t *map;              /* src series -> index in sc, or -1 */
};

struct sel {
	unsigned refs;
	shmstat_series_filter keep;
	void *arg;
	struct selsc *s;
	size_t n, cap;
};

struct shmstat_frame {
	struct hdict *dict;        /* a reference: the series it names */
	const struct hschema *sc;  /* in dict, or own, or in sel */
	void *own;                 /* an inline schema (dictionary full) */
	struct sel *sel;           /* a reference, or NULL: every series */
	uint64_t time_ns, generation, step_ns;
	const char *segment;
	struct fval *v;
	struct fhist *hx;
	struct fsig *sx;
	uint64_t *bc;
	struct fkey *keys;
	struct fown *owners;
	uint32_t *bi;
	uint16_t *oix;
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

	if (shmstat__hf_parse_schema(c, h->dict, h->dict->n, 1, NULL, NULL, NULL, &n, &ninl,
				     &strb) != 0) {
		/* maybe newer entries: read them, then try once more */
		int err = shmstat__hf_dict_refresh(h);

		if (err)
			return err;
		*c = c0;
		if (shmstat__hf_parse_schema(c, h->dict, h->dict->n, 1, NULL, NULL, NULL, &n, &ninl,
					     &strb) != 0)
			return -1;
	}
	o = al8(sizeof(*sc));
	/* the schema, then n pointers and n values, the inline descriptors,
	 * the index by name, the strings: sizeof(void *) is meant */
	/* cppcheck-suppress pointerSize */
	blk = malloc(o + n * (sizeof(void *) + 8) + ninl * sizeof(struct hdesc) +
		     al8(n * sizeof(uint32_t)) + strb + 1);
	if (blk == NULL)
		return ENOMEM;
	sc = (struct hschema *)blk;
	sc->d = (const struct hdesc **)(blk + o);
	sc->reg = (uint64_t *)(sc->d + n);
	sc->byname = (uint32_t *)((struct hdesc *)(sc->reg + n) + ninl);
	strs = (char *)sc->byname + al8(n * sizeof(uint32_t));
	*c = c0;
	if (shmstat__hf_parse_schema(c, h->dict, h->dict->n, 1, sc, (struct hdesc *)(sc->reg + n),
				     &strs, &n, &ninl, &strb) != 0) {
		free(blk);
		return -1;
	}
	shmstat__hf_schema_index(sc);
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
			int err = shmstat__hf_dict_refresh(h);

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

static void sel_unref(struct sel *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->s[i].sc);
	free(s->s);
	free(s);
}

/* The series of schema @src that @s keeps (a schema of the dictionary is
 * looked at once per call, an inline one once per frame): *@out, with the
 * map from @src's series to them. 0 or ENOMEM. */
static int sel_schema(struct sel *s, const struct hschema *src, int inl, const struct selsc **out)
{
	struct selsc *e;
	struct hschema *sc;
	size_t n = 0, o;
	unsigned char *blk;

	for (size_t i = 0; !inl && i < s->n; i++)
		if (s->s[i].src == src) {
			*out = &s->s[i];
			return 0;
		}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4;
		struct selsc *ns = realloc(s->s, cap * sizeof(*ns));

		if (ns == NULL)
			return ENOMEM;
		s->s = ns;
		s->cap = cap;
	}
	/* one block: the schema, then pointers, ids, the map and the index
	 * by name */
	o = al8(sizeof(*sc));
	/* cppcheck-suppress pointerSize */
	blk = malloc(o + src->n * (sizeof(void *) + 8 + sizeof(int32_t) + sizeof(uint32_t)));
	if (blk == NULL)
		return ENOMEM;
	sc = (struct hschema *)blk;
	memset(sc, 0, sizeof(*sc));
	sc->d = (const struct hdesc **)(blk + o);
	sc->reg = (uint64_t *)(sc->d + src->n);
	e = &s->s[s->n++];
	e->src = inl ? NULL : src;
	e->sc = sc;
	e->map = (int32_t *)(sc->reg + src->n);
	sc->byname = (uint32_t *)(e->map + src->n);
	for (size_t i = 0; i < src->n; i++) {
		const struct hdesc *d = src->d[i];

		e->map[i] = -1;
		if (!s->keep(s->arg, d->name, d->labels, d->type))
			continue;
		e->map[i] = (int32_t)n;
		sc->d[n] = d;
		sc->reg[n++] = src->reg[i];
		sc->nhist += d->type == SHMSTAT_HISTOGRAM;
		sc->nsig += d->type == SHMSTAT_SIGTABLE;
	}
	sc->n = n;
	shmstat__hf_schema_index(sc);
	*out = e;
	return 0;
}

/* What the values of a payload need. */
struct dcount {
	size_t nbk, nkeys, nowners, strb, nix;
};

/*
 * The values of a payload, series by series of @sc, from @voff; with
 * @map, those of the series it maps (to their index in @f), the others
 * checked and passed over. With @f NULL, check and count into @dc;
 * otherwise fill @f (laid out from the counts). Return 0 or -1 (not
 * valid).
 */
static int parse_values(const unsigned char *p, size_t plen, size_t voff,
			const struct hschema *sc, const int32_t *map, struct shmstat_frame *f,
			struct dcount *dc, char **strs)
{
	struct cur c = { p + voff, p + plen, 0 };
	size_t nh = 0, ns = 0, nbk = 0, nk = 0, no = 0, strb = 0, hk = 0, sk = 0;

	for (size_t i = 0; i < sc->n; i++) {
		const int keep = map == NULL || map[i] >= 0;
		struct shmstat_frame *const kf = keep ? f : NULL;
		struct fval *fv = kf ? &f->v[map ? (size_t)map[i] : i] : NULL;

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
			if (kf)
				f->hx[hk] = (struct fhist){ sum, max, min1 ? ~(min1 - 1) : 0, under,
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
					if (!keep)
						continue;
					if (f) {
						f->bi[nbk] = (uint32_t)b;
						f->bc[nbk] = cnt;
					}
					nbk++;
					nnz++;
				}
			}
			if (kf)
				f->hx[hk].nnz = nnz;
			if (fv)
				*fv = (struct fval){ count, (uint32_t)hk, 1 };
			hk += keep;
			nh++;
			break;
		}
		case SHMSTAT_SIGTABLE: {
			uint64_t hits = get_v(&c), misses = get_v(&c), weight = get_v(&c);
			uint64_t ev = get_v(&c), unsum = get_v(&c), maxerr = get_v(&c);
			uint64_t owners = get_v(&c), keys;

			if (c.bad || owners > SHMSTAT_HF_MAX_OWNERS || owners > left(&c) / 4)
				return -1;
			if (f == NULL && keep)
				dc->nix += shmstat__hf_oix_size(owners);
			if (kf)
				f->sx[sk] = (struct fsig){ hits, misses, weight, ev, unsum, maxerr, nk,
							   no, 0, (uint32_t)owners, 0, 0 };
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
				if (!keep)
					continue;
				if (f)
					f->owners[no] = (struct fown){
						shmstat__hf_copy_str(strs, name, nl), oh, om, ow
					};
				strb += nl + 1;
				no++;
			}
			keys = get_v(&c);
			if (c.bad || keys > SHMSTAT_HF_MAX_TOP_KEYS || keys > left(&c) / 16)
				return -1;
			if (kf)
				f->sx[sk].nk = (uint32_t)keys;
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
				if (!keep)
					continue;
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
					fk->key = shmstat__hf_copy_str(strs, pre, pl);
					fk->owner = shmstat__hf_copy_str(strs, own, ol);
				}
				strb += pl + ol + 2;
				nk++;
			}
			if (fv)
				*fv = (struct fval){ hits, (uint32_t)sk, 1 };
			sk += keep;
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
		     uint64_t time_ns, uint64_t step_ns, struct sel *sel,
		     struct shmstat_frame **out)
{
	struct head hd;
	struct dcount dc;
	struct shmstat_frame *f;
	const struct hschema *sc;
	const struct selsc *ss = NULL;
	size_t o, ov, ohx, osx, obc, okeys, oown, obi, oix, ostr;
	unsigned char *blk;
	char *strs;
	int r;

	*out = NULL;
	r = parse_head(h, p, plen, &hd);
	if (r)
		return r < 0 ? 0 : r;
	if (sel && sel_schema(sel, hd.sc, hd.own != NULL, &ss) != 0) {
		free(hd.own);
		return ENOMEM;
	}
	sc = ss ? ss->sc : hd.sc;
	memset(&dc, 0, sizeof(dc));
	if (parse_values(p, plen, hd.voff, hd.sc, ss ? ss->map : NULL, NULL, &dc, NULL) != 0) {
		free(hd.own);
		return 0;
	}
	o = al8(sizeof(*f));
	ov = o;    o = al8(o + sc->n * sizeof(struct fval));
	ohx = o;   o = al8(o + sc->nhist * sizeof(struct fhist));
	osx = o;   o = al8(o + sc->nsig * sizeof(struct fsig));
	obc = o;   o = al8(o + dc.nbk * sizeof(uint64_t));
	okeys = o; o = al8(o + dc.nkeys * sizeof(struct fkey));
	oown = o;  o = al8(o + dc.nowners * sizeof(struct fown));
	obi = o;   o = al8(o + dc.nbk * sizeof(uint32_t));
	oix = o;   o = al8(o + dc.nix * sizeof(uint16_t));
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
	f->oix = (uint16_t *)(blk + oix);
	strs = (char *)(blk + ostr);
	f->segment = shmstat__hf_copy_str(&strs, hd.seg, hd.seglen);
	if (parse_values(p, plen, hd.voff, hd.sc, ss ? ss->map : NULL, f, &dc, &strs) != 0) {
		/* the same bytes passed the counting pass */
		free(hd.own);
		free(blk);
		return 0;
	}
	/* each table's owners indexed by name, once for every lookup */
	for (size_t k = 0, x = 0; k < sc->nsig; x += f->sx[k++].nx) {
		struct fsig *t = &f->sx[k];

		t->x0 = x;
		t->nx = shmstat__hf_oix_build(f->owners + t->o0, t->no, f->oix + x);
	}
	f->sc = sc;
	f->own = hd.own;
	if (sel) {
		sel->refs++;
		f->sel = sel;
	}
	f->dict = shmstat__hf_dict_ref(h->dict);
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
	shmstat__hf_dict_unref(f->dict);
	sel_unref(f->sel);
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

/* Record @r of ring @k read (into *@buf, grown as needed) and checked
 * against what the scan saw, then decoded: 0 (*@f NULL: a payload not
 * valid, left out), -1 (overwritten since: the writer went on), or an
 * error code (said). */
static int read_frame(struct shmstat_history *h, unsigned k, const struct rref *r,
		      unsigned char **buf, size_t *cap, struct sel *sel, struct shmstat_frame **f)
{
	const struct shmstat_hf_tier *t = &h->hdr.tier[k];
	struct shmstat_hf_rec rh;
	ssize_t got;
	int err;

	*f = NULL;
	assert(r->len >= SHMSTAT_HF_REC_HDR + 8); /* the ring scan takes no shorter */
	if (r->len > *cap) {
		unsigned char *nb = realloc(*buf, r->len);

		if (nb == NULL)
			return shmstat__hf_io_fail(h, ENOMEM, "reading");
		*buf = nb;
		*cap = r->len;
	}
	got = shmstat__pread_full(h->fd, *buf, r->len, t->ring_off + r->off);
	if (got < 0)
		return shmstat__hf_io_fail(h, errno, "reading");
	if ((size_t)got < r->len)
		return shmstat__hf_io_fail(h, SHMSTAT_ETRUNCATED, "reading");
	memcpy(&rh, *buf, sizeof(rh));
	if (rh.magic != SHMSTAT_HF_REC_MAGIC || rh.len != r->len || rh.seq != r->seq ||
	    rh.time_ns != r->time || shmstat__hf_sum(*buf, rh.len, h->hdr.seed, k) != rh.sum)
		return -1;
	err = frame_new(h, *buf + SHMSTAT_HF_REC_HDR, rh.len - SHMSTAT_HF_REC_HDR, rh.time_ns,
			t->step_ns, sel, f);
	/* the dictionary's own errors are said already; out of memory here
	 * is not */
	if (err == ENOMEM)
		err = shmstat__hf_io_fail(h, ENOMEM, "reading");
	return err;
}

/*
 * Frames of ring @k for the records of @r[0..n-1] (oldest first) with
 * @from <= time <= @to and time < @limit (with @before, also the last
 * record before @from), appended to @l oldest first. Each record is read
 * again and checked against what the scan saw; one overwritten since (the
 * writer went on) ends the walk: older ones are being overwritten too.
 */
static int tier_frames(struct shmstat_history *h, unsigned k, const struct rref *r, size_t n,
		       uint64_t from, uint64_t to, uint64_t limit, int before, struct sel *sel,
		       struct flist *l)
{
	size_t first = l->n, lo, hi;
	unsigned char *buf = NULL;
	size_t cap = 0;
	int err = 0;

	shmstat__hf_span(r, n, from, to, limit, before, &lo, &hi);
	if (lo >= hi)
		return 0;
	/* newest first, then reversed */
	for (size_t i = hi; i-- > lo;) {
		struct shmstat_frame *f;
		int e = read_frame(h, k, &r[i], &buf, &cap, sel, &f);

		if (e) {
			err = e < 0 ? 0 : e;
			break;
		}
		if (f && (err = flist_push(l, f)) != 0) {
			frame_free(f);
			err = shmstat__hf_io_fail(h, ENOMEM, "reading");
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

/* shmstat_history_range(), and with @before shmstat_history_window_range(),
 * keeping the series @sel keeps (NULL: all) */
static int range_read(shmstat_history *h, uint64_t from_ns, uint64_t to_ns, int before,
		 struct sel *sel, shmstat_frame ***out, size_t *n)
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

		err = shmstat__hf_scan_ring(h, k, &r, &nr);
		if (err)
			break;
		done = k + 1;
		err = tier_frames(h, k, r, nr, from_ns, to_ns, limit, before, sel, &tl[k]);
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

/* range_read() with no cancellation point: a thread cancelled at one of
 * its pread()s left the frames read so far and the rings' lists behind
 * (tests/stress/test_cancel.c); the cancel takes effect at the thread's
 * next cancellation point after the call. */
static int range(shmstat_history *h, uint64_t from_ns, uint64_t to_ns, int before,
		 struct sel *sel, shmstat_frame ***out, size_t *n)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = range_read(h, from_ns, to_ns, before, sel, out, n);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

int shmstat_history_range(shmstat_history *h, uint64_t from_ns, uint64_t to_ns,
			  shmstat_frame ***out, size_t *n)
{
	return range(h, from_ns, to_ns, 0, NULL, out, n);
}

int shmstat_history_window_range(shmstat_history *h, uint64_t from_ns, uint64_t to_ns,
				 shmstat_frame ***out, size_t *n)
{
	return range(h, from_ns, to_ns, 1, NULL, out, n);
}

int shmstat_history_window_select(shmstat_history *h, uint64_t from_ns, uint64_t to_ns,
				  shmstat_series_filter keep, void *arg, shmstat_frame ***out,
				  size_t *n)
{
	struct sel *sel;
	int err;

	if (keep == NULL)
		return range(h, from_ns, to_ns, 1, NULL, out, n);
	sel = calloc(1, sizeof(*sel));
	if (sel == NULL) {
		*out = NULL;
		*n = 0;
		return shmstat__fail(ENOMEM, "out of memory reading history file '%s'", h->path);
	}
	sel->refs = 1;             /* the call's own, dropped below */
	sel->keep = keep;
	sel->arg = arg;
	err = range(h, from_ns, to_ns, 1, sel, out, n);
	sel_unref(sel);
	return err;
}

static int keep_all(void *arg, const char *name, const char *labels, enum shmstat_type type)
{
	(void)arg;
	(void)name;
	(void)labels;
	(void)type;
	return 1;
}

static int stream_read(shmstat_history *h, uint64_t from_ns, uint64_t to_ns, int before,
		       shmstat_series_filter keep, void *arg, shmstat__frame_sink sink, void *sarg)
{
	struct rref *r[SHMSTAT_HISTORY_MAX_TIERS] = { NULL };
	size_t nr[SHMSTAT_HISTORY_MAX_TIERS] = { 0 };
	uint64_t limit = UINT64_MAX, lim[SHMSTAT_HISTORY_MAX_TIERS];
	unsigned nt = h->hdr.ntiers, done = 0;
	unsigned char *buf = NULL;
	size_t cap = 0;
	struct sel *sel;
	int err = 0;

	shmstat__clear_error();
	if (from_ns > to_ns)
		return 0;
	/* always a selection, even of every series: the frames' sets of
	 * series stay while it does, however many frames were freed */
	sel = calloc(1, sizeof(*sel));
	if (sel == NULL)
		return shmstat__fail(ENOMEM, "out of memory reading history file '%s'", h->path);
	sel->refs = 1;
	sel->keep = keep ? keep : keep_all;
	sel->arg = arg;
	/* the rings first (as range() takes them), then their records,
	 * coarsest tier first, each oldest first */
	for (unsigned k = 0; k < nt && limit > from_ns; k++) {
		err = shmstat__hf_scan_ring(h, k, &r[k], &nr[k]);
		if (err)
			break;
		done = k + 1;
		lim[k] = limit;
		if (nr[k] && r[k][0].time < limit)
			limit = r[k][0].time;
	}
	for (unsigned k = done; !err && k-- > 0;) {
		size_t lo, hi;

		shmstat__hf_span(r[k], nr[k], from_ns, to_ns, lim[k], before, &lo, &hi);
		for (size_t i = lo; i < hi && !err; i++) {
			struct shmstat_frame *f;
			int e = read_frame(h, k, &r[k][i], &buf, &cap, sel, &f);

			if (e > 0) {
				err = e;
				break;
			}
			/* overwritten since the scan (e < 0): the records
			 * before it are not to be used (range() keeps none
			 * older) */
			if ((e < 0 || f) && (err = sink(sarg, e < 0 ? NULL : f)) != 0)
				err = shmstat__hf_io_fail(h, err, "reading");
		}
	}
	free(buf);
	for (unsigned k = 0; k < done; k++)
		free(r[k]);
	sel_unref(sel);
	return err;
}

/* stream_read() with no cancellation point, as range(): the sink runs
 * with cancellation off too (shmstat_history_each()'s function) */
int shmstat__history_stream(shmstat_history *h, uint64_t from_ns, uint64_t to_ns, int before,
			    shmstat_series_filter keep, void *arg, shmstat__frame_sink sink, void *sarg)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = stream_read(h, from_ns, to_ns, before, keep, arg, sink, sarg);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

void shmstat__frame_free(shmstat_frame *f)
{
	frame_free(f);
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
	/* each field stored: a memset (rep stos) took half its time in windows */
	out->name = d->name;
	out->labels = d->labels;
	out->help = d->help;
	out->unit = d->unit;
	out->type = d->type;
	out->agg = d->agg;
	out->reg_id = f->sc->reg[i];
	out->has_value = (int)v->has_value;
	out->gauge = d->type == SHMSTAT_GAUGE ? (int64_t)v->v : 0;
	out->counter = d->type == SHMSTAT_GAUGE ? 0 : v->v;
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
	} else {
		out->sig_hits = out->sig_misses = out->sig_weight = out->sig_evictions = 0;
		out->sig_unsummarized = out->sig_max_error = out->top = out->owners = 0;
	}
	return 0;
}

size_t shmstat_frame_bytes(const shmstat_frame *f, size_t i)
{
	size_t b = sizeof(struct fval);

	if (i >= f->sc->n)
		return 0;
	if (f->sc->d[i]->type == SHMSTAT_HISTOGRAM) {
		b += sizeof(struct fhist) +
		     f->hx[f->v[i].x].nnz * (sizeof(uint64_t) + sizeof(uint32_t));
	} else if (f->sc->d[i]->type == SHMSTAT_SIGTABLE) {
		const struct fsig *s = &f->sx[f->v[i].x];

		b += sizeof(*s) + s->nk * sizeof(struct fkey) + s->no * sizeof(struct fown) +
		     s->nx * sizeof(*f->oix);
		for (uint32_t k = 0; k < s->nk; k++)
			b += f->keys[s->k0 + k].key_len + strlen(f->keys[s->k0 + k].owner) + 2;
		for (uint32_t k = 0; k < s->no; k++)
			b += strlen(f->owners[s->o0 + k].name) + 1;
	}
	return b;
}

const void *shmstat__frame_schema(const shmstat_frame *f)
{
	return f->sc;
}

long shmstat_frame_find(const shmstat_frame *f, const char *name, const char *labels)
{
	if (name == NULL)
		return -1;
	if (labels == NULL)
		labels = "";
	return shmstat__hf_schema_find(f->sc, name, labels);
}

int shmstat__frame_hsparse(const shmstat_frame *f, size_t i, struct shmstat__hsparse *out)
{
	const struct hdesc *d;
	const struct fhist *fh;

	if (i >= f->sc->n || f->sc->d[i]->type != SHMSTAT_HISTOGRAM)
		return EINVAL;
	d = f->sc->d[i];
	fh = &f->hx[f->v[i].x];
	if (shmstat__hsparse_room(out, fh->nnz) != 0)
		return ENOMEM;
	*out = (struct shmstat__hsparse){ d->bits, d->lowest, d->highest, fh->sum, fh->max, fh->nmin,
					  fh->under, fh->over, fh->nnz, out->cap, out->idx, out->cnt };
	if (fh->nnz) {          /* ascending, none 0 (parse_values()) */
		memcpy(out->idx, &f->bi[fh->b0], (size_t)fh->nnz * sizeof(*out->idx));
		memcpy(out->cnt, &f->bc[fh->b0], (size_t)fh->nnz * sizeof(*out->cnt));
	}
	return 0;
}

int shmstat_frame_hist(const shmstat_frame *f, size_t i, shmstat_hdata **out)
{
	struct shmstat__hsparse hs = { 0 };
	int err = shmstat__frame_hsparse(f, i, &hs);

	*out = NULL;
	if (err == 0) {
		*out = shmstat__hdata_new(hs.bits, hs.lowest, hs.highest);
		err = *out == NULL ? ENOMEM : shmstat__hdata_add_sparse(*out, &hs, NULL);
	}
	shmstat__hsparse_free(&hs);
	return err;
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

long shmstat__frame_owner_find(const shmstat_frame *f, size_t i, const char *name)
{
	const struct fsig *s;

	if (i >= f->sc->n || f->sc->d[i]->type != SHMSTAT_SIGTABLE)
		return -1;
	s = &f->sx[f->v[i].x];
	return shmstat__hf_oix_find(f->owners + s->o0, f->oix + s->x0, s->nx, name);
}
