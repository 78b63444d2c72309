/*
 * show_hist.c - shmstat show --history: a history file's records, as
 * they were at an instant, over a window, or every record of a range.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "cli.h"
#include "histq.h"
#include "show_hist.h"
#include "units.h"
#include "timearg.h"
#include "units.h"

static int wanted(const struct show_hist *o, const struct shmstat_series *s)
{
	struct shmstat_metric_info m = { .name = s->name, .labels = s->labels };

	return metric_wanted(&m, o->inc, o->ninc, o->exc, o->nexc);
}

void fmt_sig_figs(char *buf, size_t n, uint64_t hits, uint64_t misses, uint64_t weight,
		  uint64_t evictions, uint64_t max_error, const char *unit, int raw)
{
	char h[FIG_LEN], m[FIG_LEN], w[FIG_LEN], e[FIG_LEN], x[FIG_LEN], r[FIG_LEN];
	const uint64_t ev = hits + misses;

	fmt_fig_u64(h, sizeof(h), hits, NULL, raw);
	fmt_fig_u64(m, sizeof(m), misses, NULL, raw);
	fmt_fig_u64(w, sizeof(w), weight, unit, raw);
	fmt_fig_u64(e, sizeof(e), evictions, NULL, raw);
	fmt_fig_u64(x, sizeof(x), max_error, NULL, raw);
	fmt_ratio(r, sizeof(r), ev ? (double)hits / (double)ev : NAN, raw);
	snprintf(buf, n, "hits=%s misses=%s hit_ratio=%s weight=%s evictions=%s max_error=%s", h, m,
		 r, w, e, x);
}

/* The value of series @i of frame @f as show prints it (cumulative),
 * in its unit (units.h). */
static void series_value(const shmstat_frame *f, size_t i, const struct shmstat_series *s,
			 int raw, char *buf, size_t n)
{
	if (s->type == SHMSTAT_COUNTER) {
		fmt_fig_u64(buf, n, s->counter, s->unit, raw);
	} else if (s->type == SHMSTAT_GAUGE) {
		if (!s->has_value)
			snprintf(buf, n, "-");
		else if (raw)
			snprintf(buf, n, "%lld", (long long)s->gauge);
		else
			fmt_fig(buf, n, (double)s->gauge, s->unit, 0);
	} else if (s->type == SHMSTAT_HISTOGRAM) {
		static const double q[] = { 0.5, 0.95, 0.99 };
		struct shmstat_hstats st;
		shmstat_hdata *h;
		uint64_t v[3];

		if (shmstat_frame_hist(f, i, &h) != 0) {
			snprintf(buf, n, "-");
			return;
		}
		shmstat_hdata_stats(h, &st);
		if (st.count && shmstat_hdata_quantiles(h, q, 3, v) == 0) {
			char c[FIG_LEN], a[FIG_LEN], b[FIG_LEN], d[FIG_LEN], m[FIG_LEN];

			fmt_fig_u64(c, sizeof(c), st.count, NULL, raw);
			fmt_fig_u64(a, sizeof(a), v[0], s->unit, raw);
			fmt_fig_u64(b, sizeof(b), v[1], s->unit, raw);
			fmt_fig_u64(d, sizeof(d), v[2], s->unit, raw);
			fmt_fig_u64(m, sizeof(m), st.max, s->unit, raw);
			snprintf(buf, n, "count=%s p50=%s p95=%s p99=%s max=%s", c, a, b, d, m);
		} else
			snprintf(buf, n, "count=0");
		shmstat_hdata_free(h);
	} else {
		fmt_sig_figs(buf, n, s->sig_hits, s->sig_misses, s->sig_weight, s->sig_evictions,
			     s->sig_max_error, s->unit, raw);
	}
}

/* Frame @f, the @k-th of a range (from 0), each metric's cumulative
 * value; the range's head before the first. */
