/*
 * copier.h - how a reader reads the object (copier.c): only its data
 * extents, with pread(2), within the reader's limit.
 *
 * Writers fault in only the pages they write (format.md, "Pages in
 * use"): the rest of a segment is holes, found with SEEK_DATA and
 * SEEK_HOLE, which read as zeros and are never read. pread turns a
 * segment truncated underneath into a short read, never a SIGBUS.
 */
#ifndef SHMSTAT_COPIER_H
#define SHMSTAT_COPIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sparse.h"
#include "util.h"

/* A run of data in the object, [start, end): what is not in one is a
 * hole and reads as zeros. */
struct shmstat__extent {
	uint64_t start, end;
};

/* How a reader copies: only the data extents of the object (a sparse
 * object whose header claims gigabytes costs what it holds), at most
 * @max bytes (counted in whole pages of the destination) per copy. */
struct shmstat__copier {
	int fd;
	struct shmstat__extent *ext;        /* sorted, disjoint */
	size_t next, capext;
	uint64_t copied, max;
	unsigned char *base;       /* the copy buffer (anonymous memory) */
	uint64_t len;
	bool dirty;                /* holes of base must be zeroed: reused */
	/* the last run of data SEEK_HOLE found, [run_start, run_end): data
	 * it stays (a page turns from a hole into data, not back), so a walk
	 * from inside it asks nothing; on tmpfs SEEK_HOLE looks at every page
	 * up to the hole, and the walks of one pass start again and again
	 * inside one long run when stripes hold data all through */
	uint64_t run_start, run_end;
};

/* Add [@start, @end) to @cp's extents (after the last). 0 or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__copier_add(struct shmstat__copier *cp, uint64_t start, uint64_t end);

/* The data extents of the object's bytes [@pos, @size), added to @cp's,
 * by SEEK_DATA and SEEK_HOLE (a file system without them gives all
 * data). 0 or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__copier_map(struct shmstat__copier *cp, uint64_t pos, uint64_t size);

/* Windows of @w (> 0) bytes over [@pos, @size), each from where data
 * starts (SEEK_DATA alone), holes within them included, as extents: one
 * system call a window instead of two an extent (64 writers' stripes:
 * 29,000 extents). Holes read as zeros; which pages were holes stays
 * unknown. 0 or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__copier_map_windows(struct shmstat__copier *cp, uint64_t pos,
					       uint64_t size, uint64_t w);

/* Zeros at @p, @n bytes: whole pages of the copy buffer are given back
 * (they read as zeros and take no memory), the rest is cleared. */
SHMSTAT_HIDDEN void shmstat__copier_zero(struct shmstat__copier *cp, unsigned char *p,
					 uint64_t n);

/* The first of the copy's data extents that ends after object offset
 * @off (cp->next when none). */
SHMSTAT_HIDDEN size_t shmstat__ext_after(const struct shmstat__copier *cp, uint64_t off);

/* Copy @n bytes at @off of the object to @p (holes read as zeros): 0,
 * -1 (truncated), EFBIG (past the reader's limit) or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__copy_read(struct shmstat__copier *cp, unsigned char *p, uint64_t n,
				      uint64_t off);

/* The same, reading holes too (as zeros, with pread): for data that live
 * writers change under their own seqlocks (signature summaries), whose
 * pages may turn from holes into data after the copy's extents were
 * taken. */
SHMSTAT_HIDDEN int shmstat__copy_pread(struct shmstat__copier *cp, unsigned char *p, uint64_t n,
				       uint64_t off);

/* What shmstat__copy_chunks() hands each chunk to: @k bytes at object
 * offset @at, read into @p. 0 or an error, which ends the copy. */
typedef int (*shmstat__chunk_fn)(void *arg, uint64_t at, unsigned char *p, uint64_t k);

/* Read the data extents of [@off, @off + @n) of the object a chunk at a
 * time into *@scratch (SHMSTAT_SPARSE_CHUNK bytes, page-aligned;
 * allocated when NULL) and hand each to @take; holes are left out. 0,
 * -1 (truncated), EFBIG (past the reader's limit), ENOMEM or what @take
 * returned. */
SHMSTAT_HIDDEN int shmstat__copy_chunks(struct shmstat__copier *cp, uint64_t off, uint64_t n,
					uint64_t **scratch, shmstat__chunk_fn take, void *arg);

/* shmstat__copy_chunks() over all of [@off, @off + @n), holes and data
 * alike, without extents (a region whose extents were not asked). */
SHMSTAT_HIDDEN int shmstat__copy_pread_chunks(struct shmstat__copier *cp, uint64_t off,
					      uint64_t n, uint64_t **scratch,
					      shmstat__chunk_fn take, void *arg);

/* Keep [@off, @off + @n) of the object, value slots from @slot of stripe
 * @stripe, in @sp as runs of non-zero slots: its extents read (a chunk at
 * a time) with pread, what they leave out kept as nothing; the pages that
 * held a value count against the limit (a window's holes read as zeros
 * do not). 0, -1 (truncated), EFBIG (past the reader's limit) or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__copy_sparse(struct shmstat__copier *cp, struct shmstat__sparse *sp,
					uint32_t stripe, uint32_t slot, uint64_t n, uint64_t off);

SHMSTAT_HIDDEN void shmstat__copier_free(struct shmstat__copier *cp);

#endif
