/*
 * reader.c - the reader: open a segment, and copy it for a snapshot.
 *
 * The reader trusts nothing in the segment. It opens the object read-only
 * (never through a symbolic link, never waiting on a FIFO, only a regular
 * file of an owner it accepts) and copies it with pread(2) (copier.c), so a
 * segment truncated underneath gives a short read instead of a SIGBUS:
 * its tables where they lie in a copy buffer, its stripes as their runs
 * of non-zero slots (sparse.c). The copy is bracketed by two reads of
 * fold_seq (see grace.h); a copy that raced with a fold is redone, a
 * bounded number of times. snapshot.c checks and computes what was
 * copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmstat.h"
#include "hook.h"
#include "registry.h"
#include "segment.h"
#include "snap.h"
#include "type.h"

#define COPY_TRIES 32
/* a subset of at most this many runs of slots is read range by range,
 * holes and all, without a walk of the stripes (map_stripes()) */
#define SUBSET_RUNS 16u
/* the first pass's windows over the stripes (map_stripes()): 64 KB to
 * 512 KB measured alike at 64 writers */
#define WINDOW (UINT64_C(128) << 10)

#define extent shmstat__extent
#define copier shmstat__copier

/* ---------------------------------------------------- the spare buffer */

static struct shmstat__spare *spare_new(void)
{
	struct shmstat__spare *sp = calloc(1, sizeof(*sp));

	if (sp == NULL)
		return NULL;
	if (pthread_mutex_init(&sp->mu, NULL) != 0) {
		free(sp);
		return NULL;
	}
	sp->refs = 1;
	return sp;
}

static void spare_put(struct shmstat__spare *sp)
{
	unsigned left;

	if (sp == NULL)
		return;
	pthread_mutex_lock(&sp->mu);
	left = --sp->refs;
	pthread_mutex_unlock(&sp->mu);
	if (left != 0)
		return;
	if (sp->buf != NULL)
		munmap(sp->buf, sp->len);
	free(sp->ext);
	shmstat__sparse_free(&sp->sp);
	if (sp->total != NULL)
		shmstat__unmap_array(sp->total, sp->total_bytes);
	shmstat__mdir_free(&sp->dir);
	pthread_mutex_destroy(&sp->mu);
	free(sp);
}

/* ------------------------------------------------------------------ open */

void shmstat_reader_opts_init(struct shmstat_reader_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_copy = SHMSTAT_READER_MAX_COPY;
}

/* May a reader with options @o trust an object owned by @uid? Its own
 * uid, as a writer (segment.c, check_owner), root, or one it was given. */
static bool owner_ok(const struct shmstat_reader_opts *o, uid_t uid)
{
	if (o->any_owner || uid == geteuid() || uid == 0)
		return true;
	for (unsigned i = 0; i < o->nowners; i++)       /* at most 16: reader_open() */
		if (o->owners[i] == uid)
			return true;
	return false;
}

/* Type, owner, links and mode of an object a reader opened: what a
 * writer checks (segment.c, check_owner), with the owners @o accepts. */
static int check_object(const struct shmstat_reader_opts *o, const struct stat *st,
			const char *name)
{
	if (!S_ISREG(st->st_mode))
		return shmstat__fail(SHMSTAT_EOWNER, "segment '%s' is not a regular file", name);
	if (o->any_owner)
		return 0;
	if (!owner_ok(o, st->st_uid))
		return shmstat__fail(SHMSTAT_EOWNER,
				     "segment '%s' is owned by uid %u, not by this user (uid %u) or root; refusing it",
				     name, (unsigned)st->st_uid, (unsigned)geteuid());
	return shmstat__check_links_mode(st, name);
}

int shmstat_reader_open(const char *name, shmstat_reader **out)
{
	return shmstat_reader_open_opts(name, NULL, out);
}

