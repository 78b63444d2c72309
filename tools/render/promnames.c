/*
 * promnames.c - the names a metric takes in an exposition, and the
 * metrics whose names clash (promnames.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "prom.h"
#include "promnames.h"
#include "units.h"

#define CLAIM_CAP 192                          /* a name and a suffix */
#define MAX_CLAIMS (1 + SIG_FAMILIES + 2 * SIG_COUNTERS)

const char *const prom_drop_reason[NDROP] = { "name_clash", "reserved_name", "duplicate_series" };
const char *const prom_sig_what[4] = { "hits", "misses", "weight", "evictions" };

static const char *const reserved[] = { "shmstat_build", "shmstat_segment_", "shmstat_scrape_",
					"shmstat_serve_" };

/* A key of the render order that later keys may extend, and the first
 * metric kept under it (its item, or -1: none) */
struct prom_key {
	char key[CLAIM_CAP];
	size_t len;
	int owner, type;
};

struct prom_names {
	/* the keys the current one extends, shortest first: each is one
	 * character shorter at least, so a name's length bounds them */
	struct prom_key stack[CLAIM_CAP];
	size_t depth;
	/* a table's suffixes: its name's own, then its families' */
	const char *sig[MAX_CLAIMS];
	char sigbuf[MAX_CLAIMS][CLAIM_CAP];
	size_t nsig;
};

void prom_sig_family(char *buf, size_t n, const char *name, int w, const char *sfx)
{
	static const char *const gauge[] = { "max_error", "top_hits", "top_hits_error",
					     "top_high_value" };

	if (w < SIG_COUNTERS)
		snprintf(buf, n, "%s_%s%s%s", name, w >= 4 ? "owner_" : "",
			 prom_sig_what[w >= 4 ? w - 4 : w], sfx);
	else
		snprintf(buf, n, "%s_%s%s", name, gauge[w - SIG_COUNTERS], sfx);
}

static int ends_with(const char *s, size_t n, const char *sfx)
{
	size_t k = strlen(sfx);

	return n >= k && memcmp(s + n - k, sfx, k) == 0;
}

/* The exported names of metric @m: its samples' name (the registered
 * name with _seconds or _bytes added before a counter's _total when
 * its unit asks for it and the name does not say so already; a
 * counter's ends in _total, added when the name has none, in both
 * formats: OpenMetrics adds it to every counter sample, so the text
 * format must too, or a series would change its name with the format
 * the scraper chose) and its family (the same; in OpenMetrics a
 * counter's without _total). A signature table's name: its families
 * are made from it. */
int prom_export_name(const char *name, const char *unit, enum shmstat_type type, char *buf,
		     size_t n)
{
	size_t l = strlen(name), stem;
	int total = type == SHMSTAT_COUNTER && ends_with(name, l, "_total");
	const char *sfx = "";
	enum unit_kind k = unit_kind(unit);
	int scale = 0;

	stem = total ? l - 6 : l;
	if (type != SHMSTAT_SIGTABLE && k == UNIT_NS) {
		scale = EXPO_SECONDS;
		sfx = ends_with(name, stem, "_seconds") ? "" : "_seconds";
	} else if (type != SHMSTAT_SIGTABLE && k == UNIT_BYTES) {
		scale = EXPO_BYTES;
		sfx = ends_with(name, stem, "_bytes") ? "" : "_bytes";
	}
	snprintf(buf, n, "%.*s%s%s", (int)stem, name, sfx, type == SHMSTAT_COUNTER ? "_total" : "");
	return scale;
}

size_t prom_counter_stem(const char *e)
{
	size_t l = strlen(e);

	return l > 6 && ends_with(e, l, "_total") ? l - 6 : l;
}

static int is_reserved(const char *name)
{
	for (size_t r = 0; r < sizeof(reserved) / sizeof(reserved[0]); r++)
		if (strncmp(name, reserved[r], strlen(reserved[r])) == 0)
			return 1;
	return 0;
}

/* The suffixes of the names a metric of @type takes after its key, in
 * @pn (their order is the order its names are checked in) */
static size_t suffixes(const struct prom_names *pn, int type, const char *const **out)
{
	static const char *const counter[] = { "", "_total", "_created" };
	static const char *const hist[] = { "", "_bucket", "_sum", "_count", "_created" };
	static const char *const one[] = { "" };

	switch (type) {
	case SHMSTAT_COUNTER:
		*out = counter;
		return 3;
	case SHMSTAT_HISTOGRAM:
		*out = hist;
		return 5;
	case SHMSTAT_SIGTABLE:
		*out = pn->sig;
		return pn->nsig;
	default:
		*out = one;
		return 1;
	}
}

