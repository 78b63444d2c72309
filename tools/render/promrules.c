/*
 * promrules.c - rules as Prometheus recording and alerting rules
 * (promrules.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "promrules.h"
#include "rules.h"
#include "timearg.h"
#include "units.h"

#define EXPR_MAX 8192

/* appending to a bounded buffer; a cut expression is refused whole */
struct buf {
	char s[EXPR_MAX];
	size_t n;
	int over;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->over)
		return;
	va_start(ap, fmt);
	k = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(b->s) - b->n)
		b->over = 1;
	else
		b->n += (size_t)k;
}

/* a PromQL string's body: \ " and newline escaped */
static void put_str(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			put(b, "\\%c", *s);
		else if (*s == '\n')
			put(b, "\\n");
		else
			put(b, "%c", *s);
	}
}

/* NAME{k="v",...[,ek="ev"]} */
static void put_sel(struct buf *b, const char *name, const struct rule_selector *sel,
		    const char *ek, const char *ev)
{
	int any = 0;

	put(b, "%s", name);
	for (size_t i = 0; i < sel->nlabels; i++) {
		put(b, "%s%s=\"", any ? "," : "{", sel->keys[i]);
		put_str(b, sel->values[i]);
		put(b, "\"");
		any = 1;
	}
	if (ek) {
		put(b, "%s%s=\"", any ? "," : "{", ek);
		put_str(b, ev);
		put(b, "\"");
		any = 1;
	}
	if (any)
		put(b, "}");
}

struct tr {
	promrules_lookup lookup;
	void *arg;
};

/* What metric @m is: the segment's word, else @dflt and the unit the
 * rule's thresholds were written in. */
static void resolve(const struct tr *t, const struct rule *r, const char *m,
		    enum shmstat_type dflt, enum shmstat_type *type, const char **unit)
{
	if (t->lookup && t->lookup(m, type, unit, t->arg) == 0)
		return;
	*type = dflt;
	/* thresholds in durations or bytes (a baseline's fallback's too) */
	if (r->thr_kind == QTY_NS || (r->has_fallback && r->fb_kind == QTY_NS))
		*unit = "ns";
	else if (r->thr_kind == QTY_BYTES || (r->has_fallback && r->fb_kind == QTY_BYTES))
		*unit = "bytes";
	else
		*unit = "";
}

/* The series of selector @sel counted as events: a counter's, a
 * histogram's _count, a signature table's hits. *@scale: 1e-9 when the
 * values are seconds where the rule counts ns. */
static void put_events(const struct tr *t, const struct rule *r, struct buf *b,
		       const struct rule_selector *sel, double *scale)
{
	enum shmstat_type type;
	const char *unit;
	char e[200];
	int s;

	resolve(t, r, sel->metric, SHMSTAT_COUNTER, &type, &unit);
	s = prom_export_name(sel->metric, unit, type, e, sizeof(e));
	if (type == SHMSTAT_HISTOGRAM)
		strncat(e, "_count", sizeof(e) - strlen(e) - 1);
	else if (type == SHMSTAT_SIGTABLE)
		snprintf(e, sizeof(e), "%s_hits_total", sel->metric);
	if (scale)
		*scale = type == SHMSTAT_COUNTER && s == 1 ? 1e-9 : 1;
	put_sel(b, e, sel, NULL, NULL);
}

/* sum(FN(SERIES[W])) */
static void put_sum(const struct tr *t, const struct rule *r, struct buf *b, const char *fn,
		    const struct rule_selector *sel, const char *w, double *scale)
{
	put(b, "sum(%s(", fn);
	put_events(t, r, b, sel, scale);
	put(b, "[%s]))", w);
}

/* A signature table's family of figure @fig (hits...), the owner's when
 * the rule names one */
static void put_sig(const struct rule *r, struct buf *b, const char *fig, const char *w)
{
	char e[200];

	snprintf(e, sizeof(e), "%s_%s%s_total", r->sel.metric, r->owner ? "owner_" : "", fig);
	put(b, "sum(increase(");
	put_sel(b, e, &r->sel, r->owner ? "owner" : NULL, r->owner);
	put(b, "[%s]))", w);
}

