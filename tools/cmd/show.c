/*
 * show.c - shmstat show: every metric of a segment, once, with its rate
 * per second since the metric was created or, with -i, over an interval
 * between two snapshots; show_hist.c is show --history.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"
#include "export.h"
#include "prom.h"
#include "show_hist.h"
#include "timearg.h"
#include "units.h"

static int raw;                 /* --raw: exact integers */
static const char *out_path;    /* --out FILE */

#define SHOW_INTERVAL_MAX 3600000000000ull       /* -i: at most 1h */

const char cmd_show_usage[] =
	"usage: shmstat show [-p|--per-process] [--json|--prom|--openmetrics|--csv]\n"
	"                    [-i DURATION] [-I GLOB]... [-X GLOB]... [--raw]\n"
	"                    [--out FILE] NAME\n"
	"       shmstat show --history FILE [--window DURATION] [--at INSTANT]\n"
	"                    [--range START END] [--json] [--raw]\n"
	"                    [-I GLOB]... [-X GLOB]...\n"
	"  Print the metrics of segment NAME, one per line: name{labels},\n"
	"  type (a gauge's with how the processes' values combine: gauge/sum,\n"
	"  gauge/livesum: live processes only...), value and rate per second\n"
	"  since the metric was created (of a counter, a histogram's count, a\n"
	"  signature table's hits), or with\n"
	"  -i (--interval) over DURATION between two snapshots; for a\n"
	"  histogram its count, mean, p50, p95, p99 and max; for a signature\n"
	"  table its keys, hits, misses, hit ratio, weight, evictions. With\n"
	"  --per-process, each writer process's share and the share of\n"
	"  writers that are gone.\n"
	"  --json (schema shmstat.show/2, with rates), --prom (Prometheus text\n"
	"  0.0.4), --openmetrics (OpenMetrics 1.0) and --csv print machine\n"
	"  formats. --out FILE (with --prom or --openmetrics, for node_exporter's\n"
	"  textfile collector) writes FILE instead, whole or not at all (a\n"
	"  temporary file renamed over it, mode 0644; refused over what is no\n"
	"  regular file, and through a symbolic link another user may have\n"
	"  planted on the path, security.md), every series labelled\n"
	"  segment=\"NAME\" with the segment's health families, as serve does.\n"
	"  -I and -X keep and drop metrics whose name or name{labels} matches\n"
	"  a glob; what they drop is not read from the segment. Figures print\n"
	"  in the unit each metric registered: ns as durations, bytes in KiB,\n"
	"  MiB..., micro_XXX in XXX, counts as 148k; --raw prints exact\n"
	"  numbers instead.\n"
	"  With --history, the records of a history file (shmstat record):\n"
	"  the last one at INSTANT (default now); with --window, each metric\n"
	"  over the window ending there (counters: increase and rate; gauges:\n"
	"  value; histograms: count, rate, p50, p95, p99; signature tables:\n"
	"  hits, misses, hit ratio, weight), counter resets taken into account;\n"
	"  with --range, every record from START to END (instants: 'now',\n"
	"  '-1h', '@UNIXSECONDS', '2026-11-22T02:40:00Z'). JSON schemas:\n"
	"  shmstat.history/1 (records), shmstat.window/1 (window).\n";

static void print_metric_name(const struct shmstat_metric_info *m, char *buf, size_t n)
{
	fmt_metric(buf, n, m->name, m->labels);
}

/* A gauge's value in @unit: exact with --raw (int64 beyond 2^53 too). */
static void fmt_gauge(char *buf, size_t n, int64_t v, const char *unit)
{
	if (raw)
		snprintf(buf, n, "%lld", (long long)v);
	else
		fmt_fig(buf, n, (double)v, unit, 0);
}

