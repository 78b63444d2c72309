/*
 * modmap.h - module maps of profiled processes, kept in the segment.
 *
 * A sampled stack is a list of addresses of one process; to name them
 * later, even after the process exited, a reader needs what was loaded
 * where. Each profiled process publishes into the mods region (layout.h,
 * struct shmstat_profmod):
 *
 *   - a process record (kind PROC): comm, sampling rate, start time, at
 *     every profiler start, replacing the one of the start before (so
 *     that starting and stopping does not fill the table);
 *   - a module record (kind MODULE) per loaded ELF object: its path, its
 *     GNU build-id (read from the PT_NOTE segments already in memory, so
 *     a reader can tell a file replaced since), its load bias and the
 *     range of its executable segments.
 *
 * A module is known by its load bias, executable range, path and
 * build-id: another library loaded where an unloaded one was is a new
 * module. One that is no longer loaded (dlclose) is retired: a copy of
 * its record with `gone` set to a new seq is published, then the
 * original freed, so a reader sees the module in one of the two at any
 * time. seq numbers every record and retirement of the process in the
 * segment (continuing from the highest seq of the process's records
 * found there), so a seq is a point in the process's module history: a
 * module record with seq <= g and (gone == 0 or g < gone) was loaded at
 * g. The profiler stores the seq reached after each publication in its
 * CPU stacks (metric), and readers name a frame with the module loaded
 * when the sample was taken.
 *
 * Records are claimed with a CAS (FREE -> CLAIMED|tag), filled, summed
 * and made READY with a release store; they never change afterwards
 * (a replaced process record is freed: READY -> CLAIMED -> FREE). A
 * record whose claimer died half-way stays CLAIMED and readers skip it,
 * until shmstat_profile_gc frees it (and the records of gone processes).
 * Publication runs outside signal handlers (profiler start, heartbeat),
 * as dl_iterate_phdr takes the loader's lock.
 */
#ifndef SHMSTAT_MODMAP_H
#define SHMSTAT_MODMAP_H

#include <stdint.h>

#include "segment.h"

/* What this process published already (process-local). */
struct shmstat_modpub {
	uint32_t seq;              /* the last seq given (records, retirements) */
	uint32_t n, cap;           /* modules in seen[], its room */
	uint32_t proc_slot;        /* 1 + the index of the process record, 0: none */
	unsigned long long adds;   /* dlpi_adds at the last scan */
	unsigned long long subs;   /* dlpi_subs at the last scan */
	struct shmstat_modseen {
		uint64_t base, lo, hi;
		uint64_t id;       /* hash of the path and build-id published */
		uint32_t seq;      /* of its record */
		uint32_t slot;     /* its record's index */
		int mark;          /* found loaded by the scan under way */
	} *seen;                   /* malloc'd, grown as modules are published */
};

/* Forget what @pub published (its segment is no longer used): free it
 * and zero it. */
SHMSTAT_HIDDEN void shmstat__modmap_forget(struct shmstat_modpub *pub);

/*
 * shmstat__modmap_publish - publish a process record (comm, @hz) when
 * @hz_record, a module record for every loaded module not in @pub, and
 * retire every module of @pub no longer loaded. After it, @pub->seq is
 * the point in the module history the samples taken from now on belong
 * to.
 * Return 0, or SHMSTAT_EFULL when some record found no free slot (the
 * header's prof_mods_dropped counts them).
 */
SHMSTAT_HIDDEN int shmstat__modmap_publish(struct shmstat_seg *seg, struct shmstat_modpub *pub,
					   int hz_record, unsigned hz);

/* Validate a private copy of a record: 1 usable, 0 free or being
 * filled, -1 bad (checksum, kind, unterminated strings). */
SHMSTAT_HIDDEN int shmstat__modmap_check(const struct shmstat_profmod *m);

#endif
