/*
 * writer.c - appending snapshots to a history file: each becomes one
 * payload of values, named by a schema entry of the dictionary (written
 * once, with the series entries it needs, while the set of metrics does
 * not change), written as a record into every tier whose step has
 * passed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "history_int.h"
#include "hook.h"

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
	buf_reset(&h->rec);
	put_bytes(&h->rec, &eh, sizeof(eh));
	put_bytes(&h->rec, payload, plen);
	while (h->rec.n < len && !h->rec.oom)
		put_u8(&h->rec, 0);
	if (h->rec.oom)
		return shmstat__fail(ENOMEM, "out of memory adding to the dictionary of history file '%s'", h->path);
	eh.magic = SHMSTAT_HF_ENT_MAGIC;
	eh.len = (uint32_t)len;
	eh.index = d->n;
	eh.sum = 0;
	memcpy(h->rec.p, &eh, sizeof(eh));
	eh.sum = shmstat__hf_sum(h->rec.p, (uint32_t)len, h->hdr.seed, SHMSTAT_HF_AREA_DICT);
	memcpy(h->rec.p, &eh, sizeof(eh));
	e = shmstat__hf_ent_new(d, d->n, payload, (uint32_t)plen);
	if (e == NULL || e->kind == 0 || shmstat__hf_dict_push(d, e) != 0) {
		int bad = e && e->kind == 0;

		free(e);
		if (bad)
			return shmstat__fail(EINVAL, "history file '%s': a dictionary entry does not parse",
					     h->path);
		return shmstat__fail(ENOMEM, "out of memory adding to the dictionary of history file '%s'", h->path);
	}
	SHMSTAT_HOOK(SHMSTAT_HOOK_HIST_DICT, h);
	err = shmstat__hf_pwrite_full(h->fd, h->rec.p, (size_t)len, h->hdr.dict_off + d->end);
	if (err) {
		d->n--;
		free(e);
		return shmstat__fail(err, "cannot write history file '%s': %s", h->path,
				     strerror(err));
	}
	err = shmstat__hf_hmap_put(e->kind == SHMSTAT_HF_KIND_SERIES ? &h->dmap : &h->smap, e->hash,
				   (uint32_t)(d->n - 1));
	d->end += len;
	if (err)
		return shmstat__fail(ENOMEM, "out of memory adding to the dictionary of history file '%s'", h->path);
	*idx = (uint32_t)(d->n - 1);
	return 0;
}

/* The entry of @map whose payload is @p (@n bytes), or UINT32_MAX. */
static uint32_t find_entry(const struct shmstat_history *h, const struct hmap *map,
			   const unsigned char *p, size_t n, uint64_t hash)
{
	size_t it = 0;
	uint32_t i;

	while ((i = shmstat__hf_hmap_next(map, hash, &it)) != UINT32_MAX) {
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
	buf_reset(b);
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
		/* a key no summary kept the bytes of: none, and a length of
		 * at least 1 (not the empty key) */
		put_v(b, e.has_key || e.full_len ? e.full_len : 1);
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
		shmstat__hf_hmap_clear(&h->rmap);
		h->rgen = si.generation;
	}
	if (grow_cur(h, n ? n : 1) != 0)
		return shmstat__fail(ENOMEM, "out of memory encoding a record for history file '%s'", h->path);
	buf_reset(&h->inl);
	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info mi;
		struct shmstat_hstats hs;
		size_t it = 0;
		uint32_t d;
		uint64_t hash;

		if (shmstat_snap_metric(s, i, &mi) != 0)
			return shmstat__fail(EINVAL, "metric %zu of the snapshot cannot be read", i);
		h->cur_reg[i] = mi.reg_id;
		d = shmstat__hf_hmap_next(&h->rmap, mi.reg_id, &it);
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
			return shmstat__fail(ENOMEM, "out of memory encoding a record for history file '%s'", h->path);
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
		} else if (shmstat__hf_hmap_put(&h->rmap, mi.reg_id, d) != 0) {
			return shmstat__fail(ENOMEM, "out of memory encoding a record for history file '%s'", h->path);
		}
	}
	if (h->inl.oom)
		return shmstat__fail(ENOMEM, "out of memory encoding a record for history file '%s'", h->path);
	/* the schema: the last one, one found again, or a new one */
	if (ninl == 0) {
		if (h->last_schema != UINT32_MAX && h->last_n == n &&
		    memcmp(h->last_d, h->cur_d, n * sizeof(*h->cur_d)) == 0 &&
		    memcmp(h->last_reg, h->cur_reg, n * sizeof(*h->cur_reg)) == 0) {
			schema = h->last_schema;
		} else {
			uint64_t hash;

			buf_reset(&h->tmp);
			put_u8(&h->tmp, SHMSTAT_HF_KIND_SCHEMA);
			schema_payload(h, &h->tmp, n);
			if (h->tmp.oom)
				return shmstat__fail(ENOMEM, "out of memory encoding a record for history file '%s'", h->path);
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
						return shmstat__fail(ENOMEM, "out of memory encoding a record for history file '%s'", h->path);
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
	buf_reset(b);
	put_u8(b, SHMSTAT_HF_KIND_SNAP);
	put_f64(b, si.generation);
	put_str(b, h->segment, strlen(h->segment));
	h->pay_own = b->n;
	if (schema != UINT32_MAX) {
		put_v(b, (uint64_t)schema << 1);
	} else {
		put_v(b, 1);
		schema_payload(h, b, n);
	}
	h->pay_own -= b->n;         /* less the schema, added back below */
	h->pay_ninl = ninl;
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
		return shmstat__fail(ENOMEM, "out of memory encoding a record for history file '%s'", h->path);
	h->pay_own += b->n;
	return 0;
}

/* write_record()'s return when the record is longer than the tier's ring
 * (not ENOSPC: a write that fails with ENOSPC, a full file system, is
 * another error) */
#define NO_FIT (-1)

/* Write h->pay as the next record of tier @k, at @now: 0, NO_FIT or an
 * error. */
static int write_record(struct shmstat_history *h, unsigned k, uint64_t now)
{
	const struct shmstat_hf_tier *t = &h->hdr.tier[k];
	struct wtier *w = &h->wt[k];
	uint64_t len = round8(SHMSTAT_HF_REC_HDR + h->pay.n), pos = w->pos;
	struct shmstat_hf_rec rh = { 0, 0, 0, 0, 0 };
	int err;

	if (len > t->ring_len || len > SHMSTAT_HF_REC_MAX)
		return NO_FIT;
	if (pos > t->ring_len || len > t->ring_len - pos)
		pos = 0;
	if (h->rec.n != len) {
		buf_reset(&h->rec);
		put_bytes(&h->rec, &rh, sizeof(rh));
		put_bytes(&h->rec, h->pay.p, h->pay.n);
		while (h->rec.n < len && !h->rec.oom)
			put_u8(&h->rec, 0);
		if (h->rec.oom)
			return shmstat__fail(ENOMEM, "out of memory writing a record to history file '%s'", h->path);
	}
	rh.magic = SHMSTAT_HF_REC_MAGIC;
	rh.len = (uint32_t)len;
	rh.sum = 0;
	rh.seq = w->seq;
	rh.time_ns = now;
	memcpy(h->rec.p, &rh, sizeof(rh));
	rh.sum = shmstat__hf_sum(h->rec.p, (uint32_t)len, h->hdr.seed, k);
	memcpy(h->rec.p, &rh, sizeof(rh));
	err = shmstat__hf_pwrite_full(h->fd, h->rec.p, (size_t)len, t->ring_off + pos);
	if (err)
		return shmstat__fail(err, "cannot write history file '%s': %s", h->path,
				     strerror(err));
	w->pos = pos + len;
	w->seq++;
	w->bucket = now / t->step_ns;
	w->has_last = 1;
	return 0;
}

int shmstat_history_last(const shmstat_history *h, uint64_t *time_ns)
{
	shmstat__clear_error();
	if (!h->writable)
		return shmstat__fail(EINVAL, "history file '%s' is open read-only", h->path);
	if (!h->has_last)
		return shmstat__fail(ENOENT, "history file '%s' has no record to go on from",
				     h->path);
	*time_ns = h->last_ns;
	return 0;
}

/* Every tier due at the next append, its seq one past the next: readers
 * keep the run of seqs down from the newest record, which then ends at
 * it (docs/history.md, "Starting anew"). */
int shmstat_history_restart(shmstat_history *h)
{
	shmstat__clear_error();
	if (!h->writable)
		return shmstat__fail(EINVAL, "history file '%s' is open read-only", h->path);
	for (unsigned k = 0; k < h->hdr.ntiers; k++) {
		struct wtier *w = &h->wt[k];

		if (w->has_last)
			w->seq++;
		w->has_last = 0;
	}
	h->has_last = 0;
	return 0;
}

static int append(shmstat_history *h, const shmstat_snap *s, uint64_t now_ns,
		  unsigned *written)
{
	unsigned due = 0, nw = 0, small = 0;
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
	buf_reset(&h->rec);        /* the record is built once, for every tier */
	for (unsigned k = 0; k < h->hdr.ntiers; k++) {
		if (!(due & 1u << k))
			continue;
		err = write_record(h, k, now_ns);
		if (err == NO_FIT) {
			if (!nospace || h->hdr.tier[k].ring_len < h->hdr.tier[small].ring_len)
				small = k;
			nospace = 1;
			err = 0;
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
	if (err)
		return err;
	/* the record's own size (its values), the same in a file of any
	 * size; then what the series inline add: the size of the record
	 * written, which alone said, varied with the file's size (the
	 * room of its dictionary) */
	if (nospace && h->pay_ninl)
		return shmstat__fail(ENOSPC,
				     "history file '%s': a record of segment '%s' takes %llu bytes (%llu with %zu series written inline: the file's dictionary has no room for them), more than the ring of tier %u (%llu bytes); make the file bigger",
				     h->path, h->segment,
				     (unsigned long long)round8(SHMSTAT_HF_REC_HDR + h->pay_own),
				     (unsigned long long)round8(SHMSTAT_HF_REC_HDR + h->pay.n),
				     h->pay_ninl, small,
				     (unsigned long long)h->hdr.tier[small].ring_len);
	if (nospace)
		return shmstat__fail(ENOSPC,
				     "history file '%s': a record of segment '%s' takes %llu bytes, more than the ring of tier %u (%llu bytes); make the file bigger",
				     h->path, h->segment,
				     (unsigned long long)round8(SHMSTAT_HF_REC_HDR + h->pay.n), small,
				     (unsigned long long)h->hdr.tier[small].ring_len);
	return 0;
}

/* No cancellation point: a thread cancelled at a pwrite() of a new
 * series' dictionary entry left the entry in the writer's dictionary
 * and not in the file (its place written over by the next entry, under
 * another index): the records after it named series that readers cannot
 * find (up to 760 of 1,000 series missing from the last record). A
 * cancel takes effect at the thread's next cancellation point. */
int shmstat_history_append(shmstat_history *h, const shmstat_snap *s, uint64_t now_ns,
			   unsigned *written)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = append(h, s, now_ns, written);
	pthread_setcancelstate(cancel, NULL);
	return err;
}
