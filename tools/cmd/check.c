/*
 * check.c - shmstat check, a Nagios plugin: evaluate alert rules
 * (rules.h; from a rules file, or one rule from the options) on a live
 * segment and, for windows and baselines, on its history (check_eval.h);
 * keep alert state (alerts.h); print the plugin output (nagios.h): the
 * overall status and the worst rules, performance data, then one line per
 * rule; exit with the plugin codes.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmstat.h"
#include "shmstat_history.h"
#include "alerts.h"
#include "check_eval.h"
#include "cli.h"
#include "cmd.h"
#include "histq.h"
#include "nagios.h"
#include "promrules.h"
#include "rules.h"
#include "textsafe.h"
#include "timearg.h"

const char cmd_check_usage[] =
	"usage: shmstat check -r|--rules FILE [-H|--history FILE] [--state FILE]\n"
	"                     [--no-state] [-t|--timeout SEC] [--json] NAME\n"
	"       shmstat check FIGURE [--window D] [--below] [--min-samples N]\n"
	"                     [-w|--warning X] [-c|--critical X] [-H FILE]\n"
	"                     [-t|--timeout SEC] [--json] NAME\n"
	"       shmstat check -r|--rules FILE --emit prometheus-rules [--out FILE]\n"
	"                     [NAME]\n"
	"       shmstat check -V|--version\n"
	"  A Nagios plugin. Evaluate the rules of FILE (shmstat-rules(5)) on\n"
	"  segment NAME: rules without a window on its live values (lifetime),\n"
	"  rules with a window or a baseline on the history FILE that shmstat\n"
	"  record keeps of it. Or one figure, the rule FIGURE is one of:\n"
	"    --rate METRIC, --increase METRIC, --gauge METRIC,\n"
	"    --quantile Q METRIC, --ratio NUM DEN, --sig FIGURE METRIC\n"
	"  (METRIC a selector, NUM and DEN selectors joined by +), bad above\n"
	"  the thresholds -w and -c (--below: below them; or Nagios ranges:\n"
	"  ~:X above, X: below, @X: at or above, @~:X at or below X). Values\n"
	"  may have units: 2ms, 15MB, 90%, 1.5k.\n"
	"  Prints SHMSTAT STATE - the worst rules | performance data, then\n"
	"  one line per rule (OK, WARNING, CRITICAL, UNKNOWN: no value, fewer\n"
	"  samples than min_samples, no history, a window whose records span\n"
	"  more than 3 times it: a gap in the history).\n"
	"  Alert state (when each alert started, cleared, expires) is kept in\n"
	"  --state FILE (default: the history's path + .alerts; none without a\n"
	"  history, for one figure, or with --no-state: `for` then does not\n"
	"  apply; one state per rules file: a state of another rules file that\n"
	"  is still there is refused). -t: UNKNOWN after SEC seconds (default\n"
	"  10, 0: never).\n"
	"  Exit status (Nagios plugins): 0 OK, 1 WARNING, 2 CRITICAL,\n"
	"  3 UNKNOWN, also for a usage error, a bad rules file, segment,\n"
	"  history or option value, or a timeout (then the first line is\n"
	"  SHMSTAT UNKNOWN - what is wrong, and stderr says it too).\n"
	"  --emit prometheus-rules writes the rules as Prometheus recording and\n"
	"  alerting rules (to --out FILE, default stdout; NAME, a segment, says\n"
	"  the metrics' units and types) and says on stderr what does not\n"
	"  translate (prometheus.md, installed with the documentation); exit\n"
	"  0, or 3 on an error.\n";

#define CHECK_SCHEMA "shmstat.check/2"
#define CHECK_DEFAULT_TIMEOUT 10
#define CHECK_MAX_TIMEOUT 86400
#define SUMMARY_RULES 3            /* rules named on the first line */

/* ---------------------------------------------------------------- errors */

static int json_out;               /* --json: errors as JSON objects too */

/* The first line of a check that failed: "SHMSTAT UNKNOWN - @msg" (or
 * its JSON form) on stdout; stderr has the message already. Return 3. */
static int unknown_line(const char *msg)
{
	char safe[1024];

	text_safe(safe, sizeof(safe), msg);
	if (json_out) {
		printf("{\"schema\":\"%s\",\"health\":\"UNKNOWN\",\"error\":", CHECK_SCHEMA);
		json_put(stdout, msg);
		printf("}\n");
	} else {
		fputs("SHMSTAT UNKNOWN - ", stdout);
		nagios_text_put(stdout, safe);
		putchar('\n');
	}
	return HEALTH_UNKNOWN;
}

