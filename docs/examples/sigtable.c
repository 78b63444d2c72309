/*
 * sigtable.c - count which keys are reused, by whom, and what reuse saved.
 *
 * A cache of prompt prefixes, say: each lookup is a hit (the key was
 * found; its weight is what reuse saved, here in micro-dollars) or a miss.
 * Two owners (accounts) share the table. A reader then prints the three
 * keys with the most hits and the exact totals of each owner, and checks
 * both against what was written: with fewer keys than the capacity, no
 * key is ever evicted and every count is exact (error bound 0).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <shmstat.h>

static const struct shmstat_metric_def prefixes_def = {
	.name = "example_prompt_prefixes",
	.help = "Reuse of prompt prefixes.",
};

/* What the writer does, and so what the reader must find. */
struct work {
	const char *key;
	const char *owner;
	unsigned hits, misses;
	uint64_t weight;           /* per hit */
};

static const struct work work[] = {
	{ "system: you are a helpful assistant", "acct-a", 40, 1, 250 },
	{ "system: summarise this file",         "acct-b", 25, 1, 300 },
	{ "system: translate to French",         "acct-a", 12, 1, 100 },
	{ "user: hello",                         "acct-b",  3, 2,  10 },
	{ "tool: weather",                       NULL,      0, 1,   0 },
};
#define NWORK (sizeof(work) / sizeof(work[0]))

/* Sum of the hits, misses and weight @owner (NULL: all) was given. */
static void expected(const char *owner, uint64_t *hits, uint64_t *misses, uint64_t *weight)
{
	*hits = *misses = *weight = 0;
	for (size_t k = 0; k < NWORK; k++) {
		if (owner && (work[k].owner == NULL || strcmp(work[k].owner, owner) != 0))
			continue;
		*hits += work[k].hits;
		*misses += work[k].misses;
		*weight += work[k].hits * work[k].weight;
	}
}

static int write_events(shmstat_seg *seg)
{
	struct shmstat_sigtab_opts o;
	shmstat_sigtab *t;
	int err;

	shmstat_sigtab_opts_init(&o);
	o.capacity = 64;            /* keys each writer thread's summary holds */
	o.owners = 4;
	o.summaries = 2;            /* writer threads with a summary at once */
	err = shmstat_sigtab_register(seg, &prefixes_def, &o, &t);
	if (err) {
		fprintf(stderr, "sigtable: %s\n", shmstat_last_error());
		return -1;
	}
	for (size_t k = 0; k < NWORK; k++) {
		const struct work *w = &work[k];
		uint32_t owner = 0;     /* 0: no owner */

		/* look ids up once, not on every event */
		if (w->owner && shmstat_sig_owner(t, w->owner, &owner) != 0) {
			fprintf(stderr, "sigtable: %s\n", shmstat_last_error());
			return -1;
		}
		for (unsigned i = 0; i < w->misses; i++)
			shmstat_sig_miss(t, w->key, strlen(w->key), owner);
		for (unsigned i = 0; i < w->hits; i++)
			shmstat_sig_hit(t, w->key, strlen(w->key), w->weight, owner);
	}
	return 0;
}

/* Print and check the table in @v. 0 when everything is as written. */
static int check_view(const shmstat_sigview *v)
{
	struct shmstat_sigstats st;
	uint64_t h, m, w;
	size_t top[3], n;
	int bad = 0;

	shmstat_sigview_stats(v, &st);
	expected(NULL, &h, &m, &w);
	printf("%u keys, %" PRIu64 " hits, %" PRIu64 " misses, weight %" PRIu64
	       ", every count within %" PRIu64 "\n",
	       st.used, st.hits, st.misses, st.weight, st.max_error);
	if (st.used != NWORK || st.hits != h || st.misses != m || st.weight != w ||
	    st.evictions != 0 || st.unsummarized != 0 || st.skipped != 0 || st.max_error != 0)
		bad = 1;

	n = shmstat_sigview_top(v, SHMSTAT_BY_HITS, NULL, 3, top);
	for (size_t k = 0; k < n; k++) {
		struct shmstat_sigentry e;

		shmstat_sigview_entry(v, top[k], &e);
		/* keys come back whole up to opts.key_bytes (128 by default);
		 * hits are an upper bound, hits - err_hits a lower one */
		printf("  %-36s %4" PRIu64 " hits (+/- %" PRIu64 ") %3.0f%% weight %6" PRIu64 " %s\n",
		       e.key, e.hits, e.err_hits, 100 * e.hit_rate, e.weight,
		       e.owner[0] ? e.owner : "-");
		/* work[] lists the three most hit keys first, in order */
		if (e.full_len != strlen(work[k].key) || e.key_len != e.full_len ||
		    memcmp(e.key, work[k].key, e.key_len) != 0 || e.hits != work[k].hits ||
		    e.misses != work[k].misses || e.err_hits != 0)
			bad = 1;
	}
	if (n != 3)
		bad = 1;

	for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
		struct shmstat_sigowner_info o;

		shmstat_sigview_owner(v, k, &o);
		expected(o.name, &h, &m, &w);
		printf("  owner %-8s %4" PRIu64 " hits %4" PRIu64 " misses weight %6" PRIu64 "\n",
		       o.name, o.hits, o.misses, o.weight);
		if (o.hits != h || o.misses != m || o.weight != w)
			bad = 1;
	}
	if (shmstat_sigview_owners(v) != 2)
		bad = 1;
	return bad ? -1 : 0;
}

static int read_table(const char *name)
{
	shmstat_reader *r;
	shmstat_snap *s;
	int err, rc = -1;

	err = shmstat_reader_open(name, &r);
	if (err) {
		fprintf(stderr, "sigtable: %s\n", shmstat_last_error());
		return -1;
	}
	err = shmstat_snapshot(r, &s);
	if (err) {
		fprintf(stderr, "sigtable: snapshot: %s\n", shmstat_last_error());
		shmstat_reader_close(r);
		return -1;
	}
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		struct shmstat_metric_info m;
		shmstat_sigview *v;

		shmstat_snap_metric(s, i, &m);
		if (m.type != SHMSTAT_SIGTABLE || strcmp(m.name, prefixes_def.name) != 0)
			continue;
		err = shmstat_snap_sigtab(s, i, &v);
		if (err) {
			fprintf(stderr, "sigtable: %s\n", shmstat_strerror(err));
			break;
		}
		rc = check_view(v);
		shmstat_sigview_free(v);        /* v does not point into s */
		break;
	}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	return rc;
}

int main(void)
{
	char name[64];
	shmstat_seg *seg;
	int rc;

	snprintf(name, sizeof(name), "example-sigtable-%ld", (long)getpid());
	if (shmstat_open(name, NULL, &seg) != 0) {
		fprintf(stderr, "sigtable: %s\n", shmstat_last_error());
		return 1;
	}
	rc = write_events(seg);
	if (rc == 0)
		rc = read_table(name);
	shmstat_close(seg);
	shmstat_unlink(name);
	if (rc != 0) {
		fprintf(stderr, "sigtable: the table does not hold what was written\n");
		return 1;
	}
	return 0;
}
