/*
 * top.c - shmstat top: the most reused signatures of a table.
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"
#include "export.h"
#include "histq.h"
#include "show_hist.h"
#include "timearg.h"
#include "units.h"

const char cmd_top_usage[] =
	"usage: shmstat top [-n N] [--by hits|weight|recent|upper] [--owner OWNER]\n"
	"                   [--high-value HITS] [--raw] [--json] NAME [TABLE]\n"
	"       shmstat top --history FILE [--window DURATION] [--at INSTANT]\n"
	"                   [-n N] [--owner OWNER] [--high-value HITS] [--raw] [TABLE]\n"
	"  Print the top N (default 20) signatures of each signature table of\n"
	"  segment NAME (or of TABLE only), ranked by guaranteed hits (hits no\n"
	"  error can take away; --by upper: by the most they may be): hits,\n"
	"  the error (the true count lies in [HITS, HITS + ERROR]), misses,\n"
	"  hit ratio, weight (in the table's unit), first and last seen, owner,\n"
	"  and the key, whole up to the table's key bytes (when cut, its\n"
	"  prefix, '...' and its hash: '... (hash H)'). '*' marks a high-value\n"
	"  key (guaranteed hits >= HITS, default 3); 'x' a key idle longer than\n"
	"  the table's TTL. The head line says how many events the table saw\n"
	"  and the most any key's count can be off. Then the totals per owner\n"
	"  (exact). Counts print as 148k, 2.56M; --raw prints exact integers.\n"
	"  --json: schema shmstat.top/1, as serve's /api/v1/top answers.\n"
	"  With --history, over the window (default 1h) ending at INSTANT\n"
	"  (default now) of a history file (shmstat record): each table's\n"
	"  hits, misses, hit ratio and weight in the window, the same per\n"
	"  owner (the cost per account, exact), and the N keys (default 20)\n"
	"  that gained the most hits, as bounds from the records' top keys.\n"
	"  An OWNER no table shown has is an error (exit 1).\n";

static int raw;                 /* --raw: exact integers */

static void fmt_ago(char *buf, size_t n, uint64_t now, uint64_t t)
{
	uint64_t s;

	if (t == 0 || t > now) {
		snprintf(buf, n, "now");
		return;
	}
	s = (now - t) / 1000000000u;
	if (s < 60)
		snprintf(buf, n, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, n, "%llum", (unsigned long long)s / 60);
	else if (s < 86400)
		snprintf(buf, n, "%lluh", (unsigned long long)s / 3600);
	else
		snprintf(buf, n, "%llud", (unsigned long long)s / 86400);
}

/* The width of an OWNER column at least @min wide that holds owner @name
 * as printed (its escapes make it up to 4 times its bytes, 220 columns
 * for 55 bytes): every row's columns then line up, whatever the owners */
static int owner_width(int min, const char *name)
{
	char own[512];
	const int l = name[0] ? text_cols(own, strlen(owner_safe(own, sizeof(own), name))) : 1;

	return l > min ? l : min;
}

/* Owner @name as printed ("-": none) in @buf, padded to @width columns
 * (printf's %-*s pads to bytes) */
static const char *owner_cell(char *buf, size_t n, const char *name, int width)
{
	size_t o;
	int c;

	if (name[0])
		owner_safe(buf, n, name);
	else
		snprintf(buf, n, "-");
	o = strlen(buf);
	for (c = text_cols(buf, o); c < width && o + 1 < n; c++)
		buf[o++] = ' ';
	buf[o] = '\0';
	return buf;
}

/* Figures' columns: each as wide as its header's default width, or its
 * widest value (--raw: counts near 2^64 take 20 columns, a hit ratio
 * 0.8333333333 12): a wider value pushed every column after it right. */
static void widen(int *w, const char *s)
{
	int l = (int)strlen(s);

	*w = l > *w ? l : *w;
}

/* An entry's HITS, +ERROR, MISSES, HIT_RATIO, WEIGHT */
static void entry_figs(const struct shmstat_sigentry *e, const char *unit, char f[5][FIG_LEN])
{
	fmt_fig_u64(f[0], FIG_LEN, e->hits - e->err_hits, NULL, raw);
	fmt_fig_u64(f[1], FIG_LEN, e->err_hits, NULL, raw);
	fmt_fig_u64(f[2], FIG_LEN, e->misses - e->err_misses, NULL, raw);
	fmt_ratio(f[3], FIG_LEN, e->hit_rate, raw);
	fmt_fig_u64(f[4], FIG_LEN, e->weight - e->err_weight, unit, raw);
}

