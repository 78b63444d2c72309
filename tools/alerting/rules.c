/*
 * rules.c - rules files (rules.h): YAML through libyaml's document API,
 * then a check of every key and value against the format of
 * docs/rules.md. This file reads the rules and the file; the values in
 * them (durations, numbers, selectors) and the messages are read and
 * written by rules_values.c (rules_int.h).
 *
 * The document is loaded whole (files are at most RULES_MAX_FILE bytes),
 * then walked from the root down through the keys this format knows:
 * nothing else of the document is visited. A first pass over libyaml's
 * events refuses aliases and second documents at their lines, so the walk
 * can neither loop nor blow up.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "rules.h"
#include "rules_int.h"

/* ---------------------------------------------------------------- rules */

static const char *const kind_names[] = { "rate", "increase", "ratio", "quantile", "gauge", "sig" };
static const char *const op_names[] = { ">", ">=", "<", "<=" };
static const char *const figure_names[] = { "hit_ratio", "hits", "misses", "weight", "evictions" };
static const char *const stat_names[] = { "median", "mean" };

enum {
	K_NAME, K_DESCRIPTION,
	K_RATE, K_INCREASE, K_RATIO, K_QUANTILE, K_GAUGE, K_SIG,   /* enum rule_kind order */
	K_WINDOW,
	K_ABOVE, K_AT_OR_ABOVE, K_BELOW, K_AT_OR_BELOW,            /* enum rule_op order */
	K_MIN_SAMPLES, K_FOR, K_BASELINE,
	K_N
};

static const char *const rule_keys[K_N] = {
	"name", "description",
	"rate", "increase", "ratio", "quantile", "gauge", "sig",
	"window",
	"above", "at_or_above", "below", "at_or_below",
	"min_samples", "for", "baseline",
};

const char *rule_kind_name(enum rule_kind k)
{
	return (unsigned)k < 6 ? kind_names[k] : "?";
}

const char *rule_op_name(enum rule_op op)
{
	return (unsigned)op < 4 ? op_names[op] : "?";
}

const char *rule_figure_name(enum rule_sig_figure f)
{
	return (unsigned)f < 5 ? figure_names[f] : "?";
}

const char *rule_stat_name(enum rule_base_stat s)
{
	return (unsigned)s < 2 ? stat_names[s] : "?";
}

static void rule_free(struct rule *r)
{
	free(r->name);
	free(r->description);
	selector_free(&r->sel);
	free(r->owner);
	for (size_t i = 0; i < r->nnum; i++)
		selector_free(&r->num[i]);
	for (size_t i = 0; i < r->nden; i++)
		selector_free(&r->den[i]);
	free(r->num);
	free(r->den);
	memset(r, 0, sizeof(*r));
}

static int valid_rule_name(const char *s)
{
	for (; *s; s++)
		if (!(name_char(*s) || *s == '-' || *s == '.' || *s == ':'))
			return 0;
	return 1;
}

int rule_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= RULES_MAX_NAME && valid_rule_name(s);
}

