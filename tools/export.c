/*
 * export.c - machine formats of a snapshot: JSON, Prometheus
 * text 0.0.4, OpenMetrics 1.0, CSV. Used by `shmstat show`.
 *
 * Histograms are exported with classic cumulative buckets whose bounds
 * are the powers of two (minus one) from the histogram's lowest value up
 * to its highest: exact counts, since each log-linear bucket lies inside
 * one power of two. Signature tables are exported as their exact totals
 * per owner and their top EXPORT_TOP keys by hits.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "cmd.h"
#include "export.h"

#define EXPORT_TOP 10

static const double qs[] = { 0.5, 0.9, 0.95, 0.99, 0.999 };
static const char *const qnames[] = { "0.5", "0.9", "0.95", "0.99", "0.999" };
#define NQ (sizeof(qs) / sizeof(qs[0]))

/* ---------------------------------------------------------------- JSON */

/* A JSON string (RFC 8259): quotes, backslash and control characters
 * escaped; other bytes as they are (labels and help are UTF-8; key
 * prefixes may not be: their other bytes are escaped as \u00XX). */
static void jstr(FILE *f, const char *s, size_t n, int bytes)
{
	fputc('"', f);
	for (size_t i = 0; i < n && (bytes || s[i]); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || (bytes && c >= 0x7f))
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void js(FILE *f, const char *s)
{
	jstr(f, s, strlen(s), 0);
}

/* Canonical labels k="v",... (our escaping: \\ \" \n) as an object. */
static void jlabels(FILE *f, const char *l)
{
	int first = 1;

	fputc('{', f);
	while (*l) {
		const char *eq = strchr(l, '=');
		char val[512];
		size_t v = 0;

		if (eq == NULL || eq[1] != '"')
			break;
		if (!first)
			fputc(',', f);
		first = 0;
		jstr(f, l, (size_t)(eq - l), 0);
		fputc(':', f);
		l = eq + 2;
		while (*l && *l != '"' && v + 1 < sizeof(val)) {
			if (*l == '\\' && l[1]) {
				l++;
				val[v++] = *l == 'n' ? '\n' : *l;
			} else {
				val[v++] = *l;
			}
			l++;
		}
		val[v] = '\0';
		js(f, val);
		if (*l == '"')
			l++;
		if (*l == ',')
			l++;
	}
	fputc('}', f);
}

static void hist_json(FILE *f, const shmstat_snap *s, size_t i)
{
	struct shmstat_hstats st;
	shmstat_hdata *h;
	uint64_t out[NQ];
	int first = 1;

	if (shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &h) != 0) {
		fputs("null", f);
		return;
	}
	shmstat_hdata_stats(h, &st);
	fprintf(f, "{\"count\":%" PRIu64 ",\"sum\":%" PRIu64 ",\"min\":%" PRIu64
		",\"max\":%" PRIu64 ",\"mean\":%.17g,\"underflow\":%" PRIu64
		",\"overflow\":%" PRIu64 ",\"lowest\":%" PRIu64 ",\"highest\":%" PRIu64
		",\"bits\":%u,\"quantiles\":{", st.count, st.sum, st.min, st.max, st.mean,
		st.underflow, st.overflow, st.lowest, st.highest, st.bits);
	if (st.count && shmstat_hdata_quantiles(h, qs, NQ, out) == 0)
		for (size_t k = 0; k < NQ; k++)
			fprintf(f, "%s\"%s\":%" PRIu64, k ? "," : "", qnames[k], out[k]);
	fputs("},\"buckets\":[", f);
	for (size_t k = 0; k < shmstat_hdata_buckets(h); k++) {
		uint64_t lo, hi, c;

		shmstat_hdata_bucket(h, k, &lo, &hi, &c);
		if (!c)
			continue;
		fprintf(f, "%s[%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", first ? "" : ",", lo, hi, c);
		first = 0;
	}
	fputs("]}", f);
	shmstat_hdata_free(h);
}

