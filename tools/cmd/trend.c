/*
 * trend.c - shmstat trend: one figure of a metric over a window of a
 * history, and which way it moves.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"
#include "histq.h"
#include "textsafe.h"
#include "timearg.h"
#include "units.h"

const char cmd_trend_usage[] =
	"usage: shmstat trend [-w|--window DURATION] [--at INSTANT] [--step DURATION]\n"
	"                     [-l|--labels 'k=\"v\",...'] [-f|--figure FIGURE] [-q Q]\n"
	"                     [--better higher|lower] [--owner OWNER] [--raw] [--json]\n"
	"                     HISTORY METRIC\n"
	"  The figure of METRIC (all its series summed, or those with the\n"
	"  labels given) over the window (default 5m) ending at INSTANT\n"
	"  (default now: 'now', '-1h', '@UNIXSECONDS', '2026-11-22T02:40:00Z'),\n"
	"  and its trend: the figure in sub-windows of --step (default a\n"
	"  twentieth of the window, or twice the records' spacing when that\n"
	"  is more; at most 100000 of them), a least-squares line through\n"
	"  them, and its change over the window in percent of the mean.\n"
	"  A sub-window whose records span more than 3 times the step (a\n"
	"  gap in the history) takes no point; the trend says how many.\n"
	"  Below 5% the trend is stable; otherwise rising or falling, and\n"
	"  improving or degrading when higher is better (hit_ratio, weight)\n"
	"  or worse (quantile, mean, misses, evictions), or as --better says.\n"
	"  FIGURE: rate (counters, default), increase, gauge (default for\n"
	"  gauges), quantile (histograms, default, with -q, default 0.95),\n"
	"  mean, and for signature tables hit_ratio (default), hits, misses,\n"
	"  weight, evictions; with --owner, that owner's hits, misses, weight\n"
	"  or hit_ratio. Figures print in the metric's unit (--raw:\n"
	"  exact numbers). No record of the metric, or no series with the\n"
	"  labels, in the window is an error (exit 1).\n";

static const char *verdict(int direction, int polarity)
{
	if (direction == 0)
		return "stable";
	if (polarity == 0)
		return direction > 0 ? "rising" : "falling";
	return direction * polarity > 0 ? "improving" : "degrading";
}

static void json_num(const char *key, double v, int comma)
{
	if (isfinite(v))
		printf("\"%s\":%.17g%s", key, v, comma ? "," : "");
	else
		printf("\"%s\":null%s", key, comma ? "," : "");
}

/* A window of under 20 ns: its frames loaded whole, a step of twice the
 * spacing of the records, or (0: records all of one time, or fewer than
 * two) between consecutive records; the step into *@stepp. */
static int trend_frames(shmstat_history *h, const struct shmstat_wquery *qy, uint64_t from,
			uint64_t to, struct shmstat_wvalue *v, struct shmstat_trend *tr,
			struct shmstat_wread *rd, uint64_t *stepp)
{
	struct frames fr = { h, NULL, 0 };
	uint64_t step = 0;
	int rc;

	if (shmstat_history_window_select(h, from, to, keep_named, (void *)qy->name, &fr.f,
					  &fr.n) != 0)
		return -1;
	rd->records = fr.n;
	if (fr.n >= 2)
		step = 2 * ((frame_time(&fr, fr.n - 1) - frame_time(&fr, 0)) / (fr.n - 1));
	*stepp = step;
	rc = shmstat_window((shmstat_frame *const *)fr.f, fr.n, qy, from, to, v) != 0 ||
	     shmstat_window_trend((shmstat_frame *const *)fr.f, fr.n, qy, from, to, step, tr) != 0
		     ? -1 : 0;
	shmstat_frames_free(fr.f, fr.n);
	return rc;
}

/* Metric @name as the last record of [@from, @to] that holds it gives it
 * (the record at @to may not: a writer that re-created its segment and
 * has not registered it again yet, or a metric removed): its type (-1:
 * no record of the window holds it) and its unit into @unit. The records
 * are read one at a time (shmstat_history_each()). */
struct last_seen {
	const char *name;
	int type;
	char unit[4097];            /* a history allows 4096 bytes */
};

