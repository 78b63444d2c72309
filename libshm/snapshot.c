/*
 * snapshot.c - the reader: copy a segment, validate it, compute values.
 *
 * The reader trusts nothing in the segment. It opens the object O_RDONLY
 * and copies it with pread(2), so a segment truncated underneath gives a
 * short read instead of a SIGBUS. The copy is bracketed by two reads of
 * fold_seq (see grace.h); a copy that raced with a fold is redone, a
 * bounded number of times. Every offset, length, count and string in the
 * copy is checked before use, and every loop is bounded by a capacity the
 * header validation already limited.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmstat.h"
#include "grace.h"
#include "histogram.h"
#include "sigmerge.h"
#include "sigtable.h"
#include "stacks.h"
#include "procs.h"
#include "registry.h"
#include "segment.h"

#define COPY_TRIES 32

struct shmstat_reader {
	char name[SHMSTAT_NAME_MAX + 1];
	char path[SHMSTAT_PATH_MAX + 16];
	int fd;
	dev_t dev;
	ino_t ino;
	uid_t uid;
	mode_t mode;
	uint64_t max_copy;         /* bytes a copy may read, in pages */
	struct shmstat_hdr hdr;    /* validated at open */
};

struct msnap {
	uint32_t desc;             /* descriptor index */
	uint64_t counter;
	int64_t gauge;
	int has_value;
};

struct psnap {
	uint32_t slot;
	int alive;
	uint32_t stripes;
};

/* A run of data in the object, [start, end): what is not in one is a
 * hole and reads as zeros. */
struct extent {
	uint64_t start, end;
};

/* How a reader copies: only the data extents of the object (a sparse
 * object whose header claims gigabytes costs what it holds), at most
 * @max bytes (counted in whole pages of the destination) per copy. */
struct copier {
	int fd;
	struct extent *ext;        /* sorted, disjoint */
	size_t next, capext;
	uint64_t copied, max;
	unsigned char *base;       /* the copy buffer (anonymous memory) */
	uint64_t len;
	bool dirty;                /* holes of base must be zeroed: reused */
};

struct shmstat_snap {
	unsigned char *buf;
	uint64_t size;
	const struct shmstat_hdr *h;
	const struct shmstat_proc *procs;
	const struct shmstat_desc *descs;
	const uint64_t *owners;
	const unsigned char *stripes;
	const uint64_t *grave;
	uint32_t skip_proc;        /* slot whose stripes are already in grave */
	struct shmstat_seg_info info;
	size_t nm, np;
	struct msnap *m;
	struct psnap *p;
	uint32_t *owner_of;        /* per stripe: index into p[], or UINT32_MAX */
	const unsigned char *sigs; /* the sigs region */
	uint64_t sig_lines;
	struct sumcopy *sc;        /* signature-table summaries copied */
	size_t nsc, capsc;
	/* while copying: the object's data extents, the bytes read so far
	 * in this copy (whole pages) */
	struct copier cp;
};


/* A summary of a signature table, copied: @n entries, those torn in every
 * read marked in @skip. */
struct sumcopy {
	uint32_t desc, sum, n;
	uint8_t *skip;
};

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
	for (unsigned i = 0; i < o->nowners && i < SHMSTAT_READER_MAX_OWNERS; i++)
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
	if (st->st_nlink != 1)
		return shmstat__fail(SHMSTAT_EOWNER, "segment '%s' has %lu hard links; refusing it",
				     name, (unsigned long)st->st_nlink);
	if (st->st_mode & 0022)
		return shmstat__fail(SHMSTAT_EOWNER,
				     "segment '%s' is writable by group or others (mode %04o); refusing it",
				     name, (unsigned)(st->st_mode & 07777));
	return 0;
}

int shmstat_reader_open(const char *name, shmstat_reader **out)
{
	return shmstat_reader_open_opts(name, NULL, out);
}

int shmstat_reader_open_opts(const char *name, const struct shmstat_reader_opts *o,
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
		return shmstat__fail(ENOMEM, "out of memory");
	}
	r->fd = fd;
	r->max_copy = o->max_copy ? o->max_copy : SHMSTAT_READER_MAX_COPY;
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
	*out = r;
	return 0;
fail:
	close(fd);
	free(r);
	return err;
}

void shmstat_reader_close(shmstat_reader *r)
{
	if (r == NULL)
		return;
	close(r->fd);
	free(r);
}

/* -------------------------------------------------------------- snapshot */

void shmstat_snap_free(shmstat_snap *s)
{
	if (s == NULL)
		return;
	if (s->buf)
		munmap(s->buf, s->size);
	free(s->m);
	free(s->p);
	free(s->owner_of);
	for (size_t i = 0; i < s->nsc; i++)
		free(s->sc[i].skip);
	free(s->sc);
	free(s->cp.ext);
	free(s);
}

static int read_seq(int fd, uint64_t *seq)
{
	return pread(fd, seq, 8, offsetof(struct shmstat_hdr, fold_seq)) == 8 ? 0 : -1;
}

/* At most this many extents are kept; past them the rest of the object
 * counts as data (an object cut into this many pieces holds at least as
 * many pages). */
#define MAX_EXTENTS 65536u

static int add_extent(struct copier *cp, uint64_t start, uint64_t end)
{
	if (cp->next == cp->capext) {
		size_t cap = cp->capext ? 2 * cp->capext : 8;
		struct extent *e = realloc(cp->ext, cap * sizeof(*e));

		if (e == NULL)
			return ENOMEM;
		cp->ext = e;
		cp->capext = cap;
	}
	cp->ext[cp->next].start = start;
	cp->ext[cp->next].end = end;
	cp->next++;
	return 0;
}

