/*
 * rules.c - rules files (rules.h): YAML through libyaml's document API,
 * then a check of every key and value against the format of
 * docs/rules.md.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "rules.h"

/* ---------------------------------------------------------------- errors */

struct ctx {
	const char *path;
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	char who[RULES_MAX_NAME + 32];  /* "rule 'x'" or "rule 3": for messages */
};

/*
 * "PATH:LINE:COLUMN: message" into c->err ("PATH:LINE: " when @col is 0,
 * "PATH: " when @line is 0); -1. Messages say where and what was expected,
 * never what the file holds there: rules files may be any file this user
 * can read (`check -r /etc/shadow` as root), and their content is not
 * echoed. Rule names, once valid, and numbers that parsed are the only
 * text of the file messages show.
 */
__attribute__((format(printf, 4, 5)))
static int fail(struct ctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int o;

	if (c->err == NULL || c->errlen == 0)
		return -1;
	if (line > 0 && col > 0)
		o = snprintf(c->err, c->errlen, "%s:%d:%d: ", c->path, line, col);
	else if (line > 0)
		o = snprintf(c->err, c->errlen, "%s:%d: ", c->path, line);
	else
		o = snprintf(c->err, c->errlen, "%s: ", c->path);
	if (o < 0 || (size_t)o >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + o, c->errlen - (size_t)o, fmt, ap);
	va_end(ap);
	return -1;
}

/* A value as messages quote it: at most 48 bytes, control characters as
 * '?', "..." when cut. */
struct shown {
	char s[56];
};

static struct shown show(const char *v)
{
	struct shown r;
	size_t i;

	for (i = 0; i < 48 && v[i]; i++)
		r.s[i] = (char)((unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i]);
	if (v[i]) {
		memcpy(r.s + i, "...", 3);
		i += 3;
	}
	r.s[i] = '\0';
	return r;
}

#define SHOW(v) (show(v).s)

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static int col_of(const yaml_node_t *n)
{
	return (int)n->start_mark.column + 1;
}

/* The line and column of node @n, for fail(). */
#define AT(n) line_of(n), col_of(n)

/* ---------------------------------------------------------------- nodes */

static yaml_node_t *node(struct ctx *c, int i)
{
	return yaml_document_get_node(c->doc, i);
}

static int is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return strcmp(v, "") == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *type_name(const yaml_node_t *n)
{
	return n->type == YAML_SEQUENCE_NODE ? "a list" :
	       n->type == YAML_MAPPING_NODE ? "a mapping" : "a value";
}

/* The text of scalar @n, the value of key @key (for messages); NULL
 * (error set) when it is not a scalar, is empty or null, or holds a NUL. */
static const char *scalar(struct ctx *c, const yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(c, AT(n), "%s: '%s' must be a single value, not %s", c->who, key,
			    type_name(n)), NULL;
	if (is_null(n) || n->data.scalar.length == 0)
		return fail(c, AT(n), "%s: '%s' has no value", c->who, key), NULL;
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return fail(c, AT(n), "%s: '%s' holds a NUL byte", c->who, key), NULL;
	return (const char *)n->data.scalar.value;
}

/*
 * The pairs of mapping @map whose keys are among @names[0..n-1]: the value
 * of names[i] into vals[i] (NULL when absent), its key node into keys[i]
 * (may be NULL). An unknown or repeated key, or a key that is not a plain
 * string, is an error; @where names the mapping in messages.
 */
static int map_keys(struct ctx *c, const yaml_node_t *map, const char *where,
		    const char *const *names, size_t n, yaml_node_t **vals, yaml_node_t **keys)
{
	for (size_t i = 0; i < n; i++) {
		vals[i] = NULL;
		if (keys)
			keys[i] = NULL;
	}
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *ks;
		size_t i;

		if (k->type != YAML_SCALAR_NODE ||
		    strlen((const char *)k->data.scalar.value) != k->data.scalar.length)
			return fail(c, AT(k), "%s: keys must be plain names, not %s", where,
				    type_name(k));
		ks = (const char *)k->data.scalar.value;
		for (i = 0; i < n && strcmp(names[i], ks) != 0; i++)
			;
		if (i == n) {
			char known[256];
			size_t o = 0;

			known[0] = '\0';
			for (size_t j = 0; j < n && o < sizeof(known); j++)
				o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
						      j ? ", " : "", names[j]);
			return fail(c, AT(k), "%s: unknown key (known: %s)", where, known);
		}
		if (vals[i])
			return fail(c, AT(k), "%s: key '%s' is given twice (first at line %d)",
				    where, names[i], line_of(vals[i]));
		vals[i] = v;
		if (keys)
			keys[i] = k;
	}
	return 0;
}

