/*
 * copier.c - reading the object's data extents for a snapshot (copier.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "copier.h"
#include "layout.h"

#define extent shmstat__extent
#define copier shmstat__copier

/* At most this many extents are kept; past them the rest of the object
 * counts as data (an object cut into this many pieces holds at least as
 * many pages). */
#define MAX_EXTENTS 65536u

/* Count @n bytes at address @a against the reader's limit, in the whole
 * pages of the destination they touch: false past it. */
static bool charge(struct copier *cp, uintptr_t a, uint64_t n)
{
	const uint64_t span = ((a + n + SHMSTAT_PAGE - 1) - (a & ~(uintptr_t)(SHMSTAT_PAGE - 1))) /
			      SHMSTAT_PAGE * SHMSTAT_PAGE;

	if (span > cp->max || cp->copied > cp->max - span)
		return false;
	cp->copied += span;
	return true;
}

int shmstat__copier_add(struct copier *cp, uint64_t start, uint64_t end)
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

/* The extents of [@pos, @size): exact (@w 0: SEEK_DATA, SEEK_HOLE), or
 * windows of @w bytes from where data starts, adjacent ones joined (not
 * with those of an earlier call: a grave's stay its own) */
static int map_extents(struct copier *cp, uint64_t pos, uint64_t size, uint64_t w)
{
	const size_t first = cp->next;

	while (pos < size) {
		const bool in_run = pos >= cp->run_start && pos < cp->run_end;
		const off_t d = in_run ? (off_t)pos : lseek(cp->fd, (off_t)pos, SEEK_DATA);
		uint64_t e;

		if (d < 0 && errno == ENXIO)
			break;                          /* holes to the end */
		if (d < 0)
			return shmstat__copier_add(cp, pos, size);
		if ((uint64_t)d >= size)
			break;
		if (w != 0) {
			e = size - (uint64_t)d > w ? (uint64_t)d + w : size;
		} else if ((uint64_t)d >= cp->run_start && (uint64_t)d < cp->run_end) {
			e = cp->run_end < size ? cp->run_end : size;
		} else {
			const off_t h = lseek(cp->fd, d, SEEK_HOLE);

			if (h > d) {
				cp->run_start = (uint64_t)d;
				cp->run_end = (uint64_t)h;
			}
			e = h < 0 || (uint64_t)h > size ? size : (uint64_t)h;
		}
		if (e <= (uint64_t)d || cp->next + 1 >= MAX_EXTENTS)
			return shmstat__copier_add(cp, (uint64_t)d, size);
		if (cp->next > first && cp->ext[cp->next - 1].end == (uint64_t)d)
			cp->ext[cp->next - 1].end = e;          /* one window on */
		else if (shmstat__copier_add(cp, (uint64_t)d, e) != 0)
			return ENOMEM;
		pos = e;
	}
	return 0;
}

/* A writer faults in only the pages it writes (segment.h): its segment
 * is as many extents as runs of those. */
int shmstat__copier_map(struct copier *cp, uint64_t pos, uint64_t size)
{
	return map_extents(cp, pos, size, 0);
}

int shmstat__copier_map_windows(struct copier *cp, uint64_t pos, uint64_t size, uint64_t w)
{
	return map_extents(cp, pos, size, w);
}

