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
 * exporter's own families (shmstat_build_info, shmstat_segment_*...);
 * why a descriptor is: its metric and labels are an earlier one's of
 * its segment (two descriptors alike: a forged or corrupted segment) */
enum { DROP_CLASH, DROP_RESERVED, DROP_DUPLICATE, NDROP };
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

/* The names taken so far. Every name a metric takes is its key (its
 * OpenMetrics family) plus one of a few suffixes fixed by its type, so
 * two metrics share a name only when one's key is the other's plus the
 * head of a suffix. The render order sorts by key, which puts a key's
 * extensions right after it: a stack of the keys the current one
 * extends, each with the first metric kept under it, finds every clash
 * with no table of names. */
struct prom_names;

/* NULL when out of memory */
struct prom_names *prom_names_new(void);
void prom_names_free(struct prom_names *pn);

/* Metric @m under key @key (@kl bytes), in the render order (keys never
 * decreasing): DROP_* when a name it takes in either format (with those
 * OpenMetrics keeps for it: _created, _total, _bucket...) is reserved,
 * or is taken by an item that is not @m's (@same(item, @arg) false: an
 * item of @m in another segment takes the same names); else -1, and it
 * is kept as item @at. -2 when a key is too long. @warn: say on stderr
 * which metric is left out and why. */
int prom_names_take(struct prom_names *pn, const struct shmstat_metric_info *m, const char *key,
		    size_t kl, int at, int (*same)(int item, void *arg), void *arg, int warn);

#endif