static int reader_open(const char *name, const struct shmstat_reader_opts *o,
		       shmstat_reader **out)
{
	char path[SHMSTAT_PATH_MAX];
	struct shmstat_reader_opts defaults;
	struct shmstat_reader *r;
	struct stat st;
	ssize_t n;
	int err, fd;

	shmstat__clear_error();
	*out = NULL;
	if (o == NULL) {
		shmstat_reader_opts_init(&defaults);
		o = &defaults;
	}
	/* owners[] holds that many: more were cut to 16 without a word, the
	 * uids after the 16th refused as if never given */
	if (o->nowners > SHMSTAT_READER_MAX_OWNERS)
		return shmstat__fail(EINVAL,
				     "cannot open segment '%s': shmstat_reader_opts.nowners is %u, more than SHMSTAT_READER_MAX_OWNERS (%d)",
				     name, o->nowners, SHMSTAT_READER_MAX_OWNERS);
	err = shmstat__path(name, path);
	if (err)
		return err;
	/* anyone may plant the name: never through a link, and never wait
	 * for a writer (a FIFO); its type is checked before any read */
	fd = shm_open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return shmstat__fail(ENOENT, "segment '%s' does not exist", name);
		if (err == EACCES)
			return shmstat__fail(EACCES, "segment '%s' is not readable by this user", name);
		if (err == ELOOP)
			return shmstat__fail(SHMSTAT_EOWNER, "segment '%s' is a symbolic link; refusing it",
					     name);
		if (err == ENXIO || err == EISDIR)
			return shmstat__fail(SHMSTAT_EOWNER, "segment '%s' is not a regular file",
					     name);
		return shmstat__fail(err, "cannot open segment '%s': %s", name, strerror(err));
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		close(fd);
		return shmstat__fail(ENOMEM, "out of memory opening segment '%s'", name);
	}
	r->fd = fd;
	r->max_copy = o->max_copy ? o->max_copy : SHMSTAT_READER_MAX_COPY;
	r->want = o->want;
	r->want_arg = o->want_arg;
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->path, sizeof(r->path), "/dev/shm%s", path);
	if (fstat(fd, &st) != 0) {
		err = shmstat__fail(errno, "cannot stat segment '%s': %s", name, strerror(errno));
		goto fail;
	}
	err = check_object(o, &st, name);
	if (err)
		goto fail;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->uid = st.st_uid;
	r->mode = st.st_mode & 07777;
	/* the same rules as a writer's attach: a creator sizes the object in
	 * one step and publishes the magic last */
	if (st.st_size == 0) {
		err = shmstat__fail(SHMSTAT_EFOREIGN,
				    "segment '%s' is not a shmstat segment (empty: not initialized yet, or foreign)",
				    name);
		goto fail;
	}
	if ((uint64_t)st.st_size < sizeof(r->hdr)) {
		err = shmstat__fail(SHMSTAT_EFOREIGN,
				    "segment '%s' is not a shmstat segment (%lld bytes)",
				    name, (long long)st.st_size);
		goto fail;
	}
	n = pread(fd, &r->hdr, sizeof(r->hdr), 0);
	if (n != (ssize_t)sizeof(r->hdr)) {
		err = shmstat__fail(SHMSTAT_ETRUNCATED, "segment '%s' is truncated", name);
		goto fail;
	}
	if (memcmp(r->hdr.magic, "\0\0\0\0\0\0\0\0", 8) == 0) {
		err = shmstat__fail(SHMSTAT_EBUSY,
				    "segment '%s' is not initialized yet (or its creator died)", name);
		goto fail;
	}
	err = shmstat__validate_hdr(&r->hdr, (uint64_t)st.st_size, name);
	if (err)
		goto fail;
	r->spare = spare_new();         /* NULL: no buffer kept, no harm */
	*out = r;
	return 0;
fail:
	close(fd);
	free(r);
	return err;
}

void shmstat__snap_buf_free(struct shmstat_snap *s)
{
	struct shmstat__spare *sp = s->spare;

	/* total[] back to zeros where the sums wrote, for the next snapshot */
	for (size_t k = 0; s->total != NULL && k < s->sp.nrun; k++)
		if (s->sp.run[k].to <= s->ntotal)
			memset(s->total + s->sp.run[k].from, 0,
			       (size_t)(s->sp.run[k].to - s->sp.run[k].from) * sizeof(*s->total));
	if (sp != NULL) {
		pthread_mutex_lock(&sp->mu);
		/* kept only while the reader is open (it holds a ref) */
		if (sp->refs > 1 && sp->total == NULL && s->total != NULL) {
			sp->total = s->total;
			sp->total_bytes = s->total_bytes;
			s->total = NULL;
		}
		if (sp->refs > 1 && sp->dir.rec == NULL && s->dir.rec != NULL) {
			sp->dir = s->dir;
			memset(&s->dir, 0, sizeof(s->dir));
		}
		if (sp->refs > 1 && sp->sp.caprun == 0 && s->sp.caprun != 0) {
			shmstat__sparse_reset(&s->sp);
			sp->sp = s->sp;
			memset(&s->sp, 0, sizeof(s->sp));
		}
		if (sp->refs > 1 && sp->buf == NULL && s->buf != NULL) {
			sp->buf = s->buf;
			sp->len = s->size;
			free(sp->ext);
			sp->ext = s->cp.ext;
			sp->next = s->cp.next;
			s->cp.ext = NULL;
			s->cp.next = s->cp.capext = 0;
			s->buf = NULL;
		}
		pthread_mutex_unlock(&sp->mu);
	}
	shmstat__sparse_free(&s->sp);
	shmstat__mdir_free(&s->dir);
	if (s->total != NULL)
		shmstat__unmap_array(s->total, s->total_bytes);
	s->total = NULL;
	if (s->buf != NULL)
		munmap(s->buf, s->size);
	s->buf = NULL;
	spare_put(sp);
	s->spare = NULL;
}

/* Opening and closing a reader, as a snapshot (snapshot.c), are no
 * cancellation points: a cancel at the open's pread or the close's
 * close would leave the descriptor or the spare buffer behind. */
