/*
 * top.c - shmstat top: the most reused signatures of a table.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "cli.h"
#include "cmd.h"

const char cmd_top_usage[] =
	"usage: shmstat top [-n N] [--by hits|weight|recent|upper] [--owner OWNER]\n"
	"                   [--high-value HITS] NAME [TABLE]\n"
	"  Print the top N (default 20) signatures of each signature table of\n"
	"  segment NAME (or of TABLE only), ranked by guaranteed hits (hits no\n"
	"  error can take away; --by upper: by the most they may be): hits,\n"
	"  the error (the true count lies in [HITS, HITS + ERROR]), misses,\n"
	"  hit rate, weight, first and last seen, owner, and the key, whole up\n"
	"  to the table's key bytes ('...' when cut). '*' marks a high-value\n"
	"  key (guaranteed hits >= HITS, default 3); 'x' a key idle longer than\n"
	"  the table's TTL. The head line says how many events the table saw\n"
	"  and the most any key's count can be off. Then the totals per owner\n"
	"  (exact).\n";

/* The key, printable: other bytes as \xNN, "..." when cut; its hash
 * when its text is not known (a key seen once by a full summary). */
static void fmt_key(char *buf, size_t n, const struct shmstat_sigentry *e)
{
	size_t o = 0;

	if (!e->has_key) {
		snprintf(buf, n, "(hash %016llx)", (unsigned long long)e->hash);
		return;
	}
	for (uint32_t i = 0; i < e->key_len && o + 5 < n; i++) {
		unsigned char c = (unsigned char)e->key[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
	}
	if (e->full_len > e->key_len && o + 4 < n) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o < n ? o : n - 1] = '\0';
}

static void fmt_ago(char *buf, size_t n, uint64_t now, uint64_t t)
{
	uint64_t s;

	if (t == 0 || t > now) {
		snprintf(buf, n, "now");
		return;
	}
	s = (now - t) / 1000000000u;
	if (s < 60)
		snprintf(buf, n, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, n, "%llum", (unsigned long long)s / 60);
	else if (s < 86400)
		snprintf(buf, n, "%lluh", (unsigned long long)s / 3600);
	else
		snprintf(buf, n, "%llud", (unsigned long long)s / 86400);
}

static int print_table(const shmstat_snap *s, size_t i, const struct shmstat_metric_info *m,
		       enum shmstat_sig_order by, const char *owner, size_t n, uint64_t hv)
{
	struct shmstat_seg_info info;
	struct shmstat_sigstats st;
	shmstat_sigview *v;
	size_t *idx, got;
	char name[512], own[256];

	if (shmstat_snap_sigtab(s, i, &v) != 0)
		return die(EXIT_ERR, "out of memory");
	shmstat_snap_info(s, &info);
	shmstat_sigview_stats(v, &st);
	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (idx == NULL) {
		shmstat_sigview_free(v);
		return die(EXIT_ERR, "out of memory");
	}
	got = shmstat_sigview_top(v, by, owner, n, idx);
	fmt_metric(name, sizeof(name), m->name, m->labels);
	printf("%s: %u keys, %llu events (%llu hits, %llu misses), weight %llu, %llu evictions; %u summar%s of %u keys",
	       name, st.used, (unsigned long long)st.events, (unsigned long long)st.hits,
	       (unsigned long long)st.misses, (unsigned long long)st.weight,
	       (unsigned long long)st.evictions, st.summaries, st.summaries == 1 ? "y" : "ies",
	       st.capacity);
	if (st.unsummarized)
		printf(", %llu events unsummarized (no summary free)",
		       (unsigned long long)st.unsummarized);
	if (st.skipped)
		printf(", %u entries skipped (being rewritten)", st.skipped);
	printf("\n");
	if (st.max_error)
		printf("  counts are guaranteed, the truth at most +ERROR more; no key, listed or not, is off by more than %llu events (bound: events / capacity = %llu)\n",
		       (unsigned long long)st.max_error, (unsigned long long)st.error_bound);
	else
		printf("  every count is exact\n");
	printf("   %10s %8s %10s %6s %12s %6s %6s  %-12s %s\n", "HITS", "+ERROR", "MISSES", "RATE",
	       "WEIGHT", "FIRST", "LAST", "OWNER", "KEY");
	for (size_t k = 0; k < got; k++) {
		struct shmstat_sigentry e;
		char key[SHMSTAT_SIG_KEY_SHOW], first[16], last[16];
		uint64_t gh, gm, gw;

		shmstat_sigview_entry(v, idx[k], &e);
		gh = e.hits - e.err_hits;
		gm = e.misses - e.err_misses;
		gw = e.weight - e.err_weight;
		fmt_key(key, sizeof(key), &e);
		fmt_ago(first, sizeof(first), info.taken_ns, e.first_ns);
		fmt_ago(last, sizeof(last), info.taken_ns, e.last_ns);
		printf(" %c%c%10llu %8llu %10llu %5.1f%% %12llu %6s %6s  %-12s %s\n",
		       gh >= hv ? '*' : ' ', e.expired ? 'x' : ' ', (unsigned long long)gh,
		       (unsigned long long)e.err_hits, (unsigned long long)gm, 100 * e.hit_rate,
		       (unsigned long long)gw, first, last,
		       e.owner[0] ? text_safe(own, sizeof(own), e.owner) : "-", key);
	}
	if (shmstat_sigview_owners(v)) {
		printf("\n   %-36s %10s %10s %6s %12s\n", "OWNER", "HITS", "MISSES", "RATE", "WEIGHT");
		for (size_t k = 0; k < shmstat_sigview_owners(v); k++) {
			struct shmstat_sigowner_info o;
			uint64_t ev;

			shmstat_sigview_owner(v, k, &o);
			if (owner && strcmp(owner, o.name) != 0)
				continue;
			ev = o.hits + o.misses;
			printf("   %-36s %10llu %10llu %5.1f%% %12llu\n",
			       o.name[0] ? text_safe(own, sizeof(own), o.name) : "-",
			       (unsigned long long)o.hits, (unsigned long long)o.misses,
			       ev ? 100.0 * (double)o.hits / (double)ev : 0.0,
			       (unsigned long long)o.weight);
		}
	}
	free(idx);
	shmstat_sigview_free(v);
	return EXIT_OK;
}