/* A check that cannot be made (bad rules, segment, history, option
 * value): the message on stderr and as the first line; 3. With @usage,
 * a usage error: the command's usage follows the message on stderr
 * (plugins exit UNKNOWN on bad usage too). */
__attribute__((format(printf, 2, 3)))
static int check_failed(int usage, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (usage)
		usage_error(cmd_check_usage, "%s", msg);
	else
		die(HEALTH_UNKNOWN, "%s", msg);
	return unknown_line(msg);
}

#define config_error(...) check_failed(0, __VA_ARGS__)
#define check_usage_error(...) check_failed(1, __VA_ARGS__)

/* -------------------------------------------------------------- timeout */

/* What the timer writes: prepared before it is armed (a handler may only
 * write(2) and _exit(2)). */
static char tmo_out[160], tmo_err[96];
static size_t tmo_out_len, tmo_err_len;

static void on_timeout(int sig)
{
	(void)sig;
	(void)!write(STDOUT_FILENO, tmo_out, tmo_out_len);
	(void)!write(STDERR_FILENO, tmo_err, tmo_err_len);
	_exit(HEALTH_UNKNOWN);
}

static void arm_timeout(unsigned sec)
{
	struct sigaction sa;

	if (sec == 0)
		return;
	if (json_out)
		snprintf(tmo_out, sizeof(tmo_out),
			 "{\"schema\":\"%s\",\"health\":\"UNKNOWN\",\"error\":\"timed out after %u s\"}\n",
			 CHECK_SCHEMA, sec);
	else
		snprintf(tmo_out, sizeof(tmo_out), "SHMSTAT UNKNOWN - timed out after %u s\n", sec);
	snprintf(tmo_err, sizeof(tmo_err), "shmstat: timed out after %u s\n", sec);
	tmo_out_len = strlen(tmo_out);
	tmo_err_len = strlen(tmo_err);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timeout;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(sec);
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
	char w[32] = "", q[96] = "";
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
	else if (r->kind == RULE_SIG && r->owner)
		snprintf(q, sizeof(q), " %s of owner %.*s", rule_figure_name(r->figure),
			 (int)(sizeof(q) - 32), r->owner);
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

/* One rule's evaluation, kept for the output. */
struct result {
	const struct rule *r;
	struct rule_value v;
	enum health level, health;
	double shown;               /* the value compared (a baseline's change) */
	const char *why;            /* UNKNOWN: why */
	const char *unit;           /* of the value (check_unit()), or NULL */
	int fallback;               /* judged against the baseline's fallback */
	int misfit;                 /* thresholds in a unit the metric is not in */
	int has_alert;
	struct alert alert;         /* a copy (the table moves); rule not set */
	char whybuf[256];
};

/* The threshold of @res's level as shown: "> 200k/s", "< -30.0%" */
static void fmt_threshold(const struct result *res, char *buf, size_t n)
{
	const struct rule *r = res->r;
	int crit = res->level == HEALTH_CRITICAL;
	char t[FIG_LEN];

	buf[0] = '\0';
	if (res->level != HEALTH_CRITICAL && res->level != HEALTH_WARNING)
		return;
	if (res->fallback) {
		rule_fmt_value(r, res->unit, crit ? r->fb_critical : r->fb_warning, 0, t, sizeof(t));
	} else if (r->has_baseline) {
		double x = crit ? r->critical : r->warning;

		rule_fmt_value(r, res->unit, r->op == RULE_LT || r->op == RULE_LE ? -x : x, 1, t,
			       sizeof(t));
	} else {
		rule_fmt_value(r, res->unit, crit ? r->critical : r->warning, 0, t, sizeof(t));
	}
	snprintf(buf, n, " %s %s", rule_op_name(r->op), t);
}

/* "266k/s", or for a baseline "1.2ms, +23.5% on 972us" (@brief: "+23.5%") */
static void fmt_value(const struct result *res, int brief, char *buf, size_t n)
{
	const struct rule *r = res->r;
	char val[FIG_LEN], base[FIG_LEN], chg[FIG_LEN];

	rule_fmt_value(r, res->unit, res->v.has_value ? res->v.value : NAN, 0, val, sizeof(val));
	if (!r->has_baseline || res->fallback || !res->v.has_baseline || !isfinite(res->shown)) {
		snprintf(buf, n, "%s", val);
		return;
	}
	rule_fmt_value(r, res->unit, res->shown, 1, chg, sizeof(chg));
	rule_fmt_value(r, res->unit, res->v.baseline, 0, base, sizeof(base));
	if (brief)
		snprintf(buf, n, "%s", chg);
	else
		snprintf(buf, n, "%s, %s on %s", val, chg, base);
}

/* The first line's word on a rule: "eviction-rate = 266k/s > 200k/s",
 * "lookup-p95: no values recorded" */
static void summary_item(const struct result *res, int first, FILE *f)
{
	char val[256], thr[96], sp[64];

	fputs(first ? "" : ", ", f);
	if (res->health == HEALTH_UNKNOWN && res->why) {
		fprintf(f, "%s: ", res->r->name);
		nagios_text_put(f, res->why);
		return;
	}
	fmt_value(res, 1, val, sizeof(val));
	fmt_threshold(res, thr, sizeof(thr));
	check_span_note(res->r, &res->v, sp, sizeof(sp));
	fprintf(f, "%s = %s%s%s%s%s%s", res->r->name, val, thr,
		res->health == HEALTH_OK && *thr ? " (pending)" : "", *sp ? " (" : "",
		*sp ? sp + 2 : "", *sp ? ")" : "");
}

/* The long text: one line per rule */
static void rule_line(const struct result *res, FILE *f)
{
	const struct rule *r = res->r;
	char what[256], val[256], thr[96], note[192] = "", since[128] = "", pts[96], sp[64];

	describe(r, what, sizeof(what));
	check_span_note(r, &res->v, sp, sizeof(sp));
	if (*sp && res->v.has_value)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s", sp);
	if (res->has_alert) {
		const struct alert *a = &res->alert;
		char t[64];

		if (a->phase == ALERT_FIRING) {
			fmt_time(t, sizeof(t), a->active_since);
			snprintf(since, sizeof(since), ", firing since %s", t);
		} else if (a->phase == ALERT_CLEARED) {
			fmt_time(t, sizeof(t), a->cleared_at);
			snprintf(since, sizeof(since), ", cleared at %s", t);
		} else {
			fmt_time(t, sizeof(t), a->bad_since);
			snprintf(since, sizeof(since), ", pending since %s", t);
		}
	}
	fprintf(f, "%-8s %s: ", health_name(res->health), r->name);
	nagios_text_put(f, what);
	if (res->why) {
		fputs(": ", f);
		nagios_text_put(f, res->why);
		fprintf(f, " (%llu samples)%s\n", (unsigned long long)res->v.samples, since);
		return;
	}
	fmt_value(res, 0, val, sizeof(val));
	fmt_threshold(res, thr, sizeof(thr));
	if (res->fallback) {
		snprintf(note, sizeof(note), "fallback thresholds, %s; ",
			 res->v.why ? res->v.why : "no baseline");
	} else if (r->has_baseline) {
		check_baseline_points(pts, sizeof(pts), r, &res->v);
		snprintf(note, sizeof(note), "%s, baseline: %s gave a value; ",
			 rule_stat_name(r->baseline_stat), pts);
	}
	fprintf(f, " = %s%s (", val, thr);
	nagios_text_put(f, note);
	fprintf(f, "%llu samples)%s\n", (unsigned long long)res->v.samples, since);
}

/* The performance data of a rule with a value: the value in a base unit
 * (s, B, % of 0..100; c, a continuous counter, only for a count over the
 * series' lifetime: a count over a window goes up and down, so it has no
 * unit), the thresholds as ranges; a baseline rule also its change
 * ("NAME_change", %). */
static void rule_perf(const struct result *res, FILE *f)
{
	const struct rule *r = res->r;
	const char *unit = rule_value_unit(r, res->unit);
	struct nagios_perf p = { .label = r->name, .op = r->op, .uom = "" };
	double scale = 1;
	int abs_thr = (!r->has_baseline || res->fallback) && !res->misfit;

	check_span_perf(r, &res->v, f);
	if (!res->v.has_value || !isfinite(res->v.value))
		return;
	switch (rule_value_kind(r)) {
	case RV_FRACTION:
		p.uom = "%";
		scale = 100;
		p.has_max = 1;
		p.max = 100;
		break;
	case RV_COUNT:
		p.uom = r->window_ns ? "" : "c";
		break;
	case RV_RATE:
		break;
	case RV_AMOUNT:
		if (unit_kind(unit) == UNIT_NS) {
			p.uom = "s";
			scale = 1e-9;
		} else if (unit_kind(unit) == UNIT_BYTES) {
			p.uom = "B";
		} else if ((r->kind == RULE_INCREASE || r->kind == RULE_SIG) && !r->window_ns) {
			p.uom = "c";
		}
		break;
	}
	p.has_min = r->kind != RULE_GAUGE;
	p.value = res->v.value * scale;
	if (abs_thr) {
		p.has_warn = res->fallback ? r->has_fb_warning : r->has_warning;
		p.has_crit = res->fallback ? r->has_fb_critical : r->has_critical;
		p.warn = (res->fallback ? r->fb_warning : r->warning) * scale;
		p.crit = (res->fallback ? r->fb_critical : r->critical) * scale;
	}
	nagios_perf_put(f, &p);
	if (!abs_thr && res->v.has_baseline && isfinite(res->shown)) {
		char label[RULES_MAX_NAME + 16];
		double sign = r->op == RULE_LT || r->op == RULE_LE ? -1 : 1;
		struct nagios_perf q = {
			.label = label, .value = res->shown, .uom = "%", .op = r->op,
			.has_warn = r->has_warning, .has_crit = r->has_critical,
			.warn = sign * r->warning, .crit = sign * r->critical,
		};

		snprintf(label, sizeof(label), "%s_change", r->name);
		nagios_perf_put(f, &q);
	}
}

static void rule_json(const struct result *res, int first)
{
	const struct rule *r = res->r;
	char what[256];

	describe(r, what, sizeof(what));
	printf("%s{\"name\":", first ? "" : ",");
	json_put(stdout, r->name);
	printf(",\"health\":\"%s\",\"level\":\"%s\"", health_name(res->health),
	       health_name(res->level));
	printf(",\"what\":");
	json_put(stdout, what);
	printf(",\"unit\":");
	if (res->unit)
		json_put(stdout, res->unit);
	else
		printf("null");
	if (res->v.has_value)
		json_num("value", res->v.value);
	else
		printf(",\"value\":null");
	if (r->has_baseline) {
		if (res->v.has_baseline)
			json_num("baseline", res->v.baseline);
		else
			printf(",\"baseline\":null");
		json_num("change_pct", res->fallback ? NAN : res->shown);
		printf(",\"baseline_history_ns\":%llu,\"baseline_stretches\":%llu,"
		       "\"baseline_values\":%llu,\"fallback\":%s",
		       (unsigned long long)res->v.baseline_history_ns,
		       (unsigned long long)res->v.baseline_stretches,
		       (unsigned long long)res->v.baseline_values,
		       res->fallback ? "true" : "false");
	}
	if (r->window_ns && res->v.span_ns)
		printf(",\"span_ns\":%llu", (unsigned long long)res->v.span_ns);
	else if (r->window_ns)
		printf(",\"span_ns\":null");
	printf(",\"samples\":%llu", (unsigned long long)res->v.samples);
	if (res->why) {
		printf(",\"why\":");
		json_put(stdout, res->why);
	}
	if (res->has_alert) {
		printf(",\"alert\":{\"phase\":\"%s\",\"active_since_ns\":%llu,"
		       "\"cleared_at_ns\":%llu,\"fired\":%u}",
		       alert_phase_name(res->alert.phase),
		       (unsigned long long)res->alert.active_since,
		       (unsigned long long)res->alert.cleared_at, res->alert.fired);
	}
	putchar('}');
}

/* The plugin output: the first line (status, the worst rules, the
 * counts; perfdata), then a line per rule. @state_err: why the alert
 * state failed (the check is then at best UNKNOWN), or NULL. */
static void print_text(const struct result *res, size_t n, enum health overall,
		       const char *state_err)
{
	size_t cnt[4] = { 0 }, named = 0, at_worst = 0;

	for (size_t k = 0; k < n; k++) {
		cnt[res[k].health]++;
		at_worst += res[k].health == overall;
	}
	printf("SHMSTAT %s - ", health_name(overall));
	if (n == 1) {
		summary_item(&res[0], 1, stdout);
	} else {
		for (size_t k = 0; k < n && overall != HEALTH_OK; k++) {
			if (res[k].health != overall)
				continue;
			if (named == SUMMARY_RULES) {
				printf(" and %zu more", at_worst - named);
				break;
			}
			summary_item(&res[k], named == 0, stdout);
			named++;
		}
		printf("%s%zu rules: %zu ok, %zu warning, %zu critical, %zu unknown", named ? "; " : "",
		       n, cnt[0], cnt[1], cnt[2], cnt[3]);
	}
	if (state_err) {
		char safe[512];

		text_safe(safe, sizeof(safe), state_err);
		fputs("; alert state: ", stdout);
		nagios_text_put(stdout, safe);
	}
	{
		/* " | perfdata" when there is any */
		char *perf = NULL;
		size_t len = 0;
		FILE *pf = open_memstream(&perf, &len);

		if (pf) {
			for (size_t k = 0; k < n; k++)
				rule_perf(&res[k], pf);
			if (fclose(pf) == 0 && perf && len)
				printf(" |%s", perf);
			free(perf);
		}
	}
	putchar('\n');
	for (size_t k = 0; k < n; k++)
		rule_line(&res[k], stdout);
}

/* --------------------------------------------------------------- options */

enum {
	OPT_STATE = 256, OPT_NO_STATE, OPT_JSON, OPT_WINDOW, OPT_BELOW, OPT_MIN_SAMPLES,
	OPT_EMIT, OPT_OUT,
	/* the figures, in enum rule_kind order */
	OPT_RATE, OPT_INCREASE, OPT_RATIO, OPT_QUANTILE, OPT_GAUGE, OPT_SIG,
};

struct check_opts {
	const char *rules, *history, *state, *name;
	const char *emit, *out;           /* --emit prometheus-rules [--out FILE] */
	int no_state, version, figure_given;
	unsigned timeout;
	struct rule_inline in;
};

/* The options into *@o; 0, or the exit code of a usage error. */
static int parse_opts(int argc, char **argv, struct check_opts *o)
{
	/* '-': arguments in order (NAME too, as option 1), so that the two
	 * values of --quantile Q METRIC can be taken from argv */
	static const char shortopts[] = "-:r:H:t:Vw:c:";
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "history", required_argument, NULL, 'H' },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "no-state", no_argument, NULL, OPT_NO_STATE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "timeout", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "warning", required_argument, NULL, 'w' },
		{ "critical", required_argument, NULL, 'c' },
		{ "emit", required_argument, NULL, OPT_EMIT },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "increase", required_argument, NULL, OPT_INCREASE },
		{ "ratio", required_argument, NULL, OPT_RATIO },
		{ "quantile", required_argument, NULL, OPT_QUANTILE },
		{ "gauge", required_argument, NULL, OPT_GAUGE },
		{ "sig", required_argument, NULL, OPT_SIG },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "below", no_argument, NULL, OPT_BELOW },
		{ "min-samples", required_argument, NULL, OPT_MIN_SAMPLES },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const fig_opt[] = { "rate", "increase", "ratio", "quantile", "gauge",
					       "sig" };
	char bad[64];
	int ch, figure_opt = 0;

	optind = 1;
	opterr = 0;
	o->timeout = CHECK_DEFAULT_TIMEOUT;
	while ((ch = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (ch) {
		case 1:
			if (o->name)
				return check_usage_error("expected one segment NAME, not also '%s'",
							 optarg);
			o->name = optarg;
			break;
		case 'r': o->rules = optarg; break;
		case 'H': o->history = optarg; break;
		case OPT_STATE: o->state = optarg; break;
		case OPT_EMIT:
			if (optarg == NULL || strcmp(optarg, "prometheus-rules") != 0)
				return check_usage_error("--emit takes prometheus-rules, not '%s'",
							 optarg);
			o->emit = optarg;
			break;
		case OPT_OUT: o->out = optarg; break;
		case OPT_NO_STATE: o->no_state = 1; break;
		case OPT_JSON: json_out = 1; break;
		case 'V': o->version = 1; break;
		case 'w': o->in.warning = optarg; break;
		case 'c': o->in.critical = optarg; break;
		case OPT_WINDOW: o->in.window = optarg; break;
		case OPT_BELOW: o->in.below = 1; break;
		case OPT_MIN_SAMPLES: o->in.min_samples = optarg; break;
		case 't': {
			uint64_t t;

			if (parse_whole(optarg, CHECK_MAX_TIMEOUT, &t) != 0)
				return check_usage_error(
					"timeout '%s' is not a whole number of seconds from 0 to %d",
					optarg, CHECK_MAX_TIMEOUT);
			o->timeout = (unsigned)t;
			break;
		}
		case OPT_RATE: case OPT_INCREASE: case OPT_RATIO: case OPT_QUANTILE:
		case OPT_GAUGE: case OPT_SIG:
			if (figure_opt)
				return check_usage_error("one figure at a time: '%s' and '%s'",
							 fig_opt[figure_opt - OPT_RATE],
							 fig_opt[ch - OPT_RATE]);
			figure_opt = ch;
			o->in.kind = (enum rule_kind)(ch - OPT_RATE);
			if (ch == OPT_RATIO || ch == OPT_QUANTILE || ch == OPT_SIG) {
				/* two values: the second is the next argument,
				 * never an option (no selector starts with '-':
				 * '--ratio a -w 1 NAME' took -w for DEN) */
				if (optind >= argc || argv[optind][0] == '-')
					return check_usage_error("option '--%s' needs two values: %s",
								 fig_opt[ch - OPT_RATE],
								 ch == OPT_RATIO ? "NUM DEN" :
								 ch == OPT_QUANTILE ? "Q METRIC" :
								 "FIGURE METRIC");
				if (ch == OPT_RATIO) {
					o->in.num = optarg;
					o->in.den = argv[optind++];
				} else if (ch == OPT_QUANTILE) {
					o->in.q = optarg;
					o->in.sel = argv[optind++];
				} else {
					o->in.figure = optarg;
					o->in.sel = argv[optind++];
				}
			} else {
				o->in.sel = optarg;
			}
			break;
		case ':':
			return check_usage_error("option '%s' needs a value",
						 refused_option(bad, sizeof(bad), argv, shortopts, opts));
		default:
			return check_usage_error("unknown option '%s'",
						 refused_option(bad, sizeof(bad), argv, shortopts, opts));
		}
	}
	/* after "--": the rest are arguments */
	for (; optind < argc; optind++) {
		if (o->name)
			return check_usage_error("expected one segment NAME, not also '%s'",
						 argv[optind]);
		o->name = argv[optind];
	}
	o->figure_given = figure_opt != 0;
	if (o->version)
		return 0;
	if (o->out && !o->emit)
		return check_usage_error("--out goes with --emit");
	if (o->emit) {
		/* NAME is optional: a segment that says the metrics' units */
		if (!o->rules)
			return check_usage_error("--emit translates a rules file: give --rules FILE");
		if (o->figure_given || o->history || o->state || json_out)
			return check_usage_error("--emit takes --rules, --out and NAME only");
		return 0;
	}
	if (o->rules && o->figure_given)
		return check_usage_error("--rules and --%s: give a rules file or one figure",
					 fig_opt[figure_opt - OPT_RATE]);
	if (!o->rules && !o->figure_given)
		return check_usage_error("--rules FILE or a figure (--rate, --ratio, ...) is required");
	if (o->rules && (o->in.warning || o->in.critical || o->in.window || o->in.below ||
			 o->in.min_samples))
		return check_usage_error(
			"-w, -c, --window, --below and --min-samples go with a figure, not with --rules");
	if (o->figure_given && o->state)
		return check_usage_error("--state goes with --rules (one figure keeps no alert state)");
	if (o->name == NULL)
		return check_usage_error("expected one segment NAME");
	return 0;
}

