/*
 * setidx.c - the series of a frame's set (shmstat__frame_schema()) by
 * name and labels, so that a query of a window finds the series that may
 * answer it without looking at every series of the frame. Without it
 * shmstat_history_windows() matched each query against every series once
 * per set: show --window (one query per series) over a history of S
 * series cost S x S per set, 4e8 comparisons and 7 s of CPU for 20,000
 * counters (while serve answered nothing else), and a forged file whose
 * every record carries a set of its own (inline, "dictionary full") that
 * for every record.
 *
 * And each schema's series by name, built with the schema (a dictionary
 * entry, an inline schema, a selection's): shmstat_frame_find() was a
 * walk of every series, which top --history and show --window call for
 * each signature table (its first and last frames): 4.4 s of CPU for
 * top --history of 15,000 tables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "history_int.h"
#include "hook.h"

static int ref_cmp(const void *a, const void *b)
{
	const struct shmstat__setref *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	if (d == 0)
		d = strcmp(x->labels, y->labels);
	return d ? d : (x->i > y->i) - (x->i < y->i);
}

int shmstat__setidx_build(struct shmstat__setidx *x, const shmstat_frame *f)
{
	const void *sc = shmstat__frame_schema(f);
	struct shmstat_frame_info fi;

	if (x->sc == sc && sc != NULL)
		return 0;
	x->sc = NULL;
	shmstat_frame_info(f, &fi);
	if (fi.series > x->cap) {
		struct shmstat__setref *r = realloc(x->r, fi.series * sizeof(*r));

		if (r == NULL)
			return ENOMEM;
		x->r = r;
		x->cap = fi.series;
	}
	x->n = 0;
	for (size_t i = 0; i < fi.series; i++) {
		struct shmstat_series s;

		if (shmstat_frame_series(f, i, &s) == 0)
			x->r[x->n++] = (struct shmstat__setref){ s.name, s.labels, i };
	}
	if (x->n > 1)
		qsort(x->r, x->n, sizeof(*x->r), ref_cmp);
	x->sc = sc;
	return 0;
}

/* The first entry of @x not before (@name, @labels), @labels NULL: the
 * first of @name; with @after, the first after them. */
static size_t bound(const struct shmstat__setidx *x, const char *name, const char *labels,
		    int after)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(x->r[mid].name, name);

		if (d == 0 && labels)
			d = strcmp(x->r[mid].labels, labels);
		if (d < 0 || (after && d == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int idx_cmp(const void *a, const void *b)
{
	const size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

long shmstat__setidx_find(const struct shmstat__setidx *x, const char *name, const char *labels,
			  size_t **buf, size_t *cap)
{
	size_t lo = bound(x, name, labels, 0), hi = bound(x, name, labels, 1);

	if (hi - lo > *cap) {
		size_t *b = realloc(*buf, (hi - lo) * sizeof(*b));

		if (b == NULL)
			return -1;
		*buf = b;
		*cap = hi - lo;
	}
	for (size_t k = lo; k < hi; k++)
		(*buf)[k - lo] = x->r[k].i;
	if (hi - lo > 1)
		qsort(*buf, hi - lo, sizeof(**buf), idx_cmp);
	return (long)(hi - lo);
}

void shmstat__setidx_free(struct shmstat__setidx *x)
{
	free(x->r);
	memset(x, 0, sizeof(*x));
}

/* -------------------------------------------- a schema's series by name */

static int by_name(const void *a, const void *b, void *arg)
{
	const struct hschema *sc = arg;
	const uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	int d = strcmp(sc->d[i]->name, sc->d[j]->name);

	if (d == 0)
		d = strcmp(sc->d[i]->labels, sc->d[j]->labels);
	return d ? d : (i > j) - (i < j);
}

void shmstat__hf_schema_index(struct hschema *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		sc->byname[i] = (uint32_t)i;
	if (sc->n > 1)
		qsort_r(sc->byname, sc->n, sizeof(*sc->byname), by_name, sc);
}

long shmstat__hf_schema_find(const struct hschema *sc, const char *name, const char *labels)
{
	size_t lo = 0, hi = sc->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct hdesc *d = sc->d[sc->byname[mid]];
		int c = strcmp(d->name, name);

		SHMSTAT_HOOK(SHMSTAT_HOOK_FRAME_FIND, d);
		if (c == 0)
			c = strcmp(d->labels, labels);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < sc->n && strcmp(sc->d[sc->byname[lo]]->name, name) == 0 &&
	    strcmp(sc->d[sc->byname[lo]]->labels, labels) == 0)
		return (long)sc->byname[lo];
	return -1;
}
