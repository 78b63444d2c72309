/*
 * watch.c - shmstat watch: a live view of a segment.
 *
 * Every interval: a snapshot, and per metric its value, its rate since the
 * last one, a sparkline of recent rates; histograms with the quantiles of
 * what was recorded during the interval (difference of two snapshots);
 * for each pair NAME_hits / NAME_misses (with _total or not, same labels)
 * the hit ratio over the last 1, 5 and 15 minutes of the watch. On a
 * terminal a full-screen view (ncurses; keys: q quit, p pause, s sort,
 * / filter); otherwise one block of lines per interval, like vmstat.
 * A segment re-created under the watch is followed (and said so); writers
 * may come and go.
 */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"

const char cmd_watch_usage[] =
	"usage: shmstat watch [-i INTERVAL] [-n COUNT] [-I GLOB]... [-X GLOB]... [--raw]\n"
	"                     [--lines] NAME\n"
	"  Show segment NAME live, every INTERVAL (default 1s; e.g. 500ms, 2s,\n"
	"  1m), COUNT times (default: until stopped): values, per-second rates\n"
	"  with a sparkline, hit ratios over the last 1m/5m/15m for metrics\n"
	"  named *hits* with a *misses* twin, and histogram quantiles of the\n"
	"  last interval. Full screen on a terminal (q quit, p pause, s sort,\n"
	"  / filter), lines otherwise or with --lines.\n";

#define SPARK 16
#define HISTORY 1024            /* samples kept per metric */

struct series {
	char key[400];             /* name{labels} */
	uint64_t reg_id;
	enum shmstat_type type;
	uint64_t val[HISTORY];     /* counter value or histogram count */
	double t[HISTORY];         /* seconds */
	unsigned n, head;          /* ring */
	double rates[SPARK];
	unsigned nrates;
	shmstat_hdata *prev;       /* histograms: last snapshot's copy */
	int seen;
};

struct watch {
	struct series *s;
	size_t n, cap;
	size_t hint;               /* where to look for the next series */
	int raw, sort;             /* sort: 0 name, 1 rate, 2 value */
	char **inc, **exc;
	size_t ninc, nexc;
	char filter[128];          /* tty filter, a glob ("" none) */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "1s", "500ms", "2", "1m" -> seconds; <= 0 on error */
static double parse_interval(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || !(v > 0))
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		return v;
	if (strcmp(end, "ms") == 0)
		return v / 1000;
	if (strcmp(end, "m") == 0)
		return v * 60;
	return -1;
}

static struct series *find_series(struct watch *w, const char *key, uint64_t reg_id,
				  enum shmstat_type type)
{
	/* metrics come in the same order every refresh: look where the last
	 * one was found first, then everywhere */
	for (size_t i = 0; i < w->n; i++) {
		size_t k = (w->hint + i) % w->n;

		if (strcmp(w->s[k].key, key) == 0) {
			w->hint = k + 1;
			if (w->s[k].reg_id != reg_id || w->s[k].type != type) {
				/* the metric was removed and made again */
				shmstat_hdata_free(w->s[k].prev);
				memset(&w->s[k], 0, sizeof(w->s[k]));
				snprintf(w->s[k].key, sizeof(w->s[k].key), "%s", key);
				w->s[k].reg_id = reg_id;
				w->s[k].type = type;
			}
			return &w->s[k];
		}
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct series *ns = realloc(w->s, cap * sizeof(*ns));

		if (ns == NULL)
			return NULL;
		w->s = ns;
		w->cap = cap;
	}
	memset(&w->s[w->n], 0, sizeof(w->s[w->n]));
	snprintf(w->s[w->n].key, sizeof(w->s[w->n].key), "%s", key);
	w->s[w->n].reg_id = reg_id;
	w->s[w->n].type = type;
	return &w->s[w->n++];
}

static void reset(struct watch *w)
{
	for (size_t k = 0; k < w->n; k++)
		shmstat_hdata_free(w->s[k].prev);
	w->n = 0;
}