/* The rule's value and its samples in PromQL; *@scale multiplies its
 * thresholds into the exported units. NULL, or why it does not translate. */
static const char *translate(const struct tr *t, const struct rule *r, struct buf *v,
			     struct buf *smp, double *scale)
{
	char w[32];
	enum shmstat_type type;
	const char *unit;
	char e[200];

	*scale = 1;
	fmt_duration(w, sizeof(w), r->window_ns);
	if (r->window_ns == 0 && r->kind != RULE_GAUGE)
		return "no window: its value is over the series' lifetime, which PromQL "
		       "has no form for (give it a window)";
	switch (r->kind) {
	case RULE_RATE:
	case RULE_INCREASE:
		put_sum(t, r, v, r->kind == RULE_RATE ? "rate" : "increase", &r->sel, w, scale);
		put_sum(t, r, smp, "increase", &r->sel, w, NULL);
		break;
	case RULE_RATIO:
		for (int side = 0; side < 3; side++) {
			const struct rule_selector *s = side == 0 ? r->num : r->den;
			size_t ns = side == 0 ? r->nnum : r->nden;
			struct buf *o = side == 2 ? smp : v;

			if (side == 0)
				put(v, "(");
			else if (side == 1)
				put(v, ") / (");
			for (size_t k = 0; k < ns; k++) {
				put(o, "%s(", k ? " + " : "");
				put_sum(t, r, o, "increase", &s[k], w, NULL);
				put(o, " or vector(0))");
			}
			if (side == 1) {
				/* no value while the denominator did not move */
				put(v, ") and (");
				for (size_t k = 0; k < ns; k++) {
					put(v, "%s(", k ? " + " : "");
					put_sum(t, r, v, "increase", &s[k], w, NULL);
					put(v, " or vector(0))");
				}
				put(v, ") > 0");
			}
		}
		break;
	case RULE_QUANTILE:
		resolve(t, r, r->sel.metric, SHMSTAT_HISTOGRAM, &type, &unit);
		if (type != SHMSTAT_HISTOGRAM)
			return "its metric is not a histogram in the segment";
		if (prom_export_name(r->sel.metric, unit, type, e, sizeof(e)) == 1)
			*scale = 1e-9;
		put(v, "histogram_quantile(%.15g, sum by (le) (rate(", r->q);
		strncat(e, "_bucket", sizeof(e) - strlen(e) - 1);
		put_sel(v, e, &r->sel, NULL, NULL);
		put(v, "[%s])))", w);
		e[strlen(e) - 7] = '\0';
		strncat(e, "_count", sizeof(e) - strlen(e) - 1);
		put(smp, "sum(increase(");
		put_sel(smp, e, &r->sel, NULL, NULL);
		put(smp, "[%s]))", w);
		break;
	case RULE_GAUGE:
		resolve(t, r, r->sel.metric, SHMSTAT_GAUGE, &type, &unit);
		if (prom_export_name(r->sel.metric, unit, type, e, sizeof(e)) == 1)
			*scale = 1e-9;
		put(v, "sum(");
		put_sel(v, e, &r->sel, NULL, NULL);
		put(v, ")");
		put(smp, "count(");
		put_sel(smp, e, &r->sel, NULL, NULL);
		put(smp, ")");
		break;
	case RULE_SIG: {
		static const char *const fig[] = {
			[SIG_HITS] = "hits", [SIG_MISSES] = "misses", [SIG_WEIGHT] = "weight",
			[SIG_EVICTIONS] = "evictions",
		};

		if (r->figure == SIG_HIT_RATE) {
			put(v, "(");
			put_sig(r, v, "hits", w);
			put(v, ") / (");
			put_sig(r, v, "hits", w);
			put(v, " + ");
			put_sig(r, v, "misses", w);
			put(v, ") and (");
			put_sig(r, v, "hits", w);
			put(v, " + ");
			put_sig(r, v, "misses", w);
			put(v, ") > 0");
		} else {
			put_sig(r, v, fig[r->figure], w);
		}
		put_sig(r, smp, "hits", w);
		put(smp, " + ");
		put_sig(r, smp, "misses", w);
		break;
	}
	}
	if (v->over || smp->over)
		return "its PromQL would be longer than 8 KiB";
	return NULL;
}