static void range_frame(const struct show_hist *o, const shmstat_frame *f, size_t k)
{
	struct shmstat_frame_info fi;
	char when[64], step[32], seg[1024];

	if (o->json && k == 0)
		fprintf(o->out, "{\"schema\":\"shmstat.history/1\",\"frames\":[");
	shmstat_frame_info(f, &fi);
	fmt_time(when, sizeof(when), fi.time_ns);
	fmt_duration(step, sizeof(step), fi.step_ns);
	if (o->json) {
		fprintf(o->out, "%s{\"time_ns\":%llu,\"segment\":", k ? "," : "",
		       (unsigned long long)fi.time_ns);
		json_put(o->out, fi.segment);
		fprintf(o->out, ",\"generation\":\"%016llx\",\"step_ns\":%llu,\"series\":[",
		       (unsigned long long)fi.generation, (unsigned long long)fi.step_ns);
	} else {
		fprintf(o->out, "# %s  segment %s  step %s\n", when, text_safe(seg, sizeof(seg), fi.segment),
		       step);
	}
	size_t ns = 0, *order = series_sorted(f, &ns);

	for (size_t j = 0, out = 0; order && j < ns; j++) {
		struct shmstat_series s;
		char full[METRIC_TEXT_MAX], val[6 * FIG_LEN + 80];
		size_t i = order[j];

		if (shmstat_frame_series(f, i, &s) != 0 || !wanted(o, &s))
			continue;
		if (o->json) {
			fprintf(o->out, "%s{\"name\":", out++ ? "," : "");
			json_put(o->out, s.name);
			fprintf(o->out, ",\"labels\":");
			json_put(o->out, s.labels);
			fprintf(o->out, ",\"type\":\"%s\"", shmstat_type_name(s.type));
			if (s.type == SHMSTAT_GAUGE)
				s.has_value ? fprintf(o->out, ",\"value\":%lld", (long long)s.gauge)
					    : fprintf(o->out, ",\"value\":null");
			else if (s.type == SHMSTAT_SIGTABLE)
				fprintf(o->out, ",\"hits\":%llu,\"misses\":%llu,\"weight\":%llu,"
				       "\"evictions\":%llu,\"unsummarized\":%llu,\"max_error\":%llu",
				       (unsigned long long)s.sig_hits,
				       (unsigned long long)s.sig_misses,
				       (unsigned long long)s.sig_weight,
				       (unsigned long long)s.sig_evictions,
				       (unsigned long long)s.sig_unsummarized,
				       (unsigned long long)s.sig_max_error);
			else
				fprintf(o->out, ",\"value\":%llu", (unsigned long long)s.counter);
			fputc('}', o->out);
			continue;
		}
		fmt_metric(full, sizeof(full), s.name, s.labels);
		series_value(f, i, &s, o->raw, val, sizeof(val));
		fprintf(o->out, "%s %s %s\n", full, shmstat_type_name(s.type), val);
	}
	free(order);
	if (o->json)
		fprintf(o->out, "]}");
}

/* The end of a range of @n frames. */
static int range_end(const struct show_hist *o, size_t n)
{
	if (o->json)
		fprintf(o->out, n ? "]}\n" : "{\"schema\":\"shmstat.history/1\",\"frames\":[]}\n");
	else if (n == 0)
		fprintf(o->out, "no records in the range\n");
	return EXIT_OK;
}

/* show --range, the records read one at a time (shmstat_history_each()) */
struct range_walk {
	const struct show_hist *o;
	size_t n;
	bool stopped;           /* by range_one(): not an error of the file's */
};

static int range_one(void *arg, const shmstat_frame *f)
{
	struct range_walk *w = arg;

	if (ferror(w->o->out)) {
		w->stopped = true;      /* refused more: nothing more to write */
		return 1;
	}
	range_frame(w->o, f, w->n++);
	return 0;
}

/* Every record of [@from, @to], printed as it is read: what it takes is
 * one record, however many the range has (serve's /api/v1/range stops
 * reading at its --max-bytes). */
static int show_range_of(const struct show_hist *o, uint64_t from, uint64_t to)
{
	struct range_walk w = { o, 0, false };
	shmstat_history *h;
	int err;

	if (shmstat_history_open(o->path, &h) != 0)
		return die(EXIT_ERR, "%s", shmstat_last_error());
	err = shmstat_history_each(h, from, to, range_one, &w);
	if (err != 0 && !w.stopped) {
		err = die(EXIT_ERR, "%s", shmstat_last_error());
		shmstat_history_close(h);
		return err;
	}
	shmstat_history_close(h);
	return range_end(o, w.n);
}

/* ---------------------------------------------------- keys over a window */

#define WKEYS 5                /* keys shown per table over a window */

static int by_lo(const void *a, const void *b)
{
	const struct wkey *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo > y->lo ? -1 : 1;
	return (x->hi < y->hi) - (x->hi > y->hi);
}

