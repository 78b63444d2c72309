/*
 * export.c - machine formats of a snapshot: JSON, Prometheus
 * text 0.0.4, OpenMetrics 1.0, CSV. Used by `shmstat show`.
 *
 * The Prometheus and OpenMetrics forms are prom.c's (one segment, le
 * bounds the powers of two minus one, the top EXPORT_TOP keys of
 * signature tables).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "cli.h"
#include "export.h"
#include "numfmt.h"
#include "prom.h"

#define EXPORT_TOP 10

static const double qs[] = { 0.5, 0.9, 0.95, 0.99, 0.999 };
static const char *const qnames[] = { "0.5", "0.9", "0.95", "0.99", "0.999" };
#define NQ (sizeof(qs) / sizeof(qs[0]))

/* ---------------------------------------------------------------- JSON */

/* @v in decimal: what fprintf's PRIu64 prints, at a fraction of its cost
 * (show --json of 100,000 metrics prints 200,000 of them) */
static void put_u64(FILE *f, uint64_t v)
{
	char b[20];

	(void)fwrite_unlocked(b, 1, num_u64(b, v), f);
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
		json_put_bytes(f, l, (size_t)(eq - l), 0);
		fputc(':', f);
		l = eq + 2;
		while (*l && *l != '"' && v + 1 < sizeof(val)) {
			if (*l == '\\' && l[1]) {
				l++;
				val[v++] = (char)(*l == 'n' ? '\n' : *l);
			} else {
				val[v++] = *l;
			}
			l++;
		}
		val[v] = '\0';
		json_put(f, val);
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
	char sum[HSUM_LEN];
	int first = 1, exact;

	if (shmstat_snap_hist(s, i, SHMSTAT_PROC_ALL, &h) != 0) {
		fputs("null", f);
		return;
	}
	shmstat_hdata_stats(h, &st);
	hsum_digits(sum, h, &exact);
	fprintf(f, "{\"count\":%" PRIu64 ",\"sum\":%s,\"sum_exact\":%s,\"min\":%" PRIu64
		",\"max\":%" PRIu64 ",\"mean\":%.17g,\"underflow\":%" PRIu64
		",\"overflow\":%" PRIu64 ",\"lowest\":%" PRIu64 ",\"highest\":%" PRIu64
		",\"bits\":%u,\"quantiles\":{", st.count, sum, exact ? "true" : "false",
		st.min, st.max, st.mean, st.underflow, st.overflow, st.lowest, st.highest, st.bits);
	if (st.count && shmstat_hdata_quantiles(h, qs, NQ, out) == 0)
		for (size_t k = 0; k < NQ; k++)
			fprintf(f, "%s\"%s\":%" PRIu64, k ? "," : "", qnames[k], out[k]);
	fputs("},\"buckets\":[", f);
	for (size_t k = shmstat_hdata_next(h, 0), nb = shmstat_hdata_buckets(h); k < nb;
	     k = shmstat_hdata_next(h, k + 1)) {
		uint64_t lo, hi, c;

		shmstat_hdata_bucket(h, k, &lo, &hi, &c);
		/* [lo,hi,c]: a bucket in use, of thousands a histogram has */
		fputs_unlocked(first ? "[" : ",[", f);
		put_u64(f, lo);
		fputc_unlocked(',', f);
		put_u64(f, hi);
		fputc_unlocked(',', f);
		put_u64(f, c);
		fputc_unlocked(']', f);
		first = 0;
	}
	fputs("]}", f);
	shmstat_hdata_free(h);
}