/* ------------------------------------------------------------------ main */

/* The snapshot of segment @name; 0, or the exit code of a failed check. */
static int snapshot(const char *name, shmstat_reader **rd, shmstat_snap **snap)
{
	if (open_reader(name, rd) != 0)
		return config_error("%s", shmstat_last_error());
	if (shmstat_snapshot(*rd, snap) != 0) {
		int rc = config_error("%s", shmstat_last_error());

		shmstat_reader_close(*rd);
		*rd = NULL;
		return rc;
	}
	return 0;
}

/* Is series @name one a rule of ruleset @rs looks at? (labels are
 * matched by the window figures; a name is what every rule gives) */
static int rules_metric(void *rs, const char *name, const char *labels, enum shmstat_type type)
{
	const struct ruleset *s = rs;

	(void)labels;
	(void)type;
	for (size_t k = 0; k < s->n; k++) {
		const struct rule *r = &s->rules[k];

		if (r->sel.metric && strcmp(r->sel.metric, name) == 0)
			return 1;
		for (size_t j = 0; j < r->nnum; j++)
			if (strcmp(r->num[j].metric, name) == 0)
				return 1;
		for (size_t j = 0; j < r->nden; j++)
			if (strcmp(r->den[j].metric, name) == 0)
				return 1;
	}
	return 0;
}

