/*
 * hist_big.c - a history of many series and records at fixed record
 * times, for the memory of window answers (window_mem.sh): too large to
 * decode whole within the address space the test allows, with values
 * the test knows.
 *
 *   cli_hist_big SEGMENT FILE GROUPS RECORDS END [WIDE]
 *
 * Segment SEGMENT (created, removed at the end) holds GROUPS counters
 * big_GG_total (GG = 00 ..), each with 20 series {k="00"} .. {k="19"},
 * a gauge big_depth and a histogram big_latency_ns (unit ns). Record i
 * (0 .. RECORDS-1) is taken at END - (RECORDS - 1 - i) seconds (Unix
 * seconds END) into FILE (one tier of 1 s for RECORDS s), after:
 *   big_GG_total{k="KK"} += 1 + KK
 *   big_depth = i
 *   big_latency_ns: 1000 recorded once
 *   big_wide_ns{h="H"} (H = 0 .. WIDE-1, default 0 of them; the default
 *     layout, 1 ns .. 1 h): 25 values, e^(28.9 k / 4000) for k = 25i ..
 *     25i+24 (mod 4000), 1 to 3.5e12 in steps of 0.72%: after 160
 *     records every bucket in use, whose counts every record holds
 *     (8,000 records: 19 million buckets a series)
 * and big_00_total{k="00"} is removed before record RECORDS/2 and
 * registered again (from 0) before record RECORDS/2 + 1: a restart.
 * The segment stays (for `shmstat check`); `shmstat rm` removes it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "shmstat.h"
#include "shmstat_history.h"

#define S UINT64_C(1000000000)

int main(int argc, char **argv)
{
	struct shmstat_opts so;
	struct shmstat_history_opts ho;
	shmstat_seg *seg = NULL;
	shmstat_reader *r = NULL;
	shmstat_history *h = NULL;
	shmstat_counter **c;
	shmstat_gauge *depth = NULL;
	shmstat_hist *lat = NULL, *wide[8];
	char name[32], k[8];
	const char *lab[] = { "k", k, NULL };
	struct shmstat_metric_def d = { .name = name, .labels = lab, .help = "big" };
	long groups, records, nwide = 0;
	uint64_t end;
	int rc = 1;

	if (argc != 6 && argc != 7) {
		fputs("usage: cli_hist_big SEGMENT FILE GROUPS RECORDS END [WIDE]\n", stderr);
		return 2;
	}
	groups = atol(argv[3]);
	records = atol(argv[4]);
	end = (uint64_t)atoll(argv[5]);
	if (argc == 7)
		nwide = atol(argv[6]);
	if (groups < 1 || groups > 99 || records < 4 || end < (uint64_t)records || nwide < 0 ||
	    nwide > 8)
		return 2;
	c = calloc((size_t)groups * 20, sizeof(*c));
	shmstat_opts_init(&so);
	so.max_procs = 2;
	so.max_threads = 2;
	so.max_metrics = (uint32_t)groups * 20 + 16;
	so.max_values = (uint32_t)groups * 20 + 4096 + (uint32_t)nwide * 2400;
	shmstat_history_opts_init(&ho);
	ho.ntiers = 1;
	ho.tier[0] = (struct shmstat_tier){ S, (uint64_t)records * S };
	ho.max_bytes = (uint64_t)records * ((uint64_t)groups * 20 * 4 + (uint64_t)nwide * 8000) +
		       (UINT64_C(8) << 20);
	if (c == NULL || shmstat_open(argv[1], &so, &seg) != 0)
		goto out;
	for (long j = 0; j < groups * 20; j++) {
		snprintf(name, sizeof(name), "big_%02ld_total", j / 20);
		snprintf(k, sizeof(k), "%02ld", j % 20);
		if (shmstat_counter_register(seg, &d, &c[j]) != 0)
			goto out;
	}
	{
		struct shmstat_metric_def g = { .name = "big_depth", .help = "big" };
		struct shmstat_metric_def l = { .name = "big_latency_ns", .unit = "ns", .help = "big" };

		if (shmstat_gauge_register(seg, &g, SHMSTAT_AGG_SUM, &depth) != 0 ||
		    shmstat_hist_register(seg, &l, NULL, &lat) != 0)
			goto out;
	}
	for (long j = 0; j < nwide; j++) {
		char hv[4];
		const char *hl[] = { "h", hv, NULL };
		struct shmstat_metric_def w = { .name = "big_wide_ns", .labels = hl, .unit = "ns" };

		snprintf(hv, sizeof(hv), "%ld", j);
		if (shmstat_hist_register(seg, &w, NULL, &wide[j]) != 0)
			goto out;
	}
	if (shmstat_reader_open(argv[1], &r) != 0 || shmstat_history_create(argv[2], &ho, &h) != 0 ||
	    shmstat_history_set_segment(h, argv[1]) != 0)
		goto out;
	for (long i = 0; i < records; i++) {
		shmstat_snap *sn;
		int err;

		snprintf(name, sizeof(name), "big_00_total");
		snprintf(k, sizeof(k), "00");
		if (i == records / 2 && shmstat_remove(seg, &d) != 0)
			goto out;
		if (i == records / 2 + 1 && shmstat_counter_register(seg, &d, &c[0]) != 0)
			goto out;
		for (long j = 0; j < groups * 20; j++)
			if (i != records / 2 || j != 0)
				shmstat_counter_add(c[j], (uint64_t)(1 + j % 20));
		shmstat_gauge_set(depth, i);
		shmstat_hist_record(lat, 1000);
		for (long j = 0; j < nwide; j++)
			for (long b = 0; b < 25; b++)
				shmstat_hist_record(wide[j],
						    (uint64_t)exp(28.9 * (double)((i * 25 + b) % 4000) /
								  4000));
		if (shmstat_snapshot(r, &sn) != 0)
			goto out;
		err = shmstat_history_append(h, sn, (end - (uint64_t)(records - 1 - i)) * S, NULL);
		shmstat_snap_free(sn);
		if (err)
			goto out;
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "cli_hist_big: %s\n", shmstat_last_error());
	shmstat_history_close(h);
	shmstat_reader_close(r);
	if (seg)
		shmstat_close(seg);
	if (rc)
		shmstat_unlink(argv[1]);
	free(c);
	return rc;
}
