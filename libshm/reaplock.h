/*
 * reaplock.h - the reaper lock (reaplock.c): the one process that folds,
 * repairs and reclaims at a time (grace.c).
 */
#ifndef SHMSTAT_REAPLOCK_H
#define SHMSTAT_REAPLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include "segment.h"
#include "procs.h"

/* Take the reaper lock, free or from a dead holder (the caller then
 * finishes the fold that holder left: grace.c). @wait_ms: how long to
 * wait for a live holder. true when taken. */
SHMSTAT_HIDDEN bool shmstat__reaper_lock(struct shmstat_seg *seg, unsigned wait_ms);
SHMSTAT_HIDDEN void shmstat__reaper_unlock(struct shmstat_seg *seg);

/* The lock's word for this process image (its tag and a byte of the
 * image's number). */
SHMSTAT_HIDDEN uint64_t shmstat__reaper_word(const struct shmstat_seg *seg);

/* The state of holder @holder (not 0, not our own word), for a caller
 * that waits for it or names it: a holder of another pid namespace that
 * holds the lock of the lock's byte runs; one that says so and holds it
 * no more is GONE (a hint: only shmstat__reaper_lock() takes the lock
 * from it, under a lock of the byte of its own). */
SHMSTAT_HIDDEN enum shmstat_tag_state shmstat__reaper_holder_state(struct shmstat_seg *seg,
								   uint64_t holder);

/* In a fork()ed child: close the descriptor a thread of the parent held
 * the reaper lock's byte with (the lock stays the parent's). */
SHMSTAT_HIDDEN void shmstat__reaper_forget(struct shmstat_seg *seg);

#endif