/* An owner's HITS, MISSES, HIT_RATIO, WEIGHT */
static void owner_figs(const struct shmstat_sigowner_info *o, const char *unit, char f[4][FIG_LEN])
{
	uint64_t ev = o->hits + o->misses;

	fmt_fig_u64(f[0], FIG_LEN, o->hits, NULL, raw);
	fmt_fig_u64(f[1], FIG_LEN, o->misses, NULL, raw);
	fmt_ratio(f[2], FIG_LEN, ev ? (double)o->hits / (double)ev : NAN, raw);
	fmt_fig_u64(f[3], FIG_LEN, o->weight, unit, raw);
}

static int print_table(FILE *out, const shmstat_snap *s, size_t i,
		       const struct shmstat_metric_info *m, enum shmstat_sig_order by,
		       const char *owner, size_t n, uint64_t hv, int *owner_seen)
{
	struct shmstat_seg_info info;
	struct shmstat_sigstats st;
	shmstat_sigview *v;
	size_t *idx, got;
	int ow = 12, cw[5] = { 10, 8, 10, 9, 12 }, ocw[4] = { 10, 10, 9, 12 };
	char name[METRIC_TEXT_MAX], own[256], fe[FIG_LEN], fh[FIG_LEN], fm[FIG_LEN], fw[FIG_LEN],
	     fx[FIG_LEN], f[5][FIG_LEN];

	if (shmstat_snap_sigtab(s, i, &v) != 0)
		return die(EXIT_ERR, "out of memory reading signature table '%s'", m->name);
	if (owner == NULL || owner[0] == '\0')
		*owner_seen = 1;
	shmstat_snap_info(s, &info);
	shmstat_sigview_stats(v, &st);
	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (idx == NULL) {
		shmstat_sigview_free(v);
		return die(EXIT_ERR, "out of memory listing the keys of signature table '%s'",
			   m->name);
	}
	got = shmstat_sigview_top(v, by, owner, n, idx);
	fmt_metric(name, sizeof(name), m->name, m->labels);
	fmt_fig_u64(fe, sizeof(fe), st.events, NULL, raw);
	fmt_fig_u64(fh, sizeof(fh), st.hits, NULL, raw);
	fmt_fig_u64(fm, sizeof(fm), st.misses, NULL, raw);
	fmt_fig_u64(fw, sizeof(fw), st.weight, m->unit, raw);
	fmt_fig_u64(fx, sizeof(fx), st.evictions, NULL, raw);
	fprintf(out, "%s: %u keys, %s events (%s hits, %s misses), weight %s, %s evictions; %u summar%s of %u keys",
	       name, st.used, fe, fh, fm, fw, fx, st.summaries, st.summaries == 1 ? "y" : "ies",
	       st.capacity);
	if (st.filtered) {
		fmt_fig_u64(fx, sizeof(fx), st.filtered, NULL, raw);
		fprintf(out, ", %s events kept out by the admission filter", fx);
	}
	if (st.unsummarized)
		fprintf(out, ", %llu events unsummarized (no summary free)",
		       (unsigned long long)st.unsummarized);
	if (st.skipped)
		fprintf(out, ", %u entries skipped (being rewritten)", st.skipped);
	fprintf(out, "\n");
	/* the bound names what it adds up: unsummarized events widen it */
	if (st.max_error)
		fprintf(out, "  counts are guaranteed, the truth at most +ERROR more; no key, listed or not, is off by more than %llu events (bound: events / capacity%s = %llu)\n",
		       (unsigned long long)st.max_error, st.unsummarized ? " + unsummarized" : "",
		       (unsigned long long)st.error_bound);
	else
		fprintf(out, "  every count is exact\n");
	for (size_t k = 0; k < got; k++) {
		struct shmstat_sigentry e;

		shmstat_sigview_entry(v, idx[k], &e);
		ow = owner_width(ow, e.owner);
		entry_figs(&e, m->unit, f);
		for (int j = 0; j < 5; j++)
			widen(&cw[j], f[j]);
	}
	fprintf(out, "   %*s %*s %*s %*s %*s %6s %6s  %-*s %s\n", cw[0], "HITS", cw[1], "+ERROR",
		cw[2], "MISSES", cw[3], "HIT_RATIO", cw[4], "WEIGHT", "FIRST", "LAST", ow, "OWNER",
		"KEY");
	for (size_t k = 0; k < got; k++) {
		struct shmstat_sigentry e;
		char key[SHMSTAT_SIG_KEY_SHOW], first[16], last[16];

		shmstat_sigview_entry(v, idx[k], &e);
		/* a key known by its hash alone: its length, not its bytes */
		fmt_sigkey(key, sizeof(key), e.key, e.has_key ? e.key_len : 0,
			   e.has_key ? e.full_len : 1, e.hash);
		fmt_ago(first, sizeof(first), info.taken_ns, e.first_ns);
		fmt_ago(last, sizeof(last), info.taken_ns, e.last_ns);
		entry_figs(&e, m->unit, f);
		fprintf(out, " %c%c%*s %*s %*s %*s %*s %6s %6s  %s %s\n",
			e.hits - e.err_hits >= hv ? '*' : ' ', e.expired ? 'x' : ' ', cw[0], f[0],
			cw[1], f[1], cw[2], f[2], cw[3], f[3], cw[4], f[4], first, last,
			owner_cell(own, sizeof(own), e.owner, ow), key);
	}
	if (shmstat_sigview_owners(v)) {
		ow = 36;
		for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
			struct shmstat_sigowner_info o;

			shmstat_sigview_owner(v, k, &o);
			if (owner != NULL && strcmp(owner, o.name) != 0)
				continue;
			ow = owner_width(ow, o.name);
			owner_figs(&o, m->unit, f);
			for (int j = 0; j < 4; j++)
				widen(&ocw[j], f[j]);
		}
		fprintf(out, "\n   %-*s %*s %*s %*s %*s\n", ow, "OWNER", ocw[0], "HITS", ocw[1],
			"MISSES", ocw[2], "HIT_RATIO", ocw[3], "WEIGHT");
		for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
			struct shmstat_sigowner_info o;

			shmstat_sigview_owner(v, k, &o);
			if (owner && strcmp(owner, o.name) != 0)
				continue;
			*owner_seen = 1;
			owner_figs(&o, m->unit, f);
			fprintf(out, "   %s %*s %*s %*s %*s\n",
				owner_cell(own, sizeof(own), o.name, ow), ocw[0], f[0],
				ocw[1], f[1], ocw[2], f[2], ocw[3], f[3]);
		}
	}
	free(idx);
	shmstat_sigview_free(v);
	return EXIT_OK;
}

