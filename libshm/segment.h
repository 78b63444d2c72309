/*
 * segment.h - a segment as this process sees it: create, attach, validate,
 * unlink. The segment's own layout is in layout.h.
 */
#ifndef SHMSTAT_SEGMENT_H
#define SHMSTAT_SEGMENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "layout.h"
#include "util.h"

#define SHMSTAT_NAME_MAX 200
#define SHMSTAT_PATH_MAX (SHMSTAT_NAME_MAX + 16)

/* Region geometry implied by capacities: creation lays it out, validation
 * demands exactly it. */
struct shmstat_geom {
	uint32_t max_procs, max_metrics, max_values, nstripes, stripe_bytes;
	uint32_t max_stacks, max_modules;
	uint64_t sig_lines;
	struct shmstat_region reg[SHMSTAT_REG_COUNT];
	uint64_t total;
};

/* A writer's attachment (process-local). */
struct shmstat_seg {
	char name[SHMSTAT_NAME_MAX + 1];
	int fd;
	unsigned char *base;
	uint64_t size;
	struct shmstat_hdr *hdr;
	struct shmstat_proc *procs;
	struct shmstat_desc *descs;
	uint64_t *owners;
	unsigned char *stripes;
	unsigned char *sigs;           /* the sigs region */
	uint64_t sig_lines;            /* its length in 128-byte lines */
	uint32_t stripe_bytes, nstripes, max_procs, max_metrics, max_values;
	struct shmstat_stackent *stacks;   /* max_stacks of them (0: no profiling) */
	struct shmstat_profmod *mods;
	uint32_t max_stacks, max_modules;

	uint32_t proc;             /* our writer slot */
	/* the open file description that holds the lock of our writer
	 * slot (procs.c, "The lock of a slot"): one of its own, never
	 * mapped (a mapping holds its description, and a fork()ed child
	 * inherits the mapping), -1: none yet, -2: it could not be opened;
	 * and 1 + the slot whose lock
	 * it holds, 0: none */
	int lock_fd;
	uint32_t lock1;
	/* while this attachment holds the reaper lock: 1 + the descriptor
	 * of its own, opened for that take, that holds the write lock of
	 * the reaper lock's byte (grace.c); 0: none */
	int reaper_fd1;
	pid_t pid;
	uint64_t tag;              /* our process tag (layout.h) */
	uint32_t tls_slot;         /* index in the per-thread stripe table */
	uint32_t epoch;            /* never 0; handles and TLS carry it */

	struct cds_lfht *index;    /* (name, labels) -> handle, see registry.c */
	struct lhandle *retired;   /* handles of removed metrics (registry.c) */
	/* what the last walk of the directory for free runs of value slots
	 * that met no run on its way found: retire_seq + 1 before it, in
	 * bits 25..63, and its largest run (registry.c, reuse_values());
	 * 0: none yet (atomic) */
	uint64_t runs_memo;
	/* acknowledgement of removals (counter.c, under its slots_lock):
	 * the threads that update this attachment, and the retire_seq up to
	 * which every removal's handles have been dropped */
	struct shmstat__qrec *threads;
	uint64_t want;
	/* the thread stripes this attachment's threads took free (tls.c,
	 * claim(), under slots_lock; nmine stored with release after the
	 * entry), so that a gauge set sums this process's deltas over them
	 * instead of reading every owner word (NULL: it reads them all) */
	uint32_t *mine;
	uint32_t nmine;
	/* while this process folds (grace.c): the data pages of the stripes
	 * involved, for the types' fold_slots */
	struct shmstat__dmap *fold_map;
	/* and the thread stripes of the process slot folded (fold_p), in
	 * order, so that the fold's walks over them do not read every
	 * owner word (NULL: walk them) */
	uint32_t *fold_own, fold_nown, fold_p;
	/* in a forked child: the slot claimed for it at the fork was taken
	 * back before it adopted it (attach.c claims another) */
	bool orphan;
	/* opened whole and not being closed (written under
	 * shmstat__tls_lock(), which fork() holds): only such a segment's
	 * orphan claims a slot */
	bool live;
};

SHMSTAT_HIDDEN int shmstat__geom(struct shmstat_geom *g, uint32_t procs, uint32_t metrics,
				 uint32_t values, uint32_t threads, uint64_t sig_bytes,
				 uint32_t stacks, uint32_t modules);

/* Check a private copy of a header against the object's size. Every
 * failure is a sentence naming the field, prefixed with @name. */
SHMSTAT_HIDDEN int shmstat__validate_hdr(const struct shmstat_hdr *h,
					 uint64_t file_size, const char *name);

