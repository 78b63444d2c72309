/*
 * rules_inline.c - one rule from the command line (rules.h: rules_inline,
 * rules_parse_range): `shmstat check NAME --rate METRIC -w X -c Y` is
 * the rule {rate: METRIC, above: {warning: X, critical: Y}}, checked by
 * the same code as a rules file (rules.c, rules_values.c), with messages
 * that name the option at fault instead of a line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"

int rules_parse_range(const char *s, int below, enum rule_op *op, char *num, size_t numlen,
		      char *err, size_t errlen)
{
	int inside = s[0] == '@';
	const char *r = s + inside, *colon = strchr(r, ':'), *x = r;
	size_t len = strlen(r);
	int open_start = colon == r + 1 && r[0] == '~';

	if (*r == '\0') {
		snprintf(err, errlen, "'%s' is not a threshold or a range ([@]START:END)", s);
		return -1;
	}
	if (colon == NULL && inside) {
		snprintf(err, errlen,
			 "'%s' is the range 0 to %s, bounded on both sides: write '@%s:' (bad at or above %s) or '@~:%s' (bad at or below %s)",
			 s, r, r, r, r, r);
		return -1;
	}
	if (colon == NULL) {
		*op = below ? RULE_LT : RULE_GT;
	} else if (open_start && colon[1]) {
		/* "~:X" bad above X; "@~:X" bad at or below X */
		*op = inside ? RULE_LE : RULE_GT;
		x = colon + 1;
		len = strlen(x);
	} else if (!open_start && colon[1] == '\0') {
		/* "X:" bad below X; "@X:" bad at or above X */
		*op = inside ? RULE_GE : RULE_LT;
		len = (size_t)(colon - r);
	} else if (!open_start) {
		snprintf(err, errlen,
			 "'%s' is bounded on both sides; a rule has one direction: write 'X:' (bad below X) or '~:X' (bad above X)",
			 s);
		return -1;
	} else {
		len = 0;        /* "~:": no bound at all */
	}
	if (len == 0 || len >= numlen || memchr(x, ':', len) != NULL) {
		snprintf(err, errlen, "'%s' is not a threshold or a range ([@]START:END)", s);
		return -1;
	}
	memcpy(num, x, len);
	num[len] = '\0';
	return 0;
}

/* The selectors of @text joined by '+' (outside double quotes) into
 * *@out, *@nout; @opt names the option in messages. */
static int sum_of(struct ctx *c, const char *opt, const char *text, struct rule_selector **out,
		  size_t *nout)
{
	char *copy = dup_str(c, text), *p, *start;
	int q = 0, rc = 0;

	*out = NULL;
	*nout = 0;
	if (copy == NULL)
		return -1;
	*out = calloc(RULES_MAX_SELECTORS, sizeof(**out));
	if (*out == NULL) {
		free(copy);
		return fail(c, 0, 0, "out of memory reading the rules");
	}
	for (p = start = copy; rc == 0; p++) {
		if (*p == '\\' && q && p[1]) {
			p++;
			continue;
		}
		if (*p == '"')
			q = !q;
		if ((*p == '+' && !q) || *p == '\0') {
			int end = *p == '\0';

			*p = '\0';
			if (*nout == RULES_MAX_SELECTORS)
				rc = fail(c, 0, 0, "%s: more than %d selectors", opt,
					  RULES_MAX_SELECTORS);
			else if (selector_text(c, start, 0, 0, start, &(*out)[*nout]) != 0)
				rc = -1;
			else
				(*nout)++;
			if (end)
				break;
			start = p + 1;
		}
	}
	free(copy);
	return rc;
}

/* -w or -c @text into *@v, *@k, *@op */
static int inline_threshold(struct ctx *c, struct rule *r, const char *opt, const char *text,
			    int below, double *v, enum qty_kind *k, enum rule_op *op)
{
	char num[64], msg[256], key[80];

	if (rules_parse_range(text, below, op, num, sizeof(num), msg, sizeof(msg)) != 0)
		return fail(c, 0, 0, "%s %s", opt, msg);
	r->op = *op;
	snprintf(key, sizeof(key), "'%s'", SHOW(text));
	return threshold(c, r, 0, 0, opt, key, key, num, 0, v, k);
}

static void rule_name_of(struct rule *r, const char *metric, char *buf, size_t n)
{
	snprintf(buf, n, "%s:%.*s", rule_kind_name(r->kind), RULES_MAX_NAME, metric);
	if (strlen(buf) > RULES_MAX_NAME)
		buf[RULES_MAX_NAME] = '\0';
}

