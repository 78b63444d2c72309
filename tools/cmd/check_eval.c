/*
 * check_eval.c - the values of `shmstat check`'s rules (check_eval.h):
 * without a window from the live segment, over the lifetime of the
 * series; with one, and for baselines, from the history that `shmstat
 * record` keeps. Judging them is alerts.h's.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "shmstat_window.h"
#include "check_eval.h"
#include "nagios.h"
#include "timearg.h"

/* ------------------------------------------------------------ live values */

/* Sum over the metrics of the snapshot that @sel selects. */
struct live_sum {
	double counter, gauge;
	size_t other;           /* series of the name of another type */
	uint64_t hits, misses, weight, evictions;
	uint64_t series, created_min;
	shmstat_hdata *h;
	int bad_layout;
};

void check_views(struct check_ctx *c)
{
	size_t n = shmstat_snap_metrics(c->snap);

	c->sigv = calloc(n ? n : 1, sizeof(shmstat_sigview *));
	c->nsigv = c->sigv ? n : 0;
}

void check_views_free(struct check_ctx *c)
{
	for (size_t i = 0; i < c->nsigv; i++)
		shmstat_sigview_free(c->sigv[i]);
	free(c->sigv);
	c->sigv = NULL;
	c->nsigv = 0;
}

/* The merged view of signature table @i of the snapshot: the one the
 * rules share (check_views()), merged when first asked for; without
 * them, one of its own in *@own, for the caller to free. NULL when it
 * cannot be had (a rule asking again tries again). */
static const shmstat_sigview *sigview_of(const struct check_ctx *c, size_t i,
					 shmstat_sigview **own)
{
	if (i >= c->nsigv)
		return shmstat_snap_sigtab(c->snap, i, own) == 0 ? *own : NULL;
	if (c->sigv[i] == NULL)
		(void)shmstat_snap_sigtab(c->snap, i, &c->sigv[i]);   /* NULL when it fails */
	return c->sigv[i];
}

/* Whether a series of @type has figure @kind, as shmstat_window() takes
 * them (window.c, wanted_type()): a gauge rule on a counter was 0, OK */
static int live_wanted(enum rule_kind kind, enum shmstat_type type)
{
	switch (kind) {
	case RULE_GAUGE: return type == SHMSTAT_GAUGE;
	case RULE_QUANTILE: return type == SHMSTAT_HISTOGRAM;
	case RULE_SIG: return type == SHMSTAT_SIGTABLE;
	default: return type != SHMSTAT_GAUGE;     /* increases: no gauge has one */
	}
}

static void live_collect(const struct check_ctx *c, enum rule_kind kind,
			 const struct rule_selector *sel, const char *owner, struct live_sum *out)
{
	size_t n = shmstat_snap_metrics(c->snap);

	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info m;

		if (shmstat_snap_metric(c->snap, i, &m) != 0 || strcmp(m.name, sel->metric) != 0 ||
		    shmstat_labels_match(m.labels, sel->labels) != 1)
			continue;
		if (!live_wanted(kind, m.type)) {
			out->other++;
			continue;
		}
		out->series++;
		if (out->created_min == 0 || m.created_ns < out->created_min)
			out->created_min = m.created_ns;
		if (m.type == SHMSTAT_GAUGE) {
			if (m.has_value)
				out->gauge += (double)m.gauge;
			else
				out->series--;
		} else if (m.type == SHMSTAT_SIGTABLE) {
			shmstat_sigview *own = NULL;
			const shmstat_sigview *v = sigview_of(c, i, &own);
			struct shmstat_sigstats st;

			out->counter += (double)m.counter;
			if (v) {
				shmstat_sigview_stats(v, &st);
				if (owner) {
					/* that owner's exact totals (a table
					 * without it adds nothing) */
					for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
						struct shmstat_sigowner_info oi;

						shmstat_sigview_owner(v, k, &oi);
						if (strcmp(oi.name, owner) != 0)
							continue;
						out->hits += oi.hits;
						out->misses += oi.misses;
						out->weight += oi.weight;
					}
				} else {
					out->hits += st.hits;
					out->misses += st.misses;
					out->weight += st.weight;
					out->evictions += st.evictions;
				}
				shmstat_sigview_free(own);
			}
		} else {
			out->counter += (double)m.counter;
		}
		if (m.type == SHMSTAT_HISTOGRAM) {
			shmstat_hdata *h;

			if (shmstat_snap_hist(c->snap, i, SHMSTAT_PROC_ALL, &h) != 0)
				continue;
			if (out->h == NULL)
				out->h = h;
			else {
				if (shmstat_hdata_merge(out->h, h) != 0)
					out->bad_layout = 1;
				shmstat_hdata_free(h);
			}
		}
	}
}

