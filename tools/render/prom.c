/*
 * prom.c - Prometheus text 0.0.4 and OpenMetrics 1.0 of snapshots
 * (prom.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "numfmt.h"
#include "prom.h"
#include "promnames.h"
#include "textsafe.h"
#include "timearg.h"
#include "units.h"

/* @n bytes of @s as a label value (@quote) or HELP text: backslash and
 * newline escaped (and '"' in a value), as both formats want; bytes that
 * are not UTF-8, which both formats refuse (Prometheus drops the whole
 * scrape), and NUL (a key's byte), as the text \xNN (its backslash
 * escaped); in a value, a backslash that begins the text \xNN as \x5c
 * too: owners "a<0xff>" and "a\\xff" (the text) stay two series. */
static void prom_text(FILE *f, const char *s, size_t n, int quote)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0, l; i < n; i += l) {
		uint32_t cp;

		l = utf8_seq(u + i, n - i, &cp);
		if (l == 0 || s[i] == '\0' ||
		    (quote && n - i >= 4 && s[i] == '\\' && s[i + 1] == 'x' &&
		     isxdigit(u[i + 2]) && isxdigit(u[i + 3]))) {
			fprintf(f, "\\\\x%02x", u[i]);
			l = 1;
		} else if (s[i] == '\\' || (quote && s[i] == '"')) {
			fputc('\\', f);
			fputc(s[i], f);
		} else if (s[i] == '\n') {
			fputs("\\n", f);
		} else {
			(void)fwrite(s + i, 1, l, f);
		}
	}
}

static void prom_escape(FILE *f, const char *s, size_t n)
{
	prom_text(f, s, n, 1);
}

/* The label set of a sample: the metric's (canonical: already escaped),
 * the segment's, and one more pair (le, owner, key...), in that order. */
struct lab {
	const char *labels;
	const char *segment;       /* NULL: none */
	enum shmstat_type type;    /* which labels the samples add */
};

/* Is @k (@n bytes) a label the samples of @l add themselves? */
static int added_key(const struct lab *l, const char *k, size_t n)
{
	static const char *const hist[] = { "le", NULL };
	static const char *const sig[] = { "owner", "key", "hash", "cut", NULL };
	const char *const *add = l->type == SHMSTAT_HISTOGRAM ? hist
				 : l->type == SHMSTAT_SIGTABLE ? sig : NULL;

	if (l->segment && n == 7 && memcmp(k, "segment", 7) == 0)
		return 1;
	for (; add && *add; add++)
		if (strlen(*add) == n && memcmp(k, *add, n) == 0)
			return 1;
	return 0;
}

/* The next pair of canonical labels @p (which the reader validated:
 * k="v" with \\, \" and \n escapes): its key in @k/@kn, the whole pair
 * in @pair/@pn; the rest, or NULL at the end. */
static const char *next_pair(const char *p, const char **k, size_t *kn, size_t *pn)
{
	const char *q = strchr(p, '=');

	if (*p == '\0' || q == NULL || q[1] != '"')
		return NULL;
	*k = p;
	*kn = (size_t)(q - p);
	for (q += 2; *q && *q != '"'; q++)
		if (*q == '\\' && q[1])
			q++;
	if (*q == '"')
		q++;
	*pn = (size_t)(q - p);
	return *q == ',' ? q + 1 : q;
}

/* Has metric @labels the key "exported_" x @depth + @k? */
static int has_key(const char *labels, int depth, const char *k, size_t kn)
{
	const char *p = labels, *k2;
	size_t kn2, pn;

	for (const char *nx; (nx = next_pair(p, &k2, &kn2, &pn)) != NULL; p = nx) {
		int d = 0;

		while (kn2 >= 9 && memcmp(k2, "exported_", 9) == 0 && d < depth) {
			k2 += 9;
			kn2 -= 9;
			d++;
		}
		if (d == depth && kn2 == kn && memcmp(k2, k, kn) == 0)
			return 1;
	}
	return 0;
}

/* The metric's labels; one the samples add themselves (segment, le,
 * owner, key, hash, cut) renamed exported_KEY (exported_exported_KEY...
 * until no label has the name: Prometheus' rule for target labels), since
 * a name twice in a sample makes Prometheus drop the whole scrape. */
static void labels_open(FILE *f, const struct lab *l, int *any)
{
	const char *p = l->labels, *k;
	size_t kn, pn;

	*any = 0;
	for (const char *nx; (nx = next_pair(p, &k, &kn, &pn)) != NULL; p = nx) {
		fputc(*any ? ',' : '{', f);
		*any = 1;
		if (added_key(l, k, kn)) {
			int depth = 1;

			while (has_key(l->labels, depth, k, kn))
				depth++;
			for (int d = 0; d < depth; d++)
				fputs("exported_", f);
		}
		(void)fwrite(k, 1, pn, f);
	}
	if (l->segment) {
		fputs(*any ? "," : "{", f);
		fputs("segment=\"", f);
		prom_escape(f, l->segment, strlen(l->segment));
		fputc('"', f);
		*any = 1;
	}
}