/* The data extents of the object's first @size bytes, by SEEK_DATA and
 * SEEK_HOLE (tmpfs has them; a file system without them gives all data).
 * A shmstat writer allocates every page at creation: one extent. 0 or
 * ENOMEM. */
static int map_extents(struct copier *cp, uint64_t size)
{
	uint64_t pos = 0;

	cp->next = 0;
	while (pos < size) {
		off_t d = lseek(cp->fd, (off_t)pos, SEEK_DATA), h;

		if (d < 0 && errno == ENXIO)
			break;                          /* holes to the end */
		if (d < 0)
			return add_extent(cp, pos, size);
		if ((uint64_t)d >= size)
			break;
		h = lseek(cp->fd, d, SEEK_HOLE);
		if (h < 0 || (uint64_t)h > size || cp->next + 1 >= MAX_EXTENTS)
			h = (off_t)size;
		if ((uint64_t)h <= (uint64_t)d)
			return add_extent(cp, (uint64_t)d, size);
		if (add_extent(cp, (uint64_t)d, (uint64_t)h) != 0)
			return ENOMEM;
		pos = (uint64_t)h;
	}
	return 0;
}

/* Zeros at @p, @n bytes: whole pages of the copy buffer are given back
 * (they read as zeros and take no memory), the rest is cleared. */
static void zero_hole(struct copier *cp, unsigned char *p, uint64_t n)
{
	const uintptr_t a = (uintptr_t)p, b = a + n;
	const uintptr_t pa = (a + SHMSTAT_PAGE - 1) & ~(uintptr_t)(SHMSTAT_PAGE - 1);
	const uintptr_t pb = b & ~(uintptr_t)(SHMSTAT_PAGE - 1);

	if (cp->base && p >= cp->base && n <= cp->len - (uint64_t)(p - cp->base)) {
		if (!cp->dirty)
			return;                 /* still as mapped: zeros */
		/* the page-aligned addresses as offsets from @p: no integer
		 * becomes a pointer */
		if (pb > pa && madvise(p + (pa - a), pb - pa, MADV_DONTNEED) == 0) {
			memset(p, 0, pa - a);
			memset(p + (pb - a), 0, b - pb);
			return;
		}
	}
	memset(p, 0, (size_t)n);
}

/* Read [@off, @off + @n) of the object into @p: its data with pread, its
 * holes as zeros, counting the pages written against the limit. 0, -1 on
 * a short read (truncated) or EFBIG past the limit. */
