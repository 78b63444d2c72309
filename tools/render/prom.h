/*
 * prom.h - Prometheus text format 0.0.4 and OpenMetrics 1.0 of one or
 * more snapshots, for `shmstat show --prom/--openmetrics` and `shmstat
 * serve`.
 *
 * Counters are exported as counters (OpenMetrics: family without
 * `_total`, samples with it), gauges as gauges, histograms as classic
 * cumulative `_bucket{le=...}`, `_sum`, `_count`, signature tables as
 * one family per meaning: the table's exact totals (`NAME_hits_total`,
 * `_misses_total`, `_weight_total`, `_evictions_total`), the owners'
 * (`NAME_owner_hits_total
 * {owner}`...), the bound (`NAME_max_error`) and the top keys by hits
 * (`NAME_top_hits`, `_top_hits_error`, `_top_high_value`, gauges, at most
 * `top` series each per table: bounded cardinality).
 *
 * Base units: a metric registered in ns is exported in seconds (name
 * ending in `_seconds`, values and `le` exact decimals), one in bytes
 * with a name ending in `_bytes`; OpenMetrics adds `# UNIT`.
 *
 * `le` bounds come from the log-linear buckets: in every power of two
 * [2^e, 2^(e+1)) from the histogram's lowest value to its highest, the
 * `le_per_octave` bounds 2^e + i * 2^e / le_per_octave - 1 (i = 1 ..
 * le_per_octave; 1: the powers of two minus one), capped at
 * 2^(bits - 1) per octave so that every bound is a bucket edge: the
 * count at each bound is exact.
 *
 * Every exposition ends with `shmstat_build_info` (with build_segment,
 * one a segment, labelled); with segment_label,
 * the segments' health too (`shmstat_segment_up`, `_writers{state}`,
 * `_dropped_total{what}`, `_used_ratio{region}`).
 *
 * Several snapshots (segments) are merged into one exposition: one
 * HELP/TYPE per family, each series labelled segment="NAME".
 *
 * Each name is exported by one metric (name, type and unit) at most,
 * whatever the writers registered: a metric is left out when a name it
 * would take (its family, its samples', and those OpenMetrics keeps for
 * them: _total, _created, _bucket, _sum, _count; a signature table's
 * families) is taken by a metric before it in the order of the
 * exposition (by family, then segment), or starts like the exporter's
 * own (shmstat_build, shmstat_segment_, shmstat_scrape_, shmstat_serve_).
 * With segment_label, shmstat_scrape_dropped_metrics{segment,reason}
 * counts them (reason name_clash or reserved_name), and the descriptors
 * whose metric and labels an earlier one of the segment has (reason
 * duplicate_series).
 */
#ifndef SHMSTAT_PROM_H
#define SHMSTAT_PROM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shmstat.h"

struct prom_src {
	const char *segment;       /* its name */
	const shmstat_snap *snap;  /* NULL: the segment could not be read */
	const size_t *order;       /* metric indices to export; NULL: all */
	size_t n;
};

struct prom_opts {
	int om;                    /* OpenMetrics 1.0 (ends with # EOF) */
	unsigned le_per_octave;    /* 1, 2, 4 ... 64 */
	unsigned top;              /* top keys per signature table */
	int segment_label;         /* label every series segment="NAME" and
				    * add shmstat_segment_up per segment */
	size_t max_series;         /* sample lines per segment, 0: no limit;
				    * a histogram is all in or all out */
	uint64_t max_bytes;        /* of the families, 0: no limit; the tail
				    * (up, truncated, @tail) comes on top */
	const char *tail;          /* more families, before # EOF; or NULL */
	uint64_t started_ns;       /* mono_ns() (timearg.h) when the request came: adds
				    * shmstat_scrape_duration_seconds; 0: no */
	int warn;                  /* warnf() each metric left out for its
				    * names (below) */
	int build_segment;         /* shmstat_build_info labelled
				    * segment="NAME" too (a textfile: node
				    * exporter refuses one series in two
				    * files) */
};

/* The name metric @name (of @type, registered in @unit) is exported
 * under, before _bucket, _sum, _count, into @buf: with _seconds (unit
 * ns) or _bytes (unit bytes) added before a counter's _total, unless the
 * name says so already; a counter's always ends in _total (added when
 * the name has none), in both formats. 1 when its values are exported
 * in seconds (from ns), 2 when in bytes, else 0. */
int prom_export_name(const char *name, const char *unit, enum shmstat_type type, char *buf,
		     size_t n);

#define PROM_MAX_LE_PER_OCTAVE 64u
#define PROM_MAX_TOP 1000u

/* Write the exposition of @src[0..nsrc-1] to @f. 0, or ENOMEM. */
int prom_render(FILE *f, const struct prom_src *src, size_t nsrc, const struct prom_opts *o);

/* The same, piece by piece (a family or a few at a time, at least 64 KiB
 * unless the last), for a streamed response: @src and its snapshots stay
 * alive until prom_iter_free(). With segment_label and a limit, series
 * past max_series of a segment (a histogram whole) or past max_bytes in
 * all are left out and shmstat_scrape_truncated{segment} says so (1). */
struct prom_iter;
int prom_iter_new(const struct prom_src *src, size_t nsrc, const struct prom_opts *o,
		  struct prom_iter **out);
/* Up to @max bytes of it into @out: how many; 0 at the end (or after
 * ENOMEM: prom_iter_error()). */
size_t prom_iter_read(struct prom_iter *pi, char *out, size_t max);
int prom_iter_error(const struct prom_iter *pi);
void prom_iter_free(struct prom_iter *pi);

#endif
