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

int frames_load(struct frames *fr, const char *path, uint64_t from_ns, uint64_t to_ns)
{
	memset(fr, 0, sizeof(*fr));
	if (shmstat_history_open(path, &fr->h) != 0)
		return die(EXIT_ERR, "%s", shmstat_last_error());
	if (shmstat_history_range(fr->h, from_ns, to_ns, &fr->f, &fr->n) != 0) {
		die(EXIT_ERR, "%s", shmstat_last_error());
		frames_free(fr);
		return EXIT_ERR;
	}
	return EXIT_OK;
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
	[SHMSTAT_FIG_SIG_HIT_RATE] = "hit-rate",
};

int figure_parse(const char *s)
{
	for (size_t k = 0; k < sizeof(fig_names) / sizeof(fig_names[0]); k++)
		if (strcmp(s, fig_names[k]) == 0)
			return (int)k;
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

static int is_ns(const char *unit)
{
	return unit && (strcmp(unit, "ns") == 0 || strcmp(unit, "nanoseconds") == 0);
}

void fmt_figure(char *buf, size_t n, enum shmstat_figure f, double v, const char *unit, int raw)
{
	if (raw) {
		snprintf(buf, n, "%.6g", v);
		return;
	}
	switch (f) {
	case SHMSTAT_FIG_QUANTILE:
	case SHMSTAT_FIG_MEAN:
		if (is_ns(unit) && v >= 0)
			/* UINT64_MAX (the max of an overflow) is 2^64 as a double:
			 * no integer type holds it */
			fmt_hvalue(buf, n, v < 0x1p64 ? (unsigned long long)(v + 0.5) : ULLONG_MAX,
				   "ns");
		else
			snprintf(buf, n, "%.6g", v);
		break;
	case SHMSTAT_FIG_SIG_HIT_RATE:
		snprintf(buf, n, "%.2f%%", 100.0 * v);
		break;
	case SHMSTAT_FIG_RATE:
		snprintf(buf, n, "%.4g/s", v);
		break;
	default:
		snprintf(buf, n, "%.6g", v);
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
