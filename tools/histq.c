/*
 * histq.c - what the history commands share (histq.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "cli.h"
#include "histq.h"
#include "units.h"

/* frames_load(), and with @window frames_load_window() (keeping what
 * @keep keeps) */
static int load(struct frames *fr, const char *path, uint64_t from_ns, uint64_t to_ns,
		int window, shmstat_series_filter keep, void *arg)
{
	int err;

	memset(fr, 0, sizeof(*fr));
	if (shmstat_history_open(path, &fr->h) != 0)
		return die(EXIT_ERR, "%s", shmstat_last_error());
	err = window ? shmstat_history_window_select(fr->h, from_ns, to_ns, keep, arg, &fr->f,
						     &fr->n)
		     : shmstat_history_range(fr->h, from_ns, to_ns, &fr->f, &fr->n);
	if (err != 0) {
		die(EXIT_ERR, "%s", shmstat_last_error());
		frames_free(fr);
		return EXIT_ERR;
	}
	return EXIT_OK;
}

int frames_load(struct frames *fr, const char *path, uint64_t from_ns, uint64_t to_ns)
{
	return load(fr, path, from_ns, to_ns, 0, NULL, NULL);
}

int frames_load_window(struct frames *fr, const char *path, uint64_t from_ns, uint64_t to_ns,
		       shmstat_series_filter keep, void *arg)
{
	return load(fr, path, from_ns, to_ns, 1, keep, arg);
}

int keep_none(void *arg, const char *n, const char *labels, enum shmstat_type type)
{
	(void)arg;
	(void)n;
	(void)labels;
	(void)type;
	return 0;
}

int keep_named(void *name, const char *n, const char *labels, enum shmstat_type type)
{
	(void)labels;
	(void)type;
	return strcmp(n, (const char *)name) == 0;
}

void frames_free(struct frames *fr)
{
	if (fr->f)
		shmstat_frames_free(fr->f, fr->n);
	shmstat_history_close(fr->h);
	memset(fr, 0, sizeof(*fr));
}

uint64_t frame_time(const struct frames *fr, size_t k)
{
	struct shmstat_frame_info fi;

	shmstat_frame_info(fr->f[k], &fi);
	return fi.time_ns;
}

static const char *const fig_names[] = {
	[SHMSTAT_FIG_INCREASE] = "increase",
	[SHMSTAT_FIG_RATE] = "rate",
	[SHMSTAT_FIG_GAUGE] = "gauge",
	[SHMSTAT_FIG_QUANTILE] = "quantile",
	[SHMSTAT_FIG_MEAN] = "mean",
	[SHMSTAT_FIG_SIG_HITS] = "hits",
	[SHMSTAT_FIG_SIG_MISSES] = "misses",
	[SHMSTAT_FIG_SIG_WEIGHT] = "weight",
	[SHMSTAT_FIG_SIG_EVICTIONS] = "evictions",
	[SHMSTAT_FIG_SIG_HIT_RATE] = "hit_ratio",
};

int figure_parse(const char *s)
{
	for (size_t k = 0; k < sizeof(fig_names) / sizeof(fig_names[0]); k++)
		if (strcmp(s, fig_names[k]) == 0)
			return (int)k;
	/* the names of releases before one vocabulary */
	if (strcmp(s, "hit-rate") == 0 || strcmp(s, "hit_rate") == 0)
		return SHMSTAT_FIG_SIG_HIT_RATE;
	return -1;
}

const char *figure_name(enum shmstat_figure f)
{
	return (size_t)f < sizeof(fig_names) / sizeof(fig_names[0]) ? fig_names[f] : "?";
}

enum shmstat_figure default_figure(int type)
{
	switch (type) {
	case SHMSTAT_GAUGE: return SHMSTAT_FIG_GAUGE;
	case SHMSTAT_HISTOGRAM: return SHMSTAT_FIG_QUANTILE;
	case SHMSTAT_SIGTABLE: return SHMSTAT_FIG_SIG_HIT_RATE;
	default: return SHMSTAT_FIG_RATE;
	}
}

int figure_polarity(enum shmstat_figure f)
{
	switch (f) {
	case SHMSTAT_FIG_QUANTILE:
	case SHMSTAT_FIG_MEAN:
	case SHMSTAT_FIG_SIG_MISSES:
	case SHMSTAT_FIG_SIG_EVICTIONS:
		return -1;
	case SHMSTAT_FIG_SIG_HIT_RATE:
	case SHMSTAT_FIG_SIG_WEIGHT:
		return 1;
	default:
		return 0;
	}
}

void fmt_figure(char *buf, size_t n, enum shmstat_figure f, double v, const char *unit, int raw)
{
	switch (f) {
	case SHMSTAT_FIG_SIG_HIT_RATE:
		fmt_ratio(buf, n, v, raw);
		break;
	case SHMSTAT_FIG_RATE:
		fmt_rate(buf, n, v, unit, raw);
		break;
	case SHMSTAT_FIG_SIG_HITS:
	case SHMSTAT_FIG_SIG_MISSES:
	case SHMSTAT_FIG_SIG_EVICTIONS:
		fmt_fig(buf, n, v, NULL, raw);      /* events, whatever the weight's unit */
		break;
	default:
		fmt_fig(buf, n, v, unit, raw);
		break;
	}
}