static const enum shmstat_figure table_figs[] = {
	SHMSTAT_FIG_SIG_HITS, SHMSTAT_FIG_SIG_MISSES, SHMSTAT_FIG_SIG_HIT_RATE,
	SHMSTAT_FIG_SIG_WEIGHT,
};

/* Owner @k of table series @li of frame @last into @oi: 1 if top
 * --history shows it (named, and the one --owner asks for). */
static int owner_shown(const shmstat_frame *last, long li, size_t k, const char *owner,
		       struct shmstat_sigowner_info *oi)
{
	return li >= 0 && shmstat_frame_sigowner(last, (size_t)li, k, oi) == 0 && oi->name[0] &&
	       (owner == NULL || strcmp(owner, oi->name) == 0);
}

/* The queries of table series @s of frame @last over [@from, @to]: its 4
 * figures, then 4 of each owner shown, into @q (NULL: only counted);
 * how many. */
static size_t table_queries(const shmstat_frame *last, const struct shmstat_series *s,
			    uint64_t from, uint64_t to, const char *owner, struct shmstat_wrange *q)
{
	long li = last ? shmstat_frame_find(last, s->name, s->labels) : -1;
	struct shmstat_sigowner_info oi;
	size_t n = 0;

	for (size_t k = 0; k <= s->owners; k++) {
		if (k > 0 && !owner_shown(last, li, k - 1, owner, &oi))
			continue;
		for (int j = 0; j < 4; j++, n++) {
			if (q == NULL)
				continue;
			memset(&q[n], 0, sizeof(q[n]));
			q[n].qy = (struct shmstat_wquery){ .name = s->name, .labels = s->labels,
							   .exact = 1, .fig = table_figs[j],
							   .owner = k > 0 ? oi.name : NULL };
			q[n].from_ns = from;
			q[n].to_ns = to;
		}
	}
	return n;
}