static void sig_json(FILE *f, const shmstat_snap *s, size_t i)
{
	struct shmstat_sigstats st;
	shmstat_sigview *v;
	size_t idx[EXPORT_TOP], n;

	if (shmstat_snap_sigtab(s, i, &v) != 0) {
		fputs("null", f);
		return;
	}
	shmstat_sigview_stats(v, &st);
	fprintf(f, "{\"capacity\":%u,\"keys\":%u,\"skipped\":%u,\"hits\":%" PRIu64
		",\"misses\":%" PRIu64 ",\"weight\":%" PRIu64 ",\"evictions\":%" PRIu64
		",\"dropped\":%" PRIu64 ",\"top\":[", st.capacity, st.used, st.skipped, st.hits,
		st.misses, st.weight, st.evictions, st.dropped);
	n = shmstat_sigview_top(v, SHMSTAT_BY_HITS, NULL, EXPORT_TOP, idx);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;

		shmstat_sigview_entry(v, idx[k], &e);
		fputs(k ? ",{\"key\":" : "{\"key\":", f);
		jstr(f, e.prefix, e.prefix_len, 1);
		fprintf(f, ",\"keylen\":%u,\"owner\":", e.keylen);
		js(f, e.owner);
		fprintf(f, ",\"hits\":%" PRIu64 ",\"misses\":%" PRIu64 ",\"weight\":%" PRIu64
			",\"error\":%" PRIu64 ",\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64
			",\"expired\":%s}", e.hits, e.misses, e.weight, e.err_hits, e.first_ns,
			e.last_ns, e.expired ? "true" : "false");
	}
	fputs("],\"owners\":[", f);
	for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
		struct shmstat_sigowner_info oi;

		shmstat_sigview_owner(v, k, &oi);
		fputs(k ? ",{\"owner\":" : "{\"owner\":", f);
		js(f, oi.name);
		fprintf(f, ",\"hits\":%" PRIu64 ",\"misses\":%" PRIu64 ",\"weight\":%" PRIu64 "}",
			oi.hits, oi.misses, oi.weight);
	}
	fputs("]}", f);
	shmstat_sigview_free(v);
}

/* Schema shmstat.show/1 (docs/shmstat.md), written as it goes. */
/* "per_process":[{"pid":P,"value":V}...],"gone":V for counters, gauges
 * and histograms (the count); values a process does not have are left out */
static void jshares(FILE *f, const shmstat_snap *s, size_t i,
		    const struct shmstat_metric_info *m)
{
	size_t np = shmstat_snap_procs(s);
	int first = 1;
	uint64_t c;
	int64_t g;

	if (m->type == SHMSTAT_SIGTABLE)
		return;
	fputs(",\"per_process\":[", f);
	for (size_t j = 0; j < np; j++) {
		struct shmstat_proc_info p;

		if (shmstat_snap_metric_proc(s, i, j, &c, &g) != 0 || shmstat_snap_proc(s, j, &p))
			continue;
		fprintf(f, "%s{\"pid\":%d,\"value\":", first ? "" : ",", (int)p.pid);
		if (m->type == SHMSTAT_GAUGE)
			fprintf(f, "%" PRId64 "}", g);
		else
			fprintf(f, "%" PRIu64 "}", c);
		first = 0;
	}
	fputc(']', f);
	if (shmstat_snap_metric_proc(s, i, SHMSTAT_PROC_GONE, &c, &g) == 0) {
		if (m->type == SHMSTAT_GAUGE)
			fprintf(f, ",\"gone\":%" PRId64, g);
		else
			fprintf(f, ",\"gone\":%" PRIu64, c);
	}
}