/* {labels,segment,k="v"} with @v escaped; @k NULL: no extra pair */
static void sample_labels(FILE *f, const struct lab *l, const char *k, const char *v, size_t vn)
{
	int any;

	labels_open(f, l, &any);
	if (k) {
		fputs(any ? "," : "{", f);
		fprintf(f, "%s=\"", k);
		prom_escape(f, v, vn);
		fputc('"', f);
		any = 1;
	}
	if (any)
		fputc('}', f);
}

/* A family's metadata lines: HELP, TYPE in Prometheus text (its own
 * habit); TYPE, UNIT, HELP in OpenMetrics (the order its spec asks
 * for). @unit: NULL for none (OpenMetrics only). HELP: 0.0.4 escapes
 * backslash and newline only (any other escape is an error there);
 * OpenMetrics the double quote too. */
static void meta(FILE *f, const char *fam, const char *type, const char *unit, const char *help,
		 int om)
{
	if (!help || !help[0])
		help = "(no help given)";   /* promtool wants one */
	if (om)
		fprintf(f, "# TYPE %s %s\n", fam, type);
	if (om && unit)
		fprintf(f, "# UNIT %s %s\n", fam, unit);
	fprintf(f, "# HELP %s ", fam);
	prom_text(f, help, strlen(help), om);
	fputc('\n', f);
	if (!om)
		fprintf(f, "# TYPE %s %s\n", fam, type);
}

/* ----------------------------------------------------------------- items */

struct item {
	size_t src, idx;
	struct shmstat_metric_info m;
	char fam[160];             /* the family: HELP, TYPE, UNIT */
	size_t keylen;             /* fam's first keylen bytes: the family in
				    * OpenMetrics, the order in both formats */
	int unit;                  /* EXPO_SECONDS, EXPO_BYTES or 0 */
	/* (the samples' name is made again when they are written: items
	 * are sorted, and kept small for it) */
};

/* @v ns as seconds, exactly: "0.000000127", "1.5", "3" */
static void fmt_seconds(char *buf, size_t n, uint64_t v, int neg)
{
	uint64_t sec = v / 1000000000u, frac = v % 1000000000u;
	char f[16];
	int k;

	if (frac == 0) {
		snprintf(buf, n, "%s%" PRIu64, neg ? "-" : "", sec);
		return;
	}
	snprintf(f, sizeof(f), "%09" PRIu64, frac);
	for (k = 8; k > 0 && f[k] == '0'; k--)
		f[k] = '\0';
	snprintf(buf, n, "%s%" PRIu64 ".%s", neg ? "-" : "", sec, f);
}

/* A sample value of an item: in seconds for EXPO_SECONDS */
static void put_u64(FILE *f, const struct item *x, uint64_t v)
{
	char b[48];

	if (x->unit == EXPO_SECONDS) {
		fmt_seconds(b, sizeof(b), v, 0);
		fputs(b, f);
	} else {
		fprintf(f, "%" PRIu64, v);
	}
}

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b))

/* The render order, the same in both formats (which item keeps a name
 * that clashes does not depend on the format): by OpenMetrics family,
 * segment, metric (name, type, unit), labels; the index last, so that
 * the order is total. */
static int by_family(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = memcmp(x->fam, y->fam, x->keylen < y->keylen ? x->keylen : y->keylen);

	if (c == 0)
		c = CMP(x->keylen, y->keylen);
	if (c == 0)
		c = CMP(x->src, y->src);
	if (c == 0)
		c = strcmp(x->m.name, y->m.name);
	if (c == 0)
		c = CMP(x->m.type, y->m.type);
	if (c == 0)
		c = CMP(x->unit, y->unit);
	if (c == 0)
		c = strcmp(x->m.labels, y->m.labels);
	return c ? c : CMP(x->idx, y->idx);
}

static void names_of(struct item *x, int om)
{
	const struct shmstat_metric_info *m = &x->m;

	x->unit = prom_export_name(m->name, m->unit, m->type, x->fam, sizeof(x->fam));
	/* OpenMetrics: a counter's family is its name without _total */
	x->keylen = m->type == SHMSTAT_COUNTER ? prom_counter_stem(x->fam) : strlen(x->fam);
	if (om)
		x->fam[x->keylen] = '\0';
}

/* ------------------------------------------------------------- histograms */


