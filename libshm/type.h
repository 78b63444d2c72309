/*
 * type.h - how a metric type plugs into the core.
 *
 * The core (segment, process table, thread stripes, registry, fold and
 * reaper, reader and snapshot) knows no metric type by name: it sees
 * value slots, descriptors and handles, and calls a type's operations
 * through the table below. A type (counter.c, histogram.c, sigtable.c
 * with sigsnap.c, the profiler in profile/) fills one entry; types.c is
 * the one file that names them all. Adding a type touches its own files
 * and types.c, nothing in the core. docs/architecture.md draws the
 * layers.
 *
 * Every operation is optional (NULL: nothing to do) unless marked.
 */
#ifndef SHMSTAT_TYPE_H
#define SHMSTAT_TYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "util.h"

struct shmstat_seg;
struct shmstat_shape;
struct shmstat_counter;
struct shmstat_snap;
struct shmstat__mval;
struct shmstat__rdesc;

struct shmstat__type {
	const char *name;
	uint32_t type;             /* enum shmstat_type; UINT32_MAX: not a metric */

	/* ------------------------------------------------- registration */
	/* bytes of a handle, which starts with a struct shmstat_counter
	 * (required for a metric type) */
	size_t handle_size;
	/* the type's fields of a descriptor from @sh, and back */
	void (*desc_put)(struct shmstat_desc *d, const struct shmstat_shape *sh);
	void (*desc_get)(const struct shmstat_desc *d, struct shmstat_shape *sh);
	/* Does an existing metric of shape @have (same type) satisfy a
	 * request for @want? 0 or SHMSTAT_ETYPE with the message set. */
	int (*same_shape)(const struct shmstat_shape *have, const struct shmstat_shape *want,
			  const char *name, const char *labels);
	/* Set up the type's part of handle @h (its struct shmstat_counter
	 * filled) for descriptor @d of shape @have: 0 or an error. */
	int (*handle_init)(struct shmstat_seg *seg, const struct shmstat_desc *d,
			   const struct shmstat_shape *have, struct shmstat_counter *h);
	/* The process's handle for value slots @off is current (under the
	 * thread-table lock, see registry.c handle_current()) */
	void (*joined)(struct shmstat_seg *seg, uint32_t off);
	bool removable;            /* shmstat_remove() may take it */

	/* ----------------------------------------------------- the fold */
	/* Fold step 1 for metric @d: value slots that are not sums, from
	 * grave @src and process slot @p's stripes (already summed slot by
	 * slot into @dst). */
	void (*fold_slots)(struct shmstat_seg *seg, uint32_t p, const struct shmstat_desc *d,
			   const uint64_t *src, uint64_t *dst);
	/* once per fold, for the whole segment: step 1 (merge into grave
	 * @to from grave @from and @p's parts) and step 2 (give @p's parts
	 * back); both must be pure functions of what they read, so that a
	 * fold redone after a crash writes the same */
	void (*fold)(struct shmstat_seg *seg, uint32_t p, uint32_t from, uint32_t to);
	void (*release)(struct shmstat_seg *seg, uint32_t p);
	/* the reaper, under its lock: repair what dead processes left */
	void (*repair)(struct shmstat_seg *seg);

	/* ------------------------------------------------ writer process */
	void (*thread_start)(struct shmstat_seg *seg);  /* a thread claims a stripe */
	void (*heartbeat)(struct shmstat_seg *seg);
	void (*detach)(struct shmstat_seg *seg);   /* before shmstat_close() */

	/* ---------------------------------------------------- the reader */
	/* Is descriptor @d (checksum, strings and type already checked) a
	 * sound one of this type in a segment with header @h? (required) */
	bool (*desc_ok)(const struct shmstat_hdr *h, const struct shmstat_desc *d);
	/* Copy the type's data beyond the stripes, inside the snapshot's
	 * copy (between its two readings of fold_seq): 0 or an error of
	 * shmstat__copy_read(). */
	int (*copy)(struct shmstat_snap *s);
	/* After the whole copy, still inside it: read again what the copy
	 * may have taken at two moments that do not go together (a gauge's
	 * base and deltas). 0 or an error of shmstat__copy_read(). */
	int (*recheck)(struct shmstat_snap *s);
	/* Free what copy() or recheck() kept in s->ext[type] */
	void (*snap_free)(struct shmstat_snap *s);
	/* The metric's value in the snapshot (required for a metric type) */
	void (*value)(const struct shmstat_snap *s, const struct shmstat__rdesc *d,
		      struct shmstat__mval *m);
	/* Its value for process index @j, or SHMSTAT_PROC_GONE: 0,
	 * ENOENT (no value), EINVAL (not per process). */
	int (*proc_value)(const struct shmstat_snap *s, const struct shmstat__rdesc *d, size_t j,
			  uint64_t *counter, int64_t *gauge);
};

/* The type of descriptor type @type, or NULL for an unknown one. */
SHMSTAT_HIDDEN const struct shmstat__type *shmstat__type_of(uint32_t type);

/* Every type, metric or not, for the segment-wide operations: a NULL
 * terminated array. */
SHMSTAT_HIDDEN extern const struct shmstat__type *const shmstat__types[];

/* Call segment-wide operation @op of every type that has it. */
#define SHMSTAT_EACH_TYPE(op, ...)                                             \
	do {                                                                   \
		for (const struct shmstat__type *const *t_ = shmstat__types;  \
		     *t_ != NULL; t_++)                                        \
			if ((*t_)->op != NULL)                                 \
				(*t_)->op(__VA_ARGS__);                        \
	} while (0)

#endif