static void push(struct series *s, uint64_t v, double t)
{
	if (s->n > 0) {
		unsigned last = (s->head + HISTORY - 1) % HISTORY;
		double dt = t - s->t[last];
		double r = dt > 0 && v >= s->val[last] ? (double)(v - s->val[last]) / dt : 0;

		if (s->nrates == SPARK)
			memmove(s->rates, s->rates + 1, (SPARK - 1) * sizeof(double));
		else
			s->nrates++;
		s->rates[s->nrates - 1] = r;
	}
	s->val[s->head] = v;
	s->t[s->head] = t;
	s->head = (s->head + 1) % HISTORY;
	if (s->n < HISTORY)
		s->n++;
}

/* Value @ago seconds before the newest sample (the oldest if the watch is
 * younger): *v, and the time span actually covered. */
static double back(const struct series *s, double ago, uint64_t *v)
{
	unsigned newest = (s->head + HISTORY - 1) % HISTORY;
	unsigned k = newest;

	for (unsigned i = 1; i < s->n; i++) {
		unsigned j = (newest + HISTORY - i) % HISTORY;

		k = j;
		if (s->t[newest] - s->t[j] >= ago)
			break;
	}
	*v = s->val[k];
	return s->t[newest] - s->t[k];
}

static void spark(char *buf, size_t n, const struct series *s)
{
	static const char *const bars[] = { "\u2581", "\u2582", "\u2583", "\u2584",
					    "\u2585", "\u2586", "\u2587", "\u2588" };
	double top = 0;
	size_t o = 0;

	for (unsigned i = 0; i < s->nrates; i++)
		if (s->rates[i] > top)
			top = s->rates[i];
	buf[0] = '\0';
	for (unsigned i = 0; i < s->nrates && o + 4 < n; i++) {
		int b = top > 0 ? (int)(s->rates[i] / top * 7.0 + 0.5) : 0;

		o += (size_t)snprintf(buf + o, n - o, "%s", bars[b < 0 ? 0 : b > 7 ? 7 : b]);
	}
}

static void fmt_rate(char *buf, size_t n, double r, int raw)
{
	static const char *const si[] = { "", "k", "M", "G", "T" };
	int u = 0;

	if (raw) {
		snprintf(buf, n, "%.0f/s", r);
		return;
	}
	while (r >= 1000 && u < 4) {
		r /= 1000;
		u++;
	}
	snprintf(buf, n, u ? "%.3g%s/s" : "%.3g/s", r, si[u]);
}

/* The twin of a hits metric: same name with "hits" -> "misses". */
/* Series ordered by metric name, then by full key, so that a name's label
 * sets are adjacent: the hit-ratio pairing looks up by bsearch. */
static int key_order(const char *a, const char *b)
{
	size_t la = strcspn(a, "{"), lb = strcspn(b, "{");
	int c = strncmp(a, b, la < lb ? la : lb);

	if (c == 0 && la != lb)
		return la < lb ? -1 : 1;
	return c ? c : strcmp(a, b);
}

static int by_key(const void *a, const void *b)
{
	return key_order((*(const struct series *const *)a)->key,
			 (*(const struct series *const *)b)->key);
}

