/*
 * histq.c - what the history commands share (histq.h).
 */
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