/* ---------------------------------------------------------------- values */

static const struct unit {
	const char *sfx;
	uint64_t ns;
} units[] = {
	/* two-letter units before their first letter alone */
	{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000ull },
	{ "m", 60000000000ull }, { "h", 3600000000000ull }, { "d", 86400000000000ull },
};
#define NUNITS (sizeof(units) / sizeof(units[0]))

/* The unit at @s (longest match), or NULL; *@len its length. */
static const struct unit *unit_at(const char *s, size_t *len)
{
	for (size_t i = 0; i < NUNITS; i++) {
		size_t l = strlen(units[i].sfx);

		if (strncmp(s, units[i].sfx, l) == 0 &&
		    !(l == 1 && s[0] == 'm' && s[1] == 's')) {
			*len = l;
			return &units[i];
		}
	}
	return NULL;
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

int rules_parse_duration(const char *s, uint64_t *ns)
{
	uint64_t total = 0;

	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*s == '\0')
		return -1;
	while (*s) {
		uint64_t ip = 0, frac = 0, scale = 1, part;
		const struct unit *u;
		size_t ul;
		int digits = 0;

		for (; is_digit(*s); s++, digits++) {
			if (ip > RULES_MAX_DURATION_NS)
				return -1;
			ip = ip * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.') {
			s++;
			for (; is_digit(*s); s++, digits++)
				if (scale < 1000000000000ull) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				}
		}
		if (digits == 0 || (u = unit_at(s, &ul)) == NULL)
			return -1;
		s += ul;
		if (ip > RULES_MAX_DURATION_NS / u->ns)
			return -1;
		/* the fraction, to the nearest nanosecond */
		part = ip * u->ns + (uint64_t)llround((double)frac / (double)scale * (double)u->ns);
		if (part > RULES_MAX_DURATION_NS - total)
			return -1;
		total += part;
	}
	*ns = total;
	return 0;
}

static int duration(struct ctx *c, const yaml_node_t *n, const char *key, uint64_t *ns)
{
	const char *s = scalar(c, n, key);

	if (s == NULL)
		return -1;
	if (rules_parse_duration(s, ns) != 0)
		return fail(c, AT(n),
			    "%s: '%s' is not a duration (write e.g. 30s, 5m, 1h30m; units ns, us, ms, s, m, h, d; at most 366d)",
			    c->who, key);
	return 0;
}

/* A plain decimal number (no hex, inf or nan) at the start of @s; the
 * length of it, 0 if there is none. */
static size_t number_len(const char *s)
{
	size_t i = 0, d = 0;

	if (s[i] == '+' || s[i] == '-')
		i++;
	for (; is_digit(s[i]); i++)
		d++;
	if (s[i] == '.')
		for (i++; is_digit(s[i]); i++)
			d++;
	if (d == 0)
		return 0;
	if (s[i] == 'e' || s[i] == 'E') {
		size_t j = i + 1, e = 0;

		if (s[j] == '+' || s[j] == '-')
			j++;
		for (; is_digit(s[j]); j++)
			e++;
		if (e)
			i = j;
	}
	return i;
}

enum vunit { V_PLAIN, V_DURATION, V_PERCENT };

/* A number, alone or followed by a duration unit (into nanoseconds) or
 * '%'. Return 0 or -1 (not such a number, or not finite). */
static int parse_value(const char *s, double *v, enum vunit *vu)
{
	size_t n = number_len(s), ul;
	const struct unit *u;
	char num[64];

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	*v = strtod(num, NULL);
	*vu = V_PLAIN;
	if (s[n] == '%' && s[n + 1] == '\0') {
		*vu = V_PERCENT;
	} else if (s[n] != '\0') {
		u = unit_at(s + n, &ul);
		if (u == NULL || s[n + ul] != '\0')
			return -1;
		*v *= (double)u->ns;
		*vu = V_DURATION;
	}
	return isfinite(*v) ? 0 : -1;
}