static int seen_in(void *arg, const shmstat_frame *f)
{
	struct last_seen *ls = arg;
	struct frames one = { NULL, (shmstat_frame **)&f, 1 };
	int type = series_type(&one, ls->name);

	if (type >= 0) {
		ls->type = type;
		snprintf(ls->unit, sizeof(ls->unit), "%s", series_unit(&one, ls->name));
	}
	return 0;
}

int cmd_trend(int argc, char **argv)
{
	static const char shortopts[] = ":w:l:f:q:";
	char bad[64];
	static const struct option opts[] = {
		{ "window", required_argument, NULL, 'w' },
		{ "at", required_argument, NULL, 'a' },
		{ "step", required_argument, NULL, 's' },
		{ "labels", required_argument, NULL, 'l' },
		{ "figure", required_argument, NULL, 'f' },
		{ "better", required_argument, NULL, 'b' },
		{ "raw", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "owner", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *step_arg = NULL;
	uint64_t window = 300000000000ull, step = 0, now = realtime_ns(), at = now;
	const char *labels = NULL, *at_arg = NULL, *unit = "";
	int ch, fig = -1, polarity = 2, raw = 0, json = 0, type, rc = -1;
	struct shmstat_wquery qy = { .q = 0.95 };
	struct shmstat_wvalue v;
	struct shmstat_trend tr;
	struct frames fr;
	struct last_seen ls;
	struct shmstat_wread rd;
	char val[64], when[64], wd[32], left[256] = "";

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		char *end;

		switch (ch) {
		case 'w':
			if (parse_duration(optarg, &window) != 0 || window == 0)
				return usage_error(cmd_trend_usage, "window '%s' is not " DURATION_RANGE,
						   optarg);
			break;
		case 'a': at_arg = optarg; break;
		case 's':
			step_arg = optarg;
			if (parse_duration(optarg, &step) != 0 || step == 0)
				return usage_error(cmd_trend_usage, "step '%s' is not " DURATION_RANGE,
						   optarg);
			break;
		case 'l':
			if (shmstat_labels_match("", optarg) < 0)
				return usage_error(cmd_trend_usage,
						   "labels '%s' are not k=\"v\" pairs separated by commas",
						   optarg);
			labels = optarg;
			break;
		case 'f':
			fig = figure_parse(optarg);
			if (fig < 0)
				return usage_error(cmd_trend_usage, "unknown figure '%s'", optarg);
			break;
		case 'q':
			qy.q = strtod(optarg, &end);
			if (*end || end == optarg || !(qy.q >= 0 && qy.q <= 1))
				return usage_error(cmd_trend_usage, "quantile '%s' is not 0 to 1", optarg);
			break;
		case 'b':
			if (strcmp(optarg, "higher") == 0)
				polarity = 1;
			else if (strcmp(optarg, "lower") == 0)
				polarity = -1;
			else
				return usage_error(cmd_trend_usage,
						   "--better takes higher or lower, not '%s'", optarg);
			break;
		case 'r': raw = 1; break;
		case 'j': json = 1; break;
		case 'o': qy.owner = optarg; break;
		case ':':
			return usage_error(cmd_trend_usage, "option '%s' needs a value",
					   refused_option(bad, sizeof(bad), argv, shortopts, opts));
		default:
			return usage_error(cmd_trend_usage, "unknown option '%s'", refused_option(bad, sizeof(bad), argv, shortopts, opts));
		}
	}
	if (optind != argc - 2)
		return usage_error(cmd_trend_usage, "expected HISTORY and METRIC");
	if (at_arg && parse_instant(at_arg, now, &at) != 0)
		return usage_error(cmd_trend_usage, "instant '%s' is not a time", at_arg);
	if (window > at)
		return usage_error(cmd_trend_usage, "window reaches before 1970");
	if (step && window / step > SHMSTAT_TREND_MAX_STEPS)
		return usage_error(cmd_trend_usage,
				   "step '%s' cuts the window into more than %d sub-windows",
				   step_arg, SHMSTAT_TREND_MAX_STEPS);
	/* the window's last record whole (the last at or before the
	 * instant): the metric's type and unit; then the records of the
	 * window read as they come, never all at once
	 * (shmstat_history_trend()) */
	memset(&fr, 0, sizeof(fr));
	if (shmstat_history_open(argv[optind], &fr.h) != 0)
		return die(EXIT_ERR, "%s", shmstat_last_error());
	if (shmstat_history_window_range(fr.h, at, at, &fr.f, &fr.n) != 0) {
		frames_free(&fr);
		return die(EXIT_ERR, "%s", shmstat_last_error());
	}
	qy.name = argv[optind + 1];
	qy.labels = labels;
	type = series_type(&fr, qy.name);
	unit = series_unit(&fr, qy.name);
	if (fr.n > 0) {
		/* the last record at or before the instant came before the
		 * window: no record of the metric in it (exit 1, as documented;
		 * it was exit 0 and a null value) */
		struct shmstat_frame_info li;

		shmstat_frame_info(fr.f[fr.n - 1], &li);
		if (li.time_ns < at - window)
			type = -1;
	}
	if (type < 0 && (ls.name = qy.name, ls.type = -1,
			 shmstat_history_each(fr.h, at - window, at, seen_in, &ls) == 0)) {
		type = ls.type;
		unit = ls.unit;
	}
	if (type < 0) {
		frames_free(&fr);
		fmt_duration(wd, sizeof(wd), window);
		fmt_time(when, sizeof(when), at);
		return die(EXIT_ERR, "no metric '%s' in %s in the %s window ending %s", qy.name,
			   argv[optind], wd, when);
	}
	qy.fig = fig >= 0 ? (enum shmstat_figure)fig : default_figure(type);
	/* a histogram's increase and rate count its values: no unit (they
	 * were "150ns", "100ns/s") */
	if (type == SHMSTAT_HISTOGRAM && (qy.fig == SHMSTAT_FIG_INCREASE || qy.fig == SHMSTAT_FIG_RATE))
		unit = "";
	if (qy.owner && (type != SHMSTAT_SIGTABLE || qy.fig == SHMSTAT_FIG_SIG_EVICTIONS ||
			 qy.fig < SHMSTAT_FIG_SIG_HITS)) {
		frames_free(&fr);
		return usage_error(cmd_trend_usage,
				   "--owner takes a signature table's hits, misses, weight or hit_ratio");
	}
	if (polarity == 2)
		polarity = figure_polarity(qy.fig);
	if (step == 0) {
		/* a twentieth of the window, at least twice the spacing of
		 * the records found: known once they are read, so read
		 * again when it is more */
		uint64_t gap = 0;

		step = window / 20;
		rc = step ? shmstat_history_trend(fr.h, keep_named, argv[optind + 1], &qy,
						  at - window, at, step, &tr, &v, &rd)
			  : -1;
		if (rc == 0 && rd.records >= 2)
			gap = (rd.last_ns - rd.first_ns) / (rd.records - 1);
		if (rc == 0 && step < 2 * gap) {
			step = 2 * gap;
			rc = -1;
		}
	}
	if (rc != 0 &&
	    (step == 0 ? trend_frames(fr.h, &qy, at - window, at, &v, &tr, &rd, &step) != 0
		       : shmstat_history_trend(fr.h, keep_named, argv[optind + 1], &qy, at - window,
					       at, step, &tr, &v, &rd) != 0)) {
		frames_free(&fr);
		return die(EXIT_ERR, "cannot compute %s of '%s': bad query or out of memory",
			   figure_name(qy.fig), qy.name);
	}
	/* a typo in the labels is an error, not a quiet "no value" */
	if (!v.has_value && v.series == 0) {
		frames_free(&fr);
		return die(EXIT_ERR, "%s of '%s'%s%s%s%s%s%s: %s", figure_name(qy.fig), qy.name,
			   labels ? " {" : "", labels ? labels : "", labels ? "}" : "",
			   qy.owner ? " of owner '" : "", qy.owner ? qy.owner : "",
			   qy.owner ? "'" : "", v.why);
	}
	fmt_duration(wd, sizeof(wd), window);
	fmt_time(when, sizeof(when), at);
	if (json) {
		printf("{\"schema\":\"shmstat.trend/1\",\"metric\":");
		json_put(stdout, qy.name);
		printf(",\"labels\":");
		json_put(stdout, labels);
		printf(",\"owner\":");
		if (qy.owner)
			json_put(stdout, qy.owner);
		else
			printf("null");
		printf(",\"figure\":\"%s\",", figure_name(qy.fig));
		if (qy.fig == SHMSTAT_FIG_QUANTILE)
			json_num("q", qy.q, 1);
		printf("\"window_ns\":%llu,\"at_ns\":%llu,\"records\":%zu,",
		       (unsigned long long)window, (unsigned long long)at, rd.records);
		if (v.has_value && qy.fig != SHMSTAT_FIG_GAUGE)
			printf("\"span_ns\":%llu,", (unsigned long long)(v.to_ns - v.from_ns));
		else
			printf("\"span_ns\":null,");
		if (v.has_value)
			json_num("value", v.value, 1);
		else
			printf("\"value\":null,\"why\":\"%s\",", v.why ? v.why : "");
		printf("\"samples\":%llu,\"resets\":%u,\"trend\":{\"points\":%zu,",
		       (unsigned long long)v.samples, v.resets, tr.points);
		json_num("first", tr.first, 1);
		json_num("last", tr.last, 1);
		json_num("mean", tr.mean, 1);
		json_num("slope_per_s", tr.slope_per_s, 1);
		json_num("change_pct", tr.change_pct, 1);
		printf("\"direction\":\"%s\",\"verdict\":\"%s\",",
		       tr.points < 2 ? "unknown" : tr.direction > 0 ? "rising"
					       : tr.direction < 0 ? "falling" : "stable",
		       tr.points < 2 ? "unknown" : verdict(tr.direction, polarity));
		if (step)
			printf("\"step_ns\":%llu,", (unsigned long long)step);
		else
			printf("\"step_ns\":null,");
		printf("\"left_out\":%zu,\"left_out_why\":%s}}\n", tr.left_out,
		       tr.left_out ? "\"its records span more than " WINDOW_SPAN_MAX_TEXT
				     " times the step\""
				   : "null");
		frames_free(&fr);
		return EXIT_OK;
	}
	if (v.has_value)
		fmt_figure(val, sizeof(val), qy.fig, v.value, unit, raw);
	else
		snprintf(val, sizeof(val), "no value (%s)", v.why ? v.why : "no data");
	/* as typed, but a control character, and in an owner a backslash,
	 * as \xNN, like top prints the owner (shmstat.md) */
	put_safe(stdout, qy.name, 0);
	if (labels) {
		putchar('{');
		put_safe(stdout, labels, 0);
		putchar('}');
	}
	printf(" %s", figure_name(qy.fig));
	if (qy.owner) {
		fputs(" of owner ", stdout);
		put_safe(stdout, qy.owner, TS_BACKSLASH);
	}
	if (qy.fig == SHMSTAT_FIG_QUANTILE)
		printf(" p%g", qy.q * 100);
	printf(" over %s ending %s: %s (%llu samples, %zu records", wd, when, val,
	       (unsigned long long)v.samples, rd.records);
	if (v.resets)
		printf(", %u resets", v.resets);
	if (v.has_value && qy.fig != SHMSTAT_FIG_GAUGE && window_span_long(v.to_ns - v.from_ns, window)) {
		char sp[32];

		fmt_duration(sp, sizeof(sp), v.to_ns - v.from_ns);
		printf(", its records span %s", sp);
	}
	printf(")\n");
	/* the sub-windows left out (a gap in the history), said inside the
	 * trend's parentheses */
	if (tr.left_out) {
		char sd[32];

		fmt_duration(sd, sizeof(sd), step);
		snprintf(left, sizeof(left),
			 "; %zu sub-window%s left out: %s records span more than "
			 WINDOW_SPAN_MAX_TEXT " times the %s step " WINDOW_GAP_GUESS,
			 tr.left_out, tr.left_out == 1 ? "" : "s", tr.left_out == 1 ? "its" : "their",
			 sd);
	}
	if (tr.points < 2) {
		printf("trend: unknown (%zu sub-windows with a value; need 2%s)\n", tr.points, left);
	} else {
		char first[64], last[64], slope[FIG_LEN];

		fmt_figure(first, sizeof(first), qy.fig, tr.first, unit, raw);
		fmt_figure(last, sizeof(last), qy.fig, tr.last, unit, raw);
		/* the figure's change per second: a ratio's in points of 1 */
		fmt_fig(slope, sizeof(slope), tr.slope_per_s,
			qy.fig == SHMSTAT_FIG_SIG_HIT_RATE ? NULL : unit, raw);
		printf("trend: %s, %+.1f%% over %s (%zu points, first %s, last %s, slope %s/s%s)\n",
		       verdict(tr.direction, polarity), tr.change_pct, wd, tr.points, first, last,
		       slope, left);
	}
	frames_free(&fr);
	return EXIT_OK;
}