int shmstat_reader_open_opts(const char *name, const struct shmstat_reader_opts *o,
			     shmstat_reader **out)
{
	int cancel, err;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	err = reader_open(name, o, out);
	pthread_setcancelstate(cancel, NULL);
	return err;
}

void shmstat_reader_close(shmstat_reader *r)
{
	int cancel;

	if (r == NULL)
		return;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	close(r->fd);
	spare_put(r->spare);
	free(r);
	pthread_setcancelstate(cancel, NULL);
}

/* ---------------------------------------------------------------- copying */

static int read_seq(int fd, uint64_t *seq)
{
	return pread(fd, seq, 8, offsetof(struct shmstat_hdr, fold_seq)) == 8 ? 0 : -1;
}

/* The data extents of what a snapshot copies through them (the kernel
 * finds data and holes page by page, so a walk costs what it walks over:
 * only what is read is walked). The head: up to the signature tables
 * (header, processes, descriptors, stripe owners). Not the tables (read
 * whole where in use), nor what follows the stripes. */
static uint64_t head_end(const struct shmstat_hdr *rh)
{
	const uint64_t sbase = rh->regions[SHMSTAT_REG_STRIPES].off;
	const uint64_t sigbase = rh->regions[SHMSTAT_REG_SIGS].off;

	return sigbase < sbase ? sigbase : sbase;
}

/* The extents of [@pos, @end), part of the stripes (map_stripes()):
 * without @old, exact for the graves, windows of WINDOW bytes for the
 * others; with the @nold extents @old of an earlier pass, only the gaps
 * they leave, exactly (*@k: the first of @old that may matter, moved on;
 * ranges come in order). @whole: no walk, [@pos, @end) (or each gap) is
 * one extent, holes read as zeros: for the few short ranges of a subset,
 * where a walk from a hole would go on to the next data, however far
 * (SEEK_DATA on tmpfs looks at every page on the way). 0 or ENOMEM. */
static int map_range(struct copier *cp, uint64_t gend, uint64_t pos, uint64_t end,
		     const struct extent *old, size_t nold, size_t *k, bool whole)
{
	if (old == NULL) {
		if (whole)
			return shmstat__copier_add(cp, pos, end) != 0 ? ENOMEM : 0;
		if (pos < gend && shmstat__copier_map(cp, pos, end < gend ? end : gend) != 0)
			return ENOMEM;
		if (end > gend && shmstat__copier_map_windows(cp, pos > gend ? pos : gend, end,
							     WINDOW) != 0)
			return ENOMEM;
		return 0;
	}
	while (*k < nold && old[*k].end <= pos)
		(*k)++;
	for (;;) {
		const uint64_t gap_end = *k < nold && old[*k].start < end ? old[*k].start : end;

		if (gap_end > pos &&
		    (whole ? shmstat__copier_add(cp, pos, gap_end) :
		     shmstat__copier_map(cp, pos, gap_end)) != 0)
			return ENOMEM;
		if (*k >= nold || old[*k].start >= end)
			break;
		pos = old[*k].end;
		if (pos >= end)
			break;  /* old[k] may cover the next range too: kept */
		(*k)++;
	}
	return 0;
}

/* ... and of each run of stripes in use in the copy @buf, up to the
 * first @used slots of its last stripe: a segment's stripes not in use
 * cost no walk. One walk a run, not a stripe: a walk from a stripe that
 * is all holes goes on to the next data, past however many stripes.
 * When the reader wants a few metrics alone (@runs, @nrun: at most
 * SUBSET_RUNS runs, not the one run of every slot), of each stripe in use
 * only the slots of those, read whole, without a walk (one counter of 64
 * writers' segment: 130 short reads instead of 22,000 lseek calls over
 * every page of every stripe). Otherwise, without @old, the graves'
 * extents exact, the other stripes' as windows of WINDOW bytes
 * (shmstat__copier_map_windows(): those are copied sparse, and which of
 * their pages were holes is learnt from what the copy kept,
 * kept_extents()). With the @nold extents @old of an earlier pass
 * (sorted), only what they left out is walked, exactly (a page only
 * turns from a hole into data). Appended, in order. */
static int map_stripes(struct copier *cp, const struct shmstat_hdr *rh,
		       const unsigned char *buf, uint64_t used, const struct shmstat__run *runs,
		       size_t nrun, const struct extent *old, size_t nold)
{
	const uint64_t sbase = rh->regions[SHMSTAT_REG_STRIPES].off;
	const uint64_t gend = sbase + (uint64_t)SHMSTAT_GRAVES * rh->stripe_bytes;
	const bool every = nrun == 1 && runs[0].from == 0 && runs[0].to >= used;
	const bool few = !every && nrun <= SUBSET_RUNS;
	size_t k = 0;

	for (uint32_t i = 0; i < rh->nstripes; i++) {
		uint32_t j = i;
		uint64_t pos;

		if (!shmstat__stripe_in_use(rh, buf, i))
			continue;
		pos = sbase + (uint64_t)i * rh->stripe_bytes;
		if (few) {
			for (size_t r = 0; r < nrun; r++)
				if (runs[r].from < runs[r].to &&
				    map_range(cp, gend, pos + (uint64_t)runs[r].from * 8,
					      pos + (uint64_t)runs[r].to * 8, old, nold, &k,
					      true) != 0)
					return ENOMEM;
			continue;
		}
		while (j + 1 < rh->nstripes && shmstat__stripe_in_use(rh, buf, j + 1))
			j++;
		i = j;
		if (map_range(cp, gend, pos, sbase + (uint64_t)j * rh->stripe_bytes + used * 8,
			      old, nold, &k, false) != 0)
			return ENOMEM;
	}
	return 0;
}

