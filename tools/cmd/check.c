/*
 * check.c - shmstat check: evaluate alert rules (rules.h) on a live
 * segment and, for windows and baselines, on its history; keep alert
 * state (alerts.h); print one line per rule and the overall health; exit
 * with the Nagios plugin codes.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "shmstat_window.h"
#include "alerts.h"
#include "cli.h"
#include "cmd.h"
#include "histq.h"
#include "rules.h"
#include "timearg.h"

const char cmd_check_usage[] =
	"usage: shmstat check -r|--rules FILE [-H|--history FILE] [--state FILE]\n"
	"                     [--no-state] [--json] NAME\n"
	"  Evaluate the rules of FILE (shmstat-rules(5)) on segment NAME: rules\n"
	"  without a window on its live values (lifetime), rules with a window\n"
	"  or a baseline on the history FILE that shmstat record keeps of it.\n"
	"  Prints one line per rule (OK, WARNING, CRITICAL, UNKNOWN: no value,\n"
	"  fewer samples than min_samples, no history) and the overall health.\n"
	"  Alert state (when each alert started, cleared, expires) is kept in\n"
	"  --state FILE (default: the history's path + .alerts; none without a\n"
	"  history, or with --no-state: `for` then does not apply).\n"
	"  Exit status (Nagios plugins): 0 OK, 1 WARNING, 2 CRITICAL,\n"
	"  3 UNKNOWN, also for a bad rules file, segment or history.\n";

struct ctx {
	shmstat_snap *snap;
	struct frames fr;
	int have_history;
	uint64_t now;
};

/* ------------------------------------------------------------ live values */

/* Sum over the metrics of the snapshot that @sel selects. */
struct live_sum {
	double counter, gauge;
	uint64_t hits, misses, weight, evictions;
	uint64_t series, created_min;
	shmstat_hdata *h;
	int bad_layout;
};

static void live_collect(const struct ctx *c, const struct rule_selector *sel,
			 struct live_sum *out)
{
	size_t n = shmstat_snap_metrics(c->snap);

	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info m;