static int read_full(struct copier *cp, unsigned char *p, uint64_t n, uint64_t off)
{
	const uint64_t end = off + n;
	size_t lo = 0, hi = cp->next;

	/* the first extent that ends after @off */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp->ext[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (off < end) {
		uint64_t ds = end, de = end;

		if (lo < cp->next && cp->ext[lo].start < end) {
			ds = cp->ext[lo].start > off ? cp->ext[lo].start : off;
			de = cp->ext[lo].end < end ? cp->ext[lo].end : end;
		}
		if (ds > off)
			zero_hole(cp, p, ds - off);
		if (de > ds) {
			const uintptr_t a = (uintptr_t)(p + (ds - off));
			const uint64_t span = ((a + (de - ds) + SHMSTAT_PAGE - 1) -
					       (a & ~(uintptr_t)(SHMSTAT_PAGE - 1))) /
					      SHMSTAT_PAGE * SHMSTAT_PAGE;

			if (span > cp->max || cp->copied > cp->max - span)
				return EFBIG;
			cp->copied += span;
			if (shmstat__pread_full(cp->fd, p + (ds - off), (size_t)(de - ds), ds) !=
			    (ssize_t)(de - ds))
				return -1;
		}
		p += de - off;
		off = de;
		lo++;
	}
	return 0;
}

/* Does stripe @i hold values anybody counts, as the copied tables say? */
static bool stripe_in_use(const struct shmstat_hdr *h, const unsigned char *buf, uint32_t i)
{
	const struct shmstat_proc *procs = (const void *)(buf + h->regions[SHMSTAT_REG_PROCS].off);
	const uint64_t *owners = (const void *)(buf + h->regions[SHMSTAT_REG_OWNERS].off);
	uint32_t st;

	if (i < SHMSTAT_GRAVES)
		return true;
	if (i < SHMSTAT_GRAVES + h->max_procs)
		return SHMSTAT_PROC_STATE(procs[i - SHMSTAT_GRAVES].word) != SHMSTAT_PROC_FREE;
	st = SHMSTAT_STRIPE_STATE(owners[i]);
	return st == SHMSTAT_STRIPE_OWNED || st == SHMSTAT_STRIPE_IDLE;
}

/* ------------------------------------------------- signature summaries */

/* The table of descriptor @d, as copied, if its shape and run are sound:
 * its run's offset in the segment into *@run. */
static bool sig_table_ok(const struct shmstat_hdr *h, const struct shmstat_desc *d,
			 uint64_t *run)
{
	const uint64_t lines = h->regions[SHMSTAT_REG_SIGS].len / SHMSTAT_LINE;

	if (!shmstat__sig_shape_ok(d->sig_capacity, d->sig_keybytes, d->sig_owners, d->sig_pool) ||
	    d->sig_first > lines ||
	    shmstat__sig_lines(d->sig_capacity, d->sig_keybytes, d->sig_owners, d->sig_pool) >
	    lines - d->sig_first)
		return false;
	*run = h->regions[SHMSTAT_REG_SIGS].off + (uint64_t)d->sig_first * SHMSTAT_LINE;
	return true;
}

static int add_sumcopy(struct shmstat_snap *s, const struct sumcopy *c)
{
	if (s->nsc == s->capsc) {
		size_t cap = s->capsc ? 2 * s->capsc : 16;
		struct sumcopy *sc = realloc(s->sc, cap * sizeof(*sc));

		if (sc == NULL)
			return -1;
		s->sc = sc;
		s->capsc = cap;
	}
	s->sc[s->nsc++] = *c;
	return 0;
}

/* Copy summary @k of the table with run @run and geometry @g into the
 * buffer: its header, then of its first `used` entries their gens, the
 * entries, the key records (and a grave's counters), their gens again,
 * and the header again (its floor: it only grows, and must cover what
 * the entries no longer hold). An entry whose gen was odd or changed
 * is read again alone, a few times, then left out. 0, -1 (truncated),
 * EFBIG (past the copy limit) or ENOMEM. */
static int copy_summary(struct shmstat_snap *s, uint32_t desc, uint64_t sums,
			 const struct shmstat_sumgeo *g, uint32_t k, bool grave)
{
	const uint64_t off = sums + (uint64_t)k * g->bytes;
	struct shmstat_sigsum *hdr = (struct shmstat_sigsum *)(void *)(s->buf + off);
	struct shmstat_sigent *ents = (struct shmstat_sigent *)(void *)(s->buf + off + g->off_ents);
	struct shmstat_sigent *other = NULL;
	uint32_t *before = NULL;
	struct sumcopy c = { .desc = desc, .sum = k };
	uint64_t floor, wmax;
	int err;

	err = read_full(&s->cp, (unsigned char *)hdr, sizeof(*hdr), off);
	if (err)
		return err;
	shmstat__fence(__ATOMIC_ACQUIRE);
	c.n = hdr->used < g->capacity ? (uint32_t)hdr->used : g->capacity;
	if (c.n) {
		const uint64_t eb = (uint64_t)c.n * sizeof(*ents);

		/* a seqlock of each entry: its gen before (a pass of its
		 * own: one pread copies in no promised order), its fields
		 * and key, its gen after */
		other = malloc((size_t)eb);
		before = malloc((size_t)c.n * sizeof(*before));
		c.skip = calloc(c.n, 1);
		if (other == NULL || before == NULL || c.skip == NULL) {
			err = ENOMEM;
			goto fail;
		}
		if ((err = read_full(&s->cp, (unsigned char *)other, eb, off + g->off_ents)) != 0)
			goto fail;
		for (uint32_t j = 0; j < c.n; j++)
			before[j] = other[j].gen;
		shmstat__fence(__ATOMIC_ACQUIRE);
		if ((err = read_full(&s->cp, (unsigned char *)ents, eb, off + g->off_ents)) != 0)
			goto fail;
		/* an entry's flags say its key is there: the key after */
		shmstat__fence(__ATOMIC_ACQUIRE);
		if ((err = read_full(&s->cp, s->buf + off + g->off_keys,
				     (uint64_t)c.n * g->keyrec, off + g->off_keys)) != 0 ||
		    (grave && (err = read_full(&s->cp, s->buf + off + sizeof(*hdr),
					       (uint64_t)c.n * 8, off + sizeof(*hdr))) != 0))
			goto fail;
		shmstat__fence(__ATOMIC_ACQUIRE);
		if ((err = read_full(&s->cp, (unsigned char *)other, eb, off + g->off_ents)) != 0)
			goto fail;
	}
	for (uint32_t j = 0; j < c.n; j++) {
		const uint64_t eo = off + g->off_ents + (uint64_t)j * sizeof(*ents);
		const uint64_t ko = off + g->off_keys + (uint64_t)j * g->keyrec;
		uint32_t gen = before[j];
		int t;

		if (gen == other[j].gen && !(gen & 1u))
			continue;
		/* being given a key: again alone, gen, entry and key, gen */
		for (t = 0; t < 4; t++) {
			struct shmstat_sigent e2;

			sched_yield();
			if ((err = read_full(&s->cp, (unsigned char *)&e2, sizeof(e2), eo)) != 0)
				goto fail;
			gen = e2.gen;
			shmstat__fence(__ATOMIC_ACQUIRE);
			if ((err = read_full(&s->cp, s->buf + eo, sizeof(*ents), eo)) != 0)
				goto fail;
			shmstat__fence(__ATOMIC_ACQUIRE);
			if ((err = read_full(&s->cp, s->buf + ko, g->keyrec, ko)) != 0)
				goto fail;
			shmstat__fence(__ATOMIC_ACQUIRE);
			if ((err = read_full(&s->cp, (unsigned char *)&e2, sizeof(e2), eo)) != 0)
				goto fail;
			if (e2.gen == gen && !(gen & 1u))
				break;
		}
		c.skip[j] = t == 4;
	}
	free(other);
	free(before);
	other = NULL;
	before = NULL;
	/* the floor as it is now: at least what it was when the entries
	 * were read */
	shmstat__fence(__ATOMIC_ACQUIRE);
	{
		uint64_t fw[2];     /* floor and wmax lie side by side */

		static_assert(offsetof(struct shmstat_sigsum, wmax) ==
			      offsetof(struct shmstat_sigsum, floor) + 8, "floor, wmax");
		if ((err = read_full(&s->cp, (unsigned char *)fw, sizeof(fw),
				     off + offsetof(struct shmstat_sigsum, floor))) != 0)
			goto fail;
		floor = fw[0];
		wmax = fw[1];
	}
	if (floor > hdr->floor)
		hdr->floor = floor;
	if (wmax > hdr->wmax)
		hdr->wmax = wmax;
	if (add_sumcopy(s, &c) != 0) {
		err = ENOMEM;
		goto fail;
	}
	return 0;
fail:
	free(other);
	free(before);
	free(c.skip);
	return err;
}

/* The summaries of every signature table that readers count: the grave
 * in use, and those owned by stripes in use. */
static int copy_sigs(struct shmstat_reader *r, struct shmstat_snap *s)
{
	const struct shmstat_hdr *h = (const void *)s->buf;
	const struct shmstat_desc *descs = (const void *)(s->buf + h->regions[SHMSTAT_REG_DESCS].off);
	const uint32_t active = SHMSTAT_FOLD_ACTIVE(h->fold_state);

	for (size_t i = 0; i < s->nsc; i++)
		free(s->sc[i].skip);
	s->nsc = 0;
	for (uint32_t d = 0; d < r->hdr.max_metrics; d++) {
		const struct shmstat_desc *desc = &descs[d];
		struct shmstat_sumgeo g;
		const uint64_t *claims;
		uint64_t run, head;
		int err;

		if (SHMSTAT_DESC_STATE(desc->word) != SHMSTAT_DESC_LIVE ||
		    desc->type != SHMSTAT_SIGTABLE || !sig_table_ok(&r->hdr, desc, &run))
			continue;
		shmstat__sumgeo(&g, desc->sig_capacity, desc->sig_keybytes);
		/* the claims and the owner slots, in one read */
		head = (shmstat__sig_claim_lines(desc->sig_pool) +
			shmstat__sig_owner_lines(desc->sig_owners)) * SHMSTAT_LINE;
		err = read_full(&s->cp, s->buf + run, head, run);
		if (err)
			return err;
		claims = (const uint64_t *)(const void *)(s->buf + run);
		err = copy_summary(s, d, run + head, &g, active, true);
		for (uint32_t k = 0; !err && k < desc->sig_pool; k++) {
			const uint64_t w = claims[k];

			if (SHMSTAT_SUM_STATE(w) != SHMSTAT_SUM_OWNED ||
			    SHMSTAT_SUM_STRIPE(w) >= r->hdr.nstripes ||
			    !stripe_in_use(&r->hdr, s->buf, SHMSTAT_SUM_STRIPE(w)))
				continue;
			err = copy_summary(s, d, run + head, &g, SHMSTAT_SIG_GRAVES + k, false);
		}
		if (err)
			return err;
	}
	return 0;
}

/* Copy the segment between two equal readings of fold_seq: the tables
 * whole, then of each stripe in use the value slots allocated so far,
 * then the signature summaries counted. Stripes nobody counts stay zero
 * in the copy. */
static int copy_segment(struct shmstat_reader *r, struct shmstat_snap *s)
{
	const struct shmstat_hdr *rh = &r->hdr;
	const uint64_t size = rh->total_size;
	const uint64_t sbase = rh->regions[SHMSTAT_REG_STRIPES].off;
	const uint64_t sigbase = rh->regions[SHMSTAT_REG_SIGS].off;
	struct stat st;
	int err;

	/* parts nobody uses are not read: check the size itself */
	if (fstat(r->fd, &st) != 0 || (uint64_t)st.st_size < size)
		goto truncated;
	/* zeroed anonymous memory; very large copies on huge pages, where
	 * the kernel allows (fewer page faults). Not smaller ones: a huge
	 * page is zeroed whole however little of it the copy touches, which
	 * made up a third of the CPU of a reader snapshotting a smaller segment
	 * at 100 Hz (bench_soak: 1.24 ms a snapshot with them from 4 MiB,
	 * 0.65 ms from 32 MiB, 2026-11-22) */
	s->buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
		uint64_t s1, s2, used;

		/* what the object holds: its holes are not read. A writer
		 * allocates every page, so this is one extent */
		if (map_extents(&s->cp, size) != 0)
			return shmstat__fail(ENOMEM, "out of memory copying segment '%s'", r->name);
		if (t == 0 && size >= (UINT64_C(32) << 20) &&
		    (s->cp.next != 1 || s->cp.ext[0].start != 0 || s->cp.ext[0].end != size))
			madvise(s->buf, size, MADV_NOHUGEPAGE);  /* pages as read */
		else if (t == 0 && size >= (UINT64_C(32) << 20))
			madvise(s->buf, size, MADV_HUGEPAGE);
		s->cp.copied = 0;
		s->cp.dirty = t > 0;
		/* each pread is a system call: the reads happen in program
		 * order. The tables up to the signature region first. */
		if (read_seq(r->fd, &s1) != 0)
			goto truncated;
		/* the seqlock reader: fold_seq, an acquire fence, the copy,
		 * an acquire fence, fold_seq again */
		shmstat__fence(__ATOMIC_ACQUIRE);
		err = read_full(&s->cp, s->buf, sigbase, 0);
		if (err)
			goto failed;
		shmstat__fence(__ATOMIC_ACQUIRE);
		used = h->values_used < rh->max_values ? h->values_used : rh->max_values;
		for (uint32_t i = 0; i < rh->nstripes; i++) {
			uint64_t off = sbase + (uint64_t)i * rh->stripe_bytes;

			if (stripe_in_use(rh, s->buf, i)) {
				err = read_full(&s->cp, s->buf + off, used * 8, off);
				if (err)
					goto failed;
			} else if (t > 0) {
				zero_hole(&s->cp, s->buf + off, used * 8);
			}
		}
		err = copy_sigs(r, s);
		if (err)
			goto failed;
		shmstat__fence(__ATOMIC_ACQUIRE);
		if (read_seq(r->fd, &s2) != 0)
			goto truncated;
		if (s1 == s2)
			return 0;
	}
	return shmstat__fail(SHMSTAT_EBUSY,
			     "segment '%s' kept changing under %d copies; try again", r->name,
			     COPY_TRIES);
failed:
	if (err == ENOMEM)
		return shmstat__fail(ENOMEM, "out of memory copying segment '%s'", r->name);
	if (err == EFBIG)
		return shmstat__fail(EFBIG,
				     "segment '%s' needs more than %llu bytes copied, the reader's limit (max_copy); refusing it",
				     r->name, (unsigned long long)r->max_copy);
truncated:
	{
		if (fstat(r->fd, &st) != 0)
			st.st_size = 0;
		return shmstat__fail(SHMSTAT_ETRUNCATED,
				     "segment '%s' was truncated while being read: %lld bytes, its header says %llu",
				     r->name, (long long)st.st_size, (unsigned long long)size);
	}
}