static void hist_samples(FILE *f, const struct item *it, const shmstat_snap *s,
			 const struct lab *l, unsigned per_octave, int om)
{
	struct shmstat_hstats st;
	shmstat_hdata *h;
	uint64_t cum;
	size_t nb, k = 0;
	unsigned kk;
	char le[NUM_LEN], name[176];

	if (shmstat_snap_hist(s, it->idx, SHMSTAT_PROC_ALL, &h) != 0)
		return;
	prom_export_name(it->m.name, it->m.unit, it->m.type, name, sizeof(name));
	shmstat_hdata_stats(h, &st);
	nb = shmstat_hdata_buckets(h);
	cum = st.underflow;
	/* at most 2^(bits-1) bounds an octave: each one a bucket edge */
	kk = per_octave;
	while (kk > 1 && st.bits >= 1 && kk > (1u << (st.bits - 1)))
		kk >>= 1;
	for (int j = 1; j <= 64; j++) {
		uint64_t base = UINT64_C(1) << (j - 1), step = (base / kk) ? base / kk : 1;
		int done = 0;

		for (uint64_t i = 1; i * step <= base; i++) {
			uint64_t bound = j == 64 && i * step == base ? UINT64_MAX : base + i * step - 1;

			if (bound < st.lowest)
				continue;
			if (bound > st.highest)
				bound = st.highest;
			/* the buckets in use up to the bound */
			for (k = shmstat_hdata_next(h, k); k < nb; k = shmstat_hdata_next(h, k + 1)) {
				uint64_t lo, hi, c;

				shmstat_hdata_bucket(h, k, &lo, &hi, &c);
				if (hi > bound)
					break;
				cum += c;
			}
			if (om)
				num_canonical(le, sizeof(le), bound, it->unit == EXPO_SECONDS ? 9 : 0);
			else if (it->unit == EXPO_SECONDS)
				fmt_seconds(le, sizeof(le), bound, 0);
			else
				snprintf(le, sizeof(le), "%" PRIu64, bound);
			fprintf(f, "%s_bucket", name);
			sample_labels(f, l, "le", le, strlen(le));
			fprintf(f, " %" PRIu64 "\n", cum);
			if (bound == st.highest) {
				done = 1;
				break;
			}
		}
		if (done)
			break;
	}
	fprintf(f, "%s_bucket", name);
	sample_labels(f, l, "le", "+Inf", 4);
	fprintf(f, " %" PRIu64 "\n", st.count);
	fprintf(f, "%s_sum", name);
	sample_labels(f, l, NULL, NULL, 0);
	fputc(' ', f);
	hsum_put(f, h, it->unit == EXPO_SECONDS);
	fputc('\n', f);
	fprintf(f, "%s_count", name);
	sample_labels(f, l, NULL, NULL, 0);
	fprintf(f, " %" PRIu64 "\n", st.count);
	shmstat_hdata_free(h);
}

/* ------------------------------------------------------------ the budget */

struct prom_iter {
	const struct prom_src *src;
	size_t nsrc;
	struct prom_opts o;
	struct item *it;
	size_t n;
	size_t a, b, k;            /* family it[a..b-1], next item it[k] */
	int stage;                 /* 0 families, 1 the tail, 2 done */
	size_t *series;            /* sample lines per source so far */
	unsigned char *cut;        /* per source: series left out */
	size_t *dropped;           /* per source and DROP_*: metrics left out */
	uint64_t bytes;            /* of families handed out so far */
	/* HELP and TYPE of the family, until its first sample line is kept
	 * (has_hdr), and an item's lines: rendered into two memory streams
	 * kept open and rewound, not one opened and freed an item */
	FILE *hf, *mf;
	char *hdr, *mbuf;
	size_t hdrlen, msize;
	int has_hdr;
	char *buf;                 /* the piece being handed out */
	size_t len, pos, cap;
	int err;
};

/* One more sample line of source @s: 1 when it may be written, 0 when
 * the source has had its max_series (it is then marked cut). */
static int take(struct prom_iter *pi, size_t s)
{
	if (pi->o.max_series && pi->series[s] >= pi->o.max_series) {
		pi->cut[s] = 1;
		return 0;
	}
	pi->series[s]++;
	return 1;
}

/* ------------------------------------------------------- signature tables */

/* The signature tables @it[0..n-1] of one name: per-owner exact totals
 * as three counter families, top keys by hits as a gauge family. Each
 * table's view is made once (it sums every stripe) for all four. */