static int number(struct ctx *c, const yaml_node_t *n, const char *key, double *v)
{
	const char *s = scalar(c, n, key);
	enum vunit vu;

	if (s == NULL)
		return -1;
	if (parse_value(s, v, &vu) != 0 || vu != V_PLAIN)
		return fail(c, AT(n), "%s: '%s' is not a number (digits, '.', an exponent)",
			    c->who, key);
	return 0;
}

static int whole(struct ctx *c, const yaml_node_t *n, const char *key, uint64_t *v)
{
	const char *s = scalar(c, n, key);
	uint64_t x = 0;
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; is_digit(s[i]); i++) {
		if (x > (UINT64_MAX - 9) / 10)
			return fail(c, AT(n), "%s: '%s' is too large", c->who, key);
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || s[i] != '\0')
		return fail(c, AT(n), "%s: '%s' is not a whole number >= 0", c->who, key);
	*v = x;
	return 0;
}

static char *dup_str(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		fail(c, 0, 0, "out of memory");
	return d;
}

/* ------------------------------------------------------------- selectors */

static int name_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int name_char(char ch)
{
	return name_start(ch) || is_digit(ch);
}

static void skip_spaces(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static void selector_free(struct rule_selector *s)
{
	for (size_t i = 0; i < s->nlabels; i++) {
		free(s->keys[i]);
		free(s->values[i]);
	}
	free(s->keys);
	free(s->values);
	free(s->metric);
	free(s->labels);
	memset(s, 0, sizeof(*s));
}

struct pair {
	char *k, *v;
};

static int pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pair *)a)->k, ((const struct pair *)b)->k);
}

/* The canonical labels of @p[0..n-1] (sorted) into @out; -1 if longer than
 * RULES_MAX_LABELS_LEN. */
static int canon(const struct pair *p, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(p[i].k);

		if (o + kl + 3 > RULES_MAX_LABELS_LEN)
			return -1;
		o += (size_t)sprintf(out + o, "%s%s=\"", i ? "," : "", p[i].k);
		for (const char *v = p[i].v; *v; v++) {
			if (o + 3 > RULES_MAX_LABELS_LEN)
				return -1;
			if (*v == '\\' || *v == '"' || *v == '\n') {
				out[o++] = '\\';
				out[o++] = (char)(*v == '\n' ? 'n' : *v);
			} else {
				out[o++] = *v;
			}
		}
		if (o + 1 > RULES_MAX_LABELS_LEN)
			return -1;
		out[o++] = '"';
	}
	out[o] = '\0';
	return 0;
}

/*
 * Selector METRIC or METRIC{k="v",...} (value escapes \\ \" \n; spaces
 * around pairs; a trailing comma) from scalar @n, the value of @key.
 */