/* Did the name get re-created or removed since the reader opened it? */
static int check_name(struct shmstat_reader *r, struct shmstat_snap *s)
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

static const uint64_t *stripe_at(const struct shmstat_snap *s, uint32_t i)
{
	return (const uint64_t *)(const void *)(s->stripes + (size_t)i * s->h->stripe_bytes);
}

static bool str_ok(const char *p, size_t cap)
{
	return memchr(p, '\0', cap) != NULL;
}

/* A descriptor from the copy may be torn if it was published during the
 * copy; re-read it alone (bounded) before giving up on it. */
static bool desc_valid(struct shmstat_reader *r, struct shmstat_snap *s, uint32_t i)
{
	struct shmstat_desc *d = (struct shmstat_desc *)(void *)&s->descs[i];
	const uint64_t off = r->hdr.regions[SHMSTAT_REG_DESCS].off + (uint64_t)i * sizeof(*d);

	for (int t = 0; t < 4 && !shmstat__desc_ok(d); t++) {
		if (pread(r->fd, d, sizeof(*d), (off_t)off) != (ssize_t)sizeof(*d))
			return false;
	}
	if (SHMSTAT_DESC_STATE(d->word) != SHMSTAT_DESC_LIVE || !shmstat__desc_ok(d))
		return false;
	if (!str_ok(d->name, sizeof(d->name)) || !str_ok(d->labels, sizeof(d->labels)) ||
	    !str_ok(d->unit, sizeof(d->unit)) || !str_ok(d->help, sizeof(d->help)))
		return false;
	/* the writer's name and label rules: nothing else reaches an exposition */
	if (!shmstat__desc_text_ok(d))
		return false;
	if (d->type == SHMSTAT_COUNTER) {
		if (d->nvalues != 1)
			return false;
	} else if (d->type == SHMSTAT_GAUGE) {
		if (d->nvalues != SHMSTAT_GAUGE_SLOTS || d->agg > SHMSTAT_AGG_LIVELAST)
			return false;
	} else if (d->type == SHMSTAT_SIGTABLE) {
		uint64_t run;

		if (d->nvalues != SHMSTAT_S_NVALUES(d->sig_owners) || !sig_table_ok(s->h, d, &run))
			return false;
	} else if (d->type == SHMSTAT_HISTOGRAM) {
		if (d->bits < SHMSTAT_HIST_MIN_BITS || d->bits > SHMSTAT_HIST_MAX_BITS ||
		    d->lowest > d->highest ||
		    d->nvalues != (uint64_t)shmstat__nbuckets(d->bits, d->highest) + SHMSTAT_H_FIRST)
			return false;
	} else {
		return false;
	}
	return shmstat__fits(d->value_off, d->nvalues, s->h->max_values);
}

