/*
 * watch.c - shmstat watch: a live view of a segment.
 *
 * Every interval: a snapshot, and per metric its value, its rate over
 * the interval, its average rates over the last 1, 5 and 15 minutes of
 * the watch and a sparkline of its recent rates; histograms with the
 * quantiles of what was recorded during the interval; for each pair
 * NAME_hits / NAME_misses (with _total or not, same labels) the hit
 * ratio since creation and over the same windows (watch_rows.c).
 *
 * Three forms: on a terminal a full-screen view (watch_tty.c); otherwise
 * a block of lines per interval with a column header, like vmstat; with
 * --lines one line per interval with a column per metric, like jstat.
 * A segment re-created under the watch is followed (and said so);
 * writers may come and go. A segment that does not exist is an error,
 * unless --wait: then it is waited for.
 */
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"
#include "timearg.h"
#include "watch.h"

const char cmd_watch_usage[] =
	"usage: shmstat watch [-i|--interval INTERVAL] [-n|--count COUNT]\n"
	"                     [-I GLOB]... [-X GLOB]... [--raw] [--wait]\n"
	"                     [--lines [-h N] [-t]] NAME\n"
	"  Show segment NAME live, every INTERVAL (a duration from 1ms to 1d,\n"
	"  default 1s; e.g. 500ms, 2s, 1m30s), COUNT times (default: until\n"
	"  stopped): per metric its value, its rate per second over the last\n"
	"  interval, its average rate over the last 1m, 5m and 15m of the\n"
	"  watch ('-' until watched that long) and a sparkline of its last 16\n"
	"  rates; histogram quantiles of the last interval; for metrics named\n"
	"  *hits* with a *misses* twin, the hit ratio since creation and over\n"
	"  the same windows. Figures are in each metric's unit; --raw prints\n"
	"  exact numbers.\n"
	"  On a terminal, a full-screen view: q quit, p pause, s sort,\n"
	"  / filter, up/down or j/k select a row (its type, unit, labels and\n"
	"  help below). Otherwise, a block of lines per interval under a\n"
	"  column header. --lines: one line per interval, a column per metric\n"
	"  (choose them with -I, -X): its rate (a gauge's value, a ratio over\n"
	"  the interval); -h N repeats the header every N lines, -t adds a\n"
	"  time column.\n"
	"  A segment that does not exist is an error; with --wait, watch\n"
	"  waits for it (the COUNT intervals include the wait).\n";

/* -i: a duration (timearg.h, as record --interval and show -i read
 * them) from 1ms (as record's) to 1d */
#define WATCH_INTERVAL_MIN 1000000ull
#define WATCH_INTERVAL_MAX 86400000000000ull

/* Sleep until @deadline (watch_now() seconds). */
static void sleep_until(double deadline)
{
	double d;

	while ((d = deadline - watch_now()) > 0) {
		struct timespec ts = { (time_t)d, (long)((d - floor(d)) * 1e9) };

		if (nanosleep(&ts, NULL) == 0)
			break;
	}
}

/* ------------------------------------------------------------ snapshots */

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
		watch_reset(w);
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

shmstat_snap *watch_take(struct source *src, struct watch *w, char *note, size_t nlen)
{
	shmstat_snap *s = take_raw(src, w, note, nlen);
	char raw[512];

	/* the note quotes library errors: made printable */
	snprintf(raw, sizeof(raw), "%s", note);
	text_safe(note, nlen, raw);
	return s;
}

/* An error that may pass by itself: a segment being made or rewritten
 * (not initialized yet, corrupted, truncated), memory short. */
static int transient(int err)
{
	return err == SHMSTAT_EBUSY || err == SHMSTAT_ECORRUPT || err == SHMSTAT_ETRUNCATED ||
	       err == ENOMEM;
}

/* Open the segment: at once, or with @wait every @interval while it does
 * not exist or is being made, *@count intervals at most (< 0: no limit;
 * the intervals waited are taken from it). EXIT_OK (src->r NULL after a
 * transient error: the first refresh says it and tries again) or EXIT_ERR
 * (said). */