int export_sig_json(FILE *f, const shmstat_snap *s, size_t i, enum shmstat_sig_order by,
		    const char *owner, size_t top, uint64_t hv)
{
	struct shmstat_sigstats st;
	shmstat_sigview *v;
	size_t *idx = malloc((top ? top : 1) * sizeof(*idx)), n;
	int seen = owner == NULL || owner[0] == '\0';

	if (idx == NULL || shmstat_snap_sigtab(s, i, &v) != 0) {
		free(idx);
		fputs("null", f);
		return 1;
	}
	shmstat_sigview_stats(v, &st);
	fprintf(f, "{\"capacity\":%u,\"key_bytes\":%u,\"summaries\":%u,\"keys\":%u,"
		"\"skipped\":%u,\"events\":%" PRIu64 ",\"hits\":%" PRIu64 ",\"misses\":%" PRIu64
		",\"weight\":%" PRIu64 ",\"evictions\":%" PRIu64 ",\"filtered\":%" PRIu64
		",\"unsummarized\":%" PRIu64 ",\"max_error\":%" PRIu64 ",\"error_bound\":%" PRIu64
		",\"top\":[",
		st.capacity, st.key_bytes, st.summaries, st.used, st.skipped, st.events, st.hits,
		st.misses, st.weight, st.evictions, st.filtered, st.unsummarized, st.max_error,
		st.error_bound);
	n = shmstat_sigview_top(v, by, owner, top, idx);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;

		shmstat_sigview_entry(v, idx[k], &e);
		fputs(k ? ",{\"key\":" : "{\"key\":", f);
		if (e.has_key)
			json_put_bytes(f, e.key, e.key_len, 1);
		else
			fputs("null", f);   /* its hash alone is known */
		fprintf(f, ",\"key_len\":%u,\"cut\":%s,\"hash\":\"%016" PRIx64 "\",\"owner\":",
			e.full_len, e.full_len > e.key_len ? "true" : "false", e.hash);
		json_put(f, e.owner);
		fprintf(f, ",\"hits\":%" PRIu64 ",\"misses\":%" PRIu64 ",\"error\":%" PRIu64
			",\"weight\":%" PRIu64 ",\"weight_error\":%" PRIu64 ",\"high_value\":%s"
			",\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64 ",\"expired\":%s}",
			e.hits - e.err_hits, e.misses - e.err_misses, e.err_hits,
			e.weight - e.err_weight, e.err_weight,
			e.hits - e.err_hits >= hv ? "true" : "false", e.first_ns,
			e.last_ns, e.expired ? "true" : "false");
	}
	fputs("],\"owners\":[", f);
	for (size_t k = 0, any = 0; k < shmstat_sigview_owners(v); k++) {
		struct shmstat_sigowner_info oi;

		shmstat_sigview_owner(v, k, &oi);
		if (owner && strcmp(owner, oi.name) != 0)
			continue;
		seen = 1;
		fputs(any ? ",{\"owner\":" : "{\"owner\":", f);
		any = 1;
		json_put(f, oi.name);
		fprintf(f, ",\"hits\":%" PRIu64 ",\"misses\":%" PRIu64 ",\"weight\":%" PRIu64 "}",
			oi.hits, oi.misses, oi.weight);
	}
	fputs("]}", f);
	shmstat_sigview_free(v);
	free(idx);
	return seen;
}

/* Schema shmstat.show/2 (docs/shmstat.md), written as it goes. */
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

double rate_since(uint64_t counter, uint64_t created_ns, uint64_t taken_ns)
{
	return taken_ns > created_ns ? (double)counter / ((double)(taken_ns - created_ns) / 1e9) :
	       NAN;
}

/* ,"rate":R (per second; null when there is none) of metric @i, @m,
 * in a snapshot taken at @taken_ns */
static void jrate(FILE *f, const struct export_rates *rates, size_t i,
		  const struct shmstat_metric_info *m, uint64_t taken_ns)
{
	double r;

	if (rates == NULL)
		return;
	r = rates->rate ? rates->rate[i] : rate_since(m->counter, m->created_ns, taken_ns);
	if (isfinite(r)) {
		char b[NUM_LEN];
		const size_t n = num_g(b, sizeof(b), r, 17);

		fputs_unlocked(",\"rate\":", f);
		(void)fwrite_unlocked(b, 1, n, f);
	} else
		fputs(",\"rate\":null", f);
}