static int selector(struct ctx *c, const yaml_node_t *n, const char *key,
		    struct rule_selector *out)
{
	const char *s = scalar(c, n, key), *p;
	struct pair pr[RULES_MAX_LABELS];
	char canon_buf[RULES_MAX_LABELS_LEN + 1], bad[200];
	size_t np = 0, ml;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	p = s;
	if (!(name_start(*p) || *p == ':')) {
		snprintf(bad, sizeof(bad), "a metric name starts with a letter, '_' or ':'");
		goto bad;
	}
	while (name_char(*p) || *p == ':')
		p++;
	ml = (size_t)(p - s);
	if (ml > RULES_MAX_METRIC) {
		snprintf(bad, sizeof(bad), "the metric name is longer than %d bytes",
			 RULES_MAX_METRIC);
		goto bad;
	}
	if (*p == '{') {
		p++;
		for (;;) {
			const char *k;
			size_t kl, vl = 0;
			char val[RULES_MAX_LABELS_LEN + 1];

			skip_spaces(&p);
			if (*p == '}')
				break;
			k = p;
			if (*p == '\0') {
				snprintf(bad, sizeof(bad), "no closing '}'");
				goto bad;
			}
			if (!name_start(*p)) {
				snprintf(bad, sizeof(bad),
					 "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) or '}'");
				goto bad;
			}
			while (name_char(*p))
				p++;
			kl = (size_t)(p - k);
			if (kl >= 2 && k[0] == '_' && k[1] == '_') {
				snprintf(bad, sizeof(bad),
					 "label names starting with '__' are reserved");
				goto bad;
			}
			if (np == RULES_MAX_LABELS) {
				snprintf(bad, sizeof(bad), "more than %d labels", RULES_MAX_LABELS);
				goto bad;
			}
			skip_spaces(&p);
			if (*p != '=') {
				snprintf(bad, sizeof(bad), "expected '=' after label %zu", np + 1);
				goto bad;
			}
			p++;
			skip_spaces(&p);
			if (*p != '"') {
				snprintf(bad, sizeof(bad),
					 "the value of label %zu must be in double quotes", np + 1);
				goto bad;
			}
			for (p++; *p && *p != '"'; p++) {
				char ch = *p;

				if (ch == '\\') {
					p++;
					if (*p == 'n')
						ch = '\n';
					else if (*p == '\\' || *p == '"')
						ch = *p;
					else {
						snprintf(bad, sizeof(bad),
							 "unknown escape in the value of label %zu (known: \\\\ \\\" \\n)",
							 np + 1);
						goto bad;
					}
				}
				if (vl >= RULES_MAX_LABELS_LEN) {
					snprintf(bad, sizeof(bad), "labels longer than %d bytes",
						 RULES_MAX_LABELS_LEN);
					goto bad;
				}
				val[vl++] = ch;
			}
			if (*p != '"') {
				snprintf(bad, sizeof(bad), "the value of label %zu has no closing '\"'",
					 np + 1);
				goto bad;
			}
			val[vl] = '\0';
			p++;
			pr[np].k = strndup(k, kl);
			pr[np].v = strdup(val);
			np++;
			if (pr[np - 1].k == NULL || pr[np - 1].v == NULL)
				goto nomem;
			for (size_t i = 0; i + 1 < np; i++)
				if (strcmp(pr[i].k, pr[np - 1].k) == 0) {
					snprintf(bad, sizeof(bad),
						 "labels %zu and %zu have the same name", i + 1, np);
					goto bad;
				}
			skip_spaces(&p);
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p != '}') {
				snprintf(bad, sizeof(bad), "expected ',' or '}' after label %zu%s", np,
					 *p ? "" : " (no closing '}')");
				goto bad;
			}
		}
		p++;
	}
	if (*p != '\0') {
		snprintf(bad, sizeof(bad), "unexpected text after the %s",
			 p[-1] == '}' ? "labels" : "metric name (labels go in {k=\"v\",...})");
		goto bad;
	}
	qsort(pr, np, sizeof(pr[0]), pair_cmp);
	if (canon(pr, np, canon_buf) != 0) {
		snprintf(bad, sizeof(bad), "labels longer than %d bytes in the form k=\"v\",...",
			 RULES_MAX_LABELS_LEN);
		goto bad;
	}
	out->metric = strndup(s, ml);
	out->labels = strdup(canon_buf);
	out->keys = malloc((np ? np : 1) * sizeof(char *));
	out->values = malloc((np ? np : 1) * sizeof(char *));
	if (!out->metric || !out->labels || !out->keys || !out->values)
		goto nomem;
	for (size_t i = 0; i < np; i++) {
		out->keys[i] = pr[i].k;
		out->values[i] = pr[i].v;
	}
	out->nlabels = np;
	return 0;
bad:
	fail(c, AT(n), "%s: '%s' is not a selector: %s (at character %zu of the value)", c->who,
	     key, bad, (size_t)(p - s) + 1);
	goto out;
nomem:
	fail(c, 0, 0, "out of memory");
out:
	for (size_t i = 0; i < np; i++) {
		free(pr[i].k);
		free(pr[i].v);
	}
	out->nlabels = 0;
	selector_free(out);
	return -1;
}

/* One selector or a list of 1..RULES_MAX_SELECTORS of them. */
static int selectors(struct ctx *c, const yaml_node_t *n, const char *key,
		     struct rule_selector **out, size_t *nout)
{
	size_t cnt = n->type == YAML_SEQUENCE_NODE ?
		     (size_t)(n->data.sequence.items.top - n->data.sequence.items.start) : 1;