/* The history @path as the rules of @rs need it: its records' times, and
 * the rules' window figures read in one pass, of the series the rules
 * name; 0, or the exit code of a failed check. */
static int history(struct check_ctx *c, const struct ruleset *rs, const char *path)
{
	uint64_t need = 0;

	for (size_t k = 0; k < rs->n; k++) {
		const struct rule *r = &rs->rules[k];
		uint64_t w = r->window_ns + (r->has_baseline ? r->baseline_window_ns : 0);

		if (w > need)
			need = w;
	}
	if (need > c->now)
		need = c->now;
	memset(&c->fr, 0, sizeof(c->fr));
	if (shmstat_history_open(path, &c->fr.h) != 0)
		return config_error("%s", shmstat_last_error());
	/* the records' times (no series: a baseline's points, its history),
	 * then what the rules ask of the series named, in one pass */
	c->have_history = 1;
	if (shmstat_history_window_select(c->fr.h, c->now - need, c->now, keep_none, NULL,
					  &c->fr.f, &c->fr.n) != 0 ||
	    check_plan(c, rs, c->now - need, c->now, rules_metric, (void *)rs) != 0) {
		int rc = *shmstat_last_error()
				 ? config_error("%s", shmstat_last_error())
				 : config_error("out of memory planning the reads of history %s", path);

		check_plan_free(c);
		frames_free(&c->fr);
		c->have_history = 0;
		return rc;
	}
	return 0;
}