static int open_source(struct source *src, int wait, double interval, long *count)
{
	double next = watch_now();
	int said = 0;

	for (;;) {
		int err = open_reader(src->name, &src->r);

		if (err == 0)
			return EXIT_OK;
		if (transient(err) && !(wait && err == SHMSTAT_EBUSY))
			return EXIT_OK;
		if (!wait || !(err == ENOENT || err == SHMSTAT_EBUSY || err == SHMSTAT_EFOREIGN) ||
		    (*count > 0 && --*count == 0))
			return die(EXIT_ERR, "%s", shmstat_last_error());
		if (!said) {
			if (err == ENOENT)
				warnf("waiting for segment '%s'", src->name);
			else
				warnf("waiting for segment '%s': %s", src->name, shmstat_last_error());
			said = 1;
		}
		next += interval;
		sleep_until(next);
	}
}

/* --------------------------------------------------------- block form */

static int imax(int a, int b)
{
	return a > b ? a : b;
}

/* The rows under a column header: NAME VALUE RATE 1m 5m 15m TREND, and a
 * histogram's quantiles. */
static void print_block(const struct watch *w, const struct row *rows, size_t nr)
{
	int wn = 4, wv = 5, wr = 4, wa[WINDOWS];
	struct line l;
	char **names;

	for (int j = 0; j < WINDOWS; j++)
		wa[j] = (int)strlen(watch_window_name[j]);
	for (size_t k = 0; k < nr; k++) {
		wn = imax(wn, cells(rows[k].name));
		wv = imax(wv, cells(rows[k].value));
		wr = imax(wr, cells(rows[k].rate));
		for (int j = 0; j < WINDOWS; j++)
			wa[j] = imax(wa[j], cells(rows[k].avg[j]));
	}
	wn = wn > 100 ? 100 : wn;
	line_init(&l, 2, 2);
	line_cell(&l, "NAME", wn, 0);
	line_cell(&l, "VALUE", wv, 1);
	line_cell(&l, "RATE", wr, 1);
	for (int j = 0; j < WINDOWS; j++)
		line_cell(&l, watch_window_name[j], wa[j], 1);
	line_cell(&l, "TREND", SPARK, 0);
	printf("%s\n", line_end(&l));
	/* names cut to wn, each told apart from the others (NULL: out of
	 * memory, each cut alone) */
	names = watch_names(rows, NULL, nr, wn);
	for (size_t k = 0; k < nr; k++) {
		const struct row *r = &rows[k];
		char name[WATCH_NAME_MAX + 8], sp[SPARK * 4 + 1];

		if (names == NULL)
			watch_name(name, sizeof(name), r, wn);
		watch_spark(sp, sizeof(sp), r, SPARK, w->utf8);
		line_init(&l, 2, 2);
		line_cell(&l, names ? names[k] : name, wn, 0);
		line_cell(&l, r->value, wv, 1);
		line_cell(&l, r->rate, wr, 1);
		for (int j = 0; j < WINDOWS; j++)
			line_cell(&l, r->avg[j], wa[j], 1);
		line_cell(&l, sp, SPARK, 0);
		line_cell(&l, r->detail, cells(r->detail), 0);
		printf("%s\n", line_end(&l));
	}
	watch_names_free(names, nr);
}

static int run_blocks(struct source *src, struct watch *w, double interval, long count)
{
	double next = watch_now();
	char note[512] = "";
	int shown = 0;

	for (long i = 0; count < 0 || i < count; i++) {
		char ts[32];
		struct shmstat_seg_info info;
		shmstat_snap *s;
		struct row *rows = NULL;
		size_t nr;

		if (ferror(stdout)) {   /* a full disk, a closed stdout: */
			shown = 1;      /* main() says so, and exits 1 */
			break;
		}
		if (i > 0)
			sleep_until(next += interval);
		watch_stamp(ts, sizeof(ts));
		s = watch_take(src, w, note, sizeof(note));
		if (note[0])
			printf("%s  %s\n", ts, note);
		if (s == NULL) {
			fflush(stdout);
			continue;
		}
		shmstat_snap_info(s, &info);
		printf("%s  %s%s  writers %u alive %u dead\n", ts, src->name,
		       info.removed ? " (removed: its last values)" : "", info.writers_alive,
		       info.writers_dead);
		nr = watch_rows(w, s, watch_now(), &rows);
		print_block(w, rows, nr);
		free(rows);
		shmstat_snap_free(s);
		fflush(stdout);
		shown = 1;
	}
	/* COUNT refreshes and not one snapshot: an error (the last one) */
	if (!shown)
		return die(EXIT_ERR, "%s", strncmp(note, "waiting: ", 9) == 0 ? note + 9 : note);
	return EXIT_OK;
}

