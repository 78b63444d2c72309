/*
 * watch.h - shmstat watch, between its files: watch_rows.c keeps each
 * metric's samples and makes the rows of one refresh (the model);
 * watch.c (the command, its block and --lines forms) and watch_tty.c
 * (the full-screen view) print them, their names cut to their column
 * (watch_names.c: rows alike told apart).
 *
 * A row is a metric (its value, rate over the last interval, average
 * rates over the last 1, 5 and 15 minutes of the watch, the rates of
 * the last SPARK intervals) or a hit ratio (hits / (hits + misses) of a
 * *hits* metric and its *misses* twin: since their creation, and over
 * the same windows). Every figure is a string already, in the metric's
 * unit (units.h); "-" where there is no value yet, "" where the figure
 * does not apply (a gauge's rate).
 */
#ifndef SHMSTAT_WATCH_H
#define SHMSTAT_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "shmstat.h"
#include "cli.h"
#include "units.h"

#define SPARK 16                /* rates kept for the sparkline */
#define WINDOWS 3               /* averages over the last 1m, 5m, 15m */
#define HISTORY 1024            /* samples kept per metric, >= 0.9s apart */
#define RING_FIRST 4            /* a ring's first size; doubled when full */
/* A row's name: a whole name{labels} (METRIC_TEXT_MAX, NUL included)
 * and " hit ratio" */
#define WATCH_NAME_MAX (METRIC_TEXT_MAX + 16)
/* A row's labels line (watch_labels_line()): its type, unit, whole
 * labels, a histogram's quantiles */
#define WATCH_LINE_MAX (METRIC_TEXT_MAX + 320)

extern const double watch_window_s[WINDOWS];    /* 60, 300, 900 */
extern const char *const watch_window_name[WINDOWS];    /* "1m", "5m", "15m" */

struct series {
	char *key;                 /* name{labels}, printable, whole (its own
				    * length: cut at 399 bytes, two label sets
				    * alike that far were one row's name) */
	uint64_t hash;             /* of key and ord, for the index */
	unsigned ord;              /* 0; the n-th of one key in a refresh: n - 1 */
	uint64_t reg_id;
	enum shmstat_type type;
	struct sample {
		uint64_t v;        /* counter value or histogram count */
		double t;          /* seconds, monotonic */
	} *ring;                   /* NULL until a sample is kept */
	unsigned ringcap;          /* RING_FIRST doubled, HISTORY at most */
	unsigned n, head;          /* samples in the ring, where the next goes */
	uint64_t last_v;           /* the newest sample (also in the ring */
	double last_t;             /* unless too close to the one before) */
	uint64_t prev_v;           /* the sample before it */
	double prev_t;
	unsigned samples;
	double rates[SPARK];
	unsigned nrates;
	shmstat_hdata *prev;       /* histograms: last snapshot's copy */
	int seen;
};

enum { SORT_NAME, SORT_RATE, SORT_VALUE, NSORTS };

struct watch {
	struct series *s;
	size_t n, cap;
	size_t *idx;               /* open addressing on series.hash: an index
				    * in s plus 1, 0 a free slot */
	size_t idx_cap;            /* a power of two, > 2 n; 0: none yet */
	int idx_stale;             /* s was compacted: build idx again */
	unsigned long long probes; /* series looked at by lookups (tests) */
	size_t ring_bytes;         /* of every series' ring (tests) */
	int no_windows;            /* no averages shown (--lines): no rings */
	int raw, sort;
	char **inc, **exc;
	size_t ninc, nexc;
	char filter[128];          /* full screen: a substring ("" none) */
	int utf8;                  /* the locale's charset is UTF-8 */
};

struct row {
	char name[WATCH_NAME_MAX]; /* name{labels}; a ratio: "KEY hit ratio" */
	size_t keylen;             /* bytes of name that are the key */
	int ratio;                 /* a hit-ratio row (after its series) */
	enum shmstat_type type;
	char value[FIG_LEN], rate[FIG_LEN], avg[WINDOWS][FIG_LEN];
	char last[FIG_LEN];        /* per interval: the rate, a gauge's value,
				    * a ratio over the last interval */
	char detail[220];          /* histograms: quantiles of the interval */
	char unit[32], help[332];  /* (its labels: in name, whole) */
	double rate_v, value_v;    /* for sorting */
	double spark[SPARK];
	unsigned nspark;
	size_t series;             /* index in watch.s (it may move: realloc) */
};

/* One snapshot taken at @t (seconds, monotonic): update the series and
 * make the rows, sorted by w->sort; their number, *@rows to free(). */