static void sig_group(FILE *f, const struct item *it, size_t n, const struct prom_src *src,
		      const struct prom_opts *o, struct prom_iter *pi)
{
	const struct shmstat_metric_info *m0 = &it[0].m;
	shmstat_sigview **views = calloc(n ? n : 1, sizeof(shmstat_sigview *));
	size_t *idx = o->top ? malloc(o->top * sizeof(*idx)) : NULL;
	char fam[192], sample[192], help[256];

	if (views == NULL) {
		free(idx);
		return;
	}
	for (size_t j = 0; j < n; j++)
		if (shmstat_snap_sigtab(src[it[j].src].snap, it[j].idx, &views[j]) != 0)
			views[j] = NULL;
	/* the table's totals (all keys) and the owners' totals: each a
	 * family of its own, so that sum() of either is the truth */
	for (int w = 0; w < SIG_COUNTERS; w++) {
		const int what_i = w >= 4 ? w - 4 : w;

		prom_sig_family(fam, sizeof(fam), m0->name, w, o->om ? "" : "_total");
		/* the samples' name: the family's in the text format */
		prom_sig_family(sample, sizeof(sample), m0->name, w, "_total");
		snprintf(help, sizeof(help), w >= 4 ? "%s: %s per owner" : "%s: %s, all keys",
			 m0->help[0] ? m0->help : m0->name, prom_sig_what[what_i]);
		meta(f, fam, "counter", NULL, help, o->om);
		for (size_t j = 0; j < n; j++) {
			const struct prom_src *sr = &src[it[j].src];
			struct lab l = { it[j].m.labels, o->segment_label ? sr->segment : NULL,
				  SHMSTAT_SIGTABLE };
			struct shmstat_sigstats st;
			const shmstat_sigview *v = views[j];

			if (v == NULL)
				continue;
			if (w < 4) {
				if (!take(pi, it[j].src))
					continue;
				shmstat_sigview_stats(v, &st);
				fputs(sample, f);
				sample_labels(f, &l, NULL, NULL, 0);
				fprintf(f, " %" PRIu64 "\n", what_i == 0 ? st.hits
							    : what_i == 1 ? st.misses
							    : what_i == 2 ? st.weight : st.evictions);
				continue;
			}
			for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
				struct shmstat_sigowner_info oi;

				shmstat_sigview_owner(v, k, &oi);
				if (!oi.name[0] || !take(pi, it[j].src))
					continue;
				fputs(sample, f);
				sample_labels(f, &l, "owner", oi.name, strlen(oi.name));
				fprintf(f, " %" PRIu64 "\n",
					what_i == 0 ? oi.hits : what_i == 1 ? oi.misses : oi.weight);
			}
		}
	}
	/* the bounds of the table: the most any key may be off */
	prom_sig_family(fam, sizeof(fam), m0->name, SIG_COUNTERS, "");
	snprintf(help, sizeof(help), "%s: most events any key's count may miss",
		 m0->help[0] ? m0->help : m0->name);
	meta(f, fam, "gauge", NULL, help, o->om);
	for (size_t j = 0; j < n; j++) {
		const struct prom_src *sr = &src[it[j].src];
		struct lab l = { it[j].m.labels, o->segment_label ? sr->segment : NULL,
				  SHMSTAT_SIGTABLE };
		struct shmstat_sigstats st;

		if (views[j] == NULL || !take(pi, it[j].src))
			continue;
		shmstat_sigview_stats(views[j], &st);
		fprintf(f, "%s", fam);
		sample_labels(f, &l, NULL, NULL, 0);
		fprintf(f, " %" PRIu64 "\n", st.max_error);
	}
	/* the top keys by guaranteed hits: those hits, their error, and
	 * whether they are high-value, each a family of its own */
	for (int w = 0; w < 3; w++) {
		static const char *const says[] = {
			"guaranteed hits of a top key (the truth is at most _top_hits_error more)",
			"error of _top_hits: the most hits a top key may have uncounted",
			"1 when a top key is high-value: at least 3 guaranteed hits",
		};

		prom_sig_family(fam, sizeof(fam), m0->name, SIG_COUNTERS + 1 + w, "");
		snprintf(help, sizeof(help), "%s: %s (top %u keys)",
			 m0->help[0] ? m0->help : m0->name, says[w], o->top);
		meta(f, fam, "gauge", NULL, help, o->om);
		for (size_t j = 0; j < n && idx; j++) {
			const struct prom_src *sr = &src[it[j].src];
			struct lab l = { it[j].m.labels, o->segment_label ? sr->segment : NULL,
				  SHMSTAT_SIGTABLE };
			size_t cnt;

			if (views[j] == NULL)
				continue;
			cnt = shmstat_sigview_top(views[j], SHMSTAT_BY_HITS, NULL, o->top, idx);
			for (size_t k = 0; k < cnt; k++) {
				struct shmstat_sigentry e;
				uint64_t g;
				int any;

				if (!take(pi, it[j].src))
					break;
				shmstat_sigview_entry(views[j], idx[k], &e);
				g = e.hits - e.err_hits;
				fprintf(f, "%s", fam);
				labels_open(f, &l, &any);
				fputs(any ? ",key=\"" : "{key=\"", f);
				prom_escape(f, e.key, e.key_len);
				fputs("\",owner=\"", f);
				prom_escape(f, e.owner, strlen(e.owner));
				/* the hash too: keys cut to the same bytes, or
				 * known by their hash alone, stay apart; cut */
				fprintf(f, "\",hash=\"%016" PRIx64 "\",cut=\"%s\"} %" PRIu64 "\n",
					e.hash, e.full_len > e.key_len ? "true" : "false",
					w == 0 ? g : w == 1 ? e.err_hits : (uint64_t)(g >= SIG_HIGH_VALUE));
			}
		}
	}
	for (size_t j = 0; j < n; j++)
		shmstat_sigview_free(views[j]);
	free(views);
	free(idx);
}