/* The head line of table series @s over the window: its figures @v */
static void table_figures(const struct shmstat_series *s, const struct shmstat_wvalue *v)
{
	char full[METRIC_TEXT_MAX], c[4][FIG_LEN];

	for (int k = 0; k < 4; k++) {
		fmt_figure(c[k], sizeof(c[k]), table_figs[k], v[k].value, s->unit, raw);
		if (!v[k].has_value)
			snprintf(c[k], sizeof(c[k]), "-");
	}
	fmt_metric(full, sizeof(full), s->name, s->labels);
	printf("%s: %s hits, %s misses, hit ratio %s, weight %s", full, c[0], c[1], c[2], c[3]);
	if (!v[0].has_value)
		printf(" (%s)", v[0].why ? v[0].why : "no data");
	printf("\n");
}

/* An owner's figures over the window, @v its 4: "-" where there is none */
static void owner_wfigs(const struct shmstat_wvalue *v, const char *unit, char c[4][FIG_LEN])
{
	for (int j = 0; j < 4; j++) {
		if (!v[j].has_value)
			snprintf(c[j], FIG_LEN, "-");
		else
			fmt_figure(c[j], FIG_LEN, table_figs[j], v[j].value, unit, raw);
	}
}

/* A window key's "+LO" and "+HI" */
static void key_figs(const struct wkey *k, char lo[FIG_LEN], char hi[FIG_LEN])
{
	lo[0] = hi[0] = '+';
	fmt_fig_u64(lo + 1, FIG_LEN - 1, k->lo, NULL, raw);
	fmt_fig_u64(hi + 1, FIG_LEN - 1, k->hi, NULL, raw);
}

/* One table series @s over the window: its figures @v (table_queries()),
 * the keys from the window's first and last frames @fr. */
static void history_table(const struct frames *fr, const struct shmstat_series *s,
			  const struct shmstat_wvalue *v, const char *owner, size_t n, uint64_t hv)
{
	const shmstat_frame *last = fr->f[fr->n - 1];
	long li = shmstat_frame_find(last, s->name, s->labels);
	char c[4][FIG_LEN], own[256];
	static struct wkey w[SHMSTAT_HISTORY_MAX_TOP];
	size_t nk;
	int ow = 36, ocw[4] = { 10, 10, 9, 12 }, kw[2] = { 10, 10 };

	table_figures(s, v);
	if (li >= 0 && s->owners) {
		const struct shmstat_wvalue *ov = v;

		for (size_t k = 0; k < s->owners; k++) {
			struct shmstat_sigowner_info oi;

			if (!owner_shown(last, li, k, owner, &oi))
				continue;
			ow = owner_width(ow, oi.name);
			ov += 4;
			owner_wfigs(ov, s->unit, c);
			for (int j = 0; j < 4; j++)
				widen(&ocw[j], c[j]);
		}
		printf("   %-*s %*s %*s %*s %*s\n", ow, "OWNER", ocw[0], "HITS", ocw[1], "MISSES",
		       ocw[2], "HIT_RATIO", ocw[3], "WEIGHT");
		for (size_t k = 0; k < s->owners; k++) {
			struct shmstat_sigowner_info oi;

			if (!owner_shown(last, li, k, owner, &oi))
				continue;
			v += 4;
			owner_wfigs(v, s->unit, c);
			printf("   %s %*s %*s %*s %*s\n", owner_cell(own, sizeof(own), oi.name, ow),
			       ocw[0], c[0], ocw[1], c[1], ocw[2], c[2], ocw[3], c[3]);
		}
	}
	if (fr->n < 2)
		return;
	nk = window_keys_of(fr, s, w, SHMSTAT_HISTORY_MAX_TOP);
	ow = 12;
	for (size_t k = 0, shown = 0; k < nk && shown < n; k++) {
		if (owner == NULL || strcmp(owner, w[k].k.owner) == 0) {
			shown++;
			ow = owner_width(ow, w[k].k.owner);
			key_figs(&w[k], c[0], c[1]);
			widen(&kw[0], c[0]);
			widen(&kw[1], c[1]);
		}
	}
	/* over the rows' mark and their two figures */
	printf("  %*s %*s  %-*s %s\n", kw[0], "HITS", kw[1], "AT_MOST", ow, "OWNER", "KEY");
	for (size_t k = 0, shown = 0; k < nk && shown < n; k++) {
		char key[SHMSTAT_SIG_KEY_SHOW];

		if (owner && strcmp(owner, w[k].k.owner) != 0)
			continue;
		shown++;
		fmt_sigkey(key, sizeof(key), w[k].k.key, w[k].k.key_len, w[k].k.full_len,
			   w[k].k.hash);
		key_figs(&w[k], c[0], c[1]);
		printf(" %c%*s %*s  %s %s\n", w[k].lo >= hv ? '*' : ' ', kw[0], c[0], kw[1], c[1],
		       owner_cell(own, sizeof(own), w[k].k.owner, ow), key);
	}
}

