/*
 * rules_int.h - what the two files of the rules-file parser share:
 * rules_values.c reads the pieces (messages at a line and column, YAML
 * nodes and mappings, durations, numbers, selectors), rules.c the rules
 * and the file built of them (rules.h). Private to tools/alerting/.
 */
#ifndef SHMSTAT_RULES_INT_H
#define SHMSTAT_RULES_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <yaml.h>

#include "rules.h"

/* ---------------------------------------------------------------- errors */

struct ctx {
	const char *path;               /* NULL: an inline rule (no file) */
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	char who[RULES_MAX_NAME + 32];  /* "rule 'x'" or "rule 3": for messages */
};

/* "PATH:LINE:COLUMN: message" into c->err ("message" alone without a
 * path); -1. Messages never quote what the file holds (see
 * rules_values.c). */
__attribute__((format(printf, 4, 5)))
int fail(struct ctx *c, int line, int col, const char *fmt, ...);

/* A value as messages quote it: at most 48 bytes, control characters as
 * '?', "..." when cut. */
struct shown {
	char s[56];
};

static inline struct shown show(const char *v)
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

static inline int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static inline int col_of(const yaml_node_t *n)
{
	return (int)n->start_mark.column + 1;
}

/* The line and column of node @n, for fail(). */
#define AT(n) line_of(n), col_of(n)

/* ---------------------------------------------------------------- nodes */

/* Node @i of the document. */
yaml_node_t *node(struct ctx *c, int i);

/* A plain empty, ~ or null scalar? */
int is_null(const yaml_node_t *n);

/* "a list", "a mapping", "a value": what @n is, for messages. */
const char *type_name(const yaml_node_t *n);

/* The text of scalar @n, the value of key @key (for messages); NULL
 * (error set) when it is not a scalar, is empty or null, or holds a NUL. */
const char *scalar(struct ctx *c, const yaml_node_t *n, const char *key);

/* The values (and key nodes) of the keys @names[0..n-1] of mapping @map;
 * an unknown, repeated or non-string key is an error. */
int map_keys(struct ctx *c, const yaml_node_t *map, const char *where,
	     const char *const *names, size_t n, yaml_node_t **vals, yaml_node_t **keys);

/* ---------------------------------------------------------------- values */

/* Duration, number, whole number >= 0 of scalar @n, the value of @key;
 * 0, or -1 with the error set. */
int duration(struct ctx *c, const yaml_node_t *n, const char *key, uint64_t *ns);
int number(struct ctx *c, const yaml_node_t *n, const char *key, double *v);
int whole(struct ctx *c, const yaml_node_t *n, const char *key, uint64_t *v);

/*
 * Threshold @text of rule @r (its kind and baseline known) into *@v, in
 * the base unit of its kind (*@kind, units.h's parse_quantity()): a
 * unit that does not fit what the rule compares is an error. @fb: a
 * baseline's fallback (absolute, as without a baseline). For messages:
 * @where ("rule 'a': 'above'"), @key ("'warning'") and @shown
 * ("'warning: 15MB'"); at @line, @col.
 */
int threshold(struct ctx *c, const struct rule *r, int line, int col, const char *where,
	      const char *key, const char *shown, const char *text, int fb, double *v,
	      enum qty_kind *kind);

/* Warning and critical of one direction: the same unit (*@kind: the one
 * they were written in), warning the lesser alarm; @wt, @ct their texts
 * for messages (NULL when not given). */
int threshold_pair(struct ctx *c, const struct rule *r, int line, int col, const char *where,
		   const char *wt, const char *ct, enum qty_kind wk, enum qty_kind ck, double w,
		   double cr, int fb, enum qty_kind *kind);

/* strdup(), "out of memory reading the rules" set when it fails. */
char *dup_str(struct ctx *c, const char *s);

/* ------------------------------------------------------------- selectors */

/* A character of a metric or label name after the first ([a-zA-Z0-9_]). */
int name_char(char ch);

/* Selector METRIC or METRIC{k="v",...} from scalar @n, the value of @key;
 * selectors(): one or a list of 1..RULES_MAX_SELECTORS of them;
 * selector_text(): from @s, at @line, @col. */
int selector(struct ctx *c, const yaml_node_t *n, const char *key, struct rule_selector *out);
int selector_text(struct ctx *c, const char *s, int line, int col, const char *key,
		  struct rule_selector *out);
int selectors(struct ctx *c, const yaml_node_t *n, const char *key,
	      struct rule_selector **out, size_t *nout);
void selector_free(struct rule_selector *s);

#endif