void shmstat__copier_zero(struct copier *cp, unsigned char *p, uint64_t n)
{
	const uintptr_t a = (uintptr_t)p, b = a + n;
	const uintptr_t pa = (a + SHMSTAT_PAGE - 1) & ~(uintptr_t)(SHMSTAT_PAGE - 1);
	const uintptr_t pb = b & ~(uintptr_t)(SHMSTAT_PAGE - 1);

	/* in the copy buffer (as addresses: @p may be any buffer), whose
	 * pages are zeros until written */
	if (cp->base && a >= (uintptr_t)cp->base && a - (uintptr_t)cp->base < cp->len &&
	    n <= cp->len - (a - (uintptr_t)cp->base)) {
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

size_t shmstat__ext_after(const struct copier *cp, uint64_t off)
{
	size_t lo = 0, hi = cp->next;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp->ext[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Read [@off, @off + @n) of the object into @p: its data with pread, its
 * holes as zeros, counting the pages written against the limit. 0, -1 on
 * a short read (truncated) or EFBIG past the limit. */
int shmstat__copy_read(struct copier *cp, unsigned char *p, uint64_t n, uint64_t off)
{
	const uint64_t end = off + n;
	size_t lo = shmstat__ext_after(cp, off);

	while (off < end) {
		uint64_t ds = end, de = end;

		if (lo < cp->next && cp->ext[lo].start < end) {
			ds = cp->ext[lo].start > off ? cp->ext[lo].start : off;
			de = cp->ext[lo].end < end ? cp->ext[lo].end : end;
		}
		if (ds > off)
			shmstat__copier_zero(cp, p, ds - off);
		if (de > ds) {
			if (!charge(cp, (uintptr_t)(p + (ds - off)), de - ds))
				return EFBIG;
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

/* [@ds, @de) of the object, all of it, a chunk at a time into @scratch;
 * each chunk charged to the limit as read, unless @take does so */
static int read_chunks(struct copier *cp, uint64_t ds, uint64_t de, uint64_t *scratch,
		       shmstat__chunk_fn take, void *arg, bool charged)
{
	while (ds < de) {
		const uint64_t k = de - ds < SHMSTAT_SPARSE_CHUNK ? de - ds : SHMSTAT_SPARSE_CHUNK;
		int err;

		if (!charged && !charge(cp, (uintptr_t)scratch, k))
			return EFBIG;
		if (shmstat__pread_full(cp->fd, scratch, (size_t)k, ds) != (ssize_t)k)
			return -1;
		err = take(arg, ds, (unsigned char *)scratch, k);
		if (err)
			return err;
		ds += k;
	}
	return 0;
}

/* page-aligned: the kernel copies into an unaligned buffer at a third
 * of the speed (the object's pages are aligned) */
static bool scratch_ready(uint64_t **scratch)
{
	return *scratch != NULL ||
	       (*scratch = aligned_alloc(SHMSTAT_PAGE, SHMSTAT_SPARSE_CHUNK)) != NULL;
}

static int copy_chunks(struct copier *cp, uint64_t off, uint64_t n, uint64_t **scratch,
		       shmstat__chunk_fn take, void *arg, bool charged)
{
	const uint64_t end = off + n;
	size_t lo = shmstat__ext_after(cp, off);

	if (!scratch_ready(scratch))
		return ENOMEM;
	for (; lo < cp->next && cp->ext[lo].start < end; lo++) {
		const uint64_t ds = cp->ext[lo].start > off ? cp->ext[lo].start : off;
		const uint64_t de = cp->ext[lo].end < end ? cp->ext[lo].end : end;
		const int err = read_chunks(cp, ds, de, *scratch, take, arg, charged);

		if (err)
			return err;
	}
	return 0;
}

int shmstat__copy_chunks(struct copier *cp, uint64_t off, uint64_t n, uint64_t **scratch,
			 shmstat__chunk_fn take, void *arg)
{
	return copy_chunks(cp, off, n, scratch, take, arg, false);
}

int shmstat__copy_pread_chunks(struct copier *cp, uint64_t off, uint64_t n, uint64_t **scratch,
			       shmstat__chunk_fn take, void *arg)
{
	return scratch_ready(scratch) ? read_chunks(cp, off, off + n, *scratch, take, arg, false) :
	       ENOMEM;
}

struct sparse_at {
	struct copier *cp;
	struct shmstat__sparse *sp;
	uint32_t stripe, slot;
	uint64_t off;
};

/* Pages of the object holding the runs @sp kept from run @from on, of
 * stripe slots whose slot @a->slot lies at object offset @a->off */
static uint64_t pages_kept(const struct shmstat__sparse *sp, size_t from,
			   const struct sparse_at *a)
{
	uint64_t n = 0, last = UINT64_MAX;

	for (size_t r = from; r < sp->nrun; r++) {
		const uint64_t s = a->off + (uint64_t)(sp->run[r].from - a->slot) * 8;
		const uint64_t e = a->off + (uint64_t)(sp->run[r].to - a->slot) * 8;
		uint64_t p0 = s / SHMSTAT_PAGE;
		const uint64_t p1 = (e - 1) / SHMSTAT_PAGE;

		if (p0 == last)
			p0++;           /* its first page counted with the run before */
		if (p1 >= p0)
			n += p1 - p0 + 1;
		last = p1;
	}
	return n;
}

static int take_sparse(void *arg, uint64_t at, unsigned char *p, uint64_t k)
{
	const struct sparse_at *a = arg;
	const size_t before = a->sp->nrun;

	if (shmstat__sparse_add(a->sp, a->stripe, a->slot + (uint32_t)((at - a->off) / 8),
				(const uint64_t *)(const void *)p, (uint32_t)(k / 8)) != 0)
		return ENOMEM;
	/* the limit counts the pages that hold values: a window's holes
	 * (shmstat__copier_map_windows()) read as zeros and are kept as
	 * nothing, as when the extents left them out */
	return charge(a->cp, 0, pages_kept(a->sp, before, a) * SHMSTAT_PAGE) ? 0 : EFBIG;
}

int shmstat__copy_sparse(struct copier *cp, struct shmstat__sparse *sp, uint32_t stripe,
			 uint32_t slot, uint64_t n, uint64_t off)
{
	struct sparse_at a = { cp, sp, stripe, slot, off };

	return copy_chunks(cp, off, n, &sp->scratch, take_sparse, &a, true);
}

int shmstat__copy_pread(struct copier *cp, unsigned char *p, uint64_t n, uint64_t off)
{
	if (n == 0)
		return 0;
	if (!charge(cp, (uintptr_t)p, n))
		return EFBIG;
	return shmstat__pread_full(cp->fd, p, (size_t)n, off) == (ssize_t)n ? 0 : -1;
}

void shmstat__copier_free(struct copier *cp)
{
	free(cp->ext);
	cp->ext = NULL;
}