static double sig_figure(enum rule_sig_figure f, const struct live_sum *s, int *ok)
{
	*ok = 1;
	switch (f) {
	case SIG_HITS: return (double)s->hits;
	case SIG_MISSES: return (double)s->misses;
	case SIG_WEIGHT: return (double)s->weight;
	case SIG_EVICTIONS: return (double)s->evictions;
	default:
		*ok = s->hits + s->misses > 0;
		return *ok ? (double)s->hits / (double)(s->hits + s->misses) : 0;
	}
}

/* A count summed as a double, as samples: 2^64 and more (a counter at
 * UINT64_MAX rounds up to 2^64) is UINT64_MAX; the bare conversion of
 * such a double is undefined, and made 0 samples of it */
static uint64_t samples_of(double d)
{
	return d >= 18446744073709551616.0 ? UINT64_MAX : d > 0 ? (uint64_t)d : 0;
}

/* The rule's value over the lifetime of its series (no window). */
static void live_value(const struct check_ctx *c, const struct rule *r, struct rule_value *v)
{
	struct live_sum s = { 0 };
	int ok = 1;

	memset(v, 0, sizeof(*v));
	if (r->kind == RULE_RATIO) {
		struct live_sum d = { 0 };

		for (size_t k = 0; k < r->nnum; k++)
			live_collect(c, RULE_INCREASE, &r->num[k], NULL, &s);
		for (size_t k = 0; k < r->nden; k++)
			live_collect(c, RULE_INCREASE, &r->den[k], NULL, &d);
		shmstat_hdata_free(s.h);
		shmstat_hdata_free(d.h);
		v->samples = samples_of(d.counter);
		v->has_value = d.counter > 0;
		v->value = d.counter > 0 ? s.counter / d.counter : 0;
		if (!v->has_value)
			v->why = d.series ? "the denominator is 0" : "no such series";
		return;
	}
	live_collect(c, r->kind, &r->sel, r->kind == RULE_SIG ? r->owner : NULL, &s);
	if (s.series == 0) {
		v->why = !s.other                ? "no such series"
			 : r->kind == RULE_GAUGE    ? "not a gauge"
			 : r->kind == RULE_QUANTILE ? "not a histogram"
			 : r->kind == RULE_SIG      ? "not a signature table"
						    : "a gauge, which has no increase";
		goto out;
	}
	switch (r->kind) {
	case RULE_RATE:
		v->samples = samples_of(s.counter);
		v->has_value = c->now > s.created_min;
		v->value = v->has_value ? s.counter * 1e9 / (double)(c->now - s.created_min) : 0;
		/* wall-clock times, the only ones the segment keeps: a
		 * clock stepped back past the registration has no span */
		if (!v->has_value)
			v->why = "the clock is before the series' registration (stepped back?)";
		break;
	case RULE_INCREASE:
		v->samples = samples_of(s.counter);
		v->value = s.counter;
		v->has_value = 1;
		break;
	case RULE_GAUGE:
		v->samples = s.series;
		v->value = s.gauge;
		v->has_value = 1;
		break;
	case RULE_QUANTILE: {
		struct shmstat_hstats st;
		uint64_t q;

		if (s.h == NULL) {
			v->why = "not a histogram";
			break;
		}
		if (s.bad_layout) {
			/* the series cannot be summed: one alone would hide
			 * the others' values */
			v->why = "its series have different bucket layouts (select one with labels)";
			break;
		}
		shmstat_hdata_stats(s.h, &st);
		v->samples = st.count;
		if (st.count && shmstat_hdata_quantiles(s.h, &r->q, 1, &q) == 0) {
			v->value = (double)q;
			v->has_value = 1;
		} else {
			v->why = "no values recorded";
		}
		break;
	}
	case RULE_SIG:
		v->samples = s.hits + s.misses;
		v->value = sig_figure(r->figure, &s, &ok);
		v->has_value = ok;
		if (!ok)
			v->why = "no hits or misses";
		break;
	default:
		break;
	}
out:
	shmstat_hdata_free(s.h);
}