/* The expression: the value of kind key @k (a K_RATE .. K_SIG). */
static int expression(struct ctx *c, struct rule *r, int k, const yaml_node_t *v)
{
	const char *kn = rule_keys[k];
	char where[RULES_MAX_NAME + 64];

	r->kind = (enum rule_kind)(k - K_RATE);
	snprintf(where, sizeof(where), "%s: '%s'", c->who, kn);
	switch (r->kind) {
	case RULE_RATE:
	case RULE_INCREASE:
	case RULE_GAUGE:
		if (v->type == YAML_MAPPING_NODE) {
			static const char *const keys[] = { "metric" };
			yaml_node_t *m[1];

			if (map_keys(c, v, where, keys, 1, m, NULL) != 0)
				return -1;
			if (m[0] == NULL)
				return fail(c, AT(v), "%s has no 'metric'", where);
			return selector(c, m[0], "metric", &r->sel);
		}
		return selector(c, v, kn, &r->sel);
	case RULE_QUANTILE: {
		static const char *const keys[] = { "metric", "q" };
		yaml_node_t *m[2];

		if (v->type != YAML_MAPPING_NODE)
			return fail(c, AT(v), "%s must be a mapping {metric: ..., q: ...}", where);
		if (map_keys(c, v, where, keys, 2, m, NULL) != 0)
			return -1;
		if (m[0] == NULL || m[1] == NULL)
			return fail(c, AT(v), "%s has no '%s'", where, m[0] ? "q" : "metric");
		if (selector(c, m[0], "metric", &r->sel) != 0 || number(c, m[1], "q", &r->q) != 0)
			return -1;
		if (!(r->q >= 0 && r->q <= 1))
			return fail(c, AT(m[1]),
				    "%s: 'q' must be between 0 and 1 (0.95 for the 95th percentile)",
				    c->who);
		return 0;
	}
	case RULE_SIG: {
		static const char *const keys[] = { "metric", "figure", "owner" };
		yaml_node_t *m[3];
		const char *f;
		size_t i;

		if (v->type != YAML_MAPPING_NODE)
			return fail(c, AT(v), "%s must be a mapping {metric: ..., figure: ...}",
				    where);
		if (map_keys(c, v, where, keys, 3, m, NULL) != 0)
			return -1;
		if (m[0] == NULL || m[1] == NULL)
			return fail(c, AT(v), "%s has no '%s'", where,
				    m[0] ? "figure" : "metric");
		if (selector(c, m[0], "metric", &r->sel) != 0 || (f = scalar(c, m[1], "figure")) == NULL)
			return -1;
		for (i = 0; i < 5 && strcmp(figure_names[i], f) != 0; i++)
			;
		if (strcmp(f, "hit_rate") == 0)
			i = 0;          /* its name before one vocabulary */
		if (i == 5)
			return fail(c, AT(m[1]),
				    "%s: unknown 'figure' (known: hit_ratio, hits, misses, weight, evictions)",
				    c->who);
		r->figure = (enum rule_sig_figure)i;
		if (m[2]) {
			const char *o = scalar(c, m[2], "owner");

			if (o == NULL)
				return -1;
			/* an owner name as the library takes it (sig_owner) */
			if (strlen(o) > 255)
				return fail(c, AT(m[2]), "%s: owner is longer than 255 bytes", c->who);
			if (r->figure == SIG_EVICTIONS)
				return fail(c, AT(m[2]),
					    "%s: 'owner' takes hits, misses, weight or hit_ratio: "
					    "evictions are the table's", c->who);
			r->owner = strdup(o);
			if (r->owner == NULL)
				return fail(c, AT(m[2]), "out of memory reading the rules");
		}
		return 0;
	}
	case RULE_RATIO: {
		static const char *const keys[] = { "num", "den" };
		yaml_node_t *m[2];

		if (v->type != YAML_MAPPING_NODE)
			return fail(c, AT(v), "%s must be a mapping {num: [...], den: [...]}",
				    where);
		if (map_keys(c, v, where, keys, 2, m, NULL) != 0)
			return -1;
		if (m[0] == NULL || m[1] == NULL)
			return fail(c, AT(v), "%s has no '%s'", where, m[0] ? "den" : "num");
		if (selectors(c, m[0], "num", &r->num, &r->nnum) != 0 ||
		    selectors(c, m[1], "den", &r->den, &r->nden) != 0)
			return -1;
		return 0;
	}
	}
	return -1;
}

/* The baseline mapping @v; its fallback node (parsed with the direction)
 * into *@fb. */