/* After the first pass: the stripes' windows replaced by the pages it
 * kept values from, those of @sp (its runs in order, sparse.h). catch_up()
 * then walks the rest, holes then and pages of zeros, and reads what is
 * data now: what a writer stored in a hole after its window was read,
 * before a value the copy saw. Nothing is read twice: nothing was kept
 * from those pages. The graves' extents (before the stripes copied
 * sparse) stay. 0 or ENOMEM. */
static int kept_extents(struct copier *cp, struct shmstat__sparse *sp,
			const struct shmstat_hdr *rh)
{
	const uint64_t sbase = rh->regions[SHMSTAT_REG_STRIPES].off;
	const uint64_t gend = sbase + (uint64_t)SHMSTAT_GRAVES * rh->stripe_bytes;
	size_t k = 0, first;

	while (k < cp->next && cp->ext[k].end <= gend)
		k++;
	cp->next = first = k;
	shmstat__sparse_sort(sp);
	for (size_t r = 0; r < sp->nrun; r++) {
		const struct shmstat__srun *x = &sp->run[r];
		const uint64_t at = sbase + (uint64_t)x->stripe * rh->stripe_bytes;
		uint64_t a = (at + (uint64_t)x->from * 8) / SHMSTAT_PAGE * SHMSTAT_PAGE;
		const uint64_t b = (at + (uint64_t)x->to * 8 + SHMSTAT_PAGE - 1) / SHMSTAT_PAGE *
				   SHMSTAT_PAGE;

		if (a < gend)
			a = gend;       /* a page shared with a grave: its part */
		if (cp->next > first && a <= cp->ext[cp->next - 1].end) {
			if (b > cp->ext[cp->next - 1].end)
				cp->ext[cp->next - 1].end = b;
		} else if (shmstat__copier_add(cp, a, b) != 0) {
			return ENOMEM;
		}
	}
	return 0;
}

/* Huge pages for the copy buffer @buf where a data extent of the object
 * fills it, from extent @from on (the buffer advised MADV_NOHUGEPAGE
 * first: small pages elsewhere). */
static void advise_huge(unsigned char *buf, const struct copier *cp, size_t from)
{
	for (size_t k = from; k < cp->next; k++)
		shmstat__advise_huge(buf + cp->ext[k].start,
				     (size_t)(cp->ext[k].end - cp->ext[k].start));
}

/* Huge pages for the graves' slots in use, holes or not, in the copy
 * buffer @buf of @size bytes: every total reads the grave in use slot by
 * slot, and its holes (no writer died there) read as the huge zero page,
 * one fault for 512 pages; where a fold wrote data, one 2 MiB page. (A
 * segment of 100,000 counters and 300 histograms has 6.5 MB of slots:
 * 1,600 small pages, a fault each.) */
static void advise_graves(unsigned char *buf, size_t size, const struct shmstat_hdr *rh,
			  uint64_t used)
{
	const uint64_t from = rh->regions[SHMSTAT_REG_STRIPES].off;
	const uint64_t n = (uint64_t)(SHMSTAT_GRAVES - 1) * rh->stripe_bytes + used * 8;

	shmstat__advise_huge_in(buf + from, n, buf, buf + size);
}

bool shmstat__stripe_in_use(const struct shmstat_hdr *h, const unsigned char *buf, uint32_t i)
{
	const struct shmstat_proc *procs = (const void *)(buf + h->regions[SHMSTAT_REG_PROCS].off);
	const uint64_t *owners = (const void *)(buf + h->regions[SHMSTAT_REG_OWNERS].off);

	/* a reader counts the grave in use alone (grace.c: the other is
	 * being written, or stale) */
	if (i < SHMSTAT_GRAVES)
		return i == SHMSTAT_FOLD_ACTIVE(((const struct shmstat_hdr *)(const void *)buf)->fold_state);
	if (i < SHMSTAT_GRAVES + h->max_procs)
		return SHMSTAT_PROC_STATE(procs[i - SHMSTAT_GRAVES].word) != SHMSTAT_PROC_FREE;
	return SHMSTAT_STRIPE_HELD(owners[i]);
}

/* Does every extent of @prev (@np of them, sorted) that starts in [@lo,
 * @hi) lie in one of the copier's? With @buf, those in the stripes count
 * only in a stripe in use in the copy @buf (the others are cleared whole).
 * A buffer that held a copy with no extents known: no. */