/* The hits key @k had at frame @f (table series @i, @s): the bounds
 * [*lo, *hi]. A key not among the frame's top keys had no more than the
 * last of them (its guaranteed hits plus the table's largest error), or,
 * when the frame kept every key it had, no more than that error. */
static void key_then(const shmstat_frame *f, long i, const struct shmstat_series *s,
		     uint64_t hash, uint32_t keep, uint64_t *lo, uint64_t *hi)
{
	struct shmstat_sigkey k;

	*lo = 0;
	*hi = 0;
	if (i < 0)
		return;                 /* no such table then: it started later */
	for (size_t j = 0; j < s->top; j++) {
		if (shmstat_frame_sigkey(f, (size_t)i, j, &k) != 0)
			continue;
		if (k.hash == hash) {
			*lo = k.hits - k.err_hits;
			*hi = k.hits;
			return;
		}
	}
	*hi = s->sig_max_error;
	if (s->top >= keep && s->top > 0 &&
	    shmstat_frame_sigkey(f, (size_t)i, s->top - 1, &k) == 0)
		*hi = k.hits - k.err_hits + s->sig_max_error;
}

size_t window_keys_of(const struct frames *fr, const struct shmstat_series *s, struct wkey *w,
		      size_t max)
{
	const shmstat_frame *f0 = fr->f[0], *f1 = fr->f[fr->n - 1];
	long i0 = shmstat_frame_find(f0, s->name, s->labels);
	long i1 = shmstat_frame_find(f1, s->name, s->labels);
	struct shmstat_series s0, s1;
	struct shmstat_frame_info fi0, fi1;
	size_t n = 0;

	if (i1 < 0 || shmstat_frame_series(f1, (size_t)i1, &s1) != 0)
		return 0;
	shmstat_frame_info(f0, &fi0);
	shmstat_frame_info(f1, &fi1);
	/* restarted in the window (another registration or segment): its
	 * counts start from nothing */
	if (i0 >= 0 && (shmstat_frame_series(f0, (size_t)i0, &s0) != 0 ||
			s0.reg_id != s1.reg_id || fi0.generation != fi1.generation))
		i0 = -1;
	for (size_t j = 0; j < s1.top && n < max; j++) {
		uint64_t plo, phi, lo1;

		if (shmstat_frame_sigkey(f1, (size_t)i1, j, &w[n].k) != 0)
			continue;
		key_then(f0, i0, &s0, w[n].k.hash, (uint32_t)s1.top, &plo, &phi);
		lo1 = w[n].k.hits - w[n].k.err_hits;
		w[n].lo = lo1 > phi ? lo1 - phi : 0;
		w[n].hi = w[n].k.hits > plo ? w[n].k.hits - plo : 0;
		n++;
	}
	qsort(w, n, sizeof(w[0]), by_lo);
	return n;
}

/* The top keys of table series @s over the window of frames @fr: what
 * each gained, as bounds from the first frame's and the last frame's
 * counts, by the gain surely made; high-value when that is at least
 * SIG_HIGH_VALUE. */