/* count=N mean=M p50=.. p95=.. p99=.. max=.. (values in @unit) */
static void hist_summary(const shmstat_snap *s, size_t i, size_t j, const char *unit,
			 char *buf, size_t n)
{
	static const double q[] = { 0.5, 0.95, 0.99 };
	char count[FIG_LEN], mean[FIG_LEN], v[3][FIG_LEN], max[FIG_LEN];
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
	fmt_fig_u64(count, sizeof(count), st.count, NULL, raw);
	fmt_fig(mean, sizeof(mean), st.mean, unit, raw);
	for (int k = 0; k < 3; k++)
		fmt_fig_u64(v[k], sizeof(v[k]), out[k], unit, raw);
	fmt_fig_u64(max, sizeof(max), st.max, unit, raw);
	snprintf(buf, n, "count=%s mean=%s p50=%s p95=%s p99=%s max=%s", count, mean, v[0], v[1],
		 v[2], max);
	shmstat_hdata_free(h);
}

/* keys=U hits=H misses=M hit_ratio=R% weight=W evictions=E max_error=X
 * (the weight in the table's unit) */
static void sig_summary(const shmstat_snap *s, size_t i, const char *unit, char *buf, size_t n)
{
	struct shmstat_sigstats st;
	shmstat_sigview *v;
	int k;

	if (shmstat_snap_sigtab(s, i, &v) != 0) {
		snprintf(buf, n, "-");
		return;
	}
	shmstat_sigview_stats(v, &st);
	k = snprintf(buf, n, "keys=%u ", st.used);
	if (k > 0 && (size_t)k < n)
		fmt_sig_figs(buf + k, n - (size_t)k, st.hits, st.misses, st.weight, st.evictions,
			     st.max_error, unit, raw);
	shmstat_sigview_free(v);
}

/* A metric's value in its unit: a counter's count, a gauge's value, a
 * histogram's count of values, a signature table's hits. */
static void print_value(const struct shmstat_metric_info *m, char *buf, size_t n)
{
	if (m->type == SHMSTAT_COUNTER)
		fmt_fig_u64(buf, n, m->counter, m->unit, raw);
	else if (m->type != SHMSTAT_GAUGE)
		fmt_fig_u64(buf, n, m->counter, NULL, raw);
	else if (m->has_value)
		fmt_gauge(buf, n, m->gauge, m->unit);
	else
		snprintf(buf, n, "-");
}

/* ------------------------------------------------------------- rates */

/* The unit of a metric's rate: a counter's own; histograms count values
 * and signature tables hits. */
static const char *rate_unit(const struct shmstat_metric_info *m)
{
	return m->type == SHMSTAT_COUNTER ? m->unit : NULL;
}

/* Index in @s (by @order, sorted by name and labels) of the metric
 * @name{@labels}, or -1. */
static long find_sorted(const shmstat_snap *s, const size_t *order, size_t n, const char *name,
			const char *labels)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct shmstat_metric_info m;
		int c;

		shmstat_snap_metric(s, order[mid], &m);
		c = strcmp(m.name, name);
		if (c == 0)
			c = strcmp(m.labels, labels);
		if (c == 0)
			return (long)order[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Each metric's rate per second, by its index in @s (NaN: none; gauges
 * have none): without @s0, its value over the time since it was
 * registered; with @s0 (an earlier snapshot of the same reader, sorted
 * by @order0), its increase since @s0 over @over_ns, the time between
 * the two on CLOCK_MONOTONIC (their taken_ns are CLOCK_REALTIME: a
 * clock stepped by a day between them made rates 86400 times too small,
 * one stepped back made none). NULL when out of memory. */