/* Does top --history look at series @name of @type? (@table: the one
 * asked for, or NULL: every table) */
static int keep_table(void *table, const char *name, const char *labels, enum shmstat_type type)
{
	(void)labels;
	return type == SHMSTAT_SIGTABLE && (table == NULL || strcmp(name, (const char *)table) == 0);
}

/* The tables of a window: @table's (NULL: all); those its last record
 * @last does not hold (a table removed, or its segment made again and
 * the table not registered yet) noted in @x */
struct window_tables {
	const char *table;
	const shmstat_frame *last;
	struct series_set x;
};

static int keep_noting(void *arg, const char *name, const char *labels, enum shmstat_type type)
{
	struct window_tables *wt = arg;

	if (!keep_table((void *)wt->table, name, labels, type))
		return 0;
	if (wt->last == NULL || shmstat_frame_find(wt->last, name, labels) < 0)
		series_set_add(&wt->x, name, labels, type);
	return 1;
}

/* A table's 4 figures without its owners (table_queries()), by its key */
static size_t key_queries(const struct series_key *k, uint64_t from, uint64_t to,
			  struct shmstat_wrange *q)
{
	const struct shmstat_series s = { .name = k->name, .labels = k->labels, .owners = 0 };

	return table_queries(NULL, &s, from, to, NULL, q);
}

/* Is series @i of @f one top --history shows? (into @s) */
static int table_shown(const shmstat_frame *f, size_t i, const char *table,
		       struct shmstat_series *s)
{
	return shmstat_frame_series(f, i, s) == 0 && s->type == SHMSTAT_SIGTABLE &&
	       (table == NULL || strcmp(s->name, table) == 0);
}

/* The tables of the last record at or before @t (the window's last when
 * it has one) into *@f, *@n of them (free them): the last of them. NULL:
 * none (or an error, said in shmstat_last_error()). */
static shmstat_frame *tables_at(shmstat_history *h, uint64_t t, const char *table,
				shmstat_frame ***f, size_t *n)
{
	if (shmstat_history_window_select(h, t, t, keep_table, (void *)table, f, n) != 0 ||
	    *n == 0)
		return NULL;
	return (*f)[*n - 1];
}

/* top --history: each table of the history over a window. The records
 * are read one at a time (shmstat_history_windows()), every figure of
 * every table and owner in one pass; only the window's first and last
 * records are kept whole (the keys): what it takes grows with the
 * owners, not with the records. */
