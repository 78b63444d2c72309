/*
 * hist_fill.c - a writer whose values the history CLI test moves step by
 * step, so that records taken between steps hold known values.
 *
 *   cli_hist_fill NAME     create segment NAME with the metrics below (all
 *                          0), print "ready", then obey one command a line
 *                          on stdin, answering each with "ok" (or "error:
 *                          ..."); at end of input detach and exit 0
 *
 * Metrics:
 *   hf_requests_total{path="/a"}, hf_requests_total{path="/b"}  counters
 *   hf_hits_total, hf_misses_total                               counters
 *   hf_queue_depth                                               gauge (sum)
 *   hf_latency                                                   histogram (ns)
 *   hf_sigs                                                      signature table
 *
 * Commands:
 *   c a|b|hits|misses N    add N to a counter
 *   g V                    set the gauge to V (may be negative)
 *   h V N                  record value V N times in the histogram
 *   s hit KEY W [OWNER]    a signature hit of KEY (up to 255 bytes) with
 *                          weight W (for OWNER, registered at its first
 *                          use)
 *   s miss KEY [OWNER]     a signature miss of KEY
 *   a FILE SECONDS         append a snapshot of the segment to history
 *                          FILE as if taken SECONDS from now (after now:
 *                          a clock that was ahead; before: a past made
 *                          at once); a new FILE: one tier 1s:2h, 256K
 *   m FILE N SECONDS       append N snapshots of the segment as it is now
 *                          (one snapshot), 1 ms apart from SECONDS before
 *                          now; a new FILE: one tier 1ms:10m, 64M
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmstat.h"
#include "shmstat_history.h"

static shmstat_counter *counter(shmstat_seg *seg, const char *name, const char *const *labels,
				int *err)
{
	struct shmstat_metric_def d = { .name = name, .labels = labels, .help = "history test" };
	shmstat_counter *c = NULL;

	*err |= shmstat_counter_register(seg, &d, &c);
	return c;
}

/* Append a snapshot of segment @name to history @path at now + @ahead_s;
 * NULL or what failed. */
static const char *append_at(const char *name, const char *path, long long ahead_s)
{
	static char why[512];
	struct timespec ts;
	shmstat_history *h = NULL;
	shmstat_reader *r = NULL;
	shmstat_snap *sn = NULL;
	const char *bad = NULL;
	uint64_t now;
	struct shmstat_history_opts o;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	shmstat_history_opts_init(&o);
	o.ntiers = 1;
	o.tier[0] = (struct shmstat_tier){ 1000000000u, 7200ull * 1000000000u };
	o.max_bytes = 256 << 10;
	if (shmstat_history_create(path, &o, &h) != 0 || shmstat_history_set_segment(h, name) != 0 ||
	    shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &sn) != 0 ||
	    shmstat_history_append(h, sn, now + (uint64_t)(ahead_s * 1000000000ll), NULL) != 0)
		bad = why;
	snprintf(why, sizeof(why), "%s", shmstat_last_error());
	shmstat_snap_free(sn);
	shmstat_reader_close(r);
	shmstat_history_close(h);
	return bad;
}

/* Append one snapshot of segment @name @n times to history @path, 1 ms
 * apart from @ago_s seconds ago; NULL or what failed. */
static const char *append_ms(const char *name, const char *path, long long n, long long ago_s)
{
	static char why[512];
	struct timespec ts;
	shmstat_history *h = NULL;
	shmstat_reader *r = NULL;
	shmstat_snap *sn = NULL;
	const char *bad = NULL;
	uint64_t t;
	struct shmstat_history_opts o;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec -
	    (uint64_t)ago_s * 1000000000u;
	shmstat_history_opts_init(&o);
	o.ntiers = 1;
	o.tier[0] = (struct shmstat_tier){ 1000000u, 600ull * 1000000000u };
	o.max_bytes = 64 << 20;
	if (shmstat_history_create(path, &o, &h) != 0 || shmstat_history_set_segment(h, name) != 0 ||
	    shmstat_reader_open(name, &r) != 0 || shmstat_snapshot(r, &sn) != 0)
		bad = why;
	for (long long i = 0; bad == NULL && i < n; i++)
		if (shmstat_history_append(h, sn, t + (uint64_t)i * 1000000u, NULL) != 0)
			bad = why;
	snprintf(why, sizeof(why), "%s", shmstat_last_error());
	shmstat_snap_free(sn);
	shmstat_reader_close(r);
	shmstat_history_close(h);
	return bad;
}