static bool within(const struct extent *prev, size_t np, const struct copier *cp, uint64_t lo,
		   uint64_t hi, const struct shmstat_hdr *rh, const unsigned char *buf)
{
	const uint64_t sbase = rh->regions[SHMSTAT_REG_STRIPES].off;
	size_t j = 0;

	if (prev == NULL || np == 0)
		return false;
	for (size_t i = 0; i < np; i++) {
		if (prev[i].start < lo || prev[i].start >= hi)
			continue;
		if (buf != NULL && prev[i].start >= sbase &&
		    !shmstat__stripe_in_use(rh, buf, (uint32_t)((prev[i].start - sbase) /
							       rh->stripe_bytes)))
			continue;
		while (j < cp->next && cp->ext[j].end <= prev[i].start)
			j++;
		if (j == cp->next || cp->ext[j].start > prev[i].start ||
		    cp->ext[j].end < prev[i].end)
			return false;
	}
	return true;
}

/* The sorted union of @cp's extents and the @nb extents @b (sorted,
 * disjoint from them), as @cp's. 0 or ENOMEM. */
static int merge_extents(struct copier *cp, const struct extent *b, size_t nb)
{
	struct extent *a = cp->ext;
	const size_t na = a != NULL ? cp->next : 0;
	size_t i = 0, j = 0;
	int err = 0;

	if (b == NULL)
		nb = 0;
	cp->ext = NULL;
	cp->next = cp->capext = 0;
	while ((i < na || j < nb) && !err) {
		const struct extent *x = j == nb || (i < na && a[i].start < b[j].start) ? &a[i++] :
					 &b[j++];

		err = shmstat__copier_add(cp, x->start, x->end);
	}
	free(a);
	return err;
}

/* The extents again: of the runs @runs (@nrun) of each stripe in use,
 * what is data now and was a hole when the copy began is copied (into
 * the copy buffer for a grave, as runs into @sp for the others; what was
 * data is kept already: read twice, it would count twice). @cp's extents
 * are then those of the whole copy. 0 or an error of
 * shmstat__copy_read(). */
static int catch_up(struct copier *cp, unsigned char *buf, struct shmstat__sparse *sp,
		    const struct shmstat_hdr *rh, const struct shmstat__run *runs, size_t nrun,
		    uint64_t used)
{
	const uint64_t sbase = rh->regions[SHMSTAT_REG_STRIPES].off;
	struct extent *old = cp->ext;
	const size_t nold = cp->next;
	int err = 0;

	cp->ext = NULL;
	cp->next = cp->capext = 0;
	if (map_stripes(cp, rh, buf, used, runs, nrun, old, nold) != 0) {
		free(old);
		return ENOMEM;
	}
	for (size_t e = 0; e < cp->next && !err; e++) {
		const struct extent x = cp->ext[e];
		/* the stripes it overlaps (map_stripes() walked nothing else) */
		const uint32_t first = (uint32_t)((x.start - sbase) / rh->stripe_bytes);
		const uint32_t last = (uint32_t)((x.end - 1 - sbase) / rh->stripe_bytes);

		for (uint32_t i = first; i <= last && i < rh->nstripes && !err; i++) {
			const uint64_t off = sbase + (uint64_t)i * rh->stripe_bytes;

			if (!shmstat__stripe_in_use(rh, buf, i))
				continue;
			for (size_t k = 0; k < nrun && !err; k++) {
				const uint64_t a = off + (uint64_t)runs[k].from * 8;
				const uint64_t b = off + (uint64_t)runs[k].to * 8;
				const uint64_t lo = a > x.start ? a : x.start, hi = b < x.end ? b : x.end;

				if (lo >= hi)
					continue;
				if (i < SHMSTAT_GRAVES)
					err = shmstat__copy_read(cp, buf + lo, hi - lo, lo);
				else
					err = shmstat__copy_sparse(cp, sp, i,
								   (uint32_t)((lo - off) / 8),
								   hi - lo, lo);
			}
		}
	}
	/* the first pass's as they were (the next copy into this buffer
	 * checks them), and what turned into data since */
	if (!err && merge_extents(cp, old, nold) != 0)
		err = ENOMEM;
	free(old);
	return err;
}

/* Runs of slots closer than this are copied as one */
#define RUN_GAP 64u
/* More runs than this: the whole of each stripe is read (syscalls) */
#define MAX_RUNS 4096u

