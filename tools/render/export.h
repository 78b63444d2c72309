/*
 * export.h - machine formats of a snapshot (JSON, Prometheus, OpenMetrics,
 * CSV), for `shmstat show`.
 */
#ifndef SHMSTAT_EXPORT_H
#define SHMSTAT_EXPORT_H

#include <stdint.h>
#include <stdio.h>
#include "shmstat.h"

enum export_format { EXPORT_TEXT, EXPORT_JSON, EXPORT_PROM, EXPORT_OPENMETRICS, EXPORT_CSV };

/* Rates per second that JSON prints (the other formats have no place
 * for them): @rate[i] of metric i of the snapshot (NaN: none, null)
 * over the last @over_ns; @rate NULL: each metric's since its creation,
 * computed as it is written (rate_since()). */
struct export_rates {
	const double *rate;
	uint64_t over_ns;
};

/* @counter per second over the time from @created_ns to @taken_ns; NaN
 * when no time passed */
double rate_since(uint64_t counter, uint64_t created_ns, uint64_t taken_ns);

/* Write metrics @order[0..n-1] of @s (segment @name) to @f; with
 * @per_process, JSON also lists the writer processes and each metric's
 * share per process; with @rates (may be NULL), JSON has each counter's,
 * histogram's and signature table's rate. EXIT_OK or EXIT_ERR (said
 * why). */
int export_snapshot(FILE *f, enum export_format fmt, const char *name, const shmstat_snap *s,
		    const size_t *order, size_t n, int per_process,
		    const struct export_rates *rates);

/* Signature table @i of @s as JSON (the object of show --json's "table";
 * top --json and serve's /api/v1/top): its figures, its top @top keys
 * by @by (of @owner only if not NULL), high-value from @hv guaranteed
 * hits, and its owners (@owner only if not NULL). 0 when @owner is
 * named (not NULL, not "": the keys without an owner) and the table has
 * no owner of that name; 1 otherwise, also when the table could not be
 * read (written as null). */
int export_sig_json(FILE *f, const shmstat_snap *s, size_t i, enum shmstat_sig_order by,
		    const char *owner, size_t top, uint64_t hv);

#endif
