/*
 * rules_values.c - the pieces of a rules file (rules_int.h): messages at
 * their line and column, YAML nodes and mappings, durations
 * (rules_parse_duration(), rules.h), numbers, and metric selectors. The
 * rules and the file are read in rules.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "rules.h"
#include "rules_int.h"
#include "units.h"

/* ---------------------------------------------------------------- errors */

/*
 * "PATH:LINE:COLUMN: message" into c->err ("PATH:LINE: " when @col is 0,
 * "PATH: " when @line is 0); -1. Messages say where and what was expected,
 * never what the file holds there: rules files may be any file this user
 * can read (`check -r /etc/shadow` as root), and their content is not
 * echoed. Rule names, once valid, and numbers that parsed are the only
 * text of the file messages show.
 */
int fail(struct ctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int o;

	if (c->err == NULL || c->errlen == 0)
		return -1;
	if (c->path == NULL)
		o = 0;
	else if (line > 0 && col > 0)
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

/* ---------------------------------------------------------------- nodes */

yaml_node_t *node(struct ctx *c, int i)
{
	return yaml_document_get_node(c->doc, i);
}

int is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return strcmp(v, "") == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

const char *type_name(const yaml_node_t *n)
{
	return n->type == YAML_SEQUENCE_NODE ? "a list" :
	       n->type == YAML_MAPPING_NODE ? "a mapping" : "a value";
}

/* The text of scalar @n, the value of key @key (for messages); NULL
 * (error set) when it is not a scalar, is empty or null, or holds a NUL. */
const char *scalar(struct ctx *c, const yaml_node_t *n, const char *key)
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
int map_keys(struct ctx *c, const yaml_node_t *map, const char *where,
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

int duration(struct ctx *c, const yaml_node_t *n, const char *key, uint64_t *ns)
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

int number(struct ctx *c, const yaml_node_t *n, const char *key, double *v)
{
	const char *s = scalar(c, n, key);
	enum qty_kind k;

	if (s == NULL)
		return -1;
	if (parse_quantity(s, v, &k) != 0 || k != QTY_PLAIN)
		return fail(c, AT(n), "%s: '%s' is not a number (digits, '.', an exponent)",
			    c->who, key);
	return 0;
}

int whole(struct ctx *c, const yaml_node_t *n, const char *key, uint64_t *v)
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

char *dup_str(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		fail(c, 0, 0, "out of memory reading the rules");
	return d;
}

/* ------------------------------------------------------------- selectors */

static int name_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

int name_char(char ch)
{
	return name_start(ch) || is_digit(ch);
}

static void skip_spaces(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

void selector_free(struct rule_selector *s)
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
int selector(struct ctx *c, const yaml_node_t *n, const char *key, struct rule_selector *out)
{
	const char *s = scalar(c, n, key);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	return selector_text(c, s, AT(n), key, out);
}

int selector_text(struct ctx *c, const char *s, int line, int col, const char *key,
		  struct rule_selector *out)
{
	const char *p;
	struct pair pr[RULES_MAX_LABELS];
	char canon_buf[RULES_MAX_LABELS_LEN + 1], bad[200];
	size_t np = 0, ml;

	memset(out, 0, sizeof(*out));
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
	fail(c, line, col, "%s: '%s' is not a selector: %s (at character %zu of the value)", c->who,
	     key, bad, (size_t)(p - s) + 1);
	goto out;
nomem:
	fail(c, 0, 0, "out of memory reading the rules");
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
int selectors(struct ctx *c, const yaml_node_t *n, const char *key,
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
		return fail(c, 0, 0, "out of memory reading the rules");
	for (size_t i = 0; i < cnt; i++) {
		const yaml_node_t *it = n->type == YAML_SEQUENCE_NODE ?
					node(c, n->data.sequence.items.start[i]) : n;

		if (selector(c, it, key, &(*out)[i]) != 0)
			return -1;
		(*nout)++;
	}
	return 0;
}