static int by_from(const void *a, const void *b)
{
	const struct shmstat__run *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

/* The value slots below @used of the metrics in the directory (those
 * the reader wants) as sorted runs in s->runs, *@n of them, runs closer
 * than RUN_GAP joined first (ten thousand counters registered one after
 * the other are one run); one run of every slot when more than MAX_RUNS
 * remain. 0 or ENOMEM. */
static int wanted_runs(struct shmstat_snap *s, uint32_t used, size_t *n)
{
	size_t k = 0;

	if (s->runs == NULL || s->capruns < s->dir.n) {
		const size_t cap = s->dir.n > 16 ? s->dir.n : 16;
		struct shmstat__run *x = realloc(s->runs, cap * sizeof(*x));

		if (x == NULL)
			return ENOMEM;
		s->runs = x;
		s->capruns = cap;
	}
	for (size_t i = 0; i < s->dir.n; i++) {
		const struct shmstat__rdesc *d = shmstat__mdir_desc(&s->dir, s->dir.at[i]);

		if (d->value_off >= used)
			continue;
		s->runs[k].from = d->value_off;
		s->runs[k].to = d->nvalues > used - d->value_off ? used : d->value_off + d->nvalues;
		k++;
	}
	qsort(s->runs, k, sizeof(*s->runs), by_from);
	*n = 0;
	for (size_t i = 0; i < k; i++) {
		struct shmstat__run *last = *n ? &s->runs[*n - 1] : NULL;

		if (last && s->runs[i].from <= last->to + RUN_GAP) {
			if (s->runs[i].to > last->to)
				last->to = s->runs[i].to;
		} else {
			s->runs[(*n)++] = s->runs[i];
		}
	}
	if (*n > MAX_RUNS) {
		s->runs[0] = (struct shmstat__run){ 0, used };
		*n = 1;
	}
	return 0;
}

/* Copy the segment between two equal readings of fold_seq: the tables
 * whole, then of each stripe in use the value slots allocated so far
 * (the grave in the copy buffer, the others as runs in s->sp), then the
 * signature summaries counted. Stripes nobody counts hold nothing. */
int shmstat__snap_copy(struct shmstat_reader *r, struct shmstat_snap *s)
{
	const struct shmstat_hdr *rh = &r->hdr;
	const uint64_t size = rh->total_size;
	const uint64_t sbase = rh->regions[SHMSTAT_REG_STRIPES].off;
	const uint64_t sigbase = rh->regions[SHMSTAT_REG_SIGS].off;
	const uint64_t dbase = rh->regions[SHMSTAT_REG_DESCS].off;
	const uint64_t dend = dbase + rh->regions[SHMSTAT_REG_DESCS].len;
	struct shmstat__run one, *runs;
	struct extent *prev = NULL;     /* a reused buffer's data extents */
	size_t nprev = 0;
	bool reused = false;
	size_t nrun;
	struct stat st;
	int err;

	/* parts nobody uses are not read: check the size itself */
	if (fstat(r->fd, &st) != 0 || (uint64_t)st.st_size < size)
		goto truncated;
	/* zeroed anonymous memory (huge pages only where the copy fills
	 * them: advise_huge() below); or the last snapshot's buffer, when it was given back: the pages
	 * it has are faulted in already. Its contents are the last copy's:
	 * where the object has data, this copy writes over them; where it
	 * has holes, they were holes then too (a page of the object only
	 * turns from a hole into data, segment.h), so zeros; what this copy
	 * does not read (stripes no longer in use) is cleared below */
	if (r->spare != NULL) {
		pthread_mutex_lock(&r->spare->mu);
		s->sp = r->spare->sp;
		memset(&r->spare->sp, 0, sizeof(r->spare->sp));
		s->total = r->spare->total;
		s->total_bytes = r->spare->total_bytes;
		r->spare->total = NULL;
		s->dir = r->spare->dir;
		memset(&r->spare->dir, 0, sizeof(r->spare->dir));
		if (r->spare->buf != NULL && r->spare->len == size) {
			s->buf = r->spare->buf;
			r->spare->buf = NULL;
			prev = r->spare->ext;
			nprev = r->spare->next;
			r->spare->ext = NULL;
			reused = true;
		}
		r->spare->refs++;
		s->spare = r->spare;
		pthread_mutex_unlock(&r->spare->mu);
	}
	if (s->buf == NULL)
		s->buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			      0);
	if (s->buf == MAP_FAILED) {
		s->buf = NULL;
		return shmstat__fail(ENOMEM, "out of memory copying segment '%s' (%llu bytes)",
				     r->name, (unsigned long long)size);
	}
	s->size = size;
	s->cp.fd = r->fd;
	s->cp.base = s->buf;
	s->cp.len = size;
	s->cp.max = r->max_copy;
	for (int t = 0; t < COPY_TRIES; t++) {
		const struct shmstat_hdr *h = (const void *)s->buf;
		uint64_t s1, s2, used, sdata;

		s->cp.copied = 0;
		s->cp.dirty = t > 0;
		/* each pread is a system call: the reads happen in program
		 * order. The tables up to the signature region first. */
		if (read_seq(r->fd, &s1) != 0)
			goto truncated;
		/* the seqlock reader: fold_seq, an acquire fence, the extents
		 * and the copy, an acquire fence, fold_seq again */
		shmstat__fence(__ATOMIC_ACQUIRE);
		/* what the object holds: its holes (pages nobody touched,
		 * segment.h) are not read. After fold_seq: a fold that makes
		 * a hole data after this moves fold_seq, and the copy is
		 * made again; a writer's first store into a hole meanwhile
		 * is as if made after the copy */
		s->cp.next = 0;
		if (shmstat__copier_map(&s->cp, 0, head_end(rh)) != 0) {
			err = ENOMEM;
			goto failed;
		}
		/* a reused buffer: its holes are zeros if every extent of data
		 * it holds is still data (pages only turn from holes into
		 * data; someone who truncated or punched the object undoes
		 * that); else clear them as they are read */
		if (reused && t == 0 && !within(prev, nprev, &s->cp, 0, head_end(rh), rh, NULL))
			s->cp.dirty = true;
		/* huge pages where the copy fills them whole (one fault for
		 * 512 pages: 100,000 descriptors are 51 MB of data), small
		 * ones elsewhere (a huge page is zeroed whole, however little
		 * of it the copy fills) */
		if (t == 0 && !reused) {
			madvise(s->buf, size, MADV_NOHUGEPAGE);
			advise_huge(s->buf, &s->cp, 0);
		}
		/* the tables up to the signature region, in order; the
		 * descriptors are checked as they are read, and only the live
		 * ones kept, in the directory (mdir.h), not in the buffer */
		err = shmstat__copy_read(&s->cp, s->buf, dbase, 0);
		if (!err)
			err = shmstat__mdir_read(&s->dir, &s->cp, rh, &s->sp.scratch, r->want,
						 r->want_arg);
		if (!err)
			err = shmstat__copy_read(&s->cp, s->buf + dend, sigbase - dend, dend);
		if (err)
			goto failed;
		shmstat__fence(__ATOMIC_ACQUIRE);
		used = h->values_used < rh->max_values ? h->values_used : rh->max_values;
		/* of each stripe, the slots of the metrics wanted */
		nrun = 1;
		one = (struct shmstat__run){ 0, (uint32_t)used };
		runs = &one;
		if (r->want != NULL) {
			err = wanted_runs(s, (uint32_t)used, &nrun);
			runs = s->runs;
			if (err)
				goto failed;
		}
		{
			const size_t nhead = s->cp.next;

			if (map_stripes(&s->cp, rh, s->buf, used, runs, nrun, NULL, 0) != 0) {
				err = ENOMEM;
				goto failed;
			}
			/* the most the stripes' copy can keep: its room at
			 * once (64 writers: 1 GB of small pages' faults and
			 * copies as it grew) */
			sdata = 0;
			for (size_t k = nhead; k < s->cp.next; k++)
				sdata += s->cp.ext[k].end - s->cp.ext[k].start;
			if (reused && t == 0 && !s->cp.dirty &&
			    !within(prev, nprev, &s->cp, head_end(rh), size, rh, s->buf))
				s->cp.dirty = true;
			if (t == 0 && !reused) {
				advise_huge(s->buf, &s->cp, nhead);
				advise_graves(s->buf, size, rh, used);
			}
		}
		free(prev);
		prev = NULL;
		SHMSTAT_HOOK(SHMSTAT_HOOK_COPY_EXTENTS, r);
		shmstat__sparse_reset(&s->sp);
		if (shmstat__sparse_reserve(&s->sp, (size_t)(sdata / 8)) != 0) {
			err = ENOMEM;
			goto failed;
		}
		for (uint32_t i = 0; i < rh->nstripes; i++) {
			uint64_t off = sbase + (uint64_t)i * rh->stripe_bytes;

			if (shmstat__stripe_in_use(rh, s->buf, i)) {
				/* the grave where it lies, the others sparse */
				for (size_t k = 0; k < nrun && !err; k++) {
					const uint64_t at = off + (uint64_t)runs[k].from * 8;
					const uint64_t n = (uint64_t)(runs[k].to - runs[k].from) * 8;

					err = i < SHMSTAT_GRAVES ?
					      shmstat__copy_read(&s->cp, s->buf + at, n, at) :
					      shmstat__copy_sparse(&s->cp, &s->sp, i, runs[k].from, n,
								   at);
				}
				if (err)
					goto failed;
			} else if (i < SHMSTAT_GRAVES && (t > 0 || reused)) {
				/* what an earlier copy left there */
				const bool was = s->cp.dirty;

				s->cp.dirty = true;
				shmstat__copier_zero(&s->cp, s->buf + off, used * 8);
				s->cp.dirty = was;
			}
		}
		if (kept_extents(&s->cp, &s->sp, rh) != 0) {
			err = ENOMEM;
			goto failed;
		}
		SHMSTAT_HOOK(SHMSTAT_HOOK_COPY_STRIPES, r);
		/* the types' data beyond the stripes (signature summaries) */
		s->rhdr = rh;
		for (const struct shmstat__type *const *ty = shmstat__types; *ty && !err; ty++)
			if ((*ty)->copy != NULL)
				err = (*ty)->copy(s);
		/* pages of the stripes that turned from holes into data while
		 * they were copied, read again now, last: a value a writer
		 * stored before another that the copy saw (a gauge's deltas
		 * in a thread stripe before its base in the process stripe, a
		 * histogram's bucket before its sum) is then seen too, as
		 * when every page was data and a later read saw later values */
		if (!err)
			err = catch_up(&s->cp, s->buf, &s->sp, rh, runs, nrun, used);
		/* what the types read again after it (a gauge's base and deltas) */
		for (const struct shmstat__type *const *ty = shmstat__types; *ty && !err; ty++)
			if ((*ty)->recheck != NULL)
				err = (*ty)->recheck(s);
		if (err)
			goto failed;
		shmstat__fence(__ATOMIC_ACQUIRE);
		if (read_seq(r->fd, &s2) != 0)
			goto truncated;
		if (s1 == s2) {
			if (shmstat__sparse_index(&s->sp, rh->nstripes) != 0) {
				err = ENOMEM;
				goto failed;
			}
			return 0;
		}
	}
	return shmstat__fail(SHMSTAT_EBUSY,
			     "segment '%s' kept changing under %d copies; try again", r->name,
			     COPY_TRIES);
failed:
	free(prev);
	if (err == ENOMEM)
		return shmstat__fail(ENOMEM, "out of memory copying segment '%s'", r->name);
	if (err == EFBIG)
		return shmstat__fail(EFBIG,
				     "segment '%s' needs more than %llu bytes copied, the reader's limit (max_copy); refusing it",
				     r->name, (unsigned long long)r->max_copy);
truncated:
	{
		free(prev);
		if (fstat(r->fd, &st) != 0)
			st.st_size = 0;
		return shmstat__fail(SHMSTAT_ETRUNCATED,
				     "segment '%s' was truncated while being read: %lld bytes, its header says %llu",
				     r->name, (long long)st.st_size, (unsigned long long)size);
	}
}