/* -------------------------------------------------------- --lines form */

struct compact {
	long every;                /* -h N: a header every N lines (0: once) */
	int stamp;                 /* -t: a time column */
	char *cols;                /* the columns of the last header, \n each */
	long since;                /* lines since the header */
};

/* HH:MM:SS, and milliseconds when the interval is not whole seconds */
static void clock_of_day(char *buf, size_t n, double interval)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (localtime_r(&ts.tv_sec, &tm) == NULL || strftime(buf, n, "%H:%M:%S", &tm) == 0) {
		snprintf(buf, n, "-");
		return;
	}
	if (interval != floor(interval))
		snprintf(buf + strlen(buf), n - strlen(buf), ".%03ld", ts.tv_nsec / 1000000);
}

/* A column's width: its name's, and room for a figure */
static int col_width(const struct row *r)
{
	return imax(cells(r->name), 10);
}

/* A line of columns of any length (struct line holds 2 KiB: 79 columns
 * of 30,000 were shown, the rest dropped without a word): cell by cell
 * into @f, two spaces apart */
static void put_cell(FILE *f, const char *s, int width, int right)
{
	struct line l;

	line_init(&l, 0, 0);
	line_cell(&l, s, width, right);
	if (ftell(f) > 0)
		fputs("  ", f);
	fputs(l.buf, f);
}

/* @f's text, its trailing spaces dropped, on stdout; @f closed */
static void put_line(FILE *f, char **buf, size_t *len)
{
	if (fclose(f) != 0 || *buf == NULL)
		return;
	while (*len > 0 && (*buf)[*len - 1] == ' ')
		(*buf)[--*len] = '\0';
	printf("%s\n", *buf);
	free(*buf);
	*buf = NULL;
}

static void compact_line(struct compact *c, const struct row *rows, size_t nr, double interval)
{
	size_t len = 1, blen = 0;
	char *cols, t[32], *buf = NULL;
	FILE *f;

	for (size_t k = 0; k < nr; k++)
		len += strlen(rows[k].name) + 1;
	cols = malloc(len);
	if (cols == NULL)
		return;
	cols[0] = '\0';
	for (size_t k = 0, o = 0; k < nr; k++)
		o += (size_t)sprintf(cols + o, "%s\n", rows[k].name);
	/* a header at the start, every -h lines, and when metrics came or went */
	if (c->cols == NULL || strcmp(cols, c->cols) != 0 || (c->every && c->since == c->every)) {
		if ((f = open_memstream(&buf, &blen)) == NULL) {
			free(cols);
			return;
		}
		if (c->stamp)
			put_cell(f, "TIME", interval != floor(interval) ? 12 : 8, 0);
		for (size_t k = 0; k < nr; k++)
			put_cell(f, rows[k].name, col_width(&rows[k]), 1);
		put_line(f, &buf, &blen);
		c->since = 0;
	}
	free(c->cols);
	c->cols = cols;
	if ((f = open_memstream(&buf, &blen)) == NULL)
		return;
	if (c->stamp) {
		clock_of_day(t, sizeof(t), interval);
		put_cell(f, t, cells(t), 0);
	}
	for (size_t k = 0; k < nr; k++)
		put_cell(f, rows[k].last, col_width(&rows[k]), 1);
	put_line(f, &buf, &blen);
	c->since++;
}

static int run_compact(struct source *src, struct watch *w, double interval, long count,
		       struct compact *c)
{
	double next = watch_now();
	char note[512];
	int shown = 0, removed = 0;

	w->sort = SORT_NAME;
	w->no_windows = 1;              /* rates of the interval alone */
	for (long i = 0; count < 0 || i < count; i++) {
		shmstat_snap *s;
		struct row *rows = NULL;
		size_t nr;

		if (ferror(stdout)) {   /* a full disk, a closed stdout: */
			shown = 1;      /* main() says so, and exits 1 */
			break;
		}
		if (i > 0)
			sleep_until(next += interval);
		s = watch_take(src, w, note, sizeof(note));
		if (note[0])
			fprintf(stderr, "shmstat: %s\n", note);
		if (s == NULL)
			continue;
		{
			/* removed: said once on stderr, as the other forms say it
			 * on their first line (the lines went on quietly) */
			struct shmstat_seg_info info;

			shmstat_snap_info(s, &info);
			if (info.removed && !removed)
				warnf("segment '%s' was removed: its last values", src->name);
			removed = info.removed;
		}
		nr = watch_rows(w, s, watch_now(), &rows);
		compact_line(c, rows, nr, interval);
		free(rows);
		shmstat_snap_free(s);
		fflush(stdout);
		shown = 1;
	}
	free(c->cols);
	/* COUNT refreshes and not one snapshot: an error (said each time) */
	return shown ? EXIT_OK : EXIT_ERR;
}

