/*
 * gaugesnap.h - gauges in a snapshot: a process's value read again
 * where its copy may mix two moments (gaugesnap.c).
 *
 * A process's value of a gauge is its base (process stripe, written by
 * shmstat_gauge_set) plus its deltas (its stripes, written by adds). A
 * copy reads the two at different moments; a set between them (which
 * moves the base by the deltas added since the last set) makes base +
 * deltas a value the process never had. Each set counts itself in the
 * process slot (sets_begun before its stores, sets_done after), so a
 * reader knows which processes set a gauge while it copied, and reads
 * those processes' gauges again, alone, until no set came between.
 */
#ifndef SHMSTAT_GAUGESNAP_H
#define SHMSTAT_GAUGESNAP_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct shmstat_snap;

/* After the whole copy, between its two readings of fold_seq: of every
 * process whose sets counters moved since the tables were copied (or
 * that was inside a set then), the gauges read again. 0, -1
 * (truncated), EFBIG (past the reader's limit) or ENOMEM. */
SHMSTAT_HIDDEN int shmstat__gauge_recheck(struct shmstat_snap *s);

/* Free what the recheck kept in the snapshot */
SHMSTAT_HIDDEN void shmstat__gauge_snap_free(struct shmstat_snap *s);

/* The value and stamp of the gauge at value slot @off for process slot
 * @proc, when the recheck read them again: true, else false (the copy's
 * are the process's). */
SHMSTAT_HIDDEN bool shmstat__gauge_reread(const struct shmstat_snap *s, uint32_t proc,
					  uint32_t off, int64_t *value, uint64_t *stamp);

#endif