/* ---------------------------------------------------------- window values */

static enum shmstat_figure window_figure(const struct rule *r)
{
	switch (r->kind) {
	case RULE_RATE: return SHMSTAT_FIG_RATE;
	case RULE_GAUGE: return SHMSTAT_FIG_GAUGE;
	case RULE_QUANTILE: return SHMSTAT_FIG_QUANTILE;
	case RULE_SIG:
		switch (r->figure) {
		case SIG_HITS: return SHMSTAT_FIG_SIG_HITS;
		case SIG_MISSES: return SHMSTAT_FIG_SIG_MISSES;
		case SIG_WEIGHT: return SHMSTAT_FIG_SIG_WEIGHT;
		case SIG_EVICTIONS: return SHMSTAT_FIG_SIG_EVICTIONS;
		default: return SHMSTAT_FIG_SIG_HIT_RATE;
		}
	default: return SHMSTAT_FIG_INCREASE;
	}
}

/* The frames of [@from, @to] (with @before, also the last one before
 * @from when none is at @from: a window's increases start there): a
 * slice of the loaded ones. */
static void slice(const struct frames *fr, uint64_t from, uint64_t to, int before, size_t *off,
		  size_t *n)
{
	size_t lo = 0, hi = fr->n, a, b;

	while (lo < hi) {               /* first frame at or after @from */
		size_t mid = lo + (hi - lo) / 2;

		if (frame_time(fr, mid) < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	a = lo;
	hi = fr->n;
	while (lo < hi) {               /* first frame after @to */
		size_t mid = lo + (hi - lo) / 2;

		if (frame_time(fr, mid) <= to)
			lo = mid + 1;
		else
			hi = mid;
	}
	b = lo;
	if (before && a > 0 && (a == fr->n || frame_time(fr, a) > from))
		a--;
	*off = a;
	*n = b - a;
}

/* The window figures of the rules (check_plan()): while planning, each
 * asked for is noted; then read in one pass; then given in the order
 * asked (the rules asking again, for fewer: a baseline only where the
 * window had a value). */
struct check_plan {
	int planning;
	int err;                   /* out of memory planning */
	struct pentry {
		const struct rule *r;
		size_t sel;            /* a ratio's selector */
		uint64_t from, to;
		size_t q;              /* its query; SIZE_MAX: a bad one */
	} *e;
	size_t n, cap, cur;
	struct shmstat_wrange *q;
	struct shmstat_wvalue *v;
	size_t nq;
};

/* Figure @qy over [@from, @to] for selector @sel of rule @r into *@w: 0,
 * or EINVAL (a bad query), ENOMEM. While planning, noted: *@w is then a
 * value (0), so that what depends on one is planned too. */
static int window_fig(const struct check_ctx *c, const struct rule *r, size_t sel,
		      const struct shmstat_wquery *qy, uint64_t from, uint64_t to,
		      struct shmstat_wvalue *w)
{
	struct check_plan *p = c->plan;
	struct pentry *e;

	memset(w, 0, sizeof(*w));
	if (p->planning) {
		if (p->n == p->cap) {
			size_t cap = p->cap ? 2 * p->cap : 64;
			struct pentry *ne = realloc(p->e, cap * sizeof(*ne));
			struct shmstat_wrange *nq = ne ? realloc(p->q, cap * sizeof(*nq)) : NULL;

			if (ne)
				p->e = ne;
			if (nq == NULL)
				return p->err = ENOMEM;
			p->q = nq;
			p->cap = cap;
		}
		e = &p->e[p->n++];
		*e = (struct pentry){ r, sel, from, to, SIZE_MAX };
		/* a bad query is that query's "cannot compute", not the pass's */
		if (shmstat_window(NULL, 0, qy, from, to, w) == 0) {
			e->q = p->nq;
			p->q[p->nq++] = (struct shmstat_wrange){ *qy, from, to };
		}
		memset(w, 0, sizeof(*w));
		w->has_value = 1;
		return 0;
	}
	while (p->cur < p->n && !(p->e[p->cur].r == r && p->e[p->cur].sel == sel &&
				  p->e[p->cur].from == from && p->e[p->cur].to == to))
		p->cur++;
	if (p->cur == p->n)
		return EINVAL;
	e = &p->e[p->cur++];
	if (e->q == SIZE_MAX)
		return EINVAL;
	*w = p->v[e->q];
	return 0;
}

int check_plan(struct check_ctx *c, const struct ruleset *rs, uint64_t from, uint64_t to,
	       shmstat_series_filter keep, void *arg)
{
	struct check_plan *p = calloc(1, sizeof(*p));
	int err;

	if (p == NULL)
		return ENOMEM;
	c->plan = p;
	p->planning = 1;
	for (size_t k = 0; k < rs->n; k++) {
		struct rule_value v;
		char why[256];

		check_evaluate(c, &rs->rules[k], &v, why, sizeof(why));
	}
	p->planning = 0;
	p->v = calloc(p->nq ? p->nq : 1, sizeof(*p->v));
	if (p->err || p->v == NULL)
		return ENOMEM;
	err = shmstat_history_windows(c->fr.h, from, to, keep, arg, p->q, p->nq, p->v, NULL);
	return err;
}

void check_plan_free(struct check_ctx *c)
{
	if (c->plan) {
		free(c->plan->e);
		free(c->plan->q);
		free(c->plan->v);
		free(c->plan);
		c->plan = NULL;
	}
}

/* A window of @window_ns whose records span more than WINDOW_SPAN_MAX
 * times it (a gap in the history across its start: a recorder stopped,
 * the clock stepped) has no value: its rate would be that of the gap, a
 * day's average for a 5m window. check_evaluate() says the span. */
static void span_check(struct rule_value *v, uint64_t window_ns)
{
	if (v->has_value && window_span_gap(v->span_ns, window_ns)) {
		v->has_value = 0;
		v->why = "the window's records span more than " WINDOW_SPAN_MAX_TEXT
			 " times the window";
	}
}

/* The rule's value over [@from, @to] of the history. */
static void window_value(const struct check_ctx *c, const struct rule *r, uint64_t from, uint64_t to,
			 struct rule_value *v)
{
	struct shmstat_wvalue w;

	memset(v, 0, sizeof(*v));
	if (r->kind == RULE_RATIO) {
		double num = 0, den = 0;
		int any = 0;

		for (size_t k = 0; k < r->nnum + r->nden; k++) {
			const struct rule_selector *sel = k < r->nnum ? &r->num[k]
								      : &r->den[k - r->nnum];
			struct shmstat_wquery qy = { .name = sel->metric, .labels = sel->labels,
						     .fig = SHMSTAT_FIG_INCREASE };

			if (window_fig(c, r, k, &qy, from, to, &w) != 0 || !w.has_value)
				continue;
			any = 1;
			if (w.to_ns - w.from_ns > v->span_ns)
				v->span_ns = w.to_ns - w.from_ns;
			if (k < r->nnum)
				num += w.value;
			else
				den += w.value;
		}
		v->samples = samples_of(den);
		v->has_value = den > 0;
		v->value = den > 0 ? num / den : 0;
		if (!v->has_value)
			v->why = any ? "the denominator did not move in the window"
				     : "no data in the window";
		span_check(v, to - from);
		return;
	}
	{
		struct shmstat_wquery qy = { .name = r->sel.metric, .labels = r->sel.labels,
					     .fig = window_figure(r), .q = r->q,
					     .owner = r->kind == RULE_SIG ? r->owner : NULL };

		if (window_fig(c, r, SIZE_MAX, &qy, from, to, &w) != 0) {
			v->why = "cannot compute the window";
			return;
		}
		v->has_value = w.has_value;
		v->value = w.value;
		v->samples = w.samples;
		v->why = w.why;
		if (w.has_value && qy.fig != SHMSTAT_FIG_GAUGE)
			v->span_ns = w.to_ns - w.from_ns;
		span_check(v, to - from);
	}
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median or mean of @vals[@n] (@n > 0; sorted for a median). */
static double stat_of(enum rule_base_stat stat, double *vals, size_t n)
{
	double sum = 0;

	if (stat == BASE_MEAN) {
		for (size_t i = 0; i < n; i++)
			sum += vals[i];
		return sum / (double)n;
	}
	qsort(vals, n, sizeof(*vals), by_double);
	return n % 2 ? vals[n / 2] : (vals[n / 2 - 1] + vals[n / 2]) / 2;
}

void check_baseline_points(char *buf, size_t n, const struct rule *r, const struct rule_value *v)
{
	char d[32];

	fmt_duration(d, sizeof(d), r->window_ns);
	snprintf(buf, n, "%llu of %llu %s%s", (unsigned long long)v->baseline_values,
		 (unsigned long long)v->baseline_stretches, r->window_ns ? d : "",
		 r->window_ns ? " stretches" : "records");
}

/* The baseline: the rule's value over each window-long stretch of the
 * baseline window before the current window (a gauge: each value
 * recorded in the baseline window), then their median or mean; none with
 * less history behind it than min_history, nor with fewer stretches that
 * gave a value than min_history holds windows (rounded up). */
static void baseline(const struct check_ctx *c, const struct rule *r, struct rule_value *v,
		     char *why, size_t whylen)
{
	const uint64_t end = c->now - r->window_ns;
	const uint64_t from = end > r->baseline_window_ns ? end - r->baseline_window_ns : 0;
	const uint64_t first = c->fr.n ? frame_time(&c->fr, 0) : 0;   /* the oldest record */
	size_t off, n, nv = 0, cap;
	double *vals;
	char pts[96], need[32];

	fmt_duration(need, sizeof(need), r->baseline_min_ns);
	if (!baseline_history(r, c->now, first, &v->baseline_history_ns)) {
		char have[32];

		fmt_duration(have, sizeof(have), v->baseline_history_ns);
		snprintf(why, whylen, "no baseline: %s%s history%s, min_history is %s",
			 v->baseline_history_ns ? have : "no", v->baseline_history_ns ? " of" : "",
			 r->window_ns ? " before the window" : " yet", need);
		v->why = why;
		return;
	}
	/* the points: each record (a gauge: all of them, loaded already),
	 * or each window-long stretch */
	slice(&c->fr, from, end, 0, &off, &n);
	cap = r->window_ns ? (size_t)((end - from) / r->window_ns) : n;
	if (r->window_ns && cap > 100000)
		cap = 100000;           /* the most recent stretches */
	vals = malloc((cap ? cap : 1) * sizeof(*vals));
	if (vals == NULL) {
		v->why = "out of memory reading its points";
		return;
	}
	for (size_t k = 0; k < cap; k++) {
		struct rule_value b;
		uint64_t to = r->window_ns ? end - k * r->window_ns : frame_time(&c->fr, off + k);

		/* a stretch the history starts inside holds only part of a
		 * window (an increase of 1 s for one of 10 s): none, nor any
		 * older one */
		if (r->window_ns && first > to - r->window_ns)
			break;
		window_value(c, r, r->window_ns ? to - r->window_ns : to, to, &b);
		if (b.has_value && isfinite(b.value) &&
		    (r->min_samples == 0 || r->window_ns == 0 || b.samples >= r->min_samples))
			vals[nv++] = b.value;
	}
	v->baseline_values = nv;
	v->baseline_stretches = cap;
	check_baseline_points(pts, sizeof(pts), r, v);
	if (nv == 0) {
		snprintf(why, whylen, "no baseline: %s before the window gave a value", pts);
		v->why = why;
	} else if (r->window_ns && nv < (r->baseline_min_ns + r->window_ns - 1) / r->window_ns) {
		snprintf(why, whylen, "no baseline: %s before the window gave a value, min_history is %s",
			 pts, need);
		v->why = why;
	} else {
		v->baseline = stat_of(r->baseline_stat, vals, nv);
		v->has_baseline = 1;
	}
	free(vals);
}

void check_evaluate(const struct check_ctx *c, const struct rule *r, struct rule_value *v,
		    char *why, size_t whylen)
{
	char d[32];

	memset(v, 0, sizeof(*v));
	if (r->window_ns == 0 && !r->has_baseline) {
		live_value(c, r, v);
		return;
	}
	if (!c->have_history) {
		fmt_duration(d, sizeof(d), r->window_ns ? r->window_ns : r->baseline_window_ns);
		snprintf(why, whylen, "needs --history for its %s %s", d,
			 r->window_ns ? "window" : "baseline");
		if (r->window_ns == 0) {
			live_value(c, r, v);    /* a gauge: only its baseline is missing */
			if (!v->has_value)
				return;
		}
		v->why = why;
		return;
	}
	if (r->window_ns) {
		window_value(c, r, c->now - r->window_ns, c->now, v);
		if (!v->has_value && window_span_gap(v->span_ns, r->window_ns)) {
			char sp[32];

			fmt_duration(sp, sizeof(sp), v->span_ns);
			fmt_duration(d, sizeof(d), r->window_ns);
			snprintf(why, whylen,
				 "its records span %s, more than %d times the %s window "
				 WINDOW_GAP_GUESS,
				 sp, WINDOW_SPAN_MAX, d);
			v->why = why;
			return;
		}
	} else {
		live_value(c, r, v);
	}
	/* planning (check_plan()): every figure the baseline may ask for */
	if (r->has_baseline && (v->has_value || (c->plan && c->plan->planning)))
		baseline(c, r, v, why, whylen);
}

/* ", its records span 1h10m" when rule @r's window has a span longer
 * than asked (histq.h, window_span_long()), else "" */
void check_span_note(const struct rule *r, const struct rule_value *v, char *buf, size_t n)
{
	char d[32];

	buf[0] = '\0';
	if (!window_span_long(v->span_ns, r->window_ns))
		return;
	fmt_duration(d, sizeof(d), v->span_ns);
	snprintf(buf, n, ", its records span %s", d);
}

void check_span_perf(const struct rule *r, const struct rule_value *v, FILE *f)
{
	char label[RULES_MAX_NAME + 16];
	struct nagios_perf sp = { .label = label, .uom = "s", .value = (double)v->span_ns * 1e-9 };

	if (!window_span_long(v->span_ns, r->window_ns))
		return;
	snprintf(label, sizeof(label), "%s_span", r->name);
	nagios_perf_put(f, &sp);
}

const char *check_unit(const struct check_ctx *c, const struct rule *r, int *hcount)
{
	size_t n = shmstat_snap_metrics(c->snap);
	const char *metric = r->kind == RULE_RATIO ? r->num[0].metric : r->sel.metric;

	*hcount = 0;
	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info m;

		if (shmstat_snap_metric(c->snap, i, &m) != 0 || strcmp(m.name, metric) != 0)
			continue;
		/* a histogram's increase is its count: values, not an
		 * amount in its unit (it was "200ns", and 2ms thresholds
		 * were taken as 2,000,000 values) */
		if (m.type == SHMSTAT_HISTOGRAM && (r->kind == RULE_RATE || r->kind == RULE_INCREASE)) {
			*hcount = 1;
			return "";
		}
		return m.unit ? m.unit : "";
	}
	return NULL;
}

const char *check_unit_misfit(const struct rule *r, const char *unit, int hcount, char *buf,
			      size_t n)
{
	char what[200];

	if (unit == NULL)
		return NULL;
	/* not "has no unit": the histogram has one, its count not */
	if (hcount)
		snprintf(what, sizeof(what), "the %s of histogram %.96s counts the values it recorded (no unit)",
			 r->kind == RULE_RATE ? "rate" : "increase", r->sel.metric);
	return rule_unit_misfit(r, unit, hcount ? what : NULL, buf, n);
}
