/*
 * window.c - figures over windows of history frames (shmstat_window.h):
 * reset-aware increases, interval histograms, gauges, signature-table
 * totals, and trends through them.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "shmstat_window.h"
#include "histogram.h"
#include "history_int.h"

/* ----------------------------------------------------------------- labels */

/* The pair at *@p of canonical labels: key [@k, @kn), the value with its
 * escapes [@v, @vn); *@p moves past it and its comma. 0, 1 at the end,
 * -1 if malformed. */
static int next_pair(const char **p, const char **k, size_t *kn, const char **v, size_t *vn)
{
	const char *s = *p;

	if (*s == '\0')
		return 1;
	*k = s;
	while (*s && *s != '=')
		s++;
	if (*s != '=' || s == *k || s[1] != '"')
		return -1;
	*kn = (size_t)(s - *k);
	s += 2;
	*v = s;
	while (*s && *s != '"') {
		if (*s == '\\') {
			if (s[1] == '\0')
				return -1;
			s++;
		}
		s++;
	}
	if (*s != '"')
		return -1;
	*vn = (size_t)(s - *v);
	s++;
	if (*s == ',')
		s++;
	else if (*s != '\0')
		return -1;
	*p = s;
	return 0;
}

int shmstat_labels_match(const char *have, const char *want)
{
	const char *w = want, *k, *v;
	size_t kn, vn;
	int r;

	if (want == NULL)
		return 1;
	while ((r = next_pair(&w, &k, &kn, &v, &vn)) == 0) {
		const char *h = have ? have : "", *hk, *hv;
		size_t hkn, hvn;
		int found = 0;

		while (next_pair(&h, &hk, &hkn, &hv, &hvn) == 0)
			if (hkn == kn && hvn == vn && memcmp(hk, k, kn) == 0 &&
			    memcmp(hv, v, vn) == 0) {
				found = 1;
				break;
			}
		if (!found)
			return 0;
	}
	return r < 0 ? -1 : 1;
}

/* Does series @s answer query @qy? */
static int matches(const struct shmstat_wquery *qy, const struct shmstat_series *s)
{
	if (strcmp(s->name, qy->name) != 0)
		return 0;
	if (qy->exact)
		return strcmp(s->labels, qy->labels ? qy->labels : "") == 0;
	return shmstat_labels_match(s->labels, qy->labels) == 1;
}

/* --------------------------------------------------------------- tracking */

/* What is known of one series while walking the frames. */
struct track {
	const char *name, *labels;     /* point into a frame of the walk */
	uint64_t reg_id, generation;
	uint64_t v[4];                 /* counter, or sig hits/misses/weight/evictions */
	shmstat_hdata *h;              /* histograms: the last frame's */
	int seen_now;
};

struct walk {
	const char *owner;             /* sig tables: this owner's totals */
	int owner_seen;                /* in some frame of the window */
	struct track *t;
	size_t n, cap;
	uint64_t inc[4];               /* increases, summed over series */
	shmstat_hdata *acc;            /* histograms: the window's, summed */
	unsigned resets;
	int mixed;                     /* histograms of different layouts */
	int err;
	/* the series of one set (shmstat__frame_schema) that answer the
	 * query, and their tracks: matched once per set, not per frame */
	const void *sc;
	size_t *mi, *mt, nm, mcap;
};

/* The index of the track of @s in @w (a new one if none); -1: no memory. */
static long track_of(struct walk *w, const struct shmstat_series *s)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->t[i].name, s->name) == 0 && strcmp(w->t[i].labels, s->labels) == 0)
			return (long)i;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 8;
		struct track *t = realloc(w->t, cap * sizeof(*t));

		if (t == NULL) {
			w->err = ENOMEM;
			return -1;
		}
		w->t = t;
		w->cap = cap;
	}
	memset(&w->t[w->n], 0, sizeof(w->t[0]));
	w->t[w->n].name = s->name;
	w->t[w->n].labels = s->labels;
	w->t[w->n].reg_id = UINT64_MAX;       /* not seen yet */
	return (long)w->n++;
}

static void acc_hist(struct walk *w, const shmstat_hdata *d)
{
	if (w->acc == NULL) {
		struct shmstat_hstats st;

		shmstat_hdata_stats(d, &st);
		w->acc = shmstat__hdata_new(st.bits, st.lowest, st.highest);
		if (w->acc == NULL) {
			w->err = ENOMEM;
			return;
		}
	}
	/* another layout (series of other bounds, or the histogram re-created
	 * with other bounds): no sum of them is right, the window has no
	 * quantile or mean */
	if (shmstat__hdata_merge(w->acc, d) != 0)
		w->mixed = 1;
}