int series_type(const struct frames *fr, const char *name)
{
	struct shmstat_frame_info fi;

	if (fr->n == 0)
		return -1;
	shmstat_frame_info(fr->f[fr->n - 1], &fi);
	for (size_t i = 0; i < fi.series; i++) {
		struct shmstat_series s;

		if (shmstat_frame_series(fr->f[fr->n - 1], i, &s) == 0 && strcmp(s.name, name) == 0)
			return (int)s.type;
	}
	return -1;
}

const char *series_unit(const struct frames *fr, const char *name)
{
	struct shmstat_frame_info fi;

	if (fr->n == 0)
		return "";
	shmstat_frame_info(fr->f[fr->n - 1], &fi);
	for (size_t i = 0; i < fi.series; i++) {
		struct shmstat_series s;

		if (shmstat_frame_series(fr->f[fr->n - 1], i, &s) == 0 && strcmp(s.name, name) == 0)
			return s.unit ? s.unit : "";
	}
	return "";
}

static const shmstat_frame *sort_frame;

static int by_series(const void *a, const void *b)
{
	struct shmstat_series x, y;
	int c;

	shmstat_frame_series(sort_frame, *(const size_t *)a, &x);
	shmstat_frame_series(sort_frame, *(const size_t *)b, &y);
	c = strcmp(x.name, y.name);
	return c ? c : strcmp(x.labels, y.labels);
}

size_t *series_sorted(const shmstat_frame *f, size_t *n)
{
	struct shmstat_frame_info fi;
	size_t *o;

	shmstat_frame_info(f, &fi);
	o = malloc((fi.series ? fi.series : 1) * sizeof(*o));
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < fi.series; i++)
		o[i] = i;
	sort_frame = f;
	qsort(o, fi.series, sizeof(*o), by_series);
	*n = fi.series;
	return o;
}

void series_set_add(struct series_set *set, const char *name, const char *labels,
		    enum shmstat_type type)
{
	struct series_key *k;
	bool grow;

	if (set->oom)
		return;
	/* each record's set of series names it again: sorted, each once,
	 * before it grows (memory follows the series, not the sets) */
	grow = set->cap == 0;
	if (set->n == set->cap && set->n > 0) {
		series_set_sort(set);
		grow = set->n > set->cap / 2;
	}
	if (grow) {
		const size_t cap = set->cap ? 2 * set->cap : 16;

		k = realloc(set->s, cap * sizeof(*k));
		if (k == NULL) {
			set->oom = 1;
			return;
		}
		set->s = k;
		set->cap = cap;
	}
	k = &set->s[set->n];
	k->name = strdup(name);
	k->labels = strdup(labels ? labels : "");
	k->type = type;
	if (k->name == NULL || k->labels == NULL) {
		free(k->name);
		free(k->labels);
		set->oom = 1;
		return;
	}
	set->n++;
}

int series_cmp(const char *name, const char *labels, const struct series_key *k)
{
	const int c = strcmp(name, k->name);

	return c ? c : strcmp(labels ? labels : "", k->labels);
}

static int by_key(const void *a, const void *b)
{
	const struct series_key *x = a;

	return series_cmp(x->name, x->labels, b);
}

void series_set_sort(struct series_set *set)
{
	size_t n = 0;

	if (set->n == 0)
		return;
	qsort(set->s, set->n, sizeof(*set->s), by_key);
	for (size_t k = 1; k < set->n; k++) {
		if (by_key(&set->s[n], &set->s[k]) == 0) {
			free(set->s[k].name);
			free(set->s[k].labels);
		} else {
			set->s[++n] = set->s[k];
		}
	}
	set->n = n + 1;
}

int series_set_has(const struct series_set *set, const char *name, const char *labels)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		const size_t mid = lo + (hi - lo) / 2;
		const int c = series_cmp(name, labels, &set->s[mid]);

		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static int keep_set(void *arg, const char *name, const char *labels, enum shmstat_type type)
{
	(void)type;
	return series_set_has(arg, name, labels);
}

int series_set_windows(shmstat_history *h, uint64_t from, uint64_t to,
		       const struct series_set *set, series_queries_fn queries,
		       struct shmstat_wvalue **v)
{
	struct shmstat_wrange *q;
	size_t nq = 0;
	int err;

	*v = NULL;
	if (set->n == 0)
		return 0;
	q = malloc(set->n * 4 * sizeof(*q));
	*v = malloc(set->n * 4 * sizeof(**v));
	if (q == NULL || *v == NULL) {
		free(q);
		free(*v);
		*v = NULL;
		return ENOMEM;
	}
	for (size_t k = 0; k < set->n; k++)
		nq += queries(&set->s[k], from, to, q + nq);
	err = shmstat_history_windows(h, from, to, keep_set, (void *)set, q, nq, *v,
				      NULL);
	free(q);
	return err;
}

void series_set_free(struct series_set *set)
{
	for (size_t k = 0; k < set->n; k++) {
		free(set->s[k].name);
		free(set->s[k].labels);
	}
	free(set->s);
	*set = (struct series_set){ NULL, 0, 0, 0 };
}