/* Which slots hold processes, and which stripes belong to which. */
static int scan_procs(struct shmstat_snap *s)
{
	const struct shmstat_hdr *h = s->h;

	s->p = calloc(h->max_procs, sizeof(*s->p));
	s->owner_of = malloc((size_t)h->nstripes * sizeof(*s->owner_of));
	if (s->p == NULL || s->owner_of == NULL)
		return shmstat__fail(ENOMEM, "out of memory");
	{
		uint32_t *idx = malloc(h->max_procs * sizeof(*idx));

		if (idx == NULL)
			return shmstat__fail(ENOMEM, "out of memory");
		for (uint32_t i = 0; i < h->max_procs; i++) {
			const struct shmstat_proc *p = &s->procs[i];
			uint32_t st = SHMSTAT_PROC_STATE(p->word);

			idx[i] = UINT32_MAX;
			if (i == s->skip_proc ||
			    (st != SHMSTAT_PROC_LIVE && st != SHMSTAT_PROC_EXITED))
				continue;
			s->p[s->np].slot = i;
			s->p[s->np].alive = st == SHMSTAT_PROC_LIVE &&
				shmstat__tag_alive(p->word);
			if (s->p[s->np].alive)
				s->info.writers_alive++;
			else
				s->info.writers_dead++;
			idx[i] = (uint32_t)s->np++;
		}
		for (uint32_t i = 0; i < h->nstripes; i++) {
			uint64_t w = s->owners[i];
			uint32_t st = SHMSTAT_STRIPE_STATE(w), p = SHMSTAT_STRIPE_PROC(w);

			s->owner_of[i] = UINT32_MAX;
			if (i >= SHMSTAT_GRAVES && i < SHMSTAT_GRAVES + h->max_procs) {
				s->owner_of[i] = idx[i - SHMSTAT_GRAVES];
				continue;
			}
			if ((st == SHMSTAT_STRIPE_OWNED || st == SHMSTAT_STRIPE_IDLE) &&
			    p < h->max_procs) {
				s->owner_of[i] = idx[p];
				if (idx[p] != UINT32_MAX) {
					s->p[idx[p]].stripes++;
					s->info.stripes_owned++;
				}
			}
		}
		free(idx);
	}
	return 0;
}

/* Sum of value slot @v over the stripes of process index @j (or all
 * processes when @j is UINT32_MAX). */