/* Frame @f: the increases of its series @s, of track @ti, since the last
 * frame. */
static void step_series(struct walk *w, const shmstat_frame *f, size_t i,
			const struct shmstat_series *s, size_t ti, uint64_t generation)
{
	struct track *t = &w->t[ti];
	uint64_t v[4] = { s->counter, 0, 0, 0 };
	int first, restart;

	if (s->type == SHMSTAT_SIGTABLE && w->owner) {
		struct shmstat_sigowner_info o;
		size_t k;

		/* the owner's exact totals (no evictions of its own); a
		 * table without the owner yet had nothing of it (an owner's
		 * totals start at zero when it is named) */
		for (k = 0; k < s->owners; k++)
			if (shmstat_frame_sigowner(f, i, k, &o) == 0 && strcmp(o.name, w->owner) == 0)
				break;
		v[0] = 0;
		if (k < s->owners) {
			v[0] = o.hits;
			v[1] = o.misses;
			v[2] = o.weight;
			w->owner_seen = 1;
		}
	} else if (s->type == SHMSTAT_SIGTABLE) {
		v[0] = s->sig_hits;
		v[1] = s->sig_misses;
		v[2] = s->sig_weight;
		v[3] = s->sig_evictions;
	}
	first = t->reg_id == UINT64_MAX;
	restart = !first && (t->reg_id != s->reg_id || t->generation != generation);
	for (int k = 0; k < 4 && !first && !restart; k++)
		if (v[k] < t->v[k])
			restart = 1;
	if (restart)
		w->resets++;
	if (!first)
		for (int k = 0; k < 4; k++)
			w->inc[k] += restart ? v[k] : v[k] - t->v[k];
	if (s->type == SHMSTAT_HISTOGRAM) {
		shmstat_hdata *h = NULL, *d = NULL;

		if (shmstat_frame_hist(f, i, &h) != 0) {
			w->err = ENOMEM;
			return;
		}
		if (!first) {
			if (!restart && t->h && shmstat_hdata_sub(h, t->h, &d) == 0) {
				acc_hist(w, d);
			} else if (restart) {
				acc_hist(w, h);     /* counted from zero */
			}
			shmstat_hdata_free(d);
		}
		shmstat_hdata_free(t->h);
		t->h = h;
	}
	t->reg_id = s->reg_id;
	t->generation = generation;
	memcpy(t->v, v, sizeof(v));
	t->seen_now = 1;
}

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		shmstat_hdata_free(w->t[i].h);
	free(w->t);
	free(w->mi);
	free(w->mt);
	shmstat_hdata_free(w->acc);
}

static int wanted_type(enum shmstat_figure fig, enum shmstat_type type)
{
	switch (fig) {
	case SHMSTAT_FIG_INCREASE:
	case SHMSTAT_FIG_RATE:
		return type == SHMSTAT_COUNTER || type == SHMSTAT_HISTOGRAM ||
		       type == SHMSTAT_SIGTABLE;
	case SHMSTAT_FIG_GAUGE:
		return type == SHMSTAT_GAUGE;
	case SHMSTAT_FIG_QUANTILE:
	case SHMSTAT_FIG_MEAN:
		return type == SHMSTAT_HISTOGRAM;
	default:
		return type == SHMSTAT_SIGTABLE;
	}
}

/* The series of frame @f that answer @qy, into w->mi (their indices) and
 * w->mt (their tracks), matched again only when @f has another set of
 * series than the last frame matched: a window of F frames of S series
 * costs F times the series matched, not F times S, and show --window,
 * which asks for each of the S series, S times that. 0, or ENOMEM. */
static int match_set(struct walk *w, const struct shmstat_wquery *qy, const shmstat_frame *f,
		     size_t nseries)
{
	const void *sc = shmstat__frame_schema(f);

	if (sc == w->sc && w->mi)
		return 0;
	w->nm = 0;
	for (size_t i = 0; i < nseries; i++) {
		struct shmstat_series s;
		long ti;

		if (shmstat_frame_series(f, i, &s) != 0 || !wanted_type(qy->fig, s.type) ||
		    !matches(qy, &s))
			continue;
		if (w->nm == w->mcap) {
			size_t cap = w->mcap ? 2 * w->mcap : 8;
			size_t *mi = realloc(w->mi, cap * sizeof(*mi)), *mt;

			if (mi)
				w->mi = mi;
			mt = mi ? realloc(w->mt, cap * sizeof(*mt)) : NULL;
			if (mt == NULL)
				return w->err = ENOMEM;
			w->mt = mt;
			w->mcap = cap;
		}
		ti = track_of(w, &s);
		if (ti < 0)
			return w->err;
		w->mi[w->nm] = i;
		w->mt[w->nm++] = (size_t)ti;
	}
	if (w->mi == NULL && (w->mi = malloc(sizeof(*w->mi))) == NULL)
		return w->err = ENOMEM;     /* matched: none */
	w->sc = sc;
	return 0;
}