/* ------------------------------------------------------------- rendering */

#define PIECE ((size_t)64 * 1024)  /* handed out at a time, at least */

static int put(struct prom_iter *pi, const char *p, size_t n)
{
	if (pi->len + n > pi->cap) {
		size_t cap = pi->cap ? pi->cap : PIECE;
		char *nb;

		while (cap < pi->len + n)
			cap *= 2;
		nb = realloc(pi->buf, cap);
		if (nb == NULL)
			return ENOMEM;
		pi->buf = nb;
		pi->cap = cap;
	}
	memcpy(pi->buf + pi->len, p, n);
	pi->len += n;
	return 0;
}

static void render_item(FILE *f, const struct prom_iter *pi, const struct item *x)
{
	const struct prom_src *sr = &pi->src[x->src];
	struct lab l = { x->m.labels, pi->o.segment_label ? sr->segment : NULL, x->m.type };
	char name[176];

	prom_export_name(x->m.name, x->m.unit, x->m.type, name, sizeof(name));
	switch (x->m.type) {
	case SHMSTAT_COUNTER:
		/* both formats: with _total (prom_export_name()) */
		if (pi->o.om)
			fprintf(f, "%s_total", x->fam);
		else
			fputs(name, f);
		sample_labels(f, &l, NULL, NULL, 0);
		fputc(' ', f);
		put_u64(f, x, x->m.counter);
		fputc('\n', f);
		break;
	case SHMSTAT_GAUGE:
		fputs(name, f);
		sample_labels(f, &l, NULL, NULL, 0);
		if (x->unit == EXPO_SECONDS) {
			char b[48];
			uint64_t a = x->m.gauge < 0 ? 0 - (uint64_t)x->m.gauge : (uint64_t)x->m.gauge;

			fmt_seconds(b, sizeof(b), a, x->m.gauge < 0);
			fprintf(f, " %s\n", b);
		} else {
			fprintf(f, " %" PRId64 "\n", x->m.gauge);
		}
		break;
	case SHMSTAT_HISTOGRAM:
		hist_samples(f, x, sr->snap, &l, pi->o.le_per_octave, pi->o.om);
		break;
	default:
		break;
	}
}

/* "{segment="NAME",KEY="VAL"} " */
static void seg_labels(FILE *f, const char *seg, const char *k, const char *v)
{
	fputs("{segment=\"", f);
	prom_escape(f, seg, strlen(seg));
	fprintf(f, "\",%s=\"%s\"} ", k, v);
}

/* The segments' own health: writers alive and dead (not yet reaped),
 * what was refused, how full each region is. */
static void segment_health(FILE *f, const struct prom_iter *pi)
{
	const struct prom_opts *o = &pi->o;
	static const char *const regions[] = {
		"metrics", "values", "threads", "processes", "profile_stacks",
	};

	meta(f, "shmstat_segment_writers", "gauge", NULL,
	     "writer processes of the segment: alive, and dead but not yet reaped", o->om);
	for (size_t s = 0; s < pi->nsrc; s++) {
		struct shmstat_seg_info in;

		if (pi->src[s].snap == NULL)
			continue;
		shmstat_snap_info(pi->src[s].snap, &in);
		fputs("shmstat_segment_writers", f);
		seg_labels(f, pi->src[s].segment, "state", "alive");
		fprintf(f, "%u\n", in.writers_alive);
		fputs("shmstat_segment_writers", f);
		seg_labels(f, pi->src[s].segment, "state", "dead");
		fprintf(f, "%u\n", in.writers_dead);
	}
	meta(f, o->om ? "shmstat_segment_dropped" : "shmstat_segment_dropped_total", "counter", NULL,
	     "what the segment could not take: registrations refused (full), "
	     "profiler samples the stack table had no room for", o->om);
	for (size_t s = 0; s < pi->nsrc; s++) {
		struct shmstat_seg_info in;

		if (pi->src[s].snap == NULL)
			continue;
		shmstat_snap_info(pi->src[s].snap, &in);
		fputs("shmstat_segment_dropped_total", f);
		seg_labels(f, pi->src[s].segment, "what", "registrations");
		fprintf(f, "%" PRIu64 "\n", in.dropped_regs);
		fputs("shmstat_segment_dropped_total", f);
		seg_labels(f, pi->src[s].segment, "what", "profile_samples");
		fprintf(f, "%" PRIu64 "\n", in.profile_dropped);
	}
	meta(f, "shmstat_segment_used_ratio", "gauge", "ratio",
	     "share of each region of the segment in use (1: full, registrations refused)", o->om);
	for (size_t s = 0; s < pi->nsrc; s++) {
		struct shmstat_seg_info in;
		double used[5], cap[5];

		if (pi->src[s].snap == NULL)
			continue;
		shmstat_snap_info(pi->src[s].snap, &in);
		used[0] = in.metrics, cap[0] = in.max_metrics;
		used[1] = (double)in.values_used, cap[1] = in.max_values;
		used[2] = in.stripes_owned, cap[2] = in.max_threads;
		used[3] = (double)in.writers_alive + in.writers_dead, cap[3] = in.max_procs;
		used[4] = (double)in.profile_stacks, cap[4] = in.max_stacks;
		for (int k = 0; k < 5; k++) {
			if (cap[k] <= 0)
				continue;      /* a segment without that region */
			fputs("shmstat_segment_used_ratio", f);
			seg_labels(f, pi->src[s].segment, "region", regions[k]);
			fprintf(f, "%.6g\n", used[k] / cap[k]);
		}
	}
}

