/*
 * cfitab.h - a process's unwind table: the rows (cfi.h) of every module
 * loaded, built outside the handler (profiler start, heartbeat after a
 * dlopen), one block:
 *
 *   module:  [lo, hi) executable range, its rows [first, first + n)
 *
 * A table is immutable once built: the handler looks a pc up with two
 * binary searches (shmstat__cfi_find: no lock, no allocation, no system
 * call) in a table the profiler publishes with a release store, and
 * frees only after no handler can still be reading it (profiler.c).
 */
#ifndef SHMSTAT_CFITAB_H
#define SHMSTAT_CFITAB_H

#include <stddef.h>
#include <stdint.h>

#include "cfi.h"

struct shmstat_cfimod {
	uintptr_t lo, hi;
	uint32_t first, n;
};

/* A process's table: one block, mods sorted by lo, then the rows. */
struct shmstat_cfitab {
	size_t bytes;              /* of the whole block */
	uint32_t nmod, nrows;
	unsigned long long adds, subs;   /* dlpi_adds/subs it was built at */
	struct shmstat_cfimod *mods;
	struct shmstat_cfirow *rows;
};

/* The tables of loaded module @info (from dl_iterate_phdr, whose lock
 * keeps it mapped while they are parsed): 0, or -1 when it has none. */
struct dl_phdr_info;
SHMSTAT_HIDDEN int shmstat__cfi_source(const struct dl_phdr_info *info, struct shmstat_cfisrc *src);

/*
 * shmstat__cfi_build - the table of every module loaded now
 * (dl_iterate_phdr: takes the loader's lock; never in a signal handler).
 * NULL when out of memory or no module has a table.
 */
SHMSTAT_HIDDEN struct shmstat_cfitab *shmstat__cfi_build(void);
SHMSTAT_HIDDEN void shmstat__cfi_free(struct shmstat_cfitab *t);

/* Has anything been loaded or unloaded since @t was built? */
SHMSTAT_HIDDEN int shmstat__cfi_stale(const struct shmstat_cfitab *t);

/*
 * shmstat__cfi_find - the row for @pc in @t, or NULL when no module
 * holds @pc or its row is NONE. Async-signal-safe: two binary searches.
 */
SHMSTAT_HIDDEN const struct shmstat_cfirow *shmstat__cfi_find(const struct shmstat_cfitab *t,
							      uintptr_t pc);

#endif