size_t watch_rows(struct watch *w, const shmstat_snap *s, double t, struct row **rows);

/* Forget every series (the segment was re-created). */
void watch_reset(struct watch *w);

/* Forget every series and free what @w holds (not inc, exc). */
void watch_free(struct watch *w);

/* Sort @rows again, by w->sort. */
void watch_sort(struct watch *w, struct row *rows, size_t n);

/* The sparkline of @r, @cells bars at most (the newest last): UTF-8
 * block elements with @utf8, else ASCII. */
void watch_spark(char *buf, size_t n, const struct row *r, unsigned cells, int utf8);

/* Display cells of UTF-8 text @s (1 a code point; wide ones 2 with a
 * UTF-8 locale); and @s cut to @cells, ending in '~' when cut. */
int cells(const char *s);
int cp_cells(const char *s, size_t *len);     /* of the code point at @s,
						 * *@len its bytes */
void cut_cells(char *dst, size_t n, const char *s, int cells);

/* A line of columns: line_init() starts it with @indent spaces, @sep
 * spaces between columns; line_cell() adds @s (cut to @width cells, with
 * '~' when cut) padded to @width, on the right with @right; line_end()
 * drops the trailing spaces and returns the text. */
struct line {
	char buf[2048];
	size_t len;
	int cells;                 /* display cells so far */
	int n;                     /* columns added */
	int sep;
};
void line_init(struct line *l, int indent, int sep);
void line_cell(struct line *l, const char *s, int width, int right);
const char *line_end(struct line *l);

/* The name of row @r in @width cells. Cut ('~'), it keeps what tells
 * rows apart: a ratio's " hit ratio"; labels that take at most half the
 * width whole, the name cut ("spin_requests_serv~{backend=\"1\"}");
 * longer ones as their values alone, the longest cut first
 * ("cachesim_hits_total{claude,conver~,t1}"); else the key's start and
 * end. */
void watch_name(char *buf, size_t n, const struct row *r, int width);

/* The names of the @n rows @rows[@idx[k]] (@rows[k] when @idx is NULL),
 * shown together in @width cells each: watch_name()'s, but rows whose
 * texts would be one (their names not) are cut anew, in the middle: the
 * name's start, then each place where the row differs from those, with
 * the word there ('~' at each cut: watch_names.c says why). @n strings,
 * to free with watch_names_free(); NULL when out of memory. */
char **watch_names(const struct row *rows, const size_t *idx, size_t n, int width);
void watch_names_free(char **names, size_t n);

/* The whole name of row @sel of those (as watch_names() takes them) in
 * @width cells: cut at its end ('~'), or, when others' would be the same
 * text, cut anew to show where it differs from them. */
void watch_name_sel(char *buf, size_t n, const struct row *rows, const size_t *idx, size_t nidx,
		    size_t sel, int width);

/* The labels line of row @r: "TYPE, unit U, labels L" (its whole
 * labels as its key shows them, "-" for none), and ", last interval Q"
 * with a histogram's quantiles; a ratio's says what its figures are. */
void watch_labels_line(char *buf, size_t n, const struct row *r);

/* The labels line of row @sel of those (as watch_names() takes them) in
 * @width cells: cut at its end ('~'), or, when the lines of others whose
 * labels differ would be the same text, cut anew as watch_name_sel()
 * cuts a name, to show where its labels differ from theirs. */
void watch_labels_sel(char *buf, size_t n, const struct row *rows, const size_t *idx, size_t nidx,
		      size_t sel, int width);

/* "2026-12-05 10:00:00" now, local time */
void watch_stamp(char *buf, size_t n);

/* Seconds, CLOCK_MONOTONIC. */
double watch_now(void);

/* The segment watched (watch.c). */
struct source {
	const char *name;
	shmstat_reader *r;
};

/* The next snapshot of @src, a re-created segment followed (the series
 * reset); NULL and @note when there is none now. @note: what happened,
 * printable ("" nothing). */
shmstat_snap *watch_take(struct source *src, struct watch *w, char *note, size_t nlen);

/* 1 when the terminal on stdout can show the full-screen view: its type
 * (TERM) known and able to move the cursor; else 0 and @why (@n bytes)
 * says what is wrong (initscr() printed "Error opening terminal: unknown."
 * and exited for an unknown type; "dumb" drew nothing). */
int watch_tty_usable(char *why, size_t n);

/* The full-screen view (watch_tty.c), @count snapshots (< 0: until q). */
int watch_tty(struct source *src, struct watch *w, double interval, long count);

#endif