/* ----------------------------------------------------------------- window */

/* The first frame of @f (time order) a window from @from_ns uses: for a
 * gauge the first at or after @from_ns; for the other figures the last at
 * or before it (their deltas start there), else the first after it. @n
 * when there is none. */
static size_t window_start(shmstat_frame *const *f, size_t n, uint64_t from_ns, int gauge)
{
	size_t lo = 0, hi = n;

	/* the first frame after @from_ns (a gauge: at or after it); a
	 * binary search, so that trend's sub-windows do not walk the frames
	 * before each */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct shmstat_frame_info fi;

		shmstat_frame_info(f[mid], &fi);
		if (fi.time_ns > from_ns || (gauge && fi.time_ns == from_ns))
			hi = mid;
		else
			lo = mid + 1;
	}
	return !gauge && lo > 0 ? lo - 1 : lo;
}

int shmstat_window(shmstat_frame *const *f, size_t n, const struct shmstat_wquery *qy,
		   uint64_t from_ns, uint64_t to_ns, struct shmstat_wvalue *out)
{
	struct walk w = { .owner = qy ? qy->owner : NULL };
	size_t used = 0, last = 0;
	int bad_labels;

	memset(out, 0, sizeof(*out));
	if (qy == NULL || qy->name == NULL || qy->fig > SHMSTAT_FIG_SIG_HIT_RATE ||
	    (qy->fig == SHMSTAT_FIG_QUANTILE && !(qy->q >= 0 && qy->q <= 1)))
		return EINVAL;
	bad_labels = shmstat_labels_match("", qy->labels) < 0;
	if (bad_labels)
		return EINVAL;
	for (size_t j = window_start(f, n, from_ns, qy->fig == SHMSTAT_FIG_GAUGE); j < n; j++) {
		struct shmstat_frame_info fi;

		shmstat_frame_info(f[j], &fi);
		if (fi.time_ns > to_ns)
			break;
		if (used++ == 0)
			out->from_ns = fi.time_ns;
		out->to_ns = fi.time_ns;
		last = j;
		if (qy->fig == SHMSTAT_FIG_GAUGE)
			continue;
		if (match_set(&w, qy, f[j], fi.series) != 0)
			goto out;
		for (size_t k = 0; k < w.nm; k++) {
			struct shmstat_series s;

			if (shmstat_frame_series(f[j], w.mi[k], &s) != 0)
				continue;
			step_series(&w, f[j], w.mi[k], &s, w.mt[k], fi.generation);
			if (w.err)
				goto out;
		}
	}
	out->resets = w.resets;
	out->series = (unsigned)w.n;
	if (qy->fig == SHMSTAT_FIG_GAUGE) {
		struct shmstat_frame_info fi;
		double sum = 0;

		if (used == 0) {
			out->why = "no record in the window";
			goto out;
		}
		shmstat_frame_info(f[last], &fi);
		for (size_t i = 0; i < fi.series; i++) {
			struct shmstat_series s;

			if (shmstat_frame_series(f[last], i, &s) != 0 || s.type != SHMSTAT_GAUGE ||
			    !s.has_value || !matches(qy, &s))
				continue;
			sum += (double)s.gauge;
			out->samples++;
		}
		out->series = (unsigned)out->samples;
		out->has_value = out->samples > 0;
		out->value = sum;
		if (!out->has_value)
			out->why = "no such gauge with a value";
		goto out;
	}
	if (used < 2) {
		out->why = "fewer than two records in the window";
		goto out;
	}
	if (w.n == 0 || (w.owner && !w.owner_seen)) {
		out->series = 0;        /* the owner's: none */
		out->why = "no such series in the window";
		goto out;
	}
	switch (qy->fig) {
	case SHMSTAT_FIG_INCREASE:
	case SHMSTAT_FIG_RATE:
	case SHMSTAT_FIG_SIG_HITS:
		/* a table's figures all rest on its events */
		out->samples = qy->fig == SHMSTAT_FIG_SIG_HITS ? w.inc[0] + w.inc[1] : w.inc[0];
		out->value = (double)w.inc[0];
		if (qy->fig == SHMSTAT_FIG_RATE)
			out->value = out->to_ns > out->from_ns
					     ? out->value * 1e9 / (double)(out->to_ns - out->from_ns)
					     : 0;
		out->has_value = 1;
		break;
	case SHMSTAT_FIG_SIG_MISSES:
	case SHMSTAT_FIG_SIG_WEIGHT:
	case SHMSTAT_FIG_SIG_EVICTIONS: {
		int k = qy->fig == SHMSTAT_FIG_SIG_MISSES ? 1 : qy->fig == SHMSTAT_FIG_SIG_WEIGHT ? 2 : 3;

		out->samples = w.inc[0] + w.inc[1];
		out->value = (double)w.inc[k];
		out->has_value = 1;
		break;
	}
	case SHMSTAT_FIG_SIG_HIT_RATE:
		out->samples = w.inc[0] + w.inc[1];
		out->has_value = out->samples > 0;
		out->value = out->samples ? (double)w.inc[0] / (double)out->samples : 0;
		if (!out->has_value)
			out->why = "no hits or misses in the window";
		break;
	case SHMSTAT_FIG_QUANTILE:
	case SHMSTAT_FIG_MEAN: {
		struct shmstat_hstats st;
		uint64_t v;

		if (w.acc == NULL) {
			out->why = "no values recorded in the window";
			break;
		}
		if (w.mixed) {
			out->why = "bucket layouts differ"
				   " (select one series)";
			break;
		}
		shmstat_hdata_stats(w.acc, &st);
		out->samples = st.count;
		if (st.count == 0) {
			out->why = "no values recorded in the window";
			break;
		}
		if (qy->fig == SHMSTAT_FIG_MEAN) {
			out->value = st.mean;
		} else {
			if (shmstat_hdata_quantiles(w.acc, &qy->q, 1, &v) != 0)
				break;
			out->value = (double)v;
		}
		out->has_value = 1;
		break;
	}
	default:
		break;
	}
out:
	walk_free(&w);
	return w.err;
}