static int export_json(FILE *f, const char *name, const shmstat_snap *s, const size_t *order,
		       size_t n, int per_process)
{
	struct shmstat_seg_info info;

	shmstat_snap_info(s, &info);
	fputs("{\"schema\":\"shmstat.show/1\",\"segment\":{\"name\":", f);
	js(f, name);
	fprintf(f, ",\"size\":%" PRIu64 ",\"generation\":\"%016" PRIx64 "\",\"created_ns\":%"
		PRIu64 ",\"taken_ns\":%" PRIu64 ",\"writers_alive\":%u,\"writers_dead\":%u,"
		"\"dropped_registrations\":%" PRIu64 ",\"removed\":%s},\"metrics\":[",
		info.size, info.generation, info.created_ns, info.taken_ns, info.writers_alive,
		info.writers_dead, info.dropped_regs, info.removed ? "true" : "false");

	for (size_t k = 0; k < n; k++) {
		struct shmstat_metric_info m;

		shmstat_snap_metric(s, order[k], &m);
		fputs(k ? ",\n{\"name\":" : "\n{\"name\":", f);
		js(f, m.name);
		fputs(",\"labels\":", f);
		jlabels(f, m.labels);
		fprintf(f, ",\"type\":\"%s\",\"help\":", shmstat_type_name(m.type));
		js(f, m.help);
		fputs(",\"unit\":", f);
		js(f, m.unit);
		fprintf(f, ",\"reg_id\":%" PRIu64, m.reg_id);
		switch (m.type) {
		case SHMSTAT_COUNTER:
			fprintf(f, ",\"value\":%" PRIu64, m.counter);
			break;
		case SHMSTAT_GAUGE:
			fprintf(f, ",\"aggregation\":\"%s\",\"value\":", shmstat_agg_name(m.agg));
			if (m.has_value)
				fprintf(f, "%" PRId64, m.gauge);
			else
				fputs("null", f);
			break;
		case SHMSTAT_HISTOGRAM:
			fputs(",\"histogram\":", f);
			hist_json(f, s, order[k]);
			break;
		case SHMSTAT_SIGTABLE:
			fputs(",\"sigtable\":", f);
			sig_json(f, s, order[k]);
			break;
		}
		if (per_process)
			jshares(f, s, order[k], &m);
		fputc('}', f);
	}
	fputc(']', f);
	if (per_process) {
		fputs(",\"processes\":[", f);
		for (size_t j = 0; j < shmstat_snap_procs(s); j++) {
			struct shmstat_proc_info p;

			shmstat_snap_proc(s, j, &p);
			fprintf(f, "%s{\"pid\":%d,\"comm\":", j ? "," : "", (int)p.pid);
			js(f, p.comm);
			fprintf(f, ",\"alive\":%s,\"stripes\":%u,\"attach_ns\":%" PRIu64 "}",
				p.alive ? "true" : "false", p.stripes, p.attach_ns);
		}
		fputc(']', f);
	}
	fputs("}\n", f);
	return ferror(f) ? die(EXIT_ERR, "cannot write JSON") : EXIT_OK;
}

/* ---------------------------------------------------------- Prometheus */

/* Prometheus label value escaping: \ " and newline. */
static void prom_escape(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++) {
		if (s[i] == '\\' || s[i] == '"')
			fputc('\\', f);
		if (s[i] == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(s[i], f);
	}
}

/* {labels,extra} or {extra} or {labels} or "" */
static void prom_labels(FILE *f, const char *labels, const char *extra)
{
	if (!labels[0] && !(extra && extra[0]))
		return;
	fputc('{', f);
	fputs(labels, f);
	if (extra && extra[0]) {
		if (labels[0])
			fputc(',', f);
		fputs(extra, f);
	}
	fputc('}', f);
}

static void help_line(FILE *f, const char *name, const char *help)
{
	if (!help[0])
		help = "(no help given)";   /* promtool wants one */
	fprintf(f, "# HELP %s ", name);
	for (; *help; help++) {
		if (*help == '\\')
			fputs("\\\\", f);
		else
			fputc(*help, f);
	}
	fputc('\n', f);
}

/* Base name of a counter: OpenMetrics names the family without _total. */
static void family_of(char *buf, size_t n, const char *name, int om)
{
	size_t l = strlen(name);

	snprintf(buf, n, "%s", name);
	if (om && l > 6 && strcmp(name + l - 6, "_total") == 0)
		buf[l - 6] = '\0';
}

