/*
 * show.c - shmstat show: every metric of a segment, once.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"
#include "export.h"
#include "show_hist.h"
#include "timearg.h"

static int raw;                 /* --raw: exact integers */

const char cmd_show_usage[] =
	"usage: shmstat show [-p|--per-process] [--json|--prom|--openmetrics|--csv]\n"
	"                    [-I GLOB]... [-X GLOB]... [--raw] NAME\n"
	"       shmstat show --history FILE [--window DURATION] [--at INSTANT]\n"
	"                    [--range START END] [--json] [-I GLOB]... [-X GLOB]...\n"
	"  Print the metrics of segment NAME, one per line: name{labels},\n"
	"  type, value; for a histogram its count, mean, p50, p95, p99 and max\n"
	"  (durations when its unit is ns); for a signature table its keys,\n"
	"  hits, misses, hit rate, weight, evictions. With --per-process, each\n"
	"  writer process's share and the share of writers that are gone.\n"
	"  --json (schema shmstat.show/2), --prom (Prometheus text 0.0.4),\n"
	"  --openmetrics (OpenMetrics 1.0) and --csv print machine formats.\n"
	"  -I and -X keep and drop metrics whose name or name{labels} matches\n"
	"  a glob; what they drop is not read from the segment. Values in\n"
	"  bytes print in KiB, MiB...; in ns as durations;\n"
	"  --raw prints exact integers instead.\n"
	"  With --history, the records of a history file (shmstat record):\n"
	"  the last one at INSTANT (default now); with --window, each metric\n"
	"  over the window ending there (counters: increase and rate; gauges:\n"
	"  value; histograms: count, rate, p50, p95, p99; signature tables:\n"
	"  hits, misses, hit rate, weight), counter resets taken into account;\n"
	"  with --range, every record from START to END (instants: 'now',\n"
	"  '-1h', '@UNIXSECONDS', '2026-11-22T02:40:00Z'). JSON schemas:\n"
	"  shmstat.history/1 (records), shmstat.window/1 (window).\n";

static void print_metric_name(const struct shmstat_metric_info *m, char *buf, size_t n)
{
	fmt_metric(buf, n, m->name, m->labels);
}

/* count=N mean=M p50=.. p95=.. p99=.. max=.. */
static void hist_summary(const shmstat_snap *s, size_t i, size_t j, const char *unit,
			 char *buf, size_t n)
{
	static const double q[] = { 0.5, 0.95, 0.99 };
	char mean[32], v[3][32], max[32];
	struct shmstat_hstats st;
	shmstat_hdata *h;
	uint64_t out[3];

	if (shmstat_snap_hist(s, i, j, &h) != 0) {
		snprintf(buf, n, "-");
		return;
	}
	shmstat_hdata_stats(h, &st);
	if (st.count == 0 || shmstat_hdata_quantiles(h, q, 3, out) != 0) {
		snprintf(buf, n, "count=0");
		shmstat_hdata_free(h);
		return;
	}
	if (raw)
		unit = NULL;            /* exact integers */
	/* a mean of values near 2^64 is 2^64 as a double: no integer holds it */
	fmt_hvalue(mean, sizeof(mean),
		   st.mean < 0x1p64 ? (unsigned long long)(st.mean + 0.5) : ULLONG_MAX, unit);
	for (int k = 0; k < 3; k++)
		fmt_hvalue(v[k], sizeof(v[k]), out[k], unit);
	fmt_hvalue(max, sizeof(max), st.max, unit);
	snprintf(buf, n, "count=%llu mean=%s p50=%s p95=%s p99=%s max=%s",
		 (unsigned long long)st.count, mean, v[0], v[1], v[2], max);
	shmstat_hdata_free(h);
}