	*out = NULL;
	*nout = 0;
	if (n->type == YAML_MAPPING_NODE)
		return fail(c, AT(n), "%s: '%s' must be a selector or a list of selectors",
			    c->who, key);
	if (cnt == 0)
		return fail(c, AT(n), "%s: '%s' is an empty list", c->who, key);
	if (cnt > RULES_MAX_SELECTORS)
		return fail(c, AT(n), "%s: '%s' has more than %d selectors", c->who, key,
			    RULES_MAX_SELECTORS);
	*out = calloc(cnt, sizeof(**out));
	if (*out == NULL)
		return fail(c, 0, 0, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		const yaml_node_t *it = n->type == YAML_SEQUENCE_NODE ?
					node(c, n->data.sequence.items.start[i]) : n;

		if (selector(c, it, key, &(*out)[i]) != 0)
			return -1;
		(*nout)++;
	}
	return 0;
}

/* ---------------------------------------------------------------- rules */

static const char *const kind_names[] = { "rate", "increase", "ratio", "quantile", "gauge", "sig" };
static const char *const op_names[] = { ">", ">=", "<", "<=" };
static const char *const figure_names[] = { "hit_rate", "hits", "misses", "weight", "evictions" };
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
		static const char *const keys[] = { "metric", "figure" };
		yaml_node_t *m[2];
		const char *f;
		size_t i;

		if (v->type != YAML_MAPPING_NODE)
			return fail(c, AT(v), "%s must be a mapping {metric: ..., figure: ...}",
				    where);
		if (map_keys(c, v, where, keys, 2, m, NULL) != 0)
			return -1;
		if (m[0] == NULL || m[1] == NULL)
			return fail(c, AT(v), "%s has no '%s'", where,
				    m[0] ? "figure" : "metric");
		if (selector(c, m[0], "metric", &r->sel) != 0 || (f = scalar(c, m[1], "figure")) == NULL)
			return -1;
		for (i = 0; i < 5 && strcmp(figure_names[i], f) != 0; i++)
			;
		if (i == 5)
			return fail(c, AT(m[1]),
				    "%s: unknown 'figure' (known: hit_rate, hits, misses, weight, evictions)",
				    c->who);
		r->figure = (enum rule_sig_figure)i;
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

static int baseline(struct ctx *c, struct rule *r, const yaml_node_t *v)
{
	static const char *const keys[] = { "window", "stat" };
	char where[RULES_MAX_NAME + 64];
	yaml_node_t *m[2];

	snprintf(where, sizeof(where), "%s: 'baseline'", c->who);
	if (v->type != YAML_MAPPING_NODE)
		return fail(c, AT(v), "%s must be a mapping {window: ..., stat: median|mean}",
			    where);
	if (map_keys(c, v, where, keys, 2, m, NULL) != 0)
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
	r->has_baseline = 1;
	return 0;
}

/* The thresholds mapping @v of direction key @dk; needs the kind and the
 * baseline parsed. */