static int baseline(struct ctx *c, struct rule *r, const yaml_node_t *v, yaml_node_t **fb)
{
	static const char *const keys[] = { "window", "stat", "min_history", "fallback" };
	char where[RULES_MAX_NAME + 64];
	yaml_node_t *m[4];

	snprintf(where, sizeof(where), "%s: 'baseline'", c->who);
	if (v->type != YAML_MAPPING_NODE)
		return fail(c, AT(v), "%s must be a mapping {window: ..., stat: median|mean}",
			    where);
	if (map_keys(c, v, where, keys, 4, m, NULL) != 0)
		return -1;
	if (m[0] == NULL)
		return fail(c, AT(v), "%s has no 'window' (how far back it looks, e.g. 24h)",
			    where);
	if (duration(c, m[0], "window", &r->baseline_window_ns) != 0)
		return -1;
	if (r->baseline_window_ns == 0)
		return fail(c, AT(m[0]), "%s: 'window' must be longer than 0", where);
	r->baseline_stat = BASE_MEDIAN;
	if (m[1]) {
		const char *s = scalar(c, m[1], "stat");

		if (s == NULL)
			return -1;
		if (strcmp(s, "median") == 0)
			r->baseline_stat = BASE_MEDIAN;
		else if (strcmp(s, "mean") == 0)
			r->baseline_stat = BASE_MEAN;
		else
			return fail(c, AT(m[1]), "%s: unknown 'stat' (known: median, mean)", where);
	}
	if (m[2]) {
		if (duration(c, m[2], "min_history", &r->baseline_min_ns) != 0)
			return -1;
		if (r->baseline_min_ns > r->baseline_window_ns)
			return fail(c, AT(m[2]),
				    "%s: 'min_history' must be at most the baseline's 'window'",
				    where);
	}
	if (m[3] && m[3]->type != YAML_MAPPING_NODE)
		return fail(c, AT(m[3]),
			    "%s: 'fallback' must be a mapping {warning: ..., critical: ...}", where);
	*fb = m[3];
	r->has_baseline = 1;
	return 0;
}

/* ------------------------------------------------------------ thresholds */

enum rule_vkind rule_value_kind(const struct rule *r)
{
	switch (r->kind) {
	case RULE_RATIO:
		return RV_FRACTION;
	case RULE_RATE:
		return RV_RATE;
	case RULE_SIG:
		return r->figure == SIG_HIT_RATE ? RV_FRACTION :
		       r->figure == SIG_WEIGHT ? RV_AMOUNT : RV_COUNT;
	default:
		return RV_AMOUNT;
	}
}

/* "a duration", "bytes", ...: what a threshold was written as */
static const char *written_as(enum qty_kind k)
{
	switch (k) {
	case QTY_NS: return "a duration";
	case QTY_BYTES: return "bytes";
	case QTY_PERCENT: return "a percentage";
	default: return "a number";
	}
}

/* What rule @r compares, and how its thresholds are written. */
static const char *compares(const struct rule *r)
{
	switch (rule_value_kind(r)) {
	case RV_FRACTION:
		return r->kind == RULE_RATIO ? "a ratio (write 0.9 or 90%)"
					     : "a hit ratio (write 0.9 or 90%)";
	case RV_COUNT:
		return "a count (write a number such as 1000 or 1.5k)";
	case RV_RATE:
		return "a rate (a number per second, in the metric's unit: 1.5k, 15MB, 2ms)";
	default:
		return "a value in the metric's unit (a number, 2ms for ns, 15MB for bytes)";
	}
}

int threshold(struct ctx *c, const struct rule *r, int line, int col, const char *where,
	      const char *key, const char *shown, const char *text, int fb, double *v,
	      enum qty_kind *kind)
{
	enum rule_vkind vk = rule_value_kind(r);
	int fits;

