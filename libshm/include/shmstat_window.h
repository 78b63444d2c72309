/*
 * shmstat_window.h - figures over a window of history frames: increases
 * and rates of counters, gauges, quantiles of what histograms recorded,
 * signature-table totals and hit rates, and their trend.
 *
 * Frames come from shmstat_history_window_range() (shmstat_history.h).
 * Values in a frame are cumulative; a figure over [from, to] is computed
 * series by series, then summed over the series that match the query,
 * from the frames from the last one at or before from (or, when there is
 * none, the first one after it) to the last one at or before to: a
 * window's increase is what was gained between those two frames, so a
 * window of W covers W wherever the history has a frame at or before its
 * start, whatever the tier's step. (Where the history has a gap across
 * from, the increase also holds what was gained in the gap before from:
 * frames cannot split it; from_ns in the result says where it started.)
 * A series restarts (as a Prometheus counter "reset") when its
 * registration id or its segment's generation changes, or when its value
 * goes down: the increase then counts its new value whole. A series first
 * seen after the first frame counts only what it gained after its first
 * frame.
 */
#ifndef SHMSTAT_WINDOW_H
#define SHMSTAT_WINDOW_H

#include <stddef.h>
#include <stdint.h>
#include <shmstat_history.h>

#ifdef __cplusplus
extern "C" {
#endif

enum shmstat_figure {
	SHMSTAT_FIG_INCREASE,      /* counter: what it gained (histogram:
				    * values recorded; sig table: hits) */
	SHMSTAT_FIG_RATE,          /* the same per second */
	SHMSTAT_FIG_GAUGE,         /* gauge: its value in the last frame */
	SHMSTAT_FIG_QUANTILE,      /* histogram: quantile q of the window */
	SHMSTAT_FIG_MEAN,          /* histogram: mean of the window */
	SHMSTAT_FIG_SIG_HITS,      /* signature table: increases */
	SHMSTAT_FIG_SIG_MISSES,
	SHMSTAT_FIG_SIG_WEIGHT,
	SHMSTAT_FIG_SIG_EVICTIONS,
	SHMSTAT_FIG_SIG_HIT_RATE,  /* hits / (hits + misses) in the window */
};

struct shmstat_wquery {
	const char *name;          /* metric name, exact */
	const char *labels;        /* pairs every matching series has, in
				    * the canonical form k="v",k2="v2" (any
				    * order); NULL or "": every series */
	enum shmstat_figure fig;
	double q;                  /* SHMSTAT_FIG_QUANTILE: 0..1 */
	int exact;                 /* 1: only the series whose labels are
				    * exactly @labels (one series) */
	const char *owner;         /* signature tables: NULL for the table's
				    * totals, else this owner's exact ones
				    * (hits, misses, weight; no evictions):
				    * 0 in frames before it was named; no
				    * frame with it: no such series */
};

struct shmstat_wvalue {
	int has_value;             /* 0: no data (see why) */
	const char *why;           /* when !has_value: a static sentence */
	double value;
	uint64_t samples;          /* what the figure rests on: events for
				    * increases, rates and hit rates, values
				    * recorded for quantiles and means,
				    * series for gauges */
	uint64_t from_ns, to_ns;   /* first and last frame used (a rate's
				    * time); gauges: in the window */
	unsigned series;           /* series matched (0: no such series,
				    * or no gauge with a value) */
	unsigned resets;           /* restarts seen */
};

/**
 * shmstat_window - figure @qy over [@from_ns, @to_ns] of the frames of @f
 * (time order): increases, rates, quantiles, means and table figures
 * from the last frame at or before @from_ns (else the first after it) to
 * the last at or before @to_ns, a rate divided by the time between those
 * two frames; a gauge, its value in the last frame in [@from_ns, @to_ns].
 * Increases need two frames; a gauge one. The frames of the window are
 * found by a binary search, and the query is matched once per set of
 * series (frames share theirs until metrics are added or removed): a
 * window costs its frames times the series matched, not times every
 * series of the frames.
 * Return 0 (*@out filled, maybe without a value), EINVAL (bad query) or
 * ENOMEM.
 */
SHMSTAT_API int shmstat_window(shmstat_frame *const *f, size_t n, const struct shmstat_wquery *qy,
			       uint64_t from_ns, uint64_t to_ns, struct shmstat_wvalue *out);

/* A trend whose change is less than this (in percent of its mean over the
 * window) is "stable". */
#define SHMSTAT_TREND_STABLE_PCT 5.0
/* the most sub-windows of @step_ns shmstat_window_trend() takes (else EINVAL) */
#define SHMSTAT_TREND_MAX_STEPS 100000
/* A sub-window whose figure is taken between records more than this many
 * times its step apart (shmstat_wvalue to_ns - from_ns: a gap in the
 * history across its start, a recorder stopped or a machine suspended)
 * takes no point in a trend: its figure is one of the gap, not of the
 * step. Records up to 3 times the step apart still serve it. */
#define SHMSTAT_TREND_SPAN_MAX 3

struct shmstat_trend {
	size_t points;             /* sub-windows with a value */
	double first, last, mean;  /* the figure in the first and last
				    * sub-windows, and over all of them */
	double slope_per_s;        /* least-squares slope, units per second */
	double change_pct;         /* slope x (last point's time - first's)
				    * / |mean|, in percent: the change the
				    * line makes over the points */
	int direction;             /* 1 rising, -1 falling, 0 stable */
	size_t left_out;           /* sub-windows with a value that take no
				    * point: their records span more than
				    * SHMSTAT_TREND_SPAN_MAX times the step */
};

/**
 * shmstat_window_trend - the trend of @qy over [@from_ns, @to_ns]: the
 * figure in consecutive sub-windows of @step_ns ending at @to_ns (a step
 * that does not divide the window leaves out its oldest part; 0: between
 * consecutive frames in the window; each sub-window as shmstat_window()
 * takes it, so consecutive ones share their boundary frame), a least-squares line
 * through them, its change from the first
 * sub-window to the last. A sub-window whose records span more than
 * SHMSTAT_TREND_SPAN_MAX times @step_ns (a gap in the history) takes no
 * point: it is counted in left_out (a step of 0 leaves none out).
 * Fewer than 2 sub-windows with a value: points < 2, no slope.
 * Return 0, EINVAL (also for more than SHMSTAT_TREND_MAX_STEPS steps in
 * the window) or ENOMEM.
 */
SHMSTAT_API int shmstat_window_trend(shmstat_frame *const *f, size_t n,
				     const struct shmstat_wquery *qy, uint64_t from_ns,
				     uint64_t to_ns, uint64_t step_ns, struct shmstat_trend *out);

/* A query over a window, for shmstat_history_windows(). */
struct shmstat_wrange {
	struct shmstat_wquery qy;
	uint64_t from_ns, to_ns;
};

/* What shmstat_history_windows() read. */
struct shmstat_wread {
	size_t records;            /* frames: the n of the frames' array */
	uint64_t first_ns, last_ns;  /* the first and last frame's times */
};

/**
 * shmstat_history_windows - for each k < @nq, figure @q[k].qy over
 * [@q[k].from_ns, @q[k].to_ns] into @out[k], as shmstat_window() gives
 * it over the frames of shmstat_history_window_select(@h, @from_ns,
 * @to_ns, @keep, @arg), and what was read into @rd (may be NULL); but
 * with the records read one at a time, in one pass for all the queries:
 * the memory taken grows with the series kept and the queries (a
 * histogram's buckets, for each query and series it matches), not with
 * the records of the window. (A record overwritten while it is read, by
 * a writer that has gone round its ring since, leaves out every record
 * before it.) Return 0, EINVAL (a bad query; @out[k] of a query that is
 * not bad is cleared), ENOMEM, or shmstat_history_range()'s errors.
 */
SHMSTAT_API int shmstat_history_windows(shmstat_history *h, uint64_t from_ns, uint64_t to_ns,
					shmstat_series_filter keep, void *arg,
					const struct shmstat_wrange *q, size_t nq,
					struct shmstat_wvalue *out, struct shmstat_wread *rd);

/**
 * shmstat_history_trend - shmstat_window_trend() of @qy over the frames
 * of shmstat_history_window_select(@h, @from_ns, @to_ns, @keep, @arg),
 * with sub-windows of @step_ns (> 0), and in @whole (may be NULL) the
 * figure over the whole window (shmstat_window()), what was read in @rd
 * (may be NULL): read once, as shmstat_history_windows() reads, its
 * memory growing with the sub-windows (at most SHMSTAT_TREND_MAX_STEPS)
 * and the series, not the records. Return 0, EINVAL (also for @step_ns
 * 0), ENOMEM, or shmstat_history_range()'s errors.
 */
SHMSTAT_API int shmstat_history_trend(shmstat_history *h, shmstat_series_filter keep, void *arg,
				      const struct shmstat_wquery *qy, uint64_t from_ns,
				      uint64_t to_ns, uint64_t step_ns, struct shmstat_trend *out,
				      struct shmstat_wvalue *whole, struct shmstat_wread *rd);

/**
 * shmstat_labels_match - 1 if canonical labels @have contain every pair of
 * @want (NULL or "": always), 0 if not, -1 if @want is malformed.
 */
SHMSTAT_API int shmstat_labels_match(const char *have, const char *want);

#ifdef __cplusplus
}
#endif

#endif