/* Did the name get re-created or removed since the reader opened it? */
int shmstat__snap_check_name(struct shmstat_reader *r, struct shmstat_snap *s)
{
	struct stat st;

	if (lstat(r->path, &st) != 0) {
		s->info.removed = 1;
		return 0;
	}
	if (st.st_dev != r->dev || st.st_ino != r->ino) {
		struct shmstat_hdr h;
		uint64_t gen = 0;
		int fd;

		if (!S_ISREG(st.st_mode))
			return shmstat__fail(SHMSTAT_ERECREATED,
					     "segment '%s' was replaced by something that is not a regular file",
					     r->name);
		/* the name may change again meanwhile: never wait on it (a
		 * FIFO), never read what is not a regular file */
		fd = open(r->path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0) {
			if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
			    pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h))
				gen = h.generation;
			close(fd);
		}
		return shmstat__fail(SHMSTAT_ERECREATED,
				     "segment '%s' was re-created (generation %016llx, now %016llx); reopen it",
				     r->name, (unsigned long long)r->hdr.generation,
				     (unsigned long long)gen);
	}
	return 0;
}

/* ----------------------------------------------------- for profile.c */

void shmstat__region_free(unsigned char *buf, uint64_t len)
{
	if (buf != NULL && len != 0)
		munmap(buf, len);
}

