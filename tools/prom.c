/*
 * prom.c - Prometheus text 0.0.4 and OpenMetrics 1.0 of snapshots
 * (prom.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "prom.h"
#include "textsafe.h"

/* @n bytes of @s (up to a NUL) as a label value (@quote) or HELP text:
 * backslash and newline escaped (and '"' in a value), as both formats
 * want; bytes that are not UTF-8, which both formats refuse (Prometheus
 * drops the whole scrape), as the text \xNN (its backslash escaped). */
static void prom_text(FILE *f, const char *s, size_t n, int quote)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0, l; i < n && s[i]; i += l) {
		uint32_t cp;

		l = utf8_seq(u + i, n - i, &cp);
		if (l == 0) {
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
	static const char *const sig[] = { "owner", "key", "hash", NULL };
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
 * owner, key, hash) renamed exported_KEY (exported_exported_KEY... until
 * no label has the name: Prometheus' rule for target labels), since a
 * name twice in a sample makes Prometheus drop the whole scrape. */
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

/* HELP: 0.0.4 escapes backslash and newline only (any other escape is
 * an error there); OpenMetrics the double quote too. */
static void help_line(FILE *f, const char *name, const char *help, int om)
{
	if (!help || !help[0])
		help = "(no help given)";   /* promtool wants one */
	fprintf(f, "# HELP %s ", name);
	prom_text(f, help, strlen(help), om);
	fputc('\n', f);
}

/* ----------------------------------------------------------------- items */

struct item {
	size_t src, idx;
	struct shmstat_metric_info m;
	char fam[160];
};

static int by_family(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->fam, y->fam);

	if (c)
		return c;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return strcmp(x->m.labels, y->m.labels);
}

/* The family of metric @m: a counter's name without _total in
 * OpenMetrics; a signature table's name (its families are made from it). */
static void family_of(char *buf, size_t n, const struct shmstat_metric_info *m, int om)
{
	size_t l = strlen(m->name);

	snprintf(buf, n, "%s", m->name);
	if (om && m->type == SHMSTAT_COUNTER && l > 6 && strcmp(m->name + l - 6, "_total") == 0 &&
	    l - 6 < n)
		buf[l - 6] = '\0';
}

/* ------------------------------------------------------------- histograms */

static void hist_samples(FILE *f, const struct item *it, const shmstat_snap *s,
			 const struct lab *l, unsigned per_octave)
{
	struct shmstat_hstats st;
	shmstat_hdata *h;
	uint64_t cum;
	size_t nb, k = 0;
	unsigned kk;
	char le[32];

	if (shmstat_snap_hist(s, it->idx, SHMSTAT_PROC_ALL, &h) != 0)
		return;
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
			for (; k < nb; k++) {
				uint64_t lo, hi, c;

				shmstat_hdata_bucket(h, k, &lo, &hi, &c);
				if (hi > bound)
					break;
				cum += c;
			}
			snprintf(le, sizeof(le), "%" PRIu64, bound);
			fprintf(f, "%s_bucket", it->m.name);
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
	fprintf(f, "%s_bucket", it->m.name);
	sample_labels(f, l, "le", "+Inf", 4);
	fprintf(f, " %" PRIu64 "\n", st.count);
	fprintf(f, "%s_sum", it->m.name);
	sample_labels(f, l, NULL, NULL, 0);
	fprintf(f, " %" PRIu64 "\n", st.sum);
	fprintf(f, "%s_count", it->m.name);
	sample_labels(f, l, NULL, NULL, 0);
	fprintf(f, " %" PRIu64 "\n", st.count);
	shmstat_hdata_free(h);
}

/* ------------------------------------------------------- signature tables */

/* The signature tables @it[0..n-1] of one name: per-owner exact totals
 * as three counter families, top keys by hits as a gauge family. Each
 * table's view is made once (it sums every stripe) for all four. */
static void sig_group(FILE *f, const struct item *it, size_t n, const struct prom_src *src,
		      const struct prom_opts *o)
{
	static const char *const what[] = { "hits", "misses", "weight" };
	const struct shmstat_metric_info *m0 = &it[0].m;
	shmstat_sigview **views = calloc(n ? n : 1, sizeof(shmstat_sigview *));
	size_t *idx = o->top ? malloc(o->top * sizeof(*idx)) : NULL;
	char fam[192], help[256];

	if (views == NULL) {
		free(idx);
		return;
	}
	for (size_t j = 0; j < n; j++)
		if (shmstat_snap_sigtab(src[it[j].src].snap, it[j].idx, &views[j]) != 0)
			views[j] = NULL;
	for (int w = 0; w < 3; w++) {
		snprintf(fam, sizeof(fam), "%s_%s%s", m0->name, what[w], o->om ? "" : "_total");
		snprintf(help, sizeof(help), "%s: %s, all keys and per owner",
			 m0->help[0] ? m0->help : m0->name, what[w]);
		help_line(f, fam, help, o->om);
		fprintf(f, "# TYPE %s counter\n", fam);
		for (size_t j = 0; j < n; j++) {
			const struct prom_src *sr = &src[it[j].src];
			struct lab l = { it[j].m.labels, o->segment_label ? sr->segment : NULL,
				  SHMSTAT_SIGTABLE };
			struct shmstat_sigstats st;
			const shmstat_sigview *v = views[j];

			if (v == NULL)
				continue;
			shmstat_sigview_stats(v, &st);
			fprintf(f, "%s_%s_total", m0->name, what[w]);
			sample_labels(f, &l, NULL, NULL, 0);
			fprintf(f, " %" PRIu64 "\n", w == 0 ? st.hits : w == 1 ? st.misses : st.weight);
			for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
				struct shmstat_sigowner_info oi;

				shmstat_sigview_owner(v, k, &oi);
				if (!oi.name[0])
					continue;
				fprintf(f, "%s_%s_total", m0->name, what[w]);
				sample_labels(f, &l, "owner", oi.name, strlen(oi.name));
				fprintf(f, " %" PRIu64 "\n",
					w == 0 ? oi.hits : w == 1 ? oi.misses : oi.weight);
			}
		}
	}
	/* the bounds of the table: the most any key may be off */
	snprintf(fam, sizeof(fam), "%s_max_error", m0->name);
	snprintf(help, sizeof(help), "%s: most events any key's count may miss",
		 m0->help[0] ? m0->help : m0->name);
	help_line(f, fam, help, o->om);
	fprintf(f, "# TYPE %s gauge\n", fam);
	for (size_t j = 0; j < n; j++) {
		const struct prom_src *sr = &src[it[j].src];
		struct lab l = { it[j].m.labels, o->segment_label ? sr->segment : NULL,
				  SHMSTAT_SIGTABLE };
		struct shmstat_sigstats st;

		if (views[j] == NULL)
			continue;
		shmstat_sigview_stats(views[j], &st);
		fprintf(f, "%s", fam);
		sample_labels(f, &l, NULL, NULL, 0);
		fprintf(f, " %" PRIu64 "\n", st.max_error);
	}
	/* the top keys by guaranteed hits: those hits, their error, and
	 * whether they are high-value, each a family of its own */
	for (int w = 0; w < 3; w++) {
		static const char *const suffix[] = { "top_hits", "top_hits_error",
						      "top_high_value" };
		static const char *const says[] = {
			"guaranteed hits of a top key (the truth is at most _top_hits_error more)",
			"error of _top_hits: the most hits a top key may have uncounted",
			"1 when a top key is high-value: at least 3 guaranteed hits",
		};

		snprintf(fam, sizeof(fam), "%s_%s", m0->name, suffix[w]);
		snprintf(help, sizeof(help), "%s: %s (top %u keys)",
			 m0->help[0] ? m0->help : m0->name, says[w], o->top);
		help_line(f, fam, help, o->om);
		fprintf(f, "# TYPE %s gauge\n", fam);
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

				shmstat_sigview_entry(views[j], idx[k], &e);
				g = e.hits - e.err_hits;
				fprintf(f, "%s", fam);
				labels_open(f, &l, &any);
				fputs(any ? ",key=\"" : "{key=\"", f);
				prom_escape(f, e.key, e.key_len);
				fputs("\",owner=\"", f);
				prom_escape(f, e.owner, strlen(e.owner));
				/* the hash too: keys cut to the same bytes, or
				 * known by their hash alone, stay apart */
				fprintf(f, "\",hash=\"%016" PRIx64 "\"} %" PRIu64 "\n", e.hash,
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

int prom_render(FILE *f, const struct prom_src *src, size_t nsrc, const struct prom_opts *o)
{
	struct item *it;
	size_t n = 0, cap = 0;

	for (size_t s = 0; s < nsrc; s++)
		if (src[s].snap)
			cap += src[s].order ? src[s].n : shmstat_snap_metrics(src[s].snap);
	it = malloc((cap ? cap : 1) * sizeof(*it));
	if (it == NULL)
		return ENOMEM;
	for (size_t s = 0; s < nsrc; s++) {
		size_t nm;

		if (src[s].snap == NULL)
			continue;
		nm = src[s].order ? src[s].n : shmstat_snap_metrics(src[s].snap);
		for (size_t k = 0; k < nm; k++) {
			struct item *x = &it[n];

			x->src = s;
			x->idx = src[s].order ? src[s].order[k] : k;
			if (shmstat_snap_metric(src[s].snap, x->idx, &x->m) != 0)
				continue;
			if (x->m.type == SHMSTAT_GAUGE && !x->m.has_value)
				continue;
			family_of(x->fam, sizeof(x->fam), &x->m, o->om);
			n++;
		}
	}
	qsort(it, n, sizeof(*it), by_family);
	for (size_t a = 0, b; a < n; a = b) {
		const struct item *first = &it[a];

		for (b = a + 1; b < n && strcmp(it[b].fam, first->fam) == 0; b++)
			;
		if (first->m.type == SHMSTAT_SIGTABLE) {
			size_t k = a;

			/* tables only: a same-named metric of another type
			 * in another segment is left out */
			while (k < b && it[k].m.type == SHMSTAT_SIGTABLE)
				k++;
			sig_group(f, &it[a], k - a, src, o);
			continue;
		}
		help_line(f, first->fam, first->m.help, o->om);
		fprintf(f, "# TYPE %s %s\n", first->fam, shmstat_type_name(first->m.type));
		for (size_t k = a; k < b; k++) {
			const struct item *x = &it[k];
			const struct prom_src *sr = &src[x->src];
			struct lab l = { x->m.labels, o->segment_label ? sr->segment : NULL,
				  x->m.type };

			if (x->m.type != first->m.type)
				continue;
			switch (x->m.type) {
			case SHMSTAT_COUNTER:
				/* 0.0.4: the name as registered; OpenMetrics:
				 * family + _total */
				if (o->om)
					fprintf(f, "%s_total", x->fam);
				else
					fputs(x->m.name, f);
				sample_labels(f, &l, NULL, NULL, 0);
				fprintf(f, " %" PRIu64 "\n", x->m.counter);
				break;
			case SHMSTAT_GAUGE:
				fputs(x->m.name, f);
				sample_labels(f, &l, NULL, NULL, 0);
				fprintf(f, " %" PRId64 "\n", x->m.gauge);
				break;
			case SHMSTAT_HISTOGRAM:
				hist_samples(f, x, sr->snap, &l, o->le_per_octave);
				break;
			default:
				break;
			}
		}
	}
	free(it);
	if (o->segment_label && nsrc) {
		help_line(f, "shmstat_segment_up",
			  "1 when the segment could be read at this scrape, else 0", o->om);
		fputs("# TYPE shmstat_segment_up gauge\n", f);
		for (size_t s = 0; s < nsrc; s++) {
			fputs("shmstat_segment_up{segment=\"", f);
			prom_escape(f, src[s].segment, strlen(src[s].segment));
			fprintf(f, "\"} %d\n", src[s].snap ? 1 : 0);
		}
	}
	if (o->om)
		fputs("# EOF\n", f);
	return 0;
}