static int top_history(const char *path, uint64_t window, const char *at_arg, const char *table,
		       const char *owner, size_t n, uint64_t hv)
{
	uint64_t now = realtime_ns(), at = now;
	shmstat_history *h = NULL;
	shmstat_frame **lf = NULL, **ff = NULL, *last, *first = NULL, *ends[2];
	size_t ln = 0, fn = 0, nq = 0;
	struct shmstat_wrange *q = NULL;
	struct shmstat_wvalue *v = NULL, *vx = NULL;
	struct window_tables wt = { table, NULL, { NULL, 0, 0, 0 } };
	struct shmstat_frame_info fi;
	struct shmstat_wread rd = { 0 };
	struct shmstat_series s;
	char wd[32], when[64];
	int rc = EXIT_OK, found = 0, seen;

	if (at_arg && parse_instant(at_arg, now, &at) != 0)
		return usage_error(cmd_top_usage, "instant '%s' is not a time", at_arg);
	if (window > at)
		return usage_error(cmd_top_usage, "window reaches before 1970");
	fmt_duration(wd, sizeof(wd), window);
	fmt_time(when, sizeof(when), at);
	if (shmstat_history_open(path, &h) != 0)
		return die(EXIT_ERR, "%s", shmstat_last_error());
	/* the tables of the window's last record: those shown, and their
	 * owners */
	last = tables_at(h, at, table, &lf, &ln);
	if (last == NULL && *shmstat_last_error()) {
		rc = die(EXIT_ERR, "%s", shmstat_last_error());
		goto out;
	}
	fi.series = 0;
	if (last) {
		shmstat_frame_info(last, &fi);
		for (size_t i = 0; i < fi.series; i++)
			if (table_shown(last, i, table, &s))
				nq += table_queries(last, &s, at - window, at, owner, NULL);
	}
	q = malloc((nq ? nq : 1) * sizeof(*q));
	v = malloc((nq ? nq : 1) * sizeof(*v));
	if (q == NULL || v == NULL) {
		rc = die(EXIT_ERR, "out of memory planning the figures of history %s", path);
		goto out;
	}
	nq = 0;
	for (size_t i = 0; i < fi.series; i++)
		if (table_shown(last, i, table, &s))
			nq += table_queries(last, &s, at - window, at, owner, q + nq);
	/* only the tables are decoded; those the last record lacks noted */
	wt.last = last;
	if (shmstat_history_windows(h, at - window, at, keep_noting, &wt, q, nq, v, &rd) != 0) {
		rc = die(EXIT_ERR, "%s", shmstat_last_error());
		goto out;
	}
	/* and their figures, in a second pass (none in the common case) */
	series_set_sort(&wt.x);
	if (wt.x.oom || series_set_windows(h, at - window, at, &wt.x, key_queries, &vx) != 0) {
		rc = wt.x.oom || !*shmstat_last_error()
			     ? die(EXIT_ERR, "out of memory reading the keys of history %s", path)
			     : die(EXIT_ERR, "%s", shmstat_last_error());
		goto out;
	}
	if (rd.records == 0) {
		rc = die(EXIT_ERR, "no records in %s in the %s window ending %s", path, wd, when);
		goto out;
	}
	/* the window's first record: where the keys' gains start (of the
	 * last record's tables) */
	if (rd.records >= 2 && last) {
		first = tables_at(h, rd.first_ns, table, &ff, &fn);
		if (first == NULL) {
			rc = die(EXIT_ERR, "%s", *shmstat_last_error() ? shmstat_last_error()
								   : "history changed while read");
			goto out;
		}
	}
	ends[0] = first ? first : last;
	ends[1] = last;
	if (last == NULL)
		fi.series = 0;
	/* no table to show: the error alone (the head line was printed
	 * first, on stdout, and then the error) */
	found = (int)wt.x.n;
	for (size_t i = 0; i < fi.series && !found; i++)
		found = table_shown(last, i, table, &s);
	if (!found) {
		rc = table ? die(EXIT_ERR, "history %s has no signature table '%s' in the window",
				 path, table)
			   : die(EXIT_ERR, "history %s has no signature table in the window", path);
		goto out;
	}
	/* an owner no table of the last record has: an error, as live */
	seen = owner == NULL || owner[0] == '\0';
	for (size_t i = 0; !seen && i < fi.series; i++) {
		struct shmstat_sigowner_info oi;

		for (size_t k = 0; !seen && table_shown(last, i, table, &s) && k < s.owners; k++)
			seen = owner_shown(last, (long)i, k, owner, &oi);
	}
	if (!seen) {
		char own[512];

		owner_safe(own, sizeof(own), owner);
		rc = table ? die(EXIT_ERR, "signature table '%s' of history %s has no owner '%s' in the window",
				 table, path, own)
			   : die(EXIT_ERR, "no signature table of history %s has owner '%s' in the window",
				 path, own);
		goto out;
	}
	printf("over %s ending %s (%zu records", wd, when, rd.records);
	if (rd.records >= 2 && window_span_long(rd.last_ns - rd.first_ns, window)) {
		char sp[32];

		fmt_duration(sp, sizeof(sp), rd.last_ns - rd.first_ns);
		printf(", its records span %s", sp);   /* a gap across its start */
	}
	printf(")\n");
	nq = 0;
	for (size_t i = 0; i < fi.series; i++) {
		struct frames efr = { h, ends, rd.records >= 2 ? 2 : 1 };

		if (!table_shown(last, i, table, &s))
			continue;
		printf("\n");
		history_table(&efr, &s, v + nq, owner, n, hv);
		nq += table_queries(last, &s, at - window, at, owner, NULL);
	}
	for (size_t k = 0; k < wt.x.n; k++) {
		const struct shmstat_series xs = { .name = wt.x.s[k].name,
						   .labels = wt.x.s[k].labels, .unit = "" };

		printf("\n");
		table_figures(&xs, vx + 4 * k);
		printf("   (not in the window's last record: its owners and keys are not shown)\n");
	}
out:
	free(q);
	free(v);
	free(vx);
	series_set_free(&wt.x);
	shmstat_frames_free(ff, fn);
	shmstat_frames_free(lf, ln);
	shmstat_history_close(h);
	return rc;
}