	if (parse_quantity(text, v, kind) != 0)
		return fail(c, line, col,
			    "%s: %s is not a number (a number such as 0.9 or 1.5k, or with a unit: 2ms, 15MB, 90%%)",
			    where, key);
	if (r->has_baseline && !fb) {
		if (*kind != QTY_PLAIN && *kind != QTY_PERCENT)
			return fail(c, line, col,
				    "%s: %s: with a baseline, thresholds are percent changes (e.g. 20%%), not %s",
				    where, shown, *kind == QTY_NS ? "durations" : "bytes");
		if (*kind == QTY_PERCENT)
			*v = strtod(text, NULL);  /* percent points, as the change */
		if (*v < 0)
			return fail(c, line, col,
				    "%s: %s: a baseline threshold is a change in the bad direction, >= 0",
				    where, shown);
		return 0;
	}
	switch (vk) {
	case RV_FRACTION:
		fits = *kind == QTY_PLAIN || *kind == QTY_PERCENT;
		break;
	case RV_COUNT:
		fits = *kind == QTY_PLAIN;
		break;
	default:
		/* durations and bytes: the metric's unit says at check time */
		fits = *kind != QTY_PERCENT;
		break;
	}
	if (!fits)
		return fail(c, line, col, "%s: %s is %s, but the rule compares %s%s", where, shown,
			    written_as(*kind), compares(r),
			    *kind == QTY_PERCENT && !fb ? "; percent changes need a 'baseline'" : "");
	return 0;
}

int threshold_pair(struct ctx *c, const struct rule *r, int line, int col, const char *where,
		   const char *wt, const char *ct, enum qty_kind wk, enum qty_kind ck, double w,
		   double cr, int fb, enum qty_kind *kind)
{
	int up = r->op == RULE_GT || r->op == RULE_GE;
	int pct = r->has_baseline && !fb;

	*kind = wt ? wk : ck;
	if (wt && ct) {
		/* one unit: a plain number is in the unit of the other */
		int wu = wk == QTY_NS || wk == QTY_BYTES, cu = ck == QTY_NS || ck == QTY_BYTES;

		if (wu && cu && wk != ck)
			return fail(c, line, col, "%s: warning (%s) is %s, critical (%s) %s", where,
				    SHOW(wt), written_as(wk), SHOW(ct), written_as(ck));
		if (cu || (!wu && ck == QTY_PERCENT))
			*kind = ck;
		/* warning is reached first: before critical in the bad
		 * direction (baseline thresholds are magnitudes: always
		 * warning <= critical) */
		if (!(up || pct ? w <= cr : w >= cr))
			return fail(c, line, col,
				    "%s: warning (%s) must be %s critical (%s): it is the lesser alarm",
				    where, SHOW(wt), up || pct ? "at most" : "at least", SHOW(ct));
	}
	return 0;
}

/* The thresholds mapping @v of direction key @dk (or a baseline's
 * fallback, @fb); needs the kind and the baseline parsed. */
static int thresholds(struct ctx *c, struct rule *r, int dk, const yaml_node_t *v, int fb)
{
	static const char *const keys[] = { "warning", "critical" };
	char where[RULES_MAX_NAME + 64];
	yaml_node_t *m[2];
	double val[2] = { 0, 0 };
	enum qty_kind k[2] = { QTY_PLAIN, QTY_PLAIN }, kind;
	const char *txt[2] = { NULL, NULL };

	if (fb)
		snprintf(where, sizeof(where), "%s: 'baseline': 'fallback'", c->who);
	else
		snprintf(where, sizeof(where), "%s: '%s'", c->who, rule_keys[dk]);
	if (v->type != YAML_MAPPING_NODE)
		return fail(c, AT(v), "%s must be a mapping {warning: ..., critical: ...}",
			    where);
	if (map_keys(c, v, where, keys, 2, m, NULL) != 0)
		return -1;
	if (m[0] == NULL && m[1] == NULL)
		return fail(c, AT(v), "%s needs 'warning', 'critical' or both", where);
	for (int i = 0; i < 2; i++) {
		char key[16], shown[80];

		if (m[i] == NULL)
			continue;
		if ((txt[i] = scalar(c, m[i], keys[i])) == NULL)
			return -1;
		snprintf(key, sizeof(key), "'%s'", keys[i]);
		snprintf(shown, sizeof(shown), "'%s: %s'", keys[i], SHOW(txt[i]));
		if (threshold(c, r, AT(m[i]), where, key, shown, txt[i], fb, &val[i], &k[i]) != 0)
			return -1;
	}
	if (threshold_pair(c, r, AT(m[0] ? m[0] : m[1]), where, txt[0], txt[1], k[0], k[1], val[0],
			   val[1], fb, &kind) != 0)
		return -1;
	if (fb) {
		r->has_fallback = 1;
		r->has_fb_warning = m[0] != NULL;
		r->has_fb_critical = m[1] != NULL;
		r->fb_warning = val[0];
		r->fb_critical = val[1];
		r->fb_kind = kind;
	} else {
		r->has_warning = m[0] != NULL;
		r->has_critical = m[1] != NULL;
		r->warning = val[0];
		r->critical = val[1];
		r->thr_kind = kind;
	}
	return 0;
}