static void window_keys(const struct show_hist *o, const struct frames *fr,
			const struct shmstat_series *s)
{
	static struct wkey w[SHMSTAT_HISTORY_MAX_TOP];
	size_t n = window_keys_of(fr, s, w, SHMSTAT_HISTORY_MAX_TOP);

	if (n > WKEYS)
		n = WKEYS;
	if (o->json) {
		fprintf(o->out, ",\"top\":[");
		for (size_t j = 0; j < n; j++) {
			/* a key known by its hash alone (a full_len of at least
			 * 1 without bytes): key null, key_len 0, as live */
			int bare = w[j].k.key_len == 0 && w[j].k.full_len != 0;

			fprintf(o->out, j ? ",{\"key\":" : "{\"key\":");
			if (bare)
				fputs("null", o->out);
			else
				json_put_bytes(o->out, w[j].k.key, w[j].k.key_len, 1);
			/* as top --json: the whole length, cut, the hash (keys
			 * cut to the same bytes stay apart) */
			fprintf(o->out, ",\"key_len\":%u,\"cut\":%s,\"hash\":\"%016llx\"",
				bare ? 0u : w[j].k.full_len,
				!bare && w[j].k.full_len > w[j].k.key_len ? "true" : "false",
				(unsigned long long)w[j].k.hash);
			fprintf(o->out, ",\"owner\":");
			json_put(o->out, w[j].k.owner);
			fprintf(o->out, ",\"hits\":%llu,\"hits_error\":%llu,\"high_value\":%s}",
			       (unsigned long long)w[j].lo, (unsigned long long)(w[j].hi - w[j].lo),
			       w[j].lo >= SIG_HIGH_VALUE ? "true" : "false");
		}
		fprintf(o->out, "]");
		return;
	}
	for (size_t j = 0; j < n; j++) {
		char key[SHMSTAT_SIG_KEY_SHOW], own[256], lo[FIG_LEN], hi[FIG_LEN];

		fmt_sigkey(key, sizeof(key), w[j].k.key, w[j].k.key_len, w[j].k.full_len,
			   w[j].k.hash);
		fmt_fig_u64(lo, sizeof(lo), w[j].lo, NULL, o->raw);
		fmt_fig_u64(hi, sizeof(hi), w[j].hi, NULL, o->raw);
		fprintf(o->out, "  %c hits +%s (at most +%s) %s %s\n",
		       w[j].lo >= SIG_HIGH_VALUE ? '*' : ' ', lo, hi,
		       w[j].k.owner[0] ? owner_safe(own, sizeof(own), w[j].k.owner) : "-",
		       key);
	}
}

/* The queries of series @s's figures over [@from, @to] into @q: how many
 * (at most 4). */
static size_t series_queries(const struct shmstat_series *s, uint64_t from, uint64_t to,
			     struct shmstat_wrange *q)
{
	static const enum shmstat_figure figs[][4] = {
		[SHMSTAT_COUNTER] = { SHMSTAT_FIG_INCREASE, SHMSTAT_FIG_RATE },
		[SHMSTAT_GAUGE] = { SHMSTAT_FIG_GAUGE },
		[SHMSTAT_HISTOGRAM] = { SHMSTAT_FIG_RATE, SHMSTAT_FIG_QUANTILE,
					SHMSTAT_FIG_QUANTILE, SHMSTAT_FIG_QUANTILE },
		[SHMSTAT_SIGTABLE] = { SHMSTAT_FIG_SIG_HITS, SHMSTAT_FIG_SIG_MISSES,
				       SHMSTAT_FIG_SIG_HIT_RATE, SHMSTAT_FIG_SIG_WEIGHT },
	};
	static const size_t nfig[] = { [SHMSTAT_COUNTER] = 2, [SHMSTAT_GAUGE] = 1,
				       [SHMSTAT_HISTOGRAM] = 4, [SHMSTAT_SIGTABLE] = 4 };
	static const double qs[] = { 0, 0.5, 0.95, 0.99 };
	size_t t = s->type == SHMSTAT_COUNTER || s->type == SHMSTAT_GAUGE ||
			   s->type == SHMSTAT_HISTOGRAM ? (size_t)s->type : SHMSTAT_SIGTABLE;

	for (size_t k = 0; k < nfig[t]; k++) {
		memset(&q[k], 0, sizeof(q[k]));
		q[k].qy.name = s->name;
		q[k].qy.labels = s->labels;
		q[k].qy.exact = 1;
		q[k].qy.fig = figs[t][k];
		q[k].qy.q = t == SHMSTAT_HISTOGRAM ? qs[k] : 0;
		q[k].from_ns = from;
		q[k].to_ns = to;
	}
	return nfig[t];
}

/* One series over the window: its figures @v (series_queries()), for
 * text or JSON; @fr: the window's first and last frames. */
