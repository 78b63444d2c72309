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
	pid_t pid;
	uint64_t tag;              /* our process tag (layout.h) */
	uint32_t tls_slot;         /* index in the per-thread stripe table */
	uint32_t epoch;            /* never 0; handles and TLS carry it */

	struct cds_lfht *index;    /* (name, labels) -> handle, see registry.c */
	unsigned long index_n;     /* handles in it (atomic) */
	unsigned long index_size;  /* its buckets, grown by registrations */
	struct lhandle *retired;   /* handles of removed metrics (registry.c) */
	/* acknowledgement of removals (counter.c, under its slots_lock):
	 * the threads that update this attachment, and the retire_seq up to
	 * which every removal's handles have been dropped */
	struct shmstat__qrec *threads;
	uint64_t want;

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

/* An object of an accepted owner: one link, not writable by group or
 * others. 0 or SHMSTAT_EOWNER with the message set. */
struct stat;
SHMSTAT_HIDDEN int shmstat__check_links_mode(const struct stat *st, const char *name);

/* Pages in use. The segment's pages are reserved at creation but not
 * faulted in: on tmpfs one that no process has written or read through
 * its mapping is a hole (SEEK_DATA), and reads as zeros. The fold and the
 * reaper keep it so by touching only what holds data.
 * shmstat__stripe_data() ORs into @map, a bit per SHMSTAT_CHUNK bytes
 * of stripe @i, the chunks among its first @n bytes that hold data (all,
 * when the file system cannot say); shmstat__seg_has_data() says whether
 * [@off, @off + @len) of the object holds any (true when unknown). */
#define SHMSTAT_CHUNK SHMSTAT_PAGE
SHMSTAT_HIDDEN void shmstat__stripe_data(const struct shmstat_seg *seg, uint32_t i, uint64_t n,
					 uint64_t *map);
SHMSTAT_HIDDEN bool shmstat__seg_has_data(const struct shmstat_seg *seg, uint64_t off,
					  uint64_t len);

/* "/shmstat.<name>" into @path after checking @name. */
SHMSTAT_HIDDEN int shmstat__path(const char *name, char path[SHMSTAT_PATH_MAX]);

static inline uint64_t *shmstat__stripe(const struct shmstat_seg *s, uint32_t i)
{
	return (uint64_t *)(void *)(s->stripes + (size_t)i * s->stripe_bytes);
}

#endif