double *metric_rates(const shmstat_snap *s, const shmstat_snap *s0, const size_t *order0,
		     uint64_t over_ns)
{
	size_t n = shmstat_snap_metrics(s), n0 = s0 ? shmstat_snap_metrics(s0) : 0;
	double *rate = malloc((n ? n : 1) * sizeof(*rate));
	struct shmstat_seg_info info;

	if (rate == NULL)
		return NULL;
	shmstat_snap_info(s, &info);
	for (size_t i = 0; i < n; i++) {
		struct shmstat_metric_info m, m0;
		long j;

		shmstat_snap_metric(s, i, &m);
		rate[i] = NAN;
		if (m.type == SHMSTAT_GAUGE)
			continue;
		if (s0 == NULL) {
			rate[i] = rate_since(m.counter, m.created_ns, info.taken_ns);
			continue;
		}
		j = find_sorted(s0, order0, n0, m.name, m.labels);
		if (j < 0 || shmstat_snap_metric(s0, (size_t)j, &m0) != 0 || m0.reg_id != m.reg_id ||
		    m.counter < m0.counter || over_ns == 0)
			continue;       /* new, registered again, or went back */
		rate[i] = (double)(m.counter - m0.counter) / ((double)over_ns / 1e9);
	}
	return rate;
}

static void print_header(const char *name, const struct shmstat_seg_info *info,
			 uint64_t rate_ns)
{
	char size[FIG_LEN], created[32], over[FIG_LEN];

	fmt_fig_u64(size, sizeof(size), info->size, "bytes", raw);
	fmt_time(created, sizeof(created), info->created_ns);
	fmt_fig_u64(over, sizeof(over), rate_ns, "ns", raw);
	printf("segment %s: %u metrics, %u writers alive, %u dead, %s%s, created %s, rates %s%s%s\n",
	       name, info->metrics, info->writers_alive, info->writers_dead, size,
	       raw ? " bytes" : "", created, rate_ns ? "over " : "since creation",
	       rate_ns ? over : "", rate_ns && raw ? " ns" : "");
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
	char val[256];

	shmstat_snap_metric(s, i, &m);
	if (m.type == SHMSTAT_SIGTABLE)
		return;                 /* entries are not per process */
	for (size_t j = 0; j <= np; j++) {
		struct shmstat_proc_info p;
		char who[128], comm[80];
		size_t at = j < np ? j : SHMSTAT_PROC_GONE;

		if (shmstat_snap_metric_proc(s, i, at, &c, &g) != 0)
			continue;
		if (at == SHMSTAT_PROC_GONE) {
			if (c == 0 && g == 0)
				continue;
			snprintf(who, sizeof(who), "%-30s", "(exited writers)");
		} else {
			if (m.type != SHMSTAT_GAUGE && c == 0)
				continue;
			shmstat_snap_proc(s, j, &p);
			/* another pid namespace's writer: liveness unknown */
			snprintf(who, sizeof(who), "pid %-8d %-16s %s", (int)p.pid,
				 text_safe(comm, sizeof(comm), p.comm),
				 p.alive < 0 ? "(pidns)" : p.alive ? "     " : "(dead)");
		}
		if (m.type == SHMSTAT_HISTOGRAM)
			hist_summary(s, i, at, m.unit, val, sizeof(val));
		else if (m.type == SHMSTAT_COUNTER)
			fmt_fig_u64(val, sizeof(val), c, m.unit, raw);
		else
			fmt_gauge(val, sizeof(val), g, m.unit);
		printf("    %s %s\n", who, val);
	}
}

/* "counter", "histogram", "sigtable"; a gauge with how it combines the
 * processes' values: "gauge/sum", "gauge/livemax"... */
static void type_of(const struct shmstat_metric_info *m, char *buf, size_t n)
{
	const char *t = shmstat_type_name(m->type);
	size_t l = strlen(t);

	if (m->type == SHMSTAT_GAUGE) {
		snprintf(buf, n, "gauge/%s", shmstat_agg_name(m->agg));
		return;
	}
	if (l >= n)
		l = n - 1;
	memcpy(buf, t, l);
	buf[l] = '\0';
}

/* The cells of metric order[@k] of @s (@n in @order): NAME, TYPE, VALUE
 * and RATE; the metric a few places on is asked to load meanwhile. */
struct row {
	struct shmstat_metric_info m;
	char full[METRIC_TEXT_MAX], v[FIG_LEN], r[FIG_LEN], t[32];
};