static uint64_t sum_stripes(const struct shmstat_snap *s, uint32_t v, uint32_t j)
{
	uint64_t t = 0;

	for (uint32_t i = SHMSTAT_GRAVES; i < s->h->nstripes; i++) {
		uint32_t o = s->owner_of[i];

		if (o != UINT32_MAX && (j == UINT32_MAX || o == j))
			t += stripe_at(s, i)[v];
	}
	return t;
}

/* Process @j's value of the gauge at slot @off and its stamp. */
static int64_t gauge_of(const struct shmstat_snap *s, uint32_t off, uint32_t j, uint64_t *stamp)
{
	const uint64_t *ps = stripe_at(s, SHMSTAT_PROC_STRIPE(s->p[j].slot));

	*stamp = ps[off + 2];
	return (int64_t)(ps[off + 1] + sum_stripes(s, off, j));
}

/* Values recorded in histogram @d by process index @j (UINT32_MAX: all,
 * with the grave). */
static uint64_t hist_count(const struct shmstat_snap *s, const struct shmstat_desc *d, uint32_t j)
{
	const uint32_t from = d->value_off + SHMSTAT_H_UNDER, to = d->value_off + d->nvalues;
	uint64_t c = 0;

	if (j == UINT32_MAX)
		for (uint32_t v = from; v < to; v++)
			c += s->grave[v];
	for (uint32_t i = SHMSTAT_GRAVES; i < s->h->nstripes; i++) {
		const uint64_t *st;
		uint32_t o = s->owner_of[i];

		if (o == UINT32_MAX || (j != UINT32_MAX && o != j))
			continue;
		st = stripe_at(s, i);
		for (uint32_t v = from; v < to; v++)
			c += st[v];
	}
	return c;
}

static void compute(struct shmstat_snap *s, struct msnap *m)
{
	const struct shmstat_desc *d = &s->descs[m->desc];
	const uint32_t off = d->value_off;

	if (d->type == SHMSTAT_HISTOGRAM) {
		m->counter = hist_count(s, d, UINT32_MAX);
		m->has_value = 1;
		return;
	}
	if (d->type == SHMSTAT_SIGTABLE) {
		/* its hits, all keys */
		m->counter = s->grave[off + SHMSTAT_S_HITS] +
			     sum_stripes(s, off + SHMSTAT_S_HITS, UINT32_MAX);
		m->has_value = 1;
		return;
	}
	if (d->type == SHMSTAT_COUNTER) {
		m->counter = s->grave[off] + sum_stripes(s, off, UINT32_MAX);
		m->has_value = 1;
		return;
	}
	{
		uint64_t g[3] = { s->grave[off], s->grave[off + 1], s->grave[off + 2] };
		const bool live = d->agg >= SHMSTAT_AGG_LIVESUM;

		if (live)
			g[0] = g[1] = g[2] = 0;
		for (uint32_t j = 0; j < s->np; j++) {
			uint64_t stamp;
			int64_t v = gauge_of(s, off, j, &stamp);

			if (live && !s->p[j].alive)
				continue;
			shmstat__gauge_merge(d->agg, g, v, stamp);
		}
		if (d->agg == SHMSTAT_AGG_SUM || d->agg == SHMSTAT_AGG_LIVESUM) {
			m->gauge = (int64_t)g[0];
			m->has_value = 1;
		} else {
			m->gauge = (int64_t)g[1];
			m->has_value = g[2] != 0;
		}
	}
}

static int build(struct shmstat_reader *r, struct shmstat_snap *s)
{
	const struct shmstat_hdr *h;
	uint32_t phase;
	int err;

	h = s->h = (const struct shmstat_hdr *)(const void *)s->buf;
	/* the immutable header must still be the one validated at open */
	if (memcmp(h, &r->hdr, SHMSTAT_HDR_SUM_BYTES + 8) != 0)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: its header changed after it was opened",
				     r->name);
	s->procs = (const void *)(s->buf + h->regions[SHMSTAT_REG_PROCS].off);
	s->descs = (const void *)(s->buf + h->regions[SHMSTAT_REG_DESCS].off);
	s->owners = (const void *)(s->buf + h->regions[SHMSTAT_REG_OWNERS].off);
	s->stripes = s->buf + h->regions[SHMSTAT_REG_STRIPES].off;
	s->sigs = s->buf + h->regions[SHMSTAT_REG_SIGS].off;
	s->sig_lines = h->regions[SHMSTAT_REG_SIGS].len / SHMSTAT_LINE;
	s->grave = stripe_at(s, SHMSTAT_FOLD_ACTIVE(h->fold_state));
	phase = SHMSTAT_FOLD_PHASE(h->fold_state);
	s->skip_proc = UINT32_MAX;
	if (phase == SHMSTAT_FOLD_FLIPPED)
		s->skip_proc = SHMSTAT_FOLD_PROC(h->fold_state);  /* in the grave already */
	else if (phase != SHMSTAT_FOLD_IDLE && phase != SHMSTAT_FOLD_MERGING)
		return shmstat__fail(SHMSTAT_ECORRUPT,
				     "segment '%s' is corrupted: fold phase %u", r->name, phase);

	s->info.size = h->total_size;
	s->info.generation = h->generation;
	s->info.created_ns = h->created_ns;
	s->info.taken_ns = shmstat__now_ns();
	s->info.dropped_regs = h->dropped_regs;
	s->info.format_major = h->major;
	s->info.format_minor = h->minor;
	s->info.max_procs = h->max_procs;
	s->info.max_metrics = h->max_metrics;
	s->info.max_values = h->max_values;
	s->info.max_threads = h->nstripes - SHMSTAT_GRAVES - h->max_procs;
	/* counts from the segment, bounded by what they count */
	s->info.values_used = h->values_used < h->max_values ? h->values_used : h->max_values;
	s->info.uid = r->uid;
	s->info.mode = r->mode;
	s->info.max_stacks = (uint32_t)(h->regions[SHMSTAT_REG_STACKS].len /
					sizeof(struct shmstat_stackent));
	s->info.max_modules = (uint32_t)(h->regions[SHMSTAT_REG_MODS].len /
					 sizeof(struct shmstat_profmod));
	s->info.profile_stacks = h->prof_stacks_used < s->info.max_stacks ?
				 h->prof_stacks_used : s->info.max_stacks;
	s->info.profile_modules = h->prof_mods_used < s->info.max_modules ?
				  h->prof_mods_used : s->info.max_modules;
	s->info.profile_dropped = h->prof_dropped;

	err = scan_procs(s);
	if (err)
		return err;
	s->m = calloc(h->max_metrics, sizeof(*s->m));
	if (s->m == NULL)
		return shmstat__fail(ENOMEM, "out of memory");
	for (uint32_t i = 0; i < h->max_metrics; i++) {
		uint32_t st = SHMSTAT_DESC_STATE(s->descs[i].word);

		if (st == SHMSTAT_DESC_FREE || st == SHMSTAT_DESC_DEAD ||
		    st == SHMSTAT_DESC_CLAIMED || st == SHMSTAT_DESC_RETIRED ||
		    st == SHMSTAT_DESC_DEADV)
			continue;
		if (!desc_valid(r, s, i)) {
			s->info.bad_descs++;
			continue;
		}
		s->m[s->nm].desc = i;
		compute(s, &s->m[s->nm]);
		s->nm++;
	}
	s->info.metrics = (uint32_t)s->nm;
	return 0;
}