/*
 * The alert state @at, loaded from @state, is of rules file @rules: it
 * says so from now on. A state of another rules file is taken over when
 * that file is gone (renamed), and refused while it is there: two rules
 * files sharing a state (the default, HISTORY.alerts, of two checks of
 * one history) would each forget the other's alerts at every run, and no
 * alert with a 'for' would ever fire. 0, or -1 with @msg set.
 */
static int state_of_rules(const char *state, const char *rules, struct alert_table *at, char *msg,
			  size_t msglen)
{
	char *abs = realpath(rules, NULL);
	struct stat st;

	if (abs == NULL) {
		snprintf(msg, msglen, "%.400s: cannot resolve the rules file's path: %s", rules,
			 strerror(errno));
		return -1;
	}
	if (at->rules && strcmp(at->rules, abs) != 0 && stat(at->rules, &st) == 0) {
		char other[256], ours[256];

		snprintf(msg, msglen,
			 "%.160s: alert state of rules file '%.120s', not of '%.120s': give each rules file "
			 "its own --state; refusing it",
			 state, text_safe(other, sizeof(other), at->rules),
			 text_safe(ours, sizeof(ours), abs));
		free(abs);
		return -1;
	}
	free(at->rules);
	at->rules = abs;
	return 0;
}

/* Rule @r evaluated into *@res (and its alert stepped when @at). */
static void evaluate(const struct check_ctx *c, const struct rule *r, struct alert_table *at,
		     uint64_t expire_ns, struct result *res)
{
	struct alert_step_out so = { .health = HEALTH_UNKNOWN };
	char unit_msg[256];
	const char *misfit;
	int hcount;

	memset(res, 0, sizeof(*res));
	res->r = r;
	res->unit = check_unit(c, r, &hcount);
	check_evaluate(c, r, &res->v, res->whybuf, sizeof(res->whybuf));
	misfit = check_unit_misfit(r, res->unit, hcount, unit_msg, sizeof(unit_msg));
	if (misfit) {
		/* thresholds in a unit the metric is not in: no judgement */
		warnf("rule '%s': %s", r->name, misfit);
		snprintf(res->whybuf, sizeof(res->whybuf), "%s", misfit);
		res->level = HEALTH_UNKNOWN;
		res->why = res->whybuf;
		res->shown = NAN;
		res->misfit = 1;
	} else {
		res->level = rule_level(r, &res->v, &res->shown, &res->why);
		res->fallback = rule_uses_fallback(r, &res->v);
	}
	res->health = res->level;
	if (at && alert_step(at, r, res->level, c->now, expire_ns, &so) == 0) {
		res->health = so.health;
		if (so.alert) {
			res->has_alert = 1;
			res->alert = *so.alert;
			res->alert.rule = NULL;
		}
	}
}

