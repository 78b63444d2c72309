/*
 * mdir.h - a snapshot's metric directory (mdir.c): the segment's live
 * descriptors, each checked whole as it is read and kept as its fixed
 * fields and its texts.
 *
 * A descriptor is 512 bytes in the segment (layout.h), most of it room
 * for texts that are short: 100,000 metrics are 51 MB of descriptors.
 * A snapshot reads them a chunk at a time into a small buffer (only the
 * object's data extents: unused slots are holes), checks each live one
 * there (its checksum, a torn one read again alone a few times; its
 * texts and names; its type's shape; its value slots) and keeps only
 * what readers use: a record of a struct shmstat__rdesc (72 bytes) and
 * its four texts after it. So a reader's memory and page faults follow
 * the metrics and their texts, not the room reserved; and a record is a
 * line or two, read (or prefetched) from its offset alone.
 *
 *   rec:  rdesc | name\0labels\0unit\0help\0 (to 8) | rdesc | ...
 *   at[]: the offset of each record in rec     (segment slot order)
 */
#ifndef SHMSTAT_MDIR_H
#define SHMSTAT_MDIR_H

#include <stddef.h>
#include <stdint.h>

#include "copier.h"
#include "layout.h"
#include "util.h"

/* A descriptor as a snapshot keeps it: the fields of struct shmstat_desc
 * that describe a metric, under the same names, and its texts as offsets
 * into the directory's text. */
struct shmstat__rdesc {
	uint64_t reg_id;
	uint64_t created_ns;
	uint32_t slot;             /* its index among the segment's */
	uint16_t type;             /* enum shmstat_type */
	uint16_t agg;
	uint32_t value_off;
	uint32_t nvalues;
	uint32_t bits;
	uint32_t sig_pool;
	union {
		struct {
			uint64_t lowest;
			uint64_t highest;
		};
		struct {
			uint32_t sig_first;
			uint32_t sig_capacity;
			uint16_t sig_keybytes;
			uint16_t sig_owners;
			uint32_t sig_ttl_ms;
		};
	};
	uint32_t name, labels, unit, help;     /* offsets in rec */
};

/* Which metrics a reader wants, by name and labels (nonzero: wanted). */
typedef int (*shmstat__want_fn)(const char *name, const char *labels, void *arg);

struct shmstat__mdir {
	uint32_t *at;              /* n records' offsets in rec */
	size_t n, cap;
	unsigned char *rec;
	size_t used, reccap;
	uint32_t bad;              /* live descriptors that failed a check */
};

/* Read the descriptors of the object into @md (emptied first): those of
 * its @h->max_metrics slots at @h's descriptor region that are live and
 * sound, and wanted (@want NULL: every one), in slot order. Read through
 * @cp's data extents (a hole is a free slot), a chunk at a time into
 * *@scratch (SHMSTAT_SPARSE_CHUNK bytes, page-aligned; allocated when
 * NULL, the caller frees it). 0, -1 (truncated), EFBIG (past the
 * reader's limit) or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__mdir_read(struct shmstat__mdir *md, struct shmstat__copier *cp,
				      const struct shmstat_hdr *h, uint64_t **scratch,
				      shmstat__want_fn want, void *want_arg);

SHMSTAT_HIDDEN void shmstat__mdir_free(struct shmstat__mdir *md);

/* The descriptor of the record at offset @off of @md (at[k]) */
static inline const struct shmstat__rdesc *shmstat__mdir_desc(const struct shmstat__mdir *md,
							      uint32_t off)
{
	return (const struct shmstat__rdesc *)(const void *)(md->rec + off);
}

/* The text at offset @off of @md (an rdesc's name, labels, unit, help) */
static inline const char *shmstat__mdir_text(const struct shmstat__mdir *md, uint32_t off)
{
	return (const char *)md->rec + off;
}

#endif