static int build(struct ctx *c, const struct rule_inline *in, struct rule *r)
{
	static const char *const op_words[] = { "above", "at or above", "below", "at or below" };
	static const char *const opt[] = { "--rate", "--increase", "--ratio", "--quantile",
					   "--gauge", "--sig" };
	static const char *const figures[] = { "hit_ratio", "hits", "misses", "weight",
					       "evictions" };
	const char *o = (unsigned)in->kind < 6 ? opt[in->kind] : "?";
	char name[RULES_MAX_NAME + 32];
	double w = 0, cr = 0;
	enum qty_kind wk = QTY_PLAIN, ck = QTY_PLAIN, kind;
	enum rule_op wop = RULE_GT, cop = RULE_GT;

	r->kind = in->kind;
	snprintf(c->who, sizeof(c->who), "%s", o);
	if (r->kind == RULE_RATIO) {
		if (sum_of(c, o, in->num, &r->num, &r->nnum) != 0 ||
		    sum_of(c, o, in->den, &r->den, &r->nden) != 0)
			return -1;
	} else if (selector_text(c, in->sel, 0, 0, in->sel, &r->sel) != 0) {
		return -1;
	}
	if (r->kind == RULE_QUANTILE) {
		enum qty_kind k;

		if (parse_quantity(in->q, &r->q, &k) != 0 || k != QTY_PLAIN || !(r->q >= 0 && r->q <= 1))
			return fail(c, 0, 0,
				    "--quantile: '%s' is not a quantile between 0 and 1 (0.95 for the 95th percentile)",
				    SHOW(in->q));
	}
	if (r->kind == RULE_SIG) {
		size_t i;

		for (i = 0; i < 5 && strcmp(figures[i], in->figure) != 0; i++)
			;
		if (strcmp(in->figure, "hit_rate") == 0)
			i = 0;          /* its name before one vocabulary */
		if (i == 5)
			return fail(c, 0, 0,
				    "--sig: unknown figure '%s' (known: hit_ratio, hits, misses, weight, evictions)",
				    SHOW(in->figure));
		r->figure = (enum rule_sig_figure)i;
	}
	if (in->window) {
		if (r->kind == RULE_GAUGE)
			return fail(c, 0, 0,
				    "--window does not apply to a gauge (compared at its current value)");
		if (rules_parse_duration(in->window, &r->window_ns) != 0 || r->window_ns == 0)
			return fail(c, 0, 0,
				    "--window: '%s' is not a duration longer than 0 (write e.g. 30s, 5m, 1h30m; units ns, us, ms, s, m, h, d; at most 366d)",
				    SHOW(in->window));
	}
	if (in->min_samples) {
		char *end;

		errno = 0;
		if (in->min_samples[0] < '0' || in->min_samples[0] > '9' ||
		    (r->min_samples = strtoull(in->min_samples, &end, 10), *end != '\0') ||
		    errno != 0)
			return fail(c, 0, 0, "--min-samples: '%s' is not a whole number >= 0",
				    SHOW(in->min_samples));
	}
	if (in->warning == NULL && in->critical == NULL)
		return fail(c, 0, 0, "%s needs -w, -c or both (the thresholds)", o);
	if ((in->warning && inline_threshold(c, r, "-w", in->warning, in->below, &w, &wk, &wop)) ||
	    (in->critical && inline_threshold(c, r, "-c", in->critical, in->below, &cr, &ck, &cop)))
		return -1;
	if (in->warning && in->critical && wop != cop)
		return fail(c, 0, 0,
			    "-w '%s' is bad %s it, -c '%s' bad %s it: give both the same direction",
			    SHOW(in->warning), op_words[wop], SHOW(in->critical), op_words[cop]);
	r->op = in->warning ? wop : cop;
	if (threshold_pair(c, r, 0, 0, "-w/-c", in->warning, in->critical, wk, ck, w, cr, 0,
			   &kind) != 0)
		return -1;
	r->has_warning = in->warning != NULL;
	r->has_critical = in->critical != NULL;
	r->warning = w;
	r->critical = cr;
	r->thr_kind = kind;
	rule_name_of(r, r->kind == RULE_RATIO ? r->num[0].metric : r->sel.metric, name,
		      sizeof(name));
	r->name = dup_str(c, name);
	return r->name ? 0 : -1;
}

int rules_inline(const struct rule_inline *in, struct ruleset *out, char *err, size_t errlen)
{
	struct ctx c = { .path = NULL, .err = err, .errlen = errlen };

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	out->rules = calloc(1, sizeof(*out->rules));
	if (out->rules == NULL)
		return fail(&c, 0, 0, "out of memory reading the rules");
	out->n = 1;
	out->expire_ns = RULES_DEFAULT_EXPIRE_NS;
	if (build(&c, in, &out->rules[0]) != 0) {
		rules_free(out);
		return -1;
	}
	return 0;
}