		if (shmstat_snap_metric(c->snap, i, &m) != 0 || strcmp(m.name, sel->metric) != 0 ||
		    shmstat_labels_match(m.labels, sel->labels) != 1)
			continue;
		out->series++;
		if (out->created_min == 0 || m.created_ns < out->created_min)
			out->created_min = m.created_ns;
		if (m.type == SHMSTAT_GAUGE) {
			if (m.has_value)
				out->gauge += (double)m.gauge;
			else
				out->series--;
		} else if (m.type == SHMSTAT_SIGTABLE) {
			shmstat_sigview *v;
			struct shmstat_sigstats st;

			out->counter += (double)m.counter;
			if (shmstat_snap_sigtab(c->snap, i, &v) == 0) {
				shmstat_sigview_stats(v, &st);
				out->hits += st.hits;
				out->misses += st.misses;
				out->weight += st.weight;
				out->evictions += st.evictions;
				shmstat_sigview_free(v);
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

/* The rule's value over the lifetime of its series (no window). */
static void live_value(const struct ctx *c, const struct rule *r, struct rule_value *v)
{
	struct live_sum s = { 0 };
	int ok = 1;

	memset(v, 0, sizeof(*v));
	if (r->kind == RULE_RATIO) {
		struct live_sum d = { 0 };

		for (size_t k = 0; k < r->nnum; k++)
			live_collect(c, &r->num[k], &s);
		for (size_t k = 0; k < r->nden; k++)
			live_collect(c, &r->den[k], &d);
		shmstat_hdata_free(s.h);
		shmstat_hdata_free(d.h);
		v->samples = (uint64_t)d.counter;
		v->has_value = d.counter > 0;
		v->value = d.counter > 0 ? s.counter / d.counter : 0;
		if (!v->has_value)
			v->why = d.series ? "the denominator is 0" : "no such series";
		return;
	}
	live_collect(c, &r->sel, &s);
	if (s.series == 0) {
		v->why = "no such series";
		goto out;
	}
	switch (r->kind) {
	case RULE_RATE:
		v->samples = (uint64_t)s.counter;
		v->has_value = c->now > s.created_min;
		v->value = v->has_value ? s.counter * 1e9 / (double)(c->now - s.created_min) : 0;
		break;
	case RULE_INCREASE:
		v->samples = (uint64_t)s.counter;
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

/* The frames of [@from, @to]: a slice of the loaded ones. */
static void slice(const struct frames *fr, uint64_t from, uint64_t to, size_t *off, size_t *n)
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
	*off = a;
	*n = b - a;
}

/* The rule's value over [@from, @to] of the history. */
static void window_value(const struct ctx *c, const struct rule *r, uint64_t from, uint64_t to,
			 struct rule_value *v)
{
	shmstat_frame *const *f;
	struct shmstat_wvalue w;
	size_t off, n;

	memset(v, 0, sizeof(*v));
	slice(&c->fr, from, to, &off, &n);
	f = (shmstat_frame *const *)c->fr.f + off;
	if (r->kind == RULE_RATIO) {
		double num = 0, den = 0;
		int any = 0;

		for (size_t k = 0; k < r->nnum + r->nden; k++) {
			const struct rule_selector *sel = k < r->nnum ? &r->num[k]
								      : &r->den[k - r->nnum];
			struct shmstat_wquery qy = { .name = sel->metric, .labels = sel->labels,
						     .fig = SHMSTAT_FIG_INCREASE };

			if (shmstat_window(f, n, &qy, from, to, &w) != 0 || !w.has_value)
				continue;
			any = 1;
			if (k < r->nnum)
				num += w.value;
			else
				den += w.value;
		}
		v->samples = (uint64_t)den;
		v->has_value = den > 0;
		v->value = den > 0 ? num / den : 0;
		if (!v->has_value)
			v->why = any ? "the denominator did not move in the window"
				     : "no data in the window";
		return;
	}
	{
		struct shmstat_wquery qy = { .name = r->sel.metric, .labels = r->sel.labels,
					     .fig = window_figure(r), .q = r->q };

		if (shmstat_window(f, n, &qy, from, to, &w) != 0) {
			v->why = "cannot compute the window";
			return;
		}
		v->has_value = w.has_value;
		v->value = w.value;
		v->samples = w.samples;
		v->why = w.why;
	}
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The baseline: the rule's value over each window-long stretch of the
 * baseline window before the current window (a gauge: each value
 * recorded in the baseline window), then their median or mean. */
static void baseline(const struct ctx *c, const struct rule *r, struct rule_value *v)
{
	const uint64_t end = c->now - r->window_ns;
	const uint64_t from = end > r->baseline_window_ns ? end - r->baseline_window_ns : 0;
	size_t off, n, nv = 0, cap;
	double *vals;

	/* the points: each record (a gauge), or each window-long stretch */
	slice(&c->fr, from, end, &off, &n);
	cap = r->window_ns ? (size_t)((end - from) / r->window_ns) : n;
	if (cap > 100000)
		cap = 100000;           /* the most recent stretches */
	vals = malloc((cap ? cap : 1) * sizeof(*vals));
	if (vals == NULL) {
		v->why = "out of memory";
		return;
	}
	for (size_t k = 0; k < cap; k++) {
		struct rule_value b;
		uint64_t to = r->window_ns ? end - k * r->window_ns : frame_time(&c->fr, off + k);

		window_value(c, r, r->window_ns ? to - r->window_ns : to, to, &b);
		if (b.has_value && isfinite(b.value) &&
		    (r->min_samples == 0 || r->window_ns == 0 || b.samples >= r->min_samples))
			vals[nv++] = b.value;
	}
	if (nv == 0) {
		v->why = "no baseline: the history has no value before the window";
	} else if (r->baseline_stat == BASE_MEAN) {
		double sum = 0;

		for (size_t i = 0; i < nv; i++)
			sum += vals[i];
		v->baseline = sum / (double)nv;
		v->has_baseline = 1;
	} else {
		qsort(vals, nv, sizeof(*vals), by_double);
		v->baseline = nv % 2 ? vals[nv / 2] : (vals[nv / 2 - 1] + vals[nv / 2]) / 2;
		v->has_baseline = 1;
	}
	free(vals);
}

static void evaluate(const struct ctx *c, const struct rule *r, struct rule_value *v)
{
	static char why[96];
	char d[32];

	if (r->window_ns == 0 && !r->has_baseline) {
		live_value(c, r, v);
		return;
	}
	if (!c->have_history) {
		memset(v, 0, sizeof(*v));
		fmt_duration(d, sizeof(d), r->window_ns ? r->window_ns : r->baseline_window_ns);
		snprintf(why, sizeof(why), "needs --history for its %s %s", d,
			 r->window_ns ? "window" : "baseline");
		v->why = why;
		return;
	}
	if (r->window_ns)
		window_value(c, r, c->now - r->window_ns, c->now, v);
	else
		live_value(c, r, v);
	if (r->has_baseline && v->has_value)
		baseline(c, r, v);
}

/* ----------------------------------------------------------------- output */

static void json_num(const char *key, double v)
{
	if (isfinite(v))
		printf(",\"%s\":%.17g", key, v);
	else
		printf(",\"%s\":null", key);
}

/* "quantile 0.95 of cachesim_lookup_duration over 5m" */
static void describe(const struct rule *r, char *buf, size_t n)
{
	char w[32] = "", q[32] = "";
	const char *what = r->kind == RULE_RATIO ? (r->num ? r->num[0].metric : "?")
						 : r->sel.metric;

	if (r->window_ns) {
		char d[24];

		fmt_duration(d, sizeof(d), r->window_ns);
		snprintf(w, sizeof(w), " over %s", d);
	} else {
		snprintf(w, sizeof(w), " (lifetime)");
	}
	if (r->kind == RULE_QUANTILE)
		snprintf(q, sizeof(q), " %g", r->q);
	else if (r->kind == RULE_SIG)
		snprintf(q, sizeof(q), " %s", rule_figure_name(r->figure));
	{
		const char *lb = r->kind == RULE_RATIO ? (r->num ? r->num[0].labels : "")
						       : r->sel.labels;

		snprintf(buf, n, "%s%s of %s%s%s%s%s%s", rule_kind_name(r->kind), q, what,
			 lb && *lb ? "{" : "", lb && *lb ? lb : "", lb && *lb ? "}" : "",
			 r->kind == RULE_RATIO ? "/..." : "", w);
	}
}

int cmd_check(int argc, char **argv)
{
	static const char shortopts[] = ":r:H:";
	char bad[64];
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "history", required_argument, NULL, 'H' },
		{ "state", required_argument, NULL, 's' },
		{ "no-state", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rules_path = NULL, *hist_path = NULL, *state_path = NULL;
	char err[512], statebuf[1024];
	struct ruleset rs = { 0 };
	struct alert_table at = { 0 };
	struct ctx c = { 0 };
	shmstat_reader *rd = NULL;
	enum health *hs = NULL, overall;
	int ch, json = 0, no_state = 0, saved = 0, state_failed = 0;
	uint64_t need = 0;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (ch) {
		case 'r': rules_path = optarg; break;
		case 'H': hist_path = optarg; break;
		case 's': state_path = optarg; break;
		case 'n': no_state = 1; break;
		case 'j': json = 1; break;
		case ':':
			usage_error(cmd_check_usage, "option '%s' needs a value", refused_option(bad, sizeof(bad), argv, shortopts, opts));
			return HEALTH_UNKNOWN;
		default:
			usage_error(cmd_check_usage, "unknown option '%s'", refused_option(bad, sizeof(bad), argv, shortopts, opts));
			return HEALTH_UNKNOWN;
		}
	}
	if (optind != argc - 1 || rules_path == NULL) {
		usage_error(cmd_check_usage, rules_path ? "expected one segment NAME"
							: "--rules FILE is required");
		return HEALTH_UNKNOWN;
	}
	if (rules_load(rules_path, &rs, err, sizeof(err)) != 0) {
		die(HEALTH_UNKNOWN, "%s", err);
		return HEALTH_UNKNOWN;
	}
	c.now = realtime_ns();
	if (open_snapshot(argv[optind], &rd, &c.snap) != EXIT_OK) {
		rules_free(&rs);
		return HEALTH_UNKNOWN;
	}
	if (hist_path) {
		for (size_t k = 0; k < rs.n; k++) {
			const struct rule *r = &rs.rules[k];
			uint64_t w = r->window_ns + (r->has_baseline ? r->baseline_window_ns : 0);

			if (w > need)
				need = w;
		}
		if (need > c.now)
			need = c.now;
		if (frames_load(&c.fr, hist_path, c.now - need, c.now) != EXIT_OK) {
			shmstat_snap_free(c.snap);
			shmstat_reader_close(rd);
			rules_free(&rs);
			return HEALTH_UNKNOWN;
		}
		c.have_history = 1;
		if (state_path == NULL) {
			snprintf(statebuf, sizeof(statebuf), "%s.alerts", hist_path);
			state_path = statebuf;
		}
	}
	if (no_state)
		state_path = NULL;
	if (state_path && alerts_load(state_path, &at, err, sizeof(err)) != 0) {
		die(HEALTH_UNKNOWN, "%s", err);
		state_failed = 1;
		state_path = NULL;
		memset(&at, 0, sizeof(at));
	}
	alerts_prune(&at, &rs);
	hs = calloc(rs.n ? rs.n : 1, sizeof(*hs));
	if (json)
		printf("{\"schema\":\"shmstat.check/1\",\"segment\":\"%s\",\"time_ns\":%llu,\"rules\":[",
		       argv[optind], (unsigned long long)c.now);
	for (size_t k = 0; k < rs.n && hs; k++) {
		const struct rule *r = &rs.rules[k];
		struct rule_value v;
		struct alert_step_out so = { .health = HEALTH_UNKNOWN };
		const char *why = NULL;
		double shown = NAN;
		enum health level;
		char what[256], val[64], thr[128] = "", since[128] = "";

		evaluate(&c, r, &v);
		level = rule_level(r, &v, &shown, &why);
		so.health = level;
		if (state_path && alert_step(&at, r, level, c.now, rs.expire_ns, &so) != 0)
			so.health = level;
		hs[k] = so.health;
		describe(r, what, sizeof(what));
		rule_fmt_value(r, isfinite(shown) ? shown : (v.has_value ? v.value : NAN),
			       r->has_baseline, val, sizeof(val));
		if (level == HEALTH_CRITICAL || level == HEALTH_WARNING) {
			char t[48];

			rule_fmt_value(r, level == HEALTH_CRITICAL ? r->critical : r->warning,
				       0, t, sizeof(t));
			snprintf(thr, sizeof(thr), " %s %s%s", rule_op_name(r->op), t,
				 r->has_baseline ? "%" : "");
		}
		if (json) {
			printf("%s{\"name\":", k ? "," : "");
			json_put(stdout, r->name);
			printf(",\"health\":\"%s\",\"level\":\"%s\"", health_name(so.health),
			       health_name(level));
			printf(",\"what\":");
			json_put(stdout, what);
			if (v.has_value)
				json_num("value", v.value);
			else
				printf(",\"value\":null");
			if (r->has_baseline) {
				if (v.has_baseline)
					json_num("baseline", v.baseline);
				else
					printf(",\"baseline\":null");
				json_num("change_pct", shown);
			}
			printf(",\"samples\":%llu", (unsigned long long)v.samples);
			if (why) {
				printf(",\"why\":");
				json_put(stdout, why);
			}
			if (so.alert) {
				printf(",\"alert\":{\"phase\":\"%s\",\"active_since_ns\":%llu,"
				       "\"cleared_at_ns\":%llu,\"fired\":%u}",
				       alert_phase_name(so.alert->phase),
				       (unsigned long long)so.alert->active_since,
				       (unsigned long long)so.alert->cleared_at, so.alert->fired);
			}
			putchar('}');
			continue;
		}
		if (so.alert) {
			char t[64];

			if (so.alert->phase == ALERT_FIRING) {
				fmt_time(t, sizeof(t), so.alert->active_since);
				snprintf(since, sizeof(since), ", firing since %s", t);
			} else if (so.alert->phase == ALERT_CLEARED) {
				fmt_time(t, sizeof(t), so.alert->cleared_at);
				snprintf(since, sizeof(since), ", cleared at %s", t);
			} else {
				fmt_time(t, sizeof(t), so.alert->bad_since);
				snprintf(since, sizeof(since), ", pending since %s", t);
			}
		}
		if (why)
			printf("%-8s %s: %s: %s (%llu samples)%s\n", health_name(so.health), r->name,
			       what, why, (unsigned long long)v.samples, since);
		else
			printf("%-8s %s: %s = %s%s (%llu samples)%s\n", health_name(so.health), r->name,
			       what, val, thr, (unsigned long long)v.samples, since);
	}
	overall = hs ? health_overall(hs, rs.n) : HEALTH_UNKNOWN;
	if (state_path && hs) {
		if (alerts_save(state_path, &at, err, sizeof(err)) != 0) {
			die(HEALTH_UNKNOWN, "%s", err);
			state_failed = 1;
		} else {
			saved = 1;
		}
	}
	if (state_failed) {
		/* the check itself failed (docs/rules.md): at best UNKNOWN */
		enum health h2[2] = { overall, HEALTH_UNKNOWN };

		overall = health_overall(h2, 2);
	}
	if (json) {
		printf("],\"health\":\"%s\",\"state\":", health_name(overall));
		if (saved)
			json_put(stdout, state_path);
		else
			printf("null");
		printf("}\n");
	} else {
		size_t cnt[4] = { 0 };

		for (size_t k = 0; k < rs.n && hs; k++)
			cnt[hs[k]]++;
		printf("health: %s (%zu rules: %zu ok, %zu warning, %zu critical, %zu unknown)\n",
		       health_name(overall), rs.n, cnt[0], cnt[1], cnt[2], cnt[3]);
		if (!state_path)
			for (size_t k = 0; k < rs.n; k++)
				if (rs.rules[k].for_ns) {
					printf("note: no alert state (--history or --state): "
					       "'for' durations do not apply\n");
					break;
				}
	}
	free(hs);
	alerts_free(&at);
	if (c.have_history)
		frames_free(&c.fr);
	shmstat_snap_free(c.snap);
	shmstat_reader_close(rd);
	rules_free(&rs);
	return (int)overall;
}