/* The metrics of each segment left out for their names (drop_clashes()) */
static void dropped_metrics(FILE *f, const struct prom_iter *pi)
{
	meta(f, "shmstat_scrape_dropped_metrics", "gauge", NULL,
	     "metrics of the segment left out of this scrape: a name they export is another "
	     "metric's (name_clash) or reserved for shmstat's own (reserved_name), or their "
	     "series are an earlier descriptor's (duplicate_series)", pi->o.om);
	for (size_t s = 0; s < pi->nsrc; s++)
		for (int r = 0; r < NDROP; r++) {
			fputs("shmstat_scrape_dropped_metrics", f);
			seg_labels(f, pi->src[s].segment, "reason", prom_drop_reason[r]);
			fprintf(f, "%zu\n", pi->dropped[s * NDROP + (size_t)r]);
		}
}

static void render_tail(FILE *f, const struct prom_iter *pi)
{
	const struct prom_opts *o = &pi->o;
	unsigned major, minor;

	/* which shmstat wrote this: an info metric (OpenMetrics), a gauge
	 * of 1 (Prometheus text) */
	shmstat_format_version(&major, &minor);
	meta(f, o->om ? "shmstat_build" : "shmstat_build_info", o->om ? "info" : "gauge", NULL,
	     "the shmstat release and segment format that exported these series", o->om);
	for (size_t s = 0; s < (o->build_segment ? pi->nsrc : 1); s++) {
		fputs("shmstat_build_info{", f);
		if (o->build_segment) {
			fputs("segment=\"", f);
			prom_escape(f, pi->src[s].segment, strlen(pi->src[s].segment));
			fputs("\",", f);
		}
		fprintf(f, "version=\"%s\",format=\"%u.%u\"} 1\n", shmstat_version(), major, minor);
	}

	if (o->segment_label && pi->nsrc) {
		meta(f, "shmstat_segment_up", "gauge", NULL,
		     "1 when the segment could be read at this scrape, else 0", o->om);
		for (size_t s = 0; s < pi->nsrc; s++) {
			fputs("shmstat_segment_up{segment=\"", f);
			prom_escape(f, pi->src[s].segment, strlen(pi->src[s].segment));
			fprintf(f, "\"} %d\n", pi->src[s].snap ? 1 : 0);
		}
		segment_health(f, pi);
		dropped_metrics(f, pi);
		if (o->max_series || o->max_bytes) {
			meta(f, "shmstat_scrape_truncated", "gauge", NULL,
			     "1 when series of the segment were left out of this scrape "
			     "(past the exporter's series or bytes limit), else 0", o->om);
			for (size_t s = 0; s < pi->nsrc; s++) {
				fputs("shmstat_scrape_truncated{segment=\"", f);
				prom_escape(f, pi->src[s].segment, strlen(pi->src[s].segment));
				fprintf(f, "\"} %d\n", pi->cut[s]);
			}
		}
	}
	if (o->started_ns) {
		char b[48];

		meta(f, "shmstat_scrape_duration_seconds", "gauge", "seconds",
		     "time this exposition took, from the request to its last family", o->om);
		fmt_seconds(b, sizeof(b), mono_ns() - o->started_ns, 0);
		fprintf(f, "shmstat_scrape_duration_seconds %s\n", b);
	}
	if (o->tail)
		fputs(o->tail, f);
	if (o->om)
		fputs("# EOF\n", f);
}

/* Memory stream *@f (opened on @buf, @size when NULL) rewound: what is
 * written next is all *@size counts at the next fflush. NULL when out
 * of memory. */
static FILE *rewound(FILE **f, char **buf, size_t *size)
{
	if (*f == NULL)
		return *f = open_memstream(buf, size);
	return fseeko(*f, 0, SEEK_SET) == 0 ? *f : NULL;
}