/* ------------------------------------------------------------ command */

int cmd_watch(int argc, char **argv)
{
	static const char shortopts[] = ":i:n:I:X:h:t";
	char bad[64], why[128];
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },   /* as record's, show's */
		{ "count", required_argument, NULL, 'n' },      /* as record's */
		{ "raw", no_argument, NULL, 'r' },
		{ "lines", no_argument, NULL, 'l' },
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct watch w = { 0 };
	struct source src = { 0 };
	struct compact cp = { 0 };
	double interval = 1;
	uint64_t interval_ns;
	long count = -1;
	int c, lines = 0, wait = 0, rc = -1, header = 0;
	char *end;

	w.inc = calloc((size_t)argc, sizeof(*w.inc));
	w.exc = calloc((size_t)argc, sizeof(*w.exc));
	if (w.inc == NULL || w.exc == NULL) {
		free(w.inc);
		free(w.exc);
		return die(EXIT_ERR, "out of memory reading the arguments");
	}
	opterr = 0;
	while (rc < 0 && (c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_duration(optarg, &interval_ns) != 0 ||
			    interval_ns < WATCH_INTERVAL_MIN || interval_ns > WATCH_INTERVAL_MAX)
				rc = usage_error(cmd_watch_usage,
						 "interval '%s' is not a duration from 1ms to 1d",
						 optarg);
			else
				interval = (double)interval_ns / 1e9;
			break;
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || count < 1 || errno == ERANGE)
				rc = usage_error(cmd_watch_usage,
						 "count '%s' is not a positive number", optarg);
			break;
		case 'h':
			header = 1;
			errno = 0;
			cp.every = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || cp.every < 1 || errno == ERANGE)
				rc = usage_error(cmd_watch_usage,
						 "header repeat '%s' is not a positive number", optarg);
			break;
		case 't':
			cp.stamp = 1;
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
		case 'w':
			wait = 1;
			break;
		case ':':
			rc = usage_error(cmd_watch_usage, "option '%s' needs a value",
					 refused_option(bad, sizeof(bad), argv, shortopts, opts));
			break;
		default:
			rc = usage_error(cmd_watch_usage, "unknown option '%s'",
					 refused_option(bad, sizeof(bad), argv, shortopts, opts));
			break;
		}
	}
	if (rc >= 0) {
		/* a usage error, said */
	} else if (optind != argc - 1) {
		rc = usage_error(cmd_watch_usage, optind >= argc ? "segment name is missing"
								: "too many arguments");
	} else if ((header || cp.stamp) && !lines) {
		rc = usage_error(cmd_watch_usage, "-h and -t go with --lines");
	} else if (shmstat_valid_name(argv[optind]) != 0) {
		rc = die(EXIT_ERR, "%s", shmstat_last_error());
	} else {
		/* the user's locale for the terminal (UTF-8 sparklines), C's
		 * for numbers */
		(void)setlocale(LC_ALL, "");       /* none: the C locale stays */
		(void)setlocale(LC_NUMERIC, "C");
		w.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
		src.name = argv[optind];
		rc = open_source(&src, wait, interval, &count);
	}
	if (rc == EXIT_OK) {            /* the segment is open */
		if (lines)
			rc = run_compact(&src, &w, interval, count, &cp);
		else if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))
			rc = run_blocks(&src, &w, interval, count);
		else if (watch_tty_usable(why, sizeof(why)))
			rc = watch_tty(&src, &w, interval, count);
		else {
			warnf("%s: printing snapshots one after the other, as to a pipe", why);
			rc = run_blocks(&src, &w, interval, count);
		}
	}
	watch_free(&w);
	free(w.inc);
	free(w.exc);
	shmstat_reader_close(src.r);
	return rc;
}