struct prom_names *prom_names_new(void)
{
	struct prom_names *pn = calloc(1, sizeof(*pn));

	if (pn == NULL)
		return NULL;
	/* a table's own name, then its families (prom_sig_family()) */
	pn->sig[pn->nsig++] = "";
	for (int w = 0; w < SIG_FAMILIES; w++) {
		static const char *const ends[] = { "", "_total", "_created" };

		for (int e = 0; e < (w < SIG_COUNTERS ? 3 : 1); e++) {
			prom_sig_family(pn->sigbuf[pn->nsig], CLAIM_CAP, "", w, ends[e]);
			pn->sig[pn->nsig] = pn->sigbuf[pn->nsig];
			pn->nsig++;
		}
	}
	return pn;
}

void prom_names_free(struct prom_names *pn)
{
	free(pn);
}

/* Is @sfx one of the @n suffixes @s? */
static int has_suffix(const char *const *s, size_t n, const char *sfx)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i], sfx) == 0)
			return 1;
	return 0;
}

/* Key @k's names (@k plus the suffixes of @ktype): does one of them equal
 * the name @gap (@g bytes: what a later key adds to @k) + @sfx? */
static int takes(const struct prom_names *pn, int ktype, const char *gap, size_t g,
		 const char *sfx)
{
	const char *const *s;
	const size_t n = suffixes(pn, ktype, &s);

	for (size_t i = 0; i < n; i++)
		if (strlen(s[i]) >= g && memcmp(s[i], gap, g) == 0 && strcmp(s[i] + g, sfx) == 0)
			return 1;
	return 0;
}

/* Why name @key + @sfx cannot be the current metric's: DROP_* or -1 */
static int refused(const struct prom_names *pn, const char *key, size_t kl, const char *sfx,
		   int (*same)(int item, void *arg), void *arg)
{
	char name[CLAIM_CAP];

	/* every reserved name starts "shmstat_", and a suffix with '_' */
	if (kl >= 7 && memcmp(key, "shmstat", 7) == 0) {
		snprintf(name, sizeof(name), "%.*s%s", (int)kl, key, sfx);
		if (is_reserved(name))
			return DROP_RESERVED;
	}
	for (size_t e = 0; e < pn->depth; e++) {
		const struct prom_key *k = &pn->stack[e];
		const char *const *s;

		if (k->len == kl) {
			const size_t ns = suffixes(pn, k->type, &s);

			if (!same(k->owner, arg) && has_suffix(s, ns, sfx))
				return DROP_CLASH;
		} else if (key[k->len] == '_' &&
			   takes(pn, k->type, key + k->len, kl - k->len, sfx)) {
			return DROP_CLASH;
		}
	}
	return -1;
}

int prom_names_take(struct prom_names *pn, const struct shmstat_metric_info *m, const char *key,
		    size_t kl, int at, int (*same)(int item, void *arg), void *arg, int warn)
{
	const char *const *s;
	const size_t n = suffixes(pn, m->type, &s);
	struct prom_key *top;

	/* a key below CLAIM_CAP bytes: the stack, each key longer than the
	 * one below it, has room for it */
	if (kl >= CLAIM_CAP)
		return -2;
	/* the keys before that this one extends (the render order puts a
	 * key's extensions right after it) */
	while (pn->depth > 0 &&
	       !(pn->stack[pn->depth - 1].len <= kl &&
		 memcmp(pn->stack[pn->depth - 1].key, key, pn->stack[pn->depth - 1].len) == 0))
		pn->depth--;
	for (size_t i = 0; i < n; i++) {
		const int why = refused(pn, key, kl, s[i], same, arg);

		if (why < 0)
			continue;
		if (warn)
			warnf("warning: %s %s left out of the exposition: the name %.*s%s is %s",
			      shmstat_type_name(m->type), m->name, (int)kl, key, s[i],
			      why == DROP_RESERVED ? "reserved for shmstat's own metrics"
						   : "another metric's");
		return why;
	}
	top = pn->depth > 0 ? &pn->stack[pn->depth - 1] : NULL;
	/* a new key: this metric is the first kept under it (under a key
	 * already there, it is that key's metric: any other is refused at
	 * the key itself, suffix "") */
	if (top == NULL || top->len != kl) {
		top = &pn->stack[pn->depth++];
		memcpy(top->key, key, kl);
		top->len = kl;
		top->owner = at;
		top->type = (int)m->type;
	}
	return -1;
}