static int rule(struct ctx *c, const yaml_node_t *n, size_t idx, struct ruleset *rs)
{
	struct rule *r = &rs->rules[idx];
	yaml_node_t *v[K_N], *k[K_N], *fb = NULL;
	int kind = -1, dir = -1;

	r->line = line_of(n);
	snprintf(c->who, sizeof(c->who), "rule %zu", idx + 1);
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, AT(n), "rule %zu must be a mapping (name: ..., rate: ..., ...), not %s",
			    idx + 1, type_name(n));
	/* the name first, so that other messages can say which rule */
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *key = node(c, p->key), *val = node(c, p->value);

		if (key->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)key->data.scalar.value, "name") == 0 &&
		    val->type == YAML_SCALAR_NODE &&
		    strlen((const char *)val->data.scalar.value) == val->data.scalar.length &&
		    rule_name_valid((const char *)val->data.scalar.value))
			snprintf(c->who, sizeof(c->who), "rule '%s'", val->data.scalar.value);
	}
	if (map_keys(c, n, c->who, rule_keys, K_N, v, k) != 0)
		return -1;

	if (v[K_NAME] == NULL)
		return fail(c, AT(n), "rule %zu has no 'name'", idx + 1);
	{
		const char *s = scalar(c, v[K_NAME], "name");

		if (s == NULL)
			return -1;
		if (strlen(s) > RULES_MAX_NAME)
			return fail(c, AT(v[K_NAME]), "rule %zu: 'name' is longer than %d bytes",
				    idx + 1, RULES_MAX_NAME);
		if (!valid_rule_name(s))
			return fail(c, AT(v[K_NAME]),
				    "rule %zu: 'name' has a character other than A-Z a-z 0-9 _ . : -",
				    idx + 1);
		for (size_t i = 0; i < idx; i++)
			/* the rules before were read whole, their names are set
			 * NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
			if (strcmp(rs->rules[i].name, s) == 0)
				return fail(c, AT(v[K_NAME]),
					    "duplicate rule name '%s' (first at line %d)", s,
					    rs->rules[i].line);
		if ((r->name = dup_str(c, s)) == NULL)
			return -1;
	}
	if (v[K_DESCRIPTION]) {
		const char *s = scalar(c, v[K_DESCRIPTION], "description");

		if (s == NULL)
			return -1;
		if (strlen(s) > RULES_MAX_DESCRIPTION)
			return fail(c, AT(v[K_DESCRIPTION]),
				    "%s: 'description' is longer than %d bytes", c->who,
				    RULES_MAX_DESCRIPTION);
		if ((r->description = dup_str(c, s)) == NULL)
			return -1;
	}

	for (int i = K_RATE; i <= K_SIG; i++) {
		if (v[i] == NULL)
			continue;
		if (kind >= 0)
			return fail(c, AT(k[i]), "%s has two expressions, '%s' and '%s': give one",
				    c->who, rule_keys[kind], rule_keys[i]);
		kind = i;
	}
	if (kind < 0)
		return fail(c, AT(n),
			    "%s has no expression: give one of rate, increase, ratio, quantile, gauge, sig",
			    c->who);
	if (expression(c, r, kind, v[kind]) != 0)
		return -1;

	if (v[K_WINDOW]) {
		if (r->kind == RULE_GAUGE)
			return fail(c, AT(k[K_WINDOW]),
				    "%s: 'window' does not apply to a gauge (compared at its current value)",
				    c->who);
		if (duration(c, v[K_WINDOW], "window", &r->window_ns) != 0)
			return -1;
		if (r->window_ns == 0)
			return fail(c, AT(v[K_WINDOW]), "%s: 'window' must be longer than 0",
				    c->who);
	}
	if (v[K_MIN_SAMPLES] && whole(c, v[K_MIN_SAMPLES], "min_samples", &r->min_samples) != 0)
		return -1;
	if (v[K_FOR] && duration(c, v[K_FOR], "for", &r->for_ns) != 0)
		return -1;
	if (v[K_BASELINE]) {
		if (baseline(c, r, v[K_BASELINE], &fb) != 0)
			return -1;
		if (r->kind != RULE_GAUGE && r->window_ns == 0)
			return fail(c, AT(k[K_BASELINE]),
				    "%s: a 'baseline' needs the rule's 'window' (the value over the window is compared with the same over the baseline's)",
				    c->who);
		if (r->baseline_window_ns <= r->window_ns)
			return fail(c, AT(v[K_BASELINE]),
				    "%s: the baseline's 'window' must be longer than the rule's 'window'",
				    c->who);
	}

	for (int i = K_ABOVE; i <= K_AT_OR_BELOW; i++) {
		if (v[i] == NULL)
			continue;
		if (dir >= 0)
			return fail(c, AT(k[i]), "%s has two directions, '%s' and '%s': give one",
				    c->who, rule_keys[dir], rule_keys[i]);
		dir = i;
	}
	if (dir < 0)
		return fail(c, AT(n),
			    "%s has no thresholds: give one of above, at_or_above, below, at_or_below",
			    c->who);
	r->op = (enum rule_op)(dir - K_ABOVE);
	if (thresholds(c, r, dir, v[dir], 0) != 0)
		return -1;
	return fb ? thresholds(c, r, dir, fb, 1) : 0;
}

/* ---------------------------------------------------------------- files */

static int yaml_error(struct ctx *c, const yaml_parser_t *p, const char *text, size_t len)
{
	int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
	const char *what = p->problem ? p->problem : "cannot be parsed";

	if (p->error == YAML_READER_ERROR) {
		/* no mark: count the lines (and bytes) up to the offending byte */
		line = 1;
		col = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			col = text[i] == '\n' ? 1 : col + 1;
			line += text[i] == '\n';
		}
	}
	if (p->error == YAML_MEMORY_ERROR)
		return fail(c, 0, 0, "out of memory reading the rules");
	if (p->context)
		return fail(c, line, col, "bad YAML: %s (%s at line %d)", what, p->context,
			    (int)p->context_mark.line + 1);
	return fail(c, line, col, "bad YAML: %s", what);
}

