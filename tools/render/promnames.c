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
#include "strset.h"
#include "units.h"

#define CLAIM_CAP 192                          /* a name and a suffix */
#define MAX_CLAIMS (1 + SIG_FAMILIES + 2 * SIG_COUNTERS)

const char *const prom_drop_reason[NDROP] = { "name_clash", "reserved_name" };
const char *const prom_sig_what[4] = { "hits", "misses", "weight", "evictions" };

static const char *const reserved[] = { "shmstat_build", "shmstat_segment_", "shmstat_scrape_",
					"shmstat_serve_" };

struct prom_names {
	struct strset *taken;
	char (*c)[CLAIM_CAP];      /* a metric's names */
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
 * its unit asks for it and the name does not say so already) and its
 * family (the same; in OpenMetrics a counter's without _total). A
 * signature table's name: its families are made from it. */
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
	snprintf(buf, n, "%.*s%s%s", (int)stem, name, sfx, total ? "_total" : "");
	return scale;
}

size_t prom_counter_stem(const char *e)
{
	size_t l = strlen(e);

	return l > 6 && ends_with(e, l, "_total") ? l - 6 : l;
}

/* The names metric @m's families and samples take in either format,
 * with those OpenMetrics keeps for them: into @c, how many. */
static size_t claims(const struct shmstat_metric_info *m, char (*c)[CLAIM_CAP])
{
	static const char *const hist[] = { "", "_bucket", "_sum", "_count", "_created" };
	char e[176];
	size_t n = 0;

	prom_export_name(m->name, m->unit, m->type, e, sizeof(e));
	switch (m->type) {
	case SHMSTAT_COUNTER:
		e[prom_counter_stem(e)] = '\0';
		snprintf(c[n++], CLAIM_CAP, "%s", e);
		snprintf(c[n++], CLAIM_CAP, "%s_total", e);
		snprintf(c[n++], CLAIM_CAP, "%s_created", e);
		break;
	case SHMSTAT_HISTOGRAM:
		for (size_t k = 0; k < sizeof(hist) / sizeof(hist[0]); k++)
			snprintf(c[n++], CLAIM_CAP, "%s%s", e, hist[k]);
		break;
	case SHMSTAT_SIGTABLE:
		/* its own name too: the items of a family are rendered
		 * together, a table's apart from any other type's */
		snprintf(c[n++], CLAIM_CAP, "%s", m->name);
		for (int w = 0; w < SIG_FAMILIES; w++) {
			prom_sig_family(c[n++], CLAIM_CAP, m->name, w, "");
			if (w < SIG_COUNTERS) {
				prom_sig_family(c[n++], CLAIM_CAP, m->name, w, "_total");
				prom_sig_family(c[n++], CLAIM_CAP, m->name, w, "_created");
			}
		}
		break;
	default:
		snprintf(c[n++], CLAIM_CAP, "%s", e);
		break;
	}
	return n;
}

static int is_reserved(const char *name)
{
	for (size_t r = 0; r < sizeof(reserved) / sizeof(reserved[0]); r++)
		if (strncmp(name, reserved[r], strlen(reserved[r])) == 0)
			return 1;
	return 0;
}

size_t prom_names_most(enum shmstat_type type)
{
	return type == SHMSTAT_COUNTER ? 3 : type == SHMSTAT_HISTOGRAM ? 5 :
	       type == SHMSTAT_SIGTABLE ? MAX_CLAIMS : 1;
}

struct prom_names *prom_names_new(size_t most)
{
	struct prom_names *pn = calloc(1, sizeof(*pn));

	if (pn == NULL)
		return NULL;
	pn->taken = strset_new(most);
	pn->c = malloc(MAX_CLAIMS * sizeof(*pn->c));
	if (pn->taken == NULL || pn->c == NULL) {
		prom_names_free(pn);
		return NULL;
	}
	return pn;
}

void prom_names_free(struct prom_names *pn)
{
	if (pn == NULL)
		return;
	strset_free(pn->taken);
	free(pn->c);
	free(pn);
}

int prom_names_take(struct prom_names *pn, const struct shmstat_metric_info *m, int at,
		    int (*same)(int item, void *arg), void *arg, int warn)
{
	const size_t n = claims(m, pn->c);

	for (size_t k = 0; k < n; k++) {
		int owner = -1;
		const int why = is_reserved(pn->c[k]) ? DROP_RESERVED
				: strset_get(pn->taken, pn->c[k], &owner) && !same(owner, arg) ?
					DROP_CLASH : -1;

		if (why < 0)
			continue;
		if (warn)
			warnf("warning: %s %s left out of the exposition: the name %s is %s",
			      shmstat_type_name(m->type), m->name, pn->c[k],
			      why == DROP_RESERVED ? "reserved for shmstat's own metrics"
						   : "another metric's");
		return why;
	}
	for (size_t k = 0; k < n; k++)
		if (strset_put(pn->taken, pn->c[k], at) != 0)
			return -2;
	return -1;
}
