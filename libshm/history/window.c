/*
 * window.c - figures over windows of history frames (shmstat_window.h):
 * reset-aware increases, interval histograms, gauges, signature-table
 * totals (trends through them: trend.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "shmstat_window.h"
#include "histogram.h"
#include "history_int.h"
#include "hook.h"
#include "hsparse.h"

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
	char *name;                    /* and its labels after it: a copy,
					* frames may go before the walk ends */
	const char *labels;
	uint64_t reg_id, generation;
	uint64_t v[4];                 /* counter, or sig hits/misses/weight/evictions */
	/* histograms (hsparse.h): the last frame's (hs[cur]; the other is
	 * the next frame's room), and the first of the run of frames since
	 * which no count went down; the window holds what the run counted,
	 * hs[cur] - base, added to acc when the run ends */
	struct shmstat__hsparse hs[2], base;
	int cur, run;
	int seen_now;
};

struct walk {
	const char *owner;             /* sig tables: this owner's totals */
	int owner_seen;                /* in some frame of the window */
	struct track *t;
	size_t n, cap;
	uint32_t *th;                  /* the tracks by name and labels: an
					* index + 1 (0: free), under half full */
	size_t thcap;
	uint64_t inc[4];               /* increases, summed over series */
	shmstat_hdata *acc;            /* histograms: the window's, summed */
	int want_hist;                 /* quantile or mean: acc is asked for */
	unsigned resets;
	int mixed;                     /* histograms of different layouts */
	int err;
	/* the series of one set (shmstat__frame_schema) that answer the
	 * query, and their tracks: matched once per set, not per frame */
	const void *sc;
	size_t *mi, *mt, nm, mcap;
	size_t *cand, ccap;            /* the series that may answer (setidx) */
};

static size_t track_hash(const char *name, const char *labels)
{
	return (size_t)(shmstat__hash(name, strlen(name)) ^
			(shmstat__hash(labels, strlen(labels)) * UINT64_C(0x9E3779B97F4A7C15)));
}

/* The slot of w->th where the track of @name {@labels} is, or where it
 * would go (free). */
static size_t track_slot(const struct walk *w, const char *name, const char *labels)
{
	size_t j = track_hash(name, labels) & (w->thcap - 1);

	while (w->th[j]) {
		const struct track *t = &w->t[w->th[j] - 1];

		SHMSTAT_HOOK(SHMSTAT_HOOK_WINDOW_TRACK, t);
		if (strcmp(t->name, name) == 0 && strcmp(t->labels, labels) == 0)
			break;
		j = (j + 1) & (w->thcap - 1);
	}
	return j;
}

/* The index of the track of @s in @w (a new one if none), found by its
 * name and labels in w->th: a query matching m series (trend of a name
 * with 20,000 label sets) compared each with every track before it, m x m
 * a set of series and sub-window (4.5 s of CPU for that trend); -1: no
 * memory. */
static long track_of(struct walk *w, const struct shmstat_series *s)
{
	size_t ln, ll, j;

	if (2 * (w->n + 1) > w->thcap) {
		size_t cap = w->thcap ? 2 * w->thcap : 16;
		uint32_t *th = calloc(cap, sizeof(*th));

		if (th == NULL || w->n >= UINT32_MAX) {
			free(th);
			w->err = ENOMEM;
			return -1;
		}
		free(w->th);
		w->th = th;
		w->thcap = cap;
		for (size_t i = 0; i < w->n; i++)
			w->th[track_slot(w, w->t[i].name, w->t[i].labels)] = (uint32_t)(i + 1);
	}
	j = track_slot(w, s->name, s->labels);
	if (w->th[j])
		return (long)w->th[j] - 1;
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
	ln = strlen(s->name) + 1;
	ll = strlen(s->labels) + 1;
	w->t[w->n].name = malloc(ln + ll);
	if (w->t[w->n].name == NULL) {
		w->err = ENOMEM;
		return -1;
	}
	memcpy(w->t[w->n].name, s->name, ln);
	memcpy(w->t[w->n].name + ln, s->labels, ll);
	w->t[w->n].labels = w->t[w->n].name + ln;
	w->t[w->n].reg_id = UINT64_MAX;       /* not seen yet */
	w->th[j] = (uint32_t)(w->n + 1);
	return (long)w->n++;
}