static void window_series(const struct show_hist *o, const struct frames *fr,
			  const struct shmstat_series *s, const struct shmstat_wvalue *v, int nv,
			  int first)
{
	static const double qs[] = { 0.5, 0.95, 0.99 };
	char full[METRIC_TEXT_MAX], a[FIG_LEN], b[FIG_LEN], c[FIG_LEN], d[FIG_LEN];

	if (o->json) {
		static const char *const keys[][5] = {
			[SHMSTAT_COUNTER] = { "increase", "rate" },
			[SHMSTAT_GAUGE] = { "value" },
			[SHMSTAT_HISTOGRAM] = { "rate", "p50", "p95", "p99" },
			[SHMSTAT_SIGTABLE] = { "hits", "misses", "hit_rate", "weight" },
		};

		fprintf(o->out, "%s{\"name\":", first ? "" : ",");
		json_put(o->out, s->name);
		fprintf(o->out, ",\"labels\":");
		json_put(o->out, s->labels);
		fprintf(o->out, ",\"type\":\"%s\",\"samples\":%llu,\"resets\":%u", shmstat_type_name(s->type),
		       (unsigned long long)v[0].samples, v[0].resets);
		for (int k = 0; k < nv; k++) {
			if (v[k].has_value && isfinite(v[k].value))
				fprintf(o->out, ",\"%s\":%.17g", keys[s->type][k], v[k].value);
			else
				fprintf(o->out, ",\"%s\":null", keys[s->type][k]);
		}
		if (s->type == SHMSTAT_SIGTABLE && fr->n >= 2)
			window_keys(o, fr, s);
		fputc('}', o->out);
		return;
	}
	/* the text form: figures in the series' unit (units.h) */
	fmt_metric(full, sizeof(full), s->name, s->labels);
	fprintf(o->out, "%s %s", full, shmstat_type_name(s->type));
	if (!v[0].has_value) {
		fprintf(o->out, " no value (%s)\n", v[0].why ? v[0].why : "no data");
		return;
	}
	switch (s->type) {
	case SHMSTAT_COUNTER:
		fmt_fig(a, sizeof(a), v[0].value, s->unit, o->raw);
		fmt_rate(b, sizeof(b), v[1].has_value ? v[1].value : NAN, s->unit, o->raw);
		fprintf(o->out, " increase=%s rate=%s\n", a, b);
		break;
	case SHMSTAT_GAUGE:
		fmt_fig(a, sizeof(a), v[0].value, s->unit, o->raw);
		fprintf(o->out, " value=%s\n", a);
		break;
	case SHMSTAT_HISTOGRAM:
		fmt_fig_u64(a, sizeof(a), v[0].samples, NULL, o->raw);
		fmt_rate(b, sizeof(b), v[0].value, NULL, o->raw);
		fprintf(o->out, " count=%s rate=%s", a, b);
		for (int k = 1; k < 4; k++) {
			if (!v[k].has_value)
				continue;
			fmt_fig(b, sizeof(b), v[k].value, s->unit, o->raw);
			fprintf(o->out, " p%g=%s", qs[k - 1] * 100, b);
		}
		fputc('\n', o->out);
		break;
	default:
		fmt_fig(a, sizeof(a), v[0].value, NULL, o->raw);
		fmt_fig(b, sizeof(b), v[1].value, NULL, o->raw);
		fmt_ratio(c, sizeof(c), v[2].has_value ? v[2].value : NAN, o->raw);
		fmt_fig(d, sizeof(d), v[3].value, s->unit, o->raw);
		fprintf(o->out, " hits=%s misses=%s hit_ratio=%s weight=%s\n", a, b, c, d);
		if (fr->n >= 2)
			window_keys(o, fr, s);
		break;
	}
}

/* ------------------------------------------------------------ a window */

/* The series a window shows: those of its last record @f that @o wants,
 * and the others it wants met on the walk (@x: series the last record
 * does not hold, its metric removed, or its segment made again and the
 * metric not registered yet) */
struct group {
	const shmstat_frame *f;
	const struct show_hist *o;
	struct series_set x;
};

static int keep_group(void *arg, const char *name, const char *labels, enum shmstat_type type)
{
	struct group *g = arg;
	const struct shmstat_series s = { .name = name, .labels = labels, .type = type };

	if (!wanted(g->o, &s))
		return 0;
	if (shmstat_frame_find(g->f, name, labels) >= 0)
		return 1;
	series_set_add(&g->x, name, labels, type);
	return 0;
}

/* series_queries() of a series known by its key */
static size_t key_queries(const struct series_key *k, uint64_t from, uint64_t to,
			  struct shmstat_wrange *q)
{
	const struct shmstat_series s = { .name = k->name, .labels = k->labels, .type = k->type };

	return series_queries(&s, from, to, q);
}

/* The frame of the records at @t that a window from @from starts with
 * (the last of them before @from, else the first), read whole into *@f
 * (*@n of them: free them); NULL if none. */