int shmstat_snapshot(shmstat_reader *r, shmstat_snap **out)
{
	struct shmstat_snap *s;
	int err;

	shmstat__clear_error();
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return shmstat__fail(ENOMEM, "out of memory");
	err = check_name(r, s);
	if (!err)
		err = copy_segment(r, s);
	if (!err)
		err = build(r, s);
	if (err) {
		shmstat_snap_free(s);
		return err;
	}
	*out = s;
	return 0;
}

/* ------------------------------------------------------------- accessors */

void shmstat_snap_info(const shmstat_snap *s, struct shmstat_seg_info *out)
{
	*out = s->info;
}

size_t shmstat_snap_metrics(const shmstat_snap *s)
{
	return s->nm;
}

int shmstat_snap_metric(const shmstat_snap *s, size_t i, struct shmstat_metric_info *out)
{
	const struct shmstat_desc *d;

	if (i >= s->nm)
		return EINVAL;
	d = &s->descs[s->m[i].desc];
	out->name = d->name;
	out->labels = d->labels;
	out->help = d->help;
	out->unit = d->unit;
	out->type = (enum shmstat_type)d->type;
	out->agg = (enum shmstat_agg)d->agg;
	out->reg_id = d->reg_id;
	out->created_ns = d->created_ns;
	out->counter = s->m[i].counter;
	out->gauge = s->m[i].gauge;
	out->has_value = s->m[i].has_value;
	return 0;
}

size_t shmstat_snap_procs(const shmstat_snap *s)
{
	return s->np;
}

int shmstat_snap_proc(const shmstat_snap *s, size_t j, struct shmstat_proc_info *out)
{
	const struct shmstat_proc *p;

	if (j >= s->np)
		return EINVAL;
	p = &s->procs[s->p[j].slot];
	out->pid = (pid_t)SHMSTAT_PROC_PID(p->word);
	out->uid = p->uid;
	out->alive = s->p[j].alive;
	out->starttime = p->starttime;
	out->attach_ns = p->attach_ns;
	out->heartbeat_ns = p->heartbeat_ns;
	memcpy(out->comm, p->comm, 16);
	out->comm[16] = '\0';
	for (int k = 0; k < 16; k++)
		if ((unsigned char)out->comm[k] < 0x20 && out->comm[k] != '\0')
			out->comm[k] = '?';
	out->stripes = s->p[j].stripes;
	return 0;
}

int shmstat_snap_metric_proc(const shmstat_snap *s, size_t i, size_t j,
			     uint64_t *counter, int64_t *gauge)
{
	const struct shmstat_desc *d;
	uint32_t off;

	if (i >= s->nm || (j >= s->np && j != SHMSTAT_PROC_GONE))
		return EINVAL;
	d = &s->descs[s->m[i].desc];
	off = d->value_off;
	*counter = 0;
	*gauge = 0;
	if (d->type == SHMSTAT_SIGTABLE)
		return EINVAL;
	if (d->type == SHMSTAT_HISTOGRAM) {
		if (j == SHMSTAT_PROC_GONE) {
			for (uint32_t v = off + SHMSTAT_H_UNDER; v < off + d->nvalues; v++)
				*counter += s->grave[v];
		} else {
			*counter = hist_count(s, d, (uint32_t)j);
		}
		return 0;
	}
	if (j == SHMSTAT_PROC_GONE) {
		if (d->type == SHMSTAT_COUNTER) {
			*counter = s->grave[off];
			return 0;
		}
		if (d->agg == SHMSTAT_AGG_SUM) {
			*gauge = (int64_t)s->grave[off];
			return 0;
		}
		if (d->agg >= SHMSTAT_AGG_LIVESUM || s->grave[off + 2] == 0)
			return ENOENT;
		*gauge = (int64_t)s->grave[off + 1];
		return 0;
	}
	if (d->type == SHMSTAT_COUNTER) {
		*counter = sum_stripes(s, off, (uint32_t)j);
		return 0;
	}
	{
		uint64_t stamp;

		*gauge = gauge_of(s, off, (uint32_t)j, &stamp);
		if (d->agg == SHMSTAT_AGG_SUM || d->agg == SHMSTAT_AGG_LIVESUM)
			return 0;
		return stamp ? 0 : ENOENT;
	}
}

