/*
 * fill.c - writes known values into a segment for the CLI tests.
 *
 *   cli_fill NAME          write the values, detach, exit
 *   cli_fill NAME hold     write the values, print "ready", stay attached
 *                          until killed
 *   cli_fill NAME ratio    only hits/misses counters, for watch's ratios
 *   cli_fill NAME layouts  only l_latency{k="a"} and {k="b"}: histograms
 *                          of two bucket layouts
 *   cli_fill NAME wrap     only w_latency: 55,340,232,221 values of 1 s,
 *                          a sum past 2^64 (2 * 2^64 + ...)
 *   cli_fill NAME estsum   only e_latency (highest 1000): 2000 and 2^63,
 *                          and o_latency (1 ns .. 1 h): 1000 once and
 *                          2^64 - 1 twice: sums the buckets bound 2^63 or
 *                          more apart (estimates; o_latency's 2^64 off)
 *   cli_fill NAME many     3000 counters, m_0000_total = 0 .. m_2999_total
 *   cli_fill NAME spin     counters in units (bytes, micro_USD, none),
 *                          still_total = 5 that never changes, 8 with
 *                          names or labels too long for 80 columns, hits
 *                          and misses, a histogram, a gauge; spin_total,
 *                          which it adds 1 to every millisecond after
 *                          printing "ready", until killed
 *   cli_fill NAME twins    tw_long_total{v="<150 ESC>a"} 7 (help "twin a")
 *                          and {v="<150 ESC>b"} 11 (help "twin b"): equal
 *                          in their first 600 bytes escaped (\x1b each);
 *                          then as spin, tw_spin_total + 1 every ms
 *   cli_fill NAME alike    only rows whose names cut to 80 columns were
 *                          one text: al_requests_total{code="200" or
 *                          "500",route="/api/v1/accounts/12345/orders/
 *                          pending" or "shipped"} 1 .. 4, al_jobs_taken_
 *                          from_the_upstream_queue_total{shard="1"} 5 and
 *                          downstream 6; al_requests_total{code="404",
 *                          route="/x"} 7 and al_jobs_alone_total 8, alike
 *                          to none
 *   cli_fill NAME late     only rows whose labels lines cut to 80 columns
 *                          were one text: lt_requests_total{route=
 *                          "/api/v1/accounts/12345/orders/pending/items",
 *                          zone="eu-1", "eu-2" or "us-1"} 1 .. 3, and
 *                          {route="/x",zone="eu-1"} 4, alike to none
 *   cli_fill NAME wide     only w_sigs: key "big" 1 hit of weight 2^64 - 6
 *                          and 2 misses (owner acct-w), key "third" 1 hit
 *                          of weight 1: columns of 20 digits and 12 (a
 *                          hit ratio 0.3333333333) with --raw
 *   cli_fill NAME uowner   only ow_sigs: keys key-0 .. key-2 (1 .. 3
 *                          hits) of owners "東京支店" x 4 (48 bytes, 32
 *                          columns), "é" x 11 (22 bytes, 11 columns) and
 *                          "plain"; ow_total{place=each of them} 1 .. 3
 *   cli_fill NAME unsum    u_sigs, a table of 4 keys a summary and a pool
 *                          of one: the main thread's "u-main" 8 hits
 *                          (it holds the summary), another thread's
 *                          "u-other" 3 hits while it does (no summary
 *                          free: 3 unsummarized events)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmstat.h"

static int reg_counter_unit(shmstat_seg *seg, const char *name, const char *const *labels,
			    const char *unit, uint64_t v, shmstat_counter **out)
{
	struct shmstat_metric_def d = { .name = name, .labels = labels, .help = "cli test",
					 .unit = unit };
	shmstat_counter *c;
	int err = shmstat_counter_register(seg, &d, &c);

	shmstat_counter_add(c, v);
	if (out)
		*out = c;
	return err;
}

static int reg_counter(shmstat_seg *seg, const char *name, const char *const *labels,
		       uint64_t v)
{
	return reg_counter_unit(seg, name, labels, NULL, v, NULL);
}

static int reg_gauge(shmstat_seg *seg, const char *name, enum shmstat_agg agg, int64_t v)
{
	struct shmstat_metric_def d = { .name = name, .help = "cli test", .unit = "items" };
	shmstat_gauge *g;
	int err = shmstat_gauge_register(seg, &d, agg, &g);

	shmstat_gauge_set(g, v);
	return err;
}

/* After registering (@err nonzero: a registration failed, said): say
 * ready, then add 1 to @c every millisecond until killed. */