int main(int argc, char **argv)
{
	shmstat_counter *ca, *cb, *hits, *misses;
	shmstat_gauge *depth = NULL;
	shmstat_hist *lat = NULL;
	shmstat_sigtab *sigs = NULL;
	shmstat_seg *seg;
	char line[512];
	int err = 0;

	if (argc != 2) {
		fputs("usage: cli_hist_fill NAME\n", stderr);
		return 2;
	}
	if (shmstat_open(argv[1], NULL, &seg) != 0) {
		fprintf(stderr, "cli_hist_fill: %s\n", shmstat_last_error());
		return 1;
	}
	ca = counter(seg, "hf_requests_total", (const char *[]){ "path", "/a", NULL }, &err);
	cb = counter(seg, "hf_requests_total", (const char *[]){ "path", "/b", NULL }, &err);
	hits = counter(seg, "hf_hits_total", NULL, &err);
	misses = counter(seg, "hf_misses_total", NULL, &err);
	{
		struct shmstat_metric_def d = { .name = "hf_queue_depth", .help = "history test",
						 .unit = "items" };

		err |= shmstat_gauge_register(seg, &d, SHMSTAT_AGG_SUM, &depth);
	}
	{
		struct shmstat_metric_def d = { .name = "hf_latency", .unit = "ns",
						 .help = "history test latency" };

		err |= shmstat_hist_register(seg, &d, NULL, &lat);
	}
	{
		struct shmstat_metric_def d = { .name = "hf_sigs", .help = "history test signatures" };
		struct shmstat_sigtab_opts o;

		shmstat_sigtab_opts_init(&o);
		o.capacity = 16;
		o.owners = 4;
		err |= shmstat_sigtab_register(seg, &d, &o, &sigs);
	}
	if (err) {
		fprintf(stderr, "cli_hist_fill: %s\n", shmstat_last_error());
		return 1;
	}
	shmstat_gauge_set(depth, 0);
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		char a[64] = "", b[256] = "", own[64] = "", path[256] = "";
		uint32_t oid = 0;
		long long x = 0;
		unsigned long long y = 0;
		int n = sscanf(line, "c %63s %llu", a, &y);
		const char *bad = NULL;

		if (n == 2) {
			shmstat_counter *c = strcmp(a, "a") == 0 ? ca : strcmp(a, "b") == 0 ? cb
					     : strcmp(a, "hits") == 0 ? hits
					     : strcmp(a, "misses") == 0 ? misses : NULL;

			if (c)
				shmstat_counter_add(c, y);
			else
				bad = "unknown counter";
		} else if (sscanf(line, "g %lld", &x) == 1) {
			shmstat_gauge_set(depth, x);
		} else if (sscanf(line, "h %lld %llu", &x, &y) == 2 && x >= 0) {
			shmstat_hist_record_n(lat, (uint64_t)x, y);
		} else if ((n = sscanf(line, "s hit %255s %llu %63s", b, &y, own)) >= 2) {
			if (n == 3 && shmstat_sig_owner(sigs, own, &oid) != 0)
				bad = "owner refused";
			else
				shmstat_sig_hit(sigs, b, strlen(b), y, oid);
		} else if ((n = sscanf(line, "s miss %255s %63s", b, own)) >= 1) {
			if (n == 2 && shmstat_sig_owner(sigs, own, &oid) != 0)
				bad = "owner refused";
			else
				shmstat_sig_miss(sigs, b, strlen(b), oid);
		} else if (sscanf(line, "m %255s %llu %lld", path, &y, &x) == 3) {
			bad = append_ms(argv[1], path, (long long)y, x);
		} else if (sscanf(line, "a %255s %lld", path, &x) == 2) {
			bad = append_at(argv[1], path, x);
		} else {
			bad = "unknown command";
		}
		if (bad)
			printf("error: %s: %s", bad, line);
		else
			printf("ok\n");
		fflush(stdout);
	}
	shmstat_close(seg);
	return 0;
}