static const char *const order_names[] = {
	[SHMSTAT_BY_HITS] = "hits", [SHMSTAT_BY_WEIGHT] = "weight",
	[SHMSTAT_BY_RECENT] = "recent", [SHMSTAT_BY_HITS_MAX] = "upper",
};

int top_order_parse(const char *s, enum shmstat_sig_order *by)
{
	for (size_t k = 0; k < sizeof(order_names) / sizeof(order_names[0]); k++)
		if (order_names[k] && strcmp(s, order_names[k]) == 0) {
			*by = (enum shmstat_sig_order)k;
			return 0;
		}
	return -1;
}

int top_json(FILE *f, const shmstat_snap *s, const char *segment, const char *table,
	     enum shmstat_sig_order by, const char *owner, size_t n, uint64_t hv, int *owner_seen)
{
	const size_t nm = shmstat_snap_metrics(s);
	size_t *ord = metrics_sorted(s, nm);
	int found = 0;

	*owner_seen = 0;
	if (ord == NULL)
		return -1;
	fputs("{\"schema\":\"shmstat.top/1\",\"segment\":", f);
	json_put(f, segment);
	fprintf(f, ",\"by\":\"%s\",\"n\":%zu,\"high_value\":%llu,\"owner\":", order_names[by], n,
		(unsigned long long)hv);
	if (owner)
		json_put(f, owner);
	else
		fputs("null", f);
	fputs(",\"tables\":[", f);
	for (size_t k = 0; k < nm; k++) {
		const size_t i = ord[k];
		struct shmstat_metric_info m;

		shmstat_snap_metric(s, i, &m);
		if (m.type != SHMSTAT_SIGTABLE || (table && strcmp(m.name, table) != 0))
			continue;
		fputs(found++ ? ",\n{\"name\":" : "\n{\"name\":", f);
		json_put(f, m.name);
		fputs(",\"labels\":", f);
		json_put(f, m.labels);
		fputs(",\"unit\":", f);
		json_put(f, m.unit);
		fputs(",\"table\":", f);
		*owner_seen |= export_sig_json(f, s, i, by, owner, n, hv);
		fputc('}', f);
	}
	fputs("]}\n", f);
	free(ord);
	return found;
}

