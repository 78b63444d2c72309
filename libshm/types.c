/*
 * types.c - the table of types: the one file that names them all.
 *
 * A new metric type fills a struct shmstat__type (type.h) in its own
 * files and is added here; nothing in the core changes.
 */
#include "counter.h"
#include "histogram.h"
#include "profiler.h"
#include "sigtable.h"
#include "type.h"

const struct shmstat__type *const shmstat__types[] = {
	&shmstat__counter_type,
	&shmstat__gauge_type,
	&shmstat__hist_type,
	&shmstat__sig_type,
	&shmstat__profile_type,
	NULL,
};

const struct shmstat__type *shmstat__type_of(uint32_t type)
{
	for (const struct shmstat__type *const *t = shmstat__types; *t != NULL; t++)
		if ((*t)->type == type)
			return *t;
	return NULL;
}
