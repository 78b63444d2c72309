/*
 * snap.h - the reader's copy of a segment, as the types read it.
 *
 * reader.c opens a segment and copies it (only the data extents of the
 * object, only the stripes in use, only their used slots) between two
 * equal readings of fold_seq; snapshot.c checks the copy and computes
 * each metric's value through its type's operations (type.h). A type
 * reads the copy with the helpers here; nothing in it is trusted before
 * it is checked.
 *
 * The tables, the grave in use and the signature summaries are copied
 * where they lie in the object (the copy buffer mirrors it). The
 * descriptors are not: they are checked as they are read, and the live
 * ones kept as the metric directory (mdir.h). A stripe of
 * a process or thread is not: it is kept as its runs of non-zero slots
 * (struct shmstat__sparse), so that a reader of many writers pays for
 * the values they wrote, not for the pages those values lie in (a
 * histogram's page with a few dozen buckets counted), and the sum over
 * every stripe counted is kept once (total[]).
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
#include "copier.h"
#include "mdir.h"
#include "sparse.h"

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
	/* a snapshot's memory for the stripes and their sums (all zeros) */
	struct shmstat__sparse sp;
	uint64_t *total;           /* NULL: none kept */
	size_t total_bytes;
	struct shmstat__mdir dir;  /* a snapshot's directory's memory */
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

/* Metric i of a snapshot is record s->dir.at[i] of its directory */
struct shmstat__msnap {
	struct shmstat__mval v;
};

struct shmstat__psnap {
	uint32_t slot;
	int alive;
	uint32_t stripes;
	uint32_t first, n;         /* its stripes (the process's own and its
				    * threads'): by_proc[first..first + n) */
};

#define SHMSTAT__TYPE_SLOTS 8u   /* > every enum shmstat_type */

struct shmstat_snap {
	unsigned char *buf;
	uint64_t size;
	const struct shmstat_hdr *h;
	const struct shmstat_proc *procs;
	struct shmstat__mdir dir;  /* the metrics (live, sound, wanted) */
	const uint64_t *owners;
	struct shmstat__sparse sp;      /* the stripes of processes and threads */
	uint64_t *total;           /* per value slot: the sum over every
				    * stripe counted (owner_of), graves aside */
	uint32_t ntotal;           /* slots in total[]: max_values */
	size_t total_bytes;        /* of its mapping */
	const uint64_t *grave;
	uint32_t skip_proc;        /* slot whose stripes are already in grave */
	struct shmstat_seg_info info;
	size_t nm, np;
	struct shmstat__msnap *m;
	size_t m_bytes;            /* its size (shmstat__map_array) */
	struct shmstat__psnap *p;
	uint32_t *owner_of;        /* per stripe: index into p[], or UINT32_MAX */
	uint32_t *by_proc;         /* the stripes counted, by process, then
				    * ascending: a process's sums read its
				    * stripes alone (p[j].first, p[j].n) */
	/* a type's own data about the copy (sigsnap.c: the summaries
	 * copied), freed by its snap_free */
	void *ext[SHMSTAT__TYPE_SLOTS];
	/* while copying: the object's data extents, the bytes read so far
	 * in this copy (whole pages) */
	struct shmstat__copier cp;
	const struct shmstat_hdr *rhdr;     /* the reader's, validated at open */
	/* a reader's subset (want): the runs of its metrics' slots */
	struct shmstat__run *runs;
	size_t capruns;
	struct shmstat__spare *spare;   /* where buf goes back, or NULL */
};

/* Sum of value slot @v over the stripes of process index @j (UINT32_MAX:
 * all processes), the grave not included. Reads process @j's stripes
 * alone: a value of every process costs the stripes in use, not the
 * processes times the stripes. */
SHMSTAT_HIDDEN uint64_t shmstat__snap_sum(const struct shmstat_snap *s, uint32_t v, uint32_t j);

/* Value slot @v of stripe @i (a process's or a thread's) in the copy. */
SHMSTAT_HIDDEN uint64_t shmstat__snap_at(const struct shmstat_snap *s, uint32_t i, uint32_t v);

/* Of value slots [*@from, @to) of stripe @i (a process's or a thread's)
 * in the copy, the first run that holds data: *@from moves to its start,
 * *@end to its end, and its values are returned (the first is slot
 * *@from's); NULL when the rest are zeros. Summing loops skip the rest. */
SHMSTAT_HIDDEN const uint64_t *shmstat__snap_run(const struct shmstat_snap *s, uint32_t i,
						 uint32_t *from, uint32_t to, uint32_t *end);

/* Does stripe @i hold values anybody counts, as the copied tables in
 * @buf (laid out as @h says) say? */
SHMSTAT_HIDDEN bool shmstat__stripe_in_use(const struct shmstat_hdr *h,
					   const unsigned char *buf, uint32_t i);

/* The descriptor of metric @i (< s->nm) of @s */
static inline const struct shmstat__rdesc *shmstat__snap_desc(const struct shmstat_snap *s,
							      size_t i)
{
	return shmstat__mdir_desc(&s->dir, s->dir.at[i]);
}

/* snapshot.c: build the snapshot from a finished copy */
SHMSTAT_HIDDEN int shmstat__snap_build(struct shmstat_reader *r, struct shmstat_snap *s);
/* reader.c: the copy, and the check of the name it was opened by */
SHMSTAT_HIDDEN int shmstat__snap_copy(struct shmstat_reader *r, struct shmstat_snap *s);
SHMSTAT_HIDDEN int shmstat__snap_check_name(struct shmstat_reader *r, struct shmstat_snap *s);
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

#endif