static void row_of(const shmstat_snap *s, const size_t *order, size_t n, size_t k,
		   const double *rate, struct row *w)
{
	const size_t i = order[k];

	if (k + PREFETCH_AHEAD < n)
		shmstat_snap_prefetch(s, order[k + PREFETCH_AHEAD]);
	shmstat_snap_metric(s, i, &w->m);
	print_metric_name(&w->m, w->full, sizeof(w->full));
	print_value(&w->m, w->v, sizeof(w->v));
	fmt_rate(w->r, sizeof(w->r), rate[i], rate_unit(&w->m), raw);
	type_of(&w->m, w->t, sizeof(w->t));
}

/* The rows' cells, each NUL-terminated, one row after another: the
 * columns' widths are known once every row is made, and each is made
 * once */
struct cells {
	char *buf;
	size_t used, cap;
};

static int cells_put(struct cells *c, const char *s)
{
	const size_t l = strlen(s) + 1;

	if (c->cap - c->used < l) {
		size_t cap = c->cap ? 2 * c->cap : 1u << 16;
		char *b;

		while (cap - c->used < l)
			cap *= 2;
		if ((b = realloc(c->buf, cap)) == NULL)
			return -1;
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->used, s, l);
	c->used += l;
	return 0;
}

/* @s padded with spaces to @w columns, on the left (@right) or right
 * (its columns, not its bytes: a label value "東京" takes 4, not 6) */
static void put_cell(const char *s, size_t len, int w, int right)
{
	static const char sp[] = "                                ";
	const int cols = text_cols(s, len);
	size_t pad = w > cols ? (size_t)(w - cols) : 0;

	if (!right)
		fwrite_unlocked(s, 1, len, stdout);
	for (; pad > 0; pad -= pad < sizeof(sp) - 1 ? pad : sizeof(sp) - 1)
		fwrite_unlocked(sp, 1, pad < sizeof(sp) - 1 ? pad : sizeof(sp) - 1, stdout);
	if (right)
		fwrite_unlocked(s, 1, len, stdout);
}

/* The text form: a header, then NAME TYPE VALUE RATE and a histogram's
 * or signature table's summary, a line a metric. */
static int print_text(const char *name, const shmstat_snap *s, const size_t *order, size_t n,
		      const double *rate, uint64_t rate_ns, int per_process)
{
	struct shmstat_seg_info info;
	struct cells c = { 0 };
	int wn = 4, wv = 5, wr = 4, wt = 4;
	const char *at;

	shmstat_snap_info(s, &info);
	/* the user's characters, for the columns a name takes (numbers
	 * stay C's) */
	(void)setlocale(LC_CTYPE, "");
	/* the cells, and the columns as wide as their widest cell */
	for (size_t k = 0; k < n; k++) {
		struct row w;
		int nc;

		row_of(s, order, n, k, rate, &w);
		nc = text_cols(w.full, strlen(w.full));
		wn = nc > wn ? nc : wn;
		wv = (int)strlen(w.v) > wv ? (int)strlen(w.v) : wv;
		wr = (int)strlen(w.r) > wr ? (int)strlen(w.r) : wr;
		wt = (int)strlen(w.t) > wt ? (int)strlen(w.t) : wt;
		/* its type first: only histograms and tables are looked up
		 * again */
		const char type[2] = { (char)('0' + w.m.type), '\0' };

		if (cells_put(&c, type) || cells_put(&c, w.full) || cells_put(&c, w.t) ||
		    cells_put(&c, w.v) || cells_put(&c, w.r)) {
			free(c.buf);
			return die(EXIT_ERR, "out of memory laying out the metrics of segment '%s'",
				   name);
		}
	}
	print_header(name, &info, rate_ns);
	if (n)
		printf("%-*s  %-*s  %*s  %*s\n", wn, "NAME", wt, "TYPE", wv, "VALUE", wr, "RATE");
	at = c.buf;
	for (size_t k = 0; k < n; k++) {
		const int type = at[0] - '0';
		const char *cell[4];
		size_t len[4];
		char sum[512] = "";

		at += 2;
		for (int j = 0; j < 4; j++) {
			cell[j] = at;
			len[j] = strlen(at);
			at += len[j] + 1;
		}
		if (type == SHMSTAT_HISTOGRAM || type == SHMSTAT_SIGTABLE) {
			struct shmstat_metric_info m;

			shmstat_snap_metric(s, order[k], &m);
			if (type == SHMSTAT_HISTOGRAM)
				hist_summary(s, order[k], SHMSTAT_PROC_ALL, m.unit, sum, sizeof(sum));
			else
				sig_summary(s, order[k], m.unit, sum, sizeof(sum));
		}
		put_cell(cell[0], len[0], wn, 0);
		fputs_unlocked("  ", stdout);
		put_cell(cell[1], len[1], wt, 0);
		fputs_unlocked("  ", stdout);
		put_cell(cell[2], len[2], wv, 1);
		fputs_unlocked("  ", stdout);
		put_cell(cell[3], len[3], wr, 1);
		if (sum[0]) {
			fputs_unlocked("  ", stdout);
			fputs_unlocked(sum, stdout);
		}
		fputc_unlocked('\n', stdout);
		if (per_process)
			print_procs(s, order[k]);
	}
	free(c.buf);
	return EXIT_OK;
}