/* keys=U hits=H misses=M rate=R% weight=W evictions=E max_error=X */
static void sig_summary(const shmstat_snap *s, size_t i, char *buf, size_t n)
{
	struct shmstat_sigstats st;
	shmstat_sigview *v;
	uint64_t ev;

	if (shmstat_snap_sigtab(s, i, &v) != 0) {
		snprintf(buf, n, "-");
		return;
	}
	shmstat_sigview_stats(v, &st);
	ev = st.hits + st.misses;
	snprintf(buf, n,
		 "keys=%u hits=%llu misses=%llu rate=%.1f%% weight=%llu evictions=%llu max_error=%llu",
		 st.used, (unsigned long long)st.hits, (unsigned long long)st.misses,
		 ev ? 100.0 * (double)st.hits / (double)ev : 0.0, (unsigned long long)st.weight,
		 (unsigned long long)st.evictions, (unsigned long long)st.max_error);
	shmstat_sigview_free(v);
}

/* Counters and gauges: bytes in IEC units and nanoseconds as durations
 * (by their unit), unless --raw; other values as exact integers. */
static void print_value(const struct shmstat_metric_info *m, char *buf, size_t n)
{
	int bytes = !raw && strcmp(m->unit, "bytes") == 0;
	int ns = !raw && (strcmp(m->unit, "ns") == 0 || strcmp(m->unit, "nanoseconds") == 0);

	if (m->type == SHMSTAT_COUNTER) {
		if (bytes)
			fmt_bytes(buf, n, m->counter);
		else if (ns)
			fmt_hvalue(buf, n, m->counter, m->unit);
		else
			snprintf(buf, n, "%llu", (unsigned long long)m->counter);
	} else if (m->has_value) {
		if (bytes && m->gauge >= 0)
			fmt_bytes(buf, n, (unsigned long long)m->gauge);
		else if (ns && m->gauge >= 0)
			fmt_hvalue(buf, n, (unsigned long long)m->gauge, m->unit);
		else
			snprintf(buf, n, "%lld", (long long)m->gauge);
	} else {
		snprintf(buf, n, "-");
	}
}

static void print_header(const char *name, const struct shmstat_seg_info *info)
{
	char size[32], created[32];

	fmt_bytes(size, sizeof(size), info->size);
	fmt_time(created, sizeof(created), info->created_ns);
	printf("segment %s: %u metrics, %u writers alive, %u dead, %s, created %s\n",
	       name, info->metrics, info->writers_alive, info->writers_dead, size, created);
	if (info->dropped_regs)
		printf("warning: %llu registrations were refused (segment full)\n",
		       (unsigned long long)info->dropped_regs);
	if (info->bad_descs)
		printf("warning: %u metric descriptors failed validation and are not shown\n",
		       info->bad_descs);
	if (info->removed)
		printf("note: segment %s has been removed; these are its last values\n", name);
	if (info->profile_stacks || info->profile_modules)
		printf("profile: %llu sampled stacks of %u, %llu module records; see 'shmstat flame %s'\n",
		       (unsigned long long)info->profile_stacks, info->max_stacks,
		       (unsigned long long)info->profile_modules, name);
	if (info->profile_dropped)
		printf("warning: %llu profile samples were dropped (stack table full)\n",
		       (unsigned long long)info->profile_dropped);
}