/* Map segment @name read-write into @seg (fd, base, size and the region
 * pointers), creating it with @opts when they are not NULL; unmap. */
struct shmstat_opts;
SHMSTAT_HIDDEN int shmstat__seg_map(struct shmstat_seg *seg, const char *name,
				    const struct shmstat_opts *opts);
SHMSTAT_HIDDEN void shmstat__seg_unmap(struct shmstat_seg *seg);

/* A new open file description of the object @seg maps (O_RDWR,
 * O_CLOEXEC): by its name when that still names it, else through
 * /proc/self/fd; -1 when neither works. */
SHMSTAT_HIDDEN int shmstat__seg_open_again(const struct shmstat_seg *seg);

/* An object of an accepted owner: one link, not writable by group or
 * others. 0 or SHMSTAT_EOWNER with the message set. */
struct stat;
SHMSTAT_HIDDEN int shmstat__check_links_mode(const struct stat *st, const char *name);

/* Pages in use. The segment's pages are reserved at creation but not
 * faulted in: on tmpfs one that no process has written or read through
 * its mapping is a hole (SEEK_DATA), and reads as zeros. A load through
 * the mapping makes a hole a page of zeros as surely as a store does. The
 * fold and the reaper keep holes so: they load a slot of a stripe only
 * where its page is data (a hole's slot is 0) and store into a hole only
 * a value that is not 0, page by page of the object (stripes are not
 * page-aligned: a slot range of one stripe lies on other pages than the
 * same range of the next).
 *
 * struct shmstat__dmap: a bit per page of the stripes region, the pages
 * that hold data among the stripes added (SEEK_DATA, SEEK_HOLE; every
 * page counts as data when the file system cannot say, or when there was
 * no memory for the bits). */
struct shmstat__dmap {
	uint64_t *bits;            /* NULL: every page is data */
	uint64_t npages;
};

/* Stripes @first..@last (one walk) into @m, allocated at the first call
 * (@m zeroed before it); free. */
SHMSTAT_HIDDEN void shmstat__dmap_add(struct shmstat__dmap *m, const struct shmstat_seg *seg,
				      uint32_t first, uint32_t last);
SHMSTAT_HIDDEN void shmstat__dmap_free(struct shmstat__dmap *m);

static inline uint64_t shmstat__dmap_page(const struct shmstat_seg *seg, const uint64_t *p)
{
	return (uint64_t)((const unsigned char *)p - seg->stripes) / SHMSTAT_PAGE;
}

/* Does a page of [@p, @p + @n slots) hold data? */
static inline bool shmstat__dmap_any(const struct shmstat__dmap *m,
				     const struct shmstat_seg *seg, const uint64_t *p, uint64_t n)
{
	uint64_t a, b;

	if (m->bits == NULL)
		return true;            /* every page is data */
	if (n == 0)
		return false;
	a = shmstat__dmap_page(seg, p);
	b = shmstat__dmap_page(seg, p + n - 1);
	for (; a <= b && a < m->npages; a++)
		if ((m->bits[a / 64] >> (a % 64)) & 1u)
			return true;
	return false;
}

/* Slot *@p as the fold reads it (0 on a hole, not touched), and stored
 * (a 0 not into a hole; a page stored into is data from then on). */
static inline uint64_t shmstat__dmap_ld(const struct shmstat__dmap *m,
					const struct shmstat_seg *seg, const uint64_t *p)
{
	return shmstat__dmap_any(m, seg, p, 1) ? __atomic_load_n(p, __ATOMIC_RELAXED) : 0;
}

static inline void shmstat__dmap_st(struct shmstat__dmap *m, const struct shmstat_seg *seg,
				    uint64_t *p, uint64_t v)
{
	if (v == 0 && !shmstat__dmap_any(m, seg, p, 1))
		return;
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
	if (m->bits != NULL) {
		const uint64_t k = shmstat__dmap_page(seg, p);

		if (k < m->npages)
			m->bits[k / 64] |= UINT64_C(1) << (k % 64);
	}
}

/* "/shmstat.<name>" into @path after checking @name. */
SHMSTAT_HIDDEN int shmstat__path(const char *name, char path[SHMSTAT_PATH_MAX]);

/* Is owner word @w a thread stripe of process slot @p (owned, or idle)? */
static inline bool shmstat__stripe_of(uint64_t w, uint32_t p)
{
	return SHMSTAT_STRIPE_PROC(w) == p && SHMSTAT_STRIPE_HELD(w);
}

static inline uint64_t *shmstat__stripe(const struct shmstat_seg *s, uint32_t i)
{
	return (uint64_t *)(void *)(s->stripes + (size_t)i * s->stripe_bytes);
}

#endif