/*
 * A first pass over the events, for what the document API cannot say
 * where: aliases, refused at their line (in a loaded document an alias is
 * a second reference to its anchored node, so the walk could loop or
 * repeat: alias bombs), a second document, and nesting deeper than
 * RULES_MAX_DEPTH (libyaml's scanner takes time quadratic in the depth
 * of flow collections: 80,000 '[' took 54 s; stopping at the limit
 * bounds it). YAML syntax errors come out here too.
 */
static int prescan(struct ctx *c, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int docs = 0, rc = 0, done = 0, depth = 0;

	if (!yaml_parser_initialize(&p))
		return fail(c, 0, 0, "out of memory reading the rules");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = yaml_error(c, &p, text, len);
			break;
		}
		if (ev.type == YAML_ALIAS_EVENT)
			rc = fail(c, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				  "aliases (*name) are not supported in rules files");
		else if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1)
			rc = fail(c, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				  "a second YAML document: a rules file holds one");
		else if ((ev.type == YAML_SEQUENCE_START_EVENT ||
			  ev.type == YAML_MAPPING_START_EVENT) && ++depth > RULES_MAX_DEPTH)
			rc = fail(c, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				  "lists and mappings nested deeper than %d levels", RULES_MAX_DEPTH);
		else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		else if (ev.type == YAML_STREAM_END_EVENT)
			done = 1;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

