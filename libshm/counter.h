/*
 * counter.h - the counter and gauge types (counter.c).
 *
 * Their hot paths are a relaxed load and store on the calling thread's
 * own stripe (tls.h); a gauge's set writes its process stripe.
 */
#ifndef SHMSTAT_COUNTER_H
#define SHMSTAT_COUNTER_H

#include <stdint.h>

#include "tls.h"

/* struct shmstat_gauge: shmstat_inline.h */

SHMSTAT_HIDDEN extern struct shmstat_counter shmstat__noop_counter;
SHMSTAT_HIDDEN extern struct shmstat_gauge shmstat__noop_gauge;

struct shmstat__type;
SHMSTAT_HIDDEN extern const struct shmstat__type shmstat__counter_type;
SHMSTAT_HIDDEN extern const struct shmstat__type shmstat__gauge_type;

#endif
