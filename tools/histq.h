/*
 * histq.h - what the history commands share: opening a history and
 * reading the frames of a time range, picking a figure for a series, and
 * printing a figure's value.
 */
#ifndef SHMSTAT_HISTQ_H
#define SHMSTAT_HISTQ_H

#include <stddef.h>
#include <stdint.h>

#include "shmstat_history.h"
#include "shmstat_window.h"

struct frames {
	shmstat_history *h;
	shmstat_frame **f;
	size_t n;
};

/* Open history @path and read its frames in [@from_ns, @to_ns]; on failure
 * print why and return EXIT_ERR. */
int frames_load(struct frames *fr, const char *path, uint64_t from_ns, uint64_t to_ns);
/* The same for a window [@from_ns, @to_ns]: also the last record before
 * it (shmstat_history_window_range()), where its increases start; the
 * frames hold only the series @keep keeps (NULL: all;
 * shmstat_history_window_select()), so that a window of many records
 * costs what the series asked about take, not every series. */
int frames_load_window(struct frames *fr, const char *path, uint64_t from_ns, uint64_t to_ns,
		       shmstat_series_filter keep, void *arg);
/* A shmstat_series_filter keeping no series (the records alone). */
int keep_none(void *arg, const char *n, const char *labels, enum shmstat_type type);
/* A shmstat_series_filter keeping the series named @name (a char *). */
int keep_named(void *name, const char *n, const char *labels, enum shmstat_type type);
void frames_free(struct frames *fr);

/* A window's records span to_ns - from_ns of its shmstat_wvalue: the time
 * between the two records its increases are taken between, longer than
 * the window where the history has a gap across its start (a recorder
 * stopped, a machine suspended, the clock stepped) or records further
 * apart than the window. The tools say it beside the value when it is
 * more than WINDOW_SPAN_SAY_PCT percent longer than the window; check
 * gives no value (UNKNOWN) for one more than WINDOW_SPAN_MAX times the
 * window: records up to twice the window apart still serve it. */
#define WINDOW_SPAN_SAY_PCT 10
#define WINDOW_SPAN_MAX 3
#define WINDOW_SPAN_MAX_TEXT "3"
/* trend leaves out a sub-window past it (SHMSTAT_TREND_SPAN_MAX): one
 * rule for check's windows and trend's steps */
_Static_assert(WINDOW_SPAN_MAX == SHMSTAT_TREND_SPAN_MAX, "one span rule");
/* what a span past WINDOW_SPAN_MAX times the window (or step) says */
#define WINDOW_GAP_GUESS \
	"(a gap in the history: recorder stopped, machine suspended or clock stepped?)"
static inline int window_span_long(uint64_t span_ns, uint64_t window_ns)
{
	return window_ns && span_ns > window_ns + window_ns / 100 * WINDOW_SPAN_SAY_PCT;
}

/* Too long to serve the window: check gives it no value. */
static inline int window_span_gap(uint64_t span_ns, uint64_t window_ns)
{
	return window_ns && span_ns > WINDOW_SPAN_MAX * window_ns;
}

/* Time of frame @k. */
uint64_t frame_time(const struct frames *fr, size_t k);

/* The figure a series of @type is judged by when none is asked for:
 * counter rate, gauge value, histogram quantile (p95), sig hit ratio. */
enum shmstat_figure default_figure(int type);

/* "rate", "increase", "gauge", "quantile", "mean", "hits", "misses",
 * "weight", "evictions", "hit_ratio" <-> the figure; -1 when unknown
 * ("hit-rate" and "hit_rate", the names before, are read too). */
int figure_parse(const char *s);
const char *figure_name(enum shmstat_figure f);

/* Is a higher value of @f better (1), worse (-1), or neither (0)? */
int figure_polarity(enum shmstat_figure f);

/* @v of figure @f as units.h writes it: in the series' @unit, a
 * percentage for hit ratios, "/s" for rates; @raw: exact numbers. */
void fmt_figure(char *buf, size_t n, enum shmstat_figure f, double v, const char *unit, int raw);

/* The unit of series @name in the last frame of @fr ("" if none). */
const char *series_unit(const struct frames *fr, const char *name);

/* Indices of the series of frame @f sorted by name, labels (*@n of
 * them); NULL when out of memory. */
size_t *series_sorted(const shmstat_frame *f, size_t *n);

/* The type of series @name (any labels) in the last frame of @fr; -1 if
 * absent. */
int series_type(const struct frames *fr, const char *name);

/* A set of series by name and labels (the series of a window that its
 * last record does not hold): added to as met, then sorted (each once),
 * then looked up. */
struct series_set {
	struct series_key {
		char *name, *labels;
		enum shmstat_type type;
	} *s;
	size_t n, cap;
	int oom;                   /* an add ran out of memory */
};

/* Add @name {@labels} of @type (a copy); sets @set->oom on failure. */
void series_set_add(struct series_set *set, const char *name, const char *labels,
		    enum shmstat_type type);
/* Sort by name, labels, each series once (with one of the types met). */
void series_set_sort(struct series_set *set);
/* Is @name {@labels} in sorted @set? */
int series_set_has(const struct series_set *set, const char *name, const char *labels);
/* strcmp order of @name {@labels} against @k */
int series_cmp(const char *name, const char *labels, const struct series_key *k);
void series_set_free(struct series_set *set);

/* The queries of key @k over [@from, @to] into @q (at most 4): how many */
typedef size_t (*series_queries_fn)(const struct series_key *k, uint64_t from, uint64_t to,
				    struct shmstat_wrange *q);

/* The figures of sorted @set's series over [@from, @to], in a walk of
 * their own: each series' queries (@queries) answered in order into
 * *@v (free it; NULL when @set is empty). 0, ENOMEM or the walk's error
 * (shmstat_history_windows()). */
int series_set_windows(shmstat_history *h, uint64_t from, uint64_t to,
		       const struct series_set *set, series_queries_fn queries,
		       struct shmstat_wvalue **v);

#endif
