/*
 * snap.h - the reader's copy of a segment, as the types read it.
 *
 * reader.c opens a segment and copies it (only the data extents of the
 * object, only the stripes in use, only their used slots) between two
 * equal readings of fold_seq; snapshot.c checks the copy and computes
 * each metric's value through its type's operations (type.h). A type
 * reads the copy with the helpers here; nothing in it is trusted before
 * it is checked.
 */
#ifndef SHMSTAT_SNAP_H
#define SHMSTAT_SNAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmstat.h"
#include "layout.h"
#include "segment.h"

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
};

/* A run of value slots [from, to) */
struct shmstat__run {
	uint32_t from, to;
};

/* A copy buffer kept from one snapshot to the next of a reader: the
 * pages it already has take no page fault. Shared by the reader and its
 * snapshots (refs), which may be freed in any order and on any thread. */
struct shmstat__spare {
	pthread_mutex_t mu;
	unsigned refs;
	unsigned char *buf;        /* NULL: none kept */
	uint64_t len;
	/* the data extents of the copy it holds */
	struct shmstat__extent *ext;
	size_t next;
};

struct shmstat_reader {
	char name[SHMSTAT_NAME_MAX + 1];
	char path[SHMSTAT_PATH_MAX + 16];
	int fd;
	dev_t dev;
	ino_t ino;
	uid_t uid;
	mode_t mode;
	uint64_t max_copy;         /* bytes a copy may read, in pages */
	int (*want)(const char *name, const char *labels, void *arg);
	void *want_arg;            /* the subset asked for (opts), or NULL */
	struct shmstat__spare *spare;   /* NULL: none (no memory) */
	struct shmstat_hdr hdr;    /* validated at open */
};

/* A metric's value, as its type computes it. */
struct shmstat__mval {
	uint64_t counter;
	int64_t gauge;
	int has_value;
};

struct shmstat__msnap {
	uint32_t desc;             /* descriptor index */
	struct shmstat__mval v;
};

struct shmstat__psnap {
	uint32_t slot;
	int alive;
	uint32_t stripes;
};

#define SHMSTAT__TYPE_SLOTS 8u   /* > every enum shmstat_type */

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
	struct shmstat__msnap *m;
	struct shmstat__psnap *p;
	uint32_t *owner_of;        /* per stripe: index into p[], or UINT32_MAX */
	/* a type's own data about the copy (sigsnap.c: the summaries
	 * copied), freed by its snap_free */
	void *ext[SHMSTAT__TYPE_SLOTS];
	/* while copying: the object's data extents, the bytes read so far
	 * in this copy (whole pages) */
	struct shmstat__copier cp;
	const struct shmstat_hdr *rhdr;     /* the reader's, validated at open */
	/* a reader's subset (want): the descriptors wanted (at the copy),
	 * and the runs of their slots; NULL: every metric */
	uint8_t *wanted;
	struct shmstat__run *runs;
	struct shmstat__spare *spare;   /* where buf goes back, or NULL */
};

/* Stripe @i of the copy. */
static inline const uint64_t *shmstat__snap_stripe(const struct shmstat_snap *s, uint32_t i)
{
	return (const uint64_t *)(const void *)(s->stripes + (size_t)i * s->h->stripe_bytes);
}

/* Sum of value slot @v over the stripes of process index @j (UINT32_MAX:
 * all processes), the grave not included. */
SHMSTAT_HIDDEN uint64_t shmstat__snap_sum(const struct shmstat_snap *s, uint32_t v, uint32_t j);

/* Of value slots [*@from, @to) of stripe @i in the copy, the first run
 * that may hold data: *@from moves to its start, its end is returned;
 * *@from == @to when the rest are zeros (holes of the object, which
 * nobody wrote: segment.h, "Pages in use"). Summing loops skip the rest. */
SHMSTAT_HIDDEN uint32_t shmstat__snap_data(const struct shmstat_snap *s, uint32_t i,
					   uint32_t *from, uint32_t to);

/* Does stripe @i hold values anybody counts, as the copied tables in
 * @buf (laid out as @h says) say? */
SHMSTAT_HIDDEN bool shmstat__stripe_in_use(const struct shmstat_hdr *h,
					   const unsigned char *buf, uint32_t i);

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

/* snapshot.c: build the snapshot from a finished copy */
SHMSTAT_HIDDEN int shmstat__snap_build(struct shmstat_reader *r, struct shmstat_snap *s);
/* reader.c: the copy, and the check of the name it was opened by */
SHMSTAT_HIDDEN int shmstat__snap_copy(struct shmstat_reader *r, struct shmstat_snap *s);
SHMSTAT_HIDDEN int shmstat__snap_check_name(struct shmstat_reader *r, struct shmstat_snap *s);
SHMSTAT_HIDDEN void shmstat__copier_free(struct shmstat__copier *cp);
/* snap_free: keep @s's copy buffer for its reader's next snapshot, or
 * unmap it; let go of the spare */
SHMSTAT_HIDDEN void shmstat__snap_buf_free(struct shmstat_snap *s);

/* ------------------------------------------------------------------------ */

/* For the profile view (profile/profile.c), which reads no stripes: the copy and its
 * header, and the metric (index for shmstat_snap_metric()) of type @type
 * whose first value slot is @value_off, or -1. */
/* Read region @region of the segment of reader @r now (*@len bytes of
 * fresh anonymous pages, given back with shmstat__region_free(); NULL and
 * 0 when the segment has no such region): the profile tables are not in
 * snapshots. EINVAL when @s is of another segment. */
SHMSTAT_HIDDEN int shmstat__reader_region(struct shmstat_reader *r, const struct shmstat_snap *s,
					  int region, unsigned char **out, uint64_t *len);
SHMSTAT_HIDDEN void shmstat__region_free(unsigned char *buf, uint64_t len);
SHMSTAT_HIDDEN const unsigned char *shmstat__snap_bytes(const struct shmstat_snap *s,
							const struct shmstat_hdr **h);
SHMSTAT_HIDDEN long shmstat__snap_metric_at(const struct shmstat_snap *s, uint32_t value_off,
					    int type);

#endif
