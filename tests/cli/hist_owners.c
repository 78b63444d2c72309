/*
 * hist_owners.c - a history of one signature table of many owners, for
 * the memory of top --history (window_mem.sh): its records, decoded
 * whole, take more than the address space the test allows.
 *
 *   cli_hist_owners SEGMENT FILE OWNERS RECORDS END
 *
 * Segment SEGMENT (created, removed at the end) holds table own_sigs
 * (unit bytes) of OWNERS owners acct-0000 .. Record i (0 .. RECORDS-1) is
 * taken at END - (RECORDS - 1 - i) seconds (Unix seconds END) into FILE
 * (one tier of 1 s for RECORDS s), after owner k had 1 + k % 7 hits of
 * weight 2 on key "key-(k % 50)", and a miss when k % 5 is 0.
 */
#include <stdio.h>
#include <stdlib.h>

#include "shmstat.h"
#include "shmstat_history.h"

#define S UINT64_C(1000000000)

int main(int argc, char **argv)
{
	struct shmstat_opts so;
	struct shmstat_sigtab_opts to;
	struct shmstat_history_opts ho;
	struct shmstat_metric_def d = { .name = "own_sigs", .unit = "bytes", .help = "owners" };
	shmstat_seg *seg = NULL;
	shmstat_reader *r = NULL;
	shmstat_history *h = NULL;
	shmstat_sigtab *t = NULL;
	uint32_t *id = NULL;
	long owners, records;
	uint64_t end;
	int rc = 1;

	if (argc != 6) {
		fputs("usage: cli_hist_owners SEGMENT FILE OWNERS RECORDS END\n", stderr);
		return 2;
	}
	owners = atol(argv[3]);
	records = atol(argv[4]);
	end = (uint64_t)atoll(argv[5]);
	if (owners < 1 || owners > 4096 || records < 2 || end < (uint64_t)records)
		return 2;
	id = calloc((size_t)owners, sizeof(*id));
	shmstat_opts_init(&so);
	so.max_procs = 2;
	so.max_threads = 2;
	so.max_metrics = 16;
	so.max_values = 4096 + (uint32_t)owners * 4;
	shmstat_sigtab_opts_init(&to);
	to.capacity = 256;
	to.owners = (uint32_t)owners;
	shmstat_history_opts_init(&ho);
	ho.ntiers = 1;
	ho.tier[0] = (struct shmstat_tier){ S, (uint64_t)records * S };
	ho.max_bytes = ((uint64_t)records * ((uint64_t)owners * 64 + 4096) + (UINT64_C(8) << 20)) &
		       ~UINT64_C(4095);
	if (id == NULL || shmstat_open(argv[1], &so, &seg) != 0 ||
	    shmstat_sigtab_register(seg, &d, &to, &t) != 0)
		goto out;
	for (long k = 0; k < owners; k++) {
		char name[32];

		snprintf(name, sizeof(name), "acct-%04ld", k);
		if (shmstat_sig_owner(t, name, &id[k]) != 0)
			goto out;
	}
	if (shmstat_reader_open(argv[1], &r) != 0 || shmstat_history_create(argv[2], &ho, &h) != 0 ||
	    shmstat_history_set_segment(h, argv[1]) != 0)
		goto out;
	for (long i = 0; i < records; i++) {
		shmstat_snap *sn;
		int err;

		for (long k = 0; k < owners; k++) {
			char key[16];
			int n = snprintf(key, sizeof(key), "key-%ld", k % 50);

			for (long j = 0; j <= k % 7; j++)
				shmstat_sig_hit(t, key, (size_t)n, 2, id[k]);
			if (k % 5 == 0)
				shmstat_sig_miss(t, key, (size_t)n, id[k]);
		}
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
		fprintf(stderr, "cli_hist_owners: %s\n", shmstat_last_error());
	shmstat_history_close(h);
	shmstat_reader_close(r);
	if (seg)
		shmstat_close(seg);
	shmstat_unlink(argv[1]);
	free(id);
	return rc;
}
