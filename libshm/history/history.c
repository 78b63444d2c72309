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
 *
 * This file: the handle, the header (geometry, checks), open, create and
 * close. The others: dict.c (the dictionary in memory), io.c (reads and
 * writes, ring scans), writer.c (append), frames.c (range, frames and
 * their accessors); history_int.h is what they share.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "history_int.h"
#include "hook.h"

#define NS_PER_S  UINT64_C(1000000000)

/* ------------------------------------------------------ the handle */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return x;
}

int shmstat__hf_hmap_put(struct hmap *m, uint64_t key, uint32_t val)
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
uint32_t shmstat__hf_hmap_next(const struct hmap *m, uint64_t key, size_t *it)
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

void shmstat__hf_hmap_clear(struct hmap *m)
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
	if (hd->total_size > SHMSTAT_HF_MAX_BYTES)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "history file '%s' is corrupted: its header says %llu bytes, more than the %llu (1 TiB) a history file may have",
				     path, (unsigned long long)hd->total_size,
				     (unsigned long long)SHMSTAT_HF_MAX_BYTES);
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
	shmstat__hf_dict_unref(h->dict);
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
	h->dict = shmstat__hf_dict_new();
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
	int err = shmstat__hf_dict_refresh(h);

	if (err)
		return err;
	for (size_t i = 0; i < h->dict->n; i++) {
		const struct hent *e = h->dict->e[i];

		if (e->kind == SHMSTAT_HF_KIND_SERIES)
			err = shmstat__hf_hmap_put(&h->dmap, e->hash, (uint32_t)i);
		else if (e->kind == SHMSTAT_HF_KIND_SCHEMA)
			err = shmstat__hf_hmap_put(&h->smap, e->hash, (uint32_t)i);
		if (err)
			return shmstat__fail(err, "out of memory opening history file '%s'", h->path);
	}
	for (unsigned k = 0; k < h->hdr.ntiers; k++) {
		struct wtier *w = &h->wt[k];
		struct rref *r;
		size_t n;

		err = shmstat__hf_scan_ring(h, k, &r, &n);
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
		err = shmstat__fail(ENOMEM, "out of memory opening history file '%s'", path);
		goto fail;
	}
	h->hdr = hd;
	SHMSTAT_HOOK(SHMSTAT_HOOK_HIST_OPENED, h);
	err = writable ? restore(h) : shmstat__hf_dict_refresh(h);
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

/* No cancellation point, as shmstat_history_create(): a thread cancelled
 * at the pread()s of the names left the file's descriptor open for good
 * (tests/stress/test_cancel.c). */
int shmstat_history_open(const char *path, shmstat_history **out)
{
	int cancel, err;

	shmstat__clear_error();
	*out = NULL;
	if (path == NULL || *path == '\0')
		return shmstat__fail(EINVAL, "history file name is missing");
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = open_file(path, 0, out);
	pthread_setcancelstate(cancel, NULL);
	return err;
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
		return shmstat__fail(ENOMEM, "out of memory creating history file '%s'", path);
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
	err = shmstat__hf_pwrite_full(fd, &hd, sizeof(hd), 0);
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
		return shmstat__fail(ENOMEM, "out of memory creating history file '%s'", path);
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

static int create(const char *path, const struct shmstat_history_opts *o,
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

/* Creating and closing a file to append to are no cancellation points,
 * as an append (writer.c): a cancel left a temporary file behind, or a
 * descriptor open. */
int shmstat_history_create(const char *path, const struct shmstat_history_opts *o,
			   shmstat_history **out)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = create(path, o, out);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

void shmstat_history_close(shmstat_history *h)
{
	int cancel;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	hist_free(h);
	pthread_setcancelstate(cancel, NULL);
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

/* ------------------------------------------------------------ one by one */

/* shmstat_history_each(): its function, and what it returned */
struct each {
	shmstat_frame_fn fn;
	void *arg;
	int rc;
};

static int each_sink(void *arg, shmstat_frame *f)
{
	struct each *e = arg;

	if (f == NULL)
		return 0;          /* overwritten while read: left out */
	e->rc = e->fn(e->arg, f);
	shmstat__frame_free(f);
	return e->rc ? ECANCELED : 0;
}

int shmstat_history_each(shmstat_history *h, uint64_t from_ns, uint64_t to_ns,
			 shmstat_frame_fn fn, void *arg)
{
	struct each e = { fn, arg, 0 };
	int err = shmstat__history_stream(h, from_ns, to_ns, 0, NULL, NULL, each_sink, &e);

	if (e.rc) {
		shmstat__clear_error();    /* not the file's: the caller's */
		return e.rc;
	}
	return err;
}