static int thresholds(struct ctx *c, struct rule *r, int dk, const yaml_node_t *v)
{
	static const char *const keys[] = { "warning", "critical" };
	const char *dn = rule_keys[dk];
	char where[RULES_MAX_NAME + 64];
	yaml_node_t *m[2];
	double *dst[2] = { &r->warning, &r->critical };
	int *has[2] = { &r->has_warning, &r->has_critical };
	int up;

	r->op = (enum rule_op)(dk - K_ABOVE);
	up = r->op == RULE_GT || r->op == RULE_GE;
	snprintf(where, sizeof(where), "%s: '%s'", c->who, dn);
	if (v->type != YAML_MAPPING_NODE)
		return fail(c, AT(v), "%s must be a mapping {warning: ..., critical: ...}",
			    where);
	if (map_keys(c, v, where, keys, 2, m, NULL) != 0)
		return -1;
	if (m[0] == NULL && m[1] == NULL)
		return fail(c, AT(v), "%s needs 'warning', 'critical' or both", where);
	for (int i = 0; i < 2; i++) {
		const char *s;
		enum vunit vu;

		if (m[i] == NULL)
			continue;
		if ((s = scalar(c, m[i], keys[i])) == NULL)
			return -1;
		if (parse_value(s, dst[i], &vu) != 0)
			return fail(c, AT(m[i]),
				    "%s: '%s' is not a number (a number, a duration such as 2ms, or a percent change such as 20%% with a baseline)",
				    where, keys[i]);
		if (vu == V_PERCENT && !r->has_baseline)
			return fail(c, AT(m[i]),
				    "%s: '%s: %s': percent thresholds need a 'baseline' (write ratios as 0.9, not 90%%)",
				    where, keys[i], SHOW(s));
		if (vu == V_DURATION && r->has_baseline)
			return fail(c, AT(m[i]),
				    "%s: '%s: %s': with a baseline, thresholds are percent changes (e.g. 20%%), not durations",
				    where, keys[i], SHOW(s));
		if (vu == V_DURATION && r->kind != RULE_QUANTILE && r->kind != RULE_GAUGE)
			return fail(c, AT(m[i]),
				    "%s: '%s: %s': durations apply to quantile and gauge rules only",
				    where, keys[i], SHOW(s));
		if (r->has_baseline && *dst[i] < 0)
			return fail(c, AT(m[i]),
				    "%s: '%s: %s': a baseline threshold is a change in the bad direction, >= 0",
				    where, keys[i], SHOW(s));
		if (vu == V_DURATION)
			r->ns_values = 1;
		*has[i] = 1;
	}
	/* warning is reached first: before critical in the bad direction
	 * (baseline thresholds are magnitudes: always warning <= critical) */
	if (m[0] && m[1]) {
		int ok = up || r->has_baseline ? r->warning <= r->critical : r->warning >= r->critical;

		if (!ok)
			return fail(c, AT(m[0]),
				    "%s: warning (%s) must be %s critical (%s): it is the lesser alarm",
				    where, SHOW((const char *)m[0]->data.scalar.value),
				    up || r->has_baseline ? "at most" : "at least",
				    SHOW((const char *)m[1]->data.scalar.value));
	}
	return 0;
}

static int rule(struct ctx *c, const yaml_node_t *n, size_t idx, struct ruleset *rs)
{
	struct rule *r = &rs->rules[idx];
	yaml_node_t *v[K_N], *k[K_N];
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
		if (baseline(c, r, v[K_BASELINE]) != 0)
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
	return thresholds(c, r, dir, v[dir]);
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
		return fail(c, 0, 0, "out of memory");
	if (p->context)
		return fail(c, line, col, "bad YAML: %s (%s at line %d)", what, p->context,
			    (int)p->context_mark.line + 1);
	return fail(c, line, col, "bad YAML: %s", what);
}

/*
 * A first pass over the events, for what the document API cannot say
 * where: aliases, refused at their line (in a loaded document an alias is
 * a second reference to its anchored node, so the walk could loop or
 * repeat: alias bombs), and a second document. YAML syntax errors come
 * out here too.
 */
static int prescan(struct ctx *c, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int docs = 0, rc = 0, done = 0;

	if (!yaml_parser_initialize(&p))
		return fail(c, 0, 0, "out of memory");
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
		return fail(c, 0, 0, "out of memory");
	rs->n = n;
	for (size_t i = 0; i < n; i++)
		if (rule(c, node(c, list->data.sequence.items.start[i]), i, rs) != 0)
			return -1;
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
		return fail(&c, 0, 0, "out of memory");
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
		return fail(&c, 0, 0, "out of memory");
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

void rule_fmt_value(const struct rule *r, double v, int pct, char *buf, size_t n)
{
	static const struct { const char *sfx; double div; } u[] = {
		{ "s", 1e9 }, { "ms", 1e6 }, { "us", 1e3 },
	};

	if (isnan(v)) {
		snprintf(buf, n, "-");
		return;
	}
	if (pct) {
		snprintf(buf, n, "%+.1f%%", v);
		return;
	}
	if (r->ns_values && isfinite(v)) {
		for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
			if (fabs(v) >= u[i].div) {
				snprintf(buf, n, "%.4g%s", v / u[i].div, u[i].sfx);
				return;
			}
		snprintf(buf, n, "%.4gns", v);
		return;
	}
	snprintf(buf, n, "%.4g", v);
}