static void prom_hist(FILE *f, const shmstat_snap *s, size_t i,
		      const struct shmstat_metric_info *m)
{
	struct shmstat_hstats st;
	shmstat_hdata *h;
	uint64_t cum, bound;
	size_t nb, k = 0;
	char le[64];

	if (shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &h) != 0)
		return;
	shmstat_hdata_stats(h, &st);
	nb = shmstat_hdata_buckets(h);
	cum = st.underflow;
	/* bounds 2^j - 1, j from the first power of two above lowest */
	for (int j = 1; j <= 64; j++) {
		bound = j == 64 ? UINT64_MAX : (UINT64_C(1) << j) - 1;
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
		snprintf(le, sizeof(le), "le=\"%" PRIu64 "\"", bound);
		fprintf(f, "%s_bucket", m->name);
		prom_labels(f, m->labels, le);
		fprintf(f, " %" PRIu64 "\n", cum);
		if (bound == st.highest)
			break;
	}
	fprintf(f, "%s_bucket", m->name);
	prom_labels(f, m->labels, "le=\"+Inf\"");
	fprintf(f, " %" PRIu64 "\n", st.count);
	fprintf(f, "%s_sum", m->name);
	prom_labels(f, m->labels, NULL);
	fprintf(f, " %" PRIu64 "\n", st.sum);
	fprintf(f, "%s_count", m->name);
	prom_labels(f, m->labels, NULL);
	fprintf(f, " %" PRIu64 "\n", st.count);
	shmstat_hdata_free(h);
}

/* A signature table: per-owner exact totals as counters, top keys as
 * gauges; each a family of its own (name_hits_total, ...). */
static void prom_sig(FILE *f, const shmstat_snap *s, size_t i,
		     const struct shmstat_metric_info *m, int om)
{
	static const char *const what[] = { "hits", "misses", "weight" };
	shmstat_sigview *v;
	size_t idx[EXPORT_TOP], n;

	if (shmstat_snap_sigtab(s, i, &v) != 0)
		return;
	for (int w = 0; w < 3; w++) {
		struct shmstat_sigstats st;
		uint64_t total;

		shmstat_sigview_stats(v, &st);
		total = w == 0 ? st.hits : w == 1 ? st.misses : st.weight;
		{
			char fam[192], help[192];

			snprintf(fam, sizeof(fam), "%s_%s%s", m->name, what[w], om ? "" : "_total");
			snprintf(help, sizeof(help), "%s: %s, all keys and per owner",
				 m->help[0] ? m->help : m->name, what[w]);
			help_line(f, fam, help);
		}
		fprintf(f, "# TYPE %s_%s%s counter\n", m->name, what[w], om ? "" : "_total");
		fprintf(f, "%s_%s_total", m->name, what[w]);
		prom_labels(f, m->labels, NULL);
		fprintf(f, " %" PRIu64 "\n", total);
		for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
			struct shmstat_sigowner_info o;
			char lab[160];
			FILE *mf;
			char *buf = NULL;
			size_t blen = 0;

			shmstat_sigview_owner(v, k, &o);
			if (!o.name[0])
				continue;
			mf = open_memstream(&buf, &blen);
			if (mf == NULL)
				continue;
			fputs("owner=\"", mf);
			prom_escape(mf, o.name, strlen(o.name));
			fputc('"', mf);
			fclose(mf);
			snprintf(lab, sizeof(lab), "%s", buf);
			free(buf);
			fprintf(f, "%s_%s_total", m->name, what[w]);
			prom_labels(f, m->labels, lab);
			fprintf(f, " %" PRIu64 "\n",
				w == 0 ? o.hits : w == 1 ? o.misses : o.weight);
		}
	}
	{
		char fam[192], help[192];

		snprintf(fam, sizeof(fam), "%s_top_hits", m->name);
		snprintf(help, sizeof(help), "%s: hits of the top %d keys",
			 m->help[0] ? m->help : m->name, EXPORT_TOP);
		help_line(f, fam, help);
	}
	fprintf(f, "# TYPE %s_top_hits gauge\n", m->name);
	n = shmstat_sigview_top(v, SHMSTAT_BY_HITS, NULL, EXPORT_TOP, idx);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;
		char *buf = NULL;
		size_t blen = 0;
		FILE *mf = open_memstream(&buf, &blen);

		if (mf == NULL)
			continue;
		shmstat_sigview_entry(v, idx[k], &e);
		fputs("key=\"", mf);
		prom_escape(mf, e.prefix, e.prefix_len);
		fputs("\",owner=\"", mf);
		prom_escape(mf, e.owner, strlen(e.owner));
		fputc('"', mf);
		fclose(mf);
		fprintf(f, "%s_top_hits", m->name);
		prom_labels(f, m->labels, buf);
		fprintf(f, " %" PRIu64 "\n", e.hits);
		free(buf);
	}
	shmstat_sigview_free(v);
}