/* ------------------------------------------------------------------ trend */

int shmstat_window_trend(shmstat_frame *const *f, size_t n, const struct shmstat_wquery *qy,
			 uint64_t from_ns, uint64_t to_ns, uint64_t step_ns,
			 struct shmstat_trend *out)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, x0 = 0, x1 = 0;
	uint64_t *cut = NULL;
	size_t ncut = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (to_ns <= from_ns)
		return EINVAL;
	/* sub-window boundaries: every step, or every frame */
	if (step_ns) {
		uint64_t k = (to_ns - from_ns) / step_ns;

		if (k > SHMSTAT_TREND_MAX_STEPS)
			return EINVAL;
		cut = malloc((size_t)(k + 1) * sizeof(*cut));
		if (cut == NULL)
			return ENOMEM;
		/* anchored at @to_ns: a step that does not divide the window
		 * leaves out its oldest part, never its newest */
		for (uint64_t i = 0; i <= k; i++)
			cut[ncut++] = to_ns - (k - i) * step_ns;
	} else {
		cut = malloc((n ? n : 1) * sizeof(*cut));
		if (cut == NULL)
			return ENOMEM;
		for (size_t j = 0; j < n; j++) {
			struct shmstat_frame_info fi;

			shmstat_frame_info(f[j], &fi);
			if (fi.time_ns >= from_ns && fi.time_ns <= to_ns)
				cut[ncut++] = fi.time_ns;
		}
	}
	for (size_t c = 1; c < ncut; c++) {
		struct shmstat_wvalue v;
		/* gauges: the value at the end of each sub-window */
		uint64_t lo = qy->fig == SHMSTAT_FIG_GAUGE ? cut[c - 1] + 1 : cut[c - 1];
		double x;

		err = shmstat_window(f, n, qy, lo, cut[c], &v);
		if (err)
			break;
		if (!v.has_value || !isfinite(v.value))
			continue;
		x = (double)(cut[c] - from_ns) / 1e9;
		if (out->points == 0) {
			out->first = v.value;
			x0 = x;
		}
		out->last = v.value;
		x1 = x;
		out->points++;
		sx += x;
		sy += v.value;
		sxx += x * x;
		sxy += x * v.value;
	}
	free(cut);
	if (err || out->points == 0)
		return err;
	out->mean = sy / (double)out->points;
	if (out->points >= 2) {
		double d = (double)out->points * sxx - sx * sx;

		out->slope_per_s = d != 0 ? ((double)out->points * sxy - sx * sy) / d : 0;
		/* over the span the points cover, not the window: a window
		 * that is mostly empty does not magnify the change */
		if (out->mean != 0)
			out->change_pct = out->slope_per_s * (x1 - x0) / fabs(out->mean) * 100.0;
		out->direction = fabs(out->change_pct) < SHMSTAT_TREND_STABLE_PCT ? 0
				 : out->change_pct > 0 ? 1 : -1;
	}
	return 0;
}