static shmstat_frame *frame_at(shmstat_history *h, uint64_t t, uint64_t from, shmstat_frame ***f,
			       size_t *n)
{
	if (shmstat_history_range(h, t, t, f, n) != 0 || *n == 0)
		return NULL;
	return (*f)[t < from ? *n - 1 : 0];
}

/* Every series of the window [@from, @to], as of its last record (and
 * those it does not hold, in a second pass when there are any): the
 * records read as they come, not kept (shmstat_history_windows()), every
 * figure of every series shown in one pass: what it takes grows with the
 * series, not the records. */
static int show_window(const struct show_hist *o, uint64_t from, uint64_t to)
{
	shmstat_history *h = NULL;
	shmstat_frame **lf = NULL, **ff = NULL, *ends[2], *last = NULL, *first;
	size_t ln = 0, fn = 0, ns = 0, nq = 0, *order = NULL, *gidx = NULL;
	struct shmstat_wrange *q = NULL;
	struct shmstat_wvalue *v = NULL, *vx = NULL;
	struct shmstat_frame_info fi;
	struct shmstat_wread rd;
	struct group g = { NULL, NULL, { NULL, 0, 0, 0 } };
	size_t ng = 0, nqx = 0;
	int rc = EXIT_OK;

	if (shmstat_history_open(o->path, &h) != 0)
		return die(EXIT_ERR, "%s", shmstat_last_error());
	/* the window's last record, whole: the series shown (the last at or
	 * before @to, in the window or the one before it) */
	if (shmstat_history_window_range(h, to, to, &lf, &ln) != 0) {
		rc = die(EXIT_ERR, "%s", shmstat_last_error());
		goto out;
	}
	if (ln == 0) {
		rc = die(EXIT_ERR, "no records in %s in the window", o->path);
		goto out;
	}
	last = lf[ln - 1];
	order = series_sorted(last, &ns);
	gidx = malloc((ns ? ns : 1) * sizeof(*gidx));
	q = malloc((ns ? ns : 1) * 4 * sizeof(*q));
	v = malloc((ns ? ns : 1) * 4 * sizeof(*v));
	if (order == NULL || gidx == NULL || q == NULL || v == NULL) {
		rc = die(EXIT_ERR, "out of memory planning the figures of history %s", o->path);
		goto out;
	}
	g = (struct group){ last, o, { NULL, 0, 0, 0 } };
	for (size_t k = 0; k < ns; k++) {
		struct shmstat_series s;

		if (shmstat_frame_series(last, order[k], &s) != 0 || !wanted(o, &s))
			continue;
		gidx[ng++] = order[k];
		nq += series_queries(&s, from, to, q + nq);
	}
	if (shmstat_history_windows(h, from, to, keep_group, &g, q, nq, v, &rd) != 0) {
		rc = die(EXIT_ERR, "%s", shmstat_last_error());
		goto out;
	}
	/* series of the window its last record lacks: their figures in a
	 * second pass (none in the common case) */
	series_set_sort(&g.x);
	if (g.x.oom || series_set_windows(h, from, to, &g.x, key_queries, &vx) != 0) {
		rc = g.x.oom || !*shmstat_last_error()
			     ? die(EXIT_ERR, "out of memory reading the series of history %s", o->path)
			     : die(EXIT_ERR, "%s", shmstat_last_error());
		goto out;
	}
	/* the window's first record, whole: where the tables' keys start */
	first = rd.records ? frame_at(h, rd.first_ns, from, &ff, &fn) : NULL;
	if (rd.records && first == NULL && *shmstat_last_error()) {
		rc = die(EXIT_ERR, "%s", shmstat_last_error());
		goto out;
	}
	ends[0] = first ? first : last;
	ends[1] = last;
	shmstat_frame_info(last, &fi);
	if (o->json) {
		fprintf(o->out, "{\"schema\":\"shmstat.window/1\",\"segment\":");
		json_put(o->out, fi.segment);
		fprintf(o->out, ",\"from_ns\":%llu,\"to_ns\":%llu,\"records\":%zu,",
		       (unsigned long long)from, (unsigned long long)to, rd.records);
		if (rd.records >= 2)
			fprintf(o->out, "\"span_ns\":%llu,", (unsigned long long)(rd.last_ns - rd.first_ns));
		else
			fprintf(o->out, "\"span_ns\":null,");
		fprintf(o->out, "\"series\":[");
	} else {
		char a[64], b[64], seg[1024], sp[64] = "";

		fmt_time(a, sizeof(a), from);
		fmt_time(b, sizeof(b), to);
		/* a gap in the history across the window's start: its
		 * figures are over the records' span (histq.h) */
		if (rd.records >= 2 && window_span_long(rd.last_ns - rd.first_ns, to - from)) {
			memcpy(sp, ", its records span ", 20);
			fmt_duration(sp + 19, sizeof(sp) - 19, rd.last_ns - rd.first_ns);
		}
		fprintf(o->out, "segment %s from %s to %s (%zu records%s)\n",
		       text_safe(seg, sizeof(seg), fi.segment), a, b, rd.records, sp);
	}
	/* the last record's series and the extras, merged in order */
	nq = nqx = 0;
	for (size_t j = 0, k = 0; (j < ng || k < g.x.n) && rd.records && !ferror(o->out);) {
		struct frames efr = { h, ends, rd.records >= 2 ? 2 : 1 };
		struct shmstat_series s = { .name = NULL };
		struct shmstat_wrange sq[4];
		int mine = j < ng;
		size_t nv;

		if (mine)
			shmstat_frame_series(last, gidx[j], &s);
		if (mine && k < g.x.n)
			mine = series_cmp(s.name, s.labels, &g.x.s[k]) < 0;
		if (mine) {
			nv = series_queries(&s, from, to, sq);
			window_series(o, &efr, &s, v + nq, (int)nv, j + k == 0);
			nq += nv;
			j++;
			continue;
		}
		s = (struct shmstat_series){ .name = g.x.s[k].name, .labels = g.x.s[k].labels,
					     .type = g.x.s[k].type, .unit = "" };
		if (first) {
			const long i = shmstat_frame_find(first, s.name, s.labels);
			struct shmstat_series fs;

			if (i >= 0 && shmstat_frame_series(first, (size_t)i, &fs) == 0 && fs.unit)
				s.unit = fs.unit;
		}
		nv = series_queries(&s, from, to, sq);
		window_series(o, &efr, &s, vx + nqx, (int)nv, j + k == 0);
		nqx += nv;
		k++;
	}
	if (o->json)
		fprintf(o->out, "]}\n");
out:
	free(order);
	free(gidx);
	free(q);
	free(v);
	free(vx);
	series_set_free(&g.x);
	shmstat_frames_free(ff, fn);
	shmstat_frames_free(lf, ln);
	shmstat_history_close(h);
	return rc;
}

