/*
 * dict.c - the dictionary of a history file in memory (history.h): its
 * entries, series and schemas, parsed and checked from their payloads,
 * refcounted so that frames outlive their handle. Reading it from the
 * file is in io.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "history_int.h"

/* --------------------------------------------------------- dictionary */

struct hdict *shmstat__hf_dict_new(void)
{
	struct hdict *d = calloc(1, sizeof(*d));

	if (d)
		d->refs = 1;
	return d;
}

struct hdict *shmstat__hf_dict_ref(struct hdict *d)
{
	__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	return d;
}

void shmstat__hf_dict_unref(struct hdict *d)
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

char *shmstat__hf_copy_str(char **at, const unsigned char *s, size_t n)
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
	d->name = shmstat__hf_copy_str(strs, r->s[0], r->sl[0]);
	d->labels = shmstat__hf_copy_str(strs, r->s[1], r->sl[1]);
	d->help = shmstat__hf_copy_str(strs, r->s[2], r->sl[2]);
	d->unit = shmstat__hf_copy_str(strs, r->s[3], r->sl[3]);
}

/*
 * A schema payload after its kind byte: series that are entries of @dict
 * below @limit, or (with @inl_ok) inline series payloads. With @sc NULL,
 * only checks and counts: *@n series, *@ninl inline ones needing
 * *@strb bytes of strings. Otherwise fills @sc (arrays allocated by the
 * caller for *@n series), the inline ones into @inl, strings at *@strs.
 */
int shmstat__hf_parse_schema(struct cur *c, const struct hdict *dict, size_t limit, int inl_ok,
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

/* Entry @index of @dict from its payload (copied); NULL: out of memory.
 * A payload that does not parse gives an entry of kind 0. */
struct hent *shmstat__hf_ent_new(const struct hdict *dict, size_t index, const unsigned char *p,
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
		if (shmstat__hf_parse_schema(&c, dict, index, 0, NULL, NULL, NULL, &n, &ninl,
					     &strb) != 0 ||
		    !at_end(&c))
			goto unknown;
		used = (size_t)(c.p - p);
		e = malloc(base + al8(used) + n * (sizeof(void *) + 8 + sizeof(uint32_t)));
		if (e == NULL)
			return NULL;
		memset(e, 0, sizeof(*e));
		e->s.d = (const struct hdesc **)((char *)e + base + al8(used));
		e->s.reg = (uint64_t *)(e->s.d + n);
		e->s.byname = (uint32_t *)(e->s.reg + n);
		c = (struct cur){ p + 1, p + used, 0 };
		if (shmstat__hf_parse_schema(&c, dict, index, 0, &e->s, NULL, &none, &n, &ninl,
					     &strb) != 0) {
			free(e);
			goto unknown;
		}
		shmstat__hf_schema_index(&e->s);
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

int shmstat__hf_dict_push(struct hdict *d, struct hent *e)
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
