/*
 * io.c - the file I/O of history files: whole writes, reads through a
 * window (pread(2)), the dictionary read and extended as it grows, the
 * records a reader keeps of a ring, and what a ring holds (for tests).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history_int.h"
#include "hook.h"

#define WINDOW    (size_t)(1u << 20)      /* bytes read at a time */

/* --------------------------------------------------------------- I/O */

int shmstat__hf_pwrite_full(int fd, const void *p, size_t n, uint64_t off)
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
	uint64_t dend;             /* rv_data(): the known run of data ends here */
	uint64_t data;             /* bytes of data rv_data() found */
	int err;                   /* 0, SHMSTAT_ETRUNCATED, ENOMEM or errno */
};

static void rv_init(struct rview *v, int fd, uint64_t base, uint64_t len)
{
	memset(v, 0, sizeof(*v));
	v->fd = fd;
	v->base = base;
	v->len = len;
	v->dend = len;             /* no map of the data: all of it is data */
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
		/* the window stops where the run of data does: a hole reads as
		 * zeros, and a file of many short runs far apart would be read
		 * a window (1 MiB) a run */
		const uint64_t stop = v->dend > off + n ? v->dend : off + n;
		size_t want = stop - off < v->cap ? (size_t)(stop - off) : v->cap;

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

/* The first offset from @off (a multiple of 8) where a record may start
 * (its first 4 bytes @magic), looked for in the window rv_get() read last
 * only: the window's end if none is there (or @off itself when it lies
 * outside). A walk past what is no record, 8 bytes a turn through
 * rv_data() and rv_get(), took about 2.6 s a pass over a ring of 2 GiB
 * holding 8.8 MB of records: the rest, reserved by posix_fallocate(),
 * ext4 reported as data to SEEK_HOLE, so it was read whole. */
static uint64_t rv_skip(const struct rview *v, uint64_t off, uint32_t magic)
{
	uint64_t end;

	if (v->wlen == 0 || off < v->woff || off >= v->woff + v->wlen)
		return off;
	end = v->woff + v->wlen;
	for (; off + 4 <= end; off += 8) {
		uint32_t m;

		memcpy(&m, v->buf + (off - v->woff), sizeof(m));
		if (m == magic)
			return off;
	}
	return off;
}

/*
 * The first offset from @off (a multiple of 8) on whose 8 bytes may hold
 * data, the region's length if none does; the run of data it is in is
 * [it, v->dend), counted in v->data. A hole reads as zeros, and the
 * magic of a record is not 0: no record starts in a hole, so a walk
 * jumps over them (a record may end in one: rv_get() reads its bytes).
 * SEEK_HOLE is asked once per run (on tmpfs it walks the run a page at a
 * time). Where the file system does not tell (SEEK_DATA fails with an
 * error other than ENXIO), the rest of the region is one run. ENXIO: no
 * data up to the end of the file, or the file shrank (v->err
 * SHMSTAT_ETRUNCATED). On error, v->err.
 */
static uint64_t rv_data(struct rview *v, uint64_t off)
{
	const uint64_t end = v->base + v->len;
	off_t d, e;
	uint64_t r;

	if (off < v->dend || off >= v->len)
		return off;
	d = lseek(v->fd, (off_t)(v->base + off), SEEK_DATA);
	if (d < 0 && errno == ENXIO) {
		struct stat st;

		/* holes to the end of the file, or the file shrank */
		if (fstat(v->fd, &st) != 0) {
			v->err = errno;
			return v->len;
		}
		if ((uint64_t)st.st_size < end)
			v->err = SHMSTAT_ETRUNCATED;
		return v->len;
	}
	if (d < 0 || (uint64_t)d < v->base + off) {
		v->dend = v->len;          /* no answer: the rest is data */
		v->data += v->len - off;
		return off;
	}
	if ((uint64_t)d >= end)
		return v->len;
	r = ((uint64_t)d - v->base) & ~UINT64_C(7);
	if (r < off)
		r = off;
	e = lseek(v->fd, d, SEEK_HOLE);
	if (e <= d || (uint64_t)e >= end)
		v->dend = v->len;
	else
		v->dend = round8((uint64_t)e - v->base);
	v->data += v->dend - r;
	return r;
}

int shmstat__hf_io_fail(const struct shmstat_history *h, int err, const char *what)
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
int shmstat__hf_dict_refresh(struct shmstat_history *h)
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
			err = shmstat__hf_io_fail(h, v.err, "reading the dictionary of");
			break;
		}
		memcpy(&eh, p, sizeof(eh));
		if (eh.magic != SHMSTAT_HF_ENT_MAGIC || eh.len < SHMSTAT_HF_ENT_HDR + 8 ||
		    eh.len % 8 || eh.len > dlen - d->end || eh.len > SHMSTAT_HF_REC_MAX ||
		    eh.index != d->n)
			break;
		p = rv_get(&v, d->end, eh.len);
		if (p == NULL) {
			err = shmstat__hf_io_fail(h, v.err, "reading the dictionary of");
			break;
		}
		if (shmstat__hf_sum(p, eh.len, h->hdr.seed, SHMSTAT_HF_AREA_DICT) != eh.sum)
			break;
		e = shmstat__hf_ent_new(d, d->n, p + SHMSTAT_HF_ENT_HDR,
					eh.len - SHMSTAT_HF_ENT_HDR);
		if (e == NULL || shmstat__hf_dict_push(d, e) != 0) {
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
int shmstat__hf_scan_ring(struct shmstat_history *h, unsigned k, struct rref **out, size_t *nout)
{
	const struct shmstat_hf_tier *t = &h->hdr.tier[k];
	uint64_t off = 0, hashed = 0;
	struct rref *r = NULL;
	size_t n = 0, cap = 0, keep;
	struct rview v;
	int err = 0;

	*out = NULL;
	*nout = 0;
	rv_init(&v, h->fd, t->ring_off, t->ring_len);
	v.dend = 0;                        /* map the data as the walk goes */
	for (;;) {
		const unsigned char *p;
		struct shmstat_hf_rec rh;

		off = rv_data(&v, off);
		if (v.err) {
			err = shmstat__hf_io_fail(h, v.err, "reading");
			goto out;
		}
		if (off + SHMSTAT_HF_REC_HDR > t->ring_len)
			break;
		p = rv_get(&v, off, SHMSTAT_HF_REC_HDR);
		if (p == NULL) {
			err = shmstat__hf_io_fail(h, v.err, "reading");
			goto out;
		}
		memcpy(&rh, p, sizeof(rh));
		if (rh.magic == SHMSTAT_HF_REC_MAGIC && rh.len >= SHMSTAT_HF_REC_HDR + 8 &&
		    rh.len % 8 == 0 && rh.len <= t->ring_len - off && rh.len <= SHMSTAT_HF_REC_MAX &&
		    rh.seq != 0) {
			/* twice the data met so far, the run the walk is in
			 * whole (holes do not count: a sparse file's header
			 * may claim a ring of 1 TiB) */
			if (hashed + rh.len > 2 * v.data + (UINT64_C(64) << 20))
				break;             /* damaged beyond reason: keep what we have */
			hashed += rh.len;
			p = rv_get(&v, off, rh.len);
			if (p == NULL) {
				err = shmstat__hf_io_fail(h, v.err, "reading");
				goto out;
			}
			if (shmstat__hf_sum(p, rh.len, h->hdr.seed, k) == rh.sum) {
				if (n == cap) {
					size_t nc = cap ? cap * 2 : 256;
					struct rref *nr = realloc(r, nc * sizeof(*nr));

					if (nr == NULL) {
						err = shmstat__hf_io_fail(h, ENOMEM, "reading");
						goto out;
					}
					r = nr;
					cap = nc;
				}
				r[n++] = (struct rref){ off, rh.seq, rh.time_ns, rh.len };
				SHMSTAT_HOOK(SHMSTAT_HOOK_HIST_SCANNED, h);
				off += rh.len;
				continue;
			}
		}
		off = rv_skip(&v, off + 8, SHMSTAT_HF_REC_MAGIC);
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

/* The first of the records @r[0..n-1] (oldest first) at or after @from;
 * with @before, the last one before @from when there is one (the record a
 * window from @from starts its deltas at). @n when there is none. */
static size_t first_record(const struct rref *r, size_t n, uint64_t from, int before)
{
	size_t lo = 0;

	while (lo < n && r[lo].time < from)
		lo++;
	if (before && lo > 0 && (lo == n || r[lo].time > from))
		lo--;
	return lo;
}

/* The records of @r[0..n-1] (oldest first) a range [@from, @to] takes
 * (time < @limit; with @before, also the last record before @from):
 * [*@lo, *@hi). */
void shmstat__hf_span(const struct rref *r, size_t n, uint64_t from, uint64_t to, uint64_t limit,
		      int before, size_t *lo, size_t *hi)
{
	*lo = first_record(r, n, from, before);
	*hi = n;
	for (size_t i = *lo; i < n; i++) {
		if (r[i].time > to || r[i].time >= limit) {
			*hi = i;
			break;
		}
	}
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
	err = shmstat__hf_dict_refresh(h);
	if (err)
		return err;
	err = shmstat__hf_scan_ring(h, k, &r, &n);
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