/* @s as a Prometheus name: [a-zA-Z0-9_:], not starting with a digit */
static void prom_ident(char *out, size_t n, const char *s)
{
	size_t o = 0;

	if (*s >= '0' && *s <= '9' && o + 1 < n)
		out[o++] = '_';
	for (; *s && o + 1 < n; s++)
		out[o++] = (char)((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
				  (*s >= '0' && *s <= '9') || *s == '_' || *s == ':' ? *s : '_');
	out[o] = '\0';
}

/* '@s' as YAML writes a single-quoted scalar: ' doubled */
static void yaml_str(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		if (*s == '\n')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* @v as %.15g writes it, or with 16 or 17 digits where it takes them
 * to read back as @v */
static void shortest(char *buf, size_t n, double v)
{
	for (int p = 15; p <= 17; p++) {
		snprintf(buf, n, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* Threshold @thr (in the rule's base unit) in the exported unit: @scale
 * 1, or 1e-9 (ns as seconds), moved by the decimal exponent, rounded
 * once, as the exporter writes ns as seconds: 2ms is 0.002 and 2000000.5
 * ns 0.0020000005; then with the digits it takes to read back as it
 * (%.15g alone made at or above 10.00000000000001 '>= 10', bad for a
 * value of 10 that check says is OK) */
static void put_thr(struct buf *b, double thr, double scale)
{
	char m[48], t[64];
	int e;

	shortest(m, sizeof(m), thr);
	if (scale != 1) {
		char *x = strchr(m, 'e');

		e = x ? (int)strtol(x + 1, NULL, 10) : 0;
		if (x)
			*x = '\0';
		snprintf(t, sizeof(t), "%se%d", m, e - 9);     /* the one scale: 1e-9 */
		shortest(m, sizeof(m), strtod(t, NULL));
	}
	put(b, "%s", m);
}

/* The condition "bad against @thr" of rule @r on its recorded value */
static void put_cond(struct buf *b, const struct rule *r, const char *rec, double thr,
		     double scale)
{
	static const char *const op[] = { ">", ">=", "<", "<=" };
	char w[32], bw[32];

	if (!r->has_baseline) {
		put(b, "%s %s ", rec, op[r->op]);
		put_thr(b, thr, scale);
		return;
	}
	/* the percent change against the baseline, in the bad direction */
	fmt_duration(w, sizeof(w), r->window_ns);
	fmt_duration(bw, sizeof(bw), r->baseline_window_ns);
	put(b, "100 * (%s - %s(%s%s[%s]%s%s)) / abs(%s(%s%s[%s]%s%s)) %s %s", rec,
	    r->baseline_stat == BASE_MEAN ? "avg_over_time" : "quantile_over_time",
	    r->baseline_stat == BASE_MEAN ? "" : "0.5, ", rec, bw, r->window_ns ? " offset " : "",
	    r->window_ns ? w : "",
	    r->baseline_stat == BASE_MEAN ? "avg_over_time" : "quantile_over_time",
	    r->baseline_stat == BASE_MEAN ? "" : "0.5, ", rec, bw, r->window_ns ? " offset " : "",
	    r->window_ns ? w : "", op[r->op], r->op >= RULE_LT ? "-" : "");
	put_thr(b, thr, 1);
}

static void alert(FILE *f, const struct rule *r, const char *ident, const char *sev,
		  const struct buf *cond)
{
	char d[32];

	fprintf(f, "      - alert: %s\n        expr: ", ident);
	yaml_str(f, cond->s);
	fputc('\n', f);
	if (r->for_ns) {
		fmt_duration(d, sizeof(d), r->for_ns);
		fprintf(f, "        for: %s\n", d);
	}
	fprintf(f, "        labels:\n          severity: %s\n          shmstat_rule: ", sev);
	yaml_str(f, r->name);
	fprintf(f, "\n        annotations:\n          summary: ");
	yaml_str(f, r->description ? r->description : r->name);
	fprintf(f, "\n          description: ");
	yaml_str(f, r->has_baseline ? "{{ $value | printf \"%.1f\" }}% from its baseline"
				    : "value {{ $value }}");
	fputc('\n', f);
}

size_t promrules_emit(FILE *f, const struct ruleset *rs, const char *source,
		      promrules_lookup lookup, void *arg, FILE *notes)
{
	struct tr t = { lookup, arg };
	size_t done = 0;
	char (*used)[80] = calloc(rs->n ? rs->n : 1, sizeof(*used));
	static struct buf v, smp, cond, crit;

	fprintf(f, "# Prometheus rules from the shmstat rules file ");
	for (const char *p = source; *p; p++)
		fputc(*p == '\n' ? ' ' : *p, f);
	fprintf(f, "\n# (shmstat check --emit prometheus-rules; docs/prometheus.md, \"Rules\").\n"
		   "# Series as shmstat serve exports them: base units, seconds for timers.\n"
		   "groups:\n  - name: shmstat\n    rules:\n");
	for (size_t i = 0; i < rs->n && used; i++) {
		const struct rule *r = &rs->rules[i];
		char ident[80], rec[112], srec[112];
		const char *why;
		double scale;
		int clash;

		memset(&v, 0, sizeof(v));
		memset(&smp, 0, sizeof(smp));
		why = translate(&t, r, &v, &smp, &scale);
		if (why) {
			if (notes)
				fprintf(notes, "%s: not translated: %s\n", r->name, why);
			continue;
		}
		prom_ident(ident, sizeof(ident) - 8, r->name);
		do {            /* names that read the same once made valid */
			clash = 0;
			for (size_t k = 0; k < done; k++)
				if (strcmp(used[k], ident) == 0)
					clash = 1;
			if (clash)
				strncat(ident, "_", sizeof(ident) - strlen(ident) - 1);
		} while (clash);
		snprintf(used[done], sizeof(used[0]), "%s", ident);
		snprintf(rec, sizeof(rec), "shmstat:%s:value", ident);
		snprintf(srec, sizeof(srec), "shmstat:%s:samples", ident);
		fprintf(f, "      - record: %s\n        expr: ", rec);
		yaml_str(f, v.s);
		fputc('\n', f);
		if (r->min_samples) {
			fprintf(f, "      - record: %s\n        expr: ", srec);
			yaml_str(f, smp.s);
			fputc('\n', f);
		}
		if (r->has_critical) {
			memset(&crit, 0, sizeof(crit));
			put_cond(&crit, r, rec, r->critical, r->has_baseline ? 1 : scale);
			memset(&cond, 0, sizeof(cond));
			put(&cond, "%s", crit.s);
			if (r->min_samples)
				put(&cond, " and on() %s >= %llu", srec,
				    (unsigned long long)r->min_samples);
			alert(f, r, ident, "critical", &cond);
		}
		if (r->has_warning) {
			memset(&cond, 0, sizeof(cond));
			put(&cond, "(");
			put_cond(&cond, r, rec, r->warning, r->has_baseline ? 1 : scale);
			put(&cond, ")");
			if (r->has_critical)
				put(&cond, " unless (%s)", crit.s);
			if (r->min_samples)
				put(&cond, " and on() %s >= %llu", srec,
				    (unsigned long long)r->min_samples);
			alert(f, r, ident, "warning", &cond);
		}
		if (notes && r->has_baseline && (r->baseline_min_ns || r->has_fallback))
			fprintf(notes, "%s: translated without its baseline's min_history and "
				       "fallback: Prometheus judges the change as soon as the "
				       "recorded value has history\n", r->name);
		done++;
	}
	free(used);
	return done;
}