int cmd_top(int argc, char **argv)
{
	static const char shortopts[] = ":n:";
	char bad[64];
	static const struct option opts[] = {
		{ "by", required_argument, NULL, 'b' },
		{ "owner", required_argument, NULL, 'o' },
		{ "high-value", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	enum shmstat_sig_order by = SHMSTAT_BY_HITS;
	const char *owner = NULL, *table = NULL;
	unsigned long long n = 20, hv = SIG_HIGH_VALUE;
	shmstat_reader *r;
	shmstat_snap *s;
	int c, rc = EXIT_OK, found = 0;
	char *end;

	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtoull(optarg, &end, 10);
			if (*optarg == '\0' || *end || n == 0 || n > 100000)
				return usage_error(cmd_top_usage,
						   "count '%s' is not a number from 1 to 100000", optarg);
			break;
		case 'b':
			if (strcmp(optarg, "hits") == 0)
				by = SHMSTAT_BY_HITS;
			else if (strcmp(optarg, "weight") == 0)
				by = SHMSTAT_BY_WEIGHT;
			else if (strcmp(optarg, "recent") == 0)
				by = SHMSTAT_BY_RECENT;
			else if (strcmp(optarg, "upper") == 0)
				by = SHMSTAT_BY_HITS_MAX;
			else
				return usage_error(cmd_top_usage,
						   "order '%s' is unknown (hits, weight, recent or upper)",
						   optarg);
			break;
		case 'o':
			owner = optarg;
			break;
		case 'H':
			hv = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end)
				return usage_error(cmd_top_usage, "high-value threshold '%s' is not a number",
						   optarg);
			break;
		case ':':
			return usage_error(cmd_top_usage, "option '%s' needs a value", refused_option(bad, sizeof(bad), argv, shortopts, opts));
		default:
			return usage_error(cmd_top_usage, "unknown option '%s'", refused_option(bad, sizeof(bad), argv, shortopts, opts));
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error(cmd_top_usage, argc - optind < 1 ? "segment name is missing"
								 : "too many arguments");
	if (argc - optind == 2)
		table = argv[optind + 1];
	if (open_snapshot(argv[optind], &r, &s) != EXIT_OK)
		return EXIT_ERR;
	for (size_t i = 0; i < shmstat_snap_metrics(s) && rc == EXIT_OK; i++) {
		struct shmstat_metric_info m;

		shmstat_snap_metric(s, i, &m);
		if (m.type != SHMSTAT_SIGTABLE || (table && strcmp(m.name, table) != 0))
			continue;
		if (found++)
			printf("\n");
		rc = print_table(s, i, &m, by, owner, (size_t)n, hv);
	}
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	if (rc == EXIT_OK && !found)
		return table ? die(EXIT_ERR, "segment '%s' has no signature table '%s'",
				   argv[optind], table)
			     : die(EXIT_ERR, "segment '%s' has no signature table", argv[optind]);
	return rc;
}