/* The next piece into pi->buf: whole families or items, at least PIECE
 * bytes unless it is the last. 0 or ENOMEM. */
static int next_piece(struct prom_iter *pi)
{
	pi->len = pi->pos = 0;
	while (pi->len < PIECE && pi->stage < 2) {
		const struct item *x = NULL;
		const char *t;
		size_t tn, lines = 0, need;
		FILE *f;
		int is_tail = 0, err;

		if (pi->stage == 0 && pi->k >= pi->b) {    /* the next family */
			pi->has_hdr = 0;       /* no sample kept: no header */
			pi->a = pi->b;
			if (pi->a >= pi->n) {
				pi->stage = 1;
				continue;
			}
			for (pi->b = pi->a + 1;
			     pi->b < pi->n && strcmp(pi->it[pi->b].fam, pi->it[pi->a].fam) == 0;
			     pi->b++)
				;
			pi->k = pi->a;
		}
		if (pi->stage == 0 && pi->k == pi->a && !pi->has_hdr &&
		    pi->it[pi->a].m.type != SHMSTAT_SIGTABLE) {
			const struct item *first = &pi->it[pi->a];

			/* kept until a sample follows it */
			f = rewound(&pi->hf, &pi->hdr, &pi->hdrlen);
			if (f == NULL)
				return ENOMEM;
			meta(f, first->fam, shmstat_type_name(first->m.type),
			     !first->unit ? NULL : first->unit == EXPO_SECONDS ? "seconds" : "bytes",
			     first->m.help, pi->o.om);
			if (fflush(f) != 0 || ferror(f))
				return ENOMEM;
			pi->has_hdr = 1;
		}
		f = rewound(&pi->mf, &pi->mbuf, &pi->msize);
		if (f == NULL)
			return ENOMEM;
		if (pi->stage == 1) {
			render_tail(f, pi);
			pi->stage = 2;
			is_tail = 1;
		} else if (pi->k == pi->a && pi->it[pi->a].m.type == SHMSTAT_SIGTABLE) {
			size_t k = pi->a;

			/* tables only (drop_clashes() left out any other
			 * type of the name) */
			while (k < pi->b && pi->it[k].m.type == SHMSTAT_SIGTABLE)
				k++;
			sig_group(f, &pi->it[pi->a], k - pi->a, pi->src, &pi->o, pi);
			pi->k = pi->b;
		} else {
			x = &pi->it[pi->k++];
			if (x->m.type == pi->it[pi->a].m.type)
				render_item(f, pi, x);
		}
		if (fflush(f) != 0 || ferror(f))
			return ENOMEM;
		t = pi->mbuf;
		tn = pi->msize;
		if (tn == 0)
			continue;
		if (x) {                        /* one item: all of it or none */
			for (size_t i = 0; i < tn; i++)
				lines += t[i] == '\n';
			if (pi->o.max_series && pi->series[x->src] + lines > pi->o.max_series) {
				pi->cut[x->src] = 1;
				continue;
			}
			pi->series[x->src] += lines;
		}
		need = tn + (x && pi->has_hdr ? pi->hdrlen : 0);
		if (!is_tail && pi->o.max_bytes && pi->bytes + need > pi->o.max_bytes) {
			/* the byte limit: what is left is cut, the tail follows */
			for (size_t k = x ? pi->k - 1 : pi->a; k < pi->n; k++)
				pi->cut[pi->it[k].src] = 1;
			pi->stage = 1;
			continue;
		}
		err = 0;
		if (x && pi->has_hdr) {
			err = put(pi, pi->hdr, pi->hdrlen);
			pi->has_hdr = 0;
		}
		if (err == 0)
			err = put(pi, t, tn);
		if (err)
			return err;
		pi->bytes += need;
	}
	return 0;
}

/* ------------------------------------------------------------ name clashes */

static int same_metric(const struct item *x, const struct item *y)
{
	return x->m.type == y->m.type && x->unit == y->unit && strcmp(x->m.name, y->m.name) == 0;
}

struct same_arg {
	const struct item *it, *x;
};

/* Is item @i of @arg's items of @arg's item's metric? */
static int same_as(int i, void *arg)
{
	const struct same_arg *a = arg;

	return same_metric(&a->it[i], a->x);
}

/* Leave out of pi->it (sorted) every metric whose names clash with an
 * earlier one's or with the exporter's own (promnames.h), counted in
 * pi->dropped: whatever a writer registered, the exposition has each
 * name once. The first item kept under a key stands for its metric:
 * the metric's items in other segments take the same names. The items
 * of a metric one after another are judged once. 0 or ENOMEM. */
