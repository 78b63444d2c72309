/*
 * hist.c - shmstat hist: percentiles and distribution of a histogram.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "shmstat_window.h"
#include "cli.h"
#include "cmd.h"

const char cmd_hist_usage[] =
	"usage: shmstat hist [-l|--labels LABELS] [--raw] NAME HIST\n"
	"  Print the percentiles of histogram HIST of segment NAME (every label\n"
	"  set, or the one whose canonical labels, as `shmstat show` prints\n"
	"  them between braces, equal LABELS) and a bar chart of its\n"
	"  distribution, one row per power of two. Values print in the\n"
	"  histogram's unit (durations, bytes, 148k); --raw prints exact\n"
	"  integers.\n";

#define BAR 40
#define MAX_ROWS 32

static void print_table(const shmstat_hdata *h, const char *unit)
{
	static const double q[] = { 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999 };
	static const char *const qn[] = { "p50", "p90", "p95", "p99", "p99.9", "p99.99" };
	struct shmstat_hstats st;
	uint64_t out[6];
	char a[32], b[32], c[32], d[HSUM_LEN];

	shmstat_hdata_stats(h, &st);
	/* a mean of values near 2^64 is 2^64 as a double: no integer holds it */
	fmt_hvalue(a, sizeof(a), st.mean < 0x1p64 ? (unsigned long long)(st.mean + 0.5) : ULLONG_MAX,
		   unit);
	fmt_hvalue(b, sizeof(b), st.min, unit);
	fmt_hvalue(c, sizeof(c), st.max, unit);
	fmt_hsum(d, sizeof(d), h, unit);
	printf("  count %llu  sum %s  mean %s  min %s  max %s\n",
	       (unsigned long long)st.count, d, a, b, c);
	if (st.underflow || st.overflow)
		printf("  underflow %llu (below %llu)  overflow %llu (above %llu)\n",
		       (unsigned long long)st.underflow, (unsigned long long)st.lowest,
		       (unsigned long long)st.overflow, (unsigned long long)st.highest);
	if (st.count == 0 || shmstat_hdata_quantiles(h, q, 6, out) != 0)
		return;
	printf("\n  %-8s %12s\n", "quantile", "value");
	printf("  %-8s %12s\n", "min", b);
	for (int i = 0; i < 6; i++) {
		fmt_hvalue(a, sizeof(a), out[i], unit);
		printf("  %-8s %12s\n", qn[i], a);
	}
	printf("  %-8s %12s\n", "max", c);
}

/* One row per power of two, merged in pairs until at most MAX_ROWS rows
 * remain. */
static void print_chart(const shmstat_hdata *h, const char *unit)
{
	uint64_t row_n[64] = { 0 }, top = 0, total = 0;
	struct shmstat_hstats st;
	int first = -1, last = -1, rows, step = 1;
	size_t nb = shmstat_hdata_buckets(h);

	for (size_t k = shmstat_hdata_next(h, 0); k < nb; k = shmstat_hdata_next(h, k + 1)) {
		uint64_t lo, hi, c;
		int e;

		shmstat_hdata_bucket(h, k, &lo, &hi, &c);
		(void)hi;
		e = lo ? 63 - __builtin_clzll(lo) : 0;
		row_n[e] += c;
		if (first < 0)
			first = e;
		last = e;
		total += c;
	}
	if (first < 0)
		return;
	shmstat_hdata_stats(h, &st);
	rows = last - first + 1;
	while (rows / step > MAX_ROWS)
		step *= 2;
	printf("\n  distribution (%d rows)\n", (rows + step - 1) / step);
	for (int e = first; e <= last; e += step) {
		uint64_t n = 0;

		for (int k = e; k < e + step && k <= last; k++)
			n += row_n[k];
		if (n > top)
			top = n;
	}
	for (int e = first; e <= last; e += step) {
		uint64_t n = 0, lo = e ? (uint64_t)1 << e : 0, hi;
		char a[32], b[32], bar[BAR * 3 + 1];
		int w, o = 0;

		hi = e + step < 64 ? ((uint64_t)1 << (e + step)) - 1 : UINT64_MAX;
		if (hi > st.highest)
			hi = st.highest;
		for (int k = e; k < e + step && k <= last; k++)
			n += row_n[k];
		w = (int)((n * BAR + top - 1) / (top ? top : 1));
		for (int i = 0; i < w; i++) {
			memcpy(bar + o, "\xe2\x96\x87", 3);     /* U+2587 */
			o += 3;
		}
		bar[o] = '\0';
		fmt_hvalue(a, sizeof(a), lo, unit);
		fmt_hvalue(b, sizeof(b), hi, unit);
		printf("  %10s .. %-10s %-*s %12llu %5.1f%%\n", a, b, BAR + (o - w), bar,
		       (unsigned long long)n, total ? 100.0 * (double)n / (double)total : 0);
	}
}

int cmd_hist(int argc, char **argv)
{
	static const char shortopts[] = ":l:";
	char bad[64];
	static const struct option opts[] = {
		{ "labels", required_argument, NULL, 'l' },
		{ "raw", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *labels = NULL, *seg, *hist;
	shmstat_reader *r;
	shmstat_snap *s;
	int c, found = 0, raw = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			/* as trend -l: a typo in the syntax is a usage error */
			if (shmstat_labels_match("", optarg) < 0)
				return usage_error(cmd_hist_usage,
						   "labels '%s' are not k=\"v\" pairs separated by commas",
						   optarg);
			labels = optarg;
			break;
		case 'r':
			raw = 1;
			break;
		case ':':
			return usage_error(cmd_hist_usage, "option '%s' needs a value",
					   refused_option(bad, sizeof(bad), argv, shortopts, opts));
		default:
			return usage_error(cmd_hist_usage, "unknown option '%s'", refused_option(bad, sizeof(bad), argv, shortopts, opts));
		}
	}
	if (argc - optind != 2)
		return usage_error(cmd_hist_usage, argc - optind < 2
				   ? "segment and histogram names are needed"
				   : "too many arguments");
	seg = argv[optind];
	hist = argv[optind + 1];
	if (open_snapshot(seg, &r, &s) != EXIT_OK)
		return EXIT_ERR;
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		struct shmstat_metric_info m;
		shmstat_hdata *h;
		char name[METRIC_TEXT_MAX], help[400];

		shmstat_snap_metric(s, i, &m);
		if (strcmp(m.name, hist) != 0 || (labels && strcmp(m.labels, labels) != 0))
			continue;
		if (m.type != SHMSTAT_HISTOGRAM) {
			shmstat_snap_free(s);
			shmstat_reader_close(r);
			return die(EXIT_ERR, "metric '%s' of segment '%s' is a %s, not a histogram",
				   hist, seg, shmstat_type_name(m.type));
		}
		if (shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &h) != 0)
			continue;
		fmt_metric(name, sizeof(name), m.name, m.labels);
		printf("%s%s\n", found ? "\n" : "", name);
		if (m.help[0])
			printf("  %s\n", text_safe(help, sizeof(help), m.help));
		print_table(h, raw ? NULL : m.unit);
		print_chart(h, raw ? NULL : m.unit);
		shmstat_hdata_free(h);
		found++;
	}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	if (!found && labels)
		return die(EXIT_ERR, "segment '%s' has no histogram '%s' with labels '%s'",
			   seg, hist, labels);
	if (!found)
		return die(EXIT_ERR, "segment '%s' has no histogram '%s'", seg, hist);
	return EXIT_OK;
}