/* --emit: a metric's type and unit, from the segment NAME given */
static int lookup_metric(const char *metric, enum shmstat_type *type, const char **unit,
			 void *arg)
{
	const shmstat_snap *s = arg;

	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		struct shmstat_metric_info m;

		if (shmstat_snap_metric(s, i, &m) == 0 && strcmp(m.name, metric) == 0) {
			*type = m.type;
			*unit = m.unit;
			return 0;
		}
	}
	return -1;
}

/* --emit prometheus-rules: @rs as Prometheus rules to --out (default
 * stdout), what does not translate said on stderr. 0, or 3. */
static int emit_prometheus(const struct check_opts *o, const struct ruleset *rs)
{
	shmstat_reader *rd = NULL;
	shmstat_snap *snap = NULL;
	FILE *f = stdout;
	char why[128];
	size_t n;
	int rc;

	if (o->name && (rc = snapshot(o->name, &rd, &snap)) != 0)
		return rc;
	if (o->name == NULL)
		warnf("no segment named: each metric's unit is taken from its rule's thresholds "
		      "(2ms: a timer, exported in seconds)");
	alarm(0);                       /* a translation, not a check */
	if (o->out && strcmp(o->out, "-") != 0 &&
	    (f = open_out_file(o->out, why, sizeof(why))) == NULL) {
		rc = config_error("cannot write '%s': %s", o->out, why);
		goto out;
	}
	n = promrules_emit(f, rs, o->rules, snap ? lookup_metric : NULL, snap, stderr);
	if (f == stdout)
		rc = fflush(f);
	else
		rc = fclose(f);
	if (rc != 0) {
		rc = config_error("cannot write '%s': %s", o->out ? o->out : "stdout",
				  strerror(errno));
		goto out;
	}
	fprintf(stderr, "shmstat: %zu of %zu rules written as Prometheus rules\n", n, rs->n);
	rc = 0;
out:
	shmstat_snap_free(snap);
	shmstat_reader_close(rd);
	return rc;
}

