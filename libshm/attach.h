/*
 * attach.h - maintenance attachments (attach.c).
 */
#ifndef SHMSTAT_ATTACH_H
#define SHMSTAT_ATTACH_H

#include "segment.h"

/* Map segment @name read-write for maintenance (gc) into @seg: with this
 * process's tag for the reaper lock, no writer slot, no stripes. Unmap
 * with shmstat__seg_unmap(). */
SHMSTAT_HIDDEN int shmstat__seg_maintain(struct shmstat_seg *seg, const char *name);

#endif