static int export_prom(FILE *f, const shmstat_snap *s, const size_t *order, size_t n, int om)
{
	const char *prev = NULL;
	char prevbuf[128] = "";

	for (size_t k = 0; k < n; k++) {
		struct shmstat_metric_info m;
		char fam[128];

		shmstat_snap_metric(s, order[k], &m);
		if (m.type == SHMSTAT_SIGTABLE) {
			prom_sig(f, s, order[k], &m, om);
			prev = NULL;
			prevbuf[0] = '\0';
			continue;
		}
		family_of(fam, sizeof(fam), m.name, om && m.type == SHMSTAT_COUNTER);
		/* one HELP/TYPE per family: the metrics come sorted by name */
		if (prev == NULL || strcmp(prevbuf, fam) != 0) {
			help_line(f, fam, m.help);
			fprintf(f, "# TYPE %s %s\n", fam, shmstat_type_name(m.type));
			snprintf(prevbuf, sizeof(prevbuf), "%s", fam);
			prev = prevbuf;
		}
		switch (m.type) {
		case SHMSTAT_COUNTER:
			fprintf(f, "%s%s", fam, om ? "_total" : "");
			if (!om && strcmp(fam, m.name) != 0)
				fprintf(f, "_total");
			prom_labels(f, m.labels, NULL);
			fprintf(f, " %" PRIu64 "\n", m.counter);
			break;
		case SHMSTAT_GAUGE:
			if (!m.has_value)
				break;
			fputs(m.name, f);
			prom_labels(f, m.labels, NULL);
			fprintf(f, " %" PRId64 "\n", m.gauge);
			break;
		case SHMSTAT_HISTOGRAM:
			prom_hist(f, s, order[k], &m);
			break;
		default:
			break;
		}
	}
	if (om)
		fputs("# EOF\n", f);
	return EXIT_OK;
}

/* ----------------------------------------------------------------- CSV */

static void csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int export_csv(FILE *f, const shmstat_snap *s, const size_t *order, size_t n)
{
	fputs("name,labels,type,value,count,sum,mean,p50,p95,p99,max\n", f);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_metric_info m;

		shmstat_snap_metric(s, order[k], &m);
		csv_field(f, m.name);
		fputc(',', f);
		csv_field(f, m.labels);
		fprintf(f, ",%s,", shmstat_type_name(m.type));
		if (m.type == SHMSTAT_COUNTER || m.type == SHMSTAT_SIGTABLE)
			fprintf(f, "%" PRIu64 ",,,,,,,\n", m.counter);
		else if (m.type == SHMSTAT_GAUGE && m.has_value)
			fprintf(f, "%" PRId64 ",,,,,,,\n", m.gauge);
		else if (m.type == SHMSTAT_HISTOGRAM) {
			static const double q3[] = { 0.5, 0.95, 0.99 };
			struct shmstat_hstats st = { 0 };
			uint64_t out[3] = { 0 };
			shmstat_hdata *h;

			if (shmstat_snap_hist(s, order[k], SHMSTAT_PROC_ALL, &h) == 0) {
				shmstat_hdata_stats(h, &st);
				if (st.count)
					shmstat_hdata_quantiles(h, q3, 3, out);
				shmstat_hdata_free(h);
			}
			fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
				",%" PRIu64 "\n", st.count, st.sum, st.mean, out[0], out[1], out[2],
				st.max);
		} else {
			fputs(",,,,,,,\n", f);
		}
	}
	return EXIT_OK;
}

int export_snapshot(FILE *f, enum export_format fmt, const char *name, const shmstat_snap *s,
		    const size_t *order, size_t n, int per_process)
{
	switch (fmt) {
	case EXPORT_JSON: return export_json(f, name, s, order, n, per_process);
	case EXPORT_PROM: return export_prom(f, s, order, n, 0);
	case EXPORT_OPENMETRICS: return export_prom(f, s, order, n, 1);
	case EXPORT_CSV: return export_csv(f, s, order, n);
	default: return EXIT_ERR;
	}
}
