/*
 * registry.h - the metric directory: register-or-find across processes.
 *
 * Descriptors live in the segment in an open-addressing table probed
 * linearly from hash(name, labels). A slot is claimed by CAS
 * (FREE -> CLAIMED), filled, then published with a release store of LIVE;
 * its fields never change after that. Inside a process, a liburcu lock-free
 * hash table (cds_lfht) maps (name, labels) to the handle, so later lookups
 * touch no shared state. The flavor is urcu-bp, not memb: memb keeps its
 * list of reader threads in their thread-local storage, which a child
 * forked from a multi-threaded writer inherits for threads it does not
 * have (its first synchronize_rcu then crashes); urcu-bp registers threads
 * by itself, and keeps their state in memory of its own. How this copy
 * keeps fork() out of its use of liburcu: rcuuse.h.
 */
#ifndef SHMSTAT_REGISTRY_H
#define SHMSTAT_REGISTRY_H

#include <stddef.h>
#include "segment.h"

/* What a registration asks for, beyond name and labels. The registry
 * reads type, agg, nvalues and lines; the other fields are parameters of
 * one type, read and written by its operations only (type.h), and kept
 * in the descriptor (layout.h) by them. */
struct shmstat_shape {
	uint32_t type, agg;        /* agg: a variant of the type (gauges) */
	uint32_t nvalues;          /* value slots in every stripe */
	uint64_t lines;            /* 128-byte lines of the sigs region */
	uint32_t bits;             /* histograms */
	uint64_t lowest, highest;
	uint32_t sig_capacity, sig_ttl_ms;      /* signature tables */
	uint16_t sig_keybytes, sig_owners;
	uint32_t sig_pool;
	uint32_t sig_first;        /* the first line of the table's run */
};

struct shmstat_counter;

/* Find or create a metric of @shape; *@out is the process's handle (a
 * struct shmstat_counter first in every handle type). */
SHMSTAT_HIDDEN int shmstat__register(struct shmstat_seg *seg, const struct shmstat_metric_def *def,
				     const struct shmstat_shape *shape,
				     struct shmstat_counter **out);

SHMSTAT_HIDDEN void shmstat__index_destroy(struct shmstat_seg *seg);

/* Make this process's handles of metrics that are no longer LIVE (or
 * whose descriptor holds another metric now) do nothing. */
SHMSTAT_HIDDEN void shmstat__drop_removed(struct shmstat_seg *seg);

/* Prometheus metric-name rule. 0 or SHMSTAT_EBADNAME. */
SHMSTAT_HIDDEN int shmstat__check_metric_name(const char *name);

/* Labels (key, value, ..., NULL) to canonical k="v",... sorted by key.
 * 0 or SHMSTAT_EBADNAME. */
SHMSTAT_HIDDEN int shmstat__canon_labels(const char *const *labels, char *out, size_t cap);

/* true when a descriptor's checksum matches its fields */
SHMSTAT_HIDDEN bool shmstat__desc_ok(const struct shmstat_desc *d);

#endif