int cmd_top(int argc, char **argv)
{
	static const char shortopts[] = ":n:";
	char bad[64];
	static const struct option opts[] = {
		{ "by", required_argument, NULL, 'b' },
		{ "owner", required_argument, NULL, 'o' },
		{ "high-value", required_argument, NULL, 'H' },
		{ "raw", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "history", required_argument, NULL, 'y' },
		{ "window", required_argument, NULL, 'w' },
		{ "at", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	enum shmstat_sig_order by = SHMSTAT_BY_HITS;
	const char *owner = NULL, *table = NULL;
	uint64_t n = 20, hv = SIG_HIGH_VALUE;
	shmstat_reader *r;
	shmstat_snap *s;
	int c, rc = EXIT_OK, found = 0, json = 0, seen = 0;
	const char *history = NULL, *at_arg = NULL;
	uint64_t window = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_whole(optarg, 100000, &n) != 0 || n == 0)
				return usage_error(cmd_top_usage,
						   "count '%s' is not a number from 1 to 100000", optarg);
			break;
		case 'b':
			if (top_order_parse(optarg, &by) != 0)
				return usage_error(cmd_top_usage,
						   "order '%s' is unknown (hits, weight, recent or upper)",
						   optarg);
			break;
		case 'o':
			owner = optarg;
			break;
		case 'r':
			raw = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'y':
			history = optarg;
			break;
		case 'w':
			if (parse_duration(optarg, &window) != 0 || window == 0)
				return usage_error(cmd_top_usage, "window '%s' is not " DURATION_RANGE,
						   optarg);
			break;
		case 'a':
			at_arg = optarg;
			break;
		case 'H':
			if (parse_whole(optarg, UINT64_MAX, &hv) != 0)
				return usage_error(cmd_top_usage, "high-value threshold '%s' is not a number",
						   optarg);
			break;
		case ':':
			return usage_error(cmd_top_usage, "option '%s' needs a value", refused_option(bad, sizeof(bad), argv, shortopts, opts));
		default:
			return usage_error(cmd_top_usage, "unknown option '%s'", refused_option(bad, sizeof(bad), argv, shortopts, opts));
		}
	}
	if (history == NULL && (window || at_arg))
		return usage_error(cmd_top_usage, "--window and --at need --history");
	/* the user's characters, for the columns an owner takes; numbers
	 * stay C's */
	(void)setlocale(LC_CTYPE, "");
	if (history) {
		if (json || by != SHMSTAT_BY_HITS)
			return usage_error(cmd_top_usage,
					   "--history ranks by hits gained, in text (no --json, --by)");
		if (argc - optind > 1)
			return usage_error(cmd_top_usage, "too many arguments");
		return top_history(history, window ? window : 3600000000000ull, at_arg,
				   argc - optind == 1 ? argv[optind] : NULL, owner, (size_t)n, hv);
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error(cmd_top_usage, argc - optind < 1 ? "segment name is missing"
								 : "too many arguments");
	if (argc - optind == 2)
		table = argv[optind + 1];
	if (open_snapshot(argv[optind], &r, &s) != EXIT_OK)
		return EXIT_ERR;
	/* buffered: nothing is printed when there is no such table, or no
	 * such owner */
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		if (f == NULL) {
			rc = die(EXIT_ERR, "out of memory buffering the signature tables");
		} else {
			const size_t nm = json ? 0 : shmstat_snap_metrics(s);
			size_t *ord = json ? NULL : metrics_sorted(s, nm);

			if (json)
				found = top_json(f, s, argv[optind], table, by, owner, (size_t)n, hv,
						 &seen);
			if (found < 0 || (!json && ord == NULL))
				rc = die(EXIT_ERR, "out of memory %s the signature tables of segment '%s'",
					 json ? "writing" : "sorting", argv[optind]);
			for (size_t k = 0; ord && rc == EXIT_OK && k < nm; k++) {
				const size_t i = ord[k];
				struct shmstat_metric_info m;

				shmstat_snap_metric(s, i, &m);
				if (m.type != SHMSTAT_SIGTABLE || (table && strcmp(m.name, table) != 0))
					continue;
				if (found++)
					fputc('\n', f);
				rc = print_table(f, s, i, &m, by, owner, (size_t)n, hv, &seen);
			}
			free(ord);
			if (fclose(f) != 0 && rc == EXIT_OK)
				rc = die(EXIT_ERR, "out of memory buffering the signature tables");
			else if (rc == EXIT_OK && found && seen)
				(void)fwrite(buf, 1, len, stdout);
		}
		free(buf);
	}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	if (rc == EXIT_OK && !found)
		return table ? die(EXIT_ERR, "segment '%s' has no signature table '%s'",
				   argv[optind], table)
			     : die(EXIT_ERR, "segment '%s' has no signature table", argv[optind]);
	if (rc == EXIT_OK && !seen) {
		char own[512];

		owner_safe(own, sizeof(own), owner);
		return table ? die(EXIT_ERR, "signature table '%s' of segment '%s' has no owner '%s'",
				   table, argv[optind], own)
			     : die(EXIT_ERR, "no signature table of segment '%s' has owner '%s'",
				   argv[optind], own);
	}
	return rc;
}