/* The last record at or before @at, whole, as a range of one. */
static int last_at(const struct show_hist *o, uint64_t at)
{
	struct frames fr = { NULL, NULL, 0 };
	int rc;

	if (shmstat_history_open(o->path, &fr.h) != 0)
		return die(EXIT_ERR, "%s", shmstat_last_error());
	if (shmstat_history_window_range(fr.h, at, at, &fr.f, &fr.n) != 0) {
		rc = die(EXIT_ERR, "%s", shmstat_last_error());
	} else if (fr.n == 0) {
		rc = die(EXIT_ERR, "no record in %s at or before the instant", o->path);
	} else {
		range_frame(o, fr.f[fr.n - 1], 0);
		rc = range_end(o, 1);
	}
	frames_free(&fr);
	return rc;
}

int show_history(const struct show_hist *o)
{
	uint64_t now = realtime_ns(), at = now, from, to;

	if (o->range_from) {
		if (parse_instant(o->range_from, now, &from) != 0)
			return die(EXIT_USAGE, "range start '%s' is not a time", o->range_from);
		if (parse_instant(o->range_to, now, &to) != 0)
			return die(EXIT_USAGE, "range end '%s' is not a time", o->range_to);
		if (to < from)
			return die(EXIT_USAGE, "range ends before it starts");
		if (o->window)
			return show_window(o, from, to);
		return show_range_of(o, from, to);
	} else {
		if (o->at && parse_instant(o->at, now, &at) != 0)
			return die(EXIT_USAGE, "instant '%s' is not a time", o->at);
		if (o->window > at)
			return die(EXIT_USAGE, "window reaches before 1970");
		to = at;
		if (o->window == 0) {
			/* the last record at or before the instant, alone
			 * (however long before it: not every record since) */
			return last_at(o, at);
		}
		from = at - o->window;
	}
	return show_window(o, from, to);
}