static int spin_forever(int err, shmstat_counter *c)
{
	if (err) {
		fprintf(stderr, "cli_fill: %s\n", shmstat_last_error());
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		shmstat_counter_add(c, 1);
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
}

/* spin: figures in units, a still counter and one that moves */
static int spin(shmstat_seg *seg)
{
	shmstat_counter *c = NULL;
	int err = 0;

	err |= reg_counter_unit(seg, "spin_bytes_total", NULL, "bytes", (uint64_t)3 * 1048576, NULL);
	err |= reg_counter_unit(seg, "spin_cost_total", NULL, "micro_USD", 12345678, NULL);
	err |= reg_counter_unit(seg, "spin_big_total", NULL, NULL, 148000, NULL);
	err |= reg_counter_unit(seg, "still_total", NULL, NULL, 5, NULL);
	for (int i = 1; i <= 2; i++) {
		char t[8];

		snprintf(t, sizeof(t), "t%d", i);
		err |= reg_counter_unit(seg, "spin_lookups_total",
					(const char *[]){ "model", "gpt-4o", "pattern", "conversation:*",
							  "tier", t, NULL }, NULL, (uint64_t)i, NULL);
	}
	for (int i = 1; i <= 6; i++) {
		char v[8];

		snprintf(v, sizeof(v), "%d", i);
		err |= reg_counter_unit(seg, "spin_requests_served_by_the_upstream_backend_total",
					(const char *[]){ "backend", v, NULL }, NULL, (uint64_t)i,
					NULL);
	}
	err |= reg_counter_unit(seg, "spin_cache_hits_total", NULL, NULL, 90, NULL);
	err |= reg_counter_unit(seg, "spin_cache_misses_total", NULL, NULL, 10, NULL);
	{
		struct shmstat_metric_def d = { .name = "spin_latency", .unit = "ns",
						 .help = "cli test latency" };
		shmstat_hist *h;

		err |= shmstat_hist_register(seg, &d, NULL, &h);
		shmstat_hist_record_n(h, 100, 10);
	}
	err |= reg_gauge(seg, "spin_queue_depth", SHMSTAT_AGG_SUM, 4);
	err |= reg_counter_unit(seg, "spin_total", NULL, NULL, 0, &c);
	return spin_forever(err, c);
}

/* twins: two label sets alike for 600 bytes escaped */
static int twins(shmstat_seg *seg)
{
	shmstat_counter *c = NULL;
	int err = 0;

	for (int k = 0; k < 2; k++) {
		char v[152], help[8];
		const char *labels[] = { "v", v, NULL };
		struct shmstat_metric_def d = { .name = "tw_long_total", .labels = labels,
						 .help = help };

		memset(v, 0x1b, 150);
		snprintf(v + 150, 2, "%c", "ab"[k]);
		snprintf(help, sizeof(help), "twin %c", "ab"[k]);
		err |= shmstat_counter_register(seg, &d, &c);
		shmstat_counter_add(c, k ? 11 : 7);
	}
	err |= reg_counter_unit(seg, "tw_spin_total", NULL, NULL, 0, &c);
	return spin_forever(err, c);
}

static void *unsum_other(void *t)
{
	for (int i = 0; i < 3; i++)
		shmstat_sig_hit(t, "u-other", 7, 1, 0);
	return NULL;
}

/* unsum: events of a thread that finds the pool empty */
static int unsum(shmstat_seg *seg)
{
	struct shmstat_metric_def d = { .name = "u_sigs", .help = "cli test" };
	struct shmstat_sigtab_opts o;
	shmstat_sigtab *t;
	pthread_t th;
	int err;

	shmstat_sigtab_opts_init(&o);
	o.capacity = 4;
	o.summaries = 1;
	err = shmstat_sigtab_register(seg, &d, &o, &t);
	for (int i = 0; i < 8; i++)
		shmstat_sig_hit(t, "u-main", 6, 1, 0);
	/* joined while this thread still holds the summary */
	if (!err && (pthread_create(&th, NULL, unsum_other, t) != 0 || pthread_join(th, NULL) != 0))
		err = 1;
	shmstat_close(seg);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	shmstat_seg *seg;
	int err = 0;

	if (argc < 2) {
		fputs("usage: cli_fill NAME [hold]\n", stderr);
		return 2;
	}
	if (argc > 2 && strcmp(argv[2], "many") == 0) {
		struct shmstat_opts o;

		shmstat_opts_init(&o);
		o.max_metrics = 4096;
		if (shmstat_open(argv[1], &o, &seg) != 0) {
			fprintf(stderr, "cli_fill: %s\n", shmstat_last_error());
			return 1;
		}
		for (int i = 0; i < 3000 && !err; i++) {
			char n[32];

			snprintf(n, sizeof(n), "m_%04d_total", i);
			err |= reg_counter(seg, n, NULL, (uint64_t)i);
		}
		shmstat_close(seg);
		return err ? 1 : 0;
	}
	if (shmstat_open(argv[1], NULL, &seg) != 0) {
		fprintf(stderr, "cli_fill: %s\n", shmstat_last_error());
		return 1;
	}
	if (argc > 2 && strcmp(argv[2], "spin") == 0)
		return spin(seg);
	if (argc > 2 && strcmp(argv[2], "twins") == 0)
		return twins(seg);
	if (argc > 2 && strcmp(argv[2], "unsum") == 0)
		return unsum(seg);
	if (argc > 2 && strcmp(argv[2], "layouts") == 0) {
		/* one histogram, two label sets of different bucket layouts:
		 * 1000 values of 1us under k="a", 100 of 1ms under k="b" */
		struct shmstat_hist_opts ho;
		shmstat_hist *ha, *hb;

		shmstat_hist_opts_init(&ho);
		err |= shmstat_hist_register(seg, &(struct shmstat_metric_def){
			.name = "l_latency", .unit = "ns",
			.labels = (const char *[]){ "k", "a", NULL } }, &ho, &ha);
		ho.bits = 3;
		err |= shmstat_hist_register(seg, &(struct shmstat_metric_def){
			.name = "l_latency", .unit = "ns",
			.labels = (const char *[]){ "k", "b", NULL } }, &ho, &hb);
		shmstat_hist_record_n(ha, 1000, 1000);
		shmstat_hist_record_n(hb, 1000000, 100);
		shmstat_close(seg);
		return err ? 1 : 0;
	}
	if (argc > 2 && strcmp(argv[2], "wrap") == 0) {
		/* a sum past 2^64: 55,340,232,221 values of 1 s */
		shmstat_hist *h;

		err |= shmstat_hist_register(seg, &(struct shmstat_metric_def){
			.name = "w_latency", .unit = "ns" }, NULL, &h);
		shmstat_hist_record_n(h, 1000000000u, 55340232221ull);
		shmstat_close(seg);
		return err ? 1 : 0;
	}
	if (argc > 2 && strcmp(argv[2], "estsum") == 0) {
		/* sums the buckets bound only 2^63 or more apart: e_latency
		 * (highest 1000) 2000 and 2^63; o_latency (the default
		 * layout, 1 ns .. 1 h) 1000 once and 2^64 - 1 twice */
		struct shmstat_hist_opts ho;
		shmstat_hist *h, *o;

		shmstat_hist_opts_init(&ho);
		ho.highest = 1000;
		err |= shmstat_hist_register(seg, &(struct shmstat_metric_def){
			.name = "e_latency", .unit = "ns" }, &ho, &h);
		shmstat_hist_record(h, 2000);
		shmstat_hist_record(h, UINT64_C(1) << 63);
		err |= shmstat_hist_register(seg, &(struct shmstat_metric_def){
			.name = "o_latency", .unit = "ns" }, NULL, &o);
		shmstat_hist_record(o, 1000);
		shmstat_hist_record_n(o, UINT64_MAX, 2);
		shmstat_close(seg);
		return err ? 1 : 0;
	}
	if (argc > 2 && strcmp(argv[2], "wide") == 0) {
		struct shmstat_metric_def d = { .name = "w_sigs", .help = "cli test" };
		struct shmstat_sigtab_opts o;
		shmstat_sigtab *t;
		uint32_t a = 0;

		shmstat_sigtab_opts_init(&o);
		err |= shmstat_sigtab_register(seg, &d, &o, &t);
		err |= shmstat_sig_owner(t, "acct-w", &a);
		if (err == 0) {
			shmstat_sig_hit(t, "big", 3, UINT64_MAX - 5, a);
			shmstat_sig_miss(t, "big", 3, a);
			shmstat_sig_miss(t, "big", 3, a);
			shmstat_sig_hit(t, "third", 5, 1, 0);
		}
		shmstat_close(seg);
		return err ? 1 : 0;
	}
	if (argc > 2 && strcmp(argv[2], "uowner") == 0) {
		/* 4 x "東京支店", 11 x "é" */
		static const char *const own[] = { ("\u6771\u4eac\u652f\u5e97\u6771\u4eac"
						     "\u652f\u5e97\u6771\u4eac\u652f\u5e97"
						     "\u6771\u4eac\u652f\u5e97"),
						    ("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
						     "\u00e9\u00e9\u00e9"), "plain" };
		struct shmstat_metric_def d = { .name = "ow_sigs", .help = "cli test" };
		shmstat_sigtab *t;

		err |= shmstat_sigtab_register(seg, &d, NULL, &t);
		err |= reg_counter(seg, "ow_total", (const char *[]){ "place", own[0], NULL }, 1);
		err |= reg_counter(seg, "ow_total", (const char *[]){ "place", own[1], NULL }, 2);
		err |= reg_counter(seg, "ow_total", (const char *[]){ "place", own[2], NULL }, 3);
		for (int i = 0; i < 3 && !err; i++) {
			char k[8];
			uint32_t id = 0;

			err |= shmstat_sig_owner(t, own[i], &id);
			snprintf(k, sizeof(k), "key-%d", i);
			for (int j = 0; j <= i; j++)
				shmstat_sig_hit(t, k, strlen(k), 1, id);
		}
		shmstat_close(seg);
		return err ? 1 : 0;
	}
	if (argc > 2 && strcmp(argv[2], "alike") == 0) {
		static const char route[] = "/api/v1/accounts/12345/orders/";
		uint64_t v = 1;

		for (int c = 0; c < 2; c++)
			for (int k = 0; k < 2; k++) {
				char r[64];

				snprintf(r, sizeof(r), "%s%s", route, k ? "shipped" : "pending");
				err |= reg_counter(seg, "al_requests_total",
						   (const char *[]){ "code", c ? "500" : "200",
								     "route", r, NULL }, v++);
			}
		err |= reg_counter(seg, "al_jobs_taken_from_the_upstream_queue_total",
				   (const char *[]){ "shard", "1", NULL }, 5);
		err |= reg_counter(seg, "al_jobs_taken_from_the_downstream_queue_total",
				   (const char *[]){ "shard", "1", NULL }, 6);
		err |= reg_counter(seg, "al_requests_total",
				   (const char *[]){ "code", "404", "route", "/x", NULL }, 7);
		err |= reg_counter(seg, "al_jobs_alone_total", NULL, 8);
		shmstat_close(seg);
		return err ? 1 : 0;
	}
	if (argc > 2 && strcmp(argv[2], "late") == 0) {
		static const char route[] = "/api/v1/accounts/12345/orders/pending/items";
		static const char *const zone[] = { "eu-1", "eu-2", "us-1" };

		for (int k = 0; k < 3; k++)
			err |= reg_counter(seg, "lt_requests_total",
					   (const char *[]){ "route", route, "zone", zone[k], NULL },
					   (uint64_t)k + 1);
		err |= reg_counter(seg, "lt_requests_total",
				   (const char *[]){ "route", "/x", "zone", "eu-1", NULL }, 4);
		shmstat_close(seg);
		return err ? 1 : 0;
	}
	if (argc > 2 && strcmp(argv[2], "ratio") == 0) {
		/* twins with the same labels, and a name whose label sets
		 * have no twins (its misses carry other labels) */
		err |= reg_counter(seg, "r_lookup_hits_total", (const char *[]){ "shard", "1", NULL }, 3);
		err |= reg_counter(seg, "r_lookup_misses_total", (const char *[]){ "shard", "1", NULL }, 1);
		err |= reg_counter(seg, "r_cache_hits_total", (const char *[]){ "tier", "a", NULL }, 5);
		err |= reg_counter(seg, "r_cache_hits_total", (const char *[]){ "tier", "b", NULL }, 7);
		err |= reg_counter(seg, "r_cache_misses_total", NULL, 2);
		shmstat_close(seg);
		return err ? 1 : 0;
	}
	err |= reg_counter(seg, "cli_requests_total", (const char *[]){ "path", "/a", NULL }, 10);
	err |= reg_counter(seg, "cli_requests_total", (const char *[]){ "path", "/b", NULL }, 20);
	err |= reg_counter(seg, "cli_errors_total", NULL, 3);
	err |= reg_gauge(seg, "cli_temperature", SHMSTAT_AGG_SUM, 42);
	err |= reg_gauge(seg, "cli_depth_max", SHMSTAT_AGG_MAX, 7);
	err |= reg_gauge(seg, "cli_workers", SHMSTAT_AGG_LIVESUM, 1);
	{
		struct shmstat_metric_def d = { .name = "cli_cache_bytes", .help = "cli test",
						 .unit = "bytes" };
		shmstat_gauge *g;

		err |= shmstat_gauge_register(seg, &d, SHMSTAT_AGG_SUM, &g);
		shmstat_gauge_set(g, 3 * 1048576 + 524288);
	}
	{
		/* 90 x 100 ns, 9 x 1 us, 1 x 1 ms: p50 100ns, p95 1us, p99 1us,
		 * max 1ms; all below 2^7 or on bucket bounds, so exact */
		struct shmstat_metric_def d = { .name = "cli_latency", .unit = "ns",
						 .help = "cli test latency" };
		shmstat_hist *h;

		err |= shmstat_hist_register(seg, &d, NULL, &h);
		shmstat_hist_record_n(h, 100, 90);
		shmstat_hist_record_n(h, 1000, 9);
		shmstat_hist_record(h, 1000000);
	}
	{
		/* conv-1: 5 hits of 1000, 1 miss (acct-a); conv-2: 2 hits of
		 * 500 (acct-b); a 40-byte key cut at 32 bytes: 1 miss */
		struct shmstat_metric_def d = { .name = "cli_sigs", .help = "cli test signatures" };
		struct shmstat_sigtab_opts o;
		const char *longkey = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
		shmstat_sigtab *t;
		uint32_t a = 0, b = 0, idle = 0;

		shmstat_sigtab_opts_init(&o);
		o.capacity = 16;
		o.key_bytes = 32;
		err |= shmstat_sigtab_register(seg, &d, &o, &t);
		err |= shmstat_sig_owner(t, "acct-a", &a);
		err |= shmstat_sig_owner(t, "acct-b", &b);
		/* an owner without events: no hit ratio */
		err |= shmstat_sig_owner(t, "acct-idle", &idle);
		for (int i = 0; i < 5; i++)
			shmstat_sig_hit(t, "conv-1", 6, 1000, a);
		shmstat_sig_miss(t, "conv-1", 6, a);
		shmstat_sig_hit(t, "conv-2", 6, 500, b);
		shmstat_sig_hit(t, "conv-2", 6, 500, b);
		shmstat_sig_miss(t, longkey, strlen(longkey), 0);
	}
	if (err) {
		fprintf(stderr, "cli_fill: %s\n", shmstat_last_error());
		return 1;
	}
	if (argc > 2 && strcmp(argv[2], "hold") == 0) {
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	shmstat_close(seg);
	return 0;
}