static int drop_clashes(struct prom_iter *pi)
{
	struct prom_names *names = prom_names_new();
	size_t kept = 0;
	int err = names && pi->n <= INT_MAX ? 0 : ENOMEM, why = -1;

	for (size_t i = 0; i < pi->n && err == 0; i++) {
		struct item *x = &pi->it[i];

		if (i > 0 && x->src == pi->it[i - 1].src && same_metric(x, &pi->it[i - 1]) &&
		    strcmp(x->m.labels, pi->it[i - 1].m.labels) == 0) {
			/* its series again: the first descriptor's are kept */
			if (why < 0 && pi->o.warn)
				warnf("warning: %s %s{%s} left out of the exposition: a metric of "
				      "the same name and labels comes before it",
				      shmstat_type_name(x->m.type), x->m.name, x->m.labels);
			pi->dropped[x->src * NDROP + (size_t)(why >= 0 ? why : DROP_DUPLICATE)]++;
			continue;
		}
		if (i == 0 || !same_metric(x, &pi->it[i - 1])) {
			struct same_arg a = { pi->it, x };

			why = prom_names_take(names, &x->m, x->fam, x->keylen, (int)kept, same_as,
					      &a, pi->o.warn);
		}
		if (why == -2) {
			err = ENOMEM;
			break;
		}
		if (why >= 0)
			pi->dropped[x->src * NDROP + (size_t)why]++;
		else if (kept++ != i)
			pi->it[kept - 1] = *x;
	}
	pi->n = kept;
	prom_names_free(names);
	return err;
}

int prom_iter_new(const struct prom_src *src, size_t nsrc, const struct prom_opts *o,
		  struct prom_iter **out)
{
	struct prom_iter *pi = calloc(1, sizeof(*pi));
	size_t cap = 0;

	*out = NULL;
	if (pi == NULL)
		return ENOMEM;
	pi->src = src;
	pi->nsrc = nsrc;
	pi->o = *o;
	for (size_t s = 0; s < nsrc; s++)
		if (src[s].snap)
			cap += src[s].order ? src[s].n : shmstat_snap_metrics(src[s].snap);
	pi->it = malloc((cap ? cap : 1) * sizeof(*pi->it));
	pi->series = calloc(nsrc ? nsrc : 1, sizeof(*pi->series));
	pi->cut = calloc(nsrc ? nsrc : 1, 1);
	pi->dropped = calloc(nsrc ? nsrc * NDROP : 1, sizeof(*pi->dropped));
	if (pi->it == NULL || pi->series == NULL || pi->cut == NULL || pi->dropped == NULL) {
		prom_iter_free(pi);
		return ENOMEM;
	}
	for (size_t s = 0; s < nsrc; s++) {
		size_t nm;

		if (src[s].snap == NULL)
			continue;
		nm = src[s].order ? src[s].n : shmstat_snap_metrics(src[s].snap);
		for (size_t k = 0; k < nm; k++) {
			struct item *x = &pi->it[pi->n];

			x->src = s;
			x->idx = src[s].order ? src[s].order[k] : k;
			if (shmstat_snap_metric(src[s].snap, x->idx, &x->m) != 0)
				continue;
			if (x->m.type == SHMSTAT_GAUGE && !x->m.has_value)
				continue;
			names_of(x, o->om);
			pi->n++;
		}
	}
	qsort(pi->it, pi->n, sizeof(*pi->it), by_family);
	if (drop_clashes(pi) != 0) {
		prom_iter_free(pi);
		return ENOMEM;
	}
	*out = pi;
	return 0;
}

size_t prom_iter_read(struct prom_iter *pi, char *out, size_t max)
{
	size_t n;

	if (pi->pos == pi->len) {
		if (pi->stage == 2 || pi->err)
			return 0;
		pi->err = next_piece(pi);
		if (pi->err || pi->len == 0)
			return 0;
	}
	n = pi->len - pi->pos < max ? pi->len - pi->pos : max;
	memcpy(out, pi->buf + pi->pos, n);
	pi->pos += n;
	return n;
}

int prom_iter_error(const struct prom_iter *pi)
{
	return pi->err;
}

void prom_iter_free(struct prom_iter *pi)
{
	if (pi == NULL)
		return;
	free(pi->it);
	free(pi->series);
	free(pi->cut);
	free(pi->dropped);
	/* memory streams: nothing to lose on close */
	if (pi->hf != NULL)
		(void)fclose(pi->hf);
	if (pi->mf != NULL)
		(void)fclose(pi->mf);
	free(pi->hdr);
	free(pi->mbuf);
	free(pi->buf);
	free(pi);
}

int prom_render(FILE *f, const struct prom_src *src, size_t nsrc, const struct prom_opts *o)
{
	struct prom_iter *pi;
	char buf[16384];
	size_t n;
	int err;

	if (prom_iter_new(src, nsrc, o, &pi) != 0)
		return ENOMEM;
	while ((n = prom_iter_read(pi, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, n, f) != n)
			break;          /* the caller sees ferror(f) */
	err = prom_iter_error(pi);
	prom_iter_free(pi);
	return err;
}