static int ruleset(struct ctx *c, struct ruleset *rs)
{
	static const char *const keys[] = { "expire", "rules" };
	yaml_node_t *root = yaml_document_get_root_node(c->doc), *v[2], *list;
	size_t n;

	snprintf(c->who, sizeof(c->who), "top level");
	if (root == NULL || is_null(root))
		return fail(c, 1, 0, "empty rules file (expected a mapping with a 'rules' list)");
	if (root->type != YAML_MAPPING_NODE)
		return fail(c, AT(root), "the file must be a mapping with a 'rules' list, not %s",
			    type_name(root));
	if (map_keys(c, root, "top level", keys, 2, v, NULL) != 0)
		return -1;
	rs->expire_ns = RULES_DEFAULT_EXPIRE_NS;
	if (v[0] && duration(c, v[0], "expire", &rs->expire_ns) != 0)
		return -1;
	if ((list = v[1]) == NULL)
		return fail(c, AT(root), "no 'rules' list");
	if (list->type != YAML_SEQUENCE_NODE)
		return fail(c, AT(list), "'rules' must be a list of rules, not %s",
			    type_name(list));
	n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
	if (n == 0)
		return fail(c, AT(list), "'rules' is an empty list");
	if (n > RULES_MAX_RULES)
		return fail(c, AT(node(c, list->data.sequence.items.start[RULES_MAX_RULES])),
			    "more than %d rules", RULES_MAX_RULES);
	rs->rules = calloc(n, sizeof(*rs->rules));
	if (rs->rules == NULL)
		return fail(c, 0, 0, "out of memory reading the rules");
	rs->n = n;
	for (size_t i = 0; i < n; i++)
		if (rule(c, node(c, list->data.sequence.items.start[i]), i, rs) != 0)
			return -1;
	/* a baseline rule's change is performance data 'NAME_change', a
	 * window rule's span 'NAME_span' (a gap in the history): a rule of
	 * that name would write a second value under that label */
	for (size_t i = 0; i < n; i++) {
		char ch[RULES_MAX_NAME + 8], sp[RULES_MAX_NAME + 8];

		snprintf(ch, sizeof(ch), "%s_change", rs->rules[i].name);
		snprintf(sp, sizeof(sp), "%s_span", rs->rules[i].name);
		for (size_t k = 0; k < n; k++) {
			if (rs->rules[i].has_baseline && strcmp(rs->rules[k].name, ch) == 0)
				return fail(c, rs->rules[k].line, 0,
					    "rule '%s': its name is the performance data label of the change of rule '%s' (line %d) against its baseline: rename it",
					    ch, rs->rules[i].name, rs->rules[i].line);
			if (rs->rules[i].window_ns && strcmp(rs->rules[k].name, sp) == 0)
				return fail(c, rs->rules[k].line, 0,
					    "rule '%s': its name is the performance data label of the span of rule '%s' (line %d) over its window: rename it",
					    sp, rs->rules[i].name, rs->rules[i].line);
		}
	}
	return 0;
}

int rules_parse(const char *path, const char *text, size_t len, struct ruleset *out, char *err,
		size_t errlen)
{
	struct ctx c = { .path = path, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (len > RULES_MAX_FILE)
		return fail(&c, 0, 0, "larger than %u bytes", RULES_MAX_FILE);
	if (prescan(&c, text, len) != 0)
		return -1;
	if (!yaml_parser_initialize(&parser))
		return fail(&c, 0, 0, "out of memory reading the rules");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_error(&c, &parser, text, len);
		yaml_parser_delete(&parser);
		return -1;
	}
	c.doc = &doc;
	rc = ruleset(&c, out);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc != 0)
		rules_free(out);
	return rc;
}