/* --out: the exposition of @s into @path atomically: a temporary file
 * in the same directory, 0644, renamed over @path once whole; both in
 * the directory out_resolve() checked, by its descriptor. Only over a
 * regular file: the rename would replace a device (/dev/null), a FIFO
 * or a symbolic link (/dev/stdout) for every other program. */
static int write_textfile(const char *path, const char *name, const shmstat_snap *s,
			  const size_t *order, size_t n, int om)
{
	struct prom_src src = { name, s, order, n };
	struct prom_opts o = { .om = om, .le_per_octave = 1, .top = 10, .segment_label = 1,
			       .warn = 1, .build_segment = 1 };
	struct out_path op;
	char tmp[NAME_MAX + 8], why[160];
	FILE *f = NULL;
	struct stat st;
	int fd = -1, err;

	/* a directory on the way that another user planted as a link: the
	 * rename replaced a file wherever it led */
	if (out_resolve(path, -1, &op) != 0) {
		out_why(&op, errno, why, sizeof(why));
		return die(EXIT_ERR, "cannot write '%s': %s", path, why);
	}
	tmp[0] = '\0';
	if (fstatat(op.dir, op.name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
		close(op.dir);
		return die(EXIT_ERR, "cannot write '%s': it is %s; refusing it", path,
			   S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
	}
	fd = out_tmpfile(op.dir, op.name, tmp, sizeof(tmp));
	if (fd < 0) {
		err = errno;
		tmp[0] = '\0';
		goto fail;
	}
	if (fchmod(fd, 0644) != 0 || (f = fdopen(fd, "w")) == NULL) {
		err = errno;
		goto fail;
	}
	err = prom_render(f, &src, 1, &o);
	if (err == 0 && (fflush(f) != 0 || ferror(f) || fsync(fd) != 0))
		err = errno ? errno : EIO;
	if (fclose(f) != 0 && err == 0)
		err = errno;
	f = NULL;
	fd = -1;
	if (err == 0 && renameat(op.dir, tmp, op.dir, op.name) != 0)
		err = errno;
	if (err == 0) {
		close(op.dir);
		return EXIT_OK;
	}
fail:
	if (f)
		(void)fclose(f);
	else if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlinkat(op.dir, tmp, 0);
	close(op.dir);
	return die(EXIT_ERR, "cannot write '%s': %s", path, strerror(err));
}

/* A live segment: two snapshots @interval_ns apart with -i, else one;
 * then its text or machine form. */
static int show_segment(const char *name, struct name_filter *filter, enum export_format fmt,
			uint64_t interval_ns, int per_process)
{
	shmstat_reader *r;
	shmstat_snap *s, *s0 = NULL;
	size_t n, *order = NULL, *order0 = NULL;
	double *rate = NULL;
	uint64_t rate_ns = 0, t0;
	bool need_rates;
	int rc = EXIT_ERR;

	/* only what -I and -X keep is copied */
	if (open_snapshot_subset(name, filter, &r, &s) != EXIT_OK)
		return EXIT_ERR;
	/* the interval on CLOCK_MONOTONIC, read as each snapshot is made:
	 * the wall clock may be stepped while we sleep (NTP, a resumed
	 * virtual machine) */
	t0 = mono_ns();
	if (interval_ns) {
		s0 = s;
		s = NULL;
		nanosleep(&(struct timespec){ (time_t)(interval_ns / 1000000000u),
					      (long)(interval_ns % 1000000000u) }, NULL);
		if (shmstat_snapshot(r, &s) != 0) {
			die(EXIT_ERR, "%s", shmstat_last_error());
			goto out;
		}
		rate_ns = mono_ns() - t0;
		if (rate_ns == 0)
			rate_ns = 1;
		order0 = metrics_sorted(s0, shmstat_snap_metrics(s0));
		if (order0 == NULL) {
			die(EXIT_ERR, "out of memory sorting the metrics of segment '%s'", name);
			goto out;
		}
	}
	n = shmstat_snap_metrics(s);
	order = metrics_sorted(s, n);
	/* JSON computes rates since creation as it writes them */
	need_rates = s0 != NULL || fmt == EXPORT_TEXT;
	rate = need_rates ? metric_rates(s, s0, order0, rate_ns) : NULL;
	if (order == NULL || (need_rates && rate == NULL)) {
		die(EXIT_ERR, "out of memory %s the metrics of segment '%s'",
		    order == NULL ? "sorting" : "computing the rates of", name);
		goto out;
	}
	if (fmt == EXPORT_TEXT) {
		rc = print_text(name, s, order, n, rate, rate_ns, per_process);
	} else {
		struct export_rates er = { rate, rate_ns };

		if (out_path)
			rc = write_textfile(out_path, name, s, order, n, fmt == EXPORT_OPENMETRICS);
		else
			rc = export_snapshot(stdout, fmt, name, s, order, n, per_process, &er);
	}
out:
	free(rate);
	free(order);
	free(order0);
	shmstat_snap_free(s);
	shmstat_snap_free(s0);
	shmstat_reader_close(r);
	return rc;
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
		{ "interval", required_argument, NULL, 'i' },
		{ "history", required_argument, NULL, 'H' },
		{ "window", required_argument, NULL, 'W' },
		{ "at", required_argument, NULL, 'A' },
		{ "range", required_argument, NULL, 'R' },   /* START, then END */
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	static const char shortopts[] = ":pi:I:X:";
	struct show_hist hopt = { 0 };
	enum export_format fmt = EXPORT_TEXT;
	char bad[64];
	int per_process = 0, c, rc = -1;
	uint64_t interval = 0;
	size_t ninc = 0, nexc = 0;
	char **inc = calloc((size_t)argc, sizeof(*inc)), **exc = calloc((size_t)argc, sizeof(*exc));
	struct name_filter filter;

	if (inc == NULL || exc == NULL) {
		free(inc);
		free(exc);
		return die(EXIT_ERR, "out of memory reading the arguments");
	}
	opterr = 0;
	while (rc < 0 && (c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			hopt.path = optarg;
			break;
		case 'R':
			if (optind >= argc) {
				rc = usage_error(cmd_show_usage, "--range needs START and END");
				break;
			}
			hopt.range_from = optarg;
			hopt.range_to = argv[optind++];
			break;
		case 'W':
			if (parse_duration(optarg, &hopt.window) != 0 || hopt.window == 0)
				rc = usage_error(cmd_show_usage, "window '%s' is not " DURATION_RANGE,
						 optarg);
			break;
		case 'i':
			if (parse_duration(optarg, &interval) != 0 || interval == 0 ||
			    interval > SHOW_INTERVAL_MAX)
				rc = usage_error(cmd_show_usage,
						 "interval '%s' is not a duration from 1ns to 1h",
						 optarg);
			break;
		case 'A':
			hopt.at = optarg;
			break;
		case 'p':
			per_process = 1;
			break;
		case 'j': case 'P': case 'O': case 'c':
			if (fmt != EXPORT_TEXT)
				rc = usage_error(cmd_show_usage, "choose one output format");
			fmt = c == 'j' ? EXPORT_JSON : c == 'P' ? EXPORT_PROM
			      : c == 'O' ? EXPORT_OPENMETRICS : EXPORT_CSV;
			break;
		case 'r':
			raw = 1;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'I': case 'X':
			if (!glob_valid(optarg))
				rc = usage_error(cmd_show_usage, "glob '%s' is not valid", optarg);
			else if (c == 'I')
				inc[ninc++] = optarg;
			else
				exc[nexc++] = optarg;
			break;
		case ':':
			rc = usage_error(cmd_show_usage, "option '%s' needs a value",
					 refused_option(bad, sizeof(bad), argv, shortopts, opts));
			break;
		default:
			rc = usage_error(cmd_show_usage, "unknown option '%s'",
					 refused_option(bad, sizeof(bad), argv, shortopts, opts));
			break;
		}
	}
	if (rc >= 0) {
		/* a usage error, said */
	} else if (out_path && (fmt != EXPORT_PROM && fmt != EXPORT_OPENMETRICS)) {
		rc = usage_error(cmd_show_usage, "--out goes with --prom or --openmetrics");
	} else if (out_path && (hopt.path || interval || per_process)) {
		rc = usage_error(cmd_show_usage, "--out writes one segment's exposition, "
				 "not --history, -i or --per-process");
	} else if (hopt.path == NULL && (hopt.window || hopt.at || hopt.range_from)) {
		rc = usage_error(cmd_show_usage, "--window, --at and --range need --history");
	} else if (hopt.path) {
		if (optind != argc)
			rc = usage_error(cmd_show_usage, "no segment name with --history");
		else if (per_process)
			rc = usage_error(cmd_show_usage,
					 "--history prints text or --json only, not per process");
		else if (fmt != EXPORT_TEXT && fmt != EXPORT_JSON)
			rc = usage_error(cmd_show_usage, "--history prints text or --json only, not %s",
					 fmt == EXPORT_PROM ? "--prom"
					 : fmt == EXPORT_OPENMETRICS ? "--openmetrics" : "--csv");
		else if (interval)
			rc = usage_error(cmd_show_usage, "-i goes with a segment, not --history");
		else if (hopt.at && hopt.range_from)
			rc = usage_error(cmd_show_usage, "choose --at or --range");
		else if (hopt.window && hopt.range_from)    /* --window was ignored */
			rc = usage_error(cmd_show_usage, "choose --window or --range");
		else {
			hopt.json = fmt == EXPORT_JSON;
			hopt.raw = raw;
			hopt.inc = inc;
			hopt.exc = exc;
			hopt.ninc = ninc;
			hopt.nexc = nexc;
			hopt.out = stdout;
			rc = show_history(&hopt);
			/* a bad instant or range: its message said, then the
			 * usage, as every usage error */
			if (rc == EXIT_USAGE)
				fputs(cmd_show_usage, stderr);
		}
	} else if (optind != argc - 1) {
		rc = usage_error(cmd_show_usage, optind >= argc ? "segment name is missing"
								: "too many arguments");
	} else if (interval && fmt != EXPORT_TEXT && fmt != EXPORT_JSON) {
		rc = usage_error(cmd_show_usage, "-i goes with text or --json, which print rates");
	} else {
		filter = (struct name_filter){ inc, ninc, exc, nexc };
		rc = show_segment(argv[optind], &filter, fmt, interval, per_process);
	}
	free(inc);
	free(exc);
	return rc;
}