int shmstat__reader_region(struct shmstat_reader *r, const shmstat_snap *s, int region,
			   unsigned char **out, uint64_t *len)
{
	const struct shmstat_region *g;
	struct copier cp = { 0 };
	int err;

	*out = NULL;
	*len = 0;
	if (s->h->generation != r->hdr.generation)
		return shmstat__fail(EINVAL, "the snapshot is not of segment '%s' as opened",
				     r->name);
	if (region < 0 || (uint32_t)region >= r->hdr.nregions || region >= SHMSTAT_REG_COUNT)
		return 0;               /* an older segment: no such region */
	g = &r->hdr.regions[region];   /* checked against the size at open */
	if (g->len == 0)
		return 0;
	/* zeros, of which only what the object holds is written, up to the
	 * reader's limit: pages of our own (calloc() writes every page when
	 * MALLOC_PERTURB_ is set, 512 MiB for a sparse stack table) */
	*out = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*out == MAP_FAILED || *out == NULL) {       /* NULL: never, for the analyzer */
		*out = NULL;
		return shmstat__fail(ENOMEM, "out of memory reading segment '%s' (%llu bytes)",
				     r->name, (unsigned long long)g->len);
	}
	cp.fd = r->fd;
	cp.base = *out;
	cp.len = g->len;
	cp.max = r->max_copy;
	err = shmstat__copier_map(&cp, g->off, g->off + g->len);
	if (err == 0)
		err = shmstat__copy_read(&cp, *out, g->len, g->off);
	free(cp.ext);
	if (err) {
		shmstat__region_free(*out, g->len);
		*out = NULL;
		if (err == ENOMEM)
			return shmstat__fail(ENOMEM, "out of memory reading segment '%s'", r->name);
		if (err == EFBIG)
			return shmstat__fail(EFBIG,
					     "segment '%s' needs more than %llu bytes copied, the reader's limit (max_copy); refusing it",
					     r->name, (unsigned long long)r->max_copy);
		return shmstat__fail(SHMSTAT_ETRUNCATED, "segment '%s' was truncated while being read",
				     r->name);
	}
	*len = g->len;
	return 0;
}