/* First series of @idx[0..n-1] not before @key (by key_order). */
static size_t lower(const struct series *const *idx, size_t n, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_order(idx[mid]->key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The twin of a hits series: the same key with "hits" -> "misses" in its
 * name. */
static const struct series *twin(const struct series *const *idx, size_t n, const char *key)
{
	char k2[400];
	const char *h = strstr(key, "hits");
	size_t at;

	if (h == NULL || (size_t)(h - key) >= strcspn(key, "{"))
		return NULL;
	snprintf(k2, sizeof(k2), "%.*smisses%s", (int)(h - key), key, h + 4);
	at = lower(idx, n, k2);
	return at < n && strcmp(idx[at]->key, k2) == 0 ? idx[at] : NULL;
}

struct row {
	char text[768];
	double rate, value;
	size_t series;             /* index in watch.s (it may move: realloc) */
	int ratio;                 /* a hit-ratio row: after its series */
};

static int by_row(const void *a, const void *b, void *arg)
{
	const struct row *x = a, *y = b;
	const struct watch *w = arg;
	int c;

	if (w->sort == 1 && x->rate != y->rate)
		return x->rate < y->rate ? 1 : -1;
	if (w->sort == 2 && x->value != y->value)
		return x->value < y->value ? 1 : -1;
	c = strcmp(w->s[x->series].key, w->s[y->series].key);
	return c ? c : x->ratio - y->ratio;
}

/* "hit ratio  1m x%  5m y%  15m z%" over sums of @h[] and @m[] series. */
static void ratio_row(struct row *r, int width, size_t series, const char *label,
		      const struct series *const *h, size_t nh, const struct series *const *m,
		      size_t nm)
{
	static const double win[] = { 60, 300, 900 };
	char txt[200];
	size_t o = (size_t)snprintf(txt, sizeof(txt), "hit ratio");

	for (int j = 0; j < 3; j++) {
		double dh = 0, dm = 0;

		for (size_t k = 0; k < nh + nm; k++) {
			const struct series *x = k < nh ? h[k] : m[k - nh];
			uint64_t v0, v1 = x->val[(x->head + HISTORY - 1) % HISTORY];
			double d;

			back(x, win[j], &v0);
			d = v1 >= v0 ? (double)(v1 - v0) : 0;
			if (k < nh)
				dh += d;
			else
				dm += d;
		}
		if (dh + dm > 0)
			o += (size_t)snprintf(txt + o, sizeof(txt) - o, "  %gm %.1f%%", win[j] / 60,
					      100 * dh / (dh + dm));
		else
			o += (size_t)snprintf(txt + o, sizeof(txt) - o, "  %gm -", win[j] / 60);
	}
	snprintf(r->text, sizeof(r->text), "%-*s %s", width, label, txt);
	r->series = series;
	r->ratio = 1;
	r->rate = -1;
}

/* One snapshot: update the series and produce the rows. */
static size_t make_rows(struct watch *w, const shmstat_snap *s, double t, struct row **rows)
{
	size_t n = shmstat_snap_metrics(s), nr = 0, *order = metrics_sorted(s, n);
	int width = 24;
	struct row *r = calloc(n ? 3 * n : 1, sizeof(*r));

	*rows = r;
	if (order == NULL || r == NULL) {
		free(order);
		return 0;
	}
	for (size_t k = 0; k < w->n; k++)
		w->s[k].seen = 0;
	/* the name column fits the longest name shown (within reason) */
	for (size_t k = 0; k < n; k++) {
		struct shmstat_metric_info m;
		char key[400];

		shmstat_snap_metric(s, order[k], &m);
		fmt_metric(key, sizeof(key), m.name, m.labels);
		if (metric_wanted(&m, w->inc, w->ninc, w->exc, w->nexc) && (int)strlen(key) > width)
			width = strlen(key) < 100 ? (int)strlen(key) : 100;
	}
	for (size_t k = 0; k < n; k++) {
		struct shmstat_metric_info m;
		struct series *se;
		char key[400], rate[32], sp[SPARK * 4 + 1], extra[200] = "";
		uint64_t v = 0;

		shmstat_snap_metric(s, order[k], &m);
		if (!metric_wanted(&m, w->inc, w->ninc, w->exc, w->nexc))
			continue;
		fmt_metric(key, sizeof(key), m.name, m.labels);
		if (w->filter[0] && !strstr(key, w->filter))
			continue;
		se = find_series(w, key, m.reg_id, m.type);
		if (se == NULL)
			continue;
		se->seen = 1;
		if (m.type == SHMSTAT_GAUGE) {
			snprintf(r[nr].text, sizeof(r[nr].text), "%-*s %14s", width, key,
				 m.has_value ? "" : "-");
			if (m.has_value)
				snprintf(r[nr].text, sizeof(r[nr].text), "%-*s %14lld", width, key,
					 (long long)m.gauge);
			r[nr].value = (double)m.gauge;
			r[nr].series = (size_t)(se - w->s);
			nr++;
			continue;
		}
		v = m.counter;          /* counters, histogram counts, table hits */
		if (m.type == SHMSTAT_HISTOGRAM) {
			shmstat_hdata *h = NULL, *d = NULL;

			if (shmstat_snap_hist(s, order[k], SHMSTAT_PROC_ALL, &h) == 0 && se->prev &&
			    shmstat_hdata_sub(h, se->prev, &d) == 0) {
				static const double q[] = { 0.5, 0.95, 0.99 };
				uint64_t out[3];
				char a[32], b[32], c[32];
				const char *unit = w->raw ? NULL : m.unit;

				if (shmstat_hdata_quantiles(d, q, 3, out) == 0) {
					fmt_hvalue(a, sizeof(a), out[0], unit);
					fmt_hvalue(b, sizeof(b), out[1], unit);
					fmt_hvalue(c, sizeof(c), out[2], unit);
					snprintf(extra, sizeof(extra), "  p50 %s p95 %s p99 %s", a, b, c);
				}
			}
			shmstat_hdata_free(d);
			shmstat_hdata_free(se->prev);
			se->prev = h;
		}
		push(se, v, t);
		if (se->nrates)
			fmt_rate(rate, sizeof(rate), se->rates[se->nrates - 1], w->raw);
		else
			snprintf(rate, sizeof(rate), "-");      /* one sample yet */
		spark(sp, sizeof(sp), se);
		snprintf(r[nr].text, sizeof(r[nr].text), "%-*s %14llu %12s %s%s", width, key,
			 (unsigned long long)v, rate, sp, extra);
		r[nr].rate = se->nrates ? se->rates[se->nrates - 1] : 0;
		r[nr].value = (double)v;
		r[nr].series = (size_t)(se - w->s);
		nr++;
	}
	/* hit ratios, after the series are up to date: for each hits series
	 * with a misses twin (same labels), and for each hits name whose
	 * label sets have no twins, over all its label sets */
	{
		const struct series **idx = malloc((w->n ? w->n : 1) * sizeof(struct series *));
		size_t ns = 0;

		for (size_t k = 0; idx && k < w->n; k++)
			if (w->s[k].seen && w->s[k].n > 0)
				idx[ns++] = &w->s[k];
		if (idx)
			qsort(idx, ns, sizeof(struct series *), by_key);
		for (size_t k = 0; idx && k < ns;) {
			size_t len = strcspn(idx[k]->key, "{"), end = k, paired = 0;
			const char *hit = strstr(idx[k]->key, "hits");

			while (end < ns && strcspn(idx[end]->key, "{") == len &&
			       strncmp(idx[end]->key, idx[k]->key, len) == 0)
				end++;          /* [k, end): one name's label sets */
			for (size_t j = k; hit && (size_t)(hit - idx[k]->key) < len && j < end; j++) {
				const struct series *mi = twin(idx, ns, idx[j]->key);

				if (mi == NULL)
					continue;
				ratio_row(&r[nr++], width, (size_t)(idx[j] - w->s), idx[j]->key,
					  &idx[j], 1, &mi, 1);
				paired++;
			}
			if (hit && (size_t)(hit - idx[k]->key) < len && paired < end - k) {
				char mname[400], label[420];
				size_t m0, m1;

				snprintf(mname, sizeof(mname), "%.*smisses%.*s",
					 (int)(hit - idx[k]->key), idx[k]->key,
					 (int)(len - (size_t)(hit - idx[k]->key) - 4), hit + 4);
				m0 = m1 = lower(idx, ns, mname);
				while (m1 < ns && strcspn(idx[m1]->key, "{") == strlen(mname) &&
				       strncmp(idx[m1]->key, mname, strlen(mname)) == 0)
					m1++;
				if (m1 > m0) {
					snprintf(label, sizeof(label), "%.*s{*}", (int)len, idx[k]->key);
					ratio_row(&r[nr++], width, (size_t)(idx[k] - w->s), label,
						  &idx[k], end - k,
						  &idx[m0], m1 - m0);
				}
			}
			k = end;
		}
		free(idx);
	}
	qsort_r(r, nr, sizeof(*r), by_row, w);
	free(order);
	return nr;
}

/* ---------------------------------------------------------------- loop */

struct source {
	const char *name;
	shmstat_reader *r;
};

/* A snapshot, following a re-created segment; NULL (and a note) when
 * there is none now. */
static shmstat_snap *take_raw(struct source *src, struct watch *w, char *note, size_t nlen)
{
	shmstat_snap *s = NULL;
	int err;

	note[0] = '\0';
	if (src->r == NULL && open_reader(src->name, &src->r) != 0) {
		snprintf(note, nlen, "waiting: %s", shmstat_last_error());
		return NULL;
	}
	err = shmstat_snapshot(src->r, &s);
	if (err == SHMSTAT_ERECREATED) {
		snprintf(note, nlen, "segment '%s' was re-created: following the new one",
			 src->name);
		shmstat_reader_close(src->r);
		src->r = NULL;
		reset(w);
		if (open_reader(src->name, &src->r) != 0 ||
		    shmstat_snapshot(src->r, &s) != 0)
			return NULL;
		return s;
	}
	if (err) {
		snprintf(note, nlen, "%s", shmstat_last_error());
		return NULL;
	}
	return s;
}

/* take_raw(), its note (which quotes library errors) made printable */
static shmstat_snap *take(struct source *src, struct watch *w, char *note, size_t nlen)
{
	shmstat_snap *s = take_raw(src, w, note, nlen);
	char raw[512];

	snprintf(raw, sizeof(raw), "%s", note);
	text_safe(note, nlen, raw);
	return s;
}

static void stamp(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, n, "-");
}

static int run_lines(struct source *src, struct watch *w, double interval, long count)
{
	for (long i = 0; count < 0 || i < count; i++) {
		char note[512], ts[32];
		struct shmstat_seg_info info;
		shmstat_snap *s;
		struct row *rows = NULL;
		size_t nr;

		if (i > 0)
			nanosleep(&(struct timespec){ (time_t)interval,
						      (long)((interval - floor(interval)) * 1e9) }, NULL);
		stamp(ts, sizeof(ts));
		s = take(src, w, note, sizeof(note));
		if (note[0])
			printf("%s  %s\n", ts, note);
		if (s == NULL) {
			fflush(stdout);
			continue;
		}
		shmstat_snap_info(s, &info);
		printf("%s  %s  writers %u alive %u dead\n", ts, src->name, info.writers_alive,
		       info.writers_dead);
		nr = make_rows(w, s, now_s(), &rows);
		for (size_t k = 0; k < nr; k++)
			printf("  %s\n", rows[k].text);
		free(rows);
		shmstat_snap_free(s);
		fflush(stdout);
	}
	return EXIT_OK;
}

static int run_tty(struct source *src, struct watch *w, double interval, long count)
{
	static const char *const sorts[] = { "name", "rate", "value" };
	int paused = 0;

	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout((int)(interval * 1000));
	for (long i = 0; count < 0 || i < count;) {
		char note[512] = "", ts[32];
		shmstat_snap *s = NULL;
		struct row *rows = NULL;
		size_t nr;
		int ch;

		if (!paused) {
			s = take(src, w, note, sizeof(note));
			i++;
		}
		if (s) {
			stamp(ts, sizeof(ts));
			erase();
			mvprintw(0, 0, "%s  %s  sort: %s%s%s  (q quit, p pause, s sort, / filter)",
				 ts, src->name, sorts[w->sort], w->filter[0] ? "  filter: " : "",
				 w->filter);
			if (note[0])
				mvprintw(1, 0, "%s", note);
			nr = make_rows(w, s, now_s(), &rows);
			for (size_t k = 0; k < nr && (int)k + 2 < LINES; k++)
				mvprintw((int)k + 2, 0, "%.*s", COLS, rows[k].text);
			free(rows);
			shmstat_snap_free(s);
			refresh();
		} else if (note[0]) {
			mvprintw(1, 0, "%s", note);
			clrtoeol();
			refresh();
		}
		ch = getch();
		if (ch == 'q')
			break;
		if (ch == 'p' || ch == ' ')
			paused = !paused;
		if (ch == 's')
			w->sort = (w->sort + 1) % 3;
		if (ch == '/') {
			echo();
			curs_set(1);
			timeout(-1);
			mvprintw(LINES - 1, 0, "filter (substring, empty for none): ");
			clrtoeol();
			getnstr(w->filter, sizeof(w->filter) - 1);
			noecho();
			curs_set(0);
			timeout((int)(interval * 1000));
		}
	}
	endwin();
	return EXIT_OK;
}

int cmd_watch(int argc, char **argv)
{
	static const char shortopts[] = ":i:n:I:X:";
	char bad[64];
	static const struct option opts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "lines", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct watch w = { 0 };
	struct source src = { 0 };
	double interval = 1;
	long count = -1;
	int c, lines = 0, rc;
	char *end;

	w.inc = calloc((size_t)argc, sizeof(*w.inc));
	w.exc = calloc((size_t)argc, sizeof(*w.exc));
	if (w.inc == NULL || w.exc == NULL) {
		free(w.inc);
		free(w.exc);
		return die(EXIT_ERR, "out of memory");
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		rc = -1;
		switch (c) {
		case 'i':
			interval = parse_interval(optarg);
			if (interval <= 0 || interval > 86400)
				rc = usage_error(cmd_watch_usage,
						 "interval '%s' is not a duration like 1s, 500ms, 1m",
						 optarg);
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || count < 1)
				rc = usage_error(cmd_watch_usage,
						 "count '%s' is not a positive number", optarg);
			break;
		case 'I': case 'X':
			if (!glob_valid(optarg))
				rc = usage_error(cmd_watch_usage, "glob '%s' is not valid", optarg);
			else if (c == 'I')
				w.inc[w.ninc++] = optarg;
			else
				w.exc[w.nexc++] = optarg;
			break;
		case 'r':
			w.raw = 1;
			break;
		case 'l':
			lines = 1;
			break;
		case ':':
			rc = usage_error(cmd_watch_usage, "option '%s' needs a value", refused_option(bad, sizeof(bad), argv, shortopts, opts));
			break;
		default:
			rc = usage_error(cmd_watch_usage, "unknown option '%s'", refused_option(bad, sizeof(bad), argv, shortopts, opts));
			break;
		}
		if (rc >= 0) {
			free(w.inc);
			free(w.exc);
			return rc;
		}
	}
	if (optind != argc - 1) {
		free(w.inc);
		free(w.exc);
		return usage_error(cmd_watch_usage, optind >= argc ? "segment name is missing"
							       : "too many arguments");
	}
	src.name = argv[optind];
	if (shmstat_valid_name(src.name) != 0) {
		free(w.inc);
		free(w.exc);
		return die(EXIT_ERR, "%s", shmstat_last_error());
	}
	if (!lines && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO))
		rc = run_tty(&src, &w, interval, count);
	else
		rc = run_lines(&src, &w, interval, count);
	reset(&w);
	free(w.s);
	free(w.inc);
	free(w.exc);
	shmstat_reader_close(src.r);
	return rc;
}