static void print_procs(const shmstat_snap *s, size_t i)
{
	size_t np = shmstat_snap_procs(s);
	uint64_t c;
	int64_t g;
	struct shmstat_metric_info m;

	shmstat_snap_metric(s, i, &m);
	if (m.type == SHMSTAT_SIGTABLE)
		return;                 /* entries are not per process */
	for (size_t j = 0; j < np; j++) {
		struct shmstat_proc_info p;
		char comm[80];

		shmstat_snap_proc(s, j, &p);
		if (shmstat_snap_metric_proc(s, i, j, &c, &g) != 0 ||
		    (m.type != SHMSTAT_GAUGE && c == 0))
			continue;
		if (m.type == SHMSTAT_HISTOGRAM) {
			char sum[256];

			hist_summary(s, i, j, m.unit, sum, sizeof(sum));
			printf("    pid %-8d %-16s %s %s\n", (int)p.pid, text_safe(comm, sizeof(comm), p.comm),
			       p.alive ? "     " : "(dead)", sum);
		} else if (m.type == SHMSTAT_COUNTER)
			printf("    pid %-8d %-16s %s %llu\n", (int)p.pid, text_safe(comm, sizeof(comm), p.comm),
			       p.alive ? "     " : "(dead)", (unsigned long long)c);
		else
			printf("    pid %-8d %-16s %s %lld\n", (int)p.pid, text_safe(comm, sizeof(comm), p.comm),
			       p.alive ? "     " : "(dead)", (long long)g);
	}
	if (shmstat_snap_metric_proc(s, i, SHMSTAT_PROC_GONE, &c, &g) == 0 &&
	    (c != 0 || g != 0)) {
		if (m.type == SHMSTAT_HISTOGRAM) {
			char sum[256];

			hist_summary(s, i, SHMSTAT_PROC_GONE, m.unit, sum, sizeof(sum));
			printf("    %-30s %s\n", "(exited writers)", sum);
		} else if (m.type == SHMSTAT_COUNTER)
			printf("    %-30s %llu\n", "(exited writers)", (unsigned long long)c);
		else
			printf("    %-30s %lld\n", "(exited writers)", (long long)g);
	}
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "per-process", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "prom", no_argument, NULL, 'P' },
		{ "openmetrics", no_argument, NULL, 'O' },
		{ "csv", no_argument, NULL, 'c' },
		{ "raw", no_argument, NULL, 'r' },
		{ "history", required_argument, NULL, 'H' },
		{ "window", required_argument, NULL, 'W' },
		{ "at", required_argument, NULL, 'A' },
		{ "range", required_argument, NULL, 'R' },   /* START, then END */
		{ NULL, 0, NULL, 0 },
	};
	static const char shortopts[] = ":pI:X:";
	struct show_hist hopt = { 0 };
	enum export_format fmt = EXPORT_TEXT;
	char bad[64];
	shmstat_reader *r;
	shmstat_snap *s;
	struct shmstat_seg_info info;
	int per_process = 0, c, rc = EXIT_OK;
	size_t n, width = 4, *order, ninc = 0, nexc = 0;
	char **inc = calloc((size_t)argc, sizeof(*inc)), **exc = calloc((size_t)argc, sizeof(*exc));
	struct name_filter filter;

	if (inc == NULL || exc == NULL) {
		free(inc);
		free(exc);
		return die(EXIT_ERR, "out of memory");
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			hopt.path = optarg;
			break;
		case 'R':
			if (optind >= argc) {
				free(inc);
				free(exc);
				return usage_error(cmd_show_usage, "--range needs START and END");
			}
			hopt.range_from = optarg;
			hopt.range_to = argv[optind++];
			break;
		case 'W':
			if (parse_duration(optarg, &hopt.window) != 0 || hopt.window == 0) {
				free(inc);
				free(exc);
				return usage_error(cmd_show_usage, "window '%s' is not a duration",
						   optarg);
			}
			break;
		case 'A':
			hopt.at = optarg;
			break;
		case 'p':
			per_process = 1;
			break;
		case 'j': case 'P': case 'O': case 'c':
			if (fmt != EXPORT_TEXT) {
				free(inc);
				free(exc);
				return usage_error(cmd_show_usage, "choose one output format");
			}
			fmt = c == 'j' ? EXPORT_JSON : c == 'P' ? EXPORT_PROM
			      : c == 'O' ? EXPORT_OPENMETRICS : EXPORT_CSV;
			break;
		case 'r':
			raw = 1;
			break;
		case 'I': case 'X':
			if (!glob_valid(optarg)) {
				int e = usage_error(cmd_show_usage, "glob '%s' is not valid", optarg);

				free(inc);
				free(exc);
				return e;
			}
			if (c == 'I')
				inc[ninc++] = optarg;
			else
				exc[nexc++] = optarg;
			break;
		case ':':
			free(inc);
			free(exc);
			return usage_error(cmd_show_usage, "option '%s' needs a value",
					   refused_option(bad, sizeof(bad), argv, shortopts, opts));
		default:
			free(inc);
			free(exc);
			return usage_error(cmd_show_usage, "unknown option '%s'",
					   refused_option(bad, sizeof(bad), argv, shortopts, opts));
		}
	}
	if (hopt.path == NULL && (hopt.window || hopt.at || hopt.range_from)) {
		free(inc);
		free(exc);
		return usage_error(cmd_show_usage, "--window, --at and --range need --history");
	}
	if (hopt.path) {
		int e;

		if (optind != argc)
			e = usage_error(cmd_show_usage, "no segment name with --history");
		else if (per_process || (fmt != EXPORT_TEXT && fmt != EXPORT_JSON))
			e = usage_error(cmd_show_usage,
					"--history prints text or --json only, not per process");
		else if (hopt.at && hopt.range_from)
			e = usage_error(cmd_show_usage, "choose --at or --range");
		else {
			hopt.json = fmt == EXPORT_JSON;
			hopt.raw = raw;
			hopt.inc = inc;
			hopt.exc = exc;
			hopt.ninc = ninc;
			hopt.nexc = nexc;
			e = show_history(&hopt);
		}
		free(inc);
		free(exc);
		return e;
	}
	if (optind != argc - 1) {
		free(inc);
		free(exc);
		return usage_error(cmd_show_usage, optind >= argc ? "segment name is missing"
							      : "too many arguments");
	}
	/* only what -I and -X keep is copied */
	filter = (struct name_filter){ inc, ninc, exc, nexc };
	if (open_snapshot_subset(argv[optind], &filter, &r, &s) != EXIT_OK) {
		free(inc);
		free(exc);
		return EXIT_ERR;
	}
	n = shmstat_snap_metrics(s);
	order = metrics_sorted(s, n);
	if (order == NULL) {
		shmstat_snap_free(s);
		shmstat_reader_close(r);
		free(inc);
		free(exc);
		return die(EXIT_ERR, "out of memory");
	}
	/* -I and -X: the snapshot holds what they keep, and nothing else
	 * (open_snapshot_subset) */
	free(inc);
	free(exc);
	if (fmt != EXPORT_TEXT) {
		rc = export_snapshot(stdout, fmt, argv[optind], s, order, n, per_process);
		free(order);
		shmstat_snap_free(s);
		shmstat_reader_close(r);
		return rc;
	}
	shmstat_snap_info(s, &info);
	print_header(argv[optind], &info);
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		struct shmstat_metric_info m;
		char name[512];

		shmstat_snap_metric(s, i, &m);
		print_metric_name(&m, name, sizeof(name));
		if (strlen(name) > width)
			width = strlen(name);
	}
	if (n)
		printf("%-*s  %-9s  %s\n", (int)width, "NAME", "TYPE", "VALUE");
	for (size_t k = 0; k < n; k++) {
		struct shmstat_metric_info m;
		char name[512], value[256];

		shmstat_snap_metric(s, order[k], &m);
		print_metric_name(&m, name, sizeof(name));
		if (m.type == SHMSTAT_HISTOGRAM)
			hist_summary(s, order[k], SHMSTAT_PROC_ALL, m.unit, value, sizeof(value));
		else if (m.type == SHMSTAT_SIGTABLE)
			sig_summary(s, order[k], value, sizeof(value));
		else
			print_value(&m, value, sizeof(value));
		printf("%-*s  %-9s  %s\n", (int)width, name, shmstat_type_name(m.type), value);
		if (per_process)
			print_procs(s, order[k]);
	}
	free(order);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	return EXIT_OK;
}