static int export_json(FILE *f, const char *name, const shmstat_snap *s, const size_t *order,
		       size_t n, int per_process, const struct export_rates *rates)
{
	struct shmstat_seg_info info;

	shmstat_snap_info(s, &info);
	fputs("{\"schema\":\"shmstat.show/2\",", f);
	if (rates && rates->over_ns)
		fprintf(f, "\"rate_interval_ns\":%" PRIu64 ",", rates->over_ns);
	else if (rates)
		fputs("\"rate_interval_ns\":null,", f);
	fputs("\"segment\":{\"name\":", f);
	json_put(f, name);
	fprintf(f, ",\"size\":%" PRIu64 ",\"generation\":\"%016" PRIx64 "\",\"created_ns\":%"
		PRIu64 ",\"taken_ns\":%" PRIu64 ",\"writers_alive\":%u,\"writers_dead\":%u,"
		"\"dropped_registrations\":%" PRIu64 ",\"removed\":%s,\"profile\":{\"max_stacks\":%u,"
		"\"stacks\":%" PRIu64 ",\"modules\":%" PRIu64 ",\"dropped_samples\":%" PRIu64
		"}},\"metrics\":[",
		info.size, info.generation, info.created_ns, info.taken_ns, info.writers_alive,
		info.writers_dead, info.dropped_regs, info.removed ? "true" : "false",
		info.max_stacks, info.profile_stacks, info.profile_modules, info.profile_dropped);

	for (size_t k = 0; k < n; k++) {
		struct shmstat_metric_info m;

		if (k + PREFETCH_AHEAD < n) {
			shmstat_snap_prefetch(s, order[k + PREFETCH_AHEAD]);
			if (rates && rates->rate)
				__builtin_prefetch(&rates->rate[order[k + PREFETCH_AHEAD]]);
		}
		shmstat_snap_metric(s, order[k], &m);
		fputs(k ? ",\n{\"name\":" : "\n{\"name\":", f);
		json_put(f, m.name);
		fputs(",\"labels\":", f);
		jlabels(f, m.labels);
		fputs_unlocked(",\"type\":\"", f);
		fputs_unlocked(shmstat_type_name(m.type), f);
		fputs_unlocked("\",\"help\":", f);
		json_put(f, m.help);
		fputs(",\"unit\":", f);
		json_put(f, m.unit);
		fputs_unlocked(",\"reg_id\":", f);
		put_u64(f, m.reg_id);
		switch (m.type) {
		case SHMSTAT_COUNTER:
			fputs_unlocked(",\"value\":", f);
			put_u64(f, m.counter);
			jrate(f, rates, order[k], &m, info.taken_ns);
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
			jrate(f, rates, order[k], &m, info.taken_ns);
			break;
		case SHMSTAT_SIGTABLE:
			fputs(",\"sigtable\":", f);
			export_sig_json(f, s, order[k], SHMSTAT_BY_HITS, NULL, EXPORT_TOP, SIG_HIGH_VALUE);
			jrate(f, rates, order[k], &m, info.taken_ns);
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
			json_put(f, p.comm);
			/* a writer of another pid namespace counts as alive;
			 * liveness says it is not known */
			fprintf(f,
				",\"alive\":%s,\"liveness\":\"%s\",\"stripes\":%u,"
				"\"attach_ns\":%" PRIu64 "}",
				p.alive ? "true" : "false",
				p.alive < 0 ? "unknown" : p.alive ? "alive" : "dead", p.stripes,
				p.attach_ns);
		}
		fputc(']', f);
	}
	fputs("}\n", f);
	if (!ferror(f))
		return EXIT_OK;
	stdout_error_said |= f == stdout;
	return die(EXIT_ERR, "cannot write JSON");
}

/* ----------------------------------------------------------------- CSV */

/* @raw with its control characters escaped (no CR or LF is left in a
 * field), quoted when it holds a comma or a quote */
static void csv_field(FILE *f, const char *raw)
{
	char buf[1024];
	const char *s = text_safe(buf, sizeof(buf), raw);

	if (strpbrk(s, ",\"\n\r") == NULL) {
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
			char sum[HSUM_LEN] = "0";
			shmstat_hdata *h;

			if (shmstat_snap_hist(s, order[k], SHMSTAT_PROC_ALL, &h) == 0) {
				shmstat_hdata_stats(h, &st);
				hsum_digits(sum, h, NULL);
				if (st.count)
					shmstat_hdata_quantiles(h, q3, 3, out);
				shmstat_hdata_free(h);
			}
			fprintf(f, ",%" PRIu64 ",%s,%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
				",%" PRIu64 "\n", st.count, sum, st.mean, out[0], out[1], out[2],
				st.max);
		} else {
			fputs(",,,,,,,\n", f);
		}
	}
	return EXIT_OK;
}

int export_snapshot(FILE *f, enum export_format fmt, const char *name, const shmstat_snap *s,
		    const size_t *order, size_t n, int per_process,
		    const struct export_rates *rates)
{
	switch (fmt) {
	case EXPORT_JSON: return export_json(f, name, s, order, n, per_process, rates);
	case EXPORT_PROM:
	case EXPORT_OPENMETRICS: {
		struct prom_src src = { name, s, order, n };
		struct prom_opts o = { .om = fmt == EXPORT_OPENMETRICS, .le_per_octave = 1,
				       .top = EXPORT_TOP, .warn = 1 };

		return prom_render(f, &src, 1, &o)
			       ? die(EXIT_ERR, "out of memory rendering segment '%s'", name)
			       : EXIT_OK;
	}
	case EXPORT_CSV: return export_csv(f, s, order, n);
	default: return EXIT_ERR;
	}
}
