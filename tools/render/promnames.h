/*
 * promnames.h - the names a metric takes in a Prometheus or OpenMetrics
 * exposition, and which of them another metric took first (promnames.c):
 * whatever writers registered, an exposition gives each name to one
 * metric (prom.c leaves the others out).
 */
#ifndef SHMSTAT_PROMNAMES_H
#define SHMSTAT_PROMNAMES_H

#include <stddef.h>

#include "shmstat.h"

/* Base units (Prometheus' conventions): a metric registered in ns is
 * exported in seconds, its name ending in _seconds; one in bytes ends
 * in _bytes (prom_export_name(), prom.h). */
enum { EXPO_SECONDS = 1, EXPO_BYTES = 2 };

/* Why a metric is left out: a name of an earlier metric's, or of the
 * exporter's own families (shmstat_build_info, shmstat_segment_*...) */
enum { DROP_CLASH, DROP_RESERVED, NDROP };
extern const char *const prom_drop_reason[NDROP];

/* What a signature table counts, in its families' names */
extern const char *const prom_sig_what[4];
/* The families of a signature table: 0-3 its totals, 4-6 its owners'
 * (counters), 7 its bound, 8-10 its top keys (gauges) */
enum { SIG_COUNTERS = 7, SIG_FAMILIES = 11 };

/* Family @w of table @name, @sfx added, into @buf (@n bytes) */
void prom_sig_family(char *buf, size_t n, const char *name, int w, const char *sfx);

/* The length of the OpenMetrics family of a counter exported as @e:
 * without _total, unless nothing would be left (a counter named _total:
 * an empty family name makes Prometheus drop the whole scrape). */
size_t prom_counter_stem(const char *e);

/* The names taken so far, each leading to the item that took it */
struct prom_names;

/* The most names a metric of @type takes */
size_t prom_names_most(enum shmstat_type type);

/* Room for @most names: NULL when out of memory */
struct prom_names *prom_names_new(size_t most);
void prom_names_free(struct prom_names *pn);

/* Metric @m, in the render order: DROP_* when a name it takes in either
 * format (with those OpenMetrics keeps for it: _created, _total,
 * _bucket...) is reserved, or was taken for an item that is not @m's
 * (@same(item, @arg) false: an item of @m in another segment takes the
 * same names); else -1, and its names not taken yet are taken for item
 * @at. -2 when out of memory. @warn: say on stderr which metric is left
 * out and why. */
int prom_names_take(struct prom_names *pn, const struct shmstat_metric_info *m, int at,
		    int (*same)(int item, void *arg), void *arg, int warn);

#endif