/* Add @later (@earlier NULL: all it counted; else what it counted since
 * @earlier) to the window's histogram. */
static void acc_add(struct walk *w, const struct shmstat__hsparse *later,
		    const struct shmstat__hsparse *earlier)
{
	if (w->acc == NULL) {
		w->acc = shmstat__hdata_new(later->bits, later->lowest, later->highest);
		if (w->acc == NULL) {
			w->err = ENOMEM;
			return;
		}
	}
	/* another layout (series of other bounds, or the histogram re-created
	 * with other bounds): no sum of them is right, the window has no
	 * quantile or mean */
	if (shmstat__hdata_add_sparse(w->acc, later, earlier) != 0)
		w->mixed = 1;
}

/* The run of @t ends: what it counted goes to the window. */
static void run_end(struct walk *w, struct track *t)
{
	if (t->run)
		acc_add(w, &t->hs[t->cur], &t->base);
	t->run = 0;
}

/* Histogram series @i of frame @f, of track @t: the window takes the
 * difference of each frame from the last one where no count went down
 * (as shmstat_hdata_sub() would succeed), all a frame counted where the
 * series started again (@restart: counted from zero), and nothing
 * across a step where a count went down; the differences of a run are
 * added up where it ends, as one. */
static void hist_step(struct walk *w, struct track *t, const shmstat_frame *f, size_t i,
		      int first, int restart)
{
	struct shmstat__hsparse *h = &t->hs[!t->cur];
	int cont;

	if (shmstat__frame_hsparse(f, i, h) != 0) {
		w->err = ENOMEM;
		return;
	}
	cont = !first && !restart && shmstat__hsparse_ge(h, &t->hs[t->cur]);
	if (!cont) {
		run_end(w, t);
		if (restart)
			acc_add(w, h, NULL);
		if (shmstat__hsparse_copy(&t->base, h) != 0) {
			w->err = ENOMEM;
			return;
		}
	}
	t->run |= cont;
	t->cur = !t->cur;
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
		/* the owner's exact totals (no evictions of its own), of
		 * the first owner with its name, found through the frame's
		 * index (not by comparing every owner's name); a table
		 * without the owner yet had nothing of it (an owner's
		 * totals start at zero when it is named) */
		long k = shmstat__frame_owner_find(f, i, w->owner);

		v[0] = 0;
		if (k >= 0 && shmstat_frame_sigowner(f, i, (size_t)k, &o) == 0) {
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
	if (s->type == SHMSTAT_HISTOGRAM && w->want_hist)
		hist_step(w, t, f, i, first, restart);
	t->reg_id = s->reg_id;
	t->generation = generation;
	memcpy(t->v, v, sizeof(v));
	t->seen_now = 1;
}

/* Free what @w holds; it is then as new (its owner kept, its error
 * cleared). */
static void walk_free(struct walk *w)
{
	const char *owner = w->owner;

	for (size_t i = 0; i < w->n; i++) {
		shmstat__hsparse_free(&w->t[i].hs[0]);
		shmstat__hsparse_free(&w->t[i].hs[1]);
		shmstat__hsparse_free(&w->t[i].base);
		free(w->t[i].name);
	}
	free(w->t);
	free(w->th);
	free(w->mi);
	free(w->mt);
	free(w->cand);
	shmstat_hdata_free(w->acc);
	memset(w, 0, sizeof(*w));
	w->owner = owner;
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

/* The series of frame @f (of @nseries) that may answer @qy: with @ix,
 * the index of @f's set, those of its name (and labels, @qy->exact), in
 * their indices into *@idx (w->cand); without, all (*@idx NULL: 0, 1, ...).
 * How many, or -1 (ENOMEM). */
static long candidates(struct walk *w, const struct shmstat_wquery *qy, const shmstat_frame *f,
		       size_t nseries, const struct shmstat__setidx *ix, const size_t **idx)
{
	long n;

	*idx = NULL;
	if (ix == NULL || ix->sc != shmstat__frame_schema(f))
		return (long)nseries;
	n = shmstat__setidx_find(ix, qy->name, qy->exact ? (qy->labels ? qy->labels : "") : NULL,
				 &w->cand, &w->ccap);
	*idx = w->cand;
	return n;
}

/* The series of frame @f that answer @qy, into w->mi (their indices) and
 * w->mt (their tracks), matched again only when @f has another set of
 * series than the last frame matched: a window of F frames costs F times
 * the series matched, and with @ix (the index of @f's set: a stream of
 * queries) only the series of the query's name are looked at, not all S
 * of the frame's (show --window, which asks for each of the S series,
 * cost S x S a set). 0, or ENOMEM. */
static int match_set(struct walk *w, const struct shmstat_wquery *qy, const shmstat_frame *f,
		     size_t nseries, const struct shmstat__setidx *ix)
{
	const void *sc = shmstat__frame_schema(f);
	const size_t *idx;
	long nc;

	if (sc == w->sc && w->mi)
		return 0;
	if ((nc = candidates(w, qy, f, nseries, ix, &idx)) < 0)
		return w->err = ENOMEM;
	w->nm = 0;
	for (size_t j = 0; j < (size_t)nc; j++) {
		const size_t i = idx ? idx[j] : j;
		struct shmstat_series s;
		long ti;

		SHMSTAT_HOOK(SHMSTAT_HOOK_WINDOW_SERIES, f);
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
	/* zeroed: clang-analyzer takes paths where it is read otherwise */
	if (w->mi == NULL && (w->mi = calloc(1, sizeof(*w->mi))) == NULL)
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

/* A window's walk (shmstat_window(), shmstat_history_windows()). */
struct wcalc {
	struct walk w;
	size_t used;               /* frames of the window */
	double gsum;               /* gauges: the sum in the last frame */
	uint64_t gn;               /* of that many series */
};

static int query_bad(const struct shmstat_wquery *qy)
{
	return qy == NULL || qy->name == NULL || qy->fig > SHMSTAT_FIG_SIG_HIT_RATE ||
	       (qy->fig == SHMSTAT_FIG_QUANTILE && !(qy->q >= 0 && qy->q <= 1)) ||
	       shmstat_labels_match("", qy->labels) < 0;
}

static void calc_init(struct wcalc *c, const struct shmstat_wquery *qy, struct shmstat_wvalue *out)
{
	memset(c, 0, sizeof(*c));
	c->w.owner = qy->owner;
	c->w.want_hist = qy->fig == SHMSTAT_FIG_QUANTILE || qy->fig == SHMSTAT_FIG_MEAN;
	memset(out, 0, sizeof(*out));
}

/* Gauges: the sum of the series of @qy with a value in frame @f (@ix:
 * the index of its set, or NULL); 0 or ENOMEM. */
static int gauge_of(struct wcalc *c, const struct shmstat_wquery *qy, const shmstat_frame *f,
		    const struct shmstat__setidx *ix)
{
	struct shmstat_frame_info fi;
	const size_t *idx;
	long nc;

	shmstat_frame_info(f, &fi);
	c->gsum = 0;
	c->gn = 0;
	if ((nc = candidates(&c->w, qy, f, fi.series, ix, &idx)) < 0)
		return ENOMEM;
	for (size_t j = 0; j < (size_t)nc; j++) {
		const size_t i = idx ? idx[j] : j;
		struct shmstat_series s;

		SHMSTAT_HOOK(SHMSTAT_HOOK_WINDOW_SERIES, f);
		if (shmstat_frame_series(f, i, &s) != 0 || s.type != SHMSTAT_GAUGE ||
		    !s.has_value || !matches(qy, &s))
			continue;
		c->gsum += (double)s.gauge;
		c->gn++;
	}
	return 0;
}

/* Frame @f, the next of the window, into @c (its time into @out); @ix:
 * the index of @f's set, or NULL. 0 or ENOMEM. */
static int calc_feed(struct wcalc *c, const struct shmstat_wquery *qy, const shmstat_frame *f,
		     struct shmstat_wvalue *out, const struct shmstat__setidx *ix)
{
	struct shmstat_frame_info fi;

	shmstat_frame_info(f, &fi);
	if (c->used++ == 0)
		out->from_ns = fi.time_ns;
	out->to_ns = fi.time_ns;
	if (qy->fig == SHMSTAT_FIG_GAUGE)
		return 0;
	if (match_set(&c->w, qy, f, fi.series, ix) != 0)
		return c->w.err;
	for (size_t k = 0; k < c->w.nm; k++) {
		struct shmstat_series s;

		if (shmstat_frame_series(f, c->w.mi[k], &s) != 0)
			continue;
		step_series(&c->w, f, c->w.mi[k], &s, c->w.mt[k], fi.generation);
		if (c->w.err)
			return c->w.err;
	}
	return 0;
}

/* The figure of what @c saw into @out, for query @qy (@c's own, or one
 * that shares its walk: calc_shares()); @c is left as it was, but for
 * its histograms' runs, which end (once: run_end() ends a run once). */
static void calc_figure(struct wcalc *c, const struct shmstat_wquery *qy,
			struct shmstat_wvalue *out)
{
	out->resets = c->w.resets;
	out->series = (unsigned)c->w.n;
	if (qy->fig == SHMSTAT_FIG_GAUGE) {
		if (c->used == 0) {
			out->why = "no record in the window";
			return;
		}
		out->samples = c->gn;
		out->series = (unsigned)out->samples;
		out->has_value = out->samples > 0;
		out->value = c->gsum;
		if (!out->has_value)
			out->why = "no such gauge with a value";
		return;
	}
	if (c->used < 2) {
		out->why = "fewer than two records in the window";
		return;
	}
	if (c->w.n == 0 || (c->w.owner && !c->w.owner_seen)) {
		out->series = 0;        /* the owner's: none */
		out->why = "no such series in the window";
		return;
	}
	switch (qy->fig) {
	case SHMSTAT_FIG_INCREASE:
	case SHMSTAT_FIG_RATE:
	case SHMSTAT_FIG_SIG_HITS:
		/* a table's figures all rest on its events */
		out->samples = qy->fig == SHMSTAT_FIG_SIG_HITS ? c->w.inc[0] + c->w.inc[1] : c->w.inc[0];
		out->value = (double)c->w.inc[0];
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

		out->samples = c->w.inc[0] + c->w.inc[1];
		out->value = (double)c->w.inc[k];
		out->has_value = 1;
		break;
	}
	case SHMSTAT_FIG_SIG_HIT_RATE:
		out->samples = c->w.inc[0] + c->w.inc[1];
		out->has_value = out->samples > 0;
		out->value = out->samples ? (double)c->w.inc[0] / (double)out->samples : 0;
		if (!out->has_value)
			out->why = "no hits or misses in the window";
		break;
	case SHMSTAT_FIG_QUANTILE:
	case SHMSTAT_FIG_MEAN: {
		struct shmstat_hstats st;
		uint64_t v;

		for (size_t i = 0; i < c->w.n && !c->w.err; i++)
			run_end(&c->w, &c->w.t[i]);
		if (c->w.err)
			break;
		if (c->w.acc == NULL) {
			out->why = "no values recorded in the window";
			break;
		}
		if (c->w.mixed) {
			out->why = "bucket layouts differ"
				   " (select one series)";
			break;
		}
		shmstat_hdata_stats(c->w.acc, &st);
		out->samples = st.count;
		if (st.count == 0) {
			out->why = "no values recorded in the window";
			break;
		}
		if (qy->fig == SHMSTAT_FIG_MEAN) {
			out->value = st.mean;
		} else {
			if (shmstat_hdata_quantiles(c->w.acc, &qy->q, 1, &v) != 0)
				break;
			out->value = (double)v;
		}
		out->has_value = 1;
		break;
	}
	default:
		break;
	}
}

/* The figure of what @c saw into @out; what @c holds is freed. 0 or
 * ENOMEM. */
static int calc_end(struct wcalc *c, const struct shmstat_wquery *qy, struct shmstat_wvalue *out)
{
	int err;

	calc_figure(c, qy, out);
	err = c->w.err;
	walk_free(&c->w);
	return err;
}

/* What a query's walk depends on besides its window: the series it
 * matches (wanted_type(): a class of figures), how (name, labels,
 * exact, owner), and whether it reads the histograms. */
static int fig_class(enum shmstat_figure fig)
{
	switch (fig) {
	case SHMSTAT_FIG_INCREASE:
	case SHMSTAT_FIG_RATE:
		return 0;
	case SHMSTAT_FIG_QUANTILE:
	case SHMSTAT_FIG_MEAN:
		return 1;
	case SHMSTAT_FIG_GAUGE:
		return 2;
	default:
		return 3;
	}
}

static int str_cmp(const char *a, const char *b)
{
	return a == NULL || b == NULL ? (a != NULL) - (b != NULL) : strcmp(a, b);
}

/* Queries @x and @y walk alike unless this is not 0; it orders them. */
static int walk_cmp(const struct shmstat_wrange *x, const struct shmstat_wrange *y)
{
	int d;

	if ((d = fig_class(x->qy.fig) - fig_class(y->qy.fig)) != 0)
		return d;
	if (x->from_ns != y->from_ns)
		return x->from_ns < y->from_ns ? -1 : 1;
	if (x->to_ns != y->to_ns)
		return x->to_ns < y->to_ns ? -1 : 1;
	if ((d = (x->qy.exact != 0) - (y->qy.exact != 0)) != 0 ||
	    (d = strcmp(x->qy.name, y->qy.name)) != 0 ||
	    (d = strcmp(x->qy.labels ? x->qy.labels : "", y->qy.labels ? y->qy.labels : "")) != 0)
		return d;
	return str_cmp(x->qy.owner, y->qy.owner);
}

/* Query indices by walk_cmp(), then by index. */
static int by_walk(const void *a, const void *b, void *arg)
{
	const struct shmstat_wrange *q = arg;
	const size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const int d = walk_cmp(&q[i], &q[j]);

	return d ? d : (i > j) - (i < j);
}

int shmstat_window(shmstat_frame *const *f, size_t n, const struct shmstat_wquery *qy,
		   uint64_t from_ns, uint64_t to_ns, struct shmstat_wvalue *out)
{
	struct wcalc c;
	size_t last = 0;

	memset(out, 0, sizeof(*out));
	if (query_bad(qy))
		return EINVAL;
	calc_init(&c, qy, out);
	for (size_t j = window_start(f, n, from_ns, qy->fig == SHMSTAT_FIG_GAUGE); j < n; j++) {
		struct shmstat_frame_info fi;
		int err;

		shmstat_frame_info(f[j], &fi);
		if (fi.time_ns > to_ns)
			break;
		last = j;
		err = calc_feed(&c, qy, f[j], out, NULL);
		if (err) {
			walk_free(&c.w);
			return err;
		}
	}
	if (qy->fig == SHMSTAT_FIG_GAUGE && c.used)
		gauge_of(&c, qy, f[last], NULL);
	return calc_end(&c, qy, out);
}

/* --------------------------------------------------------------- streams */

/* shmstat_history_windows(): the queries over frames given one at a time,
 * oldest first. A query starts at the first frame after its from_ns (a
 * gauge's: at or after it), with the frame before it (kept: @prev), and
 * ends at the first frame after its to_ns: what shmstat_window() takes of
 * an array of the same frames. */
struct wstream {
	const struct shmstat_wrange *q;
	struct shmstat_wvalue *out;
	struct wcalc *c;
	size_t nq;
	size_t *order;             /* the queries that walk, by their start */
	size_t nl;                 /* in order */
	size_t *share;             /* the next query that takes its figure
				    * from the same walk: of a query that
				    * walks, its first (SIZE_MAX: none) */
	size_t next;               /* order[next]: the next to start */
	size_t *act, nact;         /* started, not ended */
	shmstat_frame *prev;
	const shmstat_frame *cur;  /* the frame being given, with prev */
	/* the index of the sets of prev and cur (shmstat__setidx): a query
	 * finds its series in them, not by looking at every series */
	struct shmstat__setidx ix[2];
	struct shmstat_wread rd;
};

struct wstart {
	uint64_t from;
	int later;                 /* not a gauge: after from, not at it */
	size_t k;
};

static int by_start(const void *a, const void *b)
{
	const struct wstart *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if (x->later != y->later)
		return x->later - y->later;
	return (x->k > y->k) - (x->k < y->k);
}

static int is_gauge(const struct shmstat_wrange *r)
{
	return r->qy.fig == SHMSTAT_FIG_GAUGE;
}

static const void *set_of(const shmstat_frame *f)
{
	return f ? shmstat__frame_schema(f) : NULL;
}

/* The index of the set of @f (prev or cur), built unless kept; NULL when
 * there is no memory for it (the series are then looked at one by one).
 * The two kept are those of prev and cur, whose frames are here: a set
 * freed with its frame is never taken for a new one at its address. */
static const struct shmstat__setidx *stream_ix(struct wstream *s, const shmstat_frame *f)
{
	const void *sc = shmstat__frame_schema(f);
	struct shmstat__setidx *x = &s->ix[0];

	if (s->ix[0].sc == sc || s->ix[1].sc == sc)
		return s->ix[0].sc == sc ? &s->ix[0] : &s->ix[1];
	if (x->sc && (x->sc == set_of(s->prev) || x->sc == set_of(s->cur)))
		x = &s->ix[1];
	return shmstat__setidx_build(x, f) == 0 ? x : NULL;
}

static int stream_feed(struct wstream *s, size_t k, const shmstat_frame *f)
{
	const struct shmstat__setidx *ix = stream_ix(s, f);
	int err = calc_feed(&s->c[k], &s->q[k].qy, f, &s->out[k], ix);

	if (err == 0 && is_gauge(&s->q[k]))
		err = gauge_of(&s->c[k], &s->q[k].qy, f, ix);
	return err;
}

/* Query @k ends: its figure into its out; 0 or ENOMEM (a window's
 * histogram is made at its end when no run of its records ended before:
 * calc_end(), run_end()) */
static int stream_end(struct wstream *s, size_t k)
{
	for (size_t j = s->share[k]; j != SIZE_MAX; j = s->share[j]) {
		s->out[j].from_ns = s->out[k].from_ns;
		s->out[j].to_ns = s->out[k].to_ns;
		calc_figure(&s->c[k], &s->q[j].qy, &s->out[j]);
	}
	return calc_end(&s->c[k], &s->q[k].qy, &s->out[k]);
}

/* The queries that walk into s->order (by their start), the others
 * chained in s->share to the one whose walk is theirs: the same window,
 * class of figures and series (show --window asks a histogram's rate
 * and three quantiles, a table's four figures). 0 or ENOMEM. */
static int calc_shares(struct wstream *s)
{
	size_t *idx = malloc((s->nq ? s->nq : 1) * sizeof(*idx)), last = SIZE_MAX;
	struct wstart *st = malloc((s->nq ? s->nq : 1) * sizeof(*st));

	if (idx == NULL || st == NULL) {
		free(idx);
		free(st);
		return ENOMEM;
	}
	for (size_t k = 0; k < s->nq; k++) {
		idx[k] = k;
		s->share[k] = SIZE_MAX;
	}
	qsort_r(idx, s->nq, sizeof(*idx), by_walk, (void *)s->q);
	s->nl = 0;
	for (size_t i = 0, lead = 0; i < s->nq; i++) {
		const size_t k = idx[i];

		if (i > 0 && !is_gauge(&s->q[k]) && walk_cmp(&s->q[lead], &s->q[k]) == 0) {
			s->share[last] = k;     /* after the last of lead's */
			last = k;
			continue;
		}
		lead = last = k;
		st[s->nl++] = (struct wstart){ s->q[k].from_ns, !is_gauge(&s->q[k]), k };
	}
	qsort(st, s->nl, sizeof(*st), by_start);
	for (size_t k = 0; k < s->nl; k++)
		s->order[k] = st[k].k;
	free(idx);
	free(st);
	return 0;
}

/* Query order[next] starts with frame @f (NULL: the frames ended): with
 * the frame before, then @f when the query reaches it. */
static int stream_start(struct wstream *s, const shmstat_frame *f, uint64_t t)
{
	size_t k = s->order[s->next++];
	const struct shmstat_wrange *r = &s->q[k];
	struct shmstat_frame_info pi;
	int err = 0;

	if (!is_gauge(r) && s->prev) {
		shmstat_frame_info(s->prev, &pi);
		if (pi.time_ns <= r->to_ns)
			err = stream_feed(s, k, s->prev);
	}
	if (err == 0 && f && t <= r->to_ns) {
		s->act[s->nact++] = k;
		return stream_feed(s, k, f);
	}
	if (stream_end(s, k) != 0 && err == 0)
		err = ENOMEM;
	return err;
}

static int stream_sink(void *arg, shmstat_frame *f)
{
	struct wstream *s = arg;
	struct shmstat_frame_info fi;
	int err = 0;

	if (f == NULL) {
		/* start again: every query as new */
		for (size_t k = 0; k < s->nq; k++) {
			walk_free(&s->c[k].w);
			calc_init(&s->c[k], &s->q[k].qy, &s->out[k]);
		}
		s->next = 0;
		s->nact = 0;
		shmstat__frame_free(s->prev);
		s->prev = NULL;
		s->ix[0].sc = s->ix[1].sc = NULL;
		memset(&s->rd, 0, sizeof(s->rd));
		return 0;
	}
	/* only prev's set may be kept: another one's frame is gone */
	for (int j = 0; j < 2; j++)
		if (s->ix[j].sc != set_of(s->prev))
			s->ix[j].sc = NULL;
	s->cur = f;
	shmstat_frame_info(f, &fi);
	if (s->rd.records++ == 0)
		s->rd.first_ns = fi.time_ns;
	s->rd.last_ns = fi.time_ns;
	/* the queries it ends, those it goes on, those it starts */
	for (size_t a = 0; a < s->nact;) {
		size_t k = s->act[a];

		if (s->q[k].to_ns < fi.time_ns) {
			if (stream_end(s, k) != 0 && err == 0)
				err = ENOMEM;
			s->act[a] = s->act[--s->nact];
		} else {
			a++;
		}
	}
	for (size_t a = 0; a < s->nact && err == 0; a++)
		err = stream_feed(s, s->act[a], f);
	while (err == 0 && s->next < s->nl) {
		const struct shmstat_wrange *r = &s->q[s->order[s->next]];

		if (is_gauge(r) ? fi.time_ns < r->from_ns : fi.time_ns <= r->from_ns)
			break;
		err = stream_start(s, f, fi.time_ns);
	}
	shmstat__frame_free(s->prev);
	s->prev = f;
	s->cur = NULL;
	return err;
}

int shmstat_history_windows(shmstat_history *h, uint64_t from_ns, uint64_t to_ns,
			    shmstat_series_filter keep, void *arg, const struct shmstat_wrange *q,
			    size_t nq, struct shmstat_wvalue *out, struct shmstat_wread *rd)
{
	struct wstream s = { .q = q, .out = out, .nq = nq };
	int err;

	if (rd)
		memset(rd, 0, sizeof(*rd));
	if (nq && (q == NULL || out == NULL))
		return EINVAL;
	for (size_t k = 0; k < nq; k++) {
		memset(&out[k], 0, sizeof(out[k]));
		if (query_bad(&q[k].qy))
			return EINVAL;
	}
	s.c = calloc(nq ? nq : 1, sizeof(*s.c));
	s.order = malloc((nq ? nq : 1) * sizeof(*s.order));
	s.share = malloc((nq ? nq : 1) * sizeof(*s.share));
	s.act = malloc((nq ? nq : 1) * sizeof(*s.act));
	if (s.c == NULL || s.order == NULL || s.share == NULL || s.act == NULL ||
	    calc_shares(&s) != 0) {
		err = shmstat__fail(ENOMEM, "out of memory reading history file '%s'", h->path);
		goto out;
	}
	for (size_t k = 0; k < nq; k++)
		calc_init(&s.c[k], &q[k].qy, &out[k]);
	err = shmstat__history_stream(h, from_ns, to_ns, 1, keep, arg, stream_sink, &s);
	/* the queries the frames did not reach the start of, then those
	 * still going */
	while (err == 0 && s.next < s.nl)
		if ((err = stream_start(&s, NULL, 0)) != 0)
			err = shmstat__fail(err, "out of memory reading history file '%s'", h->path);
	for (size_t a = 0; err == 0 && a < s.nact; a++)
		if ((err = stream_end(&s, s.act[a])) != 0)
			err = shmstat__fail(err, "out of memory reading history file '%s'", h->path);
	if (rd && err == 0)
		*rd = s.rd;
out:
	for (size_t k = 0; s.c && k < nq; k++)
		walk_free(&s.c[k].w);
	shmstat__frame_free(s.prev);
	shmstat__setidx_free(&s.ix[0]);
	shmstat__setidx_free(&s.ix[1]);
	free(s.c);
	free(s.order);
	free(s.share);
	free(s.act);
	return err;
}