int rules_load(const char *path, struct ruleset *out, char *err, size_t errlen)
{
	struct ctx c = { .path = path, .err = err, .errlen = errlen };
	struct stat st;
	char *text;
	size_t got = 0;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	/* never blocking: a FIFO or a device is refused after fstat, unread */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fail(&c, 0, 0, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = errno;
		close(fd);
		return fail(&c, 0, 0, "cannot stat: %s", strerror(rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(&c, 0, 0, "not a regular file");
	}
	if (st.st_size > (off_t)RULES_MAX_FILE) {
		close(fd);
		return fail(&c, 0, 0, "larger than %u bytes", RULES_MAX_FILE);
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		close(fd);
		return fail(&c, 0, 0, "out of memory reading the rules");
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? errno : 0;
			free(text);
			close(fd);
			return fail(&c, 0, 0, "cannot read: %s", rc ? strerror(rc) : "file shrank");
		}
		got += (size_t)r;
	}
	close(fd);
	rc = rules_parse(path, text, got, out, err, errlen);
	free(text);
	return rc;
}

void rules_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		rule_free(&rs->rules[i]);
	free(rs->rules);
	memset(rs, 0, sizeof(*rs));
}

const struct rule *rules_find(const struct ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->rules[i].name && strcmp(rs->rules[i].name, name) == 0)
			return &rs->rules[i];
	return NULL;
}

const char *rule_value_unit(const struct rule *r, const char *unit)
{
	if (unit)
		return unit;
	if (r->thr_kind == QTY_NS || r->fb_kind == QTY_NS)
		return "ns";
	if (r->thr_kind == QTY_BYTES || r->fb_kind == QTY_BYTES)
		return "bytes";
	return "";
}

void rule_fmt_value(const struct rule *r, const char *unit, double v, int pct, char *buf,
		    size_t n)
{
	if (isnan(v)) {
		snprintf(buf, n, "-");
		return;
	}
	if (pct) {
		snprintf(buf, n, "%+.1f%%", v);
		return;
	}
	switch (rule_value_kind(r)) {
	case RV_FRACTION:
		fmt_ratio(buf, n, v, 0);
		break;
	case RV_RATE:
		fmt_rate(buf, n, v, rule_value_unit(r, unit), 0);
		break;
	case RV_COUNT:
		fmt_fig(buf, n, v, "", 0);
		break;
	default:
		fmt_fig(buf, n, v, rule_value_unit(r, unit), 0);
		break;
	}
}

static const char *misfit(const struct rule *r, const char *unit, const char *what, int fb,
			  char *buf, size_t n)
{
	enum qty_kind k = fb ? r->fb_kind : r->thr_kind;
	int has_w = fb ? r->has_fb_warning : r->has_warning;
	double t = fb ? (has_w ? r->fb_warning : r->fb_critical) : (has_w ? r->warning : r->critical);
	char f[FIG_LEN];

	if ((k != QTY_NS && k != QTY_BYTES) ||
	    unit_kind(unit) == (k == QTY_NS ? UNIT_NS : UNIT_BYTES))
		return NULL;
	fmt_fig(f, sizeof(f), t, k == QTY_NS ? "ns" : "bytes", 0);
	if (what != NULL)
		snprintf(buf, n, "%s%s threshold %s is %s, but %s", fb ? "fallback " : "",
			 has_w ? "warning" : "critical", f, written_as(k), what);
	else
		snprintf(buf, n, "%s%s threshold %s is %s, but %s %s%s%s", fb ? "fallback " : "",
			 has_w ? "warning" : "critical", f, written_as(k), r->sel.metric,
			 unit && *unit ? "is in '" : "has no unit (a count)",
			 unit && *unit ? unit : "", unit && *unit ? "'" : "");
	return buf;
}

const char *rule_unit_misfit(const struct rule *r, const char *unit, const char *what, char *buf,
			     size_t n)
{
	const char *m;

	if (rule_value_kind(r) != RV_RATE && rule_value_kind(r) != RV_AMOUNT)
		return NULL;
	m = misfit(r, unit, what, 0, buf, n);
	if (m == NULL && r->has_fallback)
		m = misfit(r, unit, what, 1, buf, n);
	return m;
}