int shmstat_snap_hist(const shmstat_snap *s, size_t i, size_t j, shmstat_hdata **out)
{
	const struct shmstat_desc *d;
	shmstat_hdata *h;

	*out = NULL;
	if (i >= s->nm)
		return EINVAL;
	d = &s->descs[s->m[i].desc];
	if (d->type != SHMSTAT_HISTOGRAM ||
	    (j >= s->np && j != SHMSTAT_PROC_GONE && j != SHMSTAT_PROC_ALL))
		return EINVAL;
	h = shmstat__hdata_new(d->bits, d->lowest, d->highest);
	if (h == NULL)
		return ENOMEM;
	if (j == SHMSTAT_PROC_GONE || j == SHMSTAT_PROC_ALL)
		shmstat__hdata_add(h, s->grave + d->value_off);
	if (j != SHMSTAT_PROC_GONE) {
		for (uint32_t k = SHMSTAT_GRAVES; k < s->h->nstripes; k++) {
			uint32_t o = s->owner_of[k];

			if (o == UINT32_MAX || (j != SHMSTAT_PROC_ALL && o != j))
				continue;
			shmstat__hdata_add(h, stripe_at(s, k) + d->value_off);
		}
	}
	*out = h;
	return 0;
}

/* Is summary copy @c counted: the grave, or owned (@claims, copied) by a
 * stripe counted? */
static bool sum_counted(const shmstat_snap *s, const struct sumcopy *c, const uint64_t *claims)
{
	uint64_t w;
	uint32_t st;

	if (c->sum < SHMSTAT_SIG_GRAVES)
		return true;
	w = claims[c->sum - SHMSTAT_SIG_GRAVES];
	st = SHMSTAT_SUM_STRIPE(w);
	return SHMSTAT_SUM_STATE(w) == SHMSTAT_SUM_OWNED && st >= SHMSTAT_GRAVES &&
	       st < s->h->nstripes && s->owner_of[st] != UINT32_MAX;
}

int shmstat_snap_sigtab(const shmstat_snap *s, size_t i, shmstat_sigview **out)
{
	const struct shmstat_desc *d;
	const unsigned char *run, *sums;
	struct shmstat_sumgeo g;
	shmstat_sigview *v;
	uint64_t *totals, roff, clines;
	uint32_t di;

	*out = NULL;
	if (i >= s->nm)
		return EINVAL;
	di = s->m[i].desc;
	d = &s->descs[di];
	if (d->type != SHMSTAT_SIGTABLE || !sig_table_ok(s->h, d, &roff))
		return EINVAL;
	totals = malloc((size_t)d->nvalues * sizeof(*totals));
	if (totals == NULL)
		return ENOMEM;
	for (uint32_t k = 0; k < d->nvalues; k++)
		totals[k] = s->grave[d->value_off + k] +
			    sum_stripes(s, d->value_off + k, UINT32_MAX);
	run = s->buf + roff;
	shmstat__sumgeo(&g, d->sig_capacity, d->sig_keybytes);
	clines = shmstat__sig_claim_lines(d->sig_pool);
	sums = run + (clines + shmstat__sig_owner_lines(d->sig_owners)) * SHMSTAT_LINE;
	v = shmstat__sigview_new(d, totals, (const struct shmstat_sigowner *)(const void *)
				 (run + clines * SHMSTAT_LINE), s->info.taken_ns);
	free(totals);
	if (v == NULL)
		return ENOMEM;
	for (size_t k = 0; k < s->nsc; k++) {
		const struct sumcopy *c = &s->sc[k];
		const unsigned char *sum = sums + (uint64_t)c->sum * g.bytes;
		struct sm_src src = {
			.hdr = (const struct shmstat_sigsum *)(const void *)sum,
			.ents = (const struct shmstat_sigent *)(const void *)(sum + g.off_ents),
			.keys = sum + g.off_keys,
			.skip = c->skip,
			.n = c->n,
			.capacity = g.capacity,
			.keybytes = g.keybytes,
			.keyrec = g.keyrec,
		};

		if (c->desc != di || !sum_counted(s, c, (const uint64_t *)(const void *)run))
			continue;
		if (c->sum < SHMSTAT_SIG_GRAVES)
			src.mg = (const uint64_t *)(const void *)(sum + sizeof(struct shmstat_sigsum));
		if (shmstat__sigview_add(v, &src) != 0) {
			shmstat_sigview_free(v);
			return ENOMEM;
		}
	}
	if (shmstat__sigview_done(v) != 0) {
		shmstat_sigview_free(v);
		return ENOMEM;
	}
	*out = v;
	return 0;
}

/* ------------------------------------------------- for profile.c */

const unsigned char *shmstat__snap_bytes(const shmstat_snap *s, const struct shmstat_hdr **h)
{
	*h = s->h;
	return s->buf;
}

long shmstat__snap_metric_at(const shmstat_snap *s, uint32_t value_off, int type)
{
	for (size_t i = 0; i < s->nm; i++) {
		const struct shmstat_desc *d = &s->descs[s->m[i].desc];

		if (d->value_off == value_off && d->type == (uint32_t)type)
			return (long)i;
	}
	return -1;
}

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
	err = map_extents(&cp, g->off + g->len);
	if (err == 0)
		err = read_full(&cp, *out, g->len, g->off);
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