int cmd_check(int argc, char **argv)
{
	struct check_opts o = { 0 };
	char err[512], statebuf[1024];
	struct ruleset rs = { 0 };
	struct alert_table at = { 0 };
	struct check_ctx c = { 0 };
	shmstat_reader *rd = NULL;
	struct result *res = NULL;
	enum health overall = HEALTH_UNKNOWN;
	const char *state_path = NULL, *state_err = NULL;
	char state_msg[600];
	int rc, saved = 0;

	json_out = 0;
	if ((rc = parse_opts(argc, argv, &o)) != 0)
		return rc;
	if (o.version) {
		printf("shmstat check %s\n", shmstat_version());
		return 0;
	}
	arm_timeout(o.timeout);
	if ((o.rules ? rules_load(o.rules, &rs, err, sizeof(err))
		     : rules_inline(&o.in, &rs, err, sizeof(err))) != 0)
		return config_error("%s", err);
	if (o.emit) {
		rc = emit_prometheus(&o, &rs);
		rules_free(&rs);
		return rc;
	}
	c.now = realtime_ns();
	if ((rc = snapshot(o.name, &rd, &c.snap)) != 0)
		goto out;
	check_views(&c);
	if (o.history) {
		if ((rc = history(&c, &rs, o.history)) != 0)
			goto out;
		if (o.state == NULL && o.rules) {
			snprintf(statebuf, sizeof(statebuf), "%s.alerts", o.history);
			state_path = statebuf;
		}
	}
	if (o.state)
		state_path = o.state;
	if (o.no_state)
		state_path = NULL;
	if (state_path && alerts_load(state_path, &at, err, sizeof(err)) != 0) {
		/* the check goes on without state, at best UNKNOWN */
		warnf("%s", err);
		snprintf(state_msg, sizeof(state_msg), "%s", err);
		state_err = state_msg;
		state_path = NULL;
		memset(&at, 0, sizeof(at));
	}
	if (state_path && o.rules &&
	    state_of_rules(state_path, o.rules, &at, state_msg, sizeof(state_msg)) != 0) {
		warnf("%s", state_msg);
		state_err = state_msg;
		state_path = NULL;
		alerts_free(&at);
	}
	alerts_prune(&at, &rs);
	res = calloc(rs.n, sizeof(*res));
	if (res == NULL) {
		rc = config_error("out of memory evaluating the rules");
		goto out;
	}
	for (size_t k = 0; k < rs.n; k++)
		evaluate(&c, &rs.rules[k], state_path ? &at : NULL, rs.expire_ns, &res[k]);
	alarm(0);                       /* judged: what is left is output */
	{
		enum health *hs = calloc(rs.n + 1, sizeof(*hs));

		if (hs == NULL) {
			rc = config_error("out of memory evaluating the rules");
			goto out;
		}
		for (size_t k = 0; k < rs.n; k++)
			hs[k] = res[k].health;
		if (state_path) {
			if (alerts_save(state_path, &at, err, sizeof(err)) != 0) {
				warnf("%s", err);
				snprintf(state_msg, sizeof(state_msg), "%s", err);
				state_err = state_msg;
			} else {
				saved = 1;
			}
		}
		/* a state that failed: the check itself failed, at best UNKNOWN */
		hs[rs.n] = state_err ? HEALTH_UNKNOWN : HEALTH_OK;
		overall = health_overall(hs, rs.n + 1);
		free(hs);
	}
	if (json_out) {
		printf("{\"schema\":\"%s\",\"segment\":", CHECK_SCHEMA);
		json_put(stdout, o.name);
		printf(",\"time_ns\":%llu,\"rules\":[", (unsigned long long)c.now);
		for (size_t k = 0; k < rs.n; k++)
			rule_json(&res[k], k == 0);
		printf("],\"health\":\"%s\",\"state\":", health_name(overall));
		if (saved)
			json_put(stdout, state_path);
		else
			printf("null");
		printf("}\n");
	} else {
		print_text(res, rs.n, overall, state_err);
		if (!state_path && o.rules)
			for (size_t k = 0; k < rs.n; k++)
				if (rs.rules[k].for_ns) {
					printf("note: no alert state (--history or --state): "
					       "'for' durations do not apply\n");
					break;
				}
	}
	rc = (int)overall;
out:
	alarm(0);
	free(res);
	alerts_free(&at);
	if (c.have_history)
		frames_free(&c.fr);
	check_plan_free(&c);
	check_views_free(&c);
	shmstat_snap_free(c.snap);
	shmstat_reader_close(rd);
	rules_free(&rs);
	return rc;
}
